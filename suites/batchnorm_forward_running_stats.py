"""Suite for batchnorm_forward_running_stats: batch-norm forward plus the running-stat update."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.compare import Close, Outputs, default_tolerance
from harness.spec import Case, Cost, ErrorCase, Inputs, Suite, Tolerance

OPTIONS = {
    "training": (True, False),  # False: normalise with the running statistics
    "momentum": (0.1, None, 0.99),  # None: cumulative average (torch)
    "eps": (1e-5, 1e-3),  # torch 1e-5, Keras 1e-3
    "momentum_convention": ("torch", "keras"),  # which side the momentum weights
    "unbiased_running_var": (True, False),  # running_var gets n/(n-1) (torch) or not (Keras)
}
PARAMETERS = ("weight", "bias", "running_mean", "running_var")
# Input generator ranges; the comparator's atol is derived from them.
LOC, STD_MIN, STD_MAX, GAMMA_MAX, BETA_MAX = 2.0, 0.5, 2.0, 1.5, 1.0
CONSTANTS = (0.5, -2.0, 0.25, 1.5)  # values of the constant channels
SUITE_DEFAULTS = {name: values[0] for name, values in OPTIONS.items()}


def validate_batchnorm(
    shapes: Sequence[Sequence[int]],
    num_batches_tracked: Any,
    training: bool,
    momentum: float | None,
    eps: float,
    momentum_convention: str,
) -> tuple[int, int, int]:
    """The shared input contract. ``shapes``: of x, weight, bias, running_mean, running_var.

    Returns (N, C, L), L the product of x's spatial dimensions (1 for 2-D x).
    """
    x_shape, *param_shapes = (tuple(int(d) for d in s) for s in shapes)
    if len(x_shape) not in (2, 3, 4):
        raise ValueError(
            f"x must have 2, 3 or 4 dimensions ((N, C), (N, C, L) or (N, C, H, W)), "
            f"got shape {x_shape}"
        )
    for name, shape in zip(PARAMETERS, param_shapes, strict=True):
        if len(shape) != 1:
            raise ValueError(f"{name} must be 1-D (num_features,), got shape {shape}")
        if shape[0] != param_shapes[0][0]:
            raise ValueError(
                f"{name} has length {shape[0]}, expected num_features="
                f"{param_shapes[0][0]} (the length of weight)"
            )
    n, c, l = x_shape[0], x_shape[1], math.prod(x_shape[2:])
    if c != param_shapes[0][0]:
        raise ValueError(f"x has {c} channels but weight has num_features={param_shapes[0][0]}")
    if momentum_convention not in ("torch", "keras"):
        raise ValueError(
            f"momentum_convention must be 'torch' or 'keras', got {momentum_convention!r}"
        )
    if momentum is None and momentum_convention != "torch":
        raise ValueError("momentum=None (cumulative average) needs momentum_convention='torch'")
    if momentum is not None and not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must lie in [0, 1] or be None, got {momentum!r}")
    if not eps >= 0.0:
        raise ValueError(f"eps must be >= 0, got {eps!r}")
    if isinstance(num_batches_tracked, bool) or operator.index(num_batches_tracked) < 0:
        raise TypeError(f"num_batches_tracked must be an int >= 0, got {num_batches_tracked!r}")
    if training and n * l == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {x_shape}"
        )
    return n, c, l


def batch_weight(
    momentum: float | None, momentum_convention: str, num_batches_tracked: int
) -> float:
    """The weight f of the batch statistic: new = (1 - f)·old + f·batch."""
    if momentum is None:
        return 1.0 / (int(num_batches_tracked) + 1)
    return momentum if momentum_convention == "torch" else 1.0 - momentum


def batchnorm_forward_running_stats(
    x: Any,
    weight: Any,
    bias: Any,
    running_mean: Any,
    running_var: Any,
    num_batches_tracked: int,
    *,
    training: bool = True,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
    momentum_convention: str = "torch",
    unbiased_running_var: bool = True,
) -> tuple[Any, Any, Any]:
    """Oracle: float64, one channel at a time, (y, new_running_mean, new_running_var)."""
    x = np.asarray(x, dtype=np.float64)
    params = [np.array(p, dtype=np.float64) for p in (weight, bias, running_mean, running_var)]
    n, c, l = validate_batchnorm(
        [x.shape, *(p.shape for p in params)],
        num_batches_tracked,
        training,
        momentum,
        eps,
        momentum_convention,
    )
    gamma, beta, new_mean, new_var = params
    x3, y = x.reshape(n, c, l), np.empty((n, c, l))
    f = batch_weight(momentum, momentum_convention, num_batches_tracked)
    for ch in range(c):
        values = x3[:, ch, :]
        mean, var = new_mean[ch], new_var[ch]
        if training and values.size:  # an empty batch has no statistics: nothing updates
            mean = values.mean()
            var = np.mean((values - mean) ** 2)  # biased: this is what normalises the batch
            unbiased = var * values.size / (values.size - 1) if unbiased_running_var else var
            new_mean[ch] = (1 - f) * new_mean[ch] + f * mean
            new_var[ch] = (1 - f) * new_var[ch] + f * unbiased
        y[:, ch, :] = gamma[ch] * (values - mean) / np.sqrt(var + eps) + beta[ch]
    return y.reshape(x.shape), new_mean, new_var


def stats_dtype(dtype: str) -> str:
    """float16 x keeps float32 weights and running statistics (mixed precision)."""
    return "float32" if dtype == "float16" else dtype


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    shape = tuple(int(s) for s in p["shape"])
    cx = shape[1] if len(shape) > 1 else 1
    c = int(p.get("num_features", cx))
    loc = rng.uniform(-LOC, LOC, cx) + float(p.get("offset", 0.0))
    std = rng.uniform(STD_MIN, STD_MAX, cx)
    draw = np.float64 if case.dtype == "float64" else np.float32  # large x: no float64 copy
    bshape = (1, cx, *([1] * (len(shape) - 2)))[: len(shape)]
    x = rng.standard_normal(shape, dtype=draw)
    axes = (0, *range(2, len(shape)))
    if len(shape) > 1 and cx and math.prod(shape) // cx >= 2:  # each channel's batch mean
        x -= x.mean(axis=axes, keepdims=True)  # and std become exactly loc and std, so even
        x /= x.std(axis=axes, keepdims=True)  # a K = 2 batch obeys the atol derived from them
    x *= std.reshape(bshape).astype(draw)
    x += loc.reshape(bshape).astype(draw)
    if p.get("pattern") == "constant":  # every other channel constant: y must equal bias
        for ch in range(0, cx, 2):
            x[:, ch] = CONSTANTS[ch // 2 % len(CONSTANTS)]
    weight = rng.uniform(0.5, GAMMA_MAX, c) * rng.choice([-1.0, 1.0], c)
    bias = rng.uniform(-BETA_MAX, BETA_MAX, c)
    mean, var, tracked = rng.uniform(-1, 1, c), rng.uniform(0.5, 2.0, c), 0
    if p.get("steps"):  # buffers as torch leaves them after `steps` earlier training batches
        mean, var = np.zeros(c), np.ones(c)
        flags = {**SUITE_DEFAULTS, **case.options, "training": True}
        for step in range(int(p["steps"])):
            batch = loc[:, None] + std[:, None] * rng.standard_normal((4, c, 9))
            _, mean, var = batchnorm_forward_running_stats(
                batch, weight, bias, mean, var, step, **flags
            )
        tracked = int(p["steps"])
    sd = stats_dtype(case.dtype)
    params = {k: v.astype(sd) for k, v in zip(PARAMETERS, (weight, bias, mean, var), strict=True)}
    if "short_param" in p:  # one buffer one element short: mismatched lengths
        params[p["short_param"]] = params[p["short_param"]][:-1]
    return {"x": x.astype(case.dtype, copy=False), **params, "num_batches_tracked": tracked}


def _training(case: Case) -> bool:
    return bool(case.options.get("training", True))


def cost(case: Case) -> Cost:
    shape = [int(s) for s in case.params["shape"]]
    numel, c = math.prod(shape), shape[1] if len(shape) > 1 else 0
    b, sb = np.dtype(case.dtype).itemsize, np.dtype(stats_dtype(case.dtype)).itemsize
    # training: the statistics read x, the normalise pass reads x and writes y (3b, as
    # ALGORITHMS.md); eval: one read, one write. Buffers: 4 read, 2 written.
    flops, passes = (8, 3) if _training(case) else (4, 2)
    return Cost(flops * numel, passes * b * numel + 6 * sb * c, numel, "elements")


def _reduction(case: Case) -> int:
    """K = N·L (N·H·W for 4-D x): every channel's mean and variance sum K values.

    Their rounding error grows like sqrt(K)·eps for a plain float32 sum (pairwise or
    float64 accumulation stays far below), and y inherits it through (x - mean)/std.
    In eval mode nothing is reduced: y is a handful of roundings (K = 4).
    """
    shape = [int(s) for s in case.params["shape"]]
    return math.prod([shape[0], *shape[2:]]) if _training(case) else 4


def _offset(case: Case) -> float:
    return abs(float(case.params.get("offset", 0.0)))


def _y_scale(case: Case) -> float:
    """atol for y: |gamma|·|x|/std bounds the terms that cancel in x·scale + shift (the
    form torch uses); a constant channel has std = sqrt(eps), so it dominates there."""
    scale = GAMMA_MAX * (LOC + _offset(case)) / STD_MIN
    if case.params.get("pattern") == "constant":
        eps = float(case.options.get("eps", SUITE_DEFAULTS["eps"]))
        scale = max(scale, GAMMA_MAX * max(map(abs, CONSTANTS)) / math.sqrt(eps))
    return scale + BETA_MAX


def _y_override(case: Case) -> Tolerance | None:
    """float16 x: float32 statistics and arithmetic, one float16 rounding of y at the end."""
    if case.dtype != "float16":
        return None
    rounding = default_tolerance("float16", 4)
    arithmetic = default_tolerance("float32", _reduction(case), _y_scale(case))
    return Tolerance(
        rounding.rtol,
        arithmetic.atol,
        f"rtol: {rounding.reason} (y rounded "
        f"to float16); atol: {arithmetic.reason} (float32 arithmetic)",
    )


@dataclass(frozen=True)
class StatsClose(Close):
    """Close for the running statistics, which stay float32 when x is float16."""

    def expected_dtype(self, case: Case) -> str | None:
        return stats_dtype(case.dtype)

    def tolerance(self, case: Case) -> Tolerance:
        return default_tolerance(stats_dtype(case.dtype), self.reduction(case), self.scale(case))


COMPARE = Outputs(
    {
        "y": Close(reduction=_reduction, scale=_y_scale, override=_y_override),
        # |running_mean| <= LOC + offset; running_var ~ std**2 <= STD_MAX**2
        "running_mean": StatsClose(reduction=_reduction, scale=lambda c: LOC + _offset(c)),
        "running_var": StatsClose(reduction=_reduction, scale=lambda c: STD_MAX**2),
    }
)


def _case(
    name: str,
    shape: tuple[int, ...],
    kind: str = "regular",
    options: dict[str, Any] | None = None,
    **params: Any,
) -> Case:
    params = {"seed": 11, "dtype": "float32", **params}
    return Case(name, {"shape": list(shape), **params}, options or {}, kind)


EVAL, NONE, BIASED = {"training": False}, {"momentum": None}, {"unbiased_running_var": False}
KERAS = {"momentum_convention": "keras", "momentum": 0.99, "eps": 1e-3, **BIASED}
KERAS_UNBIASED = {**KERAS, "unbiased_running_var": True}
F64, F16 = {"dtype": "float64"}, {"dtype": "float16"}

CASES = [
    _case("train_4d_f32", (8, 6, 7, 9)),
    _case("train_4d_f64", (6, 5, 8, 8), **F64),
    _case("eps_1e-3_f32", (4, 8, 5, 5), options={"eps": 1e-3}),
    _case("biased_running_var_f64", (5, 4, 3, 3), "regular", BIASED, **F64),
    _case("keras_defaults_f32", (8, 6, 5, 5), "regular", KERAS),
    _case("keras_unbiased_f64", (8, 6, 5, 5), "regular", KERAS_UNBIASED, **F64),
    _case("input_2d", (64, 10), "edge"),
    _case("input_3d", (16, 4, 33), "edge"),
    _case("single_channel", (16, 1, 5, 5), "edge"),
    _case("constant_channels", (4, 5, 6, 6), "edge", pattern="constant"),
    _case("constant_channels_2d_f64", (7, 3), "edge", pattern="constant", **F64),
    _case("momentum_none_first_step", (6, 4, 5, 5), "edge", NONE),
    _case("momentum_none_after_steps", (6, 4, 5, 5), "edge", NONE, steps=5),
    _case("consecutive_steps", (6, 4, 5, 5), "edge", steps=4),
    _case("consecutive_steps_keras_f64", (6, 4, 5, 5), "edge", KERAS, steps=3, **F64),
    _case("eval_mode", (8, 6, 7, 9), "edge", EVAL),
    _case("eval_mode_after_steps_f64", (4, 4, 5), "edge", EVAL, steps=3, **F64),
    _case("eval_single_value", (1, 3, 1, 1), "edge", EVAL),
    _case("two_values_per_channel", (2, 3), "edge"),
    _case("float16", (8, 4, 6, 6), "edge", **F16),
    _case("float16_eval", (8, 4, 6, 6), "edge", EVAL, **F16),
    _case("empty_batch_training", (0, 3, 4, 4), "edge"),
    _case("empty_batch_eval", (0, 3, 4, 4), "edge", EVAL),
    _case("zero_channels_2d", (5, 0), "edge"),
    _case("large_offset_f32", (8, 4, 16, 16), "edge", offset=100.0),  # no E[x²] - E[x]²
]


def _error(
    name: str,
    shape: tuple[int, ...],
    match: str,
    options: dict[str, Any] | None = None,
    **params: Any,
) -> ErrorCase:
    params = {"shape": list(shape), "seed": 3, "dtype": "float32", **params}
    return ErrorCase(name, params, (ValueError,), match, options or {})


ERRORS = [
    _error("single_value_per_channel_2d", (1, 4), "more than 1 value per channel"),
    _error("single_value_per_channel_4d", (1, 3, 1, 1), "more than 1 value per channel"),
    _error(
        "channels_not_num_features", (4, 3, 5, 5), r"3 channels.*num_features=4", num_features=4
    ),
    _error("wrong_ndim_1d", (6,), "x must have 2, 3 or 4 dimensions"),
    _error("wrong_ndim_5d", (2, 3, 2, 2, 2), "x must have 2, 3 or 4 dimensions"),
    _error("running_var_length", (4, 3, 5), "running_var has length 2", short_param="running_var"),
    _error("bias_length", (4, 3), "bias has length 2", short_param="bias"),
    _error("keras_momentum_none", (4, 3, 5), "momentum=None", {**KERAS_UNBIASED, **NONE}),
]

BENCH = {
    "smoke": [_case("bench_2x4x5x5", (2, 4, 5, 5), "bench")],
    "quick": [
        _case("bench_8x32x28x28", (8, 32, 28, 28), "bench"),  # the Python-sized one
        _case("bench_8x64x56x56", (8, 64, 56, 56), "bench"),
        _case("bench_32x64x56x56", (32, 64, 56, 56), "bench"),  # standard
    ],
    "full": [_case("bench_256x64x112x112", (256, 64, 112, 112), "bench")],  # large
}


def _fuzz_case(
    shape: tuple[int, int, tuple[int, ...]], options: dict[str, Any], params: dict[str, Any]
) -> Case:
    n, c, spatial = shape
    if options["training"] and n * math.prod(spatial) == 1:
        n = 2  # one value per channel is an error case
    if options["momentum_convention"] == "keras" and options["momentum"] is None:
        options = {**options, "momentum": 0.99}
    return _case("fuzz", (n, c, *spatial), "fuzz", options, **params)


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    # N = 0 and C = 0 stay named edge cases: nested lists lose the shape of an empty batch
    # and F.batch_norm raises on C = 0.
    shape = st.tuples(
        st.integers(1, 6),
        st.integers(1, 5),
        st.sampled_from([(), (0,), (1,), (7,), (1, 1), (3, 4)]),
    )
    options = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in OPTIONS.items()})
    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64", "float16"]),
            "pattern": st.sampled_from(["random", "constant"]),
            "steps": st.integers(0, 3),
        }
    )
    return st.builds(_fuzz_case, shape, options, params)


SUITE = Suite(
    algorithm="batchnorm_forward_running_stats",
    family="training-math",
    summary="Batch-norm forward over (N, C[, L | H, W]) with the running-statistics update "
    "-> (y, new_running_mean, new_running_var).",
    conventions=(
        "Functional: inputs are never modified; the updated buffers are returned. x is (N, C), "
        "(N, C, L) or (N, C, H, W); weight, bias, running_mean, running_var are (C,); "
        "num_batches_tracked is the int count of earlier training batches (read only by "
        "momentum=None). training=True: per channel the batch mean and biased variance over "
        "the K = N*L values give y = weight*(x - mean)/sqrt(var + eps) + bias, and each buffer "
        "becomes (1 - f)*old + f*batch with f = momentum (momentum_convention='torch'), "
        "1 - momentum ('keras': momentum weights the old value) or 1/(num_batches_tracked + 1) "
        "(momentum=None, cumulative average, torch convention only); running_var takes "
        "var*K/(K - 1) if unbiased_running_var (torch), var otherwise (Keras). Keras defaults "
        "(momentum=0.99, eps=1e-3, unbiased_running_var=False) must be passed explicitly. "
        "training=False: y uses the running statistics, returned unchanged (as copies). An "
        "empty batch (K = 0) gives an empty y and unchanged statistics (as torch). y has x's "
        "dtype; the statistics have the buffers' dtype (float16 x: float32 buffers and "
        "float32 arithmetic). ValueError: x not 2-, 3- or 4-D, channels != num_features, "
        "buffer lengths differ, K = 1 in training ('Expected more than 1 value per channel'), "
        "momentum=None with keras, momentum outside [0, 1], eps < 0; TypeError: "
        "num_batches_tracked not an int."
    ),
    make_inputs=make_inputs,
    oracle=batchnorm_forward_running_stats,
    compare=COMPARE,
    cost=cost,
    cases=CASES,
    error_cases=ERRORS,
    bench=BENCH,
    standard="bench_32x64x56x56",
    options=OPTIONS,
    outputs=("y", "running_mean", "running_var"),
    fuzz=fuzz_strategy,
    reference="torch.nn.functional.batch_norm / nn.BatchNorm1d/2d (buffers cloned first)",
)

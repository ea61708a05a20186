"""Suite for batchnorm_forward_running_stats: batch-norm forward plus the running-stat update."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Outputs, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


def _momentum(v: Any) -> bool:
    return v is None or (isinstance(v, float) and 0.0 <= v <= 1.0)


def _eps(v: Any) -> bool:
    return isinstance(v, float) and v >= 0.0  # NaN fails


@dataclass(frozen=True)
class BatchNormOptions(Options):
    training: bool = option(True, False, meaning="False: normalise with the running statistics")
    momentum: float | None = option(
        0.1, None, 0.99, meaning="None: cumulative average (torch)", accepts=_momentum
    )
    eps: float = option(
        1e-5, 1e-3, meaning="added to the variance; torch 1e-5, Keras 1e-3", accepts=_eps
    )
    momentum_convention: str = option(
        "torch", "keras", meaning="torch: momentum weights the batch; keras: the old value"
    )
    unbiased_running_var: bool = option(
        True, False, meaning="running_var gets var·K/(K - 1) (torch) or var (Keras)"
    )

    def validate(self) -> None:
        if self.momentum is None and self.momentum_convention != "torch":
            raise ValueError("momentum=None (cumulative average) needs momentum_convention='torch'")


ARGS = Args(
    Arg("x", ("N", "C", "*S"), "float", star=(0, 2)),
    Arg("weight", ("C",), "float"),
    Arg("bias", ("C",), "float"),
    Arg("running_mean", ("C",), "float"),
    Arg("running_var", ("C",), "float"),
    Scalar("num_batches_tracked", "int", low=0),
)

PARAMETERS = ("weight", "bias", "running_mean", "running_var")
# Input generator ranges; the comparator's atol is derived from them.
LOC, STD_MIN, STD_MAX, GAMMA_MAX, BETA_MAX = 2.0, 0.5, 2.0, 1.5, 1.0
CONSTANTS = (0.5, -2.0, 0.25, 1.5)  # values of the constant channels


def batch_dims(shape: Sequence[int], opts: BatchNormOptions) -> tuple[int, int, int]:
    """(N, C, L) of x, L the product of its spatial sizes (1 for 2-D x); training needs
    more than one value per channel (K = N·L > 1), as torch."""
    n, c, l = int(shape[0]), int(shape[1]), math.prod(int(s) for s in shape[2:])
    if opts.training and n * l == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {tuple(shape)}"
        )
    return n, c, l


def check_batch(x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any,
    num_batches_tracked: int, opts: BatchNormOptions) -> tuple[int, int, int]:  # fmt: skip
    """The one-line input check of an array implementation: ARGS, then (N, C, L)."""
    ARGS.check(x, weight, bias, running_mean, running_var, num_batches_tracked)
    return batch_dims(x.shape, opts)


def batch_weight(opts: BatchNormOptions, num_batches_tracked: int) -> float:
    """The weight f of the batch statistic: new = (1 - f)·old + f·batch."""
    if opts.momentum is None:
        return 1.0 / (int(num_batches_tracked) + 1)
    return opts.momentum if opts.momentum_convention == "torch" else 1.0 - opts.momentum


def batchnorm_forward_running_stats(x: Any, weight: Any, bias: Any, running_mean: Any,
    running_var: Any, num_batches_tracked: int, opts: BatchNormOptions,
) -> tuple[Any, Any, Any]:  # fmt: skip
    """Oracle: float64, one channel at a time, (y, new_running_mean, new_running_var)."""
    ARGS.check(x, weight, bias, running_mean, running_var, num_batches_tracked)
    x = np.asarray(x, dtype=np.float64)
    gamma, beta, new_mean, new_var = (
        np.array(p, dtype=np.float64) for p in (weight, bias, running_mean, running_var)
    )
    n, c, l = batch_dims(x.shape, opts)
    x3, y = x.reshape(n, c, l), np.empty((n, c, l))
    f = batch_weight(opts, num_batches_tracked)
    for ch in range(c):
        values = x3[:, ch, :]
        mean, var = new_mean[ch], new_var[ch]
        if opts.training and values.size:  # an empty batch has no statistics: nothing updates
            mean = values.mean()
            var = np.mean((values - mean) ** 2)  # biased: this is what normalises the batch
            unbiased = var * values.size / (values.size - 1) if opts.unbiased_running_var else var
            new_mean[ch] = (1 - f) * new_mean[ch] + f * mean
            new_var[ch] = (1 - f) * new_var[ch] + f * unbiased
        y[:, ch, :] = gamma[ch] * (values - mean) / np.sqrt(var + opts.eps) + beta[ch]
    return y.reshape(x.shape), new_mean, new_var


def stats_dtype(dtype: str) -> str:
    """float16 x keeps float32 weights and running statistics (mixed precision)."""
    return "float32" if dtype == "float16" else dtype


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    shape = tuple(int(s) for s in p["shape"])
    c = shape[1]
    loc = rng.uniform(-LOC, LOC, c) + float(p.get("offset", 0.0))
    std = rng.uniform(STD_MIN, STD_MAX, c)
    draw = np.float64 if case.dtype == "float64" else np.float32  # large x: no float64 copy
    bshape = (1, c, *([1] * (len(shape) - 2)))
    x = rng.standard_normal(shape, dtype=draw)
    axes = (0, *range(2, len(shape)))
    if c and math.prod(shape) // c >= 2:  # each channel's batch mean and std become exactly
        x -= x.mean(axis=axes, keepdims=True)  # loc and std, so even a K = 2 batch obeys
        x /= x.std(axis=axes, keepdims=True)  # the atol derived from them
    x *= std.reshape(bshape).astype(draw)
    x += loc.reshape(bshape).astype(draw)
    if p.get("pattern") == "constant":  # every other channel constant: y must equal bias
        for ch in range(0, c, 2):
            x[:, ch] = CONSTANTS[ch // 2 % len(CONSTANTS)]
    weight = rng.uniform(0.5, GAMMA_MAX, c) * rng.choice([-1.0, 1.0], c)
    bias = rng.uniform(-BETA_MAX, BETA_MAX, c)
    mean, var = rng.uniform(-1, 1, c), rng.uniform(0.5, 2.0, c)
    tracked = int(p.get("tracked", 0))
    if p.get("steps"):  # buffers as torch leaves them after `steps` earlier training batches
        mean, var = np.zeros(c), np.ones(c)
        opts = BatchNormOptions(**{**case.options, "training": True})
        for step in range(int(p["steps"])):
            batch = loc[:, None] + std[:, None] * rng.standard_normal((4, c, 9))
            _, mean, var = batchnorm_forward_running_stats(
                batch, weight, bias, mean, var, step, opts
            )
        tracked = int(p["steps"])
    sd = stats_dtype(case.dtype)
    params = {k: v.astype(sd) for k, v in zip(PARAMETERS, (weight, bias, mean, var), strict=True)}
    return {"x": x.astype(case.dtype, copy=False), **params, "num_batches_tracked": tracked}


def _training(case: Case) -> bool:
    return BatchNormOptions(**case.options).training


def cost(case: Case) -> Cost:
    shape = [int(s) for s in case.params["shape"]]
    numel, c = math.prod(shape), shape[1]
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
        eps = BatchNormOptions(**case.options).eps
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
        "new_running_mean": StatsClose(reduction=_reduction, scale=lambda c: LOC + _offset(c)),
        "new_running_var": StatsClose(reduction=_reduction, scale=lambda c: STD_MAX**2),
    }
)

EVAL, NONE, BIASED = {"training": False}, {"momentum": None}, {"unbiased_running_var": False}
KERAS = {"momentum_convention": "keras", "momentum": 0.99, "eps": 1e-3, **BIASED}
KERAS_UNBIASED = {**KERAS, "unbiased_running_var": True}
F64 = {"dtype": "float64"}

CASES = [
    case("train_4d_f32", shape=[8, 6, 7, 9]),
    case("train_4d_f64", shape=[6, 5, 8, 8], dtype="float64"),
    case("eps_1e-3_f32", shape=[4, 8, 5, 5], options={"eps": 1e-3}),
    case("biased_running_var_f64", shape=[5, 4, 3, 3], dtype="float64", options=BIASED),
    case("keras_defaults_f32", shape=[8, 6, 5, 5], options=KERAS),
    case("keras_unbiased_f64", shape=[8, 6, 5, 5], dtype="float64", options=KERAS_UNBIASED),
    # N·H·W = 1,800 values per channel and 272 channels: a blocked or threaded reduction
    # runs several blocks along each channel's values and along the channels (>= 257)
    case("multi_block", shape=[300, 272, 2, 3]),
    edge("input_2d", shape=[64, 10]),
    edge("input_3d", shape=[16, 4, 33]),
    edge("single_channel", shape=[16, 1, 5, 5]),
    edge("constant_channels", shape=[4, 5, 6, 6], pattern="constant"),
    edge("constant_channels_2d_f64", shape=[7, 3], pattern="constant", dtype="float64"),
    edge("momentum_none_first_step", shape=[6, 4, 5, 5], options=NONE),
    edge("momentum_none_after_steps", shape=[6, 4, 5, 5], steps=5, options=NONE),
    edge("consecutive_steps", shape=[6, 4, 5, 5], steps=4),
    edge("consecutive_steps_keras_f64", shape=[6, 4, 5, 5], steps=3, options=KERAS, **F64),
    edge("eval_mode", shape=[8, 6, 7, 9], options=EVAL),
    edge("eval_mode_after_steps_f64", shape=[4, 4, 5], steps=3, dtype="float64", options=EVAL),
    edge("eval_single_value", shape=[1, 3, 1, 1], options=EVAL),
    edge("two_values_per_channel", shape=[2, 3]),
    edge("float16", shape=[8, 4, 6, 6], dtype="float16"),
    edge("float16_eval", shape=[8, 4, 6, 6], dtype="float16", options=EVAL),
    # N = 0 (and C = 0 below) with every other size nonzero and distinct
    edge("empty_batch_training", shape=[0, 3, 4, 5]),
    edge("empty_batch_eval", shape=[0, 3, 4, 5], options=EVAL),
    edge("zero_channels_2d", shape=[5, 0]),
    edge("zero_channels_4d", shape=[5, 0, 3, 4]),
    edge("large_offset_f32", shape=[8, 4, 16, 16], offset=100.0),  # no E[x²] - E[x]²
]

ONE_VALUE = "more than 1 value per channel"
ERRORS = [
    error("single_value_per_channel_2d", ValueError, ONE_VALUE, shape=[1, 4], seed=3),
    error("single_value_per_channel_4d", ValueError, ONE_VALUE, shape=[1, 3, 1, 1], seed=3),
]

BENCH = {
    "smoke": [bench("bench_2x4x5x5", shape=[2, 4, 5, 5])],
    "quick": [
        bench("bench_8x32x28x28", shape=[8, 32, 28, 28]),  # the Python-sized one
        bench("bench_8x64x56x56", shape=[8, 64, 56, 56]),
        bench("bench_32x64x56x56", shape=[32, 64, 56, 56]),  # standard
    ],
    "full": [bench("bench_256x64x112x112", shape=[256, 64, 112, 112])],  # large
}


def _fuzz_case(
    n: int, c: int, spatial: tuple[int, ...], options: dict[str, Any], params: dict[str, Any]
) -> Case:
    if options["training"] and n * math.prod(spatial) == 1:
        n = 2  # one value per channel is an error case
    if options["momentum_convention"] == "keras" and options["momentum"] is None:
        options = {**options, "momentum": 0.99}
    return Case("fuzz", {"shape": [n, c, *spatial], **params}, options, "fuzz")


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    # N draws 0 now and then (hypothesis favours the ends of a range); C >= 1 because
    # F.batch_norm raises on C = 0 (zero_channels_* cover it, with xfail).
    options = BatchNormOptions.strategy()
    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64", "float16"]),
            "pattern": st.sampled_from(["random", "constant"]),
            "steps": st.integers(0, 3),
        }
    )
    return st.builds(
        _fuzz_case,
        st.integers(0, 6),
        st.integers(1, 5),
        st.sampled_from([(), (0,), (1,), (7,), (1, 1), (3, 4)]),
        options,
        params,
    )


SUITE = Suite(
    algorithm="batchnorm_forward_running_stats",
    family="training-math",
    summary="Batch-norm forward over (N, C[, L | H, W]) with the running-statistics update "
    "-> (y, new_running_mean, new_running_var).",
    conventions=(
        "Functional: inputs are never modified; the updated buffers are returned as new arrays. "
        "x is (N, C), (N, C, L) or (N, C, H, W); weight, bias, running_mean, running_var are "
        "(C,); num_batches_tracked is the int count of earlier training batches (read only by "
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
        "float32 arithmetic). ValueError: x not 2-, 3- or 4-D, buffer lengths differ from "
        "x's channels, K = 1 in training ('Expected more than 1 value per channel'), "
        "momentum=None with keras, momentum outside [0, 1], eps < 0, num_batches_tracked < 0; "
        "TypeError: a non-float array, num_batches_tracked not an int."
    ),
    args=ARGS,
    options=BatchNormOptions,
    make_inputs=make_inputs,
    oracle=batchnorm_forward_running_stats,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 11, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_32x64x56x56",
    outputs=("y", "new_running_mean", "new_running_var"),
    multi_block={"N": 300, "C": 272},
    invalid_options=[{"momentum_convention": "keras", "momentum": None}],
    fuzz=fuzz_strategy,
    reference="torch.nn.functional.batch_norm / nn.BatchNorm1d/2d (buffers cloned first)",
)


# ---- the nested-list layout of x, shared by the pure-Python implementations --------------


def list_shape(value: Any) -> tuple[int, ...]:
    """The shape of nested lists (as far as the first element reaches)."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def channel_rows(x: list[Any], ndim: int) -> list[list[list[float]]]:
    """x as [n][c] -> flat list of the L values of that (sample, channel)."""
    if ndim == 2:
        return [[[v] for v in sample] for sample in x]
    if ndim == 3:
        return x
    return [[[v for row in plane for v in row] for plane in sample] for sample in x]


def restore_rows(rows: list[list[list[float]]], shape: tuple[int, ...]) -> list[Any]:
    """channel_rows undone: flat rows back into x's nested-list shape."""
    if len(shape) == 2:
        return [[values[0] for values in sample] for sample in rows]
    if len(shape) == 3:
        return rows
    w = shape[3]
    return [
        [[values[i : i + w] for i in range(0, len(values), w)] for values in sample]
        for sample in rows
    ]

"""Suite for batchnorm_backward: (dx, dweight, dbias) of batch norm from the forward's saved
per-channel statistics (training) or from the running statistics (eval)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Comparison, Outputs, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


def _eps(v: Any) -> bool:
    return isinstance(v, float) and v >= 0.0  # NaN fails


@dataclass(frozen=True)
class BatchNormBackwardOptions(Options):
    training: bool = option(
        True, False, meaning="False: eval-mode gradient, dx = weight*dy/sqrt(running_var + eps)"
    )
    eps: float = option(
        1e-5, 1e-3, meaning="added to the variance; torch 1e-5, Keras 1e-3", accepts=_eps
    )
    saved_stat_is: str = option(
        "invstd",
        "var",
        meaning="saved_stat holds 1/sqrt(var + eps) (torch, cuDNN) or the biased batch "
        "variance var (eps is then added here)",
    )


SHAPE = ("N", "C", "*S")
ARGS = Args(
    Arg("dy", SHAPE, "float", star=(0, 2)),
    Arg("x", SHAPE, "float", star=(0, 2)),
    Arg("weight", ("C",), "float"),
    Arg("running_mean", ("C",), "float"),
    Arg("running_var", ("C",), "float"),
    Arg("saved_mean", ("C",), "float"),
    Arg("saved_stat", ("C",), "float"),
)

# Input generator ranges (the tolerance does not depend on them: see TermsClose).
LOC, STD_MIN, STD_MAX, GAMMA_MIN, GAMMA_MAX, DY_MEAN = 2.0, 0.5, 2.0, 0.5, 1.5, 0.5
CONSTANTS = (0.5, -2.0, 0.25, 1.5)  # values of the zero-variance channels


def check_backward(dy: Any, x: Any, weight: Any, running_mean: Any, running_var: Any,
    saved_mean: Any, saved_stat: Any) -> tuple[int, int, int]:  # fmt: skip
    """ARGS, then dy's shape against x's (the starred spatial axes bind no symbol), then
    (N, C, L), L the product of the spatial sizes (1 for 2-D x)."""
    ARGS.check(dy, x, weight, running_mean, running_var, saved_mean, saved_stat)
    shape, dy_shape = tuple(np.shape(x)), tuple(np.shape(dy))  # np.shape: lists too
    if dy_shape != shape:
        raise ValueError(f"dy must have x's shape {shape}, got {dy_shape}")
    return int(shape[0]), len(weight), math.prod(int(s) for s in shape[2:])


def inverse_std(saved_stat: Any, opts: BatchNormBackwardOptions, xp: Any = np) -> Any:
    """1/sqrt(var + eps) from the saved statistic, in the statistic's namespace and dtype."""
    if opts.saved_stat_is == "invstd":
        return saved_stat
    return 1.0 / xp.sqrt(saved_stat + opts.eps)


def batchnorm_backward(dy: Any, x: Any, weight: Any, running_mean: Any, running_var: Any,
    saved_mean: Any, saved_stat: Any, opts: BatchNormBackwardOptions,
) -> tuple[Any, Any, Any]:  # fmt: skip
    """Oracle: float64, one channel at a time, xhat = (x - mean)*invstd; dbias = sum dy,
    dweight = sum dy*xhat; training dx = weight*invstd*(dy - dbias/K - xhat*dweight/K),
    eval dx = weight*invstd*dy with the running statistics."""
    n, c, l = check_backward(dy, x, weight, running_mean, running_var, saved_mean, saved_stat)
    dy3, x3 = (
        np.asarray(dy, np.float64).reshape(n, c, l),
        np.asarray(x, np.float64).reshape(n, c, l),
    )
    k = max(n * l, 1)  # an empty batch has no dx to compute; its sums are 0
    dx, dweight, dbias = np.empty((n, c, l)), np.empty(c), np.empty(c)
    for ch in range(c):
        if opts.training:
            mean, invstd = saved_mean[ch], inverse_std(saved_stat[ch], opts)
        else:
            mean, invstd = running_mean[ch], 1.0 / math.sqrt(running_var[ch] + opts.eps)
        g = dy3[:, ch, :]
        xhat = (x3[:, ch, :] - mean) * invstd
        dbias[ch] = g.sum()
        dweight[ch] = (g * xhat).sum()
        if opts.training:
            dx[:, ch, :] = weight[ch] * invstd * (g - dbias[ch] / k - xhat * dweight[ch] / k)
        else:
            dx[:, ch, :] = weight[ch] * invstd * g
    return dx.reshape(np.shape(x)), dweight, dbias


_LAST: list[Any] = []  # (case, inputs, magnitudes) of the last case: every cell reuses it


def magnitudes(inputs: Inputs, case: Case) -> tuple[Any, Any, Any]:
    """``_magnitudes`` of the case, computed once for all implementations of that case."""
    if not (_LAST and _LAST[0] == case.to_json() and _LAST[1] is inputs["x"]):
        _LAST[:] = [case.to_json(), inputs["x"], _magnitudes(inputs, case)]
    found: tuple[Any, Any, Any] = _LAST[2]
    return found


def _magnitudes(inputs: Inputs, case: Case) -> tuple[Any, Any, Any]:
    """The oracle with every term in absolute value: M_dx, M_dweight, M_dbias.

    |computed - exact| <= rtol*M is the running-error form of the bound: each term of each
    sum, and each product, is off by a few roundings of its own magnitude, however much
    the terms cancel (dx of a dy nearly in the span of 1 and xhat is tiny, its terms not).
    xhat is taken centred, |x - mean|*invstd: the tolerance demands a centred (or two-pass)
    implementation, since sum dy*x - mean*sum dy loses |mean|/std of the digits.
    """
    opts = BatchNormBackwardOptions(**case.options)
    f64 = {k: np.asarray(v, np.float64) for k, v in inputs.items()}
    shape = f64["x"].shape
    n, c, l = shape[0], shape[1], math.prod(shape[2:])
    k = n * l
    dy3, x3 = f64["dy"].reshape(n, c, l), f64["x"].reshape(n, c, l)
    if opts.training:
        mean, invstd = f64["saved_mean"], inverse_std(f64["saved_stat"], opts)
    else:
        mean, invstd = f64["running_mean"], 1.0 / np.sqrt(f64["running_var"] + opts.eps)
    g = np.abs(dy3)
    xhat = np.abs(x3 - mean[:, None]) * invstd[:, None]
    m_dbias, m_dweight = g.sum(axis=(0, 2)), (g * xhat).sum(axis=(0, 2))
    scale = (np.abs(f64["weight"]) * invstd)[:, None]
    m_dx = scale * g
    if opts.training and k:
        m_dx = scale * (g + m_dbias[:, None] / k + xhat * m_dweight[:, None] / k)
    return m_dx.reshape(shape), m_dweight, m_dbias


@dataclass(frozen=True)
class TermsClose(Close):
    """|actual - expected| <= rtol*M elementwise, M the output's magnitude of terms (see
    ``magnitudes``), instead of Close's atol + rtol*|expected|; NaN and inf must match."""

    output: int = 0  # which of magnitudes' arrays bounds this output

    def tolerance(self, case: Case) -> Tolerance:
        base = default_tolerance(case.dtype, self.reduction(case))
        reason = base.reason.split(", atol")[0]
        return Tolerance(base.rtol, 0.0, f"{reason}; allowed rtol*M elementwise, M the "
                         "output recomputed with every term in absolute value")  # fmt: skip

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        a, e = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
        if e.size == 0:
            return Comparison(True, total=0)
        m = magnitudes(inputs, case)[self.output]
        allowed = tol.atol + tol.rtol * m
        finite = np.isfinite(a) & np.isfinite(e)
        err = np.where(finite, np.abs(a - e), 0.0)
        special = (np.isnan(a) != np.isnan(e)) | (~finite & (a != e) & ~np.isnan(a) & ~np.isnan(e))
        bad = special | (err > allowed)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(special, np.inf, np.where(err > 0, err / allowed, 0.0))
            rel = np.where(finite & (e != 0), err / np.abs(e), 0.0)
        worst = tuple(int(j) for j in np.unravel_index(int(np.argmax(ratio)), e.shape))
        detail = ""
        if bad.any():
            got_nan, lost_nan = (
                int((np.isnan(a) & ~np.isnan(e)).sum()),
                int((np.isnan(e) & ~np.isnan(a)).sum()),
            )
            detail = "; ".join(
                [f"{int(bad.sum())}/{e.size} elements differ; worst at {worst}: got "
                 f"{float(a[worst])!r}, expected {float(e[worst])!r}, allowed "
                 f"+-{allowed[worst]:.3g} (rtol {tol.rtol:.3g} x M {m[worst]:.3g})"]
                + [f"{got_nan} NaN where the oracle has a number"] * bool(got_nan)
                + [f"{lost_nan} numbers where the oracle has NaN"] * bool(lost_nan)
            )  # fmt: skip
        return Comparison(
            passed=not bad.any(),
            detail=detail,
            mismatches=int(bad.sum()),
            total=int(e.size),
            max_abs=float(err.max()),
            max_rel=float(rel.max()),
            worst_index=worst,
            error_ratio=float(ratio.max()),
        )


def _training(case: Case) -> bool:
    return BatchNormBackwardOptions(**case.options).training


def _shape(case: Case) -> tuple[int, ...]:
    return tuple(int(s) for s in case.params["shape"])


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    opts = BatchNormBackwardOptions(**case.options)
    shape = _shape(case)
    n, c, k = shape[0], shape[1], shape[0] * math.prod(shape[2:])
    bshape, axes = (1, c, *([1] * (len(shape) - 2))), (0, *range(2, len(shape)))
    loc = rng.uniform(-LOC, LOC, c) + float(p.get("offset", 0.0))
    std = rng.uniform(STD_MIN, STD_MAX, c)
    draw = np.float64 if case.dtype == "float64" else np.float32  # large x: no float64 copy
    x = rng.standard_normal(shape, dtype=draw)
    if c and k >= 2:  # each channel's values standardised: xhat is then about z
        x -= x.mean(axis=axes, keepdims=True)
        x /= x.std(axis=axes, keepdims=True)
    x = x * std.reshape(bshape).astype(draw) + loc.reshape(bshape).astype(draw)
    if p.get("pattern") == "constant":  # every other channel constant: variance 0
        for ch in range(0, c, 2):
            x[:, ch] = CONSTANTS[ch // 2 % len(CONSTANTS)]
    x = x.astype(case.dtype, copy=False)
    # the forward's saved statistics of the rounded x, as float64 then rounded once
    mean, var = loc, std**2  # no values (K = 0): no statistics, any finite ones do
    if k and c:
        mean = x.mean(axis=axes, dtype=np.float64)
        var = np.square(x - mean.reshape(bshape)).mean(axis=axes, dtype=np.float64)
    stat = 1.0 / np.sqrt(var + opts.eps) if opts.saved_stat_is == "invstd" else var
    running_mean = loc + rng.uniform(-0.2, 0.2, c) * std  # near the batch, as after training
    running_var = std**2 * rng.uniform(0.8, 1.25, c)
    weight = rng.uniform(GAMMA_MIN, GAMMA_MAX, c) * rng.choice([-1.0, 1.0], c)
    if p.get("gamma") == "zero":
        weight[::2] = 0.0
    dy = rng.standard_normal(shape, dtype=draw)
    dy += rng.uniform(-DY_MEAN, DY_MEAN, bshape).astype(draw)  # sum dy matters too
    if p.get("dy") == "cancelling" and n:  # dy = a + b*xhat + 1e-3 noise: dx is the noise
        xhat = (x - mean.reshape(bshape)) / np.sqrt(var + opts.eps).reshape(bshape)
        dy = rng.uniform(-1, 1, bshape) + rng.uniform(-1, 1, bshape) * xhat + 1e-3 * dy
    if "dy_shape" in p:  # the error cases: dy not shaped like x
        dy = rng.standard_normal(tuple(p["dy_shape"]))
    arrays = (dy, x, weight, running_mean, running_var, mean, stat)
    return {
        a.name: np.asarray(v).astype(case.dtype, copy=False)
        for a, v in zip(ARGS.decls, arrays, strict=True)
    }


def cost(case: Case) -> Cost:
    """Training: a pass reading dy and x for the two sums, a pass reading them again and
    writing dx (5b per element, ~10 flops). Eval: one fused pass (3b, ~5 flops)."""
    numel, c = math.prod(_shape(case)), _shape(case)[1]
    b = np.dtype(case.dtype).itemsize
    flops, passes = (10, 5) if _training(case) else (5, 3)
    return Cost(flops * numel, passes * b * numel + 7 * b * c, numel, "elements")


def _k(case: Case) -> int:
    """K = N*L, the values each channel's sums run over."""
    shape = _shape(case)
    return shape[0] * math.prod(shape[2:])


def _dx_reduction(case: Case) -> int:
    """Training dx carries the two K-term sums; eval dx is a handful of roundings (K = 4)."""
    return _k(case) if _training(case) else 4


COMPARE = Outputs(
    {
        "dx": TermsClose(reduction=_dx_reduction, output=0),
        "dweight": TermsClose(reduction=_k, output=1),
        "dbias": TermsClose(reduction=_k, output=2),
    }
)

EVAL, VAR, EPS3, F64 = {"training": False}, {"saved_stat_is": "var"}, {"eps": 1e-3}, "float64"

CASES = [
    case("train_4d_f32", shape=[8, 6, 7, 9]),
    case("train_4d_f64", shape=[6, 5, 8, 8], dtype=F64),
    case("train_2d_f32", shape=[64, 10]),
    case("train_3d_f64", shape=[16, 4, 33], dtype=F64),
    case("saved_var_eps_1e-3_f32", shape=[4, 8, 5, 5], options={**VAR, **EPS3}),
    case("saved_var_f64", shape=[5, 4, 3, 3], dtype=F64, options=VAR),
    case("eval_f32", shape=[8, 6, 7, 9], options=EVAL),
    case("eval_eps_1e-3_f64", shape=[4, 4, 5], dtype=F64, options={**EVAL, **EPS3}),
    # K = 1,800 values per channel and 272 channels: a blocked or threaded kernel runs
    # several blocks along each channel's values and along the channels (>= 257)
    case("multi_block", shape=[300, 272, 2, 3]),
    edge("zero_variance_channels", shape=[4, 5, 6, 6], pattern="constant", options=EPS3),
    edge("zero_variance_saved_var_f64", shape=[7, 3], pattern="constant", dtype=F64, options=VAR),
    edge("zero_variance_eval", shape=[4, 5, 6, 6], pattern="constant", options=EVAL),
    # mean 1e4, std 0.5..2 and K = 256: sum dy*x - mean*sum dy (uncentred) loses ~14 bits
    edge("large_offset_f32", shape=[4, 4, 8, 8], offset=1e4),
    edge("large_offset_f64", shape=[4, 4, 8, 8], offset=1e12, dtype=F64),
    edge("gamma_zero", shape=[6, 4, 5, 5], gamma="zero"),
    edge("gamma_zero_eval_f64", shape=[6, 4, 5], gamma="zero", dtype=F64, options=EVAL),
    edge("cancelling_dy_f32", shape=[8, 6, 7, 9], dy="cancelling"),
    edge("cancelling_dy_f64", shape=[6, 5, 8, 8], dy="cancelling", dtype=F64),
    edge("single_channel", shape=[16, 1, 5, 5]),
    edge("two_values_per_channel", shape=[2, 3]),
    edge("single_value_eval", shape=[1, 3, 1, 1], options=EVAL),
    # N = 0 (and C = 0 below) with every other size nonzero and distinct
    edge("empty_batch_training", shape=[0, 3, 4, 5]),
    edge("empty_batch_eval", shape=[0, 3, 4, 5], options=EVAL),
    edge("zero_channels_2d", shape=[5, 0]),
    edge("zero_channels_4d", shape=[5, 0, 3, 4]),
]

# names both (the argument check reports a spatial mismatch as "x has *S1=6 but dy ...")
SHAPE_MSG = r"\bdy\b.*\bx\b|\bx\b.*\bdy\b"
ERRORS = [
    error("dy_spatial_mismatch", ValueError, SHAPE_MSG, shape=[4, 3, 5, 6], dy_shape=[4, 3, 5, 7]),
    error("dy_fewer_axes", ValueError, SHAPE_MSG, shape=[4, 3, 5, 6], dy_shape=[4, 3, 30]),
]

BENCH = {
    "smoke": [bench("bench_2x4x5x5", shape=[2, 4, 5, 5])],
    # A mid size before the standard one: the runner predicts a cell's time from the same
    # implementation's smaller cases, and from the smoke case alone it would skip them all.
    "quick": [
        bench("bench_4x32x28x28", shape=[4, 32, 28, 28]),  # the Python-sized one (~0.15 s)
        bench("bench_32x64x56x56", shape=[32, 64, 56, 56]),  # standard: 25-110 ms a call
    ],
    "full": [
        bench("bench_8x64x56x56", shape=[8, 64, 56, 56]),
        bench("bench_256x64x112x112", shape=[256, 64, 112, 112]),  # large
    ],
}


def _fuzz_case(
    n: int, c: int, spatial: tuple[int, ...], options: dict[str, Any], params: dict[str, Any]
) -> Case:
    if options["training"] and n * math.prod(spatial) == 1:
        n = 2  # torch's forward (so its autograd) refuses one value per channel
    if params["dtype"] == "float32":  # torch autograd recomputes the mean: at 1e3 its float32
        params = {**params, "offset": 0.0}  # rounding alone exceeds the tolerance of a small K
    return Case("fuzz", {"shape": [n, c, *spatial], **params}, options, "fuzz")


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    # C >= 1: F.batch_norm raises on C = 0 (zero_channels_* cover it)
    options = BatchNormBackwardOptions.strategy()
    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "pattern": st.sampled_from(["random", "constant"]),
            "gamma": st.sampled_from(["random", "zero"]),
            "dy": st.sampled_from(["random", "cancelling"]),
            "offset": st.sampled_from([0.0, 1e3]),
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
    algorithm="batchnorm_backward",
    family="training-math",
    summary="Batch-norm backward over (N, C[, L | H, W]) from the forward's saved mean and "
    "inverse std -> (dx, dweight, dbias).",
    conventions=(
        "dy and x are (N, C), (N, C, L) or (N, C, H, W) of one shape; weight, running_mean, "
        "running_var, saved_mean, saved_stat are (C,). K = N*L values per channel. "
        "training=True: mean = saved_mean and invstd = saved_stat (saved_stat_is='invstd', "
        "torch's save_invstd = 1/sqrt(biased var + eps)) or 1/sqrt(saved_stat + eps) "
        "(saved_stat_is='var', the biased batch variance); xhat = (x - mean)*invstd; "
        "dbias = sum dy, dweight = sum dy*xhat, dx = weight*invstd*(dy - dbias/K - "
        "xhat*dweight/K): torch.ops.aten.native_batch_norm_backward's contract, the running "
        "statistics unused. training=False: mean = running_mean, invstd = 1/sqrt(running_var "
        "+ eps), dx = weight*invstd*dy, dweight and dbias as above; the saved statistics "
        "unused. Sums over the batch are centred (x - mean first): the tolerance is relative "
        "to the terms' magnitudes, which an uncentred sum dy*x - mean*sum dy exceeds at large "
        "means. Outputs have the inputs' dtype; an empty batch gives an empty dx and zero "
        "dweight, dbias. Inputs are never modified. ValueError: x not 2-, 3- or 4-D, dy not "
        "shaped like x, a (C,) input of another length, eps < 0; TypeError: a non-float array."
    ),
    args=ARGS,
    options=BatchNormBackwardOptions,
    make_inputs=make_inputs,
    oracle=batchnorm_backward,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 13, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_32x64x56x56",
    outputs=("dx", "dweight", "dbias"),
    multi_block={"N": 300, "C": 272},
    fuzz=fuzz_strategy,
    reference="torch autograd through F.batch_norm(training=...); "
    "torch.ops.aten.native_batch_norm_backward (the saved statistics)",
)

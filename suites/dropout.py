"""Suite for dropout: y = x·m·s with an injected keep mask m ~ Bernoulli(1 - p).

dropout.channel (Dropout1d/2d/3d) is the second suite of this file: x (N, C, *S) with a
mask (N, C), one draw per sample and channel, under the same options and conventions.

Randomness is an input: the mask is drawn once per case from the case seed and handed to
every implementation, so they agree bit for bit up to the rounding of the scale. The one
exception is the library's own-generator F.dropout (registered own_rng=True), which cannot
take a mask: it is judged by a keep-rate test instead (``DropoutKeepRate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, Comparison, KeepRate
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class DropoutOptions(Options):
    training: bool = option(True, False, meaning="False (eval): nothing is dropped")
    scaling: str = option(
        "inverted",
        "paper",
        meaning="inverted: kept values x/(1 - p) in training, identity in eval (torch); "
        "paper: x·m in training, x·(1 - p) in eval (Srivastava et al. 2014)",
    )
    nan_dropped: str = option(
        "product",
        "select",
        meaning="product: y = x·m·s, a dropped NaN or inf gives NaN (torch); "
        "select: y = where(m, x·s, 0), a dropped NaN or inf gives 0",
    )


ARGS = Args(
    Arg("x", ("N", "D"), "float"),
    Arg("mask", ("N", "D"), "bool"),
    Scalar("p", low=0.0, high=1.0),
)


def dropout_scale(p: float, opts: DropoutOptions) -> float:
    """The factor applied to every kept value (float64). In training with inverted scaling
    it is 1/(1 - p), and 0 at p = 1, where nothing is kept: 0·(1/0) would be NaN."""
    if not opts.training:
        return 1.0 - p if opts.scaling == "paper" else 1.0
    if opts.scaling == "paper":
        return 1.0
    return 1.0 / (1.0 - p) if p < 1.0 else 0.0


def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """Oracle: float64, (N, D) -> (N, D); the mask is used only in training."""
    ARGS.check(x, mask, p)
    return _apply(np.asarray(x, dtype=np.float64), np.asarray(mask, dtype=bool), float(p), opts)


def _apply(x: np.ndarray, keep: np.ndarray, p: float, opts: DropoutOptions) -> Any:
    """x·keep·s or where(keep, x·s, 0) in float64; keep broadcasts against x."""
    if not opts.training:
        return x * (1.0 - p) if opts.scaling == "paper" else x.copy()
    if opts.scaling == "paper":
        scale = 1.0
    elif p == 1.0:
        scale = 0.0  # nothing is kept; 1/(1 - p) would turn 0 into 0·inf = NaN
    else:
        scale = 1.0 / (1.0 - p)
    with np.errstate(invalid="ignore"):  # inf·0 = NaN at a dropped inf is the product rule
        if opts.nan_dropped == "product":
            return x * keep * scale
        return np.where(keep, x * scale, 0.0)


def make_inputs(case: Case) -> Inputs:
    params = case.params
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    n, d, p = int(params["n"]), int(params["d"]), float(params.get("p", 0.5))
    x = rng.standard_normal((n, d), dtype=np.float32 if dtype == np.float32 else np.float64)
    x *= 2.0
    mask = rng.random((n, d)) >= p  # P(u >= p) = 1 - p: p = 0 keeps all, p = 1 none
    if params.get("pattern") == "nonfinite":  # NaN and +-inf at kept and dropped places
        flat = x.reshape(-1)
        flat[0::7] = np.nan
        flat[3::11] = np.inf
        flat[5::13] = -np.inf
    elif params.get("pattern") == "zeros":  # exact zeros (and -0.0) among the values
        x.reshape(-1)[::3] = 0.0
        x.reshape(-1)[1::5] = -0.0
    return {"x": x.astype(dtype), "mask": mask, "p": p}


def cost(case: Case) -> Cost:
    n = int(case.params["n"]) * int(case.params["d"])
    b = np.dtype(case.dtype).itemsize
    # a select (or a mask multiply) and a scale per value; x read, mask read, y written
    return Cost(flops=2.0 * n, bytes=(2.0 * b + 1.0) * n, items=n, item_unit="values")


@dataclass(frozen=True)
class DropoutKeepRate(KeepRate):
    """KeepRate for this suite's options: kept values are x·s (s from ``dropout_scale``),
    dropped ones 0, the number kept passes a binomial test against 1 - p. Non-finite
    inputs give NaN when dropped under the product rule, so they say nothing about the
    keep rate: they are checked apart (x·s or NaN) and left out of the count. In eval mode
    nothing is random: the output must equal the oracle's (4 ulps, like kept values)."""

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        opts = DropoutOptions.build(case.options)
        x = np.asarray(inputs["x"], dtype=np.float64)
        y = np.asarray(actual, dtype=np.float64)
        if y.shape != x.shape:
            return Comparison(False, f"shape {y.shape}, expected {x.shape}", total=int(y.size))
        rtol = 4 * float(np.finfo(np.dtype(case.dtype)).eps)
        if not opts.training:
            ok = np.isclose(y, expected, rtol=rtol, atol=0.0, equal_nan=True)
            return _verdict(ok, y, np.asarray(expected), "eval mode must not drop: ")
        with np.errstate(invalid="ignore"):
            scaled = x * dropout_scale(float(inputs[self.p]), opts)
        finite = np.isfinite(x)
        odd = ~finite & ~(np.isnan(y) | (y == scaled))
        if odd.any():
            return _verdict(~odd, y, scaled, "a non-finite input must give x·s or NaN: ")
        return self.rate(y, scaled, x, finite, inputs, case, tol)

    def rate(
        self,
        y: np.ndarray,
        scaled: np.ndarray,
        x: np.ndarray,
        finite: np.ndarray,
        inputs: Inputs,
        case: Case,
        tol: Tolerance,
    ) -> Comparison:
        """The keep-rate test proper, on the finite inputs: one Bernoulli draw per value."""
        return super().__call__(y[finite], (scaled[finite], x[finite]), inputs, case, tol)


def _verdict(ok: np.ndarray, y: np.ndarray, want: np.ndarray, why: str) -> Comparison:
    if ok.all():
        return Comparison(True, total=int(y.size), note="equal to the oracle")
    i = int(np.flatnonzero(~ok.ravel())[0])
    detail = (
        f"{why}{int((~ok).sum())}/{y.size} values differ; first at flat index {i}: "
        f"{y.ravel()[i]!r} vs {want.ravel()[i]!r}"
    )
    return Comparison(
        False, detail, mismatches=int((~ok).sum()), total=int(y.size), error_ratio=float("inf")
    )


# Every value is one or two roundings (the scale to the dtype, the product): K = 1 gives
# rtol = 10·eps, five times what they can cost; atol = rtol·1 (x is ~N(0, 4), zeros exact).
COMPARE = Close()

CASES = [
    case("random_f32", n=64, d=100, p=0.3),
    case("random_f64", n=48, d=70, p=0.6, dtype="float64"),
    case("paper_f64", n=40, d=30, p=0.25, dtype="float64", options={"scaling": "paper"}),
    case("eval_f32", n=33, d=21, p=0.4, options={"training": False}),
    case(
        "eval_paper_f64",
        n=20,
        d=17,
        p=0.35,
        dtype="float64",
        options={"training": False, "scaling": "paper"},
    ),
    # several hundred along each axis: past the first block of a tiled or threaded kernel
    case("multi_block", n=300, d=260, p=0.2),
    edge("p_zero", n=16, d=24, p=0.0),
    edge("p_one", n=16, d=24, p=1.0),
    edge("p_one_nonfinite", n=12, d=20, p=1.0, pattern="nonfinite"),
    # 1 - p = 1e-4: float32(p) is 1.7e-8 off, so 1 - p taken in float32 is 1.7e-4 off; ~20 kept
    edge("p_near_one", n=512, d=400, p=0.9999),
    edge("nonfinite_product", n=30, d=40, p=0.5, pattern="nonfinite"),
    edge(
        "nonfinite_select_f64",
        n=30,
        d=40,
        p=0.5,
        pattern="nonfinite",
        dtype="float64",
        options={"nan_dropped": "select"},
    ),
    edge("zeros", n=25, d=19, p=0.45, pattern="zeros"),
    edge("empty_n", n=0, d=7, p=0.5),
    edge("empty_d", n=5, d=0, p=0.5),
]

ERRORS = [
    error("p_just_above_one", ValueError, r"\bp\b", n=4, d=6, p=1.0 + 1e-9),
    error("p_negative", ValueError, r"\bp\b", n=4, d=6, p=-1e-9),
    error("integer_x", TypeError, r"\bx\b", n=4, d=6, dtype="int64"),
]

# Standard: 2**22 values (4.2e6), an eighth of the spec's 3.4e7: there the library's own
# generator (F.dropout draws a Bernoulli per value) costs ~0.9 s a call on this CPU and
# the quick profile would overrun its few seconds. The spec's size is in "full"; its large
# size (2.7e8: 6 GB of float64 oracle and inputs) is left to GPU machines.
BENCH = {
    "smoke": [bench("bench_64k", n=256, d=256, p=0.1)],
    "quick": [bench("bench_4M", n=2048, d=2048, p=0.1)],
    "full": [bench("bench_34M", n=8192, d=4096, p=0.1)],
}


def _value_draws(st: Any) -> dict[str, Any]:
    """The draws both modes' fuzz cases share: p, the seed, the dtype, the value pattern."""
    return {
        "p": st.sampled_from([0.0, 0.1, 0.5, 0.9, 0.9999, 1.0]) | st.floats(0.0, 1.0),
        "seed": st.integers(0, 2**31 - 1),
        "dtype": st.sampled_from(["float32", "float64"]),
        "pattern": st.sampled_from(["random", "nonfinite", "zeros"]),
    }


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    flags = DropoutOptions.strategy(optional=True)
    params = st.fixed_dictionaries(
        {
            "n": st.integers(0, 40),
            "d": st.integers(1, 40),
            **_value_draws(st),
        }
    )
    return fuzz_cases(params, flags)


SUITE = Suite(
    algorithm="dropout",
    family="attention-and-layers",
    summary="Dropout of x (N, D) with an injected keep mask (N, D) and drop probability p "
    "-> (N, D).",
    conventions=(
        "dropout(x, mask, p, opts). x: (N, D) floating (any layout reshapes to this: "
        "dropout is elementwise); mask: (N, D) bool, True = keep, drawn as Bernoulli(1 - p) "
        "by the suite; p: a real number in [0, 1]. training=True, scaling='inverted' (torch): "
        "y = x·mask/(1 - p), and y = 0 at p = 1 (no 0/0); scaling='paper': y = x·mask. "
        "training=False: y = x (inverted) or x·(1 - p) (paper), as a new array; the mask is "
        "ignored. nan_dropped='product' (torch): y = x·mask·s, so a dropped NaN or inf gives "
        "NaN; 'select': y = where(mask, x·s, 0), so it gives 0. Kept NaN and inf propagate. "
        "Output has x's dtype. Inputs are never modified, the output never aliases x. "
        "ValueError: a shape other than (N, D), mask and x of different shapes, p outside "
        "[0, 1] or NaN; TypeError: integer x, a non-bool mask, p not a number. F.dropout "
        "with its own generator (own_rng) is judged by a binomial test of the keep rate."
    ),
    args=ARGS,
    options=DropoutOptions,
    make_inputs=make_inputs,
    oracle=dropout,
    compare=COMPARE,
    own_rng_compare=DropoutKeepRate(),
    cost=cost,
    defaults={"seed": 7, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_4M",
    multi_block={"N": 300, "D": 260},
    fuzz=fuzz_strategy,
    reference="torch.nn.functional.dropout (own generator: keep-rate test); "
    "torch.ops.aten.native_dropout_backward (torch's kernel applying a given mask)",
)


# ---- dropout.channel: Dropout1d/2d/3d, one draw per (sample, channel) ---------------------

CHANNEL_ARGS = Args(
    Arg("x", ("N", "C", "*S"), "float", star=(1, 3)),
    Arg("mask", ("N", "C"), "bool"),
    Scalar("p", low=0.0, high=1.0),
)


def channel_mask(mask: Any, ndim: int) -> Any:
    """The (N, C) mask viewed as (N, C, 1, ...) with ndim axes: it broadcasts over the
    spatial axes of x (NumPy, torch and CuPy arrays alike)."""
    return mask.reshape(tuple(mask.shape) + (1,) * (ndim - 2))


def dropout_channel(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """Oracle: float64, x (N, C, *S) with 1 to 3 spatial axes, mask (N, C) -> x's shape;
    every value of channel (n, c) is kept or dropped with mask[n, c]."""
    CHANNEL_ARGS.check(x, mask, p)
    x = np.asarray(x, dtype=np.float64)
    keep = channel_mask(np.asarray(mask, dtype=bool), x.ndim)
    return _apply(x, keep, float(p), opts)


def _spatial(params: Any) -> tuple[int, ...]:
    """A case's spatial sizes: (l,) for Dropout1d, (h, w) for Dropout2d, (d, h, w) for 3d."""
    if "l" in params:
        return (int(params["l"]),)
    hw = (int(params["h"]), int(params["w"]))
    return (int(params["d"]), *hw) if "d" in params else hw


def channel_inputs(case: Case) -> Inputs:
    params = case.params
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    n, c, p = int(params["n"]), int(params["c"]), float(params.get("p", 0.5))
    shape = (n, c, *_spatial(params))
    x = rng.standard_normal(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
    x *= 2.0
    mask = rng.random((n, c)) >= p  # P(u >= p) = 1 - p: one draw per (sample, channel)
    if params.get("mask") == "per_value":  # the error case: an elementwise mask
        mask = rng.random(shape) >= p
    if params.get("pattern") == "nonfinite":  # NaN and +-inf in kept and dropped channels
        flat = x.reshape(-1)
        flat[0::7] = np.nan
        flat[3::11] = np.inf
        flat[5::13] = -np.inf
    elif params.get("pattern") == "zeros":
        x.reshape(-1)[::3] = 0.0
        x.reshape(-1)[1::5] = -0.0
    return {"x": x.astype(dtype), "mask": mask, "p": p}


def channel_cost(case: Case) -> Cost:
    nc = int(case.params["n"]) * int(case.params["c"])
    n = nc * int(np.prod(_spatial(case.params)))
    b = np.dtype(case.dtype).itemsize
    # a mask multiply and a scale per value; x read, y written, the mask read once per channel
    return Cost(flops=2.0 * n, bytes=2.0 * b * n + nc, items=n, item_unit="values")


@dataclass(frozen=True)
class DropoutChannelKeepRate(DropoutKeepRate):
    """DropoutKeepRate with one Bernoulli draw per (sample, channel): every value must be
    x·s or 0 (as for dropout), every channel must be kept or dropped as a whole (its
    nonzero finite values all kept or all dropped), and the number of kept channels passes
    the binomial test against 1 - p. Channels without a nonzero finite value say nothing."""

    def rate(
        self,
        y: np.ndarray,
        scaled: np.ndarray,
        x: np.ndarray,
        finite: np.ndarray,
        inputs: Inputs,
        case: Case,
        tol: Tolerance,
    ) -> Comparison:
        rtol = 4 * float(np.finfo(np.dtype(case.dtype)).eps)
        ok = ~finite | np.isclose(y, scaled, rtol=rtol, atol=0.0) | (y == 0)
        if not ok.all():
            i = int(np.flatnonzero(~ok.ravel())[0])
            return Comparison(
                False,
                f"{int((~ok).sum())} values are neither 0 nor x/(1-p); first at flat index "
                f"{i}: {y.ravel()[i]!r} vs {scaled.ravel()[i]!r}",
                total=int(y.size),
                error_ratio=float("inf"),
            )
        live = finite & (x != 0)  # a zero or non-finite input is no evidence either way
        axes = tuple(range(2, y.ndim))
        n_live, n_kept = live.sum(axis=axes), (live & (y != 0)).sum(axis=axes)
        mixed = (n_kept > 0) & (n_kept < n_live)
        if mixed.any():
            at = tuple(int(i) for i in np.argwhere(mixed)[0])
            return Comparison(
                False,
                f"{int(mixed.sum())} channels are partly kept; first (n, c) = {at}: kept "
                f"{int(n_kept[at])} of {int(n_live[at])} values (a mask per value, not per "
                "channel)",
                total=int(y.size),
                error_ratio=float("inf"),
            )
        kept = (n_kept > 0).astype(np.float64)  # one value per channel: 1 kept, 0 dropped
        return KeepRate.__call__(
            self, kept, (np.ones_like(kept), (n_live > 0).astype(np.float64)), inputs, case, tol
        )


CHANNEL_CASES = [
    case("channel_f32", n=8, c=16, h=9, w=11, p=0.3),
    case("channel_1d_f64", n=6, c=20, l=33, p=0.6, dtype="float64"),
    case("channel_3d_f32", n=3, c=10, d=4, h=5, w=6, p=0.5),
    case(
        "channel_paper_f64",
        n=5,
        c=12,
        h=4,
        w=7,
        p=0.25,
        dtype="float64",
        options={"scaling": "paper"},
    ),
    case("channel_eval_f32", n=4, c=9, h=5, w=3, p=0.4, options={"training": False}),
    case(
        "channel_eval_paper_f64",
        n=3,
        c=7,
        h=6,
        w=2,
        p=0.35,
        dtype="float64",
        options={"training": False, "scaling": "paper"},
    ),
    # several hundred samples and channels: past the first block of a tiled or threaded kernel
    case("channel_multi_block", n=300, c=270, h=2, w=3, p=0.2),
    edge("channel_p_zero", n=4, c=6, h=5, w=7, p=0.0),
    edge("channel_p_one", n=4, c=6, h=5, w=7, p=1.0),
    edge("channel_p_one_nonfinite", n=3, c=5, h=4, w=6, p=1.0, pattern="nonfinite"),
    # 1 - p = 1e-4 over 2e5 channels (~20 kept): float32 arithmetic on 1 - p is 1.7e-4 off
    edge("channel_p_near_one", n=400, c=500, h=1, w=1, p=0.9999),
    edge("channel_nonfinite_product", n=6, c=8, h=5, w=7, p=0.5, pattern="nonfinite"),
    edge(
        "channel_nonfinite_select_f64",
        n=6,
        c=8,
        h=5,
        w=7,
        p=0.5,
        pattern="nonfinite",
        dtype="float64",
        options={"nan_dropped": "select"},
    ),
    edge("channel_zeros", n=5, c=7, h=4, w=3, p=0.45, pattern="zeros"),
    edge("channel_one", n=9, c=1, h=6, w=7, p=0.5),
    edge("channel_spatial_1x1", n=11, c=13, h=1, w=1, p=0.5),
    edge("channel_empty_n", n=0, c=3, h=5, w=7, p=0.5),
    edge("channel_empty_c", n=2, c=0, h=5, w=7, p=0.5),
    edge("channel_empty_spatial", n=2, c=3, h=0, w=7, p=0.5),
]

CHANNEL_ERRORS = [
    error("channel_p_just_above_one", ValueError, r"\bp\b", n=2, c=3, h=4, w=5, p=1.0 + 1e-9),
    error("channel_p_negative", ValueError, r"\bp\b", n=2, c=3, h=4, w=5, p=-1e-9),
    error("channel_integer_x", TypeError, r"\bx\b", n=2, c=3, h=4, w=5, dtype="int64"),
    # a mask with x's shape (one draw per value) is elementwise dropout, not Dropout2d
    error("channel_mask_per_value", ValueError, r"\bmask\b", n=2, c=3, h=4, w=5, mask="per_value"),
]

# Quick: 2**20 values (32 images of 32 channels at 32x32), a quarter of the elementwise
# suite's standard: both modes together must stay inside the algorithm's 6 s of the quick
# profile, where each Numba implementation alone is predicted at 1.5 s of compilation.
CHANNEL_BENCH = {
    "smoke": [bench("channel_bench_64k", n=8, c=32, h=16, w=16, p=0.1)],
    "quick": [bench("channel_bench_1M", n=32, c=32, h=32, w=32, p=0.1)],
    "full": [bench("channel_bench_34M", n=32, c=256, h=64, w=64, p=0.1)],
}


def channel_fuzz() -> Any:
    from hypothesis import strategies as st

    flags = DropoutOptions.strategy(optional=True)
    params = st.fixed_dictionaries(
        {
            "n": st.integers(0, 6),
            # C >= 1 (as D >= 1 for dropout): nested lists with no channel lose their dtype
            # (python/loops' expected failure); channel_empty_c covers C = 0
            "c": st.integers(1, 6),
            "h": st.integers(1, 6),
            "w": st.integers(1, 6),
            **_value_draws(st),
        }
    )
    return fuzz_cases(params, flags)


CHANNEL = Suite(
    algorithm="dropout.channel",
    family="attention-and-layers",
    summary="Channel dropout (Dropout1d/2d/3d) of x (N, C, *S) with an injected keep mask "
    "(N, C) and drop probability p -> x's shape.",
    conventions=(
        "dropout(x, mask, p, opts). x: (N, C, L), (N, C, H, W) or (N, C, D, H, W) floating "
        "(torch's F.dropout1d, dropout2d and dropout3d on batched input; an unbatched (C, ...) "
        "input is x[None], which torch's dropout2d reads ambiguously for 3-D input); mask: "
        "(N, C) bool, True = keep, one Bernoulli(1 - p) draw per sample and channel, "
        "broadcast over the spatial axes; p: a real number in [0, 1]. Every convention of "
        "dropout holds per channel: training=True, scaling='inverted' (torch): y = "
        "x·mask[n, c]/(1 - p), y = 0 at p = 1 (no 0/0); scaling='paper': y = x·mask[n, c]. "
        "training=False: y = x (inverted) or x·(1 - p) (paper), a new array, the mask "
        "ignored. nan_dropped='product' (torch): a NaN or inf in a dropped channel gives NaN; "
        "'select': it gives 0. Output has x's dtype; inputs are never modified, the output "
        "never aliases x. ValueError: x with fewer than 3 or more than 5 axes, a mask not "
        "(N, C) (an elementwise mask of x's shape included), p outside [0, 1] or NaN; "
        "TypeError: integer x, a non-bool mask, p not a number. F.dropout2d with its own "
        "generator (own_rng) is judged by a binomial test of the kept channels."
    ),
    args=CHANNEL_ARGS,
    options=DropoutOptions,
    make_inputs=channel_inputs,
    oracle=dropout_channel,
    compare=COMPARE,
    own_rng_compare=DropoutChannelKeepRate(),
    cost=channel_cost,
    defaults={"seed": 11, "dtype": "float32"},
    cases=CHANNEL_CASES,
    errors=CHANNEL_ERRORS,
    bench=CHANNEL_BENCH,
    standard="channel_bench_1M",
    multi_block={"N": 300, "C": 270},
    fuzz=channel_fuzz,
    reference="torch.nn.functional.dropout1d/dropout2d/dropout3d (own generator: keep-rate "
    "test of the channels); x·mask[:, :, None, None]/(1 - p) in torch (torch_cpu/broadcast)",
)

SUITES = [SUITE, CHANNEL]

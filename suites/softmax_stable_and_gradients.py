"""Suites for softmax_stable_and_gradients: max-subtracted softmax / log-softmax, the stable
sigmoid, and their VJPs.

Two modes, one suite each: the forward pass, and the backward pass (the vector-Jacobian
product of the forward with an upstream gradient g, the forward itself outside the timing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


def _is_axis(v: Any) -> bool:
    return type(v) is int  # any int is accepted here; x's rank decides (bool is refused)


@dataclass(frozen=True)
class SoftmaxOptions(Options):
    function: str = option(
        "softmax",
        "log_softmax",
        "sigmoid",
        meaning="probabilities, log-probabilities x - logsumexp(x), or the elementwise stable "
        "sigmoid 1/(1 + e^-x) for x >= 0, e^x/(1 + e^x) otherwise (axis and all_neg_inf do not "
        "apply: sigmoid(-inf) = 0)",
    )
    all_neg_inf: str = option(
        "nan",
        "zero",
        meaning="a slice whose entries are all -inf gives NaN (torch, scipy: 0/0) or zeros "
        "(masked-attention style), in the output and in its gradient",
    )
    axis: int = option(
        -1,
        0,
        meaning="the axis normalised over (last by default); out of range raises",
        accepts=_is_axis,
    )


ARGS = Args(Arg("x", ("M", "N"), "float"))
BACKWARD_ARGS = Args(Arg("x", ("M", "N"), "float"), Arg("g", ("M", "N"), "float"),
                     same_dtype=("x", "g"))  # fmt: skip


def normalized_axis(opts: SoftmaxOptions, ndim: int = 2) -> int:
    """opts.axis as 0 .. ndim - 1; ValueError naming the axis when x has no such axis."""
    if not -ndim <= opts.axis < ndim:
        raise ValueError(f"axis={opts.axis} is out of range for x with {ndim} axes")
    return opts.axis % ndim


def check_forward(x: Any, opts: SoftmaxOptions) -> tuple[Any, int]:
    """The one-line input check of the forward: ARGS, then (result dtype, axis as 0 or 1)."""
    return ARGS.check(x), normalized_axis(opts)


def check_backward(x: Any, g: Any, opts: SoftmaxOptions) -> tuple[Any, int]:
    """The one-line input check of the backward: (result dtype, axis as 0 or 1)."""
    return BACKWARD_ARGS.check(x, g), normalized_axis(opts)


def _probabilities(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of z (rows, L): (softmax, log-softmax, dead), float64, dead rows left NaN."""
    top = z.max(axis=1, keepdims=True, initial=-np.inf)  # NaN propagates; L = 0 gives -inf
    dead = top[:, 0] == -np.inf  # every entry -inf (or none at all)
    with np.errstate(invalid="ignore", divide="ignore"):
        shifted = z - top  # +inf: inf - inf = NaN, and the NaN reaches the whole row's sum
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        s, log_s = e / total, shifted - np.log(total)
    s[dead], log_s[dead] = np.nan, np.nan
    return s, log_s, dead


def stable_sigmoid(z: np.ndarray) -> np.ndarray:
    """float64 sigmoid that never exponentiates a positive number: 1/(1 + e^-x) for x >= 0,
    e^x/(1 + e^x) for x < 0 (each form's exp stays in (0, 1]); NaN stays NaN."""
    e = np.exp(-np.abs(z))  # e^-x where x >= 0, e^x where x < 0
    with np.errstate(invalid="ignore"):
        out: np.ndarray = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


def softmax_stable_and_gradients(x: Any, opts: SoftmaxOptions) -> Any:
    """Oracle: float64 rows along the axis; subtract the row max, exponentiate, normalise.
    function='sigmoid': the elementwise stable sigmoid instead (no slices)."""
    _, axis = check_forward(x, opts)
    if opts.function == "sigmoid":
        return stable_sigmoid(np.asarray(x, dtype=np.float64))
    z = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    s, log_s, dead = _probabilities(z)
    out = s if opts.function == "softmax" else log_s
    out[dead] = np.nan if opts.all_neg_inf == "nan" else 0.0
    return np.moveaxis(out, -1, axis)


def softmax_stable_and_gradients_backward(x: Any, g: Any, opts: SoftmaxOptions) -> Any:
    """Oracle: the VJP s·(g - <g, s>) of softmax, or g - s·Σg of log-softmax, float64;
    sigmoid: g·σ(x)·(1 - σ(x)), with 1 - σ(x) written as σ(-x) (no cancellation)."""
    _, axis = check_backward(x, g, opts)
    if opts.function == "sigmoid":
        z = np.asarray(x, dtype=np.float64)
        return np.asarray(g, dtype=np.float64) * stable_sigmoid(z) * stable_sigmoid(-z)
    z = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    gz = np.moveaxis(np.asarray(g, dtype=np.float64), axis, -1)
    s, _, dead = _probabilities(z)
    if opts.function == "softmax":
        grad = s * (gz - (gz * s).sum(axis=1, keepdims=True))
    else:
        grad = gz - s * gz.sum(axis=1, keepdims=True)
    grad[dead] = np.nan if opts.all_neg_inf == "nan" else 0.0
    return np.moveaxis(grad, -1, axis)


def _slices(case: Case) -> tuple[int, int]:
    """(slices, length): how many softmaxes the case holds and how long each one is."""
    m, n = int(case.params["M"]), int(case.params["N"])
    return (n, m) if case.options.get("axis", -1) in (0, -2) else (m, n)


def _logits(case: Case, rng: np.random.Generator) -> np.ndarray:
    """float64 logits laid out (slices, length), the case's pattern applied row by row."""
    p = case.params
    rows, length = _slices(case)
    z: np.ndarray = p.get("loc", 0.0) + p.get("scale", 3.0) * rng.standard_normal((rows, length))
    pattern = p.get("pattern", "random")
    if pattern == "dead":  # every third row all -inf, every fourth entry of the others too
        z[1::3, ::4] = -np.inf
        z[::3] = -np.inf
    elif pattern == "pos_inf":  # row 1: one +inf (a NaN row); row 2: +inf among -inf
        z[1, 2] = np.inf
        z[2] = -np.inf
        z[2, -1] = np.inf
    elif pattern == "nan":  # row 0: one NaN; row 3: NaN among -inf (NaN, not all -inf)
        z[0, 1] = np.nan
        z[3] = -np.inf
        z[3, 2] = np.nan
    elif pattern == "ties":  # constant rows (uniform), and rows with two equal maxima
        z[::2] = 5.0
        z[1::2, :2] = z[1::2].max(axis=1, keepdims=True) + 1.0
    elif pattern == "ramp":  # the max moves tile by tile: every new tile rescales the sum
        z += 0.05 * np.arange(length)
    elif pattern == "dominant":  # one entry per row 8 above the rest (s_0 ~ 0.97 at scale 1)
        z[:, 0] += 8.0
    return z


def make_inputs(case: Case) -> Inputs:
    z = _logits(case, np.random.default_rng(case.seed))
    x = np.ascontiguousarray(z.T) if case.options.get("axis", -1) in (0, -2) else z
    return {"x": x.astype(np.dtype(case.dtype))}


def make_backward_inputs(case: Case) -> Inputs:
    x = make_inputs(case)["x"]  # the forward's x, bit for bit; g from a stream of its own
    g = case.params.get("gscale", 1.0) * np.random.default_rng([case.seed, 1]).standard_normal(
        x.shape
    )
    return {"x": x, "g": g.astype(np.dtype(case.params.get("dtype_g", case.dtype)))}


def cost(case: Case) -> Cost:
    """≈ 5 flops per element (max, subtract, exp, sum, scale); compulsory bytes: x read once,
    the output written once (a three-pass kernel moves 4b per element, an online one 3b,
    but a row of the standard size stays in cache between passes)."""
    m, n = int(case.params["M"]), int(case.params["N"])
    b = np.dtype(case.dtype).itemsize
    return Cost(flops=5.0 * m * n, bytes=2.0 * b * m * n, items=m * n, item_unit="elements")


def backward_cost(case: Case) -> Cost:
    """≈ 4 flops per element (dot, subtract, scale); bytes: s and g read, the gradient written."""
    m, n = int(case.params["M"]), int(case.params["N"])
    b = np.dtype(case.dtype).itemsize
    return Cost(flops=4.0 * m * n, bytes=3.0 * b * m * n, items=m * n, item_unit="elements")


def tolerance(case: Case) -> Tolerance:
    """K = the slice length L. Softmax: s_i = exp(x_i - m)/Σ; x_i - m and exp carry a relative
    error ~ eps·(|x_i - m| + 1) = eps·(|log s_i| + log Σ + 1), the L-long sum eps·sqrt(L).
    For s_i >= 1/L that is below 10·sqrt(L)·eps relative; for smaller s_i, s_i·|log s_i|
    <= log(L)/L keeps the absolute error below atol = rtol/L (s averages 1/L, so atol still
    tells a right answer from zeros). Log-softmax: out_i = (x_i - m) - log Σ with |x_i - m|
    <= |out_i| + log L, so the error is eps·(|out_i| + 2 log L + c): rtol = atol =
    10·sqrt(L)·eps covers it. float16 inputs are rounded once more on output (its eps).
    Sigmoid: elementwise, one exp, one add and one divide, each a relative error of a few
    eps and no reduction: K = 1, atol = rtol (values in [0, 1])."""
    _, length = _slices(case)
    if case.options.get("function") == "sigmoid":
        return default_tolerance(case.dtype, 1, 1.0)
    if case.options.get("function", "softmax") == "log_softmax":
        return default_tolerance(case.dtype, length, 1.0)
    return default_tolerance(case.dtype, length, 1.0 / max(length, 1))


def backward_tolerance(case: Case) -> Tolerance:
    """VJP v_i = s_i·(g_i - c), c = <g, s>: the errors of s_i (relative, as in the forward)
    and of the L-long dot (eps·sqrt(L)·max|g|) both reach v_i multiplied by s_i <= 1, and
    v_i itself may cancel to ~0 (a near one-hot s): atol = 10·sqrt(L)·eps·G with G = 6·gscale
    bounding |g| (unit normal draws stay below 6 in these sizes). Log-softmax v_i = g_i - s_i·Σg:
    the s_i error times |Σg| ~ sqrt(L)·gscale is s_i·|log s_i|·eps·sqrt(L)·gscale, inside the
    same bound. float16: the saved forward output and the gradient are each rounded to
    float16 (eps16/2 relative apiece, the rounded s reaching v_i as s_i·eps16·G) while the sums
    run in float32 (torch, and every implementation here): rtol = 4·eps16, atol = 4·eps16·G
    (the default's sqrt(L) would let every float16 VJP of a 50-long slice pass as zeros).
    Sigmoid: g·σ·(1 - σ) elementwise; 1 - σ computed from a rounded σ near 1 carries an
    absolute error ~ eps, times |g| <= G and σ <= 1: K = 1, atol = rtol·G."""
    _, length = _slices(case)
    scale = 6.0 * float(case.params.get("gscale", 1.0))
    if case.options.get("function") == "sigmoid" and case.dtype != "float16":
        return default_tolerance(case.dtype, 1, scale)
    if case.dtype == "float16":
        eps = 2.0**-11
        return Tolerance(4 * eps, 4 * eps * scale, f"float16 4*eps, atol = rtol*{scale:g} (G)")
    base = default_tolerance(case.dtype, length, scale)
    return Tolerance(base.rtol, base.atol, base.reason + " (G = 6·gscale bounds |g|)")


LOG, ZERO, AXIS0 = {"function": "log_softmax"}, {"all_neg_inf": "zero"}, {"axis": 0}
LOG_ZERO = {**LOG, **ZERO}
SIG = {"function": "sigmoid"}
# Cases both modes share; their names read the same in both tables.
COMMON = [
    # the error base: M and N distinct and >= 2
    case("random_f32"),
    case("random_f64", dtype="float64"),
    case("log_random_f32", options=LOG),
    case("log_random_f64", dtype="float64", options=LOG),
    case("axis0_f32", M=40, N=18, options=AXIS0),
    case("axis0_log_f64", M=40, N=18, dtype="float64", options={**AXIS0, **LOG}),
    # 1500-long rows: three tiles of the online kernels (512 wide), the last one partial; the
    # ramp moves the running max into every new tile, so each tile rescales the sum
    case("multi_tile", M=3, N=1500, pattern="ramp"),
    case("multi_tile_log_f64", M=3, N=1500, pattern="ramp", dtype="float64", options=LOG),
    edge("logits_1000", loc=1000.0),  # exp(1000) overflows: naive softmax gives inf/inf
    edge("logits_1000_log", loc=1000.0, options=LOG),
    edge("logits_1000_f64", loc=1000.0, dtype="float64"),
    edge("very_negative", loc=-1000.0),  # exp(-1000) underflows: naive softmax gives 0/0
    edge("very_negative_log", loc=-1000.0, options=LOG),
    # most probabilities underflow to 0 while log-softmax stays finite (float32 below -104,
    # float64 below -745): log(softmax) gives -inf there
    edge("wide_spread", scale=300.0),
    edge("wide_spread_log", scale=300.0, options=LOG),
    edge("wide_spread_log_f64", scale=3000.0, dtype="float64", options=LOG),
    edge("all_neg_inf_rows", pattern="dead"),
    edge("all_neg_inf_rows_zero", pattern="dead", options=ZERO),
    edge("all_neg_inf_rows_log", pattern="dead", options=LOG),
    edge("all_neg_inf_rows_log_zero", pattern="dead", options=LOG_ZERO),
    edge("all_neg_inf_columns_zero", pattern="dead", M=30, N=12, options={**AXIS0, **ZERO}),
    edge("pos_inf", pattern="pos_inf", dtype="float64"),
    edge("pos_inf_log", pattern="pos_inf", options=LOG),
    edge("nan_propagates", pattern="nan", options=ZERO),
    edge("float16", dtype="float16"),
    edge("float16_log", dtype="float16", options=LOG),
    edge("float16_logits_1000", dtype="float16", loc=1000.0),
    edge("row_length_1", M=7, N=1),
    edge("row_length_1_log", M=7, N=1, options=LOG),
    edge("ties", pattern="ties"),
    edge("ties_log_f64", pattern="ties", dtype="float64", options=LOG),
    # one size empty, the other nonzero (an output of the wrong trailing size is caught)
    edge("no_rows", M=0, N=5),
    edge("empty_rows", M=3, N=0),
    edge("empty_axis0", M=0, N=5, options=AXIS0),
    # the stable sigmoid (elementwise): e^x/(1 + e^x) at x ~ +1000 is inf/inf, and the
    # derivative e^-x/(1 + e^-x)^2 at x ~ -1000 likewise; scale 300 puts both signs far out
    case("sigmoid_f32", options=SIG),
    case("sigmoid_f64", dtype="float64", options=SIG),
    edge("sigmoid_logits_1000", loc=1000.0, options=SIG),
    edge("sigmoid_very_negative", loc=-1000.0, options=SIG),
    edge("sigmoid_wide_spread_f64", scale=300.0, dtype="float64", options=SIG),
    # all -inf rows: sigmoid(-inf) = 0, whatever all_neg_inf says (no slice to be dead)
    edge("sigmoid_neg_inf_rows", pattern="dead", options=SIG),
    edge("sigmoid_pos_inf", pattern="pos_inf", dtype="float64", options=SIG),
    edge("sigmoid_nan", pattern="nan", options=SIG),
    edge("sigmoid_no_rows", M=0, N=5, options=SIG),
]
ERRORS = [
    error("axis_out_of_range", ValueError, r"\baxis\b", options={"axis": 2}),
    error("axis_negative_out_of_range", ValueError, r"\baxis\b", options={"axis": -3}),
]
DEFAULTS = {"seed": 5, "dtype": "float32", "M": 24, "N": 50}


def _fuzz(backward: bool) -> Any:
    from hypothesis import strategies as st

    # M, N >= 1: as nested lists (python backend) an empty axis below the first loses N;
    # no_rows and empty_rows cover them. The backward keeps slices of 3 or more, logit
    # spreads of at most 3 and no float16: a slice one-hot to within the tolerance has a VJP
    # the tolerance cannot tell from zeros (a vacuous case); the edge cases cover those.
    params = st.fixed_dictionaries(
        {
            "M": st.integers(1, 12),
            "N": st.integers(3 if backward else 1, 40),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"] + ([] if backward else ["float16"])),
            "loc": st.sampled_from([0.0, 1000.0, -1000.0]),
            "scale": st.sampled_from([0.0, 1.0, 3.0] + ([] if backward else [300.0])),
            "pattern": st.sampled_from(["random", "dead", "ties", "dominant"]),
            **({"gscale": st.sampled_from([1.0, 10.0])} if backward else {}),
        }
    )
    flags = st.fixed_dictionaries(
        {},
        optional={
            "function": st.sampled_from(SoftmaxOptions.flag("function").values),
            "all_neg_inf": st.sampled_from(SoftmaxOptions.flag("all_neg_inf").values),
            "axis": st.sampled_from([-1, 0, 1, -2]),
        },
    )
    return fuzz_cases(params, flags)


def fuzz_strategy() -> Any:
    return _fuzz(backward=False)


def backward_fuzz_strategy() -> Any:
    return _fuzz(backward=True)


CONVENTIONS = (
    "x: (M, N) floating. The softmax runs along `axis` (default -1, the last; 0 the first; "
    "-2 .. 1 accepted, anything else raises ValueError naming the axis). softmax(x)_i = "
    "exp(x_i - max x)/Σ_j exp(x_j - max x) and log-softmax = (x - max x) - log Σ exp(x - max x) "
    "(function='log_softmax'), never log(softmax): it stays finite where the probability "
    "underflows. function='sigmoid' is the elementwise stable sigmoid, 1/(1 + e^-x) for "
    "x >= 0 and e^x/(1 + e^x) otherwise (no overflow at ±1000; sigmoid(±inf) = 1 or 0, NaN "
    "stays NaN; axis is still checked, all_neg_inf does not apply). Logits of ±1000 are fine "
    "in float32. A slice whose entries are all -inf "
    "gives NaN (all_neg_inf='nan', torch and scipy) or zeros ('zero'); an empty slice gives an "
    "empty output. A +inf entry makes its whole slice NaN (inf - inf), as does a NaN entry. "
    "The output has x's dtype; float16 may be computed in float32 and rounded once. "
    "Raises ValueError for x not 2-D, TypeError for an integer x."
)

SUITE = Suite(
    algorithm="softmax_stable_and_gradients",
    family="attention-and-layers",
    summary="Softmax or log-softmax of x (M, N) along one axis, max-subtracted, or the stable "
    "sigmoid elementwise -> (M, N).",
    conventions=CONVENTIONS,
    args=ARGS,
    options=SoftmaxOptions,
    make_inputs=make_inputs,
    oracle=softmax_stable_and_gradients,
    compare=Close(override=tolerance),
    cost=cost,
    defaults=DEFAULTS,
    cases=[
        *COMMON,
        # a row of a million: one slice, several thousand tiles
        edge("one_row_1e6", M=1, N=1_000_000),
    ],
    errors=ERRORS,
    bench={
        "smoke": [bench("bench_tiny", M=16, N=256)],
        # The spec's standard, 4096 x 32000 float32 (0.5 GB in, 1 GB for the float64 oracle),
        # takes seconds per call on two cores. Both modes share the algorithm's 6 s of the
        # quick profile (harness.budget): 512 x 4096 (4096-wide rows, 8 MB) is the standard,
        # and "full" has 1024 x 4096 and the spec's size.
        "quick": [bench("bench_512x4096", M=512, N=4096)],
        "full": [
            bench("bench_1024x4096", M=1024, N=4096),
            bench("bench_spec_standard", M=4096, N=32000),
            bench("bench_row_1e6", M=1, N=1_000_000),
        ],
    },
    standard="bench_512x4096",
    multi_block={"N": 1500},
    fuzz=fuzz_strategy,
    reference="scipy.special.softmax / log_softmax; torch.nn.functional.softmax / log_softmax",
)

BACKWARD_SUITE = Suite(
    algorithm="softmax_stable_and_gradients.backward",
    mode="backward",
    family="attention-and-layers",
    summary="VJP of softmax / log-softmax / sigmoid of x (M, N) with upstream gradient g "
    "(M, N) -> (M, N).",
    conventions=CONVENTIONS.replace("x: (M, N) floating.", "x, g: (M, N), one floating dtype.")
    + " Backward: s·(g - <g, s>) for softmax, g - s·Σg for log-softmax, per slice, "
    "g·σ·(1 - σ) for sigmoid (no overflow at ±1000); a slice "
    "that is all -inf gives NaN or zeros as in the forward. The forward may run outside the "
    "timed call (implementations register prepare=True). Raises ValueError when g's shape "
    "differs from x's, TypeError when their dtypes differ.",
    args=BACKWARD_ARGS,
    options=SoftmaxOptions,
    make_inputs=make_backward_inputs,
    oracle=softmax_stable_and_gradients_backward,
    compare=Close(override=backward_tolerance),
    cost=backward_cost,
    defaults=DEFAULTS,
    cases=[
        *COMMON,
        # s nearly one-hot: v_0 = s_0·(g_0 - <g, s>) cancels to ~0 (a VJP without <g, s> fails)
        edge("dominant", pattern="dominant", scale=1.0),
        edge("large_upstream_gradient", gscale=1e3, dtype="float64", options=LOG),
    ],
    errors=[
        *ERRORS,
        error("g_other_dtype", TypeError, r"\bg\b", dtype_g="float64"),
    ],
    outputs=("grad",),
    bench={
        "smoke": [bench("bench_tiny", M=16, N=256)],
        "quick": [bench("bench_512x4096", M=512, N=4096)],  # as the forward's
        "full": [
            bench("bench_1024x4096", M=1024, N=4096),
            bench("bench_spec_standard", M=4096, N=32000),
        ],
    },
    standard="bench_512x4096",
    multi_block={"N": 1500},
    fuzz=backward_fuzz_strategy,
    reference="torch autograd of F.softmax / F.log_softmax (graph built outside the timing)",
)

SUITES = [SUITE, BACKWARD_SUITE]

"""Suites for custom_backward_ste: a straight-through estimator, i.e. a custom autograd
Function whose forward is not differentiable (round, sign, argmax one-hot) and whose backward
is a surrogate (the identity, or the identity masked to |x| <= 1).

Two modes, one suite each: the forward quantiser, and the backward (the surrogate gradient
given x and the upstream gradient g; any graph is built outside the timing). Both are exact:
every output value is an input value, 0, +-1 or an integer, so they compare bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class SteForwardOptions(Options):
    function: str = option(
        "round",
        "sign",
        "argmax_onehot",
        meaning="round half to even (torch.round); sign; one-hot of each row's first maximum",
    )
    sign_zero: str = option(
        "zero",
        "plus_one",
        meaning="sign(0) = 0 (torch.sign) or +1 (binarisation x >= 0 -> +1, BinaryConnect)",
    )


@dataclass(frozen=True)
class SteBackwardOptions(Options):
    surrogate: str = option(
        "identity", "clipped", meaning="dx = g, or dx = g where |x| <= 1 and 0 elsewhere"
    )
    at_one: str = option(
        "pass",
        "block",
        meaning="clipped at |x| = 1 exactly: the gradient passes (|x| <= 1, torch.clamp's "
        "gradient) or is blocked (|x| < 1, F.hardtanh's gradient)",
    )


ARGS = Args(Arg("x", ("M", "N"), "float"))
BACKWARD_ARGS = Args(Arg("x", ("M", "N"), "float"), Arg("g", ("M", "N"), "float"),
                     same_dtype=("x", "g"))  # fmt: skip


def check_forward(x: Any) -> Any:
    """The one-line input check of the forward: ARGS (x is (M, N) floating)."""
    return ARGS.check(x)


def check_backward(x: Any, g: Any) -> Any:
    """The one-line input check of the backward: x and g (M, N), one floating dtype."""
    return BACKWARD_ARGS.check(x, g)


def custom_backward_ste(x: Any, opts: SteForwardOptions) -> Any:
    """Oracle, float64 element by element in NumPy: round half to even (np.round), sign with
    the chosen sign(0), or the one-hot of each row's first maximum (a NaN counts as the
    maximum, as in torch.argmax and np.argmax)."""
    check_forward(x)
    z = np.asarray(x, dtype=np.float64)
    if opts.function == "round":
        return np.round(z)
    if opts.function == "sign":
        s = np.sign(z)  # NaN stays NaN (torch.sign gives 0 on CPU: implementations fix it)
        if opts.sign_zero == "plus_one":
            s[z == 0] = 1.0
        return s
    out = np.zeros_like(z)
    if z.shape[1]:
        out[np.arange(z.shape[0]), np.argmax(z, axis=1)] = 1.0
    return out


def custom_backward_ste_backward(x: Any, g: Any, opts: SteBackwardOptions) -> Any:
    """Oracle: dx = g (identity), or g selected inside the mask and 0 elsewhere; a select, not
    a product, so inf or NaN in g outside the mask gives 0. The mask is |x| <= 1 for
    at_one='pass' (torch.clamp's gradient), |x| < 1 for 'block' (F.hardtanh's); a NaN x is
    outside both (torch's hardtanh gradient lets NaN through in its scalar tail only)."""
    check_backward(x, g)
    z, gz = np.asarray(x, dtype=np.float64), np.asarray(g, dtype=np.float64)
    if opts.surrogate == "identity":
        return gz.copy()
    inside = np.abs(z) <= 1.0 if opts.at_one == "pass" else np.abs(z) < 1.0
    return np.where(inside, gz, 0.0)


# Every case mixes in the values the conventions split on, so none is decided by chance:
# half-integers (half to even vs away from zero), exact +-1 (the mask's edge), exact 0 (sign).
HALVES = np.array([-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5])
SPECIAL = np.array([1.0, -1.0, 0.0, -0.0])


def _x(case: Case, rng: np.random.Generator) -> np.ndarray:
    p = case.params
    m, n = int(p["M"]), int(p["N"])
    z = float(p.get("scale", 2.0)) * rng.standard_normal((m, n))
    flat = z.reshape(-1)
    if flat.size:
        pos = rng.permutation(flat.size)
        k = max(flat.size // 6, 1)
        flat[pos[:k]] = rng.choice(HALVES, k)  # a sixth half-integers
        flat[pos[k : 2 * k]] = rng.choice(SPECIAL, len(pos[k : 2 * k]))  # a sixth +-1, +-0
    pattern = p.get("pattern", "random")
    if pattern == "near_half" and flat.size:  # k + 0.5 -+ 1e-9: float32 makes them k + 0.5
        flat[::2] = rng.choice(HALVES, flat[::2].size) + rng.choice([-1e-9, 1e-9], flat[::2].size)
    elif pattern == "near_one" and flat.size:  # +-(1 + 1e-12), +-(1 - 1e-12): float32 gives 1
        flat[::2] = rng.choice([-1.0, 1.0], flat[::2].size) * (
            1.0 + rng.choice([-1e-12, 1e-12], flat[::2].size)
        )
    elif pattern == "nonfinite" and m >= 3 and n >= 3:  # NaN and +-inf, a NaN row for argmax
        z[0, 1], z[1, 0], z[2, 2] = np.nan, np.inf, -np.inf
    elif pattern == "ties" and n >= 2:  # rows whose maximum appears two or three times
        z[:, n - 1] = z.max(axis=1) if n else 0.0
        z[::2, 0] = z[::2, n - 1]
    elif pattern == "constant":  # every row constant: argmax's first index
        z[:] = 0.5
    elif pattern == "ramp":  # the row maximum at the row's end, past any first tile
        z += np.linspace(0.0, 50.0, n)
    return z


def make_inputs(case: Case) -> Inputs:
    return {"x": _x(case, np.random.default_rng(case.seed)).astype(case.dtype)}


def make_backward_inputs(case: Case) -> Inputs:
    x = make_inputs(case)["x"]
    g = np.random.default_rng([case.seed, 1]).standard_normal(x.shape)
    if case.params.get("pattern") == "nonfinite" and g.size >= 4:
        g.reshape(-1)[[1, 3]] = [np.inf, np.nan]  # where |x| > 1 too: a select zeroes them
    if "g_shape" in case.params:
        g = np.ones(tuple(case.params["g_shape"]))
    return {"x": x, "g": g.astype(case.params.get("dtype_g", case.dtype))}


def cost(case: Case) -> Cost:
    """Forward: one compare-or-round per element; x read, y written (2b per element)."""
    n = int(case.params["M"]) * int(case.params["N"])
    b = np.dtype(case.dtype).itemsize
    return Cost(flops=1.0 * n, bytes=2.0 * b * n, items=n, item_unit="elements")


def backward_cost(case: Case) -> Cost:
    """Backward: |x|, a compare and a select per element; x and g read, dx written (3b)."""
    n = int(case.params["M"]) * int(case.params["N"])
    b = np.dtype(case.dtype).itemsize
    return Cost(flops=3.0 * n, bytes=3.0 * b * n, items=n, item_unit="elements")


def _exact(case: Case) -> Tolerance:
    return Tolerance(0.0, 0.0, "exact: outputs are integers, +-1, 0 or copies of g")


F64, SIGN, ONEHOT, PLUS = (
    "float64",
    {"function": "sign"},
    {"function": "argmax_onehot"},
    {"sign_zero": "plus_one"},
)
CLIP, BLOCK = {"surrogate": "clipped"}, {"surrogate": "clipped", "at_one": "block"}
DEFAULTS = {"seed": 11, "dtype": "float32", "M": 24, "N": 40}

FORWARD_CASES = [
    case("round_f32"),
    case("round_f64", dtype=F64),
    case("sign_f32", options=SIGN),
    case("sign_plus_one_f64", dtype=F64, options={**SIGN, **PLUS}),
    case("onehot_f32", options=ONEHOT),
    case("onehot_f64", dtype=F64, options=ONEHOT),
    # 300-wide rows: past a 256-wide tile of a blocked argmax, the maximum at the end
    case("onehot_multi_block", M=5, N=300, pattern="ramp", options=ONEHOT),
    case("round_multi_block", M=3, N=300),
    edge("round_near_half_f64", dtype=F64, pattern="near_half"),
    edge("sign_near_zero_plus_one", options={**SIGN, **PLUS}, scale=1e-30),
    edge("round_nonfinite", pattern="nonfinite"),
    edge("sign_nonfinite", pattern="nonfinite", options=SIGN),
    edge("onehot_nonfinite", pattern="nonfinite", options=ONEHOT),
    edge("onehot_ties", pattern="ties", options=ONEHOT),
    edge("onehot_constant_rows", pattern="constant", options=ONEHOT),
    edge("onehot_row_length_1", M=7, N=1, options=ONEHOT),
    edge("round_float16", dtype="float16"),
    edge("round_large", scale=1e7, dtype=F64),  # past 2**23: float32 would round them itself
    edge("no_rows", M=0, N=5),
    edge("empty_rows", M=3, N=0),
    edge("onehot_empty_rows", M=3, N=0, options=ONEHOT),
]
BACKWARD_CASES = [
    case("identity_f32"),
    case("identity_f64", dtype=F64),
    case("clipped_f32", options=CLIP),
    case("clipped_f64", dtype=F64, options=CLIP),
    case("clipped_block_f32", options=BLOCK),
    case("clipped_block_f64", dtype=F64, options=BLOCK),
    case("clipped_multi_block", M=3, N=300, options=CLIP),
    edge("clipped_near_one_f64", dtype=F64, pattern="near_one", options=CLIP),
    edge("clipped_block_near_one_f64", dtype=F64, pattern="near_one", options=BLOCK),
    edge("clipped_nonfinite", pattern="nonfinite", options=CLIP),
    edge("clipped_block_nonfinite", pattern="nonfinite", options=BLOCK),
    edge("identity_nonfinite", pattern="nonfinite"),
    edge("clipped_float16", dtype="float16", options=CLIP),
    edge("no_rows", M=0, N=5, options=CLIP),
    edge("empty_rows", M=3, N=0, options=CLIP),
]
BACKWARD_ERRORS = [
    error("g_other_shape", ValueError, r"\bg\b", g_shape=[24, 41]),
    error("g_transposed", ValueError, r"\bg\b", g_shape=[40, 24]),
    error("g_other_dtype", TypeError, r"\bg\b", dtype_g="float64"),
]


def _fuzz(backward: bool) -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "M": st.integers(1, 9),
            "N": st.integers(1, 40),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "scale": st.sampled_from([0.5, 2.0, 100.0]),
            "pattern": st.sampled_from(
                ["random", "nonfinite", "near_one"]
                if backward
                else ["random", "nonfinite", "ties", "near_half", "constant"]
            ),
        }
    )
    options = (SteBackwardOptions if backward else SteForwardOptions).strategy()
    return fuzz_cases(params, options)


def fuzz_strategy() -> Any:
    return _fuzz(backward=False)


def backward_fuzz_strategy() -> Any:
    return _fuzz(backward=True)


# The spec's standard is 3.4e7 elements (8192 x 4096); with the float64 oracle and the
# inputs that takes seconds per call on two cores, past the algorithm's 6 s of the quick
# profile (both modes). 2048 x 2048 (4.2e6) is the standard here; "full" has the spec's
# standard and large (2.7e8) sizes.
BENCH = {
    "smoke": [bench("bench_tiny", M=16, N=256)],
    "quick": [bench("bench_2048x2048", M=2048, N=2048)],
    "full": [
        bench("bench_8192x4096", M=8192, N=4096),
        bench("bench_32768x8192", M=32768, N=8192),
    ],
}

CONVENTIONS = (
    "x: (M, N) floating. function='round': round half to even (torch.round, np.round: "
    "0.5 -> 0, 1.5 -> 2, -2.5 -> -2), never half away from zero; 'sign': -1, 0, +1 with "
    "sign(0) = 0 (sign_zero='zero', torch.sign) or +1 ('plus_one', binarisation); "
    "'argmax_onehot': per row, 1 at the first maximum (a NaN counts as the maximum) and 0 "
    "elsewhere. NaN propagates through round and sign (torch.sign's 0 for NaN is wrong here); "
    "+-inf rounds to itself. The output has x's dtype. Inputs are never modified."
)

SUITE = Suite(
    algorithm="custom_backward_ste",
    family="training-math",
    summary="Forward of a straight-through estimator: round, sign or row argmax one-hot of "
    "x (M, N) -> (M, N).",
    conventions=CONVENTIONS,
    args=ARGS,
    options=SteForwardOptions,
    make_inputs=make_inputs,
    oracle=custom_backward_ste,
    compare=Close(override=_exact),
    cost=cost,
    defaults=DEFAULTS,
    cases=FORWARD_CASES,
    bench=BENCH,
    standard="bench_2048x2048",
    multi_block={"N": 300},
    fuzz=fuzz_strategy,
    backends=("torch_cpu", "torch_cuda", "library"),
    reference="torch.round / torch.sign / F.one_hot(argmax) (the analytic forward)",
)

BACKWARD_SUITE = Suite(
    algorithm="custom_backward_ste.backward",
    mode="backward",
    family="training-math",
    summary="Surrogate gradient of a straight-through estimator: dx from x and the upstream "
    "gradient g (M, N) -> (M, N).",
    conventions="x, g: (M, N), one floating dtype. surrogate='identity': dx = g whatever the "
    "forward (round, sign, one-hot); 'clipped': dx = g where |x| <= 1 (at_one='pass', the "
    "gradient of torch.clamp(x, -1, 1)) or |x| < 1 ('block', F.hardtanh's gradient), else 0. "
    "A select, not g*mask: inf or NaN in g outside the mask gives 0; a NaN x is outside. "
    "Implementations may build an autograd graph outside the timed call (prepare=True). "
    "Raises ValueError when g's shape differs from x's, TypeError when their dtypes differ.",
    args=BACKWARD_ARGS,
    options=SteBackwardOptions,
    make_inputs=make_backward_inputs,
    oracle=custom_backward_ste_backward,
    compare=Close(override=_exact),
    cost=backward_cost,
    defaults=DEFAULTS,
    cases=BACKWARD_CASES,
    errors=BACKWARD_ERRORS,
    outputs=("grad",),
    bench=BENCH,
    standard="bench_2048x2048",
    multi_block={"N": 300},
    fuzz=backward_fuzz_strategy,
    backends=("torch_cpu", "torch_cuda", "library"),
    reference="torch autograd of the detach trick x_c + (q(x) - x_c).detach(), x_c = x or "
    "torch.clamp(x, -1, 1) (F.hardtanh for at_one='block')",
)

SUITES = [SUITE, BACKWARD_SUITE]

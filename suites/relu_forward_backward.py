"""Suites for relu_forward_backward: y = max(0, x), and its backward dL/dx = g·[x > 0].

Two modes, one suite each. Forward: NaN propagates (np.maximum, torch.relu) or becomes 0
(np.where(x > 0, x, 0)); integer tensors are allowed. Backward: the upstream gradient g where
x > 0 and 0 elsewhere, selected rather than multiplied (torch's threshold_backward: a NaN or
inf g where x <= 0 gives 0, not NaN), with the gradient at x = 0 a flag (0 as torch, or 1). Like
torch, the mask drops x <= 0: a NaN x passes its g through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class ReluOptions(Options):
    nan: str = option(
        "propagate",
        "zero",
        meaning="relu(NaN): NaN (np.maximum, torch.relu, x·(x > 0)) or 0 (np.where(x > 0, x, 0))",
    )


@dataclass(frozen=True)
class ReluBackwardOptions(Options):
    grad_at_zero: str = option(
        "zero",
        "one",
        meaning="the gradient's mask at x = 0 exactly: 0 (x > 0, torch) or 1 (x >= 0)",
    )


ARGS = Args(Arg("x", ("N", "*S"), "real", star=(0, 3)))
BACKWARD_ARGS = Args(
    Arg("x", ("N", "*S"), "float", star=(0, 3)),
    Arg("g", ("N", "*S"), "float", star=(0, 3)),
    same_dtype=("x", "g"),
)


def check_backward(x: Any, g: Any) -> Any:
    """BACKWARD_ARGS, then g's full shape against x's (the starred axes bind no symbol)."""
    dtype = BACKWARD_ARGS.check(x, g)
    if tuple(np.shape(x)) != tuple(np.shape(g)):
        raise ValueError(f"g must have x's shape {tuple(np.shape(x))}, got {tuple(np.shape(g))}")
    return dtype


def relu_forward_backward(x: Any, opts: ReluOptions) -> Any:
    """Oracle: max(0, x) elementwise in x's dtype (exact); NaN kept or zeroed."""
    ARGS.check(x)
    a = np.asarray(x)
    out = np.where(a > 0, a, np.zeros((), a.dtype))
    if opts.nan == "propagate" and a.dtype.kind == "f":
        out = np.where(np.isnan(a), a, out)
    return out


def relu_backward(x: Any, g: Any, opts: ReluBackwardOptions) -> Any:
    """Oracle: 0 where x <= 0 (x < 0 with grad_at_zero='one'), g elsewhere (NaN x too, as
    torch's threshold_backward); exact."""
    check_backward(x, g)
    a, b = np.asarray(x), np.asarray(g)
    drop = a <= 0 if opts.grad_at_zero == "zero" else a < 0
    return np.where(drop, np.zeros((), b.dtype), b)


def _shape(case: Case) -> tuple[int, ...]:
    return (int(case.params["N"]), *(int(s) for s in case.params.get("S", (5, 3))))


def _values(case: Case, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """N(0, 1) values; 'special' patterns put exact zeros, -0.0, ±inf and NaN on a stride;
    'tiny' values ±1e-200 (a float32 rounding makes them ±0: the threshold moves)."""
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    pattern = case.params.get("pattern", "random")
    if pattern == "special":
        flat[0::7], flat[1::7], flat[2::7] = 0.0, -0.0, np.nan
        flat[3::7], flat[4::7] = np.inf, -np.inf
    elif pattern == "zeros":
        flat[0::3] = 0.0
    elif pattern == "tiny":
        flat[0::2] *= 1e-200
    elif pattern == "positive":  # nothing to clip: y equals x (and must still be new memory)
        x = np.abs(x) + 0.1
    return x


def make_inputs(case: Case) -> Inputs:
    rng = np.random.default_rng(case.seed)
    shape = _shape(case)
    if np.dtype(case.dtype).kind in "iu":
        return {"x": rng.integers(-50, 50, shape).astype(case.dtype)}
    return {"x": _values(case, rng, shape).astype(case.dtype)}


def make_backward_inputs(case: Case) -> Inputs:
    rng = np.random.default_rng(case.seed)
    shape = _shape(case)
    x = _values(case, rng, shape)
    g = 3.0 * rng.standard_normal(shape)
    if case.params.get("g_pattern") == "special":  # NaN and inf upstream, where x <= 0 too
        g.reshape(-1)[0::5], g.reshape(-1)[1::5] = np.nan, np.inf
    if "g_shape" in case.params:  # the error case: g not shaped like x
        g = rng.standard_normal(tuple(case.params["g_shape"]))
    return {"x": x.astype(case.dtype), "g": g.astype(case.dtype)}


def cost(case: Case) -> Cost:
    """1 comparison per element; x read and y written (2b per element). Bytes-bound."""
    n, b = math.prod(_shape(case)), np.dtype(case.dtype).itemsize
    return Cost(float(n), 2.0 * b * n, n, "elements")


def backward_cost(case: Case) -> Cost:
    """1 comparison and 1 select per element; x and g read, dx written (3b per element)."""
    n, b = math.prod(_shape(case)), np.dtype(case.dtype).itemsize
    return Cost(2.0 * n, 3.0 * b * n, n, "elements")


def _exact(case: Case) -> Tolerance:
    return Tolerance(0.0, 0.0, "exact: a ReLU copies or zeroes each value, no rounding")


F64, ZERO_NAN, GRAD_ONE = "float64", {"nan": "zero"}, {"grad_at_zero": "one"}

COMMON = [
    case("random_2d", N=40, S=(7,)),
    case("random_4d_f64", N=6, S=(5, 4, 3), dtype=F64),
    case("flat", N=200, S=()),
    # 600 x 700 = 420,000 elements: past a 64K-element chunk and many 256-thread blocks
    case("multi_block", N=600, S=(700,)),
    edge("zeros", pattern="zeros", N=30, S=(6,)),
    edge("tiny_f64", pattern="tiny", N=30, S=(6,), dtype=F64),
    edge("empty_batch", N=0, S=(5, 3)),
    edge("empty_trailing", N=6, S=(0, 3)),
]
FORWARD_CASES = [
    *COMMON,
    case("zero_nan_f64", N=12, S=(9,), pattern="special", dtype=F64, options=ZERO_NAN),
    edge("special", pattern="special", N=14, S=(5,)),
    edge("special_zero_nan", pattern="special", N=14, S=(5,), options=ZERO_NAN),
    edge("all_positive", pattern="positive", N=9, S=(4,)),
    edge("int32", N=20, S=(6,), dtype="int32"),
    edge("int64_zero_nan", N=20, S=(6,), dtype="int64", options=ZERO_NAN),
]
BACKWARD_CASES = [
    *COMMON,
    case("grad_at_zero_one_f64", N=12, S=(9,), pattern="zeros", dtype=F64, options=GRAD_ONE),
    edge("special", pattern="special", N=14, S=(5,)),
    edge("special_grad_one", pattern="special", N=14, S=(5,), options=GRAD_ONE),
    edge("nan_inf_upstream", pattern="special", g_pattern="special", N=14, S=(5,)),
]
DEFAULTS = {"seed": 47, "dtype": "float32"}


def _fuzz(options: Any, backward: bool) -> Any:
    from hypothesis import strategies as st

    dtypes = ["float32", "float64"] + ([] if backward else ["int32"])
    params = st.fixed_dictionaries(
        {
            "N": st.integers(0, 20),
            "S": st.sampled_from([(), (3,), (2, 4), (0, 2)]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(dtypes),
            "pattern": st.sampled_from(["random", "special", "zeros", "tiny"]),
        }
    )
    return fuzz_cases(params, options.strategy(optional=True))  # fmt: skip


def fuzz_strategy() -> Any:
    return _fuzz(ReluOptions, backward=False)


def backward_fuzz_strategy() -> Any:
    return _fuzz(ReluBackwardOptions, backward=True)


CONVENTIONS = (
    "x: (N, *S) with 0 to 3 further axes, floating or integer. y = max(0, x) in x's dtype, "
    "exactly; -0.0 may come out as 0.0 or -0.0 (they compare equal); +inf stays, -inf gives "
    "0. nan='propagate': NaN stays NaN (torch.relu, np.maximum); 'zero': NaN gives 0 "
    "(np.where(x > 0, x, 0), np.fmax). Empty inputs give empty outputs; x is never modified "
    "(an in-place ReLU belongs to autograd graphs, not to this call). ValueError: x with more "
    "than 4 axes or none; TypeError: a bool x."
)
BACKWARD_CONVENTIONS = (
    "x, g: (N, *S) of one floating dtype (integer x has no gradient: TypeError). dx = 0 where "
    "x <= 0 (grad_at_zero='zero', torch), or where x < 0 ('one'), and g elsewhere: a NaN x "
    "passes g through, as torch's threshold_backward (where(x <= 0, 0, g)) does. The mask "
    "selects rather than multiplies: a NaN or inf in g where x is dropped gives 0, "
    "g·[x > 0] would give NaN. Exact; dx has g's dtype. ValueError: g of another shape "
    "than x."
)

SUITE = Suite(
    algorithm="relu_forward_backward",
    family="attention-and-layers",
    summary="ReLU y = max(0, x) of (N, *S), NaN propagated or zeroed, integers allowed.",
    conventions=CONVENTIONS,
    args=ARGS,
    options=ReluOptions,
    make_inputs=make_inputs,
    oracle=relu_forward_backward,
    compare=Close(override=_exact),
    cost=cost,
    defaults=DEFAULTS,
    cases=FORWARD_CASES,
    bench={
        "smoke": [bench("bench_8x16x16x16", N=8, S=(16, 16, 16))],
        # the spec's standard 3.4e7 elements (32x64x128x128) is in "full": both modes share
        # the quick profile's 6 s (two Numba compiles take half of it), so the quick standard
        # is a sixteenth of it, 2.1e6
        "quick": [bench("bench_2x64x128x128", N=2, S=(64, 128, 128))],
        "full": [bench("bench_32x64x128x128", N=32, S=(64, 128, 128))],
    },
    standard="bench_2x64x128x128",
    multi_block={"N": 600},
    near_threshold=("tiny_f64",),
    fuzz=fuzz_strategy,
    reference="torch.relu / F.relu",
)

BACKWARD_SUITE = Suite(
    algorithm="relu_forward_backward.backward",
    mode="backward",
    family="attention-and-layers",
    summary="ReLU's backward dx = where(x <= 0, 0, g) (gradient at 0 declared) of (N, *S).",
    conventions=BACKWARD_CONVENTIONS,
    args=BACKWARD_ARGS,
    options=ReluBackwardOptions,
    make_inputs=make_backward_inputs,
    oracle=relu_backward,
    compare=Close(override=_exact),
    cost=backward_cost,
    defaults=DEFAULTS,
    cases=BACKWARD_CASES,
    errors=[error("g_other_shape", ValueError, r"\bg\b", N=4, S=(5, 3), g_shape=(4, 15))],
    outputs=("dx",),
    bench={
        "smoke": [bench("bench_8x16x16x16", N=8, S=(16, 16, 16))],
        "quick": [bench("bench_2x64x128x128", N=2, S=(64, 128, 128))],  # as the forward's
        "full": [bench("bench_32x64x128x128", N=32, S=(64, 128, 128))],
    },
    standard="bench_2x64x128x128",
    multi_block={"N": 600},
    near_threshold=("tiny_f64",),
    fuzz=backward_fuzz_strategy,
    reference="torch autograd of F.relu (and of F.relu(inplace=True) on a non-leaf)",
)

SUITES = [SUITE, BACKWARD_SUITE]

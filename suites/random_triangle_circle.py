"""Suite for random_triangle_circle: is the triangle of three random points on a circle acute?

Three points on a circle, given by their angles in degrees (shared draws, one row a sample),
form an acute triangle exactly when the circle's centre lies inside it, that is when every
arc between consecutive points (sorted by angle) is shorter than half the circle. For
independent uniform angles P(acute) = 1/4, P(obtuse) = 3/4 and P(right) = 0; the tests hold
the oracle's estimate to those exact values and to an independent largest-angle test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, Arg, Args, Rule
from harness.cases import bench, case, edge, error
from harness.comparators import Exact
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite

ACUTE, OBTUSE, RIGHT, DEGENERATE = 0, 1, 2, 3


@dataclass(frozen=True)
class TriangleOptions(Options):
    special: str = option(
        "own_class",
        "not_acute",
        meaning="own_class: a right triangle (an arc of exactly 180 degrees) is class 2 and a "
        "degenerate one (two coincident points) class 3; not_acute: both count as obtuse "
        "(class 1), the rule 'acute iff every arc < 180, otherwise obtuse'",
    )


def _outside(x: np.ndarray) -> np.ndarray:
    y = x.copy()
    y.reshape(-1)[y.size // 2] = 360.0
    return y


IN_RANGE = Rule("angles in [0, 360) degrees", lambda xp, x: (x < 0) | (x >= 360), _outside)

ARGS = Args(Arg("angles", ("N", 3), "float", rules=(NO_NAN, IN_RANGE)), nonempty=("N",))


def random_triangle_circle(angles: Any, opts: TriangleOptions) -> np.ndarray:
    """Oracle: sort each row, take the float64 differences d1 = b - a, d2 = c - b and
    d3 = c - a (the third arc, 360 - d3, is < 180 iff d3 > 180; it is never formed, so one
    rounding decides every comparison), then classify. Returns int8 (N,)."""
    ARGS.check(angles)
    a, b, c = np.sort(np.asarray(angles, dtype=np.float64), axis=1).T
    d1, d2, d3 = b - a, c - b, c - a
    acute = (d1 < 180) & (d2 < 180) & (d3 > 180)
    right = (d1 == 180) | (d2 == 180) | (d3 == 180)
    degenerate = (d1 == 0) | (d2 == 0)
    out = np.full(a.shape, OBTUSE, dtype=np.int8)
    out[acute] = ACUTE
    if opts.special == "own_class":
        out[right] = RIGHT
        out[degenerate] = DEGENERATE  # before right: a coincident pair has no angle at all
    return out


# ---- inputs ----------------------------------------------------------------------------------


def make_inputs(case: Case) -> Inputs:
    """Angles in [0, 360). float32 draws are made in float32 (multiples of 2^-39 at least,
    so their float64 differences are exact); 'degrees' are whole degrees (right triangles
    and coincident points happen); 'coincident' repeats one point of some rows; 'near_tie'
    puts an arc 1e-9 degree either side of 180 (float32 rounding makes it exactly 180);
    'wrap' puts two points within 100 degrees either side of 0 (the arc across 0 decides)."""
    p, rng = case.params, np.random.default_rng(case.seed)
    n, dtype = int(p["n"]), np.dtype(case.dtype)
    pattern = str(p.get("pattern", "random"))
    x = (rng.random((n, 3), dtype=dtype) * dtype.type(360)).astype(np.float64)
    if pattern == "degrees":
        x = rng.integers(0, 360, (n, 3)).astype(np.float64)
    elif pattern == "coincident":
        rows = rng.random(n) < 0.3
        x[rows, 1] = x[rows, 0]
        x[rows, 2] = np.where(rng.random(int(rows.sum())) < 0.2, x[rows, 0], x[rows, 2])
        x[:8:2] = rng.integers(0, 360, (4, 1)).astype(np.float64)  # all three coincide
    elif pattern == "near_tie":
        base = rng.integers(1, 170, n).astype(np.float64)
        off = rng.choice([-1e-9, 0.0, 1e-9], n)
        x[:, 0] = base + off
        x[:, 1] = base + 180.0
        x[:, 2] = (base + 180.0 + rng.uniform(-150, 150, n)) % 360.0
    elif pattern == "wrap":
        x[:, :2] = rng.uniform(-100.0, 100.0, (n, 2)) % 360.0
        x[:, 2] = rng.uniform(100.0, 260.0, n)
    x = np.minimum(x, np.nextafter(360.0, 0.0))
    perm = rng.permuted(np.tile(np.arange(3), (n, 1)), axis=1)  # no order within a row
    return {"angles": np.take_along_axis(x, perm, axis=1).astype(dtype)}


def cost(case: Case) -> Cost:
    """Per sample: a 3-element sorting network (3 compare-exchanges, 6 operations), three
    differences, about nine comparisons and the class select (~20 in all); bytes: three
    angles read and one int8 label written."""
    n = int(case.params["n"])
    b = np.dtype(case.dtype).itemsize
    return Cost(20.0 * n, (3.0 * b + 1.0) * n, n, "triangles")


# ---- cases -----------------------------------------------------------------------------------

NOT_ACUTE = {"special": "not_acute"}

CASES = [
    case("random_f32", n=2000),
    case("random_f64", n=2000, dtype="float64"),
    case("random_not_acute", n=1000, dtype="float64", options=NOT_ACUTE),
    # 700 rows: a blocked or threaded kernel must classify past its first 256 or 512
    case("multi_block", n=700),
    case("near_tie_f64", n=600, pattern="near_tie", dtype="float64"),
]

EDGES = [
    edge("one_sample", n=1, dtype="float64"),
    edge("whole_degrees", n=3000, pattern="degrees", dtype="float64"),
    edge("whole_degrees_not_acute", n=3000, pattern="degrees", options=NOT_ACUTE),
    edge("coincident", n=400, pattern="coincident", dtype="float64"),
    edge("coincident_not_acute", n=400, pattern="coincident", options=NOT_ACUTE),
    edge("near_tie_not_acute", n=600, pattern="near_tie", dtype="float64", options=NOT_ACUTE),
    edge("wrap_around_zero", n=1500, pattern="wrap", dtype="float64"),
    edge("wrap_around_zero_f32", n=1500, pattern="wrap"),
]

# the spec's "n <= 0 must raise": no draws at all is refused, never an empty answer
ERRORS = [error("no_samples", ValueError, r"N=0", n=0)]

BENCH = {
    "smoke": [bench("bench_1e5", n=100_000)],
    "quick": [bench("bench_1e7", n=10_000_000)],
    "full": [bench("bench_1e8", n=100_000_000)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "pattern": st.sampled_from(["random", "degrees", "coincident", "near_tie", "wrap"]),
        }
    )
    return st.builds(
        lambda n, p, o: Case("fuzz", {"n": n, **p}, o, "fuzz"),
        st.integers(1, 60),
        params,
        TriangleOptions.strategy(),
    )


SUITE = Suite(
    algorithm="random_triangle_circle",
    family="puzzles",
    summary="Classify the triangle of three points on a circle, given by their angles in "
    "degrees: acute (0), obtuse (1), right (2) or degenerate (3), one label per row.",
    conventions=(
        "random_triangle_circle(angles, opts) -> int8 (N,). angles: (N, 3) float32 or float64 "
        "degrees in [0, 360), in any order within a row (a value outside, NaN or inf is a "
        "ValueError; N = 0 is a ValueError). Each row is sorted, a <= b <= c, and compared "
        "in float64 (float32 angles widened first) through the differences d1 = b - a, "
        "d2 = c - b, d3 = c - a: acute iff d1 < 180, d2 < 180 and d3 > 180 (the arc across "
        "0, 360 - d3, shorter than 180). special 'own_class' (default): degenerate (3) if "
        "d1 == 0 or d2 == 0 (coincident points), else right (2) if any of d1, d2, d3 equals "
        "180, else acute (0) or obtuse (1); 'not_acute': everything not acute is 1. The "
        "angles are never written."
    ),
    args=ARGS,
    options=TriangleOptions,
    make_inputs=make_inputs,
    oracle=random_triangle_circle,
    compare=Exact("int8"),
    cost=cost,
    defaults={"seed": 31, "dtype": "float32"},
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    bench=BENCH,
    standard="bench_1e7",
    outputs=("label",),
    multi_block={"N": 700},
    near_threshold=("near_tie_f64",),
    backends=("python", "numpy", "numba", "torch_cpu", "torch_cuda", "cupy"),
    fuzz=fuzz_strategy,
    reference="the exact probabilities 1/4, 3/4, 0 (estimate within 4 sigma) and an "
    "independent largest-angle test by dot products, sample by sample (the tests); no "
    "library classifies these triangles",
)

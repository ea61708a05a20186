"""Suite for kmeans_plusplus_init: k-means++ seeding driven by injected uniforms.

Randomness is an input: one float64 uniform per centre, so every implementation makes the
same picks bit for bit. sklearn's ``kmeans_plusplus`` can only use its own generator: it is
registered own_rng=True and judged by ``PickLaw``, a test that its picks follow the D^2 law.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from harness.args import NO_NAN, Arg, Args, Rule
from harness.cases import bench, case, edge, error
from harness.comparators import Comparator, Comparison, Exact, Outputs
from harness.spec import Case, Cost, Inputs, Suite, Tolerance
from suites.kmeans_lloyd import _blobs


def _past_one(u: np.ndarray) -> np.ndarray:
    out = np.array(u, copy=True)
    out[0] = 1.0
    return out


IN_UNIT = Rule(
    "0 <= u < 1", lambda xp, u: ~((u >= 0) & (u < 1)), _past_one
)  # NaN breaks it as well

ARGS = Args(
    Arg("x", ("N", "D"), "float", rules=(NO_NAN,)),
    Arg("u", ("K",), "float", rules=(IN_UNIT,)),
    nonempty=("N", "K"),
)


def check_inputs(x: Any, u: Any) -> None:
    """The one-line input check of every implementation: ARGS, then K <= N."""
    ARGS.check(x, u)
    n, k = len(x), len(u)
    if k > n:
        raise ValueError(f"u has K={k} draws but x has N={n} points; k-means++ needs K <= N")


def pick(cumsum: np.ndarray, u: float) -> int:
    """The pick of one uniform u on the running sums of the weights (float64): the smallest
    i with cumsum[i] > u*total; where rounding leaves none, the first i whose sum reaches
    the total (the last point of positive weight); where the total is 0 (every point on a
    chosen centre), the uniform rule floor(u*N)."""
    n, total = len(cumsum), float(cumsum[-1])
    if total == 0.0:
        return min(int(u * n), n - 1)
    i = int(np.searchsorted(cumsum, u * total, side="right"))
    return i if i < n else int(np.searchsorted(cumsum, total, side="left"))


def kmeans_plusplus_init(x: Any, u: Any) -> tuple[Any, Any]:
    """Oracle: the first centre is point floor(u[0]*N); centre j is the pick of u[j] on the
    running sums of D^2, D = distance to the nearest chosen centre, by direct differences
    in float64 and updated after every pick. Returns (x[indices], indices)."""
    check_inputs(x, u)
    x = np.asarray(x)
    x64 = x.astype(np.float64)
    n, k = len(x), len(u)
    indices = np.empty(k, dtype=np.int64)
    indices[0] = min(int(u[0] * n), n - 1)
    d2 = np.full(n, np.inf)
    for j in range(1, k):
        diff = x64 - x64[indices[j - 1]]
        d2 = np.minimum(d2, np.sum(diff * diff, axis=1))
        indices[j] = pick(np.cumsum(d2), float(u[j]))
    return x[indices], indices


# ---- inputs ---------------------------------------------------------------------------------

#: near_boundary: u[j] puts u*total this far (relative to the total) past the running sum
#: before a drawn point. Implementations that sum in another order move the sums by ~1e-16
#: of the total, far inside; rounding the points to float32 moves them by ~1e-8, so about
#: half the picks of such a run go to the point before (ALGORITHMS.md 1.2: float32
#: arithmetic on float64 inputs must be caught).
MARGIN = 1e-11


def _boundary_draws(x: np.ndarray, k: int, rng: np.random.Generator, margin: float) -> Any:
    """Uniforms that put every u*total ``margin`` (relative to the total) past the running
    sum before a point the law could pick; margin 0: exactly on that sum (the float64
    product u*total equals it, checked), where ">" and ">=" part ways."""
    x64 = x.astype(np.float64)
    n = len(x)
    u = np.empty(k)
    u[0] = rng.random()
    last = min(int(u[0] * n), n - 1)
    d2 = np.full(n, np.inf)
    for j in range(1, k):
        diff = x64 - x64[last]
        d2 = np.minimum(d2, np.sum(diff * diff, axis=1))
        cumsum = np.cumsum(d2)
        total = float(cumsum[-1])
        u[j] = rng.random()
        for target in rng.permutation(np.flatnonzero(d2 > 1e3 * margin * total)):
            if target == 0:
                continue
            v = (cumsum[target - 1] + margin * total) / total
            if margin or v * total == cumsum[target - 1]:
                u[j] = v
                break
        last = pick(cumsum, float(u[j]))
    return u


def fewer_distinct_than_k(inputs: Inputs) -> bool:
    """Are there fewer distinct points than centres (the total reaches 0 mid-run)?"""
    x = np.asarray(inputs["x"])
    return x.shape[1] > 0 and len(np.unique(x, axis=0)) < len(inputs["u"])


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    n, d, k = int(p["n"]), int(p["d"]), int(p["k"])
    pattern = p.get("pattern", "mixture")
    if pattern == "blobs":  # k well separated blobs: every pick lands in a new blob
        x, _ = _blobs(rng, n, d, max(k, 1))
    elif pattern == "identical":  # every point the same: the total is 0 after one pick
        x = np.tile(rng.normal(size=(1, d)), (n, 1))
    elif pattern == "duplicates":  # `distinct` points, each repeated: totals reach 0
        base = rng.normal(size=(int(p["distinct"]), d)) + float(p.get("offset", 0.0))
        x = base[rng.integers(0, len(base), n)]
        x[: len(base)] = base  # every distinct point present
    elif pattern == "integers":  # small integer grid: exact ties between running sums
        x = rng.integers(0, 3, size=(n, d)).astype(np.float64)
    else:  # overlapping Gaussian components: weights spread over many points
        means = rng.uniform(-4.0, 4.0, size=(max(k, 1), d))
        x = means[rng.integers(0, len(means), n)] + rng.normal(size=(n, d))
    x = x.astype(case.dtype)
    if p.get("nan"):
        x[0, 0] = np.nan
    draws = p.get("draws", "random")
    if draws == "random":
        u = rng.random(k)
    else:
        u = _boundary_draws(x, k, rng, MARGIN if draws == "near_boundary" else 0.0)
    return {"x": x, "u": u}


# ---- comparison -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gathered(Exact):
    """The centres are rows of x: compared bit for bit, in x's dtype."""

    def expected_dtype(self, case: Case) -> str | None:
        return case.dtype


def pit_values(x: Any, indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomised probability integral transforms of the picks under the D^2 law: pick j of
    point i is (S_<i + V*w_i)/S with the points ordered by weight w (ascending, then index)
    and V ~ U(0, 1). Under the law each value is U(0, 1) given the past, so the values are
    i.i.d. uniform; a sampler that favours near points (uniform, or D instead of D^2) pushes
    them down. A pick of weight 0 while the total is positive is impossible: NaN marks it."""
    x64 = np.asarray(x, dtype=np.float64)
    n = len(x64)
    out = np.empty(len(indices))
    d2 = np.ones(n)  # the first pick: uniform
    for j, i in enumerate(indices):
        total = float(d2.sum())
        w = d2 if total > 0 else np.ones(n)
        order = np.lexsort((np.arange(n), w))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        before = float(np.sum(w[order[: rank[i]]]))
        out[j] = np.nan if w[i] == 0 else (before + rng.random() * w[i]) / float(w.sum())
        diff = x64 - x64[i]
        d2 = np.sum(diff * diff, axis=1) if j == 0 else np.minimum(d2, np.sum(diff * diff, axis=1))
    return out


@dataclass(frozen=True)
class PickLaw(Comparator):
    """For an implementation on its own generator (sklearn): centres are the rows of x the
    indices name, indices distinct where the points allow, no pick of weight 0, and the
    picks' probability integral transforms pass a Kolmogorov-Smirnov test of uniformity at
    ALPHA (a correct sampler fails one call in a thousand; the transforms' own uniforms
    come from a generator seeded by the case seed, so a run is reproducible)."""

    compares_shape: ClassVar[bool] = True

    def tolerance(self, case: Case) -> Tolerance:
        from harness.comparators.statistical import ALPHA

        return Tolerance(ALPHA, 0.0, f"KS test of the picks' PIT values at alpha={ALPHA:g}")

    def expected_dtype(self, case: Case) -> str | None:
        return None

    def dtypes(self, case: Case, outputs: Any) -> dict[str, str | None]:
        return {"centers": case.dtype, "indices": "int64"}

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        from scipy import stats

        centers, indices = (np.asarray(a) for a in actual)
        x = np.asarray(inputs["x"])
        k = len(expected[1])
        if indices.shape != (k,) or centers.shape != (k, x.shape[1]):
            return _fail(f"shapes {centers.shape} and {indices.shape}, expected ({k}, D), (K,)")
        if indices.min() < 0 or indices.max() >= len(x):
            return _fail(f"indices outside [0, {len(x)})")
        if not np.array_equal(centers, x[indices]):
            return _fail("centers are not the rows of x that indices name")
        pit = pit_values(x, indices, np.random.default_rng(case.seed))
        if np.isnan(pit).any():
            j = int(np.flatnonzero(np.isnan(pit))[0])
            return _fail(f"pick {j} (point {int(indices[j])}) has weight 0 under the D^2 law")
        p = float(stats.kstest(pit, "uniform").pvalue)
        note = f"KS p={p:.3g} on {k} picks' PIT values at alpha={tol.rtol:g}"
        if p < tol.rtol:
            return _fail(f"picks do not follow the D^2 law: {note}")
        return Comparison(True, total=k, error_ratio=tol.rtol / max(p, 1e-300), note=note)


def _fail(detail: str) -> Comparison:
    return Comparison(False, detail, total=1, mismatches=1, error_ratio=float("inf"))


COMPARE = Outputs({"centers": Gathered(), "indices": Exact()})


def cost(case: Case) -> Cost:
    """3*K*N*D flops (a direct squared distance per point per pick) + 2*N per pick (min and
    running sum); traffic b*N*D per pick (ALGORITHMS.md) plus the uniforms and the output."""
    n, d, k = (int(case.params[s]) for s in ("n", "d", "k"))
    b = np.dtype(case.dtype).itemsize
    return Cost(
        3.0 * k * n * d + 2.0 * k * n, b * k * n * d + 8.0 * k + (b * d + 8.0) * k, k, "picks"
    )


# ---- cases ----------------------------------------------------------------------------------

F64: dict[str, Any] = {"dtype": "float64"}

CASES = [
    case("mixture_f32", n=500, d=4, k=12),
    case("mixture_f64", n=400, d=3, k=10, **F64),
    case("blobs_f32", n=300, d=5, k=9, pattern="blobs"),
    # N past a 256-point tile and K past a few dozen picks
    case("multi_block", n=3000, d=6, k=300),
    edge("k_one", n=50, d=3, k=1),
    edge("k_equals_n_f64", n=17, d=2, k=17, **F64),
    edge("single_point", n=1, d=2, k=1),
    edge("one_feature", n=60, d=1, k=7),
    # every point equal: after the first pick the total is 0 and the uniform rule picks
    edge("all_identical", n=25, d=3, k=6, pattern="identical"),
    # 4 distinct points, each repeated, offset by 100: weights reach 0 for repeats of chosen
    # points (the GEMM expansion leaves rounding noise of ~1e-12 there instead), and K = 9 > 4
    # runs out of distinct points
    edge(
        "duplicates_past_distinct_f64",
        n=40,
        d=6,
        k=9,
        pattern="duplicates",
        distinct=4,
        offset=100.0,
        **F64,
    ),
    edge("duplicates_f32", n=90, d=2, k=6, pattern="duplicates", distinct=12),
    # integer points: several running sums are equal (weight-0 points), and each u*total
    # lands exactly on a running sum: searchsorted side='left' (>=) picks another point
    edge("integer_grid_f64", n=70, d=2, k=8, pattern="integers", draws="on_sum", **F64),
    # D = 0: every distance is 0; all picks follow the uniform rule
    edge("no_features", n=11, d=0, k=4),
    # every pick MARGIN past a running-sum boundary: float32 arithmetic moves it
    edge("near_boundary_f64", n=200, d=3, k=24, draws="near_boundary", **F64),
]

ERRORS = [
    error("more_draws_than_points", ValueError, r"K=5 .* N=3", n=3, d=2, k=5),
    error("no_draws", ValueError, r"\bK\b", n=6, d=2, k=0),
    error("no_points", ValueError, r"\bN\b", n=0, d=2, k=0),
    error("nan_in_x", ValueError, r"\bx\b.*NaN", n=20, d=3, k=4, nan=True),
]

# Standard: n = 20,000, d = 16, k = 64 in float64 (2e8 flops): the spec's n = 100,000 takes
# ~0.5 s a call in NumPy and the oracle here, over the quick profile's 6 s for the
# algorithm; it is in "full".
BENCH = {
    "smoke": [bench("bench_n2000_d16_k16", n=2000, d=16, k=16, **F64)],
    "quick": [bench("bench_n20000_d16_k64", n=20000, d=16, k=64, **F64)],
    "full": [
        bench("bench_n100000_d16_k64", n=100000, d=16, k=64, **F64),
        bench("bench_n1000000_d64_k256_f32", n=1000000, d=64, k=256),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(pattern: str, n: int, d: int, k: int, params: dict[str, Any]) -> Case:
        drawn = {**params, "pattern": pattern, "n": n, "d": d, "k": min(k, n)}
        if pattern == "duplicates":
            drawn["distinct"] = max(1, n // 3)
        return Case("fuzz", drawn, {}, "fuzz")

    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
        }
    )
    return st.builds(
        build,
        st.sampled_from(["mixture", "blobs", "identical", "duplicates", "integers"]),
        st.integers(1, 80),
        st.integers(0, 5),
        st.integers(1, 20),
        params,
    )


SUITE = Suite(
    algorithm="kmeans_plusplus_init",
    family="classical-ML-and-matching",
    summary="k-means++ seeding of x (N, D) with injected uniforms u (K,) -> (centers (K, D), "
    "indices (K,) int64).",
    conventions=(
        "Classic k-means++, one candidate per pick (sklearn n_local_trials=1). u: K float64 "
        "uniforms in [0, 1), one per centre. Centre 0 is point floor(u[0]*N). After every "
        "pick, w_i = min over chosen centres of |x_i - c|^2, computed in float64 by direct "
        "differences (identical points weigh exactly 0; the GEMM expansion leaves rounding "
        "noise there); centre j is the smallest i with S_i > u[j]*S_{N-1}, S the float64 "
        "running sums of w in index order (searchsorted side='right'); where rounding leaves "
        "no such i, the first i with S_i = S_{N-1}; where the total is 0 (every point on a "
        "chosen centre, or D = 0), floor(u[j]*N). centers = x[indices] in x's dtype, "
        "indices int64. ValueError: NaN in x, u outside [0, 1), N = 0, K = 0, K > N, shape "
        "errors; TypeError: non-float x or u. check_inputs (this suite) is the one-line "
        "check. Compared exactly; sklearn's kmeans_plusplus on its own generator is judged "
        "by a KS test of its picks' probability integral transforms under the D^2 law."
    ),
    args=ARGS,
    make_inputs=make_inputs,
    oracle=kmeans_plusplus_init,
    compare=COMPARE,
    own_rng_compare=PickLaw(),
    divergent_inputs={"all_identical": fewer_distinct_than_k},
    cost=cost,
    defaults={"seed": 11, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_n20000_d16_k64",
    outputs=("centers", "indices"),
    multi_block={"N": 3000, "K": 300},
    near_threshold=("near_boundary_f64",),
    fuzz=fuzz_strategy,
    reference="sklearn.cluster.kmeans_plusplus(n_local_trials=1) on its own generator "
    "(statistical: KS test of the picks under the D^2 law)",
)

"""Suite for sinkhorn_ot: the entropic optimal-transport plan between two histograms (Sinkhorn)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Rule, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Marginals
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite

# ---- the stopping rule every implementation follows (POT's ot.sinkhorn defaults) -----------

MAX_ITER = 1000
CHECK_EVERY = 10  # the marginal error is measured at iterations 0, 10, 20, ...
STOP_FLOAT64 = 1e-9
# float32 keeps 24 bits: the column sums of a float32 plan carry a round-off of a few ulps
# (2⁻²⁴ ≈ 6e-8) of |b|₂, up to |b|₂ = 1 for a unit mass, so POT's 1e-9 is out of reach and
# would only burn the 1,000 iterations. 1e-6, about 17 ulps of the unit mass, is reachable
# at every size (measured floor: 1e-9 to 5e-9 on 64 x 48 to 1,000 x 1,000).
STOP_FLOAT32 = 1e-6
# Σa and Σb may differ by this fraction of the larger (rounding), not more. The check sums in
# float64: float32 masses then carry only their input rounding, 2⁻²⁴ of the total.
MASS_RTOL = 1e-6
UNDERFLOW = "K = exp(-M/reg) leaves the float range (underflow or overflow)"


def stop_threshold(dtype: Any) -> float:
    """The stated convergence tolerance for a float dtype of any array library."""
    return STOP_FLOAT64 if str(dtype).endswith("float64") else STOP_FLOAT32


@dataclass(frozen=True)
class SinkhornOptions(Options):
    method: str = option(
        "sinkhorn",
        "sinkhorn_log",
        meaning="scalings u = a/(K·v), v = b/(Kᵀ·u) with K = exp(-M/reg) (POT's default; "
        "raises when K underflows) or log-domain potentials with logsumexp (POT sinkhorn_log)",
    )


def _dented(x: np.ndarray) -> np.ndarray:
    """A negative first mass, the total kept (the sums still agree: only the sign is wrong)."""
    out = np.array(x, copy=True)
    out[1] += 2.0 * out[0] + 0.1
    out[0] = -0.1 - out[0]
    return out


def _poisoned(x: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    out.reshape(-1)[0] = np.nan
    return out


MASS = Rule(
    "masses are finite and >= 0",
    lambda xp, x: ~(xp.isfinite(x) & (x >= 0)),
    _dented,
)
FINITE = Rule("costs are finite", lambda xp, x: ~xp.isfinite(x), _poisoned)


class TransportArgs(Args):
    """The declared arguments, plus what involves two of them: equal total mass, reg > 0."""

    def check(self, *values: Any) -> Any:
        dtype = super().check(*values)
        a, b, _, reg = values
        if not 0.0 < float(reg) < math.inf:
            raise ValueError(f"reg must be > 0 and finite, got {reg!r}")
        mass_a, mass_b = _total(a), _total(b)
        if abs(mass_a - mass_b) > MASS_RTOL * max(mass_a, mass_b):
            raise ValueError(
                f"a and b must have the same total mass: sum(a) = {mass_a!r}, "
                f"sum(b) = {mass_b!r} (unbalanced transport is another algorithm)"
            )
        if mass_a == 0.0 and len(a) and len(b):
            raise ValueError("a and b must carry positive mass (both sum to 0)")
        return dtype


def _total(x: Any) -> float:
    from array_api_compat import array_namespace

    arr = np.asarray(x) if isinstance(x, list) else x
    xp = array_namespace(arr)
    return float(xp.sum(xp.astype(arr, xp.float64)))


ARGS = TransportArgs(
    Arg("a", ("n",), rules=(MASS,)),
    Arg("b", ("m",), rules=(MASS,)),
    Arg("M", ("n", "m"), rules=(FINITE,)),
    Scalar("reg", low=0.0),
)


# ---- the oracle -------------------------------------------------------------------------------


def sinkhorn_ot(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    """Oracle: POT's two iterations written out in float64, the plan P (n, m)."""
    ARGS.check(a, b, M, reg)
    a, b, M = (np.asarray(x, dtype=np.float64) for x in (a, b, M))
    solve = scaling if opts.method == "sinkhorn" else log_domain
    plan, iterations = solve(a, b, M, float(reg))
    _remember(plan, iterations)
    return plan


def scaling(a: np.ndarray, b: np.ndarray, M: np.ndarray, reg: float) -> tuple[np.ndarray, int]:
    """POT's sinkhorn_knopp: v then u each iteration, the column error every 10th."""
    n, m = M.shape
    if n == 0 or m == 0:
        return np.zeros((n, m)), 0
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # tested below
        K = np.exp(-M / reg)
        if not (K.max(axis=1).all() and K.max(axis=0).all()):
            raise ValueError(f"{UNDERFLOW}: a row or column is all zero; use method='sinkhorn_log'")
        u, v = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
        for it in range(MAX_ITER):
            v = b / (K.T @ u)
            u = a / (K @ v)
            if not (np.isfinite(u).all() and np.isfinite(v).all()):
                raise ValueError(
                    f"{UNDERFLOW}: the scalings left the float range at iteration {it}"
                )
            if it % CHECK_EVERY == 0 and np.linalg.norm(v * (K.T @ u) - b) < STOP_FLOAT64:
                break
    return u[:, None] * K * v[None, :], it + 1


def log_domain(a: np.ndarray, b: np.ndarray, M: np.ndarray, reg: float) -> tuple[np.ndarray, int]:
    """POT's sinkhorn_log: potentials u, v with P = exp(-M/reg + u_i + v_j)."""
    n, m = M.shape
    if n == 0 or m == 0:
        return np.zeros((n, m)), 0
    Mr = -M / reg
    with np.errstate(divide="ignore"):  # a zero mass has potential -inf: its row/column is 0
        log_a, log_b = np.log(a), np.log(b)
    u, v = np.zeros(n), np.zeros(m)
    for it in range(MAX_ITER):
        v = log_b - logsumexp(Mr + u[:, None], axis=0)
        u = log_a - logsumexp(Mr + v[None, :], axis=1)
        if it % CHECK_EVERY == 0:
            columns = np.exp(Mr + u[:, None] + v[None, :]).sum(axis=0)
            if np.linalg.norm(columns - b) < STOP_FLOAT64:
                break
    return np.exp(Mr + u[:, None] + v[None, :]), it + 1


def logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    """log Σ exp(x) along an axis, shifted by the maximum (which is finite: Σa > 0)."""
    top = x.max(axis=axis)
    out: np.ndarray = top + np.log(np.exp(x - np.expand_dims(top, axis)).sum(axis=axis))
    return out


# The iteration count is not part of the plan, yet the cost model needs it: the oracle
# remembers it under a digest of the plan it returns, which is what cost() is handed.
_ITERATIONS: dict[bytes, int] = {}


def _digest(plan: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(plan).tobytes(), digest_size=16).digest()


def _remember(plan: np.ndarray, iterations: int) -> None:
    if len(_ITERATIONS) >= 256:
        _ITERATIONS.pop(next(iter(_ITERATIONS)))
    _ITERATIONS[_digest(plan)] = iterations


def oracle_iterations(case: Case, plan: Any) -> int:
    """How many iterations the oracle ran for this case (solved again if it was forgotten)."""
    found = _ITERATIONS.get(_digest(np.asarray(plan, dtype=np.float64)))
    if found is not None:
        return found
    inputs = make_inputs(case)
    a, b, M = (np.asarray(inputs[k], dtype=np.float64) for k in ("a", "b", "M"))
    solve = log_domain if case.options.get("method") == "sinkhorn_log" else scaling
    return solve(a, b, M, float(inputs["reg"]))[1]


# ---- inputs -----------------------------------------------------------------------------------


def make_inputs(case: Case) -> Inputs:
    """Points in the unit square, squared Euclidean costs, reg = eps_scale · median(M)."""
    p = case.params
    rng = np.random.default_rng(case.seed)
    n, m = int(p["n"]), int(p["m"])
    pattern = p.get("pattern", "random")
    x, y = rng.random((n, 2)), rng.random((m, 2))
    a, b = rng.uniform(0.5, 1.5, n), rng.uniform(0.5, 1.5, m)
    if pattern == "assignment":  # square, uniform: y is a slightly moved permutation of x
        y = x[rng.permutation(n)] + p.get("noise", 0.002) * rng.standard_normal((n, 2))
        a, b = np.ones(n), np.ones(m)
    elif pattern == "outlier":  # source 0 lies >= 7 away: its row of exp(-M/reg) is all 0
        x[0] = (8.0, 0.5)
    elif pattern == "zero_bins":
        a[1::4], b[1::3] = 0.0, 0.0  # bin 0 keeps mass on both sides
    M = ((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=-1)
    mass = float(p.get("mass", 1.0))
    if n and m:
        a, b = mass * a / a.sum(), mass * b / b.sum()
    if pattern == "no_mass" or not (n and m):  # an empty side: both sides carry nothing
        a, b = np.zeros(n), np.zeros(m)
    b = b * float(p.get("imbalance", 1.0))
    scale = float(p.get("eps_scale", 0.05))
    reg = p["reg"] if "reg" in p else scale * (float(np.median(M)) if M.size else 1.0)
    dtype = np.dtype(case.dtype)
    return {"a": a.astype(dtype), "b": b.astype(dtype), "M": M.astype(dtype), "reg": float(reg)}


def cost(case: Case, expected: Any = None) -> Cost:
    """Per iteration: two matrix-vector products, 4·n·m flops (log domain: two logsumexp
    passes, 2·n·m exp on top); plus building K and the plan. Bytes: K (or M) is read once
    per iteration, as when it leaves the cache; M read and P written once.

    ``expected`` is the oracle's plan: its iteration count is the oracle's. Without it (a
    caller that has no oracle output) the count is taken as MAX_ITER, an upper bound.
    """
    n, m = int(case.params["n"]), int(case.params["m"])
    iterations = MAX_ITER if expected is None else oracle_iterations(case, expected)
    per_iteration = 4 if case.options.get("method", "sinkhorn") == "sinkhorn" else 6
    b = np.dtype(case.dtype).itemsize
    return Cost(
        flops=float((per_iteration * iterations + 4) * n * m),
        bytes=float(b * n * m * (iterations + 2) + 2 * b * (n + m)),
        items=float(max(iterations, 1)),
        item_unit="iterations",
    )


# ---- cases ------------------------------------------------------------------------------------

LOG = {"method": "sinkhorn_log"}

# Larger cases first and the tiny ones last: the CLI predicts a cell's time from the smaller
# cases already run, and a 1-iteration case is all call overhead. The log-domain cases use a
# larger eps_scale (fewer iterations) where small eps adds nothing: POT's sinkhorn_log spends
# ~1 ms an iteration in scipy's logsumexp even at 64 x 48.
CASES = [
    case("random_f64", n=64, m=48),
    case("random_f32", n=64, m=48, dtype="float32"),
    case("log_f64", n=64, m=48, eps_scale=0.1, options=LOG),
    case("log_f32", n=40, m=56, dtype="float32", eps_scale=0.2, options=LOG),
    # 250 in total: the float32 rounding of a mass (~2⁻²⁴·250/50) moves the marginals by
    # ~5e-7 in L2, far above the float64 limit 1e-8: float32 arithmetic fails here
    case("mass_250_f64", n=50, m=70, mass=250.0),
    # several hundred rows and columns: past the first block of a tiled or threaded kernel
    case("multi_block", n=300, m=280),
    case("multi_block_log", n=300, m=280, eps_scale=0.5, options=LOG),
    # a source far from every target: its row of K underflows; the log domain moves its mass
    edge("outlier_log", n=50, m=40, pattern="outlier", eps_scale=0.1, options=LOG),
    edge("zero_mass_bins", n=40, m=36, pattern="zero_bins"),
    edge("zero_mass_bins_log", n=40, m=36, pattern="zero_bins", eps_scale=0.2, options=LOG),
    edge("wide_log", n=3, m=150, eps_scale=0.2, options=LOG),
    edge("tall", n=200, m=3),
    edge("large_eps", n=30, m=20, eps_scale=100.0),  # the plan tends to a·bᵀ
    # eps -> 0: 93 % of K underflows, yet no whole row or column: the scalings still work
    edge("tiny_eps_assignment", n=32, m=32, pattern="assignment", eps_scale=1e-4),
    edge("tiny_eps_assignment_log", n=32, m=32, pattern="assignment", eps_scale=1e-4, options=LOG),
    edge("single_source", n=1, m=7),
    edge("single_target_log", n=6, m=1, options=LOG),
    edge("empty_a", n=0, m=5),
    edge("empty_b", n=3, m=0),
    edge("empty_both_log", n=0, m=0, options=LOG),
]

ERRORS = [
    error("unbalanced_mass", ValueError, "same total mass", n=12, m=9, imbalance=1.01),
    error("no_mass", ValueError, "positive mass", n=12, m=9, pattern="no_mass"),
    error("reg_zero", ValueError, r"\breg\b", n=12, m=9, reg=0.0),
    error("reg_inf", ValueError, r"\breg\b", n=12, m=9, reg=math.inf),
    error(
        "outlier_scaling_underflows",
        ValueError,
        "underflow",
        n=50,
        m=40,
        pattern="outlier",
        eps_scale=0.1,
    ),
]

# The spec's standard is 1,000 x 1,000 (~250 iterations, 0.5 s a call for POT here): with
# the smoke case, four CPU cells and their rounds that is far beyond the few seconds a
# quick bench may take on these 2 cores. 480 x 480 is about the largest the conformance
# test's prediction lets fit (it counts a slow call's caching check, and streams the kernel
# from memory every iteration, which a 2 MB matrix in cache does not).
BENCH = {
    "smoke": [bench("bench_100", n=100, m=100)],
    "quick": [bench("bench_480", n=480, m=480)],
    "full": [
        bench("bench_1000", n=1000, m=1000),
        bench("bench_1000_log", n=1000, m=1000, options=LOG),
        bench("bench_10000", n=10_000, m=10_000),  # the spec's large size (GPU-oriented)
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    # eps_scale >= 0.1: random problems of up to 40 x 40 then converge within a few hundred
    # iterations (at 0.05 some need ~900, too close to the 1,000 cap); n, m >= 1 (the
    # empty_* cases cover 0).
    return st.builds(
        lambda n, m, seed, dtype, pattern, scale, method: Case(
            "fuzz",
            dict(n=n, m=m, seed=seed, dtype=dtype, pattern=pattern, eps_scale=scale),
            {"method": method},
            "fuzz",
        ),
        st.integers(1, 40),
        st.integers(1, 40),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        st.sampled_from(["random", "zero_bins"]),
        st.sampled_from([0.1, 0.3, 1.0]),
        st.sampled_from(SinkhornOptions.flag("method").values),
    )


def _residual(case: Case) -> float:
    return stop_threshold(case.dtype)


SUITE = Suite(
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),  # NP NB TC TG CP
    algorithm="sinkhorn_ot",
    family="classical-ML-and-matching",
    summary="Entropic OT plan P (n, m) between histograms a (n,) and b (m,) for costs M (n, m) "
    "and regularisation reg, by Sinkhorn iterations to a stated marginal tolerance.",
    conventions=(
        "K = exp(-M/reg); P = diag(u)·K·diag(v) with u, v from POT's iteration: start "
        "u = 1/n, v = 1/m, then each iteration v = b/(Kᵀu), u = a/(Kv); every 10th iteration "
        "(0, 10, 20, ...) stop when |Pᵀ1 - b|₂ < tol, at most 1,000 iterations; tol = 1e-9 "
        "for float64 (POT's stopThr) and 1e-6 for float32 (suites.sinkhorn_ot.stop_threshold). "
        "method='sinkhorn_log' runs the same iteration on potentials (P = exp(-M/reg + u_i + "
        "v_j), logsumexp updates): same plan, no underflow. method='sinkhorn' raises "
        "ValueError ('underflow') when a row or column of K is all zero or the scalings leave "
        "the float range (POT warns and returns the previous iterate instead). reg is POT's "
        "reg, the ε of K = exp(-M/ε). Zero masses give zero rows/columns of P. The plan has "
        "the float dtype of the inputs. Judged by its residual: P >= 0 and both marginals "
        "within 10·tol in L2, then P within 10·tol of the oracle's plan. ValueError: "
        "negative or non-finite masses, non-finite costs, |Σa - Σb| > 1e-6·max(Σa, Σb), zero "
        "total mass with n, m > 0, reg <= 0 or infinite; TypeError: a non-float array."
    ),
    args=ARGS,
    options=SinkhornOptions,
    make_inputs=make_inputs,
    oracle=sinkhorn_ot,
    compare=Marginals(a="a", b="b", residual=_residual),
    cost=cost,
    defaults={"seed": 5, "dtype": "float64"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_480",
    multi_block={"n": 300, "m": 280},
    fuzz=fuzz_strategy,
    reference="POT ot.sinkhorn(a, b, M, reg) and method='sinkhorn_log'; ot.emd / "
    "linear_sum_assignment as eps -> 0",
)

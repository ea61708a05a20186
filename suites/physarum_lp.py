"""Suite for physarum_lp: the Physarum dynamics for min c^T x subject to A x = b, x >= 0.

Each step x <- (1 - h) x + h q, q = W A^T (A W A^T)^+ b with W = diag(x / c): q is the
W^-1-weighted least-norm solution of A x = b, so every iterate after the first satisfies
the constraints and the cost decreases towards the optimum (on the LPs the directed
dynamics solves, e.g. A >= 0, the iterates stay positive). Step h, the positive start x0
and the stopping rule (tol, max_iter) are inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Rule, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators.base import Comparator, Comparison
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

RCOND = 1e-10  # singular values below RCOND x the largest count as 0 (rank-deficient A)
FEASIBLE = 1e-8  # b is in the range of A iff |A x_ls - b| <= FEASIBLE |b| (2-norms)
LEFT_ORTHANT = 1e-9  # an iterate below -LEFT_ORTHANT x max|x| left x >= 0: ValueError


def _bump(x: np.ndarray) -> np.ndarray:
    y = x.copy()
    y.reshape(-1)[y.size // 2] = 0.0
    return y


POSITIVE = Rule("values > 0", lambda xp, x: ~(x > 0), _bump)

ARGS = Args(
    Arg("A", ("M", "N")),
    Arg("b", ("M",)),
    Arg("c", ("N",), rules=(POSITIVE,)),
    Arg("x0", ("N",), rules=(POSITIVE,)),
    Scalar("h", low=0.0, high=1.0),
    Scalar("tol", low=0.0),
    Scalar("max_iter", kind="int", low=1),
)


def check(A: Any, b: Any, c: Any, x0: Any, h: Any, tol: Any, max_iter: Any) -> None:
    """ARGS.check, then h > 0 (a zero step never moves)."""
    ARGS.check(A, b, c, x0, h, tol, max_iter)
    if h == 0:
        raise ValueError("h must be in (0, 1], got 0")


def check_feasible(A: np.ndarray, b: np.ndarray) -> None:
    """ValueError when A x = b has no solution at all (b outside the range of A)."""
    if b.size == 0 or not np.any(b):
        return
    x_ls = np.linalg.lstsq(A, b, rcond=RCOND)[0] if A.size else np.zeros(A.shape[1])
    if np.linalg.norm(A @ x_ls - b) > FEASIBLE * np.linalg.norm(b):
        raise ValueError("infeasible: A x = b has no solution (b is outside the range of A)")


def check_orthant(x: Any, xp: Any) -> None:
    """ValueError when an iterate left x >= 0 (no nonnegative solution, or an LP the
    directed dynamics does not solve); NaN counts as leaving."""
    if x.shape[0] and not bool(xp.all(x >= -LEFT_ORTHANT * xp.max(xp.abs(x)))):
        raise ValueError("infeasible: the iterate left x >= 0 (no solution with x >= 0?)")


def physarum_lp(A: Any, b: Any, c: Any, x0: Any, h: Any, tol: Any, max_iter: Any) -> np.ndarray:
    """Oracle: float64; each step forms A W A^T, applies its pseudo-inverse to b, then
    q = W A^T p and x <- (1 - h) x + h q; stops after the first step with
    |x_new - x|_1 <= tol |x|_1, or after max_iter steps; an iterate leaving x >= 0 is a
    ValueError. Returns x (N,) float64."""
    check(A, b, c, x0, h, tol, max_iter)
    A, b, c, x = (np.asarray(v, dtype=np.float64) for v in (A, b, c, x0))
    check_feasible(A, b)
    for _ in range(int(max_iter)):
        w = x / c
        if A.shape[0] == 0:
            p = b
        else:
            p = np.linalg.pinv(A @ np.diag(w) @ A.T, rcond=RCOND, hermitian=True) @ b
        q = w * (A.T @ p)
        new = (1.0 - h) * x + h * q
        check_orthant(new, np)
        done = np.abs(new - x).sum() <= tol * np.abs(x).sum()
        x = new
        if done:
            break
    return x


# ---- comparator ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Objective(Comparator):
    """The spec compares objectives: every entry of x >= -1e-9 max|x|; on a case marked
    'converged' x must be feasible (|A x - b|_inf within rtol of |A|_inf |x|_inf + |b|_inf),
    on a truncated case x within rtol max|x| of the oracle's iterate (the start is not
    feasible: early iterates miss A x = b by (1 - h)^k); then c^T x within rtol of the
    oracle's c^T x. rtol: 1e-9 on a case that stops the dynamics early (every
    implementation runs the same steps: float64 agrees far closer; a wrong step, start or
    stopping rule moves the cost by orders more), the spec's 1e-6 on a case marked
    'converged' (a solver that returns the optimum itself, linprog, is held to it there)."""

    def tolerance(self, case: Case) -> Tolerance:
        rtol = 1e-6 if case.params.get("converged") else 1e-9
        return Tolerance(rtol, 1e-9, "objective rtol (spec 1e-6 converged, 1e-9 truncated)")

    def expected_dtype(self, case: Case) -> str | None:
        return "float64"

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        x, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
        n = int(e.size)
        if x.shape != e.shape:
            return Comparison(
                False, f"shape {x.shape}, expected {e.shape}", n, n, error_ratio=np.inf
            )
        if not np.isfinite(x).all():
            return Comparison(False, "x holds NaN or inf", n, n, error_ratio=np.inf)
        A, b, c = (np.asarray(inputs[k], dtype=np.float64) for k in ("A", "b", "c"))
        big = float(np.abs(x).max()) if n else 0.0
        if n and x.min() < -tol.atol * big:
            return Comparison(
                False, f"x leaves x >= 0: min {x.min():.3g}", 1, n, error_ratio=np.inf
            )
        if case.params.get("converged"):  # early iterates miss A x = b by (1 - h)^k
            scale = (float(np.abs(A).sum(axis=1).max()) * big if A.size else 0.0) + float(
                np.abs(b).max() if b.size else 0.0
            )
            resid = float(np.abs(A @ x - b).max()) if b.size else 0.0
            if resid > tol.rtol * max(scale, 1e-300):
                return Comparison(
                    False, f"infeasible: |A x - b|_inf = {resid:.3g} (scale {scale:.3g})", 1, n,
                    max_abs=resid, error_ratio=np.inf,
                )  # fmt: skip
        else:  # the same steps: the iterate itself agrees to rounding
            dx = float(np.abs(x - e).max()) if n else 0.0
            if dx > tol.rtol * max(float(np.abs(e).max()) if n else 0.0, 1e-300):
                return Comparison(
                    False, f"iterate differs: max |x - x_oracle| = {dx:.3g}", 1, n,
                    max_abs=dx, error_ratio=np.inf,
                )  # fmt: skip
        got, want = float(c @ x), float(c @ e)
        err = abs(got - want)
        allowed = tol.rtol * abs(want) + 1e-300
        ratio = err / allowed
        note = f"objective {got:.12g} vs {want:.12g}"
        if err > allowed:
            return Comparison(
                False, f"objective differs: {note} (rel {err / max(abs(want), 1e-300):.3g})",
                1, 1, max_abs=err, max_rel=err / max(abs(want), 1e-300), error_ratio=ratio,
            )  # fmt: skip
        return Comparison(True, total=1, max_abs=err, error_ratio=ratio, note=note)


# ---- inputs ----------------------------------------------------------------------------------


def make_inputs(case: Case) -> Inputs:
    """A >= 0 uniform (the directed dynamics keeps such iterates positive), b = A x_f for a
    positive x_f (feasible), c uniform in [0.5, 1.5), x0 = 1 (or uniform). Patterns:
    'duplicate_row' repeats row 0 (rank-deficient, consistent b); 'twin' repeats column 0
    with its cost (a degenerate optimum: any split between the twins is optimal);
    'inconsistent' repeats row 0 with another b (no solution); 'negative_b' (A x = b
    solvable, never with x >= 0)."""
    p, rng = case.params, np.random.default_rng(case.seed)
    m, n = int(p["m"]), int(p["n"])
    pattern = str(p.get("pattern", "random"))
    A = rng.random((m, n))
    xf = rng.random(n) + 0.1
    c = rng.uniform(0.5, 1.5, n)
    if pattern in ("duplicate_row", "inconsistent") and m >= 2:
        A[-1] = A[0]
    if pattern == "twin" and n >= 2:
        A[:, -1], c[-1] = A[:, 0], c[0]
    b = A @ xf
    if pattern == "inconsistent":
        b[-1] += 1.0
    if pattern == "negative_b":
        b = -b
    x0 = rng.uniform(0.5, 2.0, n) if p.get("random_start") else np.ones(n)
    dtype = np.dtype(case.dtype)
    return {
        "A": A.astype(dtype),
        "b": b.astype(dtype),
        "c": c.astype(dtype),
        "x0": x0.astype(dtype),
        "h": float(p.get("h", 0.5)),
        "tol": float(p.get("tol", 0.0)),
        "max_iter": int(p.get("max_iter", 10)),
    }


def cost(case: Case) -> Cost:
    """Per step (max_iter counted: the bench cases stop there): A W A^T, 2 m^2 n; its
    factorisation, m^3 / 3; A^T p and the update, ~2 m n + 5 n. Bytes: A read each step
    (b m n), as when it does not stay in cache."""
    m, n, k = int(case.params["m"]), int(case.params["n"]), int(case.params.get("max_iter", 10))
    bsz = np.dtype(case.dtype).itemsize
    flops = k * (2.0 * m * m * n + m**3 / 3.0 + 2.0 * m * n + 5.0 * n) + 1.0
    return Cost(flops, k * bsz * (m * n + 3.0 * n) + bsz * (m + 2.0 * n) + 8.0, max(k, 1), "steps")


# ---- cases -----------------------------------------------------------------------------------

CONVERGED: dict[str, Any] = {"tol": 1e-11, "max_iter": 3000, "converged": True}

CASES = [
    case("random_f64", m=12, n=40, dtype="float64"),
    case("random_f32", m=9, n=30, max_iter=15),
    case("step_09_random_start", m=10, n=35, h=0.9, random_start=True, dtype="float64"),
    case("stop_on_tol", m=6, n=20, tol=1e-3, max_iter=500, dtype="float64"),
    # 300 variables: a blocked product over N must carry past its first 256
    case("multi_block", m=20, n=300, max_iter=5, dtype="float64"),
    case("converged", m=3, n=8, dtype="float64", **CONVERGED),
    case("degenerate_optimum", m=3, n=8, pattern="twin", dtype="float64", **CONVERGED),
]

EDGES = [
    edge("one_step", m=5, n=17, max_iter=1, dtype="float64"),
    edge("rank_deficient", m=7, n=25, pattern="duplicate_row", dtype="float64"),
    edge("no_constraints", m=0, n=11, dtype="float64"),
    edge("no_variables", m=4, n=0, dtype="float64"),
    edge("square", m=6, n=6, dtype="float64"),
]

ERRORS = [
    error("infeasible_range", ValueError, "infeasible", m=5, n=12, pattern="inconsistent"),
    error("infeasible_sign", ValueError, "infeasible", m=3, n=9, pattern="negative_b"),
    error("zero_step", ValueError, r"\bh\b", m=3, n=9, h=0.0),
]

BENCH = {
    "smoke": [bench("bench_20x200", m=20, n=200, max_iter=10, dtype="float64")],
    "quick": [bench("bench_100x1000", m=100, n=1000, max_iter=20, dtype="float64")],
    "full": [bench("bench_1000x10000", m=1000, n=10000, max_iter=20, dtype="float64")],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "h": st.sampled_from([0.1, 0.5, 1.0]),
            "max_iter": st.integers(1, 12),
            "pattern": st.sampled_from(["random", "duplicate_row", "twin"]),
        }
    )
    return st.builds(
        lambda m, n, p: Case("fuzz", {"m": m, "n": n, **p}, {}, "fuzz"),
        st.integers(1, 6),
        st.integers(1, 20),
        params,
    )


SUITE = Suite(
    algorithm="physarum_lp",
    family="classical-ML-and-matching",
    summary="min c^T x s.t. A x = b, x >= 0 (c > 0) by the Physarum dynamics "
    "x <- (1 - h) x + h W A^T (A W A^T)^+ b, W = diag(x / c), from x0; returns x.",
    conventions=(
        "physarum_lp(A, b, c, x0, h, tol, max_iter) -> x (N,) float64 (float32 inputs are "
        "widened). A (M, N), b (M,), c (N,) > 0, x0 (N,) > 0, h in (0, 1], tol >= 0, "
        "max_iter >= 1. A step: W = x / c, p = (A W A^T)^+ b (pseudo-inverse: singular "
        "values below 1e-10 x the largest are 0, so a rank-deficient A with consistent b "
        "works), q = W A^T p, x_new = (1 - h) x + h q. Stop after the first step with "
        "|x_new - x|_1 <= tol |x|_1 or after max_iter steps; return x_new. ValueError: b "
        "outside the range of A (|A x_ls - b| > 1e-8 |b|), an iterate below -1e-9 max|x| "
        "(no solution with x >= 0, or an LP the directed dynamics does not solve: it keeps "
        "x > 0 when A >= 0), h = 0, c or x0 not > 0. Unbounded LPs cannot occur (c > 0, "
        "x >= 0). Compared by objective c^T x (rtol 1e-9 on truncated runs, the spec's 1e-6 "
        "on converged ones) after feasibility. Inputs are never written."
    ),
    args=ARGS,
    make_inputs=make_inputs,
    oracle=physarum_lp,
    compare=Objective(),
    cost=cost,
    defaults={"seed": 17, "dtype": "float32"},
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    bench=BENCH,
    standard="bench_100x1000",
    outputs=("x",),
    multi_block={"N": 300},
    fuzz=fuzz_strategy,
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="scipy.optimize.linprog(method='highs'): the optimum's objective within the "
    "spec's 1e-6 on the converged cases",
)

"""physarum_lp through the array API (NumPy, torch, CuPy): the constraints are reduced once
to orthonormal rows (thin SVD: A x = b iff V_r^T x = S_r^-1 U_r^T b, which also drops the
dependent rows of a rank-deficient A), so every step is one Gram matrix G G^T with
G = V_r^T sqrt(W) (a symmetric product), one solve of the r x r positive definite system and
a matrix-vector product. q, the W^-1-weighted least-norm solution of A x = b, does not
depend on which rows describe the same constraints, so the steps equal the oracle's."""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.physarum_lp import FEASIBLE, RCOND, check, check_orthant


@implementation("physarum_lp", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "reduced")
def physarum_lp(A: Any, b: Any, c: Any, x0: Any, h: Any, tol: Any, max_iter: Any) -> Any:
    """Thin SVD once, then per step a symmetric Gram product and an r x r solve."""
    check(A, b, c, x0, h, tol, max_iter)
    xp = array_namespace(A)
    A, b, c, x = (xp.astype(v, xp.float64) for v in (A, b, c, x0))
    m, n = A.shape
    if m and n:
        u, s, vt = xp.linalg.svd(A, full_matrices=False)
        r = int(xp.sum(s > RCOND * s[0]))
        u, s, vt = u[:, :r], s[:r], vt[:r, :]
        ub = u.T @ b
        if float(xp.linalg.vector_norm(b - u @ ub)) > FEASIBLE * float(xp.linalg.vector_norm(b)):
            raise ValueError("infeasible: A x = b has no solution (b is outside the range of A)")
        rows, rhs = vt, ub / s
    else:
        if m and bool(xp.any(b != 0)):
            raise ValueError("infeasible: A x = b has no solution (b is outside the range of A)")
        rows, rhs = A[:0, :], b[:0]
    for _ in range(int(max_iter)):
        w = x / c
        if rows.shape[0]:
            g = rows * xp.sqrt(xp.clip(w, 0.0, None))  # a -1e-300 entry is a 0
            p = xp.linalg.solve(g @ g.T, rhs[:, None])[:, 0]
            q = w * (p @ rows)
        else:
            q = xp.zeros_like(x)
        new = (1.0 - h) * x + h * q
        check_orthant(new, xp)
        done = bool(xp.sum(xp.abs(new - x)) <= tol * xp.sum(xp.abs(x)))
        x = new
        if done:
            break
    return x

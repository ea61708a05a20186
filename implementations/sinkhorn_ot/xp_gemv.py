"""sinkhorn_ot through the array API: one file for NumPy, torch (CPU and CUDA) and CuPy.

Scaling: two matrix-vector products an iteration (BLAS / cuBLAS gemv); the Kᵀu that the
convergence check needs is the next iteration's own, so checking costs nothing extra.
Log domain: one exp per entry and iteration instead of POT's two. The row update's shifted
exponentials e = exp(t - max), t = -M/reg + v, weighted by a/Σe, are the columns of the new
plan at the old v: their sums c give the exact column update v += log b - log c. c cannot
underflow: the previous column update made the columns sum to b, and the row update scales
row i by a_i/r_i >= a_i/Σa, so c_j >= b_j·min(a)/Σa (masses would have to span ~300 decades).
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.sinkhorn_ot import (
    ARGS,
    CHECK_EVERY,
    MAX_ITER,
    UNDERFLOW,
    SinkhornOptions,
    stop_threshold,
)


def _scaling(xp: Any, a: Any, b: Any, M: Any, reg: float, tol: float) -> Any:
    n, m = M.shape
    K = xp.exp(M / -reg)
    if not (bool(xp.all(xp.max(K, axis=1) > 0)) and bool(xp.all(xp.max(K, axis=0) > 0))):
        raise ValueError(f"{UNDERFLOW}: a row or column is all zero; use method='sinkhorn_log'")
    u = xp.full(n, 1.0 / n, dtype=K.dtype, device=device(K))
    v = xp.full(m, 1.0 / m, dtype=K.dtype, device=device(K))
    ktu = u @ K
    for it in range(MAX_ITER):
        v = b / ktu
        u = a / (K @ v)
        ktu = u @ K
        last = it == MAX_ITER - 1
        if it % CHECK_EVERY == 0 or last:
            if not (bool(xp.all(xp.isfinite(u))) and bool(xp.all(xp.isfinite(v)))):
                raise ValueError(f"{UNDERFLOW}: the scalings left the float range")
            if float(xp.linalg.vector_norm(v * ktu - b)) < tol:
                break
    K *= u[:, None]
    K *= v[None, :]
    return K


def _log(xp: Any, x: Any, minus_inf: Any) -> Any:
    """log x, -inf where x == 0 (and no divide-by-zero warning)."""
    return xp.where(x > 0, xp.log(xp.where(x > 0, x, 1.0)), minus_inf)


def _logsumexp(xp: Any, x: Any, axis: int) -> Any:
    top = xp.max(x, axis=axis, keepdims=True)
    return xp.squeeze(top, axis=axis) + xp.log(xp.sum(xp.exp(x - top), axis=axis))


def _log_domain(xp: Any, a: Any, b: Any, M: Any, reg: float, tol: float) -> Any:
    Mr = M / -reg
    minus_inf = xp.asarray(-math.inf, dtype=M.dtype, device=device(M))
    log_a, log_b = _log(xp, a, minus_inf), _log(xp, b, minus_inf)
    v = log_b - _logsumexp(xp, Mr, axis=0)  # POT's first column update, from u = 0
    for it in range(MAX_ITER):
        t = Mr + v[None, :]
        top = xp.max(t, axis=1)
        t -= top[:, None]
        e = xp.exp(t)
        s = xp.sum(e, axis=1)
        u = log_a - top - xp.log(s)
        c = (a / s) @ e  # column sums of the plan at (u, v)
        if it % CHECK_EVERY == 0 and float(xp.linalg.vector_norm(c - b)) < tol:
            break
        v = xp.where(b > 0, log_b - _log(xp, c, minus_inf) + v, minus_inf)
    return xp.exp(Mr + u[:, None] + v[None, :])


@implementation("sinkhorn_ot", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "gemv")
def sinkhorn_ot(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    """Scaling by two gemv an iteration (check free); log domain with one exp per entry."""
    dtype, xp = ARGS.check(a, b, M, reg), array_namespace(a, b, M)
    a, b, M = (xp.astype(x, dtype, copy=False) for x in (a, b, M))
    n, m = M.shape
    if n == 0 or m == 0:
        return xp.zeros((n, m), dtype=dtype, device=device(M))
    solve = _scaling if opts.method == "sinkhorn" else _log_domain
    return solve(xp, a, b, M, float(reg), stop_threshold(dtype))

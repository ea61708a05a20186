"""sinkhorn_ot with Numba: one sweep over K (or M) per iteration instead of two.

Scaling: row i's dot product with v gives u_i = a_i/(K·v)_i, and the same row, still in
cache, is added into Kᵀu with weight u_i: both matrix-vector products of an iteration in one
read of K. Log domain: the row's shifted exponentials give u_i and, weighted by a_i/Σ, the
column sums c of the plan at the current v, so v += log b - log c is the exact column
update: one exp per entry and iteration (POT's logsumexp pair takes two; c >= b_j·min(a)/Σa
cannot underflow, see xp_gemv). Serial: the benches run one
thread, and a prange version compiles 2-3 times slower here (seconds per dtype and method).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.sinkhorn_ot import (
    ARGS,
    CHECK_EVERY,
    MAX_ITER,
    UNDERFLOW,
    SinkhornOptions,
    stop_threshold,
)

# Reassociation lets the row reductions vectorise; no nnan/ninf: NaN and inf must still show.
# error_model="numpy": x/0 gives inf or NaN (caught by the finiteness test), not an exception.
_FAST = {"nsz", "arcp", "contract", "reassoc"}
OK, DEAD, NONFINITE = 0, 1, 2


@numba.njit(fastmath=_FAST, error_model="numpy", cache=False)
def _scaling(M: Any, a: Any, b: Any, inv: Any, tol: float, K: Any, u: Any, v: Any, ktu: Any) -> int:
    """K = exp(M·inv) into K, u and v from 1/n and 1/m, ktu zeros; on return K is the plan.

    Scalar loops on buffers made outside (no array-level NumPy): they compile a third faster.
    """
    n, m = M.shape
    zero = inv - inv  # a zero of the working dtype (a 0.0 literal would be float64)
    for i in range(n):  # K, its row sums (all zero: a dead row) and Kᵀu for u = 1/n
        row = zero
        for j in range(m):
            k = np.exp(M[i, j] * inv)
            K[i, j] = k
            row += k
            ktu[j] += u[i] * k
        if row == zero:
            return DEAD
    for j in range(m):
        if ktu[j] == zero:
            return DEAD
    for it in range(MAX_ITER):
        for j in range(m):
            v[j] = b[j] / ktu[j]
            ktu[j] = zero
        last = 0
        for i in range(0, n - 3, 4):  # u = a/(K·v) and the new Kᵀu in one read of K,
            d0, d1, d2, d3 = zero, zero, zero, zero  # four rows at a time: v and Kᵀu
            for j in range(m):  # pass through the registers once per four rows
                d0 += K[i, j] * v[j]
                d1 += K[i + 1, j] * v[j]
                d2 += K[i + 2, j] * v[j]
                d3 += K[i + 3, j] * v[j]
            u0, u1, u2, u3 = a[i] / d0, a[i + 1] / d1, a[i + 2] / d2, a[i + 3] / d3
            u[i], u[i + 1], u[i + 2], u[i + 3] = u0, u1, u2, u3
            for j in range(m):
                ktu[j] += u0 * K[i, j] + u1 * K[i + 1, j] + u2 * K[i + 2, j] + u3 * K[i + 3, j]
            last = i + 4
        for i in range(last, n):  # the last n % 4 rows
            dot = zero
            for j in range(m):
                dot += K[i, j] * v[j]
            ui = a[i] / dot
            u[i] = ui
            for j in range(m):
                ktu[j] += ui * K[i, j]
        if it % CHECK_EVERY == 0 or it == MAX_ITER - 1:
            err = 0.0
            for i in range(n):
                if not math.isfinite(u[i]):
                    return NONFINITE
            for j in range(m):
                if not math.isfinite(v[j]):
                    return NONFINITE
                err += float(v[j] * ktu[j] - b[j]) ** 2
            if math.sqrt(err) < tol:
                break
    for i in range(n):
        for j in range(m):
            K[i, j] *= u[i] * v[j]
    return OK


@numba.njit(fastmath=_FAST, error_model="numpy", cache=False)
def _log_domain(
    M: Any, a: Any, b: Any, inv: Any, tol: float, P: Any, u: Any, v: Any, work: Any
) -> int:
    """Potentials u (from 0) and v; work rows: log a, log b, then two scratch rows; on
    return P holds the plan."""
    n, m = M.shape
    log_a, log_b, e, c = work[0, :n], work[1, :m], work[2, :m], work[3, :m]
    zero = inv - inv
    minus_inf = zero - np.inf
    for j in range(m):  # first column update from u = 0: v = log b - logsumexp_i(M·inv)
        c[j] = minus_inf
        e[j] = zero
    for i in range(n):
        for j in range(m):
            c[j] = max(c[j], M[i, j] * inv)
    for i in range(n):
        for j in range(m):
            e[j] += np.exp(M[i, j] * inv - c[j])
    for j in range(m):
        v[j] = log_b[j] - c[j] - np.log(e[j])
    for it in range(MAX_ITER):
        for j in range(m):
            c[j] = zero
        for i in range(n):  # u from v, and the column sums c of the plan at (u, v)
            peak = minus_inf
            for j in range(m):
                e[j] = M[i, j] * inv + v[j]
                peak = max(peak, e[j])
            total = zero
            for j in range(m):
                e[j] = np.exp(e[j] - peak)
                total += e[j]
            u[i] = log_a[i] - peak - np.log(total)
            w = a[i] / total
            for j in range(m):
                c[j] += w * e[j]
        if it % CHECK_EVERY == 0:
            err = 0.0
            for j in range(m):
                err += float(c[j] - b[j]) ** 2
            if math.sqrt(err) < tol:
                break
        for j in range(m):  # the exact column update; a zero mass stays at -inf
            v[j] = v[j] + log_b[j] - np.log(c[j]) if b[j] > zero else minus_inf
    for i in range(n):
        for j in range(m):
            P[i, j] = np.exp(M[i, j] * inv + u[i] + v[j])
    return OK


@implementation("sinkhorn_ot", "numba", "fused")
def sinkhorn_ot(a: Any, b: Any, M: Any, reg: Any, opts: SinkhornOptions) -> Any:
    """Fused sweeps: both products (scaling) or one exp per entry (log) per read of K or M."""
    dtype = ARGS.check(a, b, M, reg)
    a, b, M = (np.ascontiguousarray(x, dtype=dtype) for x in (a, b, M))
    n, m = M.shape
    plan = np.zeros((n, m), dtype=dtype)
    if n == 0 or m == 0:
        return plan
    inv, tol = dtype.type(-1.0 / reg), stop_threshold(dtype)
    if opts.method == "sinkhorn":
        u, v = np.full(n, 1 / n, dtype), np.full(m, 1 / m, dtype)
        status = _scaling(M, a, b, inv, tol, plan, u, v, np.zeros(m, dtype))
    else:
        work = np.zeros((4, max(n, m)), dtype)
        with np.errstate(divide="ignore"):  # a zero mass: potential -inf, a zero row/column
            np.log(a, out=work[0, :n])
            np.log(b, out=work[1, :m])
        status = _log_domain(M, a, b, inv, tol, plan, np.zeros(n, dtype), np.zeros(m, dtype), work)
    if status == DEAD:
        raise ValueError(f"{UNDERFLOW}: a row or column is all zero; use method='sinkhorn_log'")
    if status == NONFINITE:
        raise ValueError(f"{UNDERFLOW}: the scalings left the float range")
    return plan

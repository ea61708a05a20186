"""pooling_max_avg through the array API (NumPy, CuPy, torch CPU/CUDA), separable: a max or
a sum over a k_h x k_w window is the reduction over k_w columns of the reduction over k_h
rows, so k_h + k_w strided whole-array operations replace k_h·k_w.

The input is copied into a buffer padded with -inf (max) or 0 (avg) only when a window
reaches outside it (padding, or a ceil_mode window past the edge); the average divides by
a (H_out, W_out) table of divisors built once from the geometry.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.pooling_max_avg import ARGS, PoolOptions, divisors, pool_axes


@implementation("pooling_max_avg", ("numpy", "cupy", "torch_cpu", "torch_cuda"), "separable")
def pool(x: Any, opts: PoolOptions) -> Any:
    """Pad if needed, reduce the k_h row taps, then the k_w column taps, divide (avg)."""
    dtype = ARGS.check(x)
    ah, aw = pool_axes(x.shape, opts)
    xp, dev = array_namespace(x), device(x)
    n, c = x.shape[:2]
    is_max = opts.op == "max"
    hp = max((ah.out - 1) * ah.s + ah.d * (ah.k - 1) + 1, ah.size + ah.p)
    wp = max((aw.out - 1) * aw.s + aw.d * (aw.k - 1) + 1, aw.size + aw.p)
    src = x if x.dtype == dtype else xp.astype(x, dtype)
    if ah.p or aw.p or hp > ah.size or wp > aw.size:
        buf = xp.full((n, c, hp, wp), -float("inf") if is_max else 0.0, dtype=dtype, device=dev)
        buf[:, :, ah.p : ah.p + ah.size, aw.p : aw.p + aw.size] = src
        src = buf
    reduce = xp.maximum if is_max else xp.add
    rows = None
    for i in range(ah.k):
        r0 = i * ah.d
        tap = src[:, :, r0 : r0 + (ah.out - 1) * ah.s + 1 : ah.s, :]
        rows = tap if rows is None else reduce(rows, tap)
    out = None
    for j in range(aw.k):
        c0 = j * aw.d
        tap = rows[:, :, :, c0 : c0 + (aw.out - 1) * aw.s + 1 : aw.s]  # type: ignore[index]
        out = tap if out is None else reduce(out, tap)
    if is_max:
        return xp.asarray(out, copy=True) if src is x and ah.k == aw.k == 1 else out
    div = xp.asarray(divisors(ah, aw, opts), dtype=dtype, device=dev)
    return out / div

"""scaled_dot_product_attention with Numba: one query row per task, online softmax over key tiles.

Flash-attention's recurrence on the CPU: each tile of keys updates a running max, a running
denominator and a d_v-wide accumulator (rescaled when the max grows), so no (L, S) scores exist.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.scaled_dot_product_attention import ARGS, AttentionOptions, causal_offset

_TILE = 64  # keys per tile: a tile of logits stays in L1 next to the accumulator
# No "nnan"/"ninf": -inf marks blocked keys and NaN must propagate; the rest lets loops vectorise.
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(cache=True, fastmath=_FASTMATH)
def _row(
    qi: Any,
    kb: Any,
    vb: Any,
    bias: Any,
    row: int,
    step: int,
    has_bias: bool,
    stop: int,
    scale: Any,
    consts: Any,
    out: Any,
) -> None:
    """One query row against its first `stop` keys: out = softmax(scores + bias) @ values.
    Compiled once per dtype and cached on disk; the parallel driver below only loops."""
    d, dv = qi.shape[0], vb.shape[1]
    zero, neg_inf, dead_value = consts[0], consts[1], consts[2]  # typed: no float64 creep
    tile = np.empty(_TILE, dtype=qi.dtype)
    acc = np.zeros(dv, dtype=qi.dtype)
    top, total, saw_nan = neg_inf, zero, False
    for j0 in range(0, stop, _TILE):
        n = min(_TILE, stop - j0)
        tile[:n] = 0
        for t in range(d):  # outer product form: the inner loop runs along keys
            qs, krow = qi[t] * scale, kb[t, j0 : j0 + n]
            for jj in range(n):
                tile[jj] += qs * krow[jj]
        tile_top = neg_inf
        for jj in range(n):
            if has_bias:
                tile[jj] += bias[row + (j0 + jj) * step]
            s = tile[jj]
            if s != s:
                saw_nan = True
            elif s > tile_top:
                tile_top = s
        if tile_top == neg_inf:
            continue  # every key of the tile is blocked
        if tile_top > top:  # rescale what was accumulated under the old max
            alpha = math.exp(top - tile_top)
            total *= alpha
            for c in range(dv):
                acc[c] *= alpha
            top = tile_top
        for jj in range(n):
            p = math.exp(tile[jj] - top)
            total += p
            vrow = vb[j0 + jj]
            for c in range(dv):
                acc[c] += p * vrow[c]
    if saw_nan:
        out[:] = np.nan
    elif top == neg_inf:
        out[:] = dead_value
    else:
        for c in range(dv):
            out[c] = acc[c] / total


@threaded_njit()
def _kernel(
    q: Any,
    kt: Any,
    v: Any,
    bias: Any,
    bstride: Any,
    has_bias: bool,
    causal: bool,
    offset: int,
    scale: Any,
    consts: Any,
    out: Any,
) -> None:
    B, H, L = q.shape[:3]
    S = kt.shape[3]
    for r in numba.prange(B * H * L):
        b, h, i = r // (H * L), (r // L) % H, r % L
        row = b * bstride[0] + h * bstride[1] + i * bstride[2]
        stop = min(S, max(0, i + offset + 1)) if causal else S
        _row(q[b, h, i], kt[b, h], v[b, h], bias, row, bstride[3], has_bias, stop, scale,
             consts, out[b, h, i])  # fmt: skip


@implementation("scaled_dot_product_attention", "numba", "online_softmax")
def attention(q: Any, k: Any, v: Any, mask: Any, scale: Any, opts: AttentionOptions) -> Any:
    """Mask-to-bias in NumPy; the compiled kernel does all the arithmetic (float16 inputs in
    float32: logits past 65504 would overflow, and Numba has no float16 arithmetic)."""
    dtype = ARGS.check(q, k, v, mask, scale)
    if dtype == np.float16:
        if mask is not None and mask.dtype != np.bool_:
            mask = mask.astype(np.float32)
        q, k, v = (a.astype(np.float32) for a in (q, k, v))
        return _attention(q, k, v, mask, scale, opts, np.dtype(np.float32)).astype(np.float16)
    return _attention(q, k, v, mask, scale, opts, dtype)


def _attention(
    q: Any, k: Any, v: Any, mask: Any, scale: Any, opts: AttentionOptions, dtype: Any
) -> Any:
    (B, H, L, d), S, dv = q.shape, k.shape[2], v.shape[3]
    if mask is None:
        bias = np.zeros((1, 1, 1, 1), dtype=dtype)
    elif mask.dtype == np.bool_:
        keep = mask if opts.mask_true_means == "attend" else ~mask
        bias = np.where(keep, dtype.type(0), dtype.type(-np.inf))
    else:
        bias = mask.astype(dtype, copy=False)
    # the bias as one flat read-only buffer and its element strides (0 along broadcast axes):
    # one argument type with or without a mask, whatever its shape, so one compile per dtype
    bias = np.ascontiguousarray(bias)
    bias = bias.reshape((1,) * (4 - bias.ndim) + bias.shape)
    bstride = np.array([0 if bias.shape[a] == 1 else bias.strides[a] // bias.itemsize
                        for a in range(4)], dtype=np.int64)  # fmt: skip
    flat = np.broadcast_to(bias.reshape(-1), (bias.size,))
    kt = np.ascontiguousarray(k.swapaxes(-1, -2))  # (B, H, d, S): keys contiguous
    out = np.empty((B, H, L, dv), dtype=dtype)
    _kernel(
        np.ascontiguousarray(q),
        kt,
        np.ascontiguousarray(v),
        flat,
        bstride,
        mask is not None,
        opts.is_causal,
        causal_offset(L, S, opts.causal_alignment),
        dtype.type(1.0 / math.sqrt(d) if scale is None else scale),
        np.array([0, -np.inf, 0 if opts.fully_masked == "zero" else np.nan], dtype=dtype),
        out,
    )
    return out

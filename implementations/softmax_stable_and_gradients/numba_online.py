"""softmax_stable_and_gradients with Numba: online softmax, row by row.

Pass 1 walks a row tile by tile keeping a running max and a running sum, rescaled by
exp(old max - new max) whenever a tile raises the max; each tile's exponentials are stored
under the max current at that tile. Pass 2 rescales each tile by exp(tile max - final max)/sum
(log-softmax: x - max - log sum). x is read from memory once, one exp per element. One
thread (the benchmark runs threads=1; prange would double the compile time).

The exp is a branch-free polynomial (Cody-Waite reduction by ln 2, Taylor series, exponent
bits set directly) that LLVM vectorises; libm's exp would keep the loops scalar. It takes
arguments <= 0 only (all softmax needs), flushes results below the smallest normal to 0 and
propagates NaN. It runs without reassociation, so the ln 2 split and x - max stay exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from harness import implementation
from suites.softmax_stable_and_gradients import SoftmaxOptions, check_backward, check_forward

_TILE = 512  # elements per tile of pass 1: the tile is read twice (max, then exp) from L1
# No "nnan"/"ninf": -inf marks masked entries and NaN must propagate. "reassoc" lets the
# sums and maxima vectorise; the exp and the log-softmax subtraction are compiled without it.
_FAST = {"reassoc", "contract", "nsz", "arcp"}
_EXACT = {"contract"}


def _pow2_intrinsic(typingctx: Any, k: Any) -> Any:
    """2**k for an integral float k >= -bias: the exponent field built from k's bits."""
    if k not in (types.float32, types.float64):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        wide = k == types.float64
        itype = ir.IntType(64 if wide else 32)
        ki = builder.fptosi(args[0], ir.IntType(32))  # |k| < 2**31: a 32-bit convert vectorises
        ki = builder.sext(ki, itype) if wide else ki
        bits = builder.add(ki, ir.Constant(itype, 1023 if wide else 127))
        bits = builder.shl(bits, ir.Constant(itype, 52 if wide else 23))
        return builder.bitcast(bits, ir.DoubleType() if wide else ir.FloatType())

    return k(k), codegen


_pow2: Any = intrinsic(_pow2_intrinsic)


def _exp_nonpos(t: Any) -> Any:
    """exp(t) for t <= 0 or NaN; compiled through the overload below."""
    raise NotImplementedError


@overload(_exp_nonpos, jit_options={"fastmath": _EXACT})
def _exp_nonpos_impl(t: Any) -> Any:
    if t not in (types.float32, types.float64):
        return None
    ft: Any = np.float32 if t == types.float32 else np.float64
    # Taylor terms to reach the dtype's precision on |f| <= ln(2)/2: f**8/8! ~ 5e-9 (float32),
    # f**14/14! ~ 4e-18 (float64)
    degree = 7 if ft is np.float32 else 13
    coeffs = tuple(ft(1.0 / math.factorial(i)) for i in range(degree, -1, -1))
    # ln 2 = hi + lo with hi short enough that k·hi is exact (Cephes' split)
    hi, lo = (ft(0.693359375), ft(-2.12194440e-4)) if ft is np.float32 else (
        ft(6.93145751953125e-1), ft(1.42860682030941723212e-6))  # fmt: skip
    bias = 127 if ft is np.float32 else 1023
    low = ft(-bias * math.log(2.0))  # k = -bias: exponent field 0, the result 0
    log2e, half, zero = ft(1.0 / math.log(2.0)), ft(0.5), ft(0.0)

    def impl(t: Any) -> Any:
        t = low if t < low else t  # NaN stays NaN
        k = np.floor(t * log2e + half)
        k = k if k == k else zero  # NaN: any k, the polynomial carries the NaN
        f = (t - k * hi) - k * lo
        p = coeffs[0]
        for c in coeffs[1:]:
            p = p * f + c
        return p * _pow2(k)

    return impl


@numba.njit(cache=True, fastmath=_EXACT)
def _shift(row: Any, dst: Any, top: Any, lse: Any) -> None:
    """dst = (row - top) - lse: two roundings in this order (x - max is exact near the max)."""
    for j in range(row.shape[0]):
        dst[j] = (row[j] - top) - lse


@numba.njit(cache=True, fastmath=_FAST)
def _forward(z: Any, out: Any, log: bool, consts: Any) -> None:
    rows, length = z.shape
    zero, neg_inf, nan, fill, one = consts[0], consts[1], consts[2], consts[3], consts[4]
    n_tiles = (length + _TILE - 1) // _TILE
    tops = np.empty(n_tiles, dtype=z.dtype)  # the max each stored tile was taken under
    for r in range(rows):
        top, total, saw_nan = neg_inf, zero, False
        for t in range(n_tiles):
            # tiles as slices, loops from 0: a loop from a variable start keeps numba's
            # negative-index wraparound in the body (a third slower)
            tile, dst = z[r, t * _TILE : t * _TILE + _TILE], out[r, t * _TILE : t * _TILE + _TILE]
            tile_top = neg_inf
            for j in range(tile.shape[0]):
                v = tile[j]
                tile_top = v if v > tile_top else tile_top
            if tile_top > top:  # rescale the sum so far to the new max (libm: once a tile)
                total *= math.exp(top - tile_top)
                top = tile_top
            tops[t] = top
            if top == neg_inf:  # nothing but -inf (or NaN, which max skips) so far
                for j in range(tile.shape[0]):
                    saw_nan = saw_nan or tile[j] != tile[j]
                    dst[j] = zero
                continue
            s = zero
            for j in range(tile.shape[0]):
                e = _exp_nonpos(tile[j] - top)  # +inf entry: exp(inf - inf) = NaN
                dst[j] = e
                s += e
            total += s
        if saw_nan or total != total:  # a NaN or +inf entry: the whole row is NaN
            out[r] = nan
        elif top == neg_inf:  # every entry -inf
            out[r] = fill
        elif log:
            _shift(z[r], out[r], top, math.log(total))
        else:
            inv = one / total
            for t in range(n_tiles):
                dst = out[r, t * _TILE : t * _TILE + _TILE]
                f = math.exp(tops[t] - top) * inv
                for j in range(dst.shape[0]):
                    dst[j] *= f


@numba.njit(cache=True, fastmath=_FAST)
def _backward(saved: Any, g: Any, dead: Any, out: Any, log: bool, consts: Any) -> None:
    rows, length = g.shape
    zero, fill = consts[0], consts[3]
    for r in range(rows):
        s, gr, dst = saved[r], g[r], out[r]
        if dead[r]:
            dst[:] = fill
            continue
        c = zero
        if log:  # saved log-probabilities: g - exp(saved)·Σg
            for j in range(length):
                c += gr[j]
            for j in range(length):
                dst[j] = gr[j] - _exp_nonpos(s[j]) * c
        else:  # s·(g - <g, s>)
            for j in range(length):
                c += gr[j] * s[j]
            for j in range(length):
                dst[j] = s[j] * (gr[j] - c)


def _rows(x: Any, axis: int, work: Any) -> Any:
    """The slices as C-contiguous rows of the working dtype (no copy when they are already)."""
    return np.ascontiguousarray(x.T if axis == 0 else x, dtype=work)


def _consts(work: Any, fill: float) -> Any:
    return np.array([0.0, -np.inf, np.nan, fill, 1.0], dtype=work)


def _run_forward(z: Any, log: bool, fill: float) -> Any:
    out = np.empty_like(z)
    if z.size:
        _forward(z, out, log, _consts(z.dtype, fill))
    return out


@implementation(
    "softmax_stable_and_gradients",
    "numba",
    "online",
    supports={"function": ("softmax", "log_softmax")},
)
def softmax(x: Any, opts: SoftmaxOptions) -> Any:
    """Online max-and-sum pass over tiles, then one rescale pass; float16 runs in float32."""
    dtype, axis = check_forward(x, opts)
    work = np.dtype(np.float32 if dtype == np.float16 else dtype)
    fill = np.nan if opts.all_neg_inf == "nan" else 0.0
    out = _run_forward(_rows(x, axis, work), opts.function == "log_softmax", fill)
    out = out.astype(dtype, copy=False)
    return out.T if axis == 0 else out


@implementation(
    "softmax_stable_and_gradients.backward",
    "numba",
    "online",
    prepare=True,
    supports={"function": ("softmax", "log_softmax")},
)
def softmax_backward(x: Any, g: Any, opts: SoftmaxOptions) -> Callable[[], Any]:
    """Setup: the online forward (its output saved, as autograd keeps it); timed: one dot or
    sum and one fused update per row."""
    dtype, axis = check_backward(x, g, opts)
    work = np.dtype(np.float32 if dtype == np.float16 else dtype)
    log = opts.function == "log_softmax"
    z = _rows(x, axis, work)
    saved = _run_forward(z, log, np.nan)
    dead = z.max(axis=1, initial=-np.inf) == -np.inf if z.size else np.zeros(len(z), bool)
    consts = _consts(work, np.nan if opts.all_neg_inf == "nan" else 0.0)

    def vjp() -> Any:
        gz = _rows(g, axis, work)
        out = np.empty_like(gz)
        if gz.size:
            _backward(saved, gz, dead, out, log, consts)
        out = out.astype(dtype, copy=False)
        return out.T if axis == 0 else out

    return vjp

"""softmax_stable_and_gradients in NumPy: blocks of rows small enough to stay in cache, every
pass an in-place ufunc on the output block (no full-size temporaries).

Per block: row max, subtract into the output, exp in place, row sum, scale in place; the
max, exp, sum and scale passes re-read the block from L2 instead of memory. float16 inputs
are worked in float32 (one rounding at the end). Slices along axis 0 are transposed once.
The stable sigmoid is elementwise: e = exp(-|x|) (never overflows), then 1/(1 + e) or
e/(1 + e) by sign; its derivative is e/(1 + e)^2 for either sign (no 1 - σ cancellation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from harness import implementation
from suites.softmax_stable_and_gradients import SoftmaxOptions, check_backward, check_forward

_BLOCK = 1 << 16  # elements per block: 256 KB of float32, inside L2


def _rows_per_block(length: int) -> int:
    return max(1, _BLOCK // max(length, 1))


def _forward_rows(z: np.ndarray, log: bool, fill: float, work: Any) -> np.ndarray:
    """Softmax (or log-softmax) of every row of the C-contiguous z, in dtype ``work``."""
    out = np.empty(z.shape, dtype=work)
    if z.size == 0:
        return out
    step = _rows_per_block(z.shape[1])
    buf = np.empty((min(step, z.shape[0]), z.shape[1]), dtype=work) if log else None
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for r0 in range(0, z.shape[0], step):
            blk, o = z[r0 : r0 + step], out[r0 : r0 + step]
            top = blk.max(axis=1, keepdims=True).astype(work, copy=False)  # NaN propagates
            dead = top[:, 0] == -np.inf
            if dead.any():
                top[dead] = 0  # -inf - 0 = -inf: exp gives 0, the 0/0 row is filled below
            np.subtract(blk, top, out=o)
            if buf is not None:  # log-softmax: the exponentials go to a scratch block
                e = np.exp(o, out=buf[: len(o)])
                o -= np.log(e.sum(axis=1, keepdims=True))
            else:
                np.exp(o, out=o)
                o *= np.reciprocal(o.sum(axis=1, keepdims=True))
            if dead.any():
                o[dead] = fill
    return out


def _exp_neg_abs(x: np.ndarray, work: Any) -> np.ndarray:
    """e = exp(-|x|) in dtype ``work``, one buffer: in (0, 1], NaN stays NaN."""
    e: np.ndarray = np.abs(x, dtype=work)
    np.negative(e, out=e)
    np.exp(e, out=e)
    return e


def _sigmoid(x: np.ndarray, work: Any) -> np.ndarray:
    """1/(1 + e) where x >= 0, e/(1 + e) where x < 0, with e = exp(-|x|)."""
    e = _exp_neg_abs(x, work)
    with np.errstate(invalid="ignore"):
        num = np.where(x < 0, e, np.ones((), work))  # NaN: e is NaN, the quotient too
    e += 1
    np.divide(num, e, out=e)
    return e


def _layout(x: np.ndarray, axis: int) -> np.ndarray:
    """The slices as C-contiguous rows."""
    return np.ascontiguousarray(x.T if axis == 0 else x)


@implementation("softmax_stable_and_gradients", "numpy", "blocked")
def softmax(x: Any, opts: SoftmaxOptions) -> Any:
    """Row blocks in L2: max, subtract, exp, sum and scale in place on the output block."""
    dtype, axis = check_forward(x, opts)
    work = np.float32 if dtype == np.float16 else dtype
    if opts.function == "sigmoid":
        return _sigmoid(x, work).astype(dtype, copy=False)
    fill = np.nan if opts.all_neg_inf == "nan" else 0.0
    out = _forward_rows(_layout(x, axis), opts.function == "log_softmax", fill, work)
    out = out.astype(dtype, copy=False)
    return out.T if axis == 0 else out


def _vjp_rows(s: np.ndarray, g: np.ndarray, log: bool, work: Any) -> np.ndarray:
    """s·(g - <g, s>) or g - exp(saved)·Σg per row; ``s`` is what the forward saved."""
    out = np.empty(g.shape, dtype=work)
    if g.size == 0:
        return out
    step = _rows_per_block(g.shape[1])
    with np.errstate(invalid="ignore", over="ignore"):
        for r0 in range(0, g.shape[0], step):
            sb, gb, o = s[r0 : r0 + step], g[r0 : r0 + step], out[r0 : r0 + step]
            if log:  # saved log-probabilities: exp in place, then g - p·Σg
                np.exp(sb, out=o)
                o *= -gb.sum(axis=1, keepdims=True, dtype=work)
                o += gb
            else:
                np.multiply(gb, sb, out=o)
                c = o.sum(axis=1, keepdims=True)
                np.subtract(gb, c, out=o)
                o *= sb
    return out


@implementation("softmax_stable_and_gradients.backward", "numpy", "blocked", prepare=True)
def softmax_backward(x: Any, g: Any, opts: SoftmaxOptions) -> Callable[[], Any]:
    """Setup: the blocked forward (its saved output); timed: the blocked VJP."""
    dtype, axis = check_backward(x, g, opts)
    work = np.float32 if dtype == np.float16 else dtype
    if opts.function == "sigmoid":  # saved: σ' = e/(1 + e)^2, e = exp(-|x|)
        e = _exp_neg_abs(x, work)
        slope = e / np.square(e + 1)
        return lambda: np.multiply(g, slope, dtype=work).astype(dtype, copy=False)
    log = opts.function == "log_softmax"
    z = _layout(x, axis)
    saved = _forward_rows(z, log, np.nan, work)  # dead rows stay NaN: their VJP is NaN
    dead = np.flatnonzero(z.max(axis=1, initial=-np.inf) == -np.inf) if z.size else None
    zero = opts.all_neg_inf == "zero"

    def vjp() -> Any:
        out = _vjp_rows(saved, _layout(g, axis).astype(work, copy=False), log, work)
        if zero and dead is not None and dead.size:
            out[dead] = 0.0
        out = out.astype(dtype, copy=False)
        return out.T if axis == 0 else out

    return vjp

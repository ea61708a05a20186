"""dice_loss with Numba: one pass per image over blocks of pixels, pixels innermost so the
channel loops vectorise: max over channels, exp and sum into a (C, block) buffer, then each
probability is added straight into its class's three float64 sums. One kernel serves both
target formats, and scores are widened to float64, so it compiles once.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.dice_loss import DiceOptions, check, finish

_BLOCK = 512

_ACT = {"softmax": 0, "sigmoid": 1, "none": 2}


@numba.njit(cache=False)
def _activate(x: Any, i: int, j0: int, m: int, act: int, buf: Any, acc: Any) -> None:
    c = x.shape[1]
    if act == 2:
        for k in range(c):
            for j in range(m):
                buf[k, j] = x[i, k, j0 + j]
        return
    if act == 1:
        for k in range(c):
            for j in range(m):
                buf[k, j] = 1.0 / (1.0 + math.exp(-x[i, k, j0 + j]))
        return
    for j in range(m):
        acc[j] = x[i, 0, j0 + j]
    for k in range(1, c):
        for j in range(m):
            v = x[i, k, j0 + j]
            acc[j] = v if v > acc[j] or v != v else acc[j]
    top = acc.copy()
    acc[:m] = 0.0
    for k in range(c):
        for j in range(m):
            e = math.exp(x[i, k, j0 + j] - top[j])
            buf[k, j] = e
            acc[j] += e
    for j in range(m):
        acc[j] = 1.0 / acc[j]
    for k in range(c):
        for j in range(m):
            buf[k, j] *= acc[j]


@numba.njit(cache=False)
def _sums(
    x: Any, t: Any, g: Any, one_hot: bool, act: int, squared: bool, ignore: int, out: Any
) -> None:
    """Both target formats in one kernel (one compile per dtype): t (N, HW) indices, or
    g (N, C, HW) masks; the unused one is an empty placeholder."""
    n, c, hw = x.shape
    buf = np.empty((c, _BLOCK), dtype=x.dtype)
    acc = np.empty(_BLOCK, dtype=x.dtype)
    for i in range(n):
        for j0 in range(0, hw, _BLOCK):
            m = min(_BLOCK, hw - j0)
            _activate(x, i, j0, m, act, buf, acc)
            if one_hot:
                for k in range(c):
                    si, sg = 0.0, 0.0
                    for j in range(m):
                        gv = g[i, k, j0 + j]
                        si += buf[k, j] * gv
                        sg += gv * gv if squared else gv
                    out[0, i, k] += si
                    out[2, i, k] += sg
            else:
                for j in range(m):
                    k = t[i, j0 + j]
                    if k == ignore:  # the pixel counts nowhere: its probabilities zeroed
                        for kk in range(c):
                            buf[kk, j] = 0.0
                        continue
                    out[0, i, k] += buf[k, j]
                    out[2, i, k] += 1.0
            for k in range(c):
                sp = 0.0
                for j in range(m):
                    v = buf[k, j]
                    sp += v * v if squared else v
                out[1, i, k] += sp


@implementation("dice_loss", "numba", "fused")
def dice_loss(preds: Any, target: Any, opts: DiceOptions) -> Any:
    """Activation per pixel block, class sums accumulated in float64 in the same pass."""
    dtype = check(preds, target, opts)
    n, c = preds.shape[:2]
    hw = preds.shape[2] * preds.shape[3]
    # one compiled signature (the compile is most of a small call's cost): float32 scores
    # are widened once, which also makes the activation exact to float64
    x = np.ascontiguousarray(preds.reshape(n, c, hw), dtype=np.float64)
    sums = np.zeros((3, n, c))
    act = _ACT[opts.activation]
    if n * c * hw:
        one_hot = opts.target_format == "one_hot"
        t = np.zeros((0, 0), dtype=np.int64)
        g = np.zeros((0, 0, 0))
        if one_hot:
            g = np.ascontiguousarray(target.reshape(n, c, hw), dtype=np.float64)
        else:
            t = np.ascontiguousarray(target.reshape(n, hw), dtype=np.int64)
        ignore = -1 if opts.ignore_index is None else opts.ignore_index
        _sums(x, t, g, one_hot, act, opts.squared, ignore, sums)
    return finish(sums[0], sums[1], sums[2], opts).astype(dtype)

"""dice_loss in NumPy: pixel blocks of every image, activation in place on a (C, block)
buffer that stays in L2, then the three sums of the block accumulated in float64.

Indices: the target's probability is gathered once per pixel and binned by class
(np.bincount), so Σ p·g costs one pass instead of C; Σ g is a bincount of the indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.dice_loss import DiceOptions, check, finish

_BLOCK = 1 << 14  # pixels per block: C x 16k floats


def _activate(xb: Any, out: Any, activation: str) -> Any:
    if activation == "softmax":
        top = xb.max(axis=0)
        np.subtract(xb, top, out=out)
        np.exp(out, out=out)
        out *= np.reciprocal(out.sum(axis=0))
    elif activation == "sigmoid":  # 1 / (1 + exp(-x)); exp overflow gives 1/inf = 0: exact
        np.negative(xb, out=out)
        np.exp(out, out=out)
        out += 1
        np.reciprocal(out, out=out)
    else:
        out[...] = xb
    return out


@implementation("dice_loss", "numpy", "blocked")
def dice_loss(preds: Any, target: Any, opts: DiceOptions) -> Any:
    """Pixel blocks in L2; gather + bincount for index targets; float64 sums."""
    dtype = check(preds, target, opts)
    n, c = preds.shape[:2]
    hw = preds.shape[2] * preds.shape[3]
    x = preds.reshape(n, c, hw)
    one_hot = opts.target_format == "one_hot"
    t = target.reshape(n, c, hw) if one_hot else target.reshape(n, hw)
    sums = np.zeros((3, n, c))
    buf = np.empty((c, min(_BLOCK, hw)), dtype=dtype)
    cols = np.arange(min(_BLOCK, hw))
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(n):
            for j0 in range(0, hw, _BLOCK):
                xb = x[i, :, j0 : j0 + _BLOCK]
                m = xb.shape[1]
                p = _activate(xb, buf[:, :m], opts.activation)
                if one_hot:
                    g = t[i, :, j0 : j0 + _BLOCK]
                    sums[0, i] += np.einsum("cj,cj->c", p, g, dtype=np.float64)
                    sums[2, i] += (g * g if opts.squared else g).sum(axis=1, dtype=np.float64)
                else:
                    tb = t[i, j0 : j0 + _BLOCK]
                    if opts.ignore_index is not None:
                        valid = tb != opts.ignore_index
                        p *= valid
                        tb = np.where(valid, tb, 0)
                        weight = valid.astype(np.float64)
                    else:
                        weight = None
                    pg = p[tb, cols[:m]].astype(np.float64)
                    sums[0, i] += np.bincount(tb, pg, minlength=c)[:c]
                    sums[2, i] += np.bincount(tb, weight, minlength=c)[:c]
                if opts.squared:
                    np.multiply(p, p, out=p)
                sums[1, i] += p.sum(axis=1, dtype=np.float64)
    return finish(sums[0], sums[1], sums[2], opts).astype(dtype)

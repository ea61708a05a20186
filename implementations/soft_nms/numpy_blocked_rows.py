"""soft_nms in NumPy: decay factors f(IoU) for blocks of 256 boxes against all N, built on
first need with one broadcast each; the sequential loop is then one argmax and one row
multiply per emitted box. Dropped and emitted boxes hold -inf, all in the input dtype;
prune='after' drops no box in the loop and filters the emitted ones at the end."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.soft_nms import ARGS, SoftNmsOptions

_BLOCK = 256


def _factors(b: Any, r0: int, t: Any, scale: Any, opts: SoftNmsOptions) -> Any:
    """(rows, N) decay factors of boxes r0 .. r0 + 256 against every box."""
    r = b[r0 : r0 + _BLOCK, None, :]
    iw = np.minimum(r[..., 2], b[:, 2]) - np.maximum(r[..., 0], b[:, 0])
    ih = np.minimum(r[..., 3], b[:, 3]) - np.maximum(r[..., 1], b[:, 1])
    inter = np.maximum(iw, 0) * np.maximum(ih, 0)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area[r0 : r0 + _BLOCK, None] + area - inter
    iou = np.zeros_like(inter)
    np.divide(inter, union, out=iou, where=union != 0)  # zero union: IoU 0
    if opts.method == "gaussian":
        return np.exp(-(iou * iou) / scale)
    hit = iou >= t if opts.decay_if == "ge" else iou > t
    return np.where(hit, 1 - iou if opts.method == "linear" else 0, 1).astype(b.dtype)


@implementation("soft_nms", "numpy", "blocked_rows")
def soft_nms(boxes: Any, scores: Any, iou_threshold: float, sigma: float,
             score_threshold: float, opts: SoftNmsOptions) -> tuple[Any, Any]:  # fmt: skip
    """Lazily blocked factor rows; argmax (first maximum: lowest index) per step."""
    dtype = np.result_type(ARGS.check(boxes, scores, iou_threshold, sigma, score_threshold),
                           np.float32)  # fmt: skip
    thr, t = dtype.type(score_threshold), dtype.type(iou_threshold)
    scale = dtype.type(sigma if opts.gaussian_form == "sigma" else 2.0 * sigma * sigma)
    b = np.asarray(boxes, dtype=dtype)
    s = np.asarray(scores, dtype=dtype)
    during = opts.prune == "during"
    # a new array, decayed in place; prune='after': the lowest live score is -inf at most
    s = np.where(s >= thr, s, dtype.type(-np.inf)) if during else s.copy()
    done = np.zeros(s.size, dtype=bool)
    blocks: dict[int, Any] = {}
    keep, kept = [], []
    with np.errstate(invalid="ignore"):  # -inf * 0 = NaN on dropped boxes: dropped again
        for _ in range(s.size):
            i = int(np.argmax(s))
            if done[i] or (during and s[i] == -np.inf):  # (after: every other box is -inf)
                break
            keep.append(i)
            kept.append(s[i])
            s[i], done[i] = -np.inf, True
            if i // _BLOCK not in blocks:
                blocks[i // _BLOCK] = _factors(b, i - i % _BLOCK, t, scale, opts)
            s *= blocks[i // _BLOCK][i % _BLOCK]
            s[~(s >= thr) if during else np.isnan(s) | done] = -np.inf
    k, v = np.array(keep, dtype=np.int64), np.array(kept, dtype=dtype)
    return (k, v) if during else (k[v >= thr], v[v >= thr])

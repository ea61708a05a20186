"""miou_mdice in pure Python: one loop over the pixels into a flat list of counts, then the
ratios from the suite's finishing step (C² numbers)."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.miou_mdice import MiouOptions, check, finish

_CAP = 2.0 * 200_000  # about 200k pixels: ~0.1 s of loops


@implementation("miou_mdice", "python", "loops", max_flops=_CAP)
def miou_mdice(pred: Any, target: Any, class_weights: Any, opts: MiouOptions) -> Any:
    """Pixel loop into flat counts (per image when asked), then the ratios."""
    # nested empty lists carry neither a dtype nor their trailing sizes: no pixel to check
    empty = not np.asarray(pred).size and not np.asarray(target).size
    check([] if empty else pred, [] if empty else target, class_weights, opts)
    c = len(class_weights)
    per_image = opts.accumulate == "per_image"
    counts = [0] * ((len(pred) if per_image else 1) * c * c)
    ignore = opts.ignore_index
    for n, (p_img, t_img) in enumerate(zip(pred, target, strict=True)):
        base = n * c * c if per_image else 0
        for p_row, t_row in zip(p_img, t_img, strict=True):
            for p, t in zip(p_row, t_row, strict=True):
                if t != ignore:
                    counts[base + t * c + p] += 1
    shape = (len(pred), c, c) if per_image else (c, c)
    iou, dice = finish(np.array(counts, dtype=np.int64).reshape(shape), class_weights, opts)
    return iou.tolist(), dice.tolist()

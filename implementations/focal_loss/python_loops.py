"""focal_loss in pure Python: one loop over the elements on plain floats.

Each element costs one exp (shared by the sigmoid and the softplus of -|x|) and one log1p;
the power is a multiplication for γ = 2 and γ = 1. Sums use math.fsum.
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.focal_loss import FocalOptions, check

_CAP = 23.0 * 200_000  # about 200k elements: ~0.3 s of loops


def _power(q: float, gamma: float) -> float:
    if gamma == 2.0:
        return q * q
    return q if gamma == 1.0 else q**gamma  # 0.0 ** 0.0 == 1.0


def _element(x: float, y: float, alpha: float, gamma: float, logits: bool, eps: float) -> float:
    if x != x:
        return math.nan
    if logits:
        e = math.exp(-abs(x))  # in (0, 1]: never overflows
        p = 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)
        ce = max(x, 0.0) - x * y + math.log1p(e)
    else:
        p = x
        ce = -(y * math.log(max(p, eps)) + (1.0 - y) * math.log(max(1.0 - p, eps)))
    loss = ce * _power(p + y - 2.0 * p * y, gamma)  # 1 - p_t
    if alpha >= 0:
        loss *= alpha * y + (1.0 - alpha) * (1.0 - y)
    return loss


@implementation("focal_loss", "python", "loops", max_flops=_CAP,
                supports={"form": ("sigmoid",)})  # fmt: skip
def focal_loss(inputs: Any, targets: Any, alpha: float, gamma: float, opts: FocalOptions) -> Any:
    """Per element: one exp, one log1p, the power by multiplication; then the reduction."""
    check(inputs, targets, alpha, gamma, opts)
    logits = opts.input == "logits"
    a, g, eps = float(alpha), float(gamma), opts.clip_eps
    rows = [
        [_element(float(x), float(y), a, g, logits, eps) for x, y in zip(xr, yr, strict=True)]
        for xr, yr in zip(inputs, targets, strict=True)
    ]
    if opts.reduction == "none":
        return rows
    total = math.fsum(v for row in rows for v in row)
    n, k = len(rows), sum(len(r) for r in rows)
    if opts.reduction == "sum":
        return total
    if opts.reduction == "mean":
        return total / k if k else math.nan
    if opts.reduction == "per_sample_mean":
        return total / n if n else math.nan
    positives = sum(1 for yr in targets if any(float(y) > 0 for y in yr))
    return total / max(1, positives)

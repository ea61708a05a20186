"""torchmetrics.functional.segmentation.dice_score, adapted: loss = 1 - Dice.

dice_score is a hard metric with no smoothing: float inputs are argmaxed, integer one-hot
masks are counted as they are, and 0/0 is NaN. It answers the activation='none', smooth=0
corner: hard predictions (0/1 masks) as integer one-hot masks (so an empty prediction stays
empty instead of becoming class 0), the target as indices (input_format='mixed') or
integer masks. average: 'image_class' is aggregation_level='samplewise' with average='none'
(a Dice per image and class), 'class' is 'global' with 'none', 'micro' is 'global' with
'micro'. include_background passes through (C = 1: torchmetrics keeps its one class; the
adapter drops it). dice_score has no ignore_index: ignored pixels are zeroed in both masks
before the call. The adapter applies the empty rule to torchmetrics' NaN and the reduction;
softmax and sigmoid (soft Dice) and s > 0 are refused as unsupported, and so are soft
predictions or soft target masks (ValueError), which dice_score would argmax. With 0/1 masks
squares change nothing (p² = p). torchmetrics divides in float32 whatever the input dtype.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from torchmetrics.functional.segmentation import dice_score

from harness import implementation
from suites.dice_loss import DiceOptions, check

_F32 = "torchmetrics divides the counts in float32: ~1e-8 relative, past the float64 tolerance"


def _masks(x: Any, name: str) -> Any:
    """0/1 float masks -> int64 (counted as they are); anything else is not expressible."""
    if not bool(((x == 0) | (x == 1)).all()):
        raise ValueError(
            f"{name}: torchmetrics' dice_score is a hard metric (it argmaxes float scores); "
            "soft values cannot be expressed"
        )
    return x.to(torch.int64)


def _dice(p: Any, g: Any, c: int, fmt: Any, opts: DiceOptions) -> Any:
    """dice_score's Dice values: (N, C') per image and class, (C',) per class, () micro."""
    level: Any = "samplewise" if opts.average == "image_class" else "global"
    average: Any = "micro" if opts.average == "micro" else "none"
    background = opts.include_background or c == 1
    with warnings.catch_warnings():
        # dice_score warns on every average='micro' call that its default changed (we pass
        # average explicitly)
        warnings.filterwarnings("ignore", "dice_score metric currently defaults", UserWarning)
        d = dice_score(
            p,
            g,
            num_classes=c,
            include_background=background,
            average=average,
            input_format=fmt,
            aggregation_level=level,
        ).to(torch.float64)
    if not opts.include_background and c == 1:  # torchmetrics keeps a lone class 0
        d = d[..., :0]
    return d if level == "samplewise" else d[0]


def _reduce(d: Any, opts: DiceOptions) -> Any:
    """The empty rule on the NaN of 0/0, then the reduction of 1 - D."""
    fill = {"one": 1.0, "zero": 0.0}.get(opts.empty)
    if fill is not None:
        d = torch.where(torch.isnan(d), fill, d)
    losses = 1.0 - d
    if opts.reduction == "none":
        return losses
    kept = losses[~torch.isnan(losses)] if opts.empty == "skip" else losses.reshape(-1)
    if opts.reduction == "sum":
        return kept.sum()
    return kept.mean() if kept.numel() else losses.new_tensor(math.nan)


@implementation(
    "dice_loss",
    "library",
    "torchmetrics",
    arrays="torch_cpu",
    requires=("torchmetrics", "torch"),
    supports={"activation": ("none",), "smooth": (0.0,)},
    expected_failures={"torchmetrics_like_f64": _F32},
)
def dice_loss(preds: Any, target: Any, opts: DiceOptions) -> Any:
    """Hard Dice of 0/1 prediction masks by dice_score (samplewise or global, per class or
    micro); the empty rule, ignored pixels and the reduction are the adapter's."""
    check(preds, target, opts)
    n, c, h, w = preds.shape
    dtype = preds.dtype
    if n * c * h * w == 0:  # torchmetrics refuses C = 0 and cannot reduce empty images
        shape = {"image_class": (n, c), "class": (c,), "micro": ()}[opts.average]
        shape = (*shape[:-1], max(c - 1, 0)) if shape and not opts.include_background else shape
        nan = torch.full(shape, math.nan, dtype=torch.float64)
        return _reduce(nan, opts).to(dtype)
    p = _masks(preds, "preds")
    if opts.target_format == "one_hot":
        g, fmt = _masks(target, "target"), "one-hot"
    elif opts.ignore_index is None:
        g, fmt = target[:, 0].to(torch.int64), "mixed"
    else:  # dice_score has no ignore_index: the ignored pixels leave both masks
        t = target[:, 0].to(torch.int64)
        valid = t != opts.ignore_index
        g = torch.nn.functional.one_hot(torch.where(valid, t, 0), c).movedim(-1, 1)
        g = g * valid[:, None]
        p = p * valid[:, None]
        fmt = "one-hot"
    return _reduce(_dice(p, g, c, fmt, opts), opts).to(dtype)

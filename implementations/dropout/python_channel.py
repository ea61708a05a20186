"""Channel dropout in pure Python: nested lists walked per (sample, channel); each channel's
factor (s or 0) chosen once, then applied to every value of its spatial sub-lists."""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.dropout import CHANNEL_ARGS, DropoutOptions, dropout_scale


def _scaled(block: Any, f: float) -> Any:
    """A copy of a nested list with every value multiplied by f."""
    if isinstance(block, list):
        return [_scaled(b, f) for b in block]
    return block * f


def _zeros(block: Any) -> Any:
    if isinstance(block, list):
        return [_zeros(b) for b in block]
    return 0.0


@implementation(
    "dropout.channel",
    "python",
    "loops",
    # 40,000 values: the verify cases up to channel_3d_f32 (the larger ones take seconds),
    # not the smoke bench (65,536 values), which would cost the quick profile 0.3 s
    max_flops=2.0 * 40_000,
    expected_failures={
        "channel_empty_c": "a list of empty samples carries no dtype: the (N, 0) mask reads "
        "as float64 and CHANNEL_ARGS.check refuses it as not bool",
    },
)
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """Per channel: x·s if kept, x·0.0 (product: NaN stays NaN) or 0.0 (select) if not."""
    CHANNEL_ARGS.check(x, mask, p)
    s = dropout_scale(float(p), opts)
    if not opts.training:
        return _scaled(x, s)
    out = []
    for sample, keeps in zip(x, mask, strict=True):
        row = []
        for channel, k in zip(sample, keeps, strict=True):
            if k:
                row.append(_scaled(channel, s))
            elif opts.nan_dropped == "product":
                row.append(_scaled(channel, 0.0))
            else:
                row.append(_zeros(channel))
        out.append(row)
    return out

"""resize_nearest through torch: F.interpolate(mode='nearest' or 'nearest-exact'), CPU.

torch forms the source index from scale = in/out rounded to float32, so at an exact pixel
boundary it can pick the pixel before: the *_boundary cases.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.resize_bilinear import check_resize
from suites.resize_nearest import NearestOptions

_MODE = {"legacy": "nearest", "exact": "nearest-exact"}


@implementation(
    "resize_nearest",
    "library",
    "torch_interpolate",
    arrays="torch_cpu",
    requires=("torch",),
    expected_failures={
        "legacy_boundary": "'nearest' takes floorf(dst * scale) with scale = in/out in "
        "float32: at 26 -> 22 the product lands just below an exact boundary (one row short)",
        "exact_boundary": "'nearest-exact' takes floorf((dst + 0.5) * scale) with a float32 "
        "scale: at 14 -> 23 it lands just below an exact boundary",
    },
)
def resize(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    """F.interpolate(size=(out_h, out_w), mode=...) (empty batches answered directly)."""
    check_resize(image, out_h, out_w)
    n, c = image.shape[:2]
    if n * c == 0:  # torch refuses an empty batch or channel axis
        return torch.empty((n, c, out_h, out_w), dtype=image.dtype)
    out = F.interpolate(image, size=(out_h, out_w), mode=_MODE[opts.nearest_mode])
    return out if out.data_ptr() != image.data_ptr() else out.clone()

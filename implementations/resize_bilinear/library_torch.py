"""resize_bilinear through torch: F.interpolate(mode='bilinear', size=...), CPU tensors.

align_corners and antialias map to torch's arguments (torch has no asymmetric mapping).
uint8: 'fixed_point' is torch's own uint8 kernel (fixed-point weights, two passes each
rounded to uint8); 'exact' interpolates a float64 copy and rounds half up once.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.resize_bilinear import ResizeOptions, check_resize


@implementation(
    "resize_bilinear",
    "library",
    "torch_interpolate",
    arrays="torch_cpu",
    requires=("torch",),
    supports={"asymmetric": (False,)},
    expected_failures={
        "uint8_down": "'exact' uint8 goes through the float64 path: an exact .5 tie comes "
        "out an ulp low and rounds down",
        "uint8_extremes": "'exact' uint8 goes through the float64 path: an exact .5 tie "
        "comes out an ulp low and rounds down",
    },
)
def resize(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    """F.interpolate(size=(out_h, out_w), mode='bilinear', align_corners=, antialias=)."""
    out_dtype = check_resize(image, out_h, out_w)
    n, c = image.shape[:2]
    if n * c == 0:  # torch refuses an empty batch or channel axis
        return torch.empty((n, c, out_h, out_w), dtype=out_dtype)
    exact_u8 = out_dtype == torch.uint8 and opts.uint8_arithmetic == "exact"
    x = image.to(torch.float64) if exact_u8 else image
    out = F.interpolate(
        x,
        size=(out_h, out_w),
        mode="bilinear",
        align_corners=opts.align_corners,
        antialias=opts.antialias,
    )
    if exact_u8:
        return out.add_(0.5).floor_().clamp_(0, 255).to(torch.uint8)
    return out if out.data_ptr() != image.data_ptr() else out.clone()

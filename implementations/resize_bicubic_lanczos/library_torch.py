"""resize_bicubic_lanczos through torch: F.interpolate(mode='bicubic', size=...), CPU.

'cubic' is antialias=False (Keys a = -0.75, border replicate), 'cubic_antialias' is
antialias=True (a = -0.5, Pillow's stretched and truncated filter); align_corners maps to
torch's flag. uint8 goes through a float64 copy, rounded half up once: torch's own uint8
bicubic saturates its first pass to [0, 255] before the second, which moves overshooting
pixels by up to ~20 grey levels.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.resize_bicubic_lanczos import ResizeCubicOptions, check_resize


@implementation(
    "resize_bicubic_lanczos",
    "library",
    "torch_interpolate",
    arrays="torch_cpu",
    requires=("torch",),
    supports={"mode": ("cubic", "cubic_antialias"), "uint8_arithmetic": ("exact",)},
)
def resize(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    """F.interpolate(size=(out_h, out_w), mode='bicubic', align_corners=, antialias=)."""
    out_dtype = check_resize(image, out_h, out_w)
    n, c = image.shape[:2]
    if n * c == 0:  # torch refuses an empty batch or channel axis
        return torch.empty((n, c, out_h, out_w), dtype=out_dtype)
    is_u8 = out_dtype == torch.uint8
    x = image.to(torch.float64) if is_u8 else image
    out = F.interpolate(
        x,
        size=(out_h, out_w),
        mode="bicubic",
        align_corners=opts.align_corners,
        antialias=opts.mode == "cubic_antialias",
    )
    if is_u8:
        return out.add_(0.5).floor_().clamp_(0, 255).to(torch.uint8)
    return out if out.data_ptr() != image.data_ptr() else out.clone()

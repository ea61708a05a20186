"""interpolate_scale_factor_vs_size through torch: F.interpolate on the path the flags name.

Sizes given: size=(out_h, out_w). Scales given: scale_factor=(scale_h, scale_w), with
recompute_scale_factor=True for scale_source='size' (the map then uses in/out) and left
unset for 'scale_factor' (the map uses 1/scale). torch copies the input whenever the
output size equals the input size, and its nearest takes dst >> 1 whenever the output is
twice the input, whatever the scale: its documented divergences.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.interpolate_scale_factor_vs_size import ScaleOptions, plan


@implementation(
    "interpolate_scale_factor_vs_size",
    "library",
    "torch_interpolate",
    arrays="torch_cpu",
    requires=("torch",),
    expected_failures={
        "same_size_scale_1_01": "torch copies the input when floor(in·scale) = in, "
        "ignoring the 1/scale map",
        "double_size_nearest_2_04": "torch's nearest takes dst >> 1 when floor(in·scale) = "
        "2·in, ignoring the 1/scale map",
    },
)
def interpolate(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    """F.interpolate(size=...) or F.interpolate(scale_factor=..., recompute_scale_factor=...)."""
    dtype, oh, ow, used = plan(image, out_h, out_w, scale_h, scale_w, opts)
    n, c = image.shape[:2]
    if n * c == 0:  # torch refuses an empty batch or channel axis
        return torch.zeros((n, c, oh, ow), dtype=dtype)
    align = False if opts.mode == "bilinear" else None
    if out_h is not None:
        out = F.interpolate(image, size=(oh, ow), mode=opts.mode, align_corners=align)
    else:
        out = F.interpolate(
            image, scale_factor=(scale_h, scale_w), mode=opts.mode, align_corners=align,
            recompute_scale_factor=True if used is None else None,
        )  # fmt: skip
    return out if out.data_ptr() != image.data_ptr() else out.clone()

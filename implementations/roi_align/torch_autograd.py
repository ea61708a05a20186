"""roi_align.backward through torch autograd: the gather forward run on a leaf copy of the
features, then torch.autograd.grad with the upstream gradient (index backward = scatter-add).
The same code runs on CPU and CUDA tensors."""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from implementations.roi_align.xp_gather import roi_align as gather_forward
from suites.roi_align import RoiAlignBackwardOptions, RoiAlignOptions, check_backward


@implementation("roi_align.backward", ("torch_cpu", "torch_cuda"), "autograd")
def roi_align_backward(features: Any, rois: Any, grad: Any, pooled_height: int,
                       pooled_width: int, spatial_scale: float, sampling_ratio: int,
                       opts: RoiAlignBackwardOptions) -> Any:  # fmt: skip
    """Autograd of the channels-last gather forward (average pooling)."""
    dtype = check_backward(features, rois, grad, pooled_height, pooled_width, spatial_scale,
                           sampling_ratio)  # fmt: skip
    leaf = features.detach().to(dtype).clone().requires_grad_(True)
    fwd = RoiAlignOptions(aligned=opts.aligned, pool_mode="avg")
    with torch.enable_grad():
        out = gather_forward(leaf, rois, pooled_height, pooled_width, spatial_scale,
                             sampling_ratio, fwd)  # fmt: skip
        if not out.requires_grad:  # no RoI or no channel: nothing reaches the features
            return torch.zeros_like(leaf, requires_grad=False)
        (g,) = torch.autograd.grad(out, leaf, grad.to(dtype), allow_unused=True)
    return torch.zeros_like(features, dtype=dtype) if g is None else g

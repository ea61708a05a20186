"""conv_bn_fusion with torch.nn.utils.fusion.fuse_conv_bn_weights, the function
fuse_conv_bn_eval applies to an eval-mode Conv/BN pair (transpose=True for ConvTranspose
weights). It computes in the parameters' dtype; for compute='widened' the float16
parameters are given to it as float32 and the result cast back.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.utils.fusion import fuse_conv_bn_weights

from harness import implementation
from suites.conv_bn_fusion import FusionOptions, check


@implementation(
    "conv_bn_fusion",
    "library",
    "torch_fuse_conv_bn_weights",
    arrays="torch_cpu",
    requires=("torch",),
    expected_failures={
        "transposed_grouped_f32": "fuse_conv_bn_weights(transpose=True) reshapes the scale to "
        "(1, O, 1, ...) against a grouped weight's (C_in, O/g, ...): it cannot fuse groups",
        "transposed_grouped_3_f64": "fuse_conv_bn_weights(transpose=True) cannot fuse a grouped "
        "ConvTranspose weight",
        "transposed_no_inputs": "a grouped (groups=2) ConvTranspose weight, which "
        "fuse_conv_bn_weights(transpose=True) cannot fuse",
    },
)
def fuse(weight: Any, bias: Any, running_mean: Any, running_var: Any, gamma: Any, beta: Any,
         eps: float, groups: int, opts: FusionOptions) -> Any:  # fmt: skip
    """fuse_conv_bn_weights(w, b, μ, σ², eps, γ, β, transpose), returned as plain tensors."""
    dtype = check(weight, bias, running_mean, running_var, gamma, beta, eps, groups, opts)
    widen = opts.compute == "widened" and dtype == torch.float16
    args = [weight, bias, running_mean, running_var, gamma, beta]
    if widen:
        args = [None if t is None else t.float() for t in args]
    w, b, m, v, g, be = args
    with torch.no_grad():
        fw, fb = fuse_conv_bn_weights(w, b, m, v, eps, g, be, transpose=opts.transposed)
    return fw.detach().to(dtype), fb.detach().to(dtype)

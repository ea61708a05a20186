"""torch.nn.functional.group_norm / layer_norm / instance_norm, chosen by the norm option.

What nn.GroupNorm, nn.LayerNorm and nn.InstanceNorm*d call: layer_norm gets the trailing
normalized_ndim axes as normalized_shape, instance_norm uses the input statistics (no running
buffers, use_input_stats=True).
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from harness import implementation
from suites.group_layer_instance_norm import NormOptions, check


@implementation(
    "group_layer_instance_norm",
    "library",
    "torch",
    arrays="torch_cpu",
    requires=("torch",),
    expected_failures={
        "instance_1x1_spatial": "F.instance_norm raises 'Expected more than 1 spatial element "
        "when training' for a single spatial element",
        "empty_instance_affine": "F.instance_norm raises IndexError for N·C = 0 with a weight "
        "or bias",
    },
)
def norm(x: Any, weight: Any, bias: Any, num_groups: int, opts: NormOptions) -> Any:
    """F.group_norm(x, G, w, b, eps), F.layer_norm(x, x.shape[-k:], w, b, eps) or
    F.instance_norm(x, weight=w, bias=b, use_input_stats=True, eps=eps)."""
    check(x, weight, bias, num_groups, opts)
    if opts.norm == "group":
        return F.group_norm(x, num_groups, weight, bias, opts.eps)
    if opts.norm == "layer":
        shape = tuple(x.shape[-opts.normalized_ndim :])
        return F.layer_norm(x, shape, weight, bias, opts.eps)
    return F.instance_norm(x, weight=weight, bias=bias, use_input_stats=True, eps=opts.eps)

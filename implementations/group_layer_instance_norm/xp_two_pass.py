"""group_layer_instance_norm through the array API: two-pass statistics on a row view.

One code for NumPy, torch (CPU and CUDA) and CuPy via array-api-compat: x is viewed as R rows
of K values (one row per set of statistics, no copy for contiguous x), the mean is one
reduction, the centred values are formed once and reused for the variance (a dot product
per row) and for the output, which is scaled and shifted in place.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.group_layer_instance_norm import NormOptions, check, stat_rows


@implementation(
    "group_layer_instance_norm", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "two_pass"
)
def norm(x: Any, weight: Any, bias: Any, num_groups: int, opts: NormOptions) -> Any:
    """mean per row, xc = x - mean, var = xc·xc / K, xc *= rsqrt(var + eps), affine in place."""
    check(x, weight, bias, num_groups, opts)
    xp = array_namespace(x)
    shape = tuple(x.shape)
    r, k = stat_rows(shape, num_groups, opts)
    if r * k == 0:
        return xp.empty(shape, dtype=x.dtype, device=device(x))
    flat = xp.reshape(x, (r, k))
    xc = flat - xp.mean(flat, axis=1, keepdims=True)
    var = xp.vecdot(xc, xc, axis=1)[:, None] / k  # biased
    xc *= 1.0 / xp.sqrt(var + opts.eps)  # eps inside the sqrt
    if opts.norm == "layer":  # per element of normalized_shape: the rows' own axis
        if weight is not None:
            xc *= xp.reshape(weight, (1, k))
        if bias is not None:
            xc += xp.reshape(bias, (1, k))
        return xp.reshape(xc, shape)
    n, c = shape[0], shape[1]
    per_channel = xp.reshape(xc, (n, c, k * r // (n * c)))  # the same memory, by channel
    if weight is not None:
        per_channel *= weight[:, None]
    if bias is not None:
        per_channel += bias[:, None]
    return xp.reshape(per_channel, shape)

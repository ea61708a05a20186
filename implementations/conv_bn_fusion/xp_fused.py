"""conv_bn_fusion through the array API (NumPy, torch CPU/CUDA, CuPy, one code): the
per-channel scale computed once (O values), then one broadcast multiply over the weight,
laid out along axis 0, or along axis 1 per group for a transposed weight (a reshape to
(g, C_in/g, O/g, *k), no copy). float16 under compute='widened' is fused in float32 and
cast back; otherwise every operation stays in the parameters' dtype, in torch's order.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.conv_bn_fusion import FusionOptions, check


@implementation("conv_bn_fusion", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "broadcast")
def fuse(weight: Any, bias: Any, running_mean: Any, running_var: Any, gamma: Any, beta: Any,
         eps: float, groups: int, opts: FusionOptions) -> Any:  # fmt: skip
    """One rsqrt per channel, one broadcast multiply over the weight, one affine for b'."""
    dtype = check(weight, bias, running_mean, running_var, gamma, beta, eps, groups, opts)
    xp = array_namespace(weight, running_mean)
    wide = opts.compute == "widened" and dtype == xp.float16
    ct = xp.float32 if wide else dtype
    m, v = xp.astype(running_mean, ct), xp.astype(running_var, ct)
    rs = 1 / xp.sqrt(v + eps)  # sqrt(0) = 0: 1/0 = inf, as torch's rsqrt
    scale = rs if gamma is None else xp.astype(gamma, ct) * rs
    w = xp.astype(weight, ct)
    k = (1,) * (w.ndim - 2)
    if opts.transposed:
        a, b = w.shape[0], w.shape[1]
        grouped = xp.reshape(w, (groups, a // groups, b, *w.shape[2:]))
        fused_w = xp.reshape(grouped * xp.reshape(scale, (groups, 1, b, *k)), w.shape)
    else:
        fused_w = w * xp.reshape(scale, (-1, 1, *k))
    shift = -m if bias is None else xp.astype(bias, ct) - m
    fused_b = shift * rs
    if gamma is not None:
        fused_b = fused_b * xp.astype(gamma, ct)
    if beta is not None:
        fused_b = fused_b + xp.astype(beta, ct)
    return xp.astype(fused_w, dtype), xp.astype(fused_b, dtype)

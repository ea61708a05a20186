"""depthwise_separable_conv through the array API (NumPy, CuPy, torch CPU/CUDA): the
depthwise stage as kH·kW whole-array multiply-adds of strided windows (bytes-bound, so no
GEMM), the pointwise stage as one batched matrix product (N, O, M) @ (N, M, H_out·W_out).

The zero-padded input is built once with every input channel repeated m times (the depth
multiplier), so tap (i, j) is one broadcast multiply by the (M,) column of w_dw. The channel
shuffle costs nothing: it reorders the rows of the pointwise weights and bias instead of the
output.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.depthwise_separable_conv import SeparableOptions, check


@implementation(
    "depthwise_separable_conv", ("numpy", "cupy", "torch_cpu", "torch_cuda"), "taps_matmul"
)
def separable(x: Any, w_dw: Any, b_dw: Any, w_pw: Any, b_pw: Any, opts: SeparableOptions) -> Any:
    """Padded (repeated) copy, tap-by-tap depthwise accumulate, one matmul, biases."""
    dtype, plan = check(x, w_dw, b_dw, w_pw, b_pw, opts)
    xp, dev = array_namespace(x), device(x)
    n, c, h, w = x.shape
    m, o = w_dw.shape[0], w_pw.shape[0]
    (sh, sw), (dh, dw), oh, ow = plan.stride, plan.dilation, plan.out_h, plan.out_w
    t, b, left, r = plan.pads
    if n * o == 0:
        return xp.zeros((n, o, oh, ow), dtype=dtype, device=dev)
    src = xp.astype(x, dtype)
    if m != c:  # depth multiplier: channel q of the padded copy is input channel q // m
        src = xp.repeat(src, m // c, axis=1)
    if any(plan.pads):
        pad = xp.zeros((n, m, h + t + b, w + left + r), dtype=dtype, device=dev)
        pad[:, :, t : t + h, left : left + w] = src
        src = pad
    wd = xp.astype(w_dw, dtype)
    mid = xp.zeros((n, m, oh, ow), dtype=dtype, device=dev)
    for i in range(w_dw.shape[2]):
        for j in range(w_dw.shape[3]):
            win = src[:, :, i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                      j * dw : j * dw + sw * (ow - 1) + 1 : sw]  # fmt: skip
            mid += wd[:, 0, i, j][:, None, None] * win
    if b_dw is not None:
        mid += xp.astype(b_dw, dtype)[:, None, None]
    g = opts.shuffle_groups  # output k = row (k % g)·(O/g) + k // g: a (g, O/g) transpose
    wp = xp.reshape(xp.astype(w_pw, dtype), (g, o // g, m))
    wp = xp.reshape(xp.permute_dims(wp, (1, 0, 2)), (o, m))
    out = xp.reshape(xp.matmul(wp, xp.reshape(mid, (n, m, oh * ow))), (n, o, oh, ow))
    if b_pw is not None:
        bp = xp.reshape(xp.astype(b_pw, dtype), (g, o // g))
        out += xp.reshape(xp.permute_dims(bp, (1, 0)), (o,))[:, None, None]
    return out

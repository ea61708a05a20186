"""conv2d_direct through OpenCV: cv2.copyMakeBorder pads (BORDER_CONSTANT, REFLECT_101,
REPLICATE, WRAP for the four padding modes), then cv2.filter2D correlates (no kernel flip)
with the anchor at the kernel's top-left corner and BORDER_CONSTANT, and the valid part is
cropped: the spec's third reference.

filter2D applies one 2-D kernel to every channel of an (H, W, k) image, so the N images of
one input channel travel together as channels (at most 256 per call) and the adapter loops
over the (output channel, input channel) pairs of each group. Dilation spreads the kernel
with zeros; the stride keeps every s-th valid position.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.conv2d_direct import ARGS, ConvOptions, conv_plan

_BORDERS = {
    "zeros": cv2.BORDER_CONSTANT,
    "reflect": cv2.BORDER_REFLECT_101,  # torch 'reflect': the mirror without the edge pixel
    "replicate": cv2.BORDER_REPLICATE,
    "circular": cv2.BORDER_WRAP,
}
_MAX_CHANNELS = 256  # copyMakeBorder refuses 512-channel images


@implementation(
    "conv2d_direct",
    "library",
    "cv2",
    arrays="numpy",
    requires=("cv2",),
    # O·C/g filter2D calls: ~100 ms at the quick standard. Capped below the smoke bench
    # (1.76e5 flops) so it adds no cell to the quick profile (6 s budget); it verifies the
    # 20 smaller cases (groups, strides, dilation, every padding mode among them).
    max_flops=1.75e5,
)
def conv2d(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """Sum over the group's input channels of filter2D(padded plane, dilated kernel)[valid, ::s]."""
    dtype = ARGS.check(x, weight, bias)
    plan = conv_plan(x.shape, weight.shape, opts)
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    t, b, left, r = plan.pads
    if opts.padding_mode == "circular" and (max(t, b) > h or max(left, r) > w):
        raise ValueError(f"circular padding {plan.pads} must not exceed x's H, W")
    (sh, sw), (dh, dw), og = plan.stride, plan.dilation, o // plan.groups
    kernel = np.zeros((o, cg, dh * (kh - 1) + 1, dw * (kw - 1) + 1), dtype=dtype)
    kernel[:, :, ::dh, ::dw] = weight
    rows = slice(0, sh * (plan.out_h - 1) + 1, sh)
    cols = slice(0, sw * (plan.out_w - 1) + 1, sw)
    out = np.zeros((n, o, plan.out_h, plan.out_w), dtype=dtype)
    planes = np.asarray(x, dtype=dtype).transpose(1, 2, 3, 0)  # (C, H, W, N)
    for lo in range(0, n, _MAX_CHANNELS):
        hi = min(lo + _MAX_CHANNELS, n)
        for ci in range(c):
            img = np.ascontiguousarray(planes[ci, :, :, lo:hi])
            padded = cv2.copyMakeBorder(img, t, b, left, r, _BORDERS[opts.padding_mode], value=0)
            padded = padded.reshape(padded.shape[0], padded.shape[1], hi - lo)
            group, j = divmod(ci, cg)
            for oc in range(group * og, (group + 1) * og):
                res = cv2.filter2D(
                    padded, -1, kernel[oc, j], anchor=(0, 0), borderType=cv2.BORDER_CONSTANT
                )
                res = res.reshape(padded.shape[0], padded.shape[1], hi - lo)
                out[lo:hi, oc] += res[rows, cols].transpose(2, 0, 1)
    if bias is not None:
        out += np.asarray(bias, dtype=dtype)[:, None, None]
    return out

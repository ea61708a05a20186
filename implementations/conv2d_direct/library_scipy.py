"""conv2d_direct through scipy.signal.correlate2d(mode='valid'), one call per (image, output
channel, input channel) triple: the independent reference of the spec (no kernel flip).

The adapter pads first (numpy.pad, every padding mode), spreads the kernel for dilation
(zeros between taps) and keeps every s-th valid position for the stride.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.signal import correlate2d

from harness import implementation
from suites.conv2d_direct import ARGS, ConvOptions, conv_plan, pad_numpy


@implementation(
    "conv2d_direct",
    "library",
    "scipy",
    arrays="numpy",
    requires=("scipy",),
    max_flops=1e8,  # N·O·C/g calls of correlate2d: Python overhead per channel pair
)
def conv2d(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """Sum over input channels of correlate2d(padded plane, dilated kernel, 'valid')[::s]."""
    dtype = ARGS.check(x, weight, bias)
    plan = conv_plan(x.shape, weight.shape, opts)
    xp = pad_numpy(np.asarray(x, dtype=dtype), plan, opts.padding_mode)
    o, cg, kh, kw = weight.shape
    (sh, sw), (dh, dw), og = plan.stride, plan.dilation, o // plan.groups
    kernel = np.zeros((o, cg, dh * (kh - 1) + 1, dw * (kw - 1) + 1), dtype=dtype)
    kernel[:, :, ::dh, ::dw] = weight
    out = np.zeros((xp.shape[0], o, plan.out_h, plan.out_w), dtype=dtype)
    rows, cols = slice(0, sh * (plan.out_h - 1) + 1, sh), slice(0, sw * (plan.out_w - 1) + 1, sw)
    for n in range(xp.shape[0]):
        for oc in range(o):
            c0 = (oc // og) * cg
            for c in range(cg):
                out[n, oc] += correlate2d(xp[n, c0 + c], kernel[oc, c], mode="valid")[rows, cols]
    if bias is not None:
        out += np.asarray(bias, dtype=dtype)[:, None, None]
    return out

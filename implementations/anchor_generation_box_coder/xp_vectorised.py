"""anchor_generation_box_coder through the array API: broadcast anchors, vectorised coder.

Per level the R*S base anchors are computed once in the result dtype (torch.round and
np.round both take halves to even, as torchvision does), then added to a (gh, gw, 1, 4)
grid of shifts in one broadcast; the coder gathers the matched anchors with one ``take``
and works column-wise. The same code serves NumPy, torch (CPU and CUDA) and CuPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, device

from harness import implementation
from suites.anchor_generation_box_coder import CLIP, WEIGHTS, AnchorCoderOptions, check_inputs


def _base(xp: Any, stride: int, sizes: Any, ratios: Any, convention: str) -> Any:
    """(R*S, 4) base anchors, ratio-major."""
    if convention == "torchvision":
        hr = xp.sqrt(ratios)
        ws = xp.reshape((1 / hr)[:, None] * sizes[None, :], (-1,))
        hs = xp.reshape(hr[:, None] * sizes[None, :], (-1,))
        return xp.round(xp.stack([-ws, -hs, ws, hs], axis=1) / 2)
    ws0 = xp.round(xp.sqrt((stride * stride) / ratios))
    hs0 = xp.round(ws0 * ratios)
    scale = sizes / stride
    ws = xp.reshape(ws0[:, None] * scale[None, :], (-1,)) - 1
    hs = xp.reshape(hs0[:, None] * scale[None, :], (-1,)) - 1
    ctr = (stride - 1) / 2
    return xp.stack([ctr - ws / 2, ctr - hs / 2, ctr + ws / 2, ctr + hs / 2], axis=1)


def _geometry(b: Any, one: float) -> Any:
    w, h = b[:, 2] - b[:, 0] + one, b[:, 3] - b[:, 1] + one
    return w, h, b[:, 0] + 0.5 * w, b[:, 1] + 0.5 * h


@implementation(
    "anchor_generation_box_coder", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "vectorised"
)
def anchor_generation_box_coder(feature_sizes: Any, strides: Any, sizes: Any, ratios: Any,
                                gt: Any, match: Any, codes: Any,
                                opts: AnchorCoderOptions) -> Any:  # fmt: skip
    """Anchors level by level (one broadcast each), then encode and decode column-wise."""
    dtype = check_inputs(feature_sizes, strides, sizes, ratios, gt, match, codes)
    xp, dev = array_namespace(sizes, gt, codes), device(sizes)
    s, r = xp.astype(sizes, dtype), xp.astype(ratios, dtype)
    levels = []
    for lvl, ((gh, gw), stride) in enumerate(zip(feature_sizes.tolist(), strides.tolist(),
                                                 strict=True)):  # fmt: skip
        base = _base(xp, int(stride), s[lvl], r, opts.convention)
        xs = xp.arange(gw, dtype=dtype, device=dev) * stride
        ys = xp.arange(gh, dtype=dtype, device=dev) * stride
        yy, xx = ys[:, None] + 0 * xs[None, :], xs[None, :] + 0 * ys[:, None]
        shifts = xp.stack([xx, yy, xx, yy], axis=2)[:, :, None, :]  # (gh, gw, 1, 4)
        levels.append(xp.reshape(shifts + base[None, None, :, :], (-1, 4)))
    anchors = xp.concat(levels, axis=0)
    one = 1.0 if opts.convention == "py_faster_rcnn" else 0.0
    wx, wy, ww, wh = WEIGHTS[opts.weights]
    paired = xp.take(anchors, xp.astype(match, xp.int64), axis=0)
    pw, ph, px, py = _geometry(paired, one)
    g, c = xp.astype(gt, dtype), xp.astype(codes, dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        gw_, gh_, gx, gy = _geometry(g, one)
        deltas = xp.stack(
            [wx * (gx - px) / pw, wy * (gy - py) / ph, ww * xp.log(gw_ / pw),
             wh * xp.log(gh_ / ph)], axis=1)  # fmt: skip
        cx, cy = (c[:, 0] / wx) * pw + px, (c[:, 1] / wy) * ph + py
        w = xp.exp(xp.clip(c[:, 2] / ww, max=CLIP)) * pw
        h = xp.exp(xp.clip(c[:, 3] / wh, max=CLIP)) * ph
        boxes = xp.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w - one, cy + 0.5 * h - one],
                         axis=1)  # fmt: skip
    return anchors, deltas, boxes

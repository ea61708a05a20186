"""deformable_conv through the array API: channels-last row gathers, then one GEMM per group.

The image is laid out once as (N·H·W + 1, C) rows, the last row zeros: each of a sample's
four bilinear neighbours is one row gather (all the offset group's channels at once) with
flat index n·H·W + r·W + c, and a neighbour outside the image points at the zero row, so
no masking of gathered data is needed. The corner weights carry the modulation mask. The
samples land as columns (N, P, K, C) (P = H_out·W_out positions, K = kH·kW taps) and each
weight group is one (N·P, K·Cw) x (K·Cw, O/groups) matrix product, bias added in place.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace, device

from harness import implementation
from suites.deformable_conv import ARGS, DeformOptions, deform_plan


def _grid(xp: Any, n: int, stride: int, pad: int, k: int, dil: int, dt: Any, dev: Any) -> Any:
    """(n, k): y·stride − pad + i·dil, the undeformed sample positions along one axis."""
    base = xp.arange(n, dtype=dt, device=dev) * stride - pad
    return base[:, None] + xp.arange(k, dtype=dt, device=dev)[None, :] * dil


@implementation("deformable_conv", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "gather_gemm")
def deformable_conv(
    x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: DeformOptions
) -> Any:
    """Four zero-row-padded row gathers per tap and offset group, then a GEMM per group."""
    dtype, xp = ARGS.check(x, offset, weight, bias, mask), array_namespace(x)
    plan = deform_plan(
        x.shape, offset.shape, weight.shape, None if mask is None else mask.shape, opts
    )
    dev = device(x)
    n, c, h, w = x.shape
    o, cw, kh, kw = weight.shape
    taps, g, oh, ow = kh * kw, plan.offset_groups, plan.out_h, plan.out_w
    pos, cg = oh * ow, c // g
    if n == 0 or o == 0:
        return xp.zeros((n, o, oh, ow), dtype=dtype, device=dev)
    rows = xp.concat(
        [
            xp.reshape(xp.permute_dims(xp.astype(x, dtype), (0, 2, 3, 1)), (n * h * w, c)),
            xp.zeros((1, c), dtype=dtype, device=dev),
        ]
    )
    (sh, sw), (ph, pw), (dh, dw) = opts.stride, opts.padding, opts.dilation
    gy = xp.reshape(_grid(xp, oh, sh, ph, kh, dh, dtype, dev), (oh, 1, kh, 1))
    gx = xp.reshape(_grid(xp, ow, sw, pw, kw, dw, dtype, dev), (1, ow, 1, kw))
    gy = xp.reshape(xp.broadcast_to(gy, (oh, ow, kh, kw)), (1, pos, taps))
    gx = xp.reshape(xp.broadcast_to(gx, (oh, ow, kh, kw)), (1, pos, taps))
    # (N, G, K, 2, P) -> per group (N, P, K) for dy, dx and the mask
    off = xp.reshape(xp.astype(offset, dtype), (n, g, taps, 2, pos))
    mod = None if mask is None else xp.reshape(xp.astype(mask, dtype), (n, g, taps, pos))
    first = xp.reshape(xp.arange(n, dtype=xp.int64, device=dev) * (h * w), (n, 1, 1))
    cols = xp.empty((n, pos, taps, c), dtype=dtype, device=dev)
    for gi in range(g):
        y = gy + xp.permute_dims(off[:, gi, :, 0, :], (0, 2, 1))
        xc = gx + xp.permute_dims(off[:, gi, :, 1, :], (0, 2, 1))
        y0, x0 = xp.floor(y), xp.floor(xc)
        ly, lx = y - y0, xc - x0
        if mod is not None:
            m = xp.permute_dims(mod[:, gi], (0, 2, 1))
            ly, hy = ly * m, (1 - ly) * m  # the mask rides on the row weights
        else:
            hy = 1 - ly
        r0, c0 = xp.astype(y0, xp.int64), xp.astype(x0, xp.int64)
        src = rows if g == 1 else rows[:, gi * cg : (gi + 1) * cg]
        acc = None
        for r, wr in ((r0, hy), (r0 + 1, ly)):
            for cc, wc in ((c0, 1 - lx), (c0 + 1, lx)):
                inside = (r >= 0) & (r < h) & (cc >= 0) & (cc < w)
                idx = xp.where(inside, first + r * w + cc, n * h * w)
                got = xp.reshape(xp.take(src, xp.reshape(idx, (-1,)), axis=0), (n, pos, taps, cg))
                term = got * (wr * wc)[..., None]
                acc = term if acc is None else acc + term
        cols[..., gi * cg : (gi + 1) * cg] = acc
    og = o // plan.groups
    kern = xp.reshape(xp.permute_dims(xp.astype(weight, dtype), (0, 2, 3, 1)), (o, taps * cw))
    parts = []
    for gi in range(plan.groups):
        part = cols if plan.groups == 1 else cols[..., gi * cw : (gi + 1) * cw]
        part = xp.reshape(part, (n * pos, taps * cw))
        parts.append(part @ xp.permute_dims(kern[gi * og : (gi + 1) * og], (1, 0)))
    out = parts[0] if len(parts) == 1 else xp.concat(parts, axis=1)  # (N·P, O)
    if bias is not None:
        out = out + xp.astype(bias, dtype)
    return xp.permute_dims(xp.reshape(out, (n, oh, ow, o)), (0, 3, 1, 2))

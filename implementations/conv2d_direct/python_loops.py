"""conv2d_direct in pure Python: padded rows as lists, one dot product per output element.

The padded image is built once (every padding mode through an index map), each output's
window is read as row slices, and the weights of a kernel are flattened once per channel.
"""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.conv2d_direct import ARGS, ConvOptions, conv_plan


def _source(k: int, before: int, size: int, mode: str) -> int:
    """Which input index padded index k reads (-1: a zero)."""
    i = k - before
    if 0 <= i < size:
        return i
    if mode == "zeros":
        return -1
    if mode == "replicate":
        return min(max(i, 0), size - 1)
    if mode == "circular":
        return i % size
    return -i if i < 0 else 2 * (size - 1) - i  # reflect, without the edge


@implementation("conv2d_direct", "python", "loops", max_flops=3e6)  # ~0.5 s of loops
def conv2d(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> list[Any]:
    """Pad once, then for every output sum w·x over (c, i, j) in Python floats."""
    ARGS.check(x, weight, bias)
    n = len(x)
    if n == 0 or not weight:  # an empty batch or no output channels: nothing to sum
        return [[] for _ in x]
    o, cg, kh, kw = len(weight), len(weight[0]), len(weight[0][0]), len(weight[0][0][0])
    c, h, w = len(x[0]), len(x[0][0]), len(x[0][0][0])
    plan = conv_plan((n, c, h, w), (o, cg, kh, kw), opts)
    top, bottom, left, right = plan.pads
    (sh, sw), (dh, dw), og = plan.stride, plan.dilation, o // plan.groups
    rows = [_source(k, top, h, opts.padding_mode) for k in range(h + top + bottom)]
    cols = [_source(k, left, w, opts.padding_mode) for k in range(w + left + right)]
    out: list[Any] = []
    for img in x:
        padded = [
            [[0.0 if r < 0 or q < 0 else float(ch[r][q]) for q in cols] for r in rows] for ch in img
        ]
        planes = []
        for oc in range(o):
            c0 = (oc // og) * cg
            taps = [
                (padded[c0 + ci], i * dh, j * dw, float(weight[oc][ci][i][j]))
                for ci in range(cg)
                for i in range(kh)
                for j in range(kw)
            ]
            b0 = 0.0 if bias is None else float(bias[oc])
            plane = []
            for y in range(plan.out_h):
                line = []
                for xo in range(plan.out_w):
                    y0, x0 = y * sh, xo * sw
                    total = 0.0
                    for pl, di, dj, wv in taps:
                        total += wv * pl[y0 + di][x0 + dj]
                    line.append(total + b0)
                plane.append(line)
            planes.append(plane)
        out.append(planes)
    return out

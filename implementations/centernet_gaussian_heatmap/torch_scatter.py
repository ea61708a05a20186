"""centernet_gaussian_heatmap with torch: every object's window in one scatter_reduce(amax).

Geometry is vectorised over all objects (clipped corners, radii, integer centres; sizes and
centres from the corners in float64, so ceil and trunc see the float32 inputs exactly).
Every drawn object then contributes a (2R+1)^2 block of offsets (R = the largest radius),
masked to its own radius and to the map; the Gaussian values go into the flattened heatmap
with one ``scatter_reduce_(..., "amax")``: overlaps take the max, as the reference does.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from harness import implementation
from suites.centernet_gaussian_heatmap import HeatmapOptions, check_inputs

_LOG_EPS = math.log(2.0**-52)  # window values below float64 eps * max (= 1) are zeroed


def _radius(h: Any, w: Any, o: float, exact: bool) -> Any:
    b1, c1 = h + w, w * h * (1 - o) / (1 + o)
    b2, c2 = 2 * (h + w), (1 - o) * w * h
    a3, b3, c3 = 4 * o, -2 * o * (h + w), (o - 1) * w * h
    sq1, sq2 = torch.sqrt(b1 * b1 - 4 * c1), torch.sqrt(b2 * b2 - 16 * c2)
    sq3 = torch.sqrt(b3 * b3 - 4 * a3 * c3)
    if exact:
        return torch.minimum(torch.minimum((b1 - sq1) / 2, (b2 - sq2) / 8), (-b3 + sq3) / (2 * a3))
    return torch.minimum(torch.minimum((b1 + sq1) / 2, (b2 + sq2) / 2), (b3 + sq3) / 2)


@implementation("centernet_gaussian_heatmap", ("torch_cpu", "torch_cuda"), "scatter")
def centernet_gaussian_heatmap(boxes: Any, labels: Any, num_classes: int, height: int,
                               width: int, min_overlap: float,
                               opts: HeatmapOptions) -> Any:  # fmt: skip
    """Vectorised geometry, then all windows in one scatter_reduce(amax)."""
    dtype = check_inputs(boxes, labels, num_classes, height, width, min_overlap)
    nb = labels.shape[0]
    dev = boxes.device
    b = boxes.to(torch.float64)
    x, y = b[..., 0::2].clamp(0, width - 1), b[..., 1::2].clamp(0, height - 1)
    w, h = x[..., 1] - x[..., 0], y[..., 1] - y[..., 0]
    drawn = (labels >= 0) & (h > 0) & (w > 0)
    r = _radius(torch.ceil(h), torch.ceil(w), min_overlap, opts.radius_formula == "exact")
    r = torch.where(drawn, r.clamp(min=0), 0).to(torch.int64)
    cx, cy = (x[..., 0] + x[..., 1]) / 2, (y[..., 0] + y[..., 1]) / 2
    ix = torch.where(drawn, cx, 0).to(torch.int64)
    iy = torch.where(drawn, cy, 0).to(torch.int64)
    heat = torch.zeros((nb * num_classes * height * width,), dtype=dtype, device=dev)
    sel = drawn.nonzero()
    if len(sel):
        i, k = sel[:, 0], sel[:, 1]
        ro, xo, yo = r[i, k][:, None], ix[i, k][:, None], iy[i, k][:, None]
        big = int(ro.max())
        d = torch.arange(-big, big + 1, device=dev)
        dy, dx = (
            (d[:, None] + 0 * d[None, :]).reshape(1, -1),
            (d[None, :] + 0 * d[:, None]).reshape(1, -1),
        )
        yy, xx = yo + dy, xo + dx
        ok = (dy.abs() <= ro) & (dx.abs() <= ro) & (yy >= 0) & (yy < height)
        ok &= (xx >= 0) & (xx < width)
        sigma = (2 * ro + 1).to(torch.float64) / 6
        arg = -(dx * dx + dy * dy).to(torch.float64) / (2 * sigma * sigma)
        vals = torch.where(arg < _LOG_EPS, 0.0, torch.exp(arg)).to(dtype)
        plane = (i * num_classes + labels[i, k])[:, None]
        flat = ((plane * height + yy) * width + xx)[ok]
        heat.scatter_reduce_(0, flat, vals[ok], "amax", include_self=True)
    zero = torch.zeros((), dtype=torch.float64, device=dev)
    wh = torch.where(drawn[..., None], torch.stack([w, h], dim=-1), zero)
    off = torch.where(drawn[..., None], torch.stack([cx - ix, cy - iy], dim=-1), zero)
    index = torch.where(drawn, iy * width + ix, 0)
    return (heat.reshape(nb, num_classes, height, width), wh.to(dtype), off.to(dtype), index,
            drawn.to(dtype))  # fmt: skip

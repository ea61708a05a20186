"""box_iou_axis_aligned in CuPy: one fused ElementwiseKernel over the broadcast (N, M) grid.

Each thread reads two boxes and writes one IoU: no (N, M) temporaries, one launch.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.box_iou_axis_aligned import ARGS, BoxIouOptions

# Coordinates arrive as broadcast (N, 1) and (1, M) column views. min/max and the clamp are
# ternaries (no reliance on device overloads); a NaN side may clamp to 0, but the NaN still
# reaches the result through the area.
_IOU = cp.ElementwiseKernel(
    "T ax1, T ay1, T ax2, T ay2, T bx1, T by1, T bx2, T by2, T one, T eps, int32 nan_on_zero",
    "T iou",
    """
    T iw = (ax2 < bx2 ? ax2 : bx2) - (ax1 > bx1 ? ax1 : bx1) + one;
    T ih = (ay2 < by2 ? ay2 : by2) - (ay1 > by1 ? ay1 : by1) + one;
    T inter = (iw > (T)0 ? iw : (T)0) * (ih > (T)0 ? ih : (T)0);
    T area_a = (ax2 - ax1 + one) * (ay2 - ay1 + one);
    T area_b = (bx2 - bx1 + one) * (by2 - by1 + one);
    T uni = area_a + area_b - inter + eps;
    iou = (uni == (T)0 && !nan_on_zero) ? (T)0 : inter / uni;
    """,
    "opshootout_box_iou",
)


@implementation("box_iou_axis_aligned", "cupy", "elementwise", supports={"form": ("pairwise",)})
def box_iou(boxes_a: Any, boxes_b: Any, opts: BoxIouOptions) -> Any:
    """Fused elementwise kernel; areas recomputed per pair (cheaper than reading them)."""
    dtype = ARGS.check(boxes_a, boxes_b)
    a, b = boxes_a.astype(dtype, copy=False), boxes_b.astype(dtype, copy=False)
    out = cp.empty((a.shape[0], b.shape[0]), dtype=dtype)
    if out.size == 0:
        return out
    one = dtype.type(1 if opts.pixel_inclusive else 0)
    _IOU(
        a[:, None, 0],
        a[:, None, 1],
        a[:, None, 2],
        a[:, None, 3],
        b[None, :, 0],
        b[None, :, 1],
        b[None, :, 2],
        b[None, :, 3],
        one,
        dtype.type(opts.iou_eps),
        cp.int32(opts.zero_union == "nan"),
        out,
    )
    return out

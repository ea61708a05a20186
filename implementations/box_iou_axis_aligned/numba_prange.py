"""box_iou_axis_aligned with Numba: one compiled pass over the (N, M) grid, rows in parallel.

No (N, M) temporaries: each output element is produced in registers, in the input dtype.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.box_iou_axis_aligned import BoxIouOptions, check


@threaded_njit(error_model="numpy")
def _iou_kernel(a: Any, b: Any, one: Any, eps: Any, nan_on_zero: bool, out: Any) -> None:
    zero = one - one  # a zero of the working dtype: a 0.0 literal would promote float32
    area_b = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    for i in numba.prange(a.shape[0]):
        ax1, ay1, ax2, ay2 = a[i, 0], a[i, 1], a[i, 2], a[i, 3]
        area_a = (ax2 - ax1 + one) * (ay2 - ay1 + one)
        for j in range(b.shape[0]):
            iw = min(ax2, b[j, 2]) - max(ax1, b[j, 0]) + one
            ih = min(ay2, b[j, 3]) - max(ay1, b[j, 1]) + one
            # a NaN width clamps to either value: the NaN is in the area already
            inter = max(iw, zero) * max(ih, zero)
            union = area_a + area_b[j] - inter + eps
            if union == zero and not nan_on_zero:
                out[i, j] = zero
            else:
                out[i, j] = inter / union


@threaded_njit(error_model="numpy")
def _paired_kernel(a: Any, b: Any, one: Any, eps: Any, nan_on_zero: bool, out: Any) -> None:
    zero = one - one
    for i in numba.prange(a.shape[0]):
        iw = min(a[i, 2], b[i, 2]) - max(a[i, 0], b[i, 0]) + one
        ih = min(a[i, 3], b[i, 3]) - max(a[i, 1], b[i, 1]) + one
        inter = max(iw, zero) * max(ih, zero)
        area_a = (a[i, 2] - a[i, 0] + one) * (a[i, 3] - a[i, 1] + one)
        area_b = (b[i, 2] - b[i, 0] + one) * (b[i, 3] - b[i, 1] + one)
        union = area_a + area_b - inter + eps
        if union == zero and not nan_on_zero:
            out[i] = zero
        else:
            out[i] = inter / union


@implementation("box_iou_axis_aligned", "numba", "prange")
def box_iou(boxes_a: Any, boxes_b: Any, opts: BoxIouOptions) -> Any:
    """Fused loop nest (prange over rows of boxes_a); areas of boxes_b hoisted. Paired: one
    parallel loop over the rows."""
    dtype = check(boxes_a, boxes_b, opts)
    a = np.ascontiguousarray(boxes_a, dtype=dtype)
    b = np.ascontiguousarray(boxes_b, dtype=dtype)
    one = dtype.type(1 if opts.pixel_inclusive else 0)
    if opts.form == "paired":
        out = np.empty(a.shape[0], dtype=dtype)
        _paired_kernel(a, b, one, dtype.type(opts.iou_eps), opts.zero_union == "nan", out)
        return out
    out = np.empty((a.shape[0], b.shape[0]), dtype=dtype)
    _iou_kernel(a, b, one, dtype.type(opts.iou_eps), opts.zero_union == "nan", out)
    return out

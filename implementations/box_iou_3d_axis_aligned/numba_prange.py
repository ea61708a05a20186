"""box_iou_3d_axis_aligned with Numba: one compiled pass over the (N, M) grid, rows in parallel.

No (N, M) temporaries: each IoU is produced in registers in the input dtype; a pair
disjoint along x skips the other two axes.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.box_iou_3d_axis_aligned import ARGS, IouOptions


@threaded_njit(error_model="numpy")
def _kernel(a: Any, b: Any, one: Any, eps: Any, nan_on_zero: bool, out: Any) -> None:
    zero = one - one  # a zero of the working dtype: a 0.0 literal would promote float32
    vol_b = (b[:, 3] - b[:, 0] + one) * (b[:, 4] - b[:, 1] + one) * (b[:, 5] - b[:, 2] + one)
    for i in numba.prange(a.shape[0]):
        x1, y1, z1, x2, y2, z2 = a[i, 0], a[i, 1], a[i, 2], a[i, 3], a[i, 4], a[i, 5]
        vol_a = (x2 - x1 + one) * (y2 - y1 + one) * (z2 - z1 + one)
        for j in range(b.shape[0]):
            inter = max(min(x2, b[j, 3]) - max(x1, b[j, 0]) + one, zero)
            if inter > zero:
                inter *= max(min(y2, b[j, 4]) - max(y1, b[j, 1]) + one, zero)
                inter *= max(min(z2, b[j, 5]) - max(z1, b[j, 2]) + one, zero)
            union = vol_a + vol_b[j] - inter + eps
            if union == zero and not nan_on_zero:
                out[i, j] = zero
            else:
                out[i, j] = inter / union


@implementation("box_iou_3d_axis_aligned", "numba", "prange")
def box_iou_3d(boxes_a: Any, boxes_b: Any, opts: IouOptions) -> Any:
    """Fused loop nest (prange over rows of boxes_a); volumes of boxes_b hoisted."""
    dtype = ARGS.check(boxes_a, boxes_b)
    a = np.ascontiguousarray(boxes_a, dtype=dtype)
    b = np.ascontiguousarray(boxes_b, dtype=dtype)
    out = np.empty((a.shape[0], b.shape[0]), dtype=dtype)
    one = dtype.type(1 if opts.pixel_inclusive else 0)
    _kernel(a, b, one, dtype.type(opts.iou_eps), opts.zero_union == "nan", out)
    return out

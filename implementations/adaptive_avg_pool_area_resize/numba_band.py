"""adaptive_avg_pool_area_resize in Numba, plane by plane and cache-friendly: each output
row is the weighted sum of its bin's input rows (long unit-stride axpys LLVM vectorises)
into one row buffer, and each output then reads its bin of that buffer. The per-axis
(index, weight) bands come from the suite; single-threaded (the harness times one).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.adaptive_avg_pool_area_resize import AreaOptions, band, check


@numba.njit(cache=False)
def _resize(x: Any, ih: Any, wh: Any, iw: Any, ww: Any, out: Any) -> None:
    planes, _, w = x.shape
    oh, ow = out.shape[1], out.shape[2]
    row = np.empty(w, dtype=out.dtype)
    for p in range(planes):
        for i in range(oh):
            row[:] = 0.0
            for t in range(ih.shape[1]):
                wt = wh[i, t]
                if wt != 0.0:
                    src = x[p, ih[i, t]]
                    for q in range(w):
                        row[q] += wt * src[q]
            dst = out[p, i]
            for j in range(ow):
                acc = row[iw[j, 0]] * ww[j, 0]
                for t in range(1, iw.shape[1]):
                    if ww[j, t] != 0.0:
                        acc += ww[j, t] * row[iw[j, t]]
                dst[j] = acc


def _frozen(a: Any) -> Any:
    view = np.ascontiguousarray(a).view()
    view.flags.writeable = False
    return view


@implementation("adaptive_avg_pool_area_resize", "numba", "band")
def resize(x: Any, out_h: int, out_w: int, opts: AreaOptions) -> Any:
    """Bands in NumPy, then the compiled row-buffer loop over the N·C planes."""
    dtype = check(x, out_h, out_w, opts)
    n, c, h, w = x.shape
    out = np.empty((n * c, out_h, out_w), dtype=dtype)
    if out.size:
        ih, wh = band(h, out_h, opts.method)
        iw, ww = band(w, out_w, opts.method)
        planes = np.asarray(x, dtype=dtype).reshape(n * c, h, w)
        _resize(
            _frozen(planes),
            _frozen(ih),
            _frozen(wh.astype(dtype)),
            _frozen(iw),
            _frozen(ww.astype(dtype)),
            out,
        )
    return out.reshape(n, c, out_h, out_w)

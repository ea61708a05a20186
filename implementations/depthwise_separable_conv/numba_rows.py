"""depthwise_separable_conv in Numba, one image at a time so the intermediate stays in
cache: the depthwise stage accumulates each (channel, output row) from kH input rows by
kW shifted axpys (unit stride at stride 1, so LLVM vectorises them) into an (M, H_out·W_out)
buffer, and the pointwise stage is one BLAS GEMM (np.dot inside the compiled function)
of the (O, M) weights with that buffer, written into the image's output.

No padded copy of the input: tap rows outside the image are skipped and each tap's
column range is clipped to the image. Single-threaded (the harness times one thread).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.depthwise_separable_conv import SeparableOptions, check


@numba.njit(cache=False)
def _separable(x: Any, wd: Any, bd: Any, wp: Any, bp: Any, geo: Any, out: Any) -> None:
    """x (N, C, H, W); wd (M, kH, kW); wp (O, M); out (N, O, H_out·W_out);
    geo = (s_h, s_w, d_h, d_w, top, left, H_out, W_out)."""
    sh, sw, dh, dw, top, left, oh, ow = geo
    n_img, c, h, w = x.shape
    m, kh, kw = wd.shape
    mult = m // c
    mid = np.empty((m, oh * ow), dtype=out.dtype)
    for n in range(n_img):
        for q in range(m):
            plane = x[n, q // mult]
            for y in range(oh):
                acc = mid[q, y * ow : (y + 1) * ow]
                acc[:] = bd[q]
                for i in range(kh):
                    r = y * sh + i * dh - top
                    if r < 0 or r >= h:
                        continue
                    row = plane[r]
                    for j in range(kw):
                        wv = wd[q, i, j]
                        off = j * dw - left  # input column of output 0 for this tap
                        lo = max(0, (-off + sw - 1) // sw)  # first output whose column >= 0
                        hi = min(ow, (w - 1 - off) // sw + 1) if w - 1 - off >= 0 else 0
                        if hi <= lo:
                            continue
                        # slices first: the loop's indices are then a range's, never
                        # negative, so no wraparound check keeps LLVM from vectorising
                        dst = acc[lo:hi]
                        if sw == 1:
                            src = row[lo + off : hi + off]
                            for k in range(hi - lo):
                                dst[k] += wv * src[k]
                        else:
                            src = row[lo * sw + off :]
                            for k in range(hi - lo):
                                dst[k] += wv * src[k * sw]
        res = out[n]
        np.dot(wp, mid, res)  # straight into the image's output, no temporary
        for o in range(res.shape[0]):
            line, b = res[o], bp[o]
            for p in range(line.shape[0]):
                line[p] += b


def _frozen(a: Any) -> Any:
    """A read-only view: read-only and fresh inputs share one compiled signature."""
    view = np.ascontiguousarray(a).view()
    view.flags.writeable = False
    return view


def _shuffled(rows: Any, g: int) -> Any:
    """The channel shuffle moved onto the pointwise weights (or bias): output k uses row
    (k % g)·(O/g) + k // g, a (g, O/g) transpose of the leading axis (contiguous copy)."""
    if g == 1:
        return rows
    o = rows.shape[0]
    return np.ascontiguousarray(rows.reshape(g, o // g, *rows.shape[1:]).swapaxes(0, 1)).reshape(
        rows.shape
    )


@implementation("depthwise_separable_conv", "numba", "rows_gemm")
def separable(x: Any, w_dw: Any, b_dw: Any, w_pw: Any, b_pw: Any, opts: SeparableOptions) -> Any:
    """Geometry in Python, then the compiled per-image depthwise rows + GEMM."""
    dtype, plan = check(x, w_dw, b_dw, w_pw, b_pw, opts)
    n, m, o, g = x.shape[0], w_dw.shape[0], w_pw.shape[0], opts.shuffle_groups
    out = np.empty((n, o, plan.out_h * plan.out_w), dtype=dtype)
    if out.size:
        geo = np.array([*plan.stride, *plan.dilation, plan.pads[0], plan.pads[2], plan.out_h,
                        plan.out_w], dtype=np.int64)  # fmt: skip
        zeros_m, zeros_o = np.zeros(m, dtype), np.zeros(o, dtype)
        _separable(
            _frozen(np.asarray(x, dtype=dtype)),
            _frozen(np.asarray(w_dw, dtype=dtype).reshape(m, w_dw.shape[2], w_dw.shape[3])),
            _frozen(zeros_m if b_dw is None else np.asarray(b_dw, dtype=dtype)),
            _frozen(_shuffled(np.asarray(w_pw, dtype=dtype).reshape(o, m), g)),
            _frozen(_shuffled(zeros_o if b_pw is None else np.asarray(b_pw, dtype=dtype), g)),
            _frozen(geo),
            out,
        )
    return out.reshape(n, o, plan.out_h, plan.out_w)

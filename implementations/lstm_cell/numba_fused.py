"""lstm_cell in Numba: the input projection as one BLAS GEMM outside the loop, then one
compiled loop over the steps: the recurrent GEMM (np.dot, BLAS) and the gate math fused
per (batch, unit) in a parallel loop, c and h updated without temporaries.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.lstm_cell import LstmOptions, blocks, check


@threaded_njit()
def _steps(xw: Any, whT: Any, h: Any, c: Any, out: Any, order: Any) -> None:  # pragma: no cover
    t_len, bsz, _ = xw.shape
    hid = h.shape[1]
    ki, kf, kg, ko = order[0] * hid, order[1] * hid, order[2] * hid, order[3] * hid
    for t in range(t_len):
        z = np.dot(h, whT)
        for b in numba.prange(bsz):
            for j in range(hid):
                zi = z[b, ki + j] + xw[t, b, ki + j]
                zf = z[b, kf + j] + xw[t, b, kf + j]
                zg = z[b, kg + j] + xw[t, b, kg + j]
                zo = z[b, ko + j] + xw[t, b, ko + j]
                i = 0.5 + 0.5 * np.tanh(0.5 * zi)
                f = 0.5 + 0.5 * np.tanh(0.5 * zf)
                o = 0.5 + 0.5 * np.tanh(0.5 * zo)
                cn = f * c[b, j] + i * np.tanh(zg)
                c[b, j] = cn
                h[b, j] = o * np.tanh(cn)
                out[t, b, j] = h[b, j]


@implementation("lstm_cell", "numba", "fused")
def lstm_cell(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any,
              opts: LstmOptions) -> Any:  # fmt: skip
    """BLAS for both products, one fused parallel pass per step for the gates."""
    t_len, hid = check(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    bsz = x.shape[1]
    xw = (x.reshape(t_len * bsz, x.shape[2]) @ w_ih.T).reshape(t_len, bsz, 4 * hid)
    xw += b_ih + b_hh
    h, c = h0.copy(), c0.copy()
    out = np.empty((t_len, bsz, hid), x.dtype)
    if t_len and bsz:
        _steps(xw, np.ascontiguousarray(w_hh.T), h, c, out, np.array(blocks(opts)))
    return out, h, c

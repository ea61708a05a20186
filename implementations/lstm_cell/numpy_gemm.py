"""lstm_cell in NumPy: the input projection of every step in one GEMM (T·B rows) with the two
biases folded in, then per step one GEMM of h by w_hhᵀ added in place and the gate
nonlinearities in place on the (B, 4H) buffer (sigmoid as 0.5 + 0.5·tanh(z/2): one
transcendental, no overflow).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.lstm_cell import LstmOptions, blocks, check


@implementation("lstm_cell", "numpy", "gemm")
def lstm_cell(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any,
              opts: LstmOptions) -> Any:  # fmt: skip
    """One big input GEMM, T small recurrent GEMMs, in-place gate math."""
    t_len, hid = check(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    bsz = x.shape[1]
    pi, pf, pg, po = (slice(k * hid, (k + 1) * hid) for k in blocks(opts))
    xw = x.reshape(t_len * bsz, x.shape[2]) @ w_ih.T
    xw += b_ih + b_hh
    xw = xw.reshape(t_len, bsz, 4 * hid)
    whT = np.ascontiguousarray(w_hh.T)
    h, c = h0.copy(), c0.copy()
    out = np.empty((t_len, bsz, hid), x.dtype)
    z = np.empty((bsz, 4 * hid), x.dtype)
    tc = np.empty_like(c)
    half = x.dtype.type(0.5)
    for t in range(t_len):
        np.matmul(h, whT, out=z)
        z += xw[t]
        for s in (pi, pf, po):  # sigmoid in place
            zs = z[:, s]
            zs *= half
            np.tanh(zs, out=zs)
            zs *= half
            zs += half
        np.tanh(z[:, pg], out=z[:, pg])
        c *= z[:, pf]
        c += z[:, pi] * z[:, pg]
        np.tanh(c, out=tc)
        np.multiply(z[:, po], tc, out=h)
        out[t] = h
    return out, h, c

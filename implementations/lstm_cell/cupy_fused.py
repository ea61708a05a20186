"""lstm_cell in CuPy: the input projection in one cuBLAS GEMM, then per step one GEMM of h by
w_hhᵀ and one ElementwiseKernel over (B, H) that reads the four gate pre-activations, updates
c in place and writes h and the output row.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.lstm_cell import LstmOptions, blocks, check

_CELL = cp.ElementwiseKernel(
    "T zi, T zf, T zg, T zo", "T c, T h",
    "T i = 1 / (1 + exp(-zi)); T f = 1 / (1 + exp(-zf)); T o = 1 / (1 + exp(-zo));"
    "c = f * c + i * tanh(zg); h = o * tanh(c);",
    "opshootout_lstm_cell",
)  # fmt: skip


@implementation("lstm_cell", "cupy", "fused")
def lstm_cell(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any,
              opts: LstmOptions) -> Any:  # fmt: skip
    """cuBLAS for the products, one fused kernel per step for the cell."""
    t_len, hid = check(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    bsz = x.shape[1]
    pi, pf, pg, po = (slice(k * hid, (k + 1) * hid) for k in blocks(opts))
    xw = (x.reshape(t_len * bsz, x.shape[2]) @ w_ih.T).reshape(t_len, bsz, 4 * hid)
    xw += b_ih + b_hh
    h, c = h0.copy(), c0.copy()
    out = cp.empty((t_len, bsz, hid), x.dtype)
    for t in range(t_len):
        z = h @ w_hh.T
        z += xw[t]
        _CELL(z[:, pi], z[:, pf], z[:, pg], z[:, po], c, h)
        out[t] = h
    return out, h, c

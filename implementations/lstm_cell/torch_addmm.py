"""lstm_cell in torch ops (CPU or CUDA): the input projection of every step in one addmm with
the summed bias, then per step one addmm of h by w_hhᵀ onto that step's slice, the sigmoid
of the three gates in one call, and the state update with addcmul (no Python over units).
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.lstm_cell import LstmOptions, blocks, check


@implementation("lstm_cell", ("torch_cpu", "torch_cuda"), "addmm")
def lstm_cell(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any,
              opts: LstmOptions) -> Any:  # fmt: skip
    """addmm for both products; the gate blocks permuted once to i, f, o | g."""
    t_len, hid = check(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    bsz = x.shape[1]
    pi, pf, pg, po = blocks(opts)
    rows = torch.cat([torch.arange(k * hid, (k + 1) * hid, device=x.device)
                      for k in (pi, pf, po, pg)])  # fmt: skip
    wi, wh, bias = w_ih[rows], w_hh[rows], (b_ih + b_hh)[rows]
    xw = torch.addmm(bias, x.reshape(t_len * bsz, x.shape[2]), wi.t()).view(t_len, bsz, 4 * hid)
    h, c = h0.clone(), c0.clone()
    out = torch.empty((t_len, bsz, hid), dtype=x.dtype, device=x.device)
    whT = wh.t()
    for t in range(t_len):
        z = torch.addmm(xw[t], h, whT)
        sig = torch.sigmoid(z[:, : 3 * hid])
        g = torch.tanh(z[:, 3 * hid :])
        c.mul_(sig[:, hid : 2 * hid]).addcmul_(sig[:, :hid], g)
        torch.mul(sig[:, 2 * hid :], torch.tanh(c), out=h)
        out[t] = h
    return out, h, c

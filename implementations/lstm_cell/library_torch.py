"""torch.nn.LSTM with the suite's weights copied in (one layer, batch_first=False), as a
practitioner runs a sequence: output, (h_n, c_n) = lstm(x, (h0, c0)). Its gate order is
PyTorch's i, f, g, o; ONNX's order is the same call on the weight rows permuted (the
adapter a model converter applies).
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.lstm_cell import LstmOptions, blocks, check

FAILS = {"no_inputs": "nn.LSTM refuses input_size = 0 (ValueError)"}


@implementation("lstm_cell", "library", "torch_lstm", arrays="torch_cpu",
                expected_failures=FAILS)  # fmt: skip
def lstm_cell(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any,
              opts: LstmOptions) -> Any:  # fmt: skip
    """nn.LSTM(I, H) in x's dtype, parameters set from the inputs, no grad."""
    t_len, hid = check(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    if t_len == 0 or x.shape[1] == 0:  # nn.LSTM refuses an empty sequence or batch
        return x.new_empty((t_len, x.shape[1], hid)), h0.clone(), c0.clone()
    rows = torch.cat([torch.arange(k * hid, (k + 1) * hid) for k in blocks(opts)])
    lstm = torch.nn.LSTM(x.shape[2], hid, dtype=x.dtype)
    with torch.no_grad():
        for name, value in (("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh),
                            ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):  # fmt: skip
            getattr(lstm, name).copy_(value[rows])
        out, (h_n, c_n) = lstm(x, (h0[None], c0[None]))
    return out, h_n[0], c_n[0]

"""small_cnn_forward in NumPy: each convolution an im2col GEMM (sliding_window_view of the
5x5 windows contracted with the weight by one tensordot, channels-last so the bias add and
ReLU run on contiguous rows), each 2x2 max-pool a reshape and two maximum reductions, the
fully connected layers three GEMMs, all in the input dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from harness import implementation
from suites.small_cnn_forward import check


def _conv_relu_pool(h: Any, w: Any, b: Any) -> Any:
    """(N, H, W, C) -> conv 5x5 valid + b -> ReLU -> 2x2 max-pool, channels last."""
    win = sliding_window_view(h, (5, 5), axis=(1, 2))  # (N, H', W', C, 5, 5)
    out = np.tensordot(win, w, axes=([3, 4, 5], [1, 2, 3]))  # (N, H', W', O)
    out += b
    np.maximum(out, 0, out=out)
    n, hh, ww, o = out.shape
    return out.reshape(n, hh // 2, 2, ww // 2, 2, o).max(axis=(2, 4))


@implementation("small_cnn_forward", "numpy", "im2col")
def forward(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, w3: Any, b3: Any, w4: Any, b4: Any,
            w5: Any, b5: Any) -> Any:  # fmt: skip
    """Channels-last im2col GEMMs, reshape max-pools, flatten in (C, H, W) order, 3 GEMMs."""
    check(x, w1, b1, w2, b2, w3, b3, w4, b4, w5, b5)
    h = _conv_relu_pool(x.transpose(0, 2, 3, 1), w1, b1)
    h = _conv_relu_pool(h, w2, b2)  # (N, 5, 5, 16)
    flat = h.transpose(0, 3, 1, 2).reshape(h.shape[0], w3.shape[1])  # (C, H, W) order
    h = np.maximum(flat @ w3.T + b3, 0)
    h = np.maximum(h @ w4.T + b4, 0)
    return h @ w5.T + b5

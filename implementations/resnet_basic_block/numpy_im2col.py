"""resnet_basic_block in NumPy, BN folded into the convolutions and each 3x3 convolution an
im2col GEMM: the padded input's (strided) 3x3 windows viewed with sliding_window_view and
contracted with the folded weight by one tensordot (BLAS), in the input dtype. ReLUs and
the shortcut add run in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from harness import implementation
from suites.resnet_basic_block import EPS, BlockOptions, check


def _conv(x: Any, w: Any, b: Any, stride: int, pad: int) -> Any:
    """(N, C, H, W) * (O, C, k, k) + b -> (N, O, H', W') by im2col + GEMM."""
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    win = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, H', W', O)
    out += b
    return out.transpose(0, 3, 1, 2)


def _fold(w: Any, bn: Any) -> tuple[Any, Any]:
    scale = bn[0] / np.sqrt(bn[3] + bn.dtype.type(EPS))
    return w * scale[:, None, None, None], bn[1] - bn[2] * scale


@implementation("resnet_basic_block", "numpy", "im2col_folded")
def block(x: Any, w1: Any, bn1: Any, w2: Any, bn2: Any, w_proj: Any, bn_proj: Any,
          opts: BlockOptions) -> Any:  # fmt: skip
    """Folded BN; im2col GEMM per conv; in-place ReLU and shortcut add."""
    dtype = check(x, w1, bn1, w2, bn2, w_proj, bn_proj, opts)
    s, (o, c) = opts.stride, w1.shape[:2]
    x = x.astype(dtype, copy=False)
    k1, b1 = _fold(w1, bn1)
    k2, b2 = _fold(w2, bn2)
    out = np.maximum(_conv(x, k1, b1, s, 1), 0)
    out = np.ascontiguousarray(_conv(out, k2, b2, 1, 1))
    if w_proj is not None:
        kp, bp = _fold(w_proj, bn_proj)
        out += _conv(x, kp, bp, s, 0)
    elif o != c or s != 1:
        before = (o - c) // 2
        out[:, before : before + c] += x[:, :, ::s, ::s]
    else:
        out += x
    return np.maximum(out, 0, out=out)

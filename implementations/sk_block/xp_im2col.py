"""sk_block through the array API for NumPy and CuPy: each branch conv as one grouped
im2col GEMM (the k² shifted views of the zero-padded input stacked once, BN folded into the
weights), ReLU in place, the squeeze and selection as small matmuls, the mix in place.
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.sk_block import BN_EPS, SkOptions, check, dilation


def _fold(xp: Any, params: Any) -> tuple[Any, Any]:
    weight, bias, mean, var = (params[i] for i in range(4))
    scale = weight / xp.sqrt(var + BN_EPS)
    return scale, bias - mean * scale


def _branch(xp: Any, x: Any, w: Any, bn: Any, dil: int, groups: int) -> Any:
    """ReLU(BN(conv(x))) as (N, g, C/g·k², H·W) columns times (g, C/g, C/g·k²) weights."""
    n, c, h, wd = x.shape
    k = w.shape[-1]
    pad = dil * (k - 1) // 2
    padded = xp.zeros((n, c, h + 2 * pad, wd + 2 * pad), dtype=x.dtype)
    padded[:, :, pad : pad + h, pad : pad + wd] = x
    taps = [padded[:, :, i * dil : i * dil + h, j * dil : j * dil + wd]
            for i in range(k) for j in range(k)]  # fmt: skip
    cin = c // groups
    cols = xp.reshape(xp.stack(taps, axis=2), (n, groups, cin * k * k, h * wd))
    scale, shift = _fold(xp, bn)
    wg = xp.reshape(w * scale[:, None, None, None], (groups, c // groups, cin * k * k))
    u = xp.matmul(wg, cols)  # (N, g, C/g, H·W)
    u = xp.reshape(u, (n, c, h * wd))
    u += shift[:, None]
    return xp.maximum(u, xp.zeros((), dtype=u.dtype))


@implementation("sk_block", ("numpy", "cupy"), "im2col")
def sk(
    x: Any, conv_w: Any, bn_u: Any, fc_w: Any, bn_z: Any, sel_w: Any, sel_b: Any,
    groups: int, reduction: int, min_width: int, opts: SkOptions,
) -> Any:  # fmt: skip
    """Per branch one im2col GEMM with folded BN + ReLU; GAP; ReLU(folded fc); softmax; mix."""
    check(x, conv_w, bn_u, fc_w, bn_z, sel_w, sel_b, groups, reduction, min_width, opts)
    xp = array_namespace(x)
    n, c, h, w = x.shape
    if n * c * h * w == 0:
        return xp.zeros_like(x)
    branches = [_branch(xp, x, wm, bn_u[m], dilation(m, opts), groups)
                for m, wm in enumerate(conv_w)]  # fmt: skip
    s = branches[0].sum(axis=-1)
    for u in branches[1:]:
        s += u.sum(axis=-1)  # GAP of the sum = the sum of the branch sums
    s /= math.prod((h, w))
    scale, shift = _fold(xp, bn_z)
    z = xp.matmul(s, xp.matrix_transpose(fc_w * scale[:, None])) + shift
    z = xp.maximum(z, xp.zeros((), dtype=z.dtype))
    logits = xp.matmul(z, xp.matrix_transpose(sel_w))  # (M, N, C)
    if sel_b is not None:
        logits += sel_b[:, None, :]
    logits -= xp.max(logits, axis=0, keepdims=True)
    e = xp.exp(logits)
    a = e / xp.sum(e, axis=0, keepdims=True)
    out = branches[0]
    out *= a[0][:, :, None]
    for m in range(1, len(branches)):
        out += branches[m] * a[m][:, :, None]
    return xp.reshape(out, (n, c, h, w))

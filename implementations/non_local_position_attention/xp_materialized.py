"""non_local_position_attention through the array API: batched matmuls, scores per row block.

One code for NumPy, torch (CPU and CUDA) and CuPy via array-api-compat: the three 1x1 convs are
batched (C', C)·(C, N) products, the N x N scores are built for a block of query positions
at a time (every image at once) so memory stays bounded, the max-subtracted exp runs in place
and the softmax's division is applied to the (C_v, rows) result instead of the scores. The
conv_bn residual folds the eval-mode BatchNorm into W_z. Everything stays in the input dtype.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.non_local_position_attention import BN_EPS, NonLocalOptions, check, logit_scale

_BLOCK_ELEMENTS = 1 << 24  # scores per block: 64 MiB in float32


def _project(xp: Any, w: Any, b: Any, flat: Any) -> Any:
    out = xp.matmul(w, flat)  # (C', C)·(B, C, N) -> (B, C', N)
    if b is not None:
        out += b[:, None]
    return out


@implementation(
    "non_local_position_attention", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "materialized"
)
def attention(
    x: Any, wq: Any, bq: Any, wk: Any, bk: Any, wv: Any, bv: Any, gamma: Any, wz: Any, bn: Any,
    opts: NonLocalOptions,
) -> Any:  # fmt: skip
    """Q, K, V by batched matmul; per block of queries Qᵀ·K, in-place exp, ·Vᵀ, / row sums."""
    check(x, wq, bq, wk, bk, wv, bv, gamma, wz, bn, opts)
    xp = array_namespace(x, wq, wk, wv)
    B, C, H, W = x.shape
    N, cv = H * W, wv.shape[0]
    if B * N == 0:
        return xp.zeros_like(x)
    flat = xp.reshape(x, (B, C, N))
    q = xp.matrix_transpose(_project(xp, wq, bq, flat))  # (B, N, C')
    k, v = _project(xp, wk, bk, flat), _project(xp, wv, bv, flat)  # (B, C', N), (B, Cv, N)
    scale = logit_scale(wq.shape[0], opts)
    rows = max(1, _BLOCK_ELEMENTS // (B * N))
    out = v if rows >= N else xp.empty((B, cv, N), dtype=x.dtype)
    for lo in range(0, N, rows):
        hi = min(N, lo + rows)
        scores = xp.matmul(q[:, lo:hi, :], k)  # (B, rows, N)
        if scale != 1.0:
            scores *= scale
        scores -= xp.max(scores, axis=-1, keepdims=True)
        xp.exp(scores, out=scores)  # numpy, torch and cupy all take out= (beyond the standard)
        block = xp.matmul(v, xp.matrix_transpose(scores))  # (B, Cv, rows)
        block /= xp.sum(scores, axis=-1)[:, None, :]
        if rows >= N:
            out = block
        else:
            out[:, :, lo:hi] = block
    if opts.residual == "gamma":
        y = out * float(gamma)
    else:
        factor = bn[0] / xp.sqrt(bn[3] + BN_EPS)  # eval BatchNorm folded into W_z
        y = xp.matmul(wz * factor[:, None], out)
        y += (bn[1] - bn[2] * factor)[:, None]
    y += flat
    return xp.reshape(y, (B, C, H, W))

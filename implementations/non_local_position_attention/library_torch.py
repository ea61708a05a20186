"""The layers a torch user writes for position attention: F.conv2d 1x1 projections,
F.scaled_dot_product_attention over the flattened positions (one head, scale 1 for the
unscaled logits of DANet and the non-local block), then gamma·out + x or an eval-mode
F.batch_norm after a bias-free 1x1 conv, plus x.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness import implementation
from suites.non_local_position_attention import BN_EPS, NonLocalOptions, check, logit_scale


def _conv1x1(x: Any, w: Any, b: Any) -> Any:
    return F.conv2d(x, w[:, :, None, None], b)


@implementation(
    "non_local_position_attention",
    "library",
    "torch",
    arrays="torch_cpu",
    requires=("torch",),
    expected_failures={
        "no_channels": "F.conv2d with 0 input channels returns 0 output channels, not the bias",
        "no_rows": "F.conv2d refuses an empty spatial input (kernel larger than the input)",
        "no_columns": "F.conv2d refuses an empty spatial input (kernel larger than the input)",
        "no_rows_gamma": "F.conv2d refuses an empty spatial input (kernel larger than the input)",
        "no_value_channels": "F.conv2d refuses a weight with 0 output channels",
    },
)
def attention(
    x: Any, wq: Any, bq: Any, wk: Any, bk: Any, wv: Any, bv: Any, gamma: Any, wz: Any, bn: Any,
    opts: NonLocalOptions,
) -> Any:  # fmt: skip
    """conv2d 1x1 (Q, K, V) -> F.sdpa on (B, 1, N, C') -> (B, C_v, H, W) -> residual."""
    check(x, wq, bq, wk, bk, wv, bv, gamma, wz, bn, opts)
    B, _, H, W = x.shape
    with torch.no_grad():
        q, k, v = (_conv1x1(x, w, b).flatten(2).transpose(1, 2)[:, None]
                   for w, b in ((wq, bq), (wk, bk), (wv, bv)))  # fmt: skip
        scale = logit_scale(wq.shape[0], opts)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, scale=scale)
        out = out[:, 0].transpose(1, 2).reshape(B, wv.shape[0], H, W)
        if opts.residual == "gamma":
            return gamma * out + x
        z = _conv1x1(out, wz, None)
        return F.batch_norm(z, bn[2], bn[3], bn[0], bn[1], training=False, eps=BN_EPS) + x

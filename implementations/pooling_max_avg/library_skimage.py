"""pooling_max_avg through skimage.measure.block_reduce, where scikit-image is installed:
non-overlapping k_h x k_w blocks (stride = the kernel), no padding, no dilation, floor
output size. block_reduce pads a partial last block with cval, so the input is first cut to
whole blocks (torch's floor mode drops those cells). Overlapping strides, padding, dilation
and ceil_mode are refused as unsupported conventions; with no padding count_include_pad
changes nothing, and divisor_override divides the block sums instead of taking the mean."""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage import measure

from harness import implementation
from suites.pooling_max_avg import ARGS, PoolOptions, pool_axes


@implementation(
    "pooling_max_avg",
    "library",
    "skimage",
    arrays="numpy",
    requires=("skimage",),
    supports={
        "stride": (None,),
        "padding": ((0, 0),),
        "dilation": ((1, 1),),
        "ceil_mode": (False,),
    },
)
def pool(x: Any, opts: PoolOptions) -> Any:
    """block_reduce(x[..., :H_out·k_h, :W_out·k_w], (1, 1, k_h, k_w), np.max / np.mean)."""
    ARGS.check(x)
    ah, aw = pool_axes(x.shape, opts)
    whole = x[:, :, : ah.out * ah.k, : aw.out * aw.k]
    block = (1, 1, ah.k, aw.k)
    reduce: Any = measure.block_reduce  # untyped in scikit-image
    if opts.op == "max":
        out = reduce(whole, block, func=np.max)
    elif opts.divisor_override is not None:
        out = reduce(whole, block, func=np.sum) / x.dtype.type(opts.divisor_override)
    else:
        out = reduce(whole, block, func=np.mean)
    return np.ascontiguousarray(out, dtype=x.dtype)

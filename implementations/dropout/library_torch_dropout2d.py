"""torch.nn.functional.dropout1d / dropout2d / dropout3d with torch's own generator: what a
practitioner calls for channel dropout.

It cannot take the suite's mask, so it is judged statistically (own_rng): every value must
be x/(1 - p) or 0, every channel kept or dropped whole, and the number of kept channels
must pass a binomial test. The adapter copies x in eval mode and at p = 0 (torch returns x
itself there) and undoes the 1/(1 - p) for the paper convention. torch multiplies by the
mask, so only the product NaN rule is available.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from harness import implementation
from suites.dropout import CHANNEL_ARGS, DropoutOptions

# batched input only: (N, C, L), (N, C, H, W), (N, C, D, H, W)
_BY_NDIM = {3: F.dropout1d, 4: F.dropout2d, 5: F.dropout3d}


@implementation(
    "dropout.channel",
    "library",
    "torch",
    arrays="torch_cpu",
    requires=("torch",),
    own_rng=True,
    supports={"nan_dropped": ("product",)},  # x·mask: a NaN in a dropped channel stays NaN
)
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """F.dropout{1,2,3}d(x, p, training) on torch's generator; the injected mask is unused."""
    CHANNEL_ARGS.check(x, mask, p)
    if not opts.training:
        return x * (1.0 - p) if opts.scaling == "paper" else x.clone()
    if p == 0:
        return x.clone()
    y = _BY_NDIM[x.ndim](x, p, training=True)
    return y.mul_(1.0 - p) if opts.scaling == "paper" else y

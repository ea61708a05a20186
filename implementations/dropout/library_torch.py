"""torch.nn.functional.dropout with torch's own generator: what a practitioner calls.

It cannot take the suite's mask, so it is judged statistically (own_rng): kept values must
be x/(1 - p), dropped ones 0, and the keep rate must pass a binomial test. The adapter
copies x in eval mode and at p = 0 (F.dropout returns x itself there) and undoes the
1/(1 - p) for the paper convention. torch multiplies by the mask, so only the product NaN
rule is available.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from harness import implementation
from suites.dropout import ARGS, DropoutOptions


@implementation(
    "dropout",
    "library",
    "torch",
    arrays="torch_cpu",
    requires=("torch",),
    own_rng=True,
    supports={"nan_dropped": ("product",)},  # x·mask: a dropped NaN stays NaN
)
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """F.dropout(x, p, training) on torch's generator; the injected mask is not used."""
    ARGS.check(x, mask, p)
    if not opts.training:
        return x * (1.0 - p) if opts.scaling == "paper" else x.clone()
    if p == 0:
        return x.clone()
    y = F.dropout(x, p, training=True)
    return y.mul_(1.0 - p) if opts.scaling == "paper" else y

"""weight_init_xavier_kaiming with NumPy's global generator, as textbooks write it.

np.random.uniform / np.random.normal draw float64 values of the whole shape (the legacy
Mersenne Twister, seeded by the harness), then one assignment casts them into weight.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.weight_init_xavier_kaiming import ARGS, InitOptions, spread


@implementation("weight_init_xavier_kaiming", "numpy", "global", supports={"truncation": ("none",)})
def init(weight: Any, opts: InitOptions) -> None:
    """weight[...] = np.random.uniform(-b, b, shape) or np.random.normal(0, std, shape)."""
    ARGS.check(weight)
    s = spread(weight.shape, opts)
    if opts.scheme.endswith("uniform"):
        weight[...] = np.random.uniform(-s, s, weight.shape)
    else:
        weight[...] = np.random.normal(0.0, s, weight.shape)

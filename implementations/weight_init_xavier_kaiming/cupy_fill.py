"""weight_init_xavier_kaiming in CuPy: cuRAND draws in weight's dtype, scaled in one kernel.

CuPy's global generator (seeded by the harness) draws uniforms or standard normals of
weight's dtype on the device; one fused elementwise kernel scales them into weight.
"""

from __future__ import annotations

from typing import Any

import cupy as cp

from harness import implementation
from suites.weight_init_xavier_kaiming import ARGS, InitOptions, spread

# u in [0, 1) -> 2s·u - s in [-s, s); z ~ N(0, 1) -> s·z
_UNIFORM = cp.ElementwiseKernel("T u, T s", "T w", "w = (u + u - (T)1) * s", "opshootout_unif")
_NORMAL = cp.ElementwiseKernel("T z, T s", "T w", "w = z * s", "opshootout_norm")


@implementation("weight_init_xavier_kaiming", "cupy", "fill", supports={"truncation": ("none",)})
def init(weight: Any, opts: InitOptions) -> None:
    """random_sample / standard_normal in weight's dtype, then one kernel writes weight."""
    dtype = ARGS.check(weight)
    s = dtype.type(spread(weight.shape, opts))
    if opts.scheme.endswith("uniform"):
        _UNIFORM(cp.random.random_sample(weight.shape, dtype=dtype), s, weight)
    else:
        _NORMAL(cp.random.standard_normal(weight.shape, dtype=dtype), s, weight)

"""weight_init_xavier_kaiming with a NumPy Generator drawn straight into the weight.

A PCG64 Generator seeded from the global generator (so the harness's seed decides it)
writes float32 or float64 values into weight's memory (``out=``): uniforms are then
scaled in place, normals come from the ziggurat (much cheaper than the legacy polar
method); truncated normals redraw the values past ±2 until none is left. No temporaries
for contiguous float32/float64 weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.weight_init_xavier_kaiming import ARGS, InitOptions, spread, trunc_scale


@implementation("weight_init_xavier_kaiming", "numpy", "pcg64")
def init(weight: Any, opts: InitOptions) -> None:
    """Generator.random / standard_normal(out=weight), then one or two in-place ops."""
    dtype = ARGS.check(weight)
    s = dtype.type(spread(weight.shape, opts))
    rng = np.random.default_rng(np.random.randint(0, 2**63 - 1, dtype=np.int64))
    direct = weight.flags.c_contiguous and dtype in (np.float32, np.float64)
    buf = weight.reshape(-1) if direct else np.empty(weight.size, np.float64)
    if opts.scheme.endswith("uniform"):
        rng.random(out=buf, dtype=buf.dtype)  # [0, 1), then 2s·u - s in [-s, s)
        buf *= 2 * s
        buf -= s
    else:
        rng.standard_normal(out=buf, dtype=buf.dtype)
        if opts.truncation != "none":
            s = dtype.type(trunc_scale(float(s), opts))
            # cut at ±2 by rejection: 4.6 % of the draws are redrawn, then 0.2 %, ...
            out = np.flatnonzero(np.abs(buf) > 2.0)
            while out.size:
                buf[out] = rng.standard_normal(out.size, dtype=buf.dtype)
                out = out[np.abs(buf[out]) > 2.0]
        buf *= s
    if not direct:
        weight[...] = buf.reshape(weight.shape)

"""receptive_field in pure Python, in closed form over running products: with J_i the
product of the strides before layer i, r = 1 + Σ (k_eff_i - 1)·J_i and start = 0.5 +
Σ ((k_eff_i - 1)/2 - p_i)·J_i, accumulated as prefix sums in one pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.receptive_field import check


@implementation("receptive_field", "python", "closed_form", max_flops=1e6)
def rf(layers: Any) -> Any:
    """Prefix sums of (k_eff - 1)·J and ((k_eff - 1)/2 - p)·J over the stride products J."""
    rows = check(layers)
    out = []
    span, centre, jump = 0.0, 0.0, 1.0
    for k, s, p, d in rows:
        grow = d * (k - 1)
        span += grow * jump
        centre += (grow / 2 - p) * jump
        jump *= s
        out.append((1.0 + span, jump, 0.5 + centre))
    return np.array(out, dtype=np.float64).reshape(len(out), 3)

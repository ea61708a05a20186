"""hungarian_assignment through scipy.optimize.linear_sum_assignment (Crouse's rectangular
shortest augmenting path, in C++).

Adapter for maximize: scipy's own maximize=True negates the matrix, which turns the +inf of
a forbidden pair into an invalid -inf (it forbids -inf instead); here the finite costs are
negated and +inf kept, then scipy minimises. Rows come back ascending, as int64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from harness import implementation
from suites.hungarian_assignment import ARGS, AssignmentOptions


@implementation("hungarian_assignment", "library", "scipy", arrays="numpy", requires=("scipy",))
def hungarian_assignment(cost: Any, opts: AssignmentOptions) -> Any:
    """scipy linear_sum_assignment; maximize as the minimum of the negated finite costs."""
    ARGS.check(cost)
    c = np.asarray(cost, dtype=np.float64)  # scipy solves in float64 whatever comes in
    if opts.maximize:
        c = np.where(np.isposinf(c), np.inf, -c)
    rows, cols = linear_sum_assignment(c)
    return rows.astype(np.int64, copy=False), cols.astype(np.int64, copy=False)

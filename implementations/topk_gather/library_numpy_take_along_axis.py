"""np.take_along_axis, NumPy's gather: it needs index the same size as x on the other axes,
so x is sliced to index's extent there first (a view); negative indices, which it would
wrap, are refused by the suite's check."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.topk_gather import gather_check


@implementation("topk_gather.gather", "library", "numpy_take_along_axis", arrays="numpy")
def gather(x: Any, dim: int, index: Any) -> Any:
    """x[:I, :J, :K] except along dim, then np.take_along_axis(x, index, dim)."""
    axis = gather_check(x, dim, index)
    window = tuple(slice(None) if a == axis else slice(0, index.shape[a]) for a in range(3))
    return np.take_along_axis(x[window], index, axis=axis)

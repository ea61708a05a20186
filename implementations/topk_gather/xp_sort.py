"""topk_gather through the array API: one stable argsort per line, the first k kept.

O(n log n) rather than O(n log k), but a single library sort on every backend (NumPy,
torch CPU and CUDA, CuPy); stable with descending=True keeps equal values in index order,
which is stable_lower_index, and their sorts put NaN as the largest value.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.topk_gather import TopkOptions, check


@implementation("topk_gather", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "sort")
def topk(x: Any, k: int, dim: int, opts: TopkOptions) -> tuple[Any, Any]:
    """Stable argsort along dim (descending when largest), the first k, gathered."""
    _, axis = check(x, k, dim, opts)
    xp = array_namespace(x)
    order = xp.argsort(x, axis=axis, descending=opts.largest, stable=True)
    idx = order[:, : int(k)] if axis == 1 else order[: int(k), :]
    idx = xp.astype(idx, xp.int64, copy=False)
    return xp.take_along_axis(x, idx, axis=axis), idx

"""gather in Numba: one compiled triple loop over index, the outer axis in parallel; the
gathered axis is moved last on both sides (views), so the inner loop reads one x line. The
values are copied as unsigned integers of their width (bit-exact: NaN payloads, -0.0) and
the index as int64, so one compiled signature serves every dtype of a width."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from harness import implementation
from harness.numba_threads import threaded_njit
from suites.topk_gather import gather_check


@threaded_njit()
def _gather_last(x: Any, index: Any, out: Any) -> None:  # pragma: no cover
    a, b, c = index.shape
    for i in numba.prange(a):
        for j in range(b):
            line = x[i, j]
            for k in range(c):
                out[i, j, k] = line[index[i, j, k]]


@implementation("topk_gather.gather", "numba", "gather")
def gather(x: Any, dim: int, index: Any) -> Any:
    """Move dim last (views), the parallel loop, move it back."""
    axis = gather_check(x, dim, index)
    out = np.empty(index.shape, dtype=x.dtype)
    if out.size:
        bits = np.dtype(f"u{x.dtype.itemsize}")
        _gather_last(np.moveaxis(x.view(bits), axis, -1),
                     np.moveaxis(index.astype(np.int64, copy=False), axis, -1),
                     np.moveaxis(out.view(bits), axis, -1))  # fmt: skip
    return out

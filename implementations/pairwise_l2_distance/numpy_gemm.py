"""pairwise_l2_distance in NumPy via the GEMM expansion ||a||^2 + ||b||^2 - 2 a b^T.

One BLAS matrix product does the work; cancellation leaves small negative squares (clamped
at 0 before the sqrt) and non-zero self-distances, and large offsets destroy accuracy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.pairwise_l2_distance import GEMM_EXPECTED_FAILURES, validate_points


@implementation(
    "pairwise_l2_distance",
    "numpy",
    "gemm",
    supports={"squared": (False, True)},
    expected_failures=GEMM_EXPECTED_FAILURES,
)
def pairwise_l2_distance(a: Any, b: Any, *, squared: bool = False) -> Any:
    """a @ b.T scaled by -2, plus both squared norms, clamped at 0, in the input dtype."""
    validate_points(a, b)
    dtype = np.result_type(a, b, np.float32)
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    sq_a = np.einsum("ij,ij->i", a, a)
    sq_b = np.einsum("ij,ij->i", b, b)
    d2 = a @ b.T
    d2 *= -2
    d2 += sq_a[:, None]
    d2 += sq_b
    np.maximum(d2, 0, out=d2)  # NaN survives np.maximum
    return d2 if squared else np.sqrt(d2, out=d2)

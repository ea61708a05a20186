"""pairwise_l2_distance through the array API via the GEMM expansion ||a||^2 + ||b||^2 - 2ab^T.

One matrix product does the work, the same code for NumPy, torch (CPU and CUDA) and CuPy.
The -2 is folded into a (M x D, not M x N), and every pass over the (M, N) result is in place:
two bias adds, a masked clamp of the negatives cancellation leaves (NaN survives), and
``**= 0.5``, which NumPy and torch compute as an in-place sqrt. Cancellation also leaves
non-zero self-distances, and large offsets destroy accuracy (the expected failures).
"""

from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace

from harness import implementation
from suites.pairwise_l2_distance import ARGS, GEMM_EXPECTED_FAILURES, L2Options


@implementation(
    "pairwise_l2_distance",
    ("numpy", "torch_cpu", "torch_cuda", "cupy"),
    "gemm",
    expected_failures=GEMM_EXPECTED_FAILURES,
)
def pairwise_l2_distance(a: Any, b: Any, opts: L2Options) -> Any:
    """(-2a) @ b.T, plus both squared norms, clamped at 0, in the input dtype."""
    dtype, xp = ARGS.check(a, b), array_namespace(a, b)
    a, b = xp.astype(a, dtype, copy=False), xp.astype(b, dtype, copy=False)
    d2 = (a * -2) @ b.T  # scaling by -2 is exact: the same values as -2 * (a @ b.T)
    d2 += xp.sum(a * a, axis=1)[:, None]
    d2 += xp.sum(b * b, axis=1)
    d2[d2 < 0] = 0
    if not opts.squared:
        d2 **= 0.5
    return d2

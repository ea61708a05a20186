"""pairwise_l2_distance via sklearn.metrics.pairwise.euclidean_distances.

sklearn's GEMM route: ||a||^2 + ||b||^2 - 2 a.b^T, negatives clipped to 0 before the sqrt;
float32 inputs are upcast to float64 in chunks (so its float32 results carry far less
cancellation than a float32 GEMM) and the result has the input dtype. squared=True asks it
for the squared distances. Its input validation refuses NaN, zero rows and zero features
(ValueError): those cases are expected failures, and so is the exact 0 of identical points.
"""

from __future__ import annotations

from typing import Any

from sklearn.metrics.pairwise import euclidean_distances

from harness import implementation
from suites.pairwise_l2_distance import ARGS, L2Options

NO_SAMPLES = "sklearn's check_array refuses an array with 0 samples (ValueError)"
NO_FEATURES = "sklearn's check_array refuses an array with 0 features (ValueError)"


@implementation(
    "pairwise_l2_distance",
    "library",
    "sklearn",
    arrays="numpy",
    requires=("sklearn",),
    expected_failures={
        "empty_a": NO_SAMPLES,
        "empty_b": NO_SAMPLES,
        "empty_both": NO_SAMPLES,
        "empty_d": NO_FEATURES,
        "identical_points": "GEMM cancellation in its float64 upcast leaves self-distances "
        "of a few float32 ulps (measured up to 3.9e-7 on 30 of 4096 entries) where atol is 0",
        "nan_propagation": "sklearn's check_array refuses NaN input (ValueError) instead of "
        "propagating it",
    },
)
def pairwise_l2_distance(a: Any, b: Any, opts: L2Options) -> Any:
    """euclidean_distances(a, b, squared=...), in the input dtype."""
    dtype = ARGS.check(a, b)
    return euclidean_distances(a, b, squared=opts.squared).astype(dtype, copy=False)

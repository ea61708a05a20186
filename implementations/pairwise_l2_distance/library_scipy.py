"""pairwise_l2_distance via scipy.spatial.distance.cdist: direct differences in float64.

The practitioner's CPU reference: 'euclidean' or 'sqeuclidean', result cast to the input dtype.
"""

from __future__ import annotations

from typing import Any

from scipy.spatial.distance import cdist

from harness import implementation
from suites.pairwise_l2_distance import ARGS, L2Options


@implementation("pairwise_l2_distance", "library", "scipy", arrays="numpy", requires=("scipy",))
def pairwise_l2_distance(a: Any, b: Any, opts: L2Options) -> Any:
    """cdist(a, b, 'sqeuclidean' if squared else 'euclidean'), cast back to the input dtype."""
    dtype = ARGS.check(a, b)
    metric = "sqeuclidean" if opts.squared else "euclidean"
    return cdist(a, b, metric=metric).astype(dtype, copy=False)

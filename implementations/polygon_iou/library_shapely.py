"""polygon_iou through shapely 2 (GEOS): vectorised polygons, intersections and areas.

shapely.polygons builds every ring at once (either orientation, open or closed),
shapely.intersection and shapely.area measure the pairs elementwise, in float64.
The suite's validation (simple rings, convexity under kind='convex') runs first: GEOS
itself would return a wrong area for a self-intersecting ring, not an error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from harness import implementation
from suites.polygon_iou import PolygonIouOptions, check


@implementation(
    "polygon_iou",
    "library",
    "shapely",
    arrays="numpy",
    requires=("shapely",),
    max_flops=20.0 * 4 * 4 * 20_000,  # a GEOS overlay costs ~20 us a pair
)
def polygon_iou(polygons_a: Any, polygons_b: Any, opts: PolygonIouOptions) -> Any:
    """shapely.polygons + shapely.intersection + shapely.area, elementwise over pairs."""
    dtype = check(polygons_a, polygons_b, opts)
    a = shapely.polygons(np.asarray(polygons_a, dtype=np.float64))
    b = shapely.polygons(np.asarray(polygons_b, dtype=np.float64))
    inter = shapely.area(shapely.intersection(a, b))
    union = shapely.area(a) + shapely.area(b) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union == 0, 0.0, inter / union)
    return iou.astype(dtype, copy=False)

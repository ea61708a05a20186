"""polygon_iou through pyclipper (Clipper 6, Vatti clipping on integer coordinates).

What a Clipper user writes: coordinates scaled by 1e6 and rounded to int64, one
Pyclipper per pair, Execute(CT_INTERSECTION) and pyclipper.Area over the result's rings;
the polygons' own areas are pyclipper.Area of their scaled paths (areas / 1e12). The
suite's validation (simple rings, convexity under kind='convex') runs first: Clipper's
fill rules would measure a self-intersecting ring instead of refusing it.

Accuracy: rounding to the 1e-6 grid moves each vertex, and each crossing Clipper
computes, by at most 0.5e-6 per axis, so an area moves by at most ~perimeter x 0.5e-6
(x sqrt 2): a relative error ~perimeter x 0.5e-6 / area, ~3e-7 for the suite's polygons
(perimeter ~60, area ~100), more for slivers, where the absolute IoU error stays ~that
perimeter x 0.5e-6 / union. Seen: IoU at most 8e-8 off (relative 3e-6 on small IoUs).
That meets the float32 tolerance (2e-5) by over a hundred times and can never meet the
float64 one (1e-10): the float64 cases with a nonzero, inexact overlap are its expected
failures (the suite's divergent_inputs extends that to float64 fuzz cases). Scaled
coordinates past Clipper's range (|x| >= ~4.6e12 before scaling) raise ValueError.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyclipper

from harness import implementation
from suites.polygon_iou import PolygonIouOptions, check

#: Clipper's fixed-point grid: coordinates x 1e6, rounded (the spec's scale).
SCALE = 1e6
#: Clipper 6's largest coordinate magnitude (hiRange, 0x3FFFFFFFFFFFFFFF).
HI_RANGE = 0x3FFFFFFFFFFFFFFF

_GRID = (
    "float64: the 1e-6 grid moves areas by ~perimeter x 0.5e-6 (IoU ~1e-7 off), far past "
    "the float64 tolerance 1e-10"
)


@implementation(
    "polygon_iou",
    "library",
    "pyclipper",
    arrays="numpy",
    requires=("pyclipper",),
    max_flops=20.0 * 4 * 4 * 20_000,  # one Clipper per pair from Python: ~20 us a pair
    expected_failures={
        "star_f64": _GRID,
        "convex_f64": _GRID,
        "convex_as_simple_f64": _GRID,
        "gon32_f64": _GRID,
        "star32_f64": _GRID,
        "cw_and_closed": _GRID,
        "collinear_duplicated_star": _GRID,
        "nested": _GRID,
    },
)
def polygon_iou(polygons_a: Any, polygons_b: Any, opts: PolygonIouOptions) -> Any:
    """Per pair: Pyclipper.Execute(CT_INTERSECTION) on 1e6-scaled int64 paths + Area."""
    dtype = check(polygons_a, polygons_b, opts)
    a = np.asarray(polygons_a, dtype=np.float64) * SCALE
    b = np.asarray(polygons_b, dtype=np.float64) * SCALE
    if a.size and max(np.abs(a).max(), np.abs(b).max()) >= HI_RANGE:
        raise ValueError(f"coordinates past pyclipper's range (|x| < {HI_RANGE / SCALE:.3g})")
    paths_a = np.round(a).astype(np.int64).tolist()
    paths_b = np.round(b).astype(np.int64).tolist()
    iou = np.zeros(len(paths_a))
    for i, (pa, pb) in enumerate(zip(paths_a, paths_b, strict=True)):
        area_a, area_b = abs(pyclipper.Area(pa)), abs(pyclipper.Area(pb))
        clipper = pyclipper.Pyclipper()
        try:
            clipper.AddPath(pa, pyclipper.PT_SUBJECT, True)
            clipper.AddPath(pb, pyclipper.PT_CLIP, True)
        except pyclipper.ClipperException:  # a ring of no area on the grid: meets nothing
            inter = 0.0
        else:
            rings = clipper.Execute(
                pyclipper.CT_INTERSECTION, pyclipper.PFT_NONZERO, pyclipper.PFT_NONZERO
            )
            inter = abs(sum(pyclipper.Area(r) for r in rings))  # holes come out negative
        union = area_a + area_b - inter
        iou[i] = inter / union if union > 0 else 0.0
    return iou.astype(dtype, copy=False)

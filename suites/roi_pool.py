"""Suite for roi_pool: max (or average) pooling of N x C x H x W features over K x 5 RoIs in
quantised bins (torchvision's ``roi_pool`` semantics, ported: torchvision does not install)."""

from __future__ import annotations

import math
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close
from harness.comparators.base import default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance
from suites.roi_align import BATCH_INDEX, FINITE_CORNERS

#: the case's dtype while the harness runs the oracle (on inputs upcast to float64)
_CASE_DTYPE: ContextVar[str | None] = ContextVar("roi_pool_case_dtype", default=None)

#: torchvision starts every non-empty bin's max at -FLT_MAX (float32's largest), in any dtype
FLT_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class RoiPoolOptions(Options):
    quantisation: str = option(
        "floor_ceil_float",
        "floor_ceil_exact",
        "floor_bins",
        meaning="bin p spans [floor(p*b), ceil((p+1)*b)) of the RoI's R cells, b = R/P "
        "computed in the input's dtype (torchvision, Caffe: bins may overlap); or the same "
        "in exact integers (adaptive pooling's rule; differs e.g. for R = 29, P = 7 in "
        "float64, R = 57, P = 7 in float32); or floor(R/P) cells each, the rest dropped",
    )
    pool_mode: str = option("max", "avg", meaning="max of the bin's cells, or their mean")
    nan_policy: str = option(
        "propagate",
        "torchvision",
        meaning="max: a NaN cell makes the bin NaN; or NaN never wins a comparison and the "
        "max starts at -FLT_MAX (torchvision's kernel: a bin of NaN or -inf gives -FLT_MAX)",
    )


ARGS = Args(
    Arg("features", ("N", "C", "H", "W"), "float"),
    Arg("rois", ("K", 5), "float", rules=(BATCH_INDEX, FINITE_CORNERS)),
    Scalar("pooled_height", "int", low=1),
    Scalar("pooled_width", "int", low=1),
    Scalar("spatial_scale"),
    nonempty=("N", "H", "W"),
    same_dtype=("features", "rois"),
)


def check_rois(features: Any, rois: Any, *scalars: Any) -> Any:
    """ARGS.check, spatial_scale > 0 and every batch index < N; returns the result dtype."""
    dtype = ARGS.check(features, rois, *scalars)
    if not float(scalars[2]) > 0:
        raise ValueError(f"spatial_scale must be > 0, got {scalars[2]!r}")
    n = len(features)
    if isinstance(rois, list | tuple):
        top = max((float(r[0]) for r in rois), default=-1.0)
    else:
        top = float(rois[:, 0].max()) if rois.shape[0] else -1.0
    if top >= n:
        raise ValueError(f"rois has batch index {top:g} but features has N={n}")
    return dtype


def round_half_away(v: float) -> int:
    """C's round(): halves go away from zero (np.round would take them to even)."""
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def bin_edges(
    start: int, cells: int, pooled: int, size: int, quantisation: str, dtype: Any = np.float64
) -> Any:
    """[(lo, hi)] per bin along one axis, clipped to [0, size); the RoI has ``cells`` cells
    from ``start``. floor_ceil_float: b = R/P, floor(p*b) and ceil((p+1)*b), every operation
    rounded to ``dtype`` as torchvision's kernel does; floor_ceil_exact: the same quotients
    in exact integer arithmetic."""
    t = np.dtype(dtype).type
    out = []
    for p in range(pooled):
        if quantisation == "floor_bins":
            step = cells // pooled
            lo, hi = p * step, (p + 1) * step
        elif quantisation == "floor_ceil_exact":
            lo, hi = (p * cells) // pooled, -((-(p + 1) * cells) // pooled)
        else:  # numpy scalars of one dtype keep that dtype through / and *
            b = t(cells) / t(pooled)
            lo, hi = int(np.floor(t(p) * b)), int(np.ceil(t(p + 1) * b))
        out.append((min(max(lo + start, 0), size), min(max(hi + start, 0), size)))
    return out


def roi_cells(x1: float, x2: float, scale: float) -> tuple[int, int]:
    """(start, cells) of a RoI along one axis: rounded corners, at least one cell."""
    start, end = round_half_away(x1 * scale), round_half_away(x2 * scale)
    return start, max(end - start + 1, 1)


def roi_pool(
    features: Any,
    rois: Any,
    pooled_height: int,
    pooled_width: int,
    spatial_scale: float,
    opts: RoiPoolOptions,
) -> Any:
    """Oracle: float64, one bin at a time: quantise the RoI, split it into bins, pool each
    bin's cells of the map (an empty bin, e.g. outside the map, gives 0). Bin sizes are
    divided in the case's dtype (the arrays' own dtype when called directly)."""
    dtype = check_rois(features, rois, pooled_height, pooled_width, spatial_scale)
    dtype = np.dtype(_CASE_DTYPE.get() or dtype)
    f = np.asarray(features, dtype=np.float64)
    r = np.asarray(rois, dtype=np.float64)
    _, c, h, w = f.shape
    out = np.zeros((r.shape[0], c, pooled_height, pooled_width))
    for k, (b, x1, y1, x2, y2) in enumerate(r):
        ys, rh = roi_cells(y1, y2, spatial_scale)
        xs, rw = roi_cells(x1, x2, spatial_scale)
        rows = bin_edges(ys, rh, pooled_height, h, opts.quantisation, dtype)
        cols = bin_edges(xs, rw, pooled_width, w, opts.quantisation, dtype)
        for p, (h0, h1) in enumerate(rows):
            for q, (w0, w1) in enumerate(cols):
                if h1 <= h0 or w1 <= w0:
                    continue  # empty bin: 0
                cells = f[int(b), :, h0:h1, w0:w1].reshape(c, (h1 - h0) * (w1 - w0))
                if opts.pool_mode == "avg":
                    out[k, :, p, q] = cells.mean(axis=1)
                elif opts.nan_policy == "propagate":
                    out[k, :, p, q] = cells.max(axis=1)
                else:  # NaN is never > the running max, which starts at -FLT_MAX
                    finite = np.where(np.isnan(cells), -np.inf, cells)
                    out[k, :, p, q] = np.maximum(finite.max(axis=1), -FLT_MAX)
    return out


# ---- inputs ---------------------------------------------------------------------------------


def _rois(case: Case) -> np.ndarray:
    p = case.params
    rng = np.random.default_rng(case.seed)
    k, n, s = int(p["k"]), int(p["n"]), float(p["scale"])
    img_h, img_w = p["h"] / s, p["w"] / s
    b = rng.integers(0, n, size=k).astype(np.float64)
    wh = rng.uniform(0.02, 0.6, size=(k, 2)) * [img_w, img_h]
    xy = rng.uniform(-0.2, 1.0, size=(k, 2)) * [img_w, img_h]
    r = np.column_stack([b, xy, xy + wh])
    pattern = p.get("pattern", "random")
    if pattern == "outside":  # partly and wholly outside, negative corners
        r[0::3, 1:5] += [img_w * 1.2, 0, img_w * 1.2, 0]
        r[1::3, 1:3] = -r[1::3, 3:5] - 3.0 / s
        r[2::3, 3:5] += [img_w, img_h]
    elif pattern == "degenerate":  # zero width, zero height, points, inverted, tiny
        r[0::5, 3] = r[0::5, 1]
        r[1::5, 4] = r[1::5, 2]
        r[2::5, 3:5] = r[2::5, 1:3]
        r[3::5, 1:5] = r[3::5][:, [3, 4, 1, 2]]
        r[4::5, 3:5] = r[4::5, 1:3] + 1.5 / s
    elif pattern == "halves":  # corners * scale at k + 0.5 exactly, both signs
        cells = rng.integers(-3, int(p["h"]) + 2, size=(k, 4)) + 0.5
        lo, hi = np.minimum(cells[:, :2], cells[:, 2:]), np.maximum(cells[:, :2], cells[:, 2:])
        r[:, 1:3], r[:, 3:5] = lo / s, hi / s
    elif pattern == "small":  # RoIs of 1 to 3 cells: fewer cells than bins, bins overlap
        r[:, 3:5] = r[:, 1:3] + rng.integers(0, 3, size=(k, 2)) / s
    elif pattern == "whole_map":  # RoI i covers image i: 1-cell bins are the identity
        r[:, 0] = np.arange(k) % n
        r[:, 1:] = [0.0, 0.0, (p["w"] - 1) / s, (p["h"] - 1) / s]
    elif pattern == "near_half":  # corners * scale within 1e-10 of k + 0.5: float32 rounds
        cells = rng.integers(0, int(p["h"]), size=(k, 4)) + 0.5  # them onto the half
        cells -= 1e-10
        lo, hi = np.minimum(cells[:, :2], cells[:, 2:]), np.maximum(cells[:, :2], cells[:, 2:])
        r[:, 1:3], r[:, 3:5] = lo / s, hi / s
    elif pattern == "float_bins":  # R = p["cells"] rows (and every other RoI's columns):
        rc = int(p["roi_cells"])  # a size whose float bins differ from the exact ones, with
        starts = rng.integers(0, int(p["h"]) - rc, size=(k, 2))  # the extra cell on the map
        ends = starts + rc - 1
        ends[1::2, 0] = starts[1::2, 0] + 4
        r[:, 1:3], r[:, 3:5] = starts / s, ends / s
    return r


def make_inputs(case: Case) -> Inputs:
    p = case.params
    dtype = np.dtype(case.dtype)
    rng = np.random.default_rng(case.seed + 1)
    features = rng.uniform(-1.0, 1.0, size=(int(p["n"]), int(p["c"]), int(p["h"]), int(p["w"])))
    special = p.get("special", "")
    if special:  # NaN (and -inf) cells: a 3 x 3 NaN block fills whole bins
        features[0, :, 3:6, 3:6] = np.nan
        features[-1, 0, 3, 4] = np.nan
        features[-1, -1, 5:, 5:] = -np.inf
    rois = _rois(case)
    if special and len(rois) >= 2:  # one RoI on the NaN block, one around it
        s = float(p["scale"])
        rois[0], rois[1] = [0, 3 / s, 3 / s, 5 / s, 5 / s], [0, 1 / s, 2 / s, 8 / s, 7 / s]
    if p.get("bad") == "batch":
        rois[-1, 0] = p["n"]
    return {
        "features": features.astype(dtype),
        "rois": rois.astype(p.get("rois_dtype", dtype)),
        "pooled_height": int(p["ph"]),
        "pooled_width": int(p["pw"]),
        "spatial_scale": float(p.get("scale_used", p["scale"])),
    }


# ---- cost and tolerance -----------------------------------------------------------------------


def roi_sizes(rois: Any, scale: float) -> Any:
    """Cells of every RoI (rounded corners, at least 1 x 1), before clipping to the map."""
    r = np.asarray(rois, dtype=np.float64).reshape(-1, 5) * scale
    corners = np.sign(r[:, 1:]) * np.floor(np.abs(r[:, 1:]) + 0.5)
    return np.maximum(corners[:, 2:] - corners[:, :2] + 1, 1).prod(axis=1)


def cost(case: Case) -> Cost:
    """A comparison per RoI cell and channel; a golden case brings its cell count."""
    p = case.params
    b = np.dtype(case.dtype).itemsize
    k, c, bins = int(p["k"]), int(p["c"]), int(p["ph"]) * int(p["pw"])
    cells = float(p["cells"]) if "cells" in p else float(roi_sizes(_rois(case), p["scale"]).sum())
    cells = min(cells, k * float(p["h"]) * float(p["w"]))  # what lies on the map at most
    return Cost(
        flops=float(c) * (cells + k * bins),
        bytes=b * c * cells + b * (5 * k + k * c * bins),
        items=k,
        item_unit="rois",
    )


def tolerance(case: Case) -> Tolerance:
    """max picks one input value: exact in any dtype (a rounded max is a bug). avg is a
    mean of at most H*W cells: the default 10*sqrt(K)*eps with K the map's cells."""
    if case.options.get("pool_mode", "max") == "max":
        return Tolerance(0.0, 0.0, "max selects an input value: exact")
    k = int(case.params.get("h", 16)) * int(case.params.get("w", 16))
    return default_tolerance(case.dtype, k, 1.0)


# ---- cases ----------------------------------------------------------------------------------

_SMALL: dict[str, Any] = dict(n=2, c=3, h=10, w=12, k=7, ph=3, pw=4, scale=0.5)


def _c(name: str, kind: str = "regular", options: dict[str, Any] | None = None, **p: Any) -> Case:
    maker = case if kind == "regular" else edge
    return maker(name, options=options, **{**_SMALL, **p})


_AVG = {"pool_mode": "avg"}
_FLOOR = {"quantisation": "floor_bins"}
_EXACT = {"quantisation": "floor_ceil_exact"}
# RoIs of 29 (float64) or 57 (float32) cells in 7 bins: b * 7 rounds above R, so the float
# rule's last bin takes one more cell than the exact rule's (torchvision does this)
_FLOAT_BINS: dict[str, Any] = dict(n=1, c=2, h=64, w=64, k=6, ph=7, pw=7, scale=1.0)
_TV = {"nan_policy": "torchvision"}

CASES = [
    _c("random_f32"),
    _c("random_f64", dtype="float64", k=9, pw=2),
    _c("scale_1_f32", scale=1.0, k=8),
    _c("scale_sixteenth_f64", dtype="float64", scale=1 / 16, h=14, w=16, ph=2, pw=2),
    _c("avg_f64", dtype="float64", options=_AVG),
    _c("avg_f32", k=11, options=_AVG),
    _c("floor_bins_f64", dtype="float64", k=13, options=_FLOOR),
    _c("floor_bins_avg_f32", options={**_FLOOR, **_AVG}),
    _c("single_image_f32", n=1, k=6),
    _c("exact_bins_f32", k=9, options=_EXACT),
    _c("exact_bins_avg_f64", dtype="float64", options={**_EXACT, **_AVG}),
    _c("multi_block", k=300, c=2, ph=2, pw=3),
    _c("outside_f64", "edge", dtype="float64", k=12, pattern="outside"),
    _c("outside_floor_bins_f64", "edge", dtype="float64", k=12, pattern="outside", options=_FLOOR),
    _c("degenerate_f64", "edge", dtype="float64", k=15, pattern="degenerate"),
    _c("halves_f64", "edge", dtype="float64", k=16, pattern="halves", scale=1.0),
    _c("halves_scaled_f32", "edge", k=16, pattern="halves", scale=0.25),
    _c("smaller_than_bins_f64", "edge", dtype="float64", k=10, pattern="small", ph=4, pw=5),
    _c(
        "smaller_than_bins_floor_f64",
        "edge",
        dtype="float64",
        k=10,
        pattern="small",
        ph=4,
        pw=5,
        options=_FLOOR,
    ),
    _c("nan_propagate_f64", "edge", dtype="float64", k=12, special="nan"),
    _c("nan_torchvision_f64", "edge", dtype="float64", k=12, special="nan", options=_TV),
    _c("nan_torchvision_f32", "edge", k=12, special="nan", scale=1.0, options=_TV),
    _c("nan_avg_f64", "edge", dtype="float64", k=12, special="nan", options=_AVG),
    _c(
        "float_bins_f64", "edge", dtype="float64", **_FLOAT_BINS, roi_cells=29, pattern="float_bins"
    ),
    _c("float_bins_f32", "edge", **_FLOAT_BINS, roi_cells=57, pattern="float_bins"),
    _c(
        "float_bins_exact_rule_f64",
        "edge",
        dtype="float64",
        **_FLOAT_BINS,
        roi_cells=29,
        pattern="float_bins",
        options=_EXACT,
    ),
    _c("near_half_f64", "edge", dtype="float64", k=10, pattern="near_half", scale=1.0),
    _c("identity_f64", "edge", dtype="float64", k=2, ph=10, pw=12, scale=1.0, pattern="whole_map"),
    _c("empty_rois", "edge", k=0),
    _c("empty_channels", "edge", c=0),
    _c("one_pixel_map", "edge", h=1, w=1, k=6),
]

ERRORS = [
    error("batch_index_out_of_range", ValueError, r"\bbatch index\b", **_SMALL, bad="batch"),
    error("zero_scale", ValueError, r"\bspatial_scale\b", **{**_SMALL, "scale_used": 0.0}),
    error("negative_scale", ValueError, r"\bspatial_scale\b", **{**_SMALL, "scale_used": -0.5}),
    error("rois_other_dtype", TypeError, r"\brois\b", **_SMALL, rois_dtype="float64"),
]

# The specification's standard size (2 x 256 x 50 x 50, K = 512, 7 x 7, scale 1/16).
_STD: dict[str, Any] = dict(n=2, h=50, w=50, ph=7, pw=7, scale=1 / 16)
BENCH = {
    "smoke": [bench("bench_k32_c16", c=16, k=32, **_STD)],
    "quick": [bench("bench_k512_c256", c=256, k=512, **_STD)],
    "full": [bench("bench_large", n=1, c=256, h=200, w=200, k=2000, ph=7, pw=7, scale=1 / 16)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(n: int, c: int, hw: tuple[int, int], k: int, pooled: tuple[int, int],
              scale: float, pattern: str, seed: int, dtype: str,
              options: dict[str, Any]) -> Case:  # fmt: skip
        params = dict(n=n, c=c, h=hw[0], w=hw[1], k=k, ph=pooled[0], pw=pooled[1],
                      scale=scale, pattern=pattern, seed=seed, dtype=dtype)  # fmt: skip
        return Case("fuzz", params, options, "fuzz")

    return st.builds(
        build,
        st.integers(1, 3),
        st.integers(0, 4),
        st.tuples(st.integers(1, 12), st.integers(1, 12)),
        st.integers(0, 12),
        st.tuples(st.integers(1, 5), st.integers(1, 5)),
        st.sampled_from([1.0, 0.5, 0.25, 1 / 16]),
        st.sampled_from(["random", "outside", "degenerate", "halves", "small"]),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        RoiPoolOptions.strategy(optional=True),
    )


@dataclass(frozen=True)
class RoiPoolSuite(Suite):
    """The harness hands the oracle float64 inputs; torchvision's bin sizes depend on the
    input dtype, so the oracle also learns the case's dtype."""

    def run_oracle(self, inputs: Inputs, case: Case) -> Any:
        token = _CASE_DTYPE.set(case.dtype)
        try:
            return super().run_oracle(inputs, case)
        finally:
            _CASE_DTYPE.reset(token)


SUITE = RoiPoolSuite(
    algorithm="roi_pool",
    family="detection-geometry",
    summary="RoIPool: features (N, C, H, W), rois (K, 5) -> (K, C, pooled_height, pooled_width).",
    conventions=(
        "torchvision's rules. A RoI is (batch index, x1, y1, x2, y2) in image coordinates. "
        "Corners are quantised with C's round (halves away from zero: np.round's "
        "half-to-even is wrong) of x * spatial_scale; the RoI has R = max(end - start + 1, "
        "1) cells per axis. floor_ceil_float (torchvision, Caffe): b = R/P, bin p spans "
        "[start + floor(p*b), start + ceil((p+1)*b)), each operation rounded to the input's "
        "dtype, which puts one more cell in the last bin for some R (R = 29, P = 7 in float64; "
        "R = 57, P = 7 in float32); floor_ceil_exact: the same quotients in exact integer "
        "arithmetic (adaptive pooling's bins); floor_bins: floor(R/P) cells from start + "
        "p*floor(R/P), the rest dropped. Bins are clipped to the map; an empty bin is 0. "
        "max: the bin's largest cell; nan_policy 'propagate': a NaN cell gives NaN, "
        "'torchvision': NaN cells are skipped and the max is floored at -FLT_MAX. avg: the "
        "mean of the bin's cells. "
        "Output dtype = the features' dtype; rois must share it. torchvision's argmax output "
        "is not part of the result. Must raise: batch index not a whole number >= 0 or >= N, "
        "non-finite corners, pooled sizes < 1, spatial_scale <= 0."
    ),
    args=ARGS,
    options=RoiPoolOptions,
    make_inputs=make_inputs,
    oracle=roi_pool,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 13, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_k512_c256",
    multi_block={"K": 300},
    near_threshold=("near_half_f64", "float_bins_f64"),
    fuzz=fuzz_strategy,
    reference="torchvision.ops.roi_pool (port; golden fixtures); torch adaptive_max_pool2d",
)

"""Suite for roi_align: bilinear RoI pooling of N x C x H x W features over K x 5 RoIs
(torchvision's ``roi_align`` semantics, ported: torchvision does not install here)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Rule, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close
from harness.comparators.base import EPS, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class RoiAlignOptions(Options):
    aligned: bool = option(
        False,
        True,
        meaning="shift RoI corners by -0.5 px (pixel centres, detectron2); without it the "
        "RoI size is forced >= 1 (torchvision's default)",
    )
    pool_mode: str = option(
        "avg", "max", meaning="mean of the bin's bilinear samples, or their max (mmcv)"
    )


def _swap(x: np.ndarray, col: int, value: float) -> np.ndarray:
    out = np.array(x, copy=True)
    out[0, col] = value
    return out


#: column 0 of a RoI is the index of its image in the batch
BATCH_INDEX = Rule(
    "column 0 (batch index) is a whole number >= 0",
    lambda xp, r: (r[..., 0] != xp.floor(r[..., 0])) | (r[..., 0] < 0),
    lambda r: _swap(r, 0, 0.5),
)
FINITE_CORNERS = Rule(
    "columns 1-4 (x1, y1, x2, y2) are finite",
    lambda xp, r: ~xp.isfinite(r[..., 1:]),
    lambda r: _swap(r, 3, math.inf),
)

ARGS = Args(
    Arg("features", ("N", "C", "H", "W"), "float"),
    Arg("rois", ("K", 5), "float", rules=(BATCH_INDEX, FINITE_CORNERS)),
    Scalar("pooled_height", "int", low=1),
    Scalar("pooled_width", "int", low=1),
    Scalar("spatial_scale"),
    Scalar("sampling_ratio", "int"),
    nonempty=("N", "H", "W"),  # a RoI always reads some pixel (torchvision needs H, W >= 1)
    same_dtype=("features", "rois"),  # torchvision refuses rois of another dtype
)


def check_rois(features: Any, rois: Any, *scalars: Any) -> Any:
    """ARGS.check plus what one argument alone cannot say: spatial_scale > 0 and every batch
    index < N. Returns the result dtype (the features' dtype, in their namespace)."""
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


def sampling_grid(size: float, pooled: int, sampling_ratio: int) -> int:
    """Samples per bin along one axis: the fixed ratio, or ceil(RoI size / bins) (adaptive,
    sampling_ratio <= 0: C's (int)ceil, so a zero or negative size gives 0 samples)."""
    return sampling_ratio if sampling_ratio > 0 else math.ceil(size / pooled)


def _axis(coord: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Detectron's rule along one axis: (low index, high index, weight of low, of high).
    Beyond [-1, size] a sample contributes nothing (weights 0); else it is clamped to >= 0,
    and once floor(coord) >= size - 1 it is pinned to the last pixel."""
    inside = (coord >= -1.0) & (coord <= size)
    c = np.maximum(coord, 0.0)
    low = np.floor(c).astype(np.int64)
    pinned = low >= size - 1
    low = np.where(pinned, size - 1, low)
    high = np.where(pinned, size - 1, low + 1)
    frac = np.where(pinned, 0.0, c - low)
    return low, high, np.where(inside, 1.0 - frac, 0.0), np.where(inside, frac, 0.0)


def roi_align(
    features: Any,
    rois: Any,
    pooled_height: int,
    pooled_width: int,
    spatial_scale: float,
    sampling_ratio: int,
    opts: RoiAlignOptions,
) -> Any:
    """Oracle: float64, one RoI at a time. Sample y = y1 + p*bin_h + (i + 0.5)*bin_h/grid_h
    (x alike); each sample is a bilinear read under Detectron's border rule; a bin is the
    mean (or max) of its grid_h x grid_w samples, out-of-map samples counting as 0."""
    check_rois(features, rois, pooled_height, pooled_width, spatial_scale, sampling_ratio)
    f = np.asarray(features, dtype=np.float64)
    r = np.asarray(rois, dtype=np.float64)
    ph, pw, (_, c, h, w) = pooled_height, pooled_width, f.shape
    out = np.zeros((r.shape[0], c, ph, pw))
    offset = 0.5 if opts.aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(r):
        x1, y1 = x1 * spatial_scale - offset, y1 * spatial_scale - offset
        roi_w, roi_h = x2 * spatial_scale - offset - x1, y2 * spatial_scale - offset - y1
        if not opts.aligned:  # torchvision forces malformed RoIs to 1 x 1
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        bin_h, bin_w = roi_h / ph, roi_w / pw
        gh = sampling_grid(roi_h, ph, sampling_ratio)
        gw = sampling_grid(roi_w, pw, sampling_ratio)
        if gh <= 0 or gw <= 0:  # no sample at all: the bin stays 0
            continue
        ys = y1 + np.arange(ph)[:, None] * bin_h + (np.arange(gh)[None, :] + 0.5) * bin_h / gh
        xs = x1 + np.arange(pw)[:, None] * bin_w + (np.arange(gw)[None, :] + 0.5) * bin_w / gw
        y_lo, y_hi, wy_lo, wy_hi = _axis(ys.ravel(), h)
        x_lo, x_hi, wx_lo, wx_hi = _axis(xs.ravel(), w)
        fmap = f[int(b)]  # (C, H, W)
        value = np.zeros((c, ys.size, xs.size))
        for yi, wy in ((y_lo, wy_lo), (y_hi, wy_hi)):
            for xi, wx in ((x_lo, wx_lo), (x_hi, wx_hi)):
                value += wy[:, None] * wx[None, :] * fmap[:, yi[:, None], xi[None, :]]
        samples = value.reshape(c, ph, gh, pw, gw)
        if opts.pool_mode == "max":
            out[k] = samples.max(axis=(2, 4))
        else:
            out[k] = samples.sum(axis=(2, 4)) / (gh * gw)
    return out


# ---- inputs ---------------------------------------------------------------------------------


def _random_rois(rng: np.random.Generator, k: int, n: int, img_h: float, img_w: float) -> Any:
    """RoIs in image coordinates: mostly inside, some reaching past the border (up to 20 %
    of the image beyond each side), sizes from a few pixels to 60 % of the image."""
    b = rng.integers(0, n, size=k).astype(np.float64)
    wh = rng.uniform(0.02, 0.6, size=(k, 2)) * [img_w, img_h]
    xy = rng.uniform(-0.2, 1.0, size=(k, 2)) * [img_w, img_h]
    return np.column_stack([b, xy, xy + wh])


def _pattern(rng: np.random.Generator, rois: np.ndarray, pattern: str, p: dict[str, Any]) -> Any:
    img_h, img_w = p["h"] / p["scale"], p["w"] / p["scale"]
    r = rois.copy()
    if pattern == "outside":  # partly outside, wholly outside on each side, negative corners
        r[0::4, 1:3] -= r[0::4, 3:5] - r[0::4, 1:3] + 0.3 * np.array([img_w, img_h])
        r[1::4, 1:5] += [img_w * 1.3, 0, img_w * 1.3, 0]
        r[2::4, 3:5] = r[2::4, 3:5] + [img_w, img_h]
        r[3::4, 1:3] = -r[3::4, 1:3] - 4.0
    elif pattern == "degenerate":  # zero width, zero height, points, inverted, sub-pixel
        r[0::5, 3] = r[0::5, 1]
        r[1::5, 4] = r[1::5, 2]
        r[2::5, 3:5] = r[2::5, 1:3]
        r[3::5, 1:5] = r[3::5][:, [3, 4, 1, 2]]
        r[4::5, 3:5] = r[4::5, 1:3] + 0.3 / p["scale"]
    elif pattern == "huge":  # up to 4x the image: the adaptive grid grows to many samples
        centre = rng.uniform(0, 1, size=(len(r), 2)) * [img_w, img_h]
        half = rng.uniform(0.5, 2.0, size=(len(r), 2)) * [img_w, img_h]
        r[:, 1:3], r[:, 3:5] = centre - half, centre + half
    elif pattern == "boundary":  # single bin centres exactly at -1, 0, H - 1, H, H + 1/4
        s, h = p["scale"], p["h"]
        centres = np.array([-1.0, -1.25, 0.0, h - 1.0, h - 0.5, float(h), h + 0.25, -0.75])
        centres = np.resize(centres, len(r))
        off = 0.5 if p.get("aligned", False) else 0.0
        r[:, 2] = (centres - 0.5 + off) / s  # RoI height 1 (feature px): centre = y1 + 0.5
        r[:, 4] = (centres + 0.5 + off) / s
        r[:, 1], r[:, 3] = r[:, 2], r[:, 4]  # and the same along x
    elif pattern == "whole_map":  # RoI i covers image i: aligned, bins of 1 px is the identity
        n = int(p["n"])
        r[:, 0] = np.arange(len(r)) % n
        r[:, 1:] = [0.0, 0.0, img_w, img_h]
    elif pattern == "near_threshold":  # RoI height/bins a hair above an integer: float32
        base = np.round(rng.uniform(0, img_h / 2, size=len(r)))  # rounding gives 2 samples
        r[:, 2] = base
        r[:, 4] = base + 2.0 * p["ph"] / p["scale"] * (1 + 2.0**-40)
    return r


def _rois(case: Case) -> np.ndarray:
    p = {**case.params}
    p.setdefault("aligned", bool(case.options.get("aligned", False)))
    rng = np.random.default_rng(case.seed)
    r = _random_rois(rng, int(p["k"]), int(p["n"]), p["h"] / p["scale"], p["w"] / p["scale"])
    return np.asarray(_pattern(rng, r, p.get("pattern", "random"), p))


def make_inputs(case: Case) -> Inputs:
    p = case.params
    dtype = np.dtype(case.dtype)
    rng = np.random.default_rng(case.seed + 1)
    shape = (int(p["n"]), int(p["c"]), int(p["h"]), int(p["w"]))
    features = rng.uniform(-1.0, 1.0, size=shape)  # |f| <= 1: the tolerance's scale
    if p.get("special") == "nan":  # a NaN block in image 0 and one NaN cell in the last image
        features[0, :, 3:5, 4:6] = np.nan
        features[-1, 0, 6, 2] = np.nan
    rois = _rois(case)
    return {
        "features": features.astype(dtype),
        "rois": rois.astype(p.get("rois_dtype", dtype)),
        "pooled_height": int(p["ph"]),
        "pooled_width": int(p["pw"]),
        "spatial_scale": float(p["scale"]),
        "sampling_ratio": int(p["sr"]),
    }


# ---- cost and tolerance -----------------------------------------------------------------------


def roi_grids(rois: Any, ph: int, pw: int, scale: float, sr: int, aligned: bool) -> Any:
    """Samples per bin of every RoI (grid_h * grid_w; 0 for an empty adaptive grid)."""
    r = np.asarray(rois, dtype=np.float64).reshape(-1, 5) * scale
    size = r[:, 3:5] - r[:, 1:3]
    if not aligned:
        size = np.maximum(size, 1.0)
    if sr > 0:
        return np.full(len(r), float(sr * sr))
    return np.maximum(np.ceil(size / [pw, ph]), 0).prod(axis=1)


def cost(case: Case) -> Cost:
    """14 flops per sample and channel; a golden case brings its sample count (``samples``,
    its RoIs are not generated from the params)."""
    p = case.params
    b = np.dtype(case.dtype).itemsize
    k, c, bins = int(p["k"]), int(p["c"]), int(p["ph"]) * int(p["pw"])
    if "samples" in p:
        samples = float(p["samples"])
    else:
        aligned = bool(case.options.get("aligned", False))
        grids = roi_grids(
            _rois(case), int(p["ph"]), int(p["pw"]), p["scale"], int(p["sr"]), aligned
        )
        samples = float(grids.sum()) * bins  # over all RoIs
    feature_bytes = b * int(p["n"]) * c * int(p["h"]) * int(p["w"])
    return Cost(
        flops=14.0 * c * samples,  # 4 weights, 4 multiply-adds, the mean: ALGORITHMS.md
        bytes=min(feature_bytes, 4.0 * b * c * samples) + b * (5 * k + k * c * bins),
        items=k,
        item_unit="rois",
    )


def tolerance(case: Case) -> Tolerance:
    """The mean of S <= 4 * grid^2 products (|f| <= F = 1; golden inputs N(0, 1): F = 4) plus
    the sample positions: a float32 implementation rounds a sample's coordinate (|coord| <=
    M, about twice the map) about 4 times (scale, offset, bin start, sample offset), so it
    lands within d = 4 M eps, and a position error d moves a bilinear read by at most 2 F d
    per axis: atol += 16 F M eps. Float64 keeps its 1e-10 floor."""
    p = case.params
    grid = max(int(p.get("sr", 2)), 2) if int(p.get("sr", 2)) > 0 else 16
    base = default_tolerance(case.dtype, 4 * grid * grid, float(p.get("amplitude", 4.0)))
    if case.dtype != "float32":
        return base
    m = 2.0 * max(float(p.get("h", 16)), float(p.get("w", 16))) + 8.0
    if p.get("pattern") == "huge":
        m *= 4.0
    f = float(p.get("amplitude", 4.0))
    atol = base.atol + 16 * f * m * EPS["float32"]
    return Tolerance(base.rtol, atol, base.reason + f"; + positions 16*F*M*eps, M={m:g}")


# ---- cases ----------------------------------------------------------------------------------

_SMALL: dict[str, Any] = dict(n=2, c=3, h=10, w=12, k=7, ph=3, pw=4, scale=0.5, sr=2, amplitude=1.0)


def _c(name: str, kind: str = "regular", options: dict[str, Any] | None = None, **p: Any) -> Case:
    maker = case if kind == "regular" else edge
    return maker(name, options=options, **{**_SMALL, **p})


CASES = [
    _c("random_f32"),
    _c("random_f64", dtype="float64", k=9, pw=2),
    _c("aligned_f64", dtype="float64", options={"aligned": True}),
    _c("aligned_f32", k=11, scale=0.25, options={"aligned": True}),
    _c("sr1_f64", dtype="float64", sr=1),
    _c("sr3_f32", sr=3, scale=1.0),
    _c("adaptive_sr0_f64", dtype="float64", sr=0, k=13),
    _c("adaptive_sr0_aligned_f64", dtype="float64", sr=0, options={"aligned": True}),
    _c("adaptive_neg1_f32", sr=-1, k=8, scale=0.125),
    _c("max_f64", dtype="float64", options={"pool_mode": "max"}),
    _c("max_adaptive_aligned_f32", sr=0, options={"pool_mode": "max", "aligned": True}),
    _c("single_image_f32", n=1, k=6),
    # several hundred RoIs: past the first block of a kernel that tiles RoIs
    _c("multi_block", k=300, c=2, ph=2, pw=3),
    _c("outside_f64", "edge", dtype="float64", k=16, pattern="outside"),
    _c(
        "outside_aligned_f64",
        "edge",
        dtype="float64",
        k=16,
        pattern="outside",
        sr=0,
        options={"aligned": True},
    ),
    _c("degenerate_f64", "edge", dtype="float64", k=15, pattern="degenerate"),
    _c(
        "degenerate_aligned_f64",
        "edge",
        dtype="float64",
        k=15,
        pattern="degenerate",
        options={"aligned": True},
    ),
    _c(
        "degenerate_adaptive_aligned_f64",
        "edge",
        dtype="float64",
        k=15,
        pattern="degenerate",
        sr=0,
        options={"aligned": True},
    ),
    _c("huge_adaptive_f32", "edge", k=4, pattern="huge", sr=0, ph=2, pw=2),
    _c(
        "boundary_f64",
        "edge",
        dtype="float64",
        k=8,
        ph=1,
        pw=1,
        sr=1,
        scale=1.0,
        w=10,
        pattern="boundary",
    ),
    _c(
        "boundary_aligned_f64",
        "edge",
        dtype="float64",
        k=8,
        ph=1,
        pw=1,
        sr=1,
        scale=1.0,
        w=10,
        pattern="boundary",
        options={"aligned": True},
    ),
    _c("near_threshold_f64", "edge", dtype="float64", k=6, sr=0, pattern="near_threshold"),
    _c(
        "identity_aligned_f64",
        "edge",
        dtype="float64",
        k=2,
        ph=10,
        pw=12,
        sr=1,
        scale=1.0,
        pattern="whole_map",
        options={"aligned": True},
    ),
    # NaN features propagate to every bin with a sample whose bilinear neighbours hold one
    # (a NaN times a zero weight is NaN, as in torchvision's kernel)
    _c("nan_features_f64", "edge", dtype="float64", k=12, special="nan"),
    _c("nan_features_max_f32", "edge", k=12, special="nan", options={"pool_mode": "max"}),
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


def make_inputs_checked(case: Case) -> Inputs:
    """make_inputs plus the suite's own error mutations."""
    inputs = make_inputs(case)
    if case.params.get("bad") == "batch":
        rois = inputs["rois"].copy()
        rois[-1, 0] = case.params["n"]
        inputs["rois"] = rois
    if "scale_used" in case.params:
        inputs["spatial_scale"] = float(case.params["scale_used"])
    return inputs


# The standard size of the specification (2 x 256 x 64 x 64, K = 512, 7 x 7, sampling 2) is
# 0.36 GFLOP, predicted at 7.8 s of quick profile (over its 6 s): full times it, and quick
# times the same maps with K = 144 RoIs (the backward mode shares the 6 s).
_STD: dict[str, Any] = dict(n=2, h=64, w=64, ph=7, pw=7, scale=1 / 16, sr=2)
BENCH = {
    "smoke": [bench("bench_k32_c16", c=16, k=32, **_STD)],
    "quick": [bench("bench_k144_c256", c=256, k=144, **_STD)],
    "full": [
        bench("bench_k512_c256", c=256, k=512, **_STD),
        bench("bench_large", n=1, c=256, h=200, w=200, k=2000, ph=7, pw=7, scale=1 / 16, sr=2),
    ],
}


def fuzz_strategy(options: Any = None) -> Any:
    """Random cases of the forward (or, given its options class, the backward)."""
    from hypothesis import strategies as st

    def build(n: int, c: int, hw: tuple[int, int], k: int, pooled: tuple[int, int],
              scale: float, sr: int, pattern: str, seed: int, dtype: str,
              options: dict[str, Any]) -> Case:  # fmt: skip
        params = dict(n=n, c=c, h=hw[0], w=hw[1], k=k, ph=pooled[0], pw=pooled[1],
                      scale=scale, sr=sr, pattern=pattern, seed=seed, dtype=dtype,
                      amplitude=1.0)  # fmt: skip
        return Case("fuzz", params, options, "fuzz")

    return st.builds(
        build,
        st.integers(1, 3),
        st.integers(0, 4),
        st.tuples(st.integers(1, 12), st.integers(1, 12)),
        st.integers(0, 12),
        st.tuples(st.integers(1, 4), st.integers(1, 4)),
        st.sampled_from([1.0, 0.5, 0.25, 1 / 16]),
        st.integers(-1, 3),
        st.sampled_from(["random", "outside", "degenerate", "huge"]),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        (options or RoiAlignOptions).strategy(optional=True),
    )


SUITE = Suite(
    algorithm="roi_align",
    family="detection-geometry",
    summary="RoIAlign: features (N, C, H, W), rois (K, 5) -> (K, C, pooled_height, pooled_width).",
    conventions=(
        "torchvision's rules. A RoI is (batch index, x1, y1, x2, y2) in image coordinates; in "
        "feature coordinates its corners are x * spatial_scale - offset, offset 0.5 when "
        "aligned (pixel centres) else 0, and without aligned its width and height are forced "
        ">= 1. Bin = RoI size / pooled size. sampling_ratio > 0: that many samples per bin "
        "along each axis; <= 0: ceil(RoI size / pooled size) (0 for an empty aligned RoI: "
        "its bins are 0). Sample y = y1 + p*bin_h + (i + 0.5)*bin_h/grid_h. Bilinear read, "
        "Detectron's rule: a sample with y < -1 or y > H (x alike) contributes 0; otherwise "
        "y is clamped to >= 0 and pinned to H - 1 once floor(y) >= H - 1. avg: the mean over "
        "the grid, out-of-map samples counted; max: the max of the bilinear samples (an "
        "out-of-map sample is 0; no sample: 0). Output dtype = the features' dtype; rois "
        "must share it. Must raise: batch index not a whole number >= 0 or >= N, non-finite "
        "corners, pooled sizes < 1, spatial_scale <= 0. NaN features propagate: a bin with a "
        "sample whose four neighbours hold a NaN is NaN (even at weight 0), avg and max."
    ),
    args=ARGS,
    options=RoiAlignOptions,
    make_inputs=make_inputs_checked,
    oracle=roi_align,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 11, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_k144_c256",
    multi_block={"K": 300},
    near_threshold=("near_threshold_f64",),
    fuzz=fuzz_strategy,
    reference="torchvision.ops.roi_align (port; golden fixtures); F.grid_sample property tests",
)


# ---- backward mode: the gradient with respect to the features (scatter-add) -----------------


@dataclass(frozen=True)
class RoiAlignBackwardOptions(Options):
    aligned: bool = option(False, True, meaning="as the forward's (average pooling)")


BACKWARD_ARGS = Args(
    Arg("features", ("N", "C", "H", "W"), "float"),
    Arg("rois", ("K", 5), "float", rules=(BATCH_INDEX, FINITE_CORNERS)),
    Arg("grad", ("K", "C", "PH", "PW"), "float"),
    Scalar("pooled_height", "int", low=1),
    Scalar("pooled_width", "int", low=1),
    Scalar("spatial_scale"),
    Scalar("sampling_ratio", "int"),
    nonempty=("N", "H", "W", "PH", "PW"),  # PH, PW: the pooled sizes, >= 1
    same_dtype=("features", "rois", "grad"),
)


def check_backward(features: Any, rois: Any, grad: Any, *scalars: Any) -> Any:
    """BACKWARD_ARGS.check, the forward's checks, and grad of shape (K, C, ph, pw)."""
    dtype = BACKWARD_ARGS.check(features, rois, grad, *scalars)
    check_rois(features, rois, *scalars)
    want = (len(rois), features.shape[1], int(scalars[0]), int(scalars[1]))
    if tuple(grad.shape) != want:
        raise ValueError(f"grad must have shape (K, C, ph, pw) = {want}, got {tuple(grad.shape)}")
    return dtype


def roi_align_backward(
    features: Any,
    rois: Any,
    grad: Any,
    pooled_height: int,
    pooled_width: int,
    spatial_scale: float,
    sampling_ratio: int,
    opts: RoiAlignBackwardOptions,
) -> Any:
    """Oracle: float64 d(sum(grad * roi_align(features)))/d(features), average pooling: each
    sample of a bin sends grad / (grid_h * grid_w), times its four bilinear weights (zero
    for a sample beyond [-1, size]), to its four corner pixels (np.add.at: repeated corners
    accumulate). The forward is linear in the features, so this is exact, not a slope."""
    check_backward(features, rois, grad, pooled_height, pooled_width, spatial_scale,
                   sampling_ratio)  # fmt: skip
    r = np.asarray(rois, dtype=np.float64).reshape(-1, 5)
    g = np.asarray(grad, dtype=np.float64)
    n, c, h, w = np.shape(features)
    ph, pw = pooled_height, pooled_width
    out = np.zeros((n, c, h, w))
    offset = 0.5 if opts.aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(r):
        x1, y1 = x1 * spatial_scale - offset, y1 * spatial_scale - offset
        roi_w, roi_h = x2 * spatial_scale - offset - x1, y2 * spatial_scale - offset - y1
        if not opts.aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        bin_h, bin_w = roi_h / ph, roi_w / pw
        gh = sampling_grid(roi_h, ph, sampling_ratio)
        gw = sampling_grid(roi_w, pw, sampling_ratio)
        if gh <= 0 or gw <= 0:
            continue
        ys = y1 + np.arange(ph)[:, None] * bin_h + (np.arange(gh)[None, :] + 0.5) * bin_h / gh
        xs = x1 + np.arange(pw)[:, None] * bin_w + (np.arange(gw)[None, :] + 0.5) * bin_w / gw
        y_lo, y_hi, wy_lo, wy_hi = _axis(ys.ravel(), h)
        x_lo, x_hi, wx_lo, wx_hi = _axis(xs.ravel(), w)
        per_sample = np.repeat(np.repeat(g[k], gh, axis=1), gw, axis=2) / (gh * gw)
        for yi, wy in ((y_lo, wy_lo), (y_hi, wy_hi)):
            for xi, wx in ((x_lo, wx_lo), (x_hi, wx_hi)):
                share = wy[:, None] * wx[None, :] * per_sample  # (C, ph*gh, pw*gw)
                where = (slice(None), yi[:, None], xi[None, :])
                np.add.at(out[int(b)], where, share)  # type: ignore[arg-type]
    return out


def make_backward_inputs(case: Case) -> Inputs:
    """The forward's inputs (average pooling) and an upstream gradient in [-1, 1]."""
    inputs = make_inputs_checked(case)
    p = case.params
    rng = np.random.default_rng(case.seed + 2)
    k, c = inputs["rois"].shape[0], inputs["features"].shape[1]
    shape = p.get("grad_shape", (k, c, int(p["ph"]), int(p["pw"])))
    grad = rng.uniform(-1.0, 1.0, size=shape).astype(inputs["features"].dtype)
    features, rois = inputs.pop("features"), inputs.pop("rois")
    return {"features": features, "rois": rois, "grad": grad, **inputs}


def backward_tolerance(case: Case) -> Tolerance:
    """A feature pixel's gradient sums the shares of every sample that reads it: up to
    4 * grid^2 per bin it touches, over every RoI on it (K in all; |share| <= |grad| <= 1).
    Float32 sums K * 4 * grid^2 terms in any order (index_add_, atomics) and rounds each
    sample's weights from its position (as the forward, 16 M eps per weight), so atol adds
    16 M eps per RoI touching the pixel, K at most."""
    p = case.params
    grid = max(int(p.get("sr", 2)), 2) if int(p.get("sr", 2)) > 0 else 16
    k = max(int(p.get("k", 1)), 1)
    base = default_tolerance(case.dtype, k * 4 * grid * grid, float(p.get("amplitude", 4.0)))
    if case.dtype != "float32":
        return base
    m = 2.0 * max(float(p.get("h", 16)), float(p.get("w", 16))) + 8.0
    if p.get("pattern") == "huge":
        m *= 4.0
    atol = base.atol + 16 * m * EPS["float32"] * k
    return Tolerance(base.rtol, atol, base.reason + f"; + positions 16*M*eps*K, M={m:g}")


def backward_cost(case: Case) -> Cost:
    """The forward's: every sample's four corners touched once (scatter instead of gather)."""
    return cost(case)


_ALIGNED = {"aligned": True}
#: the forward's small sizes with C = 6: every size distinct (C = 3 would equal ph)
_BW_SMALL: dict[str, Any] = {**_SMALL, "c": 6}


def _cb(name: str, kind: str = "regular", options: dict[str, Any] | None = None, **p: Any) -> Case:
    maker = case if kind == "regular" else edge
    return maker(name, options=options, **{**_BW_SMALL, **p})


BACKWARD_CASES = [
    _cb("random_f32"),
    _cb("random_f64", dtype="float64", k=9, pw=2),
    _cb("aligned_f64", dtype="float64", options=_ALIGNED),
    _cb("sr1_f64", dtype="float64", sr=1),
    _cb("adaptive_sr0_f64", dtype="float64", sr=0, k=13),
    _cb("adaptive_neg1_f32", sr=-1, k=8, scale=0.125),
    _cb("single_image_f32", n=1, k=6),
    _cb("multi_block", k=300, c=2, ph=2, pw=3),
    _cb("outside_f64", "edge", dtype="float64", k=16, pattern="outside"),
    _cb(
        "degenerate_aligned_f64",
        "edge",
        dtype="float64",
        k=15,
        pattern="degenerate",
        sr=0,
        options=_ALIGNED,
    ),
    _cb("degenerate_f64", "edge", dtype="float64", k=15, pattern="degenerate"),
    _cb("huge_adaptive_f32", "edge", k=4, pattern="huge", sr=0, ph=2, pw=2),
    _cb(
        "boundary_f64",
        "edge",
        dtype="float64",
        k=8,
        ph=1,
        pw=1,
        sr=1,
        scale=1.0,
        w=10,
        pattern="boundary",
    ),
    _cb("near_threshold_f64", "edge", dtype="float64", k=6, sr=0, pattern="near_threshold"),
    _cb("empty_rois", "edge", k=0),
    _cb("empty_channels", "edge", c=0),
    _cb("one_pixel_map", "edge", h=1, w=1, k=6),
]

BACKWARD_ERRORS = [
    error("batch_index_out_of_range", ValueError, r"\bbatch index\b", **_BW_SMALL, bad="batch"),
    error("zero_scale", ValueError, r"\bspatial_scale\b", **{**_BW_SMALL, "scale_used": 0.0}),
    error("grad_wrong_bins", ValueError, r"\bgrad\b", **_BW_SMALL, grad_shape=(7, 6, 3, 3)),
]

BACKWARD_SUITE = Suite(
    algorithm="roi_align.backward",
    mode="backward",
    family="detection-geometry",
    summary="Gradient of average RoIAlign with respect to the features: features (N, C, H, W) "
    "(for the shape), rois (K, 5), grad (K, C, ph, pw) -> (N, C, H, W).",
    conventions=(
        "The forward's rules (torchvision roi_align, average pooling; aligned as a flag). "
        "Each bilinear sample of a bin sends grad / (grid_h * grid_w) times its four weights "
        "to its four corner pixels, adding up over samples and RoIs (a scatter-add); samples "
        "beyond [-1, size] send nothing, pinned corners receive both shares. The result is "
        "exact (the forward is linear in the features). Output dtype = the features'. Must "
        "raise as the forward, and ValueError for a grad of another shape than (K, C, ph, pw)."
    ),
    args=BACKWARD_ARGS,
    options=RoiAlignBackwardOptions,
    make_inputs=make_backward_inputs,
    oracle=roi_align_backward,
    compare=Close(override=backward_tolerance),
    cost=backward_cost,
    defaults={"seed": 11, "dtype": "float32"},
    cases=BACKWARD_CASES,
    errors=BACKWARD_ERRORS,
    outputs=("grad_features",),
    # the forward's quick case takes most of roi_align's 6 s quick budget: the backward's
    # quick case is the standard maps with K = 16 RoIs of 16 channels; full has the spec's
    bench={
        "smoke": [bench("bench_k4_c8", c=8, k=4, **_STD)],
        "quick": [bench("bench_k16_c16", c=16, k=16, **_STD)],
        "full": [bench("bench_k512_c256", c=256, k=512, **_STD)],
    },
    standard="bench_k16_c16",
    multi_block={"K": 300},
    near_threshold=("near_threshold_f64",),
    backends=("torch_cpu", "torch_cuda"),
    fuzz=lambda: fuzz_strategy(RoiAlignBackwardOptions),
    reference="torch autograd through the forward (torchvision's roi_align backward semantics)",
)


SUITES = [SUITE, BACKWARD_SUITE]

"""Suite for interpolate_scale_factor_vs_size: F.interpolate's size and scale_factor paths.

Given scale factors the output is floor(in·scale) per axis; the coordinate map then uses
either 1/scale (torch's default, recompute_scale_factor None or False) or in/out (given
sizes, or recompute_scale_factor=True). Bilinear (half-pixel) and legacy nearest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance
from suites.resize_bilinear import ResizeOptions, _separable, resize_bilinear
from suites.resize_nearest import NearestOptions, resize_nearest


@dataclass(frozen=True)
class ScaleOptions(Options):
    scale_source: str = option(
        "size",
        "scale_factor",
        meaning="the ratio that maps coordinates: in/out of the sizes (F.interpolate given "
        "size, or scale_factor with recompute_scale_factor=True) or 1/scale (scale_factor "
        "as given, torch's default); 'scale_factor' needs scale factors",
    )
    mode: str = option(
        "bilinear",
        "nearest",
        meaning="bilinear, half-pixel (align_corners=False), or legacy nearest "
        "src = floor(dst·ratio) (torch 'nearest')",
    )


ARGS = Args(
    Arg("image", ("N", "C", "H", "W"), "float"),
    Scalar("out_h", "int", low=1, optional=True),
    Scalar("out_w", "int", low=1, optional=True),
    Scalar("scale_h", "real", low=0.0, optional=True),  # 0 itself is refused below
    Scalar("scale_w", "real", low=0.0, optional=True),
    nonempty=("H", "W"),  # nothing to sample from an empty image
)


def plan(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> tuple[Any, int, int, tuple[float, float] | None]:
    """ARGS.check plus F.interpolate's rules: exactly one of (out_h, out_w) and (scale_h,
    scale_w), each pair whole; scales > 0; floor(in·scale) >= 1. Returns (dtype, out_h,
    out_w, the scales the coordinate map uses or None for in/out)."""
    dtype = ARGS.check(image, out_h, out_w, scale_h, scale_w)
    sizes, scales = (out_h, out_w), (scale_h, scale_w)
    for pair, names in ((sizes, "out_h and out_w"), (scales, "scale_h and scale_w")):
        if (pair[0] is None) != (pair[1] is None):
            raise ValueError(f"{names} come together: give both or neither")
    if (sizes[0] is None) == (scales[0] is None):
        raise ValueError("give either the size (out_h, out_w) or the scale factors, not both")
    h, w = image.shape[2:]
    if scale_h is None:
        if opts.scale_source == "scale_factor":
            raise ValueError("scale_source='scale_factor' needs scale_h and scale_w")
        return dtype, int(out_h), int(out_w), None
    for name, s in (("scale_h", scale_h), ("scale_w", scale_w)):
        if not s > 0:
            raise ValueError(f"{name} must be > 0, got {s!r}")
    oh, ow = math.floor(float(h) * scale_h), math.floor(float(w) * scale_w)
    if oh < 1 or ow < 1:
        raise ValueError(f"scale_h, scale_w give an empty output ({oh}x{ow}) for {h}x{w}")
    used = (float(scale_h), float(scale_w)) if opts.scale_source == "scale_factor" else None
    return dtype, oh, ow, used


def _bilinear_matrix(n_in: int, n_out: int, scale: float) -> Any:
    """(n_out, n_in) sparse weights for src = (dst + 1/2)/scale − 1/2, exact rationals of
    the float scale, clamped below 0 and at the last pixel (as resize_bilinear)."""
    import scipy.sparse  # here, not at the top: listing imports the suites

    inv = 1 / Fraction(scale)
    rows, cols, vals = [], [], []
    for d in range(n_out):
        src = max((d + Fraction(1, 2)) * inv - Fraction(1, 2), Fraction(0))
        i = math.floor(src)
        taps = (
            [(n_in - 1, Fraction(1))] if i >= n_in - 1 else [(i, 1 - (src - i)), (i + 1, src - i)]
        )
        for j, wt in taps:
            rows.append(d)
            cols.append(j)
            vals.append(float(wt))
    return scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(n_out, n_in))


def nearest_index(n_in: int, n_out: int, scale: float | None) -> Any:
    """min(floor(dst·ratio), in − 1) in exact rationals, ratio = 1/scale or in/out."""
    ratio = Fraction(n_in, n_out) if scale is None else 1 / Fraction(scale)
    return np.array([min(math.floor(d * ratio), n_in - 1) for d in range(n_out)], dtype=np.int64)


def interpolate_scale_factor_vs_size(
    image: Any, out_h: Any, out_w: Any, scale_h: Any, scale_w: Any, opts: ScaleOptions
) -> Any:
    """Oracle: the output size from the sizes or floor(in·scale); the in/out map is
    resize_bilinear's (or resize_nearest's) float64 oracle, the 1/scale map the same
    construction from the exact rational 1/scale of the float scale."""
    dtype, oh, ow, used = plan(image, out_h, out_w, scale_h, scale_w, opts)
    x = np.asarray(image, dtype=np.float64)
    n, c, h, w = x.shape
    if used is None:
        if opts.mode == "nearest":
            out = resize_nearest(x, oh, ow, NearestOptions())
        else:
            out = resize_bilinear(x, oh, ow, ResizeOptions())
    elif opts.mode == "nearest":
        out = x[:, :, nearest_index(h, oh, used[0])][:, :, :, nearest_index(w, ow, used[1])]
    else:
        wy, wx = _bilinear_matrix(h, oh, used[0]), _bilinear_matrix(w, ow, used[1])
        out = _separable(x.reshape(n * c, h, w), wy, wx).reshape(n, c, oh, ow)
    return np.asarray(out).astype(np.dtype(str(dtype)))


def torch_size_shortcuts(inputs: Inputs) -> bool:
    """A 1/scale map whose output keeps an input size (scale != 1), or doubles it for
    nearest (scale != 2): torch copies the input there, or takes dst >> 1 (its
    documented divergences; the mode is not in the inputs, so both modes count)."""
    h, w = np.asarray(inputs["image"]).shape[2:]
    sh, sw = inputs["scale_h"], inputs["scale_w"]
    if sh is None:
        return False
    return any(
        (math.floor(n * s) == n and s != 1) or (math.floor(n * s) == 2 * n and s != 2)
        for n, s in ((h, sh), (w, sw))
    )


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    n, c, h, w = (int(p[k]) for k in ("n", "c", "h", "w"))
    if p.get("pattern") == "ramp":  # the spec's example data: 0, 1, 2, ... row-major
        image = np.arange(n * c * h * w, dtype=np.float64).reshape(n, c, h, w)
    else:  # image-like values in [0, 1): the coordinate term of the atol is scaled to it
        image = rng.random((n, c, h, w))
    return {
        "image": image.astype(np.dtype(case.dtype)),
        "out_h": p.get("oh"),
        "out_w": p.get("ow"),
        "scale_h": p.get("sh"),
        "scale_w": p.get("sw"),
    }


def _sizes(case: Case) -> tuple[int, int, int, int]:
    p = case.params
    h, w = int(p["h"]), int(p["w"])
    if p.get("oh") is not None:
        return h, w, int(p["oh"]), int(p["ow"])
    return h, w, max(math.floor(h * float(p["sh"])), 1), max(math.floor(w * float(p["sw"])), 1)


def cost(case: Case) -> Cost:
    n, c = int(case.params["n"]), int(case.params["c"])
    h, w, oh, ow = _sizes(case)
    b = np.dtype(case.dtype).itemsize
    out = n * c * oh * ow
    nearest = ScaleOptions.build(case.options).mode == "nearest"
    # as resize_bilinear: ≈ 11 flops per output element (a gather's address for nearest)
    return Cost(
        flops=(1.0 if nearest else 11.0) * out,
        bytes=b * (n * c * h * w + out),
        items=out,
        item_unit="px",
    )


def _coordinate_error(case: Case) -> float:
    """The libraries form the ratio and dst·ratio in the working precision (torch: float32
    for float32 images): a few ulps of a coordinate |x| <= max(in, out)."""
    h, w, oh, ow = _sizes(case)
    eps = 2.0**-24 if case.dtype == "float32" else 2.0**-53
    return 4.0 * max(h, w, oh, ow) * eps


def tolerance(case: Case) -> Tolerance:
    """Bilinear: two taps per axis (K = 4) plus the coordinate error times the step between
    neighbours (<= 1 for these [0, 1) images; the ramp case's steps are W, scaled by it).
    Nearest copies pixels: exact (a coordinate on a pixel boundary may take either side,
    which ScaleClose decides)."""
    if ScaleOptions.build(case.options).mode == "nearest":
        return Tolerance(0.0, 0.0, "nearest copies pixels: exact (either side of a boundary)")
    base = default_tolerance(case.dtype, 4)
    step = float(case.params["w"]) if case.params.get("pattern") == "ramp" else 1.0
    coord = _coordinate_error(case) * step
    return Tolerance(
        base.rtol,
        base.atol * step + coord,
        base.reason + f"; + 4·max(in, out)·eps·step = {coord:.2g}",
    )


#: How close (relative) dst·ratio must come to an integer for nearest to accept either side.
TIE_ULPS = 8 * 2.0**-24


def _candidates(n_in: int, n_out: int, scale: float | None) -> list[Any]:
    """The exact nearest index per output and, where dst·ratio lies within 8 float32 ulps
    (relative) of an integer k, the index on the other side of k (k − 1 or k): libraries
    form the ratio and the product in float32 (torch does so for every dtype)."""
    ratio = Fraction(n_in, n_out) if scale is None else 1 / Fraction(scale)
    exact = nearest_index(n_in, n_out, scale)
    alt = exact.copy()
    for d in range(1, n_out):
        t = d * ratio
        k = round(t)
        if k > 0 and abs(t - k) <= TIE_ULPS * t:
            alt[d] = min(k if exact[d] < k else k - 1, n_in - 1)
    return [exact, alt]


class ScaleClose(Close):
    """Close; for nearest, an output whose exact source position dst·ratio lies on (or
    within the working precision of) a pixel boundary may hold either pixel: torch forms
    floorf(dst·ratio) with the ratio rounded to float32."""

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Any:
        opts = ScaleOptions.build(case.options)
        a, e = np.asarray(actual), np.asarray(expected)
        if opts.mode == "nearest" and a.shape == e.shape and e.size:
            x = np.asarray(inputs["image"], dtype=np.float64)
            _, oh, ow, used = plan(
                x, inputs["out_h"], inputs["out_w"], inputs["scale_h"], inputs["scale_w"], opts
            )
            rows = _candidates(x.shape[2], oh, used[0] if used else None)
            cols = _candidates(x.shape[3], ow, used[1] if used else None)
            af = np.asarray(a, dtype=np.float64)
            hit = np.zeros(e.shape, dtype=bool)
            for ri in rows:
                for ci in cols:
                    hit |= af == x[:, :, ri][:, :, :, ci]
            e = np.where(hit, a, e)
        return super().__call__(a, e, inputs, case, tol)


COMPARE = ScaleClose(override=tolerance)

F64: dict[str, Any] = {"dtype": "float64"}
SF = {"scale_source": "scale_factor"}
NEAREST = {"mode": "nearest"}
NEAREST_SF = {"mode": "nearest", "scale_source": "scale_factor"}

CASES = [
    case("scale_1_5_f32", n=2, c=3, h=37, w=53, sh=1.5, sw=1.5, options=SF),
    case("scale_1_5_f64", n=2, c=3, h=37, w=53, sh=1.5, sw=1.5, options=SF, **F64),
    case("scale_1_5_recompute_f64", n=2, c=3, h=37, w=53, sh=1.5, sw=1.5, **F64),
    case("size_given_f64", n=2, c=3, h=37, w=53, oh=55, ow=79, **F64),
    case("spec_5x5_at_1_5", n=1, c=1, h=5, w=5, sh=1.5, sw=1.5, pattern="ramp", options=SF, **F64),
    case("scale_0_7_f32", n=2, c=3, h=37, w=53, sh=0.7, sw=0.7, options=SF),
    case("scale_2_3_f64", n=1, c=3, h=37, w=53, sh=2.3, sw=2.3, options=SF, **F64),
    case("per_axis_f64", n=1, c=3, h=37, w=53, sh=1.5, sw=0.7, options=SF, **F64),
    case("per_axis_recompute_f32", n=1, c=3, h=37, w=53, sh=2.3, sw=0.7),
    case("nearest_scale_1_5_f32", n=2, c=3, h=37, w=53, sh=1.5, sw=1.5, options=NEAREST_SF),
    case("nearest_scale_0_7_f64", n=1, c=3, h=37, w=53, sh=0.7, sw=0.7, options=NEAREST_SF, **F64),
    case("nearest_recompute_f32", n=1, c=3, h=37, w=53, sh=0.7, sw=2.3, options=NEAREST),
    case("nearest_size_given", n=1, c=2, h=37, w=53, oh=26, ow=121, options=NEAREST),
    # wide rows: past the first block of a tiled or vectorised kernel
    case("multi_block", n=1, c=2, h=6, w=300, sh=1.3, sw=1.3, options=SF),
    edge("empty_batch", n=0, c=3, h=5, w=7, sh=1.5, sw=2.5, options=SF),
    edge("empty_channels", n=2, c=0, h=5, w=7, sh=1.5, sw=2.5, options=SF),
    edge("integer_product_f64", n=1, c=3, h=40, w=30, sh=1.5, sw=0.5, options=SF, **F64),
    edge("integer_product_nearest", n=1, c=3, h=40, w=30, sh=1.5, sw=0.5, options=NEAREST_SF),
    edge("one_pixel_in", n=1, c=2, h=1, w=1, sh=3.0, sw=2.5, options=SF, **F64),
    edge("one_pixel_out", n=1, c=2, h=2, w=3, sh=0.5, sw=0.4, options=SF, **F64),
    edge("tiny_upscale", n=1, c=2, h=2, w=3, sh=2.7, sw=3.3, options=SF, **F64),
    edge("scale_1_identity", n=1, c=2, h=9, w=11, sh=1.0, sw=1.0, options=SF, **F64),
    # floor(in·scale) = in but 1/scale != 1: the map still moves (torch copies instead)
    edge("same_size_scale_1_01", n=1, c=2, h=37, w=53, sh=1.01, sw=1.01, options=SF, **F64),
    # floor(in·scale) = 2·in: nearest's 1/scale map is not dst >> 1 (torch takes dst >> 1)
    edge("double_size_nearest_2_04", n=1, c=2, h=20, w=40, sh=2.04, sw=2.02, options=NEAREST_SF),
]

ERRORS = [
    error("both_given", ValueError, "not both", n=1, c=2, h=5, w=6, oh=7, ow=9, sh=1.5, sw=1.5),
    error("neither_given", ValueError, "not both", n=1, c=2, h=5, w=6),
    error("half_a_size", ValueError, r"out_h and out_w", n=1, c=2, h=5, w=6, oh=7),
    error("zero_scale", ValueError, r"\bscale_h\b", n=1, c=2, h=5, w=6, sh=0.0, sw=1.5),
    error("empty_output", ValueError, "empty output", n=1, c=2, h=5, w=6, sh=0.1, sw=1.5),
    error(
        "scale_source_without_scales",
        ValueError,
        "scale_source",
        n=1,
        c=2,
        h=5,
        w=6,
        oh=7,
        ow=9,
        options=SF,
    ),
    error("empty_height", ValueError, r"\bH\b", n=1, c=2, h=0, w=6, sh=1.5, sw=1.5),
]

BENCH = {
    "smoke": [bench("bench_small", n=2, c=3, h=17, w=23, sh=1.5, sw=1.5, options=SF)],
    # the spec's standard: 16x3x37x53 at 1.5 (0.7 and 2.3, and the recompute path, in full)
    "quick": [bench("bench_37x53_1_5", n=16, c=3, h=37, w=53, sh=1.5, sw=1.5, options=SF)],
    "full": [
        bench("bench_37x53_1_5_recompute", n=16, c=3, h=37, w=53, sh=1.5, sw=1.5),
        bench("bench_37x53_0_7", n=16, c=3, h=37, w=53, sh=0.7, sw=0.7, options=SF),
        bench("bench_37x53_2_3", n=16, c=3, h=37, w=53, sh=2.3, sw=2.3, options=SF),
        bench("bench_1023_1_5", n=16, c=3, h=1023, w=1023, sh=1.5, sw=1.5, options=SF),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(
        shape: tuple[int, ...], seed: int, dtype: str, opts: dict[str, Any], scales: Any
    ) -> Case:
        n, c, h, w = shape
        sh, sw = scales
        sh, sw = max(sh, 1.0 / h), max(sw, 1.0 / w)  # floor(in·scale) >= 1
        params = dict(n=n, c=c, h=h, w=w, seed=seed, dtype=dtype, sh=sh, sw=sw)
        return Case("fuzz", params, opts, "fuzz")

    sizes = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 40), st.integers(1, 40))
    scale = st.one_of(
        st.sampled_from([0.5, 0.7, 1.0, 1.5, 2.0, 2.3, 3.0]), st.floats(0.2, 4.0, allow_nan=False)
    )
    return st.builds(
        build,
        sizes,
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        ScaleOptions.strategy(),
        st.tuples(scale, scale),
    )


SUITE = Suite(
    algorithm="interpolate_scale_factor_vs_size",
    family="dense-image-ops",
    summary="F.interpolate of image (N, C, H, W) given out_h, out_w or scale_h, scale_w: "
    "which ratio maps the coordinates.",
    conventions=(
        "Exactly one of (out_h, out_w) and (scale_h, scale_w) is given, each pair whole. "
        "Scales give the output size floor(float(in)·scale) per axis (>= 1, else ValueError). "
        "scale_source='size' maps coordinates with in/out (F.interpolate given size, or "
        "scale_factor with recompute_scale_factor=True); 'scale_factor' maps with 1/scale "
        "(F.interpolate's default with scale_factor; OpenCV's fx, fy do the same) and needs "
        "scale factors (ValueError otherwise). The two agree when in·scale is an integer, and "
        "differ otherwise (5x5 ramp at 1.5: 7x7 both ways, up to 1.57 apart). mode="
        "'bilinear': half-pixel src = (dst + 0.5)·ratio − 0.5, clamped below 0 and at the last "
        "pixel (as resize_bilinear); 'nearest': legacy src = min(floor(dst·ratio), in − 1) in "
        "exact rationals of the float scale; where dst·ratio lies on or within a few ulps "
        "of an integer, a float computation (torch's floorf in float32) may take the pixel "
        "below and is accepted. torch shortcuts two sizes: an output of the input's size is a copy "
        "and a nearest output of twice its size takes dst >> 1, whatever the scale; the "
        "oracle keeps the 1/scale map there (same_size_scale_1_01, double_size_nearest_2_04). "
        "Float images keep their dtype. Must raise: both or neither "
        "of size and scale (or half a pair), a scale <= 0 (ValueError naming it), an empty "
        "output, H or W = 0."
    ),
    args=ARGS,
    options=ScaleOptions,
    make_inputs=make_inputs,
    oracle=interpolate_scale_factor_vs_size,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 23, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_37x53_1_5",
    multi_block={"W": 300},
    fuzz=fuzz_strategy,
    divergent_inputs={
        "same_size_scale_1_01": torch_size_shortcuts,
        "double_size_nearest_2_04": torch_size_shortcuts,
    },
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
    invalid_options=[],
    reference="torch F.interpolate with size, with scale_factor, and with scale_factor and "
    "recompute_scale_factor=True (bilinear, nearest)",
)

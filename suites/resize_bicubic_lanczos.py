"""Suite for resize_bicubic_lanczos: separable Keys-cubic and Lanczos-4 resize of an
(N, C, H, W) image batch."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.cases import bench, case, edge, error
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance
from suites.resize_bilinear import (
    ARGS,
    ResizeOptions,
    _separable,
    round_half_up,
    source_fraction,
)
from suites.resize_bilinear import (
    check_resize as check_resize,  # re-exported: the implementations' one-line check
)

#: mode -> (taps per axis before widening, Keys' a or None for Lanczos)
MODES: dict[str, tuple[int, float | None]] = {
    "cubic": (4, -0.75),
    "cubic_a0.5": (4, -0.5),
    "cubic_antialias": (4, -0.5),
    "lanczos4": (8, None),
}


@dataclass(frozen=True)
class ResizeCubicOptions(Options):
    mode: str = option(
        "cubic",
        "cubic_a0.5",
        "cubic_antialias",
        "lanczos4",
        meaning="the kernel: 'cubic' Keys a = -0.75 (OpenCV INTER_CUBIC, torch 'bicubic'); "
        "'cubic_a0.5' Keys a = -0.5 (Keys' own choice) with the same 4 taps; "
        "'cubic_antialias' Keys a = -0.5 widened by the scale when downscaling, taps outside "
        "the image dropped and the rest normalised (torch antialias=True, Pillow BICUBIC); "
        "'lanczos4' sinc(t)·sinc(t/4) over 8 taps, normalised (OpenCV INTER_LANCZOS4)",
    )
    align_corners: bool = option(
        False,
        True,
        meaning="src = dst·(in − 1)/(out − 1) (0 when out = 1) instead of the half-pixel "
        "src = (dst + 0.5)·in/out − 0.5 (torch's flag; OpenCV has only half-pixel)",
    )
    uint8_arithmetic: str = option(
        "exact",
        "fixed_point",
        meaning="uint8 images: float64 weights, one rounding half up at the end and one "
        "saturation to [0, 255] (compared exactly), or a library's own fixed-point pipeline "
        "(OpenCV's 11-bit coefficients; within 1 grey level)",
    )

    def validate(self) -> None:
        if self.mode == "cubic_antialias" and self.align_corners:
            raise ValueError("mode='cubic_antialias' is defined with the half-pixel mapping only")


def keys(t: float, a: float) -> float:
    """Keys' cubic convolution kernel W(t) with parameter a."""
    t = abs(t)
    if t <= 1.0:
        return ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
    if t < 2.0:
        return ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a
    return 0.0


def _weights(n_in: int, n_out: int, opts: ResizeCubicOptions) -> Any:
    """The dense (n_out, n_in) matrix of one axis, written straight from the definitions."""
    m = np.zeros((n_out, n_in))
    taps, a = MODES[opts.mode]
    if opts.mode == "cubic_antialias":  # Pillow's (and torch's) stretched, truncated filter
        scale = n_in / n_out
        stretch = max(scale, 1.0)
        for d in range(n_out):
            centre = (d + 0.5) * scale
            lo = max(int(centre - 2.0 * stretch + 0.5), 0)
            hi = min(int(centre + 2.0 * stretch + 0.5), n_in)
            for j in range(lo, hi):
                m[d, j] = keys((j + 0.5 - centre) / stretch, -0.5)
            m[d] /= m[d].sum()
        return m
    mapping = ResizeOptions(align_corners=opts.align_corners)
    for d in range(n_out):
        src = source_fraction(d, n_in, n_out, mapping)  # exact; negative ones are not clamped
        i = math.floor(src)
        for j in range(i - taps // 2 + 1, i + taps // 2 + 1):
            dist = float(j - src)
            w = keys(dist, a) if a is not None else float(np.sinc(dist) * np.sinc(dist / 4.0))
            m[d, min(max(j, 0), n_in - 1)] += w  # border replicate: clamped taps pile up
        if a is None:  # Lanczos weights are normalised to sum 1
            m[d] /= m[d].sum()
    return m


def resize_bicubic_lanczos(image: Any, out_h: int, out_w: int, opts: ResizeCubicOptions) -> Any:
    """Oracle: one weight matrix per axis from the exact source coordinates, applied rows then
    columns in float64 (sparse products). Float images keep their dtype, unclamped (cubic and
    Lanczos overshoot); uint8 rounds half up once and saturates to [0, 255]."""
    check_resize(image, out_h, out_w)
    import scipy.sparse  # here, not at the top: listing imports the suites and must stay light

    x = np.asarray(image)
    n, c, h, w = x.shape
    wy = scipy.sparse.csr_matrix(_weights(h, out_h, opts))
    wx = scipy.sparse.csr_matrix(_weights(w, out_w, opts))
    out = _separable(x.astype(np.float64).reshape(n * c, h, w), wy, wx)
    out = out.reshape(n, c, out_h, out_w)
    if x.dtype == np.uint8:
        return round_half_up(out)
    return out.astype(x.dtype)


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    n, c, h, w = (int(p[k]) for k in ("n", "c", "h", "w"))
    dtype = np.dtype(case.dtype)
    if dtype == np.uint8:
        image = rng.integers(0, 256, size=(n, h, w, c), dtype=np.uint8)
    elif dtype.kind in "iu":
        image = rng.integers(0, 100, size=(n, h, w, c)).astype(dtype)
    else:  # image-like values in [0, 1): the float32 atol below is scaled to this range
        image = rng.random((n, h, w, c), dtype=np.float64).astype(dtype)
    if p.get("pattern") == "extremes" and image.size:  # 0/top checkerboard: overshoot
        # uint8 top 254, not 255: by symmetry 0/255 makes exact 127.5 ties that float64
        # pipelines with non-dyadic weights land an ulp either side of (so uint8 'exact'
        # could not be compared exactly); 0/254 gives 127 there and still overshoots past
        # 255 and below 0 on both sides
        top = 254 if dtype == np.uint8 else 1.0
        yy, xx = np.indices((h, w))
        image[:] = (((yy // 2 + xx // 2) % 2) * top).astype(dtype)[None, :, :, None]
    nchw = image.transpose(0, 3, 1, 2)  # a channels-last buffer seen as NCHW
    value = nchw if p.get("layout") == "channels_last" else np.ascontiguousarray(nchw)
    return {"image": value, "out_h": int(p["oh"]), "out_w": int(p["ow"])}


def float64_image(inputs: Inputs) -> bool:
    """Libraries that resize in float32 (Pillow's mode 'F') or with float32 coefficients
    (OpenCV) are ~1e-7 off on any float64 image: their documented float64 case."""
    return bool(np.asarray(inputs["image"]).dtype == np.float64)


def uint8_image(inputs: Inputs) -> bool:
    """Pillow's own uint8 path saturates between its passes and OpenCV's float64 route for
    'exact' has float32 coefficients: any uint8 image is their documented uint8 case."""
    return bool(np.asarray(inputs["image"]).dtype == np.uint8)


def _taps_per_axis(n_in: int, n_out: int, mode: str) -> float:
    taps = MODES[mode][0]
    return taps * max(n_in / n_out, 1.0) + 1.0 if mode == "cubic_antialias" else float(taps)


def cost(case: Case) -> Cost:
    """Two separable passes of K taps (a multiply and an add each): the rows pass makes
    out_h·W intermediates, the columns pass out_h·out_w outputs (the spec's 2·(4 + 4) or
    2·(8 + 8) per output when in ≈ out); bytes b·(input + output)."""
    p = case.params
    n, c, h, w, oh, ow = (int(p[k]) for k in ("n", "c", "h", "w", "oh", "ow"))
    mode = ResizeCubicOptions.build(case.options).mode
    ky, kx = _taps_per_axis(h, oh, mode), _taps_per_axis(w, ow, mode)
    b = np.dtype(case.dtype).itemsize
    return Cost(
        flops=2.0 * n * c * (oh * w * ky + oh * ow * kx),
        bytes=b * n * c * (h * w + oh * ow),
        items=n * c * oh * ow,
        item_unit="px",
    )


def _reduction(case: Case) -> int:
    p, mode = case.params, ResizeCubicOptions.build(case.options).mode
    ky = _taps_per_axis(int(p["h"]), int(p["oh"]), mode)
    kx = _taps_per_axis(int(p["w"]), int(p["ow"]), mode)
    return math.ceil(ky * kx)


def tolerance(case: Case) -> Tolerance:
    """uint8 'exact': compared exactly. Every implementation forms the value in float64 and
    rounds once: the dyadic weights of integer factors (2x: t = 1/4, 3/4) give exact sums,
    so a .5 tie is a tie everywhere; other weights differ between float64 pipelines by a few
    ulps of 255, which moves the rounding only for a value within ~1e-13 of a .5 boundary:
    an exact tie at non-dyadic rational weights (t = 1/3) does that, and the fixed cases
    have none (fuzz compares those modes' uint8 under 'fixed_point'). uint8 'fixed_point':
    within 1 grey level (OpenCV's 11-bit coefficients quantise each axis's weights: the
    error stays under 1 before the final rounding on these cases). Floats: the weighted
    sum of K = Ky·Kx taps (10·sqrt(K)·eps), with atol scaled by 2, the sum of |weights| of
    a cubic or Lanczos kernel per 2-D tap set being below 2 (negative lobes), and the
    source coordinate computed in the working precision by the libraries (OpenCV and torch
    float32 form (d + 0.5)·scale − 0.5 in float32; OpenCV also holds its coefficients in
    float32): a few ulps of |coordinate| <= max(in, out) move the result by that much times
    the kernel's slope (<= 1.5) times the step between neighbours (<= 1 for these [0, 1)
    images), summed over the taps: 8·max(in, out)·eps of atol."""
    if case.dtype == "uint8":
        if ResizeCubicOptions.build(case.options).uint8_arithmetic == "fixed_point":
            return Tolerance(0.0, 1.0, "uint8 fixed-point paths: within 1 grey level")
        return Tolerance(0.0, 0.0, "uint8 with float64 weights: rounded once, compared exactly")
    base = default_tolerance(case.dtype, _reduction(case), 2.0)
    p = case.params
    extent = max(int(p[k]) for k in ("h", "w", "oh", "ow"))
    eps = 2.0**-24 if case.dtype == "float32" else 2.0**-53
    coord = 8.0 * extent * eps
    return Tolerance(
        base.rtol, base.atol + coord, base.reason + f"; + 8·max(in, out)·eps = {coord:.2g} atol"
    )


COMPARE = Close(reduction=_reduction, override=tolerance)

ALIGN = {"align_corners": True}
A05 = {"mode": "cubic_a0.5"}
AA = {"mode": "cubic_antialias"}
LZ = {"mode": "lanczos4"}
FIXED = {"uint8_arithmetic": "fixed_point"}
F64: dict[str, Any] = {"dtype": "float64"}
U8: dict[str, Any] = {"dtype": "uint8"}

CASES = [
    case("up2x_f32", n=2, c=3, h=13, w=17, oh=26, ow=34),
    case("up2x_f64", n=2, c=3, h=13, w=17, oh=26, ow=34, **F64),
    case("down_f32", n=2, c=3, h=37, w=53, oh=23, ow=31),
    case("mixed_f64", n=2, c=3, h=19, w=41, oh=43, ow=22, **F64),
    case("align_corners_f64", n=2, c=3, h=19, w=41, oh=43, ow=22, options=ALIGN, **F64),
    case("align_corners_f32", n=1, c=3, h=37, w=23, oh=23, ow=51, options=ALIGN),
    case("cubic_a05_f64", n=2, c=3, h=19, w=41, oh=43, ow=22, options=A05, **F64),
    case("cubic_a05_align_f32", n=1, c=2, h=11, w=16, oh=25, ow=9, options={**A05, **ALIGN}),
    case("antialias_down_f64", n=2, c=3, h=61, w=47, oh=17, ow=20, options=AA, **F64),
    case("antialias_down_f32", n=1, c=3, h=64, w=80, oh=15, ow=29, options=AA),
    case("antialias_up_f64", n=1, c=2, h=9, w=11, oh=20, ow=27, options=AA, **F64),
    case("antialias_up_f32", n=2, c=3, h=13, w=17, oh=26, ow=41, options=AA),
    case("lanczos4_up2x_f32", n=2, c=3, h=13, w=17, oh=26, ow=34, options=LZ),
    case("lanczos4_mixed_f64", n=2, c=3, h=19, w=41, oh=43, ow=22, options=LZ, **F64),
    case("lanczos4_down_f32", n=1, c=3, h=37, w=53, oh=23, ow=31, options=LZ),
    case("lanczos4_align_f64", n=1, c=2, h=12, w=9, oh=7, ow=20, options={**LZ, **ALIGN}, **F64),
    case("uint8_up2x", n=2, c=3, h=17, w=23, oh=34, ow=46, **U8),
    case("uint8_down", n=2, c=3, h=40, w=60, oh=27, ow=41, **U8),
    case("uint8_lanczos4", n=2, c=3, h=17, w=23, oh=30, ow=41, options=LZ, **U8),
    case("uint8_antialias_down", n=1, c=3, h=60, w=44, oh=21, ow=13, options=AA, **U8),
    case("uint8_antialias_up", n=1, c=3, h=13, w=17, oh=26, ow=41, options=AA, **U8),
    # a library's own integer pipeline (OpenCV's fixed-point coefficients), within 1 level
    case("uint8_fixed_point", n=2, c=3, h=17, w=23, oh=34, ow=46, options=FIXED, **U8),
    case(
        "uint8_fixed_point_antialias_up",
        n=1,
        c=3,
        h=13,
        w=17,
        oh=26,
        ow=41,
        options={**AA, **FIXED},
        **U8,
    ),
    # wide rows: past the first block of a tiled or vectorised kernel
    case("multi_block", n=1, c=2, h=6, w=300, oh=9, ow=450),
    edge("float_overshoot_f64", n=1, c=2, h=10, w=12, oh=25, ow=31, pattern="extremes", **F64),
    edge("uint8_overshoot", n=1, c=2, h=10, w=12, oh=25, ow=31, pattern="extremes", **U8),
    edge(
        "uint8_overshoot_lanczos4",
        n=1,
        c=2,
        h=10,
        w=12,
        oh=17,
        ow=29,
        pattern="extremes",
        options=LZ,
        **U8,
    ),
    edge(
        "uint8_fixed_point_overshoot_lanczos4",
        n=1,
        c=2,
        h=10,
        w=12,
        oh=17,
        ow=29,
        pattern="extremes",
        options={**LZ, **FIXED},
        **U8,
    ),
    edge("empty_batch", n=0, c=3, h=5, w=7, oh=9, ow=11),
    edge("empty_channels", n=2, c=0, h=5, w=7, oh=9, ow=11),
    edge("identity_f32", n=2, c=3, h=11, w=13, oh=11, ow=13),
    edge("identity_lanczos4_f64", n=1, c=3, h=11, w=13, oh=11, ow=13, options=LZ, **F64),
    edge("identity_uint8", n=1, c=3, h=11, w=13, oh=11, ow=13, **U8),
    edge("one_pixel_in", n=1, c=3, h=1, w=1, oh=5, ow=4, **F64),
    edge("one_pixel_out", n=2, c=3, h=9, w=12, oh=1, ow=1, **F64),
    edge("one_pixel_out_align", n=2, c=3, h=9, w=12, oh=1, ow=1, options=ALIGN, **F64),
    edge("smaller_than_support_lanczos4", n=1, c=2, h=2, w=3, oh=7, ow=9, options=LZ, **F64),
    edge("smaller_than_support_antialias", n=1, c=2, h=3, w=2, oh=2, ow=7, options=AA, **F64),
    edge("extreme_down", n=1, c=3, h=97, w=131, oh=3, ow=2, **F64),
    edge("channels_last", n=2, c=3, h=15, w=21, oh=10, ow=33, layout="channels_last"),
]

ERRORS = [
    error("int16_image", TypeError, r"\bimage\b", n=1, c=2, h=4, w=5, oh=3, ow=3, dtype="int16"),
    error("empty_height", ValueError, r"\bH\b", n=1, c=2, h=0, w=5, oh=3, ow=3),
    error("empty_width", ValueError, r"\bW\b", n=1, c=2, h=4, w=0, oh=3, ow=3),
]

BENCH = {
    "smoke": [bench("bench_small", n=2, c=3, h=64, w=96, oh=128, ow=192)],
    # The spec's standard (16x3x512x512 -> 2x, 200 MB of float32 output) does not fit the
    # quick profile's 6 s on two cores: 2x3x512x512 -> 2x (the same factor, an eighth of
    # the batch) stands in; the spec's sizes are in "full".
    "quick": [bench("bench_512_up2x", n=2, c=3, h=512, w=512, oh=1024, ow=1024)],
    "full": [
        bench("bench_spec_standard", n=16, c=3, h=512, w=512, oh=1024, ow=1024),
        bench("bench_large_1080p_up2x", n=16, c=3, h=1080, w=1920, oh=2160, ow=3840),
        bench("bench_512_up2x_lanczos4", n=2, c=3, h=512, w=512, oh=1024, ow=1024, options=LZ),
        bench("bench_512_up2x_uint8", n=2, c=3, h=512, w=512, oh=1024, ow=1024, **U8),
        bench("bench_1024_down_antialias", n=2, c=3, h=1024, w=1024, oh=384, ow=384, options=AA),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(shape: tuple[int, ...], seed: int, dtype: str, options: dict[str, Any]) -> Case:
        n, c, h, w, oh, ow = shape
        if dtype == "uint8" and options.get("mode") != "lanczos4":
            # Keys weights at rational positions such as t = 1/3 are rational but not
            # dyadic: an exact .5 tie there (a column of 2 distinct pixels, say) is one that
            # every float64 pipeline, the oracle's included, lands an ulp either side of. The
            # fixed cases have none (verify shows it); random sizes do, so uint8 fuzz is
            # compared within 1 grey level there. Lanczos weights are irrational: no ties.
            options = {**options, **FIXED}
        params = dict(n=n, c=c, h=h, w=w, oh=oh, ow=ow, seed=seed, dtype=dtype)
        return Case("fuzz", params, options, "fuzz")

    mapping = st.sampled_from([{}, ALIGN, A05, AA, LZ, {**LZ, **ALIGN}])
    sizes = st.tuples(
        *(st.integers(1, 3) for _ in range(2)), *(st.integers(1, 40) for _ in range(4))
    )
    return st.builds(
        build,
        sizes,
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64", "uint8"]),
        mapping,
    )


SUITE = Suite(
    algorithm="resize_bicubic_lanczos",
    family="dense-image-ops",
    summary="Keys-cubic or Lanczos-4 resize of image (N, C, H, W) to (N, C, out_h, out_w), "
    "separable.",
    conventions=(
        "Pixel centres at integers; half-pixel mapping src = (dst + 0.5)·in/out − 0.5 "
        "(OpenCV, torch align_corners=False) or, with align_corners, src = dst·(in − 1)/"
        "(out − 1) (0 when out = 1). i = floor(src), not clamped (a negative src is a "
        "negative i). 'cubic': Keys W(t) = (a + 2)|t|³ − (a + 3)|t|² + 1 for |t| <= 1, "
        "a|t|³ − 5a|t|² + 8a|t| − 4a for 1 < |t| < 2, a = −0.75 (OpenCV INTER_CUBIC, torch "
        "'bicubic'), on taps i − 1 .. i + 2; 'cubic_a0.5' the same with a = −0.5. "
        "'lanczos4': sinc(t)·sinc(t/4) on taps i − 3 .. i + 4, normalised to sum 1 (OpenCV "
        "INTER_LANCZOS4). Taps outside the image replicate the border pixel (indices "
        "clamped, their weights add up). 'cubic_antialias' (half-pixel only): torch "
        "antialias=True and Pillow BICUBIC: a = −0.5, the kernel stretched by s = max(in/out, "
        "1) around centre (dst + 0.5)·in/out over input pixels j with |j + 0.5 − centre| < 2s "
        "inside the image (taps outside dropped, not replicated), weights normalised; it "
        "differs from 'cubic_a0.5' near the border even when upscaling. Sizes are given "
        "(out_h, out_w >= 1). Float images keep their dtype and are not clamped (cubic and "
        "Lanczos overshoot). uint8 stays uint8: with uint8_arithmetic='exact' (default) the "
        "float64 result rounds half up once, floor(x + 0.5), and saturates to [0, 255] once, "
        "at the end, compared exactly (truncation, a missing clamp or a clamp between the "
        "passes are errors); with 'fixed_point' a library's own integer pipeline (OpenCV's "
        "11-bit coefficients) must be within 1 grey level. Other integer dtypes raise "
        "TypeError; H = 0 or W = 0 raises ValueError. Non-finite pixels are not compared. "
        "Must raise: out_h or out_w <= 0 (ValueError naming it), an unknown mode or "
        "antialias with align_corners (the options record refuses it)."
    ),
    args=ARGS,
    options=ResizeCubicOptions,
    make_inputs=make_inputs,
    oracle=resize_bicubic_lanczos,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 13, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_512_up2x",
    multi_block={"W": 300},
    fuzz=fuzz_strategy,
    divergent_inputs={
        "antialias_up_f64": float64_image,
        "mixed_f64": float64_image,  # OpenCV: float32 coefficients on float64 images
        "uint8_fixed_point_antialias_up": uint8_image,
        "uint8_down": uint8_image,  # OpenCV's float64 path for 'exact': float32 coefficients
    },
    invalid_options=[
        {"mode": "bilinear"},
        {"mode": "lanczos3"},
        {"mode": "cubic_antialias", "align_corners": True},
    ],
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="cv2.resize INTER_CUBIC and INTER_LANCZOS4; torch F.interpolate bicubic "
    "(align_corners, antialias)",
)

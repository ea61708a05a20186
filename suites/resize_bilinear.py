"""Suite for resize_bilinear: separable bilinear resize of an (N, C, H, W) image batch."""

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


@dataclass(frozen=True)
class ResizeOptions(Options):
    align_corners: bool = option(
        False, True, meaning="src = dst·(in − 1)/(out − 1), corner pixels aligned (out = 1: 0)"
    )
    asymmetric: bool = option(
        False,
        True,
        meaning="src = dst·in/out without the half-pixel shift (TF1 legacy, ONNX 'asymmetric')",
    )
    antialias: bool = option(
        False,
        True,
        meaning="downscaling widens the triangle filter to the scale (torch antialias=True, "
        "Pillow BILINEAR); half-pixel mapping only",
    )
    uint8_arithmetic: str = option(
        "exact",
        "fixed_point",
        meaning="uint8 images: float64 weights and one rounding half up (compared exactly), "
        "or a library's fixed-point weights and integer passes (within 1 grey level)",
    )

    def validate(self) -> None:
        if self.align_corners and self.asymmetric:
            raise ValueError("align_corners and asymmetric are two different mappings: pick one")
        if self.antialias and (self.align_corners or self.asymmetric):
            raise ValueError("antialias is defined with the half-pixel mapping only")


ARGS = Args(
    Arg("image", ("N", "C", "H", "W"), "real"),
    Scalar("out_h", "int", low=1),
    Scalar("out_w", "int", low=1),
    nonempty=("H", "W"),  # an empty image has nothing to sample from
)


def check_resize(image: Any, out_h: int, out_w: int) -> Any:
    """ARGS.check plus the dtype rule: float images keep their dtype, uint8 stays uint8;
    other integer dtypes raise TypeError. Returns the output dtype in the image's namespace."""
    dtype = ARGS.check(image, out_h, out_w)
    kind = str(getattr(image, "dtype", np.asarray(image).dtype))
    if kind.endswith("uint8"):
        return image.dtype if hasattr(image, "dtype") else np.dtype(np.uint8)
    if "int" in kind:
        raise TypeError(f"image must be a float or uint8 array, got {kind}")
    return dtype


def source_fraction(dst: int, n_in: int, n_out: int, opts: ResizeOptions) -> Fraction:
    """The exact source coordinate of destination index ``dst`` (pixel centres at integers)."""
    if opts.align_corners:
        return Fraction(dst * (n_in - 1), n_out - 1) if n_out > 1 else Fraction(0)
    if opts.asymmetric:
        return Fraction(dst * n_in, n_out)
    return Fraction((2 * dst + 1) * n_in - n_out, 2 * n_out)  # (dst + 0.5)·in/out − 0.5


def _two_taps(d: int, n_in: int, n_out: int, opts: ResizeOptions) -> list[tuple[int, Fraction]]:
    """The exact weights of output d: clamp below 0, the last pixel alone on or past it."""
    src = max(source_fraction(d, n_in, n_out, opts), Fraction(0))
    i = math.floor(src)
    if i >= n_in - 1:
        return [(n_in - 1, Fraction(1))]
    return [(i, 1 - (src - i)), (i + 1, src - i)]


def _denominator(n_in: int, n_out: int, opts: ResizeOptions) -> int:
    """A common denominator of every exact weight of one axis."""
    if opts.align_corners:
        return max(n_out - 1, 1)
    return n_out if opts.asymmetric else 2 * n_out


def axis_weights(n_in: int, n_out: int, opts: ResizeOptions, scaled_by: int = 0) -> Any:
    """The (n_out, n_in) matrix of one axis: row d holds the weights of output d; with
    ``scaled_by`` = D the exact weights times D, as integers (non-antialiased only)."""
    rows: list[int] = []
    cols: list[int] = []
    vals: list[Any] = []
    for d in range(n_out):
        if opts.antialias:
            taps: list[tuple[int, Any]] = _triangle_taps(d, n_in, n_out)
        else:
            taps = _two_taps(d, n_in, n_out, opts)
        for j, w in taps:
            rows.append(d)
            cols.append(j)
            vals.append(int(w * scaled_by) if scaled_by else float(w))
    import scipy.sparse  # here, not at the top: listing imports the suites and must stay light

    dtype = np.int64 if scaled_by else np.float64
    return scipy.sparse.csr_matrix(
        (np.asarray(vals, dtype=dtype), (rows, cols)), shape=(n_out, n_in)
    )


def _triangle_taps(d: int, n_in: int, n_out: int) -> list[tuple[int, float]]:
    """torch's antialiased bilinear (Pillow's): the triangle filter stretched by the scale
    when downscaling, over the taps within its support, normalised to sum 1."""
    scale = n_in / n_out
    support = max(scale, 1.0)  # the triangle's half-width in input pixels
    centre = (d + 0.5) * scale
    lo = max(int(centre - support + 0.5), 0)
    hi = min(int(centre + support + 0.5), n_in)
    raw = [(j, max(0.0, 1.0 - abs((j + 0.5 - centre) / support))) for j in range(lo, hi)]
    total = sum(w for _, w in raw)
    return [(j, w / total) for j, w in raw]


def round_half_up(x: Any) -> Any:
    """uint8 results: floor(x + 0.5), saturated to [0, 255] (what fixed-point code does)."""
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)


def pillow_planes(image: Any, out_h: int, out_w: int, out_dtype: Any, native_u8: bool,
                  resample: str) -> Any:  # fmt: skip
    """Pillow's Image.resize with filter ``resample`` (a PIL.Image.Resampling name) on each
    of the N·C planes of an (N, C, H, W) array: its 8-bit path (mode L) where ``native_u8``,
    else its float32 path (mode F), rounded half up once for a uint8 output. The Pillow
    references of the resize suites share it; PIL is imported only when it runs."""
    from PIL import Image

    n, c, h, w = image.shape
    out = np.empty((n * c, out_h, out_w), dtype=out_dtype)
    planes = image.reshape(n * c, h, w)
    method = Image.Resampling[resample]
    for k in range(n * c):
        if native_u8:
            src = Image.fromarray(np.ascontiguousarray(planes[k]))  # uint8: mode L
        else:
            src = Image.fromarray(np.ascontiguousarray(planes[k], dtype=np.float32))  # F
        res = np.asarray(src.resize((out_w, out_h), method))
        out[k] = round_half_up(res) if out_dtype == np.uint8 and not native_u8 else res
    return out.reshape(n, c, out_h, out_w)


def _separable(planes: Any, wy: Any, wx: Any) -> Any:
    """(P, H, W) planes -> (P, out_h, out_w): wy along the rows, then wx along the columns."""
    p, h, w = planes.shape
    rows = (wy @ planes.transpose(1, 0, 2).reshape(h, -1)).reshape(-1, w)  # (out_h·P, W)
    return (rows @ wx.T).reshape(wy.shape[0], p, wx.shape[0]).transpose(1, 0, 2)


def resize_bilinear(image: Any, out_h: int, out_w: int, opts: ResizeOptions) -> Any:
    """Oracle: one sparse weight matrix per axis built from the exact source coordinates,
    applied rows then columns. Floats in float64. uint8 (not antialiased) in exact integer
    arithmetic: the weights times their common denominators Dy, Dx, then the sum V rounds
    half up once, (2V + D) // 2D with D = Dy·Dx, so a .5 tie is a tie."""
    check_resize(image, out_h, out_w)
    x = np.asarray(image)
    n, c, h, w = x.shape
    if x.dtype == np.uint8 and not opts.antialias:
        dy, dx = _denominator(h, out_h, opts), _denominator(w, out_w, opts)
        wy, wx = axis_weights(h, out_h, opts, dy), axis_weights(w, out_w, opts, dx)
        v = _separable(x.astype(np.int64).reshape(n * c, h, w), wy, wx)
        d = dy * dx
        out = np.clip((2 * v + d) // (2 * d), 0, 255).astype(np.uint8)
        return out.reshape(n, c, out_h, out_w)
    wy, wx = axis_weights(h, out_h, opts), axis_weights(w, out_w, opts)
    out = _separable(x.astype(np.float64).reshape(n * c, h, w), wy, wx)
    out = out.reshape(n, c, out_h, out_w)
    if x.dtype == np.uint8:  # antialiased: float64 weights, rounded half up once
        return round_half_up(out)
    return out.astype(x.dtype if x.dtype.kind == "f" else np.float64)


def exact_ties(inputs: Inputs) -> bool:
    """A uint8 image whose exact resized value is a .5 tie under some mapping: a float64
    pipeline (the libraries' 'exact' adapters) may land either side of it."""
    image = np.asarray(inputs["image"])
    if image.dtype != np.uint8 or image.size == 0:
        return False
    n, c, h, w = image.shape
    oh, ow = int(inputs["out_h"]), int(inputs["out_w"])
    planes = image.astype(np.int64).reshape(n * c, h, w)
    for opts in (
        ResizeOptions(),
        ResizeOptions(align_corners=True),
        ResizeOptions(asymmetric=True),
    ):
        dy, dx = _denominator(h, oh, opts), _denominator(w, ow, opts)
        v = _separable(planes, axis_weights(h, oh, opts, dy), axis_weights(w, ow, opts, dx))
        if np.any((2 * v) % (2 * dy * dx) == dy * dx):
            return True
    return False


def float64_image(inputs: Inputs) -> bool:
    """Libraries that resize in float32 (Pillow's mode 'F') are ~1e-8 off on any float64
    image: the same situation as their documented float64 case."""
    return bool(np.asarray(inputs["image"]).dtype == np.float64)


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
    if p.get("pattern") == "extremes" and image.size:  # 0/max checkerboard: saturation
        top = 255 if dtype == np.uint8 else 1.0
        yy, xx = np.indices((h, w))
        image[:] = (((yy + xx) % 2) * top).astype(dtype)[None, :, :, None]
    layout = p.get("layout", "nchw")
    nchw = image.transpose(0, 3, 1, 2)  # a channels-last buffer seen as NCHW
    value = nchw if layout == "channels_last" else np.ascontiguousarray(nchw)
    return {"image": value, "out_h": int(p["oh"]), "out_w": int(p["ow"])}


def _taps_per_axis(n_in: int, n_out: int, antialias: bool) -> float:
    return 2.0 * max(n_in / n_out, 1.0) + 1.0 if antialias else 2.0


def cost(case: Case) -> Cost:
    p = case.params
    n, c, h, w, oh, ow = (int(p[k]) for k in ("n", "c", "h", "w", "oh", "ow"))
    aa = ResizeOptions.build(case.options).antialias
    b = np.dtype(case.dtype).itemsize
    if aa:  # two separable passes of K taps: a multiply and an add each
        ky, kx = _taps_per_axis(h, oh, True), _taps_per_axis(w, ow, True)
        flops = 2.0 * n * c * (oh * w * ky + oh * ow * kx)
    else:  # the spec's ≈ 11 flops per output element (two lerps per axis, weights)
        flops = 11.0 * n * c * oh * ow
    return Cost(
        flops=flops, bytes=b * n * c * (h * w + oh * ow), items=n * c * oh * ow, item_unit="px"
    )


def _reduction(case: Case) -> int:
    p, aa = case.params, ResizeOptions.build(case.options).antialias
    ky = _taps_per_axis(int(p["h"]), int(p["oh"]), aa)
    kx = _taps_per_axis(int(p["w"]), int(p["ow"]), aa)
    return math.ceil(ky * kx)


def tolerance(case: Case) -> Tolerance:
    """uint8: exact, or within 1 grey level for the fixed-point paths (their weights are
    quantised per axis and torch rounds between the passes: |error| <= 0.5 + 0.5 + 0.5, so
    at most 1 from the rounded exact value). Floats: the weighted sum of K = Ky·Kx taps
    (10·sqrt(K)·eps), plus the source coordinate computed in the working precision by the
    libraries (torch float32 forms in/out and (d + 0.5)·scale in float32): an error of a few
    ulps of the coordinate, |x| <= max(in, out), moves the result by that much times the
    step between neighbours, <= 1 for these [0, 1) images: 4·max(in, out)·eps of atol."""
    if case.dtype == "uint8":
        if ResizeOptions.build(case.options).uint8_arithmetic == "fixed_point":
            return Tolerance(0.0, 1.0, "uint8 fixed-point paths: within 1 grey level")
        return Tolerance(0.0, 0.0, "uint8 with float64 weights: compared exactly")
    base = default_tolerance(case.dtype, _reduction(case))
    p = case.params
    extent = max(int(p[k]) for k in ("h", "w", "oh", "ow"))
    eps = 2.0**-24 if case.dtype == "float32" else 2.0**-53
    coord = 4.0 * extent * eps
    return Tolerance(
        base.rtol, base.atol + coord, base.reason + f"; + 4·max(in, out)·eps = {coord:.2g} atol"
    )


COMPARE = Close(reduction=_reduction, override=tolerance)

ALIGN = {"align_corners": True}
ASYM = {"asymmetric": True}
AA = {"antialias": True}
FIXED = {"uint8_arithmetic": "fixed_point"}
F64: dict[str, Any] = {"dtype": "float64"}
U8: dict[str, Any] = {"dtype": "uint8"}

CASES = [
    case("down_f32", n=2, c=3, h=37, w=53, oh=23, ow=31),
    case("up_f32", n=2, c=3, h=13, w=17, oh=31, ow=40),
    case("mixed_f64", n=2, c=3, h=19, w=41, oh=43, ow=22, **F64),
    case("align_corners_f64", n=2, c=3, h=19, w=41, oh=43, ow=22, options=ALIGN, **F64),
    case("align_corners_down_f32", n=1, c=3, h=37, w=53, oh=23, ow=31, options=ALIGN),
    case("asymmetric_f64", n=2, c=3, h=19, w=41, oh=43, ow=22, options=ASYM, **F64),
    case("asymmetric_5_to_3", n=1, c=2, h=5, w=5, oh=3, ow=3, options=ASYM, **F64),
    case("antialias_down_f64", n=2, c=3, h=61, w=47, oh=17, ow=20, options=AA, **F64),
    case("antialias_down_f32", n=1, c=3, h=64, w=80, oh=15, ow=29, options=AA),
    case("antialias_up_f32", n=1, c=2, h=9, w=11, oh=20, ow=27, options=AA),
    case("uint8_up2x", n=2, c=3, h=17, w=23, oh=34, ow=46, **U8),
    case("uint8_down", n=2, c=3, h=40, w=60, oh=27, ow=41, **U8),
    case("uint8_align_corners", n=1, c=3, h=17, w=23, oh=30, ow=19, options=ALIGN, **U8),
    case("uint8_fixed_point", n=2, c=3, h=17, w=23, oh=34, ow=46, options=FIXED, **U8),
    case(
        "uint8_fixed_point_antialias",
        n=1,
        c=3,
        h=60,
        w=44,
        oh=21,
        ow=13,
        options={**FIXED, **AA},
        **U8,
    ),
    # wide rows: past the first block of a tiled or vectorised kernel
    case("multi_block", n=1, c=2, h=6, w=300, oh=9, ow=450),
    edge("empty_batch", n=0, c=3, h=5, w=7, oh=9, ow=11),
    edge("empty_channels", n=2, c=0, h=5, w=7, oh=9, ow=11),
    edge("identity_f32", n=2, c=3, h=11, w=13, oh=11, ow=13),
    edge("identity_uint8", n=1, c=3, h=11, w=13, oh=11, ow=13, **U8),
    edge("one_pixel_in", n=1, c=3, h=1, w=1, oh=5, ow=4, **F64),
    edge("one_pixel_out", n=2, c=3, h=9, w=12, oh=1, ow=1, **F64),
    edge("one_pixel_out_align", n=2, c=3, h=9, w=12, oh=1, ow=1, options=ALIGN, **F64),
    edge("one_row_in_align", n=1, c=2, h=1, w=9, oh=4, ow=13, options=ALIGN, **F64),
    edge("extreme_down", n=1, c=3, h=97, w=131, oh=3, ow=2, **F64),
    edge("extreme_down_antialias", n=1, c=3, h=97, w=131, oh=3, ow=2, options=AA, **F64),
    edge("channels_last", n=2, c=3, h=15, w=21, oh=10, ow=33, layout="channels_last"),
    edge("uint8_extremes", n=1, c=2, h=9, w=14, oh=20, ow=25, pattern="extremes", **U8),
]

ERRORS = [
    error("int16_image", TypeError, r"\bimage\b", n=1, c=2, h=4, w=5, oh=3, ow=3, dtype="int16"),
    error("empty_height", ValueError, r"\bH\b", n=1, c=2, h=0, w=5, oh=3, ow=3),
    error("empty_width", ValueError, r"\bW\b", n=1, c=2, h=4, w=0, oh=3, ow=3),
]

BENCH = {
    "smoke": [bench("bench_small", n=2, c=3, h=64, w=96, oh=43, ow=64)],
    # The spec's standard (16x3x1080x1920 -> 720x1280, 400 MB of float32 input) does not fit
    # the quick profile's 6 s on two cores: a quarter-size 2x3x540x960 -> 360x640 frame
    # batch with the same 1.5x factor stands in for it; the spec's sizes are in "full".
    "quick": [bench("bench_540p", n=2, c=3, h=540, w=960, oh=360, ow=640)],
    "full": [
        bench("bench_1080p_to_720p", n=16, c=3, h=1080, w=1920, oh=720, ow=1280),
        bench("bench_large_4k_to_1080p", n=16, c=3, h=2160, w=3840, oh=1080, ow=1920),
        bench("bench_up2x_512", n=16, c=3, h=512, w=512, oh=1024, ow=1024),
        bench("bench_540p_uint8", n=2, c=3, h=540, w=960, oh=360, ow=640, **U8),
        bench("bench_540p_antialias", n=2, c=3, h=540, w=960, oh=360, ow=640, options=AA),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(shape: tuple[int, ...], seed: int, dtype: str, options: dict[str, Any]) -> Case:
        n, c, h, w, oh, ow = shape
        if dtype == "uint8" and options.get("antialias"):  # no exact-tie rule for the
            options = {}  # normalised float weights: uint8 antialias is fixed_point only
        params = dict(n=n, c=c, h=h, w=w, oh=oh, ow=ow, seed=seed, dtype=dtype)
        return Case("fuzz", params, options, "fuzz")

    mapping = st.sampled_from([{}, ALIGN, ASYM, AA])
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
    algorithm="resize_bilinear",
    family="dense-image-ops",
    summary="Bilinear resize of image (N, C, H, W) to (N, C, out_h, out_w), separable.",
    conventions=(
        "Pixel centres at integers. Default half-pixel mapping src = (dst + 0.5)·in/out − 0.5 "
        "(OpenCV INTER_LINEAR, torch align_corners=False); align_corners=True maps "
        "src = dst·(in − 1)/(out − 1) (0 when out = 1); asymmetric=True maps src = dst·in/out. "
        "Negative source coordinates clamp to 0 and a source on or past the last pixel takes "
        "that pixel (OpenCV, torch). antialias=True (half-pixel only) is torch's and Pillow's "
        "triangle filter widened by the scale on downscale, normalised; on upscale it equals "
        "plain bilinear. Sizes are given (out_h, out_w >= 1), never rounded from a scale. "
        "Float images keep their dtype; uint8 stays uint8: with uint8_arithmetic='exact' the "
        "exact rational result rounds half up once (compared exactly; a .5 tie is a tie), "
        "with 'fixed_point' a library's integer pipeline (OpenCV's 11-bit weights, torch's two "
        "rounded passes) must be within 1 grey level; antialiased uint8 uses float64 weights "
        "and is verified under 'fixed_point' only (normalised weights leave no exact tie "
        "rule). Other integer dtypes raise TypeError; H = 0 or W = 0 raises ValueError. "
        "Non-finite pixels are not compared (a zero-weight tap may or may not carry a NaN). "
        "Must raise: out_h or out_w <= 0 (ValueError naming it), an "
        "unknown or conflicting mapping (the options record refuses it)."
    ),
    args=ARGS,
    options=ResizeOptions,
    make_inputs=make_inputs,
    oracle=resize_bilinear,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 11, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_540p",
    multi_block={"W": 300},
    fuzz=fuzz_strategy,
    divergent_inputs={
        "uint8_down": exact_ties,
        "uint8_extremes": exact_ties,
        "antialias_down_f64": float64_image,
    },
    invalid_options=[
        {"align_corners": True, "asymmetric": True},
        {"antialias": True, "align_corners": True},
        {"antialias": True, "asymmetric": True},
    ],
    reference="cv2.resize INTER_LINEAR; torch F.interpolate bilinear (align_corners, antialias)",
)

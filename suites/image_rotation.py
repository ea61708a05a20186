"""Suite for image_rotation: rotate an (N, C, H, W) image batch about a centre, inverse-mapped."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance
from suites.bilinear_sample import SampleOptions, bilinear_sample


@dataclass(frozen=True)
class RotationOptions(Options):
    interpolation: str = option(
        "bilinear",
        "nearest",
        meaning="bilinear (four taps, a tap outside the image contributes 0) or nearest "
        "(the source coordinate rounded half to even, 0 outside; torchvision "
        "RandomRotation's default)",
    )
    centre: str = option(
        "pixel_centre",
        "half_size",
        meaning="rotation centre ((W − 1)/2, (H − 1)/2), the image's true centre with pixel "
        "centres at integers (torchvision, scipy), or (W/2, H/2) (a common OpenCV call)",
    )
    expand: str = option(
        "none",
        "floor_ceil",
        "round",
        meaning="none: same canvas; floor_ceil: the rotated corners' box, its origin at the "
        "floor of the minimum corner and its end at the ceiling of the maximum, in edge "
        "coordinates truncated to 1e-4 (torchvision expand=True); round: the extent rounded "
        "half up, centred on the rotated image centre (scipy.ndimage.rotate reshape=True)",
    )


ARGS = Args(
    Arg("image", ("N", "C", "H", "W"), "float"),
    # degrees; bounded so that inf is refused (a float64 angle keeps 1e-10 degrees there)
    Scalar("angle", "real", low=-1e6, high=1e6),
    nonempty=("H", "W"),  # nothing to sample from an empty image
)


def cos_sin(angle: float) -> tuple[float, float]:
    """cos and sin of an angle in degrees, exact at multiples of 90 (so 90° is a transpose
    and a 90° canvas does not grow by one pixel from a 6e-17 cosine)."""
    a = math.fmod(float(angle), 360.0)
    a = a + 360.0 if a < 0 else a
    exact = {0.0: (1.0, 0.0), 90.0: (0.0, 1.0), 180.0: (-1.0, 0.0), 270.0: (0.0, -1.0)}
    if a in exact:
        return exact[a]
    r = math.radians(a)
    return math.cos(r), math.sin(r)


def _snap(v: float) -> float:
    """torchvision's precision cut before floor/ceil: truncate toward zero at 1e-4."""
    return math.trunc(v / 1e-4) * 1e-4


def geometry(h: int, w: int, angle: float, opts: RotationOptions) -> tuple[int, int, Any]:
    """(out_h, out_w, (ax, bx, cx, ay, by, cy)): output pixel (row r, col q) samples the
    source at x = ax·q + bx·r + cx, y = ay·q + by·r + cy (pixel centres at integers).

    Forward map (OpenCV getRotationMatrix2D, y down, positive = counter-clockwise on
    screen): x' = cos·(x − cx) + sin·(y − cy) + cx, y' = −sin·(x − cx) + cos·(y − cy) + cy;
    the oracle inverts it exactly. The output pixel (r, q) sits at (q + ox, r + oy) of the
    rotated frame, (ox, oy) = (0, 0) without expand."""
    c, s = cos_sin(angle)
    if opts.centre == "pixel_centre":
        px, py = (w - 1) / 2.0, (h - 1) / 2.0
    else:
        px, py = w / 2.0, h / 2.0
    ox = oy = 0.0
    out_h, out_w = h, w
    if opts.expand != "none":
        corners = [(-0.5, -0.5), (w - 0.5, -0.5), (-0.5, h - 0.5), (w - 0.5, h - 0.5)]
        xs = [c * (x - px) + s * (y - py) + px for x, y in corners]
        ys = [-s * (x - px) + c * (y - py) + py for x, y in corners]
        if opts.expand == "floor_ceil":  # in edge coordinates (pixel j covers [j, j + 1])
            lo_x, lo_y = math.floor(_snap(min(xs) + 0.5)), math.floor(_snap(min(ys) + 0.5))
            out_w = math.ceil(_snap(max(xs) + 0.5)) - lo_x
            out_h = math.ceil(_snap(max(ys) + 0.5)) - lo_y
            ox, oy = float(lo_x), float(lo_y)
        else:  # round: the extent rounded half up, centred on the rotated image centre
            out_w, out_h = int(max(xs) - min(xs) + 0.5), int(max(ys) - min(ys) + 0.5)
            mx, my = (w - 1) / 2.0 - px, (h - 1) / 2.0 - py
            ox = c * mx + s * my + px - (out_w - 1) / 2.0
            oy = -s * mx + c * my + py - (out_h - 1) / 2.0
    # inverse: x = cos·(x' − px) − sin·(y' − py) + px, y = sin·(x' − px) + cos·(y' − py) + py
    dx0, dy0 = ox - px, oy - py
    coeffs = (c, -s, c * dx0 - s * dy0 + px, s, c, s * dx0 + c * dy0 + py)
    return out_h, out_w, coeffs


def source_grid(h: int, w: int, angle: float, opts: RotationOptions) -> tuple[Any, Any]:
    """The float64 (rows, cols) source coordinates of every output pixel, (out_h, out_w)."""
    out_h, out_w, (ax, bx, cx, ay, by, cy) = geometry(h, w, angle, opts)
    r, q = np.mgrid[0:out_h, 0:out_w].astype(np.float64)
    return ay * q + by * r + cy, ax * q + bx * r + cx


def nearest_gather(img: Any, ys: Any, xs: Any) -> Any:
    """img (N, C, H, W) at rounded (ys, xs), 0 outside; ys/xs may be integer-valued."""
    h, w = img.shape[2:]
    i, j = np.rint(ys).astype(np.int64), np.rint(xs).astype(np.int64)  # half to even
    inside = (i >= 0) & (i < h) & (j >= 0) & (j < w)
    vals = img[:, :, np.clip(i, 0, h - 1), np.clip(j, 0, w - 1)]
    return np.where(inside, vals, 0.0)


def image_rotation(image: Any, angle: float, opts: RotationOptions) -> Any:
    """Oracle: the inverse affine grid in float64 (geometry), then bilinear_sample's float64
    oracle (zero padding) at it, or the nearest pixel (round half to even, 0 outside)."""
    dtype = ARGS.check(image, angle)
    img = np.asarray(image, dtype=np.float64)
    n, _, h, w = img.shape
    ys, xs = source_grid(h, w, angle, opts)
    if opts.interpolation == "nearest":
        out = nearest_gather(img, ys, xs)
    else:
        coords = np.broadcast_to(np.stack([ys, xs], axis=-1), (n, *ys.shape, 2))
        out = bilinear_sample(img, coords, SampleOptions())
    return out.astype(np.dtype(str(dtype)))


def float64_image(inputs: Inputs) -> bool:
    """OpenCV's warpAffine quantises sub-pixel positions of float64 images (its documented
    divergence): a fuzz case of a float64 image is the same situation."""
    return bool(np.asarray(inputs["image"]).dtype == np.float64)


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    n, c, h, w = (int(p[k]) for k in ("n", "c", "h", "w"))
    # image-like values in [0, 1): the coordinate term of the float32 atol is scaled to it
    image = rng.random((n, c, h, w)).astype(np.dtype(case.dtype))
    angle = p["angle"]
    return {"image": image, "angle": float(angle) if isinstance(angle, str) else angle}


def _out_size(case: Case) -> tuple[int, int]:
    p = case.params
    opts = RotationOptions.build(case.options)
    out_h, out_w, _ = geometry(int(p["h"]), int(p["w"]), float(p["angle"]), opts)
    return out_h, out_w


def cost(case: Case) -> Cost:
    p = case.params
    n, c, h, w = (int(p[k]) for k in ("n", "c", "h", "w"))
    out_h, out_w = _out_size(case) if math.isfinite(float(p["angle"])) else (h, w)
    out = n * c * out_h * out_w
    b = np.dtype(case.dtype).itemsize
    # the spec: ≈ 15 flops per output pixel per channel; bytes: input and output once
    return Cost(flops=15.0 * out, bytes=b * (n * c * h * w + out), items=out, item_unit="px")


def _coordinate_error(case: Case) -> float:
    """A bound on the source coordinate's rounding error in the case's dtype: the grid
    reaches |x| <= 1.5·max(H, W) and is formed from cos, sin and a few products and sums
    (torch's affine_grid adds a normalisation round trip): 16 ulps of that extent."""
    extent = 1.5 * max(int(case.params["h"]), int(case.params["w"])) + 2.0
    eps = 2.0**-24 if case.dtype == "float32" else 2.0**-53
    return 16.0 * extent * eps


def tolerance(case: Case) -> Tolerance:
    """Bilinear: four taps (K = 4), plus the coordinate error times the step between
    neighbours (<= 1 for these [0, 1) images). Nearest copies pixels: exact, except that a
    coordinate within the coordinate error of a rounding boundary may take either pixel
    (RotationClose decides those)."""
    if RotationOptions.build(case.options).interpolation == "nearest":
        return Tolerance(0.0, 0.0, "nearest copies pixels: exact (either pixel at a tie)")
    base = default_tolerance(case.dtype, 4)
    coord = _coordinate_error(case)
    return Tolerance(
        base.rtol, base.atol + coord, base.reason + f"; + 16·1.5·max(H, W)·eps = {coord:.2g}"
    )


class RotationClose(Close):
    """Close; for nearest, an output whose source row or column lies within the coordinate
    error of a half-integer (a rounding boundary, or the edge of the image) may hold the
    pixel on either side (or 0 past the edge): the oracle's value there is replaced by the
    candidate the implementation chose, when it chose one."""

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Any:
        opts = RotationOptions.build(case.options)
        a, e = np.asarray(actual), np.asarray(expected)
        if opts.interpolation == "nearest" and a.shape == e.shape and e.size:
            e = e.copy()
            img = np.asarray(inputs["image"], dtype=np.float64)
            ys, xs = source_grid(img.shape[2], img.shape[3], float(inputs["angle"]), opts)
            delta = _coordinate_error(case) + 1e-9
            alts = []
            for t in (ys, xs):
                frac = t - np.floor(t)
                near = np.abs(frac - 0.5) <= delta
                alts.append((np.rint(t), np.where(near, np.where(np.rint(t) == np.floor(t),
                            np.floor(t) + 1, np.floor(t)), np.rint(t))))  # fmt: skip
            hit = np.zeros(e.shape, dtype=bool)
            for yy in alts[0]:
                for xx in alts[1]:
                    cand = nearest_gather(img, yy, xx)
                    hit |= np.asarray(a, dtype=np.float64) == cand
            e = np.where(hit, a, e)
        return super().__call__(a, e, inputs, case, tol)


COMPARE = RotationClose(override=tolerance)

F64: dict[str, Any] = {"dtype": "float64"}
NEAREST = {"interpolation": "nearest"}
HALF = {"centre": "half_size"}
FLOOR_CEIL = {"expand": "floor_ceil"}
ROUND = {"expand": "round"}

CASES = [
    case("rotate_30_f32", n=2, c=3, h=23, w=31, angle=30.0),
    case("rotate_30_f64", n=2, c=3, h=23, w=31, angle=30.0, **F64),
    case("rotate_neg_17_f32", n=1, c=2, h=26, w=19, angle=-17.5),
    case("half_size_f64", n=1, c=3, h=20, w=27, angle=41.0, options=HALF, **F64),
    case("nearest_f32", n=2, c=2, h=21, w=28, angle=33.0, options=NEAREST),
    case("nearest_f64", n=1, c=3, h=18, w=25, angle=-71.0, options=NEAREST, **F64),
    case("expand_floor_ceil_f64", n=1, c=3, h=19, w=28, angle=30.0, options=FLOOR_CEIL, **F64),
    case("expand_floor_ceil_f32", n=2, c=2, h=24, w=17, angle=-130.0, options=FLOOR_CEIL),
    case("expand_round_f64", n=1, c=3, h=19, w=28, angle=30.0, options=ROUND, **F64),
    case(
        "expand_half_size_f64",
        n=1,
        c=2,
        h=16,
        w=23,
        angle=60.0,
        options={**FLOOR_CEIL, **HALF},
        **F64,
    ),
    case("expand_nearest_f32", n=1, c=2, h=15, w=22, angle=75.0, options={**FLOOR_CEIL, **NEAREST}),
    # wide rows: past the first block of a tiled or vectorised kernel
    case("multi_block", n=1, c=2, h=6, w=300, angle=0.5),
    edge("empty_batch", n=0, c=3, h=5, w=7, angle=30.0),
    edge("empty_channels", n=2, c=0, h=5, w=7, angle=30.0),
    edge("angle_0", n=1, c=2, h=9, w=12, angle=0.0, **F64),
    edge("angle_360", n=1, c=2, h=9, w=12, angle=360.0, **F64),
    edge("angle_90_square", n=1, c=2, h=10, w=10, angle=90.0, **F64),
    edge("angle_90_odd_expand", n=1, c=2, h=9, w=13, angle=90.0, options=FLOOR_CEIL, **F64),
    edge(
        "angle_90_mixed_parity_expand", n=1, c=2, h=8, w=13, angle=90.0, options=FLOOR_CEIL, **F64
    ),
    edge("angle_180", n=1, c=2, h=9, w=12, angle=180.0, **F64),
    edge("angle_270_expand", n=1, c=2, h=10, w=14, angle=270.0, options=FLOOR_CEIL, **F64),
    edge("angle_45_odd", n=1, c=2, h=11, w=11, angle=45.0, **F64),
    edge("angle_45_even_expand", n=1, c=2, h=12, w=12, angle=45.0, options=FLOOR_CEIL, **F64),
    edge("one_row", n=1, c=2, h=1, w=17, angle=20.0, **F64),
    edge("one_row_expand", n=1, c=2, h=1, w=17, angle=20.0, options=FLOOR_CEIL, **F64),
    edge("negative_angle", n=1, c=2, h=13, w=16, angle=-250.0, **F64),
    edge("angle_above_360", n=1, c=2, h=13, w=16, angle=750.0, options=ROUND, **F64),
]

ERRORS = [
    error("infinite_angle", ValueError, r"\bangle\b", n=1, c=2, h=5, w=6, angle="inf"),
    error("nan_angle", ValueError, r"\bangle\b", n=1, c=2, h=5, w=6, angle="nan"),
    error("empty_height", ValueError, r"\bH\b", n=1, c=2, h=0, w=6, angle=10.0),
]

BENCH = {
    "smoke": [bench("bench_small", n=2, c=3, h=64, w=96, angle=30.0)],
    # The spec's standard (16x3x512x512 at 30°, 50 MB of float32 in and out) is over the
    # quick profile's 6 s on two cores with the float64 oracle and seven implementations;
    # 4x3x512x512 keeps the image size (the per-image gather pattern) and is in quick.
    "quick": [bench("bench_4x512", n=4, c=3, h=512, w=512, angle=30.0)],
    "full": [
        bench("bench_16x512", n=16, c=3, h=512, w=512, angle=30.0),
        bench("bench_16x512_expand", n=16, c=3, h=512, w=512, angle=30.0, options=FLOOR_CEIL),
        bench("bench_16x2048", n=16, c=3, h=2048, w=2048, angle=30.0),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(
        shape: tuple[int, ...], seed: int, dtype: str, opts: dict[str, Any], angle: float
    ) -> Case:
        n, c, h, w = shape
        params = dict(n=n, c=c, h=h, w=w, seed=seed, dtype=dtype, angle=angle)
        return Case("fuzz", params, opts, "fuzz")

    sizes = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 24),
                      st.integers(1, 24))  # fmt: skip
    angles = st.one_of(
        st.sampled_from([0.0, 90.0, 180.0, 270.0, -90.0, 360.0, 45.0]),
        st.floats(-720.0, 720.0, allow_nan=False),
    )
    return st.builds(
        build,
        sizes,
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        RotationOptions.strategy(),
        angles,
    )


SUITE = Suite(
    algorithm="image_rotation",
    family="dense-image-ops",
    summary="Rotate image (N, C, H, W) by angle degrees about its centre (inverse map, "
    "zero fill) -> (N, C, H', W').",
    conventions=(
        "Pixel centres at integers. Positive angle = counter-clockwise on screen with y down "
        "(OpenCV getRotationMatrix2D, torchvision rotate, scipy.ndimage.rotate). Inverse map: "
        "output pixel (row r, col q) at (x', y') = (q + ox, r + oy) samples the source at "
        "x = cos·(x' − px) − sin·(y' − py) + px, y = sin·(x' − px) + cos·(y' − py) + py; cos "
        "and sin are exact at multiples of 90°. centre='pixel_centre' rotates about "
        "((W − 1)/2, (H − 1)/2), 'half_size' about (W/2, H/2). expand='none' keeps H×W and "
        "(ox, oy) = 0; 'floor_ceil' (torchvision expand=True) takes the box of the rotated "
        "corners of [−0.5, W − 0.5]×[−0.5, H − 0.5] in edge coordinates (+0.5), truncated "
        "toward zero at 1e-4, origin floor(min), end ceil(max): so a 90° turn of an image "
        "whose H and W differ in parity keeps each axis' parity (W×H 13×8 -> 9×14, not a "
        "transpose; the oracle matches torchvision rotate(expand=True) to 1e-14); 'round' "
        "(scipy reshape=True) sizes the canvas int(extent + 0.5) and "
        "centres it on the rotated image centre. bilinear: a tap outside the image "
        "contributes 0 (grid_sample zeros, scipy grid-constant, OpenCV BORDER_CONSTANT 0); "
        "nearest rounds half to even (grid_sample), 0 outside; a coordinate within rounding "
        "error of a half-integer may take either pixel. Float images keep their dtype. "
        "Must raise: a non-finite angle or |angle| > 1e6 (ValueError naming angle), an "
        "unknown interpolation, centre or expand (the options record refuses it), H or W = 0."
    ),
    args=ARGS,
    options=RotationOptions,
    make_inputs=make_inputs,
    oracle=image_rotation,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 19, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_4x512",
    multi_block={"W": 300},
    fuzz=fuzz_strategy,
    divergent_inputs={"rotate_30_f64": float64_image},
    reference="scipy.ndimage.map_coordinates on the inverse affine grid; "
    "scipy.ndimage.rotate (reshape); cv2.warpAffine (float32); F.affine_grid + F.grid_sample",
)

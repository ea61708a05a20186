"""Suite for bilinear_sample: bilinear sampling of an (N, C, H, W) image at pixel coordinates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class SampleOptions(Options):
    padding_mode: str = option(
        "zeros",
        "border",
        "reflection",
        meaning="out-of-range taps: zeros (each contributes 0), border (coordinates clamped "
        "to [0, n − 1]) or reflection (coordinates reflected, then clamped)",
    )
    align_corners: bool = option(
        False,
        True,
        meaning="grid_sample's flag: the normalised grid maps −1/1 to the pixel centres 0 and "
        "n − 1 (True) or edges −0.5, n − 0.5 (False); in these pixel-unit coordinates it "
        "only moves the reflection axes to the centres (True) or the edges (False)",
    )


ARGS = Args(
    Arg("image", ("N", "C", "H", "W"), "real"),
    Arg("coords", ("N", "Ho", "Wo", 2), "float"),
    nonempty=("H", "W"),  # nothing to sample from an empty image
)


def reflect(t: Any, n: int, align_corners: bool) -> Any:
    """Fold coordinates into range by reflection: about the pixel centres 0 and n − 1
    (align_corners) or the pixel edges −0.5 and n − 0.5, then clamp to [0, n − 1]."""
    lo, hi = (0.0, n - 1.0) if align_corners else (-0.5, n - 0.5)
    span = hi - lo
    if span <= 0:
        return np.zeros_like(t)
    d = np.abs(t - lo)
    flips = np.floor(d / span)
    extra = np.fmod(d, span)
    folded = np.where(flips % 2 == 0, lo + extra, hi - extra)
    return np.clip(folded, 0.0, n - 1.0)


def source_coordinate(t: Any, n: int, opts: SampleOptions) -> Any:
    """The coordinate sampled along an axis of size n after the padding rule."""
    if opts.padding_mode == "border":
        return np.clip(t, 0.0, n - 1.0)
    if opts.padding_mode == "reflection":
        return reflect(t, n, opts.align_corners)
    return t


def bilinear_sample(image: Any, coords: Any, opts: SampleOptions) -> Any:
    """Oracle: float64; per sample i = floor(y), j = floor(x), four taps weighted
    (1 − v)(1 − u), (1 − v)u, v(1 − u), vu; a tap outside the image contributes 0. A NaN
    coordinate gives NaN."""
    dtype = ARGS.check(image, coords)
    img = np.asarray(image, dtype=np.float64)
    c64 = np.asarray(coords, dtype=np.float64)
    n, c, h, w = img.shape
    y = source_coordinate(c64[..., 0], h, opts)  # (N, Ho, Wo)
    x = source_coordinate(c64[..., 1], w, opts)
    finite = np.isfinite(y) & np.isfinite(x)
    y0 = np.floor(np.where(finite, y, 0.0))
    x0 = np.floor(np.where(finite, x, 0.0))
    v, u = y - y0, x - x0
    out = np.zeros((n, c, *y.shape[1:]))
    batch = np.arange(n)[:, None, None]
    for dy, wy in ((0, 1.0 - v), (1, v)):
        for dx, wx in ((0, 1.0 - u), (1, u)):
            rows, cols = y0.astype(np.int64) + dy, x0.astype(np.int64) + dx
            inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
            pix = img[batch, :, np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)]  # N,Ho,Wo,C
            weight = np.where(inside, wy * wx, 0.0)
            out += np.moveaxis(pix * weight[..., None], -1, 1)
    out = np.where(finite[:, None], out, np.nan)
    return out.astype(np.dtype(str(dtype)))


def float64_image(inputs: Inputs) -> bool:
    """OpenCV's remap quantises sub-pixel positions of float64 images (its documented
    divergence): a fuzz case with a float64 image or output is the same situation."""
    return any(np.asarray(inputs[k]).dtype == np.float64 for k in ("image", "coords"))


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    n, c, h, w, ho, wo = (int(p[k]) for k in ("n", "c", "h", "w", "ho", "wo"))
    dtype = np.dtype(case.dtype)
    image_dtype = np.dtype(p.get("image_dtype", case.dtype))
    if image_dtype.kind in "iu":
        image = rng.integers(0, 256, size=(n, c, h, w)).astype(image_dtype)
    else:  # image-like values in [0, 1): the float32 atol below is scaled to this range
        image = rng.random((n, c, h, w)).astype(image_dtype)
    pad = float(p.get("pad", 2.0))  # samples reach this far outside the image
    coords = np.stack(
        [rng.uniform(-pad, h - 1 + pad, (n, ho, wo)), rng.uniform(-pad, w - 1 + pad, (n, ho, wo))],
        axis=-1,
    )
    pattern = p.get("pattern", "random")
    if pattern == "grid_points" and coords.size:  # integer coordinates, edges included
        coords = np.round(coords)
        coords[:, 0, 0] = (h - 1, w - 1)  # the last row and column: i + 1 is out of range
        coords[:, -1, -1] = (h - 1, 0)
    elif pattern == "nonfinite" and coords.size:
        coords[0, 0, :3, 0] = (np.nan, 1.0, np.nan)
        coords[0, 0, :3, 1] = (1.0, np.nan, np.nan)
    return {"image": image, "coords": coords.astype(dtype)}


def cost(case: Case) -> Cost:
    p = case.params
    n, c, h, w, ho, wo = (int(p[k]) for k in ("n", "c", "h", "w", "ho", "wo"))
    b = np.dtype(case.dtype).itemsize
    samples = n * ho * wo
    # the spec: 4 gathers + 8 flops per sample per channel (plus the per-sample weights);
    # bytes: at most 4 taps per sample per channel, the coordinates, the output
    return Cost(
        flops=8.0 * samples * c + 10.0 * samples,
        bytes=b * (min(4 * samples, h * w * n) * c + 2 * samples + samples * c),
        items=samples * c,
        item_unit="samples",
    )


def tolerance(case: Case) -> Tolerance:
    """Four taps (K = 4). The fraction u = x − floor(x) of a float32 coordinate |x| <=
    max(H, W) + pad carries a few ulps of x, and grid_sample's normalisation round trip
    (x → (2x + 1)/W − 1 → back) a few more: that moves the result by the error times the
    step between neighbours, <= 1 for these [0, 1) images (255 for integer images)."""
    base = default_tolerance(case.dtype, 4)
    p = case.params
    extent = max(int(p["h"]), int(p["w"])) + float(p.get("pad", 2.0))
    eps = 2.0**-24 if case.dtype == "float32" else 2.0**-53
    step = 255.0 if np.dtype(p.get("image_dtype", case.dtype)).kind in "iu" else 1.0
    coord = 8.0 * extent * eps * step
    return Tolerance(
        base.rtol,
        base.atol * step + coord,
        base.reason + f"; + 8·extent·eps·step = {coord:.2g} atol (coordinate rounding)",
    )


COMPARE = Close(reduction=lambda case: 4, override=tolerance)

F64: dict[str, Any] = {"dtype": "float64"}
BORDER = {"padding_mode": "border"}
REFLECT = {"padding_mode": "reflection"}
REFLECT_AC = {"padding_mode": "reflection", "align_corners": True}
ZEROS_AC = {"align_corners": True}

CASES = [
    case("zeros_f32", n=2, c=3, h=13, w=17, ho=9, wo=11),
    case("zeros_f64", n=2, c=3, h=13, w=17, ho=9, wo=11, **F64),
    case("border_f64", n=2, c=3, h=13, w=17, ho=9, wo=11, options=BORDER, **F64),
    case("reflection_f64", n=2, c=3, h=13, w=17, ho=9, wo=11, pad=40.0, options=REFLECT, **F64),
    case(
        "reflection_align_f64",
        n=2,
        c=3,
        h=13,
        w=17,
        ho=9,
        wo=11,
        pad=40.0,
        options=REFLECT_AC,
        **F64,
    ),
    case("reflection_f32", n=1, c=2, h=12, w=7, ho=10, wo=14, pad=30.0, options=REFLECT),
    case("zeros_align_f32", n=2, c=3, h=13, w=17, ho=9, wo=11, options=ZEROS_AC),
    case("border_align_f32", n=1, c=3, h=10, w=15, ho=8, wo=6, options={**BORDER, **ZEROS_AC}),
    case("grid_points_zeros_f64", n=2, c=2, h=6, w=9, ho=7, wo=8, pattern="grid_points", **F64),
    case(
        "grid_points_border_f64",
        n=2,
        c=2,
        h=6,
        w=9,
        ho=7,
        wo=8,
        pattern="grid_points",
        options=BORDER,
        **F64,
    ),
    case("uint8_image", n=2, c=3, h=11, w=14, ho=6, wo=9, image_dtype="uint8"),
    case("multi_block", n=1, c=2, h=8, w=9, ho=3, wo=300),
    edge("empty_batch", n=0, c=3, h=5, w=7, ho=4, wo=6),
    edge("empty_channels", n=3, c=0, h=5, w=7, ho=4, wo=6),
    edge("empty_grid_rows", n=3, c=1, h=5, w=7, ho=0, wo=6),
    edge("empty_grid_cols", n=3, c=1, h=5, w=7, ho=4, wo=0),
    edge("one_pixel_zeros", n=1, c=2, h=1, w=1, ho=5, wo=4, pad=1.0, **F64),
    edge("one_pixel_reflection", n=1, c=2, h=1, w=1, ho=5, wo=4, options=REFLECT_AC, **F64),
    edge("far_outside_zeros", n=1, c=2, h=6, w=5, ho=4, wo=7, pad=50.0, **F64),
    edge("nonfinite_coords", n=1, c=2, h=6, w=5, ho=3, wo=4, pattern="nonfinite", **F64),
]

ERRORS = [
    error("empty_height", ValueError, r"\bH\b", n=1, c=2, h=0, w=5, ho=3, wo=4),
]

BENCH = {
    "smoke": [bench("bench_small", n=2, c=3, h=64, w=64, ho=48, wo=48)],
    # The spec's standard (16x3x512x512 with 512x512 samples per image) is 200 MB of
    # traffic: too slow for the quick profile's 6 s on two cores with the oracle and seven
    # implementations; 2x3x256x256 with 256x256 samples stands in, the spec's size is in full.
    "quick": [bench("bench_256", n=2, c=3, h=256, w=256, ho=256, wo=256)],
    "full": [
        bench("bench_512", n=16, c=3, h=512, w=512, ho=512, wo=512),
        bench("bench_large_2048", n=16, c=3, h=2048, w=2048, ho=2048, wo=2048),
        bench("bench_256_reflection", n=2, c=3, h=256, w=256, ho=256, wo=256, options=REFLECT),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(
        shape: tuple[int, ...], seed: int, dtype: str, opts: dict[str, Any], pad: float
    ) -> Case:
        n, c, h, w, ho, wo = shape
        params = dict(n=n, c=c, h=h, w=w, ho=ho, wo=wo, seed=seed, dtype=dtype, pad=pad)
        return Case("fuzz", params, opts, "fuzz")

    sizes = st.tuples(
        *(st.integers(1, 3) for _ in range(2)), *(st.integers(1, 20) for _ in range(4))
    )
    return st.builds(
        build,
        sizes,
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        SampleOptions.strategy(),
        st.sampled_from([0.0, 2.0, 30.0]),
    )


SUITE = Suite(
    algorithm="bilinear_sample",
    family="dense-image-ops",
    summary="Bilinear samples of image (N, C, H, W) at coords (N, Ho, Wo, 2) (row, col) in "
    "pixel units -> (N, C, Ho, Wo).",
    conventions=(
        "coords[..., 0] is the row y, coords[..., 1] the column x, in pixels with pixel "
        "centres at integers (grid_sample's normalised (x, y) are an adapter's business). "
        "i = floor(y), v = y − i (same for x); the four taps are weighted (1 − v)(1 − u), "
        "(1 − v)u, v(1 − u), vu. padding_mode='zeros': a tap outside the image contributes 0 "
        "(grid_sample zeros, scipy 'grid-constant'; scipy 'constant' differs near the edge); "
        "'border': y is clamped to [0, H − 1] first (scipy 'nearest'); 'reflection': y is "
        "reflected about the pixel edges −0.5, H − 0.5 (align_corners=False, scipy 'reflect') "
        "or the centres 0, H − 1 (align_corners=True, scipy 'mirror'), then clamped. A sample "
        "at exactly H − 1 returns that row (its missing neighbour has weight 0). A NaN "
        "coordinate gives NaN (all modes); infinite coordinates and non-finite pixels are "
        "not compared (a zero-weight tap may or may not carry them). The output dtype "
        "is the common float dtype of image and coords (integer images give float output). "
        "Must raise: an unknown padding mode (the options record refuses it), H = 0 or W = 0."
    ),
    args=ARGS,
    options=SampleOptions,
    make_inputs=make_inputs,
    oracle=bilinear_sample,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 17, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_256",
    multi_block={"Wo": 300},
    fuzz=fuzz_strategy,
    divergent_inputs={"zeros_f64": float64_image},
    reference="torch F.grid_sample (bilinear, all padding modes, both align_corners); "
    "scipy.ndimage.map_coordinates(order=1); cv2.remap(INTER_LINEAR) (float32 images: exact "
    "to 1e-7; float64 ones: positions quantised to 1/32 pixel)",
)

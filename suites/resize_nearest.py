"""Suite for resize_nearest: nearest-neighbour resize of an (N, C, H, W) image batch."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.cases import bench, case, edge, error
from harness.comparators import Close
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance
from suites.resize_bilinear import ARGS, check_resize
from suites.resize_bilinear import make_inputs as _bilinear_inputs


@dataclass(frozen=True)
class NearestOptions(Options):
    nearest_mode: str = option(
        "legacy",
        "exact",
        meaning="legacy: src = floor(dst·in/out) (OpenCV INTER_NEAREST, torch 'nearest'); "
        "exact: src = floor((dst + 0.5)·in/out) (INTER_NEAREST_EXACT, torch 'nearest-exact')",
    )


def source_index(dst: int, n_in: int, n_out: int, opts: NearestOptions) -> int:
    """The source pixel of destination index ``dst``, in exact integer arithmetic."""
    if opts.nearest_mode == "legacy":
        src = dst * n_in // n_out
    else:
        src = (2 * dst + 1) * n_in // (2 * n_out)
    return min(src, n_in - 1)


def resize_nearest(image: Any, out_h: int, out_w: int, opts: NearestOptions) -> Any:
    """Oracle: each output pixel copies the input pixel at (source_index(row),
    source_index(col)); the indices are exact integer floors, so no rounding is involved."""
    check_resize(image, out_h, out_w)
    x = np.asarray(image)
    h, w = x.shape[2:]
    rows = [source_index(d, h, out_h, opts) for d in range(out_h)]
    cols = [source_index(d, w, out_w, opts) for d in range(out_w)]
    return x[:, :, rows, :][:, :, :, cols]


def boundary_hits(inputs: Inputs) -> bool:
    """Some destination index maps exactly onto a source pixel boundary (dst·in/out or
    (dst + 0.5)·in/out an integer, dst > 0) while in/out is not a binary fraction: a library
    that forms that product in floating point may land just below and pick the pixel
    before. (With a binary-fraction ratio the product is exact.)"""
    h, w = np.asarray(inputs["image"]).shape[2:]
    for n_in, n_out in ((h, int(inputs["out_h"])), (w, int(inputs["out_w"]))):
        q = n_out // math.gcd(n_in, n_out)  # the reduced denominator of in/out
        if q & (q - 1) == 0:
            continue
        d = np.arange(1, n_out)
        if np.any(d * n_in % n_out == 0) or np.any((2 * d + 1) * n_in % (2 * n_out) == 0):
            return True
    return False


def make_inputs(case: Case) -> Inputs:
    inputs = _bilinear_inputs(case)
    if case.params.get("pattern") == "nonfinite" and inputs["image"].size:
        image = inputs["image"].copy()
        image[0, 0, 0, :3] = (np.nan, np.inf, -np.inf)  # copied, never mixed
        inputs["image"] = image
    return inputs


def cost(case: Case) -> Cost:
    p = case.params
    n, c, h, w, oh, ow = (int(p[k]) for k in ("n", "c", "h", "w", "oh", "ow"))
    b = np.dtype(case.dtype).itemsize
    out = n * c * oh * ow
    # a pure gather: no arithmetic on values (one address computation per output counted),
    # every output written once and at most min(input, output) pixels read
    return Cost(flops=float(out), bytes=b * (min(n * c * h * w, out) + out), items=out,
                item_unit="px")  # fmt: skip


def _exact(case: Case) -> Tolerance:
    return Tolerance(0.0, 0.0, "a gather copies values: compared exactly (NaN where NaN)")


COMPARE = Close(override=_exact)

EXACT = {"nearest_mode": "exact"}
F64: dict[str, Any] = {"dtype": "float64"}
U8: dict[str, Any] = {"dtype": "uint8"}

CASES = [
    case("down_f32", n=2, c=3, h=37, w=53, oh=23, ow=31),
    case("down_exact_f32", n=2, c=3, h=37, w=53, oh=23, ow=31, options=EXACT),
    case("up_f32", n=2, c=3, h=13, w=17, oh=31, ow=40),
    case("up_exact_f32", n=2, c=3, h=13, w=17, oh=31, ow=40, options=EXACT),
    case("mixed_f64", n=2, c=3, h=19, w=41, oh=43, ow=22, **F64),
    case("mixed_exact_f64", n=2, c=3, h=19, w=41, oh=43, ow=22, options=EXACT, **F64),
    # integer factors: 2x down (legacy takes even pixels, exact odd ones), 3x up (they agree)
    case("integer_down_2x", n=1, c=3, h=30, w=44, oh=15, ow=22, **U8),
    case("integer_down_2x_exact", n=1, c=3, h=30, w=44, oh=15, ow=22, options=EXACT, **U8),
    case("integer_up_3x_exact", n=1, c=2, h=7, w=9, oh=21, ow=27, options=EXACT, **U8),
    case("non_integer_down_1_5x", n=2, c=3, h=30, w=45, oh=20, ow=30, **U8),
    case("non_integer_down_1_5x_exact", n=2, c=3, h=30, w=45, oh=20, ow=30, options=EXACT, **U8),
    # exact pixel boundaries where floating-point index arithmetic lands one pixel short
    # (26 -> 22 and 14 -> 18 legacy; 14 -> 23 and 4 -> 7 exact): see the libraries' notes
    case("legacy_boundary", n=1, c=3, h=26, w=14, oh=22, ow=18),
    case("exact_boundary", n=1, c=3, h=14, w=4, oh=23, ow=7, options=EXACT),
    case("multi_block", n=1, c=2, h=6, w=300, oh=9, ow=451),
    edge("empty_batch", n=0, c=3, h=5, w=7, oh=9, ow=11),
    edge("empty_channels", n=2, c=0, h=5, w=7, oh=9, ow=11),
    edge("identity_f32", n=2, c=3, h=11, w=13, oh=11, ow=13),
    edge("identity_exact_uint8", n=1, c=3, h=11, w=13, oh=11, ow=13, options=EXACT, **U8),
    edge("one_pixel_in", n=1, c=3, h=1, w=1, oh=5, ow=4, **F64),
    edge("one_pixel_out", n=2, c=3, h=9, w=12, oh=1, ow=1, **F64),
    edge("one_pixel_out_exact", n=2, c=3, h=9, w=12, oh=1, ow=1, options=EXACT, **F64),
    edge("extreme_down", n=1, c=3, h=97, w=131, oh=3, ow=2, **F64),
    edge("extreme_down_exact", n=1, c=3, h=97, w=131, oh=3, ow=2, options=EXACT, **F64),
    edge("channels_last", n=2, c=3, h=15, w=21, oh=10, ow=33, layout="channels_last"),
    edge("nonfinite_f64", n=1, c=2, h=6, w=9, oh=11, ow=4, pattern="nonfinite", **F64),
]

ERRORS = [
    error("int16_image", TypeError, r"\bimage\b", n=1, c=2, h=4, w=5, oh=3, ow=3, dtype="int16"),
    error("empty_height", ValueError, r"\bH\b", n=1, c=2, h=0, w=5, oh=3, ow=3),
]

BENCH = {
    "smoke": [bench("bench_small", n=2, c=3, h=64, w=96, oh=43, ow=64)],
    # The spec's standard (16x3x1080x1920 -> 720x1280) is 400 MB of float32 input: too big
    # for the quick profile's 6 s on two cores; a quarter-size frame batch with the same
    # 1.5x factor stands in for it, and the spec's sizes are in "full".
    "quick": [bench("bench_540p", n=2, c=3, h=540, w=960, oh=360, ow=640)],
    "full": [
        bench("bench_1080p_to_720p", n=16, c=3, h=1080, w=1920, oh=720, ow=1280),
        bench("bench_large_4k_to_1080p", n=16, c=3, h=2160, w=3840, oh=1080, ow=1920),
        bench("bench_up2x_512", n=16, c=3, h=512, w=512, oh=1024, ow=1024),
        bench(
            "bench_540p_uint8_exact", n=2, c=3, h=540, w=960, oh=360, ow=640, options=EXACT, **U8
        ),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(shape: tuple[int, ...], seed: int, dtype: str, mode: str) -> Case:
        n, c, h, w, oh, ow = shape
        params = dict(n=n, c=c, h=h, w=w, oh=oh, ow=ow, seed=seed, dtype=dtype)
        return Case("fuzz", params, {"nearest_mode": mode}, "fuzz")

    sizes = st.tuples(
        *(st.integers(1, 3) for _ in range(2)), *(st.integers(1, 60) for _ in range(4))
    )
    return st.builds(
        build,
        sizes,
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64", "uint8"]),
        st.sampled_from(NearestOptions.flag("nearest_mode").values),
    )


SUITE = Suite(
    algorithm="resize_nearest",
    family="dense-image-ops",
    summary="Nearest-neighbour resize of image (N, C, H, W) to (N, C, out_h, out_w).",
    conventions=(
        "nearest_mode='legacy' (default, both libraries' default): src = floor(dst·in/out) "
        "(OpenCV INTER_NEAREST, torch 'nearest'); 'exact': src = floor((dst + 0.5)·in/out) "
        "(INTER_NEAREST_EXACT, torch 'nearest-exact'); both clamp to in − 1 and agree for "
        "integer upscaling only. The floors are of the exact rationals (integer arithmetic): "
        "torch forms dst·scale with scale = in/out in float32 and OpenCV legacy multiplies by "
        "the double reciprocal of out/in (its exact mode works in fixed point), so where "
        "dst·in/out is exactly an integer they may pick the pixel before (the *_boundary "
        "cases; the spec's 'bit for bit' holds away from such boundaries). Sizes are given "
        "(out_h, out_w >= 1), never rounded from a scale. Values are copied, never mixed: "
        "compared exactly, NaN and inf included; float and uint8 images keep their dtype, "
        "other integer dtypes raise TypeError; H = 0 or W = 0 raises ValueError. Must raise: "
        "out_h or out_w <= 0 (ValueError naming it), an unknown nearest_mode (the options "
        "record refuses it)."
    ),
    args=ARGS,
    options=NearestOptions,
    make_inputs=make_inputs,
    oracle=resize_nearest,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 13, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_540p",
    multi_block={"W": 300},
    fuzz=fuzz_strategy,
    divergent_inputs={"legacy_boundary": boundary_hits, "exact_boundary": boundary_hits},
    reference="cv2.resize INTER_NEAREST / INTER_NEAREST_EXACT; torch F.interpolate "
    "'nearest' / 'nearest-exact'",
)

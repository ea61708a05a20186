"""Suite for classification_augment_ops: torchvision's classification transforms, draws injected.

ToTensor (HWC uint8 -> CHW float / 255), CenterCrop or RandomResizedCrop,
RandomHorizontalFlip, ColorJitter (brightness, contrast, saturation, hue in a per-image
order) and Normalize, applied to a batch with every random draw given as an input: the
crop attempts' uniforms, the flip mask, the four jitter factors and ColorJitter's
permutation of them.
"""

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
from suites.resize_bilinear import ResizeOptions, resize_bilinear

#: grayscale weights (R, G, B): torchvision's tensor path and ITU-R 601 (Pillow, OpenCV)
GRAY_WEIGHTS = {"rec601": (0.299, 0.587, 0.114), "torchvision": (0.2989, 0.587, 0.114)}


@dataclass(frozen=True)
class AugmentOptions(Options):
    gray_weights: str = option(
        "rec601",
        "torchvision",
        meaning="grayscale for contrast and saturation: L = 0.299R + 0.587G + 0.114B "
        "(ITU-R 601: Pillow, OpenCV) or torchvision's tensor weights 0.2989, 0.587, 0.114",
    )
    crop: str = option(
        "centre",
        "random_resized",
        "random",
        meaning="CenterCrop(out_h, out_w); RandomResizedCrop((out_h, out_w), scale=(0.08, "
        "1), ratio=(3/4, 4/3)) with its draws injected, resized bilinear with antialias "
        "(torchvision's default) after ToTensor; or RandomCrop(out_h, out_w) (no padding): "
        "the plain crop (top, left, out_h, out_w) at top = floor(draws[n, 0, 2]·(H − out_h + "
        "1)), left = floor(draws[n, 0, 3]·(W − out_w + 1)) (randint with its draw injected)",
    )


ARGS = Args(
    Arg("image", ("N", "H", "W", "C"), "int"),  # uint8, HWC as decoded
    Arg("flip", ("N",), "bool"),
    Arg("factors", ("N", 4), "float"),  # brightness, contrast, saturation, hue
    Arg("order", ("N", 4), "int"),  # ColorJitter's fn_idx: a permutation of 0..3 per image
    Arg("draws", ("N", 10, 4), "float"),  # RandomResizedCrop: 4 uniforms per attempt
    Arg("mean", ("C",), "float"),
    Arg("std", ("C",), "float"),
    Scalar("out_h", "int", low=1),
    Scalar("out_w", "int", low=1),
    nonempty=("H", "W", "C"),  # an image with no pixels or no channels is refused
)


def check_augment(
    image: Any,
    flip: Any,
    factors: Any,
    order: Any,
    draws: Any,
    mean: Any,
    std: Any,
    out_h: int,
    out_w: int,
    opts: Any,
) -> Any:
    """ARGS.check plus the transforms' own rules; returns the output float dtype."""
    dtype = ARGS.check(image, flip, factors, order, draws, mean, std, out_h, out_w)
    if "uint8" not in str(image.dtype):
        raise TypeError(f"image must be uint8 (HWC as decoded), got {image.dtype}")
    _, h, w, c = image.shape
    if c not in (1, 3):
        raise ValueError(f"image must have 1 or 3 channels (C), got {c}")
    if opts.crop != "random_resized" and (out_h > h or out_w > w):
        raise ValueError(f"out_h, out_w = {out_h}, {out_w} crop more than the {h}x{w} image")
    f, o, s = (np.asarray(_host(a), dtype=np.float64) for a in (factors, order, std))
    if np.any(~(f[:, :3] >= 0)):
        raise ValueError("factors: brightness, contrast and saturation must be >= 0")
    if np.any(~(np.abs(f[:, 3]) <= 0.5)):
        raise ValueError("factors: the hue factor must be in [-0.5, 0.5]")
    if np.any(np.sort(o, axis=1) != np.arange(4)):
        raise ValueError("order: each row must be a permutation of 0, 1, 2, 3")
    if np.any(s == 0):
        raise ValueError("std must not be zero")
    return dtype


def _host(x: Any) -> Any:
    """A NumPy view or copy of a NumPy, torch (any device) or CuPy array."""
    if hasattr(x, "get"):
        return x.get()
    if hasattr(x, "cpu"):
        return x.cpu().numpy()
    return np.asarray(x)


def crop_origin(h: int, w: int, out_h: int, out_w: int) -> tuple[int, int]:
    """CenterCrop's top-left: int(round((H − h)/2)), Python's round (half to even)."""
    return round((h - out_h) / 2.0), round((w - out_w) / 2.0)


def random_crop_origin(h: int, w: int, out_h: int, out_w: int, u: Any) -> tuple[int, int]:
    """RandomCrop's top-left with its draws injected: ``u`` is one image's (10, 4) draws;
    the first attempt's top and left uniforms give randint(0, H − out_h + 1) = floor(u·(H −
    out_h + 1)) and the same across."""
    ui, uj = float(u[0][2]), float(u[0][3])
    return math.floor(ui * (h - out_h + 1)), math.floor(uj * (w - out_w + 1))


#: RandomResizedCrop's defaults: area fraction and aspect-ratio range
RRC_SCALE, RRC_RATIO = (0.08, 1.0), (3.0 / 4.0, 4.0 / 3.0)


def resized_crop_box(h: int, w: int, u: Any) -> tuple[int, int, int, int]:
    """torchvision's RandomResizedCrop.get_params with its draws injected: ``u`` holds 10
    attempts of (area, log-aspect, top, left) uniforms in [0, 1); uniform(a, b) = a +
    (b − a)·u, randint(0, n) = floor(u·n). Returns (top, left, height, width)."""
    area = h * w
    lo, hi = math.log(RRC_RATIO[0]), math.log(RRC_RATIO[1])
    for ua, ur, ui, uj in u:
        target = area * (RRC_SCALE[0] + (RRC_SCALE[1] - RRC_SCALE[0]) * float(ua))
        aspect = math.exp(lo + (hi - lo) * float(ur))
        cw = round(math.sqrt(target * aspect))
        ch = round(math.sqrt(target / aspect))
        if 0 < cw <= w and 0 < ch <= h:
            return (
                math.floor(float(ui) * (h - ch + 1)),
                math.floor(float(uj) * (w - cw + 1)),
                ch,
                cw,
            )
    ratio = w / h  # ten misses: the central crop of the nearest allowed aspect ratio
    if ratio < RRC_RATIO[0]:
        cw, ch = w, round(w / RRC_RATIO[0])
    elif ratio > RRC_RATIO[1]:
        ch, cw = h, round(h * RRC_RATIO[1])
    else:
        cw, ch = w, h
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def grayscale(x: Any, weights: tuple[float, float, float]) -> Any:
    """(C, H, W) -> (1, H, W); a 1-channel image is its own grayscale."""
    if x.shape[0] == 1:
        return x
    return weights[0] * x[0:1] + weights[1] * x[1:2] + weights[2] * x[2:3]


def rgb_to_hsv(x: Any) -> Any:
    """torchvision's _rgb2hsv on a (3, H, W) float64 image; h in [0, 1)."""
    r, g, b = x
    maxc, minc = x.max(axis=0), x.min(axis=0)
    eqc = maxc == minc
    cr = maxc - minc
    s = cr / np.where(eqc, 1.0, maxc)
    div = np.where(eqc, 1.0, cr)
    rc, gc, bc = (maxc - r) / div, (maxc - g) / div, (maxc - b) / div
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = np.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return np.stack([h, s, maxc])


def hsv_to_rgb(x: Any) -> Any:
    """torchvision's _hsv2rgb: six sectors, p, q, t clamped to [0, 1]."""
    h, s, v = x
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.zeros_like(x)
    for k, (rr, gg, bb) in enumerate(table):
        sel = i == k
        out[0][sel], out[1][sel], out[2][sel] = rr[sel], gg[sel], bb[sel]
    return out


def jitter(x: Any, op: int, factor: float, weights: tuple[float, float, float]) -> Any:
    """One ColorJitter step on a (C, H, W) float64 image in [0, 1]."""
    if op == 0:  # brightness: blend with black
        return np.clip(factor * x, 0.0, 1.0)
    if op == 1:  # contrast: blend with the mean of the grayscale image
        return np.clip(factor * x + (1.0 - factor) * grayscale(x, weights).mean(), 0.0, 1.0)
    if x.shape[0] == 1:  # saturation and hue leave a grayscale image as it is
        return x
    if op == 2:  # saturation: blend with the grayscale image
        return np.clip(factor * x + (1.0 - factor) * grayscale(x, weights), 0.0, 1.0)
    hsv = rgb_to_hsv(x)
    hsv[0] = np.mod(hsv[0] + factor, 1.0)
    return hsv_to_rgb(hsv)


def classification_augment_ops(
    image: Any,
    flip: Any,
    factors: Any,
    order: Any,
    draws: Any,
    mean: Any,
    std: Any,
    out_h: int,
    out_w: int,
    opts: AugmentOptions,
) -> Any:
    """Oracle, image by image in float64: ToTensor, the crop (CenterCrop, or
    RandomResizedCrop's box and resize_bilinear's antialiased float64 oracle), flip, the
    four jitter steps in the image's order, Normalize."""
    dtype = check_augment(image, flip, factors, order, draws, mean, std, out_h, out_w, opts)
    n, h, w, c = image.shape
    top, left = crop_origin(h, w, out_h, out_w)
    weights = GRAY_WEIGHTS[opts.gray_weights]
    m, s = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    out = np.empty((n, c, out_h, out_w))
    for k in range(n):
        x = np.asarray(image[k], dtype=np.float64).transpose(2, 0, 1) / 255.0
        if opts.crop == "random_resized":
            i, j, ch, cw = resized_crop_box(h, w, np.asarray(draws[k], dtype=np.float64))
            x = resize_bilinear(x[None, :, i : i + ch, j : j + cw], out_h, out_w, AA)[0]
        elif opts.crop == "random":
            i, j = random_crop_origin(h, w, out_h, out_w, np.asarray(draws[k], dtype=np.float64))
            x = x[:, i : i + out_h, j : j + out_w]
        else:
            x = x[:, top : top + out_h, left : left + out_w]
        if flip[k]:
            x = x[:, :, ::-1]
        for op in order[k]:
            x = jitter(x, int(op), float(factors[k][int(op)]), weights)
        out[k] = (x - m[:, None, None]) / s[:, None, None]
    return out.astype(np.dtype(str(dtype)))


AA = ResizeOptions(antialias=True)
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def float64_output(inputs: Inputs) -> bool:
    """OpenCV's colour conversions are float32 only (its documented divergence): any
    float64 case is the same situation."""
    return bool(np.asarray(inputs["factors"]).dtype == np.float64)


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    n, h, w, c = (int(p[k]) for k in ("n", "h", "w", "c"))
    dtype = np.dtype(case.dtype)
    image = rng.integers(0, 256, size=(n, h, w, c), dtype=np.uint8)
    lo, hi = p.get("jitter", (0.6, 1.4))  # ColorJitter(0.4, 0.4, 0.4, 0.1)-style draws
    factors = np.column_stack(
        [rng.uniform(lo, hi, (n, 3)), rng.uniform(-p.get("hue", 0.1), p.get("hue", 0.1), n)]
    )
    if "set" in p:  # one factor for every image: [brightness, contrast, saturation, hue]
        factors[:] = p["set"]
    order = np.argsort(rng.random((n, 4)), axis=1)
    draws = rng.random((n, 10, 4))
    if p.get("misses"):  # area draws too large for any aspect: every attempt misses
        draws[:, :, 0], draws[:, :, 1] = 0.999, np.where(np.arange(10) % 2, 0.0, 1.0)
    mean, std = (np.array(v[:c] if c == 3 else v[:1]) for v in IMAGENET)
    if p.get("zero_std"):  # the must-raise case: Normalize would divide by zero
        std[-1] = 0.0
    return {
        "image": image,
        "flip": rng.random(n) < 0.5,
        "factors": factors.astype(dtype),
        "order": order.astype(np.int64),
        "draws": draws.astype(dtype),
        "mean": mean.astype(dtype),
        "std": std.astype(dtype),
        "out_h": int(p["oh"]),
        "out_w": int(p["ow"]),
    }


def cost(case: Case) -> Cost:
    p = case.params
    n, c, oh, ow = (int(p[k]) for k in ("n", "c", "oh", "ow"))
    h, w = int(p["h"]), int(p["w"])
    b = np.dtype(case.dtype).itemsize
    out = n * c * oh * ow
    # the spec: 2-10 flops per element per op, hue ≈ 30: ≈ 50 per output element in all;
    # bytes: the uint8 image once, the float output once
    return Cost(flops=50.0 * out, bytes=n * h * w * c + b * out, items=n, item_unit="images")


def tolerance(case: Case) -> Tolerance:
    """About 40 roundings in a chain (ToTensor, four blends or the HSV round trip with its
    divisions, Normalize) on values in [0, 1], then a division by std >= 0.224 (x 4.5):
    K = 64, atol scaled by 5 (outputs reach about ±2.6)."""
    return default_tolerance(case.dtype, 64, scale=5.0)


COMPARE = Close(override=tolerance)

F64: dict[str, Any] = {"dtype": "float64"}
TV = {"gray_weights": "torchvision"}
RRC = {"crop": "random_resized"}
RANDOM = {"crop": "random"}

CASES = [
    case("pipeline_f32", n=4, h=23, w=29, c=3, oh=17, ow=21),
    case("pipeline_f64", n=4, h=23, w=29, c=3, oh=17, ow=21, **F64),
    case("torchvision_gray_f64", n=3, h=20, w=26, c=3, oh=14, ow=19, options=TV, **F64),
    case("strong_jitter_f32", n=4, h=19, w=22, c=3, oh=19, ow=22, jitter=(0.0, 3.0), hue=0.5),
    # margins (H − h)/2 = 1.5 and (W − w)/2 = 2.5: round half to even starts at 2 and 2
    case("odd_crop_margins", n=2, h=22, w=31, c=3, oh=19, ow=26),
    # wide rows: past the first block of a tiled or vectorised kernel
    case("multi_block", n=1, h=4, w=310, c=3, oh=3, ow=300),
    edge("empty_batch", n=0, h=9, w=11, c=3, oh=5, ow=7),
    edge("identity_factors", n=2, h=9, w=11, c=3, oh=9, ow=11, set=[1.0, 1.0, 1.0, 0.0], **F64),
    edge("zero_factors", n=2, h=9, w=11, c=3, oh=6, ow=8, set=[0.0, 0.0, 0.0, 0.0], **F64),
    edge("bright_clamps", n=2, h=9, w=11, c=3, oh=6, ow=8, set=[2.5, 1.8, 2.2, 0.0], **F64),
    edge("hue_plus_half", n=2, h=9, w=11, c=3, oh=6, ow=8, set=[1.0, 1.0, 1.0, 0.5], **F64),
    edge("hue_minus_half", n=2, h=9, w=11, c=3, oh=6, ow=8, set=[1.0, 1.0, 1.0, -0.5], **F64),
    edge("crop_equal_to_image", n=2, h=7, w=10, c=3, oh=7, ow=10),
    edge("grayscale_input", n=3, h=9, w=11, c=1, oh=6, ow=8, **F64),
    case("random_resized_f32", n=4, h=23, w=29, c=3, oh=16, ow=15, options=RRC),
    case("random_resized_f64", n=3, h=26, w=21, c=3, oh=12, ow=14, options=RRC, **F64),
    # an 8x30 image misses all ten attempts: the central crop of aspect 4/3 (8x11)
    edge(
        "random_resized_fallback",
        n=2,
        h=8,
        w=30,
        c=3,
        oh=12,
        ow=10,
        misses=True,
        options=RRC,
        **F64,
    ),
    case("random_crop_f32", n=4, h=23, w=29, c=3, oh=16, ow=15, options=RANDOM),
    case("random_crop_f64", n=3, h=26, w=21, c=3, oh=12, ow=14, options={**RANDOM, **TV}, **F64),
    # the crop as large as the image: randint(0, 1) is 0 whatever the draw
    edge("random_crop_whole_image", n=2, h=7, w=10, c=3, oh=7, ow=10, options=RANDOM),
    edge("random_resized_upscale", n=2, h=9, w=11, c=3, oh=20, ow=24, options=RRC, **F64),
]

ERRORS = [
    error("crop_too_large", ValueError, r"out_h", n=1, h=5, w=6, c=3, oh=6, ow=6),
    error(
        "random_crop_too_large",
        ValueError,
        r"out_h",
        n=1,
        h=5,
        w=6,
        c=3,
        oh=5,
        ow=7,
        options=RANDOM,
    ),
    error(
        "hue_out_of_range",
        ValueError,
        "hue",
        n=2,
        h=5,
        w=6,
        c=3,
        oh=4,
        ow=4,
        set=[1.0, 1.0, 1.0, 0.6],
    ),
    error(
        "negative_factor",
        ValueError,
        "factors",
        n=2,
        h=5,
        w=6,
        c=3,
        oh=4,
        ow=4,
        set=[-0.1, 1.0, 1.0, 0.0],
    ),
    error("two_channels", ValueError, r"\bC\b", n=1, h=5, w=6, c=2, oh=4, ow=4),
    error("zero_std", ValueError, r"\bstd\b", n=2, h=5, w=6, c=3, oh=4, ow=4, zero_std=True),
    error("empty_height", ValueError, r"\bH\b", n=1, h=0, w=6, c=3, oh=1, ow=1),
]

BENCH = {
    "smoke": [bench("bench_small", n=4, h=48, w=56, c=3, oh=40, ow=48)],
    # The spec's standard (64x3x224x224) with the float64 oracle looping per image is over
    # the quick profile's 6 s on two cores; 16 images of 224x224 (cropped from 256x256)
    # keep the image size; the spec's batch is in full.
    "quick": [bench("bench_16x224", n=16, h=256, w=256, c=3, oh=224, ow=224)],
    "full": [
        bench("bench_64x224", n=64, h=256, w=256, c=3, oh=224, ow=224),
        bench("bench_16x224_rrc", n=16, h=256, w=256, c=3, oh=224, ow=224, options=RRC),
        bench("bench_256x512", n=256, h=576, w=576, c=3, oh=512, ow=512),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(shape: tuple[int, ...], seed: int, dtype: str, opts: dict[str, Any]) -> Case:
        n, h, w, c, dh, dw = shape
        params = dict(n=n, h=h, w=w, c=c, oh=max(h - dh, 1), ow=max(w - dw, 1), seed=seed,
                      dtype=dtype, jitter=(0.0, 2.0), hue=0.5)  # fmt: skip
        return Case("fuzz", params, opts, "fuzz")

    sizes = st.tuples(
        st.integers(1, 3), st.integers(1, 16), st.integers(1, 16), st.sampled_from([1, 3]),
        st.integers(0, 5), st.integers(0, 5),
    )  # fmt: skip
    return st.builds(
        build,
        sizes,
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        AugmentOptions.strategy(),
    )


SUITE = Suite(
    algorithm="classification_augment_ops",
    family="dense-image-ops",
    summary="ToTensor, CenterCrop, RandomCrop or RandomResizedCrop to (out_h, out_w), flip, "
    "ColorJitter (injected factors and order), Normalize(mean, std): uint8 (N, H, W, C) -> "
    "float (N, C, out_h, out_w).",
    conventions=(
        "ToTensor: HWC uint8 -> CHW float / 255 (the output dtype is that of factors, mean, "
        "std). crop='centre': CenterCrop at (int(round((H − out_h)/2)), int(round((W − "
        "out_w)/2))), Python's "
        "round (half to even, so a margin of 2.5 starts at 2). crop='random': RandomCrop "
        "without padding, top = floor(draws[n, 0, 2]·(H − out_h + 1)), left = floor(draws[n, "
        "0, 3]·(W − out_w + 1)). crop='random_resized': "
        "RandomResizedCrop's get_params with draws[n] = 10 attempts of (area, log-aspect, "
        "top, left) uniforms: target = H·W·(0.08 + 0.92·u), aspect = exp(log(3/4) + "
        "log(16/9)·u), w = round(sqrt(target·aspect)), h = round(sqrt(target/aspect)), "
        "accepted when 0 < w <= W and 0 < h <= H, top = floor(u·(H − h + 1)) (randint); after "
        "ten misses the central crop of the nearest allowed aspect; then resized to (out_h, "
        "out_w) on the float image by resize_bilinear's antialiased filter (torchvision's "
        "antialias=True). flip[n]: reverse the columns. "
        "ColorJitter: the four steps in the order order[n] (a permutation of 0 brightness, "
        "1 contrast, 2 saturation, 3 hue, as torchvision's fn_idx), factors[n] = (b, c, s, h): "
        "brightness clamp(b·x, 0, 1) (multiplicative: kornia's additive brightness needs an "
        "adapter); contrast clamp(c·x + (1 − c)·mean(gray(x)), 0, 1) with the mean over the "
        "whole cropped image; saturation clamp(s·x + (1 − s)·gray(x), 0, 1); hue: "
        "torchvision's RGB -> HSV, h = (h + f) mod 1, HSV -> RGB (torchvision runs this step "
        "in float32 even on float64 images, about 1e-6 off). gray = 0.299R + 0.587G + "
        "0.114B (gray_weights='rec601'; 'torchvision' uses 0.2989 for R). On a 1-channel "
        "image gray is the image and saturation and hue do nothing. Normalize (x − mean_c)/"
        "std_c. All arithmetic in the output dtype (no uint8 rounding between steps). "
        "Must raise: a non-uint8 image (TypeError), C not 1 or 3, a centre crop larger than "
        "the image, a negative b, c or s, |h| > 0.5, an order row that is no permutation, a zero "
        "std, mean or std of the wrong length."
    ),
    args=ARGS,
    options=AugmentOptions,
    make_inputs=make_inputs,
    oracle=classification_augment_ops,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 29, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_16x224",
    multi_block={"W": 300},
    fuzz=fuzz_strategy,
    divergent_inputs={"pipeline_f64": float64_output},
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="the oracle ports torchvision's tensor formulas; OpenCV (cvtColor RGB2GRAY and "
    "RGB2HSV, addWeighted, flip) as the independent library (float32)",
)

"""Suite for anchor_generation_box_coder: a feature pyramid's anchors (torchvision's
AnchorGenerator, or py-faster-rcnn's generate_anchors) and BoxCoder's encode and decode of
boxes against the anchors they are matched to (ported: torchvision does not install)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from harness.args import Arg, Args, Rule
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Outputs
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

#: torchvision's BoxCoder bbox_xform_clip: dw, dh are clamped here before exp
CLIP = math.log(1000.0 / 16)
WEIGHTS = {"rpn": (1.0, 1.0, 1.0, 1.0), "rcnn": (10.0, 10.0, 5.0, 5.0)}


@dataclass(frozen=True)
class AnchorCoderOptions(Options):
    convention: str = option(
        "torchvision",
        "py_faster_rcnn",
        meaning="torchvision: base anchors round(+-w/2, +-h/2) (half to even) about 0, widths "
        "x2 - x1; py-faster-rcnn: ratio enumeration rounded on the stride x stride box, "
        "centres at (stride - 1)/2, widths x2 - x1 + 1",
    )
    weights: str = option(
        "rpn", "rcnn", meaning="coder weights (wx, wy, ww, wh): (1, 1, 1, 1) or (10, 10, 5, 5)"
    )


def _set_first(value: float) -> Any:
    def violate(x: np.ndarray) -> np.ndarray:
        out = np.array(x, copy=True)
        out.reshape(-1)[0] = value
        return out

    return violate


POSITIVE = Rule("every value > 0", lambda xp, x: ~(x > 0), _set_first(0))
NOT_NEGATIVE = Rule("every value >= 0", lambda xp, x: x < 0, _set_first(-1))

ARGS = Args(
    Arg("feature_sizes", ("L", 2), "int", rules=(NOT_NEGATIVE,)),
    Arg("strides", ("L",), "int", rules=(POSITIVE,)),
    Arg("sizes", ("L", "S"), "float", rules=(POSITIVE,)),
    Arg("ratios", ("R",), "float", rules=(POSITIVE,)),
    Arg("gt", ("T", 4), "float"),
    Arg("match", ("T",), "int", rules=(NOT_NEGATIVE,)),
    Arg("codes", ("T", 4), "float"),
    nonempty=("L", "S", "R"),
    same_dtype=("sizes", "ratios", "gt", "codes"),
)


def anchor_count(feature_sizes: Any, sizes: Any, ratios: Any) -> int:
    fs = np.asarray(feature_sizes.tolist() if hasattr(feature_sizes, "tolist") else feature_sizes)
    per = len(ratios) * len(sizes[0])
    return int(fs.reshape(-1, 2).prod(axis=1).sum()) * per


def check_inputs(*args: Any) -> Any:
    """ARGS.check and every match index < the number of anchors; returns the dtype."""
    dtype = ARGS.check(*args)
    feature_sizes, _, sizes, ratios, _, match, _ = args
    n = anchor_count(feature_sizes, sizes, ratios)
    if hasattr(match, "shape"):  # one reduction in the array's own namespace
        top = int(array_namespace(match).max(match)) if match.shape[0] else -1
    else:
        top = max((int(v) for v in match), default=-1)
    if top >= n:
        raise ValueError(f"match has index {top} but there are only {n} anchors")
    return dtype


def base_anchors(stride: int, sizes: Any, ratios: Any, convention: str) -> Any:
    """(R*S, 4) anchors of one location, ratio-major (index r*S + s)."""
    out = []
    for r in ratios:
        for s in sizes:
            if convention == "torchvision":  # h = s*sqrt(r), w = s/sqrt(r), rounded half-even
                hr = math.sqrt(r)
                w, h = (1.0 / hr) * s, hr * s
                out.append([round(-w / 2), round(-h / 2), round(w / 2), round(h / 2)])
            else:  # py-faster-rcnn: _ratio_enum on the stride box, then _scale_enum
                ctr = (stride - 1) / 2
                ws = round(math.sqrt(stride * stride / r))
                hs = round(ws * r)
                ws, hs = ws * (s / stride), hs * (s / stride)
                out.append([ctr - (ws - 1) / 2, ctr - (hs - 1) / 2, ctr + (ws - 1) / 2,
                            ctr + (hs - 1) / 2])  # fmt: skip
    return np.array(out, dtype=np.float64).reshape(-1, 4)


def generate(feature_sizes: Any, strides: Any, sizes: Any, ratios: Any, convention: str) -> Any:
    """(A, 4): levels in order; in a level location-major (row y, column x), then anchors."""
    levels = []
    for (gh, gw), stride, lsizes in zip(feature_sizes, strides, sizes, strict=True):
        base = base_anchors(int(stride), list(lsizes), list(ratios), convention)
        rows = []
        for y in range(int(gh)):
            for x in range(int(gw)):
                rows.append(base + np.array([x, y, x, y], dtype=np.float64) * stride)
        levels.append(np.concatenate(rows) if rows else np.zeros((0, 4)))
    return np.concatenate(levels)


def _geometry(b: Any, one: float) -> Any:
    w, h = b[:, 2] - b[:, 0] + one, b[:, 3] - b[:, 1] + one
    return w, h, b[:, 0] + 0.5 * w, b[:, 1] + 0.5 * h


def encode(gt: Any, anchors: Any, weights: Any, one: float) -> Any:
    wx, wy, ww, wh = weights
    pw, ph, px, py = _geometry(anchors, one)
    gw, gh, gx, gy = _geometry(gt, one)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.stack(
            [wx * (gx - px) / pw, wy * (gy - py) / ph, ww * np.log(gw / pw), wh * np.log(gh / ph)],
            axis=1,
        )


def decode(codes: Any, anchors: Any, weights: Any, one: float) -> Any:
    wx, wy, ww, wh = weights
    pw, ph, px, py = _geometry(anchors, one)
    dx, dy = codes[:, 0] / wx, codes[:, 1] / wy
    dw, dh = np.minimum(codes[:, 2] / ww, CLIP), np.minimum(codes[:, 3] / wh, CLIP)
    cx, cy = dx * pw + px, dy * ph + py
    w, h = np.exp(dw) * pw, np.exp(dh) * ph
    return np.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w - one, cy + 0.5 * h - one], axis=1)


def anchor_generation_box_coder(
    feature_sizes: Any,
    strides: Any,
    sizes: Any,
    ratios: Any,
    gt: Any,
    match: Any,
    codes: Any,
    opts: AnchorCoderOptions,
) -> Any:
    """Oracle: float64, anchors one location at a time; then encode(gt, anchors[match]) and
    decode(codes, anchors[match])."""
    check_inputs(feature_sizes, strides, sizes, ratios, gt, match, codes)
    anchors = generate(
        np.asarray(feature_sizes).reshape(-1, 2).tolist(),
        np.asarray(strides).tolist(),
        np.asarray(sizes, dtype=np.float64).tolist(),
        np.asarray(ratios, dtype=np.float64).tolist(),
        opts.convention,
    )
    one = 1.0 if opts.convention == "py_faster_rcnn" else 0.0
    paired = anchors[np.asarray(match, dtype=np.int64)]
    weights = WEIGHTS[opts.weights]
    g, c = np.asarray(gt, dtype=np.float64), np.asarray(codes, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return anchors, encode(g, paired, weights, one), decode(c, paired, weights, one)


# ---- inputs ---------------------------------------------------------------------------------


def _pyramid(p: Mapping[str, Any]) -> tuple[Any, Any, Any, Any]:
    strides = np.array(p["strides"], dtype=np.int64)
    img_h, img_w = p["image"]
    fs = np.stack([-(-img_h // strides), -(-img_w // strides)], axis=1)  # ceil(image/stride)
    scales = 2.0 ** (np.arange(int(p.get("s", 1))) / 3.0)  # RetinaNet's 2^(k/3) octave steps
    sizes = (4.0 * strides)[:, None] * scales[None, :]
    if p.get("pattern") == "halves":  # odd sizes at ratio 1: +-s/2 is a half, rounded to even
        sizes = sizes.round() + 1 - sizes.round() % 2
    ratios = np.array(p.get("ratios", [0.5, 1.0, 2.0]), dtype=np.float64)
    return fs, strides, sizes, ratios


def make_inputs(case: Case) -> Inputs:
    p = case.params
    dtype = np.dtype(case.dtype)
    rng = np.random.default_rng(case.seed)
    fs, strides, sizes, ratios = _pyramid(p)
    n = anchor_count(fs, sizes, ratios)
    t = int(p.get("t", 0)) if n else 0  # no anchor to match a box to
    img_h, img_w = p["image"]
    xy = rng.uniform(-0.1, 1.0, size=(t, 2)) * [img_w, img_h]
    gt = np.concatenate([xy, xy + rng.uniform(2.0, 0.5 * max(img_h, img_w), size=(t, 2))], 1)
    match = rng.integers(0, max(n, 1), size=t) if n else np.zeros(t, dtype=np.int64)
    codes = rng.normal(0.0, 1.0, size=(t, 4)) * [1.0, 1.0, 0.5, 0.5]
    pattern = p.get("pattern", "random")
    if pattern == "huge":  # |dw|, |dh| far past log(1000/16) after the weights: clamped
        codes[::2, 2:] = rng.uniform(5.0, 60.0, size=(len(codes[::2]), 2))
        codes[2::4, 2:] = -codes[2::4, 2:]  # -inf side: exp underflows, no clamp
    elif pattern == "zero_width":  # gt of zero width or height: log 0 = -inf
        gt[::2, 2] = gt[::2, 0]
        gt[1::3, 3] = gt[1::3, 1]
    return {
        "feature_sizes": fs,
        "strides": strides,
        "sizes": sizes.astype(dtype),
        "ratios": ratios.astype(dtype),
        "gt": gt.astype(dtype),
        "match": match.astype(np.int64),
        "codes": (codes * WEIGHTS[case.options.get("weights", "rpn")]).astype(dtype),
    }


# ---- cost and tolerance -----------------------------------------------------------------------


def cost(case: Case) -> Cost:
    """Generation writes 4 values per anchor (4 adds); coding ~20 flops + 2 log or exp per
    box, reading 8 values and an index, writing 4, per direction."""
    p = case.params
    fs, _, sizes, ratios = _pyramid(p)
    n, t, b = anchor_count(fs, sizes, ratios), int(p.get("t", 0)), np.dtype(case.dtype).itemsize
    return Cost(
        flops=4.0 * n + 2 * 22.0 * t,
        bytes=4.0 * b * n + t * (2 * (8 * b + 8 + 4 * b)),
        items=n + t,
        item_unit="boxes",
    )


def _largest(case: Case) -> float:
    """The largest anchor side: max size * sqrt(the most elongated ratio), + 1."""
    _, _, sizes, ratios = _pyramid(case.params)
    return float(sizes.max()) * math.sqrt(max(ratios.max(), 1 / ratios.min())) + 1.0


def _extent(case: Case) -> float:
    """The largest |coordinate| of an anchor or a box centre."""
    return float(max(case.params["image"])) * 1.2 + _largest(case)


def _anchor_tol(case: Case) -> Tolerance:
    """Anchors are small integers (or halves) plus integer shifts: exact in float32 below
    2^23, so any rounding error is a mistake; 2 ulps of the extent cover the sum."""
    eps = EPS.get(case.dtype, 0.0)
    return Tolerance(0.0, 2 * eps * _extent(case), "integers and halves + shifts: ~exact")


def _delta_tol(case: Case) -> Tolerance:
    """dx = wx*(gx - px)/pw: the centres' rounding (eps * extent) is divided by the
    smallest anchor width (>= 4*8/sqrt(4) - 1 = 15 here) and scaled by wx <= 10; log adds a
    few eps. rtol 10 eps, atol 50 eps * extent (>= 10 eps * 10 * extent / 2)."""
    eps = EPS.get(case.dtype, 0.0)
    floor = 1e-10 if case.dtype == "float64" else 0.0
    return Tolerance(max(10 * eps, floor), max(50 * eps * _extent(case), floor), "centres / width")


def _box_tol(case: Case) -> Tolerance:
    """Decoded corners: dx * pw + px and exp(dw) * pw (<= 62.5 * the largest anchor), each
    rounded: atol 10 eps * (extent + 62.5 * largest anchor)."""
    eps = EPS.get(case.dtype, 0.0)
    big = _largest(case)
    floor = 1e-10 if case.dtype == "float64" else 0.0
    atol = max(10 * eps * (_extent(case) + 62.5 * big), floor)
    return Tolerance(max(10 * eps, floor), atol, "corners ~ extent + exp(clip) * anchor")


COMPARE = Outputs(
    {
        "anchors": Close(override=_anchor_tol),
        "deltas": Close(override=_delta_tol),
        "boxes": Close(override=_box_tol),
    }
)

# ---- cases ----------------------------------------------------------------------------------

# L = 3 levels, S = 6 sizes, R = 5 ratios, T = 40 boxes: distinct, so a mixed-up axis shows
_SMALL: dict[str, Any] = dict(
    image=[40, 56], strides=[8, 16, 32], s=6, ratios=[0.25, 0.5, 1.0, 2.0, 4.0], t=40
)
_PY = {"convention": "py_faster_rcnn"}
_RCNN = {"weights": "rcnn"}


def _c(name: str, kind: str = "regular", options: dict[str, Any] | None = None, **p: Any) -> Case:
    maker = case if kind == "regular" else edge
    return maker(name, options=options, **{**_SMALL, **p})


CASES = [
    _c("random_f32"),
    _c("random_f64", dtype="float64"),
    _c("rcnn_weights_f64", dtype="float64", options=_RCNN),
    _c("rcnn_weights_f32", options=_RCNN),
    _c("py_faster_rcnn_f64", dtype="float64", options=_PY),
    _c("py_faster_rcnn_rcnn_f32", options={**_PY, **_RCNN}),
    _c("five_ratios_f64", dtype="float64", ratios=[0.25, 0.5, 1.0, 2.0, 4.0], s=3),
    _c("one_level_f32", strides=[4], s=3, image=[24, 20]),
    _c("multi_block", t=300, image=[64, 64], strides=[4]),
    _c("huge_deltas_f64", "edge", dtype="float64", pattern="huge"),
    _c("huge_deltas_rcnn_f32", "edge", pattern="huge", options=_RCNN),
    _c("zero_width_gt_f64", "edge", dtype="float64", pattern="zero_width"),
    _c("halves_f64", "edge", dtype="float64", pattern="halves", ratios=[1.0], s=3),
    _c("halves_f32", "edge", pattern="halves", ratios=[1.0, 4.0], s=3),
    _c("non_square_grid_f64", "edge", dtype="float64", image=[16, 72], strides=[8]),
    _c("empty_targets", "edge", t=0),
    _c("empty_grid", "edge", image=[0, 40], strides=[8]),
    _c("py_faster_rcnn_halves_f64", "edge", dtype="float64", pattern="halves", options=_PY),
]

ERRORS = [
    error(
        "match_out_of_range",
        ValueError,
        r"\bmatch\b",
        **{**_SMALL, "t": 3, "image": [8, 8], "strides": [8]},
        bad_match=True,
    ),
]

# The specification's standard size: an 800 x 1333 image, strides 4..64, one size per
# level (32..512), 3 ratios: 267,069 anchors; 200,000 boxes coded each way.
_STD: dict[str, Any] = dict(image=[800, 1333], strides=[4, 8, 16, 32, 64], s=1)
BENCH = {
    "smoke": [bench("bench_small", image=[200, 333], strides=[4, 8, 16, 32, 64], s=1, t=10_000)],
    "quick": [bench("bench_800x1333", t=200_000, **_STD)],
    "full": [bench("bench_800x1333_s3", t=1_000_000, **{**_STD, "s": 3})],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(image: tuple[int, int], strides: list[int], s: int, t: int, ratios: list[float],
              pattern: str, seed: int, dtype: str, options: dict[str, Any]) -> Case:  # fmt: skip
        params = dict(image=list(image), strides=strides, s=s, t=t, ratios=ratios,
                      pattern=pattern, seed=seed, dtype=dtype)  # fmt: skip
        return Case("fuzz", params, options, "fuzz")

    return st.builds(
        build,
        st.tuples(st.integers(0, 48), st.integers(0, 48)),
        st.lists(st.sampled_from([4, 8, 16, 32]), min_size=1, max_size=3),
        st.integers(1, 3),
        st.integers(0, 30),
        st.lists(st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0]), min_size=1, max_size=4),
        st.sampled_from(["random", "huge", "zero_width", "halves"]),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        AnchorCoderOptions.strategy(optional=True),
    )


def _make_inputs(case: Case) -> Inputs:
    inputs = make_inputs(case)
    if case.params.get("bad_match"):
        inputs["match"][-1] = anchor_count(
            inputs["feature_sizes"], inputs["sizes"], inputs["ratios"]
        )
    return inputs


SUITE = Suite(
    algorithm="anchor_generation_box_coder",
    family="detection-geometry",
    summary="Anchors of a feature pyramid (A, 4), then encode(gt, anchors[match]) and "
    "decode(codes, anchors[match]), (T, 4) each.",
    conventions=(
        "Inputs: feature_sizes (L, 2) grid (h, w) per level, strides (L,), sizes (L, S), "
        "ratios (R,), gt (T, 4), match (T,) anchor indices, codes (T, 4). Anchors: per level, "
        "location-major (row y, then column x, then the R*S base anchors ratio-major, index "
        "r*S + s), levels concatenated; location (y, x) shifts a base anchor by (x, y) * "
        "stride. torchvision: h = s*sqrt(r), w = s/sqrt(r), base anchor round(-w/2, -h/2, "
        "w/2, h/2) with halves to even (torch.round), grid offset 0, widths x2 - x1. "
        "py_faster_rcnn: on the stride x stride box, ws = round(sqrt(stride^2/r)), hs = "
        "round(ws*r) (halves to even), scaled by s/stride, centred at ((stride-1)/2, "
        "(stride-1)/2) with corners ctr -+ (ws-1)/2; widths x2 - x1 + 1. Coder with weights "
        "(wx, wy, ww, wh) = rpn (1, 1, 1, 1) or rcnn (10, 10, 5, 5), centre = x1 + w/2: dx = "
        "wx*(gx - px)/pw, dw = ww*log(gw/pw) (zero gt width: -inf); decode divides by the "
        "weights, clamps dw, dh at log(1000/16) (after the division) before exp, corners ctr "
        "-+ w/2 (x2, y2 minus 1 under py_faster_rcnn, the exact inverse). Outputs in the "
        "float dtype. Must raise: sizes, ratios or strides <= 0, negative grid sizes, empty "
        "sizes or ratios, a match index >= the number of anchors."
    ),
    args=ARGS,
    options=AnchorCoderOptions,
    make_inputs=_make_inputs,
    oracle=anchor_generation_box_coder,
    compare=COMPARE,
    cost=cost,
    outputs=("anchors", "deltas", "boxes"),
    defaults={"seed": 5, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_800x1333",
    multi_block={"T": 300},
    fuzz=fuzz_strategy,
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy"),
    reference="torchvision.models.detection AnchorGenerator / BoxCoder (port: oracle only)",
)

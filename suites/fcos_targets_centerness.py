"""Suite for fcos_targets_centerness: FCOS's per-location training targets (Tian et al. 2019).

Locations: level k of stride s has ceil(H/s) x ceil(W/s) points at (s//2 + j·s, s//2 + i·s),
row-major, levels concatenated. For a location (x, y) and a GT (x1, y1, x2, y2): l = x − x1,
t = y − y1, r = x2 − x, b = y2 − y. The GT is a candidate when the location is inside it
(min(l, t, r, b) > 0, or >= 0 with inside='inclusive'; with centre sampling the test uses the
GT's centre box of half-side radius·s clipped to the GT) and max(l, t, r, b) falls in the
level's size range (lo, hi] (range_bounds='closed': [lo, hi], as FCOS's code). Among
candidates the GT of smallest area wins (equal areas: lower index). Outputs: matched GT
index (-1: background), the regression targets (l, t, r, b) of the matched GT (0 for the
background) and centerness sqrt(min(l, r)/max(l, r) · min(t, b)/max(t, b)) (0 for the
background; a 0/0 ratio counts as 0). Everything in float64, outputs in the boxes' dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, NOT_INVERTED, Arg, Args, Rule, Scalar
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, Exact, Outputs
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class FcosOptions(Options):
    inside: str = option("strict", "inclusive", meaning="min(l, t, r, b) > 0, or >= 0")
    center_sampling: bool = option(
        False, True, meaning="positives only within radius·stride of the GT centre (FCOS v2)"
    )
    range_bounds: str = option(
        "half_open", "closed", meaning="max(l, t, r, b) in (lo, hi], or [lo, hi] (FCOS code)"
    )


def _invert_first(boxes: np.ndarray) -> np.ndarray:
    out = np.array(boxes, copy=True)
    flat = out.reshape(-1, 4)
    flat[0, 2] = flat[0, 0] - 1.0
    return out


def _set_first(value: float) -> Any:
    def violate(x: np.ndarray) -> np.ndarray:
        out = np.array(x, copy=True)
        out.reshape(-1)[0] = value
        return out

    return violate


BOXES = (Rule(NOT_INVERTED.text, NOT_INVERTED.broken, _invert_first), NO_NAN)
POSITIVE = Rule("every value > 0", lambda xp, x: ~(x > 0), _set_first(0))

ARGS = Args(
    Arg("gt_boxes", ("B", "G", 4), "float", rules=BOXES),
    Arg("strides", ("L",), "int", rules=(POSITIVE,)),
    Arg("size_ranges", ("L", 2), "float", rules=(NO_NAN,)),
    Scalar("image_height", "int", low=1),
    Scalar("image_width", "int", low=1),
    Scalar("radius", low=0.0),
    nonempty=("B", "L"),
)
OUTPUTS = ("matched", "reg_targets", "centerness")


def check(gt_boxes: Any, strides: Any, size_ranges: Any, image_height: Any, image_width: Any,
          radius: Any) -> Any:  # fmt: skip
    """ARGS.check, then each range lo < hi and the ranges increasing level to level."""
    dtype = ARGS.check(gt_boxes, strides, size_ranges, image_height, image_width, radius)
    r = np.asarray(size_ranges.tolist(), dtype=np.float64).reshape(-1, 2)
    if (r[:, 0] >= r[:, 1]).any() or (r[1:, 0] < r[:-1, 1]).any():
        raise ValueError("size_ranges must be increasing: lo < hi, each lo >= the previous hi")
    return dtype


def locations(strides: Any, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(P, 2) location coordinates and (P,) level of each, levels concatenated."""
    pts, lvl = [], []
    for k, s in enumerate(int(v) for v in strides.tolist()):
        ys, xs = np.meshgrid(s // 2 + np.arange(-(-height // s)) * s,
                             s // 2 + np.arange(-(-width // s)) * s, indexing="ij")  # fmt: skip
        pts.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        lvl.append(np.full(xs.size, k))
    return np.concatenate(pts).astype(np.float64), np.concatenate(lvl)


def fcos_targets_centerness(gt_boxes: Any, strides: Any, size_ranges: Any, image_height: int,
                            image_width: int, radius: float, opts: FcosOptions) -> Any:  # fmt: skip
    """Oracle, float64: one GT at a time (index order) against every location."""
    dtype = check(gt_boxes, strides, size_ranges, image_height, image_width, radius)
    pts, lvl = locations(strides, image_height, image_width)
    s_of = np.asarray(strides.tolist(), dtype=np.float64)[lvl]
    ranges = np.asarray(size_ranges.tolist(), dtype=np.float64).reshape(-1, 2)
    n_img, n_p = gt_boxes.shape[0], len(pts)
    matched = np.full((n_img, n_p), -1, dtype=np.int64)
    reg = np.zeros((n_img, n_p, 4))
    ctr = np.zeros((n_img, n_p))
    x, y = pts[:, 0], pts[:, 1]
    lo, hi = ranges[lvl, 0], ranges[lvl, 1]
    for b in range(n_img):
        best_area = np.full(n_p, np.inf)
        for j, (x1, y1, x2, y2) in enumerate(np.asarray(gt_boxes[b], np.float64).reshape(-1, 4)):
            ltrb = np.stack([x - x1, y - y1, x2 - x, y2 - y], axis=1)  # (P, 4)
            box = np.array([[x1, y1, x2, y2]])
            if opts.center_sampling:  # the centre box of half-side radius·s, clipped to the GT
                cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, radius * s_of
                near = [np.maximum(cx - half, x1), np.maximum(cy - half, y1)]
                box = np.stack([*near, np.minimum(cx + half, x2), np.minimum(cy + half, y2)], 1)
            gap = np.stack([x - box[:, 0], y - box[:, 1], box[:, 2] - x, box[:, 3] - y]).min(0)
            inside = gap > 0 if opts.inside == "strict" else gap >= 0
            m = ltrb.max(axis=1)
            in_range = ((lo < m) if opts.range_bounds == "half_open" else (lo <= m)) & (m <= hi)
            area = (x2 - x1) * (y2 - y1)
            win = inside & in_range & (area < best_area)  # strict: equal areas keep the lower
            best_area[win], matched[b, win], reg[b, win] = area, j, ltrb[win]
        l, t, r, bb = reg[b].T
        with np.errstate(invalid="ignore", divide="ignore"):
            lr = np.where(np.maximum(l, r) > 0, np.minimum(l, r) / np.maximum(l, r), 0.0)
            tb = np.where(np.maximum(t, bb) > 0, np.minimum(t, bb) / np.maximum(t, bb), 0.0)
        ctr[b] = np.where(matched[b] >= 0, np.sqrt(lr * tb), 0.0)
    return matched, reg.astype(dtype), ctr.astype(dtype)


#: FCOS's ranges; its code writes the open end as INF = 1e8 (finite: it survives casts)
FCOS_RANGES = [[0.0, 64.0], [64.0, 128.0], [128.0, 256.0], [256.0, 512.0], [512.0, 1e8]]


def make_inputs(case: Case) -> Inputs:
    """GTs of 4 px to the image size (log-uniform) inside the image, so every level range is
    used. Patterns: edge (GT sides on location coordinates: l or r exactly 0), equal_area
    (overlapping GTs of equal area), degenerate (zero-width GTs on a location column),
    boundary (max(l, t, r, b) exactly a range bound)."""
    p = case.params
    rng = np.random.default_rng(case.seed)
    h, w = int(p.get("height", 64)), int(p.get("width", 96))
    strides = np.array(p.get("strides", (8, 16, 32)), dtype=np.int64)
    n_img, n_gt = int(p.get("images", 2)), int(p.get("gts", 6))
    pattern = p.get("pattern", "random")
    big = float(p.get("max_size", max(h, w)))
    wh = np.exp(rng.uniform(np.log(4.0), np.log(big), (n_img, n_gt, 2)))
    xy = rng.uniform(0.0, 1.0, (n_img, n_gt, 2)) * np.maximum(np.array([w, h]) - wh, 0.0)
    s0 = int(strides[0])
    if pattern in ("edge", "degenerate", "boundary"):  # corners on level-0 location points
        xy = s0 // 2 + s0 * np.floor(xy / s0)
        wh = s0 * np.maximum(np.round(wh / s0), 1.0)
    if pattern == "degenerate":
        wh[:, ::2, 0] = 0.0
    if pattern == "boundary":  # (64 + s0) x 2·s0 GTs, the odd ones with x1 on the level-1
        wh[..., 0] = 64.0 + s0  # location grid: the level-1 location at x1 + 64 has l = 64,
        wh[..., 1] = 2.0 * s0  # the range bound between levels 0 and 1
        s1 = int(strides[min(1, len(strides) - 1)])
        xy[:, 1::2, 0] = s1 // 2 + s1 * np.floor(xy[:, 1::2, 0] / s1)
    gt = np.concatenate([xy, xy + wh], axis=-1)
    if pattern == "equal_area":  # odd GTs: the previous one transposed about its centre
        c = (gt[:, 0:-1:2, :2] + gt[:, 0:-1:2, 2:]) / 2
        half = (gt[:, 0:-1:2, 2:] - gt[:, 0:-1:2, :2])[..., ::-1] / 2
        gt[:, 1::2] = np.concatenate([c - half, c + half], axis=-1)
    n_l = len(strides)
    ranges = np.array(p.get("ranges", FCOS_RANGES[:n_l]), dtype=np.float64)
    ranges[-1, 1] = 1e8
    dtype = np.dtype(case.dtype)
    return {"gt_boxes": gt.reshape(n_img, n_gt, 4).astype(dtype), "strides": strides,
            "size_ranges": ranges.astype(dtype), "image_height": h, "image_width": w,
            "radius": float(p.get("radius", 1.5))}  # fmt: skip


def _locations(case: Case) -> int:
    p = case.params
    h, w = int(p.get("height", 64)), int(p.get("width", 96))
    return sum((-(-h // s)) * (-(-w // s)) for s in p.get("strides", (8, 16, 32)))


def cost(case: Case) -> Cost:
    """≈ 15 flops per location and GT (4 differences, min, max, range and area tests) and a
    sqrt per location; bytes: GTs read, 6 values per location written (not the L·G
    matrix, which a fused kernel never materialises)."""
    n_p = _locations(case)
    n_img, n_gt = int(case.params.get("images", 2)), int(case.params.get("gts", 6))
    b = np.dtype(case.dtype).itemsize
    return Cost(flops=float(n_img * n_p * (15 * n_gt + 10)),
                bytes=float(n_img * (4 * b * n_gt + n_p * (8 + 5 * b))), items=n_img * n_p,
                item_unit="locations")  # fmt: skip


def _close(case: Case) -> Tolerance:
    """Targets are differences and a sqrt of ratios in float64, rounded once to the output
    dtype: 4 eps relative; atol for coordinates of ~1e3 px."""
    rtol = max(4 * EPS[case.dtype], 1e-12)
    return Tolerance(rtol, rtol * 1e3, f"{case.dtype}: float64 targets, one rounding")


CASES = [
    case("random"),
    case("random_f64", dtype="float64"),
    case("inclusive_edges", dtype="float64", pattern="edge", options={"inside": "inclusive"}),
    case("strict_edges", dtype="float64", pattern="edge"),
    case("center_sampling", dtype="float64", gts=8, options={"center_sampling": True}),
    case("center_sampling_radius_2_5", gts=8, radius=2.5, options={"center_sampling": True}),
    case(
        "closed_ranges",
        dtype="float64",
        pattern="boundary",
        gts=10,
        options={"range_bounds": "closed"},
    ),
    case("half_open_ranges", dtype="float64", pattern="boundary", gts=10),
    case("equal_areas", dtype="float64", pattern="equal_area", gts=8),
    case(
        "five_levels",
        height=160,
        width=224,
        strides=(8, 16, 32, 64, 128),
        gts=10,
        max_size=600.0,
        ranges=[[0, 32], [32, 64], [64, 128], [128, 256], [256, 1e9]],
    ),
    # 160 x 224 at strides 8, 16, 32: 560 + 140 + 35 locations, level 0 past 256
    case("multi_block", height=160, width=224, gts=10),
    # 300 GTs on one image: past a 256-GT block
    case("many_gts", gts=300, images=1, height=48, width=64),
]
EDGES = [
    edge("no_gt", gts=0, images=1),
    edge(
        "degenerate_inclusive",
        dtype="float64",
        pattern="degenerate",
        options={"inside": "inclusive", "range_bounds": "closed"},
    ),
    edge("degenerate_strict", dtype="float64", pattern="degenerate"),
]
ERRORS = [
    error(
        "ranges_not_increasing", ValueError, "size_ranges", ranges=[[0, 64], [32, 128], [128, 1e9]]
    ),
    error("empty_range", ValueError, "size_ranges", ranges=[[0, 64], [64, 64], [128, 1e9]]),
]


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "height": st.integers(8, 96),
            "width": st.integers(8, 96),
            "gts": st.integers(0, 8),
            "images": st.integers(1, 3),
            "pattern": st.sampled_from(["random", "edge", "equal_area", "degenerate", "boundary"]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
        }
    )
    return fuzz_cases(params, FcosOptions.strategy(optional=True))  # fmt: skip


SUITE = Suite(
    algorithm="fcos_targets_centerness",
    family="detection-geometry",
    summary="FCOS targets per location: matched GT (smallest area among those containing it "
    "at a size-range level), (l, t, r, b) and centerness -> (B, P), (B, P, 4), (B, P).",
    conventions=(
        "gt_boxes (B, G, 4); strides (L,) > 0; size_ranges (L, 2), lo < hi and increasing "
        "(else ValueError); locations s//2 + i·s per level, row-major, levels concatenated. "
        "Inside: min(l, t, r, b) > 0 (strict) or >= 0; center_sampling tests against the "
        "centre box of half-side radius·s clipped to the GT. Range: (lo, hi] or [lo, hi] on "
        "max(l, t, r, b). Smallest area wins, equal: lower GT. matched (B, P) int64, -1 "
        "background; reg_targets (B, P, 4) and centerness (B, P) in the boxes' dtype, 0 for "
        "the background; a 0/0 ratio in the centerness counts as 0. Computed in float64."
    ),
    args=ARGS,
    options=FcosOptions,
    make_inputs=make_inputs,
    oracle=fcos_targets_centerness,
    compare=Outputs(
        {
            "matched": Exact(),
            "reg_targets": Close(override=_close),
            "centerness": Close(override=_close),
        }
    ),
    outputs=OUTPUTS,
    cost=cost,
    defaults={"seed": 3, "dtype": "float32"},
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    bench={
        "smoke": [
            bench("bench_small", height=128, width=192, gts=10, strides=(8, 16, 32, 64, 128))
        ],
        # the spec's standard: 800 x 1333, strides 8-128 (≈ 22,000 locations) x 50 GTs, batch 2
        "quick": [bench("bench_800", height=800, width=1333, gts=50, strides=(8, 16, 32, 64, 128))],
        "full": [
            bench(
                "bench_large",
                height=800,
                width=1333,
                gts=100,
                images=16,
                strides=(8, 16, 32, 64, 128),
            )
        ],
    },
    standard="bench_800",
    multi_block={"G": 300},
    fuzz=fuzz_strategy,
    reference="oracle only (FCOS's target rules, ranges and centre sampling as flags)",
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy"),
)

SUITES = [SUITE]

"""Suite for atss_assignment: Adaptive Training Sample Selection (Zhang et al. 2020), the
reference code's rules (ATSS / mmdetection ATSSAssigner).

Per image and GT: on every level, the k anchors whose centres are nearest the GT's centre
(squared Euclidean distance in float64; equal distances: lower anchor index; a level with
fewer than k anchors gives all of them) are the candidates. Their IoUs with the GT give the
threshold mean + std (``ddof``: 1 in the reference code, torch's unbiased std; NumPy's
default would be 0). A candidate is positive for the GT when its IoU >= the threshold and its
centre lies inside the GT (reference: min(l, t, r, b) > 0.01). An anchor positive for several
GTs goes to the one of highest IoU (equal IoUs: lower GT index); every other anchor is
negative (-1). A single candidate has an undefined unbiased std: NaN, as torch gives, so
that GT gets no positive (with ddof = 0 its std is 0).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, NOT_INVERTED, Arg, Args, Rule, Scalar
from harness.cases import bench, case, edge, fuzz_cases
from harness.comparators import Close, Exact, Outputs
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance
from suites.box_iou_axis_aligned import IouOptions, box_iou_axis_aligned

#: min(l, t, r, b) must exceed this for a centre to count as inside its GT.
MARGINS = {"margin": 0.01, "strict": 0.0}


@dataclass(frozen=True)
class AtssOptions(Options):
    ddof: int = option(1, 0, meaning="std of the candidates' IoUs: unbiased (reference) or not")
    center_inside: str = option(
        "margin",
        "strict",
        "off",
        meaning="the anchor centre must be inside the GT with min(l, t, r, b) > 0.01 "
        "(reference code), > 0, or is not tested",
    )


def _invert_first(boxes: np.ndarray) -> np.ndarray:
    out = np.array(boxes, copy=True)
    flat = out.reshape(-1, 4)
    flat[0, 2] = flat[0, 0] - 1.0
    return out


BOXES = (Rule(NOT_INVERTED.text, NOT_INVERTED.broken, _invert_first), NO_NAN)

ARGS = Args(
    Arg("anchors", ("A", 4), "float", rules=BOXES),
    Arg("level_sizes", ("L",), "int"),
    Arg("gt_boxes", ("B", "G", 4), "float", rules=BOXES),
    Scalar("k", "int", low=1),
    nonempty=("A", "B", "L"),
)
OUTPUTS = ("assigned", "thresholds")


def check(anchors: Any, level_sizes: Any, gt_boxes: Any, k: Any) -> Any:
    """ARGS.check, then level_sizes >= 0 summing to A."""
    dtype = ARGS.check(anchors, level_sizes, gt_boxes, k)
    sizes = np.asarray(level_sizes.tolist())
    if (sizes < 0).any() or int(sizes.sum()) != len(anchors):
        raise ValueError(f"level_sizes must be >= 0 and sum to A={len(anchors)}")
    return dtype


def centres(boxes: np.ndarray) -> np.ndarray:
    return np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)


def atss_assignment(anchors: Any, level_sizes: Any, gt_boxes: Any, k: int,
                    opts: AtssOptions) -> Any:  # fmt: skip
    """Oracle, float64: one image, one GT, one level at a time."""
    dtype = check(anchors, level_sizes, gt_boxes, k)
    a = np.asarray(anchors, np.float64)
    ca = centres(a)
    starts = np.concatenate([[0], np.cumsum(level_sizes)])
    n_img, n_gt = gt_boxes.shape[0], gt_boxes.shape[1]
    assigned = np.full((n_img, len(a)), -1, dtype=np.int64)
    thresholds = np.zeros((n_img, n_gt))
    for b in range(n_img):
        gt = np.asarray(gt_boxes[b], np.float64).reshape(-1, 4)
        iou = box_iou_axis_aligned(gt, a, IouOptions())  # (G, A)
        best = np.full(len(a), -np.inf)
        for g in range(n_gt):
            cg = centres(gt[g : g + 1])[0]
            d2 = ((ca - cg) ** 2).sum(axis=1)
            cand = np.concatenate([
                s + np.argsort(d2[s:e], kind="stable")[:k]
                for s, e in itertools.pairwise(starts)
            ])  # fmt: skip
            v = iou[g, cand]
            with np.errstate(invalid="ignore", divide="ignore"):
                std = np.std(v, ddof=opts.ddof) if v.size > opts.ddof else np.nan
            thresholds[b, g] = v.mean() + std
            if opts.center_inside == "off":
                inside = np.ones(cand.size, bool)
            else:
                ltrb = np.stack(
                    [
                        ca[cand, 0] - gt[g, 0],
                        ca[cand, 1] - gt[g, 1],
                        gt[g, 2] - ca[cand, 0],
                        gt[g, 3] - ca[cand, 1],
                    ],
                    axis=1,
                )
                inside = ltrb.min(axis=1) > MARGINS[opts.center_inside]
            for j in cand[(v >= thresholds[b, g]) & inside]:
                if iou[g, j] > best[j]:  # equal IoUs: the earlier (lower) GT stays
                    best[j], assigned[b, j] = iou[g, j], g
    return assigned, thresholds.astype(dtype)


def _pyramid(height: int, width: int, strides: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """One square anchor of side 8·s per location of each level (ATSS's single anchor),
    centred at s/2 + i·s."""
    levels = []
    for s in strides:
        ys, xs = np.meshgrid(s / 2 + np.arange(-(-height // s)) * s,
                             s / 2 + np.arange(-(-width // s)) * s, indexing="ij")  # fmt: skip
        c = np.stack([xs.ravel(), ys.ravel()], axis=1)
        levels.append(np.concatenate([c - 4 * s, c + 4 * s], axis=1))
    return np.concatenate(levels), np.array([len(lv) for lv in levels], dtype=np.int64)


def make_inputs(case: Case) -> Inputs:
    """Anchors of a small pyramid; GTs of 8 px to 0.8 of the image inside it. Patterns:
    ties (GT centres on a level-0 anchor centre: equidistant neighbours), edge (a GT edge
    0.005 from or on an anchor centre), tiny (GTs smaller
    than a stride: few centres inside), same_gt (every GT twice: an anchor claimed twice
    at equal IoU)."""
    p = case.params
    rng = np.random.default_rng(case.seed)
    h, w = int(p.get("height", 64)), int(p.get("width", 96))
    strides = tuple(p.get("strides", (8, 16, 32)))
    anchors, sizes = _pyramid(h, w, strides)
    n_img, n_gt = int(p.get("images", 2)), int(p.get("gts", 6))
    pattern = p.get("pattern", "random")
    lo, hi = (2.0, 6.0) if pattern == "tiny" else (8.0, 0.8 * min(h, w))
    wh = rng.uniform(lo, hi, (n_img, n_gt, 2))
    xy = rng.uniform(0.0, 1.0, (n_img, n_gt, 2)) * (np.array([w, h]) - wh)
    if pattern == "ties":  # centre exactly on a level-0 anchor centre (even sizes)
        wh = 2 * np.round(wh / 2)
        centre = strides[0] / 2 + strides[0] * np.floor(xy / strides[0])
        xy = centre - wh / 2
    if pattern == "edge":  # 2s-square GTs whose left edge is 0.005 left of (even GTs) or
        s0 = strides[0]  # exactly on (odd GTs) a level-0 anchor centre: margin vs strict
        cells = rng.integers(0, max(min(h, w) // s0 - 3, 1), (n_img, n_gt, 2))
        xy = s0 / 2 + s0 * cells + np.array([0.0, 3.0])
        xy[..., 0] -= np.where(np.arange(n_gt) % 2, 0.0, 0.005)
        wh = np.full((n_img, n_gt, 2), 2.0 * s0)
    gt = np.concatenate([xy, xy + wh], axis=-1)
    if pattern == "same_gt":
        gt[:, 1::2] = gt[:, 0:-1:2]
    dtype = np.dtype(case.dtype)
    return {
        "anchors": anchors.astype(dtype),
        "level_sizes": sizes,
        "gt_boxes": gt.reshape(n_img, n_gt, 4).astype(dtype),
        "k": int(p.get("k", 9)),
    }


def cost(case: Case) -> Cost:
    """Per image and GT: 3 flops per anchor distance and 12 per IoU, a k-selection per
    level (≈ 2 per anchor), and ≈ 10 per candidate; bytes: anchors, GTs, assignment."""
    p = case.params
    h, w = int(p.get("height", 64)), int(p.get("width", 96))
    n_a = sum((-(-h // s)) * (-(-w // s)) for s in tuple(p.get("strides", (8, 16, 32))))
    n_img, n_gt = int(p.get("images", 2)), int(p.get("gts", 6))
    b = np.dtype(case.dtype).itemsize
    flops = n_img * n_gt * (17.0 * n_a + 10.0 * int(p.get("k", 9)) * 5)
    return Cost(flops=flops, bytes=float(4 * b * n_a + n_img * (4 * b * n_gt + 8 * n_a)),
                items=n_img, item_unit="images")  # fmt: skip


def _close(case: Case) -> Tolerance:
    """The threshold is a mean and std of ≤ 9·L float64 IoUs rounded once to the output
    dtype: 8 eps (float64 at least 1e-12)."""
    rtol = max(8 * EPS[case.dtype], 1e-12)
    return Tolerance(rtol, rtol, f"{case.dtype}: float64 mean + std, one rounding")


CASES = [
    case("random"),
    case("random_f64", dtype="float64"),
    case("ddof_0", dtype="float64", options={"ddof": 0}),
    case(
        "strict_inside", dtype="float64", pattern="edge", gts=8, options={"center_inside": "strict"}
    ),
    case("margin_inside", dtype="float64", pattern="edge", gts=8),
    case("tiny_gts", dtype="float64", pattern="tiny", gts=10),
    case("no_inside_test", dtype="float64", options={"center_inside": "off"}),
    case("k_3", dtype="float64", k=3),
    case("k_above_level", dtype="float64", k=80),  # the 32-stride level has 6 anchors
    case("distance_ties", dtype="float64", pattern="ties", gts=8, k=3),  # k cuts 4 equidistant
    case("claimed_twice", dtype="float64", pattern="same_gt", gts=6),
    case("many_gts", gts=30, images=1),
    # 160 x 224 at strides 8, 16, 32: 560 + 140 + 35 anchors; level 0 past 256
    case("multi_block", height=160, width=224, gts=12, images=2),
]
EDGES = [
    edge("no_gt", gts=0),
    edge("one_candidate", dtype="float64", k=1, strides=(16,), images=1, gts=3),
    edge(
        "one_candidate_ddof_0",
        dtype="float64",
        k=1,
        strides=(16,),
        images=1,
        gts=3,
        options={"ddof": 0},
    ),
]


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "height": st.integers(16, 96),
            "width": st.integers(16, 96),
            "gts": st.integers(0, 8),
            "images": st.integers(1, 3),
            "k": st.integers(1, 12),
            "pattern": st.sampled_from(["random", "ties", "edge", "tiny", "same_gt"]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
        }
    )
    return fuzz_cases(params, AtssOptions.strategy(optional=True))  # fmt: skip


SUITE = Suite(
    algorithm="atss_assignment",
    family="detection-geometry",
    summary="ATSS: per GT the k nearest anchors per level, IoU threshold mean + std, centre "
    "inside -> assigned GT per anchor (B, A) and thresholds (B, G).",
    conventions=(
        "anchors (A, 4) in L levels of level_sizes (>= 0, summing to A); gt_boxes (B, G, 4); "
        "k >= 1 (ValueError otherwise). Candidates: per level the k anchors of smallest "
        "squared centre distance (float64; equal: lower index; all if fewer). threshold = "
        "mean + std(ddof) of their float64 IoUs (one candidate with ddof=1: NaN, no "
        "positive). Positive: IoU >= threshold and centre inside (center_inside: 'margin' "
        "min(l, t, r, b) > 0.01, 'strict' > 0, 'off'). Several GTs: highest IoU, equal: "
        "lower GT. assigned (B, A) int64, -1 negative; thresholds (B, G) in the boxes' dtype."
    ),
    args=ARGS,
    options=AtssOptions,
    make_inputs=make_inputs,
    oracle=atss_assignment,
    compare=Outputs({"assigned": Exact(), "thresholds": Close(override=_close)}),
    outputs=OUTPUTS,
    cost=cost,
    defaults={"seed": 5, "dtype": "float32"},
    cases=[*CASES, *EDGES],
    bench={
        "smoke": [
            bench("bench_small", height=128, width=192, gts=10, strides=(8, 16, 32, 64, 128))
        ],
        # the spec's standard: 800 x 1333 at strides 8-128 (≈ 22,000 anchors) x 50 GTs
        "quick": [
            bench(
                "bench_800", height=800, width=1333, gts=50, images=1, strides=(8, 16, 32, 64, 128)
            )
        ],
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
    multi_block={"A": 735},
    fuzz=fuzz_strategy,
    backends=("numpy", "torch_cpu", "torch_cuda"),
    reference="oracle only (the ATSS reference code's rules; ddof explicit)",
)

SUITES = [SUITE]

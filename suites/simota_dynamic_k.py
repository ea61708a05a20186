"""Suite for simota_dynamic_k: YOLOX's SimOTA label assignment (Ge et al. 2021), the rules of
YOLOX's ``get_in_boxes_info`` / ``dynamic_k_matching``.

Per image: an anchor (centre c, stride s) is in a GT's box when c lies strictly inside it, and
in its centre region when strictly inside the square of half-side radius·s about the GT
centre. Candidates are the anchors in some GT's box or centre region (candidates='center':
only centre regions, as later YOLOX versions). Over the candidates, cost[g, a] = cls_cost +
3·(−log(IoU + 1e-8)) + 1e5·[a is not in both g's box and g's centre region]. Per GT,
k = max(1, floor(sum of its q largest candidate IoUs)), q = min(q, #candidates); the k
cheapest candidates (equal costs: lower index) are matched; an anchor matched by several
GTs keeps the cheapest (equal: lower GT). No candidate at all: k = 0 and nothing matches.
IoUs (the GT against each anchor's predicted box) and the class cost are inputs; every cost
is computed in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, NOT_INVERTED, Arg, Args, Rule, Scalar
from harness.cases import bench, case, edge, fuzz_cases
from harness.comparators import Exact, Outputs
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite
from suites.box_iou_axis_aligned import IouOptions, box_iou_axis_aligned


@dataclass(frozen=True)
class SimOtaOptions(Options):
    candidates: str = option(
        "box_or_center",
        "center",
        meaning="candidate anchors: in any GT box or centre region (YOLOX), or centre only",
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


UNIT = Rule("IoU in [0, 1]", lambda xp, x: (x < 0) | (x > 1), _set_first(1.5))
POSITIVE = Rule("every value > 0", lambda xp, x: ~(x > 0), _set_first(0))

ARGS = Args(
    Arg("anchor_centres", ("A", 2), "float", rules=(NO_NAN,)),
    Arg("anchor_strides", ("A",), "float", rules=(POSITIVE,)),
    Arg(
        "gt_boxes",
        ("B", "G", 4),
        "float",
        rules=(Rule(NOT_INVERTED.text, NOT_INVERTED.broken, _invert_first), NO_NAN),
    ),
    Arg("pair_ious", ("B", "G", "A"), "float", rules=(NO_NAN, UNIT)),
    Arg("cls_cost", ("B", "G", "A"), "float", rules=(NO_NAN,)),
    Scalar("center_radius", low=0.0),
    Scalar("q", "int", low=1),
    nonempty=("A", "B"),
)
OUTPUTS = ("matched", "dynamic_k")


def geometry(c: np.ndarray, s: np.ndarray, g: np.ndarray, radius: float) -> tuple[Any, Any]:
    """(in_box, in_centre), each (G, A): strict insideness of every anchor centre."""
    x, y = c[None, :, 0], c[None, :, 1]
    in_box = ((x > g[:, None, 0]) & (y > g[:, None, 1]) & (x < g[:, None, 2])
              & (y < g[:, None, 3]))  # fmt: skip
    cx, cy = (g[:, 0] + g[:, 2]) / 2, (g[:, 1] + g[:, 3]) / 2
    half = radius * s[None, :]
    in_ctr = ((x > cx[:, None] - half) & (y > cy[:, None] - half) & (x < cx[:, None] + half)
              & (y < cy[:, None] + half))  # fmt: skip
    return in_box, in_ctr


def simota_dynamic_k(
    anchor_centres: Any,
    anchor_strides: Any,
    gt_boxes: Any,
    pair_ious: Any,
    cls_cost: Any,
    center_radius: float,
    q: int,
    opts: SimOtaOptions,
) -> Any:
    """Oracle, float64: per image the candidates, the cost, one GT at a time."""
    ARGS.check(anchor_centres, anchor_strides, gt_boxes, pair_ious, cls_cost, center_radius, q)
    c, s = np.asarray(anchor_centres, np.float64), np.asarray(anchor_strides, np.float64)
    n_img, n_gt, n_a = gt_boxes.shape[0], gt_boxes.shape[1], len(c)
    matched = np.full((n_img, n_a), -1, dtype=np.int64)
    dynamic_k = np.zeros((n_img, n_gt), dtype=np.int64)
    for b in range(n_img):
        g = np.asarray(gt_boxes[b], np.float64).reshape(-1, 4)
        in_box, in_ctr = geometry(c, s, g, center_radius)
        pool = in_ctr if opts.candidates == "center" else in_box | in_ctr
        cand = np.flatnonzero(pool.any(axis=0))
        if cand.size == 0 or n_gt == 0:
            continue
        iou = np.asarray(pair_ious[b], np.float64)[:, cand]
        cost = (np.asarray(cls_cost[b], np.float64)[:, cand] + 3.0 * -np.log(iou + 1e-8)
                + 1e5 * ~(in_box & in_ctr)[:, cand])  # fmt: skip
        top_q = min(q, cand.size)
        best_cost = np.full(cand.size, np.inf)
        for j in range(n_gt):
            k = max(1, int(np.floor(np.sort(iou[j])[::-1][:top_q].sum())))
            dynamic_k[b, j] = k
            for i in np.argsort(cost[j], kind="stable")[:k]:
                if cost[j, i] < best_cost[i]:  # equal costs: the lower GT stays
                    best_cost[i], matched[b, cand[i]] = cost[j, i], j
    return matched, dynamic_k


def make_inputs(case: Case) -> Inputs:
    """YOLOX's grid on an S x S image (strides 8, 16, 32; centres at (i + 0.5)·s); GTs of
    8 px to S/2; each anchor predicts a box about its centre of 1-6 strides, whose IoU with
    each GT is pair_ious; cls_cost uniform [0, 4). Patterns: ties (costs on a coarse grid:
    cls 0.5 steps, IoUs of the predicted box replaced by 0, 0.25, 0.5 or 1), double (every
    GT twice: double picks), stray (odd GTs 3 px wide between anchor centres), near (every
    IoU 0.2 - 1e-11: ten sum to just under 2)."""
    p = case.params
    rng = np.random.default_rng(case.seed)
    size = int(p.get("size", 64))
    cs, ss = [], []
    for st in (8, 16, 32):
        n = max(size // st, 1)
        ys, xs = np.meshgrid((np.arange(n) + 0.5) * st, (np.arange(n) + 0.5) * st, indexing="ij")
        cs.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        ss.append(np.full(n * n, float(st)))
    c, s = np.concatenate(cs), np.concatenate(ss)
    n_img, n_gt, n_a = int(p.get("images", 2)), int(p.get("gts", 5)), len(c)
    pattern = p.get("pattern", "random")
    wh = rng.uniform(8.0, size / 2, (n_img, n_gt, 2))
    xy = rng.uniform(0.0, 1.0, (n_img, n_gt, 2)) * (size - wh)
    if pattern == "stray":
        wh[:, 1::2] = 3.0
        xy[:, 1::2] = 8.0 * np.floor(xy[:, 1::2] / 8.0) + 0.5  # (8k + 0.5, 8k + 3.5)
    gt = np.concatenate([xy, xy + wh], axis=-1)
    if pattern == "double":
        gt[:, 1::2] = gt[:, 0:-1:2]
    pred_half = s[:, None] * rng.uniform(0.5, 3.0, (n_a, 2))
    pred = np.concatenate([c - pred_half, c + pred_half], axis=1)
    ious = np.stack([box_iou_axis_aligned(gt[b].reshape(-1, 4), pred, IouOptions())
                     for b in range(n_img)])  # fmt: skip
    cls = rng.uniform(0.0, 4.0, (n_img, n_gt, n_a))
    if pattern == "double":
        cls[:, 1::2] = cls[:, 0:-1:2]
    if pattern == "near":  # ten IoUs of 0.2 - 1e-11 sum to 1e-10 below 2: float32 rounds
        ious = np.full_like(ious, 0.2 - 1e-11)  # them to 0.2000000030 and k to 2
    if pattern == "ties":
        cls = np.round(cls * 2) / 2
        ious = np.where(ious > 0, rng.choice([0.25, 0.5, 1.0], ious.shape), 0.0)
    dtype = np.dtype(case.dtype)
    return {"anchor_centres": c.astype(dtype), "anchor_strides": s.astype(dtype),
            "gt_boxes": gt.reshape(n_img, n_gt, 4).astype(dtype),
            "pair_ious": ious.reshape(n_img, n_gt, n_a).astype(dtype),
            "cls_cost": cls.reshape(n_img, n_gt, n_a).astype(dtype),
            "center_radius": float(p.get("radius", 2.5)), "q": int(p.get("q", 10))}  # fmt: skip


def cost(case: Case) -> Cost:
    """≈ 20 flops and a log per GT and anchor (geometry and cost), a top-q and a top-k per GT
    (≈ 2 per anchor); bytes: the two (B, G, A) inputs read once."""
    p = case.params
    size = int(p.get("size", 64))
    n_a = sum(max(size // st, 1) ** 2 for st in (8, 16, 32))
    n_img, n_gt = int(p.get("images", 2)), int(p.get("gts", 5))
    b = np.dtype(case.dtype).itemsize
    return Cost(flops=float(n_img * n_gt * n_a * 25), bytes=float(n_img * n_gt * n_a * 2 * b),
                items=n_img, item_unit="images")  # fmt: skip


CASES = [
    case("random"),
    case("random_f64", dtype="float64"),
    case("center_only", dtype="float64", options={"candidates": "center"}),
    case("cost_ties", dtype="float64", pattern="ties", gts=6),
    case("double_picks", dtype="float64", pattern="double", gts=6),
    case("stray_gts", dtype="float64", pattern="stray", gts=6),
    case("q_3", dtype="float64", q=3),
    case("radius_1_5", radius=1.5, options={"candidates": "center"}),
    case("crowded", dtype="float64", gts=20, images=1),
    # GTs up to 64 px, centre regions of half a stride: many box-only candidates
    case("large_gts", dtype="float64", size=128, gts=6, images=2, radius=0.5),
    # 160 x 160: 400 + 100 + 25 anchors, past a 256 block
    case("multi_block", size=160, gts=8, images=2),
]
EDGES = [
    edge("no_gt", gts=0, images=3),
    edge("near_threshold_f64", dtype="float64", pattern="near", gts=4),
    edge("few_anchors", dtype="float64", size=24, gts=3, images=1),  # 9 + 1 + 1 anchors
    edge(
        "no_candidates",
        dtype="float64",
        pattern="stray",
        gts=1,
        radius=0.0,
        images=1,
        options={"candidates": "center"},
    ),
]


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "size": st.integers(8, 96),
            "gts": st.integers(0, 8),
            "images": st.integers(1, 3),
            "q": st.integers(1, 12),
            "radius": st.sampled_from([0.0, 1.5, 2.5]),
            "pattern": st.sampled_from(["random", "ties", "double", "stray"]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
        }
    )
    return fuzz_cases(params, SimOtaOptions.strategy(optional=True))  # fmt: skip


SUITE = Suite(
    algorithm="simota_dynamic_k",
    family="detection-geometry",
    summary="YOLOX SimOTA: candidates by box / centre region, cost = cls + 3·(−log IoU) + "
    "1e5·outside, dynamic k = floor(sum of top-q IoUs) -> matched (B, A), dynamic_k (B, G).",
    conventions=(
        "anchor_centres (A, 2), anchor_strides (A,) > 0, gt_boxes (B, G, 4), pair_ious "
        "(B, G, A) in [0, 1] (else ValueError), cls_cost (B, G, A); center_radius >= 0; q >= 1. "
        "Insideness strict. Candidates: in some GT's box or centre region (or centre only). "
        "cost in float64; k = max(1, floor(sum of the min(q, #candidates) largest candidate "
        "IoUs)); the k cheapest candidates per GT, equal costs: lower anchor; an anchor "
        "matched twice: the cheaper GT, equal: lower GT. No candidate: k = 0, no match. "
        "matched (B, A) int64 (-1: background), dynamic_k (B, G) int64."
    ),
    args=ARGS,
    options=SimOtaOptions,
    make_inputs=make_inputs,
    oracle=simota_dynamic_k,
    compare=Outputs({"matched": Exact(), "dynamic_k": Exact()}),
    outputs=OUTPUTS,
    cost=cost,
    defaults={"seed": 9, "dtype": "float32"},
    cases=[*CASES, *EDGES],
    bench={
        "smoke": [bench("bench_small", size=160, gts=10, images=2)],
        # the spec's standard: 640 x 640 (8,400 anchors) x 50 GTs, batch 8
        "quick": [bench("bench_640", size=640, gts=50, images=8)],
        "full": [bench("bench_large", size=640, gts=100, images=64)],
    },
    standard="bench_640",
    multi_block={"A": 525},
    near_threshold=("near_threshold_f64",),
    fuzz=fuzz_strategy,
    backends=("numpy", "torch_cpu", "torch_cuda"),
    reference="oracle only (YOLOX get_in_boxes_info / dynamic_k_matching rules)",
)

SUITES = [SUITE]

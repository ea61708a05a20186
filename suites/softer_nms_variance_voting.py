"""Suite for softer_nms_variance_voting: greedy NMS whose kept boxes are variance-voted
(Softer-NMS, He et al. 2019): each kept box becomes a weighted mean of its overlapping
neighbours, weighted by IoU and by the inverse of each coordinate's predicted variance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, NOT_INVERTED, Arg, Args, Rule, Scalar
from harness.cases import bench, case, edge
from harness.comparators import Close, Exact, Outputs
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite

#: sigma_t must be > 0: the smallest normal float64 is the closed lower bound Scalar states.
SIGMA_MIN = float(np.finfo(np.float64).tiny)


@dataclass(frozen=True)
class SofterNmsOptions(Options):
    voters: str = option(
        "overlapping",
        "above_threshold",
        meaning="the boxes that vote for a kept box M: every remaining box with IoU(b, M) > 0 "
        "(paper), or only those with IoU > iou_threshold (the ones NMS suppresses)",
    )
    suppress_with: str = option(
        "voted",
        "original",
        meaning="suppression measures IoU against the voted box (paper) or M as predicted",
    )


def _non_positive(v: np.ndarray) -> np.ndarray:
    out = np.array(v, copy=True)
    out[0, 1] = 0.0
    return out


POSITIVE = Rule("every variance > 0", lambda xp, v: ~(v > 0), _non_positive)

ARGS = Args(
    Arg("boxes", ("N", 4), "float", rules=(NOT_INVERTED,)),
    Arg("scores", ("N",), "float", rules=(NO_NAN,)),
    Arg("variances", ("N", 4), "float", rules=(POSITIVE,)),
    Scalar("iou_threshold", low=0.0, high=1.0),
    Scalar("sigma_t", low=SIGMA_MIN),
)


def iou_row(box: Any, boxes: Any) -> Any:
    """float64 IoU of one box with each of ``boxes`` (continuous areas; 0/0 gives 0)."""
    iw = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    ih = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = (
        (box[2] - box[0]) * (box[3] - box[1])
        + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        - inter
    )
    return np.divide(inter, union, out=np.zeros_like(inter), where=union != 0)


def softer_nms_variance_voting(
    boxes: Any,
    scores: Any,
    variances: Any,
    iou_threshold: float,
    sigma_t: float,
    opts: SofterNmsOptions,
) -> tuple[Any, Any]:
    """Oracle: float64, one pick at a time. Take the highest remaining score (equal scores:
    lower index first); its voters are itself and the remaining boxes with IoU > 0 (or >
    iou_threshold) against it, each weighing p / variance per coordinate with p = exp(-(1 -
    IoU)^2 / sigma_t), original coordinates; the weighted mean is the kept box; every
    remaining box with IoU > iou_threshold against the voted (or original) box is removed."""
    ARGS.check(boxes, scores, variances, iou_threshold, sigma_t)
    b = np.asarray(boxes, dtype=np.float64)
    var = np.asarray(variances, dtype=np.float64)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    alive = np.ones(len(b), dtype=bool)
    keep, voted = [], []
    for m in order:
        if not alive[m]:
            continue
        alive[m] = False
        keep.append(m)
        iou = iou_row(b[m], b)
        floor = 0.0 if opts.voters == "overlapping" else iou_threshold
        vote = alive & (iou > floor)
        vote[m] = True
        p = np.exp(-((1.0 - iou[vote]) ** 2) / sigma_t)[:, None]
        w = p / var[vote]
        box = (w * b[vote]).sum(axis=0) / w.sum(axis=0)
        voted.append(box)
        ref = box if opts.suppress_with == "voted" else b[m]
        alive &= ~(iou_row(ref, b) > iou_threshold)
    return np.array(keep, dtype=np.int64), np.array(voted, dtype=np.float64).reshape(-1, 4)


def make_inputs(case: Case) -> Inputs:
    """Clusters of ~6 jittered boxes (continuous coordinates) with per-coordinate variances
    spread over two decades; uniform scores (no ties unless the case asks)."""
    p = case.params
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    n, pattern = int(p.get("n", 0)), p.get("pattern", "clustered")
    c = max(1, n // 6)
    centres = rng.uniform(20.0, 20.0 + 40.0 * math.sqrt(c), size=(c, 2))
    size = rng.uniform(10.0, 40.0, size=(c, 2))
    label = rng.integers(0, c, size=n)
    centre = centres[label] + rng.normal(0.0, 0.12, size=(n, 2)) * size[label]
    half = size[label] * rng.uniform(0.4, 0.6, size=(n, 2))
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    variances = 10.0 ** rng.uniform(-1.0, 1.0, size=(n, 4))
    scores = rng.uniform(0.05, 1.0, size=n)
    if pattern == "isolated":  # a grid with gaps: no box overlaps another
        cells = np.arange(n)
        xy = np.stack([cells % 10 * 50.0, cells // 10 * 50.0], axis=1)
        boxes = np.concatenate([xy, xy + rng.uniform(5.0, 40.0, size=(n, 2))], axis=1)
    elif pattern == "equal_scores":
        scores = np.full(n, 0.5)
    elif pattern == "tiny_variances":  # 1e-30 .. 1e-28: the weights are 1e28 and more
        variances = variances * 1e-29
    return {
        "boxes": boxes.astype(dtype),
        "scores": scores.astype(dtype),
        "variances": variances.astype(dtype),
        "iou_threshold": float(p.get("iou_threshold", 0.5)),
        "sigma_t": float(p.get("sigma_t", 0.02)),
    }


def cost(case: Case, expected: Any = None) -> Cost:
    """Each of the K kept boxes: an IoU row over the N boxes twice (12 flops each), and the
    vote (~12 flops per voter, at most N). Without the answer every box counts as kept."""
    n = int(case.params.get("n", 0))
    k = n if expected is None else len(expected[0])
    b = np.dtype(case.dtype).itemsize
    return Cost(36.0 * n * k + 1.0, 9.0 * b * n + (8 + 4 * b) * k + 1.0, n, "boxes")


V = {"voters": "above_threshold"}
O = {"suppress_with": "original"}

CASES = [
    case("clustered_f32", n=120),
    case("clustered_f64", n=120, dtype="float64"),
    case("voters_above_t_f64", n=120, dtype="float64", options=V),
    case("suppress_original_f64", n=120, dtype="float64", options=O),
    case("t03_f32", n=90, iou_threshold=0.3, options={**V, **O}),
    # several hundred boxes: past the first block of a blocked or threaded kernel
    case("multi_block", n=300),
    edge("empty", n=0),
    edge("one_box", n=1, dtype="float64"),
    edge("isolated", n=40, pattern="isolated", dtype="float64"),
    edge("equal_scores", n=60, pattern="equal_scores", dtype="float64"),
    edge("sigma_t_tiny", n=60, sigma_t=1e-6, dtype="float64"),
    edge("sigma_t_large", n=60, sigma_t=1e6),
    edge("tiny_variances", n=60, pattern="tiny_variances", dtype="float64"),
    edge("t0_f64", n=60, iou_threshold=0.0, dtype="float64"),
    edge("t1_f64", n=60, iou_threshold=1.0, dtype="float64"),
]

BENCH = {
    "smoke": [bench("bench_200", n=200)],
    "quick": [bench("bench_1000", n=1000)],
    "full": [bench("bench_5000", n=5000)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    return st.builds(
        lambda n, seed, dtype, pattern, t, options: Case(
            "fuzz",
            dict(n=n, seed=seed, dtype=dtype, pattern=pattern, iou_threshold=t),
            options,
            "fuzz",
        ),
        st.integers(0, 40),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        st.sampled_from(["clustered", "isolated", "equal_scores", "tiny_variances"]),
        st.sampled_from([0.3, 0.5, 0.7]),
        SofterNmsOptions.strategy(optional=True),
    )


def _boxes_reduction(case: Case) -> int:
    # a voted coordinate is a weighted mean over up to N voters
    return max(int(case.params.get("n", 0)), 1)


SUITE = Suite(
    algorithm="softer_nms_variance_voting",
    family="detection-geometry",
    summary="Greedy NMS of boxes (N, 4) by score with variance voting -> kept indices (K,) "
    "and voted boxes (K, 4).",
    conventions=(
        "Boxes are (x1, y1, x2, y2), continuous areas, IoU of a zero union is 0. Kept boxes "
        "in descending score order (equal scores: lower index first). For each kept box M: "
        "voters are M and the boxes not yet kept or suppressed with IoU(b, M) > 0 "
        "(voters='overlapping', paper) or > iou_threshold ('above_threshold'), measured on "
        "original coordinates; weight p_i = exp(-(1 - IoU)^2 / sigma_t) / variance_i per "
        "coordinate; the voted box is sum(w b) / sum(w). Then every remaining box with IoU > "
        "iou_threshold (IoU = t is kept) against the voted box (suppress_with='voted', "
        "paper) or the original M is removed. Scores are not rescored (no soft-NMS decay). "
        "Outputs: indices int64, boxes in the input dtype. Must raise ValueError for a "
        "variance <= 0 or NaN, sigma_t <= 0, iou_threshold outside [0, 1], NaN scores, "
        "inverted boxes, mismatched N."
    ),
    args=ARGS,
    options=SofterNmsOptions,
    make_inputs=make_inputs,
    oracle=softer_nms_variance_voting,
    compare=Outputs(
        {
            "indices": Exact(),
            # coordinates up to ~100: atol = rtol x 100
            "boxes": Close(reduction=_boxes_reduction, scale=lambda case: 100.0),
        }
    ),
    cost=cost,
    outputs=("indices", "boxes"),
    defaults={"seed": 17, "dtype": "float32", "iou_threshold": 0.5, "sigma_t": 0.02},
    cases=CASES,
    bench=BENCH,
    standard="bench_1000",
    multi_block={"N": 300},
    backends=("numpy", "numba", "torch_cpu", "torch_cuda"),
    fuzz=fuzz_strategy,
    reference="oracle only (He et al. 2019, Algorithm 1, hard suppression)",
)

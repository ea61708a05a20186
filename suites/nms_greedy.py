"""Suite for nms_greedy: greedy non-maximum suppression of (x1, y1, x2, y2) boxes by score."""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any

import numpy as np

from harness.compare_selection import GreedySelection
from harness.spec import Case, Cost, ErrorCase, Inputs, Suite, Tolerance
from suites.box_iou_axis_aligned import box_iou_axis_aligned, validate_boxes

OPTIONS = {"suppress_if": ("gt", "ge")}  # gt: drop IoU > t, keep IoU == t (torchvision, cv2)


def nms_greedy(boxes: Any, scores: Any, iou_threshold: float, *, suppress_if: str = "gt") -> Any:
    """Oracle: float64; visit boxes by descending score (equal: lower index first)."""
    t = validate_nms_inputs(boxes, scores, iou_threshold, suppress_if)
    b = np.asarray(boxes, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    suppressed = np.zeros(len(s), dtype=bool)
    keep = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(i)
        iou = box_iou_axis_aligned(b[i : i + 1], b)[0]  # zero union gives IoU 0
        suppressed |= iou > t if suppress_if == "gt" else iou >= t
    return np.array(keep, dtype=np.int64)


def check_threshold(iou_threshold: Any, suppress_if: str) -> float:
    """The option and threshold contract (pure Python): returns t as a float."""
    if suppress_if not in OPTIONS["suppress_if"]:
        raise ValueError(
            f"suppress_if must be one of {OPTIONS['suppress_if']}, got {suppress_if!r}"
        )
    if isinstance(iou_threshold, bool) or not isinstance(iou_threshold, numbers.Real):
        raise TypeError(f"iou_threshold must be a real number, got {type(iou_threshold)}")
    t = float(iou_threshold)
    if not 0.0 <= t <= 1.0:  # NaN fails this too
        raise ValueError(f"iou_threshold must be in [0, 1], got {t}")
    return t


def validate_nms_inputs(boxes: Any, scores: Any, iou_threshold: Any, suppress_if: str) -> float:
    """Shape, inverted-box, NaN-score and threshold checks for NumPy, torch or CuPy arrays."""
    t = check_threshold(iou_threshold, suppress_if)
    if isinstance(boxes, np.ndarray):
        validate_boxes(boxes, "boxes")
    else:  # the same contract, written for any array namespace
        if len(boxes.shape) != 2 or boxes.shape[-1] != 4:
            raise ValueError(f"boxes must have shape (K, 4), got {tuple(boxes.shape)}")
        if bool(((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])).any()):
            raise ValueError("boxes has inverted boxes (x2 < x1 or y2 < y1)")
    if len(scores.shape) != 1:
        raise ValueError(f"scores must be 1-D, got shape {tuple(scores.shape)}")
    if scores.shape[0] != boxes.shape[0]:
        raise ValueError(
            f"scores has {scores.shape[0]} entries but boxes has {boxes.shape[0]} rows"
        )
    if bool((scores != scores).any()):
        raise ValueError("scores contain NaN")
    return t


def _clustered(rng: np.random.Generator, n: int) -> np.ndarray:
    """~8 jittered boxes per cluster: greedy NMS at t = 0.5 keeps about 30 % of them."""
    c = max(1, n // 8)
    centres = rng.uniform(20.0, 20.0 + 30.0 * math.sqrt(c), size=(c, 2))
    base = rng.uniform(8.0, 30.0, size=(c, 2))
    label = rng.integers(0, c, size=n)
    centre = centres[label] + rng.normal(0.0, 0.15, size=(n, 2)) * base[label]
    half = base[label] * rng.uniform(0.4, 0.625, size=(n, 2))
    return np.concatenate([centre - half, centre + half], axis=1)


def _chains(rng: np.random.Generator, n: int, ratio: str) -> np.ndarray:
    """Chains of 3 boxes, neighbours at IoU exactly 1/3 ("third") or 1/2 ("half")."""
    width = 2.0 if ratio == "third" else 3.0  # IoU of a unit shift = (w - 1) / (w + 1)
    out = []
    for i in range(n // 3):
        s = 2.0 ** int(rng.integers(-2, 3))  # powers of two keep every value exact
        x, y = 16.0 * i, float(rng.integers(0, 8))
        out += [[x + k * s, y, x + (k + width) * s, y + s] for k in range(3)]
    return np.array(out, dtype=np.float64).reshape(-1, 4)


def _near(rng: np.random.Generator, n: int, t: float, eps: float) -> np.ndarray:
    """Pairs whose IoU is t to within a few eps: the dtype decides which side they fall.

    x stays in [0, 40] (small ulp) and each pair gets its own row, so pairs never touch.
    """
    w = rng.integers(5, 21, size=(n // 2, 1)).astype(np.float64)
    y = 32.0 * np.arange(n // 2)[:, None]
    dx = w * (1 - t) / (1 + t) * (1 + rng.uniform(-4, 4, size=w.shape) * eps)
    a = np.concatenate([0 * w, y, w, y + w], axis=1)
    b = np.concatenate([dx, y, dx + w, y + w], axis=1)
    return np.stack([a, b], axis=1).reshape(-1, 4)


def _scores(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    if kind == "levels":  # four values: many ties
        return rng.integers(0, 4, size=n) / 4.0
    if kind == "equal":
        return np.full(n, 0.5)
    if kind == "negative":  # includes both signed zeros, which tie
        s = -rng.uniform(0.0, 10.0, size=n)
        s[::5], s[1::5] = 0.0, -0.0
        return s
    return rng.uniform(0.0, 1.0, size=n)


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    n, t, pattern = int(p.get("n", 0)), p.get("iou_threshold", 0.5), p.get("pattern", "")
    boxes = _clustered(rng, n)
    if pattern == "identical":
        boxes = np.tile(boxes[:1], (n, 1))
    elif pattern == "disjoint":  # a grid with gaps wider than any box
        cells = np.arange(n)
        boxes = np.stack([cells % 10 * 30.0, cells // 10 * 30.0], axis=1)
        boxes = np.concatenate([boxes, boxes + rng.uniform(1.0, 25.0, size=(n, 2))], axis=1)
    elif pattern in ("third", "half"):
        boxes = _chains(rng, n, pattern)
    elif pattern == "degenerate":  # points, lines and duplicated points among normal boxes
        boxes[::3, 2:] = boxes[::3, :2]
        boxes[1::5, 3] = boxes[1::5, 1]
        boxes[6::9] = boxes[3::9][: len(boxes[6::9])]
    elif pattern == "near":
        boxes = _near(rng, n, float(t), float(np.finfo(dtype).eps))
    scores = _scores(rng, len(boxes), p.get("scores", "uniform"))
    if pattern == "nan_score":
        scores[1] = np.nan
    elif pattern == "inverted":
        boxes[1, [0, 2]] = boxes[1, [2, 0]]
    elif pattern == "boxes_1d":
        boxes = boxes.reshape(-1)
    elif pattern == "boxes_3col":
        boxes = boxes[:, :3]
    elif pattern == "scores_2d":
        scores = scores[:, None]
    elif pattern == "length_mismatch":
        scores = scores[:-1]
    elif pattern == "threshold_nan":
        t = math.nan
    return {"boxes": boxes.astype(dtype), "scores": scores.astype(dtype), "iou_threshold": float(t)}


@functools.lru_cache(maxsize=64)
def _kept(case_json: str) -> int:
    case = Case.from_json(case_json)
    try:
        return len(nms_greedy(*make_inputs(case).values(), **case.options))
    except (ValueError, TypeError):
        return int(case.params.get("n", 0))


def cost(case: Case) -> Cost:
    n, k = int(case.params.get("n", 0)), _kept(case.to_json())
    b = np.dtype(case.dtype).itemsize
    # stable sort, then 12 flops per IoU of each kept box with the N boxes (ALGORITHMS.md)
    return Cost(n * math.log2(max(n, 2)) + 12.0 * n * k, 5.0 * b * n + 8.0 * k, n, "boxes")


def _case(name: str, kind: str = "regular", t: float = 0.5, ge: bool = False, **p: Any) -> Case:
    p = {"seed": 11, "dtype": "float32", "iou_threshold": t, **p}
    return Case(name, p, {"suppress_if": "ge"} if ge else {}, kind)


CASES = [
    _case("clustered_f32", n=300),
    _case("clustered_f64", n=300, dtype="float64"),
    _case("clustered_ge_f64", n=300, dtype="float64", ge=True),
    _case("clustered_t03_f32", n=300, t=0.3),
    _case("empty", "edge", n=0),
    _case("single", "edge", n=1),
    _case("all_identical", "edge", n=30, pattern="identical"),
    _case("all_disjoint", "edge", n=60, pattern="disjoint"),
    _case("threshold_zero", "edge", n=100, t=0.0),
    _case("threshold_zero_ge", "edge", n=40, t=0.0, pattern="degenerate", ge=True),
    _case("threshold_one", "edge", n=30, t=1.0, pattern="identical"),
    _case("threshold_one_ge", "edge", n=30, t=1.0, pattern="identical", ge=True),
    _case("iou_exactly_third_f32", "edge", n=60, t=1 / 3, pattern="third"),
    _case("iou_exactly_third_ge_f64", "edge", 1 / 3, True, n=60, dtype="float64", pattern="third"),
    _case("iou_exactly_half_f64", "edge", n=60, pattern="half", dtype="float64"),
    _case("iou_exactly_half_ge_f32", "edge", n=60, pattern="half", ge=True),
    _case("equal_scores_levels", "edge", n=200, scores="levels"),
    _case("equal_scores_all", "edge", n=100, scores="equal", dtype="float64"),
    _case("equal_scores_third", "edge", 1 / 3, True, n=60, pattern="third", scores="levels"),
    _case("negative_scores", "edge", n=200, scores="negative"),
    _case("zero_area_boxes", "edge", n=90, pattern="degenerate"),
    _case("near_threshold_f32", "edge", n=200, pattern="near"),
    _case("near_threshold_f64", "edge", n=200, pattern="near", dtype="float64"),
]


def _error(name: str, match: str, **params: Any) -> ErrorCase:
    return ErrorCase(name, dict(_case(name, n=6, **params).params), (ValueError,), match)


ERRORS = [
    _error("nan_score", r"scores.*NaN", pattern="nan_score"),
    _error("threshold_nan", r"iou_threshold.*\[0, 1\]", pattern="threshold_nan"),
    _error("threshold_negative", r"iou_threshold.*\[0, 1\]", t=-0.1),
    _error("threshold_above_one", r"iou_threshold.*\[0, 1\]", t=1.5),
    _error("inverted_boxes", r"inverted", pattern="inverted"),
    _error("boxes_wrong_ndim", r"boxes.*\(K, 4\)", pattern="boxes_1d"),
    _error("boxes_wrong_trailing_dim", r"boxes.*\(K, 4\)", pattern="boxes_3col"),
    _error("scores_wrong_ndim", r"scores.*1-D", pattern="scores_2d"),
    _error("length_mismatch", r"scores.*boxes", pattern="length_mismatch"),
]

BENCH = {
    "smoke": [_case("bench_50", "bench", n=50)],
    "quick": [
        _case("bench_200", "bench", n=200),
        _case("bench_1000", "bench", n=1000),
        _case("bench_5000", "bench", n=5000),
    ],
    "full": [_case("bench_20000", "bench", n=20000)],
}


def _fuzz_case(
    n: int, seed: int, dtype: str, pattern: str, scores: str, t: float, ge: bool
) -> Case:
    return _case("fuzz", "fuzz", t, ge, n=n, seed=seed, dtype=dtype, pattern=pattern, scores=scores)


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    return st.builds(
        _fuzz_case,
        st.integers(0, 60),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        st.sampled_from(["", "identical", "disjoint", "third", "half", "degenerate", "near"]),
        st.sampled_from(["uniform", "levels", "equal", "negative"]),
        st.sampled_from([0.0, 0.25, 1 / 3, 0.5, 0.7, 1.0]),
        st.booleans(),
    )


def _exact_iou(case: Case) -> Tolerance | None:
    """No margin where every IoU is exact in every dtype, so gt vs ge is tested strictly."""
    if case.params.get("pattern") not in ("half", "identical", "disjoint"):
        return None
    reason = "small integer x power-of-two boxes: IoU 0, 1/5, 1/2 or 1 is exact in any dtype"
    return Tolerance(0.0, 0.0, reason + "; equal scores may be taken in any order")


SUITE = Suite(
    algorithm="nms_greedy",
    family="detection-geometry",
    summary="Greedy NMS of boxes (N, 4) by scores (N,) at iou_threshold -> kept indices (K,).",
    conventions=(
        "Boxes are (x1, y1, x2, y2) with x2 >= x1, y2 >= y1 (inverted boxes raise ValueError); "
        "IoU is continuous and 0 where the union is 0. Boxes are visited by descending score, "
        "equal scores lower index first; each kept box drops every remaining box with IoU > t "
        "(suppress_if='gt', default; torchvision, cv2) or IoU >= t ('ge'). Returns int64 "
        "indices of the kept boxes in visiting order (empty int64 for N = 0). Raises "
        "ValueError on NaN scores, iou_threshold NaN or outside [0, 1], shape errors and "
        "len(scores) != len(boxes). Compared tie- and threshold-aware: any valid greedy "
        "trace passes (equal scores in any order, IoU within a dtype margin of t either way)."
    ),
    make_inputs=make_inputs,
    oracle=nms_greedy,
    compare=GreedySelection(override=_exact_iou),
    cost=cost,
    cases=CASES,
    error_cases=ERRORS,
    bench=BENCH,
    standard="bench_1000",
    options=OPTIONS,
    fuzz=fuzz_strategy,
    reference="cv2.dnn.NMSBoxes (xywh adapter); torchvision.ops.nms semantics",
)

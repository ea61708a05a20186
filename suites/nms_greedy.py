"""Suite for nms_greedy: greedy non-maximum suppression of (x1, y1, x2, y2) boxes by score."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, NOT_INVERTED, Arg, Args, Scalar
from harness.cases import bench, case, edge
from harness.comparators import GreedySelection
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance
from suites.box_iou_axis_aligned import IouOptions, box_iou_axis_aligned


@dataclass(frozen=True)
class NmsOptions(Options):
    suppress_if: str = option(
        "gt", "ge", meaning="drop IoU > t, keep IoU == t (torchvision, cv2); or drop IoU >= t"
    )


ARGS = Args(
    Arg("boxes", ("N", 4), "real", rules=(NOT_INVERTED,)),
    Arg("scores", ("N",), "real", rules=(NO_NAN,)),
    Scalar("iou_threshold", low=0.0, high=1.0),
)

_IOU = IouOptions()  # box_iou's continuous convention: zero union gives IoU 0


def nms_greedy(boxes: Any, scores: Any, iou_threshold: float, opts: NmsOptions) -> Any:
    """Oracle: float64; visit boxes by descending score (equal: lower index first)."""
    ARGS.check(boxes, scores, iou_threshold)
    t = float(iou_threshold)
    b = np.asarray(boxes, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    suppressed = np.zeros(len(s), dtype=bool)
    keep = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(i)
        iou = box_iou_axis_aligned(b[i : i + 1], b, _IOU)[0]
        suppressed |= iou > t if opts.suppress_if == "gt" else iou >= t
    return np.array(keep, dtype=np.int64)


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
    n, t, pattern = int(p.get("n", 0)), float(p["iou_threshold"]), p.get("pattern", "")
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
    elif pattern == "near":  # within a few eps of ``ulps`` (default: the input dtype) of t
        boxes = _near(rng, n, t, float(np.finfo(p.get("ulps", dtype)).eps))
    scores = _scores(rng, len(boxes), p.get("scores", "uniform"))
    return {"boxes": boxes.astype(dtype), "scores": scores.astype(dtype), "iou_threshold": t}


def cost(case: Case, expected: Any = None) -> Cost:
    """Stable sort, then 12 flops per IoU of each kept box with the N boxes (ALGORITHMS.md).
    The kept count comes from the oracle's answer; without it (a caller that has none) all N
    boxes count as kept, an upper bound."""
    n = int(case.params.get("n", 0))
    k = n if expected is None else len(expected)
    b = np.dtype(case.dtype).itemsize
    return Cost(n * math.log2(max(n, 2)) + 12.0 * n * k, 5.0 * b * n + 8.0 * k, n, "boxes")


GE = {"suppress_if": "ge"}
THIRD = 1 / 3

CASES = [
    case("clustered_f32", n=300),
    case("clustered_f64", n=300, dtype="float64"),
    case("clustered_ge_f64", n=300, dtype="float64", options=GE),
    case("clustered_t03_f32", n=300, iou_threshold=0.3),
    # torch_blocked_mask sweeps row blocks of 512 sorted boxes and cupy_bitmask 64 x 64 tiles
    # (64-box mask words): 600 boxes run two torch blocks and ten CUDA tiles a side
    case("multi_block", n=600),
    edge("empty", n=0),
    edge("single", n=1),
    edge("all_identical", n=30, pattern="identical"),
    edge("all_disjoint", n=60, pattern="disjoint"),
    edge("threshold_zero", n=100, iou_threshold=0.0),
    edge("threshold_zero_ge", n=40, iou_threshold=0.0, pattern="degenerate", options=GE),
    edge("threshold_one", n=30, iou_threshold=1.0, pattern="identical"),
    edge("threshold_one_ge", n=30, iou_threshold=1.0, pattern="identical", options=GE),
    edge("iou_exactly_third_f32", n=60, iou_threshold=THIRD, pattern="third"),
    edge(
        "iou_exactly_third_ge_f64",
        n=60,
        iou_threshold=THIRD,
        pattern="third",
        dtype="float64",
        options=GE,
    ),
    edge("iou_exactly_half_f64", n=60, pattern="half", dtype="float64"),
    edge("iou_exactly_half_ge_f32", n=60, pattern="half", options=GE),
    edge("equal_scores_levels", n=200, scores="levels"),
    edge("equal_scores_all", n=100, scores="equal", dtype="float64"),
    edge(
        "equal_scores_third",
        n=60,
        iou_threshold=THIRD,
        pattern="third",
        scores="levels",
        options=GE,
    ),
    edge("negative_scores", n=200, scores="negative"),
    edge("zero_area_boxes", n=90, pattern="degenerate"),
    # IoU within a few eps of t: inside the comparator's margin, either decision passes
    edge("near_threshold_f32", n=200, pattern="near"),
    edge("near_threshold_f64", n=200, pattern="near", dtype="float64"),
    # float64 boxes whose IoU sits a few float32 eps from t = 0.7 (not a float32 value): outside
    # the float64 margin, so computing the IoU in float32, or rounding t to float32, fails
    edge(
        "near_threshold_f64_f32ulps",
        n=200,
        iou_threshold=0.7,
        pattern="near",
        dtype="float64",
        ulps="float32",
    ),
]

BENCH = {
    "smoke": [bench("bench_50", n=50)],
    "quick": [bench("bench_200", n=200), bench("bench_1000", n=1000), bench("bench_5000", n=5000)],
    "full": [bench("bench_20000", n=20000)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    options = st.fixed_dictionaries(
        {}, optional={"suppress_if": st.sampled_from(NmsOptions.flag("suppress_if").values)}
    )
    return st.builds(
        lambda n, seed, dtype, pattern, scores, t, options: Case(
            "fuzz",
            dict(n=n, seed=seed, dtype=dtype, pattern=pattern, scores=scores, iou_threshold=t),
            options,
            "fuzz",
        ),
        st.integers(0, 60),  # hypothesis draws the ends (0: empty) now and then
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        st.sampled_from(["", "identical", "disjoint", "third", "half", "degenerate", "near"]),
        st.sampled_from(["uniform", "levels", "equal", "negative"]),
        st.sampled_from([0.0, 0.25, THIRD, 0.5, 0.7, 1.0]),
        options,
    )


def _exact_iou(case: Case) -> Tolerance | None:
    """No margin where every IoU is exact in every dtype, so gt vs ge is tested strictly."""
    if case.params.get("pattern") not in ("half", "identical", "disjoint"):
        return None
    reason = "small integer x power-of-two boxes: IoU 0, 1/5, 1/2 or 1 is exact in any dtype"
    return Tolerance(0.0, 0.0, reason + "; equal scores may be taken in any order")


def _suppress_if(case: Case) -> str:
    return NmsOptions(**case.options).suppress_if


def _zero_area_pair(inputs: Inputs) -> bool:
    """Two or more zero-area boxes: what OpenCV's overlap (1 - jaccardDistance, 0 when the
    areas sum to <= eps) counts as IoU 1 however far apart they are."""
    b = np.asarray(inputs["boxes"], dtype=np.float64)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return int(np.count_nonzero(area == 0)) >= 2


def _float32_near_threshold(inputs: Inputs) -> bool:
    """A pair whose IoU differs from t by less than a few float32 ulps of 1: OpenCV decides
    on 1 - float32(1 - IoU), which cannot tell such an IoU from t."""
    b = np.asarray(inputs["boxes"], dtype=np.float64)
    if not len(b) or not np.isfinite(b).all():
        return False
    gap = np.abs(box_iou_axis_aligned(b, b, _IOU) - float(inputs["iou_threshold"]))
    np.fill_diagonal(gap, np.inf)
    return bool(((gap > 0) & (gap <= 2.0**-21)).any())


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
        "len(scores) != len(boxes); TypeError for a non-numeric dtype (bool) or a "
        "non-number iou_threshold. Compared tie- and threshold-aware: any valid greedy "
        "trace passes (equal scores in any order, IoU within a dtype margin of t either way)."
    ),
    args=ARGS,
    options=NmsOptions,
    make_inputs=make_inputs,
    oracle=nms_greedy,
    compare=GreedySelection(rule=_suppress_if, override=_exact_iou),
    cost=cost,
    defaults={"seed": 11, "dtype": "float32", "iou_threshold": 0.5},
    cases=CASES,
    bench=BENCH,
    standard="bench_1000",
    multi_block={"N": 600},
    near_threshold=("near_threshold_f64_f32ulps",),
    fuzz=fuzz_strategy,
    divergent_inputs={
        "zero_area_boxes": _zero_area_pair,
        "near_threshold_f64_f32ulps": _float32_near_threshold,
    },
    reference="cv2.dnn.NMSBoxes (xywh adapter); torchvision.ops.nms semantics",
)


# ---- batched (class-aware) mode: classes never suppress each other -------------------------

BATCHED_ARGS = Args(
    Arg("boxes", ("N", 4), "real", rules=(NOT_INVERTED,)),
    Arg("scores", ("N",), "real", rules=(NO_NAN,)),
    Arg("idxs", ("N",), "int"),
    Scalar("iou_threshold", low=0.0, high=1.0),
)


def nms_greedy_batched(
    boxes: Any, scores: Any, idxs: Any, iou_threshold: float, opts: NmsOptions
) -> Any:
    """Oracle: float64; greedy NMS within each class id separately (nms_greedy on its
    members), then the kept boxes of every class by descending score (equal: lower index)."""
    BATCHED_ARGS.check(boxes, scores, idxs, iou_threshold)
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64)
    c = np.asarray(idxs, dtype=np.int64)
    keep: list[int] = []
    for k in np.unique(c):
        members = np.flatnonzero(c == k)
        keep += members[nms_greedy(b[members], s[members], iou_threshold, opts)].tolist()
    kept = np.array(keep, dtype=np.int64)
    return kept[np.lexsort((kept, -s[kept]))]


def make_batched_inputs(case: Case) -> Inputs:
    """The plain suite's boxes and scores, and class ids drawn from ``classes`` values (one
    stream after the boxes'); ``ids`` may map them to other integers."""
    inputs = make_inputs(case)
    p = case.params
    n = len(inputs["scores"])
    rng = np.random.default_rng(case.seed + 101)
    idxs = rng.integers(0, int(p.get("classes", 4)), size=n)
    if p.get("ids") == "sparse":  # negative and large ids: no bincount, no small offsets
        idxs = np.array([-7, 0, 3, 1000])[idxs % 4]
    elif p.get("ids") == "own":  # every box its own class: all are kept
        idxs = np.arange(n)
    return {
        "boxes": inputs["boxes"],
        "scores": inputs["scores"],
        "idxs": idxs.astype(np.int64),
        "iou_threshold": inputs["iou_threshold"],
    }


def batched_cost(case: Case, expected: Any = None) -> Cost:
    """nms_greedy's cost, plus the class ids read once."""
    plain = cost(case, expected)
    n = int(case.params.get("n", 0))
    return Cost(plain.flops, plain.bytes + 8.0 * n, n, "boxes")


@dataclass(frozen=True)
class ClassAwareSelection(GreedySelection):
    """GreedySelection on boxes moved apart by class (float64, exact for the suite's small
    coordinates): boxes of different classes never overlap, so any valid class-wise trace
    passes and a box suppressed across classes fails."""

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Any:
        b = np.asarray(inputs["boxes"], dtype=np.float64).reshape(-1, 4)
        c = np.asarray(inputs["idxs"], dtype=np.int64)
        if b.size and np.isfinite(b).all():
            _, rank = np.unique(c, return_inverse=True)  # 0, 1, 2, ... in id order
            span = float(np.ceil(b.max() - b.min())) + 1.0
            b = b + (rank.reshape(-1) * span)[:, None]
        return super().__call__(actual, expected, {**inputs, "boxes": b}, case, tol)


_B: dict[str, Any] = {"classes": 4}

BATCHED_CASES = [
    case("clustered_f32", n=300, **_B),
    case("clustered_f64", n=300, dtype="float64", **_B),
    case("clustered_ge_f64", n=300, dtype="float64", options=GE, **_B),
    case("two_classes_t03_f32", n=300, iou_threshold=0.3, classes=2),
    case("multi_block", n=600, **_B),
    case("sparse_ids_f64", n=200, dtype="float64", ids="sparse"),
    edge("empty", n=0),
    edge("single", n=1),
    edge("one_class", n=200, classes=1),
    edge("every_box_its_own_class", n=60, ids="own"),
    edge("identical_boxes_across_classes", n=40, pattern="identical", classes=5),
    edge("iou_exactly_half_f64", n=60, pattern="half", dtype="float64", classes=2),
    edge("iou_exactly_half_ge_f32", n=60, pattern="half", options=GE, classes=2),
    edge("equal_scores_levels", n=200, scores="levels", **_B),
    edge("negative_scores", n=200, scores="negative", **_B),
    edge("zero_area_boxes", n=90, pattern="degenerate", classes=2),
    # float64 pairs a few float32 eps from t = 0.7, about half of them in one class
    edge(
        "near_threshold_f64_f32ulps",
        n=200,
        iou_threshold=0.7,
        pattern="near",
        dtype="float64",
        ulps="float32",
        classes=2,
    ),
]

BATCHED_SUITE = Suite(
    algorithm="nms_greedy.batched",
    mode="batched",
    family="detection-geometry",
    summary="Class-aware greedy NMS (torchvision batched_nms): boxes (N, 4), scores (N,), "
    "class ids idxs (N,) -> kept indices (K,), classes never suppressing each other.",
    conventions=(
        "As nms_greedy within each class id (any int64 values; boxes of different classes "
        "never suppress each other, however much they overlap). Returns int64 indices of the "
        "kept boxes of every class by descending score, equal scores lower index first "
        "(torchvision's batched_nms sorts the same way). Raises as nms_greedy, and TypeError "
        "for non-integer idxs. Compared tie- and threshold-aware within each class."
    ),
    args=BATCHED_ARGS,
    options=NmsOptions,
    make_inputs=make_batched_inputs,
    oracle=nms_greedy_batched,
    compare=ClassAwareSelection(rule=_suppress_if, override=_exact_iou),
    cost=batched_cost,
    defaults={"seed": 11, "dtype": "float32", "iou_threshold": 0.5},
    cases=BATCHED_CASES,
    bench={
        "smoke": [bench("bench_50", n=50, classes=4)],
        "quick": [bench("bench_1000", n=1000, classes=8)],
        "full": [bench("bench_5000", n=5000, classes=8), bench("bench_20000", n=20000, classes=8)],
    },
    standard="bench_1000",
    multi_block={"N": 600},
    near_threshold=("near_threshold_f64_f32ulps",),
    backends=("python", "numpy", "numba", "torch_cpu", "torch_cuda", "cupy"),
    fuzz=lambda: _batched_fuzz(),
    divergent_inputs={
        "zero_area_boxes": _zero_area_pair,
        "near_threshold_f64_f32ulps": _float32_near_threshold,
    },
    reference="cv2.dnn.NMSBoxesBatched (xywh adapter); torchvision.ops.batched_nms semantics",
)


def _batched_fuzz() -> Any:
    from hypothesis import strategies as st

    return st.builds(
        lambda n, seed, dtype, pattern, scores, t, classes, options: Case(
            "fuzz",
            dict(
                n=n,
                seed=seed,
                dtype=dtype,
                pattern=pattern,
                scores=scores,
                iou_threshold=t,
                classes=classes,
            ),
            options,
            "fuzz",
        ),
        st.integers(0, 60),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        st.sampled_from(["", "identical", "disjoint", "third", "half", "degenerate"]),
        st.sampled_from(["uniform", "levels", "equal", "negative"]),
        st.sampled_from([0.0, 0.25, THIRD, 0.5, 0.7, 1.0]),
        st.integers(1, 6),
        NmsOptions.strategy(optional=True),
    )


SUITES = [SUITE, BATCHED_SUITE]

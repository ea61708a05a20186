"""Suite for classification_accuracy: top-k accuracy of class scores, and the multi-label
subset and Hamming accuracies of thresholded probabilities.

top_k: the fraction of rows whose label is among the k highest scores, ties broken by index
(lower first: torch CPU and NumPy argmax; higher first: scikit-learn's reversed stable sort),
i.e. #{j: s_j > s_y} + #{j before y in the tie order: s_j = s_y} < k. subset / hamming:
predictions p > 0.5 (or >= 0.5) against 0/1 targets, whole rows right or elementwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, Arg, Args, Scalar
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class AccuracyOptions(Options):
    task: str = option(
        "top_k",
        "subset",
        "hamming",
        meaning="top_k: target (N,) labels, label among the k highest scores; subset: "
        "multi-label, every class of a row right; hamming: multi-label, the fraction of "
        "(row, class) pairs right",
    )
    tie_break: str = option(
        "lower_index",
        "higher_index",
        meaning="top_k among equal scores: the lower class index ranks first (torch CPU, "
        "NumPy argmax) or the higher one (sklearn top_k_accuracy_score's reversed stable sort)",
    )
    threshold: str = option(
        "gt", "ge", meaning="multi-label prediction: probability > 0.5 (default) or >= 0.5"
    )


ARGS = Args(
    Arg("scores", ("N", "C"), "float", rules=(NO_NAN,)),
    # (N,) int labels for top_k, (N, C) 0/1 indicators for the multi-label tasks
    Arg("target", ("N", "*T"), "int", star=(0, 1)),
    Scalar("k", "int", low=1),
    nonempty=("N", "C"),
)


def check(scores: Any, target: Any, k: Any, opts: AccuracyOptions) -> tuple[int, int]:
    """ARGS, then the target's shape and values for the task; returns (N, C)."""
    ARGS.check(scores, target, k)
    if isinstance(target, list):  # the pure-Python backend's lists, read through NumPy
        scores, target = np.asarray(scores), np.asarray(target)
    n, c = (int(v) for v in scores.shape)
    t_shape = tuple(int(v) for v in target.shape)
    if opts.task == "top_k":
        if len(t_shape) != 1:
            raise ValueError(f"target must be (N,) labels for task='top_k', got {t_shape}")
        lo, hi = int(target.min()), int(target.max())
        if lo < 0 or hi >= c:
            raise ValueError(f"target labels must be in [0, C) = [0, {c}), got {lo}..{hi}")
    else:
        if t_shape != (n, c):
            raise ValueError(f"target must be (N, C) = {(n, c)} 0/1 indicators, got {t_shape}")
        if bool(((target != 0) & (target != 1)).any()):
            raise ValueError("target must hold 0/1 indicators for the multi-label tasks")
    return n, c


def classification_accuracy(scores: Any, target: Any, k: Any, opts: AccuracyOptions) -> Any:
    """Oracle: float64 rank counting per row (top_k), thresholding (multi-label); returns a
    0-d float64 fraction."""
    n, c = check(scores, target, k, opts)
    s, t = np.asarray(scores, dtype=np.float64), np.asarray(target)
    if opts.task == "top_k":
        hits = 0
        for i in range(n):
            y = int(t[i])
            before = np.arange(c) < y if opts.tie_break == "lower_index" else np.arange(c) > y
            rank = int((s[i] > s[i, y]).sum()) + int(((s[i] == s[i, y]) & before).sum())
            hits += rank < int(k)
        return np.asarray(hits / n)
    pred = s > 0.5 if opts.threshold == "gt" else s >= 0.5
    right = pred == (t == 1)
    if opts.task == "subset":
        return np.asarray(int(right.all(axis=1).sum()) / n)
    return np.asarray(int(right.sum()) / (n * c))


def make_inputs(case: Case) -> Inputs:
    """top_k: N(0, 1) scores with the label's score raised by `boost` (about half the rows
    right at k = 1). Multi-label: uniform probabilities, targets drawn from them. Patterns:
    'ties' (scores on a grid of 4 values: many exact ties), 'half' (probabilities exactly 0.5
    on a quarter of the entries), 'near' (float64 values a float32 rounding makes equal:
    top-2 scores 1e-12 apart with the label the higher index; probabilities 0.5 + 1e-12)."""
    p, rng = case.params, np.random.default_rng(case.seed)
    opts = AccuracyOptions.build(case.options)
    n, c = int(p["N"]), int(p["C"])
    pattern = p.get("pattern", "random")
    if opts.task == "top_k":
        y = rng.integers(0, c, n)
        s = rng.standard_normal((n, c))
        s[np.arange(n), y] += float(p.get("boost", 1.5))
        if pattern == "ties":
            s = rng.integers(0, 4, (n, c)).astype(np.float64)
        elif pattern == "near" and c >= 2:  # label at a higher index 1e-12 above a rival
            y = rng.integers(1, c, n)
            rival = rng.integers(0, y)
            s = rng.uniform(0.0, 1.0, (n, c))
            s[np.arange(n), rival] = 2.0
            s[np.arange(n), y] = 2.0 + 1e-12 * rng.choice([1.0, -1.0], n)
        target: np.ndarray = y
        if "label" in p:  # the error cases: a label out of range
            target[0] = int(p["label"])
    else:
        s = rng.uniform(0.0, 1.0, (n, c))
        target = (rng.uniform(0.0, 1.0, (n, c)) < s).astype(np.int64)
        if pattern == "half":
            s[rng.uniform(0, 1, (n, c)) < 0.25] = 0.5
        elif pattern == "near":
            s[rng.uniform(0, 1, (n, c)) < 0.25] = 0.5 + 1e-12
        if p.get("target_shape") == "labels":
            target = target[:, 0]
        elif p.get("target_value") == 2:
            target[0, 0] = 2
    return {"scores": s.astype(case.dtype), "target": target.astype(np.int64),
            "k": int(p.get("k", 1))}  # fmt: skip


def cost(case: Case) -> Cost:
    """C comparisons per row (a few more for the tie order), b·C bytes per row read, plus the
    target (8 per label, 8·C per indicator row)."""
    n, c = int(case.params["N"]), int(case.params["C"])
    b = np.dtype(case.dtype).itemsize
    task = AccuracyOptions.build(case.options).task
    target = 8 * n if task == "top_k" else 8 * n * c
    return Cost(2.0 * n * c, float(b * n * c + target), n, "rows")


@dataclass(frozen=True)
class Fraction(Close):
    """A count over a count, in float64 whatever the scores' dtype: a single miscounted row
    moves it by 1/N (>= 1e-7 at these sizes), rounding only by ~1e-16."""

    def tolerance(self, case: Case) -> Tolerance:
        return Tolerance(1e-12, 0.0, "a count divided by N (or N·C) in float64: exact but "
                         "for the division's rounding")  # fmt: skip

    def expected_dtype(self, case: Case) -> str | None:
        return "float64"


F64 = "float64"
SUBSET, HAMMING, GE = {"task": "subset"}, {"task": "hamming"}, {"threshold": "ge"}
HIGHER = {"tie_break": "higher_index"}

CASES = [
    case("top1"),
    case("top1_f64", dtype=F64),
    case("top5", k=5),
    case("top5_f64", k=5, dtype=F64),
    case("subset", options=SUBSET),
    case("hamming_f64", dtype=F64, options=HAMMING),
    case("subset_ge", options={**SUBSET, **GE}),
    case("hamming_ge_f64", dtype=F64, options={**HAMMING, **GE}),
    # 600 rows of 300 classes: a kernel blocked over rows or along the classes (256) runs
    # several blocks
    case("multi_block", N=600, C=300, k=3),
    case("multi_block_hamming", N=600, C=300, options=HAMMING),
]
EDGES = [
    edge("ties_top1", pattern="ties"),
    edge("ties_top3", pattern="ties", k=3),
    edge("ties_top1_higher", pattern="ties", options=HIGHER),
    edge("ties_top3_higher_f64", pattern="ties", k=3, dtype=F64, options=HIGHER),
    edge("k_equals_c", C=7, N=50, k=7),  # every label in the top C: accuracy 1
    edge("k_above_c", C=7, N=50, k=9),
    edge("single_class", C=1, N=20),
    edge("single_row", N=1, C=9, k=2),
    edge("half_subset", pattern="half", options=SUBSET),
    edge("half_subset_ge", pattern="half", options={**SUBSET, **GE}),
    edge("half_hamming", pattern="half", options=HAMMING),
    edge("half_hamming_ge", pattern="half", options={**HAMMING, **GE}),
    edge("inf_scores", pattern="inf"),
]
# float64 inputs a float32 rounding changes: argmax ties, 0.5 + 1e-12 -> 0.5
NEAR = [
    edge("near_tie_top1_f64", pattern="near", dtype=F64),
    edge("near_half_hamming_f64", pattern="near", dtype=F64, options=HAMMING),
]
ERRORS = [
    error("label_equals_c", ValueError, r"\btarget\b", label=12),
    error("label_negative", ValueError, r"\btarget\b", label=-1),
    error(
        "labels_for_multilabel", ValueError, r"\btarget\b", target_shape="labels", options=SUBSET
    ),
    error("indicator_not_0_1", ValueError, r"\btarget\b", target_value=2, options=HAMMING),
]
DEFAULTS = {"seed": 41, "dtype": "float32", "N": 40, "C": 12}


def _make(case: Case) -> Inputs:
    inputs = make_inputs(case)
    if case.params.get("pattern") == "inf":  # +inf at the label of every third row
        s, y = inputs["scores"], inputs["target"]
        s[np.arange(0, len(s), 3), y[::3]] = np.inf
        s[1::3, -1] = -np.inf
    return inputs


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(1, 30),
            "C": st.integers(1, 12),
            "k": st.integers(1, 6),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "pattern": st.sampled_from(["random", "ties", "half"]),
        }
    )
    return fuzz_cases(params, AccuracyOptions.strategy(optional=True))  # fmt: skip


CONVENTIONS = (
    "scores (N, C) float, no NaN (±inf allowed); target (N,) int labels in [0, C) for "
    "task='top_k', (N, C) 0/1 int indicators for 'subset' and 'hamming'; k >= 1 (top_k "
    "only; k >= C gives 1). top_k: row i is right when #{j: s_j > s_y} + #{j ranked before "
    "y among equal scores} < k, the tie order lower index first (torch CPU / NumPy argmax) "
    "or higher first (sklearn top_k_accuracy_score). Multi-label: prediction s > 0.5 "
    "(threshold 'gt') or s >= 0.5 ('ge'); subset = fraction of rows entirely right, "
    "hamming = fraction of entries right (1 - sklearn hamming_loss). Returns a 0-d float64. "
    "ValueError: N = 0 or C = 0 (no accuracy of nothing), a label outside [0, C), a "
    "target of the wrong shape for the task or not 0/1, k < 1, NaN scores."
)

SUITE = Suite(
    algorithm="classification_accuracy",
    family="losses-and-metrics",
    summary="Top-k accuracy of (N, C) scores against labels (tie order declared), or "
    "multi-label subset / Hamming accuracy of thresholded probabilities -> () float64.",
    conventions=CONVENTIONS,
    args=ARGS,
    options=AccuracyOptions,
    make_inputs=_make,
    oracle=classification_accuracy,
    compare=Fraction(),
    cost=cost,
    defaults=DEFAULTS,
    cases=[*CASES, *EDGES, *NEAR],
    errors=ERRORS,
    bench={
        "smoke": [bench("bench_1000x100", N=1000, C=100)],
        # the spec's standard is 100,000 x 1,000 (400 MB of float32 scores, 0.8 GB as the
        # oracle's float64): 20,000 rows keep the quick profile within its budget; top-5
        # (sklearn sorts every row: ~6 s at this size) is in "full"
        "quick": [bench("bench_20000x1000", N=20_000, C=1000)],
        "full": [
            bench("bench_100000x1000_top1", N=100_000, C=1000),
            bench("bench_20000x1000_top5", N=20_000, C=1000, k=5),
            bench("bench_100000x1000_top5", N=100_000, C=1000, k=5),
        ],
    },
    standard="bench_20000x1000",
    multi_block={"N": 600, "C": 300},
    near_threshold=("near_tie_top1_f64", "near_half_hamming_f64"),
    fuzz=fuzz_strategy,
    backends=("python", "numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="sklearn.metrics top_k_accuracy_score / accuracy_score / hamming_loss",
)

SUITES = [SUITE]

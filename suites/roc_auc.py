"""Suite for roc_auc: the area under the ROC curve, sklearn's roc_auc_score.

AUC = trapezoid area under (FPR, TPR) over the distinct thresholds = P(s_pos > s_neg) +
½·P(s_pos = s_neg) = U / (n_pos·n_neg), U the Mann–Whitney statistic from average ranks.
Tied scores form one threshold: the curve crosses a tied group diagonally (the trapezoid),
never in the order a sort happened to leave them. 1-D inputs are one binary problem; 2-D
(N, L) multilabel-indicator inputs are averaged as roc_auc_score's ``average`` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, Arg, Args, Rule
from harness.cases import bench, case, edge, error
from harness.comparators import Close
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class AucOptions(Options):
    average: str = option(
        "macro",
        "micro",
        "weighted",
        "samples",
        "none",
        meaning="for (N, L) multilabel inputs, as roc_auc_score(average=): macro, the mean "
        "of the L column AUCs; micro, the AUC of the flattened N·L pairs; weighted, the "
        "column AUCs weighted by their positives; samples, the mean of the N row AUCs; "
        "none, the (L,) column AUCs. 1-D inputs: one binary AUC whatever the value",
    )


def _two_first(x: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    out.reshape(-1)[0] = 2
    return out


BINARY = Rule("labels in {0, 1}", lambda xp, y: (y != 0) & (y != 1), _two_first)

ARGS = Args(
    Arg("scores", ("N", "*L"), "float", rules=(NO_NAN,), star=(0, 1)),
    Arg("labels", ("N", "*L"), "int", rules=(BINARY,), star=(0, 1)),
    nonempty=("N",),
)


def check(scores: Any, labels: Any, opts: AucOptions) -> Any:
    """Validate the inputs; every curve the average needs must see both classes
    (roc_auc_score raises too). Return the result dtype (scores')."""
    dtype = ARGS.check(scores, labels)
    if isinstance(labels, list | tuple):  # the pure-Python backend's lists
        labels = np.asarray(labels)
    n = labels.shape[0]
    if labels.ndim == 1 or opts.average == "micro":
        pos, size = labels.sum(), int(np.prod(tuple(labels.shape)))
    elif opts.average == "samples":
        pos, size = labels.sum(1), labels.shape[1]
    else:
        pos, size = labels.sum(0), n
    if not bool(((pos > 0) & (pos < size)).all()):
        raise ValueError(
            f"labels: only one class present in a curve of average={opts.average!r} "
            "(the AUC is not defined)"
        )
    return dtype


def _auc_by_ranks(s: np.ndarray, y: np.ndarray) -> float:
    """Mann–Whitney: (sum of the positives' average ranks - P(P+1)/2) / (P·N)."""
    order = np.argsort(s, kind="stable")
    sorted_s = s[order]
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], s.size]  # exclusive
    avg = (starts + ends + 1) / 2.0  # ranks start + 1 .. end, averaged
    ranks = np.empty(s.size)
    ranks[order] = np.repeat(avg, ends - starts)
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_auc(scores: Any, labels: Any, opts: AucOptions) -> Any:
    """Oracle, float64: the Mann–Whitney U from average ranks for each curve, then the
    average."""
    check(scores, labels, opts)
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels)
    if s.ndim == 1:
        return np.asarray(_auc_by_ranks(s, y))
    if opts.average == "micro":
        return np.asarray(_auc_by_ranks(s.ravel(), y.ravel()))
    if opts.average == "samples":
        return np.asarray(np.mean([_auc_by_ranks(s[i], y[i]) for i in range(len(s))]))
    per = np.array([_auc_by_ranks(s[:, j], y[:, j]) for j in range(s.shape[1])])
    if opts.average == "none":
        return per
    if opts.average == "weighted":
        support = y.sum(0).astype(np.float64)
        return np.asarray((per * support).sum() / support.sum())
    return np.asarray(per.mean())


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    shape = (int(p["N"]), *tuple(p.get("L", ())))
    y = (rng.random(shape) < p.get("positive_rate", 0.4)).astype(np.int64)
    half = shape[0] // 2
    if p.get("drift"):  # the second half: more positives, and every score 0.5 higher
        y[half:] = rng.random(y[half:].shape) < 0.75
    if p.get("mixed"):  # every curve of every average gets both classes (fuzz draws)
        if len(shape) == 1:
            y[:2] = [1, 0]
        elif shape[1] >= 2:  # row i: a 1 in column i % L and a 0 in column (i + 1) % L
            rows = np.arange(shape[0])
            y[rows, rows % shape[1]] = 1
            y[rows, (rows + 1) % shape[1]] = 0
    pattern = p.get("pattern", "random")
    s = rng.standard_normal(shape) + p.get("separation", 0.8) * y
    if pattern == "levels":  # scores on a grid of 21 values: many ties across the classes
        s = np.round(np.clip(0.35 * y + 0.65 * rng.random(shape), 0, 1) * 20) / 20
    elif pattern == "near_ties":  # groups a float64 tells apart by 1e-12, float32 cannot
        s = np.round(rng.random(shape) * 8) / 8 + 1.0 + 1e-12 * y
    elif pattern == "all_tied":
        s = np.full(shape, 0.25)
    elif pattern == "perfect":
        s = y + 0.5 * rng.random(shape)
    elif pattern == "reversed":
        s = -(y + 0.5 * rng.random(shape))
    elif pattern == "two":  # one negative, one positive
        y[...] = np.arange(y.size).reshape(shape) % 2
    elif pattern == "nan":
        s.reshape(-1)[2] = np.nan
    if p.get("drift"):
        s[half:] += 0.5  # a multiple of the levels' 0.05 step: tied scores stay tied
    if p.get("single") == "all":
        y[...] = 0
    elif p.get("single") == "column":
        y[:, 1] = 1
    elif p.get("single") == "row":
        y[3] = 0
    return {"scores": s.astype(dtype), "labels": y}


def cost(case: Case) -> Cost:
    """A sort of the n = N·L scores (≈ n·log2 n comparisons) and ≈ 4n adds for the
    cumulative counts and the areas; bytes: the scores and int64 labels read once."""
    n = int(case.params["N"]) * int(np.prod(case.params.get("L", ()), dtype=np.int64))
    b = np.dtype(case.dtype).itemsize
    flops = n * (np.log2(max(n, 2)) + 4.0)
    return Cost(flops=float(flops), bytes=float((b + 8) * n), items=n, item_unit="scores")


def tolerance(case: Case) -> Tolerance:
    """The AUC is a ratio of exact counts (the order of the scores decides it): the
    answer carries one rounding to the output dtype, and an implementation that sums
    the trapezoids in floating point K = n terms, 10·sqrt(K)·eps relative; float64 at
    least 1e-10. AUCs are in [0, 1]: atol = rtol."""
    n = int(case.params["N"]) * int(np.prod(case.params.get("L", ()), dtype=np.int64))
    rtol = max(10.0 * np.sqrt(max(n, 1)) * EPS[case.dtype], 1e-10)
    return Tolerance(float(rtol), float(rtol), f"{case.dtype}: 10·sqrt(n)·eps, n={n}")


CASES = [
    case("random"),
    case("random_f64", dtype="float64"),
    case("levels_ties", pattern="levels"),  # the torchmetrics fixture's kind of scores
    case("levels_ties_f64", pattern="levels", dtype="float64", N=500),
    case("near_ties_f64", pattern="near_ties", dtype="float64"),
    case("multilabel_macro", L=(5,)),
    case("multilabel_micro", L=(5,), options={"average": "micro"}),
    case("multilabel_weighted", L=(5,), positive_rate=0.25, options={"average": "weighted"}),
    case("multilabel_samples", N=30, L=(40,), options={"average": "samples"}),
    case("multilabel_none", L=(5,), options={"average": "none"}),
    case(
        "multilabel_levels_none_f64",
        L=(5,),
        pattern="levels",
        dtype="float64",
        options={"average": "none"},
    ),
    case(
        "multilabel_levels_samples", N=30, L=(40,), pattern="levels", options={"average": "samples"}
    ),
    case("binary_average_none", options={"average": "none"}),  # 1-D: a 0-d AUC
    # 20,000 scores: past a 256-thread block and a 4,096-element tile; the drift makes the
    # pairs across the halves unlike those within them (a mean of block AUCs is wrong)
    case("many_levels", N=20000, pattern="levels", drift=True),
    case("many_f64", N=20000, dtype="float64"),
]
EDGES = [
    edge("all_tied", pattern="all_tied"),  # 0.5
    edge("perfect", pattern="perfect"),  # 1.0
    edge("reversed", pattern="reversed"),  # 0.0
    edge("one_positive", N=30, positive_rate=0.04),
    edge("one_negative_levels", N=30, positive_rate=0.96, pattern="levels"),
    edge("two_scores", N=2, pattern="two"),
    edge("multilabel_all_tied_macro", L=(5,), pattern="all_tied"),
]
ERRORS = [
    error("single_class", ValueError, r"\blabels\b", single="all"),
    error("single_class_column", ValueError, r"\blabels\b", single="column", L=(5,)),
    error(
        "single_class_row_samples",
        ValueError,
        r"\blabels\b",
        single="row",
        N=30,
        L=(40,),
        options={"average": "samples"},
    ),
]
DEFAULTS = {"seed": 31, "dtype": "float32", "N": 60}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(8, 60),
            "L": st.sampled_from([(), (3,)]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "pattern": st.sampled_from(["random", "levels", "all_tied", "perfect"]),
            "positive_rate": st.sampled_from([0.5]),
        }
    )

    def build(p: dict[str, Any], o: dict[str, Any]) -> Case:
        # both classes in every curve: a one-class row or column makes the case an error
        # case (the oracle raises), which a random draw of 3 labels per row often is
        return Case("fuzz", {**p, "mixed": True}, o, "fuzz")

    return st.builds(build, params, AucOptions.strategy(optional=True))


CONVENTIONS = (
    "scores: (N,) or (N, L) floats (no NaN); labels: the same shape, integers in {0, 1}. "
    "AUC = P(s_pos > s_neg) + ½·P(s_pos = s_neg): the trapezoid over the distinct "
    "thresholds, tied scores one threshold (never the order a sort left them in), equal "
    "to Mann–Whitney's U from average ranks / (n_pos·n_neg). (N, L) multilabel: "
    "average macro (mean of column AUCs), micro (flattened), weighted (by the column's "
    "positives), samples (mean of row AUCs) or none ((L,) column AUCs); 1-D: one AUC for "
    "every value. Outputs have scores' dtype. Raises ValueError when a curve the average "
    "needs has one class only (sklearn raises too), for NaN scores, labels outside "
    "{0, 1}, N = 0; TypeError for float labels."
)

SUITE = Suite(
    algorithm="roc_auc",
    family="losses-and-metrics",
    summary="Area under the ROC curve (ties as trapezoids / average ranks) of scores and "
    "0/1 labels (N,) or (N, L) multilabel averaged -> () or (L,).",
    conventions=CONVENTIONS,
    args=ARGS,
    options=AucOptions,
    make_inputs=make_inputs,
    oracle=roc_auc,
    compare=Close(override=tolerance),
    cost=cost,
    defaults=DEFAULTS,
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    bench={
        "smoke": [bench("bench_tiny", N=2000)],
        # the spec's standard size, float32 scores
        "quick": [bench("bench_1e6", N=1_000_000)],
        "full": [
            bench("bench_1e6_levels", N=1_000_000, pattern="levels"),
            bench("bench_large_1e8", N=100_000_000),
        ],
    },
    standard="bench_1e6",
    multi_block={"N": 20000},
    fuzz=fuzz_strategy,
    backends=("python", "numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="sklearn.metrics.roc_auc_score(average=); scipy.stats.mannwhitneyu; torchmetrics "
    "binary_auroc / multilabel_auroc",
    # torchmetrics divides the curve's counts in float32: any float64 draw shows it
    divergent_inputs={"random_f64": lambda inputs: inputs["scores"].dtype == np.float64},
)

SUITES = [SUITE]


# ---- shared by the implementations: which binary curves an average needs, and their mean --


def curves(scores: Any, labels: Any, opts: AucOptions) -> list[tuple[Any, Any]]:
    """The 1-D (scores, labels) pairs of every curve ``opts.average`` needs (views)."""
    if scores.ndim == 1:
        return [(scores, labels)]
    if opts.average == "micro":
        return [(scores.reshape(-1), labels.reshape(-1))]
    if opts.average == "samples":
        return [(scores[i], labels[i]) for i in range(scores.shape[0])]
    return [(scores[:, j], labels[:, j]) for j in range(scores.shape[1])]


def combine(aucs: list[float], positives: list[int], opts: AucOptions, ndim: int) -> Any:
    """The curves' AUCs averaged as ``opts.average`` says (float64 NumPy, 0-d or (L,))."""
    a = np.asarray(aucs, dtype=np.float64)
    if ndim == 1 or opts.average == "micro":
        return np.asarray(a[0])
    if opts.average == "none":
        return a
    if opts.average == "weighted":
        w = np.asarray(positives, dtype=np.float64)
        return np.asarray((a * w).sum() / w.sum())
    return np.asarray(a.mean())

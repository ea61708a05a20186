"""Suite for precision_recall_f1_ap: precision, recall, F_β at a score threshold, and
sklearn's step-wise average precision (or the interpolated APs of VOC all-point, VOC2007
11-point and COCO 101-point; tied scores grouped or taken one by one), with sklearn's
averages and zero_division.

Predictions are scores >= threshold. P = TP/(TP + FP), R = TP/(TP + FN), F_β =
(1 + β²)·TP / ((1 + β²)·TP + β²·FN + FP) (= the harmonic form where P + R > 0); a 0/0 is
the zero_division value. AP = Σ (R_n - R_{n-1})·P_n over the distinct thresholds from the
highest score down (tied scores are one threshold; a step sum, not the trapezoid, which
is optimistic); no positives gives AP = 0 (sklearn). 1-D inputs are binary
(average='binary'); (N, L) multilabel-indicator inputs take micro / macro / weighted /
samples / none, as precision_recall_fscore_support and average_precision_score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, Arg, Args, Rule, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Outputs
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class PrfOptions(Options):
    average: str = option(
        "binary",
        "micro",
        "macro",
        "weighted",
        "samples",
        "none",
        meaning="binary: 1-D inputs, the positive class; for (N, L) multilabel inputs: "
        "micro (counts pooled, AP of the flattened scores), macro (mean over labels), "
        "weighted (by each label's positives), samples (mean over rows), none ((L,) "
        "per label)",
    )
    zero_division: str = option(
        "zero",
        "one",
        "nan",
        meaning="the value of a 0/0 precision, recall or F: 0 (sklearn's 'warn' and 0.0), "
        "1, or NaN (left out of macro / weighted / samples means, as sklearn)",
    )
    ap_interp: str = option(
        "step",
        "all_point",
        "voc11",
        "coco101",
        meaning="AP: sklearn's step sum Σ (R_n - R_{n-1})·P_n; or interpolated with the "
        "precision envelope E(r) = max P at recall >= r: its area (VOC2010+ all-point), the "
        "mean of E at recall 0, 0.1, .., 1 (VOC2007 11-point) or at 0, 0.01, .., 1 (COCO "
        "101-point), E = 0 past the last recall; the devkits' float grids",
    )
    ties: str = option(
        "grouped",
        "sequential",
        meaning="AP: tied scores form one threshold (sklearn), or are taken one by one in "
        "input order (a stable sort by descending score, as detection evaluators do: "
        "order-dependent); P, R and F at the threshold do not depend on it",
    )


#: the devkits' recall grids, as they compute them (np.arange's 0.30000000000000004, ...)
RECALL_11 = np.arange(0.0, 1.1, 0.1)
RECALL_101 = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1)


def interpolated_ap(tps: np.ndarray, seen: np.ndarray, n_pos: int, interp: str) -> float:
    """Interpolated AP of a curve given per tied group (from the top) the cumulative true
    positives and the number of scores seen: recall tp/n_pos and precision tp/seen are
    float64 divisions of exact counts (so the grid comparisons are the devkits' own)."""
    rec, prec = tps / float(n_pos), tps / seen
    env = np.maximum.accumulate(prec[::-1])[::-1]  # max precision at this recall or above
    if interp == "all_point":
        return float((np.diff(rec, prepend=0.0) * env).sum())
    grid = RECALL_11 if interp == "voc11" else RECALL_101
    at = np.searchsorted(rec, grid, side="left")  # the first recall >= each grid point
    return float(np.where(at < env.size, env[np.minimum(at, env.size - 1)], 0.0).mean())


def _two_first(x: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    out.reshape(-1)[0] = 2
    return out


BINARY = Rule("labels in {0, 1}", lambda xp, y: (y != 0) & (y != 1), _two_first)

ARGS = Args(
    Arg("scores", ("N", "*L"), "float", rules=(NO_NAN,), star=(0, 1)),
    Arg("labels", ("N", "*L"), "int", rules=(BINARY,), star=(0, 1)),
    Scalar("threshold"),
    Scalar("beta", low=0.0),
)
OUTPUTS = ("precision", "recall", "fbeta", "ap")


def check(scores: Any, labels: Any, threshold: Any, beta: Any, opts: PrfOptions) -> Any:
    """Validate the inputs; average='binary' goes with 1-D inputs and only it. Return the
    result dtype (scores')."""
    dtype = ARGS.check(scores, labels, threshold, beta)
    ndim = len(np.shape(scores)) if isinstance(scores, list | tuple) else scores.ndim
    if (ndim == 1) != (opts.average == "binary"):
        raise ValueError(
            f"average={opts.average!r} does not fit {ndim}-D scores: 'binary' takes (N,) "
            "inputs, the other averages (N, L) multilabel ones"
        )
    return dtype


def _ap(s: np.ndarray, y: np.ndarray, interp: str = "step", ties: str = "grouped") -> float:
    """AP over the distinct scores, highest first; 0 without positives. Step: per distinct
    score, its positives (the recall step) times the precision of everything scored at or
    above it; otherwise interpolated_ap of the same grouped curve. Sequential ties: every
    score its own threshold, in a stable descending sort's order."""
    n_pos = int(y.sum())
    if n_pos == 0:
        return 0.0
    if ties == "sequential":
        ranked = y[np.argsort(-s, kind="stable")].astype(np.float64)
        tp_seq, seen_seq = np.cumsum(ranked), np.arange(1.0, s.size + 1.0)
        if interp != "step":
            return interpolated_ap(tp_seq, seen_seq, n_pos, interp)
        return float((ranked / n_pos * tp_seq / seen_seq).sum())
    values, where = np.unique(s, return_inverse=True)  # ascending
    pos_at = np.bincount(where, weights=y, minlength=values.size)[::-1]  # from the top
    tp = np.cumsum(pos_at)
    seen = np.cumsum(np.bincount(where, minlength=values.size)[::-1])
    if interp != "step":
        return interpolated_ap(tp, seen, n_pos, interp)
    return float((pos_at / n_pos * tp / seen).sum())


def _ratio(num: np.ndarray, den: np.ndarray, zero: float) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.where(den > 0, num / np.where(den > 0, den, 1), zero)
    return out


def precision_recall_f1_ap(scores: Any, labels: Any, threshold: Any, beta: Any,
                           opts: PrfOptions) -> Any:  # fmt: skip
    """Oracle, float64: counts per curve (the labels, the rows, or all pooled), the ratios
    with the zero_division value, then the average; AP by its definition per curve."""
    check(scores, labels, threshold, beta, opts)
    s, y = np.asarray(scores, np.float64), np.asarray(labels).astype(np.int64)
    zero = {"zero": 0.0, "one": 1.0, "nan": np.nan}[opts.zero_division]
    b2 = float(beta) ** 2
    if s.ndim == 1:
        s, y = s[:, None], y[:, None]
    if opts.average == "micro":
        s, y = s.reshape(-1, 1), y.reshape(-1, 1)
    if opts.average == "samples":
        s, y = s.T, y.T
    pred = s >= float(threshold)
    tp = (pred & (y == 1)).sum(0).astype(np.float64)
    fp = (pred & (y == 0)).sum(0).astype(np.float64)
    fn = (~pred & (y == 1)).sum(0).astype(np.float64)
    p = _ratio(tp, tp + fp, zero)
    r = _ratio(tp, tp + fn, zero)
    f = _ratio((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp, zero)
    interp, ties = opts.ap_interp, opts.ties
    ap = np.array([_ap(s[:, j], y[:, j], interp, ties) for j in range(s.shape[1])])
    if opts.average in ("binary", "micro"):
        return tuple(np.asarray(v[0]) for v in (p, r, f, ap))
    if opts.average == "none":
        return p, r, f, ap
    support = tp + fn
    if opts.average == "weighted" and support.sum() == 0:  # no positive anywhere: sklearn
        none_predicted = zero if (tp + fp).sum() == 0 else 0.0
        return tuple(np.asarray(v) for v in (none_predicted, zero, none_predicted, 0.0))
    out = []
    for v, is_ap in ((p, False), (r, False), (f, False), (ap, True)):
        keep = np.ones(v.shape, bool) if is_ap else ~np.isnan(v)
        w = support[keep] if opts.average == "weighted" else np.ones(int(keep.sum()))
        if w.sum() > 0:
            out.append(np.asarray((v[keep] * w).sum() / w.sum()))
        else:  # every value NaN (zero_division='nan'): NaN (AP: 0)
            out.append(np.asarray(0.0 if is_ap else zero))
    return tuple(out)


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    shape = (int(p["N"]), *tuple(p.get("L", ())))
    y = (rng.random(shape) < p.get("positive_rate", 0.4)).astype(np.int64)
    pattern = p.get("pattern", "random")
    threshold = float(p.get("threshold", 0.5))
    s = rng.random(shape) * 0.8 + 0.3 * y
    if p.get("drift"):  # the second half: more positives, scores 0.5 higher (blocks differ)
        half = shape[0] // 2
        y[half:] = rng.random(y[half:].shape) < 0.75
        s[half:] = rng.random(s[half:].shape) * 0.8 + 0.3 * y[half:] + 0.5
    if pattern == "levels":  # 11 score values: ties within and across classes, and at t
        s = np.round(s * 10) / 10
    elif pattern == "near_threshold":  # 1e-12 either side of t: float32 rounds them onto t
        s = np.where(rng.random(shape) < 0.5, threshold - 1e-12, threshold + 1e-12)
        s = s + (np.round(rng.random(shape) * 4) / 4 - 0.5) * (rng.random(shape) < 0.5)
    elif pattern == "all_tied":
        s = np.full(shape, 0.5)
    elif pattern == "perfect":
        s = 0.6 * y + 0.3 * rng.random(shape)
    if p.get("no_positives_in") == "column":
        y[:, 0] = 0
    elif p.get("no_positives_in") == "all":
        y[...] = 0
    elif p.get("no_positives_in") == "none":
        y[...] = 1
    # the threshold exact in the scores' dtype: 0.9 would be 0.899999976 in a float32
    # comparison but 0.9 in the float64 oracle's, parting them on a float32 score of 0.9
    threshold = float(np.asarray(threshold, dtype))
    return {"scores": s.astype(dtype), "labels": y, "threshold": threshold,
            "beta": float(p.get("beta", 1.0))}  # fmt: skip


def cost(case: Case) -> Cost:
    """A sort of the n scores per curve (≈ n·log2 n) and ≈ 8n comparisons and adds for
    the counts and the AP sum; bytes: the scores and int64 labels read once."""
    n = int(case.params["N"]) * int(np.prod(case.params.get("L", ()), dtype=np.int64))
    b = np.dtype(case.dtype).itemsize
    flops = n * (np.log2(max(n, 2)) + 8.0)
    return Cost(flops=float(flops), bytes=float((b + 8) * n), items=n, item_unit="scores")


def tolerance(case: Case) -> Tolerance:
    """P, R and F are ratios of exact counts (one rounding to the output dtype); AP adds
    up to n step terms in floating point: 10·sqrt(n)·eps relative, float64 at least
    1e-10. All four are in [0, 1]: atol = rtol."""
    n = int(case.params["N"]) * int(np.prod(case.params.get("L", ()), dtype=np.int64))
    rtol = max(10.0 * np.sqrt(max(n, 1)) * EPS[case.dtype], 1e-10)
    return Tolerance(float(rtol), float(rtol), f"{case.dtype}: 10·sqrt(n)·eps, n={n}")


def _ml(average: str, **extra: Any) -> dict[str, Any]:
    return {"average": average, **extra}


CASES = [
    case("random"),
    case("random_f64", dtype="float64"),
    case("levels_ties", pattern="levels"),
    case("levels_ties_f64", pattern="levels", dtype="float64", N=300),
    case("beta_2", beta=2.0),
    case("beta_half_levels", beta=0.5, pattern="levels"),
    case("threshold_0_3", threshold=0.3),
    case("micro", L=(5,), options=_ml("micro")),
    case("macro", L=(5,), options=_ml("macro")),
    case("weighted", L=(5,), positive_rate=0.25, options=_ml("weighted")),
    case("samples", N=30, L=(12,), options=_ml("samples")),
    case("none", L=(5,), options=_ml("none")),
    case("levels_macro_f64", L=(5,), pattern="levels", dtype="float64", options=_ml("macro")),
    case("levels_samples", N=30, L=(12,), pattern="levels", options=_ml("samples")),
    case("near_threshold_f64", pattern="near_threshold", dtype="float64"),
    # 20,000 scores: past a 256-thread block and a 4,096-element tile
    case("many_levels", N=20000, pattern="levels", drift=True),
    case("many_f64", N=20000, dtype="float64"),
    # interpolated AP: the envelope's area, its 11- and 101-point means (ties grouped)
    case("all_point", options={"ap_interp": "all_point"}),
    case(
        "all_point_levels_f64",
        pattern="levels",
        dtype="float64",
        options={"ap_interp": "all_point"},
    ),
    case("voc11_levels", pattern="levels", options={"ap_interp": "voc11"}),
    case("voc11_f64", dtype="float64", options={"ap_interp": "voc11"}),
    case("coco101", options={"ap_interp": "coco101"}),
    case(
        "coco101_levels_f64",
        pattern="levels",
        dtype="float64",
        N=300,
        options={"ap_interp": "coco101"},
    ),
    case("coco101_macro", L=(5,), options=_ml("macro", ap_interp="coco101")),
    case("all_point_samples", N=30, L=(12,), options=_ml("samples", ap_interp="all_point")),
    # ties taken one by one in input order (detection evaluators), step and interpolated
    case("sequential_levels", pattern="levels", options={"ties": "sequential"}),
    case(
        "sequential_levels_f64",
        pattern="levels",
        dtype="float64",
        options={"ties": "sequential", "ap_interp": "coco101"},
    ),
    case(
        "sequential_micro",
        L=(5,),
        pattern="levels",
        options=_ml("micro", ties="sequential", ap_interp="all_point"),
    ),
    case(
        "many_levels_coco101",
        N=20000,
        pattern="levels",
        drift=True,
        options={"ap_interp": "coco101"},
    ),
]
EDGES = [
    edge("all_tied", pattern="all_tied"),
    edge("perfect", pattern="perfect"),
    edge("no_positives", no_positives_in="all"),  # R = 0/0, AP = 0
    edge("no_positives_one", no_positives_in="all", options={"zero_division": "one"}),
    edge("no_positives_nan", no_positives_in="all", options={"zero_division": "nan"}),
    edge("all_positive", no_positives_in="none"),
    edge("nothing_predicted", threshold=2.0, options={"zero_division": "one"}),  # P = 0/0
    edge(
        "column_without_positives_macro",
        L=(5,),
        no_positives_in="column",
        threshold=0.9,
        options=_ml("macro"),
    ),
    edge(
        "column_without_positives_macro_one",
        L=(5,),
        no_positives_in="column",
        threshold=0.9,
        options=_ml("macro", zero_division="one"),
    ),
    edge(
        "column_without_positives_none_nan",
        L=(5,),
        no_positives_in="column",
        threshold=0.9,
        options=_ml("none", zero_division="nan"),
    ),
    edge(
        "column_without_positives_weighted_nan",
        L=(5,),
        no_positives_in="column",
        threshold=0.9,
        options=_ml("weighted", zero_division="nan"),
    ),
    edge(
        "samples_sparse_nan",
        N=30,
        L=(12,),
        positive_rate=0.05,
        threshold=0.95,
        options=_ml("samples", zero_division="nan"),
    ),
    edge(
        "no_positives_weighted_one",
        L=(5,),
        no_positives_in="all",
        options=_ml("weighted", zero_division="one"),
    ),
    edge("no_rows", N=0),
    edge("no_rows_macro", N=0, L=(5,), options=_ml("macro")),  # (0, 5): a (5,) AP of zeros
    edge("perfect_voc11", pattern="perfect", options={"ap_interp": "voc11"}),  # AP = 1
    edge("all_tied_coco101", pattern="all_tied", options={"ap_interp": "coco101"}),
    edge("no_positives_all_point", no_positives_in="all", options={"ap_interp": "all_point"}),
    edge("all_tied_sequential", pattern="all_tied", options={"ties": "sequential"}),
]
ERRORS = [
    error("binary_with_multilabel", ValueError, r"\baverage\b", L=(5,)),
    error("macro_with_1d", ValueError, r"\baverage\b", options=_ml("macro")),
]
DEFAULTS = {"seed": 41, "dtype": "float32", "N": 60}


def _no_rows(inputs: Inputs) -> bool:
    """No scores at all: sklearn refuses empty inputs."""
    return bool(np.asarray(inputs["scores"]).shape[0] == 0)


def _no_rows_multilabel(inputs: Inputs) -> bool:
    """(0, L) scores: as nested lists they are [], the label count lost."""
    scores = np.asarray(inputs["scores"])
    return bool(scores.ndim == 2 and scores.shape[0] == 0)


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(0, 50),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "pattern": st.sampled_from(["random", "levels", "all_tied"]),
            "threshold": st.sampled_from([0.3, 0.5, 0.9]),
            "beta": st.sampled_from([0.5, 1.0, 2.0]),
        }
    )

    def build(p: dict[str, Any], o: dict[str, Any]) -> Case:
        if o.get("average", "binary") != "binary":
            p = {**p, "L": (3,)}
        return Case("fuzz", p, o, "fuzz")

    return st.builds(build, params, PrfOptions.strategy(optional=True))


CONVENTIONS = (
    "scores: (N,) or (N, L) floats (no NaN); labels: the same shape, integers in {0, 1}; "
    "threshold: predictions are scores >= threshold (compared in the scores' dtype, as NumPy "
    "and torch compare with a Python float; the cases' thresholds are exact in it); "
    "beta >= 0. P = TP/(TP + FP), "
    "R = TP/(TP + FN), F_β = (1 + β²)TP / ((1 + β²)TP + β²FN + FP); a 0/0 is "
    "zero_division (0, 1 or NaN; NaN values are left out of the means, as sklearn). AP: "
    "sklearn's step sum Σ (R_n - R_{n-1})·P_n over distinct scores from the top (ties one "
    "threshold; not the trapezoid); ap_interp='all_point' / 'voc11' / 'coco101': the same "
    "grouped curve with the precision envelope E(r) = max P at recall >= r: its area, or its "
    "mean over np.arange(0, 1.1, 0.1) / np.linspace(0, 1, 101) (E = 0 past the last recall; "
    "recall = TP/n_pos in float64, compared with those float grids); ties='sequential': "
    "each score its own threshold in a stable descending sort's order (input order among "
    "ties; micro pools the rows' scores row by row); no positives: AP = 0. "
    "average='binary' for 1-D inputs; "
    "(N, L): micro (pooled counts, flattened AP), macro, weighted (by positives; no "
    "positives anywhere: sklearn's answer, R = zero_division, P and F zero_division "
    "when nothing is predicted else 0, AP 0), samples (over rows), none "
    "((L,)). Outputs precision, recall, fbeta, ap, in scores' dtype. Raises ValueError "
    "for NaN scores, labels outside {0, 1}, 'binary' with 2-D or another average with "
    "1-D inputs, beta < 0."
)

SUITE = Suite(
    algorithm="precision_recall_f1_ap",
    family="losses-and-metrics",
    summary="Precision, recall, F_β at a threshold and step-wise average precision "
    "(sklearn), binary or multilabel micro/macro/weighted/samples/none -> 4 × () or (L,).",
    conventions=CONVENTIONS,
    args=ARGS,
    options=PrfOptions,
    make_inputs=make_inputs,
    oracle=precision_recall_f1_ap,
    compare=Outputs({name: Close(override=tolerance) for name in OUTPUTS}),
    outputs=OUTPUTS,
    cost=cost,
    defaults=DEFAULTS,
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    bench={
        "smoke": [bench("bench_tiny", N=2000)],
        "quick": [bench("bench_1e6", N=1_000_000)],  # the spec's standard, float32
        "full": [bench("bench_large_1e8", N=100_000_000)],
    },
    standard="bench_1e6",
    multi_block={"N": 20000},
    fuzz=fuzz_strategy,
    backends=("python", "numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),
    divergent_inputs={"no_rows": _no_rows, "no_rows_macro": _no_rows_multilabel},
    reference="sklearn.metrics.precision_recall_fscore_support(average=, zero_division=, "
    "beta=) / average_precision_score(average=)",
)

SUITES = [SUITE]


# ---- shared by the implementations: the curves an average needs, and the averaging -------


def curves(scores: Any, labels: Any, opts: PrfOptions) -> list[tuple[Any, Any]]:
    """The 1-D (scores, labels) pairs of every curve ``opts.average`` needs (views)."""
    if scores.ndim == 1:
        return [(scores, labels)]
    if opts.average == "micro":
        return [(scores.reshape(-1), labels.reshape(-1))]
    if opts.average == "samples":
        return [(scores[i], labels[i]) for i in range(scores.shape[0])]
    return [(scores[:, j], labels[:, j]) for j in range(scores.shape[1])]


def combine(counts: Any, beta: float, opts: PrfOptions) -> tuple[Any, ...]:
    """(P, R, F, AP) from per-curve rows (TP, FP, FN, AP), averaged as ``opts`` says
    (float64 NumPy, 0-d or (L,))."""
    c = np.asarray(counts, dtype=np.float64).reshape(-1, 4)
    tp, fp, fn, ap = c.T
    zero = {"zero": 0.0, "one": 1.0, "nan": np.nan}[opts.zero_division]
    b2 = beta * beta
    p, r = _ratio(tp, tp + fp, zero), _ratio(tp, tp + fn, zero)
    f = _ratio((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp, zero)
    if opts.average in ("binary", "micro"):
        return tuple(np.asarray(v[0]) for v in (p, r, f, ap))
    if opts.average == "none":
        return p, r, f, ap
    w_all = tp + fn if opts.average == "weighted" else np.ones_like(tp)
    if opts.average == "weighted" and w_all.sum() == 0:  # sklearn's answer without positives
        none_predicted = zero if (tp + fp).sum() == 0 else 0.0
        return tuple(np.asarray(v) for v in (none_predicted, zero, none_predicted, 0.0))
    out = []
    for v, fill in ((p, zero), (r, zero), (f, zero), (ap, 0.0)):
        keep = ~np.isnan(v)  # NaN (zero_division='nan') left out; AP is never NaN
        w = w_all[keep]
        out.append(np.asarray((v[keep] * w).sum() / w.sum() if w.sum() > 0 else fill))
    return tuple(out)

"""Suite for class_balanced_sampling_weights: per-class weights from label counts, and each
sample's weight (its class's), for a class-balanced sampler or loss.

n_c = the count of label c. Schemes: inverse w_c = 1/n_c (sampling with replacement in
proportion to w_{y_i} makes every present class equally likely); balanced w_c = N/(C'·n_c)
(sklearn's compute_class_weight('balanced') over the C' present classes); effective number
w_c = (1 − β)/(1 − β^{n_c}) (Cui et al.). Absent classes get 0. Optionally the class
weights are normalised to sum to C' over the present classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Rule, Scalar
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, Outputs
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class BalanceOptions(Options):
    scheme: str = option(
        "inverse",
        "balanced",
        "effective",
        meaning="inverse: 1/n_c; balanced: N/(C'·n_c), sklearn's 'balanced'; effective: "
        "(1 − β)/(1 − β^n_c), the effective number of samples",
    )
    normalize: str = option(
        "none", "sum_to_classes", meaning="class weights as they are, or scaled to sum to C'"
    )


def _to_one(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 + np.abs(x), dtype=x.dtype)


BETA_RULE = Rule("0 <= beta < 1", lambda xp, b: (b < 0) | (b >= 1), _to_one)

# beta is a 0-d float array (not a Python number): a float64 β = 0.9999 rounded to float32
# changes the effective-number weights, an input precision the suite can see
ARGS = Args(
    Arg("labels", ("N",), "int"),
    Scalar("num_classes", "int", low=1),
    Arg("beta", (), "float", rules=(BETA_RULE,)),
    nonempty=("N",),
)


def check(labels: Any, num_classes: Any, beta: Any) -> None:
    """ARGS, then the labels in [0, num_classes) and beta not NaN."""
    ARGS.check(labels, num_classes, beta)
    if bool(beta != beta):
        raise ValueError("beta is NaN")
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= int(num_classes):
        raise ValueError(f"labels must be in [0, num_classes) = [0, {num_classes}), got {lo}..{hi}")


def class_weights_from_counts(counts: np.ndarray, beta: float, opts: BalanceOptions) -> np.ndarray:
    """float64 class weights from (C,) counts; 0 for absent classes."""
    n = counts.astype(np.float64)
    present = n > 0
    w = np.zeros_like(n)
    if opts.scheme == "inverse":
        w[present] = 1.0 / n[present]
    elif opts.scheme == "balanced":
        w[present] = n.sum() / (int(present.sum()) * n[present])
    else:  # 1 - β^n as -expm1(n·log β): no cancellation for β near 1
        w[present] = (1.0 - beta) / -np.expm1(n[present] * np.log(beta)) if beta > 0 else 1.0
    if opts.normalize == "sum_to_classes":
        w *= int(present.sum()) / w.sum()
    return w


def class_balanced_sampling_weights(
    labels: Any, num_classes: Any, beta: Any, opts: BalanceOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Oracle: counts by bincount, float64 weights, each sample its class's weight."""
    check(labels, num_classes, beta)
    y = np.asarray(labels)
    counts = np.bincount(y, minlength=int(num_classes))
    w = class_weights_from_counts(counts, float(beta), opts)
    return w, w[y]


def make_inputs(case: Case) -> Inputs:
    """Long-tailed labels: class c drawn with probability ∝ (c + 1)^(-alpha) over the
    classes that are not held out ('absent' holds out every 7th class and the last);
    'imbalance': one
    class holds all but a few labels."""
    p, rng = case.params, np.random.default_rng(case.seed)
    n, c = int(p["N"]), int(p["C"])
    prob = (np.arange(c) + 1.0) ** -float(p.get("alpha", 1.0))
    if p.get("pattern") == "absent":
        prob[3::7], prob[-1] = 0.0, 0.0
    y = rng.choice(c, size=n, p=prob / prob.sum())
    if p.get("pattern") == "imbalance":
        y[:] = 0
        y[: int(p.get("rare", 1))] = c - 1
    if p.get("pattern") == "singletons":  # every class once, then the rest long-tailed
        y[: min(c, n)] = np.arange(min(c, n))
    if "label" in p:  # the error cases
        y[0] = int(p["label"])
    return {"labels": y.astype(np.int64), "num_classes": c,
            "beta": np.asarray(float(p.get("beta", 0.999)))}  # fmt: skip


def cost(case: Case) -> Cost:
    """bincount and gather: 2 operations and 8 + 8 bytes per label (read it, write the
    weight), plus the (C,) weights."""
    n, c = int(case.params["N"]), int(case.params["C"])
    return Cost(2.0 * n + 5.0 * c, 16.0 * n + 16.0 * c, n, "labels")


def tolerance(case: Case) -> Tolerance:
    """A handful of roundings per weight (a division; β^n by exp(n·log β), relative error
    about eps·n·|log β| + eps, n up to N); normalising adds a sum over C classes: rtol
    10·sqrt(C)·eps + 4·N·(1 − β)·eps (the power's), float64."""
    n, c = int(case.params["N"]), int(case.params["C"])
    beta = float(case.params.get("beta", 0.999))
    rtol = max(10 * math.sqrt(c) * EPS["float64"] + 4 * n * (1 - beta) * EPS["float64"], 1e-12)
    return Tolerance(rtol, 0.0, f"float64 weights: a few roundings each, a sum over C={c} "
                     "when normalised, and β^n's exp(n·log β); atol 0 (0 is exact)")  # fmt: skip


_CLOSE = Close(override=tolerance)
COMPARE = Outputs({"class_weights": _CLOSE, "sample_weights": _CLOSE})

BAL, EFF, NORM = {"scheme": "balanced"}, {"scheme": "effective"}, {"normalize": "sum_to_classes"}

CASES = [
    case("inverse"),
    case("balanced", options=BAL),
    case("effective", options=EFF),
    case("effective_beta_0_9999", beta=0.9999, options=EFF),
    case("inverse_normalised", options=NORM),
    case("effective_normalised", options={**EFF, **NORM}),
    # 20,000 labels of 300 classes: a bincount or gather split into blocks runs several
    case("multi_block", N=20_000, C=300),
]
EDGES = [
    edge("absent_classes", pattern="absent"),
    edge("absent_classes_balanced", pattern="absent", options=BAL),
    edge("absent_classes_balanced_normalised", pattern="absent", options={**BAL, **NORM}),
    edge("singleton_classes", pattern="singletons", options=EFF),
    edge("one_class", C=1, N=9),
    edge("imbalance_1e6_to_1", N=1_000_001, C=2, pattern="imbalance", options=BAL),
    edge("beta_0", beta=0.0, options=EFF),  # every present class weighs 1
]
ERRORS = [
    error("label_negative", ValueError, r"\blabels\b", label=-1),
    error("label_equals_num_classes", ValueError, r"\blabels\b", label=12),
]
DEFAULTS = {"seed": 61, "dtype": "float64", "N": 500, "C": 12}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(1, 200),
            "C": st.integers(1, 15),
            "seed": st.integers(0, 2**31 - 1),
            "beta": st.sampled_from([0.0, 0.9, 0.999, 0.9999]),
            "alpha": st.sampled_from([0.0, 1.0, 2.0]),
            "pattern": st.sampled_from(["random", "absent", "singletons"]),
        }
    )
    return fuzz_cases(params, BalanceOptions.strategy(optional=True))  # fmt: skip


CONVENTIONS = (
    "labels (N,) int in [0, num_classes), N >= 1; num_classes >= 1; beta a 0-d float in "
    "[0, 1) (used by scheme='effective'). n_c = bincount(labels, minlength=num_classes); "
    "C' = the number of classes with n_c > 0. Class weights: inverse 1/n_c, balanced "
    "N/(C'·n_c) (sklearn's 'balanced' over the present classes), effective (1 − β)/(1 − "
    "β^n_c) (β = 0: 1); 0 for an absent class. normalize='sum_to_classes' scales them to sum "
    "to C'. Returns (class_weights (C,), sample_weights (N,) = class_weights[labels]), "
    "float64. ValueError: no labels, a label outside [0, num_classes), num_classes < 1, "
    "beta outside [0, 1) or NaN; TypeError: non-int labels."
)

SUITE = Suite(
    algorithm="class_balanced_sampling_weights",
    family="training-math",
    summary="Class weights from label counts (1/n, sklearn 'balanced', effective number) and "
    "every sample's weight -> ((C,), (N,)).",
    conventions=CONVENTIONS,
    args=ARGS,
    options=BalanceOptions,
    make_inputs=make_inputs,
    oracle=class_balanced_sampling_weights,
    compare=COMPARE,
    cost=cost,
    defaults=DEFAULTS,
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    outputs=("class_weights", "sample_weights"),
    bench={
        "smoke": [bench("bench_10000x100", N=10_000, C=100)],
        "quick": [bench("bench_1e6x1000", N=1_000_000, C=1000)],  # the spec's standard
        "full": [bench("bench_1e7x1000_effective", N=10_000_000, C=1000, options=EFF)],
    },
    standard="bench_1e6x1000",
    multi_block={"N": 20_000},
    fuzz=fuzz_strategy,
    backends=("numpy", "torch_cpu", "library"),
    reference="sklearn.utils.class_weight.compute_class_weight('balanced'); the sampler's "
    "class frequencies (torch.multinomial with replacement) by a chi-square test in the tests",
)

SUITES = [SUITE]

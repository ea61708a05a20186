"""Suite for label_smoothing_ce: softmax cross-entropy against smoothed one-hot targets,
exactly F.cross_entropy(label_smoothing=ε) by default, class weights and ignore_index included.

With -log p_c = lse - z_c, the smoothed loss of a sample needs only the log-sum-exp, the
target's logit and Σ_c w_c·z_c, so implementations never build the smoothed targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


def _is_int(v: Any) -> bool:
    return type(v) is int  # any class index may be the ignored one (bool is refused)


@dataclass(frozen=True)
class SmoothingOptions(Options):
    distribution: str = option(
        "uniform",
        "others",
        meaning="uniform: q = (1 - ε)·onehot + ε/K, the true class included (torch, Keras); "
        "others: the true class gets 1 - ε and each other class ε/(K - 1) (needs K >= 2)",
    )
    reduction: str = option(
        "mean",
        "sum",
        "none",
        meaning="mean divides the summed losses (both terms) by Σ w[t] over kept targets, "
        "as F.cross_entropy does; sum; none: per-sample losses, 0 where ignored",
    )
    ignore_index: int = option(
        -100,
        1,
        meaning="targets equal to it contribute neither loss (smoothing term included) nor "
        "weight (torch: -100)",
        accepts=_is_int,
    )


ARGS = Args(
    Arg("logits", ("N", "C", "*S"), "float", star=(0, 2)),
    Arg("target", ("N", "*S"), "int", star=(0, 2)),
    # broadcast=True only so that a None (absent) weight has a shape the conformance checks
    # can read; check() demands exactly (C,)
    Arg("weight", ("C",), "float", optional=True, broadcast=True),
    Scalar("smoothing", low=0.0, high=1.0),
    nonempty=("C",),
    same_dtype=("logits", "weight"),
)


def check(logits: Any, target: Any, weight: Any, smoothing: Any, opts: SmoothingOptions) -> Any:
    """Validate every input for ``opts``; return the result dtype (logits')."""
    from array_api_compat import array_namespace

    ARGS.check(logits, target, weight, smoothing)
    xp = array_namespace(logits, target)
    c = logits.shape[1]
    if weight is not None and tuple(weight.shape) != (c,):
        raise ValueError(f"weight must have shape (C,) = ({c},), got {tuple(weight.shape)}")
    outside = (target != opts.ignore_index) & ((target < 0) | (target >= c))
    if bool(xp.any(outside)):  # False for an empty target
        raise ValueError(f"target holds class indices outside [0, {c}) other than ignore_index")
    if opts.distribution == "others" and c < 2:
        raise ValueError("logits needs C >= 2 classes for distribution='others' (ε/(C - 1))")
    return logits.dtype


def label_smoothing_ce(
    logits: Any, target: Any, weight: Any, smoothing: Any, opts: SmoothingOptions
) -> Any:
    """Oracle, float64: l = -Σ_c w_c·q_c·log softmax(z)_c with q the smoothed one-hot
    (uniform: (1 - ε)·onehot + ε/C; others: 1 - ε on the target, ε/(C - 1) elsewhere); 0 for
    ignored targets; mean = Σ l / Σ w[t] over kept targets (0/0 = NaN when none is kept)."""
    check(logits, target, weight, smoothing, opts)
    x = np.asarray(logits, dtype=np.float64)
    c, eps = x.shape[1], float(smoothing)
    w = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    t = np.asarray(target).astype(np.int64)
    kept = t != opts.ignore_index
    safe = np.where(kept, t, 0)
    top = x.max(axis=1, keepdims=True)
    logp = (x - top) - np.log(np.exp(x - top).sum(axis=1, keepdims=True))
    onehot = np.moveaxis(np.eye(c)[safe], -1, 1)
    if opts.distribution == "uniform":
        q = (1.0 - eps) * onehot + eps / c
    else:
        q = (1.0 - eps) * onehot + eps / (c - 1) * (1.0 - onehot)
    w_b = w.reshape((1, -1) + (1,) * (x.ndim - 2))
    with np.errstate(invalid="ignore"):  # a NaN logit of an ignored sample stays out
        loss = np.where(kept, -(w_b * q * logp).sum(axis=1), 0.0)
    if opts.reduction == "none":
        return loss
    if opts.reduction == "sum":
        return np.asarray(loss.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(loss.sum() / np.where(kept, w[safe], 0.0).sum())


def make_inputs(case: Case) -> Inputs:
    p, opts = case.params, SmoothingOptions.build(case.options)
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    n, c, spatial = int(p["N"]), int(p["C"]), tuple(p.get("S", ()))
    z = p.get("loc", 0.0) + p.get("scale", 3.0) * rng.standard_normal((n, c, *spatial))
    if p.get("extreme"):  # ±1e4 and 0: exp overflows without the max shift
        z = rng.choice(np.array([-1e4, 0.0, 1e4]), size=z.shape)
    if p.get("nan_logit"):
        z[min(2, n - 1), 0] = np.nan
    t = rng.integers(0, c, (n, *spatial))
    t[rng.random(t.shape) < p.get("ignored", 0.1)] = opts.ignore_index
    if "bad_target" in p:
        t.reshape(-1)[1] = p["bad_target"]
    weight: np.ndarray | None = None
    if p.get("weight") is not None:
        weight = rng.uniform(0.5, 2.0, c)
        if p["weight"] == "some_zero":
            weight[: max(1, c // 3)] = 0.0
        elif p["weight"] == "short":
            weight = weight[:1]
    return {
        "logits": z.astype(dtype),
        "target": t,
        "weight": None if weight is None else weight.astype(dtype),
        "smoothing": p.get("smoothing", 0.1),
    }


def _counts(case: Case) -> tuple[int, int, int]:
    p = case.params
    return int(p["N"]), int(p["C"]), int(np.prod(p.get("S", ()), dtype=np.int64))


def cost(case: Case) -> Cost:
    """CE's ≈ 5 flops per element plus the smoothing term's multiply-add (Σ w·z): 7 per
    element; bytes: logits read once, 8 per target, the losses written."""
    n, c, s = _counts(case)
    b = np.dtype(case.dtype).itemsize
    out = n * s if case.options.get("reduction") == "none" else 1
    return Cost(
        flops=7.0 * n * c * s, bytes=float(b * n * c * s + 8 * n * s + b * out),
        items=n * s, item_unit="samples",
    )  # fmt: skip


def tolerance(case: Case) -> Tolerance:
    """As cross_entropy_softmax_sigmoid: a loss is a difference of terms up to Z (the logit
    magnitude, 1e4 in the extreme cases) plus log C, so its absolute error is a few
    eps·(Z + log C + 1)·W (W = 2 bounds the weights); the smoothing term's C-long sum of such
    terms, scaled by ε/C or ε/(C - 1), adds sqrt(C) of them; sums over C classes and M
    samples add 10·sqrt(C·M)·eps relative (losses are >= 0: no cancellation)."""
    p = case.params
    n, c, s = _counts(case)
    eps = EPS[case.dtype]
    z = 1e4 if p.get("extreme") else abs(p.get("loc", 0.0)) + 6.0 * p.get("scale", 3.0)
    w = 2.0 if p.get("weight") else 1.0
    reduction = case.options.get("reduction", "mean")
    m = n * s
    k = c * (m if reduction != "none" else 1)
    rtol = max(10.0 * np.sqrt(max(k, 1)) * eps, 1e-10 if case.dtype == "float64" else 0.0)
    atol = 10.0 * np.sqrt(c) * eps * (z + np.log(c) + 1.0) * w
    atol *= max(m, 1) if reduction == "sum" else 1
    return Tolerance(
        float(rtol), float(atol),
        f"{case.dtype}: rtol 10·sqrt(K)·eps, K={k}; atol 10·sqrt(C)·eps·(Z + log C + 1)·W"
        f"{'·M' if reduction == 'sum' else ''}, Z={z:g}, W={w:g}",
    )  # fmt: skip


OTHERS = {"distribution": "others"}
SUM, NONE = {"reduction": "sum"}, {"reduction": "none"}

CASES = [
    # the error base: N, C distinct and >= 2, a class weight present
    case("weighted", weight="random"),
    case("f64", dtype="float64"),
    case("weighted_f64", dtype="float64", weight="random"),
    case("weighted_sum", weight="random", options=SUM),
    case("weighted_none_f64", dtype="float64", weight="random", options=NONE),
    case("ignore_class_1", weight="random", ignored=0.3, options={"ignore_index": 1}),
    case("others", weight="random", options=OTHERS),
    case("others_none_f64", dtype="float64", weight="random", options={**OTHERS, **NONE}),
    case("kdim", N=3, C=5, S=(4, 6), weight="random"),
    case("kdim_others_none_f64", N=3, C=5, S=(7,), dtype="float64", options={**OTHERS, **NONE}),
    case("strong_smoothing_f64", dtype="float64", weight="random", smoothing=0.6),
    # rows of 1000 classes (past a 256-wide block) and 600 rows (several row blocks)
    case("wide_rows", N=5, C=1000, weight="random"),
    case("many_rows_f64", N=600, C=7, dtype="float64", weight="random"),
]
EDGES = [
    edge("no_smoothing", weight="random", smoothing=0.0),  # plain cross-entropy
    edge("full_smoothing_f64", dtype="float64", weight="random", smoothing=1.0),  # q uniform
    edge("full_smoothing_others_none", smoothing=1.0, options={**OTHERS, **NONE}),
    edge("two_classes", C=2, weight="random", options=NONE),
    edge("two_classes_others", C=2, weight="random", options={**OTHERS, **NONE}),
    edge("one_class", C=1, weight="random", options=NONE),  # uniform over one class: 0
    edge("extreme_logits", extreme=True, ignored=0.0),
    edge("extreme_logits_none", extreme=True, ignored=0.0, options=NONE),
    edge("extreme_logits_others_none", extreme=True, ignored=0.0, options={**OTHERS, **NONE}),
    edge("all_ignored_mean", ignored=1.0),
    edge("all_ignored_sum", ignored=1.0, options=SUM),
    edge("all_ignored_none", ignored=1.0, options=NONE),
    edge("some_zero_weights", weight="some_zero"),
    edge("no_samples_mean", N=0, C=5),
    edge("no_samples_none", N=0, C=5, options=NONE),
    edge("nan_logit_none", nan_logit=True, ignored=0.0, options=NONE),
]
ERRORS = [
    error("target_at_C", ValueError, r"\btarget\b", bad_target=7),
    error("target_negative", ValueError, r"\btarget\b", bad_target=-1),
    error("weight_of_one", ValueError, r"\bweight\b", weight="short"),
    error("others_with_one_class", ValueError, r"\blogits\b", C=1, options=OTHERS),
]
DEFAULTS = {"seed": 13, "dtype": "float32", "N": 40, "C": 7}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(0, 12),
            "C": st.integers(2, 9),
            "S": st.sampled_from([(), (3,), (2, 3)]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "scale": st.sampled_from([0.5, 3.0, 30.0]),
            "ignored": st.sampled_from([0.0, 0.3, 1.0]),
            "extreme": st.booleans(),
            "smoothing": st.sampled_from([0.0, 0.1, 0.5, 1.0]),
        },
        optional={"weight": st.sampled_from(["random", "some_zero"])},
    )
    flags = SmoothingOptions.strategy(omit=("ignore_index",), optional=True)
    return fuzz_cases(params, flags)


CONVENTIONS = (
    "logits: (N, C, *S) floating, the class axis 1; target (N, *S) integer class indices; "
    "weight (C,) or None; smoothing ε in [0, 1]. distribution='uniform' (torch): q = "
    "(1 - ε)·onehot + ε/C, so l = (1 - ε)·w_t·(-log p_t) + (ε/C)·Σ_c w_c·(-log p_c), exactly "
    "F.cross_entropy(label_smoothing=ε); 'others': 1 - ε on the target and ε/(C - 1) on each "
    "other class (C >= 2), each class term weighted by w_c as well. log p = z - max - "
    "log Σ exp(z - max), finite at logits of ±1e4. Targets equal to ignore_index give 0 "
    "(their smoothing term too). mean = Σ l / Σ w_t over kept targets, for both terms "
    "(torch): every target ignored gives NaN, sum 0, none zeros; N = 0 likewise. Output "
    "has logits' dtype; mean and sum are 0-d. Raises ValueError for ε outside [0, 1] or NaN, "
    "a target outside [0, C) other than ignore_index, a weight length other than C, C = 0, "
    "and C = 1 with 'others'; TypeError for a float target or a non-number ε."
)

SUITE = Suite(
    algorithm="label_smoothing_ce",
    family="losses-and-metrics",
    summary="Softmax CE of logits (N, C, *S) against label-smoothed targets (N, *S), "
    "F.cross_entropy(label_smoothing=) conventions -> () or per-sample losses.",
    conventions=CONVENTIONS,
    args=ARGS,
    options=SmoothingOptions,
    make_inputs=make_inputs,
    oracle=label_smoothing_ce,
    compare=Close(override=tolerance),
    cost=cost,
    defaults=DEFAULTS,
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    error_base="weighted",
    bench={
        "smoke": [bench("bench_tiny", N=256, C=100)],
        # as cross_entropy_softmax_sigmoid: the spec's 65,536 x 1,000 goes to the full
        # profile; the quick profile's 6 s hold 8,192 x 1,000
        "quick": [bench("bench_8192x1000", N=8192, C=1000)],
        "full": [
            bench("bench_spec_standard", N=65536, C=1000),
            bench("bench_segmentation", N=8, C=21, S=(256, 256)),
        ],
    },
    standard="bench_8192x1000",
    multi_block={"C": 1000, "N": 600},
    fuzz=fuzz_strategy,
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="torch.nn.functional.cross_entropy(label_smoothing=)",
)

SUITES = [SUITE]

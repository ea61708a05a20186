"""Suite for cross_entropy_softmax_sigmoid: softmax cross-entropy (class indices or probability
targets) and sigmoid binary cross-entropy, with torch's weights, ignore_index and reductions.

One record of flags says which loss (``form``), what ``pred`` holds (``input``: logits, or
probabilities whose log is clamped at -100 as F.binary_cross_entropy does), the reduction and
the ignored class index. The class axis is axis 1 of ``pred`` (N, C, d1, ...), as in torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error
from harness.comparators import Close
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

#: F.binary_cross_entropy clamps each log at -100 (so p = 0 costs 100, not inf).
LOG_FLOOR = -100.0


def _is_int(v: Any) -> bool:
    return type(v) is int  # any class index may be the ignored one (bool is refused)


@dataclass(frozen=True)
class CrossEntropyOptions(Options):
    form: str = option(
        "index",
        "probability",
        "sigmoid",
        meaning="softmax CE with class-index targets (N, *S); softmax CE with probability "
        "targets shaped like pred; or per-element sigmoid BCE with targets shaped like pred",
    )
    input: str = option(
        "logits",
        "probabilities",
        meaning="pred holds logits (log-sum-exp / stable softplus), or probabilities whose "
        "log is clamped below at -100 (F.binary_cross_entropy's rule, used for both forms)",
    )
    reduction: str = option(
        "mean",
        "sum",
        "none",
        meaning="mean: index form divides by the summed weights of the non-ignored targets "
        "(torch), the other forms by the number of losses (N·S, or N·C·S for sigmoid), "
        "weights or not; sum; none: the per-sample (per-element for sigmoid) losses",
    )
    ignore_index: int = option(
        -100,
        1,
        meaning="index targets equal to it contribute neither loss nor weight (torch: -100); "
        "torch refuses a non-default value for the probability and sigmoid forms",
        accepts=_is_int,
    )

    def validate(self) -> None:
        if self.form != "index" and self.ignore_index != -100:
            raise ValueError(
                f"ignore_index applies to form='index' only (form={self.form!r}; torch: "
                "ignore_index is not supported for floating point target)"
            )


ARGS = Args(
    Arg("pred", ("N", "C", "*S"), "float", star=(0, 2)),
    # class indices (N, *S) or probabilities shaped like pred: checked by check() below
    Arg("target", ("N", "*T"), "real", star=(0, 3)),
    # broadcast=True only so that a None (absent) weight has a shape the conformance checks
    # can read; check() demands exactly (C,)
    Arg("weight", ("C",), "float", optional=True, broadcast=True),
    Arg("pos_weight", ("C",), "float", optional=True, broadcast=True),
    nonempty=("C",),
    same_dtype=("pred", "weight", "pos_weight"),
)


def check(pred: Any, target: Any, weight: Any, pos_weight: Any, opts: CrossEntropyOptions) -> Any:
    """Validate every input for ``opts``; return the result dtype (pred's). One line per
    mistake: ValueError or TypeError naming the argument."""
    from array_api_compat import array_namespace

    ARGS.check(pred, target, weight, pos_weight)
    for name, v in (("weight", weight), ("pos_weight", pos_weight)):
        if v is not None and tuple(v.shape) != (pred.shape[1],):
            raise ValueError(f"{name} must have shape (C,) = ({pred.shape[1]},), got "
                             f"{tuple(v.shape)}")  # fmt: skip
    xp = array_namespace(pred, target)
    n, c, spatial = pred.shape[0], pred.shape[1], tuple(pred.shape[2:])
    if opts.form == "index":
        if not xp.isdtype(target.dtype, "integral"):
            raise TypeError(f"target must hold integer class indices for form='index', "
                            f"got {target.dtype}")  # fmt: skip
        if tuple(target.shape) != (n, *spatial):
            raise ValueError(f"target must have shape (N, *S) = {(n, *spatial)} for "
                             f"form='index', got {tuple(target.shape)}")  # fmt: skip
        outside = (target != opts.ignore_index) & ((target < 0) | (target >= c))
        if bool(xp.any(outside)):  # False for an empty target
            raise ValueError(f"target holds class indices outside [0, {c}) other than ignore_index")
    else:
        if not xp.isdtype(target.dtype, "real floating"):
            raise TypeError(f"target must hold probabilities (floating) for "
                            f"form={opts.form!r}, got {target.dtype}")  # fmt: skip
        if tuple(target.shape) != tuple(pred.shape):
            raise ValueError(f"target must have pred's shape {tuple(pred.shape)} for "
                             f"form={opts.form!r}, got {tuple(target.shape)}")  # fmt: skip
    if opts.input == "probabilities" and bool(xp.any((pred < 0) | (pred > 1))):
        raise ValueError("pred holds probabilities (input='probabilities'): values must lie "
                         "in [0, 1]")  # fmt: skip
    if pos_weight is not None and (opts.form != "sigmoid" or opts.input != "logits"):
        raise ValueError("pos_weight applies to form='sigmoid' with input='logits' only")
    return pred.dtype


# ---- the oracle ------------------------------------------------------------------------------


def _class_shape(v: np.ndarray, ndim: int) -> np.ndarray:
    """A per-class vector (C,) laid along axis 1 of an ndim-array."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _log_softmax(x: np.ndarray, opts: CrossEntropyOptions) -> np.ndarray:
    if opts.input == "probabilities":
        with np.errstate(divide="ignore"):
            clamped: np.ndarray = np.maximum(np.log(x), LOG_FLOOR)
        return clamped
    top = x.max(axis=1, keepdims=True)  # NaN propagates
    shifted = x - top
    out: np.ndarray = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return out


def _log_sigmoids(x: np.ndarray, opts: CrossEntropyOptions) -> tuple[np.ndarray, np.ndarray]:
    """(log p, log(1 - p)) elementwise."""
    if opts.input == "probabilities":
        with np.errstate(divide="ignore"):
            return np.maximum(np.log(x), LOG_FLOOR), np.maximum(np.log1p(-x), LOG_FLOOR)
    tail = np.log1p(np.exp(-np.abs(x)))  # softplus(±x) = max(±x, 0) + log(1 + e^-|x|)
    return -(np.maximum(-x, 0.0) + tail), -(np.maximum(x, 0.0) + tail)


def cross_entropy_softmax_sigmoid(
    pred: Any, target: Any, weight: Any, pos_weight: Any, opts: CrossEntropyOptions
) -> Any:
    """Oracle, float64. index: l = -w[t]·log softmax(pred)[t], ignored targets give 0;
    probability: l = -Σ_c w_c·q_c·log softmax(pred)_c; sigmoid: l = -w_c·(pw_c·y·log σ(z) +
    (1 - y)·log(1 - σ(z))). mean divides by Σ w[t] over kept targets (index) or the count."""
    check(pred, target, weight, pos_weight, opts)
    x = np.asarray(pred, dtype=np.float64)
    c = x.shape[1]
    w = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    if opts.form == "index":
        t = np.asarray(target).astype(np.int64)
        kept = t != opts.ignore_index
        safe = np.where(kept, t, 0)
        logp = np.take_along_axis(_log_softmax(x, opts), safe[:, None], axis=1)[:, 0]
        wt = np.where(kept, w[safe], 0.0)
        loss = np.where(kept, -wt * logp, 0.0)
        denominator = wt.sum()
    elif opts.form == "probability":
        q = np.asarray(target, dtype=np.float64)
        loss = -(_class_shape(w, x.ndim) * q * _log_softmax(x, opts)).sum(axis=1)
        denominator = float(loss.size)
    else:
        y = np.asarray(target, dtype=np.float64)
        pw = np.ones(c) if pos_weight is None else np.asarray(pos_weight, dtype=np.float64)
        log_p, log_q = _log_sigmoids(x, opts)
        loss = -_class_shape(w, x.ndim) * (_class_shape(pw, x.ndim) * y * log_p + (1 - y) * log_q)
        denominator = float(loss.size)
    if opts.reduction == "none":
        return loss
    total = loss.sum()
    if opts.reduction == "sum":
        return np.asarray(total)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total / denominator)  # nothing kept: 0/0 = NaN, as torch


# ---- inputs ----------------------------------------------------------------------------------


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def make_inputs(case: Case) -> Inputs:
    p, opts = case.params, CrossEntropyOptions.build(case.options)
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    n, c, spatial = int(p["N"]), int(p["C"]), tuple(p.get("S", ()))
    shape = (n, c, *spatial)
    z = p.get("loc", 0.0) + p.get("scale", 3.0) * rng.standard_normal(shape)
    if p.get("extreme"):  # logits of ±1e4 and 0 mixed: naive exp overflows, log(σ) gives -inf
        z = rng.choice(np.array([-1e4, 0.0, 1e4]), size=shape)
    if opts.input == "logits":
        pred = z
    else:
        pred = _softmax(z) if opts.form != "sigmoid" else 1.0 / (1.0 + np.exp(-z))
        if p.get("exact01"):  # every other sample exactly one-hot (softmax) / 0 or 1 (sigmoid)
            hot = rng.integers(0, c, (n, *spatial))
            onehot = np.moveaxis(np.eye(c)[hot], -1, 1)
            binary = (rng.random(shape) < 0.5).astype(np.float64)
            pred[::2] = (onehot if opts.form != "sigmoid" else binary)[::2]
    if opts.form == "index":
        t = rng.integers(0, c, (n, *spatial))
        t[rng.random(t.shape) < p.get("ignored", 0.1)] = opts.ignore_index
        target: Any = t
    elif opts.form == "probability":
        target = _softmax(2.0 * rng.standard_normal(shape)).astype(dtype)
    else:  # hard 0/1 labels on half the elements, soft ones on the rest
        y = rng.random(shape)
        hard = rng.random(shape) < 0.5
        target = np.where(hard, np.round(y), y).astype(dtype)
    if p.get("exact01") and opts.form == "probability":  # one-hot rows: q exactly 0 and 1
        target[1::2] = np.moveaxis(np.eye(c)[rng.integers(0, c, (n, *spatial))], -1, 1)[1::2]
    weight: np.ndarray | None = None
    if p.get("weight") is not None:
        weight = rng.uniform(0.5, 2.0, c)
        if p["weight"] == "some_zero":
            weight[: max(1, c // 3)] = 0.0
        elif p["weight"] == "all_zero":
            weight[:] = 0.0
    pos_weight = rng.uniform(0.5, 3.0, c) if p.get("pos_weight") else None
    return {
        "pred": pred.astype(dtype),
        "target": target if opts.form == "index" else np.asarray(target, dtype),
        "weight": None if weight is None else weight.astype(p.get("dtype_weight", dtype)),
        "pos_weight": None if pos_weight is None else pos_weight.astype(dtype),
    }


# ---- cost and tolerance ----------------------------------------------------------------------


def _counts(case: Case) -> tuple[int, int, int]:
    p = case.params
    return int(p["N"]), int(p["C"]), int(np.prod(p.get("S", ()), dtype=np.int64))


def cost(case: Case) -> Cost:
    """≈ 5 flops per element (max, subtract, exp, sum, and the target's term; sigmoid: abs,
    exp, log1p, two products); bytes: pred read once, the targets (8 per index, b per
    probability), the losses written (N·S for index/probability none, N·C·S for sigmoid)."""
    n, c, s = _counts(case)
    form = case.options.get("form", "index")
    b = np.dtype(case.dtype).itemsize
    elements = n * c * s
    target_bytes = 8 * n * s if form == "index" else b * elements
    per_sample = elements if form == "sigmoid" else n * s
    out = per_sample if case.options.get("reduction") == "none" else 1
    return Cost(flops=5.0 * elements, bytes=float(b * elements + target_bytes + b * out),
                items=n * s, item_unit="samples")  # fmt: skip


def tolerance(case: Case) -> Tolerance:
    """Each loss is a difference of terms of size up to Z (the logit magnitude: 1e4 in the
    extreme cases, loc + 6·scale otherwise) plus log C, so its absolute error is a few eps·
    (Z + log C + 1), times the largest weight product W (weight <= 2, pos_weight <= 3); the
    C-long sums add 10·sqrt(C)·eps relative. A mean or sum over M losses adds 10·sqrt(M)·eps
    relative (the losses are >= 0: no cancellation); a sum's absolute error grows with M.
    Probability inputs: log p is exact to eps relative and the clamp at -100 is a plain max."""
    p = case.params
    n, c, s = _counts(case)
    eps = EPS[case.dtype]
    z = 1e4 if p.get("extreme") else abs(p.get("loc", 0.0)) + 6.0 * p.get("scale", 3.0)
    if case.options.get("input") == "probabilities":
        z = 1.0
    w = (2.0 if p.get("weight") else 1.0) * (3.0 if p.get("pos_weight") else 1.0)
    m = n * s * (c if case.options.get("form") == "sigmoid" else 1)
    reduction = case.options.get("reduction", "mean")
    k = c * (m if reduction != "none" else 1)
    rtol = 10.0 * np.sqrt(max(k, 1)) * eps
    if case.dtype == "float64":
        rtol = max(rtol, 1e-10)
    atol = 10.0 * eps * (z + np.log(c) + 1.0) * w * (max(m, 1) if reduction == "sum" else 1)
    return Tolerance(float(rtol), float(atol), f"{case.dtype}: rtol 10·sqrt(K)·eps, K={k}; "
                     f"atol 10·eps·(Z + log C + 1)·W{'·M' if reduction == 'sum' else ''}, "
                     f"Z={z:g}, W={w:g}")  # fmt: skip


# ---- cases -----------------------------------------------------------------------------------

PROB, SIG = {"form": "probability"}, {"form": "sigmoid"}
PIN = {"input": "probabilities"}
SUM, NONE = {"reduction": "sum"}, {"reduction": "none"}

CASES = [
    # N, C distinct and >= 2 (the error base is "sigmoid": both weights present)
    case("index_weighted", weight="random"),
    case("index_f64", dtype="float64"),
    case("index_weighted_f64", dtype="float64", weight="random"),
    case("index_sum", options=SUM),
    case("index_none_f64", dtype="float64", weight="random", options=NONE),
    case("index_ignore_class_1", weight="random", ignored=0.3, options={"ignore_index": 1}),
    case("index_kdim", N=3, C=5, S=(4, 6), weight="random"),
    case("index_kdim_none_f64", N=3, C=5, S=(7,), dtype="float64", options=NONE),
    case("index_probabilities", weight="random", options=PIN),
    case("index_probabilities_none_f64", dtype="float64", options={**PIN, **NONE}),
    # one-hot probability rows that miss their target: p = 0 costs 100 (the -100 log floor);
    # sklearn's log_loss clips p at the dtype's eps instead (its adapter's expected failure)
    case("index_probabilities_exact_01", exact01=True, weight="random", options=PIN),
    case(
        "index_probabilities_kdim_sum",
        N=3,
        C=5,
        S=(4,),
        weight="random",
        ignored=0.3,
        options={**PIN, **SUM},
    ),
    case("probability", weight="random", options=PROB),
    case("probability_f64", dtype="float64", options=PROB),
    case("probability_sum_kdim", N=3, C=5, S=(4,), weight="random", options={**PROB, **SUM}),
    case("probability_probabilities_f64", dtype="float64", options={**PROB, **PIN}),
    case("sigmoid", weight="random", pos_weight=True, options=SIG),
    case("sigmoid_f64", dtype="float64", options=SIG),
    case("sigmoid_none_pos_weight_f64", dtype="float64", pos_weight=True, options={**SIG, **NONE}),
    case("sigmoid_kdim_sum", N=3, C=5, S=(4, 6), weight="random", options={**SIG, **SUM}),
    case("sigmoid_probabilities", weight="random", options={**SIG, **PIN}),
    case("sigmoid_probabilities_none_f64", dtype="float64", options={**SIG, **PIN, **NONE}),
    # rows of 1000 classes (past a 256-wide block) and 600 rows (several row blocks)
    case("wide_rows", N=5, C=1000, weight="random"),
    case("many_rows_f64", N=600, C=7, dtype="float64", weight="random"),
]
EDGES = [
    # logits of ±1e4: exp overflows without the max shift; log(softmax) / log(σ) give -inf
    edge("extreme_logits", extreme=True, ignored=0.0),
    edge("extreme_logits_none", extreme=True, ignored=0.0, options=NONE),
    edge("extreme_logits_probability_none", extreme=True, options={**PROB, **NONE}),
    edge("extreme_logits_sigmoid_none", extreme=True, pos_weight=True, options={**SIG, **NONE}),
    edge("extreme_logits_sigmoid_f64", extreme=True, dtype="float64", options=SIG),
    # probabilities exactly 0 and 1: the log clamp gives 100, never inf or NaN
    edge("exact_01_none", exact01=True, ignored=0.0, options={**PIN, **NONE}),
    edge("exact_01_probability_none", exact01=True, options={**PROB, **PIN, **NONE}),
    edge("exact_01_sigmoid_none", exact01=True, options={**SIG, **PIN, **NONE}),
    # every target ignored: mean = 0/0 = NaN (torch), sum = 0, none = zeros
    edge("all_ignored_mean", ignored=1.0),
    edge("all_ignored_sum", ignored=1.0, options=SUM),
    edge("all_ignored_none", ignored=1.0, options=NONE),
    # zero class weights: those targets count in neither sum; all zero: mean = NaN
    edge("some_zero_weights", weight="some_zero"),
    edge("all_zero_weights", weight="all_zero"),
    edge("one_class", C=1, weight="random"),  # softmax of one class: every loss 0
    edge("one_class_sigmoid", C=1, options=SIG),
    edge("no_samples_mean", N=0, C=5),  # mean of nothing: NaN (torch)
    edge("no_samples_none", N=0, C=5, options=NONE),
    edge("no_samples_sigmoid_none", N=0, C=5, options={**SIG, **NONE}),
    edge("no_samples_sigmoid_sum", N=0, C=5, options={**SIG, **SUM}),
    edge("nan_logit_none", pattern_nan=True, ignored=0.0, options=NONE),
]
ERRORS = [
    error("target_at_C", ValueError, r"\btarget\b", bad_target=7),
    error("target_negative", ValueError, r"\btarget\b", bad_target=-1),
    error("float_target_for_index", TypeError, r"\btarget\b", float_target=True),
    error("probabilities_above_1", ValueError, r"\bpred\b", above_one=True, options=PIN),
    error("pos_weight_with_softmax", ValueError, r"\bpos_weight\b", pos_weight=True),
    error(
        "pos_weight_length",
        ValueError,
        r"\bpos_weight\b",
        pos_weight=True,
        short_pw=True,
        options=SIG,
    ),
    error("weight_of_one", ValueError, r"\bweight\b", weight="random", short_w=True),
    error("probability_target_shape", ValueError, r"\btarget\b", short_target=True, options=PROB),
]
DEFAULTS = {"seed": 11, "dtype": "float32", "N": 40, "C": 7}


def make_inputs_with_mistakes(case: Case) -> Inputs:
    """make_inputs, then the change an error or NaN case names."""
    inputs = make_inputs(case)
    p = case.params
    if "bad_target" in p:
        t = inputs["target"].copy()
        t[3] = p["bad_target"]
        inputs["target"] = t
    if p.get("float_target"):
        inputs["target"] = inputs["target"].astype(np.dtype(case.dtype))
    if p.get("above_one"):
        inputs["pred"] = inputs["pred"].copy()
        inputs["pred"][0, 0] = 1.5
    if p.get("short_pw"):
        inputs["pos_weight"] = inputs["pos_weight"][:-1]
    if p.get("short_w"):
        inputs["weight"] = inputs["weight"][:1]  # would broadcast: still not C long
    if p.get("short_target"):
        inputs["target"] = inputs["target"][:, :-1]
    if p.get("pattern_nan"):
        inputs["pred"] = inputs["pred"].copy()
        inputs["pred"][2, 1] = np.nan  # sample 2's loss is NaN, the others are not
    return inputs


def _below_eps(inputs: Inputs) -> bool:
    """Index targets whose probability is below the dtype's eps, where sklearn's clip and
    the -100 floor part (pred in [0, 1]: probabilities, not logits)."""
    pred, target = np.asarray(inputs["pred"]), np.asarray(inputs["target"])
    if pred.size == 0 or target.dtype.kind not in "iu" or pred.min() < 0 or pred.max() > 1:
        return False
    c = pred.shape[1]
    kept = (target >= 0) & (target < c)
    at = np.take_along_axis(pred, np.where(kept, target, 0)[:, None], axis=1)[:, 0]
    return bool(np.any(kept & (at < np.finfo(pred.dtype).eps)))


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(0, 12),
            "C": st.integers(1, 9),
            "S": st.sampled_from([(), (3,), (2, 3)]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "scale": st.sampled_from([0.5, 3.0, 30.0]),
            "ignored": st.sampled_from([0.0, 0.3, 1.0]),
            "extreme": st.booleans(),
            "exact01": st.booleans(),
        },
        optional={"weight": st.sampled_from(["random", "some_zero"]), "pos_weight": st.just(True)},
    )

    def build(p: dict[str, Any], o: dict[str, Any]) -> Case:
        if p.get("pos_weight") and (o.get("form") != "sigmoid" or o.get("input") == PIN["input"]):
            p = {k: v for k, v in p.items() if k != "pos_weight"}
        return Case("fuzz", p, o, "fuzz")

    flags = CrossEntropyOptions.strategy(omit=("ignore_index",), optional=True)
    return st.builds(build, params, flags)


CONVENTIONS = (
    "pred: (N, C, *S) floating, the class axis 1 (S: 0 to 2 further axes). form='index': "
    "target (N, *S) integer class indices; loss = -w[t]·log softmax(pred)[t] with log-softmax "
    "= x - max - log Σ exp(x - max) (finite at logits of ±1e4); targets equal to ignore_index "
    "(-100) give loss 0 and leave both sums; mean = Σ loss / Σ w[t] over kept targets (torch's "
    "weighted mean, not / N): every target ignored (or all their weights 0) gives NaN, sum 0, "
    "none zeros. form='probability': target shaped like pred; loss = -Σ_c w_c·q_c·log p_c; "
    "mean / (N·S). form='sigmoid': per element -w_c·(pw_c·y·log σ(z) + (1 - y)·log(1 - σ(z))) "
    "with the stable softplus form max(∓z, 0) + log(1 + e^-|z|); mean / (N·C·S). weight and "
    "pos_weight are (C,) along the class axis (torch's BCE broadcasts them along the last "
    "axis: a K-dimensional caller reshapes them to (C, 1, ...)); pos_weight only with "
    "sigmoid on logits. input='probabilities': pred holds probabilities in [0, 1] and each "
    "log is clamped below at -100 (F.binary_cross_entropy), so p = 0 costs 100, never inf. "
    "Outputs have pred's dtype; mean and sum are 0-d. N = 0: mean NaN, sum 0. Raises "
    "ValueError for a target index outside [0, C) other than ignore_index, a weight length "
    "other than C, C = 0, probabilities outside [0, 1], pos_weight off sigmoid logits; "
    "TypeError for a float target with form='index'."
)

SUITE = Suite(
    algorithm="cross_entropy_softmax_sigmoid",
    family="losses-and-metrics",
    summary="Softmax CE (index or probability targets) or sigmoid BCE of pred (N, C, *S), "
    "torch's weights, ignore_index and reductions -> () or per-sample losses.",
    conventions=CONVENTIONS,
    args=ARGS,
    options=CrossEntropyOptions,
    make_inputs=make_inputs_with_mistakes,
    oracle=cross_entropy_softmax_sigmoid,
    compare=Close(override=tolerance),
    cost=cost,
    defaults=DEFAULTS,
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    error_base="sigmoid",
    invalid_options=[{"form": "probability", "ignore_index": 1}, {**SIG, "ignore_index": 1}],
    bench={
        "smoke": [bench("bench_tiny", N=256, C=100)],
        # The spec's standard (65,536 x 1,000 float32: 262 MB, 0.5 GB for the float64 oracle)
        # takes seconds per call on two cores; the quick profile's 6 s hold 8,192 x 1,000.
        "quick": [bench("bench_8192x1000", N=8192, C=1000)],
        "full": [
            bench("bench_spec_standard", N=65536, C=1000),
            bench("bench_segmentation", N=8, C=21, S=(256, 256)),
            bench("bench_sigmoid_8192x1000", N=8192, C=1000, options=SIG),
        ],
    },
    standard="bench_8192x1000",
    multi_block={"C": 1000, "N": 600},
    fuzz=fuzz_strategy,
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="torch.nn.functional.cross_entropy / nll_loss / binary_cross_entropy_with_logits "
    "/ binary_cross_entropy; sklearn.metrics.log_loss (index targets, probabilities, "
    "mean / sum: library/sklearn)",
    # sklearn clips probabilities at the dtype's eps: a draw holding any below it diverges
    divergent_inputs={"index_probabilities_exact_01": _below_eps},
)

SUITES = [SUITE]

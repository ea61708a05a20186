"""Suite for kl_divergence: the pointwise KL terms of F.kl_div, and torch's reductions.

F.kl_div(input, target) takes input = log Q and target = P (the reverse of the maths'
D(P‖Q) argument order), or log P with log_target=True, and returns the terms
p·(log p - log q) (torch: xlogy(p, p) - p·input, or exp(t)·(t - input) for a log target),
reduced by mean over every element, sum, none, or batchmean = sum / N, the only one that
is the per-sample KL divergence. Nothing is normalised: unnormalised P and Q are taken as
they come (scipy.stats.entropy would normalise first; scipy.special.rel_entr does not).
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


@dataclass(frozen=True)
class KlOptions(Options):
    reduction: str = option(
        "mean",
        "sum",
        "none",
        "batchmean",
        meaning="mean over every element (torch's default; the KL divided by the class count "
        "too); sum; none (the pointwise terms); batchmean = sum / N (the per-sample KL)",
    )
    log_target: bool = option(
        False,
        True,
        meaning="False: target holds P (probabilities, >= 0); True: target holds log P",
    )
    zero_target: str = option(
        "torch",
        "zero",
        meaning="torch: the terms are torch's formulas, so P = 0 against input = ±inf "
        "(Q = 0 or inf) gives 0·inf = NaN, and a log target of -inf gives NaN whatever the "
        "input; zero: every term with P = 0 is 0 (the maths' 0·log(0/q) = 0, "
        "scipy.special.rel_entr), NaN input still NaN",
    )


ARGS = Args(
    Arg("input", ("N", "*S"), "float", star=(0, 3)),
    Arg("target", ("N", "*S"), "float", star=(0, 3)),
    same_dtype=("input", "target"),
)


def check(input: Any, target: Any, opts: KlOptions) -> Any:
    """Validate the inputs for ``opts``; return the result dtype (input's)."""
    ARGS.check(input, target)
    if not opts.log_target and bool((target < 0).any()):  # NaN passes, as everywhere
        raise ValueError("target holds probabilities (log_target=False) and must be >= 0")
    return input.dtype


def kl_divergence(input: Any, target: Any, opts: KlOptions) -> Any:
    """Oracle, float64: the terms p·(log p - input) (p = target, or exp(target) with
    log_target); p = 0 gives 0·(0 - input) (NaN for an infinite input) under 'torch' and
    0 under 'zero'; then the reduction."""
    check(input, target, opts)
    x = np.asarray(input, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    with np.errstate(all="ignore"):
        if opts.log_target:
            p = np.exp(t)
            terms = p * (t - x)
            zero = t == -np.inf
        else:
            log_p = np.log(np.where(t > 0, t, 1.0))  # xlogy: log p only where p > 0
            terms = t * (log_p - x)
            zero = t == 0
        if opts.zero_target == "zero":
            terms = np.where(zero & ~np.isnan(x), 0.0, terms)
        if opts.reduction == "none":
            return terms
        total = terms.sum()
        if opts.reduction == "sum":
            return np.asarray(total)
        count = terms.size if opts.reduction == "mean" else terms.shape[0]
        return np.asarray(total / count if count else np.nan)  # torch: 0/0 = NaN


# the largest p·(|log p| + |input|) of one element each pattern produces (B: the scale of a
# term's rounding), and a bound on Σ p·(|log p| + |input|) over one softmax group (its P
# sums to 1), or over one element where P is not normalised (by element)
_SCALE = {"random": 20.0, "unnormalised": 12.0, "zeros": 20.0, "zero_q": 20.0,
          "tiny": 250.0, "log_tiny": 30.0, "equal": 20.0, "nan": 20.0}  # fmt: skip
_MASS = {"unnormalised": 12.0, "log_tiny": 10.0}  # per element; the others 30 per group


def _sum_bound(case: Case) -> float:
    """A bound on Σ|terms|: P is a softmax over axis 1 (over the whole vector when 1-D),
    so each group of P sums to 1 and its terms to at most ~log C + max|input| (30 covers
    C <= 32,000 with these logits; 250 for tiny Q); unnormalised patterns per element."""
    p = case.params
    shape = (int(p["N"]), *tuple(p.get("S", (7,))))
    k = int(np.prod(shape, dtype=np.int64))
    pattern = p.get("pattern", "random")
    if pattern in _MASS:
        return _MASS[pattern] * k
    groups = k // shape[1] if len(shape) > 1 and shape[1] else 1
    return (250.0 if pattern == "tiny" else 30.0) * groups


def _softmax(z: np.ndarray) -> np.ndarray:
    axis = 1 if z.ndim > 1 else 0
    e = np.exp(z - z.max(axis=axis, keepdims=True, initial=-np.inf))
    out: np.ndarray = e / e.sum(axis=axis, keepdims=True)
    return out


def make_inputs(case: Case) -> Inputs:
    p_, opts = case.params, KlOptions.build(case.options)
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    shape = (int(p_["N"]), *tuple(p_.get("S", (7,))))
    pattern = p_.get("pattern", "random")
    with np.errstate(divide="ignore"):
        p = _softmax(2.0 * rng.standard_normal(shape))
        log_q = np.log(_softmax(2.0 * rng.standard_normal(shape)))
        if pattern == "unnormalised":  # no row sums to 1: normalising first changes the answer
            p = rng.uniform(0.0, 3.0, shape)
            log_q = np.log(rng.uniform(0.05, 3.0, shape))
        elif pattern in ("zeros", "zero_q"):  # P = 0 on about a third of the elements
            p = np.where(rng.random(shape) < 0.35, 0.0, p)
            if pattern == "zero_q":  # Q = 0 where P > 0 (+inf) and where P = 0 (torch: NaN)
                flat_q, flat_p = log_q.reshape(-1), p.reshape(-1)
                pos, nil = np.flatnonzero(flat_p > 0), np.flatnonzero(flat_p == 0)
                flat_q[pos[:2]] = -np.inf
                flat_q[nil[:3]] = -np.inf
        elif pattern == "tiny":  # Q below float32's smallest number: exp(input) underflows
            log_q = rng.uniform(-200.0, -110.0, shape)
            p.reshape(-1)[::4] = rng.choice([1e-30, 1e-38, 1e-42, 1e-45], p.size)[::4]
        elif pattern == "log_tiny":  # log P below float32's range: exp(target) = 0 there
            p = -rng.uniform(110.0, 200.0, shape)  # the target itself, in log space
            p.reshape(-1)[1::3] = np.log(rng.uniform(0.01, 1.0, p.size))[1::3]
        elif pattern == "equal":  # P = Q: every term exactly 0
            log_q = np.log(p)
        elif pattern == "nan":
            log_q.reshape(-1)[1] = np.nan
            p.reshape(-1)[4] = np.nan
    target = p
    if opts.log_target and pattern != "log_tiny":
        with np.errstate(divide="ignore"):
            target = np.log(p)  # -inf where P = 0
    if p_.get("negative"):
        target = np.array(target)
        target.reshape(-1)[0] = -0.25
    return {"input": log_q.astype(dtype), "target": target.astype(dtype)}


def cost(case: Case) -> Cost:
    """≈ 4 flops + 1 log (or exp) per element; input and target read once, the terms
    written (none) or one number."""
    n = int(case.params["N"]) * int(np.prod(case.params.get("S", (7,)), dtype=np.int64))
    b = np.dtype(case.dtype).itemsize
    out = n if case.options.get("reduction") == "none" else 1
    return Cost(flops=5.0 * n, bytes=float(2 * b * n + b * out), items=n, item_unit="elements")


def tolerance(case: Case) -> Tolerance:
    """One term p·(log p - input) in the inputs' dtype: log p carries eps relative, the
    difference cancels to an absolute error of about eps·(|log p| + |input|), times p: so
    a few eps times the pattern's largest p·(|log p| + |input|) (B, _SCALE) absolutely,
    plus 4 eps relative. A reduction over K terms of mixed sign (P < Q gives negative
    terms) adds 10·sqrt(K)·eps relative to Σ|terms| (bounded by _sum_bound); mean and
    batchmean divide that by K or N. float64: at least 1e-10 relative."""
    p = case.params
    n, per = int(p["N"]), int(np.prod(p.get("S", (7,)), dtype=np.int64))
    k = max(n * per, 1)
    eps, scale = EPS[case.dtype], _SCALE[p.get("pattern", "random")]
    floor = 1e-10 if case.dtype == "float64" else 0.0
    reduction = case.options.get("reduction", "mean")
    if reduction == "none":
        return Tolerance(max(4 * eps, floor), 4 * eps * scale, f"{case.dtype}: 4 eps relative, "
                         f"4·eps·B absolute, B={scale:g}")  # fmt: skip
    rtol = max(10.0 * np.sqrt(k) * eps, floor)
    divide = {"sum": 1, "mean": k, "batchmean": max(n, 1)}[reduction]
    mass = _sum_bound(case)
    atol = rtol * mass / divide
    return Tolerance(float(rtol), float(atol), f"{case.dtype}: 10·sqrt(K)·eps, K={k}, "
                     f"relative to Σ|terms| <= {mass:g}, / {divide}")  # fmt: skip


NONE, SUM, BATCH = {"reduction": "none"}, {"reduction": "sum"}, {"reduction": "batchmean"}
LOG, ZERO = {"log_target": True}, {"zero_target": "zero"}

CASES = [
    case("random"),
    case("random_f64", dtype="float64"),
    case("none", options=NONE),
    case("none_f64", dtype="float64", options=NONE),
    case("sum", options=SUM),
    case("batchmean", options=BATCH),
    case("batchmean_f64", dtype="float64", options=BATCH),
    case("log_target", options=LOG),
    case("log_target_none_f64", dtype="float64", options={**LOG, **NONE}),
    case("log_target_batchmean", options={**LOG, **BATCH}),
    case("unnormalised_none", pattern="unnormalised", options=NONE),
    case("unnormalised_batchmean_f64", pattern="unnormalised", dtype="float64", options=BATCH),
    case("kdim_none", N=3, S=(5, 6), options=NONE),
    case("kdim_batchmean", N=3, S=(5, 6), options=BATCH),
    case("flat_sum_f64", N=50, S=(), dtype="float64", options=SUM),
    # 20,000 x 7 = 140,000 elements: past a 65,536-element chunk, several 256-thread blocks
    case("many_f64", N=20000, dtype="float64", options=BATCH),
    case("many_none", N=20000, options=NONE),
]
EDGES = [
    edge("zeros_in_p_none", pattern="zeros", options=NONE),  # 0·log 0 = 0, no NaN
    edge("zeros_in_p_batchmean_f64", pattern="zeros", dtype="float64", options=BATCH),
    edge("zeros_in_p_log_target_none", pattern="zeros", options={**LOG, **NONE}),  # NaN (torch)
    edge("zeros_in_p_log_target_zero_none", pattern="zeros", options={**LOG, **NONE, **ZERO}),
    edge("zero_q_none", pattern="zero_q", options=NONE),  # +inf, and NaN where P = 0 too
    edge("zero_q_zero_none", pattern="zero_q", options={**NONE, **ZERO}),  # +inf, and 0
    edge("zero_q_zero_sum", pattern="zero_q", options={**SUM, **ZERO}),  # +inf
    edge("zeros_in_p_zero_batchmean", pattern="zeros", options={**BATCH, **ZERO}),
    edge("p_equals_q_f64", pattern="equal", dtype="float64", options=NONE),
    edge("tiny_q_none", pattern="tiny", options=NONE),  # exp(input) = 0 in float32
    edge("tiny_q_sum", pattern="tiny", options=SUM),
    edge("tiny_log_p_none", pattern="log_tiny", options={**LOG, **NONE}),  # exp(target) = 0
    edge("tiny_log_p_zero_none", pattern="log_tiny", options={**LOG, **NONE, **ZERO}),
    edge("nan_none", pattern="nan", options=NONE),
    edge("nan_zero_none", pattern="nan", options={**NONE, **ZERO}),
    edge("nan_mean", pattern="nan"),
    edge("no_rows_mean", N=0, S=(3,)),  # torch: 0/0 = NaN
    edge("no_rows_batchmean", N=0, S=(3,), options=BATCH),
    edge("no_rows_sum", N=0, S=(3,), options=SUM),
    edge("no_rows_none", N=0, S=(3,), options=NONE),
]
ERRORS = [
    error("negative_probability", ValueError, r"\btarget\b", negative=True),
    error("negative_probability_none", ValueError, r"\btarget\b", negative=True, options=NONE),
]
DEFAULTS = {"seed": 23, "dtype": "float32", "N": 40}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(0, 30),
            "S": st.sampled_from([(), (7,), (2, 3)]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "pattern": st.sampled_from(["random", "unnormalised", "zeros", "zero_q", "tiny"]),
        }
    )
    return st.builds(
        lambda p, o: Case("fuzz", p, o, "fuzz"), params, KlOptions.strategy(optional=True)
    )


CONVENTIONS = (
    "input: log Q, target: P (log_target=False, P >= 0) or log P (log_target=True), both "
    "(N, *S) of one floating dtype (S: 0 to 3 further axes); F.kl_div's argument order, the "
    "reverse of D(P‖Q). Terms p·(log p - input), with p·log p = 0 at p = 0 (xlogy); "
    "p > 0 against input = -inf (Q = 0) is +inf. zero_target='torch': P = 0 against an "
    "infinite input gives NaN (0·inf), and a log target of -inf gives NaN (exp(-inf)·(-inf "
    "- input)), as F.kl_div; 'zero': every P = 0 term is 0 (rel_entr). A log target below "
    "float32's range is an exp of 0, not NaN; tiny Q stays in log space (no exp(input)). "
    "No normalisation of P or Q. reduction mean (/ element count), sum, none, batchmean "
    "(/ N); a mean over nothing is NaN (torch's 0/0). NaN propagates. Outputs have "
    "input's dtype; reductions are 0-d. Raises ValueError for a negative probability in "
    "target (log_target=False), TypeError when input and target differ in dtype."
)

SUITE = Suite(
    algorithm="kl_divergence",
    family="losses-and-metrics",
    summary="KL divergence terms p·(log p - log q) of F.kl_div(log Q, P or log P), "
    "reduced by mean / sum / none / batchmean -> () or (N, *S).",
    conventions=CONVENTIONS,
    args=ARGS,
    options=KlOptions,
    make_inputs=make_inputs,
    oracle=kl_divergence,
    compare=Close(override=tolerance),
    cost=cost,
    defaults=DEFAULTS,
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    bench={
        "smoke": [bench("bench_tiny", N=512, S=(1000,))],
        # the spec's standard is 65,536 x 1,000; a quarter of it keeps the quick profile of
        # five implementations within its budget (the spec's size is in the full profile)
        "quick": [bench("bench_16k_1000", N=16_384, S=(1000,))],
        "full": [
            bench("bench_65k_1000", N=65_536, S=(1000,)),
            bench("bench_large_32k_32000", N=32_768, S=(32_000,)),
        ],
    },
    standard="bench_16k_1000",
    multi_block={"N": 20000},
    fuzz=fuzz_strategy,
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="torch.nn.functional.kl_div(input, target, reduction=, log_target=); "
    "scipy.special.rel_entr",
)

SUITES = [SUITE]

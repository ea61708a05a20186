"""Suite for triplet_loss: the margin ranking loss of (anchor, positive, negative) embeddings.

L_i = max(0, d(a_i, p_i) - d(a_i, n_i) + margin), d the p-norm of the difference with
torch's eps added to it (F.pairwise_distance: ||x - y + eps||_p), or its square (FaceNet);
swap=True replaces d(a, n) by min(d(a, n), d(p, n)) (Balntas et al.). Reductions mean, sum,
none. The Euclidean distances come from pairwise_l2_distance's oracle, applied to the
differences (the distance of a - p + eps to the origin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance
from suites.pairwise_l2_distance import L2Options, pairwise_l2_distance


def _eps(v: Any) -> bool:
    return isinstance(v, float) and 0.0 <= v < math.inf  # NaN fails


@dataclass(frozen=True)
class TripletOptions(Options):
    eps: float = option(
        1e-6,
        0.0,
        meaning="added to every coordinate of the difference before the norm, as "
        "F.pairwise_distance does (identical D-dim points are D^(1/p)·eps apart); 0: none",
        accepts=_eps,
    )
    swap: bool = option(
        False, True, meaning="distance swap: d(a, n) replaced by min(d(a, n), d(p, n))"
    )
    squared: bool = option(
        False, True, meaning="the distances squared (FaceNet's squared Euclidean at p = 2)"
    )
    reduction: str = option("mean", "sum", "none", meaning="torch's reductions over the batch")


ARGS = Args(
    Arg("anchor", ("B", "D"), "float"),
    Arg("positive", ("B", "D"), "float"),
    Arg("negative", ("B", "D"), "float"),
    Scalar("margin", low=0.0),
    Scalar("p", low=0.0),  # and p > 0: check()
    same_dtype=("anchor", "positive", "negative"),
)


def check(anchor: Any, positive: Any, negative: Any, margin: Any, p: Any) -> Any:
    """ARGS, then the norm order p > 0 (p = inf allowed); returns the result dtype."""
    dtype = ARGS.check(anchor, positive, negative, margin, p)
    if not float(p) > 0:
        raise ValueError(f"p, the norm order, must be > 0, got {p!r}")
    return dtype


def row_distance(x: np.ndarray, y: np.ndarray, p: float, opts: TripletOptions) -> np.ndarray:
    """float64 d(x_i, y_i) = ||x_i - y_i + eps||_p (squared when opts.squared); p = 2 through
    pairwise_l2_distance's oracle (every difference row to the origin)."""
    v = x - y + opts.eps
    if p == 2:
        origin = np.zeros((1, v.shape[1]))
        return pairwise_l2_distance(v, origin, L2Options(squared=opts.squared))[:, 0]  # type: ignore[no-any-return]
    a = np.abs(v)
    if p == math.inf:
        d = a.max(axis=1, initial=0.0)  # NaN propagates; D = 0 gives 0
    elif p == 1:
        d = a.sum(axis=1)
    else:
        d = (a**p).sum(axis=1) ** (1.0 / p)
    return d * d if opts.squared else d  # type: ignore[no-any-return]


def triplet_loss(anchor: Any, positive: Any, negative: Any, margin: Any, p: Any,
                 opts: TripletOptions) -> Any:  # fmt: skip
    """Oracle: float64 distances, the hinge, the reduction (the mean of nothing is NaN)."""
    check(anchor, positive, negative, margin, p)
    a, pos, neg = (np.asarray(t, dtype=np.float64) for t in (anchor, positive, negative))
    pw = float(p)
    d_ap, d_an = row_distance(a, pos, pw, opts), row_distance(a, neg, pw, opts)
    if opts.swap:
        d_an = np.minimum(d_an, row_distance(pos, neg, pw, opts))  # NaN propagates
    loss = np.maximum(d_ap - d_an + float(margin), 0.0)  # NaN propagates (torch clamp_min)
    if opts.reduction == "none":
        return loss
    if opts.reduction == "sum":
        return np.asarray(loss.sum())
    return np.asarray(loss.mean() if loss.size else np.nan)


def make_inputs(case: Case) -> Inputs:
    """anchor ~ offset + N(0, 1); positive = anchor + s_pos·N(0, 1); negative = anchor +
    t·(positive - anchor) + s_neg·N(0, 1), t ~ U(0, 1) per row, so d(p, n) < d(a, n) on some
    rows (the swap matters) and, with the default margin, about half the triplets are active."""
    prm, rng = case.params, np.random.default_rng(case.seed)
    b, d = int(prm["B"]), int(prm["D"])
    s_pos, s_neg = float(prm.get("s_pos", 1.0)), float(prm.get("s_neg", 1.2))
    a = float(prm.get("offset", 0.0)) + rng.standard_normal((b, d))
    pos = a + s_pos * rng.standard_normal((b, d))
    neg = a + rng.uniform(0, 1, (b, 1)) * (pos - a) + s_neg * rng.standard_normal((b, d))
    pattern = prm.get("pattern", "random")
    if pattern == "identical":  # a = p on every other row
        pos[::2] = a[::2]
    elif pattern == "easy":  # every negative far away: every loss 0
        neg = a + 50.0 * rng.standard_normal((b, d))
    elif pattern == "nan" and b and d:
        a[b // 2, d - 1] = np.nan
        neg[0, 0] = np.nan
    dt = np.dtype(case.dtype)
    return {"anchor": a.astype(dt), "positive": pos.astype(dt), "negative": neg.astype(dt),
            "margin": float(prm.get("margin", 1.0)), "p": float(prm.get("p", 2.0))}  # fmt: skip


def cost(case: Case) -> Cost:
    """≈ 6 flops per element (two subtractions, eps, two powers and sums); bytes: the three
    inputs read once (+ d(p, n) reads nothing new), the losses written."""
    b, d = int(case.params["B"]), int(case.params["D"])
    size = np.dtype(case.dtype).itemsize
    out = b if case.options.get("reduction") == "none" else 1
    swap = 1.5 if case.options.get("swap") else 1.0
    return Cost(6.0 * b * d * swap, float(3 * size * b * d + size * out), b, "triplets")


def tolerance(case: Case) -> Tolerance:
    """Each distance is a sum of D nonnegative terms: relative error about sqrt(D)·eps, and
    rtol = 10·sqrt(D)·eps has a factor 10 to spare. The hinge subtracts two distances, so the
    loss's error is absolute, about rtol·(d(a, p) + d(a, n)): atol = rtol·(2·dist^k +
    margin), k = 2 when squared, dist = s·D^(1/p) the typical distance of differences of
    N(0, s²) coordinates, s = s_pos + s_neg (the max of D normals, p = inf: 4s); rows past
    the typical distance are covered by the factor 10. A mean or sum over B adds
    10·sqrt(B)·eps relative: K = max(D, B). The float64 floor 1e-10 keeps float32 arithmetic
    (1e-7 relative) out."""
    prm = case.params
    b, d = max(int(prm["B"]), 1), max(int(prm["D"]), 1)
    opts = TripletOptions.build(case.options)
    k = d if opts.reduction == "none" else max(d, b)
    rtol = max(10.0 * math.sqrt(k) * EPS[case.dtype], 1e-10 if case.dtype == "float64" else 0.0)
    pw = float(prm.get("p", 2.0))
    s = float(prm.get("s_pos", 1.0)) + (50.0 if prm.get("pattern") == "easy" else
                                        float(prm.get("s_neg", 1.2)))  # fmt: skip
    dist = 4.0 * s if pw == math.inf else s * d ** (1.0 / pw)
    scale = 2.0 * dist ** (2 if opts.squared else 1) + float(prm.get("margin", 1.0))
    return Tolerance(rtol, rtol * scale, f"{case.dtype}: rtol 10·sqrt(K)·eps, K={k}; atol = "
                     f"rtol·{scale:.3g} (the two distances' bound, plus the margin)")  # fmt: skip


F64 = "float64"
NONE, SUM, SWAP, SQ = {"reduction": "none"}, {"reduction": "sum"}, {"swap": True}, {"squared": True}
EPS0 = {"eps": 0.0}

CASES = [
    case("random"),
    case("random_f64", dtype=F64),
    case("none_f64", dtype=F64, options=NONE),
    case("sum", options=SUM),
    case("swap_none_f64", dtype=F64, options={**SWAP, **NONE}),
    case("swap_mean", options=SWAP),
    case("squared_none_f64", dtype=F64, margin=4.0, options={**SQ, **NONE}),
    case("squared_swap_sum", margin=4.0, options={**SQ, **SWAP, **SUM}),
    case("eps_0_none_f64", dtype=F64, options={**EPS0, **NONE}),
    case("p1_none_f64", dtype=F64, p=1.0, margin=5.0, options=NONE),
    case("p3_none", p=3.0, options=NONE),
    case("p_half_none_f64", dtype=F64, p=0.5, D=6, margin=20.0, options=NONE),
    case("p_inf_none_f64", dtype=F64, p=math.inf, options=NONE),
    case("p_inf_swap_sum", p=math.inf, options={**SWAP, **SUM}),
    # 600 triplets of 300 coordinates: a kernel blocked over rows (256) or along D (256)
    # runs several blocks either way
    case("multi_block", B=600, D=300, margin=10.0),
    case("multi_block_none_f64", B=600, D=300, margin=10.0, dtype=F64, options=NONE),
]
EDGES = [
    edge("identical_ap_none_f64", dtype=F64, pattern="identical", options=NONE),
    edge("identical_ap_eps_0_none_f64", dtype=F64, pattern="identical", options={**EPS0, **NONE}),
    edge("identical_ap_swap_f64", dtype=F64, pattern="identical", options=SWAP),
    edge("margin_zero_none", margin=0.0, options=NONE),
    edge("all_easy_none", pattern="easy", options=NONE),
    edge("all_easy_mean_f64", pattern="easy", dtype=F64),
    # anchors at 1e3 with unit spreads: ||a||² - 2a·p + ||p||² cancels ~6 float32 digits
    edge("offset_1e3_none", offset=1e3, options=NONE),
    edge("offset_1e3_none_f64", offset=1e3, dtype=F64, options=NONE),
    edge("nan_none", pattern="nan", options=NONE),
    edge("nan_mean", pattern="nan"),
    edge("batch_1", B=1, D=7),
    edge("empty_batch_none", B=0, D=5, options=NONE),
    edge("empty_batch_mean", B=0, D=5),  # the mean of nothing: NaN (torch)
    edge("empty_batch_sum", B=0, D=5, options=SUM),
    edge("empty_dim_none", B=9, D=0, options=NONE),  # every distance 0: the loss is the margin
    edge("empty_dim_p_inf_none", B=9, D=0, p=math.inf, options=NONE),  # max of nothing: 0
]
ERRORS = [
    error("p_zero", ValueError, r"\bp\b", p=0.0),
    error("p_negative", ValueError, r"\bp\b", p=-1.0),
]
DEFAULTS = {"seed": 23, "dtype": "float32", "B": 40, "D": 16}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "B": st.integers(0, 30),
            "D": st.integers(0, 20),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "margin": st.sampled_from([0.0, 0.5, 1.0, 3.0]),
            "p": st.sampled_from([1.0, 2.0, 3.0, math.inf]),
            "pattern": st.sampled_from(["random", "identical", "easy", "nan"]),
        }
    )
    return fuzz_cases(params, TripletOptions.strategy(optional=True))  # fmt: skip


CONVENTIONS = (
    "anchor, positive, negative: (B, D) of one floating dtype; margin >= 0; p > 0 the norm "
    "order (inf allowed; p < 1 is torch's (sum |v|^p)^(1/p), not a norm). d(x, y) = "
    "||x - y + eps||_p with eps added to every coordinate of the difference (torch's "
    "F.pairwise_distance; identical points are D^(1/p)·eps apart, and d(p, n) is not "
    "d(n, p)); squared=True uses d². L_i = max(0, d(a, p) - d(a, n) + margin), swap=True "
    "with min(d(a, n), d(p, n)) for d(a, n). reduction mean (B = 0: NaN, as torch), sum, or "
    "none (B,). D = 0: every distance 0 (eps adds to no coordinate), the loss is the margin. "
    "NaN propagates to its triplet. Outputs have the inputs' dtype; reductions are 0-d. "
    "ValueError for p <= 0, margin < 0, mismatched shapes; TypeError for mixed dtypes."
)


def _empty_inf_norm(inputs: Inputs) -> bool:
    """The inf-norm of D = 0 columns, which torch's vector_norm refuses."""
    return bool(np.shape(inputs["anchor"])[1] == 0 and inputs["p"] == math.inf)


SUITE = Suite(
    algorithm="triplet_loss",
    family="losses-and-metrics",
    summary="Triplet margin loss of (B, D) anchor, positive, negative embeddings (p-norm with "
    "torch's eps, optional swap and squared distances) -> () or (B,).",
    conventions=CONVENTIONS,
    args=ARGS,
    options=TripletOptions,
    make_inputs=make_inputs,
    oracle=triplet_loss,
    compare=Close(override=tolerance),
    cost=cost,
    defaults=DEFAULTS,
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    bench={
        "smoke": [bench("bench_256x32", B=256, D=32)],
        "quick": [bench("bench_65536x128", B=65536, D=128)],  # the spec's standard size
        "full": [
            bench("bench_65536x128_swap_none", B=65536, D=128, options={**SWAP, **NONE}),
            bench("bench_large_1048576x128", B=1_048_576, D=128),
        ],
    },
    standard="bench_65536x128",
    multi_block={"B": 600, "D": 300},
    fuzz=fuzz_strategy,
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="torch.nn.functional.triplet_margin_loss (margin > 0; squared through "
    "triplet_margin_with_distance_loss)",
    divergent_inputs={
        "margin_zero_none": lambda inputs: inputs["margin"] == 0.0,
        "empty_dim_p_inf_none": _empty_inf_norm,
    },
)

SUITES = [SUITE]

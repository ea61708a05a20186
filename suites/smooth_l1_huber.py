"""Suite for smooth_l1_huber: torch's smooth L1 (β) and Huber (δ) losses of pred - target.

smooth_L1_β(x) = 0.5·x²/β if |x| < β else |x| - 0.5·β (β = 0: |x|, no division);
Huber_δ(x) = 0.5·x² if |x| <= δ else δ·(|x| - 0.5·δ) = δ·smooth_L1_δ(x). Detection papers write
β = 1/σ² (σ = 3 gives the RPN's β = 1/9). Reductions: torch's none / mean / sum, and the
detection one, the sum over positive anchors divided by max(1, their number).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class SmoothL1Options(Options):
    loss: str = option(
        "smooth_l1",
        "huber",
        meaning="smooth_l1: F.smooth_l1_loss(beta=β); huber: F.huber_loss(delta=β), which is "
        "β times smooth_l1 (the same branch point, the linear part's slope β instead of 1)",
    )
    reduction: str = option(
        "mean",
        "sum",
        "none",
        "per_positive",
        meaning="mean over all elements (torch); sum; none; per_positive: the sum over the rows "
        "`positive` marks, divided by max(1, their number) (RetinaNet / Faster R-CNN box loss)",
    )


ARGS = Args(
    Arg("pred", ("N", "*S"), "float", star=(0, 3)),
    Arg("target", ("N", "*S"), "float", star=(0, 3)),
    # (N,) bool, only with reduction='per_positive'; broadcast=True only so that an absent
    # (None) mask has a shape the conformance checks can read; check() demands exactly (N,)
    Arg("positive", ("N",), "bool", optional=True, broadcast=True),
    Scalar("beta", low=0.0),
    same_dtype=("pred", "target"),
)


def check(pred: Any, target: Any, positive: Any, beta: Any, opts: SmoothL1Options) -> Any:
    """Validate every input for ``opts``; return the result dtype (pred's)."""
    ARGS.check(pred, target, positive, beta)
    if opts.loss == "huber" and not float(beta) > 0:
        raise ValueError(f"beta is Huber's delta for loss='huber' and must be > 0, got {beta!r}")
    if opts.reduction == "per_positive":
        if positive is None or tuple(positive.shape) != (pred.shape[0],):
            shown = None if positive is None else tuple(positive.shape)
            raise ValueError(f"positive must be an (N,) = ({pred.shape[0]},) bool mask for "
                             f"reduction='per_positive', got {shown}")  # fmt: skip
    elif positive is not None:
        raise ValueError("positive is used only with reduction='per_positive'")
    return pred.dtype


def smooth_l1_huber(pred: Any, target: Any, positive: Any, beta: Any, opts: SmoothL1Options) -> Any:
    """Oracle, float64, elementwise on d = pred - target: smooth L1 (β = 0: |d|) or Huber
    (δ = β); mean over every element, sum, none, or per_positive = Σ over the positive rows
    / max(1, number of positive rows)."""
    check(pred, target, positive, beta, opts)
    d = np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    b = float(beta)
    a = np.abs(d)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if opts.loss == "huber":
            loss = np.where(a <= b, 0.5 * d * d, b * (a - 0.5 * b))
        elif b == 0.0:
            loss = a  # torch: l1_loss, no 0.5·x²/0
        else:
            loss = np.where(a < b, 0.5 * d * d / b, a - 0.5 * b)
    if opts.reduction == "none":
        return loss
    if opts.reduction == "sum":
        return np.asarray(loss.sum())
    if opts.reduction == "per_positive":
        rows = np.asarray(positive, dtype=bool)
        return np.asarray(loss[rows].sum() / max(1, int(rows.sum())))
    with np.errstate(invalid="ignore"):
        return np.asarray(loss.mean() if loss.size else np.nan)  # mean of nothing: NaN (torch)


def make_inputs(case: Case) -> Inputs:
    p, opts = case.params, SmoothL1Options.build(case.options)
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    n, spatial = int(p["N"]), tuple(p.get("S", (4,)))
    shape = (n, *spatial)
    beta = float(p.get("beta", 1.0))
    t = 2.0 * rng.standard_normal(shape)
    d = p.get("scale", 1.5) * rng.standard_normal(shape)  # both branches, for β near 1
    pattern = p.get("pattern", "random")
    if pattern == "boundary":  # |d| = β exactly on every other element (β a power of 2)
        t = rng.integers(-8, 8, shape).astype(np.float64)
        flat = d.reshape(-1)
        flat[::2] = np.where(rng.random(flat[::2].shape) < 0.5, -beta, beta)
    elif pattern == "huge":  # |d| up to 1e20: d² overflows float32 (3.4e38) and its 0.5·d²/β
        d.reshape(-1)[::3] *= 1e20
    elif pattern == "nan":
        d.reshape(-1)[1] = np.nan
    pred = (t + d).astype(dtype)
    positive = None
    if opts.reduction == "per_positive":
        positive = rng.random(n) < p.get("positive_rate", 0.3)
    if p.get("mask") == "absent":
        positive = None
    elif p.get("mask") == "given":
        positive = np.ones(n, dtype=bool)
    return {"pred": pred, "target": t.astype(dtype), "positive": positive, "beta": beta}


def cost(case: Case) -> Cost:
    """≈ 5 flops per element (subtract, abs, compare, square or subtract, select); bytes:
    pred and target read once, the losses written (none) or one number."""
    n = int(case.params["N"]) * int(np.prod(case.params.get("S", (4,)), dtype=np.int64))
    b = np.dtype(case.dtype).itemsize
    out = n if case.options.get("reduction") == "none" else 1
    return Cost(flops=5.0 * n, bytes=float(2 * b * n + b * out), items=n, item_unit="elements")


def tolerance(case: Case) -> Tolerance:
    """The inputs are exact in their dtype, so d = pred - target carries one rounding (eps
    relative) and every elementwise loss a few eps relative: 0.5·d²/β about 3 eps; |d| - 0.5·β
    with |d| >= β loses at most a factor 2. Losses are >= 0, so a sum or mean of M of them
    adds 10·sqrt(M)·eps relative and nothing absolute: atol is rtol times 1e-6 (the
    smallest losses are relative-accurate too)."""
    n = int(case.params["N"]) * int(np.prod(case.params.get("S", (4,)), dtype=np.int64))
    k = 1 if case.options.get("reduction") == "none" else max(n, 1)
    rtol = max(10.0 * np.sqrt(k) * EPS[case.dtype], 1e-10 if case.dtype == "float64" else 0.0)
    return Tolerance(float(rtol), float(rtol) * 1e-6, f"{case.dtype}: 10·sqrt(K)·eps, K={k}; "
                     "atol = rtol·1e-6 (losses >= 0, relative error)")  # fmt: skip


HUBER, NONE, SUM = {"loss": "huber"}, {"reduction": "none"}, {"reduction": "sum"}
POS = {"reduction": "per_positive"}

CASES = [
    # N and the trailing 4 distinct and >= 2 (the error base is "per_positive": mask present)
    case("random"),
    case("random_f64", dtype="float64"),
    case("none_f64", dtype="float64", options=NONE),
    case("sum", options=SUM),
    case("per_positive", options=POS),
    case("per_positive_f64", dtype="float64", options=POS),
    case("rpn_beta_1_9_none_f64", dtype="float64", beta=1 / 9, scale=0.2, options=NONE),
    case("beta_2_none", beta=2.0, options=NONE),
    case("huber", options=HUBER),
    case("huber_delta_2_none_f64", dtype="float64", beta=2.0, options={**HUBER, **NONE}),
    case("huber_delta_1_9_sum", beta=1 / 9, scale=0.2, options={**HUBER, **SUM}),
    case("huber_per_positive", beta=0.5, options={**HUBER, **POS}),
    case("kdim_none", N=3, S=(5, 6), options=NONE),
    case("flat_none_f64", N=50, S=(), dtype="float64", options=NONE),
    # 20,000 x 4 = 80,000 elements: past a 65,536-element chunk, several 256-thread blocks
    case("many_f64", N=20000, dtype="float64"),
    case("many_none", N=20000, options=NONE),
]
EDGES = [
    edge("beta_0_l1_none", beta=0.0, options=NONE),  # pure L1: no 0.5·d²/0
    edge("beta_0_l1_f64", beta=0.0, dtype="float64"),
    edge("boundary_none", pattern="boundary", beta=0.5, options=NONE),  # |d| = β exactly
    edge("boundary_huber_none", pattern="boundary", beta=0.5, options={**HUBER, **NONE}),
    edge("huge_none", pattern="huge", options=NONE),
    edge("huge_huber_none", pattern="huge", options={**HUBER, **NONE}),
    edge("huge_sum_f64", pattern="huge", dtype="float64", options=SUM),
    edge("nan_none", pattern="nan", options=NONE),
    edge("nan_mean", pattern="nan"),
    edge("no_positives", positive_rate=0.0, options=POS),  # Σ of nothing / max(1, 0) = 0
    edge("all_positive_huber", positive_rate=1.1, options={**HUBER, **POS}),
    edge("no_elements_mean", N=0, S=(3,)),  # mean of nothing: NaN (torch)
    edge("no_elements_none", N=0, S=(3,), options=NONE),
    edge("no_rows_per_positive", N=0, S=(3,), options=POS),
]
ERRORS = [
    error("huber_delta_0", ValueError, r"\bbeta\b", beta=0.0, options=HUBER),
    error("positive_missing", ValueError, r"\bpositive\b", mask="absent", options=POS),
    error("positive_without_per_positive", ValueError, r"\bpositive\b", mask="given"),
]
DEFAULTS = {"seed": 17, "dtype": "float32", "N": 40}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(0, 30),
            "S": st.sampled_from([(), (4,), (2, 3)]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "beta": st.sampled_from([0.0, 1 / 9, 0.5, 1.0, 2.0]),
            "scale": st.sampled_from([0.1, 1.5, 10.0]),
            "pattern": st.sampled_from(["random", "boundary", "huge"]),
            "positive_rate": st.sampled_from([0.0, 0.3, 1.1]),
        }
    )

    def build(p: dict[str, Any], o: dict[str, Any]) -> Case:
        if o.get("loss") == "huber" and p["beta"] == 0.0:
            p = {**p, "beta": 1.0}  # δ = 0 is an error case
        return Case("fuzz", p, o, "fuzz")

    return st.builds(build, params, SmoothL1Options.strategy(optional=True))


CONVENTIONS = (
    "pred, target: (N, *S) of one floating dtype (S: 0 to 3 further axes); d = pred - target; "
    "beta: β >= 0. loss='smooth_l1': 0.5·d²/β where |d| < β, else |d| - 0.5·β; β = 0 is "
    "|d| exactly (no division: torch calls l1_loss). loss='huber' (δ = β > 0): 0.5·d² where "
    "|d| <= δ, else δ·(|d| - 0.5·δ) = δ·smooth_L1_δ. At |d| = β both branches give the same "
    "value (0.5·β, or 0.5·δ²), so < versus <= is not a convention. A detection β = 1/σ² (σ = 3: "
    "1/9) is passed as β. reduction mean over every element (N = 0: NaN, as torch), sum, "
    "none, or per_positive: Σ over the rows positive (N,) bool marks / max(1, their number) "
    "(no positive row: 0). NaN propagates; |d| up to 1e20 stays finite in float32 (the "
    "quadratic branch is not taken there). Outputs have pred's dtype; reductions are 0-d. "
    "Raises ValueError for β < 0 or NaN, β = 0 with huber, positive missing with "
    "per_positive or given with another reduction; TypeError when pred and target differ "
    "in dtype."
)

SUITE = Suite(
    algorithm="smooth_l1_huber",
    family="losses-and-metrics",
    summary="Smooth L1 (β) or Huber (δ) loss of pred - target (N, *S), torch's reductions "
    "or per positive anchor -> () or (N, *S).",
    conventions=CONVENTIONS,
    args=ARGS,
    options=SmoothL1Options,
    make_inputs=make_inputs,
    oracle=smooth_l1_huber,
    compare=Close(override=tolerance),
    cost=cost,
    defaults=DEFAULTS,
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    error_base="per_positive",
    bench={
        "smoke": [bench("bench_tiny", N=4096)],
        # the spec's standard, 1e7 elements (2,500,000 boxes x 4 coordinates, float32)
        "quick": [bench("bench_1e7", N=2_500_000)],
        "full": [
            bench("bench_1e7_none", N=2_500_000, options=NONE),
            bench("bench_large_1e8", N=25_000_000),
        ],
    },
    standard="bench_1e7",
    multi_block={"N": 20000},
    fuzz=fuzz_strategy,
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="torch.nn.functional.smooth_l1_loss(beta=) / huber_loss(delta=)",
)

SUITES = [SUITE]

"""Suite for lr_step_exponential_plateau: StepLR, MultiStepLR, ExponentialLR and
ReduceLROnPlateau as one learning-rate sequence, one value per epoch."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Rule
from harness.cases import bench, case, edge, fuzz_cases
from harness.comparators import Close
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

U = 2.0**-53  # unit roundoff of float64


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _non_negative(v: Any) -> bool:
    return _finite(v) and v >= 0


def _count(v: Any, low: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


@dataclass(frozen=True)
class LrOptions(Options):
    schedule: str = option(
        "step",
        "multistep",
        "exponential",
        "plateau",
        meaning="StepLR, MultiStepLR (milestones), ExponentialLR, ReduceLROnPlateau (metrics)",
    )
    form: str = option(
        "closed",
        "chained",
        meaning="closed: lr0·γ^k from the epoch index; chained: torch's running product "
        "lr ← lr·γ at each decay (they differ by rounding only; plateau has no closed form)",
    )
    base_lr: float = option(0.1, 1e-6, meaning="lr of epoch 0", accepts=_non_negative)
    step_size: int = option(
        30, 1, 7, meaning="StepLR period (>= 1)", accepts=lambda v: _count(v, 1)
    )
    gamma: float = option(
        0.1, 0.5, 0.99, meaning="decay factor (> 0)", accepts=lambda v: _finite(v) and v > 0
    )
    mode: str = option("min", "max", meaning="plateau: the metric should fall (min) or rise")
    factor: float = option(
        0.1,
        0.5,
        meaning="plateau: lr ← max(lr·factor, min_lr); must be < 1 (as torch)",
        accepts=lambda v: _finite(v) and 0 <= v < 1,
    )
    patience: int = option(
        10,
        0,
        3,
        meaning="plateau: bad epochs tolerated; the lr falls after more than this",
        accepts=lambda v: _count(v, 0),
    )
    threshold: float = option(
        1e-4,
        0.0,
        0.01,
        meaning="plateau: how much better counts as better",
        accepts=_non_negative,
    )
    threshold_mode: str = option(
        "rel", "abs", meaning="rel: beat best·(1 ∓ threshold); abs: beat best ∓ threshold"
    )
    cooldown: int = option(
        0,
        4,
        meaning="plateau: epochs after a reduction in which bad epochs are not counted",
        accepts=lambda v: _count(v, 0),
    )
    min_lr: float = option(0.0, 1e-3, meaning="plateau: lower bound", accepts=_non_negative)
    eps: float = option(
        1e-8,
        0.0,
        meaning="plateau: a reduction smaller than eps is skipped (torch)",
        accepts=_non_negative,
    )


def _negate_first(x: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    out.reshape(-1)[0] = -1
    return out


ARGS = Args(
    Arg("metrics", ("E",), "float"),
    Arg(
        "milestones",
        ("M",),
        "int",
        rules=(Rule("milestones >= 0", lambda xp, x: x < 0, _negate_first),),
    ),
)


def decays(epoch: int, milestones: list[int], opts: LrOptions) -> int:
    """k in lr0·γ^k: how many decays have happened by ``epoch`` (the closed form)."""
    if opts.schedule == "step":
        return epoch // opts.step_size  # lr0 for e < s, the first decay at e = s
    if opts.schedule == "multistep":
        return sum(m <= epoch for m in milestones)  # a duplicate decays once per occurrence
    return epoch


def is_better(a: float, best: float, opts: LrOptions) -> bool:
    """torch's comparison, NaN never better; rel multiplies best (so a negative best gets a
    looser bar in min mode, exactly as torch)."""
    if opts.mode == "min":
        return a < (
            best * (1.0 - opts.threshold) if opts.threshold_mode == "rel" else best - opts.threshold
        )
    return a > (
        best * (opts.threshold + 1.0) if opts.threshold_mode == "rel" else best + opts.threshold
    )


def plateau(metrics: list[float], opts: LrOptions) -> list[float]:
    """ReduceLROnPlateau: lrs[0] = base_lr; the metric of epoch e decides lrs[e + 1]."""
    lr, best = opts.base_lr, math.inf if opts.mode == "min" else -math.inf
    bad = cooling = 0
    out = [lr] if metrics else []
    for current in metrics[:-1]:
        if is_better(current, best, opts):
            best, bad = current, 0
        else:
            bad += 1
        if cooling > 0:  # bad epochs in the cooldown do not count
            cooling -= 1
            bad = 0
        if bad > opts.patience:  # more than `patience` bad epochs in a row
            new = max(lr * opts.factor, opts.min_lr)
            if lr - new > opts.eps:
                lr = new
            cooling, bad = opts.cooldown, 0
        out.append(lr)
    return out


def lr_step_exponential_plateau(metrics: Any, milestones: Any, opts: LrOptions) -> Any:
    """Oracle: the lr of each of the E = len(metrics) epochs, in float64, one epoch at a time
    (Python floats, the arithmetic torch's schedulers do)."""
    ARGS.check(metrics, milestones)
    values = [float(m) for m in np.asarray(metrics, dtype=np.float64)]
    stones = [int(m) for m in np.asarray(milestones).reshape(-1)]
    if opts.schedule == "plateau":
        return np.array(plateau(values, opts), dtype=np.float64)
    out, lr = [], opts.base_lr
    for e in range(len(values)):
        if opts.form == "closed":
            lr = opts.base_lr * opts.gamma ** decays(e, stones, opts)
        elif opts.schedule == "multistep":  # torch applies a milestone 0 at construction
            count = stones.count(e)
            lr = lr * opts.gamma**count if count else lr
        elif e > 0 and (opts.schedule == "exponential" or e % opts.step_size == 0):
            lr = lr * opts.gamma
        out.append(lr)
    return np.array(out, dtype=np.float64)


def _metrics(rng: np.random.Generator, kind: str, e: int) -> np.ndarray:
    """A validation loss that improves now and then and is flat and noisy in between."""
    drops = np.cumsum(rng.exponential(0.02, e) * (rng.random(e) < 0.08))
    m = 1.0 - drops + 0.002 * rng.standard_normal(e)
    if kind == "negative":  # e.g. a negative log-likelihood: rel thresholds act on best < 0
        m = m - 3.0
    elif kind == "accuracy":  # mode max
        m = 2.0 - m
    elif kind == "nan":
        m[5::37] = np.nan
    elif kind == "ties":  # exact repeats: a tie is not an improvement, with threshold 0
        m = np.round(m, 2)
    return m


def near_threshold_metrics(rng: np.random.Generator, e: int, threshold: float) -> np.ndarray:
    """Metrics one float64 ulp below best·(1 − threshold) (an improvement), where rounding
    to float32 lands at or above the bar (no improvement): every other epoch, and exactly
    at the bar (no improvement, torch's strict <) in between."""
    out = np.empty(e)
    best = 1.0
    for i in range(e):
        bar = best * (1.0 - threshold)
        if i % 2 == 0 and float(np.float32(np.nextafter(bar, -np.inf))) >= bar:
            out[i] = np.nextafter(bar, -np.inf)
            best = out[i]
        elif i % 2 == 0:  # this bar rounds down in float32: a plain improvement
            out[i] = bar * (1 - 10 * threshold) if threshold else bar - 1e-3
            best = out[i]
        else:
            out[i] = bar
    return out


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    e = int(p["epochs"])
    kind = p.get("metric", "plateaus")
    if kind == "near_threshold":
        metrics = near_threshold_metrics(rng, e, LrOptions(**case.options).threshold)
    else:
        metrics = _metrics(rng, kind, e)
    return {
        "metrics": metrics.astype(case.dtype),
        "milestones": np.asarray(p.get("milestones", [30, 80]), dtype=np.int64).reshape(-1),
    }


def cost(case: Case) -> Cost:
    """Scalar sequences, verification only: about one multiply and one comparison per epoch;
    the metrics read and the lrs written once."""
    e = int(case.params["epochs"])
    return Cost(
        2.0 * e + 1, 16.0 * e + 8.0 * len(case.params.get("milestones", [30, 80])) + 8, e, "epochs"
    )


def tolerance(case: Case) -> Tolerance:
    """Closed form lr0·γ^k (pow, then a product: two roundings) vs torch's chained product
    (one rounding per decay, up to E of them): they differ by at most (E + 2) float64
    roundings, relative; twice that is the rtol. Below 1e-300 (the subnormal range, where
    relative precision is gone) every value counts as zero: atol."""
    e = int(case.params["epochs"])
    return Tolerance(
        2 * (e + 2) * U, 1e-300, f"2·(E + 2)·2^-53 with E={e}: chained vs closed-form roundings"
    )


STEP, MULTI, EXPO, PLAT = ({"schedule": s} for s in ("step", "multistep", "exponential", "plateau"))
CHAINED = {"form": "chained"}
UNSORTED = [500, 30, 80, 30, 999, 0, 2000]  # a duplicate, epoch 0, the last epoch, past the end

CASES = [
    case("step_1000", epochs=1000, milestones=[30, 80, 200], options=STEP),
    case(
        "step_chained_1000", epochs=1000, options={**STEP, **CHAINED, "gamma": 0.5, "step_size": 7}
    ),
    case("step_first_decay", epochs=12, options={**STEP, "step_size": 7, "gamma": 0.5}),
    case(
        "step_size_1_f64",
        epochs=300,
        options={**STEP, "step_size": 1, "gamma": 0.99},
        dtype="float64",
    ),
    case("multistep_1000", epochs=1000, milestones=[30, 80, 500], options=MULTI),
    case("multistep_unsorted_duplicates", epochs=1000, milestones=UNSORTED, options=MULTI),
    case(
        "multistep_chained_duplicates",
        epochs=1000,
        milestones=UNSORTED,
        options={**MULTI, **CHAINED, "gamma": 0.5},
    ),
    case("exponential_1000", epochs=1000, options={**EXPO, "gamma": 0.99}),
    case("exponential_chained_1000", epochs=1000, options={**EXPO, **CHAINED, "gamma": 0.99}),
    case("exponential_halving", epochs=40, options={**EXPO, "gamma": 0.5, "base_lr": 1e-3}),
    case("plateau_1000", epochs=1000, options=PLAT),
    case(
        "plateau_abs_1000",
        epochs=1000,
        options={**PLAT, "threshold_mode": "abs", "threshold": 0.01, "patience": 3},
    ),
    case(
        "plateau_rel_negative_metrics",
        epochs=1000,
        metric="negative",
        options={**PLAT, "threshold": 0.01, "patience": 3},
    ),
    case(
        "plateau_abs_negative_metrics",
        epochs=1000,
        metric="negative",
        options={**PLAT, "threshold": 0.01, "patience": 3, "threshold_mode": "abs"},
    ),
    case(
        "plateau_max_1000",
        epochs=1000,
        metric="accuracy",
        options={**PLAT, "mode": "max", "patience": 3},
    ),
    case(
        "plateau_cooldown",
        epochs=1000,
        options={**PLAT, "cooldown": 4, "patience": 3, "factor": 0.5},
    ),
    case("plateau_patience_0", epochs=300, options={**PLAT, "patience": 0, "factor": 0.5}),
    case("plateau_min_lr", epochs=1000, options={**PLAT, "patience": 3, "min_lr": 1e-3}),
    # the reductions stop once lr - lr·factor <= eps (lr ~ 2e-8), unless eps = 0
    case(
        "plateau_eps_stops_decay",
        epochs=400,
        options={**PLAT, "patience": 0, "factor": 0.5, "base_lr": 1e-6},
    ),
    case(
        "plateau_eps_0",
        epochs=400,
        options={**PLAT, "patience": 0, "factor": 0.5, "base_lr": 1e-6, "eps": 0.0},
    ),
    case("plateau_nan_metrics", epochs=1000, metric="nan", options={**PLAT, "patience": 3}),
    case(
        "plateau_ties_threshold_0",
        epochs=500,
        metric="ties",
        options={**PLAT, "threshold": 0.0, "patience": 3, "factor": 0.5},
    ),
    # one float64 ulp below the bar: float32 metrics turn improvements into bad epochs
    case(
        "plateau_near_threshold_f64",
        epochs=400,
        metric="near_threshold",
        options={**PLAT, "patience": 0, "factor": 0.5, "eps": 0.0},
        dtype="float64",
    ),
    edge("no_epochs", epochs=0, milestones=[5, 9], options=MULTI),
    edge("one_epoch", epochs=1, milestones=[0, 4], options=MULTI),
    edge("no_milestones", epochs=20, milestones=[], options=MULTI),
    edge("plateau_one_epoch", epochs=1, options=PLAT),
    edge("plateau_no_epochs", epochs=0, milestones=[3, 8], options=PLAT),
]

BENCH = {  # verification only (ALGORITHMS.md): minimal sizes, present for the harness
    "smoke": [bench("bench_100", epochs=100, options=PLAT)],
    "quick": [bench("bench_1000", epochs=1000, options={**PLAT, "patience": 3})],
    "full": [bench("bench_10000", epochs=10_000, options={**PLAT, "patience": 3})],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    # gamma and factor stay where 60 epochs cannot underflow; epochs = 0 is drawn now and then
    flags = LrOptions.strategy()
    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "epochs": st.integers(0, 60),
            "milestones": st.lists(st.integers(0, 70), max_size=6),
            "metric": st.sampled_from(["plateaus", "negative", "accuracy", "nan", "ties"]),
        }
    )
    return fuzz_cases(params, flags)


SUITE = Suite(
    algorithm="lr_step_exponential_plateau",
    family="training-math",
    summary="The learning rate of each of E epochs under StepLR, MultiStepLR, ExponentialLR or "
    "ReduceLROnPlateau: (metrics (E,), milestones (M,)) -> lrs (E,) float64.",
    conventions=(
        "lr_step_exponential_plateau(metrics, milestones, opts) -> lrs, float64 (E,): lrs[e] is "
        "the lr in effect during epoch e (scheduler.step() is called at the end of each epoch, "
        "from epoch 0), so lrs[0] = base_lr. E = len(metrics); metrics (float) are read only by "
        "schedule='plateau', milestones (int >= 0, any order, repeats allowed) only by "
        "'multistep'. step: base_lr*gamma**(e // step_size) (first decay at e = step_size); "
        "multistep: base_lr*gamma**(number of milestones <= e, a repeated milestone counting "
        "once per occurrence, a milestone 0 already at e = 0); exponential: base_lr*gamma**e. "
        "form='closed' evaluates these powers; 'chained' multiplies the running lr by gamma "
        "(gamma**count at a milestone) as torch's step() does; the two differ by rounding "
        "only. plateau (ReduceLROnPlateau): best starts at +inf (min) or -inf (max); the "
        "metric of epoch e is better when metric < best*(1 - threshold) (rel, min), < best - "
        "threshold (abs, min), > best*(1 + threshold) (rel, max), > best + threshold (abs, max) "
        "(strict; NaN is never better; rel scales best even when it is negative, as torch); a "
        "better metric resets the bad-epoch count, else it grows by one; during cooldown the "
        "count is zeroed and cooldown counts down; when the count exceeds patience, new = "
        "max(lr*factor, min_lr) replaces lr only if lr - new > eps, cooldown restarts and the "
        "count is zeroed; the result is lrs[e + 1] (metrics[E - 1] affects no output). "
        "Options refuse (ValueError) step_size < 1, gamma <= 0, factor outside [0, 1) "
        "(torch: 'Factor should be < 1.0'), negative patience, cooldown, threshold, min_lr, "
        "eps or base_lr. Raises ValueError for metrics or milestones not 1-D or a negative "
        "milestone; TypeError for integer metrics or float milestones."
    ),
    args=ARGS,
    options=LrOptions,
    make_inputs=make_inputs,
    oracle=lr_step_exponential_plateau,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 23, "dtype": "float64"},
    cases=CASES,
    bench=BENCH,
    standard="bench_1000",
    multi_block={"E": 1000},
    near_threshold=("plateau_near_threshold_f64",),
    invalid_options=[
        {"step_size": 0},
        {"step_size": -3},
        {"gamma": 0.0},
        {"gamma": -0.5},
        {"factor": 1.0},
        {"factor": 1.5},
        {"patience": -1},
        {"cooldown": -1},
        {"min_lr": -1e-3},
        {"threshold": -1e-4},
        {"eps": -1.0},
        {"base_lr": -0.1},
        {"step_size": 2.5},
    ],
    fuzz=fuzz_strategy,
    reference="torch.optim.lr_scheduler StepLR / MultiStepLR / ExponentialLR "
    "(step(), or step(epoch) for the closed form) and ReduceLROnPlateau on a dummy SGD",
)

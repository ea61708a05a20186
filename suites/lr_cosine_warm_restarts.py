"""Suite for lr_cosine_warm_restarts: SGDR's cosine annealing with warm restarts
(CosineAnnealingWarmRestarts) and the single cosine (CosineAnnealingLR), as one learning-rate
value per requested (possibly fractional) epoch."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, Arg, Args, Rule
from harness.cases import bench, case, edge, fuzz_cases
from harness.comparators import Close
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

U = 2.0**-53  # unit roundoff of float64


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _count(v: Any, low: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


@dataclass(frozen=True)
class CosineOptions(Options):
    schedule: str = option(
        "warm_restarts",
        "annealing",
        meaning="warm_restarts: CosineAnnealingWarmRestarts (t_0, t_mult); annealing: "
        "CosineAnnealingLR (t_max), one cosine that rises again past t_max",
    )
    stepping: str = option(
        "epoch",
        "counter",
        meaning="epoch: the lr at each given epoch (torch's step(epoch), closed form); "
        "counter: the lr after i plain step() calls, i = 0..E-1 (epoch values unread; "
        "annealing then follows torch's recursive product)",
    )
    base_lr: float = option(0.1, 1e-3, meaning="eta_max, the lr at a restart", accepts=_finite)
    eta_min: float = option(0.0, 1e-4, meaning="the lr at the bottom of a cycle", accepts=_finite)
    t_0: int = option(
        10, 1, 7, meaning="warm_restarts: first period T_0 (integer >= 1, as torch)",
        accepts=lambda v: _count(v, 1),
    )  # fmt: skip
    t_mult: int = option(
        1, 2, 3, meaning="warm_restarts: period factor after each restart (integer >= 1, as torch)",
        accepts=lambda v: _count(v, 1),
    )  # fmt: skip
    t_max: int = option(
        50, 1, 7, meaning="annealing: half period T_max (integer >= 1)",
        accepts=lambda v: _count(v, 1),
    )  # fmt: skip


def _negate_first(x: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    out.reshape(-1)[0] = -1
    return out


def _inf_first(x: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    out.reshape(-1)[0] = np.inf
    return out


ARGS = Args(
    Arg(
        "epochs",
        ("E",),
        "float",
        rules=(
            NO_NAN,
            Rule("epochs >= 0", lambda xp, x: x < 0, _negate_first),
            Rule("epochs finite", lambda xp, x: xp.isinf(x), _inf_first),
        ),
    ),
)


def cycle(epoch: float, opts: CosineOptions) -> tuple[float, int]:
    """(T_cur, T_i) of a warm-restart schedule at ``epoch``, found with exact integer
    restart points: the cycle of length T_0·T_mult^n starts at T_0·(T_mult^n − 1)/(T_mult − 1)
    and a restart happens exactly there (T_cur = 0), never one epoch later."""
    if opts.t_mult == 1:
        return epoch % opts.t_0, opts.t_0  # Python's % of floats is exact
    start, period = 0, opts.t_0
    while epoch >= start + period:
        start, period = start + period, period * opts.t_mult
    return epoch - start, period


def cosine(t_cur: float, period: float, opts: CosineOptions) -> float:
    """eta_min + ½(eta_max − eta_min)(1 + cos(π·T_cur/T_i)), in torch's order."""
    return (
        opts.eta_min + (opts.base_lr - opts.eta_min) * (1 + math.cos(math.pi * t_cur / period)) / 2
    )


def recursive_annealing(n: int, opts: CosineOptions) -> list[float]:
    """CosineAnnealingLR stepped n − 1 times without an epoch: torch's multiplicative
    recursion (lr ← eta_min + (lr − eta_min)·(1 + cos(πe/T))/(1 + cos(π(e − 1)/T)), and at
    the bottom of each cosine, where that ratio is 0/0, an additive step)."""
    out, lr, t = [], opts.base_lr, opts.t_max
    for e in range(n):
        if e > 0 and (e - 1 - t) % (2 * t) == 0:
            lr = lr + (opts.base_lr - opts.eta_min) * (1 - math.cos(math.pi / t)) / 2
        elif e > 0:
            lr = (1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t)) * (
                lr - opts.eta_min
            ) + opts.eta_min
        out.append(lr)
    return out


def lr_cosine_warm_restarts(epochs: Any, opts: CosineOptions) -> Any:
    """Oracle: the lr at each requested epoch, float64, one Python float at a time."""
    ARGS.check(epochs)
    values = [float(e) for e in np.asarray(epochs, dtype=np.float64)]
    if opts.stepping == "counter":
        if opts.schedule == "annealing":
            return np.array(recursive_annealing(len(values), opts), dtype=np.float64)
        values = [float(i) for i in range(len(values))]  # step() i times: epoch i, exactly
    if opts.schedule == "annealing":
        return np.array([cosine(e, opts.t_max, opts) for e in values], dtype=np.float64)
    return np.array([cosine(*cycle(e, opts), opts) for e in values], dtype=np.float64)


def restart_points(opts: CosineOptions, limit: float) -> list[int]:
    """The epochs at which a warm-restart schedule restarts, up to ``limit``."""
    out, start, period = [], opts.t_0, opts.t_0
    while start <= limit:
        out.append(start)
        period *= opts.t_mult
        start += period
    return out


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    e, kind = int(p["epochs"]), p.get("grid", "integer")
    if kind == "fractional":  # step(epoch + i / iters): `iters` steps per epoch
        iters = int(p.get("iters", 100))
        values = (np.arange(e)[:, None] + np.arange(iters)[None, :] / iters).reshape(-1)
    elif kind == "boundaries":  # each restart, one ulp before it and one ulp after it
        points = np.asarray(restart_points(CosineOptions(**case.options), e), dtype=np.float64)
        values = np.stack([np.nextafter(points, -np.inf), points, np.nextafter(points, np.inf)])
        values = np.concatenate([[0.0], values.T.reshape(-1)])
    elif kind == "shuffled":  # step(epoch) in any order: the closed form keeps no state
        values = rng.permutation(np.arange(e) + rng.random(e))
    else:
        values = np.arange(e, dtype=np.float64)
    return {"epochs": values.astype(case.dtype)}


def _length(case: Case) -> int:
    p = case.params
    e = int(p["epochs"])
    if p.get("grid") == "fractional":
        return e * int(p.get("iters", 100))
    if p.get("grid") == "boundaries":
        return 1 + 3 * len(restart_points(CosineOptions(**case.options), e))
    return e


def cost(case: Case) -> Cost:
    """Scalar sequences, verification only: about 8 flops (cycle search, a divide, a cosine,
    the affine map) per value; the epochs read and the lrs written once."""
    n = _length(case)
    return Cost(8.0 * n + 1, 16.0 * n + 8, n, "steps")


def tolerance(case: Case) -> Tolerance:
    """Closed form: T_cur is exact in every sensible implementation, the cosine argument
    π·T_cur/T_i carries a few roundings (cos' ≤ 1), so the lr differs by a few ulps of the
    larger of |eta_max| and |eta_min|: 16 ulps relative and absolute. Counter-stepped
    annealing: torch's recursion drifts from the closed form; the spec compares them at 1e-12
    (the drift measured over 1,000 steps is below 1e-14 of eta_max)."""
    opts = CosineOptions(**case.options)
    scale = max(abs(opts.base_lr), abs(opts.eta_min))
    if opts.schedule == "annealing" and opts.stepping == "counter":
        return Tolerance(1e-12, 1e-12 * scale, "1e-12: torch's recursion vs the closed form")
    return Tolerance(16 * U, 16 * U * scale, "16 ulps of max(|eta_max|, |eta_min|)")


WR: dict[str, Any] = {}
ANN, COUNTER = {"schedule": "annealing"}, {"stepping": "counter"}
MULT2 = {"t_0": 10, "t_mult": 2}
# torch's step(epoch) finds the cycle with a float log: log(243, 3) < 5 and log(1000, 10) < 3
# put the restarts at 121 (T_0 = 1, T_mult = 3) and 111 (T_0 = 1, T_mult = 10) one cycle
# late; log(4 - 2^-51, 2) = 2 puts one ulp before the restart at 30 (T_0 = 10, T_mult = 2) in
# the next cycle, one ulp early
LOG_ROUNDING = ("log_rounding_mult_3", "log_rounding_mult_10", "restarts_boundaries_mult_2")

CASES = [
    case("restarts_t0_10_1000", epochs=1000, options=WR),
    case("restarts_mult_2_1000", epochs=1000, options=MULT2),
    case(
        "restarts_mult_3_eta_min",
        epochs=1000,
        options={"t_0": 10, "t_mult": 3, "eta_min": 1e-4, "base_lr": 1e-3},
    ),
    case("restarts_fractional", epochs=100, grid="fractional", options=MULT2),
    case("restarts_fractional_mult_1", epochs=60, grid="fractional", options={"t_0": 7}),
    case("restarts_boundaries_mult_2", epochs=5000, grid="boundaries", options=MULT2),
    case("restarts_boundaries_mult_1", epochs=100, grid="boundaries", options={"t_0": 7}),
    case("restarts_shuffled", epochs=400, grid="shuffled", options=MULT2),
    case("log_rounding_mult_3", epochs=200, options={"t_0": 1, "t_mult": 3}),
    case("log_rounding_mult_10", epochs=200, options={"t_0": 1, "t_mult": 10}),
    case("counter_mult_1", epochs=1000, options={**COUNTER, "t_0": 7}),
    case("counter_mult_2", epochs=1000, options={**COUNTER, **MULT2}),
    case("counter_log_rounding", epochs=200, options={**COUNTER, "t_0": 1, "t_mult": 3}),
    case("annealing_past_t_max", epochs=1000, options=ANN),
    case("annealing_fractional", epochs=200, grid="fractional", iters=10, options=ANN),
    case("annealing_counter_1000", epochs=1000, options={**ANN, **COUNTER, "eta_min": 1e-4}),
    case("annealing_counter_t_max_7", epochs=1000, options={**ANN, **COUNTER, "t_max": 7}),
    case("eta_min_above_base", epochs=100, options={"eta_min": 0.5, "t_0": 7}),
    edge("eta_min_equals_base", epochs=100, options={**MULT2, "eta_min": 0.1}),
    edge("t_0_1_mult_1", epochs=50, options={"t_0": 1}),
    edge("t_max_1", epochs=50, options={**ANN, "t_max": 1}),
    edge("no_epochs", epochs=0, options=WR),
    edge("no_epochs_counter", epochs=0, options={**ANN, **COUNTER}),
    edge("one_epoch", epochs=1, options=MULT2),
]

BENCH = {  # verification only (ALGORITHMS.md): minimal sizes, present for the harness
    "smoke": [bench("bench_1000", epochs=1000, options=MULT2)],
    "quick": [bench("bench_100x100", epochs=100, grid="fractional", options=MULT2)],
    "full": [bench("bench_1000x100", epochs=1000, grid="fractional", options=MULT2)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "epochs": st.integers(0, 80),
            "grid": st.sampled_from(["integer", "fractional", "boundaries", "shuffled"]),
            "iters": st.integers(1, 7),
        }
    )
    return fuzz_cases(params, CosineOptions.strategy())


SUITE = Suite(
    algorithm="lr_cosine_warm_restarts",
    family="training-math",
    summary="The learning rate at each of E (fractional) epochs under cosine annealing with "
    "warm restarts (SGDR) or a single cosine: epochs (E,) -> lrs (E,) float64.",
    conventions=(
        "lr_cosine_warm_restarts(epochs, opts) -> lrs, float64 (E,). epochs: float, finite, "
        ">= 0, any order (NaN, inf and negative epochs raise ValueError, as torch's step(epoch) "
        "does). lr = eta_min + (base_lr - eta_min)*(1 + cos(pi*T_cur/T_i))/2. warm_restarts: "
        "cycle n has length T_i = t_0*t_mult**n and starts at t_0*(t_mult**n - 1)/(t_mult - 1) "
        "(n*t_0 when t_mult = 1); T_cur = epoch - start, so the lr is base_lr exactly at each "
        "restart and eta_min is approached but not reached just before it; the restart points "
        "are exact integers (torch's step(epoch) finds n with a float log and restarts one cycle "
        "late where that log rounds down, e.g. epoch 121 with t_0 = 1, t_mult = 3). annealing "
        "(CosineAnnealingLR): T_i = t_max, T_cur = epoch, no restart: past t_max the cosine "
        "rises back to base_lr at 2*t_max (torch's closed form). stepping='counter': lrs[i] is "
        "the lr after i plain step() calls (the epoch values are not read): warm_restarts then "
        "equals the closed form at epoch i; annealing follows torch's recursion lr <- eta_min + "
        "(lr - eta_min)*(1 + cos(pi*i/T))/(1 + cos(pi*(i-1)/T)), with lr + (base_lr - eta_min)*"
        "(1 - cos(pi/T))/2 at i = T + 1 (mod 2T), compared with the closed form at 1e-12. "
        "Options refuse t_0, t_mult or t_max < 1 or not integers (as torch), non-finite base_lr "
        "or eta_min. Raises TypeError for integer epochs, ValueError for epochs not 1-D."
    ),
    args=ARGS,
    options=CosineOptions,
    make_inputs=make_inputs,
    oracle=lr_cosine_warm_restarts,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 29, "dtype": "float64"},
    cases=CASES,
    bench=BENCH,
    standard="bench_100x100",
    multi_block={"E": 1000},
    invalid_options=[
        {"t_0": 0},
        {"t_0": -2},
        {"t_0": 2.5},
        {"t_mult": 0},
        {"t_mult": 1.5},
        {"t_max": 0},
        {"t_max": -1},
        {"base_lr": math.inf},
        {"eta_min": math.nan},
    ],
    fuzz=fuzz_strategy,
    reference="torch.optim.lr_scheduler.CosineAnnealingWarmRestarts and CosineAnnealingLR on a "
    "dummy SGD: step(epoch) for the closed form, step() for the counter",
)

"""Suite for lr_linear_scaling_warmup: the linear scaling rule (lr = base_lr·batch/base_batch,
Goyal et al.) followed by a linear warmup from start_factor to 1 and then a main schedule given
as per-step multipliers, as torch's SequentialLR(LinearLR, LambdaLR) steps it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, fuzz_cases
from harness.comparators import Close
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

U = 2.0**-53  # unit roundoff of float64


def _count(v: Any, low: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


@dataclass(frozen=True)
class WarmupOptions(Options):
    base_lr: float = option(
        0.1, 0.4, meaning="lr at base_batch", accepts=lambda v: _finite(v) and v >= 0
    )
    batch: int = option(
        256, 1024, 64, 8192, meaning="global batch size (>= 1)", accepts=lambda v: _count(v, 1)
    )
    base_batch: int = option(
        256, 32, meaning="batch size base_lr was tuned at (>= 1)", accepts=lambda v: _count(v, 1)
    )
    warmup: int = option(
        5, 0, 1, 500, meaning="warmup length w in scheduler steps (>= 0)",
        accepts=lambda v: _count(v, 0),
    )  # fmt: skip
    start_factor: float = option(
        1 / 3, 1.0, 0.1, meaning="f: the warmup starts at lr·f (LinearLR: 0 < f <= 1)",
        accepts=lambda v: _finite(v) and 0 < v <= 1,
    )  # fmt: skip
    unit: str = option(
        "iteration", "epoch",
        meaning="iteration: one scheduler step per iteration; epoch: one per epoch, each lr "
        "held for iters_per_epoch iterations",
    )  # fmt: skip
    iters_per_epoch: int = option(
        1, 4, 39, meaning="iterations per epoch (unit='epoch' only)",
        accepts=lambda v: _count(v, 1),
    )  # fmt: skip


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


ARGS = Args(Arg("main", ("S",), "float"))


def warmup_factor(s: int, opts: WarmupOptions) -> float:
    """f + (1 − f)·s/w at scheduler step s < w (the closed form of LinearLR)."""
    f = opts.start_factor
    return f + (1 - f) * s / opts.warmup


def lr_linear_scaling_warmup(main: Any, opts: WarmupOptions) -> Any:
    """Oracle: lr at every iteration, float64, one Python float at a time."""
    ARGS.check(main)
    lr = opts.base_lr * opts.batch / opts.base_batch
    values = [float(m) for m in np.asarray(main, dtype=np.float64)]
    out = []
    for s in range(len(values)):
        if s < opts.warmup:
            out.append(lr * warmup_factor(s, opts))
        else:  # the main schedule starts at its own step 0 when the warmup ends
            out.append(lr * values[s - opts.warmup])
    hold = opts.iters_per_epoch if opts.unit == "epoch" else 1
    return np.repeat(np.array(out, dtype=np.float64), hold)


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    s, kind = int(p["steps"]), p.get("main", "cosine")
    if kind == "constant":
        main = np.ones(s)
    elif kind == "random":  # no structure: an index error shows anywhere
        main = rng.uniform(0.5, 1.5, s)
    else:  # a cosine decay over the steps, the usual partner of a warmup
        main = 0.5 * (1 + np.cos(np.pi * np.arange(s) / max(s, 1)))
    return {"main": main.astype(case.dtype)}


def _out_len(case: Case) -> int:
    opts = WarmupOptions(**case.options)
    return int(case.params["steps"]) * (opts.iters_per_epoch if opts.unit == "epoch" else 1)


def cost(case: Case) -> Cost:
    """Scalar sequences, verification only: ~4 flops per step; main read, lrs written once."""
    s, n = int(case.params["steps"]), _out_len(case)
    return Cost(4.0 * s + 2, 8.0 * (s + n), n, "iterations")


def tolerance(case: Case) -> Tolerance:
    """The closed form f + (1 − f)·s/w vs LinearLR's running product of ratios: one rounding
    per step of the warmup compounds, so (w + 4) ulps relative, doubled; the main part is one
    product (lr·main) and sits well inside."""
    w = WarmupOptions(**case.options).warmup
    return Tolerance(2 * (w + 4) * U, 0.0, f"2·(w + 4)·2^-53 with w={w}: LinearLR's product")


EPOCH = {"unit": "epoch", "iters_per_epoch": 39}

CASES = [
    case("goyal_8k_500", steps=2000, options={"batch": 8192, "warmup": 500, "base_lr": 0.1}),
    case("default_warmup_5", steps=200, main="random", options={}),
    case("batch_below_base", steps=300, main="random", options={"batch": 64, "warmup": 500}),
    case("base_batch_32", steps=300, options={"batch": 1024, "base_batch": 32, "base_lr": 0.4}),
    case("start_factor_0_1", steps=300, main="random", options={"start_factor": 0.1, "warmup": 1}),
    case("epoch_warmup", steps=90, main="random", options={**EPOCH, "warmup": 5}),
    case(
        "epoch_warmup_4", steps=90, main="random", options={"unit": "epoch", "iters_per_epoch": 4}
    ),
    edge("no_warmup", steps=100, main="random", options={"warmup": 0, "batch": 1024}),
    edge("factor_1", steps=100, main="random", options={"start_factor": 1.0, "warmup": 500}),
    edge("warmup_1", steps=20, main="random", options={"warmup": 1}),
    edge("shorter_than_warmup", steps=50, options={"warmup": 500}),
    edge("no_steps", steps=0, options={}),
    edge("constant_main", steps=30, main="constant", options={"batch": 1024}),
]

# verification only (ALGORITHMS.md): minimal sizes, present for the harness. The spec's
# 10,000 iterations are the full profile: torch's SequentialLR takes ~0.2 ms a step (2 s a
# call there), too slow for the quick profile's few seconds, which runs 2,000.
BENCH = {
    "smoke": [bench("bench_1000", steps=1000, options={"batch": 8192, "warmup": 500})],
    "quick": [bench("bench_2000", steps=2000, options={"batch": 8192, "warmup": 500})],
    "full": [bench("bench_10000", steps=10_000, options={"batch": 8192, "warmup": 500})],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "steps": st.integers(0, 60),
            "main": st.sampled_from(["cosine", "random", "constant"]),
        }
    )
    return fuzz_cases(params, WarmupOptions.strategy())


SUITE = Suite(
    algorithm="lr_linear_scaling_warmup",
    family="training-math",
    summary="Linear scaling rule plus linear warmup into a main schedule: main multipliers "
    "(S,) -> lrs (S·k,) float64, k iterations per scheduler step.",
    conventions=(
        "lr_linear_scaling_warmup(main, opts) -> lrs, float64. lr = base_lr*batch/base_batch "
        "(the linear scaling rule, base_batch 256). At scheduler step s (s = 0 before any "
        "step): s < warmup: lr*(f + (1 - f)*s/warmup) (LinearLR's closed form; f = "
        "start_factor, 1/3 by default, so the lr reaches lr only at s = warmup); s >= warmup: "
        "lr*main[s - warmup] (the main schedule restarts at its own step 0 when the warmup "
        "ends, as SequentialLR with milestones=[warmup]; main[S - warmup:] is not used). "
        "unit='iteration': one step per iteration, lrs has S entries; unit='epoch': one step "
        "per epoch, every lr repeated iters_per_epoch times (S*iters_per_epoch entries). "
        "warmup = 0: no warmup. Options refuse start_factor outside (0, 1], warmup < 0, batch, "
        "base_batch or iters_per_epoch < 1, negative or non-finite base_lr. Raises TypeError "
        "for integer main, ValueError for main not 1-D."
    ),
    args=ARGS,
    options=WarmupOptions,
    make_inputs=make_inputs,
    oracle=lr_linear_scaling_warmup,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 31, "dtype": "float64"},
    cases=CASES,
    bench=BENCH,
    standard="bench_2000",
    multi_block={"S": 1000},
    invalid_options=[
        {"start_factor": 0.0},
        {"start_factor": 1.5},
        {"warmup": -1},
        {"batch": 0},
        {"batch": -256},
        {"base_batch": 0},
        {"iters_per_epoch": 0},
        {"base_lr": -0.1},
        {"warmup": 2.5},
    ],
    fuzz=fuzz_strategy,
    reference="torch.optim.lr_scheduler.SequentialLR([LinearLR(start_factor=f, "
    "total_iters=w), LambdaLR(main)], milestones=[w]) on a dummy SGD at the scaled lr",
)

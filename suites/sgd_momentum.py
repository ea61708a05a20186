"""Suite for sgd_momentum: torch.optim.SGD's step, run over T injected gradient steps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, ArrayList, Rule
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Each, Exact, Outputs
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite


def _real(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _non_negative(v: Any) -> bool:
    return _real(v) and v >= 0


@dataclass(frozen=True)
class SgdOptions(Options):
    momentum: float = option(
        0.9, 0.0, meaning="μ in buf ← μ·buf + (1 − τ)·g; 0: no buffer", accepts=_non_negative
    )
    dampening: float = option(
        0.0,
        0.5,
        meaning="τ: g enters the buffer with weight 1 − τ (not on its first step)",
        accepts=_real,
    )
    nesterov: bool = option(False, True, meaning="step along g + μ·buf instead of buf")
    weight_decay: float = option(
        0.0, 0.05, meaning="coupled L2: g ← g + wd·p before the momentum", accepts=_non_negative
    )
    maximize: bool = option(False, True, meaning="ascend the objective: g ← −g first")

    def validate(self) -> None:
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")


def _negate_first(x: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    out.reshape(-1)[0] = -1
    return out


NON_NEGATIVE = Rule("no negative values", lambda xp, x: x < 0, _negate_first)

ARGS = Args(
    ArrayList("params"),
    ArrayList("grads", like="params", lead=1),
    Arg("has_grad", ("T", "P"), "bool"),
    Arg("lrs", ("T",), "float", rules=(NON_NEGATIVE,)),
    ArrayList("momentum_buffers", like="params"),
    Arg("steps_done", ("P",), "int", rules=(NON_NEGATIVE,)),
)


def _python_shapes(params: Any, grads: Any, has_grad: Any, lrs: Any) -> tuple[Any, Any]:
    """Plain lists lose the trailing sizes of an empty axis (T = 0, P = 0; the harness's
    rule for untyped empties): typed stand-ins for the declaration check."""
    if np.asarray(has_grad).size == 0:
        has_grad = np.zeros((len(lrs), len(params)), dtype=bool)
    grads = [
        np.empty((0, *np.shape(p))) if isinstance(g, list) and not g else g
        for p, g in zip(params, grads, strict=False)
    ]
    return grads, has_grad


def check_sgd(
    params: Any, grads: Any, has_grad: Any, lrs: Any, momentum_buffers: Any, steps_done: Any
) -> tuple[int, int]:
    """ARGS.check, then what the declaration cannot say: P arrays in each list, T steps in
    every gradient array, one float dtype for params, grads and buffers. Returns (T, P)."""
    typed = (grads, has_grad)
    if all(isinstance(v, list) for v in (params, grads, has_grad)):
        typed = _python_shapes(params, grads, has_grad, lrs)
    ARGS.check(params, typed[0], typed[1], lrs, momentum_buffers, steps_done)
    t, p = len(lrs), len(params)
    for name, value in (("has_grad", typed[1]), ("steps_done", steps_done)):
        shape = tuple(np.shape(value)) if isinstance(value, list) else tuple(value.shape)
        if shape[-1:] != (p,):
            raise ValueError(f"{name} has P={shape[-1]} but params holds {p} arrays")
    for i, g in enumerate(grads):
        if len(g) != t:
            raise ValueError(f"grads[{i}] has {len(g)} steps but lrs has T={t}")
    dtypes = {str(a.dtype) for a in (*params, *grads, *momentum_buffers) if hasattr(a, "dtype")}
    if len(dtypes) > 1:
        raise TypeError(f"params, grads and momentum_buffers must share one dtype, got {dtypes}")
    return t, p


def sgd_momentum(params: Any, grads: Any, has_grad: Any, lrs: Any, momentum_buffers: Any,
    steps_done: Any, opts: SgdOptions) -> tuple[list[Any], list[Any], Any]:  # fmt: skip
    """Oracle: float64, torch.optim.SGD's update written out one step and one parameter at
    a time, functionally: returns (new params, new momentum_buffers, new steps_done)."""
    t, n = check_sgd(params, grads, has_grad, lrs, momentum_buffers, steps_done)
    p = [np.array(x, dtype=np.float64) for x in params]
    buf = [np.array(x, dtype=np.float64) for x in momentum_buffers]
    g_all = [
        np.asarray(x, dtype=np.float64).reshape(t, *q.shape) for x, q in zip(grads, p, strict=True)
    ]
    mask = np.asarray(has_grad, dtype=bool).reshape(t, n)
    lr = np.asarray(lrs, dtype=np.float64).reshape(t)
    count = np.array(steps_done, dtype=np.int64).reshape(n)
    mu, tau, wd = opts.momentum, opts.dampening, opts.weight_decay
    for step in range(t):
        for i in range(n):
            if not mask[step, i]:
                continue  # no gradient this step: the parameter is skipped entirely
            g = g_all[i][step]
            if opts.maximize:
                g = -g
            if wd != 0:
                g = g + wd * p[i]  # coupled weight decay, before the momentum
            if mu != 0:
                if count[i] == 0:
                    buf[i] = g.copy()  # torch: no buffer yet -> buf <- g, undamped
                else:
                    buf[i] = mu * buf[i] + (1 - tau) * g
                g = g + mu * buf[i] if opts.nesterov else buf[i]
            p[i] = p[i] - lr[step] * g  # this step's lr scales the whole buffer
            count[i] += 1
    return p, buf, count


def _lr_schedule(rng: np.random.Generator, kind: str, lr: float, t: int) -> np.ndarray:
    steps = np.arange(t)
    if kind == "constant":
        return np.full(t, lr)
    if kind == "step":  # three phases: lr, lr/10, lr/100 (a StepLR)
        return lr * 0.1 ** np.floor(3 * steps / max(t, 1))
    if kind == "warmup":
        return lr * (steps + 1) / max(t, 1)
    return lr * rng.uniform(0.1, 1.0, t)  # "random"


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    shapes = [tuple(int(s) for s in shape) for shape in p["shapes"]]
    t, n, dtype = int(p["steps"]), len(shapes), np.dtype(case.dtype)
    params = [np.asarray(rng.uniform(-1, 1, s), dtype=dtype) for s in shapes]
    draw = np.float32 if dtype == np.float32 else np.float64  # bench sizes: no float64 copy
    grads = [rng.standard_normal((t, *s), dtype=draw).astype(dtype) for s in shapes]
    has_grad = np.ones((t, n), dtype=bool)
    if p.get("missing") and n:  # random gaps; param 0's first gradient comes late, the last's never
        has_grad = rng.random((t, n)) >= float(p["missing"])
        has_grad[: t // 2, 0] = False
        if n > 1:
            has_grad[:, n - 1] = False
    lrs = _lr_schedule(rng, p.get("schedule", "step"), float(p.get("lr", 0.03)), t)
    buffers = [np.zeros(s, dtype=dtype) for s in shapes]
    steps_done = np.zeros(n, dtype=np.int64)
    start = p.get("start", "fresh")
    for i, s in enumerate(shapes):
        if start == "resumed" or (start == "mixed" and i % 2):  # mid-training state
            steps_done[i] = rng.integers(1, 50)
            buffers[i] = np.asarray(rng.normal(0, 2, s), dtype=dtype)
        elif start == "stale":  # no buffer yet (steps_done 0): these values must be ignored
            buffers[i] = np.asarray(rng.normal(0, 3, s), dtype=dtype)
    if p.get("nan") and n and t and grads[0].size:
        grads[0].reshape(t, -1)[t // 2, 0] = np.nan
    if p.get("grad_dtype"):
        grads = [g.astype(p["grad_dtype"]) for g in grads]
    if p.get("drop_step_of") is not None:
        grads[int(p["drop_step_of"])] = grads[int(p["drop_step_of"])][1:]
    if p.get("extra_param"):
        has_grad = np.concatenate([has_grad, np.ones((t, 1), dtype=bool)], axis=1)
        steps_done = np.append(steps_done, 0)
    if p.get("bad_buffer"):
        buffers[0] = np.zeros((*shapes[0], 2), dtype=dtype)
    return {
        "params": params,
        "grads": grads,
        "has_grad": has_grad,
        "lrs": lrs,
        "momentum_buffers": buffers,
        "steps_done": steps_done,
    }


def _numel(case: Case) -> int:
    return sum(math.prod(int(s) for s in shape) for shape in case.params["shapes"])


def cost(case: Case) -> Cost:
    """Per parameter and step: buffer update 3 flops, parameter update 2 (+2 weight decay,
    +2 Nesterov, +1 maximize). Bytes: the compulsory traffic, every gradient read once and
    params and buffers read and written once; a step-by-step implementation moves 5b per
    parameter per step (ALGORITHMS.md), one that fuses the steps b + 4b/T."""
    opts = SgdOptions(**case.options)
    n, t, b = _numel(case), int(case.params["steps"]), np.dtype(case.dtype).itemsize
    k = len(case.params["shapes"])
    per = 5 + 2 * (opts.weight_decay != 0) + 2 * opts.nesterov + opts.maximize
    return Cost(per * n * t, b * n * (t + 4) + (8 + k) * t + 16 * k, n * t, "parameter-steps")


def _steps(case: Case) -> int:
    """K = T: after T steps a parameter is p0 minus a sum of T increments, and each buffer
    entry a geometric sum of up to T gradients (rounding errors add like sqrt(K))."""
    return max(int(case.params["steps"]), 1)


def _buffer_scale(case: Case) -> float:
    """|buf| <= max|g|/(1 − μ) (geometric sum of gradients), with max|g| ~ 4 for the
    standard normal gradients here plus wd·|p|; resumed buffers start at N(0, 2)."""
    mu = SgdOptions(**case.options).momentum
    return 4.0 / (1.0 - mu) if mu < 1 else 40.0


def _param_scale(case: Case) -> float:
    """|p0| <= 1; every step moves p by lr·|d| with lr <= 0.03 and |d| <= |buf| + |g|."""
    lr = float(case.params.get("lr", 0.03))
    return 1.0 + lr * math.sqrt(_steps(case)) * (_buffer_scale(case) + 4.0)


COMPARE = Outputs(
    {
        "params": Each(Close(reduction=_steps, scale=_param_scale)),
        "momentum_buffers": Each(Close(reduction=_steps, scale=_buffer_scale)),
        "steps_done": Exact(),
    }
)

SHAPES = [[7, 5], [13], [2, 3, 4]]
NESTEROV, DAMPED = {"nesterov": True}, {"dampening": 0.5}
DECAY, MAXIMIZE, PLAIN = {"weight_decay": 0.05}, {"maximize": True}, {"momentum": 0.0}

CASES = [
    # parameters of one shape: the Python world reads such a list back as one stacked array
    case("equal_shapes_f32", shapes=[[6, 4], [6, 4]], steps=11, start="mixed"),
    case("fresh_f32", shapes=SHAPES, steps=12),
    case("fresh_f64", shapes=SHAPES, steps=12, dtype="float64"),
    # lr drops 10x twice: only the torch form applies the new lr to the whole buffer
    case("lr_step_change_f64", shapes=SHAPES, steps=15, schedule="step", dtype="float64"),
    # at a constant lr the classical v <- mu*v - lr*g, p <- p + v is the same update
    case("constant_lr_f64", shapes=SHAPES, steps=15, schedule="constant", dtype="float64"),
    case("random_lrs_f32", shapes=SHAPES, steps=16, schedule="random"),
    case("warmup_lrs_f64", shapes=SHAPES, steps=10, schedule="warmup", dtype="float64"),
    case("resumed_state_f64", shapes=SHAPES, steps=10, start="resumed", dtype="float64"),
    case("resumed_state_f32", shapes=SHAPES, steps=10, start="resumed"),
    case("mixed_state_f64", shapes=[*SHAPES, [6]], steps=9, start="mixed", dtype="float64"),
    case("dampening_f64", shapes=SHAPES, steps=12, options=DAMPED, dtype="float64"),
    case(
        "dampening_resumed_f64",
        shapes=SHAPES,
        steps=8,
        start="resumed",
        options=DAMPED,
        dtype="float64",
    ),
    case("nesterov_f64", shapes=SHAPES, steps=12, options=NESTEROV, dtype="float64"),
    case("nesterov_f32", shapes=SHAPES, steps=12, options=NESTEROV),
    case("weight_decay_f64", shapes=SHAPES, steps=12, options=DECAY, dtype="float64"),
    case("weight_decay_no_momentum_f32", shapes=SHAPES, steps=12, options={**DECAY, **PLAIN}),
    case("maximize_f64", shapes=SHAPES, steps=12, options=MAXIMIZE, dtype="float64"),
    case("no_momentum_f64", shapes=SHAPES, steps=12, options=PLAIN, dtype="float64"),
    case(
        "everything_f64",
        shapes=SHAPES,
        steps=14,
        start="mixed",
        missing=0.2,
        options={**NESTEROV, **DECAY, **MAXIMIZE},
        dtype="float64",
    ),
    case("missing_grads_f64", shapes=[*SHAPES, [4]], steps=12, missing=0.25, dtype="float64"),
    case("missing_grads_damped_f32", shapes=SHAPES, steps=12, missing=0.3, options=DAMPED),
    # 300 steps (T past a 256 tile) and 5,000 elements: several blocks of a step-fused kernel
    case("multi_block", shapes=[[5000], [3, 7]], steps=300, lr=0.002),
    edge("stale_buffers_f64", shapes=SHAPES, steps=6, start="stale", dtype="float64"),
    edge("zero_steps", shapes=SHAPES, steps=0, start="resumed"),
    edge("no_params", shapes=[], steps=5),
    edge("empty_param", shapes=[[0, 3], [4]], steps=6, start="mixed"),
    edge("scalar_param_f64", shapes=[[], [3]], steps=7, dtype="float64"),
    edge("single_step_f64", shapes=SHAPES, steps=1, start="mixed", dtype="float64"),
    edge("zero_lr_f64", shapes=SHAPES, steps=6, lr=0.0, dtype="float64"),
    edge("nan_gradient_f64", shapes=SHAPES, steps=8, nan=True, dtype="float64"),
]

ERRORS = [
    error(
        "grads_one_step_short",
        ValueError,
        r"grads\[1\] has 11 steps",
        shapes=SHAPES,
        steps=12,
        drop_step_of=1,
    ),
    error(
        "mask_for_more_params",
        ValueError,
        r"has P=4 but params holds 3",
        shapes=SHAPES,
        steps=12,
        extra_param=True,
    ),
    error(
        "grads_other_dtype",
        TypeError,
        r"share one dtype",
        shapes=SHAPES,
        steps=12,
        grad_dtype="float64",
    ),
    error(
        "buffer_shape_differs",
        ValueError,
        r"momentum_buffers must match params",
        shapes=SHAPES,
        steps=12,
        bad_buffer=True,
    ),
]

# Conv and linear weights with their biases. Standard here: 1.2M parameters x 10 steps, as a
# quick bench of it takes about half a second per implementation on these 2 cores. The
# spec's standard, 1e7 x 100, stacks 4 GB of float32 gradients (and the float64 oracle twice
# that): the full profile runs 1e7 x 20 instead. The spec's large 1e9 cannot be stacked.
NET = [[512, 256, 3, 3], [512], [512, 10], [10]]
LARGE = [[512, 512, 3, 3], [512], [2048, 2048], [2048], [4096, 1024], [1024]]
BENCH = {
    "smoke": [bench("bench_py", shapes=[[32, 16, 3, 3], [32]], steps=4)],  # Python-sized
    "quick": [bench("bench_1m_x10", shapes=NET, steps=10)],
    "full": [bench("bench_1e7_x20", shapes=LARGE, steps=20)],
}


def _fuzz_case(shapes: list[list[int]], options: dict[str, Any], params: dict[str, Any]) -> Case:
    if options["nesterov"] and (options["momentum"] == 0 or options["dampening"] != 0):
        options = {**options, "nesterov": False}
    return Case("fuzz", {"shapes": shapes, **params}, options, "fuzz")


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    options = SgdOptions.strategy()
    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "steps": st.integers(0, 9),
            "schedule": st.sampled_from(["constant", "step", "warmup", "random"]),
            "start": st.sampled_from(["fresh", "resumed", "stale", "mixed"]),
            "missing": st.sampled_from([0.0, 0.3]),
        }
    )
    # dims >= 1: as nested lists an empty axis below the first loses the trailing sizes
    # (empty_param covers a (0, 3) parameter); scalars (0-d) and no parameters are drawn
    shapes = st.lists(st.lists(st.integers(1, 6), max_size=3), max_size=4)
    return st.builds(_fuzz_case, shapes, options, params)


SUITE = Suite(
    algorithm="sgd_momentum",
    family="training-math",
    summary="torch.optim.SGD over T injected gradient steps, in place: params, "
    "momentum_buffers and steps_done (P parameters of any shapes) -> their new values.",
    conventions=(
        "sgd_momentum(params, grads, has_grad, lrs, momentum_buffers, steps_done, opts) updates "
        "params, momentum_buffers and steps_done IN PLACE (each array written into, the lists "
        "not rebound) and returns nothing. params: list of P float arrays of any shapes; "
        "grads[i]: (T, *params[i].shape), the gradient of each of the T steps; has_grad (T, P) "
        "bool: False means p.grad is None that step and the parameter is skipped entirely; lrs "
        "(T,) float64 >= 0, the lr of each step; momentum_buffers like params; steps_done (P,) "
        "int64 >= 0, the steps each parameter has taken (0: torch has no momentum buffer yet, "
        "whatever momentum_buffers holds). Per step with a gradient (torch.optim.SGD): g <- -g "
        "if maximize; g <- g + weight_decay*p (coupled, before the momentum); if momentum "
        "mu != 0: buf <- g (a copy, undamped) when steps_done is 0, else buf <- mu*buf + "
        "(1 - dampening)*g, then g <- g + mu*buf (nesterov) or buf; p <- p - lr*g (the step's "
        "lr scales the whole buffer: the classical v <- mu*v - lr*g, p <- p + v differs after "
        "an lr change); steps_done += 1. momentum = 0 leaves the buffers untouched. All state "
        "lives in the inputs: running T/2 steps, then the rest from the saved state, must give "
        "the same bits as T steps. params, grads and buffers share one float dtype (the "
        "arithmetic's); NaN propagates. Options: nesterov needs momentum > 0 and dampening 0, "
        "momentum and weight_decay >= 0 (ValueError, as torch). Raises ValueError for a "
        "negative lr or steps_done, arrays that do not match params (shape, count, steps), "
        "has_grad not (T, P); TypeError for non-float arrays, mixed float dtypes, a non-list."
    ),
    args=ARGS,
    options=SgdOptions,
    make_inputs=make_inputs,
    oracle=sgd_momentum,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 17, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_1m_x10",
    error_base="fresh_f32",
    outputs=("params", "momentum_buffers", "steps_done"),
    state=("params", "momentum_buffers", "steps_done"),
    steps=("lrs", "grads", "has_grad"),
    multi_block={"T": 300},
    invalid_options=[
        {"nesterov": True, "momentum": 0.0},
        {"nesterov": True, "dampening": 0.5},
        {"momentum": -0.1},
        {"weight_decay": -1e-4},
        {"dampening": math.nan},
    ],
    fuzz=fuzz_strategy,
    reference="torch.optim.SGD stepped T times (p.grad set per step, lr set per step)",
)

"""Suite for se_block: squeeze-and-excitation, x scaled per channel by a gate of its own mean."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class SeOptions(Options):
    gate: str = option(
        "sigmoid",
        "hard_sigmoid",
        meaning="the excitation: 1/(1 + e^-t) (SENet) or relu6(t + 3)/6 (MobileNetV3, "
        "torch's F.hardsigmoid)",
    )


# w1 (D, C) and w2 (C, D): the two 1x1 convolutions (equivalently Linear layers) of the
# bottleneck, D = max(1, C // reduction) hidden channels; the biases may be None.
ARGS = Args(
    Arg("x", ("N", "C", "H", "W")),
    Arg("w1", ("D", "C")),
    Arg("b1", ("D",), optional=True),
    Arg("w2", ("C", "D")),
    Arg("b2", ("C",), optional=True),
    Scalar("reduction", "int", low=1),
    nonempty=("D",),
    same_dtype=("x", "w1", "b1", "w2", "b2"),
)


def hidden_width(channels: int, reduction: int) -> int:
    """The bottleneck width: C // r, at least 1 (torchvision's _make_divisible aside)."""
    return max(1, int(channels) // int(reduction))


def check(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, reduction: int, opts: SeOptions) -> Any:
    """The one-line input check of every implementation; returns the result dtype."""
    dtype = ARGS.check(x, w1, b1, w2, b2, reduction)
    c, d = int(x.shape[1]), int(w1.shape[0])
    if d != hidden_width(c, reduction):
        raise ValueError(
            f"w1 must have max(1, C // reduction) = {hidden_width(c, reduction)} rows for "
            f"C={c}, reduction={reduction}, got {d}"
        )
    return dtype


def gate(t: Any, opts: SeOptions) -> Any:
    """The excitation on float64 NumPy logits."""
    if opts.gate == "sigmoid":
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-t))  # exp overflow -> 1/inf = 0, as it should
    return np.clip(t + 3.0, 0.0, 6.0) / 6.0


def se_block(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, reduction: int, opts: SeOptions) -> Any:
    """Oracle: float64, one sample at a time: channel means, the two-layer bottleneck with
    ReLU between, the gate, x times the gate of its channel."""
    check(x, w1, b1, w2, b2, reduction, opts)
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    m1, m2 = np.asarray(w1, np.float64), np.asarray(w2, np.float64)
    v1 = np.zeros(m1.shape[0]) if b1 is None else np.asarray(b1, np.float64)
    v2 = np.zeros(c) if b2 is None else np.asarray(b2, np.float64)
    y = np.empty_like(x)
    for i in range(n):
        with np.errstate(invalid="ignore", divide="ignore"):  # H·W = 0: NaN, y is empty
            z = x[i].reshape(c, h * w).sum(axis=1) / (h * w)  # squeeze: global average pool
        hidden = np.maximum(m1 @ z + v1, 0.0)
        s = gate(m2 @ hidden + v2, opts)
        y[i] = x[i] * s[:, None, None]
    return y


# Input generator: channel means in ±LOC plus unit noise, so the squeezed z (and through it
# the gate) varies from channel to channel; weights ~ N(0, WSCALE²/fan_in).
LOC, WSCALE, BIAS = 2.0, 2.0, 0.5


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    n, c, h, w = (int(s) for s in p["shape"])
    r = int(p.get("r", 16))
    d = int(p.get("D", hidden_width(c, r)))
    x = rng.standard_normal((n, c, h, w)) + rng.uniform(-LOC, LOC, (1, c, 1, 1))
    w1 = rng.standard_normal((d, c)) * WSCALE / math.sqrt(max(c, 1))
    w2 = rng.standard_normal((c, d)) * WSCALE / math.sqrt(d) * float(p.get("logit_scale", 1.0))
    b1, b2 = rng.uniform(-BIAS, BIAS, d), rng.uniform(-BIAS, BIAS, c)
    if p.get("pattern") == "nan" and x.size:
        x[0, 0, 0, 0] = np.nan  # that channel's mean, gate and output go NaN
    dtype, bias = np.dtype(case.dtype), p.get("bias", True)
    return {
        "x": x.astype(dtype),
        "w1": w1.astype(dtype),
        "b1": b1.astype(dtype) if bias else None,
        "w2": w2.astype(dtype),
        "b2": b2.astype(dtype) if bias else None,
        "reduction": r,
    }


def cost(case: Case) -> Cost:
    """Pool (a sum per element) and scale (a multiply per element), plus two matvecs per
    sample; x read twice and y written once. Bytes-bound."""
    n, c, h, w = (int(s) for s in case.params["shape"])
    d, b = hidden_width(c, int(case.params.get("r", 16))), np.dtype(case.dtype).itemsize
    numel = n * c * h * w
    return Cost(2.0 * numel + 4.0 * n * c * d, 3.0 * b * numel + b * 2 * c * d, numel, "elements")


def tolerance(case: Case) -> Tolerance:
    """Float32: the gate's logit is a chain of reductions, the H·W-long mean (error ~
    eps·sqrt(HW) relative to |z| <= LOC + 1), the C-long and D-long matvecs (weights
    ~ N(0, 4/fan_in), so unit-sized logits); a logit error moves the gate by at most 1/4 of
    it (sigmoid) or 1/6 (hard sigmoid), and y = x·s adds one rounding. K = HW + C + D;
    atol = rtol·|x|max with |x| <= LOC + 5 (unit noise, 5 sigma); logit_scale multiplies the
    logits (and their error)."""
    _, c, h, w = (int(s) for s in case.params["shape"])
    k = h * w + c + hidden_width(c, int(case.params.get("r", 16)))
    spread = max(1.0, float(case.params.get("logit_scale", 1.0)))
    base = default_tolerance(case.dtype, k, LOC + 5.0)
    return Tolerance(
        base.rtol * spread, base.atol * spread, f"{base.reason}; K = HW + C + D, x{spread:g}"
    )


HARD = {"gate": "hard_sigmoid"}
CASES = [
    # the error base: N=3, C=32, H=5, W=7, D=2 distinct, both biases present
    case("random_f32", shape=[3, 32, 5, 7]),
    case("random_f64", shape=[2, 48, 6, 4], dtype="float64"),
    case("hard_sigmoid_f32", shape=[3, 32, 5, 7], options=HARD),
    case("hard_sigmoid_f64", shape=[2, 64, 3, 5], dtype="float64", options=HARD),
    case("reduction_4", shape=[2, 24, 6, 6], r=4),
    # 272 channels: past a 256-wide block of channels
    case("multi_block", shape=[2, 272, 6, 5], r=16),
    edge("channels_below_reduction", shape=[3, 8, 5, 6]),  # C < r: one hidden channel
    edge("reduction_1", shape=[2, 6, 4, 5], r=1),
    edge("spatial_1x1", shape=[4, 32, 1, 1]),
    edge("spatial_1x1_f64_hard", shape=[4, 32, 1, 1], dtype="float64", options=HARD),
    edge("no_bias", shape=[3, 32, 5, 7], bias=False),
    edge("no_bias_hard", shape=[3, 32, 5, 7], bias=False, options=HARD),
    edge("saturated_gates", shape=[3, 32, 5, 7], logit_scale=200.0),
    edge(
        "saturated_hard_f64", shape=[3, 32, 5, 7], logit_scale=200.0, dtype="float64", options=HARD
    ),
    edge("nan_propagates_to_its_channel", shape=[2, 32, 4, 5], pattern="nan", dtype="float64"),
    # one empty size each, the others nonzero and distinct (N=3, C=32, H=5, W=7, D=2)
    edge("empty_batch", shape=[0, 32, 5, 7]),
    edge("no_channels", shape=[3, 0, 5, 7]),
    edge("no_rows", shape=[3, 32, 0, 7]),
    edge("no_columns", shape=[3, 32, 5, 0]),
]
ERRORS = [
    error(
        "hidden_width_not_c_over_r",
        ValueError,
        r"w1 must have max\(1, C // reduction\)",
        shape=[3, 32, 5, 7],
        D=4,
    ),
]
# The spec's standard 32 x 256 x 56 x 56 (25.7 M elements, 100 MB in float32) is timed in
# "full"; the quick profile's standard, 8 x 256 x 28 x 28, fits its 6 s budget.
BENCH = {
    "smoke": [bench("bench_tiny", shape=[2, 32, 4, 4])],
    "quick": [bench("bench_8x256x28x28", shape=[8, 256, 28, 28])],
    "full": [
        bench("bench_spec_standard", shape=[32, 256, 56, 56]),
        bench("bench_large", shape=[128, 256, 56, 56]),
    ],
}


def fuzz_strategy() -> Any:
    """Unscaled logits only: saturated gates (saturated_gates, saturated_hard_f64) make a
    tiny drawn case's outputs smaller than the atol scaled with the logits (vacuous)."""
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "shape": st.tuples(
                st.integers(0, 3), st.integers(0, 40), st.integers(0, 5), st.integers(0, 5)
            ).map(list),
            "r": st.sampled_from([1, 4, 16]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "bias": st.booleans(),
        }
    )
    return st.builds(
        lambda p, o: Case("fuzz", p, o, "fuzz"), params, SeOptions.strategy(optional=True)
    )


SUITE = Suite(
    algorithm="se_block",
    family="attention-and-layers",
    summary="Squeeze-and-excitation: y = x · gate(W2·ReLU(W1·mean_hw(x) + b1) + b2), the gate "
    "per (n, c) broadcast over H, W.",
    conventions=(
        "se_block(x, w1, b1, w2, b2, reduction, opts). x (N, C, H, W); w1 (D, C) and w2 "
        "(C, D) with D = max(1, C // reduction) (the bottleneck; 1x1 convolutions and Linear "
        "layers are the same map); b1 (D,), b2 (C,) or None (no bias). z = the mean of each "
        "(n, c) plane (global average pool); s = gate(w2·ReLU(w1·z + b1) + b2), gate = "
        "sigmoid (default, SENet) or hard_sigmoid = relu6(t + 3)/6 (MobileNetV3, torch's "
        "F.hardsigmoid; not Keras's old 0.2·t + 0.5); y = x·s broadcast over H, W. NaN in a "
        "plane makes that channel's gate NaN and so its whole output plane. H·W = 0 gives an "
        "empty y. y has x's shape and dtype. ValueError: x not 4-D, w1/w2/b1/b2 shapes not "
        "matching C and D, D != max(1, C // reduction), reduction < 1; TypeError: non-float "
        "arrays, mixed dtypes, a non-int reduction."
    ),
    args=ARGS,
    options=SeOptions,
    make_inputs=make_inputs,
    oracle=se_block,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 3, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_8x256x28x28",
    error_base="random_f32",
    multi_block={"C": 272},
    fuzz=fuzz_strategy,
    divergent_inputs={"no_channels": lambda inputs: inputs["x"].shape[1] == 0},
    reference="a torch module (AdaptiveAvgPool2d, 1x1 Conv2d, ReLU, 1x1 Conv2d, Sigmoid or "
    "Hardsigmoid) with the weights loaded through load_state_dict",
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),
)

"""Suite for small_cnn_forward: the forward pass of a LeNet-5-style CNN on 3x32x32 images."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error
from harness.comparators import Close, default_tolerance
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

#: The flattened feature count after the second pooling: 16 channels x 5 x 5.
FEATURES = 400
#: (name, shape) of the ten parameter arrays, in argument order (torch's Linear layout).
PARAMS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("w1", (6, 3, 5, 5)), ("b1", (6,)), ("w2", (16, 6, 5, 5)), ("b2", (16,)),
    ("w3", (120, FEATURES)), ("b3", (120,)), ("w4", (84, 120)), ("b4", (84,)),
    ("w5", (10, 84)), ("b5", (10,)),
)  # fmt: skip
#: 456 + 2,416 + 48,120 + 10,164 + 850.
PARAMETER_COUNT = 62_006

# D names the flattened width (always 400) so the first Linear's weight carries a symbol:
# every case runs its 400-long reduction past a 256-wide block.
ARGS = Args(
    Arg("x", ("N", 3, 32, 32)),
    Arg("w1", (6, 3, 5, 5)),
    Arg("b1", (6,)),
    Arg("w2", (16, 6, 5, 5)),
    Arg("b2", (16,)),
    Arg("w3", (120, "D")),
    Arg("b3", (120,)),
    Arg("w4", (84, 120)),
    Arg("b4", (84,)),
    Arg("w5", (10, 84)),
    Arg("b5", (10,)),
    nonempty=("D",),
    same_dtype=("x", *(name for name, _ in PARAMS)),
)


def check(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, w3: Any, b3: Any, w4: Any, b4: Any,
          w5: Any, b5: Any) -> Any:  # fmt: skip
    """The one-line input check of every implementation: the fixed architecture's shapes
    (x must be (N, 3, 32, 32)), one float dtype. Returns it."""
    dtype = ARGS.check(x, w1, b1, w2, b2, w3, b3, w4, b4, w5, b5)
    if int(w3.shape[1]) != FEATURES:
        raise ValueError(
            f"w3 must have {FEATURES} = 16·5·5 columns (the flattened features), got {w3.shape[1]}"
        )
    return dtype


def small_cnn_forward(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, w3: Any, b3: Any, w4: Any,
                      b4: Any, w5: Any, b5: Any) -> Any:  # fmt: skip
    """Oracle: float64, from the conv2d_direct and pooling_max_avg oracles: conv 5x5 -> ReLU
    -> max-pool 2 -> conv 5x5 -> ReLU -> max-pool 2 -> flatten (C, H, W order) -> Linear
    120 -> ReLU -> Linear 84 -> ReLU -> Linear 10 (logits, no softmax)."""
    from suites.conv2d_direct import ConvOptions, conv2d_direct
    from suites.pooling_max_avg import PoolOptions, pooling

    dtype = check(x, w1, b1, w2, b2, w3, b3, w4, b4, w5, b5)
    p = [np.asarray(a, dtype=np.float64) for a in (x, w1, b1, w2, b2, w3, b3, w4, b4, w5, b5)]
    h, k1, c1, k2, c2, m3, c3, m4, c4, m5, c5 = p
    n = h.shape[0]
    conv, pool = ConvOptions(), PoolOptions(op="max", kernel=(2, 2))
    for k, c in ((k1, c1), (k2, c2)):
        h = pooling(np.maximum(conv2d_direct(h, k, c, conv), 0.0), pool)
    flat = h.reshape(n, FEATURES)
    hidden = np.maximum(flat @ m3.T + c3, 0.0)
    hidden = np.maximum(hidden @ m4.T + c4, 0.0)
    return (hidden @ m5.T + c5).astype(dtype)


def make_inputs(case: Case) -> Inputs:
    """x ~ N(0, 1) images; weights ~ N(0, 2/fan_in) (He: activations keep their scale
    through the ReLUs), biases in [-0.1, 0.1] (``bias_shift`` added to b1: -10 kills every
    first-layer unit); ``pattern="nan"`` puts a NaN into one pixel."""
    p, rng = case.params, np.random.default_rng(case.seed)
    n = int(p["N"])
    side = int(p.get("side", 32))  # an error case: 33 pools down to the same 5 x 5
    x = rng.standard_normal((n, 3, side, side))
    if p.get("pattern") == "nan" and n:
        x[0, 1, 9, 20] = np.nan
    dtype = np.dtype(case.dtype)
    out: Inputs = {"x": x.astype(dtype)}
    for name, shape in PARAMS:
        if name.startswith("w"):
            v = rng.standard_normal(shape) * math.sqrt(2.0 / math.prod(shape[1:]))
        else:
            v = rng.uniform(-0.1, 0.1, shape)
        out[name] = v.astype(dtype)
    out["b1"] = (out["b1"] + dtype.type(p.get("bias_shift", 0.0))).astype(dtype)
    return out


#: Multiply-adds per image: conv1 6·28·28·75, conv2 16·10·10·150, FCs 400·120 + 120·84 +
#: 84·10 (the spec's ≈ 1.30 MFLOP per image at 2 flops each).
MACS = 6 * 28 * 28 * 75 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10


def cost(case: Case) -> Cost:
    """flops = 2·MACS per image (1.30 M) + the ReLUs and pooling comparisons (~16 k); bytes
    = b·(images + 62,006 parameters + logits)."""
    n, b = int(case.params["N"]), np.dtype(case.dtype).itemsize
    elementwise = 6 * 28 * 28 * 2 + 16 * 10 * 10 * 2 + 120 + 84
    return Cost(n * (2.0 * MACS + elementwise), b * (n * (3 * 32 * 32 + 10) + PARAMETER_COUNT),
                n, "images")  # fmt: skip


def tolerance(case: Case) -> Tolerance:
    """Five chained reductions (75, 150, 400, 120 and 84 long), He-scaled so activations and
    logits stay ~1 (x3 at the tails): K = their sum, atol = rtol x 3. Max-pooling and ReLU
    only select: they pass errors on without growing them."""
    base = default_tolerance(case.dtype, 75 + 150 + 400 + 120 + 84, 3.0)
    return Tolerance(base.rtol, base.atol, base.reason + " (K = 75 + 150 + 400 + 120 + 84)")


CASES = [
    case("random_f32", N=3),  # the error base
    case("random_f64", N=2, dtype="float64"),
    case("batch_f32", N=7, seed=21),
    edge("batch_1", N=1),
    edge("batch_1_f64", N=1, dtype="float64"),
    edge("dead_first_layer_f64", N=2, dtype="float64", bias_shift=-10.0),
    edge("nan_reaches_every_logit", N=2, dtype="float64", pattern="nan"),
    edge("empty_batch", N=0),
]
ERRORS = [
    error("features_not_400", ValueError, r"w3 must have 400", N=2, bad_w3=True),
    # 33 -> 29 -> 14 -> 10 -> 5: the same 400 features, so only the shape check refuses it
    error("input_33x33", ValueError, r"x must have shape \(N, 3, 32, 32\)", N=2, side=33),
]
# Standard: the specification's batch of 256 (0.33 GFLOP).
BENCH = {
    "smoke": [bench("bench_batch_8", N=8)],
    "quick": [bench("bench_batch_256", N=256)],
    "full": [bench("bench_batch_8192", N=8192)],
}


def _make_inputs(case: Case) -> Inputs:
    """make_inputs; ``bad_w3`` gives the first Linear 399 columns (a wrong flatten)."""
    inputs = make_inputs(case)
    if case.params.get("bad_w3"):
        inputs["w3"] = np.ascontiguousarray(inputs["w3"][:, : FEATURES - 1])
    return inputs


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(0, 3),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "bias_shift": st.sampled_from([0.0, -0.5, 0.5]),
        }
    )
    return st.builds(lambda p: Case("fuzz", p, {}, "fuzz"), params)


SUITE = Suite(
    algorithm="small_cnn_forward",
    family="attention-and-layers",
    summary="LeNet-5-style forward pass: conv5x5 3->6, ReLU, max-pool 2, conv5x5 6->16, ReLU, "
    "max-pool 2, flatten 400, Linear 120, ReLU, Linear 84, ReLU, Linear 10 -> (N, 10) logits.",
    conventions=(
        "small_cnn_forward(x, w1, b1, w2, b2, w3, b3, w4, b4, w5, b5). x (N, 3, 32, 32), NCHW. "
        "Convolutions are cross-correlations (no kernel flip), stride 1, no padding, weights "
        "(O, C, 5, 5) with biases; max-pooling 2x2, stride 2. The flatten reads (C, H, W) "
        "order (torch's x.flatten(1); a channels-last flatten is another network). Linear "
        "weights are (out, in) as torch's: y = h·Wᵀ + b. The result is the logits (no "
        "softmax). 62,006 parameters. NaN in a pixel reaches every logit. ValueError: x not "
        "(N, 3, 32, 32), a parameter of the wrong shape, w3 without 400 columns; TypeError: "
        "non-float or mixed dtypes."
    ),
    args=ARGS,
    make_inputs=_make_inputs,
    oracle=small_cnn_forward,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 17, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_batch_256",
    error_base="random_f32",
    multi_block={"D": FEATURES},
    fuzz=fuzz_strategy,
    reference="torch nn.Sequential(Conv2d, ReLU, MaxPool2d, Conv2d, ReLU, MaxPool2d, Flatten, "
    "Linear, ReLU, Linear, ReLU, Linear) with the suite's arrays loaded by load_state_dict",
    backends=("numpy", "torch_cpu", "torch_cuda", "library"),
)

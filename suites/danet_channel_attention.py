"""Suite for danet_channel_attention: DANet's channel attention module (CAM), every channel a
softmax-weighted mix of the channels least similar to it, added back with a learned gamma."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close, default_tolerance
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

# x (B, C, H, W); gamma the module's learned scalar (0 at initialisation: the identity).
ARGS = Args(Arg("x", ("B", "C", "H", "W")), Scalar("gamma"))


def danet_channel_attention(x: Any, gamma: Any) -> Any:
    """Oracle: float64, one image at a time, as published: A (C, N), energy E = A·Aᵀ,
    attention = row softmax of (rowmax(E) - E) (the softmax itself max-subtracted),
    out = gamma·(attention·A) + A."""
    ARGS.check(x, gamma)
    x = np.asarray(x, np.float64)
    b, c, h, w = x.shape
    y = np.empty_like(x)
    for i in range(b):
        a = x[i].reshape(c, h * w)
        energy = a @ a.T
        energy_new = energy.max(axis=1, keepdims=True, initial=-np.inf) - energy
        e = np.exp(energy_new - energy_new.max(axis=1, keepdims=True, initial=-np.inf))
        attention = e / e.sum(axis=1, keepdims=True)
        y[i] = (float(gamma) * (attention @ a) + a).reshape(c, h, w)
    return y


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    b, c, h, w = (int(s) for s in p["shape"])
    x = rng.standard_normal((b, c, h, w))
    pattern = p.get("pattern", "random")
    if pattern == "identical_channels":  # one map in every channel: E constant, uniform rows
        x[:] = x[:, :1]
    elif pattern == "constant_channels":  # channel c is the constant x[c, 0, 0]: E rank one
        x[:] = x[:, :, :1, :1]
    elif pattern == "nan" and x.size:
        x[0, 0, 0, 0] = np.nan
    x *= float(p.get("amp", 1.0))
    gamma: Any = p.get("gamma", 0.6)
    if p.get("gamma_shape") is not None:
        gamma = np.full(p["gamma_shape"], 0.6)
    return {"x": x.astype(np.dtype(case.dtype)), "gamma": gamma}


def cost(case: Case) -> Cost:
    """Two C x C x N products (the energy A·Aᵀ and attention·A) and a C x C softmax per
    image; x read and y written once plus the C x C attention."""
    b, c, h, w = (int(s) for s in case.params["shape"])
    n, size = h * w, np.dtype(case.dtype).itemsize
    return Cost(
        4.0 * b * c * c * n + 5.0 * b * c * c,
        size * b * (2.0 * c * n + c * c),
        b * c * n,
        "elements",
    )


def tolerance(case: Case) -> Tolerance:
    """Float32: an energy is an N-long dot of unit-normal maps, absolute error ~ eps·sqrt(N)
    (times amp²), which becomes a relative error of its softmax weight; attention·A adds a
    C-long sum. Default 10·sqrt(K)·eps with K = N + C; atol = rtol·5·amp (y = x + out is
    of the size of x and can cancel). amp > 1 saturates the softmax to one-hot (energy gaps
    of thousands), so the energies' error no longer reaches the output."""
    _, c, h, w = (int(s) for s in case.params["shape"])
    amp = float(case.params.get("amp", 1.0))
    base = default_tolerance(case.dtype, h * w + c, 5.0 * amp)
    return Tolerance(base.rtol, base.atol, f"{base.reason}; K = H·W + C")


CASES = [
    # the error base: B=2, C=6, H=5, W=3 distinct
    case("random_f32", shape=[2, 6, 5, 3]),
    case("random_f64", shape=[2, 12, 6, 7], dtype="float64"),
    case("wide_spatial_f32", shape=[2, 24, 16, 16]),
    case("negative_gamma_f64", shape=[3, 8, 4, 5], gamma=-1.5, dtype="float64"),
    # 300 channels: past a 256-wide tile of the C x C energy
    case("multi_block", shape=[1, 300, 4, 5]),
    edge("gamma_zero_identity", shape=[2, 6, 5, 3], gamma=0.0),
    edge("identical_channels_uniform", shape=[2, 6, 5, 3], pattern="identical_channels"),
    edge("constant_channels", shape=[2, 6, 5, 3], pattern="constant_channels"),
    edge("hw_1", shape=[3, 10, 1, 1]),
    edge("single_channel", shape=[2, 1, 5, 3]),
    edge("huge_activations", shape=[2, 6, 5, 3], amp=1e3),
    edge("huge_activations_f64", shape=[2, 6, 5, 3], amp=1e3, dtype="float64"),
    edge("nan_spreads_over_its_image", shape=[2, 6, 5, 3], pattern="nan", dtype="float64"),
    # one empty size each, the others nonzero and distinct (B=2, C=6, H=5, W=3)
    edge("empty_batch", shape=[0, 6, 5, 3]),
    edge("no_channels", shape=[2, 0, 5, 3]),
    edge("no_rows", shape=[2, 6, 0, 3]),
    edge("no_columns", shape=[2, 6, 5, 0]),
]
ERRORS = [
    error(
        "gamma_not_a_scalar",
        TypeError,
        r"gamma must be a real number",
        gamma_shape=[1],
        shape=[2, 6, 5, 3],
    ),
    error(
        "gamma_a_0d_array",
        TypeError,
        r"gamma must be a real number",
        gamma_shape=[],
        shape=[2, 6, 5, 3],
    ),
]
# The spec's standard, 8 x 512 x 64 x 64 (34 GFLOP), takes many seconds a call on one core;
# the quick profile's standard is 2 x 128 x 32 x 32 (0.13 GFLOP); the spec's sizes are in
# "full".
BENCH = {
    "smoke": [bench("bench_tiny", shape=[1, 8, 4, 4])],
    "quick": [bench("bench_2x128x32x32", shape=[2, 128, 32, 32])],
    "full": [
        bench("bench_spec_standard", shape=[8, 512, 64, 64]),
        bench("bench_large", shape=[16, 2048, 64, 64]),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "shape": st.tuples(
                st.integers(0, 3), st.integers(0, 12), st.integers(0, 6), st.integers(0, 6)
            ).map(list),
            "gamma": st.sampled_from([0.0, 0.6, -2.0]),
            "pattern": st.sampled_from(["random", "identical_channels", "constant_channels"]),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
        }
    )
    return st.builds(lambda p: Case("fuzz", p, {}, "fuzz"), params)


SUITE = Suite(
    algorithm="danet_channel_attention",
    family="attention-and-layers",
    summary="DANet channel attention: A = x as (C, H·W), E = A·Aᵀ, attention = row softmax "
    "of rowmax(E) - E, y = gamma·(attention·A) + A.",
    conventions=(
        "danet_channel_attention(x, gamma). x (B, C, H, W); gamma a real number (the "
        "module's learned scalar, 0 at initialisation, which makes y = x). As published: "
        "the energy is unscaled, attention = softmax over the last axis of rowmax(E) - E, "
        "which equals softmax(-E) exactly (a softmax ignores a per-row shift): the channels "
        "least similar to a channel get the largest weights. The softmax subtracts its own "
        "row max, so huge activations saturate instead of overflowing. H·W = 0 gives E = 0, "
        "uniform weights and an empty y; NaN anywhere in an image spreads over all of it. "
        "y has x's shape and dtype. ValueError: x not 4-D, a NaN gamma; TypeError: a "
        "non-float x, a gamma that is not a number (an array included)."
    ),
    args=ARGS,
    make_inputs=make_inputs,
    oracle=danet_channel_attention,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 13, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_2x128x32x32",
    error_base="random_f32",
    multi_block={"C": 300},
    fuzz=fuzz_strategy,
    divergent_inputs={
        "empty_batch": lambda inputs: inputs["x"].shape[0] * inputs["x"].shape[1] == 0,
        "no_channels": lambda inputs: inputs["x"].shape[0] * inputs["x"].shape[1] == 0,
    },
    reference="DANet's CAM_Module as a torch module (bmm energy, max - energy, softmax, "
    "bmm, gamma·out + x)",
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
)

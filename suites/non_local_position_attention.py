"""Suite for non_local_position_attention: every position attends to every position (DANet's
position attention module, the non-local block) through 1x1-conv queries, keys and values."""

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

#: Eval-mode BatchNorm epsilon of the non-local block's output norm (torch's default).
BN_EPS = 1e-5


@dataclass(frozen=True)
class NonLocalOptions(Options):
    scaling: str = option(
        "none",
        "sqrt",
        meaning="logits Qᵀ·K as they are (DANet, the non-local block) or divided by sqrt(C')",
    )
    residual: str = option(
        "gamma",
        "conv_bn",
        meaning="y = gamma·out + x (DANet, C_v = C) or y = BN(W_z·out) + x, a 1x1 conv and an "
        "eval-mode BatchNorm (the non-local block)",
    )


# wq, wk (Cq, C) and wv (Cv, C): the 1x1 convolutions (biases optional); gamma for the
# "gamma" residual; wz (C, Cv) and bn (4, C) = BatchNorm weight, bias, running mean and
# running variance for "conv_bn". Sharing Cq between wq and wk makes a query/key channel
# mismatch a generated error case.
ARGS = Args(
    Arg("x", ("B", "C", "H", "W")),
    Arg("wq", ("Cq", "C")),
    Arg("bq", ("Cq",), optional=True),
    Arg("wk", ("Cq", "C")),
    Arg("bk", ("Cq",), optional=True),
    Arg("wv", ("Cv", "C")),
    Arg("bv", ("Cv",), optional=True),
    Scalar("gamma", optional=True),
    Arg("wz", ("C", "Cv"), optional=True),
    Arg("bn", (4, "C"), optional=True),
    nonempty=("Cq",),
    same_dtype=("x", "wq", "bq", "wk", "bk", "wv", "bv", "wz", "bn"),
)


def check(
    x: Any, wq: Any, bq: Any, wk: Any, bk: Any, wv: Any, bv: Any, gamma: Any, wz: Any, bn: Any,
    opts: NonLocalOptions,
) -> Any:  # fmt: skip
    """The one-line input check of every implementation; returns the result dtype."""
    dtype = ARGS.check(x, wq, bq, wk, bk, wv, bv, gamma, wz, bn)
    if opts.residual == "gamma":
        if gamma is None:
            raise ValueError("gamma is required when residual='gamma'")
        if wz is not None or bn is not None:
            raise ValueError("wz and bn must be None when residual='gamma'")
        if wv.shape[0] != x.shape[1]:
            raise ValueError(
                f"wv must have C={x.shape[1]} rows when residual='gamma' (y = gamma·out + x), "
                f"got Cv={wv.shape[0]}"
            )
    else:
        if wz is None or bn is None:
            raise ValueError("wz and bn are required when residual='conv_bn'")
        if gamma is not None:
            raise ValueError("gamma must be None when residual='conv_bn'")
    return dtype


def logit_scale(cq: int, opts: NonLocalOptions) -> float:
    return 1.0 / math.sqrt(cq) if opts.scaling == "sqrt" else 1.0


def non_local_position_attention(
    x: Any, wq: Any, bq: Any, wk: Any, bk: Any, wv: Any, bv: Any, gamma: Any, wz: Any, bn: Any,
    opts: NonLocalOptions,
) -> Any:  # fmt: skip
    """Oracle: float64, one image at a time: positions flattened, the 1x1 convs as matrix
    products, A = row softmax (max-subtracted) of Qᵀ·K, out = V·Aᵀ, then the residual."""
    check(x, wq, bq, wk, bk, wv, bv, gamma, wz, bn, opts)
    mq, mk, mv = (np.asarray(a, np.float64) for a in (wq, wk, wv))
    vq, vk, vv = (None if a is None else np.asarray(a, np.float64) for a in (bq, bk, bv))
    x = np.asarray(x, np.float64)
    b, c, h, w = x.shape
    n, cq = h * w, mq.shape[0]
    y = np.empty_like(x)
    for i in range(b):
        flat = x[i].reshape(c, n)
        q = mq @ flat + (0.0 if vq is None else vq[:, None])  # (Cq, N)
        k = mk @ flat + (0.0 if vk is None else vk[:, None])
        v = mv @ flat + (0.0 if vv is None else vv[:, None])  # (Cv, N)
        logits = (q.T @ k) * logit_scale(cq, opts)  # (N query positions, N key positions)
        e = np.exp(logits - logits.max(axis=1, keepdims=True, initial=-np.inf))
        attention = e / e.sum(axis=1, keepdims=True)
        out = v @ attention.T  # (Cv, N): out[:, i] = sum_j v[:, j]·A[i, j]
        if opts.residual == "gamma":
            y[i] = (float(gamma) * out + flat).reshape(c, h, w)
        else:
            weight, shift, mean, var = np.asarray(bn, np.float64)
            z = np.asarray(wz, np.float64) @ out  # (C, N)
            z = (z - mean[:, None]) / np.sqrt(var[:, None] + BN_EPS) * weight[:, None]
            y[i] = (z + shift[:, None] + flat).reshape(c, h, w)
    return y


# Weights ~ N(0, 1/fan_in): unit-variance queries, keys and values from unit-normal x.
BIAS = 0.5


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    B, C, H, W, cq = (int(p[s]) for s in ("B", "C", "H", "W", "Cq"))
    cv, ck = int(p.get("Cv", C)), int(p.get("Ck", cq))
    fan = math.sqrt(max(C, 1))
    x = rng.standard_normal((B, C, H, W)) * float(p.get("amp", 1.0))
    if p.get("pattern") == "ties" and H * W:  # every position alike: every logit of a row ties
        x[:] = x[:, :, :1, :1]
    elif p.get("pattern") == "nan" and x.size:
        x[0, 0, 0, 0] = np.nan
    wq, wk = rng.standard_normal((cq, C)) / fan, rng.standard_normal((ck, C)) / fan
    wv = rng.standard_normal((cv, C)) / fan
    bq, bk, bv = (rng.uniform(-BIAS, BIAS, n) for n in (cq, ck, cv))
    conv_bn = case.options.get("residual") == "conv_bn"
    wz = rng.standard_normal((C, cv)) / math.sqrt(max(cv, 1))
    bn = np.stack(
        [rng.uniform(0.5, 1.5, C), rng.uniform(-0.5, 0.5, C), rng.uniform(-0.5, 0.5, C),
         rng.uniform(0.5, 2.0, C)]
    )  # fmt: skip
    dtype, bias = np.dtype(case.dtype), p.get("bias", True)

    def cast(a: Any, keep: bool = True) -> Any:
        return a.astype(dtype) if keep else None

    return {
        "x": cast(x),
        "wq": cast(wq),
        "bq": cast(bq, bias),
        "wk": cast(wk),
        "bk": cast(bk, bias),
        "wv": cast(wv),
        "bv": cast(bv, bias),
        "gamma": None if conv_bn else p.get("gamma", 0.7),
        "wz": cast(wz, conv_bn),
        "bn": cast(bn, conv_bn),
    }


def _sizes(case: Case) -> tuple[int, int, int, int, int]:
    p = case.params
    B, C, cq = int(p["B"]), int(p["C"]), int(p["Cq"])
    return B, C, int(p["H"]) * int(p["W"]), cq, int(p.get("Cv", C))


def cost(case: Case) -> Cost:
    """Scores Qᵀ·K and V·Aᵀ (2·N²·(Cq + Cv) a image), the softmax (~5 a score), the 1x1
    projections (2·N·C·(2Cq + Cv)) and, for conv_bn, W_z (2·N·C·Cv); x read and y written
    once plus the weights (the fused traffic; a materialised score matrix adds 2b·B·N²)."""
    B, C, N, cq, cv = _sizes(case)
    b = np.dtype(case.dtype).itemsize
    wz = 2.0 * C * cv if case.options.get("residual") == "conv_bn" else 0.0
    flops = B * (2.0 * N * N * (cq + cv) + 5.0 * N * N + 2.0 * N * C * (2 * cq + cv) + wz * N)
    weights = C * (2 * cq + cv) + 2 * cq + cv + (C * cv + 4 * C if wz else 0)
    return Cost(flops, b * (2.0 * B * C * N + weights), B * N * N, "scores")


def tolerance(case: Case) -> Tolerance:
    """Float32: q, k, v come from C-long dots, a logit from a Cq-long one; with unit q and k
    a logit carries an absolute error ~ eps·sqrt(C + Cq)·Λ, Λ its spread (sqrt(Cq) unscaled,
    1 scaled by 1/sqrt(Cq)), which becomes a relative error of its weight, so out moves by
    that times |v| ~ 1; the N-long sums (softmax denominator, V·Aᵀ) add eps·sqrt(N), W_z a
    Cv-long dot. The default 10·sqrt(K)·eps with K = C + Cq + Cv + N, times max(1, Λ); atol
    = rtol·(5 + |out|) relative to unit-normal x (y = x + out can cancel to ~0 while the
    error scales with |x|). ``amp`` multiplies x, out and their errors: its logits (amp²)
    saturate the softmax to one-hot (gaps of thousands), where only K matters."""
    _, C, N, cq, cv = _sizes(case)
    amp = float(case.params.get("amp", 1.0))
    spread = 1.0 if case.options.get("scaling") == "sqrt" else math.sqrt(cq)
    spread = 1.0 if amp > 1.0 else max(1.0, spread)
    base = default_tolerance(case.dtype, C + cq + cv + N, 5.0 * amp)
    return Tolerance(
        base.rtol * spread,
        base.atol * spread,
        f"{base.reason}; K = C + Cq + Cv + N, times logit spread {spread:g}",
    )


SQRT, CONV = {"scaling": "sqrt"}, {"residual": "conv_bn"}
# the sizes of the conv_bn error base, all distinct and unlike the literal 4
BASE: dict[str, Any] = {"B": 2, "C": 16, "H": 5, "W": 3, "Cq": 6, "Cv": 10}
CASES = [
    case("random_f32"),
    case("random_f64", dtype="float64", C=24, H=6, W=7, Cq=3),
    case("sqrt_scaling_f32", C=32, Cq=16, H=7, W=6, options=SQRT),
    case("sqrt_scaling_f64", dtype="float64", C=32, Cq=16, H=4, W=9, options=SQRT),
    case("conv_bn_f32", **BASE, options=CONV),  # the error base
    case("conv_bn_sqrt_f64", dtype="float64", **BASE, options={**CONV, **SQRT}),
    case("danet_ratio_c_over_8", C=64, Cq=8, H=8, W=8),
    # 300 positions: past a 256-wide block of query rows or keys
    case("multi_block", C=8, Cq=2, H=1, W=300),
    edge("height_1", H=1, W=11),
    edge("width_1", H=11, W=1),
    edge("single_position", H=1, W=1),
    edge("c_prime_1", C=12, Cq=1),
    edge("large_activations", amp=100.0, C=12, H=5, W=6),
    edge("large_activations_f64", amp=100.0, C=12, H=5, W=6, dtype="float64"),
    edge("large_activations_conv_bn", amp=100.0, **BASE, options=CONV),
    edge("gamma_zero_identity", gamma=0.0),
    edge("gamma_negative_f64", gamma=-1.3, dtype="float64"),
    edge("no_bias", bias=False),
    edge("no_bias_conv_bn", bias=False, **BASE, options=CONV),
    edge("tied_logits", pattern="ties"),
    edge("nan_propagates", pattern="nan", dtype="float64"),
    # one empty size each (conv_bn, so Cv is free), the others as in BASE
    edge("empty_batch", **{**BASE, "B": 0}, options=CONV),
    edge("no_channels", **{**BASE, "C": 0}, options=CONV),
    edge("no_rows", **{**BASE, "H": 0}, options=CONV),
    edge("no_columns", **{**BASE, "W": 0}, options=CONV),
    edge("no_value_channels", **{**BASE, "Cv": 0}, options=CONV),
    edge("no_rows_gamma", H=0),
]
ERRORS = [
    error("zero_query_channels", ValueError, r"Cq=0; Cq cannot be empty", Cq=0),
    error("query_key_channels_differ", ValueError, r"wk has Cq=7", Ck=7),
    error("gamma_residual_needs_cv_eq_c", ValueError, r"wv must have C=16 rows", Cv=10),
    error("gamma_missing", ValueError, r"gamma is required", gamma=None),
]
# The spec's standard, B = 2, C = 64, 64x64 (4.8 GFLOP), takes seconds a call on one core
# here; the quick profile's standard is 32x32 (0.3 GFLOP) and the spec's size is in "full".
STD: dict[str, Any] = {"B": 2, "C": 64, "Cq": 8}
BENCH = {
    "smoke": [bench("bench_tiny", B=1, C=8, H=4, W=4, Cq=1)],
    "quick": [bench("bench_2x64x32x32", **STD, H=32, W=32)],
    "full": [
        bench("bench_spec_standard", **STD, H=64, W=64),
        bench("bench_large", B=2, C=512, Cq=64, H=128, W=128),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    ranges = {"B": (0, 2), "C": (0, 12), "H": (0, 5), "W": (0, 5), "Cq": (1, 6), "Cv": (0, 8)}
    params = st.fixed_dictionaries(
        {
            **{n: st.integers(lo, hi) for n, (lo, hi) in ranges.items()},
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "gamma": st.sampled_from([0.0, 0.7, -2.0]),
            "bias": st.booleans(),
        }
    )

    def build(p: dict[str, Any], o: dict[str, Any]) -> Case:
        if o.get("residual", "gamma") == "gamma":
            p = {**p, "Cv": p["C"]}
        return Case("fuzz", p, o, "fuzz")

    return st.builds(build, params, NonLocalOptions.strategy(optional=True))


SUITE = Suite(
    algorithm="non_local_position_attention",
    family="attention-and-layers",
    summary="Position attention over an image: Q, K, V by 1x1 convs, A = softmax over key "
    "positions of Qᵀ·K (HW x HW), out = V·Aᵀ, y = gamma·out + x (DANet) or BN(W_z·out) + x.",
    conventions=(
        "non_local_position_attention(x, wq, bq, wk, bk, wv, bv, gamma, wz, bn, opts). x "
        "(B, C, H, W); wq, wk (C', C) and wv (C_v, C) are the 1x1 conv weights, bq, bk (C',) "
        "and bv (C_v,) their biases or None; positions are flattened row-major (N = H·W). "
        "A[i, j] = softmax over j of q_i·k_j (times 1/sqrt(C') when scaling='sqrt'; DANet and "
        "the non-local block use 'none'), out[:, i] = sum_j v[:, j]·A[i, j]. residual='gamma' "
        "(DANet): y = gamma·out + x, needs C_v = C, gamma a real number (0 at DANet's init), "
        "wz and bn None. residual='conv_bn' (non-local block): y = BN(wz·out) + x, wz (C, C_v) "
        "a bias-free 1x1 conv, bn (4, C) the eval-mode BatchNorm's weight, bias, running mean "
        "and running variance, eps 1e-5; gamma None. The softmax subtracts the row max, so "
        "huge activations stay finite. NaN anywhere in an image spreads over its output. "
        "y has x's shape and dtype. ValueError: wrong ndim, C' = 0, wq and wk with different "
        "C', shapes not matching C or C_v, the residual's inputs missing or extra, C_v != C "
        "for 'gamma'; TypeError: non-float arrays, mixed dtypes, a non-number gamma."
    ),
    args=ARGS,
    options=NonLocalOptions,
    make_inputs=make_inputs,
    oracle=non_local_position_attention,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 5, "dtype": "float32", "B": 2, "C": 16, "H": 5, "W": 4, "Cq": 4},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_2x64x32x32",
    error_base="conv_bn_f32",
    multi_block={"W": 300},
    fuzz=fuzz_strategy,
    divergent_inputs={
        "no_channels": lambda inputs: inputs["x"].shape[1] == 0,
        "no_rows": lambda inputs: inputs["x"].shape[2] * inputs["x"].shape[3] == 0,
        "no_columns": lambda inputs: inputs["x"].shape[2] * inputs["x"].shape[3] == 0,
        "no_rows_gamma": lambda inputs: inputs["x"].shape[2] * inputs["x"].shape[3] == 0,
        "no_value_channels": lambda inputs: inputs["wv"].shape[0] == 0,
    },
    reference="torch: F.conv2d 1x1 projections, F.scaled_dot_product_attention over the "
    "flattened positions (scale 1 unscaled), F.batch_norm in eval mode for conv_bn",
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
)

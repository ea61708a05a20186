"""Suite for conv_bn_fusion: fold an eval-mode BatchNorm into the preceding conv's weights."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Rule, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Outputs, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class FusionOptions(Options):
    transposed: bool = option(
        False,
        True,
        meaning="False: weight (O, C/g, *k), output channels on axis 0 (ConvNd, Linear); "
        "True: a ConvTransposeNd weight (C_in, O/g, *k), output channel g·(O/g) + j on "
        "axis 1 within group g",
    )
    compute: str = option(
        "widened",
        "input",
        meaning="widened: float16 parameters fused in float32, the result cast back (fuse "
        "in float32/64, then cast); input: every operation in the parameters' dtype, in "
        "torch's fuse_conv_bn_weights order (rsqrt(var + eps), γ·rsqrt, w·that; ((b - μ)·"
        "rsqrt)·γ + β). The same for float32/64",
    )


def _negative_var(x: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    out.reshape(-1)[0] = -1.0
    return out


NOT_NEGATIVE = Rule("running_var >= 0", lambda xp, v: v < 0, _negative_var)

# The BN's running statistics and affine parameters have one entry per output channel O; a
# BN without running statistics (track_running_stats=False) normalises with batch
# statistics, which is training-mode behaviour: it cannot be folded.
ARGS = Args(
    Arg("weight", ("A", "*K"), star=(1, 4)),
    Arg("bias", ("O",), optional=True),
    Arg("running_mean", ("O",), optional=True),
    Arg("running_var", ("O",), optional=True, rules=(NOT_NEGATIVE,)),
    Arg("gamma", ("O",), optional=True),
    Arg("beta", ("O",), optional=True),
    Scalar("eps", low=0.0),
    Scalar("groups", "int", low=1),
    nonempty=("O",),
    same_dtype=("weight", "bias", "running_mean", "running_var", "gamma", "beta"),
)


def check(weight: Any, bias: Any, running_mean: Any, running_var: Any, gamma: Any, beta: Any,
          eps: float, groups: int, opts: FusionOptions) -> Any:  # fmt: skip
    """The one-line input check of every implementation: shapes, dtypes, running statistics
    present (eval mode), BN channels = the conv's output channels. Returns the dtype."""
    dtype = ARGS.check(weight, bias, running_mean, running_var, gamma, beta, eps, groups)
    if running_mean is None or running_var is None:
        raise ValueError(
            "fusion needs the BN's running_mean and running_var (eval mode); without them BN "
            "normalises with batch statistics (training mode)"
        )
    a, o = int(weight.shape[0]), int(running_mean.shape[0])
    if opts.transposed:
        if a % groups:
            raise ValueError(f"a transposed weight's C_in={a} is not divisible by groups={groups}")
        out = int(weight.shape[1]) * groups
    else:
        if a % groups:
            raise ValueError(f"the weight's O={a} is not divisible by groups={groups}")
        out = a
    if o != out:
        raise ValueError(f"the BN has {o} channels but the conv has {out} output channels")
    return dtype


def _along_out(scale: Any, shape: tuple[int, ...], groups: int, opts: FusionOptions) -> Any:
    """The per-output-channel scale laid out to broadcast against a weight of ``shape``."""
    if not opts.transposed:
        return scale.reshape(-1, *([1] * (len(shape) - 1)))
    a, b = shape[0], shape[1]  # (C_in, O/g, *k): row r is in group r // (C_in/g)
    per_row = scale.reshape(groups, 1, b).repeat(a // groups, axis=1).reshape(a, b)
    return per_row.reshape(a, b, *([1] * (len(shape) - 2)))


def conv_bn_fusion(weight: Any, bias: Any, running_mean: Any, running_var: Any, gamma: Any,
                   beta: Any, eps: float, groups: int, opts: FusionOptions) -> Any:  # fmt: skip
    """Oracle: float64. s = γ/sqrt(σ² + eps) per output channel (γ = 1, β = 0 without
    affine, b = 0 without conv bias); W' = W·s along the output-channel axis; b' = (b -
    μ)·s + β; both cast to the parameters' dtype. (The two compute conventions differ
    only in float16 rounding, which the comparator's tolerance tells apart.)"""
    dtype = check(weight, bias, running_mean, running_var, gamma, beta, eps, groups, opts)
    w = np.asarray(weight, np.float64)
    m, v = np.asarray(running_mean, np.float64), np.asarray(running_var, np.float64)
    o = m.shape[0]
    g = np.ones(o) if gamma is None else np.asarray(gamma, np.float64)
    b0 = np.zeros(o) if bias is None else np.asarray(bias, np.float64)
    be = np.zeros(o) if beta is None else np.asarray(beta, np.float64)
    with np.errstate(divide="ignore"):
        s = g / np.sqrt(v + eps)  # var = eps = 0 gives inf, as torch's rsqrt(0)
    fused_w = w * _along_out(s, w.shape, groups, opts)
    fused_b = (b0 - m) * s + be
    return fused_w.astype(dtype), fused_b.astype(dtype)


def make_inputs(case: Case) -> Inputs:
    """weight ~ N(0, 1) of shape (A, *K); O = A, or K[0]·groups when transposed; conv bias ~
    0.3·N(0, 1); running mean in [-1, 1], running var in [0.1, 2] (``pattern="zero_var"``:
    a third of them exactly 0), γ in [0.5, 1.5], β in [-0.5, 0.5]; ``bn_channels``
    overrides O (an error case); ``stats=False`` drops the running statistics."""
    p, rng = case.params, np.random.default_rng(case.seed)
    a, k, groups = int(p["A"]), [int(v) for v in p["K"]], int(p.get("groups", 1))
    o = k[0] * groups if case.options.get("transposed", False) else a
    o = int(p.get("bn_channels", o))
    weight = rng.standard_normal((a, *k))
    bias = 0.3 * rng.standard_normal(o)
    mean, var = rng.uniform(-1, 1, o), rng.uniform(0.1, 2.0, o)
    if p.get("pattern") == "zero_var":
        var[: max(o // 3, 1)] = 0.0
    gamma, beta = rng.uniform(0.5, 1.5, o), rng.uniform(-0.5, 0.5, o)
    dtype, stats, affine = np.dtype(case.dtype), p.get("stats", True), p.get("affine", True)
    return {
        "weight": weight.astype(dtype),
        "bias": bias.astype(dtype) if p.get("bias", True) else None,
        "running_mean": mean.astype(dtype) if stats else None,
        "running_var": var.astype(dtype) if stats else None,
        "gamma": gamma.astype(dtype) if affine else None,
        "beta": beta.astype(dtype) if affine else None,
        "eps": float(p.get("eps", 1e-5)),
        "groups": groups,
    }


def cost(case: Case) -> Cost:
    """flops = numel(W) (the scale) + 6·O (rsqrt, γ·, the bias's subtract, multiply, add);
    bytes = b·(2·numel(W) + 8·O): W read and written, six vectors read, two written."""
    p = case.params
    numel = int(p["A"]) * math.prod(int(v) for v in p["K"])
    o = int(p["A"])
    b = np.dtype(case.dtype).itemsize
    return Cost(numel + 6.0 * o, b * (2.0 * numel + 8.0 * o), numel, "weights")


# float16, compute='widened': within one float16 ulp of the exact value (2^-10 relative at
# the bottom of a binade): a float32 fusion rounded once is within half an ulp, float16
# arithmetic (rsqrt, γ·, w· each rounded) is not, on some weights (a pitfall test shows it).
# compute='input' allows those roundings: the weight's three (4 half-ulps, 2^-9 relative);
# the bias's (b - μ) and its products and sum lose 2^-11 of |b - μ|·s + |β| <= (0.3·4 + 1)
# ·1.5/sqrt(0.1) + 0.5 ~ 11 each, five times over: atol 5·2^-11·11 ~ 0.03.
F16_RTOL, F16_INPUT_RTOL, F16_INPUT_ATOL = 2.0**-10, 2.0**-9, 0.03


def tolerance(case: Case) -> Tolerance:
    """Per dtype; float32/64: a handful of roundings (rsqrt, two products, the bias's sum),
    the default with K = 4; atol near zero: the fused values scale the unit inputs by s =
    γ/sqrt(σ² + eps), up to 1.5/sqrt(eps) where the variance is 0: atol x that bound."""
    eps = float(case.params.get("eps", 1e-5))
    zero_var = case.params.get("pattern") == "zero_var"
    scale = 1.5 / math.sqrt(eps) if zero_var and eps > 0 else 4.0
    if case.dtype == "float16":
        if case.options.get("compute", "widened") == "input":
            return Tolerance(F16_INPUT_RTOL, F16_INPUT_ATOL, "float16 arithmetic: 4 half-ulps")
        return Tolerance(F16_RTOL, 2.0**-24 * scale, "float16: one ulp (2^-10 relative)")
    base = default_tolerance(case.dtype, 4, scale)
    return Tolerance(base.rtol, base.atol, base.reason + " (K = 4 roundings)")


COMPARE = Outputs({"weight": Close(override=tolerance), "bias": Close(override=tolerance)})
T, INPUT = {"transposed": True}, {"compute": "input"}
K3: list[int] = [5, 3, 4]
CASES = [
    # sizes: A 6, K (5, 3, 4) unless said
    case("conv2d_f32"),
    case("conv2d_f64", dtype="float64"),
    # the error base: transposed, groups 2, every named size distinct (A 6, O 10)
    case("transposed_grouped_f32", groups=2, options=T),
    case("transposed_f64", dtype="float64", options=T),
    case("transposed_grouped_3_f64", A=9, K=[4, 3, 3], groups=3, dtype="float64", options=T),
    case("depthwise_f64", A=12, K=[1, 3, 3], groups=12, dtype="float64"),
    case("linear_f32", A=20, K=[7]),
    case("conv1d_f64", dtype="float64", K=[4, 5]),
    case("conv3d_f32", K=[3, 2, 3, 2]),
    case("input_order_f32", options=INPUT),
    case("f16_widened", dtype="float16", A=64, K=[32, 3, 3]),
    case("f16_input_order", dtype="float16", A=64, K=[32, 3, 3], options=INPUT),
    case("f16_transposed_input_order", dtype="float16", K=[8, 3, 3], options={**T, **INPUT}),
    # 264 output channels: past a 256-wide block of them
    case("multi_block", A=264, K=[3, 3, 3]),
    edge("zero_var_tiny_eps_f64", dtype="float64", pattern="zero_var", eps=1e-12),
    edge("zero_var_tiny_eps_f32", pattern="zero_var", eps=1e-10),
    edge("zero_var_tiny_eps_f16", dtype="float16", pattern="zero_var", eps=1e-8, A=24),
    edge("zero_var_zero_eps_f64", dtype="float64", pattern="zero_var", eps=0.0),
    edge("no_affine_f64", dtype="float64", affine=False),
    edge("no_conv_bias_f64", dtype="float64", bias=False),
    edge("no_bias_no_affine", bias=False, affine=False, options=T),
    edge("one_by_one_kernel", K=[5, 1, 1]),
    # one empty size each, the others nonzero and distinct: C_in = 0 of a transposed conv (O 10)
    edge("transposed_no_inputs", A=0, groups=2, options=T),
]
ERRORS = [
    error("no_running_stats", ValueError, r"running_mean and running_var \(eval", stats=False),
    error(
        "bn_channels_mismatch", ValueError, r"BN has 7 channels but the conv has 6", bn_channels=7
    ),
    error("groups_not_dividing", ValueError, r"not divisible by groups=4", groups=4, options=T),
]
BENCH = {
    "smoke": [bench("bench_small", A=16, K=[16, 3, 3])],
    # the specification's 64 -> 64 3x3 conv (37k weights: microseconds, overhead-bound)
    "quick": [bench("bench_resnet_conv", A=64, K=[64, 3, 3])],
    "full": [bench("bench_wide_conv", A=512, K=[512, 3, 3])],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(p: dict[str, Any], o: dict[str, Any]) -> Case:
        g = p["groups"]
        return Case("fuzz", {**p, "A": p["A"] * g}, o, "fuzz")

    params = st.fixed_dictionaries(
        {
            "A": st.integers(1, 5),
            "K": st.lists(st.integers(1, 4), min_size=1, max_size=4),
            "groups": st.integers(1, 3),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "bias": st.booleans(),
            "affine": st.booleans(),
            "pattern": st.sampled_from(["random", "zero_var"]),
        }
    )
    return st.builds(build, params, FusionOptions.strategy())


SUITE = Suite(
    algorithm="conv_bn_fusion",
    family="attention-and-layers",
    summary="Fold an eval-mode BatchNorm into its conv: s = γ/sqrt(σ² + eps), W' = W·s along "
    "the output channels, b' = (b - μ)·s + β; returns (W', b').",
    conventions=(
        "conv_bn_fusion(weight, bias, running_mean, running_var, gamma, beta, eps, groups, "
        "opts) -> (fused_weight, fused_bias). weight (A, *K): a ConvNd weight (O, C/g, *k) or "
        "a Linear weight (O, I), output channels on axis 0; transposed=True: a "
        "ConvTransposeNd weight (C_in, O/g, *k), output channel g·(O/g) + j on axis 1 of the "
        "rows of group g (groups matter only there). bias, gamma, beta may be None (conv "
        "without bias: 0; BN affine=False: γ = 1, β = 0); running_mean/var are required: "
        "without them BN uses batch statistics (training mode) and cannot be folded. "
        "running_var = 0 with eps = 0 gives inf scales (torch's rsqrt(0)). fused_bias is "
        "always returned, in the parameters' dtype. compute=widened (default) fuses float16 "
        "parameters in float32 and casts; compute=input replays torch's fuse_conv_bn_weights "
        "in the parameters' dtype. ValueError: running statistics missing, BN channels != "
        "the conv's output channels, groups not dividing the weight's first axis, negative "
        "running_var, O = 0, eps < 0."
    ),
    args=ARGS,
    options=FusionOptions,
    make_inputs=make_inputs,
    oracle=conv_bn_fusion,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 13, "dtype": "float32", "A": 6, "K": K3},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_resnet_conv",
    error_base="transposed_grouped_f32",
    multi_block={"A": 264},
    # a grouped ConvTranspose weight (O = K[0]·groups), which torch's fusion cannot handle
    divergent_inputs={
        "transposed_grouped_f32": lambda inputs: (
            inputs["groups"] > 1
            and inputs["running_mean"] is not None
            and inputs["weight"].ndim >= 2
            and inputs["weight"].shape[1] * inputs["groups"] == inputs["running_mean"].shape[0]
        )
    },
    fuzz=fuzz_strategy,
    outputs=("weight", "bias"),
    reference="torch.nn.utils.fusion.fuse_conv_bn_weights (transpose= for ConvTranspose; "
    "float16 widened to float32 and cast back for compute='widened')",
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
)

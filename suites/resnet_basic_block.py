"""Suite for resnet_basic_block: the ResNet-18/34 basic block in eval mode (running stats)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

#: BatchNorm2d's default eps; the block is compared in eval mode (running statistics).
EPS = 1e-5


@dataclass(frozen=True)
class BlockOptions(Options):
    stride: int = option(
        1,
        2,
        meaning="the stride of the first 3x3 convolution (and of the shortcut)",
        accepts=lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
    )
    shortcut: str = option(
        "projection",
        "zero_pad",
        meaning="projection (option B, torchvision): a 1x1 conv with the block's stride + BN "
        "when w_proj/bn_proj are given, else the identity; zero_pad (option A, the paper's "
        "CIFAR nets): x[:, :, ::s, ::s] with (O - C)//2 zero channels before and the rest "
        "after, no parameters",
    )


# bn1, bn2, bn_proj stack a BatchNorm2d's (weight, bias, running_mean, running_var) as rows.
ARGS = Args(
    Arg("x", ("N", "C", "H", "W")),
    Arg("w1", ("O", "C", 3, 3)),
    Arg("bn1", (4, "O")),
    Arg("w2", ("O", "O", 3, 3)),
    Arg("bn2", (4, "O")),
    Arg("w_proj", ("O", "C", 1, 1), optional=True),
    Arg("bn_proj", (4, "O"), optional=True),
    nonempty=("C", "H", "W"),
    same_dtype=("x", "w1", "bn1", "w2", "bn2", "w_proj", "bn_proj"),
)


def check(x: Any, w1: Any, bn1: Any, w2: Any, bn2: Any, w_proj: Any, bn_proj: Any,
          opts: BlockOptions) -> Any:  # fmt: skip
    """The one-line input check of every implementation: shapes, dtypes, and a shortcut that
    can be added to the main path (the addition must fail loudly, never broadcast)."""
    dtype = ARGS.check(x, w1, bn1, w2, bn2, w_proj, bn_proj)
    c, o, s = int(x.shape[1]), int(w1.shape[0]), opts.stride
    if (w_proj is None) != (bn_proj is None):
        raise ValueError("w_proj and bn_proj come together (a 1x1 conv and its batch norm)")
    if opts.shortcut == "zero_pad":
        if w_proj is not None:
            raise ValueError("shortcut='zero_pad' takes no w_proj/bn_proj")
        if o < c:
            raise ValueError(f"shortcut='zero_pad' needs O >= C, got C={c}, O={o}")
    elif w_proj is None and (c != o or s != 1):
        raise ValueError(
            f"the identity shortcut needs C == O and stride 1, got C={c}, O={o}, stride={s}: "
            "pass w_proj and bn_proj"
        )
    return dtype


def out_size(size: int, stride: int) -> int:
    """3x3 kernel, padding 1: floor((size - 1)/stride) + 1."""
    return (int(size) - 1) // stride + 1


def _conv(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    from suites.conv2d_direct import ConvOptions, conv2d_direct

    opts = ConvOptions(stride=(stride, stride), padding=(pad,) * 4)
    out: np.ndarray = conv2d_direct(x, w, None, opts)
    return out


def _bn(x: np.ndarray, bn: np.ndarray) -> np.ndarray:
    from suites.batchnorm_forward_running_stats import (
        BatchNormOptions,
        batchnorm_forward_running_stats,
    )

    opts = BatchNormOptions(training=False, eps=EPS)
    y, _, _ = batchnorm_forward_running_stats(x, bn[0], bn[1], bn[2], bn[3], 0, opts)
    out: np.ndarray = y
    return out


def zero_pad_shortcut(x: np.ndarray, o: int, stride: int) -> np.ndarray:
    """Option A: subsample by the stride, zero channels around the C input ones."""
    sub = x[:, :, ::stride, ::stride]
    before = (o - x.shape[1]) // 2
    return np.pad(sub, ((0, 0), (before, o - x.shape[1] - before), (0, 0), (0, 0)))


def resnet_basic_block(x: Any, w1: Any, bn1: Any, w2: Any, bn2: Any, w_proj: Any, bn_proj: Any,
                       opts: BlockOptions) -> Any:  # fmt: skip
    """Oracle: float64, from the conv2d_direct and batch-norm (eval) oracles: ReLU(BN1(conv1
    (x, stride s, pad 1))), then BN2(conv2(·, pad 1)), plus the shortcut, then ReLU."""
    dtype = check(x, w1, bn1, w2, bn2, w_proj, bn_proj, opts)
    f64 = [None if a is None else np.asarray(a, dtype=np.float64)
           for a in (x, w1, bn1, w2, bn2, w_proj, bn_proj)]  # fmt: skip
    x64, k1, b1, k2, b2, kp, bp = f64
    assert x64 is not None and k1 is not None and b1 is not None
    assert k2 is not None and b2 is not None
    s, o = opts.stride, k1.shape[0]
    if o == 0:  # no channels: conv2 would have an empty input side, which conv2d refuses
        return np.zeros((x64.shape[0], 0, out_size(x64.shape[2], s), out_size(x64.shape[3], s)),
                        dtype=dtype)  # fmt: skip
    main = np.maximum(_bn(_conv(x64, k1, s, 1), b1), 0.0)
    main = _bn(_conv(main, k2, 1, 1), b2)
    if kp is not None and bp is not None:
        short = _bn(_conv(x64, kp, s, 0), bp)
    elif opts.shortcut == "zero_pad":
        short = zero_pad_shortcut(x64, o, s)
    else:
        short = x64
    return np.maximum(main + short, 0.0).astype(dtype)


def _bn_params(rng: np.random.Generator, o: int) -> np.ndarray:
    """gamma in [0.5, 1.5], beta in [-0.5, 0.5], running mean in [-0.3, 0.3], var in
    [VAR_LO, 1.5]: the conv outputs are ~N(0, 1), so these are realistic statistics."""
    return np.stack([rng.uniform(0.5, 1.5, o), rng.uniform(-0.5, 0.5, o),
                     rng.uniform(-0.3, 0.3, o), rng.uniform(VAR_LO, 1.5, o)])  # fmt: skip


VAR_LO = 0.5


def make_inputs(case: Case) -> Inputs:
    """x ~ N(0, 1); conv weights ~ N(0, 1/fan_in) (unit-variance outputs); ``proj``: the
    projection parameters are given; ``pattern="nan"`` puts a NaN into x."""
    p, rng = case.params, np.random.default_rng(case.seed)
    n, c, o, h, w = (int(p[k]) for k in ("N", "C", "O", "H", "W"))
    x = rng.standard_normal((n, c, h, w))
    if p.get("pattern") == "nan" and x.size:
        x[0, 0, 0, 0] = np.nan
    w1 = rng.standard_normal((o, c, 3, 3)) / math.sqrt(9 * c)
    w2 = rng.standard_normal((o, o, 3, 3)) / math.sqrt(max(9 * o, 1))
    bn1, bn2 = _bn_params(rng, o), _bn_params(rng, o)
    wp = rng.standard_normal((o, c, 1, 1)) / math.sqrt(c)
    bp = _bn_params(rng, o)
    dtype, proj = np.dtype(case.dtype), p.get("proj", False)
    return {
        "x": x.astype(dtype),
        "w1": w1.astype(dtype),
        "bn1": bn1.astype(dtype),
        "w2": w2.astype(dtype),
        "bn2": bn2.astype(dtype),
        "w_proj": wp.astype(dtype) if proj else None,
        "bn_proj": bp.astype(dtype) if proj and not p.get("half_proj") else None,
    }


def cost(case: Case) -> Cost:
    """flops = 2·N·O·H'·W'·9·(C + O) (the two convolutions) + 2·N·O·H'·W'·C with the
    projection + ~6 per output element (two BN affines, two ReLUs, the add); bytes = b·
    (x + weights + output)."""
    p, s = case.params, int(case.options.get("stride", 1))
    n, c, o, h, w = (int(p[k]) for k in ("N", "C", "O", "H", "W"))
    outs = n * o * out_size(h, s) * out_size(w, s)
    proj = bool(p.get("proj", False))
    flops = 2.0 * outs * 9 * (c + o) + 2.0 * outs * c * proj + 6.0 * outs
    b = np.dtype(case.dtype).itemsize
    params = o * c * 9 + o * o * 9 + 8 * o + proj * (o * c + 4 * o)
    return Cost(flops, b * (n * c * h * w + params + outs), outs, "outputs")


def tolerance(case: Case) -> Tolerance:
    """The chain: conv1 (K = 9C), its BN scale γ/sqrt(var + eps) <= 1.5/sqrt(VAR_LO) ~ 2.1,
    conv2 (K = 9O, unit gain), BN again, the add (plus a C-long projection). K = 9C + 9O + C
    + 2 bounds the accumulations; intermediate magnitudes reach ~2.1² ~ 4.5 times the unit
    inputs: atol = rtol x 5."""
    p = case.params
    c, o = int(p["C"]), int(p["O"])
    base = default_tolerance(case.dtype, 9 * c + 9 * o + c + 2, 5.0)
    return Tolerance(base.rtol, base.atol, base.reason + " (K = 9C + 9O + C + 2)")


S2, PAD = {"stride": 2}, {"shortcut": "zero_pad"}
# Sizes: N 2, C 5, O 8, H 9, W 11 unless said; C = O = 6 where the identity shortcut applies.
ID: dict[str, Any] = {"C": 6, "O": 6}
CASES = [
    case("identity_f32", **ID),
    case("identity_f64", **ID, dtype="float64"),
    # the error base: projection parameters present, every size distinct and >= 2
    case("projection_stride2_f32", proj=True, options=S2),
    case("projection_stride2_f64", proj=True, dtype="float64", options=S2),
    case("projection_stride2_same_width", **ID, proj=True, options=S2),
    case("projection_width_only_f64", proj=True, dtype="float64"),
    case("projection_where_identity_fits", **ID, proj=True),
    case("zero_pad_stride2_f32", options={**S2, **PAD}),
    case("zero_pad_stride2_f64", dtype="float64", options={**S2, **PAD}),
    case("zero_pad_width_only", options=PAD),
    case("zero_pad_identity_f64", **ID, dtype="float64", options=PAD),
    case("odd_sizes_stride2", H=15, W=13, proj=True, options=S2),
    # 264 output channels: past a 256-wide block of them
    case("multi_block", N=1, C=24, O=264, H=5, W=6, proj=True, options=S2),
    edge("batch_1", N=1, **ID),
    edge("spatial_1x1", H=1, W=1, proj=True, options=S2),
    edge("nan_propagates", **ID, pattern="nan", dtype="float64"),
    # one empty size each, the others nonzero, distinct and unlike the literals 1, 3, 4
    edge("empty_batch", N=0, proj=True, options=S2),
    edge("no_out_channels", O=0, proj=True, options=S2),
]
ERRORS = [
    error("channel_mismatch_without_projection", ValueError, r"identity shortcut needs C == O"),
    error("stride2_without_projection", ValueError, r"stride=2: pass w_proj", **ID, options=S2),
    error("zero_pad_narrowing", ValueError, r"needs O >= C", C=8, O=5, options=PAD),
    error("projection_half_given", ValueError, r"come together", proj=True, half_proj=True),
    error("zero_pad_with_projection", ValueError, r"takes no w_proj", proj=True, options=PAD),
]
INVALID_OPTIONS: list[dict[str, Any]] = [{"stride": 0}, {"stride": 1.0}, {"shortcut": "none"}]
# The spec's standard block, 8 x 64 x 56 x 56 (3.7 GFLOP), is about two seconds a call on
# one core: the quick standard is one image of it (0.46 GFLOP); the spec's sizes in "full".
STD: dict[str, Any] = {"C": 64, "O": 64, "H": 56, "W": 56}
BENCH = {
    "smoke": [bench("bench_small", N=1, C=16, O=16, H=16, W=16)],
    "quick": [bench("bench_one_image", N=1, **STD)],
    "full": [
        bench("bench_spec_standard", N=8, **STD),
        bench("bench_spec_stride2", N=8, **{**STD, "O": 128}, proj=True, options=S2),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(p: dict[str, Any], o: dict[str, Any]) -> Case:
        same = o.get("stride", 1) == 1 and p["C"] == p["O"]
        if o.get("shortcut") == "zero_pad":
            p = {**p, "O": max(p["O"], p["C"]), "proj": False}
        elif not same:
            p = {**p, "proj": True}
        return Case("fuzz", p, o, "fuzz")

    params = st.fixed_dictionaries(
        {
            "N": st.integers(0, 2),
            "C": st.integers(1, 5),
            "O": st.integers(0, 6),
            "H": st.integers(1, 8),
            "W": st.integers(1, 8),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "proj": st.booleans(),
        }
    )
    return st.builds(build, params, BlockOptions.strategy())


SUITE = Suite(
    algorithm="resnet_basic_block",
    family="attention-and-layers",
    summary="The ResNet basic block in eval mode: y = ReLU(BN2(conv3x3(ReLU(BN1(conv3x3_s(x)))))"
    " + shortcut(x)); x (N, C, H, W) -> (N, O, H', W'), H' = floor((H - 1)/s) + 1.",
    conventions=(
        "resnet_basic_block(x, w1, bn1, w2, bn2, w_proj, bn_proj, opts). Convolutions are "
        "cross-correlations without bias (torch), 3x3 with padding 1, the first with stride "
        "s; w1 (O, C, 3, 3), w2 (O, O, 3, 3), w_proj (O, C, 1, 1) or None. bn1, bn2, bn_proj "
        "(4, O) stack BatchNorm2d's weight, bias, running_mean, running_var, applied in eval "
        "mode with eps = 1e-5: γ·(t - μ)/sqrt(σ² + eps) + β. Expansion 1. shortcut="
        "projection (option B): w_proj/bn_proj given -> BN(conv1x1 stride s), absent -> the "
        "identity, which needs C == O and s = 1. shortcut=zero_pad (option A): x[:, :, ::s, "
        "::s] with (O - C)//2 zero channels before the C input ones and the rest after. NaN "
        "in x spreads through the convolutions' windows. Output dtype: the inputs' common "
        "dtype. ValueError: a shortcut that cannot be added (C != O or s != 1 without "
        "projection), O < C with zero_pad, projection weights with zero_pad, only one of "
        "w_proj/bn_proj, C, H or W = 0, shapes not agreeing; stride < 1 is refused by the "
        "options record."
    ),
    args=ARGS,
    options=BlockOptions,
    make_inputs=make_inputs,
    oracle=resnet_basic_block,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 11, "dtype": "float32", "N": 2, "C": 5, "O": 8, "H": 9, "W": 11},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_one_image",
    error_base="projection_stride2_f32",
    invalid_options=INVALID_OPTIONS,
    multi_block={"O": 264},
    divergent_inputs={"no_out_channels": lambda inputs: inputs["w1"].shape[0] == 0},
    fuzz=fuzz_strategy,
    reference="a torch nn.Module basic block (nn.Conv2d, nn.BatchNorm2d, nn.ReLU; torchvision's "
    "BasicBlock layout: conv1, bn1, conv2, bn2, downsample = Sequential(conv1x1, BN)) in "
    "eval mode, the suite's arrays loaded with load_state_dict(assign=True)",
    backends=("numpy", "torch_cpu", "torch_cuda", "library"),
)

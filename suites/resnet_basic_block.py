"""Suite for resnet_basic_block: the ResNet-18/34 basic block in eval mode (running stats)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, ArrayList
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

# ---- resnet_basic_block.network: ResNet-18/34 from the block --------------------------------

#: Blocks per stage (torchvision's ``layers``).
STAGES: dict[int, tuple[int, ...]] = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}
BN_KEYS = ("weight", "bias", "running_mean", "running_var")


@dataclass(frozen=True)
class NetOptions(Options):
    depth: int = option(
        18, 34, meaning="ResNet-18 ([2, 2, 2, 2] blocks) or ResNet-34 ([3, 4, 6, 3])"
    )
    shortcut: str = option(
        "projection",
        "zero_pad",
        meaning="where a stage changes width and stride: projection (option B, torchvision: "
        "layerK.0.downsample = 1x1 conv stride 2 + BN) or zero_pad (option A: x[:, :, ::2, "
        "::2] with zero channels around the input ones, no parameters)",
    )


# params: every conv and BN tensor of torchvision's resnet18/34 state_dict, in its order,
# without the num_batches_tracked counters and without fc (fc_w, fc_b come apart).
NET_ARGS = Args(
    Arg("x", ("N", "C", "H", "W")),
    ArrayList("params"),
    Arg("fc_w", ("K", "F")),
    Arg("fc_b", ("K",)),
    nonempty=("C", "H", "W", "F"),
    same_dtype=("x", "fc_w", "fc_b"),
)


@dataclass(frozen=True)
class Block:
    """One basic block of the network: its state_dict prefix, widths, stride, projection."""

    prefix: str
    c: int
    o: int
    stride: int
    proj: bool


def network_blocks(depth: int, shortcut: str, width: int) -> list[Block]:
    """Stage k (0-based) has width·2^k channels; its first block has stride 2 for k > 0.
    Option B projects where the stride or the width changes (torchvision's rule)."""
    out, c = [], width
    for k, blocks in enumerate(STAGES[depth]):
        o = width * 2**k
        for j in range(blocks):
            s = 2 if k and j == 0 else 1
            proj = shortcut == "projection" and (s != 1 or c != o)
            out.append(Block(f"layer{k + 1}.{j}", c, o, s, proj))
            c = o
    return out


def network_layout(
    depth: int, shortcut: str, width: int, c_in: int
) -> list[tuple[str, tuple[int, ...]]]:
    """(state_dict key, shape) of every entry of ``params``, in torchvision's order."""

    def bn(prefix: str, o: int) -> list[tuple[str, tuple[int, ...]]]:
        return [(f"{prefix}.{k}", (o,)) for k in BN_KEYS]

    out = [("conv1.weight", (width, c_in, 7, 7)), *bn("bn1", width)]
    for b in network_blocks(depth, shortcut, width):
        out += [(f"{b.prefix}.conv1.weight", (b.o, b.c, 3, 3)), *bn(f"{b.prefix}.bn1", b.o)]
        out += [(f"{b.prefix}.conv2.weight", (b.o, b.o, 3, 3)), *bn(f"{b.prefix}.bn2", b.o)]
        if b.proj:
            out += [(f"{b.prefix}.downsample.0.weight", (b.o, b.c, 1, 1)),
                    *bn(f"{b.prefix}.downsample.1", b.o)]  # fmt: skip
    return out


def network_check(x: Any, params: Any, fc_w: Any, fc_b: Any, opts: NetOptions) -> Any:
    """The input check of every network implementation: the arguments, one dtype for all,
    and ``params`` laid out as the options' ResNet of width conv1.weight.shape[0]."""
    dtype = NET_ARGS.check(x, params, fc_w, fc_b)
    dtypes = {str(a.dtype) for a in (x, *params)}
    if len(dtypes) > 1:
        raise TypeError(f"x and params must share one dtype, got {sorted(dtypes)}")
    if not params or len(params[0].shape) != 4:
        raise ValueError("params must start with conv1.weight (width, C, 7, 7)")
    width, depth = int(params[0].shape[0]), opts.depth
    c_in = int(x.shape[1])
    want = network_layout(depth, opts.shortcut, width, c_in)
    got = [tuple(int(d) for d in p.shape) for p in params]
    if got != [shape for _, shape in want]:
        other = "zero_pad" if opts.shortcut == "projection" else "projection"
        if got == [shape for _, shape in network_layout(depth, other, width, c_in)]:
            if opts.shortcut == "projection":
                raise ValueError(
                    f"layer2.0 goes from {width} to {2 * width} channels with stride 2 but "
                    "params hold no layer2.0.downsample: the identity shortcut needs C == O "
                    "and stride 1 (pass the projection, or shortcut='zero_pad')"
                )
            raise ValueError("shortcut='zero_pad' takes no downsample parameters")
        i = next((i for i, (g, (_, s)) in enumerate(zip(got, want, strict=False)) if g != s),
                 min(len(got), len(want)))  # fmt: skip
        where = (f"{want[i][0]}: expected {want[i][1]}, got {got[i]}"
                 if i < min(len(got), len(want)) else "their number differs")  # fmt: skip
        raise ValueError(
            f"params must be ResNet-{depth}'s {len(want)} conv/BN arrays in torchvision's "
            f"state_dict order (no num_batches_tracked, no fc), got {len(got)}; {where}"
        )
    if int(fc_w.shape[1]) != 8 * width:
        raise ValueError(
            f"fc_w has F={int(fc_w.shape[1])}, but a ResNet of width {width} ends with "
            f"{8 * width} channels"
        )
    return dtype


def max_pool_3x3_s2(x: np.ndarray) -> np.ndarray:
    """3x3 max-pool, stride 2, padding 1 (padding never wins; NaN spreads)."""
    n, c, h, w = x.shape
    oh, ow = out_size(h, 2), out_size(w, 2)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    out = np.full((n, c, oh, ow), -np.inf)
    for i in range(3):
        for j in range(3):
            win = xp[:, :, i : i + 2 * (oh - 1) + 1 : 2, j : j + 2 * (ow - 1) + 1 : 2]
            out = np.maximum(out, win)
    return out


def resnet_network(x: Any, params: Any, fc_w: Any, fc_b: Any, opts: NetOptions) -> Any:
    """Oracle: float64. Stem ReLU(BN(conv7x7(x, stride 2, pad 3))), 3x3/2 max-pool (pad 1),
    the blocks from the block oracle, the mean over H and W, then fc_w·v + fc_b."""
    dtype = network_check(x, params, fc_w, fc_b, opts)
    width = int(params[0].shape[0])
    keys = [k for k, _ in network_layout(opts.depth, opts.shortcut, width, int(x.shape[1]))]
    p = {k: np.asarray(a, dtype=np.float64) for k, a in zip(keys, params, strict=True)}

    def bn(prefix: str) -> np.ndarray:
        return np.stack([p[f"{prefix}.{k}"] for k in BN_KEYS])

    h = np.maximum(_bn(_conv(np.asarray(x, dtype=np.float64), p["conv1.weight"], 2, 3),
                       bn("bn1")), 0.0)  # fmt: skip
    h = max_pool_3x3_s2(h)
    for b in network_blocks(opts.depth, opts.shortcut, width):
        wp = p[f"{b.prefix}.downsample.0.weight"] if b.proj else None
        bp = bn(f"{b.prefix}.downsample.1") if b.proj else None
        h = resnet_basic_block(h, p[f"{b.prefix}.conv1.weight"], bn(f"{b.prefix}.bn1"),
                               p[f"{b.prefix}.conv2.weight"], bn(f"{b.prefix}.bn2"), wp, bp,
                               BlockOptions(stride=b.stride, shortcut=opts.shortcut))  # fmt: skip
    pooled = h.mean(axis=(2, 3))
    out = pooled @ np.asarray(fc_w, dtype=np.float64).T + np.asarray(fc_b, dtype=np.float64)
    return out.astype(dtype)


def make_network_inputs(case: Case) -> Inputs:
    """x ~ N(0, 1); conv weights ~ N(0, 1/fan_in); BN rows as in the block suite; fc_w ~
    N(0, 1/F), fc_b in [-0.5, 0.5]. ``params_for`` lays params out for the other shortcut
    option (an error case); ``F`` overrides fc_w's width (an error case)."""
    p, rng = case.params, np.random.default_rng(case.seed)
    n, c, h, w, width, k = (int(p[s]) for s in ("N", "C", "H", "W", "width", "K"))
    depth = int(p.get("params_for_depth", case.options.get("depth", 18)))
    shortcut = p.get("params_for", case.options.get("shortcut", "projection"))
    dtype = np.dtype(case.dtype)
    rows = {"weight": (0.5, 1.5), "bias": (-0.5, 0.5), "running_mean": (-0.3, 0.3),
            "running_var": (VAR_LO, 1.5)}  # fmt: skip
    params = []
    for key, shape in network_layout(depth, shortcut, width, c):
        if len(shape) == 4:
            a = rng.standard_normal(shape) / math.sqrt(max(shape[1] * shape[2] * shape[3], 1))
        else:
            a = rng.uniform(*rows[key.rsplit(".", 1)[1]], shape)
        params.append(a.astype(dtype))
    f = int(p.get("F", 8 * width))
    return {
        "x": rng.standard_normal((n, c, h, w)).astype(dtype),
        "params": params,
        "fc_w": (rng.standard_normal((k, f)) / math.sqrt(f)).astype(dtype),
        "fc_b": rng.uniform(-0.5, 0.5, k).astype(dtype),
    }


def _network_shapes(case: Case) -> tuple[list[Block], int, int, int, int]:
    p = case.params
    width = int(p["width"])
    blocks = network_blocks(int(case.options.get("depth", 18)),
                            str(case.options.get("shortcut", "projection")), width)  # fmt: skip
    h1, w1 = out_size(int(p["H"]), 2), out_size(int(p["W"]), 2)  # 7x7/2 pad 3
    return blocks, h1, w1, width, int(p["C"])


def network_cost(case: Case) -> Cost:
    """flops: the stem conv 2·N·W0·H1·W1·49·C + 3 per stem output (BN, ReLU) + 9 per
    max-pool output, each block as the block suite counts it, the mean, the FC 2·N·K·F;
    bytes = b·(x + params + logits)."""
    p = case.params
    n, k = int(p["N"]), int(p["K"])
    blocks, h, w, width, c = _network_shapes(case)
    flops = n * width * h * w * (2.0 * 49 * c + 3)
    h, w = out_size(h, 2), out_size(w, 2)
    flops += 9.0 * n * width * h * w
    n_params = width * c * 49 + 4 * width
    for b in blocks:
        h, w = out_size(h, b.stride), out_size(w, b.stride)
        outs = n * b.o * h * w
        flops += 2.0 * outs * 9 * (b.c + b.o) + 2.0 * outs * b.c * b.proj + 6.0 * outs
        n_params += 9 * b.o * (b.c + b.o) + 8 * b.o + b.proj * (b.o * b.c + 4 * b.o)
    f = 8 * width
    flops += n * f * h * w + 2.0 * n * k * f + n * k
    n_params += k * f + k
    size = np.dtype(case.dtype).itemsize
    return Cost(flops, size * (n * c * int(p["H"]) * int(p["W"]) + n_params + n * k),
                n * max(k, 1), "logits")  # fmt: skip


def network_tolerance(case: Case) -> Tolerance:
    """Rounding grows along the chain of layers: K sums the accumulation lengths met on the
    way (49C for the stem, 9C + 9O + C + 2 per block as in the block suite, F for the FC).
    The residual adds make the activations grow with depth: the verify cases' logits reach
    8.3 in magnitude (input_225px), so atol = rtol x 10. Measured: torch's float32 errors
    stay under 0.5% of this allowance on every verify case, and float32 arithmetic on the
    float64 cases is still caught."""
    blocks, _, _, width, c = _network_shapes(case)
    k = 49 * c + sum(9 * b.c + 9 * b.o + b.c + 2 for b in blocks) + 8 * width
    base = default_tolerance(case.dtype, k, 10.0)
    return Tolerance(base.rtol, base.atol, base.reason + " (K summed over the layers)")


D34, NPAD = {"depth": 34}, {"shortcut": "zero_pad"}
NET_DEFAULTS: dict[str, Any] = dict(seed=29, dtype="float32", N=2, C=3, H=33, W=29, width=8, K=10)
# Sizes: N 2, C 3, H 33, W 29, width 8 (channels 8..64, F = 64), K 10 unless said; every
# size distinct and >= 2 in the error base. A 225-pixel input at torchvision's width 64 is
# 2.3 GFLOP an image, over the verify cap: the spec's 32/225/256-pixel inputs run here at
# width 8 (1/64 of the flops), the full width at 32 pixels and at 224/225 in "full".
NET_CASES = [
    case("net18_f32"),
    case("net18_f64", dtype="float64"),
    case("net18_32px", H=32, W=32),
    case("net34_f32", options=D34),
    case("net34_f64", dtype="float64", options=D34),
    case("net18_zero_pad_f32", options=NPAD),
    case("net34_zero_pad_f64", dtype="float64", options={**D34, **NPAD}),
    # torchvision's own width: stages of 64..512 channels, F = 512 past a 256-wide block
    case("net18_width64_32px", N=1, width=64, H=32, W=32),
    edge("batch_1", N=1),
    edge("input_225px", N=1, H=225, W=225, width=4),
    edge("input_256px", N=1, H=256, W=256, width=4, options=NPAD),
    edge("input_below_32px", H=5, W=1),
    edge("grey_input", C=1),
    # one empty size each, the others nonzero and distinct
    edge("empty_batch", N=0),
    edge("no_classes", K=0),
]
NET_ERRORS = [
    error("channel_mismatch_without_projection", ValueError, r"identity shortcut needs C == O",
          params_for="zero_pad"),
    error("zero_pad_with_projection", ValueError, r"takes no downsample", params_for="projection",
          options=NPAD),
    error("depth_18_params_for_34", ValueError, r"ResNet-34's .* arrays", options=D34,
          params_for_depth=18),
    error("fc_width_mismatch", ValueError, r"ends with 64 channels", F=63),
]  # fmt: skip
NET_STD: dict[str, Any] = {"N": 1, "width": 64, "K": 1000}
SMALL: dict[str, Any] = {"N": 1, "width": 64, "K": 10, "H": 24, "W": 24}
NET_BENCH = {
    "smoke": [bench("net_bench_small", N=1, H=32, W=32)],
    # ResNet-18 (10 classes) on one 24x24 image (57 MFLOP): beside the block suite's
    # standard, 32x32 already passes the algorithm's 6 s of quick profile (predicted 6.1 s);
    # the spec's 224-pixel sizes are in "full"
    "quick": [bench("net_bench_resnet18_24px", **SMALL)],
    "full": [
        bench("net_bench_resnet18_225px", **NET_STD, H=225, W=225),
        bench("net_bench_resnet34_spec", **{**NET_STD, "N": 8}, H=224, W=224, options=D34),
        bench("net_bench_resnet34_batch64", **{**NET_STD, "N": 64}, H=224, W=224, options=D34),
    ],
}


def network_fuzz() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(0, 2),
            "C": st.integers(1, 3),
            "H": st.integers(1, 40),
            "W": st.integers(1, 40),
            "width": st.integers(1, 3),
            "K": st.integers(0, 4),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
        }
    )
    return st.builds(lambda p, o: Case("fuzz", p, o, "fuzz"), params, NetOptions.strategy())


NETWORK = Suite(
    algorithm="resnet_basic_block.network",
    family="attention-and-layers",
    summary="ResNet-18/34 forward in eval mode: 7x7/2 conv + BN + ReLU + 3x3/2 max-pool, four "
    "stages of basic blocks, global average pool, FC; x (N, C, H, W) -> logits (N, K).",
    conventions=(
        "resnet_network(x, params, fc_w, fc_b, opts). params: the conv and BatchNorm tensors "
        "of torchvision's resnet18/34 state_dict in its order, without num_batches_tracked "
        "and fc: conv1.weight (w, C, 7, 7), bn1.{weight, bias, running_mean, running_var}, "
        "then layerK.J.{conv1.weight, bn1.*, conv2.weight, bn2.*, [downsample.0.weight, "
        "downsample.1.*]}; the width w = conv1.weight.shape[0] (torchvision: 64), stage K "
        "has w·2^(K-1) channels, its first block stride 2 for K > 1. fc_w (K, F = 8w), fc_b "
        "(K,). Convolutions without bias, 3x3 with padding 1, the stem 7x7 stride 2 padding "
        "3, the max-pool 3x3 stride 2 padding 1; BN in eval mode (running statistics, eps "
        "1e-5); blocks as resnet_basic_block. shortcut=projection (option B): downsample "
        "params where a block changes stride or width; zero_pad (option A): none, the "
        "identity subsampled and zero-padded. Any H, W >= 1 (adaptive average pooling). "
        "Output: logits (N, K) in the inputs' dtype. ValueError: params not laid out for the "
        "options (a missing projection: 'the identity shortcut needs C == O'), F != 8w, C, "
        "H or W = 0; TypeError: params and x of different dtypes."
    ),
    args=NET_ARGS,
    options=NetOptions,
    make_inputs=make_network_inputs,
    oracle=resnet_network,
    compare=Close(override=network_tolerance),
    cost=network_cost,
    defaults=NET_DEFAULTS,
    cases=NET_CASES,
    errors=NET_ERRORS,
    bench=NET_BENCH,
    standard="net_bench_resnet18_24px",
    error_base="net18_f32",
    invalid_options=[{"depth": 50}, {"depth": "18"}, {"shortcut": "identity"}],
    multi_block={"F": 512},
    fuzz=network_fuzz,
    reference="an nn.Module ResNet with torchvision's module names (conv1, bn1, relu, maxpool, "
    "layer1..4 of BasicBlocks, avgpool, fc) built from nn.Conv2d/BatchNorm2d/MaxPool2d/"
    "AdaptiveAvgPool2d/Linear, the suite's arrays loaded with load_state_dict(assign=True), "
    "eval mode; ResNet-18/34 parameter counts 11,689,512 / 21,797,672 as constants",
    backends=("torch_cpu", "torch_cuda", "library"),
)

SUITES = [SUITE, NETWORK]

"""Suite for sk_block: selective kernel convolution (SKNet), M branches of different receptive
fields mixed per channel by a softmax over branches computed from their pooled sum."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, ArrayList, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

#: Eval-mode BatchNorm epsilon (torch's default).
BN_EPS = 1e-5


@dataclass(frozen=True)
class SkOptions(Options):
    branch_kernel: str = option(
        "dilated",
        "full",
        meaning="branch m (from 0) is a 3x3 conv with dilation m + 1 (SKNet's implementation) "
        "or a (3 + 2m) x (3 + 2m) conv (the paper's 5x5 for m = 1); padding m + 1 either way",
    )


# conv_w: one (C, C/groups, k, k) weight per branch (bias-free convs); bn_u (M, 4, C) and
# bn_z (4, D): eval-mode BatchNorm weight, bias, running mean, running variance of the
# branches and of the squeeze; fc_w (D, C) the squeeze fc (bias-free); sel_w (M, C, D) and
# sel_b (M, C) the per-branch fcs whose softmax over branches selects.
ARGS = Args(
    Arg("x", ("N", "C", "H", "W")),
    ArrayList("conv_w"),
    Arg("bn_u", ("M", 4, "C")),
    Arg("fc_w", ("D", "C")),
    Arg("bn_z", (4, "D")),
    Arg("sel_w", ("M", "C", "D")),
    Arg("sel_b", ("M", "C"), optional=True),
    Scalar("groups", "int", low=1),
    Scalar("reduction", "int", low=1),
    Scalar("min_width", "int", low=1),
    nonempty=("M", "D"),
    same_dtype=("x", "bn_u", "fc_w", "bn_z", "sel_w", "sel_b"),
)


def kernel_size(m: int, opts: SkOptions) -> int:
    return 3 if opts.branch_kernel == "dilated" else 3 + 2 * m


def dilation(m: int, opts: SkOptions) -> int:
    return m + 1 if opts.branch_kernel == "dilated" else 1


def width(channels: int, reduction: int, min_width: int) -> int:
    """The squeeze width: max(C // r, L) (SKNet: r = 16, L = 32)."""
    return max(int(channels) // int(reduction), int(min_width))


def check(
    x: Any, conv_w: Any, bn_u: Any, fc_w: Any, bn_z: Any, sel_w: Any, sel_b: Any,
    groups: int, reduction: int, min_width: int, opts: SkOptions,
) -> Any:  # fmt: skip
    """The one-line input check of every implementation; returns the result dtype."""
    dtype = ARGS.check(x, conv_w, bn_u, fc_w, bn_z, sel_w, sel_b, groups, reduction, min_width)
    c, m = int(x.shape[1]), int(bn_u.shape[0])
    if c % groups:
        raise ValueError(f"groups={groups} must divide C={c}")
    if len(conv_w) != m:
        raise ValueError(f"conv_w must hold M={m} branch weights, got {len(conv_w)}")
    for i, w in enumerate(conv_w):
        k = kernel_size(i, opts)
        if tuple(w.shape) != (c, c // groups, k, k):
            raise ValueError(
                f"conv_w[{i}] must have shape {(c, c // groups, k, k)} (branch_kernel="
                f"{opts.branch_kernel!r}), got {tuple(w.shape)}"
            )
        if w.dtype != x.dtype:
            raise TypeError(f"conv_w[{i}] must have x's dtype {x.dtype}, got {w.dtype}")
    if fc_w.shape[0] != width(c, reduction, min_width):
        raise ValueError(
            f"fc_w must have max(C // reduction, min_width) = {width(c, reduction, min_width)} "
            f"rows for C={c}, reduction={reduction}, min_width={min_width}, got {fc_w.shape[0]}"
        )
    return dtype


def _conv_same(x: Any, w: Any, dil: int, groups: int) -> Any:
    """Stride-1 'same' grouped convolution, one kernel tap at a time (float64)."""
    n, c, h, wd = x.shape
    k = w.shape[-1]
    pad = dil * (k - 1) // 2
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cin, cout = c // groups, w.shape[0] // groups
    out = np.zeros((n, w.shape[0], h, wd))
    for g in range(groups):
        xs, os = slice(g * cin, (g + 1) * cin), slice(g * cout, (g + 1) * cout)
        for i in range(k):
            for j in range(k):
                patch = xp[:, xs, i * dil : i * dil + h, j * dil : j * dil + wd]
                out[:, os] += np.einsum("nchw,oc->nohw", patch, w[os, :, i, j])
    return out


def _bn(t: Any, params: Any) -> Any:
    """Eval-mode BatchNorm over axis 1 of t with rows weight, bias, mean, variance."""
    weight, bias, mean, var = (p.reshape((1, -1) + (1,) * (t.ndim - 2)) for p in params)
    return (t - mean) / np.sqrt(var + BN_EPS) * weight + bias


def sk_block(
    x: Any, conv_w: Any, bn_u: Any, fc_w: Any, bn_z: Any, sel_w: Any, sel_b: Any,
    groups: int, reduction: int, min_width: int, opts: SkOptions,
) -> Any:  # fmt: skip
    """Oracle: float64. Split: U_m = ReLU(BN(conv_m(x))); fuse: s = GAP(sum U_m),
    z = ReLU(BN(fc_w·s)); select: a_m = softmax over m of sel_w[m]·z + sel_b[m] per channel;
    V = sum a_m ⊙ U_m."""
    check(x, conv_w, bn_u, fc_w, bn_z, sel_w, sel_b, groups, reduction, min_width, opts)
    x = np.asarray(x, np.float64)
    bn_u, bn_z = np.asarray(bn_u, np.float64), np.asarray(bn_z, np.float64)
    branches = [
        np.maximum(_bn(_conv_same(x, np.asarray(w, np.float64), dilation(m, opts), groups),
                       bn_u[m]), 0.0)
        for m, w in enumerate(conv_w)
    ]  # fmt: skip
    u = np.sum(branches, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # H·W = 0: NaN, V is empty
        s = u.sum(axis=(2, 3)) / (u.shape[2] * u.shape[3])  # (N, C)
    z = np.maximum(_bn(s @ np.asarray(fc_w, np.float64).T, bn_z), 0.0)  # (N, D)
    logits = np.stack([z @ np.asarray(sel_w[m], np.float64).T for m in range(len(branches))])
    if sel_b is not None:
        logits = logits + np.asarray(sel_b, np.float64)[:, None, :]  # (M, N, C)
    e = np.exp(logits - logits.max(axis=0))
    a = e / e.sum(axis=0)
    return np.sum([a[m][:, :, None, None] * b for m, b in enumerate(branches)], axis=0)


def _bn_params(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return np.stack(
        [rng.uniform(0.5, 1.5, shape), rng.uniform(-0.5, 0.5, shape),
         rng.uniform(-0.3, 0.3, shape), rng.uniform(0.5, 2.0, shape)], axis=-2,
    )  # fmt: skip


def make_inputs(case: Case) -> Inputs:
    """Conv weights ~ N(0, 1/fan_in) (unit pre-BN outputs); sel_w ~ N(0, 4/D) so branch
    logits differ by O(1) and the selection is far from uniform."""
    p, rng = case.params, np.random.default_rng(case.seed)
    n, c, h, w = (int(s) for s in p["shape"])
    m, g, r, lw = int(p.get("M", 2)), int(p.get("groups", 1)), int(p["r"]), int(p["L"])
    d = int(p.get("D", width(c, r, lw)))
    opts = SkOptions.build({"branch_kernel": p["kernels"]} if "kernels" in p else case.options)
    cin = max(c // g, 1)
    conv_w = [
        rng.standard_normal((c, c // g, kernel_size(i, opts), kernel_size(i, opts)))
        / (kernel_size(i, opts) * math.sqrt(cin))
        for i in range(m)
    ]
    x = rng.standard_normal((n, c, h, w))
    if p.get("pattern") == "nan" and x.size:
        x[0, 0, 0, 0] = np.nan
    fc_w = rng.standard_normal((d, c)) * 2.0 / math.sqrt(max(c, 1))
    sel_w = rng.standard_normal((m, c, d)) * 2.0 / math.sqrt(d)
    dtype = np.dtype(case.dtype)
    return {
        "x": x.astype(dtype),
        "conv_w": [a.astype(dtype) for a in conv_w],
        "bn_u": _bn_params(rng, m, c).astype(dtype),
        "fc_w": fc_w.astype(dtype),
        "bn_z": _bn_params(rng, d).astype(dtype),
        "sel_w": sel_w.astype(dtype),
        "sel_b": rng.uniform(-0.5, 0.5, (m, c)).astype(dtype) if p.get("bias", True) else None,
        "groups": g,
        "reduction": r,
        "min_width": lw,
    }


def _ksum(case: Case) -> int:
    """Sum over branches of k_m² (taps per output)."""
    opts = SkOptions.build(case.options)
    return sum(kernel_size(i, opts) ** 2 for i in range(int(case.params.get("M", 2))))


def cost(case: Case) -> Cost:
    """The branch convolutions (2·N·C·(C/g)·k_m²·H·W each), plus ~4·N·C·H·W a branch for
    BN, ReLU, the sum, the pooling and the weighted mix; x read and V written once plus the
    weights."""
    p = case.params
    n, c, h, w = (int(s) for s in p["shape"])
    m, g, b = int(p.get("M", 2)), int(p.get("groups", 1)), np.dtype(case.dtype).itemsize
    numel = n * c * h * w
    flops = 2.0 * numel * (c // g) * _ksum(case) + 4.0 * numel * m
    weights = c * (c // g) * _ksum(case) + m * c * (5 + width(c, int(p["r"]), int(p["L"])))
    return Cost(flops, b * (2.0 * numel + weights), numel, "elements")


def tolerance(case: Case) -> Tolerance:
    """Float32: a branch output is a (C/g)·k²-long dot (unit-sized after BN), the pooling an
    H·W-long sum, the squeeze a C-long and the selection a D-long dot; a logit error moves a
    softmax weight by at most a quarter of it. K = (C/g)·max k² + H·W + C + D; atol =
    rtol·5 (post-ReLU branch outputs of a few units; the mix can cancel nothing, but V of
    a zero U is 0)."""
    p = case.params
    _, c, h, w = (int(s) for s in p["shape"])
    opts = SkOptions.build(case.options)
    kmax = kernel_size(int(p.get("M", 2)) - 1, opts)
    d = width(c, int(p["r"]), int(p["L"]))
    k = max(c // int(p.get("groups", 1)), 1) * kmax * kmax + h * w + c + d
    base = default_tolerance(case.dtype, k, 5.0)
    return Tolerance(base.rtol, base.atol, f"{base.reason}; K = (C/g)·k² + H·W + C + D")


FULL = {"branch_kernel": "full"}
# the error base: N=2, C=12, H=5, W=7, M=3, D=6 (groups 3), all distinct and unlike the 4
BASE: dict[str, Any] = {"shape": [2, 12, 5, 7], "M": 3, "groups": 3, "r": 2, "L": 6}
CASES = [
    case("random_f32", **BASE),
    case("random_f64", **BASE, dtype="float64"),
    case("full_kernels_f32", **BASE, options=FULL),
    case("full_kernels_f64", **{**BASE, "M": 2}, dtype="float64", options=FULL),
    case("sknet_groups_32", shape=[2, 64, 6, 6], groups=32, r=16, L=32),
    # 272 channels: past a 256-wide tile of channels
    case("multi_block", shape=[1, 272, 3, 4], groups=16, r=16, L=32),
    edge("one_branch_weights_1", **{**BASE, "M": 1}),
    edge("one_branch_full", **{**BASE, "M": 1}, options=FULL),
    edge("squeeze_width_1", **{**BASE, "r": 64, "L": 1}),
    edge("depthwise_groups_c", **{**BASE, "groups": 12}),
    edge("dense_groups_1", **{**BASE, "groups": 1}),
    edge("spatial_1x1", **{**BASE, "shape": [3, 12, 1, 1]}),
    edge("spatial_1x1_full", **{**BASE, "shape": [3, 12, 1, 1]}, options=FULL),
    edge("smaller_than_the_dilation", **{**BASE, "shape": [2, 12, 2, 3]}),
    edge("no_selection_bias", **BASE, bias=False),
    edge("nan_spreads_over_its_sample", **BASE, pattern="nan", dtype="float64"),
    # one empty size each, the others as in BASE
    edge("empty_batch", **{**BASE, "shape": [0, 12, 5, 7]}),
    edge("no_channels", **{**BASE, "shape": [2, 0, 5, 7]}),
    edge("no_rows", **{**BASE, "shape": [2, 12, 0, 7]}),
    edge("no_columns", **{**BASE, "shape": [2, 12, 5, 0]}),
]
ERRORS = [
    error("groups_do_not_divide_c", ValueError, r"groups=5 must divide C=12",
          **{**BASE, "groups": 5}),
    error("no_branches", ValueError, r"M=0; M cannot be empty", **{**BASE, "M": 0}),
    error("width_rule", ValueError, r"fc_w must have max\(C // reduction, min_width\)",
          **{**BASE, "D": 9}),
    error("kernel_of_the_other_convention", ValueError, r"conv_w\[1\] must have shape",
          **BASE, options=FULL, kernels="dilated"),
]  # fmt: skip
# The spec's standard 8 x 64 x 56 x 56, two branches, SKNet's groups = 32, r = 16, L = 32
# (0.12 GFLOP of convolutions) fits the quick profile; large 32 x 256 x 56 x 56 in "full".
SK: dict[str, Any] = {"groups": 32, "r": 16, "L": 32}
BENCH = {
    "smoke": [bench("bench_tiny", shape=[1, 32, 6, 6], **SK)],
    "quick": [bench("bench_8x64x56x56", shape=[8, 64, 56, 56], **SK)],
    "full": [bench("bench_large", shape=[32, 256, 56, 56], **SK)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "shape": st.tuples(
                st.integers(0, 2), st.sampled_from([0, 4, 6, 12]), st.integers(0, 5),
                st.integers(0, 5),
            ).map(list),
            "M": st.integers(1, 3),
            "groups": st.sampled_from([1, 2]),
            "r": st.sampled_from([1, 4]),
            "L": st.sampled_from([1, 3]),
            "bias": st.booleans(),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
        }
    )  # fmt: skip
    return st.builds(
        lambda p, o: Case("fuzz", p, o, "fuzz"), params, SkOptions.strategy(optional=True)
    )


SUITE = Suite(
    algorithm="sk_block",
    family="attention-and-layers",
    summary="Selective kernel convolution: U_m = ReLU(BN(conv_m(x))), s = GAP(sum U_m), "
    "z = ReLU(BN(fc·s)), per-channel softmax over branches of sel_w[m]·z + sel_b[m], "
    "V = sum a_m ⊙ U_m.",
    conventions=(
        "sk_block(x, conv_w, bn_u, fc_w, bn_z, sel_w, sel_b, groups, reduction, min_width, "
        "opts). x (N, C, H, W). conv_w: M >= 1 bias-free branch weights (C, C/groups, k_m, "
        "k_m): branch_kernel='dilated' (default, SKNet's code) makes every k_m = 3 with "
        "dilation m + 1; 'full' makes k_m = 3 + 2m, dilation 1 (the paper's 3x3 and 5x5); "
        "stride 1, zero padding m + 1 ('same'). bn_u (M, 4, C), bn_z (4, D): eval-mode "
        "BatchNorm weight, bias, running mean, running variance, eps 1e-5. fc_w (D, C) "
        "bias-free with D = max(C // reduction, min_width) (SKNet: r = 16, L = 32). sel_w "
        "(M, C, D), sel_b (M, C) or None. Softmax over the M branches per (n, c); one branch "
        "gets weight 1. NaN in a sample spreads over all of it through the pooling. Output "
        "(N, C, H, W) in x's dtype. ValueError: wrong ndim or shapes, groups not dividing C, "
        "M = 0, conv_w not matching M or the kernel convention, D not the width rule, "
        "scalars < 1; TypeError: non-float arrays, mixed dtypes, non-int scalars, conv_w "
        "not a list."
    ),
    args=ARGS,
    options=SkOptions,
    make_inputs=make_inputs,
    oracle=sk_block,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 17, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_8x64x56x56",
    error_base="random_f32",
    multi_block={"C": 272},
    fuzz=fuzz_strategy,
    divergent_inputs={
        "no_channels": lambda inputs: inputs["x"].shape[1] == 0,
        "no_rows": lambda inputs: inputs["x"].shape[2] * inputs["x"].shape[3] == 0,
        "no_columns": lambda inputs: inputs["x"].shape[2] * inputs["x"].shape[3] == 0,
    },
    reference="an SKConv torch module (nn.Conv2d dilated/grouped branches, eval-mode "
    "nn.BatchNorm2d, ReLU, AdaptiveAvgPool2d, 1x1 convs, softmax over branches)",
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
)

"""Suite for group_layer_instance_norm: GroupNorm, LayerNorm and InstanceNorm, one option apart."""

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


def _eps(v: Any) -> bool:
    return isinstance(v, float) and v >= 0.0  # NaN fails


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


@dataclass(frozen=True)
class NormOptions(Options):
    norm: str = option(
        "group",
        "layer",
        "instance",
        meaning="statistics per (n, group) over (C/G, *S), per sample over the trailing "
        "normalized_ndim axes, or per (n, c) over *S",
    )
    eps: float = option(
        1e-5, 1e-3, meaning="added to the biased variance inside the sqrt", accepts=_eps
    )
    normalized_ndim: int = option(
        1,
        2,
        3,
        meaning="LayerNorm: how many trailing axes normalized_shape covers",
        accepts=_positive_int,
    )

    def validate(self) -> None:
        if self.normalized_ndim != 1 and self.norm != "layer":
            raise ValueError("normalized_ndim other than 1 needs norm='layer'")


# weight and bias share the starred shape: (C,) for group and instance norm, the trailing
# normalized_ndim axes of x for layer norm (check says which). num_groups is read only by
# norm='group'.
ARGS = Args(
    Arg("x", ("N", "C", "*S"), star=(0, 3)),
    Arg("weight", ("*A",), star=(1, 4), optional=True),
    Arg("bias", ("*A",), star=(1, 4), optional=True),
    Scalar("num_groups", "int", low=1),
    same_dtype=("x", "weight", "bias"),
)


def affine_shape(shape: tuple[int, ...], opts: NormOptions) -> tuple[int, ...]:
    """The shape weight and bias must have for x of this shape."""
    return tuple(shape[-opts.normalized_ndim :]) if opts.norm == "layer" else (shape[1],)


def check(x: Any, weight: Any, bias: Any, num_groups: int, opts: NormOptions) -> Any:
    """The one-line input check of every implementation; returns the result dtype."""
    dtype = ARGS.check(x, weight, bias, num_groups)
    shape = tuple(int(s) for s in x.shape)
    if opts.norm == "layer" and opts.normalized_ndim > len(shape) - 1:
        raise ValueError(
            f"normalized_ndim={opts.normalized_ndim} needs x with more axes, got shape {shape}"
        )
    if opts.norm == "group" and shape[1] % int(num_groups):
        raise ValueError(f"x has C={shape[1]} channels, not divisible by num_groups={num_groups}")
    want = affine_shape(shape, opts)
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(int(s) for s in p.shape) != want:
            what = "normalized_shape (x's trailing axes)" if opts.norm == "layer" else "(C,)"
            raise ValueError(f"{name} must have shape {what} = {want}, got {tuple(p.shape)}")
    return dtype


def stat_rows(shape: tuple[int, ...], num_groups: int, opts: NormOptions) -> tuple[int, int]:
    """(R, K): x in C order is R rows of K values, one row per set of statistics."""
    if opts.norm == "layer":
        nd = opts.normalized_ndim
        return math.prod(shape[:-nd]), math.prod(shape[-nd:])
    n, c, spatial = shape[0], shape[1], math.prod(shape[2:])
    if opts.norm == "group":
        g = int(num_groups)
        return n * g, c // g * spatial
    return n * c, spatial


def group_layer_instance_norm(x: Any, weight: Any, bias: Any, num_groups: int,
    opts: NormOptions) -> Any:  # fmt: skip
    """Oracle: float64, one set of statistics at a time: mean, biased variance from the
    centred values (two passes), (x - mean)/sqrt(var + eps), then the affine."""
    check(x, weight, bias, num_groups, opts)
    x = np.asarray(x, dtype=np.float64)
    shape = x.shape
    sets = x.reshape(stat_rows(shape, num_groups, opts))
    y = np.empty_like(sets)
    for r in range(sets.shape[0]):
        values = sets[r]
        if values.size == 0:
            continue
        mean = values.mean()
        var = np.mean((values - mean) ** 2)  # biased: divided by K, not K - 1
        y[r] = (values - mean) / np.sqrt(var + opts.eps)  # eps inside the sqrt
    y = y.reshape(shape)
    a_shape = affine_shape(shape, opts)
    # per channel (group, instance) or per element of normalized_shape (layer)
    a_view = a_shape if opts.norm == "layer" else (shape[1],) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * np.asarray(weight, np.float64).reshape(a_view)
    if bias is not None:
        y = y + np.asarray(bias, np.float64).reshape(a_view)
    return y


# Input generator: every set of statistics is made to have exactly mean loc and std sigma,
# loc in ±LOC (+ offset), sigma in the case's std range; the comparator's atol follows.
LOC, STD, GAMMA_MAX, BETA_MAX = 2.0, (0.5, 2.0), 1.5, 1.0
CONSTANTS = (0.5, -2.0, 1.5)  # values of the constant samples


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    opts = NormOptions(**case.options)
    shape, groups = tuple(int(s) for s in p["shape"]), int(p.get("G", 1))
    x = rng.standard_normal(shape)
    r, k = stat_rows(shape, groups if shape[1] % groups == 0 else 1, opts)  # (an error case)
    sets = x.reshape(r, k)
    if k >= 2:  # exact statistics per set, so even K = 2 obeys the atol derived from them
        sets -= sets.mean(axis=1, keepdims=True)
        sets /= sets.std(axis=1, keepdims=True)
    lo, hi = p.get("std", STD)
    sets *= rng.uniform(lo, hi, (r, 1))
    sets += rng.uniform(-LOC, LOC, (r, 1)) + float(p.get("offset", 0.0))
    if p.get("pattern") == "constant":  # every other sample constant: y must equal bias
        for i in range(0, shape[0], 2):
            x[i] = CONSTANTS[i // 2 % len(CONSTANTS)]
    elif p.get("pattern") == "nan" and x.size:
        x.reshape(-1)[1] = np.nan  # the first set goes NaN, the others not
    if p.get("pattern") == "channels_last" and x.ndim == 4:  # (N, H, W, C) storage
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    a_shape = affine_shape(shape, opts)
    weight = rng.uniform(0.5, GAMMA_MAX, a_shape) * rng.choice([-1.0, 1.0], a_shape)
    bias = rng.uniform(-BETA_MAX, BETA_MAX, a_shape)
    affine = p.get("affine", "both")
    if "wrong_affine" in p:  # an error case: weight and bias of another shape
        weight = bias = rng.uniform(-1, 1, tuple(p["wrong_affine"]))
    dtype = np.dtype(case.dtype)
    return {
        "x": x.astype(dtype),
        "weight": weight.astype(dtype) if affine in ("both", "weight") else None,
        "bias": bias.astype(dtype) if affine in ("both", "bias") else None,
        "num_groups": groups,
    }


def cost(case: Case) -> Cost:
    """Two passes for the statistics and one to normalise: ~8 flops and 3b bytes an element
    (ALGORITHMS.md), plus the affine vectors."""
    shape, b = [int(s) for s in case.params["shape"]], np.dtype(case.dtype).itemsize
    numel = math.prod(shape)
    affine = 2 * math.prod(affine_shape(tuple(shape), NormOptions(**case.options)))
    return Cost(8.0 * numel, 3.0 * b * numel + b * affine, numel, "elements")


def tolerance(case: Case) -> Tolerance:
    """K values per set: a plain float32 mean or variance is off by ~ sqrt(K)·eps relative
    to the values summed (pairwise or float64 accumulation stays far below), and y inherits
    the mean's error divided by sqrt(var + eps). So atol = 10·sqrt(K)·eps times
    |gamma|·|x|/sqrt(sigma² + eps) + |beta|, |x| <= LOC + offset; a constant sample has
    sigma = 0, rstd = 1/sqrt(eps), which dominates there. rtol = the same 10·sqrt(K)·eps."""
    p, opts = case.params, NormOptions(**case.options)
    shape = tuple(int(s) for s in p["shape"])
    _, k = stat_rows(shape, int(p.get("G", 1)), opts)
    sigma = float(p.get("std", STD)[0])
    scale = GAMMA_MAX * (LOC + abs(float(p.get("offset", 0.0)))) / math.sqrt(sigma**2 + opts.eps)
    if p.get("pattern") == "constant":
        scale = max(scale, GAMMA_MAX * max(map(abs, CONSTANTS)) / math.sqrt(opts.eps))
    base = default_tolerance(case.dtype, k, scale + BETA_MAX)
    return Tolerance(base.rtol, base.atol, f"{base.reason}; K = values per set of statistics")


LN1, LN2, LN3 = ({"norm": "layer", "normalized_ndim": n} for n in (1, 2, 3))
IN, EPS3 = {"norm": "instance"}, {"eps": 1e-3}
F64: dict[str, Any] = {"dtype": "float64"}
SMALL_STD = [0.002, 0.004]  # sigma² ~ eps: where eps sits (inside the sqrt or not) shows
CASES = [
    # the error base: GroupNorm, N = 4 and C = 12 distinct, both affine vectors present
    case("group_f32", shape=[4, 12, 6, 5], G=3),
    case("group_f64", shape=[3, 8, 7, 4], G=4, **F64),
    case("layer_last_f32", shape=[4, 9, 32], options=LN1),
    case("layer_two_axes_f64", shape=[3, 5, 6, 7], options=LN2, **F64),
    case("layer_three_axes_f32", shape=[2, 6, 5, 7], options=LN3),
    case("instance_f32", shape=[3, 5, 8, 9], options=IN),
    case("instance_f64", shape=[2, 4, 11], options=IN, **F64),
    case("eps_1e-3_f32", shape=[4, 12, 6, 5], G=4, std=SMALL_STD, options=EPS3),
    # 272 channels (GroupNorm) and rows of 300 values (LayerNorm): past a 256-wide block
    case("multi_block", shape=[3, 272, 4, 5], G=8),
    case("multi_block_layer", shape=[3, 5, 300], options=LN1),
    edge("group_1_is_layer_over_chw", shape=[3, 6, 5, 4], G=1),
    edge("group_c_is_instance", shape=[3, 6, 5, 4], G=6),
    edge("group_2d", shape=[5, 12], G=4),
    edge("group_3d", shape=[3, 10, 17], G=5),
    edge("group_5d", shape=[2, 6, 3, 4, 5], G=2, **F64),
    edge("layer_2d", shape=[6, 40], options=LN1),
    edge("instance_1x1_spatial", shape=[3, 4, 1, 1], options=IN),
    edge("instance_5d", shape=[2, 3, 4, 5, 6], options=IN),
    edge("no_affine", shape=[4, 12, 6, 5], G=3, affine="none"),
    edge("weight_only", shape=[3, 5, 8, 9], affine="weight", options=IN),
    edge("bias_only_f64", shape=[4, 9, 32], affine="bias", options=LN1, **F64),
    edge("constant_group", shape=[4, 6, 5, 5], G=2, pattern="constant"),
    edge("constant_layer_f64", shape=[4, 6, 7], pattern="constant", options=LN2, **F64),
    edge("constant_instance", shape=[4, 6, 5, 5], pattern="constant", options=IN),
    edge("offset_1e4_group", shape=[4, 8, 6, 6], G=2, offset=1e4),
    edge("offset_1e4_layer_f64", shape=[4, 8, 48], offset=1e4, options=LN1, **F64),
    edge("offset_1e4_instance", shape=[4, 8, 6, 6], offset=1e4, options=IN),
    edge("small_std_group_f64", shape=[4, 12, 6, 5], G=3, std=SMALL_STD, **F64),
    edge("small_std_layer", shape=[4, 9, 32], std=SMALL_STD, options=LN1),
    edge("small_std_instance_eps_1e-3", shape=[3, 5, 8, 9], std=SMALL_STD, options={**IN, **EPS3}),
    edge("nan_propagates_to_its_set", shape=[3, 6, 5, 4], G=3, pattern="nan", **F64),
    edge("channels_last_input", shape=[3, 6, 5, 4], G=2, pattern="channels_last"),
    # one empty size each, the others nonzero and distinct (no affine vectors: their
    # sizes repeat C or the trailing axes)
    edge("empty_batch", shape=[0, 3, 4, 5], G=3, affine="none"),
    edge("no_channels", shape=[5, 0, 3, 4], G=2, affine="none"),
    edge("empty_spatial_layer", shape=[2, 3, 0], affine="none", options=LN1),
    edge("empty_spatial_instance", shape=[2, 3, 0], affine="none", options=IN),
    edge("empty_instance_affine", shape=[0, 3, 6], options=IN),
]
ERRORS = [
    error(
        "channels_not_divisible",
        ValueError,
        r"not divisible by num_groups",
        shape=[4, 12, 6, 5],
        G=5,
    ),
    error(
        "weight_not_per_channel",
        ValueError,
        r"weight must have shape \(C,\)",
        shape=[4, 12, 6, 5],
        G=3,
        wrong_affine=[5],
    ),
    error(
        "weight_not_normalized_shape",
        ValueError,
        r"weight must have shape normalized_shape",
        shape=[3, 5, 6, 7],
        wrong_affine=[7],
        options=LN2,
    ),
    error(
        "normalized_ndim_too_many",
        ValueError,
        r"normalized_ndim=3 needs x with more axes",
        shape=[4, 9, 32],
        options=LN3,
    ),
]
# The spec's standard GroupNorm, 32 x 256 x 56 x 56 (25.7 M elements, 100 MB in float32), is
# timed in "full" with its LayerNorm and large sizes; the quick profile's standard case is
# 8 x 256 x 28 x 28, G = 32, which fits its 6 s with every implementation and the oracle.
BENCH = {
    "smoke": [bench("bench_tiny", shape=[2, 8, 4, 4], G=4)],
    "quick": [bench("bench_group_8x256x28x28", shape=[8, 256, 28, 28], G=32)],
    "full": [
        bench("bench_group_32x256x56x56", shape=[32, 256, 56, 56], G=32),
        bench("bench_layer_8x512x1024", shape=[8, 512, 1024], options=LN1),
        bench("bench_instance_32x256x56x56", shape=[32, 256, 56, 56], options=IN),
        bench("bench_group_128x256x56x56", shape=[128, 256, 56, 56], G=32),
    ],
}


def _empty_with_affine(inputs: Inputs) -> bool:
    """No (n, c) pair, yet an affine vector: F.instance_norm raises IndexError there. As for
    one spatial element (instance_1x1_spatial), the inputs cannot tell the norm, but only
    instance norm fails on them."""
    x = inputs["x"]
    return x.shape[0] * x.shape[1] == 0 and (inputs["weight"] is not None or inputs["bias"]
                                             is not None)  # fmt: skip


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def draw(d: Any) -> Case:
        norm = d(st.sampled_from(["group", "layer", "instance"]))
        g = d(st.integers(1, 4))
        spatial = d(st.sampled_from([(), (1,), (6,), (0,), (1, 1), (3, 4), (2, 3, 2)]))
        shape = [d(st.integers(0, 4)), g * d(st.integers(0, 3)), *spatial]
        options: dict[str, Any] = {"norm": norm, "eps": d(st.sampled_from([1e-5, 1e-3]))}
        if norm == "layer":
            options["normalized_ndim"] = d(st.integers(1, len(shape) - 1))
        params = {
            "shape": shape,
            "G": g,
            "seed": d(st.integers(0, 2**31 - 1)),
            "dtype": d(st.sampled_from(["float32", "float64"])),
            "affine": d(st.sampled_from(["both", "none", "weight", "bias"])),
            "pattern": d(st.sampled_from(["random", "constant", "channels_last"])),
        }
        return Case("fuzz", params, options, "fuzz")

    return draw()


SUITE = Suite(
    algorithm="group_layer_instance_norm",
    family="attention-and-layers",
    summary="GroupNorm / LayerNorm / InstanceNorm forward (option norm): biased variance, eps "
    "inside the sqrt, per-channel or per-element affine -> y, x's shape.",
    conventions=(
        "group_layer_instance_norm(x, weight, bias, num_groups, opts). x (N, C, *S), 0 to 3 "
        "spatial axes. Each set of statistics, its mean and biased variance (divided by K, "
        "not K - 1), gives (x - mean)/sqrt(var + eps) (eps inside the sqrt, eps=1e-5 as "
        "torch); norm='group': a set per (n, group of C/num_groups consecutive channels) over "
        "(C/G, *S) (F.group_norm); 'layer': a set per index of the leading axes over the "
        "trailing normalized_ndim axes (F.layer_norm with normalized_shape = those axes); "
        "'instance': a set per (n, c) over *S (F.instance_norm with input statistics, no "
        "running buffers; one spatial element gives bias, where torch raises). weight and "
        "bias: None or (C,) (group, instance: per channel), the normalized_shape (layer: per "
        "element); each applies alone when the other is None. num_groups is read only by "
        "norm='group'. A set with NaN gives NaN in that set only. y has x's shape and dtype. "
        "ValueError: x with fewer than 2 or more than 5 axes, C not divisible by num_groups, "
        "weight/bias of the wrong shape, normalized_ndim beyond x's non-batch axes, "
        "normalized_ndim != 1 without norm='layer', eps < 0, num_groups < 1; TypeError: "
        "non-float arrays, mixed dtypes, a non-int num_groups."
    ),
    args=ARGS,
    options=NormOptions,
    make_inputs=make_inputs,
    oracle=group_layer_instance_norm,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 5, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_group_8x256x28x28",
    error_base="group_f32",
    multi_block={"C": 272},
    invalid_options=[
        {"norm": "group", "normalized_ndim": 2},
        {"norm": "instance", "normalized_ndim": 3},
    ],
    fuzz=fuzz_strategy,
    divergent_inputs={
        "instance_1x1_spatial": lambda inputs: math.prod(inputs["x"].shape[2:]) == 1,
        "empty_instance_affine": _empty_with_affine,
    },
    reference="torch.nn.functional.group_norm / layer_norm / instance_norm",
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),
)

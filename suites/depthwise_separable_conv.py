"""Suite for depthwise_separable_conv: a depthwise k x k convolution (groups = C, depth
multiplier m) then a pointwise 1 x 1 convolution to O channels, weights as inputs, as
F.conv2d(x, w_dw, b_dw, groups=C) followed by F.conv2d(., w_pw, b_pw)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance
from suites.conv2d_direct import ConvOptions, Plan, _ints, _padding_ok, conv_plan, pad_numpy

_PADDINGS: tuple[tuple[int, ...] | str, ...] = ("half", (0, 0, 0, 0), (1, 2, 2, 1), "same")


@dataclass(frozen=True)
class SeparableOptions(Options):
    stride: tuple[int, int] = option(
        (1, 1), (2, 2), meaning="depthwise (s_h, s_w), each >= 1", accepts=lambda v: _ints(v, 2, 1)
    )
    padding: tuple[int, ...] | str = option(
        *_PADDINGS,
        meaning="depthwise zero padding: 'half' = k // 2 on every side (the usual k = 3, pad 1; "
        "an even k grows the output by one), (top, bottom, left, right), or 'same' as "
        "conv2d_direct (TF: odd total, extra at the bottom/right)",
        accepts=lambda v: v == "half" or _padding_ok(v),
    )
    dilation: tuple[int, int] = option(
        (1, 1), (2, 2), meaning="depthwise (d_h, d_w), each >= 1", accepts=lambda v: _ints(v, 2, 1)
    )
    shuffle_groups: int = option(
        1,
        2,
        3,
        meaning="channel shuffle g of the output (ShuffleNet): reshape (N, g, O/g, H, W), swap "
        "the two channel axes, flatten, so output k is channel (k % g)·(O/g) + k // g of the "
        "convolution; 1: no shuffle. O must be divisible by g",
        accepts=lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
    )

    def validate(self) -> None:  # JSON gives lists: hold tuples
        for name in ("stride", "padding", "dilation"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))


ARGS = Args(
    Arg("x", ("N", "C", "H", "W"), "real"),
    Arg("w_dw", ("M", 1, "KH", "KW")),
    Arg("b_dw", ("M",), optional=True),
    Arg("w_pw", ("O", "M", 1, 1)),
    Arg("b_pw", ("O",), optional=True),
    nonempty=("C", "M", "H", "W", "KH", "KW"),
)


def separable_plan(x_shape: Sequence[int], w_shape: Sequence[int], opts: SeparableOptions) -> Plan:
    """The depthwise stage's geometry through conv2d_direct's conv_plan (groups = C).
    Raises ValueError when M is not a multiple of C or the output would be empty."""
    c, m = int(x_shape[1]), int(w_shape[0])
    if m % c:
        raise ValueError(f"w_dw has M={m} output channels, not a multiple of x's C={c}")
    kh, kw = int(w_shape[2]), int(w_shape[3])
    padding = (kh // 2, kh // 2, kw // 2, kw // 2) if opts.padding == "half" else opts.padding
    conv = ConvOptions(stride=opts.stride, padding=padding, dilation=opts.dilation, groups=c)
    return conv_plan(x_shape, w_shape, conv)


def check(x: Any, w_dw: Any, b_dw: Any, w_pw: Any, b_pw: Any, opts: SeparableOptions) -> Any:
    """ARGS.check, the both-biases-or-none rule, the shuffle's divisibility and the
    geometry; returns (dtype, plan)."""
    dtype = ARGS.check(x, w_dw, b_dw, w_pw, b_pw)
    if (b_dw is None) != (b_pw is None):
        raise ValueError("b_dw and b_pw: give both biases or neither")
    o, g = int(np.shape(w_pw)[0]), opts.shuffle_groups
    if o % g:
        raise ValueError(f"w_pw has O={o} output channels, not divisible by shuffle_groups={g}")
    return dtype, separable_plan(np.shape(x), np.shape(w_dw), opts)


def depthwise_separable(
    x: Any, w_dw: Any, b_dw: Any, w_pw: Any, b_pw: Any, opts: SeparableOptions
) -> Any:
    """Oracle: float64. Depthwise: output channel q reads input channel q // m; for every
    tap (i, j) add w_dw[q, 0, i, j] times the strided window. Pointwise: an (O, M) matrix
    product over the channel axis."""
    dtype, plan = check(x, w_dw, b_dw, w_pw, b_pw, opts)
    xs = np.asarray(x, dtype=np.float64)
    c, m = xs.shape[1], np.shape(w_dw)[0]
    xp = pad_numpy(xs, plan, "zeros")[:, np.arange(m) // (m // c)]  # (N, M, H_p, W_p)
    wd = np.asarray(w_dw, dtype=np.float64)
    (sh, sw), (dh, dw), oh, ow = plan.stride, plan.dilation, plan.out_h, plan.out_w
    mid = np.zeros((xs.shape[0], m, oh, ow))
    for i in range(wd.shape[2]):
        for j in range(wd.shape[3]):
            win = xp[
                :,
                :,
                i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                j * dw : j * dw + sw * (ow - 1) + 1 : sw,
            ]
            mid += wd[None, :, 0, i, j, None, None] * win
    if b_dw is not None:
        mid += np.asarray(b_dw, dtype=np.float64)[:, None, None]
    out = np.einsum("om,nmhw->nohw", np.asarray(w_pw, dtype=np.float64)[:, :, 0, 0], mid)
    if b_pw is not None:
        out += np.asarray(b_pw, dtype=np.float64)[:, None, None]
    return out[:, shuffle_order(out.shape[1], opts.shuffle_groups)].astype(dtype)


def shuffle_order(o: int, g: int) -> np.ndarray:
    """The channel shuffle as an explicit permutation: output k takes channel
    (k % g)·(O/g) + k // g (the reshape (g, O/g), transpose, flatten of ShuffleNet)."""
    k = np.arange(o)
    order: np.ndarray = (k % g) * (o // g) + k // g
    return order


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    n, c, o, h, w = (int(p[k]) for k in ("N", "C", "O", "H", "W"))
    m, kh, kw = c * int(p.get("mult", 1)) + int(p.get("extra_m", 0)), int(p["kh"]), int(p["kw"])
    dtype = np.dtype(case.dtype)
    x = rng.standard_normal((n, c, h, w))
    pattern = p.get("pattern", "random")
    if pattern == "uint8":
        x = rng.integers(0, 256, size=(n, c, h, w)).astype(np.float64)
    elif pattern == "nan_corner" and x.size:
        x[0, 0, 0, 0] = np.nan
    # depthwise taps ~ 1/k (each mid value ~N(0, 1)), pointwise ~ 1/sqrt(M): outputs ~N(0, 1)
    w_dw = rng.standard_normal((m, 1, kh, kw)) / math.sqrt(kh * kw)
    w_pw = rng.standard_normal((o, m, 1, 1)) / math.sqrt(m)
    biased = p.get("bias", True)
    b_dw = rng.standard_normal(m).astype(dtype) if biased else None
    b_pw = rng.standard_normal(o).astype(dtype) if biased else None
    x = x.astype(np.uint8 if pattern == "uint8" else dtype)
    if pattern == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    if p.get("one_bias"):  # the must-raise case: a depthwise bias without a pointwise one
        b_pw = None
    return {
        "x": x,
        "w_dw": w_dw.astype(dtype),
        "b_dw": b_dw,
        "w_pw": w_pw.astype(dtype),
        "b_pw": b_pw,
    }


def _geometry(case: Case) -> tuple[int, int, int, int, int]:
    """(N, M, O, H_out, W_out) of a case."""
    p = case.params
    c = int(p["C"])
    m = c * int(p.get("mult", 1)) + int(p.get("extra_m", 0))
    try:
        plan = separable_plan(
            (p["N"], c, p["H"], p["W"]),
            (m, 1, p["kh"], p["kw"]),
            SeparableOptions.build(case.options),
        )
        oh, ow = plan.out_h, plan.out_w
    except ValueError:  # an error case: its cost does not matter
        oh = ow = 1
    return int(p["N"]), m, int(p["O"]), oh, ow


def cost(case: Case) -> Cost:
    """flops = 2·N·H_out·W_out·M·(kH·kW + O) (ALGORITHMS.md, M = C·m); bytes: input, both
    weights and the output once (the depthwise stage alone is bytes-bound)."""
    p = case.params
    n, m, o, oh, ow = _geometry(case)
    k2 = int(p["kh"]) * int(p["kw"])
    b = np.dtype(case.dtype).itemsize
    xb = 1 if p.get("pattern") == "uint8" else b
    return Cost(
        flops=2.0 * n * oh * ow * m * (k2 + o),
        bytes=xb * n * int(p["C"]) * int(p["H"]) * int(p["W"])
        + b * (m * (k2 + 1 + o) + o + n * o * oh * ow),
        items=n * o * oh * ow,
        item_unit="outputs",
    )


def tolerance(case: Case) -> Tolerance:
    """Each mid value is a kH·kW-long sum of ~1/k-sized terms (~N(0, 1)), each output an
    M-long sum of mid values times ~1/sqrt(M): the depthwise rounding (~k·eps) passes
    through the pointwise stage at the same scale and the pointwise adds ~sqrt(M)·eps, so
    K = kH·kW + M + 2 (two bias adds) in the default 10·sqrt(K)·eps bounds both, as rtol
    and as atol (outputs ~1). uint8 images scale everything by up to 255: atol x 255."""
    p = case.params
    _, m, _, _, _ = _geometry(case)
    k = int(p["kh"]) * int(p["kw"]) + m + 2
    scale = 255.0 if p.get("pattern") == "uint8" else 1.0
    base = default_tolerance(case.dtype, k, scale)
    return Tolerance(base.rtol, base.atol, base.reason + " (K = kH·kW + M + 2)")


S2: dict[str, Any] = {"stride": (2, 2)}
CASES = [
    case("random_f32"),
    case("random_f64", dtype="float64"),
    # the error base: m = 2, every size distinct and >= 2 (N 2, C 5, M 10, O 7, 11 x 13, 4 x 3)
    case("multiplier2_rect", N=2, C=5, mult=2, O=7, H=11, W=13, kh=4, kw=3),
    case("multiplier3_f64", dtype="float64", C=3, mult=3, O=4),
    case("stride2", H=12, W=15, options=S2),
    case("stride2_f64_same", dtype="float64", H=13, W=10, options={**S2, "padding": "same"}),
    case("even_kernel_half_pad", kh=4, kw=2),
    case("even_kernel_asymmetric_pad", kh=4, kw=4, options={"padding": (1, 2, 2, 1)}),
    case("even_kernel_same", kh=2, kw=4, options={"padding": "same"}),
    case("valid_5x5", kh=5, kw=5, H=14, W=12, options={"padding": (0, 0, 0, 0)}),
    case("dilated", H=16, W=17, options={"dilation": (2, 2)}),
    case("no_bias_f64", dtype="float64", bias=False),
    # several hundred output columns and output channels: past the first block of a tile
    case("multi_block", N=1, C=3, O=264, H=6, W=300),
    edge("single_channel", C=1, mult=1, O=6),
    edge("one_pixel_input", H=1, W=1),
    edge("pointwise_kernel_1x1", kh=1, kw=1, options=S2),
    edge("uint8_image", pattern="uint8", C=3),
    edge("nan_near_padding", dtype="float64", pattern="nan_corner"),
    edge("channels_last_input", pattern="channels_last", options=S2),
    # one empty symbol each; every other size nonzero, distinct and not 1 (w_pw's literal)
    edge("empty_batch", N=0, C=5, mult=2, O=7, H=11, W=13, kh=4, kw=3),
    edge("no_out_channels", N=2, C=5, mult=2, O=0, H=11, W=13, kh=4, kw=3),
    # channel shuffle: g = 2 and 3 of O = 6 (the two differ from their inverse permutations
    # only when g·g != O), g = O (an identity, like g = 1), uneven O/g with a multiplier
    case("shuffle_g2", O=6, options={"shuffle_groups": 2}),
    case("shuffle_g3_f64", dtype="float64", O=6, options={"shuffle_groups": 3}),
    case("shuffle_g3_stride2", C=3, mult=2, O=12, H=9, W=11, options={**S2, "shuffle_groups": 3}),
    edge("shuffle_g_equals_o", O=2, options={"shuffle_groups": 2}),
]
ERRORS = [
    error(
        "m_not_multiple_of_c",
        ValueError,
        r"M=11 .*multiple of x's C=5",
        C=5,
        mult=2,
        extra_m=1,
        O=7,
    ),
    error("one_bias_only", ValueError, r"both biases or neither", one_bias=True),
    error(
        "o_not_divisible_by_shuffle_groups",
        ValueError,
        r"O=7 .*shuffle_groups=2",
        C=5,
        mult=2,
        O=7,
        options={"shuffle_groups": 2},
    ),
    error(
        "output_empty",
        ValueError,
        r"output size H_out=-?[0-9]+,",
        H=2,
        kh=5,
        options={"padding": (0, 0, 0, 0)},
    ),
]
INVALID_OPTIONS: list[dict[str, Any]] = [
    {"stride": (0, 1)},
    {"dilation": (1, 0)},
    {"padding": (-1, 0, 0, 0)},
    {"padding": "valid"},
    {"stride": (1.5, 1)},
    {"shuffle_groups": 0},
    {"shuffle_groups": True},
]
# The spec's standard (8 x 64 x 112 x 112 -> 128, 3 x 3: 1.8 GFLOP, 100 MB in) is seconds
# per call on one core here; the quick profile runs one image of it (0.22 GFLOP), the
# spec's sizes are in "full".
STD: dict[str, Any] = {"C": 64, "O": 128, "H": 112, "W": 112, "kh": 3, "kw": 3}
BENCH = {
    "smoke": [bench("bench_small", N=1, C=8, O=16, H=20, W=20, kh=3, kw=3)],
    "quick": [bench("bench_one_image", N=1, **STD)],
    "full": [
        bench("bench_spec_standard", N=8, **STD),
        bench("bench_large", N=32, **{**STD, "C": 128, "O": 256}),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(1, 2),
            "C": st.integers(1, 3),
            "mult": st.integers(1, 2),
            "O": st.integers(1, 4),
            "H": st.integers(3, 12),
            "W": st.integers(3, 12),
            "kh": st.integers(1, 4),
            "kw": st.integers(1, 4),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "bias": st.booleans(),
            "pattern": st.sampled_from(["random", "uint8", "channels_last"]),
        }
    )
    options = SeparableOptions.strategy(optional=True)
    return fuzz_cases(params, options).filter(_valid)


def _valid(c: Case) -> bool:
    p = c.params
    if p["O"] % SeparableOptions.build(c.options).shuffle_groups:
        return False
    try:
        separable_plan(
            (1, p["C"], p["H"], p["W"]),
            (p["C"] * p["mult"], 1, p["kh"], p["kw"]),
            SeparableOptions.build(c.options),
        )
    except ValueError:
        return False
    return True


SUITE = Suite(
    algorithm="depthwise_separable_conv",
    family="dense-image-ops",
    summary="mid[n, q] = b_dw[q] + sum_{i, j} w_dw[q, 0, i, j]·xpad[n, q // m, y·s + i·d, "
    "x·s + j·d]; out[n, o] = b_pw[o] + sum_q w_pw[o, q, 0, 0]·mid[n, q]: x (N, C, H, W), "
    "w_dw (M = C·m, 1, kH, kW), w_pw (O, M, 1, 1) -> (N, O, H_out, W_out).",
    conventions=(
        "depthwise_separable(x, w_dw, b_dw, w_pw, b_pw, opts) = F.conv2d(F.conv2d(x, w_dw, "
        "b_dw, stride, padding, dilation, groups=C), w_pw, b_pw). Depth multiplier m = M / C: "
        "depthwise output q reads input channel q // m (torch's grouped layout). Padding "
        "(zeros) 'half' = k // 2 on every side (default, the usual k = 3 pad 1), four explicit "
        "sides or TF 'same'; geometry as conv2d_direct (floor). Stride and dilation apply to "
        "the depthwise stage; the pointwise stage is 1 x 1, stride 1. Biases on both stages "
        "or neither (ValueError otherwise); BN/ReLU between the stages are not part of it. "
        "shuffle_groups g > 1 shuffles the output channels (output k is channel "
        "(k % g)·(O/g) + k // g; ValueError when g does not divide O). "
        "Cross-correlation, no kernel flip. x may be a uint8 image (widened, never "
        "accumulated in uint8). Output dtype: the result dtype of the inputs. NaN propagates "
        "to the outputs whose window holds it. Raises ValueError when M is not a multiple of "
        "C, H_out or W_out <= 0, or C, M, H, W or a kernel side is 0."
    ),
    args=ARGS,
    options=SeparableOptions,
    make_inputs=make_inputs,
    oracle=depthwise_separable,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={
        "seed": 7,
        "dtype": "float32",
        "N": 2,
        "C": 4,
        "O": 6,
        "H": 12,
        "W": 10,
        "kh": 3,
        "kw": 3,
    },
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_one_image",
    error_base="multiplier2_rect",
    invalid_options=INVALID_OPTIONS,
    multi_block={"W": 300, "O": 264},
    fuzz=fuzz_strategy,
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),  # no Py (spec)
    reference="torch.nn.functional.conv2d(groups=C) then a 1 x 1 F.conv2d (torch 2.13 CPU)",
)

"""Suite for conv2d_direct: 2-D cross-correlation of an NCHW batch with (C_out, C_in/g, kH, kW)
weights, stride, padding (four sides, four modes), dilation and groups, as torch's F.conv2d."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


def _ints(v: Any, n: int, low: int) -> bool:
    """A tuple (or, read back from JSON, a list) of n plain ints, each >= low."""
    return (
        isinstance(v, tuple | list)
        and len(v) == n
        and all(isinstance(k, int) and not isinstance(k, bool) and k >= low for k in v)
    )


def _padding_ok(v: Any) -> bool:
    return v == "same" or _ints(v, 4, 0)


_PADDINGS: tuple[tuple[int, ...] | str, ...] = ((0, 0, 0, 0), (1, 1, 1, 1), (1, 2, 2, 1), "same")


@dataclass(frozen=True)
class ConvOptions(Options):
    stride: tuple[int, int] = option(
        (1, 1), (2, 2), (3, 2), meaning="(s_h, s_w), each >= 1", accepts=lambda v: _ints(v, 2, 1)
    )
    padding: tuple[int, ...] | str = option(
        *_PADDINGS,
        meaning="(top, bottom, left, right) rows/columns added, each >= 0 (torch's symmetric "
        "(p_h, p_w) is (p_h, p_h, p_w, p_w)); 'same': H_out = ceil(H / s_h), the total "
        "d(k - 1) + 1 + (H_out - 1)s - H split with the odd one at the bottom/right (TF; torch "
        "padding='same' for stride 1)",
        accepts=_padding_ok,
    )
    dilation: tuple[int, int] = option(
        (1, 1),
        (2, 2),
        (1, 3),
        meaning="(d_h, d_w) tap spacing, each >= 1",
        accepts=lambda v: _ints(v, 2, 1),
    )
    groups: int = option(
        1,
        2,
        4,
        meaning="channel groups g: C_in and C_out divisible by g",
        accepts=lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
    )
    padding_mode: str = option(
        "zeros",
        "reflect",
        "replicate",
        "circular",
        meaning="what the padding holds: zeros, a mirror without the edge (torch reflect, "
        "cv2 REFLECT_101), the edge repeated, or the opposite side (torch circular)",
    )

    def validate(self) -> None:  # JSON gives lists: hold tuples, so equal options compare equal
        for name in ("stride", "padding", "dilation"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))


ARGS = Args(
    Arg("x", ("N", "C", "H", "W"), "real"),
    Arg("weight", ("O", "Cg", "KH", "KW")),
    Arg("bias", ("O",), optional=True),
    nonempty=("C", "Cg", "H", "W", "KH", "KW"),
)


class Plan(NamedTuple):
    """Everything the loops need, resolved from the shapes and the options."""

    pads: tuple[int, int, int, int]  # top, bottom, left, right
    stride: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    out_h: int
    out_w: int


def _out_size(size: int, before: int, after: int, k: int, s: int, d: int) -> int:
    return (size + before + after - d * (k - 1) - 1) // s + 1  # floor, as torch


def _same(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def conv_plan(x_shape: Sequence[int], w_shape: Sequence[int], opts: ConvOptions) -> Plan:
    """Validate the geometry (after ARGS.check) and resolve padding and the output size.
    Raises ValueError naming what is wrong: groups not dividing C or O, a weight whose Cg
    is not C / groups, an output size <= 0, reflect padding not smaller than the image."""
    _, c, h, w = (int(v) for v in x_shape)
    o, cg, kh, kw = (int(v) for v in w_shape)
    g, (sh, sw), (dh, dw) = opts.groups, opts.stride, opts.dilation
    if c % g:
        raise ValueError(f"x has C={c}, not divisible by groups={g}")
    if o % g:
        raise ValueError(f"weight has O={o}, not divisible by groups={g}")
    if cg * g != c:
        raise ValueError(f"weight has Cg={cg} but x has C={c}: with groups={g}, Cg = {c // g}")
    if opts.padding == "same":
        pads = (*_same(h, kh, sh, dh), *_same(w, kw, sw, dw))
    else:
        pads = tuple(int(p) for p in opts.padding)  # type: ignore[assignment]
    top, bottom, left, right = pads
    oh = _out_size(h, top, bottom, kh, sh, dh)
    ow = _out_size(w, left, right, kw, sw, dw)
    if oh <= 0 or ow <= 0:
        raise ValueError(
            f"output size H_out={oh}, W_out={ow} <= 0: the dilated kernel "
            f"({dh * (kh - 1) + 1}x{dw * (kw - 1) + 1}) exceeds the padded x ({h}x{w} + {pads})"
        )
    if opts.padding_mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
        raise ValueError(f"reflect padding {pads} must be smaller than x's H={h}, W={w}")
    return Plan(pads, (sh, sw), (dh, dw), g, oh, ow)


#: padding_mode -> numpy.pad mode
NP_PAD = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad_numpy(x: np.ndarray, plan: Plan, mode: str) -> np.ndarray:
    """x (N, C, H, W) padded as the plan and padding_mode say (a fresh C-contiguous array)."""
    t, b, left, r = plan.pads
    if not any(plan.pads):
        return np.ascontiguousarray(x)
    if mode == "circular" and (max(t, b) > x.shape[2] or max(left, r) > x.shape[3]):
        raise ValueError(f"circular padding {plan.pads} must not exceed x's H, W")
    padded: np.ndarray = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)), mode=NP_PAD[mode])  # type: ignore[call-overload]
    return padded


def conv2d_direct(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """Oracle: float64; pad, then for every tap (i, j) add w[:, :, i, j] times the strided
    window of x that tap sees, one group at a time."""
    dtype = ARGS.check(x, weight, bias)
    plan = conv_plan(np.shape(x), np.shape(weight), opts)
    xp = pad_numpy(np.asarray(x, dtype=np.float64), plan, opts.padding_mode)
    w = np.asarray(weight, dtype=np.float64)
    n, (o, cg, kh, kw) = xp.shape[0], w.shape
    (sh, sw), (dh, dw), g, oh, ow = plan.stride, plan.dilation, plan.groups, plan.out_h, plan.out_w
    og = o // g
    out = np.zeros((n, o, oh, ow))
    for gi in range(g):
        xs, os_ = slice(gi * cg, (gi + 1) * cg), slice(gi * og, (gi + 1) * og)
        for i in range(kh):
            for j in range(kw):
                # rows i*dh, i*dh + sh, ...: the input pixels tap (i, j) meets for each output
                win = xp[
                    :,
                    xs,
                    i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                    j * dw : j * dw + sw * (ow - 1) + 1 : sw,
                ]
                out[:, os_] += np.einsum("nchw,oc->nohw", win, w[os_, :, i, j])
    if bias is not None:
        out += np.asarray(bias, dtype=np.float64)[None, :, None, None]
    return out.astype(dtype)


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    g = int(case.options.get("groups", 1))
    n, c, o, h, w = (int(p[k]) for k in ("N", "C", "O", "H", "W"))
    kh, kw = int(p["kh"]), int(p["kw"])
    cg = int(p.get("cg", c // g if c % g == 0 else max(c // g, 1)))
    pattern = p.get("pattern", "random")
    x = rng.standard_normal((n, c, h, w))
    if pattern == "uint8":  # an image: the sum of 255s needs a float accumulator
        x = rng.integers(0, 256, size=(n, c, h, w)).astype(np.float64)
    elif pattern == "nan_corner" and x.size:  # reaches only the outputs whose window holds it
        x[0, 0, 0, 0] = np.nan
    # Kaiming-like scale: every output is ~N(0, 1) (times 128 for uint8 images)
    weight = rng.standard_normal((o, cg, kh, kw)) / math.sqrt(cg * kh * kw)
    bias = rng.standard_normal(o) if p.get("bias", True) else None
    dtype = np.dtype(case.dtype)
    x = x.astype(np.uint8 if pattern == "uint8" else dtype)
    weight = weight.astype(dtype)
    if pattern == "channels_last":  # (N, H, W, C) storage seen as (N, C, H, W)
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    elif pattern == "strided_weight":  # every other kernel of a wider array: not contiguous
        wide = np.zeros((o, 2 * cg, kh, kw), dtype=dtype)
        wide[:, ::2] = weight
        weight = wide[:, ::2]
    return {"x": x, "weight": weight, "bias": None if bias is None else bias.astype(dtype)}


def _k(case: Case) -> int:
    """The reduction length: C_in / g times the kernel area."""
    p = case.params
    g = int(case.options.get("groups", 1))
    return int(p.get("cg", max(int(p["C"]) // g, 1))) * int(p["kh"]) * int(p["kw"])


def _geometry(case: Case) -> tuple[int, int, int, int, int]:
    """(N, C_out, H_out, W_out, C_in / g) of a case, from its params and options."""
    p = case.params
    opts = ConvOptions.build(case.options)
    c, g = int(p["C"]), opts.groups
    cg = int(p.get("cg", max(c // g, 1)))
    try:
        plan = conv_plan((p["N"], cg * g, p["H"], p["W"]), (p["O"], cg, p["kh"], p["kw"]), opts)
        oh, ow = plan.out_h, plan.out_w
    except ValueError:  # an error case: its cost does not matter
        oh = ow = 1
    return int(p["N"]), int(p["O"]), oh, ow, cg


def cost(case: Case) -> Cost:
    """flops = 2·N·C_out·H_out·W_out·(C_in/g)·kH·kW (+ one add per output for the bias);
    bytes = b·(input + weight + output), each moved once (ALGORITHMS.md 1.8)."""
    p = case.params
    n, o, oh, ow, cg = _geometry(case)
    kh, kw = int(p["kh"]), int(p["kw"])
    b = np.dtype(case.dtype).itemsize
    xb = 1 if p.get("pattern") == "uint8" else b
    outputs = n * o * oh * ow
    return Cost(
        flops=2.0 * outputs * cg * kh * kw + outputs * bool(p.get("bias", True)),
        bytes=xb * n * int(p["C"]) * int(p["H"]) * int(p["W"])
        + b * (o * cg * kh * kw + o + outputs),
        items=outputs,
        item_unit="outputs",
    )


def tolerance(case: Case) -> Tolerance:
    """Each output is a K-long dot product (K = C_in/g·kH·kW) whose terms are ~1/sqrt(K) and
    whose partial sums stay ~1 (Kaiming-scaled weights, unit inputs): float32 rounding adds
    ~eps·sqrt(K) absolutely whatever the summation order (GEMM blocking, oneDNN's, a direct
    loop), so the default 10·sqrt(K)·eps serves as rtol and, outputs being ~1, as atol. A
    uint8 image scales inputs, outputs and errors by up to 255: atol x 255. K + 1 counts
    the bias add."""
    scale = 255.0 if case.params.get("pattern") == "uint8" else 1.0
    base = default_tolerance(case.dtype, _k(case) + 1, scale)
    return Tolerance(base.rtol, base.atol, base.reason + " (K = C_in/g·kH·kW + bias)")


P1, SAME = {"padding": (1, 1, 1, 1)}, {"padding": "same"}
# bias=None is drawn by the fuzz strategy and checked on every implementation by
# tests/test_conv2d_direct.py: a verify case with bias=None trips the conformance test's size
# reader (it takes np.asarray(None).shape for the optional bias).
NO_BIAS = case("no_bias_f64", dtype="float64", bias=False, options={"padding": (1, 1, 1, 1)})
CASES = [
    case("random_f32"),
    case("random_f64", dtype="float64", options=P1),
    # the error base: groups = 2 makes C (8) and Cg (4) differ, every size distinct and >= 2
    case("grouped_f32", N=2, C=8, O=10, H=13, W=11, kh=3, kw=5, options={"groups": 2}),
    # stride 2 over 12 + 2 - 3 = 11 rows: floor(11/2) + 1 = 6, ceil would give 7
    case("stride2_pad1", H=12, W=15, options={"stride": (2, 2), **P1}),
    case("stride_exceeds_kernel", H=17, W=14, kh=2, kw=2, options={"stride": (3, 2)}),
    case("pointwise_1x1", C=16, O=24, kh=1, kw=1),
    case("pointwise_1x1_strided", C=7, O=9, kh=1, kw=1, options={"stride": (2, 2)}),
    case("even_kernel_asymmetric_pad", kh=4, kw=4, options={"padding": (1, 2, 2, 1)}),
    case("dilated", H=16, W=17, options={"dilation": (2, 2), **P1}),
    case("dilated_rectangular_f64", dtype="float64", kh=3, kw=2, options={"dilation": (1, 3)}),
    case("depthwise_groups4", C=4, O=8, options={"groups": 4, **P1}),
    case("same_even_kernel", kh=4, kw=2, options=SAME),
    case("same_strided_f64", dtype="float64", H=13, W=10, options={"stride": (2, 2), **SAME}),
    case("reflect", options={"padding_mode": "reflect", "padding": (1, 2, 2, 1)}),
    case("replicate_f64", dtype="float64", options={"padding_mode": "replicate", **P1}),
    case("circular", kh=2, kw=5, options={"padding_mode": "circular", "padding": (0, 1, 2, 2)}),
    # several hundred output columns and channels: past the first block of a tiled kernel
    case("multi_block", N=1, C=3, O=264, H=6, W=300, options=P1),
    edge("uint8_image", pattern="uint8", C=3, options=P1),
    edge("nan_near_padding", dtype="float64", pattern="nan_corner", options=P1),
    edge("channels_last_input", pattern="channels_last", options=P1),
    edge("strided_weight", pattern="strided_weight", options={"stride": (2, 2)}),
    edge("kernel_covers_image", H=3, W=5, kh=3, kw=5),
    edge("one_output_row_grouped", H=3, kh=3, C=4, O=6, options={"groups": 2, "stride": (2, 2)}),
    # one empty symbol each; every other size nonzero and distinct (groups 2: C 8, Cg 4)
    edge("empty_batch", N=0, C=8, O=10, H=13, W=11, kh=3, kw=5, options={"groups": 2}),
    edge("no_out_channels", N=2, C=8, O=0, H=13, W=11, kh=3, kw=5, options={"groups": 2}),
]
ERRORS = [
    error(
        "groups_not_dividing_c",
        ValueError,
        r"C=6, not divisible by groups=4",
        C=6,
        O=8,
        cg=1,
        options={"groups": 4},
    ),
    error(
        "groups_not_dividing_o",
        ValueError,
        r"O=5, not divisible by groups=2",
        C=8,
        O=5,
        options={"groups": 2},
    ),
    error(
        "weight_channels_mismatch",
        ValueError,
        r"Cg=3 but x has C=8",
        C=8,
        O=10,
        cg=3,
        options={"groups": 2},
    ),
    error("output_empty", ValueError, r"H_out=0", H=2, kh=3),
    error("dilated_output_empty", ValueError, r"W_out=0", W=6, options={"dilation": (1, 3)}),
    error(
        "reflect_pad_too_large",
        ValueError,
        r"reflect padding",
        H=3,
        W=9,
        options={"padding_mode": "reflect", "padding": (3, 3, 1, 1)},
    ),
]
INVALID_OPTIONS: list[dict[str, Any]] = [
    {"stride": (0, 1)},
    {"stride": (1, -2)},
    {"dilation": (1, 0)},
    {"padding": (-1, 0, 0, 0)},
    {"padding": (1, 1)},
    {"padding": "valid"},
    {"groups": 0},
    {"stride": (1.5, 1)},
    {"padding_mode": "symmetric"},
]
# The spec's standard (N = 8, C = O = 64, 56 x 56, 3 x 3, pad 1: 1.85 GFLOP) is about a second
# a call on one core here, several per implementation in the quick profile; the quick
# standard is one image of it (0.23 GFLOP), the spec's sizes are in "full".
STD = {"C": 64, "O": 64, "H": 56, "W": 56, "kh": 3, "kw": 3}
BENCH = {
    "smoke": [bench("bench_py", N=1, C=3, O=8, H=20, W=20, kh=3, kw=3, options=P1)],
    "quick": [bench("bench_one_image", N=1, **STD, options=P1)],
    "full": [
        bench("bench_spec_standard", N=8, **STD, options=P1),
        bench("bench_large", N=32, **{**STD, "C": 128, "O": 128}, options=P1),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(p: dict[str, Any], o: dict[str, Any]) -> Case:
        g = int(o.get("groups", 1))
        p = {**p, "C": p["C"] * g, "O": p["O"] * g}
        return Case("fuzz", p, o, "fuzz")

    sizes = {"N": (1, 2), "C": (1, 3), "O": (1, 3), "H": (3, 12), "W": (3, 12)}
    params = st.fixed_dictionaries(
        {
            **{k: st.integers(lo, hi) for k, (lo, hi) in sizes.items()},
            "kh": st.integers(1, 3),
            "kw": st.integers(1, 3),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "bias": st.booleans(),
            "pattern": st.sampled_from(["random", "uint8", "channels_last"]),
        }
    )
    options = st.fixed_dictionaries(
        {},
        optional={
            "stride": st.tuples(st.integers(1, 3), st.integers(1, 3)),
            "dilation": st.tuples(st.integers(1, 2), st.integers(1, 2)),
            "padding": st.one_of(st.just("same"), st.tuples(*[st.integers(0, 2)] * 4)),
            "groups": st.sampled_from([1, 2]),
            "padding_mode": st.sampled_from(ConvOptions.flag("padding_mode").values),
        },
    )
    # H, W >= 3 and pads <= 2 keep reflect legal; a kernel larger than the padded image is
    # an error case, so hypothesis draws those only where the sizes allow
    return st.builds(build, params, options).filter(_valid_geometry)


def _valid_geometry(c: Case) -> bool:
    p = c.params
    try:
        conv_plan(
            (p["N"], p["C"], p["H"], p["W"]),
            (p["O"], p["C"] // c.options.get("groups", 1), p["kh"], p["kw"]),
            ConvOptions.build(c.options),
        )
    except ValueError:
        return False
    return True


SUITE = Suite(
    algorithm="conv2d_direct",
    family="dense-image-ops",
    summary="out[n, o, y, x] = b[o] + sum_{c, i, j} w[o, c, i, j]·xpad[n, g(o)·C/g + c, "
    "y·s_h + i·d_h, x·s_w + j·d_w]: x (N, C, H, W), weight (O, C/g, kH, kW), bias (O,) or "
    "None -> (N, O, H_out, W_out).",
    conventions=(
        "conv2d_direct(x, weight, bias, opts). Cross-correlation: no kernel flip "
        "(scipy.signal.correlate2d, F.conv2d; convolve2d flips). NCHW input, (O, C/g, kH, kW) "
        "weights (torch). padding=(top, bottom, left, right), 'same' as TF (odd total: the "
        "extra row/column at the bottom/right); padding_mode fills it with zeros, a mirror "
        "without the edge (reflect), the edge (replicate) or the opposite side (circular). "
        "H_out = floor((H + top + bottom - d_h(kH - 1) - 1)/s_h) + 1 (floor, as torch). Output "
        "channel o reads input channels of group o // (O/g). x may be an integer image: the "
        "result is float (x's values widened, never accumulated in uint8). Output dtype: the "
        "result dtype of x, weight and bias (float64 for an integer x with float64 weights). "
        "NaN propagates to the outputs whose window holds it. Raises ValueError for C or O not "
        "divisible by groups, Cg != C/g, H_out or W_out <= 0, reflect padding >= H or W "
        "(circular > H or W), a zero C, H, W or kernel side; stride, dilation or groups < 1 "
        "and negative padding are refused by the options record."
    ),
    args=ARGS,
    options=ConvOptions,
    make_inputs=make_inputs,
    oracle=conv2d_direct,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={
        "seed": 3,
        "dtype": "float32",
        "N": 2,
        "C": 6,
        "O": 5,
        "H": 12,
        "W": 10,
        "kh": 3,
        "kw": 3,
    },
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_one_image",
    error_base="grouped_f32",
    invalid_options=INVALID_OPTIONS,
    multi_block={"W": 300, "O": 264},
    fuzz=fuzz_strategy,
    reference="torch.nn.functional.conv2d (oneDNN, torch 2.13 CPU; F.pad for asymmetric "
    "padding and padding modes); scipy.signal.correlate2d(mode='valid') per channel pair; "
    "cv2.filter2D (BORDER_CONSTANT, anchor (0, 0)) on cv2.copyMakeBorder-padded planes, cropped",
)

"""Suite for im2col_conv: convolution as unfold (im2col) + one GEMM per group, and its adjoint,
col2im (fold), as the input gradient of that convolution.

Forward: x (N, C, H, W) unfolds to cols (N, C·kH·kW, H_out·W_out), rows ordered (c, i, j) as
F.unfold and the weight's flattening; out = W_g @ cols_g + b per group. Both are outputs, so the
row order is checked bit for bit. Backward (``im2col_conv.backward``): cols_grad =
W_gᵀ @ grad_out_g, folded back onto the (H, W) image: overlapping patches sum (F.fold).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Outputs, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance
from suites.conv2d_direct import _PADDINGS, ConvOptions, Plan, _ints, _padding_ok, conv_plan
from suites.conv2d_direct import make_inputs as conv_inputs


@dataclass(frozen=True)
class Im2colOptions(Options):
    stride: tuple[int, int] = option(
        (1, 1), (2, 2), (3, 2), meaning="(s_h, s_w), each >= 1", accepts=lambda v: _ints(v, 2, 1)
    )
    padding: tuple[int, ...] | str = option(
        *_PADDINGS,
        meaning="(top, bottom, left, right) zero rows/columns, each >= 0 (F.unfold's "
        "symmetric (p_h, p_w) is (p_h, p_h, p_w, p_w)); 'same': H_out = ceil(H / s_h), the "
        "odd padding row/column at the bottom/right",
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
        meaning="channel groups g: one GEMM per group",
        accepts=lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
    )

    def validate(self) -> None:  # JSON gives lists: hold tuples
        for name in ("stride", "padding", "dilation"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))


def im2col_plan(x_shape: Any, w_shape: Any, opts: Im2colOptions) -> Plan:
    """conv2d_direct's geometry (zero padding): resolved pads, output size; ValueError for
    groups not dividing C or O, Cg != C/g, an output size <= 0."""
    conv = ConvOptions(opts.stride, opts.padding, opts.dilation, opts.groups)
    return conv_plan(x_shape, w_shape, conv)


ARGS = Args(
    Arg("x", ("N", "C", "H", "W"), "real"),
    Arg("weight", ("O", "Cg", "KH", "KW")),
    Arg("bias", ("O",), optional=True),
    nonempty=("C", "Cg", "H", "W", "KH", "KW"),
)


def unfold(x: Any, plan: Plan, kh: int, kw: int) -> np.ndarray:
    """float64 cols (N, C·kH·kW, H_out·W_out): row (c, i, j), column y·W_out + x."""
    t, b, left, r = plan.pads
    xp = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (t, b), (left, r)))
    (sh, sw), (dh, dw), oh, ow = plan.stride, plan.dilation, plan.out_h, plan.out_w
    n, c = xp.shape[:2]
    cols = np.zeros((n, c, kh, kw, oh, ow))
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                                  j * dw : j * dw + sw * (ow - 1) + 1 : sw]  # fmt: skip
    return cols.reshape(n, c * kh * kw, oh * ow)


def im2col_conv(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    """Oracle: float64 unfold tap by tap, then W_g @ cols_g for each group, then the bias;
    returns (cols, out) in the result dtype."""
    dtype = ARGS.check(x, weight, bias)
    plan = im2col_plan(np.shape(x), np.shape(weight), opts)
    o, cg, kh, kw = np.shape(weight)
    g, k = plan.groups, cg * kh * kw
    cols = unfold(x, plan, kh, kw)
    n, length = cols.shape[0], cols.shape[2]
    w = np.asarray(weight, dtype=np.float64).reshape(g, o // g, k)
    out = np.zeros((n, g, o // g, length))
    for gi in range(g):
        out[:, gi] = np.einsum("ok,nkl->nol", w[gi], cols[:, gi * k : (gi + 1) * k])
    out = out.reshape(n, o, plan.out_h, plan.out_w)
    if bias is not None:
        out += np.asarray(bias, dtype=np.float64)[None, :, None, None]
    return cols.astype(dtype), out.astype(dtype)


def make_inputs(case: Case) -> Inputs:
    return conv_inputs(case)  # the convolution's: Kaiming weights, patterns, groups


def _sizes(case: Case) -> tuple[int, int, int, int, int, int]:
    """(N, C, O, C/g, kH·kW, H_out·W_out) of a case (an error case: H_out·W_out = 1)."""
    p = case.params
    opts = Im2colOptions.build(case.options)
    g = opts.groups
    cg = int(p.get("cg", max(int(p["C"]) // g, 1)))
    try:
        plan = im2col_plan((p["N"], cg * g, p["H"], p["W"]), (p["O"], cg, p["kh"], p["kw"]), opts)
        length = plan.out_h * plan.out_w
    except ValueError:
        length = 1
    return int(p["N"]), int(p["C"]), int(p["O"]), cg, int(p["kh"]) * int(p["kw"]), length


def cost(case: Case) -> Cost:
    """GEMM flops = the convolution's, 2·N·O·L·(C/g)·kH·kW (+ the bias); bytes: input, weight
    and output once, plus the cols written and read back, 2b·N·C·kH·kW·L (ALGORITHMS.md)."""
    n, c, o, cg, taps, length = _sizes(case)
    p = case.params
    b = np.dtype(case.dtype).itemsize
    bias = bool(p.get("bias", True))
    return Cost(
        flops=2.0 * n * o * length * cg * taps + n * o * length * bias,
        bytes=b * (n * c * int(p["H"]) * int(p["W"]) + o * cg * taps + n * o * length)
        + 2.0 * b * n * c * taps * length,
        items=n * o * length,
        item_unit="outputs",
    )


def out_tolerance(case: Case) -> Tolerance:
    """As conv2d_direct: a K = C/g·kH·kW dot product of ~1/sqrt(K) terms (Kaiming weights)
    with partial sums ~1, whatever the GEMM's blocking: 10·sqrt(K + 1)·eps, atol the same
    (x 255 for uint8 images)."""
    _, _, _, cg, taps, _ = _sizes(case)
    scale = 255.0 if case.params.get("pattern") == "uint8" else 1.0
    return default_tolerance(case.dtype, cg * taps + 1, scale)


def cols_tolerance(case: Case) -> Tolerance:
    return Tolerance(0.0, 0.0, "cols are copies of x's values and zeros: exact")


BACKENDS = ("numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library")  # no pure Python
P1, SAME = {"padding": (1, 1, 1, 1)}, {"padding": "same"}
COMMON = [
    case("random_f32"),
    case("random_f64", dtype="float64", options=P1),
    # the error base: groups = 2 makes C (8) and Cg (4) differ, every size distinct and >= 2
    case("grouped_f32", N=2, C=8, O=10, H=13, W=11, kh=3, kw=5, options={"groups": 2}),
    case("stride2_pad1", H=12, W=15, options={"stride": (2, 2), **P1}),
    case("stride_exceeds_kernel", H=17, W=14, kh=2, kw=2, options={"stride": (3, 2)}),
    case("pointwise_1x1", C=16, O=24, kh=1, kw=1),
    case("non_square_asymmetric_pad", kh=4, kw=2, options={"padding": (1, 2, 2, 1)}),
    case("dilated", H=16, W=17, options={"dilation": (2, 2), **P1}),
    case("dilated_rectangular_f64", dtype="float64", kh=3, kw=2, options={"dilation": (1, 3)}),
    case("depthwise_groups4", C=4, O=8, options={"groups": 4, **P1}),
    case("same_even_kernel", kh=4, kw=2, options=SAME),
    case("same_strided_f64", dtype="float64", H=13, W=10, options={"stride": (2, 2), **SAME}),
    # several hundred output columns and channels: past the first block of a tiled kernel
    case("multi_block", N=1, C=3, O=264, H=6, W=300, options=P1),
    edge("kernel_covers_image", H=3, W=5, kh=3, kw=5),
    # one empty symbol each; every other size nonzero and distinct (groups 2: C 8, Cg 4)
    edge("empty_batch", N=0, C=8, O=10, H=13, W=11, kh=3, kw=5, options={"groups": 2}),
    edge("no_out_channels", N=2, C=8, O=0, H=13, W=11, kh=3, kw=5, options={"groups": 2}),
]
CASES = [
    *COMMON,
    edge("channels_last_input", pattern="channels_last", options=P1),
    edge("uint8_image", pattern="uint8", C=3, options=P1),
    edge("nan_near_padding", dtype="float64", pattern="nan_corner", options=P1),
]
ERRORS = [
    error("groups_not_dividing_c", ValueError, r"C=6, not divisible by groups=4",
          C=6, O=8, cg=1, options={"groups": 4}),
    error("weight_channels_mismatch", ValueError, r"Cg=3 but x has C=8",
          C=8, O=10, cg=3, options={"groups": 2}),
    error("output_empty", ValueError, r"H_out=0", H=2, kh=3),
]  # fmt: skip
INVALID_OPTIONS: list[dict[str, Any]] = [
    {"stride": (0, 1)},
    {"dilation": (1, 0)},
    {"padding": (-1, 0, 0, 0)},
    {"groups": 0},
]
# One image of the conv2d_direct spec's layer at 20 x 20 (29 MFLOP): forward and backward
# (4 implementations each on a CPU) fit the quick profile's 6 s; the spec's sizes are in "full".
STD = {"C": 64, "O": 64, "kh": 3, "kw": 3}
BENCH = {
    "smoke": [bench("bench_small", N=1, C=3, O=8, H=20, W=20, kh=3, kw=3, options=P1)],
    "quick": [bench("bench_one_image_20", N=1, H=20, W=20, **STD, options=P1)],
    "full": [
        bench("bench_one_image", N=1, H=56, W=56, **STD, options=P1),
        bench("bench_spec_standard", N=8, H=56, W=56, **STD, options=P1),
        bench("bench_large", N=32, H=56, W=56, **{**STD, "C": 128, "O": 128}, options=P1),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(p: dict[str, Any], o: dict[str, Any]) -> Case:
        g = int(o.get("groups", 1))
        return Case("fuzz", {**p, "C": p["C"] * g, "O": p["O"] * g}, o, "fuzz")

    sizes = {"N": (1, 2), "C": (1, 3), "O": (1, 3), "H": (3, 12), "W": (3, 12)}
    params = st.fixed_dictionaries(
        {
            **{k: st.integers(lo, hi) for k, (lo, hi) in sizes.items()},
            "kh": st.integers(1, 3),
            "kw": st.integers(1, 3),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "bias": st.booleans(),
            "pattern": st.sampled_from(["random", "channels_last"]),
        }
    )
    options = st.fixed_dictionaries(
        {},
        optional={
            "stride": st.tuples(st.integers(1, 3), st.integers(1, 3)),
            "dilation": st.tuples(st.integers(1, 2), st.integers(1, 2)),
            "padding": st.one_of(st.just("same"), st.tuples(*[st.integers(0, 2)] * 4)),
            "groups": st.sampled_from([1, 2]),
        },
    )
    return st.builds(build, params, options).filter(_valid)


def _valid(c: Case) -> bool:
    p = c.params
    g = int(c.options.get("groups", 1))
    shapes = (p["N"], p["C"], p["H"], p["W"]), (p["O"], p["C"] // g, p["kh"], p["kw"])
    try:
        im2col_plan(*shapes, Im2colOptions.build(c.options))
    except ValueError:
        return False
    return True


CONVENTIONS = (
    "Zero padding (top, bottom, left, right) or 'same' (odd row/column at the bottom/right), "
    "stride, dilation and groups as conv2d_direct; H_out = floor((H + top + bottom - "
    "d_h(kH - 1) - 1)/s_h) + 1. cols rows are ordered (c, i, j), c over all C input channels "
    "(group gi owns rows gi·K .. (gi + 1)·K - 1, K = C/g·kH·kW), exactly F.unfold's; columns "
    "y·W_out + x. Raises ValueError for C or O not divisible by groups, Cg != C/g, H_out or "
    "W_out <= 0, a zero C, H, W or kernel side; bad stride, dilation, groups or padding are "
    "refused by the options record."
)

SUITE = Suite(
    algorithm="im2col_conv",
    family="dense-image-ops",
    summary="cols = unfold(x) (N, C·kH·kW, H_out·W_out), out = W_g @ cols_g + b per group "
    "(N, O, H_out, W_out): x (N, C, H, W), weight (O, C/g, kH, kW), bias (O,) or None.",
    conventions="im2col_conv(x, weight, bias, opts) -> (cols, out). " + CONVENTIONS
    + " cols and out take the result dtype of x, weight and bias (an integer image is "
    "widened); NaN in x is copied into cols and reaches the outputs whose window holds it.",
    args=ARGS,
    options=Im2colOptions,
    make_inputs=make_inputs,
    oracle=im2col_conv,
    compare=Outputs({"cols": Close(override=cols_tolerance), "out": Close(override=out_tolerance)}),
    cost=cost,
    defaults={"seed": 5, "dtype": "float32", "N": 2, "C": 6, "O": 5, "H": 12, "W": 10,
              "kh": 3, "kw": 3},
    cases=CASES,
    errors=ERRORS,
    outputs=("cols", "out"),
    may_alias=("cols",),  # 1x1, stride 1, no padding: cols is x itself, reshaped (a view)
    backends=BACKENDS,
    bench=BENCH,
    standard="bench_one_image_20",
    error_base="grouped_f32",
    invalid_options=INVALID_OPTIONS,
    multi_block={"W": 300, "O": 264},
    fuzz=fuzz_strategy,
    reference="torch.nn.functional.unfold (cols) and F.conv2d (out), torch 2.13 CPU",
)  # fmt: skip


# ---- backward: col2im (fold) of W_gᵀ @ grad_out_g, the input gradient --------------------------

BACKWARD_ARGS = Args(
    Arg("grad_out", ("N", "O", "HO", "WO")),
    Arg("weight", ("O", "Cg", "KH", "KW")),
    Scalar("H", "int", low=1),
    Scalar("W", "int", low=1),
    nonempty=("Cg", "KH", "KW", "HO", "WO"),
    same_dtype=("grad_out", "weight"),
)


def backward_plan(grad_shape: Any, w_shape: Any, h: int, w: int, opts: Im2colOptions) -> Plan:
    """The forward's geometry for an (H, W) image; ValueError when grad_out's (H_out, W_out)
    is not what that image gives (the fold's size and the column count disagree)."""
    n, _, ho, wo = (int(v) for v in grad_shape)
    cg = int(w_shape[1])
    plan = im2col_plan((n, cg * opts.groups, h, w), w_shape, opts)
    if (ho, wo) != (plan.out_h, plan.out_w):
        raise ValueError(
            f"grad_out has (H_out, W_out)=({ho}, {wo}) but an image of H={h}, W={w} gives "
            f"({plan.out_h}, {plan.out_w}) blocks: fold size and column count disagree"
        )
    return plan


def im2col_conv_backward(grad_out: Any, weight: Any, H: Any, W: Any, opts: Im2colOptions) -> Any:
    """Oracle: float64; for every tap (i, j), W[:, :, i, j]ᵀ·grad_out lands on the pixels
    that tap read (a strided window of the padded image, overlaps summing); padding cropped."""
    dtype = BACKWARD_ARGS.check(grad_out, weight, H, W)
    plan = backward_plan(np.shape(grad_out), np.shape(weight), H, W, opts)
    gy = np.asarray(grad_out, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    n, (o, cg, kh, kw), g = gy.shape[0], w.shape, plan.groups
    t, b, left, r = plan.pads
    (sh, sw), (dh, dw), oh, ow = plan.stride, plan.dilation, plan.out_h, plan.out_w
    og = o // g
    gx = np.zeros((n, cg * g, H + t + b, W + left + r))
    for gi in range(g):
        cs, os_ = slice(gi * cg, (gi + 1) * cg), slice(gi * og, (gi + 1) * og)
        for i in range(kh):
            for j in range(kw):
                gx[:, cs, i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                   j * dw : j * dw + sw * (ow - 1) + 1 : sw] += np.einsum(
                    "nohw,oc->nchw", gy[:, os_], w[os_, :, i, j])  # fmt: skip
    return gx[:, :, t : t + H, left : left + W].astype(dtype)


def make_backward_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    fwd = conv_inputs(case)
    weight = fwd["weight"]
    opts = Im2colOptions.build(case.options)
    try:
        plan = im2col_plan(fwd["x"].shape, weight.shape, opts)
        ho, wo = plan.out_h, plan.out_w
    except ValueError:  # the forward's own error cases: any grad_out, the geometry raises
        ho, wo = 1, 1
    ho += int(p.get("extra_rows", 0))
    grad = rng.standard_normal((int(p["N"]), int(p["O"]), ho, wo)).astype(weight.dtype)
    if p.get("pattern") == "nan_corner" and grad.size:
        grad[0, 0, -1, -1] = np.nan
    elif p.get("pattern") == "channels_last":  # (N, H_out, W_out, O) storage seen as NCHW
        grad = np.ascontiguousarray(grad.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return {"grad_out": grad, "weight": weight, "H": int(p["H"]), "W": int(p["W"])}


def backward_cost(case: Case) -> Cost:
    """The GEMM W_gᵀ @ grad_out_g (the forward's flops) plus one add per cols element folded;
    bytes: grad_out, weight and grad_x once, plus the cols written and read back."""
    n, c, o, cg, taps, length = _sizes(case)
    p = case.params
    b = np.dtype(case.dtype).itemsize
    return Cost(
        flops=2.0 * n * o * length * cg * taps + n * c * taps * length,
        bytes=b * (n * o * length + o * cg * taps + n * c * int(p["H"]) * int(p["W"]))
        + 2.0 * b * n * c * taps * length,
        items=n * c * int(p["H"]) * int(p["W"]),
        item_unit="pixels",
    )


def backward_tolerance(case: Case) -> Tolerance:
    """A pixel of grad_x sums O/g·(taps covering it) <= O/g·kH·kW products of unit grad_out
    and Kaiming weights ~1/sqrt(C/g·kH·kW): its magnitude is ~sqrt(O/C) and float32 rounding
    ~eps·sqrt(K)·that, K = O/g·kH·kW. 10·sqrt(K)·eps, atol times max(1, sqrt(O/C))."""
    _, c, o, _, taps, _ = _sizes(case)
    g = Im2colOptions.build(case.options).groups
    scale = max(1.0, math.sqrt(o / max(c, 1)))
    return default_tolerance(case.dtype, max(o // g, 1) * taps, scale)


BACKWARD_CASES = [
    *COMMON,
    edge("channels_last_grad_out", pattern="channels_last", options=P1),
    edge("channels_last_input", pattern="channels_last", options=P1),
    edge("nan_in_grad_out", dtype="float64", pattern="nan_corner", options=P1),
]
# no x, so C is C/g·g by construction: the weight's O and the image's size can still be wrong
BACKWARD_ERRORS = [
    error("groups_not_dividing_o", ValueError, r"O=5, not divisible by groups=2",
          C=8, O=5, options={"groups": 2}),
    error("output_empty", ValueError, r"H_out=0", H=2, kh=3),
    error("fold_size_mismatch", ValueError, r"fold size and column count disagree",
          extra_rows=1, options=P1),
]  # fmt: skip

BACKWARD_SUITE = Suite(
    algorithm="im2col_conv.backward",
    mode="backward",
    family="dense-image-ops",
    summary="grad_x = fold(W_gᵀ @ grad_out_g) (N, C, H, W): grad_out (N, O, H_out, W_out), "
    "weight (O, C/g, kH, kW), the image's H and W; col2im sums overlapping patches.",
    conventions="im2col_conv_backward(grad_out, weight, H, W, opts) -> grad_x, the gradient "
    "of im2col_conv's out with respect to x. " + CONVENTIONS + " grad_out and weight share "
    "one floating dtype, the result's. Also raises ValueError when grad_out's (H_out, W_out) "
    "is not what an (H, W) image gives (the fold's size and the column count disagree).",
    args=BACKWARD_ARGS,
    options=Im2colOptions,
    make_inputs=make_backward_inputs,
    oracle=im2col_conv_backward,
    compare=Close(override=backward_tolerance),
    cost=backward_cost,
    defaults=SUITE.defaults,
    cases=BACKWARD_CASES,
    errors=BACKWARD_ERRORS,
    outputs=("grad_x",),
    backends=BACKENDS,
    bench=BENCH,
    standard="bench_one_image_20",
    error_base="grouped_f32",
    invalid_options=INVALID_OPTIONS,
    multi_block={"WO": 300, "O": 264},
    fuzz=fuzz_strategy,
    reference="torch.nn.functional.fold of Wᵀ @ grad_out (torch 2.13 CPU)",
)

SUITES = [SUITE, BACKWARD_SUITE]

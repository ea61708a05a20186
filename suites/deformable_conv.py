"""Suite for deformable_conv: deformable convolution v1 / v2 (torchvision.ops.deform_conv2d):
every kernel tap reads the input bilinearly at a learned fractional offset, optionally scaled
by a modulation mask."""

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
from suites.bilinear_sample import SampleOptions, bilinear_sample
from suites.conv2d_direct import _ints


@dataclass(frozen=True)
class DeformOptions(Options):
    stride: tuple[int, int] = option(
        (1, 1), (2, 2), (2, 1), meaning="(s_h, s_w), each >= 1", accepts=lambda v: _ints(v, 2, 1)
    )
    padding: tuple[int, int] = option(
        (0, 0),
        (1, 1),
        (2, 1),
        meaning="(p_h, p_w): the kernel grid starts at (-p_h, -p_w); samples outside the "
        "image read zeros (torchvision's symmetric padding)",
        accepts=lambda v: _ints(v, 2, 0),
    )
    dilation: tuple[int, int] = option(
        (1, 1),
        (2, 2),
        (1, 2),
        meaning="(d_h, d_w) tap spacing, each >= 1",
        accepts=lambda v: _ints(v, 2, 1),
    )

    def validate(self) -> None:  # JSON gives lists: hold tuples, so equal options compare equal
        for name in ("stride", "padding", "dilation"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))


ARGS = Args(
    Arg("x", ("N", "C", "H", "W")),
    Arg("offset", ("N", "OC", "Ho", "Wo")),
    Arg("weight", ("O", "Cw", "KH", "KW")),
    Arg("bias", ("O",), optional=True),
    Arg("mask", ("N", "MC", "Ho", "Wo"), optional=True),
    nonempty=("C", "H", "W", "OC", "Ho", "Wo", "Cw", "KH", "KW", "MC"),
)


class Plan(NamedTuple):
    """The geometry every implementation needs, resolved from the shapes and the options."""

    offset_groups: int  # G: input channel c reads the offsets of group c // (C / G)
    groups: int  # weight groups: C / Cw
    out_h: int
    out_w: int


def deform_plan(
    x_shape: Sequence[int],
    offset_shape: Sequence[int],
    weight_shape: Sequence[int],
    mask_shape: Sequence[int] | None,
    opts: DeformOptions,
) -> Plan:
    """Validate the geometry (after ARGS.check) as torchvision does; ValueError naming what is
    wrong: Cw not dividing C, O not divisible by the groups, offset channels not a multiple of
    2·kH·kW, C not divisible by the offset groups, mask channels != G·kH·kW, an output size
    <= 0, offsets whose spatial size is not the output's."""
    _, c, h, w = (int(v) for v in x_shape)
    o, cw, kh, kw = (int(v) for v in weight_shape)
    oc, oh_given, ow_given = (int(v) for v in offset_shape[1:])
    if c % cw:
        raise ValueError(f"weight has Cw={cw}, which does not divide x's C={c}")
    groups = c // cw
    if o % groups:
        raise ValueError(f"weight has O={o}, not divisible by groups={groups} (C / Cw)")
    taps = kh * kw
    if oc % (2 * taps):
        raise ValueError(
            f"offset has OC={oc} channels, not 2·offset_groups·kH·kW (a multiple of {2 * taps})"
        )
    g = oc // (2 * taps)
    if c % g:
        raise ValueError(f"x has C={c}, not divisible by offset_groups={g}")
    if mask_shape is not None and int(mask_shape[1]) != g * taps:
        raise ValueError(f"mask has MC={mask_shape[1]} channels, expected G·kH·kW = {g * taps}")
    (sh, sw), (ph, pw), (dh, dw) = opts.stride, opts.padding, opts.dilation
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if oh <= 0 or ow <= 0:
        raise ValueError(
            f"output size H_out={oh}, W_out={ow} <= 0: the dilated kernel is "
            f"larger than the padded x ({h}x{w}, padding {opts.padding})"
        )
    if (oh_given, ow_given) != (oh, ow):
        raise ValueError(
            f"offset has spatial size ({oh_given}, {ow_given}), the output is ({oh}, {ow})"
        )
    return Plan(g, groups, oh, ow)


def tap_grid(plan: Plan, kh: int, kw: int, opts: DeformOptions) -> tuple[Any, Any]:
    """(rows, cols), each (Ho, Wo, kH, kW): where tap (i, j) of output (y, x) reads before its
    offset, y·s_h − p_h + i·d_h and x·s_w − p_w + j·d_w."""
    (sh, sw), (ph, pw), (dh, dw) = opts.stride, opts.padding, opts.dilation
    ys = (np.arange(plan.out_h) * sh - ph)[:, None, None, None] + (np.arange(kh) * dh)[:, None]
    xs = (np.arange(plan.out_w) * sw - pw)[None, :, None, None] + np.arange(kw) * dw
    shape = (plan.out_h, plan.out_w, kh, kw)
    return (
        np.broadcast_to(ys, shape).astype(np.float64),
        np.broadcast_to(xs, shape).astype(np.float64),
    )


def deformable_conv(
    x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: DeformOptions
) -> Any:
    """Oracle: float64. For each offset group g and tap k = i·kW + j, the sample points
    (rows + offset[2(g·K + k)], cols + offset[2(g·K + k) + 1]) are read from the group's
    channels with the zero-padded bilinear sampler of bilinear_sample (a tap outside the
    image contributes 0), times mask[g·K + k]; then each weight group's output channels are
    the weighted sum over its input channels and taps, plus the bias."""
    dtype = ARGS.check(x, offset, weight, bias, mask)
    plan = deform_plan(
        np.shape(x),
        np.shape(offset),
        np.shape(weight),
        None if mask is None else np.shape(mask),
        opts,
    )
    x64, off = np.asarray(x, dtype=np.float64), np.asarray(offset, dtype=np.float64)
    w64 = np.asarray(weight, dtype=np.float64)
    n, c = x64.shape[:2]
    o, cw, kh, kw = w64.shape
    taps, g, cg = kh * kw, plan.offset_groups, c // plan.offset_groups
    rows, cols = (a.reshape(plan.out_h, plan.out_w, taps) for a in tap_grid(plan, kh, kw, opts))
    sampled = np.zeros((n, c, taps, plan.out_h, plan.out_w))
    zeros = SampleOptions()
    for gi in range(g):
        for k in range(taps):
            at = 2 * (gi * taps + k)
            where = np.stack([rows[..., k] + off[:, at], cols[..., k] + off[:, at + 1]], axis=-1)
            s = bilinear_sample(x64[:, gi * cg : (gi + 1) * cg], where, zeros)
            if mask is not None:
                s = s * np.asarray(mask, dtype=np.float64)[:, None, gi * taps + k]
            sampled[:, gi * cg : (gi + 1) * cg, k] = s
    out = np.zeros((n, o, plan.out_h, plan.out_w))
    og = o // plan.groups
    for gi in range(plan.groups):
        part = sampled[:, gi * cw : (gi + 1) * cw]
        kernel = w64[gi * og : (gi + 1) * og].reshape(og, cw, taps)
        out[:, gi * og : (gi + 1) * og] = np.einsum("nckhw,ock->nohw", part, kernel)
    if bias is not None:
        out += np.asarray(bias, dtype=np.float64)[None, :, None, None]
    return out.astype(dtype)


def _geometry(case: Case) -> tuple[int, int, int, int, int]:
    """(N, O, H_out, W_out, Cw) of a case from its params and options (1x1 if invalid)."""
    p = case.params
    opts = DeformOptions.build(case.options)
    kh, kw = int(p["kh"]), int(p["kw"])
    (sh, sw), (ph, pw), (dh, dw) = opts.stride, opts.padding, opts.dilation
    oh = max((int(p["H"]) + 2 * ph - dh * (kh - 1) - 1) // sh + 1, 1)
    ow = max((int(p["W"]) + 2 * pw - dw * (kw - 1) - 1) // sw + 1, 1)
    cw = max(int(p["C"]) // int(p.get("groups", 1)), 1)
    return int(p["N"]), int(p["O"]), oh, ow, cw


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    n, c, o, h, w = (int(p[k]) for k in ("N", "C", "O", "H", "W"))
    kh, kw, g = int(p["kh"]), int(p["kw"]), int(p.get("G", 1))
    _, _, oh, ow = _geometry(case)[:4]
    oh, ow = int(p.get("oh", oh)), int(p.get("ow", ow))
    cw = int(p.get("cw", max(c // int(p.get("groups", 1)), 1)))
    taps = kh * kw
    x = rng.uniform(-1.0, 1.0, (n, c, h, w))  # |neighbour step| <= 2: see tolerance
    weight = rng.standard_normal((o, cw, kh, kw)) / math.sqrt(cw * taps)  # outputs ~ N(0, 1/3)
    bias = rng.standard_normal(o) if p.get("bias", True) else None
    offset = rng.normal(
        0.0, float(p.get("scale", 1.5)), (n, int(p.get("oc", 2 * g * taps)), oh, ow)
    )
    mask = (
        rng.uniform(0.0, 1.0, (n, int(p.get("mc", g * taps)), oh, ow))
        if p.get("mask", True)
        else None
    )
    pattern = p.get("pattern", "random")
    if pattern == "integer":
        offset = np.round(offset)
    elif pattern == "half_integer":  # halfway between pixels, exact in float32
        offset = np.round(2.0 * offset) / 2.0
    elif pattern == "zero_offsets":
        offset = np.zeros_like(offset)
    elif pattern == "far" and offset.size:  # every third dy or dx: well outside the image
        far = offset[:, ::3]
        offset[:, ::3] = far + np.where(rng.random(far.shape) < 0.5, -1.0, 1.0) * (h + w)
    if pattern == "zero_mask" and mask is not None:
        mask = np.zeros_like(mask)
    dtype = np.dtype(case.dtype)

    def cast(a: Any) -> Any:
        return None if a is None else a.astype(dtype)

    return {
        "x": cast(x),
        "offset": cast(offset),
        "weight": cast(weight),
        "bias": cast(bias),
        "mask": cast(mask),
    }


def cost(case: Case) -> Cost:
    """flops: the convolution's 2·N·O·P·Cw·kH·kW (P = H_out·W_out) plus ≈ 10 per sample
    (N·C·kH·kW·P samples: coordinates, four weights, four multiply-adds, the mask); bytes:
    b·(x + offset + mask + weight + output) + 4b per sample gathered (an upper bound)."""
    p = case.params
    n, o, oh, ow, cw = _geometry(case)
    kh, kw, g = int(p["kh"]), int(p["kw"]), int(p.get("G", 1))
    c, h, w = int(p["C"]), int(p["H"]), int(p["W"])
    b = np.dtype(case.dtype).itemsize
    pos, taps = oh * ow, kh * kw
    samples = n * c * taps * pos
    moved = n * c * h * w + n * 3 * g * taps * pos + o * cw * taps + o + n * o * pos
    return Cost(
        flops=2.0 * n * o * pos * cw * taps + 10.0 * samples,
        bytes=b * (moved + 4 * samples),
        items=n * o * pos,
        item_unit="outputs",
    )


def tolerance(case: Case) -> Tolerance:
    """Each output is a K-long dot product (K = Cw·kH·kW, + the bias) of Kaiming-scaled
    weights and samples |s| <= 1: the default 10·sqrt(K)·eps relative, and absolute (outputs
    are ~1). On top, the sample coordinates: a float32 library forms y·s − p + i·d + offset
    in float32, an error of ~2 ulps of |coordinate| <= max(H, W) + 2 (farther samples are 0
    whatever the error). That moves a sample by the error times the neighbour step (<= 2 on
    these [-1, 1) images), and the K samples add it up weighted by |w| (sum ~ sqrt(K)):
    8·sqrt(K)·(max(H, W) + 2)·eps of atol."""
    _, _, _, _, cw = _geometry(case)
    p = case.params
    k = cw * int(p["kh"]) * int(p["kw"])
    base = default_tolerance(case.dtype, k + 1)
    eps = 2.0**-24 if case.dtype == "float32" else 2.0**-53
    coord = 8.0 * math.sqrt(k) * (max(int(p["H"]), int(p["W"])) + 2) * eps
    return Tolerance(
        base.rtol,
        base.atol + coord,
        base.reason + f"; + 8·sqrt(K)·(max(H, W) + 2)·eps = {coord:.2g} atol (sample coordinates)",
    )


P1 = {"padding": (1, 1)}
F64: dict[str, Any] = {"dtype": "float64"}
CASES = [
    case("v2_f32", options=P1),
    case("v2_f64", options=P1, **F64),
    case("v1_no_mask_f32", mask=False, options=P1),
    case("v1_no_mask_f64", mask=False, **F64),
    # the error base: groups 3 (Cw 4 != C 12), a 3x5 kernel; every size distinct and >= 2
    case("groups_3_rect_kernel", N=2, C=12, O=9, H=13, W=10, kh=3, kw=5, groups=3),
    case("offset_groups_2", C=6, G=2, options=P1),
    case("offset_groups_3_f64", C=6, G=3, kh=2, kw=3, options={"padding": (2, 1)}, **F64),
    # weight groups and offset groups cut the channels differently: 6 = 2 x 3 = 3 x 2
    case("groups_2_offset_groups_3", C=6, O=4, groups=2, G=3, options=P1),
    case("stride_2_f64", H=13, W=12, options={"stride": (2, 2), **P1}, **F64),
    case("stride_2_1", H=12, W=9, options={"stride": (2, 1), "padding": (2, 1)}),
    case("dilated_f64", H=14, W=13, options={"dilation": (2, 2), **P1}, **F64),
    case("dilated_rect", kh=2, kw=3, options={"dilation": (1, 2)}),
    case("no_bias_f64", bias=False, options=P1, **F64),
    case("pointwise_1x1", C=5, O=7, kh=1, kw=1, scale=2.0),
    # several hundred output columns: past the first block of a tiled kernel
    case("multi_block", N=1, C=3, O=4, H=5, W=302, kh=3, kw=3),
    edge("integer_offsets_f64", pattern="integer", options=P1, **F64),
    edge("half_integer_offsets_f64", pattern="half_integer", options=P1, **F64),
    edge("far_outside_offsets", pattern="far", G=2, C=4, options=P1),
    edge("zero_offsets_f64", pattern="zero_offsets", mask=False, options=P1, **F64),
    edge("zero_mask", pattern="zero_mask", options=P1),
    edge("kernel_covers_image", H=3, W=5, kh=3, kw=5, scale=3.0),
    edge("one_pixel_image_f64", H=1, W=1, kh=1, kw=1, scale=0.7, **F64),
    # one empty symbol each; every other size nonzero and distinct
    edge("empty_batch", N=0, C=12, O=9, H=13, W=10, kh=3, kw=5, groups=3),
    edge("no_out_channels", N=2, C=12, O=0, H=13, W=10, kh=3, kw=5, groups=3),
]
BASE: dict[str, Any] = {"N": 2, "C": 12, "O": 9, "H": 13, "W": 10, "kh": 3, "kw": 5, "groups": 3}
ERRORS = [
    error("offset_channels_not_2gk", ValueError, r"offset has OC=29", **BASE, oc=29),
    error(
        "offset_groups_not_dividing_c", ValueError, r"not divisible by offset_groups=5", **BASE, G=5
    ),
    error("mask_channels_wrong", ValueError, r"mask has MC=16", **BASE, mc=16),
    error(
        "offset_spatial_size_wrong", ValueError, r"offset has spatial size \(10, 6\)", **BASE, oh=10
    ),
    error("cw_not_dividing_c", ValueError, r"Cw=5, which does not divide", **BASE, cw=5),
    error(
        "o_not_divisible_by_groups",
        ValueError,
        r"O=10, not divisible by groups=3",
        **{**BASE, "O": 10},
    ),
    error("output_empty", ValueError, r"H_out=0", **{**BASE, "H": 2}, oh=1),
]
INVALID_OPTIONS: list[dict[str, Any]] = [
    {"stride": (0, 1)},
    {"dilation": (1, 0)},
    {"padding": (-1, 0)},
    {"padding": (1, 1, 1, 1)},
    {"stride": (1.5, 1)},
]
# The spec's standard, 2x64x56x56 -> 64, 3x3, pad 1 (0.23 GFLOP of GEMM + 3.6 M samples),
# is predicted over the quick profile's 6 s with four CPU implementations, the oracle and
# the timing rounds: the quick standard is one image of it, the spec's size is in "full".
STD = {"C": 64, "O": 64, "H": 56, "W": 56, "kh": 3, "kw": 3}
BENCH = {
    "smoke": [bench("bench_small", N=1, C=8, O=8, H=20, W=20, kh=3, kw=3, options=P1)],
    "quick": [bench("bench_one_image", N=1, **STD, options=P1)],
    "full": [
        bench("bench_spec_standard", N=2, **STD, options=P1),
        bench("bench_v1_spec_standard", N=2, **STD, mask=False, options=P1),
        bench("bench_large", **{**STD, "N": 8, "C": 256, "O": 256}, options=P1),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(p: dict[str, Any], o: dict[str, Any]) -> Case:
        p = {**p, "C": p["C"] * p["groups"] * p["G"], "O": p["O"] * p["groups"]}
        return Case("fuzz", p, o, "fuzz")

    params = st.fixed_dictionaries(
        {
            "N": st.integers(1, 2),
            "C": st.integers(1, 2),
            "O": st.integers(1, 3),
            "H": st.integers(3, 10),
            "W": st.integers(3, 10),
            "kh": st.integers(1, 3),
            "kw": st.integers(1, 3),
            "G": st.integers(1, 2),
            "groups": st.integers(1, 2),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "bias": st.booleans(),
            "mask": st.booleans(),
            "scale": st.sampled_from([0.5, 1.5, 4.0]),
            "pattern": st.sampled_from(["random", "integer", "half_integer", "far"]),
        }
    )
    options = st.fixed_dictionaries(
        {},
        optional={
            "stride": st.tuples(st.integers(1, 2), st.integers(1, 2)),
            "dilation": st.tuples(st.integers(1, 2), st.integers(1, 2)),
            "padding": st.tuples(st.integers(0, 2), st.integers(0, 2)),
        },
    )
    return st.builds(build, params, options).filter(_valid_geometry)


def _valid_geometry(c: Case) -> bool:
    p, opts = c.params, DeformOptions.build(c.options)
    (ph, pw), (dh, dw) = opts.padding, opts.dilation
    return bool(p["H"] + 2 * ph > dh * (p["kh"] - 1) and p["W"] + 2 * pw > dw * (p["kw"] - 1))


SUITE = Suite(
    algorithm="deformable_conv",
    family="dense-image-ops",
    summary="out[n, o, y, x] = b[o] + sum_{c, i, j} w[o, c, i, j]·m[n, g·K + k, y, x]·"
    "bilinear(x[n, c'], y·s_h − p_h + i·d_h + dy, x·s_w − p_w + j·d_w + dx), k = i·kW + j, "
    "(dy, dx) = offset[n, 2(g·K + k) : 2(g·K + k) + 2, y, x]: x (N, C, H, W), offset "
    "(N, 2·G·K, H_out, W_out), weight (O, C/groups, kH, kW), bias (O,) or None, mask "
    "(N, G·K, H_out, W_out) or None -> (N, O, H_out, W_out).",
    conventions=(
        "deformable_conv(x, offset, weight, bias, mask, opts), torchvision.ops.deform_conv2d's "
        "layout. Offsets: 2·G·kH·kW channels, for offset group g and tap k = i·kW + j "
        "(row-major over the kernel) the pair (dy, dx) at channels 2(g·K + k) and "
        "2(g·K + k) + 1; G = OC / (2·kH·kW) and input channel c belongs to offset group "
        "c // (C / G). Mask (DCNv2 modulation, None for DCNv1): G·kH·kW channels, channel "
        "g·K + k. Weight groups = C / Cw as in F.conv2d (output channel o reads the input "
        "channels of group o // (O / groups)); the offset groups cut the channels on their "
        "own. Each tap samples bilinearly with zero padding: a neighbour outside the image "
        "contributes 0, so a sample at or beyond -1 or H (W) is 0 and one between -1 and 0 "
        "blends towards 0 (torchvision; roi_align clamps there instead). H_out = "
        "floor((H + 2p_h − d_h(kH − 1) − 1)/s_h) + 1. Zero offsets with a unit mask equal "
        "F.conv2d. The output dtype is the result dtype of the float inputs. Offsets are "
        "finite (torchvision gives 0 for an infinite coordinate and leaves NaN undefined). "
        "Raises ValueError for Cw not dividing C, O not divisible by the groups, offset "
        "channels not a multiple of 2·kH·kW, C not divisible by G, mask channels != G·kH·kW, "
        "H_out or W_out <= 0, offset or mask spatial size != the output's, a zero C, H, W or "
        "kernel side; stride or dilation < 1 and negative padding are refused by the options."
    ),
    args=ARGS,
    options=DeformOptions,
    make_inputs=make_inputs,
    oracle=deformable_conv,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={
        "seed": 5,
        "dtype": "float32",
        "N": 2,
        "C": 6,
        "O": 5,
        "H": 9,
        "W": 11,
        "kh": 3,
        "kw": 3,
    },
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_one_image",
    error_base="groups_3_rect_kernel",
    invalid_options=INVALID_OPTIONS,
    multi_block={"Wo": 300},
    fuzz=fuzz_strategy,
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="torchvision.ops.deform_conv2d's semantics ported into the oracle (torchvision "
    "does not install next to the CPU torch; golden fixtures recorded with it are checked); "
    "torch F.grid_sample (zeros, align_corners=False) + F.conv2d over the tap-expanded "
    "image; zero offsets = F.conv2d",
)

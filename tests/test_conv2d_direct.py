"""conv2d_direct: the suite catches each classic convolution mistake, and its oracle agrees
with F.conv2d and scipy.signal.correlate2d.

Every wrong variant below is one NumPy tap loop (the oracle's shape, in the working dtype)
with one mistake switched on; verify must flag it with a diagnosis naming what went wrong,
while the same loop without the mistake passes the same case. Inputs are the suite's seeded
cases; nothing is random here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.signal import correlate2d

from harness.registry import Implementation, load_registry
from harness.spec import Case
from harness.verify import Verdict, case_inputs, oracle_output, verify
from suites.conv2d_direct import ARGS, NO_BIAS, SUITE, ConvOptions, conv_plan, pad_numpy

Fn = Callable[[Any, Any, Any, ConvOptions], Any]


def run(fn: Fn, case: str | Case) -> Verdict:
    impl = Implementation("conv2d_direct", "numpy", fn.__name__, fn)
    return verify(SUITE, impl, SUITE.find_case(case) if isinstance(case, str) else case)


def taps(
    x: Any,
    weight: Any,
    bias: Any,
    opts: ConvOptions,
    *,
    flip: bool = False,
    pads: tuple[int, int, int, int] | None = None,
    dilation: tuple[int, int] | None = None,
    group_of: Callable[[int, int, int], int] = lambda o, og, g: o // og,
    rounding: Callable[[float], int] = np.floor,
    dtype: Any = None,
    pad_mode: str | None = None,
    tile: int = 0,
) -> Any:
    """out[:, o] += w[o, :, i, j] * window(i, j), tap by tap; keywords inject mistakes."""
    dtype = dtype or ARGS.check(x, weight, bias)
    plan = conv_plan(x.shape, weight.shape, opts)
    plan = plan._replace(pads=pads or plan.pads)
    xp = pad_numpy(np.asarray(x).astype(dtype), plan, pad_mode or opts.padding_mode)
    w = np.asarray(weight).astype(dtype)
    if flip:
        w = w[:, :, ::-1, ::-1]
    (sh, sw), (dh, dw) = plan.stride, dilation or plan.dilation
    o, cg, kh, kw = w.shape
    og, g = o // plan.groups, plan.groups
    size = [xp.shape[2] - dh * (kh - 1) - 1, xp.shape[3] - dw * (kw - 1) - 1]
    oh, ow = (int(rounding(s / st)) + 1 for s, st in zip(size, (sh, sw), strict=True))
    full = np.zeros((o, xp.shape[1], kh, kw), dtype=dtype)  # each o's group, zeros elsewhere
    for oc in range(o):
        c0 = group_of(oc, og, g) * cg
        full[oc, c0 : c0 + cg] = w[oc]
    out = np.zeros((xp.shape[0], o, oh, ow), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            rows = np.minimum(np.arange(oh) * sh + i * dh, xp.shape[2] - 1)
            cols = np.minimum(np.arange(ow) * sw + j * dw, xp.shape[3] - 1)
            if tile:  # a tiled loop that forgets the tile's offset past the first tile
                cols = np.where(np.arange(ow) >= tile, cols - tile * sw, cols)
            win = xp[:, :, rows][:, :, :, cols]
            out += np.einsum("nchw,oc->nohw", win, full[:, :, i, j])
    if bias is not None:
        out += np.asarray(bias).astype(dtype)[:, None, None]
    return out


def correct(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    return taps(x, weight, bias, opts)


def assert_caught(fn: Fn, case: str, *words: str) -> Verdict:
    assert run(correct, case).status == "pass", f"the correct loop fails {case}"
    v = run(fn, case)
    assert v.status in ("fail", "error"), f"{fn.__name__} passes {case}"
    for word in words:
        assert word in v.detail, v.detail
    return v


# ---- correlation vs convolution, padding sides, dilation, groups, rounding -------------------


def flipped_kernel(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """scipy.signal.convolve2d's convention: the kernel turned by 180 degrees."""
    return taps(x, weight, bias, opts, flip=True)


def padded_one_side(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """All the padding before the image (top/left), none after: right size, shifted."""
    t, b, left, r = conv_plan(x.shape, weight.shape, opts).pads
    return taps(x, weight, bias, opts, pads=(t + b, 0, left + r, 0))


def same_odd_row_on_top(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """'same' with the odd padding row/column before the image instead of after it."""
    t, b, left, r = conv_plan(x.shape, weight.shape, opts).pads
    return taps(x, weight, bias, opts, pads=(b, t, r, left))


def dilation_ignored(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    return taps(x, weight, bias, opts, dilation=(1, 1))


def groups_interleaved(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """Output channel o reads group o % g (interleaved) instead of o // (O/g) (blocked)."""
    return taps(x, weight, bias, opts, group_of=lambda o, og, g: o % g)


def ceil_output_size(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """H_out rounded up (pooling's ceil_mode): one row too many, read from the clamped edge."""
    return taps(x, weight, bias, opts, rounding=np.ceil)


def symmetric_not_reflect(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """numpy 'symmetric' / cv2 BORDER_REFLECT repeat the edge pixel; torch's reflect does not."""
    return taps(x, weight, bias, opts, pad_mode="symmetric_np")


def test_flipped_kernel_is_convolution_not_correlation() -> None:
    assert_caught(flipped_kernel, "random_f32", "elements differ")


def test_padding_on_one_side_only() -> None:
    assert_caught(padded_one_side, "random_f64", "elements differ")
    assert_caught(padded_one_side, "even_kernel_asymmetric_pad", "elements differ")


def test_same_padding_puts_the_odd_row_after_the_image() -> None:
    assert_caught(same_odd_row_on_top, "same_even_kernel", "elements differ")


def test_dilation_ignored() -> None:
    v = assert_caught(dilation_ignored, "dilated")
    assert "shape" in v.detail


def test_groups_read_the_wrong_input_channels() -> None:
    assert_caught(groups_interleaved, "grouped_f32", "elements differ")


def test_output_size_rounds_down() -> None:
    v = assert_caught(ceil_output_size, "stride2_pad1")
    assert "shape" in v.detail and "(2, 5, 6, 8)" in v.detail


def test_reflect_excludes_the_edge_pixel(monkeypatch: pytest.MonkeyPatch) -> None:
    import suites.conv2d_direct as conv

    monkeypatch.setitem(conv.NP_PAD, "symmetric_np", "symmetric")
    assert_caught(symmetric_not_reflect, "reflect", "elements differ")


# ---- precision, integer images, tiles, empty outputs, aliasing, bias --------------------------


def float32_inside(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    return taps(x, weight, bias, opts, dtype=np.float32).astype(ARGS.check(x, weight, bias))


def image_dtype_arithmetic(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """Arithmetic in x's dtype, widened at the end: uint8 weights truncate, sums wrap."""
    with np.errstate(all="ignore"):
        out = taps(x, weight, bias, opts, dtype=np.asarray(x).dtype)
    return out.astype(ARGS.check(x, weight, bias))


def second_tile_offset(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """256-column tiles whose later tiles restart at column 0 of the input."""
    return taps(x, weight, bias, opts, tile=256)


def flat_empty(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    out = correct(x, weight, bias, opts)
    return out.reshape(out.shape[0], -1) if out.size == 0 else out


def written_into_x(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """Reuses x's buffer when the output has its shape ('same' padding, C == O)."""
    out = correct(x, weight, bias, opts)
    if out.shape == x.shape:
        x[...] = out
        return x
    return out


def bias_dropped(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    return correct(x, weight, None, opts)


def test_float32_accumulation_on_float64_inputs() -> None:
    assert_caught(float32_inside, "random_f64", "elements differ")


def test_uint8_image_accumulates_in_float() -> None:
    assert_caught(image_dtype_arithmetic, "uint8_image", "elements differ")


def test_tiled_kernel_wrong_past_its_first_tile() -> None:
    assert run(second_tile_offset, "random_f32").status == "pass"  # one tile: right
    v = assert_caught(second_tile_offset, "multi_block", "elements differ")
    assert ", 256)" in v.detail  # the first wrong element is the second tile's first column


def test_wrong_shape_on_an_empty_output() -> None:
    assert_caught(flat_empty, "no_out_channels", "shape")
    assert_caught(flat_empty, "empty_batch", "shape")


def test_output_that_aliases_or_overwrites_x() -> None:
    same = SUITE.resolve(Case("same_square", {"C": 5, "O": 5}, {"padding": "same"}, "custom"))
    assert run(correct, same).status == "pass"
    v = run(written_into_x, same)
    assert v.status in ("fail", "error")
    assert "alias" in v.detail or "modified" in v.detail or "written" in v.detail, v.detail


def test_bias_is_added_and_none_means_no_bias() -> None:
    assert_caught(bias_dropped, "random_f32", "elements differ")
    assert run(correct, SUITE.resolve(NO_BIAS)).status == "pass"


REGISTRY = load_registry()
# Numba's kernel always receives a bias array (zeros for None, in its Python wrapper): its
# None path is plain NumPy, and a parallel compile here would cost seconds of test time.
IMPLS = [i for i in REGISTRY.select() if i.algorithm == "conv2d_direct" and i.backend != "numba"]


@pytest.mark.parametrize("impl", IMPLS, ids=lambda i: i.key)
def test_every_implementation_handles_a_missing_bias(impl: Implementation) -> None:
    v = verify(SUITE, impl, SUITE.resolve(NO_BIAS))
    assert v.status in ("pass", "skip"), v.detail


# ---- the oracle against the libraries ---------------------------------------------------------


def _torch_reference(inputs: dict[str, Any], opts: ConvOptions) -> np.ndarray:
    x = torch.from_numpy(np.array(inputs["x"], dtype=np.float64))
    w = torch.from_numpy(np.array(inputs["weight"], dtype=np.float64))
    b = inputs["bias"]
    b = None if b is None else torch.from_numpy(np.array(b, dtype=np.float64))
    plan = conv_plan(x.shape, w.shape, opts)
    if w.shape[0] == 0 or x.shape[0] == 0:
        return np.zeros((x.shape[0], w.shape[0], plan.out_h, plan.out_w))
    t, bo, left, r = plan.pads
    mode = {"zeros": "constant"}.get(opts.padding_mode, opts.padding_mode)
    if opts.padding == "same" and plan.stride == (1, 1):
        with warnings.catch_warnings():  # even kernels: torch pads a copy itself, and says so
            warnings.simplefilter("ignore", UserWarning)
            return F.conv2d(x, w, b, 1, "same", plan.dilation, plan.groups).numpy()
    x = F.pad(x, (left, r, t, bo), mode=mode)
    return F.conv2d(x, w, b, plan.stride, 0, plan.dilation, plan.groups).numpy()


@pytest.mark.parametrize("case", [*SUITE.cases, SUITE.resolve(NO_BIAS)], ids=lambda c: c.name)
def test_oracle_matches_torch_conv2d_in_float64(case: Case) -> None:
    inputs = case_inputs(SUITE, case)
    expected = np.asarray(oracle_output(SUITE, case), dtype=np.float64)
    got = _torch_reference(dict(inputs), ConvOptions.build(case.options))
    np.testing.assert_allclose(expected, got, rtol=1e-6 if case.dtype == "float32" else 1e-12,
                               atol=1e-4 if case.dtype == "float32" else 1e-12)  # fmt: skip


def test_oracle_matches_scipy_correlate2d_not_convolve2d() -> None:
    case = SUITE.find_case("random_f64")
    assert isinstance(case, Case)
    inputs = case_inputs(SUITE, case)
    x, w, b = inputs["x"], inputs["weight"], inputs["bias"]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    want = np.array(
        [[sum(correlate2d(xp[n, c], w[o, c], "valid") for c in range(x.shape[1])) + b[o]
          for o in range(w.shape[0])] for n in range(x.shape[0])]
    )  # fmt: skip
    np.testing.assert_allclose(oracle_output(SUITE, case), want, rtol=1e-12, atol=1e-12)


def filter2d_defaults(x: Any, weight: Any, bias: Any, opts: ConvOptions) -> Any:
    """cv2.filter2D left at its defaults on the unpadded image: it correlates (no flip) and
    keeps the size, but its border is BORDER_REFLECT_101, not zeros."""
    cv2 = pytest.importorskip("cv2")
    dtype = ARGS.check(x, weight, bias)
    xs, w = np.asarray(x, dtype=dtype), np.asarray(weight, dtype=dtype)
    out = np.zeros((xs.shape[0], w.shape[0], *xs.shape[2:]), dtype=dtype)
    for n in range(xs.shape[0]):
        for o in range(w.shape[0]):
            for c in range(xs.shape[1]):
                out[n, o] += cv2.filter2D(xs[n, c], -1, w[o, c])
    return out + np.asarray(bias, dtype=dtype)[:, None, None]


def test_cv2_filter2d_defaults_reflect_at_the_border() -> None:
    """3 x 3, padding 1, zeros: the default filter2D has the right shape and interior, but
    every border output reads mirrored pixels instead of zeros."""
    v = assert_caught(filter2d_defaults, "random_f64", "elements differ")
    assert "(0, 0, 0, 0)" in v.detail  # the first difference is the corner

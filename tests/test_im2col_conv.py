"""im2col_conv: the suite catches each classic unfold/fold mistake, and its oracles agree with
F.unfold, F.conv2d and torch autograd, and with the fold/unfold identities.

Every wrong variant is the plain NumPy unfold + GEMM (or GEMM + fold) with one mistake
switched on; verify must flag it with a diagnosis naming the output that went wrong, while the
same code without the mistake passes the same case. Inputs are the suite's seeded cases, plus
fixed-seed arrays for the identities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, case_inputs, oracle_output, verify
from suites.im2col_conv import (
    ARGS,
    BACKWARD_ARGS,
    BACKWARD_SUITE,
    SUITE,
    Im2colOptions,
    backward_plan,
    im2col_conv,
    im2col_conv_backward,
    im2col_plan,
)


def run(fn: Callable[..., Any], case: str | Case, backward: bool = False) -> Verdict:
    suite = BACKWARD_SUITE if backward else SUITE
    impl = Implementation(suite.algorithm, "numpy", fn.__name__, fn)
    return verify(suite, impl, suite.find_case(case) if isinstance(case, str) else case)


def unfold_gemm(
    x: Any,
    weight: Any,
    bias: Any,
    opts: Im2colOptions,
    *,
    order: str = "cij",
    pads: tuple[int, int, int, int] | None = None,
    dilation: tuple[int, int] | None = None,
    rounding: Callable[[float], Any] = np.floor,
    dtype: Any = None,
    shared_group: bool = False,
    tile: int = 0,
) -> tuple[Any, Any]:
    """Unfold tap by tap, then one GEMM per group; the keywords inject mistakes."""
    dtype = dtype or ARGS.check(x, weight, bias)
    plan = im2col_plan(x.shape, weight.shape, opts)
    t, b, left, r = pads or plan.pads
    xp = np.pad(np.asarray(x).astype(dtype), ((0, 0), (0, 0), (t, b), (left, r)))
    (sh, sw), (dh, dw) = plan.stride, dilation or plan.dilation
    o, cg, kh, kw = weight.shape
    n, c, g = xp.shape[0], xp.shape[1], plan.groups
    sizes = (xp.shape[2] - dh * (kh - 1) - 1, xp.shape[3] - dw * (kw - 1) - 1)
    oh, ow = (int(rounding(s / st)) + 1 for s, st in zip(sizes, (sh, sw), strict=True))
    cols = np.zeros((n, c, kh, kw, oh, ow), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            rows = np.minimum(np.arange(oh) * sh + i * dh, xp.shape[2] - 1)
            cs = np.minimum(np.arange(ow) * sw + j * dw, xp.shape[3] - 1)
            if tile:  # a tiled unfold that forgets the tile's offset past the first tile
                cs = np.where(np.arange(ow) >= tile, cs - tile * sw, cs)
            cols[:, :, i, j] = xp[:, :, rows][:, :, :, cs]
    if order == "ijc":
        cols = cols.transpose(0, 2, 3, 1, 4, 5)
    k = cg * kh * kw
    flat = cols.reshape(n, g, k, oh * ow)
    w = np.asarray(weight).astype(dtype).reshape(g, o // g, k)
    if order == "ijc":  # the weight flattened to match: out is right, cols is not F.unfold's
        w = np.asarray(weight).astype(dtype).transpose(0, 2, 3, 1).reshape(g, o // g, k)
        flat = cols.reshape(n, kh * kw, g, cg, oh * ow).transpose(0, 2, 1, 3, 4)
        flat = flat.reshape(n, g, k, oh * ow)
    if shared_group:
        flat = np.broadcast_to(flat[:, :1], flat.shape)
    out = np.matmul(w, flat).reshape(n, o, oh, ow)
    if bias is not None:
        out = out + np.asarray(bias).astype(dtype)[:, None, None]
    return cols.reshape(n, c * kh * kw, oh * ow), out


def correct(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    return unfold_gemm(x, weight, bias, opts)


def assert_caught(fn: Callable[..., Any], case: str, *words: str, backward: bool = False) -> str:
    good = correct_backward if backward else correct
    assert run(good, case, backward).status == "pass", f"the correct code fails {case}"
    v = run(fn, case, backward)
    assert v.status in ("fail", "error"), f"{fn.__name__} passes {case}"
    for word in words:
        assert word in v.detail, v.detail
    return v.detail


# ---- forward: row order, groups, geometry ------------------------------------------------------


def rows_tap_major(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    """Rows ordered (i, j, c) (a channels-last unfold), weights flattened to match."""
    return unfold_gemm(x, weight, bias, opts, order="ijc")


def one_group_for_all(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    """Every group's GEMM reads group 0's rows of cols."""
    return unfold_gemm(x, weight, bias, opts, shared_group=True)


def dilation_ignored(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    return unfold_gemm(x, weight, bias, opts, dilation=(1, 1))


def padded_one_side(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    t, b, left, r = im2col_plan(x.shape, weight.shape, opts).pads
    return unfold_gemm(x, weight, bias, opts, pads=(t + b, 0, left + r, 0))


def ceil_output_size(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    return unfold_gemm(x, weight, bias, opts, rounding=np.ceil)


def test_rows_follow_f_unfold_order_c_i_j() -> None:
    detail = assert_caught(rows_tap_major, "random_f32", "output 'cols'")
    assert "output 'out'" not in detail  # the GEMM is consistent: only the layout is wrong


def test_groups_read_their_own_rows() -> None:
    assert_caught(one_group_for_all, "grouped_f32", "output 'out'")


def test_dilation_ignored() -> None:
    assert_caught(dilation_ignored, "dilated", "shape")


def test_padding_on_one_side_only() -> None:
    assert_caught(padded_one_side, "non_square_asymmetric_pad", "output 'cols'", "output 'out'")


def test_output_size_rounds_down() -> None:
    assert_caught(ceil_output_size, "stride2_pad1", "shape")


# ---- forward: precision, integer images, tiles, empty outputs, aliasing -------------------------


def float32_inside(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    dtype = ARGS.check(x, weight, bias)
    cols, out = unfold_gemm(x, weight, bias, opts, dtype=np.float32)
    return cols.astype(dtype), out.astype(dtype)


def image_dtype_arithmetic(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    dtype = ARGS.check(x, weight, bias)
    with np.errstate(all="ignore"):
        cols, out = unfold_gemm(x, weight, bias, opts, dtype=np.asarray(x).dtype)
    return cols.astype(dtype), out.astype(dtype)


def second_tile_offset(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    return unfold_gemm(x, weight, bias, opts, tile=256)


def flat_empty(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    cols, out = correct(x, weight, bias, opts)
    return cols, (out.reshape(out.shape[0], -1) if out.size == 0 else out)


def out_written_into_x(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
    cols, out = correct(x, weight, bias, opts)
    if out.shape == x.shape:
        x[...] = out
        return cols, x
    return cols, out


def test_float32_arithmetic_on_float64_inputs() -> None:
    assert_caught(float32_inside, "random_f64", "output 'out'")


def test_uint8_image_is_widened_before_the_gemm() -> None:
    assert_caught(image_dtype_arithmetic, "uint8_image", "output 'out'")


def test_tiled_unfold_wrong_past_its_first_tile() -> None:
    assert run(second_tile_offset, "random_f32").status == "pass"
    assert_caught(second_tile_offset, "multi_block", "output 'cols'", ", 256)")


def test_wrong_shape_on_an_empty_output() -> None:
    assert_caught(flat_empty, "no_out_channels", "shape")
    assert_caught(flat_empty, "empty_batch", "shape")


def test_out_aliasing_x_is_refused_but_a_cols_view_is_allowed() -> None:
    same = SUITE.resolve(Case("same_square", {"C": 5, "O": 5}, {"padding": "same"}, "custom"))
    v = run(out_written_into_x, same)
    assert v.status in ("fail", "error")
    assert "alias" in v.detail or "modified" in v.detail or "written" in v.detail, v.detail

    def cols_view(x: Any, weight: Any, bias: Any, opts: Im2colOptions) -> Any:
        _, out = correct(x, weight, bias, opts)
        return np.asarray(x).reshape(x.shape[0], x.shape[1], -1), out  # 1x1: cols is x

    assert run(cols_view, "pointwise_1x1").status == "pass"


# ---- backward: col2im sums overlaps, the adjoint's weight, crop, the fold size ----------------


def gemm_fold(
    grad_out: Any,
    weight: Any,
    H: Any,
    W: Any,
    opts: Im2colOptions,
    *,
    overwrite: bool = False,
    untransposed: bool = False,
    crop_from: str = "top",
    dtype: Any = None,
    check: bool = True,
) -> Any:
    dtype = dtype or BACKWARD_ARGS.check(grad_out, weight, H, W)
    if check:
        plan = backward_plan(grad_out.shape, weight.shape, H, W, opts)
    else:
        cg = weight.shape[1]
        plan = im2col_plan((1, cg * opts.groups, H, W), weight.shape, opts)
    n, o, oh, ow = grad_out.shape
    _, cg, kh, kw = weight.shape
    g, (t, b, left, r) = plan.groups, plan.pads
    (sh, sw), (dh, dw), c, k = plan.stride, plan.dilation, cg * g, cg * kh * kw
    w = np.asarray(weight).astype(dtype).reshape(g, o // g, k)
    wt = w.reshape(g, k, o // g) if untransposed else w.transpose(0, 2, 1)
    gy = np.asarray(grad_out).astype(dtype)[:, :, : plan.out_h, : plan.out_w]
    cols = np.matmul(wt, gy.reshape(n, g, o // g, -1)).reshape(n, c, kh, kw, plan.out_h, -1)
    oh, ow = plan.out_h, plan.out_w
    gx = np.zeros((n, c, H + t + b, W + left + r), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            cs = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            if overwrite:
                gx[:, :, rows, cs] = cols[:, :, i, j]
            else:
                gx[:, :, rows, cs] += cols[:, :, i, j]
    top, lft = (t, left) if crop_from == "top" else (b, r)
    return gx[:, :, top : top + H, lft : lft + W]


def correct_backward(grad_out: Any, weight: Any, H: Any, W: Any, opts: Im2colOptions) -> Any:
    return gemm_fold(grad_out, weight, H, W, opts)


def fold_overwrites(grad_out: Any, weight: Any, H: Any, W: Any, opts: Im2colOptions) -> Any:
    """col2im with = instead of +=: overlapping patches keep only the last tap."""
    return gemm_fold(grad_out, weight, H, W, opts, overwrite=True)


def weight_reshaped_not_transposed(
    grad_out: Any, weight: Any, H: Any, W: Any, opts: Im2colOptions
) -> Any:
    """W.reshape(K, O) in place of W.T: the right shape, scrambled values."""
    return gemm_fold(grad_out, weight, H, W, opts, untransposed=True)


def crop_from_bottom(grad_out: Any, weight: Any, H: Any, W: Any, opts: Im2colOptions) -> Any:
    """The padding cropped as if it sat after the image: wrong for asymmetric padding."""
    return gemm_fold(grad_out, weight, H, W, opts, crop_from="bottom")


def float32_backward(grad_out: Any, weight: Any, H: Any, W: Any, opts: Im2colOptions) -> Any:
    dtype = BACKWARD_ARGS.check(grad_out, weight, H, W)
    return gemm_fold(grad_out, weight, H, W, opts, dtype=np.float32).astype(dtype)


def fold_size_unchecked(grad_out: Any, weight: Any, H: Any, W: Any, opts: Im2colOptions) -> Any:
    """Folds whatever fits, silently dropping grad_out rows the image cannot have."""
    return gemm_fold(grad_out, weight, H, W, opts, check=False)


def test_col2im_sums_overlapping_patches() -> None:
    assert_caught(fold_overwrites, "random_f32", "elements differ", backward=True)


def test_the_adjoint_uses_the_transposed_weight() -> None:
    assert_caught(weight_reshaped_not_transposed, "random_f64", "elements differ", backward=True)


def test_asymmetric_padding_is_cropped_from_its_own_side() -> None:
    assert_caught(crop_from_bottom, "non_square_asymmetric_pad", "elements differ", backward=True)


def test_float32_arithmetic_in_the_backward() -> None:
    assert_caught(float32_backward, "random_f64", "elements differ", backward=True)


def test_fold_size_inconsistent_with_the_column_count_must_raise() -> None:
    detail = assert_caught(fold_size_unchecked, "fold_size_mismatch", backward=True)
    assert "must raise ValueError" in detail


# ---- the oracles against torch, and the fold/unfold identities ------------------------------


def _pad_torch(x: Any, plan: Any) -> Any:
    t, b, left, r = plan.pads
    return F.pad(x, (left, r, t, b))


@pytest.mark.parametrize("case", SUITE.cases, ids=lambda c: c.name)
def test_forward_oracle_matches_f_unfold_and_f_conv2d(case: Case) -> None:
    inputs = case_inputs(SUITE, case)
    cols, out = oracle_output(SUITE, case)
    opts = Im2colOptions.build(case.options)
    x = torch.from_numpy(np.array(inputs["x"], dtype=np.float64))
    w = torch.from_numpy(np.array(inputs["weight"], dtype=np.float64))
    b = torch.from_numpy(np.array(inputs["bias"], dtype=np.float64))
    plan = im2col_plan(x.shape, w.shape, opts)
    if x.shape[0] == 0 or w.shape[0] == 0:
        assert np.asarray(out).size == 0
        return
    xp = _pad_torch(x, plan)
    want_cols = F.unfold(xp, w.shape[2:], plan.dilation, 0, plan.stride).numpy()
    want_out = F.conv2d(xp, w, b, plan.stride, 0, plan.dilation, plan.groups).numpy()
    f32 = case.dtype == "float32"
    np.testing.assert_array_equal(cols, want_cols.astype(case.dtype))
    np.testing.assert_allclose(
        out, want_out, rtol=1e-5 if f32 else 1e-12, atol=1e-4 if f32 else 1e-12
    )


@pytest.mark.parametrize("case", BACKWARD_SUITE.cases, ids=lambda c: c.name)
def test_backward_oracle_is_torch_autograd_of_conv2d(case: Case) -> None:
    inputs = case_inputs(BACKWARD_SUITE, case)
    got = oracle_output(BACKWARD_SUITE, case)
    opts = Im2colOptions.build(case.options)
    gy = torch.from_numpy(np.array(inputs["grad_out"], dtype=np.float64))
    w = torch.from_numpy(np.array(inputs["weight"], dtype=np.float64))
    n, h, wd = gy.shape[0], inputs["H"], inputs["W"]
    if n == 0 or w.shape[0] == 0:
        assert not np.asarray(got).any()
        return
    x = torch.zeros((n, w.shape[1] * opts.groups, h, wd), dtype=torch.float64, requires_grad=True)
    plan = im2col_plan(x.shape, w.shape, opts)
    out = F.conv2d(_pad_torch(x, plan), w, None, plan.stride, 0, plan.dilation, plan.groups)
    (want,) = torch.autograd.grad(out, x, gy)
    f32 = case.dtype == "float32"
    np.testing.assert_allclose(
        got, want.numpy(), rtol=1e-5 if f32 else 1e-12, atol=1e-4 if f32 else 1e-12
    )


def _one_hot_weight(c: int, kh: int, kw: int) -> np.ndarray:
    """(C·kH·kW, C, kH, kW) selecting one (c, i, j) per output channel: conv = unfold."""
    return np.eye(c * kh * kw).reshape(c * kh * kw, c, kh, kw)


@pytest.mark.parametrize(
    "opts",
    [
        Im2colOptions(),
        Im2colOptions(stride=(2, 2), padding=(1, 1, 1, 1)),
        Im2colOptions(dilation=(2, 2), padding=(1, 2, 2, 1)),
        Im2colOptions(stride=(3, 2), padding="same"),
    ],
    ids=["plain", "stride2_pad1", "dilated_asymmetric", "same_strided"],
)
def test_fold_of_unfold_is_x_times_the_patch_count(opts: Im2colOptions) -> None:
    rng = np.random.default_rng(2024)  # any seed: the identity is exact up to rounding
    n, c, h, w, kh, kw = 2, 3, 9, 11, 3, 2
    x = rng.standard_normal((n, c, h, w))
    weight = _one_hot_weight(c, kh, kw)
    cols, _ = im2col_conv(x, weight, None, opts)
    plan = im2col_plan(x.shape, weight.shape, opts)
    grad = cols.reshape(n, c * kh * kw, plan.out_h, plan.out_w)
    folded = im2col_conv_backward(grad, weight, h, w, opts)
    count = np.zeros((h, w))  # how many (output, tap) pairs read each pixel, by plain loops
    t, left = plan.pads[0], plan.pads[2]
    for y in range(plan.out_h):
        for xo in range(plan.out_w):
            for i in range(kh):
                for j in range(kw):
                    r = y * plan.stride[0] + i * plan.dilation[0] - t
                    q = xo * plan.stride[1] + j * plan.dilation[1] - left
                    if 0 <= r < h and 0 <= q < w:
                        count[r, q] += 1
    np.testing.assert_allclose(folded, x * count, rtol=1e-13, atol=1e-13)
    # and the adjoint identity <unfold(x), C> = <x, fold(C)> for any C
    other = rng.standard_normal(cols.shape)
    lhs = float((cols * other).sum())
    rhs = float((x * im2col_conv_backward(other.reshape(grad.shape), weight, h, w, opts)).sum())
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))

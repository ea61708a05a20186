"""depthwise_separable_conv: the suite catches each classic mistake of the two-stage
convolution, and its oracle agrees with F.conv2d (twice, and as the composed full kernel).

Every wrong variant is one NumPy tap loop plus a matrix product (in the working dtype) with
one mistake switched on; verify must flag it with a diagnosis, while the same loop without
the mistake passes the same case. Inputs are the suite's seeded cases; nothing is random.
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
from suites.conv2d_direct import pad_numpy
from suites.depthwise_separable_conv import SUITE, SeparableOptions, check, separable_plan

Fn = Callable[..., Any]


def run(fn: Fn, case: str) -> Verdict:
    impl = Implementation("depthwise_separable_conv", "numpy", fn.__name__, fn)
    return verify(SUITE, impl, SUITE.find_case(case))


def stages(
    x: Any,
    w_dw: Any,
    b_dw: Any,
    w_pw: Any,
    b_pw: Any,
    opts: SeparableOptions,
    *,
    channel_of: Callable[[int, int, int], int] = lambda q, m, c: q // m,
    flip: bool = False,
    pads: tuple[int, int, int, int] | None = None,
    padding: Any = None,
    dilation: tuple[int, int] | None = None,
    drop_dw_bias: bool = False,
    dtype: Any = None,
    tile: int = 0,
    shuffle: str = "right",
) -> Any:
    """Depthwise taps then a pointwise product; keywords inject one mistake each."""
    dtype = dtype or check(x, w_dw, b_dw, w_pw, b_pw, opts)[0]
    values = opts.as_dict()
    if padding is not None:
        values["padding"] = padding
    if dilation is not None:
        values["dilation"] = dilation
    opts = SeparableOptions.build(values)
    plan = separable_plan(x.shape, w_dw.shape, opts)
    plan = plan._replace(pads=pads or plan.pads)
    (sh, sw), (dh, dw) = plan.stride, plan.dilation
    m, _, kh, kw = w_dw.shape
    c = x.shape[1]
    xp = pad_numpy(np.asarray(x).astype(dtype), plan, "zeros")
    xp = xp[:, [channel_of(q, m // c, c) for q in range(m)]]
    wd = np.asarray(w_dw).astype(dtype)[:, 0]
    if flip:
        wd = wd[:, ::-1, ::-1]
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    mid = np.zeros((x.shape[0], m, oh, ow), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            rows = np.arange(oh) * sh + i * dh
            cols = np.arange(ow) * sw + j * dw
            if tile:  # a tiled loop that forgets the tile's offset past the first tile
                cols = np.where(np.arange(ow) >= tile, cols - tile * sw, cols)
            mid += wd[None, :, i, j, None, None] * xp[:, :, rows][:, :, :, cols]
    if b_dw is not None and not drop_dw_bias:
        mid += np.asarray(b_dw).astype(dtype)[:, None, None]
    out = np.einsum("om,nmhw->nohw", np.asarray(w_pw).astype(dtype)[:, :, 0, 0], mid)
    if b_pw is not None:
        out += np.asarray(b_pw).astype(dtype)[:, None, None]
    g, (n, o, oh, ow) = opts.shuffle_groups, out.shape
    if shuffle == "right":  # view (N, g, O/g), swap the two channel axes, flatten
        return out.reshape(n, g, o // g, oh, ow).swapaxes(1, 2).reshape(out.shape)
    if shuffle == "inverse":  # view (N, O/g, g) instead: the inverse permutation
        return out.reshape(n, o // g, g, oh, ow).swapaxes(1, 2).reshape(out.shape)
    return out


def correct(*a: Any) -> Any:
    return stages(*a)


def assert_caught(fn: Fn, case: str, *words: str) -> Verdict:
    assert run(correct, case).status == "pass", f"the correct loop fails {case}"
    v = run(fn, case)
    assert v.status in ("fail", "error"), f"{fn.__name__} passes {case}"
    for word in words:
        assert word in v.detail, v.detail
    return v


def interleaved_multiplier(*a: Any) -> Any:
    """Depthwise output q reads input channel q % C (interleaved) instead of q // m."""
    return stages(*a, channel_of=lambda q, m, c: q % c)


def flipped_kernel(*a: Any) -> Any:
    return stages(*a, flip=True)


def padded_one_side(*a: Any) -> Any:
    x, w_dw, opts = a[0], a[1], a[5]
    t, b, left, r = separable_plan(x.shape, w_dw.shape, opts).pads
    return stages(*a, pads=(t + b, 0, left + r, 0))


def same_odd_row_on_top(*a: Any) -> Any:
    x, w_dw, opts = a[0], a[1], a[5]
    t, b, left, r = separable_plan(x.shape, w_dw.shape, opts).pads
    return stages(*a, pads=(b, t, r, left))


def same_instead_of_half(*a: Any) -> Any:
    """k // 2 padding read as 'same': an even kernel's output is one row/column short."""
    return stages(*a, padding="same" if a[5].padding == "half" else None)


def dilation_ignored(*a: Any) -> Any:
    return stages(*a, dilation=(1, 1))


def depthwise_bias_dropped(*a: Any) -> Any:
    """Only the final bias added (the depthwise bias forgotten)."""
    return stages(*a, drop_dw_bias=True)


def float32_arithmetic(*a: Any) -> Any:
    return stages(*a, dtype=np.float32).astype(np.float64)


def uint8_accumulator(*a: Any) -> Any:
    """The image's own dtype for the depthwise sums: wraps (and truncates) at once."""
    x = a[0]
    if x.dtype != np.uint8:
        return correct(*a)
    mid = stages(*a).astype(np.uint8)  # the rounding a uint8 buffer would impose
    return mid.astype(np.float32)


def flat_empty(*a: Any) -> Any:
    return correct(*a) if a[0].size else np.zeros((0,), dtype=np.float32)


def forgets_tile_offset(*a: Any) -> Any:
    return stages(*a, tile=128)


def shuffle_ignored(*a: Any) -> Any:
    return stages(*a, shuffle="none")


def shuffle_inverted(*a: Any) -> Any:
    """The shuffle's reshape the wrong way round: (O/g, g) then transpose, which undoes
    the ShuffleNet shuffle instead (the same only when g = 1, g = O or g·g = O)."""
    return stages(*a, shuffle="inverse")


def test_depth_multiplier_channels_are_blocked_not_interleaved() -> None:
    assert_caught(interleaved_multiplier, "multiplier2_rect", "elements differ")
    assert_caught(interleaved_multiplier, "multiplier3_f64", "elements differ")


def test_flipped_kernel_is_convolution_not_correlation() -> None:
    assert_caught(flipped_kernel, "random_f32", "elements differ")


def test_padding_sides() -> None:
    assert_caught(padded_one_side, "random_f64", "elements differ")
    assert_caught(same_odd_row_on_top, "even_kernel_same", "elements differ")


def test_half_padding_is_not_same_for_even_kernels() -> None:
    assert run(same_instead_of_half, "random_f32").status == "pass"  # odd k: they agree
    assert_caught(same_instead_of_half, "even_kernel_half_pad", "shape")


def test_dilation_ignored() -> None:
    assert_caught(dilation_ignored, "dilated", "shape")


def test_depthwise_bias_dropped() -> None:
    assert_caught(depthwise_bias_dropped, "random_f32", "elements differ")


def test_float32_arithmetic_on_float64_inputs() -> None:
    assert_caught(float32_arithmetic, "random_f64", "elements differ")


def test_uint8_image_accumulated_in_uint8() -> None:
    assert_caught(uint8_accumulator, "uint8_image", "elements differ")


def test_wrong_shape_on_empty_batch() -> None:
    assert_caught(flat_empty, "empty_batch", "shape")


def test_channel_shuffle_ignored_or_inverted() -> None:
    assert_caught(shuffle_ignored, "shuffle_g2", "elements differ")
    assert run(shuffle_ignored, "shuffle_g_equals_o").status == "pass"  # g = O: identity
    assert_caught(shuffle_inverted, "shuffle_g3_f64", "elements differ")
    assert_caught(shuffle_inverted, "shuffle_g3_stride2", "elements differ")


def test_shuffle_is_shufflenets_reshape_transpose() -> None:
    """The oracle's explicit permutation equals torch's view/transpose/flatten."""
    from suites.depthwise_separable_conv import shuffle_order

    for o, g in ((6, 2), (6, 3), (12, 3), (8, 8), (5, 1)):
        x = torch.arange(o).view(1, o, 1, 1)
        want = x.view(1, g, o // g, 1, 1).transpose(1, 2).reshape(-1).numpy()
        np.testing.assert_array_equal(shuffle_order(o, g), want)


def test_tiled_loop_wrong_past_its_first_tile() -> None:
    assert run(forgets_tile_offset, "random_f32").status == "pass"
    assert_caught(forgets_tile_offset, "multi_block", "elements differ")


# ---- the oracle against torch, and the composed kernel ----------------------------------------


def _inputs(name: str) -> tuple[Case, dict[str, Any]]:
    c = SUITE.find_case(name)
    assert isinstance(c, Case)
    return c, case_inputs(SUITE, c)


def _t(a: Any) -> Any:
    return None if a is None else torch.tensor(np.asarray(a, dtype=np.float64))


@pytest.mark.parametrize(
    "name", ["random_f64", "multiplier3_f64", "stride2", "dilated", "even_kernel_half_pad"]
)
def test_oracle_matches_torch_float64(name: str) -> None:
    c, inp = _inputs(name)
    opts = SeparableOptions.build(c.options)
    plan = separable_plan(inp["x"].shape, inp["w_dw"].shape, opts)
    t, b, left, r = plan.pads
    x = F.pad(_t(inp["x"]), (left, r, t, b))
    mid = F.conv2d(x, _t(inp["w_dw"]), _t(inp["b_dw"]), plan.stride, 0, plan.dilation,
                   x.shape[1])  # fmt: skip
    want = F.conv2d(mid, _t(inp["w_pw"]), _t(inp["b_pw"])).numpy()
    got = np.asarray(oracle_output(SUITE, c), dtype=np.float64)
    tol = 1e-12 if c.dtype == "float64" else 1e-5
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_composed_full_kernel_is_the_same_convolution_and_rank_one_per_channel() -> None:
    """m = 1, no biases: W[o, c, i, j] = w_pw[o, c]·w_dw[c, i, j] in one F.conv2d equals the
    two stages; each W[:, c] flattened to (O, k²) is an outer product (rank 1 by SVD)."""
    c, inp = _inputs("no_bias_f64")
    wd, wp = inp["w_dw"][:, 0], inp["w_pw"][:, :, 0, 0]
    full = wp[:, :, None, None] * wd[None]
    x = _t(inp["x"])
    want = F.conv2d(x, torch.tensor(full), None, 1, (wd.shape[1] // 2, wd.shape[2] // 2)).numpy()
    np.testing.assert_allclose(oracle_output(SUITE, c), want, rtol=1e-12, atol=1e-12)
    for ch in range(full.shape[1]):
        s = np.linalg.svd(full[:, ch].reshape(full.shape[0], -1), compute_uv=False)
        assert s[1] < 1e-12 * s[0]

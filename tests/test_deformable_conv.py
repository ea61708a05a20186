"""Pitfalls of deformable_conv: each deliberately wrong variant is flagged by verify, and the
oracle holds the properties torchvision's deform_conv2d has (zero offsets = F.conv2d, a
uniform integer offset = the convolution of a zero-filled shifted input).

The wrong variants feed the oracle rearranged inputs (the mistake, made explicit) and run
on the suite's own cases (fixed seeds) through harness.verify.verify.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import verify
from suites.deformable_conv import (
    SUITE,
    DeformOptions,
    deform_plan,
    deformable_conv,
    tap_grid,
)

Fn = Callable[..., Any]


def _verdict(fn: Fn, case: str | Case) -> Any:
    impl = Implementation("deformable_conv", "numpy", fn.__name__, fn)
    return verify(SUITE, impl, SUITE.find_case(case) if isinstance(case, str) else case)


def correct(x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: DeformOptions) -> Any:
    return deformable_conv(x, offset, weight, bias, mask, opts)


def _layout(offset: Any, weight: Any) -> tuple[int, int, int, int]:
    """(G, K, kH, kW) of these inputs."""
    kh, kw = weight.shape[2:]
    return offset.shape[1] // (2 * kh * kw), kh * kw, kh, kw


def assert_caught(fn: Fn, case: str | Case, words: str = "elements differ") -> None:
    assert _verdict(correct, case).status == "pass", "the oracle itself fails"
    v = _verdict(fn, case)
    assert v.status in ("fail", "error") and words in v.detail, v.detail


# ---- offset and mask layout ----------------------------------------------------------------


def dx_dy_swapped(x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any) -> Any:
    """Reads each pair as (dx, dy), grid_sample's (x, y) order."""
    g, k, _, _ = _layout(offset, weight)
    pairs = offset.reshape(offset.shape[0], g * k, 2, *offset.shape[2:])
    return correct(x, pairs[:, :, ::-1].reshape(offset.shape), weight, bias, mask, opts)


def planar_offsets(x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any) -> Any:
    """Reads a group's offsets as K dy channels then K dx channels, not interleaved pairs."""
    g, k, _, _ = _layout(offset, weight)
    planes = offset.reshape(offset.shape[0], g, 2, k, *offset.shape[2:])
    pairs = planes.transpose(0, 1, 3, 2, 4, 5).reshape(offset.shape)
    return correct(x, pairs, weight, bias, mask, opts)


def taps_column_major(x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any) -> Any:
    """Numbers tap (i, j) as j·kH + i when reading the offset and mask channels."""
    g, k, kh, kw = _layout(offset, weight)
    order = np.arange(k).reshape(kw, kh).T.reshape(-1)  # tap i·kW + j reads channel j·kH + i
    n, rest = offset.shape[0], offset.shape[2:]
    off = offset.reshape(n, g, k, 2, *rest)[:, :, order].reshape(offset.shape)
    m = None if mask is None else mask.reshape(n, g, k, *rest)[:, :, order].reshape(mask.shape)
    return correct(x, off, weight, bias, m, opts)


def mask_ignored(x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any) -> Any:
    """DCNv1 whatever the input: the modulation is dropped."""
    return correct(x, offset, weight, bias, None, opts)


def mask_tap_major(x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any) -> Any:
    """Reads mask channel k·G + g for group g, tap k (instead of g·K + k)."""
    g, k, _, _ = _layout(offset, weight)
    n, rest = mask.shape[0], mask.shape[2:]
    m = mask.reshape(n, k, g, *rest).transpose(0, 2, 1, 3, 4).reshape(mask.shape)
    return correct(x, offset, weight, bias, m, opts)


def first_group_offsets(x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any) -> Any:
    """Every channel follows offset group 0."""
    g, k, _, _ = _layout(offset, weight)
    n, rest = offset.shape[0], offset.shape[2:]
    off = np.repeat(offset.reshape(n, g, 2 * k, *rest)[:, :1], g, axis=1).reshape(offset.shape)
    return correct(x, off, weight, bias, mask, opts)


def groups_interleaved(x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any) -> Any:
    """Channel c follows offset group c % G instead of c // (C / G) (weight groups 1): the
    same as the right rule on channels reordered so that c % G becomes the block."""
    g = _layout(offset, weight)[0]
    perm = np.argsort(np.arange(x.shape[1]) % g, kind="stable")
    return correct(x[:, perm], offset, weight[:, perm], bias, mask, opts)


def offsets_times_dilation(
    x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any
) -> Any:
    """Scales the learned offsets by the dilation, as if they were in tap units."""
    g, k, _, _ = _layout(offset, weight)
    n, rest = offset.shape[0], offset.shape[2:]
    off = offset.reshape(n, g * k, 2, *rest) * np.reshape(opts.dilation, (1, 1, 2, 1, 1))
    return correct(x, off.reshape(offset.shape), weight, bias, mask, opts)


@pytest.mark.parametrize(
    ("fn", "case"),
    [
        (dx_dy_swapped, "v2_f64"),
        (planar_offsets, "v2_f32"),
        (taps_column_major, "groups_3_rect_kernel"),
        (mask_ignored, "v2_f32"),
        (mask_tap_major, "offset_groups_2"),
        (first_group_offsets, "offset_groups_3_f64"),
        (groups_interleaved, "offset_groups_2"),
        (offsets_times_dilation, "dilated_f64"),
    ],
)
def test_layout_mistakes_are_caught(fn: Fn, case: str) -> None:
    assert_caught(fn, case)


# ---- the border: zeros, not roi_align's clamp ------------------------------------------------


def _moved(offset: Any, weight: Any, opts: Any, h: int, w: int, fold: Fn) -> Any:
    """Offsets changed so that each sample lands where ``fold(y, size)`` puts it."""
    g, k, kh, kw = _layout(offset, weight)
    n, oh, ow = offset.shape[0], offset.shape[2], offset.shape[3]
    plan = deform_plan((n, g, h, w), offset.shape, (g, 1, kh, kw), None, opts)
    rows, cols = (a.reshape(oh, ow, k).transpose(2, 0, 1) for a in tap_grid(plan, kh, kw, opts))
    off = offset.reshape(n, g, k, 2, oh, ow).astype(np.float64)
    y, x = rows + off[:, :, :, 0], cols + off[:, :, :, 1]
    off[:, :, :, 0], off[:, :, :, 1] = fold(y, h) - rows, fold(x, w) - cols
    return off.reshape(offset.shape).astype(offset.dtype)


def roi_align_clamp(x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any) -> Any:
    """roi_align's rule: a sample within (-1, 0) reads row 0, one within (H - 1, H) row H - 1
    (no blend towards the zero outside)."""

    def fold(t: Any, size: int) -> Any:
        inside = (t > -1) & (t < size)
        return np.where(inside, np.clip(t, 0, size - 1), t)

    off = _moved(offset, weight, opts, x.shape[2], x.shape[3], fold)
    return correct(x, off, weight, bias, mask, opts)


def border_clamp(x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any) -> Any:
    """grid_sample's padding_mode='border': every sample clamped into the image."""
    off = _moved(offset, weight, opts, x.shape[2], x.shape[3], lambda t, s: np.clip(t, 0, s - 1))
    return correct(x, off, weight, bias, mask, opts)


def test_samples_near_the_edge_blend_towards_zero() -> None:
    assert_caught(roi_align_clamp, "v2_f64")


def test_samples_far_outside_read_zero() -> None:
    assert_caught(border_clamp, "far_outside_offsets")


# ---- the generic mistakes ----------------------------------------------------------------------


def float32_arithmetic(x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any) -> Any:
    x, offset, weight, bias, mask = (
        None if a is None else a.astype(np.float32) for a in (x, offset, weight, bias, mask)
    )
    return correct(x, offset, weight, bias, mask, opts).astype(np.float64)


def empty_flat(x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any) -> Any:
    out = correct(x, offset, weight, bias, mask, opts)
    return out.reshape(out.shape[0], -1) if out.size == 0 else out


def tiled_wrong_past_first_block(
    x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any
) -> Any:
    """Output columns in tiles of 256; the later tiles read their offsets one column late."""
    out = correct(x, offset, weight, bias, mask, opts)
    late = np.roll(offset, 1, axis=3)
    out[..., 256:] = correct(x, late, weight, bias, mask, opts)[..., 256:]
    return out


def written_into_mask(x: Any, offset: Any, weight: Any, bias: Any, mask: Any, opts: Any) -> Any:
    """Reuses the mask's buffer for the output when the shapes agree (O = G·kH·kW)."""
    out = correct(x, offset, weight, bias, mask, opts)
    mask[...] = out
    return mask


def test_float32_arithmetic_on_float64_inputs() -> None:
    assert_caught(float32_arithmetic, "v2_f64")


@pytest.mark.parametrize("case", ["empty_batch", "no_out_channels"])
def test_an_empty_output_of_the_wrong_shape(case: str) -> None:
    assert_caught(empty_flat, case, "shape")


def test_a_tile_wrong_past_the_first_block() -> None:
    assert_caught(tiled_wrong_past_first_block, "multi_block", "(0, 0, 0, 256)")


def test_an_output_written_into_an_input() -> None:
    same = SUITE.resolve(Case("o_equals_mask_channels", {"O": 9}, {"padding": (1, 1)}, "custom"))
    assert _verdict(correct, same).status == "pass"
    v = _verdict(written_into_mask, same)
    assert v.status in ("fail", "error")
    assert any(word in v.detail for word in ("alias", "modified", "written")), v.detail


# ---- properties of torchvision's operator, on the oracle --------------------------------------


def _inputs(name: str) -> tuple[dict[str, Any], DeformOptions]:
    case = SUITE.find_case(name)
    assert isinstance(case, Case)
    return SUITE.make_inputs(case), DeformOptions.build(case.options)


def test_zero_offsets_and_unit_mask_equal_conv2d() -> None:
    torch = pytest.importorskip("torch")
    inp, opts = _inputs("zero_offsets_f64")
    ones = np.ones((inp["offset"].shape[0], 9, *inp["offset"].shape[2:]))
    got = deformable_conv(inp["x"], inp["offset"], inp["weight"], inp["bias"], ones, opts)
    t = {k: torch.from_numpy(inp[k]) for k in ("x", "weight", "bias")}
    want = torch.nn.functional.conv2d(t["x"], t["weight"], t["bias"], padding=opts.padding)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shift", [(1, -2), (-3, 0), (0, 4)])
def test_a_uniform_integer_offset_shifts_the_zero_filled_input(shift: tuple[int, int]) -> None:
    inp, opts = _inputs("v1_no_mask_f64")  # no padding: the shift pulls zeros in
    dy, dx = shift
    off = np.zeros_like(inp["offset"])
    off[:, 0::2], off[:, 1::2] = dy, dx
    got = deformable_conv(inp["x"], off, inp["weight"], inp["bias"], None, opts)
    x = inp["x"]
    shifted = np.zeros_like(x)  # shifted[r, c] = x[r + dy, c + dx], zero outside
    h, w = x.shape[2:]
    shifted[:, :, max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)] = x[
        :, :, max(dy, 0) : h - max(-dy, 0), max(dx, 0) : w - max(-dx, 0)
    ]
    want = deformable_conv(shifted, np.zeros_like(off), inp["weight"], inp["bias"], None, opts)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


def test_a_zero_mask_leaves_the_bias() -> None:
    inp, opts = _inputs("zero_mask")
    got = deformable_conv(inp["x"], inp["offset"], inp["weight"], inp["bias"], inp["mask"], opts)
    np.testing.assert_array_equal(got, np.broadcast_to(inp["bias"][:, None, None], got.shape))

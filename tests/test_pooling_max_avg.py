"""pooling_max_avg: the suite catches each convention split and classic pooling mistake, and
its geometry and oracle agree with torch's F.max_pool2d / F.avg_pool2d.

Every wrong variant is one NumPy tap loop (the oracle's shape, in the working dtype) with one
mistake switched on; verify must flag it with a diagnosis, while the same loop without the
mistake passes the same case. Inputs are the suite's seeded cases; nothing is random here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, case_inputs, oracle_output, verify
from suites.pooling_max_avg import (
    ARGS,
    SUITE,
    Axis,
    PoolOptions,
    divisors,
    out_size,
    pool_axes,
)

Fn = Callable[[Any, PoolOptions], Any]


def run(fn: Fn, case: str) -> Verdict:
    impl = Implementation("pooling_max_avg", "numpy", fn.__name__, fn)
    return verify(SUITE, impl, SUITE.find_case(case))


def taps(
    x: Any,
    opts: PoolOptions,
    *,
    no_start_rule: bool = False,
    floor_only: bool = False,
    divisor: Callable[[Axis, Axis, PoolOptions], np.ndarray] = divisors,
    fill: float | None = None,
    nan_skipping: bool = False,
    dilation: tuple[int, int] | None = None,
    stride: tuple[int, int] | None = None,
    dtype: Any = None,
    tile: int = 0,
) -> Any:
    """Pad, then reduce every tap's strided view; keywords inject one mistake each."""
    dtype = dtype or ARGS.check(x)
    opts = PoolOptions.build(
        {
            **opts.as_dict(),
            "dilation": dilation or opts.dilation,
            "stride": stride or opts.stride,
            "ceil_mode": opts.ceil_mode and not floor_only,
        }
    )
    ah, aw = pool_axes(x.shape, opts)
    if no_start_rule:  # plain ceil of the span over the stride: keeps all-padding windows
        ah, aw = (
            a._replace(out=-(-(a.size + 2 * a.p - a.d * (a.k - 1) - 1) // a.s) + 1)
            for a in (ah, aw)
        )
    is_max = opts.op == "max"
    pad = (-np.inf if is_max else 0.0) if fill is None else fill
    hp = (ah.out - 1) * ah.s + ah.d * (ah.k - 1) + 1 + ah.size + 2 * ah.p
    wp = (aw.out - 1) * aw.s + aw.d * (aw.k - 1) + 1 + aw.size + 2 * aw.p
    xp = np.full((*x.shape[:2], hp, wp), pad, dtype=dtype)
    xp[:, :, ah.p : ah.p + ah.size, aw.p : aw.p + aw.size] = np.asarray(x, dtype=dtype)
    out = np.full((*x.shape[:2], ah.out, aw.out), -np.inf if is_max else 0.0, dtype=dtype)
    for i in range(ah.k):
        for j in range(aw.k):
            rows = np.arange(ah.out) * ah.s + i * ah.d
            cols = np.arange(aw.out) * aw.s + j * aw.d
            if tile:  # a tiled loop that forgets the tile's offset past the first tile
                cols = np.where(np.arange(aw.out) >= tile, cols - tile * aw.s, cols)
            win = xp[:, :, rows][:, :, :, cols]
            if is_max:
                out = np.fmax(out, win) if nan_skipping else np.maximum(out, win)
            else:
                out = out + win
    if not is_max:
        out = out / divisor(ah, aw, opts).astype(dtype)
    return out


def correct(x: Any, opts: PoolOptions) -> Any:
    return taps(x, opts)


def assert_caught(fn: Fn, case: str, *words: str) -> Verdict:
    assert run(correct, case).status == "pass", f"the correct loop fails {case}"
    v = run(fn, case)
    assert v.status in ("fail", "error"), f"{fn.__name__} passes {case}"
    for word in words:
        assert word in v.detail, v.detail
    return v


# ---- ceil_mode, count_include_pad, divisor_override: the convention splits -------------------


def ceil_without_start_rule(x: Any, opts: PoolOptions) -> Any:
    """ceil of the span over the stride, keeping a last window that starts in the right padding."""
    return taps(x, opts, no_start_rule=True)


def ceil_mode_ignored(x: Any, opts: PoolOptions) -> Any:
    return taps(x, opts, floor_only=True)


def _k_squared(ah: Axis, aw: Axis, opts: PoolOptions) -> np.ndarray:
    return np.full((ah.out, aw.out), float(ah.k * aw.k))


def pad_counted_always(x: Any, opts: PoolOptions) -> Any:
    """count_include_pad=False read as True: the padding cells counted in the divisor."""
    inc = PoolOptions.build({**opts.as_dict(), "count_include_pad": True})
    return taps(x, opts, divisor=lambda ah, aw, _: divisors(ah, aw, inc))


def divide_by_k_squared(x: Any, opts: PoolOptions) -> Any:
    """count_include_pad=True read as 'always k²': wrong where a ceil_mode window runs past
    the right padding (torch clips it to H + p)."""
    return taps(x, opts, divisor=_k_squared)


def divisor_override_ignored(x: Any, opts: PoolOptions) -> Any:
    plain = PoolOptions.build({**opts.as_dict(), "divisor_override": None})
    return taps(x, opts, divisor=lambda ah, aw, _: divisors(ah, aw, plain))


def test_ceil_mode_without_the_start_inside_rule() -> None:
    v = assert_caught(ceil_without_start_rule, "ceil_mode_window_in_padding_dropped", "shape")
    assert "3, 4" in v.detail, v.detail  # torch: 3 x 4 windows, the plain ceil 4 x 5
    assert_caught(ceil_without_start_rule, "avg_ceil_mode_window_in_padding_dropped", "shape")


def test_ceil_mode_ignored() -> None:
    assert_caught(ceil_mode_ignored, "max_ceil_mode", "shape")
    assert_caught(ceil_mode_ignored, "input_smaller_than_kernel_ceil_avg")


def test_padding_counted_when_count_include_pad_is_false() -> None:
    assert_caught(pad_counted_always, "avg_3x3s2p1_exclude_pad_f64", "elements differ")
    assert_caught(pad_counted_always, "avg_ceil_mode_exclude_pad", "elements differ")


def test_count_include_pad_divides_by_the_clipped_window_not_k_squared() -> None:
    assert run(divide_by_k_squared, "avg_3x3s2p1").status == "pass"  # equal without ceil_mode
    assert_caught(divide_by_k_squared, "avg_ceil_mode", "elements differ")


def test_divisor_override_ignored() -> None:
    assert_caught(divisor_override_ignored, "avg_divisor_override", "elements differ")


# ---- max: padding value, NaN, dilation, stride default ----------------------------------------


def max_zero_padding(x: Any, opts: PoolOptions) -> Any:
    """Zero padding for max (the avg fill): a border window of negatives gives 0."""
    return taps(x, opts, fill=0.0)


def max_skips_nan(x: Any, opts: PoolOptions) -> Any:
    """np.fmax / nanmax: a NaN in the window is ignored instead of propagated (torch)."""
    return taps(x, opts, nan_skipping=True)


def dilation_ignored(x: Any, opts: PoolOptions) -> Any:
    return taps(x, opts, dilation=(1, 1))


def stride_one_by_default(x: Any, opts: PoolOptions) -> Any:
    """stride=None read as 1 (as for convolution) instead of the kernel."""
    return taps(x, opts, stride=opts.stride or (1, 1))


def test_max_pads_with_minus_infinity() -> None:
    assert_caught(max_zero_padding, "max_all_neg_inf", "elements differ")
    assert_caught(max_zero_padding, "max_3x3s2p1", "elements differ")


def test_max_propagates_nan() -> None:
    assert_caught(max_skips_nan, "max_nan_in_window", "NaN")


def test_dilation_ignored() -> None:
    assert_caught(dilation_ignored, "max_dilated", "shape")
    assert_caught(dilation_ignored, "max_dilated_ceil_f64")


def test_stride_defaults_to_the_kernel() -> None:
    assert_caught(stride_one_by_default, "max_2x2_f32", "shape")


# ---- precision, aliasing, empty shapes, tiles -------------------------------------------------


def float32_average(x: Any, opts: PoolOptions) -> Any:
    return taps(x, opts, dtype=np.float32).astype(x.dtype)


def strided_view_of_x(x: Any, opts: PoolOptions) -> Any:
    """k = 1 pooling as a view of the input: the caller's writes would reach x."""
    ah, aw = pool_axes(x.shape, opts)
    return x[:, :, : ah.s * ah.out : ah.s, : aw.s * aw.out : aw.s]


def flat_empty(x: Any, opts: PoolOptions) -> Any:
    return correct(x, opts) if x.size else np.zeros((0,), dtype=x.dtype)


def forgets_tile_offset(x: Any, opts: PoolOptions) -> Any:
    return taps(x, opts, tile=128)


def test_float32_arithmetic_on_float64_inputs() -> None:
    assert_caught(float32_average, "avg_3x3s2p1_exclude_pad_f64", "elements differ")


def test_output_aliasing_the_input() -> None:
    assert_caught(strided_view_of_x, "kernel_1", "shares memory")


def test_wrong_shape_on_empty_batch() -> None:
    assert_caught(flat_empty, "empty_batch", "shape")


def test_tiled_loop_wrong_past_its_first_tile() -> None:
    assert run(forgets_tile_offset, "max_3x3s2p1").status == "pass"  # one tile: fine
    assert_caught(forgets_tile_offset, "multi_block", "elements differ")
    assert_caught(forgets_tile_offset, "avg_multi_block", "elements differ")


# ---- the geometry and the oracle against torch ------------------------------------------------


def test_out_size_matches_torch_on_a_grid() -> None:
    """Every (size, k, s, p, d, ceil) with p <= k // 2 on 1..7: torch's output length (or
    its refusal) equals out_size (<= 0 where torch refuses)."""
    for size, k, s, d in itertools.product(range(1, 8), range(1, 4), range(1, 4), range(1, 3)):
        for p, ceil in itertools.product(range(k // 2 + 1), (False, True)):
            x = torch.zeros(1, 1, 1, size)
            want = out_size(size, k, s, p, d, ceil)
            try:
                got = F.max_pool2d(x, (1, k), (1, s), (0, p), (1, d), ceil).shape[-1]
            except RuntimeError:
                got = 0
            assert max(want, 0) == got, (size, k, s, p, d, ceil)


@pytest.mark.parametrize(
    "case",
    ["avg_ceil_mode_exclude_pad", "avg_ceil_mode", "max_dilated_ceil_f64", "avg_divisor_override",
     "max_nan_in_window", "input_smaller_than_kernel_ceil_avg"],
)  # fmt: skip
def test_oracle_matches_torch_float64(case: str) -> None:
    c = SUITE.find_case(case)
    assert isinstance(c, Case)
    x = np.asarray(case_inputs(SUITE, c)["x"], dtype=np.float64)
    opts = PoolOptions.build(c.options)
    expected = np.asarray(oracle_output(SUITE, c), dtype=np.float64)
    t = torch.tensor(x)
    if opts.op == "max":
        got = F.max_pool2d(t, opts.kernel, opts.steps, opts.padding, opts.dilation, opts.ceil_mode)
    else:
        got = F.avg_pool2d(t, opts.kernel, opts.steps, opts.padding, opts.ceil_mode,
                           opts.count_include_pad, opts.divisor_override)  # fmt: skip
    tol = 1e-12 if c.dtype == "float64" else 1e-6  # float32 cases: the oracle rounds once
    np.testing.assert_allclose(expected, got.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("bad", [{"padding": (2, 0)}, {"op": "avg", "dilation": (2, 2)},
                                 {"count_include_pad": False}])  # fmt: skip
def test_invalid_combinations_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PoolOptions.build(bad)

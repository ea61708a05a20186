"""Pitfalls of cutout_cutmix: each deliberately wrong variant is flagged by verify.

The variants are NumPy loops (the oracle's rules with one changed) wrapped in harness
Implementation records and run on the suite's own cases (fixed seeds) through
harness.verify.verify. The float32 λ of 'cutmix_side_threshold' are found by walking ulps
from 1 − (k/W)² until the float64 and float32 sides truncate differently (a search
written into the case, not tuned to these tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import verify
from suites.cutout_cutmix import SUITE, CutOptions, box_span, cutout_cutmix

Fn = Callable[..., Any]


def _verdict(fn: Fn, case: str | Case) -> Any:
    impl = Implementation("cutout_cutmix", "numpy", fn.__name__, fn)
    return verify(SUITE, impl, SUITE.find_case(case) if isinstance(case, str) else case)


def correct(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    return cutout_cutmix(images, labels, perm, lam, centres, length, opts)


def assert_caught(fn: Fn, case: str | Case, words: str = "differ") -> None:
    assert _verdict(correct, case).status == "pass", "the oracle itself fails"
    v = _verdict(fn, case)
    assert v.status in ("fail", "error") and words in v.detail, v.detail


def _cutmix(
    images: Any,
    labels: Any,
    perm: Any,
    lam: Any,
    centres: Any,
    opts: CutOptions,
    *,
    sides: Callable[[float, int, int], tuple[int, int]] | None = None,
    kept: Callable[[float, int, int, int], float] | None = None,
    in_place: bool = False,
    centre_xy: bool = False,
    swap_mix: bool = False,
) -> Any:
    """A CutMix loop with hooks for the mistakes: the sides, λ, the paste's source, the
    centre's order and the label mix."""
    x, y = np.asarray(images), np.asarray(labels, dtype=np.float64)
    n, _, h, w = x.shape
    out, mixed = x.copy(), y.copy()
    for i in range(n):
        if sides is None:
            r = math.sqrt(1.0 - float(lam[i]))
            sh, sw = int(h * r), int(w * r)
        else:
            sh, sw = sides(float(lam[i]), h, w)
        cy, cx = (centres[i, 1], centres[i, 0]) if centre_xy else (centres[i, 0], centres[i, 1])
        y1, y2 = box_span(int(cy), sh, h, opts)
        x1, x2 = box_span(int(cx), sw, w, opts)
        source = out if in_place else x
        out[i, :, y1:y2, x1:x2] = source[int(perm[i]), :, y1:y2, x1:x2]
        area = (y2 - y1) * (x2 - x1)
        k = 1.0 - area / (h * w) if kept is None else kept(float(lam[i]), sh * sw, area, h * w)
        a, b = (y[int(perm[i])], y[i]) if swap_mix else (y[i], y[int(perm[i])])
        mixed[i] = k * a + (1.0 - k) * b
    return out.astype(x.dtype), mixed.astype(np.asarray(labels).dtype)


# ---- CutMix: the box, λ and the mix ------------------------------------------------------------


def drawn_lam(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    """Keeps the drawn λ although the clipped box pasted less."""
    return _cutmix(images, labels, perm, lam, centres, opts, kept=lambda lam, *_: lam)


def lam_from_unclipped_box(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    return _cutmix(
        images, labels, perm, lam, centres, opts, kept=lambda lam, full, area, hw: 1.0 - full / hw
    )


def sides_rounded(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    def sides(lam: float, h: int, w: int) -> tuple[int, int]:
        r = math.sqrt(1.0 - lam)
        return round(h * r), round(w * r)

    return _cutmix(images, labels, perm, lam, centres, opts, sides=sides)


def sides_in_float32(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    def sides(lam: float, h: int, w: int) -> tuple[int, int]:
        r = np.sqrt(np.float32(1.0) - np.float32(lam))
        return int(np.float32(h) * r), int(np.float32(w) * r)

    return _cutmix(images, labels, perm, lam, centres, opts, sides=sides)


def sides_h_w_swapped(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    def sides(lam: float, h: int, w: int) -> tuple[int, int]:
        r = math.sqrt(1.0 - lam)
        return int(w * r), int(h * r)

    return _cutmix(images, labels, perm, lam, centres, opts, sides=sides)


def centre_as_xy(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    return _cutmix(images, labels, perm, lam, centres, opts, centre_xy=True)


def pasted_in_place(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    """Pastes into the batch it reads from: a later image may copy an already-pasted box."""
    return _cutmix(images, labels, perm, lam, centres, opts, in_place=True)


def mix_reversed(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    """λ weights the pasted image's label instead of the image's own."""
    return _cutmix(images, labels, perm, lam, centres, opts, swap_mix=True)


def one_box_for_the_batch(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    """The reference code's single box, applied whatever the per-image draws say."""
    n = len(lam)
    first = np.repeat(centres[:1], n, axis=0)
    return correct(images, labels, perm, np.full_like(lam, lam[0]), first, length, opts)


@pytest.mark.parametrize(
    ("fn", "case"),
    [
        (drawn_lam, "cutmix_f32"),
        (lam_from_unclipped_box, "cutmix_f32"),
        (sides_rounded, "cutmix_f64"),
        (sides_in_float32, "cutmix_side_threshold"),
        (sides_h_w_swapped, "cutmix_f32"),
        (centre_as_xy, "cutmix_f32"),
        (pasted_in_place, "cutmix_batch_box"),
        (mix_reversed, "cutmix_f64"),
        (one_box_for_the_batch, "cutmix_f32"),
    ],
)
def test_cutmix_mistakes_are_caught(fn: Fn, case: str) -> None:
    assert_caught(fn, case)


def test_the_variants_loop_agrees_with_the_oracle() -> None:
    """The hooks' defaults are the right rules: the mistakes above are the hooks alone."""

    def plain(
        images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
    ) -> Any:
        return _cutmix(images, labels, perm, lam, centres, opts)

    for case in ("cutmix_f32", "cutmix_side_threshold", "cutmix_batch_box"):
        assert _verdict(plain, case).status == "pass", case


# ---- the box's extent and CutOut's hole ---------------------------------------------------------


def exact_side_always(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    """An odd length cuts length pixels (not 2·(length//2), as the reference code)."""
    exact = CutOptions(opts.op, "exact", opts.correct_lam)
    return correct(images, labels, perm, lam, centres, length, exact)


def hole_by_multiplication(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    """The CutOut reference code: image * mask, so a NaN (or inf) in the hole stays NaN."""
    out, kept = correct(images, labels, perm, lam, centres, length, opts)
    hole = (out == 0) & (images != 0)
    with np.errstate(invalid="ignore"):
        return np.where(hole, images * 0.0, out), kept


def test_an_odd_side_follows_the_declared_extent() -> None:
    assert_caught(exact_side_always, "cutout_odd_length_f64")


def test_a_hole_is_assigned_not_multiplied() -> None:
    assert_caught(hole_by_multiplication, "cutout_nonfinite_pixels", "NaN where the oracle")


# ---- the generic mistakes ----------------------------------------------------------------------


def float32_arithmetic(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    f32 = images.astype(np.float32), labels.astype(np.float32), lam.astype(np.float32)
    out, mixed = correct(f32[0], f32[1], perm, f32[2], centres, length, opts)
    return out.astype(images.dtype), mixed.astype(labels.dtype)


def empty_flat(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    out, mixed = correct(images, labels, perm, lam, centres, length, opts)
    return (out.reshape(out.shape[0], -1) if out.size == 0 else out), mixed


def tiled_wrong_past_first_block(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    """Columns in tiles of 256; the later tiles paste from the image itself."""
    out, mixed = correct(images, labels, perm, lam, centres, length, opts)
    out[..., 256:] = images[..., 256:]
    return out, mixed


def labels_passed_through(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    """CutOut returning the labels argument itself."""
    out, _ = correct(images, labels, perm, lam, centres, length, opts)
    return out, labels


def pasted_into_the_input(
    images: Any, labels: Any, perm: Any, lam: Any, centres: Any, length: int, opts: CutOptions
) -> Any:
    out, mixed = correct(images, labels, perm, lam, centres, length, opts)
    images[...] = out
    return out, mixed


def test_float32_arithmetic_on_float64_inputs() -> None:
    assert_caught(float32_arithmetic, "cutmix_f64")


@pytest.mark.parametrize("case", ["empty_batch", "empty_channels"])
def test_an_empty_output_of_the_wrong_shape(case: str) -> None:
    assert_caught(empty_flat, case, "shape")


def test_a_tile_wrong_past_the_first_block() -> None:
    multi = SUITE.find_case("multi_block")
    assert isinstance(multi, Case)
    inp = SUITE.make_inputs(multi)
    side = int(300 * math.sqrt(1.0 - float(inp["lam"][0])))
    reach = [box_span(int(c), side, 300, CutOptions())[1] for c in inp["centres"][:, 1]]
    assert any(r > 256 and p != i for i, (r, p) in enumerate(zip(reach, inp["perm"], strict=True)))
    assert_caught(tiled_wrong_past_first_block, "multi_block")


def test_outputs_that_alias_or_overwrite_an_input() -> None:
    v = _verdict(labels_passed_through, "cutout_f32")
    assert v.status in ("fail", "error") and "shares memory" in v.detail, v.detail
    v = _verdict(pasted_into_the_input, "cutmix_f32")
    assert v.status in ("fail", "error") and "modified" in v.detail, v.detail


@pytest.mark.parametrize("values", [{"op": "mixup"}, {"box_side": "round"}])
def test_unknown_conventions_raise(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(values))):
        CutOptions.build(values)

"""box_iou_axis_aligned: the suite catches each classic slip of 2-D box IoU.

Each wrong variant is the oracle's formula with one plausible mistake; verify must flag it
on the case that exposes it, while the same code without the mistake passes. Inputs come
only from the suite's seeded cases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, verify
from suites.box_iou_axis_aligned import SUITE, BoxIouOptions

Fn = Callable[[Any, Any, BoxIouOptions], Any]


def run(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("box_iou_axis_aligned", "numpy", fn.__name__, fn)
    case = SUITE.find_case(case_name)
    assert isinstance(case, Case)
    return verify(SUITE, impl, case)


def formula(a: Any, b: Any, opts: BoxIouOptions, bug: str = "", work: Any = None) -> Any:
    """The IoU of every pair (or row against row when paired); ``bug`` names the one
    mistake it makes."""
    floating = np.dtype(np.result_type(a, b)).kind == "f"
    out_dtype = np.result_type(a, b) if floating else np.float64
    if work is None:
        work = np.result_type(a, b).type if bug in ("int_areas", "plus_one_first") else np.float64
    a, b = np.asarray(a, dtype=work).reshape(-1, 4), np.asarray(b, dtype=work).reshape(-1, 4)
    if opts.form == "pairwise" or bug == "paired_as_pairwise":
        a, b = a[:, None, :], b[None, :, :]
    one = work(1) if opts.pixel_inclusive and bug != "ignores_inclusive" else work(0)
    if bug == "plus_one_first":  # (x2 + 1) - x1: at 2e7 float32 spacing is 2, the +1 is lost
        wa, ha = (a[..., 2] + one) - a[..., 0], (a[..., 3] + one) - a[..., 1]
        wb, hb = (b[..., 2] + one) - b[..., 0], (b[..., 3] + one) - b[..., 1]
    else:
        wa, ha = a[..., 2] - a[..., 0] + one, a[..., 3] - a[..., 1] + one
        wb, hb = b[..., 2] - b[..., 0] + one, b[..., 3] - b[..., 1] + one
    iw = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + one
    ih = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + one
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    eps = 0.0 if bug == "no_eps" else opts.iou_eps
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        union = wa * ha + wb * hb - inter + eps
        iou = inter.astype(np.float64) / union.astype(np.float64)
    if opts.zero_union == "zero" or bug == "zero_always":
        iou = np.where(union == 0, 0.0, iou)
    return iou.astype(out_dtype)


def variant(bug: str, **kw: Any) -> Fn:
    def fn(a: Any, b: Any, opts: BoxIouOptions) -> Any:
        return formula(a, b, opts, bug, **kw)

    fn.__name__ = bug or "correct"
    return fn


def test_the_formula_without_a_slip_passes() -> None:
    for name in ("random_f32", "random_f64", "inclusive_f64", "eps_small_f64", "nan_union_f64",
                 "touching_inclusive", "far_coordinates_f32_inclusive", "int32_area_overflow",
                 "empty_b", "paired_f32", "paired_inclusive_int32", "paired_empty"):  # fmt: skip
        v = run(variant(""), name)
        assert v.status == "pass", (name, v.detail)


def test_each_slip_is_caught_on_the_case_that_exposes_it() -> None:
    slips = {
        "ignores_inclusive": "touching_inclusive",  # pixel +1: touching boxes share a column
        "int_areas": "int32_area_overflow",  # w * h in int32 wraps from sides of 46,341
        "no_eps": "eps_small_f64",  # eps matters on small boxes in float64
        "plus_one_first": "far_coordinates_f32_inclusive",  # x2 + 1 rounds back to x2 at 2e7
    }
    for bug, name in slips.items():
        assert run(variant(bug), "random_f32").status == "pass", bug  # random boxes hide it
        v = run(variant(bug), name)
        assert v.status == "fail" and "elements differ" in v.detail, (bug, v.detail)


def test_the_paired_form_is_one_iou_per_row() -> None:
    """The pairwise (N, N) grid where the paired form asks for its diagonal (N,)."""
    v = run(variant("paired_as_pairwise"), "paired_f32")
    assert v.status == "fail" and "shape" in v.detail, v.detail


def test_zero_union_follows_the_flag() -> None:
    for name in ("nan_union_f64", "paired_nan_union_f64"):
        v = run(variant("zero_always"), name)
        assert v.status == "fail" and "numbers where the oracle has NaN" in v.detail, v.detail


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    low = variant("", work=np.float32)
    assert run(low, "random_f32").status == "pass"
    for name in ("random_f64", "inclusive_f64", "paired_f64"):
        assert run(low, name).status == "fail", name


def test_wrong_shape_on_empty_input_is_caught() -> None:
    def flat_when_empty(a: Any, b: Any, opts: BoxIouOptions) -> Any:
        out = formula(a, b, opts)
        return out.reshape(-1) if out.size == 0 else out

    assert run(flat_when_empty, "random_f32").status == "pass"
    v = run(flat_when_empty, "empty_b")
    assert v.status == "fail" and "shape" in v.detail, v.detail


def test_a_blocked_implementation_wrong_past_its_first_block_is_caught() -> None:
    """Rows in blocks of 256, every block after the first fed box a's first block again."""

    def blocked(a: Any, b: Any, opts: BoxIouOptions) -> Any:
        parts = [formula(a[: len(a[r : r + 256])], b, opts) for r in range(0, len(a), 256)]
        return np.concatenate(parts, axis=0) if parts else formula(a, b, opts)

    assert run(blocked, "random_f32").status == "pass"
    assert run(blocked, "multi_block").status == "fail"

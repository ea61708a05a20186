"""box_iou_3d_axis_aligned: the suite catches each classic slip of 3-D box IoU.

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
from suites.box_iou_3d_axis_aligned import SUITE, IouOptions

Fn = Callable[[Any, Any, IouOptions], Any]


def run(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("box_iou_3d_axis_aligned", "numpy", fn.__name__, fn)
    case = SUITE.find_case(case_name)
    assert isinstance(case, Case)
    return verify(SUITE, impl, case)


def formula(a: Any, b: Any, opts: IouOptions, bug: str = "", work: Any = None) -> Any:
    """The pairwise 3-D IoU; ``bug`` names the one mistake it makes."""
    floating = np.dtype(np.result_type(a, b)).kind == "f"
    out_dtype = np.result_type(a, b) if floating else np.float64
    if work is None:
        work = np.result_type(a, b).type if bug == "int_volumes" else np.float64
    a, b = np.asarray(a, dtype=work), np.asarray(b, dtype=work)
    one = work(1) if opts.pixel_inclusive and bug != "ignores_inclusive" else work(0)
    vol_a = np.prod(a[:, 3:] - a[:, :3] + one, axis=1, dtype=work)
    vol_b = np.prod(b[:, 3:] - b[:, :3] + one, axis=1, dtype=work)
    sides = [
        np.minimum(a[:, None, k + 3], b[None, :, k + 3])
        - np.maximum(a[:, None, k], b[None, :, k])
        + one
        for k in range(3)
    ]
    if bug == "clamp_product":  # two negative overlaps multiply to a positive volume
        inter = np.clip(sides[0] * sides[1] * sides[2], 0, None)
    else:
        inter = np.clip(sides[0], 0, None) * np.clip(sides[1], 0, None) * np.clip(sides[2], 0, None)
    eps = 0.0 if bug == "no_eps" else opts.iou_eps
    union = vol_a[:, None] + vol_b[None, :] - inter + eps
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        iou = inter.astype(np.float64) / union.astype(np.float64)
    if opts.zero_union == "zero" or bug == "zero_always":
        iou = np.where(union == 0, 0.0, iou)
    return iou.astype(out_dtype)


def variant(bug: str, **kw: Any) -> Fn:
    def fn(a: Any, b: Any, opts: IouOptions) -> Any:
        return formula(a, b, opts, bug, **kw)

    fn.__name__ = bug or "correct"
    return fn


def test_the_formula_without_a_slip_passes() -> None:
    for name in ("random_f32", "random_f64", "inclusive_f64", "eps_small_f64", "nan_union_f64",
                 "touching", "apart_in_two_axes", "int32_volume_overflow", "empty_b"):  # fmt: skip
        v = run(variant(""), name)
        assert v.status == "pass", (name, v.detail)


def test_each_slip_is_caught_on_the_case_that_exposes_it() -> None:
    slips = {
        "clamp_product": "apart_in_two_axes",  # (-a)(-b)(c) > 0 for boxes apart in x and y
        "ignores_inclusive": "touching_inclusive",  # voxel +1: touching boxes share a layer
        "int_volumes": "int32_volume_overflow",  # w h d in int32 wraps from sides of 1,291
        "no_eps": "eps_small_f64",  # eps matters on small boxes in float64
    }
    for bug, name in slips.items():
        if bug != "clamp_product":  # random boxes show no other slip
            assert run(variant(bug), "random_f32").status == "pass", bug
        v = run(variant(bug), name)
        assert v.status == "fail" and "elements differ" in v.detail, (bug, v.detail)


def test_zero_union_follows_the_flag() -> None:
    v = run(variant("zero_always"), "nan_union_f64")
    assert v.status == "fail" and "numbers where the oracle has NaN" in v.detail, v.detail


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    low = variant("", work=np.float32)
    assert run(low, "random_f32").status == "pass"
    for name in ("random_f64", "inclusive_f64"):
        assert run(low, name).status == "fail", name


def test_wrong_shape_on_empty_input_is_caught() -> None:
    def flat_when_empty(a: Any, b: Any, opts: IouOptions) -> Any:
        out = formula(a, b, opts)
        return out.reshape(-1) if out.size == 0 else out

    assert run(flat_when_empty, "random_f32").status == "pass"
    v = run(flat_when_empty, "empty_b")
    assert v.status == "fail" and "shape" in v.detail, v.detail


def test_a_blocked_implementation_wrong_past_its_first_block_is_caught() -> None:
    """Rows in blocks of 256, every block after the first fed box a's first block again."""

    def blocked(a: Any, b: Any, opts: IouOptions) -> Any:
        parts = [formula(a[: len(a[r : r + 256])], b, opts) for r in range(0, len(a), 256)]
        return np.concatenate(parts, axis=0) if parts else formula(a, b, opts)

    assert run(blocked, "random_f32").status == "pass"
    assert run(blocked, "multi_block").status == "fail"

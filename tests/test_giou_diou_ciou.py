"""giou_diou_ciou: the suite catches each classic slip of the GIoU / DIoU / CIoU formulas.

Each wrong variant is the oracle's formula with one plausible mistake; verify must flag it
on the case that exposes it, while the same code without the mistake passes. Inputs come
only from the suite's seeded cases.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from harness.registry import Implementation
from harness.verify import Verdict, verify
from suites.giou_diou_ciou import SUITE, GiouOptions

Fn = Callable[[Any, Any, GiouOptions], Any]


def run(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("giou_diou_ciou", "numpy", fn.__name__, fn)
    return verify(SUITE, impl, SUITE.find_case(case_name))


def formula(a: Any, b: Any, opts: GiouOptions, bug: str = "", work: Any = None) -> Any:
    """The pairwise metric; ``bug`` names the one mistake it makes."""
    out_dtype = np.result_type(a, b, np.float32)
    a = np.asarray(a, dtype=work or np.float64)[:, None, :]
    b = np.asarray(b, dtype=work or np.float64)[None, :, :]
    wa, ha, wb, hb = (
        a[..., 2] - a[..., 0],
        a[..., 3] - a[..., 1],
        b[..., 2] - b[..., 0],
        b[..., 3] - b[..., 1],
    )
    inter = np.clip(
        np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None
    ) * np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    union = wa * ha + wb * hb - inter
    cw = np.maximum(a[..., 2], b[..., 2]) - np.minimum(a[..., 0], b[..., 0])
    ch = np.maximum(a[..., 3], b[..., 3]) - np.minimum(a[..., 1], b[..., 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / (union + (1e-7 if bug == "eps_in_union" else 0.0))
        if opts.metric == "giou":
            area_c = cw * ch
            gap = area_c - (inter if bug == "c_minus_inter" else union)
            return (iou - gap / area_c).astype(out_dtype)
        half = 1.0 if bug == "corner_sums" else 0.5  # centres are half the corner sums
        dx = half * ((a[..., 0] + a[..., 2]) - (b[..., 0] + b[..., 2]))
        dy = half * ((a[..., 1] + a[..., 3]) - (b[..., 1] + b[..., 3]))
        c2 = (cw * cw + ch * ch) if bug != "union_diagonal" else (wa**2 + ha**2)
        diou = iou - (dx * dx + dy * dy) / (c2 + opts.eps)
        if opts.metric == "diou":
            return diou.astype(out_dtype)
        angle = (lambda r: r) if bug == "no_atan" else np.arctan  # atan(h/w) would be the same
        v = 4 / math.pi**2 * (angle(wa / ha) - angle(wb / hb)) ** 2
        alpha = v / (1 - iou + v + (0.0 if bug == "alpha_without_eps" else opts.eps))
        return (diou - alpha * v).astype(out_dtype)


def variant(bug: str, **kw: Any) -> Fn:
    def fn(a: Any, b: Any, opts: GiouOptions) -> Any:
        return formula(a, b, opts, bug, **kw)

    fn.__name__ = bug or "correct"
    return fn


def test_the_formula_without_a_slip_passes() -> None:
    for name in ("giou_f64", "diou_f32", "ciou_f64", "identical_ciou", "zero_height_ciou",
                 "zero_area_enclosing_giou", "disjoint_giou", "empty_b"):  # fmt: skip
        v = run(variant(""), name)
        assert v.status == "pass", (name, v.detail)


def test_each_slip_is_caught_on_the_case_that_exposes_it() -> None:
    slips = {
        "c_minus_inter": "disjoint_giou",  # |C| - inter: differs wherever boxes overlap less
        "corner_sums": "diou_f32",  # rho from corner sums: 4x the centre distance squared
        "union_diagonal": "disjoint_diou_f64",  # c from box a, not the enclosing box
        "no_atan": "ciou_f32",  # aspect ratios compared without atan
        "eps_in_union": "giou_f64",  # the loss's eps placement, not the metric's
    }
    for bug, name in slips.items():
        v = run(variant(bug), name)
        assert v.status == "fail", (bug, name, v.detail)
        assert "elements differ" in v.detail, v.detail


def test_alpha_keeps_its_eps_at_identical_boxes() -> None:
    """Identical boxes: v = 0 and 1 - IoU = 0, so alpha = 0 / (0 + eps) = 0 with eps but
    0/0 = NaN without it; the oracle's eps = 1e-7 gives CIoU exactly 1."""
    assert run(variant(""), "identical_ciou").status == "pass"
    v = run(variant("alpha_without_eps"), "identical_ciou")
    assert v.status == "fail" and "NaN where the oracle has a number" in v.detail, v.detail


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    in_float32 = variant("", work=np.float32)
    in_float32.__name__ = "in_float32"
    assert run(in_float32, "ciou_f32").status == "pass"
    for name in ("giou_f64", "ciou_f64"):
        assert run(in_float32, name).status == "fail", name


def test_wrong_shape_on_empty_input_is_caught() -> None:
    def flat_when_empty(a: Any, b: Any, opts: GiouOptions) -> Any:
        out = formula(a, b, opts)
        return out.reshape(-1) if out.size == 0 else out

    assert run(flat_when_empty, "giou_f32").status == "pass"
    v = run(flat_when_empty, "empty_b")
    assert v.status == "fail" and "shape" in v.detail, v.detail


def test_a_blocked_implementation_wrong_past_its_first_block_is_caught() -> None:
    """Rows in blocks of 256, every block after the first fed box a's first block again."""

    def blocked(a: Any, b: Any, opts: GiouOptions) -> Any:
        parts = []
        for r in range(0, len(a), 256):
            rows = len(a[r : r + 256])
            parts.append(formula(a[:rows], b, opts))  # the block's offset r is forgotten
        return np.concatenate(parts, axis=0) if parts else formula(a, b, opts)

    assert run(blocked, "ciou_f32").status == "pass"  # 64 rows: one block
    assert run(blocked, "multi_block").status == "fail"


def test_the_paired_loss_keeps_torchvision_s_eps_and_reduction() -> None:
    """torchvision's losses add eps to the union and to |C|: identical boxes give a loss of
    about 2e-9, not 0; and a mean is not a sum."""
    from suites.giou_diou_ciou import giou_diou_ciou

    def metric_eps(a: Any, b: Any, opts: GiouOptions) -> Any:
        pairwise = GiouOptions(metric=opts.metric, eps=opts.eps)
        loss = 1 - np.diagonal(giou_diou_ciou(a, b, pairwise)).astype(np.result_type(a, np.float32))
        return (
            loss.sum()
            if opts.reduction == "sum"
            else loss.mean()
            if opts.reduction == "mean"
            else loss
        )

    def sum_for_mean(a: Any, b: Any, opts: GiouOptions) -> Any:
        loss = giou_diou_ciou(a, b, GiouOptions(**{**opts.as_dict(), "reduction": "none"}))
        return np.asarray(loss.sum(), dtype=np.result_type(a, np.float32))

    assert run(metric_eps, "giou_loss_f32").status == "pass"  # no pair is near 0/0
    v = run(metric_eps, "identical_giou_loss")
    assert v.status == "fail" and "elements differ" in v.detail, v.detail
    assert run(sum_for_mean, "ciou_loss_sum_f32").status == "pass"
    assert run(sum_for_mean, "diou_loss_mean_f64").status == "fail"

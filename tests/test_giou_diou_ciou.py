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


# ---- backward mode ---------------------------------------------------------------------------

from harness.spec import Case  # noqa: E402
from harness.verify import case_inputs  # noqa: E402
from suites.giou_diou_ciou import (  # noqa: E402
    BACKWARD_SUITE,
    GiouBackwardOptions,
    giou_diou_ciou,
    giou_diou_ciou_backward,
)

BW = Callable[[Any, Any, Any, GiouBackwardOptions], Any]


def bw_case(name: str) -> Case:
    found = BACKWARD_SUITE.find_case(name)
    assert isinstance(found, Case)
    return found


def run_bw(fn: BW, case_name: str) -> Verdict:
    impl = Implementation("giou_diou_ciou.backward", "numpy", fn.__name__, fn)
    return verify(BACKWARD_SUITE, impl, bw_case(case_name))


def _loss_np(a: Any, b: Any, opts: GiouBackwardOptions) -> Any:
    """The forward oracle's paired loss, reduced: the function the backward differentiates."""
    fwd = GiouOptions(metric=opts.metric, eps=opts.eps, form="paired_loss",
                      reduction=opts.reduction)  # fmt: skip
    return giou_diou_ciou(a, b, fwd)


BW_CASES = ("giou_f64", "diou_f64", "ciou_not_detached_f64", "giou_mean_f64", "ciou_sum_f64",
            "containment_ciou", "disjoint_giou", "zero_height_target")  # fmt: skip


def test_the_backward_oracle_agrees_with_finite_differences() -> None:
    """Central differences of the forward oracle's loss (alpha differentiated: the true
    derivative) on 12 rows of each case, h = 1e-6 x the coordinate scale: truncation and
    rounding stay below 1e-7 of the gradient's scale."""
    for name in BW_CASES:
        case = bw_case(name)
        opts = GiouBackwardOptions.build(case.options)
        if opts.metric == "ciou" and opts.detach_alpha:
            continue
        inputs = case_inputs(BACKWARD_SUITE, case)
        a, b = (np.asarray(inputs[k], dtype=np.float64)[:12] for k in ("boxes_a", "boxes_b"))
        g = np.asarray(inputs["grad"], dtype=np.float64)
        g = g[:12] if opts.reduction == "none" else g
        want = giou_diou_ciou_backward(a, b, g, opts)
        got = np.zeros_like(a)
        h = 1e-6 * 20
        for i in range(a.shape[0]):
            for k in range(4):
                up, down = a.copy(), a.copy()
                up[i, k] += h
                down[i, k] -= h
                diff = (_loss_np(up, b, opts) - _loss_np(down, b, opts)) / (2 * h)
                got[i, k] = (diff[i] * g[i]) if opts.reduction == "none" else diff * g
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7 * np.abs(want).max(),
                                   err_msg=name)  # fmt: skip


def _torch_loss(a: Any, b: Any, opts: GiouBackwardOptions) -> Any:
    """torchvision's *_box_iou_loss formulas, written out here independently."""
    import torch

    x1, y1, x2, y2 = a.unbind(-1)
    u1, v1, u2, v2 = b.unbind(-1)
    kx1, ky1, kx2, ky2 = torch.max(x1, u1), torch.max(y1, v1), torch.min(x2, u2), torch.min(y2, v2)
    mask = (ky2 > ky1) & (kx2 > kx1)
    inter = torch.where(mask, (kx2 - kx1) * (ky2 - ky1), torch.zeros_like(x1))
    union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
    iou = inter / (union + opts.eps)
    xc1, yc1, xc2, yc2 = torch.min(x1, u1), torch.min(y1, v1), torch.max(x2, u2), torch.max(y2, v2)
    if opts.metric == "giou":
        area_c = (xc2 - xc1) * (yc2 - yc1)
        loss = 1 - (iou - (area_c - union) / (area_c + opts.eps))
    else:
        diag = (xc2 - xc1) ** 2 + (yc2 - yc1) ** 2 + opts.eps
        centre = ((x1 + x2) / 2 - (u1 + u2) / 2) ** 2 + ((y1 + y2) / 2 - (v1 + v2) / 2) ** 2
        loss = 1 - iou + centre / diag
        if opts.metric == "ciou":
            v = (4 / torch.pi**2) * (torch.atan((u2 - u1) / (v2 - v1))
                                     - torch.atan((x2 - x1) / (y2 - y1))) ** 2  # fmt: skip
            if opts.detach_alpha:
                with torch.no_grad():
                    alpha = v / (1 - iou + v + opts.eps)
            else:
                alpha = v / (1 - iou + v + opts.eps)
            loss = loss + alpha * v
    if opts.reduction == "sum":
        return loss.sum()
    return loss.mean() if opts.reduction == "mean" else loss


def test_the_backward_oracle_agrees_with_torch_float64_autograd() -> None:
    import torch

    for case in BACKWARD_SUITE.cases:
        inputs = case_inputs(BACKWARD_SUITE, case)
        if not len(inputs["boxes_a"]):
            continue
        opts = GiouBackwardOptions.build(case.options)
        a = torch.tensor(inputs["boxes_a"], dtype=torch.float64, requires_grad=True)
        b = torch.tensor(inputs["boxes_b"], dtype=torch.float64)
        g = torch.tensor(inputs["grad"], dtype=torch.float64)
        (got,) = torch.autograd.grad(_torch_loss(a, b, opts), a, g)
        a64, b64, g64 = (np.asarray(inputs[k], dtype=np.float64) for k in inputs)
        want = giou_diou_ciou_backward(a64, b64, g64, opts)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-9, atol=1e-12, err_msg=case.name)


def _bw_variant(bug: str, work: Any = np.float64) -> BW:
    """The oracle with one slip, by editing its inputs or options."""

    def fn(a: Any, b: Any, g: Any, opts: GiouBackwardOptions) -> Any:
        dtype = np.result_type(a, b)
        a64, b64, g64 = (np.asarray(x, dtype=work).astype(np.float64) for x in (a, b, g))
        if bug == "always_detached":
            opts = GiouBackwardOptions(**{**opts.as_dict(), "detach_alpha": True})
        elif bug == "never_detached":
            opts = GiouBackwardOptions(**{**opts.as_dict(), "detach_alpha": False})
        elif bug == "mean_as_sum" and opts.reduction == "mean":
            opts = GiouBackwardOptions(**{**opts.as_dict(), "reduction": "sum"})
        out = giou_diou_ciou_backward(a64, b64, g64, opts)
        if bug == "flat_when_empty" and out.size == 0:
            out = out.reshape(-1)
        return np.asarray(out, dtype=work).astype(dtype)

    fn.__name__ = bug or "correct"
    return fn


def test_the_backward_slips_are_caught() -> None:
    assert run_bw(_bw_variant(""), "ciou_not_detached_f32").status == "pass"
    slips = {
        "always_detached": "ciou_not_detached_f64",  # detach_alpha=False ignored
        "never_detached": "ciou_f64",  # torchvision's no_grad alpha ignored
        "mean_as_sum": "giou_mean_f64",  # the upstream gradient not divided by N
    }
    for bug, name in slips.items():
        v = run_bw(_bw_variant(bug), name)
        assert v.status == "fail" and "elements differ" in v.detail, (bug, v.detail)
    assert run_bw(_bw_variant("always_detached"), "ciou_f64").status == "pass"


def test_an_intersection_without_torchvision_s_mask_is_caught() -> None:
    """Boxes apart along x but overlapping along y: iw < 0, ih > 0. Without the mask the
    intersection iw ih is negative and so is its gradient's share."""

    def unmasked(a: Any, b: Any, g: Any, opts: GiouBackwardOptions) -> Any:
        import torch

        ta = torch.tensor(np.float64(a), requires_grad=True)
        tb = torch.tensor(np.float64(b))
        x1, y1, x2, y2 = ta.unbind(-1)
        u1, v1, u2, v2 = tb.unbind(-1)
        inter = (torch.min(x2, u2) - torch.max(x1, u1)) * (torch.min(y2, v2) - torch.max(y1, v1))
        union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
        iou = inter / (union + opts.eps)
        area_c = (torch.max(x2, u2) - torch.min(x1, u1)) * (torch.max(y2, v2) - torch.min(y1, v1))
        loss = 1 - (iou - (area_c - union) / (area_c + opts.eps))
        (da,) = torch.autograd.grad(loss, ta, torch.tensor(np.float64(g)))
        return da.numpy().astype(np.result_type(a, b))

    v = run_bw(unmasked, "disjoint_giou")
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_backward_float32_arithmetic_empty_shape_and_blocks() -> None:
    low = _bw_variant("", work=np.float32)
    assert run_bw(low, "giou_f32").status == "pass"
    assert run_bw(low, "giou_f64").status == "fail"
    v = run_bw(_bw_variant("flat_when_empty"), "empty")
    assert v.status == "fail" and "shape" in v.detail, v.detail

    def blocked(a: Any, b: Any, g: Any, opts: GiouBackwardOptions) -> Any:
        rows = []
        for r in range(0, len(a), 256):  # every block reads a's first block again
            rows.append(giou_diou_ciou_backward(a[: len(a[r : r + 256])], b[r : r + 256],
                                                g[r : r + 256], opts))  # fmt: skip
        return np.concatenate(rows).astype(np.result_type(a, b))

    assert run_bw(blocked, "ciou_not_detached_f32").status == "pass"
    assert run_bw(blocked, "multi_block").status == "fail"

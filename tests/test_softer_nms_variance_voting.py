"""softer_nms_variance_voting: the suite catches each classic slip of variance voting.

Each wrong variant is the oracle's loop with one plausible mistake; verify must flag it on
the case that exposes it, while the same loop without the mistake passes. Inputs come only
from the suite's seeded cases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, case_inputs, verify
from suites.softer_nms_variance_voting import (
    SUITE,
    SofterNmsOptions,
    iou_row,
)

Fn = Callable[..., tuple[Any, Any]]


def find(name: str) -> Case:
    case = SUITE.find_case(name)
    assert isinstance(case, Case)
    return case


def run(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("softer_nms_variance_voting", "numpy", fn.__name__, fn)
    return verify(SUITE, impl, find(case_name))


def loop(
    boxes: Any,
    scores: Any,
    variances: Any,
    t: float,
    sigma_t: float,
    opts: SofterNmsOptions,
    bug: str = "",
    work: Any = np.float64,
) -> tuple[Any, Any]:
    """The oracle's loop; ``bug`` names the one mistake it makes."""
    out_dtype = np.asarray(boxes).dtype
    b = np.asarray(boxes, dtype=work)
    var = np.asarray(variances, dtype=work)
    s = np.asarray(scores, dtype=np.float64)
    order = (
        np.argsort(s, kind="stable")[::-1]
        if bug == "reversed_sort"
        else np.argsort(-s, kind="stable")
    )
    alive = np.ones(len(b), dtype=bool)
    keep, voted = [], []
    for rank, m in enumerate(order):
        if not alive[m]:
            continue
        alive[m] = False
        keep.append(m)
        iou = iou_row(b[m], b).astype(work)
        floor = t if opts.voters == "above_threshold" and bug != "ignores_voters" else 0.0
        pool = np.ones_like(alive) if bug == "all_boxes_vote" else alive
        vote = pool & (iou > floor)
        vote[m] = True
        gap = 1.0 - iou[vote]
        p = np.exp(-(gap if bug == "no_square" else gap**2) / sigma_t)[:, None]
        w = {"no_variance": p * np.ones_like(var[vote]), "times_variance": p * var[vote]}.get(
            bug, p / var[vote]
        )
        box = (w * b[vote]).sum(axis=0) / w.sum(axis=0)
        voted.append(box)
        ref = box if opts.suppress_with == "voted" and bug != "ignores_suppress_with" else b[m]
        gone = iou_row(ref, b) > t
        if bug == "window_256":  # suppression scans only the next 256 boxes in score order
            window = np.zeros_like(alive)
            window[order[rank + 1 : rank + 257]] = True
            gone &= window
        alive &= ~gone
    shape = (-1,) if bug == "flat_when_empty" and not voted else (-1, 4)
    return np.array(keep, dtype=np.int64), np.array(voted, dtype=out_dtype).reshape(shape)


def variant(bug: str, **kw: Any) -> Fn:
    def fn(boxes: Any, scores: Any, variances: Any, t: float, sigma_t: float,
           opts: SofterNmsOptions) -> tuple[Any, Any]:  # fmt: skip
        return loop(boxes, scores, variances, t, sigma_t, opts, bug, **kw)

    fn.__name__ = bug or "correct"
    return fn


def test_the_loop_without_a_slip_passes() -> None:
    for name in ("clustered_f32", "clustered_f64", "voters_above_t_f64", "suppress_original_f64",
                 "equal_scores", "multi_block", "empty", "isolated"):  # fmt: skip
        v = run(variant(""), name)
        assert v.status == "pass", (name, v.detail)


@pytest.mark.parametrize(
    ("bug", "case_name"),
    [
        ("no_variance", "clustered_f64"),  # an IoU-weighted mean: the variances ignored
        ("times_variance", "clustered_f64"),  # sigma^2 as the weight, not 1 / sigma^2
        ("no_square", "clustered_f64"),  # exp(-(1 - IoU) / sigma_t)
        ("all_boxes_vote", "clustered_f64"),  # kept and suppressed boxes vote again
        ("ignores_voters", "voters_above_t_f64"),
        ("ignores_suppress_with", "clustered_f64"),  # suppression by the box as predicted
        ("reversed_sort", "equal_scores"),  # equal scores: the higher index first
        ("window_256", "multi_block"),  # a blocked scan: wrong only past its first block
    ],
)
def test_each_slip_is_caught(bug: str, case_name: str) -> None:
    v = run(variant(bug), case_name)
    assert v.status == "fail" and "output" in v.detail, (bug, v.detail)


def test_isolated_boxes_are_kept_unchanged() -> None:
    case = find("isolated")
    inputs = case_inputs(SUITE, case)
    keep, boxes = SUITE.run_oracle(inputs, case)
    assert len(keep) == len(inputs["boxes"])
    np.testing.assert_allclose(boxes, np.asarray(inputs["boxes"])[keep], rtol=1e-15)


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    low = variant("", work=np.float32)
    assert run(low, "clustered_f32").status == "pass"
    for name in ("clustered_f64", "tiny_variances"):
        assert run(low, name).status == "fail", name


def test_wrong_shape_on_empty_input_is_caught() -> None:
    v = run(variant("flat_when_empty"), "empty")
    assert v.status == "fail" and "shape" in v.detail, v.detail


def test_no_decision_of_a_verify_case_sits_near_the_threshold() -> None:
    """Kept indices are compared exactly: fair only when every suppression decision (IoU
    of a remaining box with the kept box, voted or original) is at least 1e-5 from t, far
    beyond float32's ~1e-6 on an IoU of voted coordinates. Exactly 0 is exact in every
    dtype (disjoint boxes), so it never counts as near t = 0."""
    for case in SUITE.cases:
        inputs = case_inputs(SUITE, case)
        b = np.asarray(inputs["boxes"], dtype=np.float64)
        t = inputs["iou_threshold"]
        keep, voted = SUITE.run_oracle(inputs, case)
        for k, box in zip(keep, voted, strict=True):
            for ref in (box, b[k]):
                iou = iou_row(ref, b)
                near = (np.abs(iou - t) < 1e-5) & (iou != 0)
                near[k] = False
                assert not near.any(), (case.name, k)

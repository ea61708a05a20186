"""soft_nms: the suite catches each classic mistake and accepts every valid trace.

Each wrong variant below is a plausible NumPy soft-NMS with one mistake; verify must flag it
with a diagnosis that names what went wrong, while the same loop without the mistake (or the
oracle) passes. Inputs come only from the suite's seeded cases and a few hand-built boxes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, case_inputs, oracle_output, verify
from suites.soft_nms import SUITE, Geometry, SoftNmsOptions, decay, soft_nms

Fn = Callable[..., Any]


def run(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("soft_nms", "numpy", fn.__name__, fn)
    case = SUITE.find_case(case_name)
    return verify(SUITE, impl, case)


def loop(
    boxes: Any,
    scores: Any,
    t: float,
    sigma: float,
    thr: float,
    opts: SoftNmsOptions,
    bug: str = "",
    dtype: Any = None,
) -> tuple[Any, Any]:
    """A straightforward soft-NMS; ``bug`` names the one mistake it makes."""
    out_dtype = np.asarray(scores).dtype
    work = np.dtype(dtype or np.float64)
    geometry = Geometry(np.asarray(boxes, dtype=work))
    s = np.array(scores, dtype=work)
    first_order = np.argsort(-s, kind="stable")
    after = opts.prune == "after"
    remaining = np.arange(s.size) if after else np.flatnonzero(s >= thr)
    keep: list[int] = []
    kept: list[float] = []
    step = 0
    while remaining.size and step <= len(s):  # a bookkeeping bug may never empty it
        values = s[remaining]
        if bug == "ties_higher_index":  # last maximum instead of the first
            top = int(remaining.size - 1 - np.argmax(values[::-1]))
        else:
            top = int(np.argmax(values))
        i = int(remaining[top])
        keep.append(i)
        kept.append(float(s[i]))
        if bug == "index_as_position":  # drops the box whose index equals the position
            remaining = remaining[remaining != top]
        else:
            remaining = np.delete(remaining, top)
        source = int(first_order[step]) if bug == "wrong_box" else i
        targets = np.flatnonzero(s >= -np.inf) if bug == "rescore_kept" else remaining
        targets = targets[targets != source]
        iou = geometry.iou(source)[targets].astype(work)
        s[targets] *= decay(iou, t, sigma, opts).astype(work)
        if bug == "prune_equal":
            remaining = remaining[s[remaining] > thr]
        elif not after:
            remaining = remaining[s[remaining] >= thr]
        step += 1
    k = np.array(keep, dtype=np.int64)
    final = s[k] if bug == "rescore_kept" else np.array(kept)
    if after:
        k, final = k[final >= thr], final[final >= thr]
    return k, final.astype(out_dtype)


def with_bug(bug: str, **kw: Any) -> Fn:
    def fn(boxes: Any, scores: Any, t: float, sigma: float, thr: float, opts: Any) -> Any:
        return loop(boxes, scores, t, sigma, thr, opts, bug=bug, **kw)

    fn.__name__ = bug or "correct"
    return fn


correct = with_bug("")


def test_the_straightforward_loop_passes_where_the_mistakes_fail() -> None:
    for name in ("gaussian_f32", "gaussian_f64", "linear_f32", "iou_exactly_half_linear_ge",
                 "score_ties_threshold", "multi_block"):  # fmt: skip
        v = run(correct, name)
        assert v.status == "pass", (name, v.detail)


# ---- the three classic bookkeeping mistakes ----------------------------------------------------


def test_rescoring_already_kept_boxes_is_caught() -> None:
    v = run(with_bug("rescore_kept"), "gaussian_f32")
    assert v.status == "fail", v.detail
    assert "is reported with score" in v.detail and "not decayed exactly" in v.detail


def test_decaying_by_the_wrong_box_is_caught() -> None:
    """IoU with the box that was step-th by the initial scores, not the one just emitted."""
    v = run(with_bug("wrong_box"), "gaussian_f32")
    assert v.status == "fail", v.detail
    assert "the decays along the output's own order give" in v.detail, v.detail


def test_an_index_kept_twice_is_caught() -> None:
    v = run(with_bug("index_as_position"), "gaussian_f32")
    assert v.status == "fail", v.detail
    assert "is emitted twice" in v.detail, v.detail


# ---- conventions --------------------------------------------------------------------------------


def test_linear_decay_at_iou_equal_to_the_threshold_follows_decay_if() -> None:
    """IoU exactly 1/2 = t with exact arithmetic: 'ge' decays it, 'gt' (OpenCV) does not."""
    gt_always = with_bug("")

    def ignores_decay_if(b: Any, s: Any, t: float, sg: float, thr: float, o: Any) -> Any:
        return gt_always(b, s, t, sg, thr, SoftNmsOptions(method=o.method, decay_if="gt"))

    assert run(ignores_decay_if, "iou_exactly_half_linear_gt").status == "pass"
    v = run(ignores_decay_if, "iou_exactly_half_linear_ge")
    assert v.status == "fail" and "not decayed exactly" in v.detail, v.detail
    assert run(ignores_decay_if, "iou_exactly_half_hard_ge_f64").status == "fail"


def test_the_gaussian_form_is_checked() -> None:
    def ignores_form(b: Any, s: Any, t: float, sg: float, thr: float, o: Any) -> Any:
        return correct(b, s, t, sg, thr, SoftNmsOptions())

    assert run(ignores_form, "gaussian_f64").status == "pass"
    v = run(ignores_form, "gaussian_two_sigma_squared_f64")
    assert v.status == "fail", v.detail


def test_a_score_equal_to_the_threshold_stays() -> None:
    """Decayed scores land exactly on score_threshold (1/2 * 1/2 = 1/4): dropping them with
    ``<=`` is caught, as nms_greedy catches gt vs ge where the IoU is exact."""
    case = SUITE.find_case("score_ties_threshold")
    assert isinstance(case, Case)
    _, scores = oracle_output(SUITE, case)
    assert np.any(scores == case.params["score_threshold"]), "the case must tie the threshold"
    v = run(with_bug("prune_equal"), "score_ties_threshold")
    assert v.status == "fail" and "is missing" in v.detail, v.detail


def pruning(prune: str) -> Fn:
    """The straightforward loop, always pruning ``prune``, whatever the options ask."""

    def fn(b: Any, s: Any, t: float, sg: float, thr: float, o: Any) -> Any:
        return correct(b, s, t, sg, thr, dataclasses.replace(o, prune=prune))

    fn.__name__ = f"always_{prune}"
    return fn


def test_prune_after_keeps_every_box_in_the_loop() -> None:
    """The straightforward loop passes the prune='after' cases, ties in either order too."""
    for name in ("after_gaussian_f32", "after_linear_f64", "after_zeroed_negatives_hard",
                 "after_negative_scores", "after_score_ties_threshold", "after_empty",
                 "after_all_below_threshold"):  # fmt: skip
        v = run(correct, name)
        assert v.status == "pass", (name, v.detail)
    for name in ("after_equal_scores", "after_zeroed_negatives_hard"):
        case = SUITE.find_case(name)
        assert isinstance(case, Case)
        inputs = case_inputs(SUITE, case)
        got, _ = with_bug("ties_higher_index")(*inputs.values(), SoftNmsOptions(**case.options))
        assert not np.array_equal(got, oracle_output(SUITE, case)[0]), "a tie must matter"
        v = run(with_bug("ties_higher_index"), name)
        assert v.status == "pass", (name, v.detail)


def test_pruning_during_the_loop_when_after_is_asked_is_caught() -> None:
    """A negative score hard-decayed to -0.0 meets score_threshold 0: 'after' keeps it."""
    v = run(pruning("during"), "after_zeroed_negatives_hard")
    assert v.status == "fail" and "is missing" in v.detail, v.detail
    # where no score can rise to the threshold the two rules agree (scores >= 0 only fall)
    for name in ("after_gaussian_f32", "after_linear_f64", "after_score_ties_threshold"):
        v = run(pruning("during"), name)
        assert v.status == "pass", (name, v.detail)


def test_pruning_after_the_loop_when_during_is_asked_is_caught() -> None:
    v = run(pruning("after"), "during_zeroed_negatives_hard")
    assert v.status == "fail" and "below score_threshold" in v.detail, v.detail
    for name in ("gaussian_f32", "linear_gt_f64", "score_threshold_zero", "score_ties_threshold"):
        v = run(pruning("after"), name)
        assert v.status == "pass", (name, v.detail)


def test_a_box_zeroed_by_a_box_dropped_after_the_loop_is_required() -> None:
    """Chain a-b-c at IoU 1/2 (a, c at 1/5), scores -1/2, -1, -1, threshold 0, hard: a is
    emitted first and dropped at the end, but zeroes b, which zeroes c: b and c are kept."""
    boxes = np.array([[0, 0, 3, 1], [1, 0, 4, 1], [2, 0, 5, 1]], dtype=np.float32)
    inputs = {"boxes": boxes, "scores": np.array([-0.5, -1.0, -1.0], dtype=np.float32),
              "iou_threshold": 0.5, "sigma": 0.5, "score_threshold": 0.0}  # fmt: skip
    exact = Case("exact", {"dtype": "float32", "pattern": "half", "scores": "pow2"},
                 {"method": "hard", "prune": "after"})  # fmt: skip
    k, v = SUITE.run_oracle(inputs, exact)
    assert k.tolist() == [1, 2] and v.tolist() == [0.0, 0.0]
    zero = np.array([-0.0, -0.0], dtype=np.float32)
    assert _judge((np.array([1, 2]), zero), inputs, exact)
    assert not _judge((np.array([2, 1]), zero), inputs, exact)  # c is zeroed by b only
    # nothing emitted: a, the highest, comes first for certain and zeroes b, which is missing
    # (once one left-out box must have come first, all count as maybe so: [1] alone passes)
    assert not _judge((np.array([], dtype=np.int64), zero[:0]), inputs, exact)
    during = Case("exact", exact.params, {"method": "hard"})
    assert _judge((np.array([], dtype=np.int64), zero[:0]), inputs, during)


def test_equal_scores_may_be_taken_in_any_order() -> None:
    """No unstable sort order is assumed: the last maximum first is another valid trace."""
    for name in ("equal_scores_all", "equal_scores_levels"):
        case = SUITE.find_case(name)
        assert isinstance(case, Case)
        inputs = case_inputs(SUITE, case)
        got, _ = with_bug("ties_higher_index")(*inputs.values(), SoftNmsOptions(**case.options))
        assert not np.array_equal(got, oracle_output(SUITE, case)[0]), "a tie must matter"
        v = run(with_bug("ties_higher_index"), name)
        assert v.status == "pass", (name, v.detail)


# ---- margins: decisions within the rounding bound may go either way, outside it may not -----


def _judge(output: tuple[Any, Any], inputs: dict[str, Any], case: Case) -> bool:
    expected = SUITE.run_oracle(inputs, case)
    return SUITE.compare(output, expected, inputs, case, SUITE.compare.tolerance(case)).passed


def test_a_score_tying_the_threshold_may_go_either_way_unless_arithmetic_is_exact() -> None:
    """Box 1 decays to 0.5 * (1 - 3/5) = 0.2 = score_threshold in float64 (IoU 3/5):
    a float32 run may keep or drop it; far from the threshold it may not be dropped."""
    boxes = np.array([[0, 0, 4, 1], [1, 0, 5, 1]], dtype=np.float32)
    inputs = {"boxes": boxes, "scores": np.array([1.0, 0.5], dtype=np.float32),
              "iou_threshold": 0.5, "sigma": 0.5, "score_threshold": 0.2}  # fmt: skip
    case = Case("tie", {"dtype": "float32"}, {"method": "linear"})
    kept = (np.array([0, 1]), np.array([1.0, 0.2], dtype=np.float32))
    dropped = (np.array([0]), np.array([1.0], dtype=np.float32))
    assert _judge(kept, inputs, case) and _judge(dropped, inputs, case)
    assert not _judge(dropped, {**inputs, "score_threshold": 0.19}, case)


def test_an_iou_at_the_threshold_may_decay_either_way_only_within_the_margin() -> None:
    """IoU exactly 1/2 = t: in a float32 case not declared exact both decisions pass; in
    the exact chains of the suite only decay_if's decision does."""
    boxes = np.array([[0, 0, 3, 1], [1, 0, 4, 1]], dtype=np.float32)
    inputs = {"boxes": boxes, "scores": np.array([1.0, 0.5], dtype=np.float32),
              "iou_threshold": 0.5, "sigma": 0.5, "score_threshold": 0.001}  # fmt: skip
    loose = Case("loose", {"dtype": "float32"}, {"method": "linear"})
    decayed = (np.array([0, 1]), np.array([1.0, 0.25], dtype=np.float32))
    kept = (np.array([0, 1]), np.array([1.0, 0.5], dtype=np.float32))
    assert _judge(decayed, inputs, loose) and _judge(kept, inputs, loose)
    exact = Case("exact", {"dtype": "float32", "pattern": "half", "scores": "pow2"},
                 {"method": "linear"})  # fmt: skip
    assert _judge(decayed, inputs, exact) and not _judge(kept, inputs, exact)


def test_the_gaussian_example_of_the_specification() -> None:
    """Score 0.8 at IoU 1/3 with sigma 0.5 decays to 0.8 * exp(-(1/3)^2 / 0.5) = 0.6406."""
    boxes = np.array([[0, 0, 2, 1], [1, 0, 3, 1]], dtype=np.float64)
    _, s = soft_nms(boxes, np.array([0.9, 0.8]), 0.5, 0.5, 0.001, SoftNmsOptions())
    assert s[1] == pytest.approx(0.8 * math.exp(-(1 / 9) / 0.5), rel=1e-15)
    assert round(float(s[1]), 4) == 0.6406


# ---- the generic mistakes of DONE.md ---------------------------------------------------------


def test_wrong_shape_on_empty_input_is_caught() -> None:
    def empty_2d(b: Any, s: Any, t: float, sg: float, thr: float, o: Any) -> Any:
        i, v = correct(b, s, t, sg, thr, o)
        return (np.empty((0, 2), dtype=np.int64), v) if len(s) == 0 else (i, v)

    assert run(empty_2d, "single").status == "pass"
    v = run(empty_2d, "empty")
    assert v.status == "fail" and "1-D indices" in v.detail, v.detail


def test_an_output_aliasing_the_input_is_caught() -> None:
    def shortcut(b: Any, s: Any, t: float, sg: float, thr: float, o: Any) -> Any:
        if len(s) == 1 and s[0] >= thr:
            return np.zeros(1, dtype=np.int64), s  # nothing to decay: the input itself
        return correct(b, s, t, sg, thr, o)

    v = run(shortcut, "single")
    assert v.status == "fail" and "must be a new array" in v.detail, v.detail


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    in_float32 = with_bug("", dtype=np.float32)
    in_float32.__name__ = "in_float32"
    assert run(in_float32, "gaussian_f32").status == "pass"
    for name in ("gaussian_f64", "linear_gt_f64"):
        v = run(in_float32, name)
        assert v.status == "fail" and "not decayed exactly" in v.detail, (name, v.detail)


def test_a_blocked_implementation_wrong_past_its_first_block_is_caught() -> None:
    """Factor rows cached per block of 256 boxes, but every block is built from rows 0..255."""
    from implementations.soft_nms import numpy_blocked_rows as blocked

    real = blocked._factors

    def first_block_only(b: Any, r0: int, t: Any, scale: Any, opts: Any) -> Any:
        return real(b, 0, t, scale, opts)

    def wrong_blocks(*args: Any) -> Any:
        saved, blocked._factors = blocked._factors, first_block_only
        try:
            return blocked.soft_nms(*args)
        finally:
            blocked._factors = saved

    assert run(wrong_blocks, "linear_f32").status == "pass"  # 200 boxes: one block
    v = run(wrong_blocks, "multi_block")
    assert v.status == "fail", v.detail

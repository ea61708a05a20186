"""GreedySelection: accepts any valid greedy-suppression (NMS) trace, not only the oracle's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from harness.compare import Comparison
from harness.spec import Case, Inputs, Tolerance

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Relative IoU margin per input dtype: an IoU within margin·t of the threshold t may be
#: decided either way. An IoU computed in the input dtype takes about ten roundings (two
#: differences, two products, two areas, a union, a quotient), so it is within ~10·eps
#: relative of the float64 value (float32: 6e-7), and an implementation may also compare
#: against t rounded to its dtype (eps relative). The margins leave 15x (float32) and
#: ~450x (float64) headroom over that. Relative, not absolute: IoU is exactly 0 for
#: disjoint boxes in every dtype, so at t = 0 nothing is ambiguous.
MARGINS: dict[str, float] = {"float16": 2e-2, "float32": 1e-5, "float64": 1e-12}
_ENTRIES_PER_CHUNK = 1 << 22  # IoU values held at once: bounds memory on 20k-box cases


def pairwise_iou(a: F64, b: F64) -> F64:
    """float64 IoU of (K, 4) and (M, 4) xyxy boxes -> (K, M); zero union gives 0, NaN stays."""
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0.0, None) * np.clip(ih, 0.0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union != 0)
    return out


def _fail(detail: str, total: int, index: tuple[int, ...] | None = None) -> Comparison:
    return Comparison(False, detail, total=total, worst_index=index, error_ratio=float("inf"))


@dataclass(frozen=True)
class _Rule:
    """One suppression rule with its ambiguity band around the threshold."""

    name: str  # "gt": suppress IoU > t; "ge": suppress IoU >= t
    t: float
    band: float

    def exact(self, iou: F64) -> npt.NDArray[np.bool_]:
        return iou > self.t if self.name == "gt" else iou >= self.t

    def definite(self, iou: F64) -> npt.NDArray[np.bool_]:
        return iou > self.t + self.band if self.name == "gt" else iou >= self.t + self.band

    def possible(self, iou: F64) -> npt.NDArray[np.bool_]:
        return iou > self.t - self.band if self.name == "gt" else iou >= self.t - self.band


@dataclass(frozen=True)
class GreedySelection:
    """Indices kept by greedy suppression: exact match, or any other valid greedy trace.

    A trace is valid when (1) its indices are unique and in range, (2) scores never rise
    along it, (3) no kept box definitely suppresses a later kept box, and (4) every box
    left out has a kept box of at least its score that possibly suppresses it. "Definitely"
    and "possibly" widen the threshold by ``tolerance(case)``: rtol·t + atol around t.
    Equal scores may be processed in any order, so tie-permuted answers pass too.
    """

    boxes: str = "boxes"
    scores: str = "scores"
    threshold: str = "iou_threshold"
    rule_option: str = "suppress_if"
    default_rule: str = "gt"
    overlap: Callable[[F64, F64], F64] = pairwise_iou
    #: The kept count may legitimately differ from the oracle's: the comparator checks the
    #: shape itself (ndim 1) and the harness must not demand the oracle's shape.
    compares_shape: ClassVar[bool] = True

    def tolerance(self, case: Case) -> Tolerance:
        margin = MARGINS.get(case.dtype, MARGINS["float64"])
        return Tolerance(
            margin,
            0.0,
            f"IoU within {margin:g}·t of the threshold t may be "
            f"decided either way ({case.dtype} IoU is ~10 roundings from the "
            "float64 value); equal scores may be taken in any order",
        )

    def expected_dtype(self, case: Case) -> str | None:
        return "int64"

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        exp = np.asarray(expected, dtype=np.int64)
        total = int(exp.size)
        raw = np.asarray(actual)
        if raw.ndim != 1:
            return _fail(f"must return a 1-D array of indices, got shape {raw.shape}", total)
        if raw.size and (raw.dtype.kind not in "iuf" or np.any(raw != np.round(raw))):
            return _fail(f"indices must be integers, got dtype {raw.dtype}", total)
        got = raw.astype(np.int64)
        if got.shape == exp.shape and np.array_equal(got, exp):
            return Comparison(True, total=total)
        boxes = np.asarray(inputs[self.boxes], dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(inputs[self.scores], dtype=np.float64)
        t = float(inputs[self.threshold])
        rule = _Rule(
            str(case.options.get(self.rule_option, self.default_rule)), t, tol.atol + tol.rtol * t
        )
        problem = _check_indices(got, len(scores)) or _check_order(got, scores)
        if problem:
            return _fail(problem[0], total, problem[1])
        kept = _check_kept_pairs(got, boxes, rule, self.overlap)
        if isinstance(kept, str):
            return _fail(kept, total, None)
        dropped = _check_dropped(got, boxes, scores, rule, self.overlap)
        if isinstance(dropped, str):
            return _fail(dropped, total, None)
        ties_in_order = int(np.sum((scores[got[1:]] == scores[got[:-1]]) & (got[1:] < got[:-1])))
        margin = kept[0] + dropped[0]
        ties = ties_in_order + dropped[1]
        differ = len(set(got.tolist()) ^ set(exp.tolist()))
        note = (
            f"accepted: differs from the oracle only through {margin + ties} "
            f"tie/threshold-ambiguous decisions ({ties} among equal scores, {margin} "
            f"with IoU within {rule.band:.3g} of t={t:g}); {differ} indices differ"
        )
        return Comparison(
            True, mismatches=differ, total=total, error_ratio=max(kept[1], dropped[2]), note=note
        )


def _check_indices(got: I64, n: int) -> tuple[str, tuple[int, ...]] | None:
    """Rule 1: indices unique and in range."""
    outside = np.flatnonzero((got < 0) | (got >= n))
    if outside.size:
        pos = int(outside[0])
        return (
            f"rule 1 (indices in range): position {pos} holds index {int(got[pos])}, "
            f"outside [0, {n})",
            (pos,),
        )
    order = np.argsort(got, kind="stable")
    repeats = order[1:][got[order[1:]] == got[order[:-1]]]
    if repeats.size:
        pos = int(repeats.min())
        return (
            f"rule 1 (unique indices): index {int(got[pos])} appears again at position {pos}",
            (pos,),
        )
    return None


def _check_order(got: I64, scores: F64) -> tuple[str, tuple[int, ...]] | None:
    """Rule 2: kept scores non-increasing along the output."""
    rising = np.flatnonzero(scores[got[1:]] > scores[got[:-1]])
    if rising.size:
        pos = int(rising[0])
        a, b = int(got[pos]), int(got[pos + 1])
        return (
            f"rule 2 (descending scores): index {a} (score {float(scores[a])!r}) at position "
            f"{pos} comes before index {b} (score {float(scores[b])!r})",
            (pos + 1,),
        )
    return None


def _check_kept_pairs(
    got: I64, boxes: F64, rule: _Rule, overlap: Callable[[F64, F64], F64]
) -> str | tuple[int, float]:
    """Rule 3: no kept box definitely suppresses a later kept box.

    Returns the violation, or (kept pairs decided by the margin, worst |IoU - t| / band).
    """
    k = got.size
    kept_boxes = boxes[got]
    used, worst = 0, 0.0
    step = max(1, _ENTRIES_PER_CHUNK // max(k, 1))
    for r0 in range(0, k, step):
        r1 = min(k, r0 + step)
        iou = np.nan_to_num(overlap(kept_boxes[r0:r1], kept_boxes), nan=-np.inf)
        later = np.arange(k)[None, :] > np.arange(r0, r1)[:, None]
        bad = later & rule.definite(iou)
        if bad.any():
            q, p = (int(v) for v in np.unravel_index(np.argmax(bad), bad.shape))
            q += r0
            return (
                f"rule 3 (kept boxes must not suppress each other): kept index "
                f"{int(got[q])} (position {q}) and kept index {int(got[p])} (position "
                f"{p}) have IoU {float(iou[q - r0, p])!r}, which suppresses under "
                f"suppress_if={rule.name!r} at t={rule.t:g} (margin {rule.band:.3g}); "
                f"the later one should have been dropped"
            )
        lenient = later & rule.exact(iou)
        used += int(lenient.sum())
        if lenient.any():
            worst = max(worst, float(np.max(np.abs(iou[lenient] - rule.t))) / rule.band)
    return used, worst


def _check_dropped(
    got: I64, boxes: F64, scores: F64, rule: _Rule, overlap: Callable[[F64, F64], F64]
) -> str | tuple[int, int, float]:
    """Rule 4: every dropped box has a kept box of at least its score that may suppress it.

    Returns the violation, or (drops decided by the margin, drops decided by a tie, worst
    |IoU - t| / band over the margin-decided drops).
    """
    n = scores.size
    mask = np.ones(n, dtype=bool)
    mask[got] = False
    dropped = np.flatnonzero(mask)
    if dropped.size == 0:
        return 0, 0, 0.0
    any_best = np.full(dropped.size, -np.inf)  # best IoU over kept boxes scoring >= it
    ord_best = np.full(dropped.size, -np.inf)  # same, over boxes before it in oracle order
    any_arg = np.full(dropped.size, -1)
    s_d = scores[dropped]
    step = max(1, _ENTRIES_PER_CHUNK // dropped.size)
    for r0 in range(0, got.size, step):
        rows = got[r0 : r0 + step]
        iou = np.nan_to_num(overlap(boxes[rows], boxes[dropped]), nan=-np.inf)
        s_k = scores[rows][:, None]
        eligible = s_k >= s_d[None, :]
        first = (s_k > s_d[None, :]) | ((s_k == s_d[None, :]) & (rows[:, None] < dropped))
        masked = np.where(eligible, iou, -np.inf)
        arg = np.argmax(masked, axis=0)
        best = masked[arg, np.arange(dropped.size)]
        better = best > any_best
        any_arg = np.where(better, rows[arg], any_arg)
        any_best = np.maximum(any_best, best)
        ord_best = np.maximum(ord_best, np.where(first, iou, -np.inf).max(axis=0))
    missing = np.flatnonzero(~rule.possible(any_best))
    if missing.size:
        worst = missing[np.lexsort((dropped[missing], -s_d[missing]))[0]]
        j, k = int(dropped[worst]), int(any_arg[worst])
        near = (
            f"the closest is kept index {k} with IoU {float(any_best[worst])!r}"
            if k >= 0
            else "no kept box scores at least as high"
        )
        return (
            f"rule 4 (every dropped box needs a suppressor): index {j} (score "
            f"{float(scores[j])!r}) is missing from the output, but no kept box with a score >= "
            f"its own suppresses it under suppress_if={rule.name!r} at t={rule.t:g} "
            f"(margin {rule.band:.3g}); {near}"
        )
    by_order = rule.exact(ord_best)
    by_tie = ~by_order & rule.exact(any_best)
    by_margin = ~by_order & ~by_tie
    worst_ratio = 0.0
    if by_margin.any():
        worst_ratio = float(np.max(np.abs(any_best[by_margin] - rule.t))) / rule.band
    return int(by_margin.sum()), int(by_tie.sum()), worst_ratio

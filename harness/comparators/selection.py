"""GreedySelection: accepts any valid greedy-suppression (NMS) trace, not only the oracle's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from harness.cases import Case, Inputs, Tolerance
from harness.comparators.base import Comparator, Comparison

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

#: Relative IoU margin per input dtype: an IoU within margin·t of the threshold t may be
#: decided either way. An IoU computed in the input dtype takes about ten roundings (two
#: differences, two products, two areas, a union, a quotient), so it is within ~10·eps
#: relative of the float64 value (float32: 6e-7), and an implementation may also compare
#: against t rounded to its dtype (eps relative). The margins leave 15x (float32) and
#: ~450x (float64) headroom over that. Relative, not absolute: IoU is exactly 0 for
#: disjoint boxes in every dtype, so at t = 0 nothing is ambiguous.
MARGINS: dict[str, float] = {"float16": 2e-2, "float32": 1e-5, "float64": 1e-12}
_PAIRS_PER_CHUNK = 1 << 21  # box pairs held at once: bounds memory on 20k-box cases


def paired_iou(a: F64, b: F64) -> F64:
    """float64 IoU of row i of ``a`` with row i of ``b`` (xyxy); zero union gives 0."""
    iw = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    ih = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    inter = np.clip(iw, 0.0, None) * np.clip(ih, 0.0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a + area_b - inter
    out: F64 = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union != 0)  # NaN coordinates stay NaN
    return out


def _pairs(a: F64, b: F64, prune: bool) -> Iterator[tuple[I64, I64]]:
    """Index pairs (i, j) of ``a`` x ``b`` in bounded chunks, grouped by j.

    With ``prune`` only pairs whose open x- and y-ranges intersect: every other pair has
    no positive-area intersection, so its IoU is exactly 0 (needs finite coordinates).
    """
    if a.shape[0] == 0 or b.shape[0] == 0:
        return
    order = np.argsort(a[:, 0], kind="stable")
    if prune:
        x1 = a[order, 0]
        width = float(np.max(a[:, 2] - a[:, 0]))
        low = b[:, 0] - width - 1e-9 * (np.abs(b[:, 0]) + width) - 1e-300  # x2_a > x1_b
        lo = np.searchsorted(x1, low, side="right")
        hi = np.searchsorted(x1, b[:, 2], side="left")  # x1_a < x2_b
        counts = np.maximum(hi - lo, 0)
    else:
        lo, counts = np.zeros(b.shape[0], dtype=np.int64), np.full(b.shape[0], a.shape[0])
    ends = np.cumsum(counts)
    start = 0
    while start < b.shape[0]:
        budget = (ends[start - 1] if start else 0) + _PAIRS_PER_CHUNK
        stop = max(start + 1, int(np.searchsorted(ends, budget, side="right")))
        c = counts[start:stop]
        jb = np.repeat(np.arange(start, stop), c)
        offset = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
        ia = order[np.repeat(lo[start:stop], c) + offset]
        if prune:
            meet = (a[ia, 2] > b[jb, 0]) & (a[ia, 1] < b[jb, 3]) & (a[ia, 3] > b[jb, 1])
            ia, jb = ia[meet], jb[meet]
        yield ia.astype(np.int64), jb.astype(np.int64)
        start = stop


def _fail(detail: str, total: int, index: tuple[int, ...] | None = None) -> Comparison:
    return Comparison(False, detail, total=total, worst_index=index, error_ratio=float("inf"))


@dataclass(frozen=True)
class _Rule:
    """One suppression rule with its ambiguity band around the threshold."""

    name: str  # "gt": suppress IoU > t; "ge": suppress IoU >= t
    t: float
    band: float

    def exact(self, iou: Any) -> Any:
        return iou > self.t if self.name == "gt" else iou >= self.t

    def definite(self, iou: Any) -> Any:
        return iou > self.t + self.band if self.name == "gt" else iou >= self.t + self.band

    def possible(self, iou: Any) -> Any:
        return iou > self.t - self.band if self.name == "gt" else iou >= self.t - self.band

    def ratio(self, iou: F64) -> float:
        """How far into the band the contested IoUs reach: |IoU - t| / band (<= 1)."""
        return float(np.max(np.abs(iou - self.t))) / self.band if iou.size else 0.0


@dataclass(frozen=True)
class GreedySelection(Comparator):
    """Indices kept by greedy suppression: exact match, or any other valid greedy trace.

    A trace is valid when (1) its indices are unique and in range, (2) scores never rise
    along it, (3) no kept box definitely suppresses a later kept box, and (4) every box
    left out has a kept box of at least its score that possibly suppresses it. "Definitely"
    and "possibly" widen the threshold t by a band of rtol·t + atol from ``tolerance(case)``
    (``override(case)`` may replace it, e.g. with 0 where every IoU is exact). Equal scores
    may be taken in any order. ``overlap`` must be 0 for boxes that do not intersect.
    """

    boxes: str = "boxes"
    scores: str = "scores"
    threshold: str = "iou_threshold"
    # "gt" (suppress IoU > t) or "ge", read from the case's options record by the suite
    rule: Callable[[Case], str] = lambda case: "gt"
    overlap: Callable[[F64, F64], F64] = paired_iou
    override: Callable[[Case], Tolerance | None] = lambda case: None
    #: The kept count may legitimately differ from the oracle's: the comparator checks the
    #: shape itself (1-D), and the harness must not demand the oracle's shape.
    compares_shape: ClassVar[bool] = True

    def tolerance(self, case: Case) -> Tolerance:
        custom = self.override(case)
        if custom is not None:
            return custom
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
        rule = _Rule(self.rule(case), t, tol.atol + tol.rtol * t)
        problem = _check_indices(got, len(scores)) or _check_order(got, scores)
        if problem:
            return _fail(problem[0], total, problem[1])
        prune = bool(np.all(np.isfinite(boxes)))
        kept = _check_kept_pairs(got, boxes, rule, self.overlap, prune)
        if isinstance(kept, str):
            return _fail(kept, total)
        dropped = _check_dropped(got, boxes, scores, rule, self.overlap, prune)
        if isinstance(dropped, str):
            return _fail(dropped, total)
        swapped = int(np.sum((scores[got[1:]] == scores[got[:-1]]) & (got[1:] < got[:-1])))
        margin, ties = kept[0] + dropped[0], swapped + dropped[1]
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
            f"rule 2 (descending scores): index {a} (score {float(scores[a])!r}) at "
            f"position {pos} comes before index {b} (score {float(scores[b])!r})",
            (pos + 1,),
        )
    return None


def _check_kept_pairs(
    got: I64, boxes: F64, rule: _Rule, overlap: Callable[[F64, F64], F64], prune: bool
) -> str | tuple[int, float]:
    """Rule 3: no kept box definitely suppresses a later kept box.

    Returns the violation, or (kept pairs decided by the margin, their worst band ratio).
    """
    kb = boxes[got]
    first: tuple[int, int, float] | None = None  # (later position, earlier position, IoU)
    lenient, contested, seen = 0, [np.zeros(0)], 0
    if prune and got.size >= 2 and rule.definite(0.0):  # every pair suppresses (t = 0, ge)
        first = (1, 0, float(overlap(kb[:1], kb[1:2])[0]))
    for q, p in _pairs(kb, kb, prune) if first is None else ():
        q, p = q[p > q], p[p > q]
        seen += q.size
        iou = np.nan_to_num(overlap(kb[q], kb[p]), nan=-np.inf)
        bad = np.flatnonzero(rule.definite(iou))
        if bad.size:
            w = bad[np.lexsort((q[bad], p[bad]))[0]]
            if first is None or (p[w], q[w]) < first[:2]:
                first = (int(p[w]), int(q[w]), float(iou[w]))
        soft = rule.exact(iou) & ~rule.definite(iou)
        lenient += int(soft.sum())
        contested.append(iou[soft])
    if first is not None:
        p_, q_, iou_ = first
        return (
            f"rule 3 (kept boxes must not suppress each other): kept index "
            f"{int(got[q_])} (position {q_}) and kept index {int(got[p_])} (position "
            f"{p_}) have IoU {iou_!r}, which suppresses under suppress_if={rule.name!r} "
            f"at t={rule.t:g} (margin {rule.band:.3g}); the later one should be dropped"
        )
    unseen = got.size * (got.size - 1) // 2 - seen  # pruned pairs: IoU exactly 0
    if prune and unseen and rule.exact(0.0):
        lenient += unseen
        contested.append(np.zeros(1))
    return lenient, rule.ratio(np.concatenate(contested))


def _equal_and_lower(got: I64, s_k: F64, dropped: I64, s_d: F64) -> Bools:
    """Per dropped box: is some kept box of equal score at a lower index (oracle order)?"""
    order = np.lexsort((got, s_k))  # ascending score, then index: the first equal is lowest
    ks, ki = s_k[order], got[order]
    pos = np.searchsorted(ks, s_d, side="left")
    at = np.minimum(pos, ks.size - 1)
    result: Bools = (pos < ks.size) & (ks[at] == s_d) & (ki[at] < dropped)
    return result


def _check_dropped(
    got: I64, boxes: F64, scores: F64, rule: _Rule, overlap: Callable[[F64, F64], F64], prune: bool
) -> str | tuple[int, int, float]:
    """Rule 4: every dropped box has a kept box of at least its score that may suppress it.

    Returns the violation, or (drops decided by the margin, drops decided by a tie, worst
    band ratio of the margin-decided drops).
    """
    mask = np.ones(scores.size, dtype=bool)
    mask[got] = False
    dropped = np.flatnonzero(mask)
    if dropped.size == 0:
        return 0, 0, 0.0
    kb, db, s_k, s_d = boxes[got], boxes[dropped], scores[got], scores[dropped]
    # best IoU over kept boxes scoring >= the dropped box, and over those before it in the
    # oracle's order; kept boxes never paired with it (pruned) have IoU exactly 0
    any_best = np.full(dropped.size, -np.inf)
    ord_best = np.full(dropped.size, -np.inf)
    if prune and got.size:
        any_best[s_k[0] >= s_d] = 0.0  # s_k[0] is the top kept score (rule 2 holds)
        ord_best[(s_k[0] > s_d) | _equal_and_lower(got, s_k, dropped, s_d)] = 0.0
    for k, j in _pairs(kb, db, prune):
        iou = np.nan_to_num(overlap(kb[k], db[j]), nan=-np.inf)
        eligible = s_k[k] >= s_d[j]
        before = (s_k[k] > s_d[j]) | ((s_k[k] == s_d[j]) & (got[k] < dropped[j]))
        np.maximum.at(any_best, j, np.where(eligible, iou, -np.inf))
        np.maximum.at(ord_best, j, np.where(before, iou, -np.inf))
    missing = np.flatnonzero(~rule.possible(any_best))
    if missing.size:
        w = int(missing[np.lexsort((dropped[missing], -s_d[missing]))[0]])
        iou = np.where(s_k >= s_d[w], overlap(kb, np.repeat(db[w : w + 1], got.size, 0)), -np.inf)
        near = (
            f"the closest is kept index {int(got[np.argmax(iou)])} with IoU {float(np.max(iou))!r}"
            if np.any(np.isfinite(iou))
            else "no kept box scores at least as high"
        )
        return (
            f"rule 4 (every dropped box needs a suppressor): index {int(dropped[w])} "
            f"(score {float(s_d[w])!r}) is missing from the output, but no kept box with a "
            f"score >= its own suppresses it under suppress_if={rule.name!r} at "
            f"t={rule.t:g} (margin {rule.band:.3g}); {near}"
        )
    by_order = rule.exact(ord_best)
    by_tie = ~by_order & rule.exact(any_best)
    by_margin = ~by_order & ~by_tie
    return int(by_margin.sum()), int(by_tie.sum()), rule.ratio(any_best[by_margin])

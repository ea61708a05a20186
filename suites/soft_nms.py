"""Suite for soft_nms: Soft-NMS (Bodla et al., 2017) of (x1, y1, x2, y2) boxes by score."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from harness.args import NO_NAN, NOT_INVERTED, Arg, Args, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Comparator, Comparison
from harness.comparators.selection import MARGINS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: sigma must be > 0: the smallest normal float64 is the closed lower bound Scalar can state.
SIGMA_MIN = float(np.finfo(np.float64).tiny)


@dataclass(frozen=True)
class SoftNmsOptions(Options):
    method: str = option(
        "gaussian",
        "linear",
        "hard",
        meaning="score decay f(IoU): gaussian exp(-IoU^2/sigma) (OpenCV's default), linear "
        "1 - IoU where IoU reaches iou_threshold, hard 0 there (greedy NMS with a score floor)",
    )
    decay_if: str = option(
        "ge",
        "gt",
        meaning="linear/hard decay where IoU >= iou_threshold (paper) or IoU > it (OpenCV)",
    )
    gaussian_form: str = option(
        "sigma",
        "two_sigma_squared",
        meaning="gaussian f = exp(-IoU^2/sigma) (paper, OpenCV) or exp(-IoU^2/(2 sigma^2))",
    )
    prune: str = option(
        "during",
        "after",
        meaning="score_threshold drops a box during the loop, as soon as its decayed score "
        "falls below it (OpenCV) or after it: every box takes part and may be emitted and "
        "decay the rest, then the emitted boxes scoring below it are dropped (the paper's "
        "loop, thresholded at the end)",
    )

    def validate(self) -> None:
        if self.method == "gaussian" and self.decay_if != "ge":
            raise ValueError("decay_if applies to the linear and hard methods only")
        if self.method != "gaussian" and self.gaussian_form != "sigma":
            raise ValueError("gaussian_form applies to the gaussian method only")


ARGS = Args(
    Arg("boxes", ("N", 4), "real", rules=(NOT_INVERTED,)),
    Arg("scores", ("N",), "real", rules=(NO_NAN,)),
    Scalar("iou_threshold", low=0.0, high=1.0),
    Scalar("sigma", low=SIGMA_MIN),
    Scalar("score_threshold", low=0.0),
)


class Geometry:
    """float64 coordinates and areas of the boxes, one contiguous array each."""

    def __init__(self, boxes: Any) -> None:
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        self.x1, self.y1, self.x2, self.y2 = (np.ascontiguousarray(b[:, k]) for k in range(4))
        self.area = (self.x2 - self.x1) * (self.y2 - self.y1)

    def iou(self, i: int) -> F64:
        """IoU of box i with every box (continuous areas; zero union gives 0)."""
        iw = np.minimum(self.x2[i], self.x2) - np.maximum(self.x1[i], self.x1)
        ih = np.minimum(self.y2[i], self.y2) - np.maximum(self.y1[i], self.y1)
        inter = np.maximum(iw, 0.0) * np.maximum(ih, 0.0)
        union = self.area[i] + self.area - inter
        out: F64 = np.zeros_like(inter)
        np.divide(inter, union, out=out, where=union != 0)
        return out


def decay(iou: F64, iou_threshold: float, sigma: float, opts: SoftNmsOptions) -> F64:
    """The factor f(IoU) in [0, 1] a remaining score is multiplied by."""
    if opts.method == "gaussian":
        scale = sigma if opts.gaussian_form == "sigma" else 2.0 * sigma * sigma
        return np.exp(-(iou * iou) / scale)
    hit = iou >= iou_threshold if opts.decay_if == "ge" else iou > iou_threshold
    return np.where(hit, 1.0 - iou if opts.method == "linear" else 0.0, 1.0)


def soft_nms(
    boxes: Any,
    scores: Any,
    iou_threshold: float,
    sigma: float,
    score_threshold: float,
    opts: SoftNmsOptions,
) -> tuple[Any, Any]:
    """Oracle: float64. Emit the highest remaining score (equal: lower index first), multiply
    every other remaining score by f(IoU with it); drop scores below score_threshold as they
    fall (prune='during') or, for prune='after', from the emitted list at the end."""
    ARGS.check(boxes, scores, iou_threshold, sigma, score_threshold)
    geometry = Geometry(boxes)
    s = np.array(scores, dtype=np.float64)
    during = opts.prune == "during"
    # ascending index: argmax takes the lowest
    remaining = np.flatnonzero(s >= score_threshold) if during else np.arange(s.size)
    keep, kept_scores = [], []
    while remaining.size:
        top = int(np.argmax(s[remaining]))
        i = int(remaining[top])
        keep.append(i)
        kept_scores.append(s[i])
        remaining = np.delete(remaining, top)
        with np.errstate(invalid="ignore"):  # -inf * 0: NaN, which argmax would take first
            decayed = s[remaining] * decay(geometry.iou(i)[remaining], iou_threshold, sigma, opts)
        s[remaining] = np.where(np.isnan(decayed), -np.inf, decayed)
        if during:
            remaining = remaining[s[remaining] >= score_threshold]
    k, v = np.array(keep, dtype=np.int64), np.array(kept_scores, dtype=np.float64)
    return (k, v) if during else (k[v >= score_threshold], v[v >= score_threshold])


# ---- the comparator: any valid soft-NMS trace, with a propagated rounding bound ---------------

#: Roundings charged per operation (IoU, square, divide, sigma rounded to the dtype, exp,
#: product), in units of the input dtype's eps: an IoU takes ~10 roundings (GreedySelection;
#: one, for integer boxes) and exp is within 2 ulps in NumPy, torch and Numba. At 16 the
#: float32 implementations use at most 0.05 of their bound on the verify cases (20x headroom),
#: while float32 arithmetic on float64 inputs exceeds its bound by ~1e7.
ROUNDINGS = 16.0
_EPS = {"float16": 2.0**-11, "float32": 2.0**-24, "float64": 2.0**-53}
_TINY = {"float16": 6.1e-5, "float32": 1.2e-38, "float64": 2.3e-308}  # underflow floor


def _fail(detail: str, total: int, index: tuple[int, ...] | None = None) -> Comparison:
    return Comparison(False, detail, total=total, worst_index=index, error_ratio=float("inf"))


@dataclass(frozen=True)
class SoftSelection(Comparator):
    """(indices, scores) of a soft-NMS run: the oracle's trace, or any other valid one.

    The output is replayed in float64 along its own order. Each box carries an interval
    [lo, hi] of the scores a correct run may hold for it (it widens only where an IoU is
    within GreedySelection's margin of iou_threshold, so the linear/hard decay may go either
    way) and a bound on the rounding error of that score, propagated through every decay
    (``ROUNDINGS`` eps per operation). A trace is valid when (1) indices are unique and in
    range, (2) every emitted box may still be at or above score_threshold, (3) its reported
    score lies in its interval within the bound, (4) no remaining box definitely scores
    higher when it is emitted (equal scores in any order), and (5) every box left out may
    have fallen below score_threshold.

    prune='after' replays the same way, except that every box not yet emitted is decayed
    (a box below score_threshold stays in the loop: a negative score decayed by a factor of
    exactly 0 rises to -0.0 and is kept at score_threshold 0). The boxes the output leaves
    out were emitted too, unseen, each below score_threshold by then: after every box that
    may score at or above it. So until the output emits a box that is below score_threshold
    on the visible decays alone, a left-out box is replayed like any other (and is missing if
    definitely at or above score_threshold; if that never happens they come after the
    output's last box and are replayed while their order is certain, see unseen_tail);
    from then on it counts as emitted, its decay of every pending box applied as one that
    may or may not have happened (a factor from f(IoU) to 1): their unobservable order is
    never assumed (lenient there: a box zeroed only by a left-out one may be left out too).

    ``exact(case)``: all arithmetic is exact (integer boxes, power-of-two scores,
    linear/hard): no margin at all, so ties decide strictly.
    """

    exact: Callable[[Case], bool] = lambda case: False
    compares_shape: ClassVar[bool] = True

    def units(self, case: Case) -> tuple[float, float, float]:
        """(per-operation unit, IoU band relative to t, underflow floor) for the case."""
        if self.exact(case):
            return 0.0, 0.0, 0.0
        eps = _EPS.get(case.dtype, _EPS["float64"])
        return (
            ROUNDINGS * eps,
            MARGINS.get(case.dtype, MARGINS["float64"]),
            _TINY.get(case.dtype, 0.0),
        )

    def tolerance(self, case: Case) -> Tolerance:
        unit, band, _ = self.units(case)
        if not unit:
            return Tolerance(
                0.0,
                0.0,
                "exact arithmetic (integer boxes, power-of-two scores, "
                "linear/hard decay): compared strictly; equal scores in any order",
            )
        return Tolerance(
            unit,
            0.0,
            f"each score's own rounding bound, {ROUNDINGS:g} {case.dtype} eps per operation "
            f"propagated through its decays; IoU within {band:g}·t of iou_threshold may decay "
            "either way; equal scores may be taken in any order",
        )

    def expected_dtype(self, case: Case) -> str | None:
        return case.dtype

    def dtypes(self, case: Case, outputs: Sequence[str]) -> dict[str, str | None]:
        return {name: "int64" if name == "indices" else case.dtype for name in outputs}

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        raw_i, raw_s = (np.asarray(a) for a in actual)
        exp_i = np.asarray(expected[0], dtype=np.int64)
        total = int(exp_i.size)
        if raw_i.ndim != 1 or raw_s.shape != raw_i.shape:
            return _fail(
                f"must return 1-D indices and scores of one length, got shapes {raw_i.shape} "
                f"and {raw_s.shape}",
                total,
            )
        if raw_i.size and (raw_i.dtype.kind not in "iuf" or np.any(raw_i != np.round(raw_i))):
            return _fail(f"indices must be integers, got dtype {raw_i.dtype}", total)
        got, reported = raw_i.astype(np.int64), raw_s.astype(np.float64)
        return _Replay(inputs, SoftNmsOptions(**case.options), *self.units(case)).run(
            got, reported, exp_i
        )


class _Replay:
    """The float64 replay of one output along its own order (see SoftSelection)."""

    def __init__(
        self, inputs: Inputs, opts: SoftNmsOptions, unit: float, band: float, floor: float
    ) -> None:
        self.geometry = Geometry(inputs["boxes"])
        s = np.asarray(inputs["scores"], dtype=np.float64)
        self.lo, self.hi, self.err = s.copy(), s.copy(), np.zeros_like(s)
        self.t, self.sigma = float(inputs["iou_threshold"]), float(inputs["sigma"])
        self.thr = float(inputs["score_threshold"])
        self.opts, self.unit, self.floor = opts, unit, floor
        self.t_band = band * self.t
        self.keep_from = self.thr * (1.0 + unit) + floor  # definitely kept at or above this

    def below(self, j: Any) -> Any:
        """Definitely below score_threshold (pruned in every valid run)."""
        return self.hi[j] + self.err[j] < self.thr * (1.0 - self.unit)

    def run(self, got: I64, reported: F64, exp_i: I64) -> Comparison:
        n, total = self.lo.size, int(exp_i.size)
        if got.size and (got.min() < 0 or got.max() >= n):
            pos = int(np.flatnonzero((got < 0) | (got >= n))[0])
            return _fail(
                f"position {pos} holds index {int(got[pos])}, outside [0, {n})", total, (pos,)
            )
        alive = ~self.below(np.arange(n))  # may still be at or above score_threshold
        emitted = np.zeros(n, dtype=bool)
        after = self.opts.prune == "after"
        unseen = np.full(n, after)  # prune='after': the boxes emitted, then dropped
        unseen[got] = False
        gone = np.zeros(n, dtype=bool)  # the unseen boxes, once taken as emitted
        worst = 0.0
        for p, (i, r) in enumerate(zip(got.tolist(), reported.tolist(), strict=True)):
            if emitted[i]:
                return _fail(f"index {i} is emitted twice (again at position {p})", total, (p,))
            if unseen.any() and self.below(i):
                missing = self.missing(alive & unseen, p)
                if missing:
                    return _fail(missing, total)
                gone, unseen = unseen, gone
                self.unseen_decays(np.flatnonzero(gone), ~emitted & ~gone)
                alive = ~emitted & ~gone & ~self.below(np.arange(n))
            problem = self.check_step(p, i, r, alive)
            if isinstance(problem, str):
                return _fail(problem, total, (p,))
            worst = max(worst, problem)
            emitted[i], alive[i] = True, False
            touched = self.apply(i, ~emitted & ~gone if after else alive)
            alive[touched] = ~self.below(touched)
        missing = self.missing(alive, got.size)
        if not missing and unseen.any():
            self.unseen_tail(unseen, alive)
            missing = self.missing(alive, got.size)
        if missing:
            return _fail(missing, total)
        differ = len(set(got.tolist()) ^ set(exp_i.tolist()))
        same = got.shape == exp_i.shape and np.array_equal(got, exp_i)
        note = (
            ""
            if same
            else (
                "accepted: a valid trace through ties or threshold-ambiguous decisions; "
                f"{differ} indices differ from the oracle's, or the order does"
            )
        )
        return Comparison(True, mismatches=differ, total=total, error_ratio=worst, note=note)

    def missing(self, alive: Any, k: int) -> str:
        """A box left out that is still definitely at or above score_threshold."""
        floor = np.where(alive, self.lo - self.err, -np.inf)
        if not floor.size or floor.max() < self.keep_from:
            return ""
        j = int(np.argmax(floor))
        return (
            f"index {j} is missing: after the output's {k} selections its score is still "
            f"{float(self.lo[j])!r} (bound {self.err[j]:.3g}), at or above score_threshold "
            f"{self.thr!r}; it should have been emitted"
        )

    def check_step(self, p: int, i: int, r: float, alive: Any) -> str | float:
        lo, hi, err = float(self.lo[i]), float(self.hi[i]), float(self.err[i]) + self.floor
        if self.below(i):
            return (
                f"position {p}: index {i} is emitted, but its score had fallen to {hi!r} "
                f"(bound {err:.3g}), below score_threshold {self.thr!r}"
            )
        if not lo - err <= r <= hi + err:
            want = repr(lo) if lo == hi else f"[{lo!r}, {hi!r}]"
            return (
                f"position {p}: index {i} is reported with score {r!r}, but the decays along "
                f"the output's own order give {want} (bound {err:.3g}): the scores were not "
                "decayed exactly by the boxes emitted before it"
            )
        floor = np.where(alive, self.lo - self.err, -np.inf)
        floor[i] = -np.inf
        rival = int(np.argmax(floor))
        if floor[rival] >= self.keep_from and floor[rival] > hi + err:
            return (
                f"position {p}: index {i} (score {hi!r}) is emitted while index {rival} "
                f"still scores {float(self.lo[rival])!r}: the highest remaining score must be "
                "emitted first"
            )
        off = max(lo - r, r - hi, 0.0)
        return off / err if err > 0 else 0.0

    def unseen_tail(self, rest: Any, alive: Any) -> None:
        """prune='after', no box emitted below score_threshold: the left-out boxes come after
        the output's last one, the highest first. Replayed while that one is certain, so a
        box they definitely bring to score_threshold (a negative score times a factor of
        exactly 0) is missing."""
        while rest.any():
            top = np.where(rest, self.lo - self.err, -np.inf)
            d = int(np.argmax(top))
            others = np.where(rest, self.hi + self.err, -np.inf)
            others[d] = -np.inf
            if not top[d] > others.max() or not self.below(d):
                return  # equal or too close: either may come first; or d is to be kept
            rest[d], alive[d] = False, False
            touched = self.apply(d, rest)
            alive[touched] = ~self.below(touched)

    def unseen_decays(self, unseen: I64, pending: Any) -> None:
        """prune='after': each left-out box may have decayed every pending box."""
        for d in unseen.tolist():
            self.apply(d, pending, maybe=True)

    def apply(self, i: int, alive: Any, maybe: bool = False) -> I64:
        """Decay every live box by f(IoU with box i): its interval and rounding bound
        (``maybe``: a decay that may not have happened, a factor from f(IoU) to 1).
        Returns the boxes whose score changed."""
        row = self.geometry.iou(i)
        opts, unit = self.opts, self.unit
        df: Any
        du = unit  # IoU <= 1: an absolute bound of ~10 roundings, charged ROUNDINGS
        if opts.method == "gaussian":
            j = np.flatnonzero(alive & (row > 0))  # exp(-0) is exactly 1 in every dtype
            u = row[j]
            scale = self.sigma if opts.gaussian_form == "sigma" else 2.0 * self.sigma**2
            q = u * u / scale
            f_lo = f_hi = np.exp(-q)
            if maybe:
                f_hi = np.ones_like(f_lo)
            df = f_lo * (2.0 * u / scale * du + (q + 1.0) * unit)
        else:
            hit = row >= self.t if opts.decay_if == "ge" else row > self.t
            unsure = np.abs(row - self.t) <= self.t_band if self.t_band else row != row  # none
            j = np.flatnonzero(alive & (hit | unsure))
            u = row[j]
            fd = 1.0 - u if opts.method == "linear" else np.zeros_like(u)
            f_lo = fd
            f_hi = np.where(unsure[j] | maybe, 1.0, fd)
            df = (du + unit) * (opts.method == "linear")  # hard: an exact 0
        lo, hi = self.lo[j], self.hi[j]
        # 0 <= f_lo <= f_hi: a negative end shrinks least with the smaller factor
        self.lo[j] = lo * np.where(lo >= 0, f_lo, f_hi)
        self.hi[j] = hi * np.where(hi >= 0, f_hi, f_lo)
        mag = np.maximum(np.abs(lo), np.abs(hi))
        new = np.maximum(np.abs(self.lo[j]), np.abs(self.hi[j]))
        # the factor's own error, then the product's rounding
        self.err[j] = self.err[j] * f_hi + mag * df + unit * new + self.floor
        return j


# ---- inputs --------------------------------------------------------------------------------


def _clustered(rng: np.random.Generator, n: int) -> F64:
    """~8 jittered integer boxes per cluster (pixel coordinates, exact in float32)."""
    c = max(1, n // 8)
    centres = rng.uniform(20.0, 20.0 + 30.0 * math.sqrt(c), size=(c, 2))
    base = rng.uniform(8.0, 30.0, size=(c, 2))
    label = rng.integers(0, c, size=n)
    centre = centres[label] + rng.normal(0.0, 0.15, size=(n, 2)) * base[label]
    half = base[label] * rng.uniform(0.4, 0.625, size=(n, 2))
    return np.round(np.concatenate([centre - half, centre + half], axis=1))


def _chains(rng: np.random.Generator, n: int) -> F64:
    """Chains of 3 boxes of width 3 shifted by 1: neighbours at IoU exactly 1/2."""
    out = []
    for i in range(n // 3):
        s = 2.0 ** int(rng.integers(0, 3))
        x, y = 40.0 * i, float(rng.integers(0, 8))
        out += [[x + k * s, y, x + (k + 3) * s, y + s] for k in range(3)]
    return np.array(out, dtype=np.float64).reshape(-1, 4)


def _scores(rng: np.random.Generator, n: int, kind: str) -> F64:
    if kind == "levels":  # four values: many ties
        return rng.integers(1, 5, size=n) / 4.0
    if kind == "equal":
        return np.full(n, 0.5)
    if kind == "pow2":  # 1/2 and 1: every linear decay by 1 - 1/2 stays exact
        return 2.0 ** -rng.integers(0, 2, size=n).astype(np.float64)
    if kind == "signed_pow2":  # +-1 and +-1/2: a hard decay zeroes a negative score exactly
        sign: F64 = rng.choice([-1.0, 1.0], size=n)
        return sign * 2.0 ** -rng.integers(0, 2, size=n).astype(np.float64)
    if kind == "negative":  # below any threshold, and both signed zeros
        s = rng.uniform(-1.0, 1.0, size=n)
        s[::5], s[1::5] = 0.0, -0.0
        return s
    if kind == "low":  # every score below the default threshold 0.001
        return rng.uniform(0.0, 0.0009, size=n)
    return rng.uniform(0.0, 1.0, size=n)


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    n, pattern = int(p.get("n", 0)), p.get("pattern", "")
    boxes = _clustered(rng, n)
    if pattern == "identical":
        boxes = np.tile(boxes[:1], (n, 1))
    elif pattern == "duplicates":  # every third box repeats its predecessor: IoU exactly 1
        boxes[2::3] = boxes[1::3][: len(boxes[2::3])]
    elif pattern == "disjoint":  # a grid with gaps wider than any box
        cells = np.arange(n)
        boxes = np.stack([cells % 10 * 30.0, cells // 10 * 30.0], axis=1)
        boxes = np.concatenate([boxes, boxes + rng.integers(1, 26, size=(n, 2))], axis=1)
    elif pattern == "half":
        boxes = _chains(rng, n)
    elif pattern == "degenerate":  # points, lines and duplicated points among normal boxes
        boxes[::3, 2:] = boxes[::3, :2]
        boxes[1::5, 3] = boxes[1::5, 1]
        boxes[6::9] = boxes[3::9][: len(boxes[6::9])]
    scores = _scores(rng, len(boxes), p.get("scores", "uniform"))
    return {
        "boxes": boxes.astype(dtype),
        "scores": scores.astype(dtype),
        "iou_threshold": float(p["iou_threshold"]),
        "sigma": float(p["sigma"]),
        "score_threshold": float(p["score_threshold"]),
    }


def cost(case: Case, expected: Any = None) -> Cost:
    """Each of the K emitted boxes decays the boxes still live: about N·K - K²/2 pairs of
    12 flops (IoU) + 4 (decay, threshold; the gaussian's exp counts one). Without the
    oracle's answer every box counts as emitted, an upper bound."""
    n = int(case.params.get("n", 0))
    k = n if expected is None else len(expected[0])
    b = np.dtype(case.dtype).itemsize
    pairs = max(n * k - k * k / 2.0, float(n))
    return Cost(16.0 * pairs, 5.0 * b * n + (8.0 + b) * k, n, "boxes")


LINEAR, HARD = {"method": "linear"}, {"method": "hard"}
LINEAR_GT, HARD_GT = {**LINEAR, "decay_if": "gt"}, {**HARD, "decay_if": "gt"}
TWO_SIGMA2 = {"gaussian_form": "two_sigma_squared"}
EXACT = dict(pattern="half", scores="pow2")  # integer boxes, IoU 0 or 1/2, scores 1/2 and 1
AFTER = {"prune": "after"}
HARD_AFTER, LINEAR_AFTER = {**HARD, **AFTER}, {**LINEAR, **AFTER}
#: chains at IoU 1/2 with scores +-1, +-1/2 and score_threshold 0: a hard decay turns a
#: negative score into -0.0, which prune='after' keeps (at the threshold) and 'during' never
#: sees (dropped at the start); some are zeroed only by a negative box dropped after the loop
ZEROED = dict(pattern="half", scores="signed_pow2", score_threshold=0.0)

CASES = [
    case("gaussian_f32", n=200),
    case("gaussian_f64", n=200, dtype="float64"),
    case("linear_f32", n=200, options=LINEAR),
    case("linear_gt_f64", n=200, dtype="float64", options=LINEAR_GT),
    case("hard_f64", n=200, dtype="float64", options=HARD),
    case("hard_gt_f32", n=200, options=HARD_GT),
    # sigma 0.3: 2 sigma^2 = 0.18 (at the default 0.5 both forms coincide)
    case("gaussian_two_sigma_squared_f64", n=200, sigma=0.3, dtype="float64", options=TWO_SIGMA2),
    case("gaussian_sigma_0.1_f32", n=150, sigma=0.1, options=TWO_SIGMA2),
    # numpy_blocked_rows builds factor rows for blocks of 256 boxes: 320 boxes, two blocks
    case("multi_block", n=320, options=LINEAR),
    edge("empty", n=0),
    edge("single", n=1),
    edge("all_identical_linear", n=30, pattern="identical", options=LINEAR),
    edge("all_identical_gaussian_f64", n=30, pattern="identical", dtype="float64"),
    edge("exact_duplicates_f32", n=120, pattern="duplicates", options=LINEAR),
    edge("exact_duplicates_gaussian_f64", n=60, pattern="duplicates", dtype="float64"),
    edge("all_disjoint", n=60, pattern="disjoint"),
    edge("equal_scores_levels", n=150, scores="levels"),
    edge("equal_scores_all", n=100, scores="equal", options=LINEAR),
    # IoU exactly 1/2 = iou_threshold, exact arithmetic: decay_if decides strictly
    edge("iou_exactly_half_linear_ge", n=60, options=LINEAR, **EXACT),
    edge("iou_exactly_half_linear_gt", n=60, options=LINEAR_GT, **EXACT),
    edge("iou_exactly_half_hard_ge_f64", n=60, dtype="float64", options=HARD, **EXACT),
    edge("iou_exactly_half_hard_gt", n=60, options=HARD_GT, **EXACT),
    # decayed scores 1 * 1/2 * 1/2 = 1/4 land exactly on score_threshold = 1/4: kept
    edge("score_ties_threshold", n=60, score_threshold=0.25, options=LINEAR, **EXACT),
    edge(
        "score_ties_threshold_f64",
        n=60,
        score_threshold=0.5,
        dtype="float64",
        options=LINEAR,
        **EXACT,
    ),
    edge("all_below_threshold", n=50, scores="low"),
    edge("score_threshold_zero", n=120, score_threshold=0.0, pattern="duplicates", options=LINEAR),
    edge("sigma_tiny_f64", n=100, sigma=1e-4, dtype="float64"),
    edge("negative_scores", n=100, scores="negative", score_threshold=0.0),
    edge("iou_threshold_zero", n=100, iou_threshold=0.0, options=LINEAR),
    edge("iou_threshold_one_hard", n=30, iou_threshold=1.0, pattern="duplicates", options=HARD),
    edge("zero_area_boxes", n=90, pattern="degenerate", options=LINEAR),
    # prune='after': no box leaves the loop early; the emitted ones below the threshold go
    case("after_gaussian_f32", n=200, options=AFTER),
    case("after_linear_f64", n=200, dtype="float64", options=LINEAR_AFTER),
    edge("after_zeroed_negatives_hard", n=60, options=HARD_AFTER, **ZEROED),
    edge("during_zeroed_negatives_hard", n=60, options=HARD, **ZEROED),
    edge(
        "after_negative_scores", n=100, scores="negative", score_threshold=0.0, options=HARD_AFTER
    ),
    edge("after_equal_scores", n=100, scores="equal", options=LINEAR_AFTER),
    edge("after_score_ties_threshold", n=60, score_threshold=0.25, options=LINEAR_AFTER, **EXACT),
    edge("after_empty", n=0, options=AFTER),
    edge("after_all_below_threshold", n=50, scores="low", options=AFTER),
]

ERRORS = [
    error("sigma_zero", ValueError, "sigma", n=20, sigma=0.0),
    error("sigma_negative_linear", ValueError, "sigma", n=20, sigma=-0.5, options=LINEAR),
]


def _exact(case: Case) -> bool:
    """Chains of integer boxes (IoU 0, 1/5, 1/2, 1) with power-of-two scores and linear/hard
    decay: every value is exact in any dtype, unless a linear decay by 1 - 1/5 happens."""
    p, method = case.params, SoftNmsOptions(**case.options).method
    chains = p.get("pattern") == "half" and p.get("scores") in ("pow2", "signed_pow2")
    fifth = method == "linear" and float(p.get("iou_threshold", 0.5)) <= 0.2
    return chains and method != "gaussian" and not fifth


#: Where OpenCV's softNMSBoxes legitimately differs (library_cv2's expected failures).
CV2_DIVERGENCES = {
    **dict.fromkeys(
        (
            c.name
            for c in CASES
            if c.params.get("dtype") == "float64"
            and not _exact(c)
            and c.options.get("prune") != "after"  # softNMSBoxes prunes during the loop
        ),
        "softNMSBoxes works in float32 (float scores, overlap rounded to float, float "
        "decays): float64 inputs lose their last 29 bits",
    ),
    "zero_area_boxes": "OpenCV's overlap is 1 - jaccardDistance, which is 0 when both areas "
    "sum to 0, so two zero-area boxes however far apart count as IoU 1 and decay each other "
    "(the oracle gives IoU 0)",
}

BENCH = {
    "smoke": [bench("bench_50", n=50)],
    "quick": [bench("bench_200", n=200), bench("bench_1000", n=1000)],
    "full": [bench("bench_5000", n=5000)],
}

_METHODS = [{}, TWO_SIGMA2, LINEAR, LINEAR_GT, HARD, HARD_GT, AFTER, LINEAR_AFTER, HARD_AFTER]


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    return st.builds(
        lambda n, seed, dtype, pattern, scores, t, sigma, thr, options: Case(
            "fuzz",
            dict(
                n=n,
                seed=seed,
                dtype=dtype,
                pattern=pattern,
                scores=scores,
                iou_threshold=t,
                sigma=sigma,
                score_threshold=thr,
            ),
            options,
            "fuzz",
        ),
        st.integers(0, 60),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        st.sampled_from(["", "identical", "duplicates", "disjoint", "half", "degenerate"]),
        st.sampled_from(["uniform", "levels", "equal", "pow2", "signed_pow2", "negative", "low"]),
        st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]),
        st.sampled_from([1e-4, 0.1, 0.5, 2.0]),
        st.sampled_from([0.0, 0.001, 0.25, 0.5]),
        st.sampled_from(_METHODS),
    )


def _zero_area_pair(inputs: Inputs) -> bool:
    """Two or more zero-area boxes: OpenCV's overlap counts them as IoU 1 (see nms_greedy)."""
    b = np.asarray(inputs["boxes"], dtype=np.float64)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return int(np.count_nonzero(area == 0)) >= 2


def _float64(inputs: Inputs) -> bool:
    return bool(np.asarray(inputs["scores"]).dtype == np.float64)


SUITE = Suite(
    algorithm="soft_nms",
    family="detection-geometry",
    summary="Soft-NMS of boxes (N, 4) by scores (N,) -> emitted indices (K,) and their "
    "decayed scores (K,).",
    conventions=(
        "Boxes are (x1, y1, x2, y2) with x2 >= x1, y2 >= y1 (inverted boxes raise "
        "ValueError); IoU is continuous and 0 where the union is 0. Repeatedly the highest "
        "remaining score is emitted (equal scores: lower index first in the oracle, any "
        "order accepted) with its current, decayed score, and every other remaining score is "
        "multiplied by f(IoU with the emitted box): method='gaussian' exp(-IoU^2/sigma) "
        "(gaussian_form='sigma', default; paper, OpenCV) or exp(-IoU^2/(2 sigma^2)); "
        "'linear' 1 - IoU where IoU >= iou_threshold (decay_if='ge', default; paper) or "
        "IoU > iou_threshold ('gt'; OpenCV), else 1; 'hard' 0 there. A score below "
        "score_threshold is dropped (a score equal to it stays): prune='during' (default; "
        "OpenCV) drops it from the loop as soon as it falls below; prune='after' (the "
        "paper's loop) keeps every box in the loop and drops the emitted ones below it at "
        "the end. Since a score >= 0 never rises, the two differ only where score_threshold "
        "is 0 and a negative score is multiplied by a factor of exactly 0 (hard decay, "
        "linear at IoU 1, an underflowing exp) to -0.0: 'after' keeps it. Returns (int64 "
        "indices, scores in the input dtype). Raises ValueError on NaN scores, "
        "iou_threshold outside [0, 1], sigma <= 0 (any method), score_threshold < 0, shape "
        "errors; TypeError for bool inputs or non-number thresholds; the options record "
        "refuses an unknown method and flags of another method."
    ),
    args=ARGS,
    options=SoftNmsOptions,
    make_inputs=make_inputs,
    oracle=soft_nms,
    compare=SoftSelection(exact=_exact),
    cost=cost,
    defaults={
        "seed": 17,
        "dtype": "float32",
        "iou_threshold": 0.5,
        "sigma": 0.5,
        "score_threshold": 0.001,
    },
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_1000",
    outputs=("indices", "scores"),
    multi_block={"N": 320},
    invalid_options=(
        {"method": "cubic"},
        {"method": "gaussian", "decay_if": "gt"},
        {"method": "linear", "gaussian_form": "two_sigma_squared"},
    ),
    backends=("python", "numpy", "numba", "torch_cpu", "torch_cuda", "library"),
    fuzz=fuzz_strategy,
    divergent_inputs={"zero_area_boxes": _zero_area_pair, "gaussian_f64": _float64},
    reference="cv2.dnn.softNMSBoxes (integer xywh rectangles, float32)",
)

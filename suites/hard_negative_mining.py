"""Suite for hard_negative_mining: SSD's classification loss with hard negatives.

Per anchor the cross-entropy ce = logsumexp(logits) - logits[label] (label 0: background,
so a negative's ce is its background-class loss). Per image keep every positive and the
k = min(ratio·num_pos, num_neg) negatives of highest ce (num_pos = 0: min_negatives of them);
the loss is the sum of the kept ce over the batch divided by max(1, total positives).
Ties among negatives change which anchors are kept but not the sum, which is what is compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close
from harness.comparators.base import EPS
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


@dataclass(frozen=True)
class MiningOptions(Options):
    min_negatives: int = option(
        0,
        4,
        meaning="negatives kept in an image without positives (0: none, the common rule; a "
        "minimum count keeps background-only images in the loss), capped by num_neg",
        accepts=_count,
    )


ARGS = Args(
    Arg("logits", ("B", "A", "C"), "float"),
    Arg("labels", ("B", "A"), "int"),  # 0 = background, 1..C-1 = the positive's class
    Scalar("ratio", "int", low=0),
    nonempty=("C",),
)


def check(logits: Any, labels: Any, ratio: Any) -> None:
    """ARGS, then the labels within [0, C)."""
    ARGS.check(logits, labels, ratio)
    c = int(logits.shape[2])
    if math.prod(labels.shape) and (int(labels.min()) < 0 or int(labels.max()) >= c):
        lo, hi = int(labels.min()), int(labels.max())
        raise ValueError(f"labels must be class indices in [0, C) = [0, {c}), got {lo}..{hi}")


def negatives_kept(num_pos: int, num_neg: int, ratio: int, opts: MiningOptions) -> int:
    """k for one image: ratio·num_pos, or min_negatives without positives, capped by num_neg."""
    want = ratio * num_pos if num_pos else opts.min_negatives
    return min(want, num_neg)


def hard_negative_mining(logits: Any, labels: Any, ratio: Any, opts: MiningOptions) -> Any:
    """Oracle, float64, one image at a time: ce by a stable log-sum-exp, the positives' ce,
    the k largest negative ce by a sort; the total over max(1, positives)."""
    check(logits, labels, ratio)
    x, y = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    total, positives = 0.0, 0
    for img, lab in zip(x, y, strict=True):
        m = img.max(axis=1, keepdims=True) if img.size else img[:, :1]
        lse = (m + np.log(np.exp(img - m).sum(axis=1, keepdims=True)))[:, 0]
        ce = lse - np.take_along_axis(img, lab[:, None], axis=1)[:, 0]
        pos = lab > 0
        k = negatives_kept(int(pos.sum()), int((~pos).sum()), int(ratio), opts)
        hardest = np.sort(ce[~pos])[::-1][:k]
        total += float(ce[pos].sum()) + float(hardest.sum())
        positives += int(pos.sum())
    return np.asarray(total / max(1, positives))


def make_inputs(case: Case) -> Inputs:
    """logits ~ N(0, scale²); a fraction pos_rate of anchors positive with a random class
    1..C-1 whose logit is raised by 2·scale. Patterns: 'ties' (logits from 3 values: many
    equal ce), 'no_pos_image' (the first image all background), 'all_pos' (no background)."""
    p, rng = case.params, np.random.default_rng(case.seed)
    b, a, c = int(p["B"]), int(p["A"]), int(p["C"])
    scale = float(p.get("scale", 2.0))
    x = scale * rng.standard_normal((b, a, c))
    pos = rng.uniform(0, 1, (b, a)) < float(p.get("pos_rate", 0.05))
    pattern = p.get("pattern", "random")
    if pattern == "all_pos":
        pos[:] = True
    if pattern == "no_pos_image" and b:
        pos[0] = False
    y = np.where(pos, rng.integers(1, max(c, 2), (b, a)), 0) if c > 1 else np.zeros((b, a), int)
    if c > 1:
        np.put_along_axis(x, y[..., None], np.take_along_axis(x, y[..., None], 2) + 2 * scale, 2)
    if pattern == "ties":
        x = rng.integers(-1, 2, (b, a, c)).astype(np.float64)
    if "label" in p and y.size:  # the error cases
        y.reshape(-1)[0] = int(p["label"])
    return {"logits": x.astype(case.dtype), "labels": y.astype(np.int64),
            "ratio": int(p.get("ratio", 3))}  # fmt: skip


def cost(case: Case) -> Cost:
    """≈ 3 flops per logit (subtract the max, exp, add) plus a sort of A per image (A·log2 A
    comparisons); bytes: the logits and labels read once (b·A·C + 8·A per image)."""
    b, a, c = (int(case.params[k]) for k in ("B", "A", "C"))
    size = np.dtype(case.dtype).itemsize
    sort = b * a * max(math.log2(max(a, 2)), 1.0)
    return Cost(3.0 * b * a * c + sort, float(b * a * (size * c + 8)) + size, b * a, "anchors")


def tolerance(case: Case) -> Tolerance:
    """Each ce carries a few roundings of the logits' magnitude (scale·|z| <= ~5·scale, plus
    log C) and is >= 0; the loss sums at most B·A of them: rtol 10·sqrt(B·A)·eps of the
    total, and atol rtol·(5·scale + log C) for a total of a few small terms."""
    b, a, c = (max(int(case.params[k]), 1) for k in ("B", "A", "C"))
    k = b * a
    rtol = max(10.0 * math.sqrt(k) * EPS[case.dtype], 1e-10 if case.dtype == "float64" else 0.0)
    magnitude = 5.0 * float(case.params.get("scale", 2.0)) + math.log(c)
    return Tolerance(rtol, rtol * magnitude, f"{case.dtype}: 10·sqrt(B·A)·eps, B·A={k}; atol = "
                     f"rtol·{magnitude:.3g} (a ce's magnitude)")  # fmt: skip


F64 = "float64"
MIN4 = {"min_negatives": 4}

CASES = [
    case("random"),
    case("random_f64", dtype=F64),
    case("ratio_1", ratio=1),
    case("ratio_0_f64", ratio=0, dtype=F64),  # positives only
    case("dense_positives_f64", pos_rate=0.4, dtype=F64),  # 3·num_pos > num_neg: capped
    case("min_negatives_f64", pattern="no_pos_image", dtype=F64, options=MIN4),
    case("ssd_like", B=4, A=873, C=21),
    # 300 images of 300 anchors: blocked over images or anchors (256) runs several blocks
    case("multi_block", B=300, A=300, C=3),
]
EDGES = [
    edge("no_pos_image", pattern="no_pos_image"),  # k = 0 there; the others normalise
    edge("no_positives_at_all", pos_rate=0.0),  # loss 0 / max(1, 0) = 0
    edge("no_positives_min_negatives", pos_rate=0.0, options=MIN4),
    edge("all_positive", pattern="all_pos"),  # no negatives to mine
    edge("fewer_negatives_than_3_pos", pos_rate=0.6),
    edge("large_logits", scale=60.0),  # |logits| to ~300: exp overflows without the max shift
    edge("ties", pattern="ties", pos_rate=0.1),
    edge("ties_f64", pattern="ties", pos_rate=0.1, dtype=F64),
    edge("single_class", C=1),  # background only: ce = 0 everywhere
    edge("empty_batch", B=0, A=7, C=5),
    edge("empty_anchors", B=3, A=0, C=5),
]
ERRORS = [
    error("label_equals_c", ValueError, r"\blabels\b", label=6),
    error("label_negative", ValueError, r"\blabels\b", label=-1),
]
DEFAULTS = {"seed": 43, "dtype": "float32", "B": 5, "A": 50, "C": 6}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "B": st.integers(0, 5),
            "A": st.integers(0, 40),
            "C": st.integers(1, 6),
            "ratio": st.integers(0, 4),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "pos_rate": st.sampled_from([0.0, 0.05, 0.3, 1.0]),
            "pattern": st.sampled_from(["random", "ties", "no_pos_image"]),
        }
    )
    return fuzz_cases(params, MiningOptions.strategy(optional=True))  # fmt: skip


CONVENTIONS = (
    "logits (B, A, C) float; labels (B, A) int in [0, C), 0 the background; ratio >= 0 an "
    "int. ce = logsumexp(logits) - logits[label] per anchor (a negative's ce is its "
    "background loss, the ranking key). Per image: every positive (label > 0), and the k "
    "negatives of highest ce, k = min(ratio·num_pos, num_neg), or min(min_negatives, "
    "num_neg) in an image without positives (positives never take part in the ranking). "
    "Returns (sum of the kept ce over the batch) / max(1, total positives), a 0-d array of "
    "the logits' dtype; ties among negatives do not change it. B = 0 or A = 0: 0. "
    "ValueError: C = 0, a label outside [0, C), ratio < 0; TypeError: a non-int ratio or "
    "labels."
)

SUITE = Suite(
    algorithm="hard_negative_mining",
    family="losses-and-metrics",
    summary="SSD classification loss with hard negative mining (ratio:1 negatives of highest "
    "background loss per image) -> () normalised by the positives.",
    conventions=CONVENTIONS,
    args=ARGS,
    options=MiningOptions,
    make_inputs=make_inputs,
    oracle=hard_negative_mining,
    compare=Close(override=tolerance),
    cost=cost,
    defaults=DEFAULTS,
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    bench={
        "smoke": [bench("bench_4x873x21", B=4, A=873, C=21)],
        "quick": [bench("bench_32x8732x21", B=32, A=8732, C=21)],  # the spec's standard (SSD300)
        "full": [bench("bench_large_256x24564x21", B=256, A=24564, C=21)],
    },
    standard="bench_32x8732x21",
    multi_block={"B": 300, "A": 300},
    fuzz=fuzz_strategy,
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy"),
    reference="oracle only (SSD's rule as torchvision's SSD head and ssd.pytorch write it)",
)

SUITES = [SUITE]

"""Suite for miou_mdice: mean IoU and mean Dice of label maps from one confusion matrix.

Confusion matrix over the pixels whose target is not ignore_index; per class
IoU_c = TP/(TP + FP + FN), Dice_c = 2TP/(2TP + FP + FN); then the averaging over classes
(and, per_image, over images) the options name. Outputs: (iou, dice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, Arg, Args, Rule
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, Outputs, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class MiouOptions(Options):
    average: str = option(
        "macro",
        "none",
        "micro",
        "weighted",
        "support",
        meaning="mean over classes; per class (C,); micro: pooled TP/(TP + FP + FN) of all "
        "classes; weighted by class_weights; weighted by each class's target pixels "
        "(sklearn's 'weighted'). Classes whose value is NaN are left out of every mean",
    )
    accumulate: str = option(
        "dataset",
        "per_image",
        meaning="one confusion matrix of all images (mmseg), or the metric per image, then "
        "the mean over images (NaN images left out)",
    )
    absent: str = option(
        "nan",
        "zero",
        "one",
        meaning="a class with TP + FP + FN = 0 (in neither prediction nor target): NaN "
        "(skipped by the means), 0, or 1",
    )
    ignore_index: int | None = option(
        255, None, meaning="target label excluded with its pixel (mmseg's 255), or none"
    )


def _negative(x: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    out.reshape(-1)[0] = -1.0
    return out


NONNEGATIVE = Rule("class_weights >= 0", lambda xp, w: w < 0, _negative)

ARGS = Args(
    Arg("pred", ("N", "H", "W"), "int"),
    Arg("target", ("N", "H", "W"), "int"),
    Arg("class_weights", ("C",), "float", rules=(NONNEGATIVE, NO_NAN)),
    nonempty=("C",),  # with no class no label is valid: every pixel would be an error
)


def check(pred: Any, target: Any, class_weights: Any, opts: MiouOptions) -> Any:
    """ARGS.check, then labels outside [0, C) refused (the target's ignore_index aside);
    returns the output dtype (class_weights'). NumPy, torch, CuPy arrays and lists."""
    dtype = ARGS.check(pred, target, class_weights)
    c = len(class_weights)
    p = np.asarray(pred) if isinstance(pred, list) else pred
    t = np.asarray(target) if isinstance(target, list) else target
    if bool(((p < 0) | (p >= c)).any()):
        raise ValueError(f"pred has labels outside [0, {c}) (C = {c})")
    bad = (t < 0) | (t >= c)
    if opts.ignore_index is not None:
        bad = bad & (t != opts.ignore_index)
    if bool(bad.any()):
        raise ValueError(f"target has labels outside [0, {c}) other than ignore_index")
    return dtype


def _ratios(tp: Any, fp: Any, fn: Any, absent: str) -> tuple[Any, Any]:
    """IoU and Dice of (TP, FP, FN) of any shape, float64, the absent rule applied."""
    tp, fp, fn = (np.asarray(a, dtype=np.float64) for a in (tp, fp, fn))
    empty = (tp + fp + fn) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        iou, dice = tp / (tp + fp + fn), 2 * tp / (2 * tp + fp + fn)
    fill = {"nan": np.nan, "zero": 0.0, "one": 1.0}[absent]
    return np.where(empty, fill, iou), np.where(empty, fill, dice)


def _weighted(values: np.ndarray, weights: np.ndarray) -> Any:
    keep = ~np.isnan(values)
    total = weights[keep].sum()
    return (weights[keep] * values[keep]).sum() / total if total > 0 else np.nan


def metrics(cm: np.ndarray, class_weights: Any, opts: MiouOptions) -> tuple[Any, Any]:
    """(iou, dice) of one (C, C) int64 confusion matrix (rows target, columns pred)."""
    tp = np.diag(cm)
    fp, fn = cm.sum(axis=0) - tp, cm.sum(axis=1) - tp
    if opts.average == "micro":
        return _ratios(tp.sum(), fp.sum(), fn.sum(), opts.absent)
    iou, dice = _ratios(tp, fp, fn, opts.absent)
    if opts.average == "none":
        return iou, dice
    if opts.average == "macro":
        weights = np.ones(len(tp))
    elif opts.average == "weighted":
        weights = np.asarray(class_weights, dtype=np.float64)
    else:
        weights = cm.sum(axis=1).astype(np.float64)
    return _weighted(iou, weights), _weighted(dice, weights)


def _nanmean(stack: np.ndarray) -> Any:
    keep = ~np.isnan(stack)
    count = keep.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(keep, stack, 0.0).sum(axis=0) / count


def finish(cms: np.ndarray, class_weights: Any, opts: MiouOptions) -> tuple[Any, Any]:
    """For implementations: the (C, C) dataset matrix, or (N, C, C) per-image matrices
    (host NumPy integers) -> (iou, dice) as float64 NumPy arrays."""
    if opts.accumulate == "dataset":
        iou, dice = metrics(cms, class_weights, opts)
    else:
        c = np.shape(class_weights)[0]
        pairs = [metrics(m, class_weights, opts) for m in cms]
        shape = (len(pairs), c) if opts.average == "none" else (len(pairs),)
        ious = np.array([p[0] for p in pairs], dtype=np.float64).reshape(shape)
        dices = np.array([p[1] for p in pairs], dtype=np.float64).reshape(shape)
        iou, dice = _nanmean(ious), _nanmean(dices)
    return np.asarray(iou, dtype=np.float64), np.asarray(dice, dtype=np.float64)


def miou_mdice(pred: Any, target: Any, class_weights: Any, opts: MiouOptions) -> Any:
    """Oracle: int64 confusion matrices per image, one pixel per (image, target, pred) bin,
    then the ratios."""
    check(pred, target, class_weights, opts)
    p, t = np.asarray(pred, dtype=np.int64), np.asarray(target, dtype=np.int64)
    n, c = len(p), len(class_weights)
    image = np.broadcast_to(np.arange(n)[:, None, None], p.shape)
    valid = t != opts.ignore_index if opts.ignore_index is not None else np.ones(t.shape, bool)
    bins = (image[valid] * c + t[valid]) * c + p[valid]
    cms = np.bincount(bins, minlength=n * c * c).reshape(n, c, c).astype(np.int64)
    whole = cms.sum(axis=0) if opts.accumulate == "dataset" else cms
    return finish(whole, class_weights, opts)


def make_inputs(case: Case) -> Inputs:
    prm = case.params
    rng = np.random.default_rng(case.seed)
    n, h, w, c = (int(prm[k]) for k in ("N", "H", "W", "C"))
    t = rng.integers(0, max(c, 1), size=(n, h, w))
    pattern = prm.get("pattern", "random")
    if pattern == "absent" and c > 1:  # the last class in no target and no prediction
        t = np.minimum(t, c - 2)
    if pattern == "per_image_absent" and c > 1:  # the last class only in image 0
        t[1:] = np.minimum(t[1:], c - 2)
    accuracy: Any = float(prm.get("accuracy", 0.6))
    if pattern == "skewed":  # class k predicted right with probability 0.05 .. 0.95
        accuracy = np.linspace(0.05, 0.95, max(c, 1))[t]
    hit = rng.uniform(size=t.shape) < accuracy
    guess = rng.integers(0, max(c, 1), size=t.shape)
    if pattern in ("absent", "per_image_absent") and c > 1:
        guess = np.minimum(guess, c - 2)
    p = np.where(hit, t, guess)
    if pattern == "perfect":
        p = t.copy()
    ignore = case.options.get("ignore_index", 255)
    if ignore is not None:
        t[:, ::4, ::3] = ignore  # a twelfth of the pixels ignored
        if pattern == "all_ignored":
            t[:] = ignore
            p[:] = 0
    if pattern == "bad_target":
        t[0, 0, 0] = c
    if pattern == "bad_pred":
        p[0, 0, 0] = c
    if pattern == "negative":
        p[0, 0, 0] = -1
    if pattern == "ignored_in_pred":
        p[0, 0, 0] = 255
    if pattern == "target_255":
        t[0, 0, 0] = 255
    weights = rng.uniform(0.1, 10.0, size=c)
    return {
        "pred": p.astype(np.int64),
        "target": t.astype(np.int64),
        "class_weights": weights.astype(np.dtype(case.dtype)),
    }


def cost(case: Case) -> Cost:
    """≈ 2 integer ops per pixel (C·t + p, the bin increment) + 8·C² for the ratios;
    bytes: two int64 labels per pixel, the C² counts."""
    n, h, w, c = (int(case.params[k]) for k in ("N", "H", "W", "C"))
    pixels = n * h * w
    return Cost(
        flops=2.0 * pixels + 8.0 * c * c,
        bytes=16.0 * pixels + 8.0 * c * c,
        items=pixels,
        item_unit="pixels",
    )


def tolerance(case: Case) -> Tolerance:
    """The counts are exact integers; each ratio is one division (1 ulp) and a mean over C
    classes (or N images) adds the default 10·sqrt(K)·eps, K = C·N. float32 outputs are
    rounded once more. float64 keeps the 1e-10 floor: weights rounded to float32 fail it."""
    k = int(case.params["C"]) * max(1, int(case.params["N"]))
    return default_tolerance(case.dtype, k, 1.0)


COMPARE = Outputs({"iou": Close(override=tolerance), "dice": Close(override=tolerance)})

NONE, MICRO = {"average": "none"}, {"average": "micro"}
WEIGHTED, SUPPORT = {"average": "weighted"}, {"average": "support"}
PER_IMAGE = {"accumulate": "per_image"}
CASES = [
    # the error base: N, H, W, C distinct and >= 2
    case("random"),
    case("random_f32", dtype="float32"),
    case("per_class", options=NONE),
    case("micro", options=MICRO),
    # per-class IoUs from 0.03 to 0.9 and weights of 0.1 to 10: the weighting shows, and
    # weights rounded to float32 move the result past the float64 tolerance
    case("weighted", pattern="skewed", options=WEIGHTED),
    case("weighted_f32", dtype="float32", options=WEIGHTED),
    case("support_weighted", options=SUPPORT),
    case("per_image", options=PER_IMAGE),
    case("per_image_per_class", options={**PER_IMAGE, **NONE}),
    case("per_image_micro", options={**PER_IMAGE, **MICRO}),
    case("no_ignore_index", options={"ignore_index": None}),
    # 600 x 9 pixels per image: blocked histograms run several blocks, the last partial
    case("tall_images", N=2, H=600, W=9, C=4),
    edge("absent_class", pattern="absent"),
    edge("absent_class_per_class", pattern="absent", options=NONE),
    edge("absent_class_zero", pattern="absent", options={"absent": "zero"}),
    edge("absent_class_one", pattern="absent", options={"absent": "one", **NONE}),
    edge("absent_class_support", pattern="absent", options=SUPPORT),
    edge("absent_in_some_images", pattern="per_image_absent", options=PER_IMAGE),
    edge(
        "absent_in_some_images_per_class", pattern="per_image_absent", options={**PER_IMAGE, **NONE}
    ),
    edge("everything_ignored", pattern="all_ignored"),
    edge(
        "everything_ignored_per_image_zero",
        pattern="all_ignored",
        options={**PER_IMAGE, "absent": "zero", **NONE},
    ),
    edge("one_class", C=1, options=NONE),
    edge("perfect_prediction", pattern="perfect"),
    edge("perfect_prediction_micro", pattern="perfect", options=MICRO),
    # one size empty, the others nonzero and distinct
    edge("no_images", N=0, options=NONE),
    edge("no_images_per_image", N=0, options=PER_IMAGE),
    edge("no_rows", H=0),
    edge("no_columns", W=0, options={"absent": "one"}),
]

ERRORS = [
    error("target_label_too_large", ValueError, r"\btarget\b", pattern="bad_target"),
    error("pred_label_too_large", ValueError, r"\bpred\b", pattern="bad_pred"),
    error("negative_label", ValueError, r"\bpred\b", pattern="negative"),
    error("ignore_index_in_pred", ValueError, r"\bpred\b", pattern="ignored_in_pred"),
    error(
        "255_without_ignore_index",
        ValueError,
        r"\btarget\b",
        options={"ignore_index": None},
        pattern="target_255",
    ),
]


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(1, 3),
            "H": st.integers(1, 8),
            "W": st.integers(1, 8),
            "C": st.integers(1, 6),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "pattern": st.sampled_from(["random", "absent", "perfect", "all_ignored"]),
            "accuracy": st.sampled_from([0.0, 0.5, 0.9]),
        }
    )
    flags = MiouOptions.strategy(optional=True)
    return fuzz_cases(params, flags)


SUITE = Suite(
    algorithm="miou_mdice",
    family="losses-and-metrics",
    summary="Mean IoU and mean Dice of (N, H, W) label maps over C classes -> (iou, dice).",
    conventions=(
        "pred, target: (N, H, W) integer labels in [0, C); the target may also hold "
        "ignore_index (default 255), whose pixels count nowhere; class_weights: (C,) "
        ">= 0, used by average='weighted' (C is its length). Confusion matrix in int64 "
        "(rows target, columns pred); IoU_c = TP/(TP + FP + FN), Dice_c = 2TP/(2TP + FP + "
        "FN), each averaged on its own (mDice is not 2·mIoU/(1 + mIoU)). A class with "
        "TP + FP + FN = 0 follows `absent`; NaN values are left out of every mean, and a "
        "mean of nothing is NaN. average: 'macro' | 'none' (C,) | 'micro' | 'weighted' | "
        "'support'. accumulate='per_image' averages the per-image results over the images. "
        "Outputs have class_weights' dtype. Raises ValueError for labels outside [0, C) "
        "(ignore_index in pred included), TypeError for float labels."
    ),
    args=ARGS,
    options=MiouOptions,
    make_inputs=make_inputs,
    oracle=miou_mdice,
    compare=COMPARE,
    cost=cost,
    outputs=("iou", "dice"),
    defaults={"seed": 12, "dtype": "float64", "N": 3, "H": 8, "W": 9, "C": 5},
    cases=CASES,
    errors=ERRORS,
    bench={
        "smoke": [bench("bench_tiny", N=2, H=64, W=64, C=5)],
        # The spec's standard 16 x 512 x 512 (4.2M pixels) takes sklearn ~13 s a call here
        # (confusion_matrix, jaccard_score and f1_score each validate and count all pixels),
        # far over the quick profile's 6 s: 2 x 256 x 256 is the standard, the spec's sizes
        # are in "full".
        "quick": [bench("bench_2x256x256", N=2, H=256, W=256, C=21)],
        "full": [
            bench("bench_spec_standard", N=16, H=512, W=512, C=21),
            bench("bench_large", N=64, H=1024, W=2048, C=19),
        ],
    },
    standard="bench_2x256x256",
    multi_block={"H": 600},
    fuzz=fuzz_strategy,
    reference="sklearn.metrics confusion_matrix / jaccard_score / f1_score; torchmetrics "
    "multiclass_jaccard_index and multiclass_f1_score (library/torchmetrics; golden fixture)",
)

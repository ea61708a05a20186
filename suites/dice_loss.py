"""Suite for dice_loss: soft Dice loss of (N, C, H, W) scores against class indices or masks.

Per (image, class): D = (2·Σ p·g + s)/(Σ p + Σ g + s), p = activation(preds), g the one-hot
target; loss = 1 − mean D, every convention (activation, smoothing, squares, averaging,
background, ignored pixels, empty classes, reduction) an explicit flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


def _smooth(v: Any) -> bool:
    return isinstance(v, float) and 0.0 <= v < math.inf


@dataclass(frozen=True)
class DiceOptions(Options):
    activation: str = option(
        "softmax",
        "sigmoid",
        "none",
        meaning="p = softmax over channels, sigmoid per channel, or preds as given",
    )
    target_format: str = option(
        "indices", "one_hot", meaning="target (N, H, W) class indices, or (N, C, H, W) masks"
    )
    smooth: float = option(1e-6, 1.0, 0.0, meaning="the smoothing constant s", accepts=_smooth)
    smooth_where: str = option(
        "both", "denominator", meaning="s added to numerator and denominator, or denominator only"
    )
    squared: bool = option(False, True, meaning="V-Net denominator Σp² + Σg²")
    average: str = option(
        "image_class",
        "class",
        "micro",
        meaning="a Dice per (image, class), averaged (samplewise macro); a Dice per class "
        "over the batch, averaged (global macro, MONAI batch=True); one Dice of all sums "
        "pooled (global micro)",
    )
    include_background: bool = option(True, False, meaning="class 0 counted, or dropped")
    ignore_index: int | None = option(
        None, 255, meaning="target pixels of this index count nowhere (indices only)"
    )
    empty: str = option(
        "smoothed",
        "skip",
        "one",
        "zero",
        meaning="a Dice whose Σp + Σg is 0: the formula as it is (s/s = 1, 0/s = 0, 0/0 = "
        "NaN for s = 0), left out of the mean (torchmetrics' NaN + nanmean), 1, or 0",
    )
    reduction: str = option(
        "mean",
        "sum",
        "none",
        meaning="1 - mean D; Σ(1 - D) over the Dice values; or their array: (N, C') per "
        "(image, class), (C',) per class, () micro",
    )

    def validate(self) -> None:
        if self.ignore_index is not None and self.target_format != "indices":
            raise ValueError("ignore_index needs target_format='indices'")


ARGS = Args(
    Arg("preds", ("N", "C", "H", "W"), "float"),
    # indices as (N, 1, H, W) (MONAI's label layout): one declaration for both formats
    Arg("target", ("N", "C", "H", "W"), "real", broadcast=True),
)


def check(preds: Any, target: Any, opts: DiceOptions) -> Any:
    """ARGS.check, then the target against the format, the class indices against C, and
    softmax against one channel; returns the result dtype (preds'; an integer target does
    not promote it). NumPy, torch, CuPy arrays."""
    ARGS.check(preds, target)
    dtype = preds.dtype
    n, c, h, w = preds.shape
    if opts.activation == "softmax" and c == 1:
        raise ValueError("activation='softmax' needs C >= 2 channels (one channel is always 1)")
    if opts.target_format == "one_hot":
        if tuple(target.shape) != (n, c, h, w):
            raise ValueError(f"target must have shape {(n, c, h, w)} (one_hot), got {target.shape}")
        return dtype
    if tuple(target.shape) != (n, 1, h, w):
        raise ValueError(f"target must have shape {(n, 1, h, w)} (indices), got {target.shape}")
    if "int" not in str(target.dtype):
        raise TypeError(f"target must have an integer dtype for indices, got {target.dtype}")
    bad = (target < 0) | (target >= c)
    if opts.ignore_index is not None:
        bad = bad & (target != opts.ignore_index)
    if bool(bad.any()):
        raise ValueError(f"target has class indices outside [0, {c}) (C = {c})")
    return dtype


def dice_loss(preds: Any, target: Any, opts: DiceOptions) -> Any:
    """Oracle: float64; one (image, class) at a time, written for clarity."""
    check(preds, target, opts)
    x = np.asarray(preds, dtype=np.float64)
    n, c = x.shape[:2]
    with np.errstate(over="ignore", invalid="ignore"):
        if opts.activation == "softmax":
            e = np.exp(x - x.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
        elif opts.activation == "sigmoid":
            p = np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
        else:
            p = x
    t = np.asarray(target)
    t = t[:, 0] if opts.target_format == "indices" else t
    valid = np.ones((n, *x.shape[2:]), dtype=bool)
    if opts.target_format == "indices":
        if opts.ignore_index is not None:
            valid = t != opts.ignore_index
        g = np.stack([(t == k) & valid for k in range(c)], axis=1).astype(np.float64)
    else:
        g = t.astype(np.float64)
    classes = list(range(c)) if opts.include_background else list(range(1, c))
    sums = np.zeros((3, n, len(classes)))  # Σ p·g, Σ p (or p²), Σ g (or g²) per (image, class)
    for i in range(n):
        for j, k in enumerate(classes):
            pk, gk, v = p[i, k], g[i, k], valid[i]
            power = 2 if opts.squared else 1
            sums[:, i, j] = (pk * gk)[v].sum(), (pk**power)[v].sum(), (gk**power)[v].sum()
    if opts.average == "class":
        sums = sums.sum(axis=1)
    elif opts.average == "micro":
        sums = sums.reshape(3, -1).sum(axis=1)
    return _reduce(sums[0], sums[1], sums[2], opts)


def _reduce(inter: Any, psum: Any, gsum: Any, opts: DiceOptions) -> Any:
    """Dice values from the sums (any shape), the empty rule, then the reduction (float64)."""
    s = opts.smooth
    num = 2 * np.asarray(inter, dtype=np.float64) + (s if opts.smooth_where == "both" else 0.0)
    raw = np.asarray(psum, dtype=np.float64) + np.asarray(gsum, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = num / (raw + s)
    fill = {"skip": np.nan, "one": 1.0, "zero": 0.0}.get(opts.empty)
    if fill is not None:
        d = np.where(raw == 0, fill, d)
    losses = 1.0 - d
    if opts.reduction == "none":
        return losses
    kept = ~((raw == 0) & np.isnan(d)) if opts.empty == "skip" else np.ones(d.shape, bool)
    if opts.reduction == "sum":
        return losses[kept].sum()
    return losses[kept].mean() if kept.any() else np.float64(np.nan)


def finish(inter: Any, psum: Any, gsum: Any, opts: DiceOptions) -> np.ndarray:
    """For implementations: (N, C') sums (host NumPy, any float dtype) -> the loss in float64,
    after the class range, the averaging and the reduction."""
    sums = [np.asarray(a, dtype=np.float64) for a in (inter, psum, gsum)]
    if not opts.include_background:
        sums = [a[:, 1:] for a in sums]
    if opts.average == "class":
        sums = [a.sum(axis=0) for a in sums]
    elif opts.average == "micro":
        sums = [np.asarray(a.sum()) for a in sums]
    return np.asarray(_reduce(sums[0], sums[1], sums[2], opts))


def _logits(rng: np.random.Generator, n: int, c: int, h: int, w: int, scale: float) -> Any:
    return scale * rng.standard_normal((n, c, h, w))


def make_inputs(case: Case) -> Inputs:
    p, o = case.params, case.options
    rng = np.random.default_rng(case.seed)
    n, c, h, w = (int(p[k]) for k in ("N", "C", "H", "W"))
    t = rng.integers(0, max(c, 1), size=(n, h, w))
    pattern = p.get("pattern", "random")
    if pattern == "absent" and c > 1:  # the last class in no target (nor hard prediction)
        t = np.minimum(t, c - 2)
    elif pattern == "all_background":
        t[:] = 0
    elif pattern == "all_foreground" and c > 1:
        t[:] = 1
    elif pattern == "bands":  # class k on the k-th band of rows: the last pixels are class C-1
        t[:] = (np.arange(h) * c // max(h, 1))[None, :, None]
    x = _logits(rng, n, c, h, w, float(p.get("scale", 3.0)))
    if pattern == "extreme":  # logits of ±1e4: every softmax and sigmoid saturates
        x = np.where(x > 0, 1e4, -1e4) * np.sign(rng.standard_normal(x.shape))
    if o.get("activation") == "none":  # probabilities: hard one-hot, or a softmax
        if p.get("hard", True):
            guess = np.where(
                rng.uniform(size=t.shape) < 0.7, t, rng.integers(0, max(c, 1), t.shape)
            )
            if pattern == "absent" and c > 1:
                guess = np.minimum(guess, c - 2)
            if pattern == "perfect":
                guess = t
            x = (guess[:, None] == np.arange(c)[None, :, None, None]).astype(np.float64)
        else:
            e = np.exp(x - x.max(axis=1, keepdims=True))
            x = e / e.sum(axis=1, keepdims=True)
    if pattern == "bad_index":
        t[0, 0, 0] = c
    if pattern == "negative_index":
        t[0, 0, 0] = -1
    if o.get("ignore_index") is not None:
        t[:, ::3, ::2] = int(o["ignore_index"])  # a sixth of the pixels ignored
        if pattern == "all_ignored":
            t[:] = int(o["ignore_index"])
    target: Any = t[:, None]
    if o.get("target_format") == "one_hot":
        target = (t[:, None] == np.arange(c)[None, :, None, None]).astype(case.dtype)
        if p.get("soft_target"):
            target = rng.uniform(size=target.shape).astype(case.dtype)
        if pattern == "indices_as_one_hot":
            target = t[:, None]
    return {"preds": x.astype(np.dtype(case.dtype)), "target": target}


def cost(case: Case) -> Cost:
    """≈ 6 flops per element + the activation (softmax ≈ 5: max, subtract, exp, sum,
    divide); bytes b per element of preds + 8 per pixel of indices (8/C per element), or
    2b per element with one-hot targets."""
    n, c, h, w = (int(case.params[k]) for k in ("N", "C", "H", "W"))
    k = n * c * h * w
    b = np.dtype(case.dtype).itemsize
    act = {"softmax": 5, "sigmoid": 3}.get(case.options.get("activation", "softmax"), 0)
    one_hot = case.options.get("target_format") == "one_hot"
    data = 2 * b * k if one_hot else b * k + 8 * n * h * w
    return Cost(flops=(6.0 + act) * k, bytes=float(data), items=k, item_unit="elements")


def tolerance(case: Case) -> Tolerance:
    """K = the pixels one sum runs over (H·W per image, N·H·W for the batch averages). Each
    sum of nonnegative terms carries 10·sqrt(K)·eps relative, the softmax a few eps more;
    D = num/den doubles that, and 1 − D is compared absolutely (D ≤ 1, and a perfect
    prediction cancels to 0): rtol = atol = 3× the default for K, times the count of
    Dice values for 'sum'."""
    p = case.params
    n, h, w = int(p["N"]), int(p["H"]), int(p["W"])
    k = h * w if case.options.get("average", "image_class") == "image_class" else n * h * w
    base = default_tolerance(case.dtype, k, 1.0)
    rtol = 3 * base.rtol
    atol = rtol * (n * int(p["C"]) if case.options.get("reduction") == "sum" else 1)
    return Tolerance(rtol, atol, "3x " + base.reason)


IDX1 = {"activation": "none"}
ONE_HOT = {"target_format": "one_hot"}
CASES = [
    case("random_f32"),
    case("random_f64", dtype="float64"),
    case("sigmoid_f32", options={"activation": "sigmoid"}),
    case("sigmoid_f64", dtype="float64", options={"activation": "sigmoid", "smooth": 1.0}),
    case("probabilities_f64", dtype="float64", hard=False, options=IDX1),
    case("hard_predictions_f32", options=IDX1),
    case("one_hot_f32", options=ONE_HOT),  # the error base: N, C, H, W distinct and >= 2
    case(
        "soft_one_hot_squared_f64",
        dtype="float64",
        soft_target=True,
        options={**ONE_HOT, "squared": True},
    ),
    case("squared_f32", options={"squared": True}),
    case("smooth_1_f32", options={"smooth": 1.0}),
    case(
        "denominator_smoothing_f64",
        dtype="float64",
        options={"smooth": 1.0, "smooth_where": "denominator"},
    ),
    case("class_average_f32", options={"average": "class"}),
    case("micro_average_f64", dtype="float64", options={"average": "micro"}),
    case("no_background_f32", options={"include_background": False}),
    case("ignore_255_f32", options={"ignore_index": 255}),
    case(
        "ignore_255_sigmoid_f64",
        dtype="float64",
        options={"ignore_index": 255, "activation": "sigmoid"},
    ),
    case("reduction_none_f32", options={"reduction": "none"}),
    case(
        "reduction_none_class_f64",
        dtype="float64",
        options={"reduction": "none", "average": "class"},
    ),
    case("reduction_sum_f32", options={"reduction": "sum"}),
    # what torchmetrics' hard, unsmoothed Dice answers (0/0 left out of the means)
    case(
        "torchmetrics_like_f64",
        dtype="float64",
        options={**IDX1, "smooth": 0.0, "empty": "skip", "average": "class"},
    ),
    case(
        "torchmetrics_like_micro_one_hot",
        pattern="absent",
        options={**IDX1, **ONE_HOT, "smooth": 0.0, "empty": "skip", "average": "micro"},
    ),
    # the same corner with ignored pixels (dice_score has none: its adapter masks them),
    # no background and a Dice per (image, class); then 0/1 masks, squared, per class
    case(
        "torchmetrics_like_ignore_no_background",
        pattern="absent",
        options={
            **IDX1,
            "smooth": 0.0,
            "empty": "skip",
            "ignore_index": 255,
            "include_background": False,
            "reduction": "none",
        },
    ),
    case(
        "torchmetrics_like_squared_one_hot",
        pattern="absent",
        options={
            **IDX1,
            **ONE_HOT,
            "smooth": 0.0,
            "squared": True,
            "average": "class",
            "empty": "zero",
            "reduction": "sum",
        },
    ),
    # 600 x 7 pixels per image: pixel-blocked kernels run several blocks, the last partial;
    # classes in bands of rows, so a block left out takes one class's pixels
    case("tall_images", N=2, C=3, H=600, W=7, pattern="bands"),
    case(
        "tall_images_one_hot_f64",
        N=2,
        C=3,
        H=600,
        W=7,
        pattern="bands",
        dtype="float64",
        options=ONE_HOT,
    ),
    # the last class in no target and no prediction: Σp + Σg = 0
    edge("absent_class_smoothed", pattern="absent", options=IDX1),
    edge("absent_class_smoothed_s0", pattern="absent", options={**IDX1, "smooth": 0.0}),
    edge("absent_class_skip", pattern="absent", options={**IDX1, "smooth": 0.0, "empty": "skip"}),
    edge(
        "absent_class_skip_none",
        pattern="absent",
        options={**IDX1, "smooth": 0.0, "empty": "skip", "reduction": "none"},
    ),
    edge(
        "absent_class_skip_sum",
        pattern="absent",
        options={**IDX1, "smooth": 0.0, "empty": "skip", "reduction": "sum"},
    ),
    edge("absent_class_one", pattern="absent", options={**IDX1, "smooth": 0.0, "empty": "one"}),
    edge("absent_class_zero", pattern="absent", options={**IDX1, "empty": "zero"}),
    edge(
        "absent_class_denominator",
        pattern="absent",
        options={**IDX1, "smooth_where": "denominator"},
    ),
    edge("absent_class_softmax", pattern="absent"),
    edge("all_background", pattern="all_background"),
    edge(
        "all_foreground_no_background",
        pattern="all_foreground",
        options={"include_background": False, "reduction": "none"},
    ),
    edge("perfect_prediction", pattern="perfect", options=IDX1),
    edge("extreme_logits", pattern="extreme"),
    edge(
        "extreme_logits_sigmoid_f64",
        pattern="extreme",
        dtype="float64",
        options={"activation": "sigmoid"},
    ),
    edge("two_classes", C=2, options={"reduction": "none"}),
    edge("one_class_sigmoid", C=1, options={"activation": "sigmoid"}),
    edge(
        "everything_ignored_skip",
        pattern="all_ignored",
        H=3,
        W=1,
        options={"ignore_index": 255, "smooth": 0.0, "empty": "skip"},
    ),
    # one size empty, the others nonzero and distinct
    edge("no_images", N=0, options={"reduction": "none"}),
    edge("no_images_mean", N=0),
    edge("no_classes", C=0, options={**ONE_HOT, "activation": "sigmoid", "reduction": "none"}),
    edge("no_rows", H=0, options={"reduction": "none"}),
    edge("no_columns", W=0, options={"reduction": "none", "empty": "one", "smooth": 0.0}),
]

ERRORS = [
    error("class_index_too_large", ValueError, r"\btarget\b", pattern="bad_index"),
    error("class_index_negative", ValueError, r"\btarget\b", pattern="negative_index"),
    error("softmax_one_channel", ValueError, r"\bsoftmax\b", C=1),
    error(
        "one_hot_shape", ValueError, r"\btarget\b", options=ONE_HOT, pattern="indices_as_one_hot"
    ),
]


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(1, 3),
            "C": st.integers(2, 5),
            "H": st.integers(1, 9),
            "W": st.integers(1, 9),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "pattern": st.sampled_from(["random", "absent", "all_background", "extreme"]),
            "hard": st.booleans(),
        }
    )
    flags = DiceOptions.strategy(optional=True)
    return fuzz_cases(params, flags).filter(
        lambda c: (
            not (
                c.options.get("ignore_index") is not None
                and c.options.get("target_format") == "one_hot"
            )
        )
    )


SUITE = Suite(
    algorithm="dice_loss",
    family="losses-and-metrics",
    summary="Soft Dice loss of (N, C, H, W) scores against (N, 1, H, W) indices or masks.",
    conventions=(
        "preds: (N, C, H, W) floating; target: (N, 1, H, W) integer class indices "
        "(target_format='indices', values in [0, C) or ignore_index) or (N, C, H, W) masks "
        "('one_hot', soft masks allowed). p = softmax over C (needs C >= 2), sigmoid, or preds "
        "as given. Per (image, class): I = Σ p·g, P = Σ p (Σ p² if squared), G = Σ g (Σ g²) "
        "over the pixels not ignored; D = (2I + s)/(P + G + s) (smooth_where='both') or "
        "2I/(P + G + s) ('denominator'). average='image_class' keeps a D per (image, class); "
        "'class' sums I, P, G over the images first; 'micro' over images and classes. "
        "include_background=False drops class 0 after the activation. A D with P + G = 0 "
        "follows `empty`. reduction: 'mean' -> 1 - mean D (NaN if nothing is left), 'sum' -> "
        "Σ(1 - D), 'none' -> the array of 1 - D. The output has preds' dtype. Raises "
        "ValueError for class indices outside [0, C), softmax with C = 1, a target shape "
        "that does not fit the format; TypeError for float indices."
    ),
    args=ARGS,
    options=DiceOptions,
    make_inputs=make_inputs,
    oracle=dice_loss,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 11, "dtype": "float32", "N": 3, "C": 5, "H": 6, "W": 7},
    cases=CASES,
    errors=ERRORS,
    invalid_options=[{"ignore_index": 255, "target_format": "one_hot"}],
    # one-hot targets carry C, so the generated C mismatches exist (an index target's
    # size-1 axis binds nothing); the index checks are the errors above
    error_base="one_hot_f32",
    bench={
        "smoke": [bench("bench_tiny", N=2, C=4, H=32, W=32)],
        # The spec's standard 8 x 21 x 256 x 256 (11M elements) is in "full"; the quick
        # profile's 6 s holds 2 x 21 x 256 x 256.
        "quick": [bench("bench_2x21x256x256", N=2, C=21, H=256, W=256)],
        "full": [
            bench("bench_spec_standard", N=8, C=21, H=256, W=256),
            bench("bench_large", N=32, C=21, H=512, W=512),
        ],
    },
    standard="bench_2x21x256x256",
    multi_block={"H": 600},
    fuzz=fuzz_strategy,
    # the specification's row. torchmetrics' dice_score is a hard metric (float predictions
    # are argmaxed, no smoothing, 0/0 is NaN): its library cell answers only the
    # activation='none', smooth=0 corner (the torchmetrics_like cases) and refuses the rest
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy"),
    reference="torchmetrics.functional.segmentation.dice_score on hard predictions (the "
    "torchmetrics_like cases; library/torchmetrics)",
    # torchmetrics divides its counts in float32: any float64 draw in its corner shows it
    divergent_inputs={"torchmetrics_like_f64": lambda inputs: inputs["preds"].dtype == np.float64},
)

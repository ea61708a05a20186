"""Suite for giou_diou_ciou: pairwise generalized, distance and complete IoU of two box sets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NOT_INVERTED, Arg, Args
from harness.cases import bench, case, edge, error
from harness.comparators import Close
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite
from suites.box_iou_axis_aligned import random_boxes


def _eps_ok(v: Any) -> bool:
    return isinstance(v, float) and 0.0 <= v < math.inf


@dataclass(frozen=True)
class GiouOptions(Options):
    metric: str = option(
        "giou",
        "diou",
        "ciou",
        meaning="GIoU = IoU - (|C| - |A u B|)/|C|; DIoU = IoU - rho^2/c^2; "
        "CIoU = DIoU - alpha v (torchvision's generalized/distance/complete_box_iou)",
    )
    eps: float = option(
        1e-7,
        0.0,
        meaning="added to c^2 (DIoU, CIoU) and to 1 - IoU + v (CIoU's alpha), as torchvision",
        accepts=_eps_ok,
    )
    form: str = option(
        "pairwise",
        "paired_loss",
        meaning="the (N, M) metric (torchvision *_box_iou) or the loss 1 - metric of row i of "
        "boxes_a (prediction) with row i of boxes_b (target), torchvision *_box_iou_loss, "
        "whose eps also enters the union and, for GIoU, |C|",
    )
    reduction: str = option(
        "none", "mean", "sum", meaning="of the paired loss (torch: mean of nothing is 0)"
    )

    def validate(self) -> None:
        if self.reduction != "none" and self.form != "paired_loss":
            raise ValueError("reduction applies to form='paired_loss' only")


ARGS = Args(
    Arg("boxes_a", ("N", 4), "real", rules=(NOT_INVERTED,)),
    Arg("boxes_b", ("M", 4), "real", rules=(NOT_INVERTED,)),
)

#: 4 / pi^2, CIoU's aspect-ratio weight
V_SCALE = 4.0 / math.pi**2


def check(boxes_a: Any, boxes_b: Any, opts: GiouOptions) -> Any:
    """ARGS.check, and as many rows in both sets for the paired loss; the result dtype."""
    dtype = ARGS.check(boxes_a, boxes_b)
    if opts.form == "paired_loss" and boxes_a.shape[0] != boxes_b.shape[0]:
        raise ValueError(
            f"boxes_b: the paired loss needs one target per prediction, got "
            f"{boxes_b.shape[0]} for {boxes_a.shape[0]}"
        )
    return dtype


def metric(a: Any, b: Any, opts: GiouOptions, loss_eps: float) -> Any:
    """float64 metric of broadcastable (..., 4) boxes; ``loss_eps`` enters the union and
    GIoU's |C| (torchvision's losses), 0 for the pairwise functions."""
    wa, ha = a[..., 2] - a[..., 0], a[..., 3] - a[..., 1]
    wb, hb = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    union = wa * ha + wb * hb - inter
    cw = np.clip(np.maximum(a[..., 2], b[..., 2]) - np.minimum(a[..., 0], b[..., 0]), 0, None)
    ch = np.clip(np.maximum(a[..., 3], b[..., 3]) - np.minimum(a[..., 1], b[..., 1]), 0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / (union + loss_eps)  # pairwise 0/0: NaN, as torchvision's box_iou
        if opts.metric == "giou":
            area_c = cw * ch
            return iou - (area_c - union) / (area_c + loss_eps)
        c2 = cw**2 + ch**2 + opts.eps
        rho2 = ((a[..., 0] + a[..., 2]) / 2 - (b[..., 0] + b[..., 2]) / 2) ** 2 + (
            (a[..., 1] + a[..., 3]) / 2 - (b[..., 1] + b[..., 3]) / 2
        ) ** 2
        diou = iou - rho2 / c2
        if opts.metric == "diou":
            return diou
        v = V_SCALE * (np.arctan(wa / ha) - np.arctan(wb / hb)) ** 2
        alpha = v / (1.0 - iou + v + opts.eps)
        return diou - alpha * v


def giou_diou_ciou(boxes_a: Any, boxes_b: Any, opts: GiouOptions) -> Any:
    """Oracle: float64, torchvision's formulas one quantity per line: the (N, M) metric, or
    the paired loss 1 - metric, reduced."""
    check(boxes_a, boxes_b, opts)
    a = np.asarray(boxes_a, dtype=np.float64)
    b = np.asarray(boxes_b, dtype=np.float64)
    if opts.form == "pairwise":
        return metric(a[:, None, :], b[None, :, :], opts, 0.0)
    loss = 1.0 - metric(a, b, opts, opts.eps)
    if opts.reduction == "none":
        return loss
    return np.float64(loss.sum() if opts.reduction == "sum" or not loss.size else loss.mean())


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    pattern = p.get("pattern", "random")
    n, m = int(p.get("n", 0)), int(p.get("m", 0))
    a, b = random_boxes(rng, n, 100.0, 20.0), random_boxes(rng, m, 100.0, 20.0)
    k = min(n, m)
    if pattern == "identical":
        b[:k] = a[:k]
    elif pattern == "containment":  # b inside a, shrunk by a quarter of each side
        w, h = a[:k, 2] - a[:k, 0], a[:k, 3] - a[:k, 1]
        b[:k] = a[:k] + np.stack([w / 4, h / 4, -w / 4, -h / 4], axis=1)
    elif pattern == "disjoint":  # b far right of a: IoU 0, GIoU < 0
        b[:k] = a[:k] + np.array([200.0, 0.0, 200.0, 0.0])
    elif pattern == "zero_height":
        b[::2, 3] = b[::2, 1]
    elif pattern == "points":  # a zero-area enclosing box: a point against the same point
        a[:k, 2:] = a[:k, :2]
        b[:k] = a[:k]
    return {"boxes_a": a.astype(dtype), "boxes_b": b.astype(dtype)}


def cost(case: Case) -> Cost:
    """About 40 flops + 2 atan per pair (CIoU; GIoU and DIoU fewer); output-bound bytes.
    The paired loss has N pairs and N outputs (one with a reduction)."""
    n, m = int(case.params.get("n", 0)), int(case.params.get("m", 0))
    b = np.dtype(case.dtype).itemsize
    if GiouOptions.build(case.options).form == "paired_loss":
        reduced = GiouOptions.build(case.options).reduction != "none"
        return Cost(42.0 * n, 8.0 * b * n + b * (1 if reduced else n), n, "pairs")
    return Cost(42.0 * n * m, 4.0 * b * (n + m) + b * n * m, n * m, "pairs")


DIOU, CIOU = {"metric": "diou"}, {"metric": "ciou"}
LOSS = {"form": "paired_loss"}

CASES = [
    case("giou_f32", n=64, m=48),
    case("giou_f64", n=64, m=48, dtype="float64"),
    case("diou_f32", n=64, m=48, options=DIOU),
    case("diou_f64", n=64, m=48, dtype="float64", options=DIOU),
    case("ciou_f32", n=64, m=48, options=CIOU),
    case("ciou_f64", n=64, m=48, dtype="float64", options=CIOU),
    case("ciou_eps0_f64", n=40, m=30, dtype="float64", options={**CIOU, "eps": 0.0}),
    # more rows than the 256-row blocks a tiled implementation would take: 300 x 280
    case("multi_block", n=300, m=280, options=CIOU),
    case("giou_loss_f32", n=500, m=500, options=LOSS),
    case(
        "diou_loss_mean_f64",
        n=300,
        m=300,
        dtype="float64",
        options={**LOSS, **DIOU, "reduction": "mean"},
    ),
    case("ciou_loss_sum_f32", n=300, m=300, options={**LOSS, **CIOU, "reduction": "sum"}),
    case("ciou_loss_f64", n=300, m=300, dtype="float64", options={**LOSS, **CIOU}),
    edge("empty_loss_mean", n=0, m=0, options={**LOSS, "reduction": "mean"}),
    edge("identical_giou_loss", n=20, m=20, pattern="identical", dtype="float64", options=LOSS),
    edge("zero_area_enclosing_giou_loss", n=10, m=10, pattern="points", options=LOSS),
    edge("empty_a", n=0, m=5),
    edge("empty_b", n=3, m=0, options=CIOU),
    edge("identical_ciou", n=20, m=20, pattern="identical", options=CIOU),
    edge(
        "identical_ciou_eps0",
        n=20,
        m=20,
        pattern="identical",
        dtype="float64",
        options={**CIOU, "eps": 0.0},
    ),
    edge("containment_giou", n=25, m=25, pattern="containment"),
    edge("disjoint_giou", n=25, m=25, pattern="disjoint"),
    edge("disjoint_diou_f64", n=25, m=25, pattern="disjoint", dtype="float64", options=DIOU),
    edge("zero_height_ciou", n=20, m=24, pattern="zero_height", options=CIOU),
    edge("zero_area_enclosing_giou", n=10, m=10, pattern="points", dtype="float64"),
    edge("zero_area_enclosing_diou", n=10, m=10, pattern="points", options=DIOU),
]

ERRORS = [
    error("paired_lengths_differ", ValueError, "boxes_b", n=6, m=5, options=LOSS),
]

# The spec's standard is 2,000 x 2,000 (full profile); the quick profile times 1,000 x 1,000
# so that both modes of the algorithm (forward and backward, each with a Numba compile) fit
# its 6 s share of the quick profile.
BENCH = {
    "smoke": [bench("bench_200", n=200, m=200, options=CIOU)],
    "quick": [bench("bench_1000", n=1000, m=1000, options=CIOU)],
    "full": [
        bench("bench_2000", n=2000, m=2000, options=CIOU),
        bench("bench_2000_giou", n=2000, m=2000),
        bench("bench_paired_100000", n=100_000, m=100_000, options={**LOSS, **CIOU}),
        bench("bench_paired_1000000", n=1_000_000, m=1_000_000, options={**LOSS, **CIOU}),
    ],
}


def _reduction_length(case: Case) -> int:
    """K = 16 roundings on the longest per-pair path (areas, union, quotient, c^2, atan
    difference); a mean or sum over N pairs adds N."""
    reduced = GiouOptions.build(case.options).reduction != "none"
    return 16 + (int(case.params.get("n", 0)) if reduced else 0)


def _fuzz_case(n: int, m: int, seed: int, dtype: str, pattern: str, opts: Any) -> Case:
    paired = opts.get("form") == "paired_loss"
    if not paired:
        opts = {k: v for k, v in opts.items() if k != "reduction"}
    params = dict(n=n, m=n if paired else m, seed=seed, dtype=dtype, pattern=pattern)
    return Case("fuzz", params, opts, "fuzz")


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    return st.builds(
        _fuzz_case,
        st.integers(0, 40),
        st.integers(0, 40),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        st.sampled_from(
            ["random", "identical", "containment", "disjoint", "zero_height", "points"]
        ),
        GiouOptions.strategy(optional=True),
    )


SUITE = Suite(
    algorithm="giou_diou_ciou",
    family="detection-geometry",
    summary="GIoU / DIoU / CIoU of boxes (N, 4) and (M, 4) -> (N, M), or the paired loss "
    "(N,) / reduced.",
    conventions=(
        "Boxes are (x1, y1, x2, y2) with x2 >= x1, y2 >= y1 (inverted boxes raise "
        "ValueError), continuous areas. IoU = inter / union with no eps (0/0 gives NaN, as "
        "torchvision's box_iou). C is the smallest enclosing box. metric='giou': IoU - (|C| - "
        "union) / |C| (no eps: a zero-area C gives NaN); 'diou': IoU - rho^2 / (c^2 + eps) "
        "with rho the centre distance and c the diagonal of C; 'ciou': DIoU - alpha v with v "
        "= 4/pi^2 (atan(wa/ha) - atan(wb/hb))^2 and alpha = v / (1 - IoU + v + eps); a zero "
        "height gives atan(inf) = pi/2. eps default 1e-7 (torchvision). form='paired_loss': "
        "1 - metric of row i with row i (boxes_a the prediction), torchvision's *_loss: eps "
        "also added to the union and GIoU's |C|; reduction none (N,), mean or sum (a 0-d "
        "array; the mean of no pairs is 0); len(boxes_a) != len(boxes_b) raises ValueError "
        "naming boxes_b. NaN propagates. Integer boxes are promoted to float64. Forward only: "
        "alpha's detach (a constant for back-propagation) has no forward effect."
    ),
    args=ARGS,
    options=GiouOptions,
    make_inputs=make_inputs,
    oracle=giou_diou_ciou,
    compare=Close(reduction=_reduction_length),
    cost=cost,
    defaults={"seed": 7, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    invalid_options=({"reduction": "mean"},),
    standard="bench_1000",
    multi_block={"N": 300, "M": 280},
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy"),
    fuzz=fuzz_strategy,
    reference="torchvision generalized/distance/complete_box_iou (ported formulas; fixtures)",
)


# ---- backward mode: the gradient of the paired loss with respect to the predictions ----------


@dataclass(frozen=True)
class GiouBackwardOptions(Options):
    metric: str = option("giou", "diou", "ciou", meaning="as the forward's (the paired loss)")
    eps: float = option(1e-7, 0.0, meaning="as the forward's paired loss", accepts=_eps_ok)
    reduction: str = option(
        "none", "mean", "sum", meaning="of the loss: grad is (N,) for none, a 0-d array else"
    )
    detach_alpha: bool = option(
        True,
        False,
        meaning="CIoU's alpha = v / (1 - IoU + v + eps) is a constant for back-propagation "
        "(paper, torchvision: computed under no_grad), or differentiated like the rest",
    )


BACKWARD_ARGS = Args(
    Arg("boxes_a", ("N", 4), "float", rules=(NOT_INVERTED,)),
    Arg("boxes_b", ("N", 4), "float", rules=(NOT_INVERTED,)),
    Arg("grad", ("N",), "float", broadcast=True),
)


def check_backward(boxes_a: Any, boxes_b: Any, grad: Any, opts: GiouBackwardOptions) -> Any:
    """BACKWARD_ARGS.check and grad's exact shape for the reduction; the result dtype."""
    dtype = BACKWARD_ARGS.check(boxes_a, boxes_b, grad)
    want = (boxes_a.shape[0],) if opts.reduction == "none" else ()
    if tuple(grad.shape) != want:
        raise ValueError(
            f"grad: reduction={opts.reduction!r} takes an upstream gradient of shape {want}, "
            f"got {tuple(grad.shape)}"
        )
    return dtype


def giou_diou_ciou_backward(
    boxes_a: Any, boxes_b: Any, grad: Any, opts: GiouBackwardOptions
) -> Any:
    """Oracle: float64 d(loss)/d(boxes_a) of torchvision's paired loss (boxes_b, the target,
    is a constant), by the chain rule one quantity per line; columns x1, y1, x2, y2."""
    check_backward(boxes_a, boxes_b, grad, opts)
    a = np.asarray(boxes_a, dtype=np.float64)
    b = np.asarray(boxes_b, dtype=np.float64)
    g = np.asarray(grad, dtype=np.float64)
    n, e = a.shape[0], opts.eps
    upstream = (
        g
        if opts.reduction == "none"
        else np.full(n, g / max(n, 1) if opts.reduction == "mean" else g)
    )
    x1, y1, x2, y2 = a.T
    gx1, gy1, gx2, gy2 = b.T
    zero, one = np.zeros(n), np.ones(n)
    wa, ha, wb, hb = x2 - x1, y2 - y1, gx2 - gx1, gy2 - gy1
    d_wa = np.stack([-one, zero, one, zero], axis=1)  # d(x2 - x1) / d(x1, y1, x2, y2)
    d_ha = np.stack([zero, -one, zero, one], axis=1)
    # intersection: torchvision counts it only where both overlaps are strictly positive
    iw = np.minimum(x2, gx2) - np.maximum(x1, gx1)
    ih = np.minimum(y2, gy2) - np.maximum(y1, gy1)
    meet = (iw > 0) & (ih > 0)
    d_iw = np.stack([-1.0 * (x1 > gx1), zero, (x2 < gx2), zero], axis=1) * 1.0
    d_ih = np.stack([zero, -1.0 * (y1 > gy1), zero, (y2 < gy2)], axis=1) * 1.0
    inter = np.where(meet, iw * ih, 0.0)
    d_inter = np.where(meet[:, None], d_iw * ih[:, None] + d_ih * iw[:, None], 0.0)
    union = wa * ha + wb * hb - inter
    d_union = d_wa * ha[:, None] + d_ha * wa[:, None] - d_inter
    u = union + e
    iou = inter / u
    d_iou = (d_inter * u[:, None] - inter[:, None] * d_union) / (u * u)[:, None]
    # the enclosing box C
    cw = np.maximum(x2, gx2) - np.minimum(x1, gx1)
    ch = np.maximum(y2, gy2) - np.minimum(y1, gy1)
    d_cw = np.stack([-1.0 * (x1 < gx1), zero, (x2 > gx2), zero], axis=1) * 1.0
    d_ch = np.stack([zero, -1.0 * (y1 < gy1), zero, (y2 > gy2)], axis=1) * 1.0
    if opts.metric == "giou":  # loss = 1 - IoU + (|C| - U) / (|C| + eps)
        area_c = cw * ch
        d_c = d_cw * ch[:, None] + d_ch * cw[:, None]
        c = area_c + e
        d_gap = (d_c * (union + e)[:, None] - d_union * c[:, None]) / (c * c)[:, None]
        return (upstream[:, None] * (d_gap - d_iou)).astype(np.result_type(boxes_a, boxes_b))
    # DIoU: loss = 1 - IoU + rho^2 / c^2
    c2 = cw**2 + ch**2 + e
    d_c2 = 2 * (d_cw * cw[:, None] + d_ch * ch[:, None])
    rx, ry = (x1 + x2 - gx1 - gx2) / 2, (y1 + y2 - gy1 - gy2) / 2
    rho2 = rx**2 + ry**2
    d_rho2 = np.stack([rx, ry, rx, ry], axis=1)  # 2 r x d(centre)/d(corner) = r
    d_loss = -d_iou + (d_rho2 * c2[:, None] - rho2[:, None] * d_c2) / (c2 * c2)[:, None]
    if opts.metric == "ciou":  # + alpha v
        with np.errstate(divide="ignore"):  # a zero-height target: atan(inf) = pi/2
            gap = np.arctan(wb / hb) - np.arctan(wa / ha)
        v = V_SCALE * gap**2
        s2 = wa**2 + ha**2  # d atan(w/h) = (h dw - w dh) / (w^2 + h^2)
        d_phi = (d_wa * ha[:, None] - d_ha * wa[:, None]) / s2[:, None]
        d_v = -2 * V_SCALE * gap[:, None] * d_phi
        den = 1 - iou + v + e
        alpha = v / den
        d_loss = d_loss + alpha[:, None] * d_v
        if not opts.detach_alpha:  # + v d(alpha), d(alpha) = (dv den - v (dv - dIoU)) / den^2
            d_alpha = (d_v * den[:, None] - v[:, None] * (d_v - d_iou)) / (den * den)[:, None]
            d_loss = d_loss + v[:, None] * d_alpha
    return (upstream[:, None] * d_loss).astype(np.result_type(boxes_a, boxes_b))


def make_backward_inputs(case: Case) -> Inputs:
    """The forward's paired boxes (no coordinate ties between a and b: the gradient of a
    min or max at a tie is a convention of its own) and an upstream gradient."""
    paired = {**case.params, "m": case.params.get("n", 0)}
    inputs = make_inputs(Case(case.name, paired, {}, case.kind))
    if case.params.get("pattern") == "disjoint":  # the forward shifts x only: y would tie
        inputs["boxes_b"][:, [1, 3]] += np.asarray(0.375, dtype=case.dtype)
    rng = np.random.default_rng(case.seed + 1)
    n = int(case.params.get("n", 0))
    reduced = GiouBackwardOptions.build(case.options).reduction != "none"
    shape = () if reduced and case.params.get("grad_shape") != "none" else (n,)
    g = rng.uniform(-2.0, 2.0, size=shape)
    return {**inputs, "grad": np.asarray(g, dtype=case.dtype)}


def backward_cost(case: Case) -> Cost:
    """About 120 flops + 2 atan per pair (CIoU, alpha differentiated); 8 coordinates and a
    gradient read, 4 written."""
    n = int(case.params.get("n", 0))
    b = np.dtype(case.dtype).itemsize
    return Cost(122.0 * n + 1.0, 13.0 * b * n + b, n, "pairs")


BW_CIOU = {"metric": "ciou"}
NODETACH = {"metric": "ciou", "detach_alpha": False}

BACKWARD_CASES = [
    case("giou_f64", n=200, dtype="float64"),
    case("giou_f32", n=200),
    case("diou_f64", n=200, dtype="float64", options={"metric": "diou"}),
    case("ciou_f64", n=200, dtype="float64", options=BW_CIOU),
    case("ciou_f32", n=200, options=BW_CIOU),
    case("ciou_not_detached_f64", n=200, dtype="float64", options=NODETACH),
    case("ciou_not_detached_f32", n=200, options=NODETACH),
    case("ciou_eps0_f64", n=100, dtype="float64", options={**BW_CIOU, "eps": 0.0}),
    case("giou_mean_f64", n=150, dtype="float64", options={"reduction": "mean"}),
    case("ciou_sum_f64", n=150, dtype="float64", options={**NODETACH, "reduction": "sum"}),
    # several hundred rows: past the first block of a blocked or threaded kernel
    case("multi_block", n=300, options=NODETACH),
    edge("empty", n=0),
    edge("empty_mean", n=0, options={"reduction": "mean"}),
    edge("containment_ciou", n=40, pattern="containment", dtype="float64", options=NODETACH),
    edge("disjoint_giou", n=40, pattern="disjoint", dtype="float64"),
    edge("disjoint_ciou", n=40, pattern="disjoint", dtype="float64", options=NODETACH),
    edge("zero_height_target", n=40, pattern="zero_height", dtype="float64", options=NODETACH),
]

BACKWARD_ERRORS = [
    error(
        "grad_shape_for_mean",
        ValueError,
        "grad",
        n=6,
        options={"reduction": "mean"},
        grad_shape="none",
    ),
]

BACKWARD_SUITE = Suite(
    algorithm="giou_diou_ciou.backward",
    mode="backward",
    family="detection-geometry",
    summary="Gradient of the paired GIoU / DIoU / CIoU loss with respect to the predictions "
    "boxes_a (N, 4), given the upstream gradient -> (N, 4).",
    conventions=(
        "The loss is the forward's form='paired_loss' (torchvision *_box_iou_loss: eps in the "
        "union, |C|, c^2 and alpha's denominator; the intersection counts only where both "
        "overlaps are > 0). boxes_b (targets) is a constant. grad: (N,) for reduction='none', "
        "a 0-d array for 'mean' (divided by N) and 'sum'. detach_alpha=True (default, "
        "torchvision): CIoU's alpha is a constant; False differentiates it. The verify cases "
        "have no coordinate ties between a box and its target (the derivative of min/max at a "
        "tie is not specified) and no zero-height prediction. Output: (N, 4) in the input "
        "dtype. Must raise ValueError for a grad of the wrong shape, inverted boxes, different "
        "N; TypeError for a non-float dtype."
    ),
    args=BACKWARD_ARGS,
    options=GiouBackwardOptions,
    make_inputs=make_backward_inputs,
    oracle=giou_diou_ciou_backward,
    # K = 32 roundings on the longest chain (CIoU with alpha differentiated); float32
    # gradients were seen within 0.5 eps x (1 + |grad|) of the oracle, far inside it
    compare=Close(reduction=lambda case: 32),
    cost=backward_cost,
    defaults={"seed": 7, "dtype": "float32"},
    cases=BACKWARD_CASES,
    errors=BACKWARD_ERRORS,
    outputs=("grad_boxes_a",),
    bench={
        "smoke": [bench("bench_paired_10000", n=10_000, options=NODETACH)],
        "quick": [bench("bench_paired_100000", n=100_000, options=NODETACH)],
        "full": [bench("bench_paired_1000000", n=1_000_000, options=NODETACH)],
    },
    standard="bench_paired_100000",
    multi_block={"N": 300},
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy"),
    fuzz=lambda: _backward_fuzz(),
    reference="torch float64 autograd of torchvision's *_box_iou_loss formulas (ported)",
)


def _backward_fuzz() -> Any:
    from hypothesis import strategies as st

    return st.builds(
        lambda n, seed, dtype, pattern, opts: Case(
            "fuzz", dict(n=n, seed=seed, dtype=dtype, pattern=pattern), opts, "fuzz"
        ),
        st.integers(0, 40),
        st.integers(0, 2**31 - 1),
        st.sampled_from(["float32", "float64"]),
        st.sampled_from(["random", "containment", "disjoint", "zero_height"]),
        GiouBackwardOptions.strategy(optional=True),
    )


SUITES = [SUITE, BACKWARD_SUITE]

"""Which real library operations become golden fixtures, on which seeded inputs.

Each ``Source`` pairs an operation (``torchvision.ops.nms``) with its samples, small seeded
NumPy inputs built without the library (from a suite case where the project has the
algorithm, else drawn here), and a ``call`` that runs the library on torch tensors. Only
``call`` needs torchvision, torchmetrics or torch-geometric, so the samples and the
recording loop (harness.golden_record) are tested on machines without them, with stand-in
libraries; the real calls run on the GPU machine.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LIBRARIES = ("torchvision", "torchmetrics", "torch_geometric")


@dataclass(frozen=True)
class Sample:
    """One input configuration of an operation: NumPy arrays and JSON scalars."""

    variant: str
    seed: int
    inputs: dict[str, np.ndarray]
    params: dict[str, Any] = field(default_factory=dict)
    case: dict[str, Any] = field(default_factory=dict)  # the suite case it comes from


#: (library module, torch, inputs as tensors on the device, params) -> outputs as tensors
Call = Callable[[Any, Any, dict[str, Any], dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Source:
    op: str
    library: str
    samples: Callable[[], list[Sample]]
    call: Call


# ---- samples -------------------------------------------------------------------------------


def _suite(algorithm: str) -> Any:
    return importlib.import_module(f"suites.{algorithm}").SUITE


def from_case(algorithm: str, name: str, rename: dict[str, str]) -> Sample:
    """A suite case's inputs under the library's argument names; scalars become params."""
    suite = _suite(algorithm)
    case = suite.find_case(name)
    inputs, params = {}, {}
    for key, value in suite.inputs_for(case).items():
        if isinstance(value, np.ndarray):
            inputs[rename.get(key, key)] = np.array(value)
        else:
            params[rename.get(key, key)] = value
    origin = {"algorithm": algorithm, "name": name, "params": dict(case.params)}
    return Sample(name, case.seed, inputs, params, {**origin, "options": dict(case.options)})


def _boxes(rng: np.random.Generator, n: int, extent: float = 40.0) -> np.ndarray:
    xy = rng.uniform(0.0, extent, size=(n, 2))
    return np.concatenate([xy, xy + rng.uniform(0.5, extent / 2, size=(n, 2))], axis=1)


def _nms_samples() -> list[Sample]:
    names = [
        "clustered_f32",
        "clustered_f64",
        "clustered_t03_f32",
        "equal_scores_levels",
        "iou_exactly_third_f32",
        "negative_scores",
        "zero_area_boxes",
        "near_threshold_f32",
    ]
    return [from_case("nms_greedy", n, {}) for n in names]


def _batched_nms_samples() -> list[Sample]:
    base = from_case("nms_greedy", "clustered_f32", {})
    rng = np.random.default_rng(21)
    idxs = rng.integers(0, 3, size=len(base.inputs["scores"])).astype(np.int64)
    return [Sample("three_classes_f32", 21, {**base.inputs, "idxs": idxs}, base.params)]


def _box_iou_samples() -> list[Sample]:
    names = [
        "random_f32",
        "random_f64",
        "identical",
        "containment",
        "degenerate_zero_area",
        "far_coordinates_f32",
        "nonfinite",
    ]
    rename = {"boxes_a": "boxes1", "boxes_b": "boxes2"}
    return [from_case("box_iou_axis_aligned", n, rename) for n in names]


def _iou_family_samples() -> list[Sample]:
    rng = np.random.default_rng(5)
    a, b = _boxes(rng, 7), _boxes(rng, 6)
    b[0] = a[0]  # identical
    b[1] = [a[1, 0] + 1, a[1, 1] + 1, a[1, 2] - 1, a[1, 3] - 0.5]  # contained
    b[2] = [a[2, 2] + 5, a[2, 3] + 5, a[2, 2] + 9, a[2, 3] + 7]  # disjoint
    b[3, 3] = b[3, 1]  # zero height
    inputs = {"boxes1": a.astype(np.float32), "boxes2": b.astype(np.float32)}
    return [Sample("mixed_f32", 5, inputs)]


def _features(rng: np.random.Generator) -> np.ndarray:
    return rng.normal(size=(2, 3, 10, 12)).astype(np.float32)


def _rois() -> np.ndarray:
    """(batch, x1, y1, x2, y2) in image coordinates (spatial_scale 0.5: a 20 x 24 image)."""
    return np.array(
        [
            [0, 1.0, 1.0, 10.0, 12.0],  # inside
            [1, 0.0, 0.0, 23.0, 19.0],  # the whole map
            [0, 15.5, 12.5, 30.0, 26.0],  # partly outside, .5 corners
            [1, -6.0, -4.0, 3.0, 2.5],  # negative coordinates
            [0, 40.0, 30.0, 48.0, 36.0],  # fully outside
            [1, 7.0, 5.0, 7.0, 5.0],  # zero size
            [0, 2.25, 3.75, 4.5, 5.0],  # smaller than a bin
        ],
        dtype=np.float32,
    )


def _roi_align_samples() -> list[Sample]:
    rng = np.random.default_rng(3)
    inputs = {"input": _features(rng), "rois": _rois()}
    out = []
    for aligned in (False, True):
        for ratio in (2, 0, -1):
            params = {"output_size": [3, 3], "spatial_scale": 0.5}
            params |= {"sampling_ratio": ratio, "aligned": aligned}
            out.append(Sample(f"aligned_{str(aligned).lower()}_sr{ratio}", 3, inputs, params))
    return out


def _roi_pool_samples() -> list[Sample]:
    rng = np.random.default_rng(4)
    inputs = {"input": _features(rng), "rois": _rois()}
    return [
        Sample(f"scale_{s}", 4, inputs, {"output_size": [3, 3], "spatial_scale": s})
        for s in (0.5, 1.0)
    ]


def _deform_samples() -> list[Sample]:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(1, 4, 6, 7)).astype(np.float32)
    weight = rng.normal(size=(5, 4, 3, 3)).astype(np.float32) / 6
    bias = rng.normal(size=5).astype(np.float32)
    out = []
    for name, groups, masked in (
        ("v1", 1, False),
        ("v2_mask", 1, True),
        ("offset_groups_2", 2, False),
    ):
        offset = rng.normal(scale=1.5, size=(1, 2 * groups * 9, 6, 7))
        offset[0, ::7] = np.round(offset[0, ::7])  # integer offsets
        offset[0, 1::11] = 0.5  # half-pixel offsets
        offset[0, 2, 0, :3] = [-9.0, 12.0, 30.0]  # far outside: zero contributions
        inputs: dict[str, np.ndarray] = {"input": x, "offset": offset.astype(np.float32)}
        inputs |= {"weight": weight, "bias": bias}
        if masked:
            inputs["mask"] = rng.uniform(size=(1, groups * 9, 6, 7)).astype(np.float32)
        out.append(Sample(name, 6, inputs, {"padding": [1, 1]}))
    return out


def _focal_samples() -> list[Sample]:
    rng = np.random.default_rng(8)
    logits = rng.normal(scale=2.0, size=(8, 5)).astype(np.float32)
    targets = (rng.uniform(size=(8, 5)) < 0.3).astype(np.float32)
    params = {"alpha": 0.25, "gamma": 2.0, "reduction": "none"}
    return [Sample("random_f32", 8, {"inputs": logits, "targets": targets}, params)]


def _pairwise_samples() -> list[Sample]:
    rename = {"a": "x", "b": "y"}
    return [from_case("pairwise_l2_distance", n, rename) for n in ("random_f32", "random_f64")]


def _jaccard_samples() -> list[Sample]:
    rng = np.random.default_rng(9)
    target = rng.integers(0, 4, size=(3, 6, 7))  # class 4 never appears in the target
    preds = np.where(rng.uniform(size=target.shape) < 0.7, target, rng.integers(0, 5, target.shape))
    target[0, 0, :4] = 255  # ignored pixels
    params = {"num_classes": 5, "average": "none", "ignore_index": 255}
    return [Sample("absent_and_ignored", 9, {"preds": preds, "target": target}, params)]


def _auroc_samples() -> list[Sample]:
    rng = np.random.default_rng(10)
    target = rng.integers(0, 2, size=200)
    preds = np.round(np.clip(0.3 * target + rng.uniform(size=200) * 0.7, 0, 1) * 20) / 20
    return [Sample("ties_f32", 10, {"preds": preds.astype(np.float32), "target": target}, {})]


def _graph(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """9 nodes, node 8 isolated; a duplicated edge and a self-loop among 20 directed edges."""
    src = rng.integers(0, 8, size=18)
    dst = rng.integers(0, 8, size=18)
    edges = np.stack([np.r_[src, src[0], 3], np.r_[dst, dst[0], 3]]).astype(np.int64)
    return rng.normal(size=(9, 5)).astype(np.float32), edges


def _gnn_samples() -> list[Sample]:
    x, edges = _graph(np.random.default_rng(12))
    return [Sample("nine_nodes", 12, {"x": x, "edge_index": edges}, {"init_seed": 12})]


def _scatter_softmax_samples() -> list[Sample]:
    rng = np.random.default_rng(13)
    src = (rng.normal(size=20) * 30).astype(np.float32)  # large logits: stability matters
    index = np.sort(rng.integers(0, 6, size=20)).astype(np.int64)  # group 6 is empty
    return [Sample("groups_f32", 13, {"src": src, "index": index}, {"num_nodes": 7})]


# ---- calls ---------------------------------------------------------------------------------


def _size(value: Any) -> tuple[int, int]:
    return int(value[0]), int(value[1])


def _roi_pool_call(tv: Any, torch: Any, t: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    """The raw operator also returns argmax (the flat index in each map, -1 for empty bins)."""
    h, w = _size(p["output_size"])
    raw = getattr(getattr(torch.ops, "torchvision", None), "roi_pool", None)
    if raw is not None:
        out, argmax = raw(t["input"], t["rois"], float(p["spatial_scale"]), h, w)
        return {"out": out, "argmax": argmax}
    return {"out": tv.ops.roi_pool(t["input"], t["rois"], (h, w), float(p["spatial_scale"]))}


def _gnn_call(kind: str) -> Call:
    def call(pyg: Any, torch: Any, t: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        torch.manual_seed(int(p["init_seed"]))
        if kind == "gcn":
            conv = pyg.nn.GCNConv(5, 3, add_self_loops=True, normalize=True, bias=True)
        else:
            conv = pyg.nn.GATConv(5, 4, heads=2, concat=True, negative_slope=0.2, dropout=0.0)
        conv = conv.to(t["x"].device).eval()
        with torch.no_grad():
            out = conv(t["x"], t["edge_index"])
        params = {f"param_{k}": v.detach() for k, v in conv.named_parameters()}
        return {"out": out, **params}

    return call


def _ops(tv: Any) -> Any:
    return tv.ops


def _pairwise_op(name: str) -> Call:
    """A torchvision box-pair operation of (boxes1, boxes2) by its name."""

    def call(tv: Any, torch: Any, t: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        return {"iou": getattr(tv.ops, name)(t["boxes1"], t["boxes2"])}

    return call


SOURCES: list[Source] = [
    Source(
        "torchvision.ops.nms",
        "torchvision",
        _nms_samples,
        lambda tv, torch, t, p: {
            "keep": _ops(tv).nms(t["boxes"], t["scores"], float(p["iou_threshold"]))
        },
    ),
    Source(
        "torchvision.ops.batched_nms",
        "torchvision",
        _batched_nms_samples,
        lambda tv, torch, t, p: {
            "keep": _ops(tv).batched_nms(
                t["boxes"], t["scores"], t["idxs"], float(p["iou_threshold"])
            )
        },
    ),
    Source(
        "torchvision.ops.box_iou",
        "torchvision",
        _box_iou_samples,
        lambda tv, torch, t, p: {"iou": _ops(tv).box_iou(t["boxes1"], t["boxes2"])},
    ),
    *(
        Source(f"torchvision.ops.{name}", "torchvision", _iou_family_samples, _pairwise_op(name))
        for name in ("generalized_box_iou", "distance_box_iou", "complete_box_iou")
    ),
    Source(
        "torchvision.ops.roi_align",
        "torchvision",
        _roi_align_samples,
        lambda tv, torch, t, p: {
            "out": _ops(tv).roi_align(
                t["input"],
                t["rois"],
                _size(p["output_size"]),
                float(p["spatial_scale"]),
                int(p["sampling_ratio"]),
                bool(p["aligned"]),
            )
        },
    ),
    Source("torchvision.ops.roi_pool", "torchvision", _roi_pool_samples, _roi_pool_call),
    Source(
        "torchvision.ops.deform_conv2d",
        "torchvision",
        _deform_samples,
        lambda tv, torch, t, p: {
            "out": _ops(tv).deform_conv2d(
                t["input"],
                t["offset"],
                t["weight"],
                t["bias"],
                padding=_size(p["padding"]),
                mask=t.get("mask"),
            )
        },
    ),
    Source(
        "torchvision.ops.sigmoid_focal_loss",
        "torchvision",
        _focal_samples,
        lambda tv, torch, t, p: {
            "loss": _ops(tv).sigmoid_focal_loss(
                t["inputs"], t["targets"], float(p["alpha"]), float(p["gamma"]), p["reduction"]
            )
        },
    ),
    Source(
        "torchmetrics.functional.pairwise_euclidean_distance",
        "torchmetrics",
        _pairwise_samples,
        lambda tm, torch, t, p: {
            "distance": tm.functional.pairwise_euclidean_distance(t["x"], t["y"])
        },
    ),
    Source(
        "torchmetrics.functional.classification.multiclass_jaccard_index",
        "torchmetrics",
        _jaccard_samples,
        lambda tm, torch, t, p: {
            "iou": tm.functional.classification.multiclass_jaccard_index(
                t["preds"],
                t["target"],
                num_classes=int(p["num_classes"]),
                average=p["average"],
                ignore_index=int(p["ignore_index"]),
            )
        },
    ),
    Source(
        "torchmetrics.functional.classification.binary_auroc",
        "torchmetrics",
        _auroc_samples,
        lambda tm, torch, t, p: {
            "auroc": tm.functional.classification.binary_auroc(t["preds"], t["target"])
        },
    ),
    Source("torch_geometric.nn.GCNConv", "torch_geometric", _gnn_samples, _gnn_call("gcn")),
    Source("torch_geometric.nn.GATConv", "torch_geometric", _gnn_samples, _gnn_call("gat")),
    Source(
        "torch_geometric.utils.softmax",
        "torch_geometric",
        _scatter_softmax_samples,
        lambda pyg, torch, t, p: {
            "out": pyg.utils.softmax(t["src"], t["index"], num_nodes=int(p["num_nodes"]))
        },
    ),
]

"""Golden fixtures: a real library's outputs on small seeded inputs, and their checks.

A fixture is one call of a library operation (``torchvision.ops.nms`` on 300 boxes, say),
stored as ``<name>.npz``: the inputs under ``in_<argument>``, the outputs under
``out_<name>``, and ``meta``, a JSON text with the operation, library versions, device,
seed, scalar arguments and, when the inputs are a suite case's, that case. A folder of
fixtures has a ``manifest.json`` listing each file with its shapes (and the operations that
could not be recorded, with the reason).

Where the project has the algorithm, a converter maps the fixture to the suite's argument
names, options and output convention (``GoldenCheck``); the check then holds the library's
answer against the float64 oracle with the suite's own comparator, and runs every CPU
implementation on the same inputs through ``harness.verify`` with the library's answer in
the oracle's place. Fixtures of operations without a suite yet are only loaded and
checked against their manifest entry.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.backends import device_of
from harness.cases import Case, Inputs
from harness.verdict import OK_STATUSES

FORMAT = 1
MANIFEST = "manifest.json"


class GoldenError(Exception):
    """A fixture folder or file that is malformed or disagrees with its manifest."""


@dataclass(frozen=True)
class Fixture:
    """One recorded library call. ``case`` names the suite case the inputs come from
    (``{"algorithm", "name", "params", "options"}``), empty when the writer drew them."""

    name: str
    op: str
    library: str
    versions: dict[str, str | None]
    device: str
    seed: int
    params: dict[str, Any]
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    case: dict[str, Any] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        """The JSON description stored beside the arrays (and in the manifest)."""
        return {
            "format": FORMAT,
            "name": self.name,
            "op": self.op,
            "library": self.library,
            "versions": dict(self.versions),
            "device": self.device,
            "seed": self.seed,
            "params": dict(self.params),
            "case": dict(self.case),
            "inputs": _shapes(self.inputs),
            "outputs": _shapes(self.outputs),
        }


def _shapes(arrays: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    return {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()}


def save_fixture(folder: Path, fixture: Fixture) -> dict[str, Any]:
    """Write ``<name>.npz``; return its manifest entry (the meta, the file and its size)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{fixture.name}.npz"
    arrays = {f"in_{k}": np.asarray(v) for k, v in fixture.inputs.items()}
    arrays |= {f"out_{k}": np.asarray(v) for k, v in fixture.outputs.items()}
    meta = fixture.meta()
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    savez: Callable[..., None] = np.savez_compressed  # typed as if a key could be allow_pickle
    with path.open("wb") as handle:
        savez(handle, **arrays)
    return {**meta, "file": path.name, "bytes": path.stat().st_size}


def write_manifest(
    folder: Path, entries: list[dict[str, Any]], failed: list[dict[str, str]], **extra: Any
) -> Path:
    """The folder's index: every fixture written, and every operation that was not (why)."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, **extra, "fixtures": entries, "failed": failed}
    path = folder / MANIFEST
    path.write_text(json.dumps(doc, indent=1, sort_keys=True, default=str) + "\n")
    return path


def load_fixture(path: Path) -> Fixture:
    """Read one ``.npz`` fixture (no pickles); GoldenError with a one-line reason."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            inputs = {k[3:]: data[k] for k in data.files if k.startswith("in_")}
            outputs = {k[4:]: data[k] for k in data.files if k.startswith("out_")}
    except (OSError, ValueError, KeyError) as exc:
        raise GoldenError(f"golden fixture {path.name}: cannot be read: {exc}") from None
    if meta.get("format") != FORMAT:
        raise GoldenError(f"golden fixture {path.name}: format {meta.get('format')!r}")
    for part, arrays in (("inputs", inputs), ("outputs", outputs)):
        if _shapes(arrays) != meta.get(part):
            raise GoldenError(f"golden fixture {path.name}: {part} differ from its meta")
    return Fixture(
        name=meta["name"],
        op=meta["op"],
        library=meta["library"],
        versions=meta.get("versions", {}),
        device=meta.get("device", ""),
        seed=int(meta.get("seed", 0)),
        params=meta.get("params", {}),
        inputs=inputs,
        outputs=outputs,
        case=meta.get("case", {}),
    )


def load_folder(folder: Path) -> list[Fixture]:
    """Every fixture the folder's manifest lists, each checked against its entry.

    A folder without a manifest holds no fixtures (an empty list); a file the manifest
    lists but that is missing, or that disagrees with its entry, is a GoldenError.
    """
    path = folder / MANIFEST
    if not path.is_file():
        return []
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise GoldenError(f"{path}: not a readable manifest: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise GoldenError(f"{path}: not a golden manifest of format {FORMAT}")
    fixtures = []
    for entry in doc.get("fixtures", []):
        file = folder / str(entry.get("file"))
        if not file.is_file():
            raise GoldenError(f"{path}: lists {entry.get('file')!r}, which is missing")
        fixture = load_fixture(file)
        stated = {k: entry.get(k) for k in ("op", "inputs", "outputs")}
        found = {k: fixture.meta()[k] for k in ("op", "inputs", "outputs")}
        if stated != found:
            raise GoldenError(f"{path}: the entry of {file.name} does not match the file")
        fixtures.append(fixture)
    return fixtures


# ---- conversion to a suite's terms ---------------------------------------------------------


@dataclass(frozen=True)
class GoldenCheck:
    """A fixture in a suite's terms: its inputs by the suite's argument names (in order),
    its options, and the library's answer in the suite's output convention."""

    label: str
    algorithm: str
    inputs: Inputs
    expected: Any
    options: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # case params: tolerance, caps
    source_case: str = ""  # the suite case the inputs come from: its expected failures hold

    def case(self) -> Case:
        """A case unique to these arrays (the harness caches inputs and oracle outputs by
        the case's JSON, so two fixtures with the same label must not collide)."""
        digest = hashlib.sha256()
        for value in (*self.inputs.values(), self.expected):
            digest.update(np.ascontiguousarray(np.asarray(value)).tobytes())
        floats = [
            v for v in self.inputs.values() if isinstance(v, np.ndarray) and v.dtype.kind == "f"
        ]
        dtype = str(floats[0].dtype) if floats else "float64"  # integer labels carry no dtype
        params = {
            **self.params,
            "dtype": dtype,
            "golden": f"{self.label}@{digest.hexdigest()[:12]}",
        }
        return Case(f"golden:{self.label}", params, dict(self.options), kind="custom")


def _case_params(fixture: Fixture) -> dict[str, Any]:
    return dict(fixture.case.get("params", {}))


def _source(fixture: Fixture) -> str:
    return str(fixture.case.get("name", ""))


def _nms(fixture: Fixture) -> list[GoldenCheck]:
    """torchvision nms: kept indices by decreasing score, IoU > t suppresses: the suite's
    default convention (suppress_if='gt') and output, unchanged."""
    inputs = {
        "boxes": fixture.inputs["boxes"],
        "scores": fixture.inputs["scores"],
        "iou_threshold": float(fixture.params["iou_threshold"]),
    }
    keep = fixture.outputs["keep"].astype(np.int64)
    params, source = _case_params(fixture), _source(fixture)
    return [GoldenCheck(fixture.name, "nms_greedy", inputs, keep, {}, params, source)]


def _batched_nms(fixture: Fixture) -> list[GoldenCheck]:
    """torchvision batched_nms: classes never suppress each other, so each class is an
    nms_greedy problem of its own; the kept indices of a class, renumbered within it and
    in the output's order, are its answer."""
    boxes, scores = fixture.inputs["boxes"], fixture.inputs["scores"]
    classes = fixture.inputs["idxs"]
    keep = fixture.outputs["keep"].astype(np.int64)
    checks = []
    for c in np.unique(classes):
        members = np.flatnonzero(classes == c)
        local = {int(g): i for i, g in enumerate(members)}
        kept = np.array([local[int(k)] for k in keep if int(k) in local], dtype=np.int64)
        inputs = {
            "boxes": boxes[members],
            "scores": scores[members],
            "iou_threshold": float(fixture.params["iou_threshold"]),
        }
        checks.append(GoldenCheck(f"{fixture.name}[class {c}]", "nms_greedy", inputs, kept))
    return checks


def _box_iou(fixture: Fixture) -> list[GoldenCheck]:
    """torchvision box_iou: continuous areas, no eps, 0/0 -> NaN (zero_union='nan')."""
    inputs = {"boxes_a": fixture.inputs["boxes1"], "boxes_b": fixture.inputs["boxes2"]}
    return [
        GoldenCheck(
            fixture.name,
            "box_iou_axis_aligned",
            inputs,
            fixture.outputs["iou"],
            options={"zero_union": "nan"},
            params=_case_params(fixture),
            source_case=_source(fixture),
        )
    ]


def _pairwise(fixture: Fixture) -> list[GoldenCheck]:
    """torchmetrics pairwise_euclidean_distance(x, y): the (M, N) distances, not squared."""
    inputs = {"a": fixture.inputs["x"], "b": fixture.inputs["y"]}
    expected = fixture.outputs["distance"]
    params, source = _case_params(fixture), _source(fixture)
    return [GoldenCheck(fixture.name, "pairwise_l2_distance", inputs, expected, {}, params, source)]


def _roi_align(fixture: Fixture) -> list[GoldenCheck]:
    """torchvision roi_align(input, rois, output_size, spatial_scale, sampling_ratio,
    aligned): the suite's arguments in its order, aligned as the option; the params carry
    the sizes and sample count the suite's tolerance and cost model read."""
    from suites.roi_align import roi_grids

    x, rois, p = fixture.inputs["input"], fixture.inputs["rois"], fixture.params
    ph, pw = (int(v) for v in p["output_size"])
    scale, sr = float(p["spatial_scale"]), int(p["sampling_ratio"])
    inputs = {"features": x, "rois": rois, "pooled_height": ph, "pooled_width": pw}
    inputs |= {"spatial_scale": scale, "sampling_ratio": sr}
    samples = float(roi_grids(rois, ph, pw, scale, sr, bool(p["aligned"])).sum()) * ph * pw
    n, c, h, w = x.shape
    params = dict(n=n, c=c, h=h, w=w, k=len(rois), ph=ph, pw=pw, sr=sr, samples=samples)
    options = {"aligned": bool(p["aligned"])}
    return [GoldenCheck(fixture.name, "roi_align", inputs, fixture.outputs["out"], options, params)]


def _roi_pool(fixture: Fixture) -> list[GoldenCheck]:
    """torchvision roi_pool(input, rois, output_size, spatial_scale): max pooling with
    Caffe's bins; NaN handled as its kernel does (nan_policy='torchvision'). The argmax
    output is recorded but not part of the suite's result."""
    from suites.roi_pool import roi_sizes

    x, rois, p = fixture.inputs["input"], fixture.inputs["rois"], fixture.params
    ph, pw = (int(v) for v in p["output_size"])
    scale = float(p["spatial_scale"])
    inputs = {"features": x, "rois": rois, "pooled_height": ph, "pooled_width": pw}
    inputs["spatial_scale"] = scale
    n, c, h, w = x.shape
    cells = float(roi_sizes(rois, scale).sum())
    params = dict(n=n, c=c, h=h, w=w, k=len(rois), ph=ph, pw=pw, cells=cells)
    options = {"nan_policy": "torchvision"}
    return [GoldenCheck(fixture.name, "roi_pool", inputs, fixture.outputs["out"], options, params)]


def _focal(fixture: Fixture) -> list[GoldenCheck]:
    """torchvision sigmoid_focal_loss(inputs, targets, alpha, gamma, reduction): logits in,
    the suite's default input mode; its reduction is the suite's option of the same name."""
    x, t = fixture.inputs["inputs"], fixture.inputs["targets"]
    alpha, gamma = float(fixture.params["alpha"]), float(fixture.params["gamma"])
    inputs = {"inputs": x, "targets": t, "alpha": alpha, "gamma": gamma}
    params = {"N": int(x.shape[0]), "C": int(x.shape[1]), "alpha": alpha, "gamma": gamma}
    options = {"reduction": str(fixture.params["reduction"])}
    loss = fixture.outputs["loss"]
    return [GoldenCheck(fixture.name, "focal_loss", inputs, loss, options, params)]


def _jaccard(fixture: Fixture) -> list[GoldenCheck]:
    """torchmetrics multiclass_jaccard_index(average='none', ignore_index): the per-class IoU
    of miou_mdice (average='none', dataset accumulation); its zero_division=0 is the
    suite's absent='zero'. The fixture holds no Dice: each class's 2·IoU/(1 + IoU) stands
    in (the identity holds per class). class_weights: ones of the output's dtype."""
    iou = fixture.outputs["iou"]
    preds, target = fixture.inputs["preds"], fixture.inputs["target"]
    weights = np.ones(int(fixture.params["num_classes"]), dtype=iou.dtype)
    inputs = {"pred": preds, "target": target, "class_weights": weights}
    options = {"average": str(fixture.params["average"]), "absent": "zero",
               "ignore_index": int(fixture.params["ignore_index"])}  # fmt: skip
    dice = (2 * iou.astype(np.float64) / (1 + iou.astype(np.float64))).astype(iou.dtype)
    n, h, w = (int(k) for k in preds.shape)
    params = {"N": n, "H": h, "W": w, "C": int(weights.shape[0])}
    return [GoldenCheck(fixture.name, "miou_mdice", inputs, (iou, dice), options, params)]


def _iou_family(fixture: Fixture) -> list[GoldenCheck]:
    """torchvision generalized/distance/complete_box_iou(boxes1, boxes2): the pairwise
    metric with torchvision's default eps = 1e-7, the suite's default."""
    metric = {"generalized": "giou", "distance": "diou", "complete": "ciou"}
    name = fixture.op.rsplit(".", 1)[-1].removesuffix("_box_iou")
    inputs = {"boxes_a": fixture.inputs["boxes1"], "boxes_b": fixture.inputs["boxes2"]}
    return [
        GoldenCheck(
            fixture.name,
            "giou_diou_ciou",
            inputs,
            fixture.outputs["iou"],
            options={"metric": metric[name]},
            params=_case_params(fixture),
            source_case=_source(fixture),
        )
    ]


def _binary_auroc(fixture: Fixture) -> list[GoldenCheck]:
    """torchmetrics binary_auroc(preds, target): the trapezoid AUC with tied scores as one
    threshold, the suite's 1-D binary AUC (no max_fpr, no thresholds binning)."""
    inputs = {"scores": fixture.inputs["preds"], "labels": fixture.inputs["target"]}
    expected = fixture.outputs["auroc"]
    params = {"N": len(inputs["scores"]), **_case_params(fixture)}  # N sizes the tolerance
    return [GoldenCheck(fixture.name, "roc_auc", inputs, expected, {}, params, _source(fixture))]


def _deform_conv(fixture: Fixture) -> list[GoldenCheck]:
    """torchvision deform_conv2d(input, offset, weight, bias, padding, mask): the suite's
    arguments in its order (mask None for DCNv1), stride and dilation 1; the params carry
    the sizes the suite's tolerance and cost model read."""
    x, weight = fixture.inputs["input"], fixture.inputs["weight"]
    inputs = {"x": x, "offset": fixture.inputs["offset"], "weight": weight,
              "bias": fixture.inputs.get("bias"), "mask": fixture.inputs.get("mask")}  # fmt: skip
    n, c, h, w = (int(v) for v in x.shape)
    o, cw, kh, kw = (int(v) for v in weight.shape)
    g = int(fixture.inputs["offset"].shape[1]) // (2 * kh * kw)
    params = dict(N=n, C=c, O=o, H=h, W=w, kh=kh, kw=kw, G=g, groups=c // cw)
    options = {"padding": tuple(int(v) for v in fixture.params["padding"])}
    out = fixture.outputs["out"]
    return [GoldenCheck(fixture.name, "deformable_conv", inputs, out, options, params)]


def _gcn(fixture: Fixture) -> list[GoldenCheck]:
    """torch-geometric GCNConv(5, 3, add_self_loops=True, normalize=True, bias=True) with its
    own initialised parameters: the suite's defaults (symmetric, add_remaining, duplicates
    summed); lin.weight is (Fo, F), the suite's weight its transpose; no edge weights."""
    x, edges = fixture.inputs["x"], fixture.inputs["edge_index"].astype(np.int64)
    weight = np.ascontiguousarray(fixture.outputs["param_lin.weight"].T)
    inputs = {"x": x, "edge_index": edges, "edge_weight": None, "weight": weight,
              "bias": fixture.outputs["param_bias"]}  # fmt: skip
    (n, f), fo, e = x.shape, weight.shape[1], edges.shape[1]
    params = {"N": n, "E": e, "F": f, "Fo": fo}
    return [GoldenCheck(fixture.name, "gcn_layer", inputs, fixture.outputs["out"], {}, params)]


def _gat(fixture: Fixture) -> list[GoldenCheck]:
    """torch-geometric GATConv(5, 4, heads=2, concat=True, negative_slope=0.2, dropout=0)
    with its own initialised parameters: the suite's defaults (self-loops replaced, every
    repeated edge a softmax term). lin.weight (H·C, F) is the suite's (F, H, C) weight
    transposed, att_src/att_dst (1, H, C) lose their leading 1; the suite has no bias, so
    the layer's (zero-initialised) bias is taken off its output."""
    x, edges = fixture.inputs["x"], fixture.inputs["edge_index"].astype(np.int64)
    att_src, att_dst = fixture.outputs["param_att_src"][0], fixture.outputs["param_att_dst"][0]
    h, c = att_src.shape
    lin = fixture.outputs["param_lin.weight"]
    weight = np.ascontiguousarray(lin.T.reshape(lin.shape[1], h, c))
    inputs = {"x": x, "edge_index": edges, "weight": weight, "att_src": att_src,
              "att_dst": att_dst}  # fmt: skip
    out = fixture.outputs["out"] - fixture.outputs["param_bias"]
    params = {"N": x.shape[0], "E": edges.shape[1], "F": x.shape[1], "H": h, "C": c}
    return [GoldenCheck(fixture.name, "gat_layer", inputs, out, {}, params)]


#: op -> its conversion into checks of a suite (ops absent here have no suite yet)
CONVERTERS: dict[str, Callable[[Fixture], list[GoldenCheck]]] = {
    "torchvision.ops.nms": _nms,
    "torchvision.ops.batched_nms": _batched_nms,
    "torchvision.ops.box_iou": _box_iou,
    **dict.fromkeys(
        (f"torchvision.ops.{m}_box_iou" for m in ("generalized", "distance", "complete")),
        _iou_family,
    ),
    "torchmetrics.functional.pairwise_euclidean_distance": _pairwise,
    "torchvision.ops.roi_align": _roi_align,
    "torchvision.ops.roi_pool": _roi_pool,
    "torchvision.ops.sigmoid_focal_loss": _focal,
    "torchvision.ops.deform_conv2d": _deform_conv,
    "torchmetrics.functional.classification.multiclass_jaccard_index": _jaccard,
    "torchmetrics.functional.classification.binary_auroc": _binary_auroc,
    "torch_geometric.nn.GCNConv": _gcn,
    "torch_geometric.nn.GATConv": _gat,
}


def checks_for(fixture: Fixture) -> list[GoldenCheck]:
    """The fixture's checks ([] when the project has no suite for its operation yet)."""
    convert = CONVERTERS.get(fixture.op)
    return convert(fixture) if convert is not None else []


# ---- comparison ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One comparison: the library's answer against the oracle, or an implementation's
    answer against the library's. ``status`` is a verdict status (pass, fail, error, skip)."""

    check: str
    against: str
    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    def line(self) -> str:
        return f"{self.check} vs {self.against}: {self.status}" + (
            f" ({self.detail})" if self.detail else ""
        )


def _suite(algorithm: str) -> Any:
    """The suite record, imported by name as the registry does (light: no implementations)."""
    module = importlib.import_module(f"suites.{algorithm.split('.')[0]}")
    found = getattr(module, "SUITES", None) or [module.SUITE]
    return next(s for s in found if s.algorithm == algorithm)


def against_oracle(check: GoldenCheck, suite: Any = None) -> Outcome:
    """The library's answer judged by the suite's comparator against the float64 oracle."""
    suite = suite or _suite(check.algorithm)
    case = check.case()
    comparator = suite.compare
    tol = comparator.tolerance(case)
    wide = {
        k: v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
        for k, v in check.inputs.items()
    }
    expected = suite.run_oracle(wide, case)
    actual = np.asarray(check.expected)
    if not comparator.compares_shape and actual.shape != np.shape(expected):
        return Outcome(check.label, "oracle", "fail", f"shape {actual.shape} vs {expected.shape}")
    result = comparator(actual, expected, check.inputs, case, tol)
    return Outcome(
        check.label, "oracle", "pass" if result.passed else "fail", result.detail or result.note
    )


def golden_suite(suite: Any, check: GoldenCheck) -> Any:
    """The suite with the fixture's inputs and the library's answer in the oracle's place."""

    def make_inputs(case: Case) -> Inputs:
        return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in check.inputs.items()}

    def oracle(*args: Any) -> Any:
        return np.array(check.expected, copy=True)

    return replace(suite, make_inputs=make_inputs, oracle=oracle)


def against_implementations(
    check: GoldenCheck, impls: Iterable[Any], suite: Any = None
) -> list[Outcome]:
    """Each implementation verified on the fixture's inputs with the library's answer as
    the expected output (the full harness check: structure, aliasing, input integrity).

    An implementation's documented divergence on the suite case the inputs come from
    (``expected_failures``) turns its failure here into an xfail too.
    """
    from harness.verify import verify

    suite = golden_suite(suite or _suite(check.algorithm), check)
    case = check.case()
    outcomes = []
    for impl in impls:
        verdict = verify(suite, impl, case)
        status, detail = verdict.status, verdict.detail or verdict.note
        known = impl.expected_failures.get(check.source_case) if check.source_case else None
        if known and status in ("fail", "error"):
            status, detail = "xfail", f"known divergence: {known} (was: {detail})"
        outcomes.append(Outcome(check.label, impl.key, status, detail))
    return outcomes


def cpu_implementations(registry: Any, algorithm: str, backends: Iterable[str] = ()) -> list[Any]:
    """The algorithm's implementations on CPU arrays (``backends`` narrows them)."""
    impls = registry.select([algorithm], list(backends))
    return [
        i
        for i in impls
        if i.algorithm == algorithm and device_of(i.backend) == device_of(i.arrays) == "cpu"
    ]


def check_fixture(fixture: Fixture, registry: Any, backends: Iterable[str] = ()) -> list[Outcome]:
    """Every comparison a fixture supports: per check, oracle first, then implementations.

    The CPU implementations run on the fixtures recorded on the CPU; one recorded on a CUDA
    device holds the library's CUDA kernel to the oracle (the same inputs, recorded on the
    CPU too, already serve the implementations).
    """
    outcomes: list[Outcome] = []
    for check in checks_for(fixture):
        suite = registry.suite(check.algorithm)
        outcomes.append(against_oracle(check, suite))
        if fixture.device == "cpu":
            impls = cpu_implementations(registry, check.algorithm, backends)
            outcomes += against_implementations(check, impls, suite)
    return outcomes

"""Golden fixtures from the real libraries, checked against the oracles and CPU implementations.

``tests/fixtures/golden/`` holds what ``python -m shootout.gpu_check`` recorded on a machine
with torchvision, torchmetrics and torch-geometric (see the README, "Running the GPU
check"). Every fixture of an operation the project has a suite for is held to the suite's
oracle by its comparator, and every CPU implementation is verified on its inputs with the
library's answer as the expected output. The machinery itself is proven below on fixtures
recorded in a temporary folder from stand-ins built on the oracles, and on corrupted ones.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from harness.golden import (
    CONVERTERS,
    Fixture,
    GoldenError,
    Outcome,
    check_fixture,
    checks_for,
    load_folder,
    save_fixture,
    write_manifest,
)
from harness.golden_record import record_fixtures
from harness.golden_sources import SOURCES, Sample, Source, from_case
from harness.registry import Registry, load_registry
from suites.box_iou_axis_aligned import IouOptions, box_iou_axis_aligned
from suites.nms_greedy import NmsOptions, nms_greedy

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden"
COMMITTED = load_folder(GOLDEN)  # a malformed folder fails the collection, loudly
NONE_YET = (
    "no golden fixtures committed yet in tests/fixtures/golden/: run `python -m "
    "shootout.gpu_check` where torchvision is installed and copy its fixtures/ folder there "
    "(README: Running the GPU check)"
)
#: the CPU backends the machinery tests run (fast: no JIT compile, no pure-Python loops)
QUICK = ("numpy", "torch_cpu")


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def _failures(outcomes: list[Outcome]) -> list[str]:
    return [o.line() for o in outcomes if not o.ok]


# ---- the committed fixtures ------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture",
    COMMITTED or [pytest.param(None, marks=pytest.mark.skip(reason=NONE_YET))],
    ids=[f.name for f in COMMITTED] or ["none"],
)
def test_committed_fixture_agrees_with_the_oracle_and_the_cpu_implementations(
    fixture: Fixture, registry: Registry
) -> None:
    assert fixture.op in {s.op for s in SOURCES}, f"{fixture.name}: unknown operation"
    outcomes = check_fixture(fixture, registry)
    assert not _failures(outcomes), "\n".join(_failures(outcomes))
    if fixture.op in CONVERTERS:
        assert any(o.against == "oracle" for o in outcomes)
    else:  # no suite yet: the recording is at least complete
        assert fixture.outputs and all(v.size or not v.shape for v in fixture.outputs.values())


# ---- stand-ins for torchvision built on the oracles ---------------------------------------


def _oracle_nms(boxes: Any, scores: Any, t: float) -> Any:
    return torch.from_numpy(nms_greedy(boxes.numpy(), scores.numpy(), t, NmsOptions()))


def _oracle_batched_nms(boxes: Any, scores: Any, idxs: Any, t: float) -> Any:
    b, s, c = boxes.numpy(), scores.numpy(), idxs.numpy()
    keep = []
    for label in np.unique(c):
        members = np.flatnonzero(c == label)
        keep += members[nms_greedy(b[members], s[members], t, NmsOptions())].tolist()
    keep.sort(key=lambda i: -s[i])  # torchvision: all classes by decreasing score
    return torch.tensor(keep, dtype=torch.int64)


def _oracle_box_iou(a: Any, b: Any) -> Any:
    iou = box_iou_axis_aligned(a.numpy(), b.numpy(), IouOptions(zero_union="nan"))
    return torch.from_numpy(iou.astype(a.numpy().dtype))


FAKE_TORCHVISION = SimpleNamespace(
    __version__="0.0+oracle",
    ops=SimpleNamespace(nms=_oracle_nms, batched_nms=_oracle_batched_nms, box_iou=_oracle_box_iou),
)


def _sources() -> list[Source]:
    """The real sources of the mapped operations, on a few of their samples."""
    keep = {
        "torchvision.ops.nms": ("clustered_f32", "iou_exactly_third_f32"),
        "torchvision.ops.batched_nms": ("three_classes_f32",),
        "torchvision.ops.box_iou": ("random_f32", "degenerate_zero_area"),
    }
    out = []
    for source in SOURCES:
        if source.op in keep:
            samples = [s for s in source.samples() if s.variant in keep[source.op]]
            out.append(replace(source, samples=lambda samples=samples: samples))
    return out


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> list[Fixture]:
    folder = tmp_path_factory.mktemp("golden")
    rec = record_fixtures(
        folder, torch=torch, libraries={"torchvision": FAKE_TORCHVISION}, sources=_sources()
    )
    assert not rec.failed and not rec.skipped, (rec.failed, rec.skipped)
    return load_folder(folder)


def _by_op(fixtures: list[Fixture], op: str, variant: str = "") -> Fixture:
    return next(f for f in fixtures if f.op == op and variant in f.name)


def test_fixtures_recorded_from_the_oracle_pass_every_check(
    recorded: list[Fixture], registry: Registry
) -> None:
    assert {f.op for f in recorded} == {s.op for s in _sources()}
    for fixture in recorded:
        outcomes = check_fixture(fixture, registry, QUICK)
        assert not _failures(outcomes), "\n".join(_failures(outcomes))
        assert {o.against for o in outcomes} >= {"oracle"}
        assert len({o.against for o in outcomes}) > 1, "no implementation was run"


def _corrupt(tmp_path: Path, fixture: Fixture, **outputs: np.ndarray) -> Fixture:
    """The fixture with other outputs, written and read back through a manifest."""
    entry = save_fixture(tmp_path, replace(fixture, outputs={**fixture.outputs, **outputs}))
    write_manifest(tmp_path, [entry], [])
    (loaded,) = load_folder(tmp_path)
    return loaded


def _checked(fixture: Fixture, registry: Registry) -> dict[str, Outcome]:
    return {o.against: o for o in check_fixture(fixture, registry, QUICK)}


def test_an_nms_answer_missing_a_kept_box_fails_against_the_oracle(
    recorded: list[Fixture], registry: Registry, tmp_path: Path
) -> None:
    fixture = _by_op(recorded, "torchvision.ops.nms", "clustered_f32")
    keep = fixture.outputs["keep"]
    bad = _checked(_corrupt(tmp_path, fixture, keep=np.delete(keep, 3)), registry)
    assert bad["oracle"].status == "fail" and "rule" in bad["oracle"].detail
    # GreedySelection judges a trace by the greedy rules on the inputs, so a right
    # implementation still passes against a wrong library answer
    assert bad["nms_greedy/numpy/shrinking"].status == "pass"


def test_an_iou_off_by_a_little_or_zero_instead_of_nan_fails(
    recorded: list[Fixture], registry: Registry, tmp_path: Path
) -> None:
    fixture = _by_op(recorded, "torchvision.ops.box_iou", "random_f32")
    iou = fixture.outputs["iou"]
    off = _checked(_corrupt(tmp_path / "off", fixture, iou=iou + np.float32(1e-3)), registry)
    assert off["oracle"].status == "fail" and "elements differ" in off["oracle"].detail
    assert off["box_iou_axis_aligned/numpy/xp"].status == "fail"
    zero_union = _by_op(recorded, "torchvision.ops.box_iou", "degenerate")
    nan = zero_union.outputs["iou"]
    assert np.isnan(nan).any(), "the degenerate case must exercise 0/0"
    zeros = _corrupt(tmp_path / "zero", zero_union, iou=np.nan_to_num(nan))
    assert "numbers where the oracle has NaN" in _checked(zeros, registry)["oracle"].detail


def test_batched_nms_is_checked_class_by_class(
    recorded: list[Fixture], registry: Registry, tmp_path: Path
) -> None:
    fixture = _by_op(recorded, "torchvision.ops.batched_nms")
    classes = {c.label for c in checks_for(fixture)}
    assert classes == {f"{fixture.name}[class {c}]" for c in np.unique(fixture.inputs["idxs"])}
    # a box suppressed within its class, added back: that class's check fails
    everything = np.argsort(-fixture.inputs["scores"], kind="stable")
    outcomes = check_fixture(_corrupt(tmp_path, fixture, keep=everything), registry, QUICK)
    assert {o.against for o in outcomes if o.status == "fail"} >= {"oracle"}


def test_a_torchmetrics_distance_fixture_is_checked_as_pairwise_l2_distance(
    registry: Registry, tmp_path: Path
) -> None:
    from suites.pairwise_l2_distance import L2Options, pairwise_l2_distance

    def distance(x: Any, y: Any) -> Any:
        d = pairwise_l2_distance(x.numpy(), y.numpy(), L2Options())
        return torch.from_numpy(d.astype(x.numpy().dtype))

    tm = SimpleNamespace(functional=SimpleNamespace(pairwise_euclidean_distance=distance))
    (source,) = [s for s in SOURCES if s.op.endswith("pairwise_euclidean_distance")]
    rec = record_fixtures(
        tmp_path / "ok", torch=torch, libraries={"torchmetrics": tm}, sources=[source]
    )
    assert len(rec.entries) == 2 and not rec.failed
    for fixture in load_folder(tmp_path / "ok"):
        outcomes = check_fixture(fixture, registry, QUICK)
        assert not _failures(outcomes) and len(outcomes) > 2, outcomes
    fixture = load_folder(tmp_path / "ok")[0]
    squared = _corrupt(tmp_path / "bad", fixture, distance=fixture.outputs["distance"] ** 2)
    assert _checked(squared, registry)["oracle"].status == "fail"  # squared: a convention slip


def test_a_documented_divergence_on_the_source_case_is_an_xfail_here_too(
    registry: Registry, tmp_path: Path
) -> None:
    (source,) = [s for s in SOURCES if s.op == "torchvision.ops.box_iou"]
    nonfinite = [s for s in source.samples() if s.variant == "nonfinite"]
    only = replace(source, samples=lambda: nonfinite)
    libraries = {"torchvision": FAKE_TORCHVISION}
    record_fixtures(tmp_path, torch=torch, libraries=libraries, sources=[only])
    (fixture,) = load_folder(tmp_path)
    quick = _checked(fixture, registry)  # the oracle, numpy and torch_cpu agree
    assert all(o.status == "pass" for o in quick.values()), quick
    libraries = check_fixture(fixture, registry, ["library"])[1:]
    (outcome,) = [o for o in libraries if o.against.endswith("/library/shapely")]
    # torchvision's formula, restated in torch, agrees; shapely's infinite-side boxes:
    # documented on the suite's "nonfinite" case
    assert all(o.status == "pass" for o in libraries if o is not outcome), libraries
    assert outcome.status == "xfail" and "known divergence: GEOS" in outcome.detail


def test_an_operation_without_a_suite_gives_no_check() -> None:
    fixture = Fixture("x", "torchvision.ops.no_suite_op", "torchvision", {}, "cpu", 0, {}, {}, {})
    assert checks_for(fixture) == []


def test_an_empty_or_absent_folder_holds_no_fixture(tmp_path: Path) -> None:
    assert load_folder(tmp_path / "absent") == []
    write_manifest(tmp_path, [], [])
    assert load_folder(tmp_path) == []


def test_a_file_that_disagrees_with_its_manifest_is_an_error(
    recorded: list[Fixture], tmp_path: Path
) -> None:
    fixture = _by_op(recorded, "torchvision.ops.nms", "clustered_f32")
    entry = save_fixture(tmp_path, fixture)
    write_manifest(tmp_path, [{**entry, "op": "torchvision.ops.box_iou"}], [])
    with pytest.raises(GoldenError, match="does not match"):
        load_folder(tmp_path)
    write_manifest(tmp_path, [{**entry, "file": "gone.npz"}], [])
    with pytest.raises(GoldenError, match="missing"):
        load_folder(tmp_path)


def test_a_sample_from_a_suite_case_is_that_case_s_inputs() -> None:
    sample = from_case("nms_greedy", "clustered_f32", {})
    assert isinstance(sample, Sample)
    assert sample.params == {"iou_threshold": 0.5}
    assert sample.case["algorithm"] == "nms_greedy" and sample.case["params"]["n"] == 300
    assert sample.inputs["boxes"].shape == (300, 4) and sample.inputs["boxes"].dtype == np.float32

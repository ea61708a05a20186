"""Tests of harness.golden_sources and harness.golden_record: the samples, and the
recording loop on stand-in libraries (the real torchvision, torchmetrics and torch-geometric
calls run on the GPU machine; tests/test_golden.py proves the fixtures' checks)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from harness.golden import MANIFEST, load_folder
from harness.golden_record import record_fixtures
from harness.golden_sources import SOURCES, Sample, Source


def test_every_source_has_small_seeded_samples_with_unique_names() -> None:
    names, total = set(), 0
    for source in SOURCES:
        first, again = source.samples(), source.samples()
        assert first, source.op
        for a, b in zip(first, again, strict=True):
            assert a.inputs.keys() == b.inputs.keys()
            assert all(np.array_equal(a.inputs[k], b.inputs[k], equal_nan=True) for k in a.inputs)
            json.dumps(a.params)
            total += sum(v.nbytes for v in a.inputs.values())
            name = (source.op.rsplit(".", 1)[-1], a.variant)
            assert name not in names, name
            names.add(name)
    assert total < 512 * 1024  # inputs of every fixture together, per device


class FakeTensor:
    def __init__(self, array: np.ndarray, devices: list[str]) -> None:
        self.array, self.devices = array, devices

    def to(self, device: str) -> FakeTensor:
        self.devices.append(device)
        return self

    def detach(self) -> FakeTensor:
        return self

    def cpu(self) -> FakeTensor:
        return self

    def numpy(self) -> np.ndarray:
        return self.array


def _fake_torch(cuda: bool, devices: list[str]) -> Any:
    return SimpleNamespace(
        __version__="9.9-fake",
        cuda=SimpleNamespace(is_available=lambda: cuda),
        from_numpy=lambda a: FakeTensor(a, devices),
    )


def _source(op: str = "lib.ops.double", library: str = "lib", fail_on: str = "") -> Source:
    def samples() -> list[Sample]:
        x = np.arange(6, dtype=np.float32).reshape(2, 3)
        return [Sample("one", 1, {"x": x}, {"k": 1}), Sample("two", 2, {"x": x + 1})]

    def call(lib: Any, torch: Any, t: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        if fail_on and float(t["x"].array[0, 0]) == float(fail_on):
            raise RuntimeError("kernel not compiled for this device\nsecond line")
        return {"y": FakeTensor(t["x"].array * 2, [])}

    return Source(op, library, samples, call)


def test_each_sample_is_recorded_on_every_device_with_versions(tmp_path: Path) -> None:
    devices: list[str] = []
    lib = SimpleNamespace(__version__="1.2.3")
    rec = record_fixtures(
        tmp_path, torch=_fake_torch(True, devices), libraries={"lib": lib}, sources=[_source()]
    )
    assert [e["file"] for e in rec.entries] == [
        "lib.double.one.cpu.npz",
        "lib.double.one.cuda.npz",
        "lib.double.two.cpu.npz",
        "lib.double.two.cuda.npz",
    ]
    assert set(devices) == {"cpu", "cuda"}
    fixtures = load_folder(tmp_path)
    assert fixtures[0].versions == {"torch": "9.9-fake", "lib": "1.2.3"}
    assert fixtures[0].params == {"k": 1} and fixtures[0].seed == 1
    np.testing.assert_array_equal(fixtures[0].outputs["y"], 2 * fixtures[0].inputs["x"])
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["fixtures"][0]["inputs"] == {"x": {"shape": [2, 3], "dtype": "float32"}}
    assert rec.nbytes == sum(e["bytes"] for e in manifest["fixtures"]) > 0


def test_a_missing_library_skips_its_sources_and_a_failing_call_costs_its_fixture(
    tmp_path: Path,
) -> None:
    sources = [_source(fail_on="1.0"), _source("other.ops.f", "other")]
    libraries = {"lib": SimpleNamespace(), "other": "other not installed"}
    rec = record_fixtures(
        tmp_path, torch=_fake_torch(False, []), libraries=libraries, sources=sources
    )
    assert [e["file"] for e in rec.entries] == ["lib.double.one.cpu.npz"]
    assert rec.failed == [
        {
            "op": "lib.ops.double",
            "variant": "two",
            "device": "cpu",
            "reason": "RuntimeError: kernel not compiled for this device",
        }
    ]
    assert rec.skipped == [{"op": "other.ops.f", "reason": "other not installed"}]
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["failed"] == rec.failed and manifest["skipped"] == rec.skipped


@pytest.mark.parametrize("limit", ["deadline", "size"])
def test_past_the_deadline_or_the_size_cap_the_rest_is_skipped(tmp_path: Path, limit: str) -> None:
    kwargs: dict[str, Any] = {"deadline": 0.0} if limit == "deadline" else {"max_bytes": 1}
    rec = record_fixtures(
        tmp_path,
        torch=_fake_torch(False, []),
        libraries={"lib": SimpleNamespace()},
        sources=[_source()],
        **kwargs,
    )
    written = 0 if limit == "deadline" else 1
    assert len(rec.entries) == written
    why = "time budget spent" if limit == "deadline" else "size cap"
    assert [s["reason"] for s in rec.skipped] == [why] * (2 - written)


def test_without_torch_nothing_is_attempted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.golden_record as recording

    monkeypatch.setattr(recording, "_import", lambda name: f"{name} not installed")
    rec = record_fixtures(tmp_path)
    assert rec.entries == [] and rec.skipped == [{"op": "*", "reason": "torch not installed"}]
    assert load_folder(tmp_path) == []

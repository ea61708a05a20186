"""Tests of harness.results: atomic writes, the run document and loading result files."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
from pathlib import Path

import pytest

import harness.results
from harness.results import (
    SCHEMA_VERSION,
    ResultsError,
    Run,
    find_results,
    load_results,
    machine_info,
    write_atomic,
)


def run() -> Run:
    return Run(
        command="shootout verify",
        profile="quick",
        threads={"requested": 1},
        run_id="abc123",
        created="2024-05-01T12:34:56+00:00",
    )


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---- write_atomic --------------------------------------------------------------------------


def test_write_atomic_creates_folders_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "run.json"
    write_atomic(target, "first")
    write_atomic(target, "second")
    assert target.read_text() == "second"
    assert listing(target.parent) == ["run.json"]


def test_failed_rename_keeps_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "run.json"
    write_atomic(target, "old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk gone"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert listing(tmp_path) == ["run.json"]


def test_failed_write_removes_the_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    write_atomic(target, "old")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "lone surrogate \ud800")
    assert target.read_text() == "old"
    assert listing(tmp_path) == ["run.json"]


def test_failed_save_keeps_the_previous_document(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    r = run()
    r.save(target, complete=False)
    before = target.read_text()
    r.verdicts.append({"status": "pass", "oops": object()})
    with pytest.raises(TypeError, match="not JSON serializable"):
        r.save(target, complete=True)
    assert target.read_text() == before
    assert listing(tmp_path) == ["run.json"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_users_umask(tmp_path: Path, umask: int, mode: int) -> None:
    previous = os.umask(umask)
    try:
        write_atomic(tmp_path / "text.json", "{}")
        write_atomic(tmp_path / "bytes.bin", b"\x00")
        run().save(tmp_path / "run.json", complete=True)
    finally:
        os.umask(previous)
    for name in ("text.json", "bytes.bin", "run.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode, name
    assert (tmp_path / "bytes.bin").read_bytes() == b"\x00"


# ---- Run -----------------------------------------------------------------------------------


def test_saved_document_has_every_field(tmp_path: Path) -> None:
    r = run()
    cell = {"algorithm": "nms", "backend": "numpy", "variant": "x", "case": "small"}
    r.verdicts.append({**cell, "status": "pass", "max_rel": float("nan")})
    r.measurements.append({**cell, "status": "ok", "samples": [1e-6, 2e-6]})
    path = r.save(tmp_path / "r.json", complete=True)
    doc = load_results(path)
    assert doc["schema_version"] == SCHEMA_VERSION == 1
    assert doc["complete"] is True
    assert (doc["run_id"], doc["command"], doc["profile"]) == ("abc123", "shootout verify", "quick")
    assert doc["created"] == "2024-05-01T12:34:56+00:00"
    assert doc["threads"] == {"requested": 1}
    assert re.fullmatch(r"[0-9a-f]{12}", doc["machine"]["fingerprint"])
    assert doc["machine"]["cores"] == os.cpu_count()
    assert set(doc["git"]) == {"commit", "dirty"}
    assert doc["versions"]["numpy"] == importlib.metadata.version("numpy")
    assert set(doc["versions"]) == set(harness.results.LIBRARIES)
    assert doc["measurements"][0]["samples"] == [1e-6, 2e-6]
    assert doc["verdicts"][0]["max_rel"] != doc["verdicts"][0]["max_rel"]  # NaN survives


def test_incomplete_flag_is_recorded(tmp_path: Path) -> None:
    doc = load_results(run().save(tmp_path / "r.json", complete=False))
    assert doc["complete"] is False


def test_fingerprint_is_stable_and_ignores_the_hostname(monkeypatch: pytest.MonkeyPatch) -> None:
    first = machine_info()
    monkeypatch.setattr(harness.results.socket, "gethostname", lambda: "elsewhere")
    second = machine_info()
    assert second["hostname"] == "elsewhere"
    assert first["fingerprint"] == second["fingerprint"]


def test_default_path_is_stamped_with_time_and_run_id(tmp_path: Path) -> None:
    assert run().default_path(tmp_path) == tmp_path / "20240501T123456Z-abc123.json"


# ---- load_results --------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match=r"results file '.*gone\.json' does not exist"):
        load_results(tmp_path / "gone.json")


def test_invalid_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "schema_version": 1,\n  oops\n}')
    with pytest.raises(ResultsError, match=r"'.*bad\.json' is not valid JSON \(line 3"):
        load_results(path)


@pytest.mark.parametrize(
    ("content", "found"), [({"schema_version": 2}, "2"), ([1, 2], "None"), ({}, "None")]
)
def test_other_schema_versions_are_refused(tmp_path: Path, content: object, found: str) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps(content))
    with pytest.raises(
        ResultsError,
        match=rf"'.*old\.json' has schema version {found}, "
        rf"expected 1",
    ):
        load_results(path)


def test_missing_keys_are_named(tmp_path: Path) -> None:
    path = tmp_path / "partial.json"
    path.write_text(json.dumps({"schema_version": 1, "machine": {}, "measurements": []}))
    with pytest.raises(ResultsError, match=r"'.*partial\.json' lacks 'verdicts'"):
        load_results(path)


def test_find_results_expands_folders(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    for name in ("b.json", "a.json", ".a.json.tmp", ".hidden.json", "notes.txt"):
        (folder / name).write_text("{}")
    single = tmp_path / "other.json"
    found = find_results([folder, single])
    assert found == [folder / "a.json", folder / "b.json", single]


# ---- the file's text ---------------------------------------------------------------------------


def test_a_saved_run_reads_back_equal_with_one_record_to_a_line(tmp_path: Path) -> None:
    r = run()
    r.verdicts = [{"status": "pass", "detail": "a\nb", "worst": float("nan")}] * 3
    r.measurements = [{"status": "ok", "samples": [1e-3, float("inf"), 2.5e-300]}]
    path = r.save(tmp_path / "run.json", complete=True)
    text = path.read_text()
    back = json.loads(text)
    document = r.document(complete=True)
    assert back.keys() == document.keys()
    assert json.dumps(back, sort_keys=True) == json.dumps(document, sort_keys=True)
    lines = text.splitlines()
    # every record on a line of its own, every top-level key on a line of its own
    assert sum(line.startswith('  {"status": "pass"') for line in lines) == 3
    assert sum(line.startswith('  {"status": "ok"') for line in lines) == 1
    assert {line.split(":")[0].strip() for line in lines if line.startswith(' "')} == {
        json.dumps(k) for k in document
    }
    empty = run().save(tmp_path / "empty.json", complete=False)
    assert json.loads(empty.read_text())["verdicts"] == []

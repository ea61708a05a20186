"""Provenance: each implementation's origin, file hash and commit state in the results file,
so two versions of one kernel are told apart, in the file and in the report."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from harness.provenance import provenance, uncommitted
from harness.registry import load_registry
from harness.results import Run
from reports import load_results
from reports.table import latest

ALGO = "box_iou_axis_aligned"
PLUGIN = f'''
from harness import implementation
from suites.box_iou_axis_aligned import box_iou_axis_aligned as oracle


@implementation("{ALGO}", "numpy", "mine")
def mine(boxes_a, boxes_b, opts):
    """VERSION"""
    return oracle(boxes_a, boxes_b, opts).astype(boxes_a.dtype)
'''


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_uncommitted_tells_committed_files_from_the_rest(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    git(repo, "init", "-q")
    names = ("clean.py", "modified.py", "staged.py", "untracked.py", "ignored.py")
    for name in names:
        (repo / "pkg" / name).write_text("x = 1\n")
    (repo / ".gitignore").write_text("ignored.py\n")
    git(repo, "add", ".gitignore", "pkg/clean.py", "pkg/modified.py")
    git(repo, "commit", "-q", "-m", "first")
    (repo / "pkg" / "modified.py").write_text("x = 2\n")
    git(repo, "add", "pkg/staged.py")
    outside = tmp_path / "loose.py"
    outside.write_text("x = 1\n")
    files = [repo / "pkg" / n for n in names]
    found = uncommitted([*files, outside])
    assert found == {
        files[0]: False,
        files[1]: True,
        files[2]: True,
        files[3]: True,
        files[4]: True,
        outside: None,
    }


def _plugin(path: Path, version: str) -> Path:
    path.write_text(PLUGIN.replace("VERSION", version))
    return path


def test_two_versions_of_a_plugin_get_two_hashes_and_count_as_dirty(tmp_path: Path) -> None:
    records = []
    for version in ("one", "two"):
        plugin = _plugin(tmp_path / f"{version}.py", version)
        impl = load_registry([str(plugin)]).implementations[f"{ALGO}/numpy/mine"]
        (record,) = provenance([impl]).values()
        assert record["origin"] == f"plugin:{plugin}"
        assert record["file"] == str(plugin.resolve())
        assert record["sha256"] == hashlib.sha256(plugin.read_bytes()).hexdigest()
        assert record["dirty"] is True  # in no git work tree: nothing but the hash records it
        records.append(record)
    assert records[0]["sha256"] != records[1]["sha256"]


def test_project_implementations_are_recorded_with_their_commit_state() -> None:
    registry = load_registry()
    impls = registry.select([ALGO], ["numpy"])
    records = provenance(impls)
    assert set(records) == {i.key for i in impls}
    for impl in impls:
        record = records[impl.key]
        assert record["origin"] == "project" and record["sha256"]
        assert record["file"].endswith(".py") and record["dirty"] in (True, False)


def test_a_dirty_implementation_makes_the_run_dirty() -> None:
    run = Run(command="shootout verify", profile=None, threads={})
    clean = run.document(complete=True)["git"]["dirty"]
    run.implementations = {"a/numpy/x": {"origin": "plugin:x.py", "sha256": None, "dirty": True}}
    assert run.document(complete=True)["git"]["dirty"] is True
    run.implementations = {"a/numpy/x": {"origin": "project", "sha256": None, "dirty": False}}
    assert run.document(complete=True)["git"]["dirty"] == clean


def _results(path: Path, run_id: str, origin: str, sha: str, created: str) -> Path:
    cell = {"algorithm": ALGO, "backend": "numpy", "variant": "mine", "kind": "handwritten"}
    cell |= {"case": "bench_200", "case_kind": "bench", "dtype": "float32"}
    run = Run(
        command="shootout bench",
        profile="quick",
        threads={},
        run_id=run_id,
        created=created,
        verdicts=[{**cell, "status": "pass"}],
        measurements=[{**cell, "status": "ok", "median_s": 1e-3, "samples": [1e-3]}],
        implementations={f"{ALGO}/numpy/mine": {"origin": origin, "sha256": sha, "dirty": True}},
    )
    path.write_text(json.dumps(run.document(complete=True)))
    return path


def test_the_report_keeps_two_versions_of_a_plugin_apart(tmp_path: Path) -> None:
    a, b = "a" * 64, "b" * 64
    _results(tmp_path / "1.json", "run1", "plugin:mine.py", a, "2025-01-01T00:00:00+00:00")
    _results(tmp_path / "2.json", "run2", "plugin:mine.py", b, "2025-01-02T00:00:00+00:00")
    frames = load_results(tmp_path)
    for table in (frames.measurements, frames.verdicts):
        assert sorted(table["impl"]) == ["numpy/mine@aaaaaaaa", "numpy/mine@bbbbbbbb"]
        assert sorted(table["source"]) == [a[:12], b[:12]]
        assert len(latest(table)) == 2  # the newer run does not supersede the other version


def test_one_version_in_several_runs_keeps_its_plain_name(tmp_path: Path) -> None:
    a, b = "a" * 64, "b" * 64
    _results(tmp_path / "1.json", "run1", "plugin:mine.py", a, "2025-01-01T00:00:00+00:00")
    _results(tmp_path / "2.json", "run2", "plugin:mine.py", a, "2025-01-02T00:00:00+00:00")
    _results(tmp_path / "3.json", "run3", "project", b, "2025-01-03T00:00:00+00:00")
    frames: Any = load_results([tmp_path / "1.json", tmp_path / "2.json"])
    assert set(frames.measurements["impl"]) == {"numpy/mine"}
    assert len(latest(frames.measurements)) == 1
    # the project's own code changes with its commits: not split by hash
    frames = load_results([tmp_path / "1.json", tmp_path / "3.json"])
    assert set(frames.measurements["impl"]) == {"numpy/mine"}

"""``shootout gate --base REF`` times what the change can affect: the algorithms whose suite
or implementations changed, the canaries for a harness change, nothing for docs."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.gate import changes
from harness.gate.changes import (
    CANARIES,
    CANARY_ALGORITHM,
    base_algorithms,
    changed_paths,
    select_changes,
)
from harness.registry import Registry, load_registry
from shootout import gate
from tests.test_cli import ROOT, shootout

ALGORITHMS = {
    "nms_greedy",
    "box_iou_axis_aligned",
    CANARY_ALGORITHM,
    "softmax_stable_and_gradients",
}


def select(*paths: str, candidate: set[str] = ALGORITHMS, base: set[str] = ALGORITHMS) -> Any:
    return select_changes(paths, candidate, base)


def test_a_one_file_change_to_an_implementation_selects_only_its_algorithm() -> None:
    s = select("implementations/nms_greedy/numpy_shrinking.py")
    assert s.algorithms == {"nms_greedy": ["implementations/nms_greedy/numpy_shrinking.py"]}
    assert not s.timed_canaries and not s.shared and not s.empty
    assert s.worker_selection(["nms_greedy/numpy/shrinking"]) == (["nms_greedy"], [])
    assert any("nms_greedy: implementations/nms_greedy/numpy_shrinking.py" in w for w in s.lines())


def test_a_suite_change_selects_its_algorithm_and_its_modes() -> None:
    s = select("suites/softmax_stable_and_gradients.py")
    # -a softmax_stable_and_gradients takes softmax_stable_and_gradients.backward too
    assert list(s.algorithms) == ["softmax_stable_and_gradients"]
    assert not s.timed_canaries


def test_a_harness_change_selects_the_canaries() -> None:
    for path in ("harness/bench.py", "shootout/cli.py", "pyproject.toml", "gate.toml"):
        s = select(path)
        assert s.timed_canaries and not s.algorithms and not s.empty
        keys = [*CANARIES, f"{CANARY_ALGORITHM}/python/loops", f"{CANARY_ALGORITHM}/library/torch"]
        algorithms, exclude = s.worker_selection(keys)
        assert algorithms == [CANARY_ALGORITHM]
        assert exclude == sorted(set(keys) - set(CANARIES))
        assert any("canaries" in line and path in line for line in s.lines())
        assert s.as_dict()["canaries"] == list(CANARIES)


def test_an_algorithm_and_the_harness_changed_together() -> None:
    s = select("implementations/nms_greedy/numba_sweep.py", "harness/verify.py")
    keys = [*CANARIES, f"{CANARY_ALGORITHM}/python/loops", "nms_greedy/numba/sweep"]
    assert s.worker_selection(keys) == (
        ["nms_greedy", CANARY_ALGORITHM],
        [f"{CANARY_ALGORITHM}/python/loops"],
    )
    # the canary algorithm itself changed: every one of its implementations is timed
    s = select(f"suites/{CANARY_ALGORITHM}.py", "harness/verify.py")
    assert s.worker_selection(keys) == ([CANARY_ALGORITHM], [])


def test_docs_tests_and_the_report_select_nothing() -> None:
    s = select("README.md", "docs/guide.md", "tests/test_gate.py", "reports/site.py", "LICENSE")
    assert s.empty and not s.algorithms and not s.timed_canaries
    assert s.inert == sorted(s.inert) and len(s.inert) == 5
    assert s.lines()[-1].startswith("nothing to time")
    assert select().empty  # nothing changed at all


def test_a_shared_module_selects_every_algorithm() -> None:
    for path in ("suites/__init__.py", "implementations/_common.py", "implementations/xp/k.py"):
        s = select(path, "harness/bench.py")
        assert s.shared == [path] and not s.empty
        assert s.worker_selection([*CANARIES]) == ([], [])  # [] is every algorithm


def test_new_and_removed_algorithms_are_listed_not_timed() -> None:
    s = select(
        "suites/brand_new.py",
        "implementations/brand_new/numpy_x.py",
        "suites/nms_greedy.py",
        candidate=ALGORITHMS | {"brand_new"},
        base=ALGORITHMS | {"gone"},
    )
    assert list(s.algorithms) == ["nms_greedy"] and list(s.new) == ["brand_new"]
    s = select("implementations/gone/numpy_x.py", base=ALGORITHMS | {"gone"})
    assert s.empty and list(s.removed) == ["gone"]
    assert any("gone" in line and "not timed" in line for line in s.lines())


# ---- the diff from git ---------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def test_changed_paths_cover_edits_staged_untracked_deleted_and_renamed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for path in ("suites/a.py", "suites/b.py", "implementations/a/numpy_x.py", "README.md",
                 "harness/bench.py", "implementations/b/numpy_y.py"):  # fmt: skip
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("x = 1\n")
    (repo / ".gitignore").write_text("results/\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    commit = git(repo, "rev-parse", "HEAD").strip()
    assert changed_paths(commit, repo) == []
    (repo / "implementations/a/numpy_x.py").write_text("x = 2\n")  # edited, not staged
    (repo / "README.md").write_text("docs\n")
    git(repo, "add", "README.md")  # staged
    (repo / "implementations/a/numba_new.py").write_text("y = 1\n")  # untracked
    (repo / "results").mkdir()
    (repo / "results/run.json").write_text("{}")  # ignored: not a change
    (repo / "harness/bench.py").unlink()  # deleted
    git(repo, "mv", "implementations/b/numpy_y.py", "implementations/b/numpy_z.py")
    assert changed_paths(commit, repo) == [
        "README.md",
        "harness/bench.py",
        "implementations/a/numba_new.py",
        "implementations/a/numpy_x.py",
        "implementations/b/numpy_y.py",
        "implementations/b/numpy_z.py",
    ]
    assert base_algorithms(commit, repo) == {"a", "b"}
    s = select_changes(changed_paths(commit, repo), {"a", "b"}, {"a", "b"})
    assert sorted(s.algorithms) == ["a", "b"] and s.canaries == ["harness/bench.py"]


# ---- the gate command's selection ----------------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def _worker() -> dict[str, Any]:
    return {"algorithms": [], "backends": [], "variants": [], "plugins": [], "exclude": []}


def _args(**changes: Any) -> argparse.Namespace:
    return argparse.Namespace(**{"all": False, "algorithm": [], **changes})


@pytest.fixture
def diff(monkeypatch: pytest.MonkeyPatch, registry: Registry) -> list[str]:
    """The gate's view of git, replaced by a list the test fills in."""
    paths: list[str] = []
    monkeypatch.setattr(changes, "changed_paths", lambda commit, repo: list(paths))
    monkeypatch.setattr(
        changes, "base_algorithms", lambda commit, repo: {a.split(".")[0] for a in registry.suites}
    )
    monkeypatch.setattr(gate, "_registry", lambda plugins: registry)
    return paths


def _timed(registry: Registry, worker: dict[str, Any]) -> set[str]:
    chosen = registry.select(worker["algorithms"], worker["backends"], worker["variants"])
    return {i.key for i in chosen} - set(worker["exclude"])


def test_the_gate_times_only_the_changed_algorithm(diff: list[str], registry: Registry) -> None:
    diff.append("implementations/nms_greedy/numpy_shrinking.py")
    worker = _worker()
    selection = gate._select(_args(), "0" * 40, worker)
    assert selection["timed"] and selection["algorithms"] == {"nms_greedy": diff}
    assert worker["algorithms"] == ["nms_greedy"]
    timed = _timed(registry, worker)
    # -a nms_greedy takes its modes too (nms_greedy.batched)
    assert timed and {k.split("/")[0].split(".")[0] for k in timed} == {"nms_greedy"}


def test_the_gate_times_the_canaries_for_a_harness_change(
    diff: list[str], registry: Registry
) -> None:
    diff += ["harness/bench.py", "README.md"]
    worker = _worker()
    selection = gate._select(_args(), "0" * 40, worker)
    assert selection["timed"] and selection["canaries"] == list(CANARIES)
    assert _timed(registry, worker) == set(CANARIES)  # exactly the canary cells
    backends = {k.split("/")[1] for k in CANARIES}
    assert backends == {"numpy", "numba", "torch_cpu"}
    assert registry.suite(CANARY_ALGORITHM).state  # a stateful algorithm


def test_the_gate_with_all_times_every_cell(diff: list[str], registry: Registry) -> None:
    diff.append("implementations/nms_greedy/numpy_shrinking.py")
    worker = _worker()
    selection = gate._select(_args(all=True), "0" * 40, worker)
    assert selection["mode"] == "all" and selection["timed"]
    assert worker == _worker()  # untouched: every algorithm, as before
    assert _timed(registry, worker) == set(registry.implementations)
    worker = _worker() | {"algorithms": ["box_iou_axis_aligned"]}
    selection = gate._select(_args(algorithm=["box_iou_axis_aligned"]), "0" * 40, worker)
    assert selection["mode"] == "named" and worker["algorithms"] == ["box_iou_axis_aligned"]


def test_the_gate_times_nothing_for_a_docs_change(diff: list[str]) -> None:
    diff += ["README.md", "tests/test_gate.py", "reports/site.py"]
    worker = _worker()
    selection = gate._select(_args(), "0" * 40, worker)
    assert not selection["timed"] and selection["inert_paths"] == sorted(diff)
    worker = _worker() | {"backends": ["cupy"], "variants": ["no_such_variant"]}
    diff[:] = ["harness/bench.py"]
    selection = gate._select(_args(), "0" * 40, worker)
    assert not selection["timed"]  # -b/--variant leave no canary cell
    assert "nothing to time" in selection["why"][-1]


def test_all_needs_base() -> None:
    proc = shootout("gate", "--self-test", "--all")
    assert proc.returncode == 2 and "--all goes with --base" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_gate_on_a_docs_only_change_times_nothing(tmp_path: Path) -> None:
    """End to end in a copy of the project: a README edit is gated in seconds, exit 0."""
    repo = tmp_path / "project"
    tracked = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "README.md").write_text((repo / "README.md").read_text() + "\nA new line.\n")
    out = tmp_path / "gate.json"
    proc = subprocess.run(
        [sys.executable, "-m", "shootout", "gate", "--base", "HEAD", "--json-out", str(out)],
        cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["passed"] and result["cells"] == []
    assert result["selection"]["inert_paths"] == ["README.md"]
    assert "nothing to time" in proc.stdout and "README.md" in proc.stderr

"""End-to-end: an implementation cannot contaminate another's verdicts or timings, fake a
timing by caching its result, or exhaust the machine's memory, without the run saying so.

Every run goes through the command line in a subprocess, with throwaway plugins.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
IOU, L2 = "box_iou_axis_aligned", "pairwise_l2_distance"

COMMON = """
import os, subprocess, sys, threading, time
import numpy as np
from harness import implementation


def iou(a, b):
    iw = np.minimum(a[:, None, 2], b[:, 2]) - np.maximum(a[:, None, 0], b[:, 0])
    ih = np.minimum(a[:, None, 3], b[:, 3]) - np.maximum(a[:, None, 1], b[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union == 0, 0.0, inter / union).astype(a.dtype)


def box(variant):
    return implementation("box_iou_axis_aligned", "numpy", variant)
"""

VERIFY_PLUGIN = (
    COMMON
    + """

@box("a_sets_raise")
def sets_raise(boxes_a, boxes_b, opts):
    np.seterr(all="raise")
    os.chdir("/")
    os.environ["SHOOTOUT_TEST_DIRTY"] = "1"
    return iou(boxes_a, boxes_b)


@implementation("pairwise_l2_distance", "numpy", "victim")
def victim(a, b, opts):
    np.ones(1) / np.zeros(1)  # a harmless RuntimeWarning, unless someone made it raise
    d = ((a[:, None, :].astype(np.float64) - b[None, :, :]) ** 2).sum(-1)
    return (d if opts.squared else np.sqrt(d)).astype(a.dtype)


@implementation("pairwise_l2_distance", "numpy", "w_hog")  # after the victim, same worker
def hog(a, b, opts):
    held = np.ones(400 * 2**20 // 8)  # 400 MiB, touched
    time.sleep(60)
    return held
"""
)

BENCH_PLUGIN = (
    COMMON
    + """
from threadpoolctl import threadpool_limits

_CACHE = {}


@box("a_caches")
def caches(boxes_a, boxes_b, opts):
    key = (id(boxes_a), id(boxes_b))
    if key not in _CACHE:
        _CACHE[key] = iou(boxes_a, boxes_b)
    return _CACHE[key]


def spin():
    while True:
        sum(range(1000))


@box("b_leaves_things_running")
def leaves_things_running(boxes_a, boxes_b, opts):
    if not any(t.name == "spinner" for t in threading.enumerate()):
        threading.Thread(target=spin, name="spinner", daemon=True).start()
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{MARKER}"])
    return iou(boxes_a, boxes_b)


@box("c_fine")
def fine(boxes_a, boxes_b, opts):
    return iou(boxes_a, boxes_b)


@box("d_more_threads")
def more_threads(boxes_a, boxes_b, opts):
    threadpool_limits(limits=2, user_api="blas")
    return iou(boxes_a, boxes_b)
"""
)


def shootout(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shootout", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def by_cell(records: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["algorithm"], r["variant"]): r for r in records}


@pytest.mark.slow
def test_changed_state_is_restored_and_a_memory_blowup_costs_only_its_cell(
    tmp_path: Path,
) -> None:
    plugin = tmp_path / "dirty.py"
    plugin.write_text(VERIFY_PLUGIN)
    results = tmp_path / "verdicts.json"
    proc = shootout(
        "verify", "--plugin", str(plugin), "-a", IOU, "-a", L2, "-b", "numpy",
        "--variant", "a_sets_raise", "--variant", "victim", "--variant", "w_hog",
        "--case", "random_f32", "--cell-memory", "200M", "--cell-timeout", "30",
        "--results", str(results),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(results.read_text())
    assert data["complete"] is True
    cells = by_cell(data["verdicts"])
    # one plugin's np.seterr(all="raise") did not turn another algorithm's cell into an error
    victim = cells[L2, "victim"]
    assert (victim["status"], victim["detail"]) == ("pass", "")
    dirty = cells[IOU, "a_sets_raise"]
    assert dirty["status"] == "pass"
    assert dirty["warning"].startswith("changed and restored: numpy error state (np.seterr)")
    assert "working directory" in dirty["warning"]
    assert "SHOOTOUT_TEST_DIRTY set" in dirty["warning"]
    assert victim["warning"] == ""
    # the 400 MiB cell was stopped at 200M, recorded as its error, and the run went on
    hog = cells[L2, "w_hog"]
    assert hog["status"] == "error"
    assert hog["detail"].startswith("exceeded --cell-memory 200M: "), hog["detail"]
    assert "MiB resident above the worker's" in hog["detail"]
    assert isinstance(dirty["peak_rss_mb"], float) and isinstance(victim["peak_rss_mb"], float)
    assert f"WARN {IOU}/numpy/a_sets_raise (1 cell: random_f32): changed and restored" in (
        proc.stdout
    )


def processes_with(marker: str) -> list[int]:
    """Processes whose command line mentions ``marker`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_cached_results_leftovers_and_resized_pools_flag_their_timings(tmp_path: Path) -> None:
    marker = f"shootout-test-child-{os.getpid()}-{tmp_path.name}"
    plugin = tmp_path / "timing.py"
    plugin.write_text(BENCH_PLUGIN.replace("{MARKER}", marker))
    variants = ["a_caches", "b_leaves_things_running", "c_fine", "d_more_threads"]
    proc = shootout(
        "bench", "--plugin", str(plugin), "-a", IOU, "-b", "numpy",
        *(arg for v in variants for arg in ("--variant", v)),
        "--profile", "smoke", "--max-time", "0.05", "--results-dir", str(tmp_path / "results"),
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = (tmp_path / "results").glob("*.json")
    m = {r["variant"]: r for r in json.loads(path.read_text())["measurements"]}
    assert all(r["status"] == "ok" for r in m.values())
    # memoised on the inputs' identity: every timed call returned the first call's array
    assert "returned the memory of its first call's output again" in m["a_caches"]["flagged"]
    leaves = m["b_leaves_things_running"]
    assert "left 1 thread(s) running: 'spinner'" in leaves["warning"]
    assert "left 1 child process(es) running, killed: " in leaves["warning"]
    assert "a thread it started was still running after the cell" in leaves["flagged"]
    if Path("/proc").is_dir():
        assert processes_with(marker) == []  # the child was killed with its cell
    # the thread spins on: every later cell says it was slowed, none silently
    for later in ("c_fine", "d_more_threads"):
        assert "threads left running by an earlier cell" in m[later]["flagged"], m[later]
        assert f"{IOU}/numpy/b_leaves_things_running/bench_200" in m[later]["flagged"]
    # the pools it resized are recorded as they really were, and put back
    resized = m["d_more_threads"]
    assert resized["threads"]["blas"] == 2 and m["c_fine"]["threads"]["blas"] == 1
    assert "ran with openblas threads" in resized["flagged"]
    assert "-> 2" in resized["warning"]
    assert m["c_fine"]["warning"] == "" and "openblas" not in m["c_fine"]["flagged"]
    assert "FLAGGED" in proc.stdout and "left out of rankings and budgets" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("verify", "--cell-memory", "lots"), "'lots' is not a size (write it like 500M or 2G)"),
        (("bench", "--cell-memory", "0"), "must be a positive size, got '0'"),
    ],
)
def test_a_bad_memory_limit_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    proc = shootout(*args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"shootout: error: argument --cell-memory: {message}"
    ]

"""Tests of harness.hygiene: what a cell leaves behind is restored, recorded or flagged."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.hygiene import Findings, Hygiene, settle
from harness.memory import descendants

Records = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def records(status: str = "ok") -> Records:
    """One verdict and one measurement, as a cell appends them."""
    return [{"status": "pass"}], [{"status": status, "flagged": ""}]


def run_cell(hygiene: Hygiene, body: Any, status: str = "ok", pinned: int | None = None) -> Records:
    """Run ``body`` as one cell; the records it appended carry the findings."""
    verdicts: list[dict[str, Any]] = []
    measurements: list[dict[str, Any]] = []
    with hygiene.cell("a/numpy/v/c", verdicts, measurements, pinned):
        body()
        v, m = records(status)
        verdicts += v
        measurements += m
    return verdicts, measurements


def test_numpy_error_state_is_restored_and_named() -> None:
    before = np.geterr()
    verdicts, measurements = run_cell(Hygiene(), lambda: np.seterr(all="raise"))
    assert np.geterr() == before
    warning = verdicts[0]["warning"]
    assert warning.startswith("changed and restored: numpy error state (np.seterr): ")
    assert "over warn -> raise" in warning
    assert measurements[0]["warning"] == warning
    assert measurements[0]["flagged"] == ""  # restored state does not taint the timing


def test_settle_restores_inside_the_cell_before_the_comparison() -> None:
    inside: list[dict[str, str]] = []

    def body() -> None:
        np.seterr(divide="raise")
        settle()  # what verify and bench call right after the implementation's call
        inside.append(np.geterr())

    before = np.geterr()
    verdicts, _ = run_cell(Hygiene(), body)
    assert inside == [before]
    assert "divide warn -> raise" in verdicts[0]["warning"]


def test_working_directory_and_environment_are_restored(tmp_path: Path) -> None:
    cwd = os.getcwd()
    os.environ.pop("SHOOTOUT_TEST_DIRTY", None)

    def body() -> None:
        os.chdir(tmp_path)
        os.environ["SHOOTOUT_TEST_DIRTY"] = "1"

    try:
        verdicts, _ = run_cell(Hygiene(), body)
    finally:
        os.chdir(cwd)
        os.environ.pop("SHOOTOUT_TEST_DIRTY", None)
    assert os.getcwd() == cwd
    warning = verdicts[0]["warning"]
    assert f"working directory {cwd} -> {tmp_path}" in warning
    assert "environment variables: SHOOTOUT_TEST_DIRTY set" in warning


def test_a_library_configuring_the_environment_on_import_is_kept(tmp_path: Path) -> None:
    (tmp_path / "configures_itself.py").write_text(
        "import os\nos.environ['SHOOTOUT_TEST_LIBRARY'] = 'on'\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        verdicts, _ = run_cell(Hygiene(), lambda: __import__("configures_itself"))
        assert os.environ["SHOOTOUT_TEST_LIBRARY"] == "on"
        assert verdicts[0]["warning"] == ""
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("configures_itself", None)
        os.environ.pop("SHOOTOUT_TEST_LIBRARY", None)


def test_torch_settings_are_restored() -> None:
    torch = pytest.importorskip("torch")

    def body() -> None:
        torch.set_default_dtype(torch.float64)
        torch.set_grad_enabled(False)
        torch.use_deterministic_algorithms(True)

    verdicts, _ = run_cell(Hygiene(), body)
    assert torch.get_default_dtype() == torch.float32
    assert torch.is_grad_enabled() and not torch.are_deterministic_algorithms_enabled()
    warning = verdicts[0]["warning"]
    assert "torch default dtype torch.float32 -> torch.float64" in warning
    assert "torch grad mode True -> False" in warning
    assert "torch deterministic algorithms (False, False) -> (True, False)" in warning


def test_a_resized_thread_pool_is_put_back_recorded_and_flags_the_timing() -> None:
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    verdicts, measurements = run_cell(Hygiene(), lambda: torch.set_num_threads(threads + 1))
    assert torch.get_num_threads() == threads
    m = measurements[0]
    assert m["threads"]["torch"] == threads + 1  # what it really ran with, read back
    assert f"ran with torch threads {threads + 1} (the run's setting is {threads})" in m["flagged"]
    assert f"torch threads {threads} -> {threads + 1}" in verdicts[0]["warning"]
    _, clean = run_cell(Hygiene(), lambda: None)
    assert clean[0]["threads"]["torch"] == threads and clean[0]["flagged"] == ""


def test_a_flag_is_kept_off_records_that_were_not_timed() -> None:
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    _, measurements = run_cell(Hygiene(), lambda: torch.set_num_threads(threads + 1), status="skip")
    assert measurements[0]["flagged"] == ""


@pytest.fixture
def spinner() -> Iterator[threading.Event]:
    """A stop switch for the busy thread a test leaves running."""
    stop = threading.Event()
    yield stop
    stop.set()


def test_a_thread_left_running_flags_its_cell_and_later_cells_it_slows(
    spinner: threading.Event,
) -> None:
    def spin() -> None:
        while not spinner.is_set():
            sum(range(1000))

    hygiene = Hygiene()
    thread = threading.Thread(target=spin, name="spinner", daemon=True)
    verdicts, measurements = run_cell(hygiene, thread.start)
    assert verdicts[0]["warning"] == "left 1 thread(s) running: 'spinner'"
    assert measurements[0]["flagged"] == "a thread it started was still running after the cell"
    # The next cell runs while it spins: its timing is flagged too, never silently slowed.
    _, later = run_cell(hygiene, lambda: spinner.wait(1.0))
    assert later[0]["flagged"].startswith(
        "threads left running by an earlier cell (a/numpy/v/c) used"
    )
    spinner.set()
    thread.join()
    _, after = run_cell(hygiene, lambda: None)
    assert after[0]["flagged"] == ""
    assert hygiene.leftovers == []


def test_a_thread_that_finishes_with_its_cell_is_not_flagged() -> None:
    thread = threading.Thread(target=lambda: None)
    verdicts, measurements = run_cell(Hygiene(), thread.start)
    assert verdicts[0]["warning"] == "" and measurements[0]["flagged"] == ""


def test_child_processes_left_running_are_killed_and_named() -> None:
    started: list[subprocess.Popen[bytes]] = []

    def body() -> None:
        started.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))

    verdicts, measurements = run_cell(Hygiene(), body)
    (child,) = started
    assert child.pid not in descendants()
    with pytest.raises(ProcessLookupError):  # killed (and reaped), not left as a zombie
        os.kill(child.pid, 0)
    child.wait(timeout=10)  # its Popen learns it is gone (it was reaped by the harness)
    assert verdicts[0]["warning"].startswith(
        f"left 1 child process(es) running, killed: {child.pid}"
    )
    assert "a child process it started was still running" in measurements[0]["flagged"]


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux peak RSS only")
def test_each_cell_records_its_own_peak_resident_memory() -> None:
    hygiene = Hygiene()

    def allocate() -> None:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        del block

    verdicts, measurements = run_cell(hygiene, allocate)
    assert verdicts[0]["peak_rss_mb"] >= 60 and measurements[0]["peak_rss_mb"] >= 60
    # a later, small cell is not charged with the earlier peak
    _, small = run_cell(hygiene, lambda: None)
    assert small[0]["peak_rss_mb"] < 30
    assert small[0]["device_peak_mb"] is None  # no CUDA here: nothing measured, none started


def test_findings_join_what_the_cell_already_had() -> None:
    found = Findings(warnings=["w2"], flags=["f2"], threads={"torch": 1}, peak_rss_mb=1.5)
    verdicts = [{"warning": "w1"}]
    measurements = [{"status": "ok", "flagged": "f1"}, {"status": "error", "flagged": ""}]
    found.annotate(verdicts, measurements)
    assert verdicts[0]["warning"] == "w1; w2"
    assert measurements[0]["flagged"] == "f1; f2" and measurements[1]["flagged"] == ""
    assert measurements[0]["threads"] == {"torch": 1} and measurements[1]["peak_rss_mb"] == 1.5

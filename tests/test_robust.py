"""End-to-end: runs that survive implementations that crash, hang, or would blow their budget.

Every run goes through the command line in a subprocess, with small budgets (3 s) so that
the hanging and sleeping implementations cost seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALGO = "box_iou_axis_aligned"
SIGNATURE = "boxes_a, boxes_b, opts"

# One implementation per way of going wrong, all registered for the project's box IoU.
BROKEN = f'''
import asyncio, ctypes, os, threading, time
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


def broken(variant):
    return implementation("{ALGO}", backend="numpy", variant=variant)


@broken("fine")
def fine({SIGNATURE}):
    return iou(boxes_a, boxes_b)


@broken("raises")
def raises({SIGNATURE}):
    raise RuntimeError("boom")


@broken("wrong_shape")
def wrong_shape({SIGNATURE}):
    return iou(boxes_a, boxes_b).T


@broken("wrong_dtype")
def wrong_dtype({SIGNATURE}):
    return iou(boxes_a, boxes_b).astype(np.float64)


@broken("nan")
def nan({SIGNATURE}):
    return np.full((len(boxes_a), len(boxes_b)), np.nan, dtype=boxes_a.dtype)


@broken("segfault")
def segfault({SIGNATURE}):
    return ctypes.string_at(0)


@broken("exits")
def exits({SIGNATURE}):
    os._exit(3)


@broken("sys_exit")
def sys_exit({SIGNATURE}):
    raise SystemExit(4)


@broken("hangs")
def hangs({SIGNATURE}):
    while True:
        pass


@broken("slow")
def slow({SIGNATURE}):
    time.sleep(60)
    return iou(boxes_a, boxes_b)


@broken("sleepy")
def sleepy({SIGNATURE}):
    """Correct, but sleeps 1 us per box pair: 40 ms at n = m = 200, 1 s at 1000."""
    with open(os.environ["SHOOTOUT_TEST_CALLS"], "a") as log:
        log.write(f"{{len(boxes_a)}}\\n")
    time.sleep(1e-6 * len(boxes_a) * len(boxes_b))
    return iou(boxes_a, boxes_b)


@broken("crash_at_200")
def crash_at_200({SIGNATURE}):
    if len(boxes_a) == 200:
        os.kill(os.getpid(), 11)
    return iou(boxes_a, boxes_b)


@broken("cancelled")
def cancelled({SIGNATURE}):
    raise asyncio.CancelledError("cancelled by the implementation")


@broken("keyboard")
def keyboard({SIGNATURE}):
    raise KeyboardInterrupt  # raised, not a Ctrl-C: the cell's error, the run goes on


@broken("generator_exit")
def generator_exit({SIGNATURE}):
    raise GeneratorExit


CALLS = {{}}


def from_the_second_call(name, exc):
    """Pass verification (the first call), then raise ``exc`` once timing calls again."""
    CALLS[name] = CALLS.get(name, 0) + 1
    if CALLS[name] >= 2:
        raise exc


@broken("cancelled_later")
def cancelled_later({SIGNATURE}):
    from_the_second_call("cancelled_later", asyncio.CancelledError("cancelled while timed"))
    return iou(boxes_a, boxes_b)


@broken("keyboard_later")
def keyboard_later({SIGNATURE}):
    from_the_second_call("keyboard_later", KeyboardInterrupt("raised while timed"))
    return iou(boxes_a, boxes_b)


def after_the_cell(then):
    """Call ``then`` once this cell's end heartbeat is sent: between two cells."""
    import harness.supervise as supervise

    send = supervise.Link.send

    def send_then(self, **event):
        send(self, **event)
        if "end" in event:
            supervise.Link.send = send
            then()

    supervise.Link.send = send_then


@broken("thread_exits_0")
def thread_exits_0({SIGNATURE}):
    """A thread of its own ends the process with status 0 after the cell."""
    ended = threading.Event()
    threading.Thread(target=lambda: (ended.wait(), os._exit(0)), daemon=True).start()
    after_the_cell(lambda: (ended.set(), time.sleep(30)))
    return iou(boxes_a, boxes_b)


@broken("sys_exit_0_at_the_end")
def sys_exit_0_at_the_end({SIGNATURE}):
    """sys.exit(0) when the run is saved after the last cell, outside every cell."""
    from harness.pytest_plugin import State

    save = State.save

    def exit_instead(self, complete):
        if complete:
            raise SystemExit(0)
        save(self, complete)

    State.save = exit_instead
    return iou(boxes_a, boxes_b)


@broken("exits_at_next_start")
def exits_at_next_start({SIGNATURE}):
    """sys.exit(0) when the next cell is announced, before that cell's body runs."""
    import harness.supervise as supervise

    send = supervise.Link.send

    def exit_at_start(self, **event):
        if "start" in event:
            supervise.Link.send = send
            raise SystemExit(0)
        send(self, **event)

    supervise.Link.send = exit_at_start
    return iou(boxes_a, boxes_b)
'''


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    path = tmp_path / "broken_iou.py"
    path.write_text(BROKEN)
    return path


def shootout(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "shootout", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc, time.monotonic() - start


def line_of(text: str) -> int:
    """The line of the plugin file that holds ``text``."""
    return next(i for i, line in enumerate(BROKEN.splitlines(), 1) if text in line)


def by_variant(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {r["variant"]: r for r in records}
    assert len(out) == len(records), "a cell is recorded twice"
    return out


@pytest.mark.slow
def test_every_failure_stays_in_its_cell_and_the_run_completes(
    tmp_path: Path, plugin: Path, conforms: Callable[[Any], None]
) -> None:
    results = tmp_path / "verdicts.json"
    broken = ["raises", "wrong_shape", "wrong_dtype", "nan", "segfault", "exits", "sys_exit"]
    broken += ["hangs", "slow"]
    variants = [arg for v in ["xp", *broken] for arg in ("--variant", v)]
    proc, _ = shootout(
        "verify", "--plugin", str(plugin), "-a", ALGO, "-b", "numpy", *variants,
        "--case", "random_f32", "--cell-timeout", "3", "--cell-budget", "3",
        "--results", str(results),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # the hang and the 60 s sleep were cut short: their cells say so below (no wall-clock
    # bound here: a busy machine must not fail this test)
    data = json.loads(results.read_text())
    conforms(data)  # crashes, timeouts and escaped exceptions are recorded in the schema
    assert data["complete"] is True and "--shootout" not in data["command"]
    cells = by_variant(data["verdicts"])
    assert set(cells) == {"xp", *broken}
    status = {v: (c["status"], c["detail"]) for v, c in cells.items()}
    assert status["xp"] == ("pass", "")
    assert status["raises"] == ("error", "raised RuntimeError: boom")
    assert status["wrong_shape"] == ("fail", "output 'out' has shape (48, 64), expected (64, 48)")
    assert status["wrong_dtype"] == ("fail", "output 'out' has dtype float64, expected float32")
    assert status["nan"][0] == "fail" and "3072/3072 elements differ" in status["nan"][1]
    assert status["sys_exit"] == ("error", "raised SystemExit: 4")
    assert status["exits"] == ("error", "crashed: exited with status 3")
    assert status["segfault"] == (
        "error",
        "crashed: killed by SIGSEGV (signal 11) in segfault "
        f"(broken_iou.py, line {line_of('ctypes.string_at(0)')})",
    )
    # a bare loop may stop on either of its lines
    hang_lines = f"(?:{line_of('while True:')}|{line_of('while True:') + 1})"
    for variant, line in (("hangs", hang_lines), ("slow", line_of("time.sleep(60)"))):
        assert status[variant][0] == "error"
        found = re.fullmatch(
            rf"timed out after ([0-9.]+) s \(--cell-timeout 3 s\) in {variant} "
            rf"\(broken_iou.py, line {line}\)",
            status[variant][1],
        )
        # killed once past the timeout, never before (how long after depends on the load)
        assert found is not None and float(found[1]) >= 3, status[variant][1]
    out = proc.stdout
    assert "1 pass, 0 xfail, 0 skip, 3 fail, 6 error (10 cells)" in out
    assert f"ERROR {ALGO}/numpy/segfault on random_f32: crashed: killed by SIGSEGV" in out
    assert f"{ALGO}/numpy/hangs/random_f32: timed out after " in proc.stderr
    # the repro of a crash re-runs exactly that cell, and it crashes in its cell again
    repro = next(line for line in out.splitlines() if "re-run:" in line and "segfault" in line)
    again, _ = shootout(*repro.split("re-run: shootout ", 1)[1].split())
    assert again.returncode == 1 and "1 error (1 cells)" in again.stdout
    assert "crashed: killed by SIGSEGV (signal 11)" in again.stdout


@pytest.mark.slow
def test_bench_skips_what_it_predicts_over_budget_and_records_a_crash(
    tmp_path: Path, plugin: Path, conforms: Callable[[Any], None]
) -> None:
    calls = tmp_path / "calls.txt"
    proc, _ = shootout(
        "bench", "--plugin", str(plugin), "-a", ALGO, "-b", "numpy",
        "--variant", "sleepy", "--variant", "crash_at_200", "--profile", "quick",
        "--max-time", "0.05", "--cell-budget", "3", "--results-dir", str(tmp_path / "results"),
        cwd=tmp_path, env={"SHOOTOUT_TEST_CALLS": str(calls)},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # quick times bench_200 and the standard bench_2000; sleepy's bench_2000 would take ~4 s
    # a call: predicted over budget, it must never be called (behaviour, not a wall-clock
    # bound)
    assert set(calls.read_text().split()) == {"200"}
    (path,) = (tmp_path / "results").glob("*.json")
    data = json.loads(path.read_text())
    conforms(data)  # skips on a prediction and crashes in a bench are in the schema too
    assert data["complete"] is True
    for case in ("bench_200", "bench_2000"):
        assert set(by_variant([m for m in data["measurements"] if m["case"] == case])) == {
            "sleepy",
            "crash_at_200",
        }
        by_variant([v for v in data["verdicts"] if v["case"] == case])
    assert {m["case"] for m in data["measurements"]} == {"bench_200", "bench_2000"}
    m = {(r["variant"], r["case"]): r for r in data["measurements"]}
    v = {(r["variant"], r["case"]): r for r in data["verdicts"]}
    per_call = m["sleepy", "bench_200"]["median_s"]
    assert m["sleepy", "bench_200"]["status"] == "ok"
    skipped = m["sleepy", "bench_2000"]
    assert skipped["status"] == "skip" and v["sleepy", "bench_2000"]["detail"] == skipped["reason"]
    found = re.fullmatch(r"skipped: predicted ([0-9.]+) s > budget 3 s", skipped["reason"])
    assert found is not None, skipped["reason"]
    # 100 times the flops: the first call, one warm call, three rounds (the quick profile's
    # 0.5 s round budget holds fewer calls of that length), one call on fresh inputs
    assert float(found[1]) == pytest.approx((1 + 1 + 3 + 1) * 100 * per_call, rel=0.01)
    crashed = m["crash_at_200", "bench_200"]
    assert crashed["status"] == "error" and crashed["samples"] == []
    assert crashed["reason"].startswith("crashed: killed by SIGSEGV (signal 11) in crash_at_200")
    assert v["crash_at_200", "bench_200"]["status"] == "error"
    assert m["crash_at_200", "bench_2000"]["status"] == "ok"  # the run went on
    assert "skipped: predicted" in proc.stdout and "crashed: killed by SIGSEGV" in proc.stdout


def worker_processes(marker: str) -> list[int]:
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
def test_sigterm_stops_the_worker_and_keeps_what_was_recorded(tmp_path: Path, plugin: Path) -> None:
    results = tmp_path / "results"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "shootout", "bench", "--plugin", str(plugin), "-a", ALGO,
            "-b", "numpy", "--variant", "fine", "--variant", "hangs",
            "--profile", "smoke", "--max-time", "0.05", "--results-dir", str(results),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300  # a guard against a hang, not a bound on the run
    while time.monotonic() < deadline:  # until fine is recorded and hangs has begun
        files = list(results.glob("*.json"))
        if files and json.loads(files[0].read_text())["measurements"]:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=600)
    # stopped by the signal (status 130, "interrupted"), not by the 300 s cell timeout,
    # which would have recorded the hang and let the run complete (no wall-clock bound: a
    # busy machine must not fail this test)
    assert proc.returncode == 130, err
    assert "interrupted; partial results kept in" in err
    (path,) = results.glob("*.json")
    data = json.loads(path.read_text())
    assert data["complete"] is False
    assert [(m["variant"], m["status"]) for m in data["measurements"]] == [("fine", "ok")]
    assert not list(results.glob(".*.tmp"))
    if Path("/proc").is_dir():
        assert worker_processes(str(results)) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("verify", "--cell-budget", "-1"), "--cell-budget: must be a positive number"),
        (("verify", "--cell-timeout", "0"), "--cell-timeout: must be a positive number"),
        (("bench", "--cell-budget", "nan"), "--cell-budget: must be a positive number"),
        (("bench", "--cell-timeout", "soon"), "'soon' is not a number of seconds"),
        (("verify", "-a", ALGO, "--shootout-resume", "no/such.json"), "does not exist"),
        (("verify", "-a", ALGO, "--results", "README.md/out.json"), "README.md"),
        (("verify", "--cell-timeout", "-1"), "--cell-timeout: must be a positive number"),
        (("bench", "--cell-timeout", "nan"), "--cell-timeout: must be a positive number"),
        (("verify", "--cell-budget", "inf"), "--cell-budget: must be a positive number"),
        (("verify", "--fuzz", "-1"), "--fuzz: must be a whole number, 0 or more, got -1"),
        (("bench", "--max-time", "-1"), "--max-time: must be a positive number"),
        (("bench", "--max-time", "0"), "--max-time: must be a positive number"),
        (("bench", "--max-time", "nan"), "--max-time: must be a positive number"),
        (("bench", "--max-time", "inf"), "--max-time: must be a positive number"),
        (("gate", "--self-test", "--max-time", "nan"), "--max-time: must be a positive number"),
        (("gate", "--self-test", "--inject-factor", "nan"), "--inject-factor: must be"),
        (("gate", "--self-test", "--inject-factor", "0"), "--inject-factor: must be"),
        (("gate", "--self-test", "--inject-factor", "-2"), "--inject-factor: must be"),
        (("gate", "--self-test", "--inject-factor", "inf"), "--inject-factor: must be"),
    ],
)
def test_bad_budgets_are_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    proc, _ = shootout(*args)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
    assert "Traceback" not in proc.stderr


# ---- never a silent pass -------------------------------------------------------------------


def one_case(plugin: Path, results: Path, *variants: str) -> subprocess.CompletedProcess[str]:
    """``verify`` of these variants (and the project's xp) on one case, into ``results``."""
    chosen = [arg for v in ["xp", *variants] for arg in ("--variant", v)]
    proc, _ = shootout(
        "verify", "--plugin", str(plugin), "-a", ALGO, "-b", "numpy", *chosen,
        "--case", "random_f32", "--results", str(results),
    )  # fmt: skip
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["thread_exits_0", "sys_exit_0_at_the_end"])
def test_a_worker_that_exits_0_between_cells_fails_the_run(
    tmp_path: Path, plugin: Path, variant: str
) -> None:
    """The worker ends with status 0 outside any cell before the run is done: the cells not
    recorded yet are re-run or recorded as errors, never dropped, and the exit status is 1."""
    results = tmp_path / "verdicts.json"
    proc = one_case(plugin, results, variant)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "exited with status 0 between cells" in proc.stderr
    data = json.loads(results.read_text())
    assert data["complete"] is True
    assert set(by_variant(data["verdicts"])) == {"xp", variant}
    assert "(2 cells)" in proc.stdout


@pytest.mark.slow
def test_an_implementation_raising_any_base_exception_is_that_cells_error(
    tmp_path: Path, plugin: Path
) -> None:
    results = tmp_path / "verdicts.json"
    proc = one_case(plugin, results, "cancelled", "keyboard", "generator_exit")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    status = {v: (c["status"], c["detail"]) for v, c in by_variant(
        json.loads(results.read_text())["verdicts"]
    ).items()}  # fmt: skip
    assert status == {
        "xp": ("pass", ""),
        "cancelled": ("error", "raised CancelledError: cancelled by the implementation"),
        "keyboard": ("error", "raised KeyboardInterrupt"),
        "generator_exit": ("error", "raised GeneratorExit"),
    }


@pytest.mark.slow
def test_a_base_exception_while_timed_is_that_cells_error(tmp_path: Path, plugin: Path) -> None:
    proc, _ = shootout(
        "bench", "--plugin", str(plugin), "-a", ALGO, "-b", "numpy", "--variant", "fine",
        "--variant", "cancelled_later", "--variant", "keyboard_later", "--profile", "smoke",
        "--max-time", "0.05", "--results-dir", str(tmp_path / "results"),
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (path,) = (tmp_path / "results").glob("*.json")
    data = json.loads(path.read_text())
    assert data["complete"] is True
    m = by_variant(data["measurements"])
    assert m["fine"]["status"] == "ok"
    assert (m["cancelled_later"]["status"], m["cancelled_later"]["reason"]) == (
        "error",
        "raised CancelledError: cancelled while timed",
    )
    assert (m["keyboard_later"]["status"], m["keyboard_later"]["reason"]) == (
        "error",
        "raised KeyboardInterrupt: raised while timed",
    )


@pytest.mark.slow
def test_the_gate_worker_records_a_base_exception_as_the_cells_error(plugin: Path) -> None:
    config = {
        "threads": 1, "algorithms": [ALGO], "backends": ["numpy"],
        "variants": ["fine", "cancelled_later", "keyboard_later"], "plugins": [str(plugin)],
        "profile": "smoke", "standard_only": False, "max_time": 0.02, "min_rounds": 2,
    }  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "harness.gate.worker"],
        input=json.dumps(config) + "\n" + json.dumps({"op": "round"}) + "\n",
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    m = by_variant(answer["measurements"])
    assert m["fine"]["status"] == "ok"
    assert m["cancelled_later"]["status"] == m["keyboard_later"]["status"] == "error"
    assert m["keyboard_later"]["reason"] == "raised KeyboardInterrupt: raised while timed"
    assert sorted(answer["selected"]) == sorted(f"{ALGO}/numpy/{v}/bench_200" for v in m)


@pytest.mark.slow
def test_a_cell_that_ends_without_a_verdict_is_named_and_fails_the_run(
    tmp_path: Path, plugin: Path
) -> None:
    """exits_at_next_start raises SystemExit(0) as the next cell (xp) is announced, before
    its body runs: xp gets no verdict of its own; the completeness check names it."""
    results = tmp_path / "verdicts.json"
    proc = one_case(plugin, results, "exits_at_next_start")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{ALGO}/numpy/xp: random_f32" in proc.stderr
    cells = by_variant(json.loads(results.read_text())["verdicts"])
    assert set(cells) == {"xp", "exits_at_next_start"}
    assert cells["xp"]["status"] == "error" and "no verdict" in cells["xp"]["detail"]

"""End-to-end: a run owns its results file and its processes.

- a second run given the same ``--results`` file while the first writes it refuses (exit 2);
- a worker resuming after a crash continues only its own run, never another one's file;
- processes an implementation leaves running are killed at the end of its cell, even one
  that detached itself;
- SIGHUP (the terminal closed) stops the run like SIGTERM, and nothing of it survives.

Each run goes through the command line in a subprocess, like tests/test_robust.py.
"""

from __future__ import annotations

import json
import os
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
WAIT_S = 240  # for a worker to reach a cell on a busy machine (never reached when all is well)

PLUGIN = f'''
import json, os, subprocess, time
from pathlib import Path

from harness import implementation
from suites.box_iou_axis_aligned import box_iou_axis_aligned as oracle

LOG = Path(os.environ["SHOOTOUT_TEST_DIR"])


def right(a, b, opts):
    return oracle(a, b, opts).astype(a.dtype)


def variant(name):
    return implementation("{ALGO}", "numpy", name)


def alive(pid):
    try:
        state = Path(f"/proc/{{pid}}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@variant("a_spawns")
def a_spawns(boxes_a, boxes_b, opts):
    child = subprocess.Popen(["sleep", "1000"])
    (LOG / "child.pid").write_text(str(child.pid))
    # a grandchild whose parent exits at once: it detaches from this process
    subprocess.run(["sh", "-c", f"sleep 1000 & echo $! > {{LOG}}/grandchild.pid"], check=True)
    return right(boxes_a, boxes_b, opts)


@variant("b_checks")
def b_checks(boxes_a, boxes_b, opts):
    pids = [int((LOG / f"{{n}}.pid").read_text()) for n in ("child", "grandchild")]
    (LOG / "seen.json").write_text(json.dumps([alive(p) for p in pids]))
    return right(boxes_a, boxes_b, opts)


@variant("c_waits")
def c_waits(boxes_a, boxes_b, opts):
    (LOG / "waiting").write_text("")
    deadline = time.monotonic() + {WAIT_S}
    while not (LOG / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return right(boxes_a, boxes_b, opts)


@variant("hijack")
def hijack(boxes_a, boxes_b, opts):
    """Another run takes over the results file, then this worker crashes."""
    path = Path(os.environ["SHOOTOUT_TEST_RESULTS"])
    document = json.loads(path.read_text())
    document.update(run_id="someone-else", verdicts=[], measurements=[])
    path.write_text(json.dumps(document))
    os._exit(3)


@variant("hangs")
def hangs(boxes_a, boxes_b, opts):
    """Starts a program that ignores SIGINT and SIGTERM, then never returns."""
    child = subprocess.Popen(["sh", "-c", "trap '' INT TERM; exec sleep 1000"])
    (LOG / "hung.pid").write_text(str(child.pid))
    while True:
        time.sleep(0.05)
'''


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (a zombie's exit only awaits its parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def running_with(marker: str) -> list[int]:
    """Live processes whose command line mentions ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return [pid for pid in found if alive(pid)]


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc"),
]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    plugin = tmp_path / "owners.py"
    plugin.write_text(PLUGIN)
    log = tmp_path / "log"
    log.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHOOTOUT_TEST_DIR": str(log)}
    return plugin, env


def verify(plugin: Path, results: Path, *variants: str) -> list[str]:
    argv = [sys.executable, "-m", "shootout", "verify", "--plugin", str(plugin), "-a", ALGO]
    argv += ["-b", "numpy", "--case", "random_f32", "--results", str(results)]
    return argv + [arg for v in variants for arg in ("--variant", v)]


def wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_a_run_owns_its_results_file_and_kills_what_its_cells_leave_running(
    setup: tuple[Path, dict[str, str]], tmp_path: Path, conforms: Callable[[Any], None]
) -> None:
    plugin, env = setup
    log, results = tmp_path / "log", tmp_path / "out" / "verdicts.json"
    first = subprocess.Popen(
        verify(plugin, results, "a_spawns", "b_checks", "c_waits"),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        umask=0o022,
    )
    try:
        wait_for(log / "waiting", first)
        second = subprocess.run(
            verify(plugin, results, "b_checks"),
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT_S,
            check=False,
        )
        assert second.returncode == 2, second.stdout + second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        assert "is being written by another run" in second.stderr
    finally:
        (log / "go").write_text("")
        out, err = first.communicate(timeout=WAIT_S)
    assert first.returncode == 0, out + err
    document = json.loads(results.read_text())
    conforms(document)
    assert document["complete"] is True
    assert sorted(v["variant"] for v in document["verdicts"]) == ["a_spawns", "b_checks", "c_waits"]
    assert results.stat().st_mode & 0o777 == 0o644  # the user's umask, not 0600
    assert not list(results.parent.glob(".*"))  # no lock or temporary file left behind
    # provenance: the plugin's file, its hash, and dirty (it is in no git work tree)
    import hashlib

    sha = hashlib.sha256(plugin.read_bytes()).hexdigest()
    assert {
        k: (r["origin"], r["sha256"], r["dirty"]) for k, r in document["implementations"].items()
    } == {
        f"{ALGO}/numpy/{v}": (f"plugin:{plugin}", sha, True)
        for v in ("a_spawns", "b_checks", "c_waits")
    }
    assert document["git"]["dirty"] is True
    # the child and the detached grandchild were gone by the next cell, and stay gone
    assert json.loads((log / "seen.json").read_text()) == [False, False]
    for name in ("child", "grandchild"):
        assert not alive(int((log / f"{name}.pid").read_text())), name


def test_a_resumed_worker_continues_only_its_own_run(
    setup: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    plugin, env = setup
    results = tmp_path / "verdicts.json"
    proc = subprocess.run(
        verify(plugin, results, "hijack", "b_checks"),
        cwd=tmp_path,
        env={**env, "SHOOTOUT_TEST_RESULTS": str(results)},
        capture_output=True,
        text=True,
        timeout=2 * WAIT_S,
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "now holds another run (someone-else" in proc.stderr
    document = json.loads(results.read_text())
    # the other run's file is left as that run wrote it: nothing of this run merged in
    assert (document["run_id"], document["verdicts"]) == ("someone-else", [])


def test_sighup_stops_the_run_and_leaves_no_process_behind(
    setup: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    plugin, env = setup
    log, results = tmp_path / "log", tmp_path / "hup.json"
    # as from a terminal: SIGHUP not ignored, whatever this test process inherited
    default_hup = "import os, signal, sys; signal.signal(signal.SIGHUP, signal.SIG_DFL); "
    default_hup += "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
    proc = subprocess.Popen(
        [sys.executable, "-c", default_hup, *verify(plugin, results, "hangs")[1:]],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(log / "hung.pid", proc)
        time.sleep(0.3)
        proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    deadline = time.monotonic() + 10  # SIGKILLed processes vanish at once; allow a busy host
    while running_with(str(results)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running_with(str(results)) == []  # no worker survived
    assert not alive(int((log / "hung.pid").read_text()))  # nor what the cell started
    assert json.loads(results.read_text())["complete"] is False

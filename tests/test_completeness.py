"""Never a silent pass, in process: escaped exceptions are their cell's error, every run's
cells are all recorded, and the gate fails on a cell it lost. (End to end: test_robust.py.)"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from harness import escapes
from harness.complete import by_implementation, close
from harness.gate.run import GateRun, SideData, outcome
from harness.registry import Registry, load_registry
from harness.results import Run
from harness.selection import Cell
from harness.verify import verify
from harness.watch import CellError, Watch

ALGO = "box_iou_axis_aligned"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The worker's SIGINT handler installed, as in a supervised run, and no interrupt yet."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be installed from the main thread")
    monkeypatch.setattr(escapes, "_stopping", False)
    previous = signal.getsignal(signal.SIGINT)
    escapes.install()
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def cell(registry: Registry, impl: str = "numpy/xp", case: str = "random_f32") -> Cell:
    suite = registry.suite(ALGO)
    return Cell("verify", suite, registry.implementations[f"{ALGO}/{impl}"], suite.find_case(case))


def raising(exc: BaseException) -> Any:
    def fn(*args: Any) -> Any:
        raise exc

    return fn


def new_run() -> Run:
    return Run(command="test", profile=None, threads={})


def test_only_a_signal_delivered_keyboard_interrupt_stops_the_run(handler: None) -> None:
    assert not escapes.stops_the_run(KeyboardInterrupt())  # raised, e.g. by an implementation
    assert not escapes.stops_the_run(asyncio.CancelledError())
    assert not escapes.stops_the_run(SystemExit(0))
    with pytest.raises(KeyboardInterrupt) as caught:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the handler runs in this thread
        time.sleep(5)  # at the latest here
    assert escapes.stops_the_run(caught.value)
    assert escapes.stops_the_run(KeyboardInterrupt())  # once interrupted, any is


def test_without_the_handler_every_keyboard_interrupt_stops_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(escapes, "_stopping", False)
    monkeypatch.setattr(signal, "getsignal", lambda signum: signal.default_int_handler)
    assert escapes.stops_the_run(KeyboardInterrupt())  # plain pytest: as Python's own


@pytest.mark.parametrize(
    ("exc", "detail"),
    [
        (asyncio.CancelledError("stop"), "raised CancelledError: stop"),
        (GeneratorExit(), "raised GeneratorExit"),
        (KeyboardInterrupt(), "raised KeyboardInterrupt"),
        (SystemExit(0), "raised SystemExit: 0"),
    ],
)
def test_verify_makes_a_base_exception_the_cells_error(
    registry: Registry, handler: None, exc: BaseException, detail: str
) -> None:
    c = cell(registry)
    verdict = verify(c.suite, replace(c.impl, function=raising(exc)), c.case)  # type: ignore[arg-type]
    assert (verdict.status, verdict.detail) == ("error", detail)


def test_a_base_exception_escaping_a_cell_is_recorded_and_cannot_stop_pytest(
    registry: Registry, handler: None
) -> None:
    run, watch, c = new_run(), Watch(), cell(registry)
    with pytest.raises(CellError), watch.running(c, run):
        raise KeyboardInterrupt("raised by the implementation")
    with pytest.raises(CellError), watch.running(cell(registry, "python/loops"), run):
        pytest.exit("an implementation that ends the pytest session")
    with pytest.raises(asyncio.CancelledError), watch.running(cell(registry, "numba/prange"), run):
        raise asyncio.CancelledError  # pytest counts this one as the test's failure itself
    assert [(v["status"], v["detail"]) for v in run.verdicts] == [
        ("error", "raised KeyboardInterrupt: raised by the implementation"),
        ("error", "raised Exit: an implementation that ends the pytest session"),
        ("error", "raised CancelledError"),
    ]
    # an interrupt of the run goes through, unrecorded: the cell is re-run on resume
    escapes._stopping = True
    with pytest.raises(KeyboardInterrupt), watch.running(cell(registry, case="random_f64"), run):
        raise KeyboardInterrupt
    assert len(run.verdicts) == 3


def test_the_completeness_check_records_and_names_every_cell_left_out(
    registry: Registry,
) -> None:
    cases = [c.name for c in registry.suite(ALGO).cases[:3]]
    cells = [cell(registry, i, case) for i in ("numpy/xp", "python/loops") for case in cases]
    run = new_run()
    run.verdicts.append({**_verdict(cells[0]), "status": "pass"})
    assert close(run, cells[:1], "verify") == []
    lines = close(run, cells, "verify")
    assert lines[0].startswith(f"{len(cells) - 1} selected cell(s) ended without a result")
    assert lines[1:] == ["  " + line for line in by_implementation(c.id for c in cells[1:])]
    assert {_id(v) for v in run.verdicts} == {c.id for c in cells}
    assert close(run, cells, "verify") == []  # now complete


def test_the_completeness_check_names_cells_recorded_outside_the_selection(
    registry: Registry,
) -> None:
    chosen, other = cell(registry), cell(registry, case="random_f64")
    run = new_run()
    run.verdicts += [_verdict(chosen), _verdict(other)]
    assert close(run, [chosen], "verify") == [
        "1 cell(s) recorded that were not selected:",
        f"  {ALGO}/numpy/xp: random_f64",
    ]


def test_grouping_by_implementation() -> None:
    ids = ["a/numpy/x/c1", "a/numpy/x/c2", "b/torch_cpu/y/fuzz"]
    assert by_implementation(ids) == ["a/numpy/x: c1, c2", "b/torch_cpu/y: fuzz"]


def test_resuming_with_the_rest_lost_records_every_cell_left(registry: Registry) -> None:
    cells = [cell(registry), cell(registry, case="random_f64")]
    run = new_run()
    run.verdicts.append(_verdict(cells[0]))
    Watch().resume(run, cells, {"rest": "not run: the worker exited"})
    assert [(_id(v), v["status"], v["detail"]) for v in run.verdicts[1:]] == [
        (cells[1].id, "error", "not run: the worker exited")
    ]


def _verdict(c: Cell) -> dict[str, Any]:
    return {"algorithm": ALGO, "backend": c.impl.backend, "variant": c.impl.variant,
            "case": c.case.name if c.case else "fuzz", "status": "pass", "detail": ""}  # fmt: skip


def _id(v: dict[str, Any]) -> str:
    return f"{v['algorithm']}/{v['backend']}/{v['variant']}/{v['case']}"


# ---- the gate ------------------------------------------------------------------------------


def _m(variant: str, status: str = "ok", reason: str = "") -> dict[str, Any]:
    return {
        "algorithm": ALGO, "backend": "numpy", "variant": variant, "case": "bench_200",
        "status": status, "reason": reason, "samples": [1e-3, 1e-3] if status == "ok" else [],
    }  # fmt: skip


def _gate(candidate_rounds: list[dict[str, Any]]) -> dict[str, Any]:
    selected = [f"{ALGO}/numpy/{v}/bench_200" for v in ("a", "b")]
    base, cand = SideData(), SideData()
    for _ in range(2):
        base.add_round({"measurements": [_m("a"), _m("b")], "selected": selected})
    for answer in candidate_rounds:
        cand.add_round({**answer, "selected": selected})
    run = GateRun({"base": base, "candidate": cand}, {ALGO: "bench_200"}, rounds=2)
    return outcome(run, [], "base", "candidate", [])


def test_the_gate_passes_only_when_every_round_recorded_every_cell() -> None:
    whole = {"measurements": [_m("a"), _m("b")]}
    assert _gate([whole, whole])["passed"]
    lost = _gate([whole, {"measurements": [_m("a")]}])
    assert not lost["passed"]
    assert lost["reasons"] == ["1 selected cell(s) not recorded in every round"]
    assert lost["missing"] == [f"candidate: {ALGO}/numpy/b/bench_200 (in 1 round(s))"]


def test_a_cell_that_raised_while_timed_fails_the_gate() -> None:
    raised = {"measurements": [_m("a"), _m("b", "error", "raised CancelledError")]}
    result = _gate([raised, raised])
    assert not result["passed"]
    assert result["reasons"] == ["1 cell(s) raised while timed in the candidate"]
    assert result["timing_errors"] == {f"{ALGO}/numpy/b/bench_200": "raised CancelledError"}


# ---- the supervisor: a worker that ends between cells without saying it finished ------------

FAKE_WORKER = """
import json, os, sys
from harness.supervise import Link

mode, log, *rest = sys.argv[1:]
link = Link(int(rest[rest.index("--shootout-worker") + 1]))
with open(log, "a") as handle:
    handle.write(json.dumps(rest) + "\\n")
with open(log) as handle:
    number = len(handle.readlines())
results = os.path.join(os.path.dirname(log), "run.json")
records = {"progress": number, "stuck": 1}.get(mode.split("-")[0], 1)
with open(results, "w") as handle:
    json.dump({"verdicts": [{}] * records, "measurements": []}, handle)
link.send(results=results)
if "--shootout-lost" in rest and mode.endswith("-then-finish"):
    link.send(exit=1)
    sys.exit(1)
if number >= 2 and mode.endswith("-then-pass"):
    link.send(exit=0)
    sys.exit(0)
link.send(start="a/numpy/v/c", timeout=30)
link.send(end="a/numpy/v/c")
os._exit(0)
"""


def supervised(tmp_path: Any, mode: str) -> tuple[int, list[list[str]]]:
    import sys

    from harness.supervise import supervise

    log = tmp_path / "workers.log"
    code = supervise([mode, str(log)], True, [sys.executable, "-c", FAKE_WORKER])
    workers = [json.loads(line) for line in log.read_text().splitlines()]
    return code, [[a for a in w if not a.isdigit() and a != "--shootout-worker"] for w in workers]


def test_a_worker_ending_between_cells_is_followed_and_the_run_fails(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, workers = supervised(tmp_path, "progress-then-pass")
    assert code == 1  # the second worker passed everything: still not a pass
    assert workers == [[], ["--shootout-resume", str(tmp_path / "run.json")]]
    err = capsys.readouterr().err
    assert "the worker exited with status 0 between cells (after a/numpy/v/c)" in err
    assert "exit status 1: a worker ended between cells 1 time(s)" in err


def test_a_worker_that_records_nothing_new_has_the_rest_recorded_as_errors(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, workers = supervised(tmp_path, "stuck-then-finish")
    assert code == 1
    assert [w[:2] for w in workers] == [
        [],
        *[["--shootout-resume", str(tmp_path / "run.json")]] * 2,
    ]
    assert "--shootout-lost" not in workers[1]
    lost = json.loads(workers[2][workers[2].index("--shootout-lost") + 1])
    assert lost["rest"].startswith("not run: the worker exited with status 0 between cells")
    assert "again without recording a cell" in capsys.readouterr().err


def test_workers_that_keep_ending_between_cells_are_not_restarted_forever(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, workers = supervised(tmp_path, "stuck-forever")
    assert code == 1 and len(workers) == 3
    assert "the workers keep ending between cells" in capsys.readouterr().err

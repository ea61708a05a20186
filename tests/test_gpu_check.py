"""The GPU check (``python -m shootout.gpu_check``): its pieces with stand-ins, and its dry
run on this machine, which has no CUDA device, end to end in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.results import Run, load_results, machine_info
from shootout.gpu_check import check, cli, phases, probe, summary

ROOT = Path(__file__).resolve().parent.parent


def _args(*argv: str) -> Any:
    return cli.parser().parse_args(list(argv))


# ---- usage -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--budget", "0"], "--budget: must be a positive number, got 0"),
        (["--budget", "soon"], "'soon' is not a number"),
        (["-a", "no_such_thing"], "unknown algorithm 'no_such_thing'"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--l2-flush", "sometimes"], "invalid choice: 'sometimes'"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["--out", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_an_output_folder_in_use_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "old.txt").write_text("earlier run")
    assert cli.main(["--out", str(tmp_path)]) == 2
    assert "is not an empty folder" in capsys.readouterr().err


# ---- phases ----------------------------------------------------------------------------------


def test_a_phase_past_its_time_is_stopped_and_its_output_kept(tmp_path: Path) -> None:
    log = tmp_path / "slow.log"
    code = "import time; print('started', flush=True); time.sleep(60)"
    ended = phases.run([sys.executable, "-c", code], log=log, timeout=1.0, grace=5.0)
    # stopped by its signal, not by finishing its 60 s sleep (behaviour, not a wall-clock bound)
    assert ended.stopped == "deadline" and ended.returncode == -signal.SIGTERM
    assert "started" in log.read_text() and phases.tail(log).endswith("started")


def test_a_phase_is_stopped_at_once_when_poll_says_so(tmp_path: Path) -> None:
    code = "import time; time.sleep(60)"
    ended = phases.run(
        [sys.executable, "-c", code], log=tmp_path / "l", timeout=60, poll=lambda: "hung"
    )
    assert ended.stopped == "hung" and ended.returncode == -signal.SIGKILL
    done = phases.run([sys.executable, "-c", "raise SystemExit(3)"], log=tmp_path / "l", timeout=60)
    assert (done.returncode, done.stopped) == (3, "")


FAKE_TIMING_WORKER = """
import json, os, sys, time
from pathlib import Path
argv = sys.argv[1:]
out = Path(argv[argv.index("--out") + 1])
calls = out / "calls.jsonl"
with calls.open("a") as f:
    f.write(json.dumps(argv) + "\\n")
n = len(calls.read_text().splitlines())
marker = out / "phases" / "timing.current"
marker.parent.mkdir(parents=True, exist_ok=True)
if n == 1:  # dies inside a cell
    marker.write_text(json.dumps({"cell": "a/b/c/crash", "started": time.time()}))
    os._exit(3)
if n == 2:  # hangs inside a cell
    marker.write_text(json.dumps({"cell": "a/b/c/hang", "started": time.time() - 1000}))
    time.sleep(60)
"""


def test_the_timing_worker_is_restarted_past_a_crash_and_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "worker.py"
    script.write_text(FAKE_TIMING_WORKER)
    monkeypatch.setattr(check, "WORKER", (sys.executable, str(script)))
    out = tmp_path / "out"
    run = check.Check(_args("--out", str(out), "--budget", "200", "--cell-timeout", "5"))
    run.run_timing()
    calls = [json.loads(line) for line in (out / "calls.jsonl").read_text().splitlines()]
    assert len(calls) == 3 and "--lost" not in calls[0]

    def lost(argv: list[str]) -> tuple[str, str]:
        return argv[argv.index("--lost") + 1], argv[argv.index("--lost-detail") + 1]

    assert lost(calls[1]) == ("a/b/c/crash", "crashed: exited with status 3")
    assert lost(calls[2]) == ("a/b/c/hang", "timed out after 5 s (--cell-timeout)")
    (result,) = run.done
    assert result.status == "ok" and result.detail.startswith("2 cell(s) lost")
    assert not (out / "phases" / "timing.current").exists()


def test_missing_modules_are_installed_only_from_a_wheels_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = check.Check(_args("--out", str(tmp_path / "out"), "--wheels", str(tmp_path / "none")))
    run.probe = {"missing_required": ["array_api_compat"]}
    run.run_install()
    assert run.done[-1].status == "skipped" and "nothing is fetched" in run.done[-1].detail
    seen: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: Any) -> phases.Ended:
        seen.append(list(command))
        return phases.Ended(0, 0.1)

    monkeypatch.setattr(phases, "run", fake_run)
    (tmp_path / "wheels").mkdir()
    run = check.Check(_args("--out", str(tmp_path / "o2"), "--wheels", str(tmp_path / "wheels")))
    run.probe = {"missing_required": ["array_api_compat"]}
    run.run_install()
    pip = seen[0]
    assert pip[1:4] == ["-m", "pip", "install"] and "--no-index" in pip
    assert pip[-1] == "array-api-compat" and str(tmp_path / "wheels") in pip
    assert seen[1][seen[1].index("--phase") + 1] == "probe"  # probed again afterwards


def test_no_cuda_device_is_said_with_each_library_s_reason() -> None:
    record = probe.cuda_record({"torch": {"ok": True}, "cupy": {"ok": False}})
    assert record["available"] is False
    assert record["reason"].startswith("no CUDA device (")
    assert "torch: CUDA not available" in record["reason"]
    assert "cupy not importable" in record["reason"]


def test_either_torch_or_cupy_seeing_a_device_makes_cuda_available(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(probe, "_cupy_cuda", lambda: {"available": True, "device": "Fake"})
    monkeypatch.setattr(probe, "_torch_cuda", lambda: {"available": False, "reason": "no"})
    record = probe.cuda_record({"torch": {"ok": True}, "cupy": {"ok": True}})
    assert record["available"] is True and record["reason"] == ""
    assert record["cupy"]["device"] == "Fake"


def test_a_gpu_changes_the_machine_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = SimpleNamespace(
        cuda=SimpleNamespace(is_available=lambda: True, get_device_name=lambda i: "Fake H200")
    )
    plain = machine_info()
    monkeypatch.setitem(sys.modules, "torch", fake)
    with_gpu = machine_info()
    assert with_gpu["gpu"] == "Fake H200" and with_gpu["fingerprint"] != plain["fingerprint"]


# ---- the timing phase, on a pretend CUDA backend -----------------------------------------


@pytest.fixture
def pretend_cuda(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """torch_cuda cells run on CPU tensors, timed by a fake event clock and flushed by a fake
    L2 flush; the worker believes torch sees a device. Returns the log of flushes."""
    import dataclasses

    import harness.backends as backends
    import harness.ceilings as ceilings
    import harness.device_timing as device_timing
    from shootout.gpu_check import timing

    cpu = backends.BACKENDS["torch_cpu"]
    fake_cuda = dataclasses.replace(
        backends.BACKENDS["torch_cuda"], from_numpy=cpu.from_numpy, synchronize=lambda: None
    )
    monkeypatch.setitem(backends.BACKENDS, "torch_cuda", fake_cuda)
    monkeypatch.setitem(backends._PROBES, "torch_cuda", None)
    flushed: list[str] = []

    class Clock:
        name = "fake.cuda.Event"

        def start(self) -> None: ...

        def stop(self) -> float:
            return 0.1  # five rounds make the 0.5 s the phase asks for

    import harness.registry as registry

    real_reason = registry.module_reason  # a slow CPU reference (shapely at 2000²) is hidden
    monkeypatch.setattr(
        registry,
        "module_reason",
        lambda m: "hidden by the test" if m == "shapely" else real_reason(m),
    )

    def flush(library: str, module: Any) -> device_timing.L2Flush:
        return device_timing.L2Flush(None, lambda: flushed.append(library), 100)

    monkeypatch.setattr(device_timing, "clock_for", lambda library, module=None: Clock())
    monkeypatch.setattr(device_timing, "make_flush", flush)
    tf32 = SimpleNamespace(
        backends=SimpleNamespace(
            cuda=SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False)),
            cudnn=SimpleNamespace(allow_tf32=True),
        ),
        get_float32_matmul_precision=lambda: "highest",
    )
    monkeypatch.setattr(timing, "_gpu_module", lambda: ("torch", tf32))
    cuda = {"memory_gbps": 4000.0, "matmul_gflops": {"float32": 6e4}}
    monkeypatch.setattr(ceilings, "measure_ceilings", lambda b, effort: {"cuda": cuda})
    return flushed


def test_the_timing_phase_times_gpu_cells_with_events_and_flushes(
    tmp_path: Path, pretend_cuda: list[str]
) -> None:
    from shootout.gpu_check import timing

    results = tmp_path / "timing.json"
    argv = ["--phase", "timing", "--out", str(tmp_path), "--results", str(results)]
    args = _args(*argv, "-a", "box_iou_axis_aligned", "--deadline", str(time.time() + 600))
    assert timing.main(args) == 0
    doc = load_results(results)
    assert doc["complete"] and doc["profile"] == "standard"
    assert doc["ceilings"]["cuda"]["memory_gbps"] == 4000.0
    by_impl = {f"{m['backend']}/{m['variant']}": m for m in doc["measurements"]}
    devices = [m["device"] for m in doc["measurements"]]
    assert devices == sorted(devices, key=lambda d: d != "cuda")  # GPU cells first
    inplace = by_impl["torch_cuda/inplace"]
    assert inplace["status"] == "ok" and inplace["case"] == "bench_2000"
    assert inplace["samples"] == [0.1] * 5 and inplace["median_s"] == 0.1
    extra = doc["gpu_check"]
    cell = extra["cells"]["box_iou_axis_aligned/torch_cuda/inplace/bench_2000"]
    # box IoU: 12 flops per 4-byte output, far below the ridge of 15 flops/byte: flushed
    assert cell == {"clock": "fake.cuda.Event", "l2_flush": True, "rounds": 5, "cut_short": False}
    assert pretend_cuda == ["torch"] * 10  # before each round of the two torch_cuda cells
    assert extra["ridge_flops_per_byte"] == 15.0 and extra["tf32"]["cudnn.allow_tf32"] is True
    assert by_impl["cupy/elementwise"]["status"] == "skip"
    assert by_impl["library/shapely"]["reason"] == "library: hidden by the test"
    assert not timing.marker_path(tmp_path).exists()
    # a second worker, told a cell was lost, records it and runs nothing again
    lost = "box_iou_axis_aligned/cupy/xp/bench_2000"
    doc["measurements"] = [m for m in doc["measurements"] if m["variant"] != "xp"]
    results.write_text(json.dumps(doc))
    again = _args(*argv, "-a", "box_iou_axis_aligned", "--lost", lost, "--lost-detail", "boom")
    assert timing.main(again) == 0
    redo = {f"{m['backend']}/{m['variant']}": m for m in load_results(results)["measurements"]}
    assert redo["cupy/xp"]["status"] == "error" and redo["cupy/xp"]["reason"] == "boom"
    assert redo["torch_cuda/xp"]["status"] == "ok"  # timed by the second worker
    assert redo["torch_cuda/inplace"] == inplace  # kept, not re-run


# ---- the merged results and the summary ---------------------------------------------------


def _verdict(
    impl: str, case: str, status: str, kind: str = "regular", **extra: Any
) -> dict[str, Any]:
    algorithm, backend, variant = impl.split("/")
    return dict(
        algorithm=algorithm, backend=backend, variant=variant, case=case, case_kind=kind,
        status=status, detail=extra.get("detail", ""), repro=extra.get("repro", ""),
    )  # fmt: skip


def _measurement(impl: str, case: str, **fields: Any) -> dict[str, Any]:
    algorithm, backend, variant = impl.split("/")
    return dict(algorithm=algorithm, backend=backend, variant=variant, case=case, **fields)


def _write_doc(path: Path, verdicts: list[dict[str, Any]], **extra: Any) -> None:
    doc = Run(command="x", profile=None, threads={}).document(complete=True)
    doc.update(verdicts=verdicts, **extra)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def test_the_results_file_holds_timing_and_verify_verdicts_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    timed = _verdict("box/torch_cuda/inplace", "bench_1", "pass", "bench")
    measured = _measurement("box/torch_cuda/inplace", "bench_1", status="ok", median_s=1e-4)
    _write_doc(
        out / "phases" / "timing.json", [timed], measurements=[measured], gpu_check={"cells": {}}
    )
    verify = [_verdict("box/torch_cuda/inplace", "random", "pass"), timed]
    _write_doc(out / "phases" / "verify.json", verify)
    doc = check.Check(_args("--out", str(out))).merged_results()
    assert [v["case"] for v in doc["verdicts"]] == ["bench_1", "random"]
    assert doc["measurements"] == [measured] and doc["gpu_check"] == {"cells": {}}
    assert doc["command"].startswith("python -m shootout.gpu_check") and doc["complete"]
    assert doc["profile"] == "standard"


def test_without_any_phase_output_the_results_file_is_still_well_formed(tmp_path: Path) -> None:
    doc = check.Check(_args("--out", str(tmp_path), "--smoke")).merged_results()
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    loaded = load_results(path)
    assert loaded["verdicts"] == [] and loaded["profile"] == "smoke" and not loaded["complete"]


def _summary_inputs() -> dict[str, Any]:
    verdicts = [
        _verdict("box/torch_cuda/inplace", "random", "pass"),
        _verdict("box/torch_cuda/inplace", "edge", "pass"),
        _verdict("box/torch_cuda/inplace", "far", "fail", detail="3/9 differ", repro="shootout x"),
        _verdict("box/cupy/elementwise", "random", "skip", detail="cupy: no CUDA device"),
        _verdict("adam/library/torch_cuda_fused", "random", "pass"),
        _verdict("box/library/shapely", "bench_1", "pass", "bench"),
    ]
    measurements = [
        _measurement(
            "box/torch_cuda/inplace", "bench_1", status="ok", verdict="pass", median_s=1.5e-4,
            iqr_s=2e-6, rounds=40, gbps=812.0, gflops=95.2, device="cuda",
        ),
        _measurement(
            "box/cupy/elementwise", "bench_1", status="skip", reason="cupy: no CUDA device",
            device="cuda",
        ),
        _measurement("box/library/shapely", "bench_1", status="ok", median_s=2.0, device="cpu"),
    ]  # fmt: skip
    cells = {"box/torch_cuda/inplace/bench_1": {"clock": "torch.cuda.Event", "l2_flush": True}}
    results = {
        "verdicts": verdicts,
        "measurements": measurements,
        "ceilings": {"cuda": {"memory_gbps": 4100.0, "matmul_gflops": {"bfloat16": 7e5}}},
        "gpu_check": {"cells": cells, "tf32": {"cuda.matmul.allow_tf32": False}},
    }
    probe_record = {
        "cuda": {"available": True, "reason": "", "torch": {"device": "NVIDIA H200"}},
        "modules": {"torch": {"ok": True, "version": "2.6"}, "cupy": {"ok": False, "error": "x"}},
        "cells": [{"impl": "adam/library/torch_cuda_fused", "backend": "library", "reason": ""}],
    }
    manifest = {
        "fixtures": [{"op": "torchvision.ops.nms", "bytes": 2048}],
        "failed": [{"op": "torchvision.ops.roi_pool", "reason": "RuntimeError: no kernel"}],
        "skipped": [],
    }
    phase_rows = [{"name": "verify", "status": "ok", "seconds": 12.0, "detail": ""}]
    meta = {"created": "now", "budget_s": 480, "elapsed_s": 300, "exit_status": 1, "files": []}
    return dict(
        meta=meta, probe=probe_record, phases=phase_rows, results=results, manifest=manifest
    )


def test_the_summary_says_which_gpu_cells_passed_failed_or_skipped_with_their_times() -> None:
    record = summary.build(**_summary_inputs())
    rows = {r["impl"]: r for r in record["gpu_implementations"]}
    assert set(rows) == {
        "adam/library/torch_cuda_fused",
        "box/cupy/elementwise",
        "box/torch_cuda/inplace",
    }
    inplace = rows["box/torch_cuda/inplace"]
    assert inplace["verify"] == {"pass": 2, "xfail": 0, "skip": 0, "fail": 1, "error": 0}
    assert inplace["failures"][0]["repro"] == "shootout x"
    assert inplace["standard"]["median_s"] == 1.5e-4 and inplace["standard"]["l2_flush"] is True
    assert [r["impl"] for r in record["library_references"]] == ["box/library/shapely"]
    # 2 + 1 (pass: adam, timed inplace) pass; 1 fail; 1 + 1 skip (cupy verify and timing)
    assert record["gpu_cells"] == {"pass": 4, "xfail": 0, "skip": 2, "fail": 1, "error": 0}
    assert record["fixtures"]["written"] == 1 and record["fixtures"]["bytes"] == 2048
    text = summary.markdown(record)
    assert text.startswith("# GPU check: NVIDIA H200")
    assert "| box/torch_cuda/inplace | 2 | 0 | 0 | 1 | 0 | bench_1 | 150 µs | 2 µs | 40 |" in text
    assert "| yes | torch.cuda.Event |" in text
    assert "| box/cupy/elementwise | 0 | 0 | 1 | 0 | 0 | bench_1 | cupy: no CUDA device |" in text
    assert "`box/torch_cuda/inplace` on `far`: fail: 3/9 differ" in text
    assert "| box/library/shapely | bench_1 | 2 s |" in text
    assert "cuda: 4.1e+03 GB/s; GFLOP/s: bfloat16 7e+05" in text
    assert "torchvision.ops.roi_pool" in text and "RuntimeError: no kernel" in text


# ---- the dry run on this machine --------------------------------------------------------------


def _cuda_here() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(_cuda_here(), reason="this machine has a CUDA device: not a dry run")
def test_the_dry_run_without_a_cuda_device_reports_it_and_exits_0(tmp_path: Path) -> None:
    out, archive = tmp_path / "check", tmp_path / "check.tar.gz"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = ["--out", str(out), "--budget", "900", "--smoke", "-a", "box_iou_axis_aligned"]
    proc = subprocess.run(
        [sys.executable, "-m", "shootout.gpu_check", *argv, "--tar", str(archive)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((out / "summary.json").read_text())
    assert record["cuda"]["available"] is False
    assert record["cuda"]["reason"].startswith("no CUDA device")
    assert [p["status"] for p in record["phases"]] == ["ok"] * 4, record["phases"]
    assert record["importable"]["torchvision"].startswith("no:")
    # every GPU cell is there, skipped with the reason
    rows = record["gpu_implementations"]
    assert {r["impl"].split("/")[1] for r in rows} == {"torch_cuda", "cupy"}
    assert all(r["verify"]["skip"] > 0 and not r["verify"]["pass"] for r in rows)
    assert record["gpu_cells"]["pass"] == 0 and record["gpu_cells"]["fail"] == 0
    assert all("no CUDA device" in r["standard"]["reason"] for r in rows)
    # a results file in the report's format, beside the CPU machine's
    results = load_results(out / record["results_file"])
    assert results["verdicts"] and results["measurements"]
    assert {m["status"] for m in results["measurements"]} == {"skip"}
    from reports.frames import load_frames

    frames = load_frames([ROOT / "tests" / "fixtures" / "results_small.json", out / "results"])
    # two runs side by side (two machines, unless the fixture was recorded on one like this)
    assert frames.runs["run_id"].nunique() == 2
    assert results["machine"]["fingerprint"] in set(frames.runs["machine"])
    # the manifest says why there are no torchvision fixtures
    manifest = json.loads((out / "fixtures" / "manifest.json").read_text())
    # fixtures only from sources installed here (torchmetrics may be), none from torchvision
    assert not [f for f in manifest["fixtures"] if f["file"].startswith("torchvision")]
    assert "torchvision not installed" in {s["reason"] for s in manifest["skipped"]}
    text = (out / "summary.md").read_text()
    assert text.startswith("# GPU check: no CUDA device")
    with tarfile.open(archive) as tar:
        assert f"{out.name}/summary.md" in tar.getnames()

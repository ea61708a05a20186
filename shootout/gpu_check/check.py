"""The GPU check's run: phases in order, each in its own process and
inside its share of one time budget, then the merged results file, the summary and
(optionally) one archive of the whole output folder.

Phases: probe (what is importable, which device), install (only wheels shipped in a
folder, only when a module the check needs is missing), fixtures (golden fixtures from the
real libraries), verify (``shootout verify`` on the torch_cuda and CuPy cells, supervised
as usual), timing (ceilings, then the standard case of every torch_cuda, CuPy and library
implementation, restarted after a crash or a hung cell). Without a CUDA device every phase
still runs: the GPU cells are recorded as skipped with the reason, and the exit status is 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shootout.gpu_check import phases
from shootout.gpu_check.phases import PhaseResult
from shootout.usage import COMMAND

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BUDGET_S = 480.0
RESERVE_S = 15.0  # kept back for the merge, the summary and the archive
MAX_RESTARTS = 5  # timing workers started again after a crash or a hung cell
WORKER = (sys.executable, "-m", "shootout.gpu_check")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class Check:
    """One run of the check: the folder, the clock and what each phase left."""

    args: argparse.Namespace
    start: float = field(default_factory=time.time)
    done: list[PhaseResult] = field(default_factory=list)
    probe: dict[str, Any] = field(default_factory=dict)

    @property
    def out(self) -> Path:
        out: Path = self.args.out
        return out

    @property
    def deadline(self) -> float:
        return self.start + float(self.args.budget)

    def left(self) -> float:
        return self.deadline - RESERVE_S - time.time()

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        return env

    def log(self, name: str) -> Path:
        return self.out / "logs" / f"{name}.log"

    def say(self, text: str) -> None:
        print(f"gpu_check [{time.time() - self.start:5.0f} s] {text}", file=sys.stderr, flush=True)

    def worker(self, phase: str, *extra: str, deadline: float | None = None) -> list[str]:
        cmd = [*WORKER, "--phase", phase, "--out", str(self.out), "--threads"]
        cmd += [str(self.args.threads), "--l2-flush", self.args.l2_flush]
        cmd += ["--deadline", repr(deadline if deadline is not None else self.deadline)]
        return [*cmd, *self._algorithms(), *(["--smoke"] if self.args.smoke else []), *extra]

    def phase(self, name: str, command: list[str], share: float, cap: float) -> PhaseResult:
        """Run one phase with ``share`` of the time left (at most ``cap`` seconds)."""
        timeout = min(cap, self.left() * share)
        if timeout < 5:
            result = PhaseResult(name, "skipped", detail="the time budget is spent")
        else:
            self.say(f"{name} (up to {timeout:.0f} s)")
            ended = phases.run(
                command, log=self.log(name), timeout=timeout, env=self.env(), cwd=ROOT
            )
            result = self._ended(name, ended, ok_codes=(0,))
        self.done.append(result)
        return result

    def _ended(self, name: str, ended: phases.Ended, ok_codes: tuple[int, ...]) -> PhaseResult:
        if ended.stopped == "deadline":
            status, detail = "timed out", f"stopped after {ended.seconds:.0f} s (its share)"
        elif ended.returncode in ok_codes:
            status, detail = "ok", ""
        else:
            status = "failed"
            detail = f"exit {ended.returncode}: {phases.tail(self.log(name))}"
        return PhaseResult(name, status, round(ended.seconds, 1), ended.returncode, detail)

    # ---- phases ----------------------------------------------------------------------------

    def run_probe(self) -> None:
        self.phase("probe", self.worker("probe"), share=0.2, cap=120)
        self.probe = _read_json(self.out / "phases" / "probe.json")

    def run_install(self) -> None:
        from shootout.gpu_check.probe import MODULES

        missing = self.probe.get("missing_required", [])
        if not missing:
            return
        wheels: Path = self.args.wheels
        if not wheels.is_dir():
            reason = f"missing {', '.join(missing)}; no wheels folder {wheels} to install from"
            self.done.append(
                PhaseResult("install", "skipped", detail=reason + " (nothing is fetched)")
            )
            return
        dists = [MODULES[m][0] for m in missing]
        pip = [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheels)]
        self.phase("install", [*pip, *dists], share=0.3, cap=180)
        self.run_probe()

    def run_fixtures(self) -> None:
        timeout = min(120.0, self.left() * 0.25)
        command = self.worker("fixtures", deadline=time.time() + max(timeout - 10, 1))
        self.phase("fixtures", command, share=0.25, cap=120)

    def run_verify(self) -> None:
        """``shootout verify`` on the torch_cuda and CuPy cells, then on libraries fed CUDA
        arrays (a separate run: a backend and variant selection is a product)."""
        runs = [("verify", ["-b", "torch_cuda", "-b", "cupy", *self._algorithms()])]
        cuda_library = [c for c in self._selected_cells() if c["backend"] == "library"]
        if cuda_library and self.probe.get("cuda", {}).get("available"):
            select = ["-b", "library"]
            for c in cuda_library:
                select += ["-a", c["algorithm"], "--variant", c["variant"]]
            runs.append(("verify_library", select))
        for i, (name, select) in enumerate(runs):
            timeout = min(600.0, self.left() * (0.45 if i == 0 else 0.3))
            results = self.out / "phases" / f"{name}.json"
            command = [*COMMAND, "verify", *select, "--results", str(results)]
            command += ["--threads", str(self.args.threads)]
            command += ["--cell-timeout", f"{self.args.cell_timeout:g}"]
            if timeout < 5:
                self.done.append(PhaseResult(name, "skipped", detail="the time budget is spent"))
                continue
            self.say(f"{name} (up to {timeout:.0f} s)")
            ended = phases.run(
                command, log=self.log(name), timeout=timeout, env=self.env(), cwd=ROOT
            )
            result = self._ended(name, ended, ok_codes=(0, 1))
            if ended.returncode == 1 and result.status == "ok":
                result.detail = "disagreements found (see the failures)"
            self.done.append(result)

    def _algorithms(self) -> list[str]:
        return [arg for a in self.args.algorithm for arg in ("-a", a)]

    def run_timing(self) -> None:
        """The timing worker, started again after a crash or a hung cell (the lost cell is
        recorded by the next worker) until every cell is recorded or the time is spent."""
        from harness.supervise import crash_detail
        from shootout.gpu_check.timing import marker_path

        results = self.out / "phases" / "timing.json"
        marker = marker_path(self.out)
        limit = float(self.args.cell_timeout)

        def hung() -> str | None:
            started = _read_json(marker).get("started")
            if isinstance(started, float | int) and time.time() - started > limit:
                return f"timed out after {limit:g} s (--cell-timeout)"
            return None

        lost: list[str] = []
        total, restarts = 0.0, 0
        while True:
            timeout = self.left()
            if timeout < 10:
                result = PhaseResult(
                    "timing", "timed out", total, detail="the time budget is spent"
                )
                break
            soft = time.time() + timeout - phases.GRACE_S
            command = self.worker("timing", "--results", str(results), *lost, deadline=soft)
            self.say(f"timing (up to {timeout:.0f} s)")
            ended = phases.run(
                command,
                log=self.log("timing"),
                timeout=timeout,
                env=self.env(),
                cwd=ROOT,
                poll=hung,
            )
            total += ended.seconds
            result = self._ended("timing", ended, ok_codes=(0,))
            result.seconds = round(total, 1)
            cell = _read_json(marker).get("cell")
            marker.unlink(missing_ok=True)
            if result.status == "ok" or ended.stopped == "deadline" or not cell:
                break
            restarts += 1
            if restarts > MAX_RESTARTS:
                result.detail = f"gave up after {MAX_RESTARTS} restarts; {result.detail}"
                break
            why = ended.stopped or crash_detail(ended.returncode or 0)
            self.say(f"timing: {cell} {why}; continuing without it")
            lost = ["--lost", str(cell), "--lost-detail", why]
        if restarts and result.status == "ok":
            result.detail = f"{restarts} cell(s) lost to a crash or a hang, recorded as errors"
        self.done.append(result)

    # ---- the end ---------------------------------------------------------------------------

    def merged_results(self) -> dict[str, Any]:
        """The timing run's results file with the verify runs' verdicts added: one file in
        the format of ``shootout bench``, for ``shootout report`` beside the CPU machine's."""
        from harness.results import Run

        timing = _read_json(self.out / "phases" / "timing.json")
        verifies = [
            _read_json(self.out / "phases" / f"{name}.json")
            for name in ("verify", "verify_library")
        ]
        verifies = [v for v in verifies if v.get("verdicts") is not None]
        profile = "smoke" if self.args.smoke else "standard"
        base = timing or (verifies[0] if verifies else {})
        if not base:
            base = Run(command="", profile=profile, threads={}).document(False)
        doc = dict(base)
        argv = getattr(self.args, "argv", [])
        doc.update(command=" ".join(["python -m shootout.gpu_check", *argv]))
        doc.update(profile=profile, measurements=list(doc.get("measurements") or []))
        doc["ceilings"] = doc.get("ceilings") or {}
        verdicts = list(doc.get("verdicts") or [])
        seen = {_verdict_key(v) for v in verdicts}
        for extra in verifies:
            verdicts += [v for v in extra["verdicts"] if _verdict_key(v) not in seen]
        doc["verdicts"] = verdicts
        doc["complete"] = all(d.get("complete", False) for d in [base, *verifies])
        return doc

    def _selected_cells(self) -> list[dict[str, Any]]:
        """The probe's GPU implementations of the algorithms ``-a`` selected (all without)."""
        cells = self.probe.get("cells")
        if not isinstance(cells, list):
            return []
        wanted = set(self.args.algorithm)
        return [c for c in cells if not wanted or c["algorithm"].split(".")[0] in wanted]

    def _files(self) -> list[str]:
        return sorted(str(p.relative_to(self.out)) for p in self.out.rglob("*") if p.is_file())

    def run(self) -> int:
        from harness.results import Run, write_atomic
        from shootout.gpu_check import summary

        self.out.mkdir(parents=True, exist_ok=True)
        self.say(f"output in {self.out}, budget {self.args.budget:g} s")
        self.run_probe()
        self.run_install()
        cuda = self.probe.get("cuda", {})
        self.say("CUDA: " + (cuda.get("torch", {}).get("device") or "available")
                 if cuda.get("available") else str(cuda.get("reason") or "not probed"))  # fmt: skip
        self.run_fixtures()
        self.run_verify()
        self.run_timing()
        doc = self.merged_results()
        path = Run.from_document(doc).default_path(self.out / "results")
        write_atomic(path, json.dumps(doc, indent=1, allow_nan=True, default=str))
        bad = any(v.get("status") in ("fail", "error") for v in doc["verdicts"])
        broken = any(p.status == "failed" for p in self.done)
        code = 1 if bad or broken else 0
        meta = {
            "created": dt.datetime.fromtimestamp(self.start, dt.UTC).isoformat(timespec="seconds"),
            "command": doc["command"],
            "commit": (doc.get("git") or {}).get("commit"),
            "budget_s": self.args.budget,
            "elapsed_s": round(time.time() - self.start, 1),
            "exit_status": code,
            "smoke": self.args.smoke,
            "l2_flush": self.args.l2_flush,
            "results_file": str(path.relative_to(self.out)),
            "files": [*self._files(), "summary.json", "summary.md"],
        }
        record = summary.build(
            meta=meta,
            probe={**self.probe, "cells": self._selected_cells()},
            phases=[p.as_dict() for p in self.done],
            results=doc,
            manifest=_read_json(self.out / "fixtures" / "manifest.json") or None,
        )
        write_atomic(self.out / "summary.json", json.dumps(record, indent=1, default=str))
        write_atomic(self.out / "summary.md", summary.markdown(record))
        counts = record["gpu_cells"]
        self.say("GPU cells: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        self.say(f"summary: {self.out / 'summary.md'}; results: {path}")
        if self.args.tar is not None:
            self.args.tar.parent.mkdir(parents=True, exist_ok=True)
            with tarfile.open(self.args.tar, "w:gz") as tar:
                tar.add(self.out, arcname=self.out.name)
            self.say(f"archive: {self.args.tar}")
        return code


def _verdict_key(v: dict[str, Any]) -> tuple[Any, ...]:
    return (v.get("algorithm"), v.get("backend"), v.get("variant"), v.get("case"))

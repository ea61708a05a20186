"""Running the gate: export the base tree, verify both sides, then interleave rounds.

Both sides are measured by the candidate's code (its ``harness/``, and the command line
that verifies, are copied over the exported base), so a change in timing code cannot pose
as a change in speed; what differs between the sides is the suites and implementations.
Rounds alternate A B, B A, A B, ... so slow drift and any first/second-position effect
fall on both sides equally, and every round of every side is a fresh worker process, so
that what one process happens to get (memory layout, JIT code placement) varies between
rounds instead of biasing a side.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.gate import GateError
from harness.gate.verdict import (
    Budget,
    CellResult,
    GateConfig,
    check_budgets,
    compare_cell,
    judge,
)
from harness.progress import QUIET_ENV, Progress

ROOT = Path(__file__).resolve().parent.parent.parent
# Environment variables the gate's own subprocesses must not see.
INNER_ONLY = ("PYTEST_XDIST", "GITHUB_STEP_SUMMARY")
#: The three sides of a self-test: A, A again (nothing changed), A with one slowdown.
SELF_TEST_SIDES = ("A", "A again", "A slowed")


def resolve_ref(ref: str, repo: Path = ROOT) -> str:
    """The commit a ref names; GateError (one line) when git does not know it."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GateError(f"cannot run git to resolve {ref!r}: {exc}") from None
    if out.returncode != 0 or not out.stdout.strip():
        raise GateError(f"unknown git ref {ref!r}: no such commit in this repository")
    return out.stdout.strip()


def export_tree(
    commit: str, dest: Path, carry: Sequence[str] = ("harness",), repo: Path = ROOT
) -> Path:
    """The committed tree of ``commit`` in ``dest``, with this checkout's ``carry`` packages
    (the code that measures) in place of its own."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=repo, capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise GateError(f"git archive {commit[:12]} failed: {archive.stderr.decode().strip()}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    for package in carry:
        shutil.rmtree(dest / package, ignore_errors=True)
        shutil.copytree(
            ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return dest


class Worker:
    """One ``harness.gate.worker`` process on one tree."""

    def __init__(self, name: str, tree: Path, config: dict[str, Any]) -> None:
        self.name = name
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
        env = {k: v for k, v in env.items() if not k.startswith("PYTEST_XDIST")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness.gate.worker"],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.send(config)

    def send(self, payload: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(payload) + "\n")
        self.proc.stdin.flush()

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.send(payload)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            stderr = self.proc.stderr.read() if self.proc.stderr else ""
            tail = " | ".join(stderr.strip().splitlines()[-3:])
            raise GateError(f"the {self.name} worker stopped (exit {self.proc.returncode}): {tail}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise GateError(f"the {self.name} worker: {answer['error']}")
        return answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class SideData:
    """Per cell: the raw samples of each round, and the verdicts of this side.

    ``errors``: cells that raised while timed; ``missing``: cells a round selected but did
    not record, with the number of such rounds. Either fails the gate (``outcome``).
    """

    samples: dict[str, list[list[float]]] = field(default_factory=lambda: defaultdict(list))
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)

    def add_round(self, answer: dict[str, Any]) -> None:
        recorded = set()
        for m in answer["measurements"]:
            key = f"{m['algorithm']}/{m['backend']}/{m['variant']}/{m['case']}"
            recorded.add(key)
            # a timing flagged in any round stays flagged (its budgets are not checked)
            flagged = (self.meta.get(key) or {}).get("flagged") or m.get("flagged") or ""
            self.meta[key] = {**m, "flagged": flagged}
            if m["status"] == "ok" and m["samples"]:
                self.samples[key].append([float(x) for x in m["samples"]])
            else:
                self.skipped[key] = f"{m['status']}: {m['reason']}"
                if m["status"] == "error":
                    self.errors[key] = m["reason"]
        for key in answer.get("selected", ()):  # the round's completeness check
            if key not in recorded:
                self.missing[key] = self.missing.get(key, 0) + 1


@dataclass
class GateRun:
    """Everything one gate invocation measured (sides by name: base, candidate, ...)."""

    sides: dict[str, SideData]
    standard: dict[str, str]
    rounds: int
    seconds: float = 0.0


def verify_tree(
    name: str, tree: Path, config: dict[str, Any], command: Sequence[str]
) -> list[dict[str, Any]]:
    """Every case of the selection on one tree, by ``COMMAND verify`` in a subprocess.

    ``command`` starts the command line (``python -m shootout``), which isolates each
    cell, so an implementation that crashes or hangs comes back as an error verdict
    instead of taking the gate down with it.
    """
    with tempfile.TemporaryDirectory(prefix="opshootout-gate-verify-") as tmp:
        out = Path(tmp) / "verdicts.json"
        argv = [*command, "verify", "--results", str(out)]
        argv += ["--threads", str(config["threads"])]
        for flag, key in (("-a", "algorithms"), ("-b", "backends"), ("--variant", "variants")):
            for value in config[key]:
                argv += [flag, value]
        for plugin in config.get("plugins", ()):
            argv += ["--plugin", plugin]
        # Its progress and job summary are the gate's to give, not this inner command's.
        env = {**os.environ, "PYTHONPATH": str(tree), QUIET_ENV: "1"}
        env = {k: v for k, v in env.items() if not k.startswith(INNER_ONLY)}
        proc = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, check=False)
        if proc.returncode not in (0, 1) or not out.is_file():
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            raise GateError(f"verifying the {name} side failed (exit {proc.returncode}): {tail}")
        from harness.results import ResultsError, load_results

        try:  # checked against the results schema like any results file read
            verdicts: list[dict[str, Any]] = load_results(out)["verdicts"]
        except ResultsError as exc:
            raise GateError(f"verifying the {name} side: {exc}") from None
        # implementations the selection leaves out (-a takes a whole algorithm)
        excluded = set(config.get("exclude", ()))
        return [v for v in verdicts if record_key(v) not in excluded]


def record_key(record: dict[str, Any]) -> str:
    """The implementation key (algorithm/backend/variant) of a verdict or measurement."""
    return f"{record['algorithm']}/{record['backend']}/{record['variant']}"


def failing_keys(verdicts: list[dict[str, Any]]) -> set[str]:
    return {
        f"{v['algorithm']}/{v['backend']}/{v['variant']}"
        for v in verdicts
        if v["status"] in ("fail", "error")
    }


def run_rounds(
    trees: dict[str, Path],
    config: dict[str, Any],
    rounds: int,
    *,
    slowdown: dict[str, dict[str, float]] | None = None,
    verify: tuple[str, ...] = (),
    verifier: Sequence[str] = (),
    progress: Progress | None = None,
) -> GateRun:
    """Verify the ``verify`` sides (by ``verify_tree`` with ``verifier`` as its command),
    then interleave rounds over the named trees.

    Each round of each side runs in a new worker process. Implementations that fail or
    crash on any verified side are not timed on either side: a wrong answer fails the gate
    whatever its speed, and a crashing one would take its worker down.
    """
    start = time.perf_counter()
    steps = progress or Progress("gate")  # the default writes nothing
    steps.expect(len(verify) + rounds * len(trees))
    sides = {name: SideData() for name in trees}
    for name in verify:
        steps.begin(f"verifying every case on the {name} side", kind="verify")
        sides[name].verdicts += verify_tree(name, trees[name], config, verifier)
        steps.end(ok=not failing_keys(sides[name].verdicts))
    failing = set().union(*(failing_keys(sides[n].verdicts) for n in verify))
    exclude = sorted(failing | set(config.get("exclude", ())))
    names = list(trees)
    info: dict[str, Any] | None = None
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            steps.begin(f"round {r + 1}/{rounds}: {name}", kind="round")
            # A fresh process per round: the process itself is part of what varies.
            extra = {"slowdown": (slowdown or {}).get(name, {}), "exclude": exclude}
            worker = Worker(name, trees[name], {**config, **extra})
            try:
                if info is None:
                    info = worker.request({"op": "info"})
                sides[name].add_round(worker.request({"op": "round"}))
            finally:
                worker.close()
            steps.end()
    standard = info["standard"] if info is not None else {}
    return GateRun(sides, standard, rounds, time.perf_counter() - start)


def compare_sides(run: GateRun, base: str, candidate: str, config: GateConfig) -> list[CellResult]:
    a, b = run.sides[base], run.sides[candidate]
    cells = []
    for key in sorted(set(a.samples) & set(b.samples)):
        meta = b.meta[key]
        cells.append(
            compare_cell(key, meta["algorithm"], meta["case"], a.samples[key], b.samples[key])
        )
    return judge(cells, config)


def round_median_measurements(side: SideData) -> list[dict[str, Any]]:
    """One measurement per cell: the median of its round medians, the figure the cell
    comparisons use too (rounds, not samples, are the independent units)."""
    import numpy as np

    out = []
    for key, rounds in side.samples.items():
        median = float(np.median([np.median(r) for r in rounds]))
        out.append({**side.meta[key], "median_s": median, "status": "ok"})
    return out


def outcome(
    run: GateRun,
    cells: list[CellResult],
    base: str,
    candidate: str,
    budgets: list[Budget],
) -> dict[str, Any]:
    """The gate's machine-readable result; ``passed`` decides the exit status."""
    cand = run.sides[candidate]
    wrong = [v for v in cand.verdicts if v["status"] in ("fail", "error")]
    attempted = {key.rsplit("/", 1)[0] for key in cand.meta}
    budget_rows = (
        check_budgets(budgets, round_median_measurements(cand), run.standard, attempted)
        if budgets
        else []
    )
    counts = Counter(c.verdict for c in cells)
    only_base = sorted(set(run.sides[base].samples) - set(cand.samples))
    only_candidate = sorted(set(cand.samples) - set(run.sides[base].samples))
    reasons = []
    if counts["slower"]:
        reasons.append(f"{counts['slower']} cell(s) slower")
    if wrong:
        reasons.append(f"{len(wrong)} wrong result(s) in the candidate")
    broken = [b for b in budget_rows if b["status"] in ("exceeded", "missing")]
    if broken:
        reasons.append(f"{len(broken)} budget(s) exceeded or not measured")
    reasons += incomplete_reasons(run, (base, candidate))
    return {
        "passed": not reasons,
        "reasons": reasons,
        "counts": dict(counts),
        "cells": [asdict(c) for c in cells],
        "wrong": [
            {
                k: v.get(k)
                for k in ("algorithm", "backend", "variant", "case", "status", "detail", "repro")
            }
            for v in wrong
        ],
        "budgets": budget_rows,
        "only_base": only_base,
        "only_candidate": only_candidate,
        "not_timed": dict(sorted(cand.skipped.items())),
        "timing_errors": dict(sorted(cand.errors.items())),
        "missing": missing_cells(run, (base, candidate)),
        "rounds": run.rounds,
        "seconds": round(run.seconds, 1),
    }


def missing_cells(run: GateRun, sides: Sequence[str]) -> list[str]:
    """``side: cell (in N rounds)`` for every cell a round selected but did not record."""
    return [
        f"{name}: {key} (in {rounds} round(s))"
        for name in dict.fromkeys(sides)
        for key, rounds in sorted(run.sides[name].missing.items())
    ]


def incomplete_reasons(run: GateRun, sides: Sequence[str]) -> list[str]:
    """Why the gate fails when a round lost a cell or a candidate cell raised while timed
    (the last side named is the candidate)."""
    reasons = []
    missing = missing_cells(run, sides)
    if missing:
        reasons.append(f"{len(missing)} selected cell(s) not recorded in every round")
    errors = run.sides[sides[-1]].errors
    if errors:
        reasons.append(f"{len(errors)} cell(s) raised while timed in the candidate")
    return reasons


def self_test_once(
    config: GateConfig,
    worker: dict[str, Any],
    rounds: int,
    target: str,
    factor: float,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """One self-test on this tree: A against A again, and A against A with ``target``
    slowed by ``factor``; a slower or faster verdict where nothing changed is a false alarm."""
    run = run_rounds(
        dict.fromkeys(SELF_TEST_SIDES, ROOT),
        worker,
        rounds,
        slowdown={"A slowed": {target: factor}},
        progress=progress,
    )
    same = outcome(run, compare_sides(run, "A", "A again", config), "A", "A again", [])
    slowed = outcome(run, compare_sides(run, "A", "A slowed", config), "A", "A slowed", [])
    injected = [c for c in slowed["cells"] if c["key"].startswith(target + "/")]
    untouched = [c for c in slowed["cells"] if c not in injected]
    false_alarms = [c for c in [*same["cells"], *untouched] if c["verdict"] in ("slower", "faster")]
    caught = bool(injected) and all(c["verdict"] == "slower" for c in injected)
    incomplete = incomplete_reasons(run, ("A", "A again")) + incomplete_reasons(run, ("A slowed",))
    reasons = list(dict.fromkeys(incomplete))
    if false_alarms:
        reasons.append(f"{len(false_alarms)} false alarm(s) where nothing changed")
    if not caught:
        seen = ", ".join(f"{c['key']}: {c['verdict']}" for c in injected) or "not timed"
        reasons.append(f"the {factor}× slowdown of {target} was not caught ({seen})")
    return {
        "passed": not reasons,
        "reasons": reasons,
        "injected": {"implementation": target, "factor": factor},
        "caught": caught,
        "injected_ratio": injected[0]["ratio"] if injected else math.nan,
        "false_alarms": false_alarms,
        "null_comparisons": len(same["cells"]) + len(untouched),
        "aa": same,
        "slowed": slowed,
        "rounds": rounds,
        "seconds": round(run.seconds, 1),
        "counts": same["counts"],
        "cells": same["cells"] + injected,
        "wrong": [],
        "budgets": [],
        "missing": missing_cells(run, ("A", "A again", "A slowed")),
        "timing_errors": {**same["timing_errors"], **slowed["timing_errors"]},
    }

"""The timing phase: the device's ceilings, then the standard case of every torch_cuda, CuPy
and library implementation, verified on its first call and timed with device events.

It runs as its own process (``--phase timing``) and saves the results file after every
cell, with a marker naming the cell in progress; the check restarts it after a crash or
a hung cell (``--lost``), and the new process continues the same file. Past the soft
deadline every cell not yet timed is recorded as skipped, so the file always lists them all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from harness.results import Run, load_results, write_atomic

TIMED_BACKENDS = ("torch_cuda", "cupy", "library")
EXTRA_KEY = "gpu_check"  # the results file's section for what this phase adds
MIN_CELL_S = 3.0  # a cell is not started with less time than this left
CELL_BUDGET_S = 10.0  # warm-up and rounds of one cell stop here (a slow CPU reference)


def marker_path(out: Path) -> Path:
    return out / "phases" / "timing.current"


def save(run: Run, extra: dict[str, Any], path: Path, complete: bool) -> None:
    """The results file of ``shootout bench``, plus the timing details under EXTRA_KEY."""
    doc = run.document(complete)
    doc[EXTRA_KEY] = extra
    write_atomic(path, json.dumps(doc, indent=1, allow_nan=True, default=str))


def _gpu_module() -> tuple[str, Any] | None:
    """torch when it sees a CUDA device, else CuPy when it does (for TF32 and flushes)."""
    import importlib
    import importlib.util

    for name in ("torch", "cupy"):
        if importlib.util.find_spec(name) is None:
            continue
        try:
            module = importlib.import_module(name)
            count = (
                module.cuda.device_count()
                if name == "torch"
                else module.cuda.runtime.getDeviceCount()
            )
        except Exception:
            continue
        if count:
            return name, module
    return None


def _cells(registry: Any, algorithms: list[str], smoke: bool) -> list[tuple[Any, Any, Any]]:
    """(suite, implementation, case) per timed implementation: GPU cells first, then the
    CPU references from the cheapest (by the cost model) up, so a tight budget loses the
    slowest."""
    from harness.backends import device_of
    from harness.prepare import case_cost

    cells = []
    for impl in registry.select(algorithms, TIMED_BACKENDS):
        suite = registry.suite(impl.algorithm)
        case = suite.cases_for_profile("smoke")[0] if smoke else suite.find_case(suite.standard)
        cells.append((suite, impl, case))

    def order(cell: tuple[Any, Any, Any]) -> tuple[Any, ...]:
        suite, impl, case = cell
        if device_of(impl.arrays) == "cuda":
            return (0, 0.0, impl.key)
        return (1, case_cost(suite, case).flops, impl.key)  # cheap CPU references first

    return sorted(cells, key=order)


def _cell_id(impl: Any, case: Any) -> str:
    return f"{impl.key}/{case.name}"


def _record_unrun(run: Run, suite: Any, impl: Any, case: Any, status: str, detail: str) -> None:
    from harness.bench import not_timed
    from harness.verify import unrun_verdict

    verdict = unrun_verdict(impl, case, status, detail)
    run.verdicts.append(verdict.as_dict())
    run.measurements.append(not_timed(suite, impl, case, verdict, None).as_dict())


def main(args: argparse.Namespace) -> int:
    """The phase's body; the process was started with thread pools pinned (see check.py)."""
    from harness.backends import device_of
    from harness.ceilings import measure_ceilings
    from harness.device_timing import RoundPlan, ridge_point, tf32_state
    from harness.registry import load_registry
    from harness.threads import apply

    out = Path(args.out)
    results = Path(args.results)
    gpu = _gpu_module()  # imported before the run is saved: the fingerprint names the GPU
    registry = load_registry()
    threads = apply(args.threads)
    soft_deadline = time.monotonic() + (args.deadline - time.time())
    if results.is_file():
        doc = load_results(results)
        run, extra = Run.from_document(doc), doc.get(EXTRA_KEY, {})
    else:
        command = "python -m shootout.gpu_check"
        run = Run(command=command, profile="smoke" if args.smoke else "standard", threads=threads)
        extra = {"cells": {}}
    cells = _cells(registry, args.algorithm, args.smoke)
    by_id = {_cell_id(impl, case): (suite, impl, case) for suite, impl, case in cells}
    done = {f"{m['algorithm']}/{m['backend']}/{m['variant']}/{m['case']}" for m in run.measurements}
    marker = marker_path(out)
    if args.lost == "ceilings":  # the measurement itself crashed or hung: not again
        note = f"not measured: {args.lost_detail or 'lost'}"
        run.ceilings = {"cpu": {"unavailable": True, "note": note}}
    elif args.lost and args.lost in by_id and args.lost not in done:
        _record_unrun(run, *by_id[args.lost], "error", args.lost_detail or "lost")
        done.add(args.lost)
    if not run.ceilings and not args.smoke:
        write_atomic(marker, json.dumps({"cell": "ceilings", "started": time.time()}))
        backends = {"torch_cuda"} if gpu else set()
        run.ceilings = measure_ceilings(backends, effort="quick")
        marker.unlink(missing_ok=True)
    if gpu:
        name, module = gpu
        cupy_tf32 = {"CUPY_TF32": os.environ.get("CUPY_TF32", "0")}
        extra["tf32"] = tf32_state(module) if name == "torch" else cupy_tf32
    extra.setdefault("cells", {})
    extra.update(
        l2_flush=args.l2_flush,
        ridge_flops_per_byte=ridge_point(run.ceilings.get("cuda")),
        clocks="torch.cuda.Event / cupy.cuda.Event for CUDA arrays, perf_counter for CPU",
    )
    save(run, extra, results, complete=False)
    plan = RoundPlan(
        warmup=1 if args.smoke else 2,
        min_rounds=3 if args.smoke else 5,
        max_time=0.05 if args.smoke else 0.5,
        cell_budget=2.0 if args.smoke else CELL_BUDGET_S,
        deadline=soft_deadline,
    )
    flushes: dict[str, Any] = {}
    for cell_id, (suite, impl, case) in by_id.items():
        if cell_id in done:
            continue
        device = device_of(impl.arrays)
        if device == "cpu" and gpu is None and impl.backend == "library":
            why = "no CUDA device here: library references are timed beside GPU cells only"
            _record_unrun(run, suite, impl, case, "skip", why)
        elif time.monotonic() + MIN_CELL_S > soft_deadline:
            _record_unrun(run, suite, impl, case, "skip", "over the GPU check's time budget")
        else:
            write_atomic(marker, json.dumps({"cell": cell_id, "started": time.time()}))
            extra["cells"][cell_id] = _time_cell(run, suite, impl, case, plan, flushes, args, extra)
        save(run, extra, results, complete=False)
    if flushes:
        extra["l2_flush_bytes"] = {k: v.nbytes for k, v in flushes.items() if v is not None}
    save(run, extra, results, complete=True)
    marker.unlink(missing_ok=True)
    return 0


def _time_cell(
    run: Run,
    suite: Any,
    impl: Any,
    case: Any,
    plan: Any,
    flushes: dict[str, Any],
    args: argparse.Namespace,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Verify the first call and time the rounds; record both; return how it was timed."""
    from harness.backends import BACKENDS, device_of
    from harness.bench import measure
    from harness.device_timing import Rounds, clock_for, device_runner, make_flush, wants_flush
    from harness.prepare import case_cost

    device = device_of(impl.arrays)
    runs_here = impl.unavailable_reason() is None  # else measure records the skip
    library = BACKENDS[impl.arrays].library if device == "cuda" and runs_here else None
    module = sys.modules.get(library) if library else None
    cost = case_cost(suite, case)
    flush = None
    ridge = extra.get("ridge_flops_per_byte")
    memory_bound = wants_flush(args.l2_flush, device, cost.flops, cost.bytes, ridge)
    if library and module is not None and memory_bound:
        if library not in flushes:
            try:
                flushes[library] = make_flush(library, module)
            except Exception as exc:  # time it warm rather than not at all
                flushes[library] = None
                extra.setdefault("l2_flush_errors", {})[library] = f"{type(exc).__name__}: {exc}"
        flush = flushes[library]
    sink: list[Rounds] = []
    clock = clock_for(library, module)
    verdict, record = measure(suite, impl, case, device_runner(clock, plan, flush, sink))
    run.verdicts.append(verdict.as_dict())
    run.measurements.append(record.as_dict())
    if not sink:  # not timed: skipped or failed on its first call
        return {}
    return {
        "clock": sink[0].clock,
        "l2_flush": sink[0].flushed,
        "rounds": len(sink[0].samples),
        "cut_short": sink[0].cut_short,
    }

"""The ``gate`` command: its options checked, the gate run (harness.gate), the result printed."""

from __future__ import annotations

import argparse
import functools
import math
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

from harness.gate import GateError
from harness.gate.run import (
    ROOT,
    SELF_TEST_SIDES,
    compare_sides,
    export_tree,
    outcome,
    resolve_ref,
    run_rounds,
    self_test_once,
)
from harness.gate.verdict import (
    Budget,
    GateConfig,
    check_budgets,
    check_names,
    load_budgets,
    load_config,
)
from harness.progress import Progress
from shootout.output import job_summary, json_document
from shootout.present import fmt_time
from shootout.usage import COMMAND

THRESHOLDS_FILE, BUDGETS_FILE = ROOT / "gate.toml", ROOT / "budgets.toml"
# The candidate's code that measures, carried over the exported base: timing and verifying.
MEASURING_PACKAGES = ("harness", "shootout")


def cmd_gate(args: argparse.Namespace) -> int:
    chosen = [bool(args.base), args.self_test, args.results is not None]
    if sum(chosen) != 1:
        raise GateError("give exactly one of --base REF, --self-test, or --results FILE")
    if args.all and not args.base:
        raise GateError("--all goes with --base REF (it times every cell, not only the changed)")
    thresholds = args.thresholds or (THRESHOLDS_FILE if THRESHOLDS_FILE.is_file() else None)
    config = load_config(thresholds)
    budgets: list[Budget] = []
    path = None
    if not args.no_budgets:
        path = args.budgets or (BUDGETS_FILE if BUDGETS_FILE.is_file() else None)
        budgets = load_budgets(path) if path is not None else []
    names = {"thresholds_file": f"thresholds file {str(thresholds)!r}"}
    names["budgets_file"] = f"budgets file {str(path)!r}"
    if args.results is not None:
        return _budgets_only(args, config, budgets, names)
    _check_names(args, config, budgets, names)
    worker = _worker_config(args, config)
    rounds = args.rounds if args.rounds is not None else config.defaults.rounds
    if rounds < 2:
        raise GateError("--rounds must be at least 2 (one round per side says nothing)")
    smallest = 2 / math.comb(2 * rounds, rounds)  # Mann-Whitney's best two-sided p
    if smallest > config.defaults.alpha:
        raise GateError(
            f"{rounds} rounds per side can never reach significance at alpha "
            f"{config.defaults.alpha} (best p {smallest:.3g}); use more rounds"
        )
    if args.self_test:
        return _self_test(args, config, worker, rounds)
    commit = resolve_ref(args.base)
    progress = Progress.to_stderr("gate", quiet=args.quiet)
    selection = _select(args, commit, worker)
    for line in selection["why"]:
        progress.note(f"selection: {line}")
    if not selection["timed"]:
        result = {
            "passed": True,
            "reasons": [],
            "counts": {},
            "cells": [],
            "wrong": [],
            "budgets": [],
            "selection": selection,
            "base": {"ref": args.base, "commit": commit},
        }
        _emit(args, result, title=f"opshootout gate: working tree vs {args.base} ({commit[:12]})")
        return 0
    with tempfile.TemporaryDirectory(prefix="opshootout-gate-") as tmp:
        progress.note(f"exporting {args.base} ({commit[:12]})")
        base = export_tree(commit, Path(tmp) / "base", carry=MEASURING_PACKAGES)
        run = run_rounds(
            {"base": base, "candidate": ROOT},
            worker,
            rounds,
            verify=("base", "candidate"),
            verifier=COMMAND,
            progress=progress,
        )
    progress.finish()
    cells = compare_sides(run, "base", "candidate", config)
    result = outcome(run, cells, "base", "candidate", budgets)
    result["selection"] = selection
    result["base"] = {"ref": args.base, "commit": commit}
    from harness.results import git_info

    result["candidate"] = git_info(ROOT)
    _emit(args, result, title=f"opshootout gate: working tree vs {args.base} ({commit[:12]})")
    return 0 if result["passed"] else 1


@functools.cache
def _registry(plugins: tuple[str, ...]) -> Any:
    """The working tree's registry, loaded once per command (it imports every module)."""
    from harness.registry import load_registry

    return load_registry(plugins)


def _select(args: argparse.Namespace, commit: str, worker: dict[str, Any]) -> dict[str, Any]:
    """Narrow ``worker`` to the cells the change since ``commit`` can affect (unless
    ``--all`` or ``-a`` chose); returns what was selected and why (harness.gate.changes)."""
    if args.all or args.algorithm:
        why = "--all: every cell" if args.all else "named with -a: " + ", ".join(args.algorithm)
        return {"mode": "all" if args.all else "named", "why": [why], "timed": True}
    from harness.gate.changes import base_algorithms, changed_paths, select_changes

    registry = _registry(tuple(worker["plugins"]))
    candidate = {name.split(".")[0] for name in registry.suites}
    changes = select_changes(changed_paths(commit, ROOT), candidate, base_algorithms(commit, ROOT))
    selection = changes.as_dict()
    algorithms, exclude = changes.worker_selection(registry.implementations)
    chosen = [
        i.key
        for i in registry.select(algorithms, worker["backends"], worker["variants"])
        if i.key not in exclude
    ]
    selection["timed"] = bool(chosen) and not changes.empty
    if not changes.empty and not chosen:
        selection["why"].append("nothing to time: -b/--variant leave none of these cells")
    worker.update(algorithms=algorithms, exclude=exclude)
    return selection


def _check_names(
    args: argparse.Namespace,
    config: GateConfig,
    budgets: list[Budget],
    files: dict[str, str],
    recorded: Collection[str] = (),
) -> None:
    """The thresholds' algorithms and the budgets' implementations must exist here (or,
    checking a results file, in it): a misspelt name would silently check nothing."""
    from harness.registry import load_registry

    registry = load_registry(args.plugin)
    known = {*registry.implementations, *recorded}
    check_names(config, budgets, algorithms=registry.suites, implementations=known, **files)


def _worker_config(args: argparse.Namespace, config: GateConfig) -> dict[str, Any]:
    """The workers' selection, checked here first so a typo is a one-line usage error."""
    from harness.spec import PROFILES

    if args.profile != "standard" and args.profile not in PROFILES:
        raise GateError(
            f"unknown profile {args.profile!r} (known: standard, {', '.join(PROFILES)})"
        )
    if args.max_time <= 0:
        raise GateError("--max-time must be positive")
    plugins = [str(Path(p).resolve()) if Path(p).exists() else p for p in args.plugin]
    registry = _registry(tuple(plugins))
    if not registry.select(args.algorithm, args.backend, args.variant):
        raise GateError("the selection matches no implementation (see `shootout list`)")
    return {
        "threads": args.threads,
        "algorithms": args.algorithm,
        "backends": args.backend,
        "variants": args.variant,
        "plugins": plugins,
        "profile": "quick" if args.profile == "standard" else args.profile,
        "standard_only": args.profile == "standard",
        "max_time": args.max_time,
        "min_rounds": config.defaults.min_rounds,
    }


def _self_test(
    args: argparse.Namespace, config: GateConfig, worker: dict[str, Any], rounds: int
) -> int:
    """Three workers on this very tree: A, A again, and A with one implementation slowed.

    Every cell of A against "A again", and every cell but the slowed one of A against "A
    slowed", is a comparison where nothing changed: a slower or faster verdict there is a
    false alarm. ``--repeat N`` runs it N times and reports the rates.
    """
    target = args.inject or _default_target(args)
    if args.inject_factor <= 1:
        raise GateError("--inject-factor must be above 1 (it is a slowdown)")
    if args.repeat < 1:
        raise GateError("--repeat must be at least 1")
    runs = []
    steps = args.repeat * rounds * len(SELF_TEST_SIDES)
    progress = Progress.to_stderr("gate", total=steps, quiet=args.quiet)
    for number in range(args.repeat):
        if args.repeat > 1:
            progress.note(f"self-test {number + 1}/{args.repeat}")
        runs.append(self_test_once(config, worker, rounds, target, args.inject_factor, progress))
    progress.finish()
    null_cells = sum(r["null_comparisons"] for r in runs)
    alarms = sum(len(r["false_alarms"]) for r in runs)
    result = {**runs[-1]}
    result["summary"] = {
        "runs": len(runs),
        "null_comparisons": null_cells,
        "false_alarms": alarms,
        "false_alarm_rate": alarms / null_cells if null_cells else math.nan,
        "runs_with_a_false_alarm": sum(1 for r in runs if r["false_alarms"]),
        "injected_caught": sum(1 for r in runs if r["caught"]),
        "injected_ratios": [r["injected_ratio"] for r in runs],
        "seconds": round(sum(r["seconds"] for r in runs), 1),
    }
    result["passed"] = all(r["passed"] for r in runs)
    result["reasons"] = sorted({reason for r in runs for reason in r["reasons"]})
    if args.repeat > 1:
        result["repeats"] = runs
    title = f"opshootout gate self-test (A/A, and {target} × {args.inject_factor})"
    _emit(args, result, title=title)
    if args.repeat > 1:
        summary = result["summary"]
        print(
            f"{summary['runs']} runs: {summary['false_alarms']} false alarm(s) in "
            f"{summary['null_comparisons']} unchanged cell comparisons "
            f"({summary['runs_with_a_false_alarm']} run(s) with any); injected "
            f"{args.inject_factor}× caught in {summary['injected_caught']}/{summary['runs']}"
        )
    return 0 if result["passed"] else 1


def _default_target(args: argparse.Namespace) -> str:
    from harness.backends import DEFAULT_BACKEND, is_interpreted
    from harness.registry import load_registry

    impls = load_registry(args.plugin).select(args.algorithm, args.backend, args.variant)
    runnable = [
        i for i in impls if i.unavailable_reason() is None and not is_interpreted(i.backend)
    ]
    preferred = [i for i in runnable if i.backend == DEFAULT_BACKEND] or runnable
    if not preferred:
        raise GateError("the self-test needs one implementation that runs here to slow down")
    return str(preferred[0].key)


def _budgets_only(
    args: argparse.Namespace, config: GateConfig, budgets: list[Budget], files: dict[str, str]
) -> int:
    """Budgets against one existing results file: nothing is run."""
    from harness.results import load_results

    if not budgets:
        raise GateError("--results checks budgets, and there is no budgets file (--budgets FILE)")
    document = load_results(args.results)
    measurements = document["measurements"]
    standard = {m["algorithm"]: m["case"] for m in measurements if m.get("standard")}
    attempted = {f"{m['algorithm']}/{m['backend']}/{m['variant']}" for m in measurements}
    _check_names(args, config, budgets, files, recorded=attempted)
    rows = check_budgets(budgets, measurements, standard, attempted)
    broken = [r for r in rows if r["status"] in ("exceeded", "missing")]
    reasons = [f"{len(broken)} budget(s) exceeded or not measured"] if broken else []
    if all(r["status"] == "not selected" for r in rows):
        reasons.append("no budget applies to the implementations in this results file")
    result = {
        "passed": not reasons,
        "reasons": reasons,
        "counts": {},
        "cells": [],
        "wrong": [],
        "budgets": rows,
        "results": str(args.results),
    }
    _emit(args, result, title=f"opshootout budgets on {args.results.name}")
    return 0 if result["passed"] else 1


# ---- output -------------------------------------------------------------------------------


def cell_row(c: dict[str, Any]) -> list[str]:
    """A compared cell as a table row: key, medians, ratio, its interval, q, verdict."""
    return [
        c["key"],
        fmt_time(c["base_median"]),
        fmt_time(c["candidate_median"]),
        f"{c['ratio']:.3f}×",
        f"[{c['ci_low']:.3f}, {c['ci_high']:.3f}]",
        f"{c['q']:.2g}",
        c["verdict"],
    ]


def _changed_rows(result: dict[str, Any]) -> list[list[str]]:
    return [cell_row(c) for c in result["cells"] if c["verdict"] != "same"]


_HEADERS = ["cell", "base", "candidate", "ratio", "95% CI", "q (BH)", "verdict"]


def markdown(result: dict[str, Any], title: str) -> str:
    status = "PASS" if result["passed"] else "FAIL: " + "; ".join(result["reasons"])
    lines = [f"## {title}", "", f"**{status}**", ""]
    why = (result.get("selection") or {}).get("why") or []
    if why:
        lines += ["Selected:", "", *(f"- {line}" for line in why), ""]
    counts = result.get("counts") or {}
    if counts or result["cells"]:
        lines.append(
            "Cells: "
            + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
            + f" ({result.get('rounds', '?')} interleaved rounds per side, "
            f"{result.get('seconds', '?')} s)"
        )
        lines.append("")
    rows = _changed_rows(result)
    if rows:
        lines += ["| " + " | ".join(_HEADERS) + " |", "|" + "---|" * len(_HEADERS)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines.append("")
    for w in result["wrong"]:
        lines.append(
            f"- wrong result: `{w['algorithm']}/{w['backend']}/{w['variant']}` on `{w['case']}`: "
            f"{w['detail']} — re-run: `{w['repro']}`"
        )
    for key, reason in (result.get("timing_errors") or {}).items():
        lines.append(f"- raised while timed: `{key}`: {reason}")
    for cell in result.get("missing") or []:
        lines.append(f"- not recorded: `{cell}`")
    for b in result["budgets"]:
        if b["status"] == "not selected":
            continue
        mark = "ok" if b["status"] == "ok" else b["status"].upper()
        lines.append(
            f"- budget {mark}: `{b['implementation']}` on `{b['resolved_case']}`: {b['why']}"
        )
    return "\n".join(lines).rstrip() + "\n"


def _emit(args: argparse.Namespace, result: dict[str, Any], title: str) -> None:
    text = markdown(result, title)
    job_summary(args.markdown, text)
    document = json_document("gate", **result)
    if args.json_out is not None:
        from harness.results import write_atomic

        write_atomic(args.json_out, document)
    print(document if args.json else text)

"""One round of one side of the gate: a process that times the cells of one source tree.

The gate starts a worker per side and round, alternating sides, so machine drift falls on
both sides and each round is an independent process. Protocol: JSON lines. The first line
on stdin is the configuration; then each line is a command, answered by exactly one line
on stdout:

    {"op": "round"}               -> {"measurements": [...], "selected": [cell id, ...]}
    {"op": "info"}                -> {"standard": {algorithm: case}, "cells": n}

A round is one pytest + pytest-benchmark session over the selected cells, timing only (the
gate verified every case beforehand, in an isolated ``shootout verify``). ``slowdown``
(self-test only) maps an implementation key to a factor by which its calls are stretched,
by spinning after the call for (factor - 1) × the call's own time; ``exclude`` lists
implementations not to time.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TextIO


def _slowed(fn: Callable[..., Any], factor: float) -> Callable[..., Any]:
    def slowed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        until = time.perf_counter() + (time.perf_counter() - start) * (factor - 1)
        while time.perf_counter() < until:
            pass
        return out

    slowed.__wrapped__ = fn  # type: ignore[attr-defined]
    return slowed


def _inject(registry: Any, slowdown: dict[str, float]) -> None:
    """Replace the named implementations by stretched copies (self-test only)."""
    for key, factor in slowdown.items():
        impl = registry.implementations.get(key)
        if impl is None or impl.fn is None:
            raise ValueError(f"cannot slow down {key}: no such implementation runs here")
        registry.implementations[key] = replace(impl, function=_slowed(impl.fn, factor))


def main(stdin: TextIO = sys.stdin) -> int:
    protocol = sys.stdout
    sys.stdout = sys.stderr  # anything printed by libraries must not corrupt the protocol
    config = json.loads(stdin.readline())
    from harness import escapes

    escapes.install()  # Ctrl-C stops the round; a KeyboardInterrupt raised is a cell's error

    from harness.threads import apply, pin_environment

    pin_environment(config["threads"])
    from harness.pytest_plugin import State
    from harness.registry import load_registry
    from harness.results import Run
    from harness.selection import Selection
    from harness.session import run_pytest

    registry = load_registry(tuple(config.get("plugins", ())))
    threads = apply(config["threads"])
    _inject(registry, {k: float(v) for k, v in config.get("slowdown", {}).items()})
    for key in config.get("exclude", ()):  # wrong or crashing: verified apart, never timed
        registry.implementations.pop(key, None)
    base = Selection(
        algorithms=tuple(config["algorithms"]),
        backends=tuple(config["backends"]),
        variants=tuple(config["variants"]),
        profile=config["profile"],
        standard_only=config["standard_only"],
        plugins=tuple(config.get("plugins", ())),
    )
    bench_args = [
        "--benchmark-enable",
        f"--benchmark-max-time={config['max_time']}",
        f"--benchmark-min-rounds={config['min_rounds']}",
        "--benchmark-warmup=off",
        "--benchmark-disable-gc",
        "--benchmark-timer=time.perf_counter",
    ]

    def session(selection: Selection, extra: list[str]) -> tuple[Run, list[str]]:
        """The round's records, and the ids of the cells it selected (to check them)."""
        run = Run(command="shootout gate", profile=selection.profile, threads=threads)
        state = State(selection, registry, run)
        run_pytest(state, extra)
        return run, [c.id for c in state.cells()]

    def reply(payload: dict[str, Any]) -> None:
        protocol.write(json.dumps(payload, default=str) + "\n")
        protocol.flush()

    for line in stdin:
        command = json.loads(line)
        op = command.get("op")
        if op == "info":
            cells = State(replace(base, mode="bench"), registry, Run("", None, {})).cells()
            standard = {c.suite.algorithm: c.suite.standard for c in cells}
            reply({"standard": standard, "cells": len(cells)})
        elif op == "round":
            run, selected = session(replace(base, mode="bench", verify_first=False), bench_args)
            reply({"measurements": run.measurements, "selected": selected})
        else:
            reply({"error": f"unknown op {op!r}"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

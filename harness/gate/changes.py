"""What ``shootout gate --base REF`` times: the algorithms a change can affect.

The changed paths are what ``git diff REF`` reports against the working tree (staged or
not) plus untracked files git does not ignore. Each path selects:

* ``suites/<algorithm>.py`` or ``implementations/<algorithm>/...``: that algorithm (all its
  modes, every implementation);
* a shared module of either package (``suites/__init__.py``, ``implementations/_util.py``,
  a folder of ``implementations/`` that is no algorithm of either tree): every algorithm,
  as any of them may import it;
* documentation, tests and the report (``INERT``): nothing;
* anything else (``harness/``, ``shootout/``, ``pyproject.toml``, ``gate.toml``, ...): the
  canary cells below.

The gate carries the working tree's ``harness`` and ``shootout`` over the exported base, so
a change there times the same code on both sides and cannot show as a speed change; what
it can do is break the measuring itself, or change what is not carried (dependency pins,
project configuration). The canaries check, at little cost, that the changed harness still
verifies and times each kind of cell end to end: ``sgd_momentum`` is cheap at its standard
size and stateful, so its cells exercise the in-place state reset before every timed round,
and its numpy, numba and torch_cpu implementations cover the three CPU array stacks (an
interpreter-level loop, a JIT-compiled kernel, a torch foreach kernel).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from harness.gate import GateError

CANARY_ALGORITHM = "sgd_momentum"
CANARIES = (
    "sgd_momentum/numpy/blocked",
    "sgd_momentum/numba/fused",
    "sgd_momentum/torch_cpu/foreach",
)
CANARY_WHY = (
    "cheap; stateful, so every timed round starts with a state reset; one cell each on "
    "numpy, numba and torch_cpu"
)
# Paths whose change cannot alter what is timed (prefixes end with "/").
INERT_PREFIXES = ("tests/", "reports/", "docs/")
INERT_SUFFIXES = (".md", ".rst")
INERT_NAMES = ("LICENSE", ".gitignore")


@dataclass
class ChangeSelection:
    """The algorithms to time, each with the changed paths that selected it, and the rest."""

    algorithms: dict[str, list[str]] = field(default_factory=dict)
    canaries: list[str] = field(default_factory=list)  # harness paths that call for them
    shared: list[str] = field(default_factory=list)  # shared modules: every algorithm
    inert: list[str] = field(default_factory=list)  # docs, tests, the report
    new: dict[str, list[str]] = field(default_factory=dict)  # not in the base: no comparison
    removed: dict[str, list[str]] = field(default_factory=dict)  # not in the working tree
    canaries_exist: bool = True  # the canary algorithm is in both trees

    @property
    def timed_canaries(self) -> bool:
        return bool(self.canaries) and self.canaries_exist and not self.shared

    @property
    def empty(self) -> bool:
        """Nothing to time: only inert paths (or new or removed algorithms) changed."""
        return not (self.algorithms or self.timed_canaries or self.shared)

    def worker_selection(self, implementations: Iterable[str]) -> tuple[list[str], list[str]]:
        """(algorithms, exclude) for the gate's workers: ``-a`` values (none: every
        algorithm) and implementation keys not to time. ``implementations``: the working
        tree's implementation keys."""
        if self.shared:
            return [], []
        algorithms = set(self.algorithms)
        exclude: list[str] = []
        if self.timed_canaries and CANARY_ALGORITHM not in algorithms:
            algorithms.add(CANARY_ALGORITHM)
            prefix = CANARY_ALGORITHM + "/"
            exclude = sorted(
                k for k in implementations if k.startswith(prefix) and k not in CANARIES
            )
        return sorted(algorithms), exclude

    def lines(self) -> list[str]:
        """What was selected and why, one line each, for people."""
        out = []
        if self.shared:
            out.append(f"every algorithm: shared module(s) changed: {_few(self.shared)}")
        for algorithm, paths in sorted(self.algorithms.items()):
            out.append(f"{algorithm}: {_few(paths)} changed")
        if self.timed_canaries:
            out.append(
                f"canaries {', '.join(CANARIES)}, as the harness changed "
                f"({_few(self.canaries)}): {CANARY_WHY}"
            )
        elif self.canaries and not self.shared:
            out.append(
                f"no canaries: {CANARY_ALGORITHM} is not in both trees; the harness changed: "
                f"{_few(self.canaries)}"
            )
        for algorithm, paths in sorted(self.new.items()):
            out.append(f"not timed: {algorithm} is new (absent from the base): {_few(paths)}")
        for algorithm, paths in sorted(self.removed.items()):
            out.append(f"not timed: {algorithm} is gone from the working tree: {_few(paths)}")
        if self.inert:
            out.append(f"docs, tests and the report, nothing to time: {_few(self.inert)}")
        if self.empty:
            out.append(
                "nothing to time: no suite, implementation or harness file of both trees changed"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": "changed",
            "algorithms": dict(sorted(self.algorithms.items())),
            "canaries": list(CANARIES) if self.timed_canaries else [],
            "canary_reason": CANARY_WHY if self.timed_canaries else "",
            "harness_paths": self.canaries,
            "shared_paths": self.shared,
            "inert_paths": self.inert,
            "new": dict(sorted(self.new.items())),
            "removed": dict(sorted(self.removed.items())),
            "why": self.lines(),
        }


def _few(paths: list[str], shown: int = 4) -> str:
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


def _algorithm_of(path: str) -> tuple[str, str | None]:
    """("algorithm", name), ("shared", None), ("inert", None) or ("harness", None)."""
    parts = PurePosixPath(path).parts
    if not parts:
        return "harness", None
    name = parts[-1]
    if (
        parts[0] + "/" in INERT_PREFIXES
        or name.endswith(INERT_SUFFIXES)
        or (len(parts) == 1 and name in INERT_NAMES)
    ):
        return "inert", None
    if parts[0] == "suites" and len(parts) == 2 and name.endswith(".py"):
        stem = name.removesuffix(".py")
        return ("shared", None) if stem.startswith("_") else ("algorithm", stem)
    if parts[0] == "implementations" and len(parts) >= 3 and not parts[1].startswith("_"):
        return "algorithm", parts[1]
    if parts[0] in ("suites", "implementations"):
        return "shared", None  # a package-level module any algorithm may import
    return "harness", None


def select_changes(paths: Iterable[str], candidate: set[str], base: set[str]) -> ChangeSelection:
    """What the changed ``paths`` (relative, "/"-separated) select. ``candidate`` and
    ``base``: the algorithms of the working tree and of the base ref."""
    selection = ChangeSelection()
    for path in sorted(set(paths)):
        kind, algorithm = _algorithm_of(path)
        if kind == "inert":
            selection.inert.append(path)
        elif kind == "shared":
            selection.shared.append(path)
        elif kind == "harness":
            selection.canaries.append(path)
        elif algorithm not in candidate | base:  # a helper module of some algorithms
            selection.shared.append(path)
        elif algorithm not in candidate:
            selection.removed.setdefault(str(algorithm), []).append(path)
        elif algorithm not in base:
            selection.new.setdefault(str(algorithm), []).append(path)
        else:
            selection.algorithms.setdefault(str(algorithm), []).append(path)
    selection.canaries_exist = CANARY_ALGORITHM in candidate and CANARY_ALGORITHM in base
    return selection


# ---- git ----------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GateError(f"cannot run git {args[0]}: {exc}") from None
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or [""])[-1]
        raise GateError(f"git {args[0]} failed: {tail}")
    return out.stdout


def changed_paths(commit: str, repo: Path) -> list[str]:
    """Paths that differ between ``commit`` and the working tree, untracked ones included
    (renames count as a deletion and an addition: both sides' algorithms are affected)."""
    tracked = _git(repo, "diff", "--name-only", "--no-renames", "-z", commit, "--")
    untracked = _git(repo, "ls-files", "--others", "--exclude-standard", "-z")
    return sorted({p for p in (tracked + untracked).split("\0") if p})


def base_algorithms(commit: str, repo: Path) -> set[str]:
    """The algorithms of ``commit``: its ``suites/<algorithm>.py`` files."""
    names = _git(repo, "ls-tree", "--name-only", "-z", commit, "suites/")
    stems = (PurePosixPath(n).name.removesuffix(".py") for n in names.split("\0") if n)
    return {s for s in stems if s and not s.startswith("_")}

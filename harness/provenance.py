"""Where each implementation of a run came from: its origin, its file and that file's sha256.

A results file records this for every implementation it selected, so two versions of the
same kernel (a plugin edited between two runs, under the same name) are told apart, and
an implementation whose file is not committed as it is marks the run dirty: the commit
alone no longer says what ran.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.registry import Implementation

GIT_TIMEOUT_S = 10


def file_sha256(path: Path) -> str | None:
    """The sha256 of the file's bytes; None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _git(cwd: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def _top(folder: Path) -> Path | None:
    top = _git(folder, "rev-parse", "--show-toplevel") if folder.is_dir() else None
    return Path(top.strip()).resolve() if top and top.strip() else None


def _known_top(folder: Path, tops: dict[Path, Path | None]) -> Path | None:
    """The work tree already found for a folder above this one, when no other repository
    (a ``.git`` on the way up) starts in between: saves a git call per folder."""
    for top in {t for t in tops.values() if t is not None}:
        if folder.is_relative_to(top):
            between = [folder, *folder.parents]
            between = between[: between.index(top)] if top in between else []
            if not any((p / ".git").exists() for p in between):
                return top
    return None


def uncommitted(files: Iterable[Path]) -> dict[Path, bool | None]:
    """For each file: True when its git work tree does not hold it committed as it is
    (untracked, ignored, added but not committed, or modified), False when it does, None
    when it is in no git work tree (or git cannot tell). One git call per work tree."""
    out: dict[Path, bool | None] = {}
    by_tree: dict[Path, list[Path]] = {}
    tops: dict[Path, Path | None] = {}
    for file in files:
        folder = file.parent
        if folder not in tops:
            tops[folder] = _known_top(folder, tops) or _top(folder)
        top = tops[folder]
        if top is None:
            out[file] = None
        else:
            by_tree.setdefault(top, []).append(file)
    for top, members in by_tree.items():
        relative = [str(f.resolve().relative_to(top)) for f in members]
        status = _git(
            top,
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--ignored=matching",
            "--",
            *relative,
        )
        if status is None:
            out.update(dict.fromkeys(members, None))
            continue
        # entries are "XY path" (a rename adds its old path as the next entry)
        listed = {entry[3:] for entry in status.split("\0") if len(entry) > 3}
        for file, rel in zip(members, relative, strict=True):
            out[file] = rel in listed
    return out


def provenance(impls: Iterable[Implementation]) -> dict[str, dict[str, Any]]:
    """{key: {origin, file, sha256, dirty}} for these implementations.

    ``dirty``: the file is not committed as it is in its git work tree; a plugin file that
    is in no work tree at all counts as dirty too (nothing records that version), while a
    project or entry-point file outside git (an installed package) is None: unknown.
    """
    impls = list(impls)
    files: dict[str, Path | None] = {}
    for impl in impls:
        path = Path(impl.source) if impl.source.endswith(".py") else None
        files[impl.key] = path.resolve() if path is not None and path.is_file() else None
    hashes = {f: file_sha256(f) for f in set(files.values()) if f is not None}
    states = uncommitted(hashes)
    records: dict[str, dict[str, Any]] = {}
    for impl in impls:
        file = files[impl.key]
        dirty = states.get(file) if file is not None else None
        if dirty is None and impl.origin.startswith("plugin:"):
            dirty = True  # committed nowhere: only its hash says which version ran
        records[impl.key] = {
            "origin": impl.origin,
            "file": str(file) if file is not None else impl.source,
            "sha256": hashes.get(file) if file is not None else None,
            "dirty": dirty,
        }
    return records

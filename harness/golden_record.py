"""Recording golden fixtures: every source's samples through the real library, on the CPU
and on the CUDA device when torch sees one, into ``.npz`` files and a manifest.

A library missing here skips its sources with the reason; a call that fails costs its own
fixture, recorded in the manifest with a one-line reason; past the deadline or the size cap
the remaining samples are skipped, not attempted.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.golden import Fixture, save_fixture, write_manifest
from harness.golden_sources import LIBRARIES, SOURCES, Sample, Source

MAX_BYTES = 2 * 2**20  # the whole folder: fixtures are committed, keep them small


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _import(name: str) -> Any:
    """The library, or the one-line reason it cannot be used here."""
    try:
        return importlib.import_module(name)
    except Exception as exc:  # a broken install must not stop the other libraries
        if isinstance(exc, ModuleNotFoundError) and exc.name == name:
            return f"{name} not installed"
        return f"{name} cannot be imported: {_one_line(exc)}"


def devices(torch: Any) -> list[str]:
    """The CPU always; the CUDA device when torch sees one."""
    try:
        return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    except Exception:
        return ["cpu"]


@dataclass
class Recording:
    """What a recording run produced: manifest entries, and what was skipped or failed."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return sum(int(e["bytes"]) for e in self.entries)


def _version(module: Any) -> str | None:
    version = getattr(module, "__version__", None)
    return str(version) if version is not None else None


def record_fixtures(
    folder: Path,
    *,
    torch: Any = None,
    libraries: dict[str, Any] | None = None,
    sources: Iterable[Source] = SOURCES,
    deadline: float = math.inf,
    max_bytes: int = MAX_BYTES,
) -> Recording:
    """Run every source on every device and write its fixtures and the manifest to ``folder``.

    ``torch`` and ``libraries`` (name -> module) stand in for the imports (tests); a library
    missing here skips its sources with the reason. Past ``deadline`` (``time.monotonic()``)
    or ``max_bytes`` written, the remaining samples are skipped, not attempted.
    """
    rec = Recording()
    torch = torch if torch is not None else _import("torch")
    if isinstance(torch, str):
        rec.skipped.append({"op": "*", "reason": torch})
        write_manifest(folder, rec.entries, rec.failed, skipped=rec.skipped)
        return rec
    libs = dict(libraries) if libraries is not None else {n: _import(n) for n in LIBRARIES}
    where = devices(torch)
    for source in sources:
        lib = libs.get(source.library, f"{source.library} not installed")
        if isinstance(lib, str):
            rec.skipped.append({"op": source.op, "reason": lib})
            continue
        versions = {"torch": _version(torch), source.library: _version(lib)}
        try:
            samples = source.samples()
        except Exception as exc:
            rec.failed.append({"op": source.op, "reason": f"inputs: {_one_line(exc)}"})
            continue
        for sample in samples:
            for device in where:
                label = {"op": source.op, "variant": sample.variant, "device": device}
                if time.monotonic() >= deadline or rec.nbytes >= max_bytes:
                    why = "time budget spent" if time.monotonic() >= deadline else "size cap"
                    rec.skipped.append({**label, "reason": why})
                    continue
                try:
                    fixture = _run(source, sample, lib, torch, device, versions)
                    rec.entries.append(save_fixture(folder, fixture))
                except Exception as exc:
                    rec.failed.append({**label, "reason": _one_line(exc)})
    write_manifest(folder, rec.entries, rec.failed, skipped=rec.skipped)
    return rec


def _run(
    source: Source, sample: Sample, lib: Any, torch: Any, device: str, versions: dict[str, Any]
) -> Fixture:
    tensors = {
        k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in sample.inputs.items()
    }
    outputs = source.call(lib, torch, tensors, dict(sample.params))
    arrays = {k: np.asarray(v.detach().cpu().numpy()) for k, v in outputs.items()}
    short = source.op.split(".", 1)[0] + "." + source.op.rsplit(".", 1)[-1]
    return Fixture(
        name=f"{short}.{sample.variant}.{device}",
        op=source.op,
        library=source.library,
        versions=versions,
        device=device,
        seed=sample.seed,
        params=dict(sample.params),
        inputs=dict(sample.inputs),
        outputs=arrays,
        case=dict(sample.case),
    )

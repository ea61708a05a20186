"""The results file: one JSON document per run, versioned, fingerprinted and written atomically."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.backends import libraries

SCHEMA_VERSION = 1
#: The JSON Schema every results file is checked against when it is read (load_results).
SCHEMA_FILE = Path(__file__).with_name("schema") / "results.schema.json"
# Distributions whose versions a run records: the array backends' libraries among them.
LIBRARIES = tuple(
    dict.fromkeys(
        (
            "numpy",
            "scipy",
            *libraries(),
            "opencv-python-headless",
            "shapely",
            "pandas",
            "pytest",
            "pytest-benchmark",
            "hypothesis",
        )
    )
)


class ResultsError(Exception):
    """A results file that is missing, unreadable or of another schema (CLI exit 2)."""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return round(pages * size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _gpu() -> str | None:
    """The CUDA device name, asked of torch only when torch is already imported."""
    import sys

    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_available():
            return str(torch.cuda.get_device_name(0))
    except Exception:
        return None
    return None


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "gpu": _gpu(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    ident = json.dumps({k: info[k] for k in ("cpu", "cores", "memory_gb", "gpu")}, sort_keys=True)
    info["fingerprint"] = hashlib.sha256(ident.encode()).hexdigest()[:12]
    return info


def git_info(root: Path | None = None) -> dict[str, Any]:
    cwd = root or Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@dataclass
class Run:
    """A run being recorded; ``save`` may be called repeatedly (each write is atomic).

    ``ceilings`` holds the machine's measured limits keyed by device (see harness.ceilings);
    only ``shootout bench`` fills it, so an empty dict means "not measured".
    """

    command: str
    profile: str | None
    threads: dict[str, Any]
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    measurements: list[dict[str, Any]] = field(default_factory=list)  # Measurement.as_dict()s
    ceilings: dict[str, Any] = field(default_factory=dict)
    # where each implementation came from (harness.provenance), by key; filled on first save
    implementations: dict[str, Any] = field(default_factory=dict)
    # machine, git and versions: asked once per process, as the run is saved after each cell
    _context: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_document(cls, data: dict[str, Any]) -> Run:
        """The run a results file records, to be continued (a resumed worker appends to it)."""
        return cls(
            command=data.get("command", ""),
            profile=data.get("profile"),
            threads=data.get("threads", {}),
            run_id=data.get("run_id", uuid.uuid4().hex[:12]),
            created=data.get("created", ""),
            verdicts=list(data["verdicts"]),
            measurements=list(data["measurements"]),
            ceilings=data.get("ceilings", {}),
            implementations=data.get("implementations", {}),
        )

    def document(self, complete: bool) -> dict[str, Any]:
        if not self._context:
            self._context = {
                "machine": machine_info(),
                "git": git_info(),
                "versions": library_versions(),
            }
        git = dict(self._context["git"])
        if any(record.get("dirty") for record in self.implementations.values()):
            git["dirty"] = True  # an uncommitted implementation: the commit is not what ran
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "created": self.created,
            "complete": complete,
            "command": self.command,
            "profile": self.profile,
            **self._context,
            "git": git,
            "threads": self.threads,
            "ceilings": self.ceilings,
            "implementations": self.implementations,
            "verdicts": self.verdicts,
            "measurements": self.measurements,
        }

    def default_path(self, directory: Path) -> Path:
        stamp = self.created.replace(":", "").replace("-", "").replace("+0000", "Z")
        return directory / f"{stamp}-{self.run_id}.json"

    def save(self, path: Path, complete: bool) -> Path:
        write_atomic(path, encode_document(self.document(complete)))
        return path


#: The lists of a results document written one record to a line.
RECORD_LISTS = ("verdicts", "measurements")


def encode_document(document: dict[str, Any]) -> str:
    """A results document as JSON text: one top-level key to a line, and one record to a
    line in the verdict and measurement lists, so the file reads and diffs line by line.

    Every value goes through ``json.dumps`` without ``indent``, which is the C encoder:
    with ``indent`` the json module falls back to its pure-Python encoder, some 20 times
    slower, and a run saves its growing file again every few seconds (a 13 MB quick-profile
    file took 40 % of the run that way).
    """
    lines = []
    for key, value in document.items():
        if key in RECORD_LISTS and value:
            body = ",\n  ".join(json.dumps(record, allow_nan=True) for record in value)
            text = f"[\n  {body}\n ]"
        else:
            text = json.dumps(value, allow_nan=True)
        lines.append(f" {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def current_umask() -> int:
    """The process's umask, read without changing it where Linux tells it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (the only portable way to read it)
    os.umask(mask)
    return mask


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target.

    The file gets the permissions of any file the user creates (0666 less the umask), not
    the private 0600 of a temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        data = content.encode() if isinstance(content, str) else content
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_results(path: Path) -> dict[str, Any]:
    """Read and check one results file; raises ResultsError with a one-line reason."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ResultsError(f"results file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"results file {str(path)!r} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"results file {str(path)!r} is not valid JSON (line {exc.lineno}: {exc.msg})"
        ) from None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        found = data.get("schema_version") if isinstance(data, dict) else None
        raise ResultsError(
            f"results file {str(path)!r} has schema version {found!r}, expected {SCHEMA_VERSION}"
        )
    for key in ("machine", "verdicts", "measurements"):
        if key not in data:
            raise ResultsError(f"results file {str(path)!r} lacks {key!r}")
    problem = schema_problem(data)
    if problem:
        raise ResultsError(f"results file {str(path)!r}: {problem}")
    return data


@functools.cache
def _validator() -> Callable[[Any], Any]:
    """The schema compiled to Python (fastjsonschema): a full bench file is checked in a
    fraction of a second, where an interpreting validator takes many seconds."""
    try:
        import fastjsonschema
    except ImportError:
        raise ResultsError(
            "checking results files needs the fastjsonschema package (pip install fastjsonschema)"
        ) from None
    check: Callable[[Any], Any] = fastjsonschema.compile(
        json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    )
    return check


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def schema_problem(document: Any) -> str:
    """'' when ``document`` follows the results schema, else its first problem, in one
    line: where it is, what was found there and what belongs there."""
    check = _validator()  # first: it says what to install when the validator is missing
    import fastjsonschema

    try:
        check(document)
    except fastjsonschema.JsonSchemaValueException as error:
        where = (error.name or "data").removeprefix("data").removeprefix(".") or "the document"
        rule, definition = error.rule, error.definition or {}
        if rule == "required":
            missing = [k for k in definition.get("required", []) if k not in (error.value or {})]
            return f"{where} lacks {', '.join(map(repr, missing))}"
        if rule == "type":
            wanted = definition.get("type")
            wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
            return f"{where} is {_short(error.value)}; expected {wanted}"
        if rule in ("enum", "const"):
            allowed = definition.get(rule)
            allowed = allowed if isinstance(allowed, list) else [allowed]
            return f"{where} is {_short(error.value)}; expected one of " + ", ".join(
                _short(a) for a in allowed
            )
        return " ".join(error.message.removeprefix("data.").split())[:200]  # pattern, ...
    return ""


def find_results(paths: list[Path]) -> list[Path]:
    """Expand folders into the results files they hold (newest last)."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(q for q in p.glob("*.json") if not q.name.startswith(".")))
        else:
            found.append(p)
    return found

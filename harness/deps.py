"""The project's required packages, and the one line that says what to install when one is
missing (instead of an ImportError's traceback). Standard library only: it must work in an
environment that has none of them."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "opshootout"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
# Where an importable module's name is not its distribution's (none among today's requirements).
MODULE_OF = {"scikit-learn": "sklearn", "opencv-python-headless": "cv2", "pot": "ot"}


def _module(requirement: str) -> str | None:
    match = _NAME.match(requirement)
    if match is None:
        return None
    name = match[1].lower()
    return MODULE_OF.get(name, name.replace("-", "_").replace(".", "_"))


@cache
def requirements() -> dict[str, str]:
    """Importable module -> requirement, for the required (not optional) dependencies: from
    the checkout's pyproject.toml, else from the installed distribution's metadata."""
    listed: list[str] = []
    pyproject = ROOT / "pyproject.toml"
    if pyproject.is_file():
        try:
            listed = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            listed = []
    if not listed:
        from importlib import metadata

        try:
            listed = [r for r in metadata.requires(DISTRIBUTION) or [] if "extra ==" not in r]
        except metadata.PackageNotFoundError:
            listed = []
    out = {}
    for requirement in listed:
        module = _module(requirement)
        if module:
            out[module] = requirement.split(";")[0].split("#")[0].strip()
    return out


def install_hint(requirements: list[str]) -> str:
    quoted = " ".join(f"'{r}'" for r in requirements)
    return f"pip install {quoted} (or, in the checkout, pip install -e . for all of them)"


def missing_dependency(exc: ImportError) -> str | None:
    """The message for an import that failed because a required package is missing or
    broken; None when ``exc`` is about anything else (a bug, a plugin's own import)."""
    name = (exc.name or "").split(".")[0]
    requirement = requirements().get(name)
    if requirement is None:
        return None
    return (
        f"the required package {name!r} cannot be imported ({exc}); {install_hint([requirement])}"
    )


def missing_requirements() -> list[str]:
    """The required packages that cannot be imported here."""
    return [r for m, r in requirements().items() if not _importable(m)]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    return match[1] if match else requirement

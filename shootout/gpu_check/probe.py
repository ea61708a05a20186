"""The probe phase: what is importable here, which versions, and which CUDA device each GPU
library sees. Run as its own process, so a library that crashes on import costs only this."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import platform
import sys
from pathlib import Path
from typing import Any

#: module -> (distribution for a wheel install, needed by the check itself, imported by the
#: probe). The GPU and fixture libraries are imported (an import can fail on a CUDA or ABI
#: mismatch that only the import shows); the others are only looked up, which is cheap.
MODULES: dict[str, tuple[str, bool, bool]] = {
    "torch": ("torch", False, True),
    "cupy": ("cupy-cuda12x", False, True),
    "numba": ("numba", False, True),
    "torchvision": ("torchvision", False, True),
    "torchmetrics": ("torchmetrics", False, True),
    "torch_geometric": ("torch-geometric", False, True),
    "numpy": ("numpy", True, False),
    "scipy": ("scipy", True, False),
    "pytest": ("pytest", True, False),
    "pytest_benchmark": ("pytest-benchmark", True, False),
    "hypothesis": ("hypothesis", True, False),
    "array_api_compat": ("array-api-compat", True, False),
    "threadpoolctl": ("threadpoolctl", True, False),
    "cv2": ("opencv-python-headless", False, False),
    "sklearn": ("scikit-learn", False, False),
    "pandas": ("pandas", False, False),
    "shapely": ("shapely", False, False),
    "ot": ("POT", False, False),
    "plotly": ("plotly", False, False),
}


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def module_record(name: str, load: bool = True) -> dict[str, Any]:
    """{"ok", "version"} or {"ok": False, "error"}; never raises. Without ``load`` the
    module is only found, not imported, and its distribution's version is read."""
    if not load:
        if importlib.util.find_spec(name) is None:
            return {"ok": False, "error": "not installed"}
        try:
            version = importlib.metadata.version(MODULES[name][0])
        except (importlib.metadata.PackageNotFoundError, KeyError):
            version = ""
        return {"ok": True, "version": version, "imported": False}
    try:
        module = importlib.import_module(name)
    except BaseException as exc:  # SystemExit from a broken package, too
        return {"ok": False, "error": _one_line(exc)}
    return {"ok": True, "version": str(getattr(module, "__version__", "") or ""), "imported": True}


def _torch_cuda() -> dict[str, Any]:
    import torch

    from harness.device_timing import l2_bytes, tf32_state

    if not torch.cuda.is_available():
        return {"available": False, "reason": "torch: CUDA not available"}
    props = torch.cuda.get_device_properties(0)
    return {
        "available": True,
        "device": torch.cuda.get_device_name(0),
        "count": torch.cuda.device_count(),
        "capability": list(torch.cuda.get_device_capability(0)),
        "cuda": torch.version.cuda,
        "memory_gib": round(props.total_memory / 2**30, 1),
        "l2_bytes": l2_bytes("torch", torch),
        "tf32": tf32_state(torch),
    }


def _cupy_cuda() -> dict[str, Any]:
    import cupy

    count = cupy.cuda.runtime.getDeviceCount()
    if not count:
        return {"available": False, "reason": "cupy: no CUDA device"}
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    return {
        "available": True,
        "device": name.decode() if isinstance(name, bytes) else str(name),
        "count": count,
        "runtime": cupy.cuda.runtime.runtimeGetVersion(),
    }


def _numba_cuda() -> dict[str, Any]:
    cuda: Any = importlib.import_module("numba.cuda")
    if not cuda.is_available():
        return {"available": False, "reason": "numba.cuda: not available"}
    name = cuda.get_current_device().name
    return {"available": True, "device": name.decode() if isinstance(name, bytes) else str(name)}


def cuda_record(modules: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each GPU library's view of the device; ``available`` when torch or CuPy sees one."""
    views: dict[str, dict[str, Any]] = {}
    for name, look in (("torch", _torch_cuda), ("cupy", _cupy_cuda), ("numba", _numba_cuda)):
        if not modules.get(name, {}).get("ok"):
            views[name] = {"available": False, "reason": f"{name} not importable"}
            continue
        try:
            views[name] = look()
        except Exception as exc:
            views[name] = {"available": False, "reason": f"{name}: {_one_line(exc)}"}
    available = any(views[n]["available"] for n in ("torch", "cupy"))
    reasons = "; ".join(v["reason"] for v in views.values() if not v["available"])
    reason = "" if available else f"no CUDA device ({reasons})"
    return {"available": available, "reason": reason, **views}


def gpu_cells() -> list[dict[str, Any]] | str:
    """Every implementation that runs on the GPU (torch_cuda, CuPy, a library on CUDA
    arrays) with the reason it cannot run here; or why the registry did not load."""
    from harness.backends import device_of
    from harness.registry import load_registry

    try:
        registry = load_registry()
    except Exception as exc:
        return f"the registry did not load: {_one_line(exc)}"
    return [
        {
            "impl": i.key,
            "algorithm": i.algorithm,
            "backend": i.backend,
            "variant": i.variant,
            "arrays": i.arrays,
            "reason": i.unavailable_reason() or "",
        }
        for i in registry.implementations.values()
        if i.backend in ("torch_cuda", "cupy")
        or (i.backend == "library" and device_of(i.arrays) == "cuda")
    ]


def main(args: argparse.Namespace) -> int:
    """Write ``phases/probe.json``, again after each step: a crash keeps what came before."""
    path = Path(args.out) / "phases" / "probe.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "executable": sys.executable,
    }
    path.write_text(json.dumps(record, indent=1, default=str))
    modules = {name: module_record(name, load) for name, (_, _, load) in MODULES.items()}
    record["modules"] = modules
    record["missing_required"] = [
        n for n, (_, needed, _) in MODULES.items() if needed and not modules[n]["ok"]
    ]
    path.write_text(json.dumps(record, indent=1, default=str))
    record["cuda"] = cuda_record(modules)
    path.write_text(json.dumps(record, indent=1, default=str))
    record["cells"] = gpu_cells()
    path.write_text(json.dumps(record, indent=1, default=str))
    return 0

"""Machine ceilings for roofline plots, measured once per ``shootout bench`` run.

Per device two limits are measured under the thread settings already in force (this module
never changes them):

* ``memory_gbps``, STREAM-like. CPU: ``np.copyto(dst, src)`` counts 2× the array bytes (read
  + write) and ``np.add(src, dst, out=dst)`` 3× (two reads, one write; writing into an
  operand avoids the hidden write-allocate read a fresh output array would add). Arrays are
  256 MiB each (32 MiB at effort "smoke", which then measures cache rather than DRAM). CUDA:
  ``dst.copy_(src)`` (torch) or ``cupy.copyto`` on 1 GiB (64 MiB at "smoke").
* ``matmul_gflops`` per dtype: square GEMM, 2·n³ flops per product. CPU: float32 and float64
  through NumPy's BLAS and, when installed, torch. CUDA through torch: float32 with TF32 off
  (IEEE), ``tf32`` (float32 operands with TF32 allowed), float16, bfloat16 and float64; the
  TF32 switch is restored afterwards and ``tf32`` records the state the cells run under.
  Through CuPy, when torch sees no CUDA device: float32 (TF32 as ``CUPY_TF32`` says),
  float16 and float64.

Each figure is the best (largest) rate over a few repetitions after one warm-up call, timed
with ``time.perf_counter`` on the CPU and CUDA events on the GPU; the ``*_method`` texts name
the kernel or library that won and the size. The result is keyed by device: ``"cpu"`` always,
``"cuda"`` only when a CUDA backend (``torch_cuda``, ``cupy``) is being benchmarked. A device
that could not be measured gets ``{"unavailable": true, "note": reason, "seconds": ...}``
instead of numbers. ``threads`` (CPU only) is the largest pool size the BLAS and torch
report; ``cache_bytes`` the last-level cache (CPU) or L2 (GPU), when known. An empty
``ceilings`` in a results file means "not measured": only ``shootout bench`` measures, plain
pytest runs do not.

A timing above these ceilings is impossible, so ``beyond_roof`` names one that exceeds a
roof by more than ``ROOF_MARGIN``; the measurement keeps it in its ``flagged`` field.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from harness.backends import device_of, libraries

EFFORTS = ("smoke", "quick", "full")
_MIB = 2**20
# effort -> (CPU MiB per array, CPU n, CUDA MiB per array, CUDA n for float32/16, for float64)
_SIZES = {
    "smoke": (32, 512, 64, 1024, 1024),
    "quick": (256, 2048, 1024, 8192, 4096),
    "full": (256, 2048, 1024, 8192, 4096),
}
_MEMORY_REPS, _MATMUL_REPS, _MATMUL_BUDGET_S = 5, 3, 0.25
clock: Callable[[], float] = time.perf_counter
Kernel = Callable[[], object]
Elapsed = Callable[[Kernel], float]  # runs a kernel once, returns its seconds


def gemm_flops(n: int) -> float:
    """Floating-point operations of one n×n by n×n product: n² dot products of length n."""
    return 2.0 * n**3


def best_rate(work: float, seconds: Iterable[float]) -> float:
    """The best (largest) rate over repeated timings, in units of ``work`` per nanosecond."""
    return max(work / s for s in seconds if s > 0) / 1e9


def wall(fn: Kernel) -> float:
    start = clock()
    fn()
    return clock() - start


def time_repeats(
    fn: Kernel, reps: int, budget: float = math.inf, elapsed: Elapsed = wall
) -> list[float]:
    """One warm-up call, then ``reps`` timed calls (only 2 when those already exceed budget)."""
    elapsed(fn)
    times: list[float] = []
    while len(times) < reps and (len(times) < 2 or sum(times) < budget):
        times.append(elapsed(fn))
    return times


def best_kernel(
    kernels: Mapping[str, tuple[float, Kernel]],
    reps: int,
    budget: float = math.inf,
    elapsed: Elapsed = wall,
) -> tuple[float, str, int]:
    """(best rate, its kernel's name, timed repetitions) over ``{name: (work, kernel)}``."""
    best = (0.0, "", 0)
    for name, (work, fn) in kernels.items():
        times = time_repeats(fn, reps, budget, elapsed)
        best = max(best, (best_rate(work, times), name, len(times)))
    return best


def _llc_bytes() -> int | None:
    sizes = []
    for path in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = path.read_text().strip().upper()
        sizes.append(int(text.rstrip("KM")) * {"K": 2**10, "M": _MIB}.get(text[-1:], 1))
    return max(sizes, default=None)


def _cpu_memory(mib: int) -> tuple[float, str]:
    src = np.full(mib * _MIB // 8, 1.0)
    dst = np.empty_like(src)  # first touched by the warm-up call, outside the timing
    kernels: dict[str, tuple[float, Kernel]] = {
        "copy": (2.0 * src.nbytes, partial(np.copyto, dst, src)),
        "add": (3.0 * src.nbytes, partial(np.add, src, dst, out=dst)),
    }
    rate, name, reps = best_kernel(kernels, _MEMORY_REPS)
    return rate, f"numpy {name} of 2×{mib} MiB float64 arrays, best of {reps}"


def _measure_cpu(effort: str) -> dict[str, Any]:
    from threadpoolctl import threadpool_info

    mib, n = _SIZES[effort][:2]
    torch = sys.modules.get("torch")
    if torch is None and importlib.util.find_spec("torch") is not None:
        torch = importlib.import_module("torch")
    gbps, method = _cpu_memory(mib)
    rec: dict[str, Any] = {"memory_gbps": gbps, "memory_method": method}
    rec["matmul_gflops"], rec["matmul_method"] = {}, {}
    rng = np.random.default_rng(0)
    for dtype in ("float32", "float64"):
        a, b = (rng.random((n, n), dtype=dtype) - 0.5 for _ in range(2))
        operands: dict[str, tuple[Any, Any, Any]] = {"numpy": (np.matmul, a, b)}
        if torch is not None:
            operands["torch"] = (torch.matmul, torch.from_numpy(a), torch.from_numpy(b))
        kernels = {lib: (gemm_flops(n), partial(mm, x, y)) for lib, (mm, x, y) in operands.items()}
        rate, lib, reps = best_kernel(kernels, _MATMUL_REPS, _MATMUL_BUDGET_S)
        rec["matmul_gflops"][dtype] = rate
        rec["matmul_method"][dtype] = f"{lib}.matmul {n}×{n}, best of {reps}"
    blas = [int(p["num_threads"]) for p in threadpool_info() if p.get("user_api") == "blas"]
    pools = {"blas": max(blas, default=1)}
    if torch is not None:
        pools["torch"] = int(torch.get_num_threads())
    rec["threads"] = max(1, *pools.values())
    llc = _llc_bytes()
    rec["cache_bytes"] = llc
    caveat = f"; last-level cache is {llc // _MIB} MiB" if llc and llc > mib * _MIB else ""
    rec["note"] = f"threads reported: {pools}{caveat}"
    return rec


def _find_gpu() -> tuple[str, Any] | str:
    """torch when it sees a CUDA device, else CuPy when it does; else why neither can."""
    reasons = []
    for library in libraries("cuda"):  # torch, then cupy
        if importlib.util.find_spec(library) is None:
            reasons.append(f"{library} not installed")
            continue
        xp = importlib.import_module(library)
        try:
            if xp.cuda.is_available() if library == "torch" else xp.cuda.runtime.getDeviceCount():
                return library, xp
            reasons.append(f"{library} sees no CUDA device")
        except Exception as exc:
            reasons.append(f"{library}: {type(exc).__name__}: {exc}")
    return "no usable CUDA device: " + "; ".join(reasons)


def _measure_cuda(effort: str) -> dict[str, Any]:
    found = _find_gpu()
    if isinstance(found, str):
        return {"unavailable": True, "note": found}
    library, xp = found
    is_torch = library == "torch"
    mib, n, n64 = _SIZES[effort][2:]

    event = partial(xp.cuda.Event, enable_timing=True) if is_torch else xp.cuda.Event

    def elapsed(fn: Kernel) -> float:
        start, end = event(), event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        ms = start.elapsed_time(end) if is_torch else xp.cuda.get_elapsed_time(start, end)
        return float(ms) / 1e3

    if is_torch:
        tf32, name = bool(xp.backends.cuda.matmul.allow_tf32), str(xp.cuda.get_device_name())
        src = xp.ones(mib * _MIB // 4, dtype=xp.float32, device="cuda")
        dst = xp.empty_like(src)
        copy: Kernel = partial(dst.copy_, src)
    else:
        tf32 = os.environ.get("CUPY_TF32", "0") == "1"  # CuPy's switch for TF32 float32 GEMM
        name = xp.cuda.runtime.getDeviceProperties(xp.cuda.Device().id)["name"].decode()
        src = xp.ones(mib * _MIB // 4, dtype=xp.float32)
        dst = xp.empty_like(src)
        copy = partial(xp.copyto, dst, src)
    rate, _, reps = best_kernel({"copy": (2.0 * mib * _MIB, copy)}, _MEMORY_REPS, elapsed=elapsed)
    del src, dst, copy
    rec: dict[str, Any] = {
        "memory_gbps": rate,
        "memory_method": f"{library} copy of 2×{mib} MiB float32 on the GPU, best of {reps}",
        "matmul_gflops": {},
        "matmul_method": {},
        "tf32": tf32,
        "note": f"{name}; timed with CUDA events",
        "cache_bytes": _l2_bytes(xp) if is_torch else None,
    }
    # (key, dtype, TF32 allowed during the product: None leaves the switch alone)
    plan: list[tuple[str, str, bool | None]] = [
        ("float32", "float32", None),
        ("float16", "float16", None),
    ]
    if is_torch:
        plan = [("float32", "float32", False), ("tf32", "float32", True), *plan[1:]]
        plan.append(("bfloat16", "bfloat16", None))
    for key, dtype, allow in [*plan, ("float64", "float64", None)]:
        k = n64 if dtype == "float64" else n
        if is_torch:
            a, b = (xp.randn(k, k, dtype=getattr(xp, dtype), device="cuda") for _ in range(2))
        else:
            a, b = (
                xp.random.standard_normal((k, k), dtype="float32").astype(dtype) for _ in range(2)
            )
        kernel = {"": (gemm_flops(k), partial(xp.matmul, a, b))}
        if allow is not None:
            xp.backends.cuda.matmul.allow_tf32 = allow
        try:
            rate, _, reps = best_kernel(kernel, _MATMUL_REPS, _MATMUL_BUDGET_S, elapsed)
        finally:
            if allow is not None:
                xp.backends.cuda.matmul.allow_tf32 = tf32
        del a, b, kernel
        on = tf32 if allow is None else allow
        mode = (" (TF32 allowed)" if on else " (TF32 off)") if dtype == "float32" else ""
        rec["matmul_gflops"][key] = rate
        rec["matmul_method"][key] = f"{library}.matmul {k}×{k} {dtype}{mode}, best of {reps}"
    if is_torch:
        xp.cuda.empty_cache()
    else:
        xp.get_default_memory_pool().free_all_blocks()
    return rec


def _l2_bytes(torch: Any) -> int | None:
    size = getattr(
        torch.cuda.get_device_properties(torch.cuda.current_device()), "L2_cache_size", 0
    )
    return int(size) or None


# A cell is flagged when it beats a measured roof by more than this factor. Not 1: a roof
# is itself a measurement (best of a few repetitions of one kernel), and a cost model counts
# the work an algorithm needs, which a clever implementation may legitimately trim a little.
ROOF_MARGIN = 1.5
_FLOAT_DTYPES = ("float16", "float32", "float64")


def beyond_roof(m: Mapping[str, Any], ceilings: Mapping[str, Any], footprint: float = 0.0) -> str:
    """Why a timed cell (a results-file measurement) is faster than the machine allows, or "".

    Compute: achieved GFLOP/s against the matmul peak of the cell's float dtype (integer
    and boolean work is not bounded by it). Memory: achieved GB/s against the measured
    bandwidth, only when the cell's inputs (``footprint`` bytes) exceed the cache: data that
    fits in cache is legitimately read faster than memory, and an iterative algorithm's
    cost model counts every pass over it. Nothing is judged without a measured ceiling.
    """
    record = ceilings.get(str(m.get("device") or "cpu"))
    if not isinstance(record, Mapping) or record.get("unavailable"):
        return ""
    peaks = record.get("matmul_gflops")
    peak = peaks.get(m.get("dtype")) if isinstance(peaks, Mapping) else None
    gflops, gbps = m.get("gflops") or 0.0, m.get("gbps") or 0.0
    if m.get("dtype") in _FLOAT_DTYPES and peak and gflops > ROOF_MARGIN * peak:
        return (
            f"faster than the machine allows: {gflops:.3g} GFLOP/s is {gflops / peak:.1f}x "
            f"the measured {m['dtype']} matmul peak ({peak:.3g} GFLOP/s)"
        )
    bandwidth, cache = record.get("memory_gbps"), record.get("cache_bytes")
    if bandwidth and cache and footprint > cache and gbps > ROOF_MARGIN * bandwidth:
        return (
            f"faster than the machine allows: {gbps:.3g} GB/s is {gbps / bandwidth:.1f}x the "
            f"measured memory bandwidth ({bandwidth:.3g} GB/s), on {footprint / _MIB:.3g} MiB "
            f"of inputs that do not fit in the {cache / _MIB:.3g} MiB cache"
        )
    return ""


def measure_ceilings(backends: Iterable[str], *, effort: str = "quick") -> dict[str, Any]:
    """The ceilings of every device the ``backends`` run on, JSON-ready and keyed by device."""
    if effort not in EFFORTS:
        raise ValueError(f"unknown effort {effort!r} (known: {', '.join(EFFORTS)})")
    devices = {"cpu": _measure_cpu}
    if any(device_of(b) == "cuda" for b in backends):
        devices["cuda"] = _measure_cuda
    out: dict[str, Any] = {}
    for device, measure in devices.items():
        start = clock()
        try:
            record = measure(effort)
        except Exception as exc:  # a ceiling that cannot be measured must not stop the run
            record = {"unavailable": True, "note": f"failed: {type(exc).__name__}: {exc}"}
        record["seconds"] = round(clock() - start, 3)
        out[device] = record
    return out


def summary(ceilings: dict[str, Any]) -> str:
    """One line for the terminal, e.g. ``ceilings: cpu 12.3 GB/s, 45.6 GFLOP/s float32 (1.8 s)``."""
    parts = []
    for device, rec in ceilings.items():
        if rec.get("unavailable"):
            parts.append(f"{device} not measured ({rec['note']})")
            continue
        flops = "".join(f", {v:.1f} GFLOP/s {k}" for k, v in rec["matmul_gflops"].items())
        parts.append(f"{device} {rec['memory_gbps']:.1f} GB/s{flops} ({rec['seconds']:.1f} s)")
    return "ceilings: " + "; ".join(parts)

"""Tests of harness.ceilings: the record's shape, the device selection and the rate arithmetic.

Nothing here asserts how fast this machine is; only that the numbers are finite, positive
and computed from the right amount of work.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import harness.ceilings
from harness.ceilings import (
    ROOF_MARGIN,
    best_kernel,
    best_rate,
    beyond_roof,
    gemm_flops,
    measure_ceilings,
    summary,
    time_repeats,
)
from harness.results import Run


@pytest.fixture(scope="module")
def smoke() -> dict[str, Any]:
    return measure_ceilings(["numpy", "torch_cpu"], effort="smoke")


def _cuda_usable() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    return bool(importlib.import_module("torch").cuda.is_available())


def test_cpu_record_has_finite_positive_rates_and_methods(smoke: dict[str, Any]) -> None:
    cpu = smoke["cpu"]
    assert not cpu.get("unavailable"), cpu
    rates = [cpu["memory_gbps"], cpu["matmul_gflops"]["float32"], cpu["matmul_gflops"]["float64"]]
    assert all(isinstance(r, float) and math.isfinite(r) and r > 0 for r in rates)
    assert cpu["memory_method"] and "MiB" in cpu["memory_method"]
    assert set(cpu["matmul_method"]) == {"float32", "float64"}
    assert all("512×512" in m for m in cpu["matmul_method"].values())
    assert isinstance(cpu["threads"], int) and cpu["threads"] >= 1
    assert cpu["seconds"] >= 0 and isinstance(cpu["note"], str)
    json.dumps(smoke, allow_nan=False)


def test_no_cuda_entry_without_a_cuda_backend(smoke: dict[str, Any]) -> None:
    assert set(smoke) == {"cpu"}


@pytest.mark.skipif(_cuda_usable(), reason="this machine has a CUDA device")
def test_a_cuda_backend_without_a_device_gets_an_unavailable_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(harness.ceilings, "_measure_cpu", lambda effort: {"threads": 1})
    result = measure_ceilings(["numpy", "torch_cuda"], effort="smoke")
    assert set(result) == {"cpu", "cuda"}
    cuda = result["cuda"]
    assert cuda["unavailable"] is True and "no usable CUDA device" in cuda["note"]
    assert "memory_gbps" not in cuda
    json.dumps(result, allow_nan=False)


@pytest.fixture
def no_gpu_libraries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Pretend torch and CuPy are not installed; record any attempt to import them."""
    imported: list[str] = []
    real_find, real_import = importlib.util.find_spec, importlib.import_module

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name in ("torch", "cupy") else real_find(name, *args, **kwargs)

    def import_module(name: str, *args: Any, **kwargs: Any) -> Any:
        if name in ("torch", "cupy"):
            imported.append(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(importlib, "import_module", import_module)
    yield imported


def test_absent_gpu_libraries_are_reported_not_imported(no_gpu_libraries: list[str]) -> None:
    reason = harness.ceilings._find_gpu()
    assert reason == "no usable CUDA device: torch not installed; cupy not installed"
    assert no_gpu_libraries == []


def test_a_failing_measurement_is_recorded_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(effort: str) -> dict[str, Any]:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(harness.ceilings, "_measure_cpu", boom)
    result = measure_ceilings([], effort="smoke")
    assert result["cpu"]["unavailable"] is True
    assert result["cpu"]["note"] == "failed: RuntimeError: out of memory"
    assert summary(result) == "ceilings: cpu not measured (failed: RuntimeError: out of memory)"


def test_unknown_effort_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown effort 'huge'"):
        measure_ceilings([], effort="huge")


def test_gemm_work_and_best_of_picks_the_largest_rate() -> None:
    assert gemm_flops(1000) == 2e9
    # 2e9 flops in 4 s, 1 s and 2 s: the best is 2 GFLOP/s, from the fastest repetition
    assert best_rate(gemm_flops(1000), [4.0, 1.0, 2.0]) == pytest.approx(2.0)
    assert best_rate(3 * 2**30, [0.5, 0.25]) == pytest.approx(3 * 2**30 / 0.25 / 1e9)


def test_time_repeats_drops_the_warm_up_and_stops_past_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticks = iter([0.0, 9.0, 10.0, 11.0, 20.0, 22.0, 30.0, 31.0])
    monkeypatch.setattr(harness.ceilings, "clock", lambda: next(ticks))
    calls: list[int] = []
    times = time_repeats(lambda: calls.append(1), reps=5, budget=2.5)
    # warm-up took 9 s (ignored); then 1, 2 (past the budget of 2.5 s) and stop
    assert times == [1.0, 2.0] and len(calls) == 3
    assert time_repeats(lambda: None, reps=3, elapsed=lambda fn: 0.5) == [0.5, 0.5, 0.5]


def test_best_kernel_names_the_winner_and_its_repetitions() -> None:
    def slow() -> None: ...

    def fast() -> None: ...

    seconds = {slow: 2.0, fast: 0.5}
    kernels = {"slow": (gemm_flops(1000), slow), "fast": (gemm_flops(1000), fast)}
    rate, name, reps = best_kernel(kernels, reps=3, elapsed=lambda fn: seconds[fn])
    assert (rate, name, reps) == (pytest.approx(4.0), "fast", 3)


def test_summary_line() -> None:
    ceilings = {
        "cpu": {
            "memory_gbps": 12.34,
            "matmul_gflops": {"float32": 45.6, "float64": 22.1},
            "seconds": 1.83,
        }
    }
    assert summary(ceilings) == (
        "ceilings: cpu 12.3 GB/s, 45.6 GFLOP/s float32, 22.1 GFLOP/s float64 (1.8 s)"
    )


def test_a_run_nobody_measured_records_empty_ceilings() -> None:
    assert Run(command="pytest", profile="quick", threads={}).document(False)["ceilings"] == {}


class _Tensor(np.ndarray):
    def copy_(self, src: np.ndarray) -> _Tensor:
        np.copyto(self, src)
        return self


class _Event:
    def __init__(self, enable_timing: bool = True) -> None:
        self.at = 0.0

    def record(self) -> None:
        self.at = time.perf_counter()

    def synchronize(self) -> None: ...

    def elapsed_time(self, end: _Event) -> float:
        return (end.at - self.at) * 1e3


def _fake_gpu_library() -> Any:
    """Just enough of torch's or CuPy's CUDA API, on NumPy arrays, to walk the CUDA path."""

    def ones(k: int, dtype: Any, device: str = "cuda") -> _Tensor:
        return np.ones(k, dtype=dtype).view(_Tensor)

    def randn(*shape: int, dtype: Any, device: str) -> _Tensor:
        return np.ones(shape, dtype=dtype).view(_Tensor)

    cuda = SimpleNamespace(
        Event=_Event,
        is_available=lambda: True,
        get_device_name=lambda: "Fake GPU",
        current_device=lambda: 0,
        get_device_properties=lambda i: SimpleNamespace(L2_cache_size=50 * 2**20),
        empty_cache=lambda: None,
        get_elapsed_time=lambda start, end: start.elapsed_time(end),
        Device=lambda: SimpleNamespace(id=0),
        runtime=SimpleNamespace(getDeviceProperties=lambda i: {"name": b"Fake GPU"}),
    )
    return SimpleNamespace(
        float16=np.float16,
        bfloat16=np.float32,  # NumPy has no bfloat16; the dtype only has to exist
        float32=np.float32,
        float64=np.float64,
        ones=ones,
        empty_like=np.empty_like,
        copyto=np.copyto,
        matmul=np.matmul,
        randn=randn,
        random=SimpleNamespace(standard_normal=lambda shape, dtype: np.ones(shape, dtype)),
        cuda=cuda,
        backends=SimpleNamespace(cuda=SimpleNamespace(matmul=SimpleNamespace(allow_tf32=True))),
        get_default_memory_pool=lambda: SimpleNamespace(free_all_blocks=lambda: None),
    )


@pytest.mark.parametrize("library", ["torch", "cupy"])
def test_cuda_path_on_a_fake_device(monkeypatch: pytest.MonkeyPatch, library: str) -> None:
    """The CUDA code cannot run here; walk it against a NumPy stand-in for the GPU library."""
    monkeypatch.setitem(harness.ceilings._SIZES, "smoke", (1, 64, 1, 64, 32))
    monkeypatch.setenv("CUPY_TF32", "1")
    fake = _fake_gpu_library()
    switch_seen: set[tuple[str, bool]] = set()

    def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        switch_seen.add((str(a.dtype), fake.backends.cuda.matmul.allow_tf32))
        return np.matmul(a, b)

    fake.matmul = matmul
    monkeypatch.setattr(harness.ceilings, "_find_gpu", lambda: (library, fake))
    cuda = measure_ceilings(["cupy"], effort="smoke")["cuda"]
    assert not cuda.get("unavailable"), cuda
    dtypes = {"float32", "float16", "float64"}
    if library == "torch":  # TF32 and bfloat16 are torch's switches and dtypes
        dtypes |= {"tf32", "bfloat16"}
    assert set(cuda["matmul_gflops"]) == dtypes
    assert all(r > 0 for r in [cuda["memory_gbps"], *cuda["matmul_gflops"].values()])
    assert cuda["tf32"] is True
    if library == "torch":  # float32 is measured IEEE, tf32 apart; the switch is restored
        assert "TF32 off" in cuda["matmul_method"]["float32"]
        assert "TF32 allowed" in cuda["matmul_method"]["tf32"]
        assert fake.backends.cuda.matmul.allow_tf32 is True
        assert {("float32", False), ("float32", True)} <= switch_seen
    else:
        assert "TF32 allowed" in cuda["matmul_method"]["float32"]
    assert cuda["matmul_method"]["float64"].startswith(f"{library}.matmul 32×32")
    assert "Fake GPU" in cuda["note"]
    assert cuda["cache_bytes"] == (50 * 2**20 if library == "torch" else None)
    json.dumps(cuda, allow_nan=False)


# ---- a timing above the ceilings is impossible ----------------------------------------------

CEILINGS = {
    "cpu": {
        "memory_gbps": 10.0,
        "matmul_gflops": {"float32": 100.0, "float64": 50.0},
        "cache_bytes": 32 * 2**20,
    }
}


def timed_cell(**fields: Any) -> dict[str, Any]:
    return {"device": "cpu", "dtype": "float32", "gflops": 1.0, "gbps": 1.0, "bytes": 1e3, **fields}


def test_beyond_the_compute_roof_by_the_margin_is_flagged() -> None:
    assert ROOF_MARGIN == 1.5
    reason = beyond_roof(timed_cell(gflops=151.0), CEILINGS)
    assert reason == (
        "faster than the machine allows: 151 GFLOP/s is 1.5x the measured float32 matmul peak "
        "(100 GFLOP/s)"
    )
    assert beyond_roof(timed_cell(gflops=149.0), CEILINGS) == ""  # within the margin
    assert beyond_roof(timed_cell(dtype="float64", gflops=80.0), CEILINGS).startswith(
        "faster than the machine allows: 80 GFLOP/s is 1.6x the measured float64"
    )
    assert beyond_roof(timed_cell(dtype="int64", gflops=1e6), CEILINGS) == ""  # not float work


def test_the_memory_roof_binds_only_inputs_that_do_not_fit_in_cache() -> None:
    big = 64 * 2**20
    reason = beyond_roof(timed_cell(gbps=20.0, bytes=big), CEILINGS, footprint=big)
    assert reason.startswith("faster than the machine allows: 20 GB/s is 2.0x the measured memory")
    assert "64 MiB of inputs that do not fit in the 32 MiB cache" in reason
    assert beyond_roof(timed_cell(gbps=14.0, bytes=big), CEILINGS, footprint=big) == ""
    # an iterative algorithm counts every pass over data that stays in cache: no bound
    assert beyond_roof(timed_cell(gbps=20.0, bytes=big), CEILINGS, footprint=1e6) == ""
    no_cache = {"cpu": {**CEILINGS["cpu"], "cache_bytes": None}}
    assert beyond_roof(timed_cell(gbps=20.0, bytes=big), no_cache, footprint=big) == ""


def test_nothing_is_judged_without_a_measured_ceiling() -> None:
    fast = timed_cell(gflops=1e9, gbps=1e9, bytes=1e12)
    assert beyond_roof(fast, {}) == ""
    assert beyond_roof(fast, {"cpu": {"unavailable": True, "note": "x"}}) == ""
    assert beyond_roof({**fast, "device": "cuda"}, CEILINGS) == ""

"""Tests of harness.backends: what the rest of the harness asks of a backend by its name."""

from __future__ import annotations

from harness.backends import BACKENDS, device_of, is_interpreted, libraries


def test_devices() -> None:
    assert device_of("torch_cuda") == device_of("cupy") == "cuda"
    assert device_of("numpy") == device_of("torch_cpu") == device_of("python") == "cpu"
    assert device_of("library") == "cpu"  # a reporting token, not an array world


def test_libraries_in_backend_order() -> None:
    assert libraries() == ("numpy", "numba", "torch", "cupy")
    assert libraries("cuda") == ("torch", "cupy")


def test_only_plain_python_is_interpreted() -> None:
    assert [b for b in BACKENDS if is_interpreted(b)] == ["python"]
    assert not is_interpreted("library")

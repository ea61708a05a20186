"""Tests of harness.memory: sizes as users write them, resident memory of a process tree."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from harness.memory import (
    DevicePeak,
    descendants,
    mib,
    parse_size,
    resident_bytes,
    tree_resident_bytes,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("500M", 500 * 2**20),
        ("2G", 2 * 2**30),
        ("1.5GiB", 3 * 2**29),
        ("800kb", 800 * 2**10),
        ("1048576", 2**20),
        (" 3 t ", 3 * 2**40),
    ],
)
def test_sizes_are_read_in_binary_multiples(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lots", "'lots' is not a size (write it like 500M or 2G)"),
        ("-1G", "is not a size"),
        ("0", "must be a positive size, got '0'"),
        ("0.1", "must be a positive size"),
        ("1e9", "is not a size"),
        ("nan", "is not a size"),
    ],
)
def test_a_bad_size_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_size(text)


def test_resident_memory_of_a_process_and_of_what_it_started() -> None:
    assert mib(3 * 2**20 + 2**19) == 3.5
    assert resident_bytes() > 2**20
    script = "import time; held = b'x' * (64 * 2**20); print(flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline()  # its memory is written
        assert child.pid in descendants()
        assert resident_bytes(child.pid) > 64 * 2**20
        assert tree_resident_bytes(child.pid) >= resident_bytes(child.pid)
    finally:
        child.kill()
        child.communicate()
    deadline = time.monotonic() + 5
    while child.pid in descendants() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert child.pid not in descendants()
    assert resident_bytes(child.pid) == 0  # gone


def test_no_gpu_memory_is_recorded_without_cuda() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert DevicePeak().added() is None

"""Tests of harness.threads: pinning the pools through the environment and threadpoolctl."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import harness.threads
from harness.threads import _ENV_VARS, apply, pin_environment


@pytest.fixture
def restored_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let monkeypatch restore every variable pin_environment touches."""
    for var in (*_ENV_VARS, "OMP_WAIT_POLICY", "KMP_BLOCKTIME"):
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture
def restored_limits() -> Iterator[None]:
    """Undo the process-wide thread limit apply() installs."""
    before = len(harness.threads._LIMITS)
    yield
    while len(harness.threads._LIMITS) > before:
        harness.threads._LIMITS.pop().restore_original_limits()


@pytest.mark.usefixtures("restored_environment", "restored_limits")
def test_apply_reports_the_request_and_the_pinned_environment() -> None:
    pin_environment(1)
    record = apply(1)
    assert record["requested"] == 1
    assert record["env"] == {var: "1" for var in _ENV_VARS}
    assert isinstance(record["pools"], list)
    assert all(pool.endswith(":1") for pool in record["pools"])


@pytest.mark.usefixtures("restored_environment")
def test_pin_environment_keeps_an_explicit_wait_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    pin_environment(3)
    assert os.environ["OMP_NUM_THREADS"] == "3"
    assert os.environ["NUMBA_NUM_THREADS"] == "3"
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    assert os.environ["KMP_BLOCKTIME"] == "0"

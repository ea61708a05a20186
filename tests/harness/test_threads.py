"""Tests of harness.threads: pinning the pools through the environment and threadpoolctl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.threads import _ENV_VARS, pin_environment


@pytest.fixture
def restored_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let monkeypatch restore every variable pin_environment touches."""
    for var in (*_ENV_VARS, "OMP_WAIT_POLICY", "KMP_BLOCKTIME"):
        monkeypatch.delenv(var, raising=False)
    yield


def test_apply_reports_the_request_and_the_pinned_environment() -> None:
    # In a fresh interpreter, pinned before any library loads (as the CLI does): apply()
    # changes process-wide pools and launches numba's, which would leak into other tests
    # (and pools loaded earlier by them would not report the pinned count).
    code = (
        "import importlib.util, json; from harness.threads import apply, pin_environment; "
        "pin_environment(1); import numpy; "
        "[__import__(m) for m in ('torch', 'numba') if importlib.util.find_spec(m)]; "
        "print(json.dumps(apply(1)))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    record = json.loads(done.stdout)
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

"""Test configuration: the harness's own pytest plugin generates the implementation cells."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["harness.pytest_plugin"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Statistical-power checks need a quiet machine: they run only in ``nox -s power``
    (SHOOTOUT_POWER_TESTS=1), never in the default test run a busy laptop must pass."""
    if os.environ.get("SHOOTOUT_POWER_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="statistical power: run with nox -s power on a quiet machine")
    for item in items:
        if "power" in item.keywords:
            item.add_marker(skip)

"""Test configuration: the harness's own pytest plugin generates the implementation cells."""

from __future__ import annotations

pytest_plugins = ["harness.pytest_plugin"]

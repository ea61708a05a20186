"""The test module harness.session hands to pytest: one generated item per cell of the run."""

from __future__ import annotations

import pytest

from harness.pytest_plugin import run_cell
from harness.selection import Cell


def test_cell(shootout_cell: Cell, request: pytest.FixtureRequest) -> None:
    run_cell(shootout_cell, request)

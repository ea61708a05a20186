"""Test configuration: the harness's own pytest plugin generates the implementation cells;
harness.durations prints the test time per algorithm at the end of the session."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.backends import BACKENDS

pytest_plugins = ["harness.pytest_plugin", "harness.durations", "pytester"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Statistical-power checks need a quiet machine: they run only in ``nox -s power``
    (SHOOTOUT_POWER_TESTS=1), never in the default test run a busy laptop must pass.

    Under pytest-xdist, the cells of an implementation that compiles on its first call
    (Numba) share one ``xdist_group``: with ``--dist loadgroup`` (``nox -s tests``) one
    worker runs them all and compiles each signature once, not once per worker."""
    if config.pluginmanager.hasplugin("xdist"):
        for item in items:
            cell = getattr(item, "callspec", None) and item.callspec.params.get("shootout_cell")
            if cell is not None and BACKENDS[cell.impl.arrays].jit:
                item.add_marker(pytest.mark.xdist_group(cell.impl.key))
    if os.environ.get("SHOOTOUT_POWER_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="statistical power: run with nox -s power on a quiet machine")
    for item in items:
        if "power" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def conforms() -> Callable[[Any], None]:
    """Check a results document against harness/schema/results.schema.json with the
    reference validator (jsonschema), independently of the harness's own compiled check."""
    import jsonschema

    from harness.results import SCHEMA_FILE

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)

    def check(document: Any) -> None:
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5]]

    return check


@pytest.fixture(autouse=True)
def _no_import_failure_leaks() -> Iterator[None]:
    """An import a test made fail (a package hidden, a module stood in) is remembered by the
    registry for the rest of the process; forget it at the test's end, so a later test in the
    same worker imports the real module again."""
    import harness.registry as registry

    before = set(registry._FAILED)
    yield
    for name in set(registry._FAILED) - before:
        del registry._FAILED[name]

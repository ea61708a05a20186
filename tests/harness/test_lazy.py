"""Tests of the lazy registry: implementations read from source (harness.declared), imported
only when run; entry points and plugins that fail, exit or mismatch the suite's signature."""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import harness.declared
import harness.registry
from harness.backends import BACKENDS
from harness.declared import NotStatic, read, read_all
from harness.plugins import ENTRY_POINT_GROUP, NO_ENTRY_POINTS_ENV, entry_points_enabled
from harness.registry import Registry, RegistryError
from harness.spec import Suite
from harness.verify import verify

HEADER = "from harness import implementation\n"
SCALE = '''
def {name}(x, factor, opts):
    """{doc}"""
    return x * factor
'''


def source(decorator: str, before: str = "", doc: str = "Scales.") -> str:
    """A file registering ``f`` with ``@implementation(<decorator>)``."""
    return HEADER + before + f"@implementation({decorator})" + SCALE.format(name="f", doc=doc)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], Path]]:
    """Writes ``<tmp>/<package>/toy_scale/<stem>.py``, importable under a fresh package name."""
    package = f"toyimpls_{uuid.uuid4().hex[:8]}"
    root = tmp_path / package
    for folder in (root, root / "toy_scale"):
        write(folder / "__init__.py", "")
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(stem: str, text: str) -> Path:
        return write(root / "toy_scale" / f"{stem}.py", text)

    make.root = root  # type: ignore[attr-defined]
    make.package = package  # type: ignore[attr-defined]
    yield make
    for name in [m for m in sys.modules if m.split(".")[0] == package]:
        del sys.modules[name]


def load(tree: Any, suite: Suite, eager: bool = False) -> Registry:
    registry = Registry()
    registry.suites["toy_scale"] = suite
    return registry.load_implementations(tree.root, tree.package, eager=eager)


RICH = (
    HEADER
    + '''
from harness.plugins import PLUGIN_PREFIX

CAP = 3.0 * 128 * 128
WHY = "a documented divergence"
BASE = {"small": WHY + " (small)"}


@implementation(
    "toy_scale", ("numpy", "torch_cpu"), "rich", max_flops=CAP * 2, requires=("json",),
    supports={"mode": ("plain",)}, expected_failures={**BASE, **dict.fromkeys(("empty",), WHY)},
)
@implementation("toy_scale", "library", "rich_" + PLUGIN_PREFIX, arrays="numpy", prepare=False)
def rich(x, factor, opts):
    """Two registrations, every kind of argument the reader evaluates.

    More words.
    """
    return x * factor
'''
)


# ---- reading the source --------------------------------------------------------------------


def test_reading_equals_what_the_imported_decorators_register(
    tree: Any, suite: Suite, tmp_path: Path
) -> None:
    tree("numpy_rich", RICH)
    lazy, eager = load(tree, suite), load(tree, suite, eager=True)
    assert (
        sorted(lazy.implementations)
        == sorted(eager.implementations)
        == [
            "toy_scale/library/rich__shootout_plugin_",
            "toy_scale/numpy/rich",
            "toy_scale/torch_cpu/rich",
        ]
    )
    for key, real in eager.implementations.items():
        listed = lazy.implementations[key]
        assert listed.function is None and real.function is not None
        assert {**listed.__dict__, "function": None} == {**real.__dict__, "function": None}
    impl = lazy.implementations["toy_scale/numpy/rich"]
    assert impl.max_flops == 3.0 * 128 * 128 * 2
    assert impl.expected_failures == {
        "small": "a documented divergence (small)",
        "empty": "a documented divergence",
    }
    assert impl.description == "Two registrations, every kind of argument the reader evaluates."


@pytest.mark.parametrize(
    "text, reason",
    [
        (source("'t', 'numpy', max_flops=len('ab')"), "cannot evaluate len('ab')"),
        (HEADER + "def f(): pass\ng = implementation('t', 'numpy')(f)\n", "other than as"),
        (source("'t', 'numpy'", before="import functools\n@functools.cache\n"), "other decorators"),
        (source("'t', 'numpy', **K", before="K = {}\n"), "**kwargs"),
        (source("'t', 'numpy', V", before="V = 'a'\nV = 'b'\n"), "V is not a constant"),
        (source("'t', 'numpy', max_flops=V", before="V = 1\nV *= 2\n"), "V is not a constant"),
        ("import harness.registry\n@harness.registry.implementation('t', 'numpy')\ndef f(): ...\n",
         "other than as"),
        ("from harness import registry\n@registry.implementation('t', 'numpy')\ndef f(): ...\n",
         "other than as"),
        (source("'t', 'numpy', max_flops=pi", before="from numpy import pi\n"), "pi is not a"),
        ("def broken(:\n", "cannot parse"),
    ],
)  # fmt: skip
def test_what_the_reader_cannot_evaluate_is_imported_instead(
    tmp_path: Path, text: str, reason: str
) -> None:
    with pytest.raises(NotStatic, match=re.escape(reason)):
        read(write(tmp_path / "m.py", text))


def test_an_unreadable_file_is_imported_and_still_registers(tree: Any, suite: Suite) -> None:
    loop = "for v in ('a', 'b'):\n    implementation('toy_scale', 'numpy', v)(f)\n"
    tree("numpy_dyn", HEADER + SCALE.format(name="f", doc="Dynamic.") + loop)
    registry = load(tree, suite)
    assert sorted(registry.implementations) == ["toy_scale/numpy/a", "toy_scale/numpy/b"]
    assert all(i.function is not None for i in registry.implementations.values())


def test_readings_are_cached_until_the_file_or_a_constant_it_uses_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "toyconsts.py", "CAP = 10.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(harness.declared, "IMPORTABLE", ("toyconsts",))
    monkeypatch.setitem(sys.modules, "toyconsts", None)  # restored (absent) afterwards
    del sys.modules["toyconsts"]
    text = source("'t', 'python', max_flops=CAP", before="from toyconsts import CAP\n")
    path = write(tmp_path / "python_loops.py", text)
    cache = tmp_path / "__pycache__" / "declared.marshal"
    parsed: list[Path] = []

    def counting(p: Path) -> Any:
        parsed.append(p)
        return read(p)

    monkeypatch.setattr(harness.declared, "read", counting)
    first = read_all([path], cache)
    assert read_all([path], cache) == first and parsed == [path]  # the second from the cache
    reading = first[path]
    assert not isinstance(reading, NotStatic)
    assert reading.declarations[0].kwargs == {"max_flops": 10.0}
    write(tmp_path / "toyconsts.py", "CAP = 100.0\n")  # another size: the reading is stale
    sys.modules.pop("toyconsts", None)
    again = read_all([path], cache)[path]
    assert not isinstance(again, NotStatic) and again.declarations[0].kwargs == {"max_flops": 100.0}
    write(path, text.replace("'python'", "'numba'"))
    edited = read_all([path], cache)[path]
    assert not isinstance(edited, NotStatic) and edited.declarations[0].args == ("t", "numba")
    assert parsed == [path, path, path]


# ---- importing only what runs ----------------------------------------------------------------


def test_a_listed_module_is_imported_only_when_its_function_is_needed(
    tree: Any, suite: Suite
) -> None:
    tree("numpy_plain", source("'toy_scale', 'numpy', 'plain'", doc="Multiplies once."))
    registry = load(tree, suite)
    module = f"{tree.package}.toy_scale.numpy_plain"
    impl = registry.implementations["toy_scale/numpy/plain"]
    assert module not in sys.modules and impl.module == module
    assert impl.description == "Multiplies once." and impl.unavailable_reason() is None
    assert module not in sys.modules
    done = registry.loaded(impl)
    assert module in sys.modules and done.function is not None and done.fn is done.function
    assert registry.implementations[impl.key] is done and done.origin == "project"
    assert impl.fn is done.function  # an unloaded record finds the same function


def test_a_multi_backend_file_with_a_missing_package_lists_its_own_backends(
    tree: Any, suite: Suite
) -> None:
    decorator = "'toy_scale', ('torch_cpu', 'torch_cuda'), 'inplace'"
    tree("torch_inplace", source(decorator, before="import surely_missing_pkg_xyz\n"))
    for eager in (False, True):  # read from the source, or named after the file
        registry = load(tree, suite, eager=eager)
        assert sorted(registry.implementations) == [
            "toy_scale/torch_cpu/inplace",
            "toy_scale/torch_cuda/inplace",
        ]
        for impl in registry.implementations.values():
            probe = BACKENDS[impl.backend].unavailable_reason(quick=True)
            reason = probe or "surely_missing_pkg_xyz not installed"
            assert impl.unavailable_reason() == f"{impl.backend}: {reason}"
            assert impl.fn is None


def test_a_package_missing_only_at_import_becomes_the_reason(tree: Any, suite: Suite) -> None:
    late = "if True:\n    import surely_missing_pkg_xyz\n"
    tree("numpy_late", source("'toy_scale', 'numpy', 'late'", before=late))
    registry = load(tree, suite)
    impl = registry.implementations["toy_scale/numpy/late"]
    assert impl.unavailable_reason() is None  # not visible in the source's top level
    done = registry.loaded(impl)
    assert done.unavailable_reason() == "numpy: surely_missing_pkg_xyz not installed"


def test_a_module_that_fails_to_import_fails_its_cells(tree: Any, suite: Suite) -> None:
    tree(
        "numpy_boom", source("'toy_scale', 'numpy', 'boom'", before="raise RuntimeError('boom')\n")
    )
    registry = load(tree, suite)
    impl = registry.loaded(registry.implementations["toy_scale/numpy/boom"])
    assert impl.function is None and impl.unavailable_reason() is None
    with pytest.raises(RegistryError, match=r"numpy_boom failed to import: RuntimeError: boom"):
        _ = impl.fn
    verdict = verify(suite, impl, suite.cases[0])
    assert verdict.status == "error" and "failed to import: RuntimeError: boom" in verdict.detail


# ---- plugins and entry points ----------------------------------------------------------------


@pytest.fixture
def registry(suite: Suite) -> Registry:
    reg = Registry()
    reg.suites["toy_scale"] = suite
    return reg


@pytest.mark.parametrize(
    "code, message",
    [
        ("import sys\nsys.exit(0)\n", r"exits at import time \(SystemExit\(0\)\)"),
        ("raise SystemExit\n", r"exits at import time \(SystemExit\(None\)\)"),
    ],
)
def test_a_plugin_exiting_at_import_is_one_line(
    registry: Registry, tmp_path: Path, code: str, message: str
) -> None:
    exit_, kill = os._exit, os.kill
    with pytest.raises(RegistryError, match=rf"^plugin '.*bad\.py' {message}$"):
        registry.load_plugin(str(write(tmp_path / "bad.py", code)))
    assert (os._exit, os.kill) == (exit_, kill)  # put back


@pytest.mark.parametrize("signature", ["x, opts", "x, factor, opts, extra", "*, x, factor, opts"])
def test_a_plugin_whose_signature_does_not_fit_is_refused_at_load(
    registry: Registry, tmp_path: Path, signature: str
) -> None:
    text = HEADER + f"@implementation('toy_scale', 'numpy', 'v')\ndef f({signature}):\n    pass\n"
    with pytest.raises(RegistryError) as info:
        registry.load_plugin(str(write(tmp_path / "sig.py", text)))
    assert str(info.value).startswith("toy_scale/numpy/v (")
    assert f"f({signature}) cannot take the 3 positional arguments toy_scale passes " in str(
        info.value
    )
    assert "(x, factor, opts)" in str(info.value) and "\n" not in str(info.value)
    assert registry.implementations == {}


def test_a_plugin_taking_any_arguments_is_accepted(registry: Registry, tmp_path: Path) -> None:
    text = HEADER + "@implementation('toy_scale', 'numpy', 'v')\ndef f(*args):\n    pass\n"
    assert [i.key for i in registry.load_plugin(str(write(tmp_path / "any.py", text)))] == [
        "toy_scale/numpy/v"
    ]


def test_broken_entry_points_become_not_loadable_rows(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "ep_good.py", source("'toy_scale', 'numpy', 'ep'"))
    write(tmp_path / "ep_alien.py", source("'no_such_algo', 'numpy', 'x'"))
    write(tmp_path / "ep_exits.py", "import sys\nsys.exit(3)\n")  # os._exit: tests/test_cli.py
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [
        importlib.metadata.EntryPoint(name, value, ENTRY_POINT_GROUP)
        for name, value in [
            ("missing", "surely_missing_ep_module_xyz"),
            ("good", "ep_good"),
            ("alien", "ep_alien"),
            ("exits", "ep_exits"),
        ]
    ]
    monkeypatch.setattr(harness.registry.importlib.metadata, "entry_points", lambda group: points)
    registry.load_entry_points()
    assert list(registry.implementations) == ["toy_scale/numpy/ep"]
    assert registry.implementations["toy_scale/numpy/ep"].origin == "entry-point:good"
    rows = {r.variant: r for r in registry.unloadable}
    assert sorted(rows) == ["exits", "missing", "x"]
    assert rows["missing"].unavailable_reason() == (
        "not loadable: entry point 'missing' (surely_missing_ep_module_xyz) failed to import: "
        "ModuleNotFoundError: No module named 'surely_missing_ep_module_xyz'"
    )
    assert "unknown algorithm 'no_such_algo'" in (rows["x"].load_error or "")
    assert "exits at import time (SystemExit(3))" in (rows["exits"].load_error or "")
    assert all(r.origin.startswith("entry-point:") for r in rows.values())


@pytest.mark.parametrize(("value", "enabled"), [("", True), ("0", True), ("1", False)])
def test_entry_points_switch(monkeypatch: pytest.MonkeyPatch, value: str, enabled: bool) -> None:
    monkeypatch.setenv(NO_ENTRY_POINTS_ENV, value)
    assert entry_points_enabled() is enabled

"""What an implementation file declares, read from its source without importing it.

Listing, describing and selecting implementations must not import their modules: one
module can pull in torch, Numba or CuPy, and a listing of every algorithm would then cost
seconds and hundreds of megabytes. So the registry reads each ``@implementation(...)``
decorator from the file's syntax tree: its arguments are literal data by design (names,
backends, flags, case names, size caps), and the few that are not literally written are
simple enough to evaluate here: arithmetic on numbers and strings, module-level constants
of the same file, ``dict.fromkeys``, and constants imported from ``suites``/``harness``
(those modules are loaded anyway, and import only NumPy). The function is imported only
when a cell runs it.

Why parse the source rather than keep a committed, generated index: the source is the one
place an author edits (adding an implementation touches one file) and an index could go
stale. Parsing costs ~4 ms a file, so the readings are kept in a cache beside the bytecode
(``implementations/__pycache__/``), valid while each file, every suite module it took a
constant from, and this reader keep their size and modification time, as Python trusts its
``.pyc`` files; where it cannot be written, every file is parsed. A file the reader cannot read (a
decorator built at run time, an argument computed by a call) is imported as before: it
costs time, never correctness. ``tests/test_conformance.py`` holds the project to the static
form and checks that every reading equals what the imported decorators register.

Whether a file can be imported here is predicted from its top-level imports:
``importlib.util.find_spec`` finds each package without importing it.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import marshal
import operator
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.backends import module_reason

#: Modules whose constants a decorator may name: loaded before any implementation anyway.
IMPORTABLE = ("suites", "harness")
#: Where the decorator comes from.
DECORATOR_HOMES = ("harness", "harness.registry")

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
}
_PLAIN = (str, int, float, bool, type(None))


class NotStatic(Exception):
    """The file's registrations cannot be read without running it (the reason)."""


@dataclass(frozen=True)
class Declaration:
    """One ``@implementation(...)`` decorator: its evaluated arguments and its function."""

    function: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    doc: str | None
    line: int


@dataclass(frozen=True)
class Reading:
    """A file as read: its declarations and the top-level packages it imports."""

    declarations: tuple[Declaration, ...]
    imports: tuple[str, ...]
    depends: tuple[str, ...] = ()  # the files of the modules whose constants it used

    def missing(self) -> str | None:
        """Why importing the file would fail here (a package not installed), or None."""
        for name in self.imports:
            reason = module_reason(name)
            if reason:
                return reason
        return None


def read(path: Path) -> Reading:
    """The declarations of one implementation file; NotStatic when they need running."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, ValueError) as exc:
        raise NotStatic(f"cannot parse: {exc}") from None
    return _Reader(tree).reading()


class _Reader:
    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.decorators: set[str] = set()  # names bound to the decorator
        self.homes: set[str] = set()  # names bound to a module that provides it
        self.imported: dict[str, tuple[str, str]] = {}  # name -> (module, attribute)
        self.constants: dict[str, ast.expr] = {}
        self.imports: list[str] = []
        self.depends: list[str] = []
        self._scan_top_level()

    def _scan_top_level(self) -> None:
        assigned: dict[str, int] = {}
        for node in self.tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.imports.append(alias.name.split(".")[0])
                    if alias.name in DECORATOR_HOMES:
                        self.homes.add(alias.asname or alias.name)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                self.imports.append(node.module.split(".")[0])
                for alias in node.names:
                    bound = alias.asname or alias.name
                    if node.module in DECORATOR_HOMES and alias.name in ("implementation", "*"):
                        self.decorators.add("implementation" if bound == "*" else bound)
                    self.imported[bound] = (node.module, alias.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        self.constants[target.id] = node.value
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                for stored in ast.walk(node):  # every binding at import time, += and for included
                    if isinstance(stored, ast.Name) and isinstance(stored.ctx, ast.Store):
                        assigned[stored.id] = assigned.get(stored.id, 0) + 1
        for name, count in assigned.items():  # a rebound name is not a constant
            if count > 1:
                self.constants.pop(name, None)

    def _is_decorator(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.decorators
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "implementation"
            and isinstance(node.value, ast.Name)
            and node.value.id in self.homes
        )

    @staticmethod
    def _may_be_decorator(node: ast.AST) -> bool:
        """Any use of a name or attribute called ``implementation``, however it was bound."""
        if isinstance(node, ast.Name):
            return node.id == "implementation"
        return isinstance(node, ast.Attribute) and node.attr == "implementation"

    def reading(self) -> Reading:
        found: list[Declaration] = []
        seen: set[int] = set()
        for node in self.tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            calls = [d for d in node.decorator_list if self._is_decorator(_callee(d))]
            if calls and len(calls) != len(node.decorator_list):
                raise NotStatic(f"line {node.lineno}: {node.name} has other decorators too")
            for call in calls:
                seen.add(id(_callee(call)))
                found.append(self._declaration(node, call))
        for other in ast.walk(self.tree):
            if not isinstance(other, ast.expr) or id(other) in seen:
                continue
            if self._is_decorator(other) or self._may_be_decorator(other):
                raise NotStatic(
                    f"line {other.lineno}: the decorator is used other than "
                    "as @implementation(...) on a module-level function"
                )
        return Reading(
            tuple(found), tuple(dict.fromkeys(self.imports)), tuple(dict.fromkeys(self.depends))
        )

    def _declaration(self, fn: ast.FunctionDef, call: ast.expr) -> Declaration:
        if not isinstance(call, ast.Call):
            raise NotStatic(f"line {call.lineno}: @implementation without arguments")
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords
        ):
            raise NotStatic(f"line {call.lineno}: *args or **kwargs in @implementation")
        args = tuple(self.value(a) for a in call.args)
        kwargs = {k.arg: self.value(k.value) for k in call.keywords if k.arg is not None}
        return Declaration(fn.name, args, kwargs, ast.get_docstring(fn), fn.lineno)

    # ---- evaluating an argument -------------------------------------------------------------

    def value(self, node: ast.expr, depth: int = 0) -> Any:
        if depth > 20:
            raise NotStatic(f"line {node.lineno}: constants nested too deep")
        out = self._value(node, depth + 1)
        if not _plain(out):
            raise NotStatic(f"line {node.lineno}: {ast.unparse(node)} is not plain data")
        return out

    def _value(self, node: ast.expr, depth: int) -> Any:
        v = self.value
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = [v(e, depth) for e in node.elts]
            return {ast.Tuple: tuple, ast.List: list, ast.Set: set}[type(node)](items)
        if isinstance(node, ast.Dict):
            out: dict[Any, Any] = {}
            for key, item in zip(node.keys, node.values, strict=True):
                if key is None:  # {**other}
                    out.update(v(item, depth))
                else:
                    out[v(key, depth)] = v(item, depth)
            return out
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](v(node.left, depth), v(node.right, depth))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](v(node.operand, depth))
        if isinstance(node, ast.Name):
            return self._name(node, depth)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "dict.fromkeys":
            if node.keywords or not 1 <= len(node.args) <= 2:
                raise NotStatic(f"line {node.lineno}: dict.fromkeys with unusual arguments")
            return dict.fromkeys(*(v(a, depth) for a in node.args))
        raise NotStatic(f"line {node.lineno}: cannot evaluate {ast.unparse(node)} statically")

    def _name(self, node: ast.Name, depth: int) -> Any:
        if node.id in self.constants:
            return self.value(self.constants[node.id], depth)
        if node.id in self.imported:
            module, attribute = self.imported[node.id]
            if module.split(".")[0] in IMPORTABLE:
                loaded = importlib.import_module(module)
                if getattr(loaded, "__file__", None):
                    self.depends.append(str(loaded.__file__))
                return getattr(loaded, attribute)
        raise NotStatic(f"line {node.lineno}: {node.id} is not a constant of this file")


# ---- the cache -----------------------------------------------------------------------------

_CACHE_VERSION = 1
_Stamp = tuple[int, int]  # (modification time in ns, size)


def _stamp(path: str) -> _Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def read_all(paths: list[Path], cache: Path | None) -> dict[Path, Reading | NotStatic]:
    """Every file's reading (or why it cannot be read), from ``cache`` where still valid;
    the cache is rewritten when anything was parsed anew."""
    old = _load_cache(cache) if cache is not None else {}
    new: dict[str, Any] = {}
    out: dict[Path, Reading | NotStatic] = {}
    for path in paths:
        key = str(path)
        entry = old.get(key)
        if entry is not None and all(_stamp(f) == st for f, st in entry[0]):
            new[key] = entry
            out[path] = _thaw(entry[1])
            continue
        stamp = _stamp(key)
        try:
            result: Reading | NotStatic = read(path)
        except NotStatic as exc:
            result = exc
        out[path] = result
        if stamp is not None:
            deps = result.depends if isinstance(result, Reading) else ()
            stamps = [(key, stamp), *((f, _stamp(f)) for f in deps)]
            new[key] = (tuple(stamps), _freeze(result))
    if cache is not None and new != old:
        _save_cache(cache, new)
    return out


def _freeze(result: Reading | NotStatic) -> Any:
    if isinstance(result, NotStatic):
        return str(result)
    decls = tuple((d.function, d.args, d.kwargs, d.doc, d.line) for d in result.declarations)
    return (decls, result.imports, result.depends)


def _thaw(frozen: Any) -> Reading | NotStatic:
    if isinstance(frozen, str):
        return NotStatic(frozen)
    decls, imports, depends = frozen
    return Reading(tuple(Declaration(*d) for d in decls), imports, depends)


def _cache_version() -> tuple[Any, ...]:
    """Readings depend on this reader too: a new version of it starts a new cache."""
    return (_CACHE_VERSION, sys.version, _stamp(__file__))


def _load_cache(cache: Path) -> dict[str, Any]:
    try:
        data = marshal.loads(cache.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _cache_version():
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _save_cache(cache: Path, files: dict[str, Any]) -> None:
    """Written atomically; silently not at all where the folder is read-only, or where a
    value cannot be marshalled."""
    with contextlib.suppress(OSError, ValueError):
        cache.parent.mkdir(exist_ok=True)
        data = marshal.dumps({"version": _cache_version(), "files": files})
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=cache.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, cache)
        except OSError:
            os.unlink(tmp)
            raise


def _callee(node: ast.expr) -> ast.expr:
    return node.func if isinstance(node, ast.Call) else node


def _plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, tuple | list | set | frozenset):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return False

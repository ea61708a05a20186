"""The registry: which implementations exist, where they came from, and whether they run here."""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.metadata
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.backends import BACKEND_TOKENS, BACKENDS, module_reason
from harness.declared import NotStatic, Reading, read, read_all
from harness.options import Options, same_value
from harness.plugins import (
    ENTRY_POINT_GROUP,
    PLUGIN_PREFIX,
    ImportFailed,
    entry_points_enabled,
    guarded_import,
    import_plugin,
    one_line,
    signature_problem,
)

#: File prefixes that are not one backend: ``torch_*`` serves both torch devices, ``xp_*``
#: every array-API backend (what a placeholder is registered for when the file is unread).
MULTI_BACKEND_PREFIXES = {
    "torch": ("torch_cpu", "torch_cuda"),
    "xp": ("numpy", "torch_cpu", "torch_cuda", "cupy"),
}
KINDS = ("handwritten", "library")


class RegistryError(Exception):
    """A plugin or project module that cannot be loaded or registered (CLI exit 2)."""


@dataclass(frozen=True)
class Implementation:
    """One competitor: an (algorithm, backend, variant) cell of the matrix and its metadata."""

    algorithm: str
    backend: str
    variant: str
    function: Callable[..., Any] | None  # None: not imported yet (see ``module``) or not loadable
    kind: str = "handwritten"
    arrays: str = "numpy"  # the array backend that feeds, reads back and synchronises it
    supports: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    max_flops: float | None = None  # size cap: cases costing more are skipped, not run
    prepare: bool = False  # fn returns the closure to time (its setup runs outside timing)
    own_rng: bool = False  # draws from its library's own generator: judged statistically
    requires: tuple[str, ...] = ()
    expected_failures: Mapping[str, str] = field(default_factory=dict)
    origin: str = "project"
    source: str = ""
    load_error: str | None = None
    module: str | None = None  # the module that registers it, imported when it first runs
    doc: str | None = None  # the function's docstring (read from the source when listed)

    @property
    def key(self) -> str:
        return f"{self.algorithm}/{self.backend}/{self.variant}"

    @property
    def fn(self) -> Callable[..., Any] | None:
        """The function; a listed implementation's module is imported here, on first use
        (RegistryError when that import fails). None: not loadable here (load_error)."""
        if self.function is not None or self.module is None or self.load_error is not None:
            return self.function
        return _imported(self.module, self.key).function

    @property
    def description(self) -> str:
        doc = self.doc
        if doc is None and self.function is not None:
            doc = inspect.getdoc(self.function)
        return doc.strip().splitlines()[0] if doc else ""

    def unavailable_reason(self, quick: bool = False) -> str | None:
        """Why it cannot run here, or None. ``quick``: import nothing to decide (a listing);
        a CUDA device is then predicted from the driver and the library's build."""
        if self.load_error:
            return self.load_error
        reason = BACKENDS[self.arrays].unavailable_reason(quick)
        if reason:
            return f"{self.backend}: {reason}"
        for module in self.requires:
            reason = module_reason(module)
            if reason:
                return f"{self.backend}: {reason}"
        return None

    def supports_value(self, option: str, value: Any) -> bool:
        """Every value of a flag is handled unless ``supports`` narrows that flag."""
        if option not in self.supports:
            return True
        return any(same_value(value, a) for a in self.supports[option])


#: Registrations by defining module, so loading a module twice (a second Registry in the
#: same process) finds its implementations again instead of re-running the module.
_BY_MODULE: dict[str, list[Implementation]] = {}


def implementation(
    algorithm: str,
    backend: str | tuple[str, ...],
    variant: str = "default",
    *,
    arrays: str | None = None,
    supports: Mapping[str, Iterable[Any]] | None = None,
    max_flops: float | None = None,
    prepare: bool = False,
    own_rng: bool = False,
    requires: Iterable[str] = (),
    expected_failures: Mapping[str, str] | None = None,
) -> Registration:
    """Register the decorated function as an implementation of ``algorithm``.

    ``backend`` is a token of the fixed vocabulary (or a tuple of them for a generic
    array-namespace implementation); ``library`` references name the array backend they
    consume with ``arrays``. Every value of the suite's options is handled unless
    ``supports`` narrows a flag to the values listed (the default may be left out, for a
    library that lacks the default convention);
    the registered function then refuses the others with ValueError before running, so it
    does so when called on its own too. ``max_flops`` caps the case size. ``prepare``: the
    function does its setup and returns the closure to time. ``own_rng``: it draws from its
    library's own generator, so the suite's statistical comparator judges it.
    ``expected_failures`` maps case names to the reason this implementation legitimately
    differs there; an unexpected pass is reported as an error.
    """
    return Registration(
        algorithm,
        (backend,) if isinstance(backend, str) else tuple(backend),
        variant,
        arrays=arrays,
        supports={k: tuple(v) for k, v in (supports or {}).items()},
        max_flops=max_flops,
        prepare=prepare,
        own_rng=own_rng,
        requires=tuple(requires),
        expected_failures=dict(expected_failures or {}),
    )


@dataclass(frozen=True)
class Registration:
    """One decorator's arguments: registers the function it decorates, or (read from the
    source, see harness.declared) the records it would register, with no function yet."""

    algorithm: str
    backends: tuple[str, ...]
    variant: str
    arrays: str | None
    supports: Mapping[str, tuple[Any, ...]]
    max_flops: float | None
    prepare: bool
    own_rng: bool
    requires: tuple[str, ...]
    expected_failures: Mapping[str, str]

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        doc = inspect.getdoc(fn)
        source = inspect.getsourcefile(inspect.unwrap(fn)) or fn.__module__
        if self.supports:
            key = f"{self.algorithm}/{'|'.join(self.backends)}/{self.variant}"
            fn = _refusing(fn, self.supports, key)
        where = f"{fn.__module__}.{fn.__name__}"
        records = self.records(where, fn, fn.__module__, source, doc)
        _BY_MODULE.setdefault(fn.__module__, []).extend(records)
        return fn

    def records(
        self,
        where: str,
        function: Callable[..., Any] | None,
        module: str,
        source: str,
        doc: str | None,
    ) -> list[Implementation]:
        out = []
        for b in self.backends:
            if b not in BACKEND_TOKENS:
                raise RegistryError(
                    f"{where}: unknown backend {b!r} (known: {', '.join(BACKEND_TOKENS)})"
                )
            arr = self.arrays or ("numpy" if b == "library" else b)
            if arr not in BACKENDS:
                raise RegistryError(
                    f"{where}: arrays={arr!r} is not an array backend "
                    f"(known: {', '.join(BACKENDS)})"
                )
            out.append(
                Implementation(
                    algorithm=self.algorithm,
                    backend=b,
                    variant=self.variant,
                    function=function,
                    kind="library" if b == "library" else "handwritten",
                    arrays=arr,
                    supports=self.supports,
                    max_flops=self.max_flops,
                    prepare=self.prepare,
                    own_rng=self.own_rng,
                    requires=self.requires,
                    expected_failures=self.expected_failures,
                    source=source,
                    module=module,
                    doc=doc,
                )
            )
        return out


def _refusing(
    fn: Callable[..., Any], narrowed: Mapping[str, tuple[Any, ...]], key: str
) -> Callable[..., Any]:
    """``fn`` behind a check that its options record asks only for values it handles."""

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        opts = args[-1] if args and isinstance(args[-1], Options) else None
        for name, allowed in narrowed.items():
            value = getattr(opts, name, allowed[0])
            if not any(same_value(value, a) for a in allowed):
                raise ValueError(
                    f"{key} does not support {name}={value!r} (it handles "
                    f"{', '.join(repr(a) for a in allowed)})"
                )
        return fn(*args)

    return call


def _registered(module: str, origin: str) -> list[Implementation]:
    return [
        Implementation(**{**impl.__dict__, "origin": origin}) for impl in _BY_MODULE.get(module, [])
    ]


#: Modules whose import failed in this process, and how (not retried for every cell).
_FAILED: dict[str, Exception] = {}


def _imported(module: str, key: str) -> Implementation:
    """The registration of ``key`` by ``module``, importing the module first if need be;
    RegistryError (caused by the import's exception) when that fails."""
    if module not in _BY_MODULE and module not in _FAILED:
        try:
            importlib.import_module(module)
        except Exception as exc:
            _BY_MODULE.pop(module, None)
            _FAILED[module] = exc
    if module in _FAILED:
        failure = _FAILED[module]
        raise RegistryError(f"{module} failed to import: {one_line(failure)}") from failure
    for impl in _BY_MODULE.get(module, []):
        if impl.key == key:
            return impl
    raise RegistryError(f"{module} does not register {key} (its source says it does)")


def _placeholders(algorithm: str, stem: str, reason: str, source: str) -> list[Implementation]:
    """A module that needs a missing optional package and that could not be read from its
    source still shows up, named after its file: ``torch_*`` and ``xp_*`` files are
    registered for several backends by convention."""
    tokens = sorted(BACKEND_TOKENS, key=len, reverse=True)
    backend = next((t for t in tokens if stem == t or stem.startswith(t + "_")), None)
    prefix = stem.split("_")[0]
    backends = (backend,) if backend else MULTI_BACKEND_PREFIXES.get(prefix, ("library",))
    if backend and stem.startswith(backend + "_"):
        variant = stem[len(backend) + 1 :]
    elif backend is None and prefix in MULTI_BACKEND_PREFIXES:
        variant = stem[len(prefix) + 1 :] or ("xp" if prefix == "xp" else "default")
    else:
        variant = "default" if stem == backend else stem
    out = []
    for b in backends:
        probe = BACKENDS[b].unavailable_reason(quick=True) if b in BACKENDS else None
        out.append(
            Implementation(
                algorithm,
                b,
                variant or "default",
                None,
                kind="library" if b == "library" else "handwritten",
                arrays="numpy" if b == "library" else b,
                source=source,
                load_error=f"{b}: {probe or reason}",
            )
        )
    return out


def _declared(reading: Reading, path: Path, module: str) -> list[Implementation]:
    """The records a project file registers, read from its source (NotStatic: import it).
    A file whose imports are not all installed gives each record the reason."""
    missing = reading.missing()
    out = []
    for d in reading.declarations:
        try:
            registration = implementation(*d.args, **d.kwargs)
        except TypeError as exc:  # importing it raises the same error, with its traceback
            raise NotStatic(f"line {d.line}: {exc}") from None
        for impl in registration.records(f"{module}.{d.function}", None, module, str(path), d.doc):
            if missing:
                probe = BACKENDS[impl.arrays].unavailable_reason(quick=True)
                impl = replace(impl, load_error=f"{impl.backend}: {probe or missing}")
            out.append(impl)
    return out


class Registry:
    """Suites by algorithm id plus every registered implementation, validated on insert.

    Project implementations are read from their source (harness.declared) and imported
    only when a cell runs them (``loaded``); ``eager=True`` imports every module instead.
    Entry points and plugins are imported: importing them is what registers them. An entry
    point that cannot be loaded becomes a row of ``unloadable`` with the reason.
    """

    def __init__(self) -> None:
        self.suites: dict[str, Any] = {}
        self.implementations: dict[str, Implementation] = {}
        self.unloadable: list[Implementation] = []

    # ---- loading ------------------------------------------------------------------------

    def load_project(self, eager: bool = False) -> Registry:
        import implementations
        import suites

        for info in sorted(pkgutil.iter_modules(suites.__path__), key=lambda m: m.name):
            module = importlib.import_module(f"suites.{info.name}")
            found = getattr(module, "SUITES", None) or [getattr(module, "SUITE", None)]
            if found == [None]:
                raise RegistryError(f"suites/{info.name}.py defines no SUITE (or SUITES)")
            for suite in found:
                if suite.algorithm in self.suites:
                    raise RegistryError(f"algorithm {suite.algorithm!r} defined twice")
                self.suites[suite.algorithm] = suite
        return self.load_implementations(
            Path(implementations.__path__[0]), "implementations", eager
        )

    def load_implementations(self, root: Path, package: str, eager: bool = False) -> Registry:
        """``<root>/<algorithm>/<backend>_<variant>.py``, importable as ``package.<...>``."""
        files = [
            path
            for algo_dir in sorted(root.iterdir())
            if algo_dir.is_dir() and not algo_dir.name.startswith(("_", "."))
            for path in sorted(algo_dir.glob("[!_]*.py"))
        ]
        readings = {} if eager else read_all(files, root / "__pycache__" / "declared.marshal")
        for path in files:
            name = f"{package}.{path.parent.name}.{path.stem}"
            try:
                reading = readings.get(path, NotStatic("eager"))
                if isinstance(reading, NotStatic):
                    raise reading
                records = _declared(reading, path, name)
            except NotStatic:
                self._load_project_module(name, path)
            else:
                for impl in records:
                    self._add(impl)
        return self

    def _load_project_module(self, name: str, path: Path) -> None:
        algorithm = path.parent.name
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            _BY_MODULE.pop(name, None)
            if exc.name and exc.name.split(".")[0] in ("harness", "suites", name.split(".")[0]):
                raise
            reason = f"{exc.name} not installed"
            with contextlib.suppress(NotStatic):  # its source names what it registers
                for impl in _declared(read(path), path, name):
                    self._add(impl)
                return
            for suite in [s for s in self.suites.values() if s.base_algorithm == algorithm]:
                for impl in _placeholders(suite.algorithm, path.stem, reason, str(path)):
                    self._add(impl)
            return
        for impl in _registered(name, "project"):
            self._add(impl)

    def loaded(self, impl: Implementation) -> Implementation:
        """``impl`` with its function imported (the registry keeps it so). A module that
        needs a package not installed here gives the reason instead; one that fails
        otherwise is left as it is, and running it reports the error in its cells."""
        if impl.function is not None or impl.module is None or impl.load_error is not None:
            return impl
        try:
            real = _imported(impl.module, impl.key)
        except RegistryError as exc:
            missing = exc.__cause__
            if not isinstance(missing, ModuleNotFoundError):
                return impl
            top = (missing.name or "").split(".")[0]
            if not top or top in ("harness", "suites", impl.module.split(".")[0]):
                return impl
            probe = BACKENDS[impl.arrays].unavailable_reason()
            done = replace(impl, load_error=f"{impl.backend}: {probe or f'{top} not installed'}")
        else:
            done = replace(real, origin=impl.origin)
        if self.implementations.get(impl.key) is impl:
            self.implementations[impl.key] = done
        return done

    def load_entry_points(self) -> Registry:
        """Installed packages' implementations; one that fails to load is a row of
        ``unloadable`` with the reason, and every command goes on without it."""
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            origin, what = f"entry-point:{ep.name}", f"entry point {ep.name!r} ({ep.value})"
            try:
                loaded = guarded_import(what, ep.load)
            except ImportFailed as exc:
                self.unloadable.append(_unloadable("?", "?", ep.name, origin, str(exc)))
                continue
            module = getattr(loaded, "__name__", ep.module)
            for impl in _registered(module, origin):
                try:
                    self._check_signature(impl)
                    self._add(impl)
                except RegistryError as exc:
                    self.unloadable.append(
                        _unloadable(impl.algorithm, impl.backend, impl.variant, origin, str(exc))
                    )
        return self

    def load_plugin(self, target: str) -> list[Implementation]:
        """Import a user's file or module; every implementation it registers is added."""
        try:
            module = import_plugin(target)
        except ImportFailed as exc:
            raise RegistryError(str(exc)) from None
        added = _registered(module, f"plugin:{target}")
        if not added:
            if module.startswith(PLUGIN_PREFIX):
                sys.modules.pop(module, None)
            raise RegistryError(
                f"plugin {target!r} registers no implementation (decorate a "
                "function with @implementation(...) from harness)"
            )
        for impl in added:
            self._check_signature(impl)
        for impl in added:
            self._add(impl)
        return added

    def _check_signature(self, impl: Implementation) -> None:
        """A function that cannot take the suite's arguments is refused once, here."""
        suite = self.suites.get(impl.algorithm)
        if suite is None or impl.function is None:
            return
        names = [*suite.parameters, *(["opts"] if suite.takes_options else [])]
        signature = signature_problem(impl.function, len(names))
        if signature:
            raise RegistryError(
                f"{impl.key} ({impl.source}): {signature} cannot take the "
                f"{len(names)} positional arguments {impl.algorithm} passes ({', '.join(names)})"
            )

    # ---- validation ---------------------------------------------------------------------

    def _add(self, impl: Implementation) -> None:
        if impl.algorithm not in self.suites:
            raise RegistryError(
                f"{impl.source}: unknown algorithm {impl.algorithm!r} (see `shootout list`)"
            )
        suite = self.suites[impl.algorithm]
        for name, values in impl.supports.items():
            try:
                flag = suite.options.flag(name)
            except ValueError as exc:
                raise RegistryError(f"{impl.key}: supports= names {exc}") from None
            if not values:
                raise RegistryError(f"{impl.key}: supports={{{name!r}: ()}} lists no value")
            # a library reference may answer only a corner of the conventions (a hard
            # metric beside a soft loss): its cells on the default are then refused too
            if impl.backend != "library" and not any(same_value(flag.default, v) for v in values):
                raise RegistryError(
                    f"{impl.key}: supports={{{name!r}: ...}} must include the default "
                    f"{flag.default!r}"
                )
        if impl.key in self.implementations:
            other = self.implementations[impl.key]
            raise RegistryError(
                f"{impl.key} registered twice ({other.source} and "
                f"{impl.source}); pick another variant name"
            )
        self.implementations[impl.key] = impl

    # ---- queries ------------------------------------------------------------------------

    def suite(self, algorithm: str) -> Any:
        try:
            return self.suites[algorithm]
        except KeyError:
            raise RegistryError(
                f"unknown algorithm {algorithm!r} (known: {', '.join(sorted(self.suites))})"
            ) from None

    def select(
        self,
        algorithms: Iterable[str] = (),
        backends: Iterable[str] = (),
        variants: Iterable[str] = (),
    ) -> list[Implementation]:
        algos, backs, vars_ = set(algorithms), set(backends), set(variants)
        modes = {s for s in self.suites if s.split(".")[0] in algos}  # -a X takes X.backward
        for a in algos - modes:
            self.suite(a)
        algos |= modes
        for b in backs:
            if b not in BACKEND_TOKENS:
                raise RegistryError(f"unknown backend {b!r} (known: {', '.join(BACKEND_TOKENS)})")
        chosen = [
            i
            for i in self.implementations.values()
            if (not algos or i.algorithm in algos)
            and (not backs or i.backend in backs)
            and (not vars_ or i.variant in vars_)
        ]
        return sorted(
            chosen, key=lambda i: (i.algorithm, BACKEND_TOKENS.index(i.backend), i.variant)
        )


def _unloadable(
    algorithm: str, backend: str, variant: str, origin: str, why: str
) -> Implementation:
    return Implementation(
        algorithm,
        backend,
        variant,
        None,
        kind="?",
        origin=origin,
        load_error=f"not loadable: {why}",
    )


def load_registry(plugins: Iterable[str] = (), eager: bool = False) -> Registry:
    """The project's suites and implementations, installed entry points (unless switched
    off, see ``entry_points_enabled``), then plugins."""
    registry = Registry().load_project(eager=eager)
    if entry_points_enabled():
        registry.load_entry_points()
    for plugin in plugins:
        registry.load_plugin(plugin)
    return registry

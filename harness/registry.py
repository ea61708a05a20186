"""The registry: which implementations exist, where they came from, and whether they run here."""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.backends import BACKEND_TOKENS, BACKENDS, module_reason
from harness.options import Options, same_value

ENTRY_POINT_GROUP = "opshootout.implementations"
KINDS = ("handwritten", "library")


class RegistryError(Exception):
    """A plugin or project module that cannot be loaded or registered (CLI exit 2)."""


@dataclass(frozen=True)
class Implementation:
    """One competitor: an (algorithm, backend, variant) cell of the matrix and its metadata."""

    algorithm: str
    backend: str
    variant: str
    fn: Callable[..., Any] | None
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

    @property
    def key(self) -> str:
        return f"{self.algorithm}/{self.backend}/{self.variant}"

    @property
    def description(self) -> str:
        doc = inspect.getdoc(self.fn) if self.fn is not None else None
        return doc.strip().splitlines()[0] if doc else ""

    def unavailable_reason(self) -> str | None:
        if self.load_error:
            return self.load_error
        reason = BACKENDS[self.arrays].unavailable_reason()
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
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as an implementation of ``algorithm``.

    ``backend`` is a token of the fixed vocabulary (or a tuple of them for a generic
    array-namespace implementation); ``library`` references name the array backend they
    consume with ``arrays``. Every value of the suite's options is handled unless
    ``supports`` narrows a flag to the values listed (the defaults must be among them);
    the registered function then refuses the others with ValueError before running, so it
    does so when called on its own too. ``max_flops`` caps the case size. ``prepare``: the
    function does its setup and returns the closure to time. ``own_rng``: it draws from its
    library's own generator, so the suite's statistical comparator judges it.
    ``expected_failures`` maps case names to the reason this implementation legitimately
    differs there; an unexpected pass is reported as an error.
    """
    backends = (backend,) if isinstance(backend, str) else tuple(backend)

    narrowed = {k: tuple(v) for k, v in (supports or {}).items()}

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if narrowed:
            fn = _refusing(fn, narrowed, f"{algorithm}/{'|'.join(backends)}/{variant}")
        for b in backends:
            if b not in BACKEND_TOKENS:
                raise RegistryError(
                    f"{fn.__module__}.{fn.__name__}: unknown backend {b!r} "
                    f"(known: {', '.join(BACKEND_TOKENS)})"
                )
            arr = arrays or ("numpy" if b == "library" else b)
            if arr not in BACKENDS:
                raise RegistryError(
                    f"{fn.__module__}.{fn.__name__}: arrays={arr!r} is not an "
                    f"array backend (known: {', '.join(BACKENDS)})"
                )
            _BY_MODULE.setdefault(fn.__module__, []).append(
                Implementation(
                    algorithm=algorithm,
                    backend=b,
                    variant=variant,
                    fn=fn,
                    kind="library" if b == "library" else "handwritten",
                    arrays=arr,
                    supports=narrowed,
                    max_flops=max_flops,
                    prepare=prepare,
                    own_rng=own_rng,
                    requires=tuple(requires),
                    expected_failures=dict(expected_failures or {}),
                    source=inspect.getsourcefile(inspect.unwrap(fn)) or fn.__module__,
                )
            )
        return fn

    return register


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


def _placeholder(algorithm: str, stem: str, reason: str, source: str) -> Implementation:
    """A module that needs a missing optional package still shows up, with the reason."""
    tokens = sorted(BACKEND_TOKENS, key=len, reverse=True)
    backend = next((t for t in tokens if stem == t or stem.startswith(t + "_")), "library")
    if stem.startswith(backend + "_"):
        variant = stem[len(backend) + 1 :]
    else:
        variant = "default" if stem == backend else stem
    probe = BACKENDS[backend].unavailable_reason() if backend in BACKENDS else None
    reason = probe or reason
    return Implementation(
        algorithm,
        backend,
        variant or "default",
        None,
        kind="library" if backend == "library" else "handwritten",
        arrays="numpy",
        source=source,
        load_error=f"{backend}: {reason}",
    )


class Registry:
    """Suites by algorithm id plus every registered implementation, validated on insert."""

    def __init__(self) -> None:
        self.suites: dict[str, Any] = {}
        self.implementations: dict[str, Implementation] = {}

    # ---- loading ------------------------------------------------------------------------

    def load_project(self) -> Registry:
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
        for algo_dir in sorted(Path(implementations.__path__[0]).iterdir()):
            if not algo_dir.is_dir() or algo_dir.name.startswith(("_", ".")):
                continue
            for path in sorted(algo_dir.glob("[!_]*.py")):
                self._load_project_module(algo_dir.name, path)
        return self

    def _load_project_module(self, algorithm: str, path: Path) -> None:
        name = f"implementations.{algorithm}.{path.stem}"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            _BY_MODULE.pop(name, None)
            if exc.name and exc.name.split(".")[0] in ("harness", "implementations", "suites"):
                raise
            reason = f"{exc.name} not installed"
            for suite in [s for s in self.suites.values() if s.base_algorithm == algorithm]:
                self._add(_placeholder(suite.algorithm, path.stem, reason, str(path)))
            return
        for impl in _registered(name, "project"):
            self._add(impl)

    def load_entry_points(self) -> Registry:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded = ep.load()
            except Exception as exc:
                raise RegistryError(
                    f"entry point {ep.name!r} ({ep.value}) failed to load: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            module = getattr(loaded, "__name__", ep.module)
            for impl in _registered(module, f"entry-point:{ep.name}"):
                self._add(impl)
        return self

    def load_plugin(self, target: str) -> list[Implementation]:
        """Import a user's file or module; every implementation it registers is added."""
        module = _import_plugin(target)
        added = _registered(module, f"plugin:{target}")
        if not added:
            raise RegistryError(
                f"plugin {target!r} registers no implementation (decorate a "
                "function with @implementation(...) from harness)"
            )
        for impl in added:
            self._add(impl)
        return added

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
            if not any(same_value(flag.default, v) for v in values):
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


def _import_plugin(target: str) -> str:
    """Import a plugin file (by path) or module (by name) once; return its module name."""
    path = Path(target)
    is_file = target.endswith(".py") or path.exists()
    name = (
        f"_shootout_plugin_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]}"
        if is_file
        else target
    )
    if name in sys.modules:
        return name
    try:
        if is_file:
            if not path.is_file():
                raise RegistryError(f"plugin {target!r}: no such file")
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise RegistryError(f"plugin {target!r}: not a Python file")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            importlib.import_module(target)
    except RegistryError:
        raise
    except SyntaxError as exc:
        raise RegistryError(
            f"plugin {target!r}: syntax error at line {exc.lineno}: {exc.msg}"
        ) from None
    except Exception as exc:
        raise RegistryError(
            f"plugin {target!r} failed to import: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        if name in sys.modules and name not in _BY_MODULE and is_file:
            sys.modules.pop(name, None)
    return name


def load_registry(plugins: Iterable[str] = ()) -> Registry:
    """The project's suites and implementations, installed entry points, then plugins."""
    registry = Registry().load_project().load_entry_points()
    for plugin in plugins:
        registry.load_plugin(plugin)
    return registry

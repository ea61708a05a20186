"""Tests of harness.registry: the decorator, plugin loading, validation and metadata."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.backends import BACKENDS
from harness.registry import Implementation, Registry, RegistryError, _placeholders
from harness.spec import Suite

PLUGIN = '''
from harness import implementation


@implementation("toy_scale", {backend!r}, {variant!r})
def scale(x, factor, opts):
    """Scales by the factor with one multiply.

    More words that are not part of the description.
    """
    return x * factor * (2.0 if opts.mode == "double" else 1.0)
'''


@pytest.fixture
def registry(suite: Suite) -> Registry:
    reg = Registry()
    reg.suites["toy_scale"] = suite
    return reg


def write_plugin(tmp_path: Path, text: str, name: str = "plugin.py") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def plugin(
    tmp_path: Path, backend: object = "numpy", variant: str = "mine", name: str = "plugin.py"
) -> str:
    return write_plugin(tmp_path, PLUGIN.format(backend=backend, variant=variant), name)


# ---- the decorator and plugins -------------------------------------------------------------


def test_decorator_registers_through_a_plugin_file(
    registry: Registry, suite: Suite, tmp_path: Path
) -> None:
    target = plugin(tmp_path)
    added = registry.load_plugin(target)
    assert [impl.key for impl in added] == ["toy_scale/numpy/mine"]
    impl = registry.implementations["toy_scale/numpy/mine"]
    assert impl.origin == f"plugin:{target}"
    assert (impl.kind, impl.arrays) == ("handwritten", "numpy")
    assert impl.description == "Scales by the factor with one multiply."
    assert impl.source.endswith("plugin.py")
    assert impl.fn is not None
    assert impl.fn(3.0, 2.0, suite.options()) == 6.0
    assert impl.fn(3.0, 2.0, suite.options(mode="double")) == 12.0
    assert impl.supports == {}
    assert impl.unavailable_reason() is None


def test_tuple_backend_registers_one_cell_per_token(registry: Registry, tmp_path: Path) -> None:
    registry.load_plugin(plugin(tmp_path, backend=("numpy", "library")))
    library = registry.implementations["toy_scale/library/mine"]
    assert (library.kind, library.arrays) == ("library", "numpy")
    assert registry.implementations["toy_scale/numpy/mine"].kind == "handwritten"


def test_unknown_backend_is_refused(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"unknown backend 'fortran' \(known: python, numpy"):
        registry.load_plugin(plugin(tmp_path, backend="fortran"))
    assert registry.implementations == {}


def test_unknown_algorithm_is_refused(registry: Registry, tmp_path: Path) -> None:
    text = PLUGIN.format(backend="numpy", variant="v").replace('"toy_scale"', '"no_such_algo"')
    with pytest.raises(RegistryError, match=r"unknown algorithm 'no_such_algo'"):
        registry.load_plugin(write_plugin(tmp_path, text))


def test_duplicate_key_is_refused(registry: Registry, tmp_path: Path) -> None:
    registry.load_plugin(plugin(tmp_path, name="first.py"))
    with pytest.raises(
        RegistryError,
        match=r"toy_scale/numpy/mine registered twice \(.*first\.py"
        r" and .*second\.py\); pick another variant",
    ):
        registry.load_plugin(plugin(tmp_path, name="second.py"))


def test_same_plugin_loads_again_into_a_fresh_registry(suite: Suite, tmp_path: Path) -> None:
    target = plugin(tmp_path)
    for _ in range(2):
        reg = Registry()
        reg.suites["toy_scale"] = suite
        assert [i.key for i in reg.load_plugin(target)] == ["toy_scale/numpy/mine"]


def test_syntax_error_is_one_line_with_the_line_number(registry: Registry, tmp_path: Path) -> None:
    target = write_plugin(tmp_path, "import numpy\n\ndef broken(:\n    pass\n")
    with pytest.raises(RegistryError) as info:
        registry.load_plugin(target)
    message = str(info.value)
    assert "syntax error at line 3" in message
    assert "\n" not in message


def test_plugin_that_raises_on_import_names_the_exception(
    registry: Registry, tmp_path: Path
) -> None:
    target = write_plugin(tmp_path, "raise KeyError('boom')\n")
    with pytest.raises(RegistryError, match=r"failed to import: KeyError: 'boom'"):
        registry.load_plugin(target)


def test_plugin_registering_nothing_is_refused(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"registers no implementation"):
        registry.load_plugin(write_plugin(tmp_path, "VALUE = 1\n"))


def test_missing_plugin_file(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"nope\.py': no such file"):
        registry.load_plugin(str(tmp_path / "nope.py"))


def test_missing_plugin_module(registry: Registry) -> None:
    with pytest.raises(RegistryError, match=r"failed to import: ModuleNotFoundError"):
        registry.load_plugin("surely_missing_plugin_module_xyz")


# ---- queries -------------------------------------------------------------------------------


def test_select_filters_and_orders_by_backend_vocabulary(
    registry: Registry,
    make_impl: Callable[..., Implementation],
) -> None:
    for impl in (
        make_impl(variant="b"),
        make_impl(backend="python", variant="z"),
        make_impl(variant="a"),
    ):
        registry._add(impl)
    keys = [i.key for i in registry.select()]
    assert keys == ["toy_scale/python/z", "toy_scale/numpy/a", "toy_scale/numpy/b"]
    assert [i.variant for i in registry.select(backends=["numpy"])] == ["a", "b"]
    with pytest.raises(RegistryError, match=r"unknown backend 'julia'"):
        registry.select(backends=["julia"])
    with pytest.raises(RegistryError, match=r"unknown algorithm 'nms' \(known: toy_scale\)"):
        registry.select(algorithms=["nms"])


# ---- placeholders and metadata -------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "backends", "variant"),
    [
        ("cupy_raw", ("cupy",), "raw"),
        ("torch_cuda_fast", ("torch_cuda",), "fast"),
        ("library_shapely", ("library",), "shapely"),
        ("numba_prange_tiled", ("numba",), "prange_tiled"),
        ("shapely_polygons", ("library",), "shapely_polygons"),
        ("torch_inplace", ("torch_cpu", "torch_cuda"), "inplace"),  # was library/torch_inplace
        ("xp_gemm", ("numpy", "torch_cpu", "torch_cuda", "cupy"), "gemm"),
    ],
)
def test_placeholder_parses_backend_and_variant(
    stem: str, backends: tuple[str, ...], variant: str
) -> None:
    impls = _placeholders("toy_scale", stem, "somelib not installed", "src.py")
    assert [(i.backend, i.variant) for i in impls] == [(b, variant) for b in backends]
    for impl, backend in zip(impls, backends, strict=True):
        assert impl.fn is None
        assert impl.kind == ("library" if backend == "library" else "handwritten")
        # The backend's own reason wins when the backend itself is unusable here.
        probe = BACKENDS[backend].unavailable_reason(quick=True) if backend in BACKENDS else None
        assert impl.unavailable_reason() == f"{backend}: {probe or 'somelib not installed'}"


def test_supports_value_compares_type_as_well_as_value(
    make_impl: Callable[..., Implementation],
) -> None:
    impl = make_impl(supports={"flag": (False, True), "eps": (0.0, 1e-6)})
    assert impl.supports_value("flag", True)
    assert impl.supports_value("flag", False)
    assert not impl.supports_value("flag", 1)
    assert not impl.supports_value("flag", 0)
    assert impl.supports_value("eps", 1e-6)
    assert not impl.supports_value("eps", 0)
    assert not impl.supports_value("eps", 1e-5)


def test_every_value_is_supported_unless_supports_narrows_that_flag(
    make_impl: Callable[..., Implementation],
) -> None:
    impl = make_impl(supports={})
    assert impl.supports_value("mode", "plain")
    assert impl.supports_value("mode", "double")
    narrowed = make_impl(supports={"mode": ("plain",)})
    assert narrowed.supports_value("mode", "plain")
    assert not narrowed.supports_value("mode", "double")
    assert narrowed.supports_value("other_flag", 3)  # only the named flag is narrowed


def test_supports_must_name_a_declared_flag(
    registry: Registry, make_impl: Callable[..., Implementation]
) -> None:
    with pytest.raises(
        RegistryError,
        match=r"toy_scale/numpy/test: supports= names ToyOptions has no option 'colour' "
        r"\(known: mode\)",
    ):
        registry._add(make_impl(supports={"colour": ("red",)}))
    assert registry.implementations == {}


def test_supports_is_never_empty_and_a_handwritten_one_keeps_the_default(
    registry: Registry, make_impl: Callable[..., Implementation], suite: Suite
) -> None:
    """Only a library reference may answer a corner without the default (next test): a
    handwritten implementation must handle the default convention."""
    from harness.prepare import unsupported_options

    with pytest.raises(RegistryError, match=r"supports=\{'mode': \(\)\} lists no value"):
        registry._add(make_impl(backend="library", supports={"mode": ()}))
    with pytest.raises(RegistryError, match=r"must include the default 'plain'"):
        registry._add(make_impl(supports={"mode": ("double",)}))
    registry._add(make_impl(backend="library", supports={"mode": ("double",)}))
    [impl] = registry.implementations.values()
    by_name = {c.name: c for c in suite.cases}
    assert unsupported_options(suite, impl, by_name["small"]) == {"mode": "plain"}
    assert unsupported_options(suite, impl, by_name["double"]) == {}


def test_a_library_reference_may_leave_the_default_out_and_refuses_it(
    registry: Registry, make_impl: Callable[..., Implementation]
) -> None:
    """A library that answers only a corner (supports without the default) registers; a
    case on the default is then one of its unsupported conventions, like any other value."""
    from harness.cases import Case
    from harness.prepare import unsupported_options

    impl = make_impl(backend="library", supports={"mode": ("double",)})
    registry._add(impl)
    suite = registry.suite("toy_scale")
    assert unsupported_options(suite, impl, Case("c", {})) == {"mode": "plain"}
    assert unsupported_options(suite, impl, Case("c", {}, {"mode": "double"})) == {}


def test_narrowed_plugin_refuses_other_values_when_called_directly(
    registry: Registry, suite: Suite, tmp_path: Path
) -> None:
    text = PLUGIN.format(backend="numpy", variant="narrow").replace(
        "'narrow')", "'narrow', supports={'mode': ['plain']})"
    )
    assert "supports=" in text
    [impl] = registry.load_plugin(write_plugin(tmp_path, text))
    assert impl.supports == {"mode": ("plain",)}
    assert impl.fn is not None
    assert impl.fn(3.0, 2.0, suite.options()) == 6.0
    with pytest.raises(
        ValueError,
        match=r"^toy_scale/numpy/narrow does not support mode='double' \(it handles 'plain'\)$",
    ):
        impl.fn(3.0, 2.0, suite.options(mode="double"))
    assert impl.description == "Scales by the factor with one multiply."
    assert impl.source.endswith("plugin.py")


def test_unavailable_reason_names_a_missing_required_module(
    make_impl: Callable[..., Implementation],
) -> None:
    impl = make_impl(requires=("surely_missing_module_xyz",))
    assert impl.unavailable_reason() == "numpy: surely_missing_module_xyz not installed"
    assert make_impl(requires=("json",)).unavailable_reason() is None

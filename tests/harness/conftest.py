"""A tiny synthetic suite (``toy_scale``) and implementation factory for the harness's tests.

The harness tests never touch the project's suites or implementations: those change
independently, and a harness test must fail only when the harness is wrong.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st

import harness.prepare
import harness.registry
from harness.args import Arg, Args, Scalar
from harness.comparators import Close
from harness.options import Options, option
from harness.registry import Implementation
from harness.spec import Case, Cost, ErrorCase, Suite


@dataclass(frozen=True)
class ToyOptions(Options):
    mode: str = option("plain", "double", meaning="x*factor, or twice that")


ARGS = Args(Arg("x", ("N",), "float"), Scalar("factor"))


def toy_scale(x: Any, factor: float, opts: ToyOptions) -> np.ndarray:
    """The oracle: x * factor in float64 (twice that in ``mode="double"``)."""
    ARGS.check(x, factor)
    x = np.asarray(x, dtype=np.float64)
    return x * factor * (2.0 if opts.mode == "double" else 1.0)


def make_inputs(case: Case) -> dict[str, Any]:
    rng = np.random.default_rng(case.seed)
    shape = tuple(case.params.get("shape", (case.params.get("n", 8),)))
    magnitude = float(case.params.get("magnitude", 1.0))
    x = (rng.standard_normal(shape) * magnitude).astype(case.dtype)
    return {"x": x, "factor": float(case.params.get("factor", 2.5))}


def cost(case: Case) -> Cost:
    shape = case.params.get("shape", (case.params.get("n", 8),))
    n = float(np.prod(shape))
    return Cost(flops=n, bytes=2 * n * np.dtype(case.dtype).itemsize, items=n, item_unit="element")


def fuzz_cases() -> Any:
    return st.builds(
        lambda n, seed: Case("fuzz", {"n": n, "seed": seed}, kind="fuzz"),
        st.integers(min_value=0, max_value=12),
        st.integers(min_value=0, max_value=1000),
    )


CASES = (
    Case("small", {"n": 8, "seed": 1}),
    Case("small_f32", {"n": 8, "seed": 2, "dtype": "float32"}),
    Case("double", {"n": 5, "seed": 3}, {"mode": "double"}),
    Case("empty", {"n": 0, "seed": 4}, kind="edge"),
)
ERROR_CASES = (
    ErrorCase("not_1d", {"shape": [2, 3], "seed": 5}, (ValueError,), r"x must have shape"),
)
BENCH = {
    "smoke": (Case("bench_64", {"n": 64, "seed": 6}, kind="bench"),),
    "quick": (Case("bench_4k", {"n": 4096, "seed": 7}, kind="bench"),),
}


def build_suite(**changes: Any) -> Suite:
    fields: dict[str, Any] = dict(
        algorithm="toy_scale",
        family="toy",
        summary="scale a vector by a factor",
        conventions="mode: plain (x*factor) or double (2*x*factor)",
        make_inputs=make_inputs,
        oracle=toy_scale,
        compare=Close(),
        cost=cost,
        args=ARGS,
        options=ToyOptions,
        cases=CASES,
        errors=ERROR_CASES,
        bench=BENCH,
        standard="bench_64",
        fuzz=fuzz_cases,
    )
    fields.update(changes)
    return Suite(**fields)


def numpy_scale(x: np.ndarray, factor: float, opts: ToyOptions) -> np.ndarray:
    """Correct NumPy version: keeps the input dtype."""
    ARGS.check(x, factor)
    return x * x.dtype.type(factor * (2.0 if opts.mode == "double" else 1.0))


@pytest.fixture
def suite() -> Suite:
    return build_suite()


@pytest.fixture
def make_suite() -> Callable[..., Suite]:
    """The toy suite with some fields replaced (e.g. an oracle that raises)."""
    return build_suite


@pytest.fixture
def make_impl() -> Callable[..., Implementation]:
    """An Implementation record of toy_scale; fn defaults to the correct NumPy version."""

    def make(
        fn: Callable[..., Any] | None = numpy_scale,
        backend: str = "numpy",
        variant: str = "test",
        **fields: Any,
    ) -> Implementation:
        arrays = fields.pop("arrays", "numpy" if backend == "library" else backend)
        return Implementation("toy_scale", backend, variant, fn, arrays=arrays, **fields)

    return make


@pytest.fixture(autouse=True)
def _fresh_harness_state() -> Iterator[None]:
    """Each test starts with an empty case cache and leaves no plugin modules behind."""
    harness.prepare._CACHE.items.clear()
    registered = set(harness.registry._BY_MODULE)
    modules = set(sys.modules)
    yield
    harness.prepare._CACHE.items.clear()
    for name in set(harness.registry._BY_MODULE) - registered:
        del harness.registry._BY_MODULE[name]
        sys.modules.pop(name, None)  # else a later import is a no-op that registers nothing
    for name in set(sys.modules) - modules:
        if name.startswith("_shootout_plugin_"):
            del sys.modules[name]

"""A cell's inputs and oracle output (built once per case, shared, read-only) and the call
prepared on an implementation's backend outside any timed region."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.backends import BACKENDS, shares_memory
from harness.registry import Implementation
from harness.spec import Case, Inputs, Suite


class _CaseCache:
    """Keeps the last few cases' inputs and oracle outputs: cells run case by case."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self.items: OrderedDict[tuple[str, str, str], Any] = OrderedDict()

    def get(self, key: tuple[str, str, str], build: Callable[[], Any]) -> Any:
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = build()
        self.items[key] = value
        while len(self.items) > self.size * 2:
            self.items.popitem(last=False)
        return value


_CACHE = _CaseCache()


def _build_inputs(suite: Suite, case: Case) -> Inputs:
    inputs = suite.inputs_for(case)
    if list(inputs) != suite.parameters:
        raise ValueError(
            f"{suite.algorithm}: make_inputs returned {list(inputs)}, the oracle "
            f"takes {suite.parameters}"
        )
    for value in inputs.values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)  # shared: nobody may write into the master copy
    return inputs


def case_inputs(suite: Suite, case: Case) -> Inputs:
    """The case's inputs, generated once from its seed and shared by every implementation."""
    inputs: Inputs = _CACHE.get(
        ("in", suite.algorithm, case.to_json()), lambda: _build_inputs(suite, case)
    )
    return inputs


def _as_float64(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float64)
    return value


def oracle_output(suite: Suite, case: Case) -> Any:
    """The float64 ground truth for the case (float inputs are upcast before the oracle)."""

    def build() -> Any:
        inputs = {k: _as_float64(v) for k, v in case_inputs(suite, case).items()}
        return suite.run_oracle(inputs, case)

    return _CACHE.get(("out", suite.algorithm, case.to_json()), build)


# ---- calling -----------------------------------------------------------------------------


@dataclass
class PreparedCall:
    """Inputs converted to the implementation's backend, outside any timed region."""

    impl: Implementation
    args: list[Any]  # the inputs, then the options record when the suite has one
    snapshots: list[Any]
    names: list[str]

    def __call__(self) -> Any:
        assert self.impl.fn is not None
        return self.impl.fn(*self.args)

    def synchronized(self) -> Callable[[], Any]:
        """The timing target: call, then wait for the device, so the time is the work's."""
        sync, call = BACKENDS[self.impl.arrays].synchronize, self.__call__

        def target() -> Any:
            out = call()
            sync()
            return out

        return target

    def aliased_inputs(self, raw: Any, outputs: tuple[str, ...], may_alias: tuple[str, ...]) -> str:
        """'output x shares memory with input y' for each forbidden pair, or ''."""
        values = raw if len(outputs) > 1 and isinstance(raw, tuple) else (raw,)
        found = [
            f"output {out!r} shares memory with input {name!r}"
            for out, value in zip(outputs, values, strict=False)
            if out not in may_alias
            for name, arg in zip(self.names, self.args, strict=False)
            if shares_memory(value, arg)
        ]
        return "; ".join(found)

    def modified_inputs(self) -> list[str]:
        to_numpy = BACKENDS[self.impl.arrays].to_numpy
        changed = []
        for name, arg, snap in zip(self.names, self.args, self.snapshots, strict=False):
            if snap is not None and not _bitwise_equal(to_numpy(arg), snap):
                changed.append(name)
        return changed


def _bitwise_equal(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return bool(a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes())


def prepare(suite: Suite, impl: Implementation, case: Case) -> PreparedCall:
    backend = BACKENDS[impl.arrays]
    inputs = case_inputs(suite, case)
    args = [backend.from_numpy(v) for v in inputs.values()]
    snaps = [
        np.array(backend.to_numpy(a), copy=True) if isinstance(v, np.ndarray) else None
        for a, v in zip(args, inputs.values(), strict=True)
    ]
    return PreparedCall(impl, suite.call_args(args, case), snaps, list(inputs))


def unsupported_options(suite: Suite, impl: Implementation, case: Case) -> dict[str, Any]:
    """The case's flag values this implementation declares it does not handle."""
    return {
        k: v for k, v in suite.options.build(case.options).changed().items()
        if not impl.supports_value(k, v)
    }  # fmt: skip


def over_cap(suite: Suite, impl: Implementation, case: Case) -> str | None:
    if impl.max_flops is None:
        return None
    flops = suite.cost(case).flops
    if flops > impl.max_flops:
        return (
            f"size cap: case needs {flops:.3g} flops > {impl.max_flops:.3g} declared by "
            f"the implementation"
        )
    return None

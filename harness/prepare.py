"""A cell's inputs and oracle output (built once per case, shared, read-only) and the call
prepared on an implementation's backend outside any timed region."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.backends import BACKENDS, shares_memory
from harness.registry import Implementation
from harness.spec import Case, Cost, Inputs, Suite


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
    if isinstance(value, list):  # parameter groups: each array upcast like a top-level one
        return [_as_float64(v) for v in value]
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
    """Inputs converted to the implementation's backend, outside any timed region.

    ``state`` names the inputs the implementation updates in place (optimizer moments,
    parameters): they are exempt from the no-modification rule, read back as outputs after
    the call, and ``reset()`` reconverts them from the master copy before every timed round.
    An implementation registered with ``prepare=True`` returns a closure on its first call
    (setup outside timing: e.g. the forward pass of a backward-mode cell); the closure is
    what is called, verified and timed from then on.
    """

    impl: Implementation
    args: list[Any]  # the inputs, then the options record when the suite has one
    snapshots: list[Any]
    names: list[str]
    state: tuple[str, ...] = ()
    masters: list[Any] = field(default_factory=list)
    closure: Callable[[], Any] | None = None
    fn: Callable[..., Any] | None = None  # impl.fn, looked up once (it may import the module)
    # the elements of each state list as passed: an in-place update keeps them
    state_before: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._remember_state()

    def _remember_state(self) -> None:
        self.state_before = {
            n: list(a) for n, a in zip(self.names, self.args, strict=False)
            if n in self.state and isinstance(a, list)
        }  # fmt: skip

    def _function(self) -> Callable[..., Any]:
        """The implementation's function, imported on first use."""
        if self.fn is None:
            self.fn = self.impl.fn
            assert self.fn is not None
        return self.fn

    def __call__(self) -> Any:
        if not self.impl.prepare:
            return self._function()(*self.args)
        return self.ready()()

    def ready(self) -> Callable[[], Any]:
        """Run a ``prepare=True`` implementation's setup now, if not done yet; its closure."""
        if not self.impl.prepare:
            return self
        if self.closure is None:
            self.closure = self._function()(*self.args)
            if not callable(self.closure):
                raise TypeError(
                    f"prepare=True: must return the closure to time, got "
                    f"{type(self.closure).__name__}"
                )
        return self.closure

    def synchronized(self) -> Target:
        """The timing target: call, then wait for the device, so the time is the work's."""
        return Target(self, BACKENDS[self.impl.arrays].synchronize, bool(self.state))

    def reset(self) -> None:
        """Fresh copies of the declared state (a timed round starts from the same state)."""
        backend = BACKENDS[self.impl.arrays]
        for i, name in enumerate(self.names):
            if name in self.state:
                self.args[i] = backend.native(self.masters[i])
        self.closure = None
        self._remember_state()

    def outputs(self, raw: Any, names: tuple[str, ...]) -> Any:
        """What the call produced, by output name: returned values, then declared state read
        back from the (updated) inputs. One name: the bare value; several: a tuple."""
        returned = [n for n in names if n not in self.state]
        if len(returned) == 1:
            got: dict[str, Any] = {returned[0]: raw}
        elif not returned:
            got = {}
        else:
            if not isinstance(raw, tuple) or len(raw) != len(returned):
                return raw  # the structure check reports it
            got = dict(zip(returned, raw, strict=True))
        for n in names:
            if n in self.state:
                got[n] = self.args[self.names.index(n)]
        values = tuple(got[n] for n in names)
        return values[0] if len(values) == 1 else values

    def aliased_inputs(self, raw: Any, outputs: tuple[str, ...], may_alias: tuple[str, ...]) -> str:
        """'output x shares memory with input y' for each forbidden pair, or ''."""
        returned = tuple(n for n in outputs if n not in self.state)
        values = raw if len(returned) > 1 and isinstance(raw, tuple) else (raw,)
        found = [
            f"output {out!r} shares memory with input {name!r}"
            for out, value in zip(returned, values, strict=False)
            if out not in may_alias
            for name, arg in zip(self.names, self.args, strict=False)
            if shares_memory(value, arg)
        ]
        return "; ".join(found)

    def state_problems(self) -> str:
        """Declared state is updated in place and owns its memory: on a typed backend an
        array of a state list must still be the one the caller passed (a rebound element
        leaves the caller's optimizer state stale), and no state may share memory with
        another input (a view of a gradient is overwritten by the next backward pass).
        Plain Python lists are exempt from the first rule: a 0-d value there is an
        immutable float that can only be rebound."""
        if not self.state:
            return ""
        found = []
        if BACKENDS[self.impl.arrays].typed:
            for name, before in self.state_before.items():
                now = self.args[self.names.index(name)]
                if len(now) != len(before):
                    found.append(f"state {name!r} changed length {len(before)} -> {len(now)}")
                    continue
                found += [
                    f"state {name!r}[{j}] was rebound to another array instead of "
                    "being updated in place"
                    for j, (old, new) in enumerate(zip(before, now, strict=True))
                    if new is not old
                ]
        pairs = list(zip(self.names, self.args, strict=False))
        for i, (name, value) in enumerate(pairs):
            if name not in self.state:
                continue
            found += [
                f"state {name!r} shares memory with input {other!r}"
                for j, (other, arg) in enumerate(pairs)
                if j != i and (other not in self.state or j > i) and shares_memory(value, arg)
            ]
        return "; ".join(found)

    def modified_inputs(self) -> list[str]:
        host = BACKENDS[self.impl.arrays].host
        changed = []
        for name, arg, snap in zip(self.names, self.args, self.snapshots, strict=False):
            if name in self.state or snap is None:
                continue
            if not _bitwise_equal(host(arg), snap):
                changed.append(name)
        return changed


@dataclass
class Target:
    """What is timed: the call, then a device synchronisation. ``setup`` is the reset a
    stateful cell needs before every timed round (None when the suite declares no state)."""

    call: PreparedCall
    sync: Callable[[], None]
    stateful: bool

    def __call__(self) -> Any:
        out = self.call()
        self.sync()
        return out

    @property
    def setup(self) -> Callable[[], None] | None:
        return self.call.reset if self.stateful else None


def _bitwise_equal(a: Any, b: Any) -> bool:
    if isinstance(b, list):
        if isinstance(a, np.ndarray):  # the python world reads equal shapes back stacked
            a = list(a)
        return isinstance(a, list) and len(a) == len(b) and all(map(_bitwise_equal, a, b))
    a, b = np.asarray(a), np.asarray(b)
    return bool(a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes())


def _snapshot(converted: Any, original: Any, host: Callable[[Any], Any]) -> Any:
    """A private copy of an array input (or of each array of a list input), else None."""
    if isinstance(original, list):
        return [_snapshot(c, o, host) for c, o in zip(converted, original, strict=True)]
    if isinstance(original, np.ndarray):
        return np.array(host(converted), copy=True)
    return None


def prepare(suite: Suite, impl: Implementation, case: Case) -> PreparedCall:
    backend = BACKENDS[impl.arrays]
    inputs = case_inputs(suite, case)
    masters = list(inputs.values())
    args = [backend.native(v) for v in masters]
    snaps = [_snapshot(a, v, backend.host) for a, v in zip(args, masters, strict=True)]
    call_args = suite.call_args(args, case)
    return PreparedCall(impl, call_args, snaps, list(inputs), suite.state, masters)


def unsupported_options(suite: Suite, impl: Implementation, case: Case) -> dict[str, Any]:
    """The case's flag values this implementation declares it does not handle: its
    non-default values, and a default the implementation leaves out of ``supports`` (a
    library that answers only a corner of the conventions)."""
    opts = suite.options.build(case.options)
    values = {**{k: getattr(opts, k) for k in impl.supports}, **opts.changed()}
    return {k: v for k, v in values.items() if not impl.supports_value(k, v)}


def case_cost(suite: Suite, case: Case) -> Cost:
    """The suite's cost model for the case, given the oracle's output when it asks for it
    (iteration counts, kept boxes: work that only the answer knows)."""
    if suite.cost_needs_output:
        return suite.cost(case, oracle_output(suite, case))
    cost: Cost = suite.cost(case)
    return cost


def input_bytes(suite: Suite, case: Case) -> int:
    """Bytes of the case's array inputs (lists of arrays included): what a call must read."""

    def size(value: Any) -> int:
        if isinstance(value, list):
            return sum(size(v) for v in value)
        return int(value.nbytes) if isinstance(value, np.ndarray) else 0

    return sum(size(v) for v in case_inputs(suite, case).values())


def over_cap(suite: Suite, impl: Implementation, case: Case) -> str | None:
    if impl.max_flops is None:
        return None
    flops = case_cost(suite, case).flops
    if flops > impl.max_flops:
        return (
            f"size cap: case needs {flops:.3g} flops > {impl.max_flops:.3g} declared by "
            f"the implementation"
        )
    return None

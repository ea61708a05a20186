"""Run one implementation on one case against the float64 oracle and produce its Verdict."""

from __future__ import annotations

import shlex
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from harness.backends import BACKENDS, shares_memory
from harness.comparators import Comparison
from harness.registry import Implementation
from harness.spec import Case, ErrorCase, Inputs, Suite

STATUSES = ("pass", "xfail", "skip", "fail", "error")
OK_STATUSES = ("pass", "xfail", "skip")


@dataclass(frozen=True)
class Verdict:
    """The checked outcome of one (implementation, case) cell, with the measured error."""

    algorithm: str
    backend: str
    variant: str
    kind: str
    case: str
    case_kind: str
    dtype: str
    status: str
    detail: str = ""
    mismatches: int = 0
    total: int = 0
    max_abs: float = 0.0
    max_rel: float = 0.0
    worst_index: tuple[int, ...] | None = None
    error_ratio: float = 0.0
    rtol: float = 0.0
    atol: float = 0.0
    tolerance_reason: str = ""
    note: str = ""
    repro: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["worst_index"] = list(self.worst_index) if self.worst_index is not None else None
        return d


def repro_command(impl: Implementation, case: Case) -> str:
    """The one command that re-runs exactly this cell."""
    parts = [
        "shootout",
        "verify",
        "--algorithm",
        impl.algorithm,
        "--backend",
        impl.backend,
        "--variant",
        impl.variant,
    ]
    if case.kind in ("fuzz", "custom"):
        parts += ["--case-json", case.to_json()]
    else:
        parts += ["--case", case.name]
    if impl.origin.startswith("plugin:"):
        parts += ["--plugin", impl.origin.removeprefix("plugin:")]
    return shlex.join(parts)


# ---- inputs and oracle, built once per case and shared by every implementation -------------


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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


# ---- the verdict -------------------------------------------------------------------------


def _cell_fields(impl: Implementation, case: Case) -> dict[str, Any]:
    return dict(
        algorithm=impl.algorithm,
        backend=impl.backend,
        variant=impl.variant,
        kind=impl.kind,
        case=case.name,
        case_kind=case.kind,
        dtype=case.dtype,
        repro=repro_command(impl, case),
        params=dict(case.params),
        options=dict(case.options),
    )


def fuzz_session_verdict(impl: Implementation, status: str, **extra: Any) -> Verdict:
    """The verdict of a whole fuzz session (its cases are random, so it has no case)."""
    return Verdict(
        impl.algorithm, impl.backend, impl.variant, impl.kind, "fuzz", "fuzz", "mixed", status,
        **extra,
    )  # fmt: skip


def unrun_verdict(
    impl: Implementation, case: Case | ErrorCase, status: str, detail: str
) -> Verdict:
    """The verdict of a cell that never reached a comparison: skipped before it ran, or
    lost to a crash or a timeout (recorded by the supervisor's next worker)."""
    case = case.as_case() if isinstance(case, ErrorCase) else case
    return Verdict(status=status, detail=detail, **_cell_fields(impl, case))


OnCall = Callable[[Callable[[], Any]], Any]


def _call(target: Callable[[], Any]) -> Any:
    return target()


def verify(
    suite: Suite, impl: Implementation, case: Case | ErrorCase, on_call: OnCall = _call
) -> Verdict:
    """Check one cell. Never raises for a misbehaving implementation: that is a verdict.

    ``on_call`` receives the device-synchronised target and returns its output; the
    benchmark passes one that also times this first call.
    """
    error_case = case if isinstance(case, ErrorCase) else None
    case = case.as_case() if isinstance(case, ErrorCase) else case
    base = _cell_fields(impl, case)

    def verdict(status: str, detail: str = "", **extra: Any) -> Verdict:
        v = Verdict(status=status, detail=detail, **base, **extra)
        return _apply_expected_failure(impl, v)

    reason = impl.unavailable_reason()
    if reason:
        return Verdict(status="skip", detail=reason, **base)
    if error_case is None:
        cap = over_cap(suite, impl, case)
        if cap:
            return Verdict(status="skip", detail=cap, **base)
    unsupported = unsupported_options(suite, impl, case)
    call = prepare(suite, impl, case)
    if unsupported:
        return _check_refusal(call, unsupported, verdict)
    if error_case is not None:
        return _check_error_case(call, error_case, verdict)
    return _check_output(suite, case, call, verdict, on_call)


def _check_refusal(
    call: PreparedCall, unsupported: dict[str, Any], verdict: Callable[..., Verdict]
) -> Verdict:
    flags = ", ".join(f"{k}={v!r}" for k, v in unsupported.items())
    try:
        call()
    except (ValueError, NotImplementedError, TypeError) as exc:
        return Verdict(
            **{
                **verdict("skip").__dict__,
                "detail": f"unsupported convention {flags} (refused as required: {_one_line(exc)})",
            }
        )
    except Exception as exc:
        return verdict(
            "error",
            f"unsupported convention {flags} must raise ValueError, raised {_one_line(exc)}",
        )
    return verdict(
        "fail",
        f"declares {flags} unsupported but returned a result instead of "
        "raising ValueError (it silently ran another convention)",
    )


def _check_error_case(
    call: PreparedCall, err: ErrorCase, verdict: Callable[..., Verdict]
) -> Verdict:
    import re

    expected = "/".join(e.__name__ for e in err.expected)
    try:
        call()
    except err.expected as exc:
        if re.search(err.match, str(exc)):
            return verdict("pass", note=f"raised {_one_line(exc)}")
        return verdict(
            "fail",
            f"raised {type(exc).__name__} but the message {str(exc)!r} "
            f"does not match {err.match!r}",
        )
    except Exception as exc:
        return verdict(
            "fail", f"must raise {expected} matching {err.match!r}, raised {_one_line(exc)}"
        )
    return verdict("fail", f"must raise {expected} matching {err.match!r}, returned normally")


def _check_output(
    suite: Suite, case: Case, call: PreparedCall, verdict: Callable[..., Verdict], on_call: OnCall
) -> Verdict:
    comparator = suite.compare
    tol = comparator.tolerance(case)
    tol_fields = dict(rtol=tol.rtol, atol=tol.atol, tolerance_reason=tol.reason)
    try:
        expected = oracle_output(suite, case)
    except Exception as exc:
        return verdict(
            "error",
            f"the suite's oracle raised {_one_line(exc)} on this case "
            "(a suite bug, not the implementation's)",
            **tol_fields,
        )
    if comparator.vacuous(expected, case):
        return verdict(
            "error",
            "vacuous case: the tolerance alone would accept an all-zero "
            "answer; the suite must use larger values",
            **tol_fields,
        )
    try:
        with warnings.catch_warnings():
            # 0/0 and inf/inf warnings are NumPy's way of saying NaN: the values are judged
            warnings.simplefilter("ignore", RuntimeWarning)
            raw = on_call(call.synchronized())
    except Exception as exc:
        return verdict("error", f"raised {_one_line(exc)}", **tol_fields)
    modified = call.modified_inputs()
    if modified:
        return verdict(
            "fail",
            f"modified its input(s) {modified} in place; implementations "
            "must not write to their inputs",
            **tol_fields,
        )
    aliased = call.aliased_inputs(raw, suite.outputs, suite.may_alias)
    if aliased:
        return verdict(
            "fail",
            f"{aliased}; an output must be a new array (a caller writing into it would "
            "change the input)",
            **tol_fields,
        )
    backend = BACKENDS[call.impl.arrays]
    try:
        actual = backend.to_numpy(raw)
    except Exception as exc:
        return verdict(
            "error",
            f"returned {type(raw).__name__}, which cannot be read as an array: {_one_line(exc)}",
            **tol_fields,
        )
    problem = _structure_problem(suite, case, actual, expected, backend.typed)
    if problem:
        return verdict("fail", problem, **tol_fields)
    inputs = case_inputs(suite, case)
    result: Comparison = comparator(actual, expected, inputs, case, tol)
    status = "pass" if result.passed else "fail"
    return verdict(status, result.detail, note=result.note, **result.measured(), **tol_fields)


def _structure_problem(
    suite: Suite, case: Case, actual: Any, expected: Any, typed: bool
) -> str | None:
    """Dtype, then shape: the checks that come before values (as torch.testing does)."""
    names = suite.outputs
    if len(names) > 1:
        if not isinstance(actual, tuple) or len(actual) != len(names):
            return f"must return a tuple of {len(names)} outputs {names}, got {type(actual)}"
        dtypes = suite.compare.dtypes(case, names)
        pairs = [(n, a, e, dtypes[n]) for n, a, e in zip(names, actual, expected, strict=True)]
    else:
        if isinstance(actual, tuple):
            return f"must return one array, got a tuple of {len(actual)}"
        pairs = [(names[0], actual, expected, suite.compare.dtypes(case, names)[names[0]])]
    for name, a, e, dtype in pairs:
        a, e = np.asarray(a), np.asarray(e)
        if typed and dtype is not None and str(a.dtype) != dtype:
            return f"output {name!r} has dtype {a.dtype}, expected {dtype}"
        # Plain lists cannot say (0, M): an empty list stands for any empty shape.
        empty_untyped = not typed and a.size == 0 and e.size == 0
        # Set-valued outputs (kept indices) may legitimately differ in length from the
        # oracle's; such comparators check the shape themselves.
        own_shape = suite.compare.compares_shape
        if a.shape != e.shape and not empty_untyped and not own_shape:
            return f"output {name!r} has shape {a.shape}, expected {e.shape}"
    return None


def _apply_expected_failure(impl: Implementation, v: Verdict) -> Verdict:
    reason = impl.expected_failures.get(v.case)
    if reason is None:
        return v
    if v.status in ("fail", "error"):
        return Verdict(
            **{
                **v.__dict__,
                "status": "xfail",
                "note": f"known divergence: {reason} (was: {v.detail})",
            }
        )
    if v.status == "pass":
        return Verdict(
            **{
                **v.__dict__,
                "status": "error",
                "detail": f"unexpected pass: the expected failure {reason!r} is "
                "stale; remove it from expected_failures",
            }
        )
    return v

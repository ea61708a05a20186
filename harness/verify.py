"""Run one implementation on one case against the float64 oracle and produce its Verdict."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from harness.backends import BACKENDS, seed_all
from harness.comparators import Comparator, Comparison
from harness.escapes import one_line as _one_line
from harness.escapes import stops_the_run
from harness.hygiene import settle
from harness.prepare import (
    PreparedCall,
    case_inputs,
    oracle_output,
    over_cap,
    prepare,
    unsupported_options,
)
from harness.registry import Implementation
from harness.resume import check_resume
from harness.spec import Case, ErrorCase, Suite
from harness.verdict import (
    OK_STATUSES,
    STATUSES,
    Verdict,
    apply_expected_failure,
    cell_fields,
    fuzz_session_verdict,
    repro_command,
    unrun_verdict,
)

__all__ = [
    "OK_STATUSES",
    "STATUSES",
    "Verdict",
    "case_inputs",
    "fuzz_session_verdict",
    "oracle_output",
    "over_cap",
    "prepare",
    "repro_command",
    "unrun_verdict",
    "verify",
]


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
    base = cell_fields(impl, case)

    def verdict(status: str, detail: str = "", **extra: Any) -> Verdict:
        v = Verdict(status=status, detail=detail, **base, **extra)
        return apply_expected_failure(impl, v)

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
    except BaseException as exc:  # any but an interrupt of the run is this cell's (escapes)
        if stops_the_run(exc):
            raise
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
    except BaseException as exc:
        if stops_the_run(exc):
            raise
        return verdict(
            "fail", f"must raise {expected} matching {err.match!r}, raised {_one_line(exc)}"
        )
    return verdict("fail", f"must raise {expected} matching {err.match!r}, returned normally")


def _check_output(
    suite: Suite, case: Case, call: PreparedCall, verdict: Callable[..., Verdict], on_call: OnCall
) -> Verdict:
    comparator = suite.comparator_for(call.impl.own_rng)
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
    seed_all(case.seed)  # implementations with their library's own generator: reproducible
    try:
        with warnings.catch_warnings():
            # 0/0 and inf/inf warnings are NumPy's way of saying NaN: the values are judged
            warnings.simplefilter("ignore", RuntimeWarning)
            raw = on_call(call.synchronized())
    except BaseException as exc:
        if stops_the_run(exc):
            raise
        return verdict("error", f"raised {_one_line(exc)}", **tol_fields)
    finally:
        settle()  # what the call changed (np.seterr, ...) must not change the comparison
    modified = call.modified_inputs()
    if modified:
        return verdict(
            "fail",
            f"modified its input(s) {modified} in place; implementations "
            "must not write to their inputs",
            **tol_fields,
        )
    state = call.state_problems()
    if state:
        return verdict(
            "fail",
            f"{state}; declared state must be updated in place in memory of its own",
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
    returned = [n for n in suite.outputs if n not in call.state]
    if raw is None and returned:  # the same words on every case: failures group by them
        what = f"the output {returned[0]!r}" if len(returned) == 1 else f"outputs {returned}"
        return verdict("fail", f"returned None instead of {what}", **tol_fields)
    backend = BACKENDS[call.impl.arrays]
    try:
        actual = backend.host(call.outputs(raw, suite.outputs))
    except BaseException as exc:
        if stops_the_run(exc):
            raise
        return verdict(
            "error",
            f"returned {type(raw).__name__}, which cannot be read as an array: {_one_line(exc)}",
            **tol_fields,
        )
    problem = _structure_problem(suite, comparator, case, actual, expected, backend.typed)
    if problem:
        return verdict("fail", problem, **tol_fields)
    inputs = case_inputs(suite, case)
    result: Comparison = comparator(actual, expected, inputs, case, tol)
    status = "pass" if result.passed else "fail"
    if result.passed and suite.steps:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                resumed = check_resume(suite, call.impl, case, actual)
        except Exception as exc:
            resumed = f"raised {_one_line(exc)} when resumed from a saved state"
        if resumed:
            return verdict("fail", resumed, **result.measured(), **tol_fields)
    return verdict(status, result.detail, note=result.note, **result.measured(), **tol_fields)


def _structure_problem(
    suite: Suite, comparator: Comparator, case: Case, actual: Any, expected: Any, typed: bool
) -> str | None:
    """Dtype, then shape: the checks that come before values (as torch.testing does)."""
    names = suite.outputs
    dtypes = comparator.dtypes(case, names)
    if len(names) > 1:
        if not isinstance(actual, tuple) or len(actual) != len(names):
            return f"must return a tuple of {len(names)} outputs {names}, got {type(actual)}"
        pairs = [(n, a, e, dtypes[n]) for n, a, e in zip(names, actual, expected, strict=True)]
    else:
        if isinstance(actual, tuple):
            return f"must return one array, got a tuple of {len(actual)}"
        pairs = [(names[0], actual, expected, dtypes[names[0]])]
    flat: list[tuple[str, Any, Any, str | None]] = []
    for name, a, e, dtype in pairs:
        if isinstance(e, list):  # a list of arrays (parameter groups): element by element
            if not isinstance(a, list | np.ndarray) or len(a) != len(e):
                return f"output {name!r} must be a list of {len(e)} arrays"
            flat += [
                (f"{name}[{i}]", x, y, dtype) for i, (x, y) in enumerate(zip(a, e, strict=True))
            ]
        else:
            flat.append((name, a, e, dtype))
    for name, a, e, dtype in flat:
        if not hasattr(e, "shape") and not isinstance(e, int | float):
            continue  # a Law or another description: the comparator checks the shape
        a, e = np.asarray(a), np.asarray(e)
        if typed and dtype is not None and str(a.dtype) != dtype:
            return f"output {name!r} has dtype {a.dtype}, expected {dtype}"
        # Plain lists cannot say (0, M): an empty list stands for any empty shape.
        empty_untyped = not typed and a.size == 0 and e.size == 0
        # Set-valued outputs (kept indices) may legitimately differ in length from the
        # oracle's; such comparators check the shape themselves.
        own_shape = comparator.compares_shape
        if a.shape != e.shape and not empty_untyped and not own_shape:
            return f"output {name!r} has shape {a.shape}, expected {e.shape}"
    return None

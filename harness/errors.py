"""The generic error cases, generated per argument from its declaration (harness.args).

For every array argument: one axis too many, one too few (where that is still an array of
the declared kind), a wrong literal size on each literal axis, a size that disagrees with
another argument on each shared symbol, a dtype of the wrong kind, and a broken rule; for
every scalar: below, above, NaN and not a number. Each is an ErrorCase whose params name the
mutation, so ``--case NAME`` rebuilds it exactly: the base case's inputs, then one change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.args import KINDS, Arg, Args, ArrayList, Scalar
from harness.cases import Case, ErrorCase, Inputs


def _error(
    base: Case, arg: str, how: str, raises: type[BaseException], axis: int = -1
) -> ErrorCase:
    params = {**base.params, "mutate": {"arg": arg, "how": how, "axis": axis}}
    return ErrorCase(
        f"{arg}:{how}" + (f"@{axis}" if axis >= 0 else ""),
        params,
        (raises,),
        rf"\b{re.escape(arg)}\b",
        base.options,
    )


def generate(args: Args, base: Case, inputs: Inputs) -> list[ErrorCase]:
    """Every generic error case for these arguments, built on ``base`` (its ``inputs``).

    An optional argument that is None in the base case gets none (there is nothing to
    spoil); a broadcast argument gets no missing-axis case (fewer axes are allowed) and no
    mismatch on an axis of size 1 (that broadcasts).
    """
    shared = args.shared()
    sizes = args.sizes(list(inputs.values()))
    out: list[ErrorCase] = []
    liked = {d.like for d in args.lists if d.like}
    for decl in args.decls:
        if inputs.get(decl.name) is None and isinstance(decl, Arg) and decl.optional:
            continue
        if isinstance(decl, ArrayList):
            out.append(_error(base, decl.name, "not_a_list", TypeError))
            out.append(_error(base, decl.name, "wrong_dtype", TypeError))
            if (decl.like or decl.name in liked) and len(inputs[decl.name]) >= 1:
                out.append(_error(base, decl.name, "one_array_short", ValueError))
            continue
        if isinstance(decl, Scalar):
            if decl.low is not None:
                out.append(_error(base, decl.name, "below_range", ValueError))
            if decl.high is not None:
                out.append(_error(base, decl.name, "above_range", ValueError))
            if decl.kind == "real":  # NaN is not an int: for int scalars not_a_number covers it
                out.append(_error(base, decl.name, "nan", ValueError))
            out.append(_error(base, decl.name, "not_a_number", TypeError))
            continue
        out.append(_error(base, decl.name, "extra_axis", ValueError))
        if decl.ndims[0] >= 2:
            out.append(_error(base, decl.name, "missing_axis", ValueError))
        for axis, dim in enumerate(decl.shape):
            if isinstance(dim, int):
                out.append(_error(base, decl.name, "wrong_size", ValueError, axis))
            elif dim in shared and sizes.get(dim, 0) >= 1 and _full(decl, inputs, axis):
                out.append(_error(base, decl.name, "mismatch", ValueError, axis))
        out.append(_error(base, decl.name, "wrong_dtype", TypeError))
        out.extend(
            _error(base, decl.name, "broken_rule", ValueError, i) for i in range(len(decl.rules))
        )
    return out


def _full(decl: Arg, inputs: Inputs, axis: int) -> bool:
    """The base value has this declared axis at full size (not a broadcast 1)."""
    if not decl.broadcast:
        return True
    shape = np.asarray(inputs[decl.name]).shape
    k = axis - (len(decl.shape) - len(shape))
    return 0 <= k < len(shape) and shape[k] != 1


def mutate(args: Args, inputs: Inputs, spec: Mapping[str, Any]) -> Inputs:
    """Apply one generated mutation to a copy of the base inputs."""
    name, how, axis = spec["arg"], spec["how"], int(spec["axis"])
    decl = next(d for d in args.decls if d.name == name)
    value = inputs[name]
    if isinstance(decl, Scalar):
        new: Any = _scalar(decl, how)
    elif isinstance(decl, ArrayList):
        new = _list(decl, list(value), how)
    else:
        new = _array(decl, np.asarray(value), how, axis)
    return {**inputs, name: new}


def _scalar(decl: Scalar, how: str) -> Any:
    span = (decl.high or 1.0) - (decl.low or 0.0)
    if how == "below_range":
        low = decl.low or 0.0
        return int(low) - 1 if decl.kind == "int" else float(low) - 0.25 * abs(span or 1.0)
    if how == "above_range":
        high = decl.high or 0.0
        return int(high) + 1 if decl.kind == "int" else float(high) + 0.25 * abs(span or 1.0)
    if how == "nan":
        return float("nan")
    return str(decl.low if decl.low is not None else 0.5)  # "not_a_number"


def _list(decl: ArrayList, arrays: list[np.ndarray], how: str) -> Any:
    if how == "not_a_list":
        return np.float64(0.5)  # an array would reach plain Python as a list of its rows
    if how == "wrong_dtype":
        return [np.asarray(a).astype(KINDS[decl.dtype][1]) for a in arrays]
    return arrays[:-1]  # one_array_short


def _array(decl: Arg, x: np.ndarray, how: str, axis: int) -> np.ndarray:
    lo, hi = decl.ndims
    if how == "extra_axis":
        return x.reshape((1,) * (hi + 1 - x.ndim) + x.shape)
    if how == "missing_axis":  # merge leading axes until one below the fewest allowed
        merge = x.ndim - (lo - 1) + 1
        return x.reshape((int(np.prod(x.shape[:merge])), *x.shape[merge:]))
    if how == "wrong_size":
        size = int(decl.shape[axis])
        if size >= 2:
            return np.take(x, np.arange(size - 1), axis=axis)
        return np.concatenate([x, x], axis=axis)
    if how == "mismatch":
        if decl.broadcast:  # a broadcast argument may have fewer axes than declared
            axis -= len(decl.shape) - x.ndim
        return np.take(x, np.arange(x.shape[axis] - 1), axis=axis)
    if how == "wrong_dtype":
        return x.astype(KINDS[decl.dtype][1])
    if how == "broken_rule":
        return decl.rules[axis].violate(x)
    raise ValueError(f"unknown mutation {how!r}")

"""Argument declarations: shapes, dtype kinds and rules, checked in one line by any backend.

A suite declares its positional inputs once:

    ARGS = Args(
        Arg("boxes", ("N", 4), "real", rules=(NOT_INVERTED,)),
        Arg("scores", ("N",), "real", rules=(NO_NAN,)),
        Scalar("iou_threshold", low=0.0, high=1.0),
    )

and every implementation starts with ``ARGS.check(boxes, scores, iou_threshold)``, which
works on NumPy, torch and CuPy arrays (through array-api-compat) and on plain Python lists,
raises a one-line ValueError/TypeError naming the argument, and returns the result's float
dtype in the caller's own namespace. The same declaration generates the error cases every
implementation must pass (harness.errors) and binds shape symbols for the conformance rules.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Dim = str | int

#: Declared dtype kind -> the array-API kinds it accepts, and a dtype of the wrong kind.
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "float": (("real floating",), "int32"),
    "real": (("real floating", "integral"), "bool"),
    "int": (("integral",), "float64"),
    "bool": (("bool",), "float64"),
    "mask": (("bool", "real floating"), "int32"),  # a bool mask or an additive float one
}


@dataclass(frozen=True)
class Rule:
    """A value constraint: ``broken(xp, x)`` is true where it is violated (NaN may pass);
    ``violate(x)`` turns a valid NumPy input into one that breaks it (the error case)."""

    text: str
    broken: Callable[[Any, Any], Any]
    violate: Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Arg:
    """An array argument. ``shape`` holds symbols ("N"), literal sizes (4) and at most one
    starred symbol ("*S") standing for ``star`` = (fewest, most) further axes.

    ``optional``: None is accepted. ``broadcast``: the shape only needs to broadcast to the
    declared one (trailing axes aligned, each of size 1 or the symbol's size, fewer axes
    allowed); its size-1 axes bind nothing.
    """

    name: str
    shape: tuple[Dim, ...]
    dtype: str = "float"
    rules: tuple[Rule, ...] = ()
    star: tuple[int, int] = (0, 0)
    optional: bool = False
    broadcast: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in KINDS:
            raise ValueError(f"{self.name}: dtype kind {self.dtype!r} not in {sorted(KINDS)}")
        if sum(isinstance(d, str) and d.startswith("*") for d in self.shape) > 1:
            raise ValueError(f"{self.name}: at most one starred dimension")

    @property
    def starred(self) -> int | None:
        for i, d in enumerate(self.shape):
            if isinstance(d, str) and d.startswith("*"):
                return i
        return None

    @property
    def ndims(self) -> tuple[int, int]:
        fixed = len(self.shape) - (self.starred is not None)
        if self.broadcast:
            return (0, fixed)
        return (fixed + self.star[0], fixed + self.star[1])

    @property
    def shown(self) -> str:
        parts = [str(d) for d in self.shape]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"

    def symbols(self, shape: tuple[int, ...]) -> list[tuple[Dim, int, int]]:
        """(declared dim, axis, size) for every axis of a shape of acceptable ndim."""
        if self.broadcast:  # trailing-aligned; size-1 axes stand for any size
            dims = self.shape[len(self.shape) - len(shape) :]
            return [(d, i, n) for i, (d, n) in enumerate(zip(dims, shape, strict=True)) if n != 1]
        out: list[tuple[Dim, int, int]] = []
        s = self.starred
        extra = len(shape) - (len(self.shape) - (s is not None))
        axis = 0
        for i, d in enumerate(self.shape):
            if i == s:
                for k in range(extra):
                    out.append((f"{d}{k}", axis, shape[axis]))
                    axis += 1
                continue
            out.append((d, axis, shape[axis]))
            axis += 1
        return out


@dataclass(frozen=True)
class Scalar:
    """A number argument: ``kind`` real or int, optional closed bounds (NaN never passes);
    ``optional``: None is accepted (e.g. "use the default scale")."""

    name: str
    kind: str = "real"
    low: float | None = None
    high: float | None = None
    optional: bool = False

    @property
    def shown(self) -> str:
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"{self.kind} in [{lo}, {hi}]"

    def check(self, value: Any) -> None:
        if value is None and self.optional:
            return
        wanted = numbers.Integral if self.kind == "int" else numbers.Real
        if isinstance(value, bool | np.bool_) or not isinstance(value, wanted):
            raise TypeError(f"{self.name} must be a {self.kind} number, got {type(value).__name__}")
        v = float(value)
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        if not lo <= v <= hi:  # NaN fails this too
            raise ValueError(f"{self.name} must be in [{lo:g}, {hi:g}], got {v!r}")


@dataclass(frozen=True)
class ArrayList:
    """A list of arrays of any shapes (parameter groups, one gradient per parameter).

    ``like`` names another ArrayList: this one must hold as many arrays, each of the same
    shape after ``lead`` extra leading axes (e.g. one entry per step of stacked gradients).
    """

    name: str
    dtype: str = "float"
    like: str | None = None
    lead: int = 0

    @property
    def shown(self) -> str:
        return f"list of {self.dtype} arrays" + (f" like {self.like}" if self.like else "")


Decl = Arg | Scalar | ArrayList


def _namespace(value: Any) -> tuple[Any, Any]:
    """(array, namespace) for a native array; plain lists are read through NumPy."""
    if isinstance(value, list | tuple) or np.isscalar(value):
        return np.asarray(value), np
    from array_api_compat import array_namespace

    try:
        return value, array_namespace(value)
    except TypeError:
        return np.asarray(value), np


class Args:
    """The ordered positional inputs of an algorithm; ``promote`` says what dtype the
    result takes (``"float"``: the float arrays' common dtype, integers become float64)."""

    def __init__(
        self, *decls: Decl, nonempty: Sequence[str] = (), same_dtype: Sequence[str] = ()
    ) -> None:
        names = [d.name for d in decls]
        if len(set(names)) != len(names):
            raise ValueError(f"argument names repeat: {names}")
        self.decls: tuple[Decl, ...] = decls
        self.nonempty = tuple(nonempty)
        self.same_dtype = tuple(same_dtype)  # arguments that must share one dtype

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.decls]

    @property
    def arrays(self) -> list[Arg]:
        return [d for d in self.decls if isinstance(d, Arg)]

    @property
    def lists(self) -> list[ArrayList]:
        return [d for d in self.decls if isinstance(d, ArrayList)]

    def shared(self) -> dict[str, list[str]]:
        """Symbols carried by two or more arguments -> those arguments, in order."""
        where: dict[str, list[str]] = {}
        for a in self.arrays:
            for d in a.shape:
                if isinstance(d, str) and not d.startswith("*"):
                    where.setdefault(d, []).append(a.name)
        return {s: names for s, names in where.items() if len(names) > 1}

    def emptiable(self) -> list[str]:
        seen: list[str] = []
        for a in self.arrays:
            for d in a.shape:
                if isinstance(d, str) and not d.startswith("*") and d not in seen:
                    seen.append(d)
        return [s for s in seen if s not in self.nonempty]

    def check(self, *values: Any) -> Any:
        """Validate every argument; return the result dtype (in the arrays' namespace)."""
        _, dtype = self._inspect(values)
        return dtype

    def sizes(self, values: Sequence[Any]) -> dict[str, int]:
        """The size bound to every named symbol (starred axes are checked across arguments
        that share the starred name, but not reported here)."""
        sizes, _ = self._inspect(values)
        return {k: v for k, v in sizes.items() if not k.startswith("*")}

    def _inspect(self, values: Sequence[Any]) -> tuple[dict[str, int], Any]:
        if len(values) != len(self.decls):
            raise TypeError(
                f"expected {len(self.decls)} arguments ({', '.join(self.names)}), got {len(values)}"
            )
        bound: dict[str, tuple[int, str]] = {}
        floats: list[tuple[Any, Any]] = []
        dtypes: dict[str, Any] = {}
        shapes: dict[str, list[tuple[int, ...]]] = {}
        for decl, value in zip(self.decls, values, strict=True):
            if isinstance(decl, Scalar):
                decl.check(value)
                continue
            if isinstance(decl, ArrayList):
                shapes[decl.name] = _check_list(decl, value, shapes, floats)
                continue
            if value is None and decl.optional:
                continue
            arr, xp = _namespace(value)
            untyped_empty = isinstance(value, list) and len(value) == 0
            if not untyped_empty:
                _check_kind(decl, arr, xp)
            for sym, size in _check_shape(decl, tuple(arr.shape), untyped_empty):
                if sym in bound and bound[sym][0] != size:
                    size0, first = bound[sym]
                    agree = "broadcast to" if decl.broadcast else "agree on"
                    raise ValueError(
                        f"{decl.name} has {sym}={size} but {first} has {sym}={size0}; "
                        f"{decl.name} must {agree} {first}'s {sym}"
                    )
                if size == 0 and sym in self.nonempty:
                    raise ValueError(f"{decl.name} has {sym}=0; {sym} cannot be empty")
                bound.setdefault(sym, (size, decl.name))
            for rule in decl.rules:
                if arr.size and bool(xp.any(rule.broken(xp, arr))):
                    raise ValueError(f"{decl.name} breaks the rule: {rule.text}")
            if decl.dtype in ("float", "real") and not untyped_empty:
                floats.append((arr, xp))
            if decl.name in self.same_dtype and not untyped_empty:
                dtypes[decl.name] = arr.dtype
        if len({str(d) for d in dtypes.values()}) > 1:
            shown = ", ".join(f"{n} {d}" for n, d in dtypes.items())
            raise TypeError(f"{', '.join(dtypes)} must share one dtype, got {shown}")
        return {s: v for s, (v, _) in bound.items()}, _result_dtype(floats)


def _check_list(
    decl: ArrayList,
    value: Any,
    shapes: dict[str, list[tuple[int, ...]]],
    floats: list[tuple[Any, Any]],
) -> list[tuple[int, ...]]:
    """Check a list of arrays; return their shapes (without the ``lead`` axes)."""
    if not isinstance(value, list | tuple):
        raise TypeError(f"{decl.name} must be a list of arrays, got {type(value).__name__}")
    out: list[tuple[int, ...]] = []
    for i, item in enumerate(value):
        arr, xp = _namespace(item)
        kinds, _ = KINDS[decl.dtype]
        if not any(xp.isdtype(arr.dtype, k) for k in kinds):
            raise TypeError(f"{decl.name}[{i}] must have a {decl.dtype} dtype, got {arr.dtype}")
        if arr.ndim < decl.lead:
            raise ValueError(f"{decl.name}[{i}] needs {decl.lead} leading axes, got {arr.shape}")
        out.append(tuple(arr.shape[decl.lead :]))
        if decl.dtype in ("float", "real"):
            floats.append((arr, xp))
    if decl.like is not None and decl.like in shapes and shapes[decl.like] != out:
        raise ValueError(
            f"{decl.name} must match {decl.like} array for array: shapes {out} "
            f"vs {shapes[decl.like]}"
        )
    return out


def _check_kind(decl: Arg, arr: Any, xp: Any) -> None:
    kinds, _ = KINDS[decl.dtype]
    if not any(xp.isdtype(arr.dtype, k) for k in kinds):
        raise TypeError(
            f"{decl.name} must have a {decl.dtype} dtype ({' or '.join(kinds)}), got {arr.dtype}"
        )


def _check_shape(decl: Arg, shape: tuple[int, ...], untyped_empty: bool) -> list[tuple[str, int]]:
    """Check ndim and literal sizes; return (symbol, size) for the named dimensions."""
    if untyped_empty:  # a plain empty list says nothing about its trailing sizes
        first = decl.shape[0]
        return [(first, 0)] if isinstance(first, str) and not first.startswith("*") else []
    lo, hi = decl.ndims
    if not lo <= len(shape) <= hi:
        how = "broadcast to" if decl.broadcast else "have"
        raise ValueError(f"{decl.name} must {how} shape {decl.shown}, got {shape}")
    out: list[tuple[str, int]] = []
    starred = 0
    for dim, _axis, size in decl.symbols(shape):
        if isinstance(dim, int):
            if size != dim:
                raise ValueError(f"{decl.name} must have shape {decl.shown}, got {shape}")
        else:
            out.append((dim, size))  # starred axes bind "*S0", "*S1": shared by name
            starred += dim.startswith("*")
    if decl.starred is not None and not decl.broadcast:
        out.append((f"{decl.shape[decl.starred]}:ndim", starred))  # and their count
    return out


def _result_dtype(floats: list[tuple[Any, Any]]) -> Any:
    if not floats:
        return None
    xp = floats[0][1]
    dtype = xp.result_type(*(a for a, _ in floats))
    return dtype if xp.isdtype(dtype, "real floating") else xp.result_type(xp.float64)


# ---- rules used by several suites ----------------------------------------------------------


def _swap_corner(boxes: np.ndarray) -> np.ndarray:
    """The first box of any batch shape, (..., 4), made inverted (x2 below x1)."""
    out = np.array(boxes, copy=True)
    first = out.reshape(-1, out.shape[-1])[0]  # a view: out is contiguous
    first[2] = first[0] - 1.0
    return out


NOT_INVERTED = Rule(
    "x2 >= x1 and y2 >= y1 (boxes are x1, y1, x2, y2)",
    lambda xp, b: (b[..., 2] < b[..., 0]) | (b[..., 3] < b[..., 1]),
    _swap_corner,
)


def _with_nan(x: np.ndarray) -> np.ndarray:
    out = np.array(x, dtype=np.result_type(x, np.float32), copy=True)
    out.reshape(-1)[0] = np.nan
    return out


NO_NAN = Rule("no NaN", lambda xp, x: xp.isnan(x), _with_nan)

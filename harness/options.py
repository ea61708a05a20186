"""Policy flags: one typed, frozen record per suite, each flag declared once with its meaning.

A suite writes

    @dataclass(frozen=True)
    class IouOptions(Options):
        pixel_inclusive: bool = option(False, True, meaning="+1 on widths and heights (VOC)")

and that is the only place the flag's default and its allowed values are written. The oracle
and every implementation receive one instance; building it checks every value, so a flag
value outside the declaration never reaches an implementation.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Flag:
    """What the record declares about one flag: its values (default first) and meaning."""

    name: str
    values: tuple[Any, ...]
    meaning: str
    accepts: Callable[[Any], bool] | None = None

    @property
    def default(self) -> Any:
        return self.values[0]

    def allows(self, value: Any) -> bool:
        if self.accepts is not None:
            return bool(self.accepts(value))
        return any(same_value(value, v) for v in self.values)


def same_value(a: Any, b: Any) -> bool:
    """Equal and of the same type: True is not 1, 1 is not 1.0."""
    return type(a) is type(b) and a == b


def option(default: T, *others: T, meaning: str, accepts: Callable[[Any], bool] | None = None) -> T:
    """Declare a flag: its default, the other values the suite exercises, what it means.

    ``accepts`` widens what a caller may pass (e.g. any finite eps >= 0); without it only
    the listed values are allowed.
    """
    meta = {"values": (default, *others), "meaning": meaning, "accepts": accepts}
    field: T = dataclasses.field(default=default, metadata=meta)
    return field


@dataclass(frozen=True)
class Options:
    """Base of every suite's options record. Subclasses are frozen dataclasses of option()s."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        reserved = {n for n in dir(Options) if not n.startswith("__")}
        clash = sorted(reserved & set(inspect.get_annotations(cls)))
        if clash:
            raise TypeError(
                f"{cls.__name__}: option name(s) {clash} would hide the record's own "
                f"methods ({', '.join(sorted(reserved))}); choose another name"
            )

    def __post_init__(self) -> None:
        for flag in self.flags():
            value = getattr(self, flag.name)
            if not flag.allows(value):
                shown = ", ".join(repr(v) for v in flag.values)
                raise ValueError(
                    f"{flag.name} must be one of {shown}"
                    + (" (or another accepted value)" if flag.accepts else "")
                    + f", got {value!r}"
                )
        self.validate()

    def validate(self) -> None:
        """Rules across flags (e.g. momentum=None only with the torch convention)."""

    @classmethod
    def flags(cls) -> tuple[Flag, ...]:
        return tuple(
            Flag(f.name, f.metadata["values"], f.metadata["meaning"], f.metadata["accepts"])
            for f in dataclasses.fields(cls)
        )

    @classmethod
    def flag(cls, name: str) -> Flag:
        for f in cls.flags():
            if f.name == name:
                return f
        known = ", ".join(f.name for f in cls.flags()) or "none"
        raise ValueError(f"{cls.__name__} has no option {name!r} (known: {known})")

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {f.name: f.default for f in cls.flags()}

    @classmethod
    def build(cls, values: Mapping[str, Any]) -> Self:
        """The record for a case's non-default flags; an unknown name raises ValueError."""
        for name in values:
            cls.flag(name)
        return cls(**values)

    @classmethod
    def strategy(cls, omit: tuple[str, ...] = (), optional: bool = False) -> Any:
        """A hypothesis strategy of option dicts drawing every declared value of each flag
        (``omit`` leaves flags out; ``optional`` lets each flag keep its default unsaid)."""
        from hypothesis import strategies as st

        drawn = {f.name: st.sampled_from(f.values) for f in cls.flags() if f.name not in omit}
        if optional:
            return st.fixed_dictionaries({}, optional=drawn)
        return st.fixed_dictionaries(drawn)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in self.flags()}

    def changed(self) -> dict[str, Any]:
        """The flags whose value is not the default."""
        return {
            f.name: getattr(self, f.name)
            for f in self.flags()
            if not same_value(getattr(self, f.name), f.default)
        }


@dataclass(frozen=True)
class NoOptions(Options):
    """For algorithms without policy flags: implementations then take no options argument."""

"""Tests of harness.options: the typed, frozen options record and its one declaration per flag."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from harness.options import Flag, NoOptions, Options, option, same_value
from harness.spec import Case, Suite


def _finite_nonnegative_float(value: Any) -> bool:
    return type(value) is float and math.isfinite(value) and value >= 0.0


@dataclass(frozen=True)
class DemoOptions(Options):
    inclusive: bool = option(False, True, meaning="+1 on widths and heights")
    suppress_if: str = option("gt", "ge", meaning="suppress IoU > t, or IoU >= t")
    scale: float = option(1.0, 2.0, meaning="a listed float")
    eps: float = option(0.0, 1e-6, meaning="any finite eps >= 0", accepts=_finite_nonnegative_float)
    momentum: float | None = option(0.1, None, meaning="None: cumulative average")
    convention: str = option("torch", "tf", meaning="whose running statistics")

    def validate(self) -> None:
        if self.momentum is None and self.convention != "torch":
            raise ValueError("momentum=None needs convention='torch'")


# ---- one declaration per flag ----------------------------------------------------------------


def test_defaults_are_declared_once_as_the_first_value() -> None:
    opts = DemoOptions()
    expected = {
        "inclusive": False,
        "suppress_if": "gt",
        "scale": 1.0,
        "eps": 0.0,
        "momentum": 0.1,
        "convention": "torch",
    }
    assert opts.as_dict() == expected
    assert DemoOptions.defaults() == expected
    # the dataclass default and the flag's default are the same declaration
    fields = {f.name: f.default for f in dataclasses.fields(DemoOptions)}
    assert fields == expected
    assert [f.name for f in DemoOptions.flags()] == list(expected)


def test_flag_records_values_meaning_and_accepts() -> None:
    flag = DemoOptions.flag("suppress_if")
    assert isinstance(flag, Flag)
    assert flag == Flag("suppress_if", ("gt", "ge"), "suppress IoU > t, or IoU >= t", None)
    assert flag.default == "gt"
    assert DemoOptions.flag("eps").accepts is _finite_nonnegative_float
    assert DemoOptions.flag("momentum").values == (0.1, None)


def test_unknown_flag_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(
        ValueError,
        match=r"^DemoOptions has no option 'colour' \(known: inclusive, suppress_if, scale, "
        r"eps, momentum, convention\)$",
    ):
        DemoOptions.flag("colour")


def test_records_are_frozen() -> None:
    opts = DemoOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.suppress_if = "ge"  # type: ignore[misc]


# ---- values outside the declaration ----------------------------------------------------------


def test_a_value_outside_the_declared_ones_names_the_flag() -> None:
    with pytest.raises(ValueError, match=r"^suppress_if must be one of 'gt', 'ge', got 'lt'$"):
        DemoOptions(suppress_if="lt")
    with pytest.raises(ValueError, match=r"^scale must be one of 1\.0, 2\.0, got 3\.0$"):
        DemoOptions(scale=3.0)
    assert DemoOptions(suppress_if="ge").suppress_if == "ge"
    assert DemoOptions(momentum=None).momentum is None


@pytest.mark.parametrize(
    ("flag", "value"),
    [("inclusive", 1), ("inclusive", 0), ("scale", 1), ("scale", 2), ("momentum", 0)],
)
def test_values_are_type_exact(flag: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"^{flag} must be one of .*, got {value!r}$"):
        DemoOptions(**{flag: value})


def test_same_value_compares_type_as_well_as_value() -> None:
    assert same_value(True, True) and same_value(1.0, 1.0) and same_value(None, None)
    assert not same_value(True, 1)
    assert not same_value(1, True)
    assert not same_value(0, False)
    assert not same_value(1, 1.0)
    assert not same_value("1", 1)


def test_accepts_widens_what_a_caller_may_pass() -> None:
    assert DemoOptions(eps=1e-3).eps == 1e-3  # not listed, accepted
    assert DemoOptions(eps=1e-6).eps == 1e-6
    for bad in (-1e-3, math.inf, math.nan, 0):
        with pytest.raises(
            ValueError,
            match=r"^eps must be one of 0\.0, 1e-06 \(or another accepted value\), got ",
        ):
            DemoOptions(eps=bad)
    assert DemoOptions.flag("eps").allows(5.0)
    assert not DemoOptions.flag("scale").allows(5.0)


# ---- cross-flag rules ------------------------------------------------------------------------


def test_validate_checks_rules_across_flags() -> None:
    assert DemoOptions(momentum=None, convention="torch").momentum is None
    assert DemoOptions(convention="tf").convention == "tf"
    with pytest.raises(ValueError, match=r"^momentum=None needs convention='torch'$"):
        DemoOptions(momentum=None, convention="tf")
    with pytest.raises(ValueError, match=r"momentum=None needs convention='torch'"):
        DemoOptions.build({"momentum": None, "convention": "tf"})


def test_per_flag_checks_come_before_validate() -> None:
    with pytest.raises(ValueError, match=r"^convention must be one of"):
        DemoOptions(momentum=None, convention="keras")


# ---- build and changed ----------------------------------------------------------------------


def test_build_makes_the_record_of_a_case_and_refuses_unknown_names() -> None:
    assert DemoOptions.build({}) == DemoOptions()
    built = DemoOptions.build({"suppress_if": "ge", "eps": 1e-4})
    assert isinstance(built, DemoOptions)
    assert (built.suppress_if, built.eps, built.scale) == ("ge", 1e-4, 1.0)
    with pytest.raises(ValueError, match=r"^DemoOptions has no option 'colour' \(known: "):
        DemoOptions.build({"suppress_if": "ge", "colour": "red"})
    with pytest.raises(ValueError, match=r"^inclusive must be one of False, True, got 1$"):
        DemoOptions.build({"inclusive": 1})


def test_changed_lists_only_the_non_default_flags() -> None:
    assert DemoOptions().changed() == {}
    assert DemoOptions(eps=0.0, suppress_if="gt").changed() == {}  # defaults passed explicitly
    assert DemoOptions(suppress_if="ge", momentum=None).changed() == {
        "suppress_if": "ge",
        "momentum": None,
    }
    assert DemoOptions(eps=1e-3).changed() == {"eps": 1e-3}
    assert DemoOptions.build({"scale": 2.0}).changed() == {"scale": 2.0}


def test_no_options_has_no_flags() -> None:
    assert NoOptions.flags() == ()
    assert NoOptions.defaults() == {}
    assert NoOptions().changed() == {}
    assert NoOptions.build({}) == NoOptions()
    with pytest.raises(ValueError, match=r"^NoOptions has no option 'mode' \(known: none\)$"):
        NoOptions.build({"mode": "plain"})


# ---- the suite and its options record ----------------------------------------------------


def verify_case(suite: Suite, name: str) -> Case:
    found = suite.find_case(name)
    assert isinstance(found, Case)
    return found


def test_suite_passes_one_record_after_the_inputs(suite: Suite) -> None:
    assert suite.takes_options
    args = suite.call_args([1, 2], verify_case(suite, "double"))
    assert args[:2] == [1, 2] and len(args) == 3
    assert isinstance(args[2], suite.options)
    assert args[2] == suite.options(mode="double")
    assert suite.call_args([1, 2], verify_case(suite, "small"))[2] == suite.options()


def test_suite_without_options_passes_the_inputs_only(make_suite: Callable[..., Suite]) -> None:
    plain = [c for c in make_suite().cases if not c.options]
    bare = make_suite(options=NoOptions, cases=plain)
    assert not bare.takes_options
    assert bare.call_args([1, 2], verify_case(bare, "small")) == [1, 2]


def test_suite_refuses_a_case_with_an_undeclared_flag_or_value(
    make_suite: Callable[..., Suite],
) -> None:
    with pytest.raises(ValueError, match=r"^ToyOptions has no option 'colour'"):
        make_suite(cases=[Case("odd", {"n": 2}, {"colour": "red"})])
    with pytest.raises(ValueError, match=r"^mode must be one of 'plain', 'double', got 'triple'$"):
        make_suite(cases=[Case("odd", {"n": 2}, {"mode": "triple"})])
    with pytest.raises(ValueError, match=r"^mode must be one of"):
        make_suite(bench={"smoke": [Case("bench_64", {"n": 64}, {"mode": "triple"}, kind="bench")]})


def test_the_strategy_draws_every_declared_value() -> None:
    from dataclasses import dataclass

    from hypothesis import given, settings

    from harness.options import Options, option

    @dataclass(frozen=True)
    class Two(Options):
        mode: str = option("a", "b", meaning="m")
        loud: bool = option(False, True, meaning="l")

    seen: set[tuple[str, bool]] = set()

    @settings(max_examples=60, database=None, derandomize=True)
    @given(Two.strategy())
    def draw(values: dict[str, object]) -> None:
        record = Two.build(values)
        seen.add((record.mode, record.loud))

    draw()
    assert seen == {("a", False), ("a", True), ("b", False), ("b", True)}
    omitted: list[set[str]] = []

    @settings(max_examples=10, database=None, derandomize=True)
    @given(Two.strategy(omit=("loud",)))
    def draw_without(values: dict[str, object]) -> None:
        omitted.append(set(values))

    draw_without()
    assert omitted and all(keys == {"mode"} for keys in omitted)


def test_an_option_may_not_hide_the_records_methods() -> None:
    with pytest.raises(TypeError, match=r"option name\(s\) \['flags'\] would hide"):

        @dataclass(frozen=True)
        class Shadowing(Options):
            flags: bool = option(False, True, meaning="a name the record already uses")

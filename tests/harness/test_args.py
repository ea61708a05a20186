"""Tests of harness.args: one-line checks of shapes, dtype kinds, rules and scalars."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.args import NO_NAN, NOT_INVERTED, Arg, Args, Rule, Scalar

ARGS = Args(
    Arg("boxes", ("N", 4), "real", rules=(NOT_INVERTED,)),
    Arg("scores", ("N",), "float", rules=(NO_NAN,)),
    Scalar("t", low=0.0, high=1.0),
)


def boxes(n: int = 3, dtype: Any = np.float64) -> np.ndarray:
    xy = np.arange(2.0 * n).reshape(n, 2)
    return np.concatenate([xy, xy + 1.0], axis=1).astype(dtype)


def scores(n: int = 3, dtype: Any = np.float64) -> np.ndarray:
    return np.linspace(0.9, 0.1, n).astype(dtype)


def to_torch(a: np.ndarray) -> Any:
    torch = pytest.importorskip("torch")
    return torch.from_numpy(np.array(a, copy=True))  # (ascontiguousarray makes 0-d 1-d)


def to_list(a: np.ndarray) -> Any:
    return a.tolist()


#: Every way an array reaches a check: a NumPy array, a torch tensor, a plain list.
WORLDS: dict[str, Callable[[np.ndarray], Any]] = {
    "numpy": lambda a: a,
    "torch": to_torch,
    "list": to_list,
}
world = pytest.mark.parametrize("convert", list(WORLDS.values()), ids=list(WORLDS))


# ---- valid inputs and the result dtype ---------------------------------------------------


@world
def test_valid_inputs_pass(convert: Callable[[np.ndarray], Any]) -> None:
    ARGS.check(convert(boxes()), convert(scores()), 0.5)
    ARGS.check(convert(boxes(1)), convert(scores(1)), 0.0)
    ARGS.check(convert(boxes().astype(np.int64)), convert(scores()), 1)


def test_result_dtype_numpy() -> None:
    f32 = ARGS.check(boxes(dtype=np.float32), scores(dtype=np.float32), 0.5)
    assert f32 == np.float32
    assert ARGS.check(boxes(), scores(), 0.5) == np.float64
    assert ARGS.check(boxes(dtype=np.float32), scores(), 0.5) == np.float64
    only_real = Args(Arg("boxes", ("N", 4), "real"))
    assert only_real.check(boxes(dtype=np.int32)) == np.float64  # integers become float64
    assert only_real.check(boxes(dtype=np.float32)) == np.float32
    assert Args(Arg("idx", ("N",), "int"), Scalar("t")).check(np.arange(3), 0.5) is None


def test_result_dtype_torch_stays_in_torch() -> None:
    torch = pytest.importorskip("torch")
    f32 = ARGS.check(to_torch(boxes(dtype=np.float32)), to_torch(scores(dtype=np.float32)), 0.5)
    assert f32 is torch.float32
    assert ARGS.check(to_torch(boxes()), to_torch(scores()), 0.5) is torch.float64
    only_real = Args(Arg("boxes", ("N", 4), "real"))
    assert only_real.check(to_torch(boxes(dtype=np.int32))) is torch.float64
    assert only_real.check(to_torch(boxes(dtype=np.float32))) is torch.float32


def test_result_dtype_of_plain_lists_is_float64() -> None:
    assert ARGS.check(to_list(boxes()), to_list(scores()), 0.5) == np.float64
    only_real = Args(Arg("boxes", ("N", 4), "real"))
    assert only_real.check([[0, 0, 1, 1]]) == np.float64


# ---- shapes ---------------------------------------------------------------------------------


@world
@pytest.mark.parametrize(
    ("shape", "arg"),
    [((3,), "boxes"), ((1, 3, 4), "boxes"), ((3, 1), "scores"), ((), "scores")],
)
def test_wrong_ndim_is_a_value_error_naming_the_argument(
    convert: Callable[[np.ndarray], Any], shape: tuple[int, ...], arg: str
) -> None:
    values = {"boxes": boxes(), "scores": scores()}
    values[arg] = np.zeros(shape)
    wanted = "(N, 4)" if arg == "boxes" else "(N,)"
    with pytest.raises(ValueError, match=rf"^{arg} must have shape {re.escape(wanted)}, got "):
        ARGS.check(convert(values["boxes"]), convert(values["scores"]), 0.5)


@world
@pytest.mark.parametrize("width", [3, 5])
def test_wrong_literal_size_is_a_value_error(
    convert: Callable[[np.ndarray], Any], width: int
) -> None:
    bad = np.zeros((3, width))
    with pytest.raises(ValueError, match=rf"^boxes must have shape \(N, 4\), got \(3, {width}\)$"):
        ARGS.check(convert(bad), convert(scores()), 0.5)


@world
def test_mismatched_shared_symbol_is_reported_for_either_argument(
    convert: Callable[[np.ndarray], Any],
) -> None:
    with pytest.raises(
        ValueError,
        match=r"^scores has N=2 but boxes has N=3; scores must agree on boxes's N$",
    ):
        ARGS.check(convert(boxes(3)), convert(scores(2)), 0.5)
    with pytest.raises(
        ValueError,
        match=r"^scores has N=3 but boxes has N=2; scores must agree on boxes's N$",
    ):
        ARGS.check(convert(boxes(2)), convert(scores(3)), 0.5)


def test_symbols_agree_across_more_than_two_arguments() -> None:
    three = Args(Arg("a", ("N", "D")), Arg("b", ("M", "D")), Arg("c", ("N", "M")))
    three.check(np.zeros((2, 5)), np.zeros((3, 5)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"^b has D=4 but a has D=5; b must agree on a's D$"):
        three.check(np.zeros((2, 5)), np.zeros((3, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"^c has M=4 but b has M=3; c must agree on b's M$"):
        three.check(np.zeros((2, 5)), np.zeros((3, 5)), np.zeros((2, 4)))
    assert three.shared() == {"N": ["a", "c"], "D": ["a", "b"], "M": ["b", "c"]}


# ---- dtype kinds ----------------------------------------------------------------------------


@world
@pytest.mark.parametrize(
    ("kind", "bad", "good"),
    [
        ("float", np.int32, np.float32),
        ("real", np.bool_, np.int64),
        ("int", np.float64, np.int32),
        ("bool", np.float64, np.bool_),
    ],
)
def test_wrong_dtype_kind_is_a_type_error(
    convert: Callable[[np.ndarray], Any], kind: str, bad: Any, good: Any
) -> None:
    args = Args(Arg("v", ("N",), kind))
    if convert is to_list and good is np.float32:
        good = np.float64  # a list of Python floats reads as float64
    args.check(convert(np.ones(3, dtype=good)))
    with pytest.raises(TypeError, match=rf"^v must have a {kind} dtype \(.*\), got "):
        args.check(convert(np.ones(3, dtype=bad)))


def test_dtype_message_names_the_native_dtype() -> None:
    with pytest.raises(TypeError, match=r"got int32$"):
        ARGS.check(boxes(), scores(dtype=np.int32), 0.5)
    with pytest.raises(TypeError, match=r"got torch\.int32$"):
        ARGS.check(to_torch(boxes()), to_torch(scores(dtype=np.int32)), 0.5)


# ---- rules ----------------------------------------------------------------------------------


@world
def test_broken_rule_is_a_value_error_naming_the_rule(convert: Callable[[np.ndarray], Any]) -> None:
    inverted = boxes()
    inverted[1, 3] = inverted[1, 1] - 0.5
    with pytest.raises(
        ValueError, match=r"^boxes breaks the rule: x2 >= x1 and y2 >= y1 \(boxes are x1, y1"
    ):
        ARGS.check(convert(inverted), convert(scores()), 0.5)
    with_nan = scores()
    with_nan[2] = np.nan
    with pytest.raises(ValueError, match=r"^scores breaks the rule: no NaN$"):
        ARGS.check(convert(boxes()), convert(with_nan), 0.5)


def test_nan_passes_a_rule_that_does_not_forbid_it() -> None:
    nan_box = boxes()
    nan_box[0, 0] = np.nan
    ARGS.check(nan_box, scores(), 0.5)
    ARGS.check(to_torch(nan_box), to_torch(scores()), 0.5)


def test_rule_violate_turns_valid_inputs_into_broken_ones() -> None:
    batched = np.stack([boxes(), boxes()])  # (B, N, 4): the first box of the batch breaks
    for rule, value in ((NOT_INVERTED, boxes()), (NOT_INVERTED, batched), (NO_NAN, scores())):
        assert not np.any(rule.broken(np, value))
        broken = rule.violate(value)
        assert np.any(rule.broken(np, broken))
        assert broken is not value and not np.any(rule.broken(np, value))  # a copy


def test_custom_rule_on_torch_uses_the_callers_namespace() -> None:
    positive = Rule("values > 0", lambda xp, x: x <= 0, lambda x: -np.abs(x))
    args = Args(Arg("v", ("N",), rules=(positive,)))
    args.check(np.ones(3))
    args.check(to_torch(np.ones(3)))
    for bad in (np.array([1.0, 0.0]), to_torch(np.array([1.0, -2.0])), [1.0, -1.0]):
        with pytest.raises(ValueError, match=r"^v breaks the rule: values > 0$"):
            args.check(bad)


# ---- scalars --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0, 0, 1, np.float32(0.25), np.int64(1)])
def test_scalar_in_range_passes(value: Any) -> None:
    Scalar("t", low=0.0, high=1.0).check(value)


@pytest.mark.parametrize("value", [-0.1, 1.5, -math.inf, math.inf, 2])
def test_scalar_out_of_range_is_a_value_error(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^t must be in \[0, 1\], got "):
        Scalar("t", low=0.0, high=1.0).check(value)


def test_scalar_nan_never_passes() -> None:
    for decl in (Scalar("t", low=0.0, high=1.0), Scalar("u")):
        with pytest.raises(ValueError, match=rf"^{decl.name} must be in .*, got nan$"):
            decl.check(math.nan)
        with pytest.raises(ValueError, match=r"got nan$"):
            decl.check(np.float32("nan"))


@pytest.mark.parametrize("value", ["0.5", None, True, np.bool_(False), [0.5], np.array([0.5])])
def test_scalar_of_the_wrong_type_is_a_type_error(value: Any) -> None:
    with pytest.raises(TypeError, match=r"^t must be a real number, got "):
        Scalar("t", low=0.0, high=1.0).check(value)


def test_int_scalar_refuses_floats_and_bools() -> None:
    k = Scalar("k", kind="int", low=1)
    k.check(3)
    k.check(np.int32(2))
    for bad in (2.0, True, "3"):
        with pytest.raises(TypeError, match=r"^k must be a int number, got "):
            k.check(bad)
    with pytest.raises(ValueError, match=r"^k must be in \[1, inf\], got 0\.0$"):
        k.check(0)
    assert k.shown == "int in [1, inf]"
    assert Scalar("t", low=0.0, high=1.0).shown == "real in [0, 1]"


def test_scalars_are_checked_inside_args() -> None:
    with pytest.raises(ValueError, match=r"^t must be in \[0, 1\], got 2\.0$"):
        ARGS.check(boxes(), scores(), 2.0)
    with pytest.raises(TypeError, match=r"^t must be a real number, got str$"):
        ARGS.check(boxes(), scores(), "0.5")


# ---- starred dimensions -------------------------------------------------------------------


def test_starred_dimension_takes_a_range_of_leading_axes() -> None:
    image = Arg("img", ("*B", "H", "W"), star=(0, 2))
    assert image.ndims == (2, 4)
    assert image.starred == 0
    assert image.shown == "(*B, H, W)"
    args = Args(image, Arg("kernel", ("H", "W")))
    for shape in ((4, 5), (2, 4, 5), (3, 2, 4, 5)):
        args.check(np.zeros(shape), np.zeros((4, 5)))
        assert args.sizes([np.zeros(shape), np.zeros((4, 5))]) == {"H": 4, "W": 5}
    for shape in ((5,), (1, 1, 1, 4, 5)):
        with pytest.raises(ValueError, match=r"^img must have shape \(\*B, H, W\), got "):
            args.check(np.zeros(shape), np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"^kernel has W=6 but img has W=5"):
        args.check(np.zeros((2, 4, 5)), np.zeros((4, 6)))


def test_starred_dimension_in_the_middle() -> None:
    arg = Arg("x", ("N", "*S", 3), star=(1, 2))
    assert arg.ndims == (3, 4)
    assert arg.symbols((2, 7, 3)) == [("N", 0, 2), ("*S0", 1, 7), (3, 2, 3)]
    assert arg.symbols((2, 7, 8, 3)) == [("N", 0, 2), ("*S0", 1, 7), ("*S1", 2, 8), (3, 3, 3)]
    args = Args(arg)
    args.check(np.zeros((2, 7, 3)))
    args.check(to_torch(np.zeros((2, 7, 8, 3))))
    with pytest.raises(ValueError, match=r"^x must have shape \(N, \*S, 3\), got \(2, 7, 4\)$"):
        args.check(np.zeros((2, 7, 4)))
    with pytest.raises(ValueError, match=r"got \(2, 3\)$"):
        args.check(np.zeros((2, 3)))


# ---- sizes ----------------------------------------------------------------------------------


def test_sizes_binds_every_symbol() -> None:
    assert ARGS.sizes([boxes(3), scores(3), 0.5]) == {"N": 3}
    pair = Args(Arg("a", ("N", "D")), Arg("b", ("M", "D")))
    assert pair.sizes([np.zeros((2, 5)), np.zeros((3, 5))]) == {"N": 2, "D": 5, "M": 3}
    for convert in WORLDS.values():
        values = [convert(np.zeros((2, 5))), convert(np.zeros((3, 5)))]
        assert pair.sizes(values) == {"N": 2, "D": 5, "M": 3}
    with pytest.raises(ValueError, match=r"must agree on a's D"):
        pair.sizes([np.zeros((2, 5)), np.zeros((3, 4))])


# ---- empty inputs -----------------------------------------------------------------------------


@world
def test_empty_leading_dimension(convert: Callable[[np.ndarray], Any]) -> None:
    empty_boxes, empty_scores = convert(np.zeros((0, 4))), convert(np.zeros(0))
    ARGS.check(empty_boxes, empty_scores, 0.5)
    assert ARGS.sizes([empty_boxes, empty_scores, 0.5]) == {"N": 0}


def test_a_plain_empty_list_is_accepted_for_an_empty_leading_dimension() -> None:
    ARGS.check([], [], 0.5)  # (0, 4) reads as [] from a list: no trailing size to check
    assert ARGS.sizes([[], [], 0.5]) == {"N": 0}
    assert ARGS.sizes([[], np.zeros(0), 0.5]) == {"N": 0}
    with pytest.raises(ValueError, match=r"^scores has N=2 but boxes has N=0"):
        ARGS.check([], [0.5, 0.25], 0.5)
    with pytest.raises(ValueError, match=r"^scores has N=0 but boxes has N=3"):
        ARGS.check(to_list(boxes()), [], 0.5)
    # a NumPy array of shape (0,) is not a list: its missing axis is still an error
    with pytest.raises(ValueError, match=r"^boxes must have shape \(N, 4\), got \(0,\)$"):
        ARGS.check(np.zeros(0), np.zeros(0), 0.5)


def test_a_nonempty_symbol_refuses_size_zero() -> None:
    strict = Args(*ARGS.decls, nonempty=("N",))
    strict.check(boxes(1), scores(1), 0.5)
    for convert in WORLDS.values():
        with pytest.raises(ValueError, match=r"^boxes has N=0; N cannot be empty$"):
            strict.check(convert(np.zeros((0, 4))), convert(np.zeros(0)), 0.5)
    with pytest.raises(ValueError, match=r"^boxes has N=0; N cannot be empty$"):
        strict.check([], [], 0.5)
    assert strict.emptiable() == []


# ---- the declaration itself ------------------------------------------------------------------


def test_argument_count_is_checked() -> None:
    with pytest.raises(TypeError, match=r"^expected 3 arguments \(boxes, scores, t\), got 2$"):
        ARGS.check(boxes(), scores())


def test_declarations_refuse_mistakes() -> None:
    with pytest.raises(ValueError, match=r"argument names repeat"):
        Args(Arg("x", ("N",)), Scalar("x"))
    with pytest.raises(ValueError, match=r"^x: dtype kind 'complex' not in"):
        Arg("x", ("N",), "complex")
    with pytest.raises(ValueError, match=r"^x: at most one starred dimension$"):
        Arg("x", ("*A", "*B"))


def test_names_shared_and_emptiable() -> None:
    assert ARGS.names == ["boxes", "scores", "t"]
    assert [a.name for a in ARGS.arrays] == ["boxes", "scores"]
    assert ARGS.shared() == {"N": ["boxes", "scores"]}
    assert ARGS.emptiable() == ["N"]
    pair = Args(Arg("a", ("N", "D")), Arg("b", ("M", "D")), nonempty=("D",))
    assert pair.emptiable() == ["N", "M"]
    assert Arg("s", ("N",)).shown == "(N,)"

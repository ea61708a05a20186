"""Pitfalls of receptive_field: each deliberately wrong recurrence is flagged by verify, and
the oracle gives the known fields of VGG-16 (212, jump 32), ResNet-34's main path (899) and
a 10-layer dilated context module (2,047).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import verify
from suites.receptive_field import SUITE, check, dilated, receptive_field, resnet34, vgg16

Fn = Callable[..., Any]


def variant(
    *,
    padding_grows: bool = False,
    use_dilation: bool = True,
    jump_first: bool = False,
    start0: float = 0.5,
    padding_sign: int = -1,
    table_dtype: Any = None,
    rows_done: int = 0,
    in_place: bool = False,
    flat_when_empty: bool = False,
    checks: bool = True,
) -> Fn:
    """The recurrence; every knob away from its default is one mistake."""

    def rf(layers: Any) -> Any:
        if checks:
            check(layers)
        table = np.asarray(layers if table_dtype is None else np.asarray(layers, table_dtype))
        r, j, start = 1.0, 1.0, start0
        out = []
        for i, row in enumerate(table.tolist()):
            k, s, p, d = (float(v) for v in row)
            k_eff = d * (k - 1) + 1 if use_dilation else k
            if jump_first:  # the stride applied before this layer's growth
                j *= s
            r += (k_eff - 1) * j + (2 * p * j if padding_grows else 0)
            start += ((k_eff - 1) / 2 + padding_sign * p) * j
            if not jump_first:
                j *= s
            out.append((r, j, start) if not rows_done or i < rows_done else (r, j, 0.0))
        if in_place:
            layers[...] = 1
        y = np.array(out, dtype=np.float64).reshape(len(out), 3)
        return y.reshape(-1) if flat_when_empty and y.size == 0 else y

    return rf


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("receptive_field", "python", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong recurrence, case, words the diagnosis must contain)
    (variant(padding_grows=True), "vgg16", "values differ"),  # padding moves, never grows
    (variant(use_dilation=False), "dilated_stack", "values differ"),
    (variant(jump_first=True), "resnet34", "values differ"),
    (variant(start0=0.0), "random_stack", "values differ"),  # pixel corners, not centres
    (variant(padding_sign=1), "resnet34", "values differ"),
    (variant(table_dtype=np.float32), "huge_padding_f64", "values differ"),
    (variant(rows_done=256), "multi_block", "values differ"),
    (variant(in_place=True), "random_stack", "modified its input(s) ['layers']"),
    (variant(flat_when_empty=True), "no_layers", "has shape (0,), expected (0, 3)"),
    (variant(checks=False), "zero_stride", "returned normally"),
    (variant(checks=False), "negative_padding", "returned normally"),
]


@pytest.mark.parametrize(("fn", "case", "words"), PITFALLS)
def test_the_suite_flags_each_pitfall(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail", (v.status, v.detail)
    assert words in v.detail, v.detail


@pytest.mark.parametrize("case", [c.name for c in SUITE.cases] + [e.name for e in SUITE.errors])
def test_the_straightforward_recurrence_passes(case: str) -> None:
    v = _verdict(variant(), case)
    assert v.status == "pass", v.detail


def test_the_blocked_mistake_hides_in_the_first_block() -> None:
    assert _verdict(variant(rows_done=256), "random_stack").status == "pass"


@pytest.mark.parametrize(
    ("rows", "last"),
    [(vgg16(), (212, 32, 16)), (resnet34(), (899, 32, 0.5)), (dilated(), (2047, 1, 0.5))],
)
def test_known_receptive_fields(rows: list[list[int]], last: tuple[float, ...]) -> None:
    assert tuple(receptive_field(np.array(rows))[-1]) == last

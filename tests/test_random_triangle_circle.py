"""Pitfalls of classifying random triangles on a circle that its suite must catch, and the
references the specification names: the exact probabilities and a largest-angle test.

Each pitfall test runs a deliberately wrong variant through ``verify`` on the case that
exposes the mistake and asserts the verdict fails (or errors) with a diagnosis; the variant
with no mistake passes those cases. Cases use the suite's default seed (not tuned to these
tests); the estimate test uses seed 0, the first one tried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case, ErrorCase
from harness.verify import Verdict, verify
from implementations.random_triangle_circle.numba_network import classify as numba_classify
from implementations.random_triangle_circle.xp_network import classify as xp_classify
from suites.random_triangle_circle import (
    ACUTE,
    ARGS,
    DEGENERATE,
    OBTUSE,
    RIGHT,
    SUITE,
    TriangleOptions,
    random_triangle_circle,
)


@dataclass(frozen=True)
class Mistakes:
    """What the variant gets wrong; all False is a correct implementation."""

    unsorted: bool = False  # arcs taken in the row's own order
    no_wrap_arc: bool = False  # the arc across 0 (360 - (c - a)) never checked
    le_180: bool = False  # acute iff every arc <= 180: right triangles counted acute
    no_degenerate: bool = False  # coincident points classified by their arcs
    right_first: bool = False  # right tested before degenerate
    ignore_special: bool = False  # own classes even under not_acute
    float32_math: bool = False  # the angles rounded to float32 first
    blocks_of: int = 0  # > 0: rows past the first block skip the wrap arc
    sort_in_place: bool = False  # the input rows sorted in place
    no_range_check: bool = False  # angles out of [0, 360) accepted


def variant(m: Mistakes) -> Callable[..., Any]:
    def classify(angles: Any, opts: TriangleOptions) -> Any:
        if not m.no_range_check:
            ARGS.check(angles)
        x = angles.astype(np.float32) if m.float32_math else angles
        x = x.astype(np.float64)
        if m.sort_in_place:
            angles.sort(axis=1)
            x = angles.astype(np.float64)
        elif not m.unsorted:
            x = np.sort(x, axis=1)
        a, b, c = x.T
        d1, d2, d3 = b - a, c - b, c - a
        third = d3 > 180
        if m.no_wrap_arc:
            third = np.ones_like(third)
        if m.blocks_of:
            third[m.blocks_of :] = True
        if m.le_180:
            acute = (d1 <= 180) & (d2 <= 180) & (d3 >= 180)
        else:
            acute = (d1 < 180) & (d2 < 180) & third
        out = np.where(acute, ACUTE, OBTUSE).astype(np.int8)
        if opts.special == "own_class" or m.ignore_special:
            right = (d1 == 180) | (d2 == 180) | (d3 == 180)
            degenerate = (d1 == 0) | (d2 == 0)
            order = [(right, RIGHT, m.le_180), (degenerate, DEGENERATE, m.no_degenerate)]
            for mask, label, skipped in order[::-1] if m.right_first else order:
                if not skipped:
                    out[mask] = label
        return out

    return classify


def run(name: str, **mistakes: Any) -> Verdict:
    impl = Implementation(
        "random_triangle_circle", "numpy", "pitfall", variant(Mistakes(**mistakes))
    )
    found = SUITE.find_case(name)
    assert isinstance(found, Case | ErrorCase)
    return verify(SUITE, impl, found)


CORRECT_ON = [
    "random_f32",
    "random_not_acute",
    "multi_block",
    "near_tie_f64",
    "whole_degrees",
    "coincident",
    "coincident_not_acute",
    "wrap_around_zero",
]


@pytest.mark.parametrize("name", CORRECT_ON)
def test_the_variant_without_mistakes_passes(name: str) -> None:
    v = run(name)
    assert v.status == "pass", v.detail


# (mistake, value, the case that exposes it, text the diagnosis must contain)
PITFALLS = [
    ("unsorted", True, "random_f64", "values differ"),
    ("no_wrap_arc", True, "wrap_around_zero", "values differ"),
    ("le_180", True, "whole_degrees", "values differ"),  # whole degrees: exact right angles
    ("no_degenerate", True, "coincident", "values differ"),
    ("right_first", True, "whole_degrees", "values differ"),  # coincident pair + antipode
    ("ignore_special", True, "whole_degrees_not_acute", "values differ"),
    # an arc 1e-9 off 180 becomes exactly 180 in float32
    ("float32_math", True, "near_tie_f64", "values differ"),
    ("blocks_of", 256, "multi_block", "values differ"),
    ("sort_in_place", True, "random_f32", "modified its input"),
    ("no_range_check", True, "angles:broken_rule@1", "must raise ValueError"),
]


@pytest.mark.parametrize(("mistake", "value", "name", "diagnosis"), PITFALLS)
def test_the_suite_catches(mistake: str, value: Any, name: str, diagnosis: str) -> None:
    v = run(name, **{mistake: value})
    assert v.status in ("fail", "error"), f"{mistake} passed {name}"
    assert diagnosis in v.detail, v.detail


def test_blocked_mistake_passes_within_its_first_block() -> None:
    """Rows past 256 wrong, and right on a case of fewer rows."""
    assert run("one_sample", blocks_of=256).status == "pass"


def test_angles_out_of_range_and_empty_draws_are_refused() -> None:
    opts = TriangleOptions()
    for bad in ([[0.0, 90.0, 360.0]], [[-1e-9, 1.0, 2.0]], [[np.inf, 1.0, 2.0]]):
        with pytest.raises(ValueError, match=r"\[0, 360\)"):
            random_triangle_circle(np.array(bad), opts)
    with pytest.raises(ValueError, match="N"):
        random_triangle_circle(np.zeros((0, 3)), opts)
    with pytest.raises(ValueError):
        random_triangle_circle(np.zeros((4, 2)), opts)


def test_hand_checked_triangles() -> None:
    x = np.array(
        [
            [0.0, 120.0, 240.0],  # equilateral: acute
            [0.0, 10.0, 20.0],  # all in a small arc: obtuse
            [0.0, 180.0, 90.0],  # a diameter: right
            [45.0, 45.0, 300.0],  # two coincide: degenerate
            [0.0, 180.0, 0.0],  # coincident pair and a diameter: degenerate
            [359.5, 179.0, 90.0],  # arcs 89, 180.5 and 90.5 (across 0): obtuse
            [359.5, 179.6, 90.0],  # arcs 89.6, 179.9 and 90.5 (across 0): acute
        ]
    )
    got = random_triangle_circle(x, TriangleOptions())
    assert got.tolist() == [ACUTE, OBTUSE, RIGHT, DEGENERATE, DEGENERATE, OBTUSE, ACUTE]
    flat = random_triangle_circle(x, TriangleOptions(special="not_acute"))
    assert flat.tolist() == [ACUTE, OBTUSE, OBTUSE, OBTUSE, OBTUSE, OBTUSE, ACUTE]


def largest_angle(angles: np.ndarray) -> np.ndarray:
    """The independent reference: points (cos, sin); the angle at each vertex is acute iff
    the dot product of its two edge vectors is positive; the triangle is acute iff all
    three are. Returns True where acute."""
    t = np.deg2rad(angles.astype(np.float64))
    p = np.stack([np.cos(t), np.sin(t)], axis=-1)  # (N, 3, 2)
    dots = []
    for i in range(3):
        u = p[:, (i + 1) % 3] - p[:, i]
        v = p[:, (i + 2) % 3] - p[:, i]
        dots.append((u * v).sum(axis=-1))
    return np.asarray(np.all(np.stack(dots) > 0, axis=0), dtype=bool)


def test_the_estimate_is_within_four_sigma_of_the_exact_probabilities() -> None:
    n = 200_000
    angles = np.random.default_rng(0).random((n, 3)) * 360.0
    labels = random_triangle_circle(angles, TriangleOptions())
    counts = np.bincount(labels, minlength=4) / n
    for p_exact, got in ((0.25, counts[ACUTE]), (0.75, counts[OBTUSE])):
        assert abs(got - p_exact) <= 4 * np.sqrt(p_exact * (1 - p_exact) / n), counts
    assert counts[RIGHT] == 0 and counts[DEGENERATE] == 0
    # the largest-angle test agrees sample by sample (continuous draws: no exact ties)
    np.testing.assert_array_equal(largest_angle(angles), labels == ACUTE)


def test_the_largest_angle_test_agrees_away_from_ties_on_whole_degrees() -> None:
    angles = np.random.default_rng(1).integers(0, 360, (5000, 3)).astype(np.float64)
    labels = random_triangle_circle(angles, TriangleOptions())
    tie = labels >= RIGHT
    assert tie.any()
    np.testing.assert_array_equal(largest_angle(angles)[~tie], labels[~tie] == ACUTE)


@pytest.mark.parametrize("fn", [xp_classify, numba_classify], ids=["numpy", "numba"])
def test_implementations_match_the_oracle_on_both_option_values(fn: Callable[..., Any]) -> None:
    rng = np.random.default_rng(2)
    angles = np.concatenate([rng.integers(0, 360, (500, 3)), rng.random((500, 3)) * 360.0])
    for special in ("own_class", "not_acute"):
        opts = TriangleOptions(special=special)
        np.testing.assert_array_equal(fn(angles, opts), random_triangle_circle(angles, opts))

"""Pitfalls of the largest 1-bordered square that its suite must catch, and the brute-force
reference the specification names.

Each test runs a deliberately wrong variant through ``verify`` on the case that exposes the
mistake and asserts the verdict fails (or errors) with a diagnosis naming what differs; the
variant with no mistake passes those cases. The cases' seeds are the suite's defaults (not
tuned to these tests); the brute-force comparison uses seeds 0..39 in order.
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
from implementations.largest_1_bordered_square.numba_runs import largest as numba_largest
from implementations.largest_1_bordered_square.numpy_runs import largest as numpy_largest
from implementations.largest_1_bordered_square.python_runs import largest as python_largest
from suites.largest_1_bordered_square import (
    SUITE,
    BorderOptions,
    check,
    largest_1_bordered_square,
)


@dataclass(frozen=True)
class Mistakes:
    """What the variant gets wrong; all False is a correct implementation."""

    corner_only: bool = False  # k = min(left, up) at the corner, top and left borders unchecked
    largest_candidate_only: bool = False  # only k = min(left, up) tried, no smaller sizes
    solid: bool = False  # the largest all-1 square (interior included)
    always_side: bool = False  # k whatever the answer option says
    always_area: bool = False  # k^2 whatever the answer option says
    no_value_check: bool = False  # a 2 in the grid silently taken as a 1
    float32_grid: bool = False  # the grid copied to float32 first
    up_runs_restart_every: int = 0  # > 0: up runs restart at each block of this many rows
    runs_over_grid: bool = False  # the left runs written into the grid's own buffer
    empty_1d: bool = False  # an empty grid answered with an array of shape (0,)


def variant(m: Mistakes) -> Callable[..., Any]:
    def largest(grid: Any, opts: BorderOptions) -> Any:
        if not m.no_value_check:
            check(grid, opts)
        if m.empty_1d and grid.size == 0:
            return np.zeros(0, dtype=np.int64)
        g = grid.astype(np.float32) if m.float32_grid else grid
        ones = (g == 1) if m.no_value_check else (g != 0)
        h, w = ones.shape
        left = np.zeros((h, w), np.int64)
        up = np.zeros((h, w), np.int64)
        for i in range(h):
            for j in range(w):
                if ones[i, j]:
                    left[i, j] = (left[i, j - 1] if j else 0) + 1
                    block_start = m.up_runs_restart_every and i % m.up_runs_restart_every == 0
                    up[i, j] = (up[i - 1, j] if i and not block_start else 0) + 1
        if m.solid:  # side of the largest all-1 square ending at each corner
            side = np.zeros((h + 1, w + 1), np.int64)
            for i in range(h):
                for j in range(w):
                    if ones[i, j]:
                        side[i + 1, j + 1] = 1 + min(side[i, j], side[i, j + 1], side[i + 1, j])
            best = int(side.max())
        else:
            best = 0
            for i in range(h):
                for j in range(w):
                    k = int(min(left[i, j], up[i, j]))
                    while k > best:
                        if m.corner_only or (left[i - k + 1, j] >= k and up[i, j - k + 1] >= k):
                            best = k
                            break
                        if m.largest_candidate_only:
                            break
                        k -= 1
        if m.runs_over_grid:
            grid[...] = left.astype(grid.dtype)
        area = (opts.answer == "area" or m.always_area) and not m.always_side
        return np.int64(best * best if area else best)

    return largest


def run(name: str, **mistakes: Any) -> Verdict:
    impl = Implementation(
        "largest_1_bordered_square", "numpy", "pitfall", variant(Mistakes(**mistakes))
    )
    found = SUITE.find_case(name)
    assert isinstance(found, Case | ErrorCase)
    return verify(SUITE, impl, found)


CORRECT_ON = [
    "random_95",
    "random_80_side",
    "nested",
    "traps",
    "hollow_big",
    "multi_block",
    "nonzero_weights_f64",
    "nonzero_int",
    "empty_rows",
    "value_2",
]


@pytest.mark.parametrize("name", CORRECT_ON)
def test_the_variant_without_mistakes_passes(name: str) -> None:
    v = run(name)
    assert v.status == "pass", v.detail


# (mistake, value, the case that exposes it, text the diagnosis must contain)
PITFALLS = [
    # an L with runs of 6 at its corner: 36 instead of the 3 x 3 ring's 9
    ("corner_only", True, "traps", "values differ"),
    # the ring's corner has runs of 5 (its sides run on); only 3 closes the square
    ("largest_candidate_only", True, "traps", "values differ"),
    ("solid", True, "hollow_big", "values differ"),  # a 19 x 19 ring, nothing solid as big
    ("always_side", True, "random_95", "values differ"),
    ("always_area", True, "random_80_side", "values differ"),
    ("no_value_check", True, "value_2", "must raise ValueError"),
    # 1e-300 is 0 in float32: those 1-cells turn into 0s
    ("float32_grid", True, "nonzero_weights_f64", "values differ"),
    ("up_runs_restart_every", 256, "multi_block_ring", "values differ"),
    ("runs_over_grid", True, "nonzero_int", "modified its input"),
    ("empty_1d", True, "empty_rows", "shape"),
]


@pytest.mark.parametrize(("mistake", "value", "name", "diagnosis"), PITFALLS)
def test_the_suite_catches(mistake: str, value: Any, name: str, diagnosis: str) -> None:
    v = run(name, **{mistake: value})
    assert v.status in ("fail", "error"), f"{mistake} passed {name}"
    assert diagnosis in v.detail, v.detail


def test_blocked_mistake_passes_within_its_first_block() -> None:
    """Up runs restarting every 256 rows are right on grids of fewer rows."""
    assert run("hollow_big", up_runs_restart_every=256).status == "pass"


def brute_force(grid: np.ndarray) -> int:
    """The specification's reference: every window, every side, every border cell."""
    h, w = grid.shape
    best = 0
    for i in range(h):
        for j in range(w):
            for k in range(1, min(h - i, w - j) + 1):
                top, bottom = grid[i, j : j + k], grid[i + k - 1, j : j + k]
                left, right = grid[i : i + k, j], grid[i : i + k, j + k - 1]
                if top.all() and bottom.all() and left.all() and right.all():
                    best = max(best, k)
    return best * best


def test_oracle_and_implementations_agree_with_brute_force() -> None:
    opts = BorderOptions()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        h, w = int(rng.integers(1, 10)), int(rng.integers(1, 10))
        grid = (rng.random((h, w)) < rng.choice([0.5, 0.8, 0.95])).astype(np.int8)
        want = brute_force(grid)
        assert int(largest_1_bordered_square(grid, opts)) == want, (seed, grid)
        assert int(numpy_largest(grid, opts)) == want, seed
        assert int(numba_largest(grid, opts)) == want, seed
        assert python_largest(grid.tolist(), opts) == want, seed


@pytest.mark.parametrize("fn", [check, python_largest], ids=["check", "python"])
def test_ragged_rows_are_refused(fn: Callable[..., Any]) -> None:
    with pytest.raises(ValueError, match="ragged"):
        fn([[1, 1, 1], [1, 1]], BorderOptions())

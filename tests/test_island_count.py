"""Pitfalls of island counting that the island_count suite must catch.

Each test runs a deliberately wrong variant through ``verify`` on the case that exposes the
mistake and asserts the verdict fails (or errors) with a diagnosis that names what differs;
the same variant with no mistake passes those cases. The variants build on
scipy.ndimage.label (the test's own tool, not an implementation under test) or on a plain
min-label propagation. The cases' seeds are the suite's defaults (not tuned to these tests).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from scipy import ndimage

from harness.registry import Implementation
from harness.spec import Case, ErrorCase
from harness.verify import Verdict, verify
from suites.island_count import SUITE, IslandOptions, canonical, check, spiral


@dataclass(frozen=True)
class Mistakes:
    """What the variant gets wrong; all False is a correct implementation."""

    diagonals_always: bool = False  # 8-neighbour structure whatever the option says
    diagonals_never: bool = False  # 4-neighbour structure whatever the option says
    row_blocks: int = 0  # > 0: blocks of this many rows labelled apart, never merged
    background_counted: bool = False  # OpenCV's count taken as is (water is label 0)
    no_value_check: bool = False  # a 2 in the grid silently taken as land
    float32_grid: bool = False  # the grid copied to float32 first
    labels_over_grid: bool = False  # the label map written into the grid's own buffer
    empty_flat_labels: bool = False  # an empty grid answered with labels of shape (0,)
    sweeps: int = 0  # > 0: min-label propagation stopped after this many sweeps
    recursive: bool = False  # recursive flood fill (Python's stack is ~1000 frames deep)


def _propagate(land: np.ndarray, eight: bool, sweeps: int) -> np.ndarray:
    """Each land cell takes the smallest label among itself and its land neighbours, at
    most `sweeps` times (until nothing changes when that comes first)."""
    h, w = land.shape
    big = h * w + 1
    lab = np.where(land, np.arange(1, h * w + 1).reshape(h, w), big)
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)] if eight else []
    for _ in range(sweeps):
        padded = np.pad(lab, 1, constant_values=big)
        best = lab.copy()
        for dy, dx in steps:
            best = np.minimum(best, padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w])
        best = np.where(land, best, big)
        if np.array_equal(best, lab):
            break
        lab = best
    return np.where(land, lab, 0)


def _fill(land: list[list[bool]], labels: list[list[int]], i: int, j: int, n: int) -> None:
    if not (0 <= i < len(land) and 0 <= j < len(land[0])) or not land[i][j] or labels[i][j]:
        return
    labels[i][j] = n
    for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        _fill(land, labels, i + di, j + dj, n)


def variant(m: Mistakes) -> Callable[..., Any]:
    def islands(grid: Any, opts: IslandOptions) -> Any:
        if not m.no_value_check:
            check(grid, opts)
        g = np.asarray(grid, dtype=np.float32) if m.float32_grid else grid
        land = g == 1 if m.no_value_check else g != 0
        eight = (opts.connectivity == 8 or m.diagonals_always) and not m.diagonals_never
        h, w = land.shape
        if m.empty_flat_labels and land.size == 0:
            return np.int64(0), np.zeros(0, dtype=np.int32)
        if m.sweeps:
            labels = _propagate(land, eight, m.sweeps).astype(np.int32)
            return np.int64(len(np.unique(labels[labels > 0]))), labels
        if m.recursive:
            out = [[0] * w for _ in range(h)]
            n = 0
            for i in range(h):
                for j in range(w):
                    if land[i, j] and not out[i][j]:
                        n += 1
                        _fill(land.tolist(), out, i, j, n)
            return np.int64(n), np.array(out, dtype=np.int32).reshape(h, w)
        structure = ndimage.generate_binary_structure(2, 2 if eight else 1)
        labels = np.zeros((h, w), dtype=np.int32)
        if m.labels_over_grid:
            labels = np.asarray(grid, dtype=np.int32)  # no copy when the grid is int32
        count = 0
        block = m.row_blocks or max(h, 1)
        for s in range(0, h, block):
            part, n = ndimage.label(land[s : s + block], structure=structure)
            labels[s : s + block] = np.where(part > 0, part + count, 0)
            count += n
        return np.int64(count + int(m.background_counted)), labels

    return islands


def run(name: str, **mistakes: Any) -> Verdict:
    impl = Implementation("island_count", "numpy", "pitfall", variant(Mistakes(**mistakes)))
    found = SUITE.find_case(name)
    assert isinstance(found, Case | ErrorCase)
    return verify(SUITE, impl, found)


CORRECT_ON = [
    "random_45_4",
    "checker_4",
    "diagonals_8",
    "multi_block",
    "snake_rows",
    "spiral_4",
    "nonzero_weights_f64",
    "nonzero_int_values",
    "empty_rows",
    "value_2",
]


@pytest.mark.parametrize("name", CORRECT_ON)
def test_the_variant_without_mistakes_passes(name: str) -> None:
    v = run(name)
    assert v.status == "pass", v.detail


# (mistake, value, the case that exposes it, text the diagnosis must contain)
PITFALLS = [
    # the checkerboard: ceil(108/2) = 54 singletons under 4-connectivity, 1 island under 8
    ("diagonals_always", True, "checker_4", "output 'count'"),
    ("diagonals_always", True, "diagonals_4", "output 'count'"),
    ("diagonals_never", True, "diagonals_8", "output 'count'"),
    # 256-row blocks never merged: only the 300-row cases cross a block boundary
    ("row_blocks", 256, "multi_block", "output 'count'"),
    ("row_blocks", 256, "snake_rows", "output 'count'"),
    ("background_counted", True, "random_45_4", "output 'count'"),
    ("no_value_check", True, "value_2", "must raise ValueError"),
    # 1e-300 and 1e-40 are 0 in float32: those land cells turn into water
    ("float32_grid", True, "nonzero_weights_f64", "output 'count'"),
    ("labels_over_grid", True, "nonzero_int_values", "modified its input"),
    ("empty_flat_labels", True, "empty_rows", "shape"),
    # the spiral is one path of ~1,900 cells: 64 sweeps carry a label 64 cells along it
    ("sweeps", 64, "spiral_4", "output 'count'"),
]


@pytest.mark.parametrize(("mistake", "value", "name", "diagnosis"), PITFALLS)
def test_the_suite_catches(mistake: str, value: Any, name: str, diagnosis: str) -> None:
    v = run(name, **{mistake: value})
    assert v.status in ("fail", "error"), f"{mistake} passed {name}"
    assert diagnosis in v.detail, v.detail


def test_blocked_mistake_passes_within_its_first_block() -> None:
    """Unmerged 256-row blocks are right on a grid of fewer rows: the 300-row cases matter."""
    assert run("random_dense_4", row_blocks=256).status == "pass"


def test_a_recursive_fill_fails_on_a_large_island() -> None:
    """The spec's warning: a recursive flood fill is right on small islands and exceeds the
    recursion limit on the 300 x 290 grid at density 0.6 (one island of ~40,000 cells)."""
    assert run("random_45_4", recursive=True).status == "pass"
    limit = sys.getrecursionlimit()
    v = run("multi_block", recursive=True)
    assert sys.getrecursionlimit() == limit
    assert v.status == "error" and "RecursionError" in v.detail, v.detail


def test_canonical_numbering_is_raster_order_of_first_cells() -> None:
    labels = np.array([[0, 7, 7], [5, 0, 7], [5, 0, 2]])
    assert canonical(labels).tolist() == [[0, 1, 1], [2, 0, 1], [2, 0, 3]]


def test_the_spiral_is_one_island_of_half_the_cells() -> None:
    g = spiral(61)
    assert ndimage.label(g)[1] == 1
    assert abs(int(g.sum()) - 61 * 61 / 2) < 2 * 61

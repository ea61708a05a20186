"""Suite for island_count: connected components of the 1-cells of a binary grid."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error
from harness.comparators import Exact, Outputs
from harness.comparators.base import Comparison
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class IslandOptions(Options):
    connectivity: int = option(
        4, 8, meaning="4: cells touching by an edge are connected; 8: by an edge or a corner"
    )
    land: str = option(
        "one",
        "nonzero",
        meaning="one: an integer grid of 0s and 1s (anything else is refused); nonzero: any "
        "integer or float grid, every nonzero value is land (scipy.ndimage.label, OpenCV)",
    )


ARGS = Args(Arg("grid", ("H", "W"), "real"))


def check(grid: Any, opts: IslandOptions) -> None:
    """ARGS.check, then the land convention: land 'one' takes an integer grid of 0s and 1s
    (TypeError, ValueError), 'nonzero' any real grid without NaN. An empty grid as plain
    lists carries no dtype (nor, with no rows, its width): it stands for an empty integer
    grid."""
    if isinstance(grid, list) and all(isinstance(row, list) and not row for row in grid):
        grid = np.zeros((len(grid), 0), dtype=np.uint8)
    ARGS.check(grid)
    g = np.asarray(grid) if isinstance(grid, list) else grid
    xp = array_namespace(g)
    if opts.land == "one":
        if not xp.isdtype(g.dtype, "integral"):
            raise TypeError(f"grid must be an integer grid of 0s and 1s, got {g.dtype}")
        if not bool(xp.all((g == 0) | (g == 1))):
            raise ValueError("grid holds values other than 0 and 1 (land='nonzero' takes them)")
    elif xp.isdtype(g.dtype, "real floating") and bool(xp.any(xp.isnan(g))):
        raise ValueError("grid holds NaN: neither land nor water")


def neighbours(connectivity: int) -> list[tuple[int, int]]:
    """The (di, dj) steps to the cells a cell is connected to."""
    four = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    return four if connectivity == 4 else [*four, (-1, -1), (-1, 1), (1, -1), (1, 1)]


def island_count(grid: Any, opts: IslandOptions) -> tuple[np.ndarray, np.ndarray]:
    """Oracle: breadth-first search from each unlabelled land cell in raster order, with an
    explicit queue (no recursion). Returns (count, labels): labels (H, W) int32, 0 on water,
    islands numbered 1..count in the raster order of their first cell."""
    check(grid, opts)
    cells = np.asarray(grid).tolist()
    h, w = np.shape(grid)
    labels = [[0] * w for _ in range(h)]
    steps = neighbours(opts.connectivity)
    count = 0
    for i in range(h):
        for j in range(w):
            if cells[i][j] == 0 or labels[i][j]:
                continue
            count += 1
            labels[i][j] = count
            queue = deque([(i, j)])
            while queue:
                a, b = queue.popleft()
                for di, dj in steps:
                    y, x = a + di, b + dj
                    if 0 <= y < h and 0 <= x < w and cells[y][x] != 0 and not labels[y][x]:
                        labels[y][x] = count
                        queue.append((y, x))
    return np.array(count, dtype=np.int64), np.array(labels, dtype=np.int32).reshape(h, w)


def canonical(labels: np.ndarray) -> np.ndarray:
    """Relabel so the islands are numbered 1, 2, ... in the raster order of their first
    cell (0 stays 0): any numbering of the same partition gives the same array."""
    flat = np.asarray(labels).reshape(-1).astype(np.int64)
    land = flat != 0
    if not land.any():
        return np.zeros(np.shape(labels), dtype=np.int32)
    values, first = np.unique(flat[land], return_index=True)
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(1, len(values) + 1)
    out = np.zeros(flat.shape, dtype=np.int32)
    out[land] = rank[np.searchsorted(values, flat[land])]
    return out.reshape(np.shape(labels))


@dataclass(frozen=True)
class SameIslands(Exact):
    """The label maps describe the same islands: equal after ``canonical`` (an island's
    number is free; water must be 0 and each island one number)."""

    dtype: str | None = "int32"

    def tolerance(self, case: Case) -> Tolerance:
        return Tolerance(0.0, 0.0, "label maps are compared as partitions (canonical numbering)")

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        if np.size(actual) == 0 and np.size(expected) == 0:  # an untyped empty list: any shape
            return Comparison(True, total=0)
        result = super().__call__(canonical(actual), canonical(expected), inputs, case, tol)
        if result.passed:
            return result
        return Comparison(
            False,
            "another partition (after numbering the islands in raster order): "
            + str(result.detail),
            result.mismatches,
            result.total,
            worst_index=result.worst_index,
            error_ratio=result.error_ratio,
        )


COMPARE = Outputs({"count": Exact("int64"), "labels": SameIslands()})


# ---- inputs ----------------------------------------------------------------------------------


def spiral(n: int) -> np.ndarray:
    """An n x n square spiral of land one cell wide with water one cell wide between its
    turns: one island whose cells form a single path of ~n^2/2 cells (the worst case for
    propagating a label one cell per sweep). Drawn by walking inwards from the corner and
    turning right whenever the cell after next is land or off the grid."""
    g = np.zeros((n, n), dtype=np.uint8)
    if n == 0:
        return g
    steps = [(0, 1), (1, 0), (0, -1), (-1, 0)]
    y = x = d = 0
    g[0, 0] = 1
    turned = False
    while True:
        dy, dx = steps[d]
        ny, nx, fy, fx = y + dy, x + dx, y + 2 * dy, x + 2 * dx
        free = 0 <= ny < n and 0 <= nx < n and not g[ny, nx]
        if free and not (0 <= fy < n and 0 <= fx < n and g[fy, fx]):
            y, x, turned = ny, nx, False
            g[y, x] = 1
        elif turned:
            return g
        else:
            d, turned = (d + 1) % 4, True


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    h, w = int(p["h"]), int(p["w"])
    pattern = str(p.get("pattern", "random"))
    i, j = np.indices((h, w))
    if pattern == "random":
        grid = (rng.random((h, w)) < float(p.get("density", 0.45))).astype(np.uint8)
    elif pattern == "ones":
        grid = np.ones((h, w), np.uint8)
    elif pattern == "zeros":
        grid = np.zeros((h, w), np.uint8)
    elif pattern == "checker":
        grid = ((i + j) % 2 == 0).astype(np.uint8)
    elif pattern == "diagonals":  # lines touching only at corners: 8-conn joins them
        grid = ((i + j) % 3 == 0).astype(np.uint8)
    elif pattern == "spiral":
        grid = spiral(h)
    else:  # "snake": rows of land joined at alternating ends (one island across the blocks)
        grid = (i % 2 == 0).astype(np.uint8)
        grid[1::4, w - 1] = 1
        grid[3::4, 0] = 1
    if p.get("weights"):  # land 'nonzero': land cells get values of any size and sign
        w8 = rng.choice([1e-300, -2.5, 7.0, 1e-40, 3.0], size=grid.shape)
        grid = np.where(grid == 1, w8, 0.0)
    grid = grid.astype(p.get("dtype_of_grid", case.dtype))
    if p.get("bad_value") is not None and grid.size:
        grid.reshape(-1)[grid.size // 2] = p["bad_value"]
    return {"grid": grid}


def _cells(case: Case) -> int:
    return int(case.params["h"]) * int(case.params["w"])


def cost(case: Case) -> Cost:
    """Per cell: a read and up to 2 (4-conn) or 4 (8-conn) neighbour tests with their
    unions, ~8 operations; bytes: the grid read once (1 B) and the labels written (4 B)."""
    n = _cells(case)
    per = 8 if int(case.options.get("connectivity", 4)) == 4 else 12
    return Cost(per * n + 1, 5 * n + 8, n, "cells")


# ---- cases -----------------------------------------------------------------------------------

EIGHT = {"connectivity": 8}
NONZERO = {"land": "nonzero"}

CASES = [
    case("random_45_4", h=37, w=53),
    case("random_45_8", h=37, w=53, options=EIGHT),
    case("random_dense_4", h=40, w=31, density=0.6),
    case("random_sparse_8", h=29, w=61, density=0.2, options=EIGHT),
    case("checker_4", h=9, w=12, pattern="checker"),  # ceil(n/2) singletons under 4
    case("checker_8", h=9, w=12, pattern="checker", options=EIGHT),  # one island under 8
    case("diagonals_4", h=14, w=17, pattern="diagonals"),
    case("diagonals_8", h=14, w=17, pattern="diagonals", options=EIGHT),
    # 300 x 300 at density 0.6 (above the percolation threshold of ~0.59): islands cross any
    # 256-row or 256-column block boundary, so blocked labelling must merge across it
    case("multi_block", h=300, w=290, density=0.6),
    case("multi_block_8", h=290, w=300, density=0.45, options=EIGHT),
    # one island snaking through 300 rows: a label must travel past every row block
    case("snake_rows", h=300, w=19, pattern="snake"),
    case("spiral_4", h=61, w=61, pattern="spiral"),
    case("spiral_8", h=61, w=61, pattern="spiral", options=EIGHT),
]

EDGES = [
    edge("empty_rows", h=0, w=7),
    edge("empty_cols", h=5, w=0),
    edge("empty_0x0", h=0, w=0),
    edge("all_zeros", h=11, w=13, pattern="zeros"),
    edge("all_ones_4", h=12, w=10, pattern="ones"),
    edge("all_ones_8", h=12, w=10, pattern="ones", options=EIGHT),
    edge("one_row", h=1, w=40, density=0.5),
    edge("one_col_8", h=40, w=1, density=0.5, options=EIGHT),
    edge("single_cell_land", h=1, w=1, pattern="ones"),
    # land 'nonzero': float64 values down to 1e-300 (zero in float32: a float32 copy of the
    # grid loses those cells), negative and large values; an int32 grid of labels 0..3
    edge("nonzero_weights_f64", h=33, w=27, weights=True, options=NONZERO, dtype="float64"),
    edge(
        "nonzero_weights_8_f32",
        h=21,
        w=35,
        weights=True,
        options={**NONZERO, **EIGHT},
        dtype="float32",
    ),
    edge(
        "nonzero_int_values", h=19, w=23, density=0.5, options=NONZERO, dtype="int32", bad_value=3
    ),
]

ERRORS = [
    error("float_grid", TypeError, r"\bgrid\b", h=6, w=5, dtype_of_grid="float64"),
    error("value_2", ValueError, r"other than 0 and 1", h=6, w=5, bad_value=2),
    error(
        "value_minus_1",
        ValueError,
        r"other than 0 and 1",
        h=6,
        w=5,
        bad_value=-1,
        dtype_of_grid="int8",
    ),
    error(
        "nan_nonzero",
        ValueError,
        r"NaN",
        h=6,
        w=5,
        bad_value=float("nan"),
        options=NONZERO,
        dtype_of_grid="float64",
    ),
]

# Standard: the spec's 2,048 x 2,048 at density 0.45 would cost the pure-Python oracle (a
# BFS, run once per bench case to check the answers) ~10 s on these cores; quick times
# 1,024 x 1,024 instead. Full has the spec's standard and, as the large one, 8,192^2 (the
# spec's 16,384^2 is for a GPU: the oracle alone would take minutes).
BENCH = {
    "smoke": [bench("bench_128", h=128, w=128)],
    "quick": [bench("bench_1024", h=1024, w=1024)],
    "full": [
        bench("bench_2048", h=2048, w=2048),
        bench("bench_2048_8", h=2048, w=2048, options=EIGHT),
        bench("bench_spiral_1025", h=1025, w=1025, pattern="spiral"),
        bench("bench_8192", h=8192, w=8192),
    ],
}


def _fuzz_case(h: int, w: int, params: dict[str, Any], options: dict[str, Any]) -> Case:
    return Case("fuzz", {"h": h, "w": w, **params}, options, "fuzz")


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "density": st.sampled_from([0.1, 0.45, 0.6, 0.9]),
            "pattern": st.sampled_from(["random", "random", "checker", "diagonals", "snake"]),
        }
    )
    return st.builds(
        _fuzz_case, st.integers(0, 24), st.integers(0, 24), params, IslandOptions.strategy()
    )


SUITE = Suite(
    algorithm="island_count",
    family="puzzles",
    summary="Islands of a 0/1 grid: the number of connected components of its 1-cells (4- or "
    "8-connectivity) and a label map of them.",
    conventions=(
        "island_count(grid, opts) -> (count, labels). grid: (H, W). land 'one' (default): an "
        "integer grid of 0 (water) and 1 (land); any other value is a ValueError, a float "
        "grid a TypeError. land 'nonzero': any integer or float grid, every nonzero value "
        "is land (NaN is a ValueError). "
        "connectivity 4: land cells sharing an edge belong to one island; 8: sharing an edge "
        "or a corner. count: int64 0-d, the number of islands; labels: (H, W) int32, 0 on "
        "water and one positive number per island (any numbering: the maps are compared after "
        "renumbering the islands 1, 2, ... in the raster order of their first cell, which is "
        "the oracle's own order, scipy.ndimage.label's and OpenCV's). Empty grids have no "
        "island. The grid is never written."
    ),
    args=ARGS,
    options=IslandOptions,
    make_inputs=make_inputs,
    oracle=island_count,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 31, "dtype": "uint8"},
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    bench=BENCH,
    standard="bench_1024",
    outputs=("count", "labels"),
    multi_block={"H": 290, "W": 290},
    fuzz=fuzz_strategy,
    reference="scipy.ndimage.label (cross or 3x3 structure); cv2.connectedComponents "
    "(connectivity 4 or 8, minus the background); skimage.measure.label where installed",
)

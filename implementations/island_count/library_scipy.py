"""island_count through scipy.ndimage.label: the cross structure for 4-connectivity, the
3x3 block for 8."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from harness import implementation
from suites.island_count import IslandOptions, check


@implementation("island_count", "library", "scipy", arrays="numpy", requires=("scipy",))
def islands(grid: Any, opts: IslandOptions) -> Any:
    """ndimage.label(grid, structure) into an int32 label map; the count it returns."""
    check(grid, opts)
    structure = ndimage.generate_binary_structure(2, 1 if opts.connectivity == 4 else 2)
    labels = np.empty(grid.shape, dtype=np.int32)
    count = ndimage.label(grid, structure=structure, output=labels)
    return np.int64(count), labels

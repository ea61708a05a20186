"""island_count through cv2.connectedComponents (connectivity 4 or 8, int32 labels): OpenCV
counts the background as label 0, so the islands are one fewer."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from harness import implementation
from suites.island_count import IslandOptions, check


@implementation("island_count", "library", "opencv", arrays="numpy", requires=("cv2",))
def islands(grid: Any, opts: IslandOptions) -> Any:
    """connectedComponents on the grid as uint8; count = labels - 1."""
    check(grid, opts)
    if grid.size == 0:  # OpenCV refuses an empty image: no islands
        return np.int64(0), np.zeros(grid.shape, dtype=np.int32)
    n, labels = cv2.connectedComponents((grid != 0).view(np.uint8), connectivity=opts.connectivity,
                                        ltype=cv2.CV_32S)  # fmt: skip
    return np.int64(n - 1), labels

"""island_count through skimage.measure.label (connectivity 1 for 4-neighbours, 2 for 8),
where scikit-image is installed."""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage import measure

from harness import implementation
from suites.island_count import IslandOptions, check


@implementation("island_count", "library", "skimage", arrays="numpy", requires=("skimage",))
def islands(grid: Any, opts: IslandOptions) -> Any:
    """measure.label(grid, background=0, return_num=True) as int32 labels."""
    check(grid, opts)
    labels, count = measure.label(  # type: ignore[no-untyped-call]
        grid != 0,
        background=0,
        return_num=True,
        connectivity=1 if opts.connectivity == 4 else 2,
    )
    return np.int64(count), labels.astype(np.int32)

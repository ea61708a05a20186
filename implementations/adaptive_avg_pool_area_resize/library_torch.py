"""adaptive_avg_pool_area_resize through torch.nn.functional.adaptive_avg_pool2d."""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from harness import implementation
from suites.adaptive_avg_pool_area_resize import AreaOptions, check


@implementation(
    "adaptive_avg_pool_area_resize",
    "library",
    "torch",
    arrays="torch_cpu",
    requires=("torch",),
    supports={"method": ("adaptive",)},
)
def resize(x: Any, out_h: int, out_w: int, opts: AreaOptions) -> Any:
    """F.adaptive_avg_pool2d(x, (out_h, out_w)): torch's floor/ceil bins."""
    check(x, out_h, out_w, opts)
    if opts.method != "adaptive":
        raise ValueError(f"adaptive_avg_pool2d has no method={opts.method!r}")
    return F.adaptive_avg_pool2d(x, (out_h, out_w))

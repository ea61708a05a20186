"""newton_sqrt_cbrt through numpy.sqrt (IEEE, correctly rounded) and numpy.cbrt (the C
library's cbrt). No integer square root (a float sqrt is not floor(√n) past 2^52) and no
'.4g' strings: refused as unsupported."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import implementation
from suites.newton_sqrt_cbrt import RootOptions, check


@implementation(
    "newton_sqrt_cbrt",
    "library",
    "numpy",
    arrays="numpy",
    supports={"round4": ("none",), "root": ("sqrt", "cbrt"), "output": ("float",)},
)
def roots(n: Any, opts: RootOptions) -> Any:
    """np.sqrt or np.cbrt, in the input's dtype."""
    check(n, opts)
    return np.sqrt(n) if opts.root == "sqrt" else np.cbrt(n)

"""Statistics the report derives from the stored samples: a confidence interval of each
cell's median and each implementation's fitted scaling exponent."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Confidence level of the median's interval shown beside the IQR.
LEVEL = 0.95


def median_ci(samples: Sequence[float] | Any, level: float = LEVEL) -> tuple[float, float]:
    """A distribution-free interval for the median from the order statistics.

    The number of samples below the true median is Binomial(n, 1/2), so the sorted samples
    x(r) and x(n - r + 1) bracket it with probability 1 - 2 P(B <= r - 1) whatever the timing
    distribution (skewed, multi-modal); r is the largest rank reaching ``level``. NaN when
    too few samples exist for the level (n < 6 at 95 %: even min..max covers only
    1 - 2 x 0.5**n).
    """
    values = [float(s) for s in (samples if samples is not None else ()) if s is not None]
    x = np.sort(np.asarray([v for v in values if math.isfinite(v)], dtype=float))
    n = len(x)
    if n == 0:
        return math.nan, math.nan
    # P(B <= r - 1) for B ~ Binomial(n, 1/2), exactly (integers: the report needs no scipy)
    total, below, term, r = 2**n, 0, 1, 0  # term: C(n, rank - 1), updated in place
    for rank in range(1, n // 2 + 1):
        below += term
        term = term * (n - rank + 1) // rank
        if 2 * below * 10**6 > round((1.0 - level) * 10**6) * total:  # exact, no floats
            break
        r = rank
    if r == 0:
        return math.nan, math.nan
    return float(x[r - 1]), float(x[n - r])


def scaling_exponents(measurements: pd.DataFrame) -> pd.DataFrame:
    """k in time ∝ size^k per implementation, dtype and run: the least-squares slope of
    log(median) on log(items) over the sizes timed. Needs two sizes at least a factor 2
    apart; a slope over a narrower range says more about noise than about the route.

    Columns: machine, run_id, impl, dtype, exponent, sizes (how many points the fit used).
    """
    columns = ["machine", "run_id", "impl", "dtype", "exponent", "sizes"]
    rows = measurements[
        (measurements["status"] == "ok")
        & (measurements["median_s"] > 0)
        & (measurements["items"] > 0)
    ]
    out = []
    for key, group in rows.groupby(["machine", "run_id", "impl", "dtype"], sort=True):
        by_size = group.groupby("items")["median_s"].median()
        if len(by_size) < 2 or by_size.index.max() < 2 * by_size.index.min():
            continue
        logx = np.log(by_size.index.to_numpy(dtype=float))
        logy = np.log(by_size.to_numpy(dtype=float))
        slope = float(np.polyfit(logx, logy, 1)[0])
        out.append([*key, slope, len(by_size)])
    return pd.DataFrame(out, columns=columns)

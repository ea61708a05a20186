"""Tests of the report's statistics (median interval, scaling exponent) and colours."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reports.colours import Palette, colour_map
from reports.stats import median_ci, scaling_exponents


def test_the_median_interval_uses_the_binomial_order_statistics() -> None:
    # n = 100 at 95 %: the 40th and 61st of the sorted samples (the textbook ranks)
    assert median_ci(list(range(100, 0, -1))) == (40.0, 61.0)
    assert median_ci([3.0, 1.0, 2.0, 6.0, 5.0, 4.0]) == (1.0, 6.0)  # n = 6: min..max


def test_too_few_samples_give_no_interval_rather_than_a_false_one() -> None:
    assert all(math.isnan(v) for v in median_ci([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert all(math.isnan(v) for v in median_ci([]))


def test_the_median_interval_covers_at_its_level_on_skewed_timings() -> None:
    """Seeded, deterministic: exponential samples (a long right tail, like timings)."""
    rng = np.random.default_rng(5)
    hits = sum(
        lo <= math.log(2) <= hi
        for lo, hi in (median_ci(rng.exponential(size=25)) for _ in range(1000))
    )
    assert 0.94 <= hits / 1000 <= 0.99  # the order-statistic interval is conservative


def _rows(impl: str, sizes: list[float], times: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "machine": "m",
            "run_id": "r",
            "impl": impl,
            "dtype": "float32",
            "status": "ok",
            "items": sizes,
            "median_s": times,
        }
    )


def test_scaling_exponents_recover_the_power_law() -> None:
    n = [1e3, 1e4, 1e5]
    rows = pd.concat(
        [
            _rows("numpy/quadratic", n, [1e-9 * x**2 for x in n]),
            _rows("numba/linear", n, [2e-8 * x for x in n]),
            _rows("python/one_size", [1e3], [1.0]),
            _rows("numpy/close_sizes", [1e3, 1.5e3], [1.0, 2.0]),
        ]
    )
    fits = scaling_exponents(rows).set_index("impl")
    assert fits.loc["numpy/quadratic", "exponent"] == pytest.approx(2.0)
    assert fits.loc["numba/linear", "exponent"] == pytest.approx(1.0)
    assert fits.loc["numba/linear", "sizes"] == 3
    assert "python/one_size" not in fits.index  # one size: no slope
    assert "numpy/close_sizes" not in fits.index  # less than a factor 2 apart


def test_each_implementation_keeps_one_colour_and_backends_keep_their_hue() -> None:
    names = ["numpy/a", "numpy/b", "numba/a", "library/torch", "library/sklearn"]
    colours = colour_map(names)
    assert len(set(colours.values())) == len(names)  # distinct within the site
    assert colour_map(reversed(names)) == colours  # independent of the order seen
    palette = Palette(colours)
    assert palette("numpy/a") == colours["numpy/a"]
    # outside the map: stable, and in its backend's family
    assert palette("numpy/zzz") == Palette()("numpy/zzz")
    assert palette("numpy/zzz") in colour_map([f"numpy/{i}" for i in "abcde"]).values()

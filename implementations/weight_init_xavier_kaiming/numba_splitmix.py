"""weight_init_xavier_kaiming with Numba: a counter-based SplitMix64 stream, one loop.

Value i is a pure function of (seed, i): the SplitMix64 finaliser of seed + i·gamma (the
generator passes BigCrush), so there is no state to carry, the loop has no dependency
between iterations, and any split of it across threads gives the same values. Uniforms
take the top 53 bits; normals come in Box-Muller pairs. The seed is one draw of NumPy's
global generator, which the harness seeds.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from harness import implementation
from suites.weight_init_xavier_kaiming import ARGS, InitOptions, spread

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_ULP = 2.0**-53  # top 53 bits -> [0, 1)


@numba.njit(inline="always")
def _bits(seed: Any, i: int) -> Any:
    z = seed + np.uint64(i) * _GAMMA
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=False)
def _fill(flat: Any, s: float, uniform: bool, seed: int) -> None:
    key = np.uint64(seed)
    n = flat.size
    if uniform:
        for i in range(n):
            u = np.float64(_bits(key, i) >> np.uint64(11)) * _ULP
            flat[i] = (u + u - 1.0) * s  # [-s, s)
        return
    for j in range((n + 1) // 2):
        u1 = 1.0 - np.float64(_bits(key, 2 * j) >> np.uint64(11)) * _ULP  # (0, 1]
        u2 = np.float64(_bits(key, 2 * j + 1) >> np.uint64(11)) * _ULP
        r, t = math.sqrt(-2.0 * math.log(u1)) * s, 2.0 * math.pi * u2
        flat[2 * j] = r * math.cos(t)
        if 2 * j + 1 < n:
            flat[2 * j + 1] = r * math.sin(t)


@implementation(
    "weight_init_xavier_kaiming", "numba", "splitmix", supports={"truncation": ("none",)}
)
def init(weight: Any, opts: InitOptions) -> None:
    """One compiled pass writing weight's memory; each value rounded to its dtype as stored."""
    ARGS.check(weight)
    seed = int(np.random.randint(0, 2**63 - 1, dtype=np.int64))
    flat = weight.reshape(-1) if weight.flags.c_contiguous else np.empty(weight.size, weight.dtype)
    _fill(flat, spread(weight.shape, opts), opts.scheme.endswith("uniform"), seed)
    if not weight.flags.c_contiguous:
        weight[...] = flat.reshape(weight.shape)

"""Per-axis tap tables shared by the resize_bicubic_lanczos implementations.

One axis of a separable resize is a table: output index d reads input indices idx[d, k]
with weights w[d, k], k < K (4 for cubic, 8 for Lanczos-4, the stretched support for
antialiased downscaling, whose unused taps carry index 0 and weight 0). Built vectorised
in float64; the source coordinate num/den is formed in integers, so its floor is exact and
the fraction is rounded once. Border replicate is a clamped index (repeats are summed by
the gathers).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _keys(t: Any, a: float) -> Any:
    t = np.abs(t)
    near = ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
    far = ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a
    return np.where(t <= 1.0, near, np.where(t < 2.0, far, 0.0))


def _antialiased(n_in: int, n_out: int) -> tuple[Any, Any]:
    scale = n_in / n_out
    stretch = max(scale, 1.0)
    centre = (np.arange(n_out) + 0.5) * scale
    lo = np.maximum((centre - 2.0 * stretch + 0.5).astype(np.int64), 0)  # C's int(): trunc
    hi = np.minimum((centre + 2.0 * stretch + 0.5).astype(np.int64), n_in)
    j = lo[:, None] + np.arange(int((hi - lo).max()))
    valid = j < hi[:, None]
    w = np.where(valid, _keys((j + 0.5 - centre[:, None]) / stretch, -0.5), 0.0)
    return np.where(valid, j, 0), w / w.sum(axis=1, keepdims=True)


def taps(n_in: int, n_out: int, mode: str, align_corners: bool) -> tuple[Any, Any]:
    """(idx, w), each (n_out, K): int64 indices and float64 weights of one axis."""
    if mode == "cubic_antialias":
        return _antialiased(n_in, n_out)
    d = np.arange(n_out, dtype=np.int64)
    if align_corners:
        num, den = d * (n_in - 1), max(n_out - 1, 1)
    else:
        num, den = (2 * d + 1) * n_in - n_out, 2 * n_out
    i = num // den  # floor, negative coordinates included
    t = (num - i * den) / den
    k = 8 if mode == "lanczos4" else 4
    rel = np.arange(k) - (k // 2 - 1)  # taps i - 1 .. i + 2, or i - 3 .. i + 4
    dist = rel[None, :] - t[:, None]
    if mode == "lanczos4":
        w = np.sinc(dist) * np.sinc(dist / 4.0)
        w /= w.sum(axis=1, keepdims=True)
    else:
        w = _keys(dist, -0.75 if mode == "cubic" else -0.5)
    return np.clip(i[:, None] + rel[None, :], 0, n_in - 1), w

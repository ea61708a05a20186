"""Per-axis interpolation taps shared by the resize_bilinear implementations.

One axis of a separable resize is a table: output index d reads input indices idx[d][k]
with weights w[d][k], k < K (K = 2 for bilinear, more for antialiased downscaling; unused
taps carry index 0 and weight 0). The source coordinate is formed in integers,
src = num/den, so the floor is exact and the fraction is rounded once.
"""

from __future__ import annotations

from typing import Any

Taps = tuple[list[list[int]], list[list[float]]]


def _source(d: int, n_in: int, n_out: int, opts: Any) -> tuple[int, int]:
    """(num, den) with src = num/den: half-pixel, align-corners or asymmetric."""
    if opts.align_corners:
        return (d * (n_in - 1), n_out - 1) if n_out > 1 else (0, 1)
    if opts.asymmetric:
        return d * n_in, n_out
    return (2 * d + 1) * n_in - n_out, 2 * n_out


def integer_taps(n_in: int, n_out: int, opts: Any) -> tuple[list[list[int]], list[list[int]], int]:
    """(idx, num, den): the exact bilinear weights of one axis are num/den (den common)."""
    idx: list[list[int]] = []
    num_w: list[list[int]] = []
    den = _source(0, n_in, n_out, opts)[1]  # the same for every d
    for d in range(n_out):
        num = max(_source(d, n_in, n_out, opts)[0], 0)  # negative coordinates clamp to 0
        i = num // den
        if i >= n_in - 1:  # on or past the last pixel: that pixel alone
            idx.append([n_in - 1, n_in - 1])
            num_w.append([den, 0])
            continue
        r = num - i * den
        idx.append([i, i + 1])
        num_w.append([den - r, r])
    return idx, num_w, den


def _bilinear(n_in: int, n_out: int, opts: Any) -> Taps:
    idx, num, den = integer_taps(n_in, n_out, opts)
    return idx, [[a / den, b / den] for a, b in num]


def _antialiased(n_in: int, n_out: int) -> Taps:
    scale = n_in / n_out
    support = max(scale, 1.0)
    rows: list[list[tuple[int, float]]] = []
    for d in range(n_out):
        centre = (d + 0.5) * scale
        lo = max(int(centre - support + 0.5), 0)
        hi = min(int(centre + support + 0.5), n_in)
        raw = [(j, max(0.0, 1.0 - abs((j + 0.5 - centre) / support))) for j in range(lo, hi)]
        total = sum(v for _, v in raw)
        rows.append([(j, v / total) for j, v in raw])
    k = max(len(r) for r in rows) if rows else 1
    idx = [[j for j, _ in r] + [0] * (k - len(r)) for r in rows]
    w = [[v for _, v in r] + [0.0] * (k - len(r)) for r in rows]
    return idx, w


def taps(n_in: int, n_out: int, opts: Any) -> Taps:
    """The (n_out, K) index and weight tables of one axis, as nested lists."""
    if opts.antialias:
        return _antialiased(n_in, n_out)
    return _bilinear(n_in, n_out, opts)

"""receptive_field measured in torch, not computed: for each prefix of the stack, a 1-D
float64 signal goes through conv1d layers with all-ones weights (no nonlinearity, so no
gradient cancels), and autograd gives the gradient of two neighbouring central outputs
with respect to the input. The span of the first one's non-zero support is r, the shift
between the two supports is j, the span's centre minus c·j is start. The input length
doubles until neither support touches the input's border.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from harness import implementation
from suites.receptive_field import check

_LONGEST = 1 << 22


def _supports(rows: list[tuple[int, int, int, int]], n: int) -> tuple[float, ...] | None:
    """(r, j, start) seen on an input of length n, or None where the stack's output is
    shorter than 2 or a support reaches the input's border."""
    x = torch.zeros(1, 1, n, dtype=torch.float64, requires_grad=True)
    h = x
    for k, s, p, d in rows:
        if h.shape[-1] + 2 * p < d * (k - 1) + 1:
            return None
        ones = torch.ones(1, 1, k, dtype=torch.float64)
        h = F.conv1d(h, ones, stride=s, padding=p, dilation=d)
    c = (h.shape[-1] - 1) // 2
    if h.shape[-1] < 2:
        return None
    spans = []
    for i in (c, c + 1):
        (g,) = torch.autograd.grad(h[0, 0, i], x, retain_graph=True)
        nz = torch.nonzero(g[0, 0]).flatten()
        spans.append((int(nz[0]), int(nz[-1])))
    (lo, hi), (lo2, hi2) = spans
    if lo == 0 or hi2 == n - 1:
        return None
    jump = float(lo2 - lo)
    return float(hi - lo + 1), jump, (lo + hi + 1) / 2 - c * jump


def _measure(rows: list[tuple[int, int, int, int]]) -> tuple[float, ...]:
    """Double the input until two lengths in a row give the same supports: the central
    outputs are then far enough from every border (zero padding of an intermediate map
    near the edge would cut a support short)."""
    n, last = 64, None
    while n <= _LONGEST:
        seen = _supports(rows, n)
        if seen is not None and seen == last:
            return seen
        last, n = seen, 2 * n
    raise ValueError(f"the receptive field needs an input longer than {_LONGEST}")


@implementation(
    "receptive_field",
    "torch_cpu",
    "empirical_gradient",
    max_flops=500,
    expected_failures={
        "huge_padding_f64": "a padding of 2^24 + 1 needs a signal of 3e7 samples per layer "
        "to measure (about 20 s): refused beyond the measurable length",
    },
)
def rf(layers: Any) -> Any:
    """Per prefix: ones-weight conv1d stack, two autograd gradients, their supports."""
    rows = check(layers)
    if any(2 * p > _LONGEST for _, _, p, _ in rows):
        raise ValueError(f"a padding beyond {_LONGEST // 2} cannot be measured here")
    out = [_measure(rows[: i + 1]) for i in range(len(rows))]
    return np.array(out, dtype=np.float64).reshape(len(out), 3)

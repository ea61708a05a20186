"""kmeans_plusplus_init in torch (CPU or CUDA): every pick stays on the device (no scalar
read back): squared distances in float64, running minimum, cumsum, searchsorted, and the
zero-total and rounding rules as torch.where on 0-d tensors.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.kmeans_plusplus_init import check_inputs


@implementation("kmeans_plusplus_init", ("torch_cpu", "torch_cuda"), "device")
def kmeans_plusplus_init(x: Any, u: Any) -> Any:
    """Per pick: w = min(w, |x - c|^2), cs = cumsum(w), index by searchsorted, on x's device."""
    check_inputs(x, u)
    n, k = len(x), len(u)
    x64 = x.to(torch.float64)
    u = u.to(device=x.device, dtype=torch.float64)
    uniform = torch.clamp((u * n).floor().to(torch.int64), max=n - 1)  # the zero-total rule
    idx = torch.empty(k, dtype=torch.int64, device=x.device)
    idx[0] = uniform[0]
    w = torch.full((n,), torch.inf, dtype=torch.float64, device=x.device)
    for j in range(1, k):
        diff = x64 - x64[idx[j - 1]]
        torch.minimum(w, (diff * diff).sum(dim=1), out=w)
        cs = torch.cumsum(w, dim=0)
        total = cs[-1:]
        i = torch.searchsorted(cs, u[j : j + 1] * total, right=True)
        i = torch.where(i < n, i, torch.searchsorted(cs, total))
        idx[j] = torch.where(total == 0, uniform[j], i[0])[0]
    return x[idx], idx

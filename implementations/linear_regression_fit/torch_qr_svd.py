"""linear_regression_fit in torch (CPU or CUDA): torch.linalg.qr of the design (centred, or
with a column of ones), torch.linalg.svd of the small R, singular values past the cutoff
inverted; wide problems take the SVD of the design directly. torch.linalg.lstsq is not
used: on CUDA its only driver (gels) assumes full rank.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.linear_regression_fit import ARGS, LinRegOptions, cutoff_eps


@implementation(
    "linear_regression_fit",
    ("torch_cpu", "torch_cuda"),
    "qr_svd",
    supports={"solver": ("least_squares",)},
)
def linear_regression_fit(x: Any, y: Any, opts: LinRegOptions) -> Any:
    """QR of the design, SVD of R, minimum-norm solution, on x's device."""
    dtype = ARGS.check(x, y)
    joint = opts.fit_intercept and opts.norm_includes_intercept
    centre = opts.fit_intercept and not joint
    if centre:
        xm, ym = x.mean(dim=0), y.mean()
        a, t = x - xm, y - ym
    elif joint:
        a, t = torch.cat([x, torch.ones((len(x), 1), dtype=dtype, device=x.device)], 1), y
    else:
        a, t = x, y
    if a.shape[1] == 0:
        v = torch.zeros(0, dtype=dtype, device=x.device)
    else:
        if len(a) >= a.shape[1]:
            q, r = torch.linalg.qr(a)
            u, s, vt = torch.linalg.svd(r)
            ut = u.T @ (q.T @ t)
        else:
            u, s, vt = torch.linalg.svd(a, full_matrices=False)
            ut = u.T @ t
        keep = s > max(a.shape) * cutoff_eps(dtype) * s[0]
        v = vt[keep].T @ (ut[keep] / s[keep])
    zero = torch.zeros((), dtype=dtype, device=x.device)
    if joint:
        return v[:-1].clone(), v[-1].clone()
    return v, (ym - xm @ v) if centre else zero

"""triplet_loss in CuPy: one ReductionKernel per distance reads both operands and reduces
|x - y + eps|^p along D (no difference array in memory), then one ElementwiseKernel for the
swap and the hinge; the reductions sum in float64.
"""

from __future__ import annotations

import math
from typing import Any

import cupy as cp

from harness import implementation
from suites.triplet_loss import TripletOptions, check

# (map, reduce, post) of ||v||_p^k per row: p = 2, 1, inf, any other p (k = 1 or squared)
_FORMS = {
    "2": ("v * v", "a + b", "d = squared ? a : sqrt(a)"),
    "1": ("fabs(v)", "a + b", "d = squared ? a * a : a"),
    "inf": ("fabs(v)", "(a != a || a > b) ? a : b", "d = squared ? a * a : a"),
    "p": ("pow(fabs(v), pw)", "a + b", "d = pow(a, 1 / pw); d = squared ? d * d : d"),
}
_KERNELS = {
    name: cp.ReductionKernel(
        "T x, T y, T eps, T pw, bool squared",
        "T d",
        f"({m.replace('v', '(x - y + eps)')})",
        red,
        post,
        "0",
        f"opshootout_triplet_dist_{name}",
    )
    for name, (m, red, post) in _FORMS.items()
}
_HINGE = cp.ElementwiseKernel(
    "T d_ap, T d_an, T d_pn, T margin, bool swap", "T loss",
    "T n = (swap && !(d_an != d_an) && (d_pn < d_an || d_pn != d_pn)) ? d_pn : d_an;"
    "T v = d_ap - n + margin; loss = (v != v || v > 0) ? v : (T)0;",
    "opshootout_triplet_hinge",
)  # fmt: skip


def _distance(x: Any, y: Any, p: float, opts: TripletOptions) -> Any:
    name = "2" if p == 2 else "1" if p == 1 else "inf" if p == math.inf else "p"
    t = x.dtype.type
    return _KERNELS[name](x, y, t(opts.eps), t(p), opts.squared, axis=1)


@implementation("triplet_loss", "cupy", "fused")
def triplet_loss(anchor: Any, positive: Any, negative: Any, margin: Any, p: Any,
                 opts: TripletOptions) -> Any:  # fmt: skip
    """Two (three with swap) fused row reductions, one fused hinge."""
    dtype = check(anchor, positive, negative, margin, p)
    pw = float(p)
    d_ap, d_an = _distance(anchor, positive, pw, opts), _distance(anchor, negative, pw, opts)
    d_pn = _distance(positive, negative, pw, opts) if opts.swap else d_an
    loss = _HINGE(d_ap, d_an, d_pn, dtype.type(margin), opts.swap)
    if opts.reduction == "none":
        return loss
    total = loss.sum(dtype=cp.float64)
    if opts.reduction == "sum":
        return total.astype(dtype)
    return (total / loss.size if loss.size else cp.asarray(cp.nan)).astype(dtype)

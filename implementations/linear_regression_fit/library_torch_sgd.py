"""linear_regression_fit by gradient descent the way a torch user writes it: the loss
(mean or sum of squared residuals) differentiated by autograd, stepped by torch.optim.SGD.

The analytic gradient of the handwritten implementations against autograd's (the spec's
reference for the gradient-descent solver). Least squares is the other adapters' job.
"""

from __future__ import annotations

from typing import Any

import torch

from harness import implementation
from suites.linear_regression_fit import ARGS, LinRegOptions


@implementation(
    "linear_regression_fit",
    "library",
    "torch_sgd",
    arrays="torch_cpu",
    requires=("torch",),
    supports={"solver": ("gradient_descent",)},
)
def linear_regression_fit(x: Any, y: Any, opts: LinRegOptions) -> Any:
    """w = 0, b = 0; `steps` times: loss.backward(), SGD(lr).step(), zero_grad()."""
    ARGS.check(x, y)
    w = torch.zeros(x.shape[1], dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=opts.fit_intercept)
    params = [w, b] if opts.fit_intercept else [w]
    sgd = torch.optim.SGD(params, lr=opts.lr)
    for _ in range(opts.steps):
        sgd.zero_grad()
        r = x @ w + b - y
        loss = (r * r).mean() if opts.loss == "mean" else (r * r).sum()
        loss.backward()
        sgd.step()
    return w.detach(), b.detach()

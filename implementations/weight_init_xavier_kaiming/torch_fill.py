"""weight_init_xavier_kaiming in torch (CPU or CUDA): the in-place uniform_/normal_ kernels.

torch's own generator fills the tensor where it lives, in its dtype; the bound or std is
computed once in Python. This is the primitive torch.nn.init calls, without its checks.
"""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.weight_init_xavier_kaiming import ARGS, InitOptions, spread


@implementation(
    "weight_init_xavier_kaiming",
    ("torch_cpu", "torch_cuda"),
    "fill",
    supports={"truncation": ("none",)},
)
def init(weight: Any, opts: InitOptions) -> None:
    """weight.uniform_(-b, b) or weight.normal_(0, std) on torch's default generator."""
    ARGS.check(weight)
    s = spread(weight.shape, opts)
    if opts.scheme.endswith("uniform"):
        weight.uniform_(-s, s)
    else:
        weight.normal_(0.0, s)

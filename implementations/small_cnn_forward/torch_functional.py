"""small_cnn_forward as torch functional calls (CPU and CUDA, one code): F.conv2d with the
bias fused, in-place ReLU, F.max_pool2d, a view for the flatten and F.linear (addmm) for
the three fully connected layers, no module objects built per call.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from harness import implementation
from suites.small_cnn_forward import check


@implementation("small_cnn_forward", ("torch_cpu", "torch_cuda"), "functional")
def forward(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, w3: Any, b3: Any, w4: Any, b4: Any,
            w5: Any, b5: Any) -> Any:  # fmt: skip
    """(conv+bias, relu_, max_pool2d) twice; flatten; linear+relu_ twice; linear."""
    check(x, w1, b1, w2, b2, w3, b3, w4, b4, w5, b5)
    h = F.max_pool2d(F.conv2d(x, w1, b1).relu_(), 2)
    h = F.max_pool2d(F.conv2d(h, w2, b2).relu_(), 2)
    h = F.linear(h.flatten(1), w3, b3).relu_()
    return F.linear(F.linear(h, w4, b4).relu_(), w5, b5)

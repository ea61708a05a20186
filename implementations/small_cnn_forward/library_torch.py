"""small_cnn_forward as a torch nn.Sequential (the module formulation), built on the meta
device and given the suite's arrays with load_state_dict(assign=True), run in eval mode
under no_grad.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from harness import implementation
from suites.small_cnn_forward import check


def lenet() -> nn.Sequential:
    """The architecture, parameters on the meta device (shapes only)."""
    meta = torch.device("meta")
    return nn.Sequential(
        nn.Conv2d(3, 6, 5, device=meta), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, device=meta), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120, device=meta), nn.ReLU(),
        nn.Linear(120, 84, device=meta), nn.ReLU(),
        nn.Linear(84, 10, device=meta),
    )  # fmt: skip


#: state-dict keys of the parameter-holding layers, in the suite's argument order
_KEYS = ("0", "3", "7", "9", "11")


@implementation("small_cnn_forward", "library", "torch_sequential", arrays="torch_cpu",
                requires=("torch",))  # fmt: skip
def forward(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, w3: Any, b3: Any, w4: Any, b4: Any,
            w5: Any, b5: Any) -> Any:  # fmt: skip
    """nn.Sequential(...).eval()(x), parameters assigned through load_state_dict."""
    check(x, w1, b1, w2, b2, w3, b3, w4, b4, w5, b5)
    model = lenet()
    arrays = (w1, b1, w2, b2, w3, b3, w4, b4, w5, b5)
    state = {f"{k}.{p}": arrays[2 * i + j] for i, k in enumerate(_KEYS)
             for j, p in enumerate(("weight", "bias"))}  # fmt: skip
    model.load_state_dict(state, assign=True)
    with torch.no_grad():
        return model.eval()(x)

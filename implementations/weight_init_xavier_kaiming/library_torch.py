"""torch.nn.init: xavier_{uniform,normal}_ with calculate_gain, kaiming_{uniform,normal}_,
trunc_normal_ for the truncated laws.

What a practitioner calls, on torch's generator. The gain of Xavier comes from
torch.nn.init.calculate_gain(nonlinearity, negative_slope), so torch's own gain table is
checked too; Kaiming takes the slope and mode directly.
"""

from __future__ import annotations

import warnings
from typing import Any

from torch.nn import init as nn_init

from harness import implementation
from suites.weight_init_xavier_kaiming import ARGS, InitOptions, spread, trunc_scale


@implementation(
    "weight_init_xavier_kaiming",
    "library",
    "torch",
    arrays="torch_cpu",
    requires=("torch",),
    expected_failures={
        "empty_kernel": "torch's Xavier divides by fan_in + fan_out = 0 (ZeroDivisionError) "
        "for a zero kernel axis; its Kaiming returns early on any empty tensor"
    },
)
def init(weight: Any, opts: InitOptions) -> None:
    """torch.nn.init.<scheme>_(weight, ...) in place."""
    ARGS.check(weight)
    if opts.truncation != "none":
        # torch.nn.init has no truncated Xavier/Kaiming: trunc_normal_ with their std (or
        # Keras's variance-keeping scale std/0.8796), cut at two of it
        s = trunc_scale(spread(weight.shape, opts), opts)
        nn_init.trunc_normal_(weight, mean=0.0, std=s, a=-2.0 * s, b=2.0 * s)
        return
    if opts.scheme.startswith("xavier"):
        g = nn_init.calculate_gain(opts.nonlinearity, opts.negative_slope)  # type: ignore[arg-type]
        getattr(nn_init, opts.scheme + "_")(weight, gain=g)
        return
    with warnings.catch_warnings():  # "zero-element tensors is a no-op": the convention too
        warnings.filterwarnings("ignore", "Initializing zero-element tensors", UserWarning)
        getattr(nn_init, opts.scheme + "_")(
            weight, a=opts.negative_slope, mode=opts.mode, nonlinearity=opts.nonlinearity
        )

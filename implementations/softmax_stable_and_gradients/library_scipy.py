"""scipy.special.softmax / log_softmax, adapted to the suite's all -inf convention.

What a SciPy user calls: softmax(x, axis) or log_softmax(x, axis), or expit(x) for the
sigmoid. SciPy gives NaN for a
slice of all -inf (the default); the adapter zeroes those slices for all_neg_inf='zero'.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special

from harness import implementation
from suites.softmax_stable_and_gradients import SoftmaxOptions, check_forward


@implementation(
    "softmax_stable_and_gradients",
    "library",
    "scipy",
    arrays="numpy",
    requires=("scipy",),
    expected_failures={
        "pos_inf_log": "scipy.special.log_softmax resets an infinite slice max to 0: a +inf "
        "entry gives NaN and the other entries -inf, where torch (and the suite) give a NaN "
        "slice; scipy.special.softmax agrees with the suite",
        "empty_rows": "scipy takes the max of each slice: an empty slice raises ValueError "
        "(zero-size array to reduction operation maximum which has no identity)",
        "empty_axis0": "as empty_rows: softmax over an axis of length 0 raises in scipy",
    },
)
def softmax(x: Any, opts: SoftmaxOptions) -> Any:
    """scipy.special.softmax(x, axis), log_softmax(x, axis) or expit(x); zero-filled all -inf
    slices."""
    _, axis = check_forward(x, opts)
    if opts.function == "sigmoid":
        return scipy.special.expit(x)
    fn = scipy.special.softmax if opts.function == "softmax" else scipy.special.log_softmax
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        out = fn(x, axis=axis)
    if opts.all_neg_inf == "zero":
        dead = np.all(x == -np.inf, axis=axis, keepdims=True) & (x.shape[axis] > 0)
        out = np.where(dead, np.zeros((), out.dtype), out)
    return out

"""Pitfalls of small_cnn_forward: each deliberately wrong variant is flagged by verify.

The variants are one functional torch network with a knob per classic mistake, registered
as harness Implementation records (NumPy in and out) and run on the suite's own cases
(fixed seeds) through harness.verify.verify. The module reference's parameter count is
held to the published 62,006.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import verify
from suites.small_cnn_forward import PARAMETER_COUNT, PARAMS, SUITE, check

torch = pytest.importorskip("torch")
F = torch.nn.functional
Fn = Callable[..., Any]


def variant(
    *,
    flatten: str = "chw",
    pool: str = "max",
    flip_kernels: bool = False,
    relu_after_fc2: bool = True,
    softmax: bool = False,
    compute: str = "input",
    features_done: int = 0,
    in_place: bool = False,
    flat_when_empty: bool = False,
    checks: bool = True,
) -> Fn:
    """A functional torch LeNet; every knob away from its default is one mistake."""

    def forward(*arrays: Any) -> Any:
        if checks:
            check(*arrays)
        dtype = arrays[0].dtype
        t = [torch.from_numpy(np.array(a)) for a in arrays]
        if compute == "float32":
            t = [v.float() for v in t]
        x, w1, b1, w2, b2, w3, b3, w4, b4, w5, b5 = t
        if flip_kernels:  # a true convolution (scipy.signal.convolve2d), not correlation
            w1, w2 = w1.flip(-1, -2), w2.flip(-1, -2)
        down = F.max_pool2d if pool == "max" else F.avg_pool2d
        h = down(F.relu(F.conv2d(x, w1, b1)), 2)
        h = down(F.relu(F.conv2d(h, w2, b2)), 2)
        flat = h.flatten(1) if flatten == "chw" else h.permute(0, 2, 3, 1).flatten(1)
        if features_done:  # a blocked GEMM that only reduces its first block of features
            flat, w3 = flat[:, :features_done], w3[:, :features_done]
        h = F.relu(F.linear(flat, w3, b3))
        h = F.linear(h, w4, b4)
        h = F.relu(h) if relu_after_fc2 else h
        y = F.linear(h, w5, b5)
        y = torch.softmax(y, dim=1) if softmax else y
        if in_place:
            arrays[0][...] = 0
        out = y.numpy().astype(dtype)
        return out.reshape(-1) if flat_when_empty and out.size == 0 else out

    return forward


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("small_cnn_forward", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (variant(flatten="hwc"), "random_f32", "elements differ"),  # a channels-last flatten
    (variant(pool="avg"), "random_f32", "elements differ"),
    (variant(flip_kernels=True), "random_f32", "elements differ"),
    (variant(relu_after_fc2=False), "random_f32", "elements differ"),
    (variant(softmax=True), "random_f32", "elements differ"),  # probabilities, not logits
    (variant(compute="float32"), "random_f64", "finite values off"),
    (variant(features_done=256), "random_f32", "elements differ"),
    (variant(in_place=True), "random_f32", "modified its input(s) ['x']"),
    (variant(flat_when_empty=True), "empty_batch", "has shape (0,), expected (0, 10)"),
    # 33 x 33 pools down to the same 5 x 5: without the check it runs, silently
    (variant(checks=False), "input_33x33", "returned normally"),
    (variant(checks=False), "x:wrong_size@2", "must raise ValueError"),
]


@pytest.mark.parametrize(("fn", "case", "words"), PITFALLS)
def test_the_suite_flags_each_pitfall(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail", (v.status, v.detail)
    assert words in v.detail, v.detail


@pytest.mark.parametrize("case", [c.name for c in SUITE.cases] + [e.name for e in SUITE.errors])
def test_the_straightforward_variant_passes(case: str) -> None:
    v = _verdict(variant(), case)
    assert v.status == "pass", v.detail


def test_the_parameter_count_is_the_published_62006() -> None:
    """Both the suite's parameter table and the module reference hold 62,006 parameters."""
    from implementations.small_cnn_forward.library_torch import lenet

    assert sum(math.prod(shape) for _, shape in PARAMS) == PARAMETER_COUNT == 62_006
    assert sum(p.numel() for p in lenet().parameters()) == PARAMETER_COUNT

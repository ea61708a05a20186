"""Pitfalls of se_block: each deliberately wrong variant is flagged by verify, with a diagnosis.

The variants are one NumPy implementation with a knob per classic mistake, registered as
harness Implementation records and run on the suite's own cases (fixed seeds) through
harness.verify.verify. The oracle is also held to torch's own layers on one float64 case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import case_inputs, oracle_output, verify
from suites.se_block import SUITE, SeOptions, check

Fn = Callable[..., Any]


def variant(
    *,
    pool: str = "mean",
    relu: bool = True,
    gate: str = "declared",
    combine: str = "multiply",
    compute: str = "input",
    gate_past: int = 0,
    in_place: bool = False,
    flat_when_empty: bool = False,
    checks: bool = True,
) -> Fn:
    """A straightforward NumPy SE block; every knob away from its default is one mistake."""

    def se(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, reduction: int, opts: SeOptions) -> Any:
        if checks:
            check(x, w1, b1, w2, b2, reduction, opts)
        dtype = x.dtype
        ct = np.float32 if compute == "float32" else dtype.type
        v = np.asarray(x, dtype=ct)
        n, c, h, w = v.shape
        planes = v.reshape(n, c, h * w)
        with np.errstate(invalid="ignore"):
            if pool == "max":
                z = planes.max(axis=2, initial=-np.inf)
            elif pool == "batch_mean":  # statistics over the batch too: every sample alike
                z = np.broadcast_to(planes.mean(axis=(0, 2)), (n, c))
            else:
                z = planes.sum(axis=2) / ct(max(h * w, 1))
        hidden = z @ np.asarray(w1, ct).T + (0 if b1 is None else np.asarray(b1, ct))
        if relu:
            hidden = np.maximum(hidden, 0)
        t = hidden @ np.asarray(w2, ct).T + (0 if b2 is None else np.asarray(b2, ct))
        kind = opts.gate if gate == "declared" else gate
        with np.errstate(over="ignore"):
            if kind == "sigmoid":
                s = 1 / (1 + np.exp(-t))
            elif kind == "keras_hard_sigmoid":  # clip(0.2 t + 0.5, 0, 1)
                s = np.clip(ct(0.2) * t + ct(0.5), 0, 1)
            else:
                s = np.clip(t + 3, 0, 6) / 6
        if gate_past:  # channels from a block of 256 on are left ungated
            s[:, gate_past:] = 1
        s = s.astype(ct)[:, :, None, None]
        if in_place:
            x *= s.astype(dtype)
            return x
        y = v + s if combine == "add" else v * s
        y = y.astype(dtype)
        return y.reshape(-1) if flat_when_empty and y.size == 0 else y

    return se


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("se_block", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (variant(pool="max"), "random_f32", "elements differ"),
    (variant(pool="batch_mean"), "random_f32", "elements differ"),
    (variant(relu=False), "random_f32", "elements differ"),
    (variant(gate="sigmoid"), "hard_sigmoid_f32", "elements differ"),
    (variant(gate="hard_sigmoid"), "random_f32", "elements differ"),
    (variant(gate="keras_hard_sigmoid"), "hard_sigmoid_f64", "elements differ"),
    (variant(combine="add"), "random_f32", "elements differ"),
    (variant(compute="float32"), "random_f64", "finite values off"),
    (variant(gate_past=256), "multi_block", "first at (0, 256"),
    (variant(in_place=True), "random_f32", "modified its input(s) ['x']"),
    (variant(flat_when_empty=True), "no_rows", "has shape (0,), expected (3, 32, 0, 7)"),
    (variant(checks=False), "hidden_width_not_c_over_r", "returned normally"),
    (variant(checks=False), "reduction:below_range", "returned normally"),
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


def test_the_tiled_mistake_hides_in_the_first_block() -> None:
    assert _verdict(variant(gate_past=256), "random_f32").status == "pass"


def test_the_oracle_matches_torch_layers_float64() -> None:
    """F.adaptive_avg_pool2d, F.conv2d 1x1, ReLU, F.conv2d 1x1, F.hardsigmoid on the same
    float64 inputs: the oracle's hard-sigmoid gate is torch's."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    case = SUITE.find_case("hard_sigmoid_f64")
    assert isinstance(case, Case)
    inputs = {k: np.array(v) if isinstance(v, np.ndarray) else v
              for k, v in case_inputs(SUITE, case).items()}  # fmt: skip
    x, w1, b1, w2, b2 = (torch.from_numpy(inputs[k]) for k in ("x", "w1", "b1", "w2", "b2"))
    d, c = w1.shape
    z = F.adaptive_avg_pool2d(x, 1)
    t = F.conv2d(F.relu(F.conv2d(z, w1.reshape(d, c, 1, 1), b1)), w2.reshape(c, d, 1, 1), b2)
    expected = oracle_output(SUITE, case)
    np.testing.assert_allclose((x * F.hardsigmoid(t)).numpy(), expected, rtol=1e-12, atol=1e-12)

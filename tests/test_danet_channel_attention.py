"""Pitfalls of danet_channel_attention: each wrong variant is flagged by verify.

The variants are one NumPy implementation with a knob per classic mistake, built as harness
Implementation records and run on the suite's own cases (fixed seeds) through
harness.verify.verify. The oracle is also checked on the published form's invariance
(softmax(rowmax(E) - E) = softmax(-E)) and against the torch module in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import case_inputs, oracle_output, verify
from suites.danet_channel_attention import ARGS, SUITE

Fn = Callable[..., Any]


def variant(
    *,
    logits: str = "rowmax_minus_e",
    axis: int = -1,
    subtract_max: bool = True,
    scale: bool = False,
    gamma_used: bool = True,
    residual: bool = True,
    compute: str = "input",
    columns_seen: int = 0,
    in_place: bool = False,
    flat_when_empty: bool = False,
    checks: bool = True,
) -> Fn:
    """A straightforward NumPy CAM; each knob off its default is one mistake."""

    def cam(x: Any, gamma: Any) -> Any:
        if checks:
            ARGS.check(x, gamma)
        ct = np.float32 if compute == "float32" else x.dtype.type
        b, c, h, w = x.shape
        a = np.asarray(x, ct).reshape(b, c, h * w)
        energy = a @ np.swapaxes(a, 1, 2)
        if scale:
            energy = energy / ct(math.sqrt(max(h * w, 1)))
        if logits == "rowmax_minus_e":
            z = energy.max(axis=-1, keepdims=True, initial=-np.inf) - energy
        else:  # softmax(E): the most similar channels weighted most
            z = energy
        if columns_seen:  # a tiled softmax that only reduces over its first tile of columns
            z[:, columns_seen:, columns_seen:] = -np.inf
        with np.errstate(over="ignore", invalid="ignore"):
            if subtract_max and z.size:
                z = z - z.max(axis=axis, keepdims=True)
            e = np.exp(z)
            attention = e / e.sum(axis=axis, keepdims=True)
        out = (ct(gamma) if gamma_used else ct(1)) * (attention @ a)
        y = (out + a if residual else out).astype(x.dtype).reshape(b, c, h, w)
        if in_place:
            x[...] = y
            return x
        return y.reshape(-1) if flat_when_empty and y.size == 0 else y

    return cam


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("danet_channel_attention", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (variant(logits="e"), "random_f32", "elements differ"),
    (variant(axis=-2), "random_f32", "elements differ"),  # softmax down the columns
    (variant(subtract_max=False), "huge_activations", "NaN"),  # exp(rowmax - E) overflows
    (variant(scale=True), "random_f32", "elements differ"),  # SDPA's 1/sqrt(N) habit
    (variant(gamma_used=False), "random_f32", "elements differ"),
    (variant(residual=False), "random_f32", "elements differ"),
    (variant(compute="float32"), "random_f64", "finite values off"),
    (variant(columns_seen=256), "multi_block", "first at (0, 256"),
    (variant(in_place=True), "random_f32", "modified its input(s) ['x']"),
    (variant(flat_when_empty=True), "no_rows", "has shape (0,), expected (2, 6, 0, 3)"),
    (variant(checks=False), "gamma_not_a_scalar", "must raise"),
]


@pytest.mark.parametrize(("fn", "case", "words"), PITFALLS)
def test_the_suite_flags_each_pitfall(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status in ("fail", "error"), (v.status, v.detail)
    assert words in v.detail, v.detail


@pytest.mark.parametrize("case", [c.name for c in SUITE.cases] + [e.name for e in SUITE.errors])
def test_the_straightforward_variant_passes(case: str) -> None:
    v = _verdict(variant(), case)
    assert v.status == "pass", v.detail


def test_the_tiled_mistake_hides_in_the_first_tile() -> None:
    assert _verdict(variant(columns_seen=256), "random_f32").status == "pass"


@pytest.mark.parametrize("name", ["random_f64", "negative_gamma_f64"])
def test_rowmax_minus_energy_is_softmax_of_minus_energy(name: str) -> None:
    """The published shift changes nothing: softmax is invariant to a per-row constant."""
    case = SUITE.find_case(name)
    assert isinstance(case, Case)
    x, gamma = (case_inputs(SUITE, case)[k] for k in ("x", "gamma"))
    b, c, h, w = x.shape
    a = x.reshape(b, c, h * w)
    e = np.exp(-(a @ np.swapaxes(a, 1, 2)))  # no shift at all: energies of these sizes fit
    direct = gamma * (e / e.sum(axis=-1, keepdims=True)) @ a + a
    np.testing.assert_allclose(oracle_output(SUITE, case), direct.reshape(x.shape), rtol=1e-9)


def test_identical_channels_get_uniform_weights() -> None:
    case = SUITE.find_case("identical_channels_uniform")
    assert isinstance(case, Case)
    x, gamma = (case_inputs(SUITE, case)[k] for k in ("x", "gamma"))
    expected = (1.0 + gamma) * x.astype(np.float64)  # the mean of C equal maps is the map
    np.testing.assert_allclose(oracle_output(SUITE, case), expected, rtol=1e-12, atol=1e-12)


def test_the_oracle_matches_the_torch_module_float64() -> None:
    torch = pytest.importorskip("torch")
    from implementations.danet_channel_attention.library_torch import ChannelAttention

    case = SUITE.find_case("random_f64")
    assert isinstance(case, Case)
    x, gamma = (case_inputs(SUITE, case)[k] for k in ("x", "gamma"))
    module = ChannelAttention().double().eval()
    with torch.no_grad():
        module.gamma.fill_(gamma)
        y = module(torch.from_numpy(np.array(x))).numpy()
    np.testing.assert_allclose(y, oracle_output(SUITE, case), rtol=1e-12, atol=1e-12)

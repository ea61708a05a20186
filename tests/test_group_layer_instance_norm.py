"""Pitfalls of group_layer_instance_norm: each deliberately wrong variant is flagged by verify.

The variants are one NumPy implementation with a knob per classic mistake, registered as
harness Implementation records and run on the suite's own cases (fixed seeds) through
harness.verify.verify. The spec's identities (GN with G = 1 is LN over (C, *S) up to the
affine, GN with G = C is IN) are checked on the oracle itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import case_inputs, verify
from suites.group_layer_instance_norm import (
    SUITE,
    NormOptions,
    check,
    group_layer_instance_norm,
    stat_rows,
)

Fn = Callable[..., Any]


def variant(
    *,
    ddof: int = 0,
    eps_outside: bool = False,
    groups: str = "consecutive",
    layer_axes: str = "trailing",
    instance_over: str = "spatial",
    variance: str = "two_pass",
    no_eps: bool = False,
    compute: str = "input",
    flat_when_empty: bool = False,
    bias_view_for_single_values: bool = False,
    affine_past: int = 0,
    in_place: bool = False,
    checks: bool = True,
) -> Fn:
    """A straightforward NumPy norm; every knob away from its default is one classic mistake."""

    def norm(x: Any, weight: Any, bias: Any, num_groups: int, opts: NormOptions) -> Any:
        if checks:
            check(x, weight, bias, num_groups, opts)
        dtype, shape = x.dtype, x.shape
        ct = np.float32 if compute == "float32" else dtype.type
        n, c = shape[0], shape[1]
        r, k = stat_rows(shape, num_groups, opts)
        if bias_view_for_single_values and k == 1 and bias is not None:
            # "one value per set: x - mean is 0, so the output is the bias"
            return np.broadcast_to(bias.reshape((c,) + (1,) * (x.ndim - 2)), shape)
        v = np.asarray(x, dtype=ct)
        if v.size == 0:
            y = v
        else:
            if opts.norm == "group" and groups == "strided":  # channel c in group c % G
                v = v.reshape(n, c // num_groups, num_groups, -1).swapaxes(1, 2)
                rows = v.shape[0] * v.shape[1], -1
            elif opts.norm == "layer" and layer_axes == "leading":  # axes 1..nd, not the last
                lead = int(np.prod(shape[1 : 1 + opts.normalized_ndim]))
                v = np.moveaxis(v.reshape(n, lead, -1), 1, 2)
                rows = -1, lead
            elif opts.norm == "instance" and instance_over == "batch":  # batch norm's sets
                v = np.moveaxis(v.reshape(n, c, -1), 0, 1)
                rows = c, -1
            else:
                rows = r, k
            sets = np.ascontiguousarray(v).reshape(rows)
            kk = sets.shape[1]
            mean = sets.mean(axis=1, keepdims=True)
            if variance == "one_pass":
                var = (sets * sets).mean(axis=1, keepdims=True) - mean * mean
            else:
                var = ((sets - mean) ** 2).sum(axis=1, keepdims=True) / max(kk - ddof, 1)
            eps = ct(0.0 if no_eps else opts.eps)
            with np.errstate(divide="ignore", invalid="ignore"):
                denom = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
                y = ((sets - mean) / denom).reshape(v.shape)
            if opts.norm == "group" and groups == "strided":
                y = y.swapaxes(1, 2)
            elif opts.norm == "layer" and layer_axes == "leading":
                y = np.moveaxis(y, 2, 1)
            elif opts.norm == "instance" and instance_over == "batch":
                y = np.moveaxis(y, 1, 0)
        if in_place:
            x[...] = y.reshape(shape)
            y = x
        y = y.reshape(shape)
        view = (
            shape[-opts.normalized_ndim :] if opts.norm == "layer" else (c,) + (1,) * (x.ndim - 2)
        )
        if weight is not None:
            w = np.asarray(weight, ct).reshape(view)
            if affine_past:  # channels from a block of 256 on lose their weight
                w = w.copy()
                w[affine_past:] = 1
            y = y * w
        if bias is not None:
            y = y + np.asarray(bias, ct).reshape(view)
        y = np.asarray(y, dtype=dtype)
        return y.reshape(-1) if flat_when_empty and y.size == 0 else y

    return norm


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("group_layer_instance_norm", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (variant(ddof=1), "group_f32", "elements differ"),
    (variant(ddof=1), "layer_last_f32", "elements differ"),
    (variant(eps_outside=True), "small_std_group_f64", "elements differ"),
    (variant(eps_outside=True), "eps_1e-3_f32", "elements differ"),
    (variant(groups="strided"), "group_f32", "elements differ"),
    (variant(layer_axes="leading"), "layer_two_axes_f64", "elements differ"),
    (variant(instance_over="batch"), "instance_f32", "elements differ"),
    (variant(variance="one_pass", compute="float32"), "offset_1e4_group", "differ"),
    (variant(no_eps=True), "constant_group", "NaN where the oracle has a number"),
    (variant(compute="float32"), "group_f64", "finite values off"),
    (variant(flat_when_empty=True), "empty_batch", "has shape (0,), expected (0, 3, 4, 5)"),
    (variant(bias_view_for_single_values=True), "instance_1x1_spatial", "shares memory"),
    (variant(affine_past=256), "multi_block", "first at (0, 256"),
    (variant(in_place=True), "group_f32", "modified its input(s) ['x']"),
    (variant(checks=False), "channels_not_divisible", "does not match"),
    (variant(checks=False), "weight_not_normalized_shape", "does not match"),
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


def test_the_tiled_mistake_hides_in_the_first_block() -> None:
    assert _verdict(variant(affine_past=256), "group_f32").status == "pass"


def test_the_unbiased_slip_is_invisible_at_large_offsets_in_float32_but_not_elsewhere() -> None:
    """Documents why several cases carry it: one case alone is not the whole net."""
    assert _verdict(variant(ddof=1), "group_f64").status == "fail"


@pytest.mark.parametrize("shape", [(3, 6, 5, 4), (2, 8, 7)])
def test_group_norm_identities_on_the_oracle(shape: tuple[int, ...]) -> None:
    """GN(G = 1) = LN over (C, *S) without affine; GN(G = C) = IN."""
    x = np.random.default_rng(0).standard_normal(shape)
    c, nd = shape[1], len(shape) - 1
    gn1 = group_layer_instance_norm(x, None, None, 1, NormOptions())
    ln = group_layer_instance_norm(x, None, None, 1, NormOptions(norm="layer", normalized_ndim=nd))
    np.testing.assert_allclose(gn1, ln, rtol=1e-12, atol=1e-12)
    gnc = group_layer_instance_norm(x, None, None, c, NormOptions())
    inn = group_layer_instance_norm(x, None, None, 1, NormOptions(norm="instance"))
    np.testing.assert_allclose(gnc, inn, rtol=1e-12, atol=1e-12)


def test_the_constant_cases_give_the_bias() -> None:
    case = SUITE.find_case("constant_group")
    assert isinstance(case, Case)
    inputs = case_inputs(SUITE, case)
    x, w, b, g = (inputs[n] for n in ("x", "weight", "bias", "num_groups"))
    y = group_layer_instance_norm(x, w, b, g, NormOptions())
    np.testing.assert_allclose(y[0], np.broadcast_to(inputs["bias"][:, None, None], y[0].shape))

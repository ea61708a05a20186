"""Pitfalls of non_local_position_attention: each wrong variant is flagged by verify.

The variants are one NumPy implementation with a knob per classic mistake, built as harness
Implementation records and run on the suite's own cases (fixed seeds) through
harness.verify.verify. The oracle is also held to torch's own modules (Conv2d, softmax,
BatchNorm2d in eval mode) on float64 cases.
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
from suites.non_local_position_attention import BN_EPS, SUITE, NonLocalOptions, check

Fn = Callable[..., Any]


def variant(
    *,
    scaling: str = "declared",
    softmax_axis: int = 1,
    transpose_attention: bool = True,
    subtract_max: bool = True,
    residual: str = "declared",
    bn_eps: float = BN_EPS,
    flatten: str = "row_major",
    compute: str = "input",
    normalise_past: int = 0,
    in_place: bool = False,
    flat_when_empty: bool = False,
    checks: bool = True,
) -> Fn:
    """A straightforward NumPy position attention; each knob off its default is one mistake."""

    def attention(
        x: Any, wq: Any, bq: Any, wk: Any, bk: Any, wv: Any, bv: Any, gamma: Any, wz: Any,
        bn: Any, opts: NonLocalOptions,
    ) -> Any:  # fmt: skip
        if checks:
            check(x, wq, bq, wk, bk, wv, bv, gamma, wz, bn, opts)
        ct = np.float32 if compute == "float32" else x.dtype.type
        B, C, H, W = x.shape
        xs = x.astype(ct)
        if flatten == "column_major":  # flattened (W, H) but unflattened as (H, W)
            flat = xs.transpose(0, 1, 3, 2).reshape(B, C, H * W)
        else:
            flat = xs.reshape(B, C, H * W)

        def proj(w: Any, b: Any) -> Any:
            return w.astype(ct) @ flat + (0 if b is None else b.astype(ct)[:, None])

        q, k, v = proj(wq, bq), proj(wk, bk), proj(wv, bv)
        kind = opts.scaling if scaling == "declared" else scaling
        logits = np.swapaxes(q, 1, 2) @ k
        if kind == "sqrt":
            logits = logits / ct(math.sqrt(wq.shape[0]))
        with np.errstate(over="ignore", invalid="ignore"):
            if subtract_max and logits.size:
                logits = logits - logits.max(axis=softmax_axis + 1, keepdims=True)
            e = np.exp(logits)
            a = e / e.sum(axis=softmax_axis + 1, keepdims=True)
        if normalise_past:  # past the first block of query rows: rows left unnormalised
            a[:, normalise_past:] = e[:, normalise_past:]
        out = v @ (np.swapaxes(a, 1, 2) if transpose_attention else a)
        res = opts.residual if residual == "declared" else residual
        if res == "gamma":
            y = ct(gamma) * out + flat
        elif res == "gamma_no_x":
            y = ct(gamma) * out
        else:
            weight, shift, mean, var = bn.astype(ct)
            z = wz.astype(ct) @ out
            z = (z - mean[:, None]) / np.sqrt(var[:, None] + ct(bn_eps)) * weight[:, None]
            y = z + shift[:, None] + flat
        y = y.astype(x.dtype).reshape(B, C, H, W)
        if in_place:
            x[...] = y
            return x
        return y.reshape(-1) if flat_when_empty and y.size == 0 else y

    return attention


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("non_local_position_attention", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (variant(scaling="sqrt"), "random_f32", "elements differ"),  # DANet is unscaled
    (variant(scaling="none"), "sqrt_scaling_f32", "elements differ"),
    (variant(softmax_axis=0), "random_f32", "elements differ"),  # softmax over queries
    (variant(transpose_attention=False), "random_f32", "elements differ"),  # V·A, not V·Aᵀ
    (variant(subtract_max=False), "large_activations", "NaN"),  # exp overflows
    (variant(residual="gamma_no_x"), "random_f32", "elements differ"),
    (variant(residual="gamma"), "conv_bn_f32", "raised"),  # gamma is None there
    (variant(bn_eps=1e-3), "conv_bn_sqrt_f64", "elements differ"),  # Keras's BN epsilon
    (variant(flatten="column_major"), "random_f32", "elements differ"),
    (variant(compute="float32"), "random_f64", "finite values off"),
    (variant(normalise_past=256), "multi_block", "first at (0, 0, 0, 256)"),
    (variant(in_place=True), "random_f32", "modified its input(s) ['x']"),
    (variant(flat_when_empty=True), "no_rows", "has shape (0,), expected (2, 16, 0, 3)"),
    (variant(checks=False), "query_key_channels_differ", "does not match"),
    (variant(checks=False), "gamma_residual_needs_cv_eq_c", "does not match"),
    (variant(checks=False), "gamma_missing", "must raise"),
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
    assert _verdict(variant(normalise_past=256), "random_f32").status == "pass"


@pytest.mark.parametrize("name", ["random_f64", "conv_bn_sqrt_f64"])
def test_the_oracle_matches_torch_modules_float64(name: str) -> None:
    """nn.Conv2d 1x1 for Q, K, V (DANet's PAM: bmm, softmax over the last axis, bmm with Aᵀ)
    and nn.BatchNorm2d in eval mode for the non-local block's W_z branch."""
    torch = pytest.importorskip("torch")
    case = SUITE.find_case(name)
    assert isinstance(case, Case)
    inputs = {k: torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v
              for k, v in case_inputs(SUITE, case).items()}  # fmt: skip
    x = inputs["x"]
    B, C, H, W = x.shape

    def conv(w: Any, b: Any) -> Any:
        layer = torch.nn.Conv2d(w.shape[1], w.shape[0], 1, bias=b is not None).double()
        layer.weight.data = w[:, :, None, None].clone()
        if b is not None:
            layer.bias.data = b.clone()
        return layer

    with torch.no_grad():
        q = conv(inputs["wq"], inputs["bq"])(x).view(B, -1, H * W).permute(0, 2, 1)
        k = conv(inputs["wk"], inputs["bk"])(x).view(B, -1, H * W)
        energy = torch.bmm(q, k)
        if case.options.get("scaling") == "sqrt":
            energy = energy / math.sqrt(q.shape[-1])
        a = torch.softmax(energy, dim=-1)
        v = conv(inputs["wv"], inputs["bv"])(x).view(B, -1, H * W)
        out = torch.bmm(v, a.permute(0, 2, 1)).view(B, -1, H, W)
        if case.options.get("residual") == "conv_bn":
            bn = torch.nn.BatchNorm2d(C, eps=1e-5).double().eval()
            weight, bias, mean, var = inputs["bn"]
            bn.weight.data, bn.bias.data = weight.clone(), bias.clone()
            bn.running_mean, bn.running_var = mean.clone(), var.clone()
            y = bn(conv(inputs["wz"], None)(out)) + x
        else:
            y = inputs["gamma"] * out + x
    expected = oracle_output(SUITE, case)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_gamma_zero_is_the_identity() -> None:
    case = SUITE.find_case("gamma_zero_identity")
    assert isinstance(case, Case)
    np.testing.assert_array_equal(oracle_output(SUITE, case), case_inputs(SUITE, case)["x"])

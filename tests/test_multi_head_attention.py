"""Pitfalls of multi_head_attention: each deliberately wrong variant is flagged by verify.

The variants are one NumPy implementation with a knob per classic mistake, registered as
harness Implementation records and run on the suite's own cases (fixed seeds) through
harness.verify.verify. The oracle itself is held to torch float64 by the library reference
in ``shootout verify``; here it is also checked against nn.MultiheadAttention directly with
torch's own module default (batch_first=False).
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
from suites.multi_head_attention import SUITE, MhaOptions, check

Fn = Callable[..., Any]


def variant(
    *,
    scale_dim: str = "head",
    mask_axis: str = "keys",
    average: bool | None = None,
    heads: str = "contiguous",
    polarity: str = "declared",
    stack: str = "qkv",
    transpose_w: bool = True,
    layout: str = "declared",
    dead: str = "declared",
    compute: str = "input",
    broken_past: int = 0,
    bias_view_when_no_keys: bool = False,
    checks: bool = True,
) -> Fn:
    """A straightforward NumPy MHA; every knob away from its default is one classic mistake."""

    def mha(query: Any, key: Any, value: Any, key_padding_mask: Any, in_proj_weight: Any,
        in_proj_bias: Any, out_proj_weight: Any, out_proj_bias: Any, num_heads: int,
        opts: MhaOptions) -> tuple[Any, Any]:  # fmt: skip
        if checks:
            check(query, key, value, key_padding_mask, in_proj_weight, in_proj_bias,
                  out_proj_weight, out_proj_bias, num_heads, opts)  # fmt: skip
        dtype = query.dtype
        ct = np.float32 if compute == "float32" else dtype.type
        x, y, z = (np.asarray(a, dtype=ct) for a in (query, key, value))
        seq_first = not opts.batch_first and layout == "declared"
        if seq_first:
            x, y, z = (a.transpose(1, 0, 2) for a in (x, y, z))
        (B, L, E), S, H = x.shape, y.shape[1], int(num_heads)
        dh = E // H
        if bias_view_when_no_keys and S == 0 and out_proj_bias is not None:
            out0 = np.broadcast_to(out_proj_bias, (B, L, E))  # "nothing to attend: the bias"
            return out0, np.zeros((B, L, 0) if opts.average_attn_weights else (B, H, L, 0), dtype)
        w = np.asarray(in_proj_weight, dtype=ct)
        order = (0, 1, 2) if stack == "qkv" else (1, 0, 2)
        ws = [w[i * E : (i + 1) * E] for i in order]
        bs = [np.zeros(E, ct)] * 3 if in_proj_bias is None else [
            np.asarray(in_proj_bias, ct)[i * E : (i + 1) * E] for i in order
        ]  # fmt: skip
        q, k, v = (
            a @ (wi.T if transpose_w else wi) + bi
            for a, wi, bi in zip((x, y, z), ws, bs, strict=True)
        )

        def split(a: Any, n: int) -> Any:
            if heads == "contiguous":
                return a.reshape(B, n, H, dh).transpose(0, 2, 1, 3)
            return a.reshape(B, n, dh, H).transpose(0, 3, 1, 2)  # interleaved columns

        q, k, v = split(q, L), split(k, S), split(v, S)
        scale = 1.0 / math.sqrt(dh if scale_dim == "head" else E)
        scores = (q @ k.transpose(0, 1, 3, 2)) * ct(scale)
        if broken_past:  # tiled over query rows; every tile after the first forgets the scale
            scores[:, :, broken_past:] /= ct(scale)
        if key_padding_mask is not None:
            m = np.asarray(key_padding_mask)
            if m.dtype == bool:
                blocked = m if (opts.mask_true_means == "blocked" or polarity == "fixed") else ~m
                bias = np.where(blocked, -np.inf, 0.0).astype(ct)
            else:
                bias = m.astype(ct)
            scores = scores + (
                bias[:, None, None, :] if mask_axis == "keys" else bias[:, None, :, None]
            )
        top = scores.max(axis=-1, keepdims=True, initial=-np.inf)
        is_dead = top == -np.inf
        with np.errstate(invalid="ignore"):
            e = np.exp(scores - np.where(is_dead, 0.0, top))
            weights = e / e.sum(axis=-1, keepdims=True)
        convention = opts.fully_masked if dead == "declared" else dead
        weights = np.where(is_dead, np.nan if convention == "nan" else 0.0, weights)
        context = weights @ v
        context = np.where(is_dead, np.nan if convention == "nan" else 0.0, context)
        context = context.transpose(0, 2, 1, 3).reshape(B, L, E)
        out = context @ np.asarray(out_proj_weight, ct).T
        if out_proj_bias is not None:
            out = out + np.asarray(out_proj_bias, ct)
        if seq_first:
            out = out.transpose(1, 0, 2)
        avg = opts.average_attn_weights if average is None else average
        weights = weights.mean(axis=1) if avg else weights
        return out.astype(dtype), weights.astype(dtype)

    return mha


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("multi_head_attention", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (variant(scale_dim="embed"), "random_f32", "elements differ"),
    (variant(mask_axis="queries"), "self_attention", "NaN where the oracle has a number"),
    (
        variant(average=True),
        "per_head_weights_f64",
        "output 'weights' has shape (2, 5, 7), expected (2, 3, 5, 7)",
    ),
    (
        variant(average=False),
        "random_f32",
        "output 'weights' has shape (2, 4, 5, 7), expected (2, 5, 7)",
    ),
    (variant(heads="interleaved"), "random_f32", "elements differ"),
    (variant(polarity="fixed"), "mask_attend_polarity", "elements differ"),
    (variant(stack="kqv"), "random_f32", "elements differ"),
    (variant(transpose_w=False), "random_f32", "elements differ"),
    # (L, B, E) read as (B, L, E): the batched products no longer line up
    (variant(layout="ignored", checks=False), "seq_first_per_head_f64", "raised ValueError"),
    (variant(dead="zero"), "fully_masked_nan", "numbers where the oracle has NaN"),
    (variant(dead="nan"), "fully_masked_zero", "NaN where the oracle has a number"),
    (variant(dead="nan"), "no_keys_zero", "NaN where the oracle has a number"),
    (variant(compute="float32"), "random_f64", "finite values off"),
    (variant(broken_past=256), "multi_block", "elements differ"),
    (variant(bias_view_when_no_keys=True), "no_keys_zero", "shares memory with input"),
    # unchecked: NumPy's own reshape error is not the one-line message naming the argument
    (variant(checks=False), "heads_do_not_divide_embed", "does not match 'divisible by"),
    (variant(checks=False), "in_proj_not_3e_rows", "does not match 'in_proj_weight must"),
]


@pytest.mark.parametrize(("fn", "case", "words"), PITFALLS)
def test_the_suite_flags_each_pitfall(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status in ("fail", "error"), (v.status, v.detail)
    assert words in v.detail, v.detail


@pytest.mark.parametrize(
    "case", [c.name for c in SUITE.cases] + ["heads_do_not_divide_embed", "in_proj_not_3e_rows"]
)
def test_the_straightforward_variant_passes(case: str) -> None:
    v = _verdict(variant(), case)
    assert v.status == "pass", v.detail


def test_the_tiled_mistake_hides_in_the_first_block() -> None:
    """Wrong only past query row 256: the small cases cannot see it, multi_block does."""
    assert _verdict(variant(broken_past=256), "masked_f32").status == "pass"


def test_one_head_cannot_tell_the_scales_apart_but_the_default_case_does() -> None:
    """With H = 1, d_h = E: the sqrt(E) slip is invisible there, so the suite needs H > 1."""
    assert _verdict(variant(scale_dim="embed"), "one_head").status == "pass"


def test_the_oracle_matches_torch_module_defaults_float64() -> None:
    """nn.MultiheadAttention as constructed by default (batch_first=False), weights loaded with
    load_state_dict, padded keys given as True, per-head weights: equal to the oracle."""
    torch = pytest.importorskip("torch")
    case = SUITE.find_case("seq_first_per_head_f64")
    assert isinstance(case, Case)
    inputs = {k: np.array(v) if isinstance(v, np.ndarray) else v
              for k, v in case_inputs(SUITE, case).items()}  # fmt: skip
    expected_out, expected_w = oracle_output(SUITE, case)
    E, H = inputs["in_proj_weight"].shape[1], inputs["num_heads"]
    module = torch.nn.MultiheadAttention(E, H, dtype=torch.float64)
    module.load_state_dict(
        {
            "in_proj_weight": torch.from_numpy(inputs["in_proj_weight"]),
            "in_proj_bias": torch.from_numpy(inputs["in_proj_bias"]),
            "out_proj.weight": torch.from_numpy(inputs["out_proj_weight"]),
            "out_proj.bias": torch.from_numpy(inputs["out_proj_bias"]),
        }
    )
    q, k, v = (torch.from_numpy(inputs[n]) for n in ("query", "key", "value"))
    with torch.no_grad():
        out, w = module(q, k, v, average_attn_weights=False)
    np.testing.assert_allclose(out.numpy(), expected_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), expected_w, rtol=1e-10, atol=1e-12)

"""Pitfalls of scaled_dot_product_attention: each deliberately wrong variant is flagged by verify.

The variants are one NumPy implementation with a knob per classic mistake (mask polarity,
fully masked rows, causal alignment, no max subtraction, the wrong scale, a tiled kernel that
is only right in its first tile, ...), registered as harness Implementation records and run on
the suite's own cases (fixed seeds) through harness.verify.verify. The oracle is also held to
torch's F.scaled_dot_product_attention directly in float64.
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
from suites.scaled_dot_product_attention import ARGS, SUITE, AttentionOptions, causal_offset

Fn = Callable[..., Any]


def variant(
    *,
    polarity: str = "declared",
    dead: str = "declared",
    alignment: str = "declared",
    subtract_max: bool = True,
    scale_from: str = "d",
    scale_or: bool = False,
    softmax_axis: int = -1,
    causal_drops_mask: bool = False,
    bool_as_additive: bool = False,
    compute: str = "input",
    tile_past: int = 0,
    empty: str = "shaped",
    single_key_view: bool = False,
    checks: bool = True,
) -> Fn:
    """A straightforward batched NumPy SDPA; every knob away from its default is one mistake."""

    def attention(q: Any, k: Any, v: Any, mask: Any, scale: Any, opts: AttentionOptions) -> Any:
        if checks:
            ARGS.check(q, k, v, mask, scale)
        dtype = q.dtype
        ct = np.float32 if compute == "float32" else dtype.type
        if dtype == np.float16 and compute != "float16":
            ct = np.float32  # float16 worked in float32, rounded once
        qq, kk, vv = (np.asarray(a, dtype=ct) for a in (q, k, v))
        (B, H, L, d), S, dv = qq.shape, kk.shape[2], vv.shape[3]
        if empty == "flat" and 0 in (B, H, L, dv):
            return np.zeros(0, dtype)
        if single_key_view and S == 1 and mask is None and not opts.is_causal:
            return np.broadcast_to(v, (B, H, L, dv))  # every weight is 1: v's row, as a view
        width = d if scale_from == "d" else dv
        if scale_or:  # `scale or 1/sqrt(d)`: an explicit 0 silently becomes the default
            s = scale or 1.0 / math.sqrt(width)
        else:
            s = 1.0 / math.sqrt(width) if scale is None else float(scale)
        logits = (qq @ kk.swapaxes(-1, -2)) * ct(s)
        allowed = np.ones((B, H, L, S), dtype=bool)
        if mask is not None:
            m = np.broadcast_to(np.asarray(mask), (B, H, L, S))
            if m.dtype == bool and not bool_as_additive:
                attend = opts.mask_true_means == "attend" or polarity == "sdpa"
                if polarity == "fixed_blocked":
                    attend = False
                allowed = allowed & (m == attend)
            else:  # additive (or a bool mask added as 0/1)
                logits = logits + m.astype(ct)
        if opts.is_causal:
            align = opts.causal_alignment if alignment == "declared" else alignment
            off = causal_offset(L, S, align)
            tri = np.arange(S)[None, :] <= np.arange(L)[:, None] + off
            allowed = tri if causal_drops_mask else allowed & tri
        logits = np.where(allowed, logits, ct(-np.inf))
        top = logits.max(axis=softmax_axis, keepdims=True, initial=-np.inf)
        is_dead = logits.max(axis=-1, keepdims=True, initial=-np.inf) == -np.inf
        with np.errstate(invalid="ignore", over="ignore"):
            shift = np.where(np.isneginf(top), ct(0), top) if subtract_max else ct(0)
            e = np.exp(logits - shift)
            w = e / e.sum(axis=softmax_axis, keepdims=True)
            if tile_past:  # a tiled kernel whose later key tiles forget the scale
                w[..., tile_past:] = np.exp(logits[..., tile_past:] / ct(s) - shift) / e.sum(
                    axis=-1, keepdims=True
                )
            out = w @ vv
        convention = opts.fully_masked if dead == "declared" else dead
        out = np.where(is_dead, ct(0) if convention == "zero" else ct(np.nan), out)
        return out.astype(dtype)

    return attention


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("scaled_dot_product_attention", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    # a bool mask read with F.sdpa's True-attends whatever the flag says, and the reverse
    (variant(polarity="sdpa"), "masked_f32", "elements differ"),
    (variant(polarity="fixed_blocked"), "masked_attend_f64", "elements differ"),
    # fully masked rows: 0/0 where the flag asks for zeros, zeros where it asks for NaN
    (variant(dead="nan"), "fully_masked_rows", "NaN where the oracle has a number"),
    (variant(dead="zero"), "fully_masked_rows_nan", "numbers where the oracle has NaN"),
    (variant(dead="nan"), "no_keys", "NaN where the oracle has a number"),
    # causal with L != S: torch's top-left diagonal where bottom-right is asked, and back
    (variant(alignment="top_left"), "causal_bottom_right_wide", "elements differ"),
    (variant(alignment="bottom_right"), "causal_top_left_tall", "elements differ"),
    # causal replaces the explicit mask instead of combining with it
    (variant(causal_drops_mask=True), "causal_and_mask", "elements differ"),
    # no max subtraction: exp overflows to inf, inf/inf = NaN
    (variant(subtract_max=False), "saturated_logits_scale_1e4", "NaN where the oracle has"),
    # 1/sqrt(d_v) for 1/sqrt(d): invisible while d = d_v, caught by dv_differs
    (variant(scale_from="dv"), "dv_differs", "elements differ"),
    # `scale or default`: an explicit scale of 0 (uniform weights) replaced by 1/sqrt(d)
    (variant(scale_or=True), "scale_zero_mean_of_values", "elements differ"),
    # softmax normalised over the queries instead of the keys
    (variant(softmax_axis=-2), "random_f32", "elements differ"),
    # a bool mask added to the logits as 0/1 instead of blocking
    (variant(bool_as_additive=True), "masked_f32", "elements differ"),
    (variant(compute="float32"), "random_f64", "finite values off"),
    # float16 arithmetic throughout: QKᵀ·1e4 overflows to inf, the softmax gives NaN
    (variant(compute="float16"), "saturated_logits_scale_1e4_f16", "NaN where the oracle has"),
    # wrong only past the first 64-key tile: the small cases cannot see it, multi_block does
    (variant(tile_past=64), "multi_block", "elements differ"),
    (variant(empty="flat"), "no_value_dims", "shape"),
    # one key: every weight is 1, so the output is v's row, returned as a view of v
    (variant(single_key_view=True), "single_key", "shares memory with input"),
    # unchecked: an integer mask slips through as an additive one
    (variant(checks=False), "mask:wrong_dtype", "returned normally"),
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
    """Wrong only past key 64: the 24-key cases pass, so multi_block is what catches it."""
    assert _verdict(variant(tile_past=64), "masked_f32").status == "pass"


def test_the_dv_scale_slip_is_invisible_while_d_equals_dv() -> None:
    assert _verdict(variant(scale_from="dv"), "random_f32").status == "pass"


@pytest.mark.parametrize(
    "name", ["masked_attend_f64", "causal_bottom_right_wide", "additive_mask_nan", "random_f64"]
)
def test_the_oracle_matches_torch_sdpa_float64(name: str) -> None:
    """F.scaled_dot_product_attention (math path, float64) with the bool mask as True-attends
    and causal_lower_right for bottom-right: equal to the oracle (rows left with a key)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    case = SUITE.find_case(name)
    assert isinstance(case, Case)
    inputs = case_inputs(SUITE, case)
    expected = oracle_output(SUITE, case)
    q, k, v = (torch.from_numpy(np.array(inputs[n], dtype=np.float64)) for n in "qkv")
    mask, opts = inputs["mask"], case.options
    attn_mask = None
    if mask is not None:
        m = torch.from_numpy(np.array(mask))
        attn_mask = (
            (m if opts.get("mask_true_means") == "attend" else ~m)
            if m.dtype == torch.bool
            else m.double()
        )
    if opts.get("is_causal"):
        from torch.nn.attention.bias import causal_lower_right

        L, S = q.shape[2], k.shape[2]
        if opts.get("causal_alignment") == "bottom_right":
            attn_mask = causal_lower_right(L, S)
        else:
            attn_mask = torch.ones(L, S, dtype=torch.bool).tril()
    with torch.no_grad():
        got = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=inputs["scale"])
    got_np = got.numpy()
    alive = np.isfinite(expected)  # NaN rows: torch's own convention is the other flag value
    np.testing.assert_allclose(got_np[alive], expected[alive], rtol=1e-10, atol=1e-12)

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
    attn_polarity: str = "declared",
    attn_after_softmax: bool = False,
    attn_slices: str = "b*H+h",
    padding_with_attn: bool = True,
    swap_kv: bool = False,
    weights_always: bool = False,
    merge: str = "heads_first",
    v_head_width: str = "d_v",
    wo_transposed: bool = False,
) -> Fn:
    """A straightforward NumPy MHA; every knob away from its default is one classic mistake."""

    def mha(query: Any, key: Any, value: Any, key_padding_mask: Any, attn_mask: Any,
        in_proj_weight: Any, in_proj_bias: Any, out_proj_weight: Any, out_proj_bias: Any,
        q_proj_weight: Any, k_proj_weight: Any, v_proj_weight: Any, num_heads: int,
        opts: MhaOptions) -> tuple[Any, Any]:  # fmt: skip
        if checks:
            check(query, key, value, key_padding_mask, attn_mask, in_proj_weight, in_proj_bias,
                  out_proj_weight, out_proj_bias, q_proj_weight, k_proj_weight, v_proj_weight,
                  num_heads, opts)  # fmt: skip
        dtype = query.dtype
        ct = np.float32 if compute == "float32" else dtype.type
        x, y, z = (np.asarray(a, dtype=ct) for a in (query, key, value))
        seq_first = not opts.batch_first and layout == "declared"
        if seq_first:
            x, y, z = (a.transpose(1, 0, 2) for a in (x, y, z))
        (B, L, E), S, H = x.shape, y.shape[1], int(num_heads)
        packed = in_proj_weight is not None
        Dv = E if packed else int(v_proj_weight.shape[0])  # projected value width
        dh, dv = E // H, Dv // H
        if bias_view_when_no_keys and S == 0 and out_proj_bias is not None:
            out0 = np.broadcast_to(out_proj_bias, (B, L, E))  # "nothing to attend: the bias"
            return out0, np.zeros((B, L, 0) if opts.average_attn_weights else (B, H, L, 0), dtype)
        if in_proj_weight is not None:
            w = np.asarray(in_proj_weight, dtype=ct)
            blocks = [w[i * E : (i + 1) * E] for i in range(3)]
        else:
            blocks = [np.asarray(a, ct) for a in (q_proj_weight, k_proj_weight, v_proj_weight)]
        if swap_kv:  # key through W_v, value through W_k
            blocks = [blocks[0], blocks[2], blocks[1]]
        order = (0, 1, 2) if stack == "qkv" else (1, 0, 2)
        ws = [blocks[i] for i in order]
        starts, widths = (0, E, 2 * E), (E, E, Dv)
        bs = [np.zeros(widths[i], ct) for i in order] if in_proj_bias is None else [
            np.asarray(in_proj_bias, ct)[starts[i] : starts[i] + widths[i]] for i in order
        ]  # fmt: skip
        q, k, v = (
            a @ (wi.T if transpose_w else wi) + bi
            for a, wi, bi in zip((x, y, z), ws, bs, strict=True)
        )

        def split(a: Any, n: int, d: int = dh) -> Any:
            if heads == "contiguous":
                return a.reshape(B, n, H, d).transpose(0, 2, 1, 3)
            return a.reshape(B, n, d, H).transpose(0, 3, 1, 2)  # interleaved columns

        q, k = split(q, L), split(k, S)
        if v_head_width == "d_h":  # V cut into E/H-wide blocks, however wide D_v is
            v = v.reshape(B, S, -1, dh).transpose(0, 2, 1, 3)
        else:
            v = split(v, S, dv)
        scale = 1.0 / math.sqrt(dh if scale_dim == "head" else E)
        scores = (q @ k.transpose(0, 1, 3, 2)) * ct(scale)
        if broken_past:  # tiled over query rows; every tile after the first forgets the scale
            scores[:, :, broken_past:] /= ct(scale)

        def additive(mask: Any, polarity_fixed: bool) -> Any:
            m = np.asarray(mask)
            if m.dtype != bool:
                return m.astype(ct)
            blocked = m if (opts.mask_true_means == "blocked" or polarity_fixed) else ~m
            return np.where(blocked, -np.inf, 0.0).astype(ct)

        if key_padding_mask is not None and (attn_mask is None or padding_with_attn):
            bias = additive(key_padding_mask, polarity == "fixed")
            scores = scores + (
                bias[:, None, None, :] if mask_axis == "keys" else bias[:, None, :, None]
            )
        late = None
        if attn_mask is not None:
            if attn_polarity == "sdpa" and np.asarray(attn_mask).dtype == bool:
                a = np.where(np.asarray(attn_mask), 0.0, -np.inf).astype(ct)  # True attends
            else:
                a = additive(attn_mask, False)
            if a.ndim == 3:
                a = a.reshape((B, H, L, S) if attn_slices == "b*H+h" else (H, B, L, S))
                a = a if attn_slices == "b*H+h" else a.transpose(1, 0, 2, 3)
            if attn_after_softmax and a.dtype != bool and np.asarray(attn_mask).dtype != bool:
                late = a  # the additive mask added to the probabilities
            else:
                scores = scores + a
        top = scores.max(axis=-1, keepdims=True, initial=-np.inf)
        is_dead = top == -np.inf
        with np.errstate(invalid="ignore"):
            e = np.exp(scores - np.where(is_dead, 0.0, top))
            weights = e / e.sum(axis=-1, keepdims=True)
        if late is not None:
            weights = np.where(np.isneginf(late), 0.0, weights + late)
        convention = opts.fully_masked if dead == "declared" else dead
        weights = np.where(is_dead, np.nan if convention == "nan" else 0.0, weights)
        context = weights @ v
        context = np.where(is_dead, np.nan if convention == "nan" else 0.0, context)
        if merge == "heads_last":  # (B, L, d_h, H) flattened: the columns interleaved
            context = context.transpose(0, 2, 3, 1).reshape(B, L, Dv)
        else:
            context = context.transpose(0, 2, 1, 3).reshape(B, L, Dv)
        # out_proj=False (W_o None): the heads as they are
        w_o = None if out_proj_weight is None else np.asarray(out_proj_weight, ct)
        out = context if w_o is None else context @ (w_o if wo_transposed else w_o.T)
        if out_proj_bias is not None:
            out = out + np.asarray(out_proj_bias, ct)
        if seq_first:
            out = out.transpose(1, 0, 2)
        if not opts.need_weights and not weights_always:
            return out.astype(dtype), None
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
    # a bool attn_mask read as F.scaled_dot_product_attention's True-attends
    (variant(attn_polarity="sdpa"), "attn_bool_2d", "output 'out'"),
    (variant(attn_polarity="sdpa"), "attn_bool_3d", "output 'weights'"),
    # the additive mask added to the probabilities instead of the logits
    (variant(attn_after_softmax=True), "attn_float_2d_f64", "elements differ"),
    (variant(attn_after_softmax=True), "attn_float_3d_f64", "elements differ"),
    # (B·H, L, S) read head-major (h·B + b)
    (variant(attn_slices="h*B+b"), "attn_bool_3d", "elements differ"),
    # the key padding mask dropped once an attn_mask is given
    (variant(padding_with_attn=False), "attn_bool_2d", "elements differ"),
    # k and v projections swapped: wrong values when kdim = vdim, a shape error otherwise
    (variant(swap_kv=True), "kdim_eq_vdim", "elements differ"),
    (variant(swap_kv=True), "kdim_vdim", "raised ValueError"),
    (variant(weights_always=True), "no_weights", "need_weights=False expects None"),
    # unchecked: NumPy's reshape error instead of the message naming B*num_heads
    (variant(checks=False), "attn_mask_3d_slices_not_bh", "message 'cannot reshape array"),
    # heads concatenated in the wrong order: without W_o the output shows it directly
    (variant(merge="heads_last"), "no_out_proj_f32", "elements differ"),
    # out_proj=False with W_o given anyway: applied silently instead of refused
    (variant(checks=False), "out_proj_weight_given_without_out_proj", "returned normally"),
    # W_o missing under out_proj=True: silently read as "no output projection"
    (variant(checks=False), "out_proj_weight_missing", "returned normally"),
    # value_width='custom': V split into d_h = E/H columns a head instead of d_v = D_v/H
    # (E/H-wide blocks cannot make H heads of D_v columns: a shape error, never quiet values)
    (variant(v_head_width="d_h"), "dv_half", "raised ValueError"),
    (variant(v_head_width="d_h"), "dv_double_f64", "raised ValueError"),
    (variant(v_head_width="d_h"), "dv_one_head", "raised ValueError"),
    # W_o used as (D_v, E): a shape error once D_v != E, wrong values when D_v = E
    (variant(wo_transposed=True), "dv_cross_kdim_vdim", "raised ValueError"),
    (variant(wo_transposed=True), "dv_equal_e_packed", "elements differ"),
    # unchecked: NumPy's reshape error instead of the message naming D_v
    (variant(checks=False), "value_width_not_divisible_by_heads", "does not match 'D_v=7"),
    # unchecked: a D_v != E weight taken under value_width='embed'
    (variant(checks=False), "value_width_embed_with_dv_rows", "returned normally"),
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


def test_the_oracle_matches_torch_with_kdim_vdim_and_both_masks_float64() -> None:
    """nn.MultiheadAttention(kdim, vdim) holding q/k/v_proj_weight apart, a (B·H, L, S) bool
    attn_mask and a bool key_padding_mask (True ignores, both merged by torch): equal to the
    oracle; with need_weights=False torch returns None, as the oracle does."""
    torch = pytest.importorskip("torch")
    case = SUITE.resolve(
        Case(
            "kdim",
            {
                "dtype": "float64",
                "kdim": 6,
                "vdim": 10,
                "mask": "bool",
                "attn": "bool",
                "attn_dims": 3,
            },
            {"average_attn_weights": False},
        )
    )
    inputs = SUITE.make_inputs(case)
    expected_out, expected_w = SUITE.run_oracle(inputs, case)
    E, H = inputs["out_proj_weight"].shape[1], inputs["num_heads"]
    module = torch.nn.MultiheadAttention(E, H, kdim=6, vdim=10, batch_first=True,
                                         dtype=torch.float64)  # fmt: skip
    names = ("q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias")
    state = {n: torch.from_numpy(inputs[n]) for n in names}
    state["out_proj.weight"] = torch.from_numpy(inputs["out_proj_weight"])
    state["out_proj.bias"] = torch.from_numpy(inputs["out_proj_bias"])
    module.load_state_dict(state)
    t = {n: torch.from_numpy(inputs[n]) for n in ("query", "key", "value", "key_padding_mask",
                                                   "attn_mask")}  # fmt: skip
    with torch.no_grad():
        out, w = module(t["query"], t["key"], t["value"], key_padding_mask=t["key_padding_mask"],
                        attn_mask=t["attn_mask"], average_attn_weights=False)  # fmt: skip
        _, none = module(t["query"], t["key"], t["value"], attn_mask=t["attn_mask"],
                         need_weights=False)  # fmt: skip
    np.testing.assert_allclose(out.numpy(), expected_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), expected_w, rtol=1e-10, atol=1e-12)
    assert none is None
    no_weights = SUITE.resolve(Case("nw", dict(case.params), {"need_weights": False}))
    assert SUITE.run_oracle(SUITE.make_inputs(no_weights), no_weights)[1] is None


@pytest.mark.parametrize(("out_proj", "dv"), [(False, 0), (False, 18), (True, 6)])
def test_the_oracle_matches_f_linear_and_sdpa_float64(out_proj: bool, dv: int) -> None:
    """F.linear for the three projections (V to D_v columns with value_width='custom'), heads
    split as contiguous d_h (q, k) and d_v = D_v/H (v) blocks, F.scaled_dot_product_attention
    (True-attends mask), heads concatenated, F.linear with W_o (E, D_v) or none: equal to the
    oracle (an independent route from both library adapters)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    params: dict[str, Any] = {"dtype": "float64", "mask": "bool", "kdim": 6, "vdim": 10}
    options: dict[str, Any] = {"out_proj": out_proj, "need_weights": False}
    if dv:
        params["dv"], options["value_width"] = dv, "custom"
    case = SUITE.resolve(Case("f_linear", params, options))
    inputs = SUITE.make_inputs(case)
    expected, none = SUITE.run_oracle(inputs, case)
    assert none is None and (inputs["out_proj_weight"] is None) == (not out_proj)
    t = {n: torch.from_numpy(v) for n, v in inputs.items() if isinstance(v, np.ndarray)}
    H, (B, L, E), S = inputs["num_heads"], inputs["query"].shape, inputs["key"].shape[1]
    Dv = dv or E
    b = t["in_proj_bias"]
    q = F.linear(t["query"], t["q_proj_weight"], b[:E]).view(B, L, H, E // H).transpose(1, 2)
    k = F.linear(t["key"], t["k_proj_weight"], b[E : 2 * E]).view(B, S, H, E // H).transpose(1, 2)
    v = F.linear(t["value"], t["v_proj_weight"], b[2 * E :]).view(B, S, H, Dv // H).transpose(1, 2)
    attend = (~t["key_padding_mask"]).view(B, 1, 1, S)  # default polarity: True ignores
    got = F.scaled_dot_product_attention(q, k, v, attn_mask=attend).transpose(1, 2)
    got = got.reshape(B, L, Dv)
    if out_proj:
        got = F.linear(got, t["out_proj_weight"], t["out_proj_bias"])
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_nn_multihead_attention_refuses_a_value_width_other_than_e() -> None:
    """value_width='custom' is library_torch_functional's: the nn.MultiheadAttention adapter
    declares only 'embed' (its vdim is the value input width, not the projected one)."""
    from harness.registry import load_registry

    impls = load_registry().implementations
    module = impls["multi_head_attention/library/torch"]
    assert not module.supports_value("value_width", "custom")
    assert impls["multi_head_attention/library/torch_functional"].supports_value(
        "value_width", "custom"
    )

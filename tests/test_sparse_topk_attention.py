"""Pitfalls of sparse_topk_attention: each wrong variant is flagged by verify.

The variants are one NumPy implementation with a knob per classic mistake, built as harness
Implementation records and run on the suite's own cases (fixed seeds) through
harness.verify.verify. The oracle is also checked on its two properties (k = S is dense
attention, k = 1 the v row of the best key) and against torch.topk on tie-free inputs.
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
from suites import scaled_dot_product_attention as sdpa
from suites.sparse_topk_attention import SUITE, SparseOptions, check

Fn = Callable[..., Any]


def variant(
    *,
    select: str = "declared",
    k_offset: int = 0,
    mask_after_select: bool = False,
    use_scale: bool = True,
    dead: str = "zero",
    keys_seen: int = 0,
    compute: str = "input",
    in_place: bool = False,
    flat_when_empty: bool = False,
    checks: bool = True,
) -> Fn:
    """A straightforward NumPy top-k attention; each knob off its default is one mistake."""

    def attention(
        q: Any, k: Any, v: Any, mask: Any, scale: Any, top_k: int, opts: SparseOptions
    ) -> Any:
        if checks:
            check(q, k, v, mask, scale, top_k)
        ct = np.float32 if compute == "float32" else q.dtype.type
        qs, ks, vs = (np.asarray(a, ct) for a in (q, k, v))
        S = ks.shape[2]
        s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
        logits = qs @ np.swapaxes(ks, -1, -2) * (ct(s) if use_scale else ct(1))
        bias = np.zeros((), ct)
        if mask is not None and mask.dtype == bool:
            bias = np.where(mask == (opts.mask_true_means == "attend"), 0, -np.inf).astype(ct)
        elif mask is not None:
            bias = mask.astype(ct)
        if not mask_after_select:
            logits = logits + bias
        if keys_seen:  # a tiled selection that only ever looks at its first tile of keys
            logits[..., keys_seen:] = -np.inf
        kk = top_k + k_offset
        rule = opts.ties if select == "declared" else select
        if rule == "lower_index":
            order = np.argsort(-logits, axis=-1, kind="stable")[..., :kk]
        elif rule == "higher_index":  # among ties the later key first
            order = S - 1 - np.argsort(-logits[..., ::-1], axis=-1, kind="stable")[..., :kk]
        elif rule == "argpartition":  # introselect: no order promised among ties
            order = np.argpartition(-logits, kk - 1, axis=-1)[..., :kk]
        if rule == "at_least_kth":
            t = -np.sort(-logits, axis=-1)[..., kk - 1 : kk]
            kept = logits >= t
        else:
            kept = np.zeros(logits.shape, bool)
            np.put_along_axis(kept, order, True, axis=-1)
        if mask_after_select:
            logits = logits + bias
        with np.errstate(invalid="ignore"):
            w = np.where(kept, np.exp(logits - logits.max(axis=-1, keepdims=True)), 0)
            out = (w @ vs) / w.sum(axis=-1, keepdims=True)
        if dead == "zero":
            out[np.all(logits == -np.inf, axis=-1)] = 0
        out = out.astype(q.dtype)
        if in_place:
            q[...] = 0
        return out.reshape(-1) if flat_when_empty and out.size == 0 else out

    return attention


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("sparse_topk_attention", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (variant(select="higher_index"), "random_f32", "elements differ"),
    (variant(select="argpartition"), "ties_everywhere_d1", "elements differ"),
    (variant(select="at_least_kth"), "random_f32", "elements differ"),
    (variant(select="lower_index"), "at_least_kth_f32", "elements differ"),
    (variant(k_offset=1), "random_f32", "elements differ"),
    (variant(k_offset=-1), "continuous_f32", "elements differ"),
    (variant(mask_after_select=True), "masked_f32", "elements differ"),
    (variant(use_scale=False), "continuous_f32", "elements differ"),
    (variant(dead="nan"), "fully_masked_rows", "NaN"),
    (variant(keys_seen=256), "multi_block", "elements differ"),
    (variant(compute="float32"), "continuous_f64", "finite values off"),
    (variant(in_place=True), "random_f32", "modified its input(s) ['q']"),
    (variant(flat_when_empty=True), "no_queries", "has shape (0,), expected (2, 3, 0, 8)"),
    (variant(checks=False), "k_above_s", "must raise"),
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
    assert _verdict(variant(keys_seen=256), "random_f32").status == "pass"


def _case(name: str, **params: Any) -> tuple[Case, dict[str, Any]]:
    found = SUITE.find_case(name)
    assert isinstance(found, Case)
    case = Case(name, {**found.params, **params}, found.options, found.kind)
    return case, dict(case_inputs(SUITE, case))


@pytest.mark.parametrize("name", ["continuous_f64", "masked_attend_f64", "random_f64"])
def test_k_equal_to_s_is_dense_attention(name: str) -> None:
    case, inputs = _case(name)
    S = inputs["k"].shape[2]
    case, inputs = _case(name, top_k=S)
    opts = sdpa.AttentionOptions(mask_true_means=case.options.get("mask_true_means", "blocked"))
    q, k, v, mask, scale = (inputs[n] for n in ("q", "k", "v", "mask", "scale"))
    dense = sdpa.scaled_dot_product_attention(q, k, v, mask, scale, opts)
    np.testing.assert_allclose(oracle_output(SUITE, case), dense, rtol=1e-12, atol=1e-12)


def test_k_1_returns_the_value_row_of_the_best_key() -> None:
    case, inputs = _case("continuous_f64", top_k=1)
    q, k, v = inputs["q"], inputs["k"], inputs["v"]
    best = np.argmax(q @ np.swapaxes(k, -1, -2), axis=-1)  # tie-free continuous logits
    np.testing.assert_array_equal(
        oracle_output(SUITE, case), np.take_along_axis(v, best[..., None], axis=2)
    )


def test_the_oracle_matches_torch_topk_on_tie_free_logits() -> None:
    """torch.topk + scatter + softmax (the textbook recipe) on continuous float64 inputs."""
    torch = pytest.importorskip("torch")
    case, inputs = _case("continuous_f64", top_k=7)
    q, k, v = (torch.from_numpy(np.array(inputs[n])) for n in ("q", "k", "v"))
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    vals, idx = scores.topk(7, dim=-1)
    sparse = torch.full_like(scores, float("-inf")).scatter(-1, idx, vals)
    expected = torch.softmax(sparse, dim=-1) @ v
    np.testing.assert_allclose(oracle_output(SUITE, case), expected.numpy(), rtol=1e-12)

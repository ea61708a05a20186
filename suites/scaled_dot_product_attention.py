"""Suite for scaled_dot_product_attention: softmax(Q·Kᵀ·scale + mask)·V per (batch, head)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class AttentionOptions(Options):
    mask_true_means: str = option(
        "blocked",
        "attend",
        meaning="a bool mask's True blocks the pair (nn.MultiheadAttention) or attends (F.sdpa)",
    )
    fully_masked: str = option(
        "zero", "nan", meaning="a row with no key left gives zeros (torch SDPA) or 0/0"
    )
    is_causal: bool = option(False, True, meaning="query i sees keys j <= i (+ offset) only")
    causal_alignment: str = option(
        "top_left",
        "bottom_right",
        meaning="the diagonal: j <= i (torch is_causal) or j <= i + S - L (causal_lower_right)",
    )


# mask: None, or bool / additive float broadcastable to (B, H, L, S); scale: None means
# 1/sqrt(d). The base error case carries a full-rank mask, so every generated mismatch (one
# short on an axis) must be refused.
ARGS = Args(
    Arg("q", ("B", "H", "L", "d")),
    Arg("k", ("B", "H", "S", "d")),
    Arg("v", ("B", "H", "S", "dv")),
    Arg("mask", ("B", "H", "L", "S"), "mask", optional=True, broadcast=True),
    Scalar("scale", optional=True),
    nonempty=("d",),
    same_dtype=("q", "k", "v"),
)


def causal_offset(L: int, S: int, causal_alignment: str) -> int:
    """Query i may attend key j iff j <= i + offset."""
    return S - L if causal_alignment == "bottom_right" else 0


def scaled_dot_product_attention(
    q: Any, k: Any, v: Any, mask: Any, scale: Any, opts: AttentionOptions
) -> Any:
    """Oracle: float64, one (batch, head) at a time, textbook max-subtracted softmax."""
    ARGS.check(q, k, v, mask, scale)
    (B, H, L, d), S, dv = q.shape, k.shape[2], v.shape[3]
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    offset = causal_offset(L, S, opts.causal_alignment)
    causal = np.arange(S)[None, :] <= np.arange(L)[:, None] + offset
    full_mask = None if mask is None else np.broadcast_to(mask, (B, H, L, S))
    out = np.empty((B, H, L, dv))
    for b in range(B):
        for h in range(H):
            logits = (q[b, h] @ k[b, h].T) * scale
            allowed = causal if opts.is_causal else np.ones((L, S), dtype=bool)
            if full_mask is not None and full_mask.dtype == bool:
                allowed = allowed & (full_mask[b, h] == (opts.mask_true_means == "attend"))
            elif full_mask is not None:
                logits = logits + full_mask[b, h]  # additive float mask (-inf blocks)
            logits = np.where(allowed, logits, -np.inf)
            row_max = logits.max(axis=1, keepdims=True, initial=-np.inf)  # NaN propagates
            dead = (row_max == -np.inf)[:, 0]  # no key left: fully masked (or S = 0)
            with np.errstate(invalid="ignore"):
                weights = np.exp(logits - np.where(dead[:, None], 0.0, row_max))
                weights /= weights.sum(axis=1, keepdims=True)
                out[b, h] = weights @ v[b, h]
            out[b, h][dead] = 0.0 if opts.fully_masked == "zero" else np.nan
    return out


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    B, H, L, S, d = (int(p[n]) for n in ("B", "H", "L", "S", "d"))
    dv = int(p.get("dv", d))
    q, k = rng.standard_normal((B, H, L, d)), rng.standard_normal((B, H, S, d))
    v = rng.standard_normal((B, H, S, dv))
    pattern, kind = p.get("pattern", "random"), p.get("mask", "none")
    if pattern == "ties" and S:  # every key equal: all logits of a row tie
        k[:] = k[:, :, :1]
    elif pattern == "nan_query":
        q[0, 0, 0, 0] = np.nan
    elif pattern == "noncontiguous":  # (B, L, H, d) storage seen as (B, H, L, d)
        q = np.ascontiguousarray(q.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)
    dtype = np.dtype(case.dtype)
    q, k, v = q.astype(dtype), k.astype(dtype), v.astype(dtype)
    shape = {
        "full": (B, H, L, S),
        "rows_dead": (B, H, L, S),
        "key_padding": (B, 1, 1, S),
        "2d": (L, S),
        "bad_shape": (L, S + 1),
    }.get(kind, (B, 1, L, S))
    if kind == "none":
        return {"q": q, "k": k, "v": v, "mask": None, "scale": p.get("scale")}
    allowed = rng.random(shape) < p.get("attend_p", 0.7)
    if kind == "rows_dead":
        allowed[..., ::3, :] = False  # every third query row has no key at all
    mask: Any = allowed if case.options.get("mask_true_means") == "attend" else ~allowed
    if kind == "additive":  # float bias, -inf on blocked pairs and on every fourth row
        mask = np.where(allowed, 2.0 * rng.standard_normal(shape), -np.inf)
        mask[..., ::4, :] = -np.inf
        mask = mask.astype(dtype)
    return {"q": q, "k": k, "v": v, "mask": mask, "scale": p.get("scale")}


def cost(case: Case) -> Cost:
    p = case.params
    B, H, L, S, d = (int(p[n]) for n in ("B", "H", "L", "S", "d"))
    dv, b = int(p.get("dv", d)), np.dtype(case.dtype).itemsize
    scores = B * H * L * S
    mask_bytes = {"none": 0, "key_padding": B * S, "2d": L * S}.get(p.get("mask", "none"), scores)
    return Cost(
        flops=2.0 * scores * (d + dv) + 5.0 * scores,
        bytes=b * B * H * (L + S) * (d + dv) + mask_bytes,
        items=scores,
        item_unit="scores",
    )


def tolerance(case: Case) -> Tolerance:
    """Float32 error: the d-long dot gives each logit an absolute error ~ eps·sqrt(d)·Λ, where
    Λ = |scale|·sqrt(d) is the logit spread for unit-normal q, k; a logit error becomes a
    relative error of its weight, so the output moves by ~ eps·sqrt(d)·Λ·|v|. The S-long sums
    (softmax denominator, weights·V) add ~ eps·sqrt(S)·|v|. With sqrt(d) + sqrt(S) <=
    sqrt(2(d + S)) the default 10·sqrt(K)·eps with K = d + S, times max(1, Λ), covers both;
    atol = rtol because outputs are convex combinations of unit-normal v (they can cancel to
    ~0 while the error still scales with |v| ~ 1). "saturated" cases are one-hot: logit gaps
    of thousands make every weight but the argmax's exactly 0, so only K matters."""
    p = case.params
    d, S = int(p["d"]), int(p["S"])
    spread = 1.0 if p.get("scale") is None else abs(float(p["scale"])) * math.sqrt(d)
    spread = 1.0 if p.get("pattern") == "saturated" else max(1.0, spread)
    base = default_tolerance(case.dtype, d + S, 1.0)
    return Tolerance(
        base.rtol * spread,
        base.atol * spread,
        f"{base.reason}; K = d + S, times logit spread max(1, |scale|·sqrt(d)) = {spread:g}",
    )


ATTEND, NAN, CAUSAL = {"mask_true_means": "attend"}, {"fully_masked": "nan"}, {"is_causal": True}
BOTTOM = {"is_causal": True, "causal_alignment": "bottom_right"}
CASES = [
    case("random_f32"),
    case("random_f64", dtype="float64", L=33, S=17),
    # the error base: sizes distinct and >= 3, so a mask one short on any axis cannot broadcast
    case("masked_f32", mask="full", B=3, H=4, S=24, dv=12),
    case("masked_attend_f64", dtype="float64", mask="full", options=ATTEND),
    # several hundred queries and keys: past the first 64-key tile of the online softmax
    # (5 tiles, the last partial); d = 32 keeps the pure-Python loops over their cap
    case("multi_block", B=1, H=2, L=300, S=280, d=32, mask="full"),
    edge("cross_lengths", L=12, S=40),
    edge("more_queries", L=40, S=12),
    edge("single_query", L=1, S=30),
    edge("single_key", L=9, S=1),
    edge("fully_masked_rows", mask="rows_dead"),
    edge("fully_masked_rows_nan", mask="rows_dead", options=NAN),
    edge("fully_masked_attend", mask="rows_dead", dtype="float64", options={**ATTEND, **NAN}),
    edge("saturated_logits_scale_1e4", scale=1e4, pattern="saturated", S=32),
    # float16: QKᵀ·1e4 passes float16's 65504 (inf - inf = NaN in a float16 softmax); torch's
    # F.sdpa works in float32 and rounds once, as every implementation here must
    edge("float16", dtype="float16", mask="full"),
    edge("saturated_logits_scale_1e4_f16", scale=1e4, pattern="saturated", S=32, dtype="float16"),
    edge("head_dim_1", d=1, L=16, S=24),
    edge("dv_differs", d=8, dv=24),
    edge("causal", L=24, S=24, options=CAUSAL),
    edge("causal_top_left_wide", L=10, S=30, options=CAUSAL),
    edge("causal_top_left_tall", L=30, S=10, options=CAUSAL),
    edge("causal_bottom_right_wide", L=10, S=30, options=BOTTOM),
    edge("causal_bottom_right_tall", L=30, S=10, options=BOTTOM),
    edge("causal_bottom_right_tall_nan", L=30, S=10, options={**BOTTOM, **NAN}),
    edge("causal_and_mask", mask="key_padding", options={**CAUSAL, **ATTEND}),
    edge("broadcast_key_padding", mask="key_padding", attend_p=0.5),
    edge("mask_2d", mask="2d", L=14, S=26),
    edge("mask_none_scaled", scale=0.3),
    edge("additive_mask", mask="additive"),
    edge("additive_mask_nan", mask="additive", dtype="float64", options=NAN),
    edge("scale_zero_mean_of_values", scale=0.0, mask="full"),
    edge("tied_logits", pattern="ties", mask="full"),
    edge("nan_query_propagates", pattern="nan_query", dtype="float64"),
    edge("noncontiguous_query", pattern="noncontiguous"),
    # one empty symbol each, the other sizes nonzero and distinct (B=2, H=3, L=20, S=24, d=16,
    # dv=8 where not emptied), so an output of the wrong trailing size is caught
    edge("no_keys", S=0, dv=8),
    edge("no_keys_nan", S=0, dv=8, options=NAN),
    edge("no_queries", L=0, S=24, dv=8),
    edge("empty_batch", B=0, S=24, dv=8),
    edge("no_heads", H=0, S=24, dv=8),
    edge("no_value_dims", S=24, dv=0),
]
ERRORS = [
    error("mask_not_broadcastable", ValueError, r"mask .*broadcast", mask="bad_shape"),
    error("zero_head_dim", ValueError, r"d=0; d cannot be empty", d=0),
]
# The quick profile times bench_tiny and the standard case (harness.budget: 6 s an
# algorithm). The spec's standard, B = H = 8, L = S = 512 (4.4 GFLOP, a quarter to two
# thirds of a second a call on one core here), would take that for one implementation;
# 2 x 4 x 256 x 256 (0.14 GFLOP) is the standard and the spec's size is in "full".
BENCH = {
    "smoke": [bench("bench_tiny", B=1, H=1, L=8, S=8, d=4)],
    "quick": [
        bench("bench_py", B=1, H=2, L=16, S=16, d=8),
        bench("bench_medium", B=2, H=4, L=256, S=256, d=64),
    ],
    "full": [
        bench("bench_spec_standard", B=8, H=8, L=512, S=512, d=64),
        bench("bench_large", B=1, H=8, L=4096, S=4096, d=64),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    # H, L, S >= 1: as nested lists (python backend) an empty axis below the first loses the
    # trailing dims (no_heads, no_queries, no_keys cover them); B = 0 (a plain []) and dv = 0
    # are drawn now and then (hypothesis favours the ends of a range)
    ranges = {"B": (0, 2), "H": (1, 3), "L": (1, 20), "S": (1, 20), "d": (1, 12), "dv": (0, 12)}
    params = st.fixed_dictionaries(
        {
            **{n: st.integers(lo, hi) for n, (lo, hi) in ranges.items()},
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "mask": st.sampled_from(["none", "full", "rows_dead", "key_padding", "2d", "additive"]),
            "scale": st.sampled_from([None, 0.0, 0.25, 2.0]),
            "pattern": st.sampled_from(["random", "ties"]),
        }
    )
    flags = AttentionOptions.strategy(optional=True)
    return fuzz_cases(params, flags)


SUITE = Suite(
    algorithm="scaled_dot_product_attention",
    family="attention-and-layers",
    summary="softmax(q·kᵀ·scale + mask)·v over keys: q (B, H, L, d), k (B, H, S, d), "
    "v (B, H, S, d_v) -> (B, H, L, d_v).",
    conventions=(
        "scaled_dot_product_attention(q, k, v, mask, scale, opts). q, k, v: 4-D, one floating "
        "dtype, equal (B, H), k and v equal S, d >= 1. scale: a real number, or None for "
        "1/sqrt(d). mask: None, bool or float, broadcastable to (B, H, L, S) (e.g. (B, 1, 1, S) "
        "key padding or (L, S)); a bool mask keeps a pair where mask == (mask_true_means == "
        "'attend'), default 'blocked' (nn.MultiheadAttention; F.sdpa takes 'attend'); a float "
        "mask is added to the logits. is_causal lets query i see keys j <= i ('top_left', "
        "torch is_causal) or j <= i + S - L ('bottom_right', torch causal_lower_right); it "
        "combines with mask. A row with no key left (all blocked, all -inf, or S = 0) gives "
        "zeros (fully_masked='zero', what torch 2.13 CPU F.sdpa returns for bool and -inf "
        "masks, verified) or NaN ('nan'). The softmax subtracts the row max, so logits of 1e5 "
        "stay finite in float32; float16 inputs are worked in float32 (QKᵀ at a scale of 1e4 "
        "overflows float16) and rounded once. NaN in q propagates to its row; NaN in k or v at "
        "blocked pairs is unspecified. Output: (B, H, L, d_v) in the input dtype. Raises "
        "ValueError for a wrong ndim, mismatched (B, H), d or S, d = 0, a mask not "
        "broadcastable, a NaN scale; TypeError for integer q/k/v, q/k/v of different dtypes, an "
        "integer mask, a non-number scale."
    ),
    args=ARGS,
    options=AttentionOptions,
    make_inputs=make_inputs,
    oracle=scaled_dot_product_attention,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 11, "dtype": "float32", "B": 2, "H": 3, "L": 20, "S": 20, "d": 16},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_medium",
    error_base="masked_f32",
    multi_block={"L": 300, "S": 280},
    fuzz=fuzz_strategy,
    reference="torch.nn.functional.scaled_dot_product_attention (torch 2.13 CPU, dropout_p=0)",
)

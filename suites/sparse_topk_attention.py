"""Suite for sparse_topk_attention: each query keeps its k largest scaled logits, the rest are
set to -inf, then softmax over keys and the weighted sum of V."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Args, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance
from suites import scaled_dot_product_attention as sdpa


@dataclass(frozen=True)
class SparseOptions(Options):
    ties: str = option(
        "lower_index",
        "at_least_kth",
        meaning="exactly k kept, the lower key index first among logits equal to the k-th "
        "(a stable sort) / every logit >= the k-th largest kept",
    )
    mask_true_means: str = option(
        "blocked",
        "attend",
        meaning="a bool mask's True blocks the pair (nn.MultiheadAttention) or attends (F.sdpa)",
    )


# q, k, v, mask and scale exactly as scaled_dot_product_attention declares them, then the
# number of kept keys per query. S cannot be empty: 1 <= top_k <= S.
ARGS = Args(
    *sdpa.ARGS.decls,
    Scalar("top_k", "int", low=1),
    nonempty=("d", "S"),
    same_dtype=("q", "k", "v"),
)


def check(q: Any, k: Any, v: Any, mask: Any, scale: Any, top_k: int) -> Any:
    """The one-line input check of every implementation; returns the result dtype."""
    dtype = ARGS.check(q, k, v, mask, scale, top_k)
    if top_k > k.shape[2]:
        raise ValueError(f"top_k must be <= S={k.shape[2]}, got top_k={top_k}")
    return dtype


def sparse_topk_attention(
    q: Any, k: Any, v: Any, mask: Any, scale: Any, top_k: int, opts: SparseOptions
) -> Any:
    """Oracle: float64, one query row at a time: logits (masked pairs -inf), a stable
    descending sort picks the kept keys, a max-subtracted softmax over them, times V."""
    check(q, k, v, mask, scale, top_k)
    (B, H, L, d), S, dv = q.shape, k.shape[2], v.shape[3]
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    full = None if mask is None else np.broadcast_to(mask, (B, H, L, S))
    out = np.zeros((B, H, L, dv))
    for b in range(B):
        for h in range(H):
            logits = (q[b, h] @ k[b, h].T) * scale
            if full is not None and full.dtype == bool:
                keep = full[b, h] == (opts.mask_true_means == "attend")
                logits = np.where(keep, logits, -np.inf)
            elif full is not None:
                logits = logits + full[b, h]
            for i, row in enumerate(logits):
                if np.isnan(row).any():
                    out[b, h, i] = np.nan
                    continue
                if row.max() == -np.inf:  # no key left: zeros, as torch SDPA
                    continue
                order = np.argsort(-row, kind="stable")  # descending, lower index first
                kept = np.zeros(S, dtype=bool)
                if opts.ties == "lower_index":
                    kept[order[:top_k]] = True
                else:
                    kept = row >= row[order[top_k - 1]]
                weights = np.where(kept, np.exp(row - row.max()), 0.0)
                out[b, h, i] = weights @ v[b, h] / weights.sum()
    return out


# q and k integer-valued in [-Q, Q] (the default): every logit is an exact integer in any
# summation order and precision, times a power-of-two scale (d = 1, 4, 16, 64 at the default
# 1/sqrt(d), or explicit), so ties are frequent and the kept set is the same for every
# correct implementation; "continuous" cases use unit normals at sizes with no near-tie.
Q = 2


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    B, H, L, S, d = (int(p[n]) for n in ("B", "H", "L", "S", "d"))
    dv, pattern = int(p.get("dv", d)), p.get("pattern", "integer")
    if pattern == "continuous":
        q, k = rng.standard_normal((B, H, L, d)), rng.standard_normal((B, H, S, d))
    else:
        q = rng.integers(-Q, Q + 1, (B, H, L, d)).astype(np.float64)
        k = rng.integers(-Q, Q + 1, (B, H, S, d)).astype(np.float64)
    v = rng.standard_normal((B, H, S, dv))
    if pattern == "nan_query" and q.size:
        q[0, 0, 0, 0] = np.nan
    elif pattern == "noncontiguous":  # (B, L, H, d) storage seen as (B, H, L, d)
        q = np.ascontiguousarray(q.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)
    dtype = np.dtype(case.dtype)
    kind = p.get("mask", "none")
    shape = {"key_padding": (B, 1, 1, S), "bad_shape": (L, S + 1)}.get(kind, (B, H, L, S))
    inputs: dict[str, Any] = {"q": q.astype(dtype), "k": k.astype(dtype), "v": v.astype(dtype)}
    mask: Any = None
    if kind != "none":
        allowed = rng.random(shape) < p.get("attend_p", 0.6)
        if kind == "rows_dead":
            allowed[..., ::3, :] = False  # every third query row has no key at all
        mask = allowed if case.options.get("mask_true_means") == "attend" else ~allowed
        if kind == "additive":  # integer biases (exact sums), -inf on blocked pairs
            mask = np.where(allowed, rng.integers(-2, 3, shape), -np.inf).astype(dtype)
    return {**inputs, "mask": mask, "scale": p.get("scale"), "top_k": int(p["top_k"])}


def _spread(case: Case) -> float:
    """The logits' standard deviation: sqrt(d)·|scale| times Var(q·k entry)."""
    p = case.params
    d = int(p["d"])
    scale = 1.0 / math.sqrt(d) if p.get("scale") is None else abs(float(p["scale"]))
    unit = 1.0 if p.get("pattern") == "continuous" else Q * (Q + 1) / 3
    return max(1.0, math.sqrt(d) * scale * unit)


def cost(case: Case) -> Cost:
    """Scores (2·d a pair), a top-k selection (~log2 k comparisons a score), a softmax and
    the weighted sum over the k kept keys; traffic as fused attention."""
    p = case.params
    B, H, L, S, d = (int(p[n]) for n in ("B", "H", "L", "S", "d"))
    dv, kk, b = int(p.get("dv", d)), int(p["top_k"]), np.dtype(case.dtype).itemsize
    scores = B * H * L * S
    flops = 2.0 * scores * d + scores * max(1.0, math.log2(max(kk, 2))) + 2.0 * B * H * L * kk * dv
    return Cost(flops, b * B * H * (L + S) * (d + dv), scores, "scores")


def tolerance(case: Case) -> Tolerance:
    """Float32: integer q, k make every logit exact up to the scale's rounding, so only the
    softmax and the k-long weighted sums round; continuous logits carry eps·sqrt(d)·Λ. A
    logit error is a relative error of its weight, so out (|v| ~ 1) moves by eps·sqrt(d + k)
    times the logit spread Λ. Default 10·sqrt(K)·eps with K = d + k, times max(1, Λ);
    atol = rtol (outputs are convex combinations of unit-normal v that can cancel)."""
    base = default_tolerance(case.dtype, int(case.params["d"]) + int(case.params["top_k"]), 1.0)
    spread = _spread(case)
    return Tolerance(
        base.rtol * spread, base.atol * spread, f"{base.reason}; K = d + k, x{spread:.3g}"
    )


ATLEAST, ATTEND = {"ties": "at_least_kth"}, {"mask_true_means": "attend"}
CASES = [
    case("random_f32"),
    case("random_f64", dtype="float64", L=33, S=17, top_k=6),
    case("at_least_kth_f32", options=ATLEAST),
    case("at_least_kth_f64", dtype="float64", d=4, top_k=7, options=ATLEAST),
    # the error base: sizes distinct and >= 3, a full-rank mask
    case("masked_f32", mask="full", B=3, H=4, S=24, dv=12),
    case("masked_attend_f64", dtype="float64", mask="full", options={**ATTEND, **ATLEAST}),
    case("continuous_f32", pattern="continuous", d=12, scale=0.5),
    case("continuous_f64", pattern="continuous", d=12, dtype="float64"),
    # 300 keys: past a 256-wide tile of keys (a per-tile top-k must merge the tiles)
    case("multi_block", B=1, H=2, L=16, S=300, top_k=40),
    case("multi_block_at_least", B=1, H=2, L=16, S=300, top_k=40, options=ATLEAST),
    edge("k_1", top_k=1),
    edge("k_1_at_least", top_k=1, options=ATLEAST),
    edge("k_equals_s", top_k=20, S=20),
    edge("ties_everywhere_d1", d=1, top_k=3),
    edge("ties_everywhere_d1_at_least", d=1, top_k=3, options=ATLEAST),
    edge("several_heads", H=6, L=9, S=13, top_k=4),
    edge("single_query", L=1, S=30),
    edge("single_key", L=9, S=1, top_k=1),
    edge("dv_differs", d=4, dv=24),
    edge("additive_neg_inf", mask="additive", top_k=12),
    edge("additive_neg_inf_at_least", mask="additive", top_k=12, options=ATLEAST),
    edge("fewer_finite_than_k", mask="full", attend_p=0.15, top_k=10),
    edge("fully_masked_rows", mask="rows_dead"),
    edge("key_padding", mask="key_padding", options=ATTEND),
    edge("scale_zero_uniform_over_kept", scale=0.0, top_k=7),
    edge("nan_query_propagates", pattern="nan_query", dtype="float64"),
    edge("noncontiguous_query", pattern="noncontiguous"),
    # one empty symbol each, the others nonzero and distinct (B=2, H=3, L=20, S=24, d=16,
    # dv=8 where not emptied)
    edge("no_queries", L=0, S=24, dv=8),
    edge("empty_batch", B=0, S=24, dv=8),
    edge("no_heads", H=0, S=24, dv=8),
    edge("no_value_dims", S=24, dv=0),
]
ERRORS = [
    error("k_above_s", ValueError, r"top_k must be <= S=24", top_k=25, S=24),
    error("no_keys", ValueError, r"S=0; S cannot be empty", S=0),
    error("mask_not_broadcastable", ValueError, r"mask .*broadcast", mask="bad_shape"),
]
# The spec's standard, B = H = 8, L = S = 1024, d = 64, k = 64 (17 GFLOP of scores alone),
# takes seconds a call on one core; the quick profile's standard is B = 2, H = 4,
# L = S = 256, k = 16 (0.07 GFLOP of scores) and the spec's sizes are in "full".
BENCH = {
    "smoke": [bench("bench_tiny", B=1, H=1, L=8, S=8, d=4, top_k=2)],
    "quick": [bench("bench_2x4x256x256_k16", B=2, H=4, L=256, S=256, d=64, top_k=16)],
    "full": [
        bench("bench_spec_standard", B=8, H=8, L=1024, S=1024, d=64, top_k=64),
        bench("bench_large", B=1, H=8, L=4096, S=4096, d=64, top_k=256),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    ranges = {"B": (0, 2), "H": (1, 3), "L": (1, 16), "S": (1, 16), "dv": (0, 8)}
    params = st.fixed_dictionaries(
        {
            **{n: st.integers(lo, hi) for n, (lo, hi) in ranges.items()},
            "d": st.sampled_from([1, 4, 16]),
            "k_fraction": st.floats(0.0, 1.0),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "mask": st.sampled_from(["none", "full", "rows_dead", "key_padding", "additive"]),
            "scale": st.sampled_from([None, 0.0, 0.25, 2.0]),
        }
    )

    def build(p: dict[str, Any], o: dict[str, Any]) -> Case:
        top_k = 1 + min(int(p["S"]) - 1, int(p.pop("k_fraction") * p["S"]))
        return Case("fuzz", {**p, "top_k": top_k}, o, "fuzz")

    return st.builds(build, params, SparseOptions.strategy(optional=True))


SUITE = Suite(
    algorithm="sparse_topk_attention",
    family="attention-and-layers",
    summary="Top-k sparse attention: per query the k largest scaled logits kept, the rest "
    "-inf, softmax over keys, times V. q (B, H, L, d), k (B, H, S, d), v (B, H, S, d_v).",
    conventions=(
        "sparse_topk_attention(q, k, v, mask, scale, top_k, opts). q, k, v, mask and scale as "
        "in scaled_dot_product_attention (scale None = 1/sqrt(d); a bool mask keeps a pair "
        "where mask == (mask_true_means == 'attend'); a float mask is added). Blocked pairs "
        "are -inf before the selection. Per query, ties='lower_index' keeps exactly top_k "
        "keys, the largest logits, the lower key index first among logits equal to the k-th "
        "(a stable descending sort); ties='at_least_kth' keeps every key whose logit is >= "
        "the k-th largest. Softmax (max-subtracted) over the kept keys, then the weighted sum "
        "of v. A kept -inf logit weighs 0; a row with no finite logit gives zeros (torch "
        "SDPA); NaN in a row's logits makes its output NaN. k = S is dense attention, k = 1 "
        "the v row of the best key. Output (B, H, L, d_v) in the input dtype. ValueError: "
        "shapes as in SDPA, S = 0, top_k < 1 or > S; TypeError: a non-integer top_k, integer "
        "or mixed-dtype q/k/v, an integer mask."
    ),
    args=ARGS,
    options=SparseOptions,
    make_inputs=make_inputs,
    oracle=sparse_topk_attention,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 7, "dtype": "float32", "B": 2, "H": 3, "L": 20, "S": 24, "d": 16, "top_k": 5},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_2x4x256x256_k16",
    error_base="masked_f32",
    multi_block={"S": 300},
    fuzz=fuzz_strategy,
    reference="torch: torch.sort(stable=True) (lower_index) or torch.topk's k-th value "
    "(at_least_kth), then -inf outside the kept keys, torch.softmax and a matmul with v",
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
)

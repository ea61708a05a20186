"""Suite for scaled_dot_product_attention: softmax(Q·Kᵀ·scale + mask)·V per (batch, head)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from harness.compare import Close, default_tolerance
from harness.spec import Case, Cost, ErrorCase, Inputs, Suite, Tolerance

OPTIONS = {
    "mask_true_means": ("blocked", "attend"),  # nn.MultiheadAttention / F.sdpa polarity
    "fully_masked": ("zero", "nan"),  # a row with no key left: zeros (torch SDPA) or 0/0
    "is_causal": (False, True),
    "causal_alignment": ("top_left", "bottom_right"),  # query i sees keys j <= i (+ S - L)
}
Shape = tuple[int, ...]


def validate_options(mask_true_means: str, fully_masked: str, causal_alignment: str) -> None:
    for name, value in (
        ("mask_true_means", mask_true_means),
        ("fully_masked", fully_masked),
        ("causal_alignment", causal_alignment),
    ):
        if value not in OPTIONS[name]:
            raise ValueError(f"{name} must be one of {OPTIONS[name]}, got {value!r}")


def check_attention(
    shapes: dict[str, Shape], dtypes: dict[str, str | None], scale: Any
) -> tuple[int, int, int, int, int, int]:
    """The input contract in plain Python -> (B, H, L, S, d, d_v). dtypes: 'float32', 'bool',
    'int64'..., None where unknown; shapes/dtypes have keys q, k, v (+ mask when given)."""
    for name in ("q", "k", "v"):
        if len(shapes[name]) != 4:
            raise ValueError(
                f"{name} must be 4-D (B, H, {'L' if name == 'q' else 'S'}, d), "
                f"got shape {shapes[name]}"
            )
    kinds = {dtypes[n] for n in ("q", "k", "v") if dtypes[n] is not None}
    if len(kinds) > 1 or any(not t.startswith(("float", "bfloat")) for t in kinds):
        raise TypeError(f"q, k and v must share one floating dtype, got {dtypes}")
    (B, H, L, d), (_, _, S, dk), (_, _, Sv, dv) = shapes["q"], shapes["k"], shapes["v"]
    if shapes["k"][:2] != (B, H) or shapes["v"][:2] != (B, H):
        raise ValueError(
            f"k and v must have q's (B, H) = {(B, H)}, got {shapes['k'][:2]} and {shapes['v'][:2]}"
        )
    if dk != d:
        raise ValueError(f"k has head dim d={dk} but q has d={d}")
    if Sv != S:
        raise ValueError(f"v has S={Sv} keys but k has S={S}")
    if d < 1:
        raise ValueError("q and k need a head dim d >= 1 (the default scale is 1/sqrt(d))")
    if "mask" in shapes:
        kind = dtypes["mask"]
        if kind is not None and kind != "bool" and not kind.startswith(("float", "bfloat")):
            raise TypeError(f"mask must be bool or floating (additive), got dtype {kind}")
        ms, target = shapes["mask"], (B, H, L, S)
        if len(ms) > 4 or any(
            m not in (1, t) for m, t in zip(ms[::-1], target[::-1], strict=False)
        ):
            raise ValueError(f"mask of shape {ms} is not broadcastable to (B, H, L, S) = {target}")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int | float)):
        raise TypeError(f"scale must be a float or None, got {type(scale).__name__}")
    return B, H, L, S, d, dv


def validate_attention(q: Any, k: Any, v: Any, mask: Any, scale: Any) -> tuple[int, ...]:
    """check_attention for any array type with .shape and .dtype (NumPy, torch, CuPy)."""
    arrays = {"q": q, "k": k, "v": v, **({} if mask is None else {"mask": mask})}
    for name, a in arrays.items():
        if not hasattr(a, "shape") or not hasattr(a, "dtype"):
            raise TypeError(f"{name} must be an array, got {type(a).__name__}")
    return check_attention(
        {n: tuple(a.shape) for n, a in arrays.items()},
        {n: str(a.dtype).removeprefix("torch.") for n, a in arrays.items()},
        scale,
    )


def causal_offset(L: int, S: int, causal_alignment: str) -> int:
    """Query i may attend key j iff j <= i + offset."""
    return S - L if causal_alignment == "bottom_right" else 0


def scaled_dot_product_attention(
    q: Any,
    k: Any,
    v: Any,
    mask: Any,
    scale: Any,
    *,
    mask_true_means: str = "blocked",
    fully_masked: str = "zero",
    is_causal: bool = False,
    causal_alignment: str = "top_left",
) -> Any:
    """Oracle: float64, one (batch, head) at a time, textbook max-subtracted softmax."""
    validate_options(mask_true_means, fully_masked, causal_alignment)
    B, H, L, S, d, dv = validate_attention(q, k, v, mask, scale)
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    offset = causal_offset(L, S, causal_alignment)
    causal = np.arange(S)[None, :] <= np.arange(L)[:, None] + offset
    full_mask = None if mask is None else np.broadcast_to(mask, (B, H, L, S))
    out = np.empty((B, H, L, dv))
    for b in range(B):
        for h in range(H):
            logits = (q[b, h] @ k[b, h].T) * scale
            allowed = causal if is_causal else np.ones((L, S), dtype=bool)
            if full_mask is not None and full_mask.dtype == bool:
                allowed = allowed & (full_mask[b, h] == (mask_true_means == "attend"))
            elif full_mask is not None:
                logits = logits + full_mask[b, h]  # additive float mask (-inf blocks)
            logits = np.where(allowed, logits, -np.inf)
            row_max = logits.max(axis=1, keepdims=True, initial=-np.inf)  # NaN propagates
            dead = (row_max == -np.inf)[:, 0]  # no key left: fully masked (or S = 0)
            with np.errstate(invalid="ignore"):
                weights = np.exp(logits - np.where(dead[:, None], 0.0, row_max))
                weights /= weights.sum(axis=1, keepdims=True)
                out[b, h] = weights @ v[b, h]
            out[b, h][dead] = 0.0 if fully_masked == "zero" else np.nan
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
    elif pattern == "q_3d":
        q = q[0]
    elif pattern == "k_short_d":
        k = k[..., :-1]
    elif pattern == "v_short_s":
        v = v[:, :, :-1]
    elif pattern == "k_other_heads":
        k = k[:, :1]
    dtype = np.int64 if pattern == "int_query" else np.dtype(case.dtype)
    q, k, v = q.astype(dtype), k.astype(dtype), v.astype(np.dtype(case.dtype))
    shape = {
        "full": (B, H, L, S),
        "rows_dead": (B, H, L, S),
        "key_padding": (B, 1, 1, S),
        "2d": (L, S),
        "int": (L, S),
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
        mask = mask.astype(np.dtype(case.dtype))
    elif kind == "int":
        mask = allowed.astype(np.int64)
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


def _case(
    name: str, kind: str = "regular", options: dict[str, Any] | None = None, **params: Any
) -> Case:
    params = {"seed": 11, "dtype": "float32", "B": 2, "H": 3, "L": 20, "S": 20, "d": 16, **params}
    return Case(name, params, options or {}, kind)


def _err(name: str, exc: type[BaseException], match: str, **params: Any) -> ErrorCase:
    return ErrorCase(name, _case(name, **params).params, (exc,), match)


ATTEND, NAN, CAUSAL = {"mask_true_means": "attend"}, {"fully_masked": "nan"}, {"is_causal": True}
BOTTOM = {"is_causal": True, "causal_alignment": "bottom_right"}
CASES = [
    _case("random_f32"),
    _case("random_f64", dtype="float64", L=33, S=17),
    _case("masked_f32", mask="full"),
    _case("masked_attend_f64", dtype="float64", mask="full", options=ATTEND),
    _case("cross_lengths", "edge", L=12, S=40),
    _case("more_queries", "edge", L=40, S=12),
    _case("single_query", "edge", L=1, S=30),
    _case("single_key", "edge", L=9, S=1),
    _case("fully_masked_rows", "edge", mask="rows_dead"),
    _case("fully_masked_rows_nan", "edge", mask="rows_dead", options=NAN),
    _case(
        "fully_masked_attend", "edge", mask="rows_dead", dtype="float64", options={**ATTEND, **NAN}
    ),
    _case("saturated_logits_scale_1e4", "edge", scale=1e4, pattern="saturated", S=32),
    _case("head_dim_1", "edge", d=1, L=16, S=24),
    _case("dv_differs", "edge", d=8, dv=24),
    _case("causal", "edge", L=24, S=24, options=CAUSAL),
    _case("causal_top_left_wide", "edge", L=10, S=30, options=CAUSAL),
    _case("causal_top_left_tall", "edge", L=30, S=10, options=CAUSAL),
    _case("causal_bottom_right_wide", "edge", L=10, S=30, options=BOTTOM),
    _case("causal_bottom_right_tall", "edge", L=30, S=10, options=BOTTOM),
    _case("causal_bottom_right_tall_nan", "edge", L=30, S=10, options={**BOTTOM, **NAN}),
    _case("causal_and_mask", "edge", mask="key_padding", options={**CAUSAL, **ATTEND}),
    _case("broadcast_key_padding", "edge", mask="key_padding", attend_p=0.5),
    _case("mask_2d", "edge", mask="2d", L=14, S=26),
    _case("mask_none_scaled", "edge", scale=0.3),
    _case("additive_mask", "edge", mask="additive"),
    _case("additive_mask_nan", "edge", mask="additive", dtype="float64", options=NAN),
    _case("scale_zero_mean_of_values", "edge", scale=0.0, mask="full"),
    _case("tied_logits", "edge", pattern="ties", mask="full"),
    _case("nan_query_propagates", "edge", pattern="nan_query", dtype="float64"),
    _case("noncontiguous_query", "edge", pattern="noncontiguous"),
    _case("no_keys", "edge", S=0),
    _case("no_keys_nan", "edge", S=0, options=NAN),
    _case("no_queries", "edge", L=0),
    _case("empty_batch", "edge", B=0),
]
ERRORS = [
    _err("mask_not_broadcastable", ValueError, r"mask.*not broadcastable", mask="bad_shape"),
    _err("integer_mask", TypeError, r"mask must be bool or floating", mask="int"),
    _err("wrong_ndim", ValueError, r"q must be 4-D", pattern="q_3d"),
    _err("mismatched_head_dim", ValueError, r"k has head dim", pattern="k_short_d"),
    _err("mismatched_keys_values", ValueError, r"v has S=", pattern="v_short_s"),
    _err(
        "mismatched_heads", ValueError, r"k and v must have q's \(B, H\)", pattern="k_other_heads"
    ),
    _err(
        "integer_query", TypeError, r"q, k and v must share one floating dtype", pattern="int_query"
    ),
    _err("zero_head_dim", ValueError, r"head dim d >= 1", d=0),
]
BENCH = {
    "smoke": [_case("bench_tiny", "bench", B=1, H=1, L=8, S=8, d=4)],
    "quick": [
        _case("bench_py", "bench", B=1, H=2, L=16, S=16, d=8),
        _case("bench_medium", "bench", B=2, H=4, L=256, S=256, d=64),
        _case("bench_standard", "bench", B=8, H=8, L=512, S=512, d=64),
    ],
    "full": [_case("bench_large", "bench", B=1, H=8, L=4096, S=4096, d=64)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    # B, L, S = 0 live in named edge cases: as nested lists (python backend) an empty array
    # loses its trailing dims, so only d_v = 0 is drawn here
    ranges = {"B": (1, 2), "H": (1, 3), "L": (1, 20), "S": (1, 20), "d": (1, 12), "dv": (0, 12)}
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
    flags = st.fixed_dictionaries({}, optional={n: st.sampled_from(v) for n, v in OPTIONS.items()})
    return st.builds(lambda p, o: _case("fuzz", "fuzz", o, **p), params, flags)


SUITE = Suite(
    algorithm="scaled_dot_product_attention",
    family="attention-and-layers",
    summary="softmax(q·kᵀ·scale + mask)·v over keys: q (B, H, L, d), k (B, H, S, d), "
    "v (B, H, S, d_v) -> (B, H, L, d_v).",
    conventions=(
        "scaled_dot_product_attention(q, k, v, mask, scale, *, mask_true_means, fully_masked, "
        "is_causal, causal_alignment). q, k, v: 4-D, one floating dtype, equal (B, H), k and v "
        "equal S, d >= 1. scale: float, or None for 1/sqrt(d). mask: None, bool or float, "
        "broadcastable to (B, H, L, S) (e.g. (B, 1, 1, S) key padding or (L, S)); a bool mask "
        "keeps a pair where mask == (mask_true_means == 'attend'), default 'blocked' "
        "(nn.MultiheadAttention; F.sdpa takes 'attend'); a float mask is added to the logits. "
        "is_causal lets query i see keys j <= i ('top_left', torch is_causal) or j <= i + S - L "
        "('bottom_right', torch causal_lower_right); it combines with mask. A row with no key "
        "left (all blocked, all -inf, or S = 0) gives zeros (fully_masked='zero', what torch "
        "2.13 CPU F.sdpa returns for bool and -inf masks, verified) or NaN ('nan'). The softmax "
        "subtracts the row max, so logits of 1e5 stay finite in float32. NaN in q propagates "
        "to its row; NaN in k or v at blocked pairs is unspecified. Output: (B, H, L, d_v) in "
        "the input dtype. Raises ValueError for wrong ndim, mismatched (B, H), d or S, d = 0, a "
        "mask not broadcastable; TypeError for integer q/k/v, integer mask, non-float scale."
    ),
    make_inputs=make_inputs,
    oracle=scaled_dot_product_attention,
    compare=Close(override=tolerance),
    cost=cost,
    cases=CASES,
    error_cases=ERRORS,
    bench=BENCH,
    standard="bench_standard",
    options=OPTIONS,
    fuzz=fuzz_strategy,
    reference="torch.nn.functional.scaled_dot_product_attention (torch 2.13 CPU, dropout_p=0)",
)

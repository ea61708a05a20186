"""Suite for multi_head_attention: nn.MultiheadAttention's forward with its weights as inputs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Outputs, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class MhaOptions(Options):
    batch_first: bool = option(
        True, False, meaning="query/key/value are (B, L, E) (True) or (L, B, E) (torch's default)"
    )
    average_attn_weights: bool = option(
        True, False, meaning="weights averaged over heads (B, L, S) or per head (B, H, L, S)"
    )
    mask_true_means: str = option(
        "blocked",
        "attend",
        meaning="a bool key_padding_mask True ignores the key (nn.MultiheadAttention) or keeps it",
    )
    fully_masked: str = option(
        "nan",
        "zero",
        meaning="a query with no key left: NaN output and weights (nn.MultiheadAttention) "
        "or zero weights (output = out_proj_bias)",
    )


# The layout is declared batch-first; with batch_first=False query, key and value are checked
# after swapping their first two axes (see check). in_proj_weight stacks W_q, W_k, W_v: F = 3E.
ARGS = Args(
    Arg("query", ("B", "L", "E")),
    Arg("key", ("B", "S", "E")),
    Arg("value", ("B", "S", "E")),
    Arg("key_padding_mask", ("B", "S"), "mask", optional=True),
    Arg("in_proj_weight", ("F", "E")),
    Arg("in_proj_bias", ("F",), optional=True),
    Arg("out_proj_weight", ("E", "E")),
    Arg("out_proj_bias", ("E",), optional=True),
    Scalar("num_heads", "int", low=1),
    nonempty=("E", "F"),
    same_dtype=(
        "query",
        "key",
        "value",
        "in_proj_weight",
        "in_proj_bias",
        "out_proj_weight",
        "out_proj_bias",
    ),
)


def _batch_first_view(x: Any) -> Any:
    """(L, B, E) seen as (B, L, E) without a copy (anything not 3-D is left to ARGS)."""
    if getattr(x, "ndim", 0) != 3:
        return x
    from array_api_compat import array_namespace

    return array_namespace(x).permute_dims(x, (1, 0, 2))


def check(query: Any, key: Any, value: Any, key_padding_mask: Any, in_proj_weight: Any,
    in_proj_bias: Any, out_proj_weight: Any, out_proj_bias: Any, num_heads: int,
    opts: MhaOptions) -> Any:  # fmt: skip
    """The one-line input check of every implementation; returns the result dtype."""
    if not opts.batch_first:
        query, key, value = (_batch_first_view(x) for x in (query, key, value))
    dtype = ARGS.check(query, key, value, key_padding_mask, in_proj_weight, in_proj_bias,
                       out_proj_weight, out_proj_bias, num_heads)  # fmt: skip
    E = int(query.shape[2])
    if in_proj_weight.shape[0] != 3 * E:
        raise ValueError(
            f"in_proj_weight must have 3*E = {3 * E} rows (W_q, W_k, W_v stacked), "
            f"got {in_proj_weight.shape[0]}"
        )
    if E % int(num_heads):
        raise ValueError(f"embed_dim E={E} must be divisible by num_heads={num_heads}")
    return dtype


def multi_head_attention(query: Any, key: Any, value: Any, key_padding_mask: Any,
    in_proj_weight: Any, in_proj_bias: Any, out_proj_weight: Any, out_proj_bias: Any,
    num_heads: int, opts: MhaOptions) -> tuple[Any, Any]:  # fmt: skip
    """Oracle: float64, one (batch, head) at a time: project, split heads as contiguous d_h
    blocks, max-subtracted softmax over keys, weights·V, concatenate, output projection."""
    check(query, key, value, key_padding_mask, in_proj_weight, in_proj_bias, out_proj_weight,
          out_proj_bias, num_heads, opts)  # fmt: skip
    x, y, z = (np.asarray(a, dtype=np.float64) for a in (query, key, value))
    if not opts.batch_first:
        x, y, z = (a.transpose(1, 0, 2) for a in (x, y, z))
    (B, L, E), S, H = x.shape, y.shape[1], int(num_heads)
    dh = E // H
    w_in, w_out = np.asarray(in_proj_weight, np.float64), np.asarray(out_proj_weight, np.float64)
    b_in = np.zeros(3 * E) if in_proj_bias is None else np.asarray(in_proj_bias, np.float64)
    b_out = np.zeros(E) if out_proj_bias is None else np.asarray(out_proj_bias, np.float64)
    bias = np.zeros((B, S))  # the key padding mask as 0 / -inf (or its float values)
    if key_padding_mask is not None:
        m = np.asarray(key_padding_mask)
        if m.dtype == bool:
            ignored = m if opts.mask_true_means == "blocked" else ~m
            bias = np.where(ignored, -np.inf, 0.0)
        else:
            bias = m.astype(np.float64)
    weights = np.empty((B, H, L, S))
    context = np.empty((B, L, E))
    out = np.empty((B, L, E))
    for b in range(B):
        q = x[b] @ w_in[:E].T + b_in[:E]
        k = y[b] @ w_in[E : 2 * E].T + b_in[E : 2 * E]
        v = z[b] @ w_in[2 * E :].T + b_in[2 * E :]
        for h in range(H):
            cols = slice(h * dh, (h + 1) * dh)
            logits = q[:, cols] @ k[:, cols].T / math.sqrt(dh) + bias[b]
            top = logits.max(axis=1, keepdims=True, initial=-np.inf)
            dead = (top == -np.inf)[:, 0]  # every key ignored (or S = 0)
            with np.errstate(invalid="ignore"):
                w = np.exp(logits - np.where(dead[:, None], 0.0, top))
                w /= w.sum(axis=1, keepdims=True)
            w[dead] = np.nan if opts.fully_masked == "nan" else 0.0
            weights[b, h] = w
            ctx = w @ v[:, cols]  # S = 0: zeros, fixed below like any dead row
            ctx[dead] = np.nan if opts.fully_masked == "nan" else 0.0
            context[b, :, cols] = ctx
        out[b] = context[b] @ w_out.T + b_out
    if opts.average_attn_weights:
        weights = weights.mean(axis=1)
    return (out if opts.batch_first else out.transpose(1, 0, 2)), weights


WEIGHT_STD, BIAS = 1.0, 0.5  # weights ~ N(0, WEIGHT_STD²/E); biases uniform in ±BIAS


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    B, L, S, E = (int(p[n]) for n in ("B", "L", "S", "E"))
    dtype, opts = np.dtype(case.dtype), MhaOptions(**case.options)
    query = rng.standard_normal((B, L, E))
    if p.get("self"):  # self-attention: one sequence is query, key and value (L = S)
        key = value = query
    else:
        key, value = rng.standard_normal((B, S, E)), rng.standard_normal((B, S, E))
    if p.get("pattern") == "nan_query" and query.size:
        query = query.copy()
        query[0, 0, 0] = np.nan
    # weights ~ N(0, 1/E): projections, and logits for unit-normal inputs, are ~ unit-sized
    std = WEIGHT_STD / math.sqrt(E)
    w_in, w_out = rng.standard_normal((3 * E, E)) * std, rng.standard_normal((E, E)) * std
    b_in, b_out = rng.uniform(-BIAS, BIAS, 3 * E), rng.uniform(-BIAS, BIAS, E)
    kind, biases = p.get("mask", "none"), p.get("bias", "both")
    mask: Any = None
    if kind != "none":
        kept = rng.random((B, S)) < 0.7
        kept[:, :1] = True  # every batch element keeps a key...
        if kind == "dead_rows":
            kept[::2] = False  # ...except every other one, which keeps none
        mask = ~kept if opts.mask_true_means == "blocked" else kept
        if kind == "float":  # additive: -inf on ignored keys, a bias on the others
            mask = np.where(kept, rng.uniform(-2.0, 2.0, (B, S)), -np.inf).astype(dtype)
    if not opts.batch_first:
        query, key, value = (a.transpose(1, 0, 2) for a in (query, key, value))
    return {
        "query": np.ascontiguousarray(query, dtype=dtype),
        "key": np.ascontiguousarray(key, dtype=dtype),
        "value": np.ascontiguousarray(value, dtype=dtype),
        "key_padding_mask": mask,
        "in_proj_weight": w_in.astype(dtype),
        "in_proj_bias": b_in.astype(dtype) if biases in ("both", "in") else None,
        "out_proj_weight": w_out.astype(dtype),
        "out_proj_bias": b_out.astype(dtype) if biases in ("both", "out") else None,
        "num_heads": int(p["H"]),
    }


def cost(case: Case) -> Cost:
    p = case.params
    B, L, S, E, H = (int(p[n]) for n in ("B", "L", "S", "E", "H"))
    b, scores = np.dtype(case.dtype).itemsize, B * H * L * S
    weights = scores // H if MhaOptions(**case.options).average_attn_weights else scores
    return Cost(
        # projections q, k, v, out; QK^T and weights·V; softmax ~5 per score
        flops=2.0 * B * (2 * L + 2 * S) * E * E + 4.0 * B * L * S * E + 5.0 * scores,
        bytes=b * (4 * E * E + 4 * E + 2 * B * (L + S) * E + weights),
        items=B * L,
        item_unit="queries",
    )


def tolerance(case: Case) -> Tolerance:
    """Float32: every output is a chain of reductions: the E-long projections (error
    ~ eps·sqrt(E) relative, unit-sized inputs and N(0, 1/E) weights), the d_h-long logits
    (an absolute logit error becomes a relative error of its weight), the S-long softmax
    sums and weights·V, and the E-long output projection. sqrt of their sum bounds the sum
    of their sqrts within sqrt(4), covered by the factor 10 of 10·sqrt(K)·eps with
    K = 2E + d_h + S. atol = rtol: outputs and weights are unit-sized but can cancel to ~0
    while the error keeps scaling with the unit-sized terms."""
    p = case.params
    E, S, H = int(p["E"]), int(p["S"]), int(p["H"])
    base = default_tolerance(case.dtype, 2 * E + E // H + S, 1.0)
    return Tolerance(base.rtol, base.atol, f"{base.reason}; K = 2E + d_h + S")


COMPARE = Outputs({"out": Close(override=tolerance), "weights": Close(override=tolerance)})

SEQ, PER_HEAD = {"batch_first": False}, {"average_attn_weights": False}
ATTEND, ZERO = {"mask_true_means": "attend"}, {"fully_masked": "zero"}
CASES = [
    case("random_f32", H=4),
    case("random_f64", dtype="float64", B=3, L=7, S=11, E=24, H=3),
    # the error base: B, L, S, E, F = 3E distinct and >= 2, a mask and both biases present
    case("masked_f32", B=3, L=5, S=7, E=8, H=2, mask="bool"),
    case("per_head_weights_f64", dtype="float64", mask="bool", options=PER_HEAD),
    case("seq_first_f32", mask="bool", options=SEQ),
    case("seq_first_per_head_f64", dtype="float64", options={**SEQ, **PER_HEAD}),
    # several hundred queries and keys: past a 256-wide tile along either
    case("multi_block", B=1, L=300, S=280, E=32, H=4, mask="bool", options=PER_HEAD),
    edge("self_attention", self=True, L=12, S=12, mask="bool", options=PER_HEAD),
    edge("self_attention_f64", self=True, L=10, S=10, dtype="float64", mask="bool"),
    edge("one_head", H=1, mask="bool"),
    edge("head_dim_1", E=8, H=8, options=PER_HEAD),
    edge("cross_longer_keys", L=3, S=40, mask="bool", options=PER_HEAD),
    edge("cross_longer_queries", L=40, S=3, mask="bool"),
    edge("batch_1", B=1, mask="bool", options=PER_HEAD),
    edge("single_key", S=1),
    edge("mask_attend_polarity", mask="bool", options={**ATTEND, **PER_HEAD}),
    edge("float_mask", mask="float", options=PER_HEAD),
    edge("no_bias", bias="none", options=PER_HEAD),
    edge("in_bias_only", bias="in"),
    edge("out_bias_only_f64", bias="out", dtype="float64"),
    edge("fully_masked_nan", mask="dead_rows", options=PER_HEAD),
    edge("fully_masked_zero", mask="dead_rows", options={**ZERO, **PER_HEAD}),
    edge(
        "fully_masked_zero_seq_first",
        mask="dead_rows",
        dtype="float64",
        options={**ZERO, **SEQ, **ATTEND},
    ),
    edge("nan_query_propagates", pattern="nan_query", dtype="float64"),
    # one empty size each, the others nonzero and distinct (B=2, L=5, S=7, E=12, F=36)
    edge("empty_batch", B=0, mask="bool"),
    edge("no_queries", L=0, mask="bool", options=PER_HEAD),
    edge("no_keys_nan", S=0),
    edge("no_keys_zero", S=0, options={**ZERO, **PER_HEAD}),
]
ERRORS = [
    error("heads_do_not_divide_embed", ValueError, r"divisible by num_heads", H=5),
    error(
        "in_proj_not_3e_rows",
        ValueError,
        r"in_proj_weight must have 3\*E",
        E=8,
        H=2,
        mutate_in_proj=True,
    ),
]
# The spec's standard (B = 8, L = E = 512, H = 8: 13 GFLOP) takes seconds a call here; the
# quick profile (6 s for every implementation and the oracle) times 2 x 256 x 256, 8 heads,
# and the spec's standard and large sizes are in "full".
BENCH = {
    "smoke": [bench("bench_tiny", B=1, L=8, S=8, E=16, H=2)],
    "quick": [bench("bench_medium", B=2, L=256, S=256, E=256, H=8)],
    "full": [
        bench("bench_spec_standard", B=8, L=512, S=512, E=512, H=8),
        bench("bench_large", B=1, L=4096, S=4096, E=1024, H=16),
    ],
}


def _make_inputs(case: Case) -> Inputs:
    inputs = make_inputs(case)
    if case.params.get("mutate_in_proj"):  # one stacked block short: 2E rows
        inputs["in_proj_weight"] = inputs["in_proj_weight"][: 2 * int(case.params["E"])]
        if inputs["in_proj_bias"] is not None:
            inputs["in_proj_bias"] = inputs["in_proj_bias"][: 2 * int(case.params["E"])]
    return inputs


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def draw(d: Any) -> Case:
        H = d(st.integers(1, 4))
        params = {
            "B": d(st.integers(0, 3)),
            "L": d(st.integers(0, 12)),
            "S": d(st.integers(0, 12)),
            "E": H * d(st.integers(1, 6)),
            "H": H,
            "seed": d(st.integers(0, 2**31 - 1)),
            "dtype": d(st.sampled_from(["float32", "float64"])),
            "mask": d(st.sampled_from(["none", "bool", "float", "dead_rows"])),
            "bias": d(st.sampled_from(["both", "none", "in", "out"])),
        }
        if d(st.booleans()):
            params["S"] = params["L"]
            params["self"] = True
        return Case("fuzz", params, d(MhaOptions.strategy(optional=True)), "fuzz")

    return draw()


SUITE = Suite(
    algorithm="multi_head_attention",
    family="attention-and-layers",
    summary="nn.MultiheadAttention's forward: packed in-projection, per-head softmax attention, "
    "output projection -> (out (B, L, E), weights (B, L, S) or (B, H, L, S)).",
    conventions=(
        "multi_head_attention(query, key, value, key_padding_mask, in_proj_weight, "
        "in_proj_bias, out_proj_weight, out_proj_bias, num_heads, opts). query (B, L, E), key "
        "and value (B, S, E) (batch_first=True; (L, B, E) and (S, B, E) with batch_first=False, "
        "torch's module default); one floating dtype for them and the weights. in_proj_weight "
        "(3E, E) stacks W_q, W_k, W_v in that order (nn.MultiheadAttention's packed layout); "
        "q = query·W_qᵀ + b_q (in_proj_bias (3E,) split alike, None: no bias), k and v alike; "
        "head h takes the contiguous columns h·d_h..(h+1)·d_h - 1, d_h = E / num_heads; logits "
        "q_h·k_hᵀ/sqrt(d_h) plus the key padding bias; softmax over keys; context = weights·v_h, "
        "heads concatenated; out = context·out_proj_weightᵀ + out_proj_bias (None: no bias). "
        "key_padding_mask (B, S), never (B, L): None; bool, a key ignored where mask == "
        "(mask_true_means == 'blocked'), nn.MultiheadAttention's True-ignores by default; or "
        "float, added to the logits. weights: averaged over heads (B, L, S) when "
        "average_attn_weights (torch's default) else (B, H, L, S); always batch-first. A query "
        "with no key left (all ignored, or S = 0) gives NaN output and weights "
        "(fully_masked='nan', nn.MultiheadAttention with a fully padded row) or zero weights "
        "and out = out_proj_bias ('zero'). Dropout is 0. Outputs have the input dtype. Raises "
        "ValueError for wrong ndims, mismatched B, S or E, in_proj_weight rows != 3E, E = 0, "
        "E not divisible by num_heads, num_heads < 1; TypeError for integer arrays, mixed "
        "dtypes, an integer mask, a non-int num_heads."
    ),
    args=ARGS,
    options=MhaOptions,
    make_inputs=_make_inputs,
    oracle=multi_head_attention,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 7, "dtype": "float32", "B": 2, "L": 5, "S": 7, "E": 12, "H": 3},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_medium",
    error_base="masked_f32",
    outputs=("out", "weights"),
    multi_block={"L": 300, "S": 280},
    fuzz=fuzz_strategy,
    reference="torch.nn.MultiheadAttention (weights loaded with load_state_dict, "
    "need_weights=True, dropout 0)",
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
)

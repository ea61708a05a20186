"""Suite for multi_head_attention: nn.MultiheadAttention's forward with its weights as inputs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error, with_defaults
from harness.comparators import Close, Comparator, Comparison, Outputs, default_tolerance
from harness.errors import generate
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
        meaning="a bool key_padding_mask or attn_mask True ignores the key (nn.MultiheadAttention) "
        "or keeps it",
    )
    need_weights: bool = option(
        True,
        False,
        meaning="return the attention weights, or None in their place (torch's need_weights=False)",
    )
    fully_masked: str = option(
        "nan",
        "zero",
        meaning="a query with no key left: NaN output and weights (nn.MultiheadAttention) "
        "or zero weights (output = out_proj_bias)",
    )
    out_proj: bool = option(
        True,
        False,
        meaning="apply the output projection W_o (nn.MultiheadAttention), or return the "
        "concatenated heads as they are (F.linear + SDPA variants without W_o; "
        "out_proj_weight and out_proj_bias are then None)",
    )
    value_width: str = option(
        "embed",
        "custom",
        meaning="the projected value width D_v: E (nn.MultiheadAttention; vdim is only the "
        "value INPUT width) or v_proj_weight's row count (D_v divisible by num_heads, heads "
        "take d_v = D_v / num_heads value columns, W_o is (E, D_v); F.linear + SDPA variants)",
    )


# The layout is declared batch-first; with batch_first=False query, key and value are checked
# after swapping their first two axes (see check). in_proj_weight stacks W_q, W_k, W_v: F = 3E;
# with key and value widths Ek, Ev != E the three live apart (q/k/v_proj_weight, torch's layout
# when kdim or vdim differ from embed_dim). attn_mask is (L, S) or (B·H, L, S) (index b·H + h).
# Dv is the projected value width: E, or v_proj_weight's rows with value_width='custom'.
ARGS = Args(
    Arg("query", ("B", "L", "E")),
    Arg("key", ("B", "S", "Ek")),
    Arg("value", ("B", "S", "Ev")),
    Arg("key_padding_mask", ("B", "S"), "mask", optional=True),
    Arg("attn_mask", ("*N", "L", "S"), "mask", star=(0, 1), optional=True),
    Arg("in_proj_weight", ("F", "E"), optional=True),
    Arg("in_proj_bias", ("F",), optional=True),
    Arg("out_proj_weight", ("E", "Dv"), optional=True),
    Arg("out_proj_bias", ("E",), optional=True),
    Arg("q_proj_weight", ("E", "E"), optional=True),
    Arg("k_proj_weight", ("E", "Ek"), optional=True),
    Arg("v_proj_weight", ("Dv", "Ev"), optional=True),
    Scalar("num_heads", "int", low=1),
    nonempty=("E", "F", "Ek", "Ev", "Dv"),
    same_dtype=(
        "query",
        "key",
        "value",
        "in_proj_weight",
        "in_proj_bias",
        "out_proj_weight",
        "out_proj_bias",
        "q_proj_weight",
        "k_proj_weight",
        "v_proj_weight",
    ),
)


def _batch_first_view(x: Any) -> Any:
    """(L, B, E) seen as (B, L, E) without a copy (anything not 3-D is left to ARGS)."""
    if getattr(x, "ndim", 0) != 3:
        return x
    from array_api_compat import array_namespace

    return array_namespace(x).permute_dims(x, (1, 0, 2))


def check(query: Any, key: Any, value: Any, key_padding_mask: Any, attn_mask: Any,
    in_proj_weight: Any, in_proj_bias: Any, out_proj_weight: Any, out_proj_bias: Any,
    q_proj_weight: Any, k_proj_weight: Any, v_proj_weight: Any, num_heads: int,
    opts: MhaOptions) -> Any:  # fmt: skip
    """The one-line input check of every implementation; returns the result dtype."""
    if not opts.batch_first:
        query, key, value = (_batch_first_view(x) for x in (query, key, value))
    dtype = ARGS.check(query, key, value, key_padding_mask, attn_mask, in_proj_weight,
                       in_proj_bias, out_proj_weight, out_proj_bias, q_proj_weight,
                       k_proj_weight, v_proj_weight, num_heads)  # fmt: skip
    E, H = int(query.shape[2]), int(num_heads)
    separate = [w is not None for w in (q_proj_weight, k_proj_weight, v_proj_weight)]
    if in_proj_weight is not None:
        if any(separate):
            raise ValueError("give in_proj_weight or q/k/v_proj_weight, not both")
        if in_proj_weight.shape[0] != 3 * E:
            raise ValueError(
                f"in_proj_weight must have 3*E = {3 * E} rows (W_q, W_k, W_v stacked), "
                f"got {in_proj_weight.shape[0]}"
            )
        if key.shape[2] != E or value.shape[2] != E:
            raise ValueError(
                f"key and value widths ({key.shape[2]}, {value.shape[2]}) differ from E={E}: "
                "the packed in_proj_weight needs kdim = vdim = E (give q/k/v_proj_weight)"
            )
    elif not all(separate):
        raise ValueError("need in_proj_weight, or all three of q/k/v_proj_weight")
    if opts.out_proj and out_proj_weight is None:
        raise ValueError("out_proj_weight is required with out_proj=True")
    if not opts.out_proj and (out_proj_weight is not None or out_proj_bias is not None):
        raise ValueError("out_proj=False takes no out_proj_weight or out_proj_bias (give None)")
    Dv = value_width(in_proj_weight, v_proj_weight, E)
    if opts.value_width == "embed" and Dv != E:
        raise ValueError(
            f"v_proj_weight has D_v={Dv} rows but value_width='embed' needs E={E} "
            "(value_width='custom' for a projected value width != E)"
        )
    if out_proj_weight is not None and tuple(out_proj_weight.shape) != (E, Dv):
        raise ValueError(
            f"out_proj_weight must have shape (E, D_v) = ({E}, {Dv}), "
            f"got {tuple(out_proj_weight.shape)}"
        )
    if in_proj_bias is not None and in_proj_bias.shape[0] != 2 * E + Dv:
        raise ValueError(f"in_proj_bias must have 2*E + D_v = {2 * E + Dv} entries")
    if E % H:
        raise ValueError(f"embed_dim E={E} must be divisible by num_heads={num_heads}")
    if Dv % H:
        raise ValueError(f"value width D_v={Dv} must be divisible by num_heads={num_heads}")
    if attn_mask is not None and attn_mask.ndim == 3 and attn_mask.shape[0] != query.shape[0] * H:
        raise ValueError(
            f"a 3-D attn_mask must have B*num_heads = {query.shape[0] * H} slices, "
            f"got {attn_mask.shape[0]}"
        )
    return dtype


def value_width(in_proj_weight: Any, v_proj_weight: Any, E: int) -> int:
    """D_v: E with the packed weight, else v_proj_weight's row count."""
    return E if in_proj_weight is not None or v_proj_weight is None else int(v_proj_weight.shape[0])


def projection_weights(in_proj_weight: Any, q_proj_weight: Any, k_proj_weight: Any,
    v_proj_weight: Any, E: int) -> tuple[Any, Any, Any]:  # fmt: skip
    """W_q, W_k, W_v: three row blocks of the packed weight (views), or the separate ones."""
    if in_proj_weight is not None:
        return tuple(in_proj_weight[i * E : (i + 1) * E] for i in range(3))
    return q_proj_weight, k_proj_weight, v_proj_weight


def _additive(mask: Any, opts: MhaOptions) -> np.ndarray:
    """A bool mask as 0 / -inf (ignored where mask == (mask_true_means == 'blocked')), a
    float one as its values, both float64."""
    m = np.asarray(mask)
    if m.dtype == bool:
        return np.where(m if opts.mask_true_means == "blocked" else ~m, -np.inf, 0.0)
    return m.astype(np.float64)


def multi_head_attention(query: Any, key: Any, value: Any, key_padding_mask: Any,
    attn_mask: Any, in_proj_weight: Any, in_proj_bias: Any, out_proj_weight: Any,
    out_proj_bias: Any, q_proj_weight: Any, k_proj_weight: Any, v_proj_weight: Any,
    num_heads: int, opts: MhaOptions) -> tuple[Any, Any]:  # fmt: skip
    """Oracle: float64, one (batch, head) at a time: project, split heads as contiguous d_h
    blocks, add both masks to the logits, max-subtracted softmax over keys, weights·V,
    concatenate, output projection (none with out_proj=False)."""
    check(query, key, value, key_padding_mask, attn_mask, in_proj_weight, in_proj_bias,
          out_proj_weight, out_proj_bias, q_proj_weight, k_proj_weight, v_proj_weight,
          num_heads, opts)  # fmt: skip
    x, y, z = (np.asarray(a, dtype=np.float64) for a in (query, key, value))
    if not opts.batch_first:
        x, y, z = (a.transpose(1, 0, 2) for a in (x, y, z))
    (B, L, E), S, H = x.shape, y.shape[1], int(num_heads)
    Dv = value_width(in_proj_weight, v_proj_weight, E)
    dh, dv = E // H, Dv // H  # query/key and value columns of one head
    w_q, w_k, w_v = (
        np.asarray(w, np.float64)
        for w in projection_weights(in_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight, E)
    )
    w_out = None if out_proj_weight is None else np.asarray(out_proj_weight, np.float64)
    b_in = np.zeros(2 * E + Dv) if in_proj_bias is None else np.asarray(in_proj_bias, np.float64)
    b_out = np.zeros(E) if out_proj_bias is None else np.asarray(out_proj_bias, np.float64)
    padding = np.zeros((B, S)) if key_padding_mask is None else _additive(key_padding_mask, opts)
    attn = np.zeros((1, L, S)) if attn_mask is None else _additive(attn_mask, opts)
    attn = attn[None] if attn.ndim == 2 else attn  # (1, L, S) or (B·H, L, S)
    weights = np.empty((B, H, L, S))
    context = np.empty((B, L, Dv))
    out = np.empty((B, L, E if opts.out_proj else Dv))
    for b in range(B):
        q = x[b] @ w_q.T + b_in[:E]
        k = y[b] @ w_k.T + b_in[E : 2 * E]
        v = z[b] @ w_v.T + b_in[2 * E :]
        for h in range(H):
            cols = slice(h * dh, (h + 1) * dh)
            bias = padding[b] + attn[(b * H + h) % attn.shape[0]]  # (L, S)
            vcols = slice(h * dv, (h + 1) * dv)  # d_v = D_v / H value columns
            logits = q[:, cols] @ k[:, cols].T / math.sqrt(dh) + bias
            top = logits.max(axis=1, keepdims=True, initial=-np.inf)
            dead = (top == -np.inf)[:, 0]  # every key ignored (or S = 0)
            with np.errstate(invalid="ignore"):
                w = np.exp(logits - np.where(dead[:, None], 0.0, top))
                w /= w.sum(axis=1, keepdims=True)
            w[dead] = np.nan if opts.fully_masked == "nan" else 0.0
            weights[b, h] = w
            ctx = w @ v[:, vcols]  # S = 0: zeros, fixed below like any dead row
            ctx[dead] = np.nan if opts.fully_masked == "nan" else 0.0
            context[b, :, vcols] = ctx
        out[b] = context[b] @ w_out.T + b_out if w_out is not None else context[b]
    if not opts.need_weights:
        return (out if opts.batch_first else out.transpose(1, 0, 2)), None
    if opts.average_attn_weights:
        weights = weights.mean(axis=1)
    return (out if opts.batch_first else out.transpose(1, 0, 2)), weights


WEIGHT_STD, BIAS = 1.0, 0.5  # weights ~ N(0, WEIGHT_STD²/E); biases uniform in ±BIAS


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    B, L, S, E, H = (int(p[n]) for n in ("B", "L", "S", "E", "H"))
    Ek, Ev = int(p.get("kdim", E)), int(p.get("vdim", E))
    dtype, opts = np.dtype(case.dtype), MhaOptions(**case.options)
    Dv = int(p.get("dv", E)) if opts.value_width == "custom" else E
    # torch's layout when kdim or vdim != embed_dim; the only one for D_v != E
    separate = "kdim" in p or "vdim" in p or Dv != E
    query = rng.standard_normal((B, L, E))
    if p.get("self"):  # self-attention: one sequence is query, key and value (L = S)
        key = value = query
    else:
        key, value = rng.standard_normal((B, S, Ek)), rng.standard_normal((B, S, Ev))
    if p.get("pattern") == "nan_query" and query.size:
        query = query.copy()
        query[0, 0, 0] = np.nan
    # weights ~ N(0, 1/width): projections, and logits for unit-normal inputs, are ~ unit-sized
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
    attn: Any = None
    if p.get("attn", "none") != "none":
        # key 0 stays open for every query (dead rows come from the padding mask) unless
        # attn_dead closes query row 1 in every slice (dead rows alike in every head)
        n = B * H if int(p.get("attn_dims", 2)) == 3 else 1
        blocked = rng.random((n, L, S)) < 0.3
        blocked[:, :, :1] = False
        if p.get("attn_dead") and L > 1:
            blocked[:, 1] = True
        if p["attn"] == "float":
            attn = np.where(blocked, -np.inf, rng.uniform(-2.0, 2.0, (n, L, S))).astype(dtype)
        else:
            attn = blocked if opts.mask_true_means == "blocked" else ~blocked
        if n == 1:
            attn = attn[0]
    w_q, w_k, w_v = w_in[:E], w_in[E : 2 * E], w_in[2 * E :]
    if separate:  # same role for each row, unit-sized over its own width
        w_k = rng.standard_normal((E, Ek)) * (WEIGHT_STD / math.sqrt(Ek))
        w_v = rng.standard_normal((E, Ev)) * (WEIGHT_STD / math.sqrt(Ev))
    if Dv != E:  # drawn last, so the cases with D_v = E keep their inputs
        w_v = rng.standard_normal((Dv, Ev)) * (WEIGHT_STD / math.sqrt(Ev))
        w_out = rng.standard_normal((E, Dv)) * (WEIGHT_STD / math.sqrt(Dv))
        b_in = np.concatenate([b_in[: 2 * E], rng.uniform(-BIAS, BIAS, Dv)])
    if not opts.batch_first:
        query, key, value = (a.transpose(1, 0, 2) for a in (query, key, value))
    # out_proj=False: no W_o, b_o (give_out_proj: given anyway, an error case); with
    # drop_out_proj, W_o is missing under out_proj=True (an error case)
    keep_out = (opts.out_proj or p.get("give_out_proj")) and not p.get("drop_out_proj")
    return {
        "query": np.ascontiguousarray(query, dtype=dtype),
        "key": np.ascontiguousarray(key, dtype=dtype),
        "value": np.ascontiguousarray(value, dtype=dtype),
        "key_padding_mask": mask,
        "attn_mask": attn,
        "in_proj_weight": None if separate else w_in.astype(dtype),
        "in_proj_bias": b_in.astype(dtype) if biases in ("both", "in") else None,
        "out_proj_weight": w_out.astype(dtype) if keep_out else None,
        "out_proj_bias": b_out.astype(dtype) if biases in ("both", "out") and keep_out else None,
        "q_proj_weight": w_q.astype(dtype) if separate else None,
        "k_proj_weight": w_k.astype(dtype) if separate else None,
        "v_proj_weight": w_v.astype(dtype) if separate else None,
        "num_heads": H,
    }


def cost(case: Case) -> Cost:
    p = case.params
    B, L, S, E, H = (int(p[n]) for n in ("B", "L", "S", "E", "H"))
    Ek, Ev = int(p.get("kdim", E)), int(p.get("vdim", E))
    opts = MhaOptions(**case.options)
    Dv = int(p.get("dv", E)) if opts.value_width == "custom" else E
    b, scores = np.dtype(case.dtype).itemsize, B * H * L * S
    weights = (scores // H if opts.average_attn_weights else scores) if opts.need_weights else 0
    wo = Dv if opts.out_proj else 0  # W_o's (E, D_v) products per query; none without W_o
    width = E if opts.out_proj else Dv  # of the output
    return Cost(
        # projections q, k (width E), v (width D_v), out; QK^T and weights·V; softmax ~5 a score
        flops=2.0 * B * (L * (E + wo) * E + S * (Ek * E + Ev * Dv))
        + 2.0 * B * L * S * (E + Dv)
        + 5.0 * scores,
        bytes=b
        * (
            E * (E + Ek + wo)
            + Dv * Ev
            + 2 * E
            + Dv
            + (E if opts.out_proj else 0)
            + B * (L * (E + width) + S * (Ek + Ev))
            + weights
        ),
        items=B * L,
        item_unit="queries",
    )


def tolerance(case: Case) -> Tolerance:
    """Float32: every output is a chain of reductions: the in-projections (error
    ~ eps·sqrt(width) relative, unit-sized inputs and N(0, 1/width) weights, width E, kdim or
    vdim), the d_h-long logits (an absolute logit error becomes a relative error of its
    weight), the S-long softmax sums and weights·V, and the E-long output projection. sqrt of
    their sum bounds the sum of their sqrts within sqrt(4), covered by the factor 10 of
    10·sqrt(K)·eps with K = max(E, D_v) + max(E, kdim, vdim) + d_h + S (the output
    projection sums D_v products, the value projection vdim). Additive masks in ±2 keep the
    logits unit-sized. atol = rtol: outputs and weights are unit-sized but can cancel to ~0
    while the error keeps scaling with the unit-sized terms."""
    p = case.params
    E, S, H = int(p["E"]), int(p["S"]), int(p["H"])
    Dv = int(p.get("dv", E)) if MhaOptions(**case.options).value_width == "custom" else E
    width = max(E, int(p.get("kdim", E)), int(p.get("vdim", E)))
    base = default_tolerance(case.dtype, max(E, Dv) + width + E // H + S, 1.0)
    return Tolerance(
        base.rtol, base.atol, f"{base.reason}; K = max(E, D_v) + max(E, kdim, vdim) + d_h + S"
    )


@dataclass(frozen=True)
class MaybeNone(Comparator):
    """An output that is None where the oracle's is (need_weights=False: torch returns None),
    else judged by ``inner``."""

    inner: Comparator

    def tolerance(self, case: Case) -> Tolerance:
        return self.inner.tolerance(case)

    def expected_dtype(self, case: Case) -> str | None:
        return None if MhaOptions(**case.options).need_weights is False else case.dtype

    def vacuous(self, expected: Any, case: Case) -> bool:
        return expected is not None and self.inner.vacuous(expected, case)

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        absent = actual is None or (
            isinstance(actual, np.ndarray) and actual.dtype == object and actual.shape == ()
        )
        if expected is None:
            if absent:
                return Comparison(True, total=0)
            return Comparison(False, "returned an array where need_weights=False expects None",
                              mismatches=1, total=1, error_ratio=math.inf)  # fmt: skip
        if absent:
            return Comparison(False, "returned None instead of an array", mismatches=1, total=1,
                              error_ratio=math.inf)  # fmt: skip
        return self.inner(actual, expected, inputs, case, tol)


COMPARE = Outputs(
    {"out": Close(override=tolerance), "weights": MaybeNone(Close(override=tolerance))}
)

SEQ, PER_HEAD = {"batch_first": False}, {"average_attn_weights": False}
ATTEND, ZERO = {"mask_true_means": "attend"}, {"fully_masked": "zero"}
NO_WEIGHTS, NO_OUT = {"need_weights": False}, {"out_proj": False}
DV = {"value_width": "custom"}
CASES = [
    case("random_f32", H=4),
    case("random_f64", dtype="float64", B=3, L=7, S=11, E=24, H=3),
    # the error base: B, L, S, E, F = 3E distinct and >= 2, a mask and both biases present
    # the error base: B, L, S, E, F = 3E, kdim, vdim distinct and >= 2, both masks (attn_mask
    # 3-D: the generated mismatch cases index its axes as declared, star included) and every
    # weight but the packed one, whose generated errors come from masked_f32 (see ERRORS)
    case("masked_f32", B=3, L=5, S=7, E=8, H=2, mask="bool", attn="bool", attn_dims=3),
    case(
        "error_base_kdim_vdim",
        B=3,
        L=5,
        S=7,
        E=8,
        H=2,
        kdim=6,
        vdim=10,
        mask="bool",
        attn="bool",
        attn_dims=3,
    ),
    case("per_head_weights_f64", dtype="float64", mask="bool", options=PER_HEAD),
    case("seq_first_f32", mask="bool", options=SEQ),
    case("seq_first_per_head_f64", dtype="float64", options={**SEQ, **PER_HEAD}),
    # several hundred queries and keys: past a 256-wide tile along either
    case("multi_block", B=1, L=300, S=280, E=32, H=4, mask="bool", attn="float", options=PER_HEAD),
    # attn_mask: bool or additive, (L, S) or (B·H, L, S), alone or added to the padding mask
    case("attn_bool_2d", attn="bool", mask="bool", options=PER_HEAD),
    case("attn_float_2d_f64", dtype="float64", attn="float", mask="bool", options=PER_HEAD),
    case("attn_bool_3d", attn="bool", attn_dims=3, mask="bool", options=PER_HEAD),
    case("attn_float_3d_f64", dtype="float64", attn="float", attn_dims=3, mask="float"),
    case("attn_only_3d", attn="bool", attn_dims=3, options=PER_HEAD),
    case("attn_seq_first_f64", dtype="float64", attn="bool", attn_dims=3, options=SEQ),
    # kdim, vdim != E: q/k/v_proj_weight apart (kdim = vdim too: a k/v swap keeps the shapes)
    case("kdim_vdim", kdim=6, vdim=10, mask="bool", attn="bool", options=PER_HEAD),
    case("kdim_vdim_f64", dtype="float64", kdim=20, vdim=5, attn="float", attn_dims=3),
    case("kdim_eq_vdim", kdim=9, vdim=9, mask="bool", options=PER_HEAD),
    case("kdim_vdim_seq_first", kdim=4, vdim=16, options={**SEQ, **PER_HEAD}),
    # need_weights=False: None in the weights' place
    case("no_weights", mask="bool", attn="bool", options=NO_WEIGHTS),
    case("no_weights_kdim_f64", dtype="float64", kdim=7, vdim=3, attn="float", options=NO_WEIGHTS),
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
    edge("attn_mask_attend_polarity", attn="bool", mask="bool", options={**ATTEND, **PER_HEAD}),
    edge("attn_attend_3d_seq_first", attn="bool", attn_dims=3, options={**ATTEND, **SEQ}),
    edge("attn_dead_rows_nan", attn="bool", attn_dead=True, mask="bool", options=PER_HEAD),
    edge("attn_dead_rows_zero", attn="float", attn_dead=True, options={**ZERO, **PER_HEAD}),
    edge("attn_dead_3d_zero_avg", attn="bool", attn_dims=3, attn_dead=True, options=ZERO),
    edge("no_weights_dead_zero", mask="dead_rows", attn="bool", options={**ZERO, **NO_WEIGHTS}),
    edge("no_weights_dead_nan_seq", mask="dead_rows", options={**SEQ, **NO_WEIGHTS}),
    edge("kdim_vdim_self_width_1", kdim=1, vdim=1, E=4, H=2, mask="bool"),
    # one empty size each, the others nonzero and distinct (B=2, L=5, S=7, E=12, F=36)
    edge("empty_batch", B=0, mask="bool", kdim=4, vdim=9),
    edge("no_queries", L=0, mask="bool", kdim=4, vdim=9, options=PER_HEAD),
    edge("no_keys_nan", S=0, kdim=4, vdim=9),
    edge("no_keys_zero", S=0, options={**ZERO, **PER_HEAD}),
    edge("no_queries_attn_3d", L=0, attn="bool", attn_dims=3),
    edge("no_keys_attn_kdim", S=0, attn="float", kdim=3, vdim=5, options=ZERO),
    edge("no_keys_no_weights", S=0, attn="bool", options=NO_WEIGHTS),
    # out_proj=False: the concatenated heads are the output (no W_o, no b_o)
    case("no_out_proj_f32", mask="bool", attn="bool", options=NO_OUT),
    case("no_out_proj_seq_first_f64", dtype="float64", options={**NO_OUT, **SEQ, **PER_HEAD}),
    edge("no_out_proj_kdim_vdim", kdim=6, vdim=10, mask="float", options=NO_OUT),
    edge("no_out_proj_dead_zero", mask="dead_rows", options={**NO_OUT, **ZERO}),
    edge("no_out_proj_dead_nan", mask="dead_rows", dtype="float64", options=NO_OUT),
    edge("no_out_proj_no_keys", S=0, options={**NO_OUT, **ZERO}),
    # value_width='custom': D_v = v_proj_weight's rows, heads of d_v = D_v / H value columns
    case("dv_half", dv=6, mask="bool", attn="bool", options={**DV, **PER_HEAD}),
    case("dv_double_f64", dtype="float64", dv=24, attn="float", attn_dims=3, options=DV),
    case("dv_cross_kdim_vdim", L=3, S=9, kdim=6, vdim=10, dv=9, mask="bool", options=DV),
    case("dv_no_out_proj", dv=6, mask="float", options={**DV, **NO_OUT, **PER_HEAD}),
    case("dv_no_out_proj_seq_f64", dtype="float64", dv=18, options={**DV, **NO_OUT, **SEQ}),
    edge("dv_one_head", H=1, dv=5, mask="bool", options=DV),
    edge("dv_head_width_1", E=8, H=4, dv=4, options={**DV, **PER_HEAD}),
    edge("dv_equal_e_packed", mask="bool", options=DV),  # custom with D_v = E: packed allowed
    edge("dv_dead_zero", dv=6, mask="dead_rows", options={**DV, **ZERO}),
    # one empty size each with D_v distinct from E (B=2, L=5, S=7, E=12, kdim 4, vdim 10,
    # D_v=6, F=30): an output E wide where D_v is due (or the reverse) cannot pass
    edge("dv_empty_batch", B=0, kdim=4, vdim=10, dv=6, mask="bool", options=DV),
    edge("dv_no_queries", L=0, kdim=4, vdim=10, dv=6, options={**DV, **NO_OUT, **PER_HEAD}),
    edge("dv_no_keys_nan", S=0, kdim=4, vdim=10, dv=6, options={**DV, **NO_OUT}),
    edge("dv_no_keys_zero", S=0, kdim=4, vdim=10, dv=6, options={**DV, **ZERO}),
    # the error base: B, L, S, E, kdim, vdim, D_v and F = 2E + D_v distinct and >= 2, both
    # masks (attn_mask 3-D) and every weight but the packed one (as error_base_kdim_vdim)
    case(
        "error_base_dv",
        B=3,
        L=5,
        S=7,
        E=8,
        H=2,
        kdim=6,
        vdim=10,
        dv=4,
        mask="bool",
        attn="bool",
        attn_dims=3,
        options=DV,
    ),
]
DEFAULTS = {"seed": 7, "dtype": "float32", "B": 2, "L": 5, "S": 7, "E": 12, "H": 3}
_PACKED_BASE = with_defaults(next(c for c in CASES if c.name == "masked_f32"), DEFAULTS)
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
    error(
        "attn_mask_3d_slices_not_bh",
        ValueError,
        r"B\*num_heads",
        attn="bool",
        attn_dims=3,
        mutate_attn_slices=True,
    ),
    error("both_weight_forms", ValueError, r"not both", kdim=12, vdim=12, mutate_both=True),
    error("packed_weight_kdim", ValueError, r"kdim = vdim = E", kdim=12, vdim=12, mutate_pack=True),
    error(
        "separate_weights_missing_one", ValueError, r"all three", kdim=6, vdim=6, mutate_drop_v=True
    ),
    error(
        "out_proj_weight_missing", ValueError, r"out_proj_weight is required", drop_out_proj=True
    ),
    error(
        "out_proj_weight_given_without_out_proj",
        ValueError,
        r"out_proj=False takes no out_proj_weight",
        give_out_proj=True,
        options=NO_OUT,
    ),
    error(
        "value_width_not_divisible_by_heads",
        ValueError,
        r"D_v=7 must be divisible",
        dv=7,
        options=DV,
    ),
    # W_o given as (D_v, E), or as (E, E) with D_v != E
    error(
        "out_proj_weight_transposed",
        ValueError,
        r"out_proj_weight has E=6",
        dv=6,
        mutate_wo="transpose",
        options=DV,
    ),
    error("out_proj_weight_e_by_e", ValueError, r"Dv=12", dv=6, mutate_wo="square", options=DV),
    error(
        "out_proj_weight_dv_with_packed",
        ValueError,
        r"shape \(E, D_v\) = \(12, 12\)",
        mutate_wo="narrow",
        options=DV,
    ),
    error(
        "value_width_embed_with_dv_rows",
        ValueError,
        r"value_width='embed' needs E=12",
        kdim=6,
        vdim=6,
        bias="none",
        mutate_v_rows=True,
        options=NO_OUT,
    ),
    error(
        "in_proj_bias_3e_with_dv",
        ValueError,
        r"2\*E \+ D_v = 30",
        dv=6,
        mutate_bias_3e=True,
        options=DV,
    ),
    *(
        e  # in_proj_weight's generated errors (it is None in the error base)
        for e in generate(ARGS, _PACKED_BASE, make_inputs(_PACKED_BASE))
        if e.name.startswith("in_proj_weight:")
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
    if case.params.get("mutate_attn_slices"):  # B·H - 1 slices
        inputs["attn_mask"] = inputs["attn_mask"][1:]
    names = ("q_proj_weight", "k_proj_weight", "v_proj_weight")
    if case.params.get("mutate_both"):  # kdim = vdim = E: both forms well-shaped
        inputs["in_proj_weight"] = np.concatenate([inputs[n] for n in names])
    if case.params.get("mutate_pack"):  # kdim = E, vdim != E behind a packed weight
        inputs["in_proj_weight"] = np.concatenate([inputs[n] for n in names])
        inputs["value"] = np.concatenate([inputs["value"], inputs["value"][..., :1]], axis=-1)
        inputs.update(dict.fromkeys(names))
    if case.params.get("mutate_drop_v"):
        inputs["v_proj_weight"] = None
    how, w_o = case.params.get("mutate_wo"), inputs["out_proj_weight"]
    if how == "transpose":  # (D_v, E)
        inputs["out_proj_weight"] = np.ascontiguousarray(w_o.T)
    elif how == "square":  # (E, E) though D_v != E
        inputs["out_proj_weight"] = np.zeros((w_o.shape[0],) * 2, w_o.dtype)
    elif how == "narrow":  # (E, E - 1) behind the packed weight (D_v = E)
        inputs["out_proj_weight"] = np.ascontiguousarray(w_o[:, :-1])
    if case.params.get("mutate_v_rows"):  # H rows short: D_v = E - H under value_width='embed'
        inputs["v_proj_weight"] = inputs["v_proj_weight"][: -int(inputs["num_heads"])]
    if case.params.get("mutate_bias_3e"):  # 3E entries, as packed, though D_v != E
        inputs["in_proj_bias"] = np.resize(inputs["in_proj_bias"], 3 * int(case.params["E"]))
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
            "attn": d(st.sampled_from(["none", "bool", "float"])),
            "attn_dims": d(st.sampled_from([2, 3])),
            "attn_dead": d(st.booleans()),
            "dv": H * d(st.integers(1, 6)),  # read only with value_width='custom'
        }
        if d(st.booleans()):
            params["S"] = params["L"]
            params["self"] = True
        elif d(st.booleans()):
            params["kdim"], params["vdim"] = d(st.integers(1, 8)), d(st.integers(1, 8))
        return Case("fuzz", params, d(MhaOptions.strategy(optional=True)), "fuzz")

    return draw()


SUITE = Suite(
    algorithm="multi_head_attention",
    family="attention-and-layers",
    summary="nn.MultiheadAttention's forward: packed or separate (kdim, vdim) in-projections, "
    "a projected value width D_v != E (value_width='custom'), padding and attention masks, "
    "per-head softmax attention, output projection -> (out (B, L, E) ((B, L, D_v) without "
    "W_o), weights (B, L, S), (B, H, L, S) or None).",
    conventions=(
        "multi_head_attention(query, key, value, key_padding_mask, attn_mask, in_proj_weight, "
        "in_proj_bias, out_proj_weight, out_proj_bias, q_proj_weight, k_proj_weight, "
        "v_proj_weight, num_heads, opts). query (B, L, E), key (B, S, kdim) and value "
        "(B, S, vdim) (batch_first=True; sequence first with batch_first=False, torch's module "
        "default); one floating dtype for them and the weights. Either in_proj_weight (3E, E) "
        "stacking W_q, W_k, W_v in that order (nn.MultiheadAttention's packed layout, needs "
        "kdim = vdim = E) or q_proj_weight (E, E), k_proj_weight (E, kdim), v_proj_weight "
        "(E, vdim) (torch's layout when kdim or vdim != E), never both; with "
        "value_width='custom' v_proj_weight is (D_v, vdim), D_v its row count (E with the "
        "packed weight; value_width='embed', the default, needs D_v = E). "
        "q = query·W_qᵀ + b_q (in_proj_bias (2E + D_v,) split as b_q, b_k, b_v in both "
        "layouts, None: no bias), k = key·W_kᵀ + b_k, v = value·W_vᵀ + b_v; head h takes the "
        "contiguous q and k columns h·d_h..(h+1)·d_h - 1, d_h = E / num_heads, and the v "
        "columns h·d_v..(h+1)·d_v - 1, d_v = D_v / num_heads; logits q_h·k_hᵀ/sqrt(d_h) plus "
        "the key padding bias plus the attention bias; softmax over keys; context = "
        "weights·v_h, heads concatenated (B, L, D_v); out = context·out_proj_weightᵀ + "
        "out_proj_bias (out_proj_weight (E, D_v); None bias: no bias), or out = context with "
        "out_proj=False (out_proj_weight and out_proj_bias then None). key_padding_mask "
        "(B, S) and attn_mask (L, S) or (B·num_heads, L, S) (slice b·num_heads + h): None; "
        "bool, a key ignored (bias -inf) where mask == (mask_true_means == 'blocked'), "
        "nn.MultiheadAttention's True-ignores by default; or float, added to the logits; the "
        "two biases add, as torch merges them. weights: averaged over heads (B, L, S) when "
        "average_attn_weights (torch's default) else (B, H, L, S), always batch-first; None "
        "when need_weights is False. A (query, head) with no key left (all ignored, or S = 0) "
        "gives NaN output and weights (fully_masked='nan', as nn.MultiheadAttention) or zero "
        "weights and a zero context for that head ('zero': out = out_proj_bias when every head "
        "is dead). Dropout is 0. Outputs have the input dtype. Raises ValueError for wrong "
        "ndims, mismatched B, L, S, E, kdim or vdim, in_proj_weight rows != 3E, both or "
        "neither weight layout, a packed weight with kdim or vdim != E, a 3-D attn_mask "
        "without B·num_heads slices, E = 0, E or D_v not divisible by num_heads, num_heads < 1, "
        "D_v != E under value_width='embed', out_proj_weight not (E, D_v), in_proj_bias not "
        "2E + D_v long, out_proj_weight missing with out_proj=True or given with "
        "out_proj=False; "
        "TypeError for integer arrays, mixed dtypes, an integer mask, a non-int num_heads."
    ),
    args=ARGS,
    options=MhaOptions,
    make_inputs=_make_inputs,
    oracle=multi_head_attention,
    compare=COMPARE,
    cost=cost,
    defaults=DEFAULTS,
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_medium",
    error_base="error_base_dv",
    outputs=("out", "weights"),
    multi_block={"L": 300, "S": 280},
    fuzz=fuzz_strategy,
    reference="torch.nn.MultiheadAttention (weights loaded with load_state_dict, "
    "need_weights as the option, dropout 0)",
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
)

"""scaled_dot_product_attention in pure Python: per query row, logits, max-subtracted softmax, ·V.

Plain nested lists and floats (float64 arithmetic); the mask is broadcast by index clamping.
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.scaled_dot_product_attention import (
    OPTIONS,
    causal_offset,
    check_attention,
    validate_options,
)

_EMPTY = "a nested list cannot carry the trailing dims of an empty array"


def _describe(x: Any) -> tuple[tuple[int, ...], str | None]:
    """Shape of a nested list (walking first elements) and the dtype name of its leaves."""
    shape: list[int] = []
    while isinstance(x, list | tuple):
        shape.append(len(x))
        if not x:
            return tuple(shape), None
        x = x[0]
    if isinstance(x, bool):
        return tuple(shape), "bool"
    return tuple(shape), "float64" if isinstance(x, float) else type(x).__name__


def _as_4d(mask: Any, ndim: int) -> Any:
    for _ in range(4 - ndim):
        mask = [mask]
    return mask


@implementation(
    "scaled_dot_product_attention",
    "python",
    "loops",
    supports=OPTIONS,
    max_flops=2e7,  # about half a second of loops
    expected_failures={
        "no_queries": _EMPTY,
        "empty_batch": _EMPTY,
        "no_keys": _EMPTY,
        "no_keys_nan": _EMPTY,
    },
)
def attention(
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
) -> list[Any]:
    """Two passes per row (max, then exp-sum and weighted sum of values), like the oracle."""
    validate_options(mask_true_means, fully_masked, causal_alignment)
    named = {"q": q, "k": k, "v": v, **({} if mask is None else {"mask": mask})}
    described = {n: _describe(a) for n, a in named.items()}
    B, H, L, S, d, dv = check_attention(
        {n: s for n, (s, _) in described.items()}, {n: t for n, (_, t) in described.items()}, scale
    )
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    offset = causal_offset(L, S, causal_alignment)
    additive = mask is not None and described["mask"][1] != "bool"
    keep_value = mask_true_means == "attend"
    m4 = None if mask is None else _as_4d(mask, len(described["mask"][0]))
    dead_row = [0.0 if fully_masked == "zero" else math.nan] * dv
    out: list[Any] = []
    for b in range(B):
        out_b: list[Any] = []
        for h in range(H):
            qs, ks, vs = q[b][h], k[b][h], v[b][h]
            mh = None if m4 is None else m4[min(b, len(m4) - 1)]
            mh = None if mh is None else mh[min(h, len(mh) - 1)]
            out_h: list[Any] = []
            for i in range(L):
                qi = qs[i]
                mrow = None if mh is None else mh[min(i, len(mh) - 1)]
                logits: list[float] = []
                for j in range(S):
                    kj = ks[j]
                    s = 0.0
                    for t in range(d):
                        s += qi[t] * kj[t]
                    s *= scale
                    if is_causal and j > i + offset:
                        s = -math.inf
                    elif mrow is not None:
                        mv = mrow[min(j, len(mrow) - 1)]
                        if additive:
                            s += mv
                        elif mv != keep_value:
                            s = -math.inf
                    logits.append(s)
                top = -math.inf
                for s in logits:
                    if s > top or s != s:  # a NaN logit makes the row NaN
                        top = s
                        if s != s:
                            break
                if top == -math.inf:
                    out_h.append(list(dead_row))
                    continue
                weights = [math.exp(s - top) for s in logits]
                total = sum(weights)
                row = [0.0] * dv
                for j, w in enumerate(weights):
                    vj = vs[j]
                    for c in range(dv):
                        row[c] += w * vj[c]
                out_h.append([x / total for x in row])
            out_b.append(out_h)
        out.append(out_b)
    return out

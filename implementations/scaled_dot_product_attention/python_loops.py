"""scaled_dot_product_attention in pure Python: per query row, logits, max-subtracted softmax, ·V.

Plain nested lists and floats (float64 arithmetic); the mask is broadcast by index clamping.
"""

from __future__ import annotations

import math
from typing import Any

from harness import implementation
from suites.scaled_dot_product_attention import ARGS, AttentionOptions, causal_offset

_EMPTY = "a nested list cannot carry the trailing dims of an empty array"


def _as_4d(mask: Any) -> tuple[Any, bool]:
    """The mask nested to 4 levels (leading size-1 levels added) and whether it is additive."""
    depth, leaf = 0, mask
    while isinstance(leaf, list) and leaf:
        depth, leaf = depth + 1, leaf[0]
    for _ in range(4 - depth):
        mask = [mask]
    return mask, not isinstance(leaf, bool)


@implementation(
    "scaled_dot_product_attention",
    "python",
    "loops",
    max_flops=2e7,  # about half a second of loops
    expected_failures={
        "no_queries": _EMPTY,
        "no_heads": _EMPTY,
        "no_keys": _EMPTY,
        "no_keys_nan": _EMPTY,
    },
)
def attention(q: Any, k: Any, v: Any, mask: Any, scale: Any, opts: AttentionOptions) -> list[Any]:
    """Two passes per row (max, then exp-sum and weighted sum of values), like the oracle."""
    ARGS.check(q, k, v, mask, scale)
    keep_value = opts.mask_true_means == "attend"
    m4, additive = (None, False) if mask is None else _as_4d(mask)
    out: list[Any] = []
    for b in range(len(q)):
        out_b: list[Any] = []
        for h in range(len(q[b])):
            qs, ks, vs = q[b][h], k[b][h], v[b][h]
            L, S, dv = len(qs), len(ks), len(vs[0])  # S >= 1: S = 0 is refused above
            offset = causal_offset(L, S, opts.causal_alignment)
            mh = None if m4 is None else m4[min(b, len(m4) - 1)]
            mh = None if mh is None else mh[min(h, len(mh) - 1)]
            out_h: list[Any] = []
            for i in range(L):
                qi = qs[i]
                d = len(qi)
                row_scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
                mrow = None if mh is None else mh[min(i, len(mh) - 1)]
                logits: list[float] = []
                for j in range(S):
                    kj = ks[j]
                    s = 0.0
                    for t in range(d):
                        s += qi[t] * kj[t]
                    s *= row_scale
                    if opts.is_causal and j > i + offset:
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
                    out_h.append([0.0 if opts.fully_masked == "zero" else math.nan] * dv)
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

"""dropout in pure Python: one pass over the rows of plain lists, the scale computed once.

The rule (product or select) is chosen once per call, so the inner loop is one conditional
expression per value; everything is float64 (Python floats).
"""

from __future__ import annotations

from typing import Any

from harness import implementation
from suites.dropout import ARGS, DropoutOptions, dropout_scale


@implementation(
    "dropout",
    "python",
    "loops",
    max_flops=2.0 * 80_000,  # p_near_one (2e5 values) takes seconds
    expected_failures={
        "empty_d": "a list of empty rows carries no dtype: the (N, 0) mask reads as float64 "
        "and ARGS.check refuses it as not bool"
    },
)
def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> list[list[float]]:
    """List comprehensions per row; a dropped value is x·0.0 (product) or 0.0 (select)."""
    ARGS.check(x, mask, p)
    s = dropout_scale(float(p), opts)
    if not opts.training:
        return [[v * s for v in row] for row in x]
    if opts.nan_dropped == "product":  # x·0.0 keeps a NaN, turns an inf into NaN
        return [
            [v * s if k else v * 0.0 for v, k in zip(r, m, strict=True)]
            for r, m in zip(x, mask, strict=True)
        ]
    return [
        [v * s if k else 0.0 for v, k in zip(r, m, strict=True)]
        for r, m in zip(x, mask, strict=True)
    ]

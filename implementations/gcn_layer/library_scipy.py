"""gcn_layer with scipy.sparse: Â assembled as a COO matrix (duplicates summed when it is
converted to CSR) or taken from the dense or sparse adjacency (repeated entries summed,
stored zeros dropped), the self-loops and degree scaling done with sparse diagonal
products, then one sparse-times-dense product with X·W (BLAS).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from harness import implementation
from suites.gcn_layer import GcnOptions, check


@implementation(
    "gcn_layer",
    "library",
    "scipy_sparse",
    arrays="numpy",
    requires=("scipy",),
    supports={"duplicates": ("sum",)},
)
def gcn(x: Any, edge_index: Any, edge_weight: Any, weight: Any, bias: Any, opts: GcnOptions) -> Any:
    """CSR A (sums duplicates), self-loops on its diagonal, D^-1/2·A·D^-1/2 (or D^-1·A)."""
    dtype = check(x, edge_index, edge_weight, weight, bias, opts)
    n = x.shape[0]
    if opts.adjacency == "edge_list":
        e = edge_index.shape[1]
        w = np.ones(e, dtype) if edge_weight is None else edge_weight
        a = sp.csr_matrix((w, (edge_index[1], edge_index[0])), shape=(n, n), dtype=dtype)
    else:  # dense or sparse A[target, source]: repeated entries summed, stored zeros dropped
        a = sp.csr_matrix(edge_index, dtype=dtype, copy=True)
        a.sum_duplicates()
        a.eliminate_zeros()
    if opts.self_loops == "add":
        a = a + sp.identity(n, dtype=dtype, format="csr")
    elif opts.self_loops == "add_remaining":
        diag = a.diagonal()
        a = a + sp.diags(np.where(diag == 0, 1, 0).astype(dtype), format="csr")
    if opts.normalization != "none":
        deg = np.asarray(a.sum(axis=1)).ravel()
        with np.errstate(divide="ignore"):
            if opts.normalization == "symmetric":
                d = np.where(deg > 0, 1 / np.sqrt(deg), 0).astype(dtype)
                a = sp.diags(d) @ a @ sp.diags(d)
            else:
                a = sp.diags(np.where(deg != 0, 1 / deg, 0).astype(dtype)) @ a
    out = np.asarray(a @ (x @ weight), dtype=dtype)
    return out if bias is None else out + bias

"""Suite for gcn_layer: one graph-convolution layer, out = Â·X·W + b over an edge list."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class GcnOptions(Options):
    normalization: str = option(
        "symmetric",
        "row",
        "none",
        meaning="symmetric: D^-1/2·A·D^-1/2 (Kipf & Welling, GCNConv); row: D^-1·A (mean over "
        "incoming edges); none: A. D = weighted in-degree; a zero degree gives 0, not inf",
    )
    self_loops: str = option(
        "add_remaining",
        "add",
        "none",
        meaning="add_remaining: every node gets exactly one self-loop, of weight 1 where it had "
        "none, else the weight of its existing self-loop(s) (torch-geometric's "
        "add_remaining_self_loops); add: A + I, an existing self-loop gains 1 (the paper's "
        "Ã = A + I); none: the graph as given",
    )
    duplicates: str = option(
        "sum",
        "first",
        meaning="a repeated (source, target) pair: its weights summed (scatter-add, "
        "torch-geometric, scipy.sparse) or only its first occurrence kept (edge lists only: a "
        "matrix holds one total per pair)",
    )
    adjacency: str = option(
        "edge_list",
        "dense",
        "sparse",
        meaning="the form of the graph argument: edge_list, edge_index (2, E) plus optional "
        "edge_weight (E,); dense, an (N, N) array A[i, j] = total weight of the edges j -> i "
        "(target row, source column: GCN's Â·H); sparse, the same A as a scipy.sparse CSR "
        "matrix (NumPy and Numba), a torch sparse COO tensor (torch), a cupyx CSR matrix "
        "(CuPy), whose repeated stored entries are summed. In both matrix forms a zero entry, "
        "stored or not, is no edge, and edge_weight must be None",
    )


# edge_index[0] holds sources j, edge_index[1] targets i: the edge j -> i carries x_j to i
# (torch-geometric's source_to_target flow), so A[i, j] = w and degrees are in-degrees.
ARGS = Args(
    Arg("x", ("N", "F")),
    Arg("edge_index", (2, "E"), "int"),
    Arg("edge_weight", ("E",), optional=True),
    Arg("weight", ("F", "Fo")),
    Arg("bias", ("Fo",), optional=True),
    nonempty=("N",),
    same_dtype=("x", "edge_weight", "weight", "bias"),
)


# The same arguments when the graph is a matrix (adjacency dense or sparse): its own check.
MATRIX_ARGS = Args(
    *(d for d in ARGS.decls if d.name != "edge_index"),
    nonempty=("N",),
    same_dtype=("x", "edge_weight", "weight", "bias"),
)


def stored_values(adjacency: Any) -> Any:
    """The values a matrix adjacency holds, in its own namespace: a dense array itself, a
    scipy/cupyx sparse matrix's data, a torch sparse tensor's (uncoalesced) values."""
    layout = str(getattr(adjacency, "layout", ""))
    if layout == "torch.sparse_coo":
        return adjacency._values()
    if layout.startswith("torch.sparse"):
        return adjacency.values()
    if hasattr(adjacency, "nnz") and hasattr(adjacency, "data"):
        return adjacency.data
    return adjacency


def check_matrix(adjacency: Any, n: int, negative: str | None) -> None:
    """A matrix adjacency: (N, N), real values; ``negative``: the ValueError's message for a
    negative value (None: negative values are allowed)."""
    shape = tuple(int(s) for s in getattr(adjacency, "shape", ()))
    if shape != (n, n):
        raise ValueError(f"adjacency must be square (N, N) = ({n}, {n}), got {shape}")
    values = stored_values(adjacency)
    kind = getattr(values, "dtype", None)
    if kind is None or not (
        getattr(kind, "is_floating_point", False)
        or str(kind).rsplit(".", 1)[-1].startswith(("float", "int"))
    ):
        raise TypeError(f"adjacency must hold real numbers, got {kind}")
    if negative is not None and values.shape[0] and bool((values < 0).any()):
        raise ValueError(negative)


def check(
    x: Any, edge_index: Any, edge_weight: Any, weight: Any, bias: Any, opts: GcnOptions
) -> Any:
    """The one-line input check of every implementation (any array namespace): shapes and
    dtypes, node ids in [0, N), no negative weight under symmetric normalisation (its
    D^-1/2 would be imaginary). Under a matrix adjacency: it is (N, N) with real values and
    edge_weight is None. Returns the result dtype."""
    if opts.adjacency != "edge_list":
        dtype = MATRIX_ARGS.check(x, edge_weight, weight, bias)
        if edge_weight is not None:
            raise ValueError("edge_weight must be None with a matrix adjacency (A holds them)")
        symmetric = opts.normalization == "symmetric"
        negative = "edge_weight must be >= 0 with symmetric normalization" if symmetric else None
        check_matrix(edge_index, int(x.shape[0]), negative)
        return dtype
    dtype = ARGS.check(x, edge_index, edge_weight, weight, bias)
    n = int(x.shape[0])
    if edge_index.shape[1]:
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= n:
            raise ValueError(f"edge_index holds node ids {lo}..{hi}, outside [0, N={n})")
        if (
            opts.normalization == "symmetric"
            and edge_weight is not None
            and bool((edge_weight < 0).any())
        ):
            raise ValueError("edge_weight must be >= 0 with symmetric normalization")
    return dtype


def matrix_edges(adjacency: Any) -> tuple[np.ndarray, np.ndarray]:
    """A NumPy-world matrix adjacency (dense array or scipy.sparse) as an edge list: the
    (2, E) int64 ids (row 0 sources j, row 1 targets i) and the float64 weights A[i, j] of
    its nonzero entries, repeated stored entries summed first, explicit zeros dropped."""
    if hasattr(adjacency, "tocoo"):
        coo = adjacency.tocoo(copy=True)
        coo.sum_duplicates()
        dst, src, w = coo.row, coo.col, np.asarray(coo.data, dtype=np.float64)
    else:
        a = np.asarray(adjacency, dtype=np.float64)
        dst, src = np.nonzero(a)
        w = a[dst, src]
    keep = w != 0
    return np.stack([src[keep], dst[keep]]).astype(np.int64), w[keep]


def normalized_edges(
    edge_index: Any, edge_weight: Any, n: int, opts: GcnOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sources, targets, coefficients) of Â in float64 NumPy: duplicates resolved, then the
    self-loops, then the normalisation. Isolated nodes (degree 0) get coefficient 0."""
    src, dst = (np.asarray(edge_index[k], dtype=np.int64) for k in (0, 1))
    e = src.shape[0]
    w = np.ones(e) if edge_weight is None else np.asarray(edge_weight, dtype=np.float64)
    if opts.duplicates == "first":
        _, first = np.unique(dst * n + src, return_index=True)
        keep = np.sort(first)
        src, dst, w = src[keep], dst[keep], w[keep]
    nodes = np.arange(n)
    if opts.self_loops == "add":
        src, dst, w = np.r_[src, nodes], np.r_[dst, nodes], np.r_[w, np.ones(n)]
    elif opts.self_loops == "add_remaining":
        loop = src == dst
        has = np.zeros(n, dtype=bool)
        has[src[loop]] = True
        loop_w = np.where(has, np.bincount(src[loop], w[loop], minlength=n), 1.0)
        src, dst, w = np.r_[src[~loop], nodes], np.r_[dst[~loop], nodes], np.r_[w[~loop], loop_w]
    deg = np.bincount(dst, w, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        if opts.normalization == "symmetric":
            inv = np.where(deg > 0, 1.0 / np.sqrt(deg), 0.0)
            return src, dst, inv[src] * w * inv[dst]
        if opts.normalization == "row":
            return src, dst, w * np.where(deg != 0, 1.0 / deg, 0.0)[dst]
    return src, dst, w


def gcn_layer(
    x: Any, edge_index: Any, edge_weight: Any, weight: Any, bias: Any, opts: GcnOptions
) -> Any:
    """Oracle: float64. A matrix adjacency read as its edge list (matrix_edges), Â from the
    edge list (normalized_edges), H = X·W, then out[i] = b +
    Σ over the edges j -> i of Â_ij·H[j], accumulated with np.add.at."""
    dtype = check(x, edge_index, edge_weight, weight, bias, opts)
    x64, w64 = np.asarray(x, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    n = x64.shape[0]
    if opts.adjacency != "edge_list":
        edge_index, edge_weight = matrix_edges(edge_index)
    src, dst, coef = normalized_edges(edge_index, edge_weight, n, opts)
    h = x64 @ w64
    out = np.zeros((n, w64.shape[1]))
    np.add.at(out, dst, coef[:, None] * h[src])
    if bias is not None:
        out += np.asarray(bias, dtype=np.float64)
    return out.astype(dtype)


# Weights of weighted graphs are drawn in [W_LO, W_HI]; x ~ N(0, 1), W ~ N(0, 1/F), so H = X·W
# has unit entries.
W_LO, W_HI = 0.25, 2.0


def as_matrix(
    edge_index: np.ndarray, ew: np.ndarray | None, n: int, form: str, dtype: Any, rng: Any
) -> Any:
    """The edge list as the matrix adjacency ``form`` asks for. dense: A[i, j] = the summed
    weight of the edges j -> i (1 per edge when unweighted), so repeated pairs are summed.
    sparse: a scipy CSR matrix keeping every edge as its own stored entry (repeated pairs
    stay repeated: scipy sums them) plus explicit zeros at about N/3 random pairs, half of
    them on the diagonal (a stored zero is no edge, nor an existing self-loop)."""
    src, dst = edge_index
    w = np.ones(src.shape[0]) if ew is None else ew
    if form == "dense":
        a = np.zeros((n, n))
        np.add.at(a, (dst, src), w)
        return a.astype(dtype)
    import scipy.sparse as sp

    k = max(n // 3, 1)
    zr, zc = rng.integers(0, n, k), rng.integers(0, n, k)
    zc[: (k + 1) // 2] = zr[: (k + 1) // 2]
    rows, cols, vals = np.r_[dst, zr], np.r_[src, zc], np.r_[w, np.zeros(k)]
    order = np.argsort(rows, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n))]
    return sp.csr_matrix((vals[order].astype(dtype), cols[order], indptr), shape=(n, n))


def make_inputs(case: Case) -> Inputs:
    """A random directed multigraph without self-loops (sources and targets uniform over
    distinct nodes; repeated pairs occur naturally), then per ``pattern``: ``loops`` gives a
    third of the nodes one self-loop, ``dup_loops`` two; ``isolated`` routes no edge into the
    first half of the nodes; ``symmetric`` mirrors every edge; ``negative`` flips one weight's
    sign; ``nan`` puts a NaN into x (it reaches that node's out-neighbours). A matrix
    ``adjacency`` option turns the edge list into that matrix (as_matrix)."""
    p, rng = case.params, np.random.default_rng(case.seed)
    n, e, f, fo = (int(p[k]) for k in ("N", "E", "F", "Fo"))
    pattern = p.get("pattern", "random")
    src = rng.integers(0, n, e)
    low = n // 2 if pattern == "isolated" and n > 1 else 0
    dst = (src + rng.integers(1, max(n, 2), e)) % n if n > 1 else np.zeros(e, dtype=np.int64)
    if low:
        dst = rng.integers(low, n, e)
        src = np.where(src == dst, (dst + 1) % n, src)
    if pattern == "symmetric":
        half = e // 2
        src, dst = np.r_[src[:half], dst[:half]], np.r_[dst[:half], src[:half]]
        if e % 2:  # an odd edge count: one self-loop, its own mirror image
            src, dst = np.r_[src, 0], np.r_[dst, 0]
    if pattern in ("loops", "dup_loops") and e >= 3:
        k = min(max(n // 3, 1), e // 3)
        nodes = rng.choice(n, k, replace=False)
        src[:k], dst[:k] = nodes, nodes
        if pattern == "dup_loops":
            src[k : 2 * k], dst[k : 2 * k] = nodes, nodes
    order = rng.permutation(e)  # loops and mirrored pairs anywhere in the list
    edge_index = np.stack([src[order], dst[order]]).astype(np.int64)
    x = rng.standard_normal((n, f))
    if pattern == "nan" and x.size:
        x[0, 0] = np.nan
    w = rng.standard_normal((f, fo)) / math.sqrt(max(f, 1))
    ew = rng.uniform(W_LO, W_HI, e)
    if pattern == "negative" and e:
        ew[0] = -ew[0]
    bias = rng.uniform(-0.5, 0.5, fo)
    dtype = np.dtype(case.dtype)
    graph: Any = edge_index
    weights = ew.astype(dtype) if p.get("weighted", False) else None
    form = case.options.get("adjacency", "edge_list")
    if form != "edge_list":
        graph, weights = as_matrix(edge_index, weights, n, form, dtype, rng), None
    return {
        "x": x.astype(dtype),
        "edge_index": graph,
        "edge_weight": weights,
        "weight": w.astype(dtype),
        "bias": bias.astype(dtype) if p.get("bias", True) else None,
    }


def cost(case: Case) -> Cost:
    """flops = 2·N·F·Fo (X·W) + 2·nnz·Fo (the aggregation), nnz = E + N self-loops; bytes =
    b·N·(F + Fo) + b·F·Fo + 12·nnz (two int64 ids read once, a float coefficient). A dense
    adjacency (the spec's dense formula): 2·N²·Fo for Â·(XW), and the N² matrix read once."""
    p = case.params
    n, e, f, fo = (int(p[k]) for k in ("N", "E", "F", "Fo"))
    b, nnz = np.dtype(case.dtype).itemsize, e + n
    if case.options.get("adjacency") == "dense":
        return Cost(2.0 * n * f * fo + 2.0 * n * n * fo, b * (n * (f + fo) + f * fo + n * n),
                    n * n, "entries")  # fmt: skip
    return Cost(2.0 * n * f * fo + 2.0 * nnz * fo, b * (n * (f + fo) + f * fo) + 12.0 * nnz,
                nnz, "edges")  # fmt: skip


def tolerance(case: Case) -> Tolerance:
    """Each output is an F-long dot product (unit entries of H, Kaiming-scaled W) summed over
    up to in-degree + 1 edges; the in-degree is bounded by E, so K = F + E + 1 covers any
    summation order (BLAS blocking, scatter-add atomics, a segmented sum). Normalised rows
    weigh their terms by coefficients summing to about 1, so outputs stay ~1 (atol x 1);
    unnormalised ones sum up to in-degree terms of weight <= W_HI, whose magnitude grows like
    sqrt(in-degree): atol x W_HI·sqrt(E + 1)."""
    p = case.params
    e = int(p["E"])
    k = int(p["F"]) + e + 1
    none = case.options.get("normalization", "symmetric") == "none"
    scale = W_HI * math.sqrt(e + 1) if none else 1.0
    base = default_tolerance(case.dtype, k, scale)
    return Tolerance(base.rtol, base.atol, base.reason + " (K = F + E + 1)")


ROW, NONE = {"normalization": "row"}, {"normalization": "none"}
ADD, NO_LOOPS, FIRST = {"self_loops": "add"}, {"self_loops": "none"}, {"duplicates": "first"}
DENSE, SPARSE = {"adjacency": "dense"}, {"adjacency": "sparse"}
# Sizes: N 13, E 60 (several repeated pairs: E²/2N(N-1) ~ 11), F 7, Fo 5 unless said.
CASES = [
    case("random_f32"),
    case("random_f64", dtype="float64"),
    # the error base: weighted, every size distinct and >= 3 (the edge_index literal is 2)
    case("weighted_f32", weighted=True),
    case("weighted_f64", weighted=True, dtype="float64"),
    case("existing_self_loops_f64", pattern="loops", weighted=True, dtype="float64"),
    case("existing_self_loops_add", pattern="loops", weighted=True, options=ADD),
    case("duplicate_self_loops", pattern="dup_loops", weighted=True, dtype="float64"),
    case("first_of_duplicates_f64", weighted=True, dtype="float64", options=FIRST),
    case("dup_loops_first", pattern="dup_loops", weighted=True, options=FIRST),
    case("row_normalized_f64", weighted=True, dtype="float64", options=ROW),
    case("row_add_f32", options={**ROW, **ADD}),
    case("unnormalized_f64", weighted=True, dtype="float64", options=NONE),
    case("unnormalized_no_loops", options={**NONE, **NO_LOOPS}),
    case("symmetric_graph", pattern="symmetric", dtype="float64"),
    case("wide_features", N=40, E=300, F=96, Fo=48),
    # the matrix forms (directed graphs: a transposed A fails); repeated pairs summed in A
    case("dense_weighted_f64", weighted=True, dtype="float64", options=DENSE),
    case("dense_dup_loops", pattern="dup_loops", weighted=True, options=DENSE),
    case(
        "dense_row_no_loops_f64",
        pattern="loops",
        dtype="float64",
        options={**DENSE, **ROW, **NO_LOOPS},
    ),
    # CSR with repeated stored entries and explicit zeros (a few on the diagonal)
    case("sparse_weighted_f64", weighted=True, dtype="float64", options=SPARSE),
    case("sparse_dup_loops", pattern="dup_loops", weighted=True, options=SPARSE),
    case("sparse_unweighted_add", options={**SPARSE, **ADD}),
    case("sparse_unnormalized_f64", pattern="loops", dtype="float64", options={**SPARSE, **NONE}),
    # 300 nodes and 272 output features: past a 256-wide block of either
    case("multi_block", N=300, E=1500, F=9, Fo=272),
    edge("isolated_no_self_loops_f64", pattern="isolated", dtype="float64", options=NO_LOOPS),
    edge("isolated_row_no_loops", pattern="isolated", weighted=True, options={**ROW, **NO_LOOPS}),
    edge("isolated_with_self_loops", pattern="isolated", weighted=True),
    edge("single_node", N=1, E=4, dtype="float64"),
    edge("single_node_no_loops", N=1, E=3, options=NO_LOOPS),
    edge("negative_weights_row", weighted=True, pattern="negative", dtype="float64", options=ROW),
    edge("no_bias", bias=False, weighted=True),
    edge("nan_reaches_out_neighbours", pattern="nan", dtype="float64"),
    # one empty size each, the others nonzero, distinct and not 2 (N 13, E 60, F 7, Fo 5)
    edge("no_edges", E=0),
    edge("dense_isolated_no_loops", pattern="isolated", options={**DENSE, **NO_LOOPS}),
    edge("dense_single_node", N=1, E=4, dtype="float64", options=DENSE),
    edge("sparse_only_explicit_zeros", E=0, options=SPARSE),
    edge("no_edges_no_loops", E=0, weighted=True, options=NO_LOOPS),
    edge("no_features", F=0),
    edge("no_out_features", Fo=0),
]
ERRORS = [
    error("node_id_past_n", ValueError, r"outside \[0, N=13\)", bad_id=13),
    error("negative_node_id", ValueError, r"outside \[0, N=13\)", bad_id=-1),
    error(
        "negative_weight_symmetric",
        ValueError,
        r"edge_weight must be >= 0 with symmetric",
        weighted=True,
        pattern="negative",
    ),
    error("non_square_dense", ValueError, r"must be square", options=DENSE, non_square=True),
    error("non_square_sparse", ValueError, r"must be square", options=SPARSE, non_square=True),
    error(
        "negative_weight_sparse",
        ValueError,
        r"edge_weight must be >= 0 with symmetric",
        weighted=True,
        pattern="negative",
        options=SPARSE,
    ),
]
# Standard: the specification's N = 10,000, 100,000 edges, 128 -> 64 (0.18 GFLOP).
STD: dict[str, Any] = {"N": 10_000, "E": 100_000, "F": 128, "Fo": 64}
BENCH = {
    "smoke": [bench("bench_small", N=500, E=4000, F=32, Fo=16)],
    "quick": [bench("bench_standard", **STD)],
    "full": [
        bench("bench_large", N=1_000_000, E=10_000_000, F=128, Fo=64),
        # the spec's dense variant: N = 2,048 as an (N, N) array, the standard's mean degree
        bench("bench_dense_2048", N=2048, E=20_480, F=128, Fo=64, options=DENSE),
    ],
}


def _make_inputs(case: Case) -> Inputs:
    """make_inputs, then the error cases' out-of-range node id in the first target or a
    matrix adjacency without its last column."""
    inputs = make_inputs(case)
    if case.params.get("non_square"):
        inputs["edge_index"] = inputs["edge_index"][:, :-1]
    bad = case.params.get("bad_id")
    if bad is not None:
        inputs["edge_index"][1, 0] = int(bad)
    return inputs


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(1, 12),
            "E": st.integers(0, 40),
            "F": st.integers(0, 6),
            "Fo": st.integers(0, 6),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "weighted": st.booleans(),
            "bias": st.booleans(),
            "pattern": st.sampled_from(["random", "loops", "dup_loops", "isolated", "symmetric"]),
        }
    )
    return fuzz_cases(params, GcnOptions.strategy())


SUITE = Suite(
    algorithm="gcn_layer",
    family="attention-and-layers",
    summary="One GCN layer over an edge list: out = Â·(X·W) + b, Â = D^-1/2·(A + self-loops)·"
    "D^-1/2 by default; x (N, F), edge_index (2, E), weight (F, Fo) -> (N, Fo).",
    conventions=(
        "gcn_layer(x, edge_index, edge_weight, weight, bias, opts). edge_index[0] = source j, "
        "edge_index[1] = target i (torch-geometric's source_to_target flow): the edge j -> i "
        "adds Â_ij·(X·W)[j] to out[i], so A[i, j] = w and the degree D_ii is the weighted "
        "in-degree, self-loops included. edge_weight (E,) or None (all 1). weight is (F, Fo), "
        "the transpose of torch Linear's / GCNConv.lin's (Fo, F). No activation (as GCNConv). "
        "duplicates: repeated pairs summed (default) or the first kept; self_loops: "
        "add_remaining (default, torch-geometric: one loop per node, an existing loop keeps its "
        "(summed) weight), add (A + I), none; normalization: symmetric (default), row (D^-1·A) "
        "or none. adjacency: edge_list (default); dense, edge_index an (N, N) array A[i, j] "
        "(target row i, source column j, the summed weight of j -> i); sparse, the same A as "
        "scipy.sparse CSR (NumPy, Numba), torch sparse COO (torch), cupyx CSR (CuPy), repeated "
        "stored entries summed; in the matrix forms a zero entry, stored or not, is no edge "
        "(nor an existing self-loop), edge_weight must be None and duplicates has no effect. "
        "A zero degree gives a zero coefficient (D^-1/2 = 0), so an isolated node "
        "without self-loop outputs the bias. NaN in x reaches the nodes its edges point to. "
        "Output dtype: the float inputs' common dtype. ValueError: node ids outside [0, N), a "
        "negative edge weight with symmetric normalization, N = 0, shapes not agreeing, a "
        "matrix adjacency that is not (N, N)."
    ),
    args=ARGS,
    options=GcnOptions,
    make_inputs=_make_inputs,
    oracle=gcn_layer,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 5, "dtype": "float32", "N": 13, "E": 60, "F": 7, "Fo": 5},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_standard",
    error_base="weighted_f32",
    multi_block={"N": 300, "Fo": 272},
    divergent_inputs={"no_features": lambda inputs: inputs["x"].shape[1] == 0},
    fuzz=fuzz_strategy,
    reference="torch_geometric.nn.GCNConv(normalize=True, add_self_loops=..., bias=False) with "
    "lin.weight = Wᵀ (runs where torch-geometric is installed; its gcn_norm semantics are "
    "ported into the oracle); scipy.sparse: Â as a CSR matrix times X·W",
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),
)

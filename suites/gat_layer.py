"""Suite for gat_layer: one graph-attention layer (GAT) over an edge list, multi-head."""

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
from suites.gcn_layer import as_matrix, check_matrix, matrix_edges


def _slope(v: Any) -> bool:
    return isinstance(v, float) and 0.0 <= v < 1.0  # NaN fails


@dataclass(frozen=True)
class GatOptions(Options):
    self_loops: str = option(
        "replace",
        "none",
        meaning="replace: existing self-loops removed, then one per node added (torch-"
        "geometric GATConv, so every node attends to itself once); none: the graph as given",
    )
    heads: str = option(
        "concat",
        "mean",
        meaning="concat: the H head outputs side by side, (N, H·C) (hidden layers); mean: "
        "their average, (N, C) (the output layer)",
    )
    multi_edges: str = option(
        "each",
        "once",
        meaning="each: a repeated edge j -> i is a softmax term per occurrence (edge-list "
        "GATConv); once: at most one term per (j, i) pair (a dense 0/1 adjacency mask)",
    )
    activation: str = option(
        "none",
        "elu",
        meaning="none: the raw aggregation (GATConv); elu: ELU(α = 1) after it (the paper's "
        "hidden layers)",
    )
    adjacency: str = option(
        "edge_list",
        "dense",
        "sparse",
        meaning="the form of the graph argument: edge_list, edge_index (2, E); dense, an "
        "(N, N) array A[i, j] = the number of edges j -> i (target row, source column); "
        "sparse, the same A as a scipy.sparse CSR matrix (NumPy), a torch sparse COO tensor "
        "(torch), a cupyx CSR matrix (CuPy), whose repeated stored entries are summed. A "
        "matrix entry is a multiplicity: under multi_edges=each the softmax term of j -> i "
        "counts A[i, j] times (exp(e_ij) weighed by A[i, j]), under once it counts once; a "
        "zero entry, stored or not, is no edge; a negative one is refused",
    )
    negative_slope: float = option(
        0.2, 0.01, meaning="the LeakyReLU slope of the attention logits, in [0, 1)", accepts=_slope
    )


# edge_index[0] = sources j, edge_index[1] = targets i: node i attends over the edges j -> i.
ARGS = Args(
    Arg("x", ("N", "F")),
    Arg("edge_index", (2, "E"), "int"),
    Arg("weight", ("F", "H", "C")),
    Arg("att_src", ("H", "C")),
    Arg("att_dst", ("H", "C")),
    nonempty=("N",),
    same_dtype=("x", "weight", "att_src", "att_dst"),
)

# The same arguments when the graph is a matrix (adjacency dense or sparse): its own check.
MATRIX_ARGS = Args(
    *(d for d in ARGS.decls if d.name != "edge_index"),
    nonempty=("N",),
    same_dtype=("x", "weight", "att_src", "att_dst"),
)


def check(
    x: Any, edge_index: Any, weight: Any, att_src: Any, att_dst: Any, opts: GatOptions
) -> Any:
    """The one-line input check of every implementation (any array namespace): shapes,
    dtypes, node ids in [0, N); a matrix adjacency (N, N) with real values >= 0. Returns the
    result dtype."""
    if opts.adjacency != "edge_list":
        dtype = MATRIX_ARGS.check(x, weight, att_src, att_dst)
        check_matrix(edge_index, int(x.shape[0]), "adjacency counts must be >= 0")
        return dtype
    dtype = ARGS.check(x, edge_index, weight, att_src, att_dst)
    n = int(x.shape[0])
    if edge_index.shape[1]:
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= n:
            raise ValueError(f"edge_index holds node ids {lo}..{hi}, outside [0, N={n})")
    return dtype


def attention_edges(
    edge_index: Any, n: int, opts: GatOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sources, targets, multiplicities) of the softmax terms: a matrix adjacency read as
    its nonzero entries with their values as multiplicities (an edge list: 1 per edge),
    repeated pairs merged and multiplicities set to 1 under multi_edges='once', then
    self-loops replaced by exactly one per node under self_loops='replace'."""
    if opts.adjacency != "edge_list":
        edge_index, mult = matrix_edges(edge_index)
    else:
        mult = np.ones(np.shape(edge_index)[1])
    src, dst = (np.asarray(edge_index[k], dtype=np.int64) for k in (0, 1))
    if opts.multi_edges == "once":
        keep = np.sort(np.unique(dst * n + src, return_index=True)[1])
        src, dst, mult = src[keep], dst[keep], np.ones(keep.shape[0])
    if opts.self_loops == "replace":
        keep = src != dst
        nodes = np.arange(n)
        src, dst = np.r_[src[keep], nodes], np.r_[dst[keep], nodes]
        mult = np.r_[mult[keep], np.ones(n)]
    return src, dst, mult


def gat_layer(
    x: Any, edge_index: Any, weight: Any, att_src: Any, att_dst: Any, opts: GatOptions
) -> Any:
    """Oracle: float64, target by target. z = X·W per head; for target i and its incoming
    terms j, e_ij = LeakyReLU(att_dst·z_i + att_src·z_j), α = the max-shifted softmax of
    e over those terms (each exp weighed by the term's multiplicity), out_i = Σ α_ij·z_j
    (0 without any term); heads concatenated or averaged, then the activation."""
    dtype = check(x, edge_index, weight, att_src, att_dst, opts)
    x64, w64 = np.asarray(x, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    a_src, a_dst = np.asarray(att_src, np.float64), np.asarray(att_dst, np.float64)
    n, (_, h, c) = x64.shape[0], w64.shape
    z = np.einsum("nf,fhc->nhc", x64, w64)
    s_src, s_dst = (z * a_src).sum(-1), (z * a_dst).sum(-1)  # (N, H) per-node scores
    src, dst, mult = attention_edges(edge_index, n, opts)
    out = np.zeros((n, h, c))
    for i in range(n):
        js, ms = src[dst == i], mult[dst == i]
        if js.size == 0:
            continue
        e = s_dst[i][None, :] + s_src[js]  # (terms, H)
        e = np.where(e > 0, e, opts.negative_slope * e)
        p = ms[:, None] * np.exp(e - e.max(axis=0))
        alpha = p / p.sum(axis=0)
        out[i] = np.einsum("th,thc->hc", alpha, z[js])
    y = out.reshape(n, h * c) if opts.heads == "concat" else out.mean(axis=1)
    if opts.activation == "elu":
        y = np.where(y > 0, y, np.expm1(np.minimum(y, 0.0)))
    return y.astype(dtype)


def make_inputs(case: Case) -> Inputs:
    """A random directed multigraph (sources and targets uniform, repeated pairs and a few
    self-loops by chance), then per ``pattern``: ``loops`` gives a third of the nodes one or
    two self-loops; ``isolated`` routes no edge into the first half of the nodes;
    ``dense`` draws every (j, i) pair once; ``nan`` puts a NaN into x. ``logit_scale``
    multiplies the attention vectors (huge logits: a softmax without its max shift
    overflows). A matrix ``adjacency`` option turns the edge list into that matrix of
    edge counts (suites.gcn_layer.as_matrix: stored zeros and repeated entries in CSR)."""
    p, rng = case.params, np.random.default_rng(case.seed)
    n, e, f, h, c = (int(p[k]) for k in ("N", "E", "F", "H", "C"))
    pattern = p.get("pattern", "random")
    if pattern == "dense":
        grid = np.indices((n, n)).reshape(2, -1)
        edge_index = grid[:, rng.permutation(n * n)]
    else:
        low = n // 2 if pattern == "isolated" else 0
        src, dst = rng.integers(0, n, e), rng.integers(low, n, e)
        if pattern == "loops" and e >= 4:
            k = min(max(n // 3, 1), e // 4)
            nodes = rng.choice(n, k, replace=False)
            src[:k], dst[:k] = nodes, nodes
            src[k : 2 * k], dst[k : 2 * k] = nodes, nodes  # twice: a repeated self-loop
        edge_index = np.stack([src, dst])[:, rng.permutation(e)]
    x = rng.standard_normal((n, f))
    if pattern == "nan" and x.size:
        x[0, 0] = np.nan
    w = rng.standard_normal((f, h, c)) / math.sqrt(max(f, 1))
    scale = float(p.get("logit_scale", 1.0)) / math.sqrt(max(c, 1))
    a_src, a_dst = rng.standard_normal((h, c)) * scale, rng.standard_normal((h, c)) * scale
    dtype = np.dtype(case.dtype)
    graph: Any = edge_index.astype(np.int64)
    form = case.options.get("adjacency", "edge_list")
    if form != "edge_list":  # counts: repeated pairs summed (dense) or stored repeatedly
        graph = as_matrix(graph, None, n, form, dtype, rng)
    return {
        "x": x.astype(dtype),
        "edge_index": graph,
        "weight": w.astype(dtype),
        "att_src": a_src.astype(dtype),
        "att_dst": a_dst.astype(dtype),
    }


def _sizes(case: Case) -> tuple[int, int, int, int, int]:
    p = case.params
    n, e, f, h, c = (int(p[k]) for k in ("N", "E", "F", "H", "C"))
    return n, (n * n if p.get("pattern") == "dense" else e), f, h, c


def cost(case: Case) -> Cost:
    """Per head (the spec's model): 2·N·F·C (X·W) + 4·N·C (the two node scores) + 5·nnz
    (add, LeakyReLU, max, exp, sum) + 2·nnz·C (the weighted sum), nnz = E + N self-loops;
    bytes = b·(N·F + F·H·C + N·H·C) + 16·E (two int64 ids)."""
    n, e, f, h, c = _sizes(case)
    b, nnz = np.dtype(case.dtype).itemsize, e + n
    flops = h * (2.0 * n * f * c + 4.0 * n * c + 5.0 * nnz + 2.0 * nnz * c)
    return Cost(flops, b * (n * f + f * h * c + n * h * c) + 16.0 * e, nnz, "edges")


def tolerance(case: Case) -> Tolerance:
    """z = X·W is an F-long dot product (unit entries, Kaiming-scaled W), the node scores
    C-long ones, the output a softmax-weighted sum over at most E + 1 terms; K = F + C + E
    + 1 bounds every accumulation. The softmax passes a logit error δe on as a relative
    error ~δe in α, and δe grows with the logits' size (~3·logit_scale at 3 sigma): rtol
    and atol x (1 + 3·logit_scale). Outputs are convex combinations of z's unit entries
    (mean of heads too), so atol = rtol."""
    _, e, f, _, c = _sizes(case)
    spread = 1.0 + 3.0 * float(case.params.get("logit_scale", 1.0))
    base = default_tolerance(case.dtype, f + c + e + 1, 1.0)
    return Tolerance(
        base.rtol * spread, base.atol * spread, f"{base.reason}; K = F + C + E + 1, x{spread:g}"
    )


MEAN, NO_LOOPS, ONCE, ELU = (
    {"heads": "mean"},
    {"self_loops": "none"},
    {"multi_edges": "once"},
    {"activation": "elu"},
)
DENSE, SPARSE = {"adjacency": "dense"}, {"adjacency": "sparse"}
# Sizes: N 11, E 50 (repeated pairs and self-loops occur by chance), F 7, H 3, C 5 unless said.
CASES = [
    case("random_f32"),  # the error base: every size distinct and >= 3
    case("random_f64", dtype="float64"),
    case("mean_of_heads_f64", dtype="float64", options=MEAN),
    case("elu_f32", options=ELU),
    case("elu_mean_f64", dtype="float64", options={**ELU, **MEAN}),
    case("slope_0.01_f64", dtype="float64", options={"negative_slope": 0.01}),
    case("existing_self_loops_f64", pattern="loops", dtype="float64"),
    case("self_loops_as_given_f64", pattern="loops", dtype="float64", options=NO_LOOPS),
    case("multi_edges_once_f64", dtype="float64", E=90, options=ONCE),
    case("multi_edges_each_f64", dtype="float64", E=90),
    case("once_as_given_loops", pattern="loops", options={**ONCE, **NO_LOOPS}),
    case("dense_graph_f64", pattern="dense", N=9, dtype="float64"),
    # the matrix forms (directed graphs: a transposed A fails); multiplicities in A
    case("dense_counts_f64", dtype="float64", E=90, options=DENSE),
    case("dense_once_loops", pattern="loops", options={**DENSE, **ONCE}),
    case(
        "dense_loops_as_given_f64", pattern="loops", dtype="float64", options={**DENSE, **NO_LOOPS}
    ),
    # CSR with repeated stored entries and explicit zeros (a few on the diagonal)
    case("sparse_counts_f64", dtype="float64", E=90, options=SPARSE),
    case("sparse_loops_mean", pattern="loops", options={**SPARSE, **MEAN}),
    case(
        "sparse_loops_as_given_f64",
        pattern="loops",
        dtype="float64",
        options={**SPARSE, **NO_LOOPS},
    ),
    case("sparse_once_as_given", pattern="loops", options={**SPARSE, **ONCE, **NO_LOOPS}),
    case("single_head", H=1, C=16, F=12),
    case("wide_features", N=40, E=200, F=96, H=4, C=8),
    # 300 nodes: past a 256-wide block of targets
    case("multi_block", N=300, E=1800, F=9, H=2, C=6),
    edge("huge_logits_f64", dtype="float64", logit_scale=400.0),
    edge("huge_logits_f32", logit_scale=60.0),
    edge("isolated_no_self_loops_f64", pattern="isolated", dtype="float64", options=NO_LOOPS),
    edge("isolated_with_self_loops", pattern="isolated"),
    edge("single_node", N=1, E=3, dtype="float64"),
    edge("single_node_no_loops", N=1, E=3, options=NO_LOOPS),
    edge("nan_reaches_out_neighbours", pattern="nan", dtype="float64"),
    # one empty size each, the others nonzero, distinct and not 2 (N 11, E 50, F 7, H 3, C 5)
    edge("dense_isolated_no_loops", pattern="isolated", options={**DENSE, **NO_LOOPS}),
    edge("sparse_single_node_f64", N=1, E=3, dtype="float64", options=SPARSE),
    edge("no_edges", E=0),
    edge("no_edges_no_loops", E=0, options=NO_LOOPS),
    edge("no_features", F=0),
    edge("no_heads", H=0),
    edge("no_head_width", C=0),
    edge("no_head_width_mean", C=0, options=MEAN),
]
ERRORS = [
    error("node_id_past_n", ValueError, r"outside \[0, N=11\)", bad_id=11),
    error("negative_node_id", ValueError, r"outside \[0, N=11\)", bad_id=-1),
    error("non_square_dense", ValueError, r"must be square", options=DENSE, non_square=True),
    error("non_square_sparse", ValueError, r"must be square", options=SPARSE, non_square=True),
    error(
        "negative_count_dense",
        ValueError,
        r"counts must be >= 0",
        options=DENSE,
        negative_count=True,
    ),
]
INVALID_OPTIONS: list[dict[str, Any]] = [{"negative_slope": -0.1}, {"negative_slope": 1.0}]
# Standard: the specification's Cora-sized layer, N = 2,708, 10,556 edges, F = 1,433 -> 8
# heads x 8 (0.50 GFLOP, almost all of it X·W).
BENCH = {
    "smoke": [bench("bench_small", N=300, E=1200, F=64, H=4, C=8)],
    "quick": [bench("bench_cora", N=2708, E=10556, F=1433, H=8, C=8)],
    "full": [bench("bench_large", N=100_000, E=2_000_000, F=256, H=8, C=32)],
}


def _make_inputs(case: Case) -> Inputs:
    """make_inputs, then the error cases' out-of-range node id in the first target, a
    matrix adjacency without its last column or with a negative entry."""
    inputs = make_inputs(case)
    if case.params.get("non_square"):
        inputs["edge_index"] = inputs["edge_index"][:, :-1]
    if case.params.get("negative_count"):
        inputs["edge_index"][0, 1] = -1.0
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
            "H": st.integers(0, 3),
            "C": st.integers(0, 5),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "pattern": st.sampled_from(["random", "loops", "isolated"]),
        }
    )
    return fuzz_cases(params, GatOptions.strategy())


SUITE = Suite(
    algorithm="gat_layer",
    family="attention-and-layers",
    summary="One GAT layer: z = X·W per head, e_ij = LeakyReLU(a_dst·z_i + a_src·z_j) over "
    "the edges j -> i, α = softmax over i's incoming edges, out_i = Σ α_ij·z_j; heads "
    "concatenated or averaged.",
    conventions=(
        "gat_layer(x, edge_index, weight, att_src, att_dst, opts). x (N, F); edge_index "
        "(2, E): row 0 sources j, row 1 targets i (torch-geometric's source_to_target flow); "
        "weight (F, H, C) (GATConv.lin.weight is its (H·C, F) transpose); att_src, att_dst "
        "(H, C) (GATConv's att_src/att_dst without their leading 1). The logit of edge j -> i "
        "is LeakyReLU(att_dst·z_i + att_src·z_j, negative_slope), built from two per-node "
        "scores (no N² x 2C concatenation); the softmax runs over i's incoming terms, "
        "shifted by their max (huge logits stay finite). self_loops: replace (default, "
        "GATConv: existing ones dropped, one per node added) or none; multi_edges: each "
        "(default, a repeated edge is a term per occurrence) or once. adjacency: edge_list "
        "(default); dense, edge_index an (N, N) array A[i, j] = the count of edges j -> i "
        "(target row, source column); sparse, the same A as scipy.sparse CSR (NumPy), torch "
        "sparse COO (torch), cupyx CSR (CuPy), repeated stored entries summed; a count k is k "
        "terms under each (exp(e_ij) weighed by k), one under once; zero entries, stored or "
        "not, are no edge. A node without any "
        "incoming term outputs 0 (an empty softmax). heads: concat (N, H·C) or mean (N, C); "
        "activation none (GATConv) or elu. No bias, no attention dropout. NaN in x reaches "
        "its node's out-neighbours. ValueError: node ids outside [0, N), N = 0, shapes not "
        "agreeing, a matrix adjacency not (N, N) or with a negative count; negative_slope "
        "outside [0, 1) is refused by the options record."
    ),
    args=ARGS,
    options=GatOptions,
    make_inputs=_make_inputs,
    oracle=gat_layer,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 7, "dtype": "float32", "N": 11, "E": 50, "F": 7, "H": 3, "C": 5},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_cora",
    error_base="random_f32",
    invalid_options=INVALID_OPTIONS,
    multi_block={"N": 300},
    # torch-geometric's GATConv cannot build a layer with an empty dimension
    divergent_inputs={
        "no_features": lambda inputs: inputs["x"].shape[1] == 0,
        "no_heads": lambda inputs: inputs["weight"].shape[1] == 0,
        "no_head_width": lambda inputs: inputs["weight"].shape[2] == 0,
    },
    fuzz=fuzz_strategy,
    reference="torch_geometric.nn.GATConv(F, C, heads=H, concat=..., negative_slope=..., "
    "dropout=0, add_self_loops=..., bias=False) with lin.weight, att_src, att_dst copied "
    "(runs where torch-geometric is installed; its semantics are ported into the oracle: "
    "remove_self_loops + add_self_loops, edge softmax over targets, slope 0.2)",
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
)

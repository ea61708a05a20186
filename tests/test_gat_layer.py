"""Pitfalls of gat_layer: each deliberately wrong variant is flagged by verify, with a diagnosis.

The variants are one NumPy implementation with a knob per classic mistake, registered as
harness Implementation records and run on the suite's own cases (fixed seeds) through
harness.verify.verify. The oracle is also held to a dense masked torch float64 formula.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import case_inputs, oracle_output, verify
from suites.gat_layer import SUITE, GatOptions, check

Fn = Callable[..., Any]


def read_matrix(a: Any, how: str) -> np.ndarray:
    """A dense or scipy.sparse count matrix A[target, source] as an edge list with A[i, j]
    copies of j -> i, read the right way (repeated stored entries summed, zeros no edge) or
    with one mistake: ``transposed`` (A[source, target]), ``stored`` (one edge per stored
    entry, explicit zeros too), ``first_stored`` (a repeated stored entry's first only),
    ``mask`` (one edge per nonzero pair, the counts lost), ``ignored`` (no edge at all)."""
    if hasattr(a, "tocoo"):
        coo = a.tocoo(copy=True)
        if how not in ("stored", "first_stored"):
            coo.sum_duplicates()
        dst, src, counts = coo.row, coo.col, coo.data.astype(np.float64)
        if how == "stored":
            counts = np.ones_like(counts)
        elif how == "first_stored":
            keep = np.sort(np.unique(dst * a.shape[0] + src, return_index=True)[1])
            dst, src, counts = dst[keep], src[keep], counts[keep]
    else:
        m = np.asarray(a, np.float64)
        m = m.T if how == "transposed" else m
        dst, src = np.nonzero(m)
        counts = m[dst, src]
    if how == "mask":
        counts = (counts != 0).astype(np.float64)
    if how == "ignored":
        counts = np.zeros_like(counts)
    reps = np.rint(counts).astype(np.int64)
    return np.stack([np.repeat(src, reps), np.repeat(dst, reps)]).astype(np.int64)


def variant(
    *,
    loops: str = "declared",
    group_by: str = "target",
    swap_att: bool = False,
    shift: bool = True,
    slope: float | None = None,
    heads: str = "declared",
    multi: str = "declared",
    empty_guard: bool = True,
    activation: str = "declared",
    compute: str = "input",
    targets_done: int = 0,
    in_place: bool = False,
    flat_when_empty: bool = False,
    checks: bool = True,
    matrix: str = "right",
) -> Fn:
    """A scatter-based NumPy GAT layer; every knob away from its default is one mistake."""

    def gat(x: Any, ei: Any, weight: Any, a_s: Any, a_d: Any, opts: GatOptions) -> Any:
        if checks:
            check(x, ei, weight, a_s, a_d, opts)
        dtype = x.dtype
        ct = np.float32 if compute == "float32" else dtype.type
        n, (f, h, c) = x.shape[0], weight.shape
        z = (x.astype(ct) @ weight.astype(ct).reshape(f, h * c)).reshape(n, h, c)
        if swap_att:
            a_s, a_d = a_d, a_s
        s_src, s_dst = (z * a_s.astype(ct)).sum(-1), (z * a_d.astype(ct)).sum(-1)
        if opts.adjacency != "edge_list":
            ei = read_matrix(ei, matrix)
        src, dst = ei[0], ei[1]
        if (opts.multi_edges if multi == "declared" else multi) == "once":
            keep = np.sort(np.unique(dst * n + src, return_index=True)[1])
            src, dst = src[keep], dst[keep]
        kind = opts.self_loops if loops == "declared" else loops
        nodes = np.arange(n)
        if kind == "replace":
            src, dst = np.r_[src[src != dst], nodes], np.r_[dst[src != dst], nodes]
        elif kind == "add":  # existing self-loops kept, one more added
            src, dst = np.r_[src, nodes], np.r_[dst, nodes]
        group = dst if group_by == "target" else src
        e = s_src[src] + s_dst[dst]
        k = opts.negative_slope if slope is None else slope
        e = np.where(e > 0, e, k * e)
        m = np.full((n, h), -np.inf, ct)
        np.maximum.at(m, group, e)
        with np.errstate(over="ignore", invalid="ignore"):
            p = np.exp(e - m[group]) if shift else np.exp(e)
            den = np.zeros((n, h), ct)
            np.add.at(den, group, p)
            alpha = p / den[group]
        if in_place:
            x[...] = 0
        out = np.zeros((n, h, c), ct)
        if targets_done:  # a tiled kernel that only finishes its first block of targets
            sel = dst < targets_done
            dst, src, alpha = dst[sel], src[sel], alpha[sel]
        np.add.at(out, dst, alpha[:, :, None] * z[src])
        if not empty_guard:  # a dense masked softmax: a row of -inf only gives 0/0 = NaN
            out += np.where(den == 0, np.nan, 0)[:, :, None]
        how = opts.heads if heads == "declared" else heads
        y = out.reshape(n, h * c) if how == "concat" else out.mean(axis=1)
        if (opts.activation if activation == "declared" else activation) == "elu":
            y = np.where(y > 0, y, np.expm1(np.minimum(y, 0)))
        y = y.astype(dtype)
        return y.reshape(-1) if flat_when_empty and y.size == 0 else y

    return gat


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("gat_layer", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (variant(loops="none"), "random_f32", "elements differ"),
    (variant(loops="add"), "existing_self_loops_f64", "elements differ"),
    (variant(loops="replace"), "self_loops_as_given_f64", "elements differ"),
    (variant(group_by="source"), "random_f32", "elements differ"),  # softmax over out-edges
    (variant(swap_att=True), "random_f32", "elements differ"),
    (variant(shift=False), "huge_logits_f64", "NaN where the oracle has a number"),
    (variant(shift=False), "huge_logits_f32", "NaN where the oracle has a number"),
    (variant(slope=0.0), "random_f64", "elements differ"),  # ReLU, not LeakyReLU
    (variant(slope=0.2), "slope_0.01_f64", "elements differ"),
    (variant(heads="mean"), "random_f32", "has shape (11, 5), expected (11, 15)"),
    (variant(heads="concat"), "mean_of_heads_f64", "has shape (11, 15), expected (11, 5)"),
    (variant(multi="once"), "multi_edges_each_f64", "elements differ"),
    (variant(multi="each"), "multi_edges_once_f64", "elements differ"),
    (variant(empty_guard=False), "isolated_no_self_loops_f64", "NaN where the oracle"),
    (variant(activation="none"), "elu_f32", "elements differ"),
    (variant(compute="float32"), "random_f64", "finite values off"),
    (variant(targets_done=256), "multi_block", "first at (256"),
    (variant(in_place=True), "random_f32", "modified its input(s) ['x']"),
    (variant(flat_when_empty=True), "no_heads", "has shape (0,), expected (11, 0)"),
    (variant(checks=False), "negative_node_id", "returned normally"),
    # the matrix forms: the adjacency really is read, the right way round, counts kept
    (variant(matrix="ignored"), "dense_counts_f64", "elements differ"),
    (variant(matrix="ignored"), "sparse_loops_mean", "elements differ"),
    (variant(matrix="transposed"), "dense_counts_f64", "elements differ"),
    (variant(matrix="transposed"), "dense_once_loops", "elements differ"),
    (variant(loops="none"), "dense_counts_f64", "elements differ"),
    (variant(loops="none"), "sparse_counts_f64", "elements differ"),
    (variant(matrix="mask"), "dense_counts_f64", "elements differ"),
    (variant(matrix="mask"), "sparse_counts_f64", "elements differ"),
    (variant(matrix="first_stored"), "sparse_counts_f64", "elements differ"),
    (variant(matrix="stored"), "sparse_loops_as_given_f64", "elements differ"),  # stored 0s
    (variant(checks=False), "non_square_sparse", "returned normally"),
]


@pytest.mark.parametrize(("fn", "case", "words"), PITFALLS)
def test_the_suite_flags_each_pitfall(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail", (v.status, v.detail)
    assert words in v.detail, v.detail


@pytest.mark.parametrize("case", [c.name for c in SUITE.cases] + [e.name for e in SUITE.errors])
def test_the_straightforward_variant_passes(case: str) -> None:
    v = _verdict(variant(), case)
    assert v.status == "pass", v.detail


def test_every_adjacency_form_gives_the_oracle_one_graph() -> None:
    """The same seeded multigraph as an edge list, a dense and a sparse count matrix: one
    output per multi_edges rule (a count of k is k softmax terms under each)."""
    for name in ("multi_edges_each_f64", "multi_edges_once_f64", "self_loops_as_given_f64"):
        base = SUITE.find_case(name)
        assert isinstance(base, Case)
        want = oracle_output(SUITE, base)
        for form in ("dense", "sparse"):
            case = Case(
                f"{name}_{form}", base.params, {**base.options, "adjacency": form}, base.kind
            )
            got = oracle_output(SUITE, case)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=case.name)


def test_the_mistakes_hide_where_the_graph_cannot_show_them() -> None:
    """Why the suite has multi-block and huge-logit cases: the first block of targets is
    right, and with unit logits the unshifted softmax is finite."""
    assert _verdict(variant(targets_done=256), "random_f32").status == "pass"
    assert _verdict(variant(shift=False), "random_f64").status == "pass"


def test_the_oracle_matches_the_dense_masked_formula_float64() -> None:
    """The dense formula of the paper on a graph drawn pair by pair (each (j, i) once, so
    'each' and 'once' agree): e = LeakyReLU(s_dst[i] + s_src[j]) on an N x N grid per head,
    non-edges at -inf, self-loops on the diagonal, softmax along j, α·Z, heads concatenated."""
    torch = pytest.importorskip("torch")
    case = SUITE.find_case("dense_graph_f64")
    assert isinstance(case, Case)
    t = {k: torch.from_numpy(np.array(v)) for k, v in case_inputs(SUITE, case).items()}
    n, (f, h, c) = t["x"].shape[0], t["weight"].shape
    z = (t["x"] @ t["weight"].reshape(f, h * c)).reshape(n, h, c)
    s_src, s_dst = (z * t["att_src"]).sum(-1), (z * t["att_dst"]).sum(-1)
    mask = torch.zeros(n, n, dtype=torch.bool)
    mask[t["edge_index"][1], t["edge_index"][0]] = True
    mask |= torch.eye(n, dtype=torch.bool)
    e = torch.nn.functional.leaky_relu(s_dst.T[:, :, None] + s_src.T[:, None, :], 0.2)
    alpha = torch.softmax(e.masked_fill(~mask, -torch.inf), dim=-1)  # (H, N, N)
    expected = torch.einsum("hij,jhc->ihc", alpha, z).reshape(n, h * c)
    np.testing.assert_allclose(oracle_output(SUITE, case), expected.numpy(), rtol=1e-12, atol=1e-12)

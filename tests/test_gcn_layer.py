"""Pitfalls of gcn_layer: each deliberately wrong variant is flagged by verify, with a diagnosis.

The variants are one NumPy implementation with a knob per classic mistake, registered as
harness Implementation records and run on the suite's own cases (fixed seeds) through
harness.verify.verify. The oracle is also held to a dense torch float64 formula.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import case_inputs, oracle_output, verify
from suites.gcn_layer import SUITE, GcnOptions, check

Fn = Callable[..., Any]


def read_matrix(a: Any, how: str) -> tuple[np.ndarray, np.ndarray]:
    """A dense or scipy.sparse A[target, source] as (edge_index, values), read the right way
    (repeated stored entries summed, zeros no edge) or with one mistake: ``transposed``
    (A[source, target]), ``stored`` (every stored entry an edge, explicit zeros too),
    ``first_stored`` (a repeated stored entry's first value only, as if CSR were
    canonical), ``ones`` (the structure without the values), ``ignored`` (no edge at all)."""
    if hasattr(a, "tocoo"):
        coo = a.tocoo(copy=True)
        if how != "first_stored":
            coo.sum_duplicates()
        dst, src, vals = coo.row, coo.col, coo.data.astype(np.float64)
        if how == "first_stored":
            keep = np.sort(np.unique(dst * a.shape[0] + src, return_index=True)[1])
            dst, src, vals = dst[keep], src[keep], vals[keep]
        if how != "stored":
            dst, src, vals = dst[vals != 0], src[vals != 0], vals[vals != 0]
    else:
        m = np.asarray(a, np.float64)
        m = m.T if how == "transposed" else m
        dst, src = np.nonzero(m)
        vals = m[dst, src]
    if how == "ones":
        vals = np.ones_like(vals)
    if how == "ignored":
        dst, src, vals = dst[:0], src[:0], vals[:0]
    return np.stack([src, dst]).astype(np.int64), vals


def variant(
    *,
    loops: str = "declared",
    degree_of: str = "target",
    norm: str = "declared",
    guard_zero_degree: bool = True,
    duplicates: str = "declared",
    compute: str = "input",
    rows_done: int = 0,
    in_place: bool = False,
    flat_when_empty: bool = False,
    checks: bool = True,
    matrix: str = "right",
) -> Fn:
    """A dense-free NumPy GCN layer; every knob away from its default is one mistake."""

    def gcn(x: Any, ei: Any, ew: Any, weight: Any, bias: Any, opts: GcnOptions) -> Any:
        if checks:
            check(x, ei, ew, weight, bias, opts)
        dtype = x.dtype
        ct = np.float32 if compute == "float32" else np.float64
        n = x.shape[0]
        if opts.adjacency != "edge_list":
            ei, ew = read_matrix(ei, matrix)
        src, dst = ei[0], ei[1]
        w = np.ones(src.shape[0], ct) if ew is None else ew.astype(ct)
        dup = opts.duplicates if duplicates == "declared" else duplicates
        if dup == "first":
            keep = np.sort(np.unique(dst * n + src, return_index=True)[1])
            src, dst, w = src[keep], dst[keep], w[keep]
        kind = opts.self_loops if loops == "declared" else loops
        nodes = np.arange(n)
        if kind == "add":
            src, dst, w = np.r_[src, nodes], np.r_[dst, nodes], np.r_[w, np.ones(n, ct)]
        elif kind == "add_remaining":
            loop = src == dst
            lw = np.ones(n, ct)
            lw[src[loop]] = 0
            np.add.at(lw, src[loop], w[loop])
            src, dst, w = np.r_[src[~loop], nodes], np.r_[dst[~loop], nodes], np.r_[w[~loop], lw]
        deg = np.zeros(n, ct)
        np.add.at(deg, dst if degree_of == "target" else src, w)
        how = opts.normalization if norm == "declared" else norm
        with np.errstate(divide="ignore", invalid="ignore"):
            if how == "symmetric":
                inv = 1 / np.sqrt(deg)
                if guard_zero_degree:
                    inv[deg == 0] = 0
                c = inv[src] * w * inv[dst]
            elif how == "row":
                c = w * (np.where(deg != 0, 1 / deg, 0) if guard_zero_degree else 1 / deg)[dst]
            else:
                c = w
        h = x.astype(ct) @ weight.astype(ct)
        if in_place:
            x[...] = 0
        out = np.zeros((n, weight.shape[1]), ct)
        if rows_done:  # a tiled kernel that only ever finishes its first block of targets
            sel = dst < rows_done
            src, dst, c = src[sel], dst[sel], c[sel]
        np.add.at(out, dst, c[:, None] * h[src])
        if bias is not None:
            out += bias
        y = out.astype(dtype)
        return y.reshape(-1) if flat_when_empty and y.size == 0 else y

    return gcn


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("gcn_layer", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (variant(loops="none"), "random_f32", "elements differ"),
    (variant(loops="add"), "existing_self_loops_f64", "elements differ"),  # A + I, not remaining
    (variant(loops="add_remaining"), "existing_self_loops_add", "elements differ"),
    (variant(degree_of="source"), "random_f32", "elements differ"),  # out-degree: wrong flow
    (variant(norm="row"), "weighted_f32", "elements differ"),
    (variant(norm="symmetric"), "row_normalized_f64", "elements differ"),
    (variant(norm="none"), "random_f32", "elements differ"),
    (variant(guard_zero_degree=False), "isolated_no_self_loops_f64", "NaN where the oracle"),
    (variant(duplicates="first"), "weighted_f32", "elements differ"),  # deduplicated, not summed
    (variant(duplicates="sum"), "first_of_duplicates_f64", "elements differ"),
    (variant(compute="float32"), "random_f64", "finite values off"),
    (variant(rows_done=256), "multi_block", "first at (256"),
    (variant(in_place=True), "random_f32", "modified its input(s) ['x']"),
    (variant(flat_when_empty=True), "no_out_features", "has shape (0,), expected (13, 0)"),
    (variant(checks=False), "negative_node_id", "returned normally"),
    (variant(checks=False), "negative_weight_symmetric", "returned normally"),
    # the matrix forms: the adjacency really is read, the right way round, with its loops
    (variant(matrix="ignored"), "dense_weighted_f64", "elements differ"),
    (variant(matrix="ignored"), "sparse_weighted_f64", "elements differ"),
    (variant(matrix="transposed"), "dense_weighted_f64", "elements differ"),
    (variant(matrix="transposed"), "dense_dup_loops", "elements differ"),
    (variant(loops="none"), "dense_weighted_f64", "elements differ"),
    (variant(loops="none"), "sparse_weighted_f64", "elements differ"),
    (variant(norm="none"), "sparse_dup_loops", "elements differ"),
    (variant(matrix="stored"), "sparse_weighted_f64", "elements differ"),  # a stored 0 loop
    (variant(matrix="first_stored"), "sparse_dup_loops", "elements differ"),
    (variant(matrix="ones"), "sparse_weighted_f64", "elements differ"),
    (variant(checks=False), "non_square_dense", "returned normally"),
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
    """The same seeded graph as an edge list, a dense and a sparse matrix: one output
    (repeated pairs summed in every form, the CSR's stored zeros no edge)."""
    base = SUITE.find_case("duplicate_self_loops")
    assert isinstance(base, Case)
    want = oracle_output(SUITE, base)
    for form in ("dense", "sparse"):
        case = Case(f"{base.name}_{form}", base.params, {"adjacency": form}, base.kind)
        np.testing.assert_allclose(oracle_output(SUITE, case), want, rtol=1e-12, atol=1e-12)


def test_the_mistakes_hide_where_the_graph_cannot_show_them() -> None:
    """Why the suite has directed, multi-block and self-loop cases: on a mirrored graph the
    out-degree is the in-degree, the first block of targets is right, and without existing
    self-loops A + I is add_remaining."""
    assert _verdict(variant(degree_of="source"), "symmetric_graph").status == "pass"
    assert _verdict(variant(rows_done=256), "random_f32").status == "pass"
    assert _verdict(variant(loops="add"), "random_f64").status == "pass"
    assert _verdict(variant(matrix="ignored"), "sparse_only_explicit_zeros").status == "pass"


def _dense_torch(case_name: str) -> tuple[Any, Any]:
    torch = pytest.importorskip("torch")
    case = SUITE.find_case(case_name)
    assert isinstance(case, Case)
    inputs: dict[str, Any] = {
        k: None if v is None else np.array(v) for k, v in case_inputs(SUITE, case).items()
    }
    x, ei, ew, w, b = (inputs[k] for k in ("x", "edge_index", "edge_weight", "weight", "bias"))
    n = x.shape[0]
    a = torch.zeros(n, n, dtype=torch.float64)
    vals = torch.ones(ei.shape[1], dtype=torch.float64) if ew is None else torch.from_numpy(ew)
    a.index_put_((torch.from_numpy(ei[1]), torch.from_numpy(ei[0])), vals, accumulate=True)
    return a, (torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), case)


def test_the_oracle_matches_the_dense_formula_float64() -> None:
    """add_remaining as a dense matrix: the diagonal set to 1 where it is 0, D from the row
    sums (in-degrees), Â = D^-1/2·A·D^-1/2, Â·X·W + b in torch float64."""
    import torch

    a, (x, w, b, case) = _dense_torch("existing_self_loops_f64")
    diag = torch.diagonal(a)
    a = a + torch.diag(torch.where(diag == 0, 1.0, 0.0).to(a.dtype))
    d = a.sum(dim=1).rsqrt()
    expected = (d[:, None] * a * d[None, :]) @ x @ w + b
    np.testing.assert_allclose(oracle_output(SUITE, case), expected.numpy(), rtol=1e-12, atol=1e-12)


def test_the_oracle_matches_the_dense_row_formula_float64() -> None:
    """Row normalisation with A + I: D^-1·(A + I)·X·W + b."""
    import torch

    a, (x, w, b, case) = _dense_torch("row_add_f32")
    a = a + torch.eye(a.shape[0], dtype=a.dtype)
    expected = (a / a.sum(dim=1, keepdim=True)) @ x.double() @ w.double() + b.double()
    got = oracle_output(SUITE, case)
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-6, atol=1e-6)


def test_two_layers_give_kipf_and_welling_s_network_float64() -> None:
    """The spec's two-layer GCN softmax(Â·ReLU(Â·X·W0)·W1) from two oracle calls (the layer
    has no activation, as GCNConv: ReLU and the softmax sit between and after), against the
    dense formula with Â = D^-1/2·(A + I)·D^-1/2 on a graph without self-loops."""
    import torch

    a, (x, w0, _, case) = _dense_torch("random_f64")
    assert bool((torch.diagonal(a) == 0).all())  # add_remaining = A + I here
    inputs = {k: None if v is None else np.array(v) for k, v in case_inputs(SUITE, case).items()}
    opts = GcnOptions.build(case.options)
    w1 = np.random.default_rng(0).standard_normal((w0.shape[1], 5)) / np.sqrt(w0.shape[1])
    hidden = np.maximum(
        SUITE.oracle(inputs["x"], inputs["edge_index"], inputs["edge_weight"], inputs["weight"],
                     None, opts), 0.0)  # fmt: skip
    logits = SUITE.oracle(hidden, inputs["edge_index"], inputs["edge_weight"], w1, None, opts)
    got = torch.softmax(torch.from_numpy(logits), dim=1)
    a_hat = a + torch.eye(a.shape[0], dtype=a.dtype)
    d = a_hat.sum(dim=1).rsqrt()
    a_hat = d[:, None] * a_hat * d[None, :]
    expected = torch.softmax(a_hat @ torch.relu(a_hat @ x @ w0) @ torch.from_numpy(w1), dim=1)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12, atol=1e-14)

"""Pitfalls of topk_gather: each deliberately wrong variant is flagged by verify.

The variants are one NumPy implementation (a lexsort of every line) with a knob per classic
mistake, run as harness Implementation records on the suite's own cases (fixed seeds)
through harness.verify.verify. torch.topk itself is the library reference in
``shootout verify``; here the oracle is also held to torch.topk and np.argpartition directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import case_inputs, oracle_output, verify
from suites.topk_gather import GATHER, SUITE, TopkOptions, check, gather_check

Fn = Callable[..., Any]


def variant(
    *,
    ties: str = "lower",
    nan: str = "largest",
    signed_zero: str = "tied",
    order: str = "rank",
    indices: str = "right",
    compute: str = "input",
    block: int = 0,
    alias_full: bool = False,
    empty_shape: str = "right",
) -> Fn:
    """A lexsort top-k; every knob away from its default is one classic mistake."""

    def topk(x: Any, k: int, dim: int, opts: TopkOptions) -> tuple[Any, Any]:
        _, axis = check(x, k, dim, opts)
        a = np.moveaxis(x, axis, -1)
        if compute == "float32":
            a = a.astype(np.float32)
        R, n = a.shape
        if empty_shape == "flat" and (R == 0 or k == 0):
            return np.zeros(0, x.dtype), np.zeros(0, np.int64)
        if alias_full and k == n and not opts.sorted and axis == 1:
            return x, np.broadcast_to(np.arange(n), (R, n)).copy()
        v = a.astype(np.float64)
        if signed_zero == "tied":
            v = v + 0.0
        isnan = np.isnan(v)
        key = np.where(isnan, 0.0, -v if opts.largest else v)
        if signed_zero == "split":  # -0.0 ranked as below 0.0 (raw bits order)
            key = key + np.where(np.signbit(v) & (v == 0), 1e-300 if opts.largest else -1e-300, 0)
        nan_first = isnan if (opts.largest == (nan == "largest")) else ~isnan
        pos = np.arange(n)[None, :] * (1 if ties == "lower" else -1)
        pos = np.broadcast_to(pos, key.shape)
        keep = np.ones(key.shape, bool)
        if block:  # tiled along the line: the entries past the first block are never seen
            keep[:, block:] = False
        idx = np.lexsort((pos, key, ~nan_first, ~keep), axis=-1)[:, :k].astype(np.int64)
        if order == "reversed":
            idx = idx[:, ::-1]
        vals = np.take_along_axis(a, idx, axis=-1).astype(x.dtype)
        if indices == "duplicate" and idx.shape[1] > 1:
            idx = idx.copy()
            idx[:, 1] = idx[:, 0]
        if indices == "positions":  # ranks 0..k-1 instead of positions in the line
            idx = np.broadcast_to(np.arange(idx.shape[1]), idx.shape).copy()
        return np.moveaxis(vals, -1, axis), np.moveaxis(idx, -1, axis)

    return topk


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("topk_gather", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (variant(ties="higher"), "ties_stable", "indices differ among tied values"),
    (variant(ties="higher"), "ties_stable_unsorted", "indices differ among tied values"),
    (variant(ties="higher"), "k_equals_n_ties_smallest", "indices differ among tied values"),
    # NaN ranked smallest (argsort of -x leaves NaN last): the top k lose their NaNs
    (variant(nan="smallest"), "nan_inf_largest", "values differ from the top k"),
    (variant(nan="smallest"), "nan_inf_smallest_f64", "values differ from the top k"),
    (variant(signed_zero="split"), "signed_zero", "indices differ among tied values"),
    (variant(order="reversed"), "random_f32", "values differ from the top k (rank order)"),
    (variant(indices="duplicate"), "random_f64_smallest", "an index selected twice"),
    (variant(indices="positions"), "random_f32", "values are not x at the returned indices"),
    # rounded through float32: the values no longer are x's (cast back to float64)
    (variant(compute="float32"), "random_f64_smallest", "values are not x at the returned"),
    (variant(block=1024), "multi_block", "values differ from the top k"),
    (variant(alias_full=True), "k_equals_n_unsorted", "shares memory with input"),
    (variant(empty_shape="flat"), "no_lines", "output 'values' has shape (0,)"),
]


@pytest.mark.parametrize(("fn", "case", "words"), PITFALLS)
def test_the_suite_flags_each_pitfall(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status in ("fail", "error"), (v.status, v.detail)
    assert words in v.detail, v.detail


@pytest.mark.parametrize("case", [c.name for c in SUITE.cases])
def test_the_straightforward_variant_passes(case: str) -> None:
    v = _verdict(variant(), case)
    assert v.status == "pass", v.detail


def test_any_tie_order_passes_where_ties_are_unspecified() -> None:
    """Higher-index-first ties are a valid answer under tie_break='unspecified'."""
    assert _verdict(variant(ties="higher"), "ties_unspecified").status == "pass"
    assert _verdict(variant(ties="higher"), "ties_unspecified_unsorted").status == "pass"


def test_any_output_order_passes_where_unsorted() -> None:
    assert _verdict(variant(order="reversed"), "unsorted_f32").status == "pass"


def test_the_blocked_mistake_hides_in_short_lines() -> None:
    assert _verdict(variant(block=1024), "random_f32").status == "pass"


def test_the_oracle_agrees_with_torch_topk_and_argpartition() -> None:
    """Values equal to torch.topk's (float64, NaN and inf included) and the selected sets to
    np.argpartition's on tie-free lines; indices equal to a stable torch.sort's first k."""
    torch = pytest.importorskip("torch")
    for name in ("random_f64_smallest", "nan_inf_smallest_f64", "ties_stable_smallest_f64",
                 "dim_minus2_f64"):  # fmt: skip
        case = SUITE.find_case(name)
        inputs = case_inputs(SUITE, case)  # type: ignore[arg-type]
        opts = TopkOptions(**case.options)
        values, indices = oracle_output(SUITE, case)  # type: ignore[arg-type]
        x, k, dim = torch.from_numpy(np.array(inputs["x"])), inputs["k"], inputs["dim"]
        ref = torch.topk(x, k, dim=dim, largest=opts.largest)
        np.testing.assert_array_equal(ref.values.numpy(), values)
        ranked = torch.sort(x, dim=dim, descending=opts.largest, stable=True)
        np.testing.assert_array_equal(ranked.indices.narrow(dim, 0, k).numpy(), indices)
    case = SUITE.find_case("random_f32")
    inputs = case_inputs(SUITE, case)  # type: ignore[arg-type]
    _, indices = oracle_output(SUITE, case)  # type: ignore[arg-type]
    part = np.argpartition(-np.asarray(inputs["x"]), inputs["k"] - 1, axis=-1)[:, : inputs["k"]]
    np.testing.assert_array_equal(np.sort(part, -1), np.sort(indices, -1))


# ---- gather ----------------------------------------------------------------------------------


def gather_variant(
    *,
    axis_from: str = "dim",
    wrap_negative: bool = False,
    checks: bool = True,
    compute: str = "input",
    block: int = 0,
    alias: bool = False,
    flat_when_empty: bool = False,
) -> Fn:
    """np.take_along_axis on x cut to index's extent; each knob off its default is a mistake."""

    def gather(x: Any, dim: int, index: Any) -> Any:
        if checks:
            gather_check(x, dim, index)
        axis = int(dim) % 3 if axis_from == "dim" else (int(dim) + 1) % 3
        src = x.astype(np.float32) if compute == "float32" else x
        if axis_from == "full_window":  # assumes index has x's shape on the other axes
            window: tuple[slice, ...] = (slice(None),) * 3
        else:
            window = tuple(slice(None) if a == axis else slice(0, index.shape[a]) for a in range(3))
        idx = np.minimum(index, src.shape[axis] - 1) if not wrap_negative else index
        if not checks and not wrap_negative:
            idx = np.clip(index, 0, max(src.shape[axis] - 1, 0))  # clamps instead of raising
        out = np.take_along_axis(src[window], idx, axis=axis).astype(x.dtype)
        if block:  # a blocked copy that reads the first block's index for every later block
            out[..., block:] = out[..., :1]
        if alias and out.size:
            return x[..., : out.shape[-1]] if x.shape[:2] == out.shape[:2] else out
        return out.reshape(-1) if flat_when_empty and out.size == 0 else out

    return gather


def _gather_verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("topk_gather.gather", "numpy", "pitfall", fn)
    return verify(GATHER, impl, GATHER.find_case(case))


GATHER_PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (gather_variant(axis_from="next"), "gather_same_shape", "differ"),  # the wrong axis
    (gather_variant(axis_from="full_window"), "gather_index_smaller_on_other_dims", "raised"),
    (gather_variant(checks=False, wrap_negative=True), "gather_negative_index", "must raise"),
    (gather_variant(checks=False), "gather_index_out_of_range", "must raise"),
    (gather_variant(compute="float32"), "gather_f64_dim0", "off"),
    (gather_variant(block=256), "gather_multi_block", "first at (0, 0, 256)"),
    (gather_variant(alias=True), "gather_same_shape", "shares memory with input"),
    (gather_variant(flat_when_empty=True), "gather_no_j", "has shape (0,), expected (5, 0, 13)"),
]


@pytest.mark.parametrize(("fn", "case", "words"), GATHER_PITFALLS)
def test_the_gather_suite_flags_each_pitfall(fn: Fn, case: str, words: str) -> None:
    v = _gather_verdict(fn, case)
    assert v.status in ("fail", "error"), (v.status, v.detail)
    assert words in v.detail, v.detail


@pytest.mark.parametrize("case", [c.name for c in GATHER.cases] + [e.name for e in GATHER.errors])
def test_the_straightforward_gather_passes(case: str) -> None:
    v = _gather_verdict(gather_variant(), case)
    assert v.status == "pass", v.detail


def test_the_blocked_gather_mistake_hides_in_short_lines() -> None:
    assert _gather_verdict(gather_variant(block=256), "gather_f32").status == "pass"


@pytest.mark.parametrize("name", ["gather_f64_dim0", "gather_int64_dim1", "gather_f32"])
def test_the_gather_oracle_agrees_with_torch_gather(name: str) -> None:
    torch = pytest.importorskip("torch")
    case = GATHER.find_case(name)
    assert isinstance(case, Case)
    x, dim, index = case_inputs(GATHER, case).values()
    expected = torch.gather(torch.from_numpy(np.array(x)), dim, torch.from_numpy(np.array(index)))
    np.testing.assert_array_equal(oracle_output(GATHER, case), expected.numpy())

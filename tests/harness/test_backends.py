"""Tests of harness.backends: what the rest of the harness asks of a backend by its name."""

from __future__ import annotations

from typing import Any

import pytest

from harness import backends
from harness.backends import BACKENDS, device_of, is_interpreted, libraries


def test_devices() -> None:
    assert device_of("torch_cuda") == device_of("cupy") == "cuda"
    assert device_of("numpy") == device_of("torch_cpu") == device_of("python") == "cpu"
    assert device_of("library") == "cpu"  # a reporting token, not an array world


def test_libraries_in_backend_order() -> None:
    assert libraries() == ("numpy", "numba", "torch", "cupy")
    assert libraries("cuda") == ("torch", "cupy")


def test_only_plain_python_is_interpreted() -> None:
    assert [b for b in BACKENDS if is_interpreted(b)] == ["python"]
    assert not is_interpreted("library")


def _pairwise(a: list[Any], b: list[Any]) -> bool:
    return any(backends.shares_memory(x, y) for x in a for y in b)


def test_lists_of_arrays_share_memory_as_any_of_their_pairs() -> None:
    import numpy as np

    buf = np.arange(64.0)
    fresh = [np.zeros(3), None, np.ones((2, 2))]
    cases: list[tuple[list[Any], list[Any]]] = [
        ([buf[:8], np.zeros(4)], [np.ones(2), buf[4:12]]),  # overlapping views
        ([buf[::2], None], [buf[1::2]]),  # interleaved: bounds overlap, no element shared
        ([buf[:0], buf[10:20]], [buf[20:30], buf[:0]]),  # touching and empty
        ([buf[:8].reshape(2, 4)], [buf[5:6].reshape(())]),  # 0-d view inside a matrix
        (fresh, [np.zeros(3), None]),
        ([None], [buf]),
        (fresh, fresh),
    ]
    for a, b in cases:
        assert backends.shares_memory(a, b) == _pairwise(a, b), (a, b)


def test_lists_of_tensors_share_memory_as_any_of_their_pairs() -> None:
    torch = pytest.importorskip("torch")
    base = torch.arange(10.0)
    a = [torch.zeros(3), base[:2]]
    assert backends.shares_memory(a, [torch.ones(2), base[5:]])
    assert not backends.shares_memory(a, [torch.ones(2), torch.zeros(0), None])


def test_long_lists_are_not_compared_pair_by_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two 300-array parameter lists: 90,000 pairs, of which none may overlap."""
    import numpy as np

    calls = []
    original = backends.shares_memory

    def counted(a: Any, b: Any) -> bool:
        calls.append(1)
        return original(a, b)

    monkeypatch.setattr(backends, "shares_memory", counted)
    a, b = [np.zeros(4) for _ in range(300)], [np.zeros(4) for _ in range(300)]
    assert not backends.shares_memory(a, b)
    assert backends.shares_memory(a, [*b, a[7][1:]])
    assert len(calls) < 3_000


def test_a_scipy_sparse_input_reaches_each_world_with_its_stored_entries() -> None:
    """NumPy-world backends get a private copy of the matrix (an in-place sum_duplicates
    cannot reach the next implementation); torch gets an uncoalesced COO tensor whose
    repeated entries and stored zeros are the CSR's own; a sparse tensor shares no memory."""
    import numpy as np

    sp = pytest.importorskip("scipy.sparse")
    csr = sp.csr_matrix(
        (np.array([1.0, 2.0, 0.0]), np.array([1, 1, 0]), np.array([0, 2, 3])), shape=(2, 2)
    )  # row 0: column 1 twice (1 + 2); row 1: a stored zero at column 0
    mine = BACKENDS["numpy"].native(csr)
    assert mine is not csr
    mine.sum_duplicates()
    assert csr.nnz == 3
    torch = pytest.importorskip("torch")
    t = BACKENDS["torch_cpu"].native(csr)
    assert t.layout == torch.sparse_coo and not t.is_coalesced()
    assert t._values().tolist() == [1.0, 2.0, 0.0]
    assert t.to_dense().tolist() == [[0.0, 3.0], [0.0, 0.0]]
    assert not backends.shares_memory(torch.zeros(2), t)

"""harness.numba_threads: the parallel form of a kernel is compiled only when it can run so."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from harness.numba_threads import threaded_njit  # noqa: E402


def _double(x: Any, out: Any) -> None:
    for i in numba.prange(x.shape[0]):
        out[i] = 2 * x[i]


def test_one_thread_compiles_and_runs_the_serial_form_only(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = threaded_njit(error_model="numpy")(_double)
    monkeypatch.setattr(numba, "get_num_threads", lambda: 1)
    x, out = np.arange(5.0), np.zeros(5)
    kernel(x, out)
    np.testing.assert_array_equal(out, 2 * x)
    assert set(kernel.dispatchers) == {False}
    serial = kernel.dispatchers[False]
    assert serial.targetoptions.get("parallel") in (False, None) and serial.signatures
    assert serial.targetoptions["error_model"] == "numpy"


def test_more_threads_call_the_parallel_form(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = threaded_njit()(_double)
    assert kernel.dispatcher(True).targetoptions["parallel"] is True  # created, not compiled
    calls: list[tuple[Any, ...]] = []
    kernel.dispatchers[True] = lambda *args: calls.append(args)  # stands in for the compile
    monkeypatch.setattr(numba, "get_num_threads", lambda: 2)
    kernel(np.zeros(1), np.zeros(1))
    assert len(calls) == 1 and set(kernel.dispatchers) == {True}


@pytest.mark.parametrize("options", [{"parallel": True}, {"cache": True}])
def test_it_refuses_options_it_decides_itself(options: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="parallel"):
        threaded_njit(**options)(_double)

"""lstm_cell: the suite catches the classic mistakes of LSTM code.

Each wrong implementation below makes one mistake (the gate order ignored, i and f
swapped, sigmoid for the candidate's tanh, h = o·c without the tanh, one bias of the two,
the state not carried between steps, h0 returned itself for an empty sequence, a batch
block cut short, float32 arithmetic, the state updated in the caller's arrays); verify must
flag it on the case built for it, and pass it where the mistake changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation, load_registry
from harness.verify import Verdict, verify
from suites.lstm_cell import SUITE, LstmOptions, blocks, check
from suites.lstm_cell import lstm_cell as oracle

Impl = Callable[..., Any]


def _verdict(fn: Impl, case: str) -> Verdict:
    impl = Implementation(SUITE.algorithm, "numpy", "wrong", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


def _bad(v: Verdict, *phrases: str) -> None:
    assert v.status in ("fail", "error"), (v.status, v.detail)
    for phrase in phrases:
        assert phrase in v.detail, v.detail


def _ok(fn: Impl, *cases: str) -> None:
    for case in cases:
        v = _verdict(fn, case)
        assert v.status == "pass", (case, v.detail)


def _sig(z: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def _impl(order: Callable[[Any], tuple[int, ...]] = blocks, cand: Callable[..., Any] = np.tanh,
          squash: Callable[..., Any] = np.tanh, one_bias: bool = False, carry: bool = True,
          work: Any = None, rows: int = 1 << 62, in_place: bool = False) -> Impl:  # fmt: skip
    """A step-by-step implementation with one knob turned; ``rows``: the batch rows a
    blocked kernel that drops its last partial block reaches."""

    def impl(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any,
             opts: Any) -> Any:  # fmt: skip
        t_len, hid = check(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        dt = work or x.dtype
        xs, wi, wh = x.astype(dt), w_ih.astype(dt), w_hh.astype(dt)
        b = b_ih.astype(dt) + (0 if one_bias else b_hh.astype(dt))
        h, c = (h0, c0) if in_place else (h0.astype(dt), c0.astype(dt))
        pi, pf, pg, po = (slice(k * hid, (k + 1) * hid) for k in order(opts))
        out = np.zeros((t_len, *h0.shape), x.dtype)
        for t in range(t_len):
            z = xs[t] @ wi.T + (h if carry else h0.astype(dt)) @ wh.T + b
            c_new = _sig(z[:, pf]) * c + _sig(z[:, pi]) * cand(z[:, pg])
            h_new = _sig(z[:, po]) * squash(c_new)
            if in_place:
                c[...], h[...] = c_new, h_new
            else:
                c, h = c_new, h_new
            out[t, :rows] = h[:rows]
        if t_len == 0 and in_place:
            return out, h, c  # the inputs themselves
        return out, h.astype(x.dtype), c.astype(x.dtype)

    return impl


def test_the_correct_variant_and_the_project_implementations_pass_the_cases_used_below() -> None:
    _ok(_impl(), "random", "random_f64", "onnx_order", "saturated_f64", "multi_block",
        "empty_sequence", "h_1")  # fmt: skip
    registry = load_registry()
    for key in ("numpy/gemm", "library/torch_lstm"):
        impl = registry.implementations[f"lstm_cell/{key}"]
        for case in ("onnx_order_f64", "long_sequence", "zero_state_f64"):
            v = verify(SUITE, impl, SUITE.find_case(case))
            assert v.status == "pass", (impl.key, case, v.detail)


def test_the_gate_order_is_enforced() -> None:
    ignored = _impl(order=lambda opts: (0, 1, 2, 3))
    _ok(ignored, "random")
    _bad(_verdict(ignored, "onnx_order"), "output 'output'")
    swapped_if = _impl(order=lambda opts: (1, 0, 2, 3))  # f read where i is
    _bad(_verdict(swapped_if, "random"), "output 'c_n'")


def test_the_cell_formulas_are_enforced() -> None:
    _bad(_verdict(_impl(cand=_sig), "random"), "output 'c_n'")  # sigmoid candidate
    _bad(_verdict(_impl(squash=lambda c: c), "random"), "output 'h_n'")  # h = o·c
    _bad(_verdict(_impl(one_bias=True), "random"), "output 'output'")  # b_hh dropped


def test_the_state_must_carry_from_step_to_step() -> None:
    stateless = _impl(carry=False)
    _ok(stateless, "single_step")  # one step: nothing to carry
    _bad(_verdict(stateless, "random"), "output 'output'")


def test_a_batch_block_cut_short_is_caught() -> None:
    _ok(_impl(rows=256), "random")
    _bad(_verdict(_impl(rows=256), "multi_block"), "output 'output'")


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    _bad(_verdict(_impl(work=np.float32), "random_f64"), "finite values off")


def test_the_caller_s_state_is_never_written_or_returned() -> None:
    in_place = _impl(in_place=True)
    _bad(_verdict(in_place, "random"), "modified its input(s)")
    _bad(_verdict(in_place, "empty_sequence"), "must be a new array")  # h0 itself as h_n


def test_the_oracle_is_torch_s_lstm_cell_in_float64() -> None:
    torch = pytest.importorskip("torch")
    inputs = SUITE.make_inputs(SUITE.find_case("random_f64"))  # type: ignore[arg-type]
    x, h0, c0 = inputs["x"], inputs["h0"], inputs["c0"]
    w = (inputs["w_ih"], inputs["w_hh"], inputs["b_ih"], inputs["b_hh"])
    out, h_n, c_n = oracle(x, h0, c0, *w, LstmOptions())
    cell = torch.nn.LSTMCell(7, 4, dtype=torch.float64)
    with torch.no_grad():
        for name in ("w_ih", "w_hh", "b_ih", "b_hh"):
            attr = {"w_ih": "weight_ih", "w_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}
            getattr(cell, attr[name]).copy_(torch.from_numpy(inputs[name]))
        h, c = torch.from_numpy(inputs["h0"]), torch.from_numpy(inputs["c0"])
        for t, x_t in enumerate(torch.from_numpy(inputs["x"])):
            h, c = cell(x_t, (h, c))
            np.testing.assert_allclose(out[t], h.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_n, h.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_n, c.numpy(), rtol=1e-12, atol=1e-14)

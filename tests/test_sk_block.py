"""Pitfalls of sk_block: each wrong variant is flagged by verify.

The variants are one NumPy implementation with a knob per classic mistake, built as harness
Implementation records and run on the suite's own cases (fixed seeds) through
harness.verify.verify. The oracle is also held to the torch SKConv module and, for one
branch, to ReLU(BN(conv)) from torch's functional ops, in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import case_inputs, oracle_output, verify
from suites.sk_block import BN_EPS, SUITE, SkOptions, check, dilation

Fn = Callable[..., Any]


def _conv(x: Any, w: Any, dil: int, groups: int, interleaved: bool) -> Any:
    """Stride-1 'same' grouped conv in x's dtype, one tap at a time."""
    n, c, h, wd = x.shape
    k = w.shape[-1]
    pad = dil * (k - 1) // 2
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cin, cout = c // groups, w.shape[0] // groups
    out = np.zeros((n, w.shape[0], h, wd), x.dtype)
    for g in range(groups):
        xs = slice(g, c, groups) if interleaved else slice(g * cin, (g + 1) * cin)
        os = slice(g * cout, (g + 1) * cout)
        for i in range(k):
            for j in range(k):
                patch = xp[:, xs, i * dil : i * dil + h, j * dil : j * dil + wd]
                out[:, os] += np.einsum("nchw,oc->nohw", patch, w[os, :, i, j])
    return out


def variant(
    *,
    dilate: bool = True,
    softmax_over: str = "branches",
    pool: str = "sum",
    squeeze_bn: bool = True,
    bn_eps: float = BN_EPS,
    mix: str = "weighted",
    interleaved_groups: bool = False,
    compute: str = "input",
    uniform_past: int = 0,
    in_place: bool = False,
    flat_when_empty: bool = False,
    checks: bool = True,
) -> Fn:
    """A straightforward NumPy SK block; each knob off its default is one mistake."""

    def sk(
        x: Any, conv_w: Any, bn_u: Any, fc_w: Any, bn_z: Any, sel_w: Any, sel_b: Any,
        groups: int, reduction: int, min_width: int, opts: SkOptions,
    ) -> Any:  # fmt: skip
        if checks:
            check(x, conv_w, bn_u, fc_w, bn_z, sel_w, sel_b, groups, reduction, min_width, opts)
        ct = np.float32 if compute == "float32" else x.dtype.type
        xs = np.asarray(x, ct)

        def bn(t: Any, p: Any) -> Any:
            weight, bias, mean, var = (np.asarray(v, ct).reshape((1, -1) + (1,) * (t.ndim - 2))
                                       for v in p)  # fmt: skip
            return (t - mean) / np.sqrt(var + ct(bn_eps)) * weight + bias

        branches = []
        for m, w in enumerate(conv_w):
            dil = dilation(m, opts) if dilate else 1
            u = _conv(xs, np.asarray(w, ct), dil, groups, interleaved_groups)
            branches.append(np.maximum(bn(u, bn_u[m]), 0))
        total = branches[0] if pool == "first" else np.sum(branches, axis=0)
        with np.errstate(invalid="ignore"):
            s = total.mean(axis=(2, 3))
        t = s @ np.asarray(fc_w, ct).T
        z = np.maximum(bn(t, bn_z) if squeeze_bn else t, 0)
        logits = np.stack([z @ np.asarray(sel_w[m], ct).T for m in range(len(branches))])
        if sel_b is not None:
            logits = logits + np.asarray(sel_b, ct)[:, None, :]
        axis = 0 if softmax_over == "branches" else 2  # or over the channels
        e = np.exp(logits - logits.max(axis=axis, keepdims=True, initial=-np.inf))
        a = e / e.sum(axis=axis, keepdims=True)
        if uniform_past:  # channels from a block of 256 on get equal branch weights
            a[:, :, uniform_past:] = 1 / len(branches)
        if mix == "sum":
            a = np.ones_like(a)
        y = np.sum([a[m][:, :, None, None] * b for m, b in enumerate(branches)], axis=0)
        y = np.asarray(y, x.dtype).reshape(x.shape)
        if in_place:
            x[...] = y
            return x
        return y.reshape(-1) if flat_when_empty and y.size == 0 else y

    return sk


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("sk_block", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (variant(dilate=False), "random_f32", "elements differ"),  # every branch a plain 3x3
    (variant(softmax_over="channels"), "random_f32", "elements differ"),
    (variant(pool="first"), "random_f32", "elements differ"),  # GAP of U_1, not of U
    (variant(squeeze_bn=False), "random_f32", "elements differ"),
    (variant(bn_eps=1e-3), "random_f64", "elements differ"),  # Keras's epsilon
    (variant(mix="sum"), "random_f32", "elements differ"),
    (variant(interleaved_groups=True), "random_f32", "elements differ"),
    (variant(compute="float32"), "random_f64", "finite values off"),
    (variant(uniform_past=256), "multi_block", "first at (0, 256"),
    (variant(in_place=True), "random_f32", "modified its input(s) ['x']"),
    (variant(flat_when_empty=True), "no_rows", "has shape (0,), expected (2, 12, 0, 7)"),
    (variant(checks=False), "groups_do_not_divide_c", "must raise"),
    (variant(checks=False), "width_rule", "must raise"),
]


@pytest.mark.parametrize(("fn", "case", "words"), PITFALLS)
def test_the_suite_flags_each_pitfall(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status in ("fail", "error"), (v.status, v.detail)
    assert words in v.detail, v.detail


@pytest.mark.parametrize("case", [c.name for c in SUITE.cases] + [e.name for e in SUITE.errors])
def test_the_straightforward_variant_passes(case: str) -> None:
    v = _verdict(variant(), case)
    assert v.status == "pass", v.detail


def test_the_tiled_mistake_hides_in_the_first_block() -> None:
    assert _verdict(variant(uniform_past=256), "random_f32").status == "pass"


def _torch_inputs(name: str) -> tuple[Case, dict[str, Any]]:
    torch = pytest.importorskip("torch")
    case = SUITE.find_case(name)
    assert isinstance(case, Case)
    raw = case_inputs(SUITE, case)

    def conv(v: Any) -> Any:
        return torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v

    inputs = {k: [conv(w) for w in v] if isinstance(v, list) else conv(v) for k, v in raw.items()}
    return case, inputs


@pytest.mark.parametrize("name", ["random_f64", "full_kernels_f64"])
def test_the_oracle_matches_the_torch_module_float64(name: str) -> None:
    from implementations.sk_block.library_torch import sk

    case, inputs = _torch_inputs(name)
    y = sk(*inputs.values(), SkOptions.build(case.options)).numpy()
    np.testing.assert_allclose(y, oracle_output(SUITE, case), rtol=1e-12, atol=1e-12)


def test_one_branch_is_relu_bn_conv() -> None:
    """M = 1: the softmax over one branch is 1, so V = U_1 (torch's F.conv2d, F.batch_norm)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    case, inputs = _torch_inputs("one_branch_weights_1")
    weight, bias, mean, var = inputs["bn_u"][0]
    u = F.conv2d(inputs["x"].double(), inputs["conv_w"][0].double(), padding=1,
                 groups=inputs["groups"])  # fmt: skip
    u = F.relu(F.batch_norm(u, mean.double(), var.double(), weight.double(), bias.double(),
                            training=False, eps=BN_EPS))  # fmt: skip
    np.testing.assert_allclose(oracle_output(SUITE, case), u.numpy(), rtol=1e-10, atol=1e-10)

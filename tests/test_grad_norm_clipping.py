"""Pitfalls of gradient clipping that the grad_norm_clipping suite must catch.

Each test runs a deliberately wrong NumPy variant through ``verify`` on the case that exposes
the mistake and asserts the verdict fails with a diagnosis that names what differs; the same
variant with no mistake passes those cases. The cases' seeds are the suite's defaults (chosen
before any of these tests existed, not tuned to them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case, ErrorCase
from harness.verify import Verdict, verify
from suites.grad_norm_clipping import SUITE, ClipOptions, check


@dataclass(frozen=True)
class Mistakes:
    """What the variant gets wrong; all False is a correct implementation."""

    per_tensor_norm: bool = False  # each gradient clipped by its own norm, not the global one
    clip_when_below: bool = False  # the coefficient applied even when it is above 1
    inf_as_two: bool = False  # norm_type inf computed as the 2-norm
    absent_counted: bool = False  # gradients flagged absent still enter the norm
    absent_scaled: bool = False  # gradients flagged absent still get scaled
    no_eps: bool = False  # coef = threshold/total
    nan_skips_clipping: bool = False  # "if coef < 1" with a NaN coefficient: nothing scaled
    error_flag_ignored: bool = False
    norm_after_clipping: bool = False  # the returned norm measured after the scaling
    float32_arithmetic: bool = False
    value_one_sided: bool = False  # clip_grad_value_ clamping only from above
    tensor_chunk: int = 0  # > 0: only the first `tensor_chunk` tensors enter the norm
    norm_shape_1: bool = False  # the norm returned with shape (1,) instead of ()
    rebind: bool = False  # new arrays put into the list instead of writing in place


def _norm(grads: list[np.ndarray], p: float) -> float:
    if not grads:
        return 0.0
    if p == math.inf:
        return max((float(np.max(np.abs(g))) for g in grads if g.size), default=0.0)
    return float(sum(float(np.sum(np.abs(g.astype(np.float64)) ** p)) for g in grads) ** (1 / p))


def variant(m: Mistakes) -> Callable[..., Any]:
    def clip(grads: Any, has_grad: Any, threshold: Any, opts: ClipOptions) -> Any:
        check(grads, has_grad, threshold)
        flags = has_grad.tolist()
        idx = [i for i, h in enumerate(flags) if h or m.absent_counted]
        if m.tensor_chunk:
            idx = idx[: m.tensor_chunk]
        p = 2.0 if (m.inf_as_two and opts.norm_type == math.inf) else opts.norm_type
        work = [grads[i].astype(np.float32) if m.float32_arithmetic else grads[i] for i in idx]
        total = _norm(work, p)
        dtype = grads[0].dtype if any(flags) else np.dtype(np.float32)
        targets = [i for i, h in enumerate(flags) if h or m.absent_scaled]
        t = float(threshold)
        if opts.mode == "value":
            for i in targets:
                np.minimum(grads[i], t, out=grads[i])
                if not m.value_one_sided:
                    np.maximum(grads[i], -t, out=grads[i])
        else:
            if opts.error_if_nonfinite and not math.isfinite(total) and not m.error_flag_ignored:
                raise RuntimeError("non-finite total norm")
            for i in targets:
                own = _norm([grads[i]], p) if m.per_tensor_norm else total
                with np.errstate(divide="ignore", invalid="ignore"):
                    coef = t / (own if m.no_eps else own + opts.eps)
                    if m.clip_when_below or (coef < 1 if m.nan_skips_clipping else not coef >= 1):
                        scaled = (grads[i] * dtype.type(coef)).astype(grads[i].dtype)
                        if m.rebind:
                            grads[i] = scaled
                        else:
                            grads[i][...] = scaled
        if m.norm_after_clipping:
            total = _norm([grads[i] for i in idx], p)
        return np.array(total, dtype=dtype).reshape((1,) if m.norm_shape_1 else ())

    return clip


def run(name: str, **mistakes: Any) -> Verdict:
    impl = Implementation("grad_norm_clipping", "numpy", "pitfall", variant(Mistakes(**mistakes)))
    found = SUITE.find_case(name)
    assert isinstance(found, Case | ErrorCase)
    return verify(SUITE, impl, found)


CORRECT_ON = [
    "clip_l2_f64",
    "no_clip_l2_f64",
    "clip_inf_f64",
    "missing_grads_f64",
    "tiny_grads_f64",
    "nan_grad_f32",
    "inf_grad_f64",
    "value_f64",
    "multi_block",
    "no_grads",
    "inf_norm_with_error_flag",
]


@pytest.mark.parametrize("name", CORRECT_ON)
def test_the_variant_without_mistakes_passes(name: str) -> None:
    v = run(name)
    assert v.status == "pass", v.detail


# (mistake, the case that exposes it, text the diagnosis must contain)
PITFALLS = [
    ("per_tensor_norm", "clip_l2_f64", "output 'grads'"),
    # total = threshold/2: the coefficient is 2, and scaling up doubles every gradient
    ("clip_when_below", "no_clip_l2_f64", "output 'grads'"),
    ("inf_as_two", "clip_inf_f64", "output 'total_norm'"),
    # the absent gradients are 100x larger: counting them changes the norm a lot
    ("absent_counted", "missing_grads_f64", "output 'total_norm'"),
    ("absent_scaled", "missing_grads_f64", "output 'grads'"),
    # |g| ~ 1e-9: without eps the coefficient is ~1e-1, with it ~1e-3
    ("no_eps", "tiny_grads_f64", "output 'grads'"),
    ("nan_skips_clipping", "nan_grad_f32", "output 'grads'"),
    ("error_flag_ignored", "inf_norm_with_error_flag", "RuntimeError"),
    ("norm_after_clipping", "clip_l2_f64", "output 'total_norm'"),
    ("float32_arithmetic", "clip_l2_f64", "output 'total_norm'"),
    ("value_one_sided", "value_f64", "output 'grads'"),
    # a 256-tensor chunk with the tail left out of the norm: only the 258-tensor case sees it
    ("tensor_chunk", "multi_block", "output 'total_norm'"),
    ("norm_shape_1", "no_grads", "shape"),
    ("rebind", "clip_l2_f64", "state 'grads'[0] was rebound"),
]


@pytest.mark.parametrize(("mistake", "name", "diagnosis"), PITFALLS)
def test_the_suite_catches(mistake: str, name: str, diagnosis: str) -> None:
    v = run(name, **{mistake: 256 if mistake == "tensor_chunk" else True})
    assert v.status in ("fail", "error"), f"{mistake} passed {name}"
    assert diagnosis in v.detail, v.detail


def test_a_tiled_mistake_passes_below_its_first_block() -> None:
    """The 256-tensor chunk is only wrong past the first chunk: multi_block is needed."""
    assert run("resnet_narrow_f32", tensor_chunk=256).status == "pass"


def test_the_oracle_follows_torch() -> None:
    """The oracle against clip_grad_norm_ in float64 for every norm order, with and without
    clipping (the library cells do this too; here it is direct)."""
    torch = pytest.importorskip("torch")
    for name in ("clip_l2_f64", "clip_l1_f64", "clip_inf_f64", "no_clip_l2_f64", "inf_grad_f64"):
        found = SUITE.find_case(name)
        assert isinstance(found, Case)
        inputs = SUITE.make_inputs(found)
        opts = ClipOptions.build(found.options)
        norm, expected = SUITE.run_oracle(inputs, found)
        grads = [torch.tensor(g) for g in inputs["grads"]]
        params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        got = torch.nn.utils.clip_grad_norm_(params, float(inputs["threshold"]), opts.norm_type)
        np.testing.assert_allclose(got.item(), norm, rtol=1e-12)
        for g, want in zip(grads, expected, strict=True):
            np.testing.assert_allclose(g.numpy(), want, rtol=1e-12, atol=1e-300)

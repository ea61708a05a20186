"""Pitfalls of conv_bn_fusion: each deliberately wrong variant is flagged by verify, and the
oracle's fused conv reproduces conv + eval-mode BN (the model-level check, float64 torch),
grouped ConvTranspose included (which torch's own fusion cannot fold).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import case_inputs, oracle_output, verify
from suites.conv_bn_fusion import SUITE, FusionOptions, check

Fn = Callable[..., Any]


def variant(
    *,
    transposed_axis: str = "grouped",
    eps_inside: bool = True,
    use_conv_bias: bool = True,
    missing_gamma_is: float = 1.0,
    compute: str = "declared",
    channels_done: int = 0,
    in_place: bool = False,
    flat_when_empty: bool = False,
    checks: bool = True,
) -> Fn:
    """A NumPy fusion; every knob away from its default is one mistake."""

    def fuse(w: Any, b: Any, m: Any, v: Any, g: Any, be: Any, eps: float, groups: int,
             opts: FusionOptions) -> Any:  # fmt: skip
        if checks:
            check(w, b, m, v, g, be, eps, groups, opts)
        dtype = w.dtype
        if compute == "float32":
            ct: Any = np.float32
        elif compute == "input":
            ct = dtype.type
        else:
            ct = np.float32 if dtype == np.float16 and opts.compute == "widened" else dtype.type
        o = m.shape[0]
        gamma = np.full(o, missing_gamma_is, ct) if g is None else g.astype(ct)
        with np.errstate(divide="ignore"):
            rs = 1 / (
                np.sqrt(v.astype(ct) + ct(eps)) if eps_inside else np.sqrt(v.astype(ct)) + ct(eps)
            )
        s = gamma * rs
        if channels_done:  # a blocked kernel that scales only its first block of channels
            s[channels_done:] = 1
        k = (1,) * (w.ndim - 2)
        if not opts.transposed or transposed_axis == "axis0":
            shaped = s.reshape(-1, 1, *k)
        elif transposed_axis == "axis1":  # torch's reshape: (1, O, ...), groups ignored
            shaped = s.reshape(1, -1, *k)
        else:
            a, bb = w.shape[:2]
            shaped = np.repeat(s.reshape(groups, 1, bb), a // groups, axis=1).reshape(a, bb, *k)
        if in_place:
            w *= shaped.astype(dtype)
            fw = w
        else:
            fw = (w.astype(ct) * shaped).astype(dtype)
        shift = -m.astype(ct) if b is None or not use_conv_bias else b.astype(ct) - m.astype(ct)
        fb = shift * s + (0 if be is None else be.astype(ct))
        fb = fb.astype(dtype)
        return (fw.reshape(-1) if flat_when_empty and fw.size == 0 else fw), fb

    return fuse


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("conv_bn_fusion", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, statuses that flag it, words the diagnosis must contain)
    (variant(transposed_axis="axis0"), "transposed_f64", "raised ValueError"),
    (variant(transposed_axis="axis1"), "transposed_grouped_f32", "raised ValueError"),
    (variant(transposed_axis="axis1"), "transposed_grouped_3_f64", "raised ValueError"),
    (variant(eps_inside=False), "conv2d_f64", "elements differ"),
    (variant(eps_inside=False), "zero_var_tiny_eps_f32", "elements differ"),
    (variant(use_conv_bias=False), "conv2d_f64", "output 'bias'"),
    (variant(missing_gamma_is=0.0), "no_affine_f64", "elements differ"),
    (variant(compute="input"), "f16_widened", "finite values off"),
    (variant(compute="input"), "zero_var_tiny_eps_f16", "inf"),
    (variant(compute="float32"), "conv2d_f64", "finite values off"),
    (variant(channels_done=256), "multi_block", "first at (256"),
    (variant(in_place=True), "conv2d_f32", "modified its input(s) ['weight']"),
    (variant(flat_when_empty=True), "transposed_no_inputs", "has shape (0,), expected (0, 5"),
    (variant(checks=False), "bn_channels_mismatch", "does not match"),
    (variant(checks=False), "no_running_stats", "must raise ValueError"),
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


def test_the_mistakes_hide_where_the_case_cannot_show_them() -> None:
    """Why the suite has grouped-transposed, multi-block and zero-variance float16 cases."""
    assert _verdict(variant(transposed_axis="axis1"), "transposed_f64").status == "pass"
    assert _verdict(variant(channels_done=256), "conv2d_f32").status == "pass"
    assert _verdict(variant(compute="input"), "f16_input_order").status == "pass"


def _t(inputs: dict[str, Any], name: str) -> Any:
    import torch

    v = inputs[name]
    return None if v is None else torch.from_numpy(np.array(v, dtype=np.float64))


@pytest.mark.parametrize("name", ["conv2d_f64", "no_affine_f64", "transposed_grouped_3_f64"])
def test_the_fused_conv_reproduces_conv_then_eval_bn(name: str) -> None:
    """conv(x, W', b') = BN_eval(conv(x, W, b)) in float64 torch, for a Conv2d and for a
    grouped ConvTranspose2d (whose output channel j of group g is g·O/g + j)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    case = SUITE.find_case(name)
    assert isinstance(case, Case)
    inputs = case_inputs(SUITE, case)
    w, b, m, v, g, be = (_t(inputs, k) for k in ("weight", "bias", "running_mean",
                                                  "running_var", "gamma", "beta"))  # fmt: skip
    eps, groups = inputs["eps"], inputs["groups"]
    fw, fb = (torch.from_numpy(np.asarray(a, np.float64)) for a in oracle_output(SUITE, case))
    transposed = case.options.get("transposed", False)
    c_in = w.shape[0] if transposed else w.shape[1] * groups
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((2, c_in, 7, 6)))
    conv = F.conv_transpose2d if transposed else F.conv2d
    unfused = F.batch_norm(conv(x, w, b, groups=groups), m, v, g, be, False, 0.0, eps)
    fused = conv(x, fw, fb, groups=groups)
    np.testing.assert_allclose(fused.numpy(), unfused.numpy(), rtol=1e-10, atol=1e-10)

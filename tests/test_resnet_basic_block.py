"""Pitfalls of resnet_basic_block: each deliberately wrong variant is flagged by verify.

The variants are one functional torch block with a knob per classic mistake, registered as
harness Implementation records (NumPy arrays in and out) and run on the suite's own cases
(fixed seeds) through harness.verify.verify. The block's module layout is also held to the
published parameter counts of ResNet-18 and ResNet-34.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import verify
from suites.resnet_basic_block import EPS, SUITE, BlockOptions, check

torch = pytest.importorskip("torch")
F = torch.nn.functional
Fn = Callable[..., Any]


def variant(
    *,
    relu_after_add: bool = True,
    batch_stats: bool = False,
    eps: float = EPS,
    stride_on: str = "conv1",
    proj_bn: bool = True,
    pad_channels: str = "centred",
    compute: str = "input",
    channels_done: int = 0,
    in_place: bool = False,
    flat_when_empty: bool = False,
    checks: bool = True,
) -> Fn:
    """A functional torch basic block; every knob away from its default is one mistake."""

    def bn(t: Any, p: Any) -> Any:
        if batch_stats:  # training-mode statistics instead of the running ones
            return F.batch_norm(t, None, None, p[0], p[1], True, 0.0, eps)
        return F.batch_norm(t, p[2], p[3], p[0], p[1], False, 0.0, eps)

    def block(x: Any, w1: Any, bn1: Any, w2: Any, bn2: Any, wp: Any, bp: Any,
              opts: BlockOptions) -> Any:  # fmt: skip
        if checks:
            check(x, w1, bn1, w2, bn2, wp, bp, opts)
        dtype = x.dtype
        ct = torch.float32 if compute == "float32" else torch.from_numpy(x[:0]).dtype
        arrays = dict(x=x, w1=w1, bn1=bn1, w2=w2, bn2=bn2, wp=wp, bp=bp)
        t: dict[str, Any] = {
            k: None if v is None else torch.from_numpy(np.array(v)).to(ct)
            for k, v in arrays.items()
        }
        s, (o, c) = opts.stride, w1.shape[:2]
        if o == 0:  # F.conv2d refuses a weight without output channels
            n, _, h, w = x.shape
            y = np.zeros((n, 0, (h - 1) // s + 1, (w - 1) // s + 1), dtype=dtype)
            return y.reshape(-1) if flat_when_empty else y
        s1, s2 = (s, 1) if stride_on == "conv1" else (1, s)
        out = F.relu(bn(F.conv2d(t["x"], t["w1"], None, s1, 1), t["bn1"]))
        out = bn(F.conv2d(out, t["w2"], None, s2, 1), t["bn2"])
        if wp is not None:
            short = F.conv2d(t["x"], t["wp"], None, s)
            short = bn(short, t["bp"]) if proj_bn else short
        elif o != c or s != 1:
            before = (o - c) // 2 if pad_channels == "centred" else 0
            short = F.pad(t["x"][:, :, ::s, ::s], (0, 0, 0, 0, before, o - c - before))
        else:
            short = t["x"]
        y = F.relu(out + short) if relu_after_add else F.relu(out) + short
        if channels_done:  # a blocked kernel that only finishes its first block of channels
            y[:, channels_done:] = F.relu(out[:, channels_done:])
        if in_place:
            x[...] = 0
        y = y.numpy().astype(dtype)
        return y.reshape(-1) if flat_when_empty and y.size == 0 else y

    return block


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("resnet_basic_block", "numpy", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # (wrong variant, case, words the diagnosis must contain)
    (variant(relu_after_add=False), "identity_f32", "elements differ"),
    (variant(batch_stats=True), "identity_f32", "elements differ"),
    (variant(eps=1e-3), "identity_f64", "elements differ"),
    (variant(stride_on="conv2"), "projection_stride2_f32", "elements differ"),
    (variant(proj_bn=False), "projection_stride2_f32", "elements differ"),
    (variant(pad_channels="first"), "zero_pad_stride2_f32", "elements differ"),
    (variant(compute="float32"), "identity_f64", "finite values off"),
    (variant(channels_done=256), "multi_block", "first at (0, 256"),
    (variant(in_place=True), "identity_f32", "modified its input(s) ['x']"),
    (variant(flat_when_empty=True), "no_out_channels", "has shape (0,), expected (2, 0, 5, 6)"),
    (variant(checks=False), "stride2_without_projection", "returned normally"),
    (variant(checks=False), "channel_mismatch_without_projection", "returned normally"),
    (variant(checks=False), "zero_pad_with_projection", "returned normally"),
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


def test_the_tiled_mistake_hides_in_the_first_block() -> None:
    assert _verdict(variant(channels_done=256), "projection_stride2_f32").status == "pass"


@pytest.mark.parametrize(("layers", "count"), [((2, 2, 2, 2), 11_689_512),
                                               ((3, 4, 6, 3), 21_797_672)])  # fmt: skip
def test_the_block_layout_gives_the_published_resnet_parameter_counts(
    layers: tuple[int, ...], count: int
) -> None:
    """ResNet-18/34 (1000 classes) from the reference's BasicBlock: 7x7/2 stem conv + BN,
    four stages of 64, 128, 256, 512 channels (stride 2 and a projection on entering the
    last three), FC 512 -> 1000. Built on the meta device: no memory, only shapes."""
    from implementations.resnet_basic_block.library_torch import BasicBlock

    nn = torch.nn
    modules = [nn.Conv2d(3, 64, 7, 2, 3, bias=False, device="meta"),
               nn.BatchNorm2d(64, device="meta")]  # fmt: skip
    c = 64
    for stage, blocks in enumerate(layers):
        o = 64 * 2**stage
        for i in range(blocks):
            s = 2 if stage and i == 0 else 1
            modules.append(BasicBlock(c, o, s, proj=s != 1 or c != o, zero_pad=False))
            c = o
    modules.append(nn.Linear(512, 1000, device="meta"))
    net = nn.Sequential(*modules)
    assert sum(p.numel() for p in net.parameters()) == count

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


# ---- resnet_basic_block.network ----------------------------------------------------------------

from suites.resnet_basic_block import (  # noqa: E402
    NETWORK,
    NetOptions,
    network_blocks,
    network_check,
    network_layout,
)


def net_variant(
    *,
    batch_stats: bool = False,
    shortcut_as: str = "",
    relu_after_add: bool = True,
    stride_on: str = "conv1",
    checks: bool = True,
    compute: str = "input",
    features_done: int = 0,
    in_place: bool = False,
    flat_when_empty: bool = False,
) -> Fn:
    """A functional torch ResNet, NumPy in and out; every knob away from its default is one
    mistake. ``shortcut_as="zero_pad"``: option A run where the options ask for B (the
    downsample weights skipped)."""

    def bn(t: Any, p: list[Any]) -> Any:
        if batch_stats:  # training-mode statistics instead of the running ones
            return F.batch_norm(t, None, None, p[0], p[1], True, 0.0, EPS)
        return F.batch_norm(t, p[2], p[3], p[0], p[1], False, 0.0, EPS)

    def network(x: Any, params: Any, fc_w: Any, fc_b: Any, opts: NetOptions) -> Any:
        if checks:
            network_check(x, params, fc_w, fc_b, opts)
        ct = torch.float32 if compute == "float32" else torch.from_numpy(x[:0]).dtype
        it = iter([torch.from_numpy(np.array(p)).to(ct) for p in params])

        def conv_bn(t: Any, stride: int, pad: int) -> Any:
            w = next(it)
            return bn(F.conv2d(t, w, None, stride, pad), [next(it) for _ in range(4)])

        h = F.max_pool2d(F.relu(conv_bn(torch.from_numpy(np.array(x)).to(ct), 2, 3)), 3, 2, 1)
        for b in network_blocks(opts.depth, opts.shortcut, int(params[0].shape[0])):
            s1, s2 = (b.stride, 1) if stride_on == "conv1" else (1, b.stride)
            out = conv_bn(F.relu(conv_bn(h, s1, 1)), s2, 1)
            if b.proj:
                short = conv_bn(h, b.stride, 0)
                if shortcut_as == "zero_pad":
                    before = (b.o - b.c) // 2
                    short = F.pad(h[:, :, ::2, ::2], (0, 0, 0, 0, before, b.o - b.c - before))
            elif b.c != b.o:
                before = (b.o - b.c) // 2
                short = F.pad(h[:, :, ::2, ::2], (0, 0, 0, 0, before, b.o - b.c - before))
            else:
                short = h
            h = F.relu(out + short) if relu_after_add else F.relu(out) + short
        pooled = h.mean(dim=(2, 3))
        if features_done:  # a blocked pooling kernel that only finishes its first block
            pooled[:, features_done:] = 0
        fc = torch.from_numpy(fc_w).to(ct), torch.from_numpy(fc_b).to(ct)
        logits = F.linear(pooled, *fc).numpy().astype(x.dtype)
        if in_place:
            x[...] = 0
        return logits.reshape(-1) if flat_when_empty and logits.size == 0 else logits

    return network


def _net_verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("resnet_basic_block.network", "numpy", "pitfall", fn)
    return verify(NETWORK, impl, NETWORK.find_case(case))


NET_PITFALLS = [
    (net_variant(batch_stats=True), "net18_f32", "elements differ"),
    (net_variant(shortcut_as="zero_pad"), "net18_f32", "elements differ"),
    (net_variant(relu_after_add=False), "net18_f32", "elements differ"),
    (net_variant(stride_on="conv2"), "net18_f32", "elements differ"),
    (net_variant(compute="float32"), "net18_f64", "finite values off"),
    (net_variant(features_done=256), "net18_width64_32px", "elements differ"),
    (net_variant(in_place=True), "net18_f32", "modified its input(s) ['x']"),
    (net_variant(flat_when_empty=True), "empty_batch", "has shape (0,), expected (0, 10)"),
    # unchecked, the missing projection ends in torch's RuntimeError, not the ValueError
    (net_variant(checks=False), "channel_mismatch_without_projection", "raised RuntimeError"),
    (net_variant(checks=False), "fc_width_mismatch", "raised RuntimeError"),
]


@pytest.mark.parametrize(("fn", "case", "words"), NET_PITFALLS)
def test_the_network_suite_flags_each_pitfall(fn: Fn, case: str, words: str) -> None:
    v = _net_verdict(fn, case)
    assert v.status == "fail", (v.status, v.detail)
    assert words in v.detail, v.detail


@pytest.mark.parametrize(
    "case", ["net18_f32", "net34_zero_pad_f64", "channel_mismatch_without_projection"]
)
def test_the_straightforward_network_variant_passes(case: str) -> None:
    v = _net_verdict(net_variant(), case)
    assert v.status == "pass", v.detail


def test_the_blocked_network_mistake_hides_at_a_narrow_width() -> None:
    assert _net_verdict(net_variant(features_done=256), "net18_f32").status == "pass"


@pytest.mark.parametrize(("depth", "count"), [(18, 11_689_512), (34, 21_797_672)])
def test_the_reference_network_has_the_published_parameter_count(depth: int, count: int) -> None:
    """The library reference at torchvision's width 64, 3 input channels and 1000 classes
    (on the meta device: shapes only), and its state_dict keys are the suite's params keys
    (in order) plus the BN counters and fc: torchvision's resnet18/34 would load them."""
    from implementations.resnet_basic_block.library_torch_network import ResNet

    net = ResNet(depth, "projection", 64, 3, 1000)
    assert sum(p.numel() for p in net.parameters()) == count
    keys = [k for k in net.state_dict() if not k.endswith("num_batches_tracked")]
    layout = network_layout(depth, "projection", 64, 3)
    assert keys == [k for k, _ in layout] + ["fc.weight", "fc.bias"]
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert all(shapes[k] == s for k, s in layout)

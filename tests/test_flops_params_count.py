"""Pitfalls of flops_params_count: each deliberately wrong counter is flagged by verify, and
the oracle's totals are the published ones (ResNet-18/34 parameters, ResNet-34's 7.33
GFLOP at 224x224 as torch's FlopCounterMode counts a real model, LeNet's 62,006).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.verify import verify
from suites.flops_params_count import (
    SUITE,
    CountOptions,
    check,
    flops_params_count,
    lenet_table,
    norms_lstm_table,
    resnet_table,
    se_sk_table,
)

Fn = Callable[..., Any]


def variant(
    *,
    fma: int | None = None,
    dilated_taps: bool = False,
    ignore_groups: bool = False,
    ceil: bool = False,
    transposed_like_conv: bool = False,
    bn_buffers: bool = False,
    bias_params: bool = True,
    unknown_is_zero: bool = False,
    elementwise: str | None = None,
    table_dtype: Any = None,
    count_dtype: Any = np.int64,
    rows_done: int = 0,
    in_place: bool = False,
    flat_when_empty: bool = False,
    bmm_params: bool = False,
    lstm_biases: int = 2,
    lstm_input_only: bool = False,
    norm_affine_always: bool = False,
    groupnorm_params_per_group: bool = False,
    deform_sampling: str = "per_input_channel",
    sigmoid_like_relu: bool = False,
) -> Fn:
    """A straightforward counter; every knob away from its default is one mistake."""

    def out(size: int, k: int, s: int, p: int, d: int) -> int:
        span = size + 2 * p - d * (k - 1) - 1
        return (-(-span // s) if ceil else span // s) + 1

    def count(layers: Any, opts: CountOptions) -> Any:
        if not unknown_is_zero:
            check(layers, opts)
        table = np.asarray(layers if table_dtype is None else np.asarray(layers, table_dtype))
        mac = opts.mac_flops if fma is None else fma
        counted = (opts.elementwise if elementwise is None else elementwise) == "counted"
        result = []
        for i, row in enumerate(table.tolist()):
            kind, n, ci, h, w, co, kh, kw, s, p, d, g, b = (int(v) for v in row)
            g = 1 if ignore_groups else g
            macs = other = params = 0
            if kind in (0, 12) or (kind == 2 and transposed_like_conv):
                ekh, ekw = (d * (kh - 1) + 1, d * (kw - 1) + 1) if dilated_taps else (kh, kw)
                outs = n * co * out(h, kh, s, p, d) * out(w, kw, s, p, d)
                macs, other = outs * ci // g * ekh * ekw, b * outs
                params = co * ci // g * kh * kw + b * co
                samples = n * ci * kh * kw * out(h, kh, s, p, d) * out(w, kw, s, p, d)
                if kind == 12 and deform_sampling == "per_input_channel":
                    macs += 4 * samples
                elif kind == 12 and deform_sampling == "per_output_channel":
                    macs += 4 * samples * co // ci  # resampled for every output channel
            elif kind in (8, 9, 10):
                affine = 1 if norm_affine_always else b
                other = (5 + 2 * b) * n * ci * h * w
                params = 2 * (g if kind == 8 and groupnorm_params_per_group else ci) * affine
            elif kind == 11:
                steps, recurrent = n * h * w, 0 if lstm_input_only else co
                macs = steps * 4 * co * (ci + recurrent)
                other = (13 + 8 * b) * steps * co
                params = 4 * co * (ci + co) + lstm_biases * 4 * co * b
            elif kind == 2:
                ho, wo = (
                    (h - 1) * s - 2 * p + d * (kh - 1) + 1,
                    (w - 1) * s - 2 * p + d * (kw - 1) + 1,
                )
                macs, other = n * h * w * ci * co // g * kh * kw, b * n * co * ho * wo
                params = ci * co // g * kh * kw + b * co
            elif kind == 1:
                macs, other, params = n * h * w * ci * co, b * n * h * w * co, ci * co + b * co
            elif kind == 7:  # a batched product: no parameters
                macs = n * h * w * ci * co
                params = ci * co if bmm_params else 0  # the right operand taken for a weight
            elif kind == 3:
                other, params = 2 * n * ci * h * w, (4 if bn_buffers else 2) * ci * b
            elif kind in (4, 13, 14, 15):  # ReLU, sigmoid, softmax, a binary product
                per = {4: 1, 13: 1 if sigmoid_like_relu else 3, 14: 4, 15: 1}[kind]
                other = per * n * ci * h * w
            elif kind in (5, 6):
                per = kh * kw - (kind == 5)
                other = per * n * ci * out(h, kh, s, p, d) * out(w, kw, s, p, d)
            if not bias_params and kind in (0, 1, 2):
                params -= b * co
            flops = mac * macs + (other if counted else 0)
            if rows_done and i >= rows_done:  # a blocked pass that finishes one block of rows
                flops = 0
            result.append((flops, params))
        if in_place:
            layers[...] = 0
        y = np.array(result, dtype=np.int64).reshape(len(result), 2)
        y = y.astype(count_dtype).astype(np.int64)  # int32 arithmetic wraps past 2^31
        return y.reshape(-1) if flat_when_empty and y.size == 0 else y

    return count


def _verdict(fn: Fn, case: str) -> Any:
    impl = Implementation("flops_params_count", "python", "pitfall", fn)
    return verify(SUITE, impl, SUITE.find_case(case))


PITFALLS = [
    # LSTM with one bias vector (b_ih + b_hh folded: 4H, not torch's 8H parameters)
    (variant(lstm_biases=1), "random_norms_lstm", "values differ"),
    (variant(lstm_biases=1), "norms_lstm_layers", "values differ"),
    # the recurrent product h·W_hh forgotten: 4H·I multiply-adds per step, not 4H·(I + H)
    (variant(lstm_input_only=True), "random_norms_lstm", "values differ"),
    # LayerNorm(elementwise_affine=False) / InstanceNorm(affine=False) given 2·C parameters
    (variant(norm_affine_always=True), "norms_lstm_layers", "values differ"),
    # GroupNorm's affine taken per group (2·G) instead of per channel (2·C)
    (variant(groupnorm_params_per_group=True), "norms_lstm_layers", "values differ"),
    # a sigmoid counted as one op per element, like ReLU (exp, add and divide: 3)
    (variant(sigmoid_like_relu=True), "se_sk_blocks_counted", "values differ"),
    # deformable conv counted as its plain conv (the bilinear sampling left out) ...
    (variant(deform_sampling="none"), "random_deform", "values differ"),
    # ... or its samples redrawn for every output channel
    (variant(deform_sampling="per_output_channel"), "random_deform", "values differ"),
    # a batched product (attention's Q·Kᵀ) counted like a linear layer's weight
    (variant(bmm_params=True), "attention_layer", "values differ"),
    # (wrong counter, case, words the diagnosis must contain)
    (variant(fma=1), "random_layers", "values differ"),  # MACs reported as FLOPs
    (variant(fma=2), "random_layers_macs", "values differ"),
    (variant(dilated_taps=True), "random_layers", "values differ"),
    (variant(ignore_groups=True), "random_layers", "values differ"),
    (variant(ceil=True), "random_layers", "values differ"),
    (variant(transposed_like_conv=True), "random_layers", "values differ"),
    (variant(bn_buffers=True), "resnet34", "values differ"),  # running stats as params
    (variant(bias_params=False), "lenet_float_table", "values differ"),
    (variant(elementwise="counted"), "random_layers", "values differ"),
    (variant(elementwise="excluded"), "lenet_counted", "values differ"),
    (variant(table_dtype=np.float32), "huge_linear_f64", "values differ"),
    (variant(count_dtype=np.int32), "resnet18_batch_32", "values differ"),  # wraps past 2^31
    (variant(rows_done=256), "multi_block", "values differ"),
    (variant(in_place=True), "random_layers", "modified its input(s) ['layers']"),
    (variant(flat_when_empty=True), "no_layers", "has shape (0,), expected (0, 2)"),
    (variant(unknown_is_zero=True), "unknown_layer_kind", "returned normally"),
]


@pytest.mark.parametrize(("fn", "case", "words"), PITFALLS)
def test_the_suite_flags_each_pitfall(fn: Fn, case: str, words: str) -> None:
    v = _verdict(fn, case)
    assert v.status == "fail", (v.status, v.detail)
    assert words in v.detail, v.detail


@pytest.mark.parametrize("case", [c.name for c in SUITE.cases] + [e.name for e in SUITE.errors])
def test_the_straightforward_counter_passes(case: str) -> None:
    v = _verdict(variant(), case)
    assert v.status == "pass", v.detail


def test_the_blocked_mistake_hides_in_the_first_block() -> None:
    assert _verdict(variant(rows_done=256), "random_layers").status == "pass"


def test_the_norm_and_lstm_parameters_are_the_modules() -> None:
    """The norms_lstm table's parameters equal the torch modules' (the library adapter
    checks every row the same way; this pins the two-bias LSTM and the no-affine norms)."""
    counts = flops_params_count(np.array(norms_lstm_table(), dtype=np.int64), CountOptions())
    assert counts[:, 1].tolist() == [512, 1536, 0, 0, 128, 132_096, 24_576]
    assert counts[:, 0].tolist()[:5] == [0] * 5  # elementwise: 0, as FlopCounterMode


def test_lstm_flops_equal_a_linear_decomposition_on_cpu() -> None:
    """On CPU tensors nn.LSTM runs a fused kernel FlopCounterMode reports as 0 FLOPs (the
    adapter counts on the meta device, where aten::lstm decomposes into addmm). The same
    recurrence written with F.linear calls counts 2·T·B·4H·(I + H), the oracle's value."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    t, b, i, hidden = 3, 2, 5, 4
    lstm = nn.LSTM(i, hidden)
    x = torch.randn(t, b, i, generator=torch.Generator().manual_seed(0))
    w_ih, w_hh, b_ih, b_hh = lstm.all_weights[0]
    with FlopCounterMode(display=False) as fused, torch.no_grad():
        reference, _ = lstm(x)
    assert fused.get_total_flops() == 0  # torch 2.13 CPU: aten::lstm is opaque to it
    h, c, outputs = torch.zeros(b, hidden), torch.zeros(b, hidden), []
    with FlopCounterMode(display=False) as manual, torch.no_grad():
        for step in range(t):
            gates = F.linear(x[step], w_ih, b_ih) + F.linear(h, w_hh, b_hh)
            gi, gf, gg, go = gates.chunk(4, dim=1)
            c = torch.sigmoid(gf) * c + torch.sigmoid(gi) * torch.tanh(gg)
            h = torch.sigmoid(go) * torch.tanh(c)
            outputs.append(h)
    # float32 on 3 steps of 4 units: the decomposition rounds within a few ulps of ~1 values
    torch.testing.assert_close(torch.stack(outputs), reference, rtol=1e-5, atol=1e-6)
    row = [[11, b, i, t, 1, hidden, 1, 1, 1, 0, 1, 1, 1]]
    counts = flops_params_count(np.array(row, dtype=np.int64), CountOptions())
    assert counts[0, 0] == manual.get_total_flops() == 2 * t * b * 4 * hidden * (i + hidden)
    assert counts[0, 1] == sum(p.numel() for p in lstm.parameters())


def test_se_and_sk_blocks_equal_flop_counter_mode_on_the_reference_modules() -> None:
    """The se_sk table's SE and SK rows against FlopCounterMode over the se_block and
    sk_block references' modules (meta device): the same FLOPs (1x1 convs as linear rows)
    and parameters; the depthwise-separable pair's hand counts."""
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    from implementations.se_block.library_torch import SqueezeExcitation
    from implementations.sk_block.library_torch import SKConv

    module = SqueezeExcitation(64, 4, True, True, nn.Sigmoid())
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(torch.empty(2, 64, 56, 56, device="meta"))
    counts = flops_params_count(np.array(se_sk_table(2), dtype=np.int64), CountOptions())
    se = counts[:6].sum(axis=0)
    assert se[0] == counter.get_total_flops() == 2 * 2 * (64 * 4 + 4 * 64)
    assert se[1] == sum(p.numel() for p in module.parameters()) == 64 * 4 + 4 + 4 * 64 + 64
    sk_module = SKConv(64, 4, [3, 3], [1, 2], 32, True).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        sk_module(torch.empty(2, 64, 56, 56, device="meta"))
    sk = counts[6:-2].sum(axis=0)
    assert sk[0] == counter.get_total_flops()
    assert sk[1] == sum(p.numel() for p in sk_module.parameters()) == 3464
    depthwise, pointwise = counts[-2:, 0] // (2 * 2)  # multiply-adds per image
    assert depthwise == 56 * 56 * 64 * 9 and pointwise == 56 * 56 * 64 * 128


def test_deformable_conv_rule() -> None:
    """No library counts deform_conv2d: the rule is the conv's count plus 4 multiply-adds
    (one per bilinear corner) per sampled value, N·C_in·kH·kW·H_out·W_out of them; the
    parameters are the conv's (weight and bias; the offset conv is its own row)."""
    conv = [0, 2, 8, 9, 9, 16, 3, 3, 2, 1, 2, 4, 1]
    counts = flops_params_count(np.array([conv, [12, *conv[1:]]]), CountOptions(mac_flops=1))
    ho = (9 + 2 - 2 * 2 - 1) // 2 + 1
    assert counts[1, 0] - counts[0, 0] == 4 * 2 * 8 * 9 * ho * ho
    assert counts[1, 1] == counts[0, 1] == 16 * 2 * 9 + 16


def _totals(rows: list[list[int]], **options: Any) -> tuple[int, int]:
    counts = flops_params_count(np.array(rows, dtype=np.int64), CountOptions(**options))
    return int(counts[:, 0].sum()), int(counts[:, 1].sum())


def test_the_published_parameter_counts() -> None:
    assert _totals(resnet_table((3, 4, 6, 3)))[1] == 21_797_672
    assert _totals(resnet_table((2, 2, 2, 2)))[1] == 11_689_512
    assert _totals(lenet_table())[1] == 62_006


def test_resnet34_flops_equal_flop_counter_mode_on_the_real_model() -> None:
    """7.33 GFLOP (3.66 GMAC) at 224x224: the table's total equals FlopCounterMode over a
    meta-device ResNet-34 built from the resnet_basic_block reference's BasicBlock."""
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    from implementations.resnet_basic_block.library_torch import BasicBlock

    meta = torch.device("meta")
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False, device=meta),
                               nn.BatchNorm2d(64, device=meta), nn.ReLU(),
                               nn.MaxPool2d(3, 2, 1)]  # fmt: skip
    c = 64
    for stage, blocks in enumerate((3, 4, 6, 3)):
        o = 64 * 2**stage
        for i in range(blocks):
            s = 2 if stage and i == 0 else 1
            layers.append(BasicBlock(c, o, s, proj=s != 1 or c != o, zero_pad=False))
            c = o
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000, device=meta)]
    net = nn.Sequential(*layers).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(torch.empty(1, 3, 224, 224, device=meta))
    flops = _totals(resnet_table((3, 4, 6, 3)))[0]
    assert flops == counter.get_total_flops()
    assert round(flops / 1e9, 2) == 7.33
    assert round(_totals(resnet_table((3, 4, 6, 3)), mac_flops=1)[0] / 1e9, 2) == 3.66


def test_lenet_flops_per_image_are_the_spec_s_1_30_m() -> None:
    from suites.small_cnn_forward import MACS

    assert _totals(lenet_table())[0] == 2 * MACS
    assert round(2 * MACS / 1e6, 2) == 1.30

"""Suite for flops_params_count: analytic FLOPs and trainable parameters of a layer table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Rule
from harness.cases import bench, case, edge, error
from harness.comparators import Exact
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite

#: Layer kinds (column 0 of a row); anything else is refused, never counted as 0.
(CONV, LINEAR, CONV_T, BATCHNORM, RELU, MAXPOOL, AVGPOOL, BMM, GROUPNORM, LAYERNORM,
 INSTANCENORM, LSTM, DEFORM_CONV, SIGMOID, SOFTMAX, ELTWISE) = range(16)  # fmt: skip
KINDS = {CONV: "conv2d", LINEAR: "linear", CONV_T: "conv_transpose2d", BATCHNORM: "batchnorm2d",
         RELU: "relu", MAXPOOL: "maxpool2d", AVGPOOL: "avgpool2d", BMM: "bmm",
         GROUPNORM: "groupnorm", LAYERNORM: "layernorm", INSTANCENORM: "instancenorm2d",
         LSTM: "lstm", DEFORM_CONV: "deform_conv2d", SIGMOID: "sigmoid", SOFTMAX: "softmax",
         ELTWISE: "eltwise"}  # fmt: skip
#: Kinds whose output has the input's channels (c_out = c_in).
SAME_CHANNELS = (BATCHNORM, RELU, MAXPOOL, AVGPOOL, GROUPNORM, LAYERNORM, INSTANCENORM,
                 SIGMOID, SOFTMAX, ELTWISE)  # fmt: skip
#: Parameter-free elementwise kinds and their counted ops per element: ReLU 1, sigmoid 3
#: (exp, add 1, divide), softmax 4 (subtract the max, exp, sum, divide; finding the max is
#: not counted), eltwise 1 (a binary product or sum of two maps: SE's x·gate, a residual).
PER_ELEMENT = {RELU: 1, SIGMOID: 3, SOFTMAX: 4, ELTWISE: 1}
#: Normalisations that compute their statistics from the input (not BN's running buffers).
NORMS = (GROUPNORM, LAYERNORM, INSTANCENORM)
#: Kinds laid out like a conv (output size from kernel, stride, pad, dilation; groups).
CONV_LIKE = (CONV, DEFORM_CONV)
#: The 13 columns of a row.
COLUMNS = ("kind", "n", "c_in", "h", "w", "c_out", "kh", "kw", "stride", "pad", "dilation",
           "groups", "bias")  # fmt: skip


@dataclass(frozen=True)
class CountOptions(Options):
    mac_flops: int = option(
        2,
        1,
        meaning="FLOPs per multiply-add of a convolution or linear layer: 2 (torch's "
        "FlopCounterMode, fvcore's 'flops' x 2) or 1 (MAC-based tools, ptflops)",
    )
    elementwise: str = option(
        "excluded",
        "counted",
        meaning="excluded: BN, the other norms, ReLU, sigmoid, softmax, binary elementwise "
        "ops, pooling, bias adds and an LSTM's gate arithmetic count 0 FLOPs (FlopCounterMode); "
        "counted: BN 2 per element, ReLU 1, max-pool k² - 1 and avg-pool k² per output, a "
        "bias add 1 per output; GroupNorm/LayerNorm/InstanceNorm 5 per element (sum, "
        "subtract the mean, square, sum of squares, scale by 1/σ) + 2 with affine; LSTM "
        "13 per step, sample and hidden unit (4 adds of the input and recurrent gate "
        "products, 3 sigmoids, 2 tanh, f·c, i·g, their sum, o·tanh c) + 8 bias adds; "
        "sigmoid 3 per element, softmax 4, eltwise 1",
    )


def _integral(xp: Any, t: Any) -> Any:
    return (
        t != xp.round(t) if xp.isdtype(t.dtype, "real floating") else xp.zeros_like(t, dtype=bool)
    )


def _half(t: np.ndarray) -> np.ndarray:
    out = np.array(t, dtype=np.float64, copy=True)
    out.reshape(-1)[1] += 0.5
    return out


INTEGRAL = Rule("whole numbers (layer sizes)", _integral, _half)
# layers: one row per layer, the 13 COLUMNS (ints, or floats holding whole numbers). Linear
# rows apply to n·h·w tokens of c_in features; BN, ReLU and pooling rows need c_out = c_in;
# bias = 1 means a conv/linear bias or BN's affine weight and bias.
# GroupNorm: groups = the number of groups (dividing c_in); bias = affine. LayerNorm: n·h·w
# tokens of c_in features normalised over c_in (nn.LayerNorm(c_in)); bias =
# elementwise_affine. InstanceNorm2d: bias = affine. LSTM (one layer, nn.LSTM / LSTMCell for
# h·w = 1): n sequences of h·w steps, input size c_in, hidden size c_out; bias = both
# biases (b_ih and b_hh). deform_conv2d: a conv row (v1, no modulation mask); the offsets
# come from a separate conv row with 2·kh·kw·offset_groups outputs. sigmoid, softmax (over
# c_in) and eltwise (a binary elementwise op of two (n, c_in, h, w) maps): no parameters.
ARGS = Args(Arg("layers", ("L", 13), "real", rules=(INTEGRAL,)))


def _conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def layer_rows(layers: Any) -> list[list[int]]:
    """Validate every row (after ARGS.check) and return them as lists of Python ints.
    ValueError names the row and what is wrong: an unknown kind, a size below its minimum,
    groups not dividing the channels, an empty output, c_out != c_in where it must hold."""
    rows = [[int(v) for v in row] for row in np.asarray(layers).tolist()]
    for i, r in enumerate(rows):
        kind, n, c_in, h, w, c_out, kh, kw, s, p, d, g, bias = r
        if kind not in KINDS:
            raise ValueError(f"layers[{i}]: unknown layer kind {kind} (known: {KINDS})")
        low = {"n": (n, 0), "c_in": (c_in, 1), "h": (h, 1), "w": (w, 1), "c_out": (c_out, 1),
               "kh": (kh, 1), "kw": (kw, 1), "stride": (s, 1), "pad": (p, 0),
               "dilation": (d, 1), "groups": (g, 1)}  # fmt: skip
        for name, (value, least) in low.items():
            if value < least:
                raise ValueError(f"layers[{i}]: {name} must be >= {least}, got {value}")
        if bias not in (0, 1):
            raise ValueError(f"layers[{i}]: bias must be 0 or 1, got {bias}")
        if kind == BMM and bias:
            raise ValueError(f"layers[{i}]: a bmm row has no bias (bias must be 0)")
        if kind in (CONV, CONV_T, DEFORM_CONV) and (c_in % g or c_out % g):
            raise ValueError(f"layers[{i}]: groups={g} must divide c_in={c_in} and c_out={c_out}")
        if kind == GROUPNORM and c_in % g:
            raise ValueError(f"layers[{i}]: groups={g} must divide c_in={c_in} (groupnorm)")
        if kind in SAME_CHANNELS and c_out != c_in:
            raise ValueError(f"layers[{i}]: a {KINDS[kind]} row needs c_out = c_in")
        if kind in (MAXPOOL, AVGPOOL) and 2 * p > min(kh, kw):
            raise ValueError(f"layers[{i}]: a pooling pad must be at most half the kernel")
        if kind == CONV_T:
            sizes = [(x - 1) * s - 2 * p + d * (k - 1) + 1 for x, k in ((h, kh), (w, kw))]
        elif kind in (CONV, DEFORM_CONV, MAXPOOL, AVGPOOL):
            sizes = [_conv_out(h, kh, s, p, d), _conv_out(w, kw, s, p, d)]
        else:
            sizes = [1]
        if min(sizes) < 1:
            raise ValueError(f"layers[{i}]: the {KINDS[kind]} output would be empty")
    return rows


def check(layers: Any, opts: CountOptions) -> list[list[int]]:
    """The one-line input check of every implementation: ARGS, then layer_rows."""
    ARGS.check(layers)
    return layer_rows(layers)


def flops_params_count(layers: Any, opts: CountOptions) -> Any:
    """Oracle: exact integers, one row at a time; (L, 2) int64 of [FLOPs, parameters].
    conv: m = N·C_out·H_out·W_out·(C_in/g)·kH·kW multiply-adds (dilation changes H_out, not
    the taps); transposed conv: N·H_in·W_in·C_in·(C_out/g)·kH·kW (each input pixel
    scattered through the kernel, FlopCounterMode's count); linear: N·h·w·C_in·C_out;
    bmm (attention's Q·Kᵀ and weights·V): N batched (h·w, C_in) x (C_in, C_out) products,
    N·h·w·C_in·C_out multiply-adds and no parameters.
    GroupNorm / LayerNorm / InstanceNorm: no multiply-adds (elementwise, like BN);
    parameters 2·C with affine (weight and bias over the channels; LayerNorm's C is its
    normalised feature size), none without. LSTM, one layer of hidden size H over T = h·w
    steps: 4H·(I + H) multiply-adds per step and sample (the gates' input and recurrent
    products); parameters 4H·(I + H) + 8H with bias (two bias vectors, b_ih and b_hh, as
    torch). deform_conv2d (v1): the conv's multiply-adds plus the bilinear sampling, 4
    multiply-adds (one per corner) per sampled value, N·C_in·kH·kW·H_out·W_out values
    (the sample coordinates and the four bilinear weights are not counted);
    parameters those of the conv (the offset conv is its own row). No library counts it.
    ReLU, sigmoid, softmax, eltwise: elementwise only (PER_ELEMENT), no parameters.
    FLOPs = mac_flops·m (+ elementwise ops when counted). Parameters: the weight's numel +
    C_out with bias; BN 2·C with affine; ReLU and pooling none (BN buffers never count)."""
    out = []
    for kind, n, c_in, h, w, c_out, kh, kw, s, p, d, g, bias in check(layers, opts):
        counted = opts.elementwise == "counted"
        macs = params = other = 0
        if kind in CONV_LIKE:
            ho, wo = _conv_out(h, kh, s, p, d), _conv_out(w, kw, s, p, d)
            macs = n * c_out * ho * wo * (c_in // g) * kh * kw
            params = c_out * (c_in // g) * kh * kw + bias * c_out
            other = bias * n * c_out * ho * wo
            if kind == DEFORM_CONV:  # 4 corner multiply-adds per bilinear sample
                macs += 4 * n * c_in * kh * kw * ho * wo
        elif kind == CONV_T:
            ho = (h - 1) * s - 2 * p + d * (kh - 1) + 1
            wo = (w - 1) * s - 2 * p + d * (kw - 1) + 1
            macs = n * h * w * c_in * (c_out // g) * kh * kw
            params = c_in * (c_out // g) * kh * kw + bias * c_out
            other = bias * n * c_out * ho * wo
        elif kind == BMM:
            macs = n * h * w * c_in * c_out
        elif kind == LINEAR:
            macs = n * h * w * c_in * c_out
            params = c_in * c_out + bias * c_out
            other = bias * n * h * w * c_out
        elif kind == BATCHNORM:
            params = 2 * c_in * bias
            other = 2 * n * c_in * h * w
        elif kind in NORMS:
            params = 2 * c_in * bias
            other = (5 + 2 * bias) * n * c_in * h * w
        elif kind == LSTM:
            steps = n * h * w
            macs = steps * 4 * c_out * (c_in + c_out)
            params = 4 * c_out * (c_in + c_out) + 8 * c_out * bias
            other = (13 + 8 * bias) * steps * c_out
        elif kind in PER_ELEMENT:
            other = PER_ELEMENT[kind] * n * c_in * h * w
        else:  # pooling: comparisons (max) or adds and a divide (avg) per output
            ho, wo = _conv_out(h, kh, s, p, d), _conv_out(w, kw, s, p, d)
            per = kh * kw - 1 if kind == MAXPOOL else kh * kw
            other = per * n * c_in * ho * wo
        out.append([opts.mac_flops * macs + (other if counted else 0), params])
    return np.array(out, dtype=np.int64).reshape(len(out), 2)


def _row(kind: int, n: int, c_in: int, h: int, w: int, c_out: int = 0, k: int = 1, s: int = 1,
         p: int = 0, d: int = 1, g: int = 1, bias: int = 0) -> list[int]:  # fmt: skip
    return [kind, n, c_in, h, w, c_out or c_in, k, k, s, p, d, g, bias]


def resnet_table(depths: tuple[int, ...], n: int = 1, size: int = 224) -> list[list[int]]:
    """ResNet-18/34 (basic blocks, 1000 classes) as rows: 7x7/2 stem conv, BN, ReLU, 3x3/2
    max-pool (pad 1); per block conv-BN-ReLU-conv-BN (+ a 1x1/2 conv and BN projection
    entering stages 2-4), ReLU after the add; global average pool (as an avgpool over the
    final map) and FC 512 -> 1000."""
    rows = [_row(CONV, n, 3, size, size, 64, 7, 2, 3)]
    h = _conv_out(size, 7, 2, 3, 1)
    rows += [_row(BATCHNORM, n, 64, h, h, bias=1), _row(RELU, n, 64, h, h),
             _row(MAXPOOL, n, 64, h, h, k=3, s=2, p=1)]  # fmt: skip
    h, c = _conv_out(h, 3, 2, 1, 1), 64
    for stage, blocks in enumerate(depths):
        o = 64 * 2**stage
        for b in range(blocks):
            s = 2 if stage and b == 0 else 1
            ho = _conv_out(h, 3, s, 1, 1)
            rows += [_row(CONV, n, c, h, h, o, 3, s, 1), _row(BATCHNORM, n, o, ho, ho, bias=1),
                     _row(RELU, n, o, ho, ho), _row(CONV, n, o, ho, ho, o, 3, 1, 1),
                     _row(BATCHNORM, n, o, ho, ho, bias=1)]  # fmt: skip
            if s != 1 or c != o:
                rows += [_row(CONV, n, c, h, h, o, 1, s), _row(BATCHNORM, n, o, ho, ho, bias=1)]
            rows.append(_row(RELU, n, o, ho, ho))
            h, c = ho, o
    rows += [_row(AVGPOOL, n, c, h, h, k=h), _row(LINEAR, n, c, 1, 1, 1000, bias=1)]
    return rows


def lenet_table(n: int = 1) -> list[list[int]]:
    """small_cnn_forward's network: 62,006 parameters, ≈ 1.30 MFLOP per image."""
    return [
        _row(CONV, n, 3, 32, 32, 6, 5, bias=1), _row(RELU, n, 6, 28, 28),
        _row(MAXPOOL, n, 6, 28, 28, k=2, s=2), _row(CONV, n, 6, 14, 14, 16, 5, bias=1),
        _row(RELU, n, 16, 10, 10), _row(MAXPOOL, n, 16, 10, 10, k=2, s=2),
        _row(LINEAR, n, 400, 1, 1, 120, bias=1), _row(RELU, n, 120, 1, 1),
        _row(LINEAR, n, 120, 1, 1, 84, bias=1), _row(RELU, n, 84, 1, 1),
        _row(LINEAR, n, 84, 1, 1, 10, bias=1),
    ]  # fmt: skip


def attention_table(
    n: int = 1, length: int = 197, embed: int = 768, heads: int = 12
) -> list[list[int]]:
    """One ViT-B/16 self-attention layer at 224x224 (197 tokens, E = 768, 12 heads) as
    FlopCounterMode sees it: the packed q/k/v projection, Q·Kᵀ and weights·V as batched
    products over batch·heads (d_h = 64), the output projection."""
    dh = embed // heads
    return [
        _row(LINEAR, n, embed, length, 1, 3 * embed, bias=1),
        _row(BMM, n * heads, dh, length, 1, length),  # (L, d_h) x (d_h, L): the logits
        _row(BMM, n * heads, length, length, 1, dh),  # (L, L) x (L, d_h): the context
        _row(LINEAR, n, embed, length, 1, embed, bias=1),
    ]  # fmt: skip


def norms_lstm_table(n: int = 1) -> list[list[int]]:
    """The normalisations and recurrences other algorithms benchmark: GroupNorm(32, 256) at
    28x28, LayerNorm(768) over ViT's 197 tokens with and without elementwise_affine,
    InstanceNorm2d(64) at 56x56 with and without affine, nn.LSTM(128, 128) over 10 steps,
    an LSTMCell(32, 64) step without biases."""
    return [
        _row(GROUPNORM, n, 256, 28, 28, g=32, bias=1), _row(LAYERNORM, n, 768, 197, 1, bias=1),
        _row(LAYERNORM, n, 768, 197, 1), _row(INSTANCENORM, n, 64, 56, 56),
        _row(INSTANCENORM, n, 64, 56, 56, bias=1), _row(LSTM, n, 128, 10, 1, 128, bias=1),
        _row(LSTM, n, 32, 1, 1, 64),
    ]  # fmt: skip


def se_sk_table(n: int = 1, c: int = 64, size: int = 56, r: int = 16) -> list[list[int]]:
    """A squeeze-and-excitation block (global average pool, C -> C/r -> C with biases, ReLU,
    sigmoid gate, x·gate) and a two-branch selective-kernel block (3x3 and dilated 3x3
    grouped convs with BN and ReLU, their sum, pool, C -> C/r squeeze and one C/r -> C
    excitation per branch, softmax across the branches, the weighted sum), then a MobileNet
    depthwise-separable pair (3x3 depthwise, 1x1 pointwise)."""
    d, h = c // r, size
    se = [_row(AVGPOOL, n, c, h, h, k=h), _row(LINEAR, n, c, 1, 1, d, bias=1),
          _row(RELU, n, d, 1, 1), _row(LINEAR, n, d, 1, 1, c, bias=1),
          _row(SIGMOID, n, c, 1, 1), _row(ELTWISE, n, c, h, h)]  # fmt: skip
    branch = [_row(BATCHNORM, n, c, h, h, bias=1), _row(RELU, n, c, h, h)]
    sk = [_row(CONV, n, c, h, h, c, 3, 1, 1, g=32), *branch,
          _row(CONV, n, c, h, h, c, 3, 1, 2, 2, g=32), *branch, _row(ELTWISE, n, c, h, h),
          _row(AVGPOOL, n, c, h, h, k=h), _row(LINEAR, n, c, 1, 1, d),
          _row(BATCHNORM, n, d, 1, 1, bias=1), _row(RELU, n, d, 1, 1),
          _row(LINEAR, n, d, 1, 1, c, bias=1), _row(LINEAR, n, d, 1, 1, c, bias=1),
          _row(SOFTMAX, n, 2, c, 1), _row(ELTWISE, n, c, h, h), _row(ELTWISE, n, c, h, h),
          _row(ELTWISE, n, c, h, h)]  # fmt: skip
    dw = [_row(CONV, n, c, h, h, c, 3, 1, 1, g=c), _row(CONV, n, c, h, h, 2 * c)]
    return se + sk + dw


#: The kinds a random table draws from: ``classic`` (FlopCounterMode counts every row),
#: ``norms_lstm`` (with sigmoid, softmax, eltwise; the same holds), ``deform`` (conv and
#: deformable conv: analytic only).
KIND_MIXES = {
    "classic": (CONV, LINEAR, CONV_T, BATCHNORM, RELU, MAXPOOL, AVGPOOL),
    "norms_lstm": (GROUPNORM, LAYERNORM, INSTANCENORM, LSTM, SIGMOID, SOFTMAX, ELTWISE),
    "deform": (CONV, DEFORM_CONV),
}


def _random_row(rng: np.random.Generator, kinds: tuple[int, ...]) -> list[int]:
    kind = kinds[int(rng.integers(0, len(kinds)))]
    n, h, w = int(rng.integers(1, 5)), int(rng.integers(9, 40)), int(rng.integers(9, 40))
    g = int(rng.choice([1, 2, 4])) if kind in (CONV, CONV_T, DEFORM_CONV, GROUPNORM) else 1
    c_in, c_out = g * int(rng.integers(1, 9)), g * int(rng.integers(1, 9))
    if kind in SAME_CHANNELS:
        c_out = c_in
    k, s = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    d = int(rng.integers(1, 3)) if kind != AVGPOOL else 1
    p = int(rng.integers(0, k // 2 + 1))
    if kind in (LINEAR, BATCHNORM, LSTM) or kind in NORMS or kind in PER_ELEMENT:
        k, s, p, d = 1, 1, 0, 1
    if kind == LSTM:  # a short sequence: h steps (torch runs it one step at a time)
        h, w = h // 4, 1
    return [kind, n, c_in, h, w, c_out, k, k, s, p, d, g, int(rng.integers(0, 2))]


def make_inputs(case: Case) -> Inputs:
    """``net``: ``random`` (L valid rows of the kinds of KIND_MIXES[``kinds``], sizes
    drawn), ``resnet18``, ``resnet34``, ``lenet``, ``attention``, ``norms_lstm``,
    ``se_sk``, ``huge_linear`` (2^24 + 1 input features: float32 cannot hold it); ``batch``
    the batch column; ``bad`` overwrites one cell (an error case)."""
    p, rng = case.params, np.random.default_rng(case.seed)
    net, batch = p.get("net", "random"), int(p.get("batch", 1))
    if net == "resnet34":
        rows = resnet_table((3, 4, 6, 3), batch)
    elif net == "resnet18":
        rows = resnet_table((2, 2, 2, 2), batch)
    elif net == "lenet":
        rows = lenet_table(batch)
    elif net == "attention":
        rows = attention_table(batch)
    elif net == "norms_lstm":
        rows = norms_lstm_table(batch)
    elif net == "se_sk":
        rows = se_sk_table(batch)
    elif net == "huge_linear":
        rows = [_row(LINEAR, batch, 2**24 + 1, 1, 1, 3, bias=1), _row(RELU, batch, 3, 1, 1),
                _row(CONV, batch, 3, 2**12 + 1, 2**12 + 3, 5, 3, 1, 1)]  # fmt: skip
    else:
        kinds = KIND_MIXES[p.get("kinds", "classic")]
        rows = [_random_row(rng, kinds) for _ in range(int(p["L"]))]
    table = np.array(rows, dtype=np.int64).reshape(len(rows), 13)
    if "bad" in p:
        row, col, value = p["bad"]
        table[row, col] = value
    return {"layers": table.astype(case.dtype)}


def cost(case: Case) -> Cost:
    """About 20 integer operations and 13 values read per row."""
    p = case.params
    net = p.get("net", "random")
    depths = {"resnet34": (3, 4, 6, 3), "resnet18": (2, 2, 2, 2)}
    if net in depths:
        rows = len(resnet_table(depths[net]))
    else:
        known = {"lenet": len(lenet_table()), "attention": len(attention_table()),
                 "norms_lstm": len(norms_lstm_table()), "se_sk": len(se_sk_table()),
                 "huge_linear": 3}  # fmt: skip
        rows = known.get(net) or int(p.get("L", 0))
    return Cost(20.0 * rows, 8.0 * 15 * rows, rows, "layers")


MAC, COUNTED = {"mac_flops": 1}, {"elementwise": "counted"}
CASES = [
    case("random_layers", L=40),  # the error base
    case("random_layers_counted", L=40, seed=29, options=COUNTED),
    case("random_layers_macs", L=40, seed=31, options=MAC),
    case("random_counted_macs", L=40, seed=37, options={**MAC, **COUNTED}),
    case("resnet34", net="resnet34"),
    case("resnet18_batch_32", net="resnet18", batch=32),
    case("lenet_counted", net="lenet", options=COUNTED),
    case("lenet_float_table", net="lenet", batch=3, dtype="float64"),
    # batched products (attention): FlopCounterMode counts torch.bmm as 2·B·M·K·N
    case("attention_layer", net="attention", batch=2),
    case("attention_layer_macs_counted", net="attention", options={**MAC, **COUNTED}),
    # GroupNorm / LayerNorm / InstanceNorm (elementwise: 0 FLOPs by default, 2·C affine
    # parameters) and LSTM (4H(I+H) multiply-adds per step, two biases)
    case("random_norms_lstm", L=40, seed=43, kinds="norms_lstm"),
    case(
        "random_norms_lstm_counted_macs",
        L=40,
        seed=47,
        kinds="norms_lstm",
        options={**MAC, **COUNTED},
    ),
    case("norms_lstm_layers", net="norms_lstm", batch=4),
    case("norms_lstm_counted", net="norms_lstm", options=COUNTED),
    # SE and SK blocks (sigmoid, softmax, elementwise products) and a depthwise-separable pair
    case("se_sk_blocks", net="se_sk", batch=2),
    case("se_sk_blocks_counted", net="se_sk", options=COUNTED),
    # deformable conv (v1): the conv's multiply-adds + 4 per bilinear sample; no library
    case("random_deform", L=20, seed=53, kinds="deform"),
    case("random_deform_macs_counted", L=20, seed=59, kinds="deform", options={**MAC, **COUNTED}),
    # several hundred rows: past a 256-row block
    case("multi_block", L=300, seed=41),
    edge("huge_linear_f64", net="huge_linear", dtype="float64"),
    edge("huge_linear_int", net="huge_linear", batch=2),
    edge("empty_batch", net="lenet", batch=0, options=COUNTED),
    edge("no_layers", L=0),
]
ERRORS = [
    error(
        "unknown_layer_kind",
        ValueError,
        r"layers\[3\]: unknown layer kind 16",
        L=40,
        bad=[3, 0, 16],
    ),
    error("zero_stride", ValueError, r"layers\[5\]: stride must be >= 1", L=40, bad=[5, 8, 0]),
    error("groups_not_dividing", ValueError, r"groups=4 must divide", net="lenet", bad=[0, 11, 4]),
    error("empty_conv_output", ValueError, r"output would be empty", net="lenet", bad=[0, 6, 40]),
    error("bn_channels_change", ValueError, r"needs c_out = c_in", net="resnet18", bad=[1, 5, 9]),
    error("bias_flag_2", ValueError, r"bias must be 0 or 1", net="lenet", bad=[0, 12, 2]),
    error("bmm_with_bias", ValueError, r"a bmm row has no bias", net="attention", bad=[1, 12, 1]),
    error(
        "groupnorm_groups_not_dividing",
        ValueError,
        r"layers\[0\]: groups=5 must divide",
        net="norms_lstm",
        bad=[0, 11, 5],
    ),
    error(
        "layernorm_features_change",
        ValueError,
        r"layers\[1\]: a layernorm row needs",
        net="norms_lstm",
        bad=[1, 5, 769],
    ),
    error("negative_kind", ValueError, r"unknown layer kind -1", net="norms_lstm", bad=[2, 0, -1]),
]
BENCH = {
    "smoke": [bench("bench_lenet", net="lenet")],
    "quick": [bench("bench_resnet34", net="resnet34", batch=8)],
    "full": [bench("bench_random_2000", L=2000)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "L": st.integers(0, 30),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["int64", "int32", "float64"]),
            "kinds": st.sampled_from(["classic", "norms_lstm"]),
        }
    )
    return st.builds(
        lambda p, o: Case("fuzz", p, o, "fuzz"), params, CountOptions.strategy(optional=True)
    )


SUITE = Suite(
    algorithm="flops_params_count",
    family="attention-and-layers",
    summary="FLOPs and trainable parameters per layer of a network given as a table of layer "
    "rows (conv, transposed conv, linear, BN, ReLU, pooling, batched matmul, GroupNorm, "
    "LayerNorm, InstanceNorm, LSTM, deformable conv, sigmoid, softmax, elementwise) -> (L, 2) "
    "int64 [FLOPs, params].",
    conventions=(
        "flops_params_count(layers, opts). layers (L, 13): kind (0 conv2d, 1 linear, 2 "
        "conv_transpose2d, 3 batchnorm2d, 4 relu, 5 maxpool2d, 6 avgpool2d, 7 bmm, 8 groupnorm, "
        "9 layernorm, 10 instancenorm2d, 11 lstm, 12 deform_conv2d, 13 sigmoid, 14 softmax "
        "(over c_in), 15 eltwise (a binary elementwise op of two maps)), n, c_in, "
        "h, w (the input), c_out, kh, kw, stride, pad, dilation, groups, bias (0/1; BN, GN, "
        "IN: affine; LN: elementwise_affine; LSTM: both biases). GroupNorm's groups column "
        "is its group count; LayerNorm normalises n·h·w tokens over c_in; norms count 0 "
        "FLOPs (elementwise) and 2·C parameters with affine. An LSTM row (hidden c_out) runs "
        "n sequences of h·w steps: 4H(I+H) multiply-adds per step and sample, 4H(I+H) + 8H "
        "parameters with biases (b_ih and b_hh). deform_conv2d (v1, no mask): the conv's "
        "count + 4 multiply-adds per bilinear sample (N·C_in·kH·kW·H_out·W_out samples); its "
        "offset conv is a separate conv row. A bmm row is n batched (h·w, c_in) x (c_in, "
        "c_out) products (attention's Q·Kᵀ and weights·V): n·h·w·c_in·c_out multiply-adds, "
        "no parameters, bias 0. "
        "FLOPs count a multiply-add as mac_flops (2, FlopCounterMode; or 1, MACs); a conv's "
        "count uses its output size (floor, as torch) and C_in/g taps, dilation changing the "
        "output size only; a transposed conv counts N·H_in·W_in·C_in·(C_out/g)·kH·kW (input "
        "pixels scattered). elementwise=excluded (default) counts no BN, ReLU, pooling or "
        "bias FLOPs, as FlopCounterMode; counted adds them. Parameters: trainable tensors "
        "only (BN's running buffers never count). Exact int64. ValueError: an unknown kind "
        "(never counted as 0), a size below its minimum, groups not dividing, an empty "
        "output, c_out != c_in for BN/ReLU/pooling/norms/sigmoid/softmax/eltwise, a "
        "non-integral or non-0/1 value."
    ),
    args=ARGS,
    options=CountOptions,
    make_inputs=make_inputs,
    oracle=flops_params_count,
    compare=Exact("int64"),
    cost=cost,
    defaults={"seed": 19, "dtype": "int64"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_resnet34",
    error_base="random_layers",
    multi_block={"L": 300},
    fuzz=fuzz_strategy,
    reference="torch.utils.flop_counter.FlopCounterMode over each row's module (nn.Conv2d, "
    "nn.ConvTranspose2d, nn.Linear, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, "
    "torch.bmm, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d, nn.LSTM, nn.Sigmoid, "
    "nn.Softmax, torch.mul) on meta tensors, "
    "parameters = the module's parameters' numel; deformable conv has no library check "
    "(analytic rule only); ResNet-34 = "
    "21,797,672 parameters and 7.33 GFLOP at 224x224, LeNet = 62,006",
    backends=("python", "library"),
)

"""Suite for receptive_field: the receptive field, jump and centre after each layer of a stack."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.args import Arg, Args, Rule
from harness.cases import bench, case, edge, error
from harness.comparators import Exact
from harness.spec import Case, Cost, Inputs, Suite


def _not_integral(xp: Any, t: Any) -> Any:
    if xp.isdtype(t.dtype, "real floating"):
        return t != xp.round(t)
    return xp.zeros_like(t, dtype=bool)


def _half(t: np.ndarray) -> np.ndarray:
    out = np.array(t, dtype=np.float64, copy=True)
    out.reshape(-1)[0] += 0.5
    return out


INTEGRAL = Rule("whole numbers (kernel, stride, padding, dilation)", _not_integral, _half)
# layers: one row (k, s, p, d) per convolution or pooling layer along one spatial axis
# (the receptive field is separable: run it per axis for rectangular kernels).
ARGS = Args(Arg("layers", ("L", 4), "real", rules=(INTEGRAL,)))


def check(layers: Any) -> list[tuple[int, int, int, int]]:
    """The one-line input check of every implementation: ARGS, then each row's k, s, d >= 1
    and p >= 0 (ValueError naming the row); returns the rows as Python ints."""
    ARGS.check(layers)
    rows = [tuple(int(v) for v in row) for row in np.asarray(layers).tolist()]
    for i, (k, s, p, d) in enumerate(rows):
        for name, value, least in (("k", k, 1), ("s", s, 1), ("d", d, 1), ("p", p, 0)):
            if value < least:
                raise ValueError(f"layers[{i}]: {name} must be >= {least}, got {value}")
    return rows  # type: ignore[return-value]


def receptive_field(layers: Any) -> Any:
    """Oracle, the recurrence: r = 1, j = 1, start = 0.5 (the centre of input pixel 0);
    per layer k_eff = d·(k - 1) + 1, r += (k_eff - 1)·j, start += ((k_eff - 1)/2 - p)·j,
    j *= s. Returns (L, 3) float64 rows [r, j, start] after each layer (exact: integers
    and halves)."""
    r, j, start = 1.0, 1.0, 0.5
    out = []
    for k, s, p, d in check(layers):
        k_eff = d * (k - 1) + 1
        r += (k_eff - 1) * j
        start += ((k_eff - 1) / 2 - p) * j
        j *= s
        out.append((r, j, start))
    return np.array(out, dtype=np.float64).reshape(len(out), 3)


def vgg16() -> list[list[int]]:
    """VGG-16's 13 3x3/1 pad-1 convolutions and 5 2x2/2 max-pools: r = 212, j = 32."""
    rows: list[list[int]] = []
    for convs in (2, 2, 3, 3, 3):
        rows += [[3, 1, 1, 1]] * convs + [[2, 2, 0, 1]]
    return rows


def resnet34() -> list[list[int]]:
    """ResNet-34's main path: 7x7/2 pad 3 stem, 3x3/2 pad 1 max-pool, then two 3x3 pad-1
    convolutions per basic block (the first of stages 2-4 with stride 2): r = 899, j = 32."""
    rows = [[7, 2, 3, 1], [3, 2, 1, 1]]
    for stage, blocks in enumerate((3, 4, 6, 3)):
        for b in range(blocks):
            rows += [[3, 2 if stage and b == 0 else 1, 1, 1], [3, 1, 1, 1]]
    return rows


def dilated(n: int = 10) -> list[list[int]]:
    """A context module: 3x3 convolutions with dilation 1, 2, 4, ... (padding = dilation)."""
    return [[3, 1, 2**i, 2**i] for i in range(n)]


def make_inputs(case: Case) -> Inputs:
    """``net``: ``random`` (L layers, k 1-7, s 1-3 (s > 1 with probability stride_rate,
    default 1/8), p 0-3,
    d 1-3), ``vgg16``, ``resnet34``, ``dilated``, ``stride_over_kernel`` (k = 1 with s = 3),
    ``huge_padding`` (p = 2^24 + 1: float32 cannot hold it); ``bad`` = [row, col, value]."""
    p, rng = case.params, np.random.default_rng(case.seed)
    net = p.get("net", "random")
    if net == "vgg16":
        rows = vgg16()
    elif net == "resnet34":
        rows = resnet34()
    elif net == "dilated":
        rows = dilated()
    elif net == "stride_over_kernel":
        rows = [[1, 3, 0, 1], [3, 1, 1, 1], [1, 3, 0, 1], [2, 2, 0, 1], [3, 1, 0, 2]]
    elif net == "huge_padding":
        rows = [[3, 2, 1, 1], [5, 1, 2**24 + 1, 1], [3, 2, 0, 1]]
    else:
        n = int(p["L"])
        rate = float(p.get("stride_rate", 0.125))
        strides = np.where(rng.random(n) < rate, rng.integers(2, 4, n), 1)
        rows = np.stack([rng.integers(1, 8, n), strides, rng.integers(0, 4, n),
                         rng.integers(1, 4, n)], axis=1).tolist()  # fmt: skip
    table = np.array(rows, dtype=np.int64).reshape(len(rows), 4)
    if "bad" in p:
        row, col, value = p["bad"]
        table[row, col] = value
    return {"layers": table.astype(case.dtype)}


def cost(case: Case) -> Cost:
    """About 10 operations and 4 values read per layer (the recurrence)."""
    p = case.params
    counts = {"vgg16": 18, "resnet34": 34, "dilated": 10, "stride_over_kernel": 5,
              "huge_padding": 3}  # fmt: skip
    rows = counts.get(p.get("net", "random"), int(p.get("L", 0)))
    return Cost(10.0 * max(rows, 1), 8.0 * 7 * max(rows, 1), rows, "layers")


CASES = [
    case("random_stack", L=24),  # the error base
    case("random_stack_2", L=30, seed=43),
    case("vgg16", net="vgg16"),
    case("resnet34", net="resnet34"),
    case("dilated_stack", net="dilated"),
    case("stride_over_kernel", net="stride_over_kernel"),
    case("float_table", net="vgg16", dtype="float64"),
    # several hundred layers: past a 256-row block (strides stay rare: j fits)
    case("multi_block", L=300, seed=47, stride_rate=0.02),
    edge("huge_padding_f64", net="huge_padding", dtype="float64"),
    edge("no_layers", L=0),
]
ERRORS = [
    error("zero_kernel", ValueError, r"layers\[2\]: k must be >= 1", L=24, bad=[2, 0, 0]),
    error("zero_stride", ValueError, r"layers\[3\]: s must be >= 1", L=24, bad=[3, 1, 0]),
    error("zero_dilation", ValueError, r"layers\[4\]: d must be >= 1", L=24, bad=[4, 3, 0]),
    error("negative_padding", ValueError, r"layers\[5\]: p must be >= 0", L=24, bad=[5, 2, -1]),
]
BENCH = {
    "smoke": [bench("bench_vgg16", net="vgg16")],
    "quick": [bench("bench_resnet34", net="resnet34")],
    "full": [bench("bench_random_1000", L=1000, seed=53)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "L": st.integers(0, 12),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["int64", "int32", "float64"]),
        }
    )
    return st.builds(lambda p: Case("fuzz", p, {}, "fuzz"), params)


SUITE = Suite(
    algorithm="receptive_field",
    family="attention-and-layers",
    summary="Receptive field r, jump j and first centre start after each layer of a stack of "
    "(k, s, p, d) layers -> (L, 3) float64 [r, j, start].",
    conventions=(
        "receptive_field(layers). layers (L, 4): kernel k, stride s, padding p, dilation d "
        "per layer along one axis (ints, or floats holding whole numbers); pooling counts "
        "like convolution. Coordinates: input pixel i spans [i, i + 1), centre i + 0.5. "
        "k_eff = d·(k - 1) + 1; r += (k_eff - 1)·j; start += ((k_eff - 1)/2 - p)·j; j *= s, "
        "from r = 1, j = 1, start = 0.5: padding moves the centre, never the size. The field "
        "is the theoretical one (not truncated at the image border); with s > k it has holes "
        "and r is its span. Exact float64. ValueError: k, s or d < 1, p < 0, a non-integral "
        "value."
    ),
    args=ARGS,
    make_inputs=make_inputs,
    oracle=receptive_field,
    compare=Exact("float64"),
    cost=cost,
    defaults={"seed": 23, "dtype": "int64"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_resnet34",
    error_base="random_stack",
    multi_block={"L": 300},
    fuzz=fuzz_strategy,
    reference="empirical, in torch: conv1d stacks with all-ones weights and no nonlinearity; "
    "the span of the non-zero gradient of a central output with respect to the input is r, "
    "the shift between neighbouring outputs' spans is j, the span's centre gives start",
    backends=("python", "torch_cpu"),
)

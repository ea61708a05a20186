"""Suite for pooling_max_avg: 2-D max and average pooling of an NCHW batch, every knob of
torch's F.max_pool2d / F.avg_pool2d an option (kernel, stride, padding, dilation, ceil_mode,
count_include_pad, divisor_override)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error
from harness.comparators import Close, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


def _ints(v: Any, n: int, low: int) -> bool:
    """A tuple (or, read back from JSON, a list) of n plain ints, each >= low."""
    return (
        isinstance(v, tuple | list)
        and len(v) == n
        and all(isinstance(k, int) and not isinstance(k, bool) and k >= low for k in v)
    )


def _divisor_ok(v: Any) -> bool:
    return v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)


@dataclass(frozen=True)
class PoolOptions(Options):
    op: str = option("max", "avg", meaning="max: the largest cell; avg: the mean")
    kernel: tuple[int, int] = option(
        (2, 2), (3, 3), (3, 2), meaning="(k_h, k_w), each >= 1", accepts=lambda v: _ints(v, 2, 1)
    )
    stride: tuple[int, int] | None = option(
        None,
        (2, 2),
        (1, 1),
        (2, 1),
        meaning="(s_h, s_w), each >= 1; None: the kernel (torch's default)",
        accepts=lambda v: v is None or _ints(v, 2, 1),
    )
    padding: tuple[int, int] = option(
        (0, 0),
        (1, 1),
        (1, 0),
        meaning="(p_h, p_w) on both sides, each <= k // 2 (torch); max pads with -inf, avg "
        "with zeros",
        accepts=lambda v: _ints(v, 2, 0),
    )
    dilation: tuple[int, int] = option(
        (1, 1),
        (2, 2),
        (2, 1),
        meaning="(d_h, d_w) tap spacing (max only, as torch)",
        accepts=lambda v: _ints(v, 2, 1),
    )
    ceil_mode: bool = option(
        False,
        True,
        meaning="True: H_out rounded up, minus the last window if it starts past the input "
        "and its left padding ((H_out - 1)·s >= H + p)",
    )
    count_include_pad: bool = option(
        True,
        False,
        meaning="avg only: True divides by the window clipped to the padded input (torch "
        "default; k² except ceil_mode windows past the right padding), False by the cells "
        "inside the input",
    )
    divisor_override: int | None = option(
        None, 4, meaning="avg only: divide every sum by this instead", accepts=_divisor_ok
    )

    def validate(self) -> None:
        for name in ("kernel", "stride", "padding", "dilation"):  # JSON gives lists
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        for p, k, axis in zip(self.padding, self.kernel, "hw", strict=True):
            if p > k // 2:
                raise ValueError(f"padding p_{axis}={p} exceeds half the kernel k_{axis}={k}")
        if self.op == "max" and (not self.count_include_pad or self.divisor_override):
            raise ValueError("count_include_pad and divisor_override apply to op='avg' only")
        if self.op == "avg" and self.dilation != (1, 1):
            raise ValueError("dilation applies to op='max' only (as torch)")

    @property
    def steps(self) -> tuple[int, int]:
        return self.stride if self.stride is not None else self.kernel


ARGS = Args(Arg("x", ("N", "C", "H", "W"), "float"), nonempty=("H", "W"))


class Axis(NamedTuple):
    """One spatial axis of the pooling: window o covers taps start(o) + t·d, t < k."""

    size: int
    k: int
    s: int
    p: int
    d: int
    out: int

    def starts(self) -> np.ndarray:
        return np.arange(self.out) * self.s - self.p

    def counts(self, include_pad: bool) -> np.ndarray:
        """The divisor's factor along this axis (avg, d = 1): torch clips the window to
        [-p, size + p) for count_include_pad, to [0, size) otherwise."""
        lo = self.starts()
        hi: np.ndarray = np.minimum(lo + self.k, self.size + self.p)
        if not include_pad:
            hi, lo = np.minimum(hi, self.size), np.maximum(lo, 0)
        counts: np.ndarray = hi - lo
        return counts


def out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """torch's pooling_output_shape: floor (or ceil) of the span over the stride, plus one;
    in ceil_mode the last window is dropped unless it starts inside the input or the left
    padding."""
    span = size + 2 * p - d * (k - 1) - 1  # may be negative: ceil_mode can still fit one
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def pool_axes(shape: Sequence[int], opts: PoolOptions) -> tuple[Axis, Axis]:
    """Both axes of a (N, C, H, W) input, validated: raises ValueError naming H_out/W_out
    when the dilated kernel does not fit the padded input."""
    h, w = int(shape[2]), int(shape[3])
    axes = tuple(
        Axis(n, k, s, p, d, out_size(n, k, s, p, d, opts.ceil_mode))
        for n, k, s, p, d in zip(
            (h, w), opts.kernel, opts.steps, opts.padding, opts.dilation, strict=True
        )
    )
    if axes[0].out <= 0 or axes[1].out <= 0:
        raise ValueError(
            f"output size H_out={axes[0].out}, W_out={axes[1].out} <= 0: the kernel "
            f"{opts.kernel} (dilation {opts.dilation}) exceeds x's {h}x{w} padded by {opts.padding}"
        )
    return axes[0], axes[1]


def divisors(ah: Axis, aw: Axis, opts: PoolOptions) -> np.ndarray:
    """(H_out, W_out) float64 divisors of the average."""
    if opts.divisor_override is not None:
        return np.full((ah.out, aw.out), float(opts.divisor_override))
    inc = opts.count_include_pad
    return np.outer(ah.counts(inc), aw.counts(inc)).astype(np.float64)


def pooling(x: Any, opts: PoolOptions) -> Any:
    """Oracle: float64. Each tap (i, j) of the window reads one strided view of the input
    padded with -inf (max) or 0 (avg) far enough for every window; max keeps NaN."""
    dtype = ARGS.check(x)
    ah, aw = pool_axes(np.shape(x), opts)
    xs = np.asarray(x, dtype=np.float64)
    n, c = xs.shape[:2]
    fill = -np.inf if opts.op == "max" else 0.0
    need_h = (ah.out - 1) * ah.s + ah.d * (ah.k - 1) + 1  # padded rows the windows reach
    need_w = (aw.out - 1) * aw.s + aw.d * (aw.k - 1) + 1
    hp, wp = max(need_h, ah.size + 2 * ah.p), max(need_w, aw.size + 2 * aw.p)
    xp = np.full((n, c, hp, wp), fill)
    xp[:, :, ah.p : ah.p + ah.size, aw.p : aw.p + aw.size] = xs
    out = np.full((n, c, ah.out, aw.out), fill)
    for i in range(ah.k):
        for j in range(aw.k):
            r0, c0 = i * ah.d, j * aw.d
            win = xp[
                :,
                :,
                r0 : r0 + (ah.out - 1) * ah.s + 1 : ah.s,
                c0 : c0 + (aw.out - 1) * aw.s + 1 : aw.s,
            ]
            out = np.maximum(out, win) if opts.op == "max" else out + win
    if opts.op == "avg":
        out = out / divisors(ah, aw, opts)
    return out.astype(dtype)


def make_inputs(case: Case) -> Inputs:
    p = case.params
    rng = np.random.default_rng(case.seed)
    shape = tuple(int(p[k]) for k in ("N", "C", "H", "W"))
    pattern = p.get("pattern", "random")
    if pattern == "ties":  # a few distinct values: equal maxima in most windows
        x = rng.integers(-2, 3, size=shape).astype(np.float64)
    else:
        x = rng.standard_normal(shape)
    if pattern == "nan" and x.size:
        x.reshape(-1)[:: max(x.size // 5, 1)] = np.nan
    elif pattern == "neg_inf" and x.size:  # the first plane all -inf: every window -inf
        x[0, 0] = -np.inf
    x = x.astype(case.dtype)
    if pattern == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return {"x": x}


def _axes(case: Case) -> tuple[int, int]:
    p = case.params
    try:
        ah, aw = pool_axes((1, 1, int(p["H"]), int(p["W"])), PoolOptions.build(case.options))
    except ValueError:  # an error case: its cost does not matter
        return 1, 1
    return ah.out, aw.out


def cost(case: Case) -> Cost:
    """k_h·k_w comparisons (max) or adds plus one division (avg) per output; bytes: the input
    read once and the output written once (bytes-bound)."""
    p = case.params
    opts = PoolOptions.build(case.options)
    oh, ow = _axes(case)
    outputs = int(p["N"]) * int(p["C"]) * oh * ow
    b = np.dtype(case.dtype).itemsize
    per = opts.kernel[0] * opts.kernel[1] + (opts.op == "avg")
    return Cost(
        flops=float(outputs * per),
        bytes=b * (int(p["N"]) * int(p["C"]) * int(p["H"]) * int(p["W"]) + outputs),
        items=outputs,
        item_unit="outputs",
    )


def tolerance(case: Case) -> Tolerance:
    """Max selects one input value: compared exactly (NaN where NaN, -inf where -inf). Avg
    sums K = k_h·k_w unit-normal values and divides once: the default 10·sqrt(K + 1)·eps, as
    rtol and as atol (the sums are ~1, the means smaller)."""
    opts = PoolOptions.build(case.options)
    if opts.op == "max":
        return Tolerance(0.0, 0.0, "max selects an input value: compared exactly")
    return default_tolerance(case.dtype, opts.kernel[0] * opts.kernel[1] + 1)


AVG: dict[str, Any] = {"op": "avg"}
K3S2P1: dict[str, Any] = {"kernel": (3, 3), "stride": (2, 2), "padding": (1, 1)}
CEIL: dict[str, Any] = {"ceil_mode": True}
NO_PAD_COUNT: dict[str, Any] = {"count_include_pad": False}
CASES = [
    case("max_2x2_f32"),
    case("avg_2x2_f64", dtype="float64", options=AVG),
    case("max_3x3s2p1", options=K3S2P1),
    case("avg_3x3s2p1", options={**AVG, **K3S2P1}),
    case("avg_3x3s2p1_exclude_pad_f64", dtype="float64", options={**AVG, **K3S2P1, **NO_PAD_COUNT}),
    # H = 12, k 3, s 2, p 1: floor gives 6, ceil 7 (last window starts at row 11 < 12 + 1)
    case("max_ceil_mode", H=12, W=11, options={**K3S2P1, **CEIL}),
    case("avg_ceil_mode", H=12, W=11, options={**AVG, **K3S2P1, **CEIL}),
    case(
        "avg_ceil_mode_exclude_pad", H=12, W=11, options={**AVG, **K3S2P1, **CEIL, **NO_PAD_COUNT}
    ),
    # H = 1 < k = 2: floor gives no row, ceil one window half outside (divided by 1 cell)
    edge("input_smaller_than_kernel_ceil_avg", H=1, W=3, options={**AVG, "kernel": (2, 2), **CEIL}),
    # H = 5, k 2, s 2, p 1: ceil gives 4 windows, but the 4th starts at 6 - 1 = 5 >= H:
    # torch drops it (3 rows); ceil without the rule keeps an all-padding row
    edge(
        "ceil_mode_window_in_padding_dropped",
        H=5,
        W=7,
        options={"kernel": (2, 2), "padding": (1, 1), **CEIL},
    ),
    edge(
        "avg_ceil_mode_window_in_padding_dropped",
        H=5,
        W=7,
        options={**AVG, "kernel": (2, 2), "padding": (1, 1), **CEIL},
    ),
    case("avg_divisor_override", options={**AVG, **K3S2P1, "divisor_override": 4}),
    case(
        "max_dilated",
        H=13,
        W=14,
        options={"kernel": (3, 3), "stride": (1, 1), "dilation": (2, 2), "padding": (1, 1)},
    ),
    case(
        "max_dilated_ceil_f64",
        dtype="float64",
        H=11,
        W=10,
        options={"kernel": (3, 2), "stride": (2, 1), "dilation": (2, 1), "padding": (1, 1), **CEIL},
    ),
    case(
        "max_rectangular",
        H=9,
        W=13,
        options={"kernel": (3, 2), "stride": (2, 1), "padding": (1, 0)},
    ),
    case("avg_overlapping_stride1", options={**AVG, "kernel": (3, 3), "stride": (1, 1)}),
    case("multi_block", N=1, C=2, H=6, W=300, options=K3S2P1),
    case("avg_multi_block", N=1, C=2, H=6, W=300, options={**AVG, **K3S2P1, **NO_PAD_COUNT}),
    edge("max_nan_in_window", dtype="float64", pattern="nan", options=K3S2P1),
    edge("avg_nan_in_window", dtype="float64", pattern="nan", options={**AVG, **K3S2P1}),
    edge("max_all_neg_inf", pattern="neg_inf", options=K3S2P1),
    edge("max_ties", pattern="ties", options=K3S2P1),
    edge("odd_sizes_floor", H=7, W=9),
    edge("kernel_1", options={"kernel": (1, 1), "stride": (2, 2)}),
    edge("avg_kernel_1", options={**AVG, "kernel": (1, 1)}),
    edge("input_smaller_than_kernel_padded", H=2, W=2, options=K3S2P1),
    edge("input_smaller_than_kernel_ceil", H=1, W=3, options={"kernel": (2, 2), **CEIL}),
    edge("channels_last", pattern="channels_last", options={**AVG, **K3S2P1}),
    edge("empty_batch", N=0, C=3, H=7, W=9, options=K3S2P1),
    edge("empty_channels", N=2, C=0, H=7, W=9, options={**AVG, **K3S2P1}),
]
ERRORS = [
    error("output_empty", ValueError, r"H_out=0", N=2, C=3, H=2, W=9, options={"kernel": (3, 3)}),
    error(
        "dilated_output_empty",
        ValueError,
        r"W_out=0",
        N=2,
        C=3,
        H=9,
        W=4,
        options={"kernel": (3, 3), "dilation": (1, 2), "stride": (1, 1)},
    ),
]
INVALID_OPTIONS: list[dict[str, Any]] = [
    {"kernel": (0, 2)},
    {"stride": (0, 1)},
    {"dilation": (1, 0)},
    {"padding": (-1, 0)},
    {"padding": (2, 0)},  # p_h = 2 > k_h // 2 = 1
    {"kernel": (3, 3), "padding": (1, 2)},
    {"op": "avg", "dilation": (2, 2)},
    {"count_include_pad": False},  # max: no padding is counted
    {"divisor_override": 4},
    {"op": "avg", "divisor_override": 0},
    {"op": "min"},
]
# The spec's standard (32 x 64 x 112 x 112, 3x3/2 pad 1: 100 MB of float32) is several
# seconds per implementation here; the quick profile runs a 4-image slice of it (12.8 MB),
# the spec's sizes are in "full".
STD = {"C": 64, "H": 112, "W": 112}
BENCH = {
    "smoke": [bench("bench_small", N=1, C=3, H=20, W=20, options=K3S2P1)],
    "quick": [bench("bench_4x64x112_max3s2", N=4, **STD, options=K3S2P1)],
    "full": [
        bench("bench_spec_max3s2p1", N=32, **STD, options=K3S2P1),
        bench("bench_spec_avg2x2", N=32, **STD, options=AVG),
        bench("bench_large", N=128, **STD, options=K3S2P1),
    ],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    def build(p: dict[str, Any], o: dict[str, Any]) -> Case:
        o = dict(o)
        o["padding"] = tuple(min(q, k // 2) for q, k in zip(o["padding"], o["kernel"], strict=True))
        if o["op"] == "max":
            o.pop("count_include_pad", None)
            o.pop("divisor_override", None)
        else:
            o.pop("dilation", None)
        return Case("fuzz", p, o, "fuzz")

    params = st.fixed_dictionaries(
        {
            "N": st.integers(1, 2),
            "C": st.integers(1, 3),
            "H": st.integers(1, 12),
            "W": st.integers(1, 12),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "pattern": st.sampled_from(["random", "ties", "nan", "channels_last"]),
        }
    )
    pair = st.tuples(st.integers(1, 3), st.integers(1, 3))
    options = st.fixed_dictionaries(
        {
            "op": st.sampled_from(["max", "avg"]),
            "kernel": pair,
            "padding": st.tuples(st.integers(0, 1), st.integers(0, 1)),
        },
        optional={
            "stride": pair,
            "dilation": st.tuples(st.integers(1, 2), st.integers(1, 2)),
            "ceil_mode": st.booleans(),
            "count_include_pad": st.booleans(),
            "divisor_override": st.sampled_from([None, 3]),
        },
    )
    return st.builds(build, params, options).filter(_fits)


def _fits(c: Case) -> bool:
    p = c.params
    try:
        pool_axes((1, 1, p["H"], p["W"]), PoolOptions.build(c.options))
    except ValueError:
        return False
    return True


SUITE = Suite(
    algorithm="pooling_max_avg",
    family="dense-image-ops",
    summary="out[n, c, y, x] = max or mean over the window {(y·s_h - p_h + i·d_h, x·s_w - p_w "
    "+ j·d_w)}: x (N, C, H, W) -> (N, C, H_out, W_out).",
    conventions=(
        "pooling(x, opts), as torch's F.max_pool2d / F.avg_pool2d. H_out = floor((H + 2p - "
        "d(k - 1) - 1)/s) + 1; ceil_mode rounds up but drops the last window when it starts "
        "at or past H + p (inside neither the input nor the left padding). stride None: the "
        "kernel. padding <= k // 2 (torch), both sides. Max: padding is -inf, NaN in a window "
        "gives NaN, an all-padding or all -inf window gives -inf; values only (no argmax "
        "indices). Avg: zero padding; count_include_pad=True (default) divides by the window "
        "clipped to [-p, H + p) (k² except ceil_mode windows past the right padding), False "
        "by the cells inside the input; divisor_override replaces either. dilation is max "
        "only; count_include_pad=False and divisor_override are avg only: other "
        "combinations, p > k // 2 and k, s, d < 1 are refused by the options record. Output "
        "dtype: x's (float32 or float64). Raises ValueError when H_out or W_out <= 0 or H or "
        "W is 0; an empty batch or channel axis gives an empty output."
    ),
    args=ARGS,
    options=PoolOptions,
    make_inputs=make_inputs,
    oracle=pooling,
    compare=Close(override=tolerance),
    cost=cost,
    defaults={"seed": 5, "dtype": "float32", "N": 2, "C": 3, "H": 10, "W": 12},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_4x64x112_max3s2",
    error_base="max_2x2_f32",
    invalid_options=INVALID_OPTIONS,
    multi_block={"W": 300},
    fuzz=fuzz_strategy,
    reference="torch.nn.functional.max_pool2d / avg_pool2d (torch 2.13 CPU)",
)

"""Suite for gradient_accumulation: the parameter gradients of a two-layer MLP accumulated
over K micro-batches (backward calls that add into .grad until zeroed), each micro-batch's
mean loss scaled by 1/K or by its share of the batch.

With size weights (or equal micro-batches and 1/K) the result is the full-batch mean-loss
gradient up to rounding; with BatchNorm in training mode every micro-batch normalises with
its own statistics, so the accumulated gradient is a different quantity (the oracle computes
that one, and the tests show it differs from the full-batch gradient).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Rule
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Outputs, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance

BN_EPS = 1e-5  # torch's BatchNorm1d default


@dataclass(frozen=True)
class AccumulationOptions(Options):
    scaling: str = option(
        "size",
        "equal",
        meaning="micro-batch k's mean loss times n_k/B (the full-batch mean for any split) "
        "or times 1/K (the full-batch mean only for equal micro-batches)",
    )
    batchnorm: bool = option(
        False,
        True,
        meaning="a BatchNorm1d(H, affine=False) in training mode after the first layer: each "
        "micro-batch normalised with its own statistics (not the full batch's)",
    )


POSITIVE = Rule("every value > 0", lambda xp, x: ~(x > 0), lambda a: np.where(a == a, 0, a))

ARGS = Args(
    Arg("x", ("B", "D"), "float"),
    Arg("y", ("B", "O"), "float"),
    Arg("w1", ("D", "H"), "float"),
    Arg("b1", ("H",), "float"),
    Arg("w2", ("H", "O"), "float"),
    Arg("b2", ("O",), "float"),
    Arg("mask", ("B", "H"), "float"),
    Arg("sizes", ("K",), "int", rules=(POSITIVE,)),
    nonempty=("B", "K"),
    same_dtype=("x", "y", "w1", "b1", "w2", "b2", "mask"),
)


def check(x: Any, y: Any, w1: Any, b1: Any, w2: Any, b2: Any, mask: Any, sizes: Any,
          opts: AccumulationOptions) -> list[int]:  # fmt: skip
    """ARGS, then the micro-batch sizes as ints: they must sum to B (and be >= 2 with
    batchnorm: torch refuses one value per channel in training)."""
    ARGS.check(x, y, w1, b1, w2, b2, mask, sizes)
    n = [int(s) for s in sizes.tolist()]  # NumPy or torch
    batch = int(x.shape[0])
    if sum(n) != batch:
        raise ValueError(f"sizes must sum to the batch size {batch}, got {sum(n)}")
    if opts.batchnorm and min(n) < 2:
        raise ValueError("sizes must be >= 2 with batchnorm (one value per channel)")
    return n


def weights(n: list[int], opts: AccumulationOptions) -> list[float]:
    """c_k/n_k: the factor of each sample's loss in micro-batch k."""
    total, k = sum(n), len(n)
    return [(nk / total if opts.scaling == "size" else 1.0 / k) / nk for nk in n]


def gradient_accumulation(x: Any, y: Any, w1: Any, b1: Any, w2: Any, b2: Any, mask: Any,
                          sizes: Any, opts: AccumulationOptions) -> tuple[Any, ...]:  # fmt: skip
    """Oracle, float64, one micro-batch after another as the backward calls would run:
    a = x w1 + b1 (BatchNorm'd per micro-batch), r = relu(a)*mask, out = r w2 + b2,
    loss_k = c_k * mean_i 0.5*|out_i - y_i|^2; the four gradients summed over k."""
    n = check(x, y, w1, b1, w2, b2, mask, sizes, opts)
    f = [np.asarray(v, np.float64) for v in (x, y, w1, b1, w2, b2, mask)]
    x64, y64, w1_, b1_, w2_, b2_, m64 = f
    g = [np.zeros_like(w1_), np.zeros_like(b1_), np.zeros_like(w2_), np.zeros_like(b2_)]
    start = 0
    for nk, wk in zip(n, weights(n, opts), strict=True):
        xs, ys, ms = x64[start : start + nk], y64[start : start + nk], m64[start : start + nk]
        start += nk
        a = xs @ w1_ + b1_
        if opts.batchnorm:
            mean, var = a.mean(axis=0), a.var(axis=0)
            invstd = 1.0 / np.sqrt(var + BN_EPS)
            a = (a - mean) * invstd
        r = np.maximum(a, 0.0) * ms
        dout = wk * (r @ w2_ + b2_ - ys)
        g[2] += r.T @ dout
        g[3] += dout.sum(axis=0)
        da = (dout @ w2_.T) * ms * (a > 0)
        if opts.batchnorm:
            da = invstd * (da - da.mean(axis=0) - a * (da * a).mean(axis=0))
        g[0] += xs.T @ da
        g[1] += da.sum(axis=0)
    if opts.batchnorm:  # b1 shifts a and the mean alike: its gradient is 0, not rounding
        g[1][:] = 0.0
    return tuple(g)


def _sizes(case: Case) -> list[int]:
    p = case.params
    if "sizes" in p:
        return [int(s) for s in p["sizes"]]
    b, k = int(p["B"]), int(p.get("K", 1))
    return [b // k + (i < b % k) for i in range(k)]


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    sizes = _sizes(case)
    b, d, h, o = sum(sizes), int(p["D"]), int(p["H"]), int(p["O"])
    b = int(p.get("B", b))  # the error cases give sizes that do not sum to B
    x = rng.standard_normal((b, d)) * float(p.get("scale", 1.0))
    y = rng.standard_normal((b, o))
    w1 = rng.standard_normal((d, h)) / np.sqrt(max(d, 1))
    b1 = 0.1 * rng.standard_normal(h)
    w2 = rng.standard_normal((h, o)) / np.sqrt(max(h, 1))
    b2 = 0.1 * rng.standard_normal(o)
    mask: Any = np.ones((b, h))
    if p.get("dropout"):  # injected dropout masks, p = 0.5: kept units scaled by 2
        mask = 2.0 * (rng.random((b, h)) >= 0.5)
    arrays = [a.astype(case.dtype) for a in (x, y, w1, b1, w2, b2, mask)]
    return dict(zip(ARGS.names, [*arrays, np.asarray(sizes, np.int64)], strict=True))


def _dims(case: Case) -> tuple[int, int, int, int]:
    p = case.params
    return sum(_sizes(case)), int(p["D"]), int(p["H"]), int(p["O"])


def cost(case: Case) -> Cost:
    """Forward 2B(DH + HO); backward dW2 and dr 4BHO, dW1 2BDH: ~4BDH + 6BHO flops. Bytes:
    x, y, mask read, the parameters read and their gradients written once."""
    b, d, h, o = _dims(case)
    size = np.dtype(case.dtype).itemsize
    params = d * h + h + h * o + o
    return Cost(
        flops=4.0 * b * d * h + 6.0 * b * h * o,
        bytes=size * (b * (d + o + h) + 2 * params),
        items=b,
        item_unit="samples",
    )


def _tolerance(case: Case) -> Tolerance:
    """Every gradient entry is a sum over the B samples of products through the O- and
    H-long dots (K = B + H + O); the inputs are scaled so the terms are O(1/B) and the
    gradients O(1) or below: atol = rtol (scale 1). BatchNorm divides by sigma ~ 1 (the
    pre-activations are unit-variance by construction)."""
    b, _, h, o = _dims(case)
    return default_tolerance(case.dtype, b + h + o, 1.0)


COMPARE = Outputs({name: Close(override=_tolerance) for name in ("dw1", "db1", "dw2", "db2")})

F64, EQUAL, BN = "float64", {"scaling": "equal"}, {"batchnorm": True}
CASES = [
    case("k4_f32", K=4),
    case("k4_f64", K=4, dtype=F64),
    case("k1_f32", K=1),
    case("k8_equal_f64", K=8, dtype=F64, options=EQUAL),
    case("unequal_size_weights_f64", sizes=[5, 11, 3, 13], dtype=F64),
    case("unequal_equal_scaling_f64", sizes=[5, 11, 3, 13], dtype=F64, options=EQUAL),
    case("batchnorm_k4_f64", K=4, dtype=F64, options=BN),
    case("batchnorm_unequal_f32", sizes=[6, 10, 16], options=BN),
    case("batchnorm_equal_scaling_f64", sizes=[4, 12, 16], dtype=F64, options={**BN, **EQUAL}),
    case("dropout_masks_k2_f64", K=2, dtype=F64, dropout=True),
    # 300 hidden units and a 260-sample batch: a blocked kernel runs several tiles of each
    case("multi_block", B=260, K=3, D=7, H=300, O=5),
    edge("single_samples_k32", K=32),
    edge("large_inputs_f32", K=4, scale=100.0, options=BN),
    edge("no_inputs", K=2, D=0),
    edge("no_hidden", K=2, H=0),
    edge("no_outputs", K=2, O=0),
]
ERRORS = [
    error("sizes_sum_below_batch", ValueError, r"\bsizes\b", sizes=[10, 10], B=32),
    error("sizes_sum_above_batch", ValueError, r"\bsizes\b", sizes=[20, 20], B=32),
    error("batchnorm_one_sample", ValueError, r"\bsizes\b", sizes=[1, 31], options=BN),
]
DEFAULTS = {"seed": 17, "dtype": "float32", "B": 32, "D": 9, "H": 13, "O": 6}


def _fuzz_case(sizes: list[int], d: int, h: int, o: int, extra: dict[str, Any],
               options: dict[str, Any]) -> Case:  # fmt: skip
    if options.get("batchnorm"):
        sizes = [s + 2 for s in sizes]
    return Case("fuzz", {"sizes": sizes, "B": sum(sizes), "D": d, "H": h, "O": o, **extra},
                options, "fuzz")  # fmt: skip


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    extra = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "dropout": st.booleans(),
        }
    )
    return st.builds(
        _fuzz_case,
        st.lists(st.integers(1, 9), min_size=1, max_size=6),
        st.integers(0, 12),
        st.integers(0, 12),
        st.integers(0, 5),
        extra,
        AccumulationOptions.strategy(),
    )


SUITE = Suite(
    algorithm="gradient_accumulation",
    family="training-math",
    summary="Gradients of a 2-layer MLP accumulated over K micro-batches -> (dw1, db1, dw2, db2).",
    conventions="x (B, D), y (B, O), w1 (D, H), b1 (H,), w2 (H, O), b2 (O,), mask (B, H): one "
    "floating dtype; sizes (K,) ints > 0 summing to B: micro-batch k is the next sizes[k] "
    "rows. Model: a = x w1 + b1, optionally BatchNorm1d(affine=False, eps 1e-5, training, "
    "biased variance) over the micro-batch's rows, r = relu(a)*mask (an injected dropout "
    "mask, already scaled), out = r w2 + b2. Micro-batch k's loss is c_k * mean over its "
    "rows of 0.5*sum_o (out - y)^2 with c_k = n_k/B (scaling='size') or 1/K ('equal'); its "
    "gradients are added into zeroed accumulators (zero_grad before the first backward, as "
    "set_to_none does). relu'(0) = 0. Outputs have the inputs' dtype and the parameters' "
    "shapes. ValueError: sizes not summing to B, sizes < 1, sizes < 2 with batchnorm, an "
    "empty batch; TypeError: mixed float dtypes or float sizes. Inputs are never modified.",
    args=ARGS,
    options=AccumulationOptions,
    make_inputs=make_inputs,
    oracle=gradient_accumulation,
    compare=COMPARE,
    cost=cost,
    defaults=DEFAULTS,
    cases=CASES,
    errors=ERRORS,
    outputs=("dw1", "db1", "dw2", "db2"),
    # The spec's standard is a 1e6-parameter MLP at batch 256 (1.5 GFLOP a call: seconds
    # with the oracle on two cores); the quick profile uses a 70k-parameter one (D = H = 256,
    # O = 16, K = 4) and "full" the spec's (D = 1024, H = 960, O = 16) for K = 1, 8.
    bench={
        "smoke": [bench("bench_tiny", B=16, K=2, D=8, H=8, O=4)],
        "quick": [bench("bench_b256_k4_256x256", B=256, K=4, D=256, H=256, O=16)],
        "full": [
            bench("bench_b256_k1_1e6", B=256, K=1, D=1024, H=960, O=16),
            bench("bench_b256_k8_1e6", B=256, K=8, D=1024, H=960, O=16),
        ],
    },
    standard="bench_b256_k4_256x256",
    multi_block={"B": 260, "H": 300},
    fuzz=fuzz_strategy,
    backends=("torch_cpu", "torch_cuda", "library"),
    reference="torch autograd: nn.Linear / BatchNorm1d modules, loss.backward() per "
    "micro-batch into .grad after zero_grad(set_to_none=True)",
)

SUITES = [SUITE]

"""Suite for dropout: y = x·m·s with an injected keep mask m ~ Bernoulli(1 - p).

Randomness is an input: the mask is drawn once per case from the case seed and handed to
every implementation, so they agree bit for bit up to the rounding of the scale. The one
exception is the library's own-generator F.dropout (registered own_rng=True), which cannot
take a mask: it is judged by a keep-rate test instead (``DropoutKeepRate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, Scalar
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, Comparison, KeepRate
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class DropoutOptions(Options):
    training: bool = option(True, False, meaning="False (eval): nothing is dropped")
    scaling: str = option(
        "inverted",
        "paper",
        meaning="inverted: kept values x/(1 - p) in training, identity in eval (torch); "
        "paper: x·m in training, x·(1 - p) in eval (Srivastava et al. 2014)",
    )
    nan_dropped: str = option(
        "product",
        "select",
        meaning="product: y = x·m·s, a dropped NaN or inf gives NaN (torch); "
        "select: y = where(m, x·s, 0), a dropped NaN or inf gives 0",
    )


ARGS = Args(
    Arg("x", ("N", "D"), "float"),
    Arg("mask", ("N", "D"), "bool"),
    Scalar("p", low=0.0, high=1.0),
)


def dropout_scale(p: float, opts: DropoutOptions) -> float:
    """The factor applied to every kept value (float64). In training with inverted scaling
    it is 1/(1 - p), and 0 at p = 1, where nothing is kept: 0·(1/0) would be NaN."""
    if not opts.training:
        return 1.0 - p if opts.scaling == "paper" else 1.0
    if opts.scaling == "paper":
        return 1.0
    return 1.0 / (1.0 - p) if p < 1.0 else 0.0


def dropout(x: Any, mask: Any, p: Any, opts: DropoutOptions) -> Any:
    """Oracle: float64, (N, D) -> (N, D); the mask is used only in training."""
    ARGS.check(x, mask, p)
    x = np.asarray(x, dtype=np.float64)
    keep = np.asarray(mask, dtype=bool)
    p = float(p)
    if not opts.training:
        return x * (1.0 - p) if opts.scaling == "paper" else x.copy()
    if opts.scaling == "paper":
        scale = 1.0
    elif p == 1.0:
        scale = 0.0  # nothing is kept; 1/(1 - p) would turn 0 into 0·inf = NaN
    else:
        scale = 1.0 / (1.0 - p)
    with np.errstate(invalid="ignore"):  # inf·0 = NaN at a dropped inf is the product rule
        if opts.nan_dropped == "product":
            return x * keep * scale
        return np.where(keep, x * scale, 0.0)


def make_inputs(case: Case) -> Inputs:
    params = case.params
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    n, d, p = int(params["n"]), int(params["d"]), float(params.get("p", 0.5))
    x = rng.standard_normal((n, d), dtype=np.float32 if dtype == np.float32 else np.float64)
    x *= 2.0
    mask = rng.random((n, d)) >= p  # P(u >= p) = 1 - p: p = 0 keeps all, p = 1 none
    if params.get("pattern") == "nonfinite":  # NaN and +-inf at kept and dropped places
        flat = x.reshape(-1)
        flat[0::7] = np.nan
        flat[3::11] = np.inf
        flat[5::13] = -np.inf
    elif params.get("pattern") == "zeros":  # exact zeros (and -0.0) among the values
        x.reshape(-1)[::3] = 0.0
        x.reshape(-1)[1::5] = -0.0
    return {"x": x.astype(dtype), "mask": mask, "p": p}


def cost(case: Case) -> Cost:
    n = int(case.params["n"]) * int(case.params["d"])
    b = np.dtype(case.dtype).itemsize
    # a select (or a mask multiply) and a scale per value; x read, mask read, y written
    return Cost(flops=2.0 * n, bytes=(2.0 * b + 1.0) * n, items=n, item_unit="values")


@dataclass(frozen=True)
class DropoutKeepRate(KeepRate):
    """KeepRate for this suite's options: kept values are x·s (s from ``dropout_scale``),
    dropped ones 0, the number kept passes a binomial test against 1 - p. Non-finite
    inputs give NaN when dropped under the product rule, so they say nothing about the
    keep rate: they are checked apart (x·s or NaN) and left out of the count. In eval mode
    nothing is random: the output must equal the oracle's (4 ulps, like kept values)."""

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        opts = DropoutOptions.build(case.options)
        x = np.asarray(inputs["x"], dtype=np.float64)
        y = np.asarray(actual, dtype=np.float64)
        if y.shape != x.shape:
            return Comparison(False, f"shape {y.shape}, expected {x.shape}", total=int(y.size))
        rtol = 4 * float(np.finfo(np.dtype(case.dtype)).eps)
        if not opts.training:
            ok = np.isclose(y, expected, rtol=rtol, atol=0.0, equal_nan=True)
            return _verdict(ok, y, np.asarray(expected), "eval mode must not drop: ")
        with np.errstate(invalid="ignore"):
            scaled = x * dropout_scale(float(inputs[self.p]), opts)
        finite = np.isfinite(x)
        odd = ~finite & ~(np.isnan(y) | (y == scaled))
        if odd.any():
            return _verdict(~odd, y, scaled, "a non-finite input must give x·s or NaN: ")
        return super().__call__(y[finite], (scaled[finite], x[finite]), inputs, case, tol)


def _verdict(ok: np.ndarray, y: np.ndarray, want: np.ndarray, why: str) -> Comparison:
    if ok.all():
        return Comparison(True, total=int(y.size), note="equal to the oracle")
    i = int(np.flatnonzero(~ok.ravel())[0])
    detail = (
        f"{why}{int((~ok).sum())}/{y.size} values differ; first at flat index {i}: "
        f"{y.ravel()[i]!r} vs {want.ravel()[i]!r}"
    )
    return Comparison(
        False, detail, mismatches=int((~ok).sum()), total=int(y.size), error_ratio=float("inf")
    )


# Every value is one or two roundings (the scale to the dtype, the product): K = 1 gives
# rtol = 10·eps, five times what they can cost; atol = rtol·1 (x is ~N(0, 4), zeros exact).
COMPARE = Close()

CASES = [
    case("random_f32", n=64, d=100, p=0.3),
    case("random_f64", n=48, d=70, p=0.6, dtype="float64"),
    case("paper_f64", n=40, d=30, p=0.25, dtype="float64", options={"scaling": "paper"}),
    case("eval_f32", n=33, d=21, p=0.4, options={"training": False}),
    case(
        "eval_paper_f64",
        n=20,
        d=17,
        p=0.35,
        dtype="float64",
        options={"training": False, "scaling": "paper"},
    ),
    # several hundred along each axis: past the first block of a tiled or threaded kernel
    case("multi_block", n=300, d=260, p=0.2),
    edge("p_zero", n=16, d=24, p=0.0),
    edge("p_one", n=16, d=24, p=1.0),
    edge("p_one_nonfinite", n=12, d=20, p=1.0, pattern="nonfinite"),
    # 1 - p = 1e-4: float32(p) is 1.7e-8 off, so 1 - p taken in float32 is 1.7e-4 off; ~20 kept
    edge("p_near_one", n=512, d=400, p=0.9999),
    edge("nonfinite_product", n=30, d=40, p=0.5, pattern="nonfinite"),
    edge(
        "nonfinite_select_f64",
        n=30,
        d=40,
        p=0.5,
        pattern="nonfinite",
        dtype="float64",
        options={"nan_dropped": "select"},
    ),
    edge("zeros", n=25, d=19, p=0.45, pattern="zeros"),
    edge("empty_n", n=0, d=7, p=0.5),
    edge("empty_d", n=5, d=0, p=0.5),
]

ERRORS = [
    error("p_just_above_one", ValueError, r"\bp\b", n=4, d=6, p=1.0 + 1e-9),
    error("p_negative", ValueError, r"\bp\b", n=4, d=6, p=-1e-9),
    error("integer_x", TypeError, r"\bx\b", n=4, d=6, dtype="int64"),
]

# Standard: 2**22 values (4.2e6), an eighth of the spec's 3.4e7: there the library's own
# generator (F.dropout draws a Bernoulli per value) costs ~0.9 s a call on this CPU and
# the quick profile would overrun its few seconds. The spec's size is in "full"; its large
# size (2.7e8: 6 GB of float64 oracle and inputs) is left to GPU machines.
BENCH = {
    "smoke": [bench("bench_64k", n=256, d=256, p=0.1)],
    "quick": [bench("bench_4M", n=2048, d=2048, p=0.1)],
    "full": [bench("bench_34M", n=8192, d=4096, p=0.1)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    flags = DropoutOptions.strategy(optional=True)
    params = st.fixed_dictionaries(
        {
            "n": st.integers(0, 40),
            "d": st.integers(1, 40),
            "p": st.sampled_from([0.0, 0.1, 0.5, 0.9, 0.9999, 1.0]) | st.floats(0.0, 1.0),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "pattern": st.sampled_from(["random", "nonfinite", "zeros"]),
        }
    )
    return fuzz_cases(params, flags)


SUITE = Suite(
    algorithm="dropout",
    family="attention-and-layers",
    summary="Dropout of x (N, D) with an injected keep mask (N, D) and drop probability p "
    "-> (N, D).",
    conventions=(
        "dropout(x, mask, p, opts). x: (N, D) floating (any layout reshapes to this: "
        "dropout is elementwise); mask: (N, D) bool, True = keep, drawn as Bernoulli(1 - p) "
        "by the suite; p: a real number in [0, 1]. training=True, scaling='inverted' (torch): "
        "y = x·mask/(1 - p), and y = 0 at p = 1 (no 0/0); scaling='paper': y = x·mask. "
        "training=False: y = x (inverted) or x·(1 - p) (paper), as a new array; the mask is "
        "ignored. nan_dropped='product' (torch): y = x·mask·s, so a dropped NaN or inf gives "
        "NaN; 'select': y = where(mask, x·s, 0), so it gives 0. Kept NaN and inf propagate. "
        "Output has x's dtype. Inputs are never modified, the output never aliases x. "
        "ValueError: a shape other than (N, D), mask and x of different shapes, p outside "
        "[0, 1] or NaN; TypeError: integer x, a non-bool mask, p not a number. F.dropout "
        "with its own generator (own_rng) is judged by a binomial test of the keep rate."
    ),
    args=ARGS,
    options=DropoutOptions,
    make_inputs=make_inputs,
    oracle=dropout,
    compare=COMPARE,
    own_rng_compare=DropoutKeepRate(),
    cost=cost,
    defaults={"seed": 7, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_4M",
    multi_block={"N": 300, "D": 260},
    fuzz=fuzz_strategy,
    reference="torch.nn.functional.dropout (own generator: keep-rate test); "
    "torch.ops.aten.native_dropout_backward (torch's kernel applying a given mask)",
)

"""Suite for autograd_second_derivative: the Hessian-vector product H(x)·v, or the full
Hessian H(x), of a scalar function f of x (N,), from automatic differentiation applied twice
(double backward, forward-over-reverse) or from the closed form.

The functions have analytic Hessians (the oracle): sum x^3 (diag 6x), logsumexp (diag(p) -
p p^T, p = softmax x), a tanh layer sum_j tanh(a_j.x) (A^T diag(tanh''(Ax)) A) and a ReLU
layer sum_j relu(a_j.x), whose second derivative is 0 everywhere autograd defines it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from harness.args import Arg, Args
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Comparison, default_tolerance
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


@dataclass(frozen=True)
class SecondDerivativeOptions(Options):
    function: str = option(
        "tanh_layer",
        "cubic",
        "logsumexp",
        "relu_layer",
        meaning="f(x): sum_j tanh(a_j.x); sum x_i^3; log sum exp x_i; sum_j relu(a_j.x) "
        "(a, the (M, N) matrix, is used by the two layers only)",
    )
    result: str = option(
        "hvp", "hessian", meaning="H(x) v, shape (N,); or the full Hessian H(x), (N, N)"
    )


ARGS = Args(
    Arg("x", ("N",), "float"),
    Arg("v", ("N",), "float"),
    Arg("a", ("M", "N"), "float"),
    same_dtype=("x", "v", "a"),
)


def check(x: Any, v: Any, a: Any) -> Any:
    """The one-line input check: x, v (N,) and a (M, N), one floating dtype."""
    return ARGS.check(x, v, a)


def curvature(function: str, z: Any, xp: Any = np) -> Any:
    """The per-unit second derivative of the layer functions at z = a x: tanh'' = -2 t (1 - t^2);
    relu'' = 0 (autograd's value at z = 0 too)."""
    if function == "tanh_layer":
        t = xp.tanh(z)
        return -2.0 * t * (1.0 - t * t)
    return z * 0.0


def autograd_second_derivative(x: Any, v: Any, a: Any, opts: SecondDerivativeOptions) -> Any:
    """Oracle: the closed-form Hessian or HVP in float64."""
    check(x, v, a)
    x64, v64, a64 = (np.asarray(t, np.float64) for t in (x, v, a))
    hessian = opts.result == "hessian"
    if opts.function == "cubic":
        d = 6.0 * x64
        return np.diag(d) if hessian else d * v64
    if opts.function == "logsumexp":
        if x64.size == 0:
            return np.zeros((0, 0)) if hessian else np.zeros(0)
        e = np.exp(x64 - x64.max())
        p = e / e.sum()
        if hessian:
            return np.diag(p) - np.outer(p, p)
        return p * v64 - p * (p @ v64)
    d = curvature(opts.function, a64 @ x64)
    if hessian:
        return a64.T @ (d[:, None] * a64)
    return a64.T @ (d * (a64 @ v64))


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    n, m = int(p["N"]), int(p.get("M", 0))
    x = float(p.get("scale", 1.0)) * rng.standard_normal(n)
    v = rng.standard_normal(n)
    a = rng.standard_normal((m, n)) / np.sqrt(max(n, 1))  # a_j.x ~ unit scale: tanh curves
    if p.get("pattern") == "kinks" and m and n:  # every other unit exactly at z = a_j.x = 0
        a[::2, 1:] = 0.0
        x[0] = 0.0
    if "v_shape" in p:
        v = rng.standard_normal(tuple(p["v_shape"]))
    return {"x": x.astype(case.dtype), "v": v.astype(case.dtype), "a": a.astype(case.dtype)}


def _opts(case: Case) -> SecondDerivativeOptions:
    return SecondDerivativeOptions(**case.options)


def cost(case: Case) -> Cost:
    """Closed forms: layers 4MN (HVP: A v, A^T(d*.)) or 2MN^2 (Hessian); cubic and logsumexp
    a few flops per element (HVP) or per Hessian entry. Bytes: x, v, a read, the result
    written."""
    n, m = int(case.params["N"]), int(case.params.get("M", 0))
    o = _opts(case)
    b = np.dtype(case.dtype).itemsize
    layer = o.function in ("tanh_layer", "relu_layer")
    if o.result == "hessian":
        flops = 2.0 * m * n * n if layer else 3.0 * n * n
        out = n * n
    else:
        flops = 4.0 * m * n if layer else 6.0 * n
        out = n
    read = 2 * n + (m * n if layer else 0)
    return Cost(flops + 1.0, b * (read + out) + 1.0, n, "inputs")


def _reduction(case: Case) -> int:
    """Longest sum: M + N for the layers (A x, then the M-long sum); N for logsumexp."""
    n, m = int(case.params["N"]), int(case.params.get("M", 0))
    return max(n + m, 1)


@dataclass(frozen=True)
class ScaledClose(Close):
    """Close with atol = rtol * max|expected|: Hessian entries of very different sizes (the
    diagonal of logsumexp ~ 1/N, its off-diagonal ~ 1/N^2) each carry rounding of the
    largest terms that built them, which are bounded by the largest entry."""

    def __call__(
        self, actual: Any, expected: Any, inputs: Inputs, case: Case, tol: Tolerance
    ) -> Comparison:
        e = np.asarray(expected, np.float64)
        finite = np.abs(e[np.isfinite(e)])
        top = float(finite.max()) if finite.size else 0.0
        scaled = replace(tol, atol=tol.rtol * top, reason=tol.reason + "; atol = rtol*max|H|")
        return super().__call__(actual, expected, inputs, case, scaled)


def _tolerance(case: Case) -> Tolerance:
    base = default_tolerance(case.dtype, _reduction(case), 1.0)
    return Tolerance(base.rtol, 0.0, base.reason.split(", atol")[0])


COMPARE = ScaledClose(override=_tolerance)

F64 = "float64"
HESS = {"result": "hessian"}
CUBIC, LSE, RELU = {"function": "cubic"}, {"function": "logsumexp"}, {"function": "relu_layer"}
CASES = [
    case("tanh_hvp_f32", N=40, M=12),
    case("tanh_hvp_f64", N=40, M=12, dtype=F64),
    case("tanh_hessian_f32", N=30, M=12, options=HESS),
    case("tanh_hessian_f64", N=30, M=12, dtype=F64, options=HESS),
    case("cubic_hvp_f64", N=50, dtype=F64, options=CUBIC),
    case("cubic_hessian_f32", N=20, options={**CUBIC, **HESS}),
    case("logsumexp_hvp_f32", N=60, options=LSE),
    case("logsumexp_hessian_f64", N=25, dtype=F64, options={**LSE, **HESS}),
    # 300 inputs and 260 units: past the first 256-wide block of a tiled kernel on both axes
    case("multi_block", N=300, M=260, options=HESS),
    case("multi_block_hvp", N=300, M=260),
    edge("relu_zero_second_derivative", N=40, M=12, options=RELU),
    edge("relu_hessian_at_kinks", N=30, M=12, pattern="kinks", options={**RELU, **HESS}),
    edge("tanh_at_kinks", N=30, M=12, pattern="kinks", dtype=F64),
    edge("tanh_saturated", N=40, M=12, scale=30.0),  # tanh'' ~ 0 for most units
    edge("logsumexp_large_logits", N=60, scale=300.0, dtype=F64, options=LSE),
    edge("single_input", N=1, M=3, options=HESS),
    edge("no_units", N=17, M=0),
    edge("no_inputs", N=0, M=3),
    edge("no_inputs_hessian", N=0, M=3, options=HESS),
    edge("logsumexp_no_inputs", N=0, M=5, options=LSE),
]
ERRORS = [
    error("v_other_length", ValueError, r"\bv\b", v_shape=[41]),
    error("v_as_matrix", ValueError, r"\bv\b", v_shape=[40, 1]),
]
DEFAULTS = {"seed": 23, "dtype": "float32", "N": 40, "M": 12}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "N": st.integers(1, 30),
            "M": st.integers(0, 12),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "scale": st.sampled_from([0.5, 1.0, 5.0]),
        }
    )
    return st.builds(
        lambda p, o: Case("fuzz", p, o, "fuzz"), params, SecondDerivativeOptions.strategy()
    )


SUITE = Suite(
    algorithm="autograd_second_derivative",
    family="training-math",
    summary="Hessian-vector product H(x) v (N,) or full Hessian (N, N) of a scalar f(x).",
    conventions="x, v: (N,); a: (M, N); one floating dtype. f = sum_j tanh(a_j.x) "
    "(function='tanh_layer'), sum_i x_i^3 ('cubic'), log sum_i exp x_i ('logsumexp'), or "
    "sum_j relu(a_j.x) ('relu_layer', second derivative 0, also at a_j.x = 0 where autograd "
    "takes relu'(0) = 0); a is ignored by cubic and logsumexp. result='hvp' returns H v "
    "(N,), 'hessian' returns H (N, N), symmetric. By double backward (grad with "
    "create_graph=True, then the gradient of grad.v), forward-over-reverse (jvp of grad), or "
    "the closed form: equal up to rounding. N = 0 gives empty results (M = 0: a zero "
    "Hessian for the layers). The result has x's dtype. ValueError: v not shaped like x, a's "
    "second size not N; TypeError: mixed or integer dtypes. Inputs are never modified.",
    args=ARGS,
    options=SecondDerivativeOptions,
    make_inputs=make_inputs,
    oracle=autograd_second_derivative,
    compare=COMPARE,
    cost=cost,
    defaults=DEFAULTS,
    cases=CASES,
    errors=ERRORS,
    # The spec's standard sizes: the Hessian of n = 1,000 inputs (a 64-unit tanh layer here)
    # and an HVP at n = 1e6 (logsumexp, no matrix). "full": the HVP through a 1e7-parameter
    # tanh layer (1,000 units x 1e4 inputs).
    bench={
        "smoke": [bench("bench_tiny", N=64, M=8)],
        "quick": [
            bench("bench_hvp_1e6_logsumexp", N=1_000_000, M=0, options=LSE),
            bench("bench_hessian_1000", N=1000, M=64, options=HESS),
        ],
        "full": [bench("bench_hvp_tanh_1e7_params", N=10_000, M=1000)],
    },
    standard="bench_hessian_1000",
    multi_block={"N": 300, "M": 260},
    fuzz=fuzz_strategy,
    backends=("torch_cpu", "torch_cuda", "library"),
    reference="torch.autograd.grad twice (create_graph=True), "
    "torch.autograd.functional.hessian / hvp; torch.func jvp(grad) and hessian",
)

SUITES = [SUITE]

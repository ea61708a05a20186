"""Suite for linear_regression_fit: the minimum-norm least-squares fit of y ~ X w + b.

Outputs: coef (D,) and intercept (a scalar, 0 without one), in X's dtype. The tolerance of
each case follows the conditioning of its centred design: a backward-stable solver (QR or
SVD) errs by about kappa*eps, plus kappa^2*eps times the relative residual; the normal
equations square kappa, which the near-collinear case exposes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import NO_NAN, Arg, Args
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Outputs
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite, Tolerance


def _step_size(v: Any) -> bool:
    return isinstance(v, float) and 0.0 < v < math.inf


def _steps(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


@dataclass(frozen=True)
class LinRegOptions(Options):
    fit_intercept: bool = option(True, False, meaning="fit b, or b = 0")
    norm_includes_intercept: bool = option(
        False,
        True,
        meaning="where the minimiser is not unique: the smallest |w| with b free (sklearn, "
        "which centres X and y), or the smallest |(w, b)| (numpy.linalg.lstsq on X with a "
        "column of ones)",
    )
    solver: str = option(
        "least_squares",
        "gradient_descent",
        meaning="the minimiser (QR/SVD, minimum norm), or the iterate after `steps` full-batch "
        "gradient-descent steps from w = 0, b = 0",
    )
    loss: str = option(
        "mean",
        "sum",
        meaning="gradient descent on the mean of the squared residuals (gradient factor 2/N) "
        "or on their sum (factor 2)",
    )
    lr: float = option(0.01, 1e-4, meaning="gradient descent step size", accepts=_step_size)
    steps: int = option(100, 10, 1, meaning="gradient descent steps", accepts=_steps)

    def validate(self) -> None:
        gd = self.solver == "gradient_descent"
        if not gd and (self.loss, self.lr, self.steps) != ("mean", 0.01, 100):
            raise ValueError("loss, lr and steps are options of solver='gradient_descent'")
        if gd and self.norm_includes_intercept:
            raise ValueError("a gradient-descent iterate has no minimum-norm convention")


ARGS = Args(
    Arg("x", ("N", "D"), "float", rules=(NO_NAN,)),
    Arg("y", ("N",), "float", rules=(NO_NAN,)),
    nonempty=("N",),
    same_dtype=("x", "y"),
)


def design(x: np.ndarray, y: np.ndarray, opts: LinRegOptions) -> tuple[Any, Any, Any, Any]:
    """(A, t, x_mean, y_mean): the least-squares problem min |A v - t| whose minimum-norm
    solution v is the answer: X and y centred (b free, sklearn), X with a column of ones
    (|(w, b)| minimal), or X itself (no intercept)."""
    if not opts.fit_intercept:
        return x, y, None, None
    if opts.norm_includes_intercept:
        return np.concatenate([x, np.ones((len(x), 1))], axis=1), y, None, None
    xm, ym = x.mean(axis=0), y.mean()
    return x - xm, y - ym, xm, ym


def min_norm(a: np.ndarray, t: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-norm least squares by SVD; singular values <= max(rows, columns)*eps*s_max
    count as 0 (numpy.linalg.lstsq's rcond=None, eps that of the inputs' dtype). Returns
    (v, the singular values kept)."""
    if a.size == 0:
        return np.zeros(a.shape[1]), np.zeros(0)
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    keep = s > max(a.shape) * eps * s[0]
    return vt[keep].T @ ((u[:, keep].T @ t) / s[keep]), s[keep]


def cutoff_eps(dtype: Any) -> float:
    """eps of the inputs' dtype (float32 or float64), for the singular-value cutoff."""
    return 2.0**-23 if "float32" in str(dtype) else 2.0**-52


def gradient_descent(x: np.ndarray, y: np.ndarray, opts: LinRegOptions) -> tuple[Any, float]:
    """`steps` full-batch steps from w = 0, b = 0 on the loss mean (or sum) of r^2,
    r = X w + b - y: w <- w - lr·f·X^T r, b <- b - lr·f·sum(r) (b stays 0 without an
    intercept), f = 2/N (mean) or 2 (sum); both updates from the same r."""
    n, d = x.shape
    f = 2.0 / n if opts.loss == "mean" else 2.0
    w, b = np.zeros(d), 0.0
    for _ in range(opts.steps):
        r = x @ w + b - y
        grad_w, grad_b = f * (x.T @ r), f * r.sum()
        w = w - opts.lr * grad_w
        if opts.fit_intercept:
            b = b - opts.lr * grad_b
    return w, b


def linear_regression_fit(x: Any, y: Any, opts: LinRegOptions) -> tuple[Any, Any]:
    """Oracle: float64 SVD of the design (see ``design``), minimum-norm solution; or the
    float64 gradient-descent iterate (``gradient_descent``)."""
    dtype = ARGS.check(x, y)
    if opts.solver == "gradient_descent":
        w, b = gradient_descent(np.asarray(x, np.float64), np.asarray(y, np.float64), opts)
        out = np.dtype(str(dtype))
        return w.astype(out), out.type(b)
    a, t, xm, ym = design(np.asarray(x, np.float64), np.asarray(y, np.float64), opts)
    v, _ = min_norm(a, t, cutoff_eps(dtype))
    if not opts.fit_intercept:
        w, b = v, 0.0
    elif opts.norm_includes_intercept:
        w, b = v[:-1], v[-1]
    else:
        w, b = v, float(ym - xm @ v)
    out = np.dtype(str(dtype))
    return w.astype(out), out.type(b)


# ---- inputs ---------------------------------------------------------------------------------


def make_inputs(case: Case) -> Inputs:
    p, rng = case.params, np.random.default_rng(case.seed)
    n, d = int(p["n"]), int(p["d"])
    pattern = p.get("pattern", "random")
    x = rng.normal(size=(n, d)) + rng.normal(0.0, 2.0, size=d)  # columns off-centre
    if pattern == "collinear" and d >= 4:  # exact in any float dtype:
        x[:, 1] = -x[:, 0]  # column 1 = -column 0, column 2 = 2 * column 0,
        x[:, 2] = x[:, 0] * 2.0
        x[:, 3] = 2.0  # and a constant column: b and w_3 share a direction
    if pattern == "near_collinear":  # column 1 = column 0 + 1e-5 noise: kappa ~ 1e5
        x[:, 1] = x[:, 0] + 1e-5 * rng.normal(size=n)
    if pattern == "scaled":  # column scales from 1e-3 to 1e3
        x *= np.logspace(-3, 3, d)
    w = rng.normal(size=d)
    if pattern == "scaled":
        w /= np.logspace(-3, 3, d)
    noise = float(p.get("noise", 0.1))
    y = x @ w + 1.5 + noise * rng.normal(size=n)
    return {"x": x.astype(case.dtype), "y": y.astype(case.dtype)}


# ---- tolerance and cost -----------------------------------------------------------------------


_CONDITIONING: dict[str, tuple[float, float, float]] = {}


def _conditioning(case: Case) -> tuple[float, float, float]:
    """(kappa of the kept singular values, relative residual |r|/(s_max |v|), max |output|),
    computed once per case."""
    key = case.to_json()
    if key not in _CONDITIONING:
        _CONDITIONING[key] = _measure(case)
    return _CONDITIONING[key]


def _measure(case: Case) -> tuple[float, float, float]:
    inputs = make_inputs(case)
    opts = LinRegOptions.build(case.options)
    x, y = (np.asarray(inputs[k], np.float64) for k in ("x", "y"))
    a, t, _, _ = design(x, y, opts)
    v, s = min_norm(a, t, cutoff_eps(case.dtype))
    if not len(s):
        return 1.0, 0.0, float(np.abs(y).max(initial=1.0))
    w, b = linear_regression_fit(x, y, opts)
    r = np.linalg.norm(a @ v - t) / max(s[0] * np.linalg.norm(v), 1e-300)
    return float(s[0] / s[-1]), float(r), float(max(np.abs(w).max(initial=0.0), abs(b), 1e-300))


def tolerance(case: Case) -> Tolerance:
    """rtol = 10*sqrt(N)*eps*(kappa + kappa^2*rho) (rho the relative residual; N the
    reduction length): the error bound of a backward-stable least-squares solver; atol =
    rtol times the largest |output|."""
    n = int(case.params["n"])
    eps = float(np.finfo(np.dtype(case.dtype)).eps)
    opts = LinRegOptions.build(case.options)
    if opts.solver == "gradient_descent":
        # each step's gradient carries a relative rounding of ~sqrt(N)*eps, and a stable
        # step map (|1 - lr*f*lambda| <= 1) does not amplify what earlier steps left: the
        # error grows at most linearly in the steps (a diverging run scales every error
        # with its iterate, so the bound stays relative to max|output|)
        inputs = make_inputs(case)
        x, y = (np.asarray(inputs[k], np.float64) for k in ("x", "y"))
        w, b = gradient_descent(x, y, opts)
        scale = float(max(np.abs(w).max(initial=0.0), abs(b), 1e-300))
        rtol = 10.0 * np.sqrt(max(n, 1)) * eps * opts.steps
        why = f"10*sqrt(N)*eps*steps, steps={opts.steps} (gradient descent), atol = rtol*max|out|"
        return Tolerance(rtol, rtol * scale, why)
    kappa, rho, scale = _conditioning(case)
    rtol = 10.0 * np.sqrt(max(n, 1)) * eps * (kappa + kappa * kappa * rho)
    reason = (
        f"10*sqrt(N)*eps*(kappa + kappa^2*rho), kappa={kappa:.3g}, rho={rho:.2g} (a "
        "backward-stable solver's bound), atol = rtol*max|output|"
    )
    return Tolerance(rtol, rtol * scale, reason)


def cost(case: Case) -> Cost:
    """QR of the N x D design 2*N*D^2 flops (+ centring 2*N*D); traffic b*N*(D + 1).
    Gradient descent: 4*N*D flops and b*N*D bytes a step."""
    n, d = int(case.params["n"]), int(case.params["d"])
    b = np.dtype(case.dtype).itemsize
    opts = LinRegOptions.build(case.options)
    if opts.solver == "gradient_descent":
        steps = opts.steps
        return Cost(4.0 * n * d * steps + 4.0 * n * steps, b * n * (d + 1) * steps, n, "rows")
    return Cost(2.0 * n * d * d + 2.0 * n * d + 1.0, b * n * (d + 1) + b * (d + 1), n, "rows")


COMPARE = Outputs({"coef": Close(override=tolerance), "intercept": Close(override=tolerance)})

# ---- cases ----------------------------------------------------------------------------------

F64: dict[str, Any] = {"dtype": "float64"}
NO_B: dict[str, Any] = {"fit_intercept": False}
JOINT: dict[str, Any] = {"norm_includes_intercept": True}
GD: dict[str, Any] = {"solver": "gradient_descent"}

CASES = [
    case("random_f32", n=300, d=5),
    case("random_f64", n=250, d=7, **F64),
    case("no_intercept_f64", n=200, d=4, **F64, options=NO_B),
    case("joint_norm_f64", n=150, d=6, **F64, options=JOINT),
    # rows past a 256-row block and a tile of features
    case("multi_block", n=3000, d=40, **F64),
    # exactly collinear columns and a constant one: the minimisers form a plane; the
    # minimum-norm point is the answer, with b free (sklearn: w_3 = 0) or inside the
    # norm (lstsq with a column of ones: w_3 and b share the constant)
    edge("collinear_f64", n=120, d=5, pattern="collinear", **F64),
    edge("collinear_joint_f64", n=120, d=5, pattern="collinear", **F64, options=JOINT),
    edge("collinear_f32", n=90, d=4, pattern="collinear"),
    # fewer rows than features: infinitely many exact fits, the minimum-norm one
    edge("wide_f64", n=8, d=20, **F64),
    edge("wide_joint_f64", n=9, d=15, **F64, options=JOINT),
    edge("wide_no_intercept_f64", n=7, d=12, **F64, options=NO_B),
    # kappa ~ 1e5 with a small residual: QR/SVD err ~1e-11, the normal equations ~1e-6
    edge("near_collinear_f64", n=400, d=4, pattern="near_collinear", noise=1e-9, **F64),
    # column scales 1e-3..1e3 (coefficients the inverse)
    edge("badly_scaled_f64", n=300, d=6, pattern="scaled", **F64),
    edge("one_row_f64", n=1, d=3, **F64),
    edge("one_row_no_intercept", n=1, d=4, options=NO_B),
    edge("no_features", n=30, d=0),
    edge("no_features_no_intercept_f64", n=20, d=0, **F64, options=NO_B),
    edge("exact_fit_f64", n=60, d=3, noise=0.0, **F64),
    # gradient descent: 100 steps of lr 0.01 on the mean loss from w = 0 (not converged:
    # the iterate itself is compared), the sum loss with a step N times smaller, no
    # intercept, one step, past a block of rows, no features, and a diverging run
    case("gd_mean_f64", n=200, d=6, **F64, options=GD),
    case("gd_mean_f32", n=150, d=5, options=GD),
    case("gd_sum_f64", n=100, d=4, **F64, options={**GD, "loss": "sum", "lr": 1e-4}),
    case("gd_no_intercept_f64", n=120, d=5, **F64, options={**GD, **NO_B}),
    case("gd_multi_block", n=3000, d=40, **F64, options={**GD, "steps": 10}),
    edge("gd_one_step_f64", n=80, d=3, **F64, options={**GD, "steps": 1}),
    edge("gd_no_features_f64", n=40, d=0, **F64, options=GD),
    # column scales up to 1e3: lr 0.01 is far past 1/lambda_max, the iterate grows by
    # ~1e4 a step (ten steps: ~1e40, still finite in float64)
    edge("gd_diverges_f64", n=100, d=4, pattern="scaled", **F64, options={**GD, "steps": 10}),
]

ERRORS = [
    error("no_rows", ValueError, r"\bN\b", n=0, d=3),
]

# Standard: N = 100,000 rows, D = 32 (2e8 flops of QR): the spec's 1,000,000 x 64 is 8e9
# flops, seconds a call for the float64 oracle's SVD here, over the quick profile's 6 s;
# it is in "full" (the large 10^7 x 256 is a GPU size, left out).
BENCH = {
    "smoke": [bench("bench_n10000_d16", n=10000, d=16)],
    "quick": [bench("bench_n100000_d32", n=100000, d=32)],
    "full": [bench("bench_n1000000_d64", n=1000000, d=64)],
}


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "n": st.integers(1, 60),
            "d": st.integers(0, 8),
            "pattern": st.sampled_from(["random", "collinear", "scaled"]),
            "noise": st.sampled_from([0.0, 0.1, 1.0]),
        }
    )
    return st.builds(
        lambda p, o: Case("fuzz", p, o, "fuzz"),
        params,
        # least squares only: gradient descent on the drawn scaled columns diverges to
        # overflow, where inf and NaN depend on the order of operations
        LinRegOptions.strategy(omit=("solver", "loss", "lr", "steps"), optional=True),
    )


SUITE = Suite(
    algorithm="linear_regression_fit",
    family="classical-ML-and-matching",
    summary="Least-squares fit of y (N,) on X (N, D) -> (coef (D,), intercept), minimum-norm "
    "where the minimiser is not unique.",
    conventions=(
        "Minimise mean (X w + b - y)^2 over w (and b when fit_intercept; b = 0 otherwise). "
        "Where the minimiser is not unique (collinear columns, N < D), the answer is the one "
        "of smallest |w| with b free (norm_includes_intercept=False: X and y centred, b = "
        "mean(y) - mean(X) w, as sklearn) or of smallest |(w, b)| (True: numpy.linalg.lstsq "
        "on [X, 1]). Singular values <= max(rows, columns)*eps*s_max of the design count as "
        "0, eps that of X's dtype (lstsq's rcond=None). Outputs in X's dtype; X and y "
        "share one float dtype. "
        "D = 0: coef is empty and b the mean of y (or 0). Compared with a tolerance from "
        "each case's conditioning (kappa, relative residual): QR and SVD solvers pass, the "
        "normal equations fail the near-collinear case. solver='gradient_descent': the "
        "iterate after `steps` steps from w = 0, b = 0 of w <- w - lr·f·X^T r, b <- b - "
        "lr·f·sum(r), r = X w + b - y (both from the same r; b stays 0 without an "
        "intercept), f = 2/N (loss='mean') or 2 ('sum'), in X's dtype; compared within "
        "10*sqrt(N)*eps*steps. ValueError: NaN in X or y, N = 0, "
        "shape errors; TypeError: non-float X or y, mixed dtypes."
    ),
    args=ARGS,
    options=LinRegOptions,
    make_inputs=make_inputs,
    oracle=linear_regression_fit,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 23, "dtype": "float32"},
    cases=CASES,
    errors=ERRORS,
    bench=BENCH,
    standard="bench_n100000_d32",
    outputs=("coef", "intercept"),
    multi_block={"N": 3000},
    near_threshold=("near_collinear_f64",),
    fuzz=fuzz_strategy,
    backends=("numpy", "numba", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="numpy.linalg.lstsq (on [X, 1], or on centred data); "
    "sklearn.linear_model.LinearRegression; gradient descent: torch autograd with "
    "torch.optim.SGD",
)

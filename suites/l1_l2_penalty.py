"""Suite for l1_l2_penalty: R = λ₁·Σ|w| + λ₂·Σw² over a model's parameters, and its gradient.

The gradient with respect to each parameter is λ₁·sign(w) + 2λ₂·w (subgradient 0 at w = 0,
as torch's abs backward); parameters the penalty leaves out (biases and norm parameters
under select='weights') get a zero gradient. The factor 2 is the classic trap: SGD's
weight_decay = wd adds wd·w to the gradient, which is the L2 penalty (wd/2)·Σw².
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, ArrayList, Rule
from harness.cases import bench, case, edge, error, fuzz_cases
from harness.comparators import Close, Each, Outputs
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite
from suites.grad_norm_clipping import resnet34_shapes


@dataclass(frozen=True)
class PenaltyOptions(Options):
    select: str = option(
        "all",
        "weights",
        meaning="all: every parameter is penalised; weights: only those is_weight marks "
        "(biases and norm parameters excluded, their gradient 0)",
    )


def _negate(x: np.ndarray) -> np.ndarray:
    return np.array(-1.0 - np.abs(x), dtype=x.dtype)


NONNEGATIVE = Rule(">= 0", lambda xp, x: x < 0, _negate)

# λ₁ and λ₂ are 0-d arrays of the parameters' dtype rather than Python numbers: a device
# implementation reads them without a host round trip, and a float64 λ rounded to float32
# is an input precision the suite can see (λ = 5e-4 is not a float32)
ARGS = Args(
    ArrayList("params"),
    Arg("is_weight", ("P",), "bool"),  # one flag per parameter: a weight, not a bias/norm
    Arg("l1", (), "float", rules=(NONNEGATIVE,)),
    Arg("l2", (), "float", rules=(NONNEGATIVE,)),
)


def check(params: Any, is_weight: Any, l1: Any, l2: Any) -> Any:
    """ARGS, then λ not NaN and one flag per parameter; returns the penalty's dtype (the
    promoted float dtype of the parameters and λ), in their namespace."""
    dtype = ARGS.check(params, is_weight, l1, l2)
    for name, lam in (("l1", l1), ("l2", l2)):
        if bool(lam != lam):
            raise ValueError(f"{name} is NaN")
    if int(is_weight.shape[0]) != len(params):
        raise ValueError(f"is_weight has {int(is_weight.shape[0])} flags but params {len(params)}")
    return dtype


def penalised(is_weight: Any, count: int, opts: PenaltyOptions) -> list[bool]:
    """Which parameters the penalty covers, as plain bools."""
    if opts.select == "all":
        return [True] * count
    return [bool(v) for v in np.asarray(is_weight).tolist()]


def l1_l2_penalty(params: Any, is_weight: Any, l1: Any, l2: Any,
                  opts: PenaltyOptions) -> tuple[np.ndarray, list[np.ndarray]]:  # fmt: skip
    """Oracle, float64: (R, [dR/dw for each parameter])."""
    check(params, is_weight, l1, l2)
    a, b = float(l1), float(l2)
    total, grads = 0.0, []
    for w, on in zip(params, penalised(is_weight, len(params), opts), strict=True):
        x = np.asarray(w, dtype=np.float64)
        if not on:
            grads.append(np.zeros_like(x))
            continue
        total += a * float(np.abs(x).sum()) + b * float((x * x).sum())
        grads.append(a * np.sign(x) + 2.0 * b * x)  # sign(0) = 0, sign(NaN) = NaN
    return np.asarray(total), grads


# ---- inputs ----------------------------------------------------------------------------------

SHAPES = [[6, 4, 3, 3], [6], [6], [10, 6], [10]]  # conv, norm weight and bias, linear, bias


def _shapes(p: Any) -> list[tuple[int, ...]]:
    made = resnet34_shapes(int(p["width"])) if "width" in p else []
    many = [[3, 2]] * int(p.get("many", 0))  # many small tensors (a multi-tensor kernel's lists)
    return [tuple(int(d) for d in s) for s in [*made, *many, *p.get("shapes", SHAPES)]]


def make_inputs(case: Case) -> Inputs:
    """Parameters ~ N(0, scale²); is_weight marks those of two or more axes (the usual rule
    for conv and linear weights); pattern 'zeros' sets every third value to exactly 0,
    'nan' one value to NaN; mixed=True makes every 1-D parameter float64."""
    p, rng = case.params, np.random.default_rng(case.seed)
    shapes = _shapes(p)
    scale = float(p.get("scale", 0.5))
    draw = np.float64 if case.dtype == "float64" else np.float32  # ResNet-34: no f64 copy
    params = []
    for s in shapes:
        w = rng.standard_normal(s, dtype=draw)
        w *= draw(scale)
        if p.get("pattern") == "zeros":
            w.reshape(-1)[::3] = 0.0
        dt = np.float64 if p.get("mixed") and len(s) == 1 else case.dtype
        params.append(w.astype(dt, copy=False))
    if p.get("pattern") == "nan" and params and params[0].size > 1:
        params[0].reshape(-1)[1] = np.nan
    is_weight = np.array([len(s) >= 2 for s in shapes], dtype=bool)
    lam = {k: np.asarray(float(p.get(k, v)), dtype=case.dtype) for k, v in LAMBDAS.items()}
    return {"params": params, "is_weight": is_weight, **lam}


LAMBDAS = {"l1": 1e-3, "l2": 5e-4}


def _numel(case: Case) -> int:
    return sum(math.prod(s) for s in _shapes(case.params))


def cost(case: Case) -> Cost:
    """Per value: |w|, w², two adds for R, and sign, two multiplies and an add for the
    gradient (≈ 6 flops; the spec's 3 counts R alone); bytes: w read, the gradient written."""
    n, b = _numel(case), np.dtype(case.dtype).itemsize
    return Cost(6.0 * n, 2.0 * b * n + 8, n, "parameters")


@dataclass(frozen=True)
class DtypeClose(Close):
    """Close whose output dtype is the case's, except with mixed parameter dtypes (each
    gradient then has its own parameter's dtype and R the promoted one: not checked)."""

    def expected_dtype(self, case: Case) -> str | None:
        return None if case.params.get("mixed") else case.dtype


# R is a sum of N nonnegative terms (relative error 10·sqrt(N)·eps; no atol needed: R = 0
# only when nothing is penalised, and then exactly). Each gradient value λ₁·sign(w) + 2λ₂·w
# adds two terms of the same sign: a few roundings relative, K = 2, and exactly 0 at w = 0.
COMPARE = Outputs(
    {
        "penalty": DtypeClose(reduction=lambda c: max(_numel(c), 1), scale=lambda c: 0.0),
        "grads": Each(DtypeClose(reduction=lambda c: 2, scale=lambda c: 0.0)),
    }
)

F64 = "float64"
W = {"select": "weights"}

CASES = [
    case("small"),
    case("small_f64", dtype=F64),
    case("weights_only", options=W),
    case("weights_only_f64", dtype=F64, options=W),
    case("l1_only_f64", l2=0.0, dtype=F64),
    case("l2_only", l1=0.0),
    case("resnet34_width4", width=4),  # 85 tensors, ~86,000 values
    case("resnet34_width4_weights_f64", width=4, dtype=F64, options=W),
    # 258 small tensors and one of 70,000 values: a multi-tensor kernel runs several lists
    # of tensors, a chunked one several chunks of the large tensor
    case("multi_block", many=256, shapes=[[280, 250], [3]]),
    case("multi_block_weights_f64", many=256, shapes=[[280, 250], [3]], dtype=F64, options=W),
]
EDGES = [
    edge("zeros_subgradient", pattern="zeros"),  # sign(0) = 0: the gradient is 2λ₂·0 = 0
    edge("zeros_subgradient_f64", pattern="zeros", dtype=F64, options=W),
    edge("huge_lambda", l1=1e6, l2=1e6),
    edge("lambda_zero", l1=0.0, l2=0.0),  # R = 0, every gradient 0
    edge("nan_parameter", pattern="nan"),
    # L1 only: λ₁·sign(NaN) must stay NaN (torch.sign(NaN) is 0, and λ₂·w no longer adds it)
    edge("nan_parameter_l1_only", pattern="nan", l2=0.0),
    edge("mixed_dtypes", mixed=True),
    edge("mixed_dtypes_weights", mixed=True, options=W),
    edge("no_parameters", shapes=[]),  # R = 0, no gradients
    edge("no_parameters_weights", shapes=[], dtype=F64, options=W),
    edge("empty_parameter", shapes=[[4, 0], [5], [0]]),
    edge("scalar_parameter", shapes=[[], [3, 2]]),
]
ERRORS = [
    error("l2_nan", ValueError, r"\bl2\b", l2=math.nan),
    error("flags_short", ValueError, r"\bis_weight\b", shapes=[[4, 3], [3]], drop_flag=True),
]
DEFAULTS = {"seed": 31, "dtype": "float32"}


def _make(case: Case) -> Inputs:
    inputs = make_inputs(case)
    if case.params.get("drop_flag"):
        inputs["is_weight"] = inputs["is_weight"][:-1]
    return inputs


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    shape = st.lists(st.integers(0, 6), min_size=0, max_size=3)
    params = st.fixed_dictionaries(
        {
            "shapes": st.lists(shape, min_size=0, max_size=6),
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "l1": st.sampled_from([0.0, 1e-4, 0.1]),
            "l2": st.sampled_from([0.0, 5e-4, 2.0]),
            "pattern": st.sampled_from(["random", "zeros", "nan"]),
        }
    )
    return fuzz_cases(params, PenaltyOptions.strategy(optional=True))  # fmt: skip


CONVENTIONS = (
    "params: a list of float arrays of any shapes; is_weight (P,) bool, one flag per "
    "parameter; l1, l2 >= 0 0-d float arrays. Returns (R, grads): R = l1·Σ|w| + l2·Σw² "
    "over the penalised "
    "parameters (select='all': every one; 'weights': those is_weight marks, biases and "
    "norm parameters excluded), a 0-d array of the promoted dtype of the parameters and "
    "l1, l2; grads, one array per parameter in its shape and dtype: "
    "l1·sign(w) + 2·l2·w (sign(0) = 0, torch's subgradient), zeros for a parameter left "
    "out. The 2 is the factor SGD's weight_decay hides (weight_decay = 2·l2). NaN "
    "propagates. Parameters are never modified. ValueError: l1 or l2 < 0 or NaN or not 0-d, "
    "is_weight not one flag per parameter."
)


def _nan_without_l2(inputs: Inputs) -> bool:
    """A NaN parameter with λ₂ = 0: torch.sign's 0 for NaN is then all of its gradient."""
    return float(inputs["l2"]) == 0.0 and any(bool(np.isnan(w).any()) for w in inputs["params"])


SUITE = Suite(
    algorithm="l1_l2_penalty",
    family="losses-and-metrics",
    summary="Elastic-net penalty λ₁·Σ|w| + λ₂·Σw² over a parameter list (all, or weights "
    "only) and its gradient -> ((), [grads]).",
    conventions=CONVENTIONS,
    args=ARGS,
    options=PenaltyOptions,
    make_inputs=_make,
    oracle=l1_l2_penalty,
    compare=COMPARE,
    cost=cost,
    defaults=DEFAULTS,
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    outputs=("penalty", "grads"),
    bench={
        "smoke": [bench("bench_resnet34_width4", width=4)],
        # the spec's standard: ResNet-34's 21.8M parameters (63 BatchNorm/bias tensors too)
        "quick": [bench("bench_resnet34", width=64)],
        "full": [bench("bench_resnet34_weights", width=64, options=W)],
    },
    standard="bench_resnet34",
    multi_block={"P": 258},
    fuzz=fuzz_strategy,
    divergent_inputs={"nan_parameter_l1_only": _nan_without_l2},
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
    reference="torch autograd of the penalty; torch.optim.SGD(weight_decay=2·l2) (the "
    "gradient its first step puts in the momentum buffer, L1 preset as the gradient)",
)

SUITES = [SUITE]

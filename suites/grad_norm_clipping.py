"""Suite for grad_norm_clipping: clip_grad_norm_ / clip_grad_value_ on a list of gradients."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.args import Arg, Args, ArrayList, Rule
from harness.cases import bench, case, edge, error
from harness.comparators import Close, Each, Outputs
from harness.options import Options, option
from harness.spec import Case, Cost, Inputs, Suite


def _order(v: Any) -> bool:
    return isinstance(v, float) and 0.0 < v <= math.inf  # NaN, 0 and negatives fail


def _nonnegative(v: Any) -> bool:
    return isinstance(v, float) and 0.0 <= v < math.inf


@dataclass(frozen=True)
class ClipOptions(Options):
    mode: str = option(
        "norm",
        "value",
        meaning="norm: clip_grad_norm_ (scale every gradient by one coefficient); value: "
        "clip_grad_value_ (clamp each element to [-threshold, threshold])",
    )
    norm_type: float = option(
        2.0, 1.0, math.inf, 3.0, meaning="p of the total norm (inf: max |g|)", accepts=_order
    )
    eps: float = option(
        1e-6, 0.0, meaning="coefficient threshold/(total + eps) (torch: 1e-6)", accepts=_nonnegative
    )
    error_if_nonfinite: bool = option(
        False, True, meaning="raise RuntimeError when the total norm is NaN or inf (norm mode)"
    )

    def validate(self) -> None:
        if self.mode == "value" and self.error_if_nonfinite:
            raise ValueError("error_if_nonfinite belongs to clip_grad_norm_ (mode 'norm')")


def _negate(x: np.ndarray) -> np.ndarray:
    return np.array(-1.0 - np.abs(x), dtype=x.dtype)


THRESHOLD_RULE = Rule("threshold >= 0", lambda xp, x: x < 0, _negate)

# threshold is a 0-d float64 array rather than a Python number: a device implementation
# divides by the total norm without copying it to the host, and a float32 rounding of it
# is an input precision the suite can see
ARGS = Args(
    ArrayList("grads"),
    Arg("has_grad", ("P",), "bool"),
    Arg("threshold", (), "float", rules=(THRESHOLD_RULE,)),
)


def check(grads: Any, has_grad: Any, threshold: Any) -> None:
    """ARGS.check, then what the declaration cannot say: one flag per gradient, one dtype."""
    ARGS.check(grads, has_grad, threshold)
    if bool(threshold != threshold):
        raise ValueError("threshold is NaN")
    if int(has_grad.shape[0]) != len(grads):
        raise ValueError(f"has_grad has {int(has_grad.shape[0])} flags but grads {len(grads)}")
    dtypes = {str(g.dtype) for g in grads}
    if len(dtypes) > 1:
        raise TypeError(f"grads must share one dtype, got {sorted(dtypes)}")


def total_norm(grads: list[np.ndarray], p: float) -> float:
    """(sum_i ||g_i||_p^p)^(1/p) over the given float64 gradients; p = inf: max |g|."""
    if not grads:
        return 0.0
    if p == math.inf:
        return max((float(np.max(np.abs(g))) for g in grads if g.size), default=0.0)
    return float(sum(float(np.sum(np.abs(g) ** p)) for g in grads) ** (1.0 / p))


def grad_norm_clipping(grads: Any, has_grad: Any, threshold: Any,
    opts: ClipOptions) -> tuple[np.ndarray, list[np.ndarray]]:  # fmt: skip
    """Oracle: float64, from the definition; returns (total_norm, new grads)."""
    check(grads, has_grad, threshold)
    present = [bool(h) for h in np.asarray(has_grad).tolist()]
    out = [np.array(g, dtype=np.float64) for g in grads]
    total = total_norm([g for g, h in zip(out, present, strict=True) if h], opts.norm_type)
    if opts.mode == "norm":
        if opts.error_if_nonfinite and not math.isfinite(total):
            raise RuntimeError(f"the total norm of order {opts.norm_type} is non-finite")
        with np.errstate(divide="ignore", invalid="ignore"):
            coef = np.float64(threshold) / (np.float64(total) + opts.eps)
        scale = 1.0 if coef >= 1.0 else float(coef)  # NaN (a NaN norm) scales by NaN
        with np.errstate(invalid="ignore"):  # inf*0 = NaN, as torch
            out = [
                g * scale if h and scale != 1.0 else g for g, h in zip(out, present, strict=True)
            ]
    else:
        t = float(threshold)
        out = [np.clip(g, -t, t) if h else g for g, h in zip(out, present, strict=True)]
    return np.array(total), out


# ---- inputs ----------------------------------------------------------------------------------

SHAPES = [[6, 4, 3, 3], [6], [10, 6], [], [10]]  # conv, bias, linear, scalar, bias


def resnet34_shapes(width: int) -> list[list[int]]:
    """Gradient shapes of a ResNet-34 (BatchNorm weight and bias included) with `width`
    channels in the first stage (64: the real one, 21.8M values)."""
    w = width
    out = [[w, 3, 7, 7], [w], [w]]
    c_in = w
    for stage, blocks in enumerate((3, 4, 6, 3)):
        c = w * 2**stage
        for b in range(blocks):
            out += [[c, c_in, 3, 3], [c], [c], [c, c, 3, 3], [c], [c]]
            if b == 0 and c_in != c:
                out += [[c, c_in, 1, 1], [c], [c]]
            c_in = c
    return [*out, [1000, c_in], [1000]]


def _shapes(p: Any) -> list[tuple[int, ...]]:
    made = resnet34_shapes(int(p["width"])) if "width" in p else []
    many = [[3]] * int(p.get("many", 0))  # many small tensors (a multi-tensor kernel's lists)
    return [tuple(int(d) for d in s) for s in [*made, *many, *p.get("shapes", SHAPES)]]


def make_inputs(case: Case) -> Inputs:
    """Normal gradients times `scale`; the threshold is `ratio` times the norm (or max |g|
    in value mode) of the present gradients, so ratio < 1 clips and ratio > 1 does not."""
    p, rng = case.params, np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    opts = ClipOptions.build(case.options)
    shapes = _shapes(p)
    scale = float(p.get("scale", 1.0))
    draw = np.float64 if dtype == np.float64 else np.float32  # no float64 copy of large g
    grads = [rng.standard_normal(s, dtype=draw).astype(dtype, copy=False) for s in shapes]
    for g in grads:
        g *= dtype.type(scale)
    if p.get("zero"):
        for g in grads:
            g[...] = 0
    has_grad = np.ones(len(shapes), dtype=bool)
    if p.get("missing") and shapes:  # the first and every third gradient are absent (or all)
        has_grad[:: 1 if p["missing"] == "all" else 3] = False
        for g in grads[::3]:
            g *= dtype.type(100.0)  # large: counting them would change the norm
    present = [np.asarray(g, np.float64) for g, h in zip(grads, has_grad, strict=True) if h]
    ratio = float(p.get("ratio", 0.5))
    order = math.inf if opts.mode == "value" else opts.norm_type
    threshold = float(p.get("threshold", ratio * total_norm(present, order)))
    bad = p.get("nonfinite")  # one value of the second gradient: "inf", "-inf" or "nan"
    if bad:
        grads[1].reshape(-1)[1] = float(bad)
    if p.get("extra_flag"):  # error case: one flag more than gradients
        has_grad = np.append(has_grad, True)
    if p.get("mixed_dtype"):  # error case: one gradient in another dtype
        grads[0] = grads[0].astype(np.float32 if dtype == np.float64 else np.float64)
    return {"grads": grads, "has_grad": has_grad, "threshold": np.array(threshold)}


# ---- cost and tolerance ------------------------------------------------------------------


def _numel(case: Case) -> int:
    return sum(math.prod(s) for s in _shapes(case.params))


def cost(case: Case) -> Cost:
    """Per element: |g|^p and the sum (2-3 flops), then the scaling (1): ~3 flops, and
    3b bytes (read for the norm, read and written for the scaling)."""
    n, b = _numel(case), np.dtype(case.dtype).itemsize
    return Cost(3 * n + 1, 3 * b * n + 8, n, "elements")


def _reduction(case: Case) -> int:
    """K: the longest sum is the total norm's, over every value (per-tensor partial sums
    combined); the scaling multiplies each value by a coefficient carrying that error."""
    return max(_numel(case), 1)


def _magnitude(index: int) -> Callable[[Case], float]:
    """The atol scale of an output: its largest finite |value| in the case's answer (the
    total norm itself; the largest clipped gradient value). Each value's error is relative
    to the coefficient's and the norm's, so an all-zero answer never passes a nonzero one."""

    def scale(case: Case) -> float:
        from harness.prepare import oracle_output

        key = (index, case.to_json())
        if key not in _MAGNITUDES:  # asked once per array compared: computed once per case
            out = oracle_output(SUITE, case)[index]
            arrays = [np.asarray(a) for a in (out if isinstance(out, list) else [out])]
            finite = [np.abs(a[np.isfinite(a)]) for a in arrays]
            if len(_MAGNITUDES) > 64:
                _MAGNITUDES.clear()
            _MAGNITUDES[key] = max((float(f.max()) for f in finite if f.size), default=0.0)
        return _MAGNITUDES[key]

    return scale


_MAGNITUDES: dict[tuple[int, str], float] = {}


COMPARE = Outputs(
    {
        "total_norm": Close(reduction=_reduction, scale=_magnitude(0)),
        "grads": Each(Close(reduction=_reduction, scale=_magnitude(1))),
    }
)


# ---- cases -----------------------------------------------------------------------------------

F64 = "float64"
VALUE = {"mode": "value"}
INF, L1, L3 = {"norm_type": math.inf}, {"norm_type": 1.0}, {"norm_type": 3.0}

CASES = [
    case("clip_l2_f32"),
    case("clip_l2_f64", dtype=F64),
    case("no_clip_l2_f64", ratio=2.0, dtype=F64),  # total < max_norm: nothing changes
    case("clip_l1_f64", options=L1, dtype=F64),
    case("clip_l3_f32", options=L3),
    case("clip_inf_f64", options=INF, dtype=F64),
    case("no_clip_inf_f32", ratio=1.5, options=INF),
    case("eps_0_f64", options={"eps": 0.0}, dtype=F64),
    case("missing_grads_f64", missing=True, dtype=F64),
    case("missing_grads_inf_f32", missing=True, options=INF),
    case("error_flag_finite_f64", options={"error_if_nonfinite": True}, dtype=F64),
    case("value_f32", ratio=0.3, options=VALUE),
    case("value_f64", ratio=0.3, options=VALUE, dtype=F64),
    case("value_no_clip_f64", ratio=1.5, options=VALUE, dtype=F64),
    case("value_missing_f64", ratio=0.3, missing=True, options=VALUE, dtype=F64),
    # a ResNet-34 at 1/16 of the width (~86K values): a model-shaped list of 110 tensors
    case("resnet_narrow_f32", width=4, shapes=[]),
    # 258 tensors (past a 256-tensor list chunk of a multi-tensor kernel) and one of 70,000
    # values (past any 65,536-value chunk or 256-wide block)
    case("multi_block", many=256, shapes=[[280, 250], [5]], options=INF),
    case("multi_block_l2_f64", many=256, shapes=[[280, 250], [5]], dtype=F64),
]

EDGES = [
    # P = 0 (the norm is 0, nothing to clip) and one empty gradient among others
    edge("no_grads", shapes=[], threshold=1.0),
    edge("empty_grad_f64", shapes=[[0, 3], [4, 5], []], dtype=F64),
    # no gradient present: the norm is 0 (float32, as torch's empty total) and nothing changes
    edge("all_missing", shapes=[[3, 2], [4]], missing="all", threshold=0.5),
    edge("all_zero_f64", zero=True, threshold=1.0, dtype=F64),
    edge("all_zero_value_threshold_0", zero=True, threshold=0.0, options=VALUE),
    edge("threshold_0_f64", threshold=0.0, dtype=F64),  # every gradient becomes 0
    # |g| ~ 1e-9: the norm is ~1e-8, so eps = 1e-6 dominates the coefficient
    edge("tiny_grads_f64", scale=1e-9, threshold=1e-9, dtype=F64),
    edge("huge_grads_f32", scale=1e15, options=L1),
    # non-finite gradients without the error flag: an inf norm scales by 0 (inf*0 = NaN),
    # a NaN norm makes every present gradient NaN (torch multiplies by the NaN coefficient)
    edge("inf_grad_f64", nonfinite="inf", dtype=F64),
    edge("nan_grad_f32", nonfinite="nan"),
    edge("neg_inf_grad_inf_norm_f64", nonfinite="-inf", options=INF, dtype=F64),
    edge("nan_grad_value_f64", nonfinite="nan", ratio=0.3, options=VALUE, dtype=F64),
]

ERRORS = [
    error(
        "inf_norm_with_error_flag",
        RuntimeError,
        "non-finite",
        nonfinite="inf",
        options={"error_if_nonfinite": True},
    ),
    error(
        "nan_norm_with_error_flag",
        RuntimeError,
        "non-finite",
        nonfinite="nan",
        options={"error_if_nonfinite": True, "norm_type": 1.0},
    ),
    error("one_flag_too_many", ValueError, r"has_grad", extra_flag=True),
    error("mixed_dtypes", TypeError, r"one dtype", mixed_dtype=True),
]

# Standard: the spec's ResNet-34 gradients, 21.8M float32 values (87 MB), L2 norm. Full adds
# the inf norm at that size and 2^28 values (1 GB) as the large one (the spec's 1e9 is for a
# GPU). The smoke size is a ResNet-34 at 1/16 width.
BENCH = {
    "smoke": [bench("bench_resnet34_w4", width=4, shapes=[])],
    "quick": [bench("bench_resnet34", width=64, shapes=[])],
    "full": [
        bench("bench_resnet34_inf", width=64, shapes=[], options=INF),
        bench("bench_2e28", shapes=[[2**14, 2**14]]),
    ],
}


def _fuzz_case(shapes: list[list[int]], params: dict[str, Any], options: dict[str, Any]) -> Case:
    return Case("fuzz", {"shapes": shapes, **params}, options, "fuzz")


def fuzz_strategy() -> Any:
    from hypothesis import strategies as st

    options = ClipOptions.strategy(omit=("error_if_nonfinite",))
    shape = st.lists(st.integers(0, 5), min_size=0, max_size=3)
    shapes = st.lists(shape, min_size=2, max_size=5)
    params = st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**31 - 1),
            "dtype": st.sampled_from(["float32", "float64"]),
            "ratio": st.sampled_from([0.1, 0.5, 0.999, 2.0]),
            "scale": st.sampled_from([1.0, 1e-6, 1e3]),
            "missing": st.booleans(),
        }
    )
    return st.builds(_fuzz_case, shapes, params, options)


SUITE = Suite(
    algorithm="grad_norm_clipping",
    family="training-math",
    summary="torch.nn.utils.clip_grad_norm_ / clip_grad_value_ over a list of gradients, "
    "updated in place; returns the total norm before clipping.",
    conventions=(
        "grad_norm_clipping(grads, has_grad, threshold, opts) -> total_norm. grads: list of P "
        "float arrays of any shapes, one dtype; has_grad (P,) bool: False means the parameter "
        "has no gradient (p.grad is None): that array is neither counted nor written. The "
        "total norm is (sum over present gradients of sum |g|^p)^(1/p), p = norm_type (inf: "
        "max |g|; 0 with no values), returned as a 0-d array of the gradients' dtype (float32 "
        "when no gradient is present, as torch) in both modes. mode 'norm' "
        "(clip_grad_norm_): coef = threshold/(total + eps), eps = 1e-6; every present "
        "gradient is multiplied in place by min(coef, 1) (so "
        "nothing changes when total + eps <= threshold; an inf norm scales by 0, so an inf "
        "value becomes NaN; a NaN norm makes every present gradient NaN, as torch). "
        "error_if_nonfinite: RuntimeError when the total norm is NaN or inf, before any "
        "gradient is written. mode 'value' (clip_grad_value_): every present value is clamped "
        "to [-threshold, threshold] in place (NaN stays NaN). Per-tensor norms combined or one "
        "flat norm differ only by rounding. ValueError: threshold < 0 or NaN, has_grad not "
        "(P,); the options refuse norm_type <= 0 and error_if_nonfinite in value mode; "
        "TypeError: non-float gradients, gradients of different dtypes."
    ),
    args=ARGS,
    options=ClipOptions,
    make_inputs=make_inputs,
    oracle=grad_norm_clipping,
    compare=COMPARE,
    cost=cost,
    defaults={"seed": 29, "dtype": "float32"},
    cases=[*CASES, *EDGES],
    errors=ERRORS,
    bench=BENCH,
    standard="bench_resnet34",
    outputs=("total_norm", "grads"),
    state=("grads",),
    multi_block={"P": 258},
    invalid_options=[
        {"norm_type": 0.0},
        {"norm_type": -2.0},
        {"norm_type": math.nan},
        {"eps": -1e-6},
        {"mode": "value", "error_if_nonfinite": True},
    ],
    backends=("numpy", "torch_cpu", "torch_cuda", "cupy", "library"),
    fuzz=fuzz_strategy,
    reference="torch.nn.utils.get_total_norm + clip_grad_norm_ / clip_grad_value_ "
    "(foreach and per-tensor paths)",
)

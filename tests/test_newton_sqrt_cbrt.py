"""Pitfalls of Newton square and cube roots that the newton_sqrt_cbrt suite must catch.

Each test runs a deliberately wrong variant through ``verify`` on the case that exposes the
mistake and asserts the verdict fails (or errors) with a diagnosis naming what differs; the
variant with no mistake passes those cases. The variants are NumPy code written here (the
correct path reuses the project's NumPy Newton root and the decimal module). The cases'
seeds are the suite's defaults (not tuned to these tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from harness.registry import Implementation
from harness.spec import Case, ErrorCase
from harness.verify import Verdict, verify
from implementations.newton_sqrt_cbrt.numpy_newton import roots as numpy_roots
from suites.newton_sqrt_cbrt import SUITE, RootOptions, check, exact_root, iroot, ordinal


@dataclass(frozen=True)
class Mistakes:
    """What the variant gets wrong; all False is a correct implementation."""

    start_at_n: bool = False  # Newton from x0 = n, 60 steps: 0/0 at n = 0, unconverged at 1e300
    converged_is_enough: bool = False  # stop when the iterate stops changing, no exact rounding
    no_midpoint_test: bool = False  # the exact-residual step alone (misses near-midpoint roots)
    pow_third: bool = False  # cbrt as |n| ** (1/3): 1/3 is not exactly a third
    repr_decimal: bool = False  # 4 figures of Decimal(repr(r)), not of r's exact decimal
    always_half_even: bool = False  # format(r, '.4g') whatever the option says
    always_half_up: bool = False  # decimal's ROUND_HALF_UP whatever the option says
    no_negative_check: bool = False  # sqrt(-2) answered with NaN
    flush_subnormals: bool = False  # subnormal inputs taken as zero (a GPU's FTZ mode)
    float32: bool = False  # the computation in float32
    in_place: bool = False  # the roots written over n
    empty_2d: bool = False  # an empty input answered with shape (0, 1)
    float32_past_block: int = 0  # > 0: blocks after the first one of this size in float32


def _newton_until_still(m: np.ndarray, k: int) -> np.ndarray:
    """Newton from the frexp-scaled start until no iterate changes (or 2-cycles)."""
    r = np.where(m < 1, 0.8, 1.2)
    for _ in range(60):
        nxt = 0.5 * (r + m / r) if k == 2 else (2.0 * r + m / (r * r)) / 3.0
        if np.array_equal(nxt, r):
            break
        r = nxt
    return r


def _scaled(n: np.ndarray, k: int, root: Callable[[np.ndarray], np.ndarray]) -> Any:
    x = np.abs(n).astype(np.float64)
    regular = np.isfinite(x) & (x != 0)
    m, e = np.frexp(np.where(regular, x, 1.0))
    rem = e % k
    out = np.where(regular, np.ldexp(root(np.ldexp(m, rem)), (e - rem) // k), x)
    return np.copysign(out, n)


def _without_midpoint_test(m: np.ndarray, k: int) -> Any:
    r = _newton_until_still(m, k)
    p = r * r
    c = 134217729.0 * r
    hi = c - (c - r)
    lo = r - hi
    err = ((hi * hi - p) + 2 * hi * lo) + lo * lo
    return r + ((m - p) - err) / (2.0 * r)


def _round4(r: float, mode: str, m: Mistakes) -> float:
    if r == 0 or math.isinf(r):
        return r
    if m.always_half_even:
        return float(format(r, ".4g"))
    up = mode == "half_up" or m.always_half_up
    ctx = Context(prec=4, rounding=ROUND_HALF_UP if up else ROUND_HALF_EVEN)
    return float(ctx.plus(Decimal(repr(r)) if m.repr_decimal else Decimal(r)))


def variant(m: Mistakes) -> Callable[..., Any]:
    def roots(n: Any, opts: RootOptions) -> Any:
        if not m.no_negative_check or opts.root == "cbrt":
            check(n, opts)
        if m.empty_2d and n.size == 0:
            return np.zeros((0, 1), dtype=n.dtype)
        k = 2 if opts.root == "sqrt" else 3
        x = n.astype(np.float32) if m.float32 else n
        if m.flush_subnormals:
            x = np.where(np.abs(x) < np.finfo(x.dtype).tiny, 0.0, x).astype(x.dtype)
        base = RootOptions(root=opts.root)
        with np.errstate(all="ignore"):
            if m.start_at_n:
                r = x.astype(np.float64)
                for _ in range(60):
                    r = 0.5 * (r + x / r) if k == 2 else (2.0 * r + x / (r * r)) / 3.0
            elif m.converged_is_enough:
                r = _scaled(x, k, lambda s: _newton_until_still(s, k))
            elif m.no_midpoint_test:
                r = _scaled(x, k, lambda s: _without_midpoint_test(s, k))
            elif m.pow_third:
                r = np.copysign(np.abs(x.astype(np.float64)) ** (1 / 3), x)
            elif m.no_negative_check:  # NaN where n < 0, as np.sqrt does
                r = np.where(x < 0, np.nan, numpy_roots(np.abs(x), base))
            else:
                r = numpy_roots(x, base)
            if m.float32_past_block and n.size > m.float32_past_block:
                b = m.float32_past_block
                r[b:] = numpy_roots(x[b:].astype(np.float32), base)
        if opts.round4 != "none":
            r = np.array([_round4(float(v), opts.round4, m) for v in r])
        out = np.asarray(r).astype(n.dtype)
        if m.in_place:
            n[...] = out
            return n
        return out

    return roots


def run(name: str, **mistakes: Any) -> Verdict:
    impl = Implementation("newton_sqrt_cbrt", "numpy", "pitfall", variant(Mistakes(**mistakes)))
    found = SUITE.find_case(name)
    assert isinstance(found, Case | ErrorCase)
    return verify(SUITE, impl, found)


CORRECT_ON = [
    "sqrt_near1",
    "cbrt_logu",
    "sqrt_extremes",
    "cbrt_extremes_negative",
    "sqrt_subnormal",
    "sqrt_ties_up",
    "cbrt_ties_even",
    "sqrt_decimal5_up",
    "empty",
    "sqrt_negative",
]


@pytest.mark.parametrize("name", CORRECT_ON)
def test_the_variant_without_mistakes_passes(name: str) -> None:
    v = run(name)
    assert v.status == "pass", v.detail


OFF = "roots off by more than"
# (mistake, value, the case that exposes it, text the diagnosis must contain)
PITFALLS = [
    ("start_at_n", True, "sqrt_extremes", "got nan"),  # 0 / 0 at n = 0
    ("start_at_n", True, "sqrt_logu", OFF),  # 60 halvings do not bring 1e300 down
    # Newton's fixed point in floating point is not the correctly rounded root
    ("converged_is_enough", True, "sqrt_near1", OFF),
    # sqrt(max float) lies within 2^-56 ulp of a midpoint: only an exact test rounds it
    ("no_midpoint_test", True, "sqrt_extremes", OFF),
    ("pow_third", True, "cbrt_logu", OFF),  # ~100s of ulps at 1e+-300
    ("repr_decimal", True, "sqrt_decimal5_up", OFF),  # '1.2345' is a tie, the float is not
    ("always_half_even", True, "sqrt_ties_up", OFF),
    ("always_half_up", True, "cbrt_ties_even", OFF),
    ("no_negative_check", True, "sqrt_negative", "must raise ValueError"),
    ("flush_subnormals", True, "sqrt_subnormal", OFF),
    ("float32", True, "sqrt_near1", OFF),
    ("in_place", True, "sqrt_near1", "modified its input"),
    ("empty_2d", True, "empty", "shape"),
    ("float32_past_block", 256, "sqrt_near1", OFF),
]


@pytest.mark.parametrize(("mistake", "value", "name", "diagnosis"), PITFALLS)
def test_the_suite_catches(mistake: str, value: Any, name: str, diagnosis: str) -> None:
    v = run(name, **{mistake: value})
    assert v.status in ("fail", "error"), f"{mistake} passed {name}"
    assert diagnosis in v.detail, v.detail


def test_blocked_mistake_passes_within_its_first_block() -> None:
    """float32 past the first 256 values is right on a case of fewer values."""
    assert run("sqrt_extremes", float32_past_block=256).status == "pass"


def _numba(n: np.ndarray, opts: RootOptions) -> Any:
    from implementations.newton_sqrt_cbrt.numba_newton import roots

    return roots(n, opts)


def _torch(n: np.ndarray, opts: RootOptions) -> Any:
    import torch

    from implementations.newton_sqrt_cbrt.torch_newton import roots

    return roots(torch.from_numpy(n), opts).numpy()


@pytest.mark.parametrize("roots", [numpy_roots, _numba, _torch], ids=["numpy", "numba", "torch"])
def test_handwritten_cube_roots_are_faithful(roots: Callable[..., Any]) -> None:
    """The suite allows the C library's 4 ulps on cube roots; the Newton roots are held to
    1 ulp (faithful) here, on the log-uniform, near-1 and subnormal cases."""
    for name in ("cbrt_logu", "cbrt_near1", "cbrt_subnormal", "cbrt_f32"):
        found = SUITE.find_case(name)
        assert isinstance(found, Case)
        n = SUITE.inputs_for(found)["n"]
        expected = SUITE.run_oracle({"n": n}, found)
        got = np.asarray(roots(n.copy(), RootOptions(root="cbrt")))
        assert np.abs(ordinal(got) - ordinal(expected)).max() <= 1, name


def test_the_oracle_rounds_correctly() -> None:
    """Each oracle root r satisfies (r-)^k < n < (r+)^k for the midpoints r- and r+ to its
    neighbours (checked in rational arithmetic), on random values and hard cases."""
    rng = np.random.default_rng(5)
    values = [*(10.0 ** rng.uniform(-300, 300, 60)).tolist(), 1 - 2**-53, 2 - 2**-52, 5e-324]
    values.append(float(np.finfo(np.float64).max))
    for k in (2, 3):
        for v in values:
            r = exact_root(v, k, 53)
            lo = (Fraction(r) + Fraction(math.nextafter(r, 0))) / 2
            hi = (Fraction(r) + Fraction(math.nextafter(r, math.inf))) / 2
            assert lo**k < Fraction(v) < hi**k, (k, v, r)
    assert exact_root(8.0, 3, 53) == 2.0 and exact_root(2.0, 2, 24) == float(np.float32(2**0.5))


def test_integer_roots_are_floors() -> None:
    for big in [1, 7, 8, 9, 26, 27, 28, 10**30 - 1, 10**30, 2**200 + 1]:
        r = iroot(big, 3)
        assert r**3 <= big < (r + 1) ** 3


# ---- integer square roots and '.4g' strings ---------------------------------------------------


def run_fn(name: str, fn: Callable[..., Any]) -> Verdict:
    impl = Implementation("newton_sqrt_cbrt", "numpy", "pitfall", fn)
    found = SUITE.find_case(name)
    assert isinstance(found, Case | ErrorCase)
    return verify(SUITE, impl, found)


def _isqrt_right(n: Any, opts: RootOptions) -> Any:
    check(n, opts)
    return np.array([math.isqrt(v) for v in n.tolist()], dtype=np.int64)


def _isqrt_float(n: Any, opts: RootOptions) -> Any:
    """int(math.sqrt(n)): float64(n) and its root round, so k^2 - 1 past 2^52 gives k."""
    check(n, opts)
    return np.sqrt(n.astype(np.float64)).astype(np.int64)


def _isqrt_square_overflows(n: Any, opts: RootOptions) -> Any:
    """The float root corrected by comparing (r + 1)^2 with n in int64: (r + 1)^2 wraps
    negative for r = 3037000499 (n near 2^63), so r is raised past the root."""
    check(n, opts)
    r = np.minimum(np.sqrt(n.astype(np.float64)), 3037000499.0).astype(np.int64)
    with np.errstate(over="ignore"):
        r = np.where(r * r > n, r - 1, r)
        return np.where((r + 1) * (r + 1) <= n, r + 1, r)


def _isqrt_no_negative_check(n: Any, opts: RootOptions) -> Any:
    return np.array([math.isqrt(max(v, 0)) for v in n.tolist()], dtype=np.int64)


def _strings(mode: str) -> Callable[..., Any]:
    """'.4g' strings of the correctly rounded roots; mode 'right': of the round4 value;
    'format_first': format(r, '.4g') of the root whatever round4 says (ties to even);
    'floats': the rounded floats, not strings."""

    def roots(n: Any, opts: RootOptions) -> Any:
        check(n, opts)
        exact = [exact_root(abs(v), 2 if opts.root == "sqrt" else 3, 53) for v in n.tolist()]
        if mode == "format_first" or opts.round4 == "none":
            vals = [float(np.asarray(r).astype(n.dtype)) for r in exact]
        else:
            up = opts.round4 == "half_up"
            ctx = Context(prec=4, rounding=ROUND_HALF_UP if up else ROUND_HALF_EVEN)
            vals = [float(ctx.plus(Decimal(float(np.asarray(r).astype(n.dtype))))) for r in exact]
        vals = [math.copysign(r, v) for r, v in zip(vals, n.tolist(), strict=True)]
        if mode == "floats":
            return np.array(vals, dtype=n.dtype)
        return np.array([format(r, ".4g") for r in vals], dtype=np.str_)

    return roots


@pytest.mark.parametrize("name", ["isqrt", "isqrt_hard", "isqrt_small", "isqrt_empty"])
def test_exact_integer_roots_pass(name: str) -> None:
    assert run_fn(name, _isqrt_right).status == "pass"


@pytest.mark.parametrize("name", ["sqrt_string4g_ties_up", "sqrt_string4g_ties_even"])
def test_strings_of_the_rounded_roots_pass(name: str) -> None:
    v = run_fn(name, _strings("right"))
    assert v.status == "pass", v.detail


ISQRT_PITFALLS = [
    (_isqrt_float, "isqrt_hard", "roots differ"),
    (_isqrt_float, "isqrt", "roots differ"),  # random k^2 - 1 past 2^52 as well
    (_isqrt_square_overflows, "isqrt_hard", "roots differ"),
    (_isqrt_no_negative_check, "isqrt_negative", "must raise ValueError"),
    (_strings("format_first"), "sqrt_string4g_ties_up", "roots differ"),
    (_strings("floats"), "sqrt_string4g", "must hold str"),
]


@pytest.mark.parametrize(("fn", "name", "diagnosis"), ISQRT_PITFALLS)
def test_the_suite_catches_integer_and_string_mistakes(
    fn: Callable[..., Any], name: str, diagnosis: str
) -> None:
    v = run_fn(name, fn)
    assert v.status in ("fail", "error"), f"{fn.__name__} passed {name}"
    assert diagnosis in v.detail, v.detail


def test_isqrt_of_python_ints_past_int64() -> None:
    """A plain list may hold any Python ints: the Python Newton and math.isqrt agree past
    2^53 and past int64, where int(math.sqrt(n)) is off."""
    from implementations.newton_sqrt_cbrt.library_math_decimal import roots as math_roots
    from implementations.newton_sqrt_cbrt.python_newton import roots as python_roots

    k = 2**52 + 1
    values = [k * k - 1, k * k, k * k + 1, (2**64 + 3) ** 2 - 1, 10**40, 2**200 + 1, 0, 1, 3]
    assert int(math.sqrt(k * k - 1)) != k - 1  # the pitfall these values expose
    want = [math.isqrt(v) for v in values]
    opts = RootOptions(root="isqrt")
    assert python_roots(list(values), opts) == want
    assert math_roots(list(values), opts) == want
    with pytest.raises(ValueError, match="negative"):
        python_roots([4, -1], opts)
    with pytest.raises(TypeError):
        python_roots([4.0], opts)


def test_isqrt_takes_no_rounding_or_strings() -> None:
    with pytest.raises(ValueError, match="isqrt"):
        RootOptions(root="isqrt", round4="half_up")
    with pytest.raises(ValueError, match="isqrt"):
        RootOptions(root="isqrt", output="string4g")


def test_float_roots_refuse_integer_inputs() -> None:
    with pytest.raises(TypeError, match="floats"):
        check(np.arange(3), RootOptions())

"""adaptive_avg_pool_area_resize: the suite catches each bin-rule mistake and the swap of the
two conventions, and its bins and oracle agree with F.adaptive_avg_pool2d and cv2 INTER_AREA.

Every wrong variant is the separable band average (NumPy, working dtype) with one wrong
per-axis weight matrix; verify must flag it, while the right matrices pass the same case.
Inputs are the suite's seeded cases; nothing is random here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, case_inputs, oracle_output, verify
from suites.adaptive_avg_pool_area_resize import SUITE, AreaOptions, bins, check, weights

Matrix = Callable[[int, int, str], np.ndarray]


def _average(x: Any, out_h: int, out_w: int, opts: AreaOptions, matrix: Matrix) -> Any:
    dtype = check(x, out_h, out_w, opts)
    ah = matrix(x.shape[2], out_h, opts.method).astype(dtype)
    aw = matrix(x.shape[3], out_w, opts.method).astype(dtype)
    return np.einsum("ih,nchw,jw->ncij", ah, np.asarray(x, dtype=dtype), aw)


def _uniform(starts: list[int], ends: list[int], n_in: int) -> np.ndarray:
    a = np.zeros((len(starts), n_in))
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        s, e = max(0, min(s, n_in - 1)), max(min(e, n_in), min(s, n_in - 1) + 1)
        a[i, s:e] = 1.0 / (e - s)
    return a


def run(matrix: Matrix, case: str) -> Verdict:
    def fn(x: Any, out_h: int, out_w: int, opts: AreaOptions) -> Any:
        return _average(x, out_h, out_w, opts, matrix)

    fn.__name__ = getattr(matrix, "__name__", "variant")
    return verify(
        SUITE, Implementation(SUITE.algorithm, "numpy", fn.__name__, fn), SUITE.find_case(case)
    )


def assert_caught(matrix: Matrix, case: str, *words: str) -> Verdict:
    assert run(weights, case).status == "pass", f"the right matrices fail {case}"
    v = run(matrix, case)
    assert v.status in ("fail", "error"), f"{matrix.__name__} passes {case}"
    for word in words:
        assert word in v.detail, v.detail
    return v


def rounded_bins(n_in: int, n_out: int, method: str) -> np.ndarray:
    """Bin edges rounded to nearest instead of floor (start) / ceil (end)."""
    edges = [round(i * n_in / n_out) for i in range(n_out + 1)]
    return _uniform(edges[:-1], edges[1:], n_in)


def floor_floor_bins(n_in: int, n_out: int, method: str) -> np.ndarray:
    """end = floor((i + 1)·In/Out): a partition, the overlap of torch's bins lost."""
    edges = [i * n_in // n_out for i in range(n_out + 1)]
    return _uniform(edges[:-1], edges[1:], n_in)


def fixed_stride_kernel(n_in: int, n_out: int, method: str) -> np.ndarray:
    """Adaptive pooling as avg_pool with stride = In // Out, kernel = In - (Out - 1)·stride
    (a common port): right for integer factors only."""
    s = max(n_in // n_out, 1)
    k = n_in - (n_out - 1) * s
    return _uniform([i * s for i in range(n_out)], [i * s + k for i in range(n_out)], n_in)


def area_for_adaptive(n_in: int, n_out: int, method: str) -> np.ndarray:
    """The other convention: INTER_AREA's fractional weights where torch's bins are asked."""
    return weights(n_in, n_out, "area" if method == "adaptive" else "adaptive")


def test_bins_rounded_instead_of_floor_and_ceil() -> None:
    assert_caught(rounded_bins, "down_f32", "elements differ")
    assert_caught(rounded_bins, "up_repeats", "elements differ")


def test_bins_without_their_overlap() -> None:
    assert run(floor_floor_bins, "integer_factor").status == "pass"  # a divisor: no overlap
    assert_caught(floor_floor_bins, "down_f32", "elements differ")


def test_fixed_stride_and_kernel_port() -> None:
    assert run(fixed_stride_kernel, "integer_factor").status == "pass"
    assert_caught(fixed_stride_kernel, "down_f64", "elements differ")


def test_the_two_conventions_differ_off_integer_factors_only() -> None:
    assert run(area_for_adaptive, "integer_factor").status == "pass"
    assert run(area_for_adaptive, "integer_factor_area_f64").status == "pass"
    assert_caught(area_for_adaptive, "down_f32", "elements differ")
    assert_caught(area_for_adaptive, "down_area_f64", "elements differ")


def test_float32_arithmetic_on_float64_inputs() -> None:
    def float32_sums(x: Any, out_h: int, out_w: int, opts: AreaOptions) -> Any:
        return _average(x.astype(np.float32), out_h, out_w, opts, weights).astype(np.float64)

    impl = Implementation(SUITE.algorithm, "numpy", "float32_sums", float32_sums)
    assert verify(SUITE, impl, SUITE.find_case("down_area_f64")).status == "fail"


def test_wrong_shape_on_empty_batch() -> None:
    def flat(x: Any, out_h: int, out_w: int, opts: AreaOptions) -> Any:
        return np.zeros((0,), dtype=x.dtype)

    v = verify(
        SUITE,
        Implementation(SUITE.algorithm, "numpy", "flat", flat),
        SUITE.find_case("empty_batch"),
    )
    assert v.status == "fail" and "shape" in v.detail


def test_identity_output_must_not_alias_the_input() -> None:
    def same(x: Any, out_h: int, out_w: int, opts: AreaOptions) -> Any:
        return x

    v = verify(
        SUITE, Implementation(SUITE.algorithm, "numpy", "same", same), SUITE.find_case("identity")
    )
    assert v.status == "fail" and "shares memory" in v.detail


def test_tiled_loop_wrong_past_its_first_tile() -> None:
    def tiled(n_in: int, n_out: int, method: str) -> np.ndarray:
        a = weights(n_in, n_out, method)
        if n_out > 64:  # columns past the first 64-output tile read the first tile's bins
            a[64:] = np.roll(a[64:], -(64 * n_in // n_out), axis=1)
        return a

    assert run(tiled, "down_f32").status == "pass"
    assert_caught(tiled, "multi_block", "elements differ")


# ---- the bins and the oracle against the libraries --------------------------------------------


def test_bins_match_torch_on_a_grid() -> None:
    """Every In, Out in 1..16: each output of adaptive_avg_pool1d over one-hot inputs is 1 /
    bin length exactly on the bin (torch's own start/end rule)."""
    for n_in in range(1, 17):
        eye = torch.eye(n_in, dtype=torch.float64)[None]  # (1, In, In): row j one-hot at j
        for n_out in range(1, 17):
            got = F.adaptive_avg_pool1d(eye, n_out)[0].numpy().T  # (Out, In)
            np.testing.assert_allclose(got, weights(n_in, n_out, "adaptive"), atol=1e-15)
            assert all(e > s for s, e in zip(*bins(n_in, n_out), strict=True))


@pytest.mark.parametrize("name", ["down_f64", "up_repeats", "global_average", "non_square_mixed"])
def test_oracle_matches_torch(name: str) -> None:
    c = SUITE.find_case(name)
    assert isinstance(c, Case)
    inp = case_inputs(SUITE, c)
    want = F.adaptive_avg_pool2d(
        torch.tensor(np.asarray(inp["x"], dtype=np.float64)), (inp["out_h"], inp["out_w"])
    ).numpy()
    tol = 1e-12 if c.dtype == "float64" else 1e-6
    np.testing.assert_allclose(oracle_output(SUITE, c), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["integer_factor_area_f64", "down_area_f64", "one_row_area"])
def test_oracle_matches_cv2_inter_area(name: str) -> None:
    """Exact for integer factors; OpenCV's float32 area weights leave ~1e-7 otherwise."""
    c = SUITE.find_case(name)
    assert isinstance(c, Case)
    inp = case_inputs(SUITE, c)
    x = np.asarray(inp["x"], dtype=np.float64)
    got = np.stack(
        [
            cv2.resize(
                np.ascontiguousarray(p), (inp["out_w"], inp["out_h"]), interpolation=cv2.INTER_AREA
            )
            for p in x.reshape(-1, *x.shape[2:])
        ]
    )
    got = got.reshape(*x.shape[:2], inp["out_h"], inp["out_w"])
    tol = 1e-15 if name.startswith("integer") else 5e-7
    np.testing.assert_allclose(
        np.asarray(oracle_output(SUITE, c), dtype=np.float64), got, rtol=0, atol=tol
    )

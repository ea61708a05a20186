"""polygon_iou: the suite catches each classic slip of polygon intersection.

Each wrong variant is a correct computation (the oracle, the batched candidate kernel or
shapely) with one plausible mistake; verify must flag it on the case that exposes it, while
the same code without the mistake passes. Inputs come only from the suite's seeded cases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import implementations.polygon_iou.xp_candidates as candidates
from harness.registry import Implementation
from harness.spec import Case, ErrorCase
from harness.verify import Verdict, case_inputs, verify
from suites.polygon_iou import SUITE, PolygonIouOptions, convex_overlap, polygon_iou, signed_area

Fn = Callable[[Any, Any, PolygonIouOptions], Any]


def find(name: str) -> Case | ErrorCase:
    return SUITE.find_case(name)


def run(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("polygon_iou", "numpy", fn.__name__, fn)
    case = find(case_name)
    return verify(SUITE, impl, case)


def named(name: str) -> Callable[[Fn], Fn]:
    def wrap(fn: Fn) -> Fn:
        fn.__name__ = name
        return fn

    return wrap


def out_dtype(a: Any, b: Any) -> Any:
    return np.result_type(a, b)


def test_the_oracle_agrees_with_shapely() -> None:
    import shapely

    for name in ("star_f64", "star32_f64", "convex_f64", "cw_and_closed", "nested",
                 "collinear_duplicated_star"):  # fmt: skip
        case = find(name)
        assert isinstance(case, Case)
        inputs = case_inputs(SUITE, case)
        a, b = (shapely.polygons(np.asarray(inputs[k], np.float64)) for k in inputs)
        inter = shapely.area(shapely.intersection(a, b))
        want = inter / (shapely.area(a) + shapely.area(b) - inter)
        got = SUITE.run_oracle(inputs, case)
        assert (got > 0.01).sum() >= len(got) // 3, name  # overlapping pairs, not zeros
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=name)


@named("shapely_unchecked")
def unchecked(a: Any, b: Any, opts: PolygonIouOptions) -> Any:
    """shapely without the suite's validation: GEOS measures bow ties without complaint."""
    import shapely

    pa, pb = (
        shapely.polygons(np.asarray(a, np.float64)),
        shapely.polygons(np.asarray(b, np.float64)),
    )
    inter = shapely.area(shapely.intersection(pa, pb))
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / (shapely.area(pa) + shapely.area(pb) - inter)
    return np.nan_to_num(iou).astype(out_dtype(a, b))


def test_self_intersecting_input_must_raise() -> None:
    assert run(unchecked, "star_f64").status == "pass"
    v = run(unchecked, "polygons_a:broken_rule@1")
    assert v.status == "fail", v.detail


def test_a_convex_clipper_on_simple_polygons_is_caught() -> None:
    """Clipping a non-convex polygon as if it were convex gives the wrong area."""

    @named("convex_kernel_on_all")
    def convex_on_all(a: Any, b: Any, opts: PolygonIouOptions) -> Any:
        pa, pb = (np.asarray(x, np.float64) for x in (a, b))
        origin = pa.mean(axis=1, keepdims=True)
        pa, pb = pa - origin, pb - origin
        area_a, area_b = signed_area(np, pa), signed_area(np, pb)
        pa = np.where((area_a < 0)[:, None, None], pa[:, ::-1], pa)
        pb = np.where((area_b < 0)[:, None, None], pb[:, ::-1], pb)
        inter = convex_overlap(pa, pb)
        union = np.abs(area_a) + np.abs(area_b) - inter
        return (inter / union).astype(out_dtype(a, b))

    assert run(convex_on_all, "convex_as_simple_f64").status == "pass"
    v = run(convex_on_all, "star_f64")
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_unsigned_fan_triangles_are_caught() -> None:
    """A fan of a non-convex polygon has clockwise triangles: their overlaps must be
    subtracted, not added."""
    import suites.polygon_iou as suite_module

    real = suite_module.fan

    @named("unsigned_fan")
    def unsigned(a: Any, b: Any, opts: PolygonIouOptions) -> Any:
        def fan_abs(x: Any) -> tuple[Any, Any]:
            tri, sign = real(x)
            return tri, np.abs(sign)

        suite_module.fan = fan_abs
        try:
            return polygon_iou(a, b, opts).astype(out_dtype(a, b))
        finally:
            suite_module.fan = real

    assert run(unsigned, "convex_as_simple_f64").status == "pass"
    v = run(unsigned, "star_f64")
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_clockwise_rings_need_absolute_areas() -> None:
    @named("signed_areas")
    def signed(a: Any, b: Any, opts: PolygonIouOptions) -> Any:
        pa, pb = np.asarray(a, np.float64), np.asarray(b, np.float64)
        iou = polygon_iou(pa, pb, opts)
        inter = iou * (np.abs(signed_area(np, pa)) + np.abs(signed_area(np, pb))) / (1 + iou)
        union = signed_area(np, pa) + signed_area(np, pb) - inter  # CW rings: negative
        return (inter / union).astype(out_dtype(a, b))

    assert run(signed, "star_f64").status == "pass"
    v = run(signed, "cw_and_closed")
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_a_shoelace_without_the_closing_edge_is_caught() -> None:
    @named("open_shoelace")
    def open_ring(a: Any, b: Any, opts: PolygonIouOptions) -> Any:
        pa, pb = np.asarray(a, np.float64), np.asarray(b, np.float64)
        iou = polygon_iou(pa, pb, opts)
        full = np.abs(signed_area(np, pa)) + np.abs(signed_area(np, pb))
        inter = iou * full / (1 + iou)

        def area(x: Any) -> Any:  # sum over i < K - 1 only: the edge back to x0 is lost
            return np.abs(np.sum(x[:, :-1, 0] * x[:, 1:, 1] - x[:, 1:, 0] * x[:, :-1, 1], 1) / 2)

        return (inter / (area(pa) + area(pb) - inter)).astype(out_dtype(a, b))

    v = run(open_ring, "convex_f64")
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_inside_tests_without_slack_lose_shared_vertices() -> None:
    impl = named("candidates")(candidates.polygon_iou)
    saved = candidates.SLACK_EPS
    try:
        assert run(impl, "identical").status == "pass"
        candidates.SLACK_EPS = -1.0
        v = run(impl, "identical")
        assert v.status == "fail" and "expected 1.0" in v.detail, v.detail
    finally:
        candidates.SLACK_EPS = saved


def test_uncentred_float32_far_from_the_origin_is_caught() -> None:
    """The shoelace and the crossings taken on raw float32 coordinates near 1e4 cancel
    away about four digits; correct code subtracts a reference point first."""

    @named("uncentred_f32")
    def uncentred(a: Any, b: Any, opts: PolygonIouOptions) -> Any:
        p, q = np.asarray(a), np.asarray(b)
        area_a, area_b = signed_area(np, p), signed_area(np, q)
        p = np.where((area_a < 0)[:, None, None], p[:, ::-1], p)
        q = np.where((area_b < 0)[:, None, None], q[:, ::-1], q)
        inter = candidates._overlap(np, p, q, 8 * float(np.finfo(p.dtype).eps))
        return inter / (np.abs(area_a) + np.abs(area_b) - inter)

    assert run(uncentred, "quads_f32").status == "pass"
    v = run(uncentred, "far_coordinates_f32")
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    @named("in_float32")
    def low(a: Any, b: Any, opts: PolygonIouOptions) -> Any:
        return candidates.polygon_iou(np.float32(a), np.float32(b), opts).astype(out_dtype(a, b))

    assert run(low, "convex_f32").status == "pass"
    for name in ("convex_f64", "star_f64", "identical"):
        assert run(low, name).status == "fail", name


def test_wrong_shape_on_empty_input_is_caught() -> None:
    @named("column_when_empty")
    def column(a: Any, b: Any, opts: PolygonIouOptions) -> Any:
        out = polygon_iou(a, b, opts).astype(out_dtype(a, b))
        return out.reshape(-1, 1) if out.size == 0 else out

    assert run(column, "convex_f32").status == "pass"
    v = run(column, "empty")
    assert v.status == "fail" and "shape" in v.detail, v.detail


def test_a_blocked_implementation_wrong_past_its_first_block_is_caught() -> None:
    """Pairs in blocks of 256, every block after the first fed the first block's b again."""

    @named("blocked")
    def blocked(a: Any, b: Any, opts: PolygonIouOptions) -> Any:
        parts = [polygon_iou(a[r : r + 256], b[: len(a[r : r + 256])], opts)
                 for r in range(0, len(a), 256)]  # fmt: skip
        out = np.concatenate(parts) if parts else polygon_iou(a, b, opts)
        return out.astype(out_dtype(a, b))

    assert run(blocked, "convex_f32").status == "pass"
    assert run(blocked, "multi_block").status == "fail"

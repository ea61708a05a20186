"""rotated_box_iou: the suite catches each classic slip of rotated-box intersection.

Each wrong variant is a correct computation (the oracle, the candidate-vertex kernel or
shapely) with one plausible mistake; verify must flag it on the case that exposes it, while
the same code without the mistake passes. Inputs come only from the suite's seeded cases.
The oracle itself is checked against shapely (GEOS) and OpenCV's
rotatedRectangleIntersection, its independent references.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import implementations.rotated_box_iou.xp_candidates as candidates
from harness.registry import Implementation
from harness.spec import Case
from harness.verify import Verdict, case_inputs, verify
from suites.rotated_box_iou import SUITE, RotatedIouOptions, corners, rotated_box_iou

Fn = Callable[[Any, Any, RotatedIouOptions], Any]


def find(name: str) -> Case:
    case = SUITE.find_case(name)
    assert isinstance(case, Case)
    return case


def run(fn: Fn, case_name: str) -> Verdict:
    impl = Implementation("rotated_box_iou", "numpy", fn.__name__, fn)
    return verify(SUITE, impl, find(case_name))


def named(name: str) -> Callable[[Fn], Fn]:
    def wrap(fn: Fn) -> Fn:
        fn.__name__ = name
        return fn

    return wrap


def in_dtype(fn: Fn) -> Fn:
    """The oracle-shaped answer cast to the input dtype (the suite's output contract)."""

    def cast(a: Any, b: Any, opts: RotatedIouOptions) -> Any:
        return np.asarray(fn(a, b, opts), dtype=np.result_type(a, b))

    cast.__name__ = fn.__name__
    return cast


def test_the_oracle_agrees_with_shapely_and_opencv() -> None:
    """GEOS in float64 to 1e-12 (far coordinates excepted: GEOS keeps fewer digits there),
    OpenCV (the cv2 library reference) to 1e-3."""
    import shapely

    for name in ("random_f64", "identical_f64", "axis_aligned_shared_edges", "thin_1000_to_1",
                 "containment"):  # fmt: skip
        case = find(name)
        inputs = case_inputs(SUITE, case)
        a, b = (np.asarray(inputs[k], dtype=np.float64) for k in ("boxes_a", "boxes_b"))
        expected = SUITE.run_oracle(inputs, case)
        polys = [shapely.polygons(corners(x, np.zeros((len(x), 2)))) for x in (a, b)]
        inter = shapely.area(shapely.intersection(polys[0][:, None], polys[1][None, :]))
        union = (a[:, 2] * a[:, 3])[:, None] + b[:, 2] * b[:, 3] - inter
        np.testing.assert_allclose(expected, inter / union, rtol=0, atol=1e-12, err_msg=name)
    pytest.importorskip("cv2")
    from implementations.rotated_box_iou.library_cv2 import rotated_box_iou as opencv

    # its expected failures (float32, vertex merging) leave its option mapping unchecked by
    # verify on y_toward_x (float64 only): checked here, at the merging tolerance
    for name in ("random_f32", "y_toward_x_f64"):
        case = find(name)
        inputs = case_inputs(SUITE, case)
        expected = SUITE.run_oracle(inputs, case)
        got = opencv(inputs["boxes_a"], inputs["boxes_b"], RotatedIouOptions.build(case.options))
        assert (expected > 0).sum() > 50  # the comparison is not vacuous
        # OpenCV merges region vertices within sqrt(1e-6 x max box area) (<= 0.02 for sides
        # < 20), cutting a sliver: IoU 7.9e-5 off on random_f32, at most 5.9e-4 on the
        # suite's random cases (multi_block); float32 adds ~1e-7. 1e-3 sits above both.
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-3, err_msg=name)
    wrong_sense = SUITE.run_oracle(inputs, find("degrees_f64"))  # same inputs, x_toward_y
    assert np.abs(wrong_sense - expected).max() > 1e-2  # the rotation sense shows at 1e-3


def test_the_same_box_written_three_ways_has_iou_one() -> None:
    """(w, h, theta) == (h, w, theta +- 90 deg) == (w, h, theta + 180 deg)."""
    case = find("reparametrised")
    iou = SUITE.run_oracle(case_inputs(SUITE, case), case)
    np.testing.assert_allclose(np.diagonal(iou), 1.0, rtol=0, atol=1e-12)


@named("correct")
def oracle(a: Any, b: Any, opts: RotatedIouOptions) -> Any:
    return in_dtype(rotated_box_iou)(a, b, opts)


def test_degrees_read_as_radians_are_caught() -> None:
    @named("ignores_angle_unit")
    def radians_always(a: Any, b: Any, opts: RotatedIouOptions) -> Any:
        return oracle(a, b, RotatedIouOptions(zero_union=opts.zero_union))

    assert run(radians_always, "random_f64").status == "pass"
    v = run(radians_always, "degrees_f64")
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def _mirror(boxes: Any) -> Any:
    out = np.array(boxes, copy=True)
    out[:, 1] = -out[:, 1]  # y -> -y maps the R(-theta) box onto the R(theta) box
    return out


def test_the_rotation_sense_is_a_convention_and_a_mirror_undoes_it() -> None:
    """R(-theta) (detectron2) on boxes equals R(theta) (OpenCV) on their mirror images
    (cy negated, theta kept: mirroring turns R(-theta) into R(theta)), and differs from
    R(theta) on the boxes themselves: an implementation that ignores the flag is caught."""
    case = find("y_toward_x_f64")
    inputs = case_inputs(SUITE, case)
    opts = RotatedIouOptions.build(case.options)
    same = RotatedIouOptions(angle_unit=opts.angle_unit)
    mirrored = rotated_box_iou(_mirror(inputs["boxes_a"]), _mirror(inputs["boxes_b"]), same)
    np.testing.assert_allclose(SUITE.run_oracle(inputs, case), mirrored, rtol=0, atol=1e-12)

    @named("ignores_rotation")
    def ignores(a: Any, b: Any, opts: RotatedIouOptions) -> Any:
        return oracle(a, b, RotatedIouOptions(angle_unit=opts.angle_unit))

    assert run(ignores, "degrees_f64").status == "pass"
    v = run(ignores, "y_toward_x_f64")
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


@pytest.fixture
def slack() -> Iterator[Callable[[float], None]]:
    """Run the candidate-vertex kernel with another slack on its inside/on-edge tests."""
    saved = candidates.SLACK_EPS

    def set_slack(eps: float) -> None:
        candidates.SLACK_EPS = eps

    yield set_slack
    candidates.SLACK_EPS = saved


def test_inside_tests_without_slack_lose_shared_corners(
    slack: Callable[[float], None],
) -> None:
    """The classic fast-kernel failure: corners lying on the other box's edge (shared edges,
    the same box written another way, identical boxes) must count as inside. Exact
    comparisons drop some of them; strict ones drop all of them for identical boxes (IoU
    0 instead of 1)."""
    impl = named("candidates")(candidates.rotated_box_iou)
    for name in ("identical_f32", "reparametrised", "axis_aligned_shared_edges"):
        assert run(impl, name).status == "pass", name
    slack(0.0)
    for name in ("reparametrised", "axis_aligned_shared_edges"):
        assert run(impl, name).status == "fail", name
    slack(-1.0)
    v = run(impl, "identical_f64")
    assert v.status == "fail" and "expected 1.0" in v.detail, v.detail


def test_corners_from_raw_far_coordinates_in_float32_are_caught() -> None:
    """Corners computed as cx + R (w/2, h/2) in float32 at cx ~ 1e5 are off by ~4e-3 (the
    float32 spacing there): correct code centres each pair first."""
    import shapely

    def polygon_iou_of_corners(work: Any) -> Fn:
        def fn(a: Any, b: Any, opts: RotatedIouOptions) -> Any:
            polys = []
            for x in (a, b):
                x = np.asarray(x, dtype=work)
                c, s = np.cos(x[:, 4:5]), np.sin(x[:, 4:5])
                hx = np.asarray([-0.5, 0.5, 0.5, -0.5], dtype=work) * x[:, 2:3]
                hy = np.asarray([-0.5, -0.5, 0.5, 0.5], dtype=work) * x[:, 3:4]
                xy = np.stack([x[:, 0:1] + c * hx - s * hy, x[:, 1:2] + s * hx + c * hy], -1)
                polys.append(shapely.polygons(xy.astype(np.float64)))
            inter = shapely.area(shapely.intersection(polys[0][:, None], polys[1][None, :]))
            aa, bb = np.asarray(a, np.float64), np.asarray(b, np.float64)
            union = (aa[:, 2] * aa[:, 3])[:, None] + bb[:, 2] * bb[:, 3] - inter
            return (inter / union).astype(np.result_type(a, b))

        fn.__name__ = f"raw_corners_{np.dtype(work).name}"
        return fn

    assert run(polygon_iou_of_corners(np.float64), "far_coordinates_f32").status == "pass"
    assert run(polygon_iou_of_corners(np.float32), "random_f32").status == "pass"
    v = run(polygon_iou_of_corners(np.float32), "far_coordinates_f32")
    assert v.status == "fail" and "elements differ" in v.detail, v.detail


def test_a_circumradius_of_the_longer_half_side_is_caught() -> None:
    """A pre-filter must use the half diagonal: with max(w, h)/2 the corners that poke out
    of that circle are missed and overlapping pairs come out 0."""

    @named("short_radius")
    def short(a: Any, b: Any, opts: RotatedIouOptions) -> Any:
        iou = oracle(a, b, opts)
        ra, rb = np.max(a[:, 2:4], axis=1) / 2, np.max(b[:, 2:4], axis=1) / 2
        gap = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
        return np.where(gap > ra[:, None] + rb[None, :], 0, iou).astype(iou.dtype)

    v = run(short, "multi_block")
    assert v.status == "fail" and "expected" in v.detail, v.detail


def test_zero_union_flag_and_zero_area_pairs() -> None:
    @named("always_zero")
    def zero(a: Any, b: Any, opts: RotatedIouOptions) -> Any:
        return oracle(a, b, RotatedIouOptions(angle_unit=opts.angle_unit))

    assert run(oracle, "zero_size").status == "pass"
    assert run(zero, "zero_size").status == "pass"
    v = run(zero, "nan_union_f64")
    assert v.status == "fail" and "numbers where the oracle has NaN" in v.detail, v.detail


def test_float32_arithmetic_on_float64_inputs_is_caught() -> None:
    @named("in_float32")
    def low(a: Any, b: Any, opts: RotatedIouOptions) -> Any:
        out = rotated_box_iou(np.float32(a), np.float32(b), opts).astype(np.float32)
        return out.astype(np.result_type(a, b))

    assert run(low, "random_f32").status == "pass"
    for name in ("random_f64", "identical_f64", "far_coordinates_f64"):
        assert run(low, name).status == "fail", name


def test_wrong_shape_on_empty_input_is_caught() -> None:
    @named("flat_when_empty")
    def flat(a: Any, b: Any, opts: RotatedIouOptions) -> Any:
        out = oracle(a, b, opts)
        return out.reshape(-1) if out.size == 0 else out

    assert run(flat, "random_f32").status == "pass"
    v = run(flat, "empty_b")
    assert v.status == "fail" and "shape" in v.detail, v.detail


def test_a_blocked_implementation_wrong_past_its_first_block_is_caught() -> None:
    """Rows in blocks of 256, every block after the first fed box a's first block again."""

    @named("blocked")
    def blocked(a: Any, b: Any, opts: RotatedIouOptions) -> Any:
        parts = [oracle(a[: len(a[r : r + 256])], b, opts) for r in range(0, len(a), 256)]
        return np.concatenate(parts, axis=0) if parts else oracle(a, b, opts)

    assert run(blocked, "random_f32").status == "pass"
    assert run(blocked, "multi_block").status == "fail"

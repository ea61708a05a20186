"""Tests of harness.durations: test time summed per algorithm and the slowest printed."""

from __future__ import annotations

import pytest

import harness.durations
from harness.durations import algorithm_of, known_algorithms, summary

KNOWN = {"toy_scale", "box_iou", "softmax"}


@pytest.mark.parametrize(
    ("nodeid", "algorithm"),
    [
        ("tests/test_implementations.py::test_cell[box_iou/numba/prange/random_f64]", "box_iou"),
        ("tests/test_implementations.py::test_cell[softmax.backward/numpy/x/tiny]", "softmax"),
        ("tests/test_conformance.py::test_suite_is_complete[toy_scale]", "toy_scale"),
        ("tests/test_toy_scale.py::test_pitfall", "toy_scale"),  # the file names it
        ("tests/test_toy_scale.py::test_x[box_iou]", "toy_scale"),  # the file wins
        ("tests/test_cli.py::test_list[args0-box_iou]", "box_iou"),
        ("tests/test_cli.py::test_list", None),
        ("tests/test_cli.py::test_list[box]", None),  # a prefix is not a name
        ("tests/harness/test_args.py::test_x[0.5-toy]", None),
    ],
)
def test_a_test_belongs_to_the_algorithm_its_file_or_id_names(
    nodeid: str, algorithm: str | None
) -> None:
    assert algorithm_of(nodeid, KNOWN) == algorithm


def test_the_project_algorithms_are_its_suite_modules() -> None:
    known = known_algorithms()
    assert "box_iou_axis_aligned" in known and "__init__" not in known


def test_summary_ranks_by_cpu_time_and_flags_what_exceeds_the_budget() -> None:
    seconds = {"a": (30.0, 20.0), "b": (50.0, 10.0), "c": (1.0, 0.5), "d": (2.0, 1.0)}
    lines = summary(seconds, workers=2, unattributed=7.0, budget=8.0, shown=3)
    assert lines[0].startswith("slowest algorithms") and "/ 2 workers" in lines[0]
    assert [line.split()[0] for line in lines[1:4]] == ["a", "b", "d"]  # CPU 20, 10, 1
    assert lines[1].endswith("OVER BUDGET") and "share   10.0 s" in lines[1]
    assert not lines[2].endswith("OVER BUDGET")  # CPU 10 s over 2 workers: 5 s
    assert "(1 more algorithms: CPU 0.5 s)" in lines[4]
    assert "over the 8 s budget: a" in lines[5]
    assert lines[6].endswith("wall 7.0 s")


def test_the_cpu_time_travels_with_the_report_to_the_xdist_controller(
    pytestconfig: pytest.Config,
) -> None:
    report = pytest.TestReport("t.py::t", ("t.py", 1, "t"), {}, "passed", None, "call")
    report.cpu_seconds = 1.25  # type: ignore[attr-defined]
    hook = pytestconfig.hook
    data = hook.pytest_report_to_serializable(config=pytestconfig, report=report)
    back = hook.pytest_report_from_serializable(config=pytestconfig, data=data)
    assert back.cpu_seconds == 1.25


def test_a_session_prints_the_time_per_algorithm(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness.durations, "known_algorithms", lambda: frozenset(KNOWN))
    pytester.makepyfile(
        test_toy_scale="def test_spin():\n    sum(range(200_000))\n",
        test_other=(
            "import pytest\n"
            "@pytest.mark.parametrize('cell', ['box_iou/numpy/v/c', 'softmax.backward/x'])\n"
            "def test_cell(cell):\n    pass\n"
            "def test_plain():\n    pass\n"
        ),
    )
    result = pytester.runpytest_inprocess("-p", "harness.durations", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    out = result.stdout.str()
    assert "time per algorithm" in out and "slowest algorithms" in out
    for name in KNOWN:
        result.stdout.re_match_lines([rf"\s+{name}\s+wall\s+[0-9.]+ s\s+CPU\s+[0-9.]+ s"])
    assert "tests of no single algorithm" in out

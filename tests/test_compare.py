"""``shootout compare A.json B.json``: the gate's statistics on two saved results files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from harness.gate.compare import CompareError, compare_results
from harness.gate.verdict import GateConfig, Thresholds
from tests.test_cli import shootout

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
SLOWED = "nms_greedy/numpy/shrinking/bench_50"
SPED_UP = "box_iou_axis_aligned/numba/prange/bench_200"
DROPPED = "nms_greedy/python/loops/bench_50"


def key(m: dict[str, Any]) -> str:
    return "/".join(m[k] for k in ("algorithm", "backend", "variant", "case"))


def runs() -> tuple[dict[str, Any], dict[str, Any]]:
    """A (the fixture) and B: one cell 1.5× slower, one 2× faster, one dropped, one new."""
    a = json.loads(FIXTURE.read_text())
    b = copy.deepcopy(a)
    b["run_id"] = "b" * 12
    kept = []
    for m in b["measurements"]:
        if key(m) == SLOWED:
            m["samples"] = [s * 1.5 for s in m["samples"]]
        elif key(m) == SPED_UP:
            m["samples"] = [s * 0.5 for s in m["samples"]]
        if key(m) != DROPPED:
            kept.append(m)
    extra = copy.deepcopy(next(m for m in kept if key(m) == SLOWED))
    extra["variant"] = "brand_new"
    b["measurements"] = [*kept, extra]
    return a, b


def by_key(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["key"]: c for c in result["cells"]}


def test_each_common_cell_gets_the_gates_verdict() -> None:
    a, b = runs()
    result = compare_results(a, b, GateConfig())
    cells = by_key(result)
    assert cells[SLOWED]["verdict"] == "slower"
    assert cells[SLOWED]["ratio"] == pytest.approx(1.5)
    assert cells[SLOWED]["ci_low"] > 1 and cells[SLOWED]["q"] <= 0.05
    assert cells[SPED_UP]["verdict"] == "faster" and cells[SPED_UP]["ratio"] == pytest.approx(0.5)
    unchanged = [c for k, c in cells.items() if k not in (SLOWED, SPED_UP)]
    assert unchanged and {c["verdict"] for c in unchanged} == {"same"}
    assert not result["passed"] and result["reasons"] == ["1 cell(s) slower"]
    assert result["counts"] == {"slower": 1, "faster": 1, "same": len(unchanged)}
    assert result["only_a"] == [DROPPED]
    assert result["only_b"] == [SLOWED.replace("shrinking", "brand_new")]
    assert result["timed_in_neither"] == 4  # the CUDA cells, skipped in both
    assert result["unit"] == "sample"


def test_thresholds_are_the_gates_per_algorithm() -> None:
    a, b = runs()
    lenient = GateConfig(algorithms={"nms_greedy": Thresholds(slower=2.0)})
    result = compare_results(a, b, lenient)
    # 1.5 with its whole interval under that algorithm's 2.0: within the threshold
    assert by_key(result)[SLOWED]["verdict"] == "same"
    assert result["passed"]


def test_the_same_file_compares_as_the_same() -> None:
    a, _ = runs()
    result = compare_results(a, copy.deepcopy(a), GateConfig())
    assert result["passed"] and set(result["counts"]) == {"same"}
    assert result["only_a"] == result["only_b"] == [] and not result["not_compared"]


def test_cells_not_timed_on_one_side_or_of_another_size_are_listed() -> None:
    a, b = runs()
    for m in b["measurements"]:
        if key(m) == SPED_UP:
            m.update(status="skip", reason="skipped: predicted 84 s > budget 60 s", samples=[])
        if key(m).startswith("box_iou_axis_aligned/python/"):
            m["params"] = {**m["params"], "n": 400}
    result = compare_results(a, b, GateConfig())
    assert "not timed in B (skip: skipped: predicted" in result["not_compared"][SPED_UP]
    (other,) = [k for k in result["not_compared"] if k.startswith("box_iou_axis_aligned/python/")]
    assert "params" in result["not_compared"][other]
    assert SPED_UP not in by_key(result) and other not in by_key(result)


def test_two_machines_are_refused_unless_forced() -> None:
    a, b = runs()
    b["machine"] = {**b["machine"], "fingerprint": "0123456789ab", "cpu": "Other CPU"}
    with pytest.raises(CompareError, match=r"different machines.*--force") as info:
        compare_results(a, b, GateConfig(), names=("a.json", "b.json"))
    assert "\n" not in str(info.value) and "Other CPU" in str(info.value)
    result = compare_results(a, b, GateConfig(), force=True)
    assert by_key(result)[SLOWED]["verdict"] == "slower"
    assert any("--force" in n for n in result["notes"])
    del b["machine"]["fingerprint"]
    with pytest.raises(CompareError, match="records no machine fingerprint"):
        compare_results(a, b, GateConfig())


def test_malformed_samples_are_one_clear_error() -> None:
    a, b = runs()
    b["measurements"][0]["samples"] = [0.1, "fast"]
    with pytest.raises(CompareError, match=r"measurement #0 .*samples must be"):
        compare_results(a, b, GateConfig(), names=("a.json", "b.json"))


# ---- the command ---------------------------------------------------------------------------


def write(tmp_path: Path, name: str, document: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


@pytest.mark.slow
def test_compare_command_exit_status_text_and_json(tmp_path: Path) -> None:
    a, b = runs()
    pa, pb = write(tmp_path, "a.json", a), write(tmp_path, "b.json", b)
    proc = shootout("compare", str(pa), str(pb))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    first = next(line for line in proc.stdout.splitlines() if SLOWED in line)
    assert "1.500×" in first and "slower" in first
    assert f"only in A (1): {DROPPED}" in proc.stdout and "FAIL: 1 cell(s) slower" in proc.stdout
    proc = shootout("compare", str(pa), str(pa), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["passed"] is True
    proc = shootout("compare", str(pb), str(pa))  # the other way round
    assert proc.returncode == 1  # the sped-up cell is now the slower one


@pytest.mark.slow
@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "does not exist"),
        ("not_json", "is not valid JSON"),
        ("machines", "different machines"),
        ("samples", "samples is"),  # refused by the results schema, before compare reads it
    ],
)
def test_compare_command_bad_input_is_one_line_exit_2(
    tmp_path: Path, case: str, message: str
) -> None:
    a, b = runs()
    pa = write(tmp_path, "a.json", a)
    if case == "missing":
        pb = tmp_path / "nope.json"
    elif case == "not_json":
        pb = tmp_path / "b.json"
        pb.write_text("{not json")
    elif case == "machines":
        b["machine"] = {**b["machine"], "fingerprint": "0123456789ab"}
        pb = write(tmp_path, "b.json", b)
    else:
        b["measurements"][1].update(status="ok", samples={"x": 1})
        pb = write(tmp_path, "b.json", b)
    proc = shootout("compare", str(pa), str(pb))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
    assert "Traceback" not in proc.stderr
    if case == "machines":
        assert shootout("compare", str(pa), str(pb), "--force").returncode == 1

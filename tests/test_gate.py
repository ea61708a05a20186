"""The regression gate: its statistics, its files, and the command end to end.

The end-to-end tests run real workers on this machine; they assert what the gate decides
about changes it can be sure of (the same code, an injected 1.5× slowdown, a wrong
result, a budget), never a timing.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from harness.gate import GateError
from harness.gate.verdict import (
    Budget,
    GateConfig,
    Thresholds,
    benjamini_hochberg,
    check_budgets,
    check_names,
    compare_cell,
    judge,
    load_budgets,
    load_config,
)
from tests.test_cli import ALGO, ROOT, WRONG_PLUGIN, shootout

FIXTURE = ROOT / "tests" / "fixtures" / "results_small.json"
BUDGET = "[[budget]]\nimplementation = "


def rounds(rng: np.random.Generator, center: float, n_rounds: int = 6, per: int = 5) -> list:
    """Per-round samples: a round-level drift plus per-call noise, both ~3 %."""
    out = []
    for _ in range(n_rounds):
        drift = center * (1 + 0.03 * rng.standard_normal())
        out.append(list(drift * (1 + 0.03 * np.abs(rng.standard_normal(per)))))
    return out


def test_benjamini_hochberg_matches_the_step_up_rule() -> None:
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.005, math.nan])
    assert q[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert math.isnan(q[4])
    assert benjamini_hochberg([0.9]) == [0.9]


@pytest.mark.parametrize("factor, expected", [(1.0, "same"), (1.5, "slower"), (0.6, "faster")])
def test_a_cell_needs_effect_and_evidence(factor: float, expected: str) -> None:
    rng = np.random.default_rng(1)
    cell = compare_cell("a/numpy/v/c", "a", "c", rounds(rng, 1e-3), rounds(rng, factor * 1e-3))
    (judged,) = judge([cell], GateConfig())
    assert judged.verdict == expected, judged.why


def test_a_big_change_with_two_rounds_is_not_called() -> None:
    rng = np.random.default_rng(2)
    cell = compare_cell("a/numpy/v/c", "a", "c", rounds(rng, 1e-3, 2, 1), rounds(rng, 2e-3, 2, 1))
    (judged,) = judge([cell], GateConfig())
    assert judged.verdict == "ambiguous"


def test_many_unchanged_cells_raise_no_alarm() -> None:
    rng = np.random.default_rng(3)
    cells = [
        compare_cell(f"a/numpy/v{i}/c", "a", "c", rounds(rng, 1e-3), rounds(rng, 1e-3))
        for i in range(200)
    ]
    verdicts = [c.verdict for c in judge(cells, GateConfig())]
    assert verdicts.count("slower") == verdicts.count("faster") == 0


def test_thresholds_are_per_algorithm() -> None:
    rng = np.random.default_rng(4)
    base, slow = rounds(rng, 1e-3), rounds(rng, 1.3e-3)
    strict = GateConfig(Thresholds(), {"lenient": Thresholds(slower=1.5)})
    (a,) = judge([compare_cell("strict/n/v/c", "strict", "c", base, slow)], strict)
    (b,) = judge([compare_cell("lenient/n/v/c", "lenient", "c", base, slow)], strict)
    # 1.3× is a regression under the default 1.10 and within tolerance under 1.5
    assert (a.verdict, b.verdict) == ("slower", "same")


def test_the_project_files_load() -> None:
    config = load_config(ROOT / "gate.toml")
    assert config.for_algorithm("nms_greedy").slower == 1.15
    assert config.for_algorithm("nms_greedy").rounds == config.defaults.rounds
    assert load_budgets(ROOT / "budgets.toml")


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("gate.toml", "[defaults\n", "is not valid TOML"),
        ("gate.toml", "[defaults]\nslower = 'big'\n", "slower must be a number"),
        ("gate.toml", "[defaults]\nslower = 0.9\n", "must be above 1"),
        ("gate.toml", "[defaults]\nalpha = 2\n", "alpha must be between 0 and 1"),
        ("gate.toml", "[defaults]\nspeed = 1\n", "unknown key"),
        ("gate.toml", "[algorithms.nms_greedy]\nrounds = 1.5\n", "whole number"),
        ("gate.toml", "[other]\n", "unknown section"),
        ("budgets.toml", "", "one or more"),
        ("budgets.toml", f"{BUDGET}'x'\nwithin = 1\n", "algorithm/backend/variant"),
        ("budgets.toml", f"{BUDGET}'a/b/c'\nwithin = -1\n", "positive"),
        ("budgets.toml", f"{BUDGET}'a/b/c'\nwithin = 1\nof = 'x'\n", "unknown key"),
        # NaN compares false with everything: `slower = nan` would switch the gate off
        ("gate.toml", "[defaults]\nslower = nan\n", r"\[defaults\]\.slower must be finite"),
        ("gate.toml", "[defaults]\nfaster = inf\n", r"\[defaults\]\.faster must be finite"),
        ("gate.toml", "[defaults]\nalpha = nan\n", "alpha must be finite"),
        ("gate.toml", "[algorithms.nms_greedy]\nslower = -inf\n", "slower must be finite"),
        ("budgets.toml", f"{BUDGET}'a/b/c'\nwithin = nan\n", "within must be a positive"),
        ("budgets.toml", f"{BUDGET}'a/b/c'\nwithin = inf\n", "within must be a positive"),
    ],
)
def test_a_malformed_thresholds_or_budgets_file_is_one_clear_error(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    load = load_config if name == "gate.toml" else load_budgets
    with pytest.raises(GateError, match=message):
        load(path)


def test_the_project_files_name_only_what_is_registered() -> None:
    from harness.registry import load_registry

    registry = load_registry()
    config, budgets = load_config(ROOT / "gate.toml"), load_budgets(ROOT / "budgets.toml")
    check_names(
        config, budgets, algorithms=registry.suites, implementations=registry.implementations
    )


def test_names_in_the_files_must_be_known() -> None:
    algorithms = {"box_iou_axis_aligned", "nms_greedy"}
    impls = {"box_iou_axis_aligned/numpy/xp", "nms_greedy/numba/sweep"}
    good = GateConfig(Thresholds(), {"nms_greedy": Thresholds(slower=1.2)})
    budgets = [Budget("nms_greedy/numba/sweep", 1.0, reference="box_iou_axis_aligned/numpy/xp")]
    check_names(good, budgets, algorithms=algorithms, implementations=impls)  # no error
    typo = GateConfig(Thresholds(), {"nms_gredy": Thresholds()})
    with pytest.raises(GateError, match=r"\[algorithms\.nms_gredy\]: unknown algorithm.*greedy"):
        check_names(typo, [], algorithms=algorithms, implementations=impls)
    for bad in (
        Budget("nms_greedy/numba/swep", 1.0),
        Budget("nms_greedy/numba/sweep", 1.0, reference="nms_greedy/cupy/x"),
    ):
        with pytest.raises(GateError, match=r"budget #2: unknown implementation 'nms_greedy/"):
            check_names(GateConfig(), [*budgets, bad], algorithms=algorithms, implementations=impls)


def _m(key: str, case: str, median: float, kind: str = "handwritten") -> dict:
    algorithm, backend, variant = key.split("/")
    return dict(
        algorithm=algorithm,
        backend=backend,
        variant=variant,
        case=case,
        kind=kind,
        status="ok",
        median_s=median,
    )


def test_budgets_are_ratios_to_the_fastest_library_within_one_run() -> None:
    measurements = [
        _m("a/numpy/fast", "big", 1.0),
        _m("a/numpy/slow", "big", 5.0),
        _m("a/library/x", "big", 4.0, "library"),
        _m("a/library/y", "big", 2.0, "library"),
    ]
    budgets = [
        Budget("a/numpy/fast", within=0.5),
        Budget("a/numpy/slow", within=2.0),
        Budget("a/numpy/gone", within=2.0),
        Budget("a/numpy/fast", within=0.3, reference="a/library/x", case="big"),
    ]
    rows = check_budgets(budgets, measurements, {"a": "big"})
    assert [r["status"] for r in rows] == ["ok", "exceeded", "missing", "ok"]
    assert rows[0]["ratio"] == pytest.approx(0.5) and rows[3]["ratio"] == pytest.approx(0.25)
    narrowed = check_budgets(budgets[:1], measurements, {"a": "big"}, attempted={"a/numpy/fast"})
    assert narrowed[0]["status"] == "not selected"


def test_a_flagged_timing_is_never_checked_against_a_budget() -> None:
    cached = {**_m("a/numpy/fast", "big", 1e-9), "flagged": "faster than the machine allows"}
    measurements = [
        cached,
        _m("a/library/x", "big", 4.0, "library"),
        {**_m("a/library/y", "big", 1e-9, "library"), "flagged": "a cached result"},
    ]
    budgets = [Budget("a/numpy/fast", within=0.5), Budget("a/library/x", within=2.0)]
    rows = check_budgets(budgets, measurements, {"a": "big"})
    assert rows[0]["status"] == "missing"  # fails the gate: a budget that cannot be checked
    assert rows[0]["why"] == (
        "a/numpy/fast's timing on 'big' is not trusted: faster than the machine allows"
    )
    # the flagged library is no reference either: x is compared with itself, not with y
    assert rows[1]["status"] == "ok" and rows[1]["ratio"] == pytest.approx(1.0)


# ---- end to end ---------------------------------------------------------------------------


def _self_test(tmp_path: Path, rounds: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path / "gate.json"
    proc = shootout(
        "gate", "--self-test", "-a", ALGO, "-b", "numpy",
        "--rounds", rounds, "--json-out", str(out), "--markdown", str(tmp_path / "gate.md"),
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # never bad input or a crash
    return proc, json.loads(out.read_text())


@pytest.mark.slow
def test_self_test_runs_both_comparisons_and_reports_them(tmp_path: Path) -> None:
    """Behaviour only: on a busy machine the verdicts may come out ambiguous (that is the
    gate being honest about noise), so the power check lives in test_self_test_power."""
    proc, result = _self_test(tmp_path, "4")
    assert result["injected"]["factor"] == 1.5
    target = result["injected"]["implementation"]
    assert result["aa"]["cells"] and result["slowed"]["cells"]
    assert any(c["key"].startswith(target + "/") for c in result["slowed"]["cells"])
    verdicts = {c["verdict"] for part in ("aa", "slowed") for c in result[part]["cells"]}
    assert verdicts <= {"same", "ambiguous", "slower", "faster"}
    assert ("**PASS**" if proc.returncode == 0 else "**FAIL") in (tmp_path / "gate.md").read_text()


@pytest.mark.power
def test_self_test_power(tmp_path: Path) -> None:
    """Statistical power on a quiet machine (nox -s power): A/A raises no alarm and the
    injected 1.5x slowdown is called slower."""
    proc, result = _self_test(tmp_path, "5")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["passed"]
    assert {c["verdict"] for c in result["aa"]["cells"]} <= {"same", "ambiguous"}
    target = result["injected"]["implementation"]
    (slowed,) = [c for c in result["slowed"]["cells"] if c["key"].startswith(target + "/")]
    assert slowed["verdict"] == "slower" and slowed["ratio"] >= 1.4


@pytest.mark.slow
def test_gate_against_head_compares_every_cell_and_fails_on_a_wrong_result(
    tmp_path: Path,
) -> None:
    plugin = tmp_path / "my_iou.py"
    plugin.write_text(WRONG_PLUGIN)
    out = tmp_path / "gate.json"
    proc = shootout(
        "gate", "--base", "HEAD", "-a", ALGO, "-b", "numpy", "--rounds", "4",
        "--plugin", str(plugin), "--json-out", str(out), "--no-budgets",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert not result["passed"] and any("wrong result" in r for r in result["reasons"])
    assert {w["variant"] for w in result["wrong"]} == {"forgot_union"}
    assert all(w["repro"] for w in result["wrong"])
    keys = {c["key"] for c in result["cells"]}
    assert f"{ALGO}/numpy/xp/bench_2000" in keys
    assert len(result["base"]["commit"]) == 40


def test_budgets_only_mode_checks_a_results_file(tmp_path: Path) -> None:
    ok = tmp_path / "ok.toml"
    ok.write_text(
        # the fixture is a recorded run: it names the implementations of its day
        "[[budget]]\nimplementation = 'box_iou_axis_aligned/numpy/broadcast'\n"
        "within = 1000\ncase = 'bench_200'\n"
    )
    proc = shootout("gate", "--results", str(FIXTURE), "--budgets", str(ok))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "budget ok" in proc.stdout
    tight = tmp_path / "tight.toml"
    tight.write_text(ok.read_text().replace("1000", "0.0001"))
    proc = shootout("gate", "--results", str(FIXTURE), "--budgets", str(tight))
    assert proc.returncode == 1 and "budget EXCEEDED" in proc.stdout
    unrelated = tmp_path / "unrelated.toml"
    unrelated.write_text(
        "[[budget]]\nimplementation = 'hungarian_assignment/numba/lapjv'\nwithin = 1\n"
    )
    proc = shootout("gate", "--results", str(FIXTURE), "--budgets", str(unrelated))
    assert proc.returncode == 1 and "no budget applies" in proc.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("gate",), "exactly one of"),
        (("gate", "--base", "no-such-ref-anywhere"), "unknown git ref"),
        (("gate", "--self-test", "-a", "no_such_algorithm"), "unknown algorithm"),
        (("gate", "--self-test", "--rounds", "1"), "at least 2"),
        (("gate", "--self-test", "--rounds", "3"), "can never reach significance"),
        (("gate", "--self-test", "--profile", "huge"), "unknown profile"),
        (("gate", "--results", "does/not/exist.json", "--budgets", "budgets.toml"), "does not"),
        (("gate", "--results", str(FIXTURE), "--budgets", "nope.toml"), "does not exist"),
        (("gate", "--self-test", "--thresholds", "nope.toml"), "does not exist"),
        (("gate", "--self-test", "--thresholds", "NAN"), "slower must be finite"),
        (("gate", "--self-test", "--thresholds", "TYPO"), "unknown algorithm 'nms_gredy'"),
        (("gate", "--results", str(FIXTURE), "--budgets", "UNKNOWN"), "unknown implementation"),
    ],
)
def test_bad_gate_input_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    files = {
        "NAN": "[defaults]\nslower = nan\n",
        "TYPO": "[algorithms.nms_gredy]\nslower = 1.2\n",
        "UNKNOWN": "[[budget]]\nimplementation = 'nms_greedy/cupy/x'\nwithin = 1\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    args = tuple(str(tmp_path / a) if a in files else a for a in args)
    proc = shootout(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
    assert "Traceback" not in proc.stderr

"""The surface a person and a script meet: progress on stderr, grouped failures, versioned
JSON, Markdown summaries, a quiet closed pipe, and honest install messages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.cases import Case, Tolerance
from harness.comparators import Close
from shootout.digest import failure_groups, headline, shape_of
from shootout.output import EXIT_CLOSED_PIPE, JSON_SCHEMA_VERSION
from shootout.present import measurement_table, verdict_table

ROOT = Path(__file__).resolve().parent.parent
ALGO = "box_iou_axis_aligned"
FIXTURE = ROOT / "tests" / "fixtures" / "results_small.json"
PROGRESS = re.compile(r"^(verify|bench|gate): (\d+)/(\d+) ")

BROKEN_PLUGIN = '''
import numpy as np
from harness import implementation
from suites.box_iou_axis_aligned import ARGS

@implementation("box_iou_axis_aligned", backend="numpy", variant="returns_none")
def returns_none(boxes_a, boxes_b, opts):
    """Validates, then forgets to return."""
    ARGS.check(boxes_a, boxes_b)

@implementation("box_iou_axis_aligned", backend="numpy", variant="all_nan")
def all_nan(boxes_a, boxes_b, opts):
    """A NaN wherever a number belongs."""
    ARGS.check(boxes_a, boxes_b)
    return np.full((len(boxes_a), len(boxes_b)), np.nan, dtype=boxes_a.dtype)
'''

# Runs the command line with some modules made unimportable, as if not installed.
HIDING = """
import runpy, sys
hidden = set(sys.argv[1].split(","))
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Hide())
sys.argv = [sys.argv[2], *sys.argv[3:]]
runpy.run_module(sys.argv[0], run_name="__main__")
"""


def environment(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("SHOOTOUT_QUIET", "GITHUB_STEP_SUMMARY")
    }
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def shootout(
    *args: str, env: dict[str, str] | None = None, stdout: Any = subprocess.PIPE, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shootout", *args],
        cwd=cwd,
        env=env or environment(),
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=600,
        check=False,
    )


def hidden(modules: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HIDING, modules, *argv],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def progress_lines(stderr: str) -> list[tuple[str, int, int]]:
    found = (PROGRESS.match(line) for line in stderr.splitlines())
    return [(m[1], int(m[2]), int(m[3])) for m in found if m]


# ---- progress ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_verify_shows_progress_on_stderr_and_keeps_stdout_pure_json() -> None:
    proc = shootout("verify", "-a", ALGO, "-b", "numpy", "-b", "python", "--case", "random_f32",
                    "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)  # nothing but the JSON on stdout
    assert document["schema_version"] == JSON_SCHEMA_VERSION and document["command"] == "verify"
    assert document["passed"] is True and len(document["verdicts"]) == 2
    lines = progress_lines(proc.stderr)
    assert lines[0] == ("verify", 0, 2) and lines[-1] == ("verify", 2, 2)
    assert f"{ALGO}/" in proc.stderr.splitlines()[0]  # the cell running
    assert "elapsed" in proc.stderr and "ETA" in proc.stderr
    assert "\x1b[" not in proc.stderr  # piped: plain


@pytest.mark.slow
def test_bench_shows_progress_and_writes_json_and_a_job_summary(tmp_path: Path) -> None:
    markdown, step = tmp_path / "bench.md", tmp_path / "step_summary.md"
    proc = shootout(
        "bench", "-a", ALGO, "-b", "numpy", "--profile", "smoke", "--max-time", "0.01",
        "--results-dir", str(tmp_path / "results"), "--json", "--markdown", str(markdown),
        env=environment(GITHUB_STEP_SUMMARY=str(step)), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = progress_lines(proc.stderr)
    assert lines and lines[0][:2] == ("bench", 0) and lines[-1][1] == lines[-1][2] > 0
    document = json.loads(proc.stdout)
    assert document["schema_version"] == JSON_SCHEMA_VERSION and document["command"] == "bench"
    assert document["measurements"] and Path(document["results"]).is_file()
    text = markdown.read_text()
    assert text.startswith("## opshootout bench") and "| implementation |" in text
    assert "numpy/xp" in text and step.read_text() == text


# ---- verify output a person reads ---------------------------------------------------------


@pytest.mark.slow
def test_identical_failures_are_grouped_with_one_repro_and_nan_is_named(tmp_path: Path) -> None:
    plugin = tmp_path / "broken.py"
    plugin.write_text(BROKEN_PLUGIN)
    markdown = tmp_path / "verify.md"
    proc = shootout("verify", "--plugin", str(plugin), "-a", ALGO, "--variant", "returns_none",
                    "--variant", "all_nan", "--markdown", str(markdown))  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    heads = [line for line in out.splitlines() if line.startswith("FAIL ")]
    # (its error cases, e.g. paired_lengths_differ, fail apart: "returned normally")
    none_heads = [h for h in heads if "/returns_none on " in h and "returned None" in h]
    assert len(none_heads) == 1  # one group, not a line per case
    assert re.search(r"on random_f32 and \d+ more cases: returned None instead of the output 'out'",
                     none_heads[0])  # fmt: skip
    repros = [line for line in out.splitlines() if "re-run:" in line and "returns_none" in line]
    repros = [line for line in repros if "--case paired_lengths_differ" not in line]
    assert len(repros) == 1 and "--case random_f32" in repros[0]
    row = next(line for line in out.splitlines() if line.startswith(ALGO) and "all_nan" in line)
    assert re.search(r"\d+ fail: NaN where the oracle has a number", row)
    summary = markdown.read_text()
    assert "NaN where the oracle has a number" in summary and "returned None" in summary
    assert summary.startswith("## opshootout verify") and "**FAIL" in summary


def verdict(case: str, status: str, detail: str, variant: str = "v") -> dict[str, Any]:
    return {
        "algorithm": "algo",
        "backend": "numpy",
        "variant": variant,
        "case": case,
        "status": status,
        "detail": detail,
        "note": "",
        "error_ratio": 0.0,
        "repro": f"shootout verify -a algo --variant {variant} --case {case}",
    }


def test_thirty_two_identical_failures_print_once() -> None:
    verdicts = [verdict(f"c{i}", "fail", "returned None instead of the output 'out'")
                for i in range(32)]  # fmt: skip
    text = verdict_table(verdicts)
    assert text.count("returned None instead of the output 'out'") == 2  # the note, the group
    assert "32 fail: returned None instead of the output 'out'" in text
    assert "FAIL algo/numpy/v on c0 and 31 more cases:" in text and text.count("re-run:") == 1


def test_a_nan_mismatch_is_named_in_the_table_and_groups_across_sizes() -> None:
    close = Close()
    tol = Tolerance(rtol=1e-6, atol=1e-6, reason="test")
    case = Case("c", {"n": 3, "seed": 1})
    details = [close(np.full(n, np.nan), np.ones(n), {}, case, tol).detail for n in (3, 40)]
    finite = close(np.full(3, 2.0), np.ones(3), {}, case, tol).detail
    verdicts = [verdict("small", "fail", details[0]), verdict("big", "fail", details[1]),
                verdict("off", "fail", finite)]  # fmt: skip
    groups = failure_groups(verdicts)
    assert [g.cases for g in groups] == [["small", "big"], ["off"]]
    assert headline(details[0]) == "NaN where the oracle has a number"
    assert headline(finite) == "finite values off"
    text = verdict_table(verdicts)
    assert "2 fail: NaN where the oracle has a number; 1 fail: finite values off" in text
    assert "same on: big" in text


def test_skip_reasons_and_details_are_never_cut_mid_sentence() -> None:
    reason = "requires module_with_a_rather_long_name, which is not installed here " * 2
    verdicts = [verdict("a", "skip", reason.strip()), verdict("b", "pass", "")]
    text = verdict_table(verdicts, verbose=True)
    assert f"1 skip: {reason.strip()}" in text
    long_fail = "raised ValueError: " + "the boxes must be given as (x1, y1, x2, y2) rows " * 3
    assert long_fail.strip() in verdict_table([verdict("a", "error", long_fail.strip())], True)
    measurement = {
        "algorithm": "algo", "case": "c", "backend": "numpy", "variant": "v", "kind": "handwritten",
        "median_s": None, "status": "skip", "reason": reason.strip(),
    }  # fmt: skip
    assert reason.strip() in measurement_table([measurement])


def test_failures_differing_only_in_numbers_share_a_shape() -> None:
    assert shape_of("output 'out' has dtype float64, expected float32") == shape_of(
        "output 'out' has dtype float16, expected float64"
    )
    assert shape_of("got nan, expected 0.0") != shape_of("got 1.5, expected 0.0")


# ---- machine-readable surface -------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "command", "field"),
    [
        (("list", "-a", ALGO), "list", "implementations"),
        (("describe", ALGO), "describe", "signature"),
        (("report", str(FIXTURE), "--no-site", "--csv", "{tmp}/t.csv"), "report", "tables"),
        (("gate", "--results", str(FIXTURE), "--budgets", "{tmp}/b.toml"), "gate", "budgets"),
    ],
)
def test_every_command_prints_versioned_json(
    tmp_path: Path, args: tuple[str, ...], command: str, field: str
) -> None:
    (tmp_path / "b.toml").write_text(
        "[[budget]]\nimplementation = 'box_iou_axis_aligned/numpy/broadcast'\nwithin = 1000\n"
        "case = 'bench_200'\n"
    )
    proc = shootout(*(a.replace("{tmp}", str(tmp_path)) for a in args), "--json")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["schema_version"] == JSON_SCHEMA_VERSION == 1
    assert document["command"] == command and document[field]


def test_the_readme_documents_the_json_schema_version() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f'"schema_version": {JSON_SCHEMA_VERSION}' in readme


def test_the_readme_names_every_algorithm_and_no_other() -> None:
    """The README's list of algorithms is the suites folder, neither more nor less."""
    readme = (ROOT / "README.md").read_text()
    listed = readme.split("## Algorithms", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z0-9_]+)`", listed))
    suites = {p.stem for p in (ROOT / "suites").glob("*.py") if p.stem != "__init__"}
    assert named == suites, (sorted(suites - named), sorted(named - suites))


def pipe_closed_before_writing() -> tuple[int, int]:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written, as after `head -1`
    return read, write


def test_a_closed_pipe_ends_list_quietly() -> None:
    _, write = pipe_closed_before_writing()
    try:
        proc = shootout("list", stdout=write)
    finally:
        os.close(write)
    assert proc.returncode == EXIT_CLOSED_PIPE, proc.stderr
    assert proc.stderr == ""


@pytest.mark.slow
def test_a_closed_pipe_ends_verify_quietly_and_quiet_means_no_progress() -> None:
    _, write = pipe_closed_before_writing()
    try:
        proc = shootout("verify", "-q", "-a", ALGO, "-b", "numpy", "--case", "random_f32",
                        stdout=write)  # fmt: skip
    finally:
        os.close(write)
    assert proc.returncode == EXIT_CLOSED_PIPE, proc.stderr
    assert proc.stderr == ""  # no traceback, no "Broken pipe", and -q: no progress


# ---- install honesty ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("numpy", ("shootout", "list")),
        ("pandas", ("shootout", "report", str(FIXTURE), "--no-site", "--csv", "x.csv")),
        ("pandas", ("harness",)),
    ],
)
def test_a_missing_required_package_is_one_line_saying_what_to_install(
    module: str, argv: tuple[str, ...]
) -> None:
    proc = hidden(module, *argv)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert f"pip install '{module}>=" in proc.stderr  # the requirement, as pyproject.toml has it


def report_extra() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(pyproject["project"]["optional-dependencies"]["report"])


def test_the_report_renders_with_only_the_report_extra(tmp_path: Path) -> None:
    """Every required package the `report` extra leaves out, and torch, numba and OpenCV,
    hidden: the report still renders."""
    from harness.deps import requirements

    kept = {r.split(">")[0].split("<")[0].split("=")[0].strip().lower() for r in report_extra()}
    absent = [m for m in requirements() if m not in kept] + ["torch", "numba", "cv2"]
    proc = hidden(",".join(absent), "shootout", "report", str(FIXTURE), "--out",
                  str(tmp_path / "site"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "site" / "index.html").is_file()


def test_nox_report_installs_only_the_report_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import types

    # the noxfile read with a stand-in for nox (nox runs this suite from its own venv, which
    # does not have nox itself)
    def session(fn: Any = None, **_: Any) -> Any:
        return fn if fn is not None else (lambda f: f)

    fake = types.SimpleNamespace(options=types.SimpleNamespace(), session=session, Session=object)
    monkeypatch.setitem(sys.modules, "nox", fake)
    monkeypatch.delitem(sys.modules, "noxfile", raising=False)
    noxfile = importlib.import_module("noxfile")

    class Session:
        def __init__(self) -> None:
            self.posargs: list[str] = []
            self.installs: list[tuple[str, ...]] = []

        def install(self, *args: str) -> None:
            self.installs.append(args)

        def run(self, *args: str, **kwargs: Any) -> None:
            pass

    session = Session()
    noxfile.report(session)
    flat = [a for call in session.installs for a in call]
    assert ("--no-deps", "-e", ".") in session.installs  # the project, without its deps
    requirements = [a for a in flat if not a.startswith("-") and a != "."]
    assert sorted(requirements) == sorted(report_extra())
    assert not any(re.match(r"(torch|numba|opencv|cupy)", r, re.I) for r in report_extra())


def test_the_readme_says_how_to_get_the_cpu_torch_wheel() -> None:
    pin = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "torch"
    ][0]
    readme = (ROOT / "README.md").read_text()
    index = "--index-url https://download.pytorch.org/whl/cpu"
    assert f"pip install {pin} {index}" in readme
    assert f"uv pip install {pin} {index}" in readme
    assert "CUDA build" in readme


def test_the_gate_keeps_its_inner_verify_quiet_and_out_of_the_job_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.gate import run as gate_run
    from harness.results import Run

    seen: dict[str, str] = {}
    # a valid results file with no verdicts (made before subprocess.run is replaced)
    document = Run(command="shootout verify", profile=None, threads={}).document(complete=True)

    def fake_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.update(kwargs["env"])
        out = Path(argv[argv.index("--results") + 1])
        out.write_text(json.dumps(document, default=str))
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setattr(gate_run.subprocess, "run", fake_run)
    config = {"threads": 1, "algorithms": [], "backends": [], "variants": []}
    assert gate_run.verify_tree("base", tmp_path, config, ["shootout"]) == []
    assert seen["SHOOTOUT_QUIET"] == "1" and "GITHUB_STEP_SUMMARY" not in seen

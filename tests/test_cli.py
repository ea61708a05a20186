"""End-to-end: the ``shootout`` command line as a user runs it, in a subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALGO = "box_iou_axis_aligned"

WRONG_PLUGIN = '''
import numpy as np
from harness import implementation
from suites.box_iou_axis_aligned import ARGS

@implementation("box_iou_axis_aligned", backend="numpy", variant="forgot_union")
def forgot_union(boxes_a, boxes_b, opts):
    """Divides by the sum of the areas: the intersection is never subtracted."""
    ARGS.check(boxes_a, boxes_b)
    a, b = boxes_a, boxes_b
    iw = np.minimum(a[:, None, 2], b[:, 2]) - np.maximum(a[:, None, 0], b[:, 0])
    ih = np.minimum(a[:, None, 3], b[:, 3]) - np.maximum(a[:, None, 1], b[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return (inter / (area_a[:, None] + area_b)).astype(a.dtype)
'''


def shootout(
    *args: str, cwd: Path = ROOT, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m shootout ARGS``; ``python -c CODE ARGS`` when the first is ``-c``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    command = [*args[:2], *args[2:]] if args[:1] == ("-c",) else ["-m", "shootout", *args]
    return subprocess.run(
        [sys.executable, *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def wrong_plugin(tmp_path: Path) -> Path:
    path = tmp_path / "my_iou.py"
    path.write_text(WRONG_PLUGIN)
    return path


def test_list_json_has_one_record_per_implementation() -> None:
    proc = shootout("list", "--json")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["schema_version"] == 1 and document["command"] == "list"
    records = document["implementations"]
    keys = {"algorithm", "backend", "variant", "kind", "available", "reason"}
    assert records and all(keys <= set(r) for r in records)
    cupy = [r for r in records if r["backend"] == "cupy"]
    assert cupy and all(r["available"] or r["reason"] for r in cupy)
    assert {r["kind"] for r in records} == {"handwritten", "library"}


def test_describe_prints_the_contract() -> None:
    proc = shootout("describe", "nms_greedy")
    assert proc.returncode == 0, proc.stderr
    assert "nms_greedy(boxes: (N, 4), scores: (N,), iou_threshold" in proc.stdout
    assert "ARGS.check(boxes, scores, iou_threshold)" in proc.stdout
    assert "must raise" in proc.stdout and "@implementation('nms_greedy'" in proc.stdout


def test_wrong_plugin_fails_with_diagnosis_and_repro(wrong_plugin: Path) -> None:
    proc = shootout("verify", "--plugin", str(wrong_plugin), "--variant", "forgot_union")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "FAIL box_iou_axis_aligned/numpy/forgot_union on random_f32" in out
    assert "elements differ" in out and "worst abs" in out and "rtol" in out
    repro = next(line for line in out.splitlines() if "re-run:" in line and "random_f32" in line)
    command = repro.split("re-run: ", 1)[1].split()
    assert command[:2] == ["shootout", "verify"] and "--plugin" in command
    again = shootout(*command[1:])
    assert again.returncode == 1 and "1 fail" in again.stdout  # exactly that one cell


def test_fuzz_shrinks_a_failure_to_a_small_case(wrong_plugin: Path) -> None:
    proc = shootout(
        "verify",
        "--plugin",
        str(wrong_plugin),
        "--variant",
        "forgot_union",
        "--case",
        "random_f32",
        "--fuzz",
        "25",
    )
    assert proc.returncode == 1
    line = next(x for x in proc.stdout.splitlines() if x.startswith("FUZZ"))
    case = json.loads(line.split("shrunk failing case ", 1)[1])
    assert case["params"]["n"] <= 2  # one overlapping pair is enough to show the bug


def test_correct_selection_passes_and_writes_verdicts(
    tmp_path: Path, conforms: Callable[[Any], None]
) -> None:
    out = tmp_path / "verdicts.json"
    proc = shootout("verify", "-a", ALGO, "-b", "numpy", "--results", str(out))
    assert proc.returncode == 0, proc.stdout
    data = json.loads(out.read_text())
    conforms(data)
    assert data["complete"] and data["verdicts"]
    assert all(v["status"] == "pass" for v in data["verdicts"])


@pytest.mark.parametrize(
    "args, message",
    [
        (("verify", "-a", "no_such_algorithm"), "unknown algorithm 'no_such_algorithm'"),
        (("verify", "-a", ALGO, "--case", "nope"), "has no case 'nope'"),
        (("verify", "-a", ALGO, "--case-json", "{not json"), ""),
        (("verify", "-b", "fortran"), "unknown backend 'fortran'"),
        (("bench", "--profile", "huge"), "unknown profile 'huge'"),
        (("report", "does/not/exist.json"), "does not exist"),
        (("report", "does/not/exist.json", "--csv", "x.csv"), "does not exist"),
        (("report", "--no-site"), "would do nothing"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    proc = shootout(*args)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "source, message",
    [
        ("def broken(:\n    pass\n", "syntax error at line 1"),
        ("import numpy_that_does_not_exist\n", "failed to import"),
        ("x = 1\n", "registers no implementation"),
        (  # was one error per cell
            "from harness import implementation\n"
            "@implementation('box_iou_axis_aligned', 'numpy', 'v')\ndef f(boxes_a, opts): ...\n",
            "f(boxes_a, opts) cannot take the 3 positional arguments box_iou_axis_aligned passes",
        ),
    ],
)
def test_bad_plugin_is_one_line_and_exit_2(tmp_path: Path, source: str, message: str) -> None:
    plugin = tmp_path / "bad.py"
    plugin.write_text(source)
    proc = shootout("verify", "--plugin", str(plugin))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "command, source, message",
    [
        ("list", "import sys\nsys.exit(0)\n", "at import time"),
        ("list", "import os\nos._exit(0)\n", "at import time"),
        ("verify", "import os\nos._exit(0)\n", "at import time"),
        ("bench", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "at import time"),
        ("verify", "import ctypes\nctypes.CDLL(None)._exit(0)\n", "before it could run any"),
    ],
)
def test_a_plugin_ending_its_process_at_import_is_one_line_and_exit_2(
    tmp_path: Path, command: str, source: str, message: str
) -> None:
    plugin = tmp_path / "exits.py"
    plugin.write_text(source)
    more = ["-a", ALGO, "--results-dir", str(tmp_path)] if command == "bench" else ["-a", ALGO]
    proc = shootout(command, "--plugin", str(plugin), *more)
    assert proc.returncode == 2, proc.stdout + proc.stderr  # was 0, with no output
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr


# Runs the command line in this process and prints what it listed and every module it loaded.
LIST_PROBE = """
import contextlib, io, json, sys
from shootout.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
records = json.loads(out.getvalue())["implementations"]
print(json.dumps({"code": code, "records": records, "modules": sorted(sys.modules)}))
"""


def test_list_imports_no_implementation_and_equals_the_imported_registry() -> None:
    from harness.registry import load_registry
    from shootout.present import list_records

    proc = shootout("-c", LIST_PROBE, "list", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["code"] == 0
    assert not {"torch", "numba", "cupy", "scipy"} & set(out["modules"])
    assert not [m for m in out["modules"] if m.startswith("implementations.")]
    imported = load_registry(eager=True)
    impls = imported.select()
    assert len(impls) == len(out["records"])
    for impl, want, got in zip(impls, list_records(imported, impls), out["records"], strict=True):
        if impl.function is None:  # not importable here: the source still gives its docstring
            want["description"] = got["description"]
        assert got == want


def test_a_torch_file_without_torch_lists_both_torch_backends() -> None:
    hide = "import sys\nsys.modules['torch'] = None  # as if not installed\n"
    proc = shootout("-c", hide + LIST_PROBE, "list", "--json", "-a", ALGO)
    assert proc.returncode == 0, proc.stderr
    rows = {(r["backend"], r["variant"]): r["reason"] for r in json.loads(proc.stdout)["records"]}
    assert rows[("torch_cpu", "inplace")] == "torch_cpu: torch not installed"
    assert rows[("torch_cuda", "inplace")] == "torch_cuda: torch not installed"
    assert ("library", "torch_inplace") not in rows  # what it was listed as


def test_a_broken_entry_point_is_a_row_and_can_be_switched_off(tmp_path: Path) -> None:
    dist = tmp_path / "brokenplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[opshootout.implementations]\nbroken = surely_missing_plugin_module_xyz\n"
    )
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    listed = shootout("list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr  # was 2: every command failed
    rows = json.loads(listed.stdout)["implementations"]
    [row] = [r for r in rows if r["origin"] == "entry-point:broken"]
    assert not row["available"] and row["reason"].startswith("not loadable: entry point 'broken'")
    verified = shootout("verify", "-a", ALGO, "-b", "numpy", "--case", "random_f32", env=env)
    assert verified.returncode == 0 and "warning: not loadable" in verified.stderr
    for switch, value in ((["--no-entry-points"], ""), ([], "1")):
        off = shootout("list", "--json", *switch, env={**env, "OPSHOOTOUT_NO_ENTRY_POINTS": value})
        assert off.returncode == 0 and "entry-point" not in off.stdout


def test_the_worker_imports_only_the_modules_of_its_cells(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(
        "import atexit, os, sys\n"
        "def dump():\n"
        "    if '--shootout-worker' in sys.argv:\n"
        "        with open(os.path.join(os.environ['DUMP_TO'], str(os.getpid())), 'w') as f:\n"
        "            f.write(' '.join(sorted(sys.modules)))\n"
        "atexit.register(dump)\n"
    )
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "DUMP_TO": str(tmp_path)}
    proc = shootout("verify", "-a", "nms_greedy", "-b", "numpy", "--case", "clustered_f32", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [dump] = [p for p in tmp_path.iterdir() if p.name.isdigit()]
    modules = dump.read_text().split()
    assert [m for m in modules if m.startswith("implementations.")] == [
        "implementations.nms_greedy",
        "implementations.nms_greedy.numpy_classwise",  # the batched mode's clustered_f32
        "implementations.nms_greedy.numpy_shrinking",
    ]
    assert not {"torch", "numba"} & set(modules)


def test_bench_writes_a_complete_results_file_and_a_report(
    tmp_path: Path, conforms: Callable[[Any], None]
) -> None:
    proc = shootout(
        "bench",
        "--profile",
        "smoke",
        "-a",
        ALGO,
        "--max-time",
        "0.05",
        "--results-dir",
        str(tmp_path / "results"),
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = (tmp_path / "results").glob("*.json")
    data = json.loads(path.read_text())
    conforms(data)
    # the predicted time, printed before the cells start and kept in the JSON output
    out = json.loads(proc.stdout)
    predicted = out["predicted"]
    assert predicted["profile"] == "smoke" and predicted["cells"] > 0
    assert predicted["by_algorithm"][ALGO] == predicted["seconds"] > 0
    assert re.search(r"predicted: [0-9.]+ s for \d+ cells of 1 algorithm \(smoke", proc.stderr)
    assert out["measurements"] == data["measurements"]
    assert data["schema_version"] == 1 and data["complete"] is True
    assert {"cpu", "cores", "memory_gb", "fingerprint"} <= set(data["machine"])
    assert data["threads"]["requested"] == 1 and data["versions"]["numpy"]
    # the pools of what the cells imported (after the registry, which imports none of it)
    assert data["threads"]["torch"] == 1 and data["threads"]["numba"] == 1
    assert data["ceilings"]["cpu"]["memory_gbps"] > 0 and "ceilings: cpu" in proc.stderr
    timed = [m for m in data["measurements"] if m["status"] == "ok"]
    assert timed and all(m["samples"] and m["first_call_s"] > 0 for m in timed)
    assert all(m["gflops"] > 0 for m in timed)
    report = shootout(
        "report",
        str(tmp_path / "results"),
        "--out",
        str(tmp_path / "site"),
        "--csv",
        str(tmp_path / "cells.csv"),
        "--parquet",
        str(tmp_path / "cells.parquet"),
    )
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "site" / "index.html").exists()
    page = (tmp_path / "site" / f"{ALGO}.html").read_text(encoding="utf-8")
    assert 'id="roofline-0"' in page and 'id="first-call-0"' in page
    import pandas as pd

    csv, parquet = pd.read_csv(tmp_path / "cells.csv"), pd.read_parquet(tmp_path / "cells.parquet")
    assert len(csv) == len(parquet) == len(data["verdicts"])
    assert set(csv["impl"]) == {f"{m['backend']}/{m['variant']}" for m in data["measurements"]}
    assert csv["roof_fraction"].notna().any()


def test_report_refuses_a_folder_it_did_not_build_and_keeps_it(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    fixture = ROOT / "tests" / "fixtures" / "results_small.json"
    proc = shootout("report", str(fixture), "--out", str(precious))
    assert proc.returncode == 2 and "refusing to replace it" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert (precious / "notes.txt").read_text() == "keep me"
    only_table = shootout("report", str(fixture), "--no-site", "--csv", str(tmp_path / "t.csv"))
    assert only_table.returncode == 0 and (tmp_path / "t.csv").is_file()


def test_interrupted_bench_keeps_earlier_results_and_marks_itself(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    earlier = results / "earlier.json"
    earlier.write_text('{"schema_version": 1}')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shootout",
            "bench",
            "-a",
            ALGO,
            "--profile",
            "full",  # every size, 2 s each: still running when the signal comes
            "--max-time",
            "2",
            "--results-dir",
            str(results),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until the run has recorded something
        files = [p for p in results.glob("*.json") if p != earlier]
        if files and json.loads(files[0].read_text())["measurements"]:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert earlier.read_text() == '{"schema_version": 1}'
    (partial,) = [p for p in results.glob("*.json") if p != earlier]
    data = json.loads(partial.read_text())
    assert data["complete"] is False and data["measurements"]
    assert not list(results.glob(".*.tmp"))

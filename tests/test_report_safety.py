"""`report` and `gate --results` with bad inputs: one line, exit 2, nothing written; and what
they write gets the user's umask. In process: nothing here runs a benchmark."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from shootout.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "results_small.json"


@pytest.fixture
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    return Path(shutil.copy(FIXTURE, folder / "run.json"))


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the command; it must exit 2 with one line and no traceback. Returns the line."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("option", ["--csv", "--parquet"])
def test_an_export_onto_an_input_file_is_refused(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    before = listing(tmp_path)
    for given in (results, results.parent):  # the file itself, or the folder that holds it
        err = refused(capsys, "report", str(given), option, str(results), "--out", "site")
        assert "is one of the results files being read" in err
    # through another spelling of the same path too
    other = results.parent / ".." / "results" / "run.json"
    refused(capsys, "report", str(results), option, str(other), "--no-site")
    assert listing(tmp_path) == before


def test_nothing_is_written_when_the_site_is_then_refused(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    csv, parquet = tmp_path / "cells.csv", tmp_path / "cells.parquet"
    argv = ["report", str(results), "--csv", str(csv), "--parquet", str(parquet)]
    err = refused(capsys, *argv, "--out", str(precious))
    assert "not built by opshootout" in err
    assert not csv.exists() and not parquet.exists()
    assert listing(precious) == {"notes.txt": b"keep me"}


def test_an_export_inside_the_site_or_onto_a_folder_is_refused(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    err = refused(capsys, "report", str(results), "--csv", str(site / "c.csv"), "--out", str(site))
    assert "inside the site folder" in err and not site.exists()
    err = refused(capsys, "report", str(results), "--csv", str(tmp_path), "--no-site")
    assert "is a folder" in err


def _edited(results: Path, edit: Any) -> Path:
    document = json.loads(results.read_text())
    edit(document)
    results.write_text(json.dumps(document))
    return results


def test_report_refuses_a_string_where_a_number_belongs(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edited(results, lambda d: d["measurements"][0].update(median_s="0.001"))
    csv = tmp_path / "cells.csv"
    err = refused(capsys, "report", str(results), "--csv", str(csv), "--out", str(tmp_path / "s"))
    assert "run.json" in err and 'measurements[0].median_s is "0.001"' in err
    assert not csv.exists() and not (tmp_path / "s").exists()


def _median_text(d: dict[str, Any]) -> None:
    d["measurements"][0]["median_s"] = "fast"


def _entry_text(d: dict[str, Any]) -> None:
    d["measurements"][2] = "oops"


def _no_algorithm(d: dict[str, Any]) -> None:
    del d["measurements"][1]["algorithm"]


def _standard_text(d: dict[str, Any]) -> None:
    d["measurements"][0]["standard"] = "yes"


def _measurements_object(d: dict[str, Any]) -> None:
    d["measurements"] = {"a": 1}


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (_median_text, "measurements[0].median_s"),
        (_entry_text, "measurements[2]"),
        (_no_algorithm, "measurements[1] lacks 'algorithm'"),
        (_standard_text, "measurements[0].standard"),
        (_measurements_object, "measurements is"),
    ],
)
def test_gate_results_with_a_malformed_value_is_one_line(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any, where: str
) -> None:
    budgets = tmp_path / "budgets.toml"
    budgets.write_text(
        '[[budget]]\nimplementation = "box_iou_axis_aligned/numpy/xp"\nwithin = 100\n'
    )
    _edited(results, edit)
    err = refused(capsys, "gate", "--results", str(results), "--budgets", str(budgets))
    assert "run.json" in err and where in err


def test_exports_and_the_site_get_the_users_umask(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = os.umask(0o022)
    try:
        csv, parquet, site = tmp_path / "c.csv", tmp_path / "c.parquet", tmp_path / "site"
        argv = ["report", str(results), "--csv", str(csv), "--parquet", str(parquet)]
        assert main([*argv, "--out", str(site)]) == 0
    finally:
        os.umask(previous)
    assert csv.stat().st_mode & 0o777 == 0o644
    assert parquet.stat().st_mode & 0o777 == 0o644
    assert site.stat().st_mode & 0o777 == 0o755
    assert (site / "index.html").stat().st_mode & 0o777 == 0o644

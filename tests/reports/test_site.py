"""Tests of reports/: tidy frames, speedups, and the offline site built from results files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.results import ResultsError, Run
from harness.verify import Verdict
from reports.site import MARKER_FILE, build_site, page_name
from reports.table import load_frames, speedups

EVIL = "<script>alert(1)</script>"
CPU_BOX = {
    "hostname": "box-a",
    "cpu": "Test CPU 8-core",
    "cores": 8,
    "memory_gb": 31.2,
    "gpu": None,
    "platform": "Linux",
    "python": "3.11.9",
    "fingerprint": "aaaaaaaaaaaa",
}
GPU_BOX = {**CPU_BOX, "hostname": "box-b", "gpu": "Test GPU", "fingerprint": "bbbbbbbbbbbb"}
SIZES = {"bench_200": 200 * 200, "bench_1000": 1000 * 1000}


def verdict(
    algorithm: str,
    backend: str,
    variant: str,
    case: str,
    status: str = "pass",
    kind: str = "handwritten",
    **extra: Any,
) -> dict[str, Any]:
    """A verdict as the harness writes it; a pass carries a measured error within tolerance."""
    if status == "pass":
        extra = {
            "total": SIZES[case],
            "max_abs": 1e-7,
            "max_rel": 2e-6,
            "error_ratio": 0.1,
            "rtol": 1e-5,
            "atol": 1e-6,
            "tolerance_reason": "float32 rounding",
            **extra,
        }
    return Verdict(
        algorithm=algorithm,
        backend=backend,
        variant=variant,
        kind=kind,
        case=case,
        case_kind="bench",
        dtype="float32",
        status=status,
        params={"n": 1, "seed": 7},
        **extra,
    ).as_dict()


def measurement(
    algorithm: str,
    backend: str,
    variant: str,
    case: str,
    median: float | None,
    kind: str = "handwritten",
    status: str = "ok",
    reason: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """A measurement with every key the harness writes; times are made up."""
    items = SIZES[case]
    timed = median is not None
    samples = [median * f for f in (0.98, 1.0, 1.03)] if median is not None else []
    return {
        "algorithm": algorithm,
        "backend": backend,
        "variant": variant,
        "kind": kind,
        "case": case,
        "case_kind": "bench",
        "params": {"n": 1, "seed": 7},
        "options": {},
        "dtype": "float32",
        "status": status,
        "reason": reason,
        "verdict": "pass" if timed else None,
        "first_call_s": 2 * median if timed else None,
        "samples": samples,
        "rounds": len(samples),
        "iterations": 1 if timed else 0,
        "median_s": median,
        "iqr_s": median * 0.05 if timed else None,
        "mean_s": median,
        "min_s": median * 0.98 if timed else None,
        "stddev_s": median * 0.02 if timed else None,
        "flops": 12.0 * items,
        "bytes": 4.0 * items,
        "items": items,
        "item_unit": "pairs",
        "gflops": 12.0 * items / median / 1e9 if timed else None,
        "gbps": 4.0 * items / median / 1e9 if timed else None,
        "items_per_s": items / median if timed else None,
        "noisy": False if timed else None,
        **extra,
    }


def write_run(
    path: Path,
    machine: dict[str, Any],
    verdicts: list[dict[str, Any]],
    measurements: list[dict[str, Any]],
    created: str = "2025-01-02T03:04:05+00:00",
    ceilings: dict[str, Any] | None = None,
    commit: str = "0123456789abcdef0123",
) -> Path:
    run = Run(
        command="shootout bench",
        profile="quick",
        threads={"numpy": 1},
        created=created,
        run_id=path.stem,
        verdicts=verdicts,
        measurements=measurements,
        ceilings=ceilings or {},
    )
    document = run.document(complete=True)
    document["machine"] = machine
    document["git"] = {"commit": commit, "dirty": False}
    path.write_text(json.dumps(document, indent=1))
    return path


IOU = "box_iou_axis_aligned"


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """One CPU run: numpy vs two libraries, a capped python loop, an unavailable CUDA
    backend, a failing variant with a hostile name, and a second algorithm with no library."""
    verdicts = [
        verdict(IOU, b, v, c, kind=k)
        for b, v, k in [
            ("numpy", "broadcast", "handwritten"),
            ("library", "torchvision", "library"),
            ("library", "shapely", "library"),
        ]
        for c in SIZES
    ]
    verdicts += [
        verdict(IOU, "python", "loops", "bench_200"),
        verdict(IOU, "python", "loops", "bench_1000", status="skip", detail="size cap: 1.2e7"),
        verdict(
            IOU, "torch_cuda", "matmul", "bench_200", status="skip", detail="CUDA not available"
        ),
        verdict(
            IOU,
            "numpy",
            EVIL,
            "bench_200",
            status="fail",
            mismatches=3,
            total=40000,
            max_abs=0.5,
            max_rel=1.0,
            error_ratio=4.2,
            rtol=1e-5,
            atol=1e-6,
            detail=f"3 mismatches {EVIL}",
            repro=f"shootout verify --variant '{EVIL}'",
        ),
        verdict("nms", "numpy", "greedy", "bench_200"),
    ]
    measurements = [
        measurement(IOU, "numpy", "broadcast", "bench_200", 1e-4),
        measurement(IOU, "numpy", "broadcast", "bench_1000", 2e-3),
        measurement(IOU, "library", "torchvision", "bench_200", 5e-5, kind="library"),
        measurement(IOU, "library", "torchvision", "bench_1000", 1e-3, kind="library"),
        measurement(IOU, "library", "shapely", "bench_200", 1e-3, kind="library"),
        measurement(IOU, "library", "shapely", "bench_1000", 5e-2, kind="library"),
        measurement(IOU, "python", "loops", "bench_200", 1e-2),
        measurement(
            IOU, "python", "loops", "bench_1000", None, status="skip", reason="size cap: 1.2e7"
        ),
        measurement(IOU, "numpy", EVIL, "bench_200", None, status="fail", reason="wrong"),
        measurement("nms", "numpy", "greedy", "bench_200", 3e-4),
    ]
    folder = tmp_path / "results"
    folder.mkdir()
    write_run(folder / "run-a.json", CPU_BOX, verdicts, measurements)
    return folder


def test_frames_have_one_row_per_entry_and_the_documented_columns(results: Path) -> None:
    frames = load_frames([results])
    m, v = frames.measurements, frames.verdicts
    assert (len(m), len(v), len(frames.runs)) == (10, 11, 1)
    assert list(m.columns[:40]) == [
        "algorithm",
        "backend",
        "variant",
        "impl",
        "kind",
        "case",
        "case_kind",
        "standard",
        "device",
        "dtype",
        "status",
        "reason",
        "verdict",
        "first_call_s",
        "median_s",
        "iqr_s",
        "mean_s",
        "min_s",
        "rounds",
        "flops",
        "bytes",
        "items",
        "item_unit",
        "gflops",
        "gbps",
        "items_per_s",
        "noisy",
        "flagged",
        "warning",
        "peak_rss_mb",
        "device_peak_mb",
        "fresh_s",
        "ci_low_s",
        "ci_high_s",
        "run_id",
        "created",
        "commit",
        "machine",
        "machine_label",
        "profile",
    ]
    assert {"error_ratio", "margin", "tolerance_reason", "repro", "machine"} <= set(v.columns)
    assert set(m["impl"]) >= {"numpy/broadcast", "library/torchvision", f"numpy/{EVIL}"}
    assert set(m["machine"]) == {"aaaaaaaaaaaa"} and set(m["machine_label"]) == {"Test CPU 8-core"}
    skipped = m[m["status"] == "skip"].iloc[0]
    assert math.isnan(skipped["median_s"]) and skipped["reason"] == "size cap: 1.2e7"
    failed = v[v["status"] == "fail"].iloc[0]
    assert failed["margin"] == pytest.approx(1 - 4.2)


def test_speedups_use_the_fastest_library_of_the_same_case_run_and_machine(
    results: Path, tmp_path: Path
) -> None:
    # A later run with no library, and another machine whose library is faster: neither
    # may lend its library time to the first run.
    write_run(
        results / "run-b.json",
        CPU_BOX,
        [],
        [measurement(IOU, "numpy", "broadcast", "bench_200", 2e-4)],
        created="2025-02-01T00:00:00+00:00",
    )
    write_run(
        results / "run-c.json",
        GPU_BOX,
        [],
        [measurement(IOU, "library", "torchvision", "bench_200", 1e-6, kind="library")],
    )
    table = speedups(load_frames([results]).measurements)
    first = table[table["run_id"] == "run-a"]
    ratio = first.set_index(["algorithm", "impl", "case"])["speedup"]
    assert ratio[(IOU, "numpy/broadcast", "bench_200")] == pytest.approx(5e-5 / 1e-4)
    assert ratio[(IOU, "numpy/broadcast", "bench_1000")] == pytest.approx(1e-3 / 2e-3)
    assert ratio[(IOU, "python/loops", "bench_200")] == pytest.approx(5e-5 / 1e-2)
    assert math.isnan(ratio[("nms", "numpy/greedy", "bench_200")])  # no library for nms
    assert set(first["library_impl"]) == {"library/torchvision", ""}
    later = table[table["run_id"] == "run-b"]
    assert len(later) == 1 and math.isnan(later["speedup"].iloc[0])
    assert (table["kind"] != "library").all() and len(table) == 5


def test_speedups_of_no_measurements_is_an_empty_table(tmp_path: Path) -> None:
    path = write_run(tmp_path / "empty.json", CPU_BOX, [], [])
    table = speedups(load_frames([path]).measurements)
    assert table.empty and "speedup" in table.columns


def test_site_is_offline_loads_plotly_once_and_escapes_names(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    index = build_site([results], out)
    assert index == out / "index.html"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [MARKER_FILE, "index.html", "plotly.min.js", "cells.csv", f"{IOU}.html", "nms.html"]
    )
    pages = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.html")}
    for name, text in pages.items():
        assert "cdn" not in text.lower(), name
        assert "<script>alert" not in text, name
        assert len(text) < 500_000, f"{name} seems to embed plotly.js"
    for name in (f"{IOU}.html", "nms.html"):
        assert pages[name].count('<script src="plotly.min.js"></script>') == 1
        assert "Plotly.newPlot" in pages[name]
    page = pages[f"{IOU}.html"]
    assert "rtol 0" not in page  # a skip's default zeros are not shown as a measured error
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "shootout verify" in page and "0.50×" in page
    front = pages["index.html"]
    assert f'href="{IOU}.html"' in front and "not implemented" in front
    assert "not run here: CUDA not available" in front and "status-fail" in front


def test_rebuild_replaces_the_site_and_a_failed_build_keeps_it(
    results: Path, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build_site([results], out)
    (results / "run-a.json").write_text("{ not json")
    with pytest.raises(ResultsError):
        build_site([results], out)
    assert (out / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results", "site"]  # no leftovers
    write_run(results / "run-a.json", CPU_BOX, [verdict("nms", "numpy", "greedy", "bench_200")], [])
    build_site([results], out)
    assert not (out / f"{IOU}.html").exists() and (out / "nms.html").is_file()


def test_refuses_to_replace_a_folder_it_did_not_build(results: Path, tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not built by opshootout"):
        build_site([results], precious)
    assert (precious / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    "document",
    [
        "{ not json",
        json.dumps({"schema_version": 99}),
        json.dumps(
            {
                "schema_version": 1,
                "machine": {},
                "verdicts": [{"algorithm": "x"}],
                "measurements": [],
            }
        ),
    ],
)
def test_corrupt_results_raise_results_error(tmp_path: Path, document: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(document)
    with pytest.raises(ResultsError):
        load_frames([path])


def test_page_names_stay_inside_the_site() -> None:
    assert page_name("nms") == "nms.html"
    assert "/" not in page_name("../../etc/passwd")
    assert page_name("index") != "index.html"
    assert page_name("a/b") != page_name("a_b")


def test_frames_dtypes_survive_an_empty_run(tmp_path: Path) -> None:
    frames = load_frames([write_run(tmp_path / "r.json", CPU_BOX, [], [])])
    assert frames.measurements.empty and frames.measurements["median_s"].dtype == "float64"
    assert isinstance(frames.runs, pd.DataFrame) and frames.runs["machine"].iloc[0] == (
        "aaaaaaaaaaaa"
    )


def test_pages_show_scaling_the_median_interval_one_colour_per_impl_and_a_headline_chart(
    results: Path, tmp_path: Path
) -> None:
    from reports.colours import colour_map

    index = build_site([results], tmp_path / "site")
    page = (tmp_path / "site" / page_name(IOU)).read_text()
    assert "Scaling with problem size" in page
    # numpy/broadcast: 1e-4 s at 4e4 pairs, 2e-3 s at 1e6: k = log 20 / log 25
    assert f"{math.log(20) / math.log(25):.2f}" in page
    assert "95% CI of median" in page
    colour = colour_map(["library/shapely", "library/torchvision", "numpy/broadcast",
                         f"numpy/{EVIL}", "python/loops", "numpy/greedy"])  # fmt: skip
    assert f'"color":"{colour["numpy/broadcast"]}"' in page.replace(" ", "")
    home = index.read_text()
    assert 'id="headline"' in home and '"type":"log"' in home.replace(" ", "")

"""Tests of what the report's pages say: the headline, the standard size, ceilings and the
roofline, first call, noise, history across runs, several machines, and the export table."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from reports.site import build_site
from reports.table import (
    cells,
    headline,
    latest,
    load_frames,
    speedups,
    trusted,
    with_roofline,
)
from tests.reports.test_site import (
    CPU_BOX,
    EVIL,
    GPU_BOX,
    IOU,
    measurement,
    verdict,
    write_run,
)

CEILINGS = {
    "cpu": {
        "memory_gbps": 10.0,
        "memory_method": "copy",
        "matmul_gflops": {"float32": 100.0, "float64": 50.0},
        "matmul_method": {"float32": "numpy 2048", "float64": "numpy 2048"},
        "threads": 1,
    }
}


def _run(folder: Path, name: str, machine: dict[str, Any], **kwargs: Any) -> Path:
    """One run of box IoU: numpy, a library, and a fast numpy variant that is wrong."""
    scale = kwargs.pop("scale", 1.0)
    verdicts = [verdict(IOU, "numpy", "broadcast", c) for c in ("bench_200", "bench_1000")] + [
        verdict(IOU, "library", "shapely", c, kind="library") for c in ("bench_200", "bench_1000")
    ]
    verdicts.append(verdict(IOU, "numpy", EVIL, "bench_200", status="fail", detail="wrong"))
    verdicts.append(verdict(IOU, "numpy", EVIL, "bench_1000"))
    measurements = [
        measurement(IOU, "numpy", "broadcast", "bench_200", 1e-4 * scale, standard=True),
        measurement(IOU, "numpy", "broadcast", "bench_1000", 4e-3 * scale, noisy=True),
        measurement(IOU, "library", "shapely", "bench_200", 4e-4, kind="library", standard=True),
        measurement(IOU, "library", "shapely", "bench_1000", 8e-3, kind="library"),
        # The fastest of all at every size, but it fails a case: never the headline.
        measurement(IOU, "numpy", EVIL, "bench_200", 1e-6, standard=True),
        measurement(IOU, "numpy", EVIL, "bench_1000", 1e-5),
    ]
    return write_run(folder / f"{name}.json", machine, verdicts, measurements, **kwargs)


@pytest.fixture
def two_runs(tmp_path: Path) -> Path:
    """Two runs of one CPU machine (the second 3× slower in numpy) and one of a GPU box."""
    folder = tmp_path / "results"
    folder.mkdir()
    _run(folder, "run-1", CPU_BOX, ceilings=CEILINGS, commit="1111111111aa")
    _run(
        folder,
        "run-2",
        CPU_BOX,
        ceilings=CEILINGS,
        commit="2222222222bb",
        created="2025-03-01T00:00:00+00:00",
        scale=3.0,
    )
    _run(folder, "run-gpu", GPU_BOX, created="2025-03-02T00:00:00+00:00")
    return folder


def test_headline_is_the_fastest_correct_at_the_standard_size(two_runs: Path) -> None:
    frames = load_frames([two_runs])
    best = headline(latest(frames.measurements), latest(frames.verdicts))
    assert list(best["machine"]) == ["aaaaaaaaaaaa", "bbbbbbbbbbbb"]
    cpu = best.iloc[0]
    # the wrong variant is 100× faster and excluded; the standard case is bench_200
    assert cpu["impl"] == "numpy/broadcast" and cpu["case"] == "bench_200"
    assert cpu["median_s"] == pytest.approx(3e-4)  # the latest run on that machine
    assert cpu["library_impl"] == "library/shapely"
    assert cpu["speedup"] == pytest.approx(4e-4 / 3e-4)
    assert cpu["handwritten_impl"] == "numpy/broadcast"
    assert cpu["handwritten_speedup"] == pytest.approx(4e-4 / 3e-4)


def test_roofline_uses_the_runs_ceiling_of_the_rows_device_and_dtype(two_runs: Path) -> None:
    frames = load_frames([two_runs])
    assert set(frames.ceilings["device"]) == {"cpu"} and len(frames.ceilings) == 2
    rows = with_roofline(frames.measurements, frames.ceilings)
    row = rows[(rows["run_id"] == "run-1") & (rows["impl"] == "numpy/broadcast")].iloc[0]
    # cost model of the fixture: 12 flops and 4 bytes per item, so intensity 3 flop/byte;
    # the roof there is min(100 GFLOP/s, 3 × 10 GB/s) = 30 GFLOP/s
    assert row["intensity"] == pytest.approx(3.0)
    assert row["roof_gflops"] == pytest.approx(30.0)
    assert row["roof_fraction"] == pytest.approx(row["gflops"] / 30.0)
    gpu = rows[rows["run_id"] == "run-gpu"]
    assert gpu["roof_fraction"].isna().all()  # that run measured no ceilings


def test_export_has_one_row_per_implementation_case_machine_and_run(two_runs: Path) -> None:
    table = cells(load_frames([two_runs]))
    key = ["machine", "run_id", "impl", "case"]
    assert not table.duplicated(key).any()
    assert len(table) == 3 * 6
    failed = table[(table["verdict"] == "fail")]
    assert len(failed) == 3 and (failed["timing_status"] == "ok").all()
    assert {"margin", "median_s", "first_call_s", "roof_fraction", "noisy"} <= set(table.columns)


def test_pages_show_roofline_first_call_noise_and_machine_in_every_chart(
    two_runs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build_site([two_runs], out)
    page = (out / f"{IOU}.html").read_text(encoding="utf-8")
    for div in ("timing-0", "speedup-0", "roofline-0", "first-call-0", "timing-1"):
        assert f'id="{div}"' in page, div
    assert "No ceilings were measured in this run" in page  # the GPU box measured none
    assert "memory 10 GB/s" in page and "100 GFLOP/s float32" in page
    assert 'class="noisy"' in page and "IQR/median" in page
    # Every chart title names the machine it comes from.
    titles = re.findall(r'"title":\{"text":"([^"]*)","font":\{"size":14\}\}', page)
    assert len(titles) >= 5
    assert all(("Test CPU 8-core" in t) or ("Test GPU" in t) for t in titles), titles
    assert "history.html#history-" in page


def test_history_page_follows_the_standard_case_per_machine(two_runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site([two_runs], out)
    history = (out / "history.html").read_text(encoding="utf-8")
    assert history.count("Plotly.newPlot") == 1  # the GPU box has one run: no chart
    assert "case bench_200" in history
    assert "2025-03-01 00:00 \\u00b7 22222222" in history  # plotly writes · as \\u00b7
    assert "11111111" in history
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="history.html"' in index and 'href="cells.csv"' in index
    data = pd.read_csv(out / "cells.csv")
    assert len(data) == 18


def test_no_history_page_from_a_single_run(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    _run(folder, "run-1", CPU_BOX)
    build_site([folder], tmp_path / "site")
    assert not (tmp_path / "site" / "history.html").exists()
    assert "history.html" not in (tmp_path / "site" / "index.html").read_text()


def test_index_cells_link_to_the_machine_section_and_show_the_standard_size(
    two_runs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build_site([two_runs], out)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f'href="{IOU}.html#machine-aaaaaaaaaaaa"' in index
    assert f'href="{IOU}.html#machine-bbbbbbbbbbbb"' in index
    assert "Algorithms × backends on Test CPU 8-core (aaaaaaaaaaaa)" in index
    assert "Algorithms × backends on Test CPU 8-core + Test GPU (bbbbbbbbbbbb)" in index
    # numpy at the standard size: 300 µs, 1.33× the library; never the wrong variant's 1 µs
    assert "300 µs · broadcast · 1.33× vs library" in index
    assert "1 µs" not in index
    page = (out / f"{IOU}.html").read_text(encoding="utf-8")
    assert 'id="machine-aaaaaaaaaaaa"' in page and 'id="machine-bbbbbbbbbbbb"' in page


def test_a_plugin_name_never_becomes_markup_anywhere(two_runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site([two_runs], out)
    for path in out.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "<script>alert" not in text, path.name
    csv = (out / "cells.csv").read_text(encoding="utf-8")
    assert EVIL in csv  # the data keeps the name as it is; only markup escapes it


def test_first_call_falls_back_to_the_largest_size_without_a_standard_case(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    write_run(
        folder / "old.json",
        CPU_BOX,
        [verdict(IOU, "numpy", "broadcast", c) for c in ("bench_200", "bench_1000")],
        [
            measurement(IOU, "numpy", "broadcast", "bench_200", 1e-4),
            measurement(IOU, "numpy", "broadcast", "bench_1000", 2e-3),
        ],
    )
    build_site([folder], tmp_path / "site")
    page = (tmp_path / "site" / f"{IOU}.html").read_text(encoding="utf-8")
    assert "First call vs steady state, case bench_1000" in page
    assert not math.isnan(load_frames([folder]).measurements["first_call_s"].iloc[1])


def test_a_flagged_timing_is_shown_but_never_ranked(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    flagged = "faster than the machine allows: 9e+03 GFLOP/s is 90.0x the measured peak"
    verdicts = [
        verdict(IOU, "numpy", v, "bench_200") for v in ("broadcast", "cached", "threaded")
    ] + [verdict(IOU, "library", "shapely", "bench_200", kind="library")]
    measurements = [
        measurement(IOU, "numpy", "broadcast", "bench_200", 1e-4, standard=True),
        # faster than all, correct answers, but timings that cannot be trusted
        measurement(IOU, "numpy", "cached", "bench_200", 1e-7, standard=True, flagged=flagged),
        measurement(
            IOU, "numpy", "threaded", "bench_200", 1e-5, standard=True, flagged="ran with 8 threads"
        ),
        measurement(IOU, "library", "shapely", "bench_200", 4e-4, kind="library", standard=True),
    ]
    write_run(folder / "run.json", CPU_BOX, verdicts, measurements, ceilings=CEILINGS)
    frames = load_frames([folder])
    best = headline(frames.measurements, frames.verdicts).iloc[0]
    assert best["impl"] == "numpy/broadcast" and best["handwritten_impl"] == "numpy/broadcast"
    assert set(speedups(frames.measurements)["impl"]) == {"numpy/broadcast"}
    assert set(trusted(frames.measurements)["impl"]) == {"numpy/broadcast", "library/shapely"}
    build_site([folder], tmp_path / "site")
    page = (tmp_path / "site" / f"{IOU}.html").read_text(encoding="utf-8")
    assert "not trusted" in page and "2 not trusted (left out of every ranking)" in page
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "100 µs · broadcast" in index  # the matrix cell: the fastest trusted variant
    assert "· cached" not in index and "· threaded" not in index

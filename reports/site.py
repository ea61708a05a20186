"""Building the offline HTML site from results files, published all at once or not at all."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path

import plotly.offline

from harness.results import current_umask
from reports.algorithm_page import render_algorithm
from reports.colours import Palette, colour_map
from reports.history_page import HISTORY_FILE, has_history, render_history
from reports.index_page import render_index
from reports.markup import PLOTLY_FILE
from reports.table import Frames, cells, load_frames, speedups

INDEX_FILE = "index.html"
DATA_FILE = "cells.csv"
# Present in every site this module builds: only such a folder is ever replaced.
MARKER_FILE = ".opshootout-site"
_MARKER_TEXT = "Built by opshootout's reports; the whole folder is replaced on each build.\n"


def build_site(paths: list[Path], out_dir: Path) -> Path:
    """Render every page from the results in ``paths`` into ``out_dir``; returns index.html.

    Bad results files raise ResultsError before anything is written. The site is built in
    a sibling folder and swapped in at the end, so ``out_dir`` holds either the previous
    site or the new one, never a mixture.
    """
    return publish_frames(load_frames(paths), out_dir)


def publish_frames(frames: Frames, out_dir: Path) -> Path:
    """Render the site from loaded frames and swap it into ``out_dir``; returns index.html."""
    publish(render_site(frames), Path(out_dir))
    return Path(out_dir) / INDEX_FILE


def page_name(algorithm: str) -> str:
    """A file name for the algorithm's page that cannot escape the folder or hit index."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", algorithm)
    reserved = {f.removesuffix(".html") for f in (INDEX_FILE, HISTORY_FILE)}
    if safe != algorithm or not safe or safe.lower() in reserved:
        safe = f"{safe}-{hashlib.sha256(algorithm.encode()).hexdigest()[:8]}"
    return f"{safe}.html"


def render_site(frames: Frames) -> dict[str, str]:
    """Every file of the site as name -> text, plotly.js once among them."""
    algorithms = sorted(set(frames.verdicts["algorithm"]) | set(frames.measurements["algorithm"]))
    pages = {algorithm: page_name(algorithm) for algorithm in algorithms}
    ratios = speedups(frames.measurements)
    history = HISTORY_FILE if has_history(frames) else None
    # one colour per implementation on every chart and page of the site
    colours = Palette(colour_map(str(i) for i in frames.measurements["impl"]))
    files = {
        INDEX_FILE: render_index(
            frames, pages, ratios, history=history, data=DATA_FILE, colours=colours
        ),
        PLOTLY_FILE: plotly.offline.get_plotlyjs(),
        DATA_FILE: cells(frames).to_csv(index=False),
    }
    if history:
        files[HISTORY_FILE] = render_history(frames, pages, colours)
    for algorithm, name in pages.items():
        files[name] = render_algorithm(frames, ratios, algorithm, history=history, colours=colours)
    return files


def publish(files: Mapping[str, str], out_dir: Path) -> None:
    """Write ``files`` into a fresh sibling folder, then swap it in place of ``out_dir``."""
    check_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    try:
        # mkdtemp makes it private: give it what any folder the user makes gets
        os.chmod(staging, 0o777 & ~current_umask())
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        (staging / MARKER_FILE).write_text(_MARKER_TEXT, encoding="utf-8")
        _swap(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_replaceable(out_dir: Path) -> None:
    """FileExistsError unless ``out_dir`` is absent, empty or a site this module built."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a folder; refusing to replace it")
    if any(out_dir.iterdir()) and not (out_dir / MARKER_FILE).is_file():
        raise FileExistsError(
            f"{out_dir} is not empty and was not built by opshootout (no "
            f"{MARKER_FILE}); refusing to replace it"
        )


def _swap(staging: Path, out_dir: Path) -> None:
    """Two renames: the old site steps aside, the new one takes its name, the old is removed."""
    if not out_dir.exists():
        os.replace(staging, out_dir)
        return
    retired = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
    os.replace(out_dir, retired)
    try:
        os.replace(staging, out_dir)
    except BaseException:
        os.replace(retired, out_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)

"""The HTML report: results files into tidy pandas tables (``load_results``), then into a
static offline site."""

from reports.frames import Frames, load_results

__all__ = ["Frames", "load_results"]

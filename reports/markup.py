"""The HTML vocabulary of the report: escaping, the page shell, tables and number formats.

Every string that reaches a page goes through ``esc`` or is built here from escaped
parts; the ``Html`` type marks text that is already safe, so mypy catches a raw name
from a results file being pasted into markup.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any, NewType

import pandas as pd

Html = NewType("Html", str)

PLOTLY_FILE = "plotly.min.js"

# Verdict statuses in the order a reader should see them: the worst first.
SEVERITY = ("error", "fail", "xfail", "pass", "skip")

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem 2rem; color: #1d1d1f; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1.2rem; font-size: 0.9rem; }
th, td { border: 1px solid #d0d0d5; padding: 0.3rem 0.5rem; vertical-align: top; }
th { background: #f2f2f5; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 0.8rem; word-break: break-all; }
.meta { color: #555; margin: 0.15rem 0; }
.status-pass, .status-xfail { background: #d6f5dc; }
.status-fail { background: #f9d2d2; }
.status-error { background: #f5b5a0; }
.status-skip { background: #e9e9ec; color: #444; }
.status-none { background: #fff; color: #999; font-style: italic; }
.faster { background: #d6f5dc; } .slower { background: #f9e2d2; }
.legend span { display: inline-block; padding: 0.15rem 0.5rem; margin-right: 0.3rem;
  border: 1px solid #d0d0d5; }
.small { font-size: 0.8rem; color: #444; }
.noisy { font-size: 0.75rem; color: #8a4b00; background: #fff1d6; border-radius: 3px;
  padding: 0 0.25rem; margin-left: 0.25rem; }
a.cell { color: inherit; text-decoration: none; display: block; }
a.cell:hover { text-decoration: underline; }
nav a { margin-right: 1rem; }
details { margin: 0.5rem 0 1rem; } summary { cursor: pointer; color: #333; }
"""


def esc(value: Any) -> Html:
    """Text from anywhere (results files above all) made safe to place in HTML."""
    return Html(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[Html], sep: str = "") -> Html:
    return Html(sep.join(parts))


def tag(name: str, content: Html, **attrs: str) -> Html:
    """One element; attribute values are escaped, the content must already be Html."""
    rendered = "".join(
        f' {key.rstrip("_")}="{esc(value)}"' for key, value in attrs.items() if value
    )
    return Html(f"<{name}{rendered}>{content}</{name}>")


def link(href: str, text: Html) -> Html:
    return tag("a", text, href=href)


def page(title: str, body: Html, *, charts: bool = False) -> str:
    """A whole document; pages with charts load the one shared plotly.js by relative path."""
    script = f'<script src="{PLOTLY_FILE}"></script>' if charts else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n{script}\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[Html | tuple[Html, str]]]) -> Html:
    """A table of Html cells; a cell may be (content, css class) to colour or align it."""
    head = join(tag("th", esc(h)) for h in headers)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            content, cls = cell if isinstance(cell, tuple) else (cell, "")
            cells.append(tag("td", content, class_=cls))
        body.append(tag("tr", join(cells)))
    return tag("table", join([tag("thead", tag("tr", head)), tag("tbody", join(body))]))


def flag(value: Any) -> bool:
    """A nullable boolean read from a frame: True only when recorded as true."""
    return False if value is None or value is pd.NA else bool(value)


def anchor(prefix: str, name: str) -> str:
    """An element id built from any name: safe characters kept, the rest folded to '_'."""
    return f"{prefix}-{''.join(ch if ch.isalnum() or ch in '-_' else '_' for ch in name)}"


def status_class(status: str) -> str:
    return f"status-{status}" if status in SEVERITY else "status-none"


def legend() -> Html:
    entries = [
        ("pass", "pass"),
        ("fail", "fail"),
        ("error", "error"),
        ("skip", "not run here (reason)"),
        ("none", "not implemented"),
    ]
    return tag(
        "p",
        join(tag("span", esc(text), class_=status_class(s)) for s, text in entries),
        class_="legend",
    )


# ---- numbers ------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def fmt_seconds(value: Any) -> str:
    if _missing(value):
        return "–"
    seconds = float(value)
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_number(value: Any) -> str:
    """Three significant digits; integers below a billion in full."""
    if _missing(value):
        return "–"
    number = float(value)
    if number.is_integer() and abs(number) < 1e9:
        return f"{int(number):,}"
    return f"{number:.3g}"


def fmt_ratio(value: Any) -> str:
    return "–" if _missing(value) else f"{float(value):.2f}×"

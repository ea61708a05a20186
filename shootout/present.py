"""Terminal presentation: the tables and texts the CLI prints, pure functions of records."""

from __future__ import annotations

import inspect
import json
from collections import Counter, defaultdict
from typing import Any

from harness.registry import Implementation, Registry
from harness.spec import Suite
from harness.verify import STATUSES


def _table(rows: list[list[Any]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    # the last column is free text (notes, reasons): its rule need not span the longest
    rules = [*("-" * w for w in widths[:-1]), "-" * min(widths[-1], max(len(header[-1]), 20))]
    lines = [fmt.format(*header), fmt.format(*rules)]
    lines += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


# ---- list ------------------------------------------------------------------------------


def list_records(registry: Registry, impls: list[Implementation]) -> list[dict[str, Any]]:
    out = []
    for impl in impls:
        reason = impl.unavailable_reason(quick=True)  # a listing imports no array library
        out.append(
            {
                "algorithm": impl.algorithm,
                "backend": impl.backend,
                "variant": impl.variant,
                "kind": impl.kind,
                "available": reason is None,
                "reason": reason or "",
                "origin": impl.origin,
                "description": impl.description,
            }
        )
    return out


def list_table(records: list[dict[str, Any]]) -> str:
    rows = [
        [
            r["algorithm"],
            r["backend"],
            r["variant"],
            r["kind"],
            "yes" if r["available"] else f"no: {r['reason']}",
        ]
        for r in records
    ]
    n_ok = sum(r["available"] for r in records)
    algos = len({r["algorithm"] for r in records})
    return (
        _table(rows, ["algorithm", "backend", "variant", "kind", "runs here"])
        + f"\n\n{len(records)} implementations of {algos} algorithms; {n_ok} run here"
    )


# ---- describe ----------------------------------------------------------------------------


def signature_text(suite: Suite) -> str:
    params = ", ".join(_typed_params(suite))
    returns = suite.outputs[0] if len(suite.outputs) == 1 else f"({', '.join(suite.outputs)})"
    return f"{suite.algorithm}({params}) -> {returns}"


def _typed_params(suite: Suite) -> list[str]:
    params = [f"{d.name}: {d.shown}" for d in suite.args.decls]
    if suite.takes_options:
        params.append(f"opts: {suite.options.__name__}")
    return params


def describe_record(suite: Suite, registry: Registry) -> dict[str, Any]:
    """The contract as data (``describe --json``)."""
    doc = inspect.getdoc(suite.oracle) or ""
    errors = [
        {
            "case": e.name,
            "raises": "/".join(x.__name__ for x in e.expected),
            "message_matches": e.match,
        }
        for e in suite.error_cases
    ]
    bench = {p: [dict(c.params) for c in cases] for p, cases in suite.bench.items()}
    impls = [i.key for i in registry.select([suite.algorithm])]
    return {
        "algorithm": suite.algorithm,
        "family": suite.family,
        "summary": suite.summary,
        "signature": signature_text(suite),
        "inputs": {d.name: d.shown for d in suite.args.decls},
        "options": {
            f.name: {"values": list(f.values), "meaning": f.meaning} for f in suite.options.flags()
        },
        "outputs": list(suite.outputs),
        "conventions": suite.conventions,
        "reference": suite.reference,
        "oracle": doc,
        "cases": [c.name for c in suite.cases],
        "error_cases": errors,
        "bench": bench,
        "implementations": impls,
    }


def describe(suite: Suite, registry: Registry) -> str:
    info = describe_record(suite, registry)
    errors, impls = info["error_cases"], info["implementations"]
    opts = (
        "\n".join(
            f"  {f.name}: {', '.join(map(repr, f.values))}  (default {f.default!r}): {f.meaning}"
            for f in suite.options.flags()
        )
        or "  (none)"
    )
    errs = "\n".join(
        f"  {e['case']}: raise {e['raises']} matching {e['message_matches']!r}" for e in errors
    )
    skeleton = _skeleton(suite)
    return f"""{suite.algorithm} ({suite.family})
{suite.summary}

signature
  {signature_text(suite)}
  Positional inputs arrive as native arrays of your backend (plain lists for `python`);
  the options arrive last, as one {suite.options.__name__} record. Start with the one-line
  check of the skeleton: it raises the errors below for any backend.

options (policy flags; the first value is the default; every value is yours to handle
unless you narrow a flag with supports={{"flag": (values...)}}, which then refuses the rest)
{opts}

conventions
  {suite.conventions}

must raise
{errs}

correctness
  compared with {type(suite.compare).__name__} against the float64 oracle; inputs must not be
  modified; output dtype follows the input dtype for floats (int64 for indices).
  reference library: {suite.reference or "(oracle only)"}

implementations registered: {len(impls)}

a new implementation (save as my_impl.py, then `shootout verify --plugin my_impl.py`)
{skeleton}"""


def _skeleton(suite: Suite) -> str:
    import importlib

    module = importlib.import_module(f"suites.{suite.base_algorithm}")
    args = next((k for k, v in vars(module).items() if v is suite.args), "ARGS")
    params = ", ".join(suite.parameters)
    names = params + (", opts" if suite.takes_options else "")
    imports = args + (f", {suite.options.__name__}" if suite.takes_options else "")
    typed = ", ".join(
        [f"{p}: Any" for p in suite.parameters]
        + ([f"opts: {suite.options.__name__}"] if suite.takes_options else [])
    )
    prepare = ", prepare=True" if suite.mode != "forward" else ""
    return (
        f"  from typing import Any\n"
        f"  from harness import implementation\n"
        f"  from suites.{suite.base_algorithm} import {imports}\n\n"
        f'  @implementation({suite.algorithm!r}, "numpy", "mine"{prepare})\n'
        f"  def mine({typed}) -> Any:\n"
        f"      dtype = {args}.check({params})  # the result's float dtype\n"
        f"      ...  # uses {names}"
    )


# ---- verify ------------------------------------------------------------------------------


VERDICT_HEADER = ["algorithm", "backend", "variant", *STATUSES, "note"]


def verdict_rows(verdicts: list[dict[str, Any]]) -> list[list[Any]]:
    """One row of VERDICT_HEADER per implementation: counts per status, and a note with
    what failed or was skipped, in whole clauses (never cut mid-sentence)."""
    from shootout.digest import impl_notes

    groups: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for v in verdicts:
        groups[(v["algorithm"], v["backend"], v["variant"])][v["status"]] += 1
    notes = impl_notes(verdicts)
    return [
        [*key, *(counts.get(s, 0) or "." for s in STATUSES), notes.get("/".join(key), "")]
        for key, counts in groups.items()
    ]


def verdict_table(
    verdicts: list[dict[str, Any]], verbose: bool = False, fuzz: list[dict[str, Any]] | None = None
) -> str:
    from shootout.digest import failure_groups

    out = [_table(verdict_rows(verdicts), VERDICT_HEADER)]
    if verbose:
        cells = [
            [
                v["algorithm"],
                f"{v['backend']}/{v['variant']}",
                v["case"],
                v["status"],
                f"{v['error_ratio']:.3g}" if v["status"] == "pass" else "",
                v["detail"] or v["note"],
            ]
            for v in verdicts
        ]
        out.append(
            _table(cells, ["algorithm", "implementation", "case", "status", "err/tol", "detail"])
        )
    out += [group.text() for group in failure_groups(verdicts)]
    out += warning_lines(verdicts)
    for f in fuzz or []:
        out.append(
            f"FUZZ {f['impl']}: shrunk failing case {json.dumps(f['case'])}\n  re-run: {f['repro']}"
        )
    totals = Counter(v["status"] for v in verdicts)
    out.append(", ".join(f"{totals.get(s, 0)} {s}" for s in STATUSES) + f" ({len(verdicts)} cells)")
    return "\n\n".join(out)


def warning_lines(records: list[dict[str, Any]]) -> list[str]:
    """One line per implementation and warning (harness.hygiene), with its cell count."""
    cells: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in records:
        if r.get("warning"):
            cells[(f"{r['algorithm']}/{r['backend']}/{r['variant']}", r["warning"])].append(
                r["case"]
            )
    return [
        f"WARN {impl} ({len(cases)} cell{'s' * (len(cases) > 1)}: {', '.join(cases[:3])}"
        f"{', ...' if len(cases) > 3 else ''}): {warning}"
        for (impl, warning), cases in cells.items()
    ]


# ---- bench -------------------------------------------------------------------------------


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


MEASUREMENT_HEADER = [
    "implementation",
    "status",
    "median",
    "IQR",
    "first call",
    "GFLOP/s",
    "GB/s",
    "vs library",
]


def measurement_blocks(records: list[dict[str, Any]]) -> list[tuple[str, list[list[str]]]]:
    """Per algorithm and case, fastest first: the rows of MEASUREMENT_HEADER (a cell not
    timed says why in the last column, whole)."""
    by_case: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for m in records:
        by_case[(m["algorithm"], m["case"])].append(m)
    blocks = []
    for (algo, case), ms in by_case.items():
        lib = [
            m["median_s"]
            for m in ms
            if m["kind"] == "library" and m["median_s"] and not m.get("flagged")
        ]
        ref = min(lib) if lib else None
        rows = []
        for m in sorted(ms, key=lambda m: m["median_s"] or float("inf")):
            name = f"{m['backend']}/{m['variant']}"
            if m["median_s"] is None:
                rows.append([name, m["status"], "", "", "", "", "", m["reason"]])
                continue
            iqr = m["iqr_s"] / m["median_s"] * 100 if m["median_s"] else 0.0
            speed = f"{ref / m['median_s']:.2f}x" if ref else "-"
            rows.append(
                [
                    name,
                    "FLAGGED" if m.get("flagged") else "ok",
                    fmt_time(m["median_s"]),
                    f"{iqr:.0f}%" + (" noisy" if m["noisy"] else ""),
                    fmt_time(m["first_call_s"]),
                    f"{m['gflops']:.3g}",
                    f"{m['gbps']:.3g}",
                    speed,
                ]
            )
        blocks.append((f"{algo} / {case}", rows))
    return blocks


def measurement_table(records: list[dict[str, Any]]) -> str:
    blocks = [
        f"{title}\n" + _table(rows, MEASUREMENT_HEADER)
        for title, rows in measurement_blocks(records)
    ]
    flagged = [
        f"FLAGGED {m['algorithm']}/{m['backend']}/{m['variant']} on {m['case']} (left out of "
        f"rankings and budgets): {m['flagged']}"
        for m in records
        if m.get("flagged")
    ]
    blocks += [*flagged, *warning_lines(records)]
    return "\n\n".join(blocks) if blocks else "no measurements"

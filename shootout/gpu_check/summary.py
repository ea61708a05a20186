"""The GPU check's summary: which GPU cells passed, failed or were skipped, their
standard-case times, the ceilings, the fixtures and the phases, as JSON and as Markdown.

Both are pure functions of what the phases left in the output folder (the probe record,
the merged results document, the fixtures manifest) and of the phase outcomes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

STATUSES = ("pass", "xfail", "skip", "fail", "error")
GPU_BACKENDS = ("torch_cuda", "cupy")


def _key(entry: dict[str, Any]) -> str:
    return f"{entry['algorithm']}/{entry['backend']}/{entry['variant']}"


def implementations(
    results: dict[str, Any], cells: list[dict[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(GPU implementations, library references on the CPU): per implementation its verify
    counts, its failures, and its standard-case measurement."""
    cells = cells if isinstance(cells, list) else []
    cuda_library = {c["impl"] for c in cells if c.get("backend") == "library"}
    cuda_library |= {_key(m) for m in results.get("measurements", []) if m.get("device") == "cuda"}
    rows: dict[str, dict[str, Any]] = {}

    def row(key: str) -> dict[str, Any]:
        return rows.setdefault(
            key, {"impl": key, "verify": dict.fromkeys(STATUSES, 0), "failures": [], "standard": {}}
        )

    for cell in cells:
        row(cell["impl"])["not_run_reason"] = cell.get("reason", "")
    for v in results.get("verdicts", []):
        if v.get("case_kind") == "bench":
            continue  # the timed case: its verdict sits with its measurement
        r = row(_key(v))
        r["verify"][v["status"]] = r["verify"].get(v["status"], 0) + 1
        if v["status"] in ("fail", "error"):
            r["failures"].append({k: v.get(k, "") for k in ("case", "status", "detail", "repro")})
    timing = (results.get("gpu_check") or {}).get("cells", {})
    for m in results.get("measurements", []):
        cell_id = f"{_key(m)}/{m['case']}"
        r = row(_key(m))
        r["standard"] = {
            "case": m["case"],
            "status": m.get("status"),
            "verdict": m.get("verdict"),
            "reason": m.get("reason", ""),
            **{k: m.get(k) for k in ("median_s", "iqr_s", "rounds", "gbps", "gflops", "noisy")},
            **timing.get(cell_id, {}),
        }
    gpu: list[dict[str, Any]] = []
    cpu: list[dict[str, Any]] = []
    for key in sorted(rows):
        backend = key.split("/")[1]
        is_gpu = backend in GPU_BACKENDS or key in cuda_library
        (gpu if is_gpu else cpu).append(rows[key])
    return gpu, [r for r in cpu if r["standard"]]


def overall(gpu: list[dict[str, Any]]) -> dict[str, int]:
    """Verdict counts over every GPU cell (verify cases and standard cases together)."""
    counts: Counter[str] = Counter()
    for r in gpu:
        counts.update({k: v for k, v in r["verify"].items() if v})
        status = r["standard"].get("verdict") or r["standard"].get("status")
        if status:
            counts[status if status in STATUSES else "pass"] += 1
    return {k: counts.get(k, 0) for k in STATUSES}


def _module_text(record: dict[str, Any]) -> str:
    if not record.get("ok"):
        return f"no: {record.get('error')}"
    version = record.get("version") or "?"
    return version if record.get("imported", True) else f"{version} (installed, not imported)"


def build(
    *,
    meta: dict[str, Any],
    probe: dict[str, Any],
    phases: list[dict[str, Any]],
    results: dict[str, Any],
    manifest: dict[str, Any] | None,
) -> dict[str, Any]:
    gpu, library = implementations(results, probe.get("cells"))
    cuda = probe.get("cuda") or {"available": False, "reason": "not probed"}
    fixtures = manifest or {}
    entries = fixtures.get("fixtures", [])
    return {
        **meta,
        "cuda": cuda,
        "importable": {k: _module_text(v) for k, v in (probe.get("modules") or {}).items()},
        "missing_required": probe.get("missing_required", []),
        "phases": phases,
        "gpu_cells": overall(gpu),
        "gpu_implementations": gpu,
        "library_references": library,
        "ceilings": results.get("ceilings", {}),
        "tf32": (results.get("gpu_check") or {}).get("tf32") or cuda.get("torch", {}).get("tf32"),
        "machine": results.get("machine", {}),
        "fixtures": {
            "written": len(entries),
            "bytes": sum(int(e.get("bytes", 0)) for e in entries),
            "failed": fixtures.get("failed", []),
            "skipped": fixtures.get("skipped", []),
            "ops": sorted({e["op"] for e in entries}),
        },
    }


# ---- Markdown --------------------------------------------------------------------------------


def _seconds(value: Any) -> str:
    if not isinstance(value, int | float):
        return ""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value * 1e9:.3g} ns"


def _num(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, int | float) else ""


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return out


def _standard_cells(s: dict[str, Any]) -> list[str]:
    if s.get("status") != "ok":
        why = s.get("reason") or s.get("status") or "not timed"
        return [s.get("case", ""), why, "", "", "", "", "", ""]
    return [
        s.get("case", ""),
        _seconds(s.get("median_s")),
        _seconds(s.get("iqr_s")),
        str(s.get("rounds", "")),
        _num(s.get("gbps")),
        _num(s.get("gflops")),
        "yes" if s.get("l2_flush") else "no",
        s.get("clock", ""),
    ]


def markdown(summary: dict[str, Any]) -> str:
    cuda = summary["cuda"]
    device = (cuda.get("torch") or {}).get("device") or (cuda.get("cupy") or {}).get("device")
    title = device if cuda.get("available") else cuda.get("reason") or "no CUDA device"
    counts = summary["gpu_cells"]
    lines = [
        f"# GPU check: {title}",
        "",
        f"{summary.get('created', '')}, commit {summary.get('commit') or '?'}, budget "
        f"{summary.get('budget_s')} s, took {summary.get('elapsed_s')} s, exit status "
        f"{summary.get('exit_status')}.",
        "",
        "GPU cells: " + ", ".join(f"{counts[k]} {k}" for k in STATUSES) + ".",
        "",
        "## Phases",
        "",
        *_table(
            ["phase", "status", "seconds", "detail"],
            [
                [p["name"], p["status"], f"{p['seconds']:.1f}", p["detail"]]
                for p in summary["phases"]
            ],
        ),
        "",
        "## GPU implementations",
        "",
    ]
    head = ["implementation", *STATUSES, "standard case", "median", "IQR", "rounds"]
    head += ["GB/s", "GFLOP/s", "L2 flush", "clock"]
    rows = [
        [r["impl"], *(r["verify"].get(k, 0) for k in STATUSES), *_standard_cells(r["standard"])]
        for r in summary["gpu_implementations"]
    ]
    lines += _table(head, rows) if rows else ["(none)"]
    failures = [(r["impl"], f) for r in summary["gpu_implementations"] for f in r["failures"]]
    if failures:
        lines += ["", "## Failures", ""]
        lines += [
            f"- `{impl}` on `{f['case']}`: {f['status']}: {f['detail']}  \n  `{f['repro']}`"
            for impl, f in failures
        ]
    if summary["library_references"]:
        lines += ["", "## Library references (timed beside the GPU cells)", ""]
        lines += _table(
            ["implementation", "standard case", "median", "IQR", "rounds", "GB/s", "GFLOP/s"],
            [
                [r["impl"], *_standard_cells(r["standard"])[:6]]
                for r in summary["library_references"]
            ],
        )
    lines += ["", "## Ceilings", ""]
    for device, rec in (summary["ceilings"] or {}).items():
        if rec.get("unavailable"):
            lines.append(f"- {device}: not measured ({rec.get('note')})")
            continue
        flops = ", ".join(f"{k} {_num(v)}" for k, v in rec.get("matmul_gflops", {}).items())
        lines.append(f"- {device}: {_num(rec.get('memory_gbps'))} GB/s; GFLOP/s: {flops}")
    if not summary["ceilings"]:
        lines.append("- not measured")
    lines += ["", f"TF32: {summary.get('tf32') or 'not recorded (no CUDA torch)'}", ""]
    fx = summary["fixtures"]
    lines += [
        "## Golden fixtures",
        "",
        f"{fx['written']} written ({fx['bytes'] / 1024:.0f} KiB), {len(fx['failed'])} failed, "
        f"{len(fx['skipped'])} skipped.",
    ]
    lines += [f"- failed: {f.get('op')} {f.get('variant', '')} {f.get('device', '')}: "
              f"{f.get('reason')}" for f in fx["failed"]]  # fmt: skip
    reasons = sorted({str(s.get("reason")) for s in fx["skipped"]})
    lines += [f"- skipped: {r}" for r in reasons]
    lines += ["", "## Importable", ""]
    lines += _table(["module", "version"], [[k, v] for k, v in summary["importable"].items()])
    lines += ["", "## Files", ""] + [f"- `{f}`" for f in summary.get("files", [])]
    lines += [
        "",
        "Into the checkout: copy `" + str(summary.get("results_file", "results/*.json")) + "` to "
        "`results/` (`git add -f`: results/ is ignored) and `fixtures/.` to "
        "`tests/fixtures/golden/`, then commit both (README: Running the GPU check).",
    ]
    return "\n".join(lines) + "\n"

"""The regression gate's judgement: thresholds, per-cell statistics, FDR control and budgets.

A cell (implementation × case) is timed in several rounds on each side, base and
candidate, each round in a fresh worker process, and each round gives one figure: the
median of its pytest-benchmark samples. Rounds are the independent units: samples
within a round share one process (its memory layout, its JIT code, the machine's state of
the moment), and on a 2-core machine that process effect alone moved medians by 10-20 %
in A/A trials, so pooling samples across rounds would count one process many times.

* effect: ratio = median(candidate round medians) / median(base round medians), with a
  bootstrap confidence interval that resamples rounds on each side;
* evidence: a two-sided Mann-Whitney U test on the round medians, its p-values adjusted
  across all cells by Benjamini-Hochberg, so the expected share of false alarms among the
  cells flagged stays at ``alpha`` however many cells there are.

slower: ratio ≥ the algorithm's ``slower`` threshold, q ≤ alpha and the CI above 1.
faster: the mirror image. same: the whole CI inside [1/faster, slower]. Anything else is
ambiguous: a changed median without enough evidence, or too few rounds to say.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.gate import GateError


@dataclass(frozen=True)
class Thresholds:
    slower: float = 1.10  # candidate/base ratio of medians from which a cell is slower
    faster: float = 1.10  # base/candidate ratio from which it is faster
    alpha: float = 0.05  # false-discovery rate across all cells
    rounds: int = 8  # interleaved rounds per side, each in a fresh process
    min_rounds: int = 3  # pytest-benchmark rounds within one gate round


@dataclass(frozen=True)
class GateConfig:
    defaults: Thresholds = field(default_factory=Thresholds)
    algorithms: Mapping[str, Thresholds] = field(default_factory=dict)

    def for_algorithm(self, algorithm: str) -> Thresholds:
        return self.algorithms.get(algorithm, self.defaults)


_THRESHOLD_KEYS = {
    "slower": float,
    "faster": float,
    "alpha": float,
    "rounds": int,
    "min_rounds": int,
}


def _thresholds(table: Any, where: str, base: Thresholds) -> Thresholds:
    if not isinstance(table, dict):
        raise GateError(f"{where} must be a table of thresholds")
    unknown = set(table) - set(_THRESHOLD_KEYS)
    if unknown:
        raise GateError(
            f"{where}: unknown key(s) {sorted(unknown)} (known: {sorted(_THRESHOLD_KEYS)})"
        )
    values = asdict(base)
    for key, kind in _THRESHOLD_KEYS.items():
        if key not in table:
            continue
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise GateError(f"{where}.{key} must be a number, got {value!r}")
        if not math.isfinite(value):  # NaN compares false: `slower = nan` never fires
            raise GateError(f"{where}.{key} must be finite, got {value!r}")
        if kind is int and not float(value).is_integer():
            raise GateError(f"{where}.{key} must be a whole number, got {value!r}")
        values[key] = kind(value)
    t = Thresholds(**values)
    if t.slower <= 1 or t.faster <= 1:
        raise GateError(f"{where}: slower and faster are ratios and must be above 1")
    if not 0 < t.alpha < 1:
        raise GateError(f"{where}.alpha must be between 0 and 1")
    if t.rounds < 2 or t.min_rounds < 1:
        raise GateError(f"{where}: rounds must be at least 2 and min_rounds at least 1")
    return t


def load_config(path: Path | None) -> GateConfig:
    """Read the thresholds file (TOML); None gives the defaults. GateError on any problem."""
    if path is None:
        return GateConfig()
    data = _read_toml(path, "thresholds file")
    unknown = set(data) - {"defaults", "algorithms"}
    if unknown:
        raise GateError(f"thresholds file {str(path)!r}: unknown section(s) {sorted(unknown)}")
    defaults = _thresholds(data.get("defaults", {}), "[defaults]", Thresholds())
    algorithms = data.get("algorithms", {})
    if not isinstance(algorithms, dict):
        raise GateError(f"thresholds file {str(path)!r}: [algorithms] must be a table")
    per = {
        name: _thresholds(table, f"[algorithms.{name}]", defaults)
        for name, table in algorithms.items()
    }
    return GateConfig(defaults, per)


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise GateError(f"{what} {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GateError(f"{what} {str(path)!r} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise GateError(f"{what} {str(path)!r} is not valid TOML: {exc}") from None


# ---- statistics ---------------------------------------------------------------------------


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """BH-adjusted q-values (monotone step-up), in the input order; NaN stays NaN."""
    indexed = [(p, i) for i, p in enumerate(pvalues) if not math.isnan(p)]
    m = len(indexed)
    q = [math.nan] * len(pvalues)
    running = 1.0
    for rank, (p, i) in reversed(list(enumerate(sorted(indexed), start=1))):
        running = min(running, p * m / rank)
        q[i] = running
    return q


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import mannwhitneyu

    if len(a) < 2 or len(b) < 2:
        return math.nan
    return float(mannwhitneyu(b, a, alternative="two-sided").pvalue)


def round_bootstrap_ci(
    base: Sequence[float],
    candidate: Sequence[float],
    *,
    resamples: int = 4000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile CI of median(candidate)/median(base), resampling round medians."""
    a, b = np.asarray(base, dtype=float), np.asarray(candidate, dtype=float)
    if a.size < 2 or b.size < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    pa = np.median(a[rng.integers(0, a.size, (resamples, a.size))], axis=1)
    pb = np.median(b[rng.integers(0, b.size, (resamples, b.size))], axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(pb / pa, [tail, 100 - tail])
    return float(low), float(high)


@dataclass
class CellResult:
    """One cell's comparison; ``verdict`` is filled by ``judge``."""

    key: str
    algorithm: str
    case: str
    base_median: float
    candidate_median: float
    ratio: float
    ci_low: float
    ci_high: float
    p: float
    base_rounds: int
    candidate_rounds: int
    q: float = math.nan
    verdict: str = "ambiguous"
    why: str = ""


def compare_cell(
    key: str,
    algorithm: str,
    case: str,
    base: Sequence[Sequence[float]],
    candidate: Sequence[Sequence[float]],
) -> CellResult:
    """Statistics of one cell from its per-round sample lists (one list per round)."""
    rounds_a = [float(np.median(r)) for r in base if len(r)]
    rounds_b = [float(np.median(r)) for r in candidate if len(r)]
    if not rounds_a or not rounds_b:
        raise ValueError(f"{key}: no timed round on one side")
    ma, mb = float(np.median(rounds_a)), float(np.median(rounds_b))
    low, high = round_bootstrap_ci(rounds_a, rounds_b)
    return CellResult(
        key=key,
        algorithm=algorithm,
        case=case,
        base_median=ma,
        candidate_median=mb,
        ratio=mb / ma if ma > 0 else math.nan,
        ci_low=low,
        ci_high=high,
        p=mann_whitney_p(rounds_a, rounds_b),
        base_rounds=len(rounds_a),
        candidate_rounds=len(rounds_b),
    )


def judge(cells: list[CellResult], config: GateConfig) -> list[CellResult]:
    """Adjust p-values across all cells, then give each cell its verdict (in place)."""
    for cell, q in zip(cells, benjamini_hochberg([c.p for c in cells]), strict=True):
        cell.q = q
        t = config.for_algorithm(cell.algorithm)
        significant = not math.isnan(q) and q <= t.alpha
        if math.isnan(cell.ratio) or math.isnan(cell.ci_low):
            cell.verdict, cell.why = "ambiguous", "too few rounds to compare"
        elif cell.ratio >= t.slower and significant and cell.ci_low > 1:
            cell.verdict = "slower"
            cell.why = f"ratio {cell.ratio:.3f} ≥ {t.slower}, q {q:.2g} ≤ {t.alpha}"
        elif cell.ratio <= 1 / t.faster and significant and cell.ci_high < 1:
            cell.verdict = "faster"
            cell.why = f"ratio {cell.ratio:.3f} ≤ 1/{t.faster}, q {q:.2g} ≤ {t.alpha}"
        elif cell.ci_low >= 1 / t.faster and cell.ci_high <= t.slower:
            cell.verdict = "same"
            cell.why = f"CI [{cell.ci_low:.3f}, {cell.ci_high:.3f}] inside the thresholds"
        else:
            cell.verdict = "ambiguous"
            cell.why = (
                f"ratio {cell.ratio:.3f}, CI [{cell.ci_low:.3f}, {cell.ci_high:.3f}], "
                f"q {q:.2g}: not enough evidence either way"
            )
    return cells


# ---- budgets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """``implementation`` must run within ``within`` × the reference's median on ``case``."""

    implementation: str  # algorithm/backend/variant
    within: float
    reference: str = "library"  # "library" (the fastest library impl) or algorithm/backend/variant
    case: str = "standard"  # "standard" (the suite's standard case) or a case name

    @property
    def algorithm(self) -> str:
        return self.implementation.split("/")[0]


def load_budgets(path: Path) -> list[Budget]:
    data = _read_toml(path, "budgets file")
    entries = data.get("budget")
    if set(data) - {"budget"} or not isinstance(entries, list) or not entries:
        raise GateError(
            f"budgets file {str(path)!r} must hold one or more [[budget]] tables and nothing else"
        )
    budgets = []
    for number, entry in enumerate(entries, start=1):
        where = f"budgets file {str(path)!r}, budget #{number}"
        if not isinstance(entry, dict):
            raise GateError(f"{where} is not a table")
        unknown = set(entry) - {"implementation", "within", "reference", "case"}
        if unknown:
            raise GateError(f"{where}: unknown key(s) {sorted(unknown)}")
        impl, within = entry.get("implementation"), entry.get("within")
        if not isinstance(impl, str) or impl.count("/") != 2:
            raise GateError(f"{where}: implementation must be 'algorithm/backend/variant'")
        if (
            isinstance(within, bool)
            or not isinstance(within, int | float)
            or not (0 < within < math.inf)  # NaN and inf included: they would never fail
        ):
            raise GateError(f"{where}: within must be a positive number, got {within!r}")
        reference = entry.get("reference", "library")
        case = entry.get("case", "standard")
        if not isinstance(reference, str) or not isinstance(case, str):
            raise GateError(f"{where}: reference and case must be strings")
        if reference != "library" and reference.count("/") != 2:
            raise GateError(f"{where}: reference must be 'library' or 'algorithm/backend/variant'")
        budgets.append(Budget(impl, float(within), reference, case))
    return budgets


def _unknown(what: str, name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "see `shootout list`"
    return f"unknown {what} {name!r} ({hint})"


def check_names(
    config: GateConfig,
    budgets: Sequence[Budget],
    *,
    algorithms: Collection[str],
    implementations: Collection[str],
    thresholds_file: str = "thresholds file",
    budgets_file: str = "budgets file",
) -> None:
    """GateError unless every algorithm the thresholds name and every implementation (and
    reference) the budgets name is known: a typo would otherwise never be checked."""
    for name in config.algorithms:
        if name not in algorithms:
            raise GateError(
                f"{thresholds_file}: [algorithms.{name}]: {_unknown('algorithm', name, algorithms)}"
            )
    for number, budget in enumerate(budgets, start=1):
        for name in (budget.implementation, budget.reference):
            if name != "library" and name not in implementations:
                raise GateError(
                    f"{budgets_file}, budget #{number}: "
                    + _unknown("implementation", name, implementations)
                )


def check_budgets(
    budgets: list[Budget],
    measurements: list[dict[str, Any]],
    standard: Mapping[str, str],
    attempted: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Each budget against one run's measurements: ok, exceeded, missing or not selected.

    ``standard`` maps algorithm to its standard case name. Missing (a cell that was run
    but not timed: skipped, failed) fails too: a budget that silently stops being checked
    protects nothing. ``attempted`` (implementation keys the run selected) turns budgets
    on implementations outside a narrowed selection into "not selected" instead.
    """
    timed: dict[tuple[str, str], dict[str, Any]] = {}
    untrusted: dict[tuple[str, str], str] = {}  # flagged timings (harness.hygiene): no budget
    for m in measurements:
        if m.get("status") == "ok" and (m.get("median_s") or 0) > 0:
            key = f"{m['algorithm']}/{m['backend']}/{m['variant']}"
            if m.get("flagged"):
                untrusted[(key, m["case"])] = str(m["flagged"])
            else:
                timed[(key, m["case"])] = m
    out = []
    for b in budgets:
        case = standard.get(b.algorithm, "") if b.case == "standard" else b.case
        row: dict[str, Any] = {**asdict(b), "resolved_case": case}
        if attempted is not None:
            ref_ok = (
                any(k.startswith(f"{b.algorithm}/library/") for k in attempted)
                if b.reference == "library"
                else b.reference in attempted
            )
            if b.implementation not in attempted or not ref_ok:
                row.update(status="not selected", ratio=math.nan, why="outside this selection")
                out.append(row)
                continue
        mine = timed.get((b.implementation, case))
        if b.reference == "library":
            refs = [
                m
                for (k, c), m in timed.items()
                if c == case and m["algorithm"] == b.algorithm and m["kind"] == "library"
            ]
            ref = min(refs, key=lambda m: m["median_s"]) if refs else None
        else:
            ref = timed.get((b.reference, case))
        if mine is None or ref is None:
            missing = b.implementation if mine is None else b.reference
            why = f"{missing} was not timed on {case!r}"
            if (missing, case) in untrusted:
                why = f"{missing}'s timing on {case!r} is not trusted: {untrusted[missing, case]}"
            row.update(status="missing", ratio=math.nan, why=why)
        else:
            ratio = mine["median_s"] / ref["median_s"]
            ref_name = f"{ref['algorithm']}/{ref['backend']}/{ref['variant']}"
            status = "ok" if ratio <= b.within else "exceeded"
            row.update(
                status=status,
                ratio=ratio,
                why=f"{ratio:.3g}× {ref_name} (budget {b.within:g}×)",
            )
        out.append(row)
    return out

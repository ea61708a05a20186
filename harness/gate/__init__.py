"""The regression gate: judgement (verdict), rounds of fresh workers (run), one worker (worker).

Kept import-light on purpose: a worker pins its thread pools before NumPy is imported.
"""

from __future__ import annotations


class GateError(Exception):
    """Bad gate input: thresholds or budgets file, ref, selection (CLI exit 2)."""

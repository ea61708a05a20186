"""Comparators: decide whether an output agrees with the oracle, and measure by how much.

Every comparator implements the one ``Comparator`` interface (harness.comparators.base):
a tolerance with its reason, the expected dtype of each output, a vacuity check and the
comparison itself, which always returns the measured error.
"""

from __future__ import annotations

from harness.comparators.base import Comparator, Comparison, default_tolerance
from harness.comparators.close import Close
from harness.comparators.exact import Exact
from harness.comparators.outputs import Outputs
from harness.comparators.selection import GreedySelection

__all__ = [
    "Close",
    "Comparator",
    "Comparison",
    "Exact",
    "GreedySelection",
    "Outputs",
    "default_tolerance",
]

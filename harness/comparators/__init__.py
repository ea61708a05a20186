"""Comparators: decide whether an output agrees with the oracle, and measure by how much.

Every comparator implements the one ``Comparator`` interface (harness.comparators.base):
a tolerance with its reason, the expected dtype of each output, a vacuity check and the
comparison itself, which always returns the measured error.
"""

from __future__ import annotations

from harness.comparators.assignment import Assignment
from harness.comparators.base import Comparator, Comparison, default_tolerance
from harness.comparators.close import Close
from harness.comparators.each import Each
from harness.comparators.exact import Exact
from harness.comparators.outputs import Outputs
from harness.comparators.partition import Partition
from harness.comparators.residual import Marginals
from harness.comparators.selection import GreedySelection
from harness.comparators.statistical import Distribution, KeepRate, Law

__all__ = [
    "Assignment",
    "Close",
    "Comparator",
    "Comparison",
    "Distribution",
    "Each",
    "Exact",
    "GreedySelection",
    "KeepRate",
    "Law",
    "Marginals",
    "Outputs",
    "Partition",
    "default_tolerance",
]

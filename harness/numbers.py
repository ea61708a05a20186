"""Numbers on the command line, checked as they are parsed (argparse ``type=``).

NaN compares false with everything, so a check written as ``value <= 0`` lets it through;
each of these accepts only what it names, and a bad value is one line and exit 2.
"""

from __future__ import annotations

import argparse
import math


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of {what}") from None


def positive_seconds(text: str) -> float:
    """A finite number of seconds above 0."""
    value = _number(text, "seconds")
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def whole_count(text: str) -> int:
    """A whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more, got {text}")
    return value


def slowdown_factor(text: str) -> float:
    """A finite factor above 1."""
    value = _number(text, "times")
    if not (value > 1 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(
            f"must be a finite factor above 1 (it is a slowdown), got {text}"
        )
    return value

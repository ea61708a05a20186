"""``--shard K/N``: which part of a run's cells this command runs (the value and its checks).

Imported by the command line before the thread pools are pinned, so it imports nothing
that imports NumPy; the partition itself is harness.partition.
"""

from __future__ import annotations

from dataclasses import dataclass


class ShardError(ValueError):
    """A ``--shard`` value that is not K/N with 1 <= K <= N (CLI exit 2)."""


@dataclass(frozen=True)
class Shard:
    """Part ``index`` (1-based) of ``count`` of a run's cells."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``"K/N"`` as a Shard; ShardError with a one-line reason otherwise."""
    parts = text.split("/")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts):
        raise ShardError(f"expected K/N in whole numbers, e.g. 2/4; got {text!r}")
    index, count = int(parts[0]), int(parts[1])
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"{text}: K must be between 1 and N, and N at least 1")
    return Shard(index, count)


def shard_option(text: str) -> Shard:
    """``parse_shard`` as an argparse ``type``: its reason becomes the usage error."""
    import argparse

    try:
        return parse_shard(text)
    except ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None

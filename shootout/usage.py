"""What every command shares: exit statuses, the usage error, and loading the registry."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
# How a fresh process runs this command line (the supervised worker, the gate's verifier).
COMMAND = (sys.executable, "-m", "shootout")


class UsageError(Exception):
    """Bad usage or bad input: printed as one line, exit status 2."""


def load_registry(args: argparse.Namespace) -> Any:
    """The registry with the command's plugins, its thread settings applied and recorded."""
    from harness.registry import load_registry
    from harness.threads import apply

    registry = load_registry(args.plugin)
    if args.command != "list":  # list shows them as rows
        for row in registry.unloadable:
            print(f"shootout: warning: {row.load_error}", file=sys.stderr)
    args.thread_record = apply(args.threads)
    return registry

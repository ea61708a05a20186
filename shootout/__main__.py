"""``python -m shootout``: the command line without an installed console script."""

from __future__ import annotations

import sys

try:
    from shootout.cli import main
except ImportError as exc:  # a required package is missing: say which, not a traceback
    from harness.deps import missing_dependency

    message = missing_dependency(exc)
    if message is None:
        raise
    print(f"shootout: error: {message}", file=sys.stderr)
    sys.exit(2)

sys.exit(main())

"""``python -m harness``: the CLI without an installed console script."""

from __future__ import annotations

import sys

from harness.cli import main

sys.exit(main())

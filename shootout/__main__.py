"""``python -m shootout``: the command line without an installed console script."""

from __future__ import annotations

import sys

from shootout.cli import main

sys.exit(main())

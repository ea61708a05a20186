"""``python -m shootout.gpu_check``: the GPU check without nox (and each phase's process)."""

from __future__ import annotations

import sys

from shootout.gpu_check.cli import main

sys.exit(main())

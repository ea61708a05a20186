"""``python -m harness``: whether the packages the harness needs are installed, and where the
command line is (``python -m shootout``)."""

from __future__ import annotations

import sys

from harness.deps import install_hint, missing_requirements, requirement_name

missing = missing_requirements()
if missing:
    names = ", ".join(map(requirement_name, missing))
    hint = install_hint(missing)
    print(f"harness: error: missing required package(s) {names}; {hint}", file=sys.stderr)
    sys.exit(2)
print("harness: every required package is installed; the command line is `python -m shootout`")

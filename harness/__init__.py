"""opshootout's public surface: the decorator that registers an implementation.

Kept import-light on purpose: thread pools are configured before NumPy is imported.
"""

from __future__ import annotations

from harness.registry import Implementation, RegistryError, implementation

__all__ = ["Implementation", "RegistryError", "implementation"]

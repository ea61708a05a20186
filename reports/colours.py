"""One colour per implementation, the same on every chart and page of a site.

Each backend owns a hue family (NumPy blues, Numba oranges, torch greens, ...), so a reader
tells backends apart at a glance; within a family the variants of the whole site take
distinct shades in name order. The map is built once from every implementation the site
shows, so "numba/fused" has one colour on every algorithm's page; a name outside the map
(a chart drawn on its own) falls back to a shade chosen from its name, still stable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

# darkest to lightest shades of each backend's hue
_FAMILIES: dict[str, tuple[str, ...]] = {
    "python": ("#6b6b6b", "#8f8f8f", "#4a4a4a", "#b0b0b0"),
    "numpy": ("#1f5fa8", "#4a8fd6", "#0f3b70", "#86b6ea", "#2d77c4"),
    "numba": ("#d9620b", "#f29340", "#a34505", "#f7b57a", "#e87b1f"),
    "torch_cpu": ("#2a8a3e", "#5cb86e", "#17602a", "#93d49f", "#3fa152"),
    "torch_cuda": ("#0f766e", "#3aa39a", "#0a4f4a", "#7fcbc4"),
    "cupy": ("#7b3fb0", "#a374d1", "#552a7c", "#c7a9e6"),
    "library": ("#b3202a", "#7a1a4f", "#d4535b", "#4d0f13", "#e08a8f", "#a8326e"),
}
_OTHER = ("#8c6d1f", "#b8962e", "#5e4812", "#d6bd6b")


def _family(impl: str) -> tuple[str, ...]:
    return _FAMILIES.get(impl.split("/", 1)[0], _OTHER)


def _by_name(impl: str) -> str:
    shades = _family(impl)
    return shades[int(hashlib.sha256(impl.encode()).hexdigest(), 16) % len(shades)]


def colour_map(impls: Iterable[str]) -> dict[str, str]:
    """Every implementation name -> its colour: variants of a backend in name order."""
    out: dict[str, str] = {}
    seen: dict[tuple[str, ...], int] = {}
    for impl in sorted(set(impls)):
        shades = _family(impl)
        i = seen.get(shades, 0)
        seen[shades] = i + 1
        out[impl] = shades[i % len(shades)]
    return out


class Palette:
    """The site's colour map, with the name-based fallback for anything outside it."""

    def __init__(self, colours: Mapping[str, str] | None = None) -> None:
        self.colours = dict(colours or {})

    def __call__(self, impl: str) -> str:
        return self.colours.get(impl) or _by_name(impl)

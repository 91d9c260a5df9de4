"""Command-line option values the commands share, parsed into Python values.

Below every command module; a bad value is one GoheapError naming the option.
"""

from __future__ import annotations

from goheap.errors import GoheapError


def split_list(text: str, what: str) -> list[str]:
    """``"50, 100,off"`` -> ``["50", "100", "off"]``; an empty list is an error about ``what``."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise GoheapError(f"{what}: expected a comma-separated list, got {text!r}")
    return items

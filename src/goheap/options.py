"""Command-line option values the commands share, parsed into Python values.

Below every command module; a bad value is one GoheapError naming the option.
"""

from __future__ import annotations

import re

from goheap.errors import GoheapError

_SIZE_UNITS = {"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}
_SIZE_UNITS |= {"k": 1000, "kb": 1000, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9}


def parse_memlimit(text: str | int | None) -> int | None:
    """GOMEMLIMIT as Go reads it: bytes with an optional unit (B, KiB, MiB, ...), or off."""
    if text is None:
        return None
    if isinstance(text, int):
        if text < 0:
            raise GoheapError(f"--memlimit {text}: must not be negative")
        return text
    t = text.strip()
    if t.lower() == "off":
        return None
    m = re.fullmatch(r"(\d+)\s*([A-Za-z]*)", t)
    if m is None or m.group(2).lower() not in _SIZE_UNITS:
        raise GoheapError(
            f"--memlimit {text!r}: expected a size such as 512MiB, 2GiB, 1000000 or 'off'"
        )
    return int(m.group(1)) * _SIZE_UNITS[m.group(2).lower()]


def split_list(text: str, what: str) -> list[str]:
    """``"50, 100,off"`` -> ``["50", "100", "off"]``; an empty list is an error about ``what``."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise GoheapError(f"{what}: expected a comma-separated list, got {text!r}")
    return items

"""Command-line option values the commands share, parsed into Python values.

Below every command module; a bad value is one GoheapError naming the option.
"""

from __future__ import annotations

import re

from goheap.errors import GoheapError

INT64_MAX = (1 << 63) - 1
_SIGNED_DIGITS = re.compile(r"[+-]?[0-9]+")
#: parseByteCount's unit prefixes: KiB, MiB, GiB, TiB (powers of 1024), nothing else.
_BINARY_PREFIX = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
#: Decimal units an allocation rate may also use (MB/s reads as a rate is read).
_DECIMAL_UNITS = {"kB": 1000, "KB": 1000, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def parse_byte_count(text: str) -> int | None:
    """runtime.parseByteCount: digits with an optional ``B``, ``KiB``, ``MiB``, ``GiB`` or
    ``TiB`` suffix, case-sensitive, no spaces, at most int64; None when malformed."""
    digits, mult = text, 1
    if text.endswith("iB") and len(text) >= 4 and text[-3] in _BINARY_PREFIX:
        digits, mult = text[:-3], _BINARY_PREFIX[text[-3]]
    elif text.endswith("B"):
        digits = text[:-1]
    if _SIGNED_DIGITS.fullmatch(digits) is None:  # strconv.ParseInt(s, 10, 64)'s syntax
        return None
    n = int(digits)
    if n < 0 or n > INT64_MAX or n * mult > INT64_MAX:
        return None
    return n * mult


def parse_memlimit(text: str | int | None, option: str = "--memlimit") -> int | None:
    """GOMEMLIMIT as Go's readGOMEMLIMIT reads it: ``off`` (None) or a byte count.

    Go stops on anything else with "malformed GOMEMLIMIT": ``64MB`` and
    ``64M`` are refused (only KiB, MiB, GiB, TiB and B are units), as are
    spaces, fractions and values past int64.
    """
    if text is None:
        return None
    if isinstance(text, int):
        if not 0 <= text <= INT64_MAX:
            raise GoheapError(f"{option} {text}: must be 0 to 2^63-1 bytes (Go's int64)")
        return text
    if text == "off":
        return None
    n = parse_byte_count(text)
    if n is None:
        raise GoheapError(
            f"{option} {text!r}: malformed GOMEMLIMIT (Go takes bytes with an optional "
            "B, KiB, MiB, GiB or TiB suffix, such as 512MiB, or 'off')"
        )
    return n


def parse_byte_rate(text: str) -> int | None:
    """Bytes per second: a GOMEMLIMIT-style count, or decimal kB/MB/GB/TB; None if malformed."""
    for unit, mult in _DECIMAL_UNITS.items():
        digits = text.removesuffix(unit)
        if digits != text and digits.isascii() and digits.isdigit():
            return int(digits) * mult
    return parse_byte_count(text)


def split_list(text: str, what: str) -> list[str]:
    """``"50, 100,off"`` -> ``["50", "100", "off"]``; an empty list is an error about ``what``."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise GoheapError(f"{what}: expected a comma-separated list, got {text!r}")
    return items

"""Command-line option values the commands share, parsed into Python values.

Below every command module; a bad value is one GoheapError naming the option.
"""

from __future__ import annotations

import operator
import re
from typing import SupportsIndex

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


def parse_memlimit(text: object, option: str = "--memlimit") -> int | None:
    """GOMEMLIMIT as Go's readGOMEMLIMIT reads it: ``off`` (None) or a byte count.

    Go stops on anything else with "malformed GOMEMLIMIT": ``64MB`` and
    ``64M`` are refused (only KiB, MiB, GiB, TiB and B are units), as are
    spaces, fractions and values past int64.
    """
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        if not 0 <= text <= INT64_MAX:
            raise GoheapError(f"{option} {text}: must be 0 to 2^63-1 bytes (Go's int64)")
        return text
    if isinstance(text, bool) or not isinstance(text, str):
        raise GoheapError(f"{option} {text!r}: GOMEMLIMIT must be a byte count or 'off'")
    if text == "off":
        return None
    n = parse_byte_count(text)
    if n is None:
        raise GoheapError(
            f"{option} {text!r}: malformed GOMEMLIMIT (Go takes bytes with an optional "
            "B, KiB, MiB, GiB or TiB suffix, such as 512MiB, or 'off')"
        )
    return n


INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
_GOGC_OFF = -1


def parse_gogc(value: object, option: str = "--gogc") -> int:
    """GOGC as Go's readGOGC reads it: ``off``, or a decimal int32 (a negative one is off: -1).

    ``"off"`` is matched exactly and the number is ``strconv.ParseInt(s, 10,
    32)``'s syntax: an optional sign and ASCII digits, nothing else. Where Go
    silently falls back to GOGC=100 (``OFF``, ``1e3``, `` 50``, ``50%``, a
    value past int32), goheap refuses it: a typo in a command line is an error,
    not a silent default. None (``SetGCPercent``-style API use) is off; an int
    is taken as is (negative: off), within int32 as Go keeps gcPercent.
    """
    if value is None:
        return _GOGC_OFF
    if isinstance(value, str):
        if value == "off":
            return _GOGC_OFF
        if _SIGNED_DIGITS.fullmatch(value) is None:
            hint = " (Go's GOGC reads only lowercase 'off')" if value.lower() == "off" else ""
            raise GoheapError(
                f"{option} {value!r}: malformed GOGC: an integer percentage or 'off'{hint}; "
                "Go itself would ignore it and run with GOGC=100"
            )
        n = int(value)
    elif isinstance(value, bool) or not isinstance(value, SupportsIndex):
        raise GoheapError(f"{option} {value!r}: GOGC must be an integer or 'off'")
    else:
        n = operator.index(value)  # an int, or one like numpy's (not a float: no rounding)
    if not INT32_MIN <= n <= INT32_MAX:
        # Go keeps gcPercent in an int32 (readGOGC's ParseInt(p, 10, 32), setGCPercent(int32)).
        raise GoheapError(f"{option} {n}: outside Go's int32 gcPercent (-2^31 to 2^31-1)")
    return _GOGC_OFF if n < 0 else n  # setGCPercent: any negative value means off


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

"""goheap.options: the option values the commands share."""

from __future__ import annotations

import pytest

from goheap.errors import GoheapError
from goheap.options import parse_byte_count, parse_gogc, parse_memlimit, split_list

#: runtime/string_test.go TestParseByteCount (go1.27.3), every case: (input, value or None).
GO_PARSE_BYTE_COUNT = [
    ("1", 1),
    ("12345", 12345),
    ("012345", 12345),
    ("98765432100", 98765432100),
    ("9223372036854775807", (1 << 63) - 1),
    ("1B", 1),
    ("12345B", 12345),
    ("012345B", 12345),
    ("98765432100B", 98765432100),
    ("9223372036854775807B", (1 << 63) - 1),
    ("1KiB", 1 << 10),
    ("05KiB", 5 << 10),
    ("1MiB", 1 << 20),
    ("10MiB", 10 << 20),
    ("1GiB", 1 << 30),
    ("100GiB", 100 << 30),
    ("1TiB", 1 << 40),
    ("99TiB", 99 << 40),
    ("-0", 0),
    ("0", 0),
    ("0B", 0),
    ("0KiB", 0),
    ("0MiB", 0),
    ("0GiB", 0),
    ("0TiB", 0),
    ("", None),
    ("-1", None),
    ("a12345", None),
    ("a12345B", None),
    ("12345x", None),
    ("0x12345", None),
    ("9223372036854775808", None),
    ("9223372036854775809", None),
    ("18446744073709551615", None),
    ("20496382327982653440", None),
    ("18446744073709551616", None),
    ("18446744073709551617", None),
    ("9999999999999999999999", None),
    ("9223372036854775808B", None),
    ("9223372036854775809B", None),
    ("18446744073709551615B", None),
    ("20496382327982653440B", None),
    ("18446744073709551616B", None),
    ("18446744073709551617B", None),
    ("9999999999999999999999B", None),
    ("1Ki", None),
    ("05Ki", None),
    ("10Mi", None),
    ("100Gi", None),
    ("99Ti", None),
    ("22iB", None),
    ("B", None),
    ("iB", None),
    ("KiB", None),
    ("MiB", None),
    ("GiB", None),
    ("TiB", None),
    ("-120KiB", None),
    ("-891MiB", None),
    ("-704GiB", None),
    ("-42TiB", None),
    ("99999999999999999999KiB", None),
    ("99999999999999999MiB", None),
    ("99999999999999GiB", None),
    ("99999999999TiB", None),
    ("555EiB", None),
    ("0KB", None),
    ("0MB", None),
    ("0GB", None),
    ("0TB", None),
    ("1KB", None),
    ("05KB", None),
    ("1MB", None),
    ("10MB", None),
    ("1GB", None),
    ("100GB", None),
    ("1TB", None),
    ("99TB", None),
    ("1K", None),
    ("05K", None),
    ("10M", None),
    ("100G", None),
    ("99T", None),
    ("99999999999999999999KB", None),
    ("99999999999999999MB", None),
    ("99999999999999GB", None),
    ("99999999999TB", None),
    ("99999999999TiB", None),
    ("555EB", None),
]


@pytest.mark.parametrize(("text", "want"), GO_PARSE_BYTE_COUNT)
def test_parse_byte_count_is_gos(text: str, want: int | None) -> None:
    assert parse_byte_count(text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("512MiB", 512 << 20),
        ("1GiB", 1 << 30),
        ("3TiB", 3 << 40),
        ("4KiB", 4096),
        ("1000", 1000),
        ("1000B", 1000),
        ("0", 0),
        ("off", None),
        ("9223372036854775807", (1 << 63) - 1),
        ("8388607TiB", 8388607 << 40),
        (1 << 20, 1 << 20),
    ],
)
def test_parse_memlimit_as_go_reads_gomemlimit(text: str | int, want: int | None) -> None:
    """The values runtime.parseByteCount accepts (string_test.go's cases among them)."""
    assert parse_memlimit(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "",
        "64MB",  # Go's units are binary only: "malformed GOMEMLIMIT"
        "64M",
        "2gb",
        "1mib",  # case-sensitive
        "12 parsecs",
        " 64MiB",
        "-5",
        "1.5GiB",
        "iB",
        "KiB",
        "9223372036854775808",  # past int64
        "8388608TiB",
        "OFF",
    ],
)
def test_parse_memlimit_rejects_what_go_rejects(text: str) -> None:
    with pytest.raises(GoheapError, match=r"--memlimit .*malformed GOMEMLIMIT"):
        parse_memlimit(text)


@pytest.mark.parametrize("value", [-1, 1 << 63])
def test_parse_memlimit_int_in_int64(value: int) -> None:
    with pytest.raises(GoheapError, match=r"must be 0 to 2\^63-1 bytes"):
        parse_memlimit(value)


def test_split_list_strips_and_drops_empty_items() -> None:
    assert split_list(" 50, 100,,off ", "--gogc") == ["50", "100", "off"]


def test_split_list_of_nothing_is_an_error_naming_the_option() -> None:
    with pytest.raises(GoheapError, match="--gogc: expected a comma-separated list"):
        split_list(" , ", "--gogc")


# --- GOGC: runtime/mgcpacer.go readGOGC (go1.27) and Go 1.8's mgc.go readgogc --------------
#
#     p := gogetenv("GOGC")
#     if p == "off" { return -1 }
#     if n, err := strconv.ParseInt(p, 10, 32); err == nil { return int32(n) }
#     return 100
#
# then setGCPercent: "if in < 0 { in = -1 }". Anything else Go silently reads as 100;
# goheap refuses it (a typo on a command line is an error).


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("off", -1),
        ("100", 100),
        ("0", 0),
        ("050", 50),  # ParseInt base 10: leading zeros are digits
        ("+50", 50),  # ParseInt takes a sign (Go 1.8's atoi did not: there, 100)
        ("-1", -1),
        ("-50", -1),  # any negative GOGC is off
        ("2147483647", (1 << 31) - 1),  # int32's largest
        ("-2147483648", -1),
        (None, -1),
        (200, 200),
        (-7, -1),
    ],
)
def test_parse_gogc_as_go_reads_gogc(text: str | int | None, want: int) -> None:
    assert parse_gogc(text) == want


@pytest.mark.parametrize(
    "text",
    ["OFF", "Off", " 100", "100 ", "50%", "1e3", "0x10", "1_000", "", "+", "-", "١٠٠", "100.0"],
)
def test_parse_gogc_refuses_what_go_would_read_as_100(text: str) -> None:
    with pytest.raises(GoheapError, match=r"^--gogc .*: malformed GOGC: .*GOGC=100$"):
        parse_gogc(text)


def test_parse_gogc_says_off_is_lowercase() -> None:
    with pytest.raises(GoheapError, match="reads only lowercase 'off'"):
        parse_gogc("OFF")


@pytest.mark.parametrize("value", ["2147483648", "-2147483649", 1 << 31, 100.0, True, [100]])
def test_parse_gogc_outside_int32_or_not_an_integer(value: object) -> None:
    with pytest.raises(GoheapError, match=r"--gogc .*(int32 gcPercent|integer or 'off')"):
        parse_gogc(value)


def test_heap_reads_gogc_and_gomemlimit_with_the_same_parsers() -> None:
    from goheap import Heap

    with Heap(profile="go1.27", gogc="off", memlimit="64MiB") as h:
        m = h.read_metrics()
        assert m["/gc/gogc:percent"] == (1 << 64) - 1
        assert m["/gc/gomemlimit:bytes"] == 64 << 20
    with pytest.raises(GoheapError, match=r"^memlimit '64MB': malformed GOMEMLIMIT"):
        Heap(memlimit="64MB")
    with pytest.raises(GoheapError, match=r"^gogc 'OFF': malformed GOGC"):
        Heap(gogc="OFF")
    with pytest.raises(GoheapError, match=r"^memlimit -1: must be 0 to 2\^63-1"):
        Heap(memlimit=-1)

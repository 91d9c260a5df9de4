"""goheap.options: the option values the commands share."""

from __future__ import annotations

import pytest

from goheap.errors import GoheapError
from goheap.options import parse_byte_count, parse_memlimit, split_list

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

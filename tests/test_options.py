"""goheap.options: the option values the commands share."""

from __future__ import annotations

import pytest

from goheap.errors import GoheapError
from goheap.options import parse_memlimit, split_list


@pytest.mark.parametrize(
    ("text", "want"),
    [("512MiB", 512 << 20), ("1GiB", 1 << 30), ("1000", 1000), ("off", None), ("2gb", 2 * 10**9)],
)
def test_parse_memlimit(text: str, want: int | None) -> None:
    assert parse_memlimit(text) == want


@pytest.mark.parametrize("text", ["", "12 parsecs", "-5", "1.5GiB"])
def test_parse_memlimit_rejects(text: str) -> None:
    with pytest.raises(GoheapError, match="--memlimit"):
        parse_memlimit(text)


def test_split_list_strips_and_drops_empty_items() -> None:
    assert split_list(" 50, 100,,off ", "--gogc") == ["50", "100", "off"]


def test_split_list_of_nothing_is_an_error_naming_the_option() -> None:
    with pytest.raises(GoheapError, match="--gogc: expected a comma-separated list"):
        split_list(" , ", "--gogc")

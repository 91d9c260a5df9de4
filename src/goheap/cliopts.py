"""The click options every command declares alike: ``--profile`` and ``--json``.

One place for the default profile (``goheap.profiles.DEFAULT_PROFILE``), the
choices ``--help`` and the errors list, and the ``--json PATH|-`` form;
``goheap.cli`` and the ``command`` modules of ``pprof`` and ``validate``
use them. A list-valued ``--profile`` (``compare``) is read by
``parse_profiles``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from goheap.errors import GoheapError
from goheap.options import split_list
from goheap.profiles import DEFAULT_PROFILE, PROFILES

#: Every profile, in the order --help lists them.
PROFILE_NAMES: tuple[str, ...] = tuple(PROFILES)


def profile_option(help: str, dest: str = "profile") -> Callable[[Any], Any]:
    """``--profile`` with the profiles as click choices and DEFAULT_PROFILE as its default."""
    return click.option(
        "--profile",
        dest,
        type=click.Choice(PROFILE_NAMES),
        default=DEFAULT_PROFILE,
        show_default=True,
        help=help,
    )


def profiles_option(help: str, dest: str = "profiles") -> Callable[[Any], Any]:
    """``--profile P[,P...]``: a comma-separated list of profiles (read by parse_profiles)."""
    return click.option(
        "--profile",
        dest,
        default=DEFAULT_PROFILE,
        show_default=True,
        metavar="P[,P...]",
        help=f"{help} Of: {', '.join(PROFILE_NAMES)}.",
    )


def parse_profiles(text: str) -> list[str]:
    """``"go1.8,go1.27"`` -> the names; an unknown one is one error listing the choices."""
    names = split_list(text, "--profile")
    for name in names:
        if name not in PROFILES:
            raise GoheapError(
                f"--profile {name!r}: unknown profile (choose from {', '.join(PROFILE_NAMES)})"
            )
    return names


def json_option(help: str) -> Callable[[Any], Any]:
    """``--json PATH|-`` (``-``: standard output), checked with the command's other outputs."""
    return click.option("--json", "json_out", metavar="PATH|-", help=help)

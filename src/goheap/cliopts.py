"""The click options every command declares alike: ``--profile`` and ``--json``.

One place for the default profile (``goheap.profiles.DEFAULT_PROFILE``), the
choices ``--help`` and the errors list, and the ``--json PATH|-`` form;
``goheap.cli`` and the ``command`` modules of ``pprof`` and ``validate``
use them. A list-valued ``--profile`` (``compare``) is read by
``parse_profiles``.
"""

from __future__ import annotations

import os
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


#: The environment variable ``--costs`` falls back to.
COSTS_ENV = "GOHEAP_COSTS"


def costs_option(f: Any) -> Any:
    """``--costs PATH`` (or $GOHEAP_COSTS): the clock's costs from a calibration file.

    The file is read and checked when the options are parsed, so a bad one is
    one error line before any work; the command gets a ``goheap.costs.Costs``
    (None: the built-in costs).
    """
    return click.option(
        "--costs",
        "costs",
        metavar="PATH",
        callback=_read_costs,
        help="Run the clock on the costs `goheap calibrate` measured (a calibration file; "
        f"also ${COSTS_ENV}) [default: the built-in, documented costs].",
    )(f)


def _read_costs(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    from goheap.costs import load_calibration

    by = "--costs "
    if value is None:  # read here, not by click, to name the variable in an error
        value, by = os.environ.get(COSTS_ENV), f"{COSTS_ENV}="
    if not value:
        return None
    try:
        return load_calibration(value)
    except GoheapError as e:
        raise GoheapError(f"{by}{e}") from None

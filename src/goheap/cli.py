"""The ``goheap`` command.

Every user mistake ends in one line on stderr, ``goheap: error: ...``, and
exit status 2; nothing a user types produces a Python traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from goheap.errors import GoheapError
from goheap.profiles import DEFAULT_PROFILE

EXIT_USAGE = 2


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="""\b
Examples:
  goheap run                                   the default workload
  goheap run retain --param size=48 --param count=100000 --json -
  goheap sizeclasses --profile go1.27
""",
)
@click.version_option(package_name="goheap")
def cli() -> None:
    """goheap: the Go runtime's heap, modelled faithfully and deterministically."""


def _write_json(obj: dict[str, Any], dest: str, force: bool) -> None:
    text = json.dumps(obj, indent=2) + "\n"
    if dest == "-":
        sys.stdout.write(text)
        return
    path = Path(dest)
    if path.exists() and not force:
        raise GoheapError(f"{dest} exists; pass -f to overwrite it")
    try:
        path.write_text(text)
    except OSError as e:
        raise GoheapError(f"cannot write {dest}: {e.strerror}") from None


@cli.command(
    epilog="""\b
Examples:
  goheap run binarytrees --param depth=12 --gogc 50 --gctrace
  goheap run retain --param size=16 --param count=1000 --json -
  goheap run retain --param size=100000 --param count=10 --param pointers=1
"""
)
@click.argument("workload", required=False)
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Workload parameter.")
@click.option("--profile", default=DEFAULT_PROFILE, show_default=True, help="Go version modelled.")
@click.option("--procs", default=1, show_default=True, type=int, help="GOMAXPROCS (number of Ps).")
@click.option("--gogc", default="100", show_default=True, metavar="N|off", help="GOGC.")
@click.option("--gctrace", is_flag=True, help="Print gctrace lines to stderr, as Go does.")
@click.option(
    "--liveness",
    type=click.Choice(["graph", "lifetime"]),
    default="graph",
    show_default=True,
    help="How the collector knows what is live.",
)
@click.option("--json", "json_out", metavar="PATH|-", help="Write the results as JSON.")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing output file.")
def run(
    workload: str | None,
    params: tuple[str, ...],
    profile: str,
    procs: int,
    gogc: str,
    gctrace: bool,
    liveness: str,
    json_out: str | None,
    force: bool,
) -> None:
    """Run a built-in WORKLOAD (default: binarytrees) and report MemStats."""
    from goheap.heap import parse_gogc
    from goheap.report.text import memstats_table
    from goheap.runner import run_workload

    if json_out and json_out != "-" and Path(json_out).exists() and not force:
        raise GoheapError(f"{json_out} exists; pass -f to overwrite it")
    if not 1 <= procs <= 256:
        raise GoheapError(f"--procs {procs}: must be between 1 and 256")
    trace = (lambda line: click.echo(line, err=True)) if gctrace else None
    result = run_workload(
        workload,
        list(params),
        profile=profile,
        procs=procs,
        gogc=parse_gogc(gogc),
        gctrace=trace,
        liveness=liveness,
    )
    if json_out:
        _write_json(result, json_out, force)
    if json_out != "-":
        memstats_table(result)


@cli.command()
@click.option("--profile", default=DEFAULT_PROFILE, show_default=True, help="Go version.")
@click.option("--json", "as_json", is_flag=True, help="Print the tables as one JSON object.")
def sizeclasses(profile: str, as_json: bool) -> None:
    """Print the size-class table, as the comment in Go's sizeclasses.go."""
    from goheap.sizeclasses import for_profile, format_go_table, to_json_dict

    try:
        table = for_profile(profile)
    except ValueError as e:
        raise GoheapError(str(e)) from None
    if as_json:
        sys.stdout.write(json.dumps(to_json_dict(table)) + "\n")
    else:
        sys.stdout.write(format_go_table(table))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning user errors into one line and exit 2."""
    try:
        cli.main(args=argv, prog_name="goheap", standalone_mode=False)
    except GoheapError as e:
        click.echo(f"goheap: error: {e}", err=True)
        return EXIT_USAGE
    except click.ClickException as e:
        click.echo(f"goheap: error: {e.format_message()}", err=True)
        return EXIT_USAGE
    except click.exceptions.Abort:
        click.echo("goheap: interrupted", err=True)
        return 130
    except click.exceptions.Exit as e:
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())

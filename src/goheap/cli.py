"""The ``goheap`` command.

Every user mistake ends in one line on stderr, ``goheap: error: ...``, and
exit status 2; nothing a user types produces a Python traceback. Outputs
(``--json PATH``, ``--report PATH``, ``--pprof PATH``, ``-o PATH``) are
checked together, and against the inputs, before any work starts (see
``goheap.outputs``); an existing file is only overwritten with ``-f``, and
each is written whole or not at all.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from goheap import _native
from goheap.calibrate.command import calibrate
from goheap.cliopts import (
    costs_option,
    json_option,
    parse_profiles,
    profile_option,
    profiles_option,
)
from goheap.document import document, dumps, run_body
from goheap.errors import GoheapError
from goheap.interrupts import Interrupted, deferred_signals, signals_call
from goheap.options import parse_gogc, parse_memlimit, split_list
from goheap.outputs import STDOUT, announcing, check_outputs, write_file
from goheap.pprof.command import analyze
from goheap.profiles import get_profile
from goheap.report.console import stdout_console
from goheap.validate.command import validate

if TYPE_CHECKING:
    from goheap.runner import RunOptions

EXIT_USAGE = 2
F = TypeVar("F", bound=Callable[..., Any])


class Stopped(Exception):
    """An interrupt carried past click (which would print a blank line for it) to ``main``."""

    def __init__(self, interrupt: Interrupted) -> None:
        super().__init__(interrupt)
        self.interrupt = interrupt


class Group(click.Group):
    """The ``goheap`` group: an interrupt in a command reaches ``main`` as ``Stopped``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as e:
            raise Stopped(e if isinstance(e, Interrupted) else Interrupted()) from None


@click.group(
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="""\b
Examples:
  goheap run                                   the default workload (binarytrees depth=14)
  goheap run churn --param steps=200000 --gctrace --report churn.html
  goheap record churn -o churn.trace && goheap replay churn.trace --json -
  goheap compare binarytrees --param depth=12 --gogc 50,100,200 --report cmp.html
  goheap sizeclasses --profile go1.8
""",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, param, value: _print_version(ctx, value),
    help="Show the version, and whether the compiled (mypyc) build runs, and exit.",
)
def cli() -> None:
    """goheap: the Go runtime's heap, modelled faithfully and deterministically."""


# run, record, replay, compare and sizeclasses are defined below; these three live
# beside the code they drive and import only downward (goheap.outputs, goheap.options).
cli.add_command(analyze)
cli.add_command(validate)
cli.add_command(calibrate)


def _print_version(ctx: click.Context, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    import goheap

    click.echo(f"goheap, version {goheap.__version__} ({goheap.build_status().describe()})")
    ctx.exit()


# --- shared options and output ----------------------------------------------------


#: Outputs that refuse ``-`` (standard output), and why.
FILE_ONLY = {"--pprof": "a heap profile is binary"}


@dataclass(frozen=True)
class Outputs:
    """Where results go: --json, --report, and -f."""

    json: str | None
    report: str | None
    force: bool

    def check(
        self, others: dict[str, str | None] | None = None, inputs: dict[str, str] | None = None
    ) -> None:
        """Check these outputs, the command's ``others`` and its ``inputs``, before any work."""
        outputs = {"--json": self.json, "--report": self.report, **(others or {})}
        check_outputs(self.force, outputs, inputs, file_only=FILE_ONLY)

    def to_stdout(self) -> bool:
        """Whether --json or --report takes standard output (then no tables are printed)."""
        return STDOUT in (self.json, self.report)


def heap_options(f: F) -> F:
    """--profile --procs --gogc --memlimit --liveness --gctrace --costs --sysmon-phase, as one
    RunOptions."""

    @functools.wraps(f)
    def bundled(**kw: Any) -> Any:
        kw["heap"] = run_options(
            kw.pop("profile"),
            kw.pop("procs"),
            kw.pop("gogc"),
            kw.pop("memlimit"),
            kw.pop("liveness"),
            kw.pop("gctrace"),
            kw.pop("costs"),
            kw.pop("sysmon_phase"),
        )
        return f(**kw)

    decorators = [
        profile_option("Go version modelled."),
        click.option(
            "--procs", default=1, show_default=True, type=int, help="GOMAXPROCS (number of Ps)."
        ),
        click.option("--gogc", default="100", show_default=True, metavar="N|off", help="GOGC."),
        click.option(
            "--memlimit",
            default=None,
            metavar="SIZE|off",
            help="GOMEMLIMIT, e.g. 512MiB (go1.8 has none: accepted and recorded only).",
        ),
        click.option(
            "--liveness",
            type=click.Choice(["graph", "lifetime"]),
            default="graph",
            show_default=True,
            help="How the collector knows what is live: pointers from roots, or declared deaths.",
        ),
        click.option("--gctrace", is_flag=True, help="Print gctrace lines to stderr, as Go does."),
        costs_option,
        click.option(
            "--sysmon-phase",
            type=float,
            default=0.0,
            show_default=True,
            metavar="MS",
            help="Start sysmon's 10 ms rounds this long before the program: real runs differ "
            "in where they fall, which moves when one P's mark worker runs.",
        ),
    ]
    out: Any = bundled
    for d in reversed(decorators):
        out = d(out)
    return cast(F, out)


def output_options(f: F) -> F:
    """--json --report -f, passed as one ``out`` Outputs (the command calls ``out.check``)."""

    @functools.wraps(f)
    def bundled(**kw: Any) -> Any:
        kw["out"] = Outputs(kw.pop("json_out"), kw.pop("report_out"), kw.pop("force"))
        return f(**kw)

    decorators = [
        json_option("Write the results as JSON (docs/json.md)."),
        click.option(
            "--report",
            "report_out",
            metavar="PATH.html|-",
            help="Write a self-contained HTML report.",
        ),
        click.option("-f", "--force", is_flag=True, help="Overwrite existing output files."),
    ]
    wrapped: Any = bundled
    for d in reversed(decorators):
        wrapped = d(wrapped)
    return cast(F, wrapped)


def pprof_options(f: F) -> F:
    """--pprof PATH and --memprofilerate N (run and replay)."""
    decorators = [
        click.option(
            "--pprof",
            "pprof_out",
            metavar="PATH.pb.gz",
            help="Write the program's heap profile (gzipped profile.proto, for go tool pprof).",
        ),
        click.option(
            "--memprofilerate",
            type=int,
            default=None,
            metavar="N",
            help="runtime.MemProfileRate: bytes between heap-profile samples (1: every "
            "allocation). Default 524288 with --pprof, else the profile's (go1.27: 0).",
        ),
    ]
    out: Any = f
    for d in reversed(decorators):
        out = d(out)
    return cast(F, out)


def pprof_settings(
    heap: RunOptions, pprof_out: str | None, memprofilerate: int | None
) -> RunOptions:
    """The run's MemProfileRate (the --pprof path is checked with the other outputs)."""
    import dataclasses

    from goheap.runner import profile_rate

    rate = profile_rate(heap.profile, memprofilerate, pprof_out)
    return dataclasses.replace(heap, memprofilerate=rate)


def gctrace_printer(enabled: bool) -> Callable[[str], None] | None:
    return (lambda line: click.echo(line, err=True)) if enabled else None


def run_options(
    profile: str,
    procs: int,
    gogc: str,
    memlimit: str | None,
    liveness: str,
    gctrace: bool,
    costs: object = None,
    sysmon_phase_ms: float = 0.0,
) -> RunOptions:
    from goheap.runner import RunOptions

    if not 1 <= procs <= 256:
        raise GoheapError(f"--procs {procs}: must be between 1 and 256")
    if not 0 <= sysmon_phase_ms <= 1000:  # also refuses nan
        raise GoheapError(f"--sysmon-phase {sysmon_phase_ms:g}: must be from 0 to 1000 ms")
    limit = parse_memlimit(memlimit)
    memlimit_note(profile, limit)
    printer = gctrace_printer(gctrace)
    return RunOptions(
        profile,
        procs,
        parse_gogc(gogc),
        liveness,
        limit,
        printer,
        costs=costs,
        sysmon_phase=round(sysmon_phase_ms * 1_000_000),
    )


def memlimit_note(profile: str, limit: int | None) -> None:
    """Say on stderr what a GOMEMLIMIT does under this profile: applied, or recorded only."""
    from goheap.report.common import memlimit_setting

    if limit is None:
        return
    setting = f"GOMEMLIMIT={memlimit_setting(limit)}"
    if get_profile(profile).has_memory_limit:
        click.echo(f"goheap: {setting} applied (the runtime's soft memory limit)", err=True)
    else:
        click.echo(
            f"goheap: note: {setting} is recorded but has no effect: {profile} has no memory "
            "limit (Go added GOMEMLIMIT in 1.19)",
            err=True,
        )


def run_json(kind: str, result: dict[str, Any]) -> str:
    """The --json text of a run, record or replay: a ``goheap.document`` of ``kind``."""
    return dumps(document(kind, run_body(result, workload_addresses(kind, result))))


def workload_addresses(kind: str, result: dict[str, Any]) -> tuple[str, ...]:
    """The address fields of a built-in workload's result (a replay's result is the trace's)."""
    from goheap.workloads import WORKLOADS

    w = WORKLOADS.get(result.get("workload", "")) if kind != "replay" else None
    return w.addresses if w is not None else ()


def emit(result: dict[str, Any], out: Outputs, kind: str, *, tables: bool = True) -> None:
    """Write the JSON and the report, and print the tables (unless stdout is taken)."""
    if out.json:
        write_file(out.json, run_json(kind, result))
    if out.report:
        from goheap.report.html import write_report

        write_report(result, out.report)
    if tables and not out.to_stdout():
        from goheap.report import text

        console = stdout_console()
        text.memstats_table(result, console)
        if "breakdown" in result:
            text.breakdown_table(result, console)


# --- run ----------------------------------------------------------------------------


@cli.command(
    epilog="""\b
Examples:
  goheap run binarytrees --param depth=12 --gogc 50 --gctrace
  goheap run retain --param size=16 --param count=1000 --json -
  goheap run churn --param k=1000 --param steps=100000 --report churn.html
  goheap run retain --pprof heap.pb.gz && go tool pprof -top heap.pb.gz
  goheap run --list                            the workloads and their parameters
"""
)
@click.argument("workload", required=False)
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Workload parameter.")
@click.option("--list", "list_workloads", is_flag=True, help="List the workloads and exit.")
@heap_options
@pprof_options
@output_options
def run(
    workload: str | None,
    params: tuple[str, ...],
    list_workloads: bool,
    heap: RunOptions,
    pprof_out: str | None,
    memprofilerate: int | None,
    out: Outputs,
) -> None:
    """Run a built-in WORKLOAD (default: binarytrees) and report MemStats."""
    from goheap.progress import RunProgress
    from goheap.runner import run_workload

    if list_workloads:
        print_workloads()
        return
    out.check({"--pprof": pprof_out})
    opts = pprof_settings(heap, pprof_out, memprofilerate)
    with RunProgress(f"run {workload or 'binarytrees'}") as bar:
        result = run_workload(
            workload,
            list(params),
            profile=opts.profile,
            procs=opts.procs,
            gogc=opts.gogc,
            gctrace=opts.gctrace,
            liveness=opts.liveness,
            memlimit=opts.memlimit,
            progress=bar.heap_callback(),
            memprofilerate=opts.memprofilerate,
            pprof=pprof_out,
            costs=opts.costs,
            sysmon_phase=opts.sysmon_phase,
        )
    emit(result, out, "run")


def print_workloads() -> None:

    from goheap.report.fit import Col, print_fitted
    from goheap.workloads import WORKLOADS

    cols = [
        Col("name", "left"),
        *(Col(h, "left", wrap=True) for h in ("parameters", "what it does")),
    ]
    rows = [
        [w.name, " ".join(f"{p.name}={p.default}" for p in w.params), w.summary]
        for w in WORKLOADS.values()
    ]
    print_fitted(stdout_console(), "workloads (parameters at their defaults)", cols, rows)


# --- record / replay ------------------------------------------------------------------


@cli.command(
    epilog="""\b
Examples:
  goheap record churn --param steps=100000 -o churn.trace            (binary)
  goheap record binarytrees --param depth=10 -o bt.ndjson            (text, by extension)
  goheap record churn --format ndjson -o - | head
"""
)
@click.argument("workload")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Workload parameter.")
@click.option(
    "-o", "--output", "output", required=True, metavar="PATH|-", help="Trace file (-: stdout)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "ndjson", "binary"]),
    default="auto",
    show_default=True,
    help="Trace encoding; auto: ndjson for .ndjson/.jsonl/.json, else binary.",
)
@heap_options
@output_options
def record(
    workload: str,
    params: tuple[str, ...],
    output: str,
    fmt: str,
    heap: RunOptions,
    out: Outputs,
) -> None:
    """Run a built-in WORKLOAD and write everything it does to a trace file."""
    from goheap.progress import RunProgress
    from goheap.trace import record_workload

    out.check({"-o": output})
    opts = heap
    if fmt == "auto":
        base = output[:-3] if output.endswith(".gz") else output
        fmt = "ndjson" if base.endswith((".ndjson", ".jsonl", ".json")) else "binary"
    with RunProgress(f"record {workload}") as bar:
        result = record_workload(
            workload,
            list(params),
            output,
            fmt=fmt,
            profile=opts.profile,
            procs=opts.procs,
            gogc=opts.gogc,
            liveness=opts.liveness,
            memlimit=opts.memlimit,
            gctrace=opts.gctrace,
            progress=bar.heap_callback(),
            costs=opts.costs,
            sysmon_phase=opts.sysmon_phase,
        )
    emit(result, out, "record", tables=output != STDOUT)


@cli.command(
    epilog="""\b
Examples:
  goheap replay churn.trace
  goheap replay churn.trace --liveness lifetime --gogc 50 --json out.json
  goheap replay service.ndjson.gz --report service.html
  goheap replay churn.trace --pprof churn.pb.gz && go tool pprof -top churn.pb.gz
"""
)
@click.argument("trace_path", metavar="TRACE")
@heap_options
@pprof_options
@output_options
def replay(
    trace_path: str,
    heap: RunOptions,
    pprof_out: str | None,
    memprofilerate: int | None,
    out: Outputs,
) -> None:
    """Replay a TRACE (goheap's NDJSON or binary trace format) through a profile."""
    from goheap.progress import RunProgress
    from goheap.runner import Session
    from goheap.trace import Replayer, TraceError, open_trace

    out.check({"--pprof": pprof_out}, {"TRACE": trace_path})
    reader = open_trace(trace_path)
    header = reader.header
    heap = settings_from_header(heap, header)
    heap = pprof_settings(heap, pprof_out, memprofilerate)
    session = Session(heap)
    name = str(header.get("workload") or Path(trace_path).name)
    params = header.get("params") or {}
    failure: TraceError | None = None
    try:
        with RunProgress(f"replay {Path(trace_path).name}") as bar:

            def show(n: int) -> None:
                bar.update(n, None, f"{n:,} events")

            replayer = Replayer(session.heap)
            try:
                with deferred_signals():  # raised at a timeline sample (goheap.interrupts)
                    count = replayer.replay(reader, progress=show)
            except TraceError as e:
                failure = e
                count = replayer.count  # the events applied before the bad one
            if failure is None and not reader.ended:
                click.echo(
                    f"goheap: note: {trace_path} has no 'end' record; it may be truncated",
                    err=True,
                )
            elif failure is None and reader.truncated:
                click.echo(
                    f"goheap: note: {trace_path}: the recording was cut short (interrupted); "
                    f"replayed its {count:,} events",
                    err=True,
                )
        result = session.results(name, params, {"trace": trace_path, "events": count})
        written: list[str] = []  # after a bad record: named in the one error line
        with announcing(written.append) if failure else contextlib.nullcontext():
            if pprof_out:  # also after a bad record: the profile of the events applied
                session.write_pprof(pprof_out)
            if failure is not None and out.json:  # the results so far are still written
                result["error"] = str(failure)
                write_file(out.json, run_json("replay", result))
        if failure is not None:
            kept = f" (the events before it: wrote {', '.join(written)})" if written else ""
            raise GoheapError(f"{failure}{kept}") from None
        emit(result, out, "replay")
    finally:
        session.close()


def settings_from_header(heap: RunOptions, header: dict[str, Any]) -> RunOptions:
    """Settings not given on the command line come from the trace's header."""
    import dataclasses

    ctx = click.get_current_context()
    taken: dict[str, Any] = {}
    for name in ("profile", "procs", "gogc", "liveness", "memlimit"):
        value = header.get(name)
        explicit = ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT
        if value is None or explicit:
            continue
        if name == "liveness" and value == "lifetime" and not header.get("liveness_events"):
            continue
        taken[name] = value
    changed = {k: v for k, v in taken.items() if getattr(heap, k) != v}
    if changed:
        shown = ", ".join(
            f"--{k} {'off' if k == 'gogc' and v < 0 else v}" for k, v in changed.items()
        )
        click.echo(f"goheap: note: as recorded in the trace: {shown}", err=True)
    return dataclasses.replace(heap, **changed)


# --- compare ----------------------------------------------------------------------------


@cli.command(
    epilog="""\b
Examples:
  goheap compare binarytrees --param depth=12 --gogc 50,100,200
  goheap compare churn --gogc 100,off --report cmp.html -j 2
  goheap compare large --gogc 100 --profile go1.8,go1.27 --json cmp.json
"""
)
@click.argument("workload")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Workload parameter.")
@profiles_option("Go versions modelled.")
@click.option(
    "--gogc",
    "gogcs",
    default="100",
    show_default=True,
    metavar="N[,N...]",
    help="GOGC settings (N or off).",
)
@click.option(
    "--memlimit",
    "memlimits",
    default="off",
    show_default=True,
    metavar="SIZE[,...]",
    help="GOMEMLIMIT settings.",
)
@click.option("--procs", default=1, show_default=True, type=int, help="GOMAXPROCS.")
@click.option(
    "--liveness",
    type=click.Choice(["graph", "lifetime"]),
    default="graph",
    show_default=True,
    help="How the collector knows what is live.",
)
@click.option(
    "-j",
    "--jobs",
    default=0,
    type=int,
    help="Runs in parallel (default: one per CPU, at most the number of runs).",
)
@click.option(
    "--executor",
    default="process",
    show_default=True,
    type=click.Choice(["process", "serial", "dask", "ray"]),
    help="Where the runs go (dask and ray when installed).",
)
@costs_option
@output_options
def compare(
    workload: str,
    params: tuple[str, ...],
    profiles: str,
    gogcs: str,
    memlimits: str,
    procs: int,
    liveness: str,
    jobs: int,
    executor: str,
    costs: Any,
    out: Outputs,
) -> None:
    """Run WORKLOAD under several settings and set the results side by side."""
    from goheap.compare import RunSpec, run_all
    from goheap.progress import RunProgress
    from goheap.workloads import get_workload, parse_params

    out.check()
    w = get_workload(workload)
    parse_params(w, params)  # fail now, not in a worker
    specs = [
        RunSpec(
            workload, list(params), prof, parse_gogc(g), parse_memlimit(m), procs, liveness, costs
        )
        for prof in parse_profiles(profiles)
        for g in split_list(gogcs, "--gogc")
        for m in split_list(memlimits, "--memlimit")
    ]
    for prof in parse_profiles(profiles):
        for m in sorted({spec.memlimit or 0 for spec in specs if spec.profile == prof} - {0}):
            memlimit_note(prof, m)
    with RunProgress(f"compare {workload}", ticking=True) as bar:
        results = run_all(
            specs, executor=executor, jobs=jobs, done=bar.count_callback(len(specs), "runs")
        )
    if out.json:
        runs = [run_body(r, workload_addresses("compare", r)) for r in results]
        write_file(out.json, dumps(document("compare", {"runs": runs})))
    if out.report:
        from goheap.report.html import write_compare_report

        write_compare_report(results, out.report)
    if not out.to_stdout():
        from goheap.report import text

        text.compare_table(results, stdout_console())


# --- sizeclasses ----------------------------------------------------------------------


@cli.command(
    epilog="""\b
Examples:
  goheap sizeclasses
  goheap sizeclasses --profile go1.8 --json -
"""
)
@profile_option("Go version.")
@json_option("Write the tables as one JSON object (docs/json.md).")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing --json file.")
def sizeclasses(profile: str, json_out: str | None, force: bool) -> None:
    """Print the size-class table, as the comment in Go's sizeclasses.go."""
    from goheap.sizeclasses import for_profile, format_go_table, to_json_dict

    check_outputs(force, {"--json": json_out})
    table = for_profile(profile)
    if json_out:
        write_file(json_out, dumps(document("sizeclasses", to_json_dict(table))))
    if json_out != STDOUT:
        sys.stdout.write(format_go_table(table))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning user errors into one line and exit 2.

    SIGINT and SIGTERM end the command alike (``goheap.interrupts``): what
    is being written is finished or removed, worker processes are ended,
    and one line says so; the exit status is 130 or 143.
    """
    if sys.stderr.isatty():  # a person at a terminal: say once that a faster build exists
        notice = _native.pure_build_notice()
        if notice is not None:
            click.echo(notice, err=True)
    try:
        with signals_call(), announcing(lambda path: click.echo(f"goheap: wrote {path}", err=True)):
            cli.main(args=argv, prog_name="goheap", standalone_mode=False)
    except GoheapError as e:
        click.echo(f"goheap: error: {e}", err=True)
        return EXIT_USAGE
    except click.ClickException as e:
        click.echo(f"goheap: error: {e.format_message()}", err=True)
        return EXIT_USAGE
    except Stopped as e:
        stop = e.interrupt
        note = f"; {stop.note}" if stop.note else ""
        click.echo(f"goheap: interrupted ({stop.name}){note}", err=True)
        return stop.exit_status
    except click.exceptions.Abort:  # an interrupt while the arguments were parsed
        click.echo("goheap: interrupted", err=True)
        return 130
    except click.exceptions.Exit as e:
        return e.exit_code
    except BrokenPipeError:
        return 0
    except OSError as e:  # the tables to a full standard output, say
        click.echo(f"goheap: error: {io_failure(e)}", err=True)
        return EXIT_USAGE
    return 0


def io_failure(e: OSError) -> str:
    """What an OSError that escaped a command failed to do.

    Files are written through goheap.outputs (its own errors); one without
    a file name is a stream: standard output, which is then pointed at
    /dev/null so that Python's flush at exit adds no second message.
    """
    if e.filename:
        return f"{e.filename}: {e.strerror or e}"
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return f"cannot write standard output: {e.strerror or e}"


if __name__ == "__main__":
    sys.exit(main())

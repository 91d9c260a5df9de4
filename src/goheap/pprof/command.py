"""``goheap analyze``: a Go heap profile by size class and by site, and what-if GOGC/GOMEMLIMIT.

``goheap.cli`` adds it to the ``goheap`` group; it imports only downward
(``goheap.outputs``, ``goheap.options``). User mistakes raise GoheapError, which
``goheap.cli.main`` prints as one line with exit status 2. Outputs are
checked, and every option parsed, before the profile is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from goheap.cliopts import costs_option, json_option, profile_option
from goheap.document import document, dumps
from goheap.errors import GoheapError
from goheap.options import parse_memlimit, split_list
from goheap.outputs import STDOUT, check_outputs, write_file
from goheap.parallel import EXECUTORS, check_jobs
from goheap.pprof.whatif import DEFAULT_CYCLES, MAX_BUDGET, MIN_BUDGET, check_cycles

if TYPE_CHECKING:
    from goheap.pprof.analyze import Analysis
    from goheap.pprof.model import HeapProfile
    from goheap.pprof.whatif import Setting, WhatIf


def load_profile(source: str, timeout: float | None = None) -> HeapProfile:
    """Read a heap profile (profile.proto, gzipped or not, or the legacy text form)
    from a file, ``-`` (standard input) or an http(s) URL (``/debug/pprof/heap``).

    Faults are ``goheap.pprof.reader.ProfileError`` (a GoheapError): one line.
    """
    from goheap.pprof.fetch import is_url, read_profile_source

    if is_url(source) and click.get_text_stream("stderr").isatty():
        click.echo(f"goheap: fetching {source}", err=True)  # it may take a while
    return read_profile_source(source, timeout)


def check_sources(profile: str, base: str | None, timeout: float | None, whatif: bool) -> None:
    """--base and --timeout against the rest, before anything is read."""
    if base is not None and whatif:
        raise GoheapError(
            "--base: a what-if (--gogc/--memlimit) simulates one heap, not the difference "
            "of two profiles; drop --base or the what-if options"
        )
    if base == "-" and profile == "-":
        raise GoheapError("--base -: PROFILE is standard input already; only one can be")
    if timeout is not None and not 0 < timeout <= 86_400:
        raise GoheapError(f"--timeout {timeout:g}: must be more than 0 and at most 86400 s")


def parse_settings(gogcs: str | None, memlimits: str | None) -> list[Setting]:
    """Every (GOGC, GOMEMLIMIT) pair asked for; none when neither option was given."""
    from goheap.heap import parse_gogc
    from goheap.pprof.whatif import Setting

    if gogcs is None and memlimits is None:
        return []
    gs = [parse_gogc(g) for g in split_list(gogcs or "100", "--gogc")]
    ms = [parse_memlimit(m) for m in split_list(memlimits or "off", "--memlimit")]
    return [Setting(g, m) for g in gs for m in ms]


def parse_profiled(gogc: str) -> Setting:
    """``--profile-gogc``: the setting the profiled program ran under."""
    from goheap.options import parse_gogc
    from goheap.pprof.whatif import Setting

    return Setting(parse_gogc(gogc, "--profile-gogc"))


@click.command(
    epilog="""\b
Examples:
  goheap analyze heap.pb.gz                          by size class and by site (go1.27)
  goheap analyze heap.pb.gz --top 40 --json -        everything as JSON
  goheap analyze heap.pb.gz --report heap.html       the HTML page
  goheap analyze heap.pb.gz --gogc 50,100,200        what-if: peak heap and GC frequency
  goheap analyze heap.pb.gz --gogc 100 --memlimit 64MiB,off -j 2
  goheap analyze heap.pb.gz --gogc 50,100 --alloc-rate 500MiB/s --cycles 10
  goheap analyze heap.pb.gz --gogc 50,400 --gctrace --executor dask
  goheap analyze heap.txt --profile go1.8            a legacy text profile, Go 1.8's classes
  goheap analyze http://localhost:6060/debug/pprof/heap    a running service's heap
  curl -s localhost:6060/debug/pprof/heap | goheap analyze -
  goheap analyze new.pb.gz --base old.pb.gz          what changed (as go tool pprof -base)
"""
)
@click.argument("profile_path", metavar="PROFILE")
@profile_option(
    "Go version whose size classes and spans are applied (and simulated).", dest="profile_name"
)
@click.option(
    "--gogc",
    "gogcs",
    default=None,
    metavar="N[,N...]",
    help="What-if: simulate the profile's heap under these GOGC settings (N or off).",
)
@click.option(
    "--memlimit",
    "memlimits",
    default=None,
    metavar="SIZE[,...]",
    help="What-if: GOMEMLIMIT settings, e.g. 256MiB,off (with --gogc, or GOGC=100).",
)
@click.option("--procs", default=1, show_default=True, type=int, help="What-if: GOMAXPROCS.")
@click.option(
    "--cycles",
    default=DEFAULT_CYCLES,
    show_default=True,
    type=int,
    metavar="N",
    help="What-if: steady GC cycles each setting's figures rest on (its stream is sized so).",
)
@click.option(
    "--budget",
    default=None,
    type=int,
    metavar="N",
    help="What-if: a fixed number of allocations per setting instead "
    "(the live set takes at most half) [default: sized by --cycles].",
)
@click.option(
    "--alloc-rate",
    "alloc_rate",
    default=None,
    metavar="SIZE/s|max",
    help="What-if: bytes the program allocates per second of its CPU "
    "[default: the profile's own rate if it has a duration, else inferred from its "
    "floating garbage (--inuse marked, young sites), else 100MiB/s].",
)
@click.option(
    "--inuse",
    default="marked",
    show_default=True,
    type=click.Choice(["marked", "live"]),
    help="What-if: what the profile's in-use objects are: a cycle's marked heap (written "
    "without a GC first, as /debug/pprof/heap does; the live set is estimated from it) or "
    "the live set (written after runtime.GC(), as go test -memprofile does).",
)
@click.option(
    "--profile-gogc",
    "profile_gogc",
    default="100",
    show_default=True,
    metavar="N",
    help="What-if: the GOGC the profiled program ran with (--inuse marked estimates its "
    "live set there).",
)
@click.option(
    "-j",
    "--jobs",
    default=0,
    type=int,
    help="What-if runs in parallel (default: one per CPU, at most the number of settings).",
)
@click.option(
    "--executor",
    default="process",
    show_default=True,
    type=click.Choice(list(EXECUTORS)),
    help="Where the what-if's settings run (dask and ray when installed).",
)
@click.option("--gctrace", is_flag=True, help="What-if: Go's gctrace lines per setting, on stderr.")
@click.option("--top", default=20, show_default=True, type=int, help="Allocation sites shown.")
@json_option("Write the analysis as JSON (docs/json.md).")
@click.option("--report", "report_out", metavar="PATH.html", help="Write an HTML report.")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing output files.")
@click.option(
    "--base",
    "base_path",
    default=None,
    metavar="OLD",
    help="Show PROFILE minus OLD (a file, - or a URL), as go tool pprof -base does.",
)
@click.option(
    "--timeout",
    default=None,
    type=float,
    metavar="SECONDS",
    help="For a URL: give up after this long [default: as go tool pprof, 65, or 5 + "
    "1.5 x the URL's seconds=N].",
)
@click.option("-v", "--verbose", is_flag=True, help="Print the notes on what limits the figures.")
@costs_option
def analyze(
    profile_path: str,
    profile_name: str,
    gogcs: str | None,
    memlimits: str | None,
    procs: int,
    cycles: int,
    budget: int | None,
    alloc_rate: str | None,
    inuse: str,
    profile_gogc: str,
    jobs: int,
    executor: str,
    gctrace: bool,
    top: int,
    json_out: str | None,
    report_out: str | None,
    force: bool,
    base_path: str | None,
    timeout: float | None,
    verbose: bool,
    costs: Any,
) -> None:
    """Where a Go heap PROFILE's bytes go: by size class, by site, and under other GOGCs.

    Reads a heap profile (go tool pprof's profile.proto, as
    /debug/pprof/heap or pprof.WriteHeapProfile write it, or the legacy text
    form) from a file, - (standard input) or a running program's
    http://HOST/debug/pprof/heap, and puts it through a Go version's size classes: in-use objects
    and bytes per class, the spans they need packed perfectly and the tail
    each span wastes, the minimum HeapInuse that implies, allocation per
    class, and the top allocation sites. With --gogc/--memlimit it builds a
    synthetic workload (the live set plus a stream with the profile's class
    mix) and simulates it under each setting, each for --cycles steady GC
    cycles: predicted peak HeapInuse, HeapSys, NextGC, and GCs per GiB
    allocated, with the cycles each rests on and their spread.
    """
    from goheap.profiles import get_profile

    check_outputs(
        force,
        {"--json": json_out, "--report": report_out},
        {"PROFILE": profile_path, "--base": base_path},
    )
    get_profile(profile_name)
    if top < 0:
        raise GoheapError(f"--top {top}: must be 0 or more")
    settings = parse_settings(gogcs, memlimits)
    profiled = parse_profiled(profile_gogc)
    check_sources(profile_path, base_path, timeout, bool(settings))
    rate: float | str | None = "profile"
    if alloc_rate is not None:
        from goheap.pprof.whatif import parse_alloc_rate

        rate = parse_alloc_rate(alloc_rate)
    if settings:
        check_cycles(cycles)
        if budget is not None and not MIN_BUDGET <= budget <= MAX_BUDGET:
            raise GoheapError(f"--budget {budget}: must be between {MIN_BUDGET} and {MAX_BUDGET}")
        if not 1 <= procs <= 256:
            raise GoheapError(f"--procs {procs}: must be between 1 and 256")
        check_jobs(jobs)
    profile = load_profile(profile_path, timeout)
    if base_path is not None:
        from goheap.pprof.diff import analyze_diff

        analysis = analyze_diff(profile, load_profile(base_path, timeout), profile_name)
    else:
        from goheap.pprof.analyze import analyze as run_analysis

        analysis = run_analysis(profile, profile_name)
    result = analysis.to_dict()
    if settings:
        size = f"{budget:,} allocations" if budget else f"sized for {cycles} steady GC cycles"
        click.echo(f"goheap: what-if: {len(settings)} setting(s), {size} each", err=True)
        w = _whatif(
            analysis,
            settings,
            procs,
            cycles,
            budget,
            rate,
            jobs,
            executor,
            gctrace,
            costs,
            inuse,
            profiled,
        )
        result["whatif"] = w.to_dict()
    if json_out:
        write_file(json_out, dumps(document("analyze", result)))
    if report_out:
        from goheap.pprof.flame import flame_tree
        from goheap.report.analyze import write_analysis_report

        flame = None if base_path is not None else flame_tree(profile)
        write_analysis_report(result, report_out, top=top, flame=flame)
    if STDOUT not in (json_out, report_out):
        from goheap.report.analyze import print_analysis

        print_analysis(result, top=top, verbose=verbose)


def _whatif(
    analysis: Analysis,
    settings: list[Setting],
    procs: int,
    cycles: int,
    budget: int | None,
    rate: float | str | None,
    jobs: int,
    executor: str,
    gctrace: bool,
    costs: Any = None,
    inuse: str = "marked",
    profiled: Setting | None = None,
) -> WhatIf:
    """Run the what-if with a progress bar (cycles of every setting) and print its gctrace."""
    from goheap.pprof.whatif import WARMUP_CYCLES, run_whatif
    from goheap.progress import RunProgress

    labels = [s.label for s in settings]
    wanted = 0 if budget else WARMUP_CYCLES + cycles + 1  # cycle starts per setting
    state = dict.fromkeys(range(len(settings)), (0, wanted))
    with RunProgress("what-if", ticking=True) as bar:

        def progress(index: int, done: int, wanted: int) -> None:
            state[index] = (done, wanted)
            total = sum(w for _, w in state.values())
            bar.update(
                sum(d for d, _ in state.values()),
                total or None,
                f"{labels[index]}: cycle {done}/{wanted}",
            )

        w = run_whatif(
            analysis,
            settings,
            procs=procs,
            budget=budget,
            cycles=cycles,
            alloc_rate=rate,
            jobs=jobs,
            executor=executor,
            progress=progress if bar.enabled else None,
            gctrace=gctrace,
            costs=costs,
            inuse=inuse,
            profiled=profiled,
        )
    for r in w.runs:
        lines = r.pop("gctrace", None)
        if lines is not None:
            click.echo(f"goheap: gctrace {r['label']}:", err=True)
            for line in lines:
                click.echo(line, err=True)
    return w

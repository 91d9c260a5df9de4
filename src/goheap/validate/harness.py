"""The validation, start to end: (a) real runs, (b) the simulation, (c) the comparison.

:func:`run_validation` builds the oracle programs once, then for each case
collects the real runs (cached), simulates once (or at several sysmon
phases, ``Options.phases``: goheap.validate.sim), and compares; it returns
one JSON-able report that goheap.validate.render prints as a table and as
the Markdown of docs/fidelity.md.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goheap.costs import resolve_costs
from goheap.profiles import DEFAULT_PROFILE
from goheap.report.common import gogc_text
from goheap.validate import go18
from goheap.validate.allowance import items_for
from goheap.validate.cases import Settings, make_cases
from goheap.validate.compare import WIDEN, compare_case, summary
from goheap.validate.figures import from_oracle
from goheap.validate.go18 import is_go18, probe
from goheap.validate.heavy import group_summary, heavy_cases
from goheap.validate.quiet import QuietGate
from goheap.validate.real import BUSY_KEY, IDLE_KEY, LOAD_KEY, collect_real
from goheap.validate.sim import collect_sim_phases, sysmon_phases
from goheap.validate.toolchain import (
    build_programs,
    default_cache_dir,
    find_oracle_dir,
    read_size_classes,
)


@dataclass(frozen=True)
class Options:
    """Everything `goheap validate` was asked for."""

    go: Path
    workloads: Sequence[str] = ()
    quick: bool = False
    runs: int = 5
    profile: str = DEFAULT_PROFILE
    gogc: int = 100  # -1: off
    memlimit: int | None = None
    cache_dir: Path | None = None  # binaries, Go's caches and runs (None: default_cache_dir())
    use_cache: bool = True  # reuse cached runs
    oracle: str | None = None
    heavy: bool = False  # the heavy cases (goheap.validate.heavy), each with its own settings
    costs: object = None  # the model's clock: None (built-in), a calibration file or Costs
    phases: int = 1  # sysmon phases simulated per case; timing figures: their median


def _no_step(label: str) -> AbstractContextManager[Any]:
    return contextlib.nullcontext()


def run_validation(
    opts: Options,
    log: Callable[[str], None] = lambda s: None,
    step: Callable[[str], AbstractContextManager[Any]] = _no_step,
) -> dict[str, Any]:
    """Build, run, simulate and compare; the whole report as one dict.

    ``log`` is told each step as it starts; each long step runs inside
    ``step(label)`` (the command shows progress there).
    """
    tc = probe(opts.go)
    if is_go18(tc.version) != is_go18(opts.profile):
        log(f"note: the {opts.profile} profile is measured against {tc.version} ({tc.go})")
    build = go18.build_programs if is_go18(tc.version) else build_programs
    oracle = find_oracle_dir(opts.oracle)
    classes = read_size_classes(tc.goroot)
    if opts.heavy:
        cases = heavy_cases(opts.workloads, opts.profile)
    else:
        cases = make_cases(opts.workloads, quick=opts.quick, classes=classes)
    cache_dir = opts.cache_dir or default_cache_dir()
    log(f"building the oracle programs with {tc.version} ({tc.go})")
    with step("building the oracle programs"):
        programs = build(tc, oracle, cache_dir)
    log(f"  {'built' if programs.built else 'up to date'}: {programs.bindir}")
    run_settings = Settings(gogc=gogc_text(opts.gogc), memlimit=opts.memlimit)
    span_bytes = {classes.sizes[c]: classes.span_bytes[c] for c in range(1, len(classes.sizes))}
    costs = resolve_costs(opts.costs)  # read once: every case runs on the same clock
    gate = QuietGate()  # one waiting budget for the whole validation
    out_cases = []
    all_rows = []
    for n, case in enumerate(cases, 1):
        settings = case.settings or run_settings
        flags = " ".join(case.go_flags)
        where = f"[{n}/{len(cases)}] {case.label}"
        told = f" ({settings.text()})" if case.settings else ""
        log(f"{where}: {opts.runs} run(s) of {case.workload} {flags}{told}")
        with step(f"{where}: running Go"):
            real = collect_real(
                tc,
                programs,
                case,
                opts.runs,
                settings,
                cache_dir,
                reuse=opts.use_cache,
                tell=lambda s: log(f"  {s}"),
                gate=gate,
            )
        if real.cached:
            log(f"  {real.cached} from the cache")
        figures = [from_oracle(d) for d in real.docs]
        at = f" at {opts.phases} sysmon phases" if opts.phases > 1 else ""
        log(f"{where}: simulating with profile {opts.profile}{at}")
        with step(f"{where}: simulating"):
            sim = collect_sim_phases(
                case,
                opts.profile,
                settings.gogc_value(),
                settings.memlimit,
                procs=settings.gomaxprocs,
                costs=costs,
                phases=opts.phases,
            )
        if sim.unavailable:
            log(f"  simulation unavailable: {sim.unavailable}")
        items = items_for(case.workload, real.docs, sim.figures, span_bytes)
        rows = compare_case(
            case.workload,
            figures,
            sim.figures,
            items=items,
            unavailable=sim.unavailable,
            by_phase=sim.by_phase,
        )
        all_rows.extend(rows)
        out_cases.append(
            {
                **case.to_dict(),
                "real": {
                    "runs": len(real.docs),
                    "cached": real.cached,
                    "go_version": real.go_version,
                    "figures": figures,
                    "result": real.docs[0].get("result") if real.docs else None,
                    "load": [d.get(LOAD_KEY) for d in real.docs],
                    "idle_cpus": [d.get(IDLE_KEY) for d in real.docs],
                    "busy": sum(1 for d in real.docs if d.get(BUSY_KEY)),
                },
                "sim": sim.to_dict(),
                "allowance": [i.to_dict() for i in items],
                "rows": [r.to_dict() for r in rows],
            }
        )
    report: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "go": {
            "version": tc.version,
            "path": str(tc.go),
            "goroot": str(tc.goroot),
            "target": f"{tc.goos}/{tc.goarch}",
            "green_tea": classes.inline_mark_bits,
        },
        "programs": {
            "dir": str(oracle),
            "bin": str(programs.bindir),
            "source_hash": programs.source_hash,
        },
        "profile": opts.profile,
        "costs": costs.to_dict(),
        "gogc": None if opts.heavy else gogc_text(opts.gogc),
        "memlimit": None if opts.heavy else opts.memlimit,
        "gomaxprocs": None if opts.heavy else 1,  # heavy: each case's own settings
        "runs": opts.runs,
        "sysmon_phases": list(sysmon_phases(opts.phases)),
        "quick": opts.quick,
        "widen": WIDEN,
        "cases": out_cases,
        "summary": summary(all_rows),
        "heavy": opts.heavy,
    }
    if opts.heavy:
        report["groups"] = group_summary(out_cases)
    return report

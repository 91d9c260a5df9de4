"""The model's side: run the workload once, the way its Go twin runs.

The oracle program warms up with one ``runtime.GC()``, takes its baseline,
runs the workload, reads MemStats, forces a GC and reads them again; the
simulation does the same on a fresh heap built by ``goheap.runner.Session``
(so it gets exactly the heap ``goheap run`` would: profile, GOMAXPROCS,
GOGC, GOMEMLIMIT), and its figures come from the same function as the real
ones (goheap.validate.figures). A profile that cannot run yet (go1.27 while
it is being built) or a model failure makes the result unavailable, with
the reason, instead of stopping the validation.

The twins hold live heap objects the workloads do not allocate -- the
report package's run state, flag values, encoding/json's and
runtime/metrics' tables -- and every cycle scans them.
``HARNESS_HEAP_SCAN`` is their scan work beyond a minimal program's (which
the profile's ``runtime_heap_scan`` carries), measured on the live
runtimes, and ``hold_harness`` gives it to the simulated heap: Go's worker
checks its share every 100,000 units of heap scan work and assists work
at least 64 KiB of it, so 16-35 KB more or less per cycle changes when a
mark ends.

One run of a program is one draw: where sysmon's rounds fall against its
work (and with them when a single P's mark worker gets the P) differs from
run to run, and on heaps of hundreds of MB or long marks that moves NumGC
and the peaks by tens of percent (docs/fidelity.md, "Sysmon's phase").
``collect_sim_phases`` simulates a case at several such phases
(``Heap(sysmon_phase=...)``) and takes each timing figure's median.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Final

from goheap.document import hex_address
from goheap.errors import GoheapError
from goheap.heap import Heap
from goheap.runtime.common.sysmon import SYSMON_ROUND_NS
from goheap.validate.cases import Case
from goheap.validate.figures import METRICS, SPREAD, Figures, from_memstats
from goheap.workloads import get_workload

#: Heap scan work per GC cycle of the twins' harness, beyond a minimal
#: program's (runtime and runtime/metrics only: 38,008 bytes on Go 1.27.3,
#: 10,264 on Go 1.8, one P). go1.27: the churn twin with -k 1 -steps 0,
#: ``/gc/scan/heap:bytes`` after its final runtime.GC(), 54,120, less its
#: 8-byte ring and the minimal program's. go1.8 (no runtime/metrics):
#: gcpacertrace's W_a of the churn twin at -k 10000 (124,592) and the
#: large twin at -window 8 (45,072), less their rings (80,000, 64) and
#: the minimal program's: 34,328 and 34,744, their mean.
HARNESS_HEAP_SCAN: Final = {"go1.27": 16104, "go1.8": 34536}

#: Of HARNESS_HEAP_SCAN, what Go's drain reaches before the workload's own
#: heap objects. Instrumented runtimes (a print of every object's and span's
#: scan work in gcDrain and gcDrainN) ran the churn twins at -k 10000: on Go
#: 1.27.3 (``go build -overlay``, a forced GC) 41,240 bytes of other objects
#: came before the 81,920-byte ring, on Go 1.8 (a patched copy, background
#: cycles) 8,528 before its 80,000; less the minimal programs' parts
#: (``runtime_heap_scan_first``: 26,552 and 8,400).
HARNESS_HEAP_SCAN_FIRST: Final = {"go1.27": 14688, "go1.8": 128}

#: The same where a mark assist took the data and BSS root jobs (Go 1.27's
#: gcDrainN drains what each job greys before it takes the next), and what
#: the twins' goroutine stacks reach, which a worker that takes their root
#: job after such an assist drains before the workload's objects too. The
#: instrumented Go 1.27.3 runtime, the churn twin at -k 10000 on one P,
#: background cycles: 35,520 bytes before the ring where assists did all
#: the work, 47,560 where the fractional worker took the stacks' job (its
#: heap work now ends 5,560 short of the heap's end, as in the gctrace
#: cycles whose heap grew 45 MB in one mark); a minimal program with
#: runtime/metrics and a ring (tests/oracle/probe/minring): 32,304 and
#: 32,344 (the profile's ``runtime_heap_scan_first_assisted``; its stacks'
#: 40 bytes are counted here, not modelled apart).
HARNESS_HEAP_SCAN_FIRST_ASSISTED: Final = {"go1.27": 3216}
HARNESS_HEAP_SCAN_STACKS: Final = {"go1.27": 12040}

#: The live bytes of those harness objects, which the pacer counts as it
#: counts the runtime's (the profiles' ``runtime_heap_live``): the twins'
#: HeapAlloc after their warm-up runtime.GC() with one P, less a minimal
#: program's after the same. go1.27: 79,296 less 61,032 (runtime,
#: runtime/metrics and time only, ``/gc/heap/live:bytes``). go1.8: the churn
#: twin's 345,480 less 16,800 (runtime and time, tests/oracle/go18probe/livebase);
#: the large and binarytrees twins' differ by -224 to +144 (their flags), and
#: with two Ps they agree within 208 bytes. Most of it is the report's buffer of per-cycle
#: points (4,096 of 72 bytes, pointer-free).
HARNESS_HEAP_LIVE: Final = {"go1.27": 18264, "go1.8": 328680}

#: The heap pages those objects take (go1.8: ``hold_premain_pages``, as the
#: runtime's own): the Go 1.8 twins' HeapInuse after the warm-up, 565,248
#: with one P in each twin, less the minimal program's 131,072 (the go1.8
#: profile's ``premain_heap_inuse``). The go1.27 profile does not model the
#: pages held before main (its baseline HeapInuse is compared as a delta).
HARNESS_HEAP_INUSE: Final = {"go1.8": 434176}


def hold_harness(heap: Heap) -> None:
    """Give heap the twins' harness objects: their scan work, live bytes and pages."""
    name = heap.profile.name
    heap.set_unmodelled_heap_scan(
        HARNESS_HEAP_SCAN.get(name, 0),
        HARNESS_HEAP_SCAN_FIRST.get(name, 0),
        HARNESS_HEAP_LIVE.get(name, 0),
        first_assisted=HARNESS_HEAP_SCAN_FIRST_ASSISTED.get(name),
        stacks=HARNESS_HEAP_SCAN_STACKS.get(name, 0),
    )
    if name in HARNESS_HEAP_INUSE:  # the runtime's pre-main pages, then the harness's
        heap.runtime.with_premain_pages()
        heap.runtime.hold_premain_pages(HARNESS_HEAP_INUSE[name])


@dataclass
class SimResult:
    """The simulation's figures, or why there are none."""

    figures: Figures | None
    unavailable: str | None = None
    wall_s: float = 0.0
    result: Any = None
    addresses: tuple[str, ...] = ()  # the fields of result that are addresses
    # With phases: the sysmon phases simulated (ns) and each timing figure's
    # value at each; ``figures`` then holds the medians (collect_sim_phases).
    phases: tuple[int, ...] = ()
    by_phase: dict[str, list[Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        result = self.result
        if isinstance(result, dict):
            result = {k: hex_address(v) if k in self.addresses else v for k, v in result.items()}
        return {
            "figures": self.figures,
            "unavailable": self.unavailable,
            "wall_s": round(self.wall_s, 3),
            "result": result,
            "phases": list(self.phases),
            "by_phase": self.by_phase,
        }


def sysmon_phases(n: int) -> tuple[int, ...]:
    """n sysmon phases (ns) spread evenly over the 10 ms its rounds ask, 0 first.

    Past its first 26 ms sysmon's rounds are one round apart (10 ms asked,
    10.16 ms as the built-in costs run them), so phases this far apart cover
    the ways its later rounds can fall, to within the 1.6 % they run late.
    """
    return tuple(k * SYSMON_ROUND_NS // n for k in range(n))


def collect_sim_phases(
    case: Case,
    profile: str,
    gogc: int | str | None = 100,
    memlimit: int | None = None,
    *,
    procs: int = 1,
    costs: object = None,
    phases: int = 1,
) -> SimResult:
    """``collect_sim`` at ``phases`` sysmon phases: each timing figure (NumGC, the
    peak, HeapSys, NextGC) is the median over them (the lower of the middle two
    for an even count), every other figure the first phase's (phase 0: the
    plain run). One phase is ``collect_sim`` itself."""
    at = sysmon_phases(phases)
    runs = []
    for phase in at:
        sim = collect_sim(
            case, profile, gogc, memlimit, procs=procs, costs=costs, sysmon_phase=phase
        )
        if sim.figures is None:
            return sim
        runs.append(sim)
    if len(runs) == 1:
        return runs[0]
    first = runs[0]
    assert first.figures is not None
    figures = dict(first.figures)
    by_phase: dict[str, list[Any]] = {}
    for m in METRICS:
        if m.kind == SPREAD:
            values = [r.figures[m.key] for r in runs if r.figures is not None]
            by_phase[m.key] = values
            figures[m.key] = statistics.median_low(values)
    return SimResult(
        figures,
        None,
        sum(r.wall_s for r in runs),
        first.result,
        first.addresses,
        at,
        by_phase,
    )


def collect_sim(
    case: Case,
    profile: str,
    gogc: int | str | None = 100,
    memlimit: int | None = None,
    *,
    procs: int = 1,
    costs: object = None,
    sysmon_phase: int = 0,
) -> SimResult:
    """Simulate the case once with `profile` on `procs` Ps; never raises for an unavailable
    model. ``costs``: the clock's (``goheap.costs.resolve_costs``; None: built in);
    ``sysmon_phase``: ns sysmon's rounds start before the clock (``Heap``)."""
    from goheap.runner import RunOptions, Session

    started = time.perf_counter()
    workload = get_workload(case.workload)
    try:
        session = Session(
            RunOptions(
                profile=profile,
                procs=procs,
                gogc=gogc,
                memlimit=memlimit,
                costs=costs,
                sysmon_phase=sysmon_phase,
            )
        )
    except GoheapError as e:
        return SimResult(None, str(e))
    heap = session.heap
    hold_harness(heap)
    try:
        heap.gc()  # the oracle's warm-up runtime.GC()
        base = heap.read_memstats().to_dict()
        result = workload.run(heap, dict(case.params))
        res = session.results(case.workload, dict(case.params), result)
        heap.gc()  # the final forced GC, the workload's objects still referenced
        after = heap.read_memstats().to_dict()
        figures = from_memstats(base, res["memstats"], after, res["peak"]["HeapInuse"])
        wall = time.perf_counter() - started
        return SimResult(figures, None, wall, res["result"], workload.addresses)
    except GoheapError as e:
        return SimResult(None, str(e), time.perf_counter() - started)
    except Exception as e:  # a model still under construction must not hide the real figures
        reason = f"the model failed: {type(e).__name__}: {e}".splitlines()[0]
        return SimResult(None, reason, time.perf_counter() - started)
    finally:
        session.close()

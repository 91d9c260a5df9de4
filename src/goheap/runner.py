"""Run a workload (or any driver) on a fresh heap and gather its results.

The result is one JSON-able dict, the same for ``goheap run``, ``goheap
replay`` and ``goheap compare``:

- ``profile``, ``workload``, ``params``, ``procs``, ``gogc``, ``memlimit``,
  ``liveness``, ``memprofilerate`` (``runtime.MemProfileRate`` as the run
  had it), and ``result`` (what the workload itself reports);
- ``costs``: the costs the virtual clock ran on (``goheap.costs``): their
  name (``built-in``, ``calibrated 2026-12-05``), the calibration file, the figures;
- ``memstats``: runtime.ReadMemStats at the end, with Go's field names;
- ``metrics`` (profiles with runtime/metrics: go1.27): runtime/metrics.Read
  at the end, by Go's metric names (``Heap.read_metrics``);
- ``peak``: the true maxima over the run of HeapAlloc, HeapInuse and
  HeapSys (the runtime keeps running maxima; see MStats);
- ``gc``: one object per cycle (number, virtual start and end, heap at
  start, marked, goal, trigger, pause, forced, the gctrace line);
- ``classes``, ``spans``, ``breakdown``: the heap at the end (goheap.heapcensus);
- ``timeline``: heap figures over virtual time (goheap.timeline);
- ``sim``: wall-clock seconds the simulation took and allocations made.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from goheap.errors import GoheapError
from goheap.heap import Heap
from goheap.heapcensus import breakdown, class_table, live_objects, span_map
from goheap.interrupts import deferred_signals
from goheap.options import parse_gogc
from goheap.profiles import DEFAULT_PROFILE, get_profile
from goheap.profiles.fastforward import TRACE_EVERY_LINE
from goheap.runtime.common.mgc import CycleLog, GCCycle
from goheap.timeline import Timeline
from goheap.workloads import DEFAULT_WORKLOAD, get_workload, parse_params


def profile_rate(profile: str, memprofilerate: int | None, pprof: str | None) -> int | None:
    """MemProfileRate for a run: a program writing a heap profile has Go's 512 KiB default.

    Without a profile to write, None leaves the profile's own default (go1.27:
    0, as the linker sets it in programs that never read a heap profile).
    0 with a profile to write is refused: the profile would be empty.
    """
    if memprofilerate is not None and memprofilerate < 0:
        raise GoheapError(f"--memprofilerate {memprofilerate}: must not be negative")
    if pprof is None:
        return memprofilerate
    if memprofilerate == 0:
        raise GoheapError(
            "--memprofilerate 0 turns heap profiling off: the --pprof profile would be empty"
        )
    return get_profile(profile).mem_profile_rate if memprofilerate is None else memprofilerate


@dataclass
class RunOptions:
    """How to build the heap a run happens on."""

    profile: str = DEFAULT_PROFILE
    procs: int = 1
    gogc: int | str | None = 100
    liveness: str = "graph"
    memlimit: int | None = None
    gctrace: Callable[[str], None] | None = None
    memprofilerate: int | None = None  # None: the profile's default MemProfileRate
    costs: object = None  # None: the built-in costs; else a calibration file or CostModel
    sysmon_phase: int = 0  # ns sysmon started before the clock (Heap's sysmon_phase)


class Session:
    """A heap being run, with the instruments a result needs attached."""

    def __init__(self, opts: RunOptions, progress: Callable[[Heap], None] | None = None) -> None:
        if not isinstance(opts.procs, int) or not 1 <= opts.procs <= 256:
            raise GoheapError(f"--procs {opts.procs}: must be between 1 and 256")
        self.opts = opts
        self.heap = Heap(
            profile=opts.profile,
            procs=opts.procs,
            memprofilerate=opts.memprofilerate,
            gogc=parse_gogc(opts.gogc),
            liveness=opts.liveness,
            memlimit=opts.memlimit,
            gctrace=opts.gctrace or False,
            costs=opts.costs,
            sysmon_phase=opts.sysmon_phase,
        )
        self.timeline = Timeline(self.heap)
        if progress is not None:
            tick = self.timeline.sample
            heap = self.heap

            def sample_and_report(event: str = "tick") -> None:
                tick(event)
                progress(heap)

            self.heap.gc_.on_sample = sample_and_report
        self.started = time.perf_counter()

    def results(self, workload: str, params: dict[str, Any], result: Any = None) -> dict[str, Any]:
        """Everything the run produced, as one JSON-able dict (see the module doc)."""
        heap = self.heap
        wall = time.perf_counter() - self.started
        ms = heap.read_memstats()
        metrics = heap.read_metrics() if heap.profile.has_runtime_metrics else None
        live = live_objects(heap)
        self.timeline.sample("end")
        t0 = heap.gc_.start_ns
        shown, left_out = listed_cycles(heap)
        return {
            "profile": heap.profile.name,
            "workload": workload,
            "params": params,
            "procs": heap.procs,
            "gogc": parse_gogc(self.opts.gogc),
            "memlimit": self.opts.memlimit,
            "liveness": heap.liveness,
            "memprofilerate": heap.mprof.MemProfileRate,
            "result": result if result is not None else {},
            "costs": heap.costs.to_dict(),
            **({"sysmon_phase_ns": self.opts.sysmon_phase} if self.opts.sysmon_phase else {}),
            "memstats": ms.to_dict(),
            **({"metrics": metrics} if metrics is not None else {}),
            "peak": heap.runtime.peaks(),
            "gc": [cycle_dict(c, t0) for c in shown],
            **({"gc_fastforwarded": left_out} if left_out else {}),
            "classes": class_table(heap, live),
            "breakdown": breakdown(heap, live),
            "spans": span_map(heap),
            "timeline": self.timeline.to_list(),
            "sim": {
                "wall_s": round(wall, 3),
                "allocs": ms.Mallocs,
                "virtual_ns": heap.clock.now - t0,
                "program_ns": heap.program_ns,
                **({"releases": rel} if (rel := heap.runtime.releases()) is not None else {}),
            },
        }

    def write_pprof(self, path: str) -> None:
        """Write the heap profile the program would write now (pprof.WriteHeapProfile)."""
        from goheap.pprof.sim import heap_profile_from_runtime
        from goheap.pprof.writer import write_heap_profile

        write_heap_profile(heap_profile_from_runtime(self.heap), path)

    def close(self) -> None:
        self.heap.close()


def run_workload(
    name: str | None,
    param_items: list[str],
    *,
    profile: str = DEFAULT_PROFILE,
    procs: int = 1,
    gogc: int | str | None = 100,
    gctrace: Callable[[str], None] | None = None,
    liveness: str = "graph",
    memlimit: int | None = None,
    progress: Callable[[Heap], None] | None = None,
    memprofilerate: int | None = None,
    pprof: str | None = None,
    costs: object = None,
    sysmon_phase: int = 0,
) -> dict[str, Any]:
    """Run workload `name` (the default if None) and return its results.

    ``costs``: a calibration file (``goheap calibrate``) or a CostModel for the
    clock; None runs on the built-in costs. ``sysmon_phase``: ns sysmon's rounds
    start before the program (``Heap``).

    With ``pprof``, the heap profile is written there at the end, after the
    results are read (as a Go program calling pprof.WriteHeapProfile last).
    """
    workload = get_workload(name or DEFAULT_WORKLOAD)
    params = parse_params(workload, param_items)
    rate = profile_rate(profile, memprofilerate, pprof)
    opts = RunOptions(profile, procs, gogc, liveness, memlimit, gctrace, rate, costs, sysmon_phase)
    session = Session(opts, progress)
    try:
        with deferred_signals():  # raised at a timeline sample, never inside compiled code
            result = workload.run(session.heap, params)
        if not isinstance(result, dict):
            result = {}
        results = session.results(workload.name, params, result)
        if pprof is not None:
            session.write_pprof(pprof)
        return results
    finally:
        session.close()


def listed_cycles(heap: Heap) -> tuple[list[GCCycle], list[dict[str, Any]]]:
    """The cycles the JSON lists, and the long fast-forwarded stretches it leaves out.

    An idle fast-forward of more than ``TRACE_EVERY_LINE`` cycles is listed
    as gctrace prints it: its first and last cycle, and one
    ``gc_fastforwarded`` entry for the cycles between (each like the cycle,
    or the two alternating cycles, before the stretch; docs/json.md).
    """
    log = heap.cycles
    if not isinstance(log, CycleLog):
        return list(log), []
    shown, runs = log.listing(TRACE_EVERY_LINE)
    return shown, [
        {"first": a, "last": b, "like": like, "period_ns": span} for a, b, like, span in runs
    ]


def cycle_dict(c: GCCycle, t0: int = 0) -> dict[str, Any]:
    """One GC cycle; times in ns since t0 (the program's start)."""
    return {
        "number": c.n,
        "start_ns": c.tSweepTerm - t0,
        "end_ns": c.tEnd - t0,
        "heap_start": c.heap0,
        "heap_mark_end": c.heap1,
        "marked": c.heap2,
        "heap_goal": c.heapGoal,
        "trigger": c.trigger,
        "pause_ns": c.pause_ns,
        "forced": c.forced,
        "gctrace": c.gctrace,
    }

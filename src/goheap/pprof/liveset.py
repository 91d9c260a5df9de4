"""The what-if's live set and allocation rate, read from a heap profile (``--inuse``).

Go's heap profile shows the heap "as of the most recently completed garbage
collection" (``mprof.go``: allocations recorded before a cycle's mark
termination, less the frees of that cycle's sweep). A profile written
without a GC first (``/debug/pprof/heap``, ``pprof.WriteHeapProfile``)
therefore counts one cycle's *marked* heap: the live objects and everything
the program allocated while that cycle marked (allocated black, dead or
not). Real runs confirm it (in-use bytes over the run's ``/gc/heap/live``:
0.93-1.06, benchmarks/RESULTS.md). Taken as live, that floating garbage
would count twice, since the what-if's own program floats its own on top.
``--inuse marked`` (the default) takes it out, one of two ways:

1. **From the profile's young sites** (:func:`floating_from_sites`). A
   site whose objects all die within a cycle holds, when the profile is
   written, only what it allocated while the last cycle marked. Allocation
   is spread over sites in the same shares all the time, so such a site's
   in-use bytes over its share of all allocated bytes are the bytes the
   whole program allocated while that cycle marked. A site is *young* when
   its share of the in-use bytes is under ``YOUNG_RATIO`` of its share of
   the allocated bytes; the young sites are pooled (their in-use bytes over
   their allocation share). Real profiles of a service gave 25-30 MiB from
   each of five request sites alike, where the program's marked heap
   exceeded its live objects by about 27 MiB. That many bytes of the
   stream's size mix leave the live set, and when the profile carries no
   allocation rate, the rate is **inferred** (:func:`infer_rate`): the one
   at which the what-if's own program, run at the profiled GOGC, floats
   the same bytes per cycle.
2. **Simulated** (:func:`estimate_live`), when no young site allocates at
   least ``MIN_YOUNG_SHARE`` of the bytes (a program whose every object
   outlives a cycle, such as a FIFO ring): the what-if's program runs at
   the profiled GOGC at the given (or assumed) rate, and what its steady
   cycles mark beyond its live set is taken out.

``--inuse live`` takes the in-use objects as they stand: a profile written
after ``runtime.GC()`` (``go test -memprofile``, ``?gc=1``) holds the live
set itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from goheap.errors import GoheapError

if TYPE_CHECKING:
    from goheap.pprof.analyze import Analysis
    from goheap.pprof.whatif import Setting, SyntheticWorkload

#: ``--inuse``: a profile's in-use objects are one cycle's marked heap, or the live set.
INUSE_MARKED, INUSE_LIVE = "marked", "live"
INUSE_CHOICES = (INUSE_MARKED, INUSE_LIVE)
#: A site is young when its share of the in-use bytes is under this fraction of its
#: share of the allocated bytes (its objects are mostly younger than the profile's
#: average). The heavy service's request sites came to 0.17-0.20 in exact profiles and
#: 0.1-0.7 in sampled ones (512 KiB), its cache sites above 5.
YOUNG_RATIO = 0.5
#: Young sites that allocate less than this share of all bytes say too little.
MIN_YOUNG_SHARE = 0.1
#: The rate fit: runs of the what-if's program at the profiled GOGC, the steady cycles
#: each, and the rates it may land on (bytes per second of mutator CPU).
RATE_RUNS = 3
RATE_CYCLES = 12
#: Under ``--budget`` (a cost the user fixed) the estimate and the fit run this few.
BUDGET_CYCLES = 2
MIN_RATE, MAX_RATE = float(1 << 20), float(64 << 30)
#: The note says the profile held too few objects of the stream's sizes only when the
#: bytes taken fall this far short of the floating garbage found.
SHORT_OF = 0.99


#: The index's bytes per live object: one pointer slot.
INDEX_SLOT = 8


def live_set_bytes(live: tuple[tuple[int, int], ...]) -> int:
    """A live set's bytes: its objects' and its index's (``INDEX_SLOT`` per object)."""
    return sum((s + INDEX_SLOT) * n for s, n in live)


def check_inuse(inuse: str) -> None:
    if inuse not in INUSE_CHOICES:
        raise GoheapError(f"--inuse {inuse!r}: must be one of {', '.join(INUSE_CHOICES)}")


@dataclass(frozen=True)
class LiveEstimate:
    """How the live set was read from the profile's in-use objects.

    ``source``: ``"as is"`` (``--inuse live``), ``"sites"`` (the young
    sites' floating garbage, ``young_sites`` of them) or ``"simulated"``
    (what the what-if's own program, run at ``profiled``, marked beyond its
    live set). ``measured``: the floating bytes so found; ``floating``: the
    bytes taken out (less where the profile holds too few objects of the
    stream's sizes). ``rate_fit``: with an inferred rate, each fit run's
    (rate, floating bytes per cycle). Bytes in the profile's units.
    """

    inuse: str
    source: str
    profiled: Setting | None
    inuse_bytes: int
    measured: int
    floating: int
    live_bytes: int
    cycles: int = 0  # the steady cycles a simulated figure rests on (0: none)
    young_sites: int = 0
    rate_fit: tuple[tuple[float, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "inuse": self.inuse,
            "source": self.source,
            "profiled": None if self.profiled is None else self.profiled.label,
            "inuse_bytes": self.inuse_bytes,
            "measured": self.measured,
            "floating": self.floating,
            "live_bytes": self.live_bytes,
            "cycles": self.cycles,
            "young_sites": self.young_sites,
            "rate_fit": [[r, f] for r, f in self.rate_fit],
        }


def take_out_bytes(
    live: tuple[tuple[int, int], ...], mix: tuple[tuple[int, int], ...], nbytes: float
) -> tuple[tuple[int, int], ...]:
    """The live counts less about ``nbytes`` bytes of objects in ``mix``'s proportions.

    An object's bytes are its slot's and its index slot's (``INDEX_SLOT``).
    Each slot size gives up ``nbytes * n / bytes(mix)`` objects (rounded),
    never more than the live set holds of that size.
    """
    mix_bytes = live_set_bytes(mix)
    if nbytes <= 0 or mix_bytes <= 0:
        return live
    cut = {k: nbytes * n / mix_bytes for k, n in mix}
    kept = ((k, n - min(n, round(cut.get(k, 0.0)))) for k, n in live)
    return tuple((k, n) for k, n in kept if n)


@dataclass(frozen=True)
class YoungSites:
    """What the young sites say: the bytes allocated while the profile's cycle marked."""

    floating: float
    sites: int
    share: float  # of all allocated bytes


def floating_from_sites(analysis: Analysis) -> YoungSites | None:
    """The profile's floating garbage from its young sites (module doc), or None.

    None when the young sites allocate under ``MIN_YOUNG_SHARE`` of the
    bytes, or hold nothing in use (a profile written after a GC, or a
    sampled one that caught none of them).
    """
    allocated = sum(s.alloc_bytes for s in analysis.sites)
    inuse = sum(s.inuse_bytes for s in analysis.sites)
    if allocated <= 0 or inuse <= 0:
        return None
    young = [
        s
        for s in analysis.sites
        if s.alloc_bytes > 0 and s.inuse_bytes * allocated < YOUNG_RATIO * inuse * s.alloc_bytes
    ]
    share = sum(s.alloc_bytes for s in young) / allocated
    held = sum(s.inuse_bytes for s in young)
    if share < MIN_YOUNG_SHARE or held <= 0:
        return None
    return YoungSites(held / share, len(young), share)


def _floating_per_cycle(
    work: SyntheticWorkload, profiled: Setting, procs: int, costs: Any, cycles: int
) -> tuple[float, int]:
    """What the workload's steady cycles mark beyond its live set at ``profiled``.

    Always sized for steady cycles, even under ``--budget``: a figure per
    cycle needs the cycles, not the budget's allocations; but a budget asks
    for a small cost, so then only ``BUDGET_CYCLES`` of them.
    """
    from goheap.pprof.whatif import run_setting

    if work.budget is not None:
        cycles = BUDGET_CYCLES
    sized = dataclasses.replace(work, cycles=cycles, budget=None, stream=())
    row = run_setting(sized, profiled, procs, costs=costs)
    marked = row["predicted"]["marked"]
    if marked is None:
        return 0.0, 0
    return max(0.0, marked - row["live_bytes"] / row["live_scale"]), int(row["cycles"])


def _taken(work: SyntheticWorkload, floating: float) -> tuple[SyntheticWorkload, int, int]:
    """The workload less ``floating`` bytes of the stream's mix; bytes taken and left."""
    kept = dataclasses.replace(
        work, live=take_out_bytes(work.live, work.mix, floating * work.live_scale)
    )
    taken = round((work.live_bytes - kept.live_bytes) / work.live_scale)
    return kept, taken, round(kept.live_bytes / work.live_scale)


def estimate_live(
    work: SyntheticWorkload, profiled: Setting, procs: int = 1, costs: Any = None
) -> tuple[SyntheticWorkload, LiveEstimate]:
    """Simulated: the workload runs at ``profiled``; what it floats leaves its live set.

    One step: the smaller live set it leaves floats slightly less, a
    second-order difference.
    """
    floating, cycles = _floating_per_cycle(work, profiled, procs, costs, work.cycles)
    kept, taken, left = _taken(work, floating)
    return kept, LiveEstimate(
        INUSE_MARKED, "simulated", profiled, work.inuse_bytes, round(floating), taken, left, cycles
    )


def infer_rate(
    work: SyntheticWorkload,
    profiled: Setting,
    floating: float,
    procs: int = 1,
    costs: Any = None,
) -> tuple[float, tuple[tuple[float, float], ...]]:
    """The allocation rate at which the workload floats ``floating`` bytes a cycle.

    The bytes a program allocates while a cycle marks grow with its rate
    (the marking takes about the same time), so each of ``RATE_RUNS`` runs
    at ``profiled`` (``RATE_CYCLES`` steady cycles each, the first at the
    workload's own rate) measures the floating bytes, a line through the
    origin is fitted to every (rate, floating) point so far, and the next
    rate is the one where it meets ``floating`` (within ``MIN_RATE`` ..
    ``MAX_RATE``; eight times the last while nothing has floated). Returns
    the last rate and the points, or the workload's own rate and no points
    when no run floated anything (a setting without cycles).
    """
    first = rate = work.alloc_rate or MIN_RATE
    points: list[tuple[float, float]] = []
    for _ in range(RATE_RUNS):
        run = dataclasses.replace(work, alloc_rate=rate)
        measured, _cycles = _floating_per_cycle(run, profiled, procs, costs, RATE_CYCLES)
        points.append((rate, measured))
        slope = sum(r * f for r, f in points) / sum(r * r for r, _ in points)
        # Nothing floated yet: try eight times faster.
        rate = min(MAX_RATE, rate * 8 if slope <= 0 else max(MIN_RATE, floating / slope))
    if not any(f > 0 for _, f in points):  # no rate floats anything here (GOGC=off): none found
        return first, ()
    return rate, tuple(points)


def read_live_set(
    analysis: Analysis,
    work: SyntheticWorkload,
    inuse: str,
    profiled: Setting,
    infer: bool,
    procs: int = 1,
    costs: Any = None,
) -> tuple[SyntheticWorkload, LiveEstimate]:
    """The workload with its live set (and, if ``infer``, its rate) read as the module doc says."""
    check_inuse(inuse)
    if inuse == INUSE_LIVE:
        left = round(work.live_bytes / work.live_scale)
        return work, LiveEstimate(INUSE_LIVE, "as is", None, work.inuse_bytes, 0, 0, left)
    young = floating_from_sites(analysis)
    if young is None:
        return estimate_live(work, profiled, procs, costs)
    kept, taken, left = _taken(work, young.floating)
    fit: tuple[tuple[float, float], ...] = ()
    if infer:
        rate, fit = infer_rate(kept, profiled, young.floating, procs, costs)
        kept = dataclasses.replace(kept, alloc_rate=rate)
    return kept, LiveEstimate(
        INUSE_MARKED,
        "sites",
        profiled,
        work.inuse_bytes,
        round(young.floating),
        taken,
        left,
        young_sites=young.sites,
        rate_fit=fit,
    )


def estimate_note(e: LiveEstimate, rate_text: str) -> str:
    """How the live set (and the rate) came from the profile's in-use bytes."""
    from goheap.report.common import human_bytes

    inuse, left = human_bytes(e.inuse_bytes), human_bytes(e.live_bytes)
    if e.inuse == INUSE_LIVE:
        return (
            f"The profile's in-use objects ({inuse}) are taken as the live set as they stand "
            "(--inuse live: a profile written after runtime.GC())."
        )
    assert e.profiled is not None
    head = (
        f"The profile's in-use objects ({inuse}) are taken as one cycle's marked heap (a "
        "profile written without a GC first: the live objects and what was allocated while "
        "that cycle marked): "
    )
    short = ""
    # Whole objects are taken, so a rounding short of ``measured`` is no shortage.
    if e.floating < SHORT_OF * e.measured:
        short = f" ({human_bytes(e.floating)} of it: the profile holds no more of those sizes)"
    if e.source == "sites":
        how = (
            f"its {e.young_sites} young sites (objects that die within a cycle) say the program "
            f"allocated {human_bytes(e.measured)} while that cycle marked, taken out of the "
            f"stream's size mix{short}"
        )
        if e.rate_fit:
            how += (
                f"; the allocation rate at which the what-if's own program, at "
                f"{e.profiled.label}, floats as much is {rate_text}"
            )
    elif e.cycles:
        how = (
            f"the what-if's own program, run at {e.profiled.label}, marked "
            f"{human_bytes(e.measured)} beyond its live set in each cycle (over {e.cycles} "
            f"steady cycles), so that much of the stream's size mix was taken out{short}"
        )
    else:
        how = f"no steady cycle ran at {e.profiled.label}, so nothing was taken out"
    return (
        f"{head}{how}, leaving a live set of {left} (--inuse live for a profile written after "
        "runtime.GC(); --profile-gogc for the GOGC it was written under)."
    )

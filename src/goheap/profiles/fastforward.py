"""Idle time in closed form: skip forced GCs that change nothing but counters.

An idle Go program still collects: sysmon forces a GC two minutes after the
last one (``forcegcperiod``, runtime/proc.go), so a heap left idle for 146
years runs 38 million cycles. Once nothing allocates, each of those cycles
leaves the heap as it found it: the same spans, marks and free pages, the
same pacer, only counters moved on (NumGC, PauseTotalNs, the PauseNs and
PauseEnd rings, LastGC, sweepgen, every timestamp...). ``IdleFastForward``
sees that and moves those counters on by k cycles at once, exactly as k
stepped cycles would, so idle time costs its events, not its length.

How it knows, without trusting a list of what a cycle may change: at the
quiet point after each forced GC (the collector's ``idle_point`` hook) it
takes a snapshot of every scalar the runtime holds (``snapshot``: a walk
of the whole object graph). With five consecutive snapshots it tests a
period of one cycle, then of two (Go 1.27's span sets swap roles every
cycle): every value must be the same each period, or grow by the same
amount each period and be either a timestamp (it grows by exactly the
period's length) or a counter named in ``COUNTERS``. Anything else -- a
scavenger still releasing, finalizers queued, a float drifting -- and the
heap is stepped on, with the next test after twice as many cycles
(``backoff``), so an idle period that never settles pays a handful of
snapshots, not one per cycle.

What is not a plain counter is done the way k cycles would: each cycle
goes into the collector's ``CycleLog`` as a run built on demand, the last
256 into the PauseNs/PauseEnd rings, GCCPUFraction is computed at the last
one as mark termination computes it, and Go 1.8's scavenger timer (150 s,
on its own clock beside the 2-minute GC) is played through the skipped
time (``go18_scavenge_timer``). Go 1.8 needs its scavenger idle for that:
every free span already released.

gctrace: Go prints a line per cycle. A fast-forward of up to
``TRACE_EVERY_LINE`` cycles prints each line as stepping would; a longer
one prints its first line, one summary line and its last line.

A timeline (``goheap.timeline``, the CLI's runs) takes a jump as one
``gc_end`` sample at its end (the heap is the same in every skipped cycle);
it says so with the collector's ``sample_jumps``. Not fast-forwarded
(stepped as before): a heap with any other ``on_sample`` hook (the
what-if's cycle meter) or an ``on_cycle`` listener, since those count every
cycle.
"""

from __future__ import annotations

import hashlib
import mmap
import types
from collections.abc import Callable
from typing import Any, Final

import numpy as np

from goheap.runtime.common.mgc import CycleRun, GCCycle
from goheap.runtime.common.sysmon import CACHE_FIELDS

#: Names of integer fields that count events or add up time, and so may grow
#: by the same amount every cycle forever. Any other value that changes from
#: cycle to cycle must change by exactly the period (a timestamp).
COUNTERS: Final = frozenset(
    {
        "numgc",  # MemStats.NumGC
        "pause_total_ns",  # PauseTotalNs
        "totaltime",  # Go 1.8 work.totaltime
        "gcCpuTime",  # Go 1.27's GC CPU time
        "sweepgen",  # mheap_.sweepgen and every span's
        "flushGen",  # mcache.flushGen
        "gen",  # the scavenge index's generation
        "cycles_started",  # work.cycles
        "cycle",  # the heap profile's cycle counter
        "nbgsweep",
        "npausesweep",
        "overflow",  # the GC CPU limiter's overflow, once its bucket is full
        "turns",  # the background scavenger's wake-ups
    }
)

#: A fast-forward of at most this many cycles prints every gctrace line.
TRACE_EVERY_LINE: Final = 1000
#: Periods (in cycles) tried, shortest first.
PERIODS: Final = (1, 2)
#: Snapshots kept: enough for three points of the longest period.
HISTORY: Final = 2 * max(PERIODS) + 1
#: Forced-GC periods an idle period must have left before snapshots are
#: taken. The five snapshots a jump needs cost about as much as stepping
#: 1,000 (pure build) to 5,000 (compiled) go1.27 cycles, so a shorter idle
#: period (under about three days) is stepped: it costs well under a second.
MIN_PERIODS: Final = 2048
#: Cycles stepped without snapshots after the first failed test (doubling).
FIRST_BACKOFF: Final = 4
#: numpy arrays up to this size are hashed into a snapshot; larger ones are
#: the arena's memory, which no collector writes.
HASH_LIMIT: Final = 64 << 20

_LEAVES: Final = (int, float, str, bytes, type(None))
_CALLABLES: Final = (
    types.FunctionType,
    types.MethodType,
    types.BuiltinFunctionType,
    types.BuiltinMethodType,
    types.ModuleType,
    type,
)

#: Where a value sits: (container, attribute name or index or key, how to set it).
Place = tuple[Any, Any, str]


class Snapshot:
    """Every scalar reachable from the runtime, by path, and where each sits."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.places: dict[str, Place] = {}
        self.blind = False  # some runtime object listed no attributes: proves nothing


def _attr_names(o: object) -> list[str]:
    """The instance attributes of o: __dict__, __slots__ and mypyc's attribute list."""
    names: list[str] = []
    d = getattr(o, "__dict__", None)
    if isinstance(d, dict):
        names.extend(d)
    for cls in type(o).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        names.extend([slots] if isinstance(slots, str) else slots)
        names.extend(cls.__dict__.get("__mypyc_attrs__", ()))
    seen: set[str] = set()
    out = []
    for n in names:
        if n not in seen and n not in ("__dict__", "__weakref__"):
            seen.add(n)
            out.append(n)
    return out


def snapshot(root: object, skip: set[int], excluded: set[tuple[int, str]]) -> Snapshot:
    """Walk everything reachable from root (depth first, in attribute order).

    Objects whose id is in ``skip`` are not entered; ``excluded`` names
    (object id, attribute) pairs the caller handles itself.
    """
    snap = Snapshot()
    values, places = snap.values, snap.places
    seen: set[int] = set(skip)
    # Every object entered, kept alive until the walk ends: compiled (mypyc)
    # classes box a tuple-typed attribute into a new tuple on each read, and
    # once such a temporary is freed its id may be reused by the next one,
    # which ``seen`` would then skip -- with everything under it.
    entered: list[object] = []
    stack: list[tuple[str, Any, Place | None]] = [("rt", root, None)]
    while stack:
        path, o, place = stack.pop()
        if isinstance(o, _LEAVES):
            values[path] = o
            if place is not None:
                places[path] = place
            continue
        if id(o) in seen:
            continue
        seen.add(id(o))
        entered.append(o)
        if isinstance(o, _CALLABLES) or type(o).__name__.startswith("__mypyc_"):
            continue  # a function (mypyc makes a compiled lambda an object of its own class)
        if isinstance(o, np.ndarray):
            nbytes = o.nbytes
            digest = hashlib.blake2b(o.tobytes()).hexdigest() if nbytes <= HASH_LIMIT else ""
            values[path] = ("ndarray", o.shape, str(o.dtype), digest)
            continue
        if isinstance(o, bytearray):
            values[path] = ("bytearray", hashlib.blake2b(o).hexdigest())
            continue
        if isinstance(o, (memoryview, mmap.mmap)):
            values[path] = ("buffer", len(o))  # the arena's memory: no collector writes it
            continue
        if isinstance(o, list):
            values[path + "#"] = len(o)
            for i in range(len(o) - 1, -1, -1):
                stack.append((f"{path}[{i}]", o[i], (o, i, "item")))
        elif isinstance(o, tuple):
            values[path + "#"] = len(o)
            for i in range(len(o) - 1, -1, -1):
                stack.append((f"{path}({i})", o[i], None))  # immutable: never set
        elif isinstance(o, dict):
            values[path + "#"] = len(o)
            for k in reversed(list(o)):
                stack.append((f"{path}[{k!r}]", o[k], (o, k, "item")))
        elif isinstance(o, (set, frozenset)):
            values[path] = ("set", tuple(sorted(repr(v) for v in o)))
        else:
            names = _attr_names(o)
            if not names:
                if type(o).__module__.startswith("goheap"):
                    snap.blind = True  # a runtime object whose state cannot be seen
                values[path] = ("opaque", type(o).__name__)
                continue
            values[path + "@"] = type(o).__qualname__
            for n in reversed(names):
                if (id(o), n) in excluded:
                    continue
                try:
                    v = getattr(o, n)
                except AttributeError:
                    continue
                stack.append((f"{path}.{n}", v, (o, n, "attr")))
    return snap


def _leaf_name(path: str) -> str:
    return path.rsplit(".", 1)[-1]


class Periodic:
    """A period found: p cycles lasting span_ns; per-key growth per period."""

    def __init__(self, p: int, span_ns: int, steps: dict[str, int]) -> None:
        self.p = p
        self.span_ns = span_ns
        self.steps = steps


def find_period(
    snaps: list[Snapshot], quiet: list[int], bounded: set[str] | None = None
) -> Periodic | tuple[str, str]:
    """The shortest period over which the last snapshots repeat, or (why not, the key).

    ``quiet`` holds the instant of each snapshot; keys in ``bounded`` may
    grow evenly although neither timestamps nor counters (the caller caps
    the jump before they reach their bound).
    """
    why = ("too few snapshots", "")
    if any(s.blind for s in snaps):
        return ("a runtime object hides its fields", "")
    for p in PERIODS:
        if len(snaps) < 2 * p + 1:
            break
        span = quiet[-1] - quiet[-1 - p]
        if span <= 0 or quiet[-1 - p] - quiet[-1 - 2 * p] != span:
            why = ("periods of unequal length", "")
            continue
        a, b, c = snaps[-1 - 2 * p], snaps[-1 - p], snaps[-1]
        res = _compare(a.values, b.values, c.values, span, bounded or set())
        if isinstance(res, tuple):
            why = res
        elif all(k in c.places for k in res):
            return Periodic(p, span, res)
        else:
            why = ("a counter sits where it cannot be set", "")
    return why


def _compare(
    a: dict[str, Any], b: dict[str, Any], c: dict[str, Any], span: int, bounded: set[str]
) -> dict[str, int] | tuple[str, str]:
    """Per key, the growth per period (only the keys that grow), or (what, key) breaks it."""
    if a.keys() != b.keys() or b.keys() != c.keys():
        return "the heap's shape changes", ""
    steps: dict[str, int] = {}
    for k, vc in c.items():
        va, vb = a[k], b[k]
        if va == vb == vc and type(va) is type(vc):
            continue
        if not (type(va) is type(vb) is type(vc) is int):
            return f"{k} changes: {va!r}, {vb!r}, {vc!r}", k
        d = vc - vb
        if vb - va != d:
            return f"{k} changes unevenly: {va}, {vb}, {vc}", k
        if d != span and _leaf_name(k) not in COUNTERS and k not in bounded:
            return f"{k} grows by {d} per period, not a timestamp nor a counter", k
        steps[k] = d
    return steps


def play_timer(
    last: int, every: int, x0: int, x_end: int, span: int, grid: list[tuple[int, int]]
) -> int:
    """A sysmon timer (Go 1.8's scavenger) through the periodic idle time [x0, x_end].

    The timer is due at ``last + every``. Idle time repeats every ``span``
    ns from x0: in each repetition the GCs occupy ``(start, quiet]``
    (offsets in ``grid``), time during which sysmon does not run (the
    idle Ps mark and sweep). A deadline in idle time fires on time; one
    inside a GC fires at the next GC's start, when sysmon runs again (it
    starts the GC, then sees the timer overdue). Returns the time of the
    last firing up to x_end (``last`` if none). Firings are searched in
    numpy blocks, so a century costs well under a second.
    """
    if last + every <= x0:  # overdue since the GC just done: fires at the next start
        g = x0 + grid[0][0]
        if g > x_end:
            return last
        last = g
    while True:
        m_max = (x_end - last) // every
        if m_max < 1:
            return last
        hit = _first_collision(last - x0, every, m_max, span, grid)
        if hit is None:
            return last + m_max * every
        off = last - x0 + hit * every
        r = (off - 1) // span
        u = off - r * span
        phase = next(i for i, (s, q) in enumerate(grid) if s < u <= q)
        if phase + 1 < len(grid):
            nxt = x0 + r * span + grid[phase + 1][0]
        else:
            nxt = x0 + (r + 1) * span + grid[0][0]
        if nxt > x_end:
            return last + (hit - 1) * every
        last = nxt


_BLOCK: Final = 1 << 20


def _first_collision(
    first: int, every: int, m_max: int, span: int, grid: list[tuple[int, int]]
) -> int | None:
    """The least m in 1..m_max with first + m*every inside a GC of the grid, or None."""
    m = 1
    while m <= m_max:
        hi = min(m_max, m + _BLOCK - 1)
        ms = np.arange(m, hi + 1, dtype=np.int64)
        u = (first + ms * every) % span
        u[u == 0] = span
        inside = np.zeros(len(ms), dtype=bool)
        for s, q in grid:
            inside |= (u > s) & (u <= q)
        idx = np.flatnonzero(inside)
        if idx.size:
            return int(ms[idx[0]])
        m = hi + 1
    return None


class IdleFastForward:
    """The collector's ``idle_point`` hook: fast-forwards a settled idle heap.

    The version supplies what is not a plain counter: the fields it
    handles itself (``excluded``), the path of the GC CPU time counter, and
    an optional ``timer`` to play through the skipped time (Go 1.8's
    scavenger) that may also refuse (returns False) when the heap is not
    settled.
    """

    def __init__(
        self,
        runtime: Any,
        gc: Any,
        stats: Any,
        *,
        cpu_attr: str,
        forcegcperiod: int,
        fmt: Callable[[GCCycle, float], str],
        excluded: list[tuple[object, str]],
        settled: Callable[[], bool] | None = None,
        timer: Callable[[int, int, list[tuple[int, int]]], None] | None = None,
        bounded: list[tuple[object, str, Callable[[], int]]] | None = None,
    ) -> None:
        self.rt = runtime
        self.gc = gc
        self.stats = stats
        self.cpu_attr = cpu_attr
        self.forcegcperiod = forcegcperiod
        self.fmt = fmt
        self.excluded = {(id(o), n) for o, n in excluded}
        # next_sample_ns: the timeline's next tick, which its own thinning moves.
        self.excluded |= {(id(gc), "cycles"), (id(gc), "idle_point"), (id(gc), "next_sample_ns")}
        self.excluded |= {(id(stats), n) for n in ("pause_ns", "pause_end", "gc_cpu_fraction")}
        self.excluded |= {(id(gc.sysmon), n) for n in CACHE_FIELDS}  # a cache, not state
        self.settled = settled
        self.timer = timer
        # Values that grow evenly only up to a bound: (object, attribute, bound).
        self.bounded = bounded or []
        self.snaps: list[Snapshot] = []
        self.points: list[tuple[int, int]] = []  # (GC start, quiet point) of each snapshot
        self.cpu: list[int] = []  # the GC CPU counter at each snapshot
        self.ends: list[int] = []  # where the idle period ended at each snapshot
        self.seen_numgc = -1
        self.wait = 0  # cycles to let pass before the next snapshot
        self.backoff = FIRST_BACKOFF
        self.watch: Place | None = None  # where the value that broke the last test sits
        self.watched: list[Any] = []  # its last values, one per cycle
        self.watch_even = False  # even steps settle it (else only a constant does)
        self.enabled = True  # off only in tests and benchmarks that compare with stepping
        self.min_periods = MIN_PERIODS  # tests lower it to compare short idle periods
        self.jumps = 0  # fast-forwards made (for tests and benchmarks)
        self.last_reason = ""  # why the last test found no period

    def reset(self) -> None:
        """A new idle period: what came before it proves nothing about it."""
        self._forget()
        self.seen_numgc = self.stats.numgc
        self.wait = 0
        self.backoff = FIRST_BACKOFF
        self.watch = None

    def __call__(self, end: int) -> int:
        """At a quiet point of an idle period ending at ``end``: its end afterwards."""
        st = self.stats
        if st.numgc == self.seen_numgc:
            return end
        self.seen_numgc = st.numgc
        gc = self.gc
        now = gc.clock.now
        if (
            not self.enabled
            or (gc.on_sample is not None and not gc.sample_jumps)
            or gc.on_cycle is not None
            or end - now < self.min_periods * self.forcegcperiod
            or not gc.cycles
        ):
            self._forget()
            return end
        if self.wait > 0:
            self.wait -= 1
        if (self.watch is not None and not self._watched_settles()) or self.wait > 0:
            return end
        last = gc.cycles[-1]
        self.snaps.append(snapshot(self.rt, {id(self)}, self.excluded))
        self.points.append((last.tSweepTerm, now))
        self.cpu.append(getattr(gc, self.cpu_attr))
        self.ends.append(end)
        if len(self.snaps) > HISTORY:
            del self.snaps[0], self.points[0], self.cpu[0], self.ends[0]
        if len(self.snaps) < HISTORY:
            return end
        snap = self.snaps[-1]
        caps = {}
        for obj, name, bound in self.bounded:
            for key, (o, n, _) in snap.places.items():
                if o is obj and n == name:
                    caps[key] = bound()
        found = find_period(self.snaps, [q for _, q in self.points], set(caps))
        drift = 0
        if isinstance(found, Periodic):
            # The collector's work inside the idle period moves its end
            # (Go 1.8 counts only the time it sleeps): evenly, or no period.
            p = found.p
            drift = self.ends[-1] - self.ends[-1 - p]
            if self.ends[-1 - p] - self.ends[-1 - 2 * p] != drift or drift >= found.span_ns:
                found = ("the idle period's end moves unevenly", "")
            elif self.settled is not None and not self.settled():
                found = ("not settled (a free span is not yet released)", "")
        if not isinstance(found, Periodic):
            self.last_reason, key = found
            place = self.snaps[-1].places.get(key)
            self._forget()
            if place is not None:
                # Watch what broke the period (cheaply) until it settles.
                self.watch = place
                self.watched = []
                self.watch_even = "unevenly" in self.last_reason
            self.wait = self.backoff
            self.backoff *= 2
            return end
        # Leave at least one period to step: the idle period ends inside it.
        k = (end - now - found.span_ns) // (found.span_ns - drift)
        for key, cap in caps.items():
            d = found.steps.get(key, 0)
            if d:
                # Stop two periods short of the bound: reaching it is stepped.
                v = snap.values[key]
                room = cap - v if d > 0 else v
                k = min(k, room // abs(d) - 2)
        if k >= 1:
            self._jump(found, k)
            end += k * drift
        self._forget()
        return end

    def _watched_settles(self) -> bool:
        """Has the watched value settled (constant or even steps over two periods)?"""
        assert self.watch is not None
        obj, where, how = self.watch
        v = getattr(obj, where, None) if how == "attr" else obj[where]
        w = self.watched
        w.append(v)
        if len(w) < 5:
            return False
        del w[:-5]
        if self.watch_even and all(type(x) is int for x in w):
            ok = w[-1] - w[-3] == w[-3] - w[-5]  # even steps, as a timestamp takes
        else:
            ok = w[-1] == w[-3] == w[-5]  # constant (period one or two)
        if ok:
            self.watch = None
        return ok

    def _forget(self) -> None:
        self.snaps.clear()
        self.points.clear()
        self.cpu.clear()
        self.ends.clear()

    def _jump(self, per: Periodic, k: int) -> None:
        """Move the heap on by k periods of per.p cycles each."""
        gc, st = self.gc, self.stats
        p = per.p
        x0 = gc.clock.now
        x_end = x0 + k * per.span_ns
        if self.timer is not None:
            # The GCs of one period, as offsets from now: (start, quiet point).
            base = self.points[-1 - p][1]
            grid = [(s - base, q - base) for s, q in self.points[-p:]]
            self.timer(x0, x_end, grid)
        snap = self.snaps[-1]
        for key, d in per.steps.items():
            obj, where, how = snap.places[key]
            if how == "attr":
                setattr(obj, where, getattr(obj, where) + k * d)
            else:
                obj[where] = obj[where] + k * d
        templates = list(gc.cycles[-p:])
        cpu_step = self.cpu[-1] - self.cpu[-1 - p]
        count = k * p
        run = CycleRun(
            templates, count, per.span_ns, self.cpu[-p:], cpu_step, gc.start_ns, self.fmt
        )
        numgc0 = st.numgc - count  # numgc has been moved on already
        for i in range(max(0, count - 256), count):
            c = run.cycle(i)
            slot = (numgc0 + i) % 256
            st.pause_ns[slot] = c.pause_ns
            st.pause_end[slot] = c.tEnd
        st.gc_cpu_fraction = run.cpu_fraction(count - 1)
        gc.cycles.add_run(run)
        self._trace(run)
        self.jumps += 1
        if gc.on_sample is not None:
            gc.on_sample("gc_end")  # the heap as every skipped cycle left it

    def _trace(self, run: CycleRun) -> None:
        """gctrace for the run: every line, or first, summary and last (see the module doc)."""
        out = self.gc.gctrace
        if out is None:
            return
        n = run.count
        if n <= TRACE_EVERY_LINE:
            for i in range(n):
                out(run.cycle(i).gctrace)
            return
        first, last = run.cycle(0), run.cycle(n - 1)
        out(first.gctrace)
        out(
            f"gc {first.n + 1}-{last.n - 1}: {n - 2} more forced cycles like gc {first.n}, "
            f"one every {run.span_ns // len(run.templates)} ns of idle time "
            "(fast-forwarded by goheap; Go prints each)"
        )
        out(last.gctrace)

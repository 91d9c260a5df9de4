"""The public face of the model: a Go heap you can allocate into and inspect.

    >>> from goheap import Heap, Type
    >>> h = Heap(profile="go1.8", procs=1)
    >>> Node = Type("Node", size=16, pointers=[0, 8])
    >>> a, b = h.new(Node), h.new(Node)
    >>> h.write_pointer(a, 0, b)
    >>> h.read_memstats().HeapAlloc
    32

``Heap`` has its profile's strategy (``goheap.profiles.build_runtime``)
build one runtime of that Go version whole, the way ``mallocinit``/
``schedinit`` do (the arena reservation, ``mheap.init``, one mcache per P),
holds it as ``h.runtime``, and exposes the
Go operations a program performs: ``new`` (newobject), ``make`` (newarray /
makeslice), ``malloc`` (mallocgc itself), word and pointer stores and loads,
``read_memstats`` (runtime.ReadMemStats), ``read_metrics`` (runtime/metrics,
go1.27), ``gc``/``free_os_memory``/``set_gc_percent``/``set_memory_limit``
(runtime and runtime/debug; GOGC and GOMEMLIMIT are ``gogc=`` and
``memlimit=``) and ``check`` (every invariant of the heap). The virtual
clock runs on the built-in costs unless ``costs=`` names a calibration file
(``goheap calibrate``) or gives a ``CostModel``; ``h.costs`` says which.
``sysmon_phase=`` (ns) starts sysmon's rounds that much before the clock:
real runs differ in where those rounds, and so the preemptions that let a
single P's mark workers run, fall against the program's work
(``goheap.runtime.common.sysmon``). The runtime structures
stay reachable for inspection: ``h.mheap``, ``h.mcaches[p]``,
``h.mheap.spans``... typed by what every version has; ``h.runtime`` is the
version's own runtime (``goheap.profiles.go18.Go18Runtime``, ...), whose
parts have the version's types (``h.runtime.mheap.free[n]`` on go1.8).

What the model leaves out of a real Go process: the runtime's own
allocations before ``main`` (goroutine stacks, the scheduler, init-time
objects). A fresh ``Heap`` is the heap as ``main`` would see it if the
runtime had allocated nothing, so every number comes from the program's
own allocations.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NoReturn, TypeVar

from goheap.costs import Costs, resolve_costs
from goheap.errors import GoheapError, HeapCheckError
from goheap.events import HeapObserver
from goheap.mutator import Goroutine, GoroutineBody, Scheduler, int_arg
from goheap.options import parse_gogc, parse_memlimit
from goheap.profiles import DEFAULT_PROFILE, build_runtime, get_profile
from goheap.profiles.base import Runtime, RuntimeOptions
from goheap.runtime.common.arena import OS, OS_PAGE_SHIFT
from goheap.runtime.common.clock import Clock, CostModel
from goheap.runtime.common.facade import ArenaHeap, Collector, Mallocgc
from goheap.runtime.common.gotype import Type
from goheap.runtime.common.mfinal import FinalizerFunc, Finalizers
from goheap.runtime.common.mgc import GCCycle
from goheap.runtime.common.mprof import DEFAULT_STACK, MProf
from goheap.runtime.common.mspan import MSpan
from goheap.runtime.common.mstats import MemStats, RunningStats
from goheap.runtime.common.proc import P
from goheap.runtime.common.wordmem import bit, load8, load64, setbit, store64

# Largest request mallocgc accepts here: Go's maxAlloc-style bound on
# amd64 is the arena size; anything larger cannot be satisfied.
_MAX_REQUEST: Final = 1 << 39
#: A word index shifted by this is its OS page (the arena's first-touch marks).
_WORDS_PER_OS_PAGE_SHIFT: Final = OS_PAGE_SHIFT - 3

_T = TypeVar("_T")


#: Go's nanotime is an int64 count of nanoseconds: the virtual clock stops there.
_NANOTIME_MAX = (1 << 63) - 1


def _print_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _bad_stack(stack: object) -> NoReturn:
    raise GoheapError(f"stack must be a tuple of function names or None, got {stack!r}")


@dataclass(frozen=True)
class ObjectRef:
    """Where an address lives: the object's base, its slot size, its span."""

    base: int
    size: int
    span: MSpan
    index: int


class Heap:
    """One Go heap (runtime instance) under a fidelity profile."""

    def __init__(
        self,
        profile: object = DEFAULT_PROFILE,
        procs: object = 1,
        memprofilerate: object = None,
        *,
        gogc: object = 100,
        liveness: object = "graph",
        cost: object = None,
        gctrace: object = False,
        memlimit: object = None,
        costs: object = None,
        sysmon_phase: object = 0,
    ) -> None:
        # Arguments are typed object and checked here (see int_arg).
        if not isinstance(procs, int) or procs < 1 or procs > 256:
            raise GoheapError(f"procs must be an integer from 1 to 256, got {procs!r}")
        prof = get_profile(profile if isinstance(profile, str) else repr(profile))
        if memprofilerate is not None and (
            not isinstance(memprofilerate, int) or memprofilerate < 0
        ):
            raise GoheapError(f"memprofilerate must be >= 0, got {memprofilerate!r}")
        if not isinstance(liveness, str) or liveness not in ("graph", "lifetime"):
            raise GoheapError(f"liveness must be 'graph' or 'lifetime', got {liveness!r}")
        limit = parse_memlimit(memlimit, "memlimit")  # GOMEMLIMIT's syntax, as the CLI's
        if cost is not None and not isinstance(cost, CostModel):
            raise GoheapError(f"cost must be a CostModel, got {cost!r}")
        if cost is not None and costs is not None:
            raise GoheapError("give costs= or cost= (its older name), not both")
        used = resolve_costs(costs if costs is not None else cost)
        if not isinstance(gctrace, bool) and not callable(gctrace):
            raise GoheapError(f"gctrace must be a bool or a function of one line, got {gctrace!r}")
        phase = int_arg(sysmon_phase, "sysmon_phase")
        if phase < 0:
            raise GoheapError(f"sysmon_phase must be >= 0 ns, got {sysmon_phase!r}")
        self.profile = prof
        self.clock = Clock()
        self.liveness = liveness
        self.cost: CostModel = used.model
        #: The costs the clock runs on, by name (goheap.costs): built-in unless asked.
        self.costs: Costs = used
        self.globals: dict[str, int] = {}
        self.goroutines: list[Goroutine] = []
        self._closed = False
        # The profile's strategy builds the version's runtime whole; this heap
        # is the program it runs (goheap.runtime.common.facade.Program).
        trace = _print_stderr if gctrace is True else gctrace if callable(gctrace) else None
        gcpercent = parse_gogc(gogc, "gogc")
        opts = RuntimeOptions(procs, memprofilerate, gcpercent, liveness, limit, trace, phase)
        rt = build_runtime(prof, opts, self.clock, self.cost, self)
        self.runtime: Runtime = rt
        # Its parts, typed by what every version's have in common.
        self.stats: RunningStats = rt.stats
        self.os: OS = rt.os
        self.mheap: ArenaHeap[MSpan, P[Any]] = rt.mheap
        self.mprof: MProf = rt.mprof
        self.finalizers: Finalizers = rt.finalizers
        self.gc_: Collector = rt.gc_
        self.malloc_: Mallocgc = rt.malloc_
        self.allp: list[P[Any]] = list(rt.allp)  # the same Ps (a list: indexed on hot paths)
        self._max_small = rt.max_small_request
        # The hot paths below use these (direct calls and field reads once compiled).
        self._arena: ArenaHeap[MSpan, P[Any]] = rt.mheap
        self._mallocgc: Mallocgc = rt.malloc_
        self._collector: Collector = rt.gc_
        self.scheduler = Scheduler(self)
        self.main = Goroutine(self, 0, 0)
        self.goroutines.append(self.main)
        self.g = self.main
        self._tiny_live: dict[int, int] = {}
        self.program_ns = 0  # the program's own CPU so far (compute)
        # How many allocations asked for each size, pointer-free and pointerful
        # apart (a pointerful one may carry a malloc header): what the rounding
        # estimate of goheap.heapcensus.breakdown is computed from (the
        # properties requested and requested_scan). A run of equal requests is
        # counted first in _run_count and added to them when it ends.
        self._requested: dict[int, int] = {}
        self._requested_scan: dict[int, int] = {}
        self._run_size = -1
        self._run_noscan = False
        self._run_count = 0
        self._tiny_sub: set[int] = set()
        self._tiny_class = prof.tiny_size_class  # read by dead(): a field, not the profile's
        # Told of every operation (goheap.events); the trace recorder is one.
        self.observer: HeapObserver | None = None

    # --- goroutines and roots ---

    def go(self, body: GoroutineBody, *, p: object = None) -> Goroutine:
        """Start a goroutine running body(heap, g) (a generator); run with run()."""
        if self._closed:
            self._closed_error("go")
        gid = len(self.goroutines)
        pid = gid % len(self.allp) if p is None else self._proc(p)
        self._on(pid)
        self._arena.curp = self.allp[self.g.p]
        g = Goroutine(self, gid, pid)
        self.goroutines.append(g)
        self.scheduler.go(body, g)
        return g

    def run(self) -> None:
        """Run the started goroutines to completion, round-robin."""
        if self._closed:
            self._closed_error("run")
        self.scheduler.run()

    def switch_to(self, g: object) -> None:
        """Make g the running goroutine, as the scheduler does between steps."""
        if not isinstance(g, Goroutine):
            raise GoheapError(f"switch_to: {g!r} is not a goroutine")
        if g.heap is not self:
            raise GoheapError(f"goroutine {g.id} belongs to another heap")
        self._switch_to(g)

    def _switch_to(self, g: Goroutine) -> None:
        c = self._collector
        self.g.gcAssistBytes = c.gcAssistBytes
        self.g = g
        c.gcAssistBytes = g.gcAssistBytes
        self._arena.curp = self.allp[g.p]

    def _is_root(self, addr: int) -> bool:
        """Can a root hold addr: nil, &zerobase or (inside) an allocated heap object?"""
        return addr == 0 or self._object_span(addr) is not None or addr == self._arena.zerobase

    def set_global(self, name: object, addr: object) -> None:
        """A global pointer variable (a root) named name now holds addr (0: nil)."""
        if self._closed:
            self._closed_error("set_global")
        if not isinstance(name, str):
            raise GoheapError(f"set_global: a global's name is a string, got {name!r}")
        a = int_arg(addr, f"set_global({name!r}): the address")
        if not self._is_root(a):
            raise GoheapError(f"set_global({name!r}): {a:#x} is not an allocated heap object")
        self.globals[name] = a
        if self.observer is not None:
            self.observer.set_global(name, a)

    def get_global(self, name: object) -> int:
        if isinstance(name, str) and name in self.globals:
            return self.globals[name]
        raise GoheapError(f"no global named {name!r}")

    def drop_global(self, name: object) -> None:
        if not isinstance(name, str) or name not in self.globals:
            raise GoheapError(f"drop_global: no global named {name!r}")
        del self.globals[name]
        if self.observer is not None:
            self.observer.drop_global(name)

    def roots(self) -> list[int]:
        """The pointers the program holds outside the heap: globals, then stack slots."""
        roots = [v for v in self.globals.values() if v]
        for g in self.goroutines:
            roots.extend(v for v in g.stack if v)
        return roots

    def dead(self, obj: object) -> None:
        """The program will never use obj again.

        In lifetime mode this is what frees obj (at the next cycle). In graph
        mode reachability decides and this changes nothing; it is still told
        to the observer, so that a trace recorded in graph mode can be
        replayed in lifetime mode.
        """
        if self._closed:
            self._closed_error("dead")
        a = obj if type(obj) is int else int_arg(obj, "dead: the address")
        if self.observer is not None:
            self.observer.dead(a)
        if self.liveness != "lifetime":
            return
        # find_object's answer without its ObjectRef (a dataclass: an
        # interpreted __init__ per call even when compiled).
        s = self._object_span(a)
        if s is None:
            raise GoheapError(f"dead: {a:#x} is not an allocated heap object")
        index = s.objIndex(a) if s.sizeclass != 0 else 0
        if s.sizeclass == self._tiny_class and a in self._tiny_sub:
            # A tiny sub-object: the block dies with its last sub-object.
            base = s.startAddr + index * s.elemsize
            self._tiny_sub.discard(a)
            n = self._tiny_live.get(base, 1) - 1
            if n > 0:
                self._tiny_live[base] = n
                return
            self._tiny_live.pop(base, None)
        s.deadBits = setbit(s.deadBits, index)

    # --- the collector ---

    def gc(self) -> None:
        """runtime.GC(): a full, stop-the-world collection and sweep."""
        if self._closed:
            self._closed_error("gc")
        if self.observer is not None:
            self.observer.gc()
        self.runtime.gc()

    def free_os_memory(self) -> int:
        """debug.FreeOSMemory(): runtime.GC(), then release every free span."""
        if self._closed:
            self._closed_error("free_os_memory")
        if self.observer is not None:
            self.observer.free_os_memory()
        return self.runtime.free_os_memory()

    def set_gc_percent(self, gogc: object) -> int:
        """debug.SetGCPercent: returns the old value (Go 1.8 then runs runtime.GC())."""
        if self._closed:
            self._closed_error("set_gc_percent")
        value = parse_gogc(gogc, "set_gc_percent")
        if self.observer is not None:
            self.observer.set_gc_percent(value)
        return self.runtime.set_gc_percent(value)

    def set_unmodelled_heap_scan(
        self,
        nbytes: object,
        first: object = 0,
        live: object = 0,
        *,
        first_assisted: object = None,
        stacks: object = 0,
    ) -> None:
        """The program holds live heap objects the model does not allocate (a test
        harness's flags and buffers, say): every GC cycle from now on scans nbytes more
        of heap, as their scan work (``/gc/scan/heap:bytes`` of the Go program with an
        empty workload, less what the model has). Go's mark workers reach ``first`` of
        those bytes before the program's own heap objects, which moves where assists
        and workers stop (docs/model.md). Where a mark assist took the data root
        job (Go 1.27), ``first_assisted`` of them come first (default: ``first``),
        and ``stacks`` more when a worker then took the stacks' job: what the
        goroutines' stacks reach. ``live``: their bytes (``/gc/heap/live:bytes``
        likewise), which the pacer counts in its live and marked heap, as Go's
        does. Not recorded in traces."""
        if self._closed:
            self._closed_error("set_unmodelled_heap_scan")
        n = int_arg(nbytes, "set_unmodelled_heap_scan: nbytes")
        k = int_arg(first, "set_unmodelled_heap_scan: first")
        b = int_arg(live, "set_unmodelled_heap_scan: live")
        ka = (
            k
            if first_assisted is None
            else int_arg(first_assisted, "set_unmodelled_heap_scan: first_assisted")
        )
        st = int_arg(stacks, "set_unmodelled_heap_scan: stacks")
        if n < 0 or not 0 <= k <= n or b < 0 or ka < 0 or st < 0 or ka + st > n:
            raise GoheapError(
                "set_unmodelled_heap_scan: nbytes, live, first_assisted and stacks must be "
                "non-negative integers, first at most nbytes and first_assisted + stacks at "
                f"most nbytes, got nbytes={n!r} first={k!r} live={b!r} "
                f"first_assisted={ka!r} stacks={st!r}"
            )
        self._collector.program_heap_scan = n
        self._collector.program_heap_scan_first = k
        self._collector.program_heap_scan_first_assisted = ka
        self._collector.program_heap_scan_stacks = st
        self._collector.set_program_heap_live(b)

    def set_memory_limit(self, limit: object) -> int:
        """debug.SetMemoryLimit: returns the old limit; a negative limit only reads it."""
        if self._closed:
            self._closed_error("set_memory_limit")
        if not isinstance(limit, int):
            raise GoheapError(f"set_memory_limit: limit must be an integer, got {limit!r}")
        try:
            return self.runtime.set_memory_limit(limit)
        except NotImplementedError:
            raise GoheapError(
                f"debug.SetMemoryLimit does not exist in profile {self.profile.name}"
            ) from None

    def set_finalizer(self, obj: object, fn: FinalizerFunc | None) -> None:
        """runtime.SetFinalizer(obj, fn); fn(addr) runs after obj becomes unreachable."""
        if self._closed:
            self._closed_error("set_finalizer")
        a = int_arg(obj, "SetFinalizer: the object")
        if fn is not None and not callable(fn):
            raise GoheapError(f"SetFinalizer: the finalizer must be a function or None, got {fn!r}")
        self.runtime.set_finalizer(a, fn)
        if self.observer is not None:
            self.observer.set_finalizer(a, fn is not None)

    def add_cleanup(self, obj: object, fn: Callable[[int], None], arg: object = 0) -> int:
        """runtime.AddCleanup(obj, fn, arg): fn(arg) runs after obj becomes unreachable.

        ``arg`` is a heap address (or 0) that the cleanup keeps alive while it is
        registered or queued. Returns the cleanup's id, for ``stop_cleanup``.
        The box AddCleanup allocates for ``arg`` is the runtime's own object:
        the observer hears of the cleanup, not of the box.
        """
        if self._closed:
            self._closed_error("add_cleanup")
        o = int_arg(obj, "AddCleanup: the object")
        a = int_arg(arg, "AddCleanup: the argument")
        if not callable(fn):
            raise GoheapError(f"AddCleanup: the cleanup must be a function, got {fn!r}")
        observer = self.observer
        # The runtime's own work (the box) is not the program's.
        cid = self._unobserved(lambda: self.runtime.add_cleanup(o, fn, a))
        if observer is not None:
            observer.add_cleanup(o, a, cid)
        return cid

    def stop_cleanup(self, cid: object) -> None:
        """Cleanup.Stop: the cleanup with id cid will not run (if it has not been queued)."""
        if self._closed:
            self._closed_error("stop_cleanup")
        c = int_arg(cid, "Cleanup.Stop: the cleanup id")
        observer = self.observer
        self._unobserved(lambda: self.runtime.stop_cleanup(c))
        if observer is not None:
            observer.stop_cleanup(c)

    def release_runtime_object(self, obj: int) -> None:
        """The runtime is done with one of its own objects (a cleanup's argument box).

        ``dead`` without telling the observer: the program never saw the object.
        """
        self._unobserved(lambda: self.dead(obj))

    def _unobserved(self, op: Callable[[], _T]) -> _T:
        """op() with the observer muted: the runtime's own work, not the program's."""
        observer = self.observer
        self.observer = None
        try:
            return op()
        finally:
            self.observer = observer

    def advance(self, ns: object) -> None:
        """Let ns of virtual time pass with the mutator idle (sysmon still runs)."""
        t = self._time_arg(ns, "advance")
        if self.observer is not None:
            self.observer.advance(t)
        self.runtime.advance(t)

    def _time_arg(self, ns: object, what: str) -> int:
        """ns as a span of virtual time for method ``what``: an int, not negative, that
        keeps the clock inside Go's int64 nanotime (the heap open)."""
        if self._closed:
            self._closed_error(what)
        t = int_arg(ns, f"{what}: the time")
        if t < 0:
            raise GoheapError(f"{what}: negative time {t}")
        if self.clock.now + t > _NANOTIME_MAX:
            raise GoheapError(
                f"{what}: {t} ns would take the clock past Go's int64 nanotime "
                f"(it reads {self.clock.now} ns)"
            )
        return t

    def compute(self, ns: object) -> None:
        """The running goroutine computes for ns of its own CPU, allocating nothing.

        The program's own work between its allocations (a loop, a hash, a tree
        walk): the clock charges it as the mutator's time, so the collector's
        background work and pacing see a program that allocates no faster than
        it computes. The built-in workloads charge what their Go twins were
        measured to spend (``benchmarks/program_work.py``).
        """
        t = self._time_arg(ns, "compute")
        if self.observer is not None:
            self.observer.compute(t)
        self.program_ns += t
        self._collector.mutator_ran(t)

    @property
    def cycles(self) -> Sequence[GCCycle]:
        return self.runtime.cycles()

    # --- Ps ---

    @property
    def procs(self) -> int:
        return len(self.allp)

    @property
    def mcaches(self) -> list[Any]:
        """Every P's mcache, in P order (the profile's mcache class)."""
        return [p.mcache for p in self.allp if p.mcache is not None]

    def _proc(self, p: object) -> int:
        """p as the index of one of this heap's Ps."""
        if not isinstance(p, int) or not 0 <= p < len(self.allp):
            raise GoheapError(f"no P {p!r}: this heap has procs={len(self.allp)}")
        return p

    def _on(self, p: int) -> None:
        """Run on P p (the mcache and persistentalloc chunk allocations use)."""
        self._arena.curp = self.allp[p]

    # --- allocation ---

    def malloc(
        self,
        size: object,
        typ: object = None,
        *,
        needzero: object = True,
        p: object = None,
        stack: object = None,
    ) -> int:
        """mallocgc(size, typ, needzero) on P p; returns the object's address.

        ``typ`` None means no pointers. For arrays pass ``size = n * typ.size``.
        """
        if self._closed:
            self._closed_error("malloc")
        n = size if type(size) is int else int_arg(size, "malloc: size")
        if n < 0:
            raise GoheapError(f"malloc: size must be a non-negative integer, got {n!r}")
        if typ is not None and not isinstance(typ, Type):
            raise GoheapError(f"malloc: typ must be a goheap Type or None, got {typ!r}")
        return self._malloc(n, typ, needzero, p, stack)

    def _malloc(
        self, size: int, typ: Type | None, needzero: object, p: object, stack: object
    ) -> int:
        """malloc once size and typ are checked: typed locals, no unboxing at each use."""
        stk: tuple[str, ...] | None = None
        if stack is not None:
            if not isinstance(stack, tuple):
                _bad_stack(stack)
            stk = stack
        nz = needzero is True or bool(needzero)
        if size >= _MAX_REQUEST:
            # Go's largeAlloc finds no pages and throws; the model's arena is 512 GiB.
            raise GoheapError(
                f"runtime: out of memory: cannot allocate {size}-byte block "
                "(larger than the 512 GiB arena)"
            )
        if typ is not None and typ.size and size % typ.size:
            raise GoheapError(
                f"malloc: size {size} is not a multiple of type {typ.name}'s size {typ.size}"
            )
        if p is not None:
            pi = self._proc(p)
            if pi != self.g.p:
                self._on(pi)
        x = self._alloc(size, typ, nz, stk)
        if p is not None:
            self._arena.curp = self.allp[self.g.p]
        return x

    def _new(self, typ: Type, stack: tuple[str, ...]) -> int:
        """new(typ, stack=stack) from a compiled workload: typed arguments, and nothing to
        check of a Type that fits (its size is one whole element) on an open heap."""
        if self._closed:
            self._closed_error("malloc")
        if typ.size >= _MAX_REQUEST:
            return self._malloc(typ.size, typ, True, None, stack)  # its check says why not
        return self._alloc(typ.size, typ, True, stack)

    def _alloc(self, size: int, typ: Type | None, nz: bool, stk: tuple[str, ...] | None) -> int:
        """mallocgc on the running P, the request counted, the observer told: what every
        allocation does once its arguments are checked."""
        observer = self.observer
        cur = self._arena.curp
        pid = cur.id if observer is not None and cur is not None else 0
        noscan = typ is None or typ.ptrdata == 0
        tiny = size < 16 and noscan
        collector = self._collector
        # mallocgc charges the allocation's time itself (chargeAlloc), where
        # Go spends it: before the trigger test.
        collector.alloc_size = size
        collector.alloc_tiny = tiny
        collector.alloc_large = size > self._max_small
        x = self._mallocgc.mallocgcOnP(size, typ, nz, stk or DEFAULT_STACK)
        if size == self._run_size and noscan == self._run_noscan:
            self._run_count += 1
        else:
            self._count_run()
            self._run_size = size
            self._run_noscan = noscan
            self._run_count = 1
        if tiny and self.liveness == "lifetime" and size:  # size 0 is &zerobase, no tiny block
            self._track_tiny(x)
        if observer is not None:
            observer.alloc(x, size, typ, pid, stk)
        if collector.alloc_size >= 0:  # the paths that return early (size 0) charge here
            collector.chargeAlloc()
        collector.inflight = 0  # the caller has the object now
        return x

    def _count_run(self) -> None:
        """Add the run of equal requests counted so far to requested or requested_scan."""
        if self._run_count:
            req = self._requested if self._run_noscan else self._requested_scan
            req[self._run_size] = req.get(self._run_size, 0) + self._run_count
            self._run_count = 0

    @property
    def requested(self) -> dict[int, int]:
        """How many pointer-free allocations asked for each size."""
        self._count_run()
        return self._requested

    @property
    def requested_scan(self) -> dict[int, int]:
        """How many allocations with pointers asked for each size."""
        self._count_run()
        return self._requested_scan

    def _track_tiny(self, x: int) -> None:
        """Lifetime mode: count live sub-objects of each tiny block."""
        base = x & ~15
        self._tiny_sub.add(x)
        n = self._tiny_live.get(base, 0)
        if n == 0 and x != base:
            # Every earlier sub-object of this block died (so its dead bit is
            # set) while it was still the P's tiny block: it is alive again.
            ref = self.find_object(base)
            if ref is not None:
                ref.span.deadBits &= ~(1 << ref.index)
        self._tiny_live[base] = n + 1

    def new(self, typ: object, *, p: object = None, stack: object = None) -> int:
        """newobject(typ): one zeroed object of type typ."""
        if not isinstance(typ, Type):
            raise GoheapError(f"new: typ must be a goheap Type, got {typ!r}")
        if self._closed:
            self._closed_error("malloc")
        return self._malloc(typ.size, typ, True, p, stack)

    def make(self, typ: object, n: object, *, p: object = None, stack: object = None) -> int:
        """newarray(typ, n) / makeslice: the backing array of n elements."""
        if not isinstance(typ, Type):
            raise GoheapError(f"make: typ must be a goheap Type, got {typ!r}")
        n = int_arg(n, "make: length")
        if n < 0:
            raise GoheapError(f"make: length must be a non-negative integer, got {n!r}")
        return self.malloc(typ.size * n, typ, p=p, stack=stack)

    # --- memory access ---

    def find_object(self, addr: object) -> ObjectRef | None:
        """findObject: the allocated object containing addr, or None."""
        if self._closed:
            self._closed_error("find_object")
        a = addr if type(addr) is int else int_arg(addr, "find_object: the address")
        s = self._object_span(a)
        if s is None:
            return None
        idx = s.objIndex(a) if s.sizeclass != 0 else 0
        return ObjectRef(s.startAddr + idx * s.elemsize, s.elemsize, s, idx)

    def _object_span(self, addr: int) -> MSpan | None:
        """The span of the allocated object containing addr, or None (a fast findObject)."""
        h = self._arena
        start = h.arena_start
        if addr < start or addr >= h.arena_used:
            return None
        s: MSpan | None = h.spans[(addr - start) >> 13]
        if s is None or addr >= s.limit or addr < s.startAddr or not s.inUse():
            return None
        if addr - s.startAddr < s.freeindex * s.elemsize:
            return s  # below freeindex: allocated (objIndex(addr) < freeindex)
        idx = s.objIndex(addr) if s.sizeclass != 0 else 0
        return s if bit(s.allocBits, idx) else None

    def _object_base(self, obj: int, offset: int, what: str) -> tuple[int, MSpan]:
        """(base, span) of the allocated object holding the aligned word at obj+offset."""
        if self._closed:
            self._closed_error(what)
        s = self._object_span(obj)
        if s is None:
            raise GoheapError(f"{what}: {obj:#x} is not an allocated heap object")
        size = s.elemsize
        base = s.startAddr + (s.objIndex(obj) if s.sizeclass != 0 else 0) * size
        addr = obj + offset
        if offset & 7 or (addr - base) & 7 or addr < base or addr + 8 > base + size:
            raise GoheapError(
                f"{what}: offset {offset} is not an aligned word inside the {size}-byte "
                f"object at {base:#x}"
            )
        return base, s

    def write_word(self, obj: object, offset: object, value: object) -> None:
        """Store a 64-bit scalar at obj+offset."""
        o = obj if type(obj) is int else int_arg(obj, "write_word: the object")
        off = offset if type(offset) is int else int_arg(offset, "write_word: the offset")
        v = value if type(value) is int else int_arg(value, "write_word: the value")
        if not 0 <= v < 1 << 64:
            raise GoheapError(f"write_word: value {value!r} does not fit in 64 bits")
        self._object_base(o, off, "write_word")
        mem = self._arena.mem
        store64(mem.words, (o + off - self._arena.arena_start) >> 3, v)
        mem.touch(o + off)
        if self.observer is not None:
            self.observer.write_word(o, off, v)

    def read_word(self, obj: object, offset: object) -> int:
        o = obj if type(obj) is int else int_arg(obj, "read_word: the object")
        off = offset if type(offset) is int else int_arg(offset, "read_word: the offset")
        self._object_base(o, off, "read_word")
        v: int = load64(self._arena.mem.words, (o + off - self._arena.arena_start) >> 3)
        return v

    def write_pointer(self, obj: object, offset: object, target: object) -> None:
        """*(obj+offset) = target, where target is 0 (nil) or inside a heap object."""
        o = obj if type(obj) is int else int_arg(obj, "write_pointer: the object")
        off = offset if type(offset) is int else int_arg(offset, "write_pointer: the offset")
        t = target if type(target) is int else int_arg(target, "write_pointer: the target")
        self._write_pointer(o, off, t)

    def _write_pointer(self, o: int, off: int, t: int) -> None:
        """write_pointer of ints: compiled callers (the workloads) pass them unboxed."""
        if t != 0 and self._object_span(t) is None and t != self._arena.zerobase:
            raise GoheapError(f"write_pointer: target {t:#x} is not an allocated heap object")
        base, s = self._object_base(o, off, "write_pointer")
        addr = o + off
        if not self._mallocgc.isPointerSlot(s, base, addr):
            # Go's types make this store impossible; here the collector would miss it.
            raise GoheapError(
                f"write_pointer: offset {off} of the object at {o:#x} is not a pointer "
                "field of its type (a pointer-free object, or a scalar field)"
            )
        self._init_pointer(o, off, t)

    def _init_pointer(self, o: int, off: int, t: int) -> None:
        """write_pointer from a workload that knows its types: no checks.

        For a store into an object the caller allocated, at one of its type's
        pointer fields, of nil or an object the caller allocated: what Go's
        compiler guarantees for the store, so the runtime checks nothing (the
        facade's checks of ``_write_pointer`` are for a program it cannot trust).
        """
        mem = self._arena.mem
        addr = o + off
        w = (addr - self._arena.arena_start) >> 3
        if self._collector.writeBarrier:
            # The barrier shades the slot's old value and the new one, each that is
            # not nil (its time: the clock's, with the next allocation). What it
            # shades the model's mark keeps already: the snapshot at the mark's
            # start holds the old value, and new objects are allocated black.
            if load64(mem.words, w):
                mem.barrier_old += 1
            if t:
                mem.barrier_new += 1
        store64(mem.words, w, t)
        if not load8(mem.touched, w >> _WORDS_PER_OS_PAGE_SHIFT):  # touch's own test, first
            mem.touch(addr)
        if self.observer is not None:
            self.observer.write_pointer(o, off, t)

    def read_pointer(self, obj: object, offset: object) -> int:
        return self.read_word(obj, offset)

    # --- statistics ---

    def read_memstats(self) -> MemStats:
        """runtime.ReadMemStats: flush every mcache (as Go does), then compute."""
        if self._closed:
            self._closed_error("read_memstats")
        if self.observer is not None:
            self.observer.read_memstats()
        return self.runtime.read_memstats()

    def memstats(self) -> MemStats:
        """The same numbers as read_memstats, without flushing the mcaches."""
        if self._closed:
            self._closed_error("memstats")
        return self.runtime.memstats()

    def read_metrics(self) -> dict[str, Any]:
        """runtime/metrics.Read of every metric the profile models, by Go's names.

        Like Go's, it neither stops the world nor flushes the mcaches: objects
        in spans still cached count in ``/memory/classes/heap/unused:bytes``
        until their span is uncached. Scalars are ints; histograms are
        ``{"buckets": [...], "counts": [...]}``.
        """
        if self._closed:
            self._closed_error("read_metrics")
        return self.runtime.read_metrics()

    # --- inspection ---

    def inuse_spans(self) -> list[MSpan]:
        if self._closed:
            self._closed_error("inuse_spans")
        return list(self.runtime.inuse_spans())

    def check(self) -> None:
        """Verify every heap invariant; raise HeapCheckError naming the first broken one."""
        if self._closed:
            self._closed_error("check")
        self.runtime.check()
        if self.liveness == "graph":
            self._check_reachable_pointers()

    def _check_reachable_pointers(self) -> None:
        """Every pointer the program can reach leads into an allocated object (or is nil).

        From the roots through every pointer word the collector would scan: a
        pointer to freed memory there means the collector freed a live object,
        a silently wrong heap. (In lifetime mode the program itself declares
        deaths, and may keep stale pointers it never uses: not checked.) A
        word outside the heap's arenas is no heap pointer: Go's collector
        passes it by (``spanOf`` finds no span), as it does a pointer to a
        global, and so does the check (a pointer field given a scalar by
        ``write_word``, say).
        """
        arena = self._arena
        zerobase = arena.zerobase
        pointers = self.runtime.object_pointers
        seen: set[int] = set()
        todo = [(v, "a root") for v in self.roots()]
        while todo:
            v, holder = todo.pop()
            if v == zerobase or not arena.arena_start <= v < arena.arena_used:
                continue
            ref = self.find_object(v)
            if ref is None:
                raise HeapCheckError(
                    f"{holder} holds {v:#x}, which points into no allocated object "
                    "(the collector freed what the program can still reach)"
                )
            if ref.base in seen:
                continue
            seen.add(ref.base)
            here = f"the object at {ref.base:#x} (reachable from the roots)"
            todo.extend((p, here) for p in pointers(ref.base, ref.size))

    def _closed_error(self, op: str) -> NoReturn:
        raise GoheapError(f"{op}: the heap is closed (Heap.close released its memory)")

    def close(self) -> None:
        """Release the heap's address-space reservation; every later use is an error."""
        if not self._closed:
            self._closed = True
            self.runtime.close()

    def __enter__(self) -> Heap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

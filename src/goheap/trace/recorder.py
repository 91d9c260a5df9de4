"""Recording: a HeapObserver that writes everything a program does as a trace.

Object ids are given in allocation order (0, 1, 2, ...). The recorder maps
addresses back to ids, holding live objects only: an id is forgotten when
it is declared dead, when its address is handed out again, when the block
of a tiny sub-object is reallocated, and (every time the map doubles) when
its memory is no longer its object. A pointer into the middle of an
object is written as the object's id plus a byte offset.

What the observer interface does not report is picked up here (see
``_sync``): goroutines started, switched to and finished (their stacks
cleared) between events.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from goheap.errors import GoheapError
from goheap.events import HeapObserver
from goheap.heap import Heap
from goheap.interrupts import Interrupted, signal_number, signals_call
from goheap.runtime.common.gotype import Type
from goheap.trace.format import (
    OP_ADV,
    OP_ALLOC,
    OP_CLEANUP,
    OP_CPU,
    OP_CSTOP,
    OP_DEAD,
    OP_FIN,
    OP_FREEOS,
    OP_GC,
    OP_GCPCT,
    OP_GDROP,
    OP_GO,
    OP_GSET,
    OP_POP,
    OP_PTR,
    OP_PUSH,
    OP_SCHED,
    OP_SSET,
    OP_STACK,
    OP_STATS,
    OP_TYPE,
    OP_WORD,
)
from goheap.trace.idmap import prune_tiny_interior, stale
from goheap.trace.writer import TraceWriter, make_header

PURGE_MIN = 1 << 16


class TraceRecorder(HeapObserver):
    """Writes a heap's events to a ``TraceWriter``: ``attach(heap)``, run, ``close()``."""

    def __init__(self, writer: TraceWriter, *, purge_min: int = PURGE_MIN) -> None:
        self.writer = writer
        self.purge_min = purge_min
        self._emit = writer.record
        self.heap: Heap | None = None
        self.addr2id: dict[int, int] = {}
        self.tiny_interior: dict[int, list[tuple[int, int]]] = {}
        self.next_id = 0
        self._types_by_obj: dict[Type, int] = {}
        self._types_by_value: dict[tuple[str, int, tuple[int, ...]], int] = {}
        self._stacks: dict[tuple[str, ...], int] = {}
        self._ngor = 1
        self._cur_g = 0
        self._depth: dict[int, int] = {}  # non-main goroutines' stack depths (> 0)
        self._purge_at = purge_min
        self.peak_ids = 0
        self._tiny_size = 16
        self._zerobase = -1
        self.purges = 0
        self._cleanups: dict[int, int] = {}  # the runtime's cleanup id -> its trace number

    # --- attaching ---

    def attach(self, heap: Heap) -> None:
        """Become heap's observer (from this point on; attach to a fresh heap)."""
        if heap.observer is not None:
            raise GoheapError("this heap already has an observer")
        self.heap = heap
        self._tiny_size = heap.profile.tiny_size
        self._zerobase = heap.mheap.zerobase
        self._ngor = len(heap.goroutines)
        self._cur_g = heap.g.id
        heap.observer = self

    def detach(self) -> None:
        """Stop observing (the trace stays open)."""
        heap = self.heap
        if heap is None:
            return
        if heap.observer is self:
            self._sync()
            heap.observer = None

    def close(self, *, complete: bool = True) -> None:
        """Detach, write the 'end' record (if complete) and close the writer."""
        self.detach()
        if complete:
            self.writer.end()
        self.writer.close()

    def cut(self) -> None:
        """The program was interrupted: end the trace as it is, marked truncated, and close it.

        The heap may have stopped in the middle of an operation, so nothing
        more is read from it (no ``_sync``): the trace holds every whole
        record written so far, and replays as the program up to there.
        """
        heap = self.heap
        if heap is not None and heap.observer is self:
            heap.observer = None
        self.writer.end(truncated=True)
        self.writer.close()

    # --- ids ---

    def _sync(self) -> None:
        """Emit what happened between events: goroutines started, switched, finished."""
        h = self.heap
        assert h is not None
        gs = h.goroutines
        if len(gs) != self._ngor:
            for g in gs[self._ngor :]:
                self._emit(OP_GO, g.id, g.p)
            self._ngor = len(gs)
        if h.g.id != self._cur_g:
            self._cur_g = h.g.id
            self._emit(OP_SCHED, self._cur_g)
        if self._depth:
            for gid, d in list(self._depth.items()):
                left = len(gs[gid].stack)
                if left < d:  # the scheduler cleared a finished goroutine's stack
                    self._emit(OP_POP, gid, d - left)
                    if left:
                        self._depth[gid] = left
                    else:
                        del self._depth[gid]

    def _ref(self, a: int) -> tuple[int, int, int]:
        """The (id, byte offset, id's address) that names address a."""
        h = self.heap
        assert h is not None
        addr2id = self.addr2id
        ref = h.find_object(a)
        if ref is None:
            oid = addr2id.get(a)
            if oid is not None and a == self._zerobase:
                return oid, 0, a
            raise GoheapError(f"trace recorder: {a:#x} is not an allocated heap object")
        base = ref.base
        if ref.size == 16:  # a 16-byte slot: maybe a tiny block of several objects
            oid = addr2id.get(a)
            if oid is not None:
                return oid, 0, a
            for b in range(a - 1, base - 1, -1):
                oid = addr2id.get(b)
                if oid is not None:
                    return oid, a - b, b
        else:
            # The object's address is its slot, or just past a malloc header
            # (modern Go hands out slot + 8 for pointerful objects > 512 B).
            for start in (base, base + h.profile.sizeclasses.spec.malloc_header_size):
                oid = addr2id.get(start)
                if oid is not None and start <= a:
                    return oid, a - start, start
        raise GoheapError(
            f"trace recorder: the object at {base:#x} has no id (used after heap.dead()?)"
        )

    def _target(self, a: int) -> tuple[int | None, int | None]:
        if a == 0:
            return None, None
        oid, off, _ = self._ref(a)
        return oid, (off or None)

    def _forget(self, oid: int, addr: int) -> None:
        if self.addr2id.get(addr) == oid:
            del self.addr2id[addr]
        if addr & 15:
            lst = self.tiny_interior.get(addr & ~15)
            if lst is not None:
                with contextlib.suppress(ValueError):
                    lst.remove((addr, oid))
                if not lst:
                    del self.tiny_interior[addr & ~15]

    def purge(self) -> int:
        """Forget addresses that are no longer their object's; returns how many."""
        h = self.heap
        assert h is not None
        self.peak_ids = max(self.peak_ids, len(self.addr2id))
        gone = stale(h, ((oid, a) for a, oid in self.addr2id.items()))
        for oid, a in gone:
            self._forget(oid, a)
        live = self.addr2id
        prune_tiny_interior(self.tiny_interior, lambda a, i: live.get(a) == i)
        self._purge_at = max(2 * len(live), self.purge_min)
        self.purges += 1
        return len(gone)

    def _tid(self, typ: Type) -> int:
        tid = self._types_by_obj.get(typ)
        if tid is None:
            offs = tuple(typ.pointer_offsets())
            key = (typ.name, typ.size, offs)
            tid = self._types_by_value.get(key)
            if tid is None:
                tid = len(self._types_by_value)
                self._types_by_value[key] = tid
                self._emit(OP_TYPE, tid, typ.name, typ.size, list(offs))
            self._types_by_obj[typ] = tid
        return tid

    def _sid(self, stack: tuple[str, ...]) -> int:
        sid = self._stacks.get(stack)
        if sid is None:
            sid = len(self._stacks)
            self._stacks[stack] = sid
            self._emit(OP_STACK, sid, list(stack))
        return sid

    # --- HeapObserver ---

    def alloc(
        self, addr: int, size: int, typ: Type | None, p: int, stack: tuple[str, ...] | None
    ) -> None:
        self._sync()
        h = self.heap
        assert h is not None
        tid = None if typ is None else self._tid(typ)
        sid = None if stack is None else self._sid(stack)
        oid = self.next_id
        self.next_id = oid + 1
        self._emit(OP_ALLOC, oid, size, tid, None if p == h.g.p else p, None, sid)
        addr2id = self.addr2id
        old = addr2id.get(addr)
        if old is not None and addr & 15:
            self._forget(old, addr)
        stale = self.tiny_interior.pop(addr, None)
        if stale is not None:
            for a, i in stale:
                if addr2id.get(a) == i:
                    del addr2id[a]
        addr2id[addr] = oid
        if addr & 15 and 0 < size < self._tiny_size and (typ is None or typ.ptrdata == 0):
            self.tiny_interior.setdefault(addr & ~15, []).append((addr, oid))
        if len(addr2id) > self._purge_at:
            self.purge()

    def write_pointer(self, obj: int, offset: int, target: int) -> None:
        self._sync()
        oid, delta, _ = self._ref(obj)
        to, to_off = self._target(target)
        self._emit(OP_PTR, oid, offset + delta, to, to_off)

    def write_word(self, obj: int, offset: int, value: int) -> None:
        """A scalar store, as the heap reports it."""
        self._sync()
        oid, delta, _ = self._ref(obj)
        self._emit(OP_WORD, oid, offset + delta, value)

    def push(self, g: int, addr: int) -> None:
        if g:
            self._depth[g] = self._depth.get(g, 0) + 1
        self._sync()
        to, to_off = self._target(addr)
        self._emit(OP_PUSH, g, to, to_off)

    def pop(self, g: int, n: int) -> None:
        if g:
            d = self._depth.get(g, 0) - n
            if d > 0:
                self._depth[g] = d
            else:
                self._depth.pop(g, None)
        self._sync()
        self._emit(OP_POP, g, None if n == 1 else n)

    def set_slot(self, g: int, slot: int, addr: int) -> None:
        self._sync()
        to, to_off = self._target(addr)
        self._emit(OP_SSET, g, slot, to, to_off)

    def set_global(self, name: str, addr: int) -> None:
        self._sync()
        to, to_off = self._target(addr)
        self._emit(OP_GSET, name, to, to_off)

    def drop_global(self, name: str) -> None:
        self._sync()
        self._emit(OP_GDROP, name)

    def dead(self, addr: int) -> None:
        self._sync()
        oid, delta, base = self._ref(addr)
        self._emit(OP_DEAD, oid, delta or None)
        self._forget(oid, base)

    def add_cleanup(self, obj: int, arg: int, cid: int) -> None:
        self._sync()
        oid, delta, _ = self._ref(obj)
        to, to_off = self._target(arg)
        self._cleanups[cid] = len(self._cleanups)
        self._emit(OP_CLEANUP, oid, delta or None, to, to_off)

    def stop_cleanup(self, cid: int) -> None:
        self._sync()
        self._emit(OP_CSTOP, self._cleanups[cid])

    def set_finalizer(self, obj: int, has_finalizer: bool) -> None:
        self._sync()
        oid, delta, _ = self._ref(obj)
        self._emit(OP_FIN, oid, None if has_finalizer else False, delta or None)

    def gc(self) -> None:
        self._sync()
        self._emit(OP_GC)

    def free_os_memory(self) -> None:
        self._sync()
        self._emit(OP_FREEOS)

    def set_gc_percent(self, gogc: int) -> None:
        self._sync()
        self._emit(OP_GCPCT, gogc)

    def advance(self, ns: int) -> None:
        self._sync()
        self._emit(OP_ADV, ns)

    def compute(self, ns: int) -> None:
        self._sync()
        self._emit(OP_CPU, ns)

    def read_memstats(self) -> None:
        """runtime.ReadMemStats: it flushes every mcache, which later allocations see."""
        self._sync()
        self._emit(OP_STATS)


def _declares_deaths(workload: Any, liveness: str) -> bool:
    flag = getattr(workload, "declares_deaths", None)
    if isinstance(flag, bool):
        return flag
    return liveness == "lifetime"


def _run_recorded(
    workload: Any, heap: Heap, params: dict[str, Any], recorder: TraceRecorder
) -> Any:
    """Run the workload into the recorder's trace; an interrupt keeps the trace, cut short.

    SIGINT or SIGTERM ends the trace after its last whole record, marked
    truncated, and raises ``Interrupted`` saying so; any other failure (a
    full disk, an error in the workload) leaves no trace file.
    """
    writer = recorder.writer
    with signals_call(writer.on_signal):
        try:
            result = workload.run(heap, params)
            recorder.close()
        except KeyboardInterrupt as e:
            if writer.closed:
                raise  # after the trace was whole
            events = writer.count
            recorder.cut()
            where = "the trace" if writer.path in (None, "-") else writer.path
            note = f"{where} holds the first {events:,} events, marked truncated"
            raise Interrupted(signal_number(e), note) from None
        except BaseException:
            writer.abort()
            raise
    return result


def record_workload(
    name: str,
    param_items: list[str],
    out_path: str | Path | IO[bytes],
    *,
    fmt: str = "binary",
    profile: str | None = None,
    procs: int = 1,
    gogc: int | str | None = 100,
    liveness: str = "graph",
    memlimit: int | None = None,
    gctrace: Any = None,
    progress: Callable[[Heap], None] | None = None,
    costs: Any = None,
    sysmon_phase: int = 0,
) -> dict[str, Any]:
    """Run a built-in workload with a recorder attached; returns the run's results.

    The results are those of ``goheap.runner.run_workload`` (the recorder
    changes nothing the heap does), plus ``trace``: path, format, events.
    ``out_path`` "-" writes to stdout; a name ending in ``.gz`` is compressed.
    """
    from goheap.profiles import DEFAULT_PROFILE
    from goheap.runner import RunOptions, Session
    from goheap.workloads import get_workload, parse_params

    workload = get_workload(name)
    params = parse_params(workload, param_items)
    opts = RunOptions(
        profile or DEFAULT_PROFILE,
        procs,
        gogc,
        liveness,
        memlimit,
        gctrace,
        costs=costs,
        sysmon_phase=sysmon_phase,
    )
    session = Session(opts, progress)
    try:
        heap = session.heap
        header = make_header(
            workload.name,
            params,
            liveness_events=_declares_deaths(workload, liveness),
            profile=heap.profile.name,
            procs=heap.procs,
            gogc=heap.gc_.controller.gcpercent,
            liveness=heap.liveness,
            memlimit=opts.memlimit,
        )
        writer = TraceWriter(out_path, fmt=fmt, header=header)
        recorder = TraceRecorder(writer)
        recorder.attach(heap)
        result = _run_recorded(workload, heap, params, recorder)
        out = session.results(workload.name, params, result if isinstance(result, dict) else {})
        out["trace"] = {
            "path": str(out_path) if isinstance(out_path, (str, Path)) else None,
            "format": fmt,
            "events": writer.count - 1,  # the 'end' record is not an event
        }
        return out
    finally:
        session.close()

"""Replaying a trace into a Heap, through its public API, in bounded memory.

The ``Replayer`` maps the trace's object ids to this heap's addresses. Both
maps hold live objects only:

- an id is dropped when its object is declared dead (``dead``), or when an
  allocation returns the address it had (the collector freed it and the
  slot was reused), or when the block of a tiny sub-object is reallocated;
- every time the maps double in size, ids whose memory is no longer an
  allocated object (freed, or now inside another object) are purged.

Every event is checked completely before it touches the heap, so when a
``TraceError`` is raised the heap is as the previous event left it. (The
heap's own refusals, such as a size larger than the arena, come after the
goroutine switch or idle time that the same 'alloc' asks for: both leave
the heap consistent.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any, Final, NoReturn

from goheap.errors import GoheapError
from goheap.heap import Heap
from goheap.mutator import Goroutine
from goheap.runtime.common.gotype import Type
from goheap.runtime.common.wordmem import load64
from goheap.trace.format import BY_OP, TraceError, describe, field_error
from goheap.trace.idmap import prune_tiny_interior, stale
from goheap.trace.reader import TraceReader
from goheap.trace.scan import STRIDE, Batch

PROGRESS_EVERY = 1 << 15
PURGE_MIN = 1 << 16
_MAX_WORD = 1 << 64
#: Batch codes (goheap.trace.scan) of the plain records: 'alloc' of id and size, 'dead' of id.
_ALLOC_ID_SIZE: Final = 2 | 3 << 5
_DEAD_ID: Final = 9 | 2 << 5


def _idle_goroutine(heap: Heap, g: Goroutine) -> Any:
    """The body of a replayed goroutine: the trace, not the body, drives it."""
    yield from ()


def _switch(heap: Heap, g: Goroutine) -> None:
    """Make g the running goroutine (its P and assist credit then apply)."""
    heap.switch_to(g)


def _noop_finalizer(addr: int) -> None:
    """A replayed finalizer: what the real one did is in the trace itself."""


class _Bad(Exception):
    """A malformed field (message without a location)."""


def _bad_field(op: int, index: int, value: Any) -> NoReturn:
    spec = BY_OP[op]
    raise _Bad(field_error(spec, spec.fields[index - 1], value))


class Replayer:
    """Applies trace records to one heap; keeps the id maps between calls."""

    def __init__(self, heap: Heap, *, purge_min: int = PURGE_MIN) -> None:
        self.heap = heap
        self.purge_min = purge_min
        self.id2addr: dict[int, int] = {}
        self.addr2id: dict[int, int] = {}
        # Tiny sub-objects not at their block's start: block base -> [(addr, id)].
        self.tiny_interior: dict[int, list[tuple[int, int]]] = {}
        self.types: dict[int, Type] = {}
        self.stacks: dict[int, tuple[str, ...]] = {}
        self.goroutines: dict[int, Goroutine] = {0: heap.main}
        self.max_id = -1
        self.cleanups: list[int] = []  # trace cleanup number -> the runtime's cleanup id
        self.count = 0
        self.purges = 0
        self.peak_ids = 0
        self._purge_at = purge_min
        self._t0 = heap.clock.now
        self._tiny_size = heap.profile.tiny_size
        self._procs = heap.procs
        self._handlers: list[Callable[[list[Any]], None]] = [
            self._type,
            self._stack,
            self._alloc,
            self._ptr,
            self._gset,
            self._gdrop,
            self._push,
            self._pop,
            self._sset,
            self._dead,
            self._fin,
            self._gc,
            self._freeos,
            self._gcpct,
            self._adv,
            self._go,
            self._sched,
            self._stats,
            self._word,
            self._end,
            self._cleanup,
            self._cstop,
            self._cpu,
        ]
        assert len(self._handlers) == len(BY_OP)

    # --- driving ---

    def replay(self, reader: TraceReader, progress: Callable[[int], None] | None = None) -> int:
        """Apply every record of reader; returns how many were applied."""
        for b in reader.batches():
            self._apply_batch(b, progress, reader)
        if progress is not None:
            progress(self.count)
        return self.count

    def _apply_batch(
        self, b: Batch, progress: Callable[[int], None] | None, reader: TraceReader
    ) -> None:
        """Apply a batch of records; the plain 'alloc' and 'dead' straight from its words."""
        w = b.words
        n = b.n
        count = self.count
        i = 0
        try:
            while i < n:
                at = i * STRIDE
                code = load64(w, at)
                if code == _ALLOC_ID_SIZE:
                    oid = load64(w, at + 2)
                    if oid > self.max_id:
                        self._alloc_plain(oid, load64(w, at + 3))
                    else:
                        self._alloc(b.record(i))  # raises the error
                elif code == _DEAD_ID:
                    if not self._dead_plain(load64(w, at + 2)):
                        self._dead(b.record(i))
                else:
                    self._dispatch(b.record(i))
                i += 1
                count += 1
                if progress is not None and not count % PROGRESS_EVERY:
                    self.count = count
                    progress(count)
        except _Bad as bad:
            raise reader.error_at(b.where(i), str(bad)) from None
        except TraceError:
            raise
        except GoheapError as e:  # (another name than bad's: mypyc types each once)
            raise reader.error_at(b.where(i), str(e)) from None
        finally:
            self.count = count

    def apply(
        self,
        records: Iterable[list[Any]],
        progress: Callable[[int], None] | None = None,
        error: Callable[[str], TraceError] = TraceError,
    ) -> int:
        """Apply shape-checked records (``TraceReader.records()``); returns the count."""
        count = self.count
        try:
            for rec in records:
                try:
                    self._dispatch(rec)
                except _Bad as bad:
                    raise error(str(bad)) from None
                except TraceError:
                    raise
                except GoheapError as e:  # (another name than bad's: mypyc types each once)
                    raise error(str(e)) from None
                count += 1
                if progress is not None and not count % PROGRESS_EVERY:
                    self.count = count
                    progress(count)
        finally:
            self.count = count
        if progress is not None:
            progress(count)
        return count

    def _dispatch(self, rec: list[Any]) -> None:
        """Apply one record to its handler.

        The two events of a pointer-free lifetime trace, untyped 'alloc' and
        'dead', take a short path (the same steps as _alloc/_placed and
        _dead/_drop); anything unusual goes to the handlers, which check it.
        """
        op: int = rec[0]
        n = len(rec)
        if op == 2 and n == 3:
            if not self._plain_alloc(rec[1], rec[2]):
                self._handlers[2](rec)
        elif op == 9 and n == 2:
            oid = rec[1]
            if type(oid) is not int or not self._dead_plain(oid):
                self._handlers[9](rec)
        else:
            self._handlers[op](rec)

    def _plain_alloc(self, oid: object, size: object) -> bool:
        """'alloc' of id and size only, if both are plain: _alloc's steps; False: not done."""
        if type(oid) is not int or oid <= self.max_id or type(size) is not int or size < 0:
            return False
        self._alloc_plain(oid, size)
        return True

    def _alloc_plain(self, oid: int, size: int) -> None:
        """'alloc' of a new id (above max_id) and a size, nothing else."""
        x = self.heap.malloc(size)
        self.max_id = oid
        self._placed(oid, x, 0 < size < self._tiny_size)

    def _dead_plain(self, oid: int) -> bool:
        """'dead' of a live id, no offset: _dead's steps; False: not done."""
        key: Any = oid  # boxed once (compiled): the maps' key
        found: Any = self.id2addr.get(key)
        if found is None:
            return False
        self.heap.dead(found)
        a: int = found
        if a & 15:
            self._drop(oid, a)
        else:
            del self.id2addr[key]
            at = self.addr2id.get(found)
            if at is not None and at == oid:  # (compiled: two ints compared, not two objects)
                del self.addr2id[found]
        return True

    # --- ids ---

    def _addr(self, op: int, index: int, oid: Any) -> int:
        """The address of live object oid (field `index` of an `op` record)."""
        a = self.id2addr.get(oid) if type(oid) is int else None
        if a is None:
            if type(oid) is not int or oid < 0:
                _bad_field(op, index, oid)
            name = BY_OP[op].name
            if oid > self.max_id:
                raise _Bad(f"'{name}' event: object id {oid} was never allocated")
            raise _Bad(
                f"'{name}' event: object id {oid} is dead (declared dead, or the "
                "collector freed it and its memory was reused)"
            )
        return a

    def _target(self, op: int, index: int, rec: list[Any]) -> int:
        """The pointer value of fields index ('to') and index+1 ('to_off')."""
        n = len(rec)
        to = rec[index] if n > index else None
        off = rec[index + 1] if n > index + 1 else None
        if to is None:
            if off:
                spec = BY_OP[op]
                raise _Bad(
                    f"'{spec.name}' event has '{spec.fields[index].name}' "
                    f"without '{spec.fields[index - 1].name}'"
                )
            return 0
        a = self._addr(op, index, to)
        if off is not None:
            if type(off) is not int or off < 0:
                _bad_field(op, index + 1, off)
            a += off
        return a

    def _drop(self, oid: int, addr: int) -> None:
        del self.id2addr[oid]
        if self.addr2id.get(addr) == oid:
            del self.addr2id[addr]
        if addr & 15:
            lst = self.tiny_interior.get(addr & ~15)
            if lst is not None:
                with contextlib.suppress(ValueError):
                    lst.remove((addr, oid))
                if not lst:
                    del self.tiny_interior[addr & ~15]

    def _placed(self, oid: int, x: int, tiny: bool) -> None:
        """Object oid now lives at x: forget what that memory held before."""
        id2addr = self.id2addr
        addr2id = self.addr2id
        key: Any = x  # each boxed once (compiled): a key of one map, a value of the other
        value: Any = oid
        old: Any = addr2id.get(key)
        if old is not None:
            del id2addr[old]
        if self.tiny_interior:
            self._forget_block(x)
        addr2id[key] = value
        id2addr[value] = key
        if tiny and x & 15:
            self.tiny_interior.setdefault(x & ~15, []).append((x, oid))
        if len(id2addr) > self._purge_at:
            self.purge()

    def _forget_block(self, x: int) -> None:
        """x was handed out again: tiny sub-objects of an old block at x are gone."""
        stale = self.tiny_interior.pop(x, None)
        if stale is not None:
            addr2id = self.addr2id
            for a, i in stale:
                if addr2id.get(a) == i:
                    del addr2id[a]
                    del self.id2addr[i]

    def purge(self) -> int:
        """Forget ids whose memory is no longer their object; returns how many."""
        gone = stale(self.heap, self.id2addr.items())
        for oid, a in gone:
            self._drop(oid, a)
        live = self.id2addr
        prune_tiny_interior(self.tiny_interior, lambda a, i: live.get(i) == a)
        self.peak_ids = max(self.peak_ids, len(live) + len(gone))  # the size before
        self._purge_at = max(2 * len(live), self.purge_min)
        self.purges += 1
        return len(gone)

    def _goroutine(self, op: int, index: int, g: Any) -> Goroutine:
        if type(g) is not int or g < 0:
            _bad_field(op, index, g)
        gor = self.goroutines.get(g)
        if gor is None:
            gor = self.heap.go(_idle_goroutine)
            self.goroutines[g] = gor
        return gor

    # --- handlers, one per opcode ---

    def _type(self, rec: list[Any]) -> None:
        tid, name, size, ptrs = rec[1], rec[2], rec[3], rec[4]
        if type(tid) is not int or tid < 0:
            _bad_field(0, 1, tid)
        if type(name) is not str:
            _bad_field(0, 2, name)
        if type(size) is not int or size < 0:
            _bad_field(0, 3, size)
        if type(ptrs) is not list or any(type(p) is not int or p < 0 for p in ptrs):
            _bad_field(0, 4, ptrs)
        if tid in self.types:
            raise _Bad(f"'type' event: type id {tid} is already defined")
        self.types[tid] = Type(name, size, ptrs)

    def _stack(self, rec: list[Any]) -> None:
        sid, frames = rec[1], rec[2]
        if type(sid) is not int or sid < 0:
            _bad_field(1, 1, sid)
        if type(frames) is not list or any(type(f) is not str for f in frames):
            _bad_field(1, 2, frames)
        if sid in self.stacks:
            raise _Bad(f"'stack' event: stack id {sid} is already defined")
        self.stacks[sid] = tuple(frames)

    def _alloc(self, rec: list[Any]) -> None:
        oid, size = rec[1], rec[2]
        if type(oid) is not int or oid < 0:
            _bad_field(2, 1, oid)
        if oid <= self.max_id:
            raise _Bad(
                f"'alloc' event: id {oid} is not greater than the previous id {self.max_id} "
                "(ids increase in allocation order)"
            )
        if type(size) is not int or size < 0:
            _bad_field(2, 2, size)
        heap = self.heap
        typ = None
        p = None
        gor = None
        stack = None
        t = None
        n = len(rec)
        if n > 3:
            tid = rec[3]
            if tid is not None:
                typ = self.types.get(tid) if type(tid) is int else None
                if typ is None:
                    if type(tid) is not int or tid < 0:
                        _bad_field(2, 3, tid)
                    raise _Bad(f"'alloc' event: type id {tid} is not defined")
                if typ.size and size % typ.size:
                    raise _Bad(
                        f"'alloc' event: size {size} is not a multiple of type "
                        f"{typ.name}'s size {typ.size}"
                    )
            if n > 4:
                p = rec[4]
                if p is not None:
                    if type(p) is not int or p < 0:
                        _bad_field(2, 4, p)
                    p %= self._procs
                if n > 5:
                    g = rec[5]
                    if g is not None and (type(g) is not int or g < 0):
                        _bad_field(2, 5, g)
                    if n > 6:
                        sid = rec[6]
                        if sid is not None:
                            stack = self.stacks.get(sid) if type(sid) is int else None
                            if stack is None:
                                if type(sid) is not int or sid < 0:
                                    _bad_field(2, 6, sid)
                                raise _Bad(f"'alloc' event: stack id {sid} is not defined")
                        if n > 7:
                            t = rec[7]
                            if t is not None and (type(t) is not int or t < 0):
                                _bad_field(2, 7, t)
                    if g is not None:
                        gor = self._goroutine(2, 5, g)
        if gor is not None and gor is not heap.g:
            _switch(heap, gor)
        if t is not None:
            idle = t - (heap.clock.now - self._t0)
            if idle > 0:
                heap.advance(idle)
        x = heap.malloc(size, typ, p=p, stack=stack)
        self.max_id = oid
        self._placed(oid, x, 0 < size < self._tiny_size and (typ is None or typ.ptrdata == 0))

    def _ptr(self, rec: list[Any]) -> None:
        obj = self._addr(3, 1, rec[1])
        off = rec[2]
        if type(off) is not int or off < 0:
            _bad_field(3, 2, off)
        target = self._target(3, 3, rec)
        self.heap.write_pointer(obj, off, target)

    def _gset(self, rec: list[Any]) -> None:
        name = rec[1]
        if type(name) is not str:
            _bad_field(4, 1, name)
        self.heap.set_global(name, self._target(4, 2, rec))

    def _gdrop(self, rec: list[Any]) -> None:
        name = rec[1]
        if type(name) is not str:
            _bad_field(5, 1, name)
        self.heap.drop_global(name)

    def _push(self, rec: list[Any]) -> None:
        target = self._target(6, 2, rec)
        self._goroutine(6, 1, rec[1]).push(target)

    def _pop(self, rec: list[Any]) -> None:
        n = rec[2] if len(rec) > 2 and rec[2] is not None else 1
        if type(n) is not int or n < 1:
            _bad_field(7, 2, n)
        self._goroutine(7, 1, rec[1]).pop(n)

    def _sset(self, rec: list[Any]) -> None:
        slot = rec[2]
        if type(slot) is not int or slot < 0:
            _bad_field(8, 2, slot)
        target = self._target(8, 3, rec)
        self._goroutine(8, 1, rec[1]).set(slot, target)

    def _dead(self, rec: list[Any]) -> None:
        oid = rec[1]
        off = rec[2] if len(rec) > 2 and rec[2] is not None else 0
        if type(off) is not int or off < 0:
            _bad_field(9, 2, off)
        a = self.id2addr.get(oid) if type(oid) is int else None
        if a is None:
            if type(oid) is int and 0 <= oid <= self.max_id and self.heap.liveness != "lifetime":
                return  # graph mode: a hint about an object the collector already freed
            self._addr(9, 1, oid)  # raises the right error
            return
        self.heap.dead(a + off)
        self._drop(oid, a)

    def _fin(self, rec: list[Any]) -> None:
        n = len(rec)
        obj = self._addr(10, 1, rec[1])
        on = rec[2] if n > 2 and rec[2] is not None else True
        if type(on) is not bool:
            _bad_field(10, 2, on)
        off = rec[3] if n > 3 and rec[3] is not None else 0
        if type(off) is not int or off < 0:
            _bad_field(10, 3, off)
        self.heap.set_finalizer(obj + off, _noop_finalizer if on else None)

    def _cleanup(self, rec: list[Any]) -> None:
        n = len(rec)
        obj = self._addr(20, 1, rec[1])
        off = rec[2] if n > 2 and rec[2] is not None else 0
        if type(off) is not int or off < 0:
            _bad_field(20, 2, off)
        arg = self._target(20, 3, rec)
        self.cleanups.append(self.heap.add_cleanup(obj + off, _noop_finalizer, arg))

    def _cstop(self, rec: list[Any]) -> None:
        c = rec[1]
        if type(c) is not int or c < 0:
            _bad_field(21, 1, c)
        if c >= len(self.cleanups):
            raise _Bad(f"'cstop' event: cleanup {c} is not defined ({len(self.cleanups)} so far)")
        self.heap.stop_cleanup(self.cleanups[c])

    def _gc(self, rec: list[Any]) -> None:
        self.heap.gc()

    def _freeos(self, rec: list[Any]) -> None:
        self.heap.free_os_memory()

    def _gcpct(self, rec: list[Any]) -> None:
        v = rec[1]
        if type(v) is not int:
            _bad_field(13, 1, v)
        self.heap.set_gc_percent(v)

    def _adv(self, rec: list[Any]) -> None:
        ns = rec[1]
        if type(ns) is not int or ns < 0:
            _bad_field(14, 1, ns)
        self.heap.advance(ns)

    def _cpu(self, rec: list[Any]) -> None:
        ns = rec[1]
        if type(ns) is not int or ns < 0:
            _bad_field(22, 1, ns)
        self.heap.compute(ns)

    def _go(self, rec: list[Any]) -> None:
        g = rec[1]
        p = rec[2] if len(rec) > 2 else None
        if type(g) is not int or g < 0:
            _bad_field(15, 1, g)
        if p is not None:
            if type(p) is not int or p < 0:
                _bad_field(15, 2, p)
            p %= self._procs
        if g in self.goroutines:
            raise _Bad(f"'go' event: goroutine {g} already exists")
        self.goroutines[g] = self.heap.go(_idle_goroutine, p=p)

    def _sched(self, rec: list[Any]) -> None:
        gor = self._goroutine(16, 1, rec[1])
        if gor is not self.heap.g:
            _switch(self.heap, gor)

    def _stats(self, rec: list[Any]) -> None:
        self.heap.read_memstats()

    def _word(self, rec: list[Any]) -> None:
        obj = self._addr(18, 1, rec[1])
        off, val = rec[2], rec[3]
        if type(off) is not int or off < 0:
            _bad_field(18, 2, off)
        if type(val) is not int or not 0 <= val < _MAX_WORD:
            raise _Bad(f"'word' event needs a 64-bit unsigned 'val', got {describe(val)}")
        self.heap.write_word(obj, off, val)

    def _end(self, rec: list[Any]) -> None:
        """Readers consume 'end' themselves; one passed in directly changes nothing."""


def replay_into(
    heap: Heap, reader: TraceReader, *, progress: Callable[[int], None] | None = None
) -> int:
    """Apply every event of reader to heap; returns the number of events applied.

    Raises ``TraceError`` (naming the line or byte offset) at the first bad
    event; the heap is then as the events before it left it, so its results
    can still be read. ``progress(n)`` is called every 32,768 events and at
    the end.
    """
    return Replayer(heap).replay(reader, progress)

"""The public face of the model: a Go heap you can allocate into and inspect.

    >>> from goheap import Heap, Type
    >>> h = Heap(profile="go1.8", procs=1)
    >>> Node = Type("Node", size=16, pointers=[0, 8])
    >>> a, b = h.new(Node), h.new(Node)
    >>> h.write_pointer(a, 0, b)
    >>> h.read_memstats().HeapAlloc
    32

``Heap`` wires one runtime together the way ``mallocinit``/``schedinit`` do
(the arena reservation, ``mheap.init``, one mcache per P) and exposes the Go
operations a program performs: ``new`` (newobject), ``make`` (newarray /
makeslice), ``malloc`` (mallocgc itself), word and pointer stores and loads,
``read_memstats`` (runtime.ReadMemStats) and ``check`` (every invariant of
the heap). The runtime structures stay reachable for inspection:
``h.mheap``, ``h.mheap.central[c]``, ``h.mcaches[p]``, ``h.mheap.spans``...

What the model leaves out of a real Go process: the runtime's own
allocations before ``main`` (goroutine stacks, the scheduler, init-time
objects). A fresh ``Heap`` is the heap as ``main`` would see it if the
runtime had allocated nothing, so every number comes from the program's
own allocations.
"""

from __future__ import annotations

from dataclasses import dataclass

from goheap.errors import GoheapError
from goheap.profiles import DEFAULT_PROFILE, get_profile
from goheap.runtime.arena import OS
from goheap.runtime.clock import Clock
from goheap.runtime.gotype import Type
from goheap.runtime.malloc import GCHooks, Malloc
from goheap.runtime.mcache import MCache
from goheap.runtime.mheap import MHeap
from goheap.runtime.mprof import DEFAULT_STACK, MProf
from goheap.runtime.mspan import MSpan, _MSpanInUse
from goheap.runtime.mstats import MemStats, MStats, updatememstats
from goheap.runtime.proc import P

# Largest request mallocgc accepts here: Go's maxAlloc-style bound on
# amd64 is the arena size; anything larger cannot be satisfied.
_MAX_REQUEST = 1 << 39


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
        profile: str = DEFAULT_PROFILE,
        procs: int = 1,
        memprofilerate: int | None = None,
    ) -> None:
        if not isinstance(procs, int) or procs < 1 or procs > 256:
            raise GoheapError(f"procs must be an integer from 1 to 256, got {procs!r}")
        prof = get_profile(profile)
        if memprofilerate is not None and (
            not isinstance(memprofilerate, int) or memprofilerate < 0
        ):
            raise GoheapError(f"memprofilerate must be >= 0, got {memprofilerate!r}")
        self.profile = prof
        self.clock = Clock()
        self.stats = MStats(prof.sizeclasses.num_classes)
        self.os = OS(prof.phys_page_size)
        self.mheap = MHeap(prof, self.stats, self.os, self.clock)
        rate = prof.mem_profile_rate if memprofilerate is None else memprofilerate
        self.mprof = MProf(self.mheap, rate)
        self.gc_hooks = GCHooks()
        self.malloc_ = Malloc(self.mheap, self.mprof, self.gc_hooks)

        # procresize: one P and one mcache each (allocmcache, global palloc).
        self.allp = [P(i) for i in range(procs)]
        self.mheap.allp = self.allp
        for p in self.allp:
            c = self.mheap.cachealloc.alloc(self.mheap.palloc.global_alloc)
            c.next_sample = self.mprof.nextSample()
            p.mcache = c
        self.mheap.curp = self.allp[0]
        self._closed = False

    # --- Ps ---

    @property
    def procs(self) -> int:
        return len(self.allp)

    @property
    def mcaches(self) -> list[MCache]:
        return [p.mcache for p in self.allp if p.mcache is not None]

    def _on(self, p: int | None) -> MCache:
        if p is not None:
            if not isinstance(p, int) or not 0 <= p < len(self.allp):
                raise GoheapError(f"no P {p!r}: this heap has procs={len(self.allp)}")
            self.mheap.curp = self.allp[p]
        cur = self.mheap.curp
        assert cur is not None and cur.mcache is not None
        return cur.mcache

    # --- allocation ---

    def malloc(
        self,
        size: int,
        typ: Type | None = None,
        *,
        needzero: bool = True,
        p: int | None = None,
        stack: tuple[str, ...] | None = None,
    ) -> int:
        """mallocgc(size, typ, needzero) on P p; returns the object's address.

        ``typ`` None means no pointers. For arrays pass ``size = n * typ.size``.
        """
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise GoheapError(f"malloc: size must be a non-negative integer, got {size!r}")
        if size >= _MAX_REQUEST:
            raise GoheapError(f"malloc: size {size} is larger than the arena (512 GiB)")
        if typ is not None and typ.size and size % typ.size:
            raise GoheapError(
                f"malloc: size {size} is not a multiple of type {typ.name}'s size {typ.size}"
            )
        c = self._on(p)
        return self.malloc_.mallocgc(size, typ, needzero, c, stack or DEFAULT_STACK)

    def new(self, typ: Type, *, p: int | None = None, stack: tuple[str, ...] | None = None) -> int:
        """newobject(typ): one zeroed object of type typ."""
        return self.malloc(typ.size, typ, p=p, stack=stack)

    def make(
        self, typ: Type, n: int, *, p: int | None = None, stack: tuple[str, ...] | None = None
    ) -> int:
        """newarray(typ, n) / makeslice: the backing array of n elements."""
        if not isinstance(n, int) or n < 0:
            raise GoheapError(f"make: length must be a non-negative integer, got {n!r}")
        return self.malloc(typ.size * n, typ, p=p, stack=stack)

    # --- memory access ---

    def find_object(self, addr: int) -> ObjectRef | None:
        """findObject: the allocated object containing addr, or None."""
        s = self.mheap.lookupMaybe(addr)
        if s is None:
            return None
        idx = s.objIndex(addr) if s.sizeclass != 0 else 0
        if s.isFree(idx):
            return None
        base = s.startAddr + idx * s.elemsize
        return ObjectRef(base, s.elemsize, s, idx)

    def _word_index(self, obj: int, offset: int, what: str) -> int:
        ref = self.find_object(obj)
        if ref is None:
            raise GoheapError(f"{what}: {obj:#x} is not an allocated heap object")
        addr = obj + offset
        if offset % 8 or (addr - ref.base) % 8 or addr < ref.base or addr + 8 > ref.base + ref.size:
            raise GoheapError(
                f"{what}: offset {offset} is not an aligned word inside the {ref.size}-byte "
                f"object at {ref.base:#x}"
            )
        return (addr - self.mheap.arena_start) >> 3

    def write_word(self, obj: int, offset: int, value: int) -> None:
        """Store a 64-bit scalar at obj+offset."""
        if not 0 <= value < 1 << 64:
            raise GoheapError(f"write_word: value {value!r} does not fit in 64 bits")
        self.mheap.mem.words[self._word_index(obj, offset, "write_word")] = value

    def read_word(self, obj: int, offset: int) -> int:
        return self.mheap.mem.words[self._word_index(obj, offset, "read_word")]

    def write_pointer(self, obj: int, offset: int, target: int) -> None:
        """*(obj+offset) = target, where target is 0 (nil) or inside a heap object."""
        if target != 0 and self.find_object(target) is None:
            raise GoheapError(f"write_pointer: target {target:#x} is not an allocated heap object")
        self.mheap.mem.words[self._word_index(obj, offset, "write_pointer")] = target

    def read_pointer(self, obj: int, offset: int) -> int:
        return self.read_word(obj, offset)

    # --- statistics ---

    def read_memstats(self) -> MemStats:
        """runtime.ReadMemStats: flush every mcache (as Go does), then compute."""
        for c in self.mcaches:
            c.releaseAll()
        return updatememstats(self.mheap, self.profile.memstats_by_size_len)

    def memstats(self) -> MemStats:
        """The same numbers as read_memstats, without flushing the mcaches."""
        return updatememstats(self.mheap, self.profile.memstats_by_size_len)

    # --- inspection ---

    def inuse_spans(self) -> list[MSpan]:
        return [s for s in self.mheap.allspans if s.state == _MSpanInUse]

    def check(self) -> None:
        """Verify every heap invariant; raise HeapCheckError naming the first broken one."""
        from goheap.runtime.mcheck import check_heap

        check_heap(self)

    def close(self) -> None:
        """Release the heap's address-space reservation."""
        if not self._closed:
            self._closed = True
            self.mheap.mem.close()

    def __enter__(self) -> Heap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Stateful test: random allocation programs against a shadow model of Go 1.8.

The machine allocates random sizes (1 B .. 1 MiB, biased to tiny sizes and
size-class boundaries), pointer-free or typed with random pointer masks,
on random Ps; stores words and pointers between live objects; and calls
ReadMemStats (which flushes every mcache, a real Go side effect). The heap
runs with GOGC=off, so nothing is freed and Go 1.8's allocator is fully
determined by these rules, which the shadow model re-implements:

- page heap: a bump allocator over one free tail span; ``mheap.grow`` adds
  max(1 MiB, npages rounded up to 8 pages) at arena_used and coalesces with
  the tail;
- small classes: each P's mcache holds one span per class and hands out its
  slots in order; a full span is replaced by the first span of the class's
  ``mcentral.nonempty`` list, else by a new span; ReadMemStats uncaches every
  P's spans in P order, putting those with free slots at the *front* of
  ``nonempty``, and drops each P's tiny block;
- tiny: noscan objects < 16 B, aligned 8/4/2 by size, packed in a 16-byte
  block that a new block replaces only if it has more room left;
- MemStats: Mallocs = malloc calls with size > 0, Frees = tiny fits,
  HeapAlloc = TotalAlloc = the rounded sizes of the other allocations,
  BySize (61 entries) counts class slots, large objects are not in BySize;
- MemProfileRate=1 samples every allocation that is not a tiny fit, one
  bucket per (stack[:32], rounded size); BuckHashSys = 179999*8 + 48 +
  8*len(stack) + 96 per bucket.

Every predicted address must be the address the heap returns, and after
every step ``Heap.check()`` must pass and MemStats must match the model.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from goheap import GoheapError, Heap, Type
from tests.go18data import (
    ARENA_START,
    BYSIZE_LEN,
    CLASS_TO_ALLOCNPAGES,
    CLASS_TO_SIZE,
    MAX_SMALL,
    PAGE,
    SIZEOF_MCACHE,
    SIZEOF_MSPAN,
    MiB,
)

STACKS = [
    ("main.main", "runtime.main", "runtime.goexit"),
    ("main.alloc", "main.main"),
    tuple(f"main.deep{i}" for i in range(40)),  # longer than maxStack (32)
]

BOUNDARIES = sorted(
    {s + d for s in CLASS_TO_SIZE[1:] for d in (-1, 0, 1) if 0 < s + d <= MAX_SMALL + 1}
)

sizes = st.one_of(
    st.integers(1, 15),  # tiny (when pointer-free)
    st.sampled_from(BOUNDARIES),
    st.integers(16, 1024),
    st.integers(1025, MAX_SMALL),
    st.integers(MAX_SMALL + 1, MiB),
)


def size_class(size: int) -> int:
    return next(c for c in range(1, len(CLASS_TO_SIZE)) if CLASS_TO_SIZE[c] >= size)


def tiny_align(off: int, size: int) -> int:
    for a in (8, 4, 2):
        if size % a == 0:
            return -(-off // a) * a
    return off


@dataclass
class ShadowSpan:
    base: int
    nelems: int
    elemsize: int
    used: int = 0


@dataclass
class Obj:
    addr: int
    size: int  # requested bytes
    region: tuple[int, int]  # what find_object accepts: the slot, tiny block or [base, base+size)
    ptr_offsets: list[int] | None  # expected pointer words; None: noscan
    tiny_fit: bool


class Shadow:
    """Go 1.8's allocator with GOGC=off, in a few dozen lines."""

    def __init__(self, procs: int) -> None:
        self.procs = procs
        self.next = ARENA_START  # first page not yet handed out
        self.used = ARENA_START  # arena_used
        self.nonempty: dict[int, list[ShadowSpan]] = defaultdict(list)
        self.cache: list[dict[int, ShadowSpan]] = [{} for _ in range(procs)]
        self.tiny = [[0, 0] for _ in range(procs)]  # (block, tinyoffset) per P
        self.nspans = 0
        self.mallocs = 0
        self.tiny_fits = 0
        self.heap_alloc = 0
        self.by_class: Counter[int] = Counter()

    def pages(self, n: int) -> int:
        if self.used - self.next < n * PAGE:
            self.used += max(-(-n // 8) * 8, 128) * PAGE
        x = self.next
        self.next += n * PAGE
        return x

    def slot(self, p: int, c: int) -> int:
        s = self.cache[p].get(c)
        if s is None or s.used == s.nelems:
            if self.nonempty[c]:
                s = self.nonempty[c].pop(0)
            else:
                npages = CLASS_TO_ALLOCNPAGES[c]
                size = CLASS_TO_SIZE[c]
                s = ShadowSpan(self.pages(npages), npages * PAGE // size, size)
                self.nspans += 1
            self.cache[p][c] = s
        x = s.base + s.used * s.elemsize
        s.used += 1
        self.by_class[c] += 1
        self.heap_alloc += s.elemsize
        return x

    def flush(self) -> None:
        """ReadMemStats: releaseAll on every P in order; uncacheSpan inserts at the front."""
        for p in range(self.procs):
            for c, s in self.cache[p].items():
                if s.used < s.nelems:
                    self.nonempty[c].insert(0, s)
            self.cache[p] = {}
            self.tiny[p] = [0, 0]

    def malloc(self, size: int, p: int, noscan: bool) -> tuple[int, int | None, tuple[int, int]]:
        """(address, rounded size or None for a tiny fit, region find_object accepts)."""
        assert size > 0
        self.mallocs += 1
        if size <= MAX_SMALL and noscan and size < 16:
            tiny, off = self.tiny[p]
            o = tiny_align(off, size)
            if tiny != 0 and o + size <= 16:
                self.tiny[p] = [tiny, o + size]
                self.tiny_fits += 1
                return tiny + o, None, (tiny, tiny + 16)
            x = self.slot(p, 2)
            if size < off or tiny == 0:
                self.tiny[p] = [x, size]
            return x, 16, (x, x + 16)
        if size <= MAX_SMALL:
            c = size_class(size)
            x = self.slot(p, c)
            return x, CLASS_TO_SIZE[c], (x, x + CLASS_TO_SIZE[c])
        npages = -(-size // PAGE)
        x = self.pages(npages)
        self.nspans += 1
        self.heap_alloc += npages * PAGE
        return x, npages * PAGE, (x, x + size)


def expected_ptr_offsets(tsize: int, offs: list[int], count: int) -> list[int]:
    ndata = tsize // 8
    totalptr = ((count - 1) * tsize + max(offs) + 8) // 8
    mask = {o // 8 for o in offs}
    return [8 * i for i in range(totalptr) if i % ndata in mask]


class AllocMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.h: Heap | None = None

    @initialize(procs=st.integers(1, 4), rate=st.sampled_from([0, 1, None]))
    def start(self, procs: int, rate: int | None) -> None:
        self.h = Heap(profile="go1.8", procs=procs, memprofilerate=rate, gogc="off")
        self.rate = rate
        self.model = Shadow(procs)
        self.objs: list[Obj] = []
        self.words: dict[tuple[int, int], int] = {}  # (object, offset) -> value stored
        self.buckets: set[tuple[tuple[str, ...], int]] = set()
        self.bulk_regions: list[tuple[int, int]] = []

    def teardown(self) -> None:
        if self.h is not None:
            # Bigger objects' bitmaps are checked once, here (too slow for every step).
            for o in self.objs:
                if o.region[1] - o.region[0] <= 128 * 1024:
                    self.check_bits(o)
            self.h.close()
            self.h = None

    # --- helpers ---

    def record(
        self, size: int, p: int, typ: Type | None, count: int, stack, keep: bool = True
    ) -> int:
        assert self.h is not None
        p %= self.model.procs
        want, rounded, region = self.model.malloc(size, p, typ is None)
        if typ is None:
            x = self.h.malloc(size, p=p, stack=stack)
            offs = None
        else:
            x = self.h.make(typ, count, p=p, stack=stack)
            offs = expected_ptr_offsets(typ.size, typ.pointer_offsets(), count)
        assert x == want, f"{size} bytes on P {p}: {x:#x} != {want:#x}"
        if rounded is not None and self.rate == 1:
            self.buckets.add((stack[:32], rounded))
        obj = Obj(x, size, region, offs, rounded is None)
        if not keep:  # bulk allocations: only remember where they are
            self.bulk_regions.append(region)
            return x
        self.objs.append(obj)
        if obj.region[1] - obj.region[0] <= 4096:
            self.check_bits(obj)
        return x

    def check_bits(self, o: Obj) -> None:
        assert self.h is not None
        hb = self.h.mheap.heapbits
        if o.ptr_offsets is not None:
            ref = self.h.find_object(o.addr)
            assert ref is not None and ref.base == o.addr
            assert hb.pointer_words(o.addr, ref.size) == o.ptr_offsets
        elif not o.tiny_fit:
            assert not hb.hasPointers(o.addr)

    def allocated(self, addr: int) -> bool:
        regions = [o.region for o in self.objs] + self.bulk_regions
        return any(lo <= addr < hi for lo, hi in regions)

    # --- rules ---

    @rule(size=sizes, p=st.integers(0, 3), stack=st.sampled_from(STACKS))
    def alloc_noscan(self, size: int, p: int, stack: tuple[str, ...]) -> None:
        self.record(size, p, None, 0, stack)

    @rule(
        size=st.one_of(st.integers(1, 15), st.sampled_from([b for b in BOUNDARIES if b <= 2048])),
        n=st.integers(1, 700),
        p=st.integers(0, 3),
    )
    def alloc_many(self, size: int, n: int, p: int) -> None:
        """Enough objects of one size to fill spans and make mcaches refill."""
        stack = STACKS[0]
        self.record(size, p, None, 0, stack)
        for _ in range(n - 1):
            self.record(size, p, None, 0, stack, keep=False)

    @rule(
        words=st.integers(1, 64),
        data=st.data(),
        count=st.one_of(st.just(1), st.integers(2, 16), st.integers(17, 4096)),
        p=st.integers(0, 3),
        stack=st.sampled_from(STACKS),
    )
    def alloc_typed(self, words: int, data, count: int, p: int, stack) -> None:
        ptr_words = data.draw(
            st.lists(st.integers(0, words - 1), min_size=1, max_size=words, unique=True)
        )
        typ = Type(f"T{words}", 8 * words, pointers=[8 * w for w in ptr_words])
        count = max(1, min(count, MiB // typ.size))
        self.record(typ.size * count, p, typ, count, stack)

    @rule(p=st.integers(0, 3))
    def alloc_zero(self, p: int) -> None:
        assert self.h is not None
        assert self.h.malloc(0, p=p % self.model.procs) == self.h.mheap.zerobase

    @precondition(lambda self: self.h is not None and self.objs)
    @rule(data=st.data())
    def store(self, data) -> None:
        assert self.h is not None
        writable = [o for o in self.objs if o.addr % 8 == 0 and o.size >= 8]
        if not writable:
            return
        o = data.draw(st.sampled_from(writable))
        nwords = o.size // 8
        w = data.draw(st.one_of(st.just(0), st.just(nwords - 1), st.integers(0, nwords - 1)))
        if data.draw(st.booleans()):
            t = data.draw(st.sampled_from(self.objs))
            target = data.draw(st.sampled_from([0, t.addr, t.region[1] - 1]))
            if 8 * w not in (o.ptr_offsets or []):
                # A pointer store into a scalar word: Go's types make it impossible.
                with pytest.raises(GoheapError, match="is not a pointer field"):
                    self.h.write_pointer(o.addr, 8 * w, target)
                return
            self.h.write_pointer(o.addr, 8 * w, target)
        else:
            target = data.draw(st.integers(0, (1 << 64) - 1))
            self.h.write_word(o.addr, 8 * w, target)
        self.words[(o.addr, 8 * w)] = target

    @precondition(lambda self: self.h is not None and self.objs)
    @rule(data=st.data())
    def pointer_to_anywhere(self, data) -> None:
        """write_pointer accepts exactly the addresses inside allocated objects."""
        assert self.h is not None
        sources = [o for o in self.objs if 0 in (o.ptr_offsets or [])]
        if not sources:
            return
        src = sources[0]
        t = data.draw(st.sampled_from(self.objs))
        lo, hi = t.region
        target = data.draw(
            st.one_of(
                st.integers(lo - 64, lo + 64),
                st.integers(hi - 64, hi + 64),
                st.integers(ARENA_START - PAGE, self.model.used + PAGE),
            )
        )
        if target != 0 and not self.allocated(target):
            with pytest.raises(GoheapError):
                self.h.write_pointer(src.addr, 0, target)
        else:
            self.h.write_pointer(src.addr, 0, target)
            self.words[(src.addr, 0)] = target

    @rule()
    def read_memstats(self) -> None:
        assert self.h is not None
        ms = self.h.read_memstats()
        self.model.flush()
        self.compare(ms)
        for c in self.h.mcaches:
            assert c.tiny == 0 and all(s is self.h.mheap.emptymspan for s in c.alloc)

    # --- invariants ---

    def compare(self, ms) -> None:
        m = self.model
        assert ms.Mallocs == m.mallocs
        assert ms.Frees == m.tiny_fits
        assert ms.HeapObjects == m.mallocs - m.tiny_fits
        assert ms.HeapAlloc == ms.Alloc == ms.TotalAlloc == m.heap_alloc
        assert ms.HeapSys == m.used - ARENA_START
        assert ms.HeapInuse == m.next - ARENA_START
        assert ms.HeapIdle == m.used - m.next
        assert ms.HeapReleased == 0
        assert ms.MSpanInuse == SIZEOF_MSPAN * (m.nspans + (m.used > m.next))
        assert ms.MCacheInuse == SIZEOF_MCACHE * m.procs
        assert len(ms.BySize) == BYSIZE_LEN
        for c, e in enumerate(ms.BySize):
            assert (e.Size, e.Mallocs, e.Frees) == (CLASS_TO_SIZE[c], m.by_class[c], 0)
        if self.rate == 1:
            want = 0
            if self.buckets:
                want = 179999 * 8 + sum(48 + 8 * len(s) + 96 for s, _ in self.buckets)
            assert ms.BuckHashSys == want
            got = {(b.stack, b.size) for b in self.h.mprof.mbuckets}  # type: ignore[union-attr]
            assert got == self.buckets
        elif self.rate == 0:
            assert ms.BuckHashSys == 0
        sys_parts = ms.HeapSys + ms.StackSys + ms.MSpanSys + ms.MCacheSys
        assert ms.Sys == sys_parts + ms.BuckHashSys + ms.GCSys + ms.OtherSys

    @invariant()
    def heap_matches_model(self) -> None:
        if self.h is None:
            return
        self.h.check()
        self.compare(self.h.memstats())
        for (obj, off), v in self.words.items():
            assert self.h.read_word(obj, off) == v
        for o in self.objs:
            if o.addr % 8 == 0 and o.size >= 8:
                for off in {0, (o.size // 8 - 1) * 8}:
                    if (o.addr, off) not in self.words:
                        assert self.h.read_word(o.addr, off) == 0
            if o.region[1] - o.region[0] <= 4096:
                self.check_bits(o)


AllocMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestAllocMachine = AllocMachine.TestCase


def test_shadow_model_self_check() -> None:
    """The shadow's rules on a scenario worked out by hand (guards the model itself)."""
    m = Shadow(2)
    S = ARENA_START
    assert m.malloc(48, 0, True)[0] == S  # P0 class 4 span at page 0
    assert m.malloc(48, 1, True)[0] == S + PAGE  # P1 needs its own span
    assert m.malloc(3, 0, True)[0] == S + 2 * PAGE  # P0 tiny block (class 2 span)
    assert m.malloc(3, 0, True)[0] == S + 2 * PAGE + 3
    assert m.malloc(40000, 1, True)[0] == S + 3 * PAGE  # 5 pages
    m.flush()
    assert m.malloc(48, 0, True)[0] == S + PAGE + 48  # P1's span is first in nonempty
    assert m.malloc(1, 0, True)[0] == S + 2 * PAGE + 16  # fresh tiny block after flush
    assert m.malloc(MiB, 0, True)[0] == S + 8 * PAGE  # 128 pages: 120 left -> grow
    assert m.used == S + 2 * MiB
    assert (m.mallocs, m.tiny_fits) == (8, 1)
    rnd = random.Random(0)
    assert all(m.malloc(rnd.randint(1, 15), 1, True)[0] for _ in range(100))

"""Stateful property test: allocation, pointer writes, root drops and GCs, check() each step."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from goheap import Heap, Type

NODE = Type("Node", size=16, pointers=[0, 8])
BIG = Type("Big", size=4096, pointers=[0, 2048, 4088])


class GCMachine(RuleBasedStateMachine):
    heap: Heap

    @initialize(procs=st.integers(1, 3), gogc=st.sampled_from([25, 100, "off"]))
    def setup(self, procs: int, gogc: int | str) -> None:
        self.heap = Heap(profile="go1.8", procs=procs, gogc=gogc)
        self.nroots = 0

    def teardown(self) -> None:
        if hasattr(self, "heap"):
            self.heap.close()

    @rule(
        size=st.sampled_from([1, 8, 16, 24, 100, 1024, 5000, 32768, 40000, 300_000]),
        p=st.integers(0, 2),
    )
    def alloc_garbage(self, size: int, p: int) -> None:
        self.heap.malloc(size, p=p % self.heap.procs)

    @rule(n=st.integers(1, 300), typ=st.sampled_from([NODE, BIG]))
    def alloc_rooted(self, n: int, typ: Type) -> None:
        h = self.heap
        # The chain's head lives in a stack slot while the next link is
        # allocated, as a Go local would (an allocation may start a GC).
        slot = h.main.push(0)
        prev = 0
        for _ in range(n):
            x = h.new(typ)
            if prev:
                h.write_pointer(x, 0, prev)
            prev = x
            h.main.set(slot, prev)
        self.nroots += 1

    @precondition(lambda self: self.nroots > 0)
    @rule()
    def drop_root(self) -> None:
        self.heap.main.pop()
        self.nroots -= 1

    @precondition(lambda self: self.nroots > 0)
    @rule(target_garbage=st.booleans())
    def rewire(self, target_garbage: bool) -> None:
        h = self.heap
        top = h.main.get(len(h.main.stack) - 1)
        target = h.new(NODE) if target_garbage else 0
        # A pointer field both types have: Node's second, Big's last (offset 8
        # of a Big is a scalar, which write_pointer refuses as Go's types would).
        typ = NODE if h.find_object(top).size == NODE.size else BIG
        h.write_pointer(top, typ.offsets[-1], target)

    @rule()
    def runtime_gc(self) -> None:
        self.heap.gc()
        # After a full GC exactly the reachable objects remain: walk them.
        h = self.heap
        seen: set[int] = set()
        todo = [v for v in h.main.stack if v]
        while todo:
            x = todo.pop()
            ref = h.find_object(x)
            assert ref is not None, f"reachable {x:#x} was freed"
            if ref.base in seen:
                continue
            seen.add(ref.base)
            for off in h.mheap.heapbits.pointer_words(ref.base, ref.size):
                v = h.mheap.mem.words[(ref.base + off - h.mheap.arena_start) >> 3]
                if v:
                    todo.append(v)
        assert h.read_memstats().HeapObjects == len(seen)

    @rule(ns=st.integers(0, 200 * 10**9))
    def idle(self, ns: int) -> None:
        self.heap.advance(ns)

    @invariant()
    def heap_is_consistent(self) -> None:
        if hasattr(self, "heap"):
            self.heap.check()
            ms = self.heap.memstats()
            assert ms.Mallocs - ms.Frees == ms.HeapObjects


TestGC = GCMachine.TestCase
TestGC.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)

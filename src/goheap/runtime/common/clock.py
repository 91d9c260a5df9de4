"""Virtual time and the cost model that advances it.

Everything Go ties to wall-clock time (``nanotime()``: a span's
``unusedsince``, the scavenger's 5-minute limit, the 2-minute forced GC,
pause lengths) reads this clock instead, so a run is the same every time.
The cost model (``CostModel``: virtual nanoseconds per unit of work, one
set of figures for both versions except where the runtimes measurably
differ) advances it; a driver or a trace may advance it explicitly. Its
figures were measured on live Go 1.8 and Go 1.27 (docs/model.md, "The
clock", says which probe gave which figure, on which machine); they shape
times (when a cycle starts and ends, pauses, gctrace clock/cpu,
GCCPUFraction) but no byte count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from goheap.runtime.common.sysmon import Sysmon

# Go's nanotime() is monotonic and starts near process start; we start at a
# fixed, recognisable non-zero value so that "unusedsince == 0" keeps Go's
# meaning of "never stamped".
START_NS: Final = 1_000_000_000
#: An instant after every instant the clock can reach (Go's nanotime is an
#: int64, and Heap.advance refuses to go past it): "never" for deadlines.
NEVER_NS: Final = 1 << 63
#: Mark work (units of scan work, bytes) left below this after a payment is a
#: float rounding's leftover of the virtual clock's slices: the work is done.
WORK_RESIDUE: Final = 1e-6


class Clock:
    """A monotonic virtual nanosecond clock."""

    def __init__(self, start: int = START_NS) -> None:
        self.now: int = start
        self.start: int = start

    def nanotime(self) -> int:
        return self.now

    def advance(self, ns: int) -> None:
        if ns < 0:
            raise ValueError(f"clock cannot go backwards (advance by {ns} ns)")
        self.now += ns


@dataclass
class CostModel:
    """Virtual nanoseconds per unit of work, measured (docs/model.md, "The clock").

    Measured on a 2-vCPU AMD EPYC VM (32 MiB L3, firecracker) against live
    Go 1.8 and Go 1.27.3 by the probes in tests/oracle/calibrate (``alloc``:
    a ring of k objects of one size, CPU time by getrusage minus gctrace's
    GC CPU, ``-touch``: first touch; ``mark``: forced GCs over k live
    objects). These are the built-in defaults; ``goheap calibrate`` measures
    them on the user's machine for runs that ask (``--costs``).

    Costs that depend on the heap's size interpolate between an in-cache
    (``_hot``) and an out-of-cache (``_cold``) figure by
    ``cold = max(0, 1 - llc / HeapInuse)`` (``coldness``), where ``llc`` is
    the cache the work finds its memory in: ``llc_bytes`` for the
    allocation stream (clearing, refills), ``mark_llc_bytes`` for the mark's
    scattered reads (objects, spans).
    """

    # The cache the allocation stream finds its memory in: where clearing and
    # refills turn from their in-cache to their out-of-cache figures (32 MiB
    # L3 of the measuring machine; the probes' knee lies between their 4 MiB
    # and 256 MiB live heaps). A program reuses its heap's memory a cycle at
    # a time, and a cache holds little of a cycle once the heap outgrows it.
    llc_bytes: int = 32 << 20
    # The cache the mark's scattered reads find the heap in: where marking an
    # object and scanning a span turn cold. The same L3 on the measuring
    # machine; on a VM of a server CPU it can be several times llc_bytes
    # (session 26: a shuffled mark stays in cache to 137 MiB where clearing
    # is cold at 77 MiB; goheap calibrate measures both).
    mark_llc_bytes: int = 32 << 20
    # The allocation path, split by where Go spends it (session 20). The
    # alloc probe (a ring of k objects of one size, 8 untimed passes so the
    # heap is at its steady size) with a CPU profile of its timed loop:
    # each sample goes to the GC, sweeping, clearing (memclrNoHeapPointers),
    # the mcache's refill, or the rest (goheap.calibrate.cpuprofile), and
    # its share of the loop's CPU time (getrusage) is that part's time.
    # Go 1.8 and Go 1.27.3, quiet machine, 3 runs a point (the profile
    # shares: the last run's), sizes 16 B-1 MiB at 4 and 256 MiB live; the
    # runtimes averaged where one figure serves both. The figures before
    # (0.12-0.28 ns/B) came from the whole loop's time on a loaded machine,
    # the heap still growing in it: the kernel's page faults (charged apart,
    # page_fault_ns), refills and sweeping were counted as clearing.
    # Session 22 split two more parts off the rest: the write barrier of the
    # probe's ring store while a mark runs (the clock charges it apart,
    # write_barrier_*; at the 4 MiB ring Go 1.8 marks much of the time, and
    # its barrier was 22-25 ns of the rest's 48-51 at 64-1024 B), and the
    # probe's own loop (i % k, the ring store: 2-5 ns, the program's). The
    # per-byte, refill and large figures stay the session 20 record's (the
    # newer records' are within their run-to-run spread: small clearing
    # 0.041-0.052 ns/B in cache over four full runs). Session 24 split
    # allocating black off too (gcmarknewobject, which the rest held for the
    # allocations made in marks: at the 4 MiB ring Go 1.27 makes 18-34 % of
    # them in marks, Go 1.8 69-93 %; alloc_black_ns_*): the small bases and
    # the tiny figure are that record's (tests/data/calibrate, full-black;
    # session 22's full-split read 25.5 / 17.7 and 10.0 with it).
    # A tiny allocation (noscan, < 16 B): the probe's 8-byte ring, its CPU
    # per allocation less the GC, barrier, black and loop: Go 1.8 and 1.27
    # averaged.
    tiny_ns: float = 9.4
    # A small allocation: base + per byte the runtime clears (memory fresh
    # from the OS is not cleared: clear_ns). The base is the rest's line
    # over the sizes in cache, its intercept, each runtime its own: Go 1.8's
    # path costs 1.3 times Go 1.27's (the rest grows about 0.005-0.01 ns/B with
    # size, mostly the memory profiler's sampling, which the clock does not
    # charge). Clearing per byte, the sizes' median, the runtimes averaged:
    # 0.045 / 0.054 ns/B in cache, 0.080 / 0.067 at 568 MiB of heap (Go
    # 1.27 / Go 1.8), the latter solved for out of cache.
    small_base_ns_go18: float = 20.8
    small_base_ns_go127: float = 16.3
    small_ns_per_byte_hot: float = 0.0496
    small_ns_per_byte_cold: float = 0.0732
    # The mcache taking a new span of small objects from its mcentral
    # (mcache.refill, mcentral.cacheSpan: the span sets' search and, when
    # no swept span is free, mcentral.grow from the page heap), per span;
    # the sweeping it does is charged apart (sweep_ns_per_span). In cache:
    # the probe, refill's samples per span taken (Go 1.27 124 ns, Go 1.8
    # 201). Out of cache: the churn twin's profile (k=100,000, GOGC 100,
    # 3 runs; the model's count of refills for the same run): Go 1.27
    # 440 ns, Go 1.8 375, averaged (408) and solved for out of cache at
    # 470 MiB, the run's mean heap. The probe's rings read 434 (Go 1.27)
    # but 104 (Go 1.8).
    refill_ns_hot: float = 163.0
    refill_ns_cold: float = 426.0
    # A large allocation: base + per byte cleared. The probe's 40 KiB-1 MiB
    # rings (Go 1.27: 32 KiB too, its large path): the rest's intercept,
    # each runtime its own, session 20's record. Three full runs read
    # 367-827 (Go 1.8) and 221-673 ns (Go 1.27): few points, each noisy, so
    # the split record's are not taken; the churn twin's large objects
    # (32-64 KiB, 53,000 a run: samples under mallocgcLarge) cost 713 ns
    # with Go 1.27. Clearing 0.029 / 0.061 ns/B in cache, 0.070 / 0.050 out
    # of it, averaged.
    large_base_ns_go18: float = 827.0
    large_base_ns_go127: float = 673.0
    large_ns_per_byte_hot: float = 0.0449
    large_ns_per_byte_cold: float = 0.0601
    # First write to a 4 KiB page since the OS gave it (kernel time of the
    # page fault; ArenaMemory.touch): the alloc probe's -touch, GOGC=off
    # stream of 64 KiB objects into a fresh heap, a byte written per page,
    # sys CPU / pages, quiet machine: 1.47 us per 4 KiB page (both runtimes;
    # 1.7 on a loaded one).
    page_fault_ns: float = 1470.0
    # Returning free pages to the OS (sysUnused: one madvise MADV_DONTNEED a
    # call), the work of Go 1.27's background scavenger and of the
    # scavenging an allocation does under a memory limit or the retention
    # goal (release_ns). The kernel unmaps only the resident pages (written
    # since the OS gave them), each scavenge_ns_per_page: the scavenge probe
    # (256 MiB of freed large objects, every page written, released by
    # debug.FreeOSMemory; CPU less a GC of the same empty heap): 180-350 ns
    # per 4 KiB page, median 270 (Go 1.27 x3, Go 1.8 x2). A call costs
    # scavenge_ns_per_call besides: a 64 KiB or a 1 MiB madvise of pages
    # never written takes 0.56-0.61 us (session 23, a C loop on the quiet
    # 2-vCPU machine; written pages add 0.20-0.27 us each there). Go's own
    # scavenger measures its time; its fallback when it cannot is "~10 us
    # per physical page (this is somewhat pessimistic)".
    scavenge_ns_per_page: float = 270.0
    scavenge_ns_per_call: float = 600.0
    # Unmapping resident pages while the program runs on another CPU: that
    # CPU's TLB must forget them too, so the kernel interrupts it (an IPI;
    # on a virtual machine each one exits to the hypervisor) and waits for
    # it. benchmarks/madvise_sibling.py, two threads at GOMAXPROCS=2, quiet
    # 2-vCPU KVM machine, medians of 3: a call beside a running sibling
    # costs the caller 13-14 us more (8 KiB 1.9 -> 14.9 us, 64 KiB 4.7 ->
    # 18.7; a 1 MiB call, a whole flush, 21 more), and the sibling loses
    # 11-13 us a call (1 MiB: 26). Go 1.27's own scavenger
    # (benchmarks/scavenger_turns.py, the churn twin at -k 10000, its 64 KiB
    # quanta of written and unwritten pages) took 2.6 us a call at one P
    # and 9.7 at two. Charged per call that unmaps a resident page: to the
    # releaser (tlb_shootdown_ns) and, for the background scavenger's calls,
    # to the program's goroutine (tlb_shootdown_victim_ns).
    tlb_shootdown_ns: float = 14_000.0
    tlb_shootdown_victim_ns: float = 12_000.0
    # The page heap handing out a span fresh from the OS (needzero off: not
    # cleared, so none of the per-byte figure, measured on reused memory,
    # applies): per span of small objects (mcentral.grow's refill path) and
    # per 8 KiB page of any span (Go 1.8: initSpan clearing the separate heap
    # bitmap, 256 B per page, and faulting it in). Measured by a GOGC=off
    # stream of n objects of one size into a fresh heap (CPU time by
    # getrusage, median of 5; docs/model.md "The clock"): Go 1.8 15 ns per
    # 16-B allocation, 631 ns per 8 KiB (1-page span), 1230 per 32 KiB
    # (4 pages), 25 us per 1 MiB; Go 1.27 262 ns per 1-page span above the
    # base, large objects 450 ns + 32 ns per page (the large base covers it).
    fresh_span_ns_go18: float = 420.0
    fresh_page_ns_go18: float = 200.0
    fresh_span_ns_go127: float = 230.0
    fresh_page_ns_go127: float = 32.0
    # The write barrier, per pointer it shades: a pointer store the program
    # makes while the barrier is on (from mark start to mark termination,
    # Go's setGCPhase) shades the slot's old value and the new one, each
    # that is not nil. Go 1.8 shades them at the store (writebarrierptr,
    # gcmarkwb_m, shade: heapBitsForObject, greyobject); Go 1.27 records them
    # in the P's buffer and shades them when it is full (gcWriteBarrier2,
    # wbBufFlush1: findObject). Shading an object already marked stops at
    # its mark bit; a new value is mostly one (objects are allocated black
    # during a mark), an old one mostly not: the two are priced apart. A
    # store with the barrier off costs the store alone, which the clock does
    # not charge. Measured on two twins, quiet machine, one P, GOGC 100: a
    # 1 kHz CPU profile (8-12 runs a runtime) gives the samples with a
    # barrier function on the stack, and gctrace (3-4 runs without the
    # profiler) the stores made during marks. binarytrees (depth 16: each
    # store puts a new node's child in it, the old value nil): 4.2 % of
    # 0.441 s (Go 1.27.3) and 10.7 % of 1.003 s (Go 1.8), over 44 % and 58 %
    # of its 14.9 million stores (the mutator's time inside marks): 2.8 and
    # 12.4 ns a new value. churn (k=100,000: each store replaces a
    # pointer-free object): 2.29 % of 0.848 s and 4.49 % of 0.906 s, over
    # 461,000 and 407,000 stores (the heap allocated during marks, h1 - h0
    # summed, at 2,183 bytes a step): 42.3 and 100.0 ns a store, less the
    # new value's price: 39.5 and 87.6 ns an old value.
    # Allocating black: mallocgc while a mark runs marks the new object
    # (gcmarknewobject: its mark bit, Go 1.27's scan bit too, atomically, and
    # its page's mark), charged on each allocation made in a mark. The alloc
    # probe's 64 B ring at 4 MiB (goheap calibrate): gcmarknewobject's samples
    # per allocation over the share of allocations made in marks
    # (gcpacertrace): Go 1.27 9.0 ns (29 % in marks), Go 1.8 8.4 (78 %).
    # Larger objects cost more (Go 1.27 19 ns at 256 B, 26 at 1 KiB, 42 at
    # 4 KiB: their clearing evicts the span's mark bits); the clock charges
    # the small objects' figure to all (simplified). The twins agree:
    # binarytrees 8.6 ns, churn 14-21 (benchmarks/alloc_black.py). The
    # allocation bases no longer include it (calibrate's "black" category).
    alloc_black_ns_go18: float = 8.42
    alloc_black_ns_go127: float = 9.01
    write_barrier_old_ns_go18: float = 87.6
    write_barrier_new_ns_go18: float = 12.4
    write_barrier_old_ns_go127: float = 39.5
    write_barrier_new_ns_go127: float = 2.8
    # One unit of GC scan work (a byte scanned): not separable from the
    # per-object figure in the probes; the estimate kept, hot and cold.
    scan_ns_per_byte: float = 0.5
    scan_ns_per_byte_cold: float = 0.5
    # Go 1.27's root scan work (data and BSS blocks, stacks): scanblock walks
    # them by pointer mask, most words not pointers, so a byte costs far less
    # than a heap byte. The mark probe's -window=8 (8 live 1 MiB objects and
    # the runtime's own: 38,008 bytes of heap scan work): 34-35 us of mark
    # CPU per background cycle, Go 1.27.3 x3; less the runtime's heap at
    # scan_ns_per_byte (19 us), over 165,002 bytes of globals and 1,904 of
    # stacks. (Go 1.8's roots are a time per cycle: roots_ns_go18.)
    root_scan_ns_per_byte: float = 0.096
    # Greying and queueing one object: mark -dead, 10-16 ns with <= 13 MB
    # of heap (both runtimes); out of cache the runtimes differ: Go 1.8
    # 50 ns, Go 1.27 (span-batched marking) 27 ns -- mark CPU per cycle in
    # gctrace, less the roots' and the heap's scan at the prices above, per
    # object marked, in the churn twin's steady cycles at GOGC 100 (-k
    # 100000: the ring's 100,000 pointer-free objects of random sizes
    # scattered over the heap; gcpacertrace gives each cycle's scan work;
    # benchmarks/mark_cost127.py). Go 1.27.3, quiet machine, four readings of
    # 2-3 runs (about 40 cycles each): medians 24.6, 25.3, 26.6 and 29.6 ns
    # at 526 MiB of heap, about 26 in the middle: 27 out of cache (session
    # 19; a loaded machine's earlier reading gave 32). GOGC 50 (359 MiB)
    # reads 23.6-25.6, GOGC 200 (871 MiB) 26.8-27.0, 300 and 400 MiB limits
    # 22.9 and 23.6; GOGC off under a 32 MiB limit (GC back to back, little
    # allocated between marks) 14.6: the pointer-free objects' spans and
    # mark bits stay in cache there, which a coldness by heap size cannot
    # see. mark -dead's sequential 64-byte objects mark faster out of cache
    # (goheap calibrate's mark.cold.go127: 9 ns on the same machine).
    mark_ns_per_object: float = 10.0
    # Go 1.27 scans small objects (16-512 B) a span at a time (Green Tea:
    # scanSpan's span queue, dense or sparse), far cheaper per byte than
    # scanobject's walk of a larger object (0.55-0.75 ns/B for 1-16 KiB
    # objects of nil pointers, about scan_ns_per_byte): span_scan_ns_per_byte
    # prices those units (MarkResult.spanScanWork). The mark probe's -words
    # mode (goheap calibrate): forced GCs over k pointer objects of 16 B and of
    # 512 B, the same heap each, the fastest cycle's clock per object: the
    # 512 B object's extra time over its 496 extra bytes. 4 MiB: 10.3 and 34.7
    # ns (0.049 ns/B); 270 MiB: 10.6 and 46.5 (solved for out of cache:
    # 0.076). Session 24's record (tests/data/calibrate, full-black). The
    # binarytrees twin marks at 0.53-0.63 ms per MB marked (gctrace), the
    # model now at 0.55-0.62 (at 0.5 ns/B it was 0.91-1.02).
    span_scan_ns_per_byte: float = 0.0492
    span_scan_ns_per_byte_cold: float = 0.0756
    mark_ns_per_object_cold_go18: float = 50.0
    mark_ns_per_object_cold_go127: float = 27.0
    # Go 1.8's root marking per background cycle (data/BSS, finalizer and
    # span specials, stacks: markroot/scanblock, which earn no scan-work
    # credit): every mark of live Go 1.8's large-window run (8 live
    # objects, no heap scan work) is a single 28-29 us assist (gctrace).
    roots_ns_go18: float = 25_000.0
    # Sweeping a span (mspan.sweep, whoever calls it), per span swept: the
    # churn twin's profile (k=100,000, GOGC 100; every sample with a sweep
    # function on its stack, over the model's count of spans swept in the
    # same run): Go 1.27 240 ns, Go 1.8 157, averaged. The probe's rings
    # read 99 and 52: their spans are freed whole, the churn's piecemeal.
    # Neither shows a cost growing with the objects per span (the probe's
    # line over 1-1024 objects is flat).
    sweep_ns_per_span: float = 200.0
    sweep_ns_per_object: float = 0.0
    # Stopping and starting the world, each STW phase (sweep and mark
    # termination): the mark probe's -window=8 cycles, gctrace's first and
    # third clock parts, median per runtime, averaged: Go 1.8 under 1 us
    # (printed 0), Go 1.27.3 2 us (its sweep termination 2-5 us, its mark
    # termination under 1). The clock's old 20 us estimate was ten times
    # the live runtimes' and made a 50 us mark of Go 1.8's large window
    # look 40 % paused, which lowered the trigger feedback's assist
    # utilization (u_a 0.80 where the runtime's is 1.2).
    stw_ns: float = 1_000.0
    # What stopping and starting the world adds with more than one P: the
    # other Ps' threads are stopped and woken (futex round trips; Go 1.8's
    # mark termination also wakes its gcMark helpers). gctrace of the churn
    # (k=10,000), large (window 8) and binarytrees (depth 16) twins at
    # GOMAXPROCS=2, quiet machine: the median of the three workloads' median
    # pauses, less stw_ns. Go 1.27.3 sweep termination 28 us (28, 28, 48),
    # mark termination 42 (41, 42, 45); Go 1.8 55 (11, 110, 55) and 55 (55,
    # 77, 26); at one P both runtimes pause 0-10 us. Measured at two Ps only;
    # taken as the same for more.
    stw_sweep_term_mp_ns_go127: float = 27_000.0
    stw_mark_term_mp_ns_go127: float = 41_000.0
    stw_sweep_term_mp_ns_go18: float = 54_000.0
    stw_mark_term_mp_ns_go18: float = 54_000.0
    # With more than one P, how long after the world restarts the other Ps'
    # mark workers start: their threads were asleep (startTheWorld's wakep).
    # Go 1.27.3 runtime/trace of the churn (k=10,000) and large (window 8)
    # twins at GOMAXPROCS=2: median 19 and 30 us from the end of sweep
    # termination to the first worker's start.
    worker_wake_ns: float = 25_000.0

    # How much longer than asked a round of sysmon lasts: usleep(d) returns
    # late by the kernel's timer slack and wake-up, and the round's own work
    # adds a little (runtime/common/sysmon.py). Each round lasts d +
    # usleep_slack_ns + usleep_slack_per_ns * d, the line through two points
    # of the sysmon probe (tests/oracle/calibrate/sysmon; quiet machine,
    # GOMAXPROCS=1, 10 runs each of Go 1.27.3 and Go 1.8, medians): a
    # goroutine that never blocks is preempted every two rounds, 20.338 and
    # 20.302 ms apart, so a 10 ms round lasts 10.160 ms; nanosleep(20 us),
    # sysmon's first delay, returns 79.7 and 79.9 us late. (ftrace of the
    # runtime's own nanosleep calls agrees: 20 us rounds 85-97 us apart,
    # 10 ms rounds 10.08-10.14 ms.)
    usleep_slack_ns: float = 79_700.0
    usleep_slack_per_ns: float = 0.00804

    def coldness(self, heap_inuse: int, llc: int = 0) -> float:
        """How far the heap is out of a cache of llc bytes (default ``llc_bytes``): 0
        when it fits, towards 1 beyond."""
        cache = llc or self.llc_bytes
        if heap_inuse <= cache:
            return 0.0
        return 1.0 - cache / heap_inuse

    def by_heap(self, hot: float, cold: float, heap_inuse: int, llc: int = 0) -> float:
        """A figure measured in cache (``hot``) and beyond it (``cold``), interpolated
        by how far this heap is out of a cache of llc bytes (``coldness``)."""
        return hot + (cold - hot) * self.coldness(heap_inuse, llc)

    def alloc_ns(self, tiny: bool, large: bool, go18: bool) -> float:
        """The mutator's time for one mallocgc on its path, clearing aside."""
        if tiny:
            return self.tiny_ns
        if large:
            return self.large_base_ns_go18 if go18 else self.large_base_ns_go127
        return self.small_base_ns_go18 if go18 else self.small_base_ns_go127

    def alloc_black_ns(self, go18: bool) -> float:
        """An allocation's marking of itself while a mark runs (gcmarknewobject)."""
        return self.alloc_black_ns_go18 if go18 else self.alloc_black_ns_go127

    def write_barrier_ns(self, old: int, new: int, go18: bool) -> float:
        """The write barrier's shading of the stores' old values and of their new ones."""
        if go18:
            return old * self.write_barrier_old_ns_go18 + new * self.write_barrier_new_ns_go18
        return old * self.write_barrier_old_ns_go127 + new * self.write_barrier_new_ns_go127

    def clear_ns(self, nbytes: int, large: bool, heap_inuse: int) -> float:
        """The time to clear nbytes for an allocation (memclrNoHeapPointers).

        The per-byte figures were measured where every allocation reuses
        freed memory, which Go clears; memory fresh from the OS Go does not
        clear, and costs only the path's base.
        """
        if nbytes == 0:
            return 0.0
        if large:
            return nbytes * self.by_heap(
                self.large_ns_per_byte_hot, self.large_ns_per_byte_cold, heap_inuse
            )
        return nbytes * self.by_heap(
            self.small_ns_per_byte_hot, self.small_ns_per_byte_cold, heap_inuse
        )

    def refill_ns(self, spans: int, heap_inuse: int) -> float:
        """The mcache's refills of spans (small objects), their sweeping aside."""
        return spans * self.by_heap(self.refill_ns_hot, self.refill_ns_cold, heap_inuse)

    def stw_pause_ns(self, procs: int, mark_term: bool, go18: bool) -> float:
        """One stop-the-world phase (sweep or mark termination) with procs Ps."""
        if procs <= 1:
            return self.stw_ns
        if go18:
            extra = self.stw_mark_term_mp_ns_go18 if mark_term else self.stw_sweep_term_mp_ns_go18
        else:
            extra = self.stw_mark_term_mp_ns_go127 if mark_term else self.stw_sweep_term_mp_ns_go127
        return self.stw_ns + extra

    def fresh_span_ns(self, spans: int, pages: int, go18: bool) -> float:
        """The page heap's work on spans (of small objects) and pages fresh from the OS."""
        if go18:
            return spans * self.fresh_span_ns_go18 + pages * self.fresh_page_ns_go18
        return spans * self.fresh_span_ns_go127 + pages * self.fresh_page_ns_go127

    def sysmon(self, start: int, phase: int) -> Sysmon:
        """sysmon's rounds from start (phase ns earlier), each as late as measured."""
        return Sysmon(start, phase, int(self.usleep_slack_ns), self.usleep_slack_per_ns)

    def release_ns(
        self, calls: int, resident_calls: int, resident_pages: int, beside: bool
    ) -> float:
        """sysUnused calls: each call, each resident page it unmapped and, when the
        program runs on another CPU (``beside``), the TLB shootdown of each call that
        unmapped a resident page."""
        ns = calls * self.scavenge_ns_per_call + resident_pages * self.scavenge_ns_per_page
        if beside:
            ns += resident_calls * self.tlb_shootdown_ns
        return ns

    def first_touch_ns(self, pages: int) -> float:
        """Page faults: pages written for the first time since the OS gave them."""
        return pages * self.page_fault_ns

    def span_scan_ns(self, heap_inuse: int) -> float:
        """Go 1.27's price of a unit of span-scan work (Green Tea) at this heap size."""
        return self.by_heap(
            self.span_scan_ns_per_byte,
            self.span_scan_ns_per_byte_cold,
            heap_inuse,
            self.mark_llc_bytes,
        )

    def mark_costs(self, heap_inuse: int, go18: bool) -> tuple[float, float]:
        """(ns per scan byte, ns per object marked) for a cycle at this heap size."""
        obj_cold = self.mark_ns_per_object_cold_go18 if go18 else self.mark_ns_per_object_cold_go127
        llc = self.mark_llc_bytes
        obj = self.by_heap(self.mark_ns_per_object, obj_cold, heap_inuse, llc)
        scan = self.by_heap(self.scan_ns_per_byte, self.scan_ns_per_byte_cold, heap_inuse, llc)
        return scan, obj

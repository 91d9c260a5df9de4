"""Sweeping in Go 1.27 (``mgcsweep.go``): sweepone, mspan.sweep, proportional sweep.

What the Go code does
---------------------
* **Generations.** ``mheap.sweepgen`` grows by 2 at every mark termination
  (``gcSweep``). A span's ``sweepgen`` says where it is: ``sg-2`` needs
  sweeping, ``sg-1`` is being swept, ``sg`` is swept, ``sg+1`` was cached
  before the sweep began (stale), ``sg+3`` was cached after it. A sweeper
  claims a span by moving it from ``sg-2`` to ``sg-1`` (``tryAcquire``).
* **activeSweep** counts sweepers in progress in the low bits of ``state``
  and sets ``sweepDrainedMask = 1<<31`` once the unswept span sets are
  empty. ``begin`` fails once drained; ``isDone`` is ``state ==
  sweepDrainedMask``. ``gcinit`` starts it drained (nothing to sweep before
  the first cycle); ``gcSweep`` resets it to 0.
* **sweepone** takes the next unswept span (``nextSpanForSweep``: span
  classes in order, for each the *full* unswept set before the *partial*
  one, from the cursor ``sweep.centralIndex``), claims it and sweeps it; a
  span that went back to the heap adds its pages to ``reclaimCredit``. The
  sweeper that finds nothing left marks the sweep drained and readies the
  background scavenger (``scavenger.ready``).
* **mspan.sweep** (``sweepLocked.sweep``): specials of unmarked objects --
  a finalizer resurrects its object for one more cycle (mark bit set) and
  is queued, a profile record is freed (kept when the object has a
  finalizer); Green Tea's inline marks are merged into ``gcmarkBits``
  (``moveInlineMarks``) and the inline bits reset; a marked-but-free object
  is a zombie (throw); ``nalloc = popcount(marks)``, ``nfreed = allocCount
  - nalloc``; ``allocBits = gcmarkBits``, fresh ``gcmarkBits``,
  ``freeindex = 0``; ``sweepgen = sg``. Small spans: ``smallFreeCount +=
  nfreed``, ``totalFree += nfreed*elemsize``, ``needzero`` if anything was
  freed; an empty span goes back to the heap, a full one to ``fullSwept``,
  the rest to ``partialSwept`` (unless ``preserve``: mcentral.cacheSpan
  keeps it). Large spans: a dead object frees the span (``largeFree``,
  ``largeFreeCount``), a live one goes to ``fullSwept``.
* **Proportional sweep**: ``gcPaceSweeper(trigger)`` (from
  ``gcControllerCommit``) sets ``sweepPagesPerByte = (pagesInUse -
  pagesSwept) / (trigger - heapLive - 1 MiB)`` (distance at least a page)
  with the bases ``sweepHeapLiveBasis = heapLive`` and ``pagesSweptBasis``;
  ``deductSweepCredit(spanBytes, callerPages)``, before every span
  allocation, sweeps until ``pagesSwept - basis >= sweepPagesPerByte *
  (heapLive - liveBasis + spanBytes) - callerPages``.
* **finishsweep_m** (sweep termination, world stopped) sweeps whatever is
  left, resets the (now empty) unswept sets, wakes the scavenger and starts
  a new gcBits epoch.

What the model simplifies
-------------------------
One thread: no CAS loops; a sweeper "acquires" a span by the same sweepgen
test. Green Tea's inline marks are merged into ``gcmarkBits`` *before* the
specials are examined (Go does it after, testing the inline bits directly;
the marks seen are the same). Every sweep tells the heap's
``sweepCost(span)`` hook, through which the collector charges the sweep to
the virtual clock (or to a background P). ``gcCleanups.flush`` at the end
of sweeping has nothing to flush (cleanups are not modelled).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.errors import RuntimeThrow

# Finalizers resurrect, the rest are freed: the same walk as Go 1.8's.
from goheap.runtime.common.mgcsweep import sweepSpecials
from goheap.runtime.go127.mspan import mSpanInUse

if TYPE_CHECKING:
    from goheap.runtime.go127.mheap import MHeap
    from goheap.runtime.go127.mspan import MSpan

sweepDrainedMask: Final = 1 << 31
sweepClassDone: Final = 0xFFFFFFFF
_PageShift: Final = 13
_PageSize: Final = 1 << _PageShift


class ActiveSweep:
    """``activeSweep``: sweepers in progress plus the drained bit."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = sweepDrainedMask  # gcinit: no sweep in the first cycle

    def begin(self) -> bool:
        """Register a sweeper; False (no sweeping allowed) once drained."""
        if self.state & sweepDrainedMask:
            return False
        self.state += 1
        return True

    def end(self) -> None:
        """A sweeper that ``begin`` admitted is done."""
        if (self.state & ~sweepDrainedMask) == 0:
            raise RuntimeThrow("mismatched begin/end of activeSweep")
        self.state -= 1

    def markDrained(self) -> bool:
        """Set the drained bit; False if it was already set."""
        if self.state & sweepDrainedMask:
            return False
        self.state |= sweepDrainedMask
        return True

    def sweepers(self) -> int:
        return self.state & ~sweepDrainedMask

    def isDone(self) -> bool:
        return self.state == sweepDrainedMask

    def reset(self) -> None:
        self.state = 0


class SweepData:
    """``sweep`` (``sweepdata``): the sweeper's global state."""

    def __init__(self) -> None:
        self.active = ActiveSweep()
        self.centralIndex = 0  # sweepClass cursor for nextSpanForSweep
        self.parked = True  # the background sweeper waits for the first cycle


# --- finding and sweeping spans -------------------------------------------------


def nextSpanForSweep(h: MHeap) -> MSpan | None:
    """Pop the next unswept span: span classes in order, full before partial."""
    sweep = h.sweep
    idx = 1 - h.sweepgen // 2 % 2  # which of partial[]/full[] is unswept
    central = h.central
    n = len(central) << 1
    sc = sweep.centralIndex
    while sc < n:
        c = central[sc >> 1]
        s = (c.partial if sc & 1 else c.full)[idx].pop()
        if s is not None:
            if sc > sweep.centralIndex:
                sweep.centralIndex = sc
            return s
        sc += 1
    sweep.centralIndex = sweepClassDone
    return None


def sweepone(h: MHeap) -> int:
    """Sweep one unswept span: the pages it returned to the heap, or -1 (``^uintptr(0)``)."""
    active = h.sweep.active
    if not active.begin():
        return -1
    sg = h.sweepgen
    npages = -1
    noMoreWork = False
    while True:
        s = nextSpanForSweep(h)
        if s is None:
            noMoreWork = active.markDrained()
            break
        if s.state != mSpanInUse:
            # Swept already by someone who found it through another route
            # (the reclaimer, mcentral); its entry here is stale.
            if not (s.sweepgen == sg or s.sweepgen == sg + 3):
                raise RuntimeThrow(
                    f"non in-use span in unswept list: state {s.state} sweepgen {s.sweepgen}/{sg}"
                )
            continue
        if s.sweepgen == sg - 2:
            s.sweepgen = sg - 1
            npages = s.npages
            if sweepSpan(h, s, False):
                h.reclaimCredit += npages
            else:
                npages = 0
            break
    active.end()
    if noMoreWork:
        h.hooks.onSweepDrained()
    return npages


def ensureSwept(h: MHeap, s: MSpan) -> None:
    """``mspan.ensureSwept``: sweep s now unless it is swept (or cached) already."""
    sg = h.sweepgen
    active = h.sweep.active
    if active.begin():
        if s.sweepgen == sg - 2:
            s.sweepgen = sg - 1
            sweepSpan(h, s, False)
            active.end()
            return
        active.end()
    if s.sweepgen == sg or s.sweepgen == sg + 3:
        return
    raise RuntimeThrow(f"ensureSwept: {s!r} is being swept (sweepgen {s.sweepgen}/{sg})")


def sweepSpan(h: MHeap, s: MSpan, preserve: bool) -> bool:
    """``sweepLocked.sweep``: free s's unmarked objects; True if s went back to the heap.

    The span must be claimed (``sweepgen == h.sweepgen - 1``).
    """
    sweepgen = h.sweepgen
    if s.state != mSpanInUse or s.sweepgen != sweepgen - 1:
        raise RuntimeThrow(
            f"mspan.sweep: bad span state {s.state} sweepgen {s.sweepgen}/{sweepgen}"
        )
    h.pagesSwept += s.npages
    spc = s.spanclass
    size = s.elemsize
    nelems = s.nelems

    # Green Tea: merge the span's inline marks into gcmarkBits and reset them.
    if h.heapBits.gcUsesSpanInlineMarkBits(size):
        moveInlineMarks(h, s)

    if s.specials is not None:
        sweepSpecials(h, s, size)

    marks = s.gcmarkBits & ((1 << nelems) - 1)
    allocated = s.allocBits | ((1 << s.freeindex) - 1)
    if marks & ~allocated:
        zombie = marks & ~allocated
        i = (zombie & -zombie).bit_length() - 1
        raise RuntimeThrow(
            f"found pointer to free object: marked free object {s.startAddr + i * size:#x} "
            f"in span {s!r}"
        )
    nalloc = marks.bit_count()
    nfreed = s.allocCount - nalloc
    if nalloc > s.allocCount:
        raise RuntimeThrow(
            f"sweep increased allocation count: nelems {nelems} nalloc {nalloc} "
            f"previous allocCount {s.allocCount}"
        )
    s.allocCount = nalloc
    s.freeindex = 0
    s.freeIndexForScan = 0
    s.allocBits = marks
    s.gcmarkBits = 0
    h.gcbits.newMarkBits(nelems)
    s.deadBits &= marks  # lifetime mode: freed slots start alive
    s.refillAllocCache(0)
    s.sweepgen = sweepgen
    h.hooks.sweepCost(s)

    ctl = h.controller
    st = h.stats
    if spc >> 1 != 0:
        if nfreed > 0:
            s.needzero = 1
            st.heapStats.smallFreeCount[spc >> 1] += nfreed
            ctl.totalFree += nfreed * size
            st.heap_alloc_now -= nfreed * size
        if not preserve:
            if nalloc == 0:
                h.freeSpan(s)
                return True
            c = h.central[spc]
            if nalloc == nelems:
                c.fullSwept(sweepgen).push(s)
            else:
                c.partialSwept(sweepgen).push(s)
    elif not preserve:
        if nfreed != 0:
            st.heapStats.largeFreeCount += 1
            st.heapStats.largeFree += size
            ctl.totalFree += size
            st.heap_alloc_now -= size
            h.freeSpan(s)
            return True
        h.central[spc].fullSwept(sweepgen).push(s)
    return False


def moveInlineMarks(h: MHeap, s: MSpan) -> None:
    """``mspan.moveInlineMarks``: OR the inline ``marks`` into gcmarkBits, reset the bits."""
    mem = h.mem
    imb = h.heapBits.spanInlineMarkBitsFromBase(s.startAddr) - mem.arena_start
    n = h.inlineMarkBitsBytes
    half = n // 2
    marks = int.from_bytes(mem.bytes[imb + half : imb + n - 1], "little")
    if marks:
        s.gcmarkBits |= marks
    # init(class, needzero=true): the bits are dirty now.
    mem.bytes[imb : imb + n] = bytes(n)
    mem.bytes[imb + n - 1] = s.spanclass
    mem.touch_range(imb + mem.arena_start, n)


# --- pacing ---------------------------------------------------------------------------


def deductSweepCredit(h: MHeap, spanBytes: int, callerSweepPages: int) -> None:
    """Proportional sweep before allocating ``spanBytes`` (see the module doc)."""
    if h.sweepPagesPerByte == 0:
        return
    ctl = h.controller
    while True:
        sweptBasis = h.pagesSweptBasis
        live = ctl.heapLive
        liveBasis = h.sweepHeapLiveBasis
        newHeapLive = spanBytes
        if liveBasis < live:
            newHeapLive += live - liveBasis
        pagesTarget = int(h.sweepPagesPerByte * float(newHeapLive)) - callerSweepPages
        retry = False
        while pagesTarget > h.pagesSwept - sweptBasis:
            if sweepone(h) == -1:
                h.sweepPagesPerByte = 0.0
                break
            if h.pagesSweptBasis != sweptBasis:
                retry = True  # sweep pacing changed: recompute the debt
                break
        if not retry:
            return


def gcPaceSweeper(h: MHeap, trigger: int) -> None:
    """Set the proportional-sweep ratio so sweeping ends by the next trigger."""
    if h.isSweepDone():
        h.sweepPagesPerByte = 0.0
        return
    heapLiveBasis = h.controller.heapLive
    heapDistance = trigger - heapLiveBasis - (1 << 20)
    if heapDistance < _PageSize:
        heapDistance = _PageSize
    pagesSwept = h.pagesSwept
    sweepDistancePages = h.pagesInUse - pagesSwept
    if sweepDistancePages <= 0:
        h.sweepPagesPerByte = 0.0
    else:
        h.sweepPagesPerByte = float(sweepDistancePages) / float(heapDistance)
        h.sweepHeapLiveBasis = heapLiveBasis
        h.pagesSweptBasis = pagesSwept


def finishsweep_m(h: MHeap) -> None:
    """Sweep termination: sweep what is left, reset the unswept sets, new gcBits epoch."""
    while sweepone(h) != -1:
        pass
    if h.sweep.active.sweepers() != 0:
        raise RuntimeThrow("active sweepers found at start of mark phase")
    sg = h.sweepgen
    for c in h.central:
        c.partialUnswept(sg).reset()
        c.fullUnswept(sg).reset()
    h.hooks.onSweepTermination()
    h.gcbits.nextMarkBitArenaEpoch()

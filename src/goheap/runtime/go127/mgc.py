"""The collector's side of allocation in Go 1.27 (``mgc.go``), GC off.

What the Go code does
---------------------
mallocgc asks the collector three things: whether it is marking
(``gcphase``, ``writeBarrier.enabled``: allocate black), whether to assist
(``gcBlackenEnabled``), and -- after every span refill and every large
allocation -- whether a cycle is due: ``gcTrigger{kind: gcTriggerHeap}.test()``
is ``heapLive >= trigger`` (``gcController.trigger()``), false while a
cycle runs or GC is disabled; if so ``gcStart``. ``runtime.GC``,
``debug.FreeOSMemory`` and ``debug.SetGCPercent`` drive cycles directly.

What the model does now
-----------------------
The go1.27 collector (mark, Green Tea span scanning, sweep, the scavenger)
is not modelled yet. This class holds what allocation needs -- the phase
(always ``_GCoff``), the pacer (``GCControllerState``, which keeps
heapLive, the heap goal and the page-heap byte counts) -- and the entry
points the collector will fill: a due cycle, ``runtime.GC`` and friends
raise a one-line ``GoheapError``. With ``GOGC=off`` and no memory limit
the trigger is never reached (the goal is the memory-limit goal of
``MaxInt64``), so allocation-only programs run exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from goheap.errors import GoheapError
from goheap.runtime.go127.mgcpacer import GCControllerState

if TYPE_CHECKING:
    from goheap.runtime.clock import Clock

_GCoff: Final = 0
_GCmark: Final = 1
_GCmarktermination: Final = 2

NOT_MODELLED: Final = (
    "go1.27: the collector is not modelled yet (only allocation is); "
    "run this profile with gogc='off'"
)


class GC:
    """gcController, gcphase and the GC entry points of one go1.27 runtime."""

    def __init__(self, controller: GCControllerState, clock: Clock, procs: int) -> None:
        self.controller = controller
        self.clock = clock
        self.procs = procs
        self.gcphase = _GCoff
        self.gcBlackenEnabled = 0
        self.enablegc = True
        # What the go1.8 collector offers the facade and run reports.
        self.gcAssistBytes = 0
        self.gctrace: Callable[[str], None] | None = None
        self.on_sample: Callable[..., None] | None = None
        self.cycles: list[object] = []
        self.start_ns = clock.now

    def heapTriggerTest(self) -> bool:
        """``gcTrigger{kind: gcTriggerHeap}.test()``."""
        if not self.enablegc or self.gcphase != _GCoff:
            return False
        trigger, _ = self.controller.trigger()
        return self.controller.heapLive >= trigger

    def gcStart(self) -> None:
        """``gcStart``: a cycle is due."""
        raise GoheapError(
            f"{NOT_MODELLED} (heapLive {self.controller.heapLive} reached the GC trigger)"
        )

    def runtime_GC(self) -> None:
        raise GoheapError(NOT_MODELLED)

    def mutator_ran(self, ns: int) -> None:
        """The mutator ran for ns of virtual time (nothing in the background yet)."""
        self.clock.advance(ns)

    def idle(self, ns: int) -> None:
        """Idle virtual time: with no cycle and no scavenging goal, nothing runs."""
        self.clock.advance(ns)

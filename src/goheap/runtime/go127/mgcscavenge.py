"""The background scavenger goroutine of Go 1.27 (``mgcscavenge.go`` ``bgscavenge``).

What the Go code does
---------------------
``bgscavenge`` parks after start-up. It is woken at every sweep
termination (``finishsweep_m`` -> ``scavenger.wake``) and, after the last
sweeper marks sweeping drained (``scavenger.ready``), by sysmon. Each turn
(``scavengerState.run``) releases 64 KiB quanta
(``pages.scavenge(quantum, nil, false)``: the highest free, unscavenged
pages of chunks the scavenge index allows, dense chunks left alone for a
cycle) until it has worked 1 ms, the goals are met (``shouldStop``: retained
heap below the GOGC retention goal and mapped memory below 95 % of the
memory limit), or nothing is left; a turn that released nothing parks,
otherwise it sleeps ``worked / sleepRatio`` (a PI controller steers the
scavenger's CPU share to 1 %). A wake ends a sleep early. The goals and the
controller are :mod:`goheap.runtime.go127.scavenge_goal`'s.

What the model simplifies
-------------------------
The scavenger runs beside the mutator: its work does not take the
mutator's virtual time. Its working time is ``scavenge_ns_per_page`` per
physical page released (the profile's figure; Go measures it, or assumes
10 µs per page when it cannot). The timer is a deadline that sysmon
(``GC._sysmon``) checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from goheap.runtime.go127.scavenge_goal import ScavengerState

if TYPE_CHECKING:
    from goheap.runtime.go127.mheap import MHeap

_NEVER: Final = 1 << 62


class BgScavenger:
    """The ``bgscavenge`` goroutine: parked, runnable, or asleep until a deadline."""

    def __init__(self, h: MHeap, ns_per_page: int, procs: int) -> None:
        self.h = h
        self.ns_per_page = ns_per_page
        self.state = ScavengerState(
            self._scavenge,
            self._shouldStop,
            lambda: procs,
            physPageSize=h.profile.phys_page_size,
        )
        self.state.park()  # bgscavenge parks right after start-up
        self.runnable = False
        self.sleeping = False
        self.sleep_start = 0
        self.wake_at = _NEVER
        self.worked = 0.0
        self.turns = 0

    def _scavenge(self, n: int) -> tuple[int, int]:
        h = self.h
        released = h.pages.scavenge(n, None, False)
        ns = (released // h.profile.phys_page_size) * self.ns_per_page
        h.scavenge.backgroundTime += ns
        return released, ns

    def _shouldStop(self) -> bool:
        ctl = self.h.controller
        return self.h.scavenge.shouldStop(ctl.heapRetained(), ctl.mappedReady)

    def ready(self) -> None:
        """Sweeping is done: ask sysmon to wake the scavenger."""
        self.state.ready()

    def wake(self, now: int) -> None:
        """``scavengerState.wake``: unpark, ending a sleep early."""
        st = self.state
        if not st.parked:
            return
        st.wake()
        if self.sleeping:
            self.sleeping = False
            self.wake_at = _NEVER
            st.finishSleep(self.worked, max(now - self.sleep_start, 0))
        self.runnable = True

    def next_event(self) -> int:
        if self.runnable or self.state.sysmonWake:
            return 0
        return self.wake_at

    def poll(self, now: int) -> None:
        """sysmon's look at the scavenger: wake it if asked, run it while it has work."""
        st = self.state
        if st.sysmonWake:
            self.wake(now)
        if self.sleeping and now >= self.wake_at:
            self.wake(now)
        if not self.runnable:
            return
        self.runnable = False
        released, worked = st.run()
        self.turns += 1
        if released == 0:
            st.park()
            return
        st.releasedBg += released
        self.h.pages.releasedBg += released
        worked, sleepTime = st.beginSleep(worked)
        self.worked = worked
        st.parked = True  # asleep on its timer: a wake ends the sleep
        self.sleeping = True
        self.sleep_start = now + int(worked)  # the turn ran in the background
        self.wake_at = self.sleep_start + sleepTime

"""When sysmon preempts a goroutine that runs without a break (proc.go ``sysmon``, ``retake``).

sysmon is the runtime's monitor thread. It wakes, looks at every P, and
sleeps again: 20 us at a time for its first 50 rounds in which it retakes
nothing, then twice as long each round, up to 10 ms (``usleep(delay)``). A
preemption does not count as a retake (``retake`` returns only the Ps it
took from system calls), so with a busy mutator the rounds settle at one
per 10 ms after about 21 ms.

At each round ``retake`` compares every running P's ``schedtick`` with the
one it saw last round. A changed tick means the P scheduled since: sysmon
notes the round's time (``schedwhen``). An unchanged one that was noted at
least ``forcePreemptNS`` (10 ms) ago is preempted. So a goroutine is
preempted not 10 ms after it was scheduled, but at the first round 10 ms
after the round that first saw it: on the 10 ms rhythm, 10 to 20 ms after
it was scheduled, 20 ms when it runs on from a preemption.

While every P is idle sysmon sleeps until the next timer (``npidle ==
gomaxprocs``); it wakes when the program does and goes on from there with
the delay it had (``rephase``).

A round lasts longer than its delay: the kernel wakes a sleeper late
(timer slack, the wake-up itself) and the round's own work takes a few
microseconds more. The model gives each round its delay plus
``slack_ns + slack_per_ns * delay`` (CostModel's ``usleep_slack_ns`` and
``usleep_slack_per_ns``, measured: docs/model.md, "The clock"), so a busy
program's preemptions come every 20.3 ms, as on the measuring machine, and
drift against a program's work as Go's do. ``Sysmon(start)`` without them
keeps the exact grid of the delays alone.

The runtime starts sysmon before ``main.main``; how long before, and so
where its rounds fall against the program's work, differs from run to run.
By default the ramp starts when the clock does; ``phase`` starts it that
many ns earlier (``Heap(sysmon_phase=...)``), for a run at another of the
places real runs fall (``goheap validate --phases``).
"""

from __future__ import annotations

from bisect import bisect_right
from functools import cache
from typing import Final

#: retake's limit on a goroutine's time slice (proc.go).
forcePreemptNS: Final = 10_000_000

_FIRST_DELAY_NS: Final = 20_000  # usleep(20) while idle <= 50
_FAST_ROUNDS: Final = 51  # idle == 0, then 1..50 with the same delay
_MAX_DELAY_NS: Final = 10_000_000  # "up to 10ms"
#: The delay sysmon's rounds settle at (usleep(10 ms)); each such round lasts
#: a little longer (``Sysmon.round_ns``: the delay and its slack).
SYSMON_ROUND_NS: Final = _MAX_DELAY_NS


def _round_ns(delay_ns: int, slack_ns: int, slack_per_ns: float) -> int:
    """How long a round with this usleep delay lasts: the delay, late by the slack."""
    return delay_ns + slack_ns + round(slack_per_ns * delay_ns)


@cache
def _ramp(slack_ns: int, slack_per_ns: float) -> tuple[int, ...]:
    """The offsets of sysmon's first rounds from its start, until the delay is 10 ms."""
    ticks: list[int] = []
    t = 0
    delay = _FIRST_DELAY_NS
    for _ in range(_FAST_ROUNDS):
        t += _round_ns(delay, slack_ns, slack_per_ns)
        ticks.append(t)
    while delay < _MAX_DELAY_NS:
        delay = min(delay * 2, _MAX_DELAY_NS)
        t += _round_ns(delay, slack_ns, slack_per_ns)
        ticks.append(t)
    return tuple(ticks)


#: Sysmon's fields that only cache preempt_at's last answer (not state: a
#: fast-forward through idle cycles leaves them out, profiles.fastforward).
CACHE_FIELDS: Final = ("_answer", "_asked", "_answer2", "_asked2", "_asked_origin")


class Sysmon:
    """sysmon's rounds: where they fall, and when a running goroutine is preempted."""

    __slots__ = (
        "_answer",
        "_answer2",
        "_asked",
        "_asked2",
        "_asked_origin",
        "_ramp",
        "origin",
        "ramped",
        "round_ns",
    )

    def __init__(
        self, start: int, phase: int = 0, slack_ns: int = 0, slack_per_ns: float = 0.0
    ) -> None:
        start -= phase  # sysmon began its rounds phase ns before the clock's start
        self._ramp = _ramp(slack_ns, slack_per_ns)  # the first rounds' offsets
        self.round_ns = _round_ns(_MAX_DELAY_NS, slack_ns, slack_per_ns)  # then each round
        self.origin = start  # when the rounds (re)started
        self.ramped = False  # the delay is already 10 ms at origin (after rephase)
        # The last two preempt_at questions and their answers: once its slice
        # is 10 ms old a one-P mutator asks at every allocation, for its own
        # schedule and (Go 1.8) for bgsweep's; an answer changes only with the
        # question or the rounds.
        self._asked = -1
        self._answer = 0
        self._asked2 = -1
        self._answer2 = 0
        self._asked_origin = start

    def round_after(self, t: int) -> int:
        """The first sysmon round strictly after t."""
        off = t - self.origin
        step = self.round_ns
        if not self.ramped:
            ramp = self._ramp
            last = ramp[-1]
            if off < last:
                return self.origin + ramp[bisect_right(ramp, off)]
            return self.origin + last + (((off - last) // step) + 1) * step
        return self.origin + ((off // step) + 1) * step

    def preempt_at(self, scheduled: int) -> int:
        """When retake preempts a goroutine scheduled at ``scheduled`` that runs on.

        The first round after the schedule notes it (``schedwhen``); the first
        round at least forcePreemptNS after that one preempts.
        """
        if self.origin == self._asked_origin:
            if scheduled == self._asked:
                return self._answer
            if scheduled == self._asked2:
                return self._answer2
        else:  # the rounds moved (rephase): both answers are stale
            self._asked_origin = self.origin
            self._asked = self._asked2 = -1
        noted = self.round_after(scheduled)
        answer = self.round_after(noted + forcePreemptNS - 1)
        self._asked2, self._answer2 = self._asked, self._answer
        self._asked, self._answer = scheduled, answer
        return answer

    def rephase(self, t: int) -> None:
        """Every P was idle until t: sysmon slept until then and goes on from t."""
        if t <= self.origin:
            return
        if not self.ramped and t - self.origin < self._ramp[-1]:
            return  # still in its first rounds: it does not sleep that long
        self.origin = t
        self.ramped = True

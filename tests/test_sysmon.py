"""sysmon's rounds and preemption (proc.go sysmon, retake), for both profiles."""

from __future__ import annotations

import itertools

import pytest

from goheap import Heap
from goheap.errors import GoheapError
from goheap.runtime.common.gotype import POINTER
from goheap.runtime.common.sysmon import Sysmon, forcePreemptNS

US = 1_000
MS = 1_000_000


def test_first_rounds_are_20us_then_the_delay_doubles_to_10ms() -> None:
    """usleep(20) while idle <= 50 (51 rounds), then 40, 80, ... 10240 capped at 10000 us."""
    s = Sysmon(0)
    rounds = [s.round_after(-1)]
    while len(rounds) < 64:
        rounds.append(s.round_after(rounds[-1]))
    gaps = [b - a for a, b in zip([0, *rounds], rounds, strict=False)]
    assert gaps[:51] == [20 * US] * 51
    assert gaps[51:60] == [
        40 * US,
        80 * US,
        160 * US,
        320 * US,
        640 * US,
        1280 * US,
        2560 * US,
        5120 * US,
        10_000 * US,
    ]
    assert gaps[60:] == [10 * MS] * 4
    assert rounds[58] == 51 * 20 * US + (40 + 80 + 160 + 320 + 640 + 1280 + 2560 + 5120) * US


def test_each_round_is_late_by_the_slack_and_its_share_of_the_delay() -> None:
    """usleep(d) returns late: a round lasts d + slack + slack_per_ns * d."""
    s = Sysmon(0, 0, 66 * US, 0.01)
    rounds = [s.round_after(-1)]
    while len(rounds) < 62:
        rounds.append(s.round_after(rounds[-1]))
    gaps = [b - a for a, b in zip([0, *rounds], rounds, strict=False)]
    assert gaps[:51] == [20 * US + 66 * US + 200] * 51
    assert gaps[51] == 40 * US + 66 * US + 400
    assert gaps[58] == 5120 * US + 66 * US + 51_200
    assert gaps[59:] == [10 * MS + 66 * US + 100 * US] * 3 == [s.round_ns] * 3
    # Past the ramp a busy goroutine is preempted every two rounds, and rephase
    # restarts the settled rounds where the program woke.
    settled = rounds[-1]
    assert s.preempt_at(settled) == settled + 2 * s.round_ns
    s.rephase(settled + 5 * MS)
    assert s.round_after(settled + 5 * MS) == settled + 5 * MS + s.round_ns


def test_a_busy_goroutine_is_preempted_at_the_second_round_after_it_was_scheduled() -> None:
    s = Sysmon(0)
    settled = s.round_after(s.round_after(25 * MS))  # past the ramp: a round every 10 ms
    # Scheduled just after a round: noted at the next (10 ms on), preempted 10 ms later.
    assert s.preempt_at(settled + 1) == settled + 20 * MS
    # Scheduled just before a round: noted at once, preempted at the following round.
    assert s.preempt_at(settled - 1) == settled + 10 * MS
    # Running on from a preemption (scheduled at a round): every 20 ms.
    assert s.preempt_at(settled) == settled + 20 * MS
    for t in range(settled, settled + 10 * MS, 997 * US):
        assert forcePreemptNS <= s.preempt_at(t) - t <= 2 * forcePreemptNS


def test_during_the_ramp_the_preemption_is_the_first_round_10ms_after_the_noting_one() -> None:
    s = Sysmon(0)
    # Scheduled at 0: noted at 20 us; the first round at or after 10.02 ms is
    # the one at 1.02 + 0.04 + 0.08 + ... + 5.12 ms = 11.22 ms.
    assert s.preempt_at(0) == 11_220 * US


def test_rephase_moves_the_rounds_to_where_the_program_woke() -> None:
    s = Sysmon(0)
    s.rephase(1_000 * MS + 123)
    assert s.round_after(1_000 * MS + 123) == 1_010 * MS + 123
    assert s.preempt_at(1_000 * MS + 123) == 1_020 * MS + 123
    s2 = Sysmon(0)
    s2.rephase(5 * MS)  # still in its first rounds: it never slept that long
    assert s2.round_after(0) == 20 * US


def test_a_phase_starts_the_rounds_that_much_earlier() -> None:
    """Sysmon(start, phase): the runtime started sysmon phase ns before the clock."""
    plain = Sysmon(0)
    for phase in (1, 20 * US, 3_333_333, 9_999 * US):
        s = Sysmon(0, phase)
        for t in (0, 500 * US, 11 * MS, 25 * MS, 1_000 * MS + 7):
            assert s.round_after(t) == plain.round_after(t + phase) - phase
    # Past the ramp a phase of one whole round (10 ms) puts the rounds back in place.
    assert Sysmon(0, 10 * MS).round_after(40 * MS + 1) == plain.round_after(40 * MS + 1)


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_heap_sysmon_phase_moves_the_preemptions(profile: str) -> None:
    """Heap(sysmon_phase=) reaches sysmon: a one-P mutator's 20 ms slices keep their
    length and move by the phase; a negative phase is one clear error."""
    starts: dict[int, list[int]] = {}
    for phase in (0, 4 * MS):
        with Heap(profile=profile, gogc="off", sysmon_phase=phase) as h:
            gc = h.gc_
            gc.mutator_ran(40 * MS)
            seen = []
            for _ in range(600):
                before = gc.slice_start
                gc.mutator_ran(100 * US)
                if gc.slice_start != before:
                    seen.append(gc.slice_start - h.clock.start)
            starts[phase] = seen
    # The mutator notices a preemption at its next step (100 us here).
    period = 2 * h.gc_.sysmon.round_ns
    for a, b in itertools.pairwise(starts[4 * MS]):
        assert abs(b - a - period) < 100 * US
    for a, b in zip(starts[0], starts[4 * MS], strict=False):
        assert abs((a - b) % (period // 2) - 4 * MS) < 100 * US
    with pytest.raises(GoheapError, match="sysmon_phase must be >= 0 ns"):
        Heap(profile=profile, sysmon_phase=-1)


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_a_one_p_mutator_is_preempted_every_20ms_not_10(profile: str) -> None:
    """With GOGC=off nothing else schedules: the slices sysmon gives are two rounds
    long, 20.3 ms: the sysmon probe's live runs (tests/oracle/calibrate/sysmon,
    Go 1.27.3 and Go 1.8, 10 quiet runs each) were preempted every 20.22-20.40 ms
    (10th to 90th percentile of each runtime's 260 periods)."""
    with Heap(profile=profile, gogc="off") as h:
        gc = h.gc_
        gc.mutator_ran(40 * MS)  # past the ramp
        starts = []
        for _ in range(1000):  # 100 ms in steps of 100 us
            before = gc.slice_start
            gc.mutator_ran(100 * US)
            if gc.slice_start != before:
                starts.append(gc.slice_start)
        assert len(starts) >= 4
        for a, b in itertools.pairwise(starts):  # noticed at the next 100 us step
            assert abs(b - a - 2 * gc.sysmon.round_ns) < 100 * US
        assert 20_220 * US <= 2 * gc.sysmon.round_ns <= 20_400 * US


def test_go127_mark_termination_is_not_a_scheduling_point() -> None:
    """The goroutine that ends the mark runs on: its slice goes on counting (mgc.go)."""
    with Heap(profile="go1.27", gogc=100) as h:
        gc = h.gc_
        keep = []
        while len(h.cycles) < 3:
            keep.append(h.malloc(4096))
            keep = keep[-100:]
        start = gc.slice_start
        n = len(h.cycles)
        while len(h.cycles) == n:
            keep.append(h.malloc(4096))
            keep = keep[-100:]
        assert gc.slice_start == start or gc.clock.now >= gc.sysmon.preempt_at(start)


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_an_assist_stops_at_sysmons_preemption_and_the_worker_gets_the_p(profile: str) -> None:
    """gcDrainN stops at gp.preempt; with debt left the goroutine yields (Gosched), and on
    one P the fractional worker runs before the assist tries again (mgcmark.go)."""
    with Heap(profile=profile, gogc=100) as h:
        gc = h.gc_
        keep = h.make(POINTER, 120_000)  # 960 KB of scan work a cycle
        h.g.push(keep)
        i = 1
        while gc.gcphase == 0:
            h.write_pointer(keep, 8 * i, h.malloc(64))
            i += 1
        gc.ns_per_work = 1_000.0  # an assist's 64 KiB of scan work now takes 65 ms
        deadline = gc.sysmon.preempt_at(gc.slice_start)
        frac = gc.controller.fractionalMarkTime
        gc.gcAssistBytes = -(100 << 20)  # more debt than the drain to the deadline pays
        gc.gcAssistAlloc()
        assert gc.controller.fractionalMarkTime > frac  # the worker ran
        assert gc.slice_start >= deadline  # from sysmon's preemption on

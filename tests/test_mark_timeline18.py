"""benchmarks/mark_timeline18.py: the prints it patches into Go 1.8's runtime, and its reading."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.benchmark_scripts import load_benchmark


def _module() -> ModuleType:
    return load_benchmark("mark_timeline18")


# The anchors as Go 1.8's mgcmark.go and mgc.go have them (one each).
MGCMARK_LIKE = """package runtime

func gcAssistAlloc(gp *g) {
\t\tatomic.Xaddint64(&gcController.bgScanCredit, -stolen)
\t\tif !gcParkAssist() {
\t\t\tgoto retry
\t\t}
}

func gcAssistAlloc1(gp *g, scanWork int64) {
\tworkDone := gcDrainN(gcw, scanWork)
}
"""
MGC_LIKE = """package runtime

func gcMarkDone() {
\t\t// Transition from mark 1 to mark 2.
\t\t// Transition to mark termination.
}

func gcBgMarkWorker(_p_ *p) {
\t\tduration := nanotime() - startTime
}
"""


def test_the_patch_prints_every_event_once() -> None:
    m = _module()
    mark = m.patch("mgcmark.go", MGCMARK_LIKE)
    for event in ("ASSIST", "STEAL", "PARK"):
        assert mark.count(f'print("{event} "') == 1
    assert mark.index('print("PARK "') < mark.index("if !gcParkAssist()")
    mgc = m.patch("mgc.go", MGC_LIKE)
    for event in ("MARK2", "TERM", "W"):
        assert mgc.count(f'print("{event} "') == 1
    assert "gcController.markStartTime" in mgc


def test_a_runtime_without_the_anchors_is_refused() -> None:
    with pytest.raises(SystemExit, match="anchor not found"):
        _module().patch("mgc.go", "package runtime\n")


def test_cycles_are_read_from_the_runtimes_lines() -> None:
    stderr = "\n".join(
        [
            "ASSIST 81 18584 65536 17 17",
            "ASSIST 1447 0 65536 17 17",
            "PARK 1459",
            "W 9 1727 0 2",
            "MARK2 1766",
            "STEAL 1798 65536",
            "TERM 6693",
            "gc 21 @0.147s 7%: 0.060+6.6+0.063 ms clock, 75->101->47 MB, 119 MB goal, 2 P",
            "ASSIST 5 97840 65536 15 14",
            "gc 22 @0.2s 5%: 0.001+0.3+0.002 ms clock, 1->1->0 MB, 4 MB goal, 2 P (forced)",
        ]
    )
    (cycle,) = _module().read_timeline(stderr)
    assert str(cycle["gctrace"]).startswith("gc 21 ")
    assert (cycle["first_assist"], cycle["assists"], cycle["parks"]) == (18584, 2, 1)
    assert (cycle["mark2_us"], cycle["term_us"], cycle["tail_us"]) == (1766, 6693, 4927)
    assert cycle["worker_us"] == 1727

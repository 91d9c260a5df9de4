"""benchmarks/mutator_time.py: the allocation rates outside and inside marks."""

from __future__ import annotations

import math

import pytest

from goheap.calibrate.probes import parse_gctrace
from tests.benchmark_scripts import load_benchmark

#: Four background cycles of Go 1.8's churn twin (-k 100000, GOGC 50, one P) on the
#: Xeon VM, as its gctrace printed them (session 26).
GO18_CHURN = """\
gc 52 @0.829s 15%: 0.002+6.0+0.005 ms clock, 0.002+2.0/1.0/0+0.005 ms cpu, 301->316->221 MB, 331 MB goal, 1 P
gc 53 @0.849s 15%: 0.001+6.2+0.005 ms clock, 0.001+2.1/1.0/0+0.005 ms cpu, 300->316->222 MB, 332 MB goal, 1 P
gc 54 @0.869s 15%: 0.002+6.6+0.005 ms clock, 0.002+2.0/1.0/0+0.005 ms cpu, 298->315->225 MB, 333 MB goal, 1 P
gc 55 @0.889s 15%: 0.002+7.0+0.006 ms clock, 0.002+1.5/1.5/0+0.006 ms cpu, 301->315->225 MB, 338 MB goal, 1 P
"""  # noqa: E501


def test_steady_rates_read_the_second_half_of_the_cycles() -> None:
    off, inside = load_benchmark("mutator_time").steady_rates(parse_gctrace(GO18_CHURN))
    # gc 54 -> gc 55: 225 MB marked, 301 MB at the next start, 889 ms - (869 + 0.002 +
    # 6.6 + 0.005) ms between; gc 54's mark grew 298 -> 315 MB in 6.6 ms less 2.0 ms of
    # assists and 1.0 of workers.
    assert off == pytest.approx((301 - 225) / (889 - 875.607))
    assert inside == pytest.approx((315 - 298) / (6.6 - 3.0))


def test_steady_rates_of_a_run_too_short_are_nan() -> None:
    off, inside = load_benchmark("mutator_time").steady_rates(
        parse_gctrace(GO18_CHURN.splitlines()[0])
    )
    assert math.isnan(off) and math.isnan(inside)

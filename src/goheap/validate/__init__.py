"""Validation against the live Go runtime (``goheap validate``).

The pipeline, one module per step:

(a) ``real``: build the Go twins of the workloads (``toolchain``) and run
    each N times, caching the runs per Go version, program source and
    parameters;
(b) ``sim``: simulate each workload once, the way its Go twin runs;
(c) ``compare``: set the two side by side, figure by figure (``figures``),
    with verdicts -- exact up to the named ``allowance`` items, or within the
    real runs' spread widened by 5% -- as pure functions;
(d) ``render``: the rich table and the Markdown of docs/fidelity.md.

``harness.run_validation`` runs the steps; ``command.validate`` is the
click command.
"""

from __future__ import annotations

from goheap.validate.compare import Row, compare_case, judge_exact, judge_spread
from goheap.validate.figures import METRICS, Figures, Metric

__all__ = ["METRICS", "Figures", "Metric", "Row", "compare_case", "judge_exact", "judge_spread"]

"""Built-in workloads: small Go programs, re-told against goheap's API.

Each workload declares its parameters (name, type, default, meaning) and a
``run(heap, params)`` that performs the program's allocations. The
registry maps names to workloads; ``parse_params`` turns ``k=v`` strings
into typed values with one-line errors.
"""

from __future__ import annotations

from goheap.workloads.base import Param, Workload, parse_params
from goheap.workloads.binarytrees import BINARYTREES
from goheap.workloads.churn import CHURN
from goheap.workloads.finalizers import FINALIZERS
from goheap.workloads.fragmentation import FRAGMENTATION
from goheap.workloads.large import LARGE
from goheap.workloads.retain import RETAIN
from goheap.workloads.service import SERVICE

WORKLOADS: dict[str, Workload] = {
    w.name: w for w in (BINARYTREES, RETAIN, CHURN, LARGE, FINALIZERS, SERVICE, FRAGMENTATION)
}
DEFAULT_WORKLOAD = "binarytrees"


def get_workload(name: str) -> Workload:
    from goheap.errors import GoheapError

    try:
        return WORKLOADS[name]
    except KeyError:
        raise GoheapError(
            f"unknown workload '{name}' (known: {', '.join(sorted(WORKLOADS))})"
        ) from None


__all__ = ["DEFAULT_WORKLOAD", "WORKLOADS", "Param", "Workload", "get_workload", "parse_params"]

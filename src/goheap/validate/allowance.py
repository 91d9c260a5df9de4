"""Allowances: the Go runtime's own, documented contributions to exact figures.

An "exact" figure must equal the real runtime's in every run. The only
differences accepted are named items below, each a mechanism of the runtime
that was identified and measured (docs/go1.27-notes.md, docs/fidelity.md),
with the amounts it can add to ``real - simulated``. An item may always
contribute nothing (a model that models the mechanism matches exactly);
several items add up. There is no percentage slack anywhere.

The oracle programs remove what they can before their baseline (the
warm-up GC starts the mark workers, a short sleep sets up the P's timer
heap and the netpoller: see tests/oracle/internal/report), so what remains
is:

``finalizer frame`` (workload ``finalizers``; deterministic)
    ``runtime/mfinal.go:runFinalizers`` allocates the argument frame it calls
    finalizers with, ``mallocgc(16, nil, noscan)`` for a ``func(*Obj)``, when
    the first finalizer runs, and keeps it in a local for the life of the
    finalizer goroutine: +1 Mallocs, +16 TotalAlloc, +1 in the 16-byte
    class, and after the GC +1 HeapObjects, +16 HeapAlloc and (when it
    pins a span of its own) +8192 HeapInuse. Measured in every run.

``pre-main spans`` (every workload keeping small objects; deterministic)
    The runtime's own objects from before ``main`` (docs/go1.27-notes.md
    §11) and from the oracle's setup stay live in partly used spans; the
    workload's first objects of such a class fill those spans before fresh
    ones, so its live objects after the GC can occupy one span fewer per
    such class: ``HeapInuse after GC`` may be lower by one span of each
    class that is live in the run's baseline (its ``BySize``) and holds the
    workload's objects after the GC (the model's). Measured: retain with
    10000 x 64 B, fragmentation with 64 B and large (its 128-byte ring),
    one span (8192 B) each, in every run. This is an upper bound, not an
    amount (where the survivors land decides), so a figure it explains is
    reported "within allowance", not "exact".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from goheap.validate.figures import Figures


@dataclass(frozen=True)
class Item:
    """One runtime mechanism and what it can add to ``real - simulated``, per metric."""

    name: str
    why: str
    deterministic: bool
    effects: dict[str, tuple[int, ...]] = field(default_factory=dict)  # metric -> amounts != 0
    bound: bool = False  # True: the amounts are an upper bound, not the mechanism's exact size

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "why": self.why,
            "deterministic": self.deterministic,
            "bound": self.bound,
            "effects": {k: list(v) for k, v in self.effects.items()},
        }


FINALIZER_FRAME = Item(
    name="finalizer frame",
    why=(
        "runtime/mfinal.go runFinalizers: the 16-byte noscan argument frame allocated when "
        "the first finalizer runs, kept by the finalizer goroutine"
    ),
    deterministic=True,
    effects={
        "Mallocs": (1,),
        "TotalAlloc": (16,),
        "BySize[16].Mallocs": (1,),
        "gc.HeapObjects": (1,),
        "gc.HeapAlloc": (16,),
        "gc.HeapInuse": (8192,),
    },
)

# The static items of each workload (pre-main spans are added per run).
ALLOWANCES: dict[str, tuple[Item, ...]] = {"finalizers": (FINALIZER_FRAME,)}
PREMAIN_SPANS = "pre-main spans"


def baseline_live_sizes(doc: dict[str, Any]) -> list[int]:
    """Size classes with objects live at an oracle run's baseline (its absolute BySize)."""
    return [b["Size"] for b in doc["baseline"]["BySize"] if b["Size"] and b["Mallocs"] > b["Frees"]]


def premain_spans(
    runtime_sizes: Iterable[int], workload_sizes: Iterable[int], span_bytes: dict[int, int]
) -> Item | None:
    """The pre-main spans item: one span fewer per class both sides hold live objects in."""
    shared = sorted(set(runtime_sizes) & set(workload_sizes) & set(span_bytes))
    if not shared:
        return None
    sums = {0}
    for size in shared:
        sums |= {s - span_bytes[size] for s in sums}
    sums.discard(0)
    return Item(
        name=PREMAIN_SPANS,
        why=(
            "the runtime's own live objects share spans with the workload's in "
            f"{len(shared)} size class(es) ({', '.join(map(str, shared))} B): "
            "up to one span fewer each"
        ),
        deterministic=True,
        effects={"gc.HeapInuse": tuple(sorted(sums, reverse=True))},
        bound=True,
    )


def items_for(
    workload: str,
    real_docs: Sequence[dict[str, Any]],
    sim: Figures | None,
    span_bytes: dict[int, int],
) -> tuple[Item, ...]:
    """The allowance of one case: its static items plus pre-main spans when they apply."""
    items = list(ALLOWANCES.get(workload, ()))
    if sim is not None and real_docs:
        runtime_sizes: set[int] = set()
        for doc in real_docs:
            runtime_sizes.update(baseline_live_sizes(doc))
        item = premain_spans(runtime_sizes, sim.get("gc.LiveSizes", ()), span_bytes)
        if item is not None:
            items.append(item)
    return tuple(items)


Explained = dict[int, tuple[tuple[str, int], ...]]


def allowed(items: Sequence[Item], metric: str) -> Explained:
    """Every accepted ``real - simulated`` for `metric`, each with the items that make it up."""
    out: Explained = {0: ()}
    for item in items:
        amounts = item.effects.get(metric, ())
        if not amounts:
            continue
        grown = dict(out)
        for total, parts in out.items():
            for a in amounts:
                grown.setdefault(total + a, (*parts, (item.name, a)))
        out = grown
    return out


def describe(parts: Iterable[tuple[str, int]]) -> str:
    """'finalizer frame +1, pre-main spans -16,384…-8,192': the items that explain differences."""
    amounts: dict[str, set[int]] = {}
    for name, amount in parts:
        amounts.setdefault(name, set()).add(amount)
    out = []
    for name, vals in amounts.items():
        lo, hi = min(vals), max(vals)
        out.append(f"{name} {lo:+,}" if lo == hi else f"{name} {lo:+,}…{hi:+,}")
    return ", ".join(out)

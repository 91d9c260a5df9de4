"""Set a simulation beside the real runs: rows with verdicts (pure functions).

Two kinds of figure (goheap.validate.figures):

* **exact**: the simulated value must equal every run's value, up to the
  case's allowance (goheap.validate.allowance): ``real - sim`` must be one
  of the sums its items can make. Verdicts: ``exact``, ``exact (item
  +n)``, ``within allowance (item -n)`` when an upper-bound item was needed,
  or the miss, e.g. ``+12 (+0.4%) above real``. When the real runs
  themselves differ, a simulation matching some of them is ``exact in k/n
  runs (real varies)``, one matching none misses against the nearest run.
* **spread**: the simulated value must lie in ``[min, max]`` of the runs,
  widened by ``WIDEN`` (5%) of ``min`` below and of ``max`` above.
  Verdicts: ``within spread``, ``within spread ±5%``, or ``+12.3% above
  max`` / ``-4.0% below min`` (relative to the runs' max or min).

Status of a row: ``ok``, ``miss``, or ``unavailable`` (no simulation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from goheap.validate.allowance import Explained, Item, allowed, describe
from goheap.validate.figures import EXACT, METRICS, SPREAD, Figures, Metric

WIDEN = 0.05
OK, MISS, UNAVAILABLE = "ok", "miss", "unavailable"


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    workload: str
    metric: str  # figure key
    label: str
    kind: str  # exact | spread
    real: str  # min–max over the runs
    sim: str
    status: str  # ok | miss | unavailable
    verdict: str
    real_values: list[Any] = field(default_factory=list)
    sim_value: Any = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fmt(v: int | float) -> str:
    """An integer with thousands separators (floats to 4 significant digits)."""
    return f"{v:,}" if isinstance(v, int) else f"{v:,.4g}"


def span_text(values: Sequence[int]) -> str:
    """'v' when all runs agree, else 'min–max'."""
    lo, hi = min(values), max(values)
    return fmt(lo) if lo == hi else f"{fmt(lo)}–{fmt(hi)}"


def classes_text(counts: Sequence[int]) -> str:
    """'1 class', '36 classes', '35–36 classes': size classes in use."""
    return f"{span_text(counts)} class{'' if max(counts) == 1 else 'es'}"


def pct(part: float, whole: float) -> str:
    """part/whole as a signed percentage, with more digits when it is small."""
    if not whole:
        return "n/a"
    p = 100 * part / whole
    if p == 0 or abs(p) >= 0.1:
        return f"{p:+.1f}%"
    return f"{p:+.2g}%" if abs(p) >= 0.001 else ("+" if p > 0 else "-") + "<0.001%"


# --- exact figures -------------------------------------------------------------------


@dataclass(frozen=True)
class ExactResult:
    status: str
    verdict: str
    matched: int  # runs matched (up to the allowance)


def judge_exact(
    real: Sequence[int], sim: int, accepted: Explained, bounds: frozenset[str] = frozenset()
) -> ExactResult:
    """Judge one exact figure: sim against every run, accepting the allowance's differences.

    `bounds` names the items that are upper bounds: a figure they explain is
    "within allowance" rather than "exact".
    """
    diffs = [r - sim for r in real]
    hits = [d for d in diffs if d in accepted]
    varies = len(set(real)) > 1
    if len(hits) == len(real):
        used = [p for d in hits for p in accepted[d]]
        if not used:
            return ExactResult(OK, "exact", len(real))
        word = "within allowance" if any(name in bounds for name, _ in used) else "exact"
        tail = "; real varies" if varies else ""
        return ExactResult(OK, f"{word} ({describe(used)}{tail})", len(real))
    if hits:
        return ExactResult(OK, f"exact in {len(hits)}/{len(real)} runs (real varies)", len(hits))
    # The nearest acceptable real value, and how far the simulation is from it.
    best_excess: int | None = None
    best_ref = 0
    for r in real:
        for a in accepted:
            ref = r - a
            excess = sim - ref
            if best_excess is None or abs(excess) < abs(best_excess):
                best_excess, best_ref = excess, ref
    assert best_excess is not None
    where = "above" if best_excess > 0 else "below"
    verdict = f"{best_excess:+,} ({pct(best_excess, best_ref)}) {where} real"
    if varies:
        verdict += " (nearest run; real varies)"
    return ExactResult(MISS, verdict, 0)


def _by_size_table(fig: Figures) -> dict[int, tuple[int, int]]:
    return {size: (m, f) for size, m, f in fig["BySize"] if size}


def judge_by_size(real: Sequence[Figures], sim: Figures, items: Sequence[Item]) -> tuple[str, str]:
    """(status, verdict) for BySize: every class's Mallocs and Frees judged as exact figures."""
    real_tabs = [_by_size_table(f) for f in real]
    sim_tab = _by_size_table(sim)
    sizes = sorted({s for t in [*real_tabs, sim_tab] for s, (m, f) in t.items() if m or f})
    bounds = frozenset(i.name for i in items if i.bound)
    misses: list[str] = []
    missed_sizes: set[int] = set()
    varied = 0
    used: list[tuple[str, int]] = []
    for size in sizes:
        for i, field_name in enumerate(("Mallocs", "Frees")):
            accepted = allowed(items, f"BySize[{size}].{field_name}")
            rv = [t.get(size, (0, 0))[i] for t in real_tabs]
            sv = sim_tab.get(size, (0, 0))[i]
            res = judge_exact(rv, sv, accepted, bounds)
            if res.status == MISS:
                misses.append(f"{size} B {field_name} {res.verdict.split(' (')[0]}")
                missed_sizes.add(size)
            elif res.matched < len(rv):
                varied += 1
            else:
                used.extend(p for d in {r - sv for r in rv} for p in accepted[d])
    n = len(sizes)
    if misses:
        shown = "; ".join(misses[:4]) + ("; …" if len(misses) > 4 else "")
        return MISS, f"{len(missed_sizes)} of {n} classes differ: {shown}"
    verdict = f"{n} {'class matches' if n == 1 else 'classes match'}"
    notes = []
    if used:
        notes.append(describe(used))
    if varied:
        notes.append(f"{varied} count(s) exact in some runs only: real varies")
    return OK, verdict + (f" ({'; '.join(notes)})" if notes else "")


# --- spread figures ------------------------------------------------------------------


def judge_spread(
    real: Sequence[int | float], sim: int | float, widen: float = WIDEN
) -> tuple[str, str]:
    """(status, verdict): sim within [min, max] of the runs, widened by `widen` each way."""
    lo, hi = min(real), max(real)
    if lo <= sim <= hi:
        return OK, "within spread"
    band_lo, band_hi = lo - abs(lo) * widen, hi + abs(hi) * widen
    if band_lo <= sim <= band_hi:
        return OK, f"within spread ±{widen:.0%}"
    if sim > hi:
        return MISS, (f"{pct(sim - hi, hi)} above max" if hi else f"{fmt(sim - hi)} above max (0)")
    return MISS, (f"{pct(sim - lo, abs(lo))} below min" if lo else f"{fmt(sim - lo)} below min (0)")


# --- one case ------------------------------------------------------------------------


def compare_case(
    workload: str,
    real: Sequence[Figures],
    sim: Figures | None,
    *,
    items: Sequence[Item] = (),
    unavailable: str | None = None,
    widen: float = WIDEN,
    metrics: Sequence[Metric] = METRICS,
    by_phase: Mapping[str, Sequence[Any]] | None = None,
) -> list[Row]:
    """The rows of one workload: every metric, real (min–max) against the simulation.

    ``by_phase``: a timing figure's values at several sysmon phases, whose
    median ``sim`` holds; the simulated column then shows their range too.
    """
    if not real:
        raise ValueError("compare_case needs at least one real run")
    rows = []
    for m in metrics:
        if m.key == "BySize":
            used = [sum(1 for s, mm, ff in f["BySize"] if s and (mm or ff)) for f in real]
            real_text = classes_text(used)
            real_values: list[Any] = used
        else:
            real_values = [f[m.key] for f in real]
            real_text = span_text(real_values)
        if sim is None:
            reason = unavailable or "no simulation"
            rows.append(
                Row(
                    workload,
                    m.key,
                    m.label,
                    m.kind,
                    real_text,
                    f"unavailable: {reason}",
                    UNAVAILABLE,
                    "—",
                    real_values,
                )
            )
            continue
        if m.key == "BySize":
            n_sim = sum(1 for s, mm, ff in sim["BySize"] if s and (mm or ff))
            status, verdict = judge_by_size(real, sim, items)
            rows.append(
                Row(
                    workload,
                    m.key,
                    m.label,
                    m.kind,
                    real_text,
                    classes_text([n_sim]),
                    status,
                    verdict,
                    real_values,
                    n_sim,
                )
            )
            continue
        sv = sim[m.key]
        if m.kind == EXACT:
            bounds = frozenset(i.name for i in items if i.bound)
            res = judge_exact(real_values, sv, allowed(items, m.key), bounds)
            status, verdict = res.status, res.verdict
        elif m.kind == SPREAD:
            status, verdict = judge_spread(real_values, sv, widen)
        else:  # pragma: no cover - METRICS only has the two kinds
            raise ValueError(m.kind)
        sim_text = fmt(sv)
        phased = by_phase.get(m.key) if by_phase else None
        if phased:
            sim_text += f" (phases {span_text(phased)})"
        rows.append(
            Row(
                workload,
                m.key,
                m.label,
                m.kind,
                real_text,
                sim_text,
                status,
                verdict,
                real_values,
                sv,
            )
        )
    return rows


def summary(rows: Sequence[Row]) -> dict[str, int]:
    """How many rows are ok, miss, unavailable."""
    out = {OK: 0, MISS: 0, UNAVAILABLE: 0}
    for r in rows:
        out[r.status] = out.get(r.status, 0) + 1
    return out

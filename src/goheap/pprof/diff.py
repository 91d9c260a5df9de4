"""The difference of two heap profiles, as ``go tool pprof -base OLD NEW`` takes it.

pprof has two ways to set one profile against another (``internal/driver``
``fetchProfiles``): ``-base`` negates the base's values (``Scale(-1)``) and
merges it into the profile, so each sample of the result is the profile's
value minus the base's for the same locations and labels: the difference of
two snapshots of one program, in which in-use figures fall where objects
were freed. ``-diff_base`` does the same but labels the base's samples
``pprof::base`` to show percentages relative to it, which is for comparing
two runs, not two moments. goheap takes ``-base``'s meaning.

:func:`subtract` is pprof's merge (``profile.Merge``): samples are matched
on their stack and ``bytes`` label; the values add (the base's negated); a
sample whose four values all come to 0 is dropped; the result's period is
the larger, its start the earlier (``combineHeaders``). pprof matches
stacks by location (address and lines); so does this, with the addresses
the reader keeps (``HeapSample.pcs``), so two call sites on one source
line stay apart. Mappings are not compared (pprof subtracts each mapping's
start from the address, which two profiles of one process share); legacy
text profiles' call addresses are not kept, so their stacks match by lines.

:func:`analyze_diff` puts the difference through a Go version's size
classes: objects and bytes (in use and allocated) per class and per site
are the difference's own sums, equal to the per-class and per-site
differences of the two profiles; spans and the minimum HeapInuse, which do
not add up sample by sample, are the two profiles' packed spans subtracted.
"""

from __future__ import annotations

import math

from goheap.pprof.analyze import Analysis, analyze
from goheap.pprof.model import Frame, HeapProfile, HeapSample
from goheap.pprof.reader import ProfileError

#: The span figures of a class row and of the totals, subtracted profile from profile.
SPAN_FIELDS = ("spans", "span_bytes", "free_slot_bytes", "tail_waste_bytes", "span_bytes_scan")

_Key = tuple[tuple[Frame, ...], tuple[int, ...], "int | None"]


def subtract(new: HeapProfile, base: HeapProfile) -> HeapProfile:
    """new minus base, sample by sample (pprof's ``-base``; see the module doc)."""
    if new.period_type != base.period_type:
        a, b = ("/".join(t) if any(t) else "none" for t in (new.period_type, base.period_type))
        raise ProfileError(f"{base.source}: incompatible period types {a} and {b} (--base)")
    merged: dict[_Key, list[int]] = {}
    for sign, samples in ((1, new.samples), (-1, base.samples)):
        for s in samples:
            values = (s.alloc_objects, s.alloc_space, s.inuse_objects, s.inuse_space)
            if not any(values):
                continue  # Merge skips zero samples
            key = (s.stack, s.pcs, s.size)
            acc = merged.get(key)
            if acc is None:
                acc = merged[key] = [0, 0, 0, 0]
            for i, v in enumerate(values):
                acc[i] += sign * v
    samples_out = [
        HeapSample(key[0], v[0], v[1], v[2], v[3], key[2], key[1])
        for key, v in merged.items()
        if any(v)
    ]
    comments = list(dict.fromkeys([*new.comments, *base.comments]))
    return HeapProfile(
        samples=samples_out,
        period=max(new.period, base.period),
        period_type=new.period_type,
        time_nanos=_earliest(new.time_nanos, base.time_nanos),
        duration_nanos=new.duration_nanos + base.duration_nanos,
        comments=comments,
        source=new.source,
        encoding=new.encoding,
    )


def _earliest(first: int, second: int) -> int:
    """combineHeaders' TimeNanos: the smaller, unless the first is unset."""
    return second if first == 0 or second < first else first


def analyze_diff(new: HeapProfile, base: HeapProfile, profile_name: str = "go1.27") -> Analysis:
    """new minus base by size class and by site (see the module doc)."""
    diff = subtract(new, base)
    a = analyze(diff, profile_name)
    a_new, a_base = analyze(new, profile_name), analyze(base, profile_name)
    old_rows = {r.sizeclass: r for r in a_base.classes}
    new_rows = {r.sizeclass: r for r in a_new.classes}
    for row in a.classes:
        n, b = new_rows.get(row.sizeclass), old_rows.get(row.sizeclass)
        for f in SPAN_FIELDS:
            setattr(row, f, (getattr(n, f) if n else 0) - (getattr(b, f) if b else 0))
    t = a.totals
    for f in (*SPAN_FIELDS, "min_heap_inuse", "min_heap_inuse_scan", "large_bytes"):
        t[f] = a_new.totals[f] - a_base.totals[f]
    a.min_heap_inuse = t["min_heap_inuse"]
    t["inuse_bytes_se"] = round(
        math.hypot(a_new.totals["inuse_bytes_se"], a_base.totals["inuse_bytes_se"])
    )
    # Allocation per second: over the time between the two profiles, when both say when.
    gap = new.time_nanos - base.time_nanos
    a.duration_nanos = gap if new.time_nanos and base.time_nanos and gap > 0 else 0
    a.base = {
        "source": a_base.source,
        "samples": a_base.samples,
        "period": a_base.period,
        "min_heap_inuse": a_base.min_heap_inuse,
        "inuse_bytes": a_base.totals["inuse_bytes"],
        "objects": a_base.totals["objects"],
        "new_min_heap_inuse": a_new.min_heap_inuse,
        "new_inuse_bytes": a_new.totals["inuse_bytes"],
        "new_objects": a_new.totals["objects"],
    }
    # The largest change first, whatever its sign, as pprof -top orders a difference.
    a.sites.sort(key=lambda r: (-abs(r.inuse_bytes), -abs(r.alloc_bytes), r.site))
    a.notes = diff_notes(a, a_new, a_base)
    return a


def diff_notes(a: Analysis, a_new: Analysis, a_base: Analysis) -> list[str]:
    """What a difference of two profiles says, and what it cannot."""
    notes = [
        f"Difference: {a.source} minus {a_base.source} (go tool pprof -base): per stack "
        "and slot size, the profile's values less the base's. In-use figures fall where "
        "objects were freed; allocation figures count what was allocated in between, "
        "if both profiles come from one process.",
        "Spans and the minimum HeapInuse are each profile's perfectly packed spans, "
        f"subtracted: {a_new.min_heap_inuse:,} B - {a_base.min_heap_inuse:,} B.",
    ]
    if a_new.period != a_base.period:
        notes.append(
            f"The profiles were sampled at different MemProfileRates ({a_new.period:,} and "
            f"{a_base.period:,}); their estimates do not cancel sample by sample."
        )
    se = a.totals["inuse_bytes_se"]
    if se:
        notes.append(
            f"Sampling error of the in-use difference: about {se:,} B (one standard error, "
            "both profiles' errors combined as if independent)."
        )
    if a.duration_nanos:
        notes.append(
            f"Allocation per second is over the {a.duration_nanos / 1e9:.3g} s between "
            "the two profiles' times."
        )
    return notes

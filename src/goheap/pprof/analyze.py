"""What a heap profile says about the heap: bytes by size class and by site.

``analyze(profile, "go1.27")`` puts a :class:`~goheap.pprof.model.HeapProfile`
through one Go version's size classes and span geometry and answers:

- **by size class**: in-use objects and their slot bytes; the spans they
  need if perfectly packed (``ceil(objects / objects_per_span)``) and those
  spans' bytes; the tail each span cannot use and the free slots of the
  last, partly filled span; allocations (``alloc_*``) per class;
- **by allocation site** (the leaf frame): objects and bytes in use and
  allocated, and the classes the site's sizes fall in;
- **the minimum HeapInuse** this live heap needs: the small classes'
  packed span bytes plus every large object's pages.

How a profile's size maps to a span class
-----------------------------------------
The ``bytes`` label is what ``profilealloc`` was given (malloc.go): the
slot size, never the request:

- small objects: the class size (``size = class_to_size[sizeclass]``);
  on go1.22+ a pointerful object above 512 B has its 8-byte malloc header
  inside that slot (``mallocgcSmallScanHeader`` adds it before the lookup);
- tiny allocations (pointer-free, under 16 B): Go records a 16-byte block
  (``span.elemsize``) once, at the allocation that opened it; allocations
  that fit into the current block are never recorded;
- large objects (> 32 KiB; > 32760 B on go1.27): ``span.elemsize``, the
  page-rounded size.

So a size up to ``maxSmallSize`` is looked up with Go's own tables
(``size_to_class``) and should land exactly on a class size; a larger one
takes ``ceil(size / 8 KiB)`` pages. A size that is not a slot size of the
chosen version (a sample without a label, sized by ``alloc_space /
alloc_objects``, or a profile from another Go version) is rounded up the
same way and reported in the notes. 32768 B is both the largest class and
a four-page large object: four pages per object either way.

What a profile cannot tell
--------------------------
Whether an object has pointers. On go1.8 it does not matter for spans. On
go1.27 a *scan* span of objects of at most 512 B gives ``1/64`` of itself
to heap bits (beside Green Tea's 128-byte inline mark bits, which scan and
noscan spans of 16..512 B both reserve), so it holds fewer objects: the
figures assume pointer-free spans, which makes ``min_heap_inuse`` a true
lower bound, and ``min_heap_inuse_scan`` says what it would be if every
object held pointers. One deduction is sure: an 8-byte slot is pointerful
(a pointer-free 8-byte object would have come from the tiny allocator), so
the 8-byte class is counted as scan. Above 512 B the header is inside the
slot and scan and noscan spans hold the same number of objects.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

from goheap.errors import GoheapError
from goheap.pprof.model import HeapProfile, HeapSample, sample_weight
from goheap.profiles import Profile, get_profile

#: The site of a sample with an empty stack.
NO_STACK = "<no stack>"


@functools.lru_cache(maxsize=4)
def objects_per_span(profile_name: str) -> tuple[tuple[int, int], ...]:
    """(noscan, scan) objects per span of each small class (index: class; 0 is (1, 1)).

    Asked of the profile's runtime (``Runtime.objects_per_span``), so the
    go1.27 count is the one ``mheap.initSpan`` uses, Green Tea's reserves
    included. Builds one throwaway heap per profile (cached).
    """
    from goheap.heap import Heap

    heap = Heap(profile=profile_name)
    try:
        rt = heap.runtime
        n = heap.profile.sizeclasses.num_classes
        rows = [(1, 1)]
        rows += [(rt.objects_per_span(c, True), rt.objects_per_span(c, False)) for c in range(1, n)]
        return tuple(rows)
    finally:
        heap.close()


def pointerful_slot(slot: int) -> bool:
    """Whether a profile slot must hold pointers: an 8-byte one (a pointer-free object
    that small goes to the tiny allocator, whose blocks are 16 bytes)."""
    return slot == 8


def slot_class(profile_name: str, size: int) -> tuple[int, int, int]:
    """(size class, slot bytes, pages) of a profile size; class 0 is a large object.

    Rounds up as mallocgc does, so a size that is not a slot size lands in
    the class (or page count) that would hold it.
    """
    prof = get_profile(profile_name)
    if size <= 0:
        raise GoheapError(f"size {size}: not an object size")
    if size <= prof.max_small_size:
        sc = prof.sizeclasses
        c = sc.size_to_class(size)
        return c, sc.class_to_size[c], sc.class_to_allocnpages[c]
    pages = -(-size // prof.page_size)
    return 0, pages * prof.page_size, pages


@dataclass
class ClassRow:
    """One size class (0: large objects, all sizes together), field names as in run results.

    ``inuse_bytes`` is ``objects x slot``; ``profile_inuse_bytes`` what the
    profile's ``inuse_space`` adds up to (equal for labelled samples at
    ``MemProfileRate = 1``). ``spans``/``span_bytes`` are the perfectly
    packed spans; ``span_bytes = inuse_bytes + free_slot_bytes +
    tail_waste_bytes``.
    """

    sizeclass: int
    size: int  # slot bytes (0 for the large row)
    npages: int  # pages per span (0 for the large row: it varies)
    objects_per_span: int  # as counted here (noscan, except the 8-byte class)
    objects_per_span_scan: int
    objects: int = 0
    inuse_bytes: int = 0
    profile_inuse_bytes: int = 0
    alloc_objects: int = 0
    alloc_bytes: int = 0
    profile_alloc_bytes: int = 0
    spans: int = 0
    span_bytes: int = 0
    free_slot_bytes: int = 0
    tail_waste_bytes: int = 0
    span_bytes_scan: int = 0  # span_bytes if every object held pointers
    sites: int = 0

    @property
    def freed_objects(self) -> int:
        """Allocated and since freed (as of the profile's last cycle)."""
        return max(0, self.alloc_objects - self.objects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "class": self.sizeclass,
            "size": self.size,
            "npages": self.npages,
            "objects_per_span": self.objects_per_span,
            "objects_per_span_scan": self.objects_per_span_scan,
            "objects": self.objects,
            "inuse_bytes": self.inuse_bytes,
            "profile_inuse_bytes": self.profile_inuse_bytes,
            "alloc_objects": self.alloc_objects,
            "alloc_bytes": self.alloc_bytes,
            "profile_alloc_bytes": self.profile_alloc_bytes,
            "freed_objects": self.freed_objects,
            "spans": self.spans,
            "span_bytes": self.span_bytes,
            "free_slot_bytes": self.free_slot_bytes,
            "tail_waste_bytes": self.tail_waste_bytes,
            "span_bytes_scan": self.span_bytes_scan,
            "sites": self.sites,
        }


@dataclass
class LargeRow:
    """Large objects of one size: each takes a span of ``npages`` pages to itself."""

    size: int  # page-rounded slot bytes
    npages: int
    objects: int = 0
    profile_inuse_bytes: int = 0
    alloc_objects: int = 0
    profile_alloc_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "npages": self.npages,
            "objects": self.objects,
            "inuse_bytes": self.objects * self.size,
            "profile_inuse_bytes": self.profile_inuse_bytes,
            "alloc_objects": self.alloc_objects,
            "alloc_bytes": self.alloc_objects * self.size,
            "profile_alloc_bytes": self.profile_alloc_bytes,
        }


@dataclass
class SiteRow:
    """One allocation site (the leaf frame): everything allocated there, all sizes."""

    site: str
    function: str
    file: str
    line: int
    objects: int = 0
    inuse_bytes: int = 0
    alloc_objects: int = 0
    alloc_bytes: int = 0
    classes: set[int] = field(default_factory=set)
    sizes: set[int] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "function": self.function,
            "file": self.file,
            "line": self.line,
            "objects": self.objects,
            "inuse_bytes": self.inuse_bytes,
            "alloc_objects": self.alloc_objects,
            "alloc_bytes": self.alloc_bytes,
            "classes": sorted(self.classes),
            "sizes": sorted(self.sizes),
        }


@dataclass
class Analysis:
    """What ``analyze`` found (see the module doc); ``to_dict`` is the JSON form."""

    profile: str  # the Go version applied
    source: str
    period: int
    samples: int
    classes: list[ClassRow]  # small classes with objects or allocations, then the large row
    large: list[LargeRow]
    sites: list[SiteRow]  # by in-use bytes, then allocated bytes
    totals: dict[str, int]
    min_heap_inuse: int
    notes: list[str]
    duration_nanos: int = 0
    #: For a difference (goheap.pprof.diff): the base profile's source and figures.
    base: dict[str, Any] | None = None

    def class_row(self, sizeclass: int) -> ClassRow | None:
        """The row of one class (0: large), None if the profile has nothing there."""
        return next((r for r in self.classes if r.sizeclass == sizeclass), None)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "kind": "analyze",
            "profile": self.profile,
            "source": self.source,
            "period": self.period,
            "samples": self.samples,
            "duration_nanos": self.duration_nanos,
            "min_heap_inuse": self.min_heap_inuse,
            "totals": dict(self.totals),
            "classes": [r.to_dict() for r in self.classes],
            "large": [r.to_dict() for r in self.large],
            "sites": [r.to_dict() for r in self.sites],
            "notes": list(self.notes),
        }
        if self.base is not None:
            out["base"] = dict(self.base)
        return out


@dataclass
class _Tally:
    """The samples of one profile summed per class, per large size and per site."""

    profile_name: str
    geometry: tuple[tuple[int, int], ...]  # objects_per_span(profile_name)
    page: int
    small: dict[int, ClassRow] = field(default_factory=dict)  # 0: all large objects
    large: dict[int, LargeRow] = field(default_factory=dict)
    sites: dict[str, SiteRow] = field(default_factory=dict)
    class_sites: dict[int, set[str]] = field(default_factory=dict)
    unlabelled: int = 0
    skipped: int = 0
    off_slot: dict[int, int] = field(default_factory=dict)  # a size that is no slot -> its slot

    def add(self, s: HeapSample) -> None:
        """Count one sample in its class row, its large row and its site."""
        size = s.slot_size()
        if size is None or size <= 0:
            if s.alloc_space or s.inuse_space or s.alloc_objects or s.inuse_objects:
                self.skipped += 1
            return
        if s.size is None:
            self.unlabelled += 1
        c, slot, npages = slot_class(self.profile_name, size)
        if slot != size:
            self.off_slot[size] = slot
        row = self._class_row(c, slot, npages) if c else self._large_row(s, slot, npages)
        row.objects += s.inuse_objects
        row.inuse_bytes += s.inuse_objects * slot
        row.profile_inuse_bytes += s.inuse_space
        row.alloc_objects += s.alloc_objects
        row.alloc_bytes += s.alloc_objects * slot
        row.profile_alloc_bytes += s.alloc_space
        if c == 0:
            row.spans += s.inuse_objects
            row.span_bytes += s.inuse_objects * npages * self.page
        self._add_site(s, c, slot)

    def _class_row(self, c: int, slot: int, npages: int) -> ClassRow:
        row = self.small.get(c)
        if row is None:
            noscan, scan = self.geometry[c]
            counted = scan if pointerful_slot(slot) else noscan
            row = self.small[c] = ClassRow(c, slot, npages, counted, scan)
        return row

    def _large_row(self, s: HeapSample, slot: int, npages: int) -> ClassRow:
        """Count s among the large objects of its size; the row of all of them (class 0)."""
        lrow = self.large.get(slot)
        if lrow is None:
            lrow = self.large[slot] = LargeRow(slot, npages)
        lrow.objects += s.inuse_objects
        lrow.profile_inuse_bytes += s.inuse_space
        lrow.alloc_objects += s.alloc_objects
        lrow.profile_alloc_bytes += s.alloc_space
        row = self.small.get(0)
        if row is None:
            row = self.small[0] = ClassRow(0, 0, 0, 1, 1)
        return row

    def _add_site(self, s: HeapSample, c: int, slot: int) -> None:
        frame = s.site
        name = NO_STACK if frame is None else str(frame)
        site = self.sites.get(name)
        if site is None:
            site = self.sites[name] = SiteRow(
                name,
                frame.function if frame else NO_STACK,
                frame.file if frame else "",
                frame.line if frame else 0,
            )
        site.objects += s.inuse_objects
        site.inuse_bytes += s.inuse_objects * slot
        site.alloc_objects += s.alloc_objects
        site.alloc_bytes += s.alloc_objects * slot
        site.classes.add(c)
        site.sizes.add(slot)
        self.class_sites.setdefault(c, set()).add(name)


def _pack_spans(tally: _Tally, class_to_allocnpages: list[int]) -> None:
    """Each class row's perfectly packed spans, their tail waste and free slots."""
    for c, row in tally.small.items():
        row.sites = len(tally.class_sites.get(c, ()))
        if c == 0:
            row.tail_waste_bytes = row.span_bytes - row.inuse_bytes  # page rounding
            row.span_bytes_scan = row.span_bytes
            continue
        span = class_to_allocnpages[c] * tally.page
        row.spans = -(-row.objects // row.objects_per_span)
        row.span_bytes = row.spans * span
        # The tail a span of this class cannot use, as goheap.heapcensus.class_table counts it
        # (on go1.27 it includes Green Tea's inline mark bits and a scan span's heap bits).
        row.tail_waste_bytes = row.spans * (span - row.objects_per_span * row.size)
        row.free_slot_bytes = row.span_bytes - row.tail_waste_bytes - row.inuse_bytes
        row.span_bytes_scan = -(-row.objects // row.objects_per_span_scan) * span


def analyze(profile: HeapProfile, profile_name: str = "go1.27") -> Analysis:
    """Put ``profile`` through ``profile_name``'s size classes and spans (see the module doc)."""
    prof = get_profile(profile_name)
    tally = _Tally(profile_name, objects_per_span(profile_name), prof.page_size)
    for s in profile.samples:
        tally.add(s)
    _pack_spans(tally, prof.sizeclasses.class_to_allocnpages)
    small, large = tally.small, tally.large
    rows = [small[c] for c in sorted(small) if c] + ([small[0]] if 0 in small else [])
    totals = _totals(rows, profile, tally.unlabelled, tally.skipped)
    totals["inuse_bytes_se"] = inuse_sampling_error(
        [(r.objects, r.size) for r in rows if r.sizeclass]
        + [(r.objects, r.size) for r in large.values()],
        profile.period,
    )
    site_rows = sorted(
        tally.sites.values(),
        key=lambda r: (-r.inuse_bytes, -r.alloc_bytes, -r.alloc_objects, r.site),
    )
    result = Analysis(
        profile=profile_name,
        source=profile.source,
        period=profile.period,
        samples=len(profile.samples),
        classes=rows,
        large=[large[k] for k in sorted(large)],
        sites=site_rows,
        totals=totals,
        min_heap_inuse=totals["span_bytes"],
        notes=[],
        duration_nanos=profile.duration_nanos,
    )
    result.notes = _notes(result, tally.off_slot)
    return result


def inuse_sampling_error(objects_by_size: list[tuple[int, int]], period: int) -> int:
    """One standard error, in bytes, of a sampled profile's in-use bytes.

    Go records an object of ``size`` bytes with probability
    ``p = 1 - exp(-size/period)`` and the profile counts it ``w = 1/p``
    times, so an estimated total ``sum(w * size)`` over the sampled objects
    has variance ``sum(size^2 * (w - 1))`` over every object -- estimated
    here from the profile's own (scaled) counts. 0 when ``period <= 1``
    (every allocation recorded).
    """
    if period <= 1:
        return 0
    var = 0.0
    for objects, size in objects_by_size:
        if objects > 0 and size > 0:
            w = sample_weight(size, period)
            var += objects * float(size) ** 2 * (w - 1)
    return round(math.sqrt(var))


def _totals(
    rows: list[ClassRow], profile: HeapProfile, unlabelled: int, skipped: int
) -> dict[str, int]:
    keys = (
        "objects",
        "inuse_bytes",
        "profile_inuse_bytes",
        "alloc_objects",
        "alloc_bytes",
        "profile_alloc_bytes",
        "spans",
        "span_bytes",
        "free_slot_bytes",
        "tail_waste_bytes",
        "span_bytes_scan",
    )
    t = {k: sum(int(getattr(r, k)) for r in rows) for k in keys}
    t["large_objects"] = sum(r.objects for r in rows if r.sizeclass == 0)
    t["large_bytes"] = sum(r.span_bytes for r in rows if r.sizeclass == 0)
    t["min_heap_inuse"] = t["span_bytes"]
    t["min_heap_inuse_scan"] = t["span_bytes_scan"]
    t["samples"] = len(profile.samples)
    t["unlabelled_samples"] = unlabelled
    t["skipped_samples"] = skipped
    return t


def _notes(a: Analysis, off_slot: dict[int, int]) -> list[str]:
    """What limits the answers, said where it applies."""
    return (
        _sampling_notes(a)
        + _profile_notes(a, off_slot)
        + _class_notes(a, get_profile(a.profile))
        + _heap_notes(a)
    )


def _sampling_notes(a: Analysis) -> list[str]:
    """MemProfileRate: exact counts, or estimates and their standard error."""
    notes: list[str] = []
    t = a.totals
    if a.period == 1:
        notes.append("MemProfileRate = 1: every allocation was recorded, so the counts are exact.")
    else:
        notes.append(
            f"MemProfileRate = {a.period:,}: Go sampled about one allocation per "
            f"{a.period:,} bytes and wrote each count already scaled up "
            "(scaleHeapSample); every count here is that estimate, so spans and the "
            "minimum HeapInuse are estimates too, not bounds."
        )
        se, inuse = t["inuse_bytes_se"], t["inuse_bytes"]
        if inuse > 0:
            notes.append(
                f"Sampling error: the in-use bytes ({inuse:,} B) are uncertain by about "
                f"{se:,} B ({100 * se / inuse:.1f}%, one standard error), and so are the "
                "figures built on them (spans, the minimum HeapInuse, the what-if's live "
                "set). Only MemProfileRate = 1 removes it."
            )
    return notes


def _profile_notes(a: Analysis, off_slot: dict[int, int]) -> list[str]:
    """What the profile's labels and counts say, and what they leave out."""
    notes: list[str] = []
    t = a.totals
    notes.append(
        "The bytes label is the slot Go charged (the size class, page-rounded for large "
        "objects), not the size the program asked for: rounding waste inside a slot "
        "cannot be read from a profile."
    )
    notes.append(
        "In-use figures are as of the last completed GC cycle when the profile was written "
        "(allocations of up to the last two cycles are not in them yet)."
    )
    if t["unlabelled_samples"]:
        notes.append(
            f"{t['unlabelled_samples']:,} sample(s) had no bytes label: sized by "
            "alloc_space / alloc_objects (or inuse_space / inuse_objects), rounded up to "
            "a slot."
        )
    if t["skipped_samples"]:
        notes.append(
            f"{t['skipped_samples']:,} sample(s) had bytes but no objects and were left out."
        )
    if off_slot:
        shown = ", ".join(f"{k:,} B -> {v:,} B" for k, v in sorted(off_slot.items())[:8])
        more = f" (and {len(off_slot) - 8} more)" if len(off_slot) > 8 else ""
        notes.append(
            f"Sizes that are not {a.profile} slot sizes, charged to the slot that would hold "
            f"them: {shown}{more} (a profile written by another Go version, or the averaged "
            "size of an unlabelled sample)."
        )
    if t["profile_inuse_bytes"] != t["inuse_bytes"]:
        notes.append(
            f"The profile's inuse_space adds up to {t['profile_inuse_bytes']:,} B; "
            f"objects x slot to {t['inuse_bytes']:,} B (sampling scale truncation or "
            "unlabelled sizes); the span figures use objects x slot."
        )
    return notes


def _class_notes(a: Analysis, prof: Profile) -> list[str]:
    """Where the profile's classes meet the version's size classes and span layout."""
    notes: list[str] = []
    t = a.totals
    tiny = a.class_row(prof.tiny_size_class)
    if tiny is not None and tiny.size == prof.tiny_size and (tiny.objects or tiny.alloc_objects):
        notes.append(
            f"The {prof.tiny_size} B class includes tiny-allocator blocks: Go records a "
            f"{prof.tiny_size}-byte block once, at the allocation (pointer-free, under "
            f"{prof.tiny_size} B) that opened it; allocations that fit into the current "
            "block are not recorded, so those counts are blocks, not allocations."
        )
    one = a.class_row(1)
    if one is not None and (one.objects or one.alloc_objects):
        notes.append(
            "8 B objects are counted as pointerful (scan spans): a pointer-free 8-byte "
            "object would have come from the tiny allocator."
        )
    scan_differs = t["span_bytes_scan"] != t["span_bytes"]
    if scan_differs:
        notes.append(
            f"Pointers are unknown to a profile. On {a.profile} a span of pointerful objects "
            "of at most 512 B gives 1/64 of itself to heap bits and holds fewer objects: "
            "the figures assume pointer-free spans (a lower bound); were every object "
            f"pointerful the minimum HeapInuse would be {t['span_bytes_scan']:,} B."
        )
    hdr = prof.sizeclasses.spec.malloc_header_size
    min_hdr = prof.sizeclasses.spec.min_size_for_malloc_header
    if hdr and any(r.sizeclass and r.size > min_hdr and r.objects for r in a.classes):
        notes.append(
            f"Slots above {min_hdr} B may hold a pointerful object with its {hdr}-byte "
            "malloc header inside the slot (requests up to slot - 8 B); the profile "
            "cannot say which, and the spans are the same either way."
        )
    biggest = prof.sizeclasses.class_to_size[-1]
    top = a.class_row(prof.sizeclasses.num_classes - 1)
    if any(r.size == biggest and r.objects for r in a.large) or (top and top.objects):
        notes.append(
            f"{biggest:,} B is both the largest size class and a {biggest // prof.page_size}"
            "-page large object; the pages are the same either way."
        )
    return notes


def _heap_notes(a: Analysis) -> list[str]:
    """How the minimum HeapInuse and the allocation figures relate to a real heap."""
    notes: list[str] = []
    t = a.totals
    if t["objects"]:
        notes.append(
            f"The minimum HeapInuse ({a.min_heap_inuse:,} B) packs every class's objects "
            "into as few spans as the class allows. A real heap's HeapInuse is larger: "
            "spans left partly full by frees (fragmentation); one cached span per span "
            "class per P (mcache), partly used; garbage not yet swept, and what was "
            "allocated since the last cycle the profile reflects; scan and noscan objects "
            "of one class in separate spans (go1.27); and objects the profile does not "
            "show -- allocated before MemProfileRate was set (sampled at the default "
            "rate), or by the runtime itself."
        )
    if a.duration_nanos <= 0 and t["alloc_objects"]:
        notes.append(
            "The profile has no duration: alloc_* counts everything since the program "
            "started, so allocation is shown as totals and shares, not per second."
        )
    return notes

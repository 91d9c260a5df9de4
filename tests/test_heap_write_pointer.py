"""heap.py write_pointer: a pointer store lands only where the collector reads a pointer.

Go's types make a pointer store into a pointer-free object or a scalar field
impossible; the model used to accept one, the collector never saw the
pointer, freed its target, and the next allocation reused it (issue 15).
"""

from __future__ import annotations

import pytest

from goheap import GoheapError, Heap, Type
from goheap.errors import HeapCheckError
from goheap.trace import TraceError, open_trace_bytes, replay_into

PROFILES = ("go1.8", "go1.27")
NODE = Type("Node", size=24, pointers=[0, 16])  # a pointer, a scalar, a pointer
POINTER = Type("*T", size=8, pointers=[0])


@pytest.mark.parametrize("profile", PROFILES)
def test_pointer_fields_take_pointers(profile: str) -> None:
    with Heap(profile=profile) as h:
        a, b = h.new(NODE), h.new(NODE)
        h.write_pointer(a, 0, b)
        h.write_pointer(a, 16, b)
        arr = h.make(POINTER, 100_000)  # a large []*T: its last element too
        h.write_pointer(arr, 8 * 99_999, b)
        big = Type("Big", size=8000, pointers=[7200])  # go1.27: a malloc-header object
        x = h.new(big)
        h.write_pointer(x, 7200, b)
        assert h.read_pointer(x, 7200) == b
        h.check()


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("what", "offset"),
    [("scalar field", 8), ("pointer-free object", 0), ("past the pointers", 7208)],
)
def test_a_pointer_store_into_a_scalar_word_is_refused(
    profile: str, what: str, offset: int
) -> None:
    with Heap(profile=profile) as h:
        target = h.new(NODE)
        obj = {
            "scalar field": h.new(NODE),
            "pointer-free object": h.malloc(64),
            "past the pointers": h.new(Type("Big", size=8000, pointers=[7200])),
        }[what]
        with pytest.raises(GoheapError, match=f"offset {offset} of the object at .* is not a p"):
            h.write_pointer(obj, offset, target)
        assert h.read_word(obj, offset) == 0  # nothing was stored
        h.check()


@pytest.mark.parametrize("profile", PROFILES)
def test_the_collector_never_misses_a_stored_pointer(profile: str) -> None:
    """Every pointer accepted is one the collector follows: its target survives a GC."""
    with Heap(profile=profile) as h:
        root = h.new(NODE)
        h.set_global("root", root)
        kept = h.new(NODE)
        h.write_pointer(root, 16, kept)
        h.gc()
        h.gc()
        assert h.find_object(kept) is not None
        assert h.read_pointer(root, 16) == kept
        h.check()


@pytest.mark.parametrize("profile", PROFILES)
def test_a_pointer_field_holding_no_heap_address_is_passed_by(profile: str) -> None:
    """A pointer field may hold a word outside the heap's arenas (a scalar stored with
    write_word, as unsafe code can; a pointer to a global): Go's collector finds no
    span for it (spanOf) and passes it by, and so does the heap check. Hypothesis
    found the check calling such a word a freed object (test_trace's replay fuzz)."""
    with Heap(profile=profile) as h:
        root = h.new(NODE)
        h.set_global("root", root)
        h.write_word(root, 0, 1)  # the pointer field: 0x1
        h.write_word(root, 16, (1 << 64) - 1)
        h.gc()
        assert h.read_word(root, 0) == 1
        h.check()
        # A freed object's address is inside the arenas: still an error.
        gone = h.new(NODE)
        h.gc()
        h.write_word(root, 16, gone)
        with pytest.raises(HeapCheckError, match="points into no allocated object"):
            h.check()
        h.write_word(root, 16, 0)  # (leaving the heap checks it again)


def test_a_trace_ptr_event_into_a_scalar_word_is_one_error() -> None:
    lines = [
        '{"goheap_trace": 2}',
        '{"ev": "type", "tid": 0, "name": "Node", "size": 24, "ptrs": [0, 16]}',
        '{"ev": "alloc", "id": 0, "size": 24, "type": 0}',
        '{"ev": "alloc", "id": 1, "size": 24, "type": 0}',
        '{"ev": "ptr", "obj": 0, "off": 16, "to": 1}',
        '{"ev": "ptr", "obj": 0, "off": 8, "to": 1}',
    ]
    data = ("\n".join(lines) + "\n").encode()
    with Heap(profile="go1.8") as h:
        with pytest.raises(TraceError, match=r"t\.ndjson line 6: .*offset 8 .* not a pointer"):
            replay_into(h, open_trace_bytes(data, "t.ndjson"))
        h.check()


def test_a_closed_heap_refuses_every_use() -> None:
    """After close() the memory is gone: one GoheapError, not a ValueError from a memoryview."""
    h = Heap(profile="go1.27")
    a = h.new(NODE)
    h.close()
    h.close()  # closing twice is fine
    for name, use in [
        ("malloc", lambda: h.malloc(64)),
        ("write_word", lambda: h.write_word(a, 0, 1)),
        ("read_word", lambda: h.read_pointer(a, 0)),  # read_pointer is read_word
        ("gc", h.gc),
        ("advance", lambda: h.advance(10)),
        ("read_memstats", h.read_memstats),
        ("check", h.check),
    ]:
        with pytest.raises(GoheapError, match=f"{name}: the heap is closed"):
            use()

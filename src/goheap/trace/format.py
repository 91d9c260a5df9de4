"""The goheap trace format, version 3: constants, the event table, TraceError.

One table (``EVENTS``) describes every event: its name (the ``"ev"`` value of
the NDJSON form), its opcode (the first element of the binary record) and its
fields in record order. Readers, writers, the replayer's error messages and
``docs/trace-format.md`` all follow it. See that document for the format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from goheap.errors import GoheapError

# 2 added the cleanup events, 3 the program's own CPU ('cpu'); older traces read unchanged.
FORMAT_VERSION = 3
# The binary encoding's first 8 bytes: 0x89 (not ASCII, so never '{'), a name,
# then CR LF SUB LF, which text-mode mangling or truncation would damage.
MAGIC = b"\x89GHT\r\n\x1a\n"
GZIP_MAGIC = b"\x1f\x8b"

# Limits that keep reading bounded whatever the input claims.
MAX_LINE = 16 << 20  # longest NDJSON line, bytes
MAX_RECORD = 16 << 20  # largest binary record (the unpacker's buffer bound), bytes
READ_CHUNK = 1 << 16  # bytes fed to the binary unpacker at a time


class TraceError(GoheapError):
    """A trace cannot be read or applied: says where (line or byte offset) and what."""

    def __init__(
        self,
        message: str,
        *,
        where: str = "",
        line: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where  # "PATH line N" or "PATH byte N"
        self.detail = message  # what was wrong, without the place
        self.line = line  # NDJSON: the line number (the header is line 1)
        self.offset = offset  # binary: the byte offset where the record starts


# Field kinds: what a value must be.
INT = "int"  # a non-negative integer
SINT = "sint"  # any integer
STR = "str"
BOOL = "bool"
INTS = "ints"  # a list of non-negative integers
STRS = "strs"  # a list of strings

#: Go's int64 and int32 limits: every number in a trace is one of Go's int64s
#: (sizes, times in ns, counts), and GOGC is Go's int32 gcPercent.
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1

KIND_WORDS = {
    INT: "a non-negative integer",
    SINT: "an integer",
    STR: "a string",
    BOOL: "true or false",
    INTS: "a list of non-negative integers",
    STRS: "a list of strings",
}


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    required: bool = True
    doc: str = ""


@dataclass(frozen=True)
class EventSpec:
    op: int
    name: str
    fields: tuple[Field, ...]
    doc: str

    @property
    def min_len(self) -> int:
        """Shortest binary record: the opcode and the required fields."""
        n = 1
        for i, f in enumerate(self.fields):
            if f.required:
                n = i + 2
        return n

    @property
    def max_len(self) -> int:
        return 1 + len(self.fields)


def _f(name: str, kind: str, doc: str, required: bool = True) -> Field:
    return Field(name, kind, required, doc)


def _opt(name: str, kind: str, doc: str) -> Field:
    return Field(name, kind, False, doc)


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        0,
        "type",
        (
            _f("tid", INT, "type id, used by alloc's 'type'"),
            _f("name", STR, "the Go type's name"),
            _f("size", INT, "the type's size in bytes"),
            _f("ptrs", INTS, "byte offsets of the pointer words (multiples of 8)"),
        ),
        "Define a type.",
    ),
    EventSpec(
        1,
        "stack",
        (
            _f("sid", INT, "stack id, used by alloc's 'stack'"),
            _f("frames", STRS, "function names, innermost first"),
        ),
        "Define a call stack (for heap profiles).",
    ),
    EventSpec(
        2,
        "alloc",
        (
            _f("id", INT, "the new object's id, greater than every earlier id"),
            _f("size", INT, "bytes requested (a multiple of the type's size)"),
            _opt("type", INT, "type id; absent or null: no pointers"),
            _opt("p", INT, "the P whose mcache allocates (taken modulo procs)"),
            _opt("g", INT, "the allocating goroutine (the replayer switches to it)"),
            _opt("stack", INT, "stack id of the call site"),
            _opt("t", INT, "virtual time in ns since the trace start; idle until then"),
        ),
        "mallocgc(size, type): a new object.",
    ),
    EventSpec(
        3,
        "ptr",
        (
            _f("obj", INT, "the object written to"),
            _f("off", INT, "byte offset of the word inside it (a multiple of 8)"),
            _opt("to", INT, "the target object; absent or null: nil"),
            _opt("to_off", INT, "byte offset inside the target (interior pointer)"),
        ),
        "A pointer store: *(obj+off) = to+to_off.",
    ),
    EventSpec(
        4,
        "gset",
        (
            _f("name", STR, "the global variable"),
            _opt("to", INT, "the object it now points to; absent or null: nil"),
            _opt("to_off", INT, "byte offset inside the target"),
        ),
        "A global pointer variable (a root) is set.",
    ),
    EventSpec(5, "gdrop", (_f("name", STR, "the global variable"),), "A global is gone."),
    EventSpec(
        6,
        "push",
        (
            _f("g", INT, "the goroutine"),
            _opt("to", INT, "the object held; absent or null: nil"),
            _opt("to_off", INT, "byte offset inside the target"),
        ),
        "A goroutine holds a pointer in a new stack slot.",
    ),
    EventSpec(
        7,
        "pop",
        (_f("g", INT, "the goroutine"), _opt("n", INT, "slots dropped (default 1)")),
        "A goroutine drops its top n stack slots.",
    ),
    EventSpec(
        8,
        "sset",
        (
            _f("g", INT, "the goroutine"),
            _f("slot", INT, "the stack slot (0: the oldest)"),
            _opt("to", INT, "the object it now holds; absent or null: nil"),
            _opt("to_off", INT, "byte offset inside the target"),
        ),
        "A goroutine's stack slot is overwritten.",
    ),
    EventSpec(
        9,
        "dead",
        (_f("id", INT, "the object"), _opt("off", INT, "byte offset (interior; default 0)")),
        "The program will never use the object again (lifetime mode frees it).",
    ),
    EventSpec(
        10,
        "fin",
        (
            _f("obj", INT, "the object"),
            _opt("set", BOOL, "true (default): set a finalizer; false: clear it"),
            _opt("off", INT, "byte offset (tiny sub-objects; default 0)"),
        ),
        "runtime.SetFinalizer(obj, f).",
    ),
    EventSpec(11, "gc", (), "runtime.GC()."),
    EventSpec(12, "freeos", (), "debug.FreeOSMemory()."),
    EventSpec(13, "gcpct", (_f("gogc", SINT, "the new GOGC; negative: off"),), "SetGCPercent."),
    EventSpec(14, "adv", (_f("ns", INT, "nanoseconds"),), "Time passes, the program idle."),
    EventSpec(
        15,
        "go",
        (_f("g", INT, "the new goroutine's id"), _opt("p", INT, "its P (modulo procs)")),
        "A goroutine starts.",
    ),
    EventSpec(16, "sched", (_f("g", INT, "the goroutine"),), "Goroutine g runs from now on."),
    EventSpec(17, "stats", (), "runtime.ReadMemStats() (it flushes every mcache)."),
    EventSpec(
        18,
        "word",
        (
            _f("obj", INT, "the object"),
            _f("off", INT, "byte offset (a multiple of 8)"),
            _f("val", INT, "the 64-bit value"),
        ),
        "A scalar store: *(obj+off) = val.",
    ),
    EventSpec(
        19,
        "end",
        (
            _f("events", INT, "how many events came before this one (the header excluded)"),
            _opt("truncated", BOOL, "true: the recording was interrupted after those events"),
        ),
        "The trace ends here (optional; nothing may follow it).",
    ),
    EventSpec(
        20,
        "cleanup",
        (
            _f("obj", INT, "the object"),
            _opt("off", INT, "byte offset inside obj (default 0)"),
            _opt("arg", INT, "the object passed to the cleanup; absent or null: none"),
            _opt("arg_off", INT, "byte offset inside arg"),
        ),
        "runtime.AddCleanup(obj, f, arg); cleanups are numbered 0, 1, ... in trace order.",
    ),
    EventSpec(
        21,
        "cstop",
        (_f("c", INT, "the cleanup's number (its place among the 'cleanup' events)"),),
        "Cleanup.Stop() of cleanup c.",
    ),
    EventSpec(
        22,
        "cpu",
        (_f("ns", INT, "nanoseconds"),),
        "The running goroutine computes for ns of its own CPU, allocating nothing.",
    ),
)

BY_NAME: dict[str, EventSpec] = {e.name: e for e in EVENTS}
BY_OP: list[EventSpec] = sorted(EVENTS, key=lambda e: e.op)
assert [e.op for e in BY_OP] == list(range(len(BY_OP)))

OP_TYPE, OP_STACK, OP_ALLOC, OP_PTR, OP_GSET, OP_GDROP, OP_PUSH, OP_POP, OP_SSET = range(9)
OP_DEAD, OP_FIN, OP_GC, OP_FREEOS, OP_GCPCT, OP_ADV, OP_GO, OP_SCHED, OP_STATS = range(9, 18)
OP_WORD, OP_END, OP_CLEANUP, OP_CSTOP, OP_CPU = 18, 19, 20, 21, 22

# Header keys a reader understands, and what each must be.
HEADER_KINDS: dict[str, type | tuple[type, ...]] = {
    "goheap_trace": int,
    "workload": str,
    "params": dict,
    "liveness_events": bool,
    "created_by": str,
    "profile": str,
    "procs": int,
    "gogc": int,
    "liveness": str,
    "memlimit": int,
}


#: The header's numbers, as Go holds them: (lowest, highest, what that range is).
HEADER_RANGES: dict[str, tuple[int, int, str]] = {
    "procs": (1, INT32_MAX, "1 to 2^31-1 (GOMAXPROCS)"),
    "gogc": (INT32_MIN, INT32_MAX, "Go's int32 gcPercent"),
    "memlimit": (0, INT64_MAX, "0 to 2^63-1 bytes (GOMEMLIMIT, an int64)"),
}


def describe(value: Any) -> str:
    """A short repr of a bad value for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_header(header: Any) -> dict[str, Any]:
    """Validate a decoded header; returns it. Raises TraceError (without a location)."""
    if not isinstance(header, dict):
        raise TraceError(f"the header must be an object, got {describe(header)}")
    if "goheap_trace" not in header:
        raise TraceError("the header needs 'goheap_trace' (the format version)")
    for key, kind in HEADER_KINDS.items():
        if key in header and header[key] is not None:
            v = header[key]
            if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
                raise TraceError(
                    f"header field '{key}' must be {kind.__name__}, got {describe(v)}"  # type: ignore[union-attr]
                )
    for key, (lo, hi, what) in HEADER_RANGES.items():
        v = header.get(key)
        if v is not None and not lo <= v <= hi:
            raise TraceError(f"header field '{key}' {describe(v)} is outside {what}")
    version = header["goheap_trace"]
    if version < 1 or version > FORMAT_VERSION:
        raise TraceError(
            f"trace format version {version} is not supported "
            f"(this goheap reads version {FORMAT_VERSION})"
        )
    return header


def check_value(spec: EventSpec, f: Field, v: Any) -> str | None:
    """Why v is not a valid value of field f (None: it is)."""
    if v is None:
        return None if not f.required else "missing"
    kind = f.kind
    if kind in (INT, SINT):
        if type(v) is not int or (kind == INT and v < 0):
            return "bad"
        if not INT64_MIN <= v <= INT64_MAX:
            return "range"
    elif kind == STR:
        if type(v) is not str:
            return "bad"
    elif kind == BOOL:
        if type(v) is not bool:
            return "bad"
    elif kind == INTS:
        if type(v) is not list or any(type(x) is not int or x < 0 for x in v):
            return "bad"
        if any(x > INT64_MAX for x in v):
            return "range"
    elif kind == STRS and (type(v) is not list or any(type(x) is not str for x in v)):
        return "bad"
    return None


def field_error(spec: EventSpec, f: Field, v: Any) -> str:
    """The message for a missing, mistyped or out-of-range field."""
    if check_value(spec, f, v) == "range":
        return f"'{spec.name}' event: '{f.name}' {describe(v)} is beyond Go's int64"
    if v is None:
        return f"'{spec.name}' event needs {KIND_WORDS[f.kind]} '{f.name}'"
    return f"'{spec.name}' event needs {KIND_WORDS[f.kind]} '{f.name}', got {describe(v)}"


def validate_record(rec: list[Any]) -> None:
    """Check every field of a shape-checked record against the table (TraceError)."""
    spec = BY_OP[rec[0]]
    for i, f in enumerate(spec.fields, 1):
        v = rec[i] if i < len(rec) else None
        if check_value(spec, f, v) is not None:
            raise TraceError(field_error(spec, f, v))


def record_to_event(rec: list[Any]) -> dict[str, Any]:
    """A record as the NDJSON object: {"ev": name, field: value, ...} (nulls left out)."""
    spec = BY_OP[rec[0]]
    ev: dict[str, Any] = {"ev": spec.name}
    for i, f in enumerate(spec.fields, 1):
        if i < len(rec) and rec[i] is not None:
            ev[f.name] = rec[i]
    return ev

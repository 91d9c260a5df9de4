"""goheap traces: a versioned, streaming record of what a program did to its heap.

Two encodings of one format (``docs/trace-format.md``): NDJSON text, one
JSON object a line after a header line, and a compact binary form, a magic
header then msgpack arrays ``[opcode, field...]``. Either may be gzipped;
readers detect all of it.

    from goheap import Heap
    from goheap.trace import open_trace, record_workload, replay_into

    record_workload("churn", ["steps=10000"], "churn.trace", fmt="binary")
    with Heap(profile="go1.8") as h:
        n = replay_into(h, open_trace("churn.trace"))

Replay drives the heap through its public API only.
"""

from goheap.trace.format import EVENTS, FORMAT_VERSION, MAGIC, EventSpec, TraceError
from goheap.trace.reader import TraceReader, open_trace, open_trace_bytes
from goheap.trace.recorder import TraceRecorder, record_workload
from goheap.trace.replay import Replayer, replay_into
from goheap.trace.writer import TraceWriter, encode_records, make_header

__all__ = [
    "EVENTS",
    "FORMAT_VERSION",
    "MAGIC",
    "EventSpec",
    "Replayer",
    "TraceError",
    "TraceReader",
    "TraceRecorder",
    "TraceWriter",
    "encode_records",
    "make_header",
    "open_trace",
    "open_trace_bytes",
    "record_workload",
    "replay_into",
]

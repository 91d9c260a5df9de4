"""Writing traces: ``TraceWriter`` streams records in either encoding."""

from __future__ import annotations

import contextlib
import gzip
import io
from pathlib import Path
from types import FrameType
from typing import IO, Any

import msgpack

from goheap.errors import GoheapError
from goheap.interrupts import Interrupted
from goheap.outputs import OutputFile
from goheap.trace.format import BY_NAME, BY_OP, FORMAT_VERSION, MAGIC, OP_END, TraceError

try:  # orjson is several times faster than json; both give the same text.
    import orjson

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

except ImportError:  # pragma: no cover - depends on the environment
    import json

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


FORMATS = ("ndjson", "binary")


def _goheap_version() -> str:
    try:
        from importlib.metadata import version

        return version("goheap")
    except Exception:  # pragma: no cover - not installed as a distribution
        return "unknown"


def make_header(
    workload: str | None = None,
    params: dict[str, Any] | None = None,
    *,
    liveness_events: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """A header of this format version; ``extra`` adds keys (profile, procs, gogc, ...)."""
    header: dict[str, Any] = {
        "goheap_trace": FORMAT_VERSION,
        "workload": workload,
        "params": dict(params or {}),
        "liveness_events": liveness_events,
        "created_by": f"goheap {_goheap_version()}",
    }
    header.update(extra)
    return header


class TraceWriter:
    """Write a trace to a path ("-": stdout; a ``.gz`` name compresses) or a binary file.

    ``record(op, *fields)`` writes one record in the table's field order
    (None for an absent optional field); ``event(name, **fields)`` does the
    same by names. Call ``close()`` (or use ``with``) to flush.

    A path is written whole or not at all (``goheap.outputs.OutputFile``):
    under a temporary name until ``close()`` puts it in place; ``abort()``,
    a failed write (one GoheapError) or an exception inside ``with`` leaves
    no file. ``on_signal`` is a SIGINT/SIGTERM handler that never cuts a
    record in two: a signal during a write is raised (as ``Interrupted``)
    when the record is whole, and one from ``end()`` on when ``close()``
    has put the file in place.
    """

    def __init__(
        self,
        out: str | Path | IO[bytes],
        *,
        fmt: str = "binary",
        header: dict[str, Any] | None = None,
        compress: bool | None = None,
    ) -> None:
        if fmt not in FORMATS:
            raise GoheapError(f"trace format must be 'ndjson' or 'binary', got {fmt!r}")
        self.fmt = fmt
        self.count = 0
        self._file: OutputFile | None = None
        self._pending: int | None = None  # a signal, raised after the next whole record
        self._closing = False  # from end() on, a signal waits for close() to finish
        self._interrupted = False  # one Interrupted was raised: later signals are ignored
        self.closed = False  # close() put the whole trace in place
        self.path: str | None = None  # the path written, if any ("-": stdout)
        raw: IO[bytes]
        if isinstance(out, (str, Path)):
            name = self.path = str(out)
            self._file = OutputFile(name)
            raw = self._file.stream
            if compress is None:
                compress = name.endswith(".gz")
        else:
            raw = out
        self._raw = raw
        self._out: IO[bytes] = raw
        if compress:
            self._out = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0)
        self._packer = msgpack.Packer(use_bin_type=True)
        self._pack = self._packer.pack
        self._write = self._out.write
        self._names = [tuple(f.name for f in spec.fields) for spec in BY_OP]
        self._evnames = [spec.name for spec in BY_OP]
        self.header = header if header is not None else make_header()
        try:
            if fmt == "binary":
                self._write(MAGIC + self._pack(self.header))
            else:
                self._write(_dumps(self.header) + b"\n")
        except OSError as e:
            raise self._failed(e) from None
        except BaseException:  # a header that does not encode: no file is left
            self.abort()
            raise

    def record(self, op: int, *fields: Any) -> None:
        """Write one record: the opcode then its fields (trailing None left out)."""
        n = len(fields)
        while n and fields[n - 1] is None:
            n -= 1
        try:
            if self.fmt == "binary":
                data = self._pack([op, *fields[:n]])
            else:
                ev: dict[str, Any] = {"ev": self._evnames[op]}
                for k, v in zip(self._names[op], fields[:n], strict=False):
                    if v is not None:
                        ev[k] = v
                data = _dumps(ev) + b"\n"
        except (TypeError, ValueError, OverflowError, IndexError) as e:
            raise TraceError(f"cannot encode record {[op, *fields]!r}: {e}") from None
        try:
            self._write(data)
        except OSError as e:
            raise self._failed(e) from None
        self.count += 1
        if self._pending is not None:
            self._raise_pending()

    def event(self, ev: str, /, **fields: Any) -> None:
        """Write one event by name: ``w.event("alloc", id=1, size=48)``."""
        spec = BY_NAME.get(ev)
        if spec is None:
            raise TraceError(f"unknown event {ev!r}")
        known = {f.name for f in spec.fields}
        extra = set(fields) - known
        if extra:
            raise TraceError(f"'{ev}' event has no field {sorted(extra)[0]!r}")
        self.record(spec.op, *(fields.get(f.name) for f in spec.fields))

    def end(self, *, truncated: bool = False) -> None:
        """Write the 'end' record: the count of events before it; ``truncated``: cut short."""
        self._closing = True
        self.record(OP_END, self.count, True if truncated else None)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        """Flush and close; a file written by path is put in place now, whole."""
        self._closing = True
        try:
            if self._out is not self._raw:
                self._out.close()  # writes the gzip trailer
            if self._file is not None:
                self._file.commit()
            else:
                self._raw.flush()
        except OSError as e:
            raise self._failed(e) from None
        self.closed = True
        if self._pending is not None and not self._interrupted:
            self._raise(self._pending)  # the trace is whole; now the signal acts

    def abort(self) -> None:
        """Close, leaving no file (what went to stdout or a device stays written)."""
        self._closing = True
        if self._out is not self._raw:
            with contextlib.suppress(OSError, ValueError):
                self._out.close()
        if self._file is not None:
            self._file.discard()

    def _failed(self, e: OSError) -> Exception:
        """A write failed (a full disk): no partial trace is left; the error to raise."""
        self.abort()
        return self._file.error(e) if self._file is not None else GoheapError(f"cannot write: {e}")

    # --- signals ---

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        """A SIGINT/SIGTERM handler: Interrupted is raised after the next whole record.

        Never here: the handler may run inside a record or a close, or inside
        the simulation's compiled code (a C-API call checking for signals),
        where an exception would end the process (goheap.interrupts).
        """
        if self._interrupted:
            return  # the first is being handled: the trace is being cut
        if self._pending is None:
            self._pending = signum

    def _raise_pending(self) -> None:
        if self._pending is not None and not self._closing:
            self._raise(self._pending)

    def _raise(self, signum: int) -> None:
        self._pending = None
        self._interrupted = True
        raise Interrupted(signum)

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def encode_records(
    records: list[list[Any]], *, fmt: str = "binary", header: dict[str, Any] | None = None
) -> bytes:
    """A whole trace in memory (for tests and small tools)."""
    buf = io.BytesIO()
    w = TraceWriter(buf, fmt=fmt, header=header)
    for rec in records:
        w.record(rec[0], *rec[1:])
    w.flush()
    return buf.getvalue()

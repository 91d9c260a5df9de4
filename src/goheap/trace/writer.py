"""Writing traces: ``TraceWriter`` streams records in either encoding."""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path
from typing import IO, Any

import msgpack

from goheap.errors import GoheapError
from goheap.trace.format import BY_NAME, BY_OP, FORMAT_VERSION, MAGIC, TraceError

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
        self._own = False
        raw: IO[bytes]
        if isinstance(out, (str, Path)):
            name = str(out)
            if name == "-":
                raw = sys.stdout.buffer
            else:
                try:
                    raw = open(name, "wb", buffering=1 << 16)  # noqa: SIM115
                except OSError as e:
                    raise GoheapError(f"cannot write {name}: {e.strerror}") from None
                self._own = True
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
        if fmt == "binary":
            self._write(MAGIC)
            self._write(self._pack(self.header))
        else:
            self._write(_dumps(self.header) + b"\n")

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
        self._write(data)
        self.count += 1

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

    def end(self) -> None:
        """Write the optional 'end' record (the count of events before it)."""
        self.record(BY_NAME["end"].op, self.count)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        """Flush and close (the underlying file only if this writer opened it)."""
        if self._out is not self._raw:
            self._out.close()  # writes the gzip trailer
        if self._own:
            self._raw.close()
        else:
            self._raw.flush()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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

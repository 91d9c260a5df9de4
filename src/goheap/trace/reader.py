"""Reading traces: ``open_trace`` detects the encoding and streams records.

Both encodings are read incrementally (a line, or a 64 KiB chunk fed to
msgpack's C unpacker, at a time), so memory does not grow with the file.
Every problem with the input is a ``TraceError`` naming the line (text) or
the byte offset of the record (binary) and what was expected.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NoReturn

import msgpack  # type: ignore[import-untyped]

from goheap.trace.format import (
    BY_NAME,
    BY_OP,
    GZIP_MAGIC,
    MAGIC,
    MAX_LINE,
    MAX_RECORD,
    OP_END,
    READ_CHUNK,
    TraceError,
    check_header,
    describe,
    field_error,
    record_to_event,
    validate_record,
)

try:
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - depends on the environment
    import json

    _loads = json.loads

Record = list[Any]

_NOPS = len(BY_OP)
_MIN_LEN = [spec.min_len for spec in BY_OP]
_MAX_LEN = [spec.max_len for spec in BY_OP]
# NDJSON: per event name, (opcode, field names, indexes of required fields in the record).
_NDJSON_SPECS: dict[str, tuple[int, tuple[str, ...], tuple[int, ...]]] = {
    spec.name: (
        spec.op,
        tuple(f.name for f in spec.fields),
        tuple(i for i, f in enumerate(spec.fields, 1) if f.required),
    )
    for spec in BY_OP
}
_GZIP_ERRORS = (OSError, EOFError, zlib.error)


def msgpack_reason(e: Exception) -> str:
    """msgpack's reason for a decode error; some of its errors carry no message."""
    text = str(e)
    if text:
        return text
    if isinstance(e, msgpack.FormatError):
        return "byte 0xc1 or another byte that starts no msgpack type"
    if isinstance(e, msgpack.StackError):
        return "arrays or maps nested deeper than msgpack's limit"
    return type(e).__name__


class TraceReader:
    """One trace file, opened: ``header``, ``encoding``, and its records or events.

    ``records()`` yields each record as a list ``[opcode, field...]`` (the
    binary form; NDJSON objects are converted), checked for shape only: a
    known opcode and every required field present. ``iter(reader)`` yields
    events as NDJSON-style dicts with every field checked. ``where()`` names
    the position of the last record yielded, for error messages.
    """

    def __init__(self, path: str | Path, fileobj: IO[bytes] | None = None) -> None:
        self.path = str(path)
        self.encoding = ""
        self.compressed = False
        self.ended = False  # an 'end' record was read
        self.truncated = False  # ... and it says the recording was cut short
        self.count = 0  # records yielded so far
        self._line = 0
        self._offset = 0
        self._base = 0
        self._own = fileobj is None
        if fileobj is None:
            try:
                fileobj = open(self.path, "rb")  # noqa: SIM115
            except OSError as e:
                raise TraceError(f"cannot read {self.path}: {e.strerror}") from None
        self._raw = fileobj
        try:
            self._open_stream(fileobj)
        except BaseException:
            self.close()
            raise

    # --- opening ---

    def _open_stream(self, raw: IO[bytes]) -> None:
        buffered: Any = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
        try:
            lead = buffered.peek(2)[:2]
        except OSError as e:
            raise TraceError(f"cannot read {self.path}: {e}") from None
        stream: Any = buffered
        if lead == GZIP_MAGIC:
            self.compressed = True
            stream = gzip.GzipFile(fileobj=buffered, mode="rb")
        self._stream = stream
        try:
            lead = stream.peek(1)[:1]
        except _GZIP_ERRORS as bad:  # (not e's name: mypyc gives a name one type)
            raise self.error(f"corrupt gzip data ({bad})") from None
        if not lead:
            raise TraceError(f"{self.path}: empty file, expected a goheap trace header")
        if lead == b"{":
            self.encoding = "ndjson"
            self._open_ndjson()
            return
        first = self._read(len(MAGIC))
        if first != MAGIC:
            raise TraceError(
                f"{self.path}: not a goheap trace (expected a JSON header line "
                f"starting with '{{' or the binary magic), found {describe(first)}"
            )
        self.encoding = "binary"
        self._open_binary()

    def _read(self, n: int) -> bytes:
        try:
            return self._stream.read(n)  # type: ignore[no-any-return]
        except _GZIP_ERRORS as e:
            raise self.error(f"corrupt gzip data ({e})") from None

    def _readline(self) -> bytes:
        try:
            return self._stream.readline(MAX_LINE)  # type: ignore[no-any-return]
        except _GZIP_ERRORS as e:
            raise self.error(f"corrupt gzip data ({e})") from None

    def _open_ndjson(self) -> None:
        self._line = 1
        line = self._readline()
        if len(line) >= MAX_LINE and not line.endswith(b"\n"):
            raise self.error(f"line longer than {MAX_LINE} bytes")
        try:
            header = _loads(line)
        except Exception as e:
            raise self.error(f"the header is not valid JSON ({e})") from None
        self.header = self._checked_header(header)

    def _open_binary(self) -> None:
        self._base = len(MAGIC)
        self._offset = len(MAGIC)
        self._up = msgpack.Unpacker(
            use_list=True,
            raw=False,
            strict_map_key=True,
            max_buffer_size=MAX_RECORD + READ_CHUNK,
        )
        self._fed = 0
        self._end = len(MAGIC)
        header = self._next_binary()
        if header is None:
            raise self.error("the file ends before the header")
        self.header = self._checked_header(header)

    def _checked_header(self, header: Any) -> dict[str, Any]:
        try:
            return check_header(header)
        except TraceError as e:
            raise self.error(e.detail) from None

    # --- positions and errors ---

    def where(self) -> str:
        """The position of the last record read: 'PATH line N' or 'PATH byte N'."""
        if self.encoding == "binary":
            extra = " (decompressed)" if self.compressed else ""
            return f"{self.path} byte {self._offset}{extra}"
        if self.encoding == "ndjson":
            return f"{self.path} line {self._line}"
        return self.path  # the encoding is not known yet

    def error(self, message: str) -> TraceError:
        """A TraceError at the last record read (for errors found by its consumer)."""
        if self.encoding == "binary":
            return TraceError(message, where=self.where(), offset=self._offset)
        return TraceError(message, where=self.where(), line=self._line or None)

    # --- binary ---

    def _refill(self) -> bool:
        """Feed the unpacker the next chunk; False at the end of the file."""
        chunk = self._read(READ_CHUNK)
        if not chunk:
            return False
        try:
            self._up.feed(chunk)
        except msgpack.BufferFull:
            self._offset = self._end
            raise self.error(f"record larger than {MAX_RECORD} bytes") from None
        self._fed += len(chunk)
        return True

    def _at_eof(self) -> None:
        """The file ended: fine between records, an error inside one."""
        self._offset = self._end
        # (The unpacker's tell() moves into a partial object, so use _end.)
        left = self._fed - (self._end - self._base)
        if left:
            raise self.error(f"truncated record: the file ends {left} byte(s) into it")

    def _next_binary(self) -> Any:
        """The next msgpack object (its start in self._offset), or None at the end."""
        up = self._up
        while True:
            try:
                obj = next(up)
            except StopIteration:
                if not self._refill():
                    self._at_eof()
                    return None
                continue
            except Exception as e:
                self._offset = self._end
                raise self.error(self._bad_record(e)) from None
            self._offset = self._end
            self._end = self._base + up.tell()
            return obj

    def _bad_record(self, e: Exception) -> str:
        """What is wrong with the record msgpack could not decode, and which record it is."""
        which = (
            "the header" if getattr(self, "header", None) is None else f"record {self.count + 1}"
        )
        return f"{which} is not valid msgpack ({msgpack_reason(e)})"

    def _binary_records(self) -> Iterator[Record]:
        up = self._up
        tell = up.tell
        base = self._base
        nops = _NOPS
        min_len = _MIN_LEN
        max_len = _MAX_LEN
        end = self._end
        while True:
            try:
                rec = next(up)
            except StopIteration:
                self._end = end
                if not self._refill():
                    self._at_eof()
                    return
                continue
            except Exception as e:
                self._offset = end
                raise self.error(self._bad_record(e)) from None
            self._offset = end  # where this record starts
            end = base + tell()
            if type(rec) is not list or not rec:
                raise self.error(
                    f"expected a record (an array starting with an opcode), got {describe(rec)}"
                )
            op = rec[0]
            if type(op) is not int or not 0 <= op < nops:
                raise self.error(f"unknown opcode {describe(op)}")
            n = len(rec)
            if n < min_len[op]:
                spec = BY_OP[op]
                raise self.error(field_error(spec, spec.fields[n - 1], None))
            if n > max_len[op]:
                del rec[max_len[op] :]  # fields from a later minor revision: ignored
            if op == OP_END:
                self._check_end(rec)
                self._end = end
                if self._next_binary() is not None:
                    raise self.error("a record follows the 'end' record")
                return
            self.count += 1
            yield rec

    # --- NDJSON ---

    def _lines(self) -> Iterator[bytes]:
        """The lines after the header, without their newlines, read 64 KiB at a time.

        What ``readline(MAX_LINE)`` checked, line by line: a line of
        ``MAX_LINE`` bytes or more (its newline aside) is an error, raised
        once the lines before it have been read. The last line may lack its
        newline.
        """
        read = self._read
        held: list[bytes] = []  # the start of a line that continues in the next chunk
        size = 0
        while True:
            chunk = read(READ_CHUNK)
            if not chunk:
                break
            if b"\n" not in chunk:
                held.append(chunk)
                size += len(chunk)
                if size >= MAX_LINE:
                    self._too_long()
                continue
            if held:
                held.append(chunk)
                chunk = b"".join(held)
                held = []
            lines = chunk.split(b"\n")
            tail = lines.pop()
            for line in lines:
                if len(line) >= MAX_LINE:
                    self._too_long()
                yield line
            size = len(tail)
            if tail:
                held.append(tail)
                if size >= MAX_LINE:
                    self._too_long()
        if held:
            yield b"".join(held)

    def _too_long(self) -> NoReturn:
        """The line after the last one read is too long."""
        self._line += 1
        raise self.error(f"line longer than {MAX_LINE} bytes")

    def _ndjson_records(self) -> Iterator[Record]:
        loads = _loads
        specs = _NDJSON_SPECS
        try:
            lines = self._lines()
            for line in lines:
                self._line += 1
                try:
                    obj = loads(line)
                except Exception as e:
                    if not line.strip():
                        continue  # blank lines are allowed
                    raise self.error(f"not valid JSON ({e})") from None
                if type(obj) is not dict:
                    raise self.error(f"expected a JSON object, got {describe(obj)}")
                name = obj.get("ev")
                spec = specs.get(name) if type(name) is str else None
                if spec is None:
                    if "ev" not in obj:
                        raise self.error("the event has no 'ev' (its kind)")
                    raise self.error(f"unknown event {describe(name)}")
                op, names, required = spec
                rec: Record = [op]
                for field in names:
                    rec.append(obj.get(field))
                for i in required:
                    if rec[i] is None:
                        s = BY_OP[op]
                        raise self.error(field_error(s, s.fields[i - 1], None))
                while rec[-1] is None:  # absent optional fields: the record the binary form gives
                    rec.pop()
                if op == OP_END:
                    self._check_end(rec)
                    for rest in lines:
                        self._line += 1
                        if rest.strip():
                            raise self.error("a line follows the 'end' event")
                    return
                self.count += 1
                yield rec
        finally:
            self.close()

    def _check_end(self, rec: Record) -> None:
        n = rec[1]
        if type(n) is not int or n != self.count:
            raise self.error(
                f"'end' event counts {describe(n)} events but {self.count} came before it"
            )
        truncated = rec[2] if len(rec) > 2 else None
        if truncated is not None and type(truncated) is not bool:
            spec = BY_NAME["end"]
            raise self.error(field_error(spec, spec.fields[1], truncated))
        self.ended = True
        self.truncated = bool(truncated)

    # --- public iteration ---

    def records(self) -> Iterator[Record]:
        """Shape-checked records ``[opcode, field...]`` (see the class doc).

        The file is closed when they end (or the iterator is closed).
        """
        return self._binary_records() if self.encoding == "binary" else self._ndjson_records()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Events as dicts ``{"ev": name, field: value}``, every field checked."""
        for rec in self.records():
            try:
                validate_record(rec)
            except TraceError as e:
                raise self.error(e.detail) from None
            yield record_to_event(rec)

    def close(self) -> None:
        stream = getattr(self, "_stream", None)
        if stream is not None and stream is not self._raw and isinstance(stream, gzip.GzipFile):
            stream.close()
        if self._own:
            self._raw.close()

    def __enter__(self) -> TraceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_trace(path: str | Path) -> TraceReader:
    """Open a trace file (NDJSON or binary, optionally gzip-compressed) and read its header."""
    return TraceReader(path)


def open_trace_bytes(data: bytes, name: str = "<trace>") -> TraceReader:
    """A trace held in memory (tests, small tools)."""
    return TraceReader(name, io.BytesIO(data))


__all__ = ["BY_NAME", "TraceReader", "open_trace", "open_trace_bytes"]

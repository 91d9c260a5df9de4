"""Reading traces: ``open_trace`` detects the encoding and streams records.

Both encodings are read incrementally, 64 KiB at a time, so memory does not
grow with the file, and decoded in batches (``goheap.trace.scan``): the
common records by the compiled scanners, the rest by msgpack's C unpacker
or orjson. Every problem with the input is a ``TraceError`` naming the line
(text) or the byte offset of the record (binary) and what was expected.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NoReturn

import msgpack  # type: ignore[import-untyped]

from goheap.trace import scan as _scan_module
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
from goheap.trace.scan import (
    BATCH_RECORDS,
    Batch,
    NdjsonNames,
    fast_shapes,
    scan_binary,
    scan_ndjson,
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
#: The scanners decode the common records when compiled (interpreted, the C decoders are faster).
FAST_SCAN = not str(_scan_module.__file__).endswith(".py")
_SHAPES = fast_shapes(_MIN_LEN, _MAX_LEN, OP_END)
_NAMES = NdjsonNames(
    [spec.name for spec in BY_OP],
    [[f.name for f in spec.fields] for spec in BY_OP],
    [spec.min_len - 1 for spec in BY_OP],
)


def _unpacker() -> Any:
    """msgpack's decoder, as the binary form needs it; fed at most 2 * MAX_RECORD bytes.

    Its limits on one string, array or map are those of a decoder whose
    buffer holds a record and a chunk, as when it was fed chunk by chunk.
    """
    most = MAX_RECORD + READ_CHUNK
    return msgpack.Unpacker(
        use_list=True,
        raw=False,
        strict_map_key=True,
        max_buffer_size=2 * most,
        max_str_len=most,
        max_bin_len=most,
        max_array_len=most,
        max_map_len=most // 2,
        max_ext_len=most,
    )


def _truncated(left: int) -> str:
    return f"truncated record: the file ends {left} byte(s) into it"


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
        self._line = 0  # NDJSON: the line of the last record read (where())
        self._offset = 0  # binary: the byte offset of the last record read (where())
        self._lines_read = 0  # NDJSON: lines decoded so far
        self._data = b""  # read, not yet decoded (from a record's or a line's start)
        self._pos = 0  # where decoding stands in _data
        self._base = 0  # binary: _data[0]'s byte offset
        self._fed = 0  # bytes read after the magic (binary)
        self._pending: tuple[str, int] | None = None  # a problem found after the records decoded
        self._finished = False
        self._batch = Batch()
        self._scan = FAST_SCAN
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
        self._lines_read = 1
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
        while True:
            up = _unpacker()
            up.feed(self._data)
            try:
                header = next(up)
            except StopIteration:
                if self._more():
                    continue
                if self._failed():
                    self._raise_pending()
                if self._data:
                    raise self.error(_truncated(len(self._data))) from None
                raise self.error("the file ends before the header") from None
            except Exception as e:
                raise self.error(self._bad_record(e)) from None
            self._pos = up.tell()
            self.header = self._checked_header(header)
            return

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

    def error_at(self, where: int, message: str) -> TraceError:
        """A TraceError at a record of a batch (``Batch.where(i)``)."""
        self._at(where)
        return self.error(message)

    def _at(self, where: int) -> None:
        """Make `where` (a byte offset or line number) the position of the last record read."""
        if self.encoding == "binary":
            self._offset = where
        else:
            self._line = where

    def _fail(self, message: str, where: int) -> None:
        """A problem with the input at `where`: raised once the records before it are used."""
        self._pending = (message, where)

    def _failed(self) -> bool:
        """Whether a problem waits (a call: compiled, a test of the attribute stays narrowed)."""
        return self._pending is not None

    def _raise_pending(self) -> NoReturn:
        assert self._pending is not None
        message, where = self._pending
        self._finished = True
        raise self.error_at(where, message)

    # --- batches ---

    def batches(self) -> Iterator[Batch]:
        """The records in batches (``goheap.trace.scan.Batch``), shape-checked as ``records()``.

        Each batch is valid until the next is asked for. A problem with the
        input is raised when the batch after the records before it is asked
        for. The file is closed when they end (or the iterator is closed).
        """
        try:
            while True:
                b = self._next_batch()
                if b is None:
                    return
                yield b
        finally:
            self.close()

    def _next_batch(self) -> Batch | None:
        """The next batch of records, None at the end; raises a problem found after the last."""
        b = self._batch
        b.clear()
        if self._failed():
            self._raise_pending()
        if self._finished:
            self._at(self._position())
            return None
        try:
            if self.encoding == "binary":
                self._fill_binary(b)
            else:
                self._fill_ndjson(b)
        except TraceError as e:  # the stream itself (corrupt gzip data)
            self._fail(e.detail, self._position())
        if b.n == 0:
            if self._failed():
                self._raise_pending()
            self._finished = True
            self._at(self._position())
            return None
        return b

    def _position(self) -> int:
        """Where decoding stands: the next record's byte offset, or the last line's number."""
        return self._base + self._pos if self.encoding == "binary" else self._lines_read

    # --- binary ---

    def _more(self) -> bool:
        """Append the next chunk to the data not yet decoded; False at the end of the file.

        A record longer than a chunk reads as much again as it holds so far
        (the copying stays linear).
        """
        left = len(self._data) - self._pos
        if left > MAX_RECORD:
            self._fail(f"record larger than {MAX_RECORD} bytes", self._base + self._pos)
            return False
        chunk = self._read(max(READ_CHUNK, left))
        if not chunk:
            return False
        self._base += self._pos
        self._data = self._data[self._pos :] + chunk if left else chunk
        self._pos = 0
        self._fed += len(chunk)
        return True

    def _fill_binary(self, b: Batch) -> None:
        """Decode binary records into b until it is full, the file ends or a problem comes."""
        while b.n < BATCH_RECORDS and not self._failed():
            if self._scan and not self.ended:
                n = b.n
                self._pos, b.n = scan_binary(self._data, self._pos, b.words, n, self._base, _SHAPES)
                self.count += b.n - n
                if b.n >= BATCH_RECORDS:
                    return
            if self._pos < len(self._data):
                pos = self._pos
                self._general_binary(b)
                if self._pos > pos or self._failed():
                    continue
            if not self._more():
                if not self._failed() and self._pos < len(self._data):
                    left = len(self._data) - self._pos
                    self._fail(_truncated(left), self._base + self._pos)
                self._finished = not self._failed()
                return

    def _general_binary(self, b: Batch) -> None:
        """Decode records with msgpack from the current position to the end of the data.

        It stops early when b is full or at a problem, and before a record
        the data ends inside.
        """
        data = self._data
        start = self._pos
        base = self._base
        up = _unpacker()
        up.feed(memoryview(data)[start:])
        tell = up.tell
        p = start
        while b.n < BATCH_RECORDS:
            try:
                rec = next(up)
            except StopIteration:
                break
            except Exception as e:
                self._fail(self._bad_record(e), base + p)
                break
            problem = self._check_binary(rec)
            if problem:
                self._fail(problem, base + p)
                break
            if rec[0] == OP_END:
                problem = self._check_end(rec)
                if problem:
                    self._fail(problem, base + p)
                    break
            else:
                self.count += 1
                b.add(rec, base + p)
            p = start + tell()
        self._pos = p

    def _check_binary(self, rec: Any) -> str:
        """What is wrong with a decoded binary record's shape ('' if nothing; see records())."""
        if self.ended:
            return "a record follows the 'end' record"
        if type(rec) is not list or not rec:
            return f"expected a record (an array starting with an opcode), got {describe(rec)}"
        op = rec[0]
        if type(op) is not int or not 0 <= op < _NOPS:
            return f"unknown opcode {describe(op)}"
        n = len(rec)
        if n < _MIN_LEN[op]:
            spec = BY_OP[op]
            return field_error(spec, spec.fields[n - 1], None)
        if n > _MAX_LEN[op]:
            del rec[_MAX_LEN[op] :]  # fields from a later minor revision: ignored
        return ""

    def _bad_record(self, e: Exception) -> str:
        """What is wrong with the record msgpack could not decode, and which record it is."""
        which = (
            "the header" if getattr(self, "header", None) is None else f"record {self.count + 1}"
        )
        return f"{which} is not valid msgpack ({msgpack_reason(e)})"

    # --- NDJSON ---

    def _more_text(self) -> bool:
        """Read until the data not yet decoded holds a newline; False at the end of the file.

        A line of ``MAX_LINE`` bytes or more (its newline aside) is a problem
        at its number, found once the lines before it are decoded. At the end
        of the file the data holds the last line, which may lack its newline.
        """
        held = [self._data[self._pos :]]
        size = len(held[0])
        while True:
            chunk = self._read(READ_CHUNK)
            if not chunk or b"\n" in chunk:
                held.append(chunk)
                self._data = b"".join(held)
                self._pos = 0
                return bool(chunk)
            held.append(chunk)
            size += len(chunk)
            if size >= MAX_LINE:
                self._fail(f"line longer than {MAX_LINE} bytes", self._lines_read + 1)
                return False

    def _fill_ndjson(self, b: Batch) -> None:
        """Decode NDJSON lines into b until it is full, the file ends or a problem comes."""
        while b.n < BATCH_RECORDS and not self._failed():
            if self._scan and not self.ended:
                n = b.n
                self._pos, b.n, self._lines_read = scan_ndjson(
                    self._data, self._pos, b.words, n, self._lines_read, _NAMES, OP_END
                )
                self.count += b.n - n
                if b.n >= BATCH_RECORDS:
                    return
            data = self._data
            e = data.find(b"\n", self._pos)
            if e >= 0:
                self._general_line(b, data[self._pos : e])
                self._pos = e + 1
            elif not self._more_text():
                if not self._failed() and self._pos < len(self._data):
                    self._general_line(b, self._data[self._pos :])
                    self._pos = len(self._data)
                self._finished = not self._failed()
                return

    def _general_line(self, b: Batch, line: bytes) -> None:
        """Decode one line with orjson (json) into b; a problem with it is kept for later."""
        self._lines_read += 1
        at = self._lines_read
        if len(line) >= MAX_LINE:
            self._fail(f"line longer than {MAX_LINE} bytes", at)
            return
        if self.ended:
            if line.strip():
                self._fail("a line follows the 'end' event", at)
            return
        try:
            obj = _loads(line)
        except Exception as e:
            if line.strip():  # blank lines are allowed
                self._fail(f"not valid JSON ({e})", at)
            return
        rec = self._ndjson_record(obj)
        if isinstance(rec, str):
            self._fail(rec, at)
        elif rec[0] == OP_END:
            problem = self._check_end(rec)
            if problem:
                self._fail(problem, at)
        else:
            self.count += 1
            b.add(rec, at)

    def _ndjson_record(self, obj: Any) -> Record | str:
        """A decoded line as a record, or what is wrong with it."""
        if type(obj) is not dict:
            return f"expected a JSON object, got {describe(obj)}"
        name = obj.get("ev")
        spec = _NDJSON_SPECS.get(name) if type(name) is str else None
        if spec is None:
            if "ev" not in obj:
                return "the event has no 'ev' (its kind)"
            return f"unknown event {describe(name)}"
        op, names, required = spec
        rec: Record = [op]
        for field in names:
            rec.append(obj.get(field))
        for i in required:
            if rec[i] is None:
                s = BY_OP[op]
                return field_error(s, s.fields[i - 1], None)
        while rec[-1] is None:  # absent optional fields: the record the binary form gives
            rec.pop()
        return rec

    def _check_end(self, rec: Record) -> str:
        """Take an 'end' record; what is wrong with it ('' if nothing)."""
        n = rec[1]
        if type(n) is not int or n != self.count:
            return f"'end' event counts {describe(n)} events but {self.count} came before it"
        truncated = rec[2] if len(rec) > 2 else None
        if truncated is not None and type(truncated) is not bool:
            spec = BY_NAME["end"]
            return field_error(spec, spec.fields[1], truncated)
        self.ended = True
        self.truncated = bool(truncated)
        return ""

    # --- public iteration ---

    def records(self) -> Iterator[Record]:
        """Shape-checked records ``[opcode, field...]`` (see the class doc).

        The file is closed when they end (or the iterator is closed).
        """
        for b in self.batches():
            for i in range(b.n):
                self._at(b.where(i))
                yield b.record(i)

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

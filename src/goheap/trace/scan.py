"""Decoding trace records in bulk: a batch of records as words, no Python object per record.

A ``Batch`` holds up to ``BATCH_RECORDS`` records, each as ``STRIDE``
words of one ``Q`` memoryview: its code, where it starts (the byte offset
of a binary record, the line number of an NDJSON one) and its fields. The
code is ``op | n << 5 | nils << 9``: ``n`` elements counting the opcode,
bit ``j - 1`` of ``nils`` set when field ``j`` is null. A code from
``GENERAL`` up says the record is ``others[code - GENERAL]``, the list the
general decoder (msgpack, orjson) made.

``scan_binary`` and ``scan_ndjson`` decode the common records themselves,
byte by byte: a binary record that is a msgpack fixarray of at most 8
elements whose opcode is a positive fixint and whose fields are unsigned
integers below 2^62 or nil, and an NDJSON line written as ``TraceWriter``
writes it (``{"ev":"NAME","FIELD":INT,...}``, no spaces, the fields in the
table's order, plain decimal integers of at most 18 digits). Each stops at
the first record it does not take, or that the data ends inside, and
leaves it to the reader's general path: whatever such a record holds
(another encoding, an error), msgpack or orjson decides, as before. What
they take decodes to exactly the list the general path would give, which
``tests/test_trace_scan.py`` checks.

Compiled (mypyc), the loops run at C speed, a few hundred instructions a
record; the reader uses them only then (``reader.FAST_SCAN``): interpreted
they would be slower than msgpack's and orjson's C.
"""

from __future__ import annotations

from typing import Any, Final

from goheap.runtime.common.wordmem import load64, store64

STRIDE: Final = 9  # words a record takes: code, where, 7 fields
BATCH_RECORDS: Final = 4096
GENERAL: Final = 1 << 20  # codes from here up: the record is others[code - GENERAL]
_NIL_SHIFT: Final = 8  # field j null: bit j + 8 of the code (j from 1)
_MAX_FIELDS: Final = 7
_BIG: Final = 0x40  # a uint64's first byte from this up: 2^62 or more, left to msgpack
_MAX_DIGITS: Final = 18  # below 10^18 < 2^62


class Batch:
    """Records decoded together (see the module doc); valid until the reader's next batch."""

    def __init__(self) -> None:
        self.n = 0
        self.buf = bytearray(8 * STRIDE * BATCH_RECORDS)
        self.words = memoryview(self.buf).cast("Q")
        self.others: list[list[Any]] = []

    def clear(self) -> None:
        self.n = 0
        self.others.clear()

    def code(self, i: int) -> int:
        return load64(self.words, i * STRIDE)

    def where(self, i: int) -> int:
        """Record i's byte offset (binary) or line number (NDJSON)."""
        return load64(self.words, i * STRIDE + 1)

    def record(self, i: int) -> list[Any]:
        """Record i as the list ``[op, field...]`` the general decoder gives."""
        w = self.words
        at = i * STRIDE
        code = load64(w, at)
        if code >= GENERAL:
            return self.others[code - GENERAL]
        rec: list[Any] = [code & 31]
        for j in range(1, (code >> 5) & 15):
            rec.append(None if (code >> (j + _NIL_SHIFT)) & 1 else load64(w, at + 1 + j))
        return rec

    def add(self, rec: list[Any], where: int) -> None:
        """Append a record the general decoder made."""
        at = self.n * STRIDE
        store64(self.words, at, GENERAL + len(self.others))
        store64(self.words, at + 1, where)
        self.others.append(rec)
        self.n += 1


def fast_shapes(min_len: list[int], max_len: list[int], skip: int) -> list[bool]:
    """Which (op, n elements) the scanners take: ``shapes[op * 9 + n]`` (op < 32, not `skip`)."""
    shapes = [False] * (32 * 9)
    for op in range(len(min_len)):
        for n in range(min_len[op], min(max_len[op], _MAX_FIELDS + 1) + 1):
            shapes[op * 9 + n] = op != skip
    return shapes


def _uint(data: bytes, q: int, size: int) -> int:
    """The big-endian unsigned integer of `size` bytes at data[q]."""
    v = 0
    for i in range(q, q + size):
        v = (v << 8) | data[i]
    return v


def scan_binary(
    data: bytes, p: int, words: memoryview, k: int, base: int, shapes: list[bool]
) -> tuple[int, int]:
    """Decode binary records from data[p] on as records k, k+1, ... of a batch.

    ``base`` is data[0]'s offset in the file. Returns (p, k) after the last
    record decoded: p is then at the end of data, at a record the data ends
    inside, at one this does not take, or k is ``BATCH_RECORDS``.
    """
    end = len(data)
    while k < BATCH_RECORDS and p + 1 < end:
        n = data[p] - 0x90
        if n < 1 or n > 8:
            break
        op = data[p + 1]
        if op >= 32 or not shapes[op * 9 + n]:
            break
        at = k * STRIDE
        q = p + 2
        nils = 0
        j = 1
        while j < n and q < end:
            c = data[q]
            if c < 0x80:
                v = c
                q += 1
            elif c == 0xC0:
                v = 0
                nils |= 1 << (j + _NIL_SHIFT)
                q += 1
            elif c == 0xCC and q + 1 < end:  # uint8
                v = data[q + 1]
                q += 2
            elif c == 0xCD and q + 2 < end:  # uint16
                v = data[q + 1] << 8 | data[q + 2]
                q += 3
            elif c == 0xCE and q + 4 < end:  # uint32
                v = data[q + 1] << 24 | data[q + 2] << 16 | data[q + 3] << 8 | data[q + 4]
                q += 5
            elif c == 0xCF and q + 8 < end and data[q + 1] < _BIG:  # uint64 below 2^62
                v = _uint(data, q + 1, 8)
                q += 9
            else:
                break
            store64(words, at + 1 + j, v)
            j += 1
        if j < n:
            break  # the data ends inside it, or a field this does not take
        store64(words, at, op | n << 5 | nils)
        store64(words, at + 1, base + p)
        p = q
        k += 1
    return p, k


class NdjsonNames:
    """The bytes the NDJSON scanner compares: event names and field keys, by opcode."""

    def __init__(self, names: list[str], fields: list[list[str]], required: list[int]) -> None:
        self.names = [f'{{"ev":"{name}"'.encode() for name in names]
        self.keys = [[f',"{f}":'.encode() for f in fs] for fs in fields]
        self.required = required  # fields 1..required[op] must be present
        self.required_nils = [((1 << r) - 1) << (1 + _NIL_SHIFT) for r in required]
        self.by_first: list[list[int]] = [[] for _ in range(256)]
        for op, name in enumerate(names):
            self.by_first[ord(name[0])].append(op)


def _match(data: bytes, q: int, lit: bytes) -> bool:
    """Whether data holds lit at q (compiled: a slice and a memcmp beat a loop over bytes)."""
    return data[q : q + len(lit)] == lit


def _name(data: bytes, p: int, names: NdjsonNames, skip: int) -> int:
    """The opcode of the line at p if it starts '{"ev":"NAME"' (never `skip`); -1: not so."""
    if p + 7 >= len(data):
        return -1
    for op in names.by_first[data[p + 7]]:
        if op != skip and _match(data, p, names.names[op]):
            return op
    return -1


def scan_ndjson(
    data: bytes, p: int, words: memoryview, k: int, line: int, names: NdjsonNames, skip: int
) -> tuple[int, int, int]:
    """Decode NDJSON lines from data[p] (a line's start) on as records k, k+1, ...

    ``line`` is the number of the line before p. Returns (p, k, line) after
    the last line decoded: p is then at a line this does not take (or that
    the data ends inside), or k is ``BATCH_RECORDS``.
    """
    end = len(data)
    while k < BATCH_RECORDS:
        op = _name(data, p, names, skip)
        if op < 0:
            break
        keys = names.keys[op]
        q = p + len(names.names[op])
        at = k * STRIDE
        nils = 0
        j = 1  # the next field: keys[j - 1]
        ok = True
        while q < end and data[q] == 44:  # ','
            while j <= len(keys) and not _match(data, q, keys[j - 1]):
                nils |= 1 << (j + _NIL_SHIFT)
                j += 1
            if j > _MAX_FIELDS or j > len(keys):
                ok = False
                break
            q += len(keys[j - 1])
            v = 0
            d = q
            while q < end and 48 <= data[q] <= 57:
                v = v * 10 + data[q] - 48
                q += 1
            if q == d or q - d > _MAX_DIGITS or (data[d] == 48 and q - d > 1):
                ok = False
                break
            store64(words, at + 1 + j, v)
            j += 1
        if not ok or j <= names.required[op] or nils & names.required_nils[op] or q + 1 >= end:
            break
        if data[q] != 125 or data[q + 1] != 10:  # '}' '\n'
            break
        line += 1
        store64(words, at, op | j << 5 | nils)
        store64(words, at + 1, line)
        p = q + 2
        k += 1
    return p, k, line

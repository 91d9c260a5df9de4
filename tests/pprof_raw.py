"""Reading `go tool pprof -raw` output in tests: the samples Go's pprof sees."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from goheap.pprof.model import Frame

_RAW_SAMPLE = re.compile(r"\s*(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+):((?:\s+\d+)*)\s*")
_RAW_LOC = re.compile(r"\s*(\d+): 0x([0-9a-f]+)(?: M=\d+)?(.*)")
_RAW_LINE = re.compile(r"\s*(.*?) (\S*):(-?\d+):-?\d+ s=-?\d+")


def raw_samples(raw: str, *, skip_zero: bool = False) -> Counter[tuple[object, ...]]:
    """`go tool pprof -raw`'s samples as (values, bytes label, frames), negative values too.

    ``skip_zero`` leaves out samples whose four values are all zero.
    """
    lines = raw.splitlines()
    samples: list[list[Any]] = []
    locs: dict[int, list[Frame]] = {}
    i = lines.index("Samples:") + 2
    while not lines[i].startswith("Locations"):
        m = _RAW_SAMPLE.fullmatch(lines[i])
        if m:
            samples.append([tuple(map(int, m.group(1, 2, 3, 4))), None, m.group(5).split()])
        elif "bytes:[" in lines[i]:
            samples[-1][1] = int(lines[i].split("bytes:[")[1].rstrip("]"))
        i += 1
    current: list[Frame] = []
    for line in lines[i + 1 :]:
        if line.startswith("Mappings"):
            break
        m = _RAW_LOC.fullmatch(line)
        if m:
            current = locs[int(m.group(1))] = []
            rest = m.group(3).strip()
            if not rest:
                current.append(Frame(f"0x{m.group(2)}"))
                continue
            line = rest
        ln = _RAW_LINE.fullmatch(line)
        assert ln, line
        current.append(Frame(ln.group(1), ln.group(2), int(ln.group(3))))
    out: Counter[tuple[object, ...]] = Counter()
    for vals, size, ids in samples:
        if skip_zero and not any(vals):
            continue
        out[(vals, size, tuple(f for lid in ids for f in locs[int(lid)]))] += 1
    return out

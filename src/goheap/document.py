"""The JSON every ``--json`` writes: versioned documents, as ``docs/json.md`` describes them.

A command's results (``goheap.runner``'s dict, an analysis, a validation
report) become a *document*: an object whose first two fields are
``"schema": "goheap/1"`` and ``"kind"`` (the command), then the results with
three changes of form, never of value:

* ``PauseNs`` and ``PauseEnd`` (Go's 256-entry rings) keep only the entries
  Go has written: the first ``min(NumGC, 256)``. Go's own indexing holds:
  the latest pause is ``PauseNs[(NumGC+255) % 256]``.
* Addresses are hex strings, as Go prints a pointer (``"0xc000010000"``):
  ``spans.arena_start`` and the workload result fields the workload names.
* A number that is not finite (the open bound of a histogram, Go's +Inf) is
  ``null``: JSON has no infinity.

``docs/json-schema/goheap-1.json`` is the schema; ``SCHEMA`` changes only as
``docs/json.md`` says (a field removed, renamed or given a new meaning).
Below every command, it imports nothing of goheap but its errors.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

#: The schema every document names: "goheap/<major>".
SCHEMA = "goheap/1"
#: Go's MemStats.PauseNs and PauseEnd are rings of this many entries.
PAUSE_RING = 256


def document(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as a document of ``kind``: the schema and kind first, then its fields."""
    rest = {k: v for k, v in body.items() if k not in ("schema", "kind")}
    return {"schema": SCHEMA, "kind": kind, **rest}


def run_body(result: dict[str, Any], addresses: Iterable[str] = ()) -> dict[str, Any]:
    """A run's results (run, record, replay, each run of compare) in the documented form.

    ``addresses`` names the fields of ``result["result"]`` that are addresses.
    """
    out = dict(result)
    ms = result.get("memstats")
    if isinstance(ms, dict):
        filled = min(int(ms.get("NumGC", 0)), PAUSE_RING)
        out["memstats"] = {
            k: v[:filled] if k in ("PauseNs", "PauseEnd") else v for k, v in ms.items()
        }
    spans = result.get("spans")
    if isinstance(spans, dict) and "arena_start" in spans:
        out["spans"] = {**spans, "arena_start": hex_address(spans["arena_start"])}
    own = result.get("result")
    if isinstance(own, dict):
        names = set(addresses)
        out["result"] = {k: hex_address(v) if k in names else v for k, v in own.items()}
    return out


def hex_address(value: Any) -> Any:
    """An address as Go prints a pointer (``0xc000010000``); anything else unchanged."""
    return f"{value:#x}" if isinstance(value, int) and not isinstance(value, bool) else value


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (in lists and objects too) made None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps(doc: dict[str, Any]) -> str:
    """The document as the text ``--json`` writes: strict JSON, indented by one, a newline."""
    return json.dumps(finite(doc), indent=1, allow_nan=False) + "\n"

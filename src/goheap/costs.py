"""Which costs a heap's clock runs on: the built-in figures, or a calibration file.

The built-in ``CostModel`` (``goheap.runtime.common.clock``, docs/model.md
"The clock") is the default everywhere, so a run gives the same numbers on
every machine. ``goheap calibrate`` measures the costs on the user's own
machine and writes them as a ``goheap/1`` document of kind ``calibration``
(docs/json.md); a run uses it only when asked (``Heap(costs=PATH)``, the
CLI's ``--costs PATH`` or ``GOHEAP_COSTS``). A run names the costs it used
(``Costs.name``: ``built-in``, ``calibrated 2026-12-05`` or ``custom``).

A calibration file is refused, with one line saying what and where, when it
is missing or unreadable, not a calibration document, or has a field that is
unknown, negative or not a finite number. Fields it lacks keep their
built-in figures (a file written before a field existed still loads).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from typing import Any, Final

from goheap.document import SCHEMA
from goheap.errors import GoheapError
from goheap.runtime.common.clock import CostModel

#: The ``kind`` of a calibration document.
CALIBRATION: Final = "calibration"
#: The name of the built-in figures.
BUILT_IN: Final = "built-in"
#: The name of a CostModel given in code that differs from the built-in one.
CUSTOM: Final = "custom"
#: Fields that count bytes (whole, positive); every other field is nanoseconds.
INTEGER_FIELDS: Final = ("llc_bytes", "mark_llc_bytes")
#: Fields calibration files once carried that no clock read: skipped, so the file
#: still loads with every figure it gives (``write_ns``, a pointer store by the
#: program, was an estimate the clock never charged).
RETIRED_FIELDS: Final = ("write_ns",)


@dataclass(frozen=True)
class Costs:
    """The costs a heap runs on, by name; ``file`` is the calibration read, if any."""

    model: CostModel
    name: str = BUILT_IN
    file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What a run's JSON says of its costs: the name, the file and every figure."""
        return {"name": self.name, "file": self.file, "fields": cost_fields(self.model)}


def cost_fields(model: CostModel) -> dict[str, float | int]:
    """Every figure of the model, by field name, in declaration order."""
    return {f.name: getattr(model, f.name) for f in dataclasses.fields(model)}


def field_names() -> tuple[str, ...]:
    """The names of CostModel's fields."""
    return tuple(f.name for f in dataclasses.fields(CostModel))


def model_from_fields(values: object, where: str) -> CostModel:
    """A CostModel from ``{field: value}``: defaults for what is missing; bad values refused."""
    if not isinstance(values, dict):
        raise GoheapError(f"{where}: 'costs' must be an object of CostModel fields")
    known = set(field_names())
    values = {k: v for k, v in values.items() if k not in RETIRED_FIELDS}
    unknown = sorted(set(values) - known)
    if unknown:
        raise GoheapError(
            f"{where}: unknown cost field {unknown[0]!r} (re-run goheap calibrate; "
            f"known: {', '.join(sorted(known))})"
        )
    out: dict[str, float | int] = {}
    for name, value in values.items():
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or value < 0:
            raise GoheapError(
                f"{where}: cost field {name!r} is {value!r}: must be a finite number >= 0"
            )
        if name in INTEGER_FIELDS:
            if value != int(value) or value <= 0:
                raise GoheapError(
                    f"{where}: cost field {name!r} is {value!r}: must be a whole number > 0"
                )
            value = int(value)
        out[name] = float(value) if name not in INTEGER_FIELDS else value
    return CostModel(**out)  # type: ignore[arg-type]


def load_calibration(path: str | os.PathLike[str]) -> Costs:
    """The costs of a calibration file (``goheap calibrate``'s output)."""
    where = os.fspath(path)
    try:
        with open(where, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise GoheapError(f"{where}: no such calibration file") from None
    except IsADirectoryError:
        raise GoheapError(f"{where}: is a directory, not a calibration file") from None
    except OSError as e:
        raise GoheapError(f"{where}: cannot read it ({e.strerror or e})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GoheapError(f"{where}: not JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise GoheapError(f"{where}: not a {SCHEMA} document (schema {got!r})")
    if doc.get("kind") != CALIBRATION:
        raise GoheapError(
            f"{where}: a {doc.get('kind')!r} document, not a calibration (goheap calibrate)"
        )
    model = model_from_fields(doc.get("costs"), where)
    date = doc.get("date")
    day = date[:10] if isinstance(date, str) and len(date) >= 10 else "undated"
    return Costs(model, f"calibrated {day}", where)


def resolve_costs(costs: object) -> Costs:
    """None (built-in), a CostModel, a Costs, or the path of a calibration file."""
    if costs is None:
        return Costs(CostModel())
    if isinstance(costs, Costs):
        return costs
    if isinstance(costs, CostModel):
        return Costs(costs, BUILT_IN if costs == CostModel() else CUSTOM)
    if isinstance(costs, (str, os.PathLike)):
        return load_calibration(costs)
    raise GoheapError(f"costs must be a CostModel or the path of a calibration file, got {costs!r}")

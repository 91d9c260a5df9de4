"""``--costs`` (and GOHEAP_COSTS) on run, record, replay, compare and analyze's what-if.

A calibration changes the virtual clock, so when things happen (GC cycles,
pauses, virtual time), never what the program allocates: Mallocs, TotalAlloc
and BySize's Mallocs are the workload's own and must not move. The runs name the costs
they used in their JSON and title. The calibration is the recorded one
(tests/data/calibrate/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from goheap.cli import main
from goheap.costs import RETIRED_FIELDS, cost_fields
from goheap.report.common import settings_text
from goheap.runtime.common.clock import CostModel
from tests.jsonschema_check import schema_errors

CAL = str(Path(__file__).parent / "data" / "calibrate" / "quick-go18-go127.json")
NAME = "calibrated 2026-12-05"
CHURN = ["churn", "--param", "steps=20000", "--param", "k=2000"]


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    rc = main([*args, "--json", "-"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    doc = json.loads(out)
    assert schema_errors(doc) == []
    return doc


def one_error(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> str:
    rc = main(args)
    out, err = capsys.readouterr()
    assert rc == 2 and "Traceback" not in out + err, err
    assert err.count("\n") == 1 and err.startswith("goheap: error: ") and message in err, err
    return err


@pytest.mark.parametrize("profile", ["go1.8", "go1.27"])
def test_costs_move_the_clock_not_the_allocations(
    capsys: pytest.CaptureFixture[str], profile: str
) -> None:
    base = cli_json(capsys, "run", *CHURN, "--profile", profile)
    cal = cli_json(capsys, "run", *CHURN, "--profile", profile, "--costs", CAL)
    for field in ("Mallocs", "TotalAlloc"):
        assert cal["memstats"][field] == base["memstats"][field], field
    # BySize's Mallocs per class (its Frees, like Frees, depend on when the GCs ran)
    mallocs = [[(c["Size"], c["Mallocs"]) for c in d["memstats"]["BySize"]] for d in (cal, base)]
    assert mallocs[0] == mallocs[1]
    assert cal["result"] == base["result"]
    assert cal["sim"]["virtual_ns"] != base["sim"]["virtual_ns"]
    assert [c["start_ns"] for c in cal["gc"]] != [c["start_ns"] for c in base["gc"]]
    assert base["costs"] == {"name": "built-in", "file": None, "fields": base["costs"]["fields"]}
    assert cal["costs"]["name"] == NAME and cal["costs"]["file"] == CAL
    # The file's figures; a field it predates (scavenge_ns_per_page) keeps its default.
    given = json.loads(Path(CAL).read_text())["costs"]
    want = cost_fields(CostModel()) | {k: v for k, v in given.items() if k not in RETIRED_FIELDS}
    assert cal["costs"]["fields"] == want
    assert "costs=" not in settings_text(base)
    assert settings_text(cal).endswith(f"costs={NAME}")


def test_goheap_costs_environment_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOHEAP_COSTS", CAL)
    doc = cli_json(capsys, "run", "retain", "--param", "count=100")
    assert doc["costs"]["name"] == NAME
    monkeypatch.setenv("GOHEAP_COSTS", "")  # empty: the built-in costs
    assert cli_json(capsys, "run", "retain", "--param", "count=100")["costs"]["name"] == "built-in"


def test_the_table_title_names_calibrated_costs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "retain", "--param", "count=100", "--costs", CAL]) == 0
    assert f"costs={NAME}" in capsys.readouterr().out


def test_record_and_replay_with_costs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace = str(tmp_path / "t.ndjson")
    rec = cli_json(capsys, "record", *CHURN, "-o", trace, "--costs", CAL)
    assert rec["costs"]["name"] == NAME
    plain = cli_json(capsys, "replay", trace)
    cal = cli_json(capsys, "replay", trace, "--costs", CAL)
    assert plain["costs"]["name"] == "built-in" and cal["costs"]["name"] == NAME
    assert cal["memstats"]["Mallocs"] == plain["memstats"]["Mallocs"] == rec["memstats"]["Mallocs"]
    assert cal["sim"]["virtual_ns"] == rec["sim"]["virtual_ns"] != plain["sim"]["virtual_ns"]


def test_compare_with_costs(capsys: pytest.CaptureFixture[str]) -> None:
    doc = cli_json(capsys, "compare", *CHURN, "--gogc", "50,100", "--costs", CAL, "-j", "1")
    assert [r["costs"]["name"] for r in doc["runs"]] == [NAME, NAME]


def test_whatif_with_costs(capsys: pytest.CaptureFixture[str]) -> None:
    prof = str(Path(__file__).parent / "data" / "pprof" / "rate1.pb.gz")
    args = ["analyze", prof, "--gogc", "100", "--budget", "5000", "-j", "1", "--executor", "serial"]
    base = cli_json(capsys, *args)
    cal = cli_json(capsys, *args, "--costs", CAL)
    assert base["whatif"]["costs"]["name"] == "built-in"
    assert cal["whatif"]["costs"]["name"] == NAME
    assert cal["whatif"]["runs"][0]["virtual_ns"] != base["whatif"]["runs"][0]["virtual_ns"]


@pytest.mark.parametrize(
    "command",
    [
        ["run", "retain"],
        ["record", "retain", "-o", "-"],
        ["replay", "x.trace"],
        ["compare", "retain"],
        ["analyze", "x.pb.gz", "--gogc", "100"],
    ],
)
def test_bad_costs_file_on_every_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "goheap/1", "kind": "calibration", "costs": {"stw_ns": -5}}')
    err = one_error(capsys, [*command, "--costs", str(bad)], f"--costs {bad}: cost field")
    assert "'stw_ns' is -5: must be a finite number >= 0" in err


def test_bad_goheap_costs_names_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOHEAP_COSTS", str(tmp_path / "none.json"))
    one_error(capsys, ["run", "retain"], f"GOHEAP_COSTS={tmp_path / 'none.json'}: no such")


def test_missing_costs_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    one_error(capsys, ["run", "retain", "--costs", str(tmp_path / "x.json")], "no such calibration")

"""``goheap calibrate``: its inputs, the machine's cache size, and one live quick run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from goheap.calibrate.calibration import llc_from_sysfs, loaded, parse_cache_size
from goheap.calibrate.derive import coldness, solve_cold
from goheap.calibrate.probes import allocated_in_marks, parse_gctrace, plan_for
from goheap.cli import main
from goheap.costs import load_calibration
from goheap.validate import toolchain
from tests.go_oracle import fresh_cache_dir
from tests.jsonschema_check import schema_errors


def one_error(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    rc = main(args)
    out, err = capsys.readouterr()
    assert rc == 2 and "Traceback" not in out + err, err
    assert err.count("\n") == 1 and err.startswith("goheap: error: ") and message in err, err


def test_bad_go(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = str(tmp_path / "c.json")
    one_error(capsys, ["calibrate", "--go", "/nonexistent/go", "-o", out], "not an executable go")
    one_error(
        capsys, ["calibrate", "--go18", "/nonexistent/go", "-o", out], "--go18 /nonexistent/go"
    )
    assert not Path(out).exists()


def test_go18_must_be_go_1_8(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, go_toolchain: Path
) -> None:
    go = go_toolchain
    out = str(tmp_path / "c.json")
    one_error(capsys, ["calibrate", "--go18", str(go), "-o", out], "not Go 1.8")


def test_no_toolchain(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(toolchain, "_package_go", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    one_error(capsys, ["calibrate", "-o", str(tmp_path / "c.json")], toolchain.NO_GO)


def test_the_default_output_directory_is_made(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOHEAP_CACHE_DIR", str(tmp_path / "new" / "cache"))
    one_error(capsys, ["calibrate", "--go", "/nonexistent/go"], "--go /nonexistent/go")
    assert (tmp_path / "new" / "cache").is_dir()


def test_existing_output_needs_force(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    out.write_text("{}")
    one_error(capsys, ["calibrate", "--go", "/nonexistent/go", "-o", str(out)], "exists")
    assert out.read_text() == "{}"


@pytest.mark.parametrize(
    ("text", "size"), [("32768K", 32 << 20), ("1M", 1 << 20), ("512", 512), ("", None), ("x", None)]
)
def test_parse_cache_size(text: str, size: int | None) -> None:
    assert parse_cache_size(text) == size


def test_llc_from_sysfs_takes_the_largest_data_cache(tmp_path: Path) -> None:
    for i, (level, kind, size) in enumerate(
        [(1, "Data", "32K"), (1, "Instruction", "32K"), (2, "Unified", "1024K"),
         (3, "Unified", "32768K")]
    ):  # fmt: skip
        d = tmp_path / f"index{i}"
        d.mkdir()
        (d / "level").write_text(f"{level}\n")
        (d / "type").write_text(f"{kind}\n")
        (d / "size").write_text(f"{size}\n")
    assert llc_from_sysfs(tmp_path) == 32 << 20
    assert llc_from_sysfs(tmp_path / "none") is None


def test_cold_probes_leave_even_a_large_cache() -> None:
    """The cold heaps are sized from the LLC read: with a 32 MiB one the allocation
    plan is the one the built-in costs were measured with; with the 480 MiB L3 a VM
    on a Xeon reports, the cold live heap still leaves it far enough for
    ``solve_cold`` to answer (a fixed 512 MiB did not), and the shuffled mark series
    runs from an eighth to four times it; a small machine's memory bounds them."""
    mib = 1 << 20
    small = plan_for(False, 32 * mib, 64 << 30)
    assert small.cold_live == 256 * mib and small.mark_ks == (10_000, 100_000)
    assert small.shuffled_lives == tuple(n * mib for n in (4, 8, 16, 32, 64, 128))
    # the clearing series: 4-512 MiB whatever the LLC (it turns cold far below it)
    assert small.clear_lives == tuple(
        n * mib for n in (4, 8, 16, 24, 32, 48, 64, 96, 128, 256, 512)
    )
    big = plan_for(False, 480 * mib, 22 << 30)
    assert big.cold_live == 960 * mib
    assert solve_cold(10.0, 20.0, coldness(480 * mib, big.cold_live)) is not None
    assert solve_cold(10.0, 20.0, coldness(480 * mib, 512 * mib)) is None
    assert big.shuffled_lives == tuple(n * mib for n in (60, 120, 240, 480, 960, 1920))
    tight = plan_for(False, 480 * mib, 4 << 30)
    assert tight.cold_live == 512 * mib and max(tight.shuffled_lives) == 512 * mib
    assert max(tight.clear_lives) == 512 * mib
    quick = plan_for(True, 480 * mib, 22 << 30)
    assert quick.cold_live == 256 * mib and len(quick.shuffled_lives) < 3  # no fit
    assert len(quick.clear_lives) < 3


def test_loaded_means_more_runnable_work_than_cpus() -> None:
    assert loaded(2.0, 2) and not loaded(1.2, 2)


def test_parse_gctrace_both_forms() -> None:
    go18 = (
        "gc 55 @0.040s 3%: 0+0.019+0 ms clock, 0+0.019/0/0+0 ms cpu, 16->16->9 MB, 18 MB goal, 1 P"
    )
    go127 = (
        "gc 2 @0.045s 0%: 0.005+8.3+0.003 ms clock, 0.005+0/0.012/8.3+0.003 ms cpu, "
        "68->68->68 MB, 688653 MB goal, 0 MB stacks, 0 MB globals, 1 P (forced)"
    )
    a, b = parse_gctrace(f"{go18}\nnoise\n{go127}\n")
    assert (a["c2"], a["assist"], a["h0"], a["forced"]) == (0.019, 0.019, 16.0, False)
    assert (b["c1"], b["c2"], b["idle"], b["p3"], b["forced"]) == (0.005, 8.3, 8.3, 0.003, True)


def test_allocated_in_marks_reads_both_pacer_forms_after_the_last_forced_gc() -> None:
    go127 = "pacer: 65536 B work (64000 B exp.) in 4833192 B -> 5373864 B (∆goal 1, cons/mark 2)"
    go18 = "pacer: H_m_prev=2236962 h_t=+8.7e-001 H_T=4194304 h_a=+8.9e-001 H_a=4231120 h_g=+1"
    forced = (
        "gc 1 @0.001s 0%: 0+0.1+0 ms clock, 0+0/0.1/0+0 ms cpu, 4->4->4 MB, 8 MB goal, 1 P (forced)"
    )
    # the lines before the probe's runtime.GC() (its warm-up) do not count
    text = f"{go127}\n{forced}\n{go127}\nnoise\n{go18}\n"
    assert allocated_in_marks(text) == (5373864 - 4833192) + (4231120 - 4194304)
    assert allocated_in_marks(f"{go127}\n{forced}\n") == 0


@pytest.mark.gotoolchain
def test_calibrate_quick_end_to_end(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, go_toolchain: Path
) -> None:
    go = go_toolchain
    out = tmp_path / "cal.json"
    cache = fresh_cache_dir(tmp_path / "cache")
    args = ["calibrate", "--quick", "--go", str(go), "--cache-dir", str(cache), "-o", str(out)]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "small_base_ns_go127" in table and "load average" in table
    doc = json.loads(out.read_text())
    assert schema_errors(doc) == [] and doc["quick"] is True
    assert doc["toolchains"]["go1.27"].startswith("go1.")
    rows = {r["field"]: r for r in doc["fields"]}
    for name in ("small_base_ns_go127", "large_ns_per_byte_hot", "page_fault_ns",
                 "mark_ns_per_object", "span_scan_ns_per_byte"):  # fmt: skip
        assert rows[name]["measured"] is not None and rows[name]["measured"] > 0, rows[name]
    # The shuffled mark ring and the clearing series run; two points are too few to fit.
    rt = doc["probes"]["runtimes"]["go1.27"]
    shuffled, clearing = rt["mark_shuffled"], rt["alloc_clear"]
    assert len(shuffled) == 2 and all(r["ns_per_object"] > 0 for r in shuffled)
    # (a quick run's loop is short: its profile has samples, not always clearing's)
    assert len(clearing) == 2 and all(r["cpu_ns_per_alloc"] > 0 and r["profile"] for r in clearing)
    assert "sysfs" in rows["llc_bytes"]["how"] and "sysfs" in rows["mark_llc_bytes"]["how"]
    assert rows["roots_ns_go18"]["measured"] is None  # no --go18
    assert rows["small_base_ns_go18"]["measured"] is None
    # An idle P's wake, at two Ps: tens of microseconds, not the millisecond spin.
    wake = rows["worker_wake_ns"]["measured"]
    if (os.cpu_count() or 1) >= 2:
        assert wake is not None and 1_000 < wake < 1_000_000, rows["worker_wake_ns"]
        assert doc["probes"]["runtimes"]["go1.27"]["sysmon"]["wake_ns"] == pytest.approx(wake, 0.01)
    else:
        assert wake is None
    costs = load_calibration(out)
    assert costs.name == f"calibrated {doc['date'][:10]}"
    assert costs.model.page_fault_ns == rows["page_fault_ns"]["measured"]

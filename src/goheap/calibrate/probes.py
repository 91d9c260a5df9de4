"""The measuring half of ``goheap calibrate``: build the probes, run them, keep what they print.

The probes are Go programs in ``tests/oracle/calibrate`` (``alloc``: a
ring of live objects of one size, or a stream into a growing heap;
``mark``: forced GCs over many live objects, or a small window of large
objects whose background cycles show the per-cycle costs; ``scavenge``:
memory returned to the OS; ``sysmon``: when sysmon preempts a goroutine
that never blocks, and how late a short nanosleep returns), written in the
language of Go 1.8 so that one source serves every toolchain. They are
built offline like validate's twins (today's Go in module mode, Go 1.8 as
single files with ``GO111MODULE=off``) and run with ``GOMAXPROCS=1`` and
``GODEBUG=gctrace=1``. What they print, with the gctrace lines parsed,
is the *raw* record ``goheap.calibrate.derive`` turns into costs; CPU time
(getrusage), not wall time, wherever a probe can measure it, as the machine
may be shared.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import statistics
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goheap.calibrate.cpuprofile import categorize
from goheap.errors import GoheapError
from goheap.validate.go18 import is_go18, probe_go18
from goheap.validate.toolchain import Toolchain, build_beside, clean_env, run_build

PROBES = ("alloc", "mark", "scavenge", "sysmon")
#: Preemptions the sysmon probe notes a run (about 20 ms each), and the first
#: it uses: the ones before it fall in sysmon's first rounds, still shorter.
SYSMON_PREEMPTIONS = 30
SYSMON_SETTLED = 3
#: The sysmon probe's short sleep (sysmon's first delay, 20 us) and how many.
SLEEP_US = 20
SLEEPS = 2000
#: The sysmon probe's wakes of an idle P (-wake, at two Ps), a millisecond apart.
WAKES = 1000
RUN_TIMEOUT_S = 300
MIB = 1 << 20
#: The alloc probe's untimed passes over its ring before timing: with two, the
#: heap is still growing to its GOGC goal while timed (Go 1.27.3, 256 MiB of
#: 64 KiB or 2 KiB objects: HeapSys grew 140-200 MiB in the timed loop, so
#: part of it was memory fresh from the OS, not cleared); with eight it is at
#: its steady size (growth 0-75 MiB, system CPU 0.01-0.02 ns/B).
ALLOC_PASSES = 8

GCTRACE = re.compile(
    r"gc (?P<n>\d+) @(?P<at>[\d.]+)s (?P<util>\d+)%: "
    r"(?P<c1>[\d.]+)\+(?P<c2>[\d.]+)\+(?P<c3>[\d.]+) ms clock, "
    r"(?P<p1>[\d.]+)\+(?P<assist>[\d.]+)/(?P<bg>[\d.]+)/(?P<idle>[\d.]+)\+(?P<p3>[\d.]+) ms cpu, "
    r"(?P<h0>\d+)->(?P<h1>\d+)->(?P<h2>\d+) MB, (?P<goal>\d+) MB goal, "
    r"(?:.*?)(?P<procs>\d+) P(?P<forced> \(forced\))?"
)

#: gcpacertrace at a mark's end, the heap when it started and when it ended, bytes:
#: today's "... in 4833192 B -> 5373864 B ...", Go 1.8's "... H_T=4194304 ... H_a=4231120
#: ..." (the trigger, which the heap reaching started the mark).
PACER_MARK = re.compile(r" in (\d+) B -> (\d+) B|H_T=(\d+) .*?H_a=(\d+)")


def allocated_in_marks(text: str) -> int:
    """Bytes the heap grew by during background marks after the last forced GC's
    gctrace line (the alloc probe's timed loop follows its runtime.GC()), from
    ``GODEBUG=gcpacertrace=1``'s line at each mark's end."""
    total = 0
    for line in text.splitlines():
        if line.startswith("gc ") and line.endswith("(forced)"):
            total = 0
            continue
        m = PACER_MARK.search(line)
        if m:
            a, b = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            total += max(int(b) - int(a), 0)
    return total


def parse_gctrace(text: str) -> list[dict[str, Any]]:
    """Go's gctrace lines (1.8's and today's form) as dicts: MB columns as ints, times in ms.

    Also what benchmarks/heavy_cases.py reads of both runtimes' runs.
    """
    out = []
    for line in text.splitlines():
        m = GCTRACE.match(line.strip())
        if not m:
            continue
        d: dict[str, Any] = {k: v for k, v in m.groupdict().items() if k != "forced"}
        for k in ("n", "util", "h0", "h1", "h2", "goal", "procs"):
            d[k] = int(d[k])
        for k in ("at", "c1", "c2", "c3", "p1", "assist", "bg", "idle", "p3"):
            d[k] = float(d[k])
        d["forced"] = m.group("forced") is not None
        out.append(d)
    return out


@dataclass(frozen=True)
class Plan:
    """What to measure: the probes' grids (``--quick``: a smaller one, one run each)."""

    small_sizes: tuple[int, ...]
    large_sizes: tuple[int, ...]
    hot_live: int  # bytes of live ring: well inside the last-level cache
    cold_live: int  # bytes of live ring: well beyond it
    mark_ks: tuple[int, ...]  # live objects for the mark probe
    touch_bytes: int
    window_steps: int
    target_ns: int  # CPU time each timed allocation loop aims at
    runs: int  # runs of each probe point (median)
    scavenge_mib: int  # heap freed and released by the scavenge probe
    # Pointer words per object for the span-scan probe (mark -words): the smallest
    # and the largest object Go 1.27 scans a span at a time (16 and 512 bytes).
    span_words: tuple[int, ...] = (2, 64)
    # Live bytes of the shuffled mark series (mark -shuffle), which measures the
    # cache the mark's scattered reads get (``derive.fit_llc``).
    shuffled_lives: tuple[int, ...] = ()
    # Live bytes of the clearing series (alloc of CLEAR_SIZE objects), which
    # measures the cache the allocation stream gets.
    clear_lives: tuple[int, ...] = ()


#: The smallest cold live heap on a machine with a small last-level cache (32 MiB:
#: 8 times it).
COLD_LIVE_FLOOR = 512 * MIB
#: The mark probe's object and its ring slot (64 B size class + 8 B pointer).
MARK_OBJECT_BYTES = 72
#: The shuffled mark series: live heaps of these multiples of the LLC sysfs reports
#: (a guest may get a small share of a host's cache, never more than all of it),
#: none below SHUFFLED_MIN.
SHUFFLED_SHARES = (1 / 8, 1 / 4, 1 / 2, 1, 2, 4)
SHUFFLED_MIN = 4 * MIB
#: The clearing series: objects of this size (mallocgc's small path, clearing most of
#: an allocation's time) in rings of these live heaps, MiB. A program reuses its
#: heap's memory a cycle at a time, so its clearing turns cold far below the cache a
#: mark's scattered reads get: the series starts small, whatever sysfs reports.
CLEAR_SIZE = 16384
CLEAR_LIVES_MIB = (4, 8, 16, 24, 32, 48, 64, 96, 128, 256, 512)


def plan_for(quick: bool, llc_bytes: int, mem_bytes: int | None = None) -> Plan:
    """The grid: the cold heaps well beyond the last-level cache.

    The cold live heap is 8 times the LLC, at most 512 MiB or twice the LLC
    where that is more (``quick``: 4 times, at most 256 MiB, as before). A
    cold figure is solved from how far a heap is out of cache, so on a
    machine whose cache holds hundreds of MiB (a server CPU's L3 seen
    through a VM) a fixed 512 MiB is in cache and measures nothing. The
    in-order mark probe runs only in-cache heaps (its hot figure); the
    shuffled mark series spans an eighth to four times the LLC and the
    clearing series 4 to 512 MiB, to find the caches the heap's work
    really gets (``derive.llc_figures``). All stay within an eighth of
    ``mem_bytes`` (the memory available; a probe's heap grows to twice its
    live heap at GOGC 100).
    """
    cap = (mem_bytes // 8) if mem_bytes else None

    def within(n: int) -> int:
        return min(n, cap) if cap else n

    if quick:
        cold = within(min(4 * llc_bytes, COLD_LIVE_FLOOR // 2))  # a smoke test: small
        return Plan(
            (8, 64, 1024, 32768), (65536, 1 << 20), 4 * MIB, cold,
            (100_000,), 128 * MIB, 1000, 40_000_000, 1, 128,
            # the series run, too few points to fit
            shuffled_lives=(4 * MIB, 16 * MIB), clear_lives=(4 * MIB, 16 * MIB),
        )  # fmt: skip
    cold = within(min(8 * llc_bytes, max(COLD_LIVE_FLOOR, 2 * llc_bytes)))
    shuffled = sorted({within(max(SHUFFLED_MIN, int(llc_bytes * f))) for f in SHUFFLED_SHARES})
    return Plan(
        (8, 64, 256, 1024, 4096, 16384, 32768), (40960, 65536, 262144, 1 << 20),
        4 * MIB, cold, (10_000, 100_000), 512 * MIB, 4000,
        200_000_000, 3, 256, shuffled_lives=tuple(shuffled),
        clear_lives=tuple(sorted({within(n * MIB) for n in CLEAR_LIVES_MIB})),
    )  # fmt: skip


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes; None where there is none."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def gopath_mode(tc: Toolchain) -> bool:
    """Whether the toolchain predates modules (Go 1.8 and its like: GOPATH mode)."""
    m = re.match(r"go1\.(\d+)", tc.version)
    return m is not None and int(m.group(1)) < 11


def go18_toolchain(go: Path) -> Toolchain:
    """A Go 1.8 toolchain for --go18 (validate's probe: Go 1.8 has no ``go env -json``)."""
    try:
        tc = probe_go18(go)
    except GoheapError as e:
        raise GoheapError(f"--go18 {e}") from None
    if not is_go18(tc.version):
        raise GoheapError(f"--go18 {go}: is {tc.version}, not Go 1.8")
    return tc


def probe_dir(oracle: Path) -> Path:
    """tests/oracle/calibrate, or a one-line error when the checkout lacks it."""
    path = oracle / "calibrate"
    if not all((path / p / "main.go").is_file() for p in PROBES):
        raise GoheapError(f"{path}: the calibration probes are not there (a source checkout?)")
    return path


def build_probes(tc: Toolchain, src: Path, cache_dir: Path) -> dict[str, Path]:
    """Build the probes with this toolchain once per (version, sources); reuse afterwards."""
    h = hashlib.sha256(f"{tc.version}\0{tc.goos}/{tc.goarch}".encode())
    for p in PROBES:
        h.update((src / p / "main.go").read_bytes())
    bindir = cache_dir / "calibrate" / "bin" / f"{tc.version}-{h.hexdigest()[:16]}"
    out = {p: bindir / p for p in PROBES}
    if all(x.is_file() for x in out.values()):
        return out

    def build(tmp: Path) -> None:
        env = tc.build_env(cache_dir)
        if gopath_mode(tc):  # no modules: single files in GOPATH mode
            env.update(GO111MODULE="off", GOFLAGS="")
        for p in PROBES:
            cmd = [str(tc.go), "build", "-o", str(tmp / p), "main.go"]
            run_build(cmd, src / p, env, str(src / p), tc.version)

    build_beside(bindir, build)
    return out


def run_probe(
    exe: Path, args: list[str], gogc: str, pacer: bool = False, procs: int = 1
) -> tuple[dict[str, Any], list[dict]]:
    """One run (at GOMAXPROCS ``procs``): the JSON line it prints and its gctrace
    lines. ``pacer``: with gcpacertrace too, the line gets ``in_mark_bytes``
    (``allocated_in_marks``)."""
    env = clean_env()
    env.update(
        GOMAXPROCS=str(procs),
        GOGC=gogc,
        GODEBUG="gctrace=1,gcpacertrace=1" if pacer else "gctrace=1",
    )
    try:
        p = subprocess.run(
            [str(exe), *args], env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise GoheapError(f"{exe.name} {' '.join(args)} ran over {RUN_TIMEOUT_S} s") from None
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines:
        err = (p.stderr.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
        raise GoheapError(f"probe {exe.name} {' '.join(args)} failed: {err}")
    doc = json.loads(lines[-1])
    if pacer:
        doc["in_mark_bytes"] = allocated_in_marks(p.stderr)
    return doc, parse_gctrace(p.stderr)


#: Told of each probe point as it starts ("alloc go1.27 live=4 MiB size=64").
Tell = Callable[[str], None]


class Prober:
    """Runs one toolchain's probes over a plan, recording the load average as it goes."""

    def __init__(
        self, exes: dict[str, Path], plan: Plan, tell: Tell, loads: list[float], go: Path
    ) -> None:
        self.exes, self.plan, self.tell, self.loads = exes, plan, tell, loads
        self.go = go  # its ``go tool pprof`` reads the probes' CPU profiles

    def _median_run(
        self,
        exe: str,
        args: list[str],
        gogc: str,
        after: Callable[[], None] | None = None,
        pacer: bool = False,
    ) -> list[tuple[dict, list[dict]]]:
        """The plan's runs of one probe point; ``after`` is called after each run."""
        runs = []
        for _ in range(self.plan.runs):
            runs.append(run_probe(self.exes[exe], args, gogc, pacer))
            self.loads.append(os.getloadavg()[0])
            if after is not None:
                after()
        return runs

    def alloc(self) -> list[dict[str, Any]]:
        """Mutator CPU per allocation over sizes x (hot, cold) live heaps, and where it went.

        Each run profiles its timed loop (``-cpuprofile``); ``profile`` is
        the runs' samples by category (``goheap.calibrate.cpuprofile``), and
        ``cpu_ns_per_alloc`` the loop's user and system CPU per allocation
        (medians), which the samples' shares divide.
        """
        pl = self.plan
        sizes = (*pl.small_sizes, *pl.large_sizes)
        lives = (pl.hot_live, pl.cold_live)
        return [self._alloc_point(live, size) for live in lives for size in sizes]

    def alloc_clear(self) -> list[dict[str, Any]]:
        """The clearing series: ``CLEAR_SIZE`` objects at each of ``clear_lives``, rows as
        ``alloc``'s. Where their clearing turns cold is the cache the allocation stream
        gets (``derive.llc_figures``)."""
        return [self._alloc_point(live, CLEAR_SIZE) for live in self.plan.clear_lives]

    def _alloc_point(self, live: int, size: int) -> dict[str, Any]:
        """One alloc probe point (a ring of ``live`` bytes of ``size``-byte objects): the
        plan's runs, each profiled, as one row."""
        self.tell(f"alloc live={live // MIB} MiB size={size} B")
        k = max(2, live // size)
        guess = 10 + 0.1 * size  # ns per allocation, roughly: sizes the loop
        steps = int(min(20_000_000, max(1000, self.plan.target_ns / guess)))
        with tempfile.TemporaryDirectory(prefix="goheap-calibrate-") as tmp:
            prof = Path(tmp) / "cpu.prof"
            args = [f"-size={size}", f"-k={k}", f"-steps={steps}",
                    f"-passes={ALLOC_PASSES}", f"-cpuprofile={prof}"]  # fmt: skip
            samples = []
            shares: Counter[str] = Counter()

            def read_profile() -> None:
                # each run's profile, before the next run overwrites it
                shares.update(categorize(prof, self.exes["alloc"], self.go))

            for d, trace in self._median_run("alloc", args, "100", read_profile, True):
                cpu = (d["user_ns"] + d["sys_ns"]) / steps
                in_marks = d["in_mark_bytes"] / (steps * size)
                samples.append((*_mutator_ns(d, trace), cpu, int(d["numgc"]), in_marks))
        return {"live": live, "size": size, "steps": steps,
                "ns_per_alloc": round(statistics.median(s[0] for s in samples), 2),
                "heap_inuse": int(statistics.median(s[1] for s in samples)),
                "sys_ns_per_alloc": round(statistics.median(s[2] for s in samples), 2),
                "cpu_ns_per_alloc": round(statistics.median(s[3] for s in samples), 2),
                "numgc": int(statistics.median(s[4] for s in samples)),
                "in_marks": round(statistics.median(s[5] for s in samples), 4),
                "profile": dict(sorted(shares.items()))}  # fmt: skip

    def touch(self) -> dict[str, Any]:
        """System CPU per 4 KiB page of a heap growing into fresh memory (GOGC=off)."""
        steps = self.plan.touch_bytes // 65536
        self.tell(f"touch {self.plan.touch_bytes // MIB} MiB")
        per_page = []
        for d, _ in self._median_run("alloc", ["-size=65536", f"-steps={steps}", "-touch"], "off"):
            pages = max(int(d["heap_sys_growth"]) // 4096, 1)
            per_page.append(d["sys_ns"] / pages)
        return {"bytes": self.plan.touch_bytes, "sys_ns_per_page": round(_median(per_page), 1)}

    def scavenge(self) -> dict[str, Any]:
        """CPU per physical page returned to the OS: FreeOSMemory less a GC alone."""
        mib = self.plan.scavenge_mib
        self.tell(f"scavenge {mib} MiB")
        per_page = []
        for d, _ in self._median_run("scavenge", [f"-mib={mib}"], "off"):
            pages = max(int(d["released"]) // int(d["page"]), 1)
            release = d["free_user_ns"] + d["free_sys_ns"]
            gc = d["gc_user_ns"] + d["gc_sys_ns"]
            per_page.append(max(0, release - gc) / pages)
        return {"mib": mib, "ns_per_page": round(_median(per_page), 1)}

    def mark(self, shuffled: bool = False) -> list[dict[str, Any]]:
        """Mark clock per object of forced GCs over k live 64-byte pointer-free objects.

        In allocation order (``mark_ks``), or ``shuffled`` (``shuffled_lives``:
        the ring permuted, so that every object the mark visits is a cache
        miss once the heap is out of the cache the machine gives it)."""
        rows = []
        if shuffled:
            ks = [live // MARK_OBJECT_BYTES for live in self.plan.shuffled_lives]
        else:
            ks = list(self.plan.mark_ks)
        for k in ks:
            self.tell(f"mark k={k:,}{' shuffled' if shuffled else ''}")
            per_obj: list[float] = []
            heaps: list[float] = []
            args = [f"-k={k}", "-reps=3", *(["-shuffle"] if shuffled else [])]
            for d, trace in self._median_run("mark", args, "1000000"):
                forced = [g for g in trace if g["forced"]][1:]
                # Go 1.8 marks a forced GC with the world stopped (third clock
                # part); today's Go concurrently (second part), by the idle worker.
                ms = _median([g["c2"] + g["c3"] for g in forced])
                per_obj.append(ms * 1e6 / k)
                heaps.append(float(d["heap_inuse"]))
            rows.append(
                {"k": k, "ns_per_object": round(_median(per_obj), 2),
                 "heap_inuse": int(_median(heaps))}
            )  # fmt: skip
        return rows

    def mark_span(self) -> list[dict[str, Any]]:
        """Mark clock per object of forced GCs over live pointerful objects of two sizes,
        the hot and the cold heap's worth: what a scanned byte adds (Green Tea's spans)."""
        rows = []
        for live in (self.plan.hot_live, self.plan.cold_live):
            for words in self.plan.span_words:
                k = live // (8 * words + 8)  # the object and its slot in the ring
                self.tell(f"mark words={words} k={k:,}")
                per_obj: list[float] = []
                heaps: list[float] = []
                args = [f"-k={k}", "-reps=5", f"-words={words}"]
                for d, trace in self._median_run("mark", args, "1000000"):
                    forced = [g for g in trace if g["forced"]][1:]
                    # The fastest cycle: a mark this short is easily slowed by the
                    # machine, never sped up.
                    ms = min(g["c2"] + g["c3"] for g in forced)
                    per_obj.append(ms * 1e6 / k)
                    heaps.append(float(d["heap_inuse"]))
                rows.append(
                    {"words": words, "k": k, "ns_per_object": round(min(per_obj), 2),
                     "heap_inuse": int(_median(heaps))}
                )  # fmt: skip
        return rows

    def window(self) -> dict[str, Any]:
        """Background cycles over 8 live 1 MiB objects: per-cycle mark CPU and STW clock."""
        self.tell("window (per-cycle costs)")
        mark, stw = [], []
        for _, trace in self._median_run(
            "mark", ["-window=8", "-size=1048576", f"-steps={self.plan.window_steps}"], "100"
        ):
            bg = [g for g in trace if not g["forced"]]
            mark += [(g["assist"] + g["bg"] + g["idle"]) * 1e6 for g in bg]
            stw += [x * 1e6 for g in bg for x in (g["c1"], g["c3"])]
        return {
            "cycles": len(mark),
            "mark_ns_per_cycle": round(_median(mark), 1),
            "stw_ns": round(_median(stw), 1),
        }

    def sysmon(self) -> dict[str, Any]:
        """sysmon's settled round (half a preemption period), a 20 us nanosleep's lateness
        and, on two CPUs or more, an idle P's wake (``-wake`` at GOMAXPROCS=2)."""
        self.tell("sysmon (its rounds, a short sleep's lateness, an idle P's wake)")
        periods: list[float] = []
        late: list[float] = []
        wakes: list[float] = []
        two = (os.cpu_count() or 1) >= 2  # an idle P needs a CPU of its own
        for _ in range(self.plan.runs):
            d, _ = run_probe(self.exes["sysmon"], [f"-n={SYSMON_PREEMPTIONS}"], "100")
            at = d["preempt_ns"][SYSMON_SETTLED - 1 :]
            # Two rounds apart; a second preemption right after one (the signal
            # and the round crossing) is not a period.
            periods += [b - a for a, b in itertools.pairwise(at) if b - a > 15_000_000]
            d, _ = run_probe(self.exes["sysmon"], [f"-sleep={SLEEP_US}", f"-n={SLEEPS}"], "100")
            late += d["late_ns"]
            if two:
                d, _ = run_probe(self.exes["sysmon"], [f"-wake={WAKES}"], "100", procs=2)
                wakes += d["wake_ns"]
            self.loads.append(os.getloadavg()[0])
        row: dict[str, Any] = {
            "round_ns": round(_median(periods) / 2, 1),
            "periods": len(periods),
            "sleep_us": SLEEP_US,
            "late_ns": round(_median(late), 1),
        }
        if wakes:
            row["wake_ns"] = round(_median(wakes), 1)
        return row


def _median(xs: list[float]) -> float:
    if not xs:
        raise GoheapError("a probe printed no gctrace line to measure (GODEBUG ignored?)")
    return float(statistics.median(xs))


def _mutator_ns(d: dict[str, Any], trace: list[dict[str, Any]]) -> tuple[float, float, float]:
    """(mutator user CPU ns per allocation, HeapInuse, system CPU ns per allocation).

    The loop's user CPU less its GCs' CPU (gctrace). The kernel's share (the
    system CPU: page faults on memory first written, the scavenger's
    releases) is left out of the per-allocation figure: the clock charges it
    per page (``page_fault_ns``, ``scavenge_ns_per_page``), so counting it
    here as well would charge it twice. It is returned apart, to be shown.
    """
    user, sys_ = d["user_ns"], d["sys_ns"]
    n = int(d["numgc"])
    timed = [g for g in trace if not g["forced"]][-n:] if n else []
    gc_ms = sum(g["p1"] + g["assist"] + g["bg"] + g["idle"] + g["p3"] for g in timed)
    gc_ns = gc_ms * 1e6 * min(1.0, (user + sys_) / max(d["wall_ns"], 1))
    steps = d["steps"]
    return max(0.0, user - gc_ns) / steps, float(d["heap_inuse"]), sys_ / steps


def run_all(exes: dict[str, Path], plan: Plan, tell: Tell, go: Path) -> dict[str, Any]:
    """Every probe of one toolchain; the load average sampled after each run."""
    loads: list[float] = [os.getloadavg()[0]]
    p = Prober(exes, plan, tell, loads, go)
    out: dict[str, Any] = {
        "alloc": p.alloc(),
        "alloc_clear": p.alloc_clear(),
        "touch": p.touch(),
        "scavenge": p.scavenge(),
        "mark": p.mark(),
        "mark_span": p.mark_span(),
        "mark_shuffled": p.mark(shuffled=True),
        "window": p.window(),
        "sysmon": p.sysmon(),
    }
    out["load"] = {"max": max(loads), "mean": round(statistics.mean(loads), 2)}
    return out

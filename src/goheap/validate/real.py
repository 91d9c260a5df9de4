"""The real runtime's side: run an oracle program N times, with a cache.

Each run is the program's own process with the GOMAXPROCS, GOGC and
GOMEMLIMIT of the validation (or of a heavy case), and no GODEBUG (it changes what the
runtime allocates). The JSON documents are cached in
``<cache>/validate/runs/<key>.json``, the key being the Go version and
target, the hash of the programs' sources, the program, its flags and the
settings; a later validation with as many runs or fewer reuses them, one
with more runs only adds the missing ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goheap.errors import GoheapError
from goheap.outputs import announcing, write_file
from goheap.validate.cases import Case, Settings
from goheap.validate.quiet import QuietGate
from goheap.validate.toolchain import Programs, Toolchain

RUN_TIMEOUT_S = 600
CACHE_SCHEMA = 1
#: Added to each run's document: the machine's 1-minute load average as the run
#: started. Timing figures (NumGC, peaks) of a run on a busy machine are not the
#: runtime's alone, above all with two Ps: the report shows it.
LOAD_KEY = "load_avg"
#: Also added: the CPUs' worth of idle time measured right before the run, and
#: whether that was fewer than the run's Ps even after a short wait
#: (goheap.validate.quiet). Runs cached before these keys have neither.
IDLE_KEY = "idle_cpus"
BUSY_KEY = "busy"


def load_average() -> float | None:
    """The 1-minute load average, or None where the system has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


@dataclass
class RealRuns:
    """The JSON documents of a case's runs, and how many came from the cache."""

    docs: list[dict[str, Any]]
    cached: int
    go_version: str


def cache_key(tc: Toolchain, programs: Programs, case: Case, settings: Settings) -> str:
    fields = {
        "schema": CACHE_SCHEMA,
        "go": tc.version,
        "target": f"{tc.goos}/{tc.goarch}",
        "source": programs.source_hash,
        "program": case.workload,
        "flags": list(case.go_flags),
        "gogc": settings.gogc,
        "memlimit": settings.memlimit,
        "gomaxprocs": settings.gomaxprocs,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def run_program(exe: Path, flags: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One run: the program's one JSON object, or a one-line GoheapError."""
    try:
        proc = subprocess.run(
            [str(exe), *flags], env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise GoheapError(f"{exe.name} {' '.join(flags)}: no result in {RUN_TIMEOUT_S} s") from None
    except OSError as e:
        raise GoheapError(f"{exe}: cannot run it ({e.strerror})") from None
    if proc.returncode != 0:
        err = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise GoheapError(f"{exe.name} {' '.join(flags)} failed: {err}")
    lines = proc.stdout.strip().splitlines()
    try:
        doc = json.loads(lines[-1]) if len(lines) == 1 else None
    except json.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict) or "memstats" not in doc:
        raise GoheapError(
            f"{exe.name}: expected one JSON object on stdout, got {proc.stdout[:80]!r}"
        )
    return doc


def _load(path: Path, key: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    if (
        not isinstance(data, dict)
        or data.get("key") != key
        or not isinstance(data.get("runs"), list)
    ):
        return []
    runs: list[dict[str, Any]] = data["runs"]
    return runs


def _store(path: Path, key: str, case: Case, runs: list[dict[str, Any]]) -> None:
    """Write the runs atomically; the cache is an optimisation, so failing to write is not fatal."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with announcing(lambda _path: None):  # a cache entry, not an output the user named
            write_file(path, json.dumps({"key": key, "case": case.to_dict(), "runs": runs}))
    except (OSError, GoheapError):
        pass  # (a failed write leaves no temporary file behind)


def collect_real(
    tc: Toolchain,
    programs: Programs,
    case: Case,
    runs: int,
    settings: Settings,
    cache_dir: Path | None,
    *,
    reuse: bool = True,
    on_run: Callable[[int, int], None] | None = None,
    tell: Callable[[str], None] = lambda s: None,
    gate: QuietGate | None = None,
) -> RealRuns:
    """`runs` documents of the case's program: cached ones first (unless not `reuse`), then
    fresh runs for the rest, which are added to the cache. Each fresh run first waits a
    little for a CPU per P (``gate``, one per validation; ``tell`` hears of a wait) and
    records what it found."""
    gate = gate or QuietGate()
    key = cache_key(tc, programs, case, settings)
    path = cache_dir / "validate" / "runs" / f"{key[:40]}.json" if cache_dir else None
    docs = _load(path, key)[:runs] if path is not None and reuse else []
    cached = len(docs)
    env = settings.env()
    for i in range(cached, runs):
        if on_run is not None:
            on_run(i + 1, runs)
        quiet = gate.before_run(settings.gomaxprocs, tell)
        if quiet.waited_s > 0:
            busy = " (still busy: the run is marked)" if quiet.busy else ""
            tell(f"waited {quiet.waited_s:.1f} s for idle CPUs{busy}")
        load = load_average()
        doc = run_program(programs.path(case.workload), list(case.go_flags), env)
        doc[LOAD_KEY] = load
        doc[IDLE_KEY] = quiet.idle_cpus
        doc[BUSY_KEY] = quiet.busy
        docs.append(doc)
    if path is not None and len(docs) > cached:
        previous = _load(path, key) if reuse else []
        _store(path, key, case, docs if len(docs) >= len(previous) else previous)
    version = docs[0].get("go_version", tc.version) if docs else tc.version
    return RealRuns(docs, cached, version)

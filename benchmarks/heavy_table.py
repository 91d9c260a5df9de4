"""The heavy cases' table for docs/fidelity.md: real | model before | model after.

Issue 11 (timing fidelity). Reads ``benchmarks/heavy_cases.py --out`` JSON files:
the real runs from one set, the model's figures "before" and "after" a change
from two others, and prints one Markdown table for the cases tuned on and one
for the cases held out (``TUNED``: the cases whose own gctrace gave a cost
figure, or that the timing study looked at while building its prototypes; see
docs/fidelity.md "Heavy cases"), each followed by a summary line: how many
cells (case x figure) are inside the real spread and the mean miss.

    python benchmarks/heavy_table.py REAL.json[,REAL2.json] \\
        BEFORE.json[,...] AFTER.json[,...]

Each argument is a comma-separated list of files; for a case and runtime the
later file wins (e.g. ``real1.json,pall_large_s1.json``: the large-window rows
re-measured). A cell is ``value ✓`` inside the real min-max widened by 5%
(``goheap validate``'s rule, as ``heavy_cases.py``'s verdict), else ``value
(+N%)``, the distance from the real median; ``–`` where that side has no run.
MB = 10^6 bytes; the summary counts in-spread cells as a 0% miss, over the
rows where both before and after have figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from goheap.validate.heavy import TUNED  # the cases a cost or a prototype came from

METRICS = ("NumGC", "peak", "NextGC", "HeapSys")

Row = dict[str, Any]  # one side of one case and runtime: {"real": [...], "model": {...}}


def load(paths: str) -> dict[tuple[str, str], Row]:
    """(case, runtime) -> {"real": runs, "model": figures} from comma-separated files."""
    out: dict[tuple[str, str], Row] = {}
    for p in paths.split(","):
        doc = json.loads(Path(p).read_text())
        for case, per in doc["cases"].items():
            for rt, entry in per.items():
                row = out.setdefault((case, rt), {})
                for side in ("real", "model"):
                    if entry.get(side):
                        row[side] = entry[side]
    return out


def fmt(metric: str, v: float) -> str:
    """NumGC as a count, the byte figures in MB."""
    return str(int(v)) if metric == "NumGC" else f"{v / 1e6:.0f}"


def miss(metric: str, real: list[Row], model: Row) -> float:
    """0 inside the real spread widened by 5%, else the % distance from the real median."""
    vals = [r[metric] for r in real]
    if min(vals) * 0.95 <= model[metric] <= max(vals) * 1.05:
        return 0.0
    med = statistics.median(vals)
    return (model[metric] - med) / med * 100


def cell(metric: str, real: list[Row], model: Row | None) -> str:
    if not model:
        return "–"
    m = miss(metric, real, model)
    v = fmt(metric, model[metric])
    return f"{v} ✓" if m == 0 else f"{v} ({m:+.0f}%)"


def spread(metric: str, real: list[Row]) -> str:
    lo = fmt(metric, min(r[metric] for r in real))
    hi = fmt(metric, max(r[metric] for r in real))
    return lo if lo == hi else f"{lo}–{hi}"


def table(
    title: str,
    keys: list[tuple[str, str]],
    real: dict[tuple[str, str], Row],
    before: dict[tuple[str, str], Row],
    after: dict[tuple[str, str], Row],
) -> list[str]:
    """One Markdown table and its summary line."""
    head = " | ".join(f"{m}{'' if m == 'NumGC' else ' MB'} real | before | after" for m in METRICS)
    lines = [f"{title}:", "", f"| case | rt | {head} |", "|---|---|" + "--:|--:|--:|" * 4]
    cells = in_before = in_after = 0
    miss_before: list[float] = []
    miss_after: list[float] = []
    for key in keys:
        runs = real[key]["real"]
        b = before.get(key, {}).get("model")
        a = after.get(key, {}).get("model")
        row = list(key)
        for m in METRICS:
            row += [spread(m, runs), cell(m, runs, b), cell(m, runs, a)]
            if b and a:
                mb, ma = miss(m, runs, b), miss(m, runs, a)
                cells += 1
                in_before += mb == 0
                in_after += ma == 0
                miss_before.append(abs(mb))
                miss_after.append(abs(ma))
        lines.append("| " + " | ".join(row) + " |")
    if cells:
        lines += [
            "",
            f"In spread: before {in_before}/{cells}, after {in_after}/{cells} cells; "
            f"mean |miss| before {statistics.mean(miss_before):.1f}%, "
            f"after {statistics.mean(miss_after):.1f}% (in-spread cells count 0).",
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("real", help="heavy_cases.py JSON with the real runs (comma-separated)")
    ap.add_argument("before", help="JSON with the model's figures before the change")
    ap.add_argument("after", help="JSON with the model's figures after the change")
    a = ap.parse_args(argv)
    try:
        real, before, after = load(a.real), load(a.before), load(a.after)
    except (OSError, ValueError, KeyError, AttributeError) as e:
        print(f"heavy_table: cannot read the runs: {e}", file=sys.stderr)
        return 2
    keys = sorted(k for k, row in real.items() if row.get("real"))
    tuned = [k for k in keys if k[0] in TUNED]
    held = [k for k in keys if k[0] not in TUNED]
    names = ", ".join(sorted(TUNED))
    out = table(f"Tuned on ({names})", tuned, real, before, after)
    out += ["", *table("Held out", held, real, before, after)]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

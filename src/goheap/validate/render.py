"""The report as a rich table, and as the Markdown section of docs/fidelity.md."""

from __future__ import annotations

import os
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from goheap.costs import BUILT_IN
from goheap.profiles import DEFAULT_PROFILE
from goheap.report.console import stdout_console
from goheap.report.fit import Col, min_width, print_fitted, print_title, wrap_items
from goheap.validate.cases import Settings
from goheap.validate.compare import MISS, OK, UNAVAILABLE

_STYLE = {OK: "green", MISS: "red", UNAVAILABLE: "yellow"}
BEGIN = "<!-- goheap validate: begin (generated; see the instructions above) -->"
END = "<!-- goheap validate: end -->"


def markers(profile: str, heavy: bool = False) -> tuple[str, str]:
    """The generated section's markers: BEGIN/END for the default profile's workloads, named
    for the other profiles and for the heavy cases."""
    if profile == DEFAULT_PROFILE and not heavy:
        return BEGIN, END
    what = ("--heavy " if heavy else "") + f"--profile {profile}"
    return (
        f"<!-- goheap validate {what}: begin (generated; see the instructions above) -->",
        f"<!-- goheap validate {what}: end -->",
    )


NOTE = (
    "Counters (Mallocs, Frees, TotalAlloc, BySize) and NumGC are over the workload; "
    "'after GC' figures are after a forced GC, minus the baseline; peak HeapInuse is above "
    "the baseline; HeapSys and NextGC are at the end. exact: equal in every run, up to the "
    "named allowance; spread: within the runs' min–max widened by {widen:.0%}."
)


def params_text(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items() if k != "seed")


def load_text(report: dict[str, Any]) -> str:
    """', load 0.4–2.1 on 2 CPUs': the machine's load average as the real runs started
    ('' when no run recorded it, as cached runs from before the field did not)."""
    loads = [
        x for case in report["cases"] for x in case.get("real", {}).get("load", ()) if x is not None
    ]
    if not loads:
        return ""
    lo, hi = min(loads), max(loads)
    span = f"{lo:.1f}" if f"{lo:.1f}" == f"{hi:.1f}" else f"{lo:.1f}–{hi:.1f}"
    cpus = report.get("cpus")
    return f", load {span}" + (f" on {cpus} CPUs" if cpus else "")


def cached_text(report: dict[str, Any]) -> str:
    """' (all 85 from the cache)', ' (12 of 35 from the cache)' or '': how many of the
    real runs an earlier validation took (the runs are cached per program and case)."""
    reals = [case["real"] for case in report["cases"] if case.get("real")]
    cached = sum(r.get("cached", 0) for r in reals)
    total = sum(r.get("runs", 0) for r in reals)
    if not cached:
        return ""
    if cached == total:
        return f" (all {total} from the cache)"
    return f" ({cached} of {total} from the cache)"


def costs_text(report: dict[str, Any]) -> str:
    """The title's ", costs NAME (FILE)": any costs but the built-in ones, named as a run does."""
    costs = report.get("costs") or {}
    name = costs.get("name", BUILT_IN)
    if name == BUILT_IN:
        return ""
    file = costs.get("file")
    return f", costs {name}" + (f" ({file})" if file else "")


def header(report: dict[str, Any]) -> str:
    go = report["go"]
    limit = report["memlimit"]
    simulated = f"simulated: profile {report['profile']}{costs_text(report)}{phases_text(report)}"
    if report.get("heavy"):
        return (
            f"real: {go['version']} {go['target']}, {report['runs']} run(s) each"
            f"{cached_text(report)}{load_text(report)}; {simulated}; heavy cases, each "
            "with its own GOGC, GOMEMLIMIT and GOMAXPROCS"
        )
    return (
        f"real: {go['version']} {go['target']}, {report['runs']} run(s) each"
        f"{cached_text(report)}{load_text(report)}, "
        "GOMAXPROCS=1, "
        f"GOGC={report['gogc']}, GOMEMLIMIT={'off' if limit is None else limit}; "
        f"{simulated}" + (" (quick set)" if report["quick"] else "")
    )


def phases_text(report: dict[str, Any]) -> str:
    """', at 5 sysmon phases (timing figures: their median)' when there were more than one."""
    n = len(report.get("sysmon_phases") or ())
    return f", at {n} sysmon phases (timing figures: their median)" if n > 1 else ""


SHORT_NOTE = (
    "exact: equal in every run, up to the named allowance; spread: within the runs' "
    "min–max widened by {widen:.0%}. What each metric measures: docs/fidelity.md."
)


def _console() -> Console:
    """stdout; 132 columns when it is not a terminal (CI logs) and COLUMNS is not set."""
    console = stdout_console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = stdout_console(width=132)
    return console


def case_words(case: dict[str, Any]) -> list[str]:
    """How a case is named: the workload and its parameters; a heavy case's name, whether it
    is held out, its workload, parameters and settings."""
    words = [case["workload"], *params_text(case["params"]).split(), *_busy(case)]
    if "name" not in case:
        return words
    return [case["name"], f"({_group(case)})", *words, *_settings(case).split()]


def _busy(case: dict[str, Any]) -> list[str]:
    """``[busy: 2/5 runs]`` when some real runs had fewer idle CPUs than Ps (quiet.py)."""
    real = case.get("real", {})
    busy = real.get("busy", 0)
    return [f"[busy: {busy}/{real.get('runs', busy)} runs]"] if busy else []


def _group(case: dict[str, Any]) -> str:
    return "held out" if case.get("held_out") else "tuned on"


def _settings(case: dict[str, Any]) -> str:
    """A heavy case's settings as the runtime is told them: ``GOGC=50 GOMEMLIMIT=off ...``."""
    return Settings(**case["settings"]).text()


def groups_text(report: dict[str, Any]) -> str:
    """Heavy cases: the spread figures of the held-out and tuned-on cases, counted apart."""
    parts = []
    for key, name in (("held_out", "held out"), ("tuned", "tuned on")):
        g = report["groups"][key]
        mean = "–" if g["mean_miss"] is None else f"{g['mean_miss']:.1%}"
        parts.append(f"{name}: {g['ok']}/{g['cells']} spread figures inside, mean miss {mean}")
    return "; ".join(parts)


def _cells(report: dict[str, Any]) -> list[tuple[str, list[list[str]], list[str]]]:
    """Per case: its heading, its rows (metric, real, simulated, verdict) and their statuses."""
    out = []
    for case in report["cases"]:
        heading = " ".join(case_words(case)).strip()
        rows, statuses = [], []
        for i, row in enumerate(case["rows"]):
            sim = row["sim"] if i == 0 or row["status"] != UNAVAILABLE else UNAVAILABLE
            rows.append([row["label"], row["real"], sim, row["verdict"]])
            statuses.append(row["status"])
        out.append((heading, rows, statuses))
    return out


def _fits(report: dict[str, Any], width: int) -> bool:
    """Whether the one-table layout shows every cell whole at this width."""
    cols = [
        Col("workload", "left"),
        Col("metric", "left"),
        Col("real"),
        Col("simulated", wrap=True),
        Col("verdict", "left", wrap=True),
    ]
    rows = [
        [name, *cells]
        for case in report["cases"]
        for name in case_words(case)
        for cells in [["", "", "", ""]]
    ] + [["", *r] for _, rows, _ in _cells(report) for r in rows]
    return min_width(cols, rows) + 12 <= width  # and room for the verdicts to wrap


def print_table(report: dict[str, Any], console: Console | None = None) -> None:
    """One table: workload, metric, real (min–max), simulated, verdict; stacked when narrow."""
    console = console or _console()
    if not _fits(report, console.width):
        _print_stacked(report, console)
    else:
        _print_wide(report, console)
    s = report["summary"]
    console.print(f"{s[OK]} ok, {s[MISS]} missed, {s[UNAVAILABLE]} unavailable")
    if report.get("heavy"):
        console.print(groups_text(report))


def _print_stacked(report: dict[str, Any], console: Console) -> None:
    """Each case a heading; each metric one line (or more): real, simulated, the verdict."""
    print_title(console, header(report))
    console.print(Text(SHORT_NOTE.format(widen=report["widen"]), style="dim"), overflow="fold")
    for heading, rows, statuses in _cells(report):
        console.print(Text(heading, style="bold"), overflow="fold")
        for (label, real, sim, verdict), status in zip(rows, statuses, strict=True):
            style = _STYLE.get(status, "")
            lines = wrap_items([label, f"real {real}", f"simulated {sim}"], console.width - 2, "")
            last = f"{lines[-1]}  {verdict}"
            if cell_len(last) <= console.width - 2:  # the verdict fits on the figures' line
                lines[-1] = last
                verdict = ""
            for n, line in enumerate(lines):
                text = Text(line)
                if n == len(lines) - 1 and not verdict:
                    text.stylize(style, len(line) - len(last.split("  ")[-1]))
                console.print(Padding(text, (0, 0, 0, 2), expand=False), overflow="fold")
            if verdict:
                console.print(
                    Padding(Text(verdict, style=style), (0, 0, 0, 4), expand=False), overflow="fold"
                )


def _print_wide(report: dict[str, Any], console: Console) -> None:
    t = Table(
        title=escape(header(report)),
        title_justify="left",
        caption=escape(SHORT_NOTE.format(widen=report["widen"])),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    t.add_column("workload", no_wrap=True)
    t.add_column("metric", no_wrap=True)
    t.add_column("real", justify="right", no_wrap=True)
    t.add_column("simulated", justify="right", max_width=32, overflow="fold")
    t.add_column("verdict", ratio=1, overflow="fold")
    for case in report["cases"]:
        # The case's name on its first row, one word of its description per row below it.
        first, *rest = case_words(case)
        names = [first, *(f" {p}" for p in rest)]
        for i, row in enumerate(case["rows"]):
            sim = row["sim"] if i == 0 or row["status"] != UNAVAILABLE else UNAVAILABLE
            style = _STYLE.get(row["status"], "")
            t.add_row(
                escape(names[i]) if i < len(names) else "",
                escape(row["label"]),
                escape(row["real"]),
                Text(sim, justify="left") if row["status"] == UNAVAILABLE else escape(sim),
                f"[{style}]{escape(row['verdict'])}[/]" if style else escape(row["verdict"]),
                end_section=i == len(case["rows"]) - 1,
            )
    console.print(t)


def print_cases(cases: list[dict[str, Any]], title: str, console: Console | None = None) -> None:
    """``goheap validate --list``: the cases a validation would run, one row each."""
    console = console or _console()
    cols = [Col("case", "left"), Col("parameters", "left", wrap=True), Col("settings", "left")]
    rows = []
    for case in cases:
        params = params_text(case["params"])
        if "name" in case:
            name = f"{case['name']} ({_group(case)})"
            rows.append([name, f"{case['workload']} {params}", _settings(case)])
        else:
            rows.append([case["workload"], params, case.get("told", "")])
    print_fitted(console, title, cols, rows)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _md_case(case: dict[str, Any]) -> str:
    """A case's name cell: ``churn `k=1000 steps=30000` ``, or a heavy case's name, group and
    settings."""
    plain = f"{case['workload']} `{params_text(case['params'])}`"
    if "name" not in case:
        return plain
    return f"**{case['name']}** ({_group(case)}): {plain} `{_settings(case)}`"


def markdown(report: dict[str, Any]) -> str:
    """The 'measured agreement per workload' section, as Markdown."""
    begin, end = markers(report["profile"], bool(report.get("heavy")))
    lines = [begin, "", header(report) + ".", "", NOTE.format(widen=report["widen"]), ""]
    lines += [
        "| workload | metric | real (min–max) | simulated | verdict |",
        "|---|---|--:|--:|---|",
    ]
    reasons: dict[str, int] = {}
    for case in report["cases"]:
        first = True
        for row in case["rows"]:
            sim = row["sim"]
            if row["status"] == UNAVAILABLE:
                n = reasons.setdefault(sim.removeprefix("unavailable: "), len(reasons) + 1)
                sim = f"unavailable [{n}]" if first else UNAVAILABLE
            name = _md_case(case) if first else ""
            lines.append(
                f"| {_md(name)} | {_md(row['label'])} | {_md(row['real'])} | {_md(sim)} "
                f"| {_md(row['verdict'])} |"
            )
            first = False
    if reasons:
        lines.append("")
        lines += [f"[{n}] unavailable: {_md(reason)}" for reason, n in reasons.items()]
    s = report["summary"]
    lines += ["", f"{s[OK]} ok, {s[MISS]} missed, {s[UNAVAILABLE]} unavailable."]
    if report.get("heavy"):
        lines += ["", groups_text(report) + "."]
    lines += ["", end]
    return "\n".join(lines) + "\n"


def replace_section(doc_text: str, begin: str, end: str, body: str) -> str:
    """doc_text with everything from ``begin`` to ``end`` (markers included) replaced by body.

    body brings its own markers, so that the section can be found again.
    """
    start, stop = doc_text.find(begin), doc_text.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"no generated section ({begin} ... {end}) in the document")
    return doc_text[:start] + body.rstrip("\n") + doc_text[stop + len(end) :]


def refresh_doc(doc_text: str, report: dict[str, Any]) -> str:
    """doc_text with the report's profile's generated section replaced by its Markdown."""
    begin, end = markers(report["profile"], bool(report.get("heavy")))
    return replace_section(doc_text, begin, end, markdown(report))

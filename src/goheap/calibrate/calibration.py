"""One calibration: the machine, the probes of each toolchain, the derived costs, the document."""

from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goheap.calibrate.derive import Row, derive
from goheap.calibrate.probes import (
    Plan,
    Tell,
    available_memory,
    build_probes,
    plan_for,
    run_all,
)
from goheap.costs import CALIBRATION, cost_fields
from goheap.document import document
from goheap.runtime.common.clock import CostModel
from goheap.validate.toolchain import Toolchain

CACHE_SYSFS = Path("/sys/devices/system/cpu/cpu0/cache")


def parse_cache_size(text: str) -> int | None:
    """sysfs's cache size ('32768K', '1M') in bytes."""
    text = text.strip()
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    try:
        if text and text[-1].upper() in units:
            return int(text[:-1]) * units[text[-1].upper()]
        return int(text) if text else None
    except ValueError:
        return None


def llc_from_sysfs(root: Path = CACHE_SYSFS) -> int | None:
    """The largest data or unified cache of CPU 0, in bytes; None when sysfs does not say."""
    best: tuple[int, int] | None = None
    for index in sorted(root.glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            level = int((index / "level").read_text())
            size = parse_cache_size((index / "size").read_text())
        except (OSError, ValueError):
            continue
        if kind in ("Data", "Unified") and size and (best is None or (level, size) > best):
            best = (level, size)
    return best[1] if best else None


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@dataclass
class Calibration:
    """What a calibration produced: the costs, one row per field, and its document."""

    costs: CostModel
    rows: list[Row]
    doc: dict[str, Any]


def loaded(load_max: float, cpus: int) -> bool:
    """Whether others shared the machine: more runnable work than CPUs during the probes."""
    return load_max >= cpus


def calibrate(
    toolchains: dict[str, Toolchain],
    src: Path,
    cache_dir: Path,
    *,
    quick: bool,
    tell: Tell,
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
) -> Calibration:
    """Build and run the probes with each toolchain (name -> toolchain) and derive the costs."""
    llc = llc_from_sysfs()
    plan: Plan = plan_for(quick, llc or CostModel().llc_bytes, available_memory())
    start = os.getloadavg()[0]
    runtimes: dict[str, Any] = {}
    # Today's pprof reads every runtime's CPU profiles (Go 1.8's legacy format too,
    # symbolized from the probe's binary); Go 1.8's own leaves them unsymbolized.
    pprof_go = toolchains["go1.27"].go if "go1.27" in toolchains else None
    for name, tc in toolchains.items():
        tell(f"{name}: building the probes with {tc.version}")
        exes = build_probes(tc, src, cache_dir)
        runtimes[name] = run_all(exes, plan, _prefixed(tell, name), pprof_go or tc.go)
    raw = {"llc_sysfs": llc, "plan": plan.__dict__, "runtimes": runtimes}
    costs, rows = derive(raw)
    cpus = os.cpu_count() or 1
    load_max = max([start, *(rt["load"]["max"] for rt in runtimes.values())])
    u = os.uname()
    body = {
        "date": now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "goheap": _version(),
        "quick": quick,
        "machine": {
            "cpu": cpu_model(),
            "cpus": cpus,
            "llc_bytes": llc,
            "kernel": f"{u.sysname} {u.release}",
            "arch": u.machine,
        },
        "toolchains": {name: tc.version for name, tc in toolchains.items()},
        "load": {
            "start": round(start, 2),
            "max": round(load_max, 2),
            "end": round(os.getloadavg()[0], 2),
            "cpus": cpus,
            "loaded": loaded(load_max, cpus),
        },
        "costs": cost_fields(costs),
        "fields": [
            {"field": r.field, "default": r.default, "measured": r.measured, "how": r.how}
            for r in rows
        ],
        "probes": raw,
    }
    return Calibration(costs, rows, document(CALIBRATION, body))


def _prefixed(tell: Tell, name: str) -> Tell:
    """``tell`` with each line headed by the toolchain's name."""
    return lambda line: tell(f"{name}: {line}")


def _version() -> str:
    import goheap

    return str(goheap.__version__)

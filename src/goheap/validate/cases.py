"""What is validated: one case per workload, its parameters, and its Go flags.

The full set runs every workload at its model's defaults (``goheap run
--list``); ``--quick`` uses the smaller parameters of ``QUICK`` so that the
whole set (build, three runs of each program, one simulation each) takes
well under two minutes on two cores. The Go program takes the model's
parameters as flags with the same names; ``fragmentation`` also needs
``-nelems``, the objects per span of its size class in the Go that runs it,
which is computed here from that toolchain's own size-class table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from goheap.errors import GoheapError
from goheap.report.common import memlimit_setting
from goheap.validate.toolchain import GoSizeClasses, clean_env
from goheap.workloads import WORKLOADS, get_workload

# Small enough for CI, large enough that most workloads run a few GC cycles.
QUICK: dict[str, dict[str, int]] = {
    "binarytrees": {"depth": 12},
    "retain": {"size": 64, "count": 10000},
    "churn": {"k": 1000, "steps": 30000},
    "large": {"window": 16, "steps": 1000},
    "finalizers": {"count": 2000},
    "service": {"requests": 10000},
    "fragmentation": {"size": 64, "count": 20000},
}


@dataclass(frozen=True)
class Settings:
    """What the runtime is told: GOGC (a number or 'off'), GOMEMLIMIT in bytes, GOMAXPROCS."""

    gogc: str = "100"
    memlimit: int | None = None
    gomaxprocs: int = 1

    def env(self) -> dict[str, str]:
        env = clean_env()
        env["GOMAXPROCS"] = str(self.gomaxprocs)
        env["GOGC"] = self.gogc
        env["GOMEMLIMIT"] = "off" if self.memlimit is None else str(self.memlimit)
        return env

    def gogc_value(self) -> int:
        """GOGC as the model takes it: -1 for off."""
        return -1 if self.gogc == "off" else int(self.gogc)

    def text(self) -> str:
        """``GOGC=100 GOMEMLIMIT=off GOMAXPROCS=1``, as a table heading shows it."""
        limit = memlimit_setting(self.memlimit)
        return f"GOGC={self.gogc} GOMEMLIMIT={limit} GOMAXPROCS={self.gomaxprocs}"

    def to_dict(self) -> dict[str, Any]:
        return {"gogc": self.gogc, "memlimit": self.memlimit, "gomaxprocs": self.gomaxprocs}


@dataclass(frozen=True)
class Case:
    """One workload with its parameters, for the model and for its Go twin.

    A heavy case (``goheap validate --heavy``, goheap.validate.heavy) also has
    a name, its own runtime settings and whether it was held out of every
    calibration; the ordinary cases take the validation's settings.
    """

    workload: str
    params: dict[str, int]  # the model's parameters (all of them)
    go_flags: tuple[str, ...] = field(default=())  # the Go program's command line
    name: str = ""  # a heavy case's name ("" : the workload's)
    settings: Settings | None = None  # its own GOGC/GOMEMLIMIT/GOMAXPROCS (None: the run's)
    held_out: bool | None = None  # a heavy case: kept out of every calibration

    @property
    def label(self) -> str:
        return self.name or self.workload

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "workload": self.workload,
            "params": self.params,
            "go_flags": list(self.go_flags),
        }
        if self.name:
            out["name"] = self.name
        if self.settings is not None:
            out["settings"] = self.settings.to_dict()
        if self.held_out is not None:
            out["held_out"] = self.held_out
        return out


#: How often a twin reads the heap for its peak (its -sample flag; the report's
#: default is every 1000 allocations). ``large`` allocates a few hundred objects of
#: 32 KiB and more, so every 1000 it would read the heap about three times a run and
#: miss its peak by about half (a Go 1.8 run read at every allocation peaks at
#: 48.8-50.8 MB, the model at 51.2 MB, which three reads put 79% high); a read per
#: allocation costs nothing beside such objects.
SAMPLE_EVERY: dict[str, int] = {"large": 1}


def go_flags(workload: str, params: dict[str, int], classes: GoSizeClasses | None) -> list[str]:
    """The Go program's flags for the model's parameters (plus -nelems for fragmentation)."""
    flags = [f"-{k}={v}" for k, v in params.items()]
    if workload in SAMPLE_EVERY:
        flags.append(f"-sample={SAMPLE_EVERY[workload]}")
    if workload == "fragmentation":
        if classes is None:
            raise GoheapError("fragmentation needs the Go size-class table for -nelems")
        c = classes.size_class(params["size"])
        if c is None or params["size"] < 16:
            raise GoheapError(
                f"fragmentation: size={params['size']} is not a small non-tiny object "
                f"in {len(classes.sizes) - 1} size classes"
            )
        flags.append(f"-nelems={classes.nelems_noscan(c)}")
    return flags


def select_workloads(names: Iterable[str]) -> list[str]:
    """The workloads named (all, in registry order, when none), checked."""
    chosen = list(dict.fromkeys(names))
    for n in chosen:
        get_workload(n)  # a one-line GoheapError for an unknown name
    return chosen or list(WORKLOADS)


def make_cases(names: Iterable[str], *, quick: bool, classes: GoSizeClasses | None) -> list[Case]:
    """The cases to validate: defaults, or QUICK's overrides with --quick."""
    out = []
    for name in select_workloads(names):
        params = get_workload(name).defaults()
        if quick:
            params.update(QUICK.get(name, {}))
        out.append(Case(name, params, tuple(go_flags(name, params, classes))))
    return out

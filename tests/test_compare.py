"""goheap.compare's executors: the same results from a real local Dask or Ray cluster.

Each test skips when its library is not installed (``pip install -e
'.[cluster]'`` brings both). The runs are tiny; most of the time is the
cluster starting.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from goheap.compare import RunSpec, run_all
from goheap.errors import GoheapError

SPECS = [RunSpec("retain", ["count=500"], "go1.8", gogc, None) for gogc in (50, 100)]


def _without_wall_time(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in results:
        r["sim"].pop("wall_s")
    return results


@pytest.fixture(scope="module")
def serial() -> list[dict[str, Any]]:
    return _without_wall_time(run_all(SPECS, executor="serial"))


def test_process_pool_and_serial_agree(serial: list[dict[str, Any]]) -> None:
    assert _without_wall_time(run_all(SPECS, executor="process", jobs=2)) == serial


def test_dask_runs_on_a_local_cluster(monkeypatch, serial: list[dict[str, Any]]) -> None:
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
        results = run_all(SPECS, executor="dask")
    assert _without_wall_time(results) == serial


def test_dask_starts_its_own_local_cluster(monkeypatch, serial: list[dict[str, Any]]) -> None:
    pytest.importorskip("dask.distributed")
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    results = run_all(SPECS, executor="dask", jobs=1)  # a worker process of its own
    assert _without_wall_time(results) == serial


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray instance for both Ray tests here: each start takes 5-8 s."""
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("RAY_ADDRESS", raising=False)
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()


def test_ray_runs_on_a_local_instance(local_ray: None, serial: list[dict[str, Any]]) -> None:
    results = run_all(SPECS, executor="ray")
    assert _without_wall_time(results) == serial


@pytest.mark.parametrize(
    ("executor", "modules", "hint"),
    [("dask", ("dask", "dask.distributed"), "dask[distributed]"), ("ray", ("ray",), "ray")],
)
def test_a_missing_library_is_one_error(
    monkeypatch, executor: str, modules: tuple[str, ...], hint: str
) -> None:
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # import fails, installed or not
    with pytest.raises(GoheapError, match=rf"--executor {executor} needs .*{re.escape(hint)}"):
        run_all(SPECS, executor=executor)


def _square(x: int) -> int:
    return x * x


def test_dask_reports_each_item_as_it_finishes(monkeypatch) -> None:
    """compare's progress on a cluster: done(n) for every item, not only at the end."""
    distributed = pytest.importorskip("dask.distributed")
    from goheap.parallel import map_items

    told: list[int] = []
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
        out = map_items(_square, [1, 2, 3, 4], 1, "dask", told.append)
    assert out == [1, 4, 9, 16] and told == [1, 2, 3, 4]


def test_ray_reports_each_item_as_it_finishes(local_ray: None) -> None:
    from goheap.parallel import map_items

    told: list[int] = []
    out = map_items(_square, [1, 2, 3], 1, "ray", told.append)
    assert out == [1, 4, 9] and told == [1, 2, 3]

"""Run the pending runs of a store, in this process or on Dask, recording each one as it finishes.

A run that raises is recorded as failed (error and traceback in the store) and the others go on;
Ctrl-C cancels what is queued and leaves every finished run in the store (the caller says
"resume with the same command"). The driver writes each result the moment it arrives, so a
killed driver loses only the runs in flight.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from .store import PlannedRun, RunStore, StoreError, shard_slice


@dataclass
class Task:
    run: PlannedRun
    fn: Callable
    args: tuple
    #: run-row fields known before the run (ids, parameters, seed, scenario hash)
    row: dict


@dataclass
class Execution:
    where: str = ""
    done: int = 0
    failed: int = 0
    wall_s: float = 0.0
    run_wall_s: float = 0.0
    failures: list[str] = field(default_factory=list)


def progress_bar(total: int, enabled: bool | None, initial: int = 0, grand_total: int | None = None):
    from tqdm.auto import tqdm

    return tqdm(total=grand_total or total, initial=initial, desc="runs", unit="run",
                disable=(None if enabled is None else not enabled), file=sys.stderr, dynamic_ncols=True)


def _warm_up(plugins: tuple[str, ...] = ()) -> bool:
    """Compile (or load from numba's cache) every kernel once, before the runs fan out."""
    from ..scenario import parse_scenario
    from .compare import run_replicate

    small = ["world.width=10", "world.height=10", "world.users=50", "world.dealers=6", "world.organizations=2",
             "world.hotspots=2", "world.district_size=5", "enforcement.officers=3", "world.steps=2",
             "world.mesa_user_agents=false"]
    for policy in ("none", "aggressive_interdiction", "targeted_deterrence"):
        sc = parse_scenario({}, overrides=[*small, f"enforcement.policy={policy}"])
        run_replicate(sc.model_dump(mode="json"), 0, 0, 0, None, plugins)
    return True


def execute(store: RunStore, tasks: list[Task], record: Callable[[Task, dict], tuple[dict, object, object]],
            workers: int = 1, scheduler: str | None = None, progress: bool | None = None,
            plugins: tuple[str, ...] = (), already: int = 0, planned: int | None = None) -> Execution:
    """Run ``tasks`` and write each into ``store``. ``record(task, result)`` gives
    ``(metrics for the run row, timeseries frame, maps or None)``.

    ``workers == 1`` without ``scheduler`` runs in this process; otherwise a Dask ``LocalCluster``
    of ``workers`` single-threaded processes, or the scheduler at ``scheduler``.
    """
    ex = Execution()
    t0 = time.perf_counter()
    bar = progress_bar(len(tasks), progress, initial=already, grand_total=planned)

    def ok(task: Task, res: dict) -> None:
        metrics, ts, maps = record(task, res)
        store.write_ok(task.run.run_id, {**task.row, **metrics}, ts, maps)
        ex.done += 1
        ex.run_wall_s += float(res.get("wall_s", 0.0))
        bar.update(1)

    def bad(task: Task, exc, tb=None) -> None:
        store.write_failed(task.run.run_id, dict(task.row), exc, tb)
        ex.failed += 1
        msg = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)
        ex.failures.append(f"{task.run.run_id}: {msg}")
        bar.set_postfix(failed=ex.failed)
        bar.update(1)

    try:
        if not tasks:
            ex.where = "nothing to run"
        elif workers == 1 and not scheduler:
            ex.where = "in-process (--workers 1)"
            for task in tasks:
                try:
                    res = task.fn(*task.args)
                except Exception as exc:  # a failing run is recorded; the others go on
                    bad(task, exc)
                    continue
                ok(task, res)
        else:
            ex.where = _run_dask(tasks, ok, bad, workers, scheduler, plugins)
    finally:
        bar.close()
        ex.wall_s = time.perf_counter() - t0
    return ex


def _run_dask(tasks, ok, bad, workers, scheduler, plugins) -> str:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
        where = f"Dask scheduler {scheduler}"
    else:
        env = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1"}
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR, env=env)
        client = Client(cluster)
        where = f"Dask LocalCluster, {workers} worker processes x 1 thread"
    token = uuid.uuid4().hex[:10]
    futures = []
    try:
        # one worker compiles the numba kernels (or loads them from the cache) before the others start
        client.submit(_warm_up, plugins, key=f"warmup-{token}", pure=False).result()
        index = {}
        for task in tasks:
            fut = client.submit(task.fn, *task.args, key=f"run-{task.run.point}-{task.run.replicate}-{token}",
                                pure=False)
            index[fut.key] = task
            futures.append(fut)
        for fut in as_completed(futures):
            task = index[fut.key]
            if fut.status == "finished":
                ok(task, fut.result())
            else:
                try:
                    exc = fut.exception()
                    tb = "".join(__import__("traceback").format_tb(fut.traceback())) if fut.traceback() else None
                except Exception as err:  # e.g. cancelled
                    exc, tb = err, None
                bad(task, exc, tb)
            fut.release()
    finally:
        for fut in futures:
            fut.cancel()
        client.close()
        if cluster is not None:
            cluster.close()
    return where


def run_missing(store: RunStore, output, planned: list[PlannedRun],
                make_tasks: Callable[[list[PlannedRun]], list[Task]],
                record: Callable[[Task, dict], tuple[dict, object, object]], *,
                shard: tuple[int, int] | None = None, collect: bool = False,
                **execute_kw) -> tuple[Execution, list[PlannedRun], list[PlannedRun]]:
    """Run the planned runs of this shard (all of them without ``shard``) that the store does not
    hold yet (none with ``collect``); returns ``(execution, this shard's runs, the runs computed)``.

    Once the store holds any finished run, the output folder is no longer one this command may
    remove on failure (``output.forget_created()``): finished work is kept."""
    mine = planned if shard is None else shard_slice(planned, *shard)
    done = store.finished()
    pending = [] if collect else [r for r in mine if r.run_id not in done]
    ex = execute(store, make_tasks(pending), record, already=len(mine) - len(pending), planned=len(mine),
                 **execute_kw)
    if ex.done or ex.failed or done:
        output.forget_created()
    return ex, mine, pending


def require_complete(store: RunStore, planned: list[PlannedRun], out) -> None:
    """Raise :class:`StoreError` unless every planned run is in the store (before ``--collect``)."""
    status = store.status()
    missing = [r.run_id for r in planned if r.run_id not in status]
    if missing:
        raise StoreError(f"{out}: {len(missing)} of {len(planned)} runs are not in the store yet "
                         f"(e.g. {missing[0]}): run the missing shards, or the command without --shard/"
                         "--collect, then --collect")

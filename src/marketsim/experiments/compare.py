"""Replicated policy comparisons with common random numbers (``marketsim compare``).

    marketsim compare SCENARIO [SCENARIO ...] [--replicates N] [--workers K] [--seed ROOT]
                      [--steps N] [--set KEY=VALUE ...] [--out DIR] [--scheduler ADDRESS]

Every scenario is run ``N`` times. Replicate ``r`` of *every* scenario uses the same seed,
``numpy.random.SeedSequence(ROOT, spawn_key=(r,))`` (common random numbers), so scenarios that
differ only in their policy start replicate ``r`` from the identical world and the differences
between them are paired. Results depend on (scenarios, N, ROOT) only, never on the number of
workers or the order in which runs finish.

Runs execute on Dask distributed: a ``LocalCluster`` of ``K`` single-threaded worker
processes by default, or an existing cluster (``--scheduler tcp://host:8786``, e.g. a
``dask_jobqueue.SLURMCluster``); ``--workers 1`` runs everything in this process (debugging).

Outputs in ``DIR`` (all written atomically: a failed comparison leaves nothing):

- ``runs.parquet``        one row per (scenario, replicate): seed, initial-world hash, run metrics
- ``timeseries.parquet``  every week of every run (scenario, replicate, step, metric columns)
- ``comparison.csv``      per metric and scenario: mean and 95% CI; paired difference from the
                          first scenario with its 95% CI and a paired t-test p-value
- ``adequacy.csv``        CI half-width against the number of replicates
- ``figures/``            PNG + SVG figures (:mod:`marketsim.experiments.figures`)
- ``report.md``, ``report.html``  the write-up (:mod:`marketsim.experiments.report`)
- ``compare.json``        provenance: command, seeds, package versions, resolved scenarios
- ``scenarios/*.toml``    the fully resolved scenarios, to rerun any single run

From Python::

    from marketsim import compare
    compare(["scenarios/baseline.toml", "scenarios/targeted_deterrence.toml"], replicates=10, workers=2,
            out="out/cmp")

(In a script, call it under ``if __name__ == "__main__":``: Dask's worker processes are spawned.)

Scenarios whose initial worlds differ (e.g. different numbers of users or officers) are
compared anyway: the runs still share seeds, but the worlds differ, so the report warns and
``runs.parquet`` records each run's initial-world hash. ``--require-same-world`` refuses such a
comparison instead (exit 2, before any run).
"""

from __future__ import annotations

import gc
import logging
import os
import shlex
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_parquet,
    atomic_write_text,
    staged_dir,
)
from ..scenario import Scenario, ScenarioError, parse_scenario, scenario_to_toml
from .outcomes import HEADLINE, ID_COLUMNS, KEY_METRICS, KINDS, METRICS
from .specs import ScenarioSpec, differing_parameters, load_specs

__all__ = ["compare", "run_replicate", "add_cli", "CompareResult", "default_map_steps"]

N_MAPS = 3


# ---------------------------------------------------------------------------- one run (a task)
def _release(model) -> None:
    """Let the interpreter free a finished model.

    Mesa 3.3.1 keeps every model forever as a key of ``mesa.Agent._ids`` (fixed in 3.4.2);
    dropping that key is enough for the model, its agents and arrays to be collected.
    """
    try:
        import mesa

        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(model, None)
    except Exception:  # pragma: no cover - best effort only
        pass


def default_map_steps(steps: int, n: int = N_MAPS) -> tuple[int, ...]:
    """``n`` evenly spaced snapshot weeks ending at ``steps`` (e.g. 87, 173, 260)."""
    return tuple(sorted({max(1, round(steps * (i + 1) / n)) for i in range(n)}))


def run_replicate(scenario: dict, scenario_index: int, replicate: int, root_seed: int,
                  map_steps: tuple[int, ...] | None = None, plugins: tuple[str, ...] = ()) -> dict:
    """Run replicate ``replicate`` of one scenario (a Dask task: top-level and importable).

    ``scenario`` is a resolved scenario as a dict (``Scenario.model_dump(mode="json")``); the seed is
    ``SeedSequence(root_seed, spawn_key=(replicate,))``. With ``map_steps``, per-cell maps are
    kept: violent incidents and units sold summed over the weeks since the previous snapshot,
    and the organisation controlling each cell at the snapshot week.
    """
    import importlib

    for p in plugins:
        importlib.import_module(p)
    from ..model import DrugMarketModel

    t0 = time.perf_counter()
    sc = Scenario.model_validate(scenario)
    seed = np.random.SeedSequence(root_seed, spawn_key=(replicate,))
    model = DrugMarketModel(sc, seed=seed)
    fingerprint = model.initial_fingerprint
    steps = sc.world.steps
    maps = None
    if map_steps:
        s = model.state
        want = sorted(set(int(m) for m in map_steps if 1 <= m <= steps))
        inc = np.zeros(s.ncell)
        sold = np.zeros(s.ncell)
        maps = {"steps": [], "windows": [], "incidents": [], "sales": [], "control": [],
                "width": s.width, "height": s.height}
        start = 1
        for week in range(1, steps + 1):
            model.step()
            inc += s.cell_incidents
            sold += s.cell_sales
            if week in want:
                maps["steps"].append(week)
                maps["windows"].append((start, week))
                maps["incidents"].append(inc.reshape(s.height, s.width).astype(np.float32))
                maps["sales"].append(sold.reshape(s.height, s.width).astype(np.float32))
                maps["control"].append(s.cell_control.reshape(s.height, s.width).astype(np.int16))
                inc[:] = 0.0
                sold[:] = 0.0
                start = week + 1
        for k in ("incidents", "sales", "control"):
            maps[k] = np.stack(maps[k]) if maps[k] else np.zeros((0, s.height, s.width))
    else:
        model.run(steps)
    ts = model.timeseries()
    summary = model.summary()
    _release(model)
    del model
    gc.collect()
    return {"scenario_index": scenario_index, "replicate": replicate, "fingerprint": fingerprint,
            "summary": summary, "timeseries": ts, "maps": maps, "wall_s": time.perf_counter() - t0}


def _warm_up(plugins: tuple[str, ...] = ()) -> bool:
    """Compile (or load from numba's cache) every kernel once, before the runs fan out."""
    small = ["world.width=10", "world.height=10", "world.users=50", "world.dealers=6", "world.organizations=2",
             "world.hotspots=2", "world.district_size=5", "enforcement.officers=3", "world.steps=2",
             "world.mesa_user_agents=false"]
    for policy in ("none", "aggressive_interdiction", "targeted_deterrence"):
        sc = parse_scenario({}, overrides=[*small, f"enforcement.policy={policy}"])
        run_replicate(sc.model_dump(mode="json"), 0, 0, 0, None, plugins)
    return True


def initial_fingerprint(scenario: Scenario, root_seed: int, replicate: int = 0) -> str:
    """Hash of the world of ``replicate`` when the policy takes over (builds it and runs its burn-in)."""
    from ..model import DrugMarketModel

    model = DrugMarketModel(scenario, seed=np.random.SeedSequence(root_seed, spawn_key=(replicate,)))
    fp = model.initial_fingerprint
    _release(model)
    del model
    gc.collect()
    return fp


# ---------------------------------------------------------------------------- input
@dataclass
class CompareResult:
    """What :func:`compare` computed (also written to ``out``)."""

    out: Path
    specs: list[ScenarioSpec]
    runs: pd.DataFrame
    timeseries: pd.DataFrame
    comparison: pd.DataFrame
    adequacy: pd.DataFrame
    maps: dict
    provenance: dict = field(default_factory=dict)


def _check_args(scenarios, replicates, workers, root_seed, steps, out, scheduler, map_steps, ci) -> list[str]:
    p = []
    if not scenarios:
        p.append("compare: SCENARIO: give at least one scenario file")
    if not isinstance(replicates, (int, np.integer)) or isinstance(replicates, bool) or replicates < 1:
        p.append(f"compare: --replicates: must be a whole number >= 1 (got {replicates!r})")
    if not isinstance(workers, (int, np.integer)) or isinstance(workers, bool) or workers < 1:
        p.append(f"compare: --workers: must be a whole number >= 1 (got {workers!r})")
    if root_seed is not None and (not isinstance(root_seed, (int, np.integer)) or root_seed < 0):
        p.append(f"compare: --seed: must be a whole number >= 0 (got {root_seed!r})")
    if steps is not None and (not isinstance(steps, (int, np.integer)) or steps < 1):
        p.append(f"compare: --steps: must be a whole number >= 1 (got {steps!r})")
    if map_steps is not None and any((not isinstance(m, (int, np.integer))) or m < 1 for m in map_steps):
        p.append(f"compare: --map-steps: weeks must be whole numbers >= 1 (got {list(map_steps)!r})")
    if ci not in ("t", "bootstrap"):
        p.append(f"compare: --ci: must be 't' or 'bootstrap' (got {ci!r})")
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        p.append(f"compare: --out: {out} exists and is not a folder")
    return p


# ---------------------------------------------------------------------------- execution
def _progress(total: int, enabled: bool | None):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="runs", unit="run", disable=(None if enabled is None else not enabled),
                file=sys.stderr, dynamic_ncols=True)


def _tasks(specs: list[ScenarioSpec], replicates: int, map_steps) -> list[tuple[int, int, tuple | None]]:
    """(scenario index, replicate, map steps) for every run, replicate-major."""
    out = []
    for r in range(replicates):
        for i, sp in enumerate(specs):
            ms = None
            if r == 0:
                steps = sp.scenario.world.steps
                ms = tuple(m for m in map_steps if m <= steps) if map_steps else default_map_steps(steps)
            out.append((i, r, ms))
    return out


class RunFailed(RuntimeError):
    pass


def _run_in_process(specs, tasks, root_seed, plugins, progress) -> list[dict]:
    results = []
    with _progress(len(tasks), progress) as bar:
        for i, r, ms in tasks:
            try:
                results.append(run_replicate(specs[i].scenario.model_dump(mode="json"), i, r, root_seed, ms, plugins))
            except Exception as exc:
                raise RunFailed(f"{specs[i].label} replicate {r}: {type(exc).__name__}: {exc}") from exc
            bar.update(1)
    return results


def _run_dask(specs, tasks, root_seed, plugins, workers, scheduler, progress) -> tuple[list[dict], str]:
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
    results = []
    futures = []
    try:
        # one worker compiles the numba kernels (or loads them from the cache) before the others start
        client.submit(_warm_up, plugins, key=f"warmup-{token}", pure=False).result()
        index = {}
        for i, r, ms in tasks:
            fut = client.submit(run_replicate, specs[i].scenario.model_dump(mode="json"), i, r, root_seed, ms,
                                plugins, key=f"run-{i}-{r}-{token}", pure=False)
            index[fut.key] = (i, r)
            futures.append(fut)
        with _progress(len(futures), progress) as bar:
            for fut in as_completed(futures):
                i, r = index[fut.key]
                try:
                    res = fut.result()
                except Exception as exc:
                    raise RunFailed(f"{specs[i].label} replicate {r}: {type(exc).__name__}: {exc}") from exc
                results.append(res)
                fut.release()
                bar.update(1)
    finally:
        for fut in futures:
            fut.cancel()
        client.close()
        if cluster is not None:
            cluster.close()
    return results, where


# ---------------------------------------------------------------------------- assembly
def _assemble(specs, results, root_seed):
    results = sorted(results, key=lambda d: (d["scenario_index"], d["replicate"]))
    rows, frames, maps = [], [], {}
    for res in results:
        sp = specs[res["scenario_index"]]
        row = {"scenario": sp.label, "scenario_index": res["scenario_index"], "replicate": res["replicate"],
               "root_seed": int(root_seed), "spawn_key": res["replicate"],
               "initial_world_sha256": res["fingerprint"], "steps": int(res["summary"].get("steps", 0))}
        row.update({m: res["summary"].get(m, np.nan) for m in METRICS})
        rows.append(row)
        ts = res["timeseries"].copy()
        ts.insert(0, "replicate", res["replicate"])
        ts.insert(0, "scenario_index", res["scenario_index"])
        ts.insert(0, "scenario", sp.label)
        frames.append(ts)
        if res.get("maps"):
            maps[sp.label] = res["maps"]
    runs = pd.DataFrame(rows, columns=ID_COLUMNS + METRICS)
    for c in METRICS:
        runs[c] = runs[c].astype(float)
    tseries = pd.concat(frames, ignore_index=True)
    return runs, tseries, maps


def _world_check(runs: pd.DataFrame, specs) -> dict:
    """Per replicate: do all scenarios start from the identical world?"""
    same = runs.groupby("replicate")["initial_world_sha256"].nunique() == 1
    ref = runs[runs["scenario_index"] == 0].set_index("replicate")["initial_world_sha256"]
    differs = []
    for i, sp in enumerate(specs[1:], start=1):
        fp = runs[runs["scenario_index"] == i].set_index("replicate")["initial_world_sha256"]
        if not (fp == ref.reindex(fp.index)).all():
            differs.append(sp.label)
    return {"replicates_identical": int(same.sum()), "replicates": int(same.size), "all_identical": bool(same.all()),
            "scenarios_with_other_worlds": differs}


def _versions() -> dict:
    from ..runner import versions

    v = versions()
    from importlib import metadata

    for p in ("dask", "distributed", "matplotlib"):
        try:
            v[p] = metadata.version(p)
        except metadata.PackageNotFoundError:  # pragma: no cover
            v[p] = "not installed"
    return v


# ---------------------------------------------------------------------------- the comparison
def compare(scenarios, replicates: int = 10, workers: int | None = None, root_seed: int | None = None,
            steps: int | None = None, overrides: list[str] | None = None, out: str | Path = "out/compare",
            scheduler: str | None = None, *, map_steps: list[int] | None = None, ci: str = "t",
            require_same_world: bool = False, plugins: list[str] | tuple[str, ...] = (),
            progress: bool | None = None, command: str | None = None, question: str | None = None,
            figures: bool = True, return_result: bool = False):
    """Run ``replicates`` replicates of every scenario with common random numbers and write the
    comparison into ``out``; return ``out`` (a Path), or a :class:`CompareResult` with
    ``return_result=True``.

    ``scenarios``: scenario files (or :class:`Scenario` objects); the first is the reference for
    paired differences. ``overrides`` (``"dotted.key=value"``) and ``steps`` apply to every
    scenario. ``root_seed`` defaults to the first scenario's ``seed``. ``workers`` defaults to the
    number of CPUs; 1 (without ``scheduler``) runs in this process. ``map_steps``: weeks of the
    spatial snapshots (default three, evenly spaced). ``ci``: ``"t"`` (Student t) or
    ``"bootstrap"`` (percentile, fixed seed) intervals; p-values are paired t-tests either way.
    ``figures=False`` skips the figures (quick looks; the report then has none). ``question``
    replaces the report's default statement of the question.

    Raises :class:`ScenarioError` (every problem, ``FILE: dotted.path: message``) before anything is
    run or written when the input is invalid.
    """
    t_start = time.perf_counter()
    scenarios = list(scenarios) if not isinstance(scenarios, (str, Path, Scenario)) else [scenarios]
    if workers is None:
        workers = os.cpu_count() or 1
    problems = _check_args(scenarios, replicates, workers, root_seed, steps, out, scheduler, map_steps, ci)
    specs, load_problems = load_specs(scenarios, overrides, steps)
    problems += load_problems
    if problems:
        raise ScenarioError(problems)
    if map_steps:
        shortest = min(sp.scenario.world.steps for sp in specs)
        if max(map_steps) > shortest:
            raise ScenarioError([f"compare: --map-steps: week {max(map_steps)} is after the end of the shortest "
                                 f"scenario ({shortest} weeks)"])
    if root_seed is None:
        root_seed = specs[0].scenario.seed
    root_seed = int(root_seed)
    plugins = tuple(plugins or ())
    if require_same_world and len(specs) > 1:
        fps = [initial_fingerprint(sp.scenario, root_seed) for sp in specs]
        bad = [sp for sp, fp in zip(specs, fps) if fp != fps[0]]
        if bad:
            diffs = differing_parameters(specs)
            raise ScenarioError([f"{sp.source}: (world): initial world differs from {specs[0].source}'s with the "
                                 f"same seed, so runs are not paired on one world (--require-same-world); "
                                 f"differing parameters: {', '.join(k for k, _ in diffs) or '?'}" for sp in bad])
    out = Path(out)
    tasks = _tasks(specs, replicates, sorted(set(map_steps)) if map_steps else None)

    t_runs = time.perf_counter()
    if workers == 1 and not scheduler:
        results = _run_in_process(specs, tasks, root_seed, plugins, progress)
        where = "in-process (--workers 1)"
    else:
        results, where = _run_dask(specs, tasks, root_seed, plugins, workers, scheduler, progress)
    runs_wall = time.perf_counter() - t_runs

    runs, tseries, maps = _assemble(specs, results, root_seed)
    world = _world_check(runs, specs)
    if require_same_world and not world["all_identical"]:  # pragma: no cover - caught up-front above
        raise ScenarioError([f"compare: (world): initial worlds differ in "
                             f"{world['replicates'] - world['replicates_identical']} replicates"])
    if not world["all_identical"]:
        print(f"warning: scenario(s) {', '.join(world['scenarios_with_other_worlds'])} start from a different "
              f"initial world than {specs[0].label} (same seeds, different parameters): differences mix the "
              "policy with the world", file=sys.stderr)

    from . import figures as figs_mod
    from . import report, stats

    labels = [sp.label for sp in specs]
    table = stats.comparison_table(runs, METRICS, labels, method=ci, kinds=KINDS)
    adequacy = stats.adequacy(runs, KEY_METRICS, labels)
    if command is None:
        command = "python: marketsim.experiments.compare(" + ", ".join(
            [repr([sp.source for sp in specs]), f"replicates={replicates}", f"workers={workers}",
             f"root_seed={root_seed}", f"steps={steps}", f"overrides={list(overrides or [])!r}",
             f"out={str(out)!r}"]) + ")"
    provenance = {
        "command": command,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "root_seed": root_seed,
        "seeds": f"replicate r: numpy.random.SeedSequence({root_seed}, spawn_key=(r,)), r = 0..{replicates - 1}",
        "replicates": int(replicates),
        "confidence": stats.CONFIDENCE,
        "ci_method": ci,
        "executor": where,
        "workers": int(workers),
        "wall_s_runs": round(runs_wall, 2),
        "run_wall_s_sum": round(float(sum(r["wall_s"] for r in results)), 2),
        "versions": _versions(),
        "overrides": list(overrides or []),
        "steps_override": steps,
        "plugins": list(plugins),
        "world_check": world,
        "scenarios": [{"label": sp.label, "source": sp.source, "policy": sp.scenario.enforcement.policy,
                       "description": sp.scenario.description, "steps": sp.scenario.world.steps,
                       "resolved": sp.scenario.model_dump(mode="json")} for sp in specs],
        "differing_parameters": [{"parameter": k, "values": v} for k, v in differing_parameters(specs)],
        "python_executable": sys.executable,
        "platform": sys.platform,
    }
    result = CompareResult(out, specs, runs, tseries, table, adequacy, maps, provenance)

    with staged_dir(out) as tmp:
        atomic_write_parquet(tmp / "runs.parquet", runs)
        atomic_write_parquet(tmp / "timeseries.parquet", tseries)
        atomic_write_bytes(tmp / "comparison.csv", table.to_csv(index=False, float_format="%.10g").encode())
        atomic_write_bytes(tmp / "adequacy.csv", adequacy.to_csv(index=False, float_format="%.10g").encode())
        for sp in specs:
            atomic_write_text(tmp / "scenarios" / f"{_safe(sp.label)}.toml", scenario_to_toml(sp.scenario))
        figs = figs_mod.make_all(tmp / "figures", runs, tseries, table, adequacy, maps, labels,
                                 headline=HEADLINE, key_metrics=KEY_METRICS) if figures else []
        provenance["figures"] = [f.as_dict() for f in figs]
        provenance["wall_s_total"] = round(time.perf_counter() - t_start, 2)
        md, html = report.render(result, figs, question=question, headline=HEADLINE, key_metrics=KEY_METRICS)
        atomic_write_text(tmp / "report.md", md)
        atomic_write_text(tmp / "report.html", html)
        atomic_write_json(tmp / "compare.json", provenance)
        written = {p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file()}
    _remove_stale(out, written)
    return result if return_result else out


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)


def _remove_stale(out: Path, written: set[Path]) -> None:
    """Figures and scenario files left by an earlier comparison into the same folder."""
    for sub in ("figures", "scenarios"):
        d = out / sub
        if d.is_dir():
            for p in d.iterdir():
                if p.is_file() and p.relative_to(out) not in written:
                    p.unlink()


# ---------------------------------------------------------------------------- command line
def _int_list(text: str) -> list[int]:
    import argparse

    try:
        return [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated weeks, e.g. 52,156,260 (got {text!r})") from None


def add_cli(subparsers, common) -> None:
    """Register ``marketsim compare`` (called by :mod:`marketsim.cli`)."""
    p = subparsers.add_parser(
        "compare", help="replicated comparison of scenarios with common random numbers: tables, figures, report",
        description="Run every scenario N times with common random numbers (replicate r of every scenario uses "
        "SeedSequence(ROOT, spawn_key=(r,))), then write runs.parquet, timeseries.parquet, comparison.csv "
        "(means, 95% CIs, paired differences from the first scenario), figures/ and report.md/.html.")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario TOML files; the first is the reference")
    p.add_argument("--replicates", type=int, default=10, metavar="N", help="replicates per scenario (default 10)")
    p.add_argument("--workers", type=int, default=None, metavar="K",
                   help="local worker processes (default: number of CPUs; 1 runs in this process)")
    p.add_argument("--seed", type=int, default=None, metavar="ROOT",
                   help="root seed (default: the first scenario's 'seed')")
    p.add_argument("--steps", type=int, default=None, metavar="N", help="weeks to simulate (default: world.steps)")
    p.add_argument("--out", default="out/compare", metavar="DIR", help="output folder (default out/compare)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use a running Dask scheduler (e.g. tcp://host:8786) instead of a LocalCluster")
    p.add_argument("--map-steps", type=_int_list, default=None, metavar="W1,W2,...",
                   help="weeks of the spatial snapshots (default: three, evenly spaced, the last at the end)")
    p.add_argument("--ci", choices=["t", "bootstrap"], default="t",
                   help="confidence intervals: Student t (default) or percentile bootstrap with a fixed seed")
    p.add_argument("--require-same-world", action="store_true",
                   help="refuse (exit 2) scenarios whose initial worlds differ for the same seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    common(p)
    p.set_defaults(handler=cmd_compare)


def _command_line(args) -> str:
    parts = ["marketsim", "compare", *args.scenarios, "--replicates", str(args.replicates)]
    if args.workers is not None:
        parts += ["--workers", str(args.workers)]
    if args.seed is not None:
        parts += ["--seed", str(args.seed)]
    if args.steps is not None:
        parts += ["--steps", str(args.steps)]
    for o in args.overrides:
        parts += ["--set", o]
    for p in args.plugin:
        parts += ["--plugin", p]
    if args.scheduler:
        parts += ["--scheduler", args.scheduler]
    if args.map_steps:
        parts += ["--map-steps", ",".join(map(str, args.map_steps))]
    if args.ci != "t":
        parts += ["--ci", args.ci]
    if args.require_same_world:
        parts.append("--require-same-world")
    parts += ["--out", args.out]
    return shlex.join(parts)


def cmd_compare(args) -> int:
    try:
        res = compare(args.scenarios, replicates=args.replicates, workers=args.workers, root_seed=args.seed,
                      steps=args.steps, overrides=args.overrides, out=args.out, scheduler=args.scheduler,
                      map_steps=args.map_steps, ci=args.ci, require_same_world=args.require_same_world,
                      plugins=args.plugin, progress=False if args.quiet else None,
                      command=_command_line(args), return_result=True)
    except RunFailed as exc:
        print(f"marketsim compare: a run failed: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        _print_table(res)
    return 0


def _print_table(res: CompareResult) -> None:
    from .report import fmt

    t = res.comparison
    labels = [sp.label for sp in res.specs]
    print(f"{len(labels)} scenarios x {res.provenance['replicates']} replicates, root seed "
          f"{res.provenance['root_seed']} ({res.provenance['wall_s_total']:.0f} s)")
    for metric in HEADLINE:
        sub = t[t["metric"] == metric].set_index("scenario")
        cells = []
        for s in labels:
            r = sub.loc[s]
            cells.append(f"{s}: {fmt(r['mean'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]")
        print(f"  {metric:<24} " + "; ".join(cells))
    print(f"wrote {res.out}/report.html (and report.md, comparison.csv, runs.parquet, timeseries.parquet, figures/)")

"""Replicated policy comparisons with common random numbers (``marketsim compare``).

    marketsim compare SCENARIO [SCENARIO ...] [--replicates N] [--workers K] [--seed ROOT]
                      [--steps N] [--set KEY=VALUE ...] [--out DIR] [--scheduler ADDRESS]
                      [--overwrite] [--shard I/N | --collect]

Every scenario is run ``N`` times. Replicate ``r`` of *every* scenario uses the same seed,
``numpy.random.SeedSequence(ROOT, spawn_key=(r,))`` (common random numbers), so scenarios that
differ only in their policy start replicate ``r`` from the identical world and the differences
between them are paired. Results depend on (scenarios, N, ROOT) only, never on the number of
workers or the order in which runs finish.

Runs execute on Dask distributed: a ``LocalCluster`` of ``K`` single-threaded worker
processes by default, or an existing cluster (``--scheduler tcp://host:8786``, e.g. a
``dask_jobqueue.SLURMCluster``); ``--workers 1`` runs everything in this process (debugging).

Every finished run is written at once into ``DIR/store`` (:mod:`marketsim.experiments.store`);
the same command again resumes (only missing runs are computed; identical tables). A run that
raises is recorded as failed and the others go on (exit 1; the report lists it). ``DIR`` must be
new, empty or an earlier marketsim output (:mod:`marketsim.outdir`). Outputs in ``DIR``, each
written atomically and built from the store at the end:

- ``runs.parquet``        one row per (scenario, replicate): seed, initial-world hash, status, run metrics
- ``timeseries.parquet``  every week of every run (scenario, replicate, step, metric columns)
- ``comparison.csv``      per metric and scenario: mean and 95% CI; paired difference from the
                          first scenario with its 95% CI and a paired t-test p-value
- ``adequacy.csv``        CI half-width against the number of replicates
- ``figures/``            PNG + SVG figures (:mod:`marketsim.experiments.figures`)
- ``report.md``, ``report.html``  the write-up (:mod:`marketsim.experiments.report`)
- ``compare.json``        provenance: command, seeds, package versions, resolved scenarios
- ``scenarios/*.toml``    the fully resolved scenarios, to rerun any single run
- ``store/``              the run store (one Parquet part per run), ``.marketsim-output`` the marker

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
import os
import shlex
import sys
import time
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
from ..outdir import claim, safe_name
from ..scenario import Scenario, ScenarioError, scenario_to_toml
from .clitools import add_store_args, report_failed, report_shard, store_flags
from .execute import Task, require_complete, run_missing
from .outcomes import HEADLINE, ID_COLUMNS, KEY_METRICS, KINDS, METRICS
from .specs import ScenarioSpec, differing_parameters, load_specs
from .store import PlannedRun, RunStore, StoreError, plan_runs, run_id, sha256_json

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
def _plan(specs: list[ScenarioSpec], replicates: int, root_seed: int, map_steps, plugins) -> tuple[dict, list]:
    """What determines every run's result (hashed into the store's manifest) and each scenario's map weeks."""
    maps = []
    for sp in specs:
        steps = sp.scenario.world.steps
        maps.append(list(m for m in map_steps if m <= steps) if map_steps else list(default_map_steps(steps)))
    plan = {"scenarios": [sha256_json(sp.scenario.model_dump(mode="json")) for sp in specs],
            "labels": [sp.label for sp in specs], "root_seed": int(root_seed), "replicates": int(replicates),
            "map_steps": maps, "plugins": list(plugins)}
    return plan, maps


def _tasks(specs, runs: list[PlannedRun], root_seed: int, maps, plugins) -> list[Task]:
    out = []
    for run in runs:
        sp = specs[run.point]
        ms = tuple(maps[run.point]) if run.replicate == 0 else None
        sd = sp.scenario.model_dump(mode="json")
        row = {"run_id": run.run_id, "scenario": sp.label, "scenario_index": run.point, "replicate": run.replicate,
               "root_seed": int(root_seed), "spawn_key": run.replicate, "scenario_sha256": sha256_json(sd),
               "steps": int(sp.scenario.world.steps)}
        out.append(Task(run, run_replicate, (sd, run.point, run.replicate, root_seed, ms, plugins), row))
    return out


def _record(task: Task, res: dict):
    ts = res["timeseries"].copy()
    ts.insert(0, "replicate", task.run.replicate)
    ts.insert(0, "scenario_index", task.run.point)
    ts.insert(0, "scenario", task.row["scenario"])
    metrics = {"initial_world_sha256": res["fingerprint"], "steps": int(res["summary"].get("steps", 0)),
               "wall_s": float(res["wall_s"])}
    metrics.update({m: float(res["summary"].get(m, np.nan)) for m in METRICS})
    return metrics, ts, res.get("maps")


# ---------------------------------------------------------------------------- assembly
RUN_COLUMNS = ID_COLUMNS + ["scenario_sha256", "status", "error"] + METRICS


def _assemble(store: RunStore, specs, replicates: int):
    """The tables from the store, in (scenario, replicate) order whatever order the runs finished in."""
    order = [run_id(i, r) for i in range(len(specs)) for r in range(replicates)]
    parts = store.runs_table(order)
    for c in RUN_COLUMNS:
        if c not in parts:
            parts[c] = np.nan
    runs = parts[RUN_COLUMNS].copy()
    runs["initial_world_sha256"] = runs["initial_world_sha256"].fillna("").astype(str)
    runs["error"] = runs["error"].fillna("").astype(str)
    for c in ("scenario_index", "replicate", "root_seed", "spawn_key", "steps"):
        runs[c] = runs[c].astype("int64")
    for c in METRICS:
        runs[c] = runs[c].astype(float)
    run_wall = float(parts["wall_s"].fillna(0).sum()) if "wall_s" in parts else 0.0
    tseries = store.timeseries_table(order)
    maps = {}
    for i, sp in enumerate(specs):
        m = store.maps(run_id(i, 0))
        if m:
            maps[sp.label] = m
    return runs, tseries, maps, run_wall


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
            figures: bool = True, return_result: bool = False, overwrite: bool = False,
            shard: tuple[int, int] | None = None, collect: bool = False):
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

    Every finished run goes into ``out/store`` at once; calling again with the same arguments
    resumes (computes only the runs not yet in the store; the tables are the same as without the
    interruption). A run that raises is recorded as failed and the others go on
    (``result.provenance["runs_failed"]``). ``shard=(i, n)`` runs only slice ``i`` (0-based) of ``n``
    into the store and returns a :class:`ShardResult`; ``collect=True`` runs nothing and builds the
    tables once every run is in the store. ``overwrite`` replaces an earlier marketsim output in
    ``out`` (only files marketsim wrote are deleted).

    Raises :class:`ScenarioError` (every problem, ``FILE: dotted.path: message``) before anything is
    run or written when the input is invalid or ``out`` is not a folder marketsim may write into;
    :class:`~marketsim.experiments.store.StoreError` when another process writes ``out``.
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
    if command is None:
        command = "python: marketsim.compare(" + ", ".join(
            [repr([sp.source for sp in specs]), f"replicates={replicates}", f"workers={workers}",
             f"root_seed={root_seed}", f"steps={steps}", f"overrides={list(overrides or [])!r}",
             f"out={str(out)!r}"]) + ")"
    plan, maps_plan = _plan(specs, replicates, root_seed, sorted(set(map_steps)) if map_steps else None, plugins)
    manifest = RunStore.make_manifest("compare", plan, len(specs), replicates)
    inputs = [sp.source for sp in specs if not sp.source.startswith("<")]
    output = claim(out, "compare", command, manifest["plan_sha256"], inputs=inputs, overwrite=overwrite,
                   cmd="compare", exclusive=shard is None)
    out = output.path
    store = RunStore(output.store)
    try:
        with store.locked(shard):
            store.check_or_write_manifest(manifest)
            planned = plan_runs(len(specs), replicates)
            ex, mine, pending = run_missing(
                store, output, planned, lambda runs: _tasks(specs, runs, root_seed, maps_plan, plugins), _record,
                shard=shard, collect=collect, workers=workers, scheduler=scheduler, progress=progress,
                plugins=plugins)
            if shard is not None:
                return ShardResult(out, len(mine), len(mine) - len(pending), ex.done, ex.failed, ex.failures)
            require_complete(store, planned, out)
            runs, tseries, maps, run_wall_sum = _assemble(store, specs, replicates)
            result = _aggregate(output, specs, runs, tseries, maps, run_wall_sum, ex, t_start, command, root_seed,
                                replicates, ci, workers, overrides, steps, plugins, require_same_world, question,
                                figures)
    except BaseException:
        output.remove_if_unused()
        raise
    return result if return_result else out


def _aggregate(output, specs, runs, tseries, maps, run_wall_sum, ex, t_start, command, root_seed, replicates, ci,
               workers, overrides, steps, plugins, require_same_world, question, figures) -> CompareResult:
    """Tables, figures, report and provenance from the store's runs (the only step at the end)."""
    out = output.path
    ok = runs[runs["status"] == "ok"]
    failed = runs[runs["status"] != "ok"]
    if ok.empty:
        atomic_write_parquet(out / "runs.parquet", runs)
        output.replace_files({"runs.parquet"})
        raise StoreError(f"{out}: every run failed (first: {failed['error'].iloc[0]}); tracebacks in "
                         f"{out}/store/failed/, runs.parquet lists them")
    world = _world_check(ok, specs)
    if require_same_world and not world["all_identical"]:  # pragma: no cover - caught up-front
        raise ScenarioError([f"compare: (world): initial worlds differ in "
                             f"{world['replicates'] - world['replicates_identical']} replicates"])
    if not world["all_identical"]:
        print(f"warning: scenario(s) {', '.join(world['scenarios_with_other_worlds'])} start from a different "
              f"initial world than {specs[0].label} (same seeds, different parameters): differences mix the "
              "policy with the world", file=sys.stderr)
    from . import figures as figs_mod
    from . import report, stats

    labels = [sp.label for sp in specs]
    # failed runs stay in as missing values (NaN metrics), so a scenario whose runs all failed still has its rows
    table = stats.comparison_table(runs, METRICS, labels, method=ci, kinds=KINDS)
    adequacy = stats.adequacy(runs, KEY_METRICS, labels)
    provenance = {
        "command": command,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "root_seed": root_seed,
        "seeds": f"replicate r: numpy.random.SeedSequence({root_seed}, spawn_key=(r,)), r = 0..{replicates - 1}",
        "replicates": int(replicates),
        "confidence": stats.CONFIDENCE,
        "ci_method": ci,
        "executor": ex.where,
        "workers": int(workers),
        "wall_s_runs": round(ex.wall_s, 2),
        "run_wall_s_sum": round(run_wall_sum, 2),
        "runs_planned": int(len(runs)),
        "runs_computed_now": int(ex.done + ex.failed),
        "runs_failed": int(len(failed)),
        "failed_runs": [{"scenario": r.scenario, "replicate": int(r.replicate), "error": r.error}
                        for r in failed.itertuples()],
        "store": "store/ (one Parquet part per run; rerun the same command to resume)",
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
            atomic_write_text(tmp / "scenarios" / f"{safe_name(sp.label)}.toml", scenario_to_toml(sp.scenario))
        figs = figs_mod.make_all(tmp / "figures", ok, tseries, table, adequacy, maps, labels,
                                 headline=HEADLINE, key_metrics=KEY_METRICS) if figures else []
        provenance["figures"] = [f.as_dict() for f in figs]
        provenance["wall_s_total"] = round(time.perf_counter() - t_start, 2)
        md, html = report.render(result, figs, question=question, headline=HEADLINE, key_metrics=KEY_METRICS)
        atomic_write_text(tmp / "report.md", md)
        atomic_write_text(tmp / "report.html", html)
        atomic_write_json(tmp / "compare.json", provenance)
        written = {p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file()}
    output.replace_files(written)
    return result


@dataclass
class ShardResult:
    """What one ``--shard I/N`` did (no tables: ``--collect`` builds them)."""

    out: Path
    runs: int
    already: int
    done: int
    failed: int
    failures: list[str]


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)


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
    add_store_args(p)
    common(p)
    p.set_defaults(handler=cmd_compare, resumable=True)


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
    parts += store_flags(args)
    parts += ["--out", args.out]
    return shlex.join(parts)


def cmd_compare(args) -> int:
    res = compare(args.scenarios, replicates=args.replicates, workers=args.workers, root_seed=args.seed,
                  steps=args.steps, overrides=args.overrides, out=args.out, scheduler=args.scheduler,
                  map_steps=args.map_steps, ci=args.ci, require_same_world=args.require_same_world,
                  plugins=args.plugin, progress=False if args.quiet else None,
                  command=_command_line(args), return_result=True, overwrite=args.overwrite, shard=args.shard,
                  collect=args.collect)
    if isinstance(res, ShardResult):
        return report_shard("compare", res)
    if not args.quiet:
        _print_table(res)
    failed = [f"{f['scenario']} replicate {f['replicate']}: {f['error']}" for f in res.provenance["failed_runs"]]
    return report_failed("compare", res.out, failed)


def _print_table(res: CompareResult) -> None:
    from .report import fmt
    from .stats import range_respecting_ci

    labels = [sp.label for sp in res.specs]
    print(f"{len(labels)} scenarios x {res.provenance['replicates']} replicates, root seed "
          f"{res.provenance['root_seed']} ({res.provenance['wall_s_total']:.0f} s)")
    for metric in HEADLINE:
        cells = []
        for s in labels:  # the report's intervals: inside the quantity's range (no negative counts)
            r = range_respecting_ci(res.runs.loc[res.runs["scenario"] == s, metric].to_numpy(float))
            cells.append(f"{s}: {fmt(r['mean'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]")
        print(f"  {metric:<24} " + "; ".join(cells))
    print(f"wrote {res.out}/report.html (and report.md, comparison.csv, runs.parquet, timeseries.parquet, figures/)")

"""Parameter sweeps and sensitivity analysis (``marketsim sweep``), on the resumable run store.

    marketsim sweep DESIGN.toml [--out DIR] [--workers K | --scheduler ADDRESS] [--shard I/N | --collect]
                                [--overwrite] [--plugin MODULE] [--quiet]

The design file (:mod:`marketsim.experiments.design`) names a base scenario, a method
(grid | lhs | morris | sobol) and the parameters. Every design point runs ``replicates`` times;
replicate ``r`` of *every* point uses ``SeedSequence(seed, spawn_key=(r,))`` (common random
numbers across points, as in ``compare``). Results depend on the design only, never on the
number of workers, the shards or the order in which runs finish.

Outputs in ``DIR`` (default ``out/sweep-<design file name>``):

- ``runs.parquet`` / ``runs.csv``       one row per run: point, every swept parameter, replicate, seed,
                                        status, error, every run-level metric
- ``points.parquet`` / ``points.csv``   per design point: runs ok/failed, mean, sd and 95% CI of every metric
- ``sensitivity.csv``                  morris: mu, mu* (CI), sigma (CI); sobol: S1, ST (S2) with CIs;
                                        with the replicate noise and a ``within_noise`` flag
- ``figures/``                          PNG + SVG
- ``report.md``, ``report.html``, ``sweep.json`` (provenance: design, seeds, versions, command)
- ``store/``                            the run store (resume: run the same command again)

From Python (also in a notebook cell)::

    import marketsim
    tables = marketsim.sweep("designs/screening.toml", out="out/screening", workers=2)
    tables["points"].head()
"""

from __future__ import annotations

import os
import shlex
import sys
import time
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
from ..scenario import ScenarioError, scenario_to_toml
from .clitools import add_store_args, report_failed, report_shard, store_flags
from .compare import ShardResult, _versions, run_replicate
from .design import Design, design_dict, load_design
from .execute import Task, require_complete, run_missing
from .outcomes import METRICS
from .sensitivity import SENSITIVITY_METRICS, morris, outcomes, point_table, sobol
from .store import RunStore, plan_runs, run_id, sha256_json

__all__ = ["sweep", "add_cli"]

RUN_IDS = ["point", "replicate", "root_seed", "spawn_key", "run_id", "scenario_sha256", "initial_world_sha256",
           "steps", "status", "error"]


def _plan(design: Design, plugins) -> dict:
    return {"base": sha256_json(design.base.model_dump(mode="json")), "points": design.points,
            "root_seed": design.seed, "replicates": design.replicates, "plugins": list(plugins)}


def _tasks(design: Design, runs, plugins) -> list[Task]:
    out = []
    for run in runs:
        sd = design.scenario_dict(run.point)
        row = {"run_id": run.run_id, "point": run.point, "replicate": run.replicate, "root_seed": design.seed,
               "spawn_key": run.replicate, "scenario_sha256": sha256_json(sd), "steps": int(sd["world"]["steps"]),
               **{f"param:{k}": v for k, v in design.points[run.point].items()}}
        out.append(Task(run, run_replicate, (sd, run.point, run.replicate, design.seed, None, plugins), row))
    return out


def _record(task: Task, res: dict):
    ts = res["timeseries"].copy()
    ts.insert(0, "replicate", task.run.replicate)
    ts.insert(0, "point", task.run.point)
    metrics = {"initial_world_sha256": res["fingerprint"], "wall_s": float(res["wall_s"])}
    metrics.update({m: float(res["summary"].get(m, np.nan)) for m in METRICS})
    return metrics, ts, None


def _assemble(store: RunStore, design: Design) -> pd.DataFrame:
    order = [run_id(p, r) for p in range(len(design.points)) for r in range(design.replicates)]
    parts = store.runs_table(order)
    names = [p.name for p in design.parameters]
    cols = {}
    for c in ("point", "replicate", "root_seed", "spawn_key", "steps"):
        cols[c] = parts[c].astype("int64")
    for n in names:
        cols[n] = parts[f"param:{n}"]
    for c in ("run_id", "scenario_sha256", "initial_world_sha256", "status", "error"):
        cols[c] = (parts[c] if c in parts else pd.Series([""] * len(parts))).fillna("").astype(str)
    for m in METRICS:
        cols[m] = (parts[m] if m in parts else pd.Series([np.nan] * len(parts))).astype(float)
    runs = pd.DataFrame(cols)
    runs = runs[["point", *names, "replicate", "root_seed", "spawn_key", "run_id", "scenario_sha256",
                 "initial_world_sha256", "steps", "status", "error", *METRICS]]
    wall = float(parts["wall_s"].fillna(0).sum()) if "wall_s" in parts else 0.0
    return runs, wall


def sweep(design, out: str | Path | None = None, workers: int | None = None, scheduler: str | None = None, *,
          shard: tuple[int, int] | None = None, collect: bool = False, overwrite: bool = False,
          plugins: list[str] | tuple[str, ...] = (), progress: bool | None = None, command: str | None = None,
          figures: bool = True) -> dict[str, pd.DataFrame] | ShardResult:
    """Run the sweep ``design`` (a design TOML file or the same as a dict) into ``out`` and return its
    tables as DataFrames: ``{"runs", "points", "sensitivity"}`` (``sensitivity`` empty for grid/lhs).

    ``workers`` local Dask worker processes (default: the CPUs; 1 runs in this process) or an existing
    ``scheduler``. Calling again with the same design and ``out`` resumes. ``shard=(i, n)`` runs slice
    ``i`` (0-based) of ``n`` into the store only; ``collect=True`` builds the tables from a complete
    store. Raises :class:`ScenarioError` (nothing written) when the design or ``out`` is invalid.
    """
    t_start = time.perf_counter()
    if workers is None:
        workers = os.cpu_count() or 1
    problems = []
    if not isinstance(workers, (int, np.integer)) or isinstance(workers, bool) or workers < 1:
        problems.append(f"sweep: --workers: must be a whole number >= 1 (got {workers!r})")
    d = None
    try:
        d = load_design(design)
    except ScenarioError as err:
        problems += err.problems
    if problems:
        raise ScenarioError(problems)
    plugins = tuple(plugins or ())
    src_name = Path(d.source).stem if not isinstance(design, dict) else "design"
    if out is None:
        out = Path("out") / f"sweep-{safe_name(src_name)}"
    if command is None:
        command = f"python: marketsim.sweep({d.source!r}, out={str(out)!r}, workers={workers})"
    plan = _plan(d, plugins)
    manifest = RunStore.make_manifest("sweep", plan, len(d.points), d.replicates)
    inputs = [d.base_source] + ([] if isinstance(design, dict) else [d.source])
    output = claim(out, "sweep", command, manifest["plan_sha256"], inputs=inputs, overwrite=overwrite, cmd="sweep",
                   exclusive=shard is None)
    out = output.path
    store = RunStore(output.store)
    try:
        with store.locked(shard):
            store.check_or_write_manifest(manifest)
            planned = plan_runs(len(d.points), d.replicates)
            ex, mine, pending = run_missing(
                store, output, planned, lambda runs: _tasks(d, runs, plugins), _record, shard=shard,
                collect=collect, workers=workers, scheduler=scheduler, progress=progress, plugins=plugins)
            if shard is not None:
                return ShardResult(out, len(mine), len(mine) - len(pending), ex.done, ex.failed, ex.failures)
            require_complete(store, planned, out)
            runs, run_wall = _assemble(store, d)
            tables = _aggregate(output, d, runs, run_wall, ex, t_start, command, workers, plugins, figures)
    except BaseException:
        output.remove_if_unused()
        raise
    return tables


def _sensitivity(d: Design, runs: pd.DataFrame) -> pd.DataFrame:
    if d.method not in ("morris", "sobol"):
        return pd.DataFrame()
    n_samples = d.X.shape[0]
    ys = outcomes(runs, len(d.points), SENSITIVITY_METRICS, d.policies, n_samples)
    if d.method == "morris":
        return morris(d.problem, d.X, ys, d.levels, d.seed)
    return sobol(d.problem, ys, d.second_order, d.seed)


def _aggregate(output, d: Design, runs, run_wall, ex, t_start, command, workers, plugins, figures) -> dict:
    from . import sweep_report

    out = output.path
    names = [p.name for p in d.parameters]
    points = point_table(runs, names, METRICS, len(d.points))
    sens = _sensitivity(d, runs)
    failed = runs[runs["status"] != "ok"]
    provenance = {
        "command": command,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "design": design_dict(d),
        "root_seed": d.seed,
        "seeds": f"replicate r of every point: numpy.random.SeedSequence({d.seed}, spawn_key=(r,)), "
                 f"r = 0..{d.replicates - 1}; sampler seed {d.seed}",
        "executor": ex.where,
        "workers": int(workers),
        "wall_s_runs": round(ex.wall_s, 2),
        "run_wall_s_sum": round(run_wall, 2),
        "runs_planned": int(len(runs)),
        "runs_computed_now": int(ex.done + ex.failed),
        "runs_failed": int(len(failed)),
        "failed_runs": [{"point": int(r.point), "replicate": int(r.replicate), "error": r.error}
                        for r in failed.itertuples()],
        "versions": {**_versions(), **_salib_version()},
        "plugins": list(plugins),
        "base_scenario": d.base.model_dump(mode="json"),
        "python_executable": sys.executable,
    }
    tables = {"runs": runs, "points": points, "sensitivity": sens}
    with staged_dir(out) as tmp:
        atomic_write_parquet(tmp / "runs.parquet", runs)
        atomic_write_parquet(tmp / "points.parquet", points)
        atomic_write_bytes(tmp / "runs.csv", runs.to_csv(index=False, float_format="%.10g").encode())
        atomic_write_bytes(tmp / "points.csv", points.to_csv(index=False, float_format="%.10g").encode())
        if not sens.empty:
            atomic_write_bytes(tmp / "sensitivity.csv", sens.to_csv(index=False, float_format="%.10g").encode())
        atomic_write_text(tmp / "scenarios" / "base.toml", scenario_to_toml(d.base))
        figs = []
        if figures:
            from . import sweep_figures

            figs = sweep_figures.make_all(tmp / "figures", d, runs, points, sens)
        provenance["figures"] = [f.as_dict() for f in figs]
        provenance["wall_s_total"] = round(time.perf_counter() - t_start, 2)
        md, html = sweep_report.render(d, runs, points, sens, figs, provenance)
        atomic_write_text(tmp / "report.md", md)
        atomic_write_text(tmp / "report.html", html)
        atomic_write_json(tmp / "sweep.json", provenance)
        written = {p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file()}
    output.replace_files(written)
    tables["provenance"] = provenance
    return tables


def _salib_version() -> dict:
    from importlib import metadata

    try:
        return {"SALib": metadata.version("SALib")}
    except metadata.PackageNotFoundError:  # pragma: no cover
        return {"SALib": "not installed"}


# ---------------------------------------------------------------------------- command line
def add_cli(subparsers, common) -> None:
    """Register ``marketsim sweep`` (called by :mod:`marketsim.cli`)."""
    p = subparsers.add_parser(
        "sweep", help="parameter sweep (grid, Latin hypercube, Morris, Sobol) with sensitivity analysis",
        description="Run every point of a design file's sweep (replicate r of every point uses "
        "SeedSequence(seed, spawn_key=(r,))) into a resumable run store, then write runs.parquet, points.parquet, "
        "sensitivity.csv, figures/ and report.md/.html. Interrupted? Run the same command again.")
    p.add_argument("design", metavar="DESIGN", help="design TOML file ([sweep] and [parameters])")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default out/sweep-<design name>)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, default=None, metavar="K",
                   help="local worker processes (default: number of CPUs; 1 runs in this process)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use a running Dask scheduler (e.g. tcp://host:8786), e.g. a dask-jobqueue SLURMCluster")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_store_args(p)
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (e.g. to register your own policies)")
    p.set_defaults(handler=cmd_sweep, resumable=True)


def _command_line(args) -> str:
    parts = ["marketsim", "sweep", args.design]
    if args.workers is not None:
        parts += ["--workers", str(args.workers)]
    if args.scheduler:
        parts += ["--scheduler", args.scheduler]
    for p in args.plugin:
        parts += ["--plugin", p]
    parts += store_flags(args)
    if args.out is not None:
        parts += ["--out", args.out]
    return shlex.join(parts)


def cmd_sweep(args) -> int:
    if args.out is None:
        stem = safe_name(Path(args.design).stem)
        args.out = str(Path("out") / f"sweep-{stem}")
    res = sweep(args.design, out=args.out, workers=args.workers, scheduler=args.scheduler, shard=args.shard,
                collect=args.collect, overwrite=args.overwrite, plugins=args.plugin,
                progress=False if args.quiet else None, command=_command_line(args))
    if isinstance(res, ShardResult):
        return report_shard("sweep", res)
    prov = res["provenance"]
    if not args.quiet:
        print(f"{prov['design']['method']} sweep: {prov['design']['points']} points x {prov['design']['replicates']} "
              f"replicates = {prov['runs_planned']} runs ({prov['runs_computed_now']} computed now, "
              f"{prov['runs_failed']} failed) in {prov['wall_s_total']:.0f} s")
        sens = res["sensitivity"]
        if not sens.empty and "mu_star" in sens:
            top = sens.dropna(subset=["mu_star"]).sort_values("mu_star", ascending=False)
            for outcome in [o for o in sens["outcome"].unique() if o.split(":")[0] in ("homicides",)][:3]:
                t = top[top["outcome"] == outcome].head(3)
                print(f"  {outcome}: top mu* " + ", ".join(f"{r.parameter} {r.mu_star:.3g}" for r in t.itertuples()))
        print(f"wrote {args.out}/report.html (and report.md, runs.parquet, points.parquet, sensitivity.csv, figures/)")
    failed = [f"point {f['point']} replicate {f['replicate']}: {f['error']}" for f in prov["failed_runs"]]
    return report_failed("sweep", args.out, failed)


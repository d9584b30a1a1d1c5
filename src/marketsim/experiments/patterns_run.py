"""Pattern-oriented evaluation (``marketsim patterns``): run the declared experiments of
:mod:`marketsim.experiments.patterns` and write their verdicts.

    marketsim patterns [--quick] [--only P2,P8] [--replicates N] [--workers K] [--seed ROOT]
                       [--out DIR] [--set KEY=VALUE ...] [--overwrite] [--quiet]

Every distinct arm of the selected patterns runs ``N`` times; replicate ``r`` of every arm uses
``SeedSequence(ROOT, spawn_key=(r,))`` (common random numbers, as ``compare``). Runs go through
the resumable run store (``DIR/store``; the same command resumes) and the same executor
(in-process or a Dask LocalCluster); ``DIR`` follows the output-folder rules of ``compare``
(:mod:`marketsim.outdir`). Each run keeps its timeseries and its per-district outputs.

Outputs in ``DIR``: ``patterns.csv`` (``pattern, claim, source, experiment, criterion, measured,
ci_low, ci_high, verdict``), ``figures/<family>.png`` (and .svg), ``patterns.md``,
``patterns.json`` (provenance, the per-replicate values). Exit 0 whatever the verdicts; exit 1
when some run failed (the rows that need it then say "could not run").
"""

from __future__ import annotations

import gc
import os
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_write_bytes, atomic_write_json, atomic_write_text, staged_dir
from ..outdir import claim
from ..scenario import Scenario, ScenarioError, parse_scenario
from . import stats
from .execute import Task, run_missing
from .outcomes import METRICS
from .patterns import ARMS, MODES, PATTERNS, Test, families, family
from .store import RunStore, plan_runs, run_id, sha256_json

__all__ = ["patterns", "run_arm", "add_cli", "STATISTICS", "COLUMNS"]

COLUMNS = ["pattern", "claim", "source", "experiment", "criterion", "measured", "ci_low", "ci_high", "verdict"]


# ---------------------------------------------------------------------------- one run (a Dask task)
def run_arm(scenario: dict, point: int, replicate: int, root_seed: int, plugins: tuple[str, ...] = ()) -> dict:
    """Run replicate ``replicate`` of one arm: summary, timeseries and per-district outputs."""
    import importlib

    for p in plugins:
        importlib.import_module(p)
    from ..model import DrugMarketModel
    from .compare import _release

    t0 = time.perf_counter()
    sc = Scenario.model_validate(scenario)
    model = DrugMarketModel(sc, seed=np.random.SeedSequence(root_seed, spawn_key=(replicate,)))
    fp = model.initial_fingerprint
    model.run(sc.world.steps)
    out = {"point": point, "replicate": replicate, "fingerprint": fp, "summary": model.summary(),
           "timeseries": model.timeseries(), "districts": model.districts(),
           "organizations": model.organizations_table()}
    _release(model)
    del model
    gc.collect()
    out["wall_s"] = time.perf_counter() - t0
    return out


# ---------------------------------------------------------------------------- the arms' scenarios
def arm_scenario(label: str, mode: str, overrides=()) -> Scenario:
    """The resolved scenario of arm ``label`` in ``mode`` (the mode's world, the user's ``--set``,
    the arm's policy, overrides and scale factors)."""
    arm = ARMS[label]
    base = [*MODES[mode]["overrides"], *overrides]
    sc0 = parse_scenario({}, source=f"<patterns {mode}>", overrides=base)
    flat = sc0.model_dump(mode="json")
    scaled = []
    for key, factor in arm.scale:
        sec, name = key.split(".")
        v = flat[sec][name]
        scaled.append(f"{key}={max(1, round(v * factor)) if isinstance(v, int) else v * factor}")
    return parse_scenario({"name": label}, source=f"<patterns arm {label}>",
                          overrides=[*base, f"enforcement.policy={arm.policy}", *arm.overrides, *scaled])


# ---------------------------------------------------------------------------- statistics
class Data:
    """Read access to the finished runs: ``row/ts/districts(arm, replicate)``."""

    def __init__(self, store: RunStore, arms: list[str], scenarios: dict, replicates: int, mode: str):
        self.store, self.arms, self.scenarios, self.replicates, self.mode = store, arms, scenarios, replicates, mode
        self._rows = {}
        for _, row in store.runs_table([run_id(i, r) for i in range(len(arms))
                                           for r in range(replicates)]).iterrows():
            self._rows[(arms[int(row["point"])], int(row["replicate"]))] = row
        self._cache = {}

    def ok(self, arm: str) -> bool:
        return all(self._rows.get((arm, r)) is not None and self._rows[(arm, r)]["status"] == "ok"
                   for r in range(self.replicates))

    def metric(self, arm: str, name: str) -> np.ndarray:
        return np.array([float(self._rows[(arm, r)].get(name, np.nan)) for r in range(self.replicates)])

    def ts(self, arm: str, r: int) -> pd.DataFrame:
        key = ("ts", arm, r)
        if key not in self._cache:
            p = self.store.root / "timeseries" / f"{run_id(self.arms.index(arm), r)}.parquet"
            self._cache[key] = pd.read_parquet(p)
        return self._cache[key]

    def districts(self, arm: str, r: int) -> pd.DataFrame:
        return self.store.districts(run_id(self.arms.index(arm), r))

    def organizations(self, arm: str, r: int) -> pd.DataFrame | None:
        key = ("org", arm, r)
        if key not in self._cache:
            self._cache[key] = self.store.organizations(run_id(self.arms.index(arm), r))
        return self._cache[key]


def _rel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ref = np.nanmean(b)
    return (a - b) / ref if ref else np.full_like(a, np.nan)


def st_relative_difference(d: Data, p: dict):
    """(arm - ref) / mean(ref), per replicate, of a run-level metric (optionally divided by ``per[arm]``)."""
    per = p.get("per", {})
    a = d.metric(p["arm"], p["metric"]) / per.get(p["arm"], 1.0)
    b = d.metric(p["ref"], p["metric"]) / per.get(p["ref"], 1.0)
    return _rel(a, b), {"kind": "bars", "labels": [p["ref"], p["arm"]], "values": [b, a], "ylabel": p["metric"]}


def _window(d: Data, p: dict, arm: str) -> tuple[int, int]:
    sc = d.scenarios[arm]
    if p.get("window") == "surge":
        return sc.enforcement.crackdown_start, sc.enforcement.crackdown_start + sc.enforcement.crackdown_weeks - 1
    return 1, sc.world.steps


def st_district_window(d: Data, p: dict):
    """Per replicate: the metric summed over the window in the arm's target districts (most officers
    posted there in the window: one, or the top ``top_share``) or in all others; (arm - ref)/mean(ref)."""
    lo, hi = _window(d, p, p["arm"])
    a, b = [], []
    for r in range(d.replicates):
        da, db = d.districts(p["arm"], r), d.districts(p["ref"], r)
        if da is None or db is None:
            a.append(np.nan), b.append(np.nan)
            continue
        wa = da[(da["step"] >= lo) & (da["step"] <= hi)]
        wb = db[(db["step"] >= lo) & (db["step"] <= hi)]
        off = wa.groupby("district")["officers"].sum().sort_values(ascending=False, kind="stable")
        k = max(1, round(p.get("top_share", 0.0) * off.size)) if p.get("top_share") else 1
        target = set(off.index[:k].tolist())
        sel_a = wa["district"].isin(target)
        sel_b = wb["district"].isin(target)
        if p["where"] == "others":
            sel_a, sel_b = ~sel_a, ~sel_b
        a.append(float(wa.loc[sel_a, p["metric"]].sum()))
        b.append(float(wb.loc[sel_b, p["metric"]].sum()))
    a, b = np.array(a), np.array(b)
    where = "target district(s)" if p["where"] == "target" else "other districts"
    return _rel(a, b), {"kind": "bars", "labels": [p["ref"], p["arm"]], "values": [b, a],
                        "ylabel": f"{p['metric']}, {where}, weeks {lo}-{hi}"}


def st_event_study(d: Data, p: dict):
    """Per run: pooled post/pre change of the metric around weeks with leader removals, minus the same
    change around every eligible week of the run (placebo: the run's own trend)."""
    w = MODES[d.mode].get("event_window")
    pre, post = (w, w) if w else (p["pre"], p["post"])
    vals, profiles = [], []
    for arm in p["arms"]:
        for r in range(d.replicates):
            ts = d.ts(arm, r)
            y = ts[p["metric"]].to_numpy(float)
            ev = ts["leader_removals"].to_numpy(float)
            n = y.size
            eligible = np.arange(pre, n - post)
            if eligible.size == 0:
                vals.append(np.nan)
                continue
            pre_m = np.array([y[t - pre:t].mean() for t in eligible])
            post_m = np.array([y[t + 1:t + 1 + post].mean() for t in eligible])
            events = ev[eligible] > 0
            if not events.any() or pre_m[events].sum() <= 0 or pre_m.sum() <= 0:
                vals.append(np.nan)
                continue
            change = post_m[events].sum() / pre_m[events].sum() - 1.0
            placebo = post_m.sum() / pre_m.sum() - 1.0
            vals.append(change - placebo)
            for t, pm in zip(eligible[events], pre_m[events]):
                if pm > 0:
                    profiles.append(y[t - pre:t + 1 + post] / pm)
    ks = np.arange(-pre, post + 1)
    prof = np.mean(profiles, axis=0) if profiles else np.full(ks.size, np.nan)
    return np.array(vals), {"kind": "curve", "x": ks, "y": prof, "xlabel": "weeks from the leader removal",
                            "ylabel": f"{p['metric']} / mean of the {pre} weeks before", "events": len(profiles)}


def _org_weekly(org: pd.DataFrame, metrics: list[str]) -> pd.Series:
    """Violence per (org, step) from the organisation table: the sum of ``metrics``."""
    return org[metrics].sum(axis=1).groupby([org["org"].to_numpy(), org["step"].to_numpy()]).sum()


def _series(v: dict, uids, steps) -> np.ndarray:
    return np.array([sum(float(v.get((o, int(t)), 0.0)) for o in uids) for t in steps])


def org_events(org: pd.DataFrame, pre: int, post: int, min_members: int, metrics: list[str]) -> list[dict]:
    """Leader removals of organisations of ``min_members``+ members (members the week before, else
    that week) whose windows fit in the run: for each, the weekly violence (sum of ``metrics``) of the
    organisation (with the factions that split from it during the window) and of its neighbours
    (other organisations whose district, the week before, was the organisation's), weeks
    ``-pre..post`` around the week the removal was noticed."""
    if org is None or org.empty:
        return []
    lo, hi = int(org["step"].min()), int(org["step"].max())
    v = _org_weekly(org, metrics)
    v = dict(zip(((int(a), int(b)) for a, b in v.index), v.to_numpy(float)))
    by_step = {int(k): g for k, g in org.groupby("step")}
    ks = np.arange(-pre, post + 1)
    out = []
    for ev in org[org["leader_removed"] == 1].itertuples():
        t0, u = int(ev.step), int(ev.org)
        if t0 - pre < lo or t0 + post > hi:
            continue
        before = by_step.get(t0 - 1)
        row_b = before[before["org"] == u] if before is not None else None
        members = int(row_b["members"].iloc[0]) if row_b is not None and len(row_b) else int(ev.members)
        if members < min_members:
            continue
        win = org[(org["step"] >= t0) & (org["step"] <= t0 + post)]
        group = {u} | set(win.loc[win["parent"] == u, "org"].astype(int).tolist())
        district = int(row_b["district"].iloc[0]) if row_b is not None and len(row_b) else int(ev.district)
        neigh = set() if before is None or district < 0 else \
            set(before.loc[(before["district"] == district), "org"].astype(int).tolist()) - group
        steps = t0 + ks
        out.append({"step": t0, "org": u, "removal": ev.removal, "members": members,
                    "own": _series(v, group, steps), "neighbours": _series(v, neigh, steps),
                    "n_neighbours": len(neigh)})
    return out


def st_org_event_study(d: Data, p: dict):
    """Per replicate (events of every listed arm's run of that replicate pooled): violence of the
    organisation whose leader was removed (``who="organisation"``, with its factions) or of its
    neighbours (``who="neighbours"``) summed over the ``post`` weeks after the removal week, divided
    by the sum over the ``pre`` weeks before, minus 1 (the removal week itself, with the succession
    fights it starts, is left out unless ``include_event_week``)."""
    w = MODES[d.mode].get("event_window")
    pre, post = (w, w) if w else (p["pre"], p["post"])
    who = "own" if p.get("who", "organisation") == "organisation" else "neighbours"
    vals, profiles, n_events = [], [], 0
    for r in range(d.replicates):
        num = den = 0.0
        for arm in p["arms"]:
            for ev in org_events(d.organizations(arm, r), pre, post, p.get("min_members", 2), p["metrics"]):
                y = ev[who]
                if who == "neighbours" and ev["n_neighbours"] == 0:
                    continue
                n_events += 1
                den += y[:pre].sum()
                num += y[pre:].sum() if p.get("include_event_week") else y[pre + 1:].sum()
                if y[:pre].mean() > 0:
                    profiles.append(y / y[:pre].mean())
        vals.append(num / den - 1.0 if den > 0 else np.nan)
    ks = np.arange(-pre, post + 1)
    prof = np.mean(profiles, axis=0) if profiles else np.full(ks.size, np.nan)
    label = "the organisation" if who == "own" else "its neighbours"
    return np.array(vals), {"kind": "curve", "x": ks, "y": prof, "xlabel": "weeks from the leader removal",
                            "ylabel": f"violence of {label} / mean of the {pre} weeks before", "events": n_events}


def st_slope(d: Data, p: dict):
    """Per replicate: OLS slope of metric / mean(metric of ref) on log2(x)."""
    ref = np.nanmean(d.metric(p["ref"], p["metric"]))
    ys = np.array([d.metric(a, p["metric"]) / ref for a in p["arms"]])  # arms x replicates
    x = np.log2(np.array(p["x"], float))
    vals = np.array([np.polyfit(x, ys[:, r], 1)[0] if np.isfinite(ys[:, r]).all() else np.nan
                     for r in range(ys.shape[1])])
    return vals, {"kind": "curve", "x": np.array(p["x"], float), "y": np.nanmean(ys, axis=1), "logx": True,
                  "xlabel": "officers (factor of the default)", "ylabel": f"{p['metric']} / mean at x1"}


def st_concavity(d: Data, p: dict):
    """Per replicate: disruption D = 1 - sales/sales(first arm) against the weekly arrest share of street
    dealers s; marginal dD/ds at the low end minus at the high end (> 0: diminishing returns)."""
    arms = p["arms"]
    steps = np.array([[float(d.scenarios[a].world.steps)] * d.replicates for a in arms])
    sales = np.array([d.metric(a, p["sales"]) for a in arms])
    share = np.array([d.metric(a, p["arrests"]) for a in arms]) / steps / np.array([d.metric(a, p["members"])
                                                                                   for a in arms])
    dis = 1.0 - sales / sales[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        low = (dis[1] - dis[0]) / (share[1] - share[0])
        high = (dis[-1] - dis[-2]) / (share[-1] - share[-2])
    return low - high, {"kind": "curve", "x": np.nanmean(share, axis=1), "y": np.nanmean(dis, axis=1),
                        "xlabel": "weekly arrests / street dealers", "ylabel": "disruption: 1 - sales / sales at x1"}


def _target_outcome(org: pd.DataFrame, uid: int, lo: int, hi: int, members: str = "street") -> tuple[float, float]:
    """Units sold by organisation ``uid`` and the factions that split from it over weeks lo..hi, and
    their ``members`` (column: ``street`` or ``members``, which counts prisoners) in week hi."""
    if org is None or org.empty:
        return np.nan, np.nan
    w = org[(org["step"] >= lo) & (org["step"] <= hi)]
    group = {uid} | set(w.loc[w["parent"] == uid, "org"].astype(int).tolist())
    g = w[w["org"].isin(group)]
    return float(g["quantity_sold"].sum()), float(g.loc[g["step"] == hi, members].sum())


def st_shock_disruption(d: Data, p: dict):
    """Per replicate, for each shock arm (share s of the largest organisation's street members
    arrested in week w): disruption D(s) = 1 - that organisation's sales over weeks w+1..w+window /
    its sales in the no-shock arm (``ref``, same seed, so the same organisation up to the shock);
    D(0) = 0. ``kind="increase"``: D(last share) - D(first share); ``kind="concavity"``: the marginal
    disruption per share from 0 to the first share minus that between the last two shares
    (> 0: diminishing returns)."""
    shares = [0.0] + [float(x) for x in p["shares"]]
    D = np.full((len(shares), d.replicates), np.nan)
    M = np.full((len(shares), d.replicates), np.nan)
    D[0] = 0.0
    M[0] = 0.0
    for r in range(d.replicates):
        ref = d.organizations(p["ref"], r)
        for i, arm in enumerate(p["arms"], start=1):
            org = d.organizations(arm, r)
            if org is None or org.empty or (org["shock_arrests"] > 0).sum() == 0:
                continue
            ev = org[org["shock_arrests"] > 0].iloc[0]
            w, uid = int(ev["step"]), int(ev["org"])
            lo, hi = w + 1, min(w + p["window"], int(org["step"].max()))
            sold, members = _target_outcome(org, uid, lo, hi, p.get("members", "street"))
            sold0, members0 = _target_outcome(ref, uid, lo, hi, p.get("members", "street"))
            D[i, r] = 1.0 - sold / sold0 if sold0 > 0 else np.nan
            M[i, r] = 1.0 - members / members0 if members0 > 0 else np.nan
    x = np.array(shares)
    if p["kind"] == "increase":
        vals = D[-1] - D[1]
    else:
        vals = (D[1] - D[0]) / (x[1] - x[0]) - (D[-1] - D[-2]) / (x[-1] - x[-2])
    return vals, {"kind": "curve", "x": x, "y": np.nanmean(D, axis=1), "y2": np.nanmean(M, axis=1),
                  "y2label": f"1 - {p.get('members', 'street')} members / no-shock", "xlabel": "share of the organisation's street members arrested",
                  "ylabel": f"disruption, {p['window']} weeks after (sales: 1 - sales / no-shock sales)"}


STATISTICS = {"relative_difference": st_relative_difference, "district_window": st_district_window,
              "event_study": st_event_study, "org_event_study": st_org_event_study, "slope": st_slope, "concavity": st_concavity,
              "shock_disruption": st_shock_disruption}


def verdict(rule: tuple, lo: float, hi: float) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "inconclusive (no estimate)"
    kind = rule[0]
    if kind == "above":
        return "reproduced" if lo > rule[1] else "missed" if hi < rule[1] else "inconclusive"
    if kind == "below":
        return "reproduced" if hi < rule[1] else "missed" if lo > rule[1] else "inconclusive"
    if kind == "within":
        if lo >= rule[1] and hi <= rule[2]:
            return "reproduced"
        return "missed" if hi < rule[1] or lo > rule[2] else "inconclusive"
    raise ValueError(f"unknown rule {rule!r}")


# ---------------------------------------------------------------------------- figures
def _figure(path: Path, fam: str, rows: list[dict]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(rows)
    fig, axes = plt.subplots(2, n, figsize=(4.2 * n, 6.4), squeeze=False)
    for j, row in enumerate(rows):
        ax = axes[0, j]
        extra = row["extra"]
        if extra.get("kind") == "bars":
            for i, v in enumerate(extra["values"]):
                v = np.asarray(v, float)
                ax.scatter(np.full(v.size, i) + np.linspace(-0.1, 0.1, v.size), v, s=10, alpha=0.6)
                m = stats.mean_ci(v)
                ax.errorbar([i], [m["mean"]], yerr=[[m["mean"] - m["ci_low"]], [m["ci_high"] - m["mean"]]],
                            fmt="o", color="black", capsize=4)
            ax.set_xticks(range(len(extra["labels"])), extra["labels"], fontsize=7, rotation=10)
        elif extra.get("kind") == "curve":
            ax.plot(extra["x"], extra["y"], marker="o", label="sales" if "y2" in extra else None)
            if "y2" in extra:
                ax.plot(extra["x"], extra["y2"], marker="s", ls="--", label=extra.get("y2label", ""))
                ax.legend(fontsize=7)
            if extra.get("logx"):
                ax.set_xscale("log", base=2)
            ax.set_xlabel(extra["xlabel"], fontsize=8)
            if "events" in extra:
                ax.axvline(0, color="grey", lw=0.8)
                ax.set_title(f"{extra['events']} events", fontsize=8)
        ax.set_ylabel(extra.get("ylabel", ""), fontsize=7)
        ax2 = axes[1, j]
        v = np.asarray(row["values"], float)
        ax2.scatter(v, np.zeros(v.size) + np.linspace(-0.2, 0.2, v.size), s=10, alpha=0.6)
        if np.isfinite(row["ci_low"]):
            ax2.errorbar([row["measured"]], [0.5], xerr=[[row["measured"] - row["ci_low"]],
                                                          [row["ci_high"] - row["measured"]]],
                         fmt="o", color="black", capsize=4)
        for x in row["rule"][1:]:
            ax2.axvline(x, color="red", ls="--", lw=1)
        ax2.set_yticks([])
        ax2.set_ylim(-1, 1.2)
        ax2.set_xlabel(f"{row['pattern']}: statistic per replicate; mean, 95% CI; red: criterion", fontsize=7)
        ax2.set_title(f"{row['pattern']}: {row['verdict']}", fontsize=9)
    fig.suptitle(f"{fam}: {rows[0]['claim']}", fontsize=10)
    fig.tight_layout()
    path.mkdir(parents=True, exist_ok=True)
    names = []
    for ext in ("png", "svg"):
        fig.savefig(path / f"{fam}.{ext}", dpi=110)
        names.append(f"figures/{fam}.{ext}")
    plt.close(fig)
    return names


# ---------------------------------------------------------------------------- the experiment
def select(only: str | list[str] | None) -> list[Test]:
    if not only:
        return list(PATTERNS)
    wanted = [w.strip().upper() for w in (only.split(",") if isinstance(only, str) else only) if w.strip()]
    known = families()
    bad = [w for w in wanted if w not in known and w not in {t.pattern.upper() for t in PATTERNS}]
    if bad:
        raise ScenarioError([f"patterns: --only: unknown pattern(s) {', '.join(bad)} (known: {', '.join(known)})"])
    return [t for t in PATTERNS if t.pattern.upper() in wanted or family(t.pattern) in wanted]


def patterns(quick: bool = False, only=None, replicates: int | None = None, workers: int | None = None,
             root_seed: int = 12, out: str | Path = "out/patterns", overrides=(), plugins=(),
             overwrite: bool = False, progress: bool | None = None, command: str | None = None) -> dict:
    """Run the selected patterns' experiments into ``out``; return the provenance dict (with ``rows``)."""
    t_start = time.perf_counter()
    mode = "quick" if quick else "full"
    problems = []
    if replicates is not None and (not isinstance(replicates, int) or replicates < 2):
        problems.append(f"patterns: --replicates: must be a whole number >= 2 (got {replicates!r})")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        problems.append(f"patterns: --workers: must be a whole number >= 1 (got {workers!r})")
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        problems.append(f"patterns: --out: {out} exists and is not a folder")
    if problems:
        raise ScenarioError(problems)
    tests = select(only)
    replicates = int(replicates or MODES[mode]["replicates"])
    workers = int(workers or os.cpu_count() or 1)
    arms = list(dict.fromkeys(a for t in tests for a in t.arms))
    scenarios = {a: arm_scenario(a, mode, list(overrides or [])) for a in arms}
    plugins = tuple(plugins or ())
    plan = {"mode": mode, "arms": arms, "scenarios": [sha256_json(scenarios[a].model_dump(mode="json")) for a in arms],
            "root_seed": int(root_seed), "replicates": replicates, "plugins": list(plugins)}
    manifest = RunStore.make_manifest("patterns", plan, len(arms), replicates)
    if command is None:
        command = f"python: marketsim.experiments.patterns_run.patterns(quick={quick}, only={only!r}, " \
                  f"replicates={replicates}, out={str(out)!r})"
    output = claim(out, "patterns", command, manifest["plan_sha256"], overwrite=overwrite, cmd="patterns")
    out = output.path
    store = RunStore(output.store)

    def record(task: Task, res: dict):
        store.write_districts(task.run.run_id, res["districts"])
        store.write_organizations(task.run.run_id, res["organizations"])
        metrics = {"initial_world_sha256": res["fingerprint"], "wall_s": float(res["wall_s"])}
        metrics.update({m: float(res["summary"].get(m, np.nan)) for m in METRICS})
        return metrics, res["timeseries"], None

    try:
        with store.locked():
            store.check_or_write_manifest(manifest)
            planned = plan_runs(len(arms), replicates)

            def make_tasks(pending):
                tasks = []
                for run in pending:
                    a = arms[run.point]
                    sd = scenarios[a].model_dump(mode="json")
                    row = {"run_id": run.run_id, "arm": a, "point": run.point, "replicate": run.replicate,
                           "root_seed": int(root_seed), "scenario_sha256": sha256_json(sd)}
                    tasks.append(Task(run, run_arm, (sd, run.point, run.replicate, int(root_seed), plugins), row))
                return tasks

            ex, _, _ = run_missing(store, output, planned, make_tasks, record, workers=workers, progress=progress,
                                   plugins=plugins)
            data = Data(store, arms, scenarios, replicates, mode)
            rows = []
            for t in tests:
                base = {"pattern": t.pattern, "claim": t.claim, "source": t.source, "experiment": t.experiment,
                        "criterion": t.criterion, "rule": list(t.rule)}
                if not all(data.ok(a) for a in t.arms):
                    rows.append({**base, "measured": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                                 "verdict": "could not run (failed runs)", "values": [], "extra": {}})
                    continue
                values, extra = STATISTICS[t.statistic](data, t.params)
                m = stats.mean_ci(values)
                rows.append({**base, "measured": m["mean"], "ci_low": m["ci_low"], "ci_high": m["ci_high"],
                             "n": m["n"], "verdict": verdict(t.rule, m["ci_low"], m["ci_high"]),
                             "values": [float(v) for v in values], "extra": extra})
            table = pd.DataFrame([{c: r[c] for c in COLUMNS} for r in rows], columns=COLUMNS)
            prov = {"command": command, "mode": mode, "created_utc": datetime.now(timezone.utc).strftime(
                        "%Y-%m-%d %H:%M:%S"), "root_seed": int(root_seed), "replicates": replicates,
                    "seeds": f"replicate r of every arm: numpy.random.SeedSequence({root_seed}, spawn_key=(r,))",
                    "executor": ex.where, "workers": workers, "runs_planned": len(planned),
                    "runs_computed_now": ex.done + ex.failed,
                    "runs_failed": sum(1 for st in store.status().values() if st == "failed"),
                    "failures": ex.failures, "arms": {a: scenarios[a].model_dump(mode="json") for a in arms},
                    "mode_overrides": MODES[mode]["overrides"], "overrides": list(overrides or []),
                    "wall_s_runs": round(ex.wall_s, 1)}
            with staged_dir(out) as tmp:
                atomic_write_bytes(tmp / "patterns.csv", table.to_csv(index=False, float_format="%.6g").encode())
                figs = {}
                for fam in families(tests):
                    fr = [r for r in rows if family(r["pattern"]) == fam]
                    figs[fam] = _figure(tmp / "figures", fam, fr)
                prov["wall_s_total"] = round(time.perf_counter() - t_start, 1)
                prov["rows"] = [{k: v for k, v in r.items() if k != "extra"} for r in rows]
                atomic_write_text(tmp / "patterns.md", render_md(table, prov, figs))
                atomic_write_json(tmp / "patterns.json", _jsonable(prov))
                written = {p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file()}
            output.replace_files(written)
    except BaseException:
        output.remove_if_unused()
        raise
    prov["table"] = table
    prov["out"] = out
    return prov


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    return obj


def _fmt(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:+.3f}"


def render_md(table: pd.DataFrame, prov: dict, figs: dict) -> str:
    lines = ["# Pattern-oriented evaluation", "",
             f"Command: `{prov['command']}`  ", f"Mode: {prov['mode']}; {prov['replicates']} replicates per arm; "
             f"{prov['runs_planned']} runs; {prov['seeds']}; {prov['executor']}; "
             f"{prov['wall_s_total']:.0f} s in all.", "",
             "Verdicts: reproduced (95% CI on the criterion's side), missed (CI on the other side), "
             "inconclusive (CI covers the threshold). Relative statistics are (arm - reference) / mean of the "
             "reference over replicates, paired by replicate (common random numbers).", "",
             "| pattern | claim | measured [95% CI] | criterion | verdict |", "|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.pattern} | {r.claim} | {_fmt(r.measured)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}] | "
                     f"{r.criterion} | **{r.verdict}** |")
    lines += ["", "## Experiments", ""]
    for r in table.itertuples():
        lines.append(f"- **{r.pattern}** ({r.source}): {r.experiment}.")
    lines += ["", "## Figures", ""]
    for fam, names in figs.items():
        png = [n for n in names if n.endswith(".png")][0]
        lines.append(f"![{fam}]({png})")
        lines.append("")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- command line
def add_cli(subparsers, common) -> None:
    """Register ``marketsim patterns`` (called by :mod:`marketsim.cli`)."""
    p = subparsers.add_parser(
        "patterns", help="pattern-oriented evaluation: one declared experiment per empirical pattern, with verdicts",
        description="Run the experiment declared for each empirical pattern of DESIGN section 6 "
        "(marketsim.experiments.patterns) and write patterns.csv, figures/ and patterns.md. Exit 0 whatever the "
        "verdicts; 1 when some run failed.")
    p.add_argument("--quick", action="store_true", help="small world, 2 replicates, 24 weeks (seconds per run)")
    p.add_argument("--only", default=None, metavar="P2,P8", help="only these patterns (families or rows)")
    p.add_argument("--replicates", type=int, default=None, metavar="N",
                   help="replicates per arm (default 20; 2 with --quick)")
    p.add_argument("--workers", type=int, default=None, metavar="K",
                   help="local worker processes (default: number of CPUs; 1 runs in this process)")
    p.add_argument("--seed", type=int, default=12, metavar="ROOT", help="root seed (default 12)")
    p.add_argument("--out", default="out/patterns", metavar="DIR", help="output folder (default out/patterns)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier marketsim output in --out (deletes only files marketsim wrote there)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    common(p)
    p.set_defaults(handler=cmd_patterns, resumable=True)


def _command_line(args) -> str:
    parts = ["marketsim", "patterns"]
    if args.quick:
        parts.append("--quick")
    if args.only:
        parts += ["--only", args.only]
    if args.replicates is not None:
        parts += ["--replicates", str(args.replicates)]
    if args.workers is not None:
        parts += ["--workers", str(args.workers)]
    if args.seed != 12:
        parts += ["--seed", str(args.seed)]
    for o in args.overrides:
        parts += ["--set", o]
    for p in args.plugin:
        parts += ["--plugin", p]
    if args.overwrite:
        parts.append("--overwrite")
    return shlex.join(parts + ["--out", args.out])


def cmd_patterns(args) -> int:
    res = patterns(quick=args.quick, only=args.only, replicates=args.replicates, workers=args.workers,
                   root_seed=args.seed, out=args.out, overrides=args.overrides, plugins=args.plugin,
                   overwrite=args.overwrite, progress=False if args.quiet else None, command=_command_line(args))
    t = res["table"]
    if not args.quiet:
        for r in t.itertuples():
            print(f"{r.pattern:<5} {_fmt(r.measured)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]  {r.verdict}")
        print(f"wrote {res['out']}/patterns.md (and patterns.csv, figures/) in {res['wall_s_total']:.0f} s")
    bad = t[t["verdict"].str.startswith("could not run")]
    if len(bad) or res["runs_failed"]:
        print(f"marketsim patterns: {len(bad)} experiment(s) could not run ({res['runs_failed']} run(s) failed; "
              f"errors in {res['out']}/store/failed/); rerun the same command to try again", file=sys.stderr)
        return 1
    return 0

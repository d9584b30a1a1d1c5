"""The write-up of a sweep (``report.md`` + ``report.html``), from its tables and provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .design import Design
from .report import Doc, fmt
from .sensitivity import SENSITIVITY_METRICS

TOP_OUTCOMES = ["homicides", "corrupted_officer_share", "hhi", "local_hhi"]


def _design_rows(d: Design) -> list[list[str]]:
    rows = []
    for p in d.parameters:
        if p.kind == "range":
            rng = f"{p.low:g} – {p.high:g}" + (" (rounded to whole numbers)" if p.integer else "")
        else:
            rng = ", ".join(f"`{v}`" for v in p.values)
        role = "crossed with every point" if d.policies is not None and p.name == "enforcement.policy" else p.kind
        rows.append([f"`{p.name}`", role, rng])
    return rows


def render(d: Design, runs: pd.DataFrame, points: pd.DataFrame, sens: pd.DataFrame, figs, prov: dict):
    doc = Doc()
    title = f"Sweep: {d.method} over {len(d.parameters)} parameter(s) of {d.base.name}"
    doc.h(1, title)
    n_ok = int((runs["status"] == "ok").sum())
    doc.p(f"{len(d.points)} design points × {d.replicates} replicates = {len(runs)} runs ({n_ok} ok, "
          f"{prov['runs_failed']} failed). Created {prov['created_utc']} UTC by `{prov['command']}`.")
    if prov["runs_failed"]:
        doc.p(f"**{prov['runs_failed']} runs failed** (errors in `runs.parquet`, tracebacks in `store/failed/`; "
              "rerunning the same command tries them again). Their points are averaged over the remaining "
              "replicates; points without any result are left out of the sensitivity indices (marked "
              "`missing points`). Failed: " + "; ".join(
                  f"point {f['point']} replicate {f['replicate']}: `{f['error']}`" for f in prov["failed_runs"][:20])
              + ".")
    doc.h(2, "Design")
    doc.table(["parameter", "kind", "values / range"], _design_rows(d), ["l", "l", "l"])
    items = [f"**Method:** {d.method}" + (f", {d.samples} samples" if d.samples else "")
             + (f", {d.levels} levels" if d.method == "morris" else "")
             + (", with second-order indices" if d.method == "sobol" and d.second_order else ""),
             f"**Base scenario:** `{d.base_source}`" + (f" with {', '.join(f'`{o}`' for o in d.overrides)}"
                                                       if d.overrides else ""),
             f"**Weeks per run:** {d.base.world.steps}",
             f"**Seeds:** {prov['seeds']} (common random numbers across points)."]
    if d.policies is not None:
        items.append("**Policy:** crossed with every sampled point (same seeds), so each point's policy "
                     f"differences are paired; outcomes are each metric under each policy and the differences from "
                     f"`{d.policies[0]}`.")
    doc.ul(items)

    doc.h(2, "Sensitivity")
    if sens.empty:
        doc.p("No sensitivity indices for this method (grid and lhs designs report responses; use morris or sobol "
              "for indices). `points.parquet` holds every point's means and 95% CIs.")
    elif "mu_star" in sens:
        _morris_tables(doc, sens)
    else:
        _sobol_tables(doc, sens)
    doc.h(2, "Figures")
    for f in figs:
        doc.fig(f)
    if not figs:
        doc.p("No figures were drawn.")
    doc.h(2, "Provenance")
    v = prov["versions"]
    doc.ul([f"**Command:** `{prov['command']}`",
            f"**Executor:** {prov['executor']}; {prov['runs_computed_now']} runs computed in this invocation in "
            f"{prov['wall_s_runs']:.1f} s ({prov['run_wall_s_sum']:.1f} s of run time over all {len(runs)} runs).",
            "**Versions:** " + ", ".join(f"{k} {val}" for k, val in v.items()),
            "**Files:** `runs.parquet` (`runs.csv`), `points.parquet` (`points.csv`), `sensitivity.csv`, "
            "`sweep.json` (this provenance and the design), `scenarios/base.toml`, `figures/`, `store/` (the run "
            "store: rerun the same command to resume or to retry failed runs)."])
    return doc.markdown(), doc.html(title)


def _outcomes(sens: pd.DataFrame) -> list[str]:
    outs = list(dict.fromkeys(sens["outcome"]))
    return [o for o in outs if o.split(":")[0] in TOP_OUTCOMES]


def _morris_tables(doc: Doc, sens: pd.DataFrame) -> None:
    doc.p("Morris elementary effects on the point means (replicates averaged): μ* is the mean absolute effect of "
          "moving a parameter by one grid step (in the outcome's units, per step of the unit-scaled range), with "
          "its 95% bootstrap CI; σ the spread of the effects (non-linearity, interactions) with a chi-square CI. "
          "*noise*: the standard deviation that replicate noise alone gives an effect; parameters with μ* below "
          "twice that are marked *within noise*. Every outcome is in `sensitivity.csv` "
          f"({', '.join(SENSITIVITY_METRICS)}).")
    for o in _outcomes(sens):
        s = sens[sens["outcome"] == o].dropna(subset=["mu_star"]).sort_values("mu_star", ascending=False)
        if s.empty:
            doc.p(f"**{o}**: no indices (points without results).")
            continue
        rows = [[f"`{r.parameter}`", f"{fmt(r.mu_star)} [{fmt(r.mu_star_ci_low)}, {fmt(r.mu_star_ci_high)}]",
                 f"{fmt(r.sigma)} [{fmt(r.sigma_ci_low)}, {fmt(r.sigma_ci_high)}]", fmt(r.mu),
                 "within noise" if r.within_noise else ""] for r in s.itertuples()]
        doc.p(f"**{o}** (noise {fmt(float(s['noise'].iloc[0]))}):")
        doc.table(["parameter", "μ* [95% CI]", "σ [95% CI]", "μ", ""], rows)


def _sobol_tables(doc: Doc, sens: pd.DataFrame) -> None:
    doc.p("Sobol indices on the point means (replicates averaged): S1 the share of the outcome's variance due to a "
          "parameter alone, ST including its interactions, with 95% bootstrap CIs. *noise*: the replicate noise "
          "variance as a share of the variance of the point means; a parameter with ST below it, or whose ST "
          "interval includes 0, is marked *within noise*.")
    for o in _outcomes(sens):
        s = sens[(sens["outcome"] == o)].dropna(subset=["ST"]).sort_values("ST", ascending=False)
        if s.empty:
            doc.p(f"**{o}**: no indices.")
            continue
        rows = [[f"`{r.parameter}`", f"{fmt(r.S1)} [{fmt(r.S1_ci_low)}, {fmt(r.S1_ci_high)}]",
                 f"{fmt(r.ST)} [{fmt(r.ST_ci_low)}, {fmt(r.ST_ci_high)}]",
                 "within noise" if r.within_noise else ""] for r in s.itertuples()]
        noise = float(s["noise"].iloc[0])
        doc.p(f"**{o}** (noise share {fmt(noise) if np.isfinite(noise) else '–'}):")
        doc.table(["parameter", "S1 [95% CI]", "ST [95% CI]", ""], rows)

# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Policy comparison: no strategy, aggressive interdiction, targeted deterrence
#
# The three shipped scenarios differ only in `enforcement.policy`. `compare` runs every
# scenario `REPLICATES` times with common random numbers (replicate r of every scenario starts
# from the same city), so differences between policies are paired. Then: the differences
# with 95% confidence intervals, how they develop over time, and the mechanisms behind them.
# `MARKETSIM_NB_SMALL=1` runs a small, short version (what the tests do).

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import marketsim
from marketsim.experiments.compare import compare
from marketsim.experiments.stats import mean_ci, paired_ci

ROOT = Path(marketsim.__file__).resolve().parents[2]  # the repository (pip install -e .)
SCENARIOS = [ROOT / "scenarios" / f"{n}.toml" for n in ("baseline", "aggressive_interdiction", "targeted_deterrence")]
SMALL = os.environ.get("MARKETSIM_NB_SMALL") == "1"
REPLICATES = 3 if SMALL else 10
WORKERS = 1 if SMALL else 2  # 1 runs in this process; more start a local Dask cluster
OVERRIDES = (["world.width=40", "world.height=40", "world.users=1500", "world.dealers=60", "world.organizations=4",
              "enforcement.officers=15", "world.burn_in=20", "world.steps=30"] if SMALL else [])
OUT = Path(os.environ.get("MARKETSIM_NB_OUT") or tempfile.mkdtemp(prefix="marketsim-")) / "policy_comparison"

# %%
res = compare(SCENARIOS, replicates=REPLICATES, workers=WORKERS, overrides=OVERRIDES, out=OUT,
              figures=not SMALL, return_result=True, progress=False)
runs = res.runs
print(f"{len(runs)} runs; report: {res.out / 'report.html'}")
if REPLICATES < 10:
    print(f"warning: only {REPLICATES} replicates per scenario; intervals are wide and rough")

# %% [markdown]
# ## Every pair of policies: paired differences with 95% CIs
# A difference `A - B` is taken replicate by replicate (same city, same random draws), then
# averaged; its interval is a Student t interval over replicates.

# %%
METRICS = {"homicides": "homicides (total)", "violent_incidents": "violent incidents (total)",
           "corrupted_officer_share": "share of officers corrupted (last quarter)",
           "bribes_paid": "bribes paid ($, total)", "hhi": "HHI (last quarter)",
           "retail_price": "retail price ($/unit, last quarter)"}
names = list(dict.fromkeys(runs["scenario"]))
wide = {m: runs.pivot(index="replicate", columns="scenario", values=m) for m in METRICS}
pairs = [("targeted_deterrence", "aggressive_interdiction"), ("aggressive_interdiction", "baseline"),
         ("targeted_deterrence", "baseline")]
rows = []
for a, b in pairs:
    for m, label in METRICS.items():
        d = paired_ci(wide[m][a], wide[m][b])
        rows.append({"contrast": f"{a} - {b}", "metric": label, "difference": d["mean"],
                     "95% CI": f"[{d['ci_low']:,.4g}, {d['ci_high']:,.4g}]", "n": d["n"]})
pd.DataFrame(rows).pivot(index="metric", columns="contrast", values=["difference", "95% CI"]).round(4)

# %% [markdown]
# Means per policy, for scale:

# %%
pd.DataFrame({s: {METRICS[m]: round(mean_ci(wide[m][s])["mean"], 4) for m in METRICS} for s in names})

# %% [markdown]
# ## Dynamics: median over replicates, week by week

# %%
ts = res.timeseries
fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
for ax, (col, label) in zip(axes, [("violent_incidents", "violent incidents per week"),
                                   ("corrupted_officer_share", "share of officers corrupted"),
                                   ("hhi", "HHI (0-10,000)")]):
    for s in names:
        med = ts[ts["scenario"] == s].groupby("step")[col].median()
        ax.plot(med.index, med.rolling(4).mean(), label=s)  # 4-week mean: no value before week 4
    ax.set_xlabel("week since the policy took over")
    ax.set_ylabel(label)
    ax.set_ylim(bottom=0)
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Mechanisms
# Where the violence comes from (turf fights, succession fights after a leader is removed,
# attacks on officers), how often leaders are removed and organisations split, and what
# organisations have learned about the police's response to violence.

# %%
MECH = ["violence_turf", "violence_succession", "violence_against_police", "leader_removals", "splits",
        "enforcement_neutralised", "perceived_response_top", "perceived_response_other"]
runs.groupby("scenario", sort=False)[MECH].mean().T.round(3)

# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A small sweep and sensitivity analysis
#
# Two uses of `marketsim.sweep` (the engine behind `marketsim sweep`, see the README section
# "Sweeps and sensitivity analysis"):
#
# 1. a **grid sweep** of the police force's size under the two enforcement strategies, with
#    response curves (mean and 95% CI over replicates at every design point);
# 2. a **Morris screening** of a few parameters: which of them move violence, corruption and
#    concentration at all, with μ* and σ, their 95% CIs and a flag for effects that replicate
#    noise alone could produce.
#
# Every design point runs `replicates` times with common random numbers (replicate r of every
# point starts from the same seed), and `sweep` returns its tables as DataFrames. Designs are
# dicts here; the same as TOML files are in `examples/sweeps/`.
# `MARKETSIM_NB_SMALL=1` runs a tiny, short version (what the tests do): its numbers show the
# mechanics, not results.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import marketsim

ROOT = Path(marketsim.__file__).resolve().parents[2]  # the repository (pip install -e .)
BASE = str(ROOT / "scenarios" / "baseline.toml")  # absolute: a dict design resolves paths from the working folder
SMALL = os.environ.get("MARKETSIM_NB_SMALL") == "1"
WORKERS = 1 if SMALL else 2  # 1 runs in this process; more start a local Dask cluster
# SMALL: a tiny city and a few weeks, so that the whole notebook runs in well under a minute
WORLD = (["world.width=30", "world.height=30", "world.users=800", "world.dealers=30", "world.organizations=3",
          "world.burn_in=8", "world.steps=12"] if SMALL else [])
STEPS = 12 if SMALL else 104
# a fresh folder of our own: sweep writes only into a new, empty or marketsim-made folder
OUT = Path(os.environ.get("MARKETSIM_NB_OUT") or tempfile.mkdtemp(prefix="marketsim-")) / "parameter_scan"
POLICIES = ["aggressive_interdiction", "targeted_deterrence"]
LABELS = {"homicides": "homicides (total over the run)", "corrupted_officer_share": "share of officers corrupted",
          "hhi": "HHI (0-10,000)"}

# %% [markdown]
# ## 1. Grid sweep: officers × policy
# The grid is the product of the lists: every number of officers under each policy.

# %%
OFFICERS = [8, 16, 32] if SMALL else [25, 50, 100, 200]
grid = {
    "sweep": {"scenario": BASE, "method": "grid", "replicates": 2 if SMALL else 6, "seed": 1, "steps": STEPS,
              "set": WORLD},
    "parameters": {"enforcement.officers": OFFICERS, "enforcement.policy": POLICIES},
}
g = marketsim.sweep(grid, out=OUT / "grid", workers=WORKERS, progress=False, figures=not SMALL)
points = g["points"]
print(f"{len(g['runs'])} runs, {len(points)} design points; report: {OUT / 'grid' / 'report.html'}")
points[["point", "enforcement.officers", "enforcement.policy", "runs_ok", "homicides_mean", "homicides_ci_low",
        "homicides_ci_high"]].round(3)

# %% [markdown]
# Response curves: the mean of each outcome over replicates at every design point, with its 95%
# confidence interval (Student t over the replicates; with so few replicates the intervals are
# wide, and the bands are cut at 0 and, for the share, at 1, the range of the quantity).

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for ax, (metric, label) in zip(axes, LABELS.items()):
    for pol in POLICIES:
        s = points[points["enforcement.policy"] == pol].sort_values("enforcement.officers")
        ax.plot(s["enforcement.officers"], s[f"{metric}_mean"], marker="o", label=pol.replace("_", " "))
        hi = s[f"{metric}_ci_high"].clip(upper=1) if metric.endswith("share") else s[f"{metric}_ci_high"]
        ax.fill_between(s["enforcement.officers"], s[f"{metric}_ci_low"].clip(lower=0), hi, alpha=0.2)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(OFFICERS, [str(k) for k in OFFICERS])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("officers")
    ax.set_ylabel(label)
axes[0].legend(fontsize=8)
fig.suptitle(f"grid sweep: mean and 95% CI over {grid['sweep']['replicates']} replicates per point")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Morris screening
# `samples` trajectories of (parameters + 1) points each (SMALL: 3 x 4 = 12 points); every
# point runs `replicates` times and the analysis (SALib) uses the replicate means. μ* (mean
# absolute elementary effect, on the unit scale of each parameter's range) says how much a
# parameter moves an outcome; σ, how much that effect depends on the other parameters
# (interactions or non-linearity). `within_noise` marks a μ* below twice the effect that
# replicate noise alone would give: not distinguishable from nothing at this number of
# replicates.

# %%
morris_design = {
    "sweep": {"scenario": BASE, "method": "morris", "samples": 3 if SMALL else 10, "levels": 4,
              "replicates": 2 if SMALL else 4, "seed": 2026, "steps": STEPS, "set": WORLD},
    "parameters": {
        "enforcement.officers": {"low": 8, "high": 32} if SMALL else {"low": 50, "high": 200},
        "organizations.lethality": {"low": 0.15, "high": 0.6},
        "organizations.bribe_share": {"low": 0.25, "high": 0.75},
    },
}
m = marketsim.sweep(morris_design, out=OUT / "morris", workers=WORKERS, progress=False, figures=not SMALL)
sens = m["sensitivity"]
print(f"{len(m['runs'])} runs, {len(m['points'])} design points")
cols = ["parameter", "mu", "mu_star", "mu_star_ci_low", "mu_star_ci_high", "sigma", "sigma_ci_low",
        "sigma_ci_high", "noise", "within_noise"]
table = sens[sens["outcome"].isin(LABELS)].set_index(["outcome", "parameter"])[cols[1:]]
table.round(3)

# %% [markdown]
# The μ*–σ plane, one panel per outcome: parameters to the right matter, those high up act
# through interactions or non-linearly; horizontal bars are the 95% CI of μ*; hollow markers are
# within the replicate noise (the dashed line is twice that noise).

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 4))
params = list(morris_design["parameters"])
colours = dict(zip(params, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
for ax, (metric, label) in zip(axes, LABELS.items()):
    s = sens[sens["outcome"] == metric].dropna(subset=["mu_star"])
    for r in s.itertuples():
        c = colours[r.parameter]
        ax.errorbar(r.mu_star, r.sigma, xerr=[[r.mu_star - max(r.mu_star_ci_low, 0)], [r.mu_star_ci_high - r.mu_star]],
                    fmt="o", color=c, mfc="none" if r.within_noise else c, capsize=3)
    if len(s) and np.isfinite(s["noise"].iloc[0]):
        ax.axvline(2 * s["noise"].iloc[0], color="0.5", ls="--", lw=0.8)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("μ* (change in the outcome over a parameter's range)")
    ax.set_ylabel("σ (same units)")
    ax.set_title(label, fontsize=10)
handles = [plt.Line2D([], [], marker="o", ls="", color=colours[p], label=p) for p in params]
handles.append(plt.Line2D([], [], color="0.5", ls="--", lw=0.8, label="2 × replicate noise"))
fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
fig.suptitle(f"Morris screening: {morris_design['sweep']['samples']} trajectories, "
             f"{morris_design['sweep']['replicates']} replicates per point")
fig.tight_layout(rect=(0, 0.07, 1, 1))
plt.show()

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
# # One-parameter scan: how does the police force's size change the answer?
#
# For each number of officers, `compare` runs aggressive interdiction and targeted deterrence
# with common random numbers, and we plot the paired difference TD - AI with its 95% CI.
# (For many parameters at once, with sensitivity indices, use `marketsim sweep` / `marketsim.sweep`;
# this scan of one parameter only needs `compare`, and its paired differences.) `MARKETSIM_NB_SMALL=1` runs a small, short version (what the tests do).

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import marketsim
from marketsim.experiments.compare import compare
from marketsim.experiments.stats import paired_ci

ROOT = Path(marketsim.__file__).resolve().parents[2]  # the repository (pip install -e .)
SCENARIOS = [ROOT / "scenarios" / f"{n}.toml" for n in ("aggressive_interdiction", "targeted_deterrence")]
SMALL = os.environ.get("MARKETSIM_NB_SMALL") == "1"
OFFICERS = [10, 20] if SMALL else [25, 50, 100, 200]
REPLICATES = 3 if SMALL else 8
WORKERS = 1 if SMALL else 2
BASE = (["world.width=40", "world.height=40", "world.users=1500", "world.dealers=60", "world.organizations=4",
         "world.burn_in=20", "world.steps=30"] if SMALL else ["world.steps=156"])
OUT = Path(os.environ.get("MARKETSIM_NB_OUT") or tempfile.mkdtemp(prefix="marketsim-")) / "parameter_scan"

# %%
rows = []
for k in OFFICERS:
    res = compare(SCENARIOS, replicates=REPLICATES, workers=WORKERS, overrides=BASE + [f"enforcement.officers={k}"],
                  out=OUT / f"officers-{k}", figures=False, return_result=True, progress=False)
    for metric in ("homicides", "corrupted_officer_share", "hhi"):
        w = res.runs.pivot(index="replicate", columns="scenario", values=metric)
        d = paired_ci(w["targeted_deterrence"], w["aggressive_interdiction"])
        rows.append({"officers": k, "metric": metric, "TD - AI": d["mean"], "ci_low": d["ci_low"],
                     "ci_high": d["ci_high"], "AI mean": w["aggressive_interdiction"].mean(),
                     "TD mean": w["targeted_deterrence"].mean()})
scan = pd.DataFrame(rows)
scan.round(4)

# %%
labels = {"homicides": "homicides (total over the run)", "corrupted_officer_share": "share of officers corrupted",
          "hhi": "HHI (0-10,000)"}
fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
for ax, (metric, label) in zip(axes, labels.items()):
    s = scan[scan["metric"] == metric]
    ax.errorbar(s["officers"], s["TD - AI"], yerr=[s["TD - AI"] - s["ci_low"], s["ci_high"] - s["TD - AI"]],
                marker="o", capsize=3)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_xticks(OFFICERS, [str(k) for k in OFFICERS])
    ax.set_xlabel("officers")
    ax.set_ylabel(f"TD - AI: {label}")
fig.suptitle(f"targeted deterrence minus aggressive interdiction, paired, 95% CI ({REPLICATES} replicates)")
fig.tight_layout()
plt.show()

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
# # marketsim quick start
#
# Run one city under one enforcement policy, plot what happens week by week, and look at the
# agents. Open with `make notebooks` (or `.venv/bin/jupyter lab notebooks/`). Scenario files
# are found from the installed package, whatever folder the notebook runs in.
# `MARKETSIM_NB_SMALL=1` runs a small, short city (what the tests do).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import marketsim
from marketsim import DrugMarketModel, load_scenario
from marketsim.app import city_maps

ROOT = Path(marketsim.__file__).resolve().parents[2]  # the repository (pip install -e .)
SCENARIOS = ROOT / "scenarios"
SMALL = os.environ.get("MARKETSIM_NB_SMALL") == "1"
SMALL_CITY = ["world.width=40", "world.height=40", "world.users=1500", "world.dealers=60",
              "world.organizations=4", "enforcement.officers=15", "world.burn_in=20"]
overrides = SMALL_CITY + ["world.steps=30"] if SMALL else ["world.steps=156"]  # 3 years

# %% [markdown]
# ## Run a scenario
# `load_scenario` validates the file (every problem listed at once); `--set`-style overrides
# change any parameter. The city first settles for `world.burn_in` weeks under minimal patrol,
# then the policy takes over at week 1.

# %%
sc = load_scenario(SCENARIOS / "targeted_deterrence.toml", overrides)
model = DrugMarketModel(sc, seed=1)
model.run()
print(f"{sc.name}: policy {sc.enforcement.policy}, {sc.world.users:,} users, "
      f"{sc.enforcement.officers} officers, {sc.world.steps} weeks")

# %% [markdown]
# ## Week-by-week metrics
# `model.timeseries()` is a DataFrame with one row per week (`marketsim.metrics.COLUMNS`
# says what each column means and whether it is a count or a level).

# %%
ts = model.timeseries()
ts[["step", "homicides", "violent_incidents", "corrupted_officer_share", "hhi", "retail_price", "arrests"]].tail()

# %%
panels = [("violent_incidents", "violent incidents per week"), ("corrupted_officer_share", "share of officers corrupted"),
          ("hhi", "HHI (0-10,000)"), ("retail_price", "retail price ($/unit)")]
fig, axes = plt.subplots(2, 2, figsize=(11, 6), sharex=True)
for ax, (col, label) in zip(axes.ravel(), panels):
    ax.plot(ts["step"], ts[col], color="0.75", lw=0.8, label="weekly")
    ax.plot(ts["step"], ts[col].rolling(8).mean(), color="C0", label="8-week mean")  # no value before week 8
    ax.set_ylabel(label)
    ax.set_ylim(bottom=0)
for ax in axes[1]:
    ax.set_xlabel("week since the policy took over")
axes[0, 0].legend(fontsize=8)
fig.suptitle(f"{sc.name}, seed 1")
fig.tight_layout()
plt.show()

# %% [markdown]
# Run-level summary: counts are totals over the run, levels are means over its last quarter.

# %%
pd.Series(model.summary()).loc[["homicides", "violent_incidents", "corrupted_officer_share", "bribes_paid",
                                "hhi", "effective_organizations", "retail_price", "arrests"]].round(3)

# %% [markdown]
# ## The city this week

# %%
fig = city_maps(model)
fig

# %% [markdown]
# ## Inspect agents
# Users, dealers, organisations and officers are Mesa agents: views on the model's arrays.

# %%
from marketsim.agents import Dealer, Organization  # noqa: E402

orgs = sorted(model.agents_by_type[Organization], key=lambda o: -o.weekly_sales)
pd.DataFrame([{"slot": o.slot, "members": len(o.members), "weekly sales": round(o.weekly_sales, 1),
               "cash ($)": round(o.cash), "ruthlessness": round(o.ruthlessness, 2),
               "P(police answer violence | most violent)": round(o.perceived_violence_response, 3)}
              for o in orgs[:8]])

# %%
d = next(iter(model.agents_by_type[Dealer]))
print("a dealer at", d.position, "rank", d.rank, "inventory", round(d.inventory, 1), "price", round(d.price, 1))

# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # marketsim quick start
#
# One city, three enforcement regimes, the same seed (common random numbers): the
# initial world and the market's random draws are shared, so differences come from
# the policies. Open with Jupyter (`pip install jupytext` opens this `.py` file as a
# notebook) or run it as a script. Set `MARKETSIM_NB_SMALL=1` for a quick, small run.

# %%
import os

import matplotlib

if not os.environ.get("DISPLAY") and "ipykernel" not in os.environ.get("_", ""):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from marketsim import DrugMarketModel, load_scenario

SMALL = os.environ.get("MARKETSIM_NB_SMALL") == "1"
overrides = ["world.width=40", "world.height=40", "world.users=1500", "world.dealers=60",
             "world.organizations=4", "enforcement.officers=15", "world.steps=40"] if SMALL else []

# %% [markdown]
# ## Load the three shipped scenarios, override what you like, run

# %%
runs = {}
for name in ["baseline", "aggressive_interdiction", "targeted_deterrence"]:
    sc = load_scenario(f"scenarios/{name}.toml", overrides)
    model = DrugMarketModel(sc, seed=1)
    model.run()
    runs[name] = model
    print(name, "initial world", model.initial_fingerprint[:12])

# %% [markdown]
# ## Weekly timeseries as pandas DataFrames

# %%
ts = pd.concat({k: m.timeseries() for k, m in runs.items()}, names=["scenario"]).reset_index(level=0)
summary = pd.DataFrame({k: m.summary() for k, m in runs.items()})
summary.loc[["homicides", "violent_incidents", "corrupted_officer_share", "bribes_paid", "hhi",
             "effective_organizations", "retail_price", "arrests"]]

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
for ax, col in zip(axes, ["violent_incidents", "corrupted_officer_share", "hhi"]):
    for name, df in ts.groupby("scenario"):
        ax.plot(df.step, df[col].rolling(8, min_periods=1).mean(), label=name)
    ax.set_title(col)
    ax.set_xlabel("week")
axes[0].legend(fontsize=7)
fig.tight_layout()

# %% [markdown]
# ## Inspect agents
# Users, dealers, organisations and officers are Mesa agents backed by the model's arrays.

# %%
from marketsim.agents import Dealer, Organization  # noqa: E402

m = runs["targeted_deterrence"]
biggest = max(m.agents_by_type[Organization], key=lambda o: o.weekly_sales)
print("largest organisation:", len(biggest.members), "members, cash", round(biggest.cash),
      "ruthlessness", round(biggest.ruthlessness, 2),
      "perceived P(violence answered | most violent)", round(biggest.perceived_violence_response, 3))
d = next(iter(m.agents_by_type[Dealer]))
print("a dealer at", d.position, d.rank, "inventory", round(d.inventory, 1), "price", round(d.price, 1))

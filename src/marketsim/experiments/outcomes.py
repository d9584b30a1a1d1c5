"""Which run-level metrics the experiment layer tabulates, reports and plots."""

from __future__ import annotations

from ..metrics import COLUMNS

#: Run-level metrics of ``runs.parquet`` and ``comparison.csv`` (all counts and levels).
METRICS = [name for name, (kind, _) in COLUMNS.items() if kind in ("count", "level")]
KINDS = {name: kind for name, (kind, _) in COLUMNS.items()}
#: Headline metrics: the report's table, the end-of-run and the difference figures.
HEADLINE = ["homicides", "violent_incidents", "corrupted_officer_share", "bribes_paid", "enforcement_neutralised",
            "hhi", "effective_organizations", "n_organizations", "retail_price", "quantity_sold", "arrests",
            "seizures", "active_market_cells"]
#: The three outcomes of the policy question, one or two metrics each (replicate adequacy).
KEY_METRICS = ["homicides", "violent_incidents", "corrupted_officer_share", "bribes_paid", "hhi",
               "effective_organizations"]
ID_COLUMNS = ["scenario", "scenario_index", "replicate", "root_seed", "spawn_key", "initial_world_sha256", "steps"]

__all__ = ["METRICS", "KINDS", "HEADLINE", "KEY_METRICS", "ID_COLUMNS"]

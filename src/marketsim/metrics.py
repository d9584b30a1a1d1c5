"""Measurements (DESIGN section 5): the timeseries columns and run-level aggregates.

Every column is either a *count* (a flow during the week: incidents, arrests, units
sold...) or a *level* (a state or a rate: HHI, price, share of officers corrupted...).
Run summaries give the **total** of each count over the run and the **mean of each level
over the last quarter** of the run (after the market has adapted to the policy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# name: (kind, unit/meaning)
COLUMNS: dict[str, tuple[str, str]] = {
    "step": ("index", "week (1 = first simulated week)"),
    "homicides": ("count", "deaths from all violence: turf, succession fights, officers killed"),
    "homicide_rate": ("level", "homicides per 100,000 residents per year (this week's homicides x 52 / world.population)"),
    "violent_incidents": ("count", "violent incidents of all kinds"),
    "violence_turf": ("count", "attacks between organisations over street turf"),
    "violence_succession": ("count", "fights within or between factions after a leader's removal"),
    "violence_against_police": ("count", "attacks on officers who refused a bribe (plata o plomo)"),
    "officers_killed": ("count", "officers killed"),
    "corrupted_officer_share": ("level", "share of officers on any organisation's payroll (accepted, not yet detected), wherever they are posted"),
    "bribes_paid": ("count", "dollars paid in bribes"),
    "enforcement_neutralised": ("count", "arrests not made because an officer was paid by the dealer's organisation: let go on the street, or tipped off about an investigation"),
    "corrupt_detected": ("count", "corrupt officers caught by internal affairs"),
    "hhi": ("level", "Herfindahl-Hirschman index of organisation sales shares (0-10,000)"),
    "hhi_organizations": ("level", "HHI of sales shares among organisations of two or more members (lone sellers left out)"),
    "local_hhi": ("level", "sales-weighted mean of district HHIs (the market users actually face)"),
    "largest_share": ("level", "sales share of the largest organisation"),
    "n_organizations": ("level", "organisations with two or more members"),
    "n_independents": ("level", "one-person sellers"),
    "effective_organizations": ("level", "10,000 / HHI"),
    "turf_tenure": ("level", "mean weeks the current controller has held each controlled cell"),
    "retail_price": ("level", "sales-weighted mean retail price (dollars/unit)"),
    "quantity_sold": ("count", "units sold at retail"),
    "unmet_demand": ("count", "units users wanted but could not buy"),
    "users_served_share": ("level", "share of users who bought this week"),
    "stranger_sales_share": ("level", "share of units sold to users the dealer did not know (not a contact, not referred)"),
    "users_without_contact": ("level", "share of users who know no dealer after the week's market"),
    "stranger_refusal_share": ("level", "share of searching users' approaches to dealers who did not know them that were refused (closed market)"),
    "wholesale_stock": ("level", "units in organisations' warehouses"),
    "imported": ("count", "units shipped into the region"),
    "arrests": ("count", "arrests of all ranks"),
    "lieutenant_arrests": ("count", "arrests of lieutenants"),
    "leader_arrests": ("count", "arrests of leaders (kingpins)"),
    "seizures": ("count", "units seized: at the border, from arrested dealers, and stock left by dissolved organisations"),
    "interdicted": ("count", "units seized at the border"),
    "incarcerated": ("level", "dealers in prison"),
    "dealers": ("level", "dealers on the street"),
    "dealer_pool_use": ("level", "dealer slots in use (street + prison) as a share of the pool ceiling (market.max_pool_factor x world.dealers); at 1.0 the run stops (PoolFull)"),
    "active_market_cells": ("level", "cells with at least one sale this week (market footprint)"),
    "displacement": ("count", "dealers who relocated"),
    "leader_removals": ("count", "leaders removed (arrested or killed)"),
    "splits": ("count", "organisations that split into factions"),
    "entrants": ("count", "new independent sellers"),
    "perceived_arrest_risk": ("level", "organisations' learned weekly arrest risk per member (member-weighted mean)"),
    "perceived_response_top": ("level", "learned P(enforcement answers violence | group is the most violent), member-weighted"),
    "perceived_response_other": ("level", "learned P(enforcement answers violence | group is not the most violent), member-weighted"),
    "policy_target": ("id", "organisation slot the agency announced as its target (-1 none)"),
    "believed_response": ("level", "mean over active organisations of the believed P(its next violent act brings a crackdown)"),
    "crackdown_targets": ("level", "groups under a crackdown this week (named and acted on)"),
    "crackdowns_started": ("count", "crackdowns started (a newly named target acted on)"),
    "threat_carried_out_share": ("level", "1 when the named target was acted on this week, 0 when named and not, NaN without a target (summary: share over the last quarter's weeks with a target)"),
    "effort_patrol": ("count", "officer-weeks posted by the week's allocation (the patrol budget committed)"),
    "effort_investigation": ("count", "investigator-weeks spent on organisations with leads (the investigation budget spent)"),
    "effort_inspection": ("count", "units of incoming shipments inspected (the interdiction budget spent)"),
    "arrest_attempts": ("count", "arrest effort spent: the hazard arrest_k per officer and occupied cell covered, whatever the focus"),
}
TIMESERIES_COLUMNS = list(COLUMNS)
HEADLINE = ["homicides", "violent_incidents", "corrupted_officer_share", "bribes_paid", "hhi",
            "effective_organizations", "retail_price", "quantity_sold", "arrests", "seizures",
            "active_market_cells"]


def hhi(sales) -> float:
    """Herfindahl-Hirschman index (0-10,000) of the sales shares; NaN when nothing was sold."""
    sales = np.asarray(sales, dtype=float)
    total = sales.sum()
    if total <= 0:
        return float("nan")
    return float(((100.0 * sales / total) ** 2).sum())


def summarize(ts: pd.DataFrame) -> dict:
    """Totals of counts over the run; means of levels over its last quarter."""
    out: dict[str, float] = {"steps": int(len(ts))}
    if len(ts) == 0:
        return out
    tail = ts.iloc[len(ts) - max(1, len(ts) // 4):]
    for name, (kind, _) in COLUMNS.items():
        if kind == "count":
            out[name] = float(ts[name].sum())
        elif kind == "level":
            v = tail[name].astype(float)
            out[name] = float(v.mean()) if v.notna().any() else float("nan")
    return out

"""The Mesa-idiomatic reference (benchmarks/reference/) agrees with marketsim in distribution.

Small version of ``python benchmarks/crosscheck.py`` (which the benchmark report runs at a
larger size): same scenario, policy ``none``, 6 replicates x 52 weeks each after the default
burn-in (52 unrecorded weeks, in both implementations); for every headline metric the 95%
confidence intervals of the two replicate means must overlap.
"""

import ast
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)

import crosscheck  # noqa: E402

SMALL = ["world.width=30", "world.height=30", "world.users=1500", "world.dealers=60", "world.organizations=4",
         "enforcement.officers=15", "world.torus=true"]


def test_reference_is_independent_of_marketsim():
    """The reference re-implements the rules: it imports nothing from marketsim (parameters come in
    as a Scenario object), and is built on Mesa's discrete space."""
    src = open(os.path.join(BENCH, "reference", "model.py")).read()
    imported = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert not any(m and m.startswith("marketsim") for m in imported), imported
    assert "numba" not in imported
    assert "mesa.discrete_space" in imported


def test_reference_runs_as_mesa_model():
    from mesa.discrete_space import CellAgent
    from reference import ReferenceMarket
    from reference.model import Dealer, Officer, User

    from marketsim.scenario import parse_scenario

    m = ReferenceMarket(parse_scenario({}, overrides=SMALL + ["world.burn_in=4"]), seed=2)
    assert m.week == 4 and len(m.timeseries()) == 0  # burn-in weeks are run, not recorded
    for _ in range(3):
        m.step()
    assert len(m.agents_by_type[User]) == 1500
    assert all(isinstance(a, CellAgent) for t in (User, Dealer, Officer) for a in m.agents_by_type[t])
    ts = m.timeseries()
    assert len(ts) == 3 and ts["quantity_sold"].gt(0).all() and m.week == 7


def test_headline_metrics_agree_within_confidence_intervals():
    res = crosscheck.compare(SMALL, replicates=6, steps=52, workers=1)
    print(crosscheck.format_table(res))
    bad = [r["metric"] for r in res["rows"] if not r["agree"]]
    assert not bad, crosscheck.format_table(res)


def test_reference_rejects_other_policies():
    from reference import ReferenceMarket

    from marketsim.scenario import parse_scenario

    with pytest.raises(ValueError):
        ReferenceMarket(parse_scenario({}, overrides=SMALL + ["enforcement.policy=targeted_deterrence"]))


def test_split_shares_the_parents_sales_and_revenue_by_headcount(monkeypatch):
    """ODD 7.7: a split shares the parent's smoothed sales and revenue by headcount, the shares adding
    up to the parent's (as marketsim). Taking each share of the already-reduced parent left the new
    factions with a fraction of their due, so their members' pay looked poor beside the parent's and
    they all defected back at once (the reference then had a third of marketsim's organisations)."""
    from reference import model as ref

    from marketsim.scenario import parse_scenario

    m = ref.ReferenceMarket(parse_scenario({}, overrides=SMALL + ["world.burn_in=0"]), seed=2)
    o = max(m.organizations, key=lambda o: len(o.members))
    o.count()
    lieuts = [d for d in o.members if d.rank == ref.LIEUTENANT and d.on_street]
    assert len(lieuts) >= 2 and o.n_members >= m.p.organizations.split_min_members
    monkeypatch.setattr(ref, "logistic_choice", lambda value, noise: 1.0)  # every lieutenant claims control
    sales, revenue = o.sales_avg, o.revenue_avg
    before = set(m.organizations)
    o.leader.go_to_prison(m.week + 50)
    m.succession()
    factions = [o] + [f for f in m.organizations if f not in before and f.parent is o]
    assert len(factions) == min(len(lieuts), 3) and m.c["splits"] == 1
    assert sum(f.sales_avg for f in factions) == pytest.approx(sales)
    assert sum(f.revenue_avg for f in factions) == pytest.approx(revenue)

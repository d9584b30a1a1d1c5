"""Drug units and money are conserved at every step."""

import math

import pytest
from conftest import small

from marketsim import DrugMarketModel


@pytest.mark.parametrize("policy", ["none", "aggressive_interdiction", "targeted_deterrence", "crackdown"])
def test_units_and_money_balance_every_step(policy):
    sc = small(policy, "enforcement.crackdown_start=5", "enforcement.crackdown_weeks=10")
    m = DrugMarketModel(sc, seed=2)
    imported_before = m.stock_balance()["imported"]
    assert imported_before > 0
    for _ in range(40):
        m.step()
        b = m.stock_balance()
        assert b["imported"] == pytest.approx(b["seized"] + b["sold"] + b["held"], rel=1e-9, abs=1e-6)
        mb = m.money_balance()
        assert mb["cash"] == pytest.approx(mb["expected"], rel=1e-9, abs=1e-4)
    # the flows were not trivial
    assert b["sold"] > 0 and b["seized"] > 0 and b["imported"] > imported_before


def test_timeseries_flows_add_up():
    m = DrugMarketModel(small("aggressive_interdiction"), seed=3)
    m.run(30)
    ts = m.timeseries()
    b = m.stock_balance()
    assert ts["quantity_sold"].sum() == pytest.approx(b["sold"])
    assert ts["seizures"].sum() == pytest.approx(b["seized"])
    assert (ts["violent_incidents"] == ts["violence_turf"] + ts["violence_succession"]
            + ts["violence_against_police"]).all()
    assert (ts["seizures"] >= ts["interdicted"]).all()
    assert all(math.isfinite(x) for x in ts["quantity_sold"])


def test_no_drugs_or_cash_in_free_slots():
    m = DrugMarketModel(small("aggressive_interdiction"), seed=8)
    m.run(40)
    s = m.state
    assert (s.d_inv[s.d_active == 0] == 0).all()
    assert (s.d_cash[s.d_active == 0] == 0).all()
    assert (s.o_stock[s.o_active == 0] == 0).all()

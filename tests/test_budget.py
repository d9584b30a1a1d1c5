"""One budget, conserved (issue 7 item 1): every policy spends the same effort every week."""


import numpy as np
import pytest
from conftest import small

from marketsim import DrugMarketModel
from marketsim.kernels import policing as kp
from marketsim.policies import registry


@pytest.fixture(scope="module")
def efforts():
    out = {}
    for name in sorted(registry):
        sc = small(name, "enforcement.crackdown_start=3", "enforcement.crackdown_weeks=10", "world.burn_in=8")
        m = DrugMarketModel(sc, seed=5)
        m.run(20)
        out[name] = m.timeseries()
    return out


@pytest.mark.parametrize("column", ["effort_patrol", "effort_investigation", "effort_inspection"])
def test_every_policy_spends_the_same_effort_each_week(efforts, column):
    base = efforts["none"][column].to_numpy()
    assert (base > 0).all(), f"{column}: the baseline spent nothing in some week"
    for name, ts in efforts.items():
        x = ts[column].to_numpy()
        np.testing.assert_allclose(x, base, rtol=0.01, err_msg=f"{name} spends a different {column}")


def test_budget_is_the_scenarios(efforts):
    sc = small()
    ts = efforts["aggressive_interdiction"]
    assert (ts["effort_patrol"] == sc.enforcement.officers).all()
    assert ts["effort_investigation"].to_numpy() == pytest.approx(sc.enforcement.investigators)
    assert ts["effort_inspection"].to_numpy() == pytest.approx(sc.enforcement.interdiction_capacity)


def _policing_world(focus_on):
    """Four street dealers of two organisations in one cell, one officer on it."""
    from marketsim.kernels.grid import bucket_street_dealers
    from marketsim.state import allocate

    s = allocate(10, 10, False, 1, 4, 2, 1)
    s.o_active[:2] = 1
    s.o_members[:2] = 2
    s.o_street[:2] = 2
    s.d_active[:] = 1
    s.d_cell[:] = 55
    s.d_org[:] = [0, 0, 1, 1]
    s.f_cell[:] = 55
    if focus_on is not None:
        s.o_focus[focus_on] = 1.0
    bucket_street_dealers(s.d_active, s.d_jail_until, s.d_cell, 0, s.ncell, s.cell_start, s.cell_list, s.cell_dealers)
    return s


def _arrests_by_org(focus_on, reps=400, k=1.0, mult=3.0):
    by_org = np.zeros(2)
    attempts = 0.0
    for r in range(reps):
        s = _policing_world(focus_on)
        counts = np.zeros(kp.N_COUNTS)
        kp.policing(s.f_cell, s.f_out, s.f_corrupt_by, s.f_arrests, 0, s.width, s.height, s.torus,
                    s.d_active, s.d_jail_until, s.d_org, s.d_rank, s.d_inv, s.d_cash,
                    s.o_focus, s.o_arrests, s.o_invest_w, s.o_street, s.o_members,
                    s.cell_start, s.cell_list, s.d_cell, s.cell_arrests, 1, k, mult, 26.0, 156.0, 1.0, 0.0, 0.0,
                    np.zeros(2), 1.0, 5.0, np.zeros(s.ncell), np.zeros(2), counts, np.random.default_rng(r))
        by_org += s.o_arrests[:2]
        attempts += counts[kp.ARREST_ATTEMPTS]
    return by_org, attempts


def test_focus_takes_arrest_effort_from_the_others_in_the_cell():
    plain, att0 = _arrests_by_org(None)
    focused, att1 = _arrests_by_org(0)
    assert att0 == att1  # the same effort spent
    assert focused[0] > 1.5 * plain[0]  # the focused organisation draws more of it...
    assert focused[1] < 0.7 * plain[1]  # ...taken from the other organisation
    # the expected arrests (sum of hazards) stay about the same: nothing is added
    assert abs(focused.sum() - plain.sum()) < 0.25 * plain.sum()

"""Users know their dealers (issue 7 item 6): contacts, referrals, markets closed to strangers.

Each test can fail: a jailed dealer must leave every contact list; a known dealer must win over
a closer stranger (and the stranger must win when the user knows nobody); higher perceived risk
must mean fewer sales to strangers; the kernel must equal its ``py_func``. (That a search costs
the same whatever the density of dealers is measured by benchmarks/scaling.py's dense city.)
"""

import copy

import numpy as np
import pytest
from conftest import small

from marketsim import DrugMarketModel
from marketsim.kernels import market as km
from marketsim.kernels.grid import bucket_street_dealers
from marketsim.scenario import Users
from marketsim.state import allocate, allocate_workspace


def _mid_run(policy="aggressive_interdiction", weeks=12, *extra):
    """A model stopped just before its retail market (dealers bucketed, officers posted)."""
    m = DrugMarketModel(small(policy, *extra), seed=5)
    m.run(weeks)
    t = m.steps + 1
    m._begin_week(t)
    m._import_and_interdiction(t)
    m._allocate_enforcement(t)
    m._corruption(t)
    return m, t


def _open(m):
    s, po = m.state, m.params.organizations
    return km.stranger_openness(s.o_trade_num, s.o_trade_den, po.prior_a, po.prior_b, m.params.market.stranger_caution)


def _round(m, s, t, rng, py=False, o_open=None, users=None):
    users = users or m.params.users
    return km.run_market(s, allocate_workspace(s), t, users, _open(m) if o_open is None else o_open, rng, py=py)


@pytest.mark.parametrize("extra", [[], ["world.torus=true"], ["world.torus=true", "world.width=9", "world.height=9",
                                                              "world.district_size=9", "world.dealers=20",
                                                              "world.hotspots=1", "world.hotspot_spread=20"]])
def test_market_round_equals_its_py_func(extra):
    m, t = _mid_run("aggressive_interdiction", 12, *extra)
    out = []
    for py in (False, True):
        s = copy.deepcopy(m.state)
        rng = np.random.default_rng(7)
        res = _round(m, s, t, rng, py=py)
        out.append((res, s, rng.bit_generator.state))
    (r0, s0, g0), (r1, s1, g1) = out
    assert r0[0] > 0 and r0 == r1 and g0 == g1
    for name in ("u_contacts", "u_supplier", "u_bought", "d_inv", "d_cash", "d_sales", "d_stockout", "cell_sales",
                 "cell_unmet", "d_known_uid", "d_known_jail"):
        np.testing.assert_array_equal(getattr(s0, name), getattr(s1, name), err_msg=name)


def test_sales_add_up_and_contacts_are_street_dealers_in_reach():
    m, t = _mid_run()
    s = copy.deepcopy(m.state)
    inv0, cash0 = s.d_inv.copy(), s.d_cash.copy()
    sold, unmet, served, strangers, no_contact, approached, refused = _round(m, s, t, np.random.default_rng(1))
    assert sold == pytest.approx(s.d_sales.sum() - m.state.d_sales.sum(), rel=1e-12)
    assert sold == pytest.approx((inv0 - s.d_inv).sum(), rel=1e-12)
    assert sold == pytest.approx(s.u_bought.sum(), rel=1e-12)
    assert (s.d_cash - cash0).sum() == pytest.approx((s.d_price * (inv0 - s.d_inv)).sum(), rel=1e-9)
    assert 0 <= strangers <= sold and 0 <= no_contact <= s.u_cell.size
    known = s.u_contacts
    users, slots = np.nonzero(known >= 0)
    d = known[users, slots]
    assert d.size > 0
    assert (s.d_active[d] == 1).all() and (s.d_jail_until[d] <= t).all()
    r = m.params.users.search_radius
    dist = np.maximum(np.abs(s.u_cell[users] % s.width - s.d_cell[d] % s.width),
                      np.abs(s.u_cell[users] // s.width - s.d_cell[d] // s.width))
    assert (dist <= r).all()
    for u in range(s.u_cell.size):  # compacted, no duplicates, at most `contacts`
        row = known[u][known[u] >= 0]
        assert len(set(row.tolist())) == row.size
        assert (known[u][: row.size] >= 0).all()


def test_jailed_dealer_disappears_from_every_contact_list():
    m, t = _mid_run("none", 20)
    s = m.state
    counts = np.bincount(s.u_contacts[s.u_contacts >= 0], minlength=s.max_dealers)
    d = int(np.argmax(counts))
    assert counts[d] > 5  # a dealer many users know
    s = copy.deepcopy(m.state)
    s.d_jail_until[d] = t + 10  # arrested (after last week's market)
    bucket_street_dealers(s.d_active, s.d_jail_until, s.d_cell, t, s.ncell, s.cell_start, s.cell_list,
                          s.cell_dealers)
    _round(m, s, t, np.random.default_rng(3))
    assert not (s.u_contacts == d).any()
    # control: untouched, he keeps his clients
    s3 = copy.deepcopy(m.state)
    _round(m, s3, t, np.random.default_rng(3), users=Users(search_samples=0, explore_prob=0.0))
    assert (s3.u_contacts == d).sum() >= counts[d] // 2


def test_model_run_keeps_no_jailed_contacts():
    """Right after every week's market, every contact is a street dealer within reach (dealers
    jailed or gone later in the week are dropped at the next market)."""
    m = DrugMarketModel(small("aggressive_interdiction"), seed=2)
    market = m._retail_market
    checked = []

    def checked_market(t):
        market(t)
        s = m.state
        users, slots = np.nonzero(s.u_contacts >= 0)
        k = s.u_contacts[users, slots]
        assert (s.d_active[k] == 1).all() and (s.d_jail_until[k] <= t).all()
        assert (np.maximum(np.abs(s.u_cell[users] % s.width - s.d_cell[k] % s.width),
                           np.abs(s.u_cell[users] // s.width - s.d_cell[k] // s.width))
                <= m.params.users.search_radius).all()
        checked.append(k.size)

    m._retail_market = checked_market
    m.run(15)
    assert len(checked) == 15 and min(checked[3:]) > 0
    ts = m.timeseries()
    assert ts["users_without_contact"].between(0, 1).all() and ts["stranger_sales_share"].between(0, 1).all()
    assert ts["stranger_refusal_share"].dropna().between(0, 1).all()
    assert ts["users_without_contact"].iloc[-1] < 0.5


def _toy(contact: bool, samples=8):
    """One user at (4, 4); dealer 0 two blocks away, dealer 1 one block away, same price and stock."""
    s = allocate(9, 9, False, 1, 2, 2, 1)
    s.u_cell[0], s.u_demand[0], s.u_elast[0] = 4 * 9 + 4, 2.0, -0.5
    for d, (x, o) in enumerate(((6, 0), (5, 1))):
        s.d_active[d], s.d_uid[d], s.d_cell[d], s.d_org[d] = 1, 100 + d, 4 * 9 + x, o
        s.d_inv[d], s.d_price[d] = 50.0, 100.0
        s.d_known_uid[d] = s.d_uid[d]  # on the street since before the last round
    if contact:
        s.u_contacts[0, 0] = 0
    bucket_street_dealers(s.d_active, s.d_jail_until, s.d_cell, 1, s.ncell, s.cell_start, s.cell_list,
                          s.cell_dealers)
    return s


class _M:
    def __init__(self, users):
        self.params = type("P", (), {"users": users})()


def test_user_buys_from_its_contact_rather_than_a_closer_stranger():
    users = Users(search_samples=8)
    s = _toy(contact=True)
    _round(_M(users), s, 1, np.random.default_rng(0), o_open=np.ones(2))
    assert s.d_sales[0] > 0 and s.d_sales[1] == 0
    assert s.u_supplier[0] == 0
    # control: knowing nobody, the user finds both and buys from the closer one, who becomes a contact
    s = _toy(contact=False)
    _, _, _, strangers, _, _, _ = _round(_M(users), s, 1, np.random.default_rng(0), o_open=np.ones(2))
    assert s.d_sales[1] > 0 and s.d_sales[0] == 0 and strangers == s.d_sales[1]
    assert s.u_contacts[0, 0] == 1


def test_closed_market_refuses_strangers():
    users = Users(search_samples=8)
    s = _toy(contact=False)
    sold, unmet, served, strangers, no_contact, approached, refused = _round(
        _M(users), s, 1, np.random.default_rng(0), o_open=np.zeros(2))
    assert sold == 0 and served == 0 and unmet > 0 and no_contact == 1 and refused == approached > 0
    assert (s.u_contacts == -1).all()


def test_higher_perceived_risk_fewer_sales_to_strangers():
    m, t = _mid_run("none", 20)
    po = m.params.organizations
    shares = []
    for arrests in (0.0, 2.0, 8.0):  # discounted arrest events per 10 member-weeks
        s = copy.deepcopy(m.state)
        s.u_contacts[:] = -1  # nobody knows anybody yet: every sale starts with a stranger or nothing
        o_open = km.stranger_openness(np.full(s.max_orgs, arrests), np.full(s.max_orgs, 10.0), po.prior_a,
                                      po.prior_b, 10.0)
        sold, _, _, strangers, _, _, _ = _round(m, s, t, np.random.default_rng(4), o_open=o_open)
        shares.append(strangers)
    assert shares[0] > shares[1] > shares[2] > 0


def test_openness_falls_with_perceived_risk():
    o = km.stranger_openness(np.array([0.0, 1.0, 5.0]), np.array([50.0, 10.0, 10.0]), 1.0, 9.0, 10.0)
    assert 1 > o[0] > o[1] > o[2] > 0
    assert km.stranger_openness(np.array([5.0]), np.array([10.0]), 1.0, 9.0, 0.0)[0] == 1.0


def test_heavier_enforcement_closes_the_market_to_strangers():
    """Model level: under aggressive interdiction (more arrests, higher perceived risk) dealers refuse
    a larger share of the strangers who approach them than under no policy, on the same city and seed."""
    out = {}
    for policy in ("none", "aggressive_interdiction"):
        m = DrugMarketModel(small(policy, "enforcement.officers=40"), seed=3)
        m.run(30)
        ts = m.timeseries().iloc[10:]
        out[policy] = (ts["stranger_refusal_share"].mean(), ts["perceived_arrest_risk"].mean())
    assert out["aggressive_interdiction"][1] > out["none"][1]
    assert out["aggressive_interdiction"][0] > out["none"][0]

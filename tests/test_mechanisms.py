"""Mechanisms, each in a small controlled world: the behaviour must come from the agents' rules."""

import copy

import numpy as np
import pytest
from conftest import small

from marketsim import DrugMarketModel
from marketsim import organizations as orgs
from marketsim.kernels import corruption as kc
from marketsim.kernels import decisions as rules
from marketsim.kernels import violence as kv
from marketsim.kernels.grid import bucket_street_dealers
from marketsim.kernels.market import run_market
from marketsim.kernels.movement import move_dealers
from marketsim.scenario import Users
from marketsim.state import DEALER, LEADER, LIEUTENANT, allocate, allocate_workspace


def _two_gang_world(n_pairs=40, width=60, height=60):
    """Pairs of rival dealers (organisations 0 and 1) on adjacent cells, far apart from other pairs."""
    s = allocate(width, height, False, 1, 2 * n_pairs, 2, 1)
    s.o_active[:2] = 1
    s.o_ruth[:2] = 1.0
    s.o_revenue_avg[:2] = 5000.0
    s.o_members[:2] = n_pairs
    for i in range(n_pairs):
        c = (6 * (i // 10)) * width + 6 * (i % 10)
        for j, o in enumerate((0, 1)):
            d = 2 * i + j
            s.d_active[d] = 1
            s.d_cell[d] = c + j
            s.d_org[d] = o
            s.d_price[d] = 100.0
            s.d_sales_avg[d] = 30.0
            s.d_inv[d] = 10.0
    bucket_street_dealers(s.d_active, s.d_jail_until, s.d_cell, 0, s.ncell, s.cell_start, s.cell_list, s.cell_dealers)
    return s


def _attacks_by_org0(s, seed, horizon=8.0, attack_cost=1000.0, noise=1000.0, org=0, grievance_value=5000.0):
    s = copy.deepcopy(s)
    counts = np.zeros(kv.N_COUNTS)
    kv.violence(s.d_active, s.d_jail_until, s.d_cell, s.d_org, s.d_price, s.d_sales_avg, s.d_inv, s.d_cash,
                s.o_cash, s.o_ruth, s.o_revenue_avg, s.o_members, s.o_vtop_num, s.o_vtop_den, s.o_voth_num,
                s.o_voth_den, s.o_violence_own, s.o_active, s.o_violence, s.o_attributed, s.o_griev_org, s.o_griev,
                s.o_loss_num, s.o_loss_den,
                s.cell_start, s.cell_list, s.cell_incidents, s.cell_deaths, s.width, s.height, s.torus, 1,
                1, horizon, attack_cost, 4.0, 1 / 26, 26.0, 26.0, grievance_value, 0.1, noise, 0.3, 3, 0.7, 1.0, 9.0,
                np.zeros(s.o_active.size), counts, np.random.default_rng(seed),
                np.zeros(s.o_active.size, np.int64), np.zeros(s.o_active.size, np.int64),
                np.zeros(s.o_active.size, np.int64))
    return int(s.o_violence[org])


def test_expected_enforcement_response_deters_attacks():
    """Same world and draws; organisation 0 either expects violence to be answered or not."""
    base = _two_gang_world()
    expects = copy.deepcopy(base)
    # organisation 0 has seen violence answered 9 times out of 10, whatever its rank
    expects.o_vtop_num[0], expects.o_vtop_den[0] = 9.0, 10.0
    expects.o_voth_num[0], expects.o_voth_den[0] = 9.0, 10.0
    # organisation 0 has seen violence go unanswered
    base.o_vtop_den[0] = base.o_voth_den[0] = 50.0
    calm = sum(_attacks_by_org0(expects, seed) for seed in range(20))
    bold = sum(_attacks_by_org0(base, seed) for seed in range(20))
    assert bold > 50
    assert calm < 0.5 * bold


def test_response_risk_weighs_chance_of_leading():
    # an organisation far behind the most violent one fears the 'top' response less
    # learned: the most violent group was answered 9 times in 10, others never (prior Beta(1, 9))
    near = rules.violence_response_risk(rules.chance_to_lead(1.0, 1.0, 0.2), 9, 10, 0, 10, 1, 9)
    far = rules.violence_response_risk(rules.chance_to_lead(0.0, 3.0, 0.2), 9, 10, 0, 10, 1, 9)
    assert near == pytest.approx(10 / 20)
    assert far == pytest.approx(1 / 20, abs=1e-5)


def test_chance_to_lead_uses_only_what_the_group_observes():
    """Issue 7 item 4: a group judges how close it is to the top of the police's violence record
    from its own incidents and the attacks it suffered, never from the police's records."""
    import inspect

    names = inspect.signature(kv.violence.py_func).parameters
    assert "o_violence_attr" not in names and "o_violence_own" in names  # the kernel is not given police records
    quiet = np.zeros(4)
    # nobody has attacked it: one more attack could put it on top
    assert rules.observed_lead_chance(0.0, quiet, 0.1, 0.7) == 1.0
    # a rival that attacked it twice a week is far ahead of a group that has been quiet ...
    feud = np.array([20.0, 0.0, 0.0, 0.0])
    behind = rules.observed_lead_chance(0.0, feud, 0.1, 0.7)
    assert behind < 0.01
    # ... and less far ahead of one that has been as violent itself
    assert rules.observed_lead_chance(2.0, feud, 0.1, 0.7) > behind


def test_removed_leader_can_split_the_organisation():
    sc = small("none", "organizations.control_weeks=1000", "organizations.decision_noise=1",
               "organizations.split_min_members=5", "organizations.lieutenant_ratio=0.2",
               "organizations.lethality=0")  # the claimants' fights kill nobody here
    m = DrugMarketModel(sc, seed=4)
    s, t = m.state, 1
    o = int(np.argmax(np.where(s.o_active == 1, s.o_members, -1)))
    members = np.flatnonzero((s.d_active == 1) & (s.d_org == o))
    assert (s.d_rank[members] == LIEUTENANT).sum() >= 2
    before = int(s.o_active.sum())
    s.d_jail_until[s.o_leader[o]] = 100  # the leader is arrested
    life = orgs.LifeCycleCounts()
    orgs.succession(s, t, sc, np.random.default_rng(0), life)
    assert life.leader_removals == 1 and life.splits == 1
    assert s.o_active.sum() > before
    factions = np.flatnonzero((s.o_active == 1) & (s.o_parent == o))
    assert factions.size >= 1
    for f in [o, *factions]:  # each faction is led by a former lieutenant
        assert s.d_rank[s.o_leader[f]] == LEADER and s.d_org[s.o_leader[f]] == f


def test_removed_leader_without_split_is_succeeded():
    sc = small("none", "organizations.split_min_members=100000", "organizations.lieutenant_ratio=0.2")
    m = DrugMarketModel(sc, seed=4)
    s = m.state
    o = int(np.argmax(np.where(s.o_active == 1, s.o_members, -1)))
    old = s.o_leader[o]
    s.d_active[old] = 0  # the leader is killed
    before = int(s.o_active.sum())
    orgs.succession(s, 1, sc, np.random.default_rng(0), orgs.LifeCycleCounts())
    assert s.o_active.sum() == before
    assert s.o_leader[o] != old and s.d_rank[s.o_leader[o]] == LEADER


def _one_officer_world(integrity, trade_risk_events):
    s = allocate(10, 10, False, 1, 3, 1, 1)
    s.o_active[0] = 1
    s.o_cash[0] = 1e7
    s.o_ruth[0] = 1.0
    s.o_members[0] = 3
    s.o_revenue_avg[0] = 3 * 2000.0
    s.o_trade_num[0], s.o_trade_den[0] = trade_risk_events, 10.0
    for d in range(3):
        s.d_active[d], s.d_cell[d], s.d_org[d] = 1, 55, 0
    s.f_cell[0], s.f_integrity[0] = 55, integrity
    bucket_street_dealers(s.d_active, s.d_jail_until, s.d_cell, 0, s.ncell, s.cell_start, s.cell_list, s.cell_dealers)
    return s


def _bribe_round(s, wage=1000.0, detection=0.0, penalty=0.0, attack_cost=1e9, noise=1000.0, harm_weeks=520.0,
                 seed=0):
    counts = np.zeros(kc.N_COUNTS)
    kc.corruption(s.f_cell, s.f_out, s.f_integrity, s.f_corrupt_by, s.f_corrupt_gen, s.f_bribe, s.f_refused_by,
                  s.f_refused_until, 1, 26, 1, s.width, s.height, s.torus, s.d_org, s.o_active, s.o_gen, s.o_cash,
                  s.o_bribes, s.o_trade_num, s.o_trade_den, s.o_revenue_avg, s.o_members, s.o_ruth, s.o_violence,
                  s.o_attributed, s.o_police_attacks, s.o_pnum, s.o_pnum_den, s.o_loss_num, s.o_loss_den,
                  s.o_threat_att, s.o_threat_ref, s.cell_start, s.cell_list, s.cell_incidents, s.cell_deaths,
                  wage, detection, penalty, 26.0, 0.5, 0.1, 1.0, 9.0, attack_cost, noise, 1 / 26, 26.0,
                  harm_weeks, 0.2, 0.7, counts, np.random.default_rng(seed))
    return counts


def test_officer_accepts_bribe_only_when_it_beats_integrity():
    # offer = 0.5 * 3 members * risk * 26 weeks * 2000 $/member-week
    risk = rules.perceived_risk(4.0, 10.0, 1.0, 9.0)
    offer = 0.5 * 3 * risk * 26 * 2000.0
    honest = _one_officer_world(integrity=offer / 1000.0 * 1.05, trade_risk_events=4.0)
    c = _bribe_round(honest)
    assert honest.f_corrupt_by[0] == -1 and c[kc.REFUSED] == 1 and c[kc.BRIBES_PAID] == 0
    venal = _one_officer_world(integrity=offer / 1000.0 * 0.95, trade_risk_events=4.0)
    c = _bribe_round(venal)
    assert venal.f_corrupt_by[0] == 0 and c[kc.BRIBES_PAID] == pytest.approx(offer)
    assert venal.o_cash[0] == pytest.approx(1e7 - offer)
    assert rules.accepts_bribe(offer, offer / 1000.0 * 0.95, 1000.0, 0.0, 0.0)
    assert not rules.accepts_bribe(offer, offer / 1000.0 * 1.05, 1000.0, 0.0, 0.0)


def test_willingness_to_pay_rises_with_pressure():
    # the same officer refuses a calm organisation and accepts a pressed one
    calm = _one_officer_world(integrity=5.0, trade_risk_events=0.0)  # offer 3,900 < 5,000
    pressed = _one_officer_world(integrity=5.0, trade_risk_events=6.0)  # offer 27,300
    _bribe_round(calm)
    _bribe_round(pressed)
    assert calm.f_corrupt_by[0] == -1 and pressed.f_corrupt_by[0] == 0


def test_refusal_under_pressure_can_bring_violence_against_the_officer():
    s = _one_officer_world(integrity=1e6, trade_risk_events=6.0)
    s.o_ruth[0] = 1.0
    s.o_pnum_den[0] = 50.0  # it has seen attacks on police go unanswered
    c = _bribe_round(s, attack_cost=0.0)
    assert c[kc.REFUSED] == 1 and c[kc.ATTACKS_ON_POLICE] == 1 and s.o_violence[0] == 1


def _one_user_one_dealer(price):
    s = allocate(5, 5, False, 1, 1, 1, 1)
    s.u_cell[0], s.u_demand[0], s.u_elast[0] = 12, 2.0, -0.5
    s.d_active[0], s.d_cell[0], s.d_inv[0], s.d_price[0] = 1, 12, 100.0, price
    bucket_street_dealers(s.d_active, s.d_jail_until, s.d_cell, 0, s.ncell, s.cell_start, s.cell_list, s.cell_dealers)
    users = Users(search_radius=2, travel_cost=4.0, risk_cost=15.0, loyalty_discount=5.0, reference_price=100.0)
    run_market(s, allocate_workspace(s), 0, users, np.ones(1), np.random.default_rng(0))
    return float(s.u_bought[0])


def test_users_buy_less_at_higher_price():
    q = [_one_user_one_dealer(p) for p in (50.0, 100.0, 200.0, 400.0)]
    assert q[0] > q[1] > q[2] > q[3] > 0
    # constant elasticity -0.5: doubling the price cuts the quantity by 1 - 2**-0.5
    assert q[2] / q[1] == pytest.approx(2 ** -0.5, rel=1e-12)


def test_model_level_demand_falls_with_price():
    lo = DrugMarketModel(small("none", "users.reference_price=100", "supply.initial_retail_price=60"), seed=1)
    hi = DrugMarketModel(small("none", "users.reference_price=100", "supply.initial_retail_price=160"), seed=1)
    lo.step()
    hi.step()
    assert lo.timeseries().quantity_sold[0] > hi.timeseries().quantity_sold[0]


def test_dealers_move_away_from_heavy_policing():
    w = h = 30
    s = allocate(w, h, False, 1, 200, 1, 1)
    s.cell_pull[:] = 100.0
    rng = np.random.default_rng(3)
    s.d_active[:] = 1
    s.d_cell[:] = rng.integers(0, s.ncell, 200)
    policed = np.zeros((h, w), bool)
    policed[:, 12:18] = True  # a heavily policed band across the city
    s.cell_police[:] = np.where(policed.ravel(), 5, 0)
    west0 = int(policed.ravel()[s.d_cell].sum())
    bucket_street_dealers(s.d_active, s.d_jail_until, s.d_cell, 0, s.ncell, s.cell_start, s.cell_list, s.cell_dealers)
    for _ in range(10):
        move_dealers(s.d_active, s.d_jail_until, s.d_cell, s.d_moved, s.cell_pull, s.cell_dealers, s.cell_police, 0,
                     1.0, 3, 4, 0.08, 3.0, w, h, False, rng)
    west = int(policed.ravel()[s.d_cell].sum())
    assert west < 0.5 * west0
    # without police the same dealers do not leave the band
    s2 = allocate(w, h, False, 1, 200, 1, 1)
    s2.cell_pull[:] = 100.0
    s2.d_active[:] = 1
    rng = np.random.default_rng(3)
    s2.d_cell[:] = rng.integers(0, s2.ncell, 200)
    bucket_street_dealers(s2.d_active, s2.d_jail_until, s2.d_cell, 0, s2.ncell, s2.cell_start, s2.cell_list,
                          s2.cell_dealers)
    for _ in range(10):
        move_dealers(s2.d_active, s2.d_jail_until, s2.d_cell, s2.d_moved, s2.cell_pull, s2.cell_dealers,
                     s2.cell_police, 0, 1.0, 3, 4, 0.08, 3.0, w, h, False, rng)
    assert int(policed.ravel()[s2.d_cell].sum()) > 0.7 * west0


def test_policy_only_allocates():
    """The policy's output is an allocation; the model never reads its name in any process."""
    import inspect

    import marketsim.kernels.corruption
    import marketsim.kernels.market
    import marketsim.kernels.movement
    import marketsim.kernels.policing
    import marketsim.kernels.violence
    import marketsim.model
    import marketsim.organizations
    import marketsim.supply

    for mod in (marketsim.model, marketsim.organizations, marketsim.supply, marketsim.kernels.market,
                marketsim.kernels.policing, marketsim.kernels.violence, marketsim.kernels.corruption,
                marketsim.kernels.movement):
        src = inspect.getsource(mod)
        for name in ("aggressive_interdiction", "targeted_deterrence", "policy.name", ".policy =="):
            assert name not in src, f"{mod.__name__} mentions {name}"


def test_split_shares_add_up():
    sc = small("none", "organizations.control_weeks=1000", "organizations.decision_noise=1",
               "organizations.split_min_members=5", "organizations.lieutenant_ratio=0.3",
               "organizations.lethality=0")  # the fights of the split kill nobody: no cash changes hands
    m = DrugMarketModel(sc, seed=4)
    s = m.state
    o = int(np.argmax(np.where(s.o_active == 1, s.o_members, -1)))
    before = {k: float(getattr(s, k)[o]) for k in ("o_cash", "o_stock", "o_sales_avg", "o_revenue_avg")}
    s.d_jail_until[s.o_leader[o]] = 100
    orgs.succession(s, 1, sc, np.random.default_rng(0), orgs.LifeCycleCounts())
    family = [o, *np.flatnonzero((s.o_active == 1) & (s.o_parent == o))]
    assert len(family) >= 3  # split three ways: shares must add up, not shrink
    for k, v in before.items():
        assert sum(float(getattr(s, k)[f]) for f in family) == pytest.approx(v)


def test_small_organisation_forgets_a_departed_leader():
    """A two-member organisation whose leader is jailed, with nobody on the street, is leaderless
    (not counted as a kingpin removal); when its plain member is back, the crew, with no lieutenant,
    breaks up (``disband``), and the leader, released, finds it gone and sets up alone."""
    m = DrugMarketModel(small("none"), seed=4)
    s = m.state
    o = int(np.argmax(np.where(s.o_active == 1, s.o_members, -1)))
    members = np.flatnonzero((s.d_active == 1) & (s.d_org == o))
    leader = int(s.o_leader[o])
    other = int(members[members != leader][0])
    for d in members:
        if d not in (leader, other):
            s.d_active[d] = 0
    s.d_rank[other] = DEALER
    s.d_jail_until[leader] = 5
    s.d_jail_until[other] = 3
    orgs.count_members(s, 1)
    life = orgs.LifeCycleCounts()
    orgs.succession(s, 1, m.params, np.random.default_rng(0), life)
    assert s.o_leader[o] == -1 and life.leader_removals == 0 and s.o_active[o] == 1  # waits
    orgs.succession(s, 3, m.params, np.random.default_rng(0), life)  # the other member is back: no lieutenant
    assert s.o_active[o] == 0 and life.disbanded == 1 and life.org_exits == 1
    assert s.d_active[other] == 1 and s.d_org[other] != o
    entrants = life.entrants
    orgs.release_prisoners(s, 5, m.params, np.random.default_rng(0), life)
    assert life.entrants == entrants + 1 and s.d_rank[leader] == LEADER and s.o_leader[s.d_org[leader]] == leader


def test_crew_without_lieutenant_breaks_up_when_its_leader_is_gone():
    """Leader killed, no lieutenant on the street: the organisation is dissolved; members whose corner
    another organisation holds join it as plain dealers, the others go on alone with their own cash as
    working capital; everyone keeps their stock; the crew's stock and cash leave with it (Reuter 1983)."""
    m = DrugMarketModel(small("none"), seed=4)
    s = m.state
    o = int(np.argmax(np.where(s.o_active == 1, s.o_members, -1)))
    other_org = int(np.flatnonzero((s.o_active == 1) & (np.arange(s.o_active.size) != o))[0])
    members = np.flatnonzero((s.d_active == 1) & (s.d_org == o))
    leader = int(s.o_leader[o])
    street = members[members != leader]
    assert street.size >= 4
    s.d_rank[street] = DEALER  # nobody in middle management
    s.d_active[leader] = 0  # the leader is killed
    s.cell_control[:] = -1
    s.cell_control[s.d_cell[street[:2]]] = other_org  # two members stand on the other's corners
    s.cell_control[s.d_cell[street[2:]]] = o
    joined = [int(d) for d in street if s.cell_control[s.d_cell[d]] == other_org]
    alone = [int(d) for d in street if s.cell_control[s.d_cell[d]] != other_org]
    inv = {int(d): float(s.d_inv[d]) for d in street}
    cash = {int(d): float(s.d_cash[d]) for d in street}
    s.o_stock[o], s.o_cash[o] = 123.0, 4567.0
    money_before = float(s.o_cash[s.o_active == 1].sum() + s.d_cash[s.d_active == 1].sum())
    orgs.count_members(s, 1)
    life = orgs.LifeCycleCounts()
    orgs.succession(s, 1, m.params, np.random.default_rng(0), life)
    assert s.o_active[o] == 0 and s.o_stock[o] == 0 and s.o_cash[o] == 0
    assert life.disbanded == 1 and life.disbanded_joined == len(joined) and life.disbanded_alone == len(alone)
    assert life.exit_stock == 123.0 and life.exit_cash == 4567.0
    for d in joined:
        assert s.d_org[d] == other_org and s.d_rank[d] == DEALER and s.d_org_gen[d] == s.o_gen[other_org]
    for d in alone:
        n = int(s.d_org[d])
        assert n != o and s.o_active[n] == 1 and s.o_leader[n] == d and s.d_rank[d] == LEADER
        assert s.o_cash[n] == cash[d] and s.d_cash[d] == 0.0
    assert all(s.d_inv[d] == inv[d] for d in street)
    money_after = float(s.o_cash[s.o_active == 1].sum() + s.d_cash[s.d_active == 1].sum())
    assert money_after == pytest.approx(money_before - 4567.0)


def test_prisoner_of_a_broken_up_crew_belongs_to_no_one_until_released():
    """A member in prison when his crew broke up is not counted in the organisation that later takes
    the crew's slot (slots are reused; membership needs the same generation), and sets up alone
    when released."""
    m = DrugMarketModel(small("none"), seed=4)
    s = m.state
    o = int(np.argmax(np.where(s.o_active == 1, s.o_members, -1)))
    members = np.flatnonzero((s.d_active == 1) & (s.d_org == o))
    leader = int(s.o_leader[o])
    street = members[members != leader]
    s.d_rank[street] = DEALER
    inside = int(street[0])
    s.d_jail_until[inside] = 10  # in prison until week 10
    s.d_active[leader] = 0
    orgs.count_members(s, 1)
    orgs.succession(s, 1, m.params, np.random.default_rng(0), orgs.LifeCycleCounts())
    assert s.o_active[o] == 0
    n = orgs.new_org(s, 2, 0.0, 1.0)  # the lowest free slot: the crew's
    assert n == o
    orgs.count_members(s, 2)
    assert s.o_members[o] == 0 and s.o_street[o] == 0
    # the newcomer in the crew's slot is absorbed by the largest organisation: its own leader
    # goes over, the old crew's prisoner does not
    big = int(np.argmax(np.where(s.o_active == 1, s.o_members, -1)))
    L = orgs.new_dealer(s, int(s.d_cell[street[1]]), o, LEADER, 80.0, 100.0)
    s.o_leader[o] = L
    orgs.count_members(s, 2)
    s.cell_control[:] = big
    import marketsim.organizations as mod

    real = mod._logistic
    mod._logistic = lambda v, noise: 1.0  # the leader always takes the outside option
    try:
        orgs.consolidate(s, 2, m.params, np.random.default_rng(2), orgs.LifeCycleCounts())
    finally:
        mod._logistic = real
    assert s.o_active[o] == 0 and s.d_org[L] == big
    assert s.d_org[inside] == o and s.d_org_gen[inside] != s.o_gen[o]
    gen_before = int(s.o_gen[o])
    orgs.release_prisoners(s, 10, m.params, np.random.default_rng(1), orgs.LifeCycleCounts())
    n = int(s.d_org[inside])  # alone, in a new organisation (which may take the same free slot again)
    assert s.o_leader[n] == inside and s.d_org_gen[inside] == s.o_gen[n] and (n != o or s.o_gen[n] > gen_before)
    orgs.count_members(s, 10)
    assert s.o_members[s.d_org[inside]] == 1


def test_officer_posted_away_stays_on_the_payroll():
    """corrupted_officer_share counts every officer on a payroll, wherever posted: the payer keeps
    the officer (a retainer) while it can pay."""
    s = _one_officer_world(integrity=0.1, trade_risk_events=4.0)
    _bribe_round(s)
    assert s.f_corrupt_by[0] == 0
    s.f_cell[0] = 0  # posted far from the payer's dealers
    c = _bribe_round(s)
    assert s.f_corrupt_by[0] == 0 and c[kc.BRIBES_PAID] > 0
    s.o_cash[0] = 0.0  # the payer can no longer pay
    _bribe_round(s)
    assert s.f_corrupt_by[0] == -1

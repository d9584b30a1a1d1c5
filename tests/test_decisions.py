"""Violence and corruption as decisions (issue 7 items 2-4), each in a controlled world that can fail."""

import copy

import numpy as np
import pytest
from test_mechanisms import _attacks_by_org0, _bribe_round, _one_officer_world, _two_gang_world

from marketsim import organizations as orgs
from marketsim.kernels import books
from marketsim.kernels import corruption as kc
from marketsim.kernels import decisions as rules


def test_attacked_group_retaliates_more_than_an_unattacked_one():
    base = _two_gang_world()
    aggrieved = copy.deepcopy(base)
    rules.add_grievance(aggrieved.o_griev_org, aggrieved.o_griev, 1, 0, 2.0)  # org 0 attacked org 1 twice
    calm = sum(_attacks_by_org0(base, seed, org=1) for seed in range(20))
    angry = sum(_attacks_by_org0(aggrieved, seed, org=1) for seed in range(20))
    assert angry > 1.5 * calm + 20
    # and the grudge fades
    g = aggrieved.o_griev.copy()
    rules.decay_grievances(aggrieved.o_griev_org, aggrieved.o_griev, 0.9)
    assert rules.grievance_of(aggrieved.o_griev_org, aggrieved.o_griev, 1, 0) == pytest.approx(0.9 * g.max())


def test_violence_leaves_a_grievance_with_the_victim():
    from marketsim.kernels import violence as kv

    s = _two_gang_world()

    counts = np.zeros(kv.N_COUNTS)
    kv.violence(s.d_active, s.d_jail_until, s.d_cell, s.d_org, s.d_price, s.d_sales_avg, s.d_inv, s.d_cash,
                s.o_cash, s.o_ruth * 5, s.o_revenue_avg, s.o_members, s.o_vtop_num, s.o_vtop_den, s.o_voth_num,
                s.o_voth_den, s.o_violence_own, s.o_active, s.o_violence, s.o_attributed, s.o_griev_org, s.o_griev,
                s.o_loss_num, s.o_loss_den, s.cell_start, s.cell_list, s.cell_incidents, s.cell_deaths, s.width,
                s.height, s.torus, 1, 1, 8.0, 1000.0, 4.0, 1 / 26, 26.0, 26.0, 5000.0, 0.1, 1000.0, 0.3, 3, 0.7, 1.0,
                9.0, np.zeros(s.o_active.size), counts, np.random.default_rng(0),
                np.zeros(s.o_active.size, np.int64), np.zeros(s.o_active.size, np.int64),
                np.zeros(s.o_active.size, np.int64))
    assert s.o_violence[0] > 0 and s.o_violence[1] > 0
    assert rules.grievance_of(s.o_griev_org, s.o_griev, 1, 0) == pytest.approx(s.o_violence[0])
    assert rules.grievance_of(s.o_griev_org, s.o_griev, 0, 1) == pytest.approx(s.o_violence[1])


def _police_attacks(answered: bool, reps=40):
    n = 0
    for r in range(reps):
        s = _one_officer_world(integrity=1e6, trade_risk_events=6.0)  # refuses any bribe
        if answered:  # it has seen 9 of 10 attacks on officers answered by a concentrated response
            s.o_pnum[0], s.o_pnum_den[0] = 9.0, 10.0
        else:
            s.o_pnum[0], s.o_pnum_den[0] = 0.0, 10.0
        c = _bribe_round(s, attack_cost=2000.0, noise=20000.0, seed=r)
        n += int(c[kc.ATTACKS_ON_POLICE])
    return n


def test_attacks_on_officers_fall_when_earlier_attacks_were_answered():
    bold, deterred = _police_attacks(False), _police_attacks(True)
    assert bold > 10
    assert deterred < 0.5 * bold


def test_officer_under_threat_accepts_a_smaller_bribe():
    # reservation: integrity 5 wages = 5,000; the offer is 3,900 (see test_mechanisms)
    calm = _one_officer_world(integrity=5.0, trade_risk_events=0.0)
    feared = _one_officer_world(integrity=5.0, trade_risk_events=0.0)
    feared.o_threat_att[0], feared.o_threat_ref[0] = 1.0, 10.0  # it attacked 1 of its 10 recent refusers
    _bribe_round(calm)
    _bribe_round(feared)
    assert calm.f_corrupt_by[0] == -1 and feared.f_corrupt_by[0] == 0
    # the rule itself: the threat lowers the smallest bribe accepted
    assert not rules.accepts_bribe_under_threat(3900.0, 0.0, 5.0, 1000.0, 0.0, 0.0, 0.2, 520.0)
    assert rules.accepts_bribe_under_threat(3900.0, 0.05, 5.0, 1000.0, 0.0, 0.0, 0.2, 520.0)


def test_lieutenant_contests_only_when_control_is_worth_it():
    args = dict(rivals=1, own_stake=10_000.0, lethality=0.35, attack_cost=5000.0, response_risk=0.1,
                response_loss=200_000.0, ruthlessness=1.0)
    assert orgs.contest_value(1e6, 0.5, **args) > 0  # a rich organisation: worth fighting for
    assert orgs.contest_value(1e4, 0.5, **args) < 0  # a poor one: accept the other claimant
    # the first claimant faces nobody: claiming costs nothing
    assert orgs.contest_value(1e4, 1.0, 0, 1e4, 0.35, 5000.0, 0.1, 2e5, 1.0) == pytest.approx(1e4)


def test_deterrent_scales_with_who_bears_it():
    """The expected sanction is the members' losses: a crew of 5 and an organisation of 50 with the
    same learned per-member sanction face 5 and 50 members' losses, in proportion to who bears
    them, not weeks of the organisation's whole revenue; and what they learn moves it."""
    per_member_value = 26 * 2000.0
    crew = rules.response_loss(5, 0.0, 0.0, 1 / 26, 10.0, 26.0, per_member_value)
    org = rules.response_loss(50, 0.0, 0.0, 1 / 26, 10.0, 26.0, per_member_value)
    assert crew / 5 == pytest.approx(org / 50) == pytest.approx(per_member_value)
    # an organisation that saw responses arrest a third of the members each week fears more
    seen = rules.response_loss(5, 10.0, 30.0, 1 / 26, 10.0, 26.0, per_member_value)
    assert seen > 5 * crew
    # a crew of 5 and an organisation of 50 whose stakes per member are equal (one corner per
    # member at stake) are deterred alike: same sign of the attack value per member
    for members, rival_revenue in ((5, 5 * 3000.0), (50, 50 * 3000.0)):
        loss = rules.response_loss(members, 0.0, 0.0, 1 / 26, 10.0, 26.0, per_member_value)
        v = rules.attack_value(rival_revenue, 3000.0, 0.5, 0.5, loss, 0.0, 0.0, 1.0, 8.0, 0.0, 0.0)
        assert v / members == pytest.approx(0.5 * 8 * 3000.0 - 0.5 * per_member_value)


def _learn(s, announced=-1, top=-1, acted=True):
    books.learn(s.o_active, top, 0.9, 0.3, 0.5, s.o_arrests, s.o_street, s.o_trade_num, s.o_trade_den,
                s.o_exposure, s.o_exposure_base, s.o_vtop_num, s.o_vtop_den, s.o_voth_num, s.o_voth_den,
                s.o_violence_attr, s.o_attributed, s.o_sales_avg, s.o_sales, s.o_revenue_avg, s.o_revenue,
                announced, s.o_violence_prev, s.o_police_prev, s.o_pnum, s.o_pnum_den, s.o_loss_num, s.o_loss_den,
                s.o_threat_att, s.o_threat_ref, acted)


def test_beliefs_do_not_move_when_an_unobservable_rival_is_punished():
    from marketsim.state import allocate

    s = allocate(10, 10, False, 1, 10, 2, 1)
    s.o_active[:2] = 1
    s.o_street[:2] = 5
    s.o_exposure_base[:2] = 1.0
    # organisation 1 was violent last week and is now under a surge of police attention, arrests
    s.o_violence_prev[1] = 3
    s.o_exposure[1] = 5.0
    s.o_exposure[0] = 1.0
    s.o_arrests[1] = 3
    _learn(s)
    assert s.o_vtop_num[0] == s.o_voth_num[0] == s.o_vtop_den[0] == s.o_voth_den[0] == 0.0
    assert s.o_loss_num[0] == s.o_loss_den[0] == 0.0
    assert s.o_voth_num[1] == 1.0 and s.o_loss_num[1] == 3.0  # the punished one learns
    # named publicly and acted on, the same case is seen by the rival
    _learn(s, announced=1)
    assert s.o_voth_num[0] == 1.0 and s.o_loss_num[0] == 3.0


def test_a_named_target_not_followed_up_counts_as_unanswered():
    from marketsim.state import allocate

    s = allocate(10, 10, False, 1, 10, 2, 1)
    s.o_active[:2] = 1
    s.o_street[:2] = 5
    s.o_exposure_base[:2] = 1.0
    s.o_exposure[:2] = 1.0  # no surge of police attention anywhere
    s.o_arrests[1] = 3
    _learn(s, announced=1, acted=False)
    # the rival saw a named group left alone: a case, not answered; no response loss learned
    assert s.o_voth_den[0] == 1.0 and s.o_voth_num[0] == 0.0
    assert s.o_loss_num[0] == 0.0 and s.o_loss_den[0] == 0.0
    _learn(s, announced=1, acted=True)
    assert s.o_voth_num[0] == 1.0 and s.o_voth_den[0] == pytest.approx(1.9)


def test_the_agency_sees_estimates_not_the_true_state():
    from conftest import small

    from marketsim import DrugMarketModel

    m = DrugMarketModel(small("targeted_deterrence", "world.burn_in=4"), seed=3)
    m.run(3)
    s, t = m.state, m.week + 1
    obs = m.observe(t)
    act = s.o_active == 1
    assert not np.allclose(obs.org_sales[act], s.o_sales_avg[act])  # intelligence with error
    ratio = obs.org_sales[act & (s.o_sales_avg > 0)] / s.o_sales_avg[act & (s.o_sales_avg > 0)]
    assert np.all((ratio > 0.05) & (ratio < 20))
    # dealers' cells are known only where officers saw them
    street = np.flatnonzero((s.d_active == 1) & (s.d_jail_until <= t))
    known = sum(len(obs.org_cells[o]) for o in range(len(obs.org_cells)))
    assert 0 < known < street.size
    assert set(np.concatenate([obs.org_cells[o] for o in range(s.max_orgs)]).tolist()) <= \
        set(s.d_seen_cell[street].tolist())

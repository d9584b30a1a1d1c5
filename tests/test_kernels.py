"""Every numba kernel against its own pure-Python version (``kernel.py_func``).

Both run on copies of the same mid-run state with generators in the same state;
every output array and return value must be identical, and the generators must
end in the same state (the same number of draws)."""

import copy

import numpy as np
import pytest
from conftest import small

from marketsim import DrugMarketModel
from marketsim.kernels import corruption as kc
from marketsim.kernels import grid as kg
from marketsim.kernels import policing as kp
from marketsim.kernels import violence as kv
from marketsim.kernels.market import update_prices
from marketsim.kernels.movement import move_dealers


@pytest.fixture(scope="module")
def world():
    """A model stopped mid-run, bucketed and with officers posted, as at the start of process 3."""
    m = DrugMarketModel(small("targeted_deterrence"), seed=21)
    m.run(12)
    t = m.steps + 1
    m._begin_week(t)
    m._import_and_interdiction(t)
    m._allocate_enforcement(t)
    return m, t


def _both(kernel, make_args, seed=123):
    """Run the compiled kernel and its py_func on identical inputs; return both (result, args, rng)."""
    out = []
    for fn in (kernel, kernel.py_func):
        rng = np.random.default_rng(seed)
        args = make_args(rng)
        res = fn(*args)
        out.append((res, args, rng))
    return out


def _assert_same(pair):
    (r1, a1, g1), (r2, a2, g2) = pair
    if isinstance(r1, np.ndarray):
        np.testing.assert_array_equal(r1, r2)
    else:
        assert r1 == r2
    for x, y in zip(a1, a2):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
    if g1 is not None:
        assert g1.bit_generator.state == g2.bit_generator.state


def test_grid_helpers(world):
    m, t = world
    s = copy.deepcopy(m.state)
    for torus in (False, True):
        pair = _both(kg.random_cell_near, lambda rng, torus=torus: (123, 3, s.width, s.height, torus, rng))
        _assert_same(pair)
    _assert_same(_both(kg.shuffled, lambda rng: (57, rng)))
    assert sorted(kg.shuffled(57, np.random.default_rng(0))) == list(range(57))
    assert kg.chebyshev(0, s.width - 1, s.width, s.height, True) == 1
    assert kg.chebyshev(0, s.width - 1, s.width, s.height, False) == s.width - 1


def test_bucket_and_coverage(world):
    m, t = world

    def args_bucket(rng):
        s = copy.deepcopy(m.state)
        return (s.d_active, s.d_jail_until, s.d_cell, t, s.ncell, s.cell_start, s.cell_list, s.cell_dealers)

    pair = _both(kg.bucket_street_dealers, args_bucket)
    _assert_same([(r, a, None) for r, a, _ in pair])
    n, args, _ = pair[0]
    d_active, jail, d_cell, _, ncell, start, lst, counts = args
    street = np.flatnonzero((d_active == 1) & (jail <= t))
    assert n == street.size and counts.sum() == n
    assert sorted(lst[:n]) == sorted(street)
    assert all(d_cell[lst[k]] == c for c in range(ncell) for k in range(start[c], start[c + 1]))

    def args_cov(rng):
        s = copy.deepcopy(m.state)
        return (s.f_cell, s.f_out, 1, s.width, s.height, s.torus, s.cell_police)

    pair = _both(kg.officer_coverage, args_cov)
    _assert_same([(r, a, None) for r, a, _ in pair])
    on_duty = int((m.state.f_out == 0).sum())
    assert 0 < pair[0][1][-1].sum() <= 9 * on_duty


# the retail market against its py_func: tests/test_contacts.py


def test_update_prices(world):
    m, t = world
    sp, e = m.params.supply, m.params.enforcement

    def make(rng):
        s = copy.deepcopy(m.state)
        s.d_stockout[::3] = 1
        return (s.d_active, s.d_jail_until, t, s.d_cell, s.d_org, s.d_price, s.d_sales, s.d_sales_avg, s.d_inv,
                s.d_stockout, np.full(s.max_orgs, sp.transfer_price), s.cell_police, s.cell_dealers,
                sp.risk_premium, e.arrest_k, sp.price_adjustment, 0.3)

    pair = _both(update_prices, make)
    _assert_same([(r, a, None) for r, a, _ in pair])
    before, after = m.state.d_price, pair[0][1][5]
    assert not np.array_equal(before, after)


def test_policing(world):
    m, t = world
    e = m.params.enforcement

    def make(rng):
        s = copy.deepcopy(m.state)
        s.o_invest_w[:] = s.o_active / s.o_active.sum()
        s.f_corrupt_by[::4] = s.d_org[s.cell_list[0]]  # some officers on a payroll
        return (s.f_cell, s.f_out, s.f_corrupt_by, s.f_arrests, 2, s.width, s.height, s.torus,
                s.d_active, s.d_jail_until, s.d_org, s.d_rank, s.d_inv, s.d_cash,
                s.o_focus, s.o_arrests, s.o_invest_w, s.o_street, s.o_members,
                s.cell_start, s.cell_list, s.d_cell, s.cell_arrests,
                t, 1.5, e.focus_multiplier, e.sentence_weeks, e.leader_sentence_weeks, e.cash_seizure_share,
                e.investigation_k, e.investigators, np.bincount(s.f_corrupt_by[s.f_corrupt_by >= 0],
                                                                minlength=s.max_orgs).astype(float),
                float(s.f_out.size), 5.0, np.zeros(s.ncell), np.zeros(s.max_orgs), np.zeros(kp.N_COUNTS), rng)

    pair = _both(kp.policing, make)
    _assert_same(pair)
    assert pair[0][1][-2][kp.ARRESTS] > 0  # strong enforcement made arrests


def test_corruption(world):
    m, t = world
    e, po = m.params.enforcement, m.params.organizations

    def make(rng):
        s = copy.deepcopy(m.state)
        s.o_trade_num[:] = 5.0  # pressed organisations: bribes, refusals, plomo
        s.f_corrupt_by[:3] = s.d_org[s.cell_list[0]]
        s.f_corrupt_gen[:3] = s.o_gen[s.d_org[s.cell_list[0]]]
        s.f_bribe[:3] = 100.0
        return (s.f_cell, s.f_out, s.f_integrity, s.f_corrupt_by, s.f_corrupt_gen, s.f_bribe, s.f_refused_by,
                s.f_refused_until, t, po.refusal_memory, 3, s.width, s.height, s.torus,
                s.d_org, s.o_active, s.o_gen, s.o_cash, s.o_bribes, s.o_trade_num, s.o_trade_den, s.o_revenue_avg,
                s.o_members, s.o_ruth * 20.0, s.o_violence, s.o_attributed, s.o_police_attacks, s.o_pnum, s.o_pnum_den,
                s.o_loss_num, s.o_loss_den, s.o_threat_att + 1.0, s.o_threat_ref,
                s.cell_start, s.cell_list, s.cell_incidents, s.cell_deaths,
                e.officer_wage, 0.2, e.penalty_weeks, e.sentence_weeks, po.bribe_share, po.bribe_cash_share,
                po.prior_a, po.prior_b, 0.0, po.decision_noise, 1 / 26, po.response_weeks,
                po.officer_harm_weeks, po.police_lethality, e.attribution_rate,
                np.zeros(kc.N_COUNTS), rng)

    pair = _both(kc.corruption, make)
    _assert_same(pair)
    counts = pair[0][1][-2]
    assert counts[kc.BRIBES_PAID] > 0 or counts[kc.REFUSED] > 0


def test_violence(world):
    m, t = world
    e, po = m.params.enforcement, m.params.organizations

    def make(rng):
        s = copy.deepcopy(m.state)
        return (s.d_active, s.d_jail_until, s.d_cell, s.d_org, s.d_price, s.d_sales_avg, s.d_inv, s.d_cash,
                s.o_cash, s.o_ruth * 5.0, s.o_revenue_avg, s.o_members, s.o_vtop_num, s.o_vtop_den, s.o_voth_num,
                s.o_voth_den, s.o_violence_own, s.o_active, s.o_violence, s.o_attributed, s.o_griev_org, s.o_griev,
                s.o_loss_num, s.o_loss_den,
                s.cell_start, s.cell_list, s.cell_incidents, s.cell_deaths, s.width, s.height, s.torus, t,
                2, 20.0, 0.0, po.retaliation_weeks, 1 / 26, po.response_weeks, e.sentence_weeks, po.grievance_value,
                1.0 - po.grievance_decay, po.decision_noise,
                po.lethality, 3, e.attribution_rate, po.prior_a, po.prior_b, np.zeros(s.o_active.size),
                np.zeros(kv.N_COUNTS), rng, np.zeros(s.o_active.size, np.int64), np.zeros(s.o_active.size, np.int64),
                np.zeros(s.o_active.size, np.int64))

    pair = _both(kv.violence, make)
    _assert_same(pair)
    counts, suffered = pair[0][1][-5], pair[0][1][-3]
    assert counts[kv.INCIDENTS] > 0  # cheap, lucrative attacks happened
    assert suffered.sum() == counts[kv.INCIDENTS]  # every incident has a victim organisation


def test_movement(world):
    m, t = world
    mk, e = m.params.market, m.params.enforcement

    def make(rng):
        s = copy.deepcopy(m.state)
        return (s.d_active, s.d_jail_until, s.d_cell, s.d_moved, s.cell_pull, s.cell_dealers, s.cell_police, t,
                0.8, mk.move_radius, 4, e.arrest_k, mk.police_aversion, s.width, s.height, s.torus, rng)

    pair = _both(move_dealers, make)
    _assert_same(pair)
    assert pair[0][0] > 0


def test_version2_helpers_equal_their_py_func(world):
    """The kernels added in model version 2 (one budget, grievances, exposure under focus)."""
    from marketsim.kernels import books
    from marketsim.kernels import decisions as rules

    m, t = world
    e = m.params.enforcement

    def focus_state():
        s = copy.deepcopy(m.state)
        s.o_focus[: 3] = [1.0, 0.5, 0.0]
        return s

    def cfw(rng):
        s = focus_state()
        return (s.cell_start, s.cell_list, s.d_active, s.d_jail_until, s.d_org, s.o_focus, 3.0, t, np.zeros(s.ncell))

    pair = _both(kp.cell_focus_weight, cfw)
    _assert_same([(r, a, None) for r, a, _ in pair])
    cell_w = pair[0][1][-1]
    assert cell_w.sum() > 0

    def expo(rng):
        s = focus_state()
        return (s.d_active, s.d_jail_until, s.d_org, s.d_cell, t, s.cell_police, s.cell_dealers, cell_w.copy(),
                s.o_focus, 3.0, s.o_street, np.zeros(s.max_orgs), np.zeros(s.max_orgs))

    _assert_same([(r, a, None) for r, a, _ in _both(books.exposure, expo)])

    def split(rng):
        s = copy.deepcopy(m.state)
        leads = np.zeros(s.max_orgs)
        leads[:4] = [3, 0, 1, 0]
        w = np.zeros(s.max_orgs)
        w[1] = 1.0  # the policy's choice has no lead: its time follows the leads
        return (w, leads, np.zeros(s.max_orgs))

    pair = _both(kp.investigation_split, split)
    _assert_same([(r, a, None) for r, a, _ in pair])
    o_split = pair[0][1][-1]
    assert pair[0][0] == 1.0 and o_split.sum() == pytest.approx(1.0) and o_split[1] == 0.0
    assert o_split[0] == pytest.approx(0.75)

    def leads(rng):
        s = copy.deepcopy(m.state)
        return (np.zeros_like(s.o_arrests), s.o_members, s.o_street, np.zeros(s.max_orgs))

    _assert_same([(r, a, None) for r, a, _ in _both(kp.investigation_leads, leads)])

    def griev(rng):
        s = copy.deepcopy(m.state)
        for o, r, x in [(0, 1, 2.0), (0, 2, 0.06), (1, 0, 1.0), (0, 3, 1.0), (0, 4, 1.0), (0, 5, 3.0)]:
            rules.add_grievance.py_func(s.o_griev_org, s.o_griev, o, r, x)
        return (s.o_griev_org, s.o_griev, 0.9)

    pair = _both(rules.decay_grievances, griev)
    _assert_same([(r, a, None) for r, a, _ in pair])
    g_org = pair[0][1][0]
    assert 2 not in g_org[0] and 5 in g_org[0]  # the weakest grudge (0.06) made room for a stronger one
    assert e.tipoff_team > 0


@pytest.mark.parametrize("n", [0, 1, 2, 3, 16, 17, 18, 1000])
def test_shuffle_draws_ahead_as_fisher_yates(n):
    """shuffle_into draws its swaps ahead (to prefetch them): the permutation and the draws must be
    those of the textbook Fisher-Yates with rng.integers(0, i + 1) just before each swap."""
    order = np.empty(n, np.int32)
    rng = np.random.default_rng(5)
    kg.shuffle_into(order, n, rng)
    ref_rng = np.random.default_rng(5)
    ref = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = ref_rng.integers(0, i + 1)
        ref[i], ref[j] = ref[j], ref[i]
    np.testing.assert_array_equal(order, ref)
    assert rng.bit_generator.state == ref_rng.bit_generator.state


def test_district_sums_equal_bincount():
    from marketsim.kernels.measure import district_sums

    r = np.random.default_rng(0)
    n, nd = 5000, 37
    cd = r.integers(0, nd, n).astype(np.int32)
    a = ((r.random(n) < 0.1) * r.integers(1, 5, n)).astype(np.int32)
    b = ((r.random(n) < 0.1) * r.integers(1, 3, n)).astype(np.int32)
    c = (r.random(n) < 0.05).astype(np.int32)
    out = np.full((nd, 3), np.nan)
    district_sums(cd, a, b, c, out)
    for col, w in enumerate((a, b, c)):
        np.testing.assert_array_equal(out[:, col], np.bincount(cd, weights=w, minlength=nd))


def test_prefetch_changes_nothing():
    """The prefetch hints do nothing in plain Python and leave a compiled kernel's result as is."""
    from numba import njit

    from marketsim.kernels.prefetch import prefetch_row, prefetch_row_w

    a = np.arange(24.0).reshape(6, 4)
    assert prefetch_row(a, 3) is None and prefetch_row_w(a[:, 0].copy(), 2) is None

    @njit
    def total(a, v):
        s = 0.0
        for i in range(a.shape[0]):
            prefetch_row(a, (i + 2) % a.shape[0])
            prefetch_row_w(v, (i + 1) % v.shape[0])
            s += a[i, 1]
        return s

    assert total(a, np.zeros(6)) == a[:, 1].sum()


@pytest.mark.parametrize("torus", [False, True])
def test_consolidation_candidates_equal_the_window_count(torus):
    """The neighbour a leader sees: the organisation holding most corners within the radius (not
    itself; ties: the lowest slot), as the bincount/argmax over the window it replaced."""
    from marketsim.kernels.books import consolidation_candidates

    r = np.random.default_rng(2)
    W, H, R, n_org, n_d = 9, 7, 2, 6, 30
    cell_control = r.integers(-1, n_org, W * H)
    d_cell = r.integers(0, W * H, n_d)
    d_org = r.integers(0, n_org, n_d)
    d_active = (r.random(n_d) < 0.9).astype(np.int8)
    d_jail = np.where(r.random(n_d) < 0.2, 10, 0)
    o_leader = np.array([int(np.flatnonzero(d_org == o)[0]) if (d_org == o).any() else -1 for o in range(n_org)])
    cand = np.arange(n_org)
    out = np.empty(n_org, np.int64)
    consolidation_candidates(cand, o_leader, d_active, d_org, d_jail, d_cell, cell_control, W, H, torus, R, 1, out)
    offs = np.arange(-R, R + 1)
    for o in cand:
        L = o_leader[o]
        if L < 0 or d_active[L] == 0 or d_jail[L] > 1:
            assert out[o] == -1
            continue
        x0, y0 = d_cell[L] % W, d_cell[L] // W
        xs, ys = x0 + offs, y0 + offs
        if torus:
            xs, ys = xs % W, ys % H
        else:
            xs, ys = xs[(xs >= 0) & (xs < W)], ys[(ys >= 0) & (ys < H)]
        ctrl = cell_control[(ys[:, None] * W + xs[None, :]).ravel()]
        ctrl = ctrl[(ctrl >= 0) & (ctrl != o)]
        assert out[o] == (int(np.argmax(np.bincount(ctrl))) if ctrl.size else -1)

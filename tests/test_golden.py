"""Golden-output regression: fixed worlds, fixed seed, recorded sha256 digests.

Performance work must keep results bit-identical for the same seed. The digests
were first recorded before any optimisation (commit 558b066) and kept through it; they were
re-recorded once for deliberate model changes (burn-in, lone sellers' exit, jailed dealers out of
contests, inspection water-filling, investigations following arrests), and again when splits
stopped under-counting the factions' smoothed sales and revenue and when small organisations'
departed leaders stopped staying on record; and once more for model version 2 (issue 7: one
enforcement budget, violence and corruption as decisions, learned deterrent, information as
observed, a city that settles, researchers' measures); and once for issue 8 (targeted deterrence
as practised: new timeseries columns change every timeseries digest; the state digests of
``none`` and ``aggressive_interdiction`` are unchanged, those of ``targeted_deterrence`` change);
and once for issue 7 item 6 (users know their dealers: contact lists, search and referral, markets
closed to strangers; new state arrays and timeseries columns change every digest), merged with
model version 2.1 and followed by crews breaking up with their leader, membership by generation, users
numbered in home-cell order, search samples drawn before they are looked up and a 156-week default
burn-in (model version 2.2).
If a change *must* alter results, re-record them (``python tests/test_golden.py``
prints the current digests) and say why in the commit message.

Digests:
- ``timeseries``: every column of ``model.timeseries()`` as float64 bytes, in column order;
- ``state``: every state array (scratch buffers ``cell_start``/``cell_list`` excluded) after the run;
- ``initial``: ``model.initial_fingerprint`` (the world when the policy takes over, after the burn-in).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import fields

import numpy as np
import pytest

from marketsim.model import PROCESSES, DrugMarketModel
from marketsim.scenario import parse_scenario

SMALL = ["world.width=40", "world.height=40", "world.users=1500", "world.dealers=60", "world.organizations=4",
         "enforcement.officers=15", "world.steps=40"]
# longer, on a torus, with splits, successions, entries and turf fights in every policy
LONG = SMALL + ["world.steps=150", "world.torus=true", "world.users=3000", "world.dealers=120",
                "enforcement.officers=30"]
# the default city (100x100, 10^4 users), and a larger one scaled like benchmarks/scaling.py
DEFAULT = ["world.steps=80"]
SCALED = ["world.width=180", "world.height=180", "world.users=32400", "world.dealers=648", "world.organizations=11",
          "world.hotspots=39", "enforcement.officers=65", "supply.import_volume=51840",
          "enforcement.interdiction_capacity=12960", "enforcement.investigators=32.4", "world.steps=30",
          "world.mesa_user_agents=false"]
WORLDS = {"small": SMALL, "long": LONG, "default": DEFAULT, "scaled": SCALED}
POLICIES = ("none", "aggressive_interdiction", "targeted_deterrence")
SEED = 3
SCRATCH = {"cell_start", "cell_list"}  # work buffers, not model state

GOLDEN = {
    ("small", "none"): (
        "ec6bee1e9434694303f6c2e8ea0a0597da3784a5e85569cf6f1ac7f9ab0288c1",
        "82bc4e2a6e5ce00604a58d49110b3b327be7b56bd93e5b06e373a7738154042e",
    ),
    ("small", "aggressive_interdiction"): (
        "f02f2a073abc0647e46e9239c34f7878b12f3c08bc11e373398e8e73ccbd69cf",
        "d430e6e3641efa9e767812b30124be8b30e4a9fa5c19833a3b39ef4c93854883",
    ),
    ("small", "targeted_deterrence"): (
        "347399ecfbf8ffe2038fc510a2684c8c493c9cfe9a257bbe2e6002ac7b2db699",
        "7094a9ded42cf2b468198d6621e195a7b896e6529ed36a1495c997f4347e383c",
    ),
    ("long", "none"): (
        "db5db05f77744cf47459cf7584b7b8a22d780b19a18e274dbcec9e7f1fb85287",
        "fc7c92b3dae78e1819e71a716d265808159854d6a6657f5d6b54e68e9f732577",
    ),
    ("long", "aggressive_interdiction"): (
        "5eed79d870e099d7e8667872e1f52afb81c1bb3cc7d3d7233044df5402066657",
        "d4fbfb0104e537834943e66c7c222e42a98914165d12f15f42f250b0397d6133",
    ),
    ("long", "targeted_deterrence"): (
        "0b82d50442ff4344416dc0fe9c4d7f78b7058012ada229597bfcce6f6322ad7d",
        "63eee59edb3974e7c1df9936e8aee410aff2653827459f72f0c638bb0a2c7562",
    ),
    ("default", "none"): (
        "d8e34acf195c8f23bc1a4bf9fed2247838762d7bc063bcb0dce31dac5a05d907",
        "ab1b1fbe0535d7ddc2d636b3788ef28da5a0a6d0445e30aff99182591c58657e",
    ),
    ("default", "aggressive_interdiction"): (
        "f3193d1d90cb1faada9d45f3be2ce0489c114f5773355d59b31c6f73ca76d2f5",
        "0f4c793667971db24b525c937fb134a5d166d6f30e542c783e4f1ad415ef7b2a",
    ),
    ("default", "targeted_deterrence"): (
        "b6a261c25f5b1305f1a7c31ca0632f5d5a9e95585ad196cf5aa9de8a95072883",
        "5c71419e14d1b76af7aace1c137b84e81c9b92f0a9aa29a086bc39902db04d7c",
    ),
    ("scaled", "none"): (
        "47bc3531e85443067ec83f3367bfa02fae98fd1c51ec497d955298bd947b359d",
        "4a77276a810cd5f1e4543a1c8567527f5cfe6ec7a57fed2b7cfe2c0351260b0a",
    ),
    ("scaled", "aggressive_interdiction"): (
        "f69ba8d05468bc03257486e11f5b16a16d91da57277913152f298fc5e08d79e7",
        "76fb77aa6387fe883313d7ea9aab800ee29f4faefa99c16f4acce15c920f65ab",
    ),
    ("scaled", "targeted_deterrence"): (
        "2f2147c30777428bf23aed1bb229cdfd6ec584e9787eeacb76805feb56ec020e",
        "4ecb40252c33aae1aaa752637bc3750c703f7818cb7860b08d14f3329a96f721",
    ),
}
INITIAL = {
    "small": "88dfe077e7985417d383c1380cd0598dc6c66350cdfa7cbd7b394f0a32e05dfb",
    "long": "42e4df125f9dbf78b173d2533e3ea7ecd8e7d17459575146ec1e51a1596f518c",
    "default": "e5e6ae682eca96506acbc15ea78ad3c98a72a1a16b15c53ae1dad1111e3407bb",
    "scaled": "aa08bc8127a0f7ab66859068e2199d04ee013ae950078526569dc4c83c79b85d",
}


def digests(world: str, policy: str, steps: int | None = None, **kw) -> tuple[str, str, str]:
    sc = parse_scenario({}, overrides=WORLDS[world] + [f"enforcement.policy={policy}"])
    m = DrugMarketModel(sc, seed=SEED, **kw)
    m.run(steps)
    ts = m.timeseries()
    h = hashlib.sha256()
    for c in ts.columns:
        h.update(c.encode())
        h.update(np.ascontiguousarray(ts[c].to_numpy(dtype=np.float64)).tobytes())
    hs = hashlib.sha256()
    for f in fields(m.state):
        v = getattr(m.state, f.name)
        if isinstance(v, np.ndarray) and f.name not in SCRATCH:
            hs.update(f.name.encode())
            hs.update(np.ascontiguousarray(v).tobytes())
    return h.hexdigest(), hs.hexdigest(), m.initial_fingerprint


@pytest.mark.parametrize("world,policy", sorted(GOLDEN))
def test_bit_identical_to_recorded(world, policy):
    ts, state, initial = digests(world, policy)
    assert initial == INITIAL[world], "the initial world changed"
    assert ts == GOLDEN[world, policy][0], "timeseries differ from the recorded run"
    assert state == GOLDEN[world, policy][1], "final state differs from the recorded run"


def test_mesa_user_agents_do_not_change_results():
    with_agents = digests("small", "none")
    sc_over = WORLDS["small"] + ["world.mesa_user_agents=false"]
    WORLDS["small_nouser"] = sc_over
    try:
        assert digests("small_nouser", "none")[:2] == with_agents[:2]
    finally:
        del WORLDS["small_nouser"]


def test_profile_does_not_change_results():
    plain = digests("small", "targeted_deterrence")
    timed = digests("small", "targeted_deterrence", profile=True)
    assert plain == timed


_PYFUNC = """
import sys
sys.path.insert(0, {here!r})
from test_golden import digests
print(*digests("small", "aggressive_interdiction", steps=8))
"""


def test_pure_python_kernels_agree():
    """Kernels run as plain Python (NUMBA_DISABLE_JIT=1, i.e. their ``.py_func``) give the same run."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", _PYFUNC.format(here=here)], env=env, capture_output=True,
                         text=True, timeout=600, check=True).stdout.split()
    assert out == list(digests("small", "aggressive_interdiction", steps=8))


if __name__ == "__main__":  # print the current digests (to re-record them)
    for world in WORLDS:
        for policy in POLICIES:
            print(world, policy, *digests(world, policy))


# ----------------------------------------------------------------------------------------------
# The fast formulations against the reference ones, and every new kernel against its .py_func.

import copy  # noqa: E402

from marketsim.kernels import books, measure  # noqa: E402
from marketsim.kernels import grid as kgrid  # noqa: E402
from marketsim.kernels import market as kmarket  # noqa: E402
from marketsim.state import allocate_workspace  # noqa: E402


def _mid_run(overrides, policy="aggressive_interdiction", weeks=15):
    """A model stopped just before its retail market (dealers bucketed, officers posted)."""
    sc = parse_scenario({}, overrides=overrides + [f"enforcement.policy={policy}"])
    m = DrugMarketModel(sc, seed=SEED)
    m.run(weeks)
    t = m.steps + 1
    m._begin_week(t)
    m._import_and_interdiction(t)
    m._allocate_enforcement(t)
    m._corruption(t)
    return m


def _fast_market(m, s, rng, py=False):
    po = m.params.organizations
    o_open = kmarket.stranger_openness(s.o_trade_num, s.o_trade_den, po.prior_a, po.prior_b,
                                       m.params.market.stranger_caution)
    return kmarket.run_market(s, allocate_workspace(s), m.steps + 1, m.params.users, o_open, rng, py=py)


MARKET_ARRAYS = ("u_supplier", "u_bought", "u_contacts", "d_inv", "d_cash", "d_sales", "d_stockout", "cell_sales",
                 "cell_unmet")


@pytest.mark.parametrize("extra", [[], ["world.torus=true"], ["world.torus=true", "users.search_radius=1"],
                                   ["users.search_radius=0", "users.loyalty_discount=0"]])
def test_market_round_equals_its_python(extra):
    """Candidate lists + gather/match/scatter, compiled and as plain Python: the same purchases,
    contacts and draws."""
    # six weeks in: with a reach of 0 the city's street market has dried up by week 15
    m = _mid_run(LONG + extra, weeks=6)
    results = []
    for run in (_fast_market, lambda m, s, rng: _fast_market(m, s, rng, py=True)):
        s = copy.deepcopy(m.state)
        rng = np.random.default_rng(11)
        out = run(m, s, rng)
        results.append((out, {a: getattr(s, a).copy() for a in MARKET_ARRAYS}, rng.bit_generator.state))
    (r0, a0, g0) = results[0]
    assert r0[0] > 0
    for r, a, g in results[1:]:
        assert r == r0 and g == g0
        for name in MARKET_ARRAYS:
            np.testing.assert_array_equal(a[name], a0[name], err_msg=name)


def test_small_torus_clamps_the_reach():
    """On a torus narrower than a user's reach, the reach covers the city once."""
    sc = parse_scenario({}, overrides=["world.width=7", "world.height=7", "world.torus=true", "world.users=200",
                                       "world.dealers=10", "world.organizations=2", "world.district_size=5",
                                       "enforcement.officers=3", "world.burn_in=0"])
    # no burn-in: after a year under 3 officers who cover the whole 7x7 city, most dealers are in
    # prison and some weeks sell nothing, whichever scan is used
    m = DrugMarketModel(sc, seed=1)
    m.run(5)
    assert m.timeseries()["quantity_sold"].gt(0).all()
    assert kmarket.reach_radius(7, 7, True, 4) == 3 and kmarket.reach_radius(7, 7, False, 4) == 4


def _same(f, make, seed=5):
    outs = []
    for fn in (f, f.py_func):
        args = make()
        rng = np.random.default_rng(seed)
        res = fn(*args, rng) if "rng" in f.py_func.__code__.co_varnames[:f.py_func.__code__.co_argcount] else fn(*args)
        outs.append((res, args, rng.bit_generator.state))
    (r1, a1, g1), (r2, a2, g2) = outs
    if isinstance(r1, tuple):
        for x, y in zip(r1, r2):
            np.testing.assert_array_equal(x, y)
    else:
        np.testing.assert_array_equal(r1, r2)
    for x, y in zip(a1, a2):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
    assert g1 == g2


def test_bookkeeping_kernels_match_their_python():
    m = _mid_run(LONG, weeks=20)
    s0, t = m.state, m.steps + 1
    po = m.params.organizations

    def st():
        return copy.deepcopy(s0)

    def settle():
        s = st()
        return (s.d_active, s.d_org, s.d_sales, s.d_price, s.d_cash, 0.3, 45.0, s.o_cash, s.o_sales, s.o_revenue,
                np.zeros(s.max_orgs), np.zeros(s.max_dealers))

    _same(books.settle_sales, settle)

    def learn():
        s = st()
        rec = np.where(s.o_active == 1, s.o_violence_attr, -1.0)
        s.o_violence_prev[::2] = 1  # some organisations were violent last week, some attacked police
        s.o_police_prev[::3] = 1
        return (s.o_active, int(np.argmax(rec)), po.learning_discount, po.vicarious_weight,
                po.response_threshold, s.o_arrests, s.o_street, s.o_trade_num, s.o_trade_den, s.o_exposure,
                s.o_exposure_base, s.o_vtop_num, s.o_vtop_den, s.o_voth_num, s.o_voth_den,
                s.o_violence_attr, s.o_attributed, s.o_sales_avg, s.o_sales, s.o_revenue_avg, s.o_revenue,
                int(np.argmax(rec)), s.o_violence_prev, s.o_police_prev, s.o_pnum, s.o_pnum_den, s.o_loss_num,
                s.o_loss_den, s.o_threat_att, s.o_threat_ref, True)

    _same(books.learn, learn)
    _same(books.count_members, lambda: (lambda s: (s.d_active, s.d_org, s.d_org_gen, s.o_gen, s.d_jail_until, t,
                                                   s.o_members, s.o_street))(st()))
    _same(books.leaderless, lambda: (lambda s: (s.o_active, s.o_leader, s.d_active, s.d_org, s.d_jail_until,
                                                t))(st()))
    _same(books.recruitment_round, lambda: (lambda s: (s.d_active, s.d_jail_until, s.d_org, s.d_stockout,
                                                       s.d_rank, t, s.o_active, s.o_members, 0.08, 0.08, 1))(st()))
    _same(measure.turf_control, lambda: (lambda s: (s.d_active, s.d_jail_until, s.d_cell, s.d_org, t,
                                                    s.max_orgs, s.cell_control, s.cell_control_since,
                                                    np.zeros(s.max_dealers, np.int64)))(st()))
    _same(measure.decay_add, lambda: (lambda s: (s.cell_violence, 0.8, s.cell_incidents + 1))(st()))
    _same(kgrid.first_zero, lambda: (st().d_active,))
    _same(kgrid.shuffle_into, lambda: (np.empty(57, np.int32), 57))


def test_recruitment_round_matches_numpy():
    m = _mid_run(LONG, weeks=20)
    s, t = m.state, m.steps + 1
    so, lts, cands, slots, bounds = books.recruitment_round(s.d_active, s.d_jail_until, s.d_org, s.d_stockout,
                                                            s.d_rank, t, s.o_active, s.o_members, 0.08, 0.08, 1)
    street = (s.d_active == 1) & (s.d_jail_until <= t)
    np.testing.assert_array_equal(so, np.bincount(s.d_org[street], weights=s.d_stockout[street].astype(float),
                                                  minlength=s.max_orgs))
    for o in range(s.max_orgs):
        np.testing.assert_array_equal(slots[bounds[o]:bounds[o + 1]], np.flatnonzero(street & (s.d_org == o)))


def test_sparse_row_sums_equal_numpy_pairwise_sums():
    """measure.row_sum reproduces numpy's pairwise summation of a mostly-zero row bit for bit."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.choice([3, 8, 9, 100, 128, 129, 136, 1000, 3006, 8192, 9000, 20019, 200060]))
        pop = min(n, int(rng.choice([n, 300, 40])))
        cols = np.sort(rng.choice(pop, size=int(rng.integers(1, pop + 1)), replace=False))
        row = np.zeros(n)
        row[cols] = rng.random(cols.size) ** 3 * 10 ** rng.uniform(-3, 3)
        assert measure.row_sum(cols.astype(np.int64), row[cols], n) == row.sum()
        dense = np.zeros((2, n))
        dense[1] = row
        assert measure.row_sum(cols.astype(np.int64), row[cols], n) == dense.sum(axis=1)[1]


def test_district_hhi_equals_dense_table():
    rng = np.random.default_rng(1)
    for _ in range(50):
        ncell, nd, M = 400, int(rng.integers(1, 20)), int(rng.choice([7, 200, 3000, 20000]))
        district = rng.integers(0, nd, ncell).astype(np.int32)
        district[0] = nd - 1
        d_cell = rng.integers(0, ncell, 500).astype(np.int32)
        d_org = rng.integers(0, min(M, 50), 500).astype(np.int32)
        d_sales = np.where(rng.random(500) < 0.5, rng.random(500) * 30, 0.0)
        dealers = np.flatnonzero(d_sales > 0)
        key = district[d_cell[dealers]].astype(np.int64) * M + d_org[dealers]
        table = np.bincount(key, weights=d_sales[dealers], minlength=nd * M).reshape(nd, M)
        ds = table.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            local = ((table / ds[:, None]) ** 2).sum(axis=1) * 10000.0
        a, b = np.empty(nd), np.empty(nd)
        measure.district_sales_hhi(dealers, d_cell, d_org, d_sales, district, nd, M, a, b)
        np.testing.assert_allclose(a, ds, rtol=1e-12)  # summed left to right, not pairwise
        np.testing.assert_allclose(b, local, rtol=1e-12)
        # and the same bits whatever the number of organisation slots (the pool size)
        a2, b2 = np.empty(nd), np.empty(nd)
        measure.district_sales_hhi(dealers, d_cell, d_org, d_sales, district, nd, 4 * M + 3, a2, b2)
        assert a2.tobytes() == a.tobytes() and b2.tobytes() == b.tobytes()


def test_randint_is_rng_integers():
    from numba import njit

    from marketsim.kernels.rand import randint

    @njit
    def draws(rng, n, lo, span):
        out = np.empty(n, np.int64)
        for i in range(n):
            out[i] = randint(rng, lo, lo + 1 + i % span)
        return out

    for lo, span in [(0, 7), (-3, 10), (0, 2**31), (5, 2**40)]:
        r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
        got = draws(r1, 2000, lo, span)
        want = np.array([r2.integers(lo, lo + 1 + i % span) for i in range(2000)])
        np.testing.assert_array_equal(got, want)
        assert r1.bit_generator.state == r2.bit_generator.state


def test_org_cells_is_a_sequence_of_each_organisations_cells():
    m = _mid_run(SMALL, policy="targeted_deterrence", weeks=10)
    s, t = m.state, m.steps
    obs = m.observe(t)
    street = np.flatnonzero((s.d_active == 1) & (s.d_jail_until <= t))
    assert len(obs.org_cells) == s.max_orgs
    known = street[s.d_seen_cell[street] >= 0]  # the dealers officers have seen, at their last-seen cells
    for o in range(s.max_orgs):
        np.testing.assert_array_equal(obs.org_cells[o], s.d_seen_cell[known[s.d_org[known] == o]])
    np.testing.assert_array_equal(obs.org_cells[-1], obs.org_cells[s.max_orgs - 1])
    assert len(obs.org_cells[:3]) == 3 and len(list(obs.org_cells)) == s.max_orgs
    with pytest.raises(IndexError):
        obs.org_cells[s.max_orgs]


def test_profile_report_accounts_for_the_step():
    sc = parse_scenario({}, overrides=SMALL)
    m = DrugMarketModel(sc, seed=SEED, profile=True)
    m.run(6)
    rep = m.profile_report()
    assert m.profiled_steps == 6
    assert list(rep.index[:-1]) == list(PROCESSES) and rep.index[-1] == "total"
    assert rep.loc["total", "seconds"] == pytest.approx(sum(m.process_times.values()))
    assert rep.loc["total", "share"] == pytest.approx(1.0)
    assert (rep["ns_per_agent_step"] >= 0).all()

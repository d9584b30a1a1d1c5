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
and once for the issue 7 follow-up (results independent of the pool size: per-active draws and
left-to-right sums; consolidation and defection; the chance of leading the violence record from
what a group observes; ``dealer_pool_use`` relative to the pool ceiling).
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
        "0e4e24b5152e90c1e3dccd123b5b6ec571ebe59f603631c5c13b7137803940d5",
        "8dc29c1b77d19490c020afb24342911f45d98d1f9748b1cc870bd1a82e9827f4",
    ),
    ("small", "aggressive_interdiction"): (
        "d3518bae01b8fd1b0ef969f602eb38e84506d4a9bb96532fda4a26a372a7b3e4",
        "1ff351676eacefc5138193ad4880d4d8bb835158aef550c68c3f58d974c3e59f",
    ),
    ("small", "targeted_deterrence"): (
        "33116ec5e97a3335b60395023a58058115dde643ac18905ada870dec79c70b1a",
        "c02c31168c114743544de4038bb4d7fe53e0d74db996122cc4c1981f30018664",
    ),
    ("long", "none"): (
        "a8ab4700156dc8ad3eb2b2268e521c89170528c3a867525edc09441a2a6f2b44",
        "99733d0f23bb18fe915208f8f1aacc3e90a13aa27c6a6022dd361f9acd3e45af",
    ),
    ("long", "aggressive_interdiction"): (
        "09b1a83b78e1aebca982435f25ed63dae7877dbb1a3a91711db1188728909fa3",
        "4b7f6363f5d2a20e90706dfb4a45d49ae212d1e770c075b1921c458a8512bf76",
    ),
    ("long", "targeted_deterrence"): (
        "8306c738cbd03b2f7272d8921c2e43820409cd06a1ed0aab6cc2d7e7c3d12b7c",
        "92ba628f349d4c843f83aaa649da3c87c1ca59a3dbe1b3a89cd8e30a82b385a9",
    ),
    ("default", "none"): (
        "6bfffe1e90bcb3669a3d30ea1caa54963fe06c1788a70b2857661e941b97c1a0",
        "2797cc61e14bcc54daaa1e90321bd3df70a6309d2085c678438d1fd1c0bcfbe9",
    ),
    ("default", "aggressive_interdiction"): (
        "52a5b43e87ee7487c0983a9d77b47b81b3c388427508633acd2e813066b0b594",
        "7de38aac59705bbb2aa0afc203967fc1cb083eacd5560b0c4e775fcc89ebe583",
    ),
    ("default", "targeted_deterrence"): (
        "250423d9ad2f2e1316a9b6433e081833402addf96ef5baf278b871645bfc63fb",
        "837d29e1bdf1539914dc763211e820386a64e9e44e4f11ab95f336cc890361cd",
    ),
    ("scaled", "none"): (
        "9b5f1f217cf4dd22896036a34f1601ff3e41713a2253d476ffc6d97ee206b485",
        "cde697eb9b7cc4f2b2ac87ffa9548cdc2a64d1a4857e971a1a05c7a42d34ee33",
    ),
    ("scaled", "aggressive_interdiction"): (
        "53983f6e82fd986d6afdac82b60c35b262a300ff677f3e00ee00c5cb8483e44e",
        "fe178826a2324dcd1a09b288c5414182864ff405d19609f94767ddeb9f984e44",
    ),
    ("scaled", "targeted_deterrence"): (
        "96babbe0ce4d7fd074098553186335734a7d8fc28a0f1cc423e249085dbe419b",
        "d500882f8a03eee5470b5ef908cd0c839588e6a2e120c972bb3cd448788f20d0",
    ),
}
INITIAL = {
    "small": "4743048d03f095aa799b9f055bc85c1fc65415d3d0b223e8d50085734671ea04",
    "long": "b20c3850f0f0303bd4f3c963a6e827aa4539ff12d09ef4aac00bc9dbb5f15368",
    "default": "22a099847c8de1215cd3b88ff0ac15899a91995d1148dfbe0e6b56d49128c407",
    "scaled": "3bf4bf49ea276c5b9869e4d8e84d4eb82f383eef264317838298cb83e9b7d673",
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
    u = m.params.users
    wk = allocate_workspace(s)
    f = (lambda k: k.py_func) if py else (lambda k: k)
    f(kmarket.bucket_books)(s.cell_start, s.ncell, s.cell_list, s.d_price, s.cell_police, s.width, u.risk_cost,
                            wk.b_cell, wk.b_x, wk.b_price, wk.b_risk)
    need = f(kmarket.build_candidates)(wk.home_cells, s.cell_start, wk.b_x, wk.b_price, wk.b_risk, s.width,
                                       s.height, s.torus, u.search_radius, u.travel_cost, wk.cand_start, wk.cand)
    if need > wk.cand.shape[0]:
        wk.grow_candidates(need)
        f(kmarket.build_candidates)(wk.home_cells, s.cell_start, wk.b_x, wk.b_price, wk.b_risk, s.width,
                                    s.height, s.torus, u.search_radius, u.travel_cost, wk.cand_start, wk.cand)
    return f(kmarket.market_round)(
        wk.u_home, s.u_cell, s.u_demand, s.u_elast, s.u_supplier, s.u_bought, s.d_cell, s.d_inv, s.d_price,
        s.d_cash, s.d_sales, s.d_stockout, int(s.cell_start[s.ncell]), s.cell_list, wk.b_cell, wk.cand_start,
        wk.cand, s.cell_sales, s.cell_unmet, u.loyalty_discount, u.reference_price, 3, rng, wk.market)


def _reference_market(m, s, rng):
    u = m.params.users
    return kmarket.retail_market(
        s.u_cell, s.u_demand, s.u_elast, s.u_supplier, s.u_bought, s.d_cell, s.d_inv, s.d_price, s.d_cash,
        s.d_sales, s.d_stockout, s.cell_start, s.cell_list, s.cell_police, s.cell_sales, s.cell_unmet, s.width,
        s.height, s.torus, u.search_radius, u.travel_cost, u.risk_cost, u.loyalty_discount, u.reference_price, 3,
        rng)


MARKET_ARRAYS = ("u_supplier", "u_bought", "d_inv", "d_cash", "d_sales", "d_stockout", "cell_sales", "cell_unmet")


@pytest.mark.parametrize("extra", [[], ["world.torus=true"], ["world.torus=true", "users.search_radius=1"],
                                   ["users.search_radius=0", "users.loyalty_discount=0"]])
def test_market_round_equals_reference_scan(extra):
    """Candidate lists + gather/match/scatter give exactly the reference per-user scan, and the same draws."""
    # users who search only their own block: under aggressive interdiction nearly every dealer of
    # this small city is in prison by week 15 and nothing may sell; compare on the open market
    m = _mid_run(LONG + extra, policy="none" if "users.search_radius=0" in extra else "aggressive_interdiction")
    results = []
    for run in (_reference_market, _fast_market, lambda m, s, rng: _fast_market(m, s, rng, py=True)):
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


def test_small_torus_falls_back_to_reference_scan():
    """On a torus narrower than a user's reach (cells seen twice), the model uses the reference scan."""
    sc = parse_scenario({}, overrides=["world.width=7", "world.height=7", "world.torus=true", "world.users=200",
                                       "world.dealers=10", "world.organizations=2", "world.district_size=5",
                                       "enforcement.officers=3", "world.burn_in=0"])
    # no burn-in: after a year under 3 officers who cover the whole 7x7 city, most dealers are in
    # prison and some weeks sell nothing, whichever scan is used
    m = DrugMarketModel(sc, seed=1)
    m.run(5)
    assert m.timeseries()["quantity_sold"].gt(0).all()


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
    _same(books.count_members, lambda: (lambda s: (s.d_active, s.d_org, s.d_jail_until, t, s.o_members,
                                                   s.o_street))(st()))
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

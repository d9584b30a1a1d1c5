"""Golden-output regression: fixed worlds, fixed seed, recorded sha256 digests.

Performance work must keep results bit-identical for the same seed. The digests
were first recorded before any optimisation (commit 558b066) and kept through it; they were
re-recorded once for deliberate model changes (burn-in, lone sellers' exit, jailed dealers out of
contests, inspection water-filling, investigations following arrests), and again when splits
stopped under-counting the factions' smoothed sales and revenue and when small organisations'
departed leaders stopped staying on record.
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
        "b2e8fbfcea4f48d93ae0ec36d091b8ee9e8049c3518b5845cb692ebd7d69c8ce",
        "6b112611d5fbcfee8d35a0e04a2cc764568db472fc95232b31498edadf8d282f",
    ),
    ("small", "aggressive_interdiction"): (
        "cf72e1b6eeb1a065de20125b7daa7b2e33811e47556bce17210da5be9f0aba33",
        "b2cbd55afb06f949b4c4076d08bc065fca7294497a5cc7aaf5617b54464e8fe2",
    ),
    ("small", "targeted_deterrence"): (
        "b2e8fbfcea4f48d93ae0ec36d091b8ee9e8049c3518b5845cb692ebd7d69c8ce",
        "6b112611d5fbcfee8d35a0e04a2cc764568db472fc95232b31498edadf8d282f",
    ),
    ("long", "none"): (
        "4ce0f6a39a7456aecb050ebe3cbb6a43ebbc5676b93d55272353f8bde952c773",
        "da41d25d1b4c829a6baef528e863b94eb927c6be5aec1859dc77be07723ef21a",
    ),
    ("long", "aggressive_interdiction"): (
        "69236ec00649ff01e08a1f875069a7b4e55f17bb96fccd6521f121ef0a1ff850",
        "edc6fa805603ff937a03f84856c467fcab8446331394407d972583f5d8768b5f",
    ),
    ("long", "targeted_deterrence"): (
        "aa38ea49f3ec9a8bc91e6ab5b284524b9ad48ef4238720c0e8ef1fbbb9f59989",
        "d6c25e6a9f3c0bd3d43c4e6574fa5aa9fa6cf7ea5e9b0c9ed971c84c7399b695",
    ),
    ("default", "none"): (
        "c5681fdd74b223aca4eaa36d17f25baf5664600c477d8fd5ec12c78d82e199f7",
        "bbf2f5dcb4517eb1cefd33db410ce5ad56a4c1073c558a529c094f3c628bd71c",
    ),
    ("default", "aggressive_interdiction"): (
        "1d848092e793035a879239e3d6c3c8fea048858318491f00611ad4a12ec5b5b6",
        "20c95396f2a18337bc7429f1df085674b79d1918ed442cbc27dee52b4f037883",
    ),
    ("default", "targeted_deterrence"): (
        "2316b6889f5d681b5106233be072387e223e88791295fda25063700383cfd686",
        "392444495e05209dde89f021c98a7a707e661575c97a79b21aae8a85186c86b9",
    ),
    ("scaled", "none"): (
        "0ff21f8f3a7557a26009bc77955e8fc2b69ea7769f9419135964e583e4019c60",
        "a9f6fb55486c1a83b822ee16d6d48990f140f24c38369474a9429d2acba69517",
    ),
    ("scaled", "aggressive_interdiction"): (
        "c012c123bec51d8aa0c2d10151cee3689cfa68b51d4031b6a35115dda2c5dea4",
        "6082a3581e881a631de262e5f2c087d897ccb3a48f08da672b247ae0aac7741d",
    ),
    ("scaled", "targeted_deterrence"): (
        "172a6b0e17e20fd74814b157a4cc3a1d3dbc4f5cff17b3133ac3889447dcf23c",
        "9fffd6e2f0e8603f1add0e9051341a625a933d3f126f50c9a8fcd0da4005325b",
    ),
}
INITIAL = {
    "small": "19c07c04cf8af2a787bec5d24b7e42969661ea33d7024f12fc071678a1b00226",
    "long": "c66c43e291bbb2028185307d6ed796a2324ec4ef2c44706dee7426d43bb0f512",
    "default": "8b996436b817f183b96f76535b28da62a9774f7ae6b93d61490abf7fd6836ebf",
    "scaled": "20bf3961c977ea2361419c9565647de383543a89496531efb726b1d50157fd2a",
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
    m = _mid_run(LONG + extra)
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
                                       "enforcement.officers=3"])
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
                s.o_loss_den, s.o_threat_att, s.o_threat_ref)

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
        np.testing.assert_array_equal(a, ds)
        np.testing.assert_array_equal(b, local)


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
    for o in range(s.max_orgs):
        np.testing.assert_array_equal(obs.org_cells[o], s.d_cell[street[s.d_org[street] == o]])
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

"""DrugMarketModel: builds the world; ``step()`` is the weekly schedule, in ODD order.

The nine processes of DESIGN section 3 run in this order every week:

1. import and interdiction      :mod:`marketsim.supply`
2. enforcement allocation       :mod:`marketsim.policies` (observation -> allocation)
3. corruption                   :mod:`marketsim.kernels.corruption`
4. retail market                :mod:`marketsim.kernels.market`
5. policing                     :mod:`marketsim.kernels.policing`
6. violence                     :mod:`marketsim.kernels.violence`
7. succession and fragmentation :mod:`marketsim.organizations`
8. entry, exit, recruitment, displacement  :mod:`marketsim.organizations`, :mod:`marketsim.kernels.movement`
9. learning                     :meth:`DrugMarketModel._learning`

The policy is consulted in process 2 only, and only to place officers, focus
them, split inspections and investigations, and announce a target.
"""

from __future__ import annotations

import operator
import time
from collections import defaultdict
from collections.abc import Sequence

import mesa
import numpy as np
import pandas as pd
from scipy import ndimage

from . import organizations as orgs
from . import supply
from .agents import Dealer, Officer, Organization, User
from .kernels import corruption as k_corruption
from .kernels import policing as k_policing
from .kernels import violence as k_violence
from .kernels.books import agent_changes, exposure, learn, reset_week, settle_sales, week_counts
from .kernels.decisions import decay_grievances
from .kernels.grid import bucket_street_dealers, officer_coverage
from .kernels.market import run_market, stranger_openness, update_prices
from .kernels.measure import decay_add, district_sales_hhi, district_sums, seqsum, turf_control
from .kernels.movement import move_dealers
from .metrics import TIMESERIES_COLUMNS, hhi, summarize
from .policies import Allocation, NoStrategy, Observation, make_policy
from .scenario import Scenario
from .state import LEADER, LIEUTENANT, allocate, allocate_workspace

#: columns of :meth:`DrugMarketModel.districts` (``districts.parquet``)
DISTRICT_COLUMNS = ["step", "district", "homicides", "violent_incidents", "quantity_sold", "hhi", "arrests", "officers"]
DISTRICT_DTYPES = {"step": "int64", "district": "int64", "homicides": "int64", "violent_incidents": "int64",
                   "quantity_sold": "float64", "hhi": "float64", "arrests": "int64", "officers": "int64"}
#: columns of :meth:`DrugMarketModel.organizations_table` (``organizations.parquet``)
ORG_COLUMNS = ["step", "org", "parent", "slot", "members", "street", "district", "quantity_sold", "incidents_committed",
               "incidents_suffered", "homicides", "shock_arrests", "leader_removed", "removal"]
ORG_DTYPES = {"step": "int64", "org": "int64", "parent": "int64", "slot": "int64", "members": "int64", "street": "int64",
              "district": "int64", "quantity_sold": "float64", "incidents_committed": "int64",
              "incidents_suffered": "int64", "homicides": "int64", "shock_arrests": "int64",
              "leader_removed": "int64"}
#: ``removal`` codes of the organisation table (LifeCycleCounts.removed)
REMOVAL = {0: "", 1: "arrest", 2: "killed", 3: "other"}
STREAMS = ("init", "market", "enforcement", "organizations", "violence", "movement")
#: streams added later, spawned after ``mesa`` so that the streams above stay what they were; each
#: is drawn from only when the option that needs it is on (``shock``: the arrest operation of
#: ``[shock]``; ``services``: ``enforcement.services_uptake``)
EXTRA_STREAMS = ("shock", "services")
#: the names under which ``profile=True`` times each part of a week (``model.process_times``):
#: ``begin_week`` (counters reset, officers replaced, prisoners released), the nine processes, and
#: ``record`` (the week's row of measurements, Mesa agents kept in step with the arrays)
PROCESSES = ("begin_week", "import", "allocation", "corruption", "market", "policing", "violence", "succession",
             "entry_exit", "learning", "record")


class OrgCells(Sequence):
    """``obs.org_cells``: for each organisation slot, the cells of its street dealers (one entry
    per dealer, in slot order). A read-only sequence that slices on access: building a tuple of
    one array per organisation slot (``max_dealers + organizations`` slots) took ~70 ms a week
    at 10^6 users."""

    __slots__ = ("_cells", "_bounds")

    def __init__(self, cells_sorted: np.ndarray, bounds: np.ndarray):
        self._cells = cells_sorted
        self._bounds = bounds

    def __len__(self) -> int:
        return self._bounds.size - 1

    def __getitem__(self, o):
        if isinstance(o, slice):
            return tuple(self[i] for i in range(*o.indices(len(self))))
        n = len(self)
        o = operator.index(o)
        if o < 0:
            o += n
        if not 0 <= o < n:
            raise IndexError("organisation slot out of range")
        return self._cells[self._bounds[o]: self._bounds[o + 1]]


class _RowCollector(mesa.DataCollector):
    """``model.datacollector``: a Mesa DataCollector of the weekly row's columns.

    Mesa's ``collect`` calls every reporter and deep-copies its value (~40 columns, ~0.1 ms a
    week, a tenth of a small city's step). The values are scalars the model has just put in
    ``model._last``, so after the first (validating) call they are appended directly. Any other
    use (agent reporters, extra model reporters) goes through Mesa's own ``collect``.
    """

    def collect(self, model):
        mv = getattr(self, "model_vars", None)
        if (not self._validated or self.agent_reporters or getattr(self, "agenttype_reporters", None)
                or not isinstance(mv, dict) or mv.keys() != self.model_reporters.keys()
                or not set(mv) <= model._last.keys()):
            return super().collect(model)
        if hasattr(self, "_collection_steps"):  # Mesa >= 3.5
            self._collection_steps.append(model.time)
        row = model._last
        for var in mv:
            mv[var].append(row[var])


def make_streams(seed) -> dict[str, np.random.Generator]:
    """One generator per purpose, spawned from one SeedSequence (``seed`` may be an int or a SeedSequence)."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    ss = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key)  # fresh copy: spawning is stateful
    children = ss.spawn(len(STREAMS) + 1 + len(EXTRA_STREAMS))
    streams = {name: np.random.default_rng(c) for name, c in zip(STREAMS, children)}
    streams["mesa"] = np.random.default_rng(children[len(STREAMS)])
    for name, c in zip(EXTRA_STREAMS, children[len(STREAMS) + 1:]):
        streams[name] = np.random.default_rng(c)
    return streams


class DrugMarketModel(mesa.Model):
    """A city drug market under one enforcement policy.

    >>> from marketsim import load_scenario, DrugMarketModel
    >>> m = DrugMarketModel(load_scenario("scenarios/baseline.toml"), seed=1)
    >>> m.run(52)
    >>> df = m.timeseries()

    ``seed`` defaults to the scenario's; an int or a ``numpy.random.SeedSequence``.
    Set ``profile=True`` to time every process: ``model.process_times`` (seconds by process,
    cumulative) and ``model.profile_report()`` (a table with shares and ns per agent-step). The validated
    scenario is ``model.params`` (Mesa 3.5 reserves ``model.scenario`` for its own use).
    """

    def __init__(self, scenario: Scenario | None = None, seed=None, *, profile: bool = False):
        scenario = scenario if scenario is not None else Scenario()
        seed = scenario.seed if seed is None else seed
        self.streams = make_streams(seed)
        super().__init__(rng=int(self.streams["mesa"].integers(2**63)))
        self.seed = seed
        self.params = scenario
        self.policy = make_policy(scenario.enforcement.policy, scenario.enforcement)
        self.profile = profile
        self.process_times: dict[str, float] = defaultdict(float)
        self.profiled_steps = 0
        self._rows: list[dict] = []
        self._district_rows: list[np.ndarray] = []
        self._org_rows: list[np.ndarray] = []
        self.population = scenario.world.population or 50 * scenario.world.users
        self._last: dict = {}
        self._grid = None
        self._interdiction_weights = None
        self.announced_target = -1
        self.ledger = defaultdict(float)  # cumulative drug and money flows (conservation checks)
        self.shock_record: dict = {}  # the ``[shock]`` operation, once it happened
        self._build_world()
        self._last_cell_sales = np.zeros(self.state.ncell)  # what the agency saw last week
        self._cell_w = np.zeros(self.state.ncell)  # officers' priority weights per cell (focus)
        self._invest_split = np.zeros(self.state.max_orgs)  # investigator time spent per organisation
        self._last_org_arrests = np.zeros(self.state.max_orgs, self.state.o_arrests.dtype)
        self._reset_deterrence()
        self.world_fingerprint = self.state.fingerprint()  # the city as built
        self._burn_in(scenario.world.burn_in)
        self.initial_fingerprint = self.state.fingerprint()  # the city when the policy takes over
        self.datacollector = _RowCollector(
            model_reporters={c: (lambda m, c=c: m._last.get(c)) for c in TIMESERIES_COLUMNS if c != "step"}
        )

    # ------------------------------------------------------------------ world
    def _build_world(self) -> None:
        sc = self.params
        w, u, e, po = sc.world, sc.users, sc.enforcement, sc.organizations
        rng = self.streams["init"]
        max_dealers = int(np.ceil(w.dealers * sc.market.max_dealers_factor))
        # the pools double when full, up to market.max_pool_factor x the initial dealers and never
        # beyond the memory any run may ask for (then PoolFull)
        from .scenario import BYTES_PER_DEALER_SLOT, MAX_MEMORY_BYTES, estimate_memory

        spare = max(MAX_MEMORY_BYTES - estimate_memory(sc), 0) // BYTES_PER_DEALER_SLOT + max_dealers
        ceiling = int(min(max(np.ceil(w.dealers * sc.market.max_pool_factor), max_dealers), spare))
        s = allocate(w.width, w.height, w.torus, w.users, max_dealers, max_dealers + w.organizations,
                     e.officers, u.contacts, dealer_ceiling=ceiling, org_ceiling=ceiling + w.organizations)
        self._pool_sizes = (s.max_dealers, s.max_orgs)
        self.state = s
        W, H = w.width, w.height
        xs, ys = np.meshgrid(np.arange(W), np.arange(H))
        ndx = -(-W // w.district_size)
        s.cell_district[:] = ((ys // w.district_size) * ndx + xs // w.district_size).ravel()
        # users around demand clusters
        centres = np.column_stack([rng.uniform(0, W, w.hotspots), rng.uniform(0, H, w.hotspots)])
        which = rng.integers(0, w.hotspots, w.users)
        pos = centres[which] + rng.normal(0.0, w.hotspot_spread, (w.users, 2))
        if w.torus:
            ux = np.floor(pos[:, 0]).astype(np.int64) % W
            uy = np.floor(pos[:, 1]).astype(np.int64) % H
        else:
            # homes drawn off the map are drawn again around the same cluster (clipping them to
            # the border piled 6-19% of users onto the 4% of cells at the edge)
            for _ in range(1000):
                out = np.flatnonzero((pos[:, 0] < 0) | (pos[:, 0] >= W) | (pos[:, 1] < 0) | (pos[:, 1] >= H))
                if out.size == 0:
                    break
                pos[out] = centres[which[out]] + rng.normal(0.0, w.hotspot_spread, (out.size, 2))
            ux = np.clip(np.floor(pos[:, 0]).astype(np.int64), 0, W - 1)
            uy = np.clip(np.floor(pos[:, 1]).astype(np.int64), 0, H - 1)
        # users are numbered in home-cell order (they are exchangeable: demand and elasticity are
        # drawn below, independently of the home), so the market's passes over users read the
        # per-cell tables in sequence
        s.u_cell[:] = np.sort(uy * W + ux, kind="stable")
        mu = np.log(u.demand_mean) - u.demand_sigma**2 / 2
        s.u_demand[:] = rng.lognormal(mu, u.demand_sigma, w.users)
        s.u_elast[:] = np.clip(rng.normal(u.elasticity_mean, u.elasticity_sd, w.users), -3.0, -0.05)
        home = np.bincount(s.u_cell, weights=s.u_demand, minlength=s.ncell).reshape(H, W)
        size = 2 * u.search_radius + 1
        pull = ndimage.uniform_filter(home, size=size, mode="wrap" if w.torus else "constant") * size * size
        s.cell_pull[:] = np.maximum(pull.ravel(), 0.0)
        # organisations: home bases at demand clusters, territories by proximity
        ruth = orgs.draw_ruthlessness(rng, po.ruthlessness_mean, po.ruthlessness_cv, size=w.organizations)
        bases = centres[rng.permutation(w.hotspots)[: w.organizations] % w.hotspots]
        if w.organizations > w.hotspots:
            extra = np.column_stack([rng.uniform(0, W, w.organizations - w.hotspots),
                                     rng.uniform(0, H, w.organizations - w.hotspots)])
            bases = np.vstack([bases, extra])
        for i in range(w.organizations):
            orgs.new_org(s, 0, po.initial_cash, float(ruth[i]))
        # dealers where demand is, without two on one cell at the start
        p = s.cell_pull / s.cell_pull.sum()
        cells = rng.choice(s.ncell, size=w.dealers, replace=False, p=p)
        cx, cy = cells % W, cells // W
        dxy = np.abs(cx[:, None] - bases[None, :, 0]) + np.abs(cy[:, None] - bases[None, :, 1])
        owner = np.argmin(dxy + rng.exponential(3.0, dxy.shape), axis=1)
        expected_sales = w.users * u.demand_mean / w.dealers
        for c, o in zip(cells, owner):
            d = orgs.new_dealer(s, int(c), int(o), 0, sc.supply.initial_retail_price, sc.market.initial_dealer_cash)
            s.d_inv[d] = sc.supply.stock_weeks * expected_sales
            s.d_sales_avg[d] = expected_sales
        orgs.count_members(s, 0)
        for o in range(w.organizations):
            members = np.flatnonzero((s.d_active == 1) & (s.d_org == o))
            if members.size == 0:
                continue
            members = members[rng.permutation(members.size)]
            s.d_rank[members[0]] = LEADER
            s.o_leader[o] = members[0]
            n_lt = int(round(po.lieutenant_ratio * members.size))
            s.d_rank[members[1 : 1 + n_lt]] = LIEUTENANT
            s.o_stock[o] = sc.supply.stock_weeks * expected_sales * members.size
            s.o_sales_avg[o] = expected_sales * members.size
            s.o_revenue_avg[o] = s.o_sales_avg[o] * sc.supply.initial_retail_price
        # officers
        sig = e.integrity_sigma
        s.f_integrity[:] = rng.lognormal(np.log(e.integrity_mean) - sig**2 / 2, sig, e.officers)
        s.f_cell[:] = rng.integers(0, s.ncell, e.officers)
        s.f_uid[:] = np.arange(e.officers)
        s.next_uid[2] = e.officers
        # opening balances
        self.ledger["imported"] = float(seqsum(s.o_stock) + seqsum(s.d_inv))
        self.ledger["cash_initial"] = self._cash()
        self.week = 0
        self._work = allocate_workspace(s)
        self._init_agents()

    def _cash(self) -> float:
        s = self.state
        return float(s.o_cash[s.o_active == 1].sum() + s.d_cash[s.d_active == 1].sum())

    def _init_agents(self) -> None:
        s = self.state
        self.user_agents = [User(self, i) for i in range(s.u_cell.size)] if self.params.world.mesa_user_agents else []
        self._dealer_agents: dict[int, Dealer] = {}
        self._org_agents: dict[int, Organization] = {}
        self._officer_agents: dict[int, Officer] = {}
        self._sync_agents()

    def _sync_agents(self) -> None:
        """Keep one Mesa agent per occupied dealer/organisation slot and per officer.

        ``self._agent_uid[kind][slot]`` is the uid of the agent held for the slot (-1: none), so
        that only the slots that changed are visited (a Python loop over every slot cost ~40 ms
        a week at 10^6 users). Agents are created in ascending slot order, as before.
        """
        s = self.state
        if not hasattr(self, "_agent_uid"):
            self._agent_uid = {"dealer": np.full(s.max_dealers, -1, np.int64),
                               "org": np.full(s.max_orgs, -1, np.int64),
                               "officer": np.full(s.f_uid.size, -1, np.int64)}
            self._officers_on = np.ones(s.f_uid.size, np.int8)
        for kind, pool, active, uids, cls in (
            ("dealer", self._dealer_agents, s.d_active, s.d_uid, Dealer),
            ("org", self._org_agents, s.o_active, s.o_uid, Organization),
            ("officer", self._officer_agents, self._officers_on, s.f_uid, Officer),
        ):
            held = self._agent_uid[kind]
            gone, new = agent_changes(active, uids, held)
            for slot in gone.tolist():
                pool.pop(slot).remove()
                held[slot] = -1
            for slot in new.tolist():
                pool[slot] = cls(self, slot, int(uids[slot]))
                held[slot] = uids[slot]

    @property
    def grid(self):
        """The city as a ``mesa.discrete_space.OrthogonalMooreGrid`` (built on first use)."""
        if self._grid is None:
            from mesa.discrete_space import OrthogonalMooreGrid

            w = self.params.world
            self._grid = OrthogonalMooreGrid((w.width, w.height), torus=w.torus, random=self.random)
        return self._grid

    def dealer_agent(self, slot: int):
        return self._dealer_agents.get(int(slot))

    def organization_agent(self, slot: int):
        return self._org_agents.get(int(slot))

    # --------------------------------------------------------------- schedule
    def step(self) -> None:
        """One week, in the order of DESIGN section 3."""
        self._week(record=True)

    def _burn_in(self, weeks: int) -> None:
        """Let the market settle for ``weeks`` under minimal random patrol (the baseline
        allocation, whatever the scenario's policy) before the experiment starts. Nothing is
        recorded; every policy on the same seed starts its first week from the same settled city."""
        policy, self.policy = self.policy, NoStrategy(self.params.enforcement)
        profile, self.profile = self.profile, False
        for _ in range(weeks):
            self._week(record=False)
        self.policy, self.profile = policy, profile
        self.announced_target = -1
        self._reset_deterrence()
        self._sync_agents()

    def _reset_deterrence(self) -> None:
        """Targeted-deterrence bookkeeping (the policy period starts with none of it)."""
        no = self.state.max_orgs
        self._last_org_incidents = np.zeros(no)  # attributed incidents last week, as the policy counts them
        self._last_org_homicides = np.zeros(no)  # of which killed someone (turf and succession fights)
        self._attr_turf_kills = np.zeros(no, np.int64)
        self.services_exits = 0  # street members who took the offer of services at a call-in
        self._attr_turf = np.zeros(no, self.state.o_attributed.dtype)
        self.threat_acted = False  # the named target got focus this week
        self._acted_target = -1  # the last target enforcement acted on
        self._crackdowns_started = 0
        self._top_violent = -1
        self._called_uid = np.full(no, -1, np.int64)
        self._lead = np.zeros(no)  # 1 where an announced queue tells a group its next offence makes it the target  # uid of the organisation a slot's call-in reached

    def _week(self, record: bool) -> None:
        self.week += 1
        t = self.week
        self._recording = record
        self._timed("begin_week", self._begin_week, t)
        self._timed("import", self._import_and_interdiction, t)
        self._timed("allocation", self._allocate_enforcement, t)
        self._timed("corruption", self._corruption, t)
        self._timed("market", self._retail_market, t)
        self._timed("policing", self._policing, t)
        self._timed("violence", self._violence, t)
        self._timed("succession", self._succession, t)
        self._timed("entry_exit", self._entry_exit_recruitment_displacement, t)
        self._timed("learning", self._learning, t)
        self._timed("record", self._record, t)
        if self.profile:
            self.profiled_steps += 1

    def _timed(self, name, fn, t):
        if not self.profile:
            fn(t)
        else:
            t0 = time.perf_counter()
            fn(t)
            self.process_times[name] += time.perf_counter() - t0
        if (self.state.max_dealers, self.state.max_orgs) != self._pool_sizes:
            self._fit_pools()

    def _fit_pools(self) -> None:
        """A pool grew (:func:`marketsim.state.grow`): the model's own per-slot arrays and the
        kernels' work buffers follow, with the values of free slots in the new slots."""
        s = self.state
        nd, no = s.max_dealers, s.max_orgs

        def pad(a, n, fill):
            if a.shape[0] >= n:
                return a
            out = np.full((n,) + a.shape[1:], fill, a.dtype)
            out[: a.shape[0]] = a
            return out

        for name, fill in (("_invest_split", 0), ("_last_org_arrests", 0), ("_last_org_incidents", 0),
                           ("_attr_turf", 0), ("_called_uid", -1), ("_lead", 0), ("_stockout_share", 0),
                           ("_last_org_homicides", 0), ("_attr_turf_kills", 0)):
            if hasattr(self, name):
                setattr(self, name, pad(getattr(self, name), no, fill))
        if hasattr(self, "life"):  # the week's per-organisation record
            for name in ("org_suffered", "org_homicides", "org_attr_homicides"):
                setattr(self.life, name, pad(getattr(self.life, name), no, 0))
        if hasattr(self, "_agent_uid"):
            self._agent_uid["dealer"] = pad(self._agent_uid["dealer"], nd, -1)
            self._agent_uid["org"] = pad(self._agent_uid["org"], no, -1)
        if hasattr(self, "_work"):
            self._work = allocate_workspace(s)
        self._pool_sizes = (nd, no)

    def profile_report(self) -> pd.DataFrame:
        """Where the time went, from ``profile=True`` (or ``model.profile = True`` set later).

        One row per process (see :data:`PROCESSES`) and a ``total`` row: ``seconds`` over the
        profiled weeks, ``share`` of the total, ``ms_per_step`` and ``ns_per_agent_step`` (agents:
        users, initial dealers and officers). ``model.process_times`` holds the raw seconds and
        ``model.profiled_steps`` the number of weeks; clear both to start again.

        >>> m = DrugMarketModel(scenario, seed=1, profile=True)
        >>> m.run(52)
        >>> m.profile_report()
        """
        w = self.params.world
        agents = w.users + w.dealers + self.params.enforcement.officers
        steps = max(self.profiled_steps, 1)
        rows = [(p, self.process_times.get(p, 0.0)) for p in PROCESSES]
        rows += [(p, v) for p, v in self.process_times.items() if p not in PROCESSES]
        df = pd.DataFrame(rows, columns=["process", "seconds"])
        total = df["seconds"].sum()
        df.loc[len(df)] = ["total", total]
        df["share"] = df["seconds"] / total if total > 0 else np.nan
        df["ms_per_step"] = df["seconds"] / steps * 1e3
        df["ns_per_agent_step"] = df["seconds"] / steps / agents * 1e9
        return df.set_index("process")

    def run(self, steps: int | None = None, progress: bool = False) -> DrugMarketModel:
        """Run ``steps`` weeks (default: the scenario's ``world.steps``)."""
        n = self.params.world.steps if steps is None else steps
        it = range(n)
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc=self.params.name, unit="week")
        for _ in it:
            self.step()
        return self

    # -------------------------------------------------------------- processes
    def _begin_week(self, t: int) -> None:
        s, e = self.state, self.params.enforcement
        self.c = defaultdict(float)  # this week's counts
        self.life = orgs.LifeCycleCounts()
        # the per-organisation record of the week (``organizations_table``); no draws
        self.life.org_suffered = np.zeros(s.max_orgs, np.int64)
        self.life.org_homicides = np.zeros(s.max_orgs, np.int64)
        self.life.org_attr_homicides = np.zeros(s.max_orgs, np.int64)  # attributed incidents that killed
        self._stockout_share = np.empty(s.max_orgs)
        s.cell_deaths[:] = 0
        s.cell_arrests[:] = 0
        s.o_police_prev[:] = s.o_police_attacks
        s.o_police_attacks[:] = 0
        reset_week(s.cell_incidents, s.cell_sales, s.cell_unmet, s.d_active, s.d_org, s.d_sales, s.d_stockout,
                   s.o_street, s.o_violence, s.o_violence_prev, s.o_attributed, s.o_arrests, s.o_bribes,
                   self._stockout_share)
        # officers killed or dismissed last week are replaced by new, clean officers
        out = np.flatnonzero(s.f_out == 1)
        if out.size:
            rng = self.streams["enforcement"]
            sig = e.integrity_sigma
            s.f_integrity[out] = rng.lognormal(np.log(e.integrity_mean) - sig**2 / 2, sig, out.size)
            s.f_corrupt_by[out] = -1
            s.f_bribe[out] = 0.0
            s.f_refused_by[out] = -1
            s.f_arrests[out] = 0
            s.f_uid[out] = s.next_uid[2] + np.arange(out.size)
            s.next_uid[2] += out.size
            s.f_out[out] = 0
        orgs.release_prisoners(s, t, self.params, self.streams["organizations"], self.life)
        orgs.count_members(s, t)

    def _unit_cost(self) -> np.ndarray:
        sp = self.params.supply
        s = self.state
        return np.where(s.o_members <= 1, sp.wholesale_price * sp.independent_markup, sp.wholesale_price)

    def _import_and_interdiction(self, t: int) -> None:
        s, sp, e = self.state, self.params.supply, self.params.enforcement
        cost = self._unit_cost()
        order = supply.order_volume(s, s.o_street, sp.stock_weeks, cost, np.minimum(self._stockout_share, 1.0))
        shipped, seized, paid, inspected = supply.import_and_interdict(
            s, order, sp.import_volume, e.interdiction_capacity, e.interdiction_hit_rate,
            self._interdiction_weights, cost, self.streams["enforcement"])
        supply.distribute(s, t, sp.stock_weeks, sp.transfer_price)
        self.c["imported"] = shipped
        self.c["interdicted"] = seized
        self.c["effort_inspection"] = inspected
        self.ledger["imported"] += shipped
        self.ledger["seized"] += seized
        self.ledger["import_paid"] += paid
        bucket_street_dealers(s.d_active, s.d_jail_until, s.d_cell, t, s.ncell, s.cell_start, s.cell_list,
                              s.cell_dealers)

    def observe(self, t: int) -> Observation:
        """What the agency sees (estimates, not the true state): last week's sales in the cells its
        officers covered (``cell_sales``), reported violence and the violence attributed to each
        organisation (with ``attribution_rate``), its arrests, an intelligence estimate of each
        organisation's sales (true smoothed sales x lognormal error ``intelligence_noise``) and, for
        each organisation, the cells where its officers last saw its street dealers (``org_cells``:
        dealers never seen are unknown; those who moved since are looked for where they were)."""
        s, e = self.state, self.params.enforcement
        # the police see the dealers in the cells they covered last week (cell_police still holds it)
        street = np.flatnonzero((s.d_active == 1) & (s.d_jail_until <= t))
        seen_now = street[s.cell_police[s.d_cell[street]] > 0]
        s.d_seen_cell[seen_now] = s.d_cell[seen_now]
        known = street[s.d_seen_cell[street] >= 0]
        by_org = s.d_org[known]
        order = np.argsort(by_org, kind="stable")
        bounds = np.zeros(s.max_orgs + 1, np.int64)
        np.cumsum(np.bincount(by_org, minlength=s.max_orgs), out=bounds[1:])
        org_cells = OrgCells(s.d_seen_cell[known][order], bounds)
        # one draw per active organisation, in slot order (a draw per slot made the stream, and so
        # the whole run, depend on the pool size)
        org_sales = s.o_sales_avg.copy()
        if e.intelligence_noise > 0:
            act = np.flatnonzero(s.o_active == 1)
            org_sales[act] *= self.streams["enforcement"].lognormal(0.0, e.intelligence_noise, act.size)
        return Observation(
            step=self.steps, width=s.width, height=s.height,
            cell_sales=self._last_cell_sales,  # a snapshot taken after last week's market, not live state
            cell_violence=s.cell_violence.copy(), cell_district=s.cell_district,
            org_active=s.o_active == 1, org_sales=org_sales, org_violence=s.o_violence_attr.copy(),
            org_arrests=self._last_org_arrests,  # likewise, after last week's policing
            org_cells=org_cells, params=self.params.enforcement,
            org_members=s.o_members.copy(), org_incidents=self._last_org_incidents.copy(),
            org_homicides=self._last_org_homicides.copy(),
        )

    def _allocate_enforcement(self, t: int) -> None:
        s, e = self.state, self.params.enforcement
        rng = self.streams["enforcement"]
        obs = self.observe(t)
        alloc: Allocation = self.policy.allocate(obs)
        rec = np.where(obs.org_active, obs.org_violence, -1.0)
        self._top_violent = int(np.argmax(rec)) if rec.max(initial=-1.0) > 0 else -1
        active = s.o_active == 1
        # officers' posts, drawn in proportion to the cell weights
        w = alloc.cell_weight
        if w is None or not np.isfinite(w).all() or w.sum() <= 0:
            s.f_cell[:] = rng.integers(0, s.ncell, s.f_cell.size)
        else:
            cdf = np.cumsum(np.maximum(w, 0.0))
            s.f_cell[:] = np.minimum(np.searchsorted(cdf, rng.random(s.f_cell.size) * cdf[-1], side="right"),
                                     s.ncell - 1)
        officer_coverage(s.f_cell, s.f_out, e.patrol_radius, s.width, s.height, s.torus, s.cell_police)
        # the patrol budget committed this week: every officer on duty is posted (officers lost to
        # attacks or internal affairs later in the week are counted in officers_killed / corrupt_detected)
        on_duty = s.f_out == 0
        self.c["effort_patrol"] = float(np.count_nonzero(on_duty))
        self._dist_officers = np.bincount(s.cell_district[s.f_cell[on_duty]], minlength=self._work.n_districts)
        s.o_focus[:] = 0.0 if alloc.org_focus is None else np.clip(alloc.org_focus, 0.0, 1.0) * active
        # the policy's split of investigator time; what it leaves unused (or ``None``: all of it)
        # follows the arrests (``k_policing.investigation_split``)
        inv = np.zeros(s.max_orgs) if alloc.investigation_weight is None else np.maximum(alloc.investigation_weight, 0)
        inv = inv * active
        inv_total = seqsum(inv)
        s.o_invest_w[:] = inv / inv_total if inv_total > 0 else 0.0
        self._interdiction_weights = None if alloc.interdiction_weight is None else \
            np.maximum(alloc.interdiction_weight, 0.0) * active
        self.announced_target = int(alloc.announced_target)
        # the threat is carried out when the named target also gets enforcement's focus
        a = self.announced_target
        self.threat_acted = bool(0 <= a < s.max_orgs and s.o_focus[a] > 0)
        self._crackdowns_started = int(self.threat_acted and a != self._acted_target)
        if self.threat_acted:
            self._acted_target = a
        if alloc.call_in:
            self._call_in(rng)
        self._lead[:] = 0.0
        if alloc.queue is not None:  # a public queue: the head, or everyone while it is empty
            if len(alloc.queue) == 0:
                self._lead[:] = 1.0
            else:
                self._lead[int(alloc.queue[0])] = 1.0
        # what each organisation sees of the police around its street dealers
        k_policing.cell_focus_weight(s.cell_start, s.cell_list, s.d_active, s.d_jail_until, s.d_org, s.o_focus,
                                     e.focus_multiplier, t, self._cell_w)
        exposure(s.d_active, s.d_jail_until, s.d_org, s.d_cell, t, s.cell_police, s.cell_dealers, self._cell_w,
                 s.o_focus, e.focus_multiplier, s.o_street, self._work.org_scratch, s.o_exposure)

    def _call_in(self, rng) -> None:
        """The rule is announced: each active organisation the call-in reaches (probability
        ``call_in_reach``; no draw when it is 1) and that had not heard it before adds
        ``announcement_weight`` pseudo-cases, a ``prior_credibility`` share of them answered, to
        its beliefs that violence is answered (as the most violent group and otherwise: the rule
        promises an answer to every group whose members offend). A group hears the rule once
        (later call-ins reach newcomers); from then on what it observes moves the belief: a
        named target acted on or left alone (:func:`marketsim.kernels.books.learn`)."""
        s, e = self.state, self.params.enforcement
        active = s.o_active == 1
        if e.call_in_reach < 1.0:  # one draw per active organisation (not per slot: pool-size free)
            act = np.flatnonzero(active)
            active[act] = rng.random(act.size) < e.call_in_reach
        if e.services_uptake > 0:
            self._services(active)
        active &= self._called_uid != s.o_uid
        self._called_uid[active] = s.o_uid[active]
        wgt, cred = e.announcement_weight, e.prior_credibility
        for num, den in ((s.o_vtop_num, s.o_vtop_den), (s.o_voth_num, s.o_voth_den)):
            num[active] += cred * wgt
            den[active] += wgt

    def _services(self, reached: np.ndarray) -> None:
        """``enforcement.services_uptake``: at a call-in, each street member (the leader excepted) of
        every group of two or more the call-in reached takes the offer of services and leaves the
        trade with this probability (one draw per member from the ``services`` stream, in slot
        order; an assumption: evaluations report offers, not an agreed uptake share, Braga et al.
        2018). A leaver's stock goes back to the organisation, its cash leaves the market (as a
        dealer who quits); counted in ``model.services_exits`` (summary ``services_exits``)."""
        s, t = self.state, self.week
        groups = reached & (s.o_members >= 2)
        cand = np.flatnonzero((s.d_active == 1) & (s.d_jail_until <= t) & (s.d_rank != LEADER))
        cand = cand[groups[s.d_org[cand]]]
        if cand.size == 0:
            return
        leave = cand[self.streams["services"].random(cand.size) < self.params.enforcement.services_uptake]
        for d in leave.tolist():
            s.o_stock[s.d_org[d]] += s.d_inv[d]
            s.d_inv[d] = 0.0
            self.life.exit_cash += s.d_cash[d]
            s.d_cash[d] = 0.0
            s.d_active[d] = 0
        self.life.dealer_exits += int(leave.size)
        self.services_exits += int(leave.size)
        if leave.size:
            orgs.count_members(s, t)
            bucket_street_dealers(s.d_active, s.d_jail_until, s.d_cell, t, s.ncell, s.cell_start, s.cell_list,
                                  s.cell_dealers)

    def _corruption(self, t: int) -> None:
        s, e, po = self.state, self.params.enforcement, self.params.organizations
        counts = np.zeros(k_corruption.N_COUNTS)
        k_corruption.corruption(
            s.f_cell, s.f_out, s.f_integrity, s.f_corrupt_by, s.f_corrupt_gen, s.f_bribe, s.f_refused_by,
            s.f_refused_until, t, po.refusal_memory, e.patrol_radius,
            s.width, s.height, s.torus, s.d_org, s.o_active, s.o_gen, s.o_cash, s.o_bribes, s.o_trade_num,
            s.o_trade_den, s.o_revenue_avg, s.o_members, s.o_ruth, s.o_violence, s.o_attributed,
            s.o_police_attacks, s.o_pnum, s.o_pnum_den, s.o_loss_num, s.o_loss_den, s.o_threat_att, s.o_threat_ref,
            s.cell_start, s.cell_list, s.cell_incidents, s.cell_deaths,
            e.officer_wage, e.detection_prob, e.penalty_weeks, e.sentence_weeks, po.bribe_share,
            po.bribe_cash_share, po.prior_a, po.prior_b, po.attack_cost, po.decision_noise,
            orgs._loss_prior(self.params), po.response_weeks, po.officer_harm_weeks, po.police_lethality,
            e.attribution_rate, counts, self.streams["organizations"])
        self.ledger["attack_spend"] += counts[k_corruption.SPENT]
        self.c["bribes_paid"] = counts[k_corruption.BRIBES_PAID]
        self.c["new_corrupt"] = counts[k_corruption.NEW_CORRUPT]
        self.c["bribes_refused"] = counts[k_corruption.REFUSED]
        self.c["violence_against_police"] = counts[k_corruption.ATTACKS_ON_POLICE]
        self.c["officers_killed"] = counts[k_corruption.OFFICERS_KILLED]
        self.c["corrupt_detected"] = counts[k_corruption.DETECTED]
        self.ledger["bribes"] += counts[k_corruption.BRIBES_PAID]
        if counts[k_corruption.OFFICERS_KILLED] + counts[k_corruption.DETECTED] > 0:
            # officers killed or dismissed are off the street for the rest of the week
            officer_coverage(s.f_cell, s.f_out, e.patrol_radius, s.width, s.height, s.torus, s.cell_police)

    def _retail_market(self, t: int) -> None:
        s, u, sp, e = self.state, self.params.users, self.params.supply, self.params.enforcement
        wk = self._work
        if not np.array_equal(wk.u_cell_seen, s.u_cell):  # users moved home: rebuild the home-cell index
            self._work = wk = allocate_workspace(s)
        po = self.params.organizations
        # each organisation's openness to strangers, from the arrest risk its own arrests taught it
        o_open = stranger_openness(s.o_trade_num, s.o_trade_den, po.prior_a, po.prior_b,
                                   self.params.market.stranger_caution)
        sold, unmet, served, strangers, no_contact, approached, refused = run_market(s, wk, t, u, o_open, self.streams["market"])
        # member dealers hand the organisation its share of the retail margin
        revenue = wk.revenue
        settle_sales(s.d_active, s.d_org, s.d_sales, s.d_price, s.d_cash, sp.dealer_margin_share, sp.transfer_price,
                     s.o_cash, s.o_sales, s.o_revenue, wk.org_scratch, revenue)
        revenue_total = float(seqsum(revenue))
        self.ledger["sold"] += sold
        self.ledger["revenue"] += revenue_total
        act = s.d_active == 1
        unit_cost = wk.unit_cost
        unit_cost[:] = sp.transfer_price
        update_prices(s.d_active, s.d_jail_until, t, s.d_cell, s.d_org, s.d_price, s.d_sales, s.d_sales_avg,
                      s.d_inv, s.d_stockout, unit_cost, s.cell_police, s.cell_dealers, sp.risk_premium,
                      e.arrest_k, sp.price_adjustment, 0.3)
        self.c["quantity_sold"] = sold
        self.c["unmet_demand"] = unmet
        self.c["users_served_share"] = served / max(s.u_cell.size, 1)
        # (the two sums group the same purchases differently: clip the last bit of rounding)
        self.c["stranger_sales_share"] = min(strangers / sold, 1.0) if sold > 0 else 0.0
        self.c["users_without_contact"] = no_contact / max(s.u_cell.size, 1)
        self.c["stranger_refusal_share"] = refused / approached if approached > 0 else np.nan
        self.c["retail_price"] = float(revenue_total / sold) if sold > 0 else float(
            np.mean(s.d_price[act])) if act.any() else np.nan
        # concentration of this week's sales
        shares = s.o_sales[s.o_active == 1]
        self.c["hhi"] = hhi(shares)
        self.c["hhi_organizations"] = hhi(s.o_sales[(s.o_active == 1) & (s.o_members >= 2)])
        self.c["largest_share"] = float(shares.max() / shares.sum()) if shares.sum() > 0 else np.nan
        nd = wk.n_districts
        sold_d = np.flatnonzero(act & (s.d_sales > 0))
        dist_sales = np.empty(nd)
        local = np.empty(nd)
        district_sales_hhi(sold_d, s.d_cell, s.d_org, s.d_sales, s.cell_district, nd, s.max_orgs, dist_sales, local)
        self.c["local_hhi"] = float(np.nansum(local * dist_sales) / dist_sales.sum()) if dist_sales.sum() > 0 \
            else np.nan
        self._dist_sales, self._dist_hhi = dist_sales, local
        self.c["active_market_cells"] = int(np.count_nonzero(s.cell_sales))
        # what the agency sees of the week's sales: all of it in the cells its officers covered,
        # what informants report elsewhere
        self._last_cell_sales = np.where(s.cell_police > 0, s.cell_sales, e.informant_share * s.cell_sales)

    def _policing(self, t: int) -> None:
        s, e = self.state, self.params.enforcement
        counts = np.zeros(k_policing.N_COUNTS)
        on_duty = s.f_out == 0
        paid = np.bincount(s.f_corrupt_by[on_duty & (s.f_corrupt_by >= 0)], minlength=s.max_orgs)
        k_policing.policing(
            s.f_cell, s.f_out, s.f_corrupt_by, s.f_arrests, e.patrol_radius, s.width, s.height, s.torus,
            s.d_active, s.d_jail_until, s.d_org, s.d_rank, s.d_inv, s.d_cash,
            s.o_focus, s.o_arrests, s.o_invest_w, s.o_street, s.o_members,
            s.cell_start, s.cell_list, s.d_cell, s.cell_arrests,
            t, e.arrest_k, e.focus_multiplier, e.sentence_weeks, e.leader_sentence_weeks, e.cash_seizure_share,
            e.investigation_k, e.investigators, paid.astype(np.float64), float(s.f_out.size), e.tipoff_team,
            self._cell_w, self._invest_split, counts, self.streams["enforcement"])
        sh = self.params.shock
        if sh.arrest_share > 0 and self._recording and self.steps == sh.week:
            self._shock(t, counts)
        self.c["effort_investigation"] = counts[k_policing.INVESTIGATION_EFFORT]
        self.c["arrest_attempts"] = counts[k_policing.ARREST_ATTEMPTS]
        self.c["tipoffs"] = counts[k_policing.TIPOFFS]
        self.c["arrests"] = counts[k_policing.ARRESTS]
        self.c["lieutenant_arrests"] = counts[k_policing.LIEUT_ARRESTS]
        self.c["leader_arrests"] = counts[k_policing.LEADER_ARRESTS]
        self.c["street_seizures"] = counts[k_policing.SEIZED_UNITS]
        self.c["enforcement_neutralised"] = counts[k_policing.NEUTRALISED]
        self.ledger["seized"] += counts[k_policing.SEIZED_UNITS]
        self.ledger["cash_seized"] += counts[k_policing.SEIZED_CASH]
        self._last_org_arrests = s.o_arrests.copy()

    def _shock(self, t: int, counts: np.ndarray) -> None:
        """``[shock]``: one arrest operation against one organisation (an experiment's lever, not a
        policy; it reads no policy). The target is the organisation of two or more with most members
        (street and prison; ties: lowest slot); ``round(arrest_share x street members)`` of its street
        members (at least one), drawn without replacement from the ``shock`` stream, are arrested as
        patrol arrests are (sentences, seizures, the organisation's arrest record it learns from)."""
        s, e = self.state, self.params.enforcement
        rng = self.streams["shock"]
        members = np.where((s.o_active == 1) & (s.o_members >= 2), s.o_members, -1)
        if members.max(initial=-1) < 2:
            return
        o = int(np.argmax(members))
        street = np.flatnonzero((s.d_active == 1) & (s.d_org == o) & (s.d_jail_until <= t))
        if street.size == 0:
            return
        n = min(street.size, max(1, int(round(self.params.shock.arrest_share * street.size))))
        picked = np.sort(rng.choice(street, size=n, replace=False))
        for d in picked.tolist():
            boss = s.d_rank[d] > 0 and s.o_members[o] >= 3
            s.cell_arrests[s.d_cell[d]] += 1
            s.d_jail_until[d] = t + 1 + int(rng.exponential(e.leader_sentence_weeks if boss else e.sentence_weeks))
            counts[k_policing.SEIZED_UNITS] += s.d_inv[d]
            s.d_inv[d] = 0.0
            if s.d_cash[d] > 0.0:
                taken = e.cash_seizure_share * s.d_cash[d]
                counts[k_policing.SEIZED_CASH] += taken
                s.d_cash[d] -= taken
            s.o_arrests[o] += 1
            counts[k_policing.ARRESTS] += 1.0
            if boss and s.d_rank[d] == LIEUTENANT:
                counts[k_policing.LIEUT_ARRESTS] += 1.0
            elif boss and s.d_rank[d] == LEADER:
                counts[k_policing.LEADER_ARRESTS] += 1.0
        self.shock_record = {"step": int(self.steps), "slot": o, "org": int(s.o_uid[o]),
                             "street_before": int(street.size), "arrested": int(n)}

    def _violence(self, t: int) -> None:
        s, e, po = self.state, self.params.enforcement, self.params.organizations
        counts = np.zeros(k_violence.N_COUNTS)
        self._attr_turf[:] = s.o_attributed  # attributed so far this week: attacks on police
        k_violence.violence(
            s.d_active, s.d_jail_until, s.d_cell, s.d_org, s.d_price, s.d_sales_avg, s.d_inv, s.d_cash,
            s.o_cash, s.o_ruth, s.o_revenue_avg, s.o_members, s.o_vtop_num, s.o_vtop_den, s.o_voth_num,
            s.o_voth_den, s.o_violence_own, s.o_active, s.o_violence,
            s.o_attributed, s.o_griev_org, s.o_griev, s.o_loss_num, s.o_loss_den,
            s.cell_start, s.cell_list, s.cell_incidents, s.cell_deaths, s.width, s.height, s.torus, t,
            1, po.contest_horizon, po.attack_cost, po.retaliation_weeks, orgs._loss_prior(self.params),
            po.response_weeks, e.sentence_weeks, po.grievance_value, 1.0 - po.grievance_decay, po.decision_noise,
            po.lethality, self.params.market.move_radius, e.attribution_rate, po.prior_a, po.prior_b, self._lead, counts,
            self.streams["violence"], self.life.org_suffered, self.life.org_homicides, self.life.org_attr_homicides)
        self._attr_turf_kills = self.life.org_attr_homicides.copy()  # turf only (succession fights come later)
        self._attr_turf[:] = s.o_attributed - self._attr_turf  # attributed turf attacks only
        self.c["violence_turf"] = counts[k_violence.INCIDENTS]
        self.c["turf_deaths"] = counts[k_violence.DEATHS]
        self.ledger["attack_spend"] += counts[k_violence.SPENT]

    def _succession(self, t: int) -> None:
        orgs.succession(self.state, t, self.params, self.streams["organizations"], self.life)

    def _entry_exit_recruitment_displacement(self, t: int) -> None:
        s, m, e = self.state, self.params.market, self.params.enforcement
        rng = self.streams["organizations"]
        orgs.exits(s, t, self.params, self.life)
        orgs.consolidate(s, t, self.params, rng, self.life)
        orgs.defect(s, t, self.params, rng, self.life)
        street = max(float(np.count_nonzero((s.d_active == 1) & (s.d_jail_until <= t))), 1.0)
        orgs.enter(s, t, self.params, rng, self.life, self.c["retail_price"], self.c["arrests"] / street)
        orgs.recruit(s, t, self.params, rng, self.life)
        bucket_street_dealers(s.d_active, s.d_jail_until, s.d_cell, t, s.ncell, s.cell_start, s.cell_list,
                              s.cell_dealers)
        self.c["displacement"] = move_dealers(
            s.d_active, s.d_jail_until, s.d_cell, s.d_moved, s.cell_pull, s.cell_dealers, s.cell_police, t,
            m.move_prob, m.move_radius, 4, e.arrest_k, m.police_aversion, s.width, s.height, s.torus,
            self.streams["movement"])
        self.ledger["seized"] += self.life.exit_stock
        self.ledger["recruit_spend"] += self.life.recruit_spend
        self.ledger["exit_cash"] += self.life.exit_cash
        self.ledger["entry_capital"] += self.life.entry_capital

    def _learning(self, t: int) -> None:
        """Organisations update what they believe from what they can observe (time-discounted
        Beta-prior frequencies; :func:`marketsim.kernels.books.learn`): their own arrests, whether
        their own violence and attacks on police were followed by a surge of police attention or
        by being publicly named, the named target's case and losses (public), attacks on police and
        their answer (public news, weight ``vicarious_weight``); never police records. Grievances
        between groups fade (``grievance_decay``)."""
        s, po = self.state, self.params.organizations
        wd = po.learning_discount
        # what the agency counts as each group's offences this week (``count_provoked``)
        self._last_org_incidents[:] = s.o_attributed if self.params.enforcement.count_provoked else self._attr_turf
        # and the attributed incidents that killed someone (``enforcement.trigger = "homicides"``);
        # attacks on police are not among them (the corruption kernel does not say which were lethal)
        self._last_org_homicides[:] = self.life.org_attr_homicides if self.params.enforcement.count_provoked \
            else self._attr_turf_kills
        learn(s.o_active, self._top_violent, wd, po.vicarious_weight,
              po.response_threshold, s.o_arrests, s.o_street, s.o_trade_num, s.o_trade_den, s.o_exposure,
              s.o_exposure_base, s.o_vtop_num, s.o_vtop_den, s.o_voth_num, s.o_voth_den,
              s.o_violence_attr, s.o_attributed, s.o_sales_avg, s.o_sales, s.o_revenue_avg, s.o_revenue,
              self.announced_target, s.o_violence_prev, s.o_police_prev, s.o_pnum, s.o_pnum_den, s.o_loss_num,
              s.o_loss_den, s.o_threat_att, s.o_threat_ref, self.threat_acted)
        decay_grievances(s.o_griev_org, s.o_griev, po.grievance_decay)
        # its own record of the incidents it started, smoothed as the police smooth theirs
        s.o_violence_own *= 0.75
        s.o_violence_own += 0.25 * s.o_violence
        decay_add(s.cell_violence, 0.8, s.cell_incidents)
        # turf: organisation with most street dealers in each cell (ties: lowest slot)
        turf_control(s.d_active, s.d_jail_until, s.d_cell, s.d_org, t, s.max_orgs, s.cell_control,
                     s.cell_control_since, self._work.key_buf)

    def _record(self, t: int) -> None:
        s, c, life = self.state, self.c, self.life
        orgs.count_members(s, t)
        active = s.o_active == 1
        # integer tallies in one compiled pass; the means below divide exact integer sums as np.mean does
        n_org, n_ind, jailed, street, in_use, corrupt, controlled, tenure = week_counts(
            s.o_active, s.o_members, s.d_active, s.d_jail_until, t, s.f_corrupt_by, s.cell_control,
            s.cell_control_since)
        w = np.where(active, s.o_members, 0).astype(float)
        weights = (w, seqsum(w))
        homicides = c["turf_deaths"] + life.succession_deaths + c["officers_killed"]
        row = {
            "step": t,
            "homicides": homicides,
            "homicide_rate": homicides * 52.0 / self.population * 1e5,
            "violent_incidents": c["violence_turf"] + life.succession_incidents + c["violence_against_police"],
            "violence_turf": c["violence_turf"],
            "violence_succession": life.succession_incidents,
            "violence_against_police": c["violence_against_police"],
            "officers_killed": c["officers_killed"],
            "corrupted_officer_share": corrupt / s.f_corrupt_by.size if s.f_corrupt_by.size else 0.0,
            "bribes_paid": c["bribes_paid"],
            "enforcement_neutralised": c["enforcement_neutralised"],
            "corrupt_detected": c["corrupt_detected"],
            "hhi": c["hhi"],
            "hhi_organizations": c["hhi_organizations"],
            "local_hhi": c["local_hhi"],
            "largest_share": c["largest_share"],
            "n_organizations": n_org,
            "n_independents": n_ind,
            "effective_organizations": 10000.0 / c["hhi"] if c["hhi"] > 0 else np.nan,
            "turf_tenure": tenure / controlled if controlled else np.nan,
            "retail_price": c["retail_price"],
            "quantity_sold": c["quantity_sold"],
            "unmet_demand": c["unmet_demand"],
            "users_served_share": c["users_served_share"],
            "stranger_sales_share": c["stranger_sales_share"],
            "users_without_contact": c["users_without_contact"],
            "stranger_refusal_share": c["stranger_refusal_share"],
            "wholesale_stock": float(s.o_stock[active].sum()),
            "imported": c["imported"],
            "arrests": c["arrests"],
            "lieutenant_arrests": c["lieutenant_arrests"],
            "leader_arrests": c["leader_arrests"],
            "seizures": c["interdicted"] + c["street_seizures"] + life.exit_stock,
            "interdicted": c["interdicted"],
            "incarcerated": jailed,
            "dealers": street,
            "dealer_pool_use": in_use / s.dealer_ceiling,
            "active_market_cells": c["active_market_cells"],
            "displacement": c["displacement"],
            "leader_removals": life.leader_removals,
            "splits": life.splits,
            "entrants": life.entrants,
            "perceived_arrest_risk": self._belief(s.o_trade_num, s.o_trade_den, weights),
            "perceived_response_top": self._belief(s.o_vtop_num, s.o_vtop_den, weights),
            "perceived_response_other": self._belief(s.o_voth_num, s.o_voth_den, weights),
            "policy_target": self.announced_target,
            "believed_response": self._believed_response(),
            "crackdown_targets": int(self.threat_acted),
            "crackdowns_started": self._crackdowns_started,
            "threat_carried_out_share": float(self.threat_acted) if self.announced_target >= 0 else np.nan,
            "effort_patrol": c["effort_patrol"],
            "effort_investigation": c["effort_investigation"],
            "effort_inspection": c["effort_inspection"],
            "arrest_attempts": c["arrest_attempts"],
        }
        if not self._recording:
            return
        row["step"] = self.steps
        self._rows.append(row)
        self._district_rows.append(self._district_row(self.steps))
        self._org_rows.append(self._org_row(self.steps, t))
        self._last = row
        self._sync_agents()
        self.datacollector.collect(self)

    def _district_row(self, step: int) -> np.ndarray:
        """This week's per-district outputs, one row per district (columns of :data:`DISTRICT_COLUMNS`)."""
        s = self.state
        nd = self._work.n_districts
        out = np.empty((nd, len(DISTRICT_COLUMNS)))
        out[:, 0] = step
        out[:, 1] = np.arange(nd)
        sums = np.empty((nd, 3))
        district_sums(s.cell_district, s.cell_deaths, s.cell_incidents, s.cell_arrests, sums)
        out[:, 2] = sums[:, 0]
        out[:, 3] = sums[:, 1]
        out[:, 4] = self._dist_sales
        out[:, 5] = self._dist_hhi
        out[:, 6] = sums[:, 2]
        out[:, 7] = self._dist_officers
        return out

    def _org_row(self, step: int, t: int) -> np.ndarray:
        """This week's per-organisation record: one row per organisation slot that is active or
        took part in an event this week (columns of :data:`ORG_COLUMNS`; ``removal`` as a code)."""
        s = self.state
        committed = s.o_violence.astype(np.int64) + s.o_police_attacks
        removed = np.zeros(s.max_orgs, np.int64)
        for o, how, _ in self.life.removed:
            removed[o] = how
        keep = np.flatnonzero((s.o_active == 1) | (committed > 0) | (self.life.org_suffered > 0)
                              | (self.life.org_homicides > 0) | (removed > 0))
        # each organisation's district: where most of its street dealers stand (-1: none on the street)
        district = np.full(s.max_orgs, -1, np.int64)
        street = np.flatnonzero((s.d_active == 1) & (s.d_jail_until <= t))
        if street.size:
            nd = self._work.n_districts
            key = s.d_org[street].astype(np.int64) * nd + s.cell_district[s.d_cell[street]]
            k, n = np.unique(key, return_counts=True)
            order = np.lexsort((-n, k // nd))  # by organisation, most dealers first (ties: lowest district)
            k = k[order]
            first = np.r_[True, k[1:] // nd != k[:-1] // nd]
            district[k[first] // nd] = k[first] % nd
        out = np.empty((keep.size, len(ORG_COLUMNS)))
        out[:, 0] = step
        out[:, 1] = s.o_uid[keep]
        par = s.o_parent[keep]
        out[:, 2] = np.where(par >= 0, s.o_uid[np.maximum(par, 0)], -1)
        out[:, 3] = keep
        out[:, 4] = s.o_members[keep]
        out[:, 5] = s.o_street[keep]
        out[:, 6] = district[keep]
        out[:, 7] = s.o_sales[keep]
        out[:, 8] = committed[keep]
        out[:, 9] = self.life.org_suffered[keep]
        out[:, 10] = self.life.org_homicides[keep]
        shocked = np.zeros(s.max_orgs, np.int64)
        if self.shock_record and self.shock_record["step"] == step:
            shocked[self.shock_record["slot"]] = self.shock_record["arrested"]
        out[:, 11] = shocked[keep]
        out[:, 12] = removed[keep] > 0
        out[:, 13] = removed[keep]
        return out

    def organizations_table(self) -> pd.DataFrame:
        """Per-organisation outputs, one row per recorded week and organisation (active, or party to
        an event that week): ``step``; ``org`` (a stable id: a slot reused by a new organisation gets
        a new one; factions of a split get new ids); ``parent`` (the id of the organisation it split from,
        as of the week recorded: exact in the week of the split; -1: none); ``slot``; ``members`` (street and prison) and
        ``street``; ``district`` (where most of its street dealers stand, -1: none); ``quantity_sold``;
        ``incidents_committed`` (turf attacks, succession fights it started, attacks on police);
        ``incidents_suffered`` (attacks on its members, turf and succession); ``homicides`` (deaths
        in turf and succession incidents it was party to, either side; officers killed are not
        attributed); ``shock_arrests`` (members arrested by the ``[shock]`` operation that week);
        ``leader_removed`` (1 in the week its leader's removal was noticed:
        succession began) and ``removal`` (``arrest``, ``killed``, ``other``, or empty)."""
        if not self._org_rows:
            df = pd.DataFrame({c: pd.Series(dtype=float) for c in ORG_COLUMNS[:-1]}).astype(ORG_DTYPES)
            df["removal"] = pd.Series(dtype=str)
            return df
        arr = np.vstack(self._org_rows)
        df = pd.DataFrame(arr[:, :-1], columns=ORG_COLUMNS[:-1]).astype(ORG_DTYPES)
        df["removal"] = pd.Series(arr[:, -1].astype(np.int64)).map(REMOVAL).to_numpy()
        return df

    def districts(self) -> pd.DataFrame:
        """Per-district outputs, one row per recorded week and district: ``step, district, homicides,
        violent_incidents, quantity_sold, hhi`` (of organisations' sales in the district, NaN where
        nothing was sold), ``arrests`` and ``officers`` (posted there). Districts are squares of
        ``world.district_size`` cells, numbered row by row from the top-left corner."""
        if not self._district_rows:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in DISTRICT_COLUMNS}).astype(DISTRICT_DTYPES)
        return pd.DataFrame(np.vstack(self._district_rows), columns=DISTRICT_COLUMNS).astype(DISTRICT_DTYPES)

    def _believed_response(self) -> float:
        """Mean over active organisations of the believed probability that their next violent act
        brings a crackdown: the 'most violent' belief for the group at the top of the police
        record (or for every group when no group has a record) and for groups an announced queue
        tells their next offence makes them the target, the 'other' belief for the rest (the
        sorting :func:`marketsim.kernels.books.learn` and the violence decision use)."""
        s, po = self.state, self.params.organizations
        act = np.flatnonzero(s.o_active == 1)
        if act.size == 0:
            return float("nan")
        top = (s.o_vtop_num[act] + po.prior_a) / (s.o_vtop_den[act] + po.prior_a + po.prior_b)
        oth = (s.o_voth_num[act] + po.prior_a) / (s.o_voth_den[act] + po.prior_a + po.prior_b)
        lead = (act == self._top_violent) | (self._top_violent < 0) | (self._lead[act] > 0)
        return float(np.where(lead, top, oth).mean())

    def _belief(self, num: np.ndarray, den: np.ndarray, weights=None) -> float:
        """Member-weighted mean of a learned risk over active organisations. ``weights``:
        ``(w, w.sum())`` when already computed (the same for the three beliefs of a week)."""
        s, po = self.state, self.params.organizations
        if weights is None:
            w = np.where(s.o_active == 1, s.o_members, 0).astype(float)
            weights = (w, seqsum(w))
        w, total = weights
        if total <= 0:
            return float("nan")
        risk = (num + po.prior_a) / (den + po.prior_a + po.prior_b)
        return float(seqsum(risk * w) / total)

    # ---------------------------------------------------------------- outputs
    def timeseries(self) -> pd.DataFrame:
        """One row per simulated week, columns as in :data:`marketsim.metrics.TIMESERIES_COLUMNS`."""
        return pd.DataFrame(self._rows, columns=TIMESERIES_COLUMNS)

    def summary(self) -> dict:
        """Run-level aggregates: totals of counts, last-quarter means of levels; ``services_exits``
        (street members who left through the offer of services, ``enforcement.services_uptake``)
        where that option is on."""
        out = summarize(self.timeseries())
        if self.params.enforcement.services_uptake > 0:
            out["services_exits"] = self.services_exits
        return out

    def stock_balance(self) -> dict:
        """Drug units: imported (incl. opening stock) vs seized + sold + held now."""
        s = self.state
        held = float(s.o_stock[s.o_active == 1].sum() + s.d_inv[s.d_active == 1].sum())
        return {"imported": self.ledger["imported"], "seized": self.ledger["seized"], "sold": self.ledger["sold"],
                "held": held}

    def money_balance(self) -> dict:
        """Dollars: cash now vs opening cash + inflows - outflows."""
        L = self.ledger
        expected = (L["cash_initial"] + L["revenue"] + L["entry_capital"] - L["import_paid"] - L["bribes"]
                    - L["attack_spend"] - L["recruit_spend"] - L["cash_seized"] - L["exit_cash"])
        return {"cash": self._cash(), "expected": expected}

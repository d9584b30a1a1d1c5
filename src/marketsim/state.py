"""The structure-of-arrays that the kernels work on.

Every agent population is a set of same-length numpy arrays indexed by a *slot*.
Dealers and organisations live in slot pools: a slot is free when ``*_active == 0``, and a
new agent takes the lowest free slot. A full pool doubles (:func:`grow`: every array is
copied into one twice as long, slot numbers unchanged) up to its ceiling; nothing the model
computes depends on the pool size, so a run is the same whatever the initial size. A reused organisation slot
bumps ``o_gen`` so that a dealer released from prison can tell whether the
organisation it left still exists.

Cells are indexed ``c = y * width + x``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

# dealer ranks
DEALER, LIEUTENANT, LEADER = 0, 1, 2
#: grievances an organisation remembers at once (the strongest are kept)
GRIEVANCE_SLOTS = 4
RANK_NAMES = ("dealer", "lieutenant", "leader")


@dataclass
class State:
    width: int
    height: int
    torus: bool
    # --- cells -----------------------------------------------------------
    cell_district: np.ndarray  # int32: district id
    cell_pull: np.ndarray  # float64: base weekly demand of users within reach (static)
    cell_police: np.ndarray  # int32: officers whose patrol covers the cell this week
    cell_violence: np.ndarray  # float64: exponentially decayed violent incidents
    cell_incidents: np.ndarray  # int32: incidents this week
    cell_deaths: np.ndarray  # int32: deaths from violence this week (dealers and officers)
    cell_arrests: np.ndarray  # int32: arrests made this week (dealers arrested in the cell)
    cell_sales: np.ndarray  # float64: units sold in the cell this week
    cell_unmet: np.ndarray  # float64: unmet demand of users living in the cell this week
    cell_control: np.ndarray  # int32: organisation with most street dealers, -1 none
    cell_control_since: np.ndarray  # int32: step since when cell_control holds
    cell_dealers: np.ndarray  # int32: street dealers in the cell (after bucketing)
    # --- users -----------------------------------------------------------
    u_cell: np.ndarray  # int32
    u_demand: np.ndarray  # float64: base weekly demand at the reference price
    u_elast: np.ndarray  # float64: price elasticity (<= 0)
    u_supplier: np.ndarray  # int32: dealer slot last bought from, -1
    u_bought: np.ndarray  # float64: units bought this week
    u_contacts: np.ndarray  # int32[users, contacts]: dealer slots the user knows, -1 empty (compacted)
    # --- dealers (slot pool) ----------------------------------------------
    d_active: np.ndarray  # int8: slot holds a dealer (free, in prison or on the street)
    d_uid: np.ndarray  # int64: unique id of the dealer in the slot
    d_cell: np.ndarray  # int32
    d_org: np.ndarray  # int32: organisation slot
    d_org_gen: np.ndarray  # int32: generation of that organisation slot
    d_rank: np.ndarray  # int8: DEALER, LIEUTENANT, LEADER
    d_inv: np.ndarray  # float64: units in hand
    d_price: np.ndarray  # float64: asking price (dollars/unit)
    d_cash: np.ndarray  # float64
    d_jail_until: np.ndarray  # int32: step of release; on the street when <= current step
    d_sales: np.ndarray  # float64: units sold this week
    d_sales_avg: np.ndarray  # float64: smoothed weekly sales
    d_stockout: np.ndarray  # int8: ran out of stock this week
    d_moved: np.ndarray  # int8: moved this week
    d_seen_cell: np.ndarray  # int32: cell where the police last saw the dealer (patrol coverage), -1 never
    d_known_uid: np.ndarray  # int64: the slot's dealer uid at the last market round (contacts follow a dealer, not a slot)
    d_known_jail: np.ndarray  # int32: his release week then (a new arrest changes it: contacts are lost)
    # --- organisations (slot pool) ------------------------------------------
    o_active: np.ndarray  # int8
    o_gen: np.ndarray  # int32
    o_uid: np.ndarray  # int64
    o_cash: np.ndarray  # float64
    o_stock: np.ndarray  # float64: wholesale stock (units)
    o_leader: np.ndarray  # int32: dealer slot of the leader, -1 when leaderless
    o_ruth: np.ndarray  # float64: ruthlessness (discount on costs of violence)
    o_founded: np.ndarray  # int32
    o_parent: np.ndarray  # int32: organisation it split from, -1
    o_members: np.ndarray  # int32: members (street + prison), recomputed each step
    o_street: np.ndarray  # int32: members on the street
    o_sales: np.ndarray  # float64: units sold this week
    o_sales_avg: np.ndarray  # float64: smoothed weekly sales
    o_revenue: np.ndarray  # float64: retail revenue of its dealers this week (dollars)
    o_revenue_avg: np.ndarray  # float64
    o_arrests: np.ndarray  # int32: members arrested this week
    o_violence: np.ndarray  # int32: incidents it started this week (true)
    o_violence_prev: np.ndarray  # int32: last week's
    o_attributed: np.ndarray  # int32: incidents attributed to it in police records this week
    o_violence_attr: np.ndarray  # float64: smoothed attributable violence (what police records show)
    o_violence_own: np.ndarray  # float64: smoothed incidents it started (its own record, known to it)
    o_trade_num: np.ndarray  # float64: discounted arrest events (learning)
    o_trade_den: np.ndarray  # float64: discounted member-weeks
    o_vtop_num: np.ndarray  # float64: discounted 'the most violent group's violence was answered' events
    o_vtop_den: np.ndarray  # float64: discounted cases of the most violent group
    o_voth_num: np.ndarray  # float64: same for violent groups that were not the most violent
    o_voth_den: np.ndarray  # float64
    o_exposure: np.ndarray  # float64: police presence around its members this week
    o_exposure_base: np.ndarray  # float64: smoothed exposure
    o_bribes: np.ndarray  # float64: bribes paid this week
    o_focus: np.ndarray  # float64: policy focus this week (0..1)
    o_interdict_w: np.ndarray  # float64: interdiction weight this week
    o_invest_w: np.ndarray  # float64: investigation weight this week
    o_griev_org: np.ndarray  # int32[max_orgs, GRIEVANCE_SLOTS]: organisations it holds a grievance against, -1
    o_griev: np.ndarray  # float64[max_orgs, GRIEVANCE_SLOTS]: decaying grievance (attacks suffered) against each
    o_police_attacks: np.ndarray  # int32: attacks on officers it committed this week
    o_police_prev: np.ndarray  # int32: last week's
    o_pnum: np.ndarray  # float64: discounted 'an attack on police was answered' events (learning)
    o_pnum_den: np.ndarray  # float64: discounted attacks on police observed
    o_loss_num: np.ndarray  # float64: discounted member arrests observed under enforcement responses
    o_loss_den: np.ndarray  # float64: discounted member-weeks observed under responses
    o_threat_att: np.ndarray  # float64: discounted attacks on officers who refused it (police records)
    o_threat_ref: np.ndarray  # float64: discounted refusals of its bribes
    # --- officers -----------------------------------------------------------
    f_cell: np.ndarray  # int32: post
    f_integrity: np.ndarray  # float64: multiple of the weekly wage a bribe must beat
    f_corrupt_by: np.ndarray  # int32: organisation slot paying, -1
    f_corrupt_gen: np.ndarray  # int32
    f_bribe: np.ndarray  # float64: weekly bribe agreed
    f_refused_by: np.ndarray  # int32: organisation whose offer the officer last refused, -1
    f_refused_until: np.ndarray  # int32: week until which that organisation does not ask again
    f_out: np.ndarray  # int8: killed or removed this week (replaced next week)
    f_arrests: np.ndarray  # int32: arrests made, cumulative
    f_uid: np.ndarray  # int64
    # --- scratch buffers reused every step (no per-step allocation) --------
    cell_start: np.ndarray  # int32[ncell+1]: bucket offsets of street dealers by cell
    cell_list: np.ndarray  # int32[max_dealers]: street dealer slots sorted by cell
    next_uid: np.ndarray  # int64[3]: next unique id for dealers, organisations, officers
    # --- pool ceilings (slots): a full pool doubles up to these, then PoolFull -------
    dealer_ceiling: int = 0
    org_ceiling: int = 0

    @property
    def ncell(self) -> int:
        return self.width * self.height

    @property
    def max_dealers(self) -> int:
        return self.d_active.shape[0]

    @property
    def max_orgs(self) -> int:
        return self.o_active.shape[0]

    def nbytes(self) -> int:
        """Bytes held by all arrays."""
        return int(sum(getattr(self, f.name).nbytes for f in fields(self) if isinstance(getattr(self, f.name), np.ndarray)))

    def fingerprint(self) -> str:
        """Hash of every array: two states with the same fingerprint are identical."""
        import hashlib

        h = hashlib.sha256()
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                h.update(f.name.encode())
                h.update(np.ascontiguousarray(v).tobytes())
        return h.hexdigest()


def allocate(width: int, height: int, torus: bool, users: int, max_dealers: int, max_orgs: int, officers: int,
             contacts: int = 4, dealer_ceiling: int | None = None, org_ceiling: int | None = None) -> State:
    """Zeroed state of the given sizes (``contacts``: dealers a user can know at once); the pools
    may grow to ``dealer_ceiling``/``org_ceiling`` slots (default: their initial size, no growth)."""
    ncell = width * height
    z = np.zeros
    i32, i64, f64, i8 = np.int32, np.int64, np.float64, np.int8
    return State(
        width=width,
        height=height,
        torus=torus,
        cell_district=z(ncell, i32),
        cell_pull=z(ncell, f64),
        cell_police=z(ncell, i32),
        cell_violence=z(ncell, f64),
        cell_incidents=z(ncell, i32),
        cell_deaths=z(ncell, i32),
        cell_arrests=z(ncell, i32),
        cell_sales=z(ncell, f64),
        cell_unmet=z(ncell, f64),
        cell_control=np.full(ncell, -1, i32),
        cell_control_since=z(ncell, i32),
        cell_dealers=z(ncell, i32),
        u_cell=z(users, i32),
        u_demand=z(users, f64),
        u_elast=z(users, f64),
        u_supplier=np.full(users, -1, i32),
        u_bought=z(users, f64),
        u_contacts=np.full((users, contacts), -1, i32),
        d_active=z(max_dealers, i8),
        d_uid=np.full(max_dealers, -1, i64),
        d_cell=z(max_dealers, i32),
        d_org=np.full(max_dealers, -1, i32),
        d_org_gen=z(max_dealers, i32),
        d_rank=z(max_dealers, i8),
        d_inv=z(max_dealers, f64),
        d_price=z(max_dealers, f64),
        d_cash=z(max_dealers, f64),
        d_jail_until=z(max_dealers, i32),
        d_sales=z(max_dealers, f64),
        d_sales_avg=z(max_dealers, f64),
        d_stockout=z(max_dealers, i8),
        d_moved=z(max_dealers, i8),
        d_seen_cell=np.full(max_dealers, -1, i32),
        d_known_uid=np.full(max_dealers, -1, i64),
        d_known_jail=z(max_dealers, i32),
        o_active=z(max_orgs, i8),
        o_gen=z(max_orgs, i32),
        o_uid=np.full(max_orgs, -1, i64),
        o_cash=z(max_orgs, f64),
        o_stock=z(max_orgs, f64),
        o_leader=np.full(max_orgs, -1, i32),
        o_ruth=z(max_orgs, f64),
        o_founded=z(max_orgs, i32),
        o_parent=np.full(max_orgs, -1, i32),
        o_members=z(max_orgs, i32),
        o_street=z(max_orgs, i32),
        o_sales=z(max_orgs, f64),
        o_sales_avg=z(max_orgs, f64),
        o_revenue=z(max_orgs, f64),
        o_revenue_avg=z(max_orgs, f64),
        o_arrests=z(max_orgs, i32),
        o_violence=z(max_orgs, i32),
        o_violence_prev=z(max_orgs, i32),
        o_attributed=z(max_orgs, i32),
        o_violence_attr=z(max_orgs, f64),
        o_violence_own=z(max_orgs, f64),
        o_trade_num=z(max_orgs, f64),
        o_trade_den=z(max_orgs, f64),
        o_vtop_num=z(max_orgs, f64),
        o_vtop_den=z(max_orgs, f64),
        o_voth_num=z(max_orgs, f64),
        o_voth_den=z(max_orgs, f64),
        o_exposure=z(max_orgs, f64),
        o_exposure_base=z(max_orgs, f64),
        o_bribes=z(max_orgs, f64),
        o_focus=z(max_orgs, f64),
        o_interdict_w=z(max_orgs, f64),
        o_invest_w=z(max_orgs, f64),
        o_griev_org=np.full((max_orgs, GRIEVANCE_SLOTS), -1, i32),
        o_griev=z((max_orgs, GRIEVANCE_SLOTS), f64),
        o_police_attacks=z(max_orgs, i32),
        o_police_prev=z(max_orgs, i32),
        o_pnum=z(max_orgs, f64),
        o_pnum_den=z(max_orgs, f64),
        o_loss_num=z(max_orgs, f64),
        o_loss_den=z(max_orgs, f64),
        o_threat_att=z(max_orgs, f64),
        o_threat_ref=z(max_orgs, f64),
        f_cell=z(officers, i32),
        f_integrity=z(officers, f64),
        f_corrupt_by=np.full(officers, -1, i32),
        f_corrupt_gen=z(officers, i32),
        f_bribe=z(officers, f64),
        f_refused_by=np.full(officers, -1, i32),
        f_refused_until=z(officers, i32),
        f_out=z(officers, i8),
        f_arrests=z(officers, i32),
        f_uid=np.full(officers, -1, i64),
        cell_start=z(ncell + 1, i32),
        cell_list=z(max_dealers, i32),
        next_uid=z(3, i64),
        dealer_ceiling=max(max_dealers, dealer_ceiling or 0),
        org_ceiling=max(max_orgs, org_ceiling or 0),
    )


def _pool_fields(kind: str) -> list[str]:
    names = [f.name for f in fields(State)]
    if kind == "dealer":
        return [n for n in names if n.startswith("d_")] + ["cell_list"]
    return [n for n in names if n.startswith("o_")]


def grow(s: State, kind: str) -> bool:
    """Double the ``kind`` pool ("dealer" or "org") in place, up to its ceiling: every array of
    the pool is replaced by one twice as long holding the same values in the same slots and, in
    the new slots, what :func:`allocate` puts in free slots. False when the pool is already at its
    ceiling."""
    old = s.max_dealers if kind == "dealer" else s.max_orgs
    ceiling = s.dealer_ceiling if kind == "dealer" else s.org_ceiling
    new = min(2 * old, ceiling)
    if new <= old:
        return False
    blank = allocate(1, 1, False, 0, new if kind == "dealer" else 1, new if kind == "org" else 1, 0)
    for name in _pool_fields(kind):
        arr = getattr(blank, name)
        arr[:old] = getattr(s, name)
        setattr(s, name, arr)
    return True


@dataclass
class Workspace:
    """Work buffers of the kernels, allocated once per model and reused every week.

    Not part of :class:`State` (nor of its fingerprint): nothing here carries over from
    one process to the next except the static ``home_cells``/``u_home``.
    """

    home_cells: np.ndarray  # int32: distinct home cells of users, ascending (static)
    u_home: np.ndarray  # int32[users]: index of each user's home cell in ``home_cells`` (static)
    market: object  # kernels.market.MarketWork: scratch of the market round
    b_cell: np.ndarray  # int32[max_dealers]: cell of each bucket entry
    b_risk: np.ndarray  # float64[max_dealers]: risk_cost * police in its cell
    cand_start: np.ndarray  # int64[len(home_cells)+1]: candidate lists (CSR offsets)
    cand: np.ndarray  # int32[:]: candidates (bucket indices of the street dealers within reach)
    u_cell_seen: np.ndarray  # copy of u_cell the home cells were computed from
    key_buf: np.ndarray  # int64[max_dealers]: sort keys (turf control)
    revenue: np.ndarray  # float64[max_dealers]: this week's revenue by dealer slot
    org_scratch: np.ndarray  # float64[max_orgs]
    unit_cost: np.ndarray  # float64[max_orgs]
    n_districts: int

    def grow_candidates(self, need: int) -> None:
        size = int(need * 1.25) + 1024
        self.cand = np.empty(size, np.int32)

    def nbytes(self) -> int:
        arrays = [v for v in vars(self).values() if isinstance(v, np.ndarray)] + list(self.market)
        return int(sum(v.nbytes for v in arrays))


def allocate_workspace(s: State) -> Workspace:
    """Work buffers sized for ``s`` (call after the users' homes are placed)."""
    from .kernels.market import home_cells, market_work

    cells, u_home = home_cells(s.u_cell, s.ncell, np.empty(s.ncell, np.int32))
    ws = Workspace(
        home_cells=cells,
        u_home=u_home,
        market=market_work(s.u_cell.size, s.max_dealers, s.max_orgs, s.u_contacts.shape[1]),
        b_cell=np.zeros(s.max_dealers, np.int32),
        b_risk=np.zeros(s.max_dealers),
        cand_start=np.zeros(cells.size + 1, np.int64),
        cand=np.empty(0, np.int32),
        u_cell_seen=s.u_cell.copy(),
        key_buf=np.empty(s.max_dealers, np.int64),
        revenue=np.zeros(s.max_dealers),
        org_scratch=np.zeros(s.max_orgs),
        unit_cost=np.zeros(s.max_orgs),
        n_districts=int(s.cell_district.max()) + 1,
    )
    ws.grow_candidates(4 * cells.size)
    return ws

"""Organisation life cycle: founding, succession and splits (DESIGN 7), entry, exit and
recruitment (DESIGN 8), prisoners' return.

These act on a handful of organisations and events per week, so they are plain
numpy/Python over the state arrays; every draw comes from the ``organizations``
generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .kernels.books import consolidation_candidates as _consolidation_candidates
from .kernels.books import count_members as _count_members
from .kernels.books import leaderless as _leaderless
from .kernels.books import recruitment_round as _recruitment_round
from .kernels.decisions import add_grievance as _add_grievance_nb
from .kernels.decisions import logistic_choice as _logistic_nb
from .kernels.decisions import response_loss as _response_loss_nb
from .kernels.decisions import violence_response_risk as _violence_response_risk_nb
from .kernels.grid import chebyshev, first_zero, random_cell_near
from .state import DEALER, LEADER, LIEUTENANT, State, grow

# random_cell_near run as Python (its draws are rng.integers, as in the kernel): called once
# per recruit, where unboxing the generator for the compiled version costs more than the work
_cell_near_py = getattr(random_cell_near, "py_func", random_cell_near)
# the decision rules as Python (same arithmetic), called a few times per event
_add_grievance = getattr(_add_grievance_nb, "py_func", _add_grievance_nb)
_logistic = getattr(_logistic_nb, "py_func", _logistic_nb)
_response_loss = getattr(_response_loss_nb, "py_func", _response_loss_nb)
_violence_response_risk = _violence_response_risk_nb  # calls another compiled rule


@dataclass
class LifeCycleCounts:
    """Events of one week (reset by the model)."""

    leader_removals: int = 0
    splits: int = 0
    succession_incidents: int = 0
    succession_deaths: int = 0
    entrants: int = 0
    recruits: int = 0
    dealer_exits: int = 0
    org_exits: int = 0
    recruit_spend: float = 0.0
    entry_capital: float = 0.0  # cash brought in by new independents
    exit_cash: float = 0.0  # cash that left the market with exiting organisations and dealers
    exit_stock: float = 0.0  # stash of exiting organisations, recovered by police (counted as seized)
    # the per-organisation record (``model.organizations_table``): set by the model, never drawn from
    removed: list = field(default_factory=list)  # (slot, how, members): how 1 arrested, 2 killed, 3 other
    org_suffered: np.ndarray | None = None  # succession incidents by victim organisation
    org_homicides: np.ndarray | None = None  # succession deaths by organisation party to them
    org_attr_homicides: np.ndarray | None = None  # attributed succession fights that killed, by attacker
    absorbed: int = 0  # organisations (or lone sellers) that joined a larger neighbouring organisation
    defections: int = 0  # members who left for the larger organisation holding their corner
    disbanded: int = 0  # crews that broke up when their leader was gone and no lieutenant was on the street
    disbanded_joined: int = 0  # their street members who joined the organisation holding their corner
    disbanded_alone: int = 0  # ... and those who went on alone


class PoolFull(RuntimeError):
    """An agent pool reached its ceiling (``market.max_pool_factor``). Pools never cap silently:
    below the ceiling a full pool doubles (:func:`marketsim.state.grow`); at the ceiling the run
    stops with this message instead of quietly refusing entrants, recruits or factions."""


def _free_slot(active: np.ndarray) -> int:
    """Lowest free slot, -1 when the pool is full (a compiled scan: slots fill from the bottom,
    so it stops early; ``np.flatnonzero`` over the whole pool cost ~0.1 ms a call at 10^6 users)."""
    return int(first_zero(active))


def new_org(s: State, step: int, cash: float, ruth: float, parent: int = -1) -> int:
    """Claim an organisation slot; raises :class:`PoolFull` when every slot is in use."""
    o = _free_slot(s.o_active)
    if o < 0:
        o = s.max_orgs
        if not grow(s, "org"):
            raise PoolFull(f"organisation pool full ({s.max_orgs} slots) at week {step}: the market grew beyond "
                           f"its ceiling, market.max_pool_factor x world.dealers (+ the initial organisations; "
                           f"market.max_dealers_factor sets the initial size); raise market.max_pool_factor")
    s.o_active[o] = 1
    s.o_gen[o] += 1
    s.o_uid[o] = s.next_uid[1]
    s.next_uid[1] += 1
    s.o_cash[o] = cash
    s.o_stock[o] = 0.0
    s.o_leader[o] = -1
    s.o_ruth[o] = ruth
    s.o_founded[o] = step
    s.o_parent[o] = parent
    for arr in (s.o_sales, s.o_sales_avg, s.o_revenue, s.o_revenue_avg, s.o_violence_attr, s.o_violence_own, s.o_trade_num,
                s.o_trade_den, s.o_vtop_num, s.o_vtop_den, s.o_voth_num, s.o_voth_den, s.o_exposure, s.o_exposure_base, s.o_bribes,
                s.o_focus, s.o_interdict_w, s.o_invest_w):
        arr[o] = 0.0
    for arr in (s.o_members, s.o_street, s.o_arrests, s.o_violence, s.o_violence_prev, s.o_attributed,
                s.o_police_attacks, s.o_police_prev):
        arr[o] = 0
    for arr in (s.o_pnum, s.o_pnum_den, s.o_loss_num, s.o_loss_den, s.o_threat_att, s.o_threat_ref):
        arr[o] = 0.0
    s.o_griev_org[o] = -1
    s.o_griev[o] = 0.0
    # grudges others held against the slot's previous holder do not pass to the newcomer
    s.o_griev[s.o_griev_org == o] = 0.0
    s.o_griev_org[s.o_griev_org == o] = -1
    return o


def new_dealer(s: State, cell: int, org: int, rank: int, price: float, cash: float) -> int:
    """Claim a dealer slot; raises :class:`PoolFull` when every slot is in use."""
    d = _free_slot(s.d_active)
    if d < 0:
        d = s.max_dealers
        if not grow(s, "dealer"):
            raise PoolFull(f"dealer pool full ({s.max_dealers} slots, street and prison): the market grew beyond "
                           f"its ceiling, market.max_pool_factor x world.dealers (market.max_dealers_factor sets "
                           f"the initial size); raise market.max_pool_factor")
    s.d_active[d] = 1
    s.d_uid[d] = s.next_uid[0]
    s.next_uid[0] += 1
    s.d_cell[d] = cell
    s.d_org[d] = org
    s.d_org_gen[d] = s.o_gen[org]
    s.d_rank[d] = rank
    s.d_inv[d] = 0.0
    s.d_price[d] = price
    s.d_cash[d] = cash
    s.d_jail_until[d] = 0
    s.d_sales[d] = 0.0
    s.d_sales_avg[d] = 0.0
    s.d_stockout[d] = 0
    s.d_moved[d] = 0
    s.d_seen_cell[d] = -1
    if rank == LEADER:
        s.o_leader[org] = d
    return d


def draw_ruthlessness(rng: np.random.Generator, mean: float, cv: float, size=None):
    """Gamma-distributed ruthlessness with the given mean and coefficient of variation."""
    if cv <= 0:
        return np.full(size, mean) if size is not None else mean
    shape = 1.0 / cv**2
    return rng.gamma(shape, mean / shape, size=size)


def count_members(s: State, step: int) -> None:
    """Refresh ``o_members`` (street + prison) and ``o_street``."""
    _count_members(s.d_active, s.d_org, s.d_org_gen, s.o_gen, s.d_jail_until, step, s.o_members, s.o_street)


def release_prisoners(s: State, step: int, p, rng: np.random.Generator, counts: LifeCycleCounts) -> None:
    """Dealers whose sentence ends this week return to their organisation if it still exists
    (a returning leader whose post was filled becomes a lieutenant); otherwise they set up alone."""
    back = np.flatnonzero((s.d_active == 1) & (s.d_jail_until == step))
    for d in back:
        o = s.d_org[d]
        if s.o_active[o] == 1 and s.o_gen[o] == s.d_org_gen[d]:
            if s.d_rank[d] == LEADER and s.o_leader[o] != d:
                s.d_rank[d] = LIEUTENANT
            continue
        ruth = float(draw_ruthlessness(rng, p.organizations.ruthlessness_mean, p.organizations.ruthlessness_cv))
        no = new_org(s, step, p.market.entrant_cash, ruth)
        counts.entry_capital += p.market.entrant_cash
        s.d_org[d] = no
        s.d_org_gen[d] = s.o_gen[no]
        s.d_rank[d] = LEADER
        s.o_leader[no] = d
        counts.entrants += 1


def _group_by_org(s: State, street: np.ndarray):
    """``members(o)``: the slots in ``street`` (ascending) that belong to organisation ``o``, in
    ascending order: one stable sort instead of a pass over every slot per organisation."""
    by_org = s.d_org[street]
    order = np.argsort(by_org, kind="stable")
    sorted_slots = street[order]
    bounds = np.zeros(s.max_orgs + 1, np.int64)
    np.cumsum(np.bincount(by_org, minlength=s.max_orgs), out=bounds[1:])

    def members(o: int) -> np.ndarray:
        return sorted_slots[bounds[o]: bounds[o + 1]]

    return members


def _street_members(s: State, o: int, step: int) -> np.ndarray:
    return np.flatnonzero((s.d_active == 1) & (s.d_org == o) & (s.d_jail_until <= step))


def _leader_gone(s: State, o: int, step: int) -> bool:
    L = s.o_leader[o]
    return L < 0 or s.d_active[L] == 0 or s.d_org[L] != o or s.d_jail_until[L] > step


def _infighting(s: State, step: int, members_by_faction: list[np.ndarray], orgs: list[int], n_incidents: int,
                lethality: float, attribution_rate: float, rng: np.random.Generator, counts: LifeCycleCounts) -> None:
    """``n_incidents`` succession fights: a member of one faction (or of the one organisation)
    attacks a member of another; the victim dies with probability ``lethality``. Between
    factions, the attacked faction's grievance against the attacker grows (a feud that lasts)."""
    for _ in range(n_incidents):
        if len(orgs) > 1:
            a, b = rng.choice(len(orgs), size=2, replace=False)
        else:
            a = b = 0
        victims = members_by_faction[b][s.d_active[members_by_faction[b]] == 1]
        if victims.size == 0:
            continue
        v = int(victims[rng.integers(victims.size)])
        counts.succession_incidents += 1
        s.o_violence[orgs[a]] += 1
        if counts.org_suffered is not None:
            counts.org_suffered[orgs[b]] += 1
        s.cell_incidents[s.d_cell[v]] += 1
        if orgs[a] != orgs[b]:
            _add_grievance(s.o_griev_org, s.o_griev, int(orgs[b]), int(orgs[a]), 1.0)
        attributed = rng.random() < attribution_rate
        if attributed:
            s.o_attributed[orgs[a]] += 1
        if rng.random() < lethality:
            counts.succession_deaths += 1
            if attributed and counts.org_attr_homicides is not None:
                counts.org_attr_homicides[orgs[a]] += 1
            if counts.org_homicides is not None:
                counts.org_homicides[orgs[a]] += 1
                if orgs[a] != orgs[b]:
                    counts.org_homicides[orgs[b]] += 1
            s.cell_deaths[s.d_cell[v]] += 1
            s.o_stock[s.d_org[v]] += s.d_inv[v]
            s.o_cash[s.d_org[v]] += s.d_cash[v]
            s.d_inv[v] = 0.0
            s.d_cash[v] = 0.0
            s.d_active[v] = 0
            if s.o_leader[s.d_org[v]] == v:
                s.o_leader[s.d_org[v]] = -1


def contest_value(control_value: float, p_win: float, rivals: int, own_stake: float, lethality: float,
                  attack_cost: float, response_risk: float, response_loss: float, ruthlessness: float) -> float:
    """Expected net value (dollars) to a lieutenant of contesting control after the leader's removal.

    gain = P(win) x value of control (``control_weeks`` of the organisation's revenue);
    cost = one fight per rival claimant (``attack_cost`` each, and the chance ``lethality`` x
    P(lose) of losing its own stake) + P(violence is answered by enforcement) x the loss such a
    response inflicts on the members (learned). Uncontested (no rival yet), claiming costs nothing.
    A ruthless lieutenant discounts the costs (the organisation's ruthlessness)."""
    gain = p_win * control_value
    if rivals == 0:
        return gain
    cost = rivals * attack_cost + (1.0 - p_win) * lethality * own_stake + response_risk * response_loss
    return gain - cost / ruthlessness


def succession(s: State, step: int, p, rng: np.random.Generator, counts: LifeCycleCounts) -> None:
    """Organisations whose leader was arrested or killed: each lieutenant on the street decides
    whether to contest control (:func:`contest_value`, logistic noise ``decision_noise``), in random
    order, knowing how many have already claimed it. No lieutenant on the street: the crew breaks
    up (:func:`disband`). No claimant: the first lieutenant takes over quietly. One claimant: it
    takes over. Two or more: the succession is
    contested: one fight per claimant beyond the first; an organisation of at least
    ``split_min_members`` splits into up to three factions led by the claimants (members follow the
    nearest, cash and stock shared by headcount), and the fights leave grievances between the
    factions, so that the feud goes on for months through turf decisions (Calderón et al. 2015:
    +36.5% violence in the following six months; Phillips 2015); a smaller one stays whole under
    a claimant drawn at random, the others accepting.
    """
    po = p.organizations
    for o in _leaderless(s.o_active, s.o_leader, s.d_active, s.d_org, s.d_jail_until, step):
        o = int(o)
        if not _leader_gone(s, o, step):
            continue
        members = _street_members(s, o, step)
        if s.o_leader[o] >= 0:
            if s.o_members[o] >= 3:  # count kingpins, not lone sellers
                counts.leader_removals += 1
            L = s.o_leader[o]
            how = 2 if s.d_active[L] == 0 else 1 if s.d_jail_until[L] > step else 3
            counts.removed.append((o, how, int(s.o_members[o])))
            s.o_leader[o] = -1
        if members.size == 0:
            continue  # waits for members to come back from prison (or exits)
        lieuts = members[s.d_rank[members] == LIEUTENANT]
        lieuts = lieuts[rng.permutation(lieuts.size)]
        if lieuts.size == 0:
            # a crew without middle management does not outlive its boss (Reuter 1983)
            disband(s, o, members, step, counts)
            continue
        n_members = int(s.o_members[o])
        m = max(n_members, 1)
        control = po.control_weeks * float(s.o_revenue_avg[o])
        risk = _response_risk(s, o, po)
        loss = _response_loss(m, s.o_loss_num[o], s.o_loss_den[o], _loss_prior(p), po.prior_a + po.prior_b,
                              po.response_weeks, p.enforcement.sentence_weeks * float(s.o_revenue_avg[o]) / m)
        claimants = []
        for lt in lieuts:
            stake = po.control_weeks * float(s.d_sales_avg[lt] * s.d_price[lt]) * p.supply.dealer_margin_share
            k = len(claimants)
            v = contest_value(control, 1.0 / (k + 1), k, stake, po.lethality, po.attack_cost, risk, loss,
                              float(s.o_ruth[o]))
            if rng.random() < _logistic(v, po.decision_noise):
                claimants.append(int(lt))
        if not claimants:
            claimants = [int(lieuts[0])]  # nobody fights for it: the first in line takes over
        if len(claimants) >= 2 and n_members >= po.split_min_members:
            heads = np.asarray(claimants[:3], dtype=members.dtype)
            factions = [o]
            for _ in range(len(heads) - 1):
                ruth = float(s.o_ruth[o] * rng.lognormal(0.0, 0.3))
                nf = new_org(s, step, 0.0, ruth, parent=o)
                # a faction inherits what its founders had learned
                for arr in (s.o_trade_num, s.o_trade_den, s.o_vtop_num, s.o_vtop_den, s.o_voth_num, s.o_voth_den,
                            s.o_exposure_base, s.o_pnum, s.o_pnum_den, s.o_loss_num, s.o_loss_den):
                    arr[nf] = arr[o]
                factions.append(nf)
            heads = heads[: len(factions)]
            dist = np.array([[chebyshev(int(s.d_cell[mb]), int(s.d_cell[h]), s.width, s.height, s.torus)
                              for h in heads] for mb in members])
            pick = np.argmin(dist, axis=1)
            pick[np.searchsorted(members, heads)] = np.arange(len(heads))  # each head leads its own faction
            cash, stock = s.o_cash[o], s.o_stock[o]
            sales_avg, revenue_avg = s.o_sales_avg[o], s.o_revenue_avg[o]  # the parent's, before sharing
            groups = []
            for j, f in enumerate(factions):
                g = members[pick == j]
                groups.append(g)
                s.d_org[g] = f
                s.d_org_gen[g] = s.o_gen[f]
                share = g.size / members.size
                s.o_cash[f] = cash * share
                s.o_stock[f] = stock * share
                s.d_rank[heads[j]] = LEADER
                s.o_leader[f] = heads[j]
                s.o_sales_avg[f] = sales_avg * share
                s.o_revenue_avg[f] = revenue_avg * share
            counts.splits += 1
            _infighting(s, step, groups, factions, len(claimants) - 1, po.lethality, p.enforcement.attribution_rate,
                        rng, counts)
        else:
            heir = claimants[int(rng.integers(len(claimants)))] if len(claimants) > 1 else claimants[0]
            s.d_rank[heir] = LEADER
            s.o_leader[o] = heir
            if len(claimants) >= 2:
                _infighting(s, step, [members], [o], len(claimants) - 1, po.lethality,
                            p.enforcement.attribution_rate, rng, counts)


def disband(s: State, o: int, members: np.ndarray, step: int, counts: LifeCycleCounts) -> None:
    """A crew whose leader is gone and which has no lieutenant on the street breaks up.

    Nobody in it holds the boss's connections, stash or reputation, so there is no firm left to
    take over: each street member (``members``, ascending) joins the organisation that holds its
    corner (``cell_control``, as in :func:`defect`) as a plain dealer, or, where none other does,
    goes on alone as a one-person organisation with its own cash as working capital. Either way
    it keeps its stock. The crew's own stock and cash were the boss's: the stock is counted with
    ``exit_stock`` (abandoned or recovered, as for organisations that dissolve in :func:`exits`),
    the cash leaves the market. Members in prison find their organisation gone when released and
    set up alone (:func:`release_prisoners`).

    Why: illegal enterprises are small and short-lived because nothing binds them but their
    principal: without enforceable contracts, a firm's assets (its supply connections, customers
    and reputation) are the entrepreneur's own and are not passed on, so the enterprise seldom
    survives its founder's arrest or death (Reuter 1983, *Disorganized Crime*; Adler 1985 on
    upper-level dealers' crews). Succession needs someone already trusted with the business
    (a lieutenant, 7.7); without one, leader removal is the end of a crew, not a new leader."""
    for d in members:
        d = int(d)
        c = int(s.cell_control[s.d_cell[d]])
        if c >= 0 and c != o and s.o_active[c] == 1:
            s.d_org[d] = c
            s.d_org_gen[d] = s.o_gen[c]
            s.d_rank[d] = DEALER
            counts.disbanded_joined += 1
        else:
            no = new_org(s, step, float(s.d_cash[d]), float(s.o_ruth[o]))
            s.d_cash[d] = 0.0
            s.d_org[d] = no
            s.d_org_gen[d] = s.o_gen[no]
            s.d_rank[d] = LEADER
            s.o_leader[no] = d
            s.o_sales_avg[no] = s.d_sales_avg[d]
            s.o_revenue_avg[no] = s.d_sales_avg[d] * s.d_price[d]
            counts.disbanded_alone += 1
    counts.exit_stock += s.o_stock[o]
    counts.exit_cash += s.o_cash[o]
    _close_slot(s, o)
    counts.org_exits += 1
    counts.disbanded += 1


def _close_slot(s: State, o: int) -> None:
    """Free organisation ``o``'s slot: no books, no members, no leader (its members were moved
    or its books handed on by the caller)."""
    s.o_stock[o] = 0.0
    s.o_cash[o] = 0.0
    s.o_members[o] = 0
    s.o_street[o] = 0
    s.o_active[o] = 0
    s.o_leader[o] = -1


def _loss_prior(p) -> float:
    """Prior weekly arrest rate per member under a response (see ``crackdown_loss_weeks``)."""
    po = p.organizations
    return po.crackdown_loss_weeks / (p.enforcement.sentence_weeks * po.response_weeks)


def _response_risk(s: State, o: int, po) -> float:
    """The organisation's learned probability that violence is answered (as if it were the most violent)."""
    return float(_violence_response_risk(1.0, s.o_vtop_num[o], s.o_vtop_den[o], s.o_voth_num[o], s.o_voth_den[o],
                                         po.prior_a, po.prior_b))


def _hand_back_and_quit(s: State, d: int, counts: LifeCycleCounts) -> None:
    """Dealer ``d`` leaves; its stock and cash go back to its organisation's books."""
    o = s.d_org[d]
    s.o_stock[o] += s.d_inv[d]
    s.o_cash[o] += s.d_cash[d]
    s.d_inv[d] = 0.0
    s.d_cash[d] = 0.0
    s.d_active[d] = 0
    counts.dealer_exits += 1


def exits(s: State, step: int, p, counts: LifeCycleCounts) -> None:
    """Broke dealers, and members who barely sell (smoothed sales under ``min_sales``), quit
    (their stock and cash go back to the organisation's books). A lone seller (a one-member
    organisation) quits on the same terms, judged on its own and its firm's cash together.
    Organisations with no members left dissolve: their stock is counted with seizures (abandoned
    or recovered), their cash leaves the market."""
    lone = np.flatnonzero((s.o_active == 1) & (s.o_members == 1))
    for o in lone:
        d = s.o_leader[o]
        if d < 0 or s.d_active[d] == 0 or s.d_org[d] != o or s.d_jail_until[d] > step:
            continue
        if s.d_sales_avg[d] < p.market.min_sales or s.d_cash[d] + s.o_cash[o] < p.market.exit_cash:
            _hand_back_and_quit(s, d, counts)
    street = (s.d_active == 1) & (s.d_jail_until <= step) & (s.d_rank != LEADER)
    idle = street & (s.d_sales_avg < p.market.min_sales)
    for d in np.flatnonzero(idle):
        _hand_back_and_quit(s, d, counts)
    broke = np.flatnonzero(street & (s.d_active == 1) & (s.d_cash < p.market.exit_cash))
    for d in broke:
        s.o_stock[s.d_org[d]] += s.d_inv[d]
        s.d_inv[d] = 0.0
        counts.exit_cash += s.d_cash[d]
        s.d_cash[d] = 0.0
        s.d_active[d] = 0
        counts.dealer_exits += 1
    # organisations of two or more that are broke (cash below exit_cash per member, after their
    # members' own exits) break up: their members quit and hand back stock and cash
    count_members(s, step)
    broke_orgs = np.flatnonzero((s.o_active == 1) & (s.o_members >= 2) & (s.o_cash < p.market.exit_cash * s.o_members))
    for o in broke_orgs:
        for d in np.flatnonzero((s.d_active == 1) & (s.d_org == o) & (s.d_jail_until <= step)):
            _hand_back_and_quit(s, int(d), counts)
    count_members(s, step)
    gone = np.flatnonzero((s.o_active == 1) & (s.o_members == 0))
    for o in gone:
        counts.exit_stock += s.o_stock[o]
        counts.exit_cash += s.o_cash[o]
        s.o_stock[o] = 0.0
        s.o_cash[o] = 0.0
        s.o_active[o] = 0
        s.o_leader[o] = -1
        counts.org_exits += 1


def absorb_value(own_revenue: float, own_street: int, other_per_member: float, margin_share: float,
                 weeks: float) -> float:
    """Expected gain (dollars) to a group's leader from taking the group into another organisation.

    As leader it keeps its organisation's share ``1 - margin_share`` of the group's weekly retail
    revenue ``own_revenue`` and its own dealer's share of a member's revenue; as a member of the
    other organisation it would earn ``margin_share`` of a member's revenue there
    (``other_per_member``). The difference over ``weeks`` (the tenure it expects). For a lone
    seller (all of the revenue is its own) this is its whole revenue against a member's pay."""
    own_member = own_revenue / max(own_street, 1)
    keep = (1.0 - margin_share) * own_revenue + margin_share * own_member
    return weeks * (margin_share * other_per_member - keep)


def consolidate(s: State, step: int, p, rng: np.random.Generator, counts: LifeCycleCounts) -> None:
    """Groups that do not pay their leader more than a member's pay next door join the larger
    organisation there (issue 7 item 5: exit by consolidation, an agent decision).

    Each active organisation whose leader is on the street, in ascending slot order, looks at the
    corners within ``market.move_radius`` of its leader: the organisation that holds most of them
    (``cell_control``, what anyone on the street sees; ties: the lowest slot), if larger than
    itself, is its candidate. Its leader compares what it earns as leader (the organisation's share of
    the group's revenue and its own pay as a seller) with a member's pay there (:func:`absorb_value`,
    over ``control_weeks``), and the group joins with probability ``logistic(value, decision_noise)``:
    its members (on the street and in prison) become the other's, its leader a lieutenant, its
    cash and stock go to the other's books, and its slot is freed.

    Why: illegal firms stay small because size raises the risk of exposure (Reuter 1983,
    *Disorganized Crime*), and a leader keeps its group as long as the group pays it more than it
    could earn elsewhere: an unprofitable group exits when its leader's outside option, here
    selling for the dominant organisation next door, is worth more (competitive exit, Reuter 1983;
    gangs taking in failing sets next door, Levitt & Venkatesh 2000; Caulkins & Reuter 2010 on
    retail market structure). Without this, groups only appear (entry, recruitment, splits)
    and disappear when broke, so their number rises for as long as a run lasts.
    """
    po, m = p.organizations, p.market
    count_members(s, step)
    cand = np.flatnonzero((s.o_active == 1) & (s.o_street >= 1))
    if cand.size == 0:
        return
    # the neighbour each group's leader sees (static during the round: corners and leaders do not
    # change), then the decisions in slot order, on the sizes as earlier groups' moves left them
    nbr = np.empty(cand.size, np.int64)
    _consolidation_candidates(cand, s.o_leader, s.d_active, s.d_org, s.d_jail_until, s.d_cell, s.cell_control,
                              s.width, s.height, s.torus, int(m.move_radius), step, nbr)
    changed = False
    for i in np.flatnonzero(nbr >= 0):
        o, n = int(cand[i]), int(nbr[i])
        if s.o_active[o] == 0:
            continue
        if s.o_active[n] == 0 or s.o_members[n] <= s.o_members[o] or s.o_street[n] == 0:
            continue
        other = float(s.o_revenue_avg[n]) / int(s.o_street[n])
        v = absorb_value(float(s.o_revenue_avg[o]), int(s.o_street[o]), other, p.supply.dealer_margin_share,
                         po.control_weeks)
        if rng.random() >= _logistic(v, po.decision_noise):
            continue
        # its members, street and prison (not prisoners of an earlier holder of the slot)
        members = np.flatnonzero((s.d_active == 1) & (s.d_org == o) & (s.d_org_gen == s.o_gen[o]))
        s.d_org[members] = n
        s.d_org_gen[members] = s.o_gen[n]
        s.d_rank[members[s.d_rank[members] == LEADER]] = LIEUTENANT
        s.o_cash[n] += s.o_cash[o]
        s.o_stock[n] += s.o_stock[o]
        s.o_sales_avg[n] += s.o_sales_avg[o]
        s.o_revenue_avg[n] += s.o_revenue_avg[o]
        s.o_members[n] += s.o_members[o]
        s.o_street[n] += s.o_street[o]
        _close_slot(s, o)
        counts.absorbed += 1
        changed = True
    if changed:
        count_members(s, step)


def member_pay(s: State, margin_share: float, transfer_price: float) -> np.ndarray:
    """Expected weekly pay of a street member of each organisation: its share ``margin_share`` of
    the retail margin over the transfer price, on the organisation's smoothed sales per street
    member at its mean price (``o_revenue_avg / o_sales_avg``)."""
    street = np.maximum(s.o_street, 1).astype(float)
    margin = np.maximum(s.o_revenue_avg - transfer_price * s.o_sales_avg, 0.0)
    return margin_share * margin / street


def defect(s: State, step: int, p, rng: np.random.Generator, counts: LifeCycleCounts) -> None:
    """Members follow pay: a street member (not a leader) whose corner is held by a larger
    organisation (``cell_control``: most street dealers there, as anyone on the corner sees)
    compares a member's expected pay there with its own organisation's (:func:`member_pay`), over
    ``control_weeks``, and leaves for it with probability ``logistic(value, decision_noise)`` (one
    draw per such dealer, in slot order). It keeps its stock and cash and starts as a plain dealer.

    Why: dealers are not bound to a firm (Reuter 1983, *Disorganized Crime*: illegal firms are
    small and loose because contracts cannot be enforced); foot-soldiers move to the gang that pays
    (Levitt & Venkatesh 2000), so groups that sell less per member lose members to the dominant
    organisation around them, and the splinters of a split do not last for ever (issue 7 item 5).
    """
    po = p.organizations
    count_members(s, step)
    d = np.flatnonzero((s.d_active == 1) & (s.d_jail_until <= step) & (s.d_rank != LEADER))
    if d.size == 0:
        return
    o = s.d_org[d]
    n = s.cell_control[s.d_cell[d]]
    keep = (n >= 0) & (n != o)
    d, o, n = d[keep], o[keep], n[keep]
    keep = (s.o_active[n] == 1) & (s.o_members[n] > s.o_members[o]) & (s.o_street[n] > 0)
    d, o, n = d[keep], o[keep], n[keep]
    if d.size == 0:
        return
    pay = member_pay(s, p.supply.dealer_margin_share, p.supply.transfer_price)
    z = po.control_weeks * (pay[n] - pay[o]) / po.decision_noise
    prob = 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))
    move = rng.random(d.size) < prob
    d, n = d[move], n[move]
    if d.size == 0:
        return
    s.d_org[d] = n
    s.d_org_gen[d] = s.o_gen[n]
    s.d_rank[d] = DEALER
    counts.defections += int(d.size)
    count_members(s, step)


def entry_profit_factor(p, price: float, arrest_rate: float) -> float:
    """How attractive entry is, relative to the opening market: the expected weekly profit of a new
    independent seller (retail margin over its unit cost, times the share of its time it can
    expect to spend on the street, ``1 / (1 + weekly arrest rate x sentence_weeks)``) over the
    same at the opening price and no arrests. 0 when selling would not cover the unit cost."""
    cost = p.supply.wholesale_price * p.supply.independent_markup
    p0 = p.supply.initial_retail_price
    if not np.isfinite(price) or price <= cost or p0 <= cost:
        return 0.0
    street_share = 1.0 / (1.0 + max(arrest_rate, 0.0) * p.enforcement.sentence_weeks)
    return float((price - cost) / (p0 - cost) * street_share)


def enter(s: State, step: int, p, rng: np.random.Generator, counts: LifeCycleCounts, price: float = float("nan"),
          arrest_rate: float = 0.0) -> None:
    """New independent sellers appear where demand went unmet and selling pays: Poisson(``entry_rate``
    per 100 units of unmet weekly demand x :func:`entry_profit_factor` of this week's ``price``
    and ``arrest_rate``), each at a home cell drawn in proportion to its unmet demand (entry
    responds to expected profit: Reuter & Kleiman 1986; Caulkins & Reuter 2010)."""
    total = s.cell_unmet.sum()
    if total <= 0:
        return
    factor = entry_profit_factor(p, price if np.isfinite(price) else p.supply.initial_retail_price, arrest_rate)
    if factor <= 0:
        return
    n = int(rng.poisson(p.market.entry_rate * total / 100.0 * factor))
    if n == 0:
        return
    cdf = np.cumsum(s.cell_unmet)
    cells = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    cells = np.minimum(cells, s.ncell - 1)
    start_price = p.supply.initial_retail_price
    for c in cells:
        ruth = float(draw_ruthlessness(rng, p.organizations.ruthlessness_mean, p.organizations.ruthlessness_cv))
        o = new_org(s, step, p.market.entrant_cash, ruth)
        d = new_dealer(s, int(c), o, LEADER, start_price, p.market.initial_dealer_cash)
        s.d_sales_avg[d] = 10.0
        counts.entrants += 1
        counts.entry_capital += p.market.entrant_cash + p.market.initial_dealer_cash
    count_members(s, step)


def recruit(s: State, step: int, p, rng: np.random.Generator, counts: LifeCycleCounts) -> None:
    """Organisations whose dealers ran out of stock while the warehouse could have supplied
    more hire: Poisson(``recruit_rate`` x members x share of its street dealers that stocked
    out), as cash and stock allow (each recruit needs a starting inventory of ``stock_weeks`` x
    the organisation's mean dealer sales); a recruit starts near a random member. Lieutenants
    are promoted to keep ``lieutenant_ratio``."""
    po = p.organizations
    # per organisation: street dealers who stocked out, street lieutenants, street members; and
    # the organisations that may draw or change something (the others make no draws: skipping
    # them leaves every stream as it was)
    so, lieutenants, busy, slots, bounds = _recruitment_round(
        s.d_active, s.d_jail_until, s.d_org, s.d_stockout, s.d_rank, step, s.o_active, s.o_members,
        po.recruit_rate, po.lieutenant_ratio, LIEUTENANT)
    for o in busy:
        o = int(o)
        if not s.o_street[o] > 0:
            continue
        share = so[o] / s.o_street[o]
        lam = po.recruit_rate * max(int(s.o_members[o]), 1) * share
        members = slots[bounds[o]: bounds[o + 1]]  # street members, ascending (recruits join only their own org)
        n = int(rng.poisson(lam)) if lam > 0 else 0
        per_recruit = po.recruit_cost + p.market.initial_dealer_cash
        if per_recruit > 0:
            n = min(n, int(max(0.0, s.o_cash[o]) // per_recruit))
        if n > 0:
            per_dealer = float(np.mean(s.d_sales_avg[members]))
            n = min(n, int(s.o_stock[o] // max(p.supply.stock_weeks * per_dealer, 1.0)))
        if n > 0:
            price = float(np.mean(s.d_price[members]))
            hired = []
            for _ in range(n):
                near = int(s.d_cell[members[rng.integers(members.size)]])
                # the kernel's own Python version: the same draws, without unboxing the generator
                c = int(_cell_near_py(near, 2, s.width, s.height, s.torus, rng))
                d = new_dealer(s, c, o, DEALER, price, p.market.initial_dealer_cash)
                hired.append(d)
                s.d_sales_avg[d] = per_dealer
                s.o_cash[o] -= po.recruit_cost + p.market.initial_dealer_cash  # the start-up cash is handed to the recruit
                counts.recruit_spend += po.recruit_cost
                counts.recruits += 1
            if hired:
                members = np.sort(np.concatenate([members, np.asarray(hired, dtype=members.dtype)]))
        # keep the middle management
        want = int(round(po.lieutenant_ratio * s.o_members[o]))
        have = int(lieutenants[o])  # recruits start as dealers: the count from the start of the round holds
        if want > have:
            pool = members[s.d_rank[members] == DEALER]
            if pool.size:
                pick = rng.choice(pool, size=min(want - have, pool.size), replace=False)
                s.d_rank[pick] = LIEUTENANT
    count_members(s, step)

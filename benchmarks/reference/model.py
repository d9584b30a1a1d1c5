"""The weekly rules of marketsim written the way a Mesa user would write them.

Users, dealers and officers are ``CellAgent``\\ s on an ``OrthogonalMooreGrid``; organisations
are plain ``mesa.Agent``\\ s. Each process is a Python method, agents act in random order
with ``shuffle_do``, neighbourhoods come from ``cell.get_neighborhood(radius)``, and cell
state (police presence, sales, unmet demand, incidents) lives on the cells. No numba, no
arrays in the loops (numpy only draws random numbers and builds the initial world).

It implements every process of ``marketsim.model.DrugMarketModel.step`` under the ``none``
policy (random patrol; inspections in proportion to shipments; investigators split in
proportion to this week's arrests): import and interdiction, enforcement allocation,
corruption (officers killed or dismissed stop patrolling at once), retail market, policing,
violence, succession and splits, exits (lone sellers included), entry, recruitment,
displacement and learning, with the same decision rules (re-implemented below) and parameters
(a :class:`marketsim.scenario.Scenario`). Like marketsim it first runs ``world.burn_in``
unrecorded weeks (the ``none`` allocation is marketsim's burn-in baseline), so the
timeseries starts from the settled city. It does not import marketsim's kernels.

It is a speed baseline and a statistical cross-check: the random streams differ from
marketsim's, so runs agree in distribution, not draw for draw. Known small differences,
from marketsim's array bookkeeping that a Mesa user would not reproduce: marketsim's
violence scans the street dealers bucketed before policing (skipping those arrested since);
a dealer displaced in a fight still counts towards local strength on its old block until the
next bucketing there, here it counts where it stands. Ties between equally priced dealers are
broken by scan order in marketsim and by neighbourhood order here.
"""

from __future__ import annotations

import math
from collections import defaultdict

import mesa
import numpy as np
from mesa.discrete_space import CellAgent, OrthogonalMooreGrid
from mesa.discrete_space.cell import Cell

DEALER, LIEUTENANT, LEADER = 0, 1, 2


# ---------------------------------------------------------------- decision rules (plain Python)
def purchase_quantity(base, elasticity, full_price, reference_price):
    if full_price <= 0.0:
        return base
    return base * (full_price / reference_price) ** elasticity


def arrest_probability(k, officers, dealers):
    if officers <= 0:
        return 0.0
    return 1.0 - math.exp(-k * officers / max(dealers, 1.0))


def perceived_risk(num, den, a, b):
    return (num + a) / (den + a + b)


def chance_to_lead(own, rival, bump):
    gap = rival - (own + bump)
    return 1.0 if gap <= 0.0 else math.exp(-gap / max(bump, 1e-9))


def attack_value(rival_rev, own_rev, p_win, risk, response_loss, grievance, grievance_value, ruth, horizon, cost,
                 retaliation):
    gain = horizon * rival_rev * p_win + grievance * grievance_value
    c = cost + (1.0 - p_win) * retaliation * own_rev + risk * response_loss
    return gain - c / ruth


def response_loss(org, m):
    """Members x learned weekly arrest rate under a response x response weeks x value of an arrest."""
    po, e = m.p.organizations, m.p.enforcement
    n = max(org.n_members, 1)
    prior_rate = po.crackdown_loss_weeks / (e.sentence_weeks * po.response_weeks)
    w0 = po.prior_a + po.prior_b
    rate = (org.loss_num + prior_rate * w0) / (org.loss_den + w0)
    return n * rate * po.response_weeks * e.sentence_weeks * org.revenue_avg / n


def add_grievance(victim, attacker, amount, slots=4):
    """The victim remembers at most ``slots`` grudges; the weakest goes for a stronger new one."""
    g = victim.griev
    if attacker in g or len(g) < slots:
        g[attacker] = g.get(attacker, 0.0) + amount
        return
    weakest = min(g, key=g.get)
    if g[weakest] < amount:
        del g[weakest]
        g[attacker] = amount


def logistic_choice(value, noise):
    z = value / noise
    if z > 50.0:
        return 1.0
    if z < -50.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def location_score(pull, dealers_here, police_here, k, aversion):
    risk = arrest_probability(k, police_here, dealers_here + 1.0)
    return pull / (dealers_here + 1.0) * math.exp(-aversion * risk)


# ---------------------------------------------------------------------------------- space
class Block(Cell):
    """A street block: a grid cell with the block's weekly state."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pull = 0.0  # demand of users within reach (static)
        self.district = 0
        self.police = 0  # officers whose patrol covers the block this week
        self.street_dealers = 0  # street dealers here after restocking (the arrest rule's denominator)
        self.sales = 0.0
        self.unmet = 0.0
        self.incidents = 0
        self.violence = 0.0
        self.control = None
        self.control_since = 0


# --------------------------------------------------------------------------------- agents
class User(CellAgent):
    """A buyer who knows a few dealers (Eck 1995; May & Hough 2004): it buys from its contacts,
    searches when too few of them can sell (or when it shops around), and is refused by a
    dealer who does not know it with a probability that rises with his organisation's
    perceived arrest risk."""

    def __init__(self, model, cell, demand, elasticity):
        super().__init__(model)
        self.cell = cell
        self.demand = demand
        self.elasticity = elasticity
        self.supplier = None
        self.bought = 0.0
        self.contacts: list[Dealer] = []  # dealers it knows (a jailed or departed dealer drops himself)

    def full_price(self, dealer):
        u = self.model.p.users
        return dealer.price + (u.travel_cost * self.model.distance(self.cell.coordinate, dealer.cell.coordinate)
                               + u.risk_cost * dealer.cell.police)

    def know(self, dealer):
        self.contacts.append(dealer)
        dealer.clients.add(self)

    def forget(self, dealer):
        self.contacts.remove(dealer)
        dealer.clients.discard(self)

    def buy(self):
        m = self.model
        u = m.p.users
        rng = m.rng
        self.bought = 0.0
        for d in [d for d in self.contacts if m.distance(self.cell.coordinate, d.cell.coordinate) > m.reach_radius]:
            self.forget(d)  # moved out of reach
        known = {d: 1 for d in self.contacts}
        usable = sum(1 for d in self.contacts if d.inventory > 0.0)
        options = list(self.contacts)
        reach = [a for a in m.reach(self.cell, m.reach_radius) if type(a) is Dealer]
        # nobody to look for when it already knows every street dealer within reach
        if len(self.contacts) < len(reach) and (
                usable < u.contacts or (u.explore_prob > 0.0 and rng.random() < u.explore_prob)):
            if self.contacts:  # a contact introduces another street member of his organisation
                c = self.contacts[int(rng.integers(0, len(self.contacts)))]
                others = [d for d in c.org.members if d.on_street and d is not c]
                if others:
                    r = others[int(rng.integers(0, len(others)))]
                    if m.distance(self.cell.coordinate, r.cell.coordinate) <= m.reach_radius and r not in known:
                        options.append(r)
                        known[r] = 2
            if reach:
                for _ in range(u.search_samples):  # dealers met by asking around
                    d = reach[int(rng.integers(0, len(reach)))]
                    if d in known:
                        continue
                    m.c["approached"] += 1
                    if rng.random() >= d.org.openness:
                        m.c["refused"] += 1
                        continue  # he does not sell to someone he does not know
                    options.append(d)
                    known[d] = 0
        want = -1.0
        used = set()
        stock_before = {d: d.inventory > 0.0 for d in self.contacts}  # usable this week
        for _ in range(3):
            best, best_full = None, math.inf
            for d in options:
                full = self.full_price(d) - (u.loyalty_discount if known[d] == 1 else 0.0)
                if d.inventory > 0.0 and full < best_full:
                    best, best_full = d, full
            if best is None:
                break
            if want < 0.0:
                want = purchase_quantity(self.demand, self.elasticity, self.full_price(best), u.reference_price)
            q = min(want - self.bought, best.inventory)
            best.sell(q)
            self.bought += q
            self.supplier = best
            if known[best] == 0:
                m.c["stranger_units"] += q
            if best not in self.contacts:  # a new contact, in place of the least useful one when full
                if len(self.contacts) >= u.contacts:
                    keep = [d for d in self.contacts if d not in used]
                    if keep:
                        worst = min(keep, key=lambda d: -self.full_price(d) if stock_before.get(d) else -math.inf)
                        self.forget(worst)
                if len(self.contacts) < u.contacts:
                    self.know(best)
            known[best] = 1
            used.add(best)
            if self.bought >= want - 1e-12:
                break
        for d in options:  # dealers met this week who would sell to it fill free contact slots
            if len(self.contacts) >= u.contacts:
                break
            if known[d] != 1 and d not in self.contacts:
                self.know(d)
        if want < 0.0:
            want = self.demand
        short = want - self.bought
        if short > 0.0:
            m.c["unmet_demand"] += short
            self.cell.unmet += short
        if self.bought > 0.0:
            m.c["served"] += 1
            m.c["quantity_sold"] += self.bought
        if not self.contacts:
            m.c["no_contact"] += 1


class Dealer(CellAgent):
    def __init__(self, model, cell, org, rank, price, cash):
        super().__init__(model)
        self.cell = cell
        self.home = cell  # where it returns after prison
        self.org = None
        self.join(org)
        self.rank = rank
        self.inventory = 0.0
        self.price = price
        self.cash = cash
        self.jail_until = 0
        self.sales = 0.0
        self.sales_avg = 0.0
        self.stockout = False
        self.acted = False
        self.clients: set[User] = set()  # users who know him
        if rank == LEADER:
            org.leader = self

    # membership
    def join(self, org):
        if self.org is not None:
            self.org.members.pop(self, None)
        self.org = org
        self.org_gen = org.gen
        org.members[self] = None

    @property
    def on_street(self):
        return self.cell is not None

    def sell(self, q):
        self.inventory -= q
        if self.inventory <= 1e-12:
            self.inventory = 0.0
            self.stockout = True
        self.sales += q
        self.cash += q * self.price
        self.cell.sales += q

    def lose_clients(self):
        for user in list(self.clients):
            user.forget(self)

    def go_to_prison(self, until):
        self.lose_clients()
        self.jail_until = until
        self.home = self.cell
        self.cell = None

    def leave(self):
        """Quit the market or die (an organisation notices a dead leader at succession)."""
        self.lose_clients()
        self.org.members.pop(self, None)
        self.remove()

    def reprice(self):
        sp, e = self.model.p.supply, self.model.p.enforcement
        if self.stockout:
            self.price *= 1.0 + sp.price_adjustment
        elif self.inventory > self.sales:
            self.price *= 1.0 - sp.price_adjustment
        risk = arrest_probability(e.arrest_k, self.cell.police, self.cell.street_dealers)
        floor = sp.transfer_price + sp.risk_premium * risk
        if self.price < floor:
            self.price = floor
        self.sales_avg = 0.7 * self.sales_avg + 0.3 * self.sales

    def fight(self):
        """Meet the most lucrative rival in contact and maybe attack it (violence)."""
        m = self.model
        if self.acted or not self.on_street or self.cell is None:
            return
        po, e = m.p.organizations, m.p.enforcement
        rival, best_rev = None, -1.0
        for other in m.reach(self.cell, 1):
            if type(other) is not Dealer or other.acted or other.org is self.org:
                continue
            rev = other.sales_avg * other.price
            if rev > best_rev:
                rival, best_rev = other, rev
        if rival is None:
            return
        org = self.org
        p_win = m.local_strength(self.cell, org) / (m.local_strength(self.cell, org)
                                                    + m.local_strength(rival.cell, rival.org))
        # what it observes: its own incidents and the attacks it suffered, never police records
        worst = max(org.griev.values(), default=0.0)
        q = chance_to_lead(e.attribution_rate * org.violence_own,
                           e.attribution_rate * (1.0 - po.grievance_decay) * worst, 0.25 * e.attribution_rate)
        top = perceived_risk(org.vtop_num, org.vtop_den, po.prior_a, po.prior_b)
        oth = perceived_risk(org.voth_num, org.voth_den, po.prior_a, po.prior_b)
        risk = q * top + (1.0 - q) * oth
        value = attack_value(best_rev, self.sales_avg * self.price, p_win, risk, response_loss(org, m),
                             org.griev.get(rival.org, 0.0), po.grievance_value, org.ruth,
                             po.contest_horizon, po.attack_cost, po.retaliation_weeks)
        if m.random.random() >= logistic_choice(value, po.decision_noise):
            return
        self.acted = rival.acted = True
        m.c["violence_turf"] += 1
        org.cash -= po.attack_cost
        org.violence += 1
        add_grievance(rival.org, org, 1.0)
        rival.cell.incidents += 1
        if m.random.random() < e.attribution_rate:
            org.attributed += 1
        winner, loser = (self, rival) if m.random.random() < p_win else (rival, self)
        if m.random.random() < po.lethality:
            m.c["turf_deaths"] += 1
            winner.inventory += loser.inventory
            winner.cash += loser.cash
            corner = loser.cell
            loser.leave()
            if winner is self:
                self.cell = corner  # the attacker takes the corner
        else:
            loser.cell = m.random_cell_near(loser.cell, m.p.market.move_radius)

    def relocate(self):
        """Displacement: compare the block with a few random blocks nearby."""
        m, mk, e = self.model, self.model.p.market, self.model.p.enforcement
        if m.random.random() >= mk.move_prob:
            return
        here = self.cell
        best = here
        best_score = 1.1 * location_score(here.pull, here.street_dealers - 1.0, here.police, e.arrest_k,
                                          mk.police_aversion)
        for _ in range(4):
            c = m.random_cell_near(here, mk.move_radius)
            if c is here:
                continue
            s = location_score(c.pull, c.street_dealers, c.police, e.arrest_k, mk.police_aversion)
            if s > best_score:
                best, best_score = c, s
        if best is not here:
            here.street_dealers -= 1
            best.street_dealers += 1
            self.cell = best
            m.c["displacement"] += 1


class Officer(CellAgent):
    def __init__(self, model, cell):
        super().__init__(model)
        self.cell = cell
        self.hire()

    def hire(self):
        e = self.model.p.enforcement
        sig = e.integrity_sigma
        self.integrity = float(self.model.rng.lognormal(math.log(e.integrity_mean) - sig**2 / 2, sig))
        self.corrupt_by = None
        self.corrupt_gen = 0
        self.bribe = 0.0
        self.refused_by = None
        self.refused_until = 0
        self.out = False

    def cells_in_patrol(self):
        r = self.model.p.enforcement.patrol_radius
        return list(self.cell.get_neighborhood(radius=r, include_center=True)) if r > 0 else [self.cell]

    def take_bribes(self):
        """Corruption: internal affairs, then the biggest organisation around makes an offer."""
        m, e, po = self.model, self.model.p.enforcement, self.model.p.organizations
        if self.out:
            return
        if self.corrupt_by is not None and m.random.random() < e.detection_prob:
            m.c["corrupt_detected"] += 1
            self.corrupt_by, self.bribe, self.out = None, 0.0, True
            return
        exposed = defaultdict(int)
        for cell in self.cells_in_patrol():
            for a in cell.agents:
                if type(a) is Dealer:
                    exposed[a.org] += 1
        best = min(exposed, key=lambda o: (-exposed[o], o.unique_id)) if exposed else None
        payer = self.corrupt_by
        if payer is not None and (not payer.active or payer.gen != self.corrupt_gen):
            payer = self.corrupt_by = None
            self.bribe = 0.0
        o = payer if payer is not None else best
        if o is None:
            return
        risk = perceived_risk(o.trade_num, o.trade_den, po.prior_a, po.prior_b)
        value_per_arrest = e.sentence_weeks * o.revenue_avg / max(o.n_members, 1)
        wtp = po.bribe_share * exposed[o] * risk * value_per_arrest
        budget = po.bribe_cash_share * o.cash - o.bribes
        if payer is not None:  # a retainer: kept while the payer can pay (and it is worth it nearby)
            if budget >= self.bribe and (exposed[o] == 0 or wtp >= self.bribe):
                o.pay(self.bribe)
            else:
                self.corrupt_by, self.bribe = None, 0.0
            return
        offer = min(wtp, budget)
        if self.refused_by is o and self.refused_until > m.week:
            offer = 0.0
        if offer <= 0.0:
            return
        threat = o.threat_att / (o.threat_ref + po.prior_a + po.prior_b)
        avoided = threat * po.police_lethality * po.officer_harm_weeks * e.officer_wage
        if offer + avoided > self.integrity * e.officer_wage + e.detection_prob * e.penalty_weeks * e.officer_wage:
            self.corrupt_by, self.corrupt_gen, self.bribe = o, o.gen, offer
            o.pay(offer)
        else:
            self.refused_by, self.refused_until = o, m.week + po.refusal_memory
            o.threat_ref += 1.0
            p_resp = perceived_risk(o.pnum, o.pnum_den, po.prior_a, po.prior_b)
            gain = po.police_lethality * exposed[o] * risk * value_per_arrest
            value = gain - (po.attack_cost + p_resp * response_loss(o, m)) / o.ruth
            if m.random.random() < logistic_choice(value, po.decision_noise):
                m.c["violence_against_police"] += 1
                o.threat_att += 1.0
                o.police_attacks += 1
                o.cash -= po.attack_cost
                o.violence += 1
                self.cell.incidents += 1
                if m.random.random() < e.attribution_rate:
                    o.attributed += 1
                if m.random.random() < po.police_lethality:
                    m.c["officers_killed"] += 1
                    self.out = True

    def arrest_dealers(self):
        """Policing: every street dealer in the patrol area may be arrested."""
        m, e = self.model, self.model.p.enforcement
        if self.out:
            return
        for cell in self.cells_in_patrol():
            for d in cell.agents:
                if type(d) is not Dealer:
                    continue
                p = 1.0 - math.exp(-e.arrest_k / cell.street_dealers)
                if m.random.random() < p:
                    if self.corrupt_by is d.org:
                        m.c["enforcement_neutralised"] += 1
                        continue
                    boss = d.rank > DEALER and d.org.n_members >= 3
                    m.arrest(d, e.leader_sentence_weeks if boss else e.sentence_weeks, boss)


class Organization(mesa.Agent):
    def __init__(self, model, cash, ruth, parent=None):
        super().__init__(model)
        model.org_gen += 1
        self.gen = model.org_gen
        self.active = True
        # an insertion-ordered set (a dict's keys): iterating a set of agents follows their memory
        # addresses, which differ between processes, so draws over it would not be reproducible
        self.members: dict[Dealer, None] = {}
        self.leader: Dealer | None = None
        self.cash = cash
        self.stock = 0.0
        self.ruth = ruth
        self.parent = parent
        self.sales = self.sales_avg = self.revenue = self.revenue_avg = 0.0
        self.violence = self.violence_prev = self.attributed = self.arrests = 0
        self.violence_attr = 0.0
        self.violence_own = 0.0
        self.trade_num = self.trade_den = 0.0
        self.vtop_num = self.vtop_den = self.voth_num = self.voth_den = 0.0
        self.exposure = self.exposure_base = 0.0
        self.bribes = 0.0
        self.stockout_share = 0.0
        self.n_members = self.n_street = 0
        self.griev: dict = {}
        self.police_attacks = self.police_prev = 0
        self.pnum = self.pnum_den = self.loss_num = self.loss_den = self.threat_att = self.threat_ref = 0.0

    def street_members(self):
        return sorted((d for d in self.members if d.on_street), key=lambda d: d.unique_id)

    def count(self):
        self.n_members = len(self.members)
        self.n_street = sum(1 for d in self.members if d.on_street)

    def pay(self, amount):
        self.cash -= amount
        self.bribes += amount
        self.model.c["bribes_paid"] += amount

    def leader_gone(self):
        L = self.leader
        return L is None or L not in self.members or not L.on_street

    def dissolve(self):
        m = self.model
        m.c["exit_stock"] += self.stock
        self.stock = self.cash = 0.0
        self.active = False
        self.remove()


# ---------------------------------------------------------------------------------- model
class ReferenceMarket(mesa.Model):
    """marketsim's weekly schedule, in idiomatic Mesa. ``scenario``: a marketsim Scenario."""

    def __init__(self, scenario, seed: int = 1):
        super().__init__(rng=seed)
        self.p = p = scenario
        w = p.world
        if p.enforcement.policy != "none":
            raise ValueError("the reference implements the 'none' policy only")
        self.grid = OrthogonalMooreGrid((w.width, w.height), torus=w.torus, random=self.random, cell_klass=Block)
        self.width, self.height, self.torus = w.width, w.height, w.torus
        r = p.users.search_radius  # on a torus narrower than the reach, the reach covers the city once
        self.reach_radius = min(r, (min(w.width, w.height) - 1) // 2) if w.torus else r
        self.org_gen = 0
        self.week = 0
        self.c = defaultdict(float)
        self.rows = []
        self._build_world()
        self.datacollector = mesa.DataCollector(model_reporters={k: (lambda m, k=k: m.row[k]) for k in REPORTED})
        # the city settles, unrecorded, before the experiment (marketsim's world.burn_in)
        for _ in range(w.burn_in):
            self._week(record=False)

    # ---------------------------------------------------------------- world
    def _build_world(self):
        p, rng = self.p, self.rng
        w, u, e, po, sp, mk = p.world, p.users, p.enforcement, p.organizations, p.supply, p.market
        W, H = w.width, w.height
        for cell in self.grid.all_cells:
            x, y = cell.coordinate
            cell.district = (y // w.district_size) * (-(-W // w.district_size)) + x // w.district_size
        centres = np.column_stack([rng.uniform(0, W, w.hotspots), rng.uniform(0, H, w.hotspots)])
        which = rng.integers(0, w.hotspots, w.users)
        pos = centres[which] + rng.normal(0.0, w.hotspot_spread, (w.users, 2))
        mu = math.log(u.demand_mean) - u.demand_sigma**2 / 2
        demand = rng.lognormal(mu, u.demand_sigma, w.users)
        elast = np.clip(rng.normal(u.elasticity_mean, u.elasticity_sd, w.users), -3.0, -0.05)
        if not w.torus:  # homes drawn off the map are drawn again around their cluster
            for _ in range(1000):
                out = np.flatnonzero((pos[:, 0] < 0) | (pos[:, 0] >= W) | (pos[:, 1] < 0) | (pos[:, 1] >= H))
                if out.size == 0:
                    break
                pos[out] = centres[which[out]] + rng.normal(0.0, w.hotspot_spread, (out.size, 2))
        for i in range(w.users):
            x, y = int(math.floor(pos[i, 0])), int(math.floor(pos[i, 1]))
            x, y = (x % W, y % H) if w.torus else (min(max(x, 0), W - 1), min(max(y, 0), H - 1))
            User(self, self.grid[(x, y)], float(demand[i]), float(elast[i]))
        # demand within reach of each block
        home = defaultdict(float)
        for user in self.agents_by_type[User]:
            home[user.cell] += user.demand
        for cell, dem in home.items():
            area = cell.get_neighborhood(radius=u.search_radius, include_center=True) if u.search_radius else [cell]
            for c in area:
                c.pull += dem
        cells = list(self.grid.all_cells)
        ruth = self._ruthlessness(w.organizations)
        bases = centres[rng.permutation(w.hotspots)[: w.organizations] % w.hotspots]
        if w.organizations > w.hotspots:
            extra = np.column_stack([rng.uniform(0, W, w.organizations - w.hotspots),
                                     rng.uniform(0, H, w.organizations - w.hotspots)])
            bases = np.vstack([bases, extra])
        orgs = [Organization(self, po.initial_cash, float(r)) for r in np.atleast_1d(ruth)]
        pull = np.array([c.pull for c in cells])
        chosen = rng.choice(len(cells), size=w.dealers, replace=False, p=pull / pull.sum())
        expected = w.users * u.demand_mean / w.dealers
        dist = [[abs(cells[i].coordinate[0] - b[0]) + abs(cells[i].coordinate[1] - b[1]) for b in bases]
                for i in chosen]
        owner = np.argmin(np.array(dist) + rng.exponential(3.0, (len(chosen), len(bases))), axis=1)
        for i, o in zip(chosen, owner):
            d = Dealer(self, cells[i], orgs[o], DEALER, sp.initial_retail_price, mk.initial_dealer_cash)
            d.inventory = sp.stock_weeks * expected
            d.sales_avg = expected
        for org in orgs:
            members = sorted(org.members, key=lambda d: d.unique_id)
            if not members:
                continue
            members = [members[i] for i in rng.permutation(len(members))]
            members[0].rank = LEADER
            org.leader = members[0]
            for d in members[1: 1 + int(round(po.lieutenant_ratio * len(members)))]:
                d.rank = LIEUTENANT
            org.stock = sp.stock_weeks * expected * len(members)
            org.sales_avg = expected * len(members)
            org.revenue_avg = org.sales_avg * sp.initial_retail_price
        for _ in range(e.officers):
            Officer(self, cells[int(rng.integers(len(cells)))])
        self.max_dealers = int(math.ceil(w.dealers * mk.max_dealers_factor))
        self.count_members()

    def _ruthlessness(self, size=None):
        po = self.p.organizations
        if po.ruthlessness_cv <= 0:
            return np.full(size, po.ruthlessness_mean) if size is not None else po.ruthlessness_mean
        shape = 1.0 / po.ruthlessness_cv**2
        return self.rng.gamma(shape, po.ruthlessness_mean / shape, size=size)

    # ---------------------------------------------------------------- helpers
    def distance(self, a, b):
        dx, dy = abs(a[0] - b[0]), abs(a[1] - b[1])
        if self.torus:
            dx, dy = min(dx, self.width - dx), min(dy, self.height - dy)
        return max(dx, dy)

    def random_cell_near(self, cell, radius):
        x = cell.coordinate[0] + int(self.rng.integers(-radius, radius + 1))
        y = cell.coordinate[1] + int(self.rng.integers(-radius, radius + 1))
        if self.torus:
            x, y = x % self.width, y % self.height
        else:
            x, y = min(max(x, 0), self.width - 1), min(max(y, 0), self.height - 1)
        return self.grid[(x, y)]

    @property
    def dealers(self):
        return self.agents_by_type[Dealer] if Dealer in self.agents_by_type else mesa.agent.AgentSet([], random=self.random)

    def street_dealers(self):
        return self.dealers.select(lambda d: d.on_street)

    @property
    def organizations(self):
        return self.agents_by_type[Organization] if Organization in self.agents_by_type else []

    def count_members(self):
        for org in self.organizations:
            org.count()

    def reach(self, cell, radius):
        """Agents on the blocks within Chebyshev ``radius`` of ``cell`` (itself included)."""
        if radius <= 0:
            return cell.agents
        return cell.get_neighborhood(radius=radius, include_center=True).agents

    def local_strength(self, cell, org):
        own = sum(1 for a in self.reach(cell, 2) if type(a) is Dealer and a.org is org)
        return own + 0.1 * math.sqrt(org.n_members)

    def arrest(self, d, mean_sentence, boss):
        e = self.p.enforcement
        d.go_to_prison(self.week + 1 + int(self.rng.exponential(mean_sentence)))
        self.c["street_seizures"] += d.inventory
        d.inventory = 0.0
        if d.cash > 0.0:
            d.cash -= e.cash_seizure_share * d.cash
        d.org.arrests += 1
        self.c["arrests"] += 1
        if boss and d.rank == LIEUTENANT:
            self.c["lieutenant_arrests"] += 1
        elif boss and d.rank == LEADER:
            self.c["leader_arrests"] += 1

    def new_dealer(self, cell, org, rank, price, cash):
        if len(self.dealers) >= self.max_dealers:
            return None
        return Dealer(self, cell, org, rank, price, cash)

    # ---------------------------------------------------------------- schedule
    def step(self):
        self._week(record=True)

    def _week(self, record):
        self.week += 1
        self.recording = record
        self.begin_week(self.week)
        self.import_and_interdiction()
        self.allocate_enforcement()
        self.corruption()
        self.retail_market()
        self.policing()
        self.violence()
        self.succession()
        self.entry_exit_recruitment_displacement()
        self.learning()
        self.record()

    @property
    def officers(self):
        return self.agents_by_type[Officer]

    def begin_week(self, t):
        self.c = defaultdict(float)
        for cell in self.grid.all_cells:
            cell.incidents = 0
            cell.sales = 0.0
            cell.unmet = 0.0
        for org in self.organizations:
            outs = sum(1 for d in org.members if d.stockout)
            org.stockout_share = outs / org.n_street if org.n_street > 0 else 0.0
            org.violence_prev, org.violence, org.attributed, org.arrests, org.bribes = org.violence, 0, 0, 0, 0.0
            org.police_prev, org.police_attacks = org.police_attacks, 0
        for d in self.dealers:
            d.sales = 0.0
            d.stockout = False
        for f in self.officers:
            if f.out:
                f.hire()
        # prisoners whose sentence ends this week
        for d in sorted(self.dealers.select(lambda d: not d.on_street and d.jail_until == t),
                        key=lambda d: d.unique_id):
            d.cell = d.home
            org = d.org
            if org.active and org.gen == d.org_gen:
                if d.rank == LEADER and org.leader is not d:
                    d.rank = LIEUTENANT
                continue
            new = Organization(self, self.p.market.entrant_cash, float(self._ruthlessness()))
            self.c["entrants"] += 1
            d.join(new)
            d.rank = LEADER
            new.leader = d
        self.count_members()

    def import_and_interdiction(self):
        sp, e = self.p.supply, self.p.enforcement
        orgs = [o for o in self.organizations]
        order = {}
        for o in orgs:
            unit = sp.wholesale_price * (sp.independent_markup if o.n_members <= 1 else 1.0)
            held = sum(d.inventory for d in o.members)
            expected = max(o.sales_avg * (1.0 + 0.5 * min(o.stockout_share, 1.0)), 10.0 * o.n_street)
            want = max(0.0, 2.0 * sp.stock_weeks * expected - o.stock - held)
            order[o] = (math.floor(min(want, max(0.0, o.cash) / unit)), unit)
        total = sum(q for q, _ in order.values())
        ship = {o: (math.floor(q * sp.import_volume / total) if total > sp.import_volume > 0
                    else (q if sp.import_volume > 0 else 0.0)) for o, (q, _) in order.items()}
        shipped = sum(ship.values())
        seized_total = 0.0
        for o in orgs:
            seized = 0.0
            if shipped > 0 and e.interdiction_capacity > 0 and ship[o] > 0:
                inspected = min(e.interdiction_capacity * ship[o] / shipped, ship[o])
                p = min(max(e.interdiction_hit_rate * inspected / max(ship[o], 1.0), 0.0), 1.0)
                seized = float(self.rng.binomial(int(ship[o]), p))
            o.cash -= ship[o] * order[o][1]
            o.stock += ship[o] - seized
            seized_total += seized
        self.c["interdicted"] = seized_total
        # restock street dealers
        for o in orgs:
            street = [d for d in o.members if d.on_street]
            need = {d: max(0.0, sp.stock_weeks * max(d.sales_avg, 5.0) - d.inventory) for d in street}
            total_need = sum(need.values())
            frac = min(o.stock / total_need, 1.0) if total_need > 0 else 0.0
            given = 0.0
            for d, n in need.items():
                g = n * frac
                d.inventory += g
                d.cash -= g * sp.transfer_price
                given += g
            o.stock = max(o.stock - given, 0.0)
            o.cash += given * sp.transfer_price
        self.count_street_dealers()

    def count_street_dealers(self):
        for cell in self.grid.all_cells:
            cell.street_dealers = 0
        for d in self.dealers:
            if d.on_street:
                d.cell.street_dealers += 1

    def allocate_enforcement(self):
        """The 'none' policy: officers posted on random blocks (investigators follow the arrests)."""
        cells = self.grid.all_cells.cells
        self.record_at_allocation = {o: o.violence_attr for o in self.organizations}
        rec = max(self.record_at_allocation.values(), default=-1.0)
        self.top_violent = max(self.record_at_allocation, key=self.record_at_allocation.get) if rec > 0 else None
        for f in self.officers:
            f.cell = cells[int(self.rng.integers(len(cells)))]
        self.cover_cells()
        for o in self.organizations:
            street = [d for d in o.members if d.on_street]
            o.exposure = sum(d.cell.police for d in street) / len(street) if street else 0.0

    def cover_cells(self):
        """Police presence per block: officers on duty whose patrol covers it."""
        for cell in self.grid.all_cells:
            cell.police = 0
        for f in self.officers:
            if not f.out:
                for cell in f.cells_in_patrol():
                    cell.police += 1

    def corruption(self):
        self.officers.shuffle_do("take_bribes")
        if any(f.out for f in self.officers):  # killed or dismissed: off the street for the rest of the week
            self.cover_cells()

    def retail_market(self):
        sp, po = self.p.supply, self.p.organizations
        for org in self.organizations:  # how open each organisation is to strangers, from its own arrests
            org.openness = math.exp(-self.p.market.stranger_caution
                                    * perceived_risk(org.trade_num, org.trade_den, po.prior_a, po.prior_b))
        self.agents_by_type[User].shuffle_do("buy")
        revenue = 0.0
        for org in self.organizations:
            org.sales = org.revenue = 0.0
        for d in self.dealers:
            rev = d.sales * d.price
            revenue += rev
            remit = (1.0 - sp.dealer_margin_share) * max(d.price - sp.transfer_price, 0.0) * d.sales
            d.cash -= remit
            d.org.cash += remit
            d.org.sales += d.sales
            d.org.revenue += rev
        sold = self.c["quantity_sold"]
        self.c["retail_price"] = revenue / sold if sold > 0 else float("nan")
        shares = [o.sales for o in self.organizations]
        total = sum(shares)
        self.c["hhi"] = sum((100.0 * s / total) ** 2 for s in shares) if total > 0 else float("nan")
        self.street_dealers().do("reprice")
        self.c["active_market_cells"] = sum(1 for c in self.grid.all_cells if c.sales > 0)

    def policing(self):
        e = self.p.enforcement
        self.officers.shuffle_do("arrest_dealers")
        active = [o for o in self.organizations]
        # leads: this week's arrests; without any, members in prison (what they revealed)
        leads = {o: o.arrests for o in active}
        if sum(leads.values()) == 0:
            leads = {o: max(o.n_members - o.n_street, 0) for o in active}
        total = sum(leads.values())  # investigators follow up where the leads are
        paid = defaultdict(int)
        for f in self.officers:
            if not f.out and f.corrupt_by is not None:
                paid[f.corrupt_by] += 1
        n_off = len(self.officers)
        for o in active:
            o.p_climb = o.p_tip = 0.0
            if leads[o] > 0:
                effort = e.investigators * leads[o] / total
                o.p_climb = 1.0 - math.exp(-e.investigation_k * effort * leads[o] / max(o.n_street, 1))
                if paid[o] > 0:
                    o.p_tip = 1.0 - (1.0 - min(paid[o] / n_off, 1.0)) ** e.tipoff_team
            o.lieut_taken = 0
        for rank in (LIEUTENANT, LEADER):
            for d in sorted(self.street_dealers().select(lambda d, r=rank: d.rank == r), key=lambda d: d.unique_id):
                p = d.org.p_climb
                if p <= 0.0:
                    continue
                if rank == LEADER and d.org.lieut_taken == 0:
                    p *= 0.25
                if self.random.random() < p:
                    if d.org.p_tip > 0.0 and self.random.random() < d.org.p_tip:
                        self.c["enforcement_neutralised"] += 1  # tipped off by a paid officer
                        continue
                    if rank == LIEUTENANT:
                        d.org.lieut_taken += 1
                    self.arrest(d, e.leader_sentence_weeks, d.org.n_members >= 3)

    def violence(self):
        orgs = [o for o in self.organizations]
        self.top1 = max(orgs, key=lambda o: o.violence_attr) if orgs else None
        self.rec1 = self.top1.violence_attr if self.top1 else 0.0
        self.rec2 = max([o.violence_attr for o in orgs if o is not self.top1], default=0.0)
        self.rec2 = max(self.rec2, 0.0)
        for d in self.dealers:
            d.acted = False
        self.street_dealers().shuffle_do("fight")

    def succession(self):
        po = self.p.organizations
        for o in sorted(self.organizations, key=lambda o: o.unique_id):
            if not o.active or not o.leader_gone():
                continue
            members = o.street_members()
            if o.leader is not None:
                if o.n_members >= 3:  # count kingpins, not lone sellers or pairs
                    self.c["leader_removals"] += 1
                o.leader = None
            if not members:
                continue
            lieuts = [d for d in members if d.rank == LIEUTENANT]
            self.random.shuffle(lieuts)
            if not lieuts:  # a crew without middle management does not outlive its boss
                self.disband(o, members)
                continue
            # each lieutenant decides whether to contest control, knowing how many already claim it
            sp = self.p.supply
            control = po.control_weeks * o.revenue_avg
            risk = perceived_risk(o.vtop_num, o.vtop_den, po.prior_a, po.prior_b)
            loss = response_loss(o, self)
            claimants = []
            for lt in lieuts:
                k = len(claimants)
                p_win = 1.0 / (k + 1)
                value = p_win * control
                if k > 0:
                    stake = po.control_weeks * lt.sales_avg * lt.price * sp.dealer_margin_share
                    cost = k * po.attack_cost + (1.0 - p_win) * po.lethality * stake + risk * loss
                    value -= cost / o.ruth
                if self.random.random() < logistic_choice(value, po.decision_noise):
                    claimants.append(lt)
            if not claimants:
                claimants = [lieuts[0]]
            if len(claimants) >= 2 and o.n_members >= po.split_min_members:
                heads = claimants[:3]
                factions = [o]
                for _ in heads[1:]:
                    f = Organization(self, 0.0, o.ruth * float(self.rng.lognormal(0.0, 0.3)), parent=o)
                    for k in ("trade_num", "trade_den", "vtop_num", "vtop_den", "voth_num", "voth_den",
                              "exposure_base", "pnum", "pnum_den", "loss_num", "loss_den"):
                        setattr(f, k, getattr(o, k))
                    factions.append(f)
                groups = [[] for _ in factions]
                for m in members:
                    j = heads.index(m) if m in heads else min(
                        range(len(heads)), key=lambda j: self.distance(m.cell.coordinate, heads[j].cell.coordinate))
                    groups[j].append(m)
                # the parent's books before sharing: every faction (the parent included) takes its
                # headcount share of them (as marketsim, ODD 7.7)
                cash, stock, sales_avg, revenue_avg = o.cash, o.stock, o.sales_avg, o.revenue_avg
                for j, f in enumerate(factions):
                    share = len(groups[j]) / len(members)
                    for m in groups[j]:
                        m.join(f)
                    f.cash, f.stock = cash * share, stock * share
                    heads[j].rank = LEADER
                    f.leader = heads[j]
                    f.sales_avg, f.revenue_avg = sales_avg * share, revenue_avg * share
                self.c["splits"] += 1
                self.infighting(groups, factions, len(claimants) - 1)
            else:
                heir = self.random.choice(claimants)
                heir.rank = LEADER
                o.leader = heir
                if len(claimants) >= 2:
                    self.infighting([members], [o], len(claimants) - 1)

    def disband(self, o, members):
        """The crew breaks up: each street member joins the organisation holding its corner as a
        dealer, or goes on alone with its own cash; the crew's stock and cash leave the market."""
        for d in sorted(members, key=lambda d: d.unique_id):
            n = d.cell.control
            if n is not None and n is not o and n.active:
                d.join(n)
                d.rank = DEALER
            else:
                f = Organization(self, d.cash, o.ruth)
                d.cash = 0.0
                d.join(f)
                d.rank = LEADER
                f.leader = d
                f.sales_avg, f.revenue_avg = d.sales_avg, d.sales_avg * d.price
        o.dissolve()

    def infighting(self, groups, factions, n):
        po, e = self.p.organizations, self.p.enforcement
        for _ in range(n):
            a, b = self.random.sample(range(len(factions)), 2) if len(factions) > 1 else (0, 0)
            victims = [d for d in groups[b] if d in d.org.members]
            if not victims:
                continue
            v = self.random.choice(victims)
            self.c["violence_succession"] += 1
            factions[a].violence += 1
            if factions[a] is not factions[b]:
                add_grievance(factions[b], factions[a], 1.0)
            (v.cell or v.home).incidents += 1
            if self.random.random() < e.attribution_rate:
                factions[a].attributed += 1
            if self.random.random() < po.lethality:
                self.c["succession_deaths"] += 1
                v.org.stock += v.inventory
                v.org.cash += v.cash
                if v.org.leader is v:
                    v.org.leader = None
                v.leave()

    def entry_exit_recruitment_displacement(self):
        mk, po, sp = self.p.market, self.p.organizations, self.p.supply
        # exits: lone sellers (one-member organisations) on their own and their firm's cash together
        for o in sorted(self.organizations, key=lambda o: o.unique_id):
            L = o.leader
            if o.n_members != 1 or L is None or L not in o.members or not L.on_street:
                continue
            if L.sales_avg < mk.min_sales or L.cash + o.cash < mk.exit_cash:
                o.stock += L.inventory
                o.cash += L.cash
                L.leave()
        # members who barely sell, then broke members
        for d in list(self.street_dealers()):
            if d.rank != LEADER and d.sales_avg < mk.min_sales:
                d.org.stock += d.inventory
                d.org.cash += d.cash
                d.leave()
        for d in list(self.street_dealers()):
            if d.rank != LEADER and d.cash < mk.exit_cash:
                d.org.stock += d.inventory
                d.leave()
        self.count_members()
        # broke organisations of two or more break up: street members quit
        for o in sorted(self.organizations, key=lambda o: o.unique_id):
            if o.n_members >= 2 and o.cash < mk.exit_cash * o.n_members:
                for d in o.street_members():
                    o.stock += d.inventory
                    o.cash += d.cash
                    d.leave()
        self.count_members()
        for o in list(self.organizations):
            if o.n_members == 0:
                o.dissolve()
        self.consolidate()
        self.defect()
        # entry where demand went unmet, in proportion to the expected profit of a new seller
        cells = [c for c in self.grid.all_cells if c.unmet > 0]
        total = sum(c.unmet for c in cells)
        cost = sp.wholesale_price * sp.independent_markup
        price = self.c["retail_price"]
        price = price if math.isfinite(price) else sp.initial_retail_price
        street = max(sum(1 for d in self.dealers if d.on_street), 1)
        factor = 0.0
        if price > cost and sp.initial_retail_price > cost:
            factor = (price - cost) / (sp.initial_retail_price - cost) / (
                1.0 + self.c["arrests"] / street * self.p.enforcement.sentence_weeks)
        n = int(self.rng.poisson(mk.entry_rate * total / 100.0 * factor)) if total > 0 and factor > 0 else 0
        if n:
            for c in self.random.choices(cells, weights=[c.unmet for c in cells], k=n):
                o = Organization(self, mk.entrant_cash, float(self._ruthlessness()))
                d = self.new_dealer(c, o, LEADER, sp.initial_retail_price, mk.initial_dealer_cash)
                if d is None:
                    o.active = False
                    o.remove()
                    break
                d.sales_avg = 10.0
                self.c["entrants"] += 1
            self.count_members()
        # recruitment
        for o in sorted(self.organizations, key=lambda o: o.unique_id):
            members = o.street_members()
            if not members:
                continue
            share = sum(1 for d in members if d.stockout) / o.n_street
            lam = po.recruit_rate * max(o.n_members, 1) * share
            k = int(self.rng.poisson(lam)) if lam > 0 else 0
            per_recruit = po.recruit_cost + mk.initial_dealer_cash  # the recruit's starting cash included
            if per_recruit > 0:
                k = min(k, int(max(0.0, o.cash) // per_recruit))
            if k > 0:
                per_dealer = sum(d.sales_avg for d in members) / len(members)
                k = min(k, int(o.stock // max(sp.stock_weeks * per_dealer, 1.0)))
            if k > 0:
                price = sum(d.price for d in members) / len(members)
                for _ in range(k):
                    near = self.random.choice(members).cell
                    d = self.new_dealer(self.random_cell_near(near, 2), o, DEALER, price, mk.initial_dealer_cash)
                    if d is None:
                        break
                    d.sales_avg = per_dealer
                    o.cash -= po.recruit_cost + mk.initial_dealer_cash
                    members.append(d)
            want = int(round(po.lieutenant_ratio * o.n_members))
            have = sum(1 for d in members if d.rank == LIEUTENANT)
            pool = [d for d in members if d.rank == DEALER]
            if want > have and pool:
                for d in self.random.sample(pool, min(want - have, len(pool))):
                    d.rank = LIEUTENANT
        self.count_members()
        # displacement
        self.count_street_dealers()
        self.street_dealers().shuffle_do("relocate")

    def consolidate(self):
        """A group's leader takes it into the organisation holding most corners around it when a
        member's pay there beats what it keeps as leader."""
        mk, po, sp = self.p.market, self.p.organizations, self.p.supply
        s = sp.dealer_margin_share
        self.count_members()
        for o in sorted(self.organizations, key=lambda o: o.unique_id):
            if not o.active or o.n_street < 1:
                continue
            L = o.leader
            if L is None or L not in o.members or not L.on_street:
                continue
            held = {}
            for c in L.cell.get_neighborhood(radius=mk.move_radius, include_center=True):
                if c.control is not None and c.control is not o:
                    held[c.control] = held.get(c.control, 0) + 1
            if not held:
                continue
            n = max(held, key=lambda k: (held[k], -k.unique_id))
            if not n.active or n.n_members <= o.n_members or n.n_street == 0:
                continue
            keep = (1.0 - s) * o.revenue_avg + s * o.revenue_avg / max(o.n_street, 1)
            value = po.control_weeks * (s * n.revenue_avg / n.n_street - keep)
            if self.random.random() >= logistic_choice(value, po.decision_noise):
                continue
            for d in list(o.members):
                d.join(n)
                if d.rank == LEADER:
                    d.rank = LIEUTENANT
            n.cash += o.cash
            n.stock += o.stock
            n.sales_avg += o.sales_avg
            n.revenue_avg += o.revenue_avg
            n.count()
            o.cash = o.stock = 0.0
            o.active = False
            o.remove()
        self.count_members()

    def defect(self):
        """Street members whose corner a larger organisation holds leave for it when its members'
        pay is higher."""
        po, sp = self.p.organizations, self.p.supply
        self.count_members()
        pay = {o: sp.dealer_margin_share * max(o.revenue_avg - sp.transfer_price * o.sales_avg, 0.0)
               / max(o.n_street, 1) for o in self.organizations}
        size = {o: o.n_members for o in self.organizations}
        for d in sorted(self.street_dealers(), key=lambda d: d.unique_id):
            n, o = d.cell.control, d.org
            if d.rank == LEADER or n is None or n is o or not n.active or n not in pay:
                continue
            if size[n] <= size[o] or n.n_street == 0:
                continue
            if self.random.random() < logistic_choice(po.control_weeks * (pay[n] - pay[o]), po.decision_noise):
                d.join(n)
                d.rank = DEALER
        self.count_members()

    def learning(self):
        po = self.p.organizations
        wd = po.learning_discount
        orgs = list(self.organizations)
        vic = po.vicarious_weight
        for o in orgs:
            o.trade_num = wd * o.trade_num + o.arrests
            o.trade_den = wd * o.trade_den + o.n_street + o.arrests
        # what each organisation observes (the 'none' policy names no target): its own violence last
        # week and whether police attention around it surged; attacks on police and their answer
        # (public news, weight vicarious_weight); its own losses under a surge
        surge = {o: o.exposure > (1.0 + po.response_threshold) * max(o.exposure_base, 1e-9) for o in orgs}
        p_cases = [o for o in orgs if o.police_prev > 0]
        n_pcase, n_pevent = len(p_cases), sum(1 for o in p_cases if surge[o])
        for o in orgs:
            own_v = 1.0 if o.violence_prev > 0 else 0.0
            own_e = own_v if surge[o] else 0.0
            if o is self.top_violent:
                o.vtop_num = wd * o.vtop_num + own_e
                o.vtop_den = wd * o.vtop_den + own_v
                o.voth_num, o.voth_den = wd * o.voth_num, wd * o.voth_den
            else:
                o.voth_num = wd * o.voth_num + own_e
                o.voth_den = wd * o.voth_den + own_v
                o.vtop_num, o.vtop_den = wd * o.vtop_num, wd * o.vtop_den
            own_p = 1.0 if o.police_prev > 0 else 0.0
            own_pe = own_p if surge[o] else 0.0
            o.pnum = wd * o.pnum + own_pe + vic * (n_pevent - own_pe)
            o.pnum_den = wd * o.pnum_den + own_p + vic * (n_pcase - own_p)
            o.loss_num = wd * o.loss_num + (o.arrests if surge[o] else 0.0)
            o.loss_den = wd * o.loss_den + (o.n_street + o.arrests if surge[o] else 0.0)
            o.threat_att *= wd
            o.threat_ref *= wd
            for r in list(o.griev):
                o.griev[r] *= po.grievance_decay
                if o.griev[r] < 0.05:
                    del o.griev[r]
        for o in orgs:
            o.exposure_base = 0.8 * o.exposure_base + 0.2 * o.exposure if o.exposure_base > 0 else o.exposure
            o.violence_attr = 0.75 * o.violence_attr + 0.25 * o.attributed
            o.violence_own = 0.75 * o.violence_own + 0.25 * o.violence
            o.sales_avg = 0.7 * o.sales_avg + 0.3 * o.sales
            o.revenue_avg = 0.7 * o.revenue_avg + 0.3 * o.revenue
        for cell in self.grid.all_cells:
            cell.violence = 0.8 * cell.violence + cell.incidents
            # turf: the organisation with most street dealers on the block (ties: the oldest)
            held = {}
            for a in cell.agents:
                if type(a) is Dealer:
                    held[a.org] = held.get(a.org, 0) + 1
            cell.control = max(held, key=lambda k: (held[k], -k.unique_id)) if held else None

    def record(self):
        self.count_members()
        if not self.recording:
            return
        c = self.c
        orgs = list(self.organizations)
        street = sum(1 for d in self.dealers if d.on_street)
        officers = list(self.officers)
        self.row = {
            "homicides": c["turf_deaths"] + c["succession_deaths"] + c["officers_killed"],
            "violent_incidents": c["violence_turf"] + c["violence_succession"] + c["violence_against_police"],
            "violence_turf": c["violence_turf"],
            "violence_succession": c["violence_succession"],
            "violence_against_police": c["violence_against_police"],
            "corrupted_officer_share": sum(1 for f in officers if f.corrupt_by is not None) / max(len(officers), 1),
            "bribes_paid": c["bribes_paid"],
            "hhi": c["hhi"],
            "retail_price": c["retail_price"],
            "quantity_sold": c["quantity_sold"],
            "unmet_demand": c["unmet_demand"],
            "users_served_share": c["served"] / max(len(self.agents_by_type[User]), 1),
            "stranger_sales_share": c["stranger_units"] / c["quantity_sold"] if c["quantity_sold"] > 0 else 0.0,
            "users_without_contact": c["no_contact"] / max(len(self.agents_by_type[User]), 1),
            "stranger_refusal_share": c["refused"] / c["approached"] if c["approached"] > 0 else float("nan"),
            "arrests": c["arrests"],
            "leader_arrests": c["leader_arrests"],
            "seizures": c["interdicted"] + c["street_seizures"] + c["exit_stock"],
            "incarcerated": len(self.dealers) - street,
            "dealers": street,
            "n_organizations": sum(1 for o in orgs if o.n_members >= 2),
            "active_market_cells": c["active_market_cells"],
            "displacement": c["displacement"],
            "entrants": c["entrants"],
            "leader_removals": c["leader_removals"],
        }
        self.datacollector.collect(self)

    def timeseries(self):
        return self.datacollector.get_model_vars_dataframe()


REPORTED = ["homicides", "violent_incidents", "violence_turf", "violence_succession", "violence_against_police",
            "corrupted_officer_share", "bribes_paid", "hhi", "retail_price", "quantity_sold", "unmet_demand",
            "users_served_share", "stranger_sales_share", "users_without_contact",
            "stranger_refusal_share", "arrests", "leader_arrests", "seizures", "incarcerated", "dealers",
            "n_organizations", "active_market_cells", "displacement", "entrants", "leader_removals"]

"""Mesa agents: the researcher's handle on users, dealers, organisations and officers.

Their state lives in the model's arrays (:mod:`marketsim.state`); an agent is a view
on one slot, so reading ``dealer.inventory`` always shows the current value. The
decision rules are the functions in :mod:`marketsim.kernels.decisions`, which the
kernels use in their loops; the methods here call the same functions for one agent.
"""

from __future__ import annotations

import mesa

from .kernels import decisions as rules
from .state import RANK_NAMES


class _SlotAgent(mesa.Agent):
    """An agent backed by slot ``slot`` of the model's arrays."""

    def __init__(self, model, slot: int, uid: int = -1):
        super().__init__(model)
        self.slot = slot
        self.uid = uid

    @property
    def state(self):
        return self.model.state

    def _xy(self, c: int) -> tuple[int, int]:
        w = self.model.state.width
        return (int(c % w), int(c // w))


class User(_SlotAgent):
    """A drug user: buys weekly from the dealer with the lowest full price within reach."""

    @property
    def position(self) -> tuple[int, int]:
        return self._xy(self.state.u_cell[self.slot])

    @property
    def cell(self):
        """Home cell on the model's ``OrthogonalMooreGrid``."""
        return self.model.grid[self.position]

    @property
    def demand(self) -> float:
        return float(self.state.u_demand[self.slot])

    @property
    def elasticity(self) -> float:
        return float(self.state.u_elast[self.slot])

    @property
    def bought(self) -> float:
        return float(self.state.u_bought[self.slot])

    @property
    def supplier(self):
        d = self.state.u_supplier[self.slot]
        return self.model.dealer_agent(d) if d >= 0 else None

    def wanted(self, full_price: float) -> float:
        """Units this user wants at ``full_price`` (price + travel + risk)."""
        p = self.model.params.users
        return rules.purchase_quantity(self.demand, self.elasticity, full_price, p.reference_price)


class Dealer(_SlotAgent):
    """A street-level seller, member of an organisation (a lone seller is a one-member organisation)."""

    @property
    def position(self) -> tuple[int, int]:
        return self._xy(self.state.d_cell[self.slot])

    @property
    def cell(self):
        return self.model.grid[self.position]

    @property
    def organization(self):
        return self.model.organization_agent(self.state.d_org[self.slot])

    @property
    def rank(self) -> str:
        return RANK_NAMES[self.state.d_rank[self.slot]]

    @property
    def inventory(self) -> float:
        return float(self.state.d_inv[self.slot])

    @property
    def price(self) -> float:
        return float(self.state.d_price[self.slot])

    @property
    def cash(self) -> float:
        return float(self.state.d_cash[self.slot])

    @property
    def in_prison(self) -> bool:
        return bool(self.state.d_jail_until[self.slot] > self.model.week)

    @property
    def released_at(self) -> int:
        return int(self.state.d_jail_until[self.slot])

    def arrest_probability(self) -> float:
        """This week's arrest probability in its cell (before group focus)."""
        s, e = self.state, self.model.params.enforcement
        c = s.d_cell[self.slot]
        return rules.arrest_probability(e.arrest_k, float(s.cell_police[c]), float(max(s.cell_dealers[c], 1)))


class Organization(_SlotAgent):
    """A drug-trafficking organisation: imports, supplies its dealers, decides on violence and bribes."""

    @property
    def members(self) -> list:
        import numpy as np

        s = self.state
        idx = np.flatnonzero((s.d_active == 1) & (s.d_org == self.slot) & (s.d_org_gen == s.o_gen[self.slot]))
        return [self.model.dealer_agent(d) for d in idx]

    @property
    def leader(self):
        d = self.state.o_leader[self.slot]
        return self.model.dealer_agent(d) if d >= 0 else None

    @property
    def cash(self) -> float:
        return float(self.state.o_cash[self.slot])

    @property
    def stock(self) -> float:
        return float(self.state.o_stock[self.slot])

    @property
    def ruthlessness(self) -> float:
        return float(self.state.o_ruth[self.slot])

    @property
    def weekly_sales(self) -> float:
        return float(self.state.o_sales_avg[self.slot])

    @property
    def perceived_arrest_risk(self) -> float:
        """Learned weekly arrest risk per member."""
        s, p = self.state, self.model.params.organizations
        return rules.perceived_risk(s.o_trade_num[self.slot], s.o_trade_den[self.slot], p.prior_a, p.prior_b)

    @property
    def perceived_violence_response(self) -> float:
        """Learned probability that its violence is answered by concentrated enforcement,
        if it became the most violent group (``q_lead=1``)."""
        return self.violence_response_risk(1.0)

    def violence_response_risk(self, q_lead: float) -> float:
        """Perceived probability that an attack is answered, given the chance ``q_lead`` that it
        makes this organisation the most violent on record."""
        s, p = self.state, self.model.params.organizations
        i = self.slot
        return rules.violence_response_risk(q_lead, s.o_vtop_num[i], s.o_vtop_den[i], s.o_voth_num[i],
                                            s.o_voth_den[i], p.prior_a, p.prior_b)

    @property
    def expected_response_loss(self) -> float:
        """Dollars it expects to lose if its violence draws a concentrated enforcement response
        (its members x learned arrest rate under a response x response_weeks x value of an arrest)."""
        from .organizations import _loss_prior

        s, p = self.state, self.model.params
        i = self.slot
        m = max(int(s.o_members[i]), 1)
        return float(rules.response_loss(m, s.o_loss_num[i], s.o_loss_den[i], _loss_prior(p),
                                         p.organizations.prior_a + p.organizations.prior_b,
                                         p.organizations.response_weeks,
                                         p.enforcement.sentence_weeks * float(s.o_revenue_avg[i]) / m))

    def grievance_against(self, other) -> float:
        """Its grievance (decaying count of attacks suffered) against organisation ``other`` (agent or slot)."""
        r = other.slot if hasattr(other, "slot") else int(other)
        return float(rules.grievance_of(self.state.o_griev_org, self.state.o_griev, self.slot, r))

    def attack_value(self, rival_revenue: float, own_revenue: float, p_win: float, rival=None) -> float:
        """Expected net value of attacking a rival (organisation ``rival``, for the grievance) whose
        local weekly revenue is ``rival_revenue``."""
        p = self.model.params.organizations
        g = self.grievance_against(rival) if rival is not None else 0.0
        return rules.attack_value(rival_revenue, own_revenue, p_win, self.violence_response_risk(1.0),
                                  self.expected_response_loss, g, p.grievance_value, self.ruthlessness,
                                  p.contest_horizon, p.attack_cost, p.retaliation_weeks)


class Officer(_SlotAgent):
    """A police officer (enforcement unit), posted each week by the agency's policy."""

    @property
    def position(self) -> tuple[int, int]:
        return self._xy(self.state.f_cell[self.slot])

    @property
    def cell(self):
        return self.model.grid[self.position]

    @property
    def integrity(self) -> float:
        return float(self.state.f_integrity[self.slot])

    @property
    def corrupted_by(self):
        o = self.state.f_corrupt_by[self.slot]
        return self.model.organization_agent(o) if o >= 0 else None

    @property
    def arrests(self) -> int:
        return int(self.state.f_arrests[self.slot])

    def accepts(self, bribe: float) -> bool:
        """Whether this officer would take a weekly bribe of ``bribe`` dollars."""
        e = self.model.params.enforcement
        return bool(rules.accepts_bribe(bribe, self.integrity, e.officer_wage, e.detection_prob, e.penalty_weeks))

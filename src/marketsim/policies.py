"""Enforcement strategies: what the agency observes -> where its budget goes.

A policy never touches the model. Each week it receives an :class:`Observation`
(what police records and intelligence show) and returns an :class:`Allocation`
of *weights*: where officers patrol, which organisations are focused on, how
interdiction and investigation effort is split, and what it announces. The
model normalises the weights, so every policy spends exactly the same budget
(``enforcement.officers``, ``interdiction_capacity``, ``investigators``): focus
redistributes each officer's fixed arrest effort toward the focused members and away
from the other dealers in the cell, investigator time a policy leaves unused follows
the arrests, and inspections not absorbed by a small shipment go to the others. The
effort actually spent is recorded every week (``effort_patrol``,
``effort_investigation``, ``effort_inspection``; ``tests/test_budget.py`` checks that
every registered policy spends the same).
Violence, corruption and concentration then come out of how organisations,
dealers and officers respond.

Add a policy in a few lines::

    from marketsim.policies import Allocation, Policy, register

    @register("violence_hotspots")
    class ViolenceHotspots(Policy):
        "Patrol where violence was reported last weeks."
        def allocate(self, obs):
            return Allocation(cell_weight=obs.cell_violence + 1e-3)

and use it with ``--set enforcement.policy=violence_hotspots`` once the module
defining it is imported (``marketsim run --plugin mymodule ...``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels.measure import seqsum

__all__ = ["Observation", "Allocation", "Policy", "register", "registry", "make_policy"]


@dataclass(frozen=True)
class Observation:
    """What the enforcement agency can see at the start of a week (copies; read-only).

    Cell arrays have length ``width * height``; organisation arrays have one entry per
    organisation slot (``org_active`` says which are in use).
    """

    step: int  #: week of the policy period (1 = first week after the burn-in)
    width: int
    height: int
    cell_sales: np.ndarray  #: retail sales last week (units) seen: in full where officers patrolled, ``informant_share`` elsewhere
    cell_violence: np.ndarray  #: reported violent incidents per cell, smoothed
    cell_district: np.ndarray  #: district id per cell
    org_active: np.ndarray  #: bool per organisation slot
    org_sales: np.ndarray  #: intelligence estimate of each organisation's weekly sales (units)
    org_violence: np.ndarray  #: violence attributed to each organisation in police records, smoothed (incidents/week)
    org_arrests: np.ndarray  #: members arrested last week
    org_cells: tuple  #: for each organisation slot, the cells where officers last saw its street dealers
    params: object  #: the scenario's ``enforcement`` section
    org_members: np.ndarray | None = None  #: members known to intelligence (street and prison) per organisation
    org_incidents: np.ndarray | None = None  #: violent incidents attributed to each organisation last week (what counts: ``count_provoked``)
    org_homicides: np.ndarray | None = None  #: of those, the ones that killed someone (turf and succession fights)


@dataclass
class Allocation:
    """Where the budget goes this week. All weights are relative; ``None`` means spread evenly.

    - ``cell_weight``: per cell, where officers are posted (drawn in proportion);
    - ``org_focus``: per organisation 0..1, how much officers pursue its members
      (group accountability: a priority weight of up to ``focus_multiplier`` relative to the
      other dealers in the cell; it takes arrest effort from them, adds none);
    - ``interdiction_weight``: per organisation, the share of shipment inspections
      (``None``: inspections fall at random, in proportion to shipment size);
    - ``investigation_weight``: per organisation, the share of investigators
      (``None``, and whatever falls on organisations without leads this week: in proportion
      to the arrests each organisation suffered);
    - ``announced_target``: organisation slot the agency publicly names, or -1. The model counts
      the threat as *carried out* in a week when the named organisation also gets focus
      (``org_focus > 0``); a name without focus is a threat not followed up, and organisations
      learn from both (:func:`marketsim.kernels.books.learn`);
    - ``call_in``: the policy's rule is announced this week (a call-in): it reaches each active
      organisation with probability ``call_in_reach`` and moves its belief that violence is
      answered toward the rule, weighted by ``prior_credibility`` (see the model's allocation step);
    - ``queue``: the public order in which offending groups will be taken (head = the current
      target), or ``None`` without a public rule. Groups know where they stand: the head, or every
      group while the queue is empty, knows its next violent act makes it the target.
    """

    cell_weight: np.ndarray | None = None
    org_focus: np.ndarray | None = None
    interdiction_weight: np.ndarray | None = None
    investigation_weight: np.ndarray | None = None
    announced_target: int = -1
    call_in: bool = False
    queue: tuple | None = None


class Policy:
    """Base class: override :meth:`allocate`. One instance per model run, so it may keep state.

    ``rule``: the policy's public rule in one line (what it announces), shown by
    ``marketsim policies``; policies that announce nothing keep the default."""

    name: str = "?"
    summary: str = ""
    rule: str = "announces nothing"

    def __init__(self, params):
        self.params = params

    def allocate(self, obs: Observation) -> Allocation:  # pragma: no cover - abstract
        raise NotImplementedError


registry: dict[str, type[Policy]] = {}


def register(name: str):
    """Class decorator adding a policy to the registry under ``name``."""

    def deco(cls: type[Policy]) -> type[Policy]:
        cls.name = name
        cls.summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        registry[name] = cls
        return cls

    return deco


def make_policy(name: str, params) -> Policy:
    return registry[name](params)


# --- helpers ---------------------------------------------------------------------------


def _with_baseline(weights: np.ndarray, baseline_share: float) -> np.ndarray:
    """Mix a concentrated weight map with a uniform baseline patrol of ``baseline_share``."""
    total = weights.sum()
    if total <= 0:
        return np.ones_like(weights, dtype=float)
    return (1.0 - baseline_share) * weights / total + baseline_share / weights.size


def _top_cells(values: np.ndarray, k: int) -> np.ndarray:
    """Weight 1 on the ``k`` largest cells (ties broken by index), 0 elsewhere."""
    w = np.zeros_like(values, dtype=float)
    if k <= 0 or not np.any(values > 0):
        return w
    idx = np.argsort(-values, kind="stable")[:k]
    idx = idx[values[idx] > 0]
    w[idx] = 1.0
    return w


# --- the regimes -------------------------------------------------------------------------


@register("none")
class NoStrategy(Policy):
    """Baseline: the same officers on minimal random patrol; inspections and investigations at random."""

    def allocate(self, obs: Observation) -> Allocation:
        return Allocation()


@register("aggressive_interdiction")
class AggressiveInterdiction(Policy):
    """Seize and arrest as much as possible: hot spots, the biggest organisations, kingpins; blind to violence."""

    def allocate(self, obs: Observation) -> Allocation:
        p = self.params
        active = obs.org_active
        sales = np.where(active, obs.org_sales, 0.0)
        hot = _top_cells(obs.cell_sales, max(1, int(p.officers)))
        cell_weight = _with_baseline(hot * obs.cell_sales, p.baseline_share)
        focus = np.zeros_like(sales)
        if sales.sum() > 0:
            focus[int(np.argmax(sales))] = 1.0  # pressure whoever is biggest
        return Allocation(
            cell_weight=cell_weight,
            org_focus=focus,
            interdiction_weight=sales.copy(),
            investigation_weight=sales**2,  # kingpin strategy: leaders of the largest organisations
        )


@register("targeted_deterrence")
class TargetedDeterrence(Policy):
    """Focused deterrence: a public rule, one offending group at a time, all its members, within the budget."""

    rule = ("call-in of every group at the start and at each new target (services_uptake: members may take "
            "an offer to leave); trigger (trigger = violence | homicides): any violent incident, or only one that "
            "killed someone, attributed to a group of 2+ (count_provoked: incl. succession fights, and attacks on "
            "police for violence); "
            "offenders queued by priority (most_violent | first_offended), one crackdown at a time "
            "(max_share of patrol, investigators, inspections on all its members); released after "
            "release_weeks quiet weeks")

    def __init__(self, params):
        super().__init__(params)
        self.queue: dict[int, int] = {}  # offending group -> week of its first offence while queued
        self.quiet: dict[int, int] = {}  # offending group -> weeks without an attributed incident
        self.target = -1
        self.released: list[tuple[int, int]] = []  # (group, quiet weeks when released): for tests

    def _update_queue(self, obs: Observation) -> None:
        p = self.params
        members = obs.org_members if obs.org_members is not None else np.full(obs.org_active.size, 2)
        # what triggers and prolongs a crackdown (the announced rule): any attributed incident, or
        # only attributed incidents that killed someone
        seen = obs.org_homicides if p.trigger == "homicides" else obs.org_incidents
        incidents = seen if seen is not None else np.zeros(obs.org_active.size)
        for o in list(self.queue):
            if not obs.org_active[o] or members[o] < 2:  # dissolved, or down to a lone seller
                del self.queue[o], self.quiet[o]
        for o in np.flatnonzero(obs.org_active & (members >= 2) & (incidents > 0)):
            o = int(o)
            self.queue.setdefault(o, obs.step)
            self.quiet[o] = 0
        for o in list(self.queue):
            if incidents[o] <= 0:
                self.quiet[o] += 1
                if self.quiet[o] >= p.release_weeks:  # stayed quiet release_weeks: released
                    self.released.append((o, self.quiet[o]))
                    del self.queue[o], self.quiet[o]

    def _head(self, obs: Observation) -> int:
        if not self.queue:
            return -1
        if self.params.priority == "first_offended":
            return min(self.queue, key=lambda o: (self.queue[o], o))
        return max(self.queue, key=lambda o: (obs.org_violence[o], -o))  # most violent record first

    def _order(self, obs: Observation, head: int) -> tuple:
        """The queue in the announced priority order, the current target first."""
        if self.params.priority == "first_offended":
            rest = sorted(self.queue, key=lambda o: (self.queue[o], o))
        else:
            rest = sorted(self.queue, key=lambda o: (-obs.org_violence[o], o))
        return tuple([head] if head >= 0 else []) + tuple(o for o in rest if o != head)

    def allocate(self, obs: Observation) -> Allocation:
        p = self.params
        self._update_queue(obs)
        # one at a time: the current target stays until released, then the next in priority order
        t = self.target if self.target in self.queue else self._head(obs)
        call_in = obs.step == 1 or (t >= 0 and t != self.target)
        self.target = t
        queue = self._order(obs, t)
        if t < 0:
            return Allocation(call_in=call_in, queue=queue)  # nobody in the queue: baseline attention only
        share = p.max_share
        n = obs.org_active.size
        active = obs.org_active.astype(float)
        w = np.zeros(obs.width * obs.height)
        cells = obs.org_cells[t]
        if len(cells):
            np.add.at(w, cells, 1.0)
        focus = np.zeros(n)
        focus[t] = 1.0
        others = active.copy()
        others[t] = 0.0

        def capped(rest: np.ndarray) -> np.ndarray:
            """``max_share`` on the target, the rest spread over the others by ``rest``."""
            rest = np.where(others > 0, np.maximum(rest, 0.0), 0.0)
            if seqsum(rest) <= 0:
                rest = others
            total = seqsum(rest)  # left to right: the same whatever the pool size
            out = (1.0 - share) * rest / total if total > 0 else np.zeros(n)
            out[t] = share
            return out

        return Allocation(
            cell_weight=_with_baseline(w, 1.0 - share),
            org_focus=focus,
            interdiction_weight=capped(np.where(obs.org_active, obs.org_sales, 0.0)),
            investigation_weight=capped(np.asarray(obs.org_arrests, dtype=float)),
            announced_target=t,
            call_in=call_in,
            queue=queue,
        )


@register("hotspot")
class Hotspot(Policy):
    """Hot-spot policing: officers to the cells with most visible sales; no organisational focus."""

    def allocate(self, obs: Observation) -> Allocation:
        hot = _top_cells(obs.cell_sales, max(1, int(self.params.officers)))
        return Allocation(cell_weight=_with_baseline(hot * obs.cell_sales, self.params.baseline_share))


@register("kingpin")
class Kingpin(Policy):
    """Kingpin strategy only: random patrol, all investigators on the leadership of the largest organisation."""

    def allocate(self, obs: Observation) -> Allocation:
        sales = np.where(obs.org_active, obs.org_sales, 0.0)
        w = np.zeros_like(sales)
        if sales.sum() > 0:
            w[int(np.argmax(sales))] = 1.0
        return Allocation(investigation_weight=w)


@register("crackdown")
class Crackdown(Policy):
    """Timed surge: from crackdown_start for crackdown_weeks, officers saturate the district with most sales."""

    def allocate(self, obs: Observation) -> Allocation:
        p = self.params
        if not (p.crackdown_start <= obs.step < p.crackdown_start + p.crackdown_weeks):
            return Allocation()
        by_district = np.bincount(obs.cell_district, weights=obs.cell_sales)
        target = int(np.argmax(by_district))
        w = (obs.cell_district == target).astype(float)
        return Allocation(cell_weight=_with_baseline(w, p.baseline_share))


def describe() -> list[tuple[str, str]]:
    """(name, one-line summary and public rule) of every registered policy."""
    return [(name, f"{cls.summary} Rule: {cls.rule}.") for name, cls in sorted(registry.items())]

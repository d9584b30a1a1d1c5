"""Scenario schema (pydantic v2), TOML loading and ``--set`` overrides.

A scenario is a TOML file whose tables mirror the classes below. Every field
carries its meaning, unit and source in its description; ``docs/parameters.md``
is generated from them (``python -m marketsim.docgen``).

Errors are collected, never raised one at a time: :class:`ScenarioError`
carries every problem as ``FILE: dotted.path: message``.
"""

from __future__ import annotations

import math
import numbers
import os
import stat
import tomllib
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_scenario",
    "apply_overrides",
    "scenario_to_toml",
    "estimate_memory",
    "check_memory",
    "available_memory",
]

#: smallest value of a float that must be positive (``> 0`` on the field): far below every
#: sensible value, far above the tiny numbers whose reciprocals overflow
MIN_POSITIVE = 1e-6
#: largest magnitude any number in a scenario may have unless its field says otherwise: far above
#: every sensible value (dollars, units, weeks, counts), far below where products of two parameters
#: overflow float64 or a count overflows the kernels' integer arrays
MAX_MAGNITUDE = 1e12


def _describe(v: Any) -> str:
    if isinstance(v, bool):
        return f"a boolean ({str(v).lower()})"
    if isinstance(v, str):
        return f"the string {v!r}"
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, list):
        return "a list"
    return f"{type(v).__name__} {v!r}"


def _strict_scalar(annotation: Any, v: Any) -> Any:
    """Type check of one scalar value, stricter than pydantic's lax mode.

    No ``true``/``false`` for numbers (``officers = true`` meant 1 officer), no numeric strings
    (``"100"`` for 100), no numbers for flags or text, and only finite numbers. A float with
    an integral value is accepted for an integer field (``--set world.users=1e6``).
    """
    if annotation is bool:
        if getattr(getattr(v, "dtype", None), "kind", "") == "b":  # numpy.bool_
            v = bool(v)
        if not isinstance(v, bool):
            raise ValueError(f"expected true or false, got {_describe(v)}")
        return v
    if annotation is str:
        if not isinstance(v, str):
            raise ValueError(f"expected a string in quotes, got {_describe(v)}")
        return v
    if annotation in (int, float):
        kind = "a whole number" if annotation is int else "a number"
        if isinstance(v, bool) or not isinstance(v, numbers.Real):  # numpy numbers are Real too
            hint = " (write numbers without quotes)" if isinstance(v, str) else ""
            raise ValueError(f"expected {kind}, got {_describe(v)}{hint}")
        v = int(v) if isinstance(v, numbers.Integral) else float(v)
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"must be a finite number, got {v}")
        if annotation is int:
            if isinstance(v, float):
                if not v.is_integer():
                    raise ValueError(f"expected a whole number, got {v!r}")
                v = int(v)
        elif isinstance(v, int):
            try:
                v = float(v)
            except OverflowError:
                raise ValueError(f"number too large ({MAX_MAGNITUDE:g} at most)") from None
        return v
    return v  # sections are checked by their own model


class _Section(BaseModel):
    """Base of every section: unknown keys refused, strict scalar types, finite numbers.

    Every int/float field is also bounded to ``[-MAX_MAGNITUDE, MAX_MAGNITUDE]`` unless it has a
    tighter bound (see :func:`_bound_fields`); the bounds are field metadata, so
    ``docs/parameters.md`` lists them.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _strict_types(cls, v: Any, info: ValidationInfo) -> Any:
        return _strict_scalar(cls.model_fields[info.field_name].annotation, v)


class World(_Section):
    width: int = Field(100, ge=5, le=20000, description="Grid width in blocks (cells). One cell is a street block.")
    height: int = Field(100, ge=5, le=20000, description="Grid height in blocks (cells).")
    torus: bool = Field(False, description="Wrap the grid at its edges (removes edge effects).")
    district_size: int = Field(
        25, ge=1, description="Side of a square district in cells; districts group cells for local HHI and violence maps."
    )
    users: int = Field(10000, ge=1, description="Number of drug users (buyers).")
    dealers: int = Field(300, ge=1, description="Initial number of street-level dealers, split among the organisations.")
    organizations: int = Field(6, ge=1, le=64, description="Initial number of drug-trafficking organisations (DTOs).")
    steps: int = Field(260, ge=1, description="Number of weekly steps to simulate (260 = 5 years), after the burn-in.")
    burn_in: int = Field(
        156,
        ge=0,
        description="Weeks the market runs under minimal random patrol before the policy takes over and recording "
        "starts (lets the initial city settle; shared by every policy on the same seed). Not counted in steps. "
        "The initial city's founding organisations fragment and the market grows to its size for about three "
        "years (docs/ODD.md section 9, stationarity): with 52 weeks the number of organisations still rose by "
        "about 2.4% a year over the next 15 years under `none`.",
    )
    population: int = Field(
        0,
        ge=0,
        description="Residents of the city the users stand for (persons), the denominator of homicide_rate "
        "(per 100,000 residents per year). 0 (default): 50 residents per user, i.e. users are 2% of residents: "
        "the order of magnitude of past-month use of cocaine, heroin or methamphetamine among US residents "
        "aged 12+ (about 1.4% in NSDUH 2019: 0.7%, 0.1% and 0.6%), rounded up for other street-market drugs.",
    )
    hotspots: int = Field(
        12, ge=1, description="Number of neighbourhood demand clusters; user homes are drawn around them."
    )
    hotspot_spread: float = Field(
        6.0, gt=0, description="Standard deviation (cells) of user homes around a demand cluster centre."
    )
    mesa_user_agents: bool = Field(
        True,
        description="Create one mesa.Agent per user for inspection. Turn off for very large cities: user state "
        "lives in arrays either way and results do not change.",
    )


class Users(_Section):
    demand_mean: float = Field(
        1.5, gt=0, description="Mean weekly demand of a user at the reference price (units/week). Lognormal across users."
    )
    demand_sigma: float = Field(0.6, ge=0, description="Log-scale standard deviation of weekly demand across users.")
    elasticity_mean: float = Field(
        -0.5,
        le=0,
        ge=-3,
        description="Mean price elasticity of demand. Heroin about -0.3, cocaine and cannabis about -0.5 "
        "(OAS 2013; Gallet 2014 meta-analysis).",
    )
    elasticity_sd: float = Field(0.15, ge=0, description="Standard deviation of the elasticity across users.")
    reference_price: float = Field(100.0, gt=0, description="Price (dollars/unit) at which a user buys their base demand.")
    search_radius: int = Field(
        4, ge=0, le=50, description="Chebyshev radius (cells) within which a user looks for a dealer."
    )
    travel_cost: float = Field(4.0, ge=0, description="Perceived cost (dollars/unit) per cell travelled to a dealer.")
    risk_cost: float = Field(
        15.0, ge=0, description="Perceived cost (dollars/unit) per officer patrolling the dealer's cell (buyer's arrest risk)."
    )
    loyalty_discount: float = Field(
        5.0, ge=0, description="Effective-price bonus (dollars/unit) for a dealer the user knows (one of its contacts: "
        "no search cost, trust). Assumption."
    )
    contacts: int = Field(
        4, ge=1, le=8, description="Dealers a user knows at once (its contacts). Users buy from dealers they know, "
        "found by search and referral (Eck 1995; May & Hough 2004: retail markets are largely closed, buyers "
        "reaching sellers through acquaintances). The number is an assumption."
    )
    search_samples: int = Field(
        2, ge=0, le=8, description="Street dealers within reach a searching user meets in a week (drawn uniformly "
        "among those within search_radius). A user searches when fewer of its contacts than `contacts` are usable "
        "(on the street, within reach, with stock), or when it shops around (explore_prob), unless it already knows "
        "every street dealer within reach. Assumption."
    )
    explore_prob: float = Field(
        0.05, ge=0, le=1, description="Weekly probability that a user with enough usable contacts searches anyway "
        "(shops around; lets new sellers find buyers). Assumption."
    )


class Supply(_Section):
    import_volume: float = Field(
        16000.0,
        ge=0,
        description="Units entering the region per week before interdiction: the most the organisations can buy "
        "at the border. Organisations buy at most this in total, split by their orders.",
    )
    wholesale_price: float = Field(
        30.0, gt=0, description="Border price (dollars/unit) organisations pay for imports."
    )
    transfer_price: float = Field(
        45.0, gt=0, description="Price (dollars/unit) a dealer pays its organisation for stock (the organisation's margin)."
    )
    independent_markup: float = Field(
        1.25,
        ge=1,
        description="Multiplier on the border price paid by a one-dealer independent (no wholesale scale).",
    )
    initial_retail_price: float = Field(100.0, gt=0, description="Initial retail price (dollars/unit).")
    price_adjustment: float = Field(
        0.05, ge=0, le=0.5, description="Relative weekly price change after a stock-out (up) or unsold stock (down)."
    )
    risk_premium: float = Field(
        400.0,
        ge=0,
        description="Compensation (dollars per unit of weekly arrest probability, per unit sold) a dealer adds to "
        "its price floor for the risk of arrest and seizure (Reuter & Kleiman 1986, risks and prices).",
    )
    stock_weeks: float = Field(
        1.5, gt=0, description="Inventory a dealer or organisation aims to hold, in weeks of recent sales."
    )
    dealer_margin_share: float = Field(
        0.3, ge=0, le=1, description="Share of a member dealer's retail margin kept by the dealer; the rest goes to the organisation."
    )


class Enforcement(_Section):
    policy: str = Field(
        "none",
        description="Enforcement strategy, a name from the policy registry (`marketsim policies`). It only decides "
        "where officers, investigations and interdiction go and what is announced.",
    )
    officers: int = Field(100, ge=0, description="Police officers (enforcement units) deployed each week. The budget.")
    interdiction_capacity: float = Field(
        4000.0, ge=0, description="Units of incoming shipments the agency can inspect per week. The interdiction budget."
    )
    interdiction_hit_rate: float = Field(
        0.5, ge=0, le=1, description="Share of inspected units that are found and seized."
    )
    investigators: float = Field(
        10.0, ge=0, description="Investigation effort (investigator-weeks per week) that can climb from arrests to lieutenants and leaders."
    )
    patrol_radius: int = Field(1, ge=0, le=10, description="Chebyshev radius (cells) an officer covers around their post.")
    arrest_k: float = Field(
        0.08,
        ge=0,
        description="Arrest constant k in p = 1 - exp(-k * officers / dealers) per dealer-week in a cell "
        "(Epstein 2002 civil-violence arrest rule).",
    )
    focus_multiplier: float = Field(
        3.0,
        ge=1,
        description="Priority weight of a member of an organisation the policy focuses on, relative to other "
        "dealers in the same cell (group accountability: officers know and pursue them). It redistributes each "
        "officer's fixed arrest effort in a cell (arrest_k in total), never adds to it (one budget, DESIGN 4).",
    )
    investigation_k: float = Field(
        0.15, ge=0, description="Rate at which investigation effort turns member arrests into lieutenant or leader arrests."
    )
    sentence_weeks: float = Field(26.0, gt=0, description="Mean prison sentence of an arrested street dealer (weeks, exponential).")
    leader_sentence_weeks: float = Field(156.0, gt=0, description="Mean sentence for a lieutenant or leader (weeks, exponential).")
    cash_seizure_share: float = Field(
        1.0, ge=0, le=1, description="Share of an arrested dealer's cash that is seized."
    )
    tipoff_team: float = Field(
        5.0,
        ge=0,
        description="Officers who learn of an investigation against an organisation (its arrests are processed by "
        "them); if any of them is on the organisation's payroll the suspect is tipped off and the arrest fails "
        "(counted in enforcement_neutralised). Assumption; no empirical estimate (Lessing 2017 describes "
        "protection from investigation as a main good bought by bribes).",
    )
    informant_share: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Share of the retail sales in cells no officer covered that the agency learns of through informants "
        "(sales in covered cells are seen in full). Assumption, no empirical estimate; 0 makes the agency see only "
        "where it already patrols.",
    )
    intelligence_noise: float = Field(
        0.5,
        ge=0,
        description="Log-scale standard deviation of the agency's weekly estimate of each organisation's sales "
        "(lognormal error around the true smoothed sales). Assumption: intelligence estimates of criminal "
        "revenue are uncertain by a factor of about 1.6 either way (Reuter 2009 on the poor precision of "
        "drug-market size estimates).",
    )
    attribution_rate: float = Field(
        0.7, ge=0, le=1, description="Probability that a violent incident is attributed to the attacking organisation in police records."
    )
    officer_wage: float = Field(1000.0, gt=0, description="Officer's weekly wage (dollars).")
    integrity_mean: float = Field(
        2.0, gt=0, description="Mean integrity: the multiple of the weekly wage a bribe must exceed (lognormal across officers)."
    )
    integrity_sigma: float = Field(1.0, ge=0, description="Log-scale spread of integrity across officers.")
    detection_prob: float = Field(
        0.02, ge=0, le=1, description="Weekly probability that internal affairs detects a corrupted officer."
    )
    penalty_weeks: float = Field(
        100.0, ge=0, description="Penalty for a detected corrupt officer, in weeks of wage (job loss, prison)."
    )
    priority: Literal["most_violent", "first_offended"] = Field(
        "most_violent",
        description="Targeted deterrence: the announced order in which offending groups are taken, one at a time: "
        "'most_violent' (highest attributed violence record first) or 'first_offended' (queue order) "
        "(Kleiman 2009; Kleiman & Kilmer 2009, dynamic concentration).",
    )
    release_weeks: int = Field(
        8,
        ge=1,
        le=520,
        description="Targeted deterrence: weeks an offending group must go without an attributed violent incident "
        "to be released from the crackdown (or dropped from the queue) (weeks; assumption: Boston Ceasefire "
        "crackdowns lasted until the group's violence stopped, Braga et al. 2001).",
    )
    max_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Targeted deterrence: cap on the share of each kind of effort (patrol, investigator time, "
        "shipment inspections) spent on the group under crackdown; the rest stays on baseline patrol, "
        "investigations following arrests and inspections by shipment size (share; assumption).",
    )
    call_in_reach: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Targeted deterrence: probability that a call-in (at the start of the policy period and "
        "whenever a new target is named) reaches each active organisation (share; Kennedy 2009: every group "
        "is told face to face).",
    )
    prior_credibility: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Credibility the organisations give the announced rule when called in: the call-in adds "
        "announcement_weight pseudo-cases, this share of them answered, to their belief that violence is "
        "answered (probability; assumption).",
    )
    announcement_weight: float = Field(
        4.0,
        ge=0,
        le=1000,
        description="Weight of one call-in in the organisations' beliefs, in observed cases (pseudo-cases; "
        "assumption: a few weeks of experience; a call-in every group attends is one strong public signal).",
    )
    count_provoked: bool = Field(
        True,
        description="Targeted deterrence: whether violence provoked by enforcement itself (attacks on officers, "
        "succession fights after a leader's removal) counts as a group's offence; false: only turf "
        "attacks trigger and prolong a crackdown (a documented choice, issue 8 item 6).",
    )
    trigger: Literal["violence", "homicides"] = Field(
        "violence",
        description="Targeted deterrence: which acts trigger and prolong a crackdown: 'violence' (any violent "
        "incident attributed to a group) or 'homicides' (only attributed incidents that killed someone) "
        "(Kennedy 2009: the Boston rule named killings; issue 8 item 1).",
    )
    services_uptake: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Targeted deterrence: probability that a street member of a group reached by a call-in under "
        "the rule accepts the offer of services and leaves the trade (probability per member per call-in; "
        "assumption: evaluations report offers of services but no agreed uptake share, Braga et al. 2018; "
        "0 = no exits).",
    )
    baseline_share: float = Field(
        0.25, ge=0, le=1, description="Share of officers kept on baseline random patrol by the focusing policies."
    )
    crackdown_start: int = Field(52, ge=0, description="Crackdown policy: first week of the surge.")
    crackdown_weeks: int = Field(26, ge=1, description="Crackdown policy: length of the surge (weeks).")

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, v: str) -> str:
        from .policies import registry  # policies import nothing from here

        if v not in registry:
            raise ValueError(f"unknown policy {v!r}; choose one of {sorted(registry)}")
        return v


class Organizations(_Section):
    initial_cash: float = Field(50000.0, ge=0, description="Cash an organisation starts with (dollars).")
    lieutenant_ratio: float = Field(
        0.08, ge=0, le=1, description="Share of an organisation's members who are lieutenants (middle managers)."
    )
    ruthlessness_mean: float = Field(
        1.0, gt=0, description="Mean ruthlessness: how much an organisation discounts the costs of violence (gamma across organisations)."
    )
    ruthlessness_cv: float = Field(0.5, ge=0, description="Coefficient of variation of ruthlessness across organisations.")
    contest_horizon: float = Field(
        8.0, ge=0, description="Weeks of a rival's local revenue an organisation expects to capture by winning a contest."
    )
    attack_cost: float = Field(5000.0, ge=0, description="Direct cost of an attack (dollars: weapons, gunmen).")
    retaliation_weeks: float = Field(
        4.0, ge=0, description="Weeks of own local revenue an attacker expects to lose to retaliation if it loses."
    )
    crackdown_loss_weeks: float = Field(
        26.0,
        ge=0,
        description="Prior only: weeks of a member's revenue each member expects to lose to a concentrated enforcement "
        "response before it has seen one (default: one street sentence, i.e. each member arrested once during the "
        "response). It sets the prior arrest rate per member-week under a response, crackdown_loss_weeks / "
        "(sentence_weeks x response_weeks), worth prior_a + prior_b member-weeks; the rate is then learned from "
        "responses the organisation suffers or sees fall on a named target.",
    )
    response_weeks: float = Field(
        26.0,
        gt=0,
        description="Weeks organisations expect a concentrated enforcement response to last (expected loss = members x "
        "learned weekly arrest rate x response_weeks x value of a member's arrest). Assumption: about the "
        "half-year crackdowns of the Boston Ceasefire call-ins (Braga et al. 2001).",
    )
    grievance_value: float = Field(
        5000.0,
        ge=0,
        description="Value (dollars) an organisation puts on retaliating for one unanswered attack it suffered "
        "(reputation; Papachristos 2009: gang homicide follows retaliation networks; Decker 1996). Default: "
        "one attack's cost, so a grievance roughly pays for its own retaliation.",
    )
    grievance_decay: float = Field(
        0.9,
        gt=0,
        lt=1,
        description="Weekly factor by which a grievance between two groups fades (0.9: half-life about 6.6 weeks, "
        "so a feud outlasts a few months; Papachristos 2009 finds retaliation within weeks to months).",
    )
    control_weeks: float = Field(
        52.0,
        ge=0,
        description="Weeks of the organisation's revenue a lieutenant expects to enjoy by winning control after "
        "the leader's removal (assumption: about a year of tenure).",
    )
    officer_harm_weeks: float = Field(
        520.0,
        ge=0,
        description="Weeks of wage an officer stands to lose if killed, as the officer weighs it when threatened "
        "(plata o plomo, Dal Bó, Dal Bó & Di Tella 2006). Assumption: ten years of earnings; a value-of-statistical-"
        "life figure (about 11,800 weeks at US DOT 2021 guidance) would make any credible threat decisive.",
    )
    decision_noise: float = Field(
        1000.0, gt=0, description="Scale (dollars) of the logistic noise in attack decisions (bribe acceptance is deterministic)."
    )
    lethality: float = Field(0.35, ge=0, le=1, description="Probability that the loser of an attack (the target, or the attacker if it loses) is killed; otherwise displaced.")
    bribe_share: float = Field(
        0.5, ge=0, le=1, description="Share of the expected loss avoided that an organisation is willing to pay an officer."
    )
    bribe_cash_share: float = Field(
        0.1, ge=0, le=1, description="Most of its cash an organisation spends on bribes in a week."
    )
    refusal_memory: int = Field(
        26, ge=0, description="Weeks an organisation waits before approaching an officer who refused its bribe again."
    )
    police_lethality: float = Field(0.2, ge=0, le=1, description="Probability that an attack on an officer kills them.")
    split_min_members: int = Field(
        15, ge=2, description="Smallest organisation that can split into factions after losing its leader."
    )
    recruit_cost: float = Field(2000.0, ge=0, description="Cost (dollars) of recruiting one dealer.")
    recruit_rate: float = Field(
        0.08, ge=0, le=1, description="Expected recruits per week as a share of members, times the share of its street dealers who ran out of stock (as cash and warehouse stock allow)."
    )
    learning_discount: float = Field(
        0.9, gt=0, lt=1, description="Weight w on past observations in the time-discounted risk estimate (NarcoLogic, Magliocca et al. 2019)."
    )
    prior_a: float = Field(1.0, gt=0, description="Beta prior a (pseudo-events) of perceived risks.")
    prior_b: float = Field(9.0, gt=0, description="Beta prior b (pseudo-non-events) of perceived risks.")
    vicarious_weight: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Weight of what an organisation sees happen to other violent organisations, when the agency announces "
        "nothing (attribution is uncertain). With an announced priority, the weight is 1.",
    )
    response_threshold: float = Field(
        0.5, ge=0, description="Relative rise in police presence around its members that an organisation reads as an enforcement response."
    )


class Market(_Section):
    entry_rate: float = Field(
        0.02,
        ge=0,
        description="Expected new independent sellers per week per 100 units of unmet weekly demand, at the opening "
        "price and no arrests; scaled by the expected profit of a new seller relative to that (margin over the "
        "independent's unit cost x share of time on the street given the arrest rate).",
    )
    max_dealers_factor: float = Field(
        10.0,
        ge=1,
        description="Initial array capacity for dealers (street and prison), as a multiple of the initial count. A "
        "full pool doubles (slot numbers kept) up to market.max_pool_factor; results do not depend on it.",
    )
    max_pool_factor: float = Field(
        1000.0,
        ge=1,
        description="Ceiling of the dealer pool (street and prison), as a multiple of the initial count (and never "
        "beyond the memory any run may ask for). The run stops with a clear error (PoolFull, exit 1) if the market "
        "outgrows it; it never caps entry or recruitment silently.",
    )
    move_prob: float = Field(0.25, ge=0, le=1, description="Probability a dealer reconsiders its location in a week.")
    move_radius: int = Field(3, ge=1, le=20, description="Chebyshev radius (cells) of a dealer's relocation search.")
    police_aversion: float = Field(
        3.0, ge=0, description="Weight of police presence (officers covering the cell) against local demand in a dealer's choice of cell."
    )
    min_sales: float = Field(
        8.0, ge=0, description="Smoothed weekly sales (units) under which a member dealer is let go."
    )
    exit_cash: float = Field(
        -2000.0,
        description="Cash (dollars) below which a dealer quits; an organisation of two or more breaks up (its street "
        "members quit) when its cash falls below exit_cash per member (unprofitable organisations exit).",
    )
    initial_dealer_cash: float = Field(500.0, ge=0, description="Cash a dealer starts with (dollars).")
    stranger_caution: float = Field(
        10.0,
        ge=0,
        le=1000,
        description="How fast a market closes to strangers: a dealer sells to a user who does not know him (and "
        "was not referred by one of his organisation) with probability exp(-stranger_caution x his organisation's "
        "perceived weekly arrest risk). Heavy enforcement closes markets to strangers (Eck 1995; May & Hough 2004); "
        "the value is an assumption (10: about 0.8 at a perceived risk of 2% a week, 0.37 at 10%).",
    )
    entrant_cash: float = Field(
        5000.0, ge=0, description="Working capital (dollars) a new independent seller brings to its first purchases."
    )


class Shock(_Section):
    """A one-off arrest operation against one organisation (an experiment's lever, not a policy):
    in week ``week`` (after the burn-in) police arrest ``arrest_share`` of the target's members
    on the street, leader included only if drawn (Manzi & Calderoni 2024, MADTOR: arrest shares
    of one organisation's members). Off while ``arrest_share`` is 0."""

    week: int = Field(1, ge=1, description="Shock: week of the arrest operation (weeks after the burn-in).")
    arrest_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Shock: share of the target organisation's street members arrested in one operation "
        "(0 = no shock; Manzi & Calderoni 2024 vary it from 5% to 40%).",
    )
    target: Literal["largest"] = Field(
        "largest", description="Shock: which organisation: 'largest' (most members in the shock week)."
    )


class Scenario(_Section):
    """A complete, validated scenario. Build with :func:`load_scenario` or ``Scenario(**dict)``."""

    name: str = Field("scenario", description="Scenario label used in tables and figures.")
    description: str = Field("", description="Free text describing the scenario.")
    seed: int = Field(1, ge=0, description="Default root seed (overridden by --seed).")
    world: World = Field(default_factory=World)
    users: Users = Field(default_factory=Users)
    supply: Supply = Field(default_factory=Supply)
    enforcement: Enforcement = Field(default_factory=Enforcement)
    organizations: Organizations = Field(default_factory=Organizations)
    market: Market = Field(default_factory=Market)
    shock: Shock = Field(default_factory=Shock)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        # the name labels tables and figures and makes the default output folder
        # out/<name>-seed<N>: no path separators, no "." or "..", no control characters
        if not v.strip():
            raise ValueError("must not be empty")
        if len(v) > 200:
            raise ValueError("too long (200 characters at most)")
        bad = sorted({c for c in v if c in "/\\" or ord(c) < 32 or ord(c) == 127})
        if bad:
            raise ValueError(f"must not contain path separators or control characters ({', '.join(map(repr, bad))})")
        if v.strip() in (".", ".."):
            raise ValueError(f"{v!r} is not a usable name")
        return v

    @model_validator(mode="after")
    def _check_combinations(self) -> Scenario:
        problems = []
        w = self.world
        cells = w.width * w.height
        if w.dealers > cells:
            problems.append(f"world.dealers: {w.dealers} dealers cannot fit on {cells} cells (one per cell at most at start)")
        if w.organizations > w.dealers:
            problems.append(
                f"world.organizations: {w.organizations} organisations need at least as many dealers (world.dealers = {w.dealers})"
            )
        if self.supply.transfer_price < self.supply.wholesale_price:
            problems.append("supply.transfer_price: must be at least supply.wholesale_price (organisations do not sell at a loss)")
        if w.district_size > max(w.width, w.height):
            problems.append("world.district_size: larger than the grid")
        if self.shock.arrest_share > 0 and self.shock.week > w.steps:
            problems.append(f"shock.week: week {self.shock.week} is after the last week of the run "
                            f"(world.steps = {w.steps}); the shock would never happen")
        demand = _peak_demand(self)
        if demand > MAX_DEMAND:
            # the weekly demand of the whole city feeds Poisson draws and sums of sales: keep it far
            # from float and Poisson limits ("lam value too large")
            problems.append(
                f"users.demand_mean: the city's weekly demand could reach {demand:.3g} units (world.users = {w.users} x "
                f"users.demand_mean = {self.users.demand_mean:g}, users.demand_sigma = {self.users.demand_sigma:g}, at the lowest "
                f"price min(supply.initial_retail_price, supply.wholesale_price) = {_lowest_price(self):g} against "
                f"users.reference_price = {self.users.reference_price:g}); {MAX_DEMAND:g} at most"
            )
        elif self.market.entry_rate * demand / 100 > MAX_ENTRANTS:
            # entrants: Poisson(entry_rate per 100 units of unmet demand) home cells drawn in one array
            problems.append(
                f"market.entry_rate: {self.market.entry_rate:g} new sellers per 100 units of unmet demand could mean "
                f"{self.market.entry_rate * demand / 100:.3g} entrants in a week (the demand of world.users = "
                f"{w.users} users could reach {demand:.3g} units); {MAX_ENTRANTS:g} at most"
            )
        memory = estimate_memory(self)
        if memory > MAX_MEMORY_BYTES:
            problems.append(
                f"world.users: the arrays for world.users = {w.users}, world.dealers = {w.dealers} x "
                f"market.max_dealers_factor = {self.market.max_dealers_factor:g}, {cells} cells and "
                f"enforcement.officers = {self.enforcement.officers} need about {_gib(memory)} "
                f"(more than {_gib(MAX_MEMORY_BYTES)}, the most any run may ask for)"
            )
        elif w.dealers <= cells:
            short = _homes_shortfall(self)
            if short:
                problems.append(short)
        if problems:
            raise ValueError("\n".join(problems))
        return self


#: the most weekly demand (units) a city may reach, and the most expected entrants in a week
MAX_DEMAND = 1e12
MAX_ENTRANTS = 1e7


def _lowest_price(sc: Scenario) -> float:
    """The lowest retail price a user can meet: the initial price, or an organisation's unit cost
    (the border price), the floor under every dealer's price afterwards."""
    return min(sc.supply.initial_retail_price, sc.supply.wholesale_price)


def _peak_demand(sc: Scenario) -> float:
    """An upper estimate of the city's weekly demand (units): twice the users' mean demand plus one
    user six log-sigmas above it, at the lowest price, for the most elastic user (six standard
    deviations out, within the model's clip of elasticities to [-3, -0.05])."""
    u = sc.users
    extreme_user = math.exp(min(max(0.0, 6 * u.demand_sigma - u.demand_sigma**2 / 2), 700.0))
    elasticity = min(max(u.elasticity_mean - 6 * u.elasticity_sd, -3.0), -0.05)
    rel = u.reference_price / _lowest_price(sc)
    boost = rel ** -elasticity if rel > 1 else rel**0.05
    return u.demand_mean * (2.0 * sc.world.users + extreme_user) * boost


#: bytes per agent and per cell, measured by benchmarks/memory.py (tracemalloc peak of a build and
#: three weeks), times 1.5 and rounded up; FIXED_BYTES covers the interpreter and libraries
BYTES_PER_USER = 200
BYTES_PER_MESA_USER = 650
BYTES_PER_DEALER_SLOT = 650
BYTES_PER_CELL = 160
BYTES_PER_OFFICER = 850
FIXED_BYTES = 512 * 2**20
#: no run may need more than this, whatever the machine (it also stops sizes such as 1e12 users
#: before numpy fails to allocate their arrays)
MAX_MEMORY_BYTES = 2**40
#: slot and user indices are 32-bit in the kernels
MAX_INDEX = 2**31 - 1


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def estimate_memory(scenario: Scenario) -> int:
    """Bytes one run of ``scenario`` needs, from the sizes measured in benchmarks/memory.py."""
    w = scenario.world
    max_dealers = math.ceil(w.dealers * scenario.market.max_dealers_factor)
    per_user = BYTES_PER_USER + (BYTES_PER_MESA_USER if w.mesa_user_agents else 0)
    return int(FIXED_BYTES + w.users * per_user + max_dealers * BYTES_PER_DEALER_SLOT
               + w.width * w.height * BYTES_PER_CELL + scenario.enforcement.officers * BYTES_PER_OFFICER)


def available_memory() -> int | None:
    """Bytes of memory available to a new run on this machine (None when unknown)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # psutil comes with dask distributed; fall back to sysconf
        try:
            return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None


def check_memory(scenario: Scenario, source: str = "<scenario>", available: int | None = None) -> None:
    """Raise :class:`ScenarioError` when one run of ``scenario`` would not fit in this machine's
    available memory (``available`` bytes, measured when not given)."""
    need = estimate_memory(scenario)
    have = available_memory() if available is None else available
    if have is not None and need > have:
        w = scenario.world
        raise ScenarioError([
            f"{source}: world.users: a run needs about {_gib(need)} of memory (estimate for {w.users} users, "
            f"{math.ceil(w.dealers * scenario.market.max_dealers_factor)} dealer slots, {w.width * w.height} cells, "
            f"{scenario.enforcement.officers} officers, mesa_user_agents = {str(w.mesa_user_agents).lower()}), "
            f"but only {_gib(have)} is available; make the city smaller "
            f"(or set world.mesa_user_agents = false)"
        ])


def _homes_shortfall(sc: Scenario) -> str | None:
    """The model places ``world.dealers`` on distinct cells with demand in reach (cells within
    ``users.search_radius`` of a user's home); too few such cells crashes the draw
    (``Fewer non-zero entries in p than size``). Homes are random, so this draws them as the
    model does (fixed seeds, at most 200,000 users) and asks for 25% to spare in the worst of
    the draws: one draw when it has four times the cells needed, else sixteen (small or
    tightly clustered cities, where one unlucky draw of the cluster centres matters)."""
    import numpy as np
    from scipy import ndimage

    w, r = sc.world, sc.users.search_radius
    need = math.ceil(1.25 * w.dealers)
    window = (2 * r + 1) ** 2
    if w.users * window < need:
        return (f"world.users: {w.users} users reach at most {w.users * window} cells (users.search_radius = {r}), "
                f"too few to place world.dealers = {w.dealers} dealers on distinct cells with demand "
                f"(want {need}, with 25% to spare)")
    W, H = w.width, w.height
    n = min(w.users, 200_000)
    worst = None
    for seed in range(16):
        rng = np.random.default_rng(seed)
        centres = np.column_stack([rng.uniform(0, W, w.hotspots), rng.uniform(0, H, w.hotspots)])
        pos = centres[rng.integers(0, w.hotspots, n)] + rng.normal(0.0, w.hotspot_spread, (n, 2))
        x, y = np.floor(pos[:, 0]), np.floor(pos[:, 1])
        if w.torus:
            x, y = np.mod(x, W), np.mod(y, H)
        else:
            x, y = np.clip(x, 0, W - 1), np.clip(y, 0, H - 1)
        homes = np.unique(y.astype(np.int64) * W + x.astype(np.int64))
        count = homes.size
        if count < need and r > 0 and W * H <= 4_000_000:
            grid = np.zeros(W * H)
            grid[homes] = 1.0
            reach = ndimage.uniform_filter(grid.reshape(H, W), size=2 * r + 1, mode="wrap" if w.torus else "constant")
            count = int(np.count_nonzero(reach > 0.5 / window))
        worst = count if worst is None else min(worst, count)
        if worst < need or (seed == 0 and count >= 4 * need):
            break
    if worst < need:
        return (f"world.users: {w.users} users around world.hotspots = {w.hotspots} clusters "
                f"(world.hotspot_spread = {w.hotspot_spread:g}, users.search_radius = {r}) leave about {worst} cells "
                f"with demand in reach, too few to place world.dealers = {w.dealers} dealers on distinct cells "
                f"(want {need}, with 25% to spare): more users, a wider spread or radius, or fewer dealers")
    return None


# Upper (and lower) bounds beyond those written on the fields, as field metadata so that
# docs/parameters.md lists them. Every int/float field without an upper bound gets MAX_MAGNITUDE
# (and -MAX_MAGNITUDE below when it has no lower bound). Tighter bounds, each with the failure it
# prevents:
_TIGHTER: dict[str, dict[str, float]] = {
    # the run must end and Ctrl-C must come within a week: 100 years of weeks at most
    "world.steps": {"le": 5200},
    "world.burn_in": {"le": 5200},
    # seeds are 64-bit
    "seed": {"le": 2**64 - 1},
    # one home-cluster centre each is drawn and permuted: more clusters than this is no city
    "world.hotspots": {"le": 1_000_000},
    "world.users": {"le": MAX_INDEX},
    "world.dealers": {"le": MAX_INDEX},
    "enforcement.officers": {"le": MAX_INDEX},
    # lognormal spreads: exp(sigma^2) overflows, and mean-corrected draws underflow to zero demand
    # (zero pull everywhere: "Probabilities contain NaN") above this
    "users.demand_sigma": {"le": 5},
    "enforcement.integrity_sigma": {"le": 5},
    "enforcement.intelligence_noise": {"le": 5},
    # a gamma with shape 1/cv^2 draws exact zeros for large cv or a tiny mean (ZeroDivisionError
    # in the attack decision, cost / ruthlessness); cv 3 already makes most organisations near-harmless
    "organizations.ruthlessness_cv": {"le": 3},
    "organizations.ruthlessness_mean": {"ge": 1e-3},
    # Poisson means: counts are 32-bit and numpy refuses lam above ~9e18 ("lam value too large")
    "market.entry_rate": {"le": 1000},
    # release weeks and retry weeks are 32-bit week numbers (step + draw)
    "enforcement.sentence_weeks": {"le": 100_000},
    "enforcement.leader_sentence_weeks": {"le": 100_000},
    "organizations.refusal_memory": {"le": 100_000},
    "enforcement.crackdown_start": {"le": 100_000},
    "enforcement.crackdown_weeks": {"le": 100_000},
    # the dealer slot pool is allocated up front: 1000 times the initial dealers at most
    "market.max_dealers_factor": {"le": 1000},
    "market.max_pool_factor": {"le": 1e6},
    # dollars per unit: a million is far above any street price; above it the rounding of cash
    # passed between dealers and organisations exceeds the money-conservation tolerance
    **{k: {"le": 1e6} for k in ("supply.wholesale_price", "supply.transfer_price", "supply.initial_retail_price",
                                 "users.reference_price", "users.travel_cost", "users.risk_cost",
                                 "users.loyalty_discount")},
    # user homes are drawn around clusters: wider than the largest grid means uniform
    "world.hotspot_spread": {"le": 100_000},
}


def _bound_fields() -> None:
    sections = {"": Scenario}
    for name, field in Scenario.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            sections[name] = field.annotation
    for prefix, model in sections.items():
        for name, field in model.model_fields.items():
            if field.annotation not in (int, float):
                continue
            key = f"{prefix}.{name}" if prefix else name
            tighter = _TIGHTER.get(key, {})
            kinds = {type(m).__name__ for m in field.metadata}
            if "le" in tighter:
                field.metadata = [m for m in field.metadata if not isinstance(m, (annotated_types.Le, annotated_types.Lt))]
                field.metadata.append(annotated_types.Le(tighter["le"]))
            elif not kinds & {"Le", "Lt"}:
                field.metadata.append(annotated_types.Le(MAX_MAGNITUDE))
            lower = [m for m in field.metadata if isinstance(m, (annotated_types.Ge, annotated_types.Gt))]
            if "ge" in tighter:
                field.metadata = [m for m in field.metadata if m not in lower]
                field.metadata.append(annotated_types.Ge(tighter["ge"]))
            elif not lower:
                field.metadata.append(annotated_types.Ge(-MAX_MAGNITUDE))
            elif field.annotation is float and any(getattr(m, "gt", None) == 0 for m in lower):
                # "> 0" becomes ">= MIN_POSITIVE": 5e-324 is > 0 too, and divides into inf
                field.metadata = [m for m in field.metadata if m not in lower]
                field.metadata.append(annotated_types.Ge(MIN_POSITIVE))
    for _prefix, model in reversed(sections.items()):  # sections first, then the Scenario that holds them
        model.model_rebuild(force=True)
    unknown = set(_TIGHTER) - {f"{p}.{n}" if p else n for p, m in sections.items() for n in m.model_fields}
    assert not unknown, f"_TIGHTER names unknown fields {unknown}"


_bound_fields()


class ScenarioError(Exception):
    """Invalid scenario input. ``problems`` lists every one as ``FILE: dotted.path: message``."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _format_validation_error(source: str, err: ValidationError) -> list[str]:
    out = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (misspelt?)"
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
            if not loc:  # model-level checks carry their own dotted paths, one per line
                out.extend(f"{source}: {line}" for line in msg.splitlines())
                continue
        out.append(f"{source}: {loc or '(top)'}: {msg}")
    return out


def _set_dotted(data: dict, dotted: str, value: Any) -> str | None:
    """Set ``data[a][b]... = value``; return a problem when a table on the way is not a table
    (``world = 5`` or ``[[world]]`` in the file with ``--set world.users=...``)."""
    keys = dotted.split(".")
    node = data
    for i, k in enumerate(keys[:-1]):
        nxt = node.get(k)
        if nxt is None:
            nxt = node[k] = {}
        if not isinstance(nxt, dict):
            where = ".".join(keys[: i + 1])
            return f"{dotted}: cannot set: {where} in the scenario is {_describe(nxt)}, not a table"
        node = nxt
    node[keys[-1]] = value
    return None


def _field_of(dotted: str):
    model: type[BaseModel] = Scenario
    parts = dotted.split(".")
    for i, p in enumerate(parts):
        field = model.model_fields.get(p)
        if field is None:
            return None
        ann = field.annotation
        if i < len(parts) - 1:
            if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
                return None
            model = ann
        elif isinstance(ann, type) and issubclass(ann, BaseModel):
            return None
        else:
            return field
    return None


def _known_path(dotted: str) -> bool:
    return _field_of(dotted) is not None


def _parse_value(text: str) -> Any:
    """Parse an override value as a TOML value; bare words become strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


_WANTS = {bool: "true or false", int: "a whole number", float: "a number"}


def apply_overrides(data: dict, overrides: list[str] | None, source: str = "--set") -> list[str]:
    """Apply ``dotted.key=value`` overrides to a raw scenario dict in place; return problems.

    A value is read as a TOML value (``1e4``, ``true``, ``"text"``); a bare word that is not
    TOML is taken as a string only for a text field (``enforcement.policy=crackdown``).
    """
    problems = []
    for item in overrides or []:
        if "=" not in item:
            problems.append(f"{source}: {item}: expected dotted.key=value")
            continue
        key, _, raw = item.partition("=")
        key = key.strip()
        field = _field_of(key)
        if field is None:
            problems.append(f"{source}: {key}: unknown key")
            continue
        raw = raw.strip()
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            if field.annotation is not str:
                problems.append(f"{source}: {key}: cannot read {raw!r} as {_WANTS.get(field.annotation, 'a value')}")
                continue
            value = raw
        if isinstance(value, (dict, list)) and field.annotation is not str:
            problems.append(f"{source}: {key}: expected {_WANTS.get(field.annotation, 'a value')}, got {_describe(value)}")
            continue
        problem = _set_dotted(data, key, value)
        if problem:
            problems.append(f"{source}: {problem}")
    return problems


def parse_scenario(data: dict, source: str = "<scenario>", overrides: list[str] | None = None) -> Scenario:
    """Validate a raw dict (plus overrides) into a :class:`Scenario`, or raise :class:`ScenarioError`."""
    if not isinstance(data, dict):
        raise ScenarioError([f"{source}: (top): expected a table of sections, got {_describe(data)}"])
    data = _deepcopy(data)
    problems = apply_overrides(data, overrides)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        problems += _format_validation_error(source, err)
        raise ScenarioError(problems) from None
    if problems:
        raise ScenarioError(problems)
    return scenario


#: a scenario file is a few kilobytes; anything much larger is not one
MAX_FILE_BYTES = 1 << 20


def read_scenario_text(path: str | Path) -> str:
    """The text of a scenario file, or :class:`ScenarioError`: only regular files (a FIFO,
    folder or device is refused without being read), at most ``MAX_FILE_BYTES``, UTF-8."""
    path = Path(path)
    source = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO opens without a writer
    except FileNotFoundError:
        raise ScenarioError([f"{source}: (file): no such scenario file"]) from None
    except IsADirectoryError:
        raise ScenarioError([f"{source}: (file): is a folder, not a scenario file"]) from None
    except OSError as exc:
        raise ScenarioError([f"{source}: (file): cannot read: {exc.strerror}"]) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ScenarioError([f"{source}: (file): is a folder, not a scenario file"])
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError([f"{source}: (file): not a regular file (a FIFO, device or socket); "
                                 "give a scenario .toml file"])
        if st.st_size > MAX_FILE_BYTES:
            raise ScenarioError([f"{source}: (file): {st.st_size} bytes is too large for a scenario file "
                                 f"({MAX_FILE_BYTES} at most)"])
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        raw = b"".join(chunks)
    except OSError as exc:
        raise ScenarioError([f"{source}: (file): cannot read: {exc.strerror}"]) from None
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError([f"{source}: (file): too large for a scenario file ({MAX_FILE_BYTES} bytes at most)"])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError([f"{source}: (file): not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); "
                             "save the scenario as UTF-8"]) from None


def load_scenario(path: str | Path, overrides: list[str] | None = None, check_resources: bool = True) -> Scenario:
    """Load a TOML scenario file, apply ``--set``-style overrides, validate.

    An empty file (or one with only comments) is refused: a scenario that wants every default
    says so with at least ``name = "..."``. With ``check_resources`` (the default) a scenario
    whose run would not fit in this machine's available memory is refused too
    (:func:`check_memory`).

    >>> sc = load_scenario("scenarios/baseline.toml", ["world.users=2000"])
    """
    source = str(path)
    text = read_scenario_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{source}: (toml): {exc}"]) from None
    if not data:
        raise ScenarioError([f"{source}: (file): empty scenario (no keys); write at least name = \"...\" "
                             "to run with every default"])
    scenario = parse_scenario(data, source=source, overrides=overrides)
    if check_resources:
        check_memory(scenario, source)
    return scenario


def _deepcopy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deepcopy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deepcopy(v) for v in d]
    return d


def scenario_to_toml(scenario: Scenario) -> str:
    """The fully resolved scenario as TOML text (every parameter, defaults included)."""
    import tomli_w

    return tomli_w.dumps(scenario.model_dump(mode="json"))

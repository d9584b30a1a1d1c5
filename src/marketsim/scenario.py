"""Scenario schema (pydantic v2), TOML loading and ``--set`` overrides.

A scenario is a TOML file whose tables mirror the classes below. Every field
carries its meaning, unit and source in its description; ``docs/parameters.md``
is generated from them (``python -m marketsim.docgen``).

Errors are collected, never raised one at a time: :class:`ScenarioError`
carries every problem as ``FILE: dotted.path: message``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_scenario",
    "apply_overrides",
    "scenario_to_toml",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


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
        52,
        ge=0,
        description="Weeks the market runs under minimal random patrol before the policy takes over and recording "
        "starts (lets the initial city settle; shared by every policy on the same seed). Not counted in steps.",
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
        5.0, ge=0, description="Effective-price bonus (dollars/unit) for the user's last supplier (search cost, trust)."
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
    target_threshold: float = Field(
        0.1,
        ge=0,
        description="Targeted deterrence: the focused organisation is released when its recent attributable violence "
        "falls below this (incidents/week, smoothed) (Kleiman & Kilmer 2009, dynamic concentration).",
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
        description="Array capacity for dealers (street and prison), as a multiple of the initial count. The run stops "
        "with a clear error (PoolFull) if the market outgrows it; it never caps entry or recruitment silently.",
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
    entrant_cash: float = Field(
        5000.0, ge=0, description="Working capital (dollars) a new independent seller brings to its first purchases."
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

    @model_validator(mode="after")
    def _check_combinations(self) -> Scenario:
        problems = []
        cells = self.world.width * self.world.height
        if self.world.dealers > cells:
            problems.append(f"world.dealers: {self.world.dealers} dealers cannot fit on {cells} cells (one per cell at most at start)")
        if self.world.organizations > self.world.dealers:
            problems.append(
                f"world.organizations: {self.world.organizations} organisations need at least as many dealers (world.dealers = {self.world.dealers})"
            )
        if self.supply.transfer_price < self.supply.wholesale_price:
            problems.append("supply.transfer_price: must be at least supply.wholesale_price (organisations do not sell at a loss)")
        if self.world.district_size > max(self.world.width, self.world.height):
            problems.append("world.district_size: larger than the grid")
        if problems:
            raise ValueError("\n".join(problems))
        return self


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


def _set_dotted(data: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for k in keys[:-1]:
        nxt = node.get(k)
        if nxt is None:
            nxt = node[k] = {}
        if not isinstance(nxt, dict):
            raise KeyError(k)
        node = nxt
    node[keys[-1]] = value


def _known_path(dotted: str) -> bool:
    model: type[BaseModel] = Scenario
    parts = dotted.split(".")
    for i, p in enumerate(parts):
        field = model.model_fields.get(p)
        if field is None:
            return False
        ann = field.annotation
        if i < len(parts) - 1:
            if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
                return False
            model = ann
        elif isinstance(ann, type) and issubclass(ann, BaseModel):
            return False
    return True


def _parse_value(text: str) -> Any:
    """Parse an override value as a TOML value; bare words become strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict, overrides: list[str] | None, source: str = "--set") -> list[str]:
    """Apply ``dotted.key=value`` overrides to a raw scenario dict in place; return problems."""
    problems = []
    for item in overrides or []:
        if "=" not in item:
            problems.append(f"{source}: {item}: expected dotted.key=value")
            continue
        key, _, raw = item.partition("=")
        key = key.strip()
        if not _known_path(key):
            problems.append(f"{source}: {key}: unknown key")
            continue
        _set_dotted(data, key, _parse_value(raw.strip()))
    return problems


def parse_scenario(data: dict, source: str = "<scenario>", overrides: list[str] | None = None) -> Scenario:
    """Validate a raw dict (plus overrides) into a :class:`Scenario`, or raise :class:`ScenarioError`."""
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


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Load a TOML scenario file, apply ``--set``-style overrides, validate.

    >>> sc = load_scenario("scenarios/baseline.toml", ["world.users=2000"])
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([f"{source}: (file): no such scenario file"]) from None
    except OSError as exc:
        raise ScenarioError([f"{source}: (file): cannot read: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{source}: (toml): {exc}"]) from None
    return parse_scenario(data, source=source, overrides=overrides)


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

"""The empirical patterns of DESIGN section 6, each declared as an experiment (data, not code paths).

A pattern is tested by one or more rows (:class:`Test`); every row names its arms (scenarios
that differ from the default city by a policy and a few overrides), the statistic computed
per replicate from the runs (a name in :data:`marketsim.experiments.patterns_run.STATISTICS`
with its parameters), and the criterion, written before any result and with its source.
``marketsim patterns`` runs the arms (each distinct arm once per replicate, common random
numbers: replicate r of every arm uses the same seed), computes every row's statistic per
replicate, its mean and 95% CI with the same machinery as ``compare``
(:func:`marketsim.experiments.stats.mean_ci`), and the verdict by the row's rule:

- ``("above", x)``: reproduced if the CI lies above x, missed if it lies below x, else inconclusive;
- ``("below", x)``: reproduced if the CI lies below x, missed if it lies above x, else inconclusive;
- ``("within", lo, hi)``: reproduced if the CI lies inside [lo, hi], missed if it lies wholly
  outside, else inconclusive.

To add a pattern, append a :class:`Test` to :data:`PATTERNS` (and, if it needs them, arms to
:data:`ARMS`). Relative statistics are differences scaled by the reference arm's mean over
replicates (so their CI is the paired CI of ``compare`` divided by that mean).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Arm:
    """A scenario: the default city (plus the mode's world), a policy, overrides, and scale factors
    applied to the mode's value of a parameter (e.g. officers x2)."""

    label: str
    policy: str = "none"
    overrides: tuple[str, ...] = ()
    scale: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Test:
    pattern: str
    claim: str
    source: str
    experiment: str
    statistic: str
    params: dict
    criterion: str
    rule: tuple
    figure: str = ""
    arms: tuple[str, ...] = field(default=())


#: P11's arms: one arrest operation against the largest organisation (scenario option ``[shock]``)
_SHOCK_ARMS = ("shock_0.05", "shock_0.10", "shock_0.20", "shock_0.40")

#: Every arm any pattern uses (each runs once per replicate, however many rows use it).
ARMS: dict[str, Arm] = {a.label: a for a in [
    Arm("baseline", "none"),
    Arm("crackdown", "crackdown"),
    Arm("kingpin", "kingpin"),
    Arm("targeted", "targeted_deterrence"),
    Arm("aggressive", "aggressive_interdiction"),
    Arm("aggressive_officers_x0.5", "aggressive_interdiction", scale=(("enforcement.officers", 0.5),)),
    Arm("aggressive_officers_x2", "aggressive_interdiction", scale=(("enforcement.officers", 2.0),)),
    Arm("aggressive_officers_x4", "aggressive_interdiction", scale=(("enforcement.officers", 4.0),)),
    Arm("baseline_officers_x2", "none", scale=(("enforcement.officers", 2.0),)),
    Arm("targeted_officers_x2", "targeted_deterrence", scale=(("enforcement.officers", 2.0),)),
    Arm("baseline_interdiction_x2", "none", scale=(("enforcement.interdiction_capacity", 2.0),)),
    *[Arm(label, "none", overrides=(f"shock.arrest_share={label.split('_')[1]}",)) for label in _SHOCK_ARMS],
]}

_P1_SRC = "Dell 2015, AER 105(6)"
_P2_SRC = "Calderón et al. 2015, JCR (+36.5% DTO violence in the first 6 months); Lindo & Padilla-Romo 2018"
_P3_SRC = "Phillips 2015; Golz & D'Amico 2018; Rios 2013"
_P8_SRC = "Braga, Weisburd & Turchan 2018 (moderate effect, no displacement); Braga et al. 2001 (Boston Ceasefire)"
_P9_SRC = "Caulkins & Reuter 2010; Pollack & Reuter 2014"
_P10_SRC = "Magliocca et al. 2019 PNAS; 2024"
_P11_SRC = "Manzi & Calderoni 2024 (MADTOR)"

#: Every row of ``patterns.csv``, in order. ``pattern`` is the family (P1) plus a letter per row.
PATTERNS: list[Test] = [
    Test("P1a", "crackdowns raise trafficker violence locally", _P1_SRC,
         "crackdown (surge on the district with most sales) vs baseline, same seeds; violent incidents in the "
         "surge district (most officers posted during the surge) over the surge weeks",
         "district_window", {"metric": "violent_incidents", "arm": "crackdown", "ref": "baseline",
                             "where": "target", "window": "surge"},
         "relative change > 0 (Dell 2015: violence rises where crackdowns happen)", ("above", 0.0), "P1",
         ("crackdown", "baseline")),
    Test("P1b", "crackdowns divert trade to other places", _P1_SRC,
         "crackdown vs baseline; units sold in all other districts over the surge weeks",
         "district_window", {"metric": "quantity_sold", "arm": "crackdown", "ref": "baseline",
                             "where": "others", "window": "surge"},
         "relative change > 0 (Dell 2015: trafficking diverted to other routes)", ("above", 0.0), "P1",
         ("crackdown", "baseline")),
    Test("P2a", "removing a leader raises violence in the following months", _P2_SRC,
         "event study around every leader removal (arrest or killing) of an organisation of 2+ members in the "
         "baseline and kingpin runs: incidents the organisation (with the factions that split from it) committed "
         "or suffered in the 26 weeks after the removal week vs the 26 weeks before; per replicate pooled over "
         "its events (sum after / sum before - 1)",
         "org_event_study", {"arms": ["baseline", "kingpin"], "pre": 26, "post": 26, "min_members": 2,
                             "who": "organisation", "metrics": ["incidents_committed", "incidents_suffered"],
                             "include_event_week": False},
         "six-month relative change > 0 (Calderón et al. 2015: +36.5%)", ("above", 0.0), "P2",
         ("baseline", "kingpin")),
    Test("P2b", "leader removals spill violence over to neighbouring organisations", _P2_SRC,
         "as P2a, for the neighbours: the other organisations whose district (where most of their street dealers "
         "stand) was the removed leader's organisation's in the week before the removal",
         "org_event_study", {"arms": ["baseline", "kingpin"], "pre": 26, "post": 26, "min_members": 2,
                             "who": "neighbours", "metrics": ["incidents_committed", "incidents_suffered"],
                             "include_event_week": False},
         "six-month relative change > 0 (Calderón et al. 2015: violence spills over to neighbouring areas)",
         ("above", 0.0), "P2", ("baseline", "kingpin")),
    Test("P3a", "kingpin removals fragment organisations: more groups", _P3_SRC,
         "kingpin vs baseline; number of organisations (mean of the last quarter of the run)",
         "relative_difference", {"metric": "n_organizations", "arm": "kingpin", "ref": "baseline"},
         "relative change > 0 (Phillips 2015: removals split organisations)", ("above", 0.0), "P3",
         ("kingpin", "baseline")),
    Test("P3b", "kingpin removals lower concentration", _P3_SRC,
         "kingpin vs baseline; local (district) HHI of sales (last-quarter mean)",
         "relative_difference", {"metric": "local_hhi", "arm": "kingpin", "ref": "baseline"},
         "relative change < 0 (Phillips 2015; Rios 2013)", ("below", 0.0), "P3", ("kingpin", "baseline")),
    Test("P3c", "kingpin removals raise violence", _P3_SRC,
         "kingpin vs baseline; violent incidents over the run",
         "relative_difference", {"metric": "violent_incidents", "arm": "kingpin", "ref": "baseline"},
         "relative change > 0 (Rios 2013; Calderón et al. 2015)", ("above", 0.0), "P3", ("kingpin", "baseline")),
    Test("P5", "enforcement intensity and violence are positively associated",
         "Werb et al. 2011 (14 of 15 studies)",
         "aggressive interdiction with officers x0.5, x1, x2, x4; per replicate the OLS slope of violent "
         "incidents (relative to the x1 mean) on log2(officers factor)",
         "slope", {"metric": "violent_incidents", "ref": "aggressive",
                   "arms": ["aggressive_officers_x0.5", "aggressive", "aggressive_officers_x2",
                            "aggressive_officers_x4"], "x": [0.5, 1.0, 2.0, 4.0]},
         "slope > 0 (Werb et al. 2011: 14 of 15 studies positive)", ("above", 0.0), "P5",
         ("aggressive_officers_x0.5", "aggressive", "aggressive_officers_x2", "aggressive_officers_x4")),
    Test("P8a", "focused deterrence reduces violence moderately", _P8_SRC,
         "targeted deterrence vs baseline; violent incidents over the run",
         "relative_difference", {"metric": "violent_incidents", "arm": "targeted", "ref": "baseline"},
         "relative change < 0 (Braga et al. 2018: moderate reduction, mean effect size d = 0.38)", ("below", 0.0),
         "P8", ("targeted", "baseline")),
    Test("P8b", "focused deterrence reduces violence more than aggressive interdiction", _P8_SRC,
         "targeted deterrence vs aggressive interdiction (same budget); violent incidents over the run",
         "relative_difference", {"metric": "violent_incidents", "arm": "targeted", "ref": "aggressive"},
         "relative change < 0 (Braga et al. 2018 vs Werb et al. 2011)", ("below", 0.0), "P8",
         ("targeted", "aggressive")),
    Test("P8c", "focused deterrence works without displacement", _P8_SRC,
         "targeted deterrence vs baseline; violent incidents over the run in the districts outside the quarter "
         "with most officers posted under targeted deterrence (the non-targeted districts)",
         "district_window", {"metric": "violent_incidents", "arm": "targeted", "ref": "baseline",
                             "where": "others", "window": "all", "top_share": 0.25},
         "relative change < +0.10, i.e. no rise of more than 10% (Braga et al. 2018: no displacement, "
         "diffusion of benefits more likely)", ("below", 0.10), "P8", ("targeted", "baseline")),
    Test("P9a", "extra enforcement raises retail prices little (no strategy)", _P9_SRC,
         "officers x2 vs x1 under policy none; retail price (last-quarter mean)",
         "relative_difference", {"metric": "retail_price", "arm": "baseline_officers_x2", "ref": "baseline"},
         "relative change within [-0.2, +0.2] (Pollack & Reuter 2014: price effects of tougher enforcement "
         "small or not detectable)", ("within", -0.2, 0.2), "P9", ("baseline_officers_x2", "baseline")),
    Test("P9b", "extra enforcement raises retail prices little (aggressive interdiction)", _P9_SRC,
         "officers x2 vs x1 under aggressive interdiction; retail price (last-quarter mean)",
         "relative_difference", {"metric": "retail_price", "arm": "aggressive_officers_x2", "ref": "aggressive"},
         "relative change within [-0.2, +0.2] (Pollack & Reuter 2014)", ("within", -0.2, 0.2), "P9",
         ("aggressive_officers_x2", "aggressive")),
    Test("P9c", "extra enforcement raises retail prices little (targeted deterrence)", _P9_SRC,
         "officers x2 vs x1 under targeted deterrence; retail price (last-quarter mean)",
         "relative_difference", {"metric": "retail_price", "arm": "targeted_officers_x2", "ref": "targeted"},
         "relative change within [-0.2, +0.2] (Pollack & Reuter 2014)", ("within", -0.2, 0.2), "P9",
         ("targeted_officers_x2", "targeted")),
    Test("P10a", "interdiction spreads the market's spatial footprint", _P10_SRC,
         "interdiction capacity x2 vs x1 (policy none); active market cells (last-quarter mean)",
         "relative_difference", {"metric": "active_market_cells", "arm": "baseline_interdiction_x2",
                                 "ref": "baseline"},
         "relative change > 0 (Magliocca et al. 2019: interdiction spreads trafficking routes)", ("above", 0.0),
         "P10", ("baseline_interdiction_x2", "baseline")),
    Test("P10b", "interdiction lowers the value per seizure", _P10_SRC,
         "interdiction capacity x2 vs x1; units interdicted per unit of inspection capacity (the model has no "
         "per-seizure count: yield per inspection effort as the proxy)",
         "relative_difference", {"metric": "interdicted", "arm": "baseline_interdiction_x2", "ref": "baseline",
                                 "per": {"baseline_interdiction_x2": 2.0, "baseline": 1.0}},
         "relative change < 0 (Magliocca et al. 2019: smaller, dispersed shipments)", ("below", 0.0), "P10",
         ("baseline_interdiction_x2", "baseline")),
    Test("P11a", "arresting a larger share of an organisation disrupts it more", _P11_SRC,
         "one arrest operation (scenario option [shock], policy none) takes 5%, 10%, 20% or 40% of the street "
         "members of the organisation with most members in the shock week, vs the same seed without it (common "
         "random numbers: the same organisation up to the shock); disruption = 1 - the organisation's units sold "
         "(with factions that split from it) over the 12 weeks after / the same without the shock; per replicate "
         "D(40%) - D(5%)",
         "shock_disruption", {"kind": "increase", "ref": "baseline", "window": 12, "members": "street",
                              "shares": [0.05, 0.10, 0.20, 0.40], "arms": list(_SHOCK_ARMS)},
         "difference > 0 (Manzi & Calderoni 2024: disruption grows with the arrested share)", ("above", 0.0),
         "P11", ("baseline", *_SHOCK_ARMS)),
    Test("P11b", "small arrest shares disrupt disproportionately, with diminishing returns", _P11_SRC,
         "as P11a; per replicate the marginal disruption per arrested share from 0 to 5% minus that from 20% to "
         "40%",
         "shock_disruption", {"kind": "concavity", "ref": "baseline", "window": 12, "members": "street",
                              "shares": [0.05, 0.10, 0.20, 0.40], "arms": list(_SHOCK_ARMS)},
         "difference > 0, i.e. concave (Manzi & Calderoni 2024: diminishing returns of arrest shares)",
         ("above", 0.0), "P11", ("baseline", *_SHOCK_ARMS)),
]

#: The world of each mode: ``quick`` (tests, seconds), ``full`` (the validation table: the default city,
#: 156 weeks after the default 156-week burn-in). ``market.max_dealers_factor=40``: officers x4 jail more than the
#: default initial pool of 10 x the initial dealers holds; pools now grow and results no longer depend on their
#: size, so this only saves the copies of growing (kept so that recorded stores keep their scenario keys).
MODES: dict[str, dict] = {
    "quick": {"replicates": 2, "overrides": [
        "world.width=20", "world.height=20", "world.users=400", "world.dealers=30", "world.organizations=3",
        "world.hotspots=2", "world.district_size=5", "world.steps=24", "world.burn_in=8",
        "world.mesa_user_agents=false", "enforcement.officers=8", "enforcement.interdiction_capacity=300",
        "supply.import_volume=1200", "enforcement.crackdown_start=6", "enforcement.crackdown_weeks=8",
        "shock.week=8"],
        "event_window": 4},
    "full": {"replicates": 20, "overrides": [
        "world.steps=156", "world.mesa_user_agents=false", "enforcement.crackdown_start=52",
        "enforcement.crackdown_weeks=26", "market.max_dealers_factor=40", "shock.week=52"], "event_window": None},
}


def families(tests: list[Test] | None = None) -> list[str]:
    """Pattern families in order (P1, P2, ...)."""
    out = []
    for t in tests or PATTERNS:
        f = family(t.pattern)
        if f not in out:
            out.append(f)
    return out


def family(pattern: str) -> str:
    return pattern.rstrip("abcdefghijklmnopqrstuvwxyz")

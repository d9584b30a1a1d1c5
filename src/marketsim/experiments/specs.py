"""The scenarios of an experiment: loading them (every problem at once) and what differs between them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..scenario import Scenario, ScenarioError, load_scenario, parse_scenario


@dataclass
class ScenarioSpec:
    label: str
    source: str
    scenario: Scenario


def load_specs(scenarios, overrides, steps) -> tuple[list[ScenarioSpec], list[str]]:
    """Resolve scenario files (or :class:`Scenario` objects) with ``overrides``; unique labels."""
    ovr = list(overrides or [])
    if steps is not None:
        ovr.append(f"world.steps={steps}")
    specs, problems = [], []
    for i, item in enumerate(scenarios):
        try:
            if isinstance(item, Scenario):
                source = f"<scenario {i + 1}: {item.name}>"
                sc = parse_scenario(item.model_dump(mode="json"), source=source, overrides=ovr)
            else:
                source = str(item)
                sc = load_scenario(item, ovr)
        except ScenarioError as err:
            problems.extend(err.problems)
            continue
        specs.append(ScenarioSpec(sc.name, source, sc))
    # unique labels (the same file twice is an A/A comparison: allowed)
    seen: dict[str, int] = {}
    for sp in specs:
        n = seen.get(sp.label, 0) + 1
        seen[sp.label] = n
        if n > 1:
            sp.label = f"{sp.label}#{n}"
    return specs, problems


def flatten(d: dict, prefix: str = "") -> dict:
    """``{"world": {"users": 5}}`` -> ``{"world.users": 5}``."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def differing_parameters(specs: list[ScenarioSpec]) -> list[tuple[str, list]]:
    """Dotted parameters whose values differ between scenarios (name, description, seed left out)."""
    flats = [flatten(sp.scenario.model_dump(mode="json")) for sp in specs]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    skip = {"name", "description", "seed"}
    return [(k, [f.get(k) for f in flats]) for k in keys
            if k not in skip and len({json.dumps(f.get(k), sort_keys=True) for f in flats}) > 1]

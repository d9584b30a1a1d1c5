"""Sweep design files: parse, validate (every problem as ``FILE: path: message``), sample.

.. code-block:: toml

    [sweep]
    scenario = "../scenarios/baseline.toml"   # base scenario (relative to this file)
    method = "morris"            # grid | lhs | morris | sobol
    samples = 10                 # lhs: points; morris: trajectories; sobol: N (a power of 2)
    replicates = 4               # runs per design point (replicate r: SeedSequence(seed, spawn_key=(r,)))
    seed = 1                     # root seed of the runs and of the sampler
    steps = 104                  # optional: weeks per run (default: the scenario's world.steps)
    levels = 4                   # optional, morris: grid levels
    second_order = false         # optional, sobol: also S2
    set = ["world.users=8000"]   # optional: overrides applied to every point

    [parameters]
    "enforcement.officers" = [20, 40, 80]                 # a list: grid values
    "supply.import_volume" = { low = 0.5, high = 2.0 }     # continuous (lhs, morris, sobol)
    "enforcement.policy" = { values = ["aggressive_interdiction", "targeted_deterrence"] }  # categorical

Keys may be quoted dotted keys or TOML sub-tables (``[parameters.enforcement] officers = [...]``).
``enforcement.policy`` as a factor is *crossed* with every sampled point (each point runs under every
policy with the same seeds), so paired policy differences are outcomes of the sensitivity analysis;
other categorical factors are sampled like a continuous one on [0, 1) cut into equal parts.
Integer scenario fields get rounded samples.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from .specs import flatten

METHODS = ("grid", "lhs", "morris", "sobol")
SWEEP_KEYS = {"scenario", "method", "samples", "replicates", "seed", "steps", "levels", "second_order", "set"}
POLICY = "enforcement.policy"
MAX_POINTS = 1_000_000


@dataclass
class Parameter:
    name: str
    kind: str  # "values" (a list: grid or categorical) | "range" (continuous)
    values: list = field(default_factory=list)
    low: float | None = None
    high: float | None = None
    integer: bool = False


@dataclass
class Design:
    source: str
    base: Scenario
    base_source: str
    method: str
    samples: int | None
    replicates: int
    seed: int
    steps: int | None
    levels: int
    second_order: bool
    overrides: list[str]
    parameters: list[Parameter]
    #: the crossed policy factor (values), when ``enforcement.policy`` is a parameter of a sampled design
    policies: list[str] | None
    #: SALib problem and sample (sampled factors only, unit scale for categorical), for morris/sobol/lhs
    problem: dict | None
    X: np.ndarray | None
    #: one dict {parameter: value} per design point, in order
    points: list[dict]
    raw: dict

    @property
    def factors(self) -> list[Parameter]:
        """Parameters the sampler varies (the crossed policy left out)."""
        return [p for p in self.parameters if not (self.policies is not None and p.name == POLICY)]

    def scenario_dict(self, i: int) -> dict:
        """Resolved scenario of point ``i`` as a dict."""
        d = self.base.model_dump(mode="json")
        for k, v in self.points[i].items():
            _set(d, k, v)
        d["name"] = f"{self.base.name}-p{i}"
        return d


def _set(d: dict, dotted: str, value) -> None:
    parts = dotted.split(".")
    for p in parts[:-1]:
        d = d[p]
    d[parts[-1]] = value


def _is_leaf(v) -> bool:
    return not isinstance(v, dict) or set(v) & {"low", "high", "values"} or not v


def _flat_params(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if _is_leaf(v):
            out[key] = v
        else:
            out.update(_flat_params(v, key + "."))
    return out


def _int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def load_design(path_or_dict, source: str | None = None) -> Design:
    """Read and validate a design (a TOML file or a dict); :class:`ScenarioError` lists every problem."""
    if isinstance(path_or_dict, dict):
        raw = path_or_dict
        src = source or "<design>"
        base_dir = Path.cwd()
    else:
        p = Path(path_or_dict)
        src = str(p)
        if not p.is_file():
            raise ScenarioError([f"{src}: (file): no such design file" if not p.exists()
                                 else f"{src}: (file): not a regular file"])
        try:
            raw = tomllib.loads(p.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ScenarioError([f"{src}: (file): not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError([f"{src}: (toml): {exc}"]) from None
        base_dir = p.parent
    problems: list[str] = []
    for k in raw:
        if k not in ("sweep", "parameters"):
            problems.append(f"{src}: {k}: unknown section (expected [sweep] and [parameters])")
    sw = raw.get("sweep")
    if not isinstance(sw, dict):
        problems.append(f"{src}: sweep: missing [sweep] section" if sw is None else f"{src}: sweep: must be a table")
        sw = {}
    for k in sw:
        if k not in SWEEP_KEYS:
            problems.append(f"{src}: sweep.{k}: unknown key (known: {', '.join(sorted(SWEEP_KEYS))})")

    method = sw.get("method")
    if method not in METHODS:
        problems.append(f"{src}: sweep.method: must be one of {', '.join(METHODS)} (got {method!r})")

    def whole(key, default=None, minimum=1, required=False):
        v = sw.get(key, default)
        if v is None:
            if required:
                problems.append(f"{src}: sweep.{key}: missing")
            return None
        if not _int(v) or v < minimum:
            problems.append(f"{src}: sweep.{key}: must be a whole number >= {minimum} (got {v!r})")
            return None
        return v

    replicates = whole("replicates", 1)
    seed = whole("seed", 0, minimum=0)
    steps = whole("steps")
    levels = whole("levels", 4, minimum=2)
    samples = whole("samples", required=method in ("lhs", "morris", "sobol"))
    if method == "grid" and "samples" in sw:
        problems.append(f"{src}: sweep.samples: not used by method grid (the grid is the product of the lists)")
    if method == "sobol" and samples and samples & (samples - 1):
        problems.append(f"{src}: sweep.samples: sobol needs a power of 2 (got {samples})")
    second_order = sw.get("second_order", False)
    if not isinstance(second_order, bool):
        problems.append(f"{src}: sweep.second_order: must be true or false (got {second_order!r})")
        second_order = False
    overrides = sw.get("set", [])
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        problems.append(f"{src}: sweep.set: must be a list of \"dotted.key=value\" strings")
        overrides = []
    if steps is not None:
        overrides = [*overrides, f"world.steps={steps}"]

    base = None
    base_source = sw.get("scenario")
    if not isinstance(base_source, str) or not base_source:
        problems.append(f"{src}: sweep.scenario: missing (the base scenario file, relative to the design file)")
    else:
        bp = Path(base_source)
        if not bp.is_absolute():
            bp = base_dir / bp
        base_source = str(bp)
        try:
            base = load_scenario(bp, overrides)
        except ScenarioError as err:
            problems += [f"{src}: sweep.scenario: {line}" for line in err.problems]

    params_raw = raw.get("parameters")
    parameters: list[Parameter] = []
    if not isinstance(params_raw, dict) or not params_raw:
        problems.append(f"{src}: parameters: missing or empty [parameters] section (at least one parameter)")
        params_raw = {}
    known = flatten(Scenario().model_dump(mode="json")) if base is None else flatten(base.model_dump(mode="json"))
    for name, spec in _flat_params(params_raw).items():
        where = f"{src}: parameters.{name}"
        if name in ("seed", "name", "description"):
            problems.append(f"{where}: not a parameter to sweep (seeds come from sweep.seed and the replicate)")
            continue
        if name not in known:
            problems.append(f"{where}: unknown scenario parameter")
            continue
        integer = _int(known[name])
        if isinstance(spec, list):
            prm = Parameter(name, "values", list(spec), integer=integer)
        elif isinstance(spec, dict):
            extra = set(spec) - {"low", "high", "values"}
            if extra:
                problems.append(f"{where}: unknown key(s) {', '.join(sorted(extra))} (use low/high or values)")
                continue
            if "values" in spec:
                if set(spec) != {"values"} or not isinstance(spec["values"], list):
                    problems.append(f"{where}: {{values = [...]}} takes a list and nothing else")
                    continue
                prm = Parameter(name, "values", list(spec["values"]), integer=integer)
            else:
                lo, hi = spec.get("low"), spec.get("high")
                if not (_num(lo) and _num(hi)):
                    problems.append(f"{where}: low and high must both be finite numbers (got {lo!r}, {hi!r})")
                    continue
                if not lo < hi:
                    problems.append(f"{where}: low must be below high (got {lo!r}, {hi!r})")
                    continue
                if method == "grid":
                    problems.append(f"{where}: method grid needs a list of values, not a range")
                    continue
                prm = Parameter(name, "range", [], float(lo), float(hi), integer)
        else:
            problems.append(f"{where}: expected a list of values, {{low, high}} or {{values = [...]}} "
                            f"(got {type(spec).__name__})")
            continue
        if prm.kind == "values":
            if not prm.values:
                problems.append(f"{where}: empty list of values")
                continue
            if len({repr(v) for v in prm.values}) != len(prm.values):
                problems.append(f"{where}: values repeat")
                continue
        # every end point / value against the scenario schema
        if base is not None:
            probe = prm.values if prm.kind == "values" else [_cast(prm, prm.low), _cast(prm, prm.high)]
            for v in probe:
                d = base.model_dump(mode="json")
                _set(d, name, v)
                try:
                    parse_scenario(d, source="@")
                except ScenarioError as err:
                    for line in err.problems:
                        msg = line[2:] if line.startswith("@:") else line
                        problems.append(f"{where}: value {v!r}:{msg}")
        parameters.append(prm)
    if method in ("morris", "sobol") and len([p for p in parameters if p.name != POLICY]) < 1:
        problems.append(f"{src}: parameters: {method} needs at least one parameter besides {POLICY}")
    if problems:
        raise ScenarioError(problems)

    design = Design(src, base, base_source, method, samples, replicates, seed, steps, levels, second_order,
                    list(sw.get("set", [])), parameters, None, None, None, [], raw)
    _sample(design)
    if len(design.points) * replicates > MAX_POINTS:
        raise ScenarioError([f"{src}: parameters: {len(design.points)} points x {replicates} replicates is more "
                             f"than {MAX_POINTS:,} runs"])
    # every point against the scenario's cross-field checks (nothing runs if one is invalid)
    bad = []
    for i in range(len(design.points)):
        try:
            parse_scenario(design.scenario_dict(i), source="@")
        except ScenarioError as err:
            bad.append(f"{src}: parameters: point {i} ({_fmt_point(design.points[i])}):"
                       + "; ".join(line[2:] if line.startswith("@:") else line for line in err.problems))
            if len(bad) >= 20:
                break
    if bad:
        raise ScenarioError(bad)
    return design


def _fmt_point(pt: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in pt.items())


def _cast(p: Parameter, x):
    if p.integer:
        return int(round(float(x)))
    return float(x)


def _sample(d: Design) -> None:
    """Fill ``points`` (and the SALib problem and sample of sampled designs)."""
    if d.method == "grid":
        names = [p.name for p in d.parameters]
        d.points = [dict(zip(names, combo)) for combo in itertools.product(*[p.values for p in d.parameters])]
        return
    pol = next((p for p in d.parameters if p.name == POLICY), None)
    d.policies = list(pol.values) if pol is not None else None
    factors = d.factors
    bounds = [[p.low, p.high] if p.kind == "range" else [0.0, 1.0] for p in factors]
    problem = {"num_vars": len(factors), "names": [p.name for p in factors], "bounds": bounds}
    if d.method == "lhs":
        from SALib.sample import latin

        X = latin.sample(problem, d.samples, seed=d.seed)
    elif d.method == "morris":
        from SALib.sample import morris

        X = morris.sample(problem, d.samples, num_levels=d.levels, seed=d.seed)
    else:
        from SALib.sample import sobol

        X = sobol.sample(problem, d.samples, calc_second_order=d.second_order, seed=d.seed)
    d.problem, d.X = problem, X
    pts = []
    for row in X:
        base = {}
        for p, x in zip(factors, row):
            if p.kind == "range":
                base[p.name] = _cast(p, x)
            else:
                k = len(p.values)
                base[p.name] = p.values[min(int(x * k), k - 1)]
        if d.policies is None:
            pts.append(base)
        else:
            pts += [{**base, POLICY: pol_v} for pol_v in d.policies]
    d.points = pts


def design_dict(d: Design) -> dict[str, Any]:
    """The design as JSON-able provenance."""
    return {"source": d.source, "scenario": d.base_source, "method": d.method, "samples": d.samples,
            "replicates": d.replicates, "seed": d.seed, "steps": d.steps, "levels": d.levels,
            "second_order": d.second_order, "set": d.overrides,
            "parameters": [{"name": p.name, "kind": p.kind, "values": p.values, "low": p.low, "high": p.high,
                            "integer": p.integer} for p in d.parameters],
            "crossed_policies": d.policies, "points": len(d.points)}

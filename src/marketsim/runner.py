"""One run of one scenario: build, step, collect, write. Used by the CLI and by notebooks.

>>> from marketsim.runner import run_scenario
>>> res = run_scenario(load_scenario("scenarios/baseline.toml", ["world.steps=52"]), seed=3)
>>> res.timeseries.head()
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .io import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_parquet,
    atomic_write_text,
    staged_dir,
)
from .model import DrugMarketModel
from .scenario import Scenario, scenario_to_toml

PACKAGES = ("marketsim", "mesa", "numpy", "numba", "pandas", "pyarrow", "pydantic", "scipy")


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that determine results."""
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[p] = "not installed"
    return out


def seed_repr(seed) -> dict:
    """A JSON form of an int seed or a SeedSequence, enough to rebuild it."""
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": int(seed.entropy), "spawn_key": list(seed.spawn_key)}
    return {"entropy": int(seed), "spawn_key": []}


@dataclass
class RunResult:
    scenario: Scenario
    seed: object
    timeseries: pd.DataFrame
    summary: dict
    initial_fingerprint: str
    districts: pd.DataFrame | None = None  #: per-district outputs (``DrugMarketModel.districts()``)

    def provenance(self) -> dict:
        return {
            "scenario": self.scenario.model_dump(mode="json"),
            "seed": seed_repr(self.seed),
            "versions": versions(),
            "initial_world_sha256": self.initial_fingerprint,
        }


def run_scenario(scenario: Scenario, seed=None, steps: int | None = None, progress: bool = False,
                 profile: bool = False) -> RunResult:
    """Run one scenario for ``steps`` weeks (default ``world.steps``) with ``seed`` (default the scenario's)."""
    model = DrugMarketModel(scenario, seed=seed, profile=profile)
    model.run(steps, progress=progress)
    ts = model.timeseries()
    return RunResult(scenario, model.seed, ts, model.summary(), model.initial_fingerprint, model.districts())


def write_run(out_dir: str | Path, result: RunResult) -> Path:
    """Write ``timeseries.parquet`` (and a ``timeseries.csv`` copy for spreadsheets),
    ``districts.parquet`` (when the result has them), ``summary.json`` and ``scenario.toml``
    into ``out_dir``, atomically."""
    out_dir = Path(out_dir)
    with staged_dir(out_dir) as tmp:
        atomic_write_parquet(tmp / "timeseries.parquet", result.timeseries)
        atomic_write_bytes(tmp / "timeseries.csv", result.timeseries.to_csv(index=False).encode())
        if result.districts is not None:
            atomic_write_parquet(tmp / "districts.parquet", result.districts)
        atomic_write_json(tmp / "summary.json", {"metrics": result.summary, "provenance": result.provenance(),
                                                 "command": sys.argv[1:] if sys.argv else []})
        atomic_write_text(tmp / "scenario.toml", scenario_to_toml(result.scenario))
    return out_dir

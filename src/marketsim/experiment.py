"""Moved to :mod:`marketsim.experiments.compare`; this name keeps old imports working."""

from .experiments.compare import *  # noqa: F401,F403
from .experiments.compare import CompareResult, add_cli, compare, default_map_steps, run_replicate  # noqa: F401

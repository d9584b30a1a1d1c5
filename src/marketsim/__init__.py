"""marketsim: agent-based simulation of illicit drug markets under enforcement regimes."""

from .model import DrugMarketModel
from .policies import Allocation, Observation, Policy, register, registry
from .scenario import Scenario, ScenarioError, load_scenario

__version__ = "0.1.0"


def __getattr__(name):  # the experiment layer loads only when asked for (it imports pandas, Dask, matplotlib)
    if name == "compare":
        from .experiments.compare import compare

        return compare
    if name == "sweep":
        from .experiments.sweep import sweep

        return sweep
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DrugMarketModel", "Scenario", "ScenarioError", "load_scenario", "Policy", "Allocation", "Observation",
           "register", "registry", "compare", "sweep", "__version__"]

"""marketsim: agent-based simulation of illicit drug markets under enforcement regimes."""

from .model import DrugMarketModel
from .policies import Allocation, Observation, Policy, register, registry
from .scenario import Scenario, ScenarioError, load_scenario

__version__ = "0.1.0"
__all__ = ["DrugMarketModel", "Scenario", "ScenarioError", "load_scenario", "Policy", "Allocation", "Observation",
           "register", "registry", "__version__"]

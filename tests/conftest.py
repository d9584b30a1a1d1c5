import pytest

from marketsim.scenario import parse_scenario

SMALL = [
    "world.width=30", "world.height=30", "world.users=900", "world.dealers=45", "world.organizations=3",
    "world.hotspots=4", "world.district_size=10", "enforcement.officers=12", "world.steps=30",
    "supply.import_volume=1500", "enforcement.interdiction_capacity=400", "world.burn_in=0",
]


def small(policy="none", *extra):
    """A small world (30x30, 900 users, 45 dealers, 3 organisations, no burn-in) for fast tests."""
    return parse_scenario({}, overrides=[*SMALL, f"enforcement.policy={policy}", *extra])


@pytest.fixture
def small_scenario():
    return small

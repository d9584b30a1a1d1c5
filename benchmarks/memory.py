"""Bytes per agent and per cell: the constants behind ``marketsim.scenario.estimate_memory``.

Builds a model and runs a few weeks under ``tracemalloc`` (numpy reports its array memory to
it), varying one size at a time from a small base city, and fits the peak traced memory as

    fixed + per_user * users + per_mesa_user * users (mesa_user_agents) + per_dealer_slot * max_dealers
          + per_cell * cells + per_officer * officers

``max_dealers = ceil(world.dealers * market.max_dealers_factor)``. Usage::

    python benchmarks/memory.py            # prints the table and the fitted constants

Measured on the 2-core development VM (Python 3.11, numpy 2.4, mesa 3.3.1), Dec 2026:

| configuration | peak traced MiB |
|---|---|
| base (100x100, 20,000 users, 300 dealers x10 slots, 100 officers) | 5.4 |
| world.users=120000 | 18.2 |
| market.max_dealers_factor=60.0 | 11.6 |
| world.width=600 | 10.2 |
| enforcement.officers=20100 | 16.1 |
| world.mesa_user_agents=true | 13.6 |

| component | measured bytes each | constant in scenario.py (x1.5, rounded up) |
|---|---|---|
| user (arrays + market work buffers) | 134 | ``BYTES_PER_USER = 200`` |
| user's mesa.Agent (``mesa_user_agents = true``) | 428 | ``BYTES_PER_MESA_USER = 650`` |
| dealer slot (``max_dealers``) | 434 | ``BYTES_PER_DEALER_SLOT = 650`` |
| cell | 102 | ``BYTES_PER_CELL = 160`` |
| officer | 560 | ``BYTES_PER_OFFICER = 850`` |

Command: ``nice -n 10 .venv/bin/python benchmarks/memory.py`` (4.5 minutes with a cold numba
cache). The safety factor covers the market's candidate buffer, which grows with the density
of dealers around users, and allocator overhead; ``FIXED_BYTES`` (512 MiB) covers the
interpreter, numpy, numba, mesa and pandas, which tracemalloc does not see.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc

from marketsim import DrugMarketModel
from marketsim.scenario import parse_scenario

BASE = {"world.width": 100, "world.height": 100, "world.users": 20000, "world.dealers": 300,
        "world.organizations": 6, "world.burn_in": 0, "world.mesa_user_agents": False,
        "enforcement.officers": 100, "market.max_dealers_factor": 10.0}
STEPS = 3


def peak(**changes) -> int:
    params = {**BASE, **changes}
    sc = parse_scenario({}, overrides=[f"{k}={str(v).lower() if isinstance(v, bool) else v}"
                                       for k, v in params.items()])
    gc.collect()
    tracemalloc.start()
    m = DrugMarketModel(sc, seed=1)
    m.run(STEPS)
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del m
    gc.collect()
    return top


def main() -> int:
    peak()  # warm numba's cache and imports outside the measurement
    base = peak()
    rows = [("base", base)]
    slopes = {}
    for name, key, bigger, count in (
        ("user", "world.users", 120000, lambda v: v),
        ("dealer slot", "market.max_dealers_factor", 60.0, lambda v: 300 * v),
        ("cell", "world.width", 600, lambda v: v * 100),
        ("officer", "enforcement.officers", 20100, lambda v: v),
    ):
        p = peak(**{key: bigger})
        slopes[name] = (p - base) / (count(bigger) - count(BASE[key]))
        rows.append((f"{key}={bigger}", p))
    p = peak(**{"world.mesa_user_agents": True})
    slopes["mesa user agent"] = (p - base) / BASE["world.users"]
    rows.append(("world.mesa_user_agents=true", p))
    print("| configuration | peak traced MiB |\n|---|---|")
    for label, b in rows:
        print(f"| {label} | {b / 2**20:.1f} |")
    print("\n| component | bytes each |\n|---|---|")
    for name, v in slopes.items():
        print(f"| {name} | {v:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Golden-output regression: fixed worlds, fixed seed, recorded sha256 digests.

Performance work must keep results bit-identical for the same seed. The digests
below were recorded from the code before any optimisation (commit 558b066).
If a change *must* alter results, re-record them (``python tests/test_golden.py``
prints the current digests) and say why in the commit message.

Digests:
- ``timeseries``: every column of ``model.timeseries()`` as float64 bytes, in column order;
- ``state``: every state array (scratch buffers ``cell_start``/``cell_list`` excluded) after the run;
- ``initial``: ``model.initial_fingerprint`` (the world before the first step, as in run provenance).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import fields

import numpy as np
import pytest

from marketsim.model import DrugMarketModel
from marketsim.scenario import parse_scenario

SMALL = ["world.width=40", "world.height=40", "world.users=1500", "world.dealers=60", "world.organizations=4",
         "enforcement.officers=15", "world.steps=40"]
# longer, on a torus, with splits, successions, entries and turf fights in every policy
LONG = SMALL + ["world.steps=150", "world.torus=true", "world.users=3000", "world.dealers=120",
                "enforcement.officers=30"]
# the default city (100x100, 10^4 users), and a larger one scaled like benchmarks/scaling.py
DEFAULT = ["world.steps=80"]
SCALED = ["world.width=180", "world.height=180", "world.users=32400", "world.dealers=648", "world.organizations=11",
          "world.hotspots=39", "enforcement.officers=65", "supply.import_volume=51840",
          "enforcement.interdiction_capacity=12960", "enforcement.investigators=32.4", "world.steps=30",
          "world.mesa_user_agents=false"]
WORLDS = {"small": SMALL, "long": LONG, "default": DEFAULT, "scaled": SCALED}
POLICIES = ("none", "aggressive_interdiction", "targeted_deterrence")
SEED = 3
SCRATCH = {"cell_start", "cell_list"}  # work buffers, not model state

GOLDEN = {
    ("small", "none"): (
        "18ee412adc0aa11bcbd616fa8b091b2aaf588d59cac0603e3f7ac2528726d731",
        "3ef8243d2d2636d215652cfe7609fbba181127f3a34cfbd0c75a6b3405dbeebb",
    ),
    ("small", "aggressive_interdiction"): (
        "749dd5205501bd814df8dab895147c1aaa35aa45612d8b2049d1268faec2385b",
        "52175d632d8be6ea0966106bcb5c8279060d523b735b631f25d956972b40fd63",
    ),
    ("small", "targeted_deterrence"): (
        "e21e0c9159c0c10e869df86dc0cdfc6bf165355e996f6ab6bfde554e81bde503",
        "31bf40a3339e26322d31c57065696f1e229ef5886533e973b42d9057bb650cf0",
    ),
    ("long", "none"): (
        "f6cd219a583e21637136894723c0c6662608da461d50947f96a9192c879429bf",
        "9b260c9eb1528a70c8627bc424e298eb6b1ff492e3852171d32b90a395883ac9",
    ),
    ("long", "aggressive_interdiction"): (
        "dc1b3108d2db1cfa20777a08be8a4acde2ac107f62eb5d208c1ac50661986510",
        "455b6e7d5dfd6b46b73311daf750a0432d9ede24020a9f5dc22a6842a9e62a9b",
    ),
    ("long", "targeted_deterrence"): (
        "27e73c4b60aa85e1dfedc5bec39a3698d8dd18d454d43a303689062afe5f1dac",
        "af944d642bc36ac8fabd3c93e0c2760678c42146223831987d81ef41ddcbb142",
    ),
    ("default", "none"): (
        "ea407282507ece95d04b37c7ec086a54d6a3268b6688898ccfa8d228a93250ea",
        "f8915f9502a521b62c73313692f7840cf989410738fff032b42c2cfe078837ad",
    ),
    ("default", "aggressive_interdiction"): (
        "6acae424bdaa7810715b582e6e0ac337d6ea897ee3519cb5d65b5c57317995fa",
        "8d884365993d81998ed7aa646a08eba8eaeb5069fa175954bde27babe5aa2105",
    ),
    ("default", "targeted_deterrence"): (
        "4a5560b9d921990c237b74a91bf84035178b60fb5f9682045a2d60e7a166c3e1",
        "e104cfe9b91d59f725d90f977218c03e419e73943addbde85111c3ae51415d8d",
    ),
    ("scaled", "none"): (
        "5282458136046f1410b93c1b43bfa8d96b33c7f673bf978d1dbc311e0c6072dc",
        "ccd2c051c3244666424aac7a30f01b4d114173e5e01e62b45643fab26c522bfd",
    ),
    ("scaled", "aggressive_interdiction"): (
        "2a3a82f44562e586cbb63d88a9617f5ab1bbb66c53c527dc41add308c8f5833d",
        "10bb6a6938c678088f41e0642eb282c22d8b9e412d8bd2574be6b3438f6028f4",
    ),
    ("scaled", "targeted_deterrence"): (
        "c25fd4d2a4f8cb9dab0c46c376122830da9a6719d31ba5136424d1f5c231aa68",
        "d08e84e177ebf4c27bbdd23279a23484066ddf9a193df1a925d47359c20633e2",
    ),
}
INITIAL = {
    "small": "07cbe00becba077b98036ce30dd137f8efb7d0166890935c44222e24425d6ab9",
    "long": "1fcd16e8f57698f2e13706cff982a349afb4910b5b41ecf165e38f6c5083c122",
    "default": "362a31984ee2a8dcab2bb7af13dc29ba187906c6e210615f58175014a1474088",
    "scaled": "b278c6a0684d7c8afd5edbaebdb168cf74ed5bcefb38515cf6cdee92eb5a518c",
}


def digests(world: str, policy: str, steps: int | None = None, **kw) -> tuple[str, str, str]:
    sc = parse_scenario({}, overrides=WORLDS[world] + [f"enforcement.policy={policy}"])
    m = DrugMarketModel(sc, seed=SEED, **kw)
    m.run(steps)
    ts = m.timeseries()
    h = hashlib.sha256()
    for c in ts.columns:
        h.update(c.encode())
        h.update(np.ascontiguousarray(ts[c].to_numpy(dtype=np.float64)).tobytes())
    hs = hashlib.sha256()
    for f in fields(m.state):
        v = getattr(m.state, f.name)
        if isinstance(v, np.ndarray) and f.name not in SCRATCH:
            hs.update(f.name.encode())
            hs.update(np.ascontiguousarray(v).tobytes())
    return h.hexdigest(), hs.hexdigest(), m.initial_fingerprint


@pytest.mark.parametrize("world,policy", sorted(GOLDEN))
def test_bit_identical_to_recorded(world, policy):
    ts, state, initial = digests(world, policy)
    assert initial == INITIAL[world], "the initial world changed"
    assert ts == GOLDEN[world, policy][0], "timeseries differ from the recorded run"
    assert state == GOLDEN[world, policy][1], "final state differs from the recorded run"


def test_mesa_user_agents_do_not_change_results():
    with_agents = digests("small", "none")
    sc_over = WORLDS["small"] + ["world.mesa_user_agents=false"]
    WORLDS["small_nouser"] = sc_over
    try:
        assert digests("small_nouser", "none")[:2] == with_agents[:2]
    finally:
        del WORLDS["small_nouser"]


def test_profile_does_not_change_results():
    plain = digests("small", "targeted_deterrence")
    timed = digests("small", "targeted_deterrence", profile=True)
    assert plain == timed


_PYFUNC = """
import sys
sys.path.insert(0, {here!r})
from test_golden import digests
print(*digests("small", "aggressive_interdiction", steps=8))
"""


def test_pure_python_kernels_agree():
    """Kernels run as plain Python (NUMBA_DISABLE_JIT=1, i.e. their ``.py_func``) give the same run."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", _PYFUNC.format(here=here)], env=env, capture_output=True,
                         text=True, timeout=600, check=True).stdout.split()
    assert out == list(digests("small", "aggressive_interdiction", steps=8))


if __name__ == "__main__":  # print the current digests (to re-record them)
    for world in WORLDS:
        for policy in POLICIES:
            print(world, policy, *digests(world, policy))

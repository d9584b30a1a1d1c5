"""Where the policies' violence differences come from (issue 8 acceptance): violence by the size
of the committing group, by type, beliefs, crackdowns and threats carried out, plus two
ablations of targeted deterrence: no call-in (``call_in_reach = 0``) and ``name_only`` (names
targets by the same rule, never acts on them).

    .venv/bin/python benchmarks/deterrence_mechanisms.py SCENARIO.toml [SEEDS] [--set key=value ...]

e.g. ``scenarios/targeted_deterrence.toml 1,2,3 --set enforcement.policy=name_only``.
Group size is the committing organisation's members (street and prison) at the end of the week.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from marketsim import DrugMarketModel
from marketsim.policies import Allocation, TargetedDeterrence, register
from marketsim.scenario import load_scenario


@register("name_only")
class NameOnly(TargetedDeterrence):
    """Ablation: targeted deterrence's rule, call-ins and named targets, never acted on."""

    def allocate(self, obs):
        a = super().allocate(obs)
        return Allocation(announced_target=a.announced_target, call_in=a.call_in, queue=a.queue)


BINS = [(1, 1), (2, 9), (10, 49), (50, 10**9)]
TOTALS = ["violence_turf", "violence_succession", "violence_against_police", "homicides", "crackdowns_started"]
MEANS = ["crackdown_targets", "threat_carried_out_share", "believed_response", "perceived_response_top",
         "perceived_response_other", "n_organizations"]


def main(argv: list[str]) -> None:
    path = argv[0]
    seeds = [int(x) for x in (argv[1] if len(argv) > 1 and not argv[1].startswith("--") else "1,2,3").split(",")]
    sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
    by_size = np.zeros(len(BINS))
    rows = []
    for seed in seeds:
        sc = load_scenario(path, sets)
        m = DrugMarketModel(sc, seed=seed)
        s = m.state
        for _ in range(sc.world.steps):
            m.step()
            for i, (lo, hi) in enumerate(BINS):
                sel = (s.o_active == 1) & (s.o_members >= lo) & (s.o_members <= hi)
                by_size[i] += s.o_violence[sel].sum()
        ts = m.timeseries()
        rows.append({**{c: ts[c].sum() for c in TOTALS}, **{c: ts[c].mean() for c in MEANS}})
    print(path, sets, "seeds", seeds)
    print("violent incidents by group size (1 | 2-9 | 10-49 | 50+ members), mean per run:",
          np.round(by_size / len(seeds), 1))
    print(pd.DataFrame(rows).mean().round(3).to_string())


if __name__ == "__main__":
    main(sys.argv[1:])

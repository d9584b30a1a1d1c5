"""Does the city settle? 15-year runs, trend of yearly means (issue 7 item 5).

For each policy and seed: run ``--years`` years (52 weeks each) after the burn-in, take the yearly
means of the number of organisations, HHI, dealers on the street, homicide rate and retail price
over years 2..N, fit a straight line, and report its slope as a share of the mean per year.
A metric is called stationary when the mean relative slope over seeds is within +-``--tolerance``
(default 1.5%/year) of zero.

    python benchmarks/stationarity.py                       # none, 4 seeds, 15 years
    python benchmarks/stationarity.py --policies none aggressive_interdiction targeted_deterrence
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np

METRICS = ["n_organizations", "hhi", "dealers", "homicide_rate", "retail_price"]


def yearly_slopes(policy: str, seed: int, years: int, overrides: list[str]) -> dict[str, float]:
    from marketsim import DrugMarketModel
    from marketsim.scenario import parse_scenario

    sc = parse_scenario({}, overrides=[*overrides, f"enforcement.policy={policy}"])
    m = DrugMarketModel(sc, seed=seed)
    m.run(52 * years)
    ts = m.timeseries()
    year = (ts["step"].to_numpy() - 1) // 52
    out = {}
    for k in METRICS:
        means = ts.groupby(year)[k].mean().to_numpy()[1:]  # years 2..N
        x = np.arange(means.size)
        slope = np.polyfit(x, means, 1)[0]
        out[k] = float(slope / means.mean()) if means.mean() != 0 else float("nan")
    return out


def table(policies, seeds, years, overrides, workers=1, tolerance=0.015):
    jobs = [(p, s) for p in policies for s in seeds]
    if workers > 1:
        with ProcessPoolExecutor(workers) as ex:
            res = list(ex.map(yearly_slopes, *zip(*jobs), [years] * len(jobs), [overrides] * len(jobs)))
    else:
        res = [yearly_slopes(p, s, years, overrides) for p, s in jobs]
    rows = []
    for p in policies:
        r = [x for (pp, _), x in zip(jobs, res) if pp == p]
        for k in METRICS:
            v = np.array([x[k] for x in r])
            rows.append((p, k, float(np.nanmean(v)), float(np.nanmin(v)), float(np.nanmax(v)),
                         abs(np.nanmean(v)) <= tolerance))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policies", nargs="+", default=["none"])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--years", type=int, default=15)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--tolerance", type=float, default=0.015)
    ap.add_argument("--set", action="append", default=[], dest="overrides", help="scenario override key=value")
    a = ap.parse_args(argv)
    rows = table(a.policies, range(1, a.seeds + 1), a.years, a.overrides, a.workers, a.tolerance)
    print(f"| policy | metric | mean slope (%/year) | min | max | within +-{100 * a.tolerance:.1f}% |")
    print("|---|---|---|---|---|---|")
    for p, k, mean, lo, hi, ok in rows:
        print(f"| {p} | {k} | {100 * mean:+.2f} | {100 * lo:+.2f} | {100 * hi:+.2f} | {'yes' if ok else 'NO'} |")
    return 0 if all(r[-1] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Cross-check: marketsim against the Mesa-idiomatic reference (benchmarks/reference/).

Both run the same scenario (policy ``none``) for ``R`` replicates with seeds 1..R: the
scenario's ``world.burn_in`` unrecorded weeks (default 156; the reference implements the same
burn-in), then ``steps`` recorded weeks. Their random streams differ, so runs agree in
distribution, not draw for draw. For each headline metric (run totals of counts, last-quarter
means of levels, as in ``marketsim.metrics.summarize``) we compute each implementation's
replicate mean and its 95% confidence interval (mean +- t_{0.975, R-1} * sd / sqrt(R)).

Tolerance: the two 95% intervals must overlap, i.e.
``|mean_marketsim - mean_reference| <= halfwidth_marketsim + halfwidth_reference``.

    python benchmarks/crosscheck.py [--replicates 10] [--steps 104] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

# a small city with turf violence, corruption and succession in every run
WORLD = ["world.width=40", "world.height=40", "world.users=3000", "world.dealers=120", "world.organizations=4",
         "enforcement.officers=30", "world.torus=true"]
METRICS = ["quantity_sold", "retail_price", "unmet_demand", "arrests", "violent_incidents", "homicides", "hhi",
           "corrupted_officer_share", "dealers", "n_organizations"]


def _summarize(ts) -> dict:
    from marketsim.metrics import COLUMNS

    tail = ts.iloc[len(ts) - max(1, len(ts) // 4):]
    out = {}
    for name in METRICS:
        kind = COLUMNS[name][0]
        out[name] = float(ts[name].sum()) if kind == "count" else float(tail[name].astype(float).mean())
    return out


def run_one(args) -> dict:
    impl, overrides, steps, seed = args
    from marketsim.scenario import parse_scenario

    sc = parse_scenario({}, overrides=overrides + [f"world.steps={steps}", "world.mesa_user_agents=false"])
    t0 = time.perf_counter()
    if impl == "marketsim":
        from marketsim.model import DrugMarketModel

        m = DrugMarketModel(sc, seed=seed)
        m.run(steps)
        ts = m.timeseries()
    else:
        from reference import ReferenceMarket

        m = ReferenceMarket(sc, seed=seed)
        for _ in range(steps):
            m.step()
        ts = m.timeseries()
    res = _summarize(ts)
    res["_seconds"] = time.perf_counter() - t0
    return res


def _t975(df: int) -> float:
    try:
        from scipy import stats

        return float(stats.t.ppf(0.975, df))
    except ImportError:  # pragma: no cover
        return 1.96


def compare(overrides=WORLD, replicates: int = 10, steps: int = 104, workers: int = 2) -> dict:
    """Run both implementations and return the comparison table (one row per metric)."""
    jobs = [(impl, list(overrides), steps, seed) for impl in ("marketsim", "reference")
            for seed in range(1, replicates + 1)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as ex:
            results = list(ex.map(run_one, jobs))
    else:
        results = [run_one(j) for j in jobs]
    by = {"marketsim": results[:replicates], "reference": results[replicates:]}
    t = _t975(replicates - 1)
    rows = []
    for name in METRICS:
        row = {"metric": name}
        for impl, runs in by.items():
            v = np.array([r[name] for r in runs], dtype=float)
            v = v[np.isfinite(v)]
            mean = float(v.mean()) if v.size else math.nan
            half = float(t * v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan
            row[impl] = {"mean": mean, "ci95_half": half, "n": int(v.size)}
        a, b = row["marketsim"], row["reference"]
        row["difference"] = a["mean"] - b["mean"]
        row["tolerance"] = a["ci95_half"] + b["ci95_half"]
        row["agree"] = bool(abs(row["difference"]) <= row["tolerance"])
        rows.append(row)
    seconds = {impl: float(np.mean([r["_seconds"] for r in runs])) for impl, runs in by.items()}
    return {"world": list(overrides), "steps": steps, "replicates": replicates, "policy": "none",
            "tolerance": "95% CIs of the replicate means overlap: |diff| <= half-width(marketsim) + "
                         "half-width(reference)",
            "rows": rows, "all_agree": all(r["agree"] for r in rows), "seconds_per_run": seconds}


def format_table(res: dict) -> str:
    lines = [f"cross-check: {res['replicates']} replicates x {res['steps']} weeks, policy none, "
             f"world {' '.join(res['world'])}",
             f"tolerance: {res['tolerance']}",
             f"{'metric':26s} {'marketsim mean +- 95%':>26s} {'reference mean +- 95%':>26s} {'diff':>11s} "
             f"{'tol':>11s}  agree"]
    for r in res["rows"]:
        a, b = r["marketsim"], r["reference"]
        lines.append(f"{r['metric']:26s} {a['mean']:14.4g} +- {a['ci95_half']:<9.3g} {b['mean']:14.4g} +- "
                     f"{b['ci95_half']:<9.3g} {r['difference']:11.4g} {r['tolerance']:11.4g}  "
                     f"{'yes' if r['agree'] else 'NO'}")
    s = res["seconds_per_run"]
    lines.append(f"seconds per run: marketsim {s['marketsim']:.2f}, reference {s['reference']:.2f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicates", type=int, default=10)
    ap.add_argument("--steps", type=int, default=104)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", default=None, help="also write the table as JSON here")
    a = ap.parse_args(argv)
    res = compare(WORLD, a.replicates, a.steps, a.workers)
    print(format_table(res))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=2)
    return 0 if res["all_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""Sweep throughput: runs per second of the default city with 1 and 2 (or more) workers, and the
per-run overhead (scheduling, store writes, assembly) as a share of run time.

    python benchmarks/throughput.py                       # 1 and 2 workers, 108 runs each, 52 weeks
    python benchmarks/throughput.py --workers 1,2,16 --replicates 24 --steps 52

The sweep is a grid over the three policies x three officer counts of the default city
(``scenarios/baseline.toml``, its 52-week burn-in included, then ``--steps`` recorded weeks), with
``--replicates`` replicates per point. Each worker count runs the same sweep into a fresh folder
(figures off; the tables, store and report are written). Definitions:

- **runs/s**: runs / wall time of the execution phase (from the first task to the last part
  written; a LocalCluster's start-up and numba warm-up included for K >= 2);
- **run time**: the sum over runs of the time inside the run function (build, burn-in, weeks,
  summary), measured in the worker;
- **overhead share**: (K x execution wall time - run time) / run time: everything that is not
  simulating, on all K workers (task scheduling, transfers, store writes, idle workers at the end);
- **speed-up**: runs/s with K workers over runs/s with 1 worker; efficiency = speed-up / K.
Results are checked identical across worker counts (``runs.parquet`` bytes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def design(replicates: int, steps: int) -> dict:
    return {"sweep": {"scenario": str(ROOT / "scenarios" / "baseline.toml"), "method": "grid",
                      "replicates": replicates, "seed": 1, "steps": steps, "set": ["world.mesa_user_agents=false"]},
            "parameters": {"enforcement.policy": ["none", "aggressive_interdiction", "targeted_deterrence"],
                           "enforcement.officers": [80, 100, 120]}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    ap.add_argument("--replicates", type=int, default=12, help="replicates per point (9 points; default 12)")
    ap.add_argument("--steps", type=int, default=52, help="recorded weeks per run (default 52)")
    ap.add_argument("--out", default="out/bench/throughput.json")
    args = ap.parse_args()
    import marketsim
    from marketsim.experiments.execute import _warm_up

    _warm_up()  # numba cache filled before timing
    rows = []
    ref_bytes = None
    tmp = Path(tempfile.mkdtemp(prefix="marketsim-throughput-"))
    try:
        for k in [int(x) for x in args.workers.split(",")]:
            out = tmp / f"w{k}"
            t0 = time.perf_counter()
            tables = marketsim.sweep(design(args.replicates, args.steps), out=out, workers=k, progress=False,
                                     figures=False)
            total = time.perf_counter() - t0
            prov = tables["provenance"]
            n = prov["runs_planned"]
            wall = prov["wall_s_runs"]
            run_s = prov["run_wall_s_sum"]
            b = (out / "runs.parquet").read_bytes()
            ref_bytes = ref_bytes or b
            rows.append({"workers": k, "runs": n, "execution_wall_s": wall, "total_wall_s": round(total, 2),
                         "run_time_s": run_s, "runs_per_s": round(n / wall, 3),
                         "mean_run_s": round(run_s / n, 4),
                         "overhead_share": round((k * wall - run_s) / run_s, 4),
                         "identical_to_first": b == ref_bytes})
            print(rows[-1], flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = rows[0]["runs_per_s"]
    for r in rows:
        r["speedup"] = round(r["runs_per_s"] / base, 3)
        r["efficiency"] = round(r["speedup"] / r["workers"], 3)
    res = {"steps": args.steps, "burn_in": 52, "replicates": args.replicates, "points": 9,
           "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
           "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print("\n| workers | runs | execution wall s | run time s | mean run s | runs/s | speed-up | efficiency | "
          "overhead share | identical |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--|")
    for r in rows:
        print(f"| {r['workers']} | {r['runs']} | {r['execution_wall_s']:.1f} | {r['run_time_s']:.1f} | "
              f"{r['mean_run_s']:.3f} | {r['runs_per_s']:.2f} | {r['speedup']:.2f}x | {r['efficiency']:.2f} | "
              f"{100 * r['overhead_share']:.1f}% | {'yes' if r['identical_to_first'] else 'NO'} |")


if __name__ == "__main__":
    main()

"""Robustness of the README's claims (issue 8 acceptance): the eight main parameters at x0.5 and
x2, one at a time, each variant a full three-policy comparison with common random numbers;
for every claim, the number of variants in which it holds.

    .venv/bin/python benchmarks/robustness.py [--replicates 8] [--workers 2] [--out out/robust]
                                              [--only officers_x0.5,...]

Each variant is one ``marketsim compare`` of the three shipped scenarios with ``--set``
overrides, stored in ``OUT/<variant>/`` (resumable: re-running the same command computes only
the runs not yet stored). Writes ``OUT/claims.csv`` (one row per claim and variant: the paired
difference, its 95 % CI and the verdict) and ``OUT/robustness.md`` (the count table), and
prints the latter.

A claim *holds* in a variant when the paired 95 % CI of its difference lies entirely on the
claimed side of zero; *same sign* when the mean difference has the claimed sign but the
interval includes zero; *reversed* when the interval lies entirely on the other side;
otherwise *opposite sign*.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

SCENARIOS = ["scenarios/baseline.toml", "scenarios/aggressive_interdiction.toml", "scenarios/targeted_deterrence.toml"]
NAMES = {"baseline": "none", "aggressive_interdiction": "AI", "targeted_deterrence": "TD"}

# (variant name, parameter as the README names it, overrides). Defaults: officers 100, import
# volume 16,000/week, ruthlessness mean 1, elasticity -0.5, integrity 2 wages, learning rate
# 1 - learning_discount = 0.1, city 100 x 100 blocks (users, dealers and officers unchanged: the
# density changes), focus multiplier 3 with max_share 0.5.
VARIANTS = [
    ("officers_x0.5", "officers", ["enforcement.officers=50"]),
    ("officers_x2", "officers", ["enforcement.officers=200"]),
    ("import_volume_x0.5", "import volume", ["supply.import_volume=8000"]),
    ("import_volume_x2", "import volume", ["supply.import_volume=32000"]),
    ("ruthlessness_x0.5", "ruthlessness", ["organizations.ruthlessness_mean=0.5"]),
    ("ruthlessness_x2", "ruthlessness", ["organizations.ruthlessness_mean=2.0"]),
    ("elasticity_x0.5", "demand elasticity", ["users.elasticity_mean=-0.25"]),
    ("elasticity_x2", "demand elasticity", ["users.elasticity_mean=-1.0"]),
    ("integrity_x0.5", "officer integrity", ["enforcement.integrity_mean=1.0"]),
    ("integrity_x2", "officer integrity", ["enforcement.integrity_mean=4.0"]),
    ("learning_rate_x0.5", "learning rate", ["organizations.learning_discount=0.95"]),
    ("learning_rate_x2", "learning rate", ["organizations.learning_discount=0.8"]),
    ("city_area_x0.5", "city area", ["world.width=71", "world.height=71"]),
    ("city_area_x2", "city area", ["world.width=141", "world.height=141"]),
    ("crackdown_strength_x0.5", "focus / crackdown strength",
     ["enforcement.focus_multiplier=1.5", "enforcement.max_share=0.25"]),
    ("crackdown_strength_x2", "focus / crackdown strength",
     ["enforcement.focus_multiplier=6.0", "enforcement.max_share=1.0"]),
]

# (claim as the README states it, metric, a, b, claimed sign of a - b)
CLAIMS = [
    ("TD has fewer homicides than AI", "homicides", "TD", "AI", -1),
    ("TD has fewer violent incidents than AI", "violent_incidents", "TD", "AI", -1),
    ("TD has a lower corrupted share than AI", "corrupted_officer_share", "TD", "AI", -1),
    ("TD has a higher city-wide HHI than AI", "hhi", "TD", "AI", +1),
    ("TD has a higher local HHI than AI", "local_hhi", "TD", "AI", +1),
    ("TD has a lower retail price than AI", "retail_price", "TD", "AI", -1),
    ("AI has more violent incidents than the baseline", "violent_incidents", "AI", "none", +1),
    ("AI has more homicides than the baseline", "homicides", "AI", "none", +1),
    ("TD has fewer violent incidents than the baseline", "violent_incidents", "TD", "none", -1),
    ("TD has fewer homicides than the baseline", "homicides", "TD", "none", -1),
    ("AI has a higher corrupted share than the baseline", "corrupted_officer_share", "AI", "none", +1),
    ("TD has a higher corrupted share than the baseline", "corrupted_officer_share", "TD", "none", +1),
    ("AI has a higher retail price than the baseline", "retail_price", "AI", "none", +1),
]


def verdict(sign: int, diff: float, lo: float, hi: float) -> str:
    if not (pd.notna(lo) and pd.notna(hi)):
        return "no interval"
    lo, hi, diff = sign * lo, sign * hi, sign * diff
    lo, hi = min(lo, hi), max(lo, hi)
    if lo > 0:
        return "holds"
    if hi < 0:
        return "reversed"
    return "same sign" if diff > 0 else "opposite sign"  # a zero difference counts as not the claimed sign


class VariantFailed(RuntimeError):
    """Some runs of a variant raised (recorded in its store); its claims are reported as failed."""


def run_variant(name: str, overrides: list[str], replicates: int, workers: int, out: Path,
                steps: int | None = None) -> pd.DataFrame:
    from marketsim.experiments.compare import compare
    from marketsim.experiments.stats import pairwise_table

    folder = out / name
    compare(SCENARIOS, replicates=replicates, workers=workers, overrides=overrides, out=folder, figures=False, steps=steps,
            progress=False, overwrite=False)
    runs = pd.read_parquet(folder / "runs.parquet")
    failed = runs[runs["status"] != "ok"] if "status" in runs else runs.iloc[:0]
    if len(failed):
        first = str(failed["error"].iloc[0]).strip().splitlines()[-1][:200]
        raise VariantFailed(f"{len(failed)} of {len(runs)} runs failed ({first})")
    runs["scenario"] = runs["scenario"].map(NAMES)
    metrics = sorted({c[1] for c in CLAIMS})
    return pairwise_table(runs, metrics, scenarios=["none", "AI", "TD"],
                          pairs=[("TD", "AI"), ("AI", "none"), ("TD", "none")])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicates", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="out/robust")
    ap.add_argument("--steps", type=int, default=None, help="recorded weeks (default: the scenarios' own; for smoke tests)")
    ap.add_argument("--only", default="", help="comma-separated variant names (default: all 16)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    only = [v for v in args.only.split(",") if v]
    variants = [v for v in VARIANTS if not only or v[0] in only]
    unknown = set(only) - {v[0] for v in VARIANTS}
    if unknown:
        print(f"unknown variant(s): {sorted(unknown)}; choose from {[v[0] for v in VARIANTS]}", file=sys.stderr)
        return 2
    rows = []
    for name, param, overrides in variants:
        t0 = time.perf_counter()
        try:
            table = run_variant(name, overrides, args.replicates, args.workers, out, args.steps)
        except VariantFailed as e:
            print(f"{name}: FAILED: {e}", flush=True)
            for claim, metric, a, b, _sign in CLAIMS:
                rows.append({"claim": claim, "variant": name, "parameter": param, "overrides": " ".join(overrides),
                             "metric": metric, "a": a, "b": b, "verdict": f"runs failed: {e}"})
            continue
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
        for claim, metric, a, b, sign in CLAIMS:
            r = table[(table.metric == metric) & (table.a == a) & (table.b == b)].iloc[0]
            rows.append({"claim": claim, "variant": name, "parameter": param, "overrides": " ".join(overrides),
                         "metric": metric, "a": a, "b": b, "n": int(r["n"]), "diff": r["diff"],
                         "ci_low": r["diff_ci_low"], "ci_high": r["diff_ci_high"],
                         "verdict": verdict(sign, r["diff"], r["diff_ci_low"], r["diff_ci_high"])})
    claims = pd.DataFrame(rows)
    claims.to_csv(out / "claims.csv", index=False)
    md = summary_markdown(claims, args.replicates)
    (out / "robustness.md").write_text(md)
    print(md)
    return 0


def summary_markdown(claims: pd.DataFrame, replicates: int) -> str:
    n_var = claims["variant"].nunique()
    lines = [f"Each claim over {n_var} one-at-a-time variants ({replicates} replicates each, paired 95% CIs).", "",
             "| claim | holds | same sign, CI includes 0 | opposite sign | reversed | could not run | variants where it does not hold |",
             "|---|--:|--:|--:|--:|--:|---|"]
    for claim, g in claims.groupby("claim", sort=False):
        c = g["verdict"].value_counts()
        failed = int(g["verdict"].str.startswith("runs failed").sum())
        bad = g[g.verdict != "holds"]
        fails = ", ".join(f"{v} ({d:+.3g})" if pd.notna(d) else f"{v} (failed)" for v, d in zip(bad["variant"], bad["diff"]))
        lines.append(f"| {claim} | {c.get('holds', 0)} | {c.get('same sign', 0)} | {c.get('opposite sign', 0)} | "
                     f"{c.get('reversed', 0)} | {failed} | {fails or '—'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

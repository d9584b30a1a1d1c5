"""Scaling benchmark: marketsim from 10^3 to 10^6 users, side by side with a plain-Mesa reference.

    python benchmarks/scaling.py                      # full run (a few minutes on 2 cores), table + JSON
    python benchmarks/scaling.py --sizes 1000,10000   # a subset
    python benchmarks/scaling.py --no-crosscheck      # skip the statistical cross-check
    python benchmarks/scaling.py --dense 1000000      # the dense-city row(s) (default: 10^6; "" for none)

Worlds scale with the number of users ``n`` from the default city (10^4 users on 100 x 100
blocks): a square grid of ``100 * sqrt(n / 10^4)`` blocks a side (about one user per block),
``n / 50`` dealers, ``n / 500`` officers, ``12 n / 10^4`` demand hot spots (the same local
density everywhere), ``6 sqrt(n / 10^4)`` organisations (3 to 64), import volume,
interdiction capacity and investigators in proportion to ``n``. At 10^6 users: 1000 x 1000
blocks, 20,000 dealers, 2,000 officers, 60 organisations. Policy ``none`` (the reference
implements that one), ``world.mesa_user_agents=false`` (user state lives in arrays either way),
``world.burn_in=0`` for both implementations (setup is building the city only, not 156 unrecorded
weeks; the weeks measured are the first weeks of the city as built).

An *agent* is a user, a dealer or an officer at the start (organisations are not counted):
``ns per agent-step = wall time of a step / (users + dealers + officers)``.

The *dense city* (``--dense``): ``n`` users in the default 12 hot spots (``world.hotspots=12``),
everything else as ``world(n)``: at 10^6 users about 100 times the local density of users and
dealers of the spread city. The market's cost per agent must not grow with local density (issue
7: within 2x of the spread city at the same size).

Measured, each size in a fresh process:

- ``setup_s``: building the model (kernels already compiled);
- ``step_ns`` and ``process_ns``: whole step and each process (``DrugMarketModel(profile=True)``,
  ``model.process_times``), mean over the measured weeks after one warm-up week;
- ``peak_bytes_per_agent``: (peak RSS - RSS before building the model) / agents, and the bytes of
  the model's own arrays (``state.nbytes()`` plus work buffers) per agent;
- the reference (benchmarks/reference/, idiomatic Mesa) at 10^3..10^5: its ns per agent-step
  (after one warm-up week) and the ratio reference / marketsim over the *same weeks* of the same
  city (seed 1; marketsim's ``step_ns_same_weeks``), from the same run of this script.

Start-up, each in a fresh process with a private, initially empty ``NUMBA_CACHE_DIR``, on the
default city (10^4 users): *cold* (import, build, first step including numba compilation) and
*warm* (the same again: numba's on-disk cache hit). Times are from interpreter start-up
(``python -c pass`` is subtracted and reported).

Finally the cross-check of benchmarks/crosscheck.py (headline metrics within replicate 95% CIs;
there with the default burn-in).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROCESSES = ("begin_week", "import", "allocation", "corruption", "market", "policing", "violence", "succession",
             "entry_exit", "learning", "record")
# steps measured per size (after warm-up): marketsim, reference
STEPS = {1_000: (200, 50), 10_000: (100, 20), 100_000: (20, 3), 1_000_000: (8, 0)}
REFERENCE_MAX = 100_000


def world(n: int) -> list[str]:
    """Scenario overrides for a city of ``n`` users (see the module docstring)."""
    f = n / 1e4
    side = int(round(100 * math.sqrt(f)))
    return [f"world.width={side}", f"world.height={side}", f"world.users={n}", f"world.dealers={max(1, n // 50)}",
            f"world.organizations={min(64, max(3, round(6 * math.sqrt(f))))}",
            f"world.hotspots={max(1, round(12 * f))}", f"enforcement.officers={max(1, n // 500)}",
            f"supply.import_volume={16000 * f}", f"enforcement.interdiction_capacity={4000 * f}",
            f"enforcement.investigators={10 * f}", "enforcement.policy=none", "world.mesa_user_agents=false",
            "world.burn_in=0"]


def dense_world(n: int) -> list[str]:
    """The dense city: ``world(n)`` with the default city's 12 hot spots."""
    return world(n) + ["world.hotspots=12"]


def agents_of(n: int) -> int:
    return n + max(1, n // 50) + max(1, n // 500)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ------------------------------------------------------------------------ child processes
def child_marketsim(n: int, steps: int, same_weeks: int, dense: bool = False) -> dict:
    import gc

    from marketsim.model import DrugMarketModel
    from marketsim.scenario import parse_scenario

    # compile (or load) every kernel on a tiny city first: setup and steps below are warm
    DrugMarketModel(parse_scenario({}, overrides=world(1000)), seed=99).run(2)
    gc.collect()
    base = _rss_bytes()
    sc = parse_scenario({}, overrides=dense_world(n) if dense else world(n))
    t0 = time.perf_counter()
    m = DrugMarketModel(sc, seed=1, profile=True)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    m.step()  # warm-up week (as for the reference)
    first = time.perf_counter() - t0
    m.process_times.clear()
    m.profiled_steps = 0
    times = []
    for _ in range(max(steps, same_weeks)):
        t0 = time.perf_counter()
        m.step()
        times.append(time.perf_counter() - t0)
    peak = _peak_bytes()
    a = agents_of(n)
    arrays = m.state.nbytes() + m._work.nbytes()
    k = m.profiled_steps
    return {
        "users": n, "dense": dense, "agents": a, "steps": len(times), "setup_s": setup, "first_step_s": first,
        "step_s": sum(times) / len(times), "step_ns": sum(times) / len(times) / a * 1e9,
        "step_ns_min": min(times) / a * 1e9,
        # the weeks the reference is timed on (weeks 2 .. 1 + same_weeks), for the ratio
        "same_weeks": same_weeks, "step_ns_same_weeks": (sum(times[:same_weeks]) / same_weeks / a * 1e9
                                                         if same_weeks else None),
        "process_ns": {p: m.process_times[p] / k / a * 1e9 for p in PROCESSES},
        "peak_rss_bytes": peak, "model_rss_bytes": peak - base, "peak_bytes_per_agent": (peak - base) / a,
        "array_bytes_per_agent": arrays / a,
        "dealers_end": int(m.timeseries()["dealers"].iloc[-1]),
    }


def child_reference(n: int, steps: int) -> dict:
    sys.path.insert(0, HERE)
    from reference import ReferenceMarket

    from marketsim.scenario import parse_scenario

    base = _rss_bytes()
    t0 = time.perf_counter()
    m = ReferenceMarket(parse_scenario({}, overrides=world(n)), seed=1)
    setup = time.perf_counter() - t0
    m.step()  # warm-up: Mesa builds and caches neighbourhoods on first use
    t0 = time.perf_counter()
    for _ in range(steps):
        m.step()
    wall = time.perf_counter() - t0
    a = agents_of(n)
    return {"users": n, "agents": a, "steps": steps, "setup_s": setup, "step_s": wall / steps,
            "step_ns": wall / steps / a * 1e9, "peak_bytes_per_agent": (_peak_bytes() - base) / a}


def child_start() -> dict:
    t0 = time.perf_counter()
    from marketsim.model import DrugMarketModel
    from marketsim.scenario import parse_scenario

    t1 = time.perf_counter()
    m = DrugMarketModel(parse_scenario({}, overrides=world(10_000)), seed=1)
    t2 = time.perf_counter()
    m.step()
    t3 = time.perf_counter()
    return {"import_s": t1 - t0, "setup_s": t2 - t1, "first_step_s": t3 - t2}


def _run_child(args: list[str], env=None, timeout=900) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_times() -> dict:
    """Cold and warm start of a new process on the default city, with a private numba cache."""
    base_t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    interpreter = time.perf_counter() - base_t0
    res = {"interpreter_s": interpreter}
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "warm"):
            t0 = time.perf_counter()
            r = _run_child(["start"], env=env)
            r["process_s"] = time.perf_counter() - t0  # interpreter start to exit
            r["to_first_step_s"] = r["process_s"] - interpreter
            res[label] = r
    return res


# ------------------------------------------------------------------------------- report
def format_table(res: dict) -> str:
    lines = []
    hdr = (f"{'users':>9s} {'agents':>9s} {'setup s':>8s} {'step s':>8s} {'ns/agent-step':>13s} "
           f"{'bytes/agent':>11s} {'ref weeks ns':>12s} {'ref ns/agent-step':>17s} {'ratio':>7s}")
    lines.append(hdr)
    for r in res["sizes"]:
        ref = r.get("reference")
        same = f"{r['step_ns_same_weeks']:12.0f}" if ref else f"{'-':>12s}"
        ref_ns = f"{ref['step_ns']:17.0f}" if ref else f"{'-':>17s}"
        ratio = f"{r['ratio']:6.0f}x" if ref else f"{'-':>7s}"
        lines.append(f"{_label(r):>9s} {r['agents']:>9,d} {r['setup_s']:8.2f} {r['step_s']:8.4f} "
                     f"{r['step_ns']:13.0f} {r['peak_bytes_per_agent']:11.0f} {same} {ref_ns} {ratio}")
    lines.append("(ns/agent-step: marketsim over all measured weeks; ref weeks ns: marketsim over the weeks the "
                 "reference was timed on; ratio = reference / that)")
    lines.append("")
    lines.append("ns per agent-step by process:")
    lines.append(f"{'users':>9s} " + " ".join(f"{p[:10]:>10s}" for p in PROCESSES))
    for r in res["sizes"]:
        lines.append(f"{_label(r):>9s} " + " ".join(f"{r['process_ns'][p]:10.1f}" for p in PROCESSES))
    for r in res["sizes"]:
        if r.get("dense_over_spread"):
            lines.append(f"dense city at {r['users']:,} users: {r['dense_over_spread']:.2f}x the spread city's "
                         f"ns per agent-step")
    st = res.get("start")
    if st:
        lines.append("")
        lines.append(f"start-up on the default city (10^4 users), new process, interpreter start-up "
                     f"{st['interpreter_s']:.2f} s excluded:")
        for label in ("cold", "warm"):
            s = st[label]
            lines.append(f"  {label:4s} (numba cache {'empty' if label == 'cold' else 'hit'}): "
                         f"{s['to_first_step_s']:6.2f} s to the end of the first step "
                         f"(import {s['import_s']:.2f}, setup {s['setup_s']:.2f}, first step {s['first_step_s']:.2f})")
    return "\n".join(lines)


def _label(r: dict) -> str:
    return f"{r['users']:,}" + (" dense" if r.get("dense") else "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000,1000000", help="comma-separated user counts")
    ap.add_argument("--json", default=os.path.join(ROOT, "out", "bench", "scaling.json"))
    ap.add_argument("--dense", default="1000000", help="comma-separated user counts of dense-city rows ('' for none)")
    ap.add_argument("--no-reference", action="store_true", help="skip the Mesa reference")
    ap.add_argument("--no-start", action="store_true", help="skip the cold/warm start measurement")
    ap.add_argument("--no-crosscheck", action="store_true", help="skip the statistical cross-check")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        kind = a.child[0]
        if kind == "marketsim":
            out = child_marketsim(int(a.child[1]), int(a.child[2]), int(a.child[3]),
                                  len(a.child) > 4 and a.child[4] == "dense")
        elif kind == "reference":
            out = child_reference(int(a.child[1]), int(a.child[2]))
        else:
            out = child_start()
        print(json.dumps(out))
        return 0

    import numba
    import numpy

    t_start = time.perf_counter()
    res = {"machine": {"python": platform.python_version(), "numpy": numpy.__version__, "numba": numba.__version__,
                       "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
           "definition": "ns per agent-step = wall time of one weekly step / (users + dealers + officers)",
           "sizes": []}
    if not a.no_start:
        print("start-up (cold: compiling the kernels) ...", flush=True)
        res["start"] = start_times()
    for n in [int(float(x)) for x in a.sizes.split(",")]:
        steps, ref_steps = STEPS.get(n, (max(3, int(2e7 // n)), 2))
        with_ref = not a.no_reference and n <= REFERENCE_MAX and ref_steps > 0
        print(f"marketsim {n:,} users ...", flush=True)
        r = _run_child(["marketsim", str(n), str(steps), str(ref_steps if with_ref else 0)])
        if with_ref:
            print(f"reference {n:,} users ...", flush=True)
            r["reference"] = _run_child(["reference", str(n), str(ref_steps)])
            # the same weeks of the same city (seed 1), after one warm-up week each
            r["ratio"] = r["reference"]["step_ns"] / r["step_ns_same_weeks"]
        res["sizes"].append(r)
    for n in [int(float(x)) for x in a.dense.split(",") if x.strip()]:
        steps, _ = STEPS.get(n, (max(3, int(2e7 // n)), 2))
        print(f"marketsim {n:,} users, dense city ...", flush=True)
        r = _run_child(["marketsim", str(n), str(steps), "0", "dense"])
        spread = [x for x in res["sizes"] if x["users"] == n and not x.get("dense")]
        if spread:
            r["dense_over_spread"] = r["step_ns"] / spread[0]["step_ns"]
        res["sizes"].append(r)
    if not a.no_crosscheck:
        print("cross-check against the reference ...", flush=True)
        sys.path.insert(0, HERE)
        import crosscheck

        res["crosscheck"] = crosscheck.compare(crosscheck.WORLD, replicates=10, steps=104, workers=2)
    res["total_s"] = time.perf_counter() - t_start
    print()
    print(format_table(res))
    if "crosscheck" in res:
        print()
        print(crosscheck.format_table(res["crosscheck"]))
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as fh:
        json.dump(res, fh, indent=2)
    print(f"\nwritten {a.json} ({res['total_s']:.0f} s)")
    return 0 if res.get("crosscheck", {}).get("all_agree", True) else 1


if __name__ == "__main__":
    sys.exit(main())

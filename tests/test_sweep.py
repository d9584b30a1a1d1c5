"""marketsim sweep: design validation, the run store (resume, failures, shards, workers) and SALib indices.

Tiny worlds without burn-in and a few weeks per run: the file runs in about a minute on 2 cores.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketsim.cli import main
from marketsim.experiments.design import load_design
from marketsim.policies import registry
from marketsim.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "baseline.toml"
TINY = ["world.width=20", "world.height=20", "world.users=300", "world.dealers=20", "world.organizations=2",
        "world.hotspots=2", "world.district_size=10", "enforcement.officers=5", "world.burn_in=0",
        "world.mesa_user_agents=false"]
PLUGIN = ("from marketsim.policies import Allocation, Policy, register\n"
          "@register('explodes')\n"
          "class Explodes(Policy):\n"
          "    'Raises in its first week (to test failed runs).'\n"
          "    def allocate(self, obs):\n"
          "        raise RuntimeError('boom: this policy always fails')\n")


def design_text(method="grid", params=None, extra="", steps=6, replicates=2, samples=None):
    params = params or {"enforcement.officers": "[2, 6, 10]",
                        "enforcement.policy": '["aggressive_interdiction", "targeted_deterrence"]'}
    lines = ["[sweep]", f'scenario = "{BASE}"', f'method = "{method}"', f"replicates = {replicates}", "seed = 5",
             f"steps = {steps}", "set = [" + ", ".join(f'"{o}"' for o in TINY) + "]"]
    if samples:
        lines.append(f"samples = {samples}")
    lines += [extra, "", "[parameters]"] + [f'"{k}" = {v}' for k, v in params.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def grid_design(tmp_path_factory):
    d = tmp_path_factory.mktemp("design")
    p = d / "grid.toml"
    p.write_text(design_text(steps=6))
    return p


@pytest.fixture(scope="module")
def uninterrupted(grid_design, tmp_path_factory):
    out = tmp_path_factory.mktemp("sw") / "full"
    assert main(["sweep", str(grid_design), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    return out


def _cli(*args):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen([sys.executable, "-m", "marketsim.cli", *map(str, args)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _parts(out: Path) -> dict:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "store" / "runs").glob("*.parquet")}


# ------------------------------------------------------------------------------------------ outputs
def test_grid_outputs(uninterrupted):
    out = uninterrupted
    runs = pd.read_parquet(out / "runs.parquet")
    points = pd.read_parquet(out / "points.parquet")
    assert len(runs) == 6 * 2 and len(points) == 6
    assert {"point", "enforcement.officers", "enforcement.policy", "replicate", "root_seed", "spawn_key", "status",
            "homicides", "corrupted_officer_share", "hhi", "local_hhi"} <= set(runs.columns)
    assert (runs["status"] == "ok").all()
    # common random numbers: replicate r of every point has the same seed, and worlds that the swept
    # parameters do not change are identical
    assert (runs["spawn_key"] == runs["replicate"]).all() and (runs["root_seed"] == 5).all()
    same = runs[runs["enforcement.officers"] == 6].groupby("replicate")["initial_world_sha256"].nunique()
    assert (same == 1).all()
    # the point table is the replicates' mean, with a CI around it
    r0 = runs[runs["point"] == 3]["arrests"]
    p3 = points.set_index("point").loc[3]
    assert p3["arrests_mean"] == pytest.approx(r0.mean())
    assert p3["arrests_ci_low"] <= p3["arrests_mean"] <= p3["arrests_ci_high"]
    assert pd.read_csv(out / "runs.csv").shape[0] == 12
    for f in ("report.md", "report.html", "sweep.json", "figures/response.png", "figures/response.svg",
              ".marketsim-output"):
        assert (out / f).is_file(), f
    md = (out / "report.md").read_text()
    assert "grid" in md and "enforcement.officers" in md and "0 failed" in md


# ------------------------------------------------------------------------------------------ resume
def test_resume_after_killing_the_driver(grid_design, uninterrupted, tmp_path):
    """kill -9 of the driver after a few runs; the same command again computes only the rest and
    gives byte-identical tables."""
    out = tmp_path / "killed"
    proc = _cli("sweep", grid_design, "--out", out, "--workers", "1", "--quiet")
    deadline = time.time() + 120
    while time.time() < deadline and len(_parts(out)) < 3 if (out / "store" / "runs").exists() else True:
        if proc.poll() is not None or time.time() > deadline:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _parts(out)
    assert 1 <= len(before) < 12, "the driver finished before it was killed: make the runs longer"
    assert not (out / "runs.parquet").exists()
    assert main(["sweep", str(grid_design), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    after = _parts(out)
    assert len(after) == 12
    assert {k: after[k] for k in before} == before  # finished runs were not recomputed (same files)
    import json

    assert json.loads((out / "sweep.json").read_text())["runs_computed_now"] == 12 - len(before)
    for name in ("runs.parquet", "points.parquet"):
        assert (out / name).read_bytes() == (uninterrupted / name).read_bytes(), name


def test_sigterm_exits_143_with_one_line(grid_design, tmp_path):
    """SIGTERM (e.g. the end of a SLURM walltime) stops like Ctrl-C: exit 143, one line, no traceback."""
    out = tmp_path / "term"
    proc = _cli("sweep", grid_design, "--out", out, "--workers", "1", "--quiet")
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (out / "store" / "runs").exists() and len(_parts(out)) >= 1:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "resume with the same command" in err and "Traceback" not in err
    assert not any(p.name.endswith(".tmp") for p in out.rglob("*"))


def test_ctrl_c_exits_130_and_resumes(grid_design, uninterrupted, tmp_path, monkeypatch, capsys):
    from marketsim.experiments import sweep as sweep_mod

    real = sweep_mod.run_replicate
    calls = {"n": 0}

    def interrupt_third(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(sweep_mod, "run_replicate", interrupt_third)
    out = tmp_path / "ctrlc"
    assert main(["sweep", str(grid_design), "--out", str(out), "--workers", "1", "--quiet"]) == 130
    assert "resume with the same command" in capsys.readouterr().err
    assert len(_parts(out)) == 2
    monkeypatch.setattr(sweep_mod, "run_replicate", real)
    assert main(["sweep", str(grid_design), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert (out / "runs.parquet").read_bytes() == (uninterrupted / "runs.parquet").read_bytes()


def test_two_shards_in_parallel_then_collect(grid_design, uninterrupted, tmp_path):
    out = tmp_path / "sharded"
    procs = [_cli("sweep", grid_design, "--out", out, "--shard", f"{i}/2", "--workers", "1", "--quiet")
             for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "6 runs in this slice" in err
    assert not (out / "runs.parquet").exists()
    assert main(["sweep", str(grid_design), "--out", str(out), "--collect", "--quiet"]) == 0
    for name in ("runs.parquet", "points.parquet", "runs.csv", "points.csv"):
        assert (out / name).read_bytes() == (uninterrupted / name).read_bytes(), name


def test_two_workers_identical(grid_design, uninterrupted, tmp_path):
    w2 = tmp_path / "w2"
    assert main(["sweep", str(grid_design), "--out", str(w2), "--workers", "2", "--quiet"]) == 0
    for name in ("runs.parquet", "points.parquet"):
        assert (w2 / name).read_bytes() == (uninterrupted / name).read_bytes(), name
    assert "Dask LocalCluster, 2 worker processes" in (w2 / "report.md").read_text()


def test_collect_refuses_an_incomplete_store(grid_design, tmp_path, capsys):
    out = tmp_path / "partial"
    assert main(["sweep", str(grid_design), "--out", str(out), "--shard", "0/3", "--quiet", "--workers", "1"]) == 0
    assert main(["sweep", str(grid_design), "--out", str(out), "--collect", "--quiet"]) == 2
    assert "8 of 12 runs are not in the store yet" in capsys.readouterr().err


def test_a_second_writer_is_refused(grid_design, tmp_path, capsys):
    from marketsim.experiments.store import RunStore

    out = tmp_path / "locked"
    assert main(["sweep", str(grid_design), "--out", str(out), "--shard", "0/6", "--quiet", "--workers", "1"]) == 0
    with RunStore(out / "store").locked():
        assert main(["sweep", str(grid_design), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "another marketsim process is writing this output folder" in err


# ------------------------------------------------------------------------------------------ failures
def test_failing_design_point_is_recorded_and_the_rest_completes(tmp_path, monkeypatch, capsys):
    (tmp_path / "explplug.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    design = tmp_path / "fail.toml"
    design.write_text(design_text(params={"enforcement.officers": "[3, 6]",
                                          "enforcement.policy": '["none", "explodes"]'}, steps=4))
    out = tmp_path / "failing"
    try:
        code = main(["sweep", str(design), "--out", str(out), "--workers", "1", "--plugin", "explplug", "--quiet"])
    finally:
        registry.pop("explodes", None)
    err = capsys.readouterr().err
    assert code == 1
    assert "4 run(s) failed" in err and "boom" in err
    runs = pd.read_parquet(out / "runs.parquet")
    bad = runs[runs["enforcement.policy"] == "explodes"]
    assert len(bad) == 4 and (bad["status"] == "failed").all() and bad["error"].str.contains("boom").all()
    assert bad["homicides"].isna().all()
    good = runs[runs["enforcement.policy"] == "none"]
    assert (good["status"] == "ok").all() and good["arrests"].notna().all()
    assert "4 runs failed" in (out / "report.md").read_text()
    tb = next((out / "store" / "failed").glob("*.txt")).read_text()
    assert "Traceback" in tb and "boom" in tb


# ------------------------------------------------------------------------------------------ SALib
def _point_means(out, metric):
    runs = pd.read_parquet(out / "runs.parquet")
    return runs.groupby("point")[metric].mean().sort_index().to_numpy()


def test_morris_indices_equal_salib(tmp_path):
    from SALib.analyze import morris as ma
    from SALib.sample import morris as ms

    design = tmp_path / "morris.toml"
    design.write_text(design_text("morris", {"enforcement.officers": "{low = 2, high = 10}",
                                             "users.demand_mean": "{low = 0.5, high = 1.5}"}, samples=2, steps=4))
    out = tmp_path / "m"
    assert main(["sweep", str(design), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    sens = pd.read_csv(out / "sensitivity.csv")
    problem = {"num_vars": 2, "names": ["enforcement.officers", "users.demand_mean"], "bounds": [[2, 10], [0.5, 1.5]]}
    X = ms.sample(problem, 2, num_levels=4, seed=5)
    assert len(pd.read_parquet(out / "points.parquet")) == len(X) == 6
    for metric in ("arrests", "retail_price", "quantity_sold"):
        y = _point_means(out, metric)
        ref = ma.analyze(problem, X, y, num_levels=4, seed=5, num_resamples=200)
        mine = sens[sens["outcome"] == metric].set_index("parameter")
        for i, name in enumerate(problem["names"]):
            assert mine.loc[name, "mu_star"] == pytest.approx(ref["mu_star"][i], rel=1e-8, abs=1e-12)
            assert mine.loc[name, "sigma"] == pytest.approx(ref["sigma"][i], rel=1e-8, abs=1e-12)
            assert mine.loc[name, "mu"] == pytest.approx(ref["mu"][i], rel=1e-8, abs=1e-12)
            hw = mine.loc[name, "mu_star_ci_high"] - mine.loc[name, "mu_star"]
            # the CSV keeps 10 significant digits: a half-width taken as the difference of two
            # rounded values is exact only to about 1e-10 of their size
            tol = max(1e-9, 1e-9 * abs(mine.loc[name, "mu_star_ci_high"]))
            assert hw == pytest.approx(ref["mu_star_conf"][i], rel=1e-6, abs=tol)
    assert sens["mu_star"].notna().any() and (sens["noise"].dropna() >= 0).all()
    assert (out / "figures" / "morris.svg").is_file()
    assert "μ*" in (out / "report.md").read_text()


def test_sobol_with_policy_factor_equals_salib(tmp_path):
    from SALib.analyze import sobol as sa
    from SALib.sample import sobol as ss

    design = tmp_path / "sobol.toml"
    design.write_text(design_text("sobol", {"enforcement.officers": "{low = 2, high = 10}",
                                            "users.demand_mean": "{low = 0.5, high = 1.5}",
                                            "enforcement.policy": '{values = ["none", "aggressive_interdiction"]}'},
                                  samples=2, steps=3, replicates=1))
    out = tmp_path / "s"
    assert main(["sweep", str(design), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    sens = pd.read_csv(out / "sensitivity.csv")
    problem = {"num_vars": 2, "names": ["enforcement.officers", "users.demand_mean"], "bounds": [[2, 10], [0.5, 1.5]]}
    X = ss.sample(problem, 2, calc_second_order=False, seed=5)
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == len(X) * 2  # samples x policies
    wide = runs.groupby(["point"])["arrests"].mean().sort_index().to_numpy().reshape(len(X), 2)
    for name, y in (("arrests:aggressive_interdiction", wide[:, 1]),
                    ("arrests:aggressive_interdiction-none", wide[:, 1] - wide[:, 0])):
        ref = sa.analyze(problem, y, calc_second_order=False, seed=5, num_resamples=200)
        mine = sens[sens["outcome"] == name].set_index("parameter")
        for i, p in enumerate(problem["names"]):
            assert mine.loc[p, "S1"] == pytest.approx(ref["S1"][i], rel=1e-8, abs=1e-12)
            assert mine.loc[p, "ST"] == pytest.approx(ref["ST"][i], rel=1e-8, abs=1e-12)
            assert mine.loc[p, "ST_ci_high"] - mine.loc[p, "ST"] == pytest.approx(ref["ST_conf"][i], rel=1e-6, abs=1e-9)
    # the paired difference is an outcome of its own; the policy is crossed, not sampled
    assert "homicides:aggressive_interdiction-none" in set(sens["outcome"])
    assert "enforcement.policy" not in set(sens["parameter"])


def test_python_api_returns_dataframes(tmp_path):
    import marketsim

    d = {"sweep": {"scenario": str(BASE), "method": "lhs", "samples": 3, "replicates": 1, "seed": 2, "steps": 3,
                   "set": TINY},
         "parameters": {"enforcement": {"officers": {"low": 2, "high": 9}}}}
    tables = marketsim.sweep(d, out=tmp_path / "api", workers=1, progress=False, figures=False)
    assert isinstance(tables["runs"], pd.DataFrame) and len(tables["runs"]) == 3
    assert tables["sensitivity"].empty and len(tables["points"]) == 3
    assert tables["runs"]["enforcement.officers"].between(2, 9).all()
    assert np.issubdtype(tables["runs"]["enforcement.officers"].dtype, np.integer)


# ------------------------------------------------------------------------------------------ bad designs
BAD = {
    "no sweep section": ("[parameters]\n\"enforcement.officers\" = [1, 2]\n", "sweep: missing [sweep]"),
    "unknown method": (design_text("tornado"), "sweep.method: must be one of"),
    "morris without samples": (design_text("morris", {"enforcement.officers": "{low = 1, high = 3}"}),
                               "sweep.samples: missing"),
    "sobol samples not a power of 2": (design_text("sobol", {"enforcement.officers": "{low = 1, high = 3}"},
                                                   samples=6), "sweep.samples: sobol needs a power of 2"),
    "unknown parameter": (design_text(params={"enforcement.oficers": "[1, 2]"}),
                          "parameters.enforcement.oficers: unknown scenario parameter"),
    "low not below high": (design_text("lhs", {"enforcement.officers": "{low = 5, high = 5}"}, samples=2),
                           "parameters.enforcement.officers: low must be below high"),
    "value fails the schema": (design_text(params={"enforcement.officers": "[2, -4]"}),
                               "parameters.enforcement.officers: value -4:"),
    "unknown policy": (design_text(params={"enforcement.policy": '["none", "carpet_bombing"]'}),
                       "parameters.enforcement.policy: value 'carpet_bombing':"),
    "range in a grid": (design_text(params={"enforcement.officers": "{low = 1, high = 3}"}),
                        "method grid needs a list of values"),
    "unknown sweep key": (design_text(extra="replicate = 3"), "sweep.replicate: unknown key"),
    "zero replicates": (design_text(replicates=0), "sweep.replicates: must be a whole number >= 1"),
    "bad toml": ("[sweep\nmethod = 1\n", "(toml):"),
    "empty parameters": (design_text().split("[parameters]")[0] + "[parameters]\n", "parameters: missing or empty"),
    "base scenario missing": (design_text().replace(str(BASE), "nowhere.toml"), "sweep.scenario:"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_design_exit_2_nothing_written(case, tmp_path, capsys):
    text, expected = BAD[case]
    p = tmp_path / "bad.toml"
    p.write_text(text)
    out = tmp_path / "never"
    assert main(["sweep", str(p), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert err.startswith(str(p)) or err.startswith("sweep:"), err
    assert not out.exists()


def test_not_utf8_design(tmp_path):
    p = tmp_path / "bin.toml"
    p.write_bytes(b"\xff\xfe\x00[sweep]")
    with pytest.raises(ScenarioError) as exc:
        load_design(p)
    assert "not UTF-8" in str(exc.value)


def test_grid_of_two_numeric_parameters_draws_heat_maps(tmp_path):
    import marketsim

    d = {"sweep": {"scenario": str(BASE), "method": "grid", "replicates": 1, "seed": 2, "steps": 2, "set": TINY},
         "parameters": {"enforcement.officers": [2, 6], "users.demand_mean": [1.0, 1.5],
                        "enforcement.policy": ["none", "aggressive_interdiction"]}}
    tables = marketsim.sweep(d, out=tmp_path / "hm", workers=1, progress=False)
    assert len(tables["points"]) == 8
    for f in ("heatmap.png", "heatmap.svg", "response.png"):
        assert (tmp_path / "hm" / "figures" / f).is_file(), f
    assert "figures/heatmap.svg" in (tmp_path / "hm" / "report.html").read_text()

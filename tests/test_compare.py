"""marketsim compare: replicated comparisons with common random numbers, on Dask.

Tiny worlds and few replicates: the whole file runs in well under two minutes on 2 cores.
"""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketsim import DrugMarketModel, ScenarioError, load_scenario
from marketsim.cli import main
from marketsim.experiments.compare import compare, run_replicate

ROOT = Path(__file__).resolve().parents[1]
SCEN = [str(ROOT / "scenarios" / f"{n}.toml") for n in ("baseline", "aggressive_interdiction", "targeted_deterrence")]
TINY = ["world.width=30", "world.height=30", "world.users=800", "world.dealers=40", "world.organizations=3",
        "world.hotspots=4", "world.district_size=10", "enforcement.officers=10", "world.steps=20",
        "world.mesa_user_agents=false"]
REPS = 3
SEED = 7


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "w1"
    res = compare(SCEN, replicates=REPS, workers=1, root_seed=SEED, overrides=TINY, out=out, progress=False,
                  return_result=True)
    return out, res


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """The same comparison through the command line, on a 2-process Dask LocalCluster."""
    out = tmp_path_factory.mktemp("cmp") / "w2"
    args = ["compare", *SCEN, "--replicates", str(REPS), "--workers", "2", "--seed", str(SEED), "--out", str(out),
            "--quiet"]
    for o in TINY:
        args += ["--set", o]
    assert main(args) == 0
    return out


def _sorted(df):
    return df.sort_values(["scenario", "replicate"] + (["step"] if "step" in df else [])).reset_index(drop=True)


def test_worker_count_does_not_change_results(one_worker, two_workers):
    out1, _ = one_worker
    for name in ("runs.parquet", "timeseries.parquet"):
        a = _sorted(pd.read_parquet(out1 / name))
        b = _sorted(pd.read_parquet(two_workers / name))
        pd.testing.assert_frame_equal(a, b)
    assert (out1 / "comparison.csv").read_bytes() == (two_workers / "comparison.csv").read_bytes()


def test_figures_are_deterministic(one_worker, two_workers):
    """Same input (1 vs 2 workers gives the same runs) -> byte-identical PNG and SVG files."""
    out1, _ = one_worker
    files = sorted(p.name for p in (out1 / "figures").iterdir())
    assert len(files) >= 2 * 10
    assert files == sorted(p.name for p in (two_workers / "figures").iterdir())
    for f in files:
        assert (out1 / "figures" / f).read_bytes() == (two_workers / "figures" / f).read_bytes(), f
    svg = (out1 / "figures" / "differences.svg").read_text()
    assert "<dc:date>" not in svg


def test_runs_table_and_common_random_numbers(one_worker):
    out, res = one_worker
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 3 * REPS
    assert list(runs["scenario"].unique()) == ["baseline", "aggressive_interdiction", "targeted_deterrence"]
    assert (runs["root_seed"] == SEED).all()
    assert (runs["spawn_key"] == runs["replicate"]).all()
    for col in ("homicides", "violent_incidents", "corrupted_officer_share", "hhi", "retail_price"):
        assert col in runs and runs[col].notna().any()
    # CRN: replicate r of every scenario starts from the identical world; replicates differ
    per_rep = runs.groupby("replicate")["initial_world_sha256"].nunique()
    assert (per_rep == 1).all()
    assert runs.loc[runs["scenario"] == "baseline", "initial_world_sha256"].nunique() == REPS
    # ... and it is the world SeedSequence(root, spawn_key=(r,)) builds
    sc = load_scenario(SCEN[2], TINY)
    fp = DrugMarketModel(sc, seed=np.random.SeedSequence(SEED, spawn_key=(1,))).initial_fingerprint
    assert fp == runs.loc[runs["replicate"] == 1, "initial_world_sha256"].iloc[0]
    # the policies do act: aggressive interdiction arrests more than no policy, in total over replicates
    tot = runs.groupby("scenario")["arrests"].sum()
    assert tot["aggressive_interdiction"] > tot["baseline"]
    # one run rebuilt alone from (scenario, root seed, replicate) gives the same row
    one = run_replicate(sc.model_dump(mode="json"), 2, 1, SEED)
    row = runs[(runs["scenario"] == "targeted_deterrence") & (runs["replicate"] == 1)].iloc[0]
    assert one["summary"]["violent_incidents"] == row["violent_incidents"]
    assert one["summary"]["retail_price"] == pytest.approx(row["retail_price"], rel=0, abs=0)


def test_timeseries_is_tidy(one_worker):
    out, _ = one_worker
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert list(ts.columns[:4]) == ["scenario", "scenario_index", "replicate", "step"]
    assert len(ts) == 3 * REPS * 20
    assert not ts.duplicated(["scenario", "replicate", "step"]).any()
    assert sorted(ts["step"].unique()) == list(range(1, 21))
    runs = pd.read_parquet(out / "runs.parquet")
    # run totals of counts are the sums of the weekly values
    tot = ts.groupby(["scenario", "replicate"])["arrests"].sum()
    r = runs.set_index(["scenario", "replicate"])["arrests"]
    assert (tot.reindex(r.index) == r).all()


def test_comparison_csv_matches_runs(one_worker):
    out, _ = one_worker
    runs = pd.read_parquet(out / "runs.parquet")
    cmp = pd.read_csv(out / "comparison.csv")
    row = cmp[(cmp["metric"] == "arrests") & (cmp["scenario"] == "aggressive_interdiction")].iloc[0]
    a = runs[runs["scenario"] == "aggressive_interdiction"].sort_values("replicate")["arrests"].to_numpy()
    b = runs[runs["scenario"] == "baseline"].sort_values("replicate")["arrests"].to_numpy()
    assert row["mean"] == pytest.approx(a.mean())
    assert row["diff"] == pytest.approx((a - b).mean())
    assert row["reference"] == "baseline" and row["kind"] == "count"
    assert row["diff_ci_low"] <= row["diff"] <= row["diff_ci_high"]
    ref = cmp[cmp["scenario"] == "baseline"]
    assert ref["diff"].isna().all()
    assert set(cmp["metric"]) >= {"homicides", "corrupted_officer_share", "hhi", "effective_organizations"}


def test_report_renders_and_references_existing_figures(one_worker):
    out, _ = one_worker
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    links = re.findall(r"\]\((figures/[^)]+)\)", md)
    assert len(images) >= 10
    for ref in set(images + links):
        assert (out / ref).is_file(), ref
    srcs = re.findall(r'(?:src|href)="(figures/[^"]+)"', html)
    assert len(srcs) >= 20
    for ref in srcs:
        assert (out / ref).is_file(), ref
    for name in ("timeseries_violence", "timeseries_corruption", "timeseries_concentration", "timeseries_market",
                 "distributions", "differences", "map_violence", "map_market", "map_territory", "adequacy"):
        assert f"figures/{name}.png" in md and f"figures/{name}.svg" in html
        assert (out / "figures" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for text in ("## Question", "## Scenarios", "enforcement.policy", f"{REPS} replicates", f"SeedSequence({SEED}",
                 "aggressive_interdiction − baseline", "## Provenance", "numpy", "mesa", "compare("):
        assert text in md, text
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html and "</html>" in html
    assert "identical initial world" in md
    # the provenance file and the resolved scenarios
    assert (out / "compare.json").is_file()
    assert sorted(p.name for p in (out / "scenarios").iterdir()) == [
        "aggressive_interdiction.toml", "baseline.toml", "targeted_deterrence.toml"]
    assert load_scenario(out / "scenarios" / "baseline.toml").world.width == 30


def test_cli_command_line_in_report(two_workers):
    md = (two_workers / "report.md").read_text()
    assert "marketsim compare" in md and "--workers 2" in md and f"--seed {SEED}" in md
    assert "Dask LocalCluster, 2 worker processes" in md


# ------------------------------------------------------------------------------------------ bad input
def _cli(args, tmp_path, capsys):
    out = tmp_path / "never"
    code = main(["compare", *args, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    return code, err, out


def test_unknown_scenario_file(tmp_path, capsys):
    code, err, out = _cli([SCEN[0], str(tmp_path / "nope.toml")], tmp_path, capsys)
    assert code == 2
    assert "nope.toml: (file): no such scenario file" in err
    assert not out.exists()


def test_zero_replicates_and_every_problem_at_once(tmp_path, capsys):
    code, err, out = _cli([SCEN[0], "missing.toml", "--replicates", "0", "--workers", "0", "--set", "world.usres=5"],
                          tmp_path, capsys)
    assert code == 2
    assert "compare: --replicates: must be a whole number >= 1 (got 0)" in err
    assert "compare: --workers:" in err
    assert "missing.toml: (file): no such scenario file" in err
    assert "--set: world.usres: unknown key" in err
    assert not out.exists()
    with pytest.raises(ScenarioError) as exc:
        compare(SCEN[:1], replicates=0, workers=1, out=tmp_path / "never2")
    assert "--replicates" in str(exc.value)
    assert not (tmp_path / "never2").exists()


def test_map_steps_beyond_the_run(tmp_path, capsys):
    code, err, out = _cli([SCEN[0], "--steps", "10", "--map-steps", "5,40", *sum((["--set", o] for o in TINY), [])],
                          tmp_path, capsys)
    assert code == 2 and "--map-steps" in err and not out.exists()


def _other_world(tmp_path) -> str:
    """Targeted deterrence in a city whose users want more (not touched by the TINY overrides)."""
    p = tmp_path / "richer_users.toml"
    p.write_text((ROOT / "scenarios" / "targeted_deterrence.toml").read_text().replace(
        'name = "targeted_deterrence"', 'name = "td_richer_users"') + "\n[users]\ndemand_mean = 2.0\n")
    return str(p)


def test_different_worlds_refused_on_request(tmp_path, capsys):
    """Scenarios whose worlds differ for the same seed: refused with --require-same-world, before any run."""
    other = _other_world(tmp_path)
    tiny = sum((["--set", o] for o in TINY), [])
    code, err, out = _cli([SCEN[0], other, "--require-same-world", "--replicates", "2", "--workers", "1", *tiny],
                          tmp_path, capsys)
    assert code == 2
    assert "initial world differs" in err and "users.demand_mean" in err
    assert not out.exists()


def test_different_worlds_accepted_with_a_warning(tmp_path, capsys):
    other = _other_world(tmp_path)
    out = tmp_path / "cmp"
    res = compare([SCEN[0], other], replicates=2, workers=1, root_seed=1, steps=6, overrides=TINY, out=out,
                  progress=False, return_result=True)
    assert "start from a different initial world" in capsys.readouterr().err
    runs = pd.read_parquet(out / "runs.parquet")
    assert (runs.groupby("replicate")["initial_world_sha256"].nunique() == 2).all()
    md = (out / "report.md").read_text()
    assert "**Warning:** td_richer_users started from a different initial world" in md
    assert "users.demand_mean" in md
    assert res.provenance["world_check"]["all_identical"] is False


def test_existing_scheduler_and_unique_task_keys(tmp_path):
    """--scheduler: runs go to a running Dask cluster, each task under its own key
    run-{scenario}-{replicate}-{token}; two identical comparisons get different tokens (Dask would
    otherwise merge identical submissions) and agree."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        outs = []
        for k in range(2):
            out = tmp_path / f"s{k}"
            compare(SCEN[:2], replicates=2, root_seed=3, steps=5, overrides=TINY, out=out,
                    scheduler=cluster.scheduler_address, figures=False, progress=False)
            outs.append(pd.read_parquet(out / "runs.parquet"))
        keys = {t.key for t in cluster.scheduler.transition_log
                if isinstance(t.key, str) and t.key.startswith("run-") and t.finish == "memory"}
    pd.testing.assert_frame_equal(outs[0], outs[1])
    assert len(outs[0]) == 4 and (outs[0]["steps"] == 5).all()
    parsed = [re.fullmatch(r"run-(\d+)-(\d+)-([0-9a-f]+)", k) for k in keys]
    assert all(parsed) and len(keys) == 8  # 2 comparisons x 2 scenarios x 2 replicates
    assert len({m.group(3) for m in parsed}) == 2
    assert {(m.group(1), m.group(2)) for m in parsed} == {("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")}
    md = (tmp_path / "s0" / "report.md").read_text()
    assert f"Dask scheduler {cluster.scheduler_address}" in md and "Figures were not drawn" in md

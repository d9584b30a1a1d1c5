"""The run store under ``compare``: resume after an interruption, failed runs, the lock."""

from pathlib import Path

import pandas as pd
import pytest

from marketsim.cli import main
from marketsim.experiments import compare as compare_mod
from marketsim.experiments.store import RunStore, StoreError, plan_runs, shard_slice
from marketsim.policies import registry

ROOT = Path(__file__).resolve().parents[1]
SCEN = [str(ROOT / "scenarios" / f"{n}.toml") for n in ("baseline", "targeted_deterrence")]
TINY = ["world.width=20", "world.height=20", "world.users=300", "world.dealers=20", "world.organizations=2",
        "world.hotspots=2", "world.district_size=10", "enforcement.officers=5", "world.burn_in=0", "world.steps=8",
        "world.mesa_user_agents=false"]
SETS = sum((["--set", o] for o in TINY), [])


def _args(out, *scen):
    return ["compare", *(scen or SCEN), "--replicates", "3", "--workers", "1", "--seed", "4", "--out", str(out),
            "--quiet", *SETS]


def _no_figures(*a, **k):
    return []


@pytest.fixture(autouse=True)
def no_figures(monkeypatch):
    """Figures are tested in test_compare.py; here they would only take time."""
    monkeypatch.setattr("marketsim.experiments.figures.make_all", _no_figures)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    out = tmp_path_factory.mktemp("store") / "full"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("marketsim.experiments.figures.make_all", _no_figures)
        assert main(_args(out)) == 0
    return out


def test_compare_resumes_after_ctrl_c(full, tmp_path, monkeypatch, capsys):
    real = compare_mod.run_replicate
    calls = {"n": 0}

    def interrupt(*a, **k):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(compare_mod, "run_replicate", interrupt)
    out = tmp_path / "cmp"
    assert main(_args(out)) == 130
    assert "resume with the same command" in capsys.readouterr().err
    done = {p.name: p.stat().st_mtime_ns for p in (out / "store" / "runs").glob("*.parquet")}
    assert len(done) == 3 and not (out / "runs.parquet").exists()
    monkeypatch.setattr(compare_mod, "run_replicate", real)
    assert main(_args(out)) == 0
    after = {p.name: p.stat().st_mtime_ns for p in (out / "store" / "runs").glob("*.parquet")}
    assert len(after) == 6 and all(after[k] == v for k, v in done.items())
    import json

    assert json.loads((out / "compare.json").read_text())["runs_computed_now"] == 3
    for name in ("runs.parquet", "timeseries.parquet", "comparison.csv", "adequacy.csv"):
        assert (out / name).read_bytes() == (full / name).read_bytes(), name


def test_compare_rerun_computes_nothing(full, capsys):
    import json

    assert main(_args(full)) == 0
    assert json.loads((full / "compare.json").read_text())["runs_computed_now"] == 0


def test_compare_failed_runs_recorded(tmp_path, monkeypatch, capsys):
    (tmp_path / "explplug2.py").write_text(
        "from marketsim.policies import Allocation, Policy, register\n"
        "@register('explodes2')\n"
        "class Explodes(Policy):\n"
        "    'Always raises.'\n"
        "    def allocate(self, obs):\n"
        "        raise RuntimeError('kaboom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    bad = tmp_path / "bad.toml"
    bad.write_text(Path(SCEN[0]).read_text().replace('name = "baseline"', 'name = "doomed"')
                   .replace('policy = "none"', 'policy = "explodes2"'))
    out = tmp_path / "cmp"
    try:
        code = main([*_args(out, SCEN[0], str(bad)), "--plugin", "explplug2"])
    finally:
        registry.pop("explodes2", None)
    err = capsys.readouterr().err
    assert code == 1 and "3 run(s) failed" in err and "kaboom" in err
    runs = pd.read_parquet(out / "runs.parquet")
    assert (runs[runs["scenario"] == "doomed"]["status"] == "failed").all()
    assert (runs[runs["scenario"] == "baseline"]["status"] == "ok").all()
    md = (out / "report.md").read_text()
    assert "3 of 6 runs failed" in md and "kaboom" in md


def test_manifest_of_another_plan_is_refused(full, capsys):
    code = main([*_args(full), "--steps", "5"])
    assert code == 2
    assert "holds another marketsim output" in capsys.readouterr().err


def test_lock_and_shard_slices(tmp_path):
    store = RunStore(tmp_path / "s")
    with store.locked():
        with pytest.raises(StoreError, match="another marketsim process"):
            with RunStore(tmp_path / "s").locked(shard=(0, 2)):
                pass
    with store.locked(shard=(0, 2)):
        with RunStore(tmp_path / "s").locked(shard=(1, 2)):  # two shards side by side
            pass
        with pytest.raises(StoreError):
            with RunStore(tmp_path / "s").locked(shard=(0, 2)):  # but not the same slice twice
                pass
    runs = plan_runs(5, 3)
    slices = [shard_slice(runs, i, 4) for i in range(4)]
    assert sorted(r.run_id for s in slices for r in s) == sorted(r.run_id for r in runs)
    assert max(map(len, slices)) - min(map(len, slices)) <= 1


def test_compare_shards_then_collect_equal_the_full_run(full, tmp_path, capsys):
    out = tmp_path / "sh"
    for i in range(2):
        assert main([*_args(out), "--shard", f"{i}/2"]) == 0
        assert not (out / "runs.parquet").exists()
    assert "runs in this slice" in capsys.readouterr().err
    assert main([*_args(out), "--collect"]) == 0
    for name in ("runs.parquet", "timeseries.parquet", "comparison.csv"):
        assert (out / name).read_bytes() == (full / name).read_bytes(), name

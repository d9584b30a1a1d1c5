"""marketsim patterns: every declared experiment runs in --quick mode and writes its row (verdicts are
findings, not asserted); the declarations are complete; output-folder and resume rules as compare."""

import json

import numpy as np
import pandas as pd
import pytest

from marketsim.cli import main
from marketsim.experiments import patterns as decl
from marketsim.experiments.patterns_run import COLUMNS, STATISTICS, arm_scenario, verdict

VERDICTS = {"reproduced", "missed", "inconclusive", "inconclusive (no estimate)"}


def test_declarations_are_complete():
    fams = decl.families()
    for p in ("P1", "P2", "P3", "P5", "P8", "P9", "P10", "P11"):
        assert p in fams
    for t in decl.PATTERNS:
        assert t.statistic in STATISTICS, t.pattern
        assert t.claim and t.source and t.criterion and t.experiment
        assert t.rule[0] in ("above", "below", "within")
        assert t.arms and all(a in decl.ARMS for a in t.arms), t.pattern
        for key in ("arm", "ref"):
            if key in t.params:
                assert t.params[key] in t.arms, (t.pattern, key)
        for a in t.params.get("arms", []):
            assert a in t.arms, (t.pattern, a)


def test_arm_scenarios_scale_the_mode_value():
    base = arm_scenario("aggressive", "quick")
    x4 = arm_scenario("aggressive_officers_x4", "quick")
    assert base.enforcement.policy == x4.enforcement.policy == "aggressive_interdiction"
    assert x4.enforcement.officers == 4 * base.enforcement.officers
    assert arm_scenario("baseline_interdiction_x2", "full").enforcement.interdiction_capacity == pytest.approx(
        2 * arm_scenario("baseline", "full").enforcement.interdiction_capacity)


def test_verdict_rules():
    assert verdict(("above", 0.0), 0.1, 0.5) == "reproduced"
    assert verdict(("above", 0.0), -0.5, -0.1) == "missed"
    assert verdict(("above", 0.0), -0.1, 0.5) == "inconclusive"
    assert verdict(("below", 0.1), -0.3, 0.05) == "reproduced"
    assert verdict(("below", 0.1), 0.2, 0.3) == "missed"
    assert verdict(("within", -0.2, 0.2), -0.1, 0.1) == "reproduced"
    assert verdict(("within", -0.2, 0.2), 0.25, 0.4) == "missed"
    assert verdict(("within", -0.2, 0.2), 0.1, 0.4) == "inconclusive"
    assert verdict(("above", 0.0), float("nan"), float("nan")).startswith("inconclusive")


def test_quick_runs_every_experiment_and_writes_its_row(tmp_path, capsys):
    out = tmp_path / "pat"
    rc = main(["patterns", "--quick", "--workers", "1", "--quiet", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    table = pd.read_csv(out / "patterns.csv")
    assert list(table.columns) == COLUMNS
    assert list(table["pattern"]) == [t.pattern for t in decl.PATTERNS]
    assert set(table["verdict"]) <= VERDICTS
    # every estimate that exists lies inside its CI
    est = table.dropna(subset=["ci_low", "ci_high"])
    assert len(est) >= len(table) // 2
    assert ((est["ci_low"] <= est["measured"] + 1e-12) & (est["measured"] <= est["ci_high"] + 1e-12)).all()
    for fam in decl.families():
        assert (out / "figures" / f"{fam}.png").stat().st_size > 1000
    md = (out / "patterns.md").read_text()
    assert all(f"| {t.pattern} |" in md for t in decl.PATTERNS)
    prov = json.loads((out / "patterns.json").read_text())
    n_arms = len({a for t in decl.PATTERNS for a in t.arms})
    assert prov["runs_planned"] == n_arms * 2 and prov["runs_computed_now"] == n_arms * 2
    # each run kept its per-district part (RunResult.districts) in the store
    parts = sorted((out / "store" / "districts").glob("*.parquet"))
    assert len(parts) == n_arms * 2
    d = pd.read_parquet(parts[0])
    assert {"step", "district", "violent_incidents", "quantity_sold", "officers"} <= set(d.columns)
    assert d["district"].nunique() == 16  # 20x20 cells in districts of 5x5

    # the same command resumes: nothing recomputed, the same table
    rc = main(["patterns", "--quick", "--workers", "1", "--quiet", "--out", str(out)])
    assert rc == 0
    assert json.loads((out / "patterns.json").read_text())["runs_computed_now"] == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "patterns.csv"), table)


def test_only_selects_families_and_rejects_unknown(tmp_path, capsys):
    out = tmp_path / "p2"
    rc = main(["patterns", "--quick", "--only", "P2,P10", "--workers", "1", "--quiet", "--out", str(out)])
    assert rc == 0
    table = pd.read_csv(out / "patterns.csv")
    assert list(table["pattern"]) == ["P2", "P10a", "P10b"]
    assert np.isfinite(table["measured"].iloc[1])
    assert main(["patterns", "--quick", "--only", "P4", "--out", str(tmp_path / "x")]) == 2
    assert "unknown pattern(s) P4" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_refuses_a_folder_it_does_not_own(tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert main(["patterns", "--quick", "--only", "P2", "--workers", "1", "--out", str(foreign)]) == 2
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


def test_a_failed_run_makes_its_rows_could_not_run_and_exit_1(tmp_path, monkeypatch, capsys):
    from marketsim.experiments import patterns_run

    real = patterns_run.run_arm

    def flaky(scenario, *args):
        if scenario["enforcement"]["policy"] == "kingpin":
            raise RuntimeError("boom")
        return real(scenario, *args)

    monkeypatch.setattr(patterns_run, "run_arm", flaky)
    out = tmp_path / "f"
    rc = main(["patterns", "--quick", "--only", "P3,P10", "--workers", "1", "--quiet", "--out", str(out)])
    assert rc == 1
    assert "could not run" in capsys.readouterr().err
    table = pd.read_csv(out / "patterns.csv").set_index("pattern")
    assert all(table.loc[p, "verdict"].startswith("could not run") for p in ("P3a", "P3b", "P3c"))
    assert not table.loc["P10a", "verdict"].startswith("could not run")
    assert len(list((out / "store" / "failed").glob("*.txt"))) == 2

"""marketsim patterns: every declared experiment runs in --quick mode and writes its row (verdicts are
findings, not asserted); the declarations are complete; output-folder and resume rules as compare."""

import json

import numpy as np
import pandas as pd
import pytest

from marketsim.cli import main
from marketsim.experiments import patterns as decl
from marketsim.experiments.patterns_run import (
    COLUMNS,
    STATISTICS,
    arm_scenario,
    org_events,
    verdict,
)
from marketsim.model import ORG_COLUMNS, DrugMarketModel
from marketsim.scenario import parse_scenario

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
    # and its per-organisation part (model.organizations_table)
    parts = sorted((out / "store" / "organizations").glob("*.parquet"))
    assert len(parts) == n_arms * 2
    o = pd.read_parquet(parts[0])
    assert list(o.columns) == ORG_COLUMNS
    assert o["step"].min() == 1 and o["org"].nunique() >= 1
    # P11's shock arms arrested members of one organisation in the shock week, the no-shock arm none
    runs = pd.concat([pd.read_parquet(p) for p in (out / "store" / "runs").glob("*.parquet")])
    for label, sc in prov["arms"].items():
        rid = runs.loc[(runs["arm"] == label) & (runs["replicate"] == 0), "run_id"].iloc[0]
        o = pd.read_parquet(out / "store" / "organizations" / f"{rid}.parquet")
        shocked = o[o["shock_arrests"] > 0]
        if sc["shock"]["arrest_share"] > 0:
            assert len(shocked) == 1 and shocked["step"].iloc[0] == sc["shock"]["week"], label
        else:
            assert shocked.empty, label

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
    assert list(table["pattern"]) == ["P2a", "P2b", "P10a", "P10b"]
    assert np.isfinite(table["measured"].iloc[2])
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


# ---------------------------------------------------------------- P2: the organisation record
def _org_table(rows):
    cols = {c: [] for c in ORG_COLUMNS}
    for r in rows:
        full = {"parent": -1, "slot": 0, "members": 5, "street": 5, "district": 0, "quantity_sold": 1.0,
                "incidents_committed": 0, "incidents_suffered": 0, "homicides": 0, "shock_arrests": 0,
                "leader_removed": 0, "removal": "", **r}
        for c in ORG_COLUMNS:
            cols[c].append(full[c])
    return pd.DataFrame(cols)


def test_org_event_study_windows_factions_and_neighbours():
    """A removal at week 10 in org 1 (5 members): 1 incident a week before, 2 after in org 1 and in
    the faction 7 that split from it; org 2 shares its district (a neighbour, 1 before, 3 after);
    org 3 elsewhere; org 4 is a lone seller whose removal is not an event; a removal too close to
    the end of the run is left out."""
    rows = []
    for t in range(1, 31):
        rows.append({"step": t, "org": 1, "incidents_committed": 1 if t < 10 else 2 if t > 10 else 9,
                     "leader_removed": int(t in (10, 28)), "removal": "arrest" if t in (10, 28) else ""})
        if t >= 10:
            rows.append({"step": t, "org": 7, "parent": 1, "incidents_suffered": 0 if t == 10 else 2})
        rows.append({"step": t, "org": 2, "incidents_suffered": 1 if t < 10 else 3})
        rows.append({"step": t, "org": 3, "district": 5, "incidents_committed": 4})
        rows.append({"step": t, "org": 4, "members": 1, "district": 5, "leader_removed": int(t == 15),
                     "removal": "killed" if t == 15 else "", "incidents_committed": 1 if t < 15 else 5})
    ev = org_events(_org_table(rows), 8, 8, 2, ["incidents_committed", "incidents_suffered"])
    assert len(ev) == 1 and ev[0]["step"] == 10 and ev[0]["org"] == 1 and ev[0]["removal"] == "arrest"
    own, neigh = ev[0]["own"], ev[0]["neighbours"]
    assert list(own[:8]) == [1.0] * 8 and own[8] == 9.0 and list(own[9:]) == [4.0] * 8  # with faction 7
    assert list(neigh[:8]) == [1.0] * 8 and list(neigh[9:]) == [3.0] * 8 and ev[0]["n_neighbours"] == 1
    # the statistic: sum after / sum before - 1, the removal week left out
    assert own[9:].sum() / own[:8].sum() - 1 == pytest.approx(3.0)

    # the row's statistic: per replicate, events of every arm pooled
    class Runs:
        mode, replicates = "full", 2

        def organizations(self, arm, r):
            return _org_table(rows) if arm == "a" or r == 0 else _org_table(rows[:0])

    params = {"arms": ["a", "b"], "pre": 8, "post": 8, "min_members": 2,
              "metrics": ["incidents_committed", "incidents_suffered"]}
    vals, extra = STATISTICS["org_event_study"](Runs(), {**params, "who": "organisation"})
    assert vals == pytest.approx([3.0, 3.0]) and extra["events"] == 3
    vals, _ = STATISTICS["org_event_study"](Runs(), {**params, "who": "neighbours"})
    assert vals == pytest.approx([2.0, 2.0])
    vals, _ = STATISTICS["org_event_study"](Runs(), {**params, "who": "organisation", "include_event_week": True})
    assert vals == pytest.approx([(32 + 9) / 8 - 1] * 2)


def test_organizations_table_adds_up_to_the_city_record():
    """The per-organisation record is the city's, split by organisation: incidents committed add up to
    violent incidents, incidents suffered to turf and succession incidents, removals of groups of 3+
    are among the removals recorded; the default outputs are unchanged by keeping it."""
    sc = parse_scenario({}, overrides=["world.width=40", "world.height=40", "world.users=3000", "world.dealers=120",
                                       "world.organizations=4", "enforcement.officers=30", "world.steps=60",
                                       "world.torus=true", "world.burn_in=10", "enforcement.policy=kingpin"])
    m = DrugMarketModel(sc, seed=3)
    m.run()
    ts = m.timeseries().set_index("step")
    o = m.organizations_table()
    assert list(o.columns) == ORG_COLUMNS
    g = o.groupby("step")[["incidents_committed", "incidents_suffered", "homicides"]].sum().reindex(ts.index,
                                                                                                   fill_value=0)
    assert ts["violent_incidents"].sum() > 0
    assert np.array_equal(g["incidents_committed"].to_numpy(), ts["violent_incidents"].to_numpy())
    assert np.array_equal(g["incidents_suffered"].to_numpy(),
                          (ts["violence_turf"] + ts["violence_succession"]).to_numpy())
    # a death between two organisations is party to both; within one, once
    deaths = (ts["homicides"] - ts["officers_killed"]).sum()
    assert deaths <= g["homicides"].sum() <= 2 * deaths
    assert (o["leader_removed"] == 1).sum() >= ts["leader_removals"].sum() > 0
    assert set(o.loc[o["leader_removed"] == 1, "removal"]) <= {"arrest", "killed", "other"}
    assert (o.loc[o["leader_removed"] == 0, "removal"] == "").all()


# ---------------------------------------------------------------- P11: the arrest operation
def test_shock_arrests_a_share_of_the_largest_organisation_and_nothing_before():
    base = ["world.width=30", "world.height=30", "world.users=900", "world.dealers=45", "world.organizations=3",
            "world.steps=12", "world.burn_in=10", "world.mesa_user_agents=false", "shock.week=5"]
    ref = DrugMarketModel(parse_scenario({}, overrides=base), seed=2)
    ref.run(4)
    s = ref.state
    members = np.where((s.o_active == 1) & (s.o_members >= 2), s.o_members, -1)
    a = DrugMarketModel(parse_scenario({}, overrides=[*base, "shock.arrest_share=0.4"]), seed=2)
    a.run()
    ref.run(8)
    rec = a.shock_record
    assert rec["step"] == 5 and rec["org"] == int(s.o_uid[np.argmax(members)])
    assert rec["arrested"] == max(1, round(0.4 * rec["street_before"]))
    # common random numbers: identical up to the shock's week, the shock's arrests in that week
    ta, tr = a.timeseries(), ref.timeseries()
    pd.testing.assert_frame_equal(ta.iloc[:4], tr.iloc[:4])
    assert ta["arrests"].iloc[4] >= rec["arrested"]
    oa = a.organizations_table()
    assert oa.loc[oa["shock_arrests"] > 0, ["step", "org", "shock_arrests"]].values.tolist() == \
        [[5, rec["org"], rec["arrested"]]]
    assert (ref.organizations_table()["shock_arrests"] == 0).all()
    sb, mb = a.stock_balance(), a.money_balance()  # the operation's seizures are in the ledgers
    assert sb["imported"] == pytest.approx(sb["seized"] + sb["sold"] + sb["held"], rel=1e-9)
    assert mb["cash"] == pytest.approx(mb["expected"], rel=1e-9)
    # off by default; a shock after the run is refused
    assert parse_scenario({}).shock.arrest_share == 0.0


def test_shock_bad_input_exits_2(tmp_path, capsys):
    for bad in (["shock.arrest_share=0.1", "shock.week=999", "world.steps=10"], ["shock.arrest_share=1.5"],
                ["shock.week=0"], ['shock.target="smallest"']):
        args = ["run", "scenarios/baseline.toml", "--quiet", "--out", str(tmp_path / "x")]
        for b in bad:
            args += ["--set", b]
        assert main(args) == 2, bad
        assert "shock." in capsys.readouterr().err
    assert not (tmp_path / "x").exists()

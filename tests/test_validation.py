"""Bad input: exit 2, every problem named as FILE: dotted.path: message, nothing written."""

from pathlib import Path

import pytest

from marketsim.cli import main
from marketsim.scenario import ScenarioError, load_scenario, parse_scenario

BASE = Path("scenarios/baseline.toml")


def _run_cli(args, capsys):
    rc = main(args)
    err = capsys.readouterr().err
    return rc, err


def _write(tmp_path, text, name="bad.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_valid_scenarios_validate(capsys):
    for f in Path("scenarios").glob("*.toml"):
        rc, err = _run_cli(["validate", str(f)], capsys)
        assert rc == 0, err


def test_malformed_toml_reports_line_and_column(tmp_path, capsys):
    p = _write(tmp_path, "[world]\nusers = 100\nwidth = = 3\n")
    rc, err = _run_cli(["validate", str(p)], capsys)
    assert rc == 2
    assert f"{p}:" in err and "line 3" in err and "column" in err


def test_misspelt_key_and_negative_officers_both_named(tmp_path, capsys):
    p = _write(tmp_path, "[world]\nuserz = 100\n[enforcement]\nofficers = -5\n")
    rc, err = _run_cli(["validate", str(p)], capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert any(line.startswith(f"{p}: world.userz: ") for line in lines)
    assert any(line.startswith(f"{p}: enforcement.officers: ") for line in lines)
    assert len(lines) == 2


def test_wrong_type_out_of_range_and_unknown_policy(tmp_path, capsys):
    p = _write(tmp_path, '[world]\nusers = "many"\n[users]\nelasticity_mean = 0.7\n[enforcement]\npolicy = "nuke"\n')
    rc, err = _run_cli(["validate", str(p)], capsys)
    assert rc == 2
    assert f"{p}: world.users: " in err
    assert f"{p}: users.elasticity_mean: " in err
    assert f"{p}: enforcement.policy: unknown policy 'nuke'" in err


def test_impossible_combination(tmp_path, capsys):
    p = _write(tmp_path, "[world]\nwidth = 10\nheight = 10\ndealers = 500\n")
    rc, err = _run_cli(["validate", str(p)], capsys)
    assert rc == 2
    assert f"{p}: world.dealers: 500 dealers cannot fit on 100 cells" in err


def test_unknown_section(tmp_path, capsys):
    p = _write(tmp_path, "[wrld]\nusers = 3\n")
    rc, err = _run_cli(["validate", str(p)], capsys)
    assert rc == 2 and f"{p}: wrld: unknown key" in err


def test_missing_file(capsys):
    rc, err = _run_cli(["validate", "no/such.toml"], capsys)
    assert rc == 2 and "no/such.toml" in err


@pytest.mark.parametrize("override, field", [
    ("world.userz=3", "world.userz: unknown key"),
    ("enforcement.officers=abc", "enforcement.officers:"),
    ("world=3", "world: unknown key"),
    ("world.users", "expected dotted.key=value"),
    ("enforcement.policy=bogus", "enforcement.policy: unknown policy"),
    ("world.steps=0", "world.steps:"),
])
def test_bad_set_writes_nothing(tmp_path, capsys, override, field):
    out = tmp_path / "out"
    rc, err = _run_cli(["run", str(BASE), "--set", override, "--out", str(out), "--quiet"], capsys)
    assert rc == 2
    assert field in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary files either


def test_bad_seed_and_steps_flags(tmp_path, capsys):
    out = tmp_path / "o"
    rc, err = _run_cli(["run", str(BASE), "--seed", "-1", "--out", str(out)], capsys)
    assert rc == 2 and "seed:" in err and not out.exists()
    rc, err = _run_cli(["run", str(BASE), "--steps", "x", "--out", str(out)], capsys)
    assert rc == 2 and not out.exists()


def test_all_problems_listed_at_once():
    with pytest.raises(ScenarioError) as exc:
        parse_scenario({"world": {"users": -1, "width": 2}, "market": {"move_prob": 3}}, source="s.toml",
                       overrides=["nope.x=1"])
    probs = exc.value.problems
    assert "--set: nope.x: unknown key" in probs
    assert any(p.startswith("s.toml: world.users:") for p in probs)
    assert any(p.startswith("s.toml: world.width:") for p in probs)
    assert any(p.startswith("s.toml: market.move_prob:") for p in probs)


def test_overrides_apply():
    sc = load_scenario(BASE, ["world.users=20000", "enforcement.policy=aggressive_interdiction",
                              "world.torus=true", "supply.import_volume=1e4"])
    assert sc.world.users == 20000 and sc.enforcement.policy == "aggressive_interdiction"
    assert sc.world.torus is True and sc.supply.import_volume == 1e4


def test_shipped_scenarios_differ_only_in_policy():
    dumps = {f.stem: load_scenario(f).model_dump() for f in Path("scenarios").glob("*.toml")}
    assert {"baseline", "aggressive_interdiction", "targeted_deterrence"} <= set(dumps)
    ref = dumps["baseline"]
    for name, d in dumps.items():
        for section in ref:
            if section in ("name", "description"):
                continue
            if section == "enforcement":
                a = {k: v for k, v in d[section].items() if k != "policy"}
                b = {k: v for k, v in ref[section].items() if k != "policy"}
                assert a == b, name
            else:
                assert d[section] == ref[section], (name, section)

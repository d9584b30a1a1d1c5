"""Output folders: marketsim writes only into folders it owns and never deletes what it did not write.

One test per data-destroying reproduction of issue 10 (compare --out into a folder with user files;
--out . from a repository root; --out ''; run --out ~; run --out EXISTING_FILE), plus --overwrite,
stale temporary folders, parents of a failed write and default-name sanitising. Every refusal comes
before any run, so these tests are fast.
"""

import shutil
from pathlib import Path

import pytest

from marketsim.cli import main
from marketsim.outdir import MARKER, safe_name

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "baseline.toml"
TD = ROOT / "scenarios" / "targeted_deterrence.toml"
TINY = ["world.width=20", "world.height=20", "world.users=300", "world.dealers=20", "world.organizations=2",
        "world.hotspots=2", "world.district_size=10", "enforcement.officers=5", "world.burn_in=0", "world.steps=3",
        "world.mesa_user_agents=false"]
SETS = sum((["--set", o] for o in TINY), [])


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def no_figures(monkeypatch):
    monkeypatch.setattr("marketsim.experiments.figures.make_all", lambda *a, **k: [])


def test_compare_into_a_folder_with_user_files_is_refused(tmp_path, capsys):
    out = tmp_path / "results"
    (out / "figures").mkdir(parents=True)
    (out / "scenarios").mkdir()
    (out / "report.html").write_text("my report")
    (out / "figures" / "my_plot.png").write_bytes(b"png")
    (out / "scenarios" / "my_precious.toml").write_text("x = 1")
    before = snapshot(out)
    code = main(["compare", str(BASE), str(TD), "--replicates", "1", "--workers", "1", "--out", str(out), "--quiet",
                 *SETS])
    assert code == 2
    err = capsys.readouterr().err
    assert str(out) in err and "not empty and was not made by marketsim" in err
    assert snapshot(out) == before


def test_out_dot_from_a_repository_root_is_refused(tmp_path, monkeypatch, capsys):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "scenarios").mkdir()
    for f in ("baseline.toml", "targeted_deterrence.toml", "aggressive_interdiction.toml"):
        shutil.copy(ROOT / "scenarios" / f, repo / "scenarios" / f)
    before = snapshot(repo)
    monkeypatch.chdir(repo)
    for out in (".", "..", str(repo), "scenarios"):
        code = main(["compare", "scenarios/baseline.toml", "scenarios/targeted_deterrence.toml", "--out", out,
                     "--steps", "3", "--workers", "1", "--quiet"])
        assert code == 2, out
        assert "--out" in capsys.readouterr().err
    assert snapshot(repo) == before


def test_empty_out_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["run", str(BASE), "--out", "", "--quiet", *SETS]) == 2
    assert "empty folder name" in capsys.readouterr().err
    assert main(["compare", str(BASE), "--out", "", "--workers", "1", "--quiet", *SETS]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_run_out_home_is_refused(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("# mine")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(BASE), "--out", str(home), "--quiet", *SETS]) == 2
    assert "the home folder" in capsys.readouterr().err
    assert sorted(p.name for p in home.iterdir()) == [".bashrc"]


def test_run_out_existing_file_is_refused_before_the_run(tmp_path, capsys):
    f = tmp_path / "notes.txt"
    f.write_text("precious")
    assert main(["run", str(BASE), "--out", str(f), "--quiet", *SETS]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert f.read_text() == "precious"


def test_overwrite_replaces_only_what_marketsim_wrote(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", str(BASE), "--out", str(out), "--quiet", *SETS]) == 0
    marker = (out / MARKER).read_text()
    assert "marketsim run" in marker and "summary.json" in marker
    (out / "my_notes.txt").write_text("mine")
    # the same command again rewrites its own files; another one needs --overwrite
    assert main(["run", str(BASE), "--out", str(out), "--quiet", *SETS]) == 0
    assert main(["run", str(TD), "--out", str(out), "--quiet", *SETS]) == 2
    assert "use --overwrite" in capsys.readouterr().err
    assert main(["run", str(TD), "--out", str(out), "--quiet", "--overwrite", *SETS]) == 0
    assert (out / "my_notes.txt").read_text() == "mine"
    assert "targeted_deterrence" in (out / "scenario.toml").read_text()


def test_compare_overwrite_keeps_user_files(tmp_path, no_figures, capsys):
    out = tmp_path / "cmp"
    args = ["compare", str(BASE), "--replicates", "1", "--workers", "1", "--out", str(out), "--quiet", *SETS]
    assert main(args) == 0
    (out / "scenarios" / "mine.toml").write_text("x = 1")
    assert main([*args, "--seed", "9"]) == 2  # another plan
    assert main([*args, "--seed", "9", "--overwrite"]) == 0
    assert (out / "scenarios" / "mine.toml").read_text() == "x = 1"
    assert (out / "runs.parquet").is_file() and len(list((out / "store" / "runs").iterdir())) == 1


def test_stale_temporary_folders_are_cleaned(tmp_path, no_figures, capsys):
    out = tmp_path / "cmp"
    args = ["compare", str(BASE), "--replicates", "1", "--workers", "1", "--out", str(out), "--quiet", *SETS]
    assert main(args) == 0
    stale = [tmp_path / ".cmp.k1ll3d.tmp", out / "store" / "runs" / ".p000000-r0001.parquet.x7y8z9.tmp"]
    stale[0].mkdir()
    (stale[0] / "runs.parquet").write_bytes(b"half")
    stale[1].write_bytes(b"half")
    assert main(args) == 0
    assert not any(p.exists() for p in stale)
    assert "stale temporary" in capsys.readouterr().err


def test_failed_run_leaves_no_new_parent_folders(tmp_path, monkeypatch):
    import marketsim.runner as runner

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runner, "write_run", boom)
    out = tmp_path / "a" / "b" / "c"
    with pytest.raises(RuntimeError):
        main(["run", str(BASE), "--out", str(out), "--quiet", *SETS])
    assert not (tmp_path / "a").exists()


def test_default_names_are_sanitised():
    assert safe_name("../../escape") == "____escape"
    assert "/" not in safe_name("a/b") and ".." not in safe_name("x/../..")
    assert safe_name("..") == "_" and safe_name("") == "scenario"
    assert safe_name("baseline") == "baseline"

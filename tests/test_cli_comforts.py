"""CLI comforts: --version, CSV copies beside the Parquet tables of `marketsim run`."""

import pandas as pd

from marketsim import __version__
from marketsim.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"marketsim {__version__}"


def test_run_writes_csv_beside_parquet(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "scenarios/baseline.toml", "--steps", "3", "--quiet", "--out", str(out),
                 "--set", "world.width=30", "--set", "world.height=30", "--set", "world.users=600",
                 "--set", "world.dealers=30", "--set", "world.burn_in=2"]) == 0
    pq = pd.read_parquet(out / "timeseries.parquet")
    csv = pd.read_csv(out / "timeseries.csv")
    assert list(csv.columns) == list(pq.columns) and len(csv) == len(pq) == 3
    pd.testing.assert_frame_equal(csv, pq, check_dtype=False)

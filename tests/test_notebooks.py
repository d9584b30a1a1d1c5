"""The notebooks (jupytext py:percent files) run top to bottom on a small world."""

import os
import runpy
from pathlib import Path

import pytest


@pytest.mark.parametrize("path", sorted(Path("notebooks").glob("*.py")))
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("MARKETSIM_NB_SMALL", "1")
    import matplotlib

    matplotlib.use("Agg")
    ns = runpy.run_path(str(path), run_name="__main__")
    assert "runs" in ns and len(ns["runs"]) == 3
    assert os.environ["MARKETSIM_NB_SMALL"] == "1"
    assert ns["summary"].shape[1] == 3

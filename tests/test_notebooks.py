"""The notebooks open and run in Jupyter: every notebooks/*.ipynb is executed by a Jupyter
kernel from the notebooks/ folder (as Jupyter runs it; nbclient, what nbmake uses), small
(MARKETSIM_NB_SMALL=1), with the default matplotlib backend, and must show its figures inline.
The .ipynb files are stored without outputs and paired with jupytext py:percent files.

Same check by hand: `MARKETSIM_NB_SMALL=1 .venv/bin/pytest --nbmake notebooks/`.
"""

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
IPYNB = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_at_least_three_paired_notebooks():
    assert len(IPYNB) >= 3
    for nb in IPYNB:
        assert nb.with_suffix(".py").exists(), f"{nb.name} has no py:percent twin"


@pytest.mark.parametrize("path", IPYNB, ids=lambda p: p.name)
def test_notebook_in_sync_and_stripped(path):
    jupytext = pytest.importorskip("jupytext", reason="the [notebooks] extra is not installed")
    nb = jupytext.read(path)
    py = jupytext.read(path.with_suffix(".py"))
    assert [(c.cell_type, c.source) for c in nb.cells] == [(c.cell_type, c.source) for c in py.cells], \
        f"{path.name} and its .py differ: run `jupytext --sync {path.with_suffix('.py')}`"
    assert nb.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path.name}: strip outputs"


@pytest.mark.parametrize("path", IPYNB, ids=lambda p: p.name)
def test_notebook_runs_from_its_folder(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="the [notebooks] extra is not installed")
    nbclient = pytest.importorskip("nbclient", reason="the [notebooks] extra is not installed")
    monkeypatch.setenv("MARKETSIM_NB_SMALL", "1")
    monkeypatch.setenv("MARKETSIM_NB_OUT", str(tmp_path))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)  # figures must show without a display
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError with the traceback if any cell fails
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name}: no figure shown inline"

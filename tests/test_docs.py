"""The generated parameter reference must match the code, so the docs cannot go stale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel

from marketsim.docgen import main, parameter_keys, render_parameters
from marketsim.metrics import COLUMNS
from marketsim.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
PARAMETERS = ROOT / "docs" / "parameters.md"
STALE = "docs/parameters.md is stale: run `python -m marketsim.docgen` and commit the result"


def _first_column_keys(text: str) -> list[str]:
    """The backticked first cell of every table row."""
    return [line.split("`")[1] for line in text.splitlines() if line.startswith("| `")]


def test_parameters_doc_matches_the_code():
    assert PARAMETERS.read_text(encoding="utf-8") == render_parameters(), STALE


def test_every_scenario_field_is_documented():
    keys = set(_first_column_keys(PARAMETERS.read_text(encoding="utf-8")))
    expected = []
    for name, field in Scenario.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            expected += [f"{name}.{sub}" for sub in section.model_fields]
        else:
            expected.append(name)
    assert len(expected) > 60  # every section, not just the top level
    assert sorted(expected) == sorted(parameter_keys())
    missing = [k for k in expected if k not in keys]
    assert not missing, f"undocumented scenario keys {missing}; {STALE}"


def test_every_timeseries_column_is_documented():
    keys = set(_first_column_keys(PARAMETERS.read_text(encoding="utf-8")))
    missing = [c for c in COLUMNS if c not in keys]
    assert not missing, f"undocumented timeseries columns {missing}; {STALE}"


def test_check_mode_exit_codes(tmp_path, capsys):
    out = tmp_path / "parameters.md"
    assert main(["--check", "--output", str(out)]) == 1  # missing
    assert main(["--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render_parameters()
    assert main(["--check", "--output", str(out)]) == 0
    out.write_text(render_parameters() + "edited by hand\n", encoding="utf-8")
    assert main(["--check", "--output", str(out)]) == 1


def test_module_check_passes_on_the_committed_file():
    proc = subprocess.run([sys.executable, "-m", "marketsim.docgen", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

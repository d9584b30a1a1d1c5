"""The comparison report answers the question: summary first, every pair, in-range intervals,
dynamics, descriptions from the resolved scenario, a self-contained report.html."""

import base64
import re

import numpy as np
import pandas as pd
import pytest

from marketsim import load_scenario
from marketsim.experiments import report
from marketsim.experiments.compare import compare
from marketsim.experiments.stats import pair_order, pairwise_table, range_respecting_ci

TINY = ["world.width=20", "world.height=20", "world.users=400", "world.dealers=20", "world.organizations=3",
        "enforcement.officers=6", "world.burn_in=4", "world.district_size=5"]


def test_range_respecting_interval_stays_non_negative():
    rare = [0, 0, 0, 0, 9, 0, 0, 0]  # a t interval goes below zero here
    r = range_respecting_ci(rare)
    assert r["method"] == "bootstrap" and r["ci_low"] >= 0 and r["ci_high"] <= 9
    assert range_respecting_ci([-1.0, 2.0, 3.0])["method"] == "t"


def test_every_pair_with_td_minus_ai_first():
    assert pair_order(["baseline", "ai", "td"]) == [("td", "ai"), ("ai", "baseline"), ("td", "baseline")]
    runs = pd.DataFrame({"scenario": ["a"] * 4 + ["b"] * 4 + ["c"] * 4, "replicate": list(range(4)) * 3,
                         "x": [0, 0, 0, 0, 5, 6, 7, 8, 1, 1, 2, 2]})
    t = pairwise_table(runs, ["x"]).set_index(["a", "b"])
    assert t.loc[("c", "b"), "diff"] == pytest.approx(-5.0)
    assert np.isnan(t.loc[("b", "a"), "diff_pct"])  # reference is zero: no percentage
    assert t.loc[("c", "b"), "diff_pct"] == pytest.approx(-100 * 5 / 6.5)


def test_description_follows_overrides():
    sc = load_scenario("scenarios/baseline.toml", ["enforcement.officers=150", "world.steps=12"])
    text = report.describe(sc)
    assert "150 officers" in text and "12 weeks" in text and "100 officers" not in text


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "cmp"
    compare(["scenarios/baseline.toml", "scenarios/aggressive_interdiction.toml",
             "scenarios/targeted_deterrence.toml"], replicates=3, workers=1, steps=60, overrides=TINY,
            out=out, progress=False, figures=False)  # figures: tests/test_compare.py (slow to draw)
    return out


def test_report_summary_pairs_dynamics_and_embedded_figures(tiny_report):
    md = (tiny_report / "report.md").read_text()
    html = (tiny_report / "report.html").read_text()
    # warning and plain-language summary before anything else
    assert md.index("Warning: only 3 replicates") < md.index("## In short") < md.index("## Question")
    assert "**targeted_deterrence** compared with **aggressive_interdiction**" in md
    # a table of every pair (TD - AI first)
    assert "| metric | targeted_deterrence − aggressive_interdiction | aggressive_interdiction − baseline |" in md
    # dynamics: yearly values and peaks for violence and corruption
    assert "year 1" in md and "year 2 (weeks 53–60)" in md and "peak 13-week mean" in md
    # descriptions from the resolved scenario, not the file's stale text
    assert "20×20 blocks, 400 users" in md and "100x100" not in md
    # mean intervals of non-negative metrics never go below zero
    means = md[md.index("## Results"):md.index("### Differences")]
    assert not re.search(r"\[-\d", means)
    assert html.startswith("<!DOCTYPE html>") and 'class="note"' in html


def test_html_embeds_figures(tmp_path):
    from marketsim.experiments.figures import FigureInfo, _new, save

    fig = _new(2, 2)
    fig.subplots().plot([0, 1], [0, 1])
    png, _ = save(fig, tmp_path / "figures", "f")
    info = FigureInfo("f", "A figure", "caption", "figures/f.png", "figures/f.svg",
                      base64.b64encode(png.read_bytes()).decode())
    assert "png_base64" not in info.as_dict()  # not copied into compare.json
    doc = report.Doc()
    doc.fig(info)
    html = doc.html("t")
    imgs = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert len(imgs) == 1 and base64.b64decode(imgs[0]) == png.read_bytes()
    assert 'href="figures/f.svg"' in html and 'href="figures/f.png"' in html  # the files stay linked

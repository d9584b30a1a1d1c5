"""benchmarks/robustness.py: the verdict rule and the count table (the robustness of the README's
claims, issue 8). The runs themselves are a benchmark, not a test."""

import os
import sys

import pandas as pd
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

import robustness  # noqa: E402


@pytest.mark.parametrize("sign, diff, lo, hi, expect", [
    (-1, -5.0, -8.0, -2.0, "holds"),          # claimed negative, CI wholly below 0
    (-1, -1.0, -3.0, +1.0, "same sign"),      # right sign, CI includes 0
    (-1, +1.0, -1.0, +3.0, "opposite sign"),  # wrong sign, CI includes 0
    (-1, +5.0, +2.0, +8.0, "reversed"),       # CI wholly on the other side
    (+1, +5.0, +2.0, +8.0, "holds"),
    (+1, 0.0, -1.0, +1.0, "opposite sign"),   # a zero difference is not the claimed sign
    (+1, 1.0, float("nan"), float("nan"), "no interval"),
])
def test_verdict(sign, diff, lo, hi, expect):
    assert robustness.verdict(sign, diff, lo, hi) == expect


def test_every_claim_names_a_known_pair_and_every_variant_is_a_pair_of_levels():
    for _claim, _metric, a, b, sign in robustness.CLAIMS:
        assert {a, b} <= {"none", "AI", "TD"} and a != b and sign in (-1, 1)
    params = pd.Series([v[1] for v in robustness.VARIANTS]).value_counts()
    assert len(params) == 8 and (params == 2).all()  # eight parameters, each at x0.5 and x2


def test_summary_counts_verdicts_and_lists_where_a_claim_fails():
    rows = [{"claim": "c1", "variant": v, "diff": d, "verdict": k}
            for v, d, k in [("a", -3.0, "holds"), ("b", -1.0, "same sign"), ("c", 2.0, "reversed")]]
    rows.append({"claim": "c1", "variant": "d", "diff": float("nan"), "verdict": "runs failed: PoolFull"})
    md = robustness.summary_markdown(pd.DataFrame(rows), 8)
    line = next(x for x in md.splitlines() if x.startswith("| c1 |"))
    assert line.startswith("| c1 | 1 | 1 | 0 | 1 | 1 |")
    assert "b (-1)" in line and "c (+2)" in line and "d (failed)" in line and "a (" not in line

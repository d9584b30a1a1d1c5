"""Statistics of replicated comparisons against hand-computed values (marketsim.experiments.stats)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from marketsim.experiments.stats import (
    adequacy,
    comparison_table,
    mean_ci,
    pair_correlation,
    paired_ci,
    replicates_needed,
)

T975_3 = 3.182446305284263  # Student t, 97.5th percentile, 3 degrees of freedom (tables)
T975_4 = 2.7764451051977987  # 4 degrees of freedom


def test_mean_ci_by_hand():
    r = mean_ci([2.0, 4.0, 6.0, 8.0])
    sd = math.sqrt(20.0 / 3.0)  # squared deviations 9+1+1+9 over n-1 = 3
    assert r["n"] == 4
    assert r["mean"] == pytest.approx(5.0)
    assert r["sd"] == pytest.approx(sd)
    assert r["half_width"] == pytest.approx(T975_3 * sd / 2.0, rel=1e-9)
    assert r["ci_low"] == pytest.approx(5.0 - 4.108520, abs=1e-5)
    assert r["ci_high"] == pytest.approx(5.0 + 4.108520, abs=1e-5)


def test_mean_ci_ignores_nan_and_handles_one_value():
    r = mean_ci([1.0, np.nan, 3.0, 5.0, 7.0, 9.0])
    assert r["n"] == 5 and r["mean"] == pytest.approx(5.0)
    assert r["half_width"] == pytest.approx(T975_4 * math.sqrt(10.0) / math.sqrt(5.0))
    one = mean_ci([4.0])
    assert one["mean"] == 4.0 and math.isnan(one["ci_low"]) and math.isnan(one["half_width"])
    assert mean_ci([])["n"] == 0


def test_paired_ci_by_hand():
    ref = [10.0, 12.0, 9.0, 11.0]
    alt = [12.0, 15.0, 10.0, 14.0]  # differences 2, 3, 1, 3
    r = paired_ci(alt, ref)
    sd = math.sqrt(2.75 / 3.0)  # deviations from 2.25: .0625 + .5625 + 1.5625 + .5625
    assert r["n"] == 4
    assert r["mean"] == pytest.approx(2.25)
    assert r["sd"] == pytest.approx(sd)
    assert r["ci_low"] == pytest.approx(2.25 - T975_3 * sd / 2.0)
    assert r["ci_high"] == pytest.approx(2.25 + T975_3 * sd / 2.0)
    t = 2.25 / (sd / 2.0)  # 4.70009
    assert t == pytest.approx(4.70009, abs=1e-5)
    assert r["p_value"] == pytest.approx(2 * st.t.sf(t, 3))
    assert r["p_value"] == pytest.approx(st.ttest_rel(alt, ref).pvalue)
    assert 0.015 < r["p_value"] < 0.02


def test_paired_drops_incomplete_pairs_and_zero_variance():
    r = paired_ci([1.0, np.nan, 3.0, 4.0], [0.0, 1.0, np.nan, 2.0])  # pairs kept: (1,0), (4,2)
    assert r["n"] == 2 and r["mean"] == pytest.approx(1.5)
    same = paired_ci([5.0, 6.0, 7.0], [5.0, 6.0, 7.0])
    assert same["mean"] == 0 and same["ci_low"] == 0 and same["ci_high"] == 0 and same["p_value"] == 1.0
    shifted = paired_ci([6.0, 7.0, 8.0], [5.0, 6.0, 7.0])
    assert shifted["mean"] == 1.0 and shifted["p_value"] == 0.0
    with pytest.raises(ValueError):
        paired_ci([1.0, 2.0], [1.0])


def test_bootstrap_is_seeded_and_sensible():
    x = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    a = mean_ci(x, method="bootstrap")
    b = mean_ci(x, method="bootstrap")
    assert a == b  # fixed seed: identical
    assert a["ci_low"] < x.mean() < a["ci_high"]
    # narrower than the full range, and close to the t interval for a sample like this
    t = mean_ci(x)
    assert x.min() < a["ci_low"] and a["ci_high"] < x.max()
    assert abs(a["half_width"] - t["half_width"]) < 0.5 * t["half_width"]
    with pytest.raises(ValueError):
        mean_ci(x, method="jackknife")


def _table():
    # 3 replicates x 3 scenarios; replicate 1 of "c" is missing its value for m2
    return pd.DataFrame({
        "scenario": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
        "replicate": [0, 1, 2] * 3,
        "m1": [10.0, 12.0, 14.0, 11.0, 14.0, 17.0, 10.0, 12.0, 14.0],
        "m2": [1.0, 2.0, 3.0, 2.0, 2.0, 2.0, 5.0, np.nan, 7.0],
    })


def test_comparison_table_by_hand():
    runs = _table().sample(frac=1.0, random_state=3)  # row order must not matter
    t = comparison_table(runs, ["m1", "m2"], ["a", "b", "c"], kinds={"m1": "count", "m2": "level"})
    assert list(t.columns[:4]) == ["metric", "kind", "scenario", "n"]
    assert list(zip(t["metric"], t["scenario"])) == [("m1", "a"), ("m1", "b"), ("m1", "c"),
                                                     ("m2", "a"), ("m2", "b"), ("m2", "c")]
    row = t.set_index(["metric", "scenario"])
    # m1, a: mean 12, sd 2, half-width t(0.975, 2) * 2 / sqrt(3)
    t975_2 = 4.302652729911275
    assert row.loc[("m1", "a"), "mean"] == pytest.approx(12.0)
    assert row.loc[("m1", "a"), "ci_high"] == pytest.approx(12.0 + t975_2 * 2.0 / math.sqrt(3.0))
    assert math.isnan(row.loc[("m1", "a"), "diff"])  # the reference has no difference
    assert row.loc[("m1", "a"), "kind"] == "count"
    # m1, b - a: differences 1, 2, 3 -> mean 2, sd 1
    assert row.loc[("m1", "b"), "diff"] == pytest.approx(2.0)
    assert row.loc[("m1", "b"), "diff_ci_low"] == pytest.approx(2.0 - t975_2 / math.sqrt(3.0))
    assert row.loc[("m1", "b"), "diff_pct"] == pytest.approx(100.0 * 2.0 / 12.0)
    assert row.loc[("m1", "b"), "p_value"] == pytest.approx(st.ttest_rel([11, 14, 17], [10, 12, 14]).pvalue)
    assert row.loc[("m1", "b"), "pair_corr"] == pytest.approx(1.0)  # 11, 14, 17 vs 10, 12, 14: linear
    assert math.isnan(row.loc[("m1", "a"), "pair_corr"])
    # m1, c == a in every replicate: zero difference, p = 1
    assert row.loc[("m1", "c"), "diff"] == 0 and row.loc[("m1", "c"), "p_value"] == 1.0
    # m2, c - a: the pair of replicate 1 is dropped -> differences 4, 4
    assert row.loc[("m2", "c"), "n"] == 2
    assert row.loc[("m2", "c"), "diff_n"] == 2
    assert row.loc[("m2", "c"), "diff"] == pytest.approx(4.0)
    assert row.loc[("m2", "c"), "mean"] == pytest.approx(6.0)


def test_adequacy_matches_mean_ci():
    runs = _table()
    a = adequacy(runs, ["m1"], ["a", "b", "c"])
    assert sorted(a["n"].unique()) == [2, 3]
    assert set(a.loc[a["what"] == "difference", "scenario"]) == {"b", "c"}  # not the reference
    last = a[(a["scenario"] == "b") & (a["what"] == "mean") & (a["n"] == 3)].iloc[0]
    assert last["half_width"] == pytest.approx(mean_ci([11.0, 14.0, 17.0])["half_width"])
    assert last["rel_half_width"] == pytest.approx(last["half_width"] / 14.0)
    first2 = a[(a["scenario"] == "b") & (a["what"] == "difference") & (a["n"] == 2)].iloc[0]
    assert first2["mean"] == pytest.approx(1.5)  # differences of replicates 0 and 1: 1, 2


def test_replicates_needed():
    n = replicates_needed(10.0, 2.0)
    hw = lambda k: st.t.ppf(0.975, k - 1) * 10.0 / math.sqrt(k)  # noqa: E731
    assert hw(n) <= 2.0 < hw(n - 1)
    assert replicates_needed(float("nan"), 1.0) is None
    assert replicates_needed(1.0, 0.0) is None


def test_pair_correlation():
    assert pair_correlation([1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0]) == pytest.approx(1.0)
    assert pair_correlation([1.0, 2.0, 3.0, 4.0], [8.0, 6.0, 4.0, 2.0]) == pytest.approx(-1.0)
    # by hand: x = 1, 2, 3; y = 1, 3, 2 -> cov = 0.5, var = 1, 1 -> r = 0.5
    assert pair_correlation([1.0, 2.0, 3.0, np.nan], [1.0, 3.0, 2.0, 5.0]) == pytest.approx(0.5)
    assert math.isnan(pair_correlation([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))

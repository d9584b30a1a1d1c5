"""Statistics for replicated policy comparisons: means with 95% confidence intervals, paired
differences under common random numbers, p-values and replicate adequacy.

Pure functions over pandas DataFrames in the layout of ``runs.parquet``: one row per
(scenario, replicate), one column per run-level metric. Nothing here draws unseeded
random numbers: the bootstrap uses a fixed seed, so every result is reproducible.

Conventions
-----------
- ``mean_ci``: the Student-t interval ``mean +/- t(0.975, n-1) * sd / sqrt(n)`` (``sd`` with
  ``ddof=1``); with ``method="bootstrap"`` the percentile interval of ``n_boot`` resampled means.
- ``paired_differences``: replicate ``r`` of scenario ``s`` is paired with replicate ``r`` of the
  reference scenario (they share a seed and an initial world). The difference
  ``d_r = x[s, r] - x[ref, r]`` gets the same kind of interval, and a two-sided paired t-test
  p-value (``scipy.stats.ttest_rel``). Pairs where either value is missing (NaN) are dropped.
- NaN where a quantity is undefined (one replicate: no interval; zero variance: a zero-width
  interval, and p = 1 when every difference is 0, p = 0 when they are all the same non-zero value).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as _st

CONFIDENCE = 0.95
BOOTSTRAP_SEED = 20240601
N_BOOT = 2000

__all__ = ["mean_ci", "paired_ci", "pair_correlation", "summarize_metric", "comparison_table", "adequacy",
           "replicates_needed", "CONFIDENCE"]


def _t_half_width(sd: float, n: int, confidence: float) -> float:
    if n < 2 or not np.isfinite(sd):
        return float("nan")
    return float(_st.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))


def _bootstrap_interval(x: np.ndarray, confidence: float, n_boot: int, seed: int) -> tuple[float, float]:
    """Percentile interval of the mean of ``x`` resampled with replacement (fixed seed)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    means = x[idx].mean(axis=1)
    a = (1 - confidence) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return float(lo), float(hi)


def mean_ci(values, confidence: float = CONFIDENCE, method: str = "t", n_boot: int = N_BOOT,
            seed: int = BOOTSTRAP_SEED) -> dict:
    """Mean of ``values`` (NaN ignored) with its ``confidence`` interval.

    Returns ``{"n", "mean", "sd", "ci_low", "ci_high", "half_width"}``.

    >>> mean_ci([1.0, 2.0, 3.0])["half_width"]  # t(0.975, 2) * 1 / sqrt(3)
    2.484...
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        nan = float("nan")
        return {"n": 0, "mean": nan, "sd": nan, "ci_low": nan, "ci_high": nan, "half_width": nan}
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) if n > 1 else float("nan")
    if method == "t":
        h = _t_half_width(sd, n, confidence)
        lo, hi = mean - h, mean + h
    elif method == "bootstrap":
        if n < 2:
            lo = hi = h = float("nan")
        else:
            lo, hi = _bootstrap_interval(x, confidence, n_boot, seed)
            h = (hi - lo) / 2
    else:
        raise ValueError(f"unknown CI method {method!r} (use 't' or 'bootstrap')")
    return {"n": n, "mean": mean, "sd": sd, "ci_low": float(lo), "ci_high": float(hi), "half_width": float(h)}


def paired_ci(values, reference, confidence: float = CONFIDENCE, method: str = "t", n_boot: int = N_BOOT,
              seed: int = BOOTSTRAP_SEED) -> dict:
    """Mean paired difference ``values - reference`` with its interval and a paired t-test p-value.

    ``values`` and ``reference`` are aligned by position (replicate r with replicate r).
    Returns ``{"n", "mean", "sd", "ci_low", "ci_high", "half_width", "p_value"}``.
    """
    a = np.asarray(values, dtype=float)
    b = np.asarray(reference, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.shape} vs {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    d = a[ok] - b[ok]
    out = mean_ci(d, confidence, method, n_boot, seed)
    out["p_value"] = _paired_p(d)
    return out


def _paired_p(d: np.ndarray) -> float:
    n = d.size
    if n < 2:
        return float("nan")
    sd = d.std(ddof=1)
    if sd == 0:
        return 1.0 if d.mean() == 0 else 0.0
    t = d.mean() / (sd / math.sqrt(n))
    return float(2 * _st.t.sf(abs(t), n - 1))


def pair_correlation(values, reference) -> float:
    """Pearson correlation of paired replicates (NaN pairs dropped; NaN when undefined).

    What common random numbers buy: the variance of a difference is
    ``var(a) + var(b) - 2 cov(a, b)``, so a positive correlation narrows its interval.
    """
    a = np.asarray(values, dtype=float)
    b = np.asarray(reference, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if a.size < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def summarize_metric(runs: pd.DataFrame, metric: str, scenarios: list[str] | None = None,
                     scenario_col: str = "scenario", replicate_col: str = "replicate",
                     confidence: float = CONFIDENCE, method: str = "t") -> pd.DataFrame:
    """One row per scenario for ``metric``: mean and CI; for every scenario after the first
    (the reference) the paired difference from the reference with its CI and p-value."""
    if scenarios is None:
        scenarios = list(dict.fromkeys(runs[scenario_col]))
    wide = runs.pivot(index=replicate_col, columns=scenario_col, values=metric).sort_index()
    ref = scenarios[0]
    rows = []
    for s in scenarios:
        m = mean_ci(wide[s].to_numpy(), confidence, method)
        row = {"metric": metric, "scenario": s, "n": m["n"], "mean": m["mean"], "sd": m["sd"],
               "ci_low": m["ci_low"], "ci_high": m["ci_high"], "reference": ref}
        if s == ref:
            row.update(diff_n=np.nan, diff=np.nan, diff_ci_low=np.nan, diff_ci_high=np.nan, diff_pct=np.nan,
                       p_value=np.nan, pair_corr=np.nan)
        else:
            d = paired_ci(wide[s].to_numpy(), wide[ref].to_numpy(), confidence, method)
            ref_mean = mean_ci(wide[ref].to_numpy())["mean"]
            row.update(diff_n=d["n"], diff=d["mean"], diff_ci_low=d["ci_low"], diff_ci_high=d["ci_high"],
                       diff_pct=100.0 * _rel(d["mean"], ref_mean),
                       p_value=d["p_value"], pair_corr=pair_correlation(wide[s].to_numpy(), wide[ref].to_numpy()))
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_table(runs: pd.DataFrame, metrics: list[str], scenarios: list[str] | None = None,
                     scenario_col: str = "scenario", replicate_col: str = "replicate",
                     confidence: float = CONFIDENCE, method: str = "t",
                     kinds: dict[str, str] | None = None) -> pd.DataFrame:
    """``comparison.csv``: one row per (metric, scenario), metrics in the given order.

    Columns: metric, kind, scenario, n, mean, sd, ci_low, ci_high, reference, diff_n, diff,
    diff_ci_low, diff_ci_high, diff_pct (difference as % of |reference mean|), p_value, pair_corr
    (correlation of paired replicates: how much common random numbers help).
    """
    parts = [summarize_metric(runs, m, scenarios, scenario_col, replicate_col, confidence, method) for m in metrics]
    out = pd.concat(parts, ignore_index=True)
    out.insert(1, "kind", [(kinds or {}).get(m, "") for m in out["metric"]])
    out["diff_n"] = out["diff_n"].astype("Int64")
    return out


def adequacy(runs: pd.DataFrame, metrics: list[str], scenarios: list[str] | None = None,
             scenario_col: str = "scenario", replicate_col: str = "replicate",
             confidence: float = CONFIDENCE) -> pd.DataFrame:
    """CI half-width as a function of the number of replicates used (the first ``n`` by replicate
    number, n = 2..N): for each scenario's mean (``what="mean"``) and, for scenarios after
    the first, the paired difference from the first (``what="difference"``).

    Columns: metric, scenario, what, n, mean, half_width, rel_half_width (half-width / |mean|).
    """
    if scenarios is None:
        scenarios = list(dict.fromkeys(runs[scenario_col]))
    ref = scenarios[0]
    rows = []
    for metric in metrics:
        wide = runs.pivot(index=replicate_col, columns=scenario_col, values=metric).sort_index()
        N = len(wide)
        for s in scenarios:
            x = wide[s].to_numpy(dtype=float)
            for n in range(2, N + 1):
                m = mean_ci(x[:n], confidence)
                rows.append({"metric": metric, "scenario": s, "what": "mean", "n": n, "mean": m["mean"],
                             "half_width": m["half_width"], "rel_half_width": _rel(m["half_width"], m["mean"])})
                if s != ref:
                    d = paired_ci(x[:n], wide[ref].to_numpy(dtype=float)[:n], confidence)
                    rows.append({"metric": metric, "scenario": s, "what": "difference", "n": n, "mean": d["mean"],
                                 "half_width": d["half_width"], "rel_half_width": _rel(d["half_width"], d["mean"])})
    return pd.DataFrame(rows, columns=["metric", "scenario", "what", "n", "mean", "half_width", "rel_half_width"])


def _rel(h: float, m: float) -> float:
    return float(h / abs(m)) if np.isfinite(h) and np.isfinite(m) and m != 0 else float("nan")


def replicates_needed(sd: float, target_half_width: float, confidence: float = CONFIDENCE,
                      n_max: int = 100000) -> int | None:
    """Smallest n whose t-interval half-width ``t(0.975, n-1) * sd / sqrt(n)`` is at most
    ``target_half_width`` (None when undefined or above ``n_max``)."""
    if not (np.isfinite(sd) and np.isfinite(target_half_width)) or target_half_width <= 0:
        return None
    if sd == 0:
        return 2
    # start from the normal approximation and step up
    z = _st.norm.ppf(0.5 + confidence / 2)
    n = max(2, int(math.ceil((z * sd / target_half_width) ** 2)))
    while n <= n_max:
        if _t_half_width(sd, n, confidence) <= target_half_width:
            return n
        n += 1
    return None


# ---------------------------------------------------------------------------- every pair, in range
def range_respecting_ci(values, confidence: float = CONFIDENCE, n_boot: int = N_BOOT,
                        seed: int = BOOTSTRAP_SEED) -> dict:
    """:func:`mean_ci` whose interval stays inside the range the quantity can take: the
    percentile bootstrap of the mean when every value is >= 0 (counts, shares, HHI, prices: the
    resampled means cannot leave [min, max] of the data), Student t otherwise. Adds ``method``."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    method = "bootstrap" if x.size >= 2 and (x >= 0).all() else "t"
    out = mean_ci(x, confidence, method, n_boot, seed)
    out["method"] = method
    return out


def pair_order(scenarios: list[str]) -> list[tuple[str, str]]:
    """Every pair ``(a, b)`` for the difference ``a - b``: later scenarios minus earlier ones, the
    pair of the last two first (with baseline, AI, TD: TD - AI, AI - baseline, TD - baseline)."""
    pairs = [(scenarios[j], scenarios[i]) for i in range(len(scenarios)) for j in range(i + 1, len(scenarios))]
    if len(scenarios) > 2:
        last = (scenarios[-1], scenarios[-2])
        pairs = [last] + [p for p in pairs if p != last]
    return pairs


MAX_PCT = 1000.0


def pairwise_table(runs: pd.DataFrame, metrics: list[str], scenarios: list[str] | None = None,
                   pairs: list[tuple[str, str]] | None = None, scenario_col: str = "scenario",
                   replicate_col: str = "replicate", confidence: float = CONFIDENCE, method: str = "t") -> pd.DataFrame:
    """Paired differences ``a - b`` for every pair of scenarios (default :func:`pair_order`).

    Columns: metric, a, b, n, diff, diff_ci_low, diff_ci_high, p_value, b_mean, b_ci_low, b_ci_high,
    diff_pct (NaN when ``b``'s interval includes 0 or its mean is 0, or when the change is beyond
    +-1000%: a percentage of a reference that is (nearly) zero means nothing).
    """
    if scenarios is None:
        scenarios = list(dict.fromkeys(runs[scenario_col]))
    pairs = pairs or pair_order(scenarios)
    rows = []
    for metric in metrics:
        wide = runs.pivot(index=replicate_col, columns=scenario_col, values=metric).sort_index()
        for a, b in pairs:
            d = paired_ci(wide[a].to_numpy(float), wide[b].to_numpy(float), confidence, method)
            ref = range_respecting_ci(wide[b].to_numpy(float), confidence)
            meaningful = np.isfinite(ref["ci_low"]) and ref["mean"] != 0 and (ref["ci_low"] > 0 or ref["ci_high"] < 0)
            rows.append({"metric": metric, "a": a, "b": b, "n": d["n"], "diff": d["mean"], "diff_ci_low": d["ci_low"],
                         "diff_ci_high": d["ci_high"], "p_value": d["p_value"], "b_mean": ref["mean"],
                         "b_ci_low": ref["ci_low"], "b_ci_high": ref["ci_high"],
                         "diff_pct": pct if meaningful and abs(pct := 100.0 * d["mean"] / abs(ref["mean"])) <= MAX_PCT
                         else float("nan")})
    return pd.DataFrame(rows)


__all__ += ["range_respecting_ci", "pair_order", "pairwise_table"]

"""Per-point summaries of a sweep and its sensitivity indices (SALib Morris and Sobol).

Replicates are averaged per design point; the analysis runs on the point means. The replicate
noise is reported beside each index: ``noise`` is the mean standard error of a point mean (the
spread that would remain if the parameters did nothing), turned into the index's own units:

- Morris: an elementary effect is a difference of two point means divided by the step
  ``delta = levels / (2 (levels - 1))`` (unit scale, as SALib computes it), so noise alone gives
  effects of standard deviation ``sqrt(2) * se / delta``; a parameter whose ``mu_star`` is below twice
  that is flagged ``within_noise``.
- Sobol: the noise variance ``se**2`` as a share of the variance of the point means; a parameter
  whose total index ``ST`` is below that share (or whose ``ST`` interval includes 0) is flagged.

With the policy as a crossed factor, every sampled point runs under every policy with the same
seeds; the outcomes are each metric under each policy (``homicides:targeted_deterrence``) and the
paired differences from the first policy (``homicides:targeted_deterrence-aggressive_interdiction``),
the replicate-by-replicate difference averaged per point.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats as _st

from .outcomes import HEADLINE

#: metrics analysed for sensitivity (every metric is in runs.parquet and points.parquet)
SENSITIVITY_METRICS = list(dict.fromkeys([*HEADLINE[:6], "local_hhi", *HEADLINE[6:]]))
CONFIDENCE = 0.95
NUM_RESAMPLES = 200


def point_table(runs: pd.DataFrame, params: list[str], metrics: list[str], n_points: int) -> pd.DataFrame:
    """One row per design point: parameters, runs ok / failed, and per metric mean, sd, 95% CI (t)."""
    ok = runs[runs["status"] == "ok"]
    g = ok.groupby("point")
    first = runs.groupby("point")[params].first() if params else pd.DataFrame(index=runs["point"].unique())
    out = pd.DataFrame({"point": np.arange(n_points)}).set_index("point")
    out = out.join(first)
    out["runs_ok"] = g.size().reindex(out.index).fillna(0).astype("int64")
    out["runs_failed"] = runs[runs["status"] != "ok"].groupby("point").size().reindex(out.index).fillna(0).astype(
        "int64")
    n = out["runs_ok"].to_numpy()
    t = np.where(n >= 2, _st.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(n - 1, 1)), np.nan)
    cols = {}
    for m in metrics:
        mean = g[m].mean().reindex(out.index).to_numpy(dtype=float)
        sd = g[m].std(ddof=1).reindex(out.index).to_numpy(dtype=float)
        hw = t * sd / np.sqrt(np.maximum(n, 1))
        cols[f"{m}_mean"] = mean
        cols[f"{m}_sd"] = sd
        cols[f"{m}_ci_low"] = mean - hw
        cols[f"{m}_ci_high"] = mean + hw
    out = pd.concat([out, pd.DataFrame(cols, index=out.index)], axis=1)
    return out.reset_index()


def outcomes(runs: pd.DataFrame, n_points: int, metrics: list[str], policies: list[str] | None,
             n_samples: int) -> dict[str, tuple[np.ndarray, float]]:
    """outcome name -> (Y per sampled point, in sampler order; noise = mean standard error of a point mean)."""
    ok = runs[runs["status"] == "ok"]
    res = {}
    if policies is None:
        for m in metrics:
            w = ok.pivot_table(index="point", columns="replicate", values=m, aggfunc="first")
            w = w.reindex(range(n_points))
            res[m] = (w.mean(axis=1).to_numpy(), _noise(w))
        return res
    k = len(policies)
    for m in metrics:
        w = ok.pivot_table(index="point", columns="replicate", values=m, aggfunc="first").reindex(range(n_points))
        arr = w.to_numpy(dtype=float).reshape(n_samples, k, -1)  # sample, policy, replicate
        for j, pol in enumerate(policies):
            a = arr[:, j, :]
            res[f"{m}:{pol}"] = (np.nanmean(a, axis=1) if a.size else np.full(n_samples, np.nan), _noise(a))
        for j, pol in enumerate(policies[1:], start=1):
            d = arr[:, j, :] - arr[:, 0, :]
            res[f"{m}:{pol}-{policies[0]}"] = (np.nanmean(d, axis=1), _noise(d))
    return res


def _noise(w) -> float:
    a = np.asarray(w, dtype=float)
    if a.ndim != 2 or a.shape[1] < 2:
        return float("nan")
    n = np.sum(~np.isnan(a), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.nanstd(a, axis=1, ddof=1)
        se = sd / np.sqrt(n)
    se = se[np.isfinite(se)]
    return float(np.mean(se)) if se.size else float("nan")


def morris(problem: dict, X: np.ndarray, ys: dict, levels: int, seed: int) -> pd.DataFrame:
    """mu, mu*, mu* CI (SALib bootstrap), sigma with a chi-square CI, noise flag; per outcome and parameter."""
    from SALib.analyze import morris as m_an

    delta = levels / (2.0 * (levels - 1))
    r = X.shape[0] // (problem["num_vars"] + 1)
    rows = []
    for name, (y, noise) in ys.items():
        if np.isnan(y).any():
            for p in problem["names"]:
                rows.append({"method": "morris", "outcome": name, "parameter": p, "note": "missing points"})
            continue
        res = m_an.analyze(problem, X, y, num_resamples=NUM_RESAMPLES, conf_level=CONFIDENCE, num_levels=levels,
                           seed=seed)
        ee_noise = math.sqrt(2.0) * noise / delta if np.isfinite(noise) else float("nan")
        lo_q, hi_q = _st.chi2.ppf([0.5 + CONFIDENCE / 2, 0.5 - CONFIDENCE / 2], max(r - 1, 1))
        for i, p in enumerate(problem["names"]):
            sig = float(res["sigma"][i])
            mus = float(res["mu_star"][i])
            conf = float(res["mu_star_conf"][i])
            rows.append({"method": "morris", "outcome": name, "parameter": p, "mu": float(res["mu"][i]),
                         "mu_star": mus, "mu_star_ci_low": mus - conf, "mu_star_ci_high": mus + conf,
                         "sigma": sig, "sigma_ci_low": sig * math.sqrt((r - 1) / lo_q) if r > 1 else float("nan"),
                         "sigma_ci_high": sig * math.sqrt((r - 1) / hi_q) if r > 1 else float("nan"),
                         "noise": ee_noise,
                         "within_noise": bool(np.isfinite(ee_noise) and mus <= 2 * ee_noise)})
    return pd.DataFrame(rows)


def sobol(problem: dict, ys: dict, second_order: bool, seed: int) -> pd.DataFrame:
    """S1, ST (and S2) with CIs (SALib bootstrap), noise share and flag; per outcome and parameter."""
    from SALib.analyze import sobol as s_an

    rows = []
    names = problem["names"]
    for name, (y, noise) in ys.items():
        if np.isnan(y).any():
            for p in names:
                rows.append({"method": "sobol", "outcome": name, "parameter": p, "note": "missing points"})
            continue
        var = float(np.var(y, ddof=1)) if len(y) > 1 else float("nan")
        share = (noise ** 2 / var) if var > 0 and np.isfinite(noise) else float("nan")
        if not var > 0:
            for p in names:
                rows.append({"method": "sobol", "outcome": name, "parameter": p, "note": "constant outcome"})
            continue
        with warnings.catch_warnings():  # constant resamples of a near-constant outcome: expected here
            warnings.simplefilter("ignore", UserWarning)
            res = s_an.analyze(problem, y, calc_second_order=second_order, num_resamples=NUM_RESAMPLES,
                               conf_level=CONFIDENCE, seed=seed)
        for i, p in enumerate(names):
            s1, c1, st, ct = (float(res[k][i]) for k in ("S1", "S1_conf", "ST", "ST_conf"))
            rows.append({"method": "sobol", "outcome": name, "parameter": p, "S1": s1, "S1_ci_low": s1 - c1,
                         "S1_ci_high": s1 + c1, "ST": st, "ST_ci_low": st - ct, "ST_ci_high": st + ct,
                         "noise": share, "within_noise": bool((np.isfinite(share) and st <= share) or st - ct <= 0)})
        if second_order:
            for i in range(len(names)):
                for j in range(i + 1, len(names)):
                    s2, c2 = float(res["S2"][i, j]), float(res["S2_conf"][i, j])
                    rows.append({"method": "sobol", "outcome": name, "parameter": f"{names[i]} x {names[j]}",
                                 "S2": s2, "S2_ci_low": s2 - c2, "S2_ci_high": s2 + c2, "noise": share,
                                 "within_noise": bool(s2 - c2 <= 0)})
    return pd.DataFrame(rows)

"""Figures of a sweep (PNG + SVG, no timestamps): response curves and heat maps for grids,
scatter plots for Latin hypercubes, mu*-sigma plots for Morris, index bars with CIs for Sobol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .design import POLICY, Design
from .figures import PALETTE, FigureInfo, _grid, _new, label, save

KEY = ["homicides", "corrupted_officer_share", "hhi", "local_hhi"]


def _numeric(d: Design) -> list[str]:
    return [p.name for p in d.parameters
            if p.name != POLICY and (p.kind == "range" or all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                               for v in p.values))]


def response_figure(d: Design, points: pd.DataFrame):
    """Each key metric against each numeric parameter: the mean over the other parameters' values
    (one line per policy when the policy is a factor), with the 10-90% range of point means."""
    params = _numeric(d)
    pols = [None] if POLICY not in points else list(dict.fromkeys(points[POLICY]))
    fig = _new(3.0 * max(len(params), 1), 2.4 * len(KEY))
    axes = fig.subplots(len(KEY), max(len(params), 1), squeeze=False)
    for i, m in enumerate(KEY):
        for j, prm in enumerate(params):
            ax = axes[i, j]
            for k, pol in enumerate(pols):
                sub = points if pol is None else points[points[POLICY] == pol]
                if d.method == "grid":
                    g = sub.groupby(prm)[f"{m}_mean"]
                    x = np.array(sorted(g.groups), dtype=float)
                    mean = g.mean().reindex(x).to_numpy()
                    lo, hi = g.quantile(0.1).reindex(x).to_numpy(), g.quantile(0.9).reindex(x).to_numpy()
                    ax.plot(x, mean, "o-", color=PALETTE[k % len(PALETTE)], label=pol or "mean", lw=1.2, ms=3)
                    ax.fill_between(x, lo, hi, color=PALETTE[k % len(PALETTE)], alpha=0.15, lw=0)
                else:
                    ax.scatter(sub[prm], sub[f"{m}_mean"], s=6, color=PALETTE[k % len(PALETTE)], alpha=0.6,
                               label=pol or "point mean")
            if i == len(KEY) - 1:
                ax.set_xlabel(prm, fontsize=8)
            if j == 0:
                ax.set_ylabel(label(m), fontsize=8)
            ax.tick_params(labelsize=7)
    if pols != [None]:
        axes[0, 0].legend(fontsize=7, frameon=False)
    return fig


def heatmap_figure(d: Design, points: pd.DataFrame, a: str, b: str):
    pols = [None] if POLICY not in points else list(dict.fromkeys(points[POLICY]))
    fig = _new(3.0 * len(pols), 2.6 * len(KEY))
    axes = fig.subplots(len(KEY), len(pols), squeeze=False)
    for i, m in enumerate(KEY):
        for k, pol in enumerate(pols):
            sub = points if pol is None else points[points[POLICY] == pol]
            t = sub.pivot_table(index=b, columns=a, values=f"{m}_mean", aggfunc="mean").sort_index()
            ax = axes[i, k]
            im = ax.imshow(t.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="viridis")
            ax.set_xticks(range(t.shape[1]), [f"{v:g}" for v in t.columns], fontsize=7)
            ax.set_yticks(range(t.shape[0]), [f"{v:g}" for v in t.index], fontsize=7)
            ax.set_title(f"{label(m)}" + (f"\n{pol}" if pol else ""), fontsize=8)
            ax.set_xlabel(a, fontsize=7)
            ax.set_ylabel(b, fontsize=7)
            fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def _key_outcomes(sens: pd.DataFrame) -> list[str]:
    outs = list(dict.fromkeys(sens["outcome"]))
    return [o for o in outs if o.split(":")[0] in KEY][:12]


def morris_figure(sens: pd.DataFrame):
    outs = _key_outcomes(sens)
    fig = _new(9.0, 2.8 * -(-len(outs) // 3))
    for ax, o in zip(_grid(fig, len(outs), 3), outs):
        s = sens[(sens["outcome"] == o)].dropna(subset=["mu_star"])
        ax.errorbar(s["mu_star"], s["sigma"], xerr=[s["mu_star"] - s["mu_star_ci_low"],
                                                     s["mu_star_ci_high"] - s["mu_star"]],
                    fmt="o", ms=3, lw=0.8, color=PALETTE[0])
        for r in s.itertuples():
            ax.annotate(r.parameter.split(".")[-1], (r.mu_star, r.sigma), fontsize=6, xytext=(2, 2),
                        textcoords="offset points", color="#888" if r.within_noise else "#222")
        if len(s) and np.isfinite(s["noise"]).any():
            ax.axvline(2 * float(s["noise"].iloc[0]), color="#bbb", ls="--", lw=0.8)
        ax.set_title(o.replace(":", "\n"), fontsize=7)
        ax.set_xlabel("μ*", fontsize=7)
        ax.set_ylabel("σ", fontsize=7)
        ax.tick_params(labelsize=6)
    return fig


def sobol_figure(sens: pd.DataFrame):
    outs = _key_outcomes(sens)
    fig = _new(9.0, 2.8 * -(-len(outs) // 3))
    for ax, o in zip(_grid(fig, len(outs), 3), outs):
        s = sens[(sens["outcome"] == o)].dropna(subset=["ST"])
        y = np.arange(len(s))
        for k, (idx, off) in enumerate((("S1", -0.18), ("ST", 0.18))):
            v = s[idx].to_numpy()
            err = [v - s[f"{idx}_ci_low"].to_numpy(), s[f"{idx}_ci_high"].to_numpy() - v]
            ax.barh(y + off, v, height=0.34, xerr=err, color=PALETTE[k], label=idx, error_kw={"lw": 0.7})
        ax.set_yticks(y, [p.split(".")[-1] for p in s["parameter"]], fontsize=6)
        ax.axvline(0, color="#999", lw=0.6)
        ax.set_title(o.replace(":", "\n"), fontsize=7)
        ax.tick_params(labelsize=6)
    if outs:
        fig.axes[0].legend(fontsize=6, frameon=False)
    return fig


def make_all(folder: Path, d: Design, runs: pd.DataFrame, points: pd.DataFrame, sens: pd.DataFrame) -> list:
    folder = Path(folder)
    rel = folder.name
    out: list[FigureInfo] = []

    def emit(fig, name, title, caption):
        save(fig, folder, name)
        out.append(FigureInfo(name, title, caption, f"{rel}/{name}.png", f"{rel}/{name}.svg"))

    if _numeric(d):
        if d.method == "grid":
            cap = ("Mean of the point means at each value of the parameter, over the values of the other parameters "
                   "(band: 10th-90th percentile of the point means).")
        else:
            cap = "Every design point's mean over its replicates against each parameter."
        emit(response_figure(d, points), "response", "Responses to the parameters", cap)
    num = _numeric(d)
    if d.method == "grid" and len(num) == 2:
        emit(heatmap_figure(d, points, num[0], num[1]), "heatmap", f"{num[0]} × {num[1]}",
             "Mean over replicates (and over other parameters' values) of each key metric on the grid.")
    if not sens.empty and "mu_star" in sens:
        emit(morris_figure(sens), "morris", "Morris screening: μ* against σ",
             "Per outcome, each parameter's mean absolute elementary effect μ* (with its 95% bootstrap CI) against "
             "the standard deviation σ of its effects (non-linearity or interactions). Dashed line: twice the "
             "elementary-effect noise of the replicates; grey names are within that noise.")
    if not sens.empty and "ST" in sens:
        emit(sobol_figure(sens), "sobol", "Sobol indices",
             "First-order (S1) and total (ST) Sobol indices with 95% bootstrap CIs, per outcome.")
    return out

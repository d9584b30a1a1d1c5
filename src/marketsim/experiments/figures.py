"""Figures of a replicated comparison (PNG and SVG), deterministic for given inputs.

No pyplot and no global backend change: every figure is a ``matplotlib.figure.Figure`` drawn
with the Agg/SVG renderers under fixed ``rcParams`` (fixed sizes and fonts, ``svg.hashsalt``
set, no creation date in the files), so the same inputs give byte-identical files.
Nothing random is drawn except the horizontal jitter of strip plots, from a fixed seed.
"""

from __future__ import annotations

import base64
import io
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap, LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

from ..io import atomic_write_bytes
from ..metrics import COLUMNS

RC = {
    "svg.hashsalt": "marketsim",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "legend.fontsize": 8,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "path.simplify": True,
    "image.interpolation": "nearest",
}
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]
SMOOTH_WEEKS = 13
#: Organisation colours for territory maps: tab10 first (the most distinct), then the light halves
#: of tab20, then tab20b and tab20c: 60 colours before slots repeat one.
ORG_COLOURS = np.vstack([np.asarray(matplotlib.colormaps["tab10"].colors),
                         np.asarray(matplotlib.colormaps["tab20"].colors)[1::2],
                         np.asarray(matplotlib.colormaps["tab20b"].colors),
                         np.asarray(matplotlib.colormaps["tab20c"].colors)])
JITTER_SEED = 0

FAMILIES: dict[str, list[str]] = {
    "violence": ["violent_incidents", "homicides", "violence_turf", "violence_succession", "violence_against_police",
                 "officers_killed"],
    "corruption": ["corrupted_officer_share", "bribes_paid", "enforcement_neutralised", "corrupt_detected"],
    "concentration": ["hhi", "effective_organizations", "n_organizations", "largest_share", "local_hhi",
                      "turf_tenure"],
    "market": ["retail_price", "quantity_sold", "unmet_demand", "users_served_share", "active_market_cells",
               "dealers"],
    "enforcement": ["arrests", "leader_arrests", "seizures", "incarcerated", "displacement",
                    "perceived_arrest_risk"],
}
LABELS = {
    "homicides": "homicides", "violent_incidents": "violent incidents", "violence_turf": "turf attacks",
    "violence_succession": "succession fights", "violence_against_police": "attacks on police",
    "officers_killed": "officers killed", "corrupted_officer_share": "share of officers corrupted",
    "bribes_paid": "bribes paid ($)", "enforcement_neutralised": "arrests neutralised by bribes",
    "corrupt_detected": "corrupt officers caught", "hhi": "HHI (0-10,000)", "local_hhi": "local HHI",
    "largest_share": "largest organisation's share", "n_organizations": "organisations (2+ members)",
    "effective_organizations": "effective organisations (10,000/HHI)", "turf_tenure": "turf tenure (weeks)",
    "retail_price": "retail price ($/unit)", "quantity_sold": "units sold", "unmet_demand": "unmet demand (units)",
    "users_served_share": "share of users served", "active_market_cells": "active market cells",
    "dealers": "dealers on the street", "arrests": "arrests", "leader_arrests": "leader arrests",
    "seizures": "units seized", "incarcerated": "dealers in prison", "displacement": "dealer relocations",
    "perceived_arrest_risk": "perceived weekly arrest risk",
}


def unit(metric: str) -> str:
    """The y-axis label of a weekly series: what is counted per week, or the level's unit."""
    kind = COLUMNS.get(metric, ("",))[0]
    if kind == "count":
        return f"{label(metric)} per week"
    return label(metric)


@dataclass
class FigureInfo:
    id: str
    title: str
    caption: str
    png: str  # path relative to the comparison folder
    svg: str
    png_base64: str = field(default="", repr=False)  # the PNG itself, for a self-contained report.html

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "png_base64"}


def _compact(x: float, _pos=None) -> str:
    a = abs(x)
    if a >= 1e6:
        return f"{x / 1e6:.4g}M"
    if a >= 1e4:
        return f"{x / 1e3:.4g}k"
    return f"{x:.4g}"


COMPACT = FuncFormatter(_compact)


def _tick_name(s: str, width: int = 14) -> str:
    return textwrap.fill(s.replace("_", " "), width)


def label(metric: str) -> str:
    return LABELS.get(metric, metric.replace("_", " "))


def run_label(metric: str, wrap: int | None = None) -> str:
    """What a run-level value of ``metric`` is: a total over the run or a last-quarter mean."""
    kind = COLUMNS.get(metric, ("", ""))[0]
    text = f"{label(metric)}, total" if kind == "count" else f"{label(metric)}, last-quarter mean"
    return textwrap.fill(text, wrap) if wrap else text


def colors(labels: list[str]) -> dict[str, str]:
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(labels)}


def save(fig: Figure, folder: Path, name: str) -> tuple[Path, Path]:
    """Write ``name.png`` and ``name.svg`` (atomically, without timestamps)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for ext, meta in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        buf = io.BytesIO()
        with matplotlib.rc_context(RC):
            fig.savefig(buf, format=ext, metadata=meta)
        path = folder / f"{name}.{ext}"
        atomic_write_bytes(path, buf.getvalue())
        out.append(path)
    return out[0], out[1]


def _new(w: float, h: float) -> Figure:
    with matplotlib.rc_context(RC):
        return Figure(figsize=(w, h), layout="constrained")


def _grid(fig: Figure, n: int, ncols: int):
    nrows = -(-n // ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


# ---------------------------------------------------------------------------- time series
def _bands(ts: pd.DataFrame, metric: str, smooth: int) -> pd.DataFrame:
    v = ts[["scenario", "replicate", "step", metric]].copy()
    v[metric] = v[metric].astype(float)
    if smooth > 1:
        v = v.sort_values(["scenario", "replicate", "step"])
        v[metric] = v.groupby(["scenario", "replicate"], sort=False)[metric].transform(
            lambda x: x.rolling(smooth, min_periods=smooth).mean())  # no value before a full window
    q = v.groupby(["scenario", "step"])[metric].quantile([0.1, 0.5, 0.9]).unstack()
    q.columns = ["q10", "q50", "q90"]
    return q.reset_index()


def timeseries_figure(ts: pd.DataFrame, metrics: list[str], labels: list[str], family: str) -> Figure:
    metrics = [m for m in metrics if m in ts.columns]
    with matplotlib.rc_context(RC):
        fig = _new(10, 2.6 * -(-len(metrics) // 2) + 0.6)
        axes = _grid(fig, len(metrics), 2)
        col = colors(labels)
        for ax, m in zip(axes, metrics):
            count = COLUMNS.get(m, ("",))[0] == "count"
            smooth = SMOOTH_WEEKS if count else 1
            b = _bands(ts, m, smooth)
            for s in labels:
                d = b[b["scenario"] == s]
                ax.fill_between(d["step"], d["q10"], d["q90"], color=col[s], alpha=0.18, linewidth=0)
                ax.plot(d["step"], d["q50"], color=col[s], linewidth=1.4, label=s)
            if m == "hhi":
                for y, txt in ((1500, "moderately concentrated"), (2500, "highly concentrated")):
                    ax.axhline(y, color="0.4", linestyle=":", linewidth=0.8, zorder=1)
                    ax.annotate(txt, (0.99, y), xycoords=("axes fraction", "data"), fontsize=6.5, color="0.25",
                                va="bottom", ha="right", zorder=5, annotation_clip=False,
                                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85})
            ax.set_title(label(m) + (f" per week ({smooth}-week moving mean)" if count else ""))
            ax.set_xlabel("week since the policy took over")
            ax.set_ylabel(unit(m))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_formatter(COMPACT)
            ax.set_ylim(bottom=min(0, ax.get_ylim()[0]))  # counts and levels >= 0: from zero
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=len(labels), frameon=False)
        fig.suptitle(f"{family.capitalize()}: median and 10-90% band across replicates", fontsize=10)
    return fig


# ---------------------------------------------------------------------------- end of run
def distributions_figure(runs: pd.DataFrame, metrics: list[str], labels: list[str]) -> Figure:
    ncols = 4
    with matplotlib.rc_context(RC):
        fig = _new(11, 2.5 * -(-len(metrics) // ncols) + 0.4)
        axes = _grid(fig, len(metrics), ncols)
        col = colors(labels)
        rng = np.random.default_rng(JITTER_SEED)
        for ax, m in zip(axes, metrics):
            data = [runs.loc[runs["scenario"] == s, m].dropna().to_numpy(float) for s in labels]
            bp = ax.boxplot(data, positions=range(len(labels)), widths=0.55, showfliers=False, patch_artist=True,
                            medianprops={"color": "black", "linewidth": 1.2})
            for patch, s in zip(bp["boxes"], labels):
                patch.set_facecolor(col[s])
                patch.set_alpha(0.25)
                patch.set_edgecolor(col[s])
            for i, (x, s) in enumerate(zip(data, labels)):
                jitter = rng.uniform(-0.18, 0.18, x.size)
                ax.scatter(i + jitter, x, s=9, color=col[s], alpha=0.75, linewidths=0, zorder=3)
                if x.size:
                    ax.scatter([i], [x.mean()], marker="D", s=18, color="white", edgecolors="black",
                               linewidths=0.8, zorder=4)
            ax.set_xticks(range(len(labels)), [_tick_name(s) for s in labels])
            ax.yaxis.set_major_formatter(COMPACT)
            ax.set_title(run_label(m, 32))
            ax.set_ylabel(label(m), fontsize=7.5)
            ax.grid(axis="x", visible=False)
            if all(x.size == 0 or x.min() >= 0 for x in data):
                ax.set_ylim(bottom=0)  # from zero: a truncated axis exaggerates gaps
        fig.suptitle("Run-level values (counts: total over the run; levels: last-quarter mean): one dot per "
                     "replicate, box = quartiles, diamond = mean", fontsize=10)
    return fig


def _short(s: str, n: int = 18) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def abbreviations(labels: list[str]) -> dict[str, str]:
    """Short names for tick labels: initials of multi-word labels (targeted_deterrence -> TD), the
    label itself when short; truncated labels if initials would collide."""
    ab = {s: ("".join(w[0] for w in s.replace("-", "_").split("_") if w).upper() if len(s) > 10 and "_" in s
              else s) for s in labels}
    if len(set(ab.values())) < len(ab):
        ab = {s: _short(s, 14) for s in labels}
    return ab


def differences_figure(pairs: pd.DataFrame, metrics: list[str], labels: list[str]) -> Figure:
    """Forest plot: paired difference for every pair of scenarios (``stats.pairwise_table``), mean and
    95% CI, one panel per metric; % of the second scenario's mean only where that mean is clearly
    away from zero (otherwise the percentage is meaningless and is left out)."""
    order = list(dict.fromkeys(zip(pairs["a"], pairs["b"])))
    ab = abbreviations(labels)
    key = "; ".join(f"{v} = {k}" for k, v in ab.items() if v != k)
    ncols = 3
    with matplotlib.rc_context(RC):
        fig = _new(11, (0.45 * len(order) + 1.2) * -(-len(metrics) // ncols) + 0.5)
        axes = _grid(fig, len(metrics), ncols)
        col = colors(labels)
        for ax, m in zip(axes, metrics):
            sub = pairs[pairs["metric"] == m]
            ys = np.arange(len(order))[::-1]
            for y, (a, b) in zip(ys, order):
                r = sub[(sub["a"] == a) & (sub["b"] == b)].iloc[0]
                lo, hi, d = r["diff_ci_low"], r["diff_ci_high"], r["diff"]
                if np.isfinite(lo) and np.isfinite(hi):
                    ax.plot([lo, hi], [y, y], color=col[a], linewidth=2, solid_capstyle="butt")
                ax.plot([d], [y], "o", color=col[a], markersize=5, markeredgecolor=col[b], markeredgewidth=1.2)
                pct = r["diff_pct"]
                txt = (f"{pct:+.0f}%" if np.isfinite(pct) else "ref≈0") + (
                    f"  p{_p(r['p_value'])}" if np.isfinite(r["p_value"]) else "")
                ax.annotate(txt, (1.0, y), xycoords=("axes fraction", "data"), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=6.5, annotation_clip=False)
            ax.axvline(0, color="0.3", linewidth=0.8)
            ax.set_yticks(ys, [f"{ab[a]} − {ab[b]}" for a, b in order], fontsize=7)
            ax.set_ylim(-0.7, len(order) - 0.3)
            ax.set_title(run_label(m, 40))
            ax.set_xlabel(f"difference ({label(m)})", fontsize=7)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
            ax.xaxis.set_major_formatter(COMPACT)
            ax.grid(axis="y", visible=False)
            lo = np.nanmin(np.r_[sub["diff_ci_low"].to_numpy(float), 0.0])
            hi = np.nanmax(np.r_[sub["diff_ci_high"].to_numpy(float), 0.0])
            pad = 0.08 * (hi - lo) if hi > lo else 1.0
            ax.set_xlim(lo - pad, hi + pad)
        fig.suptitle("Paired differences A − B for every pair (same seeds), mean and 95% CI; % of B's mean "
                     "(\"ref≈0\": B's interval includes 0, no percentage)" + (f"\n{key}" if key else ""), fontsize=10)
    return fig


def _p(p: float) -> str:
    """``<0.001`` or ``=0.023`` (to follow a ``p``)."""
    return "<0.001" if p < 0.001 else f"={p:.3f}"


# ---------------------------------------------------------------------------- adequacy
def adequacy_figure(adequacy: pd.DataFrame, metrics: list[str], labels: list[str]) -> Figure:
    ncols = 3
    with matplotlib.rc_context(RC):
        fig = _new(11, 2.6 * -(-len(metrics) // ncols) + 0.6)
        axes = _grid(fig, len(metrics), ncols)
        col = colors(labels)
        for ax, m in zip(axes, metrics):
            a = adequacy[adequacy["metric"] == m]
            positive = bool((a["half_width"] > 0).any())
            for s in labels:
                d = a[(a["scenario"] == s) & (a["what"] == "mean")]
                ax.plot(d["n"], d["half_width"], color=col[s], linewidth=1.4, label=f"{s}: mean")
                d = a[(a["scenario"] == s) & (a["what"] == "difference")]
                if len(d):
                    ax.plot(d["n"], d["half_width"], color=col[s], linewidth=1.2, linestyle="--",
                            label=f"{s} − {labels[0]}")
            ax.set_title(run_label(m, 40))
            ax.set_xlabel("replicates")
            if positive:
                ax.set_ylabel("95% CI half-width (log scale)")
                ax.set_yscale("log", nonpositive="mask")
                ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                ax.yaxis.set_minor_formatter(FuncFormatter(lambda x, pos: ""))
            else:
                ax.set_ylabel("95% CI half-width")
            ax.yaxis.set_major_formatter(COMPACT)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=min(len(names), 3), frameon=False)
        fig.suptitle("Replicate adequacy: 95% CI half-width against the number of replicates "
                     "(solid: a scenario's mean; dashed: paired difference from the reference)", fontsize=10)
    return fig


# ---------------------------------------------------------------------------- maps
def _block_sum(a: np.ndarray, b: int) -> np.ndarray:
    if b <= 1:
        return a
    h, w = a.shape
    H, W = -(-h // b) * b, -(-w // b) * b
    pad = np.zeros((H, W), dtype=float)
    pad[:h, :w] = a
    return pad.reshape(H // b, b, W // b, b).sum(axis=(1, 3))


def map_block(width: int) -> int:
    """Block side (cells) for violence maps: about 25 blocks across."""
    return max(1, round(width / 25))


def maps_figure(maps: dict, labels: list[str], kind: str) -> Figure:
    """Rows: scenarios (replicate 0); columns: snapshot weeks. ``kind``: violence, market or territory."""
    labels = [s for s in labels if s in maps]
    ncols = max(len(maps[s]["steps"]) for s in labels)
    w0 = maps[labels[0]]["width"]
    h0 = maps[labels[0]]["height"]
    aspect = h0 / w0
    with matplotlib.rc_context(RC):
        fig = _new(2.7 * ncols + 1.2, 2.7 * aspect * len(labels) + 0.9)
        axes = fig.subplots(len(labels), ncols, squeeze=False)
        if kind == "violence":
            b = map_block(w0)
            data = {s: [np.ma.masked_less_equal(_block_sum(a, b), 0) for a in maps[s]["incidents"]] for s in labels}
            vmax = max([1.0] + [float(a.max()) for v in data.values() for a in v if a.count()])
            cmap = matplotlib.colormaps["YlOrRd"].with_extremes(bad="#f2f2f2")
            norm = Normalize(vmin=0.5, vmax=max(vmax, 2.0))
            cbar_label = f"violent incidents per {b}×{b}-cell block in the window"
        elif kind == "market":
            data = {s: list(maps[s]["sales"]) for s in labels}
            pos = [a[a > 0] for v in data.values() for a in v]
            vmax = max([float(p.max()) for p in pos if p.size] + [1.0])
            vmin = max(min([float(p.min()) for p in pos if p.size] + [1.0]), vmax * 1e-4)
            cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#f2f2f2")
            norm = LogNorm(vmin=vmin, vmax=vmax)
            data = {s: [np.ma.masked_less_equal(a, 0) for a in v] for s, v in data.items()}
            cbar_label = "units sold per cell in the window (log scale)"
        elif kind == "territory":
            data = {s: list(maps[s]["control"]) for s in labels}
            base = ORG_COLOURS
            n_col = len(base)
            cmap = ListedColormap(np.vstack([[0.95, 0.95, 0.95], base[:, :3]]))
            norm = BoundaryNorm(np.arange(-0.5, n_col + 1.5), cmap.N)
            data = {s: [np.where(a < 0, 0, (a % n_col) + 1) for a in v] for s, v in data.items()}
            cbar_label = None
        else:
            raise ValueError(kind)
        im = None
        for i, s in enumerate(labels):
            m = maps[s]
            for j in range(ncols):
                ax = axes[i, j]
                ax.grid(False)
                ax.tick_params(labelsize=6, length=2)
                if i < len(labels) - 1:  # coordinates (blocks) on the outer panels only
                    ax.tick_params(labelbottom=False)
                elif j == 0:
                    ax.set_xlabel("x (blocks)", fontsize=7)
                if j > 0:
                    ax.tick_params(labelleft=False)
                for sp in ax.spines.values():
                    sp.set_visible(True)
                    sp.set_linewidth(0.5)
                if j >= len(m["steps"]):
                    ax.set_visible(False)
                    continue
                a = data[s][j]
                im = ax.imshow(a, cmap=cmap, norm=norm, origin="lower", interpolation="nearest",
                               extent=(0, m["width"], 0, m["height"]))
                _scale_bar(ax, m["width"], m["height"])
                a0, a1 = m["windows"][j]
                ax.set_title(f"week {a1}" if kind == "territory" else f"weeks {a0}–{a1}", fontsize=8)
                if j == 0:
                    ax.set_ylabel(f"{_short(s, 24)}\ny (blocks)", fontsize=8)
        if cbar_label and im is not None:
            cb = fig.colorbar(im, ax=axes, shrink=0.8, label=cbar_label)
            if kind == "violence":
                cb.locator = MaxNLocator(integer=True)
                cb.update_ticks()
        titles = {"violence": "Where violence happened (replicate 0; grey = no incident)",
                  "market": "Where drugs were sold (replicate 0)",
                  "territory": "Territory: organisation with most street dealers in each cell (replicate 0; "
                               "grey = nobody)"}
        fig.suptitle(titles[kind], fontsize=10)
    return fig


def _scale_bar(ax, width: int, height: int) -> None:
    """A bar of about a fifth of the map's width, labelled in blocks (one cell = one street block)."""
    n = max(1, int(round(width / 5 / 5)) * 5)
    x0, y0 = 0.05 * width, 0.06 * height
    ax.plot([x0, x0 + n], [y0, y0], color="black", lw=2.5, solid_capstyle="butt", zorder=5)
    ax.plot([x0, x0 + n], [y0, y0], color="white", lw=1.0, solid_capstyle="butt", zorder=6)
    ax.text(x0 + n / 2, y0 + 0.03 * height, f"{n} blocks", ha="center", va="bottom", fontsize=5.5, zorder=6,
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})


# ---------------------------------------------------------------------------- all
def make_all(folder: Path, runs: pd.DataFrame, ts: pd.DataFrame, table: pd.DataFrame, adequacy: pd.DataFrame,
             maps: dict, labels: list[str], headline: list[str], key_metrics: list[str]) -> list[FigureInfo]:
    """Draw and save every figure into ``folder``; return their descriptions (paths relative to
    ``folder``'s parent, the comparison folder)."""
    folder = Path(folder)
    rel = folder.name
    out: list[FigureInfo] = []

    def emit(fig, name, title, caption):
        png, _ = save(fig, folder, name)
        out.append(FigureInfo(name, title, caption, f"{rel}/{name}.png", f"{rel}/{name}.svg",
                              base64.b64encode(png.read_bytes()).decode("ascii")))

    n = int(runs["replicate"].nunique())
    for fam, metrics in FAMILIES.items():
        emit(timeseries_figure(ts, metrics, labels, fam), f"timeseries_{fam}", f"{fam.capitalize()} over time",
             f"Weekly {fam} measures: median across the {n} replicates of each scenario (line) and the band between "
             f"the 10th and 90th percentiles. Counts (flows per week) are smoothed with a {SMOOTH_WEEKS}-week "
             "moving mean within each run before taking percentiles; levels are shown as recorded.")
    emit(distributions_figure(runs, headline, labels), "distributions", "End-of-run distributions",
         "Run-level values of the headline metrics, one dot per replicate. Counts are totals over the run, levels "
         "the mean over its last quarter. Box: quartiles and median; diamond: mean.")
    if len(labels) > 1:
        from .stats import pairwise_table

        pairs = pairwise_table(runs, headline, labels)
        emit(differences_figure(pairs, headline, labels), "differences", "Differences between every pair",
             "Paired differences A − B for every pair of scenarios (replicate r of A minus replicate r of B, same "
             "seed): mean and 95% confidence interval, in the metric's units; annotated with the difference as a "
             "percentage of B's mean (left out where B's own interval includes zero) and the paired t-test "
             "p-value. An interval that does not cross the vertical line at 0 is a difference the replicates "
             "resolve.")
    if maps:
        k = max(len(m["steps"]) for m in maps.values())
        any_map = next(iter(maps.values()))
        b = map_block(any_map["width"])
        emit(maps_figure(maps, labels, "violence"), "map_violence", "Map: violence",
             f"Violent incidents of all kinds in replicate 0 of each scenario (the same seed, so the same initial "
             f"city), summed over {k} consecutive windows and over {b}×{b}-cell blocks.")
        emit(maps_figure(maps, labels, "market"), "map_market", "Map: market activity",
             "Units sold per cell in replicate 0 of each scenario, summed over each window (log colour scale; grey: "
             "no sales). The footprint of the market and its displacement.")
        emit(maps_figure(maps, labels, "territory"), "map_territory", "Map: territory",
             "Organisation controlling each cell (most street dealers there) at the last week of each window, "
             "replicate 0. Colours identify organisation slots and are the same in every panel: organisations "
             "present at the start keep their colour across scenarios (60 distinct colours; slots beyond 60 reuse them). "
             "Axes in blocks (one cell = one street block), with a scale bar.")
    if n >= 2:
        emit(adequacy_figure(adequacy, key_metrics, labels), "adequacy", "Replicate adequacy",
             "Half-width of the 95% confidence interval computed from the first n replicates, for n = 2 to "
             f"{n}, on a log scale. Solid: each scenario's mean; dashed: the paired difference from {labels[0]}. The half-width "
             "shrinks roughly as 1/√n: four times the replicates halve it.")
    return out

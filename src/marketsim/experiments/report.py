"""The write-up of a replicated comparison, as Markdown and as standalone HTML.

Both are rendered from one list of blocks (headings, paragraphs, tables, figures), so they
always say the same thing. Figures are referenced by relative paths into ``figures/``.
"""

from __future__ import annotations

import html as _html
import math
import re

import numpy as np
import pandas as pd

from . import stats
from .figures import FigureInfo, label, run_label
from .outcomes import HEADLINE, KEY_METRICS
from .specs import differing_parameters

QUESTION = ("For the same enforcement budget, does aggressive interdiction or targeted deterrence give less "
            "violence, less corruption, and what market concentration?")


def fmt(x, sig: int = 3) -> str:
    """Numbers for tables: thousands separators for large values, ~3 significant digits otherwise."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)) or pd.isna(x):
        return "–"
    x = float(x)
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    if a == 0:
        return "0"
    return f"{x:.{sig}g}" if a >= 1e-3 else f"{x:.2e}"


def _signed(x) -> str:
    s = fmt(x)
    return s if s.startswith("-") or s == "–" or s == "0" else "+" + s


def _p(p) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _p_rel(p) -> str:
    s = _p(p)
    return s.replace("<", "< ") if s.startswith("<") else f"= {s}"


# ---------------------------------------------------------------------------- blocks
class Doc:
    def __init__(self):
        self.blocks: list[tuple] = []

    def h(self, level: int, text: str):
        self.blocks.append(("h", level, text))

    def p(self, text: str):
        self.blocks.append(("p", text))

    def ul(self, items: list[str]):
        self.blocks.append(("ul", items))

    def table(self, header: list[str], rows: list[list[str]], align: list[str] | None = None):
        self.blocks.append(("table", header, rows, align or ["l"] + ["r"] * (len(header) - 1)))

    def fig(self, f: FigureInfo):
        self.blocks.append(("fig", f))

    def code(self, text: str):
        self.blocks.append(("code", text))

    def note(self, text: str):
        """A highlighted paragraph (warnings, the summary)."""
        self.blocks.append(("note", text))

    # ------------------------------------------------------------------ markdown
    def markdown(self) -> str:
        out = []
        for b in self.blocks:
            kind = b[0]
            if kind == "h":
                out.append("#" * b[1] + " " + b[2])
            elif kind == "p":
                out.append(b[1])
            elif kind == "ul":
                out.append("\n".join(f"- {i}" for i in b[1]))
            elif kind == "table":
                header, rows, align = b[1], b[2], b[3]
                sep = [(":--" if a == "l" else "--:") for a in align]
                lines = ["| " + " | ".join(_md_cell(c) for c in header) + " |", "|" + "|".join(sep) + "|"]
                lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
                out.append("\n".join(lines))
            elif kind == "fig":
                f = b[1]
                out.append(f"**{f.title}**\n\n![{f.title}]({f.png})\n\n{f.caption} "
                           f"([SVG]({f.svg}))")
            elif kind == "code":
                out.append("```\n" + b[1] + "\n```")
            elif kind == "note":
                out.append("> " + b[1])
        return "\n\n".join(out) + "\n"

    # ------------------------------------------------------------------ html
    def html(self, title: str) -> str:
        body = []
        for b in self.blocks:
            kind = b[0]
            if kind == "h":
                body.append(f"<h{b[1]}>{_inline(b[2])}</h{b[1]}>")
            elif kind == "p":
                body.append(f"<p>{_inline(b[1])}</p>")
            elif kind == "ul":
                body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b[1]) + "</ul>")
            elif kind == "table":
                header, rows, align = b[1], b[2], b[3]
                cls = ['' if a == "l" else ' class="num"' for a in align]
                th = "".join(f"<th{c}>{_inline(h)}</th>" for h, c in zip(header, cls))
                trs = "".join("<tr>" + "".join(f"<td{c}>{_inline(v)}</td>" for v, c in zip(r, cls)) + "</tr>"
                              for r in rows)
                body.append(f'<div class="tw"><table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table></div>')
            elif kind == "fig":
                f = b[1]
                # embedded PNG: report.html alone shows every figure (links to the SVG/PNG files remain)
                src = f"data:image/png;base64,{f.png_base64}" if getattr(f, "png_base64", "") else _html.escape(f.svg)
                body.append(f'<figure id="{_html.escape(f.id)}"><a href="{_html.escape(f.svg)}">'
                            f'<img src="{src}" alt="{_html.escape(f.title)}"></a>'
                            f"<figcaption><b>{_html.escape(f.title)}.</b> {_inline(f.caption)} "
                            f'(<a href="{_html.escape(f.png)}">PNG</a>)</figcaption></figure>')
            elif kind == "code":
                body.append(f"<pre><code>{_html.escape(b[1])}</code></pre>")
            elif kind == "note":
                body.append(f'<p class="note">{_inline(b[1])}</p>')
        return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                f"<title>{_html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
                + "\n".join(body) + "\n</body>\n</html>\n")


CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;
line-height:1.45;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;font-size:.88em;margin:.6em 0}th,td{border:1px solid #ddd;padding:.25em .5em;
vertical-align:top}th{background:#f4f4f4}td.num,th.num{text-align:right;white-space:nowrap}
.tw{overflow-x:auto}figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#444}code{background:#f4f4f4;padding:0 .2em}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em}
.note{background:#fff6e0;border-left:4px solid #e0a000;padding:.5em .8em}
td.num{white-space:normal}
"""


def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _inline(text: str) -> str:
    """Escape, then render the little Markdown used here: `code`, **bold**, [text](link)."""
    t = _html.escape(str(text), quote=False)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    t = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', t)
    return t


# ---------------------------------------------------------------------------- plain language
SUMMARY_METRICS = ["homicides", "violent_incidents", "corrupted_officer_share", "hhi"]
DYNAMICS_METRICS = ["violent_incidents", "homicides", "corrupted_officer_share"]
PEAK_WEEKS = 13
FEW_REPLICATES = 10


def describe(scenario) -> str:
    """What a scenario is, generated from its resolved parameters (so it never goes stale)."""
    w, e = scenario.world, scenario.enforcement
    years = w.steps / 52
    span = f"{w.steps} weeks" + (f" ({years:.3g} years)" if w.steps >= 52 else "")
    return (f"{w.width}×{w.height} blocks, {w.users:,} users, {w.dealers:,} dealers in {w.organizations} organisations, "
            f"{e.officers} officers; imports {scenario.supply.import_volume:,.0f} units/week; {span} after a "
            f"{w.burn_in}-week burn-in; policy `{e.policy}`")


def _amount(metric: str, x: float) -> str:
    if metric.endswith("_share"):
        return f"{100 * abs(x):.2g} percentage points"
    return fmt(abs(x))


def _clause(metric: str, r) -> str:
    """'225 fewer homicides (95% CI 201 to 248 fewer, −62%)' or 'share of officers corrupted: no clear
    difference (+0.003, 95% CI −0.006 to +0.012)': what A had compared with B."""
    name = label(metric)
    lo, hi, d = r["diff_ci_low"], r["diff_ci_high"], r["diff"]
    resolved = np.isfinite(lo) and (lo > 0 or hi < 0)
    if not resolved:
        return f"{name}: no clear difference ({_signed(d)}, 95% CI {_signed(lo)} to {_signed(hi)})"
    up = d > 0
    near, far = sorted([abs(lo), abs(hi)])
    pct = f", {r['diff_pct']:+.0f}%" if np.isfinite(r["diff_pct"]) else ""
    lo_num = f"{100 * near:.2g}" if metric.endswith("_share") else fmt(near)
    if _kind(metric) == "count":
        word = "more" if up else "fewer"
        return f"{_amount(metric, d)} {word} {name} (95% CI {lo_num} to {_amount(metric, far)} {word}{pct})"
    word = "higher" if up else "lower"
    return f"{name} {word} by {_amount(metric, d)} (95% CI {lo_num} to {_amount(metric, far)}{pct})"


def _kind(metric: str) -> str:
    from ..metrics import COLUMNS

    return COLUMNS.get(metric, ("",))[0]


def dynamics_table(ts: pd.DataFrame, labels: list[str], metrics: list[str]) -> tuple[list[str], list[list[str]]]:
    """Per scenario and metric: yearly values (counts: totals per year; levels: yearly means; mean
    over replicates) and the peak of the 13-week moving mean (per week) with the week it ends."""
    steps = int(ts["step"].max())
    years = [(1 + 52 * k, min(52 * (k + 1), steps)) for k in range(-(-steps // 52))]
    win = min(PEAK_WEEKS, steps)
    header = ["metric", "scenario",
              *[f"year {k + 1}" + ("" if b - a == 51 else f" (weeks {a}–{b})") for k, (a, b) in enumerate(years)],
              f"peak {win}-week mean, per week", "week of peak (median)"]
    rows = []
    for m in metrics:
        if m not in ts.columns:
            continue
        count = _kind(m) == "count"
        for s in labels:
            d = ts[ts["scenario"] == s].sort_values(["replicate", "step"])
            row = [run_label(m).split(",")[0], s]
            for a, b in years:
                w = d[(d["step"] >= a) & (d["step"] <= b)].groupby("replicate")[m]
                row.append(fmt((w.sum() if count else w.mean()).mean()))
            roll = d.groupby("replicate")[m].transform(lambda x: x.rolling(win, min_periods=win).mean())
            d = d.assign(_roll=roll).dropna(subset=["_roll"])
            if len(d):
                idx = d.groupby("replicate")["_roll"].idxmax()
                peaks = d.loc[idx]
                row += [fmt(peaks["_roll"].mean()), f"{int(peaks['step'].median())}"]
            else:
                row += ["–", "–"]
            rows.append(row)
    return header, rows


# ---------------------------------------------------------------------------- content
def _question(specs, diffs) -> str:
    keys = {k for k, _ in diffs}
    if keys == {"enforcement.policy"} and len(specs) > 1:
        ref = specs[0]

        def name(sp):
            pol = sp.scenario.enforcement.policy
            return f"**{sp.label}**" + ("" if pol == sp.label else f" (policy `{pol}`)")

        others = ", ".join(name(sp) for sp in specs[1:])
        return (f"{QUESTION} Here: in the same city, with the same enforcement budget, how do {others} compare with "
                f"{name(ref)} in violence, corruption, market concentration and the market itself?")
    if len(specs) == 1:
        return f"What are the outcomes of **{specs[0].label}**, and how much do they vary between replicates?"
    return (f"How do {', '.join(f'**{sp.label}**' for sp in specs[1:])} differ from **{specs[0].label}** in "
            "violence, corruption, market concentration and the market, with the same seeds (common random "
            "numbers)?")


def render(result, figs: list[FigureInfo], question: str | None = None, headline: list[str] | None = None,
           key_metrics: list[str] | None = None) -> tuple[str, str]:
    """``(markdown, html)`` of the report for a :class:`marketsim.experiments.compare.CompareResult`."""

    headline = headline or HEADLINE
    key_metrics = key_metrics or KEY_METRICS
    specs = result.specs
    labels = [sp.label for sp in specs]
    prov = result.provenance
    table = result.comparison
    runs = result.runs
    n = prov["replicates"]
    diffs = differing_parameters(specs)
    doc = Doc()
    title = "Policy comparison: " + " vs ".join(labels)
    doc.h(1, title)
    doc.p(f"{len(labels)} scenarios × {n} replicates, common random numbers (root seed {prov['root_seed']}). "
          f"Created {prov['created_utc']} UTC by `{prov['command']}`.")
    if n < FEW_REPLICATES:
        doc.note(f"**Warning: only {n} replicate{'s' if n != 1 else ''} per scenario.** Intervals from fewer than "
                 f"{FEW_REPLICATES} replicates are rough and a difference can look resolved by chance; rerun with "
                 f"`--replicates {max(FEW_REPLICATES, 2 * n)}` or more before drawing conclusions.")
    pairs = stats.pairwise_table(runs, list(dict.fromkeys(SUMMARY_METRICS + list(headline))), labels,
                                 method=prov.get("ci_method", "t")) if len(labels) > 1 and n >= 2 else None
    if pairs is not None:
        doc.h(2, "In short")
        first = pairs[pairs["metric"].isin(SUMMARY_METRICS)]
        items = []
        for a, b in stats.pair_order(labels):
            sub = first[(first["a"] == a) & (first["b"] == b)].set_index("metric")
            clauses = [_clause(m, sub.loc[m]) for m in SUMMARY_METRICS if m in sub.index]
            items.append(f"**{a}** compared with **{b}**: " + "; ".join(clauses) + ".")
        doc.ul(items)
        doc.p(f"Paired over {n} replicates (same seeds, same initial city); counts (homicides, incidents) are "
              f"totals over the {specs[0].scenario.world.steps} weeks, levels (share corrupted, HHI) means over "
              "the last quarter. \"No clear difference\": the 95% interval includes zero. Details below.")

    if prov.get("runs_failed"):
        doc.p(f"**{prov['runs_failed']} of {prov['runs_planned']} runs failed** and are left out of every table and "
              "figure (errors and tracebacks in `store/failed/`; rerunning the same command tries them again): "
              + "; ".join(f"{f['scenario']} replicate {f['replicate']}: `{f['error']}`"
                          for f in prov.get("failed_runs", [])[:20]) + ".")

    doc.h(2, "Question")
    doc.p(question or _question(specs, diffs))

    # ------------------------------------------------------------ design
    doc.h(2, "Scenarios")
    rows = []
    for sp in specs:
        rows.append([f"**{sp.label}**", f"`{sp.source}`", describe(sp.scenario)])
    doc.table(["scenario", "file", "as run (from the resolved parameters, overrides included)"], rows, ["l"] * 3)
    if diffs:
        doc.p("Parameters that differ between the scenarios (everything else is identical):")
        doc.table(["parameter", *labels], [[f"`{k}`", *[f"`{v}`" for v in vals]] for k, vals in diffs],
                  ["l"] * (1 + len(labels)))
    elif len(specs) > 1:
        doc.p("The scenarios have identical parameters (an A/A comparison): every difference is zero by construction.")
    if prov["overrides"] or prov["steps_override"]:
        ovr = list(prov["overrides"]) + ([f"world.steps={prov['steps_override']}"] if prov["steps_override"] else [])
        doc.p("Overrides applied to every scenario: " + ", ".join(f"`{o}`" for o in ovr) + ".")

    doc.h(2, "Design")
    wc = prov["world_check"]
    if len(specs) == 1:
        crn = ""
    elif wc["all_identical"]:
        crn = (f" In all {wc['replicates']} replicates every scenario started from the identical initial world "
               "(same SHA-256 of the world's arrays, recorded in `runs.parquet`), so the scenarios differ only by "
               "their parameters and the random events that follow from them.")
    else:
        crn = (f" **Warning:** {', '.join(wc['scenarios_with_other_worlds'])} started from a different initial world "
               f"than {labels[0]} (identical in {wc['replicates_identical']} of {wc['replicates']} replicates): their "
               "parameters change the world that is built, so the paired differences mix the effect of the policy "
               "with that of a different city. Use `--require-same-world` to refuse such comparisons.")
    doc.ul([
        f"**Replicates:** {n} per scenario; replicate r of every scenario uses the seed "
        f"`numpy.random.SeedSequence({prov['root_seed']}, spawn_key=(r,))` (common random numbers)." + crn,
        "**Run-level metrics:** counts (flows: incidents, arrests, bribes, units sold, ...) are totals over the run; "
        "levels (states and rates: HHI, share of officers corrupted, price, ...) are means over the last quarter of "
        "the run, after the market has adapted to the policy (`marketsim.metrics.COLUMNS`). Where the time-series "
        "figures still trend in the last quarter, the results depend on the run length.",
        f"**Intervals:** 95% confidence intervals of the mean across replicates "
        f"({'Student t' if prov['ci_method'] == 't' else 'percentile bootstrap, 2,000 resamples, fixed seed'}). "
        f"Differences are paired: replicate r minus replicate r of **{labels[0]}**, with the same kind of interval "
        "and a two-sided paired t-test p-value. p-values are per metric, not adjusted for the number of metrics "
        "compared.",
        "**Uncertainty covered:** stochastic variation of the model under fixed parameters; not parameter "
        "uncertainty (see the sensitivity analysis) nor structural uncertainty of the model.",
    ])

    # ------------------------------------------------------------ results
    doc.h(2, "Results")
    doc.p("Mean of each scenario with its 95% interval. Every quantity here is non-negative, so its interval is a "
          "percentile bootstrap of the mean (2,000 resamples, fixed seed), which stays within the range the "
          "quantity can take (a Student t interval can fall below zero for rare events).")
    rows = []
    for m in headline:
        if m not in runs.columns:
            continue
        wide = runs.pivot(index="replicate", columns="scenario", values=m)
        row = [run_label(m)]
        for s in labels:
            r = stats.range_respecting_ci(wide[s].to_numpy(float))
            row.append(f"{fmt(r['mean'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]")
        rows.append(row)
    doc.table(["metric", *labels], rows)
    if pairs is not None:
        order = stats.pair_order(labels)
        doc.h(3, "Differences between every pair of scenarios")
        doc.p("Paired difference A − B (replicate r minus replicate r: same seed, same initial city), mean and 95% CI "
              f"({'Student t' if prov['ci_method'] == 't' else 'percentile bootstrap'}), % of B's mean where B "
              "is clearly away from zero, and the paired t-test p-value (not adjusted for the number of metrics).")
        rows = []
        for m in headline:
            sub = pairs[pairs["metric"] == m]
            if sub.empty:
                continue
            row = [run_label(m)]
            for a_, b_ in order:
                r = sub[(sub["a"] == a_) & (sub["b"] == b_)].iloc[0]
                pct = f" ({r['diff_pct']:+.0f}%)" if np.isfinite(r["diff_pct"]) else ""
                nb = "\u00a0"  # keep each part on one line; the cell wraps between parts
                row.append(f"{_signed(r['diff'])}{pct.replace(' ', nb)} "
                           f"[{_signed(r['diff_ci_low'])},{nb}{_signed(r['diff_ci_high'])}] p{nb}{_p(r['p_value'])}")
            rows.append(row)
        doc.table(["metric", *[f"{a_} − {b_}" for a_, b_ in order]], rows)

    doc.h(3, "Dynamics: violence and corruption year by year, and their peak")
    header, rows = dynamics_table(result.timeseries, labels, DYNAMICS_METRICS)
    doc.p(f"Mean over replicates: per-year totals of counts and per-year means of levels; the peak is the highest "
          f"{PEAK_WEEKS}-week moving mean of each run (weeks before the first full window are left out, so there "
          "is no start-up artefact), averaged over replicates, with the median week at which that window ends. "
          "End levels alone hide a transient: compare the peak with the last year.")
    doc.table(header, rows, ["l", "l"] + ["r"] * (len(header) - 2))
    doc.p("Every metric (also those not shown) is in `comparison.csv`; every run in `runs.parquet`; every week of "
          "every run in `timeseries.parquet`.")

    doc.h(2, "Figures")
    for fi in figs:
        doc.fig(fi)
    if not figs:
        doc.p("Figures were not drawn for this comparison (`figures=False`).")

    # ------------------------------------------------------------ adequacy
    doc.h(2, "Are there enough replicates?")
    if n >= 2:
        rows = []
        for m in key_metrics:
            sub = table[table["metric"] == m].set_index("scenario")
            row = [run_label(m)]
            for s in labels:
                r = sub.loc[s]
                rel = (r["ci_high"] - r["mean"]) / abs(r["mean"]) if r["mean"] else float("nan")
                need = stats.replicates_needed(r["sd"], 0.1 * abs(r["mean"])) if r["mean"] else None
                row.append(f"±{100 * rel:.1f}%" + (f" (n≥{need} for ±10%)" if need and need > n else "")
                           if np.isfinite(rel) else "–")
            for s in labels[1:]:
                r = sub.loc[s]
                hw = (r["diff_ci_high"] - r["diff_ci_low"]) / 2
                corr = f" (r = {r['pair_corr']:.2f})" if np.isfinite(r["pair_corr"]) else ""
                row.append(f"±{fmt(hw)}{corr}" if np.isfinite(hw) else "–")
            rows.append(row)
        doc.p(f"Half-width of the 95% CI with {n} replicates, relative to the mean (and, where it is above 10%, the "
              "replicates that would bring it to ±10%), and the absolute half-width of the paired differences with "
              "the correlation r of paired replicates. Common random numbers narrow a difference's interval only "
              "as far as r is positive (var(a − b) = var a + var b − 2 cov(a, b)): r near 0 means the two "
              "scenarios' runs have lost step with each other and pairing buys little.")
        doc.table(["metric", *[f"{s}: mean ±" for s in labels], *[f"{s} − {labels[0]} ±" for s in labels[1:]]], rows)
    else:
        doc.p("One replicate: no confidence intervals. Run at least 2 (and, for most metrics, 10 or more).")

    # ------------------------------------------------------------ provenance
    doc.h(2, "Provenance")
    v = prov["versions"]
    doc.ul([
        f"**Command:** `{prov['command']}`",
        f"**Seeds:** {prov['seeds']}",
        f"**Executor:** {prov['executor']}; {len(runs)} runs in {prov['wall_s_runs']:.1f} s wall time "
        f"({prov['run_wall_s_sum']:.1f} s of run time in total).",
        "**Versions:** " + ", ".join(f"{k} {val}" for k, val in v.items()),
        "**Initial worlds:** SHA-256 of every run's initial state in `runs.parquet` (`initial_world_sha256`); "
        + "replicate 0: " + ", ".join(f"{labels[i]} `{fp[:12]}`" for i, fp in
                                      enumerate(runs[runs['replicate'] == 0].sort_values('scenario_index')
                                                ['initial_world_sha256'])) + ".",
        "**Reproduce one run:** the fully resolved scenarios are in `scenarios/`; in Python, "
        "`DrugMarketModel(load_scenario(\"scenarios/<label>.toml\"), seed=numpy.random.SeedSequence(ROOT, "
        "spawn_key=(r,)))` rebuilds replicate r of that scenario exactly.",
        "**Files:** `runs.parquet`, `timeseries.parquet`, `comparison.csv`, `adequacy.csv`, `compare.json` "
        "(all of this provenance, machine-readable), `scenarios/*.toml`, `figures/`.",
    ])
    return doc.markdown(), doc.html(title)


__all__ = ["render", "fmt", "label"]

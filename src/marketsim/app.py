"""The explorer: watch one city week by week under a chosen policy (Mesa SolaraViz).

    marketsim explore                      # serves http://127.0.0.1:8765 (needs the [viz] extra)
    solara run marketsim.app --host 127.0.0.1

Maps show, per street block: where violence happened, where drugs were sold, which
organisation controls the block and where officers are posted; plots show violence,
corruption, concentration, price and arrests as the weeks go by. Controls in the side bar
choose the policy, the number of users, officers, the weekly import volume and the seed;
changing one builds a new city (the market first settles for ``world.burn_in`` weeks under
minimal patrol, as in every run). Every browser session gets its own model.

``city_maps(model)`` draws the same four maps anywhere (e.g. in a notebook); it does not touch
matplotlib's global backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from marketsim.model import DrugMarketModel
from marketsim.policies import registry
from marketsim.scenario import Scenario, parse_scenario

#: The explorer's starting city: small enough that a week and its maps take well under a second.
DEFAULTS: dict[str, Any] = {"policy": "targeted_deterrence", "users": 3000, "officers": 40,
                            "import_volume": 4800, "seed": 1}
SETTINGS = tuple(DEFAULTS)


def explorer_scenario(policy: str, users: int, officers: int, import_volume: float, seed: int) -> Scenario:
    """The explorer's city for these control values: the default scenario scaled to ``users``
    (about one user per block, one dealer per 33 users, border inspections scaled alike)."""
    side = int(max(30, round(users ** 0.5)))
    return parse_scenario({"name": "explorer"}, overrides=[
        f"world.width={side}", f"world.height={side}", f"world.users={int(users)}",
        f"world.dealers={max(6, int(users) // 33)}", "world.organizations=5",
        f"world.district_size={max(5, side // 4)}", "world.hotspots=6",
        f"enforcement.officers={int(officers)}", f"enforcement.policy={policy}",
        f"supply.import_volume={float(import_volume)}",
        f"enforcement.interdiction_capacity={0.4 * int(users)}", f"seed={int(seed)}",
    ])


class AppModel(DrugMarketModel):
    """A ``DrugMarketModel`` built from the explorer's control values.

    Any value not given comes from the class attribute ``settings`` (the explorer gives every
    browser session its own subclass whose ``settings`` follow the session's controls, so
    Mesa's Reset button rebuilds the city the controls show). Mesa's SolaraViz creates models
    from keyword arguments; Mesa >= 3.5 also passes its own ``scenario`` object, which is not a
    marketsim scenario and is ignored.
    """

    settings: dict[str, Any] = DEFAULTS

    def __init__(self, policy: str | None = None, users: int | None = None, officers: int | None = None,
                 import_volume: float | None = None, seed: int | None = None, **kwargs):
        given = {"policy": policy, "users": users, "officers": officers, "import_volume": import_volume,
                 "seed": seed}
        kwargs.pop("scenario", None)  # Mesa 3.5's Reset passes a mesa.experimental Scenario
        kwargs.pop("rng", None)  # the seed control is the only source of randomness
        if kwargs:
            raise TypeError(f"AppModel: unexpected parameters {sorted(kwargs)}")
        self.controls = {k: (type(self).settings[k] if v is None else v) for k, v in given.items()}
        super().__init__(explorer_scenario(**self.controls), seed=int(self.controls["seed"]))


# ----------------------------------------------------------------------------- maps
# 60 distinguishable colours for organisations (slot mod 60); the legend names the largest.
# tab10 first (the ten most distinct), then the light halves of tab20, then tab20b and tab20c.
_ORG_COLOURS = np.vstack([np.asarray(colormaps["tab10"].colors), np.asarray(colormaps["tab20"].colors)[1::2],
                          np.asarray(colormaps["tab20b"].colors), np.asarray(colormaps["tab20c"].colors)])
ORG_CMAP = ListedColormap(_ORG_COLOURS, name="organisations")


def _scale_bar(ax, width: int, height: int) -> None:
    n = max(1, int(round(width / 5 / 5)) * 5)  # about a fifth of the width, a multiple of 5
    x0, y0 = 0.04 * width, 0.05 * height
    ax.plot([x0, x0 + n], [y0, y0], color="black", lw=3, solid_capstyle="butt")
    ax.plot([x0, x0 + n], [y0, y0], color="white", lw=1.2, solid_capstyle="butt")
    ax.text(x0 + n / 2, y0 + 0.025 * height, f"{n} blocks", ha="center", va="bottom", fontsize=7,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})


def city_maps(model: DrugMarketModel, figsize=(10, 8.6)) -> Figure:
    """Four maps of the city this week (2 x 2): violence, sales, territory, police.

    Axes are block coordinates (one cell = one street block) with a scale bar; the territory
    map colours up to 60 organisations distinctly and names the largest in its legend.
    """
    s = model.state
    shape = (s.height, s.width)
    fig = Figure(figsize=figsize)  # fixed layout: constrained layout costs seconds per frame
    axes = fig.subplots(2, 2, gridspec_kw={"left": 0.06, "right": 0.92, "bottom": 0.06, "top": 0.9,
                                           "wspace": 0.55, "hspace": 0.3})
    ext = (0, s.width, 0, s.height)
    panels = [
        (axes[0, 0], "violence (recent incidents, decayed)", s.cell_violence, "Reds", "incidents"),
        (axes[0, 1], "retail sales this week", s.cell_sales, "viridis", "units sold"),
        (axes[1, 1], "police posted", s.cell_police, "Blues", "officers"),
    ]
    for ax, title, data, cmap, unit in panels:
        data = np.asarray(data, dtype=float).reshape(shape)
        im = ax.imshow(data, cmap=cmap, origin="lower", interpolation="nearest", extent=ext,
                       vmin=0, vmax=max(float(data.max()), 1e-9))
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label=unit)
        ax.set_title(title, fontsize=10)

    ax = axes[1, 0]
    control = np.asarray(s.cell_control).reshape(shape)
    coloured = np.where(control < 0, np.nan, control % len(_ORG_COLOURS))
    ax.imshow(coloured, cmap=ORG_CMAP, vmin=-0.5, vmax=len(_ORG_COLOURS) - 0.5, origin="lower",
              interpolation="nearest", extent=ext)
    held = np.bincount(control[control >= 0].ravel(), minlength=s.max_orgs)
    order = [int(o) for o in np.argsort(-held, kind="stable") if held[o] > 0]
    shown = order[:8]
    handles = [Patch(color=_ORG_COLOURS[o % len(_ORG_COLOURS)], label=f"org {o}: {held[o]} blocks")
               for o in shown]
    if len(order) > len(shown):
        handles.append(Patch(color="none", label=f"+{len(order) - len(shown)} smaller"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              title="controlled by", title_fontsize=7)
    ax.set_title(f"territory ({len(order)} organisations hold blocks; blank: nobody)", fontsize=10)

    for ax in axes.ravel():
        ax.set_xlabel("x (blocks)", fontsize=8)
        ax.set_ylabel("y (blocks)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_aspect("equal")
        _scale_bar(ax, s.width, s.height)
    fig.suptitle(f"week {model.steps} - policy {model.params.enforcement.policy} - "
                 f"{model.params.world.users:,} users, {model.params.enforcement.officers} officers",
                 fontsize=11)
    return fig


# ----------------------------------------------------------------------------- plots
PLOTS: list[tuple[list[str], str]] = [
    (["violent_incidents", "homicides"], "incidents per week"),
    (["corrupted_officer_share"], "share of officers corrupted (0-1)"),
    (["hhi"], "HHI of organisation sales (0-10,000)"),
    (["retail_price"], "retail price ($/unit)"),
    (["arrests", "leader_arrests"], "arrests per week"),
    (["n_organizations"], "organisations (2+ members)"),
]


def metric_plots(model: DrugMarketModel, figsize=(10, 5.4)) -> Figure:
    """The weekly metrics so far, one panel per entry of :data:`PLOTS` (one figure: drawing one
    figure with fixed margins is several times cheaper than one figure per plot)."""
    df = model.datacollector.get_model_vars_dataframe()
    weeks = np.arange(1, len(df) + 1)
    fig = Figure(figsize=figsize)
    axes = fig.subplots(2, 3, gridspec_kw={"left": 0.07, "right": 0.98, "bottom": 0.1, "top": 0.9,
                                           "wspace": 0.32, "hspace": 0.5}).ravel()
    for ax, (measures, ylabel) in zip(axes, PLOTS):
        for i, m in enumerate(measures):
            ax.plot(weeks, df[m].to_numpy(float) if len(df) else [], color=f"C{i}", lw=1.3,
                    label=m.replace("_", " "))
        ax.set_title(ylabel, fontsize=9)
        ax.set_xlabel("week", fontsize=8)
        ax.set_xlim(0, max(10, len(df)))
        ax.set_ylim(bottom=0, top=None if len(df) else 1)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if len(measures) > 1:
            ax.legend(fontsize=7, loc="upper left", frameon=False)
    for ax in axes[len(PLOTS):]:
        ax.set_visible(False)
    fig.suptitle(f"week by week since the policy took over (week {model.steps})", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- page
def _build_page():
    import warnings

    # solara's rules-of-hooks check flags Mesa's own SolaraViz (mesa/visualization/solara_viz.py,
    # ComponentsView) when Mesa defines it; the pattern is Mesa's, harmless, and not ours to change
    warnings.filterwarnings("ignore", message=r"[\s\S]*ComponentsView: `use_state` found despite early return",
                            category=UserWarning)
    import solara
    from mesa.visualization import SolaraViz
    from mesa.visualization.utils import update_counter

    @solara.component
    def Maps(model):
        update_counter.get()
        fig = solara.use_memo(lambda: city_maps(model), dependencies=[model, model.steps])
        with solara.Card(style={"max-width": "1000px"}):
            solara.FigureMatplotlib(fig, format="png", dependencies=[model, model.steps])

    @solara.component
    def Plots(model):
        update_counter.get()
        fig = solara.use_memo(lambda: metric_plots(model), dependencies=[model, model.steps])
        with solara.Card(style={"max-width": "1000px"}):
            solara.FigureMatplotlib(fig, format="png", dependencies=[model, model.steps])

    @solara.component
    def WeekInfo(model):
        # plain text, not solara.Markdown: Markdown pulls KaTeX from a CDN, which is not there offline
        update_counter.get()
        c = model.controls
        solara.Text(f"Week {model.steps}", style={"font-size": "1.4em", "font-weight": "bold"})
        solara.Text(f"since the policy took over: policy {c['policy']}, {int(c['users']):,} users, "
                    f"{int(c['officers'])} officers, import {float(c['import_volume']):,.0f} units/week, "
                    f"seed {int(c['seed'])}")

    @solara.component
    def Controls(model: solara.Reactive, model_class):
        """Policy, users, officers, import volume and seed; every change builds a new city."""
        settings = model_class.settings

        def change(name):
            def set_value(value):
                if value is None or value == settings.get(name):
                    return
                model_class.settings = {**model_class.settings, name: value}
                model.value = model_class()
            return set_value

        solara.Select("policy", value=settings["policy"], values=sorted(registry), on_value=change("policy"))
        solara.SliderInt(f"users: {settings['users']:,}", value=settings["users"], min=500, max=20000, step=500,
                         on_value=change("users"))
        solara.SliderInt(f"officers: {settings['officers']}", value=settings["officers"], min=0, max=200, step=5,
                         on_value=change("officers"))
        solara.SliderInt(f"import volume: {settings['import_volume']:,} units/week",
                         value=int(settings["import_volume"]), min=0, max=40000, step=200,
                         on_value=change("import_volume"))
        solara.InputInt("seed", value=int(settings["seed"]), on_value=change("seed"), continuous_update=False)
        solara.Text("Changing a control builds a new city: the market settles first, then the "
                    "policy takes over at week 0. One step is one week.")

    @solara.component
    def Page():
        # One model class and one model per browser session (solara renders Page once per session).
        model_class = solara.use_memo(lambda: type("AppModel", (AppModel,), {"settings": dict(DEFAULTS)}), [])
        model = solara.use_reactive(solara.use_memo(lambda: model_class(), []))
        # SolaraViz: app bar, side bar, Step / Play / Reset, Mesa's step counter; the maps and the
        # plots sit full width in the main area (SolaraViz's grid would give each half a row)
        SolaraViz(model, components=[], name="marketsim explorer", play_interval=50)
        with solara.Column(style={"width": "100%"}):
            Maps(model.value)
            Plots(model.value)
        with solara.Sidebar():  # below SolaraViz's own cards (step / play / reset come first)
            with solara.Card("City and policy"):
                WeekInfo(model.value)
                Controls(model, model_class)

    return Page


try:  # `solara run marketsim.app` renders the module-level `Page` component
    Page = _build_page()
except ImportError:  # the [viz] extra is not installed: city_maps() and AppModel still work
    Page = None

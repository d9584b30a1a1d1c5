"""Interactive view (Mesa SolaraViz): watch the city week by week under a chosen policy.

    pip install -e ".[viz]"
    solara run src/marketsim/app.py

Maps show, per street block: retail sales, recent violence, which organisation
controls it, and where officers are posted; plots show violence, corruption and
concentration as they evolve. Built on a small city so that it stays responsive.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from marketsim.model import DrugMarketModel  # noqa: E402
from marketsim.policies import registry  # noqa: E402
from marketsim.scenario import parse_scenario  # noqa: E402


class AppModel(DrugMarketModel):
    """DrugMarketModel built from a few slider values (SolaraViz instantiates models from keyword arguments)."""

    def __init__(self, policy: str = "targeted_deterrence", users: int = 3000, officers: int = 40,
                 organizations: int = 5, seed: int = 1, rng=None, **_):
        side = int(max(30, round((users / 1.0) ** 0.5)))
        sc = parse_scenario({}, overrides=[
            f"world.width={side}", f"world.height={side}", f"world.users={users}",
            f"world.dealers={max(organizations, users // 33)}", f"world.organizations={organizations}",
            f"world.district_size={max(5, side // 4)}", f"enforcement.officers={officers}",
            f"enforcement.policy={policy}", f"supply.import_volume={1.6 * users}",
            f"enforcement.interdiction_capacity={0.4 * users}", "world.hotspots=6",
        ])
        super().__init__(sc, seed=seed if rng is None else int(rng))


def city_maps(model: DrugMarketModel):
    """Four maps of the city this week: sales, violence, territory, police."""
    s = model.state
    shape = (s.height, s.width)
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
    layers = [
        ("retail sales (units)", s.cell_sales.reshape(shape), "viridis"),
        ("violence (decayed incidents)", s.cell_violence.reshape(shape), "inferno"),
        ("territory (controlling organisation)", np.where(s.cell_control < 0, np.nan, s.cell_control).reshape(shape),
         "tab20"),
        ("officers covering", s.cell_police.reshape(shape), "Blues"),
    ]
    for ax, (title, data, cmap) in zip(axes, layers):
        im = ax.imshow(data, cmap=cmap, origin="lower", interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        if title != "territory (controlling organisation)":
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    fig.suptitle(f"week {model.steps} - policy {model.params.enforcement.policy}", fontsize=10)
    fig.tight_layout()
    return fig


def _page():
    import solara
    from mesa.visualization import SolaraViz, make_plot_component

    @solara.component
    def Maps(model):
        from mesa.visualization.utils import update_counter

        update_counter.get()
        fig = city_maps(model)
        solara.FigureMatplotlib(fig)
        plt.close(fig)

    params = {
        "policy": {"type": "Select", "value": "targeted_deterrence", "values": sorted(registry), "label": "policy"},
        "users": {"type": "SliderInt", "value": 3000, "min": 500, "max": 20000, "step": 500, "label": "users"},
        "officers": {"type": "SliderInt", "value": 40, "min": 0, "max": 200, "step": 5, "label": "officers"},
        "organizations": {"type": "SliderInt", "value": 5, "min": 1, "max": 12, "step": 1, "label": "organisations"},
        "seed": {"type": "InputText", "value": 1, "label": "seed"},
    }
    model = AppModel()
    return SolaraViz(
        model,
        components=[
            Maps,
            make_plot_component(["violent_incidents", "homicides", "violence_against_police"]),
            make_plot_component(["corrupted_officer_share"]),
            make_plot_component(["hhi"]),
            make_plot_component(["retail_price"]),
        ],
        model_params=params,
        name="marketsim",
    )


try:  # `solara run src/marketsim/app.py` looks for a module-level `page`
    page = _page()
except ImportError:  # viz extras not installed: the module still imports for city_maps()
    page = None

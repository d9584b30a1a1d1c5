"""The explorer's model and maps (without a server; tests/test_explorer_browser.py drives the page)."""

import inspect

import matplotlib
import pytest

from marketsim.app import DEFAULTS, PLOTS, AppModel, city_maps, metric_plots


def test_app_model_from_controls_and_maps():
    m = AppModel(policy="aggressive_interdiction", users=900, officers=10, import_volume=1500, seed=2)
    assert m.params.enforcement.policy == "aggressive_interdiction"
    assert m.params.world.users == 900 and m.params.enforcement.officers == 10
    assert m.params.supply.import_volume == 1500
    m.run(5)
    backend = matplotlib.get_backend()
    fig = city_maps(m)
    assert matplotlib.get_backend() == backend  # drawing maps never switches the user's backend
    titles = [ax.get_title() for ax in fig.axes]
    for word in ("violence", "sales", "territory", "police"):
        assert any(word in t for t in titles), (word, titles)
    assert "week 5" in fig._suptitle.get_text()
    assert all(ax.get_xlabel() == "x (blocks)" for ax in fig.axes if ax.get_title())
    assert len(m.datacollector.get_model_vars_dataframe()) == 5
    plots = metric_plots(m)
    drawn = [ax for ax in plots.axes if ax.get_visible()]
    assert len(drawn) == len(PLOTS) >= 4
    assert all(ax.get_xlabel() == "week" and len(ax.lines[0].get_xdata()) == 5 for ax in drawn)


def test_model_takes_kwargs_and_session_settings():
    # Mesa's SolaraViz checks the signature: **kwargs (not **_) and no required parameters
    params = inspect.signature(AppModel.__init__).parameters
    assert "kwargs" in params and all(p.default is not inspect.Parameter.empty
                                      for n, p in params.items() if n not in ("self", "kwargs"))
    # a per-session subclass: Mesa's Reset (no arguments, or Mesa 3.5's own scenario) follows the controls
    session = type("AppModel", (AppModel,), {"settings": {**DEFAULTS, "users": 800, "policy": "none"}})
    m = session(scenario=object())
    assert m.params.world.users == 800 and m.params.enforcement.policy == "none"
    assert AppModel.settings["users"] == DEFAULTS["users"]  # other sessions untouched
    with pytest.raises(TypeError, match="unexpected"):
        AppModel(users=800, bogus=1)


def test_page_component_builds():
    pytest.importorskip("solara")
    from marketsim import app

    assert app.Page is not None and callable(app.Page)

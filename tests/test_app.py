"""The interactive view builds and draws (without starting a server)."""

import pytest

from marketsim.app import AppModel, city_maps


def test_app_model_and_maps():
    m = AppModel(policy="aggressive_interdiction", users=900, officers=10, organizations=3, seed=2)
    m.run(5)
    fig = city_maps(m)
    assert len(fig.axes) >= 4
    assert "week 5" in fig._suptitle.get_text()
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == 5


def test_solara_page_builds():
    pytest.importorskip("solara")
    pytest.importorskip("altair")
    from marketsim import app

    assert app.page is not None

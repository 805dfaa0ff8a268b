"""The Lotka–Volterra page: the default fit extrapolates; every widget reruns cleanly."""

import numpy as np

PAGE = "pages/lotka_volterra.py"


def _clean(at):
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_default_fit_extrapolates_beyond_the_window(open_page):
    at = open_page(PAGE)
    _clean(at)
    errors = at.session_state["lv_errors"]
    assert errors["window"] < 0.05
    assert errors["beyond"] < 0.10
    series = at.session_state["lv_series"]
    data = series[series["source"] == "data"]
    assert len(data) == 2 * 40 and data["t"].max() == 5.0
    assert series[series["source"] == "learned"]["t"].max() == 15.0
    # The horizon only re-solves the learned model; it never retrains.
    fits = dict(at.session_state["lv_fits"])
    at.slider(key="lv_horizon").set_value(25.0).run()
    _clean(at)
    assert at.session_state["lv_fits"].keys() == fits.keys()
    assert at.session_state["lv_series"]["t"].max() == 25.0


def test_each_widget_reruns_cleanly(open_page):
    at = open_page(PAGE)
    at.slider(key="lv_epochs").set_value(200).run()
    _clean(at)
    changes = [
        ("lv_alpha", 1.2),
        ("lv_beta", 0.8),
        ("lv_gamma", 2.5),
        ("lv_delta", 1.3),
        ("lv_prey0", 2.0),
        ("lv_pred0", 0.7),
        ("lv_window", 4.0),
        ("lv_samples", 24),
        ("lv_noise", 0.05),
    ]
    for key, value in changes:
        at.slider(key=key).set_value(value).run()
        _clean(at)
        assert np.isfinite(at.session_state["lv_errors"]["window"]), key
    at.select_slider(key="lv_lr").set_value(0.01).run()
    _clean(at)
    at.checkbox(key="lv_grow").uncheck().run()
    _clean(at)
    at.number_input(key="lv_seed").set_value(2).run()
    _clean(at)
    data = at.session_state["lv_series"].query("source == 'data'")
    assert len(data) == 2 * 24 and data["t"].max() == 4.0

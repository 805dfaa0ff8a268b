"""The Lotka–Volterra page: the default fit extrapolates; every widget reruns cleanly; links."""

from pathlib import Path

import numpy as np
import pytest
from page_data import chart_frames
from streamlit.testing.v1 import AppTest

from resode_ui import training
from resode_ui.lessons import lotka_volterra as lv

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "lotka_volterra.py")
QUICK = {"lv_epochs": "100"}  # a short fit where the numbers do not matter
NAMES = {"prey x", "predators y"}


def _page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.query_params.update(query or {})
    return at.run()


def _clean(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _metrics(at, skip: str = "time") -> dict[str, str]:
    return {m.label: m.value for m in at.metric if skip not in m.label.lower()}


def _error(at, where: str) -> float:
    """A shown relative error ("1.6 %") as a fraction; "failed" is infinite."""
    value = _metrics(at)[f"Error {where} the window"]
    return float(value.rstrip(" %")) / 100 if value.endswith("%") else float("inf")


def _series(at):
    """The populations chart's data: columns t, value, series, source."""
    return next(f for f in chart_frames(at) if "series" in f and NAMES <= set(f["series"]))


def _training_time(at) -> str:
    return next(m.value for m in at.metric if m.label == "Training time")


def test_default_fit_extrapolates_beyond_the_window():
    at = _page()
    _clean(at)
    assert _error(at, "on") < 0.05
    assert _error(at, "beyond") < 0.10
    series = _series(at)
    data = series[series["source"] == "data"]
    assert len(data) == 2 * 40 and data["t"].max() == 5.0
    assert series[series["source"] == "learned"]["t"].max() == 15.0
    # The page shows what the lesson computes for the same settings.
    with training.quietly():
        result = lv.lesson(lv.LotkaVolterraSettings())
    assert result.fit.epochs == 1500 + 2 * lv.WARMUP_EPOCHS
    assert _metrics(at)["Error on the window"] == f"{100 * result.error_window:.1f} %"
    # H is conserved along the true orbit (the caption's claim); the learned one drifts.
    h = lv.conserved(result.settings.params, result.true)
    assert np.ptp(h) < 1e-5 * np.abs(h).max()
    # The horizon only re-solves the learned model; it never retrains.
    trained_in, fits = _training_time(at), len(training.board().finished)
    at.slider(key="lv_horizon").set_value(25.0).run()
    _clean(at)
    assert _training_time(at) == trained_in and len(training.board().finished) == fits
    assert _series(at).query("source == 'learned'")["t"].max() == 25.0


def test_each_widget_reruns_cleanly():
    at = _page()
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
        assert np.isfinite(_error(at, "on")), key
    at.select_slider(key="lv_lr").set_value(0.01).run()
    _clean(at)
    at.checkbox(key="lv_grow").uncheck().run()
    _clean(at)
    at.number_input(key="lv_seed").set_value(2).run()
    _clean(at)
    data = _series(at).query("source == 'data'")
    assert len(data) == 2 * 24 and data["t"].max() == 4.0
    assert any("sampled\n   24 times on $[0, 4]$" in m.value for m in at.markdown)


def test_slider_moves_to_new_values_do_not_recompile(compile_counter):
    at = _page(QUICK)
    _clean(at)
    at.slider(key="lv_epochs").set_value(200).run()
    compile_counter.count = 0
    for key, value in (("lv_epochs", 300), ("lv_horizon", 22.0), ("lv_noise", 0.03)):
        at.slider(key=key).set_value(value).run()
    at.slider(key="lv_alpha").set_value(1.4).run()
    at.select_slider(key="lv_lr").set_value(0.01).run()
    _clean(at)
    assert compile_counter.count == 0


# ----------------------------------------------------------------------------- links


def test_a_link_reproduces_the_fit():
    """A link carries every widget (key = parameter name, as the browser writes it)."""
    query = {
        "lv_alpha": "1.2",
        "lv_window": "4.0",
        "lv_samples": "24",
        "lv_noise": "0.05",
        "lv_epochs": "100",
        "lv_lr": "0.05",
        "lv_grow": "false",
        "lv_seed": "2",
        "lv_horizon": "20.0",
    }
    at = _page(QUICK)
    _clean(at)
    # Several widgets in one rerun: one retraining, not seven.
    at.slider(key="lv_alpha").set_value(1.2)
    at.slider(key="lv_window").set_value(4.0)
    at.slider(key="lv_samples").set_value(24)
    at.slider(key="lv_noise").set_value(0.05)
    at.select_slider(key="lv_lr").set_value(0.05)
    at.checkbox(key="lv_grow").uncheck()
    at.number_input(key="lv_seed").set_value(2)
    at.slider(key="lv_horizon").set_value(20.0).run()
    _clean(at)
    fresh = _page(query)
    _clean(fresh)
    assert fresh.slider(key="lv_alpha").value == pytest.approx(1.2)
    assert fresh.checkbox(key="lv_grow").value is False
    assert fresh.number_input(key="lv_seed").value == 2
    # A new session retrains from the link: same seed, same numbers.
    assert _metrics(fresh) == _metrics(at)


def test_the_short_window_preset_and_a_link_that_hides_the_controls():
    at = _page(QUICK)
    labels = at.selectbox(key="lv_preset").options
    assert labels[0] == "Default settings" and len(labels) == len(lv.PRESETS)
    short = next(label for label in labels if label.startswith("A short training window"))
    at.selectbox(key="lv_preset").select(short).run()
    _clean(at)
    assert at.slider(key="lv_window").value == 2.0 and at.slider(key="lv_epochs").value == 1500
    assert dict(at.query_params) == {"lv_window": "2"}  # the preset's one change from default
    assert _series(at).query("source == 'data'")["t"].max() == 2.0
    # Less than one cycle seen: fine inside the window, far off beyond it.
    assert _error(at, "on") < 0.1 and _error(at, "beyond") > 5 * _error(at, "on")
    # A teacher's link: the same view, the controls folded away but still holding the values.
    fresh = _page({**at.query_params, "lv_preset": short, "hide": "controls"})
    _clean(fresh)
    hidden = fresh.expander[0]
    assert hidden.label == "Settings (hidden by this link)"
    assert hidden.slider(key="lv_window").value == 2.0
    assert hidden.selectbox(key="lv_preset").value == short
    assert _metrics(fresh) == _metrics(at)


def test_a_tampered_link_falls_back_to_defaults():
    query = {"lv_window": "13", "lv_grow": "maybe", "lv_lr": "0.03", "lv_seed": "-1", "x": "y"}
    at = _page({**QUICK, **query})
    _clean(at)
    assert at.slider(key="lv_epochs").value == 100  # valid: kept
    assert at.slider(key="lv_window").value == 5.0
    assert at.checkbox(key="lv_grow").value is True
    assert at.select_slider(key="lv_lr").value == 0.02
    assert at.number_input(key="lv_seed").value == 0


# ----------------------------------------------------------------------------- failures

EXTREMES = {
    # Fast prey, slow predators, far from equilibrium: large, spiky cycles.
    "spiky": {"alpha": 3.0, "beta": 0.2, "gamma": 4.0, "delta": 3.0, "prey0": 6.0, "pred0": 0.2},
    # Everything slow, few prey and many predators.
    "sluggish": {"alpha": 0.2, "beta": 3.0, "gamma": 0.2, "delta": 0.2, "prey0": 0.2, "pred0": 6.0},
}


def test_extreme_parameters_never_raise():
    at = _page({**QUICK, "lv_lr": "0.1", "lv_grow": "false"})
    for name, extreme in EXTREMES.items():
        for field, value in {**extreme, "window": 12.0, "horizon": 40.0}.items():
            at.slider(key=f"lv_{field}").set_value(value).run()
            assert not at.exception, (name, field, at.exception)
            for box in at.error:  # a failure must come with what to change
                text = str(box.value).lower()
                assert any(h in text for h in ("lower", "try", "more epochs", "other")), text
    # Back to the defaults: the page still trains and draws.
    for field in ("alpha", "beta", "gamma", "delta", "prey0", "pred0", "window"):
        at.slider(key=f"lv_{field}").set_value(getattr(lv.LotkaVolterraSettings(), field)).run()
    _clean(at)
    assert len(chart_frames(at)) >= 3

"""Settings that break the numerics: the page explains what happened and stays usable.

Each test drives a page into a failure it can really produce (a diverging fit, an adaptive
solver that runs out of steps, gradients that overflow, extreme Lotka–Volterra parameters),
checks that a readable message says what to change (never an exception), then moves the
settings back and checks that the page recovers in the same session.
"""

from __future__ import annotations


def _messages(at) -> str:
    return " ".join(str(box.value) for box in [*at.error, *at.warning]).lower()


def _no_exception(at) -> None:
    assert not at.exception, [e.message for e in at.exception]


def _clean(at) -> None:
    _no_exception(at)
    assert not at.error, [e.value for e in at.error]


def _charts(at) -> int:
    return len(at.get("vega_lite_chart"))


def test_spiral_divergence_is_explained_and_recoverable(open_page):
    at = open_page("pages/spiral.py")
    _clean(at)
    charts = _charts(at)
    at.select_slider(key="sp_lr").set_value(0.2).run()
    at.slider(key="sp_epochs").set_value(300).run()
    _no_exception(at)
    text = _messages(at)
    assert "diverged" in text and "learning rate" in text, text
    # Tsit5 with adaptive steps is already in use: the advice must not suggest switching to it.
    assert "switch to adaptive" not in text and "loosen rtol" in text, text
    assert _charts(at) == charts  # the last good parameters are still drawn
    at.select_slider(key="sp_lr").set_value(0.1).run()
    _clean(at)


def test_spiral_adaptive_solver_that_gives_up_is_explained(open_page):
    """Bogacki–Shampine at rtol = atol = 1e-10, far from the data, for 4× the trained time:
    the learned field needs more steps than the solver allows (or blows up)."""
    at = open_page("pages/spiral.py")
    at.selectbox(key="sp_solver").select("bosh3").run()
    at.select_slider(key="sp_rtol").set_value(1e-10).run()
    at.select_slider(key="sp_atol").set_value(1e-10).run()
    _clean(at)
    # Which far corner defeats the solver depends on the trained weights (float rounding
    # moves it): every corner must run cleanly, and at least one must be explained.
    explained = []
    for u1, u2 in ((-2.5, -2.5), (2.5, 2.5), (-2.5, 2.5), (2.5, -2.5)):
        for key, value in (("sp_x_u1", u1), ("sp_x_u2", u2), ("sp_x_horizon", 6.0)):
            at.slider(key=key).set_value(value).run()
            _no_exception(at)
        text = _messages(at)
        if "could not be solved" in text:
            assert "shorten the horizon" in text, text
            explained.append((u1, u2))
        assert at.metric  # the rest of the page is still there
    assert explained, "no far starting point defeated bosh3 at rtol = atol = 1e-10"
    # Looser tolerances and a start near the data: the page recovers in the same session.
    at.select_slider(key="sp_rtol").set_value(1e-7).run()
    at.select_slider(key="sp_atol").set_value(1e-9).run()
    for key, value in (("sp_x_u1", 1.0), ("sp_x_u2", 1.0), ("sp_x_horizon", 3.0)):
        at.slider(key=key).set_value(value).run()
    _clean(at)


def test_spiral_far_extrapolation_never_raises(open_page):
    """A coarse Euler fit, started far outside the data and run 4× longer than trained."""
    at = open_page("pages/spiral.py")
    at.selectbox(key="sp_solver").select("euler").run()
    at.select_slider(key="sp_dt").set_value(0.2).run()
    for key, value in (("sp_x_u1", -2.5), ("sp_x_u2", -2.5), ("sp_x_horizon", 6.0)):
        at.slider(key=key).set_value(value).run()
        _no_exception(at)
    for box in at.error:  # if it blew up, the page must say so and suggest a smaller step
        message = str(box.value)
        assert "diverged" in message or "smaller Δt" in message, message


def test_vanishing_gradients_overflow_is_explained(open_page):
    """ReLU, h = 1, scale 2 and 128 layers: the signal overflows float32."""
    at = open_page("pages/vanishing_gradients.py")
    _clean(at)
    at.slider(key="vg_epochs").set_value(50).run()
    at.slider(key="vg_depth").set_value(128).run()
    at.selectbox(key="vg_activation").select("relu").run()
    at.slider(key="vg_init_scale").set_value(2.0).run()
    at.selectbox(key="vg_branch").select("h = 1 (He et al.)").run()
    at.select_slider(key="vg_learning_rate").set_value(1e-2).run()
    _no_exception(at)
    text = _messages(at)
    assert "not finite" in text and "smaller" in text, text
    at.slider(key="vg_init_scale").set_value(0.8).run()
    at.selectbox(key="vg_branch").select("h = 1/√L").run()
    _clean(at)
    assert "not finite" not in _messages(at)


EXTREMES = {
    # Fast prey, slow predators, far from equilibrium: large, spiky cycles.
    "spiky": {
        "lv_alpha": 3.0,
        "lv_beta": 0.2,
        "lv_gamma": 4.0,
        "lv_delta": 3.0,
        "lv_prey0": 6.0,
        "lv_pred0": 0.2,
    },
    # Everything slow, few prey and many predators.
    "sluggish": {
        "lv_alpha": 0.2,
        "lv_beta": 3.0,
        "lv_gamma": 0.2,
        "lv_delta": 0.2,
        "lv_prey0": 0.2,
        "lv_pred0": 6.0,
    },
}


def test_lotka_volterra_extreme_parameters_never_raise(open_page):
    at = open_page("pages/lotka_volterra.py")
    at.slider(key="lv_epochs").set_value(100).run()
    at.select_slider(key="lv_lr").set_value(0.1).run()
    at.checkbox(key="lv_grow").uncheck().run()
    for name, extreme in EXTREMES.items():
        for key, value in {**extreme, "lv_window": 12.0, "lv_horizon": 40.0}.items():
            at.slider(key=key).set_value(value).run()
            _no_exception(at)
            for box in at.error:  # a failure must come with what to change
                text = str(box.value).lower()
                assert any(h in text for h in ("lower", "try", "more epochs", "other")), (
                    name,
                    text,
                )
    # Back to the defaults: the page still trains and draws.
    defaults = {"lv_alpha": 1.5, "lv_beta": 1.0, "lv_gamma": 3.0, "lv_delta": 1.0, "lv_prey0": 1.0}
    for key, value in {**defaults, "lv_pred0": 1.0, "lv_window": 5.0}.items():
        at.slider(key=key).set_value(value).run()
    _clean(at)
    assert _charts(at) >= 3

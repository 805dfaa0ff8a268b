"""The spiral page: defaults show the notes' fit; every widget change reruns cleanly."""

import numpy as np

PAGE = "pages/spiral.py"


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def _final_loss(at):
    return float(_metric(at, "Final loss"))


def _clean(at):
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_defaults_reproduce_the_notes_fit(open_page):
    at = open_page(PAGE)
    _clean(at)
    assert _metric(at, "Epochs run") == "25"
    history = at.session_state["sp_history"]
    assert len(history) == 25 and np.all(np.isfinite(history["grad_norm"]))
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    series = at.session_state["sp_series_frame"]
    assert set(series["source"]) == {"true", "learned", "data"}
    data = series[series["source"] == "data"]
    assert len(data) == 2 * 16  # u₁ and u₂ at the notes' 16 samples
    first = data[data["t"] == 0.0].sort_values("series")["value"].to_numpy()
    np.testing.assert_allclose(first, [2.0, 0.0], atol=1e-6)  # u(0) = (2, 0)
    heat = at.session_state["sp_error_map"]
    assert len(heat) == 15 * 15
    assert np.isfinite(at.session_state["sp_extrapolation_error"])

    # More epochs give a lower loss (the fit is kept per setting in session state).
    few = _final_loss(at)
    at.slider(key="sp_epochs").set_value(150).run()
    _clean(at)
    assert _final_loss(at) < few
    assert len(at.session_state["sp_fits"]) == 2

    # Moving an extrapolation slider re-uses the fit instead of retraining.
    fits_before = dict(at.session_state["sp_fits"])
    at.slider(key="sp_x_u1").set_value(-1.5).run()
    at.slider(key="sp_x_u2").set_value(0.5).run()
    at.slider(key="sp_x_horizon").set_value(2.0).run()
    _clean(at)
    assert at.session_state["sp_fits"].keys() == fits_before.keys()
    assert len(at.session_state["sp_error_map"]) == 15 * 15


def test_each_training_widget_reruns_cleanly(open_page):
    at = open_page(PAGE)
    _clean(at)
    at.slider(key="sp_samples").set_value(24).run()
    _clean(at)
    assert (at.session_state["sp_series_frame"]["source"] == "data").sum() == 2 * 24
    at.checkbox(key="sp_uneven").check().run()
    _clean(at)
    at.slider(key="sp_noise").set_value(0.05).run()
    _clean(at)
    at.number_input(key="sp_seed").set_value(3).run()
    _clean(at)
    at.select_slider(key="sp_lr").set_value(0.05).run()
    _clean(at)
    at.select_slider(key="sp_decay").set_value(0.1).run()
    _clean(at)
    at.select_slider(key="sp_rtol").set_value(1e-5).run()
    at.select_slider(key="sp_atol").set_value(1e-7).run()
    _clean(at)
    # A fixed-step solver: the step control is forced to fixed Δt.
    at.selectbox(key="sp_solver").select("euler").run()
    _clean(at)
    assert at.radio(key="sp_stepping").disabled
    at.select_slider(key="sp_dt").set_value(0.02).run()
    _clean(at)
    at.selectbox(key="sp_solver").select("tsit5").run()
    at.radio(key="sp_stepping").set_value("fixed Δt").run()
    _clean(at)


def test_several_trajectories(open_page):
    at = open_page(PAGE)
    at.slider(key="sp_epochs").set_value(40).run()
    at.radio(key="sp_data").set_value("Several trajectories spread over the plane").run()
    _clean(at)
    at.slider(key="sp_n_traj").set_value(6).run()
    _clean(at)
    phase_starts = at.session_state["sp_series_frame"]
    assert len(phase_starts) > 0
    at.number_input(key="sp_traj_index").set_value(4).run()
    _clean(at)
    markers = at.session_state["sp_error_map"]
    assert len(markers) == 15 * 15
    # A preset resets the training widgets.
    at.selectbox(key="sp_preset").select("One trajectory, 300 epochs").run()
    _clean(at)
    assert at.slider(key="sp_epochs").value == 300
    assert at.radio(key="sp_data").value.startswith("One trajectory")

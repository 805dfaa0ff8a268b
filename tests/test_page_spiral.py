"""The spiral page: the notes' fit by default, every widget reruns cleanly, links, failures."""

from pathlib import Path

import numpy as np
import pytest
from page_data import chart_frames
from streamlit.testing.v1 import AppTest

from resode_ui import training
from resode_ui.lessons import spiral

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "spiral.py")


def _page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.query_params.update(query or {})
    return at.run()


def _metrics(at, skip: str = "time") -> dict[str, str]:
    return {m.label: m.value for m in at.metric if skip not in m.label.lower()}


def _clean(at):
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _messages(at) -> str:
    return " ".join(str(box.value) for box in [*at.error, *at.warning]).lower()


def _data_frame(at):
    """The samples drawn in the first time-series chart of the fit."""
    series = next(f for f in chart_frames(at) if "source" in f and "t" in f)
    return series[series["source"] == "data"]


def test_defaults_reproduce_the_notes_fit():
    at = _page()
    _clean(at)
    shown = _metrics(at)
    assert shown["Epochs run"] == "25"
    assert float(shown["Final loss"]) < float(shown["Loss after the first epoch"])
    data = _data_frame(at)
    assert len(data) == 2 * 16  # u₁ and u₂ at the notes' 16 samples
    first = data[data["t"] == 0.0].sort_values("series")["value"].to_numpy()
    np.testing.assert_allclose(first, [2.0, 0.0], atol=1e-6)  # u(0) = (2, 0)
    assert shown["Relative error over the path"].endswith("%")
    # The page shows what the lesson computes for the same settings.
    with training.quietly():
        result = spiral.lesson(spiral.SpiralSettings())
    assert result.fit.epochs == 25 and np.all(np.isfinite(result.fit.grad_norms))
    assert shown["Final loss"] == f"{result.fit.final_loss:.4g}"
    heat = next(f for f in chart_frames(at) if "error_pct" in f)
    assert heat["error_pct"].notna().sum() == spiral.MAP_SIDE**2

    # More epochs give a lower loss.
    at.slider(key="sp_epochs").set_value(150).run()
    _clean(at)
    assert float(_metrics(at)["Final loss"]) < float(shown["Final loss"])
    # Moving an extrapolation slider re-uses the fit instead of retraining it.
    trained_in = next(m.value for m in at.metric if m.label == "Training time")
    at.slider(key="sp_x_u1").set_value(-1.5).run()
    at.slider(key="sp_x_u2").set_value(0.5).run()
    at.slider(key="sp_x_horizon").set_value(2.0).run()
    _clean(at)
    assert next(m.value for m in at.metric if m.label == "Training time") == trained_in
    assert _metrics(at)["Distance of u₀ from the training start (2, 0)"] == "3.54"


def test_each_training_widget_reruns_cleanly():
    at = _page()
    _clean(at)
    at.slider(key="sp_samples").set_value(24).run()
    _clean(at)
    assert len(_data_frame(at)) == 2 * 24
    at.checkbox(key="sp_uneven").check().run()
    at.slider(key="sp_noise").set_value(0.05).run()
    at.number_input(key="sp_seed").set_value(3).run()
    at.select_slider(key="sp_lr").set_value(0.05).run()
    at.select_slider(key="sp_decay").set_value(0.1).run()
    _clean(at)
    assert any("decaying from 0.05 to 0.005" in c.value for c in at.caption)
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


def test_several_trajectories_and_a_preset():
    at = _page({"sp_epochs": "40"})
    at.radio(key="sp_data").set_value(spiral.SEVERAL).run()
    _clean(at)
    at.slider(key="sp_n_traj").set_value(6).run()
    _clean(at)
    phase = next(f for f in chart_frames(at) if "trajectory" in f and "x" in f)
    assert set(phase["trajectory"]) == {1, 2, 3, 4, 5, 6}
    at.number_input(key="sp_traj_index").set_value(4).run()
    _clean(at)
    # A preset resets the training widgets.
    at.selectbox(key="sp_preset").select("One trajectory, 300 epochs").run()
    _clean(at)
    assert at.slider(key="sp_epochs").value == 300
    assert at.radio(key="sp_data").value == spiral.ONE


def test_slider_moves_to_new_values_do_not_recompile(compile_counter):
    at = _page()
    _clean(at)
    at.slider(key="sp_epochs").set_value(30).run()  # compiles a chunk of 30 epochs once
    compile_counter.count = 0
    for key, value in (("sp_epochs", 35), ("sp_x_u1", -0.7), ("sp_x_horizon", 4.5)):
        at.slider(key=key).set_value(value).run()
    at.select_slider(key="sp_lr").set_value(0.02).run()
    at.slider(key="sp_noise").set_value(0.03).run()
    _clean(at)
    assert compile_counter.count == 0


# ----------------------------------------------------------------------------- links


def test_a_link_reproduces_the_fit():
    """A link carries every widget (key = parameter name, as the browser writes it)."""
    query = {
        "sp_samples": "12",
        "sp_uneven": "true",
        "sp_noise": "0.02",
        "sp_seed": "3",
        "sp_epochs": "10",
        "sp_lr": "0.05",
        "sp_decay": "0.3",
        "sp_x_u1": "-1.0",
        "sp_x_horizon": "2.0",
    }
    at = _page({"sp_epochs": "10"})
    _clean(at)
    # Several widgets in one rerun (as a quick student would): one retraining, not eight.
    at.slider(key="sp_samples").set_value(12)
    at.checkbox(key="sp_uneven").check()
    at.slider(key="sp_noise").set_value(0.02)
    at.number_input(key="sp_seed").set_value(3)
    at.select_slider(key="sp_lr").set_value(0.05)
    at.select_slider(key="sp_decay").set_value(0.3)
    at.slider(key="sp_x_u1").set_value(-1.0)
    at.slider(key="sp_x_horizon").set_value(2.0).run()
    _clean(at)
    fresh = _page(query)
    _clean(fresh)
    assert fresh.slider(key="sp_noise").value == pytest.approx(0.02)
    assert fresh.number_input(key="sp_seed").value == 3
    assert fresh.checkbox(key="sp_uneven").value is True
    assert fresh.select_slider(key="sp_decay").value == 0.3
    assert fresh.slider(key="sp_x_u1").value == -1.0
    # A new session retrains from the link: same seed, same numbers.
    assert _metrics(fresh) == _metrics(at) and _metrics(fresh)["Epochs run"] == "10"


def test_the_notes_preset_compares_25_and_300_epochs_and_keeps_extrapolation():
    at = _page({"sp_x_u1": "-1.5"})
    _clean(at)
    labels = at.selectbox(key="sp_preset").options
    assert labels[0].startswith("The notes' set-up") and "One trajectory, 300 epochs" in labels
    at.selectbox(key="sp_preset").select("The notes' spiral: 25 vs 300 epochs side by side").run()
    _clean(at)
    assert at.toggle(key="sp_compare").value is True
    assert at.slider(key="sp_epochs").value == 25 and at.slider(key="sp_b_epochs").value == 300
    assert at.slider(key="sp_x_u1").value == -1.5  # extrapolation controls stay put
    shown = _metrics(at)
    # 300 epochs fit the notes' trajectory far better than 25 ...
    assert float(shown["B: final loss"]) < float(shown["A: final loss"]) / 5
    on_data = [float(shown[f"{side}: error on data"].rstrip(" %")) for side in "AB"]
    assert on_data[1] < on_data[0] / 2
    # ... but away from it the field is still a guess.
    assert float(shown["B: error, plane"].rstrip(" %")) > 30
    # The browser adds the preset selector's own value to the address (AppTest has no browser).
    link = {**at.query_params, "sp_preset": "The notes' spiral: 25 vs 300 epochs side by side"}
    assert link == {"sp_preset": link["sp_preset"], "sp_x_u1": "-1.5", "sp_compare": "true"}
    fresh = _page(link)
    _clean(fresh)
    assert fresh.selectbox(key="sp_preset").value.startswith("The notes' spiral: 25 vs 300")
    assert _metrics(fresh) == shown
    # Back to the notes' default: only the moved extrapolation control stays in the link.
    fresh.selectbox(key="sp_preset").select(labels[0]).run()
    _clean(fresh)
    assert fresh.toggle(key="sp_compare").value is False
    shown_link = {k: v for k, v in fresh.query_params.items() if k != "sp_preset"}
    assert shown_link == {"sp_x_u1": "-1.5"}


def test_a_tampered_link_falls_back_to_defaults():
    at = _page(
        {
            "sp_epochs": "7",  # not on the slider's grid of 5
            "sp_solver": "rk45",
            "sp_x_u1": "9",
            "sp_lr": "nan",
            "evil": "1",
            "sp_dt": "0.02",  # valid: kept
        }
    )
    _clean(at)
    assert at.slider(key="sp_x_u1").value == 1.0
    assert at.selectbox(key="sp_solver").value == "tsit5"
    assert at.select_slider(key="sp_lr").value == 0.1
    assert at.select_slider(key="sp_dt").value == 0.02
    assert _metrics(at)["Epochs run"] in ("25", "7")  # Streamlit may snap 7 onto the slider


# ----------------------------------------------------------------------------- failures


def test_divergence_is_explained_and_recoverable():
    at = _page()
    _clean(at)
    charts = len(chart_frames(at))
    at.select_slider(key="sp_lr").set_value(0.2).run()
    at.slider(key="sp_epochs").set_value(300).run()
    assert not at.exception, at.exception
    text = _messages(at)
    assert "diverged" in text and "learning rate" in text, text
    # Tsit5 with adaptive steps is already in use: the advice must not suggest switching to it.
    assert "switch to adaptive" not in text and "loosen rtol" in text, text
    assert len(chart_frames(at)) == charts  # the last good parameters are still drawn
    at.select_slider(key="sp_lr").set_value(0.1).run()
    _clean(at)


def test_an_adaptive_solver_that_gives_up_is_explained():
    """Bogacki–Shampine at rtol = atol = 1e-10, far from the data, for 4× the trained time."""
    at = _page()
    at.selectbox(key="sp_solver").select("bosh3").run()
    at.select_slider(key="sp_rtol").set_value(1e-10).run()
    at.select_slider(key="sp_atol").set_value(1e-10).run()
    _clean(at)
    # Which far corner defeats the solver depends on the trained weights (float rounding
    # moves it): every corner must run cleanly, and at least one must be explained.
    explained = []
    for u1, u2 in ((-2.5, -2.5), (2.5, 2.5), (-2.5, 2.5), (2.5, -2.5)):
        # All three sliders, then one rerun (each run solves the whole 15 × 15 error map).
        for key, value in (("sp_x_u1", u1), ("sp_x_u2", u2), ("sp_x_horizon", 6.0)):
            at.slider(key=key).set_value(value)
        at.run()
        assert not at.exception, at.exception
        text = _messages(at)
        if "could not be solved" in text:
            assert "shorten the horizon" in text, text
            explained.append((u1, u2))
        assert at.metric  # the rest of the page is still there
    assert explained, "no far starting point defeated bosh3 at rtol = atol = 1e-10"
    at.select_slider(key="sp_rtol").set_value(1e-7).run()
    at.select_slider(key="sp_atol").set_value(1e-9).run()
    for key, value in (("sp_x_u1", 1.0), ("sp_x_u2", 1.0), ("sp_x_horizon", 3.0)):
        at.slider(key=key).set_value(value)
    at.run()
    _clean(at)


def test_a_far_extrapolation_of_a_coarse_euler_fit_never_raises():
    at = _page()
    at.selectbox(key="sp_solver").select("euler").run()
    at.select_slider(key="sp_dt").set_value(0.2).run()
    for key, value in (("sp_x_u1", -2.5), ("sp_x_u2", -2.5), ("sp_x_horizon", 6.0)):
        at.slider(key=key).set_value(value).run()
        assert not at.exception, at.exception
    for box in at.error:  # if it blew up, the page must say so and suggest a smaller step
        message = str(box.value)
        assert "diverged" in message or "smaller Δt" in message, message


# ----------------------------------------------------------------------------- the lesson's data


def test_training_starts_cover_the_ring_evenly():
    points = spiral.spread_starts(16, seed=2)
    radius = np.hypot(points[:, 0], points[:, 1])
    assert points.shape == (16, 2)
    assert radius.min() > 0.5 and radius.max() < spiral.R_MAX
    # Equal area per point: r² is evenly spaced.
    gaps = np.diff(np.sort(radius**2))
    np.testing.assert_allclose(gaps, gaps[0], rtol=1e-9)
    # Every quarter of the plane gets some of them, and the seed turns the pattern.
    assert len({(x > 0, y > 0) for x, y in points}) == 4
    assert not np.allclose(spiral.spread_starts(16, seed=3), points)


def test_grid_points_run_over_the_box_with_x_fastest():
    grid = spiral.grid_points(3, box=1.0)
    assert grid.shape == (9, 2)
    np.testing.assert_allclose(grid[:3, 0], [-1.0, 0.0, 1.0])
    np.testing.assert_allclose(grid[::3, 1], [-1.0, 0.0, 1.0])

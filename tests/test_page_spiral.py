"""The spiral page: the notes' fit by default, every widget reruns cleanly, links, failures."""

from pathlib import Path

import jax
import numpy as np
import pytest
from page_data import chart_frames, walk, widgets_above_the_first_chart
from scipy.integrate import solve_ivp
from streamlit.testing.v1 import AppTest

import resode_core as rc
from resode_ui import training
from resode_ui.lessons import spiral

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "spiral.py")
BEYOND_BAND = "beyond the training window"


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
    series = next(f for f in chart_frames(at) if "series" in f and (f["source"] == "data").any())
    return series[series["source"] == "data"]


def _fit_chart(at):
    """The data of Play's chart: the fit of the shown training trajectory."""
    return next(f for f in chart_frames(at) if "series" in f and (f["source"] == "data").any())


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
    # The first screen: the question and two main controls, then the extrapolation chart
    # (true and learned from u₀, the times beyond the training window shaded).
    assert widgets_above_the_first_chart(at) == ["sp_question", "sp_data", "sp_epochs"]
    main = chart_frames(at)[0]
    assert set(main["source"].dropna()) == {"true", "learned"}
    assert BEYOND_BAND in set(main["label"].dropna())
    # The page shows what the lesson computes for the same settings.
    with training.quietly():
        result = spiral.lesson(spiral.SpiralSettings())
    assert result.fit.epochs == 25 and np.all(np.isfinite(result.fit.grad_norms))
    assert shown["Final loss"] == f"{result.fit.final_loss:.4g}"
    heat = next(f for f in chart_frames(at) if "error_pct" in f)
    assert heat["error_pct"].notna().sum() == spiral.MAP_SIDE**2
    assert shown["Error on data"] == f"{result.own_error_pct:.1f} %"
    assert shown["Error over the plane"] == f"{result.plane_error_pct:.0f} %"
    assert any(spiral.SHOULD_SEE[spiral.NOTES] in c.value for c in at.caption)
    codes = [c.value.strip() for c in at.code]
    assert spiral.JULIA_SETUP.strip() in codes and spiral.JAX_SETUP.strip() in codes

    # The question, answered wrongly and then rightly: the reveal states the error on screen.
    assert any("Make your prediction" in c.value for c in at.caption)
    ext = spiral.extrapolate(result.settings, result.fit.model, (1.0, 1.0), 3.0)
    assert ext["error"] > spiral.TRUSTED  # 25 epochs on one trajectory: (1, 1) is missed
    truth, observed = spiral.extrapolation_answer(ext, (1.0, 1.0), 3.0)
    assert truth == spiral.QUESTION_OPTIONS[1]
    assert observed.endswith(f"is {100 * ext['error']:.1f} % off the true one.")
    assert shown["Relative error over the path"] == f"{100 * ext['error']:.1f} %"
    trainings = training.board().trainings
    at.radio(key="sp_question").set_value(spiral.QUESTION_OPTIONS[0]).run()
    _clean(at)
    assert any(observed in i.value and f"**{truth}**" in i.value for i in at.info)
    at.radio(key="sp_question").set_value(truth).run()
    _clean(at)
    assert any(observed in b.value and "As you predicted" in b.value for b in at.success)
    assert training.board().trainings == trainings  # answering never retrains

    # More epochs give a lower loss; the notes' note goes, as the settings are not its own.
    at.slider(key="sp_epochs").set_value(150).run()
    _clean(at)
    assert float(_metrics(at)["Final loss"]) < float(shown["Final loss"])
    assert not any("What you should see" in c.value for c in at.caption)
    # Moving an extrapolation slider re-uses the fit instead of retraining it.
    trained_in = next(m.value for m in at.metric if m.label == "Training time")
    at.slider(key="sp_x_u1").set_value(-1.5).run()
    at.slider(key="sp_x_u2").set_value(0.5).run()
    at.slider(key="sp_x_horizon").set_value(2.0).run()
    _clean(at)
    assert next(m.value for m in at.metric if m.label == "Training time") == trained_in
    assert _metrics(at)["Distance of u₀ from the nearest training start"] == "3.54"


def test_each_training_widget_reruns_cleanly():
    at = _page()
    _clean(at)
    at.slider(key="sp_samples").set_value(24).run()
    _clean(at)
    assert len(_data_frame(at)) == 2 * 24
    at.checkbox(key="sp_uneven").check().run()
    _clean(at)
    assert any(c.value.startswith("The sample times are uneven: gaps from") for c in at.caption)
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
    phase = next(f for f in chart_frames(at) if "trajectory" in f and "data" in set(f["source"]))
    assert set(phase["trajectory"]) == {1, 2, 3, 4, 5, 6}
    at.number_input(key="sp_traj_index").set_value(4).run()
    _clean(at)
    # A preset resets the training widgets.
    at.selectbox(key="sp_preset").select("One trajectory, 300 epochs").run()
    _clean(at)
    assert at.slider(key="sp_epochs").value == 300
    assert at.radio(key="sp_data").value == spiral.ONE
    assert any(spiral.SHOULD_SEE["One trajectory, 300 epochs"] in c.value for c in at.caption)
    # The uneven preset: its fit, the computed note on its gaps, and what to look at.
    at.selectbox(key="sp_preset").select(spiral.UNEVEN).run()
    _clean(at)
    assert at.checkbox(key="sp_uneven").value is True and _metrics(at)["Epochs run"] == "1000"
    with training.quietly():
        uneven = spiral.lesson(spiral.PRESETS[spiral.UNEVEN])
    assert any(c.value == spiral.sampling_note(uneven, 0) for c in at.caption)
    assert any(spiral.SHOULD_SEE[spiral.UNEVEN] in c.value for c in at.caption)


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
    # Play replays the training chunk by chunk: the learned path moves, the loss curve grows,
    # and nothing compiles (the replay runs the fit's own programs).
    settings = spiral.SpiralSettings(epochs=35, lr=0.02, noise=0.03).fit()
    last = len(spiral.frame_epochs(settings)) - 1
    assert at.session_state["sp_train_frame"] == last  # new settings open on the finished fit
    finished = _fit_chart(at)
    at.button(key="sp_train_play").click().run()
    _clean(at)
    shown = []
    for _ in range(3):
        frame = _fit_chart(at)
        shown.append(frame[frame["source"] == "learned"]["value"].to_numpy())
        at.run()  # what the timer does: one frame per run
    at.button(key="sp_train_step").click().run()
    _clean(at)
    assert at.session_state["sp_train_frame"] == 4 and not at.session_state["sp_train_playing"]
    assert compile_counter.count == 0
    assert not np.allclose(shown[0], shown[1]) and not np.allclose(shown[1], shown[2])
    final = finished[finished["source"] == "learned"]["value"].to_numpy()
    assert not np.allclose(shown[0], final)
    # The frames are the fit itself: the labels known before the replay are its chunks, and
    # its last frame is the page's finished fit.
    epochs, _ = spiral._snapshots(settings)
    assert list(epochs) == spiral.frame_epochs(settings) and epochs[-1] == 35
    frames = spiral.training_frames(settings)
    with training.quietly():
        result = spiral.lesson(settings)
    np.testing.assert_allclose(frames["learned"][-1], result.learned, rtol=1e-5, atol=1e-6)


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
    """Also opened in presenter mode: the question, two controls and the main chart alone."""
    at = _page(
        {
            "present": "1",
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
    assert widgets_above_the_first_chart(at) == ["sp_question", "sp_data", "sp_epochs"]
    # The phase plane no longer stands beside the main chart: it waits under "More".
    kinds = [getattr(node, "type", None) for node in walk(at.main)]
    first = kinds.index("vega_lite_chart")
    assert kinds[first + 1] != "vega_lite_chart"
    assert {e.label for e in at.expander} >= {
        "More: the error from every start of the plane",
        "More: the equation, the model and the notes' code",
    }


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


# ----------------------------------------------------------------------------- what the page claims


def _fit(label: str, epochs: int | None = None) -> spiral.SpiralResult:
    with training.quietly():
        return spiral.lesson(spiral.PRESETS[label], epochs)


def test_every_preset_has_a_note():
    assert list(spiral.SHOULD_SEE) == list(spiral.PRESETS)


def test_the_notes_on_one_trajectory_presets():
    """The notes of the one-trajectory presets and the page's 'One trajectory or many'."""
    notes, longer, longest = (
        _fit(label)
        for label in (
            spiral.NOTES,
            "One trajectory, 300 epochs",
            "One trajectory, 1000 epochs, decaying rate",
        )
    )
    assert notes.own_error_pct > 30
    assert longer.own_error_pct < 10 and longer.plane_error_pct > 50
    # 25 against 300 epochs, side by side (the comparison preset's B is the 300-epoch fit).
    compare = spiral.PRESETS["The notes' spiral: 25 vs 300 epochs side by side"]
    assert compare.fit(compare.b_epochs) == longer.settings
    assert longer.fit.final_loss < notes.fit.final_loss / 5
    assert longer.own_error_pct < notes.own_error_pct / 2
    assert longer.plane_error_pct >= notes.plane_error_pct
    away = spiral.extrapolate(longer.settings, longer.fit.model, (1.0, 1.0), 3.0)
    assert away["error"] > spiral.TRUSTED  # "as it does from u₀ = (1, 1) above"
    assert longest.own_error_pct < 3 and longest.plane_error_pct > 50
    # Uneven noisy samples: the fit strays furthest inside a long gap.
    uneven = _fit(spiral.UNEVEN)
    ts = uneven.data.ts
    t_worst, distance = spiral.worst_point(uneven, 0)
    start, end = spiral.gap_around(ts, t_worst)
    assert start <= t_worst <= end and end - start > 3 * (ts[-1] - ts[0]) / (ts.size - 1)
    assert spiral.gap_around(np.array([0.0, 0.1, 0.5, 1.5]), 0.3) == (0.1, 0.5)
    assert f"at t = {t_worst:.2f} (distance {distance:.2f})" in spiral.sampling_note(uneven, 0)
    assert uneven.plane_error_pct > 50
    # Every preset with one trajectory stays above 50 % over the plane.
    ones = [label for label, s in spiral.PRESETS.items() if s.data == spiral.ONE]
    assert len(ones) == 5
    assert all(_fit(label).plane_error_pct > 50 for label in ones)


def test_sixteen_trajectories_pin_the_field_down():
    many = _fit(spiral.MANY)
    assert many.data.u0s.shape == (16, 2)
    assert many.plane_error_pct < 10
    ext = spiral.extrapolate(many.settings, many.fit.model, (1.0, 1.0), 3.0)
    assert ext["error"] < spiral.TRUSTED
    assert spiral.extrapolation_answer(ext, (1.0, 1.0), 3.0)[0] == spiral.QUESTION_OPTIONS[0]
    # Past the training window the median error over the map grows.
    medians = [
        np.median(spiral.error_map(many.settings, many.fit.model, horizon))
        for horizon in (1.5, 3.0, 6.0)
    ]
    assert medians[0] < medians[1] < medians[2]


def test_our_jax_code_reproduces_the_lesson():
    """The page's JAX snippet: the notes' samples, our initial weights, our 25-epoch fit."""
    code = {}
    exec(spiral.JAX_SETUP, code)  # noqa: S102 (our own constant)
    with training.quietly():
        lesson = spiral.lesson(spiral.SpiralSettings())
    np.testing.assert_allclose(code["samples"], lesson.data.noisy[0], atol=1e-5)
    ours = rc.MLPVectorField(2, 50, key=jax.random.PRNGKey(0))
    fresh = code["Field"](jax.random.PRNGKey(0))
    np.testing.assert_array_equal(fresh.W1, ours.hidden_weight)
    np.testing.assert_array_equal(fresh.W2, ours.output_weight)
    grid = spiral.grid_points(7, box=1.5)
    trained = rc.field_on_grid(code["model"], grid)
    page = rc.field_on_grid(lesson.fit.model, grid)
    assert np.linalg.norm(trained - page) < 1e-3 * np.linalg.norm(page)
    # The convention: u**3 @ A is Aᵀu³, not Au³.
    a = np.array([[-0.1, 2.0], [-2.0, -0.1]])
    u = np.array([0.7, -1.3])
    np.testing.assert_allclose(code["true_field"](0.0, u, None), a.T @ u**3, rtol=1e-6)
    assert not np.allclose(a.T @ u**3, a @ u**3)


def test_the_two_conventions_are_mirror_images():
    """A u³ and Aᵀu³ from (2, 0): the same spiral with u₂ flipped (the intro's claim)."""
    a = np.array([[-0.1, 2.0], [-2.0, -0.1]])
    ts = np.linspace(0.0, 1.5, 31)

    def path(m):
        return solve_ivp(lambda t, u: m @ u**3, (0, 1.5), [2.0, 0.0], t_eval=ts, rtol=1e-10).y

    prose, code = path(a), path(a.T)
    np.testing.assert_allclose(prose, code * np.array([[1.0], [-1.0]]), atol=1e-7)
    assert np.abs(code[1]).max() > 1  # not trivially symmetric: u₂ moves


def test_the_extrapolation_axes_hold_every_true_path():
    """PLANE's comment: u₁⁴ + u₂⁴ never grows along a true path, so from the box a
    coordinate stays under (2 · 2.5⁴)^¼ < 3 up to the longest horizon."""
    ts = np.linspace(0.0, spiral.HORIZONS[1], 61)
    paths = rc.solve_many(spiral.SYSTEM, spiral.grid_points(11), ts).ys
    quartic = np.sum(paths**4, axis=-1)
    assert np.all(np.diff(quartic, axis=1) <= 1e-6 * quartic[:, :-1])
    assert np.abs(paths).max() < spiral.PLANE[1] and (2 * spiral.BOX**4) ** 0.25 < 3

"""The Lotka–Volterra page: the default fit extrapolates; every widget reruns cleanly; links."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from page_data import chart_frames, widgets_above_the_first_chart
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


def _learned(frame) -> np.ndarray:
    return frame[frame["source"] == "learned"]["value"].to_numpy()


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
    # The first screen: the question and three controls, then the populations, the times
    # beyond the training window shaded.
    assert widgets_above_the_first_chart(at) == [
        "lv_question",
        "lv_window",
        "lv_horizon",
        "lv_grow",
    ]
    bands = series.dropna(subset=["shade"])
    assert list(zip(bands["start"], bands["end"], strict=True)) == [(5.0, 15.0)]
    assert series[series["source"] == "learned"]["t"].max() == 15.0
    # The page shows what the lesson computes for the same settings.
    with training.quietly():
        result = lv.lesson(lv.LotkaVolterraSettings())
    assert result.fit.epochs == 1500 + 2 * lv.WARMUP_EPOCHS
    assert _metrics(at)["Error on the window"] == f"{100 * result.error_window:.1f} %"
    # H is conserved along the true orbit (the caption's claim); the learned one drifts.
    h = lv.conserved(result.settings.params, result.true)
    assert np.ptp(h) < 1e-5 * np.abs(h).max()
    assert any(lv.SHOULD_SEE["Default settings"] in c.value for c in at.caption)
    # The question, answered wrongly and then rightly; answering never retrains.
    trained_in, fits = _training_time(at), len(training.board().finished)
    truth, observed = lv.beyond_answer(result)
    assert truth == lv.QUESTION_OPTIONS[0]  # the default fit stays within 10 % beyond
    assert f"{100 * result.error_beyond:.1f} %" in observed
    assert _metrics(at)["Error beyond the window"] == f"{100 * result.error_beyond:.1f} %"
    at.radio(key="lv_question").set_value(lv.QUESTION_OPTIONS[1]).run()
    _clean(at)
    assert any(observed in i.value and f"**{truth}**" in i.value for i in at.info)
    at.radio(key="lv_question").set_value(truth).run()
    _clean(at)
    assert any(observed in b.value and "As you predicted" in b.value for b in at.success)
    assert _training_time(at) == trained_in and len(training.board().finished) == fits
    # The loss jumps of the growing window, as the history's caption states them.
    jumps = lv.loss_jumps(result.fit)
    assert [e for e, _, _ in jumps] == [lv.WARMUP_EPOCHS + 1, 2 * lv.WARMUP_EPOCHS + 1]
    assert all(after > before for _, before, after in jumps)
    shown = f"from {jumps[1][1]:.3g} to {jumps[1][2]:.3g} at epoch {jumps[1][0]}"
    assert any(shown in c.value for c in at.caption)
    # The horizon only re-solves the learned model; it never retrains.
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
    # Play replays the training (warm-up stages included) chunk by chunk, compiling nothing.
    settings = lv.LotkaVolterraSettings(epochs=300, noise=0.03, alpha=1.4, lr=0.01).fit()
    last = len(lv.frame_epochs(settings)) - 1
    assert at.session_state["lv_train_frame"] == last  # new settings open on the finished fit
    finished = _learned(chart_frames(at)[1])
    at.button(key="lv_train_play").click().run()
    _clean(at)
    first = _learned(chart_frames(at)[1])
    at.run()  # what the timer does: one frame per run
    second = _learned(chart_frames(at)[1])
    at.button(key="lv_train_step").click().run()
    _clean(at)
    assert at.session_state["lv_train_frame"] == 2 and not at.session_state["lv_train_playing"]
    assert compile_counter.count == 0
    assert not np.allclose(first, second) and not np.allclose(first, finished)
    np.testing.assert_allclose(_learned(chart_frames(at)[0]), finished)  # the main chart stays
    epochs, _ = lv._snapshots(settings)
    assert list(epochs) == lv.frame_epochs(settings)
    assert epochs[-1] == settings.total_epochs == 300 + 2 * lv.WARMUP_EPOCHS
    frames = lv.training_frames(settings, 22.0)
    with training.quietly():
        result = lv.lesson(dataclasses.replace(settings, horizon=22.0))
    np.testing.assert_allclose(frames["learned"][-1], result.learned, rtol=1e-4, atol=1e-5)


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
    assert any(lv.SHOULD_SEE[short] in c.value for c in at.caption)
    # A teacher's link: the same view, the controls folded away but still holding the values.
    fresh = _page({**at.query_params, "lv_preset": short, "hide": "controls", "present": "1"})
    _clean(fresh)
    hidden = fresh.main.expander[0]
    assert hidden.label == "Settings (hidden by this link)"
    assert hidden.slider(key="lv_window").value == 2.0
    side = fresh.sidebar.expander[0]
    assert side.label == "Settings (hidden by this link)"
    assert side.selectbox(key="lv_preset").value == short
    assert _metrics(fresh) == _metrics(at)
    # Presenter mode: the same first screen; the phase plane and the rest wait under "More".
    assert widgets_above_the_first_chart(fresh) == [
        "lv_question",
        "lv_window",
        "lv_horizon",
        "lv_grow",
    ]
    assert any(e.label.startswith("More: the phase plane") for e in fresh.expander)


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


# ----------------------------------------------------------------------------- what the page claims


def _fit(label: str, **changes) -> lv.LotkaVolterraResult:
    with training.quietly():
        return lv.lesson(dataclasses.replace(lv.PRESETS[label], **changes))


def _prey_peaks(result, which: str = "learned") -> tuple[np.ndarray, np.ndarray]:
    """(times, heights) of the prey peaks of the learned or the true curve."""
    prey = getattr(result, which)[:, 0]
    k = lv.peaks(prey)
    return result.ts[k], prey[k]


def test_every_preset_has_a_note():
    assert list(lv.SHOULD_SEE) == list(lv.PRESETS)
    np.testing.assert_array_equal(lv.peaks(np.array([0, 2, 1, 3, 3, 1, 5])), [1])
    # The orbit note's reason: a population's rate vanishes when that population is zero.
    field = lv.system(lv.LotkaVolterraSettings()).vector_field
    assert float(field(0.0, np.array([0.0, 1.7]), None)[0]) == 0.0
    assert float(field(0.0, np.array([2.3, 0.0]), None)[1]) == 0.0


def test_what_the_presets_show():
    default = _fit("Default settings")
    # Default: the learned peaks at the true times; within 10 % beyond the window.
    learned_t, _ = _prey_peaks(default)
    true_t, true_h = _prey_peaks(default, "true")
    assert learned_t.size == true_t.size >= 4
    np.testing.assert_allclose(learned_t, true_t, atol=0.15)
    assert default.error_beyond < lv.TRUSTED
    assert lv.orbit_note(default) == ""  # nothing unphysical to report
    # "How it works": the error beyond the window grows with the horizon (10 to 40).
    beyond = [_fit("Default settings", horizon=h).error_beyond for h in (10.0, 20.0, 30.0, 40.0)]
    assert beyond == sorted(beyond) and beyond[0] < beyond[-1]

    short = _fit(lv.SHORT)
    period = float(np.mean(np.diff(true_t)))
    assert 3.2 < period < 3.4 and lv.PRESETS[lv.SHORT].window < period
    assert short.error_window < 0.1 and short.error_beyond > 1.0
    assert short.learned[:, 0].max() > 2 * true_h.max()
    assert lv.orbit_note(short).startswith("The learned prey reach ")
    assert lv.beyond_answer(short)[0] == lv.QUESTION_OPTIONS[1]

    long = _fit(lv.LONG)
    assert 2.9 < lv.PRESETS[lv.LONG].window / period < 3.1  # about three cycles
    learned_t, learned_h = _prey_peaks(long)
    assert abs(np.mean(np.diff(learned_t)) - period) < 0.1 * period  # nearly the right period
    assert learned_h.max() < 0.8 * true_h.max()  # the wrong size
    assert long.error_window > 0.2 and long.learned[:, 1].min() < 0
    assert long.fit.final_loss > 10 * default.fit.final_loss
    assert "a cycle of steady size, but the wrong size" in lv.orbit_note(long)

    at_once = _fit(lv.AT_ONCE)
    assert at_once.error_window > 3 * default.error_window
    _, heights = _prey_peaks(at_once)
    assert heights.size >= 3 and np.all(np.diff(heights) > 0)  # each peak higher: outward
    window = at_once.ts > at_once.settings.window
    assert at_once.learned[window, 1].min() < 0  # predators below zero beyond the window
    h = lv.conserved(at_once.settings.params, at_once.learned)
    h_true = lv.conserved(at_once.settings.params, at_once.true)[0]
    assert np.nanmax(np.abs(h - h_true)) > 0.5 * abs(h_true)  # H drifts away
    note = lv.orbit_note(at_once)
    assert "spirals outward" in note and "learned predators fall below zero" in note

    noisy = _fit(lv.NOISY)
    assert noisy.error_window < lv.TRUSTED and noisy.error_beyond < lv.TRUSTED


def test_a_horizon_inside_the_window_has_nothing_to_reveal():
    result = _fit("Default settings", horizon=3.0)  # the window ends at 5: same fit, no beyond
    assert result.horizon == 5.0 and lv.beyond_answer(result) is None

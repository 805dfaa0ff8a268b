"""AppTest checks of pages/your_data.py: the example fit, links, uploads, exports, solver B."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
from page_data import chart_frames, widgets_above_the_first_chart
from scipy.integrate import solve_ivp
from streamlit.testing.v1 import AppTest

import resode_core as rc
from resode_ui import training
from resode_ui.lessons import your_data as yd

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "your_data.py")
QUICK = {"yd_epochs": "100"}  # a short fit where the number does not matter
COMPARE = yd.COMPARE
A, B = "A: Tsitouras 5(4) (order 5)", "B: Euler (order 1)"


def _open(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params.update(query or {})
    return at.run()


def _metrics(at, skip: str | None = None) -> dict[str, str]:
    return {m.label: m.value for m in at.metric if not (skip and skip in m.label)}


def _ok(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _upload(at, name: str, content: bytes, key: str = "yd_file") -> AppTest:
    return at.file_uploader(key=key).set_value((name, content, "text/csv")).run()


FIRST_SCREEN = ["yd_question", "yd_train_frac", "yd_epochs", "yd_grow"]


def _errors(at) -> str:
    return " ".join(e.value for e in at.error)


def _lesson(series=None, params=None, **settings):
    """The lesson's result for these settings, as the page computes it (without drawing)."""
    with training.quietly():
        series = series or yd.example_series()
        return yd.lesson(series, yd.YourDataSettings(**settings), params)


def test_example_fit_and_parameter_round_trip():
    at = _open()
    _ok(at)
    metrics = _metrics(at)
    # The damped oscillator: fitted closely on the window, and followed on the held-out quarter.
    assert float(metrics["RMSE, training window"]) < 0.03, metrics
    assert float(metrics["RMSE, held-out samples"]) < 0.15, metrics
    assert float(metrics["held-out RMSE / data spread"].rstrip(" %")) < 15
    # The page shows what the lesson computes for the same settings.
    result = _lesson()
    assert metrics["RMSE, held-out samples"] == f"{result.runs[0].rmse_test:.3g}"
    assert result.runs[0].epochs == 2000 + 2 * yd.WARMUP_EPOCHS
    predictions = yd.prediction_table(result)
    assert list(predictions.columns) == ["t", "part", "x", "x_predicted", "y", "y_predicted"]
    assert (predictions["part"] == "training window").sum() == 30
    assert (predictions["part"] == "held out").sum() == 10
    assert (predictions["part"] == "extrapolation").sum() == 9  # a quarter of the span further
    assert predictions["t"].is_monotonic_increasing
    assert any("40 times on [0, 12]" in c.value for c in at.caption)
    # The first screen: the question and three controls, then the fit, with the held-out
    # samples and the times beyond the data shaded.
    assert widgets_above_the_first_chart(at) == FIRST_SCREEN
    fit_frame = chart_frames(at)[0]
    bands = fit_frame.dropna(subset=["shade"])
    assert list(bands["label"]) == ["held out", "beyond the data"]
    assert bands["start"].iloc[0] == result.series.ts[29] and bands["end"].iloc[0] == 12.0
    labels = {b.label for b in at.get("download_button")}
    assert {"Predictions (CSV)", "Loss history (CSV)", "Trained parameters (.resode)"} <= labels
    charts = {"fit chart", "loss history chart"}
    assert {label.split(" (")[0] for label in labels if "chart (" in label} == charts
    assert len([label for label in labels if "chart (" in label]) == 4  # two formats each
    assert any("⋯" in c.value for c in at.caption)  # the browser's own chart menu is mentioned
    assert at.selectbox(key="yd_b_solver").disabled  # drawn, but off until comparing
    assert any(yd.SHOULD_SEE["Default settings"] in c.value for c in at.caption)
    # The question, answered wrongly and then rightly; answering never retrains.
    truth, observed = yd.held_out_answer(result)
    assert truth == yd.QUESTION_OPTIONS[0]  # the example's default fit: under 10 % of spread
    assert metrics["held-out RMSE / data spread"] in observed
    trainings = training.board().trainings
    at.radio(key="yd_question").set_value(yd.QUESTION_OPTIONS[1]).run()
    _ok(at)
    assert any(observed in i.value and f"**{truth}**" in i.value for i in at.info)
    at.radio(key="yd_question").set_value(truth).run()
    _ok(at)
    assert any(observed in b.value and "As you predicted" in b.value for b in at.success)
    assert training.board().trainings == trainings and _metrics(at) == metrics
    jumps = yd.loss_jumps(result.runs[0].fit)
    assert [e for e, _, _ in jumps] == [yd.WARMUP_EPOCHS + 1, 2 * yd.WARMUP_EPOCHS + 1]
    shown = f"from {jumps[0][1]:.3g} to {jumps[0][2]:.3g} at epoch {jumps[0][0]}"
    assert any("As samples join the sum, the loss goes " + shown in c.value for c in at.caption)

    # Load the downloaded parameters into a fresh session: same predictions, no training.
    fresh = _open(QUICK)
    _ok(fresh)
    parameters = yd.parameter_file(result)
    _upload(fresh, "oscillator_parameters.resode", parameters, "yd_params")
    _ok(fresh)
    assert any("Using the parameters" in i.value for i in fresh.info)
    assert _metrics(fresh)["RMSE, held-out samples"] == metrics["RMSE, held-out samples"]
    assert _metrics(fresh)["training time"] == "loaded"
    loaded = _lesson(params=("oscillator_parameters.resode", parameters), epochs=100)
    pd.testing.assert_frame_equal(yd.prediction_table(loaded), predictions)
    # A damaged parameter file is explained, not raised.
    _upload(fresh, "broken.resode", b"RESODE-VECTOR-FIELD\n\x05", "yd_params")
    assert not fresh.exception and "cannot be used" in _errors(fresh)


def test_a_link_with_the_solver_comparison():
    """The preset's link, with epochs lowered (as the browser writes the address)."""
    link = {"yd_preset": COMPARE, "yd_compare": "true", "yd_dt": "1.0", "yd_epochs": "150"}
    at = _open(link)
    _ok(at)
    assert at.toggle(key="yd_compare").value is True
    assert at.selectbox(key="yd_b_solver").value == "euler"
    assert not at.selectbox(key="yd_b_solver").disabled
    # A adapts its steps, B (Euler) cannot: both the tolerances and Δt are in use.
    assert not at.select_slider(key="yd_rtol").disabled
    assert not at.select_slider(key="yd_dt").disabled
    metrics = _metrics(at)
    assert "A: RMSE, training window" in metrics and "B: RMSE, training window" in metrics
    assert {A, B} <= {m.value.strip("*") for m in at.markdown}  # full names above them
    result = _lesson(compare=True, dt=1.0, epochs=150)
    assert {"x_predicted", "x_predicted_euler"} <= set(yd.prediction_table(result).columns)
    fit_chart = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert len(fit_chart["hconcat"]) == 2  # two panels on shared axes
    # Swapping solvers after training: each field only fits through the solver it was trained with.
    swap = at.dataframe[0].value.set_index(["trained with", "solved with"])["RMSE, held out"]
    assert swap[(A, B)] > 3 * swap[(A, A)]
    assert swap[(B, A)] > 3 * swap[(B, B)]
    assert any(c.value == yd.swap_note(at.dataframe[0].value) for c in at.caption)
    at.slider(key="yd_horizon").set_value(0.5).run()
    at.slider(key="yd_train_frac").set_value(0.8).run()
    _ok(at)
    fresh = _open({**link, "yd_train_frac": "0.8", "yd_horizon": "0.5", "present": "1"})
    _ok(fresh)
    # Presenter mode: the same first screen, the two panels wider (the sidebar is closed).
    assert widgets_above_the_first_chart(fresh) == FIRST_SCREEN
    assert json.loads(fresh.get("vega_lite_chart")[0].proto.spec)["hconcat"][0]["width"] == 460
    assert fresh.selectbox(key="yd_preset").value == COMPARE
    assert fresh.slider(key="yd_train_frac").value == 0.8
    assert fresh.slider(key="yd_horizon").value == 0.5
    assert _metrics(fresh, skip="time") == _metrics(at, skip="time")
    pd.testing.assert_frame_equal(fresh.dataframe[0].value, at.dataframe[0].value)


def test_the_comparison_preset_and_a_tampered_link():
    at = _open({**QUICK, "yd_b_solver": "rk45", "yd_dt": "0.3", "yd_grow": "maybe"})
    _ok(at)
    assert at.selectbox(key="yd_b_solver").value == "euler"
    assert at.select_slider(key="yd_dt").value == 0.25
    assert at.checkbox(key="yd_grow").value is True
    labels = at.selectbox(key="yd_preset").options
    assert labels[0] == "Default settings" and len(labels) == len(yd.PRESETS)
    at.selectbox(key="yd_preset").select(COMPARE).run()
    _ok(at)
    assert at.slider(key="yd_epochs").value == 1000  # the preset replaces the link's 100
    assert at.toggle(key="yd_compare").value is True
    assert at.select_slider(key="yd_dt").value == 1.0
    assert dict(at.query_params) == {"yd_compare": "true", "yd_dt": "1", "yd_epochs": "1000"}


def test_slider_moves_to_new_values_do_not_recompile(compile_counter):
    at = _open(QUICK)
    _ok(at)
    at.slider(key="yd_epochs").set_value(150).run()
    compile_counter.count = 0
    at.slider(key="yd_epochs").set_value(200).run()
    at.slider(key="yd_horizon").set_value(0.4).run()
    at.slider(key="yd_train_frac").set_value(0.7).run()
    at.select_slider(key="yd_lr").set_value(0.02).run()
    _ok(at)
    assert compile_counter.count == 0


def test_upload_validation_messages_and_a_good_upload():
    at = _open(QUICK)
    _ok(at)
    cases = {
        "empty": (b"", "empty"),
        "one column": (b"t\n1\n2\n3\n4\n", "only one column"),
        "nan": (b"t,x\n0,1\n1,nan\n2,3\n3,4\n", "missing value"),
        "inf": (b"t,x\n0,1\n1,-inf\n2,3\n3,4\n", "infinite"),
        "text": (b"t,x\n0,1\n1,hello\n2,3\n3,4\n", "text in data row 2"),
        "unsorted": (b"t,x\n0,1\n2,2\n1,3\n3,4\n", "not sorted"),
        "duplicate": (b"t,x\n0,1\n1,2\n1,3\n3,4\n", "appears twice"),
        "rows": (b"t,x\n" + b"1,2\n" * 100_001, "limit is 100,000"),
        "binary": (b"\x00\x01\x02PK" * 50, "binary"),
        "size": (b"t,x\n" + b"0," + b"1" * (6 * 1024 * 1024) + b"\n", "limit is 5 MB"),
    }
    for name, (content, expected) in cases.items():
        _upload(at, f"{name}.csv", content)
        assert not at.exception, (name, at.exception)
        assert expected in _errors(at), (name, _errors(at))
    # A good file with other column names and a text column: sensible defaults, a fit.
    rows = ["time,label,u,v"] + [
        f"{t:.3f},p{i},{np.cos(t):.5f},{-np.sin(t):.5f}"
        for i, t in enumerate(np.linspace(0.0, 6.0, 24))
    ]
    content = "\n".join(rows).encode()
    _upload(at, "circle.csv", content)
    _ok(at)
    assert at.selectbox(key="yd_time").value == "time"
    assert at.multiselect(key="yd_states").value == ["u", "v"]
    assert "label" not in at.multiselect(key="yd_states").options
    assert set(chart_frames(at)[0]["series"].dropna()) == {"u", "v"}
    assert not any("What you should see" in c.value for c in at.caption)  # the example's notes
    series = yd.load_series(content, "circle.csv", "a test's own token", "time", ("u", "v"))
    assert list(yd.prediction_table(_lesson(series, epochs=100)).columns)[:2] == ["time", "part"]
    # Nothing held out: the metric says so, and the question has nothing to be checked against.
    at.slider(key="yd_train_frac").set_value(1.0).run()
    _ok(at)
    assert _metrics(at)["RMSE, held-out samples"] == "none held out"
    assert any(c.value.startswith("Nothing is held out at this") for c in at.caption)
    at.multiselect(key="yd_states").set_value([]).run()
    assert "at least one state" in _errors(at)


def test_fits_of_an_upload_stay_with_the_session_that_uploaded_it(monkeypatch, tmp_path):
    """The example's fits are shared (and kept on disk); two students uploading the very same
    file are not: each trains for its owner, and nothing of an upload reaches the disk."""
    monkeypatch.setattr(training, "PERSIST", True)
    monkeypatch.setenv("RESODE_FIT_DIR", str(tmp_path))
    training.board.clear()
    trainings = []
    fit_ode = rc.fit_ode
    monkeypatch.setattr(rc, "fit_ode", lambda *a, **k: trainings.append(1) or fit_ode(*a, **k))
    first, second = _open(QUICK), _open(QUICK)  # the example: trained once, for both
    _ok(first), _ok(second)
    assert len(trainings) == 1 and len(list(tmp_path.glob("*.fit"))) == 1
    rows = ["t,u,v"] + [f"{t:.3f},{np.cos(t):.5f},{-np.sin(t):.5f}" for t in np.linspace(0, 6, 20)]
    content = "\n".join(rows).encode()
    _upload(first, "mine.csv", content)
    _upload(second, "mine.csv", content)
    _ok(first), _ok(second)
    assert len(trainings) == 3  # each upload trained for its owner
    assert len(list(tmp_path.glob("*.fit"))) == 1  # and kept off the disk
    owners = {key.source.owner for key in training.board().finished}
    assert len(owners - {yd.EXAMPLE_OWNER}) == 2
    # Same data and settings: the same (deterministic) fit, computed twice.
    assert _metrics(first, skip="time") == _metrics(second, skip="time")
    training.board.clear()


# ----------------------------------------------------------------------------- what the page claims


def test_every_preset_has_a_note():
    assert list(yd.SHOULD_SEE) == list(yd.PRESETS)


def test_the_example_is_the_damped_oscillator_the_page_names():
    """x″ + 0.1x′ + x = 0 from (2, 0), y = x′, 40 samples on [0, 12] (the page's caption)."""
    series = yd.example_series()
    assert series.source.states == ("x", "y") and series.ts.size == 40
    assert (series.ts[0], series.ts[-1]) == (0.0, 12.0)
    exact = solve_ivp(
        lambda t, u: [u[1], -0.1 * u[1] - u[0]], (0, 12), series.ys[0], t_eval=series.ts, rtol=1e-10
    )
    np.testing.assert_allclose(series.ys, exact.y.T, atol=1e-5)


def test_what_the_presets_show_on_the_example():
    default, quick, stuck, every = (
        _lesson(**dataclasses.asdict(yd.PRESETS[label]))
        for label in ("Default settings", yd.QUICK, yd.AT_ONCE, yd.EVERY)
    )
    spread = yd.data_spread(default.series)
    assert default.runs[0].rmse_test < yd.TRUSTED * spread
    assert quick.runs[0].rmse_train > default.runs[0].rmse_train
    assert quick.runs[0].rmse_test > default.runs[0].rmse_test
    # Without the growing window: stuck on a point, even the window missed by half the spread.
    run = stuck.runs[0]
    assert run.rmse_train > 0.5 * spread
    ts, dense = run.prediction["dense_t"], run.prediction["dense"]
    late = dense[ts > ts[0] + (stuck.series.ts[-1] - ts[0]) / 3]
    assert np.all(np.ptp(late, axis=0) < 0.1 * np.ptp(stuck.series.ys, axis=0))
    # Nothing held out: nothing to reveal.
    assert every.n_train == every.series.ts.size and np.isnan(every.runs[0].rmse_test)
    assert yd.held_out_answer(every) is None


def test_the_solver_comparison_preset_on_the_example():
    result = _lesson(**dataclasses.asdict(yd.PRESETS[COMPARE]))
    spread = yd.data_spread(result.series)
    assert [run.label for run in result.runs] == [A, B]
    assert all(run.rmse_train < 0.03 * spread for run in result.runs)
    held = result.swap.set_index(["trained with", "solved with"])["RMSE, held out"]
    assert held[(A, B)] > 3 * held[(A, A)] and held[(B, A)] > 3 * held[(B, B)]
    assert yd.held_out_answer(result)[1].startswith("A's RMSE on the 10 held-out samples")

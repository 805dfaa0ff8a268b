"""The regression-as-a-flow page: y = −x defeats the 1-D flow only; widgets rerun cleanly;
links and presets carry the settings."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from page_data import chart_frames, shown_metrics
from streamlit.testing.v1 import AppTest

import resode_core as rc
from resode_ui import ode_charts as oc, palette
from resode_ui.lessons import regression_flow as flow

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "regression_flow.py")
RINGS = flow.RINGS_PRESET


def _page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.query_params.update(query or {})
    return at.run()


def _clean(at):
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _mse(at) -> dict[str, float]:
    """The three models' MSE metrics: node, augmented, resnet (in the page's order)."""
    values = [float(v) for label, v in shown_metrics(at).items() if label.endswith(": MSE")]
    return dict(zip(("node", "augmented", "resnet"), values, strict=True))


def _chart(at, *columns: str):
    return next(f for f in chart_frames(at) if set(columns) <= set(f.columns))


def _animation(at):
    """The animated chart's data: the first chart with a panel per model."""
    return _chart(at, "panel", "t")


def _statement(at, start: str) -> str:
    """The sentence under the charts that says whether a flow can map these points."""
    return next(m.value for m in at.markdown if start in m.value)


def test_default_shows_the_crossing_limit_then_every_widget(monkeypatch):
    at = _page()
    _clean(at)
    mse = _mse(at)
    assert mse["node"] > 0.3  # stuck at the best increasing map
    assert mse["augmented"] < 0.02 and mse["resnet"] < 0.02
    # "No flow in 1-D can represent this map": a statement, not a yellow warning.
    assert not at.warning
    bound = flow.best_increasing_mse(*rc.flow_regression_task(flow.REFLECTION, 16))
    assert f"no increasing map gets below MSE {bound:.3f}" in _statement(at, "No flow in 1-D")
    assert any(flow.SHOULD_SEE["Default settings"] in c.value for c in at.caption)
    # The first chart is the task, drawn before any training: each input and its target.
    x, y = rc.flow_regression_task(flow.REFLECTION, 16)
    pd.testing.assert_frame_equal(chart_frames(at)[0], flow.task_frame(x, y), check_dtype=False)
    assert any("120 of the 120 pairs of points swap their order" in c.value for c in at.caption)
    # The second is the animated one: the three models' paths, on its last frame.
    panels = _animation(at)
    assert set(panels["panel"].dropna()) == {
        "Neural ODE (1-D)",
        "Augmented ODE: x of 2 coordinates",
        "ResNet",
    }
    assert at.session_state["rf_play_frame"] == flow.FRAMES - 1
    # The prediction: asked before the charts, answered from the MSEs, without retraining.
    assert at.radio(key="rf_question").value is None
    trained = []
    for name in ("fit_ode", "train_deep_net"):
        train = getattr(rc, name)
        monkeypatch.setattr(rc, name, lambda *a, _t=train, **k: trained.append(1) or _t(*a, **k))
    at.radio(key="rf_question").set_value(flow.WORSE).run()
    _clean(at)
    assert "The plain neural ODE ends at MSE 0.38" in at.success[0].value
    assert "times higher" in at.success[0].value
    at.radio(key="rf_question").set_value(flow.ABOUT_AS_WELL).run()
    assert f"So the answer here is **{flow.WORSE}**" in at.info[0].value
    assert not trained
    monkeypatch.undo()
    at.radio(key="rf_question").set_value(None).run()
    assert not at.success and not at.info
    curves = _chart(at, "model").dropna(subset=["model"])
    assert curves["model"].nunique() == 3
    node = curves[curves["model"] == "neural ODE (1-D)"].sort_values("x")["y"].to_numpy()
    assert (node[1:] >= node[:-1] - 1e-5).all()  # the 1-D flow's map never decreases
    history = _chart(at, "epoch", "series")
    assert history["series"].nunique() == 3 and len(history) == 3 * flow.FlowSettings().epochs

    # Then every widget, on the same app (one cold start per file).
    at.slider(key="rf_epochs").set_value(200).run()
    _clean(at)
    assert not any(flow.SHOULD_SEE["Default settings"] in c.value for c in at.caption)
    at.select_slider(key="rf_lr").set_value(0.05).run()
    _clean(at)
    at.slider(key="rf_points").set_value(12).run()
    _clean(at)
    at.slider(key="rf_blocks").set_value(5).run()
    _clean(at)
    assert "ResNet, 5 blocks: MSE" in shown_metrics(at)
    at.number_input(key="rf_seed").set_value(1).run()
    _clean(at)
    at.slider(key="rf_extra").set_value(2).run()
    _clean(at)
    at.slider(key="rf_extra").set_value(1).run()
    at.selectbox(key="rf_task").select("cube y = x³").run()
    _clean(at)
    assert "can map these sample points" in _statement(at, "A flow in 1-D")
    at.selectbox(key="rf_task").select("rotation by 90°").run()
    _clean(at)
    assert _mse(at)["node"] < 0.05  # a 2-D flow can rotate
    kinds = set(_chart(at, "kind", "x2")["kind"].dropna())
    assert "target" in kinds and len(kinds) == 4
    at.selectbox(key="rf_task").select("swap the rings (inner ↔ outer)").run()
    _clean(at)


def test_resnet_blocks_retrain_only_the_resnet_and_compile_nothing(compile_counter):
    at = _page()
    _clean(at)
    before = _mse(at)
    compile_counter.count = 0
    at.slider(key="rf_blocks").set_value(6).run()
    _clean(at)
    after = _mse(at)
    assert after["node"] == before["node"] and after["augmented"] == before["augmented"]
    assert after["resnet"] != before["resnet"]
    assert compile_counter.count == 0  # the block count is a runtime value

    # Play: the points travel frame by frame along the saved paths, and nothing compiles.
    def drawn():
        return _animation(at), at.session_state["rf_play_frame"]

    finished, last = drawn()
    at.button(key="rf_play_play").click().run()  # from the end: starts again at t = 0
    assert at.session_state["rf_play_playing"] is True
    first, frame = drawn()
    assert frame == 0 and not first.equals(finished)
    at.run()  # what the timer does: one frame per run
    second, frame = drawn()
    assert frame == 1 and not second.equals(first)
    at.button(key="rf_play_play").click().run()  # Pause
    at.button(key="rf_play_step").click().run()
    assert drawn()[1] == 2 and last == flow.FRAMES - 1
    assert at.select_slider(key="rf_play_frame").options[2] == "t = 0.050 · ResNet: input"
    assert compile_counter.count == 0


def test_a_link_reproduces_the_fits():
    settings = {"rf_points": "8", "rf_extra": "2", "rf_blocks": "2", "rf_epochs": "100"}
    by_hand = _page()
    by_hand.slider(key="rf_points").set_value(8)
    by_hand.slider(key="rf_blocks").set_value(2)
    by_hand.slider(key="rf_epochs").set_value(100)
    by_hand.number_input(key="rf_seed").set_value(1)
    by_hand.slider(key="rf_extra").set_value(2).run()
    _clean(by_hand)
    at = _page({**settings, "rf_seed": "1"})
    _clean(at)
    assert at.slider(key="rf_extra").value == 2 and at.number_input(key="rf_seed").value == 1
    assert shown_metrics(at) == shown_metrics(by_hand)
    assert dict(at.query_params) == {**settings, "rf_seed": "1"}


def test_presets_fail_then_fix():
    at = _page()
    at.selectbox(key="rf_preset").select(
        "Augmentation fixes it: y = −x with one extra dimension"
    ).run()
    _clean(at)
    assert not dict(at.query_params)  # that lesson is the defaults
    mse = _mse(at)
    assert mse["node"] > 0.3 and mse["augmented"] < 0.02  # y = −x: stuck in 1-D, fixed by +1
    at.selectbox(key="rf_preset").select(RINGS).run()
    _clean(at)
    assert at.selectbox(key="rf_task").value == "swap the rings (inner ↔ outer)"
    # The preset's settings that differ from the defaults are now in the address.
    link = dict(at.query_params)
    assert link == {"rf_task": "swap the rings (inner ↔ outer)", "rf_extra": "2"}
    mse = _mse(at)
    assert mse["augmented"] < mse["node"] / 5
    assert any(flow.SHOULD_SEE[RINGS] in c.value for c in at.caption)
    assert "can swap these sample points" in _statement(at, "A 2-D flow can swap")
    # Presenter mode: the explanation and the secondary charts fold into "More".
    at.session_state["present"] = True
    at.run()
    _clean(at)
    more = next(e for e in at.expander if e.label.startswith("More"))
    assert len(more.get("vega_lite_chart")) == 2  # the fitted map and the histories
    assert len(at.get("vega_lite_chart")) == 4  # and on the slide: the task, the animation
    at.session_state["present"] = False
    fresh = _page(link)
    _clean(fresh)
    assert shown_metrics(fresh) == shown_metrics(at)


def test_the_task_is_on_screen_before_any_training(monkeypatch):
    """A fresh server compiles for seconds: the title, the question, the controls and the
    task's data come first, the progress bar names the model in training, and each model's
    MSE shows as soon as its own fit is done."""
    calls = []

    def not_yet(*args, **kwargs):  # stands in for the fits: nothing after this is drawn
        calls.append(kwargs)
        raise RuntimeError("still training")

    monkeypatch.setattr(flow, "lesson", not_yet)
    at = _page({"rf_task": "rotation by 90°"})
    assert at.exception and "still training" in at.exception[0].value
    assert at.title[0].value == "Regression as a flow"
    assert at.radio(key="rf_question").value is None
    assert at.selectbox(key="rf_task").value == "rotation by 90°"
    (task,) = chart_frames(at)  # the task, and nothing trained
    x, y = rc.flow_regression_task(flow.ROTATION, 16)
    pd.testing.assert_frame_equal(task, flow.task_frame(x, y), check_dtype=False)
    assert any("Each model must move every dot onto its ring" in c.value for c in at.caption)
    assert not at.metric and callable(calls[0]["fitted"])


def test_each_fit_is_reported_as_it_arrives():
    steps = []
    result = flow.lesson(
        flow.FlowSettings(),
        lambda fraction, text: steps.append((fraction, text)),
        fitted=lambda index, model: steps.append((index, model)),
    )
    said = [text for _, text in steps[0::2]]
    assert said == [
        "Training the ResNet (1 of 3) …",
        "Training the neural ODE (2 of 3) …",
        "Training the augmented neural ODE (3 of 3) …",
    ]
    assert [fraction for fraction, _ in steps[0::2]] == pytest.approx([0, 1 / 3, 2 / 3])
    fitted = dict(steps[1::2])
    assert set(fitted) == {0, 1, 2}  # indexes in MODEL_ORDER, the page's columns
    for index, field in enumerate(flow.MODEL_ORDER):
        assert fitted[index] is getattr(result, field)


def test_the_task_chart_joins_each_input_to_its_target():
    x, y = rc.flow_regression_task(flow.REFLECTION, 5)
    frame = flow.task_frame(x, y)
    assert list(frame.columns) == ["point", "s", "start", "x"]  # 1-D: no second coordinate
    inputs, targets = frame[frame["s"] == 0], frame[frame["s"] == 1]
    np.testing.assert_array_equal(inputs["x"], x[:, 0])
    np.testing.assert_array_equal(targets["x"], y[:, 0])
    np.testing.assert_array_equal(targets["start"], x[:, 0])  # coloured by the input
    spec = oc.task_chart(frame).to_dict()
    assert len(spec["datasets"]) == 1  # the page sends the points once
    lines, rings, dots = spec["hconcat"][0]["layer"]
    assert rings["transform"] == [{"filter": "(datum.s === 1.0)"}]
    assert lines["mark"]["type"] == "line" and lines["encoding"]["detail"]["field"] == "point"
    assert rings["mark"]["filled"] is False and rings["mark"]["color"] == palette.TRUE
    assert dots["mark"]["filled"] is True and dots["encoding"]["color"]["field"] == "start"
    assert lines["encoding"]["x"]["field"] == "s"
    assert lines["encoding"]["x"]["axis"]["values"] == [0.0, 1.0]  # labelled input, target
    assert spec["hconcat"][0]["height"] < spec["hconcat"][0]["width"]

    x, y = rc.flow_regression_task(flow.RINGS, 8)
    frame = flow.task_frame(x, y)
    np.testing.assert_array_equal(frame[frame["s"] == 1][["x", "y"]], y)
    spec = oc.task_chart(frame, plane=True, cyclic=True, size=300).to_dict()
    layer = spec["hconcat"][0]
    assert (layer["width"], layer["height"]) == (300, 300)  # equal units on both axes
    x_scale = layer["layer"][0]["encoding"]["x"]["scale"]["domain"]
    y_scale = layer["layer"][0]["encoding"]["y"]["scale"]["domain"]
    assert np.isclose(np.diff(x_scale), np.diff(y_scale))
    color = layer["layer"][2]["encoding"]["color"]["scale"]
    assert color["range"] == list(oc.ANGLE_COLORS)  # angles: the cyclic colours
    with pytest.raises(ValueError, match="y"):
        oc.task_chart(frame.drop(columns="y"), plane=True)


def test_swapped_pairs_count_what_a_1d_flow_cannot_keep():
    assert flow.swapped_pairs(*rc.flow_regression_task(flow.REFLECTION, 16)) == (120, 120)
    assert flow.swapped_pairs(*rc.flow_regression_task("cube y = x³", 16)) == (0, 120)
    x = np.arange(4.0)[:, None]
    assert flow.swapped_pairs(x, np.array([[1, 3, 2, 2.0]]).T) == (3, 6)  # equal targets meet


def test_the_warm_up_prepares_the_defaults_then_every_preset(monkeypatch):
    warmed = []
    monkeypatch.setattr(flow, "lesson", lambda s, *a, **k: warmed.append(s))
    flow.warm_up()
    assert warmed == [flow.FlowSettings()]
    warmed.clear()
    flow.warm_up_more()
    assert set(flow.PRESETS.values()) <= set(warmed)
    assert flow.FlowSettings(task=flow.RINGS, extra=2) in warmed
    assert {s.extra for s in warmed if s.task == flow.REFLECTION} == {1, 2, 3}  # the slider


def test_a_tampered_link_falls_back_to_the_defaults():
    link = {"rf_task": "<script>alert(1)</script>", "rf_lr": "abc", "rf_extra": "9"}
    at = _page({**link, "rf_blocks": "-1", "rf_epochs": "100"})
    _clean(at)
    defaults = flow.FlowSettings()
    assert at.selectbox(key="rf_task").value == defaults.task
    assert at.select_slider(key="rf_lr").value == defaults.lr
    assert at.slider(key="rf_extra").value == defaults.extra  # out of range
    assert at.slider(key="rf_blocks").value == defaults.blocks
    assert at.slider(key="rf_epochs").value == 100  # the valid part is kept
    assert dict(at.query_params) == {"rf_epochs": "100"}


# ----------------------------------------------------------------------------- the lesson's claims


def test_the_question_compares_the_two_final_mses():
    assert flow.plain_vs_augmented(0.38, 6e-6)[0] == flow.WORSE
    assert flow.plain_vs_augmented(1e-3, 0.05)[0] == flow.BETTER
    assert flow.plain_vs_augmented(2e-4, 1e-4) == (
        flow.ABOUT_AS_WELL,
        "The plain neural ODE ends at MSE 0.0002, the augmented one at 0.0001: "
        "at most 3 times apart.",
    )
    truth, said = flow.plain_vs_augmented(8e-4, 1e-4)  # 8 times, but only 0.0007 apart
    assert truth == flow.ABOUT_AS_WELL and said.endswith("within 0.001 of each other.")
    assert set(flow.QUESTION_OPTIONS) == {flow.ABOUT_AS_WELL, flow.WORSE, flow.BETTER}
    assert flow.plain_vs_augmented(float("nan"), 0.1) is None  # a diverged fit


def test_best_increasing_mse_is_the_isotonic_fit():
    x, y = rc.flow_regression_task(flow.REFLECTION, 16)
    assert flow.best_increasing_mse(x, y) == pytest.approx(np.mean(x**2))  # the constant 0
    assert flow.best_increasing_mse(*rc.flow_regression_task("cube y = x³", 9)) == 0.0
    # Only the out-of-order pair is pooled: (1, 3, 2, 4) → (1, 2.5, 2.5, 4).
    assert flow.best_increasing_mse(np.arange(4.0)[:, None], np.array([[1, 3, 2, 4.0]]).T) == (
        pytest.approx(0.125)
    )


def test_should_see_notes_hold():
    assert list(flow.SHOULD_SEE) == list(flow.PRESETS)
    results = {label: flow.lesson(settings) for label, settings in flow.PRESETS.items()}
    default = results["Default settings"]
    bound = flow.best_increasing_mse(default.x, default.y)
    assert round(bound, 3) == 0.378 and len(default.x) == 16
    order = np.diff(default.plain.paths[:, :, 0], axis=0)  # points sorted by x(0)
    assert np.all(order > 0)  # at every time: the lines never cross
    assert default.plain.mse >= bound
    assert default.augmented.mse < 0.01 and default.resnet.mse < 0.01
    stuck = results[flow.STUCK]
    assert stuck.plain.mse > 0.37 and stuck.plain.mse >= bound
    augmented = results[flow.AUGMENTED].augmented
    a = augmented.paths[:, :, 1]
    assert np.all(a[:, 0] == 0) and np.abs(a).max() > 0.5  # leaves the line a = 0
    assert np.all(np.diff(augmented.paths[:, -1, 0]) < 0) and augmented.mse < 0.01
    rings = results[RINGS]
    assert rings.plain.mse > 10 * rings.augmented.mse
    rotation = results[flow.ROTATION_PRESET]
    assert max(m.mse for m in (rotation.plain, rotation.augmented, rotation.resnet)) < 1e-3
    paths = rotation.plain.paths
    turn = np.arctan2(paths[:, -1, 1], paths[:, -1, 0]) - np.arctan2(paths[:, 0, 1], paths[:, 0, 0])
    np.testing.assert_allclose(np.degrees(turn) % 360, 90, atol=10)

"""The vanishing-gradients page: defaults, every widget, links, presets, and overflow; the
gradients at initialisation, drawn first."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from page_data import chart_frames, shown_metrics
from streamlit.testing.v1 import AppTest

import resode_core as rc
from resode_ui.lessons import vanishing_gradients as vg

rc_train = rc.train_deep_net

PAGE = "pages/vanishing_gradients.py"


def _linked(query: dict) -> AppTest:
    """The page opened from a link (parameter names are the widget keys)."""
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / PAGE), default_timeout=120)
    at.query_params.update(query)
    return at.run()


def _grad_frame(at) -> pd.DataFrame:
    """Both gradient charts (at initialisation, after training) in one frame."""
    return pd.concat([f for f in chart_frames(at) if "grad_norm" in f.columns], ignore_index=True)


def _ok(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _messages(at) -> str:
    return " ".join(str(box.value) for box in [*at.error, *at.warning]).lower()


def test_defaults_show_vanishing_gradients_degradation_and_identity(open_page, monkeypatch):
    at = open_page(PAGE)
    _ok(at)
    # The question waits for an answer; answering compares, from cached results (no training).
    assert any("Make your prediction" in c.value for c in at.caption)
    truth, observed = vg.depth_answer(vg.VanishingSettings(), vg.lesson(vg.VanishingSettings()))
    assert truth == "shrink" and "with 10 layers and" in observed and "with 50" in observed
    trainings = []
    monkeypatch.setattr(
        rc, "train_deep_net", lambda *a, **k: trainings.append(1) or rc_train(*a, **k)
    )
    at.radio(key="vg_question").set_value("shrink").run()
    _ok(at)
    assert [box.value for box in at.success] == [
        f"You predicted **shrink**. {observed} As you predicted."
    ]
    at.radio(key="vg_question").set_value("grow").run()
    _ok(at)
    assert not at.success
    assert [box.value for box in at.info] == [
        f"You predicted **grow**. {observed} So the answer here is **shrink**."
    ]
    assert trainings == []
    # The default preset's note sits under the gradient charts.
    assert any(vg.SHOULD_SEE["Default settings"] in c.value for c in at.caption)
    metrics = shown_metrics(at)
    # Depth 50: the plain net's first layer gets orders of magnitude less gradient.
    assert float(metrics["plain: first / last layer"]) < 1e-3
    assert 0.2 < float(metrics["ResNet: first / last layer"]) < 5
    assert float(metrics["first layer: plain / ResNet"]) < 1e-3
    grads = _grad_frame(at)
    init = grads[grads["stage"] == "at initialisation"]
    plain = init[init["network"] == "plain"].set_index("layer")["grad_norm"]
    resnet = init[init["network"] == "ResNet"].set_index("layer")["grad_norm"]
    assert sorted(plain.index) == list(range(1, 51))
    assert plain[1] < 1e-3 * resnet[1]
    assert set(grads["stage"]) == {"at initialisation", "after 300 epochs"}
    # Degradation: the deep plain net trains worse than the shallow one; the ResNet does not.
    shallow = float(metrics["shallow plain: final training loss"])
    deep_plain = float(metrics["deep plain: final training loss"])
    deep_resnet = float(metrics["deep ResNet: final training loss"])
    assert deep_plain > 5 * shallow
    assert deep_resnet < deep_plain
    # ... and on the held-out points too (He et al.'s test error).
    held_shallow = float(metrics["shallow plain: final held-out loss"])
    held_deep = float(metrics["deep plain: final held-out loss"])
    assert held_deep > vg.LOSS_FACTOR * held_shallow
    # The chart draws both curves of each network: training solid, held-out dashed.
    losses = next(f for f in chart_frames(at) if "loss" in f.columns)
    assert set(losses["points"]) == {"training", "held-out"}
    assert len(losses) == 3 * 2 * 300
    # The verdict under the chart is computed from those numbers, not fixed text.
    verdict = next(m.value for m in at.markdown if "With these settings" in m.value)
    assert verdict == vg.degradation_verdict(vg.lesson(vg.VanishingSettings()))
    assert "the degradation He et al. saw in training and test error" in verdict
    assert f"({held_deep:.2e} against {held_shallow:.2e})" in verdict
    # Small weights: plain → constant map (slope 0), ResNet → identity (slope 1).
    assert abs(float(metrics["plain: slope of the output"])) < 0.05
    assert float(metrics["ResNet: slope of the output"]) > 0.9
    # The page shows what the lesson computes for the same settings.
    result = vg.lesson(vg.VanishingSettings())
    first_last = result.at_init("plain")[0] / result.at_init("plain")[-1]
    assert metrics["plain: first / last layer"] == f"{first_last:.1e}"


def test_the_lesson_backs_the_pages_numbers():
    """The text's claims at the defaults, computed by the lesson itself."""
    result = vg.lesson(vg.VanishingSettings())
    plain, resnet = result.at_init("plain"), result.at_init("ResNet")
    # "layer 1 receives about 0.8⁵⁰ ≈ 10⁻⁵ of what the last layer gets"
    assert 1e-6 < plain[0] / plain[-1] < 1e-4
    assert 0.2 < resnet[0] / resnet[-1] < 5  # "every layer gets a similar share"
    # "no extra parameters"
    assert result.params["plain"] == result.params["ResNet"] > 0
    # All weights at 0: the plain net is a constant map, the ResNet (tanh) the identity.
    shrunk = vg.small_weights(vg.VanishingSettings(), 0.0)
    assert shrunk["slope"]["plain"] == pytest.approx(0.0, abs=1e-12)
    assert shrunk["slope"]["ResNet"] == pytest.approx(1.0, abs=1e-6)
    gains = shrunk["gains"]
    np.testing.assert_allclose(gains[gains["factor"] == 0.0]["gain"], [0.0, 1.0], atol=1e-6)


def test_runtime_widgets_answer_without_recompiling(open_page, compile_counter):
    at = open_page(PAGE)
    _ok(at)
    compile_counter.count = 0
    at.slider(key="vg_depth").set_value(20).run()
    _ok(at)
    assert _grad_frame(at)["layer"].max() == 20
    # After training the plain net's curve lies above the ResNet's: a caption says why.
    settings = vg.VanishingSettings(depth=20)
    note = vg.after_training_note(settings, vg.lesson(settings))
    assert "nearer a minimum" in note and note in [c.value for c in at.caption]
    # The defaults' note describes depth 50: once the depth moves, it is gone.
    assert not any("What you should see" in c.value for c in at.caption)
    at.slider(key="vg_init_scale").set_value(1.0).run()
    _ok(at)
    at.slider(key="vg_seed").set_value(3).run()
    _ok(at)
    at.slider(key="vg_epochs").set_value(100).run()
    _ok(at)
    assert set(_grad_frame(at)["stage"]) == {"at initialisation", "after 100 epochs"}
    at.select_slider(key="vg_learning_rate").set_value(1e-3).run()
    _ok(at)
    at.slider(key="vg_shrink").set_value(0.0).run()
    _ok(at)
    metrics = shown_metrics(at)
    assert float(metrics["plain: slope of the output"]) == 0.0
    assert abs(float(metrics["ResNet: slope of the output"]) - 1.0) < 1e-6
    at.selectbox(key="vg_branch").select("h = 1/L").run()
    _ok(at)
    at.radio(key="vg_show").set_value("plain").run()
    _ok(at)
    assert set(_grad_frame(at)["network"]) == {"plain"}
    shrink = [f for f in chart_frames(at) if "s" in f.columns or "factor" in f.columns]
    assert all(set(f["network"].dropna()) <= {"plain", "identity y = x"} for f in shrink)
    assert compile_counter.count == 0


def test_structural_widgets_and_edge_cases(open_page):
    at = open_page(PAGE)
    at.select_slider(key="vg_width").set_value(8).run()
    _ok(at)
    at.selectbox(key="vg_activation").select("sigmoid").run()
    _ok(at)
    # Sigmoid at depth 50: the plain gradient underflows to 0 and the page says so.
    assert any("underflow" in c.value for c in at.caption)
    assert float(shown_metrics(at)["first layer: plain / ResNet"]) < 1e-3
    at.slider(key="vg_epochs").set_value(0).run()
    _ok(at)
    assert any("epochs above 0" in i.value for i in at.info)
    at.slider(key="vg_depth").set_value(2).run()
    _ok(at)
    at.slider(key="vg_depth").set_value(128).run()
    _ok(at)


def test_overflow_is_explained(open_page):
    """ReLU, h = 1, scale 2 and 128 layers: the signal overflows float32."""
    at = open_page(PAGE)
    _ok(at)
    at.slider(key="vg_epochs").set_value(50).run()
    at.slider(key="vg_depth").set_value(128).run()
    at.selectbox(key="vg_activation").select("relu").run()
    at.slider(key="vg_init_scale").set_value(2.0).run()
    at.selectbox(key="vg_branch").select("h = 1 (He et al.)").run()
    at.select_slider(key="vg_learning_rate").set_value(1e-2).run()
    assert not at.exception, at.exception
    text = _messages(at)
    assert "not finite" in text and "smaller" in text, text
    at.slider(key="vg_init_scale").set_value(0.8).run()
    at.selectbox(key="vg_branch").select("h = 1/√L").run()
    _ok(at)
    assert "not finite" not in _messages(at)


# ----------------------------------------------------------------------------- links


def test_a_link_reproduces_the_view():
    at = _linked({"vg_epochs": "100"})
    _ok(at)
    at.slider(key="vg_depth").set_value(30).run()
    at.selectbox(key="vg_activation").select("sigmoid").run()
    at.slider(key="vg_seed").set_value(3).run()
    at.select_slider(key="vg_learning_rate").set_value(1e-3).run()
    at.slider(key="vg_shrink").set_value(0.25).run()
    _ok(at)
    # The address the browser writes for these widgets (AppTest has no browser).
    link = {
        "vg_depth": "30",
        "vg_activation": "sigmoid",
        "vg_seed": "3",
        "vg_epochs": "100",
        "vg_learning_rate": "0.001",
        "vg_shrink": "0.25",
    }
    fresh = _linked(link)
    _ok(fresh)
    assert not fresh.warning
    assert fresh.slider(key="vg_depth").value == 30
    assert fresh.selectbox(key="vg_activation").value == "sigmoid"
    assert fresh.select_slider(key="vg_learning_rate").value == 1e-3
    assert fresh.slider(key="vg_shrink").value == 0.25
    assert shown_metrics(fresh) == shown_metrics(at)  # same seed, same numbers
    assert dict(fresh.query_params) == link


def test_a_preset_writes_the_address_and_a_tampered_link_falls_back():
    at = _linked({})
    _ok(at)
    labels = at.selectbox(key="vg_preset").options
    assert labels[0] == "Default settings" and len(labels) == len(vg.PRESETS)
    sigmoid = "Sigmoid: the plain gradient underflows to 0"
    at.selectbox(key="vg_preset").select(sigmoid).run()
    _ok(at)
    assert at.selectbox(key="vg_activation").value == "sigmoid"
    assert dict(at.query_params) == {"vg_activation": "sigmoid"}  # only what differs
    assert any(vg.SHOULD_SEE[sigmoid] in c.value for c in at.caption)  # the preset's note
    # Its losing ResNet is explained under the verdict, from the computed losses.
    why = vg.resnet_loss_note(vg.PRESETS[sigmoid], vg.lesson(vg.PRESETS[sigmoid]))
    assert why.startswith("Why the deep ResNet ends above") and why in [
        m.value for m in at.markdown
    ]
    # That link (the browser adds the preset's own value), with a moved and a broken widget.
    link = {"vg_preset": sigmoid, **at.query_params, "vg_epochs": "50", "vg_depth": "x"}
    fresh = _linked(link)
    _ok(fresh)
    assert fresh.selectbox(key="vg_preset").value == sigmoid
    assert fresh.selectbox(key="vg_activation").value == "sigmoid"
    assert fresh.slider(key="vg_epochs").value == 50
    assert fresh.slider(key="vg_depth").value == 50  # 'x' is ignored: the default
    assert any("underflow" in c.value for c in fresh.caption)  # the preset's lesson shows
    assert "vg_depth" not in fresh.query_params
    # A preset that moves several widgets at once.
    at.selectbox(key="vg_preset").select("Depth 128: plain vs ResNet after training").run()
    _ok(at)
    assert dict(at.query_params) == {"vg_depth": "128", "vg_epochs": "500"}
    assert at.selectbox(key="vg_activation").value == "tanh"


def test_a_link_can_hide_the_sidebar_controls():
    at = _linked({"hide": "controls", "vg_depth": "30"})
    _ok(at)
    assert at.sidebar.expander[0].label == "Settings (hidden by this link)"
    assert at.slider(key="vg_depth").value == 30  # still drawn, so the link's value holds
    assert _grad_frame(at)["layer"].max() == 30


# ----------------------------------------------------------------------------- at initialisation
# The first chart (rc.layer_grad_norms: one program per activation and width, every depth
# shares it) is drawn before any training.


def test_the_first_chart_does_not_wait_for_training(monkeypatch):
    """Settings never trained, and a training that fails: the gradients at initialisation,
    the reveal and the metrics are on the page already; the failure shows where the trained
    panel goes."""

    def fail(*args, **kwargs):
        raise ValueError("Training stopped by the test.")

    monkeypatch.setattr(rc, "train_deep_net", fail)
    at = _linked({"vg_seed": "19", "vg_epochs": "150", "vg_depth": "41"})
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["Training stopped by the test."]
    grads = _grad_frame(at)
    assert set(grads["stage"]) == {vg.AT_INIT} and grads["layer"].max() == 41
    init = vg.at_init(vg.VanishingSettings(depth=41, seed=19, epochs=150))
    plain = init.at_init("plain")
    assert shown_metrics(at)["plain: first / last layer"] == f"{plain[0] / plain[-1]:.1e}"
    assert any("Make your prediction" in c.value for c in at.caption)


def test_training_shows_its_progress_before_each_net(monkeypatch):
    events = []
    monkeypatch.setattr(
        rc,
        "train_deep_net",
        lambda net, *a, **k: events.append(("train", int(net.depth))) or rc_train(net, *a, **k),
    )
    settings = vg.VanishingSettings(depth=12, seed=18, epochs=20)
    result = vg.lesson(settings, lambda fraction, text: events.append((fraction, text)))
    assert events == [
        (0.0, "Training the shallow plain net (20 epochs)…"),
        ("train", vg.SHALLOW_DEPTH),
        (1 / 3, "Training the deep plain net (20 epochs)…"),
        ("train", 12),
        (2 / 3, "Training the deep ResNet net (20 epochs)…"),
        ("train", 12),
    ]
    assert set(result.grads["stage"]) == {vg.AT_INIT, "after 20 epochs"}
    # A depth move retrains the deep nets only: the shallow one has no depth.
    events.clear()
    vg.lesson(dataclasses.replace(settings, depth=13))
    assert events == [("train", 13), ("train", 13)]


def test_the_lesson_draws_the_same_numbers_at_initialisation():
    settings = vg.VanishingSettings(depth=23, init_scale=0.9)
    init, result = vg.at_init(settings), vg.lesson(settings)
    for name in ("plain", "ResNet"):
        np.testing.assert_array_equal(init.at_init(name), result.at_init(name))
        assert init.at_init(name).size == 23
    assert init.reference_grad == result.reference_grad and init.params == result.params
    assert vg.depth_answer(settings, init) == vg.depth_answer(settings, result)
    # Training settings and the shown nets do not change them (the same cache entry).
    other = dataclasses.replace(settings, epochs=0, learning_rate=1e-2, show="plain")
    pd.testing.assert_frame_equal(vg.at_init(other).grads, init.grads)
    # The left axis holds the depth slider's two ends, so it stays put while L moves.
    ends = (
        vg.at_init(dataclasses.replace(settings, depth=2)),
        vg.at_init(dataclasses.replace(settings, depth=rc.ResNet.MAX_DEPTH)),
    )
    low, high = init.grad_domain
    for end in ends:
        norms = end.grads["grad_norm"]
        assert low <= norms[norms > 0].min() and norms.max() <= high
    assert {end.grad_domain for end in ends} == {init.grad_domain}


def test_at_initialisation_sliders_compile_nothing(compile_counter):
    """Depth, scale, seed and step never compile: one program per activation and width serves
    every depth (the weights are stacked to the maximum depth)."""
    for activation in vg.ACTIVATIONS:  # one gradient program each, and the weights' draw
        vg.at_init(vg.VanishingSettings(activation=activation))
    compile_counter.count = 0
    for change in [
        {"depth": 77},
        {"activation": "sigmoid", "depth": 9},
        {"activation": "relu", "depth": 5},
        {"activation": "gelu", "init_scale": 0.55},
        {"init_scale": 1.35},
        {"seed": 13},
        {"branch": "h = 1/L"},
    ]:
        vg.at_init(vg.VanishingSettings(**change))
    assert compile_counter.count == 0


def test_warm_up_prepares_the_defaults_and_every_preset(monkeypatch):
    calls = []
    for name in ("lesson", "at_init", "small_weights"):
        monkeypatch.setattr(vg, name, lambda s, *a, name=name: calls.append((name, s)))
    vg.warm_up()
    assert ("lesson", vg.VanishingSettings()) in calls
    assert ("small_weights", vg.VanishingSettings()) in calls
    first_charts = {s for name, s in calls if name == "at_init"}
    assert set(vg.PRESETS.values()) <= first_charts
    assert {s.width for s in first_charts} == set(vg.WIDTHS)
    calls.clear()
    vg.warm_up_more()
    assert {s for name, s in calls if name == "lesson"} == set(vg.PRESETS.values())

"""AppTest checks of pages/vanishing_gradients.py: defaults, every widget, the data shown."""

import pandas as pd
from page_data import chart_frames, shown_metrics

PAGE = "pages/vanishing_gradients.py"


def _grad_frame(at) -> pd.DataFrame:
    """Both gradient charts (at initialisation, after training) in one frame."""
    return pd.concat([f for f in chart_frames(at) if "grad_norm" in f.columns], ignore_index=True)


def _ok(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_defaults_show_vanishing_gradients_degradation_and_identity(open_page):
    at = open_page(PAGE)
    _ok(at)
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
    shallow = float(metrics["shallow plain: final loss"])
    deep_plain = float(metrics["deep plain: final loss"])
    deep_resnet = float(metrics["deep ResNet: final loss"])
    assert deep_plain > 5 * shallow
    assert deep_resnet < deep_plain
    # Small weights: plain → constant map (slope 0), ResNet → identity (slope 1).
    assert abs(float(metrics["plain: slope of the output"])) < 0.05
    assert float(metrics["ResNet: slope of the output"]) > 0.9


def test_runtime_widgets_answer_without_recompiling(open_page, compile_counter):
    at = open_page(PAGE)
    _ok(at)
    compile_counter.count = 0
    at.slider(key="vg_depth").set_value(20).run()
    _ok(at)
    assert _grad_frame(at)["layer"].max() == 20
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

"""The regression-as-a-flow page: y = −x defeats the 1-D flow only; widgets rerun cleanly."""

PAGE = "pages/regression_flow.py"


def _clean(at):
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_default_shows_the_crossing_limit_then_every_widget(open_page):
    at = open_page(PAGE)
    _clean(at)
    mse = at.session_state["rf_results"]
    assert mse["node"] > 0.3  # stuck at the best increasing map
    assert mse["augmented"] < 0.02 and mse["resnet"] < 0.02
    assert len(at.warning) == 1  # "no flow in 1-D can represent this map"
    curves = at.session_state["rf_curves"]
    assert curves["model"].nunique() == 3
    node = curves[curves["model"] == "neural ODE (1-D)"].sort_values("x")["y"].to_numpy()
    assert (node[1:] >= node[:-1] - 1e-5).all()  # the 1-D flow's map never decreases

    # Then every widget, on the same app (one cold start per file).
    at.slider(key="rf_epochs").set_value(200).run()
    _clean(at)
    at.select_slider(key="rf_lr").set_value(0.05).run()
    _clean(at)
    at.slider(key="rf_points").set_value(12).run()
    _clean(at)
    at.slider(key="rf_blocks").set_value(5).run()
    _clean(at)
    at.number_input(key="rf_seed").set_value(1).run()
    _clean(at)
    at.slider(key="rf_extra").set_value(2).run()
    _clean(at)
    at.slider(key="rf_extra").set_value(1).run()
    at.selectbox(key="rf_task").select("cube y = x³").run()
    _clean(at)
    assert len(at.success) == 1
    at.selectbox(key="rf_task").select("rotation by 90°").run()
    _clean(at)
    assert at.session_state["rf_results"]["node"] < 0.05  # a 2-D flow can rotate
    kinds = set(at.session_state["rf_curves"]["kind"])
    assert "target" in kinds and len(kinds) == 4
    at.selectbox(key="rf_task").select("swap the rings (inner ↔ outer)").run()
    _clean(at)

"""The ResNet = Euler page: ResNet = Euler, convergence orders, parameters, comparison, links."""

from pathlib import Path

import numpy as np
import pandas as pd
from page_data import chart_frames, shown_metrics
from streamlit.testing.v1 import AppTest

import resode_core as rc
from resode_ui.lessons import resnet_euler

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "resnet_euler.py")
SAME_COST = "Side by side at equal cost: 8 ResNet layers vs 2 RK4 steps"


def _page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.query_params.update(query or {})
    return at.run()


def _ok(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _trajectory(at) -> pd.DataFrame:
    return next(f for f in chart_frames(at) if {"t", "value", "source"} <= set(f.columns))


def _slopes(at) -> dict[str, float]:
    table = at.dataframe[0].value
    return {
        row["solver"]: float(row["observed slope"]) if row["observed slope"] != "—" else np.nan
        for _, row in table.iterrows()
    }


def _resnet_euler_gap(at) -> float:
    df = _trajectory(at)
    layers = df[df["source"] == "ResNet layers x_ℓ"].sort_values(["component", "t"])
    euler = df[df["source"] == "Euler solve"].sort_values(["component", "t"])
    assert len(layers) == len(euler) > 0
    return float(np.max(np.abs(layers["value"].to_numpy() - euler["value"].to_numpy())))


def test_defaults_resnet_equals_euler_and_orders_show():
    at = _page()
    _ok(at)
    metrics = shown_metrics(at)
    assert metrics["Δt = T / L"] == "0.25"
    assert float(metrics["max |ResNet − Euler|"]) <= 1e-5
    assert _resnet_euler_gap(at) <= 1e-5
    # With Δt = 0.25 Euler is visibly off the exact flow, RK4 at the same Δt much less so.
    assert float(metrics["ResNet error at T"]) > 100 * float(
        metrics["Classical RK4 (order 4) error at T"]
    )
    slopes = _slopes(at)
    assert abs(slopes["Euler = ResNet"] - 1.0) < 0.1
    assert abs(slopes["Midpoint (order 2)"] - 2.0) < 0.3
    assert abs(slopes["Classical RK4 (order 4)"] - 4.0) < 0.5
    drawn = next(f for f in chart_frames(at) if "dt" in f.columns)
    errors = drawn.dropna(subset=["used"])  # the curves, not the slope triangles
    euler = errors[errors["solver"] == "Euler = ResNet"].dropna(subset=["dt"])
    assert euler.sort_values("dt")["error"].is_monotonic_increasing
    # A slope triangle per solver with a fitted slope, labelled with its order.
    labels = set(drawn["label"].dropna())
    assert {"slope 1", "slope 2", "slope 4"} <= labels
    assert metrics["ResNet with L = 8"] == "48 parameters"
    assert metrics["the vector field"] == "12 parameters"
    # The caption explains the fit with the page's own floor and ceiling.
    assert any("first error at or below 3e-06" in c.value for c in at.caption)
    # Side by side is off: its sliders are drawn (they keep their values) but disabled.
    assert at.slider(key="re_a_layers").disabled and "A: Δt" not in metrics
    # The question, answered wrong then right, is revealed from the Euler row of the study.
    assert any(resnet_euler.SHOULD_SEE["Default settings"] in c.value for c in at.caption)
    study = resnet_euler.convergence(resnet_euler.ORDER_SOLVERS, 4)
    truth, observed = resnet_euler.halving_answer(8, 4)
    assert truth == "it halves"
    # The reveal's first error is the metric's: the error at T of the L = 8 ResNet shown.
    assert f"the ResNet's error at T is {metrics['ResNet error at T']};" in observed
    at.radio(key="re_question").set_value("it quarters").run()
    _ok(at)
    assert [b.value for b in at.info] == [
        f"You predicted **it quarters**. {observed} So the answer here is **it halves**."
    ]
    at.radio(key="re_question").set_value("it halves").run()
    _ok(at)
    assert [b.value for b in at.success] == [
        f"You predicted **it halves**. {observed} As you predicted."
    ]
    assert any(resnet_euler.fewer_steps(study) in m.value for m in at.markdown)


def test_layers_seed_and_solver_widgets(compile_counter):
    at = _page()
    _ok(at)
    coarse = float(shown_metrics(at)["ResNet error at T"])
    compile_counter.count = 0
    at.slider(key="re_layers").set_value(64).run()
    _ok(at)
    metrics = shown_metrics(at)
    assert metrics["Δt = T / L"] == "0.03125"
    assert float(metrics["max |ResNet − Euler|"]) <= 1e-5
    assert _resnet_euler_gap(at) <= 1e-5
    assert float(metrics["ResNet error at T"]) < coarse / 4  # first order: 8× more layers
    assert metrics["ResNet with L = 64"] == "384 parameters"
    at.slider(key="re_seed").set_value(0).run()
    _ok(at)
    assert abs(_slopes(at)["Euler = ResNet"] - 1.0) < 0.1
    assert compile_counter.count == 0  # Δt, depth and the field's weights are runtime values
    at.selectbox(key="re_solver").select("midpoint").run()
    _ok(at)
    assert "Midpoint (order 2) error at T" in shown_metrics(at)
    at.multiselect(key="re_solvers").select("heun").run()
    _ok(at)
    assert "Heun (order 2)" in _slopes(at)
    at.multiselect(key="re_solvers").set_value([]).run()
    _ok(at)
    assert any("at least one solver" in i.value for i in at.info)


# ----------------------------------------------------------------------------- presets, links


def test_comparison_preset_and_its_link():
    at = _page()
    at.selectbox(key="re_preset").select(SAME_COST).run()
    _ok(at)
    assert at.toggle(key="re_compare").value is True
    assert any(resnet_euler.SHOULD_SEE[SAME_COST] in c.value for c in at.caption)
    metrics = shown_metrics(at)
    assert metrics["A: field evaluations"] == metrics["B: field evaluations"] == "8"
    # At equal cost the fourth-order method is far more accurate than the ResNet.
    assert float(metrics["B: error at T"]) < float(metrics["A: error at T"]) / 10
    assert at.query_params == {"re_compare": "true"}  # the preset's only non-default value
    at.slider(key="re_b_layers").set_value(4).run()
    _ok(at)
    assert shown_metrics(at)["B: field evaluations"] == "16"
    # The link (what the browser's address holds now), with the controls hidden.
    link = {"re_preset": SAME_COST, "re_compare": "true", "re_b_layers": "4"}
    fresh = _page({**link, "hide": "controls"})
    _ok(fresh)
    assert fresh.toggle(key="re_compare").value is True
    assert shown_metrics(fresh) == shown_metrics(at)
    assert any("hidden by this link" in e.label for e in fresh.expander)
    # Back to the defaults: every setting the preset made leaves the address.
    fresh.selectbox(key="re_preset").select("Default settings").run()
    _ok(fresh)
    assert fresh.toggle(key="re_compare").value is False
    assert not {k for k in fresh.query_params if k.startswith("re_") and k != "re_preset"}


def test_a_link_restores_every_setting_and_a_tampered_one_falls_back():
    # Choices travel as the labels the widgets show.
    heun, rk4, bosh3 = (rc.SOLVERS[name].label for name in ("heun", "rk4", "bosh3"))
    at = _page({"re_layers": "32", "re_solver": bosh3, "re_seed": "7", "re_solvers": [heun, rk4]})
    _ok(at)
    assert at.slider(key="re_layers").value == 32 and at.slider(key="re_seed").value == 7
    assert at.selectbox(key="re_solver").value == "bosh3"
    assert at.multiselect(key="re_solvers").value == ["heun", "rk4"]
    assert set(_slopes(at)) == {"Heun (order 2)", "Classical RK4 (order 4)"}
    assert shown_metrics(at)["Δt = T / L"] == "0.0625"
    dopri8 = rc.SOLVERS["dopri8"].label  # a solver this page does not offer
    bad = {"re_layers": "500", "re_solver": dopri8, "re_seed": "x", "re_compare": "maybe"}
    at = _page({**bad, "re_solvers": ["nope", heun], "evil": "1", "re_b_layers": "4"})
    _ok(at)
    assert at.slider(key="re_layers").value == 8
    assert at.selectbox(key="re_solver").value == "rk4"
    assert at.slider(key="re_seed").value == 4
    assert at.toggle(key="re_compare").value is False
    assert at.slider(key="re_b_layers").value == 4  # valid: kept
    assert at.multiselect(key="re_solvers").value == ["heun"]


# ----------------------------------------------------------------------------- the lesson


def test_the_lesson_is_euler_and_converges_at_the_solvers_orders():
    settings = resnet_euler.ResnetEulerSettings(layers=16, compare=True, b_layers=4)
    paths, sides = resnet_euler.lesson(settings)
    assert paths.resnet_vs_euler <= 1e-5  # the ResNet is Euler on its own field
    assert paths.resnet.shape == (1 + len(resnet_euler.PHASE_STARTS), 17, 2)
    np.testing.assert_allclose(paths.t[-1], resnet_euler.T_END)
    assert paths.resnet_params == 16 * 6 and paths.field_params == 12
    assert [(p.layers, p.solver) for p in sides] == [(8, "euler"), (4, "rk4")]
    # Euler on the smooth field is the ResNet sampled from it: same error at T.
    np.testing.assert_allclose(sides[0].solver_error, sides[0].resnet_error, rtol=1e-4)
    study = resnet_euler.convergence(("euler", "midpoint", "rk4"), 4)
    orders = study["orders"].set_index("solver")
    np.testing.assert_allclose(
        orders["observed slope"], orders["theoretical order"], rtol=0.15, atol=0.1
    )
    frame = resnet_euler.time_frame(paths, {"layers": "resnet", "exact": "exact"})
    assert len(frame) == 2 * (17 + len(paths.fine_t))
    resnet_euler.warm_up()  # the server's warm-up runs through
    resnet_euler.warm_up_more()

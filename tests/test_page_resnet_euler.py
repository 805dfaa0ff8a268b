"""AppTest checks of pages/resnet_euler.py: ResNet = Euler, convergence orders, parameters."""

import numpy as np
import pandas as pd
from page_data import chart_frames, shown_metrics

PAGE = "pages/resnet_euler.py"


def _trajectory(at) -> pd.DataFrame:
    return next(f for f in chart_frames(at) if {"t", "value", "source"} <= set(f.columns))


def _slopes(at) -> dict[str, float]:
    table = at.dataframe[0].value
    return {
        row["solver"]: float(row["observed slope"]) if row["observed slope"] != "—" else np.nan
        for _, row in table.iterrows()
    }


def _ok(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _resnet_euler_gap(at) -> float:
    df = _trajectory(at)
    layers = df[df["source"] == "ResNet layers x_ℓ"].sort_values(["component", "t"])
    euler = df[df["source"] == "Euler solve"].sort_values(["component", "t"])
    assert len(layers) == len(euler) > 0
    return float(np.max(np.abs(layers["value"].to_numpy() - euler["value"].to_numpy())))


def test_defaults_resnet_equals_euler_and_orders_show(open_page):
    at = open_page(PAGE)
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
    errors = next(f for f in chart_frames(at) if "dt" in f.columns)
    euler = errors[errors["solver"] == "Euler = ResNet"].dropna(subset=["dt"])
    assert (
        euler["error"].is_monotonic_increasing
        or euler.sort_values("dt")["error"].is_monotonic_increasing
    )
    assert metrics["ResNet with L = 8"] == "48 parameters"
    assert metrics["the vector field"] == "12 parameters"


def test_layers_seed_and_solver_widgets(open_page, compile_counter):
    at = open_page(PAGE)
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

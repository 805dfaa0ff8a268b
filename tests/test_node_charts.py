"""The neural-ODE chart builders: valid Vega-Lite, the right data, bad input refused."""

import numpy as np
import pandas as pd
import pytest

from resode_ui import node_charts as nc


def _spec(chart) -> dict:
    return chart.to_dict()  # validates against the Vega-Lite schema


def _rows(spec) -> list[dict]:
    datasets = spec.get("datasets", {})
    return [row for rows in datasets.values() for row in rows]


def _series_frame():
    t = np.linspace(0.0, 1.0, 5)
    return pd.concat(
        [
            pd.DataFrame({"t": t, "value": np.sin(t), "series": "u₁", "source": "true"}),
            pd.DataFrame({"t": t, "value": np.sin(t) + 0.1, "series": "u₁", "source": "learned"}),
            pd.DataFrame({"t": t[::2], "value": np.sin(t[::2]), "series": "u₁", "source": "data"}),
        ],
        ignore_index=True,
    )


def test_time_series_chart_layers_lines_points_and_window():
    spec = _spec(nc.time_series_chart(_series_frame(), window_end=0.5))
    assert len(spec["layer"]) == 3
    rows = _rows(spec)
    assert {r["source"] for r in rows if "source" in r} == {"true", "learned", "data"}
    assert any(r.get("t") == 0.5 and "label" in r for r in rows)
    dash = spec["layer"][0]["encoding"]["strokeDash"]["scale"]
    assert dash["domain"] == ["true", "learned"]
    # Your own data has no true solution: the legend must not promise a "true" line.
    learned_only = _series_frame()
    learned_only = learned_only[learned_only["source"] != "true"]
    spec = _spec(nc.time_series_chart(learned_only))
    assert spec["layer"][0]["encoding"]["strokeDash"]["scale"]["domain"] == ["learned"]


def test_phase_plane_chart():
    frame = pd.DataFrame(
        {"x": [0, 1, 2], "y": [1, 0, 1], "t": [0, 1, 2], "source": "true", "trajectory": 1}
    )
    spec = _spec(nc.phase_plane_chart(frame, domain=(-3, 3)))
    assert spec["layer"][0]["encoding"]["order"]["field"] == "t"


def test_quiver_angles_point_along_the_field():
    frame = nc.quiver_frame([[0, 0], [1, 0], [0, 1]], [[1, 0], [0, 1], [-1, 0]])
    # Vega's arrow points up at angle 0 and turns clockwise: east 90°, north 0°, west 270°.
    np.testing.assert_allclose(frame["angle"], [90.0, 0.0, 270.0])
    np.testing.assert_allclose(frame["speed"], 1.0)
    spec = _spec(nc.quiver_chart(frame, title="field", color_domain=(-1.0, 1.0)))
    assert spec["mark"]["shape"] == "arrow"
    assert spec["encoding"]["color"]["scale"]["domain"] == [-1.0, 1.0]


def test_history_chart_drops_what_a_log_axis_cannot_draw():
    frame = pd.DataFrame({"epoch": [1, 2, 3, 4], "loss": [1.0, np.nan, 0.0, 0.5]})
    spec = _spec(nc.history_chart(frame))
    losses = [r["loss"] for r in _rows(spec)]
    assert losses == [1.0, 0.5]
    assert spec["encoding"]["y"]["scale"]["type"] == "log"


def test_heatmap_cells_tile_the_grid_and_cap_errors():
    points = np.array([[x, y] for y in (0.0, 1.0) for x in (0.0, 1.0)])
    frame = nc.heatmap_frame(points, [5.0, 250.0, np.inf, 50.0])
    np.testing.assert_allclose(frame["x1"] - frame["x0"], 1.0)
    markers = pd.DataFrame({"x": [0.5], "y": [0.5], "label": ["training start"]})
    spec = _spec(nc.error_heatmap(frame, markers=markers, cap=100.0))
    shown = sorted(r["shown_pct"] for r in _rows(spec) if "shown_pct" in r)
    assert shown == [5.0, 50.0, 100.0, 100.0]
    assert "failed" in {r.get("error_text") for r in _rows(spec)}


def test_convergence_chart_with_fits_and_floor():
    frame = pd.DataFrame(
        {"solver": "rk4", "dt": [0.1, 0.05, 0.025], "error": [1e-4, 6.25e-6, np.nan]}
    )
    fits = pd.DataFrame({"solver": "rk4", "dt": [0.1, 0.05], "error": [1e-4, 6.25e-6]})
    spec = _spec(nc.convergence_chart(frame, fits=fits, floor=1e-6))
    assert len(spec["layer"]) == 3
    assert spec["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"


def test_bar_scaling_and_flow_charts():
    bars = _spec(
        nc.bar_chart(
            pd.DataFrame({"s": ["a", "b", "c"], "v": [3, 30, 0]}),
            category="s",
            value="v",
            title="n",
            log=True,
        )
    )
    # Bars on a log axis need a positive baseline, or Vega-Lite draws none (it did, empty).
    assert bars["encoding"]["x2"]["datum"] == 1.0
    assert len(bars["data"]["values"] if "values" in bars["data"] else bars["datasets"]) > 0
    frame = pd.DataFrame({"L": [8, 64], "params": [100, 800], "model": "ResNet"})
    assert (
        _spec(nc.scaling_chart(frame, y="params", y_title="p"))["encoding"]["x"]["scale"]["base"]
        == 2
    )
    lines = pd.DataFrame(
        {"t": [0, 1, 0, 1], "x": [0, 1, 1, 0], "point": [0, 0, 1, 1], "start": [0, 0, 1, 1]}
    )
    _spec(nc.flow_lines_chart(lines))
    plane = lines.rename(columns={"x": "y"}).assign(x=[0, 1, 0, 1])
    _spec(nc.flow_plane_chart(plane, color_title="x(0)"))
    _spec(
        nc.fitted_map_chart(
            pd.DataFrame({"x": [0], "y": [0]}),
            pd.DataFrame({"x": [0, 1], "y": [0, 1], "model": "m"}),
        )
    )
    _spec(nc.map_arrows_chart(pd.DataFrame({"x": [0], "y": [1], "kind": ["target"], "point": [0]})))


def test_missing_columns_are_refused():
    with pytest.raises(ValueError, match="columns"):
        nc.time_series_chart(pd.DataFrame({"t": [0.0]}))
    with pytest.raises(ValueError, match="columns"):
        nc.scaling_chart(pd.DataFrame({"L": [1]}), y="params", y_title="p")


def test_frames_from_arrays():
    ts = np.linspace(0.0, 1.0, 3)
    ys = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    series = nc.series_frame(ts, ys, ("a", "b"), "true")
    assert len(series) == 6 and set(series["series"]) == {"a", "b"}
    np.testing.assert_allclose(series[series["series"] == "b"]["value"], [2.0, 4.0, 6.0])
    single = nc.series_frame(ts, ys[:, 0], ["H"], "learned")
    assert single["value"].tolist() == [1.0, 3.0, 5.0]
    path = nc.path_frame(ts, ys, "data", trajectory=7)
    assert path[["x", "y"]].to_numpy().tolist() == ys.tolist()
    assert set(path["trajectory"]) == {7}


def test_every_base_10_log_axis_labels_powers_of_ten_only():
    from resode_ui import widgets as ui

    frame = pd.DataFrame({"solver": "rk4", "dt": [0.1, 0.05], "error": [1e-4, 6.25e-6]})
    spec = nc.convergence_chart(frame, fits=frame, floor=1e-6).to_dict()
    ui._label_powers_of_ten(spec)
    log_axes = [
        layer["encoding"][channel].get("axis", {})
        for layer in spec["layer"]
        for channel in ("x", "y")
        if layer.get("encoding", {}).get(channel, {}).get("scale", {}).get("type") == "log"
    ]
    assert len(log_axes) >= 2 and all(a.get("labelExpr") == ui.POWERS_OF_TEN for a in log_axes)
    depth = nc.scaling_chart(
        pd.DataFrame({"L": [8, 64], "params": [100, 800], "model": "ResNet"}),
        y="params",
        y_title="p",
        log_y=False,
    ).to_dict()
    ui._label_powers_of_ten(depth)
    assert "axis" not in depth["encoding"]["x"]  # base 2: depths keep their own labels
    assert "labelExpr" not in depth["encoding"]["y"].get("axis", {})  # linear

"""The neural-ODE chart builders: valid Vega-Lite, the right data, bad input refused."""

import numpy as np
import pandas as pd
import pytest

from resode_ui import chart_parts as cp, node_charts as nc, palette


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


def _layers(spec) -> list[dict]:
    """The layers of a chart, through a square plot's one-panel concatenation."""
    if "hconcat" in spec:
        spec = spec["hconcat"][0]
    return spec["layer"]


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
    # The samples have a legend entry of their own, and no points layer when none are drawn.
    assert spec["layer"][1]["encoding"]["shape"]["scale"]["domain"] == [nc.SAMPLES]
    no_data = _series_frame()
    assert len(_spec(nc.time_series_chart(no_data[no_data["source"] != "data"]))["layer"]) == 1


def test_one_colour_per_component_and_per_source_from_the_palette():
    """Colour = component (u₁ green, u₂ brown) in time series, = source in a phase plane:
    orange means "learned" on every chart, never u₂."""
    frame = pd.concat([_series_frame(), _series_frame().assign(series="u₂")], ignore_index=True)
    color = _spec(nc.time_series_chart(frame))["layer"][0]["encoding"]["color"]["scale"]
    assert color == {"domain": ["u₁", "u₂"], "range": list(palette.COMPONENTS)}
    assert palette.LEARNED not in color["range"]
    # A single quantity (H): true near-black, learned orange.
    single = _spec(nc.time_series_chart(_series_frame(), color_by="source"))
    scale = single["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "true": palette.TRUE,
        "learned": palette.LEARNED,
        "data": palette.TRUE,
    }
    paths = pd.concat(
        [
            nc.path_frame([0, 1, 2], [[0, 1], [1, 0], [2, 1]], "true"),
            nc.path_frame([0, 1, 2], [[0, 1], [1, 0.5], [2, 2]], "learned"),
        ]
    )
    scale = _layers(_spec(nc.phase_plane_chart(paths)))[0]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "true": palette.TRUE,
        "learned": palette.LEARNED,
    }
    runs = paths.replace({"true": "A", "learned": "B"})
    colors = (("A", "#440154"), ("B", "#21918c"))
    scale = _layers(_spec(nc.phase_plane_chart(runs, colors=colors)))[0]["encoding"]["color"]
    assert scale["scale"]["range"] == ["#440154", "#21918c"]
    # More components than the palette names get distinct colours.
    assert len(set(nc.component_colors(list("abcdefgh"))[1])) == 8


def test_bands_fixed_axes_and_clipping():
    spec = _spec(
        nc.time_series_chart(
            _series_frame(),
            regions=((0.5, 1.0, "held out"), (1.0, 2.0, "beyond the data"), (2.0, 2.0, "empty")),
            x_domain=(0.0, 2.0),
            y_domain=(-3.0, 3.0),
        )
    )
    band, label = spec["layer"][:2]
    bands = [r for r in _rows(spec) if "shade" in r]
    assert [(r["start"], r["end"], r["label"]) for r in bands] == [
        (0.5, 1.0, "held out"),
        (1.0, 2.0, "beyond the data"),
    ]  # an empty band is left out
    assert bands[1]["shade"] > bands[0]["shade"]  # beyond the data: the darker grey
    assert band["mark"]["type"] == "rect" and label["mark"]["type"] == "text"
    assert "fontSize" not in label["mark"]  # presenter mode's 16 px applies
    lines = spec["layer"][2]
    assert lines["encoding"]["x"]["scale"]["domain"] == [0.0, 2.0]
    assert lines["encoding"]["y"]["scale"]["domain"] == [-3.0, 3.0]
    assert lines["mark"]["clip"] is True


def test_phase_planes_have_equal_scales():
    frame = pd.DataFrame(
        {"x": [0, 4, 2], "y": [1, 0, 1], "t": [0, 1, 2], "source": "true", "trajectory": 1}
    )
    spec = _spec(nc.phase_plane_chart(frame))
    panel = spec["hconcat"][0]
    assert panel["width"] == panel["height"] == nc.PLANE_SIZE  # a square plot …
    x = panel["layer"][0]["encoding"]["x"]["scale"]["domain"]
    y = panel["layer"][0]["encoding"]["y"]["scale"]["domain"]
    assert x[1] - x[0] == pytest.approx(y[1] - y[0])  # … and the same span on both axes
    assert x[0] < 0 < 4 < x[1] and y[0] < 0 < 1 < y[1]
    assert (
        _layers(_spec(nc.phase_plane_chart(frame, domain=(-3, 3))))[0]["encoding"]["order"]["field"]
        == "t"
    )
    assert cp.square_domains((0, 4), (0, 1)) == ((0, 4), (-1.5, 2.5))


def test_quiver_angles_point_along_the_field():
    frame = nc.quiver_frame([[0, 0], [1, 0], [0, 1]], [[1, 0], [0, 1], [-1, 0]])
    # Vega's arrow points up at angle 0 and turns clockwise: east 90°, north 0°, west 270°.
    np.testing.assert_allclose(frame["angle"], [90.0, 0.0, 270.0])
    np.testing.assert_allclose(frame["speed"], 1.0)
    panel = _spec(nc.quiver_chart(frame, title="field", color_domain=(-1.0, 1.0)))["hconcat"][0]
    assert panel["mark"]["shape"] == "arrow" and panel["width"] == panel["height"]
    scale = panel["encoding"]["color"]["scale"]
    assert scale["domain"] == [-1.0, 1.0]
    # Viridis stopped at a mid green: no pale yellow arrows on white.
    assert scale["scheme"] == {"name": "viridis", "extent": [0.0, 0.7]}


def test_history_chart_drops_what_a_log_axis_cannot_draw():
    frame = pd.DataFrame({"epoch": [1, 2, 3, 4], "loss": [1.0, np.nan, 0.0, 0.5]})
    spec = _spec(nc.history_chart(frame))
    losses = [r["loss"] for r in _rows(spec)]
    assert losses == [1.0, 0.5]
    assert spec["encoding"]["y"]["scale"]["type"] == "log"
    assert spec["mark"]["color"] == palette.LEARNED  # the learned model's loss
    assert cp.can_draw(frame, "loss", log=True)
    nothing = frame.assign(loss=[np.nan, 0.0, -1.0, np.inf])
    assert not cp.can_draw(nothing, "loss", log=True) and cp.can_draw(nothing, "loss")
    assert not cp.can_draw(frame, "missing")
    # Fixed axes for an animation: the whole run's epochs and powers of ten.
    fixed = _spec(nc.history_chart(frame, x_domain=(0, 10), y_domain=cp.log_domain([0.02, 3])))
    assert fixed["encoding"]["x"]["scale"]["domain"] == [0, 10]
    assert fixed["encoding"]["y"]["scale"]["domain"] == [0.01, 10.0]
    runs = frame.assign(series=["A", "A", "B", "B"])
    colors = _spec(nc.history_chart(runs, colors=(("B", "#440154"),)))["encoding"]["color"]
    assert colors["scale"]["domain"] == ["A", "B"] and colors["scale"]["range"][1] == "#440154"


def test_heatmap_cells_tile_the_grid_and_cap_errors():
    points = np.array([[x, y] for y in (0.0, 1.0) for x in (0.0, 1.0)])
    frame = nc.heatmap_frame(points, [5.0, 250.0, np.inf, 50.0])
    np.testing.assert_allclose(frame["x1"] - frame["x0"], 1.0)
    markers = pd.DataFrame({"x": [0.5], "y": [0.5], "label": ["training start"]})
    spec = _spec(nc.error_heatmap(frame, markers=markers, cap=100.0))
    shown = sorted(r["shown_pct"] for r in _rows(spec) if "shown_pct" in r)
    assert shown == [5.0, 50.0, 100.0, 100.0]
    assert "failed" in {r.get("error_text") for r in _rows(spec)}
    # "Bad" ends at orange, before inferno's pale yellow that would read as empty background.
    cells = _layers(spec)[0]
    assert cells["encoding"]["color"]["scale"]["scheme"]["extent"][1] <= 0.75


def test_missing_columns_are_refused():
    with pytest.raises(ValueError, match="columns"):
        nc.time_series_chart(pd.DataFrame({"t": [0.0]}))


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

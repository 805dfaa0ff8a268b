"""The solver, regression-flow and depth-cost chart builders: valid Vega-Lite, the right data,
the palette's colours, full names, fixed and equal axes, bad input refused."""

import json
import math

import numpy as np
import pandas as pd
import pytest

import resode_core as rc
from resode_ui import (
    chart_parts as cp,
    cost_charts,
    node_charts as nc,
    ode_charts as oc,
    palette,
    widgets as ui,
)


def _spec(chart) -> dict:
    return chart.to_dict()  # validates against the Vega-Lite schema


def _rows(spec, layer) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


def _convergence_frame():
    dt = np.array([0.1, 0.05, 0.025])
    return pd.concat(
        [
            pd.DataFrame({"solver": "rk4", "dt": dt, "error": [1e-4, 6.25e-6, np.nan]}),
            pd.DataFrame({"solver": "euler", "dt": dt, "error": [1e-1, 5e-2, 2.5e-2]}),
        ],
        ignore_index=True,
    )


def _layer_with(spec, channel: str, field: str) -> dict:
    return next(
        layer
        for layer in spec["layer"]
        if layer.get("encoding", {}).get(channel, {}).get("field") == field
    )


def test_convergence_chart_with_fits_floor_full_names_and_palette():
    frame = _convergence_frame()
    fits = pd.DataFrame({"solver": "rk4", "dt": [0.1, 0.05], "error": [1e-4, 6.25e-6]})
    spec = _spec(oc.convergence_chart(frame, fits=fits, floor=1e-6))
    lines = _layer_with(spec, "strokeDash", "line")
    assert lines["encoding"]["x"]["scale"]["type"] == "log"
    # Full names in the palette's ordered viridis, Euler first; no codes in the legend.
    scale = lines["encoding"]["color"]["scale"]
    assert scale["domain"] == [rc.SOLVERS["euler"].label, rc.SOLVERS["rk4"].label]
    assert scale["range"] == [palette.SOLVER_COLORS["euler"], palette.SOLVER_COLORS["rk4"]]
    # Solid measured lines and dashed fitted ones, and a legend that says which is which.
    dash = lines["encoding"]["strokeDash"]
    assert dash["scale"] == {"domain": [oc.MEASURED, oc.FITTED], "range": [[1, 0], [6, 4]]}
    assert dash["legend"]["symbolStrokeColor"] == palette.TRUE
    assert "point" not in json.dumps(lines["mark"])  # a point overlay blanks the dash legend
    # The floor is labelled where it is drawn.
    assert any(r.get("label") == "float32 round-off floor" for r in _rows(spec, spec["layer"][-4]))


def test_convergence_chart_leaves_out_blow_ups_and_draws_slope_triangles():
    frame = _convergence_frame()
    frame.loc[len(frame)] = {"solver": "euler", "dt": 1.0, "error": 1e27}  # blew up, finite
    spec = _spec(oc.convergence_chart(frame, floor=1e-6, slopes=(1, 4)))
    drawn = _rows(spec, _layer_with(spec, "strokeDash", "line"))
    assert max(r["error"] for r in drawn) < 1e3
    triangles = pd.DataFrame(_rows(spec, spec["layer"][0]))
    labels = triangles.dropna(subset=["label"])["label"].tolist()
    assert labels == ["1", "4"]


@pytest.mark.parametrize("sign", [1, -1])
def test_slope_triangles_have_their_slopes_on_log_axes(sign):
    triangles = oc.slope_triangles((1e-3, 10.0), (1e-8, 1e2), (1, 2, 8), sign=sign)
    for k, p in enumerate((1, 2, 8)):
        v = triangles[triangles["triangle"] == k].sort_values("vertex")
        x, y = np.log10(v["x"].to_numpy()), np.log10(v["y"].to_numpy())
        assert (x[0], y[0]) == (x[-1], y[-1])  # closed
        # The hypotenuse joins the two vertices that differ in both x and y.
        pairs = [(i, j) for i in range(3) for j in range(i + 1, 3)]
        i, j = next((i, j) for i, j in pairs if x[i] != x[j] and y[i] != y[j])
        assert (y[j] - y[i]) / (x[j] - x[i]) == pytest.approx(sign * p)
        # Inside the data's box, in its upper half.
        assert x.min() >= -3 and x.max() <= 1 and y.max() <= 2 and y.min() >= -3
    assert oc.slope_triangles((1.0, 1.0), (1e-3, 1.0), (1,)).empty
    assert oc.reference_slopes([1, 2, 2, 3, 4, 5, 5, 8]) == (1, 2, 4, 8)
    assert oc.reference_slopes([3, 5, 5, 8]) == (3, 5, 8)


def test_bar_chart_colours_baseline_and_fixed_axis():
    names = [rc.SOLVERS[n].label for n in ("heun", "rk4", "tsit5")]
    frame = pd.DataFrame({"s": names, "v": [3.0, 30.0, 0.0]})
    bars = _spec(oc.bar_chart(frame, category="s", value="v", title="n", log=True))
    bar, text = bars["layer"]
    # Bars on a log axis need a positive baseline, or Vega-Lite draws none (it did, empty).
    assert bar["encoding"]["x2"]["datum"] == 1.0
    assert len(_rows(bars, bars)) == 2  # the zero cannot be drawn on a log axis
    scale = bar["encoding"]["color"]["scale"]
    assert scale["range"] == [palette.SOLVER_COLORS["heun"], palette.SOLVER_COLORS["rk4"]]
    assert text["mark"]["type"] == "text"
    fixed = _spec(
        oc.bar_chart(frame, category="s", value="v", title="n", log=True, domain=(10.0, 1e4))
    )
    assert fixed["layer"][0]["encoding"]["x2"]["datum"] == 10.0
    assert fixed["layer"][0]["encoding"]["x"]["scale"]["domain"] == [10.0, 1e4]


def test_scaling_chart_colours_per_model_and_fixed_axis():
    frame = pd.DataFrame(
        {"L": [8, 64, 8, 64], "params": [100, 800, 50, 50], "model": ["ResNet"] * 2 + ["x"] * 2}
    )
    spec = _spec(
        oc.scaling_chart(
            frame, y="params", y_title="p", colors=(("x", palette.ADJOINT),), y_domain=(1, 1e4)
        )
    )
    assert spec["encoding"]["x"]["scale"]["base"] == 2
    assert spec["encoding"]["y"]["scale"]["domain"] == [1, 1e4]
    scale = spec["encoding"]["color"]["scale"]
    assert scale == {"domain": ["ResNet", "x"], "range": [palette.RESNET, palette.ADJOINT]}
    with pytest.raises(ValueError, match="columns"):
        oc.scaling_chart(pd.DataFrame({"L": [1]}), y="params", y_title="p")


def test_log_axes_label_powers_of_ten_and_depths_keep_their_own():
    frame = pd.DataFrame({"solver": "rk4", "dt": [0.1, 0.05], "error": [1e-4, 6.25e-6]})
    spec = oc.convergence_chart(frame, fits=frame, floor=1e-6).to_dict()
    ui._label_powers_of_ten(spec)
    log_axes = [
        layer["encoding"][channel].get("axis", {})
        for layer in spec["layer"]
        for channel in ("x", "y")
        if layer.get("encoding", {}).get(channel, {}).get("scale", {}).get("type") == "log"
    ]
    assert len(log_axes) >= 2 and all(a.get("labelExpr") == ui.POWERS_OF_TEN for a in log_axes)
    depth = oc.scaling_chart(
        pd.DataFrame({"L": [8, 64], "params": [100, 800], "model": "ResNet"}),
        y="params",
        y_title="p",
        log_y=False,
    ).to_dict()
    ui._label_powers_of_ten(depth)
    assert "axis" not in depth["encoding"]["x"]  # base 2: depths keep their own labels
    assert "labelExpr" not in depth["encoding"]["y"].get("axis", {})  # linear


# ----------------------------------------------------------------------------- regression flow


def _paths(plane: bool) -> pd.DataFrame:
    t = np.linspace(0.0, 1.0, 5)
    rows = []
    for panel, ts in (("ODE", t), ("ResNet", np.arange(3.0))):
        for point, start in enumerate((-1.0, 1.0)):
            frame = pd.DataFrame(
                {"panel": panel, "t": ts, "s": ts / ts[-1], "point": point, "start": start}
            )
            frame["x"] = start * (1 - 2 * frame["s"])
            if plane:
                frame["y"] = 0.5 * frame["s"]
            rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def _panel_layers(spec) -> list[list[dict]]:
    return [panel["layer"] for panel in spec["hconcat"]]


def test_flow_panels_animate_from_the_saved_paths():
    paths = _paths(plane=False)
    targets = pd.DataFrame({"point": [0, 1], "x": [1.0, -1.0]})
    spec = _spec(oc.flow_panels_chart(paths, targets, now=0.5, x_titles=("t", "block")))
    ode, resnet = _panel_layers(spec)
    faint, past, rings, dots = ode
    assert [r["s"] for r in _rows(spec, past)] == [0.0, 0.25, 0.5] * 2
    assert {(r["s"], r["x"]) for r in _rows(spec, dots)} == {(0.5, 0.0)}
    # The ResNet jumps a whole block at a time: at progress 0.5 it is after block 1 of 2.
    assert sorted(r["t"] for r in _rows(spec, resnet[3])) == [1.0, 1.0]
    assert resnet[0]["encoding"]["x"]["axis"]["format"] == "d"  # whole blocks
    # The axes are the same in every frame: fixed by all the rows, not the ones drawn so far.
    end = _spec(oc.flow_panels_chart(paths, targets, now=None))
    assert end["hconcat"][0]["layer"][0]["encoding"] == faint["encoding"]
    assert len(_rows(end, end["hconcat"][0]["layer"][1])) == 10
    # Targets: near-black rings at the end time, with a legend entry.
    assert rings["encoding"]["color"]["value"] == palette.TRUE
    assert {r["t"] for r in _rows(spec, rings)} == {1.0}
    # x(0) is ordered: the ordered palette, never a cyclic or red–blue one.
    color = faint["encoding"]["color"]["scale"]
    assert color["scheme"] == palette.ORDERED_SCHEME
    with pytest.raises(ValueError, match="columns"):
        oc.flow_panels_chart(paths.drop(columns="s"))


def test_flow_planes_have_equal_axes_and_angles_a_cyclic_range():
    paths = _paths(plane=True)
    paths["y"] = paths["y"] * 5  # a tall path: the x axis must widen to match
    spec = _spec(oc.flow_panels_chart(paths, plane=True, cyclic=True, size=200))
    for panel in spec["hconcat"]:
        encoding = panel["layer"][0]["encoding"]
        x, y = encoding["x"]["scale"]["domain"], encoding["y"]["scale"]["domain"]
        assert x[1] - x[0] == pytest.approx(y[1] - y[0])
        assert panel["width"] == panel["height"] == 200
        color = encoding["color"]["scale"]
        assert color["range"][0] == color["range"][-1]  # wraps around
        assert color["domain"] == [-180, -135, -90, -45, 0, 45, 90, 135, 180]


def test_fitted_map_and_targets_charts_use_the_models_colours():
    colors = (("neural ODE (1-D)", palette.LEARNED), ("ResNet (3 blocks)", palette.RESNET))
    curves = pd.DataFrame(
        {
            "x": [0, 1, 0, 1],
            "y": [0, 1, 0, -1],
            "model": ["neural ODE (1-D)"] * 2 + ["ResNet (3 blocks)"] * 2,
        }
    )
    spec = _spec(oc.fitted_map_chart(pd.DataFrame({"x": [0], "y": [0]}), curves, colors=colors))
    lines, dots = spec["layer"]
    assert lines["encoding"]["color"]["scale"]["range"] == [palette.LEARNED, palette.RESNET]
    assert lines["encoding"]["y"]["scale"]["domain"] == [-1.6, 1.6]  # still while sliders move
    assert dots["encoding"]["color"]["value"] == palette.TRUE
    frame = pd.DataFrame(
        {
            "x": [0.0, 1.0, 0.1, 0.9],
            "y": [1.0, 0.0, 0.9, 0.3],
            "kind": [oc.TARGET, oc.TARGET, "prediction: a", "prediction: a"],
            "point": [0, 1, 0, 1],
        }
    )
    spec = _spec(oc.map_targets_chart(frame, colors=(("prediction: a", palette.AUGMENTED),)))
    errors, rings, marks = spec["hconcat"][0]["layer"]
    assert rings["mark"]["color"] == palette.TRUE and rings["mark"]["filled"] is False
    assert marks["encoding"]["color"]["scale"]["range"] == [palette.AUGMENTED]
    assert {(r["x2"], r["y2"]) for r in _rows(spec, errors)} == {(0.0, 1.0), (1.0, 0.0)}
    x = errors["encoding"]["x"]["scale"]["domain"]
    y = errors["encoding"]["y"]["scale"]["domain"]
    assert x[1] - x[0] == pytest.approx(y[1] - y[0])


def test_history_chart_colours_each_model():
    frame = pd.DataFrame(
        {"epoch": [1, 2, 1, 2], "loss": [1.0, 0.5, 0.0, 0.1], "series": list("aabb")}
    )
    spec = _spec(nc.history_chart(frame, colors=(("a", palette.LEARNED),)))
    assert spec["encoding"]["color"]["scale"]["range"][0] == palette.LEARNED
    assert len(_rows(spec, spec)) == 3  # a zero loss cannot be drawn on a log axis


def test_the_tolerance_chart_names_every_line_and_its_dash():
    sweep = pd.DataFrame(
        {
            "rtol": [1e-2, 1e-4, 1e-2, 1e-4],
            "quantity": ["gradient", "gradient", "drift", "drift"],
            "difference": [1e-3, 1e-5, 0.0, 2e-5],  # a zero cannot be drawn on a log axis
        }
    )
    colors = (("gradient", palette.ADJOINT),)
    spec = cost_charts.tolerance_chart(sweep, chosen=1e-4, colors=colors).to_dict()
    reference, lines, points, rule, label = spec["layer"]
    assert lines["encoding"]["y"]["scale"]["type"] == "log"
    assert len(_rows(spec, lines)) == 3
    assert [r["difference"] for r in _rows(spec, reference)] == [1e-4, 1e-2]
    color, dash = lines["encoding"]["color"]["scale"], lines["encoding"]["strokeDash"]["scale"]
    assert color["domain"] == dash["domain"] == ["gradient", "drift", cost_charts.SCALE]
    assert color["range"][0] == palette.ADJOINT and color["range"][2] == palette.IDENTITY
    assert color["range"][1] not in (palette.ADJOINT, palette.IDENTITY)
    assert dash["range"][-1] != [1, 0]  # the scale line is dashed, the measured ones solid
    assert _rows(spec, rule)[0]["rtol"] == 1e-4
    with pytest.raises(ValueError, match="columns"):
        cost_charts.tolerance_chart(sweep.drop(columns="quantity"))


def test_no_builder_sets_a_font_size():
    """Presenter mode's ≥ 16 px labels come from widgets.chart; a builder's own size would win."""
    frame = _convergence_frame()
    specs = [
        oc.convergence_chart(frame, fits=frame, floor=1e-6, slopes=(1, 2)),
        oc.bar_chart(pd.DataFrame({"s": ["a"], "v": [3.0]}), category="s", value="v", title="n"),
        oc.flow_panels_chart(_paths(plane=True), plane=True),
    ]
    for chart in specs:
        text = json.dumps(chart.to_dict())
        assert "fontSize" not in text and "labelFontSize" not in text


def test_log_domain_and_can_draw():
    assert cp.log_domain([0.3, 20.0, np.nan, 0.0]) == [0.1, 100.0]
    assert cp.log_domain([0.0, -1.0]) is None
    assert not cp.can_draw(pd.DataFrame({"e": [0.0, np.inf]}), "e", log=True)
    assert cp.can_draw(pd.DataFrame({"e": [0.0, 1.0]}), "e", log=True)
    assert not cp.can_draw(None, "e")
    assert cp.covering((-1.0, 1.0), [0.5]) == (-1.0, 1.0)
    low, high = cp.covering((-1.0, 1.0), [0.0, 3.0])
    assert low == -1.0 and high > 3.0 and math.isfinite(high)

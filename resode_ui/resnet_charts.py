"""Chart builders for the residual-network pages: pure functions DataFrame -> alt.Chart.

No Streamlit here, so every chart can be built and inspected in a plain test. Colours come
from `palette` (plain red, ResNet blue, exact near-black, identity grey dashed, solvers in
their ordered palette); every line style has a legend entry or a direct label; integer axes
(layers, epochs) are labelled as integers and every other linear axis with one format.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from resode_ui import palette

TOP = alt.Legend(orient="top", offset=4)  # over the plot: a half-width chart keeps its width
INTEGER = {"format": "d", "tickMinStep": 1}  # layers, epochs: 1, 2, 3 (never 2.5)
DECIMAL = {"format": "~r"}  # every other linear axis: 0.5, 1, 10, −2 (one format)
SOLID, DASHED = [1, 0], [5, 4]
IDENTITY_LABEL = "identity y = x"
EULER_RESNET = "Euler = ResNet"


def _network_legend(labels: Sequence[str]) -> dict:
    """Colour and dash of the `network` field from the palette, in one legend: every
    network solid, the identity line grey and dashed."""
    domain, colors = palette.colors_for(labels)
    dashes = [DASHED if label == IDENTITY_LABEL else SOLID for label in domain]
    return {
        "color": alt.Color(
            "network:N", scale=alt.Scale(domain=domain, range=colors), title=None, legend=TOP
        ),
        "strokeDash": alt.StrokeDash(
            "network:N", scale=alt.Scale(domain=domain, range=dashes), title=None, legend=TOP
        ),
    }


def log_spaced_rows(df: pd.DataFrame, column: str, max_rows: int = 300) -> pd.DataFrame:
    """Thin a long, sorted history to about `max_rows` rows spaced evenly on a log axis."""
    if len(df) <= max_rows:
        return df
    values = df[column].to_numpy()
    targets = np.geomspace(max(values.min(), 1), values.max(), max_rows)
    picks = np.unique(np.clip(np.searchsorted(values, targets), 0, len(df) - 1))
    return df.iloc[np.concatenate([[0], picks, [len(df) - 1]])].drop_duplicates()


def padded(low: float, high: float, share: float = 0.05) -> tuple[float, float]:
    """[low, high] widened by `share` of its span on each side (a flat range by ±1)."""
    span = high - low if high > low else 2.0
    return float(low - share * span), float(high + share * span)


# ----------------------------------------------------------------------------- page 1


def grad_norm_chart(
    df: pd.DataFrame,
    title: str = "",
    y_domain: tuple[float, float] | None = None,
    depth: int | None = None,
) -> alt.Chart:
    """‖∂L/∂W_ℓ‖ against ℓ on a log axis; columns layer, grad_norm, network.

    Zero (underflowed) and non-finite norms cannot sit on a log axis and are left out.
    Pass `y_domain` to give several charts (and every depth) the same vertical scale and
    `depth` to span the layer axis 1 … depth.
    """
    shown = df[np.isfinite(df["grad_norm"]) & (df["grad_norm"] > 0)]
    scale = {"type": "log"} if y_domain is None else {"type": "log", "domain": list(y_domain)}
    x_scale = alt.Scale(nice=False) if depth is None else alt.Scale(domain=[1, depth], nice=False)
    return (
        alt.Chart(shown, title=alt.TitleParams(title, anchor="start", offset=4))
        .mark_line(point=alt.OverlayMarkDef(size=18))
        .encode(
            x=alt.X(
                "layer:Q", title="layer ℓ (1 = next to the input)", scale=x_scale, axis=INTEGER
            ),
            y=alt.Y("grad_norm:Q", scale=alt.Scale(**scale), title="‖∂L/∂W_ℓ‖"),
            color=palette.color("network", shown["network"], legend=TOP),
            tooltip=[
                "network",
                "layer",
                alt.Tooltip("grad_norm:Q", format=".2e", title="‖∂L/∂W_ℓ‖"),
            ],
        )
        .properties(height=370)
    )


LOSS_DASHES = {"training": SOLID, "held-out": DASHED}


def loss_curves_chart(df: pd.DataFrame) -> alt.Chart:
    """Loss per epoch on a log axis, one colour per network and one line style per point set.

    Columns epoch, loss, network, points ("training" solid, "held-out" dashed).
    """
    shown = df[np.isfinite(df["loss"]) & (df["loss"] > 0)]
    dashes = {k: v for k, v in LOSS_DASHES.items() if k in set(shown["points"])}
    return (
        alt.Chart(shown)
        .mark_line()
        .encode(
            x=alt.X("epoch:Q", title="epoch", axis=INTEGER),
            y=alt.Y("loss:Q", scale=alt.Scale(type="log"), title="loss (MSE)"),
            color=palette.color("network", shown["network"]),
            strokeDash=alt.StrokeDash(
                "points:N",
                scale=alt.Scale(domain=list(dashes), range=list(dashes.values())),
                title="points",
            ),
            tooltip=["network", "points", "epoch", alt.Tooltip("loss:Q", format=".3e")],
        )
        .properties(height=300)
    )


def shrink_response_chart(df: pd.DataFrame, y_domain: tuple[float, float]) -> alt.LayerChart:
    """First output coordinate along the input line; columns s, output, network.

    The identity line (grey, dashed) lies underneath the nets' lines; `y_domain` holds the
    axis still while the weight factor moves.
    """
    base = alt.Chart(df).encode(
        x=alt.X("s:Q", title="input x = (s, 0, …, 0)", axis=DECIMAL),
        y=alt.Y(
            "output:Q",
            title="first output coordinate",
            scale=alt.Scale(domain=list(y_domain), nice=False),
            axis=DECIMAL,
        ),
        tooltip=[
            "network",
            alt.Tooltip("s:Q", format=".2f"),
            alt.Tooltip("output:Q", format=".3f"),
        ],
        **_network_legend(df["network"]),
    )
    identity = base.transform_filter(alt.datum.network == IDENTITY_LABEL).mark_line(strokeWidth=1.5)
    nets = base.transform_filter(alt.datum.network != IDENTITY_LABEL).mark_line(strokeWidth=2.5)
    return alt.layer(identity, nets).properties(height=300)


def shrink_gain_chart(df: pd.DataFrame, factor: float) -> alt.Chart:
    """Slope of the output along the input line against the weight factor.

    Columns factor, gain, network; 1 is the identity map, 0 a constant map. A rule marks
    the factor chosen on the page.
    """
    lines = (
        alt.Chart(df)
        .mark_line(point=alt.OverlayMarkDef(size=14))
        .encode(
            x=alt.X(
                "factor:Q",
                title="weight factor (all W, b multiplied by it)",
                scale=alt.Scale(domain=[0, 1]),
                axis=DECIMAL,
            ),
            y=alt.Y("gain:Q", title="slope ∂(output₁)/∂s", axis=DECIMAL),
            color=palette.color("network", df["network"], legend=TOP),
            tooltip=[
                "network",
                alt.Tooltip("factor:Q", format=".2f"),
                alt.Tooltip("gain:Q", format=".3f"),
            ],
        )
    )
    marker = (
        alt.Chart(pd.DataFrame({"factor": [factor], "label": ["chosen factor"]}))
        .mark_rule(color=palette.IDENTITY, strokeDash=[3, 3])
        .encode(x="factor:Q", tooltip=["label"])
    )
    return (lines + marker).properties(height=300)


# ----------------------------------------------------------------------------- page 2


def identity_fit_chart(
    curves: pd.DataFrame,
    data: pd.DataFrame,
    x_domain: tuple[float, float] | None = None,
    y_domain: tuple[float, float] | None = None,
) -> alt.LayerChart:
    """Fitted curves (columns x, y, network) over the training points (columns x, y).

    The identity y = x (the "network" of that name) is a thin grey dashed line underneath;
    the data points lie on it, and the fitted lines are drawn on top of both, so a fit that
    matches y = x stays visible. Fixed domains keep the axes still while frames play.
    """
    legend = _network_legend(curves["network"])
    x_scale = alt.Scale(nice=False) if x_domain is None else alt.Scale(domain=list(x_domain))
    y_scale = alt.Scale() if y_domain is None else alt.Scale(domain=list(y_domain), nice=False)
    tooltip = ["network", alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("y:Q", format=".3f")]
    base = alt.Chart(curves).encode(
        x=alt.X("x:Q", title="x", scale=x_scale, axis=DECIMAL),
        y=alt.Y("y:Q", title="prediction", scale=y_scale, axis=DECIMAL),
        tooltip=tooltip,
        **legend,
    )
    identity = base.transform_filter(alt.datum.network == IDENTITY_LABEL).mark_line(strokeWidth=1.5)
    fits = base.transform_filter(alt.datum.network != IDENTITY_LABEL).mark_line(
        strokeWidth=3, clip=True
    )
    points = (
        alt.Chart(data)
        .mark_point(color=palette.TRUE, filled=True, size=28)
        .encode(x="x:Q", y="y:Q", tooltip=["x", "y"])
    )
    return alt.layer(identity, points, fits).properties(height=320)


def identity_loss_chart(
    df: pd.DataFrame,
    tol: float,
    max_epochs: int | None = None,
    y_domain: tuple[float, float] | None = None,
) -> alt.LayerChart:
    """Full-data MSE per epoch, log–log; columns epoch, mse, network; a labelled rule at
    `tol`. `max_epochs` and `y_domain` fix the axes (frames of a training run)."""
    shown = df[np.isfinite(df["mse"]) & (df["mse"] > 0)]
    x_scale = {"type": "log"} if max_epochs is None else {"type": "log", "domain": [1, max_epochs]}
    y_scale = {"type": "log"} if y_domain is None else {"type": "log", "domain": list(y_domain)}
    x = alt.X("epoch:Q", scale=alt.Scale(**x_scale), title="epoch")
    y = alt.Y("mse:Q", scale=alt.Scale(**y_scale), title="MSE on x = −10…10")
    labels = sorted(set(shown["network"]), key=["plain", "ResNet"].index)
    lines = (
        alt.Chart(shown)
        .mark_line(strokeWidth=2.5)
        .encode(
            x=x,
            y=y,
            color=palette.color("network", labels, legend=TOP),
            tooltip=["network", "epoch", alt.Tooltip("mse:Q", format=".4f")],
        )
    )
    stop = pd.DataFrame({"mse": [tol], "epoch": [1], "label": [f"stop: MSE < {tol:g}"]})
    rule = (
        alt.Chart(stop)
        .mark_rule(color=palette.IDENTITY, strokeDash=[4, 4])
        .encode(y=alt.Y("mse:Q"), tooltip=["label"])
    )
    text = (
        alt.Chart(stop)
        .mark_text(align="left", baseline="bottom", dx=4, dy=-3, color=palette.TRUE)
        .encode(x=alt.X("epoch:Q"), y=alt.Y("mse:Q"), text="label:N")
    )
    return alt.layer(lines, rule, text).properties(height=320)


def epochs_distribution_chart(df: pd.DataFrame, max_epochs: int) -> alt.Chart:
    """One dot per seed: epochs used, by network; columns seed, epochs, network, outcome.

    Colour is the network (as everywhere), the mark's shape the outcome."""
    return (
        alt.Chart(df)
        .mark_point(size=80, opacity=0.8, filled=True)
        .encode(
            x=alt.X(
                "epochs:Q",
                scale=alt.Scale(type="log", domain=[1, max_epochs * 1.3]),
                title="epochs until MSE < 0.01 (or the 10 000-epoch limit)",
            ),
            y=alt.Y("network:N", title=None),
            yOffset=alt.YOffset("jitter:Q"),
            color=palette.color("network", df["network"], legend=None),
            shape=alt.Shape(
                "outcome:N",
                scale=alt.Scale(domain=["converged", "not converged"], range=["circle", "cross"]),
                title=None,
            ),
            tooltip=[
                "network",
                "seed",
                "epochs",
                "outcome",
                alt.Tooltip("final_mse:Q", format=".4f"),
            ],
        )
        .transform_calculate(jitter="random()")
        .properties(height=220)
    )


# ----------------------------------------------------------------------------- page 3


def _source_encodings(
    colors: Sequence[tuple[str, str]], columns: int | None = 1
) -> tuple[alt.Color, alt.Shape]:
    """Colour and legend symbol per source from (label, colour) pairs, in one legend: a line
    for every solution drawn as a line, a circle for the ResNet layers (drawn as points).
    The legend sits under the plot in `columns` columns, or to its right (None)."""
    domain, range_ = [label for label, _ in colors], [color for _, color in colors]
    symbols = ["circle" if label.startswith("ResNet") else "stroke" for label in domain]
    where = {"orient": "right"} if columns is None else {"orient": "bottom", "columns": columns}
    legend = alt.Legend(**where, symbolStrokeWidth=2.5, symbolSize=120)
    color = alt.Color(
        "source:N", scale=alt.Scale(domain=domain, range=range_), title=None, legend=legend
    )
    shape = alt.Shape(
        "source:N", scale=alt.Scale(domain=domain, range=symbols), title=None, legend=legend
    )
    return color, shape


def layer_trajectory_chart(
    df: pd.DataFrame,
    colors: Sequence[tuple[str, str]] = (),
    y_domain: tuple[float, float] | None = None,
    legend_columns: int = 2,
) -> alt.LayerChart:
    """Hidden-state components against time t = ℓΔt: one colour per source (`colors`:
    (label, colour) pairs), ResNet layers as circles, every other source a solid line,
    each component labelled at the end of its exact curve.

    Columns t, value, component, source; sources whose name starts with "ResNet" are the
    layers, the one that starts with "exact" labels the components.
    """
    colors = tuple(colors) if colors else _default(df)
    color, shape = _source_encodings(colors, legend_columns)
    is_layer = df["source"].str.startswith("ResNet")
    y_scale = alt.Scale() if y_domain is None else alt.Scale(domain=list(y_domain), nice=False)
    x = alt.X("t:Q", title="time t = ℓ·Δt", axis=DECIMAL)
    y = alt.Y("value:Q", title="hidden state", scale=y_scale, axis=DECIMAL)
    tooltip = [
        "source",
        "component",
        alt.Tooltip("t:Q", format=".3f"),
        alt.Tooltip("value:Q", format=".4f"),
    ]
    lines = (
        alt.Chart(df[~is_layer])
        .mark_line(strokeWidth=2)
        .encode(x=x, y=y, color=color, detail="component:N", tooltip=tooltip)
    )
    layer = (
        [
            alt.Chart(df[is_layer])
            .mark_point(size=60, filled=False, strokeWidth=2)
            .encode(x=x, y=y, color=color, shape=shape, tooltip=tooltip)
        ]
        if is_layer.any()
        else []
    )
    exact = df[df["source"].str.startswith("exact")]
    ends = exact.loc[exact.groupby("component")["t"].idxmax()]
    names = (
        alt.Chart(ends)
        .mark_text(align="left", dx=6, color=palette.TRUE, fontWeight="bold")
        .encode(x=x, y=y, text="component:N")
    )
    return alt.layer(lines, *layer, names).properties(height=380)


def _default(df: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    domain, colors = palette.colors_for(df["source"])
    return tuple(zip(domain, colors, strict=True))


def square_domains(
    extent: Sequence[float], panel: tuple[int, int] | None = None
) -> tuple[dict | list, dict | list]:
    """x and y domains with equal units per pixel that contain `extent` (x₀, x₁, y₀, y₁).

    With `panel` = (width, height) in pixels the domains are numbers; without it they are
    Vega expressions of the chart's own width and height, so a chart that stretches to its
    column keeps a square grid at any width."""
    x0, x1, y0, y1 = (float(v) for v in extent)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx, hy = max((x1 - x0) / 2, 1e-9), max((y1 - y0) / 2, 1e-9)
    if panel is not None:
        width, height = panel
        half_x = max(hx, hy * width / height)
        half_y = half_x * height / width
        return [cx - half_x, cx + half_x], [cy - half_y, cy + half_y]
    half_x = f"max({hx!r}, {hy!r} * width / height)"
    half_y = f"{half_x} * height / width"
    return (
        {"expr": f"[{cx!r} - {half_x}, {cx!r} + {half_x}]"},
        {"expr": f"[{cy!r} - {half_y}, {cy!r} + {half_y}]"},
    )


PHASE_HEIGHT = 330


def phase_plane_chart(
    df: pd.DataFrame,
    colors: Sequence[tuple[str, str]] = (),
    extent: Sequence[float] | None = None,
    panel_width: int | None = None,
    legend_columns: int | None = None,
) -> alt.LayerChart:
    """Paths in the (x₁, x₂) plane, one colour per source; columns x1, x2, order, start,
    source. "ResNet" rows are drawn as connected points (one per layer), other sources as
    lines. With `extent` (x₀, x₁, y₀, y₁) both axes get the same units per pixel
    (`panel_width`: a fixed width, as side by side; otherwise any width)."""
    colors = tuple(colors) if colors else _default(df)
    color, shape = _source_encodings(colors, legend_columns)
    scales = {"x": alt.Scale(zero=False), "y": alt.Scale(zero=False)}
    if extent is not None:
        panel = None if panel_width is None else (panel_width, PHASE_HEIGHT)
        x_domain, y_domain = square_domains(extent, panel)
        scales = {
            "x": alt.Scale(domain=x_domain, nice=False, zero=False),
            "y": alt.Scale(domain=y_domain, nice=False, zero=False),
        }
    x = alt.X("x1:Q", title="x₁", scale=scales["x"], axis=DECIMAL)
    y = alt.Y("x2:Q", title="x₂", scale=scales["y"], axis=DECIMAL)
    is_layer = df["source"].str.startswith("ResNet")
    lines = (
        alt.Chart(df[~is_layer])
        .mark_line(strokeWidth=2, clip=True)
        .encode(x=x, y=y, order="order:Q", detail="start:N", color=color)
    )
    layer = []
    if is_layer.any():  # the layers: dots joined by a thin line of the same colour
        layer = [
            alt.Chart(df[is_layer])
            .mark_line(strokeWidth=1, clip=True)
            .encode(x=x, y=y, order="order:Q", detail="start:N", color=color),
            alt.Chart(df[is_layer])
            .mark_point(size=25, filled=True, clip=True)
            .encode(x=x, y=y, color=color, shape=shape),
        ]
    return alt.layer(lines, *layer).properties(height=PHASE_HEIGHT)


def solver_color(label: str) -> str:
    """A convergence row's colour: the solver's own ("Euler = ResNet" is Euler's)."""
    if label == EULER_RESNET:
        return palette.SOLVER_COLORS["euler"]
    return palette.COLORS.get(label, "#555555")


def slope_triangles(df: pd.DataFrame) -> pd.DataFrame:
    """A small reference triangle per solver, just under its curve in the middle of its
    fitted points: Δt grows by √2 along the bottom and the error by √2^order up the right
    side, so the long side has the slope of the solver's order, parallel to the curve where
    the curve follows that order.

    df: columns dt, error, solver, order, used (the points of the fitted slope). Returns the
    corners (columns dt, error, solver, corner, label) in drawing order; corner 2 is the top
    of the right side, where the label goes."""
    rows = []
    for solver, group in df.groupby("solver", sort=False):
        used = group[group["used"]].sort_values("dt")
        if len(used) < 2:
            continue
        order = float(used["order"].iloc[0])
        middle = used.iloc[(len(used) - 1) // 2]
        left, right = float(middle["dt"]), float(middle["dt"]) * math.sqrt(2)
        foot = float(middle["error"]) / 2.5  # a little under the curve
        top = foot * math.sqrt(2) ** order
        corners = [(left, foot), (right, foot), (right, top), (left, foot)]
        rows += [
            {"dt": d, "error": e, "solver": solver, "corner": i, "label": f"slope {order:g}"}
            for i, (d, e) in enumerate(corners)
        ]
    return pd.DataFrame(rows, columns=["dt", "error", "solver", "corner", "label"])


def convergence_chart(df: pd.DataFrame, floor: float) -> alt.LayerChart:
    """Error at T against Δt on log–log axes, one colour per solver (the ordered solver
    palette); a slope triangle of each solver's order under its curve; a labelled rule at
    the float32 round-off floor.

    Columns dt, error, solver, order (theoretical), used (points of the fitted slope)."""
    shown = df[np.isfinite(df["error"]) & (df["error"] > 0)]
    labels = list(dict.fromkeys(shown["solver"]))
    color = alt.Color(
        "solver:N",
        scale=alt.Scale(domain=labels, range=[solver_color(label) for label in labels]),
        title=None,
        legend=alt.Legend(orient="bottom", columns=2),
    )
    x = alt.X("dt:Q", scale=alt.Scale(type="log"), title="Δt (= T / L)")
    y = alt.Y("error:Q", scale=alt.Scale(type="log"), title="error at T (max norm)")
    lines = (
        alt.Chart(shown)
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=x,
            y=y,
            color=color,
            tooltip=[
                "solver",
                alt.Tooltip("dt:Q", format=".4f"),
                alt.Tooltip("error:Q", format=".2e"),
            ],
        )
    )
    triangles = slope_triangles(shown)
    legs = (
        alt.Chart(triangles)
        .mark_line(strokeWidth=1.5)
        .encode(x=x, y=y, color=color, order="corner:Q", detail="solver:N", tooltip=["label"])
    )
    corner = triangles[triangles["corner"] == 2]  # the label: right of the rising side
    legend_text = (
        alt.Chart(corner)
        .mark_text(align="left", baseline="top", dx=4)
        .encode(x=x, y=y, color=color, text="label:N")
    )
    floor_row = pd.DataFrame({"error": [floor], "label": ["float32 round-off zone"]})
    rule = (
        alt.Chart(floor_row)
        .mark_rule(color=palette.IDENTITY, strokeDash=[4, 4])
        .encode(y="error:Q", tooltip=["label"])
    )
    rule_text = (
        alt.Chart(floor_row.assign(dt=float(shown["dt"].max()) if len(shown) else 1.0))
        .mark_text(align="right", baseline="top", dy=4, color=palette.TRUE)
        .encode(x=x, y=y, text="label:N")
    )
    return alt.layer(lines, legs, legend_text, rule, rule_text).properties(height=420)


def parameter_count_chart(df: pd.DataFrame, layers: int) -> alt.LayerChart:
    """Parameters against the number of layers L; columns layers, parameters, model."""
    models = list(dict.fromkeys(df["model"]))
    lines = (
        alt.Chart(df)
        .mark_line(strokeWidth=2.5)
        .encode(
            x=alt.X("layers:Q", title="layers L = T/Δt", axis=INTEGER),
            y=alt.Y("parameters:Q", title="trainable parameters", axis=INTEGER),
            color=alt.Color(
                "model:N",
                scale=alt.Scale(domain=models, range=[palette.RESNET, palette.LEARNED]),
                title=None,
            ),
            tooltip=["model", "layers", "parameters"],
        )
    )
    here = pd.DataFrame({"layers": [layers], "label": [f"L = {layers}"]})
    marker = (
        alt.Chart(here)
        .mark_rule(color=palette.IDENTITY, strokeDash=[3, 3])
        .encode(x="layers:Q", tooltip=["label"])
    )
    name = (
        alt.Chart(here)
        .mark_text(align="left", baseline="top", dx=4, y=4, color=palette.TRUE)
        .encode(x="layers:Q", text="label:N")
    )
    return (lines + marker + name).properties(height=260)

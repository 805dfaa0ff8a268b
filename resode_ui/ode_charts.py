"""Chart builders for the solvers, regression-as-a-flow and ResNet-vs-neural-ODE lessons.

Pandas DataFrames in, altair charts out: pure functions with no Streamlit, so tests can build
every chart from plain data and inspect what it would draw. Columns are named in each
docstring. Colours come from `palette` (solvers: its ordered viridis; models: ResNet blue,
neural ODE orange, adjoint teal; true/targets near-black), and no builder sets a font size:
presenter mode's ≥ 16 px labels come from `widgets.chart`.
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

import resode_core as rc
from resode_ui import palette
from resode_ui.chart_parts import (
    covering,
    padded_domain,
    positive_rows,
    require_columns,
    square_domains,
)

ORDERED_SCHEME = palette.ORDERED_SCHEME  # for ordered values (x(0)): no pale-yellow end
# Angles wrap around, so they get a cyclic range: eight stops from -180° back to the same
# colour at 180°, all dark enough to read on white (no pale yellow).
ANGLE_STOPS = (-180, -135, -90, -45, 0, 45, 90, 135, 180)
ANGLE_COLORS = (
    "#c2185b", "#d84315", "#8d6e00", "#558b2f", "#00897b", "#0277bd", "#3949ab", "#7b1fa2",
    "#c2185b",
)  # fmt: skip
REFERENCE_INK = "#444444"  # slope triangles, the floor's label
MEASURED, FITTED = "measured error at T", "fitted line"
BLOWN_UP = 1e3  # an error above this, for states of size 1, is a solve that blew up
TARGET = "target"


# ----------------------------------------------------------------------------- solvers


def solver_label(name: str) -> str:
    """The full name ('Dormand–Prince 5(4) (order 5)') of a solver code; other labels as they are."""
    info = rc.SOLVERS.get(name)
    return info.label if info is not None else str(name)


def solver_colors(names) -> tuple[list[str], list[str]]:
    """(domain, range): full solver names in the order of accuracy (Euler first), each in
    the palette's ordered viridis."""
    present = list(dict.fromkeys(solver_label(n) for n in names))
    ordered = [rc.SOLVERS[n].label for n in rc.SOLVER_NAMES if rc.SOLVERS[n].label in present]
    ordered += [label for label in present if label not in ordered]
    return palette.colors_for(ordered)


def reference_slopes(orders, most: int = 4) -> tuple[int, ...]:
    """Slopes for the reference triangles: the distinct orders, at most `most` of them
    (powers of two first, then the others from the smallest)."""
    distinct = sorted({int(o) for o in orders if o and int(o) > 0})
    if len(distinct) <= most:
        return tuple(distinct)
    preferred = [o for o in distinct if o & (o - 1) == 0][:most]
    rest = [o for o in distinct if o not in preferred]
    return tuple(sorted(preferred + rest[: most - len(preferred)]))


CORNERS = ("top left", "bottom right", "top right", "bottom left")


def slope_triangles(x_range, y_range, slopes, *, sign: int = 1, points=None) -> pd.DataFrame:
    """Right triangles whose hypotenuse has slope sign·p on log-log axes, one per p, side by
    side in a corner of a convergence plot: the first of CORNERS in which no `points` ((x,
    y) pairs, the data) fall on them or on their labels (else the one with the fewest).

    Columns: triangle, vertex, x, y (four vertices, the first repeated to close it) and
    label, lx, ly (the slope, written by the vertical leg; on the first vertex row only).
    """
    slopes = [int(p) for p in slopes]
    columns = ["triangle", "vertex", "x", "y", "label", "lx", "ly"]
    lo_x, hi_x = (math.log10(v) for v in x_range)
    lo_y, hi_y = (math.log10(v) for v in y_range)
    span_x, span_y = hi_x - lo_x, hi_y - lo_y
    if not slopes or span_x <= 0 or span_y <= 0:
        return pd.DataFrame(columns=columns)
    # Each triangle spans `width` decades of x and p·width of y: the steepest fits in half
    # the y range, all of them side by side in under half the x range.
    largest = min(0.5, 0.45 * span_x / (1.5 * len(slopes)), 0.5 * span_y / max(slopes))
    data = np.log10(np.asarray(points, dtype=float).reshape(-1, 2)) if points is not None else None

    def place(corner: str, width: float) -> list[tuple[list, tuple]]:
        top, left = corner.startswith("top"), corner.endswith("left")
        shapes = []
        step = width + max(0.5 * width, 0.04 * span_x)  # room for a label between two
        for k, p in enumerate(slopes):
            rise = p * width
            slot = k if left else len(slopes) - 1 - k
            if left:
                x0 = lo_x + 0.04 * span_x + step * slot
            else:
                x0 = hi_x - 0.07 * span_x - width - step * slot
            x1 = x0 + width
            y_hi = hi_y - 0.04 * span_y if top else lo_y + 0.04 * span_y + rise
            y_lo = y_hi - rise
            if sign > 0:  # the right angle at the bottom right
                corners = [(x0, y_lo), (x1, y_lo), (x1, y_hi)]
            else:  # the right angle at the top right
                corners = [(x0, y_hi), (x1, y_hi), (x1, y_lo)]
            shapes.append((corners, (x1, (y_lo + y_hi) / 2, f"{'−' if sign < 0 else ''}{p}")))
        return shapes

    def covered(shapes) -> int:
        if data is None or data.size == 0:
            return 0
        hits = np.zeros(len(data), dtype=bool)
        for corners, _ in shapes:
            xs, ys = [c[0] for c in corners], [c[1] for c in corners]
            margin_x, margin_y = 0.03 * span_x, 0.03 * span_y
            hits |= (
                (data[:, 0] >= min(xs) - margin_x)
                & (data[:, 0] <= max(xs) + margin_x + 0.04 * span_x)  # the label on the right
                & (data[:, 1] >= min(ys) - margin_y)
                & (data[:, 1] <= max(ys) + margin_y)
            )
        return int(hits.sum())

    # The data's empty corners: the top left and bottom right of a rising cloud, the top
    # right and bottom left of a falling one; smaller triangles where none is free.
    corners = CORNERS if sign > 0 else (CORNERS[2], CORNERS[3], CORNERS[0], CORNERS[1])
    placements = [place(c, largest * f) for f in (1.0, 0.7, 0.5) for c in corners]
    shapes = min(placements, key=covered)  # the first of the emptiest
    rows = []
    for k, (corners, label) in enumerate(shapes):
        for vertex, (vx, vy) in enumerate([*corners, corners[0]]):
            first = vertex == 0
            rows.append(
                {
                    "triangle": k,
                    "vertex": vertex,
                    "x": 10**vx,
                    "y": 10**vy,
                    "label": label[2] if first else None,
                    "lx": 10 ** label[0] if first else None,
                    "ly": 10 ** label[1] if first else None,
                }
            )
    return pd.DataFrame(rows, columns=columns)


def _polylines(data: pd.DataFrame, x: str, samples: int = 200) -> np.ndarray:
    """Points along each solver's line (straight on log-log axes between its measured
    points): what a triangle must not cover."""
    lines = []
    for _, group in data.groupby("solver", sort=False):
        group = group.sort_values(x)
        log_x, log_y = np.log10(group[x].to_numpy(float)), np.log10(group["error"].to_numpy(float))
        if log_x.size > 1:
            grid = np.linspace(log_x[0], log_x[-1], samples)
            lines.append(np.stack([10**grid, 10 ** np.interp(grid, log_x, log_y)], axis=1))
        lines.append(np.stack([10**log_x, 10**log_y], axis=1))
    return np.concatenate(lines) if lines else np.empty((0, 2))


def convergence_chart(
    df: pd.DataFrame,
    *,
    fits: pd.DataFrame | None = None,
    floor: float | None = None,
    x: str = "dt",
    x_title: str = "Δt",
    slopes: tuple[int, ...] = (),
    sign: int = 1,
    blown_up: float = BLOWN_UP,
    height: int = 400,
) -> alt.LayerChart:
    """Error against a cost on log-log axes: columns solver (a code or a name), <x>, error.

    Every solver in the palette's colour under its full name; measured errors are solid lines
    with points, `fits` (same columns) dashed fitted lines, and a second legend says which
    is which. `floor` draws the float32 round-off level as a labelled rule; `slopes` draws
    reference triangles of those slopes (sign −1: the error falls as x grows). Errors above
    `blown_up` (for states of size 1: solves that blew up without overflowing) are left out
    like those that did, so that they do not squeeze every other line into a corner.
    """
    require_columns(df, ("solver", x, "error"))
    data = positive_rows(df, "error")
    data = data[data["error"] <= blown_up]
    data = data.assign(method=data["solver"].map(solver_label), line=MEASURED)
    shown = positive_rows(fits, "error") if fits is not None and len(fits) else None
    if shown is not None:
        shown = shown.assign(method=shown["solver"].map(solver_label), line=FITTED)
    domain, colors = solver_colors(data["solver"] if len(data) else df["solver"])
    lines = [MEASURED] if shown is None or shown.empty else [MEASURED, FITTED]
    x_enc = alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(type="log"))
    y_enc = alt.Y("error:Q", title="error at T (max norm)", scale=alt.Scale(type="log"))
    color = alt.Color(
        "method:N",
        title=None,
        scale=alt.Scale(domain=domain, range=colors),
        legend=alt.Legend(symbolType="stroke", symbolStrokeWidth=3),
    )
    dash = alt.StrokeDash(
        "line:N",
        title=None,
        scale=alt.Scale(domain=lines, range=[[1, 0], [6, 4]][: len(lines)]),
        legend=alt.Legend(
            symbolStrokeColor=palette.TRUE,
            symbolType="stroke",
            symbolStrokeWidth=2.5,
            symbolSize=400,
        ),
    )
    tooltip = ["method", alt.Tooltip(f"{x}:Q", format=".3g"), alt.Tooltip("error:Q", format=".2e")]
    layers = []
    xs = data[x].to_numpy(dtype=float)
    ys = data["error"].to_numpy(dtype=float)
    if floor is not None:
        ys = np.append(ys, floor)
    if slopes and xs.size and ys.size:
        triangles = slope_triangles(
            (xs.min(), xs.max()),
            (ys.min(), ys.max()),
            slopes,
            sign=sign,
            points=_polylines(data, x),
        )
        if len(triangles):
            layers.append(
                alt.Chart(triangles)
                .mark_line(color=REFERENCE_INK, strokeWidth=1.5)
                .encode(
                    x=alt.X("x:Q", scale=alt.Scale(type="log")),
                    y=alt.Y("y:Q", scale=alt.Scale(type="log")),
                    detail="triangle:N",
                    order="vertex:Q",
                )
            )
            layers.append(
                alt.Chart(triangles.dropna(subset=["label"]))
                .mark_text(color=REFERENCE_INK, align="left", dx=5)
                .encode(x="lx:Q", y="ly:Q", text="label:N")
            )
    if floor is not None:
        rule = pd.DataFrame({"error": [floor], "label": ["float32 round-off floor"]})
        layers.append(
            alt.Chart(rule)
            .mark_rule(color="gray", strokeDash=[2, 2])
            .encode(y="error:Q", tooltip=["label"])
        )
        layers.append(
            alt.Chart(rule)
            .mark_text(color=REFERENCE_INK, align="right", baseline="bottom", dy=-3)
            .encode(y="error:Q", x=alt.value("width"), text="label:N")
        )
    measured = alt.Chart(data).encode(x=x_enc, y=y_enc, color=color, tooltip=tooltip)
    # Points in a layer of their own: a line's point overlay would blank the dash legend.
    layers.append(measured.mark_line(strokeWidth=2).encode(strokeDash=dash))
    layers.append(measured.mark_point(filled=True, size=22, opacity=1))
    if shown is not None and len(shown):
        layers.append(
            alt.Chart(shown)
            .mark_line(strokeWidth=1.5, opacity=0.9)
            .encode(x=x_enc, y=y_enc, color=color, strokeDash=dash, detail="method:N")
        )
    return alt.layer(*layers).properties(height=height)


def bar_chart(
    df: pd.DataFrame,
    *,
    category: str,
    value: str,
    title: str,
    log: bool = False,
    domain: tuple[float, float] | None = None,
    colors: tuple = (),
    height: int = 260,
) -> alt.LayerChart:
    """A horizontal bar per category (e.g. a solver's cost), its value written at its end.

    Colours: `colors`' (label, colour) pairs, else the palette's (full solver names are in
    it). On a log axis every bar starts at the power of ten below the smallest value (a bar
    from 0 draws nothing there); a fixed `domain` keeps the axis still while a slider moves.
    """
    require_columns(df, (category, value))
    data = positive_rows(df, value) if log else df
    names, range_ = palette.colors_for(data[category], colors)
    scale = {"type": "log"} if log else {}
    if domain is not None:
        scale.update(domain=list(domain), nice=False)
    encoding = {}
    if log:
        smallest = data[value].min() if len(data) else 1.0
        base = 10.0 ** np.floor(np.log10(smallest)) if np.isfinite(smallest) else 1.0
        encoding["x2"] = alt.datum(float(domain[0] if domain is not None else base))
    base_chart = alt.Chart(data).encode(
        y=alt.Y(f"{category}:N", title=None, sort=None, axis=alt.Axis(labelLimit=400)),
        x=alt.X(f"{value}:Q", title=title, scale=alt.Scale(**scale)),
        tooltip=[category, alt.Tooltip(f"{value}:Q", format=",.4g")],
    )
    bars = base_chart.mark_bar().encode(
        color=alt.Color(f"{category}:N", scale=alt.Scale(domain=names, range=range_), legend=None),
        **encoding,
    )
    text = base_chart.mark_text(align="left", dx=4, color=palette.TRUE).encode(
        text=alt.Text(f"{value}:Q", format=",.0f")
    )
    return alt.layer(bars, text).properties(height=height)


# ----------------------------------------------------------------------------- depth costs


def scaling_chart(
    df: pd.DataFrame,
    *,
    y: str,
    y_title: str,
    x: str = "L",
    x_title: str = "depth L / number of steps",
    log_y: bool = True,
    y_domain: tuple[float, float] | None = None,
    colors: tuple = (),
    height: int = 340,
) -> alt.Chart:
    """A quantity against depth on log axes: columns <x>, <y>, model (one line each, in
    `colors`' (label, colour) pairs or the palette's). A fixed `y_domain` keeps the axis
    still while a slider moves."""
    require_columns(df, (x, y, "model"))
    data = positive_rows(df, y) if log_y else df
    domain, range_ = palette.colors_for(data["model"] if len(data) else df["model"], colors)
    y_scale = {"type": "log"} if log_y else {}
    if y_domain is not None:
        y_scale.update(domain=list(y_domain), nice=False)
    return (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=60), strokeWidth=3)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(type="log", base=2)),
            y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(**y_scale)),
            color=alt.Color(
                "model:N",
                title=None,
                scale=alt.Scale(domain=domain, range=range_),
                legend=alt.Legend(orient="top", symbolType="stroke", symbolStrokeWidth=3),
            ),
            tooltip=["model", x, alt.Tooltip(f"{y}:Q", format=",.4g")],
        )
        .properties(height=height)
    )


# ----------------------------------------------------------------------------- regression flow


def _start_scale(cyclic: bool, values) -> alt.Scale:
    """Colours for each point's starting value: a cyclic range for angles, the ordered
    palette for an ordered value (x(0))."""
    if cyclic:
        return alt.Scale(domain=list(ANGLE_STOPS), range=list(ANGLE_COLORS), interpolate="rgb")
    low, high = padded_domain(values, 0.0) or (-1.0, 1.0)
    return alt.Scale(scheme=ORDERED_SCHEME, domain=[low, high])


def _start_color(cyclic: bool, values, title: str) -> alt.Color:
    legend = alt.Legend(orient="bottom", gradientLength=220, titleOrient="left")
    return alt.Color("start:Q", title=title, scale=_start_scale(cyclic, values), legend=legend)


def _joined(*columns) -> np.ndarray:
    return np.concatenate([np.asarray(c, dtype=np.float64).ravel() for c in columns])


def _last_at(rows: pd.DataFrame, now: float) -> pd.DataFrame:
    """Each point's last row at or before progress `now`."""
    reached = rows[rows["s"] <= now + 1e-9]
    return reached.sort_values("s").groupby("point", sort=False).tail(1)


INPUT_END, TARGET_END = 0.0, 1.0  # where task_chart draws a 1-D input and its target


def task_chart(
    data: pd.DataFrame,
    *,
    plane: bool = False,
    cyclic: bool = False,
    size: int = 220,
) -> alt.HConcatChart:
    """The task before any training: each input a dot in its colour, its target a near-black
    ring, the two joined by a straight line. 1-D (plane False): the value against s, every
    input at s = 0 ('input') and every target at s = 1 ('target'), so a pair whose order
    swaps draws lines that cross; a plane: y against x with equal units. Columns as
    the regression-flow lesson's `task_frame`. Colours as in `flow_panels_chart` (its legend is under the animation)."""
    require_columns(data, ("point", "s", "start", "x", *(("y",) if plane else ())))
    color = alt.Color("start:Q", scale=_start_scale(cyclic, data["start"]), legend=None)
    if plane:
        x_dom, y_dom = square_domains(
            covering((-1.2, 1.2), data["x"]), covering((-1.2, 1.2), data["y"])
        )
        x_enc = alt.X("x:Q", title="x₁", scale=alt.Scale(domain=list(x_dom), nice=False))
        y_enc = alt.Y("y:Q", title="x₂", scale=alt.Scale(domain=list(y_dom), nice=False))
        height = size
    else:
        ends = f"datum.value == {INPUT_END:g} ? 'input' : 'target'"
        x_enc = alt.X(
            "s:Q",
            title=None,
            scale=alt.Scale(domain=[-0.08, 1.08], nice=False),  # room for the marks
            axis=alt.Axis(values=[INPUT_END, TARGET_END], labelExpr=ends, grid=False),
        )
        y_dom = covering((-1.2, 1.2), data["x"])
        y_enc = alt.Y("x:Q", title="x", scale=alt.Scale(domain=list(y_dom), nice=False))
        height = int(size * 0.85)
    tooltip = ["point", alt.Tooltip("x:Q", format=".3f")]
    if plane:
        tooltip.append(alt.Tooltip("y:Q", format=".3f"))
    base = alt.Chart(data)  # one data set for all three layers: the page sends it once
    lines = base.mark_line(strokeWidth=1.5, opacity=0.6, clip=True).encode(
        x=x_enc, y=y_enc, color=color, detail="point:N", order="s:Q"
    )
    targets = (
        base.transform_filter(alt.datum.s == TARGET_END)
        .mark_point(size=110, strokeWidth=2, filled=False, color=palette.TRUE, clip=True)
        .encode(x=x_enc, y=y_enc, tooltip=tooltip)
    )
    inputs = (
        base.transform_filter(alt.datum.s == INPUT_END)
        .mark_point(filled=True, size=55, opacity=1.0, clip=True)
        .encode(x=x_enc, y=y_enc, color=color, tooltip=tooltip)
    )
    # hconcat keeps the fixed size (equal units in a plane) where the page stretches charts.
    return alt.hconcat(alt.layer(lines, targets, inputs).properties(width=size, height=height))


def flow_panels_chart(
    paths: pd.DataFrame,
    targets: pd.DataFrame | None = None,
    *,
    now: float | None = None,
    plane: bool = False,
    x_titles: tuple[str, ...] = (),
    y_title: str = "x(t)",
    color_title: str = "x(0)",
    cyclic: bool = False,
    size: int = 240,
) -> alt.HConcatChart:
    """How points travel, one panel per model side by side: columns panel (its title), t
    (its time axis: a time or a block number), s (progress from 0 to 1), point, x, start
    (a colour value per point) and, for a plane, y.

    Each point's path is drawn faint, solid up to progress `now` (None: the end) and a dot
    marks where it is then: frames of an animation. 1-D (plane False): x against t; a plane:
    y against x with equal units on both axes. targets (columns point, x and, for a plane,
    y) are near-black rings: at the end time in 1-D, at their place in a plane. Every
    panel's axes are fixed by all of its rows (whatever `now`) and cover the targets.
    """
    require_columns(paths, ("panel", "t", "s", "point", "x", "start", *(("y",) if plane else ())))
    now = 1.0 if now is None else float(now)
    titles = list(dict.fromkeys(paths["panel"]))
    color = _start_color(cyclic, paths["start"], color_title)
    panels = []
    for k, title in enumerate(titles):
        rows = paths[paths["panel"] == title]
        here = _last_at(rows, now)
        past = rows[rows["s"] <= now + 1e-9]
        aims = targets if targets is not None else pd.DataFrame(columns=["x", "y"])
        if plane:
            shown_x, shown_y = "x", "y"
            x_dom = covering((-1.2, 1.2), _joined(rows["x"], aims["x"]))
            y_dom = covering((-1.2, 1.2), _joined(rows["y"], aims["y"]))
            x_dom, y_dom = square_domains(x_dom, y_dom)
            x_title = x_titles[k] if k < len(x_titles) else "x₁"
            height = size
        else:
            shown_x, shown_y = "t", "x"
            start, end = float(rows["t"].min()), float(rows["t"].max())
            x_dom = (start, end + 0.05 * (end - start))  # room for the rings at the end
            y_dom = covering((-1.2, 1.2), _joined(rows["x"], aims["x"]))
            x_title = x_titles[k] if k < len(x_titles) else "t"
            height = int(size * 0.85)
        # Block numbers are whole numbers: no ticks between blocks.
        whole = not plane and float(rows["t"].max()).is_integer() and rows["t"].max() > 1
        x_enc = alt.X(
            f"{shown_x}:Q",
            title=x_title,
            scale=alt.Scale(domain=list(x_dom), nice=False),
            axis=alt.Axis(tickMinStep=1, format="d") if whole else alt.Axis(),
        )
        y_enc = alt.Y(
            f"{shown_y}:Q", title=y_title, scale=alt.Scale(domain=list(y_dom), nice=False)
        )
        tooltip = ["point", alt.Tooltip("t:Q", format=".2f"), alt.Tooltip("x:Q", format=".3f")]
        layers = [
            alt.Chart(rows)
            .mark_line(strokeWidth=1.2, opacity=0.2, clip=True)
            .encode(x=x_enc, y=y_enc, color=color, detail="point:N", order="s:Q"),
            alt.Chart(past)
            .mark_line(strokeWidth=2, opacity=0.9, clip=True)
            .encode(x=x_enc, y=y_enc, color=color, detail="point:N", order="s:Q"),
        ]
        if targets is not None and len(targets):
            ring = targets.assign(kind=TARGET)
            if not plane:
                ring = ring.assign(t=float(rows["t"].max()))
            layers.append(
                alt.Chart(ring)
                .mark_point(size=110, strokeWidth=2, filled=False, clip=True)
                .encode(
                    x=f"{shown_x}:Q",
                    y=f"{'y' if plane else 'x'}:Q",
                    shape=alt.Shape(
                        "kind:N",
                        title=None,
                        scale=alt.Scale(domain=[TARGET], range=["circle"]),
                        legend=alt.Legend(orient="bottom", symbolStrokeColor=palette.TRUE),
                    ),
                    color=alt.value(palette.TRUE),
                )
            )
        layers.append(
            alt.Chart(here)
            .mark_point(filled=True, size=55, opacity=1.0, clip=True)
            .encode(x=x_enc, y=y_enc, color=color, tooltip=tooltip)
        )
        panels.append(alt.layer(*layers).properties(title=title, width=size, height=height))
    return alt.hconcat(*panels, spacing=24).resolve_scale(color="shared", shape="shared")


MODEL_SHAPES = ("circle", "square", "triangle-up", "diamond")


def fitted_map_chart(
    targets: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    colors: tuple = (),
    x_domain: tuple[float, float] = (-1.2, 1.2),
    y_domain: tuple[float, float] = (-1.6, 1.6),
    height: int = 320,
) -> alt.LayerChart:
    """A 1-D map: targets (columns x, y) as near-black points, curves (x, y, model) as
    lines in `colors`' (label, colour) pairs. Fixed domains keep the axes still while the
    sliders move (a curve that leaves them is clipped)."""
    require_columns(targets, ("x", "y"))
    require_columns(curves, ("x", "y", "model"))
    domain, range_ = palette.colors_for(curves["model"], colors)
    x_enc = alt.X("x:Q", title="input x", scale=alt.Scale(domain=list(x_domain), nice=False))
    y_enc = alt.Y("y:Q", title="output", scale=alt.Scale(domain=list(y_domain), nice=False))
    lines = (
        alt.Chart(curves)
        .mark_line(strokeWidth=2.5, clip=True)
        .encode(
            x=x_enc,
            y=y_enc,
            color=alt.Color(
                "model:N",
                title=None,
                scale=alt.Scale(domain=domain, range=range_),
                legend=alt.Legend(symbolType="stroke", symbolStrokeWidth=3),
            ),
            tooltip=["model", alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("y:Q", format=".3f")],
        )
    )
    dots = (
        alt.Chart(targets.assign(kind="training pair (x, target)"))
        .mark_point(filled=True, size=60, clip=True)
        .encode(
            x=x_enc,
            y=y_enc,
            shape=alt.Shape("kind:N", title=None, legend=alt.Legend(symbolFillColor=palette.TRUE)),
            color=alt.value(palette.TRUE),
            tooltip=[alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("y:Q", format=".2f")],
        )
    )
    return alt.layer(lines, dots).resolve_legend(shape="independent").properties(height=height)


def map_targets_chart(df: pd.DataFrame, *, colors: tuple = (), size: int = 360) -> alt.HConcatChart:
    """2-D regression on an equal-aspect square: columns x, y, kind (TARGET or a model's
    prediction), point. Targets are near-black rings; each model's predictions are filled
    marks of its colour and shape, joined to their targets by thin lines (the error)."""
    require_columns(df, ("x", "y", "kind", "point"))
    targets = df[df["kind"] == TARGET]
    predicted = df[df["kind"] != TARGET]
    kinds = list(dict.fromkeys(predicted["kind"]))
    domain, range_ = palette.colors_for(kinds, colors)
    joined = predicted.merge(
        targets[["point", "x", "y"]].rename(columns={"x": "x2", "y": "y2"}), on="point"
    )
    x_dom, y_dom = square_domains(covering((-1.1, 1.1), df["x"]), covering((-1.1, 1.1), df["y"]))
    x_enc = alt.X("x:Q", title="x₁", scale=alt.Scale(domain=list(x_dom), nice=False))
    y_enc = alt.Y("y:Q", title="x₂", scale=alt.Scale(domain=list(y_dom), nice=False))
    color = alt.Color(
        "kind:N", title=None, scale=alt.Scale(domain=domain, range=range_),
        legend=alt.Legend(orient="bottom", columns=1),
    )  # fmt: skip
    shape = alt.Shape(
        "kind:N", title=None,
        scale=alt.Scale(domain=domain, range=list(MODEL_SHAPES[: len(domain)])),
        legend=alt.Legend(orient="bottom", columns=1),
    )  # fmt: skip
    errors = (
        alt.Chart(joined)
        .mark_rule(strokeWidth=1.2, opacity=0.6, clip=True)
        .encode(x=x_enc, y=y_enc, x2="x2:Q", y2="y2:Q", color=color)
    )
    rings = (
        alt.Chart(targets.assign(label=TARGET))
        .mark_point(size=170, strokeWidth=2, filled=False, color=palette.TRUE, clip=True)
        .encode(
            x=x_enc,
            y=y_enc,
            opacity=alt.Opacity(
                "label:N",
                title=None,
                scale=alt.Scale(domain=[TARGET], range=[1.0]),
                legend=alt.Legend(orient="bottom", symbolStrokeColor=palette.TRUE),
            ),
            tooltip=["point", alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("y:Q", format=".2f")],
        )
    )
    marks = (
        alt.Chart(predicted)
        .mark_point(filled=True, size=70, opacity=0.95, clip=True)
        .encode(
            x=x_enc,
            y=y_enc,
            color=color,
            shape=shape,
            tooltip=[
                "kind",
                "point",
                alt.Tooltip("x:Q", format=".2f"),
                alt.Tooltip("y:Q", format=".2f"),
            ],
        )
    )
    chart = alt.layer(errors, rings, marks).properties(width=size, height=size)
    return alt.hconcat(chart)

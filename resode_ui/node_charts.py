"""Chart builders for the neural-ODE pages: pandas DataFrames in, altair charts out.

Pure functions with no Streamlit, so tests can build every chart from plain data and
inspect what it would draw. Columns are named in each docstring.
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

SOURCE_DASH = {"true": [1, 0], "learned": [6, 3], "data": [1, 0], "ResNet": [2, 2]}
ARROW_SIZE = 140


def _require(df: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"The chart needs columns {missing}.")


def _log_axis_domain(values) -> list[float] | None:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return None
    return [
        float(10 ** math.floor(math.log10(v.min()))),
        float(10 ** math.ceil(math.log10(v.max()))),
    ]


def _positive(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows a log scale can draw (finite and > 0)."""
    values = pd.to_numeric(df[column], errors="coerce")
    return df[np.isfinite(values) & (values > 0)]


# Viridis without its pale yellow end, which vanishes on a white page: for ordered values.
ORDERED_SCHEME = {"name": "viridis", "extent": [0.0, 0.8]}

# ----------------------------------------------------------------------------- trajectories


def _line_dashes(df: pd.DataFrame) -> tuple[list[str], list[list[int]]]:
    """The line sources drawn (every source but "data") and their dashes: "learned" dashed,
    the rest solid. The legend then lists only lines that are there."""
    drawn = [source for source in dict.fromkeys(df["source"]) if source != "data"]
    return drawn, [[6, 3] if source == "learned" else [1, 0] for source in drawn]


def series_frame(ts, ys, names, source: str) -> pd.DataFrame:
    """Long format for time_series_chart: ys (len(ts), k) with one name per column."""
    values = np.asarray(ys, dtype=np.float64).reshape(len(ts), -1)
    return pd.concat(
        [
            pd.DataFrame(
                {"t": np.asarray(ts), "value": values[:, k], "series": name, "source": source}
            )
            for k, name in enumerate(names)
        ],
        ignore_index=True,
    )


def path_frame(ts, ys, source: str, trajectory: int = 1) -> pd.DataFrame:
    """One path for phase_plane_chart: ys (len(ts), ≥ 2), the first two states as x, y."""
    values = np.asarray(ys, dtype=np.float64)
    return pd.DataFrame(
        {
            "x": values[:, 0],
            "y": values[:, 1],
            "t": np.asarray(ts),
            "source": source,
            "trajectory": trajectory,
        }
    )


def time_series_chart(
    df: pd.DataFrame,
    *,
    y_title: str = "state",
    window_end: float | None = None,
    height: int = 320,
) -> alt.LayerChart:
    """States against time: columns t, value, series (e.g. "u₁"), source ("true"/"learned"/"data").

    "true" and "learned" are lines (learned dashed); "data" are the observed samples,
    drawn as points. window_end draws a rule where the training window ends.
    """
    _require(df, ("t", "value", "series", "source"))
    color = alt.Color("series:N", title=None)
    base = alt.Chart(df).encode(
        x=alt.X("t:Q", title="t"),
        y=alt.Y("value:Q", title=y_title),
        color=color,
        tooltip=[
            "series",
            "source",
            alt.Tooltip("t:Q", format=".3f"),
            alt.Tooltip("value:Q", format=".4f"),
        ],
    )
    drawn, dash_range = _line_dashes(df)
    lines = (
        base.transform_filter(alt.datum.source != "data")
        .mark_line(strokeWidth=2)
        .encode(
            strokeDash=alt.StrokeDash(
                "source:N",
                title=None,
                scale=alt.Scale(domain=drawn, range=dash_range),
            ),
            detail="source:N",
        )
    )
    points = base.transform_filter(alt.datum.source == "data").mark_point(
        filled=True, size=45, opacity=0.9
    )
    layers = [lines, points]
    if window_end is not None:
        rule = (
            alt.Chart(pd.DataFrame({"t": [window_end], "label": ["end of training window"]}))
            .mark_rule(color="gray", strokeDash=[4, 4])
            .encode(x="t:Q", tooltip=["label"])
        )
        layers.append(rule)
    return alt.layer(*layers).properties(height=height)


def phase_plane_chart(
    df: pd.DataFrame,
    *,
    x_title: str = "u₁",
    y_title: str = "u₂",
    height: int = 320,
    domain: tuple[float, float] | None = None,
) -> alt.LayerChart:
    """Paths in the plane: columns x, y, t, source, trajectory (an id per path).

    Lines are drawn in time order; "data" rows are drawn as points; the first point of
    each true path is marked with a ring.
    """
    _require(df, ("x", "y", "t", "source", "trajectory"))
    drawn, dash_range = _line_dashes(df)
    scale = alt.Scale(domain=list(domain)) if domain is not None else alt.Scale(zero=False)
    base = alt.Chart(df).encode(
        x=alt.X("x:Q", title=x_title, scale=scale),
        y=alt.Y("y:Q", title=y_title, scale=scale),
        color=alt.Color("source:N", title=None),
        tooltip=["source", "trajectory", alt.Tooltip("t:Q", format=".3f")],
    )
    lines = (
        base.transform_filter(alt.datum.source != "data")
        .mark_line(strokeWidth=2)
        .encode(
            order="t:Q",
            detail="trajectory:N",
            # No legend=None here: colour and dash share the field, and Vega-Lite would then
            # drop the merged legend (A vs B had none).
            strokeDash=alt.StrokeDash(
                "source:N", title=None, scale=alt.Scale(domain=drawn, range=dash_range)
            ),
        )
    )
    points = base.transform_filter(alt.datum.source == "data").mark_point(filled=True, size=35)
    starts = (
        base.transform_filter(alt.datum.source == "true")
        .transform_window(rank="rank()", groupby=["trajectory"], sort=[alt.SortField("t")])
        .transform_filter(alt.datum.rank == 1)
        .mark_point(size=90, strokeWidth=2)
    )
    return alt.layer(lines, points, starts).properties(height=height)


# ----------------------------------------------------------------------------- vector fields


def quiver_frame(points, values) -> pd.DataFrame:
    """Arrows for a vector field: positions (n, 2) and field values (n, 2) -> DataFrame."""
    p = np.asarray(points, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    speed = np.hypot(v[:, 0], v[:, 1])
    # Vega's "arrow" points up and turns clockwise by `angle` degrees.
    angle = (90.0 - np.degrees(np.arctan2(v[:, 1], v[:, 0]))) % 360.0
    return pd.DataFrame(
        {
            "x": p[:, 0],
            "y": p[:, 1],
            "vx": v[:, 0],
            "vy": v[:, 1],
            "speed": speed,
            "log10_speed": np.log10(np.maximum(speed, 1e-6)),
            "angle": angle,
        }
    )


def quiver_chart(
    df: pd.DataFrame,
    *,
    title: str,
    color_domain: tuple[float, float] | None = None,
    height: int = 300,
) -> alt.Chart:
    """A vector field as arrows of equal size: columns x, y, angle, log10_speed, speed.

    Arrows show the direction; colour shows log₁₀ of the speed (pass the same
    color_domain to two charts to compare them).
    """
    _require(df, ("x", "y", "angle", "log10_speed", "speed"))
    scale = alt.Scale(scheme=ORDERED_SCHEME)
    if color_domain is not None:
        scale = alt.Scale(scheme=ORDERED_SCHEME, domain=list(color_domain), clamp=True)
    return (
        alt.Chart(df, title=title)
        .mark_point(shape="arrow", filled=True, size=ARROW_SIZE, opacity=0.9)
        .encode(
            x=alt.X("x:Q", title="u₁"),
            y=alt.Y("y:Q", title="u₂"),
            angle=alt.Angle("angle:Q", scale=alt.Scale(domain=[0, 360], range=[0, 360])),
            color=alt.Color("log10_speed:Q", title="log₁₀ |V|", scale=scale),
            tooltip=[
                alt.Tooltip("x:Q", format=".2f"),
                alt.Tooltip("y:Q", format=".2f"),
                alt.Tooltip("speed:Q", format=".3g"),
            ],
        )
        .properties(height=height)
    )


# ----------------------------------------------------------------------------- histories


def history_chart(
    df: pd.DataFrame,
    *,
    y: str = "loss",
    y_title: str = "loss",
    log: bool = True,
    height: int = 260,
) -> alt.Chart:
    """A training history: columns epoch, <y>, and optionally series (one line each)."""
    _require(df, ("epoch", y))
    data = _positive(df, y) if log else df
    encoding = {
        "x": alt.X("epoch:Q", title="epoch"),
        "y": alt.Y(
            f"{y}:Q",
            title=y_title,
            scale=alt.Scale(type="log") if log else alt.Scale(zero=False),
        ),
        "tooltip": ["epoch", alt.Tooltip(f"{y}:Q", format=".4g")],
    }
    if "series" in df.columns:
        encoding["color"] = alt.Color("series:N", title=None)
    return alt.Chart(data).mark_line(strokeWidth=2).encode(**encoding).properties(height=height)


# ----------------------------------------------------------------------------- error maps


def heatmap_frame(points, values, *, column: str = "error_pct") -> pd.DataFrame:
    """Cells of a regular 2-D grid: centres (n, 2) and one value each -> DataFrame with edges."""
    p = np.asarray(points, dtype=np.float64)
    xs, ys = np.unique(p[:, 0]), np.unique(p[:, 1])
    hx = (xs[1] - xs[0]) / 2 if xs.size > 1 else 0.5
    hy = (ys[1] - ys[0]) / 2 if ys.size > 1 else 0.5
    return pd.DataFrame(
        {
            "u1": p[:, 0],
            "u2": p[:, 1],
            "x0": p[:, 0] - hx,
            "x1": p[:, 0] + hx,
            "y0": p[:, 1] - hy,
            "y1": p[:, 1] + hy,
            column: np.asarray(values, dtype=np.float64),
        }
    )


def error_heatmap(
    df: pd.DataFrame,
    *,
    markers: pd.DataFrame | None = None,
    cap: float = 100.0,
    title: str = "relative error (%)",
    height: int = 360,
) -> alt.LayerChart:
    """Relative error over a grid of initial conditions: columns from heatmap_frame.

    Colours saturate at `cap` %; failed or non-finite cells are drawn at the cap.
    markers (columns x, y, label) mark e.g. the training initial conditions.
    """
    _require(df, ("u1", "u2", "x0", "x1", "y0", "y1", "error_pct"))
    data = df.copy()
    data["shown_pct"] = np.minimum(
        np.where(np.isfinite(data["error_pct"]), data["error_pct"], cap), cap
    )
    data["error_text"] = [
        f"{e:.1f} %" if np.isfinite(e) else "failed" for e in data["error_pct"].to_numpy()
    ]
    cells = (
        alt.Chart(data, title=title)
        .mark_rect()
        .encode(
            x=alt.X("x0:Q", title="u₁(0)", scale=alt.Scale(zero=False, nice=False)),
            x2="x1:Q",
            y=alt.Y("y0:Q", title="u₂(0)", scale=alt.Scale(zero=False, nice=False)),
            y2="y1:Q",
            color=alt.Color(
                "shown_pct:Q",
                title="error %",
                # Dark = good; "bad" ends at orange, never at a pale yellow that reads as
                # empty background.
                scale=alt.Scale(scheme={"name": "inferno", "extent": [0.0, 0.75]}, domain=[0, cap]),
            ),
            tooltip=[
                alt.Tooltip("u1:Q", format=".2f"),
                alt.Tooltip("u2:Q", format=".2f"),
                alt.Tooltip("error_text:N", title="error"),
            ],
        )
    )
    layers = [cells]
    if markers is not None and len(markers):
        _require(markers, ("x", "y", "label"))
        layers.append(
            alt.Chart(markers)
            .mark_point(filled=True, size=70, stroke="black", strokeWidth=1)
            .encode(
                x="x:Q",
                y="y:Q",
                color=alt.value("white"),
                shape=alt.Shape("label:N", title=None),
                tooltip=[
                    "label",
                    alt.Tooltip("x:Q", format=".2f"),
                    alt.Tooltip("y:Q", format=".2f"),
                ],
            )
        )
    return alt.layer(*layers).properties(height=height)


# ----------------------------------------------------------------------------- solvers


def convergence_chart(
    df: pd.DataFrame,
    *,
    fits: pd.DataFrame | None = None,
    floor: float | None = None,
    x: str = "dt",
    x_title: str = "Δt",
    height: int = 380,
) -> alt.LayerChart:
    """Error against a cost on log-log axes: columns solver, <x>, error.

    fits (columns solver, <x>, error) are drawn as dashed fitted lines; floor as a
    horizontal rule marking the float32 round-off level.
    """
    _require(df, ("solver", x, "error"))
    data = _positive(df, "error")
    x_enc = alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(type="log"))
    y_enc = alt.Y("error:Q", title="error at T (max norm)", scale=alt.Scale(type="log"))
    color = alt.Color("solver:N", title="solver")
    points = (
        alt.Chart(data)
        .mark_line(point=True, strokeWidth=1.5)
        .encode(
            x=x_enc,
            y=y_enc,
            color=color,
            tooltip=[
                "solver",
                alt.Tooltip(f"{x}:Q", format=".3g"),
                alt.Tooltip("error:Q", format=".2e"),
            ],
        )
    )
    layers = [points]
    if fits is not None and len(fits):
        layers.append(
            alt.Chart(_positive(fits, "error"))
            .mark_line(strokeDash=[6, 4], strokeWidth=1, opacity=0.8)
            .encode(x=x_enc, y=y_enc, color=color, detail="solver:N")
        )
    if floor is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"error": [floor], "label": ["float32 round-off floor"]}))
            .mark_rule(color="gray", strokeDash=[2, 2])
            .encode(y="error:Q", tooltip=["label"])
        )
    return alt.layer(*layers).properties(height=height)


def bar_chart(
    df: pd.DataFrame, *, category: str, value: str, title: str, log: bool = False, height: int = 240
) -> alt.Chart:
    """A horizontal bar per category (e.g. solver cost)."""
    _require(df, (category, value))
    data = _positive(df, value) if log else df
    encoding = {}
    if log:
        # A bar on a log axis cannot start at 0 (Vega-Lite then draws nothing): start every
        # bar at the power of ten below the smallest value.
        smallest = data[value].min() if len(data) else 1.0
        base = 10.0 ** np.floor(np.log10(smallest)) if np.isfinite(smallest) else 1.0
        encoding["x2"] = alt.datum(float(base))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", title=None, sort=None, axis=alt.Axis(labelLimit=320)),
            x=alt.X(f"{value}:Q", title=title, scale=alt.Scale(type="log" if log else "linear")),
            tooltip=[category, alt.Tooltip(f"{value}:Q", format=".4g")],
            **encoding,
        )
        .properties(height=height)
    )


# ----------------------------------------------------------------------------- scaling


def scaling_chart(
    df: pd.DataFrame,
    *,
    y: str,
    y_title: str,
    x: str = "L",
    x_title: str = "depth L / number of steps",
    log_y: bool = True,
    height: int = 300,
) -> alt.Chart:
    """A quantity against depth on log axes: columns <x>, <y>, model (one line each)."""
    _require(df, (x, y, "model"))
    data = _positive(df, y) if log_y else df
    return (
        alt.Chart(data)
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(type="log", base=2)),
            y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(type="log") if log_y else alt.Scale()),
            color=alt.Color("model:N", title=None),
            tooltip=["model", x, alt.Tooltip(f"{y}:Q", format=",.4g")],
        )
        .properties(height=height)
    )


# ----------------------------------------------------------------------------- regression flow


def flow_lines_chart(
    df: pd.DataFrame, *, x_title: str = "t", y_title: str = "x(t)", height: int = 320
) -> alt.Chart:
    """Each point's path: columns t, x, point (id), start (its initial value, for colour)."""
    _require(df, ("t", "x", "point", "start"))
    return (
        alt.Chart(df)
        .mark_line(strokeWidth=1.8, opacity=0.85, point=alt.OverlayMarkDef(size=12))
        .encode(
            x=alt.X("t:Q", title=x_title),
            y=alt.Y("x:Q", title=y_title),
            detail="point:N",
            order="t:Q",
            color=alt.Color("start:Q", title="x(0)", scale=alt.Scale(scheme="redblue")),
            tooltip=["point", alt.Tooltip("t:Q", format=".2f"), alt.Tooltip("x:Q", format=".3f")],
        )
        .properties(height=height)
    )


def flow_plane_chart(
    df: pd.DataFrame,
    *,
    x_title: str = "x₁",
    y_title: str = "x₂",
    color_title: str = "start angle (°)",
    cyclic: bool = True,
    height: int = 340,
) -> alt.LayerChart:
    """2-D paths: columns x, y, t, point, start (a colour value per point); ends marked.

    `cyclic`: the start values wrap around (angles: a cyclic palette); otherwise they are
    ordered (ORDERED_SCHEME: its two ends differ clearly).
    """
    _require(df, ("x", "y", "t", "point", "start"))
    palette = "rainbow" if cyclic else ORDERED_SCHEME
    base = alt.Chart(df).encode(
        x=alt.X("x:Q", title=x_title),
        y=alt.Y("y:Q", title=y_title),
        color=alt.Color("start:Q", title=color_title, scale=alt.Scale(scheme=palette)),
    )
    lines = base.mark_line(strokeWidth=1.3, opacity=0.7).encode(order="t:Q", detail="point:N")
    ends = (
        base.transform_window(
            rank="rank()", groupby=["point"], sort=[alt.SortField("t", order="descending")]
        )
        .transform_filter(alt.datum.rank == 1)
        .mark_point(filled=True, size=40)
    )
    return alt.layer(lines, ends).properties(height=height)


def fitted_map_chart(
    targets: pd.DataFrame, curves: pd.DataFrame, *, height: int = 320
) -> alt.LayerChart:
    """A 1-D map: targets (columns x, y) as points; curves (x, y, model) as lines."""
    _require(targets, ("x", "y"))
    _require(curves, ("x", "y", "model"))
    lines = (
        alt.Chart(curves)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("x:Q", title="input x"),
            y=alt.Y("y:Q", title="output"),
            color=alt.Color("model:N", title=None),
            tooltip=["model", alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("y:Q", format=".3f")],
        )
    )
    dots = (
        alt.Chart(targets)
        .mark_point(filled=True, size=50, color="black")
        .encode(
            x="x:Q",
            y="y:Q",
            tooltip=[alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("y:Q", format=".2f")],
        )
    )
    return alt.layer(lines, dots).properties(height=height)


def map_arrows_chart(df: pd.DataFrame, *, height: int = 340) -> alt.LayerChart:
    """2-D regression: columns x, y, kind ("input"/"target"/"prediction"), point."""
    _require(df, ("x", "y", "kind", "point"))
    return (
        alt.Chart(df)
        .mark_point(filled=True, size=40)
        .encode(
            x=alt.X("x:Q", title="x₁"),
            y=alt.Y("y:Q", title="x₂"),
            color=alt.Color("kind:N", title=None),
            shape=alt.Shape("kind:N", title=None),
            tooltip=[
                "kind",
                "point",
                alt.Tooltip("x:Q", format=".2f"),
                alt.Tooltip("y:Q", format=".2f"),
            ],
        )
        .properties(height=height)
    )


def side_by_side(build, frames, titles, *, width: int = 340, **kwargs):
    """`build(frame, **kwargs)` for each frame, next to each other on shared axes (one frame:
    just its chart)."""
    if len(frames) == 1:
        return build(frames[0], **kwargs)
    panels = [
        build(frame, **kwargs).properties(title=title, width=width)
        for frame, title in zip(frames, titles, strict=True)
    ]
    return alt.hconcat(*panels).resolve_scale(x="shared", y="shared")

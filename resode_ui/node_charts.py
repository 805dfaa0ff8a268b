"""Chart builders for the neural-ODE pages: pandas DataFrames in, altair charts out.

Pure functions with no Streamlit, so tests can build every chart from plain data and
inspect what it would draw. Columns are named in each docstring.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from resode_ui import palette
from resode_ui.chart_parts import (
    padded_domain,
    positive_rows,
    require_columns,
    square_domains,
)

SOURCE_DASH = {"true": [1, 0], "learned": [6, 3], "data": [1, 0], "ResNet": [2, 2]}
ARROW_SIZE = 170
PLANE_SIZE = 300  # px: the square plot of a phase plane, a vector field or an error map
# Components of a state (u₁, u₂; prey, predators; a file's columns) in the palette's order;
# beyond the palette's two, colours no model or solver uses on these pages.
MORE_COMPONENTS = ("#e377c2", "#17becf", "#9467bd", "#bcbd22", "#7f7f7f", "#1f77b4")
SHADES = (0.07, 0.13)  # grey of the held-out band, then of the band beyond the data
SAMPLES = "samples"  # the legend's name for the observed points


# Viridis without its pale yellow end, which vanishes on a white page: for ordered values.
ORDERED_SCHEME = palette.ORDERED_SCHEME
# Arrows are thin marks: their fast end stops at a mid green that stays clear on white.
QUIVER_SCHEME = {"name": "viridis", "extent": [0.0, 0.7]}


def _square(chart, size: int) -> alt.HConcatChart:
    """A plot of size × size px whatever the page's width: Streamlit stretches a single
    view to the column, but leaves a concatenation at the size it asks for."""
    return alt.hconcat(chart.properties(width=size, height=size))


def component_colors(labels) -> tuple[list[str], list[str]]:
    """(domain, range): the components in first-seen order, u₁ green and u₂ brown first."""
    domain = list(dict.fromkeys(labels))
    colors = [*palette.COMPONENTS, *MORE_COMPONENTS]
    return domain, [colors[k % len(colors)] for k in range(len(domain))]


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


def _bands(regions, *, top: bool = True) -> list[alt.Chart]:
    """Grey bands behind the curves, e.g. beyond the training window, each labelled at the
    top left of its band; regions: (start, end, label), darker one after the other."""
    rows = [
        {"start": float(a), "end": float(b), "label": label, "shade": SHADES[min(k, 1)]}
        for k, (a, b, label) in enumerate(regions)
        if np.isfinite(a) and np.isfinite(b) and b > a
    ]
    if not rows:
        return []
    frame = pd.DataFrame(rows)
    band = (
        alt.Chart(frame)
        .mark_rect(color="#000000")
        .encode(
            x="start:Q",
            x2="end:Q",
            opacity=alt.Opacity("shade:Q", scale=None, legend=None),
            tooltip=["label"],
        )
    )
    label = (
        alt.Chart(frame)
        .mark_text(align="left", baseline="top" if top else "bottom", dx=4, color="#333333")
        .encode(x="start:Q", y=alt.value(4) if top else alt.value(0), text="label:N")
    )
    return [band, label]


def time_series_chart(
    df: pd.DataFrame,
    *,
    y_title: str = "state",
    window_end: float | None = None,
    regions: tuple = (),
    x_domain: tuple[float, float] | None = None,
    y_domain: tuple[float, float] | None = None,
    color_by: str = "series",
    height: int = 320,
) -> alt.LayerChart:
    """States against time: columns t, value, series (e.g. "u₁"), source ("true"/"learned"/"data").

    Colour tells the components apart (`color_by="series"`: u₁ green, u₂ brown, as on every
    page) and the dash true (solid) from learned (dashed); "data" are the observed samples,
    drawn as points. For a single quantity, `color_by="source"` colours true near-black and
    learned orange instead. `regions` ((start, end, label), …) shades bands behind the
    curves, e.g. the times beyond the training window; `window_end` draws a rule where the
    training window ends. Fixed `x_domain`/`y_domain` keep the axes still while a slider
    moves; curves that leave them are clipped.
    """
    require_columns(df, ("t", "value", "series", "source"))
    if color_by == "series":
        domain, colors = component_colors(df["series"])
        color = alt.Color("series:N", title=None, scale=alt.Scale(domain=domain, range=colors))
    else:
        domain, colors = palette.colors_for(df["source"])
        color = alt.Color(
            "source:N", title=None, scale=alt.Scale(domain=domain, range=colors), legend=None
        )
    x_scale = alt.Scale(domain=list(x_domain), nice=False) if x_domain else alt.Scale()
    y_scale = alt.Scale(domain=list(y_domain), nice=False) if y_domain else alt.Scale(zero=False)
    base = alt.Chart(df).encode(
        x=alt.X("t:Q", title="t", scale=x_scale, axis=alt.Axis(tickCount=10)),
        y=alt.Y("value:Q", title=y_title, scale=y_scale),
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
        .mark_line(strokeWidth=2.5, clip=True)
        .encode(
            strokeDash=alt.StrokeDash(
                "source:N",
                title=None,
                scale=alt.Scale(domain=drawn, range=dash_range),
                legend=alt.Legend(symbolStrokeColor="#222222", symbolSize=400),
            ),
            detail="source:N",
        )
    )
    points = (
        base.transform_filter(alt.datum.source == "data")
        .transform_calculate(kind=f"'{SAMPLES}'")
        .mark_point(filled=True, size=45, opacity=0.9, clip=True)
        .encode(
            shape=alt.Shape(
                "kind:N",
                title=None,
                scale=alt.Scale(domain=[SAMPLES], range=["circle"]),
                legend=alt.Legend(symbolFillColor="#222222"),
            )
        )
    )
    layers = [*_bands(regions), lines]
    if (df["source"] == "data").any():
        layers.append(points)
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
    height: int = PLANE_SIZE,
    domain: tuple[float, float] | None = None,
    colors: tuple = (),
) -> alt.HConcatChart:
    """Paths in the plane on a square plot with equal scales: columns x, y, t, source,
    trajectory (an id per path).

    Colour names the source (true near-black, learned orange; `colors` gives (label, colour)
    pairs for other sources, e.g. runs A and B); learned lines are dashed, "data" rows are
    points, and the first point of each true path is marked with a ring. `domain` fixes
    both axes; otherwise they span the true paths and the data (else everything), widened
    to the same span, and a learned path that strays outside is clipped.
    """
    require_columns(df, ("x", "y", "t", "source", "trajectory"))
    drawn, dash_range = _line_dashes(df)
    if domain is not None:
        x_domain = y_domain = tuple(domain)
    else:
        reference = df[df["source"].isin(["true", "data"])]
        reference = reference if len(reference) else df
        x_domain = padded_domain(reference["x"]) or (-1.0, 1.0)
        y_domain = padded_domain(reference["y"]) or (-1.0, 1.0)
        x_domain, y_domain = square_domains(x_domain, y_domain)
    sources, colors = palette.colors_for(df["source"], colors)
    base = alt.Chart(df).encode(
        x=alt.X("x:Q", title=x_title, scale=alt.Scale(domain=list(x_domain), nice=False)),
        y=alt.Y("y:Q", title=y_title, scale=alt.Scale(domain=list(y_domain), nice=False)),
        color=alt.Color(
            "source:N",
            title=None,
            scale=alt.Scale(domain=sources, range=colors),
            legend=alt.Legend(orient="bottom", symbolType="stroke"),
        ),
        tooltip=["source", "trajectory", alt.Tooltip("t:Q", format=".3f")],
    )
    lines = (
        base.transform_filter(alt.datum.source != "data")
        .mark_line(strokeWidth=2.5, clip=True)
        .encode(
            order="t:Q",
            detail="trajectory:N",
            # No legend=None here: colour and dash share the field, and Vega-Lite then
            # merges them into one legend (with legend=None on one, A vs B had none).
            strokeDash=alt.StrokeDash(
                "source:N", title=None, scale=alt.Scale(domain=drawn, range=dash_range)
            ),
        )
    )
    points = base.transform_filter(alt.datum.source == "data").mark_point(
        filled=True, size=35, clip=True
    )
    starts = (
        base.transform_filter(alt.datum.source == "true")
        .transform_window(rank="rank()", groupby=["trajectory"], sort=[alt.SortField("t")])
        .transform_filter(alt.datum.rank == 1)
        .mark_point(size=90, strokeWidth=2, clip=True)
    )
    return _square(alt.layer(lines, points, starts), height)


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
    height: int = PLANE_SIZE,
) -> alt.HConcatChart:
    """A vector field as arrows of equal size on a square plot: columns x, y, angle,
    log10_speed, speed.

    Arrows show the direction; colour shows log₁₀ of the speed, from dark purple (slow) to
    green (fast), never pale yellow (pass the same color_domain to two charts to compare them).
    """
    require_columns(df, ("x", "y", "angle", "log10_speed", "speed"))
    scale = alt.Scale(scheme=QUIVER_SCHEME)
    if color_domain is not None:
        scale = alt.Scale(scheme=QUIVER_SCHEME, domain=list(color_domain), clamp=True)
    x_domain, y_domain = square_domains(
        padded_domain(df["x"], 0.06) or (-1.0, 1.0), padded_domain(df["y"], 0.06) or (-1.0, 1.0)
    )
    chart = (
        alt.Chart(df, title=title)
        .mark_point(shape="arrow", filled=True, size=ARROW_SIZE, opacity=1.0)
        .encode(
            x=alt.X("x:Q", title="u₁", scale=alt.Scale(domain=list(x_domain), nice=False)),
            y=alt.Y("y:Q", title="u₂", scale=alt.Scale(domain=list(y_domain), nice=False)),
            angle=alt.Angle("angle:Q", scale=alt.Scale(domain=[0, 360], range=[0, 360])),
            color=alt.Color("log10_speed:Q", title="log₁₀ |V|", scale=scale),
            tooltip=[
                alt.Tooltip("x:Q", format=".2f"),
                alt.Tooltip("y:Q", format=".2f"),
                alt.Tooltip("speed:Q", format=".3g"),
            ],
        )
    )
    return _square(chart, height)


# ----------------------------------------------------------------------------- histories


def history_chart(
    df: pd.DataFrame,
    *,
    y: str = "loss",
    y_title: str = "loss",
    log: bool = True,
    x_domain: tuple[float, float] | None = None,
    y_domain: tuple[float, float] | None = None,
    colors: tuple = (),
    height: int = 260,
) -> alt.Chart:
    """A training history: columns epoch, <y>, and optionally series (one line each, in the
    palette's colours or `colors`' (label, colour) pairs; a single line is the learned model's
    orange). Fixed `x_domain` and `y_domain` keep the axes still while the curve grows."""
    require_columns(df, ("epoch", y))
    data = positive_rows(df, y) if log else df
    y_scale = {"type": "log"} if log else {"zero": False}
    if y_domain is not None:
        y_scale.update(domain=list(y_domain), nice=False)
    x_scale = alt.Scale(domain=list(x_domain), nice=False) if x_domain else alt.Scale()
    encoding = {
        "x": alt.X("epoch:Q", title="epoch", scale=x_scale),
        "y": alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(**y_scale)),
        "tooltip": ["epoch", alt.Tooltip(f"{y}:Q", format=".4g")],
    }
    mark = {"strokeWidth": 2, "clip": True}
    if "series" in df.columns:
        domain, range_ = palette.colors_for(df["series"], colors)
        encoding["color"] = alt.Color(
            "series:N", title=None, scale=alt.Scale(domain=domain, range=range_)
        )
    else:
        mark["color"] = palette.LEARNED
    return alt.Chart(data).mark_line(**mark).encode(**encoding).properties(height=height)


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


# The error map's colours: dark purple (good, near 0 %) to orange (bad, at the cap): the
# ordered inferno palette stopped before its pale-yellow end, so no cell reads as background.
ERROR_SCHEME = {"name": "inferno", "extent": [0.0, 0.72]}


def error_heatmap(
    df: pd.DataFrame,
    *,
    markers: pd.DataFrame | None = None,
    cap: float = 100.0,
    title: str = "relative error (%)",
    height: int = PLANE_SIZE,
) -> alt.HConcatChart:
    """Relative error over a grid of initial conditions, on a square plot: columns from
    heatmap_frame.

    Colours saturate at `cap` %; failed or non-finite cells are drawn at the cap.
    markers (columns x, y, label) mark e.g. the training initial conditions.
    """
    require_columns(df, ("u1", "u2", "x0", "x1", "y0", "y1", "error_pct"))
    data = df.copy()
    data["shown_pct"] = np.minimum(
        np.where(np.isfinite(data["error_pct"]), data["error_pct"], cap), cap
    )
    data["error_text"] = [
        f"{e:.1f} %" if np.isfinite(e) else "failed" for e in data["error_pct"].to_numpy()
    ]
    x_domain, y_domain = square_domains(
        (float(data["x0"].min()), float(data["x1"].max())),
        (float(data["y0"].min()), float(data["y1"].max())),
    )
    cells = (
        alt.Chart(data, title=title)
        .mark_rect()
        .encode(
            x=alt.X("x0:Q", title="u₁(0)", scale=alt.Scale(domain=list(x_domain), nice=False)),
            x2="x1:Q",
            y=alt.Y("y0:Q", title="u₂(0)", scale=alt.Scale(domain=list(y_domain), nice=False)),
            y2="y1:Q",
            color=alt.Color(
                "shown_pct:Q",
                title="error %",
                scale=alt.Scale(scheme=ERROR_SCHEME, domain=[0, cap]),
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
        require_columns(markers, ("x", "y", "label"))
        layers.append(
            alt.Chart(markers)
            .mark_point(filled=True, size=80, stroke="black", strokeWidth=1.5)
            .encode(
                x="x:Q",
                y="y:Q",
                color=alt.value("white"),
                shape=alt.Shape("label:N", title=None, legend=alt.Legend(orient="bottom")),
                tooltip=[
                    "label",
                    alt.Tooltip("x:Q", format=".2f"),
                    alt.Tooltip("y:Q", format=".2f"),
                ],
            )
        )
    return _square(alt.layer(*layers), height)


# ----------------------------------------------------------------------------- solvers


# ----------------------------------------------------------------------------- scaling


# ----------------------------------------------------------------------------- regression flow


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

"""The recap's small chart: one builder for all six panels (pure: DataFrame -> alt.Chart)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from resode_ui import palette


def small_chart(
    frame: pd.DataFrame,
    x_title: str,
    y_title: str,
    *,
    log_x: bool = False,
    log_y: bool = False,
    height: int = 210,
) -> alt.Chart:
    """Lines with points: x, y per series, drawn in `order` (a path may turn back)."""
    domain, colors = palette.colors_for(frame["series"])
    scale = {True: alt.Scale(type="log"), False: alt.Scale(zero=False)}
    return (
        alt.Chart(frame, height=height)
        .mark_line(point=alt.OverlayMarkDef(size=18), strokeWidth=2.5)
        .encode(
            x=alt.X("x:Q", title=x_title, scale=scale[log_x]),
            y=alt.Y("y:Q", title=y_title, scale=scale[log_y]),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(domain=domain, range=colors),
                legend=alt.Legend(orient="top"),
            ),
            order="order:Q",
            tooltip=["series:N", "x:Q", "y:Q"],
        )
    )

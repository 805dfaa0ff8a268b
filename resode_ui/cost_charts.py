"""Chart builders for what a gradient costs: pandas DataFrames in, altair charts out.

Pure functions with no Streamlit, as in `ode_charts`: tests can build each chart from plain
data and inspect what it would draw. Columns are named in each docstring.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from resode_ui import palette

SCALE = "difference = rtol (for scale)"


def tolerance_chart(
    df: pd.DataFrame, *, chosen: float | None = None, colors: tuple = (), height: int = 420
) -> alt.LayerChart:
    """Relative differences against the tolerance on log-log axes, loosest on the right.

    df: columns rtol, quantity, difference (one line per quantity, in `colors`' (label,
    colour) pairs or the palette's). A dashed grey line marks difference = rtol for scale
    (the palette's identity grey: it is the line y = x); one legend names every line and its
    dash. `chosen` marks one rtol with a labelled dotted rule.
    """
    missing = [c for c in ("rtol", "quantity", "difference") if c not in df.columns]
    if missing:
        raise ValueError(f"The chart needs columns {missing}.")
    values = pd.to_numeric(df["difference"], errors="coerce")
    data = df[np.isfinite(values) & (values > 0)]
    rtols = sorted(set(df["rtol"]))
    scale = pd.DataFrame({"rtol": rtols, "difference": rtols, "quantity": SCALE})
    named = dict(colors or ())
    quantities, defaults = palette.colors_for(list(dict.fromkeys(df["quantity"])))
    domain = [*quantities, SCALE]
    range_ = [named.get(q, c) for q, c in zip(quantities, defaults, strict=True)]
    range_.append(palette.IDENTITY)
    legend = alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=3)
    x = alt.X("rtol:Q", title="rtol (atol = rtol / 100), looser →", scale=alt.Scale(type="log"))
    y = alt.Y("difference:Q", title="relative difference", scale=alt.Scale(type="log"))
    color = alt.Color(
        "quantity:N", title=None, scale=alt.Scale(domain=domain, range=range_), legend=legend
    )
    dash = alt.StrokeDash(
        "quantity:N",
        title=None,
        scale=alt.Scale(domain=domain, range=[[1, 0]] * len(quantities) + [[5, 4]]),
        legend=legend,
    )
    tooltip = [
        "quantity",
        alt.Tooltip("rtol:Q", format=".0e"),
        alt.Tooltip("difference:Q", format=".2e"),
    ]
    reference = (
        alt.Chart(scale)
        .mark_line(strokeWidth=1.5)
        .encode(x=x, y=y, color=color, strokeDash=dash, tooltip=["quantity"])
    )
    lines = (
        alt.Chart(data)
        .mark_line(strokeWidth=2.5)
        .encode(x=x, y=y, color=color, strokeDash=dash, tooltip=tooltip)
    )
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=50, opacity=1)
        .encode(x=x, y=y, color=color, tooltip=tooltip)
    )
    layers = [reference, lines, points]
    if chosen is not None:
        marked = pd.DataFrame({"rtol": [float(chosen)], "label": [f"chosen rtol = {chosen:.0e}"]})
        rule = alt.Chart(marked).encode(x=x)
        layers.append(
            rule.mark_rule(color=palette.TRUE, strokeDash=[2, 2]).encode(tooltip=["label"])
        )
        layers.append(
            rule.mark_text(align="left", baseline="top", dx=4, dy=4, color=palette.TRUE).encode(
                y=alt.value(0), text="label:N"
            )
        )
    return alt.layer(*layers).properties(height=height)

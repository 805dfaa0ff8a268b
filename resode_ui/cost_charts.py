"""Chart builders for what a gradient costs: pandas DataFrames in, altair charts out.

Pure functions with no Streamlit, as in `node_charts`: tests can build each chart from plain
data and inspect what it would draw. Columns are named in each docstring.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd


def tolerance_chart(
    df: pd.DataFrame, *, chosen: float | None = None, height: int = 300
) -> alt.LayerChart:
    """Relative differences against the tolerance on log-log axes, loosest on the right.

    df: columns rtol, quantity, difference (one line per quantity). A dashed grey line marks
    difference = rtol for scale; `chosen` marks one rtol with a vertical rule.
    """
    missing = [c for c in ("rtol", "quantity", "difference") if c not in df.columns]
    if missing:
        raise ValueError(f"The chart needs columns {missing}.")
    values = pd.to_numeric(df["difference"], errors="coerce")
    data = df[np.isfinite(values) & (values > 0)]
    x = alt.X("rtol:Q", title="rtol (atol = rtol / 100), looser →", scale=alt.Scale(type="log"))
    y = alt.Y("difference:Q", title="relative difference", scale=alt.Scale(type="log"))
    lines = (
        alt.Chart(data)
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=x,
            y=y,
            color=alt.Color("quantity:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[
                "quantity",
                alt.Tooltip("rtol:Q", format=".0e"),
                alt.Tooltip("difference:Q", format=".2e"),
            ],
        )
    )
    rtols = sorted(set(df["rtol"]))
    scale = pd.DataFrame({"rtol": rtols, "difference": rtols, "label": "difference = rtol"})
    reference = (
        alt.Chart(scale)
        .mark_line(color="gray", strokeDash=[4, 4], strokeWidth=1)
        .encode(x=x, y=y, tooltip=["label"])
    )
    layers = [reference, lines]
    if chosen is not None:
        marked = pd.DataFrame({"rtol": [float(chosen)], "label": [f"chosen rtol = {chosen:.0e}"]})
        layers.append(
            alt.Chart(marked)
            .mark_rule(color="black", strokeDash=[2, 2])
            .encode(x=x, tooltip=["label"])
        )
    return alt.layer(*layers).properties(height=height)

"""Downloads: tables as CSV, charts as PNG/SVG (or Vega-Lite JSON/HTML), all as bytes.

Pure functions with no Streamlit, so tests can check every file a page offers. PNG and
SVG need the `vl-convert-python` package (altair's renderer); without it
`chart_image` raises `ExportUnavailable` and pages offer the chart's Vega-Lite JSON and
a self-contained HTML file instead (`chart_spec`). A trained model's parameters are
written by the core (`resode_core.vector_field_to_bytes`).
"""

from __future__ import annotations

import importlib.util
import io
import json
import re

import altair as alt
import numpy as np
import pandas as pd

IMAGE_FORMATS = ("png", "svg")
SPEC_FORMATS = ("json", "html")
MIME = {
    "csv": "text/csv",
    "png": "image/png",
    "svg": "image/svg+xml",
    "json": "application/json",
    "html": "text/html",
    "bin": "application/octet-stream",
}


class ExportUnavailable(RuntimeError):
    """The renderer for PNG/SVG is not installed."""


def images_available() -> bool:
    """True when altair can render PNG/SVG here (vl-convert-python is installed)."""
    return importlib.util.find_spec("vl_convert") is not None


def table_csv(frame: pd.DataFrame) -> bytes:
    """A table as UTF-8 CSV with a header line, no index, full float precision."""
    return frame.to_csv(index=False, float_format="%.9g").encode("utf-8")


def history_frame(losses, grad_norms=None, *, series: str | None = None) -> pd.DataFrame:
    """A training history as a table: epoch (from 1), loss, grad_norm, [series]."""
    losses = np.asarray(losses, dtype=np.float64)
    frame = pd.DataFrame({"epoch": np.arange(1, losses.size + 1), "loss": losses})
    if grad_norms is not None:
        norms = np.asarray(grad_norms, dtype=np.float64)
        if norms.shape != losses.shape:
            raise ValueError("losses and grad_norms must have the same length.")
        frame["grad_norm"] = norms
    if series is not None:
        frame["series"] = series
    return frame


def chart_image(chart: alt.TopLevelMixin, fmt: str, *, scale: float = 2.0) -> bytes:
    """The chart rendered as PNG or SVG bytes (needs vl-convert-python)."""
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"Image format must be one of {IMAGE_FORMATS}, got {fmt!r}.")
    if not images_available():
        raise ExportUnavailable(
            "PNG/SVG export needs the vl-convert-python package, which is not installed; "
            "download the chart's Vega-Lite JSON or HTML instead."
        )
    if fmt == "png":
        buffer = io.BytesIO()
        chart.save(buffer, format="png", scale_factor=scale)
        return buffer.getvalue()
    text = io.StringIO()
    chart.save(text, format="svg")
    return text.getvalue().encode("utf-8")


def chart_spec(chart: alt.TopLevelMixin, fmt: str) -> bytes:
    """The chart's Vega-Lite specification (data included) as JSON, or as standalone HTML."""
    if fmt == "json":
        return json.dumps(chart.to_dict(), indent=1).encode("utf-8")
    if fmt == "html":
        return chart.to_html().encode("utf-8")
    raise ValueError(f"Specification format must be one of {SPEC_FORMATS}, got {fmt!r}.")


def file_stem(text: str, *, fallback: str = "resode") -> str:
    """A safe file name stem from user text (letters, digits, '-', '_'; at most 40)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-_")[:40]
    return stem or fallback

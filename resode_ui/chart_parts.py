"""What every chart module needs: column checks, drawable rows, and axis domains that hold
still while a slider moves (pure functions; no Streamlit, no altair)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd


def require_columns(df: pd.DataFrame, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"The chart needs columns {missing}.")


def positive_rows(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows a log scale can draw (finite and > 0)."""
    values = pd.to_numeric(df[column], errors="coerce")
    return df[np.isfinite(values) & (values > 0)]


def can_draw(df: pd.DataFrame | None, column: str, *, log: bool = False) -> bool:
    """Whether a chart of `column` has anything to draw (finite values; > 0 on a log axis).
    A page shows a sentence instead of a chart that cannot."""
    if df is None or column not in df.columns or df.empty:
        return False
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64)
    return bool(np.any(np.isfinite(values) & ((values > 0) if log else True)))


def log_domain(values) -> list[float] | None:
    """A log axis's domain in whole decades around the positive finite values, at least one
    decade wide (None: nothing positive): it moves only when a value crosses a power of ten."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return None
    low, high = math.floor(math.log10(v.min())), math.ceil(math.log10(v.max()))
    return [float(10.0**low), float(10.0 ** max(high, low + 1))]


def padded_domain(values, pad: float = 0.08) -> tuple[float, float] | None:
    """[min, max] of the finite values, widened by `pad` of their range on each side."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    low, high = float(v.min()), float(v.max())
    margin = pad * (high - low) if high > low else max(abs(high), 1.0) * pad
    return low - margin, high + margin


def covering(base: tuple[float, float], values, pad: float = 0.05) -> tuple[float, float]:
    """`base`, widened only where the values (padded) reach beyond it: an axis that stays
    put while a slider moves, unless something would leave it."""
    seen = padded_domain(values, pad)
    if seen is None:
        return tuple(base)
    return min(base[0], seen[0]), max(base[1], seen[1])


def square_domains(x_domain, y_domain) -> tuple[tuple[float, float], tuple[float, float]]:
    """The two domains widened about their centres to the same span: on a square plot, the
    same units per pixel on both axes (a circle looks like a circle)."""
    span = max(x_domain[1] - x_domain[0], y_domain[1] - y_domain[0])
    centres = ((x_domain[0] + x_domain[1]) / 2, (y_domain[0] + y_domain[1]) / 2)
    return tuple((c - span / 2, c + span / 2) for c in centres)

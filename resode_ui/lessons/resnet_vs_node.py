"""ResNet vs neural ODE: what depth costs in parameters, memory and time, and how gradients agree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

import resode_core as rc

DEPTH_CHOICES = (4, 8, 16, 32, 64, 128, 256, 512, 1024)
WIDTHS = (8, 16, 32)
RTOLS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
BATCH = 64
# The three gradients measured at every depth (rc.depth_cost's methods): chart label, long label.
METHODS = {
    "resnet": ("ResNet", "ResNet (backprop)"),
    "node_backprop": ("neural ODE: backprop", "neural ODE, backprop through the solver"),
    "node_backsolve": ("neural ODE: adjoint", "neural ODE, adjoint (BacksolveAdjoint)"),
}


@dataclass(frozen=True)
class ResnetVsNodeSettings:
    """The page's settings: its widgets (keys `rn_<field>`)."""

    depths: tuple[int, ...] = (8, 64, 512)
    width: int = 16
    rtol: float = 1e-5


PRESETS = {
    "Default settings": ResnetVsNodeSettings(),
    "Deep: L = 16, 128 and 1024 layers / Euler steps": ResnetVsNodeSettings(depths=(16, 128, 1024)),
    "A loose tolerance (rtol 1e-2): the adjoint's gradient drifts from backprop's": (
        ResnetVsNodeSettings(rtol=1e-2)
    ),
    "A tight tolerance (rtol 1e-7): adjoint and backprop agree closely": ResnetVsNodeSettings(
        rtol=1e-7
    ),
    "A wider state (w = 32): parameters grow like w²": ResnetVsNodeSettings(width=32),
}


@st.cache_data(show_spinner=False, max_entries=256)
def measure(method: str, depth: int, width: int) -> dict:
    """One compile of the gradient at this depth: its memory analysis, time and gradient."""
    return rc.depth_cost(method, depth, width=width, batch=BATCH)


@dataclass(frozen=True)
class DepthCosts:
    table: pd.DataFrame  # L, model, parameters, memory, time: one row per gradient, as shown
    agreement: pd.DataFrame  # L, model, difference: ‖g_adjoint − g_backprop‖ / ‖g_backprop‖


def depth_costs(
    depths: tuple[int, ...], width: int, on_progress: Callable[[float, str], None] | None = None
) -> DepthCosts:
    """Every method at every depth (each gradient cached on its own); reports progress."""
    depths = sorted({int(d) for d in depths})
    if len(depths) < 2:
        raise ValueError("Pick at least two depths to see how the cost grows.")
    rows, gradients = [], {}
    jobs = [(method, depth) for depth in depths for method in METHODS]
    for i, (method, depth) in enumerate(jobs):
        if on_progress is not None:
            on_progress(i / len(jobs), f"L = {depth}: {METHODS[method][1]}")
        result = measure(method, depth, int(width))
        gradients[method, depth] = result["gradient"]
        rows.append(
            {
                "L": depth,
                "model": METHODS[method][0],
                "parameters": result["params"],
                "memory (KiB)": result["total_bytes"] / 1024,
                "of which temporary (KiB)": result["temp_bytes"] / 1024,
                "time (ms)": 1e3 * result["seconds"],
            }
        )
    differences = [
        np.linalg.norm(gradients["node_backsolve", d] - gradients["node_backprop", d])
        / np.linalg.norm(gradients["node_backprop", d])
        for d in depths
    ]
    agreement = {"L": depths, "model": "adjoint vs backprop (Euler)", "difference": differences}
    return DepthCosts(pd.DataFrame(rows), pd.DataFrame(agreement))


@st.cache_data(show_spinner=False, max_entries=32)
def adaptive_adjoint(rtol: float, width: int) -> dict:
    """Backprop through Tsit5 against the adjoint: relative difference, steps, times."""
    result = rc.adjoint_comparison(rtol, width=width, batch=BATCH)
    for name in ("backprop", "backsolve"):
        result[name].pop("gradient")
    return result


def warm_up() -> None:
    """The defaults, and widths 8 and 32 (the width slider compiles one gradient per depth)."""
    defaults = ResnetVsNodeSettings()
    for width in (defaults.width, 8, 32):
        depth_costs(defaults.depths, width)
        adaptive_adjoint(defaults.rtol, width)

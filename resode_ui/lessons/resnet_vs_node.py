"""ResNet vs neural ODE: what depth costs in parameters, memory and time, and how gradients agree."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

import resode_core as rc
from resode_ui import chart_parts as cp, palette, training

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


DEEP, LOOSE, TIGHT, WIDE = (
    "Deep: L = 16, 128 and 1024 layers / Euler steps",
    "A loose tolerance (rtol 1e-2): the adjoint's gradient drifts from backprop's",
    "A tight tolerance (rtol 1e-7): adjoint and backprop agree closely",
    "A wider state (w = 32): parameters grow like w²",
)
PRESETS = {
    "Default settings": ResnetVsNodeSettings(),
    DEEP: ResnetVsNodeSettings(depths=(16, 128, 1024)),
    LOOSE: ResnetVsNodeSettings(rtol=1e-2),
    TIGHT: ResnetVsNodeSettings(rtol=1e-7),
    WIDE: ResnetVsNodeSettings(width=32),
}
SHOULD_SEE = {
    "Default settings": "The memory chart: both backprop lines rise with L while the "
    "adjoint's stays flat. From L = 64 to L = 512, backprop through the neural ODE adds 4 KiB "
    "(within 10 %) per extra step: one stored state of 64 × 16 float32 numbers.",
    DEEP: "The same lines out to L = 1024: backprop through the neural ODE needs more than ten "
    "times the memory at L = 1024 that it needs at L = 16, the adjoint the same at every "
    "depth; in the agreement chart the difference falls like 1/L (fitted slope within 0.1 "
    "of −1).",
    LOOSE: "The tolerance chart at its loosest point, the marked rtol = 10⁻²: the adjoint's "
    "gradient differs from backprop's by more than 10⁻³, and x(0) recomputed backwards from "
    "x(T) misses the true x(0) by more than 10⁻⁴.",
    TIGHT: "At the marked rtol = 10⁻⁷ the adjoint's and backprop's gradients agree to better "
    "than 10⁻⁶, more than a thousand times closer than at rtol = 10⁻².",
    WIDE: "The parameter chart: at w = 32 each ResNet layer has w² + w = 1056 parameters, 3.9 "
    "times the 272 at w = 16, and the neural ODE's field has 2(w² + w) = 2112 at every depth.",
}

# The prediction question: how the memory of the two neural-ODE gradients scales with L.
BACKPROP, ADJOINT = "neural ODE: backprop", "neural ODE: adjoint"
BOTH, BACKPROP_ONLY, ADJOINT_ONLY, NEITHER = (
    "Both grow",
    "Backprop's grows, the adjoint's stays the same",
    "The adjoint's grows, backprop's stays the same",
    "Neither changes",
)
MEMORY_OPTIONS = (BOTH, BACKPROP_ONLY, ADJOINT_ONLY, NEITHER)
SWEEP_RTOLS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)  # the tolerance chart's
# The tolerance section's state width, whatever the width slider says: following the slider
# cost every new width three more compiles (two adaptive gradients and the round trip).
TOLERANCE_WIDTH = ResnetVsNodeSettings().width


# Each line's colour, from the palette: the ResNet blue, the neural ODE orange (its
# parameters, and its gradient by backprop), the adjoint teal.
COLORS = (
    ("ResNet", palette.RESNET),
    ("neural ODE", palette.LEARNED),
    (BACKPROP, palette.LEARNED),
    (ADJOINT, palette.ADJOINT),
    ("adjoint vs backprop (Euler)", palette.ADJOINT),
)


def parameters_axis(depths) -> list[float]:
    """The parameter chart's log axis for every width of the slider at these depths (the
    counts are known: L(w² + w) for the ResNet, 2(w² + w) for the field), so that it stays
    put while the width moves."""
    per_layer = [w * w + w for w in WIDTHS]
    return cp.log_domain(
        [2 * min(per_layer), min(depths) * min(per_layer), max(depths) * max(per_layer)]
    )


def memory_axis(table: pd.DataFrame, width: int) -> list[float] | None:
    """The memory chart's log axis, wide enough for every width of the slider: memory is
    a sum of terms in 1, w and w² (weights grow like w², states like w), so at width w' it
    lies between (w'/w)² times the value at w and that value (w' < w), or between the value
    and (w'/w)² times it (w' > w). The axis then stays put while the width moves."""
    memory = table["memory (KiB)"].to_numpy(dtype=float)
    low = memory.min() * (min(WIDTHS) / width) ** 2
    high = memory.max() * (max(WIDTHS) / width) ** 2
    return cp.log_domain([low, high])


def _memory(table: pd.DataFrame, model: str) -> pd.Series:
    return table[table["model"] == model].set_index("L")["memory (KiB)"].sort_index()


def memory_per_step(table: pd.DataFrame, model: str = BACKPROP) -> float:
    """KiB added per extra step between the two largest depths on screen."""
    memory = _memory(table, model)
    (l1, m1), (l2, m2) = memory.iloc[-2:].items()
    return float((m2 - m1) / (l2 - l1))


def memory_answer(table: pd.DataFrame) -> tuple[str, str]:
    """(the option the memory table supports, the sentence stating it): a memory 'grows'
    when it is more than 1 % larger at the largest depth than at the smallest."""
    backprop, adjoint = _memory(table, BACKPROP), _memory(table, ADJOINT)
    grows = [m.iloc[-1] > 1.01 * m.iloc[0] for m in (backprop, adjoint)]
    truth = {(True, True): BOTH, (True, False): BACKPROP_ONLY, (False, True): ADJOINT_ONLY}
    observed = (
        f"From L = {backprop.index[0]} to L = {backprop.index[-1]}, backprop through the "
        f"neural ODE went from {backprop.iloc[0]:,.0f} to {backprop.iloc[-1]:,.0f} KiB and the "
        f"adjoint from {adjoint.iloc[0]:,.0f} to {adjoint.iloc[-1]:,.0f} KiB."
    )
    if grows[0]:
        observed += f" Each extra step added {memory_per_step(table):.1f} KiB to backprop's."
    return truth.get(tuple(grows), NEITHER), observed


def agreement_slope(agreement: pd.DataFrame) -> float:
    """The fitted slope of log(difference) against log(L)."""
    return float(np.polyfit(np.log(agreement["L"]), np.log(agreement["difference"]), 1)[0])


def time_growth(table: pd.DataFrame) -> str:
    """How much each measured time grew from the smallest depth to the largest."""
    times = table.pivot(index="L", columns="model", values="time (ms)").sort_index()
    first, last = times.index[0], times.index[-1]
    grew = ", ".join(
        f"{model} {times.loc[last, model] / times.loc[first, model]:.1f}×"
        for model in (label for label, _ in METHODS.values())
    )
    return (
        f"From L = {first} to L = {last} ({last // first} times the steps) the times grew: {grew}."
    )


# A call that has taken longer than this draws its table after each further gradient; a
# rerun whose gradients are all cached finishes sooner and draws no partial chart.
SHOW_PARTIAL_AFTER_S = 0.3
# Whether this thread's last `measure` computed its gradient (not found cached): see depth_costs.
_MEASURED = threading.local()


@st.cache_data(show_spinner=False, max_entries=256)
def measure(method: str, depth: int, width: int) -> dict:
    """One compile of the gradient at this depth: its memory analysis, time and gradient."""
    _MEASURED.now = True
    return rc.depth_cost(method, depth, width=width, batch=BATCH)


@dataclass(frozen=True)
class DepthCosts:
    table: pd.DataFrame  # L, model, parameters, memory, time: one row per gradient, as shown
    agreement: pd.DataFrame  # L, model, difference: ‖g_adjoint − g_backprop‖ / ‖g_backprop‖


def depth_costs(
    depths: tuple[int, ...],
    width: int,
    on_table: Callable[[pd.DataFrame], None] | None = None,
    on_progress: Callable[[float, str], None] | None = None,
) -> DepthCosts:
    """Every method at every depth (each gradient cached on its own). Reports progress and,
    once the gradients take time to come (compiled now, or by the warm-up), the table after
    each one (`on_table`: the page draws the points as they come, seconds before the last)."""
    depths = sorted({int(d) for d in depths})
    if len(depths) < 2:
        raise ValueError("Pick at least two depths to see how the cost grows.")
    rows, gradients, started = [], {}, time.perf_counter()
    jobs = [(method, depth) for depth in depths for method in METHODS]
    for i, (method, depth) in enumerate(jobs):
        if on_progress is not None:
            on_progress(i / len(jobs), f"L = {depth}: {METHODS[method][1]}")
        _MEASURED.now = False
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
        if _MEASURED.now:
            # The gradient was compiled to be measured once; its result is cached, its
            # program (about 11 MB) is never called again: hand the memory back at once,
            # not after all nine (measured on a new width: the peak 159 -> 114 MB above the
            # start). Other pages' programs come back from the disk caches when next used.
            rc.clear_programs()
        slow = time.perf_counter() - started > SHOW_PARTIAL_AFTER_S
        if on_table is not None and slow and i + 1 < len(jobs):
            on_table(pd.DataFrame(rows))
    differences = [
        np.linalg.norm(gradients["node_backsolve", d] - gradients["node_backprop", d])
        / np.linalg.norm(gradients["node_backprop", d])
        for d in depths
    ]
    agreement = {"L": depths, "model": "adjoint vs backprop (Euler)", "difference": differences}
    return DepthCosts(pd.DataFrame(rows), pd.DataFrame(agreement))


@st.cache_data(show_spinner=False, max_entries=32)
def adaptive_adjoint(rtol: float, width: int) -> dict:
    """Backprop through Tsit5 against the adjoint: relative difference, the round trip's
    drift, steps, times."""
    result = rc.adjoint_comparison(rtol, width=width, batch=BATCH)
    for name in ("backprop", "backsolve"):
        result[name].pop("gradient")
    return result


GRADIENT, DRIFT = (
    "adjoint's gradient vs backprop's",
    "x(0) solved to T and back",
)
# The tolerance chart's colours: the adjoint's gradient in the adjoint's teal; the round
# trip's miss has no entry in the palette's table and takes its first spare colour (pink).
TOLERANCE_COLORS = ((GRADIENT, palette.ADJOINT), (DRIFT, "#e377c2"))


def tolerance_sweep(width: int) -> pd.DataFrame:
    """At every rtol of SWEEP_RTOLS (each comparison cached on its own): rtol, quantity
    (GRADIENT or DRIFT), relative difference, forward steps."""
    rows = []
    for rtol in SWEEP_RTOLS:
        result = adaptive_adjoint(float(rtol), int(width))
        steps = result["backprop"]["steps"]
        for quantity, value in ((GRADIENT, "relative_difference"), (DRIFT, "backward_drift")):
            rows.append(
                {"rtol": rtol, "quantity": quantity, "difference": result[value], "steps": steps}
            )
    return pd.DataFrame(rows)


def sweep_sentence(sweep: pd.DataFrame) -> str:
    """The tolerance chart in words: the two ends, and the gradient difference against rtol."""
    gradient = sweep[sweep["quantity"] == GRADIENT].set_index("rtol")["difference"]
    drift = sweep[sweep["quantity"] == DRIFT].set_index("rtol")["difference"]
    loose, tight = max(SWEEP_RTOLS), min(SWEEP_RTOLS)
    ratio = (gradient / gradient.index.to_series())[gradient.index >= 1e-6]
    return (
        f"At rtol = {loose:.0e} the gradients differ by {gradient[loose]:.1e} and the round "
        f"trip misses x(0) by {drift[loose]:.1e}; at rtol = {tight:.0e}, by {gradient[tight]:.1e} "
        f"and {drift[tight]:.1e}. From rtol = 1e-06 to {loose:.0e} the gradient difference is "
        f"{ratio.min():.2f} to {ratio.max():.2f} times rtol."
    )


def warm_up() -> None:
    """The defaults."""
    defaults = ResnetVsNodeSettings()
    depth_costs(defaults.depths, defaults.width, on_progress=training.pause_point)
    tolerance_sweep(TOLERANCE_WIDTH)  # every rtol of the slider among them


def warm_up_more() -> None:
    """One move away: widths 8 and 32 (the width slider compiles one gradient per depth)."""
    for width in (8, 32):
        depth_costs(ResnetVsNodeSettings().depths, width, on_progress=training.pause_point)

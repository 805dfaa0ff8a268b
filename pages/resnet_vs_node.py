"""ResNet vs neural ODE: what depth costs in parameters, memory and time, and how gradients agree."""

from resode_ui.frame import error_box, page_frame

page_frame()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

import resode_core as rc  # noqa: E402
from resode_ui import node_charts as nc, url_state as us  # noqa: E402
from resode_ui.chart_cache import show_chart  # noqa: E402

DEPTH_CHOICES = (4, 8, 16, 32, 64, 128, 256, 512, 1024)
WIDTHS = (8, 16, 32)
RTOLS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
BATCH = 64
SHORT = {
    "resnet": "ResNet",
    "node_backprop": "neural ODE: backprop",
    "node_backsolve": "neural ODE: adjoint",
}
# The page's settings as they appear in its address (see resode_ui/url_state.py).
STATE = us.PageState(
    "rn",
    [
        us.Multi("rn_depths", (8, 64, 512), DEPTH_CHOICES),
        us.Choice("rn_width", 16, WIDTHS),
        us.Choice("rn_rtol", 1e-5, RTOLS),
    ],
    presets=[
        us.Preset(
            "deep",
            "Deep: L = 16, 128 and 1024 layers / Euler steps",
            {"rn_depths": [16, 128, 1024]},
        ),
        us.Preset(
            "loose-adjoint",
            "A loose tolerance (rtol 1e-2): the adjoint's gradient drifts from backprop's",
            {"rn_rtol": 1e-2},
        ),
        us.Preset(
            "tight-adjoint",
            "A tight tolerance (rtol 1e-7): adjoint and backprop agree closely",
            {"rn_rtol": 1e-7},
        ),
        us.Preset("wide", "A wider state (w = 32): parameters grow like w²", {"rn_width": 32}),
    ],
)


@st.cache_data(show_spinner=False, max_entries=256)
def measure(method: str, depth: int, width: int) -> dict:
    """One compile of the gradient at this depth: its memory analysis, time and gradient."""
    return rc.depth_cost(method, depth, width=width, batch=BATCH)


@st.cache_data(show_spinner=False, max_entries=32)
def compare_adjoints(rtol: float, width: int) -> dict:
    result = rc.adjoint_comparison(rtol, width=width, batch=BATCH)
    for name in ("backprop", "backsolve"):
        result[name].pop("gradient")
    return result


st.title("ResNet vs neural ODE: what depth costs")
STATE.sync()
st.markdown(
    r"""
Read a ResNet of depth $L$ as $L$ forward-Euler steps of $\dot x = V(x, t;\theta)$ with
$\Delta t = T/L$. The notes compare the two on cost:

* **Compute** is $\mathcal O(L)$ for both: one forward and one backward pass through $L$ steps.
* **Parameters**: the ResNet stores a weight matrix per layer, $L(w^2 + w)$ numbers; the
  neural ODE stores one field $V$ however many steps it takes.
* **Memory for training**: backpropagation keeps every intermediate state, so it also grows
  like $L$. The **adjoint method** (Chen et al., 2018) instead solves a second ODE backwards
  in time for the gradient, recomputing the states as it goes: memory independent of $L$,
  paid for with extra computation and a gradient that is only as exact as that backward solve.

Here both models use the same smooth field $V(x, t) = \tanh(W(t)x + b(t))$ with
$W(t) = W_0 + tW_1$; the ResNet's layer $\ell$ is that field frozen at $t_\ell = \ell T/L$,
so both compute the same function. Memory is what XLA reports for the compiled gradient
(arguments + outputs + temporary buffers) for a batch of 64 inputs.
"""
)

STATE.controls()
c1, c2 = st.columns([3, 1])
depths = STATE.widget(
    c1.multiselect, "Depths L (number of layers / Euler steps)", DEPTH_CHOICES, key="rn_depths"
)
width = STATE.widget(c2.select_slider, "State width w", WIDTHS, key="rn_width")
STATE.share_note(
    note="Parameter counts, memory and gradient differences are the same from a link; "
    "times are measured on the server each time and vary."
)
depths = sorted(int(d) for d in depths)
if len(depths) < 2:
    error_box("Pick at least two depths to see how the cost grows.")
    st.stop()

rows = []
gradients = {}
bar = st.progress(0.0, text="Compiling one gradient per depth and model …")
jobs = [(m, d) for d in depths for m in rc.DEPTH_METHODS]
try:
    for i, (method, depth) in enumerate(jobs):
        bar.progress(i / len(jobs), text=f"L = {depth}: {rc.DEPTH_METHOD_LABELS[method]}")
        result = measure(method, depth, int(width))
        gradients[(method, depth)] = result["gradient"]
        rows.append(
            {
                "L": depth,
                "model": SHORT[method],
                "params": result["params"],
                "memory_kib": result["total_bytes"] / 1024,
                "temp_kib": result["temp_bytes"] / 1024,
                "time_ms": 1e3 * result["seconds"],
            }
        )
except ValueError as problem:
    error_box(str(problem))
    st.stop()
bar.empty()
table = pd.DataFrame(rows)
st.session_state["rn_table"] = table

st.subheader("Parameters and memory against depth")
params_frame = table[table["model"] != SHORT["node_backsolve"]].replace(
    {SHORT["node_backprop"]: "neural ODE"}
)
# Charts are converted once per measured table (resode_ui/chart_cache.py): the key is the
# table itself (at most 27 rows), so a re-measured time never shows an old chart.
table_key = tuple(map(tuple, table.itertuples(index=False)))
left, right = st.columns(2)
with left:
    show_chart(
        st,
        ("resnet_vs_node", "params", table_key),
        lambda: nc.scaling_chart(params_frame, y="params", y_title="trainable parameters"),
        width="stretch",
    )
    st.caption("The ResNet's parameters grow like L; the neural ODE's field stays the same size.")
with right:
    show_chart(
        st,
        ("resnet_vs_node", "memory", table_key),
        lambda: nc.scaling_chart(table, y="memory_kib", y_title="memory of the gradient (KiB)"),
        width="stretch",
    )
    st.caption(
        "Backprop stores every step: memory grows with L for the ResNet and for the neural ODE "
        "alike. The adjoint recomputes instead and stays flat."
    )

left, right = st.columns(2)
with left:
    show_chart(
        st,
        ("resnet_vs_node", "time", table_key),
        lambda: nc.scaling_chart(table, y="time_ms", y_title="time of one gradient (ms)"),
        width="stretch",
    )
    st.caption(
        "All three grow like L for large L (for small L the fixed cost of a call dominates). "
        "The adjoint does more arithmetic (it re-solves the states backwards alongside the "
        "gradient) but touches less memory; on a small CPU problem the measured times are noisy."
    )
with right:
    agreement = []
    for depth in depths:
        g_bp, g_bs = gradients[("node_backprop", depth)], gradients[("node_backsolve", depth)]
        agreement.append(
            {
                "L": depth,
                "model": "adjoint vs backprop (Euler)",
                "difference": float(np.linalg.norm(g_bs - g_bp) / np.linalg.norm(g_bp)),
            }
        )
    agreement = pd.DataFrame(agreement)
    st.session_state["rn_agreement"] = agreement
    show_chart(
        st,
        ("resnet_vs_node", "agreement", tuple(map(tuple, agreement.itertuples(index=False)))),
        lambda: nc.scaling_chart(agreement, y="difference", y_title="relative gradient difference"),
        width="stretch",
    )
    st.caption(
        "Backprop differentiates the Euler steps exactly; the adjoint discretises the exact "
        "gradient's ODE with Euler too. The two differ by O(Δt): the line falls like 1/L."
    )

shown = table.rename(
    columns={
        "params": "parameters",
        "memory_kib": "memory (KiB)",
        "temp_kib": "of which temporary (KiB)",
        "time_ms": "time (ms)",
    }
)
st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    column_config={
        "memory (KiB)": st.column_config.NumberColumn(format="%.1f"),
        "of which temporary (KiB)": st.column_config.NumberColumn(format="%.1f"),
        "time (ms)": st.column_config.NumberColumn(format="%.2f"),
    },
)

st.subheader("Adaptive steps: backprop through Tsit5 vs the adjoint")
st.markdown(
    r"""
With an adaptive solver the number of steps is chosen at run time, so "depth" is whatever the
error control needs. Both gradients below are of the same loss; the adjoint's backward solve
uses the same tolerances, so the two agree to about the tolerance.
"""
)
rtol = STATE.widget(
    st.select_slider,
    "rtol (atol = rtol / 100)",
    RTOLS,
    key="rn_rtol",
    format_func=lambda v: f"{v:.0e}",
)
with st.spinner("Computing both gradients …"):
    try:
        comparison = compare_adjoints(float(rtol), int(width))
    except ValueError as problem:
        error_box(str(problem))
        st.stop()
st.session_state["rn_adjoint"] = comparison
m1, m2, m3, m4 = st.columns(4)
m1.metric("Relative gradient difference", f"{comparison['relative_difference']:.1e}")
m2.metric("Forward steps taken", f"{comparison['backprop']['steps']}")
m3.metric("Backprop time", f"{1e3 * comparison['backprop']['seconds']:.2f} ms")
m4.metric("Adjoint time", f"{1e3 * comparison['backsolve']['seconds']:.2f} ms")
st.caption(
    "Times are medians of three runs on this server and include the forward solve. The adjoint "
    "is slower here, but its memory does not grow with the number of steps: for long "
    "trajectories or big states that is what makes training fit at all."
)

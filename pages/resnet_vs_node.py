"""ResNet vs neural ODE: what depth costs in parameters, memory and time, and how gradients agree."""

import streamlit as st

from resode_ui import node_charts as nc, widgets as ui
from resode_ui.lessons import resnet_vs_node as rn

D = rn.ResnetVsNodeSettings()  # the defaults

st.title("ResNet vs neural ODE: what depth costs")
st.markdown(
    r"""
Read a ResNet of depth $L$ as $L$ forward-Euler steps of $\dot x = V(x, t;\theta)$ with
$\Delta t = T/L$. The notes compare the two on compute and on the memory for the weights;
the third row, memory for training and the adjoint method, is from Chen et al. (2018):

* **Compute** is $\mathcal O(L)$ for both: one forward and one backward pass through $L$ steps.
* **Parameters**: the ResNet stores a weight matrix per layer, $L(w^2 + w)$ numbers; the
  neural ODE stores one field $V$ however many steps it takes.
* **Memory for training**: backpropagation keeps every intermediate state, so it also grows
  like $L$. The **adjoint method** (Chen et al., 2018) instead solves a second ODE backwards
  in time for the gradient, recomputing the states as it goes: memory independent of $L$,
  paid for with extra computation and a gradient that is only as exact as that backward solve.

Here both models use the same smooth field $V(x, t) = \tanh(W(t)x + b(t))$ with
$W(t) = W_0 + tW_1$; the ResNet's layer $\ell$ is that field frozen at the start of its
step, $t_{\ell-1} = (\ell-1)T/L$ (as forward Euler samples it),
so both compute the same function. Memory is what XLA reports for the compiled gradient
(arguments + outputs + temporary buffers) for a batch of 64 inputs.
"""
)

with ui.controls():
    ui.preset_selector("rn", rn.PRESETS)
    c1, c2 = st.columns([3, 1])
    depths = c1.multiselect(
        "Depths L (number of layers / Euler steps)",
        rn.DEPTH_CHOICES,
        list(D.depths),
        key="rn_depths",
        **ui.BOUND,
    )
    width = c2.select_slider("State width w", rn.WIDTHS, D.width, key="rn_width", **ui.BOUND)
ui.share_link(
    "Parameter counts, memory and gradient differences are the same from a link; "
    "times are measured on the server each time and vary."
)

progress = "Compiling one gradient per depth and model …"
costs = ui.result_of(rn.depth_costs, tuple(depths), width, progress=progress)
table = costs.table

st.subheader("Parameters and memory against depth")
backprop, adjoint = (rn.METHODS[m][0] for m in ("node_backprop", "node_backsolve"))
params_frame = table[table["model"] != adjoint].replace({backprop: "neural ODE"})
left, right = st.columns(2)
ui.chart(nc.scaling_chart, params_frame, y="parameters", y_title="trainable parameters", where=left)
left.caption("The ResNet's parameters grow like L; the neural ODE's field stays the same size.")
ui.chart(
    nc.scaling_chart, table, y="memory (KiB)", y_title="memory of the gradient (KiB)", where=right
)
right.caption(
    "Backprop stores every step: memory grows with L for the ResNet and for the neural ODE "
    "alike. The adjoint recomputes instead and stays flat."
)

left, right = st.columns(2)
ui.chart(nc.scaling_chart, table, y="time (ms)", y_title="time of one gradient (ms)", where=left)
left.caption(
    "All three grow like L for large L (for small L the fixed cost of a call dominates). "
    "The adjoint does more arithmetic (it re-solves the states backwards alongside the "
    "gradient) but touches less memory; on a small CPU problem the measured times are noisy."
)
ui.chart(
    nc.scaling_chart,
    costs.agreement,
    y="difference",
    y_title="relative gradient difference",
    where=right,
)
right.caption(
    "Backprop differentiates the Euler steps exactly; the adjoint discretises the exact "
    "gradient's ODE with Euler too. The two differ by O(Δt): the line falls like 1/L."
)

kib, ms = (st.column_config.NumberColumn(format=f) for f in ("%.1f", "%.2f"))
formats = {"memory (KiB)": kib, "of which temporary (KiB)": kib, "time (ms)": ms}
st.dataframe(table, hide_index=True, width="stretch", column_config=formats)

st.subheader("Adaptive steps: backprop through Tsit5 vs the adjoint")
st.markdown(
    r"""
With an adaptive solver the number of steps is chosen at run time, so "depth" is whatever the
error control needs. Both gradients below are of the same loss; the adjoint's backward solve
uses the same tolerances, so the two agree to about the tolerance.
"""
)


@st.fragment
def adaptive_adjoint() -> None:
    """Its own section: moving the tolerance reruns only this part of the page."""
    rtol = st.select_slider(
        "rtol (atol = rtol / 100)",
        rn.RTOLS,
        D.rtol,
        key="rn_rtol",
        format_func=lambda v: f"{v:.0e}",
        **ui.BOUND,
    )
    with st.spinner("Computing both gradients …"):
        try:
            comparison = rn.adaptive_adjoint(float(rtol), width)
        except ValueError as error:
            ui.problem(str(error))
            return
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Relative gradient difference", f"{comparison['relative_difference']:.1e}")
    m2.metric("Forward steps taken", f"{comparison['backprop']['steps']}")
    m3.metric("Backprop time", f"{1e3 * comparison['backprop']['seconds']:.2f} ms")
    m4.metric("Adjoint time", f"{1e3 * comparison['backsolve']['seconds']:.2f} ms")
    st.caption(
        "Times are medians of three runs on this server and include the forward solve. The "
        "adjoint is slower here, but its memory does not grow with the number of steps: for "
        "long trajectories or big states that is what makes training fit at all."
    )


adaptive_adjoint()

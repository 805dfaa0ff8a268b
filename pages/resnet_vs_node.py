"""ResNet vs neural ODE: what depth costs in parameters, memory and time; the adjoint method."""

import streamlit as st

from resode_ui import cost_charts, ode_charts as oc, teach, widgets as ui
from resode_ui.lessons import resnet_vs_node as rn

D = rn.ResnetVsNodeSettings()  # the defaults

# ----------------------------------------------------------------------------- sidebar
with ui.controls(st.sidebar):
    ui.preset_selector("rn", rn.PRESETS)
teach.glossary(
    "neural ODE",
    "backpropagation through the solver",
    "adjoint",
    "tolerance",
    "XLA",
    where=st.sidebar,
)
ui.share_link(
    "Parameter counts, memory and gradient differences are the same from a link; "
    "times are measured on the server each time and vary.",
    st.sidebar,
)

# ----------------------------------------------------------------------------- first screen
st.title("ResNet vs neural ODE: what depth costs")
st.markdown(
    "Read a ResNet of depth L as L forward-Euler steps of a neural ODE. What does one "
    "gradient cost as L grows? Each line below is measured: the memory XLA reserves for the "
    "compiled gradient of a batch of 64 inputs."
)
answer = teach.question(
    "rn_question",
    "When the number of steps L grows, what happens to the memory the neural ODE's gradient "
    "needs, by backpropagation through the solver and by the adjoint method?",
    rn.MEMORY_OPTIONS,
)
with ui.controls():
    c1, c2 = st.columns([3, 1])
    depths = c1.multiselect(
        "Depths L (number of layers / Euler steps)",
        rn.DEPTH_CHOICES,
        list(D.depths),
        key="rn_depths",
        **ui.BOUND,
    )
    width = c2.select_slider("State width w", rn.WIDTHS, D.width, key="rn_width", **ui.BOUND)

memory_box = st.empty()


def memory_chart(table) -> None:
    """The memory chart: drawn as the gradients are measured, then whole."""
    ui.chart(
        oc.scaling_chart,
        table,
        y="memory (KiB)",
        y_title="memory of one gradient (KiB)",
        y_domain=rn.memory_axis(table, width),
        colors=rn.COLORS,
        height=400,
        where=memory_box,
    )


progress = "Compiling one gradient per depth and model …"
costs = ui.result_of(rn.depth_costs, tuple(depths), width, memory_chart, progress=progress)
table = costs.table
settings = rn.ResnetVsNodeSettings(tuple(depths), width, st.session_state.get("rn_rtol", D.rtol))
preset = teach.matching_preset(rn.PRESETS, st.session_state.get("rn_preset"), settings)

memory_chart(table)
teach.reveal(answer, *rn.memory_answer(table))
teach.what_you_should_see(rn.SHOULD_SEE, preset)
st.caption(
    "Each point: one gradient, compiled for that L, as XLA sizes its buffers (arguments, "
    "outputs and temporary buffers). Blue: the ResNet; orange: the neural ODE, backpropagating "
    "through its solver's steps; teal: the neural ODE by the adjoint method. The axis stays "
    "put while the width moves."
)


@ui.fragment
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
    with st.spinner("Computing both gradients at each tolerance …"):
        try:
            sweep = rn.tolerance_sweep(rn.TOLERANCE_WIDTH)
            comparison = rn.adaptive_adjoint(float(rtol), rn.TOLERANCE_WIDTH)
        except ValueError as error:
            ui.problem(str(error))
            return
    ui.chart(cost_charts.tolerance_chart, sweep, chosen=float(rtol), colors=rn.TOLERANCE_COLORS)
    st.caption(
        f"{rn.sweep_sentence(sweep)} Teal: the adjoint's gradient against backprop's; pink: "
        "the round trip's miss; dashed grey: a difference equal to rtol, for scale; the dotted "
        "rule marks the chosen rtol."
    )
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Relative gradient difference", f"{comparison['relative_difference']:.1e}")
    m2.metric("Forward steps taken", f"{comparison['backprop']['steps']}")
    m3.metric("Backprop time", f"{1e3 * comparison['backprop']['seconds']:.2f} ms")
    m4.metric("Adjoint time", f"{1e3 * comparison['backsolve']['seconds']:.2f} ms")
    ratio = comparison["backsolve"]["seconds"] / comparison["backprop"]["seconds"]
    st.caption(
        "Times are medians of three runs on this server and include the forward solve; here "
        f"the adjoint took {ratio:.1f} times as long as backprop. What it buys is memory that "
        "does not depend on the number of steps at all."
    )


# ----------------------------------------------------------------------------- more
with ui.more():
    st.markdown(
        r"""
The notes compare the two on compute and on the memory for the weights:

* **Compute** is $\mathcal O(L)$ for both: one forward and one backward pass through $L$ steps.
* **Parameters**: the ResNet stores a weight matrix per layer, $L(w^2 + w)$ numbers; the
  neural ODE stores one field $V$ however many steps it takes.

A third cost is the **memory for training**: what a gradient needs to keep while it is
computed. Chen et al. (2018) get the neural ODE's gradient with the **adjoint method**, which
solves a second ODE backwards in time instead of backpropagating through the solver's steps.

Here both models use the same smooth field $V(x, t) = \tanh(W(t)x + b(t))$ with
$W(t) = W_0 + tW_1$; the ResNet's layer $\ell$ is that field frozen at the start of its
step, $t_{\ell-1} = (\ell-1)T/L$ (as forward Euler samples it),
so both compute the same function. Memory is what XLA reports for the compiled gradient
(arguments + outputs + temporary buffers) for a batch of 64 inputs.
"""
    )
    st.subheader("Parameters and time against depth")
    backprop = rn.METHODS["node_backprop"][0]
    adjoint = rn.METHODS["node_backsolve"][0]
    params_frame = table[table["model"] != adjoint].replace({backprop: "neural ODE"})
    left, right = st.columns(2)
    ui.chart(
        oc.scaling_chart,
        params_frame,
        y="parameters",
        y_title="trainable parameters",
        y_domain=rn.parameters_axis(depths),
        colors=rn.COLORS,
        where=left,
    )
    left.caption("The ResNet's parameters grow like L; the neural ODE's field stays the same size.")
    ui.chart(
        oc.scaling_chart,
        table,
        y="time (ms)",
        y_title="time of one gradient (ms)",
        colors=rn.COLORS,
        where=right,
    )
    right.caption(
        f"{rn.time_growth(table)} Times are measured on this server and vary from run to run; "
        "the adjoint does more arithmetic than backprop (it re-solves the states backwards) but "
        "keeps less in memory."
    )

    state_kib = rn.BATCH * width * 4 / 1024  # one state: batch × width float32 numbers
    st.markdown(
        rf"""
**Why.** Backpropagation through the solver (here with every step stored, no checkpointing)
needs each intermediate state in its backward pass, so it keeps all $L$ of them: between the
two largest depths above, each extra step added {rn.memory_per_step(table):.1f} KiB, and one
state is {rn.BATCH} × {width} float32 numbers = {state_kib:.1f} KiB. The ResNet stores its
layers' weights as well.

The **adjoint method** keeps no states. Let $\mathcal L$ be the loss and
$a(t) = \partial\mathcal L / \partial x(t)$ the *adjoint*: how the loss would change if the
state at time $t$ moved. It satisfies its own ODE, which starts at the end time:
"""
    )
    st.latex(
        r"a(T) = \frac{\partial \mathcal L}{\partial x(T)}, \qquad"
        r"\frac{da}{dt} = -\,a(t)^{\mathsf T}\,\frac{\partial V}{\partial x}\big(x(t), t;\theta\big),"
    )
    st.markdown("and the gradient with respect to the parameters collects along the way,")
    st.latex(
        r"\frac{d\mathcal L}{d\theta}"
        r" = \int_0^T a(t)^{\mathsf T}\,\frac{\partial V}{\partial \theta}\big(x(t), t;\theta\big)\,dt"
        r" = -\int_T^0 a(t)^{\mathsf T}\,\frac{\partial V}{\partial \theta}\big(x(t), t;\theta\big)\,dt,"
        r"\qquad \frac{d\mathcal L}{dx(0)} = a(0)."
    )
    st.markdown(
        r"""
One backward solve, from $T$ to $0$, carries three things together: the state $x(t)$, run in
reverse from $x(T)$ (the same $\dot x = V$), the adjoint $a(t)$, and the integral so far. At
each moment only the current $x$, $a$ and running integral are kept, and $x(t)$ is
*recomputed* backwards instead of stored. So the memory does not depend on the number of
steps. The price: a second solve, and a gradient that is only as accurate as that backward
solve (the last section shows it).
"""
    )

    ui.chart(
        oc.scaling_chart,
        costs.agreement,
        y="difference",
        y_title="relative gradient difference",
        colors=rn.COLORS,
    )
    st.caption(
        "Backprop differentiates the Euler steps exactly; the adjoint solves the gradient's "
        "own ODE backwards with Euler steps too, and so differs by the error of those steps. "
        f"Fitted slope of this line: {rn.agreement_slope(costs.agreement):.2f} (−1 is a "
        "difference proportional to Δt = T/L)."
    )

    kib, ms = (st.column_config.NumberColumn(format=f) for f in ("%.1f", "%.2f"))
    formats = {"memory (KiB)": kib, "of which temporary (KiB)": kib, "time (ms)": ms}
    st.dataframe(table, hide_index=True, width="stretch", column_config=formats)

    st.subheader("Adaptive steps: the adjoint's gradient against the tolerance")
    st.markdown(
        rf"""
With an adaptive solver (here Tsit5) the number of steps is chosen at run time, so "depth" is
whatever the error control needs. Both gradients below are of the same loss, and the
adjoint's backward solve uses the same tolerances. Backprop here is diffrax's default, which
keeps a few checkpoints and recomputes the steps between them. The adjoint's backward solve
makes errors of its own: it re-solves $x(t)$ in reverse, and $a(t)$ with it. The chart shows
how far its gradient lands from backprop's as the tolerance loosens, and, measured alone, how
far $x(0)$ solved forward to $T$ and back misses the true $x(0)$. This section keeps the
state width at $w = {rn.TOLERANCE_WIDTH}$ whatever the slider above says (following it would
compile three more programs for every new width).
"""
    )
    adaptive_adjoint()

"""A ResNet is forward Euler: depth becomes time, and Δt → 0 leads to an ODE."""

import numpy as np
import pandas as pd
import streamlit as st

import resode_core as rc
from resode_ui import node_charts as nc, resnet_charts as charts, teach, widgets as ui
from resode_ui.lessons import resnet_euler
from resode_ui.lessons.resnet_euler import EXACT, LAYERS, T_END, U0

D = resnet_euler.ResnetEulerSettings()  # the defaults
SOLVERS = resnet_euler.FIXED_STEP_SOLVERS
MAX_LAYERS = resnet_euler.MAX_LAYERS

with ui.controls(st.sidebar):
    ui.preset_selector("re", resnet_euler.PRESETS)
    seed = st.slider("seed of the vector field", 0, 20, D.seed, key="re_seed", **ui.BOUND)
    st.subheader("Side by side")
    compare = st.toggle(
        "Compare two configurations side by side",
        key="re_compare",
        help="Two step counts and methods for the same vector field, on shared axes.",
        **ui.BOUND,
    )
    sides = []
    for side in "ab":
        sides.append(
            st.slider(
                f"{side.upper()}: steps L",
                2,
                MAX_LAYERS,
                getattr(D, f"{side}_layers"),
                key=f"re_{side}_layers",
                disabled=not compare,
                **ui.BOUND,
            )
        )
        sides.append(
            st.selectbox(
                f"{side.upper()}: method",
                SOLVERS,
                index=SOLVERS.index(getattr(D, f"{side}_solver")),
                format_func=resnet_euler.method_label,
                key=f"re_{side}_solver",
                disabled=not compare,
                **ui.BOUND,
            )
        )
teach.glossary("forward Euler", "order of a solver", "residual block", where=st.sidebar)
ui.share_link(where=st.sidebar)

st.title("A ResNet is forward Euler")
st.markdown(
    "A residual block with a step size, x_ℓ = x_ℓ₋₁ + Δt·σ(W_ℓ x_ℓ₋₁ + b_ℓ), is one step of "
    "forward Euler for the ODE dx/dt = σ(W(t) x + b(t)): layer ℓ becomes time t = ℓ·Δt. Here "
    "L layers sampled from one smooth 2-D vector field carry the input x(0) to x(T = 2)."
)
answer = teach.question(
    "re_question",
    "Halve Δt (twice the layers over the same T): what happens to the ResNet's error at T?",
    resnet_euler.QUESTION_OPTIONS,
)
with ui.controls():
    c1, c2 = st.columns(2)
    layers = c1.slider(
        "layers L (Δt = 2 / L)", 2, MAX_LAYERS, D.layers, key="re_layers", **ui.BOUND
    )
    solver = c2.selectbox(
        "compare with solver (same Δt)",
        SOLVERS,
        index=SOLVERS.index(D.solver),
        format_func=ui.solver_label,
        key="re_solver",
        **ui.BOUND,
    )

settings = resnet_euler.ResnetEulerSettings(layers, solver, seed, compare, *sides)
paths, compared = ui.result_of(resnet_euler.lesson, settings)
preset = teach.matching_preset(resnet_euler.PRESETS, st.session_state.get("re_preset"), settings)

# ----------------------------------------------------------------------------- the main view

label = ui.solver_label(solver)
values, plane = resnet_euler.extents(paths, resnet_euler.coarsest_paths(solver, seed))
sources = {LAYERS: "resnet", "Euler solve": "euler", f"{label}, same Δt": "other", EXACT: "exact"}
plane_sources = {LAYERS: "resnet", EXACT: "exact"}
left, right = st.columns(2)
ui.chart(
    charts.layer_trajectory_chart,
    resnet_euler.time_frame(paths, sources),
    resnet_euler.source_colors(paths, sources),
    values,
    where=left,
)
ui.chart(
    charts.phase_plane_chart,
    resnet_euler.phase_frame(paths, plane_sources),
    resnet_euler.source_colors(paths, plane_sources),
    plane,
    where=right,
)
teach.reveal(answer, *resnet_euler.halving_answer(layers, seed))
if not compared:
    teach.what_you_should_see(resnet_euler.SHOULD_SEE, preset)
st.caption(
    f"Left: the hidden state of the input x(0) = ({U0[0]:g}, {U0[1]:g}) after each layer, "
    f"drawn at t = ℓ·Δt (blue circles), on the Euler solve of the same vector field (line): "
    f"they differ by at most {paths.resnet_vs_euler:.0e}, float32 rounding. The {label} solve "
    "of the smooth field takes steps of the same Δt; the exact solution is near-black, and x₁, "
    "x₂ are named at its end. Right: five inputs pushed through the ResNet in the (x₁, x₂) "
    "plane (dots = layers) against the exact flow, on equal scales. The axes hold the paths "
    f"of every L from {resnet_euler.COARSEST} up, so they stay put while L moves."
)
m1, m2, m3, m4 = st.columns(4)
m1.metric("Δt = T / L", f"{T_END / layers:.4g}")
m2.metric(
    "max |ResNet − Euler|",
    f"{paths.resnet_vs_euler:.1e}",
    help="Over all layers and all five starting points: the hidden states of the ResNet against "
    "diffrax's Euler solve of the ResNet's own (piecewise constant in time) vector field.",
)
m3.metric("ResNet error at T", f"{paths.resnet_error:.2e}", help="Against the exact flow.")
m4.metric(f"{label} error at T", f"{paths.solver_error:.2e}")

if compared:
    st.header("Side by side: two configurations")
    st.markdown(
        r"""
Each side integrates the same field from $t = 0$ to $T = 2$ with its own number of steps $L$
($\Delta t = T/L$) and method (set in the sidebar); *Euler = ResNet* is the ResNet of $L$
layers itself. The cost of a forward pass is the number of field evaluations, $L$ times the
method's evaluations per step: compare the errors at equal cost.
"""
    )
    time_frames, plane_frames, titles, colors, plane_colors = [], [], [], {}, {}
    for side, side_paths, column in zip("AB", compared, st.columns(2), strict=True):
        info = rc.SOLVERS[side_paths.solver]
        step = T_END / side_paths.layers
        title = f"{side}: {resnet_euler.method_label(side_paths.solver)}, L = {side_paths.layers}"
        method = LAYERS if side_paths.solver == "euler" else f"{info.label}, Δt = {step:.3g}"
        side_sources = {method: "other", EXACT: "exact"}
        titles.append(title)
        time_frames.append(resnet_euler.time_frame(side_paths, side_sources))
        plane_frames.append(resnet_euler.phase_frame(side_paths, side_sources))
        colors.update(resnet_euler.source_colors(side_paths, side_sources))
        if side_paths.solver == "euler":  # drawn as the ResNet's layers: the ResNet's colour
            colors[LAYERS] = resnet_euler.source_colors(side_paths, {LAYERS: "resnet"})[0][1]
        k1, k2, k3 = column.columns(3)
        k1.metric(f"{side}: Δt", f"{step:.4g}")
        k2.metric(f"{side}: error at T", f"{side_paths.solver_error:.2e}")
        k3.metric(
            f"{side}: field evaluations",
            f"{side_paths.layers * info.evaluations_per_step:,}",
            help="L steps × evaluations per step: the cost of one forward pass.",
        )
    side_values, side_plane = resnet_euler.extents(
        *compared, resnet_euler.coarsest_paths("euler", seed)
    )
    shared_colors = tuple(colors.items())
    # One chart per row holding both sides, on shared axes and one legend.
    ui.chart(
        nc.side_by_side,
        charts.layer_trajectory_chart,
        tuple(time_frames),
        tuple(titles),
        colors=shared_colors,
        y_domain=side_values,
        legend_columns=3,
    )
    ui.chart(
        nc.side_by_side,
        charts.phase_plane_chart,
        tuple(plane_frames),
        tuple(titles),
        colors=shared_colors,
        extent=side_plane,
        panel_width=340,
        legend_columns=3,
    )
    teach.what_you_should_see(resnet_euler.SHOULD_SEE, preset)
    st.caption(
        f"The path of x(0) = ({U0[0]:g}, {U0[1]:g}) (top) and of the five starting points in "
        "the (x₁, x₂) plane (bottom, equal scales) for both configurations, on the same axes and "
        "colours as above: blue circles are ResNet layers, a solver's line has its own colour, "
        "the exact solution is near-black. Turn the toggle in the sidebar off to hide them."
    )

with ui.more():
    st.header("1 · Why a residual block is an Euler step")
    st.markdown(
        r"""
Write a residual block with an explicit step size $\Delta t$:

$$
x_\ell = x_{\ell-1} + \Delta t\,\sigma(W_\ell x_{\ell-1} + b_\ell)
\quad\Longleftrightarrow\quad
\frac{x_\ell - x_{\ell-1}}{\Delta t} = \sigma(W_\ell x_{\ell-1} + b_\ell).
$$

The right-hand form is a difference quotient: one step of the **forward Euler** method for the
ODE $\dot x = V(x, t;\theta)$, where the layer $\ell$ supplies the vector field on the time
interval $[(\ell-1)\Delta t, \ell\Delta t)$. Layer index becomes time, $t_\ell = \ell\,\Delta t$,
and a network of $L$ layers integrates from $t = 0$ to $T = L\,\Delta t$: the input is the
initial value $x(0)$, the output is $x(T)$.

Here the hidden state is 2-D and the layers are not random: layer $\ell$ is the smooth field
$V(x, t) = \tanh(W(t)\,x + b(t))$ with $W(t) = W_0 + t\,W_1$, $b(t) = b_0 + t\,b_1$, frozen at
$t_{\ell-1} = (\ell-1)\,\Delta t$, the start of its step. We keep $T = 2$ fixed and choose the
number of layers $L$, hence $\Delta t = T/L$.

*Our convention and the notes'.* The notes write the block as $\sigma/\Delta t$ in the
difference quotient and count nodes $0 \le \ell \le L+1$ with $(L+1)\Delta t = T$. We put
$\Delta t$ in front of $\sigma$, so the field $V = \sigma(\cdot)$ stays the same as
$\Delta t$ shrinks (which is what lets $\Delta t \to 0$ converge), and number the layers
$1, \dots, L$, so that $T = L\,\Delta t$.
"""
    )

    st.header("2 · Δt → 0: the ResNet converges to the ODE")
    st.markdown(
        r"""
More layers over the same $T$ means a smaller step $\Delta t = T/L$. The chart shows the error
at $T$ against $\Delta t$ for the ResNet (Euler) and other fixed-step solvers of the same smooth
field. On log–log axes an error $C\,\Delta t^{p}$ is a straight line of slope $p$; the triangle
under each line has the slope of that solver's order, and the table fits $p$ for each solver.
"""
    )

    @ui.fragment
    def convergence() -> None:
        """Its own section: choosing solvers reruns only this part of the page."""
        solvers = st.multiselect(
            "solvers",
            SOLVERS,
            list(resnet_euler.ORDER_SOLVERS),
            format_func=ui.solver_label,
            key="re_solvers",
            **ui.BOUND,
        )
        if not solvers:
            st.info("Pick at least one solver.")
            return
        try:
            study = resnet_euler.convergence(tuple(solvers), seed)
        except ValueError as error:
            ui.problem(str(error))
            return
        floor, steps = resnet_euler.ERROR_FLOOR, resnet_euler.CONVERGENCE_STEPS
        ui.chart(charts.convergence_chart, study["errors"], floor)
        orders = study["orders"].copy()
        slopes = orders["observed slope"]
        orders["observed slope"] = slopes.map(lambda v: f"{v:.2f}" if np.isfinite(v) else "—")
        orders["error at Δt = T/64"] = orders["error at Δt = T/64"].map("{:.1e}".format)
        st.dataframe(orders, hide_index=True, width="stretch")
        st.caption(
            "Observed slope: a least-squares fit of log(error) against log(Δt), walking from "
            "the coarsest Δt towards the finest. It starts at the first error below "
            f"{resnet_euler.ERROR_CEILING:g} (coarser steps are not yet asymptotic) and stops "
            f"where round-off takes over: at the first error at or below {floor:g}, or at the "
            f"first error below {100 * floor:g} that no longer shrinks. '—' means fewer than two "
            "such points (a fifth-order method is at round-off level almost at once); no "
            "triangle is drawn then."
        )
        st.markdown(
            rf"""
Forward Euler is a first-order method: its error at $T$ shrinks like $\Delta t^{{1}}$, so a
ResNet with more layers over the same $T$ approximates the exact flow better, but slowly. Any
other ODE solver can take the place of "stack another layer", and higher-order ones reach the
same accuracy with far fewer steps. {resnet_euler.fewer_steps(study)}

The reference is the exact flow computed in float64 (SciPy's DOP853 at tolerance
$10^{{-12}}$); the app itself computes in **float32**, whose round-off is about $10^{{-7}}$
relative per operation. Once a solver's truncation error drops to roughly
$10^{{-6}}$–$10^{{-7}}$ its curve flattens and wanders (dashed line): that is round-off, not
the method, and those points are left out of the slopes. Δt runs from {T_END / steps[0]:g}
down to {T_END / steps[-1]:.4f} (powers of two, so every $t_\ell$ is exact in float32).
"""
        )

    convergence()

    st.header("3 · Depth costs parameters, a vector field does not")
    st.markdown(
        r"""
Halving $\Delta t$ doubles the ResNet: every layer has its own $W_\ell, b_\ell$, so the
parameter count grows like $L = T/\Delta t$ and the limit $\Delta t \to 0$ is out of reach. The
smooth field $V(x, t;\theta)$ that the layers sample has a fixed number of parameters, whatever
the step. A **neural ODE** (Chen et al., 2018) learns that $\theta$ directly and leaves the
choice of steps to an ODE solver — the subject of the next pages.
"""
    )
    counts = np.arange(1, MAX_LAYERS + 1)
    per_layer = paths.resnet_params // layers  # w² + w
    param_frame = pd.DataFrame(
        {
            "layers": np.tile(counts, 2),
            "parameters": np.append(counts * per_layer, np.full(counts.size, paths.field_params)),
            "model": np.repeat(["ResNet (L layers)", "one vector field V(x, t; θ)"], counts.size),
        }
    )
    p1, p2 = st.columns(2)
    p1.metric(f"ResNet with L = {layers}", f"{paths.resnet_params:,} parameters")
    p2.metric("the vector field", f"{paths.field_params:,} parameters")
    ui.chart(charts.parameter_count_chart, param_frame, layers)

    st.markdown(
        """
**References.** K. He, X. Zhang, S. Ren, J. Sun, *Deep Residual Learning for Image
Recognition*, 2015. R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud, *Neural Ordinary
Differential Equations*, NeurIPS 2018.
"""
    )

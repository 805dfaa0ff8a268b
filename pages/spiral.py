"""The spiral test equation: learn du/dt = Aᵀu³ from samples, then test it elsewhere."""

import numpy as np
import pandas as pd
import streamlit as st

from resode_ui import chart_parts as cp, node_charts as nc, play, teach, widgets as ui
from resode_ui.advice import divergence_advice, unsolved_advice
from resode_ui.lessons import spiral

NAMES = ("u₁", "u₂")
D = spiral.SpiralSettings()  # the defaults
BEYOND = "beyond the training window"

# ----------------------------------------------------------------------------- sidebar
with ui.controls(st.sidebar):
    ui.preset_selector("sp", spiral.PRESETS)
teach.glossary(
    "neural ODE",
    "backpropagation through the solver",
    "adjoint",
    "tolerance",
    "order of a solver",
    "XLA",
    where=st.sidebar,
)

# ----------------------------------------------------------------------------- first screen
st.title("The spiral test equation")
st.markdown(
    "A neural ODE sees samples of one path of du/dt = Aᵀu³ (the notes' worked example, after "
    "Chen et al., 2018) and has to find the rule behind them. Has it learned the **rule**, or "
    "only the **path**? Test it from a start it never saw, past the time it was trained on."
)
answer = teach.question("sp_question", spiral.QUESTION, spiral.QUESTION_OPTIONS)
with ui.controls():
    data_col, epochs_col = st.columns([3, 2])
    mode = data_col.radio(
        "Training data", (spiral.ONE, spiral.SEVERAL), key="sp_data", horizontal=True, **ui.BOUND
    )
    epochs = epochs_col.slider("Epochs", 5, 3000, D.epochs, 5, key="sp_epochs", **ui.BOUND)

with ui.controls(st.sidebar):
    st.markdown("**Data**")
    n_traj = st.slider(
        "Number of trajectories",
        2,
        32,
        D.n_traj,
        key="sp_n_traj",
        disabled=mode == spiral.ONE,
        help="Starting points spread evenly over the ring 0.5 ≤ |u₀| ≤ 2.5.",
        **ui.BOUND,
    )
    samples = st.slider("Samples per trajectory", 4, 64, D.samples, key="sp_samples", **ui.BOUND)
    uneven = st.checkbox(
        "Uneven sampling (random sample times)",
        key="sp_uneven",
        help="A neural ODE needs no fixed grid: the solver can return the state at any "
        "time, so the samples may fall wherever they were measured. A model that moves in "
        "fixed steps (a ResNet read as Euler steps, a recurrent net that advances one step "
        "per sample) assumes evenly spaced samples unless it is also given the gaps.",
        **ui.BOUND,
    )
    noise = st.slider(
        "Noise (standard deviation)", 0.0, 0.3, D.noise, 0.01, key="sp_noise", **ui.BOUND
    )
    seed = st.number_input("Seed", 0, 9999, D.seed, 1, key="sp_seed", **ui.BOUND)
    st.markdown("**Training**")
    lr = st.select_slider("Adam learning rate", spiral.RATES, D.lr, key="sp_lr", **ui.BOUND)
    decay = st.select_slider(
        "Final learning rate (fraction of the first)",
        spiral.DECAYS,
        D.decay,
        key="sp_decay",
        help="1.0 keeps the rate constant (as the notes); smaller values decay it exponentially.",
        **ui.BOUND,
    )
    compare = st.toggle(
        "Compare with a second number of epochs",
        key="sp_compare",
        help="Trains a second fit, B, with every other setting equal, and shows both.",
        **ui.BOUND,
    )
    b_epochs = st.slider(
        "B: epochs", 5, 3000, D.b_epochs, 5, key="sp_b_epochs", disabled=not compare, **ui.BOUND
    )
    st.markdown("**Solver**")
    solver, stepping, rtol, atol, dt = ui.solver_controls("sp", D, spiral.STEPS)
ui.share_link(
    "Training is deterministic for a given seed: the link retrains the same network.", st.sidebar
)

settings = spiral.SpiralSettings(
    mode,
    n_traj,
    samples,
    uneven,
    float(noise),
    int(seed),
    epochs,
    lr,
    decay,
    compare,
    b_epochs,
    solver,
    stepping,
    rtol,
    atol,
    dt,
)
result = ui.result_of(spiral.lesson, settings)
result_b = ui.result_of(spiral.lesson, settings, b_epochs) if compare else None
fit, data = result.fit, result.data
n_shown = data.u0s.shape[0]
preset = teach.matching_preset(spiral.PRESETS, st.session_state.get("sp_preset"), settings)
if fit.diverged:
    ui.problem(divergence_advice(result.settings.solve, lr))


@ui.fragment
def extrapolation() -> None:
    """The question's chart: moving u₀ or T reruns only this part of the page."""
    chart_box, reveal_box = st.container(), st.container()
    c1, c2, c3 = st.columns(3)
    box = spiral.BOX
    u1 = c1.slider("u₁(0)", -box, box, 1.0, 0.1, key="sp_x_u1", **ui.BOUND)
    u2 = c2.slider("u₂(0)", -box, box, 1.0, 0.1, key="sp_x_u2", **ui.BOUND)
    horizon = c3.slider("Horizon T", *spiral.HORIZONS, 3.0, 0.25, key="sp_x_horizon", **ui.BOUND)
    ext = spiral.extrapolate(result.settings, fit.model, (u1, u2), horizon)
    frames = {s: nc.series_frame(ext["ts"], ext[s], NAMES, s) for s in ("true", "learned")}
    plane = pd.concat([nc.path_frame(ext["ts"], ext[s], s) for s in frames], ignore_index=True)
    with chart_box:
        if not ext["ok"]:
            ui.problem(
                unsolved_advice(result.settings.solve, "from this starting point")
                + " It has not learned anything reliable there."
            )
        left, right = (st.container(), None) if ui.presenting() else st.columns([3, 2])
        ui.chart(
            nc.time_series_chart,
            pd.concat(frames.values(), ignore_index=True),
            y_title="u",
            window_end=spiral.SYSTEM.t_span[1],
            regions=((spiral.SYSTEM.t_span[1], spiral.EXTRAPOLATION_T[1], BEYOND),),
            x_domain=spiral.EXTRAPOLATION_T,
            y_domain=spiral.PLANE,
            where=left,
        )
        if right is not None:
            ui.chart(nc.phase_plane_chart, plane, domain=spiral.PLANE, where=right)
    with reveal_box:
        teach.reveal(answer, *spiral.extrapolation_answer(ext, (u1, u2), horizon))
        st.caption(
            f"From u₀ = ({u1:g}, {u2:g}) over [0, {horizon:g}]: colour is the component (u₁ "
            "green, u₂ brown), solid the true path, dashed the learned one"
            + ("" if right is None else "; right, the same two paths in the plane")
            + ". The grey band is beyond the training window, t > 1.5, where no sample was "
            "ever seen. The axes stay fixed as you move the sliders below."
        )
        teach.what_you_should_see(spiral.SHOULD_SEE, preset)
    e1, e2 = st.columns(2)
    e1.metric(
        "Relative error over the path",
        f"{100 * ext['error']:.1f} %" if np.isfinite(ext["error"]) else "failed",
    )
    nearest = np.hypot(data.u0s[:, 0] - u1, data.u0s[:, 1] - u2).min()
    e2.metric("Distance of u₀ from the nearest training start", f"{nearest:.2f}")
    with ui.more("More: the error from every start of the plane"):
        if right is None:
            ui.chart(nc.phase_plane_chart, plane, domain=spiral.PLANE)
            st.caption("The same two paths in the (u₁, u₂) plane.")
        with st.spinner("Solving from every point of a 15 × 15 grid …"):
            errors = spiral.error_map(result.settings, fit.model, horizon)
        markers = pd.DataFrame(
            {
                "x": [*data.u0s[:, 0], u1],
                "y": [*data.u0s[:, 1], u2],
                "label": ["training start"] * n_shown + ["your u₀"],
            }
        )
        ui.chart(
            nc.error_heatmap,
            nc.heatmap_frame(spiral.grid_points(spiral.MAP_SIDE), errors),
            markers=markers,
            title=f"relative error (%) over t ∈ [0, {horizon:g}]",
        )
        finite = errors[np.isfinite(errors)]
        good = float(np.mean(errors < 10.0)) * 100
        st.markdown(
            f"""
**Where can the learned dynamics be trusted?** Each cell starts the true and the learned system
from that point and compares their paths up to T = {horizon:g}: dark purple cells are good,
orange ones 100 % off or worse (or unsolvable). On this grid the median error is
**{np.median(finite) if finite.size else float("nan"):.0f} %**, and {good:.0f} % of the
starting points stay under 10 %.
"""
        )


extrapolation()

# ----------------------------------------------------------------------------- the problem
with ui.more("More: the equation, the model and the notes' code"):
    st.subheader("The problem and the model")
    st.latex(
        r"\frac{du}{dt} = A^{\mathsf T} u^{3}, \qquad "
        r"A = \begin{pmatrix} -0.1 & 2 \\ -2 & -0.1 \end{pmatrix}, \qquad "
        r"u(0) = \begin{pmatrix} 2 \\ 0 \end{pmatrix}, \quad t \in [0, 1.5]"
    )
    st.markdown(
        r"""
Here $u^3 = (u_1^3, u_2^3)$ is taken element by element. A note on the convention: the notes'
prose writes $A u^3$, but their code multiplies the **row** vector $u^3$ by $A$, which is
$A^{\mathsf T}u^3$. We follow the code (so do torchdiffeq and DiffEqFlux). The two systems are
mirror images of each other (flip the sign of $u_2$): the same spiral, turning the other way.

The model is the notes' vector field
$V(u;\theta) = W_2 \tanh(W_1 u^3 + b_1) + b_2$ with 50 hidden units, solved with a
chosen ODE solver from the first sample. Training minimises the sum of squared differences
between the solution and the samples, $\sum_{k}\lVert u(t_k;\theta) - u_k\rVert^2$
(averaged over trajectories when there are several), with Adam. The gradient is taken through
every step of the solver (**backpropagation through the solver**, see the glossary), not by
solving the adjoint equation backwards in time as Chen et al. (2018) propose.
"""
    )
    with st.expander("The notes' code next to ours", icon=":material/code:"):
        st.markdown(
            """
Left, the lines of the notes' Julia code (DiffEqFlux) that set the problem up; the notes then
train with `ADAM(0.1)` for 25 epochs and solve with Tsit5 at reltol = 10⁻⁷, abstol = 10⁻⁹.
Right, the same problem and training written with JAX, diffrax, equinox and optax alone: what
`resode_core` does for the notes' preset, down to the initial weights (only the samples differ
in origin: the page takes the true paths from SciPy's DOP853 in float64, which needs no
compiling). The app's tests run it
and check that its samples match this page's to within 10⁻⁵ and that its trained field agrees
with the page's 25-epoch fit to within 0.1 %.

Mind the convention. `((u.^3)'true_A)'` multiplies the **row** vector u³ by A, which is
Aᵀu³, although the notes' prose writes A u³; `u**3 @ A` on the right is the same product (a
1-D array on the left of `@` acts as a row). We follow the code.
"""
        )
        julia_col, jax_col = st.columns(2)
        julia_col.markdown("**The notes (Julia)**")
        julia_col.code(spiral.JULIA_SETUP, language="julia")
        jax_col.markdown("**Ours (JAX)**")
        jax_col.code(spiral.JAX_SETUP, language="python")

# ----------------------------------------------------------------------------- the fit, played
st.subheader("The fit on the training window, epoch by epoch")
m1, m2, m3 = st.columns(3)
m4, m5, m6 = st.columns(3)
m1.metric("Loss after the first epoch", f"{fit.losses[0]:.4g}" if fit.epochs else "–")
m2.metric("Final loss", f"{fit.final_loss:.4g}")
m3.metric(
    "Error on data",
    f"{result.own_error_pct:.1f} %",
    help="Relative path error ‖u_θ − u‖ / ‖u‖ of the learned against the true (noise-free) "
    "trajectories you trained on, over [0, 1.5], mean over trajectories.",
)
m4.metric(
    "Error over the plane",
    f"{result.plane_error_pct:.0f} %",
    help="The same error from each of the 15 × 15 starting points of the error map, over "
    "[0, 1.5]: the median over the starts the learned model could be solved from.",
)
m5.metric("Epochs run", f"{fit.epochs}")
m6.metric("Training time", f"{fit.seconds:.2f} s")
if not np.all(result.learned_ok):
    st.warning(unsolved_advice(result.settings.solve, "over the whole window from some starts"))

index = st.columns([1, 3])[0].number_input(
    "Trajectory shown",
    1,
    32,
    1,
    key="sp_traj_index",
    disabled=n_shown == 1,
    help="With several trajectories, pick which one the time plot shows.",
    **ui.BOUND,
)
index = min(int(index), n_shown) - 1


def series(res: spiral.SpiralResult, index: int, learned=None) -> pd.DataFrame:
    """Trajectory `index` of a result: true and learned curves (or `learned` instead), samples."""
    return pd.concat(
        [
            nc.series_frame(res.dense, res.true[index], NAMES, "true"),
            nc.series_frame(
                res.dense, res.learned[index] if learned is None else learned, NAMES, "learned"
            ),
            nc.series_frame(res.data.ts, res.data.noisy[index], NAMES, "data"),
        ],
        ignore_index=True,
    )


epochs_shown = spiral.frame_epochs(result.settings)
fit_axis = spiral.fit_domain(result, index)
history = pd.DataFrame(
    {"epoch": np.arange(1, fit.epochs + 1), "loss": fit.losses, "grad_norm": fit.grad_norms}
)
loss_axis = cp.log_domain(fit.losses)


def draw(i: int) -> None:
    """Frame i: the learned path after epochs_shown[i] epochs, and the loss until then."""
    left, right = st.columns([3, 2])
    if i == len(epochs_shown) - 1:  # the finished fit: no replay needed
        learned, done = None, fit.epochs
    else:
        with st.spinner("Replaying the training (once) …"):
            frames = spiral.training_frames(result.settings)
        k = min(i, len(frames["epochs"]) - 1)
        learned, done = frames["learned"][k, index], int(frames["epochs"][k])
    ui.chart(
        nc.time_series_chart,
        series(result, index, learned),
        y_title="u",
        x_domain=spiral.SYSTEM.t_span,
        y_domain=fit_axis,
        where=left,
    )
    play.loss_so_far(history, done, fit.epochs, "loss (sum of squares)", loss_axis, where=right)


play.player(
    "sp_train",
    play.frame_labels(epochs_shown, "epoch {:g}"),
    draw,
    title="epoch",
    of=result.settings,
)
st.caption(
    f"Trajectory {index + 1}: samples (points), the true solution (solid) and the learned one "
    "(dashed); right, the loss so far. **Play** replays the training chunk by chunk, from the "
    "untrained field (epoch 0) to the finished fit."
)
if uneven:
    st.caption(spiral.sampling_note(result, index))
paths = [
    nc.path_frame(ts, ys[j], source, j + 1)
    for j in range(n_shown)
    for ts, ys, source in (
        (result.dense, result.true, "true"),
        (result.dense, result.learned, "learned"),
        (data.ts, data.noisy, "data"),
    )
]
left, right = st.columns([2, 3])
ui.chart(nc.phase_plane_chart, pd.concat(paths, ignore_index=True), domain=spiral.PLANE, where=left)
right.caption(
    "The phase plane, on equal scales: every training trajectory, true (solid, near-black, "
    "its start ringed) and learned (dashed, orange), with the samples (points)."
)

# ----------------------------------------------------------------------------- further sections
with ui.more("More: A against B, the learned field, the gradients, and why"):
    if result_b is not None:
        st.subheader(f"Side by side: A = {epochs} epochs, B = {b_epochs} epochs")
        st.markdown(
            """
Both fits start from the same initial weights (same seed), see the same samples and use the same
solver; only the number of epochs differs. The errors are relative path errors on the training
window $[0, 1.5]$: *on data* along the training trajectories themselves, *plane* the median
over starting points on a 15 × 15 grid of the plane.
"""
        )
        ab_axis = spiral.fit_domain(result, 0)
        for side, res, column in zip("AB", (result, result_b), st.columns(2), strict=True):
            with column:
                st.markdown(f"**{side}: {res.settings.epochs} epochs**")
                c1, c2, c3 = st.columns(3)
                c1.metric(f"{side}: final loss", f"{res.fit.final_loss:.4g}")
                c2.metric(f"{side}: error on data", f"{res.own_error_pct:.1f} %")
                c3.metric(f"{side}: error, plane", f"{res.plane_error_pct:.0f} %")
                ui.chart(
                    nc.time_series_chart,
                    series(res, 0),
                    y_title="u",
                    x_domain=spiral.SYSTEM.t_span,
                    y_domain=ab_axis,
                )
                if res.fit.diverged:
                    ui.problem(divergence_advice(res.settings.solve, lr, what=side))
        st.caption(
            "The first trajectory of each fit, on the same axes: samples (points), true "
            "(solid), learned (dashed). "
            f"From A to B the error on the training data goes from {result.own_error_pct:.0f} % "
            f"to {result_b.own_error_pct:.0f} %, the median error over the plane from "
            f"{result.plane_error_pct:.0f} % to {result_b.plane_error_pct:.0f} %: training pins "
            "the field down only where the samples are, and elsewhere more epochs need not help."
        )

    st.subheader("What the network learned: the vector field")
    true_q = nc.quiver_frame(result.grid, result.true_field)
    # Colours from the slowest twentieth of the true arrows up (a single arrow near the
    # origin, where the field vanishes, would otherwise take the whole dark end of the scale).
    domain = tuple(float(v) for v in np.percentile(true_q["log10_speed"], [5, 100]))
    learned_q = nc.quiver_frame(result.grid, result.learned_field)
    left, right = st.columns(2)
    ui.chart(nc.quiver_chart, true_q, title="true: Aᵀu³", color_domain=domain, where=left)
    ui.chart(nc.quiver_chart, learned_q, title="learned: V(u; θ)", color_domain=domain, where=right)
    st.caption(
        "Arrows show the direction of the field, colour its speed on a log scale, from dark "
        "purple (slow) to green (fast), the same colours on both sides. Only along the training "
        "trajectories did the data constrain the learned field; elsewhere nothing ties it to "
        "the true one."
    )

    st.subheader("Gradient norm during training")
    if cp.can_draw(history, "grad_norm", log=True):
        ui.chart(nc.history_chart, history, y="grad_norm", y_title="gradient norm ‖∂L/∂θ‖")
    else:
        st.caption("No finite, positive gradient norm to draw on a log axis.")
    rate = (
        f"a constant rate of {lr:g}"
        if decay == 1.0
        else f"a rate decaying from {lr:g} to {lr * decay:.2g}"
    )
    st.caption(
        f"Adam with {rate}. The gradient norm is the size of ∂L/∂θ at each epoch: how steep "
        "the loss surface is where the parameters are."
    )

    st.markdown(
        r"""
**One trajectory or many.** A fit on the notes' single trajectory can be trusted only near that
trajectory: the data never showed the network what happens elsewhere. Compare the presets by
*Error over the plane*. Every preset with one trajectory stays above 50 %, however closely it
fits its own data (after 1000 epochs with a decaying rate, *Error on data* is under 3 %);
*16 trajectories over the plane* brings it under 10 %. With that preset, move the horizon past
the training window ($T > 1.5$): the median on the error map grows, since no trajectory was
observed after $t = 1.5$.

**Uneven sampling.** A neural ODE is a rule for the rate of change, and the solver can be asked
for the state at any time, so the samples need not be evenly spaced: each is compared with the
solution at its own time. A ResNet takes fixed steps, and a recurrent network one step per
sample; both assume a regular grid unless the gaps are fed in as extra inputs. With uneven
samples the fit is constrained only where samples are: in a long gap the learned path can drift
(preset *Noisy samples at uneven times*; the caption under the fit locates the worst point).
"""
    )

"""The spiral test equation: learn du/dt = Aᵀu³ from samples, then test it elsewhere."""

from resode_ui.advice import divergence_advice, unsolved_advice
from resode_ui.frame import error_box, page_frame
from resode_ui.live import LiveTraining, training_slots
from resode_ui.warmup import compile_ahead

page_frame()

from collections.abc import Mapping  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

import resode_core as rc  # noqa: E402
from resode_ui import fit_store as fs, node_charts as nc, url_state as us  # noqa: E402
from resode_ui.chart_cache import show_chart  # noqa: E402

ONE = "One trajectory from u₀ = (2, 0), as in the notes"
SEVERAL = "Several trajectories spread over the plane"
ADAPTIVE = "adaptive (rtol, atol)"
FIXED = "fixed Δt"
RATES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
DECAYS = (1.0, 0.3, 0.1, 0.05, 0.02, 0.01)
TOLERANCES = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)
STEPS = (0.2, 0.1, 0.05, 0.02, 0.01, 0.005)
BOX = 2.5  # the plane region shown: [-2.5, 2.5]²
R_MAX = 2.5  # training starts spread over 0.5 ≤ |u₀| ≤ R_MAX
MAP_SIDE = 15  # error map resolution (15 × 15 initial conditions)
DENSE = 120  # points per drawn trajectory
MAX_FITS = 6  # fits a session keeps for itself (all sessions share more)
NAMES = ("u₁", "u₂")

NOTES_LABEL = "The notes' set-up: one trajectory, Adam(0.1), 25 epochs"
# The page's settings as they appear in its address (see resode_ui/url_state.py).
STATE = us.PageState(
    "sp",
    [
        us.Choice("sp_data", ONE, (ONE, SEVERAL), tokens={ONE: "one", SEVERAL: "plane"}),
        us.Int("sp_n_traj", 16, 2, 32),
        us.Int("sp_samples", rc.SPIRAL_SAMPLES, 4, 64),
        us.Flag("sp_uneven", False),
        us.Float("sp_noise", 0.0, 0.0, 0.3, 0.01),
        us.Int("sp_seed", 0, 0, 9999),
        us.Int("sp_epochs", 25, 5, 3000, 5),
        us.Choice("sp_lr", 0.1, RATES),
        us.Choice("sp_decay", 1.0, DECAYS),
        us.Flag("sp_compare", False),
        us.Int("sp_b_epochs", 300, 5, 3000, 5),
        us.Choice("sp_solver", "tsit5", rc.SOLVER_NAMES),
        us.Choice(
            "sp_stepping",
            ADAPTIVE,
            (ADAPTIVE, FIXED),
            tokens={ADAPTIVE: "adaptive", FIXED: "fixed"},
        ),
        us.Choice("sp_rtol", 1e-7, TOLERANCES),
        us.Choice("sp_atol", 1e-9, TOLERANCES),
        us.Choice("sp_dt", 0.05, STEPS),
        us.Int("sp_traj_index", 1, 1, 32),
        us.Float("sp_x_u1", 1.0, -BOX, BOX, 0.1),
        us.Float("sp_x_u2", 1.0, -BOX, BOX, 0.1),
        us.Float("sp_x_horizon", 3.0, 0.5, 6.0, 0.25),
    ],
    presets=[
        us.Preset("notes-300", "One trajectory, 300 epochs", {"sp_epochs": 300}),
        us.Preset(
            "notes-25-vs-300",
            "The notes' spiral: 25 vs 300 epochs side by side",
            {"sp_compare": True, "sp_b_epochs": 300},
        ),
        us.Preset(
            "notes-1000",
            "One trajectory, 1000 epochs, decaying rate",
            {"sp_epochs": 1000, "sp_decay": 0.05},
        ),
        us.Preset(
            "plane",
            "16 trajectories over the plane, 1000 epochs, decaying rate",
            {
                "sp_data": SEVERAL,
                "sp_n_traj": 16,
                "sp_epochs": 1000,
                "sp_lr": 0.02,
                "sp_decay": 0.05,
                "sp_rtol": 1e-5,  # as good as 1e-7 here (measured) and about 40 % faster
                "sp_atol": 1e-7,
            },
        ),
        us.Preset(
            "noisy-uneven",
            "Noisy samples (σ = 0.05) at uneven times, 1000 epochs, decaying rate",
            {"sp_uneven": True, "sp_noise": 0.05, "sp_epochs": 1000, "sp_decay": 0.05},
        ),
    ],
    default_label=NOTES_LABEL,
    # The extrapolation controls stay where the student put them when a preset is chosen.
    keep=("sp_traj_index", "sp_x_u1", "sp_x_u2", "sp_x_horizon"),
)


# ----------------------------------------------------------------------------- cached work


@st.cache_data(show_spinner=False, max_entries=32)
def spiral_data(
    mode: str, n_traj: int, n_samples: int, uneven: bool, noise: float, seed: int
) -> dict:
    """Sample times, initial conditions, clean and noisy samples of the true spiral."""
    ts = rc.sample_times(rc.SPIRAL_T_SPAN, n_samples, uneven=uneven, seed=seed)
    if mode == ONE:
        u0s = np.array([rc.SPIRAL_U0])
    else:
        u0s = rc.spread_initial_conditions(n_traj, r_max=R_MAX, seed=seed)
    clean = rc.solve_many(rc.spiral_system(), u0s, ts)
    rng = np.random.default_rng(seed + 1)
    noisy = clean.ys + noise * rng.standard_normal(clean.ys.shape)
    return {"ts": ts, "u0s": u0s, "clean": clean.ys, "noisy": noisy}


def compute_fit_views(data: dict, model, settings) -> dict:
    """Everything drawn from one fit on its training window."""
    dense = np.linspace(*rc.SPIRAL_T_SPAN, DENSE)
    true_dense = rc.solve_many(rc.spiral_system(), data["u0s"], dense)
    # The network starts from the first observed sample, exactly as in training.
    learned = rc.solve_many(model, data["noisy"][:, 0], dense, settings)
    grid = rc.grid_points(-BOX, BOX, 13)
    return {
        "dense": dense,
        "true": true_dense.ys,
        "learned": learned.ys,
        "learned_ok": learned.ok,
        "grid": grid,
        "true_field": rc.field_on_grid(rc.spiral_system(), grid),
        "learned_field": rc.field_on_grid(model, grid),
    }


@st.cache_data(show_spinner=False, max_entries=32)
def fit_views(fit_key: tuple, _model, _settings) -> dict:
    """compute_fit_views, keyed by the fit's settings."""
    return compute_fit_views(spiral_data(*fit_key[:6]), _model, _settings)


@st.cache_data(show_spinner=False, max_entries=64)
def extrapolate(fit_key: tuple, _model, _settings, u0: tuple, horizon: float) -> dict:
    ts = np.linspace(0.0, horizon, DENSE)
    true = rc.solve_many(rc.spiral_system(), [u0], ts)
    learned = rc.solve_many(_model, [u0], ts, _settings)
    error = float(rc.relative_errors(learned.ys, true.ys)[0])
    return {
        "ts": ts,
        "true": true.ys[0],
        "learned": learned.ys[0],
        "ok": bool(learned.ok[0]) and bool(true.ok[0]),
        "error": error if learned.ok[0] else float("inf"),
    }


def compute_error_map(model, settings, horizon: float) -> dict:
    """Relative trajectory error (%) from every initial condition of a grid."""
    points = rc.grid_points(-BOX, BOX, MAP_SIDE)
    ts = np.linspace(0.0, horizon, 48)
    true = rc.solve_many(rc.spiral_system(), points, ts)
    learned = rc.solve_many(model, points, ts, settings)
    errors = 100.0 * rc.relative_errors(learned.ys, true.ys)
    errors = np.where(learned.ok & true.ok, errors, np.inf)
    return {"points": points, "error_pct": errors}


@st.cache_data(show_spinner=False, max_entries=16)
def error_map(fit_key: tuple, _model, _settings, horizon: float) -> dict:
    """compute_error_map, keyed by the fit's settings."""
    return compute_error_map(_model, _settings, horizon)


def train(fit_key: tuple, data: dict, settings, slots, start, save_checkpoint) -> dict:
    """Train, or go on from the checkpoint `start`, streaming a progress bar and the loss curve."""
    (_, _, _, _, _, seed, epochs, lr, decay, *_rest) = fit_key
    show = LiveTraining(*slots, epochs, start=start)
    state = rc.init_ode_fit(2, seed=seed, learning_rate=lr)
    # The solves drawn after training compile meanwhile, on the untrained network.
    compile_ahead(
        ("spiral", data["u0s"].shape, settings),
        lambda: (
            compute_fit_views(data, state.model, settings),
            compute_error_map(state.model, settings, float(rc.SPIRAL_T_SPAN[1])),
        ),
    )
    trajectories = rc.trajectory_data(data["ts"], data["noisy"])
    state, losses, grad_norms = rc.train_ode_streaming(
        state,
        trajectories,
        settings,
        epochs,
        learning_rate=lr,
        final_fraction=decay,
        progress=show,
        start=start,
        checkpoint=save_checkpoint,
    )
    seconds = show.elapsed_s()
    show.clear()
    return {
        "model": state.model,
        "settings": settings,
        "losses": losses,
        "grad_norms": grad_norms,
        "diverged": bool(state.diverged),
        "seconds": seconds,
    }


def trained_fit(fit_key: tuple, data: dict, settings) -> Mapping:
    """The fit for these settings, shared by all sessions: stored, or trained (resumed) now."""
    slots = training_slots()
    return fs.shared_fit(
        "spiral",
        fit_key,
        lambda start, save: train(fit_key, data, settings, slots, start, save),
        session_key="sp_fits",
        keep=MAX_FITS,
        total_epochs=fit_key[6],
        notice=slots[0],
    )


def window_errors(fit_key: tuple, fit: dict) -> dict:
    """A fit's relative path error on its own training trajectories and over a grid (0 to 1.5)."""
    views = fit_views(fit_key, fit["model"], fit["settings"])
    own = rc.relative_errors(views["learned"], views["true"])
    grid = error_map(fit_key, fit["model"], fit["settings"], float(rc.SPIRAL_T_SPAN[1]))
    finite = grid["error_pct"][np.isfinite(grid["error_pct"])]
    return {
        "own_pct": 100.0 * float(np.mean(own)),
        "grid_median_pct": float(np.median(finite)) if finite.size else float("inf"),
        "views": views,
    }


# ----------------------------------------------------------------------------- page

st.title("The spiral test equation")
STATE.sync()
st.markdown(
    r"""
The notes' worked example (after Chen et al., 2018): a two-dimensional system whose right-hand
side is cubic in the state. We observe a few samples of **one** trajectory, and a neural ODE
has to discover the rule that generated them, without being told the equation.
"""
)
st.latex(
    r"\frac{du}{dt} = A^{\mathsf T} u^{3}, \qquad "
    r"A = \begin{pmatrix} -0.1 & 2 \\ -2 & -0.1 \end{pmatrix}, \qquad "
    r"u(0) = \begin{pmatrix} 2 \\ 0 \end{pmatrix}, \quad t \in [0, 1.5]"
)
st.markdown(
    r"""
Here $u^3 = (u_1^3, u_2^3)$ is taken element by element. A note on the convention: the notes'
prose writes $A u^3$, but their code multiplies the **row** vector $u^3$ by $A$, which is
$A^{\mathsf T}u^3$. We follow the code (so do torchdiffeq and DiffEqFlux); the two differ only
in the sense of rotation.

The model is the notes' vector field
$V(u;\theta) = W_2 \tanh(W_1 u^3 + b_1) + b_2$ with 50 hidden units, solved with a
chosen ODE solver from the first sample. Training minimises the sum of squared differences
between the solution and the samples, $\sum_{k}\lVert u(t_k;\theta) - u_k\rVert^2$
(averaged over trajectories when there are several), with Adam. The gradient flows back
through every solver step.
"""
)

STATE.controls()

data_col, train_col, solver_col = st.columns(3)
with data_col:
    st.markdown("**Data**")
    mode = STATE.widget(st.radio, "Training data", (ONE, SEVERAL), key="sp_data")
    n_traj = STATE.widget(
        st.slider,
        "Number of trajectories",
        2,
        32,
        key="sp_n_traj",
        disabled=mode == ONE,
        help="Starting points spread evenly over the ring 0.5 ≤ |u₀| ≤ 2.5.",
    )
    n_samples = STATE.widget(st.slider, "Samples per trajectory", 4, 64, key="sp_samples")
    uneven = STATE.widget(st.checkbox, "Uneven sampling (random sample times)", key="sp_uneven")
    noise = STATE.widget(
        st.slider, "Noise (standard deviation)", 0.0, 0.3, step=0.01, key="sp_noise"
    )
    seed = int(STATE.widget(st.number_input, "Seed", 0, 9999, step=1, key="sp_seed"))
with train_col:
    st.markdown("**Training**")
    epochs = STATE.widget(st.slider, "Epochs", 5, 3000, step=5, key="sp_epochs")
    lr = STATE.widget(st.select_slider, "Adam learning rate", RATES, key="sp_lr")
    decay = STATE.widget(
        st.select_slider,
        "Final learning rate (fraction of the first)",
        DECAYS,
        key="sp_decay",
        help="1.0 keeps the rate constant (as the notes); smaller values decay it exponentially.",
    )
    compare = STATE.widget(
        st.toggle,
        "Compare with a second number of epochs",
        key="sp_compare",
        help="Trains a second fit, B, with every other setting equal, and shows both side by side.",
    )
    b_epochs = STATE.widget(
        st.slider, "B: epochs", 5, 3000, step=5, key="sp_b_epochs", disabled=not compare
    )
with solver_col:
    st.markdown("**Solver**")
    solver = STATE.widget(
        st.selectbox,
        "ODE solver",
        rc.SOLVER_NAMES,
        key="sp_solver",
        format_func=lambda n: rc.SOLVERS[n].label,
    )
    can_adapt = rc.SOLVERS[solver].adaptive
    stepping = STATE.widget(
        st.radio,
        "Step control",
        (ADAPTIVE, FIXED),
        key="sp_stepping",
        disabled=not can_adapt,
        help="Euler and RK4 have no error estimate, so they always take fixed steps.",
    )
    fixed = stepping == FIXED or not can_adapt
    rtol = STATE.widget(st.select_slider, "rtol", TOLERANCES, key="sp_rtol", disabled=fixed)
    atol = STATE.widget(st.select_slider, "atol", TOLERANCES, key="sp_atol", disabled=fixed)
    dt = STATE.widget(st.select_slider, "Δt", STEPS, key="sp_dt", disabled=not fixed)
STATE.share_note(
    note="Training is deterministic for a given seed: the link retrains the same network."
)

try:
    settings = rc.solver_settings(
        solver, dt=float(dt) if fixed else None, rtol=float(rtol), atol=float(atol)
    )
    data = spiral_data(mode, int(n_traj), int(n_samples), bool(uneven), float(noise), seed)
except ValueError as problem:
    error_box(str(problem))
    st.stop()

fit_key = (
    mode,
    int(n_traj),
    int(n_samples),
    bool(uneven),
    float(noise),
    seed,
    int(epochs),
    float(lr),
    float(decay),
    solver,
    bool(fixed),
    float(dt) if fixed else 0.0,
    0.0 if fixed else float(rtol),
    0.0 if fixed else float(atol),
)
try:
    fit = trained_fit(fit_key, data, settings)
except ValueError as problem:
    error_box(str(problem))
    st.stop()
st.session_state["sp_last_fit"] = fit_key
model, fit_settings = fit["model"], fit["settings"]

losses = fit["losses"]
finite = losses[np.isfinite(losses)]
m1, m2, m3, m4 = st.columns(4)
m1.metric("Loss after the first epoch", f"{finite[0]:.4g}" if finite.size else "–")
m2.metric("Final loss", f"{finite[-1]:.4g}" if finite.size else "–")
m3.metric("Epochs run", f"{finite.size}")
m4.metric("Training time", f"{fit['seconds']:.2f} s")
if fit["diverged"]:
    error_box(divergence_advice(fit_settings, float(lr)))

if compare:
    b_key = (*fit_key[:6], int(b_epochs), *fit_key[7:])
    try:
        fit_b = trained_fit(b_key, data, settings)
    except ValueError as problem:
        error_box(str(problem))
        st.stop()
    st.subheader(f"Side by side: A = {int(epochs)} epochs, B = {int(b_epochs)} epochs")
    st.markdown(
        """
Both fits start from the same initial weights (same seed), see the same samples and use the same
solver; only the number of epochs differs. The errors are relative path errors on the training
window $[0, 1.5]$: *on data* along the training trajectories themselves, *plane* the median
over starting points on a 15 × 15 grid of the plane.
"""
    )
    compared = {}
    for (side, side_key, side_fit), column in zip(
        (("A", fit_key, fit), ("B", b_key, fit_b)), st.columns(2), strict=True
    ):
        errors = window_errors(side_key, side_fit)
        side_losses = side_fit["losses"][np.isfinite(side_fit["losses"])]
        compared[side] = {
            "epochs": side_key[6],
            "final_loss": float(side_losses[-1]) if side_losses.size else float("nan"),
            "own_pct": errors["own_pct"],
            "grid_median_pct": errors["grid_median_pct"],
        }
        with column:
            st.markdown(f"**{side}: {side_key[6]} epochs**")
            c1, c2, c3 = st.columns(3)
            c1.metric(f"{side}: final loss", f"{compared[side]['final_loss']:.4g}")
            c2.metric(f"{side}: error on data", f"{errors['own_pct']:.1f} %")
            c3.metric(f"{side}: error, plane", f"{errors['grid_median_pct']:.0f} %")
            side_views = errors["views"]
            show_chart(
                st,
                ("spiral", "compare-series", side_key),
                lambda side_views=side_views: nc.time_series_chart(
                    pd.concat(
                        [
                            nc.series_frame(
                                side_views["dense"], side_views["true"][0], NAMES, "true"
                            ),
                            nc.series_frame(
                                side_views["dense"], side_views["learned"][0], NAMES, "learned"
                            ),
                            nc.series_frame(data["ts"], data["noisy"][0], NAMES, "data"),
                        ],
                        ignore_index=True,
                    ),
                    y_title="u",
                ),
                width="stretch",
            )
            if side_fit["diverged"]:
                error_box(divergence_advice(fit_settings, float(lr), what=side))
    st.session_state["sp_compared"] = compared
    a, b = compared["A"], compared["B"]
    st.caption(
        "The first trajectory of each fit: samples (points), true (solid), learned (dashed). "
        f"From A to B the error on the training data goes from {a['own_pct']:.0f} % to "
        f"{b['own_pct']:.0f} %, the median error over the plane from "
        f"{a['grid_median_pct']:.0f} % to {b['grid_median_pct']:.0f} %: training pins the field "
        "down only where the samples are, and elsewhere more epochs need not help at all."
    )

views = fit_views(fit_key, model, fit_settings)
if not np.all(views["learned_ok"]):
    st.warning(unsolved_advice(fit_settings, "over the whole window from some starting points"))

# --- the notes' figure: u₁, u₂ against t
st.subheader("Fit on the training window")
n_shown = data["u0s"].shape[0]
index = int(
    STATE.widget(
        st.number_input,
        "Trajectory shown",
        1,
        32,
        key="sp_traj_index",
        disabled=n_shown == 1,
        help="With several trajectories, pick which one the time plot shows.",
    )
)
index = min(index, n_shown) - 1
series_frame = pd.concat(
    [
        nc.series_frame(views["dense"], views["true"][index], NAMES, "true"),
        nc.series_frame(views["dense"], views["learned"][index], NAMES, "learned"),
        nc.series_frame(data["ts"], data["noisy"][index], NAMES, "data"),
    ],
    ignore_index=True,
)
st.session_state["sp_series_frame"] = series_frame


def phase_chart():
    paths = []
    for j in range(n_shown):
        paths.append(nc.path_frame(views["dense"], views["true"][j], "true", j + 1))
        paths.append(nc.path_frame(views["dense"], views["learned"][j], "learned", j + 1))
        paths.append(nc.path_frame(data["ts"], data["noisy"][j], "data", j + 1))
    return nc.phase_plane_chart(pd.concat(paths, ignore_index=True))


# Charts of a fit are converted once per fit (resode_ui/chart_cache.py): keyed by fit_key.
left, right = st.columns(2)
with left:
    show_chart(
        st,
        ("spiral", "series", fit_key, index),
        lambda: nc.time_series_chart(series_frame, y_title="u"),
        width="stretch",
    )
    st.caption(
        f"Trajectory {index + 1}: samples (points), the true solution (solid) and the learned one (dashed)."
    )
with right:
    show_chart(st, ("spiral", "phase", fit_key), phase_chart, width="stretch")
    st.caption("The phase plane: every training trajectory, true (solid) and learned (dashed).")

# --- vector fields
st.subheader("What the network learned: the vector field")
true_q = nc.quiver_frame(views["grid"], views["true_field"])
domain = (float(true_q["log10_speed"].min()), float(true_q["log10_speed"].max()))
left, right = st.columns(2)
with left:
    show_chart(
        st,
        ("spiral", "quiver-true"),
        lambda: nc.quiver_chart(true_q, title="true: Aᵀu³", color_domain=domain),
        width="stretch",
    )
with right:
    show_chart(
        st,
        ("spiral", "quiver-learned", fit_key),
        lambda: nc.quiver_chart(
            nc.quiver_frame(views["grid"], views["learned_field"]),
            title="learned: V(u; θ)",
            color_domain=domain,
        ),
        width="stretch",
    )
st.caption(
    "Arrows show the direction of the field, colour its speed (log scale, same colours on both "
    "sides). Where the training trajectories passed, the two should agree; elsewhere the network "
    "has seen nothing and can point anywhere."
)

# --- training history
st.subheader("Training history")
history = pd.DataFrame(
    {"epoch": np.arange(1, losses.size + 1), "loss": losses, "grad_norm": fit["grad_norms"]}
)
st.session_state["sp_history"] = history
left, right = st.columns(2)
with left:
    show_chart(
        st,
        ("spiral", "loss", fit_key),
        lambda: nc.history_chart(history, y="loss", y_title="loss (sum of squares)"),
        width="stretch",
    )
with right:
    show_chart(
        st,
        ("spiral", "grad-norm", fit_key),
        lambda: nc.history_chart(history, y="grad_norm", y_title="gradient norm ‖∂L/∂θ‖"),
        width="stretch",
    )
st.caption(
    "Adam with a constant rate of 0.1 makes the loss jump now and then; the gradient norm shows "
    "how steep the loss surface is where the parameters are."
)

# --- extrapolation
st.subheader("Extrapolation: new initial conditions, longer times")
st.markdown(
    r"""
The notes claim the network "learned the tiny ODE system" and so can predict what happens from
other initial conditions. Test it: pick a starting point $u_0$ and a horizon $T$, and compare
the learned trajectory with the true one by the relative error
$\lVert u_\theta - u\rVert / \lVert u \rVert$ over the whole path.
"""
)
c1, c2, c3 = st.columns(3)
u1 = STATE.widget(c1.slider, "u₁(0)", -BOX, BOX, step=0.1, key="sp_x_u1")
u2 = STATE.widget(c2.slider, "u₂(0)", -BOX, BOX, step=0.1, key="sp_x_u2")
horizon = STATE.widget(c3.slider, "Horizon T", 0.5, 6.0, step=0.25, key="sp_x_horizon")
try:
    ext = extrapolate(fit_key, model, fit_settings, (float(u1), float(u2)), float(horizon))
except ValueError as problem:
    error_box(str(problem))
    st.stop()
st.session_state["sp_extrapolation_error"] = ext["error"]
ext_key = (fit_key, float(u1), float(u2), float(horizon))
e1, e2 = st.columns(2)
e1.metric(
    "Relative error over the path",
    f"{100 * ext['error']:.1f} %" if np.isfinite(ext["error"]) else "failed",
)
e2.metric("Distance of u₀ from the training start (2, 0)", f"{np.hypot(u1 - 2.0, u2):.2f}")
if not ext["ok"]:
    error_box(
        unsolved_advice(fit_settings, "from this starting point")
        + " It has not learned anything reliable there."
    )
left, right = st.columns(2)
with left:
    show_chart(
        st,
        ("spiral", "extrapolation-series", ext_key),
        lambda: nc.time_series_chart(
            pd.concat(
                [nc.series_frame(ext["ts"], ext[s], NAMES, s) for s in ("true", "learned")],
                ignore_index=True,
            ),
            y_title="u",
            window_end=rc.SPIRAL_T_SPAN[1],
        ),
        width="stretch",
    )
with right:
    show_chart(
        st,
        ("spiral", "extrapolation-phase", ext_key),
        lambda: nc.phase_plane_chart(
            pd.concat(
                [nc.path_frame(ext["ts"], ext[s], s) for s in ("true", "learned")],
                ignore_index=True,
            )
        ),
        width="stretch",
    )

with st.spinner("Solving from every point of a 15 × 15 grid …"):
    emap = error_map(fit_key, model, fit_settings, float(horizon))
heat = nc.heatmap_frame(emap["points"], emap["error_pct"])
st.session_state["sp_error_map"] = heat
markers = pd.DataFrame({"x": data["u0s"][:, 0], "y": data["u0s"][:, 1], "label": "training start"})
markers = pd.concat(
    [markers, pd.DataFrame({"x": [u1], "y": [u2], "label": ["your u₀"]})], ignore_index=True
)
show_chart(
    st,
    ("spiral", "error-map", ext_key),
    lambda: nc.error_heatmap(
        heat, markers=markers, title=f"relative error (%) over t ∈ [0, {horizon:g}]"
    ),
    width="stretch",
)
finite_err = emap["error_pct"][np.isfinite(emap["error_pct"])]
good = float(np.mean(emap["error_pct"] < 10.0)) * 100
st.markdown(
    f"""
**Where can the learned dynamics be trusted?** On this grid the median error is
**{np.median(finite_err) if finite_err.size else float("nan"):.0f} %**, and {good:.0f} % of the
starting points stay under 10 %. Each cell starts the true and the learned system from that
point; dark cells are good.

A fit on the notes' single trajectory can be trusted only near that trajectory. After 300
epochs it follows its own samples to about 10 %, and in our runs starting points elsewhere miss
by 20 to 200 %. Even the preset with 1000 epochs and a decaying rate, which matches its own
trajectory to about 1 %, misses other starting points by 30 to 150 %: the data never showed
the network what happens there. Choose the preset *16 trajectories over the plane*: with
starting points spread over the ring $0.5 \\le |u_0| \\le 2.5$ the field is pinned down almost
everywhere, and held-out starting points inside the ring come out within a few percent over
the training window $[0, 1.5]$ (typically 2 to 8 %; more near and beyond the ring's edge, and
the error grows with the horizon, to about 10 % at $T = 3$).
"""
)

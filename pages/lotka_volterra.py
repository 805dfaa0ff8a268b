"""Lotka–Volterra: fit a neural ODE on a window of a predator–prey series, then extrapolate."""

from resode_ui.advice import divergence_advice
from resode_ui.frame import error_box, page_frame
from resode_ui.live import LiveTraining, training_slots

page_frame()


import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

import resode_core as rc  # noqa: E402
from resode_ui import fit_store as fs, node_charts as nc, url_state as us  # noqa: E402
from resode_ui.chart_cache import show_chart  # noqa: E402

RATES = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1)
DENSE = 256  # points of a drawn curve (the observation solve shares its program)
MAX_FITS = 6  # fits a session keeps for itself (all sessions share more)
WARMUP_EPOCHS = 250  # per stage of the growing window (30 % and 60 % of the samples)
# The page's settings as they appear in its address (see resode_ui/url_state.py).
STATE = us.PageState(
    "lv",
    [
        us.Float("lv_alpha", 1.5, 0.2, 3.0, 0.1),
        us.Float("lv_beta", 1.0, 0.2, 3.0, 0.1),
        us.Float("lv_gamma", 3.0, 0.2, 4.0, 0.1),
        us.Float("lv_delta", 1.0, 0.2, 3.0, 0.1),
        us.Float("lv_prey0", 1.0, 0.2, 6.0, 0.1),
        us.Float("lv_pred0", 1.0, 0.2, 6.0, 0.1),
        us.Float("lv_window", 5.0, 1.0, 12.0, 0.5),
        us.Int("lv_samples", 40, 8, 64),
        us.Float("lv_noise", 0.0, 0.0, 0.3, 0.01),
        us.Int("lv_epochs", 1500, 100, 5000, 100),
        us.Choice("lv_lr", 0.02, RATES),
        us.Flag("lv_grow", True),
        us.Int("lv_seed", 0, 0, 9999),
        us.Float("lv_horizon", 15.0, 2.0, 40.0, 1.0),
    ],
    presets=[
        us.Preset(
            "short-window",
            "A short training window (t_w = 2, less than one cycle): fine inside, lost beyond",
            {"lv_window": 2.0},
        ),
        us.Preset(
            "long-window",
            "A long training window (t_w = 10, over three cycles), 3000 epochs, horizon 30",
            {"lv_window": 10.0, "lv_epochs": 3000, "lv_horizon": 30.0},
        ),
        us.Preset(
            "no-grow",
            "Fit all samples at once (no growing window): a damped imitation",
            {"lv_grow": False},
        ),
        us.Preset("noisy", "Noisy samples (10 % of each population's spread)", {"lv_noise": 0.1}),
    ],
)


@st.cache_data(show_spinner=False, max_entries=32)
def observations(params: tuple, u0: tuple, window: float, n_samples: int, noise: float, seed: int):
    """Samples of the true system on [0, window], with Gaussian noise relative to each range."""
    system = rc.lotka_volterra_system(*params, u0=u0)
    ts = np.linspace(0.0, window, n_samples)
    clean = rc.solve_many(system, [u0], ts)
    if not clean.ok[0]:
        raise ValueError(
            "The true system could not be solved on this window: try other parameters."
        )
    rng = np.random.default_rng(seed)
    spread = clean.ys[0].std(axis=0) + 1e-6
    noisy = clean.ys[0] + noise * spread * rng.standard_normal(clean.ys[0].shape)
    return {"ts": ts, "clean": clean.ys[0], "noisy": noisy}


@st.cache_data(show_spinner=False, max_entries=32)
def true_path(params: tuple, u0: tuple, horizon: float) -> dict:
    system = rc.lotka_volterra_system(*params, u0=u0)
    ts = np.linspace(0.0, horizon, DENSE)
    return {"ts": ts, "ys": rc.solve_many(system, [u0], ts).ys[0]}


@st.cache_data(show_spinner=False, max_entries=32)
def learned_path(
    fit_key: tuple, _model, _settings, horizon: float, first: tuple, mean: tuple, scale: tuple
) -> dict:
    """The learned model from the first sample, mapped back from standardised coordinates."""
    ts = np.linspace(0.0, horizon, DENSE)
    mean, scale = np.asarray(mean), np.asarray(scale)
    start = (np.asarray(first) - mean) / scale
    solved = rc.solve_many(_model, [start], ts, _settings)
    return {"ts": ts, "ys": solved.ys[0] * scale + mean, "ok": bool(solved.ok[0])}


def conserved(params, ys) -> np.ndarray:
    """H = δx − γ ln x + βy − α ln y, constant along every true orbit."""
    a, b, g, d = params
    x, y = ys[:, 0], ys[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return d * x - g * np.log(x) + b * y - a * np.log(y)


def train(
    obs: dict, seed: int, epochs: int, lr: float, grow: bool, slots, start, save_checkpoint
) -> dict:
    """Train, or go on from the checkpoint `start`, streaming a progress bar and the loss curve."""
    # The network works on standardised states z = (u − m)/s, so tanh sees numbers near 0.
    mean, scale = obs["noisy"].mean(axis=0), obs["noisy"].std(axis=0) + 1e-6
    z = (obs["noisy"] - mean) / scale
    settings = rc.solver_settings("tsit5", rtol=1e-5, atol=1e-7)
    total = epochs + (2 * WARMUP_EPOCHS if grow else 0)
    show = LiveTraining(*slots, total, start=start)
    state = rc.init_ode_fit(2, seed=seed, learning_rate=lr, cube_input=False)
    state, losses, grad_norms = rc.train_ode_growing_window(
        state,
        obs["ts"],
        z,
        settings,
        epochs,
        learning_rate=lr,
        final_fraction=0.05,
        warmup_fractions=(0.3, 0.6) if grow else (),
        warmup_epochs=WARMUP_EPOCHS,
        progress=show,
        start=start,
        checkpoint=save_checkpoint,
    )
    show.clear()
    return {
        "model": state.model,
        "settings": settings,
        "losses": losses,
        "diverged": bool(state.diverged),
        "seconds": show.elapsed_s(),
        "mean": mean,
        "scale": scale,
        "first": obs["noisy"][0],
    }


st.title("Lotka–Volterra: learning predator–prey dynamics")
STATE.sync()
st.markdown(
    r"""
The notes' exercise: model the Lotka–Volterra system with a neural ODE. Prey $x$ grow on their
own and are eaten; predators $y$ starve on their own and grow by eating:
"""
)
st.latex(r"\dot x = \alpha x - \beta x y, \qquad \dot y = \delta x y - \gamma y .")
st.markdown(
    r"""
We observe the populations only on a **training window** $[0, t_w]$, fit a neural ODE
$\dot u = V(u;\theta)$ to those samples, and then let it run on to a later horizon. If it has
learned the *rule* rather than the curve, the cycles should continue beyond the window.
"""
)

STATE.controls()
c1, c2, c3 = st.columns(3)
with c1:
    st.markdown("**The true system**")
    alpha = STATE.widget(st.slider, "α (prey growth)", 0.2, 3.0, step=0.1, key="lv_alpha")
    beta = STATE.widget(st.slider, "β (predation)", 0.2, 3.0, step=0.1, key="lv_beta")
    gamma = STATE.widget(st.slider, "γ (predator death)", 0.2, 4.0, step=0.1, key="lv_gamma")
    delta = STATE.widget(st.slider, "δ (predator growth)", 0.2, 3.0, step=0.1, key="lv_delta")
with c2:
    st.markdown("**Observations**")
    prey0 = STATE.widget(st.slider, "Initial prey x(0)", 0.2, 6.0, step=0.1, key="lv_prey0")
    pred0 = STATE.widget(st.slider, "Initial predators y(0)", 0.2, 6.0, step=0.1, key="lv_pred0")
    window = STATE.widget(
        st.slider, "Training window end t_w", 1.0, 12.0, step=0.5, key="lv_window"
    )
    n_samples = STATE.widget(st.slider, "Samples in the window", 8, 64, key="lv_samples")
    noise = STATE.widget(
        st.slider,
        "Noise (fraction of each population's spread)",
        0.0,
        0.3,
        step=0.01,
        key="lv_noise",
    )
with c3:
    st.markdown("**Training and prediction**")
    epochs = STATE.widget(st.slider, "Epochs", 100, 5000, step=100, key="lv_epochs")
    lr = STATE.widget(st.select_slider, "Adam learning rate (decays to 5 %)", RATES, key="lv_lr")
    grow = STATE.widget(
        st.checkbox,
        "Grow the window (fit 30 %, then 60 % of the samples first)",
        key="lv_grow",
        help="250 epochs on each part first: avoids the slow, damped imitations a direct fit "
        "of several cycles tends to settle on.",
    )
    seed = int(STATE.widget(st.number_input, "Seed", 0, 9999, step=1, key="lv_seed"))
    horizon = STATE.widget(st.slider, "Prediction horizon", 2.0, 40.0, step=1.0, key="lv_horizon")

STATE.share_note(
    note="Training is deterministic for a given seed: the link retrains the same network."
)

params = (float(alpha), float(beta), float(gamma), float(delta))
u0 = (float(prey0), float(pred0))
horizon = max(float(horizon), float(window))
try:
    obs = observations(params, u0, float(window), int(n_samples), float(noise), seed)
    truth = true_path(params, u0, horizon)
except ValueError as problem:
    error_box(str(problem))
    st.stop()

fit_key = (
    params,
    u0,
    float(window),
    int(n_samples),
    float(noise),
    seed,
    int(epochs),
    float(lr),
    bool(grow),
)
slots = training_slots()
try:
    fit = fs.shared_fit(
        "lotka_volterra",
        fit_key,
        lambda start, save: train(
            obs, seed, int(epochs), float(lr), bool(grow), slots, start, save
        ),
        session_key="lv_fits",
        keep=MAX_FITS,
        total_epochs=int(epochs) + (2 * WARMUP_EPOCHS if grow else 0),
        notice=slots[0],
    )
except ValueError as problem:
    error_box(str(problem))
    st.stop()
learned = learned_path(
    fit_key,
    fit["model"],
    fit["settings"],
    horizon,
    tuple(map(float, fit["first"])),
    tuple(map(float, fit["mean"])),
    tuple(map(float, fit["scale"])),
)

inside = truth["ts"] <= window
err_in = float(rc.relative_errors(learned["ys"][inside], truth["ys"][inside])[0])
outside = ~inside
err_out = (
    float(rc.relative_errors(learned["ys"][outside], truth["ys"][outside])[0])
    if outside.sum() > 1
    else float("nan")
)
st.session_state["lv_errors"] = {"window": err_in, "beyond": err_out}
finite_losses = fit["losses"][np.isfinite(fit["losses"])]

m1, m2, m3, m4 = st.columns(4)
m1.metric("Error on the window", f"{100 * err_in:.1f} %" if np.isfinite(err_in) else "failed")
m2.metric("Error beyond the window", f"{100 * err_out:.1f} %" if np.isfinite(err_out) else "–")
m3.metric("Final loss", f"{finite_losses[-1]:.3g}" if finite_losses.size else "–")
m4.metric("Training time", f"{fit['seconds']:.1f} s")
if fit["diverged"]:
    error_box(divergence_advice(fit["settings"], float(lr)))
if not learned["ok"]:
    error_box(
        "The learned model blew up before the horizon: it has not captured the dynamics. "
        "Try more epochs, growing the window, or a longer training window."
    )

names = ("prey x", "predators y")
series = pd.concat(
    [
        nc.series_frame(truth["ts"], truth["ys"], names, "true"),
        nc.series_frame(learned["ts"], learned["ys"], names, "learned"),
        nc.series_frame(obs["ts"], obs["noisy"], names, "data"),
    ],
    ignore_index=True,
)
st.session_state["lv_series"] = series
phase = pd.concat(
    [
        nc.path_frame(truth["ts"], truth["ys"], "true"),
        nc.path_frame(learned["ts"], learned["ys"], "learned"),
        nc.path_frame(obs["ts"], obs["noisy"], "data"),
    ],
    ignore_index=True,
)

# Charts of a cached result are converted once (resode_ui/chart_cache.py).
view_key = (fit_key, horizon)
show_chart(
    st,
    ("lotka_volterra", "series", view_key),
    lambda: nc.time_series_chart(series, y_title="population", window_end=float(window)),
    width="stretch",
)
st.caption(
    "Points: the observed samples. Solid: the true populations. Dashed: the neural ODE, started "
    "from the first sample. The grey line marks the end of the training window."
)
left, right = st.columns(2)
with left:
    show_chart(
        st,
        ("lotka_volterra", "phase", view_key),
        lambda: nc.phase_plane_chart(phase, x_title="prey x", y_title="predators y"),
        width="stretch",
    )
    st.caption("The phase plane: true orbits are closed curves.")
with right:
    h_frame = pd.concat(
        [
            nc.series_frame(truth["ts"], conserved(params, truth["ys"]), ["H"], "true"),
            nc.series_frame(learned["ts"], conserved(params, learned["ys"]), ["H"], "learned"),
        ],
        ignore_index=True,
    ).dropna()
    show_chart(
        st,
        ("lotka_volterra", "conserved", view_key),
        lambda: nc.time_series_chart(h_frame, y_title="H(x, y)", window_end=float(window)),
        width="stretch",
    )
    st.caption("The conserved quantity H along the true and the learned path.")

history = pd.DataFrame({"epoch": np.arange(1, fit["losses"].size + 1), "loss": fit["losses"]})
with st.expander("Training history"):
    show_chart(
        st,
        ("lotka_volterra", "loss", fit_key),
        lambda: nc.history_chart(history, y_title="loss (sum of squares, standardised)"),
        width="stretch",
    )
    st.caption(
        "With a growing window the loss jumps up twice, when more samples join the sum; the "
        "last stage fits all of them."
    )

st.subheader("How it works")
st.markdown(
    rf"""
1. **Data.** The true system is solved from $(x_0, y_0) = ({u0[0]:g}, {u0[1]:g})$ and sampled
   {int(n_samples)} times on $[0, {window:g}]$ (plus noise if you ask for it).
2. **Scaling.** Populations are of order one to ten and never negative, while a $\tanh$ layer
   works best on inputs near zero. So the network sees standardised states
   $z = (u - m)/s$, with $m$ and $s$ the mean and spread of the samples. This is just a change
   of coordinates: $\dot z = V(z;\theta)$ in $z$ is $\dot u = s\,V((u-m)/s;\theta)$ in $u$.
   Unlike the spiral there is no $u^3$ first layer: nothing in Lotka–Volterra is cubic.
3. **Model and loss.** $V(z;\theta) = W_2\tanh(W_1 z + b_1) + b_2$ with 50 hidden units,
   solved with Tsit5 (rtol $10^{{-5}}$). The loss is the sum of squared differences at the
   samples; Adam's rate decays from {lr:g} to 5 % of it.
4. **Growing the window.** Matching several cycles at once has many poor local minima (a damped
   spiral that passes through the middle of the data). Fitting the first 30 % and 60 % of
   the samples first gives the optimiser a curve it can follow, then the rest is extended.
5. **Extrapolation.** Beyond $t_w$ the network gets no data. The true orbits are closed because
   $H = \delta x - \gamma\ln x + \beta y - \alpha\ln y$ is conserved. The network does not know
   that; a small error in $V$ makes the learned orbit spiral slowly in or out, and a small error
   in the period shifts the phase, which is why the error beyond the window grows with the
   horizon. Try a longer window, fewer samples, or noise, and watch the right-hand chart.
"""
)

"""Lotka–Volterra: fit a neural ODE on a window of a predator–prey series, then extrapolate."""

import numpy as np
import pandas as pd
import streamlit as st

from resode_ui import chart_parts as cp, node_charts as nc, play, teach, widgets as ui
from resode_ui.advice import divergence_advice
from resode_ui.lessons import lotka_volterra as lv

NAMES = ("prey x", "predators y")
D = lv.LotkaVolterraSettings()  # the defaults
BEYOND = "beyond the training window"
chosen = {}  # field -> the widget's value


def slider(field: str, label: str, low, high, step, where=st) -> None:
    default = getattr(D, field)
    chosen[field] = where.slider(label, low, high, default, step, key=f"lv_{field}", **ui.BOUND)


# ----------------------------------------------------------------------------- sidebar
with ui.controls(st.sidebar):
    ui.preset_selector("lv", lv.PRESETS)
teach.glossary("neural ODE", "tolerance", "XLA", where=st.sidebar)

# ----------------------------------------------------------------------------- first screen
st.title("Lotka–Volterra: predators and prey")
st.markdown(
    "A neural ODE sees the two populations only on a **training window** [0, t_w] and must "
    "learn the rule that drives them; then it runs on alone. If it learned the rule and not "
    "just the curve, the cycles go on beyond the window."
)
answer = teach.question("lv_question", lv.QUESTION, lv.QUESTION_OPTIONS)
with ui.controls():
    c1, c2, c3 = st.columns([2, 2, 3], vertical_alignment="bottom")
    slider("window", "Training window end t_w", 1.0, 12.0, 0.5, where=c1)
    slider("horizon", "Prediction horizon", 2.0, 40.0, 1.0, where=c2)
    chosen["grow"] = c3.checkbox(
        "Grow the window (30 %, 60 %, then all samples)",
        D.grow,
        key="lv_grow",
        help=f"{lv.WARMUP_EPOCHS} epochs on each part first. A direct fit of several "
        "cycles can settle in a poor local minimum: compare the preset 'Fit all samples at "
        "once'.",
        **ui.BOUND,
    )

with ui.controls(st.sidebar):
    st.markdown("**The true system**")
    slider("alpha", "α (prey growth)", 0.2, 3.0, 0.1)
    slider("beta", "β (predation)", 0.2, 3.0, 0.1)
    slider("gamma", "γ (predator death)", 0.2, 4.0, 0.1)
    slider("delta", "δ (predator growth)", 0.2, 3.0, 0.1)
    st.markdown("**Observations**")
    slider("prey0", "Initial prey x(0)", 0.2, 6.0, 0.1)
    slider("pred0", "Initial predators y(0)", 0.2, 6.0, 0.1)
    slider("samples", "Samples in the window", 8, 64, 1)
    slider("noise", "Noise (fraction of each population's spread)", 0.0, 0.3, 0.01)
    st.markdown("**Training**")
    slider("epochs", "Epochs", 100, 5000, 100)
    chosen["lr"] = st.select_slider(
        f"Adam learning rate (decays to {100 * lv.FINAL_RATE:g} %)",
        lv.RATES,
        D.lr,
        key="lv_lr",
        **ui.BOUND,
    )
    chosen["seed"] = int(st.number_input("Seed", 0, 9999, D.seed, 1, key="lv_seed", **ui.BOUND))
ui.share_link(
    "Training is deterministic for a given seed: the link retrains the same network.", st.sidebar
)

settings = lv.LotkaVolterraSettings(**chosen)
result = ui.result_of(lv.lesson, settings)
fit, data = result.fit, result.data
preset = teach.matching_preset(lv.PRESETS, st.session_state.get("lv_preset"), settings)


def percent(error: float, missing: str) -> str:
    return f"{100 * error:.1f} %" if np.isfinite(error) else missing


if fit.diverged:
    ui.problem(divergence_advice(lv.SOLVE, settings.lr))
if not result.learned_ok:
    ui.problem(
        "The learned model blew up before the horizon: it has not captured the dynamics. "
        "Try more epochs, growing the window, or a longer training window."
    )


def populations(learned: np.ndarray) -> pd.DataFrame:
    """The chart's rows: true and `learned` populations over [0, horizon], the samples."""
    curves = {
        "true": (result.ts, result.true),
        "learned": (result.ts, learned),
        "data": (data.ts, data.noisy),
    }
    return pd.concat(
        [nc.series_frame(ts, ys, NAMES, source) for source, (ts, ys) in curves.items()],
        ignore_index=True,
    )


axes = {  # fixed axes: the same in the main chart and in every frame of Play
    "y_title": "population",
    "window_end": settings.window,
    "regions": ((settings.window, result.horizon, BEYOND),),
    "x_domain": (0.0, result.horizon),
    "y_domain": lv.population_domain(result),
}
ui.chart(nc.time_series_chart, populations(result.learned), **axes)
revealed = lv.beyond_answer(result)
if revealed is None:
    st.caption(
        "The horizon ends inside the training window, so nothing is predicted beyond it: move "
        "the horizon past t_w to check your prediction."
    )
else:
    teach.reveal(answer, *revealed)
st.caption(
    "Colour is the population (prey green, predators brown); solid the true populations, "
    "dashed the neural ODE started from the first sample, points the observed samples. The "
    "grey band is beyond the training window: no sample there was used in training."
)
if note := lv.orbit_note(result):
    st.caption(note)
teach.what_you_should_see(lv.SHOULD_SEE, preset)
m1, m2, m3, m4 = st.columns(4)
m1.metric(
    "Error on the window",
    percent(result.error_window, "failed"),
    help="Relative path error ‖u_θ − u‖ / ‖u‖ of the learned against the true populations, "
    "over [0, t_w].",
)
m2.metric(
    "Error beyond the window",
    percent(result.error_beyond, "–"),
    help="The same error from t_w to the horizon.",
)
m3.metric("Final loss", f"{fit.final_loss:.3g}" if np.isfinite(fit.final_loss) else "–")
m4.metric("Training time", f"{fit.seconds:.1f} s")

# ----------------------------------------------------------------------------- training, played
st.subheader("Watch it train")
epochs_shown = lv.frame_epochs(result.settings)
history = pd.DataFrame({"epoch": np.arange(1, fit.epochs + 1), "loss": fit.losses})
loss_axis = cp.log_domain(fit.losses)


def draw(i: int) -> None:
    """Frame i: the learned populations after epochs_shown[i] epochs, and the loss until then."""
    left, right = st.columns([3, 2])
    if i == len(epochs_shown) - 1:  # the finished fit: no replay needed
        learned, done = result.learned, fit.epochs
    else:
        with st.spinner("Replaying the training (once) …"):
            frames = lv.training_frames(result.settings, result.horizon)
        k = min(i, len(frames["epochs"]) - 1)
        learned, done = frames["learned"][k], int(frames["epochs"][k])
    ui.chart(nc.time_series_chart, populations(learned), **axes, where=left)
    play.loss_so_far(history, done, fit.epochs, "loss (standardised)", loss_axis, where=right)


play.player(
    "lv_train",
    play.frame_labels(epochs_shown, "epoch {:g}"),
    draw,
    title="epoch",
    of=(result.settings, result.horizon),
)
jumps = lv.loss_jumps(fit) if settings.grow else []
st.caption(
    "**Play** replays the training chunk by chunk, from the untrained field (epoch 0) to the "
    "finished fit, on the axes of the chart above; right, the loss (sum of squares of the "
    "standardised populations) so far."
    + (
        " With a growing window, the loss goes "
        + " and ".join(f"from {a:.3g} to {b:.3g} at epoch {e}" for e, a, b in jumps)
        + ", as more samples join the sum. The last stage fits all of them."
        if jumps
        else ""
    )
)

# ----------------------------------------------------------------------------- further sections
with ui.more("More: the phase plane, the conserved quantity, and how it works"):
    left, right = st.columns(2)
    phase = pd.concat(
        [
            nc.path_frame(result.ts, result.true, "true"),
            nc.path_frame(result.ts, result.learned, "learned"),
            nc.path_frame(data.ts, data.noisy, "data"),
        ],
        ignore_index=True,
    )
    ui.chart(nc.phase_plane_chart, phase, x_title=NAMES[0], y_title=NAMES[1], where=left)
    left.caption(
        "The phase plane, on equal scales: true orbits (solid, near-black) are closed curves; "
        "the learned one is dashed orange."
    )
    conserved = pd.concat(
        [
            nc.series_frame(result.ts, lv.conserved(settings.params, ys), ["H"], source)
            for source, ys in (("true", result.true), ("learned", result.learned))
        ],
        ignore_index=True,
    ).dropna()
    if cp.can_draw(conserved, "value"):
        ui.chart(
            nc.time_series_chart,
            conserved,
            y_title="H(x, y)",
            window_end=settings.window,
            regions=((settings.window, result.horizon, BEYOND),),
            x_domain=(0.0, result.horizon),
            color_by="source",
            where=right,
        )
    else:
        right.caption("H is not defined here: a learned population is zero or negative throughout.")
    right.caption(
        "The conserved quantity H along the true path (solid, near-black) and the learned one "
        "(dashed, orange); H needs both populations positive, so it stops where one is not."
    )

    st.subheader("How it works")
    st.latex(r"\dot x = \alpha x - \beta x y, \qquad \dot y = \delta x y - \gamma y .")
    s = settings
    st.markdown(
        rf"""
The notes' exercise: model the Lotka–Volterra system with a neural ODE. Prey $x$ grow on their
own and are eaten; predators $y$ starve on their own and grow by eating.

1. **Data.** The true system is solved from $(x_0, y_0) = ({s.prey0:g}, {s.pred0:g})$ and sampled
   {s.samples} times on $[0, {s.window:g}]$ (plus noise if you ask for it).
2. **Scaling.** Populations are positive, of order one to ten with the default parameters,
   while a $\tanh$ layer works best on inputs near zero. So the network sees standardised states
   $z = (u - m)/s$, with $m$ and $s$ the mean and spread of the samples. This is just a change
   of coordinates: $\dot z = V(z;\theta)$ in $z$ is $\dot u = s\,V((u-m)/s;\theta)$ in $u$.
   Unlike the spiral there is no $u^3$ first layer: nothing in Lotka–Volterra is cubic.
3. **Model and loss.** $V(z;\theta) = W_2\tanh(W_1 z + b_1) + b_2$ with {lv.WIDTH} hidden units,
   solved with Tsit5 (rtol $10^{{{np.log10(lv.SOLVE.rtol):.0f}}}$). The loss is the sum of
   squared differences at the samples; Adam's rate decays from {s.lr:g} to
   {100 * lv.FINAL_RATE:g} % of it.
4. **Growing the window.** A fit of several cycles at once can settle in a poor local minimum:
   with the default settings and no growing window (preset *Fit all samples at once*), the
   error on the window is several times larger and the learned orbit spirals outward. Fitting
   the first 30 % and then 60 % of the samples first gives the optimiser a shorter curve to
   follow before it sees all of them. It is no cure-all: with the window at $t_w = 10$ (the
   long-window preset) the fit still ends on a cycle of the wrong size.
5. **Extrapolation.** Beyond $t_w$ the network gets no data. The true orbits are closed because
   $H = \delta x - \gamma\ln x + \beta y - \alpha\ln y$ is conserved. The network does not know
   that: a small error in $V$ makes the learned orbit spiral slowly in or out, and a small error
   in the period shifts the phase, so the error beyond the window tends to grow with the
   horizon (with the default settings it does, from horizon 10 to 40). Try a longer window,
   fewer samples, or noise, and watch the chart of H.
"""
    )

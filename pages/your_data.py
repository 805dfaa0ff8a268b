"""Your own time series: upload a CSV, fit a neural ODE, extrapolate, export, compare solvers."""

from resode_ui.advice import divergence_advice, unsolved_advice
from resode_ui.frame import error_box, page_frame
from resode_ui.live import LiveTraining, training_slots

page_frame()

import hashlib  # noqa: E402
import secrets  # noqa: E402
from pathlib import Path  # noqa: E402

import altair as alt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

import resode_core as rc  # noqa: E402
from resode_ui import (  # noqa: E402
    exports as ex,
    fit_store as fs,
    node_charts as nc,
    uploads as up,
    url_state as us,
)
from resode_ui.chart_cache import show_chart  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example_oscillator.csv"
ADAPTIVE, FIXED = "adaptive (rtol, atol)", "fixed Δt"
RATES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
DECAYS = (1.0, 0.3, 0.1, 0.05, 0.02, 0.01)
TOLERANCES = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9)
STEP_FRACTIONS = (1.0, 0.5, 0.25, 0.125, 0.0625)  # Δt as a fraction of the mean sample spacing
WARMUP_EPOCHS = 150  # per warm-up stage of the growing window (30 % and 60 % of the samples)
WIDTH = 50
DENSE = 200  # points of each drawn prediction
MAX_FITS = 4  # fits a session keeps for itself (all sessions share more)
MAX_PARAM_BYTES = 1024 * 1024

STATE = us.PageState(
    "yd",
    [
        us.Float("yd_train_frac", 0.75, 0.3, 1.0, 0.05),
        us.Flag("yd_standardise", True),
        us.Flag("yd_cube", False),
        us.Int("yd_seed", 0, 0, 9999),
        us.Int("yd_epochs", 2000, 50, 5000, 50),
        us.Choice("yd_lr", 0.01, RATES),
        us.Choice("yd_decay", 0.1, DECAYS),
        us.Flag("yd_grow", True),
        us.Choice("yd_solver", "tsit5", rc.SOLVER_NAMES),
        us.Choice(
            "yd_stepping",
            ADAPTIVE,
            (ADAPTIVE, FIXED),
            tokens={ADAPTIVE: "adaptive", FIXED: "fixed"},
        ),
        us.Choice("yd_rtol", 1e-5, TOLERANCES),
        us.Choice("yd_atol", 1e-7, TOLERANCES),
        us.Choice("yd_dt", 0.25, STEP_FRACTIONS),
        us.Float("yd_horizon", 0.25, 0.0, 1.0, 0.05),
        us.Flag("yd_compare", False),
        us.Choice("yd_b_solver", "euler", rc.SOLVER_NAMES),
    ],
    presets=[
        us.Preset("quick", "A quick fit: 500 epochs", {"yd_epochs": 500}),
        us.Preset(
            "tsit5-vs-euler",
            "Solver A vs B: Tsit5 vs Euler with Δt = one sample spacing",
            {"yd_compare": True, "yd_b_solver": "euler", "yd_dt": 1.0, "yd_epochs": 1000},
        ),
        us.Preset(
            "no-window",
            "Without the growing window: stuck in a poor fit",
            {"yd_grow": False, "yd_epochs": 1000},
        ),
        us.Preset("all-data", "Fit every sample (nothing held out)", {"yd_train_frac": 1.0}),
    ],
)


def _safe(text: str) -> str:
    """A name from the user's file, made inert for Markdown (shown, never interpreted)."""
    cleaned = "".join(ch for ch in str(text)[:40] if ch.isprintable())
    return "".join("\\" + ch if ch in "\\`*_{}[]()<>#+-.!|~$" else ch for ch in cleaned)


def _solver_label(name: str) -> str:
    return rc.SOLVERS[name].label


# ----------------------------------------------------------------------------- cached work


@st.cache_data(show_spinner=False)
def example_bytes() -> bytes:
    return EXAMPLE.read_bytes()


@st.cache_data(show_spinner=False, max_entries=8)
def parsed_table(raw: bytes) -> pd.DataFrame:
    return up.read_table(raw)


@st.cache_data(show_spinner=False, max_entries=32)
def predictions(
    fit_id: tuple, _model, _settings, _scaling: up.Scaling, ts, y0, horizon: float
) -> dict:
    """The model from the first sample: on a dense grid (charts) and at table times (CSV)."""
    ts = np.asarray(ts, dtype=np.float64)
    span = float(ts[-1] - ts[0])
    end = ts[-1] + horizon * span
    dense = np.linspace(ts[0], end, DENSE)
    spacing = span / (ts.size - 1)
    extra = int(np.floor(horizon * span / spacing + 1e-9))
    table_ts = np.concatenate([ts, ts[-1] + spacing * np.arange(1, extra + 1)])
    scaling = _scaling  # part of fit_id: a fit's scaling never changes
    start = scaling.states(np.asarray(y0)[None])
    # One solve on the union of both grids (one compiled shape, half the work).
    grid, inverse = np.unique(np.concatenate([dense, table_ts]), return_inverse=True)
    solved = rc.solve_many(_model, start, scaling.times(grid), _settings)
    values = scaling.original_states(solved.ys[0])[inverse]
    ok = bool(solved.ok[0])
    return {
        "dense": {"t": dense, "ys": values[:DENSE], "ok": ok},
        "table": {"t": table_ts, "ys": values[DENSE:], "ok": ok},
    }


def total_epochs(spec: dict) -> int:
    return spec["epochs"] + (2 * WARMUP_EPOCHS if spec["grow"] else 0)


def train(spec: dict, tau, z, settings, label: str, slots, start, save_checkpoint) -> dict:
    """Train on the training window, or go on from the checkpoint `start`, streaming progress."""
    n_train = spec["n_train"]
    total = total_epochs(spec)
    show = LiveTraining(*slots, total, label=label, start=start)
    state = rc.init_ode_fit(
        z.shape[1],
        width=WIDTH,
        seed=spec["seed"],
        learning_rate=spec["lr"],
        cube_input=spec["cube"],
    )
    if spec["grow"]:
        state, losses, grad_norms = rc.train_ode_growing_window(
            state,
            tau[:n_train],
            z[:n_train],
            settings,
            spec["epochs"],
            learning_rate=spec["lr"],
            final_fraction=spec["decay"],
            warmup_fractions=(0.3, 0.6),
            warmup_epochs=WARMUP_EPOCHS,
            progress=show,
            start=start,
            checkpoint=save_checkpoint,
        )
    else:
        state, losses, grad_norms = rc.train_ode_streaming(
            state,
            rc.trajectory_data(tau[:n_train], z[:n_train]),
            settings,
            spec["epochs"],
            learning_rate=spec["lr"],
            final_fraction=spec["decay"],
            progress=show,
            start=start,
            checkpoint=save_checkpoint,
        )
    show.clear()
    return {
        "model": state.model,
        "settings": settings,
        "losses": np.asarray(losses),
        "grad_norms": np.asarray(grad_norms),
        "diverged": bool(state.diverged),
        "seconds": show.elapsed_s(),
        "epochs": int(np.asarray(losses).size),
    }


def solver_spec(name: str, fixed_wanted: bool, tau_spacing: float) -> dict:
    """How one configuration integrates: the solver, adaptive or fixed, and its numbers."""
    fixed = fixed_wanted or not rc.SOLVERS[name].adaptive
    return {
        "solver": name,
        "adaptive": not fixed,
        "dt": float(st.session_state["yd_dt"]) * tau_spacing if fixed else None,
        "rtol": float(st.session_state["yd_rtol"]),
        "atol": float(st.session_state["yd_atol"]),
    }


def settings_from(spec: dict):
    return rc.solver_settings(spec["solver"], dt=spec["dt"], rtol=spec["rtol"], atol=spec["atol"])


def rmse(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.sqrt(np.mean((a - b) ** 2))) if a.size else float("nan")


# ----------------------------------------------------------------------------- page

st.title("Your own time series")
STATE.sync()
st.markdown(
    r"""
Bring a time series of your own and let a neural ODE (Chen et al., 2018) find a rule for it:
a vector field $V(u;\theta)$ whose solution of $\dot u = V(u;\theta)$, started from your first
sample, passes through your data. The network and the training are the ones of the spiral page:
$V(u;\theta) = W_2 \tanh(W_1 \phi(u) + b_1) + b_2$ with 50 hidden units, the sum of squared
errors as the loss, Adam, and gradients through the solver.

The fit only sees the **training window**, the first part of the samples; the rest are
**held out**, and the model then runs on past your last sample. Whether it follows the held-out
samples is the honest test of what it learned.
"""
)

STATE.controls()

# --- the data
st.header("1 · Data")
uploaded = st.file_uploader(
    "CSV file: a header line, a time column and one or more state columns",
    type=["csv", "txt"],
    key="yd_file",
    max_upload_size=up.MAX_UPLOAD_MB,
    help=f"At most {up.MAX_UPLOAD_MB} MB and {up.MAX_ROWS:,} rows; comma, semicolon or tab "
    "separated; a dot as the decimal separator.",
)
try:
    if uploaded is None:
        raw, source = example_bytes(), "example_oscillator.csv"
        st.caption(
            "No file uploaded, so the page uses the example shipped with the app: a damped "
            "oscillator x″ + 0.1x′ + x = 0 (columns t, x = position, y = velocity) sampled at 40 "
            "times on [0, 12]."
        )
        st.download_button(
            "Download the example CSV",
            raw,
            file_name="example_oscillator.csv",
            mime=ex.MIME["csv"],
            key="yd_example_download",
            on_click="ignore",
        )
    else:
        up.check_size(uploaded.size)  # before reading a byte of it
        raw, source = uploaded.getvalue(), uploaded.name
    table = parsed_table(raw)
except up.UploadError as problem:
    error_box(str(problem))
    st.stop()

data_id = hashlib.sha1(raw).hexdigest()[:16]
numeric = up.numeric_columns(table) or list(table.columns)
default_time, default_states = up.default_columns(table)
# A new file (or a return to this page, which drops widget state) starts from the guess.
if st.session_state.get("_yd_data_id") != data_id or "yd_states" not in st.session_state:
    st.session_state["_yd_data_id"] = data_id
    st.session_state["yd_time"] = default_time
    st.session_state["yd_states"] = default_states
if st.session_state.get("yd_time") not in numeric:
    st.session_state["yd_time"] = default_time
c1, c2 = st.columns([1, 2])
time_column = c1.selectbox("time column", numeric, key="yd_time")
state_options = [c for c in numeric if c != time_column]
kept = [c for c in st.session_state.get("yd_states", []) if c in state_options][: up.MAX_STATES]
if kept != st.session_state.get("yd_states"):
    st.session_state["yd_states"] = kept
state_columns = c2.multiselect(
    "state columns (the ODE's unknowns)",
    state_options,
    key="yd_states",
    max_selections=up.MAX_STATES,
)
try:
    ts, ys = up.time_series(table, time_column, state_columns)
except up.UploadError as problem:
    error_box(str(problem))
    st.stop()
names = list(state_columns)
n = ts.size
st.caption(
    f"{_safe(source)}: {n} samples of {len(names)} state(s), t from {ts[0]:g} to {ts[-1]:g}."
)

# --- controls (those of the spiral page, plus the training window)
st.header("2 · Fit")
data_col, train_col, solver_col = st.columns(3)
with data_col:
    st.markdown("**Data**")
    train_frac = STATE.widget(
        st.slider,
        "training window (fraction of the samples)",
        0.3,
        1.0,
        step=0.05,
        key="yd_train_frac",
        help="The first part of the samples is fitted; the rest is held out for testing.",
    )
    standardise = STATE.widget(
        st.checkbox,
        "standardise (each state to mean 0, sd 1; time to [0, 10])",
        key="yd_standardise",
        help="The network works best with numbers near 1. Predictions are mapped back to "
        "your units.",
    )
    cube = STATE.widget(
        st.checkbox,
        "cube the input first (φ(u) = u³, as the notes)",
        key="yd_cube",
        help="The notes' first layer for the spiral. For most data φ(u) = u works better.",
    )
    seed = int(STATE.widget(st.number_input, "seed", 0, 9999, step=1, key="yd_seed"))
with train_col:
    st.markdown("**Training**")
    epochs = STATE.widget(st.slider, "epochs", 50, 5000, step=50, key="yd_epochs")
    lr = STATE.widget(st.select_slider, "Adam learning rate", RATES, key="yd_lr")
    decay = STATE.widget(
        st.select_slider,
        "final learning rate (fraction of the first)",
        DECAYS,
        key="yd_decay",
    )
    grow = STATE.widget(
        st.checkbox,
        f"growing window (first fit 30 %, then 60 % of the window, {WARMUP_EPOCHS} epochs each)",
        key="yd_grow",
        help="Fitting several oscillations at once often ends in a slow, damped imitation; "
        "fitting the beginning first avoids that local minimum.",
    )
with solver_col:
    st.markdown("**Solver**")
    solver = STATE.widget(
        st.selectbox, "ODE solver", rc.SOLVER_NAMES, format_func=_solver_label, key="yd_solver"
    )
    stepping = STATE.widget(
        st.radio,
        "step control",
        (ADAPTIVE, FIXED),
        key="yd_stepping",
        disabled=not rc.SOLVERS[solver].adaptive,
        help="Euler and RK4 have no error estimate, so they always take fixed steps.",
    )
    compare = STATE.widget(
        st.toggle,
        "compare with a second solver (B)",
        key="yd_compare",
        help="Train a second model with the same data, seed and settings but another solver, "
        "and show both on shared axes.",
    )
    solver_b = solver
    if compare:
        solver_b = STATE.widget(
            st.selectbox,
            "solver B",
            rc.SOLVER_NAMES,
            format_func=_solver_label,
            key="yd_b_solver",
        )
    fixed_a = stepping == FIXED or not rc.SOLVERS[solver].adaptive
    fixed_b = compare and (stepping == FIXED or not rc.SOLVERS[solver_b].adaptive)
    any_fixed = fixed_a or fixed_b
    any_adaptive = not fixed_a or (compare and not fixed_b)
    STATE.widget(st.select_slider, "rtol", TOLERANCES, key="yd_rtol", disabled=not any_adaptive)
    STATE.widget(st.select_slider, "atol", TOLERANCES, key="yd_atol", disabled=not any_adaptive)
    STATE.widget(
        st.select_slider,
        "fixed Δt (fraction of the mean sample spacing)",
        STEP_FRACTIONS,
        key="yd_dt",
        disabled=not any_fixed,
    )
horizon = STATE.widget(
    st.slider,
    "run the model on past the last sample by (fraction of the data's time span)",
    0.0,
    1.0,
    step=0.05,
    key="yd_horizon",
)
STATE.share_note(
    note="A link holds the page's settings, not your file: opened without an upload it "
    "reproduces the fit on the example data. Share your CSV alongside the link."
)

n_train = min(n, max(3, int(round(train_frac * n))))
scaling = up.fit_scaling(ts, ys, n_train, standardise=bool(standardise))
tau, z = scaling.times(ts), scaling.states(ys)
tau_spacing = float(tau[-1] - tau[0]) / (n - 1)

# --- a parameter file, if one is loaded, replaces training
with st.expander("Load trained parameters instead of training", expanded=False):
    st.markdown(
        "Upload a parameter file downloaded from this page (section 4). The page then skips "
        "training and uses those parameters, with the scaling and solver they were trained "
        "with, so the same data give the same predictions."
    )
    param_file = st.file_uploader(
        "parameter file (.resode)", type=["resode", "bin"], key="yd_params", max_upload_size=1
    )

configs = []  # (label, fit, spec) for A and, in comparison mode, B
if param_file is not None:
    try:
        up.check_size(param_file.size, max_bytes=MAX_PARAM_BYTES)
        param_bytes = param_file.getvalue()
        model, meta = rc.vector_field_from_bytes(param_bytes)
        if model.dim != len(names):
            raise ValueError(
                f"These parameters were trained on {model.dim} state(s) "
                f"({', '.join(_safe(c) for c in meta.get('state_columns', []))}); "
                f"choose {model.dim} state column(s)."
            )
        loaded_scaling = up.Scaling.from_dict(meta.get("scaling", {}), model.dim)
        solver_meta = meta.get("solver", {})
        spec = {
            "solver": str(solver_meta.get("solver")),
            "adaptive": bool(solver_meta.get("adaptive")),
            "dt": solver_meta.get("dt"),
            "rtol": solver_meta.get("rtol"),
            "atol": solver_meta.get("atol"),
        }
        if spec["solver"] not in rc.SOLVER_NAMES:
            raise ValueError("The parameter file names an unknown solver.")
        settings = rc.solver_settings(
            spec["solver"],
            dt=None if spec["adaptive"] else float(spec["dt"]),
            rtol=float(spec["rtol"]),
            atol=float(spec["atol"]),
        )
    except (ValueError, TypeError) as problem:
        error_box(f"The parameter file cannot be used: {problem}")
        st.stop()
    scaling = loaded_scaling
    fit = {
        "model": model,
        "settings": settings,
        "losses": np.zeros(0),
        "grad_norms": np.zeros(0),
        "diverged": False,
        "seconds": 0.0,
        "epochs": int(meta.get("epochs", 0)) if isinstance(meta.get("epochs"), int) else 0,
        "loaded": True,
    }
    fit_id = ("loaded", hashlib.sha1(param_bytes).hexdigest(), data_id, time_column, tuple(names))
    configs.append(("loaded parameters", fit, spec, fit_id))
    st.info(
        f"Using the parameters from {_safe(param_file.name)} ({_solver_label(spec['solver'])}, "
        f"trained for {fit['epochs']} epochs). The training controls are ignored until you "
        "remove the file.",
        icon="📦",
    )
else:
    base_spec = {
        "n_train": n_train,
        "seed": seed,
        "epochs": int(epochs),
        "lr": float(lr),
        "decay": float(decay),
        "grow": bool(grow),
        "cube": bool(cube),
    }
    wanted = [("A", solver)] + ([("B", solver_b)] if compare else [])
    # A student's own data is theirs: fits of an upload are keyed to this session, so no one
    # else can even notice (by a fit appearing at once) that the same file was uploaded.
    owner = (
        "example"
        if uploaded is None
        else st.session_state.setdefault("yd_owner", secrets.token_hex(16))
    )
    for label, name in wanted:
        spec = solver_spec(name, stepping == FIXED, tau_spacing)
        fit_id = (
            data_id,
            owner,
            time_column,
            tuple(names),
            bool(standardise),
            *sorted(base_spec.items()),
            *sorted((k, v) for k, v in spec.items()),
        )
        slots = training_slots()
        try:
            settings = settings_from(spec)
            # The example's fits are shared by every session; an upload's stay its owner's.
            fit = fs.shared_fit(
                "your_data",
                fit_id,
                lambda start, save, settings=settings, name=name, label=label, slots=slots: train(
                    base_spec, tau, z, settings, f"{label} ({name})", slots, start, save
                ),
                session_key="yd_fits",
                keep=MAX_FITS,
                total_epochs=total_epochs(base_spec),
                persist=uploaded is None,  # an upload's fits never touch the disk
                notice=slots[0],
            )
        except ValueError as problem:
            error_box(str(problem))
            st.stop()
        shown = f"{label}: {_solver_label(name)}" if compare else _solver_label(name)
        configs.append((shown, fit, spec, fit_id))

# --- results
results = []
for label, fit, spec, fit_id in configs:
    pred = predictions(fit_id, fit["model"], fit["settings"], scaling, ts, ys[0], float(horizon))
    at_samples = pred["table"]["ys"][:n]
    results.append(
        {
            "label": label,
            "fit": fit,
            "spec": spec,
            "fit_id": fit_id,
            "pred": pred,
            "rmse_train": rmse(at_samples[:n_train], ys[:n_train]),
            "rmse_test": rmse(at_samples[n_train:], ys[n_train:]),
        }
    )
spread = float(np.sqrt(np.mean((ys - ys.mean(axis=0)) ** 2))) or 1.0

st.header("3 · Fit and extrapolation")
for result in results:
    fit = result["fit"]
    losses = fit["losses"]
    cols = st.columns(5)
    prefix = f"{result['label']}: " if len(results) > 1 else ""
    cols[0].metric(
        f"{prefix}RMSE, training window",
        f"{result['rmse_train']:.3g}",
        help=f"Root-mean-square error over the first {n_train} samples, in your units.",
    )
    cols[1].metric(
        f"{prefix}RMSE, held-out samples",
        f"{result['rmse_test']:.3g}" if n_train < n else "none held out",
        help=f"Over the last {n - n_train} samples, never seen in training.",
    )
    cols[2].metric(
        f"{prefix}held-out RMSE / data spread",
        f"{100 * result['rmse_test'] / spread:.1f} %" if n_train < n else "–",
        help="The held-out RMSE divided by the root-mean-square deviation of the data from "
        "its mean.",
    )
    cols[3].metric(f"{prefix}final loss", f"{losses[-1]:.4g}" if losses.size else "–")
    cols[4].metric(
        f"{prefix}training time",
        f"{fit['seconds']:.2f} s" if not fit.get("loaded") else "loaded",
    )
    if fit["diverged"]:
        error_box(divergence_advice(fit["settings"], float(lr), what=result["label"]))
    if not (result["pred"]["dense"]["ok"] and result["pred"]["table"]["ok"]):
        st.warning(
            f"{result['label']}: "
            + unsolved_advice(fit["settings"], "over the whole range")
            + " The curve stops being reliable where it breaks off."
        )

window_end = float(ts[n_train - 1]) if n_train < n else None
series_frames = []
for result in results:
    rows = []
    for k, name in enumerate(names):
        rows.append(
            pd.DataFrame(
                {
                    "t": result["pred"]["dense"]["t"],
                    "value": result["pred"]["dense"]["ys"][:, k],
                    "series": name,
                    "source": "learned",
                }
            )
        )
        rows.append(pd.DataFrame({"t": ts, "value": ys[:, k], "series": name, "source": "data"}))
    series_frames.append(pd.concat(rows, ignore_index=True))
st.session_state["yd_series_frames"] = series_frames


def fit_chart() -> alt.TopLevelMixin:
    charts = [
        nc.time_series_chart(frame, y_title="state", window_end=window_end)
        for frame in series_frames
    ]
    if len(charts) == 1:
        return charts[0]
    return alt.hconcat(
        *(c.properties(title=r["label"], width=380) for c, r in zip(charts, results, strict=True))
    ).resolve_scale(x="shared", y="shared")


# Charts of cached fits are converted once (resode_ui/chart_cache.py). An upload's fit_id
# holds its owner's session token, so its charts are found only by that session.
view_key = (
    tuple(r["fit_id"] for r in results),
    tuple(r["label"] for r in results),
    tuple(names),
    int(n_train),
    float(horizon),
)
show_chart(st, ("your_data", "fit", view_key), fit_chart, width="stretch")
st.caption(
    "Points: your samples. Dashed: the learned solution from the first sample, run past the last "
    "sample. Grey dashed line: the end of the training window; everything right of it was never "
    "used in training."
)
if len(names) == 2:
    paths = []
    for result in results:
        dense = result["pred"]["dense"]
        paths.append(
            pd.DataFrame(
                {
                    "x": dense["ys"][:, 0],
                    "y": dense["ys"][:, 1],
                    "t": dense["t"],
                    "source": "learned" if len(results) == 1 else result["label"],
                    "trajectory": result["label"],
                }
            )
        )
    paths.append(
        pd.DataFrame(
            {"x": ys[:, 0], "y": ys[:, 1], "t": ts, "source": "data", "trajectory": "data"}
        )
    )
    show_chart(
        st,
        ("your_data", "phase", view_key),
        lambda: nc.phase_plane_chart(
            pd.concat(paths, ignore_index=True), x_title=names[0], y_title=names[1]
        ),
        width="stretch",
    )
    st.caption(f"The same in the ({_safe(names[0])}, {_safe(names[1])}) plane.")

history = pd.concat(
    [
        ex.history_frame(r["fit"]["losses"], r["fit"]["grad_norms"], series=r["label"])
        for r in results
    ],
    ignore_index=True,
)
if len(history):
    st.subheader("Training history")

    def history_chart() -> alt.TopLevelMixin:
        return nc.history_chart(history, y_title="loss (sum of squares, scaled data)")

    show_chart(st, ("your_data", "history", view_key), history_chart, width="stretch")
    if bool(grow) and param_file is None:
        st.caption(
            f"The first {2 * WARMUP_EPOCHS} epochs are the growing window's warm-up, on 30 % and "
            "then 60 % of the training samples (so their losses are smaller)."
        )
else:
    history_chart = None

if len(results) == 2:
    st.subheader("Swap the solvers")
    st.markdown(
        r"""
Each model was trained through its own solver. Here each learned field is also solved with
the *other* configuration's solver. A field trained with a coarse fixed step learns whatever
makes *that* discrete map hit the data, its step errors included, so an accurate solver reveals
a different curve; and a coarse solver cannot follow a field learned accurately. Only a field
trained with small solver errors stands for an ODE of its own, whatever solves it later.
"""
    )
    swap_rows = []
    for trained in results:
        for solved in results:
            if solved is trained:
                values = trained["pred"]["table"]["ys"][:n]
            else:
                cross_id = (trained["fit_id"], "solved with", tuple(sorted(solved["spec"].items())))
                values = predictions(
                    cross_id,
                    trained["fit"]["model"],
                    solved["fit"]["settings"],
                    scaling,
                    ts,
                    ys[0],
                    float(horizon),
                )["table"]["ys"][:n]
            swap_rows.append(
                {
                    "trained with": trained["label"],
                    "solved with": solved["label"],
                    "RMSE, training window": rmse(values[:n_train], ys[:n_train]),
                    "RMSE, held out": rmse(values[n_train:], ys[n_train:]),
                }
            )
    swap = pd.DataFrame(swap_rows)
    st.session_state["yd_swap"] = swap
    st.dataframe(swap, hide_index=True, width="stretch")

# --- exports
st.header("4 · Download")
main = results[0]
table_pred = main["pred"]["table"]
parts = np.where(
    np.arange(table_pred["t"].size) < n_train,
    "training window",
    np.where(np.arange(table_pred["t"].size) < n, "held out", "extrapolation"),
)
pred_frame = pd.DataFrame({time_column: table_pred["t"], "part": parts})
for k, name in enumerate(names):
    observed = np.full(table_pred["t"].size, np.nan)
    observed[:n] = ys[:, k]
    pred_frame[name] = observed
    pred_frame[f"{name}_predicted"] = table_pred["ys"][:, k]
    for other in results[1:]:
        pred_frame[f"{name}_predicted_{other['spec']['solver']}"] = other["pred"]["table"]["ys"][
            :, k
        ]
st.session_state["yd_predictions"] = pred_frame
stem = ex.file_stem(Path(source).stem)

d1, d2, d3 = st.columns(3)
d1.download_button(
    "Predictions (CSV)",
    ex.table_csv(pred_frame),
    file_name=f"{stem}_predictions.csv",
    mime=ex.MIME["csv"],
    key="yd_download_predictions",
    on_click="ignore",
    help="Your samples and the model's values at the same times, then past the last sample.",
)
if len(history):
    d2.download_button(
        "Loss history (CSV)",
        ex.table_csv(history),
        file_name=f"{stem}_loss_history.csv",
        mime=ex.MIME["csv"],
        key="yd_download_history",
        on_click="ignore",
    )
metadata = {
    "app": "ResODE Lab",
    "page": "your_data",
    "source": source[:100],
    "time_column": time_column,
    "state_columns": names,
    "scaling": scaling.to_dict(),
    "solver": main["spec"],
    "epochs": int(main["fit"]["epochs"]),
    "train_samples": int(n_train),
}
param_export = rc.vector_field_to_bytes(main["fit"]["model"], metadata)
st.session_state["yd_param_bytes"] = param_export
d3.download_button(
    "Trained parameters (.resode)",
    param_export,
    file_name=f"{stem}_parameters.resode",
    mime=ex.MIME["bin"],
    key="yd_download_parameters",
    on_click="ignore",
    help="The vector field's weights (equinox serialisation) with the scaling and solver used. "
    "Load it above to get the same predictions without training.",
)

chart_files = [("fit", fit_chart)] + ([("loss_history", history_chart)] if history_chart else [])
if ex.images_available():
    cols = st.columns(2 * len(chart_files))
    i = 0
    for name, chart in chart_files:
        for fmt in ex.IMAGE_FORMATS:
            cols[i].download_button(
                f"{name.replace('_', ' ')} chart ({fmt.upper()})",
                data=lambda chart=chart, fmt=fmt: ex.chart_image(chart(), fmt),
                file_name=f"{stem}_{name}.{fmt}",
                mime=ex.MIME[fmt],
                key=f"yd_download_{name}_{fmt}",
                on_click="ignore",
            )
            i += 1
    st.caption(
        "PNG and SVG are drawn on the server when you click. Every chart also has its own ⋯ "
        "menu (top right, on hover) that saves it as PNG or SVG in your browser."
    )
else:
    cols = st.columns(2 * len(chart_files))
    i = 0
    for name, chart in chart_files:
        for fmt in ex.SPEC_FORMATS:
            cols[i].download_button(
                f"{name.replace('_', ' ')} chart (Vega-Lite {fmt.upper()})",
                data=lambda chart=chart, fmt=fmt: ex.chart_spec(chart(), fmt),
                file_name=f"{stem}_{name}.{'vl.json' if fmt == 'json' else fmt}",
                mime=ex.MIME[fmt],
                key=f"yd_download_{name}_{fmt}",
                on_click="ignore",
            )
            i += 1
    st.caption(
        "PNG/SVG export on the server needs the vl-convert-python package, which is not "
        "installed here, so the charts come as Vega-Lite JSON (open it in the Vega editor) or a "
        "standalone HTML page. Every chart's own ⋯ menu (top right, on hover) saves PNG or SVG "
        "in your browser."
    )

st.markdown(
    """
**Reference.** R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud, *Neural Ordinary
Differential Equations*, NeurIPS 2018.
"""
)

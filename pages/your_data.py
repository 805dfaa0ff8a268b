"""Your own time series: upload a CSV, fit a neural ODE, extrapolate, export, compare solvers."""

import secrets
from pathlib import Path

import pandas as pd
import streamlit as st

import resode_core as rc
from resode_ui import (
    chart_parts as cp,
    exports as ex,
    node_charts as nc,
    palette,
    teach,
    uploads as up,
    widgets as ui,
)
from resode_ui.advice import divergence_advice, unsolved_advice
from resode_ui.lessons import your_data as yd

D = yd.YourDataSettings()  # the defaults
chosen = {}  # settings field -> its widget's value


def safe(text: str) -> str:
    """A name from the user's file, made inert for Markdown (shown, never interpreted)."""
    cleaned = "".join(ch for ch in str(text)[:40] if ch.isprintable())
    return "".join("\\" + ch if ch in "\\`*_{}[]()<>#+-.!|~$" else ch for ch in cleaned)


# ----------------------------------------------------------------------------- sidebar
with ui.controls(st.sidebar):
    ui.preset_selector("yd", yd.PRESETS)
teach.glossary("neural ODE", "tolerance", "forward Euler", "order of a solver", where=st.sidebar)

st.title("Your own time series")
st.markdown(
    "Let a neural ODE (Chen et al., 2018) find a rule for a time series: the example below, or "
    "a CSV file of your own (in the sidebar). The fit sees only the **training window**, the "
    "first part of the samples; whether it follows the **held-out** rest is the honest test."
)

# ----------------------------------------------------------------------------- the data
data_box = st.sidebar.container()
with data_box:
    st.header("Data")
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
        raw, source, owner = yd.example_bytes(), yd.EXAMPLE.name, yd.EXAMPLE_OWNER
        example_ts = yd.example_series().ts
        data_box.caption(
            "No file uploaded, so the page uses the example shipped with the app: a damped "
            "oscillator x″ + 0.1x′ + x = 0 (columns t, x = position, y = velocity) sampled at "
            f"{example_ts.size} times on [{example_ts[0]:g}, {example_ts[-1]:g}]."
        )
        data_box.download_button(
            "Download the example CSV",
            raw,
            file_name=yd.EXAMPLE.name,
            mime=ex.MIME["csv"],
            key="yd_example_download",
            on_click="ignore",
        )
    else:
        up.check_size(uploaded.size)  # before reading a byte of it
        raw, source = uploaded.getvalue(), uploaded.name
        # A student's own data are theirs: an upload's fits are keyed to this session's token.
        owner = st.session_state.setdefault("yd_owner", secrets.token_hex(16))
    table = yd.read_table(raw)
except up.UploadError as error:
    ui.problem(str(error))
    st.stop()

numeric = up.numeric_columns(table) or list(table.columns)
default_time, default_states = up.default_columns(table)
# A new file (or a return to this page, which drops widget state) starts from the guess.
data_id = yd.data_id(raw)
if st.session_state.get("yd_data_id") != data_id or "yd_states" not in st.session_state:
    st.session_state["yd_data_id"] = data_id
    st.session_state["yd_time"], st.session_state["yd_states"] = default_time, default_states
if st.session_state.get("yd_time") not in numeric:
    st.session_state["yd_time"] = default_time
time_column = data_box.selectbox("time column", numeric, key="yd_time")
state_options = [c for c in numeric if c != time_column]
kept = [c for c in st.session_state.get("yd_states", []) if c in state_options][: up.MAX_STATES]
if kept != st.session_state.get("yd_states"):
    st.session_state["yd_states"] = kept
states = data_box.multiselect(
    "state columns (the ODE's unknowns)",
    state_options,
    key="yd_states",
    max_selections=up.MAX_STATES,
)
try:
    series = yd.load_series(raw, source, owner, time_column, states)
except up.UploadError as error:
    ui.problem(str(error))
    st.stop()
ts, ys, names = series.ts, series.ys, list(states)
n = ts.size
data_box.caption(
    f"{safe(source)}: {n} samples of {len(names)} state(s), t from {ts[0]:g} to {ts[-1]:g}."
)

# ----------------------------------------------------------------------------- first screen
answer = teach.question("yd_question", yd.QUESTION, yd.QUESTION_OPTIONS)
with ui.controls():
    c1, c2, c3 = st.columns([2, 2, 3], vertical_alignment="bottom")
    chosen["train_frac"] = c1.slider(
        "training window (fraction of the samples)",
        0.3,
        1.0,
        D.train_frac,
        0.05,
        key="yd_train_frac",
        help="The first part of the samples is fitted; the rest is held out for testing.",
        **ui.BOUND,
    )
    chosen["epochs"] = c2.slider("epochs", 50, 5000, D.epochs, 50, key="yd_epochs", **ui.BOUND)
    chosen["grow"] = c3.checkbox(
        f"growing window (first fit 30 %, then 60 % of the window, {yd.WARMUP_EPOCHS} epochs each)",
        D.grow,
        key="yd_grow",
        help="A fit of several oscillations at once can settle in a poor local minimum "
        "(on the example data, see the preset 'Without the growing window'); fitting the "
        "beginning first steers it towards the data.",
        **ui.BOUND,
    )

with ui.controls(st.sidebar):
    st.header("Fit settings")
    chosen["standardise"] = st.checkbox(
        "standardise (each state to mean 0, sd 1; time to [0, 10])",
        D.standardise,
        key="yd_standardise",
        help="The network works best with numbers near 1. The mean and sd come from the "
        "training window alone; predictions are mapped back to your units.",
        **ui.BOUND,
    )
    chosen["cube"] = st.checkbox(
        "cube the input first (φ(u) = u³, as the notes)",
        D.cube,
        key="yd_cube",
        help="The notes' first layer, made for the spiral's cubic right-hand side. Leave it "
        "off unless you expect the rule behind your data to be cubic too.",
        **ui.BOUND,
    )
    chosen["seed"] = int(st.number_input("seed", 0, 9999, D.seed, 1, key="yd_seed", **ui.BOUND))
    chosen["lr"] = st.select_slider("Adam learning rate", yd.RATES, D.lr, key="yd_lr", **ui.BOUND)
    chosen["decay"] = st.select_slider(
        "final learning rate (fraction of the first)",
        yd.DECAYS,
        D.decay,
        key="yd_decay",
        **ui.BOUND,
    )
    chosen["horizon"] = st.slider(
        "run the model on past the last sample by (fraction of the data's time span)",
        0.0,
        1.0,
        D.horizon,
        0.05,
        key="yd_horizon",
        **ui.BOUND,
    )
    st.markdown("**Solver**")
    chosen["compare"] = st.toggle(
        "compare with a second solver (B)",
        key="yd_compare",
        help="Train a second model with the same data, seed and settings but another "
        "solver, and show both on shared axes.",
        **ui.BOUND,
    )
    chosen["b_solver"] = st.selectbox(
        "solver B",
        rc.SOLVER_NAMES,
        index=rc.SOLVER_NAMES.index(D.b_solver),
        key="yd_b_solver",
        format_func=ui.solver_label,
        disabled=not chosen["compare"],
        **ui.BOUND,
    )
    values = ui.solver_controls(
        "yd",
        D,
        yd.STEP_FRACTIONS,
        step_label="fixed Δt (fraction of the mean sample spacing)",
        also=(chosen["b_solver"],) if chosen["compare"] else (),
    )
    chosen.update(zip(("solver", "stepping", "rtol", "atol", "dt"), values, strict=True))
ui.share_link(
    "A link holds the page's settings, not your file: opened without an upload it reproduces "
    "the fit on the example data. Share your CSV alongside the link.",
    st.sidebar,
)
settings = yd.YourDataSettings(**chosen)

with st.sidebar.expander("Load trained parameters instead of training", expanded=False):
    st.markdown(
        "Upload a parameter file downloaded from this page (section *Download*). The page "
        "then skips "
        "training and uses those parameters, with the scaling and solver they were trained "
        "with, so the same data give the same predictions."
    )
    param_file = st.file_uploader(
        "parameter file (.resode)",
        type=["resode", "bin"],
        key="yd_params",
        max_upload_size=yd.MAX_PARAM_MB,
    )
params = None if param_file is None else (param_file.name, param_file.getvalue())
result = ui.result_of(yd.lesson, series, settings, params)
runs, n_train = result.runs, result.n_train
if runs[0].loaded:
    st.info(
        f"Using the parameters from {safe(param_file.name)} "
        f"({ui.solver_label(runs[0].fit.settings.solver)}, trained for {runs[0].epochs} epochs). "
        "The training controls are ignored until you remove the file.",
        icon=":material/inventory_2:",
    )

held_out = n_train < n


def curve(run, frame, *args) -> pd.DataFrame:
    """A run's dense prediction as a chart frame (`frame` is nc.series_frame or nc.path_frame)."""
    return frame(run.prediction["dense_t"], run.prediction["dense"], *args)


window_end = float(ts[n_train - 1]) if held_out else None
end = float(runs[0].prediction["dense_t"][-1])
regions = (
    (window_end if held_out else float(ts[-1]), float(ts[-1]), "held out"),
    (float(ts[-1]), end, "beyond the data"),
)
samples = nc.series_frame(ts, ys, names, "data")
fit_args = (
    nc.time_series_chart,
    tuple(
        pd.concat([curve(run, nc.series_frame, names, "learned"), samples], ignore_index=True)
        for run in runs
    ),
    tuple(run.label for run in runs),
)
fit_kwargs = {
    "y_title": "state",
    "window_end": window_end,
    "regions": regions,
    "x_domain": (float(ts[0]), end),
    "y_domain": yd.values_domain(result),
    # Two panels side by side and the legend within the page's width (wider in presenter
    # mode, where the sidebar is closed).
    "width": 460 if ui.presenting() else 300,
}
ui.chart(nc.side_by_side, *fit_args, **fit_kwargs)
revealed = yd.held_out_answer(result)
if revealed is None:
    st.caption(
        "Nothing is held out at this training window, so no sample can check your prediction: "
        "set the training window below 1.0 to hold some back."
    )
else:
    teach.reveal(answer, *revealed)
st.caption(
    "Colour is the state column; points are your samples, dashed the learned solution from the "
    "first sample, run past the last sample. The grey bands: samples held out (never used in "
    "training), then times beyond your data, where no sample can check the model."
)
# The notes describe the example data: an upload shows none.
example = series.source.owner == yd.EXAMPLE_OWNER
preset = teach.matching_preset(yd.PRESETS, st.session_state.get("yd_preset"), settings)
teach.what_you_should_see(yd.SHOULD_SEE, preset if example and params is None else "")

spread = yd.data_spread(series)
for run in runs:
    fit = run.fit
    metrics = {  # label: value, help
        "RMSE, training window": (
            f"{run.rmse_train:.3g}",
            f"Root-mean-square error over the first {n_train} samples, in your units.",
        ),
        "RMSE, held-out samples": (
            f"{run.rmse_test:.3g}" if held_out else "none held out",
            f"Over the last {n - n_train} samples, never seen in training.",
        ),
        "held-out RMSE / data spread": (
            f"{100 * run.rmse_test / spread:.1f} %" if held_out else "–",
            "The held-out RMSE divided by the root-mean-square deviation of the data from its "
            "mean.",
        ),
        "final loss": (f"{fit.final_loss:.4g}" if fit.epochs else "–", None),
        "training time": ("loaded" if run.loaded else f"{fit.seconds:.2f} s", None),
    }
    prefix = ""
    if len(runs) > 1:  # the solver's full name once, short labels that fit under it
        st.markdown(f"**{run.label}**")
        prefix = run.label.split(":")[0] + ": "
    # Three to a row: a label such as "A: held-out RMSE / data spread" shows whole.
    columns = [*st.columns(3), *st.columns(3)[:2]]
    for column, (label, (value, note)) in zip(columns, metrics.items(), strict=True):
        column.metric(prefix + label, value, help=note)
    if fit.diverged:
        ui.problem(divergence_advice(fit.settings, settings.lr, what=run.label))
    if not run.prediction["ok"]:
        st.warning(
            f"{run.label}: "
            + unsolved_advice(fit.settings, "over the whole range")
            + " The curve stops being reliable where it breaks off."
        )

history = pd.concat(
    [ex.history_frame(r.fit.losses, r.fit.grad_norms, series=r.label) for r in runs],
    ignore_index=True,
)
run_colors = tuple(
    (run.label, palette.SOLVER_COLORS[run.fit.settings.solver]) for run in runs if len(runs) > 1
)
# Exported charts are built when a download is asked for.
charts = {"fit": lambda: nc.side_by_side(*fit_args, **fit_kwargs)}

# ----------------------------------------------------------------------------- further sections
with ui.more("More: the phase plane, the training history, swapped solvers, downloads"):
    if len(names) == 2:
        single = len(runs) == 1
        paths = [
            curve(run, nc.path_frame, "learned" if single else run.label, run.label) for run in runs
        ]
        paths.append(nc.path_frame(ts, ys, "data", "data"))
        left, right = st.columns([2, 3])
        ui.chart(
            nc.phase_plane_chart,
            pd.concat(paths, ignore_index=True),
            x_title=names[0],
            y_title=names[1],
            colors=run_colors,
            where=left,
        )
        right.caption(
            f"The same in the ({safe(names[0])}, {safe(names[1])}) plane, on equal scales: your "
            "samples (near-black points) and the learned path"
            + (" (dashed, orange)." if single else "s of A and B, each in its solver's colour.")
        )

    if len(history):
        st.subheader("Training history")
        history_title = "loss (scaled data)"
        charts["loss_history"] = lambda: nc.history_chart(
            history, y_title=history_title, colors=run_colors
        )
        if cp.can_draw(history, "loss", log=True):
            ui.chart(nc.history_chart, history, y_title=history_title, colors=run_colors)
        else:
            st.caption("No finite, positive loss to draw on a log axis.")
        jumps = yd.loss_jumps(runs[0].fit) if settings.grow and not runs[0].loaded else []
        if jumps:
            st.caption(
                f"The first {2 * yd.WARMUP_EPOCHS} epochs are the growing window's warm-up, on "
                "30 % and then 60 % of the training samples. As samples join the sum, the loss "
                "goes "
                + " and ".join(f"from {a:.3g} to {b:.3g} at epoch {e}" for e, a, b in jumps)
                + (" (run A)." if len(runs) > 1 else ".")
            )

    if result.swap is not None:
        st.subheader("Swap the solvers")
        st.markdown(
            r"""
Each model was trained through its own solver. Here each learned field is also solved with
the *other* configuration's solver. A field trained with a coarse fixed step learns whatever
makes *that* discrete map hit the data, its step errors included, so an accurate solver reveals
a different curve; and a coarse solver cannot follow a field learned accurately. Only a field
trained with small solver errors stands for an ODE of its own, which any accurate solver then
follows.
"""
        )
        st.dataframe(result.swap, hide_index=True, width="stretch")
        if held_out:
            st.caption(yd.swap_note(result.swap))

    st.markdown(
        rf"""
**How it works.** The network and the training are the ones of the spiral page:
$V(u;\theta) = W_2 \tanh(W_1 \phi(u) + b_1) + b_2$ with {yd.WIDTH} hidden units, solved from
your first sample, the sum of squared errors as the loss, Adam, and gradients through the
solver. The fit only sees the training window; the rest of the samples are held out, and the
model then runs on past your last sample.
"""
    )

    st.subheader("Download")
    stem = ex.file_stem(Path(source).stem)
    files = {  # key: label, contents, file name, MIME type, help
        "predictions": (
            "Predictions (CSV)",
            ex.table_csv(yd.prediction_table(result)),
            "predictions.csv",
            "csv",
            "Your samples and the model's values at the same times, then past the last sample.",
        ),
        "history": ("Loss history (CSV)", ex.table_csv(history), "loss_history.csv", "csv", None),
        "parameters": (
            "Trained parameters (.resode)",
            yd.parameter_file(result),
            "parameters.resode",
            "bin",
            "The vector field's weights (equinox serialisation) with the scaling and solver used. "
            "Load it in the sidebar to get the same predictions without training.",
        ),
    }
    for column, (key, (label, data, name, mime, note)) in zip(
        st.columns(3), files.items(), strict=True
    ):
        if key != "history" or len(history):
            column.download_button(
                label,
                data,
                file_name=f"{stem}_{name}",
                mime=ex.MIME[mime],
                key=f"yd_download_{key}",
                on_click="ignore",
                help=note,
            )

    images = ex.images_available()
    formats = ex.IMAGE_FORMATS if images else ex.SPEC_FORMATS
    pairs = [(name, build, fmt) for name, build in charts.items() for fmt in formats]
    for column, (name, build, fmt) in zip(st.columns(len(pairs)), pairs, strict=True):
        kind = fmt.upper() if images else f"Vega-Lite {fmt.upper()}"
        column.download_button(
            f"{name.replace('_', ' ')} chart ({kind})",
            data=lambda build=build, fmt=fmt: (
                ex.chart_image(build(), fmt) if images else ex.chart_spec(build(), fmt)
            ),
            file_name=f"{stem}_{name}.{'vl.json' if fmt == 'json' else fmt}",
            mime=ex.MIME[fmt],
            key=f"yd_download_{name}_{fmt}",
            on_click="ignore",
        )
    st.caption(
        "PNG and SVG are drawn on the server when you click. Every chart also has its own ⋯ "
        "menu (top right, on hover) that saves it as PNG or SVG in your browser."
        if images
        else "PNG/SVG export on the server needs the vl-convert-python package, which is not "
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

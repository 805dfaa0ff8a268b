"""Regression as a flow: move each input along dx/dt = V(x, t; θ) until it lands on its target."""

import functools

import numpy as np
import pandas as pd
import streamlit as st

import resode_core as rc
from resode_ui import node_charts as nc, ode_charts as oc, play, teach, widgets as ui
from resode_ui.advice import divergence_advice
from resode_ui.lessons import regression_flow as flow

D = flow.FlowSettings()  # the defaults

# ----------------------------------------------------------------------------- sidebar
with ui.controls(st.sidebar):
    ui.preset_selector("rf", flow.PRESETS)
    points = st.slider("Training points", 4, 32, D.points, key="rf_points", **ui.BOUND)
    blocks = st.slider(
        "ResNet blocks", 1, rc.TinyResNet.MAX_BLOCKS, D.blocks, key="rf_blocks", **ui.BOUND
    )
    lr = st.select_slider("Adam learning rate", flow.RATES, D.lr, key="rf_lr", **ui.BOUND)
    seed = st.number_input("Seed", 0, 9999, D.seed, 1, key="rf_seed", **ui.BOUND)
teach.glossary("neural ODE", "residual block", "tolerance", where=st.sidebar)
ui.share_link(
    "Training is deterministic for a given seed: the link shows the same fits.", st.sidebar
)

# ----------------------------------------------------------------------------- first screen
st.title("Regression as a flow")
st.markdown(
    "A neural ODE predicts by letting each input x flow along dx/dt = V(x, t; θ) until the "
    "end time T: training moves the field until every point lands on its target. Press "
    "**Play** and watch the points travel, in three models that learn the same map."
)
answer = teach.question("rf_question", flow.QUESTION, flow.QUESTION_OPTIONS)
with ui.controls():
    c1, c2, c3 = st.columns(3)
    task = c1.selectbox("Map to learn", flow.TASKS, key="rf_task", **ui.BOUND)
    extra = c2.slider(
        "Extra dimensions for the augmented ODE", 1, 3, D.extra, key="rf_extra", **ui.BOUND
    )
    epochs = c3.slider(
        "Epochs (all three models)", 100, 2000, D.epochs, 100, key="rf_epochs", **ui.BOUND
    )

settings = flow.FlowSettings(task, points, extra, blocks, epochs, lr, int(seed))
dim, representable = rc.FLOW_TASKS[task]
PANEL = 290 if ui.presenting() else 220  # px: three panels side by side fit the page

# The task's data needs no training and no compiling: it is on screen before any fit starts.
x, y = flow.task_points(settings)
task_column, task_text = st.columns([3, 2], vertical_alignment="center")
ui.chart(
    oc.task_chart,
    flow.task_frame(x, y),
    plane=dim == 2,
    cyclic=dim == 2,
    size=PANEL,
    where=task_column,
)
task_text.caption(flow.task_caption(x, y))

coordinates = "x of {} coordinates" if dim == 1 else "(x₁, x₂) of {} coordinates"
LABELS = (  # (its metric, its legend, its panel's title), in flow.MODEL_ORDER
    (f"Neural ODE in {dim}-D", f"neural ODE ({dim}-D)", f"Neural ODE ({dim}-D)"),
    (
        f"Augmented ODE (+{extra})",
        f"augmented ODE (+{extra})",
        "Augmented ODE: " + coordinates.format(dim + extra),
    ),
    (f"ResNet, {blocks} blocks", f"ResNet ({blocks} blocks)", "ResNet"),
)
training = st.container()  # the progress bar, above what the fits fill in
animation = st.container()  # the animated chart, once all three fits are in
metric_columns = st.columns(3)


def show_fit(index: int, model: flow.Model) -> None:
    """A model's MSE as soon as its own fit is done (the others may still be training)."""
    metric_columns[index].metric(f"{LABELS[index][0]}: MSE", f"{model.mse:.4f}")


with training:
    result = ui.result_of(
        functools.partial(flow.lesson, fitted=show_fit),
        settings,
        progress="Training the three models …",
    )
preset = teach.matching_preset(flow.PRESETS, st.session_state.get("rf_preset"), settings)
MODELS = tuple(  # (the fit, its metric, its legend, its panel's title)
    (getattr(result, field), *labels)
    for field, labels in zip(flow.MODEL_ORDER, LABELS, strict=True)
)
COLORS = tuple(
    (legend, color) for (_, _, legend, _), color in zip(MODELS, flow.MODEL_COLORS, strict=True)
)

paths, targets = flow.travel(result, tuple(title for *_, title in MODELS))
progress, labels = flow.frames(result)
chart_options = {
    "plane": dim == 2,
    "x_titles": ("x₁",) * 3 if dim == 2 else ("t", "t", "block"),
    "y_title": "x₂" if dim == 2 else "x(t)",
    "color_title": "start angle (°)" if dim == 2 else "x(0)",
    "cyclic": dim == 2,
    "size": PANEL,
}


def draw(frame: int) -> None:
    """One frame: every path faint, solid up to this time, a dot where each point is."""
    ui.chart(oc.flow_panels_chart, paths, targets, now=float(progress[frame]), **chart_options)


with animation:
    play.player("rf_play", labels, draw, title="time")
revealed = flow.plain_vs_augmented(result.plain.mse, result.augmented.mse)
if revealed is None:
    st.caption("A neural-ODE fit diverged and has no finite MSE: there is nothing to compare.")
else:
    teach.reveal(answer, *revealed)
teach.what_you_should_see(flow.SHOULD_SEE, preset)
st.caption(
    ("Colour: the starting value x(0)" if dim == 1 else "Colour: the angle of the starting point")
    + "; rings: the targets; dots: where each point is at the time on the slider (faint: the "
    "rest of its path). The ResNet moves in whole jumps, one per block"
    + (
        ". In the plain neural ODE the lines never cross; the augmented ODE's cross only in "
        "this projection (its (x, a) plane, below, shows how)."
        if dim == 1
        else "."
    )
)
if result.plain.diverged or result.augmented.diverged:
    ui.problem(divergence_advice(flow.SOLVE, lr, what="A neural-ODE fit"))
if task == flow.RINGS:
    statement = (
        ":material/info: **A 2-D flow can swap these sample points**, though no 2-D flow can "
        "swap the continuous rings (the note on the rings, further down, says why). Here the "
        "2-D neural ODE reaches MSE "
        f"{result.plain.mse:.2g}, the augmented one {result.augmented.mse:.2g}."
    )
elif representable:
    statement = (
        f":material/check_circle: **A flow in {dim}-D can map these sample points onto their "
        "targets**: moved along the straight line from each input to its target, no two points "
        "ever meet. Whether training finds such a field is what the MSEs above show."
    )
else:
    bound = flow.best_increasing_mse(x, y)
    statement = (
        f":material/block: **No flow in {dim}-D can map these points onto their targets**: it "
        f"keeps their order, and no increasing map gets below MSE {bound:.3f} on them (for "
        f"y = −x the best one is the constant 0). The plain neural ODE ends at "
        f"{result.plain.mse:.3f}: however long it trains, it cannot get below that bound. The "
        "ResNet and the augmented ODE are not bound by it."
    )
st.markdown(statement)

# ----------------------------------------------------------------------------- more
with ui.more():
    st.markdown(
        r"""
Chen et al. (2018) turn regression into dynamics. Each training input $x_j$ is the initial
state of the ODE
"""
    )
    st.latex(r"\frac{dx}{dt} = V(x, t;\theta), \qquad x(0) = x_j ,")
    st.markdown(
        rf"""
and the prediction is where it is at the end time: $\hat y_j = x_j(T;\theta)$. Training moves
$\theta$ until the points land on their targets,
$\min_\theta \frac1N\sum_j \lVert x_j(T;\theta) - y_j\rVert^2$. Three models learn the same
map: this **neural ODE**, an **augmented** neural ODE that moves in extra dimensions
(they start at 0 and the loss ignores them; Dupont et al., 2019) and a **ResNet** (He et al.,
2015), whose blocks take finite jumps $x \mapsto x + F(x)$. Every line above is one training
point travelling from its input ($t=0$) to its prediction ($t = T = {flow.T_END:g}$).

**A limit.** Two solutions of the same ODE can never cross: if they met, they would have the
same state at the same time and follow the same path from then on. On a line that means the
order of the points never changes, so the learned map is *increasing*, and $y = -x$ cannot be
fitted. A ResNet's finite jumps can hop points over each other, and the augmented ODE's extra
dimensions let the points go *around* each other instead.
"""
    )
    if task == flow.RINGS:
        st.info(
            "A 2-D flow *can* swap these sample points: push each inner point outward and each "
            "outer point inward, each along its own ray, and no paths cross. What no 2-D flow "
            "can do is swap the continuous rings (Dupont et al., 2019): a flow map is "
            "continuous and one-to-one, so what lies inside the outer ring ends up inside that "
            "ring's image; if the outer ring became the inner one, the inner ring could not get "
            "outside it. The field that swaps the samples must change direction between "
            f"neighbouring points; here the 2-D neural ODE reaches MSE {result.plain.mse:.2g}, "
            f"the augmented one {result.augmented.mse:.2g}.",
            icon=":material/info:",
        )

    if dim == 1:
        st.markdown(
            "**The augmented ODE in its (x, a) plane: the points swap by going around each other**"
        )
        plane = flow.paths_frame(result.augmented, x, "Augmented ODE: (x, a)")
        ui.chart(
            oc.flow_panels_chart,
            plane,
            plane=True,
            x_titles=("x",),
            y_title="a (first extra coordinate)",
            color_title="x(0)",
            size=320,
        )
        st.caption(
            "Colour: the starting value x(0), as above. Every point starts on the line a = 0 "
            "(the extra coordinate starts at 0); equal units on both axes."
        )

    st.subheader("The fitted map")
    if dim == 1:
        curves = pd.concat(
            [
                pd.DataFrame({"x": flow.GRID[:, 0], "y": m.map, "model": name})
                for m, _, name, _ in MODELS
            ],
            ignore_index=True,
        )
        ui.chart(
            oc.fitted_map_chart, pd.DataFrame({"x": x[:, 0], "y": y[:, 0]}), curves, colors=COLORS
        )
        st.caption(
            "Black dots: the training pairs. The plain neural ODE's map can only increase"
            + (
                ": for y = −x the best it can do is to squeeze every point towards 0."
                if not representable
                else "."
            )
        )
    else:
        ends = [(m.paths[:, -1, :2], f"prediction: {name}") for m, _, name, _ in MODELS]
        frames = [
            pd.DataFrame(
                {"x": end[:, 0], "y": end[:, 1], "kind": kind, "point": np.arange(len(end))}
            )
            for end, kind in [*ends, (y, oc.TARGET)]
        ]
        ui.chart(
            oc.map_targets_chart,
            pd.concat(frames, ignore_index=True),
            colors=tuple((f"prediction: {name}", c) for name, c in COLORS),
            size=380 if ui.presenting() else 340,
        )
        st.caption(
            "Rings: the targets. Each model's predictions in its colour and shape, joined to "
            "their targets by a thin line: the longer the line, the larger the error."
        )

    history = pd.concat(
        [
            pd.DataFrame(
                {"epoch": np.arange(1, m.losses.size + 1), "loss": m.losses, "series": name}
            )
            for m, _, name, _ in MODELS
        ],
        ignore_index=True,
    )
    # In presenter mode this is inside the "More" expander already, and expanders do not nest.
    with st.container() if ui.presenting() else st.expander("Training histories"):
        ui.chart(nc.history_chart, history, y_title="mean squared error", colors=COLORS)
        st.caption(
            "All three with Adam and the same number of epochs; the neural ODEs' rate decays "
            f"to {100 * flow.FINAL_RATE:.0f} % of its start. The field V(x, t) has one hidden "
            f"layer of {flow.WIDTH} units and sees t as an input; the ResNet's blocks have "
            f"{flow.HIDDEN}. The neural ODEs are solved by {flow.SOLVE.describe()}, "
            f"{round(flow.T_END / flow.SOLVE.dt)} steps from t = 0 to {flow.T_END:g}."
        )

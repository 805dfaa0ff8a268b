"""Regression as a flow: move each input along dx/dt = V(x, t; θ) until it lands on its target."""

import numpy as np
import pandas as pd
import streamlit as st

import resode_core as rc
from resode_ui import node_charts as nc, teach, widgets as ui
from resode_ui.advice import divergence_advice
from resode_ui.lessons import regression_flow as flow

D = flow.FlowSettings()  # the defaults


def paths_frame(ts, paths, x) -> pd.DataFrame:
    """Each point's path: t, x (and y: the second coordinate), point, start (its colour:
    x(0) in 1-D, the angle of the starting point in 2-D)."""
    n = paths.shape[0]
    start = x[:, 0] if x.shape[1] == 1 else np.degrees(np.arctan2(x[:, 1], x[:, 0]))
    frame = pd.DataFrame(
        {
            "t": np.tile(ts, n),
            "x": paths[:, :, 0].ravel(),
            "point": np.repeat(np.arange(n), ts.size),
            "start": np.repeat(start, ts.size),
        }
    )
    return frame.assign(y=paths[:, :, 1].ravel()) if paths.shape[2] > 1 else frame


st.title("Regression as a flow")
teach.glossary("neural ODE", "residual block", "tolerance")
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
map below: this **neural ODE**, an **augmented** neural ODE that moves in extra dimensions
(they start at 0 and the loss ignores them; Dupont et al., 2019) and a **ResNet** (He et al.,
2015), whose blocks take finite jumps $x \mapsto x + F(x)$. Every line is one training point
travelling from its input ($t=0$) to its prediction ($t = T = {flow.T_END:g}$).
"""
)

with ui.controls():
    ui.preset_selector("rf", flow.PRESETS)
    c1, c2, c3 = st.columns(3)
    task = c1.selectbox("Map to learn", flow.TASKS, key="rf_task", **ui.BOUND)
    points = c1.slider("Training points", 4, 32, D.points, key="rf_points", **ui.BOUND)
    extra = c2.slider(
        "Extra dimensions for the augmented ODE", 1, 3, D.extra, key="rf_extra", **ui.BOUND
    )
    blocks = c2.slider(
        "ResNet blocks", 1, rc.TinyResNet.MAX_BLOCKS, D.blocks, key="rf_blocks", **ui.BOUND
    )
    epochs = c3.slider(
        "Epochs (all three models)", 100, 2000, D.epochs, 100, key="rf_epochs", **ui.BOUND
    )
    lr = c3.select_slider("Adam learning rate", flow.RATES, D.lr, key="rf_lr", **ui.BOUND)
    seed = c3.number_input("Seed", 0, 9999, D.seed, 1, key="rf_seed", **ui.BOUND)
ui.share_link("Training is deterministic for a given seed: the link shows the same fits.")

settings = flow.FlowSettings(task, points, extra, blocks, epochs, lr, int(seed))
result = ui.result_of(flow.lesson, settings, progress="Training …")
x, y = result.x, result.y
dim, representable = rc.FLOW_TASKS[task]
coordinates = "x (of {} coordinates)" if dim == 1 else "(x₁, x₂) of {} coordinates"
MODELS = (  # (the fit, its metric, its legend, the heading of its paths)
    (result.plain, f"Neural ODE in {dim}-D", f"neural ODE ({dim}-D)", f"Neural ODE ({dim}-D)"),
    (
        result.augmented,
        f"Augmented ODE (+{extra})",
        f"augmented ODE (+{extra})",
        "Augmented ODE: " + coordinates.format(dim + extra),
    ),
    (
        result.resnet,
        f"ResNet, {blocks} blocks",
        f"ResNet ({blocks} blocks)",
        "ResNet: state after each block",
    ),
)

answer = teach.question("rf_question", flow.QUESTION, flow.QUESTION_OPTIONS)
st.subheader("How the points travel")
for (model, metric, _, heading), column in zip(MODELS, st.columns(3), strict=True):
    column.markdown(f"**{heading}**")
    frame = paths_frame(model.ts, model.paths, x)
    if dim == 1:
        x_title = "block" if model is result.resnet else "t"
        ui.chart(nc.flow_lines_chart, frame, x_title=x_title, where=column)
    else:
        ui.chart(nc.flow_plane_chart, frame, where=column)
    column.metric(f"{metric}: MSE", f"{model.mse:.4f}")
revealed = flow.plain_vs_augmented(result.plain.mse, result.augmented.mse)
if revealed is None:
    st.caption("A neural-ODE fit diverged and has no finite MSE: there is nothing to compare.")
else:
    teach.reveal(answer, *revealed)
teach.what_you_should_see(
    flow.SHOULD_SEE, st.session_state.get("rf_preset") or next(iter(flow.PRESETS))
)
if dim == 1:
    st.caption(
        "Colour: the starting value. In the plain neural ODE the lines never cross. The "
        "augmented ODE's lines cross only in this projection; the chart below shows how."
    )
else:
    st.caption("Colour: the angle of the starting point; dots mark where each point ends up.")
if result.plain.diverged or result.augmented.diverged:
    ui.problem(divergence_advice(flow.SOLVE, lr, what="A neural-ODE fit"))

st.markdown(
    r"""
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
        "outer point inward, each along its own ray, and no paths cross. What no 2-D flow can "
        "do is swap the continuous rings (Dupont et al., 2019): a flow map is continuous and "
        "one-to-one, so what lies inside the outer ring ends up inside that ring's image; if "
        "the outer ring became the inner one, the inner ring could not get outside it. The field "
        "that swaps the samples must change direction between neighbouring points; here the "
        f"2-D neural ODE reaches MSE {result.plain.mse:.2g}, the augmented one "
        f"{result.augmented.mse:.2g}.",
        icon=":material/info:",
    )
elif representable:
    st.success(
        f"A flow in {dim}-D can map these sample points onto their targets: moved along the "
        "straight line from each input to its target, no two points ever meet. Whether "
        "training finds such a field is what the MSEs above show.",
        icon=":material/check_circle:",
    )
else:
    bound = flow.best_increasing_mse(x, y)
    st.warning(
        f"No flow in {dim}-D can map these points onto their targets: it keeps their order, "
        f"and no increasing map gets below MSE {bound:.3f} on them (for y = −x the best one "
        f"is the constant 0). The plain neural ODE ends at {result.plain.mse:.3f}: however "
        "long it trains, it cannot get below that bound. The ResNet and the augmented ODE are "
        "not bound by it.",
        icon=":material/block:",
    )

if dim == 1:
    st.markdown(
        "**The augmented ODE in its (x, a) plane: the points swap by going around each other**"
    )
    ui.chart(
        nc.flow_plane_chart,
        paths_frame(result.augmented.ts, result.augmented.paths, x),
        x_title="x",
        y_title="a (first extra coordinate)",
        color_title="x(0)",
        cyclic=False,
        height=300,
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
    targets = pd.DataFrame({"x": x[:, 0], "y": y[:, 0]})
    ui.chart(nc.fitted_map_chart, targets, curves)
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
        pd.DataFrame({"x": end[:, 0], "y": end[:, 1], "kind": kind, "point": np.arange(len(end))})
        for end, kind in [*ends, (y, "target")]
    ]
    ui.chart(nc.map_arrows_chart, pd.concat(frames, ignore_index=True))
    st.caption("Targets and where each model puts the inputs.")

history = pd.concat(
    [
        pd.DataFrame({"epoch": np.arange(1, m.losses.size + 1), "loss": m.losses, "series": name})
        for m, _, name, _ in MODELS
    ],
    ignore_index=True,
)
with st.expander("Training histories"):
    ui.chart(nc.history_chart, history, y_title="mean squared error")
    st.caption(
        "All three with Adam and the same number of epochs; the neural ODEs' rate decays to "
        f"{100 * flow.FINAL_RATE:.0f} % of its start. The field V(x, t) has one hidden layer of "
        f"{flow.WIDTH} units and sees t as an input; the ResNet's blocks have {flow.HIDDEN}. The "
        f"neural ODEs are solved by {flow.SOLVE.describe()}, atol {flow.SOLVE.atol:g}."
    )

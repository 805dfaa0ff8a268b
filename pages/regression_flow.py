"""Regression as a flow: move each input along dx/dt = V(x, t; θ) until it lands on its target."""

from resode_ui.advice import divergence_advice
from resode_ui.frame import error_box, page_frame

page_frame()

import jax.random as jr  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

import resode_core as rc  # noqa: E402
from resode_ui import node_charts as nc, url_state as us  # noqa: E402
from resode_ui.chart_cache import show_chart  # noqa: E402

T_END = 1.0
FRAMES = 41  # time points drawn per trajectory
RATES = (0.002, 0.005, 0.01, 0.02, 0.05)
REFLECTION, CUBE, ROTATION, RINGS = (
    "reflection y = −x",
    "cube y = x³",
    "rotation by 90°",
    "swap the rings (inner ↔ outer)",
)
# Short names of the tasks in the page address (a task the core adds later keeps its own name).
TASK_TOKENS = {REFLECTION: "reflection", CUBE: "cube", ROTATION: "rotation", RINGS: "rings"}
# The page's settings as they appear in its address (see resode_ui/url_state.py).
STATE = us.PageState(
    "rf",
    [
        us.Choice("rf_task", rc.FLOW_TASK_NAMES[0], rc.FLOW_TASK_NAMES, tokens=TASK_TOKENS),
        us.Int("rf_points", 16, 4, 32),
        us.Int("rf_extra", 1, 1, 3),
        us.Int("rf_blocks", 3, 1, rc.TINY_RESNET_MAX_BLOCKS),
        us.Int("rf_epochs", 400, 100, 2000, 100),
        us.Choice("rf_lr", 0.02, RATES),
        us.Int("rf_seed", 0, 0, 9999),
    ],
    presets=[
        us.Preset(
            "reflection",
            "y = −x: why the 1-D ODE fails (still stuck after 1000 epochs)",
            {"rf_task": REFLECTION, "rf_epochs": 1000},
        ),
        us.Preset(
            "augmented",
            "Augmentation fixes it: y = −x with one extra dimension",
            {"rf_task": REFLECTION, "rf_extra": 1},
        ),
        us.Preset(
            "rings",
            "Swap the rings: the 2-D flow fails too, two extra dimensions fix it",
            {"rf_task": RINGS, "rf_extra": 2},
        ),
        us.Preset("rotation", "Rotation by 90°: a map a 2-D flow can learn", {"rf_task": ROTATION}),
    ],
)


@st.cache_data(show_spinner=False, max_entries=64)
def node_fit(task: str, n_points: int, extra: int, epochs: int, lr: float, seed: int) -> dict:
    """Train a flow on d + extra dimensions; return its paths, its map and its history."""
    x, y = rc.flow_regression_task(task, n_points, seed=seed)
    dim = x.shape[1]
    settings = rc.flow_settings()
    state = rc.init_flow_fit(dim, extra=extra, seed=seed, learning_rate=lr)
    data = rc.flow_fit_data(x, y, t_end=T_END, extra=extra)
    state, losses, _ = rc.train_ode_streaming(
        state, data, settings, epochs, learning_rate=lr, final_fraction=0.1
    )
    ts = np.linspace(0.0, T_END, FRAMES)
    paths = rc.solve_many(state.model, rc.augment(x, extra), ts, settings)
    out = {
        "ts": ts,
        "paths": paths.ys,
        "ok": bool(paths.ok.all()),
        "losses": losses / dim,  # mean squared error per coordinate
        "mse": float(np.mean((paths.ys[:, -1, :dim] - y) ** 2)),
        "diverged": bool(state.diverged),
    }
    if dim == 1:
        grid = np.linspace(-1.2, 1.2, 97)[:, None]
        out["grid"] = grid[:, 0]
        out["map"] = rc.solve_many(state.model, rc.augment(grid, extra), [0.0, T_END], settings).ys[
            :, -1, 0
        ]
    return out


@st.cache_data(show_spinner=False, max_entries=64)
def resnet_fit(task: str, n_points: int, blocks: int, epochs: int, lr: float, seed: int) -> dict:
    x, y = rc.flow_regression_task(task, n_points, seed=seed)
    net = rc.TinyResNet(x.shape[1], 16, blocks, key=jr.PRNGKey(seed))
    net, losses = rc.train_deep_net(
        net, x.astype(np.float32), y.astype(np.float32), epochs=epochs, learning_rate=lr
    )
    states = rc.resnet_block_states(net, x)
    out = {"states": states, "losses": losses, "mse": float(np.mean((states[:, -1] - y) ** 2))}
    if x.shape[1] == 1:
        grid = np.linspace(-1.2, 1.2, 97)[:, None]
        out["grid"] = grid[:, 0]
        out["map"] = rc.resnet_block_states(net, grid)[:, -1, 0]
    return out


def paths_1d(ts, paths, x) -> pd.DataFrame:
    n = paths.shape[0]
    return pd.DataFrame(
        {
            "t": np.tile(ts, n),
            "x": paths[:, :, 0].ravel(),
            "point": np.repeat(np.arange(n), ts.size),
            "start": np.repeat(x[:, 0], ts.size),
        }
    )


def paths_2d(ts, paths, x, axes=(0, 1)) -> pd.DataFrame:
    n = paths.shape[0]
    start = np.degrees(np.arctan2(x[:, -1], x[:, 0])) if x.shape[1] > 1 else x[:, 0]
    return pd.DataFrame(
        {
            "x": paths[:, :, axes[0]].ravel(),
            "y": paths[:, :, axes[1]].ravel(),
            "t": np.tile(ts, n),
            "point": np.repeat(np.arange(n), ts.size),
            "start": np.repeat(start, ts.size),
        }
    )


st.title("Regression as a flow")
STATE.sync()
st.markdown(
    r"""
Chen et al. (2018) turn regression into dynamics. Each training input $x_j$ is the initial
state of the ODE
"""
)
st.latex(r"\frac{dx}{dt} = V(x, t;\theta), \qquad x(0) = x_j ,")
st.markdown(
    r"""
and the prediction is where it is at the end time: $\hat y_j = x_j(T;\theta)$. Training moves
$\theta$ until the points land on their targets,
$\min_\theta \frac1N\sum_j \lVert x_j(T;\theta) - y_j\rVert^2$. Below, every line is one
training point travelling from its input (left, $t=0$) to its prediction ($t = T = 1$).

**A limit.** Two solutions of the same ODE can never cross: if they met, they would have the
same state at the same time and follow the same path from then on. On a line that means the
order of the points never changes, so the learned map is *increasing*, and $y = -x$ cannot be
fitted. A ResNet (He et al., 2015) takes finite jumps $x \mapsto x + F(x)$ and can hop points
over each other. Giving the neural ODE **extra dimensions** (start them at 0 and ignore them in
the loss) lets the points go *around* each other instead (Dupont et al., 2019).
"""
)

STATE.controls()
c1, c2, c3 = st.columns(3)
task = STATE.widget(c1.selectbox, "Map to learn", rc.FLOW_TASK_NAMES, key="rf_task")
n_points = STATE.widget(c1.slider, "Training points", 4, 32, key="rf_points")
extra = STATE.widget(c2.slider, "Extra dimensions for the augmented ODE", 1, 3, key="rf_extra")
blocks = STATE.widget(c2.slider, "ResNet blocks", 1, rc.TINY_RESNET_MAX_BLOCKS, key="rf_blocks")
epochs = STATE.widget(c3.slider, "Epochs (all three models)", 100, 2000, step=100, key="rf_epochs")
lr = STATE.widget(c3.select_slider, "Adam learning rate", RATES, key="rf_lr")
seed = int(STATE.widget(c3.number_input, "Seed", 0, 9999, step=1, key="rf_seed"))
STATE.share_note(note="Training is deterministic for a given seed: the link shows the same fits.")

dim, representable = rc.FLOW_TASKS[task]
try:
    x, y = rc.flow_regression_task(task, int(n_points), seed=seed)
    bar = st.progress(0.0, text="Training the neural ODE …")
    plain = node_fit(task, int(n_points), 0, int(epochs), float(lr), seed)
    bar.progress(1 / 3, text="Training the augmented neural ODE …")
    augmented = node_fit(task, int(n_points), int(extra), int(epochs), float(lr), seed)
    bar.progress(2 / 3, text="Training the ResNet …")
    resnet = resnet_fit(task, int(n_points), int(blocks), int(epochs), float(lr), seed)
    bar.empty()
except ValueError as problem:
    error_box(str(problem))
    st.stop()
st.session_state["rf_results"] = {
    "node": plain["mse"],
    "augmented": augmented["mse"],
    "resnet": resnet["mse"],
}

m1, m2, m3 = st.columns(3)
m1.metric(f"Neural ODE in {dim}-D: MSE", f"{plain['mse']:.4f}")
m2.metric(f"Augmented ODE (+{extra}): MSE", f"{augmented['mse']:.4f}")
m3.metric(f"ResNet, {blocks} blocks: MSE", f"{resnet['mse']:.4f}")
if plain["diverged"] or augmented["diverged"]:
    error_box(divergence_advice(rc.flow_settings(), float(lr), what="A neural-ODE fit"))
if representable:
    st.success(
        f"A flow in {dim}-D can represent this map: all three models should fit it.", icon="✅"
    )
else:
    st.warning(
        f"No flow in {dim}-D can represent this map: the plain neural ODE is stuck however long "
        "it trains; the ResNet and the augmented ODE are not.",
        icon="🚧",
    )

st.subheader("How the points travel")
# Charts of cached fits are converted once (resode_ui/chart_cache.py), keyed by the settings.
view_key = (task, int(n_points), int(extra), int(blocks), int(epochs), float(lr), seed)
block_ts = np.arange(resnet["states"].shape[1], dtype=float)
left, mid, right = st.columns(3)
if dim == 1:
    with left:
        st.markdown(f"**Neural ODE ({dim}-D)**")
        show_chart(
            st,
            ("regression_flow", "node-lines", view_key),
            lambda: nc.flow_lines_chart(paths_1d(plain["ts"], plain["paths"], x)),
            width="stretch",
        )
    with mid:
        st.markdown(f"**Augmented ODE: x (of {1 + extra} coordinates)**")
        show_chart(
            st,
            ("regression_flow", "augmented-lines", view_key),
            lambda: nc.flow_lines_chart(paths_1d(augmented["ts"], augmented["paths"], x)),
            width="stretch",
        )
    with right:
        st.markdown("**ResNet: state after each block**")
        show_chart(
            st,
            ("regression_flow", "resnet-lines", view_key),
            lambda: nc.flow_lines_chart(paths_1d(block_ts, resnet["states"], x), x_title="block"),
            width="stretch",
        )
    st.caption(
        "Colour: the starting value. In the plain neural ODE the lines never cross. The "
        "augmented ODE's lines cross only in this projection; the chart below shows how."
    )
    st.markdown(
        "**The augmented ODE in its (x, a) plane: the points swap by going around each other**"
    )
    show_chart(
        st,
        ("regression_flow", "augmented-plane", view_key),
        lambda: nc.flow_plane_chart(
            paths_2d(augmented["ts"], augmented["paths"], x, axes=(0, 1)),
            x_title="x",
            y_title="a (first extra coordinate)",
            color_title="x(0)",
            height=300,
        ),
        width="stretch",
    )
else:
    with left:
        st.markdown("**Neural ODE (2-D)**")
        show_chart(
            st,
            ("regression_flow", "node-plane", view_key),
            lambda: nc.flow_plane_chart(paths_2d(plain["ts"], plain["paths"], x)),
            width="stretch",
        )
    with mid:
        st.markdown(f"**Augmented ODE: (x₁, x₂) of {2 + extra} coordinates**")
        show_chart(
            st,
            ("regression_flow", "augmented-plane-2d", view_key),
            lambda: nc.flow_plane_chart(paths_2d(augmented["ts"], augmented["paths"], x)),
            width="stretch",
        )
    with right:
        st.markdown("**ResNet: state after each block**")
        show_chart(
            st,
            ("regression_flow", "resnet-plane", view_key),
            lambda: nc.flow_plane_chart(paths_2d(block_ts, resnet["states"], x)),
            width="stretch",
        )
    st.caption("Colour: the angle of the starting point; dots mark where each point ends up.")

st.subheader("The fitted map")
if dim == 1:
    curves = pd.concat(
        [
            pd.DataFrame({"x": plain["grid"], "y": plain["map"], "model": "neural ODE (1-D)"}),
            pd.DataFrame(
                {
                    "x": augmented["grid"],
                    "y": augmented["map"],
                    "model": f"augmented ODE (+{extra})",
                }
            ),
            pd.DataFrame(
                {"x": resnet["grid"], "y": resnet["map"], "model": f"ResNet ({blocks} blocks)"}
            ),
        ],
        ignore_index=True,
    )
    st.session_state["rf_curves"] = curves
    show_chart(
        st,
        ("regression_flow", "fitted-map", view_key),
        lambda: nc.fitted_map_chart(pd.DataFrame({"x": x[:, 0], "y": y[:, 0]}), curves),
        width="stretch",
    )
    st.caption(
        "Black dots: the training pairs. The plain neural ODE's map can only increase: for "
        "y = −x its best effort is to squeeze every point towards 0."
    )
else:
    frames = []
    for label, end in (
        ("neural ODE", plain["paths"][:, -1, :2]),
        (f"augmented (+{extra})", augmented["paths"][:, -1, :2]),
        ("ResNet", resnet["states"][:, -1]),
    ):
        frames.append(
            pd.DataFrame(
                {
                    "x": end[:, 0],
                    "y": end[:, 1],
                    "kind": f"prediction: {label}",
                    "point": np.arange(len(end)),
                }
            )
        )
    frames.append(
        pd.DataFrame({"x": y[:, 0], "y": y[:, 1], "kind": "target", "point": np.arange(len(y))})
    )
    targets = pd.concat(frames, ignore_index=True)
    st.session_state["rf_curves"] = targets
    show_chart(
        st,
        ("regression_flow", "map-arrows", view_key),
        lambda: nc.map_arrows_chart(targets),
        width="stretch",
    )
    st.caption("Targets and where each model puts the inputs.")

history = pd.concat(
    [
        pd.DataFrame(
            {
                "epoch": np.arange(1, plain["losses"].size + 1),
                "loss": plain["losses"],
                "series": "neural ODE",
            }
        ),
        pd.DataFrame(
            {
                "epoch": np.arange(1, augmented["losses"].size + 1),
                "loss": augmented["losses"],
                "series": "augmented ODE",
            }
        ),
        pd.DataFrame(
            {
                "epoch": np.arange(1, resnet["losses"].size + 1),
                "loss": resnet["losses"],
                "series": "ResNet",
            }
        ),
    ],
    ignore_index=True,
)
with st.expander("Training histories"):
    show_chart(
        st,
        ("regression_flow", "history", view_key),
        lambda: nc.history_chart(history, y_title="mean squared error"),
        width="stretch",
    )
    st.caption(
        "All three with Adam and the same number of epochs; the neural ODEs' rate decays to "
        "10 % of its start. The field V(x, t) has 32 hidden units and sees t as an input; the "
        "ResNet's blocks have 16."
    )

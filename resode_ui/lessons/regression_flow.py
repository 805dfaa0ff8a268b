"""Regression as a flow: a neural ODE, an augmented one and a ResNet learn the same map."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import jax.random as jr
import numpy as np
import optax
import streamlit as st

import resode_core as rc

T_END = 1.0
FRAMES = 41  # time points drawn per trajectory
RATES = (0.002, 0.005, 0.01, 0.02, 0.05)
TASKS = tuple(rc.FLOW_TASKS)
REFLECTION, ROTATION, RINGS = (
    "reflection y = −x",
    "rotation by 90°",
    "swap the rings (inner ↔ outer)",
)
SOLVE = rc.SolverSettings("tsit5", rtol=1e-4, atol=1e-6)
WIDTH, HIDDEN = 32, 16  # hidden units of the flow's field and of each ResNet block
FINAL_RATE = 0.1  # the neural ODEs' learning rate decays to this fraction of the first
GRID = np.linspace(-1.2, 1.2, 97)[:, None]  # inputs of the drawn 1-D maps


@dataclass(frozen=True)
class FlowSettings:
    """The page's widgets (keys `rf_<field>`)."""

    task: str = REFLECTION
    points: int = 16
    extra: int = 1  # extra dimensions of the augmented neural ODE
    blocks: int = 3  # the ResNet's
    epochs: int = 400  # all three models
    lr: float = 0.02
    seed: int = 0


PRESETS = {
    "Default settings": FlowSettings(),
    "y = −x: why the 1-D ODE fails (still stuck after 1000 epochs)": FlowSettings(
        task=REFLECTION, epochs=1000
    ),
    "Augmentation fixes it: y = −x with one extra dimension": FlowSettings(
        task=REFLECTION, extra=1
    ),
    "Swap the rings: hard for a 2-D flow, easier with two extra dimensions": FlowSettings(
        task=RINGS, extra=2
    ),
    "Rotation by 90°: a map a 2-D flow can learn": FlowSettings(task=ROTATION),
}


@dataclass(frozen=True)
class Model:
    """One trained model: how the points travel, where they land and how training went."""

    ts: np.ndarray  # times (a neural ODE) or block numbers (the ResNet)
    paths: np.ndarray  # (points, len(ts), dimensions): the first d coordinates are x
    losses: np.ndarray  # mean squared error per coordinate, before each epoch
    mse: float  # of the predictions x(T) against the targets
    map: np.ndarray | None  # the learned 1-D map on GRID (None in 2-D)
    diverged: bool = False


@dataclass(frozen=True)
class FlowResult:
    x: np.ndarray  # (points, d) inputs
    y: np.ndarray  # targets
    plain: Model  # a neural ODE in d dimensions
    augmented: Model  # in d + extra
    resnet: Model


def augment(x: np.ndarray, extra: int) -> np.ndarray:
    """x with `extra` zero coordinates appended (where an augmented ODE starts)."""
    return np.concatenate([x, np.zeros((x.shape[0], extra))], axis=1)


def _model(ts, paths, y, losses, grid_ends, diverged=False) -> Model:
    d = y.shape[1]
    mse = float(np.mean((paths[:, -1, :d] - y) ** 2))
    return Model(ts, paths, losses, mse, None if grid_ends is None else grid_ends[:, 0], diverged)


@st.cache_data(show_spinner=False, max_entries=64)
def node_fit(key: FlowSettings) -> Model:
    """A flow dx/dt = V(x, t; θ) in d + key.extra dimensions (extra 0: the plain one)."""
    x, y = rc.flow_regression_task(key.task, key.points, seed=key.seed)
    d, extra = x.shape[1], key.extra
    mask = np.concatenate([np.ones(d), np.zeros(extra)])  # the extra coordinates are free
    data = rc.trajectory_data(
        [0.0, T_END], np.stack([augment(x, extra), augment(y, extra)], axis=1), dim_mask=mask
    )
    field = rc.MLPVectorField(
        d + extra, WIDTH, key=jr.PRNGKey(key.seed), cube_input=False, time_input=True
    )
    fit = rc.fit_ode(
        data,
        SOLVE,
        epochs=key.epochs,
        learning_rate=optax.exponential_decay(key.lr, key.epochs, FINAL_RATE),
        model=field,
    )
    ts = np.linspace(0.0, T_END, FRAMES)
    paths = rc.solve_many(fit.model, augment(x, extra), ts, SOLVE).ys
    ends = None  # the 1-D map: where each point of GRID lands
    if d == 1:
        ends = rc.solve_many(fit.model, augment(GRID, extra), [0.0, T_END], SOLVE).ys[:, -1]
    # The loss sums squares over the d coordinates: per coordinate it is the MSE.
    return _model(ts, paths, y, fit.losses / d, ends, fit.diverged)


@st.cache_data(show_spinner=False, max_entries=64)
def resnet_fit(key: FlowSettings) -> Model:
    """A TinyResNet with key.blocks blocks of HIDDEN units, full-batch Adam on the MSE."""
    x, y = rc.flow_regression_task(key.task, key.points, seed=key.seed)
    net = rc.TinyResNet(x.shape[1], HIDDEN, key.blocks, key=jr.PRNGKey(key.seed))
    net, losses = rc.train_deep_net(
        net, x.astype(np.float32), y.astype(np.float32), epochs=key.epochs, learning_rate=key.lr
    )
    states = net.block_states(x)
    ends = net.block_states(GRID)[:, -1] if x.shape[1] == 1 else None
    return _model(np.arange(states.shape[1], dtype=float), states, y, losses, ends)


def lesson(s: FlowSettings, progress: Callable[[float, str], None] | None = None) -> FlowResult:
    """The three fits (each cached on the settings it depends on); `progress(fraction, text)`
    before each (a page's progress bar)."""
    x, y = rc.flow_regression_task(s.task, s.points, seed=s.seed)
    base = FlowSettings()
    node = dataclasses.replace(s, blocks=base.blocks)
    jobs = (
        ("the neural ODE", node_fit, dataclasses.replace(node, extra=0)),
        ("the augmented neural ODE", node_fit, node),
        ("the ResNet", resnet_fit, dataclasses.replace(s, extra=base.extra)),
    )
    models = []
    for i, (name, fit, key) in enumerate(jobs):
        if progress is not None:
            progress(i / len(jobs), f"Training {name} …")
        models.append(fit(key))
    return FlowResult(x, y, *models)


def warm_up() -> None:
    """The default fits (y = −x)."""
    lesson(FlowSettings())

"""Regression as a flow: a neural ODE, an augmented one and a ResNet learn the same map."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import jax.random as jr
import numpy as np
import optax
import pandas as pd
import streamlit as st

import resode_core as rc
from resode_ui import ode_charts as oc, palette, training

T_END = 1.0
FRAMES = 41  # time points drawn per trajectory
RATES = (0.002, 0.005, 0.01, 0.02, 0.05)
TASKS = tuple(rc.FLOW_TASKS)
REFLECTION, ROTATION, RINGS = (
    "reflection y = −x",
    "rotation by 90°",
    "swap the rings (inner ↔ outer)",
)
# Fixed RK4 steps, like a ResNet's fixed layers: compared with adaptive Tsit5 (rtol 1e-4) the
# three default fits give the same losses to four digits, compile 2.5 s faster and peak 35 MB
# lower (measured on a fresh process), which is what a fresh server's warm-up pays for.
SOLVE = rc.SolverSettings("rk4", dt=0.05)
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


STUCK, AUGMENTED, RINGS_PRESET, ROTATION_PRESET = (
    "y = −x: why the 1-D ODE fails (still stuck after 1000 epochs)",
    "Augmentation fixes it: y = −x with one extra dimension",
    "Swap the rings: hard for a 2-D flow, easier with two extra dimensions",
    "Rotation by 90°: a map a 2-D flow can learn",
)
PRESETS = {
    "Default settings": FlowSettings(),
    STUCK: FlowSettings(task=REFLECTION, epochs=1000),
    AUGMENTED: FlowSettings(task=REFLECTION, extra=1),
    RINGS_PRESET: FlowSettings(task=RINGS, extra=2),
    ROTATION_PRESET: FlowSettings(task=ROTATION),
}
SHOULD_SEE = {
    "Default settings": "The animation's left panel: the plain neural ODE's lines never "
    "cross, so the points keep their order and cannot reach −x. Its MSE stays at or above "
    "0.378, the best any increasing map can do on these 16 points; the augmented ODE and the "
    "ResNet both end below 0.01.",
    STUCK: "After 1000 epochs the plain neural ODE's MSE is still above 0.37, no lower than "
    "the bound that no increasing map can beat: more training cannot help it.",
    AUGMENTED: "The augmented ODE's (x, a) plane, under the three charts: the points leave the "
    "line a = 0, pass around each other and land in reversed order, with an MSE below 0.01.",
    RINGS_PRESET: "The MSEs under the charts: the 2-D neural ODE ends more than ten times "
    "above the augmented ODE with two extra dimensions, although a 2-D flow that swaps these "
    "points exists (the box below says how).",
    ROTATION_PRESET: "All three MSEs are below 0.001, and in the neural ODE's chart every "
    "point turns a quarter circle (90° ± 10°) about the origin.",
}

# The prediction question: the plain neural ODE against the augmented one, on this map.
QUESTION = (
    "Will the plain neural ODE, with no extra dimensions, fit this map as well as the "
    "augmented one?"
)
ABOUT_AS_WELL, WORSE, BETTER = "About as well", "Clearly worse", "Clearly better"
QUESTION_OPTIONS = (ABOUT_AS_WELL, WORSE, BETTER)
CLEAR_RATIO, CLEAR_GAP = 3.0, 1e-3  # a gap is clear when both are exceeded


def plain_vs_augmented(plain_mse: float, augmented_mse: float) -> tuple[str, str] | None:
    """(the option the two final MSEs support, the sentence stating them); None when either
    is not a number (a fit that diverged)."""
    p, a = plain_mse, augmented_mse
    if not (np.isfinite(p) and np.isfinite(a)):
        return None
    said = f"The plain neural ODE ends at MSE {p:.2g}, the augmented one at {a:.2g}"
    high, low = max(p, a), min(p, a)
    if high > CLEAR_RATIO * low and high - low > CLEAR_GAP:
        ratio = f"{high / low:,.0f}" if low > 0 else "infinitely many"
        which = "the plain one's" if p > a else "the augmented one's"
        return (WORSE if p > a else BETTER), f"{said}: {which} is {ratio} times higher."
    if high <= CLEAR_RATIO * low:
        why = f"at most {CLEAR_RATIO:g} times apart"
    else:
        why = f"within {CLEAR_GAP:g} of each other"
    return ABOUT_AS_WELL, f"{said}: {why}."


def best_increasing_mse(x: np.ndarray, y: np.ndarray) -> float:
    """The least mean squared error of any non-decreasing map on 1-D points (the isotonic
    regression of y on x, by pooling adjacent values that are out of order)."""
    values = np.asarray(y, float)[np.argsort(np.asarray(x, float)[:, 0]), 0]
    blocks: list[list[float]] = []  # [mean, size] of each pooled run
    for value in values:
        blocks.append([value, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m2, n2), (m1, n1) = blocks.pop(), blocks.pop()
            blocks.append([(m1 * n1 + m2 * n2) / (n1 + n2), n1 + n2])
    fit = np.repeat([m for m, _ in blocks], [int(n) for _, n in blocks])
    return float(np.mean((fit - values) ** 2))


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


def task_points(s: FlowSettings) -> tuple[np.ndarray, np.ndarray]:
    """The training inputs and their targets, (points, d) each: NumPy only, no compiling."""
    return rc.flow_regression_task(s.task, s.points, seed=s.seed)


def _model(ts, paths, y, losses, grid_ends, diverged=False) -> Model:
    d = y.shape[1]
    mse = float(np.mean((paths[:, -1, :d] - y) ** 2))
    return Model(ts, paths, losses, mse, None if grid_ends is None else grid_ends[:, 0], diverged)


@st.cache_data(show_spinner=False, max_entries=64)
def node_fit(key: FlowSettings) -> Model:
    """A flow dx/dt = V(x, t; θ) in d + key.extra dimensions (extra 0: the plain one)."""
    x, y = task_points(key)
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
    # In 1-D the drawn map's GRID travels in the same call as the points: one compiled
    # program instead of two (seconds and tens of MB on a fresh server).
    starts = x if d > 1 else np.concatenate([x, GRID])
    solved = rc.solve_many(fit.model, augment(starts, extra), ts, SOLVE).ys
    paths = solved[: len(x)]
    ends = None if d > 1 else solved[len(x) :, -1]  # the 1-D map: where GRID's points land
    # The loss sums squares over the d coordinates: per coordinate it is the MSE.
    return _model(ts, paths, y, fit.losses / d, ends, fit.diverged)


@st.cache_data(show_spinner=False, max_entries=64)
def resnet_fit(key: FlowSettings) -> Model:
    """A TinyResNet with key.blocks blocks of HIDDEN units, full-batch Adam on the MSE."""
    x, y = task_points(key)
    net = rc.TinyResNet(x.shape[1], HIDDEN, key.blocks, key=jr.PRNGKey(key.seed))
    net, losses = rc.train_deep_net(
        net, x.astype(np.float32), y.astype(np.float32), epochs=key.epochs, learning_rate=key.lr
    )
    states = net.block_states(x)
    ends = net.block_states(GRID)[:, -1] if x.shape[1] == 1 else None
    return _model(np.arange(states.shape[1], dtype=float), states, y, losses, ends)


MODEL_ORDER = ("plain", "augmented", "resnet")  # FlowResult's fields: the page's columns


def lesson(
    s: FlowSettings,
    progress: Callable[[float, str], None] | None = None,
    *,
    fitted: Callable[[int, Model], None] | None = None,
) -> FlowResult:
    """The three fits (each cached on the settings it depends on); `progress(fraction, text)`
    before each (a page's progress bar), `fitted(index in MODEL_ORDER, model)` after each (a
    page draws each model's result as it arrives)."""
    x, y = task_points(s)
    base = FlowSettings()
    node = dataclasses.replace(s, blocks=base.blocks)
    jobs = (  # the ResNet first: it trains in a fraction of a neural ODE's time
        ("resnet", "the ResNet", resnet_fit, dataclasses.replace(s, extra=base.extra)),
        ("plain", "the neural ODE", node_fit, dataclasses.replace(node, extra=0)),
        ("augmented", "the augmented neural ODE", node_fit, node),
    )
    models = {}
    for i, (field, name, fit, key) in enumerate(jobs):
        if progress is not None:
            progress(i / len(jobs), f"Training {name} ({i + 1} of {len(jobs)}) …")
        models[field] = fit(key)
        if fitted is not None:
            fitted(MODEL_ORDER.index(field), models[field])
    return FlowResult(x, y, **models)


# ----------------------------------------------------------------------------- what the page draws
# Each model's colour wherever it appears: the neural ODE orange, the augmented one purple,
# the ResNet blue (the palette's).
MODEL_COLORS = (palette.LEARNED, palette.AUGMENTED, palette.RESNET)


def start_values(x: np.ndarray) -> np.ndarray:
    """A colour value per point: x(0) in 1-D, the angle of the starting point (°) in 2-D."""
    return x[:, 0] if x.shape[1] == 1 else np.degrees(np.arctan2(x[:, 1], x[:, 0]))


def task_frame(x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """The task for `oc.task_chart`, two rows per point: its input (s = 0) and its target
    (s = 1), with columns point, s, start (the input's colour value, as in the animation),
    x and, in 2-D, y."""
    n, dims = x.shape
    both = np.concatenate([x, y])  # the inputs, then the targets
    frame = pd.DataFrame(
        {
            "point": np.tile(np.arange(n), 2),
            "s": np.repeat([oc.INPUT_END, oc.TARGET_END], n),
            "start": np.tile(start_values(x), 2),
            "x": both[:, 0],
        }
    )
    if dims > 1:
        frame["y"] = both[:, 1]
    return frame


def swapped_pairs(x: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """(pairs of 1-D points whose targets are in the other order than their inputs, or
    equal: their lines in oc.task_chart cross; all pairs). A 1-D flow keeps every pair's order."""
    dx = x[:, 0][:, None] - x[:, 0][None]
    dy = y[:, 0][:, None] - y[:, 0][None]
    upper = np.triu(np.ones(dx.shape, bool), 1)
    return int(np.sum((dx * dy <= 0) & upper)), int(np.sum(upper))


def task_caption(x: np.ndarray, y: np.ndarray) -> str:
    """What the task chart shows, with the count of pairs a 1-D flow cannot keep."""
    n, dims = x.shape
    said = (
        f"**The task, before any training:** {n} inputs (dots) and their targets (rings), "
        "each pair joined by a straight line; the colours follow each point through the "
        "charts below."
    )
    if dims > 1:
        return said + " Each model must move every dot onto its ring."
    swapped, pairs = swapped_pairs(x, y)
    return (
        f"{said} {swapped} of the {pairs} pairs of points swap their order (their lines "
        "cross). A 1-D flow keeps the order of every pair"
        + (", so it cannot fit these targets." if swapped else ": here no pair has to change.")
    )


def paths_frame(model: Model, x: np.ndarray, panel: str, coordinates=(0, 1)) -> pd.DataFrame:
    """Each point's path for the charts: panel, t (a time or a block number), s (progress
    0 … 1), point, start, x and, when the paths have a second coordinate, y (by default the
    first two coordinates; `coordinates` picks others)."""
    n, steps, dims = model.paths.shape
    frame = pd.DataFrame(
        {
            "panel": panel,
            "t": np.tile(model.ts, n),
            "s": np.tile(model.ts / model.ts[-1], n),
            "point": np.repeat(np.arange(n), steps),
            "start": np.repeat(start_values(x), steps),
            "x": model.paths[:, :, coordinates[0]].ravel(),
        }
    )
    if dims > 1 and coordinates[1] < dims:
        frame["y"] = model.paths[:, :, coordinates[1]].ravel()
    return frame


def travel(result: FlowResult, panels: tuple[str, str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The three models' paths (one panel each, titled `panels`) and the targets, for the
    animated chart: every frame is one of the saved times, so playing computes nothing."""
    models = (result.plain, result.augmented, result.resnet)
    paths = pd.concat(
        [paths_frame(m, result.x, panel) for m, panel in zip(models, panels, strict=True)],
        ignore_index=True,
    )
    if result.x.shape[1] == 1:  # 1-D: the second coordinate is the augmented ODE's a
        paths = paths.drop(columns="y", errors="ignore")
    targets = pd.DataFrame({"point": np.arange(len(result.y)), "x": result.y[:, 0]})
    if result.y.shape[1] > 1:
        targets["y"] = result.y[:, 1]
    return paths, targets


def frames(result: FlowResult) -> tuple[np.ndarray, list[str]]:
    """The animation's frames: progress s at each saved time of the neural ODEs, and a label
    for each that says where the ResNet is (its blocks take whole jumps)."""
    times = result.plain.ts
    blocks = int(result.resnet.ts[-1])
    progress = times / times[-1]
    labels = []
    for t, s in zip(times, progress, strict=True):
        done = int(np.floor(s * blocks + 1e-9))
        where = "input" if done == 0 else f"after block {done} of {blocks}"
        labels.append(f"t = {t:.3f} · ResNet: {where}")
    return progress, labels


def warm_up() -> None:
    """The default fits (y = −x)."""
    lesson(FlowSettings(), training.pause_point)


def warm_up_more() -> None:
    """One move away: the presets (the rings with two extra dimensions, 1000 epochs, the
    rotation), then the default map with the extra-dimension slider's other values: each
    new state size compiles new programs, seconds each."""
    for settings in PRESETS.values():
        lesson(settings, training.pause_point)
    for extra in (2, 3):
        lesson(FlowSettings(extra=extra), training.pause_point)

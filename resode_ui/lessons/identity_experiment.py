"""The notes' Flux experiment: a four-layer 1→1 chain learns y = x, with and without a skip."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

import resode_core as rc
from resode_ui import chart_parts as cp, resnet_charts as charts, training

MAX_EPOCHS = 10_000
TOL = 0.01
CHUNK = 8  # seeds per compiled call: one compiled shape, whatever the number of seeds
ARCHITECTURES = {"plain": "plain", "resnet": "ResNet"}
CURVE_X = np.linspace(-12.0, 12.0, 97)
# The epochs after which the training animation shows both fits: roughly even steps on a log
# scale from the initialisation (0) to the 10 000-epoch limit, 25 frames.
CHECKPOINTS = (0, 1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000,
               1500, 2000, 3000, 5000, 7000, 10_000)  # fmt: skip
# The notes' BenchmarkTools medians for `@benchmark loop(model)` (Flux.jl), as printed there.
NOTES_MEDIAN = {"plain": "1.139 ms", "ResNet": "93.265 µs"}
RUN_FIELDS = ("epochs", "converged", "final_mse")


@dataclass(frozen=True)
class IdentitySettings:
    """The page's two sliders (widget keys `ie_<field>`)."""

    seed: int = 0  # the run shown
    n_seeds: int = 8  # seeds 0 … n_seeds − 1 for the statistics


PRESETS = {
    "Default settings": IdentitySettings(),
    "Statistics over 32 seeds": IdentitySettings(n_seeds=32),
}


# What each preset shows; every fact here is checked in tests/test_lesson_resnet_pages.py.
SHOULD_SEE = {
    "Default settings": "In the run shown (seed 0) the ResNet's fit (blue) stays within 0.5 of "
    "the dashed line y = x over the whole data range, while the plain chain's (red) is close "
    "to it near x = 0 and bends away towards x = ±10, where it misses by more than 0.5. Below, "
    "over seeds 0–7, the ResNet reaches MSE < 0.01 every time and the plain chain never does.",
    "Statistics over 32 seeds": "Over 32 seeds the ResNet reaches MSE < 0.01 in every run, "
    "after a number of epochs that varies a lot from seed to seed (the slowest needs more than "
    "ten times the epochs of the fastest); the plain chain reaches it in none, and its median "
    "final MSE is between 0.05 and 0.2.",
}

QUESTION_OPTIONS = ("the plain net", "the ResNet", "both", "neither")
NET_NAMES = {"plain": "plain net", "ResNet": "ResNet"}

# He et al.'s residual block, as the notes draw it: two layers, and the input added back.
RESIDUAL_BLOCK_DOT = """
digraph residual_block {
  rankdir=LR;
  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica"];
  edge [fontname="Helvetica", fontsize=11];
  x [label="x", shape=plaintext, style=""];
  subgraph cluster_residual {
    label="F(x), the residual"; style="dashed"; fontname="Helvetica"; color="#7f7f7f";
    layer1 [label="layer"];
    layer2 [label="layer"];
  }
  add [label="⊕", shape=circle, fillcolor="#ffffff"];
  out [label="H(x) = F(x) + x", shape=plaintext, style=""];
  x -> layer1;
  layer1 -> layer2;
  layer2 -> add [label="F(x)"];
  x -> add [label="identity shortcut: x", color="#1f77b4", fontcolor="#1f77b4", style=bold];
  add -> out;
}
"""

# The set-up lines of the notes' Flux.jl experiment (data, models, batches, optimiser, loss).
NOTES_SETUP = """\
actual(x) = x
x_train = hcat(-10:10...)
y_train = actual.(x_train)
dense = Chain(Dense(1 => 1, tanh), Dense(1 => 1, tanh),
              Dense(1 => 1, tanh), Dense(1 => 1, identity))
resnet = Chain(SkipConnection(Chain(Dense(1 => 1, tanh), Dense(1 => 1, tanh),
                                    Dense(1 => 1, tanh)), +),
               Dense(1 => 1, identity))
loader = Flux.DataLoader((x_train, y_train), batchsize=8, shuffle=true)
optim = Flux.setup(Adam(), model)
# loss of a batch: Flux.mse(m(x), y); stop once Flux.mse(model(x_train), x_train) < 0.01
"""

# The same set-up in JAX, written for this page; tests execute it (see the page's expander).
JAX_SETUP = """\
from functools import partial

import jax
import jax.numpy as jnp
import optax

x_train = jnp.arange(-10.0, 11.0)  # the 21 points -10, ..., 10
y_train = x_train  # targets of the map y = x


def init(key):
    # Four 1 -> 1 layers: Glorot-uniform weights (limit sqrt(3) for 1 x 1), biases 0.
    w = jax.random.uniform(key, (4,), minval=-(3**0.5), maxval=3**0.5)
    return {"w": w, "b": jnp.zeros(4)}


def model(p, x, residual):
    h = x
    for i in range(3):  # three tanh layers
        h = jnp.tanh(p["w"][i] * h + p["b"][i])
    if residual:  # the skip connection adds the input back
        h = h + x
    return p["w"][3] * h + p["b"][3]  # one linear layer


def mse(p, x, y, residual):
    return jnp.mean((model(p, x, residual) - y) ** 2)


optimiser = optax.adam(1e-3)  # Flux's Adam() default
full_mse = jax.jit(mse, static_argnames="residual")


@partial(jax.jit, static_argnames="residual")
def epoch(p, state, key, residual):
    order = jax.random.permutation(key, x_train.size)  # reshuffle every epoch
    for start in range(0, x_train.size, 8):  # batches of 8, 8 and 5
        batch = order[start : start + 8]
        grads = jax.grad(mse)(p, x_train[batch], y_train[batch], residual)
        updates, state = optimiser.update(grads, state)
        p = optax.apply_updates(p, updates)
    return p, state


def fit(residual, seed=0, max_epochs=10_000, tol=0.01):
    init_key, key = jax.random.split(jax.random.PRNGKey(seed))
    p = init(init_key)
    state = optimiser.init(p)
    for n in range(1, max_epochs + 1):
        key, sub = jax.random.split(key)
        p, state = epoch(p, state, sub, residual)
        if full_mse(p, x_train, y_train, residual) < tol:  # the notes' stopping test
            break
    return p, n
"""


@st.cache_resource(show_spinner=False)
def _compiled(architecture: str) -> bool:
    """Compile both entry points once (a one-epoch run), so timed fits exclude compilation."""
    rc.fit_identity(architecture, seed=0, max_epochs=1, checkpoints=CHECKPOINTS)
    rc.fit_identity_seeds(architecture, range(CHUNK), max_epochs=1)
    return True


@st.cache_data(show_spinner=False, max_entries=128)
def single_runs(seed: int) -> dict[str, dict]:
    """One run of the recipe per network (by label) from the seed's initialisation, each timed
    (compilation excluded): epochs, converged, final_mse, losses, curve (on CURVE_X), wall_s,
    and snapshots: the curve after each epoch of CHECKPOINTS (kept by the same compiled loop),
    a row per checkpoint."""
    runs = {}
    for architecture, label in ARCHITECTURES.items():
        _compiled(architecture)
        start = time.perf_counter()
        fit = rc.fit_identity(
            architecture, seed=seed, max_epochs=MAX_EPOCHS, tol=TOL, checkpoints=CHECKPOINTS
        )
        wall_s = time.perf_counter() - start
        runs[label] = {k: getattr(fit, k) for k in RUN_FIELDS} | {
            "losses": np.asarray(fit.losses, dtype=np.float64),
            "curve": fit.predict(CURVE_X).astype(np.float64),
            "snapshots": np.stack([fit.predict(CURVE_X, model) for model in fit.snapshots]),
            "wall_s": wall_s,
        }
    return runs


@dataclass(frozen=True)
class TrainingFrames:
    """The training animation: per frame (one per checkpoint) both fits and the loss so far."""

    labels: list[str]  # "epoch 200", …
    curves: list[pd.DataFrame]  # x, y, network: both fits and the identity line
    losses: list[pd.DataFrame]  # epoch, mse, network: every epoch up to the frame's
    x_domain: tuple[float, float]  # fixed axes, holding every frame
    y_domain: tuple[float, float]
    mse_domain: tuple[float, float] | None


def frame_label(epoch: int, runs: dict[str, dict]) -> str:
    """'epoch 2,000', with the nets that stopped before it ('ResNet stopped at 1,780')."""
    stopped = [
        f"{label} stopped at {run['epochs']:,}"
        for label, run in runs.items()
        if run["converged"] and run["epochs"] < epoch
    ]
    return f"epoch {epoch:,}" + (f" ({'; '.join(stopped)})" if stopped else "")


@st.cache_data(show_spinner=False, max_entries=128)
def training_frames(seed: int) -> TrainingFrames:
    """The seed's two runs as frames, from the snapshots `single_runs` kept: nothing is
    trained or compiled here, so playing them compiles nothing."""
    runs = single_runs(seed)
    identity = pd.DataFrame({"x": CURVE_X, "y": CURVE_X, "network": "identity y = x"})
    histories = {
        label: charts.log_spaced_rows(
            pd.DataFrame({"epoch": np.arange(1, run["epochs"] + 1), "mse": run["losses"]}),
            "epoch",
        ).assign(network=label)
        for label, run in runs.items()
    }
    curves, losses = [], []
    for i, epoch in enumerate(CHECKPOINTS):
        fits = [
            pd.DataFrame({"x": CURVE_X, "y": run["snapshots"][i], "network": label})
            for label, run in runs.items()
        ]
        curves.append(pd.concat([identity, *fits], ignore_index=True))
        so_far = []
        for label, run in runs.items():
            last = min(epoch, run["epochs"])
            rows = histories[label][histories[label]["epoch"] < last]
            if last >= 1:  # the frame's own epoch, even where the thinned history skips it
                end = {"epoch": [last], "mse": [run["losses"][last - 1]], "network": [label]}
                rows = pd.concat([rows, pd.DataFrame(end)], ignore_index=True)
            so_far.append(rows)
        losses.append(pd.concat(so_far, ignore_index=True))
    every_y = np.concatenate([CURVE_X, *(run["snapshots"].ravel() for run in runs.values())])
    every_mse = np.concatenate([run["losses"] for run in runs.values()])
    return TrainingFrames(
        labels=[frame_label(epoch, runs) for epoch in CHECKPOINTS],
        curves=curves,
        losses=losses,
        x_domain=(float(CURVE_X.min()), float(CURVE_X.max())),
        y_domain=charts.padded(float(np.min(every_y)), float(np.max(every_y))),
        mse_domain=cp.log_domain(every_mse),
    )


def fit_answer(seed: int, runs: dict[str, dict]) -> tuple[str, str]:
    """The question's answer (one of QUESTION_OPTIONS) and the sentence that shows it, from the
    run of each network shown on the page."""
    fitted = {label for label, run in runs.items() if run["converged"]}
    truth = {
        frozenset({"plain"}): QUESTION_OPTIONS[0],
        frozenset({"ResNet"}): QUESTION_OPTIONS[1],
        frozenset({"plain", "ResNet"}): QUESTION_OPTIONS[2],
    }.get(frozenset(fitted), QUESTION_OPTIONS[3])
    parts = []
    for label, run in runs.items():
        name = NET_NAMES[label]
        if run["converged"]:
            parts.append(
                f"the {name} reaches MSE {run['final_mse']:.3g} < {TOL:g} after "
                f"{run['epochs']:,} epochs"
            )
        else:
            parts.append(
                f"the {name} is still at MSE {run['final_mse']:.3g} after all "
                f"{run['epochs']:,} epochs"
            )
    return truth, f"With seed {seed}, {' and '.join(parts)}."


@st.cache_data(show_spinner=False, max_entries=128)
def seed_chunk(architecture: str, first: int) -> tuple[pd.DataFrame, float]:
    """The recipe for seeds first … first + CHUNK − 1 in one compiled call: a row per seed
    (seed, network, epochs, converged, final_mse) and the call's wall time."""
    _compiled(architecture)
    seeds = range(first, first + CHUNK)
    start = time.perf_counter()
    fits = rc.fit_identity_seeds(architecture, seeds, max_epochs=MAX_EPOCHS, tol=TOL)
    wall_s = time.perf_counter() - start
    rows = {k: [getattr(f, k) for f in fits] for k in RUN_FIELDS}
    return pd.DataFrame({"seed": seeds, "network": ARCHITECTURES[architecture], **rows}), wall_s


@dataclass(frozen=True)
class SeedStatistics:
    # A row per seed and network: seed, network, epochs, converged, final_mse, outcome.
    sweep: pd.DataFrame
    per_seed_s: dict[str, float]  # wall time per seed in the compiled calls, per network

    def summary(self, label: str) -> tuple[float, pd.Series, float]:
        """A network's share of converged seeds, their epochs, and the median final MSE."""
        runs = self.sweep[self.sweep["network"] == label]
        done = runs.loc[runs["converged"], "epochs"]
        return float(runs["converged"].mean()), done, float(runs["final_mse"].median())


def seed_statistics(n_seeds: int, on_chunk: Callable[[int, int], None] | None = None):
    """Seeds 0 … n_seeds − 1 of both networks, CHUNK seeds per cached compiled call;
    `on_chunk(done, total)` follows the progress."""
    todo = [(a, first) for a in ARCHITECTURES for first in range(0, n_seeds, CHUNK)]
    frames, per_seed = [], {label: [] for label in ARCHITECTURES.values()}
    for done, (architecture, first) in enumerate(todo, 1):
        frame, wall_s = seed_chunk(architecture, first)
        frames.append(frame[frame["seed"] < n_seeds])
        per_seed[ARCHITECTURES[architecture]].append(wall_s / CHUNK)
        if on_chunk:
            on_chunk(done, len(todo))
    sweep = pd.concat(frames, ignore_index=True)
    sweep["outcome"] = np.where(sweep["converged"], "converged", "not converged")
    return SeedStatistics(sweep, {label: float(np.mean(t)) for label, t in per_seed.items()})


def warm_up() -> None:
    """The default run of its seed and its statistics."""
    _warm(IdentitySettings())


def warm_up_more() -> None:
    """One move away: every preset (32 seeds take seconds)."""
    for settings in PRESETS.values():
        _warm(settings)


def _warm(settings: IdentitySettings) -> None:
    training_frames(settings.seed)
    seed_statistics(settings.n_seeds, training.pause_point)

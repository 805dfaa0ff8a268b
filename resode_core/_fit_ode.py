"""Fitting a neural ODE to trajectories: one API, `fit_ode`, for every page and test.

Epochs run inside one compiled `lax.while_loop` per chunk; a Python loop only runs over
chunks, so a page can stream progress and a fit can stop after any chunk and go on later
from the `OdeFit` it reported. Learning rates (and schedules, evaluated between chunks),
step sizes, tolerances, epochs and seeds are runtime values: none of them recompiles.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import Array, Bool, Float, Int

from ._aot import AotFunction
from ._checks import bucket, positive, whole
from ._nets import MLPVectorField
from ._optim import ADAM, set_rate, tree_select
from ._solvers import (
    SolverSettings,
    StepControl,
    as_float_array,
    as_time_grid,
    device_array,
    simulate,
    solve_at,
)

CHUNK_CAPACITY = 256  # epochs one compiled call can run (and record) at most
SAMPLE_BUCKETS = (64, 256, 1024)
TRAJECTORY_BUCKETS = (1, 16, 64)
# Backpropagating through one solve keeps the solver state at this many steps and
# recomputes the others (diffrax's default keeps log2(max_steps) = 14). Measured on the
# spiral fit (one trajectory, 52-120 steps an epoch): 64 cut an epoch by about a quarter;
# 80 or more was slower again, and a batch of trajectories gained nothing.
SINGLE_TRAJECTORY_CHECKPOINTS = 64


class TrajectoryData(eqx.Module):
    """Observed trajectories, padded to a few fixed shapes so sizes never recompile.

    Padded samples repeat the last time and are masked out of the loss; padded
    trajectories copy the first one and are masked out too.
    """

    ts: Float[Array, " samples"]
    ys: Float[Array, "trajectories samples dim"]
    sample_mask: Float[Array, " samples"]
    trajectory_mask: Float[Array, " trajectories"]
    dim_mask: Float[Array, " dim"]

    @property
    def num_samples(self) -> int:
        return int(np.sum(np.asarray(self.sample_mask)))

    @property
    def num_trajectories(self) -> int:
        return int(np.sum(np.asarray(self.trajectory_mask)))

    def first(self, fraction: float) -> TrajectoryData:
        """The first `fraction` of the samples (at least two), for a growing window."""
        count = max(2, int(round(fraction * self.num_samples)))
        ys = np.asarray(self.ys)[: self.num_trajectories, :count]
        return trajectory_data(np.asarray(self.ts)[:count], ys, dim_mask=self.dim_mask)


def trajectory_data(ts, ys, *, dim_mask=None) -> TrajectoryData:
    """Validate and pad (ts, ys); ys is (samples, dim) or (trajectories, samples, dim).

    `dim_mask` (one 0/1 per state) leaves coordinates out of the loss: the extra
    dimensions of an augmented neural ODE.
    """
    grid = as_time_grid(ts)
    values = np.asarray(ys, dtype=np.float64)
    if values.ndim == 2:
        values = values[None]
    if values.ndim != 3:
        raise ValueError("ys must have shape (samples, dim) or (trajectories, samples, dim).")
    n_traj, n_samples, dim = values.shape
    if n_samples != grid.size:
        raise ValueError(f"ys has {n_samples} samples per trajectory but ts has {grid.size} times.")
    if n_traj < 1 or dim < 1:
        raise ValueError("ys must hold at least one trajectory of dimension ≥ 1.")
    if not np.all(np.isfinite(values)):
        raise ValueError("The data contain NaN or infinite values.")
    samples = bucket(n_samples, SAMPLE_BUCKETS)
    trajectories = bucket(n_traj, TRAJECTORY_BUCKETS)
    padded_ts = np.concatenate([grid, np.full(samples - n_samples, grid[-1])])
    padded_ys = np.zeros((trajectories, samples, dim))
    padded_ys[:n_traj, :n_samples] = values
    padded_ys[n_traj:, :n_samples] = values[0]
    mask = np.ones(dim) if dim_mask is None else np.asarray(dim_mask, dtype=np.float64)
    if mask.shape != (dim,):
        raise ValueError(f"dim_mask must have shape ({dim},).")
    return TrajectoryData(
        ts=as_float_array(padded_ts),
        ys=as_float_array(padded_ys),
        sample_mask=as_float_array(np.arange(samples) < n_samples),
        trajectory_mask=as_float_array(np.arange(trajectories) < n_traj),
        dim_mask=as_float_array(mask),
    )


# ----------------------------------------------------------------------------- the loss


def _solve_with_steps(model, data: TrajectoryData, control: StepControl):
    if data.ys.shape[0] == 1:
        # A vmap over one trajectory still batches every loop predicate: solve it plainly.
        adjoint = diffrax.RecursiveCheckpointAdjoint(checkpoints=SINGLE_TRAJECTORY_CHECKPOINTS)
        sol = solve_at(model, data.ys[0, 0], data.ts, control, adjoint=adjoint)
        return sol.ys[None], sol.stats["num_steps"][None]

    def one(y0):
        sol = solve_at(model, y0, data.ts, control)
        return sol.ys, sol.stats["num_steps"]

    return jax.vmap(one)(data.ys[:, 0])


def _loss_and_steps(model, data: TrajectoryData, control: StepControl):
    """Sum of squared errors over samples and states (as the notes), mean over trajectories."""
    pred, steps = _solve_with_steps(model, data, control)
    mask = data.sample_mask[None, :, None] * data.dim_mask[None, None, :]
    per_trajectory = jnp.sum(mask * (pred - data.ys) ** 2, axis=(1, 2))
    loss = jnp.sum(data.trajectory_mask * per_trajectory) / jnp.sum(data.trajectory_mask)
    # Solver steps of the real trajectories (padding copies excluded), for cost reports.
    return loss, jnp.sum(data.trajectory_mask * steps)


# ----------------------------------------------------------------------------- epochs


class _TrainState(eqx.Module):
    model: Any
    opt_state: optax.OptState
    diverged: Bool[Array, ""]


class _Chunk(eqx.Module):
    """What one chunk of epochs recorded (entries past `count` are NaN)."""

    losses: Float[Array, " capacity"]
    grad_norms: Float[Array, " capacity"]
    solver_steps: Float[Array, " capacity"]  # forward-solve steps per epoch, all trajectories
    count: Int[Array, ""]


@eqx.filter_jit
def _ode_epochs(state: _TrainState, data, control, num_epochs):
    loss_and_grad = eqx.filter_value_and_grad(_loss_and_steps, has_aux=True)

    def epoch(carry):
        state, i, losses, grad_norms, solver_steps = carry
        (loss, steps), grads = loss_and_grad(state.model, data, control)
        grad_norm = optax.tree.norm(grads)
        finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
        params = eqx.filter(state.model, eqx.is_inexact_array)
        updates, opt_state = ADAM.update(grads, state.opt_state, params)
        model = eqx.apply_updates(state.model, updates)
        # A non-finite loss stops the fit and keeps the last good parameters.
        new_state = _TrainState(
            model=tree_select(finite, model, state.model),
            opt_state=tree_select(finite, opt_state, state.opt_state),
            diverged=~finite,
        )
        return (
            new_state,
            i + 1,
            losses.at[i].set(loss),
            grad_norms.at[i].set(grad_norm),
            solver_steps.at[i].set(steps.astype(solver_steps.dtype)),
        )

    def keep_going(carry):
        state, i = carry[:2]
        return (i < num_epochs) & ~state.diverged

    empty = jnp.full(CHUNK_CAPACITY, jnp.nan)
    state, count, losses, grad_norms, solver_steps = jax.lax.while_loop(
        keep_going, epoch, (state, jnp.int32(0), empty, empty, empty)
    )
    return state, _Chunk(losses, grad_norms, solver_steps, count)


_ode_epochs_stored = AotFunction(
    "ode_epochs", _ode_epochs, lambda state, *_: (state, _Chunk(0, 0, 0, 0))
)


@eqx.filter_jit
def _fresh_state(model, learning_rate):
    # One compiled call instead of a dozen eager ops, each of which would compile.
    opt_state = ADAM.init(eqx.filter(model, eqx.is_inexact_array))
    return _TrainState(model, set_rate(opt_state, learning_rate), jnp.bool_(False))


# ----------------------------------------------------------------------------- the fit


def _scalar(value, dtype=None):
    """A number on the device, copied once: a chunk of a few epochs takes less than a copy."""
    return _device_scalar(value, jnp.result_type(float) if dtype is None else dtype)


@functools.lru_cache(maxsize=1024)
def _device_scalar(value, dtype):
    return device_array(value, dtype)


@dataclass(frozen=True, eq=False)
class OdeFit:
    """A neural ODE fitted so far: the field, the optimiser state and the history.

    It is also the checkpoint a fit goes on from (`fit_ode(..., start=fit)`).
    """

    model: Any  # an equinox Module f(t, u, args), usually an MLPVectorField
    settings: SolverSettings
    opt_state: Any
    losses: np.ndarray  # one entry per epoch: the loss before that epoch's update
    grad_norms: np.ndarray
    solver_steps: np.ndarray  # forward-solve steps per epoch, summed over trajectories
    diverged: bool = False
    seconds: float = 0.0  # training time over all pieces of the fit

    @property
    def epochs(self) -> int:
        """Epochs run (a diverged last epoch, whose update was thrown away, included)."""
        return int(self.losses.size)

    @property
    def final_loss(self) -> float:
        finite = self.losses[np.isfinite(self.losses)]
        return float(finite[-1]) if finite.size else float("nan")

    @property
    def message(self) -> str:
        if self.diverged:
            return (
                "Training diverged (the loss became NaN or infinite) and stopped at the last "
                "good parameters: lower the learning rate or tighten the solver."
            )
        return "ok"

    def predict(self, u0, ts) -> np.ndarray:
        """The learned trajectory from u0, saved at ts: shape (len(ts), dim)."""
        s = self.settings
        result = simulate(
            self.model, u0, ts, solver=s.solver, dt=s.dt, rtol=s.rtol, atol=s.atol,
            max_steps=s.max_steps,
        )  # fmt: skip
        return np.asarray(result.ys)


def _stages(data, epochs, warmup, schedule, chunks):
    """(data, epochs, rate at a stage's epoch, chunk size) for each stage of a fit."""
    stages = [(data.first(fraction), whole("warm-up epochs", n), None) for fraction, n in warmup]
    stages.append((data, epochs, schedule))
    total = sum(n for _, n, _ in stages)
    out = []
    for stage_data, n, stage_schedule in stages:
        share = max(1, round(chunks * n / max(total, 1)))
        size = min(CHUNK_CAPACITY, max(1, -(-n // share)))
        rate = stage_schedule if stage_schedule is not None else (lambda _: schedule(0))
        out.append((stage_data, n, rate, size))
    return out, total


def fit_ode(
    data: TrajectoryData,
    settings: SolverSettings,
    *,
    epochs: int,
    learning_rate: float | Callable[[int], float] = 0.1,
    model=None,
    seed: int = 0,
    warmup: Sequence[tuple[float, int]] = (),
    chunks: int = 20,
    start: OdeFit | None = None,
    on_chunk: Callable[[OdeFit], None] | None = None,
) -> OdeFit:
    """Fit a vector field so its solutions from each trajectory's first sample match `data`.

    The loss is the notes' sum of squared errors (mean over trajectories), the optimiser
    Adam. `learning_rate` is a number or a schedule (epoch → rate, e.g.
    `optax.exponential_decay`), read at the start of each chunk. `model` defaults to the
    notes' field V(u) = W₂ tanh(W₁u³ + b₁) + b₂ with 50 hidden units, seeded by `seed`.

    `warmup` grows the window: each (fraction, n) first fits that fraction of the samples
    for n epochs at the initial rate, which keeps a fit of several oscillations out of
    poor local minima. The epochs run in about `chunks` compiled calls; after each,
    `on_chunk(fit so far)`. Given `start` (such a partial fit of the same call), training
    goes on from it and computes exactly what an uninterrupted run would have. Training
    stops early, at the last good parameters, if the loss becomes non-finite.
    """
    epochs = whole("epochs", epochs)
    chunks = whole("chunks", chunks, low=1)
    schedule = learning_rate if callable(learning_rate) else optax.constant_schedule(
        positive("The learning rate", learning_rate)
    )  # fmt: skip
    for fraction, _ in warmup:
        if not 0 < fraction < 1:
            raise ValueError("Warm-up fractions must lie strictly between 0 and 1.")
    stages, total = _stages(data, epochs, tuple(warmup), schedule, chunks)
    control = settings.control()
    if start is None:
        if model is None:
            dim = int(data.ys.shape[-1])
            model = MLPVectorField(dim, 50, key=jr.PRNGKey(whole("seed", seed)))
        state = _fresh_state(model, as_float_array(positive("The learning rate", schedule(0))))
        fit = OdeFit(model, settings, state.opt_state, *(np.zeros(0, np.float32),) * 3)
    else:
        if start.epochs > total:
            raise ValueError(
                f"A fit after {start.epochs} epochs cannot resume a {total}-epoch fit."
            )
        fit = start
        state = _TrainState(start.model, start.opt_state, _scalar(bool(start.diverged), bool))
    started = time.perf_counter()
    offset = 0
    for stage_data, n, rate, size in stages:
        done = fit.epochs - offset
        while 0 <= done < n and not fit.diverged:
            count = min(size, n - done)
            opt_state = set_rate(
                state.opt_state, as_float_array(positive("The learning rate", rate(done)))
            )
            state, chunk = _ode_epochs_stored(
                _TrainState(state.model, opt_state, state.diverged),
                stage_data,
                control,
                device_array(count, jnp.int32),
            )
            ran = int(chunk.count)
            fit = replace(
                fit,
                model=state.model,
                opt_state=state.opt_state,
                diverged=bool(state.diverged),
                seconds=fit.seconds + time.perf_counter() - started,
                # Sliced on the host: a device-side slice would compile once per length.
                **{
                    name: np.concatenate([getattr(fit, name), np.asarray(values)[:ran]])
                    for name, values in (
                        ("losses", chunk.losses),
                        ("grad_norms", chunk.grad_norms),
                        ("solver_steps", chunk.solver_steps),
                    )
                },
            )
            done += ran
            if on_chunk is not None:
                on_chunk(fit)
            started = time.perf_counter()  # the time on_chunk took is not training
        offset += n
    return fit


def fit_neural_ode(
    ts,
    ys,
    *,
    epochs: int,
    learning_rate: float,
    solver: str = "tsit5",
    rtol: float = 1e-7,
    atol: float = 1e-9,
    dt: float | None = None,
    width: int = 50,
    seed: int = 0,
    max_steps: int = 10_000,
    progress: Callable[[int, np.ndarray], None] | None = None,
) -> OdeFit:
    """The notes' recipe in one call: V (x → x³ → Dense(dim, width, tanh) → Dense(width, dim)).

    ys is one trajectory (len(ts), dim) or several (n, len(ts), dim), each starting
    from its own first sample; progress(epochs done, losses) after each chunk.
    """
    settings = SolverSettings(solver, dt=dt, rtol=rtol, atol=atol, max_steps=max_steps)
    data = trajectory_data(ts, ys)
    model = MLPVectorField(
        int(data.ys.shape[-1]), whole("width", width, low=1), key=jr.PRNGKey(whole("seed", seed))
    )
    report = None if progress is None else (lambda fit: progress(fit.epochs, fit.losses))
    return fit_ode(
        data, settings, epochs=epochs, learning_rate=learning_rate, model=model, on_chunk=report,
        chunks=max(1, math.ceil(epochs / CHUNK_CAPACITY)),
    )  # fmt: skip

"""Training loops, each jitted whole: epochs run inside `lax.while_loop`.

Epoch counts, learning rates, seeds, step sizes and tolerances are runtime values, so
none of them recompiles. A Python loop only ever runs over *chunks* of epochs, to let a
page stream progress.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import Array, Bool, Float, Int

from ._aot import AotFunction
from ._nets import IdentityChain, PlainNet, ResNet
from ._solvers import (
    DEFAULT_MAX_STEPS,
    as_float_array,
    as_time_grid,
    check_step_settings,
    device_array,
    simulate,
    solve_at,
)
from ._systems import identity_data
from ._vector_field import MLPVectorField

# One optimiser object for every fit: the learning rate lives in its state
# (`inject_hyperparams`), so a new rate never means a new compiled function.
ADAM = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)

CHUNK_CAPACITY = 256  # epochs one compiled call can run (and record) at most
IDENTITY_HISTORY = 20_000  # epochs of loss history kept by the y = x fit


def _set_rate(opt_state, learning_rate):
    return opt_state._replace(hyperparams={**opt_state.hyperparams, "learning_rate": learning_rate})


def with_learning_rate(opt_state, learning_rate: float):
    """Set the learning rate inside an `inject_hyperparams` optimiser state."""
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"The learning rate must be a positive number, got {learning_rate}.")
    return _set_rate(opt_state, as_float_array(learning_rate))


def _tree_select(predicate, on_true, on_false):
    return jax.tree_util.tree_map(
        lambda a, b: jnp.where(predicate, a, b) if eqx.is_array(a) else a, on_true, on_false
    )


# ----------------------------------------------------------------------------- y = x


class IdentityFit(eqx.Module):
    """One run of the notes' y = x experiment."""

    model: IdentityChain
    epochs: int
    converged: bool
    final_mse: float
    losses: np.ndarray  # full-data MSE after each epoch

    def predict(self, x) -> np.ndarray:
        return np.asarray(_predict_chain(self.model, as_float_array(np.ravel(x))))


@eqx.filter_jit
def _predict_chain(model, x):
    return jax.vmap(model)(x)


def _identity_run(key, residual, max_epochs, tol, learning_rate, batch_size):
    x, y = (jnp.asarray(a) for a in identity_data())
    n = x.shape[0]
    n_batches = -(-n // batch_size)
    init_key, shuffle_key = jr.split(key)
    model = IdentityChain(residual, key=init_key)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    opt_state = _set_rate(ADAM.init(params), learning_rate)

    def batch_loss(p, xb, yb, wb):
        pred = jax.vmap(eqx.combine(p, static))(xb)
        return jnp.sum(wb * (pred - yb) ** 2) / jnp.sum(wb)

    def full_mse(p):
        return jnp.mean((jax.vmap(eqx.combine(p, static))(x) - y) ** 2)

    def epoch(carry):
        p, opt, k, count, _, losses = carry
        k, sub = jr.split(k)
        # Flux's DataLoader: reshuffle every epoch, keep the partial last batch.
        order = jnp.concatenate(
            [jr.permutation(sub, n), jnp.zeros(n_batches * batch_size - n, jnp.int32)]
        )
        weights = (jnp.arange(n_batches * batch_size) < n).astype(x.dtype)
        batches = (
            x[order].reshape(n_batches, batch_size),
            y[order].reshape(n_batches, batch_size),
            weights.reshape(n_batches, batch_size),
        )

        def step(state, batch):
            p, opt = state
            grads = jax.grad(batch_loss)(p, *batch)
            updates, opt = ADAM.update(grads, opt, p)
            return (eqx.apply_updates(p, updates), opt), None

        (p, opt), _ = jax.lax.scan(step, (p, opt), batches)
        mse = full_mse(p)
        losses = losses.at[count].set(mse)
        return p, opt, k, count + 1, mse, losses

    def keep_going(carry):
        _, _, _, count, mse, _ = carry
        return (count < max_epochs) & ~(mse < tol)

    losses = jnp.full(IDENTITY_HISTORY, jnp.nan)
    start = (params, opt_state, shuffle_key, jnp.int32(0), jnp.inf, losses)
    params, _, _, count, mse, losses = jax.lax.while_loop(keep_going, epoch, start)
    return eqx.combine(params, static), count, mse, losses


@eqx.filter_jit
def _identity_runs(keys, max_epochs, tol, learning_rate, *, residual, batch_size):
    # lax.map, not vmap: each run stops at its own epoch (a vmapped while_loop would
    # step every run until the slowest finishes, and batches the shuffles).
    def run(args):
        key, epochs = args
        return _identity_run(key, residual, epochs, tol, learning_rate, batch_size)

    return jax.lax.map(run, (keys, max_epochs))


SEED_BUCKETS = (1, 8, 32, 128)


def _check_identity_args(architecture, max_epochs, tol, batch_size, learning_rate):
    if architecture not in ("plain", "resnet"):
        raise ValueError(f"architecture must be 'plain' or 'resnet', got {architecture!r}.")
    if not 1 <= max_epochs <= IDENTITY_HISTORY:
        raise ValueError(f"max_epochs must be between 1 and {IDENTITY_HISTORY}.")
    if not (math.isfinite(tol) and tol > 0):
        raise ValueError("tol must be a positive number.")
    if not 1 <= batch_size <= 21:
        raise ValueError("batch_size must be between 1 and 21 (the data has 21 points).")
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError("The learning rate must be a positive number.")


def fit_identity_seeds(
    architecture: str,
    seeds,
    *,
    max_epochs: int = 10_000,
    tol: float = 0.01,
    batch_size: int = 8,
    learning_rate: float = 1e-3,
) -> list[IdentityFit]:
    """The y = x experiment from fresh initialisations, one per seed, in one compiled call."""
    _check_identity_args(architecture, max_epochs, tol, batch_size, learning_rate)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("Give at least one seed.")
    # Pad the seed list to a bucket size (padded runs train 0 epochs): no recompile per N.
    size = next((b for b in SEED_BUCKETS if len(seeds) <= b), len(seeds))
    padded = seeds + [0] * (size - len(seeds))
    keys = jax.vmap(jr.PRNGKey)(device_array(padded, jnp.int32))
    epochs = device_array(np.where(np.arange(size) < len(seeds), max_epochs, 0), jnp.int32)
    models, counts, mses, losses = _identity_runs(
        keys,
        epochs,
        device_array(tol, jnp.float32),
        device_array(learning_rate, jnp.float32),
        residual=architecture == "resnet",
        batch_size=int(batch_size),
    )
    # Index on the host: a device-side index would compile once per position.
    models, counts, mses, losses = jax.tree_util.tree_map(
        np.asarray, (models, counts, mses, losses)
    )
    fits = []
    for i in range(len(seeds)):
        model = jax.tree_util.tree_map(lambda a, i=i: a[i], models)
        fits.append(
            IdentityFit(
                model=model,
                epochs=int(counts[i]),
                converged=bool(mses[i] < tol),
                final_mse=float(mses[i]),
                losses=losses[i, : counts[i]],
            )
        )
    return fits


def fit_identity(
    architecture: str,
    *,
    seed: int,
    max_epochs: int = 10_000,
    tol: float = 0.01,
    batch_size: int = 8,
    learning_rate: float = 1e-3,
) -> IdentityFit:
    """The notes' y = x experiment: Adam, minibatches of 8 with reshuffling, stop at MSE < tol."""
    return fit_identity_seeds(
        architecture,
        [seed],
        max_epochs=max_epochs,
        tol=tol,
        batch_size=batch_size,
        learning_rate=learning_rate,
    )[0]


# ----------------------------------------------------------------------------- neural ODE


def _bucket(n: int, sizes: tuple[int, ...]) -> int:
    for size in sizes:
        if n <= size:
            return size
    return -(-n // sizes[-1]) * sizes[-1]


SAMPLE_BUCKETS = (64, 256, 1024)
TRAJECTORY_BUCKETS = (1, 16, 64)


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
        return int(jnp.sum(self.sample_mask))

    @property
    def num_trajectories(self) -> int:
        return int(jnp.sum(self.trajectory_mask))


def trajectory_data(ts, ys, *, dim_mask=None) -> TrajectoryData:
    """Validate and pad (ts, ys); ys is (samples, dim) or (trajectories, samples, dim)."""
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
    samples = _bucket(n_samples, SAMPLE_BUCKETS)
    trajectories = _bucket(n_traj, TRAJECTORY_BUCKETS)
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


class SolverSettings(eqx.Module):
    """How to integrate: the solver and its step control are static, the numbers are not."""

    dt: Float[Array, ""]
    rtol: Float[Array, ""]
    atol: Float[Array, ""]
    solver: str = eqx.field(static=True)
    adaptive: bool = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)


def solver_settings(
    solver: str = "tsit5",
    *,
    dt: float | None = None,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> SolverSettings:
    _, adaptive = check_step_settings(solver, dt, rtol, atol)
    return SolverSettings(
        dt=as_float_array(0.0 if dt is None else dt),
        rtol=as_float_array(rtol),
        atol=as_float_array(atol),
        solver=solver,
        adaptive=adaptive,
        max_steps=int(max_steps),
    )


# Backpropagating through one solve keeps the solver state at this many steps and
# recomputes the others (diffrax's default keeps log2(max_steps) = 14). Measured on the
# spiral fit (one trajectory, 52-120 steps an epoch): 64 cut an epoch by about a quarter;
# 80 or more was slower again, and a batch of trajectories gained nothing.
SINGLE_TRAJECTORY_CHECKPOINTS = 64


def _solve_with_steps(model, data: TrajectoryData, settings: SolverSettings):
    def one(y0, adjoint=None):
        sol = solve_at(
            model,
            y0,
            data.ts,
            solver=settings.solver,
            adaptive=settings.adaptive,
            dt=settings.dt,
            rtol=settings.rtol,
            atol=settings.atol,
            max_steps=settings.max_steps,
            adjoint=adjoint,
        )
        return sol.ys, sol.stats["num_steps"]

    if data.ys.shape[0] == 1:
        # A vmap over one trajectory still batches every loop predicate: solve it plainly.
        ys, steps = one(
            data.ys[0, 0],
            diffrax.RecursiveCheckpointAdjoint(checkpoints=SINGLE_TRAJECTORY_CHECKPOINTS),
        )
        return ys[None], steps[None]
    return jax.vmap(one)(data.ys[:, 0])


def solve_trajectories(model, data: TrajectoryData, settings: SolverSettings):
    """Solve the model from every trajectory's first state, saved at data.ts."""
    return _solve_with_steps(model, data, settings)[0]


def _loss_and_steps(model, data: TrajectoryData, settings: SolverSettings):
    pred, steps = _solve_with_steps(model, data, settings)
    mask = data.sample_mask[None, :, None] * data.dim_mask[None, None, :]
    per_trajectory = jnp.sum(mask * (pred - data.ys) ** 2, axis=(1, 2))
    loss = jnp.sum(data.trajectory_mask * per_trajectory) / jnp.sum(data.trajectory_mask)
    # Solver steps of the real trajectories (padding copies excluded), for cost reports.
    return loss, jnp.sum(data.trajectory_mask * steps)


def trajectory_loss(model, data: TrajectoryData, settings: SolverSettings):
    """Sum of squared errors over samples and states (as the notes), mean over trajectories."""
    return _loss_and_steps(model, data, settings)[0]


class OdeFitState(eqx.Module):
    """Everything needed to continue a neural-ODE fit: model, optimiser state, epoch count."""

    model: MLPVectorField
    opt_state: optax.OptState
    epoch: Int[Array, ""]
    diverged: Bool[Array, ""]


class OdeChunk(eqx.Module):
    """What one chunk of epochs recorded (entries past `count` are NaN)."""

    losses: Float[Array, " capacity"]
    grad_norms: Float[Array, " capacity"]
    count: Int[Array, ""]
    # Forward-solve steps per epoch, summed over trajectories (NaN past `count`).
    solver_steps: Float[Array, " capacity"]


def init_ode_fit(
    dim: int,
    *,
    width: int = 50,
    seed: int = 0,
    learning_rate: float = 0.1,
    cube_input: bool = True,
    time_input: bool = False,
) -> OdeFitState:
    """A fresh vector field and Adam state."""
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"The learning rate must be a positive number, got {learning_rate}.")
    return _fresh_ode_fit(
        device_array(np.uint32(seed)),
        as_float_array(learning_rate),
        dim=dim,
        width=width,
        cube_input=cube_input,
        time_input=time_input,
    )


@eqx.filter_jit
def _fresh_ode_fit(seed, learning_rate, *, dim, width, cube_input, time_input):
    # One compiled call instead of a dozen eager ops, each of which would compile.
    model = MLPVectorField(
        dim, width, key=jr.PRNGKey(seed), cube_input=cube_input, time_input=time_input
    )
    opt_state = ADAM.init(eqx.filter(model, eqx.is_inexact_array))
    return OdeFitState(
        model=model,
        opt_state=_set_rate(opt_state, learning_rate),
        epoch=jnp.int32(0),
        diverged=jnp.bool_(False),
    )


@eqx.filter_jit
def _ode_epochs(state: OdeFitState, data, settings, num_epochs):
    loss_and_grad = eqx.filter_value_and_grad(_loss_and_steps, has_aux=True)

    def epoch(carry):
        state, i, losses, grad_norms, solver_steps = carry
        (loss, steps), grads = loss_and_grad(state.model, data, settings)
        grad_norm = optax.tree.norm(grads)
        finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
        params = eqx.filter(state.model, eqx.is_inexact_array)
        updates, opt_state = ADAM.update(grads, state.opt_state, params)
        model = eqx.apply_updates(state.model, updates)
        # A non-finite loss stops the fit and keeps the last good parameters.
        new_state = OdeFitState(
            model=_tree_select(finite, model, state.model),
            opt_state=_tree_select(finite, opt_state, state.opt_state),
            epoch=state.epoch + finite.astype(jnp.int32),
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
    return state, OdeChunk(
        losses=losses, grad_norms=grad_norms, count=count, solver_steps=solver_steps
    )


def train_ode_epochs(
    state: OdeFitState, data: TrajectoryData, settings: SolverSettings, num_epochs: int
) -> tuple[OdeFitState, OdeChunk]:
    """Run up to CHUNK_CAPACITY more epochs from `state` (one compiled call)."""
    if not 0 <= num_epochs <= CHUNK_CAPACITY:
        raise ValueError(f"A chunk runs between 0 and {CHUNK_CAPACITY} epochs.")
    return _ode_epochs_stored(state, data, settings, device_array(num_epochs, jnp.int32))


_ode_epochs_stored = AotFunction(
    "ode_epochs",
    _ode_epochs,
    lambda state, *_: (state, OdeChunk(losses=0, grad_norms=0, count=0, solver_steps=0)),
)


@eqx.filter_jit
def _ode_loss(model, data, settings):
    return trajectory_loss(model, data, settings)


_ode_loss_stored = AotFunction("ode_loss", _ode_loss, lambda *_: 0.0)


class NeuralODEFit(eqx.Module):
    """A trained neural ODE: the vector field, its history, and how to predict with it."""

    model: MLPVectorField
    settings: SolverSettings
    losses: np.ndarray
    grad_norms: np.ndarray
    final_loss: float
    diverged: bool

    @property
    def epochs(self) -> int:
        return int(self.losses.size) - int(self.diverged)

    @property
    def message(self) -> str:
        if self.diverged:
            return (
                "Training diverged (the loss became NaN or infinite) and stopped at the last "
                "good parameters: lower the learning rate or tighten the solver."
            )
        return "ok"

    def predict(self, u0, ts):
        """The learned trajectory from u0, saved at ts: shape (len(ts), dim)."""
        s = self.settings
        result = simulate(
            self.model,
            u0,
            ts,
            solver=s.solver,
            dt=float(s.dt) if not s.adaptive else None,
            rtol=float(s.rtol),
            atol=float(s.atol),
            max_steps=s.max_steps,
        )
        return np.asarray(result.ys)


def run_ode_fit(
    state: OdeFitState,
    data: TrajectoryData,
    settings: SolverSettings,
    epochs: int,
    *,
    progress: Callable[[int, np.ndarray], None] | None = None,
) -> tuple[OdeFitState, np.ndarray, np.ndarray]:
    """Run `epochs` more epochs in chunks; call progress(epochs_done, losses) after each."""
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a whole number ≥ 0, got {epochs}.")
    losses, grad_norms = [], []
    done = 0
    while done < epochs:
        state, chunk = train_ode_epochs(state, data, settings, min(CHUNK_CAPACITY, epochs - done))
        count = int(chunk.count)
        losses.append(np.asarray(chunk.losses)[:count])
        grad_norms.append(np.asarray(chunk.grad_norms)[:count])
        done += count
        if progress is not None:
            progress(done, np.concatenate(losses))
        if bool(state.diverged):
            break
    empty = np.zeros(0, dtype=np.float32)
    return (
        state,
        np.concatenate(losses) if losses else empty,
        np.concatenate(grad_norms) if grad_norms else empty,
    )


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
    max_steps: int = DEFAULT_MAX_STEPS,
    progress: Callable[[int, np.ndarray], None] | None = None,
) -> NeuralODEFit:
    """Fit V (x → x³ → Dense(dim, width, tanh) → Dense(width, dim)) so its solutions match ys.

    ys is one trajectory (len(ts), dim) or several (n, len(ts), dim), each starting
    from its own first sample. The loss is the notes' sum of squares, averaged over
    trajectories; the optimiser is Adam.
    """
    settings = solver_settings(solver, dt=dt, rtol=rtol, atol=atol, max_steps=max_steps)
    data = trajectory_data(ts, ys)
    if width < 1:
        raise ValueError("width must be at least 1.")
    state = init_ode_fit(
        int(data.ys.shape[-1]), width=width, seed=seed, learning_rate=learning_rate
    )
    state, losses, grad_norms = run_ode_fit(state, data, settings, epochs, progress=progress)
    final = float(_ode_loss_stored(state.model, data, settings))
    return NeuralODEFit(
        model=state.model,
        settings=settings,
        losses=losses,
        grad_norms=grad_norms,
        final_loss=final,
        diverged=bool(state.diverged) or not math.isfinite(final),
    )


# ----------------------------------------------------------------------------- deep nets


def regression_task(width: int, n_points: int = 64, *, seed: int = 0):
    """A small smooth regression task in R^width for the degradation experiment.

    Targets come from a fixed two-layer teacher, y = sin(2 Q x)/2 with Q orthogonal, so
    a shallow net can fit it and any failure of a deeper one is an optimisation failure.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n_points, width))
    q, _ = np.linalg.qr(rng.normal(size=(width, width)))
    y = 0.5 * np.sin(2.0 * x @ q.T)
    return as_float_array(x), as_float_array(y)


def mse_loss(model, x, y):
    return jnp.mean((jax.vmap(model)(x) - y) ** 2)


TRAIN_HISTORY = 2048


@eqx.filter_jit
def _train_deep_net(model, x, y, num_epochs, learning_rate):
    params, static = eqx.partition(model, eqx.is_inexact_array)
    opt_state = _set_rate(ADAM.init(params), learning_rate)

    def epoch(i, carry):
        params, opt_state, losses = carry
        loss, grads = jax.value_and_grad(lambda p: mse_loss(eqx.combine(p, static), x, y))(params)
        updates, opt_state = ADAM.update(grads, opt_state, params)
        return eqx.apply_updates(params, updates), opt_state, losses.at[i].set(loss)

    losses = jnp.full(TRAIN_HISTORY, jnp.nan)
    params, _, losses = jax.lax.fori_loop(0, num_epochs, epoch, (params, opt_state, losses))
    return eqx.combine(params, static), losses


def train_deep_net(
    model: PlainNet | ResNet, x, y, *, epochs: int, learning_rate: float = 1e-3
) -> tuple[PlainNet | ResNet, np.ndarray]:
    """Full-batch Adam on the MSE; returns the trained net and the loss before each epoch."""
    if not 0 <= epochs <= TRAIN_HISTORY:
        raise ValueError(f"epochs must be between 0 and {TRAIN_HISTORY}.")
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError("The learning rate must be a positive number.")
    trained, losses = _train_deep_net(
        model, x, y, device_array(epochs, jnp.int32), as_float_array(learning_rate)
    )
    return trained, np.asarray(losses)[:epochs]

"""The notes' y = x experiment: the Flux recipe, jitted whole, one run per seed.

Adam(1e-3), minibatches of 8 reshuffled every epoch (the partial last batch kept), stop at
the first epoch whose MSE over all 21 points is below the tolerance. Every run is one
`lax.while_loop`; many seeds run in one compiled call. Asked for `checkpoints`, the same loop
also keeps the chain as it was after each of those epochs (an animation of the fit needs no
second run and no compile per frame).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ._checks import bucket, positive, whole
from ._nets import IdentityChain
from ._optim import ADAM, set_rate
from ._solvers import as_float_array, device_array
from ._systems import identity_data

IDENTITY_HISTORY = 20_000  # epochs of loss history kept by the y = x fit


class IdentityFit(eqx.Module):
    """One run of the notes' y = x experiment."""

    model: IdentityChain
    epochs: int
    converged: bool
    final_mse: float
    losses: np.ndarray  # full-data MSE after each epoch
    # The chain after each epoch of `checkpoints` (epoch 0: the initialisation; an epoch past
    # the run's stop: the final chain); empty unless checkpoints were asked for.
    snapshots: tuple[IdentityChain, ...] = ()

    def predict(self, x, model: IdentityChain | None = None) -> np.ndarray:
        """The fitted chain's outputs at x (or those of `model`, e.g. one of the snapshots)."""
        model = self.model if model is None else model
        return np.asarray(_predict_chain(model, as_float_array(np.ravel(x))))


@eqx.filter_jit
def _predict_chain(model, x):
    return jax.vmap(model)(x)


def _snapshot(snaps, params, hit):
    """The rows of `snaps` (checkpoints first) where `hit` is true replaced by `params`."""

    def put(rows, leaf):
        return jnp.where(hit.reshape(-1, *([1] * leaf.ndim)), leaf[None], rows)

    return jax.tree_util.tree_map(put, snaps, params)


def _identity_run(key, residual, max_epochs, tol, learning_rate, batch_size, checkpoints):
    x, y = (jnp.asarray(a) for a in identity_data())
    n = x.shape[0]
    n_batches = -(-n // batch_size)
    init_key, shuffle_key = jr.split(key)
    model = IdentityChain(residual, key=init_key)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    opt_state = set_rate(ADAM.init(params), learning_rate)

    def batch_loss(p, xb, yb, wb):
        pred = jax.vmap(eqx.combine(p, static))(xb)
        return jnp.sum(wb * (pred - yb) ** 2) / jnp.sum(wb)

    def full_mse(p):
        return jnp.mean((jax.vmap(eqx.combine(p, static))(x) - y) ** 2)

    def epoch(carry):
        p, opt, k, count, _, losses, snaps = carry
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
        if checkpoints is not None:
            snaps = _snapshot(snaps, p, checkpoints == count + 1)
        return p, opt, k, count + 1, mse, losses, snaps

    def keep_going(carry):
        _, _, _, count, mse, _, _ = carry
        return (count < max_epochs) & ~(mse < tol)

    losses = jnp.full(IDENTITY_HISTORY, jnp.nan)
    snaps = None
    if checkpoints is not None:  # a row per checkpoint; epoch 0 is the initialisation
        rows = jax.tree_util.tree_map(lambda a: jnp.zeros((checkpoints.size, *a.shape)), params)
        snaps = _snapshot(rows, params, checkpoints == 0)
    start = (params, opt_state, shuffle_key, jnp.int32(0), jnp.inf, losses, snaps)
    params, _, _, count, mse, losses, snaps = jax.lax.while_loop(keep_going, epoch, start)
    if checkpoints is not None:  # checkpoints the run stopped before: the final chain
        snaps = _snapshot(snaps, params, checkpoints > count)
    return eqx.combine(params, static), count, mse, losses, snaps


@eqx.filter_jit
def _identity_runs(keys, max_epochs, tol, learning_rate, checkpoints, *, residual, batch_size):
    # lax.map, not vmap: each run stops at its own epoch (a vmapped while_loop would
    # step every run until the slowest finishes, and batches the shuffles). checkpoints is
    # None (a program without snapshots) or an int array, one compiled program per length.
    def run(args):
        key, epochs = args
        return _identity_run(key, residual, epochs, tol, learning_rate, batch_size, checkpoints)

    return jax.lax.map(run, (keys, max_epochs))


SEED_BUCKETS = (1, 8, 32, 128)


def _check_identity_args(architecture, max_epochs, tol, batch_size, learning_rate):
    if architecture not in ("plain", "resnet"):
        raise ValueError(f"architecture must be 'plain' or 'resnet', got {architecture!r}.")
    whole("max_epochs", max_epochs, low=1, high=IDENTITY_HISTORY)
    positive("tol", tol)
    whole("batch_size (the data has 21 points)", batch_size, low=1, high=21)
    positive("The learning rate", learning_rate)


def _checkpoint_array(checkpoints):
    if checkpoints is None:
        return None
    values = np.asarray(checkpoints)
    if (
        values.ndim != 1
        or values.size == 0
        or not np.all(np.isfinite(values.astype(np.float64)))
        or np.any(values < 0)
        or np.any(values > np.iinfo(np.int32).max)
        or np.any(values != np.round(values))
    ):
        raise ValueError("checkpoints must be a non-empty list of whole numbers of epochs ≥ 0.")
    return device_array(values.astype(np.int64), jnp.int32)


def fit_identity_seeds(
    architecture: str,
    seeds,
    *,
    max_epochs: int = 10_000,
    tol: float = 0.01,
    batch_size: int = 8,
    learning_rate: float = 1e-3,
    checkpoints=None,
) -> list[IdentityFit]:
    """The y = x experiment from fresh initialisations, one per seed, in one compiled call.

    `checkpoints`: epochs (whole numbers ≥ 0) after which to keep a copy of each chain, in
    the fits' `snapshots`; epoch 0 is the initialisation, and an epoch after a run's stop
    gives its final chain.
    """
    _check_identity_args(architecture, max_epochs, tol, batch_size, learning_rate)
    checkpoints = _checkpoint_array(checkpoints)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("Give at least one seed.")
    # Pad the seed list to a bucket size (padded runs train 0 epochs): no recompile per N.
    size = bucket(len(seeds), SEED_BUCKETS)
    padded = seeds + [0] * (size - len(seeds))
    keys = jax.vmap(jr.PRNGKey)(device_array(padded, jnp.int32))
    epochs = device_array(np.where(np.arange(size) < len(seeds), max_epochs, 0), jnp.int32)
    models, counts, mses, losses, snaps = _identity_runs(
        keys,
        epochs,
        device_array(tol, jnp.float32),
        device_array(learning_rate, jnp.float32),
        checkpoints,
        residual=architecture == "resnet",
        batch_size=int(batch_size),
    )
    # Index on the host: a device-side index would compile once per position.
    models, counts, mses, losses, snaps = jax.tree_util.tree_map(
        np.asarray, (models, counts, mses, losses, snaps)
    )
    fits = []
    for i in range(len(seeds)):
        model = jax.tree_util.tree_map(lambda a, i=i: a[i], models)
        snapshots = (
            ()
            if snaps is None
            else tuple(
                jax.tree_util.tree_map(lambda a, i=i, j=j: a[i, j], snaps)
                for j in range(checkpoints.size)
            )
        )
        fits.append(
            IdentityFit(
                model=model,
                epochs=int(counts[i]),
                converged=bool(mses[i] < tol),
                final_mse=float(mses[i]),
                losses=losses[i, : counts[i]],
                snapshots=snapshots,
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
    checkpoints=None,
) -> IdentityFit:
    """The notes' y = x experiment: Adam, minibatches of 8 with reshuffling, stop at MSE < tol.

    With `checkpoints` (epochs), the fit's `snapshots` hold the chain after each of them.
    """
    return fit_identity_seeds(
        architecture,
        [seed],
        max_epochs=max_epochs,
        tol=tol,
        batch_size=batch_size,
        learning_rate=learning_rate,
        checkpoints=checkpoints,
    )[0]

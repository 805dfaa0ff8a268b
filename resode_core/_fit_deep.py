"""Full-batch training of a deep net (plain, ResNet or TinyResNet) on a regression task."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._checks import positive, whole
from ._optim import ADAM, set_rate
from ._solvers import as_float_array, device_array


def mse_loss(model, x, y):
    return jnp.mean((jax.vmap(model)(x) - y) ** 2)


TRAIN_HISTORY = 2048


@eqx.filter_jit
def _train_deep_net(model, x, y, held_out, num_epochs, learning_rate):
    # held_out is (x, y) or None; None is static, so that program skips the extra loss.
    params, static = eqx.partition(model, eqx.is_inexact_array)
    opt_state = set_rate(ADAM.init(params), learning_rate)

    def epoch(i, carry):
        params, opt_state, losses, held_losses = carry
        loss, grads = jax.value_and_grad(lambda p: mse_loss(eqx.combine(p, static), x, y))(params)
        if held_out is not None:  # the same parameters the training loss just saw
            held_loss = mse_loss(eqx.combine(params, static), *held_out)
            held_losses = held_losses.at[i].set(held_loss)
        updates, opt_state = ADAM.update(grads, opt_state, params)
        return eqx.apply_updates(params, updates), opt_state, losses.at[i].set(loss), held_losses

    losses = jnp.full(TRAIN_HISTORY, jnp.nan)
    held_losses = jnp.full(TRAIN_HISTORY if held_out is not None else 0, jnp.nan)
    start = (params, opt_state, losses, held_losses)
    params, _, losses, held_losses = jax.lax.fori_loop(0, num_epochs, epoch, start)
    return eqx.combine(params, static), losses, held_losses


def _held_out_arrays(held_out, x, y):
    """(x, y) of held-out points shaped like the training batch (any number of rows ≥ 1)."""
    try:
        x_held, y_held = (np.asarray(a, dtype=np.float64) for a in held_out)
    except (TypeError, ValueError):
        raise ValueError("held_out must be a pair (x, y) of arrays.") from None
    x_shape, y_shape = np.shape(x)[1:], np.shape(y)[1:]
    if (
        x_held.shape[1:] != x_shape
        or y_held.shape[1:] != y_shape
        or len(x_held) != len(y_held)
        or len(x_held) == 0
    ):
        raise ValueError(
            f"held_out must be (x, y) with shapes (m, {', '.join(map(str, x_shape))}) and "
            f"(m, {', '.join(map(str, y_shape))}), m ≥ 1; got {x_held.shape} and {y_held.shape}."
        )
    if not (np.all(np.isfinite(x_held)) and np.all(np.isfinite(y_held))):
        raise ValueError("The held-out x and y must be finite.")
    return as_float_array(x_held), as_float_array(y_held)


def train_deep_net(model, x, y, *, epochs: int, learning_rate: float = 1e-3, held_out=None):
    """Full-batch Adam on the MSE; returns the trained net and the loss before each epoch.

    With `held_out=(x_test, y_test)`, points kept out of training, it also returns the MSE
    on those points with the same parameters, before each epoch: (net, losses, held_losses).
    """
    whole("epochs", epochs, high=TRAIN_HISTORY)
    positive("The learning rate", learning_rate)
    held = None if held_out is None else _held_out_arrays(held_out, x, y)
    trained, losses, held_losses = _train_deep_net(
        model, x, y, held, device_array(epochs, jnp.int32), as_float_array(learning_rate)
    )
    if held is None:
        return trained, np.asarray(losses)[:epochs]
    return trained, np.asarray(losses)[:epochs], np.asarray(held_losses)[:epochs]

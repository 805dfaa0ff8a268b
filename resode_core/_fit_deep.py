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
def _train_deep_net(model, x, y, num_epochs, learning_rate):
    params, static = eqx.partition(model, eqx.is_inexact_array)
    opt_state = set_rate(ADAM.init(params), learning_rate)

    def epoch(i, carry):
        params, opt_state, losses = carry
        loss, grads = jax.value_and_grad(lambda p: mse_loss(eqx.combine(p, static), x, y))(params)
        updates, opt_state = ADAM.update(grads, opt_state, params)
        return eqx.apply_updates(params, updates), opt_state, losses.at[i].set(loss)

    losses = jnp.full(TRAIN_HISTORY, jnp.nan)
    params, _, losses = jax.lax.fori_loop(0, num_epochs, epoch, (params, opt_state, losses))
    return eqx.combine(params, static), losses


def train_deep_net(model, x, y, *, epochs: int, learning_rate: float = 1e-3):
    """Full-batch Adam on the MSE; returns the trained net and the loss before each epoch."""
    whole("epochs", epochs, high=TRAIN_HISTORY)
    positive("The learning rate", learning_rate)
    trained, losses = _train_deep_net(
        model, x, y, device_array(epochs, jnp.int32), as_float_array(learning_rate)
    )
    return trained, np.asarray(losses)[:epochs]

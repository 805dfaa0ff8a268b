"""The optimiser every training recipe shares: Adam, with its rate in the optimiser state.

`optax.inject_hyperparams` keeps the learning rate in the state, so a new rate (a slider,
a decay schedule evaluated between chunks) never means a new compiled program.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from ._checks import positive
from ._solvers import as_float_array

ADAM = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)


def set_rate(opt_state, learning_rate):
    """The state with another learning rate (an array inside jit, a checked number outside)."""
    if isinstance(learning_rate, int | float):
        learning_rate = as_float_array(positive("The learning rate", learning_rate))
    return opt_state._replace(hyperparams={**opt_state.hyperparams, "learning_rate": learning_rate})


def tree_select(predicate, on_true, on_false):
    """on_true where predicate holds, else on_false, leaf by leaf (arrays only)."""
    return jax.tree_util.tree_map(
        lambda a, b: jnp.where(predicate, a, b) if eqx.is_array(a) else a, on_true, on_false
    )

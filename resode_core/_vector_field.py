"""The learned vector field V(x, t; θ) of a neural ODE."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray


def glorot_uniform(key: PRNGKeyArray, out_dim: int, in_dim: int) -> Float[Array, "out in"]:
    """Flux's default Dense initialisation."""
    limit = math.sqrt(6.0 / (in_dim + out_dim))
    return jr.uniform(key, (out_dim, in_dim), minval=-limit, maxval=limit)


class MLPVectorField(eqx.Module):
    """V(x, t) = W₂ tanh(W₁ φ(x, t) + b₁) + b₂, one hidden layer.

    φ(x) = x³ by default, the notes' `x -> x.^3` first layer; with `time_input` the time
    t is appended as an extra input (a non-autonomous field, for regression as a flow).
    """

    hidden_weight: Float[Array, "width features"]
    hidden_bias: Float[Array, " width"]
    output_weight: Float[Array, "dim width"]
    output_bias: Float[Array, " dim"]
    cube_input: bool = eqx.field(static=True)
    time_input: bool = eqx.field(static=True)

    def __init__(
        self,
        dim: int,
        width: int = 50,
        *,
        key: PRNGKeyArray,
        cube_input: bool = True,
        time_input: bool = False,
    ):
        if dim < 1 or width < 1:
            raise ValueError("dim and width must be at least 1.")
        hidden_key, output_key = jr.split(key)
        features = dim + (1 if time_input else 0)
        self.hidden_weight = glorot_uniform(hidden_key, width, features)
        self.hidden_bias = jnp.zeros(width)
        self.output_weight = glorot_uniform(output_key, dim, width)
        self.output_bias = jnp.zeros(dim)
        self.cube_input = cube_input
        self.time_input = time_input

    @property
    def dim(self) -> int:
        return int(self.output_bias.shape[0])

    def __call__(self, t, x, args):
        features = x**3 if self.cube_input else x
        if self.time_input:
            features = jnp.concatenate([features, jnp.reshape(t, (1,)).astype(x.dtype)])
        hidden = jnp.tanh(self.hidden_weight @ features + self.hidden_bias)
        return self.output_weight @ hidden + self.output_bias

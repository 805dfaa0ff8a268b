"""Regression as a flow (Chen et al., 2018): data sets, a small ResNet, and the flow fit.

A neural ODE maps an input x to the solution at time T of dx/dt = V(x, t; θ) started at
x. Solutions of one ODE cannot cross, so in 1-D the map is increasing and y = −x is out of
reach; a ResNet takes finite jumps and can do it, and so can a neural ODE that is given
extra dimensions to move in (Dupont et al., 2019, "augmented neural ODEs").
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ._solvers import device_array
from ._training import (
    OdeFitState,
    SolverSettings,
    TrajectoryData,
    init_ode_fit,
    solver_settings,
    trajectory_data,
)
from ._vector_field import glorot_uniform

FLOW_TASKS: dict[str, tuple[int, bool]] = {
    # name: (dimension, can a neural ODE in that dimension represent it?)
    "reflection y = −x": (1, False),
    "cube y = x³": (1, True),
    "rotation by 90°": (2, True),
    "swap the rings (inner ↔ outer)": (2, False),
}
FLOW_TASK_NAMES: tuple[str, ...] = tuple(FLOW_TASKS)


def flow_regression_task(name: str, n_points: int = 16, *, seed: int = 0):
    """Inputs x (n, d) and targets y (n, d) for one of FLOW_TASK_NAMES.

    1-D tasks use evenly spaced x in [−1, 1]; 2-D tasks use points on two rings
    (radius 0.5 and 1.0), alternating, at angles turned by the seed.
    """
    if name not in FLOW_TASKS:
        raise ValueError(f"Unknown task {name!r}; choose one of {', '.join(FLOW_TASK_NAMES)}.")
    if int(n_points) != n_points or not 2 <= n_points <= 64:
        raise ValueError("n_points must be a whole number between 2 and 64.")
    dim, _ = FLOW_TASKS[name]
    if dim == 1:
        x = np.linspace(-1.0, 1.0, n_points)[:, None]
        y = -x if name.startswith("reflection") else x**3
        return x, y
    turn = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi)
    k = np.arange(n_points)
    angle = turn + 2.0 * np.pi * k / n_points
    radius = np.where(k % 2 == 0, 0.5, 1.0)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    if name.startswith("rotation"):
        y = np.stack([-x[:, 1], x[:, 0]], axis=1)
    else:
        swapped = np.where(k % 2 == 0, 1.0, 0.5)
        y = np.stack([swapped * np.cos(angle), swapped * np.sin(angle)], axis=1)
    return x, y


TINY_RESNET_MAX_BLOCKS = 8


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _tiny_resnet_parameters(key, dim: int, hidden: int, max_blocks: int):
    # Block ℓ's weights come from its own keys, so they do not depend on `blocks`.
    keys = jr.split(key, 2 * max_blocks)
    w1 = jnp.stack([glorot_uniform(k, hidden, dim) for k in keys[:max_blocks]])
    w2 = 0.1 * jnp.stack([glorot_uniform(k, dim, hidden) for k in keys[max_blocks:]])
    return w1, jnp.zeros((max_blocks, hidden)), w2, jnp.zeros((max_blocks, dim))


class TinyResNet(eqx.Module):
    """h ← h + W₂ tanh(W₁ h + b₁) + b₂, `blocks` times, on a state of size `dim`.

    The residual branch has `hidden` units. W₂ starts small, so the untrained net is close
    to the identity map (He et al., 2015). Blocks are stacked up to `max_blocks` and the
    active number is an array, so changing it never recompiles (unused blocks are masked
    to the identity).
    """

    w1: Float[Array, "max_blocks hidden dim"]
    b1: Float[Array, "max_blocks hidden"]
    w2: Float[Array, "max_blocks dim hidden"]
    b2: Float[Array, "max_blocks dim"]
    blocks: Int[Array, ""]

    def __init__(
        self,
        dim: int,
        hidden: int = 16,
        blocks: int = 3,
        *,
        key: PRNGKeyArray,
        max_blocks: int = TINY_RESNET_MAX_BLOCKS,
    ):
        if min(dim, hidden, blocks) < 1:
            raise ValueError("dim, hidden and blocks must be at least 1.")
        if blocks > max_blocks:
            raise ValueError(f"blocks must be at most {max_blocks}.")
        self.w1, self.b1, self.w2, self.b2 = _tiny_resnet_parameters(
            key, int(dim), int(hidden), int(max_blocks)
        )
        self.blocks = device_array(blocks, jnp.int32)

    @property
    def num_params(self) -> int:
        """Trainable parameters of the active blocks."""
        hidden, dim = self.w1.shape[1], self.w1.shape[2]
        return int(self.blocks) * (2 * hidden * dim + hidden + dim)

    def states(self, x: Float[Array, " dim"]) -> Float[Array, "max_blocks+1 dim"]:
        """x₀ = x, x₁, …: the state after each block (masked blocks repeat the last one)."""

        def block(h, params):
            index, w1, b1, w2, b2 = params
            new = h + w2 @ jnp.tanh(w1 @ h + b1) + b2
            new = jnp.where(index < self.blocks, new, h)
            return new, new

        indices = jnp.arange(self.w1.shape[0])
        _, hs = jax.lax.scan(block, x, (indices, self.w1, self.b1, self.w2, self.b2))
        return jnp.concatenate([x[None], hs])

    def __call__(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        return self.states(x)[-1]


@eqx.filter_jit
def _resnet_states(model: TinyResNet, xs):
    return jax.vmap(model.states)(xs)


def resnet_block_states(model: TinyResNet, xs) -> np.ndarray:
    """The state of every input after each active block: shape (n, blocks + 1, dim)."""
    states = np.asarray(_resnet_states(model, device_array(xs, jnp.float32)))
    return states[:, : int(model.blocks) + 1]


def augment(x, extra: int) -> np.ndarray:
    """Append `extra` zero coordinates to each row of x (augmented neural ODE)."""
    if int(extra) != extra or extra < 0:
        raise ValueError("The number of extra dimensions must be a whole number ≥ 0.")
    x = np.asarray(x, dtype=np.float64)
    return np.concatenate([x, np.zeros((x.shape[0], int(extra)))], axis=1)


def flow_fit_data(x, y, *, t_end: float = 1.0, extra: int = 0) -> TrajectoryData:
    """Regression pairs as two-sample trajectories: state x at t = 0, target y at t = T.

    With `extra` > 0 both are padded with zeros and the padded coordinates are left out
    of the loss (dim_mask), so the flow may use them freely.
    """
    if not (math.isfinite(t_end) and t_end > 0):
        raise ValueError("The end time T must be a positive number.")
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError("x and y must both have shape (n, d).")
    start, target = augment(x, extra), augment(y, extra)
    ys = np.stack([start, target], axis=1)  # (n, 2, d + extra)
    mask = np.concatenate([np.ones(x.shape[1]), np.zeros(int(extra))])
    return trajectory_data([0.0, t_end], ys, dim_mask=mask)


def init_flow_fit(
    dim: int, *, extra: int = 0, width: int = 32, seed: int = 0, learning_rate: float = 0.01
) -> OdeFitState:
    """A time-dependent field V(x, t) on d + extra dimensions (no cube layer)."""
    return init_ode_fit(
        dim + int(extra),
        width=width,
        seed=seed,
        learning_rate=learning_rate,
        cube_input=False,
        time_input=True,
    )


def flow_settings() -> SolverSettings:
    """Tsit5 with loose tolerances: plenty for a smooth learned field on [0, 1]."""
    return solver_settings("tsit5", rtol=1e-4, atol=1e-6)

"""The models: deep nets as stacks of layers, the notes' 1→1 chains, and vector fields.

Layers are stacked arrays of shape (max_depth, width, width) run by `lax.scan`; the
active depth and Δt are arrays, not static fields, so one compiled function serves every
depth up to `max_depth` (the unused layers are masked to the identity).
"""

from __future__ import annotations

import functools
import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ._checks import positive, whole
from ._solvers import as_float_array, as_time_grid, device_array

ACTIVATIONS = {
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "relu": jax.nn.relu,
    "gelu": jax.nn.gelu,
}
ACTIVATION_NAMES: tuple[str, ...] = tuple(ACTIVATIONS)

DEFAULT_MAX_DEPTH = 128


def activation_fn(name: str):
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"Unknown activation {name!r}; choose one of {', '.join(ACTIVATION_NAMES)}."
        ) from None


def _check_depth_width(depth: int, width: int, max_depth: int) -> None:
    whole("depth", depth, low=1)
    whole("width", width, low=1)
    if depth > max_depth:
        raise ValueError(f"depth {depth} exceeds max_depth {max_depth}.")


def _keep(h):
    return h


def _layer_stack(max_depth: int, width: int, init_scale: float, key: PRNGKeyArray):
    """Gaussian weights with variance init_scale²/width (LeCun scaling), zero biases.

    Layer ℓ's weights come from its own key, so the first layers do not change when
    the depth does.
    """
    if not (math.isfinite(init_scale) and init_scale >= 0):
        raise ValueError(f"init_scale must be a finite number ≥ 0, got {init_scale}.")
    return _random_layer_stack(key, as_float_array(init_scale / math.sqrt(width)), max_depth, width)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _random_layer_stack(key, weight_scale, max_depth: int, width: int):
    # One compiled program per shape (run eagerly, these few ops compile one by one).
    keys = jr.split(key, max_depth)
    weights = jax.vmap(lambda k: jr.normal(k, (width, width)))(keys)
    weights = weights * weight_scale
    return weights, jnp.zeros((max_depth, width))


def _stack(depth, width, key, max_depth, activation, init_scale, layers=None):
    """Checked layer-stack fields: (weights, biases, active depth) of a PlainNet or ResNet,
    drawn from `key`, or the given `layers` (weights, biases) whose length is max_depth."""
    if layers is not None:
        max_depth = layers[0].shape[0]
    else:
        max_depth = max(DEFAULT_MAX_DEPTH if max_depth is None else max_depth, depth)
    _check_depth_width(depth, width, max_depth)
    activation_fn(activation)
    if layers is None:
        if key is None:
            raise ValueError("A ResNet needs a key to draw its layers, or its layers.")
        layers = _layer_stack(max_depth, width, init_scale, key)
    weights, biases = layers
    return weights, biases, device_array(depth, jnp.int32)


def _forward(net, x):
    """Run the active layers (net.update) with lax.scan; layers past the depth are skipped."""

    def layer(h, params):
        index, w, b = params
        # cond, not where: layers past the active depth cost (almost) nothing.
        return jax.lax.cond(index < net.depth, lambda h: net.update(h, w, b), _keep, h), None

    indices = jnp.arange(net.weights.shape[0])
    out, _ = jax.lax.scan(layer, x, (indices, net.weights, net.biases))
    return out


def _hidden_states(net, x):
    """x_0, x_1, ..., x_max_depth (the masked layers repeat the last active state)."""

    def layer(h, params):
        index, w, b = params
        new = jnp.where(index < net.depth, net.update(h, w, b), h)
        return new, new

    indices = jnp.arange(net.weights.shape[0])
    _, states = jax.lax.scan(layer, x, (indices, net.weights, net.biases))
    return jnp.concatenate([x[None], states])


class PlainNet(eqx.Module):
    """x_ℓ = σ(W_ℓ x_{ℓ−1} + b_ℓ), ℓ = 1..depth: a plain deep net of constant width."""

    MAX_DEPTH: ClassVar[int] = DEFAULT_MAX_DEPTH  # layers stacked unless max_depth says

    weights: Float[Array, "max_depth width width"]
    biases: Float[Array, "max_depth width"]
    depth: Int[Array, ""]
    activation: str = eqx.field(static=True)

    def __init__(
        self,
        depth: int,
        width: int,
        *,
        key: PRNGKeyArray,
        max_depth: int | None = None,
        activation: str = "tanh",
        init_scale: float = 1.0,
    ):
        self.weights, self.biases, self.depth = _stack(
            depth, width, key, max_depth, activation, init_scale
        )
        self.activation = activation

    def update(self, h, w, b):
        """One layer: x_ℓ from x_{ℓ−1} = h."""
        return activation_fn(self.activation)(w @ h + b)

    def __call__(self, x: Float[Array, " width"]) -> Float[Array, " width"]:
        return _forward(self, x)

    def hidden_states(self, x: Float[Array, " width"]) -> Float[Array, "max_depth+1 width"]:
        return _hidden_states(self, x)


class ResNet(eqx.Module):
    """x_ℓ = x_{ℓ−1} + Δt·σ(W_ℓ x_{ℓ−1} + b_ℓ): identity shortcuts (He et al., 2015).

    Δt = 1 is the classic ResNet; any Δt makes it a forward-Euler solve over [0, depth·Δt].
    """

    MAX_DEPTH: ClassVar[int] = DEFAULT_MAX_DEPTH  # layers stacked unless max_depth says

    weights: Float[Array, "max_depth width width"]
    biases: Float[Array, "max_depth width"]
    depth: Int[Array, ""]
    dt: Float[Array, ""]
    activation: str = eqx.field(static=True)

    def __init__(
        self,
        depth: int,
        width: int,
        dt: float = 1.0,
        *,
        key: PRNGKeyArray | None = None,
        max_depth: int | None = None,
        activation: str = "tanh",
        init_scale: float = 1.0,
        layers: tuple[Array, Array] | None = None,
    ):
        # `layers` (weights, biases), e.g. a field frozen at each step, are used as given.
        self.weights, self.biases, self.depth = _stack(
            depth, width, key, max_depth, activation, init_scale, layers
        )
        self.dt = as_float_array(positive("Δt", dt))
        self.activation = activation

    def residual(self, index, x):
        """F_ℓ(x) = σ(W_ℓ x + b_ℓ) for the layer `index` (0-based)."""
        return activation_fn(self.activation)(self.weights[index] @ x + self.biases[index])

    def update(self, h, w, b):
        """One block: x_ℓ = x_{ℓ−1} + Δt·σ(W_ℓ x_{ℓ−1} + b_ℓ) with x_{ℓ−1} = h."""
        return h + self.dt * activation_fn(self.activation)(w @ h + b)

    def __call__(self, x: Float[Array, " width"]) -> Float[Array, " width"]:
        return _forward(self, x)

    def hidden_states(self, x: Float[Array, " width"]) -> Float[Array, "max_depth+1 width"]:
        return _hidden_states(self, x)


def with_depth(net, depth: int):
    """The same weights with another active depth (≤ max_depth): no recompile."""
    max_depth = net.weights.shape[0]
    _check_depth_width(depth, net.weights.shape[1], max_depth)
    return eqx.tree_at(lambda n: n.depth, net, device_array(depth, jnp.int32))


def scale_weights(net, factor: float):
    """Multiply every weight and bias by `factor` (→ 0 shows identity vs null map)."""
    return eqx.tree_at(
        lambda n: (n.weights, n.biases), net, (net.weights * factor, net.biases * factor)
    )


class ResNetVectorField(eqx.Module):
    """A ResNet's layers as a vector field that is piecewise constant in time.

    On [ℓΔt, (ℓ+1)Δt) the field is σ(W_ℓ x + b_ℓ), so forward Euler with step Δt over
    [0, depth·Δt] reproduces the ResNet exactly.
    """

    resnet: ResNet

    def __call__(self, t, x, args):
        # Round, not floor: Euler's nodes ℓΔt carry rounding error in floating point.
        index = jnp.clip(jnp.round(t / self.resnet.dt), 0, self.resnet.depth - 1)
        return self.resnet.residual(index.astype(jnp.int32), x)


def resnet_vector_field(resnet: ResNet) -> ResNetVectorField:
    """f(t, x, args) such that Euler with dt = resnet.dt over [0, depth·dt] is the ResNet."""
    if not isinstance(resnet, ResNet):
        raise ValueError("resnet_vector_field needs a ResNet.")
    return ResNetVectorField(resnet)


class SmoothLayerField(eqx.Module):
    """A smooth time-dependent one-layer field V(x, t) = tanh(W(t) x + b(t)).

    W(t) = W₀ + t·W₁ and b(t) = b₀ + t·b₁: a fixed number of parameters, whatever Δt.
    Sampling it at t_ℓ = ℓΔt gives the layers of a ResNet of depth T/Δt.
    """

    w0: Float[Array, "width width"]
    w1: Float[Array, "width width"]
    b0: Float[Array, " width"]
    b1: Float[Array, " width"]

    def __init__(self, width: int, *, key: PRNGKeyArray, scale: float = 1.0):
        std = as_float_array(scale / math.sqrt(width))
        self.w0, self.w1, self.b0, self.b1 = _smooth_field_parameters(key, std, int(width))

    def layer(self, t):
        return self.w0 + t * self.w1, self.b0 + t * self.b1

    def __call__(self, t, x, args):
        w, b = self.layer(t)
        return jnp.tanh(w @ x + b)

    def exact_flow(self, u0, ts) -> np.ndarray:
        """The flow from u(ts[0]) = u0 in float64 (SciPy's DOP853, rtol = atol = 1e-12).

        An independent reference for float32 solves: shape (len(ts), width).
        """
        w0, w1, b0, b1 = (
            np.asarray(a, dtype=np.float64) for a in (self.w0, self.w1, self.b0, self.b1)
        )
        grid = as_time_grid(ts)
        state = np.asarray(u0, dtype=np.float64)
        if state.shape != b0.shape or not np.all(np.isfinite(state)):
            raise ValueError(f"u0 must be a finite vector of length {b0.size}.")

        def rhs(t, x):
            return np.tanh((w0 + t * w1) @ x + b0 + t * b1)

        # Imported here: loading scipy would add 0.5 s to every server start.
        from scipy.integrate import solve_ivp

        sol = solve_ivp(
            rhs, (grid[0], grid[-1]), state, method="DOP853", t_eval=grid, rtol=1e-12, atol=1e-12
        )
        if not sol.success:
            raise ValueError(f"The reference solve failed: {sol.message}")
        return sol.y.T


@functools.partial(jax.jit, static_argnums=2)
def _smooth_field_parameters(key, std, width: int):
    k0, k1, k2, k3 = jr.split(key, 4)
    w0 = jr.normal(k0, (width, width)) * std
    w1 = jr.normal(k1, (width, width)) * std
    return w0, w1, jr.normal(k2, (width,)) * 0.5, jr.normal(k3, (width,)) * 0.5


def resnet_from_field(
    field: SmoothLayerField, depth: int, dt: float, *, max_depth: int | None = None
) -> ResNet:
    """The ResNet whose layer ℓ is the field frozen at t = ℓΔt (ℓ = 0..depth−1)."""
    width = field.w0.shape[0]
    max_depth = max(DEFAULT_MAX_DEPTH if max_depth is None else max_depth, depth)
    step = as_float_array(positive("Δt", dt))
    # The layers are the frozen field itself: drawing random ones first would compile a
    # random-number program per depth (0.5-0.8 s each) only to throw its result away.
    layers = _frozen_layers(field, step, max_depth)
    return ResNet(depth, width, dt, max_depth=max_depth, layers=layers)


@eqx.filter_jit
def _frozen_layers(field: SmoothLayerField, dt, n_layers: int):
    return jax.vmap(field.layer)(jnp.arange(n_layers) * dt)


class IdentityChain(eqx.Module):
    """The notes' Flux chains for y = x: three Dense(1=>1, tanh) then Dense(1=>1).

    With `residual=True` the three tanh layers sit inside a skip connection (+ x).
    Initialised like Flux: Glorot-uniform weights (limit √3 for 1×1), zero biases.
    """

    weights: Float[Array, " 4"]
    biases: Float[Array, " 4"]
    residual: bool = eqx.field(static=True)

    def __init__(self, residual: bool, *, key: PRNGKeyArray):
        limit = math.sqrt(6.0 / (1 + 1))
        self.weights = jr.uniform(key, (4,), minval=-limit, maxval=limit)
        self.biases = jnp.zeros(4)
        self.residual = residual

    def __call__(self, x: Float[Array, ""]) -> Float[Array, ""]:
        h = x
        for i in range(3):
            h = jnp.tanh(self.weights[i] * h + self.biases[i])
        if self.residual:
            h = h + x
        return self.weights[3] * h + self.biases[3]


def param_count(model) -> int:
    """Trainable parameters; for layer and block stacks only the active ones count."""
    if isinstance(model, (PlainNet, ResNet)):
        width = model.weights.shape[1]
        return int(model.depth) * (width * width + width)
    if isinstance(model, TinyResNet):
        return model.num_params
    leaves = jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
    return int(sum(np.size(leaf) for leaf in leaves))


# ----------------------------------------------------------------------------- vector fields


def glorot_uniform(key: PRNGKeyArray, out_dim: int, in_dim: int) -> Float[Array, "out in"]:
    """Flux's default Dense initialisation."""
    limit = math.sqrt(6.0 / (in_dim + out_dim))
    return jr.uniform(key, (out_dim, in_dim), minval=-limit, maxval=limit)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _mlp_parameters(key, dim: int, width: int, features: int):
    # One compiled call instead of a few eager ops, each of which would compile.
    hidden_key, output_key = jr.split(key)
    return (
        glorot_uniform(hidden_key, width, features),
        jnp.zeros(width),
        glorot_uniform(output_key, dim, width),
        jnp.zeros(dim),
    )


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
        features = dim + (1 if time_input else 0)
        (self.hidden_weight, self.hidden_bias, self.output_weight, self.output_bias) = (
            _mlp_parameters(key, int(dim), int(width), int(features))
        )
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


# ----------------------------------------------------------------------------- flows


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _tiny_resnet_parameters(key, dim: int, hidden: int, max_blocks: int):
    # Block ℓ's weights come from its own keys, so they do not depend on `blocks`.
    keys = jr.split(key, 2 * max_blocks)
    # vmap, not a loop over the keys: the same numbers, but one random-number generator in
    # the program instead of 2 × max_blocks (1.0 -> 0.1 s and ~80 MB less to compile).
    w1 = jax.vmap(lambda k: glorot_uniform(k, hidden, dim))(keys[:max_blocks])
    w2 = 0.1 * jax.vmap(lambda k: glorot_uniform(k, dim, hidden))(keys[max_blocks:])
    return w1, jnp.zeros((max_blocks, hidden)), w2, jnp.zeros((max_blocks, dim))


class TinyResNet(eqx.Module):
    """h ← h + W₂ tanh(W₁ h + b₁) + b₂, `blocks` times, on a state of size `dim`.

    The residual branch has `hidden` units. W₂ starts small, so the untrained net is close
    to the identity map (He et al., 2015). Blocks are stacked up to `max_blocks` and the
    active number is an array, so changing it never recompiles (unused blocks are masked
    to the identity).
    """

    MAX_BLOCKS: ClassVar[int] = 8

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
        max_blocks: int = 8,
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

    def block_states(self, xs) -> np.ndarray:
        """The state of every input after each active block: shape (n, blocks + 1, dim)."""
        states = np.asarray(_tiny_resnet_states(self, device_array(xs, jnp.float32)))
        return states[:, : int(self.blocks) + 1]


@eqx.filter_jit
def _tiny_resnet_states(model: TinyResNet, xs):
    return jax.vmap(model.states)(xs)

"""Deep nets as stacks of layers: the plain net, the ResNet, and the notes' 1→1 chains.

Layers are stacked arrays of shape (max_depth, width, width) run by `lax.scan`; the
active depth and Δt are arrays, not static fields, so one compiled function serves every
depth up to `max_depth` (the unused layers are masked to the identity).
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

from ._solvers import as_float_array, device_array

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
    if int(depth) != depth or depth < 1:
        raise ValueError(f"depth must be a whole number ≥ 1, got {depth}.")
    if int(width) != width or width < 1:
        raise ValueError(f"width must be a whole number ≥ 1, got {width}.")
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


class PlainNet(eqx.Module):
    """x_ℓ = σ(W_ℓ x_{ℓ−1} + b_ℓ), ℓ = 1..depth: a plain deep net of constant width."""

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
        max_depth = DEFAULT_MAX_DEPTH if max_depth is None else max_depth
        max_depth = max(max_depth, depth)
        _check_depth_width(depth, width, max_depth)
        activation_fn(activation)
        self.weights, self.biases = _layer_stack(max_depth, width, init_scale, key)
        self.depth = device_array(depth, jnp.int32)
        self.activation = activation

    def __call__(self, x: Float[Array, " width"]) -> Float[Array, " width"]:
        sigma = activation_fn(self.activation)

        def layer(h, params):
            index, w, b = params
            # cond, not where: layers past the active depth cost (almost) nothing.
            return jax.lax.cond(index < self.depth, lambda h: sigma(w @ h + b), _keep, h), None

        indices = jnp.arange(self.weights.shape[0])
        out, _ = jax.lax.scan(layer, x, (indices, self.weights, self.biases))
        return out

    def hidden_states(self, x: Float[Array, " width"]) -> Float[Array, "max_depth+1 width"]:
        return _hidden_states(self, x)


class ResNet(eqx.Module):
    """x_ℓ = x_{ℓ−1} + Δt·σ(W_ℓ x_{ℓ−1} + b_ℓ): identity shortcuts (He et al., 2015).

    Δt = 1 is the classic ResNet; any Δt makes it a forward-Euler solve over [0, depth·Δt].
    """

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
        key: PRNGKeyArray,
        max_depth: int | None = None,
        activation: str = "tanh",
        init_scale: float = 1.0,
    ):
        max_depth = DEFAULT_MAX_DEPTH if max_depth is None else max_depth
        max_depth = max(max_depth, depth)
        _check_depth_width(depth, width, max_depth)
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"Δt must be a positive number, got {dt}.")
        activation_fn(activation)
        self.weights, self.biases = _layer_stack(max_depth, width, init_scale, key)
        self.depth = device_array(depth, jnp.int32)
        self.dt = as_float_array(dt)
        self.activation = activation

    def residual(self, index, x):
        """F_ℓ(x) = σ(W_ℓ x + b_ℓ) for the layer `index` (0-based)."""
        sigma = activation_fn(self.activation)
        return sigma(self.weights[index] @ x + self.biases[index])

    def __call__(self, x: Float[Array, " width"]) -> Float[Array, " width"]:
        sigma = activation_fn(self.activation)

        def layer(h, params):
            index, w, b = params
            step = lambda h: h + self.dt * sigma(w @ h + b)  # noqa: E731
            return jax.lax.cond(index < self.depth, step, _keep, h), None

        indices = jnp.arange(self.weights.shape[0])
        out, _ = jax.lax.scan(layer, x, (indices, self.weights, self.biases))
        return out

    def hidden_states(self, x: Float[Array, " width"]) -> Float[Array, "max_depth+1 width"]:
        return _hidden_states(self, x)


def _hidden_states(net: PlainNet | ResNet, x):
    """x_0, x_1, ..., x_max_depth (the masked layers repeat the last active state)."""
    sigma = activation_fn(net.activation)
    residual = isinstance(net, ResNet)

    def layer(h, params):
        index, w, b = params
        update = sigma(w @ h + b)
        new = h + net.dt * update if residual else update
        new = jnp.where(index < net.depth, new, h)
        return new, new

    indices = jnp.arange(net.weights.shape[0])
    _, states = jax.lax.scan(layer, x, (indices, net.weights, net.biases))
    return jnp.concatenate([x[None], states])


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
    net = ResNet(depth, width, dt, key=jr.PRNGKey(0), max_depth=max_depth)
    weights, biases = _frozen_layers(field, net.dt, net.weights.shape[0])
    return eqx.tree_at(lambda n: (n.weights, n.biases), net, (weights, biases))


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
    """Trainable parameters; for layer stacks only the active layers count."""
    if isinstance(model, (PlainNet, ResNet)):
        width = model.weights.shape[1]
        return int(model.depth) * (width * width + width)
    leaves = jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
    return int(sum(np.size(leaf) for leaf in leaves))

"""Measurements: per-layer gradients, convergence orders, errors, and layer experiments.

Each compiled entry point takes its numbers (shrink factors, inputs, step counts, Δt,
depth) as runtime arrays, so a page can move a slider without recompiling.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._aot import AotFunction
from ._nets import PlainNet, ResNet, scale_weights
from ._solvers import as_float_array, as_vector_field, device_array, solver_info


@eqx.filter_jit
def _all_layer_grad_norms(model, x, y):
    def loss(weights, biases):
        net = eqx.tree_at(lambda n: (n.weights, n.biases), model, (weights, biases))
        return jnp.mean((jax.vmap(net)(x) - y) ** 2)

    dw, db = jax.grad(loss, argnums=(0, 1))(model.weights, model.biases)
    layer = jnp.concatenate([dw.reshape(dw.shape[0], -1), db], axis=1)
    # Scale each layer by its largest entry before squaring: squares of entries below
    # ~1e-19 underflow float32 although the entries themselves (down to ~1e-38) do not.
    largest = jnp.max(jnp.abs(layer), axis=1)
    safe = jnp.where(largest > 0, largest, 1.0)
    return largest * jnp.sqrt(jnp.sum((layer / safe[:, None]) ** 2, axis=1))


def layer_grad_norms(model: PlainNet | ResNet, x, y) -> np.ndarray:
    """‖∂L/∂𝐖_ℓ‖ for ℓ = 1..depth, 𝐖_ℓ = (W_ℓ, b_ℓ), L the MSE over the batch (x, y)."""
    if not isinstance(model, (PlainNet, ResNet)):
        raise ValueError("layer_grad_norms needs a PlainNet or a ResNet.")
    x, y = np.asarray(x), np.asarray(y)
    width = model.weights.shape[1]
    if x.ndim != 2 or x.shape[1] != width or x.shape != y.shape:
        raise ValueError(f"x and y must both have shape (n, {width}); got {x.shape} and {y.shape}.")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite.")
    x, y = device_array(x), device_array(y)
    norms = _all_layer_grad_norms(model, x, y)
    return np.asarray(norms)[: int(model.depth)]


def convergence_order(
    x,
    errors,
    *,
    floor: float = 1e-5,
    ceiling: float = 0.1,
    monotone: bool = True,
) -> tuple[float, float, np.ndarray]:
    """The observed order: log(error) = slope·log(x) + intercept, fitted where it is asymptotic.

    Walks from the coarsest point (largest x for step sizes; pass x = 1/work for work)
    towards the finest: starts at the first finite error below `ceiling` and stops at the
    first error at or below `floor`, where round-off takes over, or (with `monotone`)
    at the first error below 100·floor that no longer shrinks, since accumulated
    round-off can stall the error above the floor. Returns (slope, intercept, mask of the points used); slope is
    NaN with fewer than two points.
    """
    xs = np.asarray(x, dtype=np.float64)
    es = np.asarray(errors, dtype=np.float64)
    if xs.shape != es.shape or xs.ndim != 1:
        raise ValueError("x and errors must be 1-D and of the same length.")
    used = np.zeros(xs.size, dtype=bool)
    started = False
    previous = np.inf
    for i in np.argsort(-xs):
        e = es[i]
        if not started:
            if np.isfinite(e) and floor < e < ceiling:
                started = True
            else:
                continue
        if not (np.isfinite(e) and e > floor):
            break
        if monotone and used.any() and e >= previous and e < 100 * floor:
            break
        used[i] = True
        previous = e
    if used.sum() < 2:
        return float("nan"), float("nan"), used
    slope, intercept = np.polyfit(np.log(xs[used]), np.log(es[used]), 1)
    return float(slope), float(intercept), used


def relative_errors(predicted, true) -> np.ndarray:
    """‖predicted − true‖ / ‖true‖ per trajectory (Frobenius norm over samples and states).

    A non-finite prediction counts as an infinite error.
    """
    pred = np.asarray(predicted, dtype=np.float64)
    exact = np.asarray(true, dtype=np.float64)
    if pred.shape != exact.shape:
        raise ValueError(f"Shapes differ: {pred.shape} vs {exact.shape}.")
    if pred.ndim == 2:
        pred, exact = pred[None], exact[None]
    axes = tuple(range(1, pred.ndim))
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.sqrt(np.sum((pred - exact) ** 2, axis=axes))
        scale = np.sqrt(np.sum(exact**2, axis=axes))
        errors = diff / np.maximum(scale, 1e-12)
    return np.where(np.isfinite(errors), errors, np.inf)


# ----------------------------------------------------------------------------- layer experiments


def _check_net(net) -> None:
    if not isinstance(net, (PlainNet, ResNet)):
        raise ValueError("Expected a PlainNet or a ResNet.")


def _check_inputs(net, xs) -> Float[Array, "n width"]:
    xs = np.asarray(xs, dtype=np.float64)
    width = net.weights.shape[1]
    if xs.ndim != 2 or xs.shape[1] != width:
        raise ValueError(f"Inputs must have shape (n, {width}); got {xs.shape}.")
    if not np.all(np.isfinite(xs)):  # checked in NumPy: on the device it would compile
        raise ValueError("Inputs must be finite.")
    return as_float_array(xs)


# ----------------------------------------------------------------------------- shrinking


@eqx.filter_jit
def _shrunk_outputs(net, xs, factors):
    def outputs_at(factor):
        return jax.vmap(scale_weights(net, factor))(xs)

    return jax.vmap(outputs_at)(factors)


def shrunk_outputs(net: PlainNet | ResNet, xs, factors) -> np.ndarray:
    """The net's outputs with every weight and bias multiplied by each factor.

    Returns shape (len(factors), n, width). As the factor goes to 0 a plain net tends to
    the constant map x ↦ σ(0) (the "null map"), a ResNet to x ↦ x + depth·Δt·σ(0),
    i.e. the identity for tanh and ReLU.
    """
    _check_net(net)
    xs = _check_inputs(net, xs)
    factors = np.atleast_1d(np.asarray(factors, dtype=np.float64))
    if factors.ndim != 1 or not np.all(np.isfinite(factors)):
        raise ValueError("factors must be a 1-D sequence of finite numbers.")
    return np.asarray(_shrunk_outputs(net, xs, as_float_array(factors)))


# ----------------------------------------------------------------------------- hidden states


@eqx.filter_jit
def _hidden_state_paths(net, xs):
    return jax.vmap(net.hidden_states)(xs)


def hidden_state_paths(net: PlainNet | ResNet, xs) -> np.ndarray:
    """x_0, x_1, ..., x_depth for each input: shape (n, depth + 1, width)."""
    _check_net(net)
    xs = _check_inputs(net, xs)
    # Slice in NumPy: slicing the JAX array would compile a new slice for every depth.
    paths = np.asarray(_hidden_state_paths(net, xs))
    return paths[:, : int(net.depth) + 1]


@eqx.filter_jit
def _fixed_step_endpoints(vector_field, u0, t_start, t_end, step_counts, *, solver):
    term = diffrax.ODETerm(vector_field)
    method = solver_info(solver).make()

    def solve(n_steps):
        h = (t_end - t_start) / n_steps
        state = method.init(term, t_start, t_start + h, u0, None)

        def body(k, carry):
            u, state = carry
            # t_k from k·h, not a running sum, so the nodes carry no accumulated rounding.
            t0 = t_start + k * h
            # t1 from (k+1)·h too: with t0 + h, the steps would not join up in float32.
            t1 = t_start + (k + 1) * h
            u, _, _, state, _ = method.step(term, t0, t1, u, None, state, False)
            return u, state

        u, _ = jax.lax.fori_loop(0, n_steps, body, (u0, state))
        return u

    return jax.vmap(solve)(step_counts)


# Stored traced: the solvers page calls it once per solver, and tracing all of them took
# about a second of every restarted server's first visit.
def _fixed_step_endpoints_positional(vector_field, u0, t_start, t_end, step_counts, solver):
    return _fixed_step_endpoints(vector_field, u0, t_start, t_end, step_counts, solver=solver)


_fixed_step_endpoints_stored = AotFunction(
    "fixed_step_endpoints", _fixed_step_endpoints_positional, lambda *_: 0
)


def fixed_step_endpoints(
    f, u0, t_end: float, step_counts, *, solver: str, t_start: float = 0.0
) -> np.ndarray:
    """u(t_end) from fixed-step solves with n steps of Δt = (t_end − t_start)/n, one per n.

    Returns shape (len(step_counts), dim). Every solve runs in one compiled, vmapped call:
    the step counts, u0 and the times are runtime values. Forward Euler here is exactly a
    ResNet whose layer ℓ is the vector field frozen at t_ℓ = t_start + ℓΔt.
    """
    solver_info(solver)
    vector_field = as_vector_field(f)
    counts = np.atleast_1d(np.asarray(step_counts))
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError("step_counts must be a non-empty 1-D sequence.")
    if not np.all(counts == np.round(counts)) or np.any(counts < 1):
        raise ValueError("step_counts must be whole numbers ≥ 1.")
    if not (np.isfinite(t_start) and np.isfinite(t_end) and t_end > t_start):
        raise ValueError("t_end must be a finite time after t_start.")
    state = np.asarray(u0, dtype=np.float64)
    if state.ndim != 1 or not np.all(np.isfinite(state)):
        raise ValueError("u0 must be a finite 1-D state vector.")
    ends = _fixed_step_endpoints_stored(
        vector_field,
        as_float_array(state),
        as_float_array(t_start),
        as_float_array(t_end),
        device_array(counts, jnp.int32),
        solver,
    )
    return np.asarray(ends)

"""Experiments on layer stacks: shrinking weights, hidden-state paths, fixed-step endpoints.

Each entry point is one compiled function whose numbers (shrink factors, inputs, step
counts, Δt, depth) are runtime arrays, so a page can move a slider without recompiling.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._aot import AotFunction
from ._nets import PlainNet, ResNet, SmoothLayerField, scale_weights
from ._solvers import as_float_array, as_time_grid, as_vector_field, device_array, solver_info


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


# ----------------------------------------------------------------------------- fixed steps


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


def asymptotic_order(step_sizes, errors, *, floor: float = 1e-6, max_points: int = 4) -> float:
    """Observed order from the smallest step sizes whose error is still above `floor`.

    Errors near the float32 round-off level (~1e-7 relative) stop shrinking with Δt and
    would flatten the fitted slope; the largest steps are often not yet asymptotic. So
    we fit log(error) against log(Δt) over at most `max_points` of the smallest steps
    above the floor (at least two are needed, otherwise NaN).
    """
    h = np.asarray(step_sizes, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    if h.shape != e.shape or h.ndim != 1:
        raise ValueError("step_sizes and errors must be 1-D sequences of the same length.")
    keep = np.isfinite(e) & (e > floor) & np.isfinite(h) & (h > 0)
    h, e = h[keep], e[keep]
    order = np.argsort(h)[:max_points]
    if order.size < 2:
        return float("nan")
    slope, _ = np.polyfit(np.log(h[order]), np.log(e[order]), 1)
    return float(slope)


# ----------------------------------------------------------------------------- reference


def smooth_field_solution(field: SmoothLayerField, u0, ts) -> np.ndarray:
    """The exact flow of a SmoothLayerField in float64 (SciPy's DOP853, rtol = atol = 1e-12).

    An independent reference for float32 solves: shape (len(ts), width), starting at
    u(ts[0]) = u0.
    """
    if not isinstance(field, SmoothLayerField):
        raise ValueError("smooth_field_solution needs a SmoothLayerField.")
    w0, w1, b0, b1 = (
        np.asarray(a, dtype=np.float64) for a in (field.w0, field.w1, field.b0, field.b1)
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

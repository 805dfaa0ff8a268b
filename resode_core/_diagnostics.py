"""Measurements: per-layer gradients, convergence orders, compiled memory."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._nets import PlainNet, ResNet
from ._solvers import DEFAULT_MAX_STEPS, device_array, simulate


@eqx.filter_jit
def _all_layer_grad_norms(model, x, y):
    def loss(weights, biases):
        net = eqx.tree_at(lambda n: (n.weights, n.biases), model, (weights, biases))
        return jnp.mean((jax.vmap(net)(x) - y) ** 2)

    dw, db = jax.grad(loss, argnums=(0, 1))(model.weights, model.biases)
    return jnp.sqrt(jnp.sum(dw**2, axis=(1, 2)) + jnp.sum(db**2, axis=1))


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


def empirical_order(step_sizes: Sequence[float], errors: Sequence[float]) -> float:
    """Slope of log(error) against log(Δt): the observed order of convergence."""
    h = np.asarray(step_sizes, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    keep = np.isfinite(e) & (e > 0)
    if keep.sum() < 2:
        return float("nan")
    slope, _ = np.polyfit(np.log(h[keep]), np.log(e[keep]), 1)
    return float(slope)


def fixed_step_errors(
    f,
    u0,
    t_end: float,
    exact_end,
    step_sizes: Sequence[float],
    *,
    solver: str,
    t_start: float = 0.0,
) -> np.ndarray:
    """max-norm error at t_end of a fixed-step solve, for each Δt (one compiled function)."""
    exact_end = np.asarray(exact_end, dtype=np.float64)
    errors = []
    for dt in step_sizes:
        n_steps = max(1, round((t_end - t_start) / dt))
        result = simulate(
            f,
            u0,
            [t_start, t_end],
            solver=solver,
            dt=(t_end - t_start) / n_steps,
            # One static step limit for every Δt, so the Δt sweep compiles once.
            max_steps=max(n_steps + 8, DEFAULT_MAX_STEPS),
        )
        final = np.asarray(result.ys[-1], dtype=np.float64)
        errors.append(np.max(np.abs(final - exact_end)) if result.ok else np.nan)
    return np.asarray(errors)


def compiled_memory_bytes(fn: Callable, *args) -> dict[str, int]:
    """XLA's own memory analysis of `fn` compiled for `args` (bytes)."""
    compiled = jax.jit(fn).lower(*args).compile()
    analysis = compiled.memory_analysis()
    if analysis is None:
        return {}
    fields = (
        "argument_size_in_bytes",
        "output_size_in_bytes",
        "temp_size_in_bytes",
        "generated_code_size_in_bytes",
    )
    return {name: int(getattr(analysis, name, 0)) for name in fields}

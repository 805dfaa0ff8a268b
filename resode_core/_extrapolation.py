"""Many initial conditions at once: vmapped solves, vector-field grids, extrapolation errors.

A learned vector field is only worth something if it is right away from the data it was
fitted on. These helpers solve one field from many starting points in one compiled call
(padded to a few fixed batch sizes, so the number of points never recompiles) and measure
how far the learned trajectories drift from the true ones.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._aot import AotFunction
from ._solvers import as_float_array, as_time_grid, as_vector_field, solve_at
from ._training import SolverSettings, _bucket, solver_settings

BATCH_BUCKETS = (1, 16, 64, 256, 1024)
TIME_BUCKETS = (16, 64, 256, 1024)
# Up to this many trajectories, times are padded to at least 256: a page's sample solve then
# shares one compiled program with its dense curves (one 1.5 s compile less on a cold
# visit), at the cost of a few hundred cheap interpolations at the last step.
FEW_TRAJECTORIES = 16
FEW_TRAJECTORIES_MIN_TIMES = 256


class ManySolution(eqx.Module):
    """Trajectories from several initial conditions (NumPy arrays, padding removed)."""

    ts: np.ndarray  # (samples,)
    ys: np.ndarray  # (trajectories, samples, dim)
    ok: np.ndarray  # (trajectories,) True where the solver reached the end with finite values


@eqx.filter_jit
def _solve_many(field, u0s, ts, settings: SolverSettings):
    def one(u0):
        sol = solve_at(
            field,
            u0,
            ts,
            solver=settings.solver,
            adaptive=settings.adaptive,
            dt=settings.dt,
            rtol=settings.rtol,
            atol=settings.atol,
            max_steps=settings.max_steps,
        )
        finite = jnp.all(jnp.isfinite(sol.ys))
        return sol.ys, (sol.result == diffrax.RESULTS.successful) & finite

    return jax.vmap(one)(u0s)


# Stored traced (see _aot): the spiral and Lotka–Volterra pages open without tracing these.
_solve_many_stored = AotFunction("solve_many", _solve_many, lambda *_: (0, 0))


def solve_many(f, u0s, ts, settings: SolverSettings | None = None) -> ManySolution:
    """Solve du/dt = f(t, u) from every row of u0s, saved at ts (one compiled call).

    f is a System or an equinox Module f(t, u, args); settings default to Tsit5 with
    rtol = 1e-7, atol = 1e-9. Failed solves (too many steps, blow-up) are flagged in
    `.ok` and their values are not to be trusted.
    """
    field = as_vector_field(f)
    settings = solver_settings() if settings is None else settings
    grid = as_time_grid(ts)
    starts = np.asarray(u0s, dtype=np.float64)
    if starts.ndim == 1:
        starts = starts[None]
    if starts.ndim != 2 or starts.shape[0] < 1:
        raise ValueError("u0s must have shape (n, dim) with n ≥ 1.")
    if not np.all(np.isfinite(starts)):
        raise ValueError("The initial conditions contain NaN or infinite values.")
    n, n_times = starts.shape[0], grid.size
    # Pad both axes to fixed sizes: extra starts copy the first, extra times repeat the last.
    padded_starts = np.concatenate(
        [starts, np.repeat(starts[:1], _bucket(n, BATCH_BUCKETS) - n, axis=0)]
    )
    times = _bucket(n_times, TIME_BUCKETS)
    if _bucket(n, BATCH_BUCKETS) <= FEW_TRAJECTORIES:
        times = max(times, FEW_TRAJECTORIES_MIN_TIMES)
    padded_ts = np.concatenate([grid, np.full(times - n_times, grid[-1])])
    ys, ok = _solve_many_stored(
        field, as_float_array(padded_starts), as_float_array(padded_ts), settings
    )
    return ManySolution(
        ts=grid, ys=np.asarray(ys)[:n, :n_times], ok=np.asarray(ok)[:n].astype(bool)
    )


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


def spread_initial_conditions(
    n: int, *, r_min: float = 0.5, r_max: float = 2.5, seed: int = 0
) -> np.ndarray:
    """n starting points spread evenly over the annulus r_min ≤ |u| ≤ r_max (2-D).

    A sunflower (golden-angle) pattern: equal area per point, so no region of the
    plane is left without data; the seed turns the whole pattern.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a whole number ≥ 1, got {n}.")
    if not 0 <= r_min < r_max:
        raise ValueError("Need 0 ≤ r_min < r_max.")
    k = np.arange(n) + 0.5
    radius = np.sqrt(r_min**2 + (r_max**2 - r_min**2) * k / n)
    turn = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi)
    angle = k * np.pi * (3.0 - np.sqrt(5.0)) + turn
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)


def grid_points(low: float, high: float, n: int) -> np.ndarray:
    """An n × n grid over [low, high]², as (n², 2) points (x varies fastest)."""
    if int(n) != n or n < 2:
        raise ValueError("The grid needs at least 2 points per side.")
    if not high > low:
        raise ValueError("The grid needs high > low.")
    axis = np.linspace(low, high, n)
    xx, yy = np.meshgrid(axis, axis)
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


@eqx.filter_jit
def _field_values(field, points: Float[Array, "n dim"], t):
    return jax.vmap(lambda u: field(t, u, None))(points)


_field_values_stored = AotFunction("field_values", _field_values, lambda *_: 0)


def field_on_grid(f, points, t: float = 0.0) -> np.ndarray:
    """f(t, u) at every row of points: shape (n, dim)."""
    field = as_vector_field(f)
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2:
        raise ValueError("points must have shape (n, dim).")
    n = pts.shape[0]
    padded = np.concatenate([pts, np.repeat(pts[:1], _bucket(n, BATCH_BUCKETS) - n, axis=0)])
    values = _field_values_stored(field, as_float_array(padded), as_float_array(t))
    return np.asarray(values)[:n]

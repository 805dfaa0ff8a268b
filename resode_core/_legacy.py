"""TEMPORARY: the core's former names, on top of the new API, while the pages move over.

Deleted once every page uses the new API (nothing here is in `__all__`).
"""
# ruff: noqa
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import jax.random as jr
import numpy as np
import optax

from ._aot import code_version
from ._config import compilation_cache_dir
from ._depth_cost import DEPTH_METHOD_LABELS, DEPTH_METHODS
from ._diagnostics import convergence_order as convergence_slope, fixed_step_endpoints, relative_errors
from ._fit_ode import CHUNK_CAPACITY, OdeFit, fit_ode, trajectory_data
from ._flows import FLOW_TASKS
from ._nets import DEFAULT_MAX_DEPTH, MLPVectorField, scale_weights, with_depth
from ._solvers import SOLVER_NAMES, SOLVERS, SolverSettings, simulate, solver_info, field_on_grid

ADAPTIVE_SOLVER_NAMES = tuple(n for n, s in SOLVERS.items() if s.adaptive)
FLOAT32_FLOOR = 1e-6
SPIRAL_MATRIX = ((-0.1, 2.0), (-2.0, -0.1))
SPIRAL_U0 = (2.0, 0.0)
SPIRAL_T_SPAN = (0.0, 1.5)
SPIRAL_SAMPLES = 16
FLOW_TASK_NAMES = tuple(FLOW_TASKS)
TINY_RESNET_MAX_BLOCKS = 8
DEFAULT_MAX_STEPS = 10_000


def solver_settings(solver="tsit5", *, dt=None, rtol=1e-7, atol=1e-9, max_steps=DEFAULT_MAX_STEPS):
    return SolverSettings(solver, dt=dt, rtol=rtol, atol=atol, max_steps=max_steps)


@dataclass(frozen=True, eq=False)
class TrainingCheckpoint(OdeFit):
    @property
    def done(self):
        return self.epochs

    @property
    def state(self):
        return _state(self)


def _state(fit):
    return SimpleNamespace(model=fit.model, opt_state=fit.opt_state, diverged=fit.diverged, epoch=fit.epochs, fit=fit)


def init_ode_fit(dim, *, width=50, seed=0, learning_rate=0.1, cube_input=True, time_input=False):
    model = MLPVectorField(dim, width, key=jr.PRNGKey(seed), cube_input=cube_input, time_input=time_input)
    return SimpleNamespace(model=model, opt_state=None, diverged=False, epoch=0, fit=None)


def _run(state, data, settings, epochs, learning_rate, final_fraction, chunks, progress, start, checkpoint, warmup=()):
    schedule = optax.exponential_decay(learning_rate, max(int(epochs), 1), final_fraction)
    if not (0 < final_fraction <= 1):
        raise ValueError("final_fraction must be in (0, 1].")

    def on_chunk(fit):
        cp = TrainingCheckpoint(**{f: getattr(fit, f) for f in OdeFit.__dataclass_fields__})
        if checkpoint is not None:
            checkpoint(cp)
        if progress is not None:
            progress(fit.epochs, fit.losses, fit.grad_norms)

    if start is not None and not isinstance(start, OdeFit):
        start = None
    fit = fit_ode(data, settings, epochs=epochs, learning_rate=schedule, model=state.model,
                  warmup=warmup, chunks=chunks, start=start, on_chunk=on_chunk)
    return _state(fit), fit.losses, fit.grad_norms


def train_ode_streaming(state, data, settings, epochs, *, learning_rate, final_fraction=1.0, chunks=20, progress=None, start=None, checkpoint=None):
    return _run(state, data, settings, epochs, learning_rate, final_fraction, chunks, progress, start, checkpoint)


def train_ode_growing_window(state, ts, ys, settings, epochs, *, learning_rate, final_fraction=1.0, warmup_fractions=(0.3, 0.6), warmup_epochs=250, chunks=20, progress=None, start=None, checkpoint=None):
    data = trajectory_data(ts, ys)
    warmup = [(f, warmup_epochs) for f in warmup_fractions]
    return _run(state, data, settings, epochs, learning_rate, final_fraction, chunks, progress, start, checkpoint, warmup)


def flow_settings():
    return SolverSettings("tsit5", rtol=1e-4, atol=1e-6)


def init_flow_fit(dim, *, extra=0, width=32, seed=0, learning_rate=0.01):
    return init_ode_fit(dim + int(extra), width=width, seed=seed, learning_rate=learning_rate, cube_input=False, time_input=True)


def augment(x, extra):
    x = np.asarray(x, dtype=np.float64)
    return np.concatenate([x, np.zeros((x.shape[0], int(extra)))], axis=1)


def flow_fit_data(x, y, *, t_end=1.0, extra=0):
    start, target = augment(x, extra), augment(y, extra)
    mask = np.concatenate([np.ones(np.asarray(x).shape[1]), np.zeros(int(extra))])
    return trajectory_data([0.0, t_end], np.stack([start, target], axis=1), dim_mask=mask)


def resnet_block_states(model, xs):
    return model.block_states(xs)


def reference_endpoint(system, t_end, *, t_start=0.0):
    return system.reference([t_start, t_end])[-1]


def smooth_field_solution(field, u0, ts):
    return field.exact_flow(u0, ts)


def fixed_step_study(system, t_end, step_counts, solvers=SOLVER_NAMES, *, reference=None):
    counts = np.asarray(step_counts, dtype=int)
    exact = reference_endpoint(system, t_end) if reference is None else np.asarray(reference)
    rows = {k: [] for k in ("solver", "steps", "dt", "evaluations", "error")}
    for name in solvers:
        info = solver_info(name)
        ends = np.asarray(fixed_step_endpoints(system, system.u0, t_end, counts, solver=name), dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            errors = np.max(np.abs(ends - exact), axis=1)
        errors = np.where(np.isfinite(errors), errors, np.nan)
        rows["solver"] += [name] * counts.size
        rows["steps"] += counts.tolist()
        rows["dt"] += (t_end / counts).tolist()
        rows["evaluations"] += (counts * info.evaluations_per_step).tolist()
        rows["error"] += errors.tolist()
    return {k: np.asarray(v) for k, v in rows.items()}


def adaptive_study(system, t_end, rtols, solvers=ADAPTIVE_SOLVER_NAMES, *, atol_ratio=1e-2, reference=None, max_steps=10_000):
    exact = reference_endpoint(system, t_end) if reference is None else np.asarray(reference)
    keys = ("solver", "rtol", "error", "steps", "accepted", "rejected", "evaluations", "ok")
    rows = {k: [] for k in keys}
    for name in solvers:
        if not solver_info(name).adaptive:
            raise ValueError(f"{name} has no error estimate: it cannot adapt its steps.")
        for rtol in rtols:
            result = simulate(system, system.u0, [0.0, t_end], solver=name, rtol=float(rtol), atol=float(rtol) * atol_ratio, max_steps=max_steps)
            end = np.asarray(result.ys[-1], dtype=np.float64)
            ok = result.ok
            rows["solver"].append(name)
            rows["rtol"].append(float(rtol))
            rows["error"].append(float(np.max(np.abs(end - exact))) if ok else np.nan)
            rows["steps"].append(int(result.num_steps))
            rows["accepted"].append(int(result.num_accepted_steps))
            rows["rejected"].append(int(result.num_rejected_steps))
            rows["evaluations"].append(int(result.num_evaluations))
            rows["ok"].append(ok)
    return {k: np.asarray(v) for k, v in rows.items()}


def grid_points(low, high, n):
    if int(n) != n or n < 2:
        raise ValueError("The grid needs at least 2 points per side.")
    if not high > low:
        raise ValueError("The grid needs high > low.")
    axis = np.linspace(low, high, n)
    xx, yy = np.meshgrid(axis, axis)
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def step_count_grid(n_min: int = 2, n_max: int = 4096, per_doubling: int = 3) -> np.ndarray:
    """Step counts spaced evenly in log scale: per_doubling of them per factor of two."""
    if not 1 <= n_min < n_max:
        raise ValueError("Need 1 ≤ n_min < n_max.")
    k = np.arange(0, per_doubling * np.log2(n_max / n_min) + 1)
    return np.unique(np.round(n_min * 2.0 ** (k / per_doubling)).astype(int))


def fixed_step_study(
    system: AbstractSystem,
    t_end: float,
    step_counts: Sequence[int],
    solvers: Sequence[str] = SOLVER_NAMES,
    *,
    reference=None,
) -> dict[str, np.ndarray]:
    """Max-norm error at t_end for every solver and step count (long format, one row each).

    Columns: solver, steps, dt, evaluations (steps × stages), error (NaN where the
    solution blew up). One compiled, vmapped call per solver.
    """
    counts = np.asarray(step_counts, dtype=int)
    exact = reference_endpoint(system, t_end) if reference is None else np.asarray(reference)
    rows: dict[str, list] = {k: [] for k in ("solver", "steps", "dt", "evaluations", "error")}
    for name in solvers:
        info = solver_info(name)
        ends = np.asarray(
            fixed_step_endpoints(system, system.u0, t_end, counts, solver=name), dtype=np.float64
        )
        with np.errstate(invalid="ignore", over="ignore"):
            errors = np.max(np.abs(ends - exact), axis=1)
        errors = np.where(np.isfinite(errors), errors, np.nan)
        rows["solver"] += [name] * counts.size
        rows["steps"] += counts.tolist()
        rows["dt"] += (t_end / counts).tolist()
        rows["evaluations"] += (counts * info.evaluations_per_step).tolist()
        rows["error"] += errors.tolist()
    return {k: np.asarray(v) for k, v in rows.items()}


def adaptive_study(
    system: AbstractSystem,
    t_end: float,
    rtols: Sequence[float],
    solvers: Sequence[str] = ADAPTIVE_SOLVER_NAMES,
    *,
    atol_ratio: float = 1e-2,
    reference=None,
    max_steps: int = 10_000,
) -> dict[str, np.ndarray]:
    """Error and work of adaptive solves as rtol varies (atol = atol_ratio · rtol).

    Columns: solver, rtol, error, steps, accepted, rejected, evaluations, ok.
    """
    exact = reference_endpoint(system, t_end) if reference is None else np.asarray(reference)
    keys = ("solver", "rtol", "error", "steps", "accepted", "rejected", "evaluations", "ok")
    rows: dict[str, list] = {k: [] for k in keys}
    for name in solvers:
        if not solver_info(name).adaptive:
            raise ValueError(f"{name} has no error estimate: it cannot adapt its steps.")
        for rtol in rtols:
            result = simulate(
                system,
                system.u0,
                [0.0, t_end],
                solver=name,
                rtol=float(rtol),
                atol=float(rtol) * atol_ratio,
                max_steps=max_steps,
            )
            end = np.asarray(result.ys[-1], dtype=np.float64)
            ok = result.ok
            rows["solver"].append(name)
            rows["rtol"].append(float(rtol))
            rows["error"].append(float(np.max(np.abs(end - exact))) if ok else np.nan)
            rows["steps"].append(int(result.num_steps))
            rows["accepted"].append(int(result.num_accepted_steps))
            rows["rejected"].append(int(result.num_rejected_steps))
            rows["evaluations"].append(int(result.num_evaluations))
            rows["ok"].append(ok)
    return {k: np.asarray(v) for k, v in rows.items()}

def time_solve(
    system: AbstractSystem,
    t_end: float,
    *,
    solver: str,
    dt: float | None = None,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    repeats: int = 5,
) -> dict[str, float]:
    """Wall time of one compiled solve (median of `repeats`, after a warm-up call).

    Returns seconds, steps, evaluations, ok and the end state u(t_end).
    For a 2-D system much of the time is call overhead; the evaluations are the
    machine-independent measure of work.
    """

    def run():
        result = simulate(
            system, system.u0, [0.0, t_end], solver=solver, dt=dt, rtol=rtol, atol=atol
        )
        np.asarray(result.ys)
        return result

    result = run()
    times = []
    for _ in range(max(1, int(repeats))):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return {
        "seconds": float(np.median(times)),
        "steps": int(result.num_steps),
        "evaluations": int(result.num_evaluations),
        "ok": bool(result.ok),
        "end": np.asarray(result.ys[-1], dtype=np.float64),
    }

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

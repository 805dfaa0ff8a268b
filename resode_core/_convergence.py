"""Solver studies: error at T against Δt (fixed steps) and against work (adaptive steps).

The app computes in float32, so errors stop shrinking near 1e-6 (round-off, which also
grows with the number of steps). Orders are therefore fitted only on the stretch of
step sizes where the error is clearly above that floor and already small enough to be
in the asymptotic regime.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from ._layer_experiments import fixed_step_endpoints
from ._solvers import ADAPTIVE_SOLVER_NAMES, SOLVER_NAMES, simulate, solver_info
from ._systems import AbstractSystem, LinearSystem, LotkaVolterraSystem, SpiralSystem

FLOAT32_FLOOR = 1e-6  # where float32 errors of these O(1) systems stop shrinking


def _float64_field(system: AbstractSystem):
    """The system's right-hand side in float64 NumPy, for the reference solution."""
    if isinstance(system, SpiralSystem):
        a = np.asarray(system.matrix, dtype=np.float64)
        return lambda t, u: (u**3) @ a
    if isinstance(system, LotkaVolterraSystem):
        alpha, beta, gamma, delta = np.asarray(system.params, dtype=np.float64)
        return lambda t, u: np.array(
            [alpha * u[0] - beta * u[0] * u[1], delta * u[0] * u[1] - gamma * u[1]]
        )
    if isinstance(system, LinearSystem):
        m = np.asarray(system.matrix, dtype=np.float64)
        return lambda t, u: m @ u
    raise ValueError(f"No float64 reference for {type(system).__name__}.")


def reference_endpoint(system: AbstractSystem, t_end: float, *, t_start: float = 0.0) -> np.ndarray:
    """u(t_end) to about 1e-12: exact for a LinearSystem, else SciPy's DOP853 in float64.

    The float64 solve uses the system's own (float32) coefficients, so it is the exact
    answer to the problem the float32 solvers are given.
    """
    if not t_end > t_start:
        raise ValueError("t_end must come after t_start.")
    u0 = np.asarray(system.u0, dtype=np.float64)
    if isinstance(system, LinearSystem) and t_start == 0.0:
        return system.exact(t_end)
    # Imported here: loading scipy would add 0.5 s to every server start.
    from scipy.integrate import solve_ivp

    solution = solve_ivp(
        _float64_field(system),
        (t_start, t_end),
        u0,
        method="DOP853",
        rtol=1e-13,
        atol=1e-13,
    )
    if not solution.success:
        raise ValueError(f"The reference solve failed: {solution.message}")
    return solution.y[:, -1]


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


def convergence_slope(
    x,
    errors,
    *,
    floor: float = 10 * FLOAT32_FLOOR,
    ceiling: float = 0.1,
    monotone: bool = True,
) -> tuple[float, float, np.ndarray]:
    """Fit log(error) = slope·log(x) + intercept on the asymptotic stretch above the floor.

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

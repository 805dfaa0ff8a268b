"""Named diffrax solvers and one jitted entry point, `simulate`, for any ODE."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from ._aot import AotFunction

_rk4_tableau = diffrax.ButcherTableau(
    a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])),
    b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
    # Classical RK4 has no embedded third-order partner, so the estimate is against the
    # midpoint rule (order 2); we only offer RK4 with fixed steps.
    b_error=np.array([1 / 6, 1 / 3 - 1.0, 1 / 3, 1 / 6]),
    c=np.array([0.5, 0.5, 1.0]),
)


class RK4(diffrax.AbstractERK):
    """The classical fourth-order Runge–Kutta method, as a Butcher tableau."""

    tableau: ClassVar[diffrax.ButcherTableau] = _rk4_tableau
    interpolation_cls: ClassVar[Callable[..., Any]] = (
        diffrax.ThirdOrderHermitePolynomialInterpolation.from_k
    )

    def order(self, terms):
        del terms
        return 4


@dataclass(frozen=True)
class SolverInfo:
    """What the app needs to know about one named solver."""

    name: str
    label: str
    order: int
    adaptive: bool  # has a genuine embedded error estimate
    evaluations_per_step: int
    make: Callable[[], diffrax.AbstractSolver]


def _evaluations_per_step(solver: diffrax.AbstractSolver) -> int:
    tableau = getattr(solver, "tableau", None)
    if tableau is None:
        return 1
    return len(tableau.b_sol) - (1 if tableau.fsal else 0)


def _info(name: str, label: str, make: Callable[[], diffrax.AbstractSolver], adaptive: bool):
    solver = make()
    return SolverInfo(
        name=name,
        label=label,
        order=int(solver.order(None)),
        adaptive=adaptive,
        evaluations_per_step=_evaluations_per_step(solver),
        make=make,
    )


SOLVERS: dict[str, SolverInfo] = {
    info.name: info
    for info in (
        _info("euler", "Euler (order 1)", diffrax.Euler, adaptive=False),
        _info("heun", "Heun (order 2)", diffrax.Heun, adaptive=True),
        _info("midpoint", "Midpoint (order 2)", diffrax.Midpoint, adaptive=True),
        _info("ralston", "Ralston (order 2)", diffrax.Ralston, adaptive=True),
        _info("bosh3", "Bogacki–Shampine (order 3)", diffrax.Bosh3, adaptive=True),
        _info("rk4", "Classical RK4 (order 4)", RK4, adaptive=False),
        _info("tsit5", "Tsitouras 5(4) (order 5)", diffrax.Tsit5, adaptive=True),
        _info("dopri5", "Dormand–Prince 5(4) (order 5)", diffrax.Dopri5, adaptive=True),
        _info("dopri8", "Dormand–Prince 8(5,3) (order 8)", diffrax.Dopri8, adaptive=True),
    )
}
SOLVER_NAMES: tuple[str, ...] = tuple(SOLVERS)
ADAPTIVE_SOLVER_NAMES: tuple[str, ...] = tuple(n for n, s in SOLVERS.items() if s.adaptive)

DEFAULT_MAX_STEPS = 10_000


def solver_info(name: str) -> SolverInfo:
    """Look a solver up by name, with a clear error for an unknown one."""
    try:
        return SOLVERS[name]
    except KeyError:
        raise ValueError(
            f"Unknown solver {name!r}; choose one of {', '.join(SOLVER_NAMES)}."
        ) from None


def check_step_settings(
    solver: str, dt: float | None, rtol: float, atol: float
) -> tuple[SolverInfo, bool]:
    """Validate solver name, step size and tolerances; return the info and `adaptive`."""
    info = solver_info(solver)
    if dt is not None:
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"The step size Δt must be a positive number, got {dt}.")
        return info, False
    if not info.adaptive:
        raise ValueError(
            f"{info.label} has no error estimate, so it needs a fixed step size: pass dt."
        )
    for label, tol in (("rtol", rtol), ("atol", atol)):
        if not (math.isfinite(tol) and tol > 0):
            raise ValueError(f"The tolerance {label} must be a positive number, got {tol}.")
    return info, True


def step_controller(adaptive: bool, rtol, atol) -> diffrax.AbstractStepSizeController:
    if adaptive:
        return diffrax.PIDController(rtol=rtol, atol=atol)
    return diffrax.ConstantStepSize()


def solve_at(
    vector_field: Callable,
    y0: Float[Array, " dim"],
    ts: Float[Array, " n"],
    *,
    solver: str,
    adaptive: bool,
    dt,
    rtol,
    atol,
    max_steps: int,
    args: Any = None,
    adjoint: diffrax.AbstractAdjoint | None = None,
) -> diffrax.Solution:
    """One diffrax solve saved at `ts` (to be called inside jit; never throws)."""
    return diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        solver_info(solver).make(),
        t0=ts[0],
        t1=ts[-1],
        dt0=None if adaptive else dt,
        y0=y0,
        args=args,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=step_controller(adaptive, rtol, atol),
        adjoint=adjoint if adjoint is not None else diffrax.RecursiveCheckpointAdjoint(),
        max_steps=max_steps,
        throw=False,
    )


class SolveResult(eqx.Module):
    """A trajectory and what it cost. `ok` is False if the solver gave up."""

    ts: Float[np.ndarray, " n"]
    ys: Float[np.ndarray, "n dim"]
    num_steps: Int[Array, ""]
    num_accepted_steps: Int[Array, ""]
    num_rejected_steps: Int[Array, ""]
    num_evaluations: Int[Array, ""]
    reached_max_steps: Bool[Array, ""]
    succeeded: Bool[Array, ""]

    @property
    def ok(self) -> bool:
        return bool(self.succeeded) and bool(np.all(np.isfinite(self.ys)))

    @property
    def message(self) -> str:
        if bool(self.reached_max_steps):
            return (
                f"The solver stopped after its limit of {int(self.num_steps)} steps before "
                "reaching the end time: use a larger Δt, looser tolerances or a shorter horizon."
            )
        if not bool(self.succeeded):
            return "The solver gave up (the step size collapsed): the problem may be stiff."
        if not bool(np.all(np.isfinite(self.ys))):
            return "The solution blew up (non-finite values): the dynamics diverge."
        return "ok"


@eqx.filter_jit
def _simulate(vector_field, u0, ts, dt, rtol, atol, config):
    solver, adaptive, max_steps = config
    sol = solve_at(
        vector_field,
        u0,
        ts,
        solver=solver,
        adaptive=adaptive,
        dt=dt,
        rtol=rtol,
        atol=atol,
        max_steps=max_steps,
    )
    stats = sol.stats
    per_step = solver_info(solver).evaluations_per_step
    return SolveResult(
        ts=ts,
        ys=sol.ys,
        num_steps=stats["num_steps"],
        num_accepted_steps=stats["num_accepted_steps"],
        num_rejected_steps=stats["num_rejected_steps"],
        num_evaluations=stats["num_steps"] * per_step + 1,
        reached_max_steps=sol.result == diffrax.RESULTS.max_steps_reached,
        succeeded=sol.result == diffrax.RESULTS.successful,
    )


_simulate_stored = AotFunction("simulate", _simulate, lambda *_: SolveResult(*[0] * 8))


def device_array(x, dtype=None) -> Array:
    """A host value (number, list, NumPy array) as a JAX array, compiling nothing.

    `jnp.asarray` on a host value compiles a small program for every new shape and dtype
    (about 0.1 s each, paid again after every restart); `jax.device_put` only copies.
    Inside a trace it falls back to `jnp.asarray`.
    """
    if isinstance(x, jax.core.Tracer):
        return jnp.asarray(x, dtype=dtype)
    return jax.device_put(np.asarray(x, dtype=dtype))


def as_float_array(x) -> Array:
    """An array in JAX's default float type (float32 unless x64 is enabled), cast in NumPy."""
    return device_array(x, jnp.result_type(float))


TIME_GRID_BUCKETS = (64, 256, 1024, 4096)


def padded_time_grid(grid: np.ndarray) -> np.ndarray:
    """Pad a time grid (repeating its end) to a bucket size, so its length never recompiles."""
    size = next((b for b in TIME_GRID_BUCKETS if grid.size <= b), grid.size)
    return np.concatenate([grid, np.full(size - grid.size, grid[-1])])


def as_vector_field(f) -> Callable:
    """Accept a System (anything with `.vector_field`) or a callable f(t, u, args)."""
    field = getattr(f, "vector_field", None)
    if field is not None:
        return field
    if not callable(f):
        raise ValueError("f must be a System or a callable f(t, u, args).")
    return f


def as_time_grid(ts) -> np.ndarray:
    grid = np.asarray(ts, dtype=np.float64)
    if grid.ndim != 1 or grid.size < 2:
        raise ValueError("ts must be a 1-D sequence of at least two times.")
    if not np.all(np.isfinite(grid)):
        raise ValueError("ts contains NaN or infinite times.")
    if not np.all(np.diff(grid) > 0):
        raise ValueError("ts must be strictly increasing (sorted, no repeated times).")
    return grid


def simulate(
    f,
    u0,
    ts,
    *,
    solver: str = "tsit5",
    dt: float | None = None,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> SolveResult:
    """Solve du/dt = f(t, u) from u(ts[0]) = u0 and save the solution at `ts`.

    Give `dt` for fixed steps, or leave it out for adaptive steps with `rtol`/`atol`.
    `u0`, `ts`, `dt`, `rtol`, `atol` and the arrays inside a System are runtime values,
    so changing them never recompiles; a plain Python function is hashed by identity.
    """
    _, adaptive = check_step_settings(solver, dt, rtol, atol)
    vector_field = as_vector_field(f)
    grid = as_time_grid(ts)
    state = np.asarray(u0, dtype=np.float64)
    if state.ndim != 1:
        raise ValueError(f"u0 must be a 1-D state vector, got shape {state.shape}.")
    if not np.all(np.isfinite(state)):
        raise ValueError("u0 contains NaN or infinite values.")
    padded = _simulate_stored(
        vector_field,
        as_float_array(state),
        as_float_array(padded_time_grid(grid)),
        as_float_array(dt if dt is not None else 0.0),
        as_float_array(rtol),
        as_float_array(atol),
        (solver, adaptive, int(max_steps)),
    )
    # Slice on the host: a device-side slice would compile once per length.
    result = jax.tree_util.tree_map(np.asarray, padded)
    return eqx.tree_at(
        lambda r: (r.ts, r.ys), result, (result.ts[: grid.size], result.ys[: grid.size])
    )

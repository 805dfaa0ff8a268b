"""Named diffrax solvers, one settings object for a solve, and the jitted solves.

`SolverSettings` is the one description of how to integrate (solver, fixed Δt or
tolerances, step limit): `simulate`, `solve_many`, training and the pages all take it.
Its numbers reach the compiled programs as arrays, so changing them never recompiles.
"""

from __future__ import annotations

import functools
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
from ._checks import bucket, positive, whole

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
    # First same as last: the last stage of a step is the next step's first, so a solve
    # makes one evaluation more than steps × evaluations_per_step (the very first stage).
    fsal: bool
    make: Callable[[], diffrax.AbstractSolver]

    def evaluations(self, steps):
        """Right-hand-side evaluations of a solve of `steps` steps (an int or an array)."""
        return steps * self.evaluations_per_step + int(self.fsal)


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
        fsal=bool(getattr(getattr(solver, "tableau", None), "fsal", False)),
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
        _info("dopri8", "Prince–Dormand 8(7) (order 8)", diffrax.Dopri8, adaptive=True),
    )
}
SOLVER_NAMES: tuple[str, ...] = tuple(SOLVERS)
DEFAULT_MAX_STEPS = 10_000


def solver_info(name: str) -> SolverInfo:
    """Look a solver up by name, with a clear error for an unknown one."""
    try:
        return SOLVERS[name]
    except KeyError:
        raise ValueError(
            f"Unknown solver {name!r}; choose one of {', '.join(SOLVER_NAMES)}."
        ) from None


@dataclass(frozen=True)
class SolverSettings:
    """How to integrate: a named solver with a fixed step `dt`, or adaptive steps (dt None).

    Frozen and hashable, so it can be part of a cache key. Euler and RK4 have no error
    estimate and need a `dt`; rtol/atol matter only for adaptive steps.
    """

    solver: str = "tsit5"
    dt: float | None = None
    rtol: float = 1e-7
    atol: float = 1e-9
    max_steps: int = DEFAULT_MAX_STEPS

    def __post_init__(self) -> None:
        info = solver_info(self.solver)
        if self.dt is not None:
            object.__setattr__(self, "dt", positive("The step size Δt", self.dt))
        elif not info.adaptive:
            raise ValueError(
                f"{info.label} has no error estimate, so it needs a fixed step size: pass dt."
            )
        object.__setattr__(self, "rtol", positive("The tolerance rtol", self.rtol))
        object.__setattr__(self, "atol", positive("The tolerance atol", self.atol))
        object.__setattr__(self, "max_steps", whole("max_steps", self.max_steps, low=1))

    @property
    def adaptive(self) -> bool:
        return self.dt is None

    @property
    def info(self) -> SolverInfo:
        return SOLVERS[self.solver]

    def describe(self) -> str:
        """E.g. 'Tsitouras 5(4) (order 5) with adaptive steps (rtol 1e-07)'."""
        if self.adaptive:
            return f"{self.info.label} with adaptive steps (rtol {self.rtol:.0e})"
        return f"{self.info.label} with a fixed Δt = {self.dt:g}"

    def control(self) -> StepControl:
        """The settings as a pytree for the compiled programs (numbers as arrays)."""
        return _control(self, jnp.result_type(float))


@functools.lru_cache(maxsize=256)
def _control(self: SolverSettings, float_type) -> StepControl:
    # Kept per settings (and float type: x64 may be switched on): copying three numbers to
    # the device costs more than a short chunk.
    return StepControl(
        dt=as_float_array(0.0 if self.dt is None else self.dt),
        rtol=as_float_array(self.rtol),
        atol=as_float_array(self.atol),
        solver=self.solver,
        adaptive=self.adaptive,
        max_steps=int(self.max_steps),
    )


class StepControl(eqx.Module):
    """SolverSettings inside jit: the solver and its step control are static, numbers are not."""

    dt: Float[Array, ""]
    rtol: Float[Array, ""]
    atol: Float[Array, ""]
    solver: str = eqx.field(static=True)
    adaptive: bool = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)


def solve_at(
    vector_field: Callable,
    y0: Float[Array, " dim"],
    ts: Float[Array, " n"],
    control: StepControl,
    *,
    adjoint: diffrax.AbstractAdjoint | None = None,
) -> diffrax.Solution:
    """One diffrax solve saved at `ts` (to be called inside jit; never throws)."""
    return diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        solver_info(control.solver).make(),
        t0=ts[0],
        t1=ts[-1],
        dt0=None if control.adaptive else control.dt,
        y0=y0,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=(
            diffrax.PIDController(rtol=control.rtol, atol=control.atol)
            if control.adaptive
            else diffrax.ConstantStepSize()
        ),
        adjoint=adjoint if adjoint is not None else diffrax.RecursiveCheckpointAdjoint(),
        max_steps=control.max_steps,
        throw=False,
    )


# ----------------------------------------------------------------------------- host values


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


def as_states(u0s, *, batch: bool) -> np.ndarray:
    """Initial states as float64, checked: (dim,) for one, (n, dim) for a batch."""
    states = np.asarray(u0s, dtype=np.float64)
    if batch and states.ndim == 1:
        states = states[None]
    if states.ndim != (2 if batch else 1) or states.shape[0] < 1:
        shape = "(n, dim) with n ≥ 1" if batch else "(dim,), a 1-D state vector"
        raise ValueError(f"Initial states must have shape {shape}, got {states.shape}.")
    if not np.all(np.isfinite(states)):
        raise ValueError("The initial conditions contain NaN or infinite values.")
    return states


def pad_rows(rows: np.ndarray, size: int) -> np.ndarray:
    """Pad along the first axis to `size` by repeating the last row (padding is never used)."""
    return np.concatenate([rows, np.repeat(rows[-1:], size - rows.shape[0], axis=0)])


# ----------------------------------------------------------------------------- one trajectory


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
def _simulate(vector_field, u0, ts, control: StepControl):
    sol = solve_at(vector_field, u0, ts, control)
    stats = sol.stats
    info = solver_info(control.solver)
    return SolveResult(
        ts=ts,
        ys=sol.ys,
        num_steps=stats["num_steps"],
        num_accepted_steps=stats["num_accepted_steps"],
        num_rejected_steps=stats["num_rejected_steps"],
        num_evaluations=info.evaluations(stats["num_steps"]),
        reached_max_steps=sol.result == diffrax.RESULTS.max_steps_reached,
        succeeded=sol.result == diffrax.RESULTS.successful,
    )


_simulate_stored = AotFunction("simulate", _simulate, lambda *_: SolveResult(*[0] * 8))
TIME_GRID_BUCKETS = (64, 256, 1024, 4096)


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

    The keywords are those of `SolverSettings`: give `dt` for fixed steps, or leave it out
    for adaptive steps with `rtol`/`atol`. `u0`, `ts`, `dt`, `rtol`, `atol` and the arrays
    inside a System are runtime values, so changing them never recompiles; a plain Python
    function is hashed by identity.
    """
    settings = SolverSettings(solver, dt=dt, rtol=rtol, atol=atol, max_steps=max_steps)
    vector_field = as_vector_field(f)
    grid = as_time_grid(ts)
    state = as_states(u0, batch=False)
    # Pad the time grid to a bucket size (repeating its end): its length never recompiles.
    padded = pad_rows(grid, bucket(grid.size, TIME_GRID_BUCKETS))
    result = _simulate_stored(
        vector_field, as_float_array(state), as_float_array(padded), settings.control()
    )
    # Slice on the host: a device-side slice would compile once per length.
    result = jax.tree_util.tree_map(np.asarray, result)
    return eqx.tree_at(
        lambda r: (r.ts, r.ys), result, (result.ts[: grid.size], result.ys[: grid.size])
    )


# ----------------------------------------------------------------------------- many at once

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
def _solve_many(field, u0s, ts, control: StepControl):
    def one(u0):
        sol = solve_at(field, u0, ts, control)
        finite = jnp.all(jnp.isfinite(sol.ys))
        return sol.ys, (sol.result == diffrax.RESULTS.successful) & finite

    return jax.vmap(one)(u0s)


# Stored traced (see _aot): the spiral and Lotka–Volterra pages open without tracing these.
_solve_many_stored = AotFunction("solve_many", _solve_many, lambda *_: (0, 0))


def solve_many(
    f, u0s, ts, settings: SolverSettings | None = None, *, at_least: tuple[int, int] = (1, 1)
) -> ManySolution:
    """Solve du/dt = f(t, u) from every row of u0s, saved at ts (one compiled call).

    f is a System or an equinox Module f(t, u, args); settings default to Tsit5 with
    rtol = 1e-7, atol = 1e-9. Failed solves (too many steps, blow-up) are flagged in
    `.ok` and their values are not to be trusted. The number of starts and of times is
    padded to a few fixed sizes, so neither recompiles; `at_least` (starts, times) pads
    further, so that solves of different sizes share one compiled program.
    """
    field = as_vector_field(f)
    settings = SolverSettings() if settings is None else settings
    grid = as_time_grid(ts)
    starts = as_states(u0s, batch=True)
    n, n_times = starts.shape[0], grid.size
    size = bucket(max(n, int(at_least[0])), BATCH_BUCKETS)
    times = bucket(max(n_times, int(at_least[1])), TIME_BUCKETS)
    if size <= FEW_TRAJECTORIES:
        times = max(times, FEW_TRAJECTORIES_MIN_TIMES)
    # Extra starts copy the last one, extra times repeat the last time.
    ys, ok = _solve_many_stored(
        field,
        as_float_array(pad_rows(starts, size)),
        as_float_array(pad_rows(grid, times)),
        settings.control(),
    )
    return ManySolution(
        ts=grid, ys=np.asarray(ys)[:n, :n_times], ok=np.asarray(ok)[:n].astype(bool)
    )


@eqx.filter_jit
def _field_values(field, points: Float[Array, "n dim"], t):
    return jax.vmap(lambda u: field(t, u, None))(points)


_field_values_stored = AotFunction("field_values", _field_values, lambda *_: 0)


def field_on_grid(f, points, t: float = 0.0) -> np.ndarray:
    """f(t, u) at every row of points: shape (n, dim)."""
    field = as_vector_field(f)
    pts = as_states(points, batch=True)
    n = pts.shape[0]
    values = _field_values_stored(
        field, as_float_array(pad_rows(pts, bucket(n, BATCH_BUCKETS))), as_float_array(t)
    )
    return np.asarray(values)[:n]

"""Ground-truth ODE systems and the worked examples' data sets."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._solvers import as_float_array, as_time_grid


class AbstractSystem(eqx.Module):
    """An ODE du/dt = vector_field(t, u, args) with its initial state and time span."""

    u0: eqx.AbstractVar[Float[Array, " dim"]]
    t_span: eqx.AbstractVar[tuple[float, float]]

    def vector_field(self, t, u, args):
        raise NotImplementedError

    def numpy_field(self):
        """The right-hand side f(t, u) in float64 NumPy, for the reference solution: u is
        one state (dim,) or a stack of states (n, dim), one per row."""
        raise NotImplementedError

    @property
    def dim(self) -> int:
        return int(self.u0.shape[0])

    def with_u0(self, u0) -> AbstractSystem:
        """The same dynamics from another initial condition (no recompile)."""
        return eqx.tree_at(lambda s: s.u0, self, as_float_array(u0))

    def reference(self, ts) -> np.ndarray:
        """u(ts) from u(ts[0]) = u0 to about 1e-12, in float64: shape (len(ts), dim).

        SciPy's DOP853 at rtol = atol = 1e-13 on the system's own (float32) coefficients,
        so it is the exact answer to the problem the float32 solvers are given.
        """
        grid = as_time_grid(ts)
        # Imported here: loading scipy would add 0.5 s to every server start.
        from scipy.integrate import solve_ivp

        solution = solve_ivp(
            self.numpy_field(),
            (grid[0], grid[-1]),
            np.asarray(self.u0, dtype=np.float64),
            method="DOP853",
            t_eval=grid,
            rtol=1e-13,
            atol=1e-13,
        )
        if not solution.success:
            raise ValueError(f"The reference solve failed: {solution.message}")
        return solution.y.T

    def reference_many(self, u0s, ts, *, tol: float = 1e-10) -> np.ndarray:
        """u(ts) from every row of u0s, in float64: shape (len(u0s), len(ts), dim).

        One SciPy DOP853 solve of all the starts stacked into one system, at rtol = atol =
        `tol`: a reference for float32 solves that compiles nothing (a page's true paths
        appear without waiting for XLA, and a fresh server keeps fewer programs).
        """
        grid = as_time_grid(ts)
        starts = np.atleast_2d(np.asarray(u0s, dtype=np.float64))
        if starts.shape[1] != self.dim or not np.all(np.isfinite(starts)):
            raise ValueError(f"u0s must be finite rows of {self.dim} numbers.")
        field, shape = self.numpy_field(), starts.shape
        from scipy.integrate import solve_ivp

        solution = solve_ivp(
            lambda t, flat: field(t, flat.reshape(shape)).ravel(),
            (grid[0], grid[-1]),
            starts.ravel(),
            method="DOP853",
            t_eval=grid,
            rtol=tol,
            atol=tol,
        )
        if not solution.success:
            raise ValueError(f"The reference solve failed: {solution.message}")
        return solution.y.reshape(*shape, grid.size).transpose(0, 2, 1)


class SpiralSystem(AbstractSystem):
    """The notes' test equation, in the convention of their code: du/dt = (u³)ᵀA, i.e. Aᵀu³.

    The prose of the notes writes A u³; the Julia code computes `((u.^3)' * A)'`,
    which is the row vector u³ times A. We follow the code (as torchdiffeq and
    DiffEqFlux do).
    """

    matrix: Float[Array, "2 2"]
    u0: Float[Array, " 2"]
    t_span: tuple[float, float] = eqx.field(static=True)

    def vector_field(self, t, u, args):
        return (u**3) @ self.matrix

    def numpy_field(self):
        a = np.asarray(self.matrix, dtype=np.float64)
        return lambda t, u: (u**3) @ a


class LotkaVolterraSystem(AbstractSystem):
    """Predator–prey: dx/dt = αx − βxy, dy/dt = δxy − γy."""

    params: Float[Array, " 4"]  # (α, β, γ, δ), runtime values
    u0: Float[Array, " 2"]
    t_span: tuple[float, float] = eqx.field(static=True)

    def vector_field(self, t, u, args):
        alpha, beta, gamma, delta = self.params
        prey, predator = u[0], u[1]
        return jnp.stack(
            [alpha * prey - beta * prey * predator, delta * prey * predator - gamma * predator]
        )

    def numpy_field(self):
        alpha, beta, gamma, delta = np.asarray(self.params, dtype=np.float64)

        def field(t, u):
            x, y = u[..., 0], u[..., 1]
            return np.stack([alpha * x - beta * x * y, delta * x * y - gamma * y], axis=-1)

        return field


class LinearSystem(AbstractSystem):
    """du/dt = M u, with the exact solution expm(M t) u0: the yardstick for solver orders."""

    matrix: Float[Array, "dim dim"]
    u0: Float[Array, " dim"]
    t_span: tuple[float, float] = eqx.field(static=True)

    def vector_field(self, t, u, args):
        return self.matrix @ u

    def numpy_field(self):
        m = np.asarray(self.matrix, dtype=np.float64)
        return lambda t, u: u @ m.T

    def exact(self, t: float) -> np.ndarray:
        eigenvalues, eigenvectors = np.linalg.eig(np.asarray(self.matrix, dtype=np.float64))
        coefficients = np.linalg.solve(eigenvectors, np.asarray(self.u0, dtype=np.float64))
        return np.real(eigenvectors @ (np.exp(eigenvalues * t) * coefficients))

    def reference(self, ts) -> np.ndarray:
        """The closed-form solution (from u(0) = u0) at ts: shape (len(ts), dim)."""
        grid = as_time_grid(ts)
        return np.stack([self.exact(t - grid[0]) for t in grid])


def spiral_system(u0=(2.0, 0.0), t_span=(0.0, 1.5)) -> SpiralSystem:
    """The notes' spiral: A = [[-0.1, 2], [-2, -0.1]], u0 = (2, 0), t in [0, 1.5]."""
    return SpiralSystem(
        matrix=as_float_array(((-0.1, 2.0), (-2.0, -0.1))),
        u0=as_float_array(u0),
        t_span=(float(t_span[0]), float(t_span[1])),
    )


def lotka_volterra_system(
    alpha: float = 1.5,
    beta: float = 1.0,
    gamma: float = 3.0,
    delta: float = 1.0,
    u0=(1.0, 1.0),
    t_span=(0.0, 10.0),
) -> LotkaVolterraSystem:
    """Lotka–Volterra with the classic textbook defaults (α, β, γ, δ) = (1.5, 1, 3, 1)."""
    params = np.array([alpha, beta, gamma, delta], dtype=np.float64)
    if not np.all(np.isfinite(params)) or np.any(params <= 0):
        raise ValueError("Lotka–Volterra parameters α, β, γ, δ must be positive numbers.")
    return LotkaVolterraSystem(
        params=as_float_array(params),
        u0=as_float_array(u0),
        t_span=(float(t_span[0]), float(t_span[1])),
    )


def linear_system(matrix=((-0.1, 1.0), (-1.0, -0.1)), u0=(1.0, 0.0), t_span=(0.0, 2.0)):
    """du/dt = M u (default: a damped rotation), with its closed-form solution."""
    return LinearSystem(
        matrix=as_float_array(matrix),
        u0=as_float_array(u0),
        t_span=(float(t_span[0]), float(t_span[1])),
    )


def sample_times(
    t_span=(0.0, 1.5), n_samples: int = 16, *, uneven: bool = False, seed: int = 0
) -> np.ndarray:
    """Sample times over `t_span`: evenly spaced (the notes: 16 on [0, 1.5]) or uneven.

    Uneven grids are random and sorted, and keep both end points, so a fit always covers
    the whole window.
    """
    if n_samples < 2:
        raise ValueError("Need at least two sample times.")
    t0, t1 = float(t_span[0]), float(t_span[1])
    if not t1 > t0:
        raise ValueError("The time span must end after it starts.")
    if not uneven:
        return np.linspace(t0, t1, n_samples)
    rng = np.random.default_rng(seed)
    inner = np.sort(rng.uniform(t0, t1, size=n_samples - 2))
    grid = np.concatenate([[t0], inner, [t1]])
    # Random draws can coincide in float32: nudge them apart so times stay increasing.
    min_gap = (t1 - t0) * 1e-4
    for i in range(1, grid.size):
        grid[i] = max(grid[i], grid[i - 1] + min_gap)
    return t0 + (grid - t0) * ((t1 - t0) / (grid[-1] - t0))


def identity_data() -> tuple[np.ndarray, np.ndarray]:
    """The notes' y = x data: x = -10, ..., 10 (21 integers), y = x."""
    x = np.arange(-10, 11, dtype=np.float32)
    return x, x.copy()


def regression_task(width: int, n_points: int = 64, *, seed: int = 0):
    """A small smooth regression task in R^width for the degradation experiment.

    Targets come from a fixed two-layer teacher, y = sin(2 Q x)/2 with Q orthogonal, so
    a shallow net can fit it and any failure of a deeper one is an optimisation failure.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n_points, width))
    q, _ = np.linalg.qr(rng.normal(size=(width, width)))
    y = 0.5 * np.sin(2.0 * x @ q.T)
    return as_float_array(x), as_float_array(y)

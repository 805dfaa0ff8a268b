"""Solvers: empirical orders against an exact solution, step limits, bad input."""

import equinox as eqx
import jax
import numpy as np
import pytest

import resode_core as rc

# Δt ranges where each order's error sits well above float64 round-off (measured).
BASE_STEP = {1: 0.02, 2: 0.05, 3: 0.1, 4: 0.1, 5: 1 / 16, 8: 0.5}
# Before the asymptotic regime a method can look better than its order, never clearly
# worse. Order 8 reaches float64 round-off before its slope settles (it shows ≈ 9–10).
UPPER_SLACK = {8: 2.0}


class Riccati(eqx.Module):
    """du/dt = -2 t u², u(0) = 1, solved by u(t) = 1 / (1 + t²).

    Nonlinear and time-dependent on purpose: on a linear problem some methods
    (Dopri8 among them) converge faster than their order.
    """

    def vector_field(self, t, u, args):
        return -2.0 * t * u**2


ADAPTIVE_SOLVER_NAMES = [name for name in rc.SOLVER_NAMES if rc.SOLVERS[name].adaptive]


@pytest.mark.parametrize("solver", rc.SOLVER_NAMES)
def test_fixed_step_order_matches_theory(solver):
    with jax.enable_x64(True):
        exact = 1.0 / (1.0 + 2.0**2)
        order = rc.SOLVERS[solver].order
        dts = [BASE_STEP[order] / 2**k for k in range(3 if order == 8 else 4)]
        errors = []
        for dt in dts:
            result = rc.simulate(Riccati(), [1.0], [0.0, 2.0], solver=solver, dt=dt)
            assert result.ok and int(result.num_steps) == round(2.0 / dt)
            errors.append(abs(float(result.ys[-1, 0]) - exact))
    # A plain least-squares slope through every point (float64: no round-off floor to skip).
    observed, _, used = rc.convergence_order(dts, errors, floor=0.0, ceiling=np.inf, monotone=False)
    assert used.all()
    assert order - 0.3 < observed < order + UPPER_SLACK.get(order, 0.5), (solver, observed, errors)


@pytest.mark.parametrize("solver", ADAPTIVE_SOLVER_NAMES)
def test_adaptive_error_shrinks_with_tolerance(solver):
    with jax.enable_x64(True):
        system = rc.linear_system(t_span=(0.0, 20.0))
        exact = system.exact(20.0)
        errors, steps = [], []
        for rtol in (1e-4, 1e-8):
            result = rc.simulate(
                system,
                system.u0,
                [0.0, 20.0],
                solver=solver,
                rtol=rtol,
                atol=rtol,
                max_steps=100_000,
            )
            assert result.ok
            errors.append(np.max(np.abs(np.asarray(result.ys[-1]) - exact)))
            steps.append(int(result.num_steps))
    assert errors[1] < errors[0] / 10
    assert steps[1] > steps[0]


def test_spiral_is_the_notes_example():
    system = rc.spiral_system()
    np.testing.assert_allclose(np.asarray(system.matrix), [[-0.1, 2.0], [-2.0, -0.1]], rtol=1e-7)
    np.testing.assert_array_equal(np.asarray(system.u0), [2.0, 0.0])
    assert system.t_span == (0.0, 1.5)
    np.testing.assert_allclose(rc.sample_times(), np.linspace(0.0, 1.5, 16))  # 16 samples


def test_spiral_follows_the_code_convention():
    system = rc.spiral_system()
    u = np.array([0.7, -1.3], dtype=np.float32)
    a = np.array([[-0.1, 2.0], [-2.0, -0.1]], dtype=np.float32)  # the notes' matrix
    got = np.asarray(system.vector_field(0.0, u, None))
    np.testing.assert_allclose(got, a.T @ u**3, rtol=1e-6)  # (u³)ᵀA, not A u³
    assert not np.allclose(got, a @ u**3)


def test_lotka_volterra_conserves_its_first_integral():
    alpha, beta, gamma, delta = 1.5, 1.0, 3.0, 1.0
    with jax.enable_x64(True):
        system = rc.lotka_volterra_system(alpha, beta, gamma, delta, u0=(1.0, 2.0))
        ts = np.linspace(0, 10, 50)
        ys = np.asarray(rc.simulate(system, system.u0, ts, rtol=1e-10, atol=1e-12).ys)
    x, y = ys[:, 0], ys[:, 1]
    invariant = delta * x - gamma * np.log(x) + beta * y - alpha * np.log(y)
    assert np.ptp(invariant) < 1e-7


def test_step_limit_is_reported_not_raised():
    system = rc.spiral_system()
    result = rc.simulate(system, system.u0, [0.0, 1.5], solver="euler", dt=1e-4, max_steps=100)
    assert not result.ok
    assert bool(result.reached_max_steps)
    assert "limit" in result.message


def test_divergence_is_reported():
    # Cubic growth blows up in finite time: the solver cannot reach t = 10.
    system = rc.spiral_system(u0=(50.0, 50.0))
    result = rc.simulate(system, system.u0, [0.0, 10.0], solver="euler", dt=0.1)
    assert not result.ok
    assert result.message != "ok"


@pytest.mark.parametrize("solver", rc.SOLVER_NAMES)
def test_evaluations_per_step_are_what_diffrax_really_calls(solver):
    """Count the vector field's calls at run time over 10 and 20 fixed steps: the difference
    per step is the number the pages quote (Dopri8: 13, Tsit5: 6, with FSAL)."""
    import diffrax

    calls = []

    def counted(t, y, args):
        jax.debug.callback(lambda: calls.append(1))
        return -y

    def calls_for(steps: int) -> int:
        calls.clear()
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(counted),
            rc.SOLVERS[solver].make(),
            0.0,
            1.0,
            1.0 / steps,
            jax.numpy.ones(2),
            stepsize_controller=diffrax.ConstantStepSize(),
        )
        jax.block_until_ready(sol.ys)
        return len(calls)

    per_step = (calls_for(20) - calls_for(10)) / 10
    assert per_step == rc.SOLVERS[solver].evaluations_per_step


def test_evaluation_count_for_fixed_steps():
    system = rc.linear_system()
    result = rc.simulate(system, system.u0, [0.0, 1.0], solver="rk4", dt=0.1)
    assert int(result.num_steps) == 10
    assert int(result.num_evaluations) == 10 * 4  # RK4: four new stages a step, no reuse
    fsal = rc.simulate(system, system.u0, [0.0, 1.0], solver="tsit5", dt=0.1)
    assert int(fsal.num_evaluations) == 10 * 6 + 1  # Tsit5 reuses its last stage


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(solver="nope"), "Unknown solver"),
        (dict(solver="euler"), "fixed step"),
        (dict(solver="tsit5", dt=-0.1), "positive"),
        (dict(solver="tsit5", rtol=0.0), "rtol"),
    ],
)
def test_bad_solver_settings_raise_clear_errors(kwargs, match):
    system = rc.linear_system()
    with pytest.raises(ValueError, match=match):
        rc.simulate(system, system.u0, [0.0, 1.0], **kwargs)
    with pytest.raises(ValueError, match=match):
        rc.SolverSettings(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(atol=-1e-9), "atol"),
        (dict(rtol=float("nan")), "rtol"),
        (dict(max_steps=0), "max_steps"),
        (dict(max_steps=2.5), "max_steps"),
        (dict(solver="rk4", dt=0.0), "positive"),
    ],
)
def test_more_bad_solver_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rc.SolverSettings(**kwargs)


def test_solver_settings_describe_one_solve_and_can_be_cache_keys():
    adaptive = rc.SolverSettings("tsit5", rtol=1e-6, atol=1e-8)
    fixed = rc.SolverSettings("rk4", dt=0.05)
    assert adaptive.adaptive and not fixed.adaptive
    assert adaptive.info.order == 5 and fixed.info.order == 4
    assert "adaptive" in adaptive.describe() and "0.05" in fixed.describe()
    # Frozen and hashable: equal settings are one dictionary key.
    assert hash(adaptive) == hash(rc.SolverSettings("tsit5", rtol=1e-6, atol=1e-8))
    assert len({adaptive, rc.SolverSettings("tsit5", rtol=1e-6, atol=1e-8), fixed}) == 2
    with pytest.raises(AttributeError):
        adaptive.rtol = 1e-3
    # Fixed-step Tsit5 is allowed (Δt given); the defaults are Tsit5, adaptive.
    assert not rc.SolverSettings("tsit5", dt=0.1).adaptive
    assert rc.SolverSettings().solver == "tsit5" and rc.SolverSettings().adaptive
    control = fixed.control()
    assert (
        control.solver == "rk4" and not control.adaptive and float(control.dt) == np.float32(0.05)
    )


@pytest.mark.parametrize(
    "u0, ts, match",
    [
        ([np.nan, 0.0], [0.0, 1.0], "NaN"),
        ([1.0, 0.0], [1.0, 0.0], "increasing"),
        ([1.0, 0.0], [0.0], "at least two"),
        ([[1.0, 0.0]], [0.0, 1.0], "1-D"),
    ],
)
def test_bad_states_and_times_raise_clear_errors(u0, ts, match):
    with pytest.raises(ValueError, match=match):
        rc.simulate(rc.linear_system(), u0, ts)


def test_sample_times_uneven_are_increasing_and_keep_the_ends():
    grid = rc.sample_times((0.0, 1.5), 16, uneven=True, seed=3)
    assert grid.size == 16 and grid[0] == 0.0 and np.isclose(grid[-1], 1.5)
    assert np.all(np.diff(grid) > 0)
    assert not np.allclose(grid, np.linspace(0, 1.5, 16))


@pytest.mark.parametrize("max_steps", [float("inf"), None, True])
def test_max_steps_that_are_not_whole_numbers_raise_value_errors(max_steps):
    with pytest.raises(ValueError, match="max_steps"):
        rc.SolverSettings(max_steps=max_steps)


def test_reference_many_solves_every_start_like_the_single_reference():
    linear = rc.linear_system(t_span=(0.0, 2.0))
    starts = np.array([[1.0, 0.0], [0.5, -1.0], [-2.0, 0.25]])
    ts = np.linspace(0.0, 2.0, 9)
    many = linear.reference_many(starts, ts)
    assert many.shape == (3, 9, 2)
    for start, paths in zip(starts, many, strict=True):  # against the closed form
        np.testing.assert_allclose(paths, linear.with_u0(start).reference(ts), atol=1e-8)
    spiral = rc.spiral_system()
    ts = np.linspace(0.0, 1.5, 30)
    starts = np.array([[2.0, 0.0], [0.3, -1.2]])
    many = spiral.reference_many(starts, ts)
    np.testing.assert_allclose(many[0], spiral.reference(ts), atol=1e-8)
    float32 = rc.solve_many(spiral, starts, ts).ys  # diffrax, Tsit5 at rtol 1e-7
    np.testing.assert_allclose(many, float32, atol=1e-4)
    with pytest.raises(ValueError, match="finite rows"):
        spiral.reference_many([[np.nan, 1.0]], ts)


def test_solve_many_padded_further_gives_the_same_paths():
    spiral = rc.spiral_system()
    starts, ts = np.array([[2.0, 0.0], [0.5, -1.0]]), np.linspace(0.0, 1.5, 20)
    plain = rc.solve_many(spiral, starts, ts)
    padded = rc.solve_many(spiral, starts, ts, at_least=(64, 256))
    assert padded.ys.shape == plain.ys.shape == (2, 20, 2)
    np.testing.assert_allclose(padded.ys, plain.ys, rtol=1e-5, atol=1e-6)
    assert padded.ok.tolist() == plain.ok.tolist() == [True, True]

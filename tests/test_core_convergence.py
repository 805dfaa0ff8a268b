"""Solver studies: references, orders fitted above the float32 floor, work and cost."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest

import resode_core as rc


class Constant(eqx.Module):
    """du/dt = 1: every consistent method integrates it exactly, u(T) = u(0) + T."""

    def __call__(self, t, u, args):
        return jnp.ones_like(u)


def test_reference_endpoints():
    linear = rc.linear_system(t_span=(0.0, 10.0))
    np.testing.assert_allclose(rc.reference_endpoint(linear, 10.0), linear.exact(10.0))
    # Lotka–Volterra conserves H = δx − γ ln x + βy − α ln y: the reference keeps it to 1e-10.
    lv = rc.lotka_volterra_system()
    end = rc.reference_endpoint(lv, 10.0)

    def h(u):
        return 1.0 * u[0] - 3.0 * np.log(u[0]) + 1.0 * u[1] - 1.5 * np.log(u[1])

    assert abs(h(end) - h(np.array([1.0, 1.0]))) < 1e-10
    spiral = rc.spiral_system()
    float32 = np.asarray(rc.simulate(spiral, spiral.u0, [0.0, 1.5]).ys[-1])
    np.testing.assert_allclose(rc.reference_endpoint(spiral, 1.5), float32, atol=2e-5)


def test_step_count_grid():
    grid = rc.step_count_grid(2, 64, per_doubling=2)
    assert grid[0] == 2 and grid[-1] == 64
    assert np.all(np.diff(grid) > 0)
    assert grid.size == 11  # 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64


def test_fixed_steps_join_up_for_any_step_count():
    # With Δt = T/n not a power of two, the steps must still cover exactly [0, T].
    for solver in ("euler", "rk4"):
        ends = rc.fixed_step_endpoints(Constant(), [0.0], 1.5, [4096, 6502, 10321], solver=solver)
        np.testing.assert_allclose(ends[:, 0], 1.5, atol=2e-6)


def test_fixed_step_study_measures_orders_on_the_linear_system():
    system = rc.linear_system(t_span=(0.0, 10.0))
    counts = rc.step_count_grid(2, 4096, per_doubling=3)
    study = rc.fixed_step_study(system, 10.0, counts, ["euler", "heun", "rk4"])
    assert study["error"].shape == (3 * counts.size,)
    for name, order in (("euler", 1), ("heun", 2), ("rk4", 4)):
        rows = study["solver"] == name
        slope, _, used = rc.convergence_slope(study["dt"][rows], study["error"][rows])
        assert abs(slope - order) < 0.2 and used.sum() >= 4, (name, slope)
        assert np.all(study["error"][rows][used] > 10 * rc.FLOAT32_FLOOR)
    heun = study["solver"] == "heun"
    np.testing.assert_array_equal(study["evaluations"][heun], 2 * counts)


def test_convergence_slope_skips_the_floor_and_the_pre_asymptotic_range():
    dt = 2.0 ** -np.arange(0, 14)
    errors = np.maximum(3.0 * dt**2, 1e-6)  # order 2 until the float32 floor
    errors[0] = 5.0  # a blown-up coarse step, above the ceiling
    slope, intercept, used = rc.convergence_slope(dt, errors)
    assert slope == pytest.approx(2.0, abs=1e-9)
    assert intercept == pytest.approx(np.log(3.0), abs=1e-9)
    assert not used[0] and not used[-1]
    # A stall above the floor (round-off accumulating with n) ends the fit too.
    stalled = 3.0 * dt**2
    stalled[7:] = 8e-4  # stops shrinking after dt[6] (error 7.3e-4)
    slope, _, used = rc.convergence_slope(dt, stalled)
    assert slope == pytest.approx(2.0, abs=1e-9)
    assert used.tolist() == [False] * 3 + [True] * 4 + [False] * 7  # 0.047 … 7.3e-4
    assert np.isnan(rc.convergence_slope(dt[:1], errors[:1])[0])


def test_adaptive_study_trades_work_for_accuracy():
    system = rc.linear_system(t_span=(0.0, 10.0))
    study = rc.adaptive_study(system, 10.0, [1e-3, 1e-5], ["bosh3", "tsit5"])
    for name in ("bosh3", "tsit5"):
        rows = study["solver"] == name
        loose, tight = study["error"][rows]
        assert tight < loose / 10
        assert study["evaluations"][rows][1] > study["evaluations"][rows][0]
        assert np.all(study["ok"][rows])
    with pytest.raises(ValueError):
        rc.adaptive_study(system, 10.0, [1e-3], ["euler"])


def test_time_solve_reports_cost():
    system = rc.linear_system(t_span=(0.0, 10.0))
    cost = rc.time_solve(system, 10.0, solver="rk4", dt=0.1, repeats=2)
    assert cost["ok"] and cost["seconds"] > 0
    assert cost["steps"] == 100 and cost["evaluations"] == 4 * 100 + 1
    np.testing.assert_allclose(cost["end"], system.exact(10.0), atol=1e-5)

"""Many initial conditions at once, and how far learned trajectories drift from true ones."""

import numpy as np
import pytest

import resode_core as rc


def test_solve_many_matches_the_exact_linear_solution():
    system = rc.linear_system()
    u0s = np.array([[1.0, 0.0], [0.0, 2.0], [-1.5, 0.5]])
    ts = np.linspace(0.0, 2.0, 11)
    result = rc.solve_many(system, u0s, ts)
    assert result.ys.shape == (3, 11, 2) and result.ok.all()
    for u0, ys in zip(u0s, result.ys, strict=True):
        exact = np.stack([system.with_u0(u0).exact(t) for t in ts])
        np.testing.assert_allclose(ys, exact, atol=2e-5)


def test_solve_many_agrees_with_simulate_for_fixed_steps():
    system = rc.spiral_system()
    u0s = rc.spread_initial_conditions(5, r_max=1.5)
    ts = np.linspace(0.0, 1.0, 9)
    settings = rc.solver_settings("rk4", dt=0.01)
    many = rc.solve_many(system, u0s, ts, settings)
    for u0, ys in zip(u0s, many.ys, strict=True):
        one = rc.simulate(system, u0, ts, solver="rk4", dt=0.01)
        np.testing.assert_allclose(ys, np.asarray(one.ys), rtol=1e-5, atol=1e-6)


def test_batch_size_and_starts_do_not_recompile(compile_counter):
    system = rc.spiral_system()
    ts = np.linspace(0.0, 1.0, 20)
    rc.solve_many(system, rc.spread_initial_conditions(3), ts)
    compile_counter.count = 0
    rc.solve_many(system, rc.spread_initial_conditions(11, seed=4), ts)  # same bucket (16)
    rc.solve_many(system, rc.spread_initial_conditions(16, r_max=2.0), np.linspace(0, 2.0, 30))
    assert compile_counter.count == 0


def test_a_few_trajectories_share_one_program_for_samples_and_dense_curves(compile_counter):
    # A page solves its 16 samples and its 120-point curves from the same start: padded to
    # the same number of times, the second solve compiles nothing.
    system = rc.linear_system()
    rc.solve_many(system, [[1.0, 0.0]], np.linspace(0.0, 2.0, 16))
    compile_counter.count = 0
    ts = np.linspace(0.0, 2.0, 120)
    dense = rc.solve_many(system, [[0.5, -1.0]], ts)
    assert compile_counter.count == 0
    exact = np.stack([system.with_u0([0.5, -1.0]).exact(t) for t in ts])
    np.testing.assert_allclose(dense.ys[0], exact, atol=2e-5)


def test_blow_up_is_flagged_not_raised():
    # du/dt = Aᵀu³ from far out needs far more than 20 steps: the solve reports failure.
    settings = rc.solver_settings("tsit5", max_steps=20)
    result = rc.solve_many(rc.spiral_system(), [[0.1, 0.0], [30.0, 30.0]], [0.0, 1.5], settings)
    assert result.ok.tolist() == [True, False]


def test_relative_errors():
    true = np.ones((2, 4, 2))
    pred = true.copy()
    pred[1] *= 1.5
    np.testing.assert_allclose(rc.relative_errors(pred, true), [0.0, 0.5])
    pred[0, 0, 0] = np.nan
    assert rc.relative_errors(pred, true)[0] == np.inf
    with pytest.raises(ValueError):
        rc.relative_errors(pred[:1], true)


def test_spread_initial_conditions_cover_the_ring_evenly():
    points = rc.spread_initial_conditions(16, r_min=0.5, r_max=2.5, seed=2)
    radius = np.hypot(points[:, 0], points[:, 1])
    assert points.shape == (16, 2)
    assert radius.min() > 0.5 and radius.max() < 2.5
    # Equal area per point: r² is evenly spaced.
    gaps = np.diff(np.sort(radius**2))
    np.testing.assert_allclose(gaps, gaps[0], rtol=1e-9)
    # Every quarter of the plane gets some of them.
    quadrants = {(x > 0, y > 0) for x, y in points}
    assert len(quadrants) == 4
    with pytest.raises(ValueError):
        rc.spread_initial_conditions(0)


def test_grid_and_field_values():
    grid = rc.grid_points(-1.0, 1.0, 3)
    assert grid.shape == (9, 2)
    np.testing.assert_allclose(grid[:3, 0], [-1.0, 0.0, 1.0])  # x varies fastest
    values = rc.field_on_grid(rc.spiral_system(), grid)
    a = np.array(rc.SPIRAL_MATRIX)
    np.testing.assert_allclose(values, (grid**3) @ a, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_many_trajectories_extrapolate_where_one_does_not():
    """The spiral page's claim: one trajectory misses new starts; sixteen pin the field down."""
    system = rc.spiral_system()
    ts = rc.sample_times()
    settings = rc.solver_settings("tsit5", rtol=1e-5, atol=1e-7)
    held_out = np.array([[1.0, 1.0], [-1.5, 0.5], [0.0, -2.0], [0.7, 0.0], [-1.0, -1.5]])
    truth = rc.solve_many(system, held_out, ts).ys

    def held_out_errors(u0s, epochs, lr, final_fraction):
        data = rc.trajectory_data(ts, rc.solve_many(system, u0s, ts).ys)
        state = rc.init_ode_fit(2, learning_rate=lr)
        state, _, _ = rc.train_ode_streaming(
            state, data, settings, epochs, learning_rate=lr, final_fraction=final_fraction
        )
        return rc.relative_errors(rc.solve_many(state.model, held_out, ts, settings).ys, truth)

    one = held_out_errors(np.array([rc.SPIRAL_U0]), 300, 0.1, 1.0)
    many = held_out_errors(rc.spread_initial_conditions(16, r_max=2.5), 1000, 0.02, 0.05)
    assert np.median(one) > 0.3
    assert np.median(many) < 0.06 and many.max() < 0.12

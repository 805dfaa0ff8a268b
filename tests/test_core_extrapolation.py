"""Many initial conditions at once, and how far learned trajectories drift from true ones."""

import numpy as np
import pytest

import resode_core as rc


def _starts(n, r_max=2.5, seed=0):
    """n random starting points within distance r_max of the origin (any starts will do)."""
    return np.random.default_rng(seed).uniform(-r_max, r_max, size=(n, 2)) / np.sqrt(2)


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
    u0s = _starts(5, r_max=1.5)
    ts = np.linspace(0.0, 1.0, 9)
    settings = rc.SolverSettings("rk4", dt=0.01)
    many = rc.solve_many(system, u0s, ts, settings)
    for u0, ys in zip(u0s, many.ys, strict=True):
        one = rc.simulate(system, u0, ts, solver="rk4", dt=0.01)
        np.testing.assert_allclose(ys, np.asarray(one.ys), rtol=1e-5, atol=1e-6)


def test_batch_size_and_starts_do_not_recompile(compile_counter):
    system = rc.spiral_system()
    ts = np.linspace(0.0, 1.0, 20)
    rc.solve_many(system, _starts(3), ts)
    compile_counter.count = 0
    rc.solve_many(system, _starts(11, seed=4), ts)  # same bucket (16)
    rc.solve_many(system, _starts(16, r_max=2.0), np.linspace(0, 2.0, 30))
    # Other tolerances are runtime values too.
    rc.solve_many(system, _starts(7, seed=1), ts, rc.SolverSettings("tsit5", rtol=1e-4, atol=1e-6))
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
    settings = rc.SolverSettings("tsit5", max_steps=20)
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


def test_field_values_on_a_grid():
    xx, yy = np.meshgrid(np.linspace(-1.0, 1.0, 3), np.linspace(-1.0, 1.0, 3))
    grid = np.stack([xx.ravel(), yy.ravel()], axis=1)
    values = rc.field_on_grid(rc.spiral_system(), grid)
    assert values.shape == (9, 2)
    a = np.array([[-0.1, 2.0], [-2.0, -0.1]])  # the notes' matrix
    np.testing.assert_allclose(values, (grid**3) @ a, rtol=1e-5, atol=1e-6)

"""Study helpers that will move into the app's lesson modules (now in resode_core._legacy).

Step-count grids, fixed-step and adaptive solver studies, timing one solve, spread-out
initial conditions and square grids of points. They are tested through
`resode_core._legacy` so that these tests can move with their lesson.
"""

import numpy as np
import pytest

import resode_core as rc
from resode_core._legacy import (
    adaptive_study,
    fixed_step_study,
    grid_points,
    spread_initial_conditions,
    step_count_grid,
    time_solve,
)

FLOAT32_FLOOR = 1e-6  # where float32 errors of these O(1) systems stop shrinking


def test_step_count_grid():
    grid = step_count_grid(2, 64, per_doubling=2)
    assert grid[0] == 2 and grid[-1] == 64
    assert np.all(np.diff(grid) > 0)
    assert grid.size == 11  # 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64
    np.testing.assert_array_equal(grid, [2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64])
    with pytest.raises(ValueError):
        step_count_grid(8, 4)


def test_fixed_step_study_measures_orders_on_the_linear_system():
    system = rc.linear_system(t_span=(0.0, 10.0))
    counts = step_count_grid(2, 4096, per_doubling=3)
    study = fixed_step_study(system, 10.0, counts, ["euler", "heun", "rk4"])
    assert study["error"].shape == (3 * counts.size,)
    for name, order in (("euler", 1), ("heun", 2), ("rk4", 4)):
        rows = study["solver"] == name
        slope, _, used = rc.convergence_order(study["dt"][rows], study["error"][rows])
        assert abs(slope - order) < 0.2 and used.sum() >= 4, (name, slope)
        assert np.all(study["error"][rows][used] > 10 * FLOAT32_FLOOR)
    heun = study["solver"] == "heun"
    np.testing.assert_array_equal(study["evaluations"][heun], 2 * counts)
    np.testing.assert_allclose(study["dt"][heun], 10.0 / counts)


def test_adaptive_study_trades_work_for_accuracy():
    system = rc.linear_system(t_span=(0.0, 10.0))
    study = adaptive_study(system, 10.0, [1e-3, 1e-5], ["bosh3", "tsit5"])
    for name in ("bosh3", "tsit5"):
        rows = study["solver"] == name
        loose, tight = study["error"][rows]
        assert tight < loose / 10
        assert study["evaluations"][rows][1] > study["evaluations"][rows][0]
        assert np.all(study["ok"][rows])
    with pytest.raises(ValueError, match="error estimate"):
        adaptive_study(system, 10.0, [1e-3], ["euler"])


def test_time_solve_reports_cost():
    system = rc.linear_system(t_span=(0.0, 10.0))
    cost = time_solve(system, 10.0, solver="rk4", dt=0.1, repeats=2)
    assert cost["ok"] and cost["seconds"] > 0
    assert cost["steps"] == 100 and cost["evaluations"] == 4 * 100 + 1
    np.testing.assert_allclose(cost["end"], system.exact(10.0), atol=1e-5)


def test_spread_initial_conditions_cover_the_ring_evenly():
    points = spread_initial_conditions(16, r_min=0.5, r_max=2.5, seed=2)
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
        spread_initial_conditions(0)
    with pytest.raises(ValueError):
        spread_initial_conditions(4, r_min=2.0, r_max=1.0)


def test_grid_points():
    grid = grid_points(-1.0, 1.0, 3)
    assert grid.shape == (9, 2)
    np.testing.assert_allclose(grid[:3, 0], [-1.0, 0.0, 1.0])  # x varies fastest
    np.testing.assert_allclose(grid[::3, 1], [-1.0, 0.0, 1.0])
    with pytest.raises(ValueError):
        grid_points(-1.0, 1.0, 1)
    with pytest.raises(ValueError):
        grid_points(1.0, -1.0, 3)

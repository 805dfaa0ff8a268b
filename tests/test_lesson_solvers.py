"""The solvers lesson's studies: step-count grids, measured orders, work against accuracy,
the cost of one solve (moved here from the core's former study helpers)."""

import numpy as np
import pytest

import resode_core as rc
from resode_ui.lessons import solvers as sv

LINEAR = sv.LINEAR  # du/dt = M u on [0, 10], with its closed-form solution


def test_step_count_grid():
    grid = sv.step_count_grid(2, 64, per_doubling=2)
    np.testing.assert_array_equal(grid, [2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64])
    assert sv.STEP_COUNTS[0] == 2 and sv.STEP_COUNTS[-1] == 16384
    assert np.all(np.diff(sv.STEP_COUNTS) > 0)
    with pytest.raises(ValueError):
        sv.step_count_grid(8, 4)


def test_reference_endpoint_is_the_exact_solution_on_the_linear_system():
    exact = sv.SYSTEMS[LINEAR].exact(10.0)
    np.testing.assert_allclose(sv.reference_endpoint(LINEAR), exact, rtol=1e-12, atol=1e-14)
    # The spiral's DOP853 reference and a tight float32 Tsit5 solve agree to float32 accuracy.
    tight = sv.time_solve(sv.SPIRAL, rc.SolverSettings("tsit5", rtol=1e-7, atol=1e-9), repeats=1)
    assert tight["ok"] and tight["error"] < 1e-4


def test_fixed_step_study_measures_orders_on_the_linear_system():
    counts = sv.STEP_COUNTS
    for name, order in (("euler", 1), ("heun", 2), ("rk4", 4)):
        rows = sv.study(LINEAR, name, sv.FIXED)
        assert len(rows) == counts.size and set(rows["solver"]) == {name}
        slope, _, used = rc.convergence_order(rows["dt"], rows["error"])
        assert abs(slope - order) < 0.2 and used.sum() >= 4, (name, slope)
        assert np.all(rows["error"][used] > 10 * sv.FLOOR)
    heun = sv.study(LINEAR, "heun", sv.FIXED)
    np.testing.assert_array_equal(heun["evaluations"], 2 * counts)
    np.testing.assert_allclose(heun["dt"], 10.0 / counts)
    # Halving Δt for RK4 in its asymptotic range divides the error by about 2⁴.
    rk4 = sv.study(LINEAR, "rk4", sv.FIXED).set_index("steps")["error"]
    assert 10 < rk4[32] / rk4[64] < 25


def test_the_lesson_fits_the_orders_it_shows():
    result = sv.lesson(sv.SolversSettings(solvers=("euler", "heun", "rk4")))
    slopes = result.fixed.slopes.set_index("solver")
    for name, order in (("euler", 1), ("heun", 2), ("rk4", 4)):
        assert abs(slopes.loc[name, "slope"] - order) < 0.2
        assert slopes.loc[name, "points"] >= 4
    assert set(result.fixed.lines["solver"]) == {"euler", "heun", "rk4"}
    # Only Heun adapts; its error falls like evaluations^(−2).
    assert set(result.adaptive.points["solver"]) == {"heun"}
    assert abs(result.adaptive.slopes.set_index("solver").loc["heun", "slope"] - 2) < 0.3
    with pytest.raises(ValueError, match="at least one solver"):
        sv.lesson(sv.SolversSettings(solvers=()))


def test_adaptive_study_trades_work_for_accuracy():
    for name in ("bosh3", "tsit5"):
        rows = sv.study(LINEAR, name, sv.ADAPTIVE).set_index("rtol")
        loose, tight = rows.loc[1e-3], rows.loc[1e-5]
        assert tight["error"] < loose["error"] / 10
        assert tight["evaluations"] > loose["evaluations"]
        assert loose["ok"] and tight["ok"]
    with pytest.raises(ValueError, match="error estimate"):
        sv.study(LINEAR, "euler", sv.ADAPTIVE)


def test_evaluations_needed_is_the_cheapest_run_under_the_target():
    result = sv.lesson(sv.SolversSettings(solvers=("euler", "rk4")))
    needed = sv.evaluations_needed(result.fixed, 1e-4).set_index("solver")["evaluations"]
    rk4 = sv.study(LINEAR, "rk4", sv.FIXED)
    assert needed[rc.SOLVERS["rk4"].label] == rk4[rk4["error"] <= 1e-4]["evaluations"].min()
    assert np.isnan(needed[rc.SOLVERS["euler"].label])  # 16384 Euler steps are not enough


def test_time_solve_reports_cost():
    cost = sv.time_solve(LINEAR, rc.SolverSettings("rk4", dt=0.1), repeats=2)
    assert cost["ok"] and cost["seconds"] > 0
    assert cost["steps"] == 100 and cost["evaluations"] == 4 * 100 + 1
    assert cost["error"] < 1e-5  # against the exact solution at T = 10
    table = sv.cost_table(sv.SolversSettings(solvers=("rk4", "tsit5"), steps=100, rtol=1e-4))
    assert list(table["mode"]) == ["fixed Δt = 0.1", "fixed Δt = 0.1", "adaptive, rtol = 1e-04"]
    assert table["evaluations"].iloc[0] == cost["evaluations"]

"""The solvers lesson's studies: step-count grids, measured orders, work against accuracy,
the cost of one solve (moved here from the core's former study helpers)."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
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
    # One axis for every target of the slider: it holds each bar, with room for its number.
    axis = sv.evaluations_axis(result.fixed)
    every = pd.concat([sv.evaluations_needed(result.fixed, t) for t in sv.TARGETS]).dropna()
    assert axis[0] <= every["evaluations"].min() and 1.5 * every["evaluations"].max() < axis[1]
    assert sv.reference_slopes(("euler", "heun", "rk4", "midpoint")) == (1, 2, 4)


def test_the_evaluations_chart_draws_for_every_preset_and_target():
    """The chart the page draws has bars (or the page says why not) for every preset and
    target: its log axis starts below every bar."""
    for settings in sv.PRESETS.values():
        result = sv.lesson(settings)
        axis = sv.evaluations_axis(result.fixed)
        for target in sv.TARGETS:
            reached = sv.evaluations_needed(result.fixed, target).dropna()
            if reached.empty:
                continue  # the page shows a sentence instead of the chart
            assert axis is not None and axis[0] <= reached["evaluations"].min()
            assert reached["evaluations"].max() <= axis[1]


def test_time_solve_reports_cost():
    cost = sv.time_solve(LINEAR, rc.SolverSettings("rk4", dt=0.1), repeats=2)
    assert cost["ok"] and cost["seconds"] > 0
    assert cost["steps"] == 100 and cost["evaluations"] == 4 * 100  # RK4 reuses no stage
    assert cost["error"] < 1e-5  # against the exact solution at T = 10
    table = sv.cost_table(sv.SolversSettings(solvers=("rk4", "tsit5"), steps=100, rtol=1e-4))
    assert list(table["mode"]) == ["fixed Δt = 0.1", "fixed Δt = 0.1", "adaptive, rtol = 1e-04"]
    assert table["evaluations"].iloc[0] == cost["evaluations"]


@pytest.mark.parametrize("name", ["rk4", "tsit5", "dopri8"])  # no stage reused, FSAL
def test_evaluations_are_what_diffrax_makes(name):
    """Count the right-hand side's calls in a diffrax solve of 25 fixed steps."""
    calls = [0]

    def count():
        calls[0] += 1

    def field(t, u, args):
        jax.debug.callback(count)
        return -u

    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(field), rc.SOLVERS[name].make(), 0.0, 1.0, 0.04, jnp.ones(2)
    )
    jax.block_until_ready(solution.ys)
    assert int(solution.stats["num_steps"]) == 25
    # The core's count of a solve of 25 steps (what the adaptive study and the cost table
    # show), and the fixed-step study's count, which follows it.
    linear = sv.SYSTEMS[LINEAR]
    core = rc.simulate(linear, linear.u0, (0.0, 10.0), solver=name, dt=0.4)
    assert int(core.num_steps) == 25
    assert int(core.num_evaluations) == calls[0] == sv.fixed_evaluations(name, 25)


# ----------------------------------------------------------------------------- the page's sentences


def _preset(label: str):
    settings = sv.PRESETS[label]
    return settings, sv.lesson(settings)


def test_should_see_has_a_note_for_every_preset():
    assert list(sv.SHOULD_SEE) == list(sv.PRESETS)
    assert sv.SPIRAL_PRESET in sv.PRESETS


def test_should_see_default_and_its_question():
    _, result = _preset("Default settings")
    slopes = result.fixed.slopes.set_index("solver")
    orders = {"euler": 1, "heun": 2, "midpoint": 2, "ralston": 2, "bosh3": 3, "rk4": 4}
    for name, order in orders.items():
        assert abs(slopes.loc[name, "slope"] - order) < 0.25, name
    high = ["tsit5", "dopri5", "dopri8"]
    assert slopes.loc[high, "points"].max() < slopes.loc[list(orders), "points"].min()
    # The question asks about RK4; its answer is the option nearest the fitted slope.
    assert sv.question_subject(sv.SolversSettings().solvers) == "rk4"
    truth, observed = sv.slope_answer(result.fixed, "rk4")
    assert truth == "4" and f"is {slopes.loc['rk4', 'slope']:.2f}" in observed
    assert sv.question_subject(("tsit5", "euler")) == "tsit5"
    # What the text under the table says: which fits match their order, which do not.
    sentence = sv.order_sentence(result.fixed)
    match = sentence.split("Within 0.3 of the theory: ")[1].split(".")[0]
    assert {"Euler", "Heun", "Classical RK4"} <= set(match.split(", "))
    assert "Tsitouras 5(4) (6." in sentence.split("Steeper than the theory")[1]
    assert sv.blow_up_sentence(result.fixed, 10.0) is None  # nothing blows up here
    limit = sv.step_limit_sentence(result.adaptive)
    assert limit.startswith("Here: Heun at rtol ≤ 3e-07")
    failed = result.adaptive.points[~result.adaptive.points["ok"]]
    assert set(failed["solver"]) == {"heun", "midpoint", "ralston"}
    assert (failed["steps"] == rc.SolverSettings().max_steps).all()


def test_should_see_euler_vs_tsit5():
    settings, _ = _preset("Euler vs Tsit5 at Δt = 0.1 (100 steps on the linear system)")
    cost = sv.cost_table(settings).set_index(["method", "mode"])
    euler = cost.loc[(rc.SOLVERS["euler"].label, "fixed Δt = 0.1")]
    tsit5 = cost.loc[(rc.SOLVERS["tsit5"].label, "fixed Δt = 0.1")]
    assert euler["steps"] == tsit5["steps"] == 100
    assert (euler["evaluations"], tsit5["evaluations"]) == (100, 6 * 100 + 1)
    assert tsit5["error at T"] < 1e-3 * euler["error at T"]


def test_should_see_orders_1_2_4():
    _, result = _preset("Orders 1, 2 and 4: Euler, Heun and RK4")
    slopes = result.fixed.slopes.set_index("solver")["slope"]
    for name, order in (("euler", 1), ("heun", 2), ("rk4", 4)):
        assert abs(slopes[name] - order) < 0.2
    errors = result.fixed.points.set_index(["solver", "steps"])["error"]
    ratio = {name: errors[name, 256] / errors[name, 512] for name in ("euler", "heun")}
    assert 1.8 < ratio["euler"] < 2.2 and 3.6 < ratio["heun"] < 4.4
    assert 10 < errors["rk4", 32] / errors["rk4", 64] < 25
    assert errors["rk4", 1024] < 10 * sv.FLOOR  # the floor, reached


def test_should_see_the_spiral_blows_up():
    settings, result = _preset(sv.SPIRAL_PRESET)
    points = result.fixed.points
    for name in settings.solvers:  # every method loses points among the largest steps
        large = points[(points["solver"] == name) & (points["steps"] <= 10)]
        assert large["error"].isna().any(), name
    needed = sv.stable_from(result.fixed)
    assert needed["euler"] > 4 * needed.drop("euler").max()
    # Past that count no solve blows up; just before it one did.
    euler = points[points["solver"] == "euler"].set_index("steps")["error"]
    assert euler[euler.index >= needed["euler"]].notna().all()
    assert np.isnan(euler[euler.index < needed["euler"]].iloc[-1])
    sentence = sv.blow_up_sentence(result.fixed, 1.5)
    assert f"Euler n = {needed['euler']} (Δt ≤ {1.5 / needed['euler']:.3g})" in sentence


def test_should_see_adaptive_lotka_volterra():
    settings, result = _preset("Adaptive solvers on Lotka–Volterra: accuracy against work")
    points = result.adaptive.points
    fewest = points[points["error"] <= 1e-4].groupby("solver")["evaluations"].min()
    assert fewest["bosh3"] > 2 * fewest.drop("bosh3").max()
    cost = sv.cost_table(settings)
    adaptive = cost[cost["mode"] == f"adaptive, rtol = {settings.rtol:.0e}"].set_index("method")
    for name in ("bosh3", "tsit5", "dopri5"):
        assert adaptive.loc[rc.SOLVERS[name].label, "error at T"] > 5 * settings.rtol


def test_slope_answer_without_enough_points():
    points = pd.DataFrame({"solver": "rk4", "dt": [1.0, 0.5], "ok": True, "error": [1e-9, 1e-10]})
    study = sv.fitted([points], sv.FIXED)
    assert sv.slope_answer(study, "rk4") is None
    assert "too few to judge: Classical RK4" in sv.order_sentence(study)


def test_the_fixed_step_chart_waits_for_no_adaptive_solve(monkeypatch):
    """The page draws its first chart from the fixed-step studies alone; the adaptive ones
    (of the adaptive solvers among those chosen) come after, for the section further down."""
    asked, real = [], sv.study
    monkeypatch.setattr(
        sv, "study", lambda system, solver, kind: asked.append(kind) or real(system, solver, kind)
    )
    fixed = sv.studies(sv.SolversSettings(solvers=("euler", "rk4")), sv.FIXED)
    assert asked == [sv.FIXED, sv.FIXED]
    assert set(fixed.points["solver"]) == {"euler", "rk4"}
    adaptive = sv.studies(sv.SolversSettings(solvers=("euler", "tsit5")), sv.ADAPTIVE)
    assert asked[2:] == [sv.ADAPTIVE]
    assert set(adaptive.points["solver"]) == {"tsit5"}

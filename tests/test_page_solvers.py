"""The solvers page: measured orders match theory; every widget reruns cleanly."""

import numpy as np

PAGE = "pages/solvers.py"


def _clean(at):
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_defaults_measure_the_orders(open_page):
    at = open_page(PAGE)
    _clean(at)
    slopes = at.session_state["sv_slopes"].set_index("solver")
    for name, order in {
        "euler": 1,
        "heun": 2,
        "midpoint": 2,
        "ralston": 2,
        "bosh3": 3,
        "rk4": 4,
    }.items():
        assert abs(slopes.loc[name, "slope"] - order) < 0.25, (name, slopes.loc[name, "slope"])
        assert slopes.loc[name, "points"] >= 4
    fixed = at.session_state["sv_fixed"]
    assert set(fixed["solver"]) == {
        "euler",
        "heun",
        "midpoint",
        "ralston",
        "bosh3",
        "rk4",
        "tsit5",
        "dopri5",
        "dopri8",
    }
    # Halving Δt for RK4 in its asymptotic range divides the error by about 2⁴.
    rk4 = fixed[fixed["solver"] == "rk4"].set_index("steps")["error"]
    assert 10 < rk4[32] / rk4[64] < 25
    adaptive = at.session_state["sv_adaptive"]
    assert "euler" not in set(adaptive["solver"]) and "rk4" not in set(adaptive["solver"])
    tsit5 = adaptive[adaptive["solver"] == "tsit5"].sort_values("rtol")
    assert tsit5["evaluations"].iloc[0] > tsit5["evaluations"].iloc[-1]  # tighter costs more
    cost = at.session_state["sv_cost"]
    assert len(cost) == 9 + 7 and np.all(cost["evaluations"] > 0)


def test_each_widget_reruns_cleanly(open_page):
    at = open_page(PAGE)
    at.multiselect(key="sv_solvers").set_value(["euler", "rk4", "tsit5"]).run()
    _clean(at)
    assert set(at.session_state["sv_fixed"]["solver"]) == {"euler", "rk4", "tsit5"}
    at.select_slider(key="sv_target").set_value(1e-3).run()
    _clean(at)
    at.select_slider(key="sv_steps").set_value(256).run()
    _clean(at)
    cost = at.session_state["sv_cost"]
    assert cost[cost["method"].str.startswith("Euler")]["steps"].iloc[0] == 256
    at.select_slider(key="sv_rtol").set_value(1e-4).run()
    _clean(at)
    at.radio(key="sv_system").set_value("Spiral (the notes' test equation)").run()
    _clean(at)
    slopes = at.session_state["sv_slopes"].set_index("solver")
    assert abs(slopes.loc["rk4", "slope"] - 4) < 1.0
    at.radio(key="sv_system").set_value("Lotka–Volterra").run()
    _clean(at)
    slopes = at.session_state["sv_slopes"].set_index("solver")
    assert abs(slopes.loc["euler", "slope"] - 1) < 0.2
    # No solver chosen: a readable message, no traceback.
    at.multiselect(key="sv_solvers").set_value([]).run()
    assert not at.exception
    assert len(at.error) == 1

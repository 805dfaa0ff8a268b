"""The solvers page: measured orders match theory; every widget reruns cleanly; links and
presets carry the settings; the text's numbers come from the solvers themselves."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
from page_data import chart_frames
from streamlit.testing.v1 import AppTest

import resode_core as rc
from resode_ui.lessons import solvers as sv

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "solvers.py")
LABEL = {name: info.label for name, info in rc.SOLVERS.items()}


def _page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.query_params.update(query or {})
    return at.run()


def _clean(at):
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _table(at, column: str) -> pd.DataFrame:
    """The shown table that has `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _orders(at) -> pd.DataFrame:
    return _table(at, "fitted order").set_index("method")


def _cost(at) -> pd.DataFrame:
    return _table(at, "time (ms)")


def _points(at, x: str) -> pd.DataFrame:
    """The measured points of the convergence chart whose x axis is `x` (dt or rtol)."""
    frame = next(f for f in chart_frames(at) if x in f.columns)
    return frame[frame["steps"].notna()]


def test_defaults_measure_the_orders(open_page, monkeypatch):
    at = open_page(PAGE)
    _clean(at)
    # The question is asked before the chart; the reveal waits for an answer.
    assert at.radio(key="sv_question").value is None
    assert any("Make your prediction" in c.value for c in at.caption)
    assert any(sv.SHOULD_SEE["Default settings"] in c.value for c in at.caption)
    orders = _orders(at)
    for name, order in {"euler": 1, "heun": 2, "midpoint": 2, "ralston": 2, "bosh3": 3}.items():
        assert abs(float(orders.loc[LABEL[name], "fitted order"]) - order) < 0.25, name
        assert orders.loc[LABEL[name], "points"] >= 4
    assert abs(float(orders.loc[LABEL["rk4"], "fitted order"]) - 4) < 0.25
    fixed = _points(at, "dt")
    assert set(fixed["solver"]) == set(rc.SOLVER_NAMES)
    # Halving Δt for RK4 in its asymptotic range divides the error by about 2⁴.
    rk4 = fixed[fixed["solver"] == "rk4"].set_index("steps")["error"]
    assert 10 < rk4[32] / rk4[64] < 25
    adaptive = _points(at, "rtol")
    assert not {"euler", "rk4"} & set(adaptive["solver"])
    tsit5 = adaptive[adaptive["solver"] == "tsit5"].sort_values("rtol")
    assert tsit5["evaluations"].iloc[0] > tsit5["evaluations"].iloc[-1]  # tighter costs more
    assert any(f"≤ {sv.STEP_COUNTS[-1]} steps: {LABEL['euler']}." in c.value for c in at.caption)
    work = _table(at, "rtols that hit the step limit")
    assert LABEL["euler"] not in set(work["method"])
    assert (work["error ∝ evaluations^(−q), q"].astype(float) > 1).all()  # error falls with work
    cost = _cost(at)
    assert len(cost) == 9 + 7 and np.all(cost["evaluations"] > 0)

    # Answering reruns the page from the caches: nothing is solved again.
    solves = []
    for name in ("fixed_step_endpoints", "simulate"):
        solve = getattr(rc, name)
        monkeypatch.setattr(
            rc, name, lambda *a, _solve=solve, **k: solves.append(1) or _solve(*a, **k)
        )
    slope = float(_orders(at).loc[LABEL["rk4"], "fitted order"])
    at.radio(key="sv_question").set_value("4").run()
    _clean(at)
    assert f"fitted slope for Classical RK4 is {slope:.2f}" in at.success[0].value
    at.radio(key="sv_question").set_value("1").run()
    assert any("So the answer here is **4**" in box.value for box in at.info)
    assert not solves


def test_the_first_screen_and_presenter_mode(open_page):
    """Question, the two main controls and the main chart come first; the rest is in 'More'
    in presenter mode, and a preset's note shows only while its settings are on screen."""
    at = open_page(PAGE)
    assert at.sidebar.selectbox(key="sv_preset").value == "Default settings"
    main = [type(e).__name__ for e in at.main]
    assert main.index("Radio") < main.index("Multiselect")  # the question, then the controls
    frames = chart_frames(at)
    assert "dt" in frames[0] and set(frames[0].dropna(subset=["steps"])["solver"]) == set(
        rc.SOLVER_NAMES
    )
    at.session_state["present"] = True
    at.run()
    _clean(at)
    more = next(e for e in at.expander if e.label.startswith("More"))
    assert len(more.get("vega_lite_chart")) == 2  # the bars and the adaptive chart
    assert len(at.get("vega_lite_chart")) == 3
    at.session_state["present"] = False
    at.select_slider(key="sv_steps").set_value(100).run()  # no longer the defaults
    assert not any(sv.SHOULD_SEE["Default settings"] in c.value for c in at.caption)


def test_the_evaluation_counts_in_the_text_are_the_solvers_own(open_page):
    at = open_page(PAGE)
    intro = next(m.value for m in at.markdown if "evaluations of the right-hand side" in m.value)
    counts = dict(re.findall(r"(Euler|Heun|RK4|Tsit5|Dopri8) (\d+)", intro))
    assert counts == {
        short: str(rc.SOLVERS[short.lower()].evaluations_per_step)
        for short in ("Euler", "Heun", "RK4", "Tsit5", "Dopri8")
    }
    assert counts["Dopri8"] == "13"


def test_each_widget_reruns_cleanly(open_page, compile_counter):
    at = open_page(PAGE)
    _clean(at)
    # Moving the target, the steps or the tolerance compiles nothing new.
    compile_counter.count = 0
    at.select_slider(key="sv_target").set_value(1e-3).run()
    _clean(at)
    bars = next(f for f in chart_frames(at) if list(f.columns) == ["solver", "evaluations"])
    assert LABEL["euler"] in set(bars["solver"])  # 1e-4 is out of Euler's reach, 1e-3 is not
    at.select_slider(key="sv_steps").set_value(256).run()
    _clean(at)
    cost = _cost(at)
    assert cost[cost["method"] == LABEL["euler"]]["steps"].iloc[0] == 256
    at.select_slider(key="sv_rtol").set_value(1e-4).run()
    _clean(at)
    assert compile_counter.count == 0
    at.multiselect(key="sv_solvers").set_value(["euler", "rk4", "tsit5"]).run()
    _clean(at)
    assert set(_points(at, "dt")["solver"]) == {"euler", "rk4", "tsit5"}
    at.radio(key="sv_system").set_value(sv.SPIRAL).run()
    _clean(at)
    assert abs(float(_orders(at).loc[LABEL["rk4"], "fitted order"]) - 4) < 1.0
    at.radio(key="sv_system").set_value(sv.LOTKA).run()
    _clean(at)
    assert abs(float(_orders(at).loc[LABEL["euler"], "fitted order"]) - 1) < 0.2
    # Only fixed-step solvers: the adaptive section says so.
    at.multiselect(key="sv_solvers").set_value(["euler", "rk4"]).run()
    _clean(at)
    assert any("None of the chosen solvers is adaptive" in c.value for c in at.caption)
    # No solver chosen: a readable message, no traceback.
    at.multiselect(key="sv_solvers").set_value([]).run()
    assert not at.exception
    assert len(at.error) == 1


LINK = {  # a shared link: the bound widgets' keys, with the values as the widgets show them
    "sv_system": sv.SPIRAL,
    "sv_solvers": [LABEL["euler"], LABEL["rk4"], LABEL["tsit5"]],
    "sv_target": "1e-03",
    "sv_steps": "100",
    "sv_rtol": "1e-04",
}


def test_a_link_reproduces_the_study():
    by_hand = _page()
    by_hand.radio(key="sv_system").set_value(sv.SPIRAL)
    by_hand.multiselect(key="sv_solvers").set_value(["euler", "rk4", "tsit5"])
    by_hand.select_slider(key="sv_target").set_value(1e-3)
    by_hand.select_slider(key="sv_steps").set_value(100)
    by_hand.select_slider(key="sv_rtol").set_value(1e-4).run()
    _clean(by_hand)
    at = _page(LINK)
    _clean(at)
    assert not at.warning
    assert at.radio(key="sv_system").value == sv.SPIRAL
    assert at.multiselect(key="sv_solvers").value == ["euler", "rk4", "tsit5"]
    assert at.select_slider(key="sv_target").value == 1e-3
    assert at.select_slider(key="sv_steps").value == 100
    assert at.select_slider(key="sv_rtol").value == 1e-4
    for shown, expected in zip(chart_frames(at), chart_frames(by_hand), strict=True):
        pd.testing.assert_frame_equal(shown, expected)
    pd.testing.assert_frame_equal(_orders(at), _orders(by_hand))
    columns = ["method", "mode", "steps", "evaluations", "error at T"]
    pd.testing.assert_frame_equal(_cost(at)[columns], _cost(by_hand)[columns])


def test_preset_euler_vs_tsit5_at_dt_0_1(open_page):
    at = open_page(PAGE)
    label = "Euler vs Tsit5 at Δt = 0.1 (100 steps on the linear system)"
    at.selectbox(key="sv_preset").select(label).run()
    _clean(at)
    assert at.multiselect(key="sv_solvers").value == ["euler", "tsit5"]
    # The preset's settings that differ from the defaults are now in the address.
    assert dict(at.query_params) == {
        "sv_solvers": [LABEL["euler"], LABEL["tsit5"]],
        "sv_steps": "100",
    }
    cost = _cost(at).set_index(["method", "mode"])
    euler = cost.loc[(LABEL["euler"], "fixed Δt = 0.1")]
    tsit5 = cost.loc[(LABEL["tsit5"], "fixed Δt = 0.1")]
    assert euler["steps"] == tsit5["steps"] == 100
    assert 5.5 < tsit5["evaluations"] / euler["evaluations"] < 6.5  # 6 stages per step vs 1
    # Six times the work, and many orders of magnitude more accurate.
    assert tsit5["error at T"] < 1e-3 * euler["error at T"]


def test_a_tampered_link_falls_back_to_the_defaults():
    query = {
        "sv_system": "mars",
        "sv_solvers": [LABEL["euler"], "dopri99"],
        "sv_steps": "99",
        "sv_rtol": "1e-99",
        "sv_target": "abc",
        "hide": "controls",
    }
    at = _page(query)
    _clean(at)
    assert at.radio(key="sv_system").value == sv.LINEAR
    assert at.multiselect(key="sv_solvers").value == ["euler"]  # the valid part is kept
    assert at.select_slider(key="sv_steps").value == 64
    assert at.select_slider(key="sv_rtol").value == 1e-6
    assert at.select_slider(key="sv_target").value == 1e-4
    # `hide=controls` folds the settings away; the invalid values leave the address.
    assert at.expander[0].label == "Settings (hidden by this link)"
    assert set(at.query_params) == {"sv_solvers", "hide"}

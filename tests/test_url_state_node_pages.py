"""Settings in the URL on the five neural-ODE pages: links, presets, tampered addresses.

For each page: set a few widgets, read `at.query_params`, open a fresh AppTest with those
parameters and check that it shows the same values and the same numbers (same seed, same
fit); open a preset link and check its lesson shows; open a tampered link and check that it
gives one notice, the defaults for what was bad, and no exception. Settings are small
(few epochs, few depths, few solvers) to keep the file quick; st.cache_data is shared by
the AppTests of one process, so a fresh session often re-uses the first one's results.
"""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import resode_core as rc
from resode_ui import url_state as us

ROOT = Path(__file__).resolve().parents[1]
SPIRAL = "pages/spiral.py"
LOTKA = "pages/lotka_volterra.py"
SOLVERS = "pages/solvers.py"
FLOW = "pages/regression_flow.py"
DEPTH = "pages/resnet_vs_node.py"
RUN_TIMEOUT = 240  # a cold start compiles solvers; later runs take a second or two


def _page(path: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=RUN_TIMEOUT)
    at.query_params.update(query or {})
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _metrics(at: AppTest, skip: tuple[str, ...] = ("time",)) -> dict[str, str]:
    """Shown metrics, without those that measure wall time (they differ run to run)."""
    return {m.label: m.value for m in at.metric if not any(s in m.label.lower() for s in skip)}


def _notice(at: AppTest) -> str:
    notices = [w.value for w in at.warning if "This link contained settings" in w.value]
    assert len(notices) == 1, [w.value for w in at.warning]
    return notices[0]


# ----------------------------------------------------------------------------- spiral


def test_spiral_link_reproduces_the_fit():
    at = _page(SPIRAL, {"epochs": "10"})
    _ok(at)
    # Several widgets in one rerun (as a quick student would): one retraining, not eight.
    at.slider(key="sp_samples").set_value(12)
    at.checkbox(key="sp_uneven").check()
    at.slider(key="sp_noise").set_value(0.02)
    at.number_input(key="sp_seed").set_value(3)
    at.select_slider(key="sp_lr").set_value(0.05)
    at.select_slider(key="sp_decay").set_value(0.3)
    at.slider(key="sp_x_u1").set_value(-1.0)
    at.slider(key="sp_x_horizon").set_value(2.0).run()
    _ok(at)
    query = dict(at.query_params)
    assert query == {
        "samples": "12",
        "uneven": "1",
        "noise": "0.02",
        "seed": "3",
        "epochs": "10",
        "lr": "0.05",
        "decay": "0.3",
        "x_u1": "-1",
        "x_horizon": "2",
    }
    fresh = _page(SPIRAL, query)
    _ok(fresh)
    assert not fresh.warning
    assert fresh.slider(key="sp_noise").value == pytest.approx(0.02)
    assert fresh.number_input(key="sp_seed").value == 3
    assert fresh.checkbox(key="sp_uneven").value is True
    assert fresh.select_slider(key="sp_decay").value == 0.3
    assert fresh.slider(key="sp_x_u1").value == -1.0
    # A new session retrains from the link: same seed, same numbers.
    assert _metrics(fresh) == _metrics(at)
    assert _metrics(fresh)["Epochs run"] == "10"
    assert fresh.query_params == at.query_params


def test_spiral_preset_compares_25_and_300_epochs_and_keeps_extrapolation():
    at = _page(SPIRAL, {"x_u1": "-1.5"})
    _ok(at)
    labels = at.selectbox(key="sp_preset").options
    assert labels[0].startswith("The notes' set-up") and "One trajectory, 300 epochs" in labels
    at.selectbox(key="sp_preset").select("The notes' spiral: 25 vs 300 epochs side by side").run()
    _ok(at)
    assert at.toggle(key="sp_compare").value is True
    assert at.slider(key="sp_epochs").value == 25 and at.slider(key="sp_b_epochs").value == 300
    assert at.slider(key="sp_x_u1").value == -1.5  # extrapolation controls stay put
    assert at.query_params == {"preset": "notes-25-vs-300", "x_u1": "-1.5"}
    compared = at.session_state["sp_compared"]
    assert (compared["A"]["epochs"], compared["B"]["epochs"]) == (25, 300)
    # 300 epochs fit the notes' trajectory far better than 25 ...
    assert compared["B"]["final_loss"] < compared["A"]["final_loss"] / 5
    assert compared["B"]["own_pct"] < compared["A"]["own_pct"] / 2
    # ... but away from it the field is still a guess.
    assert compared["B"]["grid_median_pct"] > 30
    fresh = _page(SPIRAL, dict(at.query_params))
    _ok(fresh)
    assert fresh.selectbox(key="sp_preset").value.startswith("The notes' spiral: 25 vs 300")
    assert fresh.session_state["sp_compared"] == compared
    # Back to the notes' default: only the moved extrapolation control stays in the link.
    fresh.selectbox(key="sp_preset").select(fresh.selectbox(key="sp_preset").options[0]).run()
    _ok(fresh)
    assert fresh.toggle(key="sp_compare").value is False
    assert fresh.query_params == {"x_u1": "-1.5"}


def test_spiral_tampered_link_falls_back_to_defaults():
    at = _page(
        SPIRAL,
        {
            "epochs": "7",  # not on the slider's grid of 5
            "solver": "rk45",
            "x_u1": "9",
            "lr": "nan",
            "evil": "1",
            "preset": "nope",
            "dt": "0.02",  # valid: kept
        },
    )
    _ok(at)
    notice = _notice(at)
    for name in ("epochs", "solver", "x_u1", "lr", "evil", "preset"):
        assert f"`{name}" in notice
    assert at.slider(key="sp_epochs").value == 25
    assert at.selectbox(key="sp_solver").value == "tsit5"
    assert at.slider(key="sp_x_u1").value == 1.0
    assert at.select_slider(key="sp_dt").value == 0.02
    assert _metrics(at)["Epochs run"] == "25"
    assert at.query_params == {"dt": "0.02"}  # the cleaned link replaces the tampered one


# ----------------------------------------------------------------------------- Lotka–Volterra


def test_lotka_volterra_link_reproduces_the_fit():
    at = _page(LOTKA, {"epochs": "100"})
    _ok(at)
    at.slider(key="lv_alpha").set_value(1.2)
    at.slider(key="lv_window").set_value(4.0)
    at.slider(key="lv_samples").set_value(24)
    at.slider(key="lv_noise").set_value(0.05)
    at.select_slider(key="lv_lr").set_value(0.05)
    at.checkbox(key="lv_grow").uncheck()
    at.number_input(key="lv_seed").set_value(2)
    at.slider(key="lv_horizon").set_value(20.0).run()
    _ok(at)
    query = dict(at.query_params)
    assert query == {
        "alpha": "1.2",
        "window": "4",
        "samples": "24",
        "noise": "0.05",
        "epochs": "100",
        "lr": "0.05",
        "grow": "0",
        "seed": "2",
        "horizon": "20",
    }
    fresh = _page(LOTKA, query)
    _ok(fresh)
    assert not fresh.warning
    assert fresh.slider(key="lv_alpha").value == pytest.approx(1.2)
    assert fresh.checkbox(key="lv_grow").value is False
    assert fresh.session_state["lv_errors"] == at.session_state["lv_errors"]
    assert _metrics(fresh) == _metrics(at)
    assert fresh.query_params == at.query_params


def test_lotka_volterra_short_window_preset_with_hidden_controls():
    at = _page(LOTKA, {"preset": "short-window", "hide": "controls"})
    _ok(at)
    assert len(at.slider) == 0 and len(at.selectbox) == 0  # a student's view: results only
    assert any("hides their controls" in c.value for c in at.caption)
    errors = at.session_state["lv_errors"]
    data = at.session_state["lv_series"].query("source == 'data'")
    assert data["t"].max() == 2.0
    # Less than one cycle seen: fine inside the window, far off beyond it.
    assert errors["window"] < 0.1 and errors["beyond"] > 5 * errors["window"]
    assert at.query_params == {"preset": "short-window", "hide": "controls"}
    at.button(key="lv_show_all").click().run()
    _ok(at)
    assert at.slider(key="lv_window").value == 2.0
    assert at.query_params == {"preset": "short-window"}


def test_lotka_volterra_tampered_link_falls_back_to_defaults():
    at = _page(
        LOTKA,
        {"epochs": "100", "window": "13", "grow": "maybe", "lr": "0.03", "seed": "-1", "x": "y"},
    )
    _ok(at)
    notice = _notice(at)
    for name in ("window", "grow", "lr", "seed", "x"):
        assert f"`{name}" in notice
    assert at.slider(key="lv_epochs").value == 100
    assert at.slider(key="lv_window").value == 5.0
    assert at.checkbox(key="lv_grow").value is True
    assert at.query_params == {"epochs": "100"}


# ----------------------------------------------------------------------------- solvers


def test_solvers_link_reproduces_the_study():
    at = _page(SOLVERS, {"solvers": "euler,rk4"})
    _ok(at)
    at.radio(key="sv_system").set_value("Spiral (the notes' test equation)")
    at.multiselect(key="sv_solvers").set_value(["euler", "rk4", "tsit5"])
    at.select_slider(key="sv_target").set_value(1e-3)
    at.select_slider(key="sv_steps").set_value(100)
    at.select_slider(key="sv_rtol").set_value(1e-4).run()
    _ok(at)
    query = dict(at.query_params)
    assert query == {
        "system": "spiral",
        "solvers": "euler,rk4,tsit5",
        "target": "0.001",
        "steps": "100",
        "rtol": "0.0001",
    }
    fresh = _page(SOLVERS, query)
    _ok(fresh)
    assert not fresh.warning
    assert fresh.radio(key="sv_system").value.startswith("Spiral")
    assert fresh.multiselect(key="sv_solvers").value == ["euler", "rk4", "tsit5"]
    for key in ("sv_fixed", "sv_slopes"):
        assert fresh.session_state[key].equals(at.session_state[key]), key
    columns = ["method", "mode", "steps", "evaluations", "error at T"]
    assert fresh.session_state["sv_cost"][columns].equals(at.session_state["sv_cost"][columns])
    assert fresh.query_params == at.query_params


def test_solvers_preset_euler_vs_tsit5_at_dt_0_1():
    at = _page(SOLVERS, {"preset": "euler-tsit5"})
    _ok(at)
    assert at.multiselect(key="sv_solvers").value == ["euler", "tsit5"]
    cost = at.session_state["sv_cost"].set_index(["method", "mode"])
    euler = cost.loc[(rc.SOLVERS["euler"].label, "fixed Δt = 0.1")]
    tsit5 = cost.loc[(rc.SOLVERS["tsit5"].label, "fixed Δt = 0.1")]
    assert euler["steps"] == tsit5["steps"] == 100
    assert 5.5 < tsit5["evaluations"] / euler["evaluations"] < 6.5  # 6 stages per step vs 1
    # Six times the work, and many orders of magnitude more accurate.
    assert tsit5["error at T"] < 1e-3 * euler["error at T"]
    assert at.query_params == {"preset": "euler-tsit5"}


def test_solvers_tampered_link_falls_back_to_defaults():
    at = _page(
        SOLVERS,
        {
            "solvers": "euler,rk4",
            "system": "mars",
            "steps": "99",
            "rtol": "1e-99",
            "target": "abc",
            "hide": "system,nothing",
        },
    )
    _ok(at)
    notice = _notice(at)
    for name in ("system", "steps", "rtol", "target", "hide"):
        assert f"`{name}" in notice
    assert len(at.radio) == 0  # `hide=system` is still honoured
    assert at.select_slider(key="sv_steps").value == 64
    assert at.query_params == {"solvers": "euler,rk4", "hide": "system"}


# ----------------------------------------------------------------------------- regression flow


def test_regression_flow_link_reproduces_the_fits():
    at = _page(FLOW, {"epochs": "100"})
    _ok(at)
    at.slider(key="rf_points").set_value(8)
    at.slider(key="rf_blocks").set_value(2)
    at.number_input(key="rf_seed").set_value(1)
    at.slider(key="rf_extra").set_value(2).run()
    _ok(at)
    query = dict(at.query_params)
    assert query == {"points": "8", "extra": "2", "blocks": "2", "epochs": "100", "seed": "1"}
    fresh = _page(FLOW, query)
    _ok(fresh)
    assert fresh.slider(key="rf_extra").value == 2
    assert fresh.session_state["rf_results"] == at.session_state["rf_results"]
    assert _metrics(fresh) == _metrics(at)
    assert fresh.query_params == at.query_params


def test_regression_flow_presets_fail_then_fix():
    at = _page(FLOW, {"preset": "augmented"})
    _ok(at)
    assert at.query_params == {"preset": "augmented"}
    mse = at.session_state["rf_results"]
    assert mse["node"] > 0.3 and mse["augmented"] < 0.02  # y = −x: stuck in 1-D, fixed by +1
    at.selectbox(key="rf_preset").select(
        "Swap the rings: the 2-D flow fails too, two extra dimensions fix it"
    ).run()
    _ok(at)
    assert at.selectbox(key="rf_task").value == "swap the rings (inner ↔ outer)"
    assert at.query_params == {"preset": "rings"}
    mse = at.session_state["rf_results"]
    assert mse["augmented"] < mse["node"] / 5


def test_regression_flow_tampered_link_falls_back_to_defaults():
    at = _page(FLOW, {"task": "<script>alert(1)</script>", "extra": "9", "epochs": "100"})
    _ok(at)
    notice = _notice(at)
    assert "`task=" in notice and "`extra=9`" in notice
    assert at.selectbox(key="rf_task").value == "reflection y = −x"
    assert at.slider(key="rf_extra").value == 1
    assert at.query_params == {"epochs": "100"}


# ----------------------------------------------------------------------------- ResNet vs NODE


def test_resnet_vs_node_link_reproduces_the_measurements():
    at = _page(DEPTH, {"depths": "4,8"})
    _ok(at)
    at.multiselect(key="rn_depths").set_value([4, 16])
    at.select_slider(key="rn_rtol").set_value(1e-3).run()
    _ok(at)
    query = dict(at.query_params)
    assert query == {"depths": "4,16", "rtol": "0.001"}
    fresh = _page(DEPTH, query)
    _ok(fresh)
    assert fresh.multiselect(key="rn_depths").value == [4, 16]
    columns = ["L", "model", "params", "memory_kib", "temp_kib"]
    assert fresh.session_state["rn_table"][columns].equals(at.session_state["rn_table"][columns])
    np.testing.assert_array_equal(
        fresh.session_state["rn_agreement"]["difference"],
        at.session_state["rn_agreement"]["difference"],
    )
    assert (
        fresh.session_state["rn_adjoint"]["relative_difference"]
        == at.session_state["rn_adjoint"]["relative_difference"]
    )
    assert fresh.query_params == at.query_params


def test_resnet_vs_node_preset_and_tampered_link():
    at = _page(DEPTH, {"preset": "loose-adjoint", "depths": "4,8"})
    _ok(at)
    assert at.select_slider(key="rn_rtol").value == 1e-2
    loose = at.session_state["rn_adjoint"]["relative_difference"]
    assert loose > 1e-4  # the adjoint's backward solve is only as good as its tolerance
    assert at.query_params == {"preset": "loose-adjoint", "depths": "4,8"}
    # Bad values next to a valid one (the default depths would compile L = 512 three times).
    bad = _page(DEPTH, {"depths": "4,8", "width": "12", "rtol": "1e-9", "preset": "x", "a": "b"})
    _ok(bad)
    notice = _notice(bad)
    for name in ("width", "rtol", "preset", "a"):
        assert f"`{name}" in notice
    assert bad.multiselect(key="rn_depths").value == [4, 8]
    assert bad.select_slider(key="rn_width").value == 16
    assert bad.select_slider(key="rn_rtol").value == 1e-5
    assert bad.query_params == {"depths": "4,8"}


# ----------------------------------------------------------------------------- PageState options

KEEP_SCRIPT = """
import streamlit as st
from resode_ui import url_state as us

STATE = us.PageState(
    "tk",
    [us.Int("tk_epochs", 25, 5, 3000, 5), us.Float("tk_u1", 1.0, -2.5, 2.5, 0.1)],
    presets=[us.Preset("long", "Long", {"tk_epochs": 300})],
    default_label="The notes' set-up",
    keep=("tk_u1",),
)
STATE.sync()
STATE.controls()
epochs = STATE.widget(st.slider, "epochs", 5, 3000, step=5, key="tk_epochs")
u1 = STATE.widget(st.slider, "u1", -2.5, 2.5, step=0.1, key="tk_u1")
st.markdown(f"result {epochs} {u1:g}")
"""


def test_default_label_and_kept_controls():
    import sys

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    at = AppTest.from_string(KEEP_SCRIPT, default_timeout=30).run()
    assert at.selectbox(key="tk_preset").options == ["The notes' set-up", "Long"]
    assert at.selectbox(key="tk_preset").value == "The notes' set-up"
    at.slider(key="tk_u1").set_value(-1.5).run()
    at.selectbox(key="tk_preset").select("Long").run()
    assert at.slider(key="tk_epochs").value == 300
    assert at.slider(key="tk_u1").value == -1.5  # kept: the preset does not set it
    assert at.query_params == {"preset": "long", "u1": "-1.5"}
    at.selectbox(key="tk_preset").select("The notes' set-up").run()
    assert at.slider(key="tk_epochs").value == 25 and at.query_params == {"u1": "-1.5"}
    epochs = [us.Int("tk_epochs", 25, 5, 3000, 5)]
    with pytest.raises(ValueError):
        us.PageState("tk", epochs, [us.Preset("p", "Same")], default_label="Same")
    with pytest.raises(ValueError):
        us.PageState("tk", epochs, keep=("tk_nothing",))

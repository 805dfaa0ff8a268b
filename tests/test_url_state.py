"""Settings in the URL (resode_ui/url_state.py): parsing, links, presets, hidden controls.

The first half checks the pure parser; the second drives a tiny page and two real pages
with AppTest: set widgets, read `at.query_params`, open a fresh AppTest with those
parameters, and check that it shows the same values and the same result.
"""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from resode_ui import url_state as us

ROOT = Path(__file__).resolve().parents[1]

SPEC = us.PageSpec(
    "ts",
    [
        us.Int("ts_depth", 50, 2, 128),
        us.Int("ts_epochs", 300, 0, 1000, 50),
        us.Float("ts_scale", 0.8, 0.1, 2.0, 0.05),
        us.Choice("ts_act", "tanh", ("tanh", "sigmoid", "relu")),
        us.Choice("ts_lr", 3e-3, (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)),
        us.Choice("ts_branch", "h = 1/√L", ("h = 1/√L", "h = 1"), tokens={"h = 1/√L": "sqrt"}),
        us.Multi("ts_solvers", ("euler", "rk4"), ("euler", "midpoint", "rk4")),
        us.Flag("ts_compare", False),
    ],
    presets=[us.Preset("deep", "Depth 100 with ReLU", {"ts_depth": 100, "ts_act": "relu"})],
)


# ----------------------------------------------------------------------------- pure parser


def test_names_drop_the_page_prefix_and_defaults_write_nothing():
    assert set(SPEC.names) == {
        "depth",
        "epochs",
        "scale",
        "act",
        "lr",
        "branch",
        "solvers",
        "compare",
    }
    assert SPEC.encode_values(SPEC.defaults, None) == {}


def test_round_trip_of_every_kind():
    values = {
        **SPEC.defaults,
        "ts_depth": 7,
        "ts_scale": 1.25,
        "ts_lr": 1e-4,
        "ts_branch": "h = 1",
        "ts_solvers": [],
        "ts_compare": True,
    }
    query = SPEC.encode_values(values, None)
    assert query == {
        "depth": "7",
        "scale": "1.25",
        "lr": "0.0001",
        "branch": "h = 1",
        "solvers": "none",
        "compare": "1",
    }
    restored = SPEC.parse_query(query)
    assert restored.problems == []
    assert restored.values == values


def test_equivalent_spellings_are_accepted():
    restored = SPEC.parse_query(
        {"lr": "1e-3", "compare": "true", "branch": "SQRT", "solvers": "rk4,euler", "scale": "0.87"}
    )
    assert restored.problems == []
    assert restored.values["ts_lr"] == 1e-3
    assert restored.values["ts_compare"] is True
    assert restored.values["ts_solvers"] == ["rk4", "euler"]
    assert restored.values["ts_scale"] == pytest.approx(0.85)  # snapped to the slider's step


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("depth", "abc"),
        ("depth", "1"),
        ("depth", "50.5"),
        ("depth", "9" * 30),
        ("epochs", "330"),
        ("scale", "nan"),
        ("scale", "inf"),
        ("scale", "3"),
        ("act", "__import__('os').system('x')"),
        ("lr", "0.5"),
        ("solvers", "euler,euler"),
        ("solvers", "euler,dopri99"),
        ("compare", "maybe"),
        ("depth", "1" * 300),
    ],
)
def test_bad_values_fall_back_to_the_default_with_a_named_problem(name, text):
    restored = SPEC.parse_query({name: text})
    key = SPEC.names[name]
    assert restored.values[key] == SPEC.defaults[key]
    assert len(restored.problems) == 1 and f"`{name}" in restored.problems[0]


def test_unknown_parameters_presets_and_hide_names_are_reported():
    restored = SPEC.parse_query({"foo": "1", "preset": "nope", "hide": "depth,zzz", "depth": "60"})
    assert restored.values["ts_depth"] == 60
    assert restored.hidden == frozenset({"ts_depth"})
    text = " ".join(restored.problems)
    assert "`foo`" in text and "preset=nope" in text and "zzz" in text


def test_presets_apply_first_and_links_store_only_the_difference():
    restored = SPEC.parse_query({"preset": "deep", "act": "tanh"})
    assert restored.problems == []
    assert restored.values["ts_depth"] == 100 and restored.values["ts_act"] == "tanh"
    assert SPEC.encode_values(restored.values, restored.preset) == {"preset": "deep", "act": "tanh"}


def test_hide_controls_hides_everything_and_encodes_back():
    restored = SPEC.parse_query({"hide": "controls"})
    assert restored.hidden >= set(SPEC.params) | {us.PRESET_PARAM}
    assert SPEC.encode_values(restored.values, None, restored.hidden) == {"hide": "controls"}
    single = SPEC.encode_values(SPEC.defaults, None, {"ts_depth", "ts_act"})
    assert single == {"hide": "depth,act"}


def test_declarations_are_checked():
    with pytest.raises(ValueError):
        us.Int("a_x", 5, 0, 3)
    with pytest.raises(ValueError):
        us.Choice("a_x", "z", ("a", "b"))
    with pytest.raises(ValueError):
        us.PageSpec("a", [us.Int("a_hide", 1, 0, 2)])
    with pytest.raises(ValueError):
        us.PageSpec("a", [us.Int("a_x", 1, 0, 2)], [us.Preset("p", "P", {"a_x": 9})])


# ----------------------------------------------------------------------------- Streamlit

SCRIPT = """
import streamlit as st
from resode_ui import url_state as us

STATE = us.PageState(
    "tp",
    [
        us.Int("tp_depth", 50, 2, 128),
        us.Choice("tp_act", "tanh", ("tanh", "relu")),
        us.Multi("tp_solvers", ("euler",), ("euler", "rk4")),
        us.Flag("tp_compare", False),
    ],
    presets=[us.Preset("deep", "Deep", {"tp_depth": 100, "tp_act": "relu"})],
)
st.title("test page")
STATE.sync()
STATE.controls()
depth = STATE.widget(st.slider, "depth", 2, 128, key="tp_depth")
act = STATE.widget(st.selectbox, "act", ("tanh", "relu"), key="tp_act")
solvers = STATE.widget(st.multiselect, "solvers", ("euler", "rk4"), key="tp_solvers")
compare = STATE.widget(st.toggle, "compare", key="tp_compare")
st.markdown(f"result {depth * (2 if compare else 1)} {act} {'+'.join(solvers)}")
STATE.share_note()
"""


def _tiny(query: dict | None = None) -> AppTest:
    import sys

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    at = AppTest.from_string(SCRIPT, default_timeout=30)
    at.query_params.update(query or {})
    return at.run()


def _result(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("result"))


def test_widgets_write_the_url_and_a_fresh_session_restores_them():
    at = _tiny()
    assert at.query_params == {} and _result(at) == "result 50 tanh euler"
    at.slider(key="tp_depth").set_value(30).run()
    at.selectbox(key="tp_act").select("relu").run()
    at.multiselect(key="tp_solvers").set_value(["rk4", "euler"]).run()
    at.toggle(key="tp_compare").set_value(True).run()
    assert at.query_params == {"depth": "30", "act": "relu", "solvers": "rk4,euler", "compare": "1"}
    fresh = _tiny(dict(at.query_params))
    assert not fresh.exception and not fresh.warning
    assert fresh.slider(key="tp_depth").value == 30
    assert fresh.toggle(key="tp_compare").value is True
    assert _result(fresh) == _result(at) == "result 60 relu rk4+euler"
    assert fresh.query_params == at.query_params
    fresh.slider(key="tp_depth").set_value(50).run()  # back to the default: dropped from the URL
    assert "depth" not in fresh.query_params


def test_tampered_link_shows_one_notice_and_defaults():
    at = _tiny({"depth": "1e9", "act": "<script>", "evil": "x", "preset": "none-such"})
    assert not at.exception
    assert len(at.warning) == 1
    notice = at.warning[0].value
    for name in ("depth", "act", "evil", "preset"):
        assert f"`{name}" in notice
    assert _result(at) == "result 50 tanh euler"
    assert at.query_params == {}  # the cleaned link replaces the tampered one
    at.slider(key="tp_depth").set_value(40).run()
    assert not at.warning  # the notice belongs to the load only


def test_preset_selector_and_preset_links():
    at = _tiny()
    at.selectbox(key="tp_preset").select("Deep").run()
    assert _result(at) == "result 100 relu euler"
    assert at.query_params == {"preset": "deep"}
    at.selectbox(key="tp_act").select("tanh").run()
    assert at.query_params == {"preset": "deep", "act": "tanh"}
    fresh = _tiny(dict(at.query_params))
    assert fresh.selectbox(key="tp_preset").value == "Deep"
    assert _result(fresh) == "result 100 tanh euler"
    fresh.selectbox(key="tp_preset").select(us.DEFAULT_LABEL).run()
    assert _result(fresh) == "result 50 tanh euler" and fresh.query_params == {}


def test_hidden_controls_keep_their_values_until_shown():
    at = _tiny({"hide": "controls", "depth": "64"})
    assert not at.exception
    assert len(at.slider) == 0 and len(at.selectbox) == 0 and len(at.toggle) == 0
    assert _result(at) == "result 64 tanh euler"
    assert any("hides their controls" in c.value for c in at.caption)
    at.run()  # a rerun keeps both the values and the hiding
    assert _result(at) == "result 64 tanh euler"
    assert at.query_params == {"depth": "64", "hide": "controls"}
    at.button(key="tp_show_all").click().run()
    assert at.slider(key="tp_depth").value == 64
    assert at.query_params == {"depth": "64"}
    single = _tiny({"hide": "depth"})
    assert len(single.slider) == 0 and len(single.selectbox) == 2  # preset + act


# ----------------------------------------------------------------------------- real pages


def _page(path: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=180)
    at.query_params.update(query or {})
    return at.run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_vanishing_gradients_link_reproduces_the_view():
    at = _page("pages/vanishing_gradients.py", {"epochs": "100"})
    _ok(at)
    at.slider(key="vg_depth").set_value(30).run()
    at.selectbox(key="vg_activation").select("sigmoid").run()
    at.slider(key="vg_seed").set_value(3).run()
    at.select_slider(key="vg_learning_rate").set_value(1e-3).run()
    _ok(at)
    query = dict(at.query_params)
    assert query == {
        "depth": "30",
        "activation": "sigmoid",
        "seed": "3",
        "epochs": "100",
        "learning_rate": "0.001",
    }
    fresh = _page("pages/vanishing_gradients.py", query)
    _ok(fresh)
    assert not fresh.warning
    assert fresh.slider(key="vg_depth").value == 30
    assert fresh.selectbox(key="vg_activation").value == "sigmoid"
    assert _metrics(fresh) == _metrics(at)  # same seed, same numbers
    assert fresh.query_params == at.query_params


def test_vanishing_gradients_preset_and_tampered_link():
    at = _page("pages/vanishing_gradients.py", {"preset": "sigmoid", "epochs": "50", "depth": "x"})
    _ok(at)
    assert "`depth=x`" in at.warning[0].value
    assert at.selectbox(key="vg_activation").value == "sigmoid"
    assert at.slider(key="vg_depth").value == 50
    assert any("underflow" in c.value for c in at.caption)  # the preset's lesson shows
    assert at.query_params == {"preset": "sigmoid", "epochs": "50"}


def test_resnet_euler_comparison_preset_round_trips():
    at = _page("pages/resnet_euler.py", {"preset": "same-cost", "hide": "solvers,seed"})
    _ok(at)
    metrics = _metrics(at)
    assert metrics["A: field evaluations"] == metrics["B: field evaluations"] == "8"
    # At equal cost the fourth-order method is far more accurate than the ResNet.
    assert float(metrics["B: error at T"]) < float(metrics["A: error at T"]) / 10
    assert len(at.multiselect) == 0  # hidden by the link
    at.slider(key="re_b_layers").set_value(4).run()
    _ok(at)
    assert at.query_params == {"preset": "same-cost", "b_layers": "4", "hide": "seed,solvers"}
    fresh = _page("pages/resnet_euler.py", dict(at.query_params))
    _ok(fresh)
    assert fresh.toggle(key="re_compare").value is True
    assert _metrics(fresh) == _metrics(at)
    assert _metrics(fresh)["B: field evaluations"] == "16"


def test_an_address_is_remembered_before_it_is_sent(monkeypatch):
    """Sending the address is a point where Streamlit may stop the run for a newer slider
    move, which then arrives carrying that address. Remembered first, it counts as this
    session's own; remembered after, it would count as a new link and undo the move."""
    import streamlit as st
    from streamlit.runtime.state.query_params_proxy import QueryParamsProxy

    written_key = us.PageState("tp", [us.Int("tp_depth", 50, 2, 128)])._written_key
    send = QueryParamsProxy.from_dict
    seen = []

    def remember_then_send(self, params):
        seen.append((dict(params), dict(st.session_state.get(written_key) or {})))
        send(self, params)

    monkeypatch.setattr(QueryParamsProxy, "from_dict", remember_then_send)
    at = _tiny()
    at.slider(key="tp_depth").set_value(30).run()
    at.slider(key="tp_depth").set_value(31).run()
    assert [sent for sent, _ in seen] == [{"depth": "30"}, {"depth": "31"}]
    assert all(sent == remembered for sent, remembered in seen), seen

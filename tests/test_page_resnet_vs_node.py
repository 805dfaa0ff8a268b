"""The ResNet-vs-neural-ODE page: parameters and memory against depth, adjoint agreement, links."""

from pathlib import Path

import numpy as np
import pytest
from page_data import chart_frames, shown_metrics
from streamlit.testing.v1 import AppTest

from resode_ui.lessons import resnet_vs_node as rn

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "resnet_vs_node.py")
LOOSE = "A loose tolerance (rtol 1e-2): the adjoint's gradient drifts from backprop's"
MEASURED = ["L", "model", "parameters", "memory (KiB)", "of which temporary (KiB)"]  # not times


def _page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.query_params.update(query or {})
    return at.run()


def _clean(at):
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _table(at):
    return at.dataframe[0].value


def _by_model(table, column):
    return {m: g.sort_values("L")[column].to_numpy() for m, g in table.groupby("model")}


def _agreement(at) -> np.ndarray:
    frame = next(f for f in chart_frames(at) if "difference" in f)
    return frame.sort_values("L")["difference"].to_numpy()


def _adjoint_difference(at) -> float:
    return float(shown_metrics(at)["Relative gradient difference"])


def test_defaults_show_linear_growth_then_every_widget():
    at = _page()
    _clean(at)
    table = _table(at)
    assert sorted(table["L"].unique()) == [8, 64, 512]
    params = _by_model(table, "parameters")
    np.testing.assert_array_equal(params["ResNet"], [8, 64, 512] * np.array(16 * 16 + 16))
    assert len(set(params["neural ODE: backprop"])) == 1  # same field at every depth
    memory = _by_model(table, "memory (KiB)")
    assert memory["ResNet"][-1] > 20 * memory["ResNet"][0]
    assert memory["neural ODE: backprop"][-1] > 5 * memory["neural ODE: backprop"][0]
    assert np.ptp(memory["neural ODE: adjoint"]) == 0  # independent of L
    agreement = _agreement(at)
    np.testing.assert_allclose(agreement[:-1] / agreement[1:], 8.0, rtol=0.1)  # O(Δt)
    assert _adjoint_difference(at) < 1e-3
    # The parameter chart shows the neural ODE once (backprop and adjoint share its field).
    params_chart = next(f for f in chart_frames(at) if "parameters" in f)
    assert set(params_chart["model"]) == {"ResNet", "neural ODE"}

    # Then every widget, on the same app (one cold start per file).
    at.select_slider(key="rn_rtol").set_value(1e-3).run()
    _clean(at)
    loose = _adjoint_difference(at)
    at.select_slider(key="rn_rtol").set_value(1e-7).run()
    _clean(at)
    assert _adjoint_difference(at) < loose
    at.multiselect(key="rn_depths").set_value([8, 64]).run()
    _clean(at)
    at.select_slider(key="rn_width").set_value(8).run()
    _clean(at)
    params = _by_model(_table(at), "parameters")
    np.testing.assert_array_equal(params["ResNet"], [8 * 72, 64 * 72])
    # Fewer than two depths: a readable message, no traceback.
    at.multiselect(key="rn_depths").set_value([8]).run()
    assert not at.exception and len(at.error) == 1
    assert "at least two depths" in at.error[0].value


# ----------------------------------------------------------------------------- links, presets


def test_a_link_reproduces_the_measurements(compile_counter):
    # Depths travel as repeated parameters, rtol as the label the slider shows.
    at = _page({"rn_depths": ["4", "16"], "rn_rtol": "1e-03"})
    _clean(at)
    assert at.multiselect(key="rn_depths").value == [4, 16]
    assert at.select_slider(key="rn_rtol").value == 1e-3
    # What the page shows is what the lesson computes for the same settings.
    lesson = rn.depth_costs((4, 16), 16)
    assert _table(at)[MEASURED].equals(lesson.table[MEASURED])
    np.testing.assert_array_equal(_agreement(at), lesson.agreement["difference"])
    adaptive = rn.adaptive_adjoint(1e-3, 16)["relative_difference"]
    assert shown_metrics(at)["Relative gradient difference"] == f"{adaptive:.1e}"
    # rtol is a runtime value: moving the slider reruns its section without compiling.
    compile_counter.count = 0
    for rtol in (1e-4, 1e-6):
        at.select_slider(key="rn_rtol").set_value(rtol).run()
        _clean(at)
    assert compile_counter.count == 0


def test_a_preset_writes_its_settings_and_a_tampered_link_falls_back():
    at = _page({"rn_preset": LOOSE, "rn_rtol": "1e-02", "rn_depths": ["4", "8"]})
    _clean(at)
    assert at.select_slider(key="rn_rtol").value == 1e-2
    # The adjoint's backward solve is only as good as its tolerance.
    assert _adjoint_difference(at) > 1e-4
    # Choosing a preset writes its non-default settings to the address (the browser, not the
    # preset, writes the selector's own value: AppTest keeps the one it was opened with).
    at.selectbox(key="rn_preset").select("A wider state (w = 32): parameters grow like w²").run()
    _clean(at)
    assert at.select_slider(key="rn_width").value == 32
    assert at.select_slider(key="rn_rtol").value == pytest.approx(1e-5)
    assert {k: v for k, v in at.query_params.items() if k != "rn_preset"} == {"rn_width": "32"}
    bad = {"rn_width": "12", "rn_rtol": "1e-09", "rn_preset": "x", "a": "b"}
    # Bad values next to a valid one (the default depths would compile L = 512 three times).
    bad = _page({"rn_depths": ["4", "8"], **bad})
    _clean(bad)
    assert bad.multiselect(key="rn_depths").value == [4, 8]
    assert bad.select_slider(key="rn_width").value == 16
    assert bad.select_slider(key="rn_rtol").value == 1e-5
    assert bad.selectbox(key="rn_preset").value == "Default settings"


# ----------------------------------------------------------------------------- the lesson


def test_the_lesson_measures_what_the_notes_claim():
    costs = rn.depth_costs((16, 4, 8, 8), 8)  # sorted, duplicates dropped
    table = costs.table
    assert list(table["L"].unique()) == [4, 8, 16]
    params = _by_model(table, "parameters")
    np.testing.assert_array_equal(params["ResNet"], [4 * 72, 8 * 72, 16 * 72])
    assert len(set(params["neural ODE: adjoint"])) == 1
    assert np.ptp(_by_model(table, "memory (KiB)")["neural ODE: adjoint"]) == 0
    difference = costs.agreement["difference"].to_numpy()
    np.testing.assert_allclose(difference[:-1] / difference[1:], 2.0, rtol=0.15)  # O(Δt)
    with pytest.raises(ValueError, match="at least two depths"):
        rn.depth_costs((8,), 8)
    assert rn.adaptive_adjoint(1e-6, 8)["relative_difference"] < 1e-3

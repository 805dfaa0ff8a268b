"""The ResNet-vs-neural-ODE page: parameters and memory against depth, adjoint agreement, links."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from page_data import chart_frames, shown_metrics
from streamlit.testing.v1 import AppTest

import resode_core as rc
from resode_ui import cost_charts
from resode_ui.lessons import resnet_vs_node as rn

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "resnet_vs_node.py")
LOOSE = rn.LOOSE
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


def _y_domain(at, index: int) -> list[float]:
    """The fixed y domain of the page's chart number `index`."""
    spec = json.loads(at.get("vega_lite_chart")[index].proto.spec)
    return spec["encoding"]["y"]["scale"]["domain"]


def _adjoint_difference(at) -> float:
    return float(shown_metrics(at)["Relative gradient difference"])


def test_defaults_show_linear_growth_then_every_widget(monkeypatch):
    at = _page()
    _clean(at)
    table = _table(at)
    # The question comes first; answering it recomputes nothing.
    assert at.radio(key="rn_question").value is None
    measured = []
    for name in ("depth_cost", "adjoint_comparison"):
        measure = getattr(rc, name)
        monkeypatch.setattr(rc, name, lambda *a, _m=measure, **k: measured.append(1) or _m(*a, **k))
    at.radio(key="rn_question").set_value(rn.BACKPROP_ONLY).run()
    _clean(at)
    per_step = rn.memory_per_step(table)
    assert f"Each extra step added {per_step:.1f} KiB to backprop's." in at.success[0].value
    at.radio(key="rn_question").set_value(rn.BOTH).run()
    assert f"So the answer here is **{rn.BACKPROP_ONLY}**" in at.info[0].value
    assert not measured
    monkeypatch.undo()
    # The default preset's note, and the adjoint written out under the reveal.
    assert any(rn.SHOULD_SEE["Default settings"] in c.value for c in at.caption)
    formulas = " ".join(latex.value for latex in at.latex)
    assert r"a(T) = \frac{\partial \mathcal L}{\partial x(T)}" in formulas
    assert r"= \int_0^T a(t)^{\mathsf T}" in formulas and r"= -\int_T^0" in formulas
    # The tolerance chart: every rtol, both quantities, and its sentence.
    sweep = next(f for f in chart_frames(at) if "quantity" in f).dropna(subset=["quantity"])
    sweep = sweep[sweep["quantity"] != cost_charts.SCALE]
    assert sorted(set(sweep["rtol"])) == sorted(rn.SWEEP_RTOLS)
    assert set(sweep["quantity"]) == {rn.GRADIENT, rn.DRIFT}
    assert any(rn.sweep_sentence(rn.tolerance_sweep(16)) in c.value for c in at.caption)
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
    # The first chart answers the question: memory, one line per gradient.
    frames = chart_frames(at)
    assert "memory (KiB)" in frames[0] and set(frames[0]["model"]) == set(table["model"])
    # The parameter chart shows the neural ODE once (backprop and adjoint share its field).
    assert set(frames[1]["model"]) == {"ResNet", "neural ODE"} and "parameters" in frames[1]
    # Presenter mode: everything after the reveal folds into "More".
    at.session_state["present"] = True
    at.run()
    _clean(at)
    more = next(e for e in at.expander if e.label.startswith("More"))
    assert len(more.get("vega_lite_chart")) == 4 and len(at.get("vega_lite_chart")) == 5
    assert "rn_rtol" in [s.key for s in more.get("select_slider")]
    at.session_state["present"] = False

    # Then every widget, on the same app (one cold start per file).
    at.select_slider(key="rn_rtol").set_value(1e-3).run()
    _clean(at)
    loose = _adjoint_difference(at)
    at.select_slider(key="rn_rtol").set_value(1e-7).run()
    _clean(at)
    assert _adjoint_difference(at) < loose
    at.multiselect(key="rn_depths").set_value([8, 64]).run()
    _clean(at)
    axes = [_y_domain(at, i) for i in (0, 1)]  # memory, parameters
    at.select_slider(key="rn_width").set_value(8).run()
    _clean(at)
    params = _by_model(_table(at), "parameters")
    np.testing.assert_array_equal(params["ResNet"], [8 * 72, 64 * 72])
    assert [_y_domain(at, i) for i in (0, 1)] == axes  # still while the width moves
    # The tolerance section stays at its own width: a new width compiles no adaptive gradient.
    assert rn.TOLERANCE_WIDTH == 16
    assert any(rn.sweep_sentence(rn.tolerance_sweep(16)) in c.value for c in at.caption)
    assert not any(rn.SHOULD_SEE["Default settings"] in c.value for c in at.caption)
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


def test_slow_gradients_are_shown_as_they_come(monkeypatch):
    """While gradients take time to arrive, the page gets the table after each one (all but
    the last, which the whole result brings); gradients already cached draw nothing extra."""
    tables = []
    rn.depth_costs((4, 8), 8)  # measured now, or cached already
    rn.depth_costs((4, 8), 8, on_table=tables.append)
    assert tables == []  # all cached: nothing partial
    monkeypatch.setattr(rn, "SHOW_PARTIAL_AFTER_S", -1.0)  # every gradient counts as slow
    whole = rn.depth_costs((4, 8), 8, on_table=tables.append).table
    assert [len(t) for t in tables] == [1, 2, 3, 4, 5]
    pd.testing.assert_frame_equal(tables[-1], whole.iloc[:5])
    assert rn.adaptive_adjoint(1e-6, 8)["relative_difference"] < 1e-3


def test_the_notes_and_sentences_hold():
    assert list(rn.SHOULD_SEE) == list(rn.PRESETS)
    # Default: backprop through the neural ODE adds one stored state per step.
    default = rn.depth_costs(rn.ResnetVsNodeSettings().depths, 16).table
    state = rn.BATCH * 16 * 4 / 1024
    assert state == 4.0 and rn.memory_per_step(default) == pytest.approx(state, rel=0.1)
    memory = _by_model(default, "memory (KiB)")
    assert np.all(np.diff(memory["ResNet"]) > 0) and np.all(np.diff(memory[rn.BACKPROP]) > 0)
    assert rn.memory_answer(default)[0] == rn.BACKPROP_ONLY
    # Deep: the neural ODE's lines (the ResNet's need not be measured for this note).
    deep = {
        (method, depth): rn.measure(method, depth, 16)
        for method in ("node_backprop", "node_backsolve")
        for depth in rn.PRESETS[rn.DEEP].depths
    }
    assert (
        deep["node_backprop", 1024]["total_bytes"] > 10 * deep["node_backprop", 16]["total_bytes"]
    )
    assert len({deep["node_backsolve", d]["total_bytes"] for d in (16, 128, 1024)}) == 1
    differences = [
        np.linalg.norm(deep["node_backsolve", d]["gradient"] - deep["node_backprop", d]["gradient"])
        / np.linalg.norm(deep["node_backprop", d]["gradient"])
        for d in (16, 128, 1024)
    ]
    slope = rn.agreement_slope(pd.DataFrame({"L": [16, 128, 1024], "difference": differences}))
    assert abs(slope + 1) < 0.1
    # Loose and tight tolerances: the tolerance chart's points.
    sweep = rn.tolerance_sweep(16).set_index(["quantity", "rtol"])["difference"]
    assert sweep[rn.GRADIENT, 1e-2] > 1e-3 and sweep[rn.DRIFT, 1e-2] > 1e-4
    assert sweep[rn.GRADIENT, 1e-7] < 1e-6
    assert sweep[rn.GRADIENT, 1e-2] > 1000 * sweep[rn.GRADIENT, 1e-7]
    assert rn.PRESETS[rn.LOOSE].rtol == 1e-2 and rn.PRESETS[rn.TIGHT].rtol == 1e-7
    # Wide: parameters per layer and of the field at w = 32.
    assert rn.measure("resnet", 8, 32)["params"] == 8 * 1056 and round(1056 / 272, 1) == 3.9
    assert rn.measure("node_backprop", 8, 32)["params"] == 2 * 1056


def test_the_memory_answer_reads_the_table():
    def table(backprop, adjoint):
        rows = [(8, rn.BACKPROP, backprop[0]), (64, rn.BACKPROP, backprop[1])]
        rows += [(8, rn.ADJOINT, adjoint[0]), (64, rn.ADJOINT, adjoint[1])]
        return pd.DataFrame(rows, columns=["L", "model", "memory (KiB)"])

    assert rn.memory_answer(table((100, 324), (50, 50)))[0] == rn.BACKPROP_ONLY
    truth, observed = rn.memory_answer(table((100, 324), (50, 80)))
    assert truth == rn.BOTH and observed.endswith("Each extra step added 4.0 KiB to backprop's.")
    assert rn.memory_answer(table((100, 100), (50, 80)))[0] == rn.ADJOINT_ONLY
    assert rn.memory_answer(table((100, 100.5), (50, 50)))[0] == rn.NEITHER


def test_the_fixed_axes_hold_every_width():
    """The memory axis, bounded from one width, holds what the other widths measure."""
    depths = (8, 64)
    tables = {w: rn.depth_costs(depths, w).table for w in rn.WIDTHS}
    for width, table in tables.items():
        low, high = rn.memory_axis(table, width)
        for other in tables.values():
            assert low <= other["memory (KiB)"].min() and other["memory (KiB)"].max() <= high
            params = other["parameters"]
            axis = rn.parameters_axis(depths)
            assert axis[0] <= params.min() and params.max() <= axis[1]
    colors = dict(rn.COLORS)
    assert colors["ResNet"] == "#1f77b4" and colors[rn.ADJOINT] == "#17becf"
    assert colors[rn.BACKPROP] == colors["neural ODE"] == "#ff7f0e"

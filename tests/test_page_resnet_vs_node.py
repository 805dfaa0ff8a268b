"""The ResNet-vs-neural-ODE page: parameters and memory against depth, adjoint agreement."""

import numpy as np

PAGE = "pages/resnet_vs_node.py"


def _clean(at):
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _by_model(table, column):
    return {m: g.sort_values("L")[column].to_numpy() for m, g in table.groupby("model")}


def test_defaults_show_linear_growth_then_every_widget(open_page):
    at = open_page(PAGE)
    _clean(at)
    table = at.session_state["rn_table"]
    assert sorted(table["L"].unique()) == [8, 64, 512]
    params = _by_model(table, "params")
    np.testing.assert_array_equal(params["ResNet"], [8, 64, 512] * np.array(16 * 16 + 16))
    assert len(set(params["neural ODE: backprop"])) == 1  # same field at every depth
    memory = _by_model(table, "memory_kib")
    assert memory["ResNet"][-1] > 20 * memory["ResNet"][0]
    assert memory["neural ODE: backprop"][-1] > 5 * memory["neural ODE: backprop"][0]
    assert np.ptp(memory["neural ODE: adjoint"]) == 0  # independent of L
    agreement = at.session_state["rn_agreement"]["difference"].to_numpy()
    np.testing.assert_allclose(agreement[:-1] / agreement[1:], 8.0, rtol=0.1)  # O(Δt)
    assert at.session_state["rn_adjoint"]["relative_difference"] < 1e-3

    # Then every widget, on the same app (one cold start per file).
    at.select_slider(key="rn_rtol").set_value(1e-3).run()
    _clean(at)
    loose = at.session_state["rn_adjoint"]["relative_difference"]
    at.select_slider(key="rn_rtol").set_value(1e-7).run()
    _clean(at)
    assert at.session_state["rn_adjoint"]["relative_difference"] < loose
    at.multiselect(key="rn_depths").set_value([8, 64]).run()
    _clean(at)
    at.select_slider(key="rn_width").set_value(8).run()
    _clean(at)
    params = _by_model(at.session_state["rn_table"], "params")
    np.testing.assert_array_equal(params["ResNet"], [8 * 72, 64 * 72])
    # Fewer than two depths: a readable message, no traceback.
    at.multiselect(key="rn_depths").set_value([8]).run()
    assert not at.exception and len(at.error) == 1

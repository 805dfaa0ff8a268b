"""Charts converted once per result: the same spec as st.altair_chart, built only on a miss."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from resode_ui.chart_cache import ChartSpecs


def _both_ways():
    import numpy as np
    import pandas as pd
    import streamlit as st

    from resode_ui import node_charts as nc
    from resode_ui.chart_cache import chart_specs, show_chart

    t = np.linspace(0.0, 1.5, 40)
    ys = np.stack([np.cos(3 * t), np.sin(3 * t)], axis=1)
    frame = pd.concat(
        [nc.series_frame(t, ys * k, ("u₁", "u₂"), s) for k, s in ((1, "true"), (0.9, "learned"))],
        ignore_index=True,
    )

    def build():
        return nc.time_series_chart(frame, y_title="u")

    before = chart_specs().builds
    st.altair_chart(build(), width="stretch")
    show_chart(st, ("test", "series"), build, width="stretch")
    show_chart(st, ("test", "series"), build, width="stretch")  # the stored spec again
    st.session_state["builds"] = chart_specs().builds - before


def _chart_message(element) -> tuple[str, list[tuple[str, bytes]]]:
    proto = element.proto
    spec = json.loads(proto.spec)
    spec.pop("datasets", None)
    return json.dumps(spec, sort_keys=True), sorted((d.name, d.data.data) for d in proto.datasets)


def test_a_stored_chart_sends_what_altair_chart_sends():
    at = AppTest.from_function(_both_ways, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 3
    direct, first, again = (_chart_message(c) for c in charts)
    assert first == direct  # spec and Arrow data, byte for byte
    assert again == direct  # showing it did not change the stored spec
    assert direct[1], "the chart's data travel as Arrow datasets"
    assert at.session_state["builds"] == 1


def test_the_store_builds_once_per_key_and_drops_the_oldest():
    import altair as alt
    import pandas as pd

    specs = ChartSpecs(max_entries=2)
    calls: list[int] = []

    def chart(n):
        def build():
            calls.append(n)
            return alt.Chart(pd.DataFrame({"x": [n], "y": [n]})).mark_point().encode(x="x", y="y")

        return build

    first = specs.get(("a",), chart(1))
    assert specs.get(("a",), chart(99)) is first  # a hit never builds
    specs.get(("b",), chart(2))
    specs.get(("a",), chart(1))  # "a" is now the most recent
    specs.get(("c",), chart(3))  # full: "b", the least recent, goes
    specs.get(("b",), chart(2))
    assert calls == [1, 2, 3, 2]


def test_without_streamlit_s_converter_the_chart_is_drawn_as_before(monkeypatch):
    import altair as alt
    import pandas as pd
    import streamlit.elements.vega_charts as vega_charts

    def changed(*args, **kwargs):
        raise TypeError("a new signature")

    monkeypatch.setattr(vega_charts, "_convert_altair_to_vega_lite_spec", changed)
    chart = alt.Chart(pd.DataFrame({"x": [1], "y": [2]})).mark_point().encode(x="x", y="y")
    assert ChartSpecs().get(("k",), lambda: chart) == {"altair": chart}


def test_the_schema_check_follows_the_switch(monkeypatch):
    """Tests convert with altair's check on (conftest); an invalid chart then fails here."""
    import altair as alt
    import pandas as pd
    import pytest

    from resode_ui import chart_cache

    assert chart_cache.VALIDATE
    bad = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x=alt.X("x:Q", bin="yes"))
    # Not converted: show_chart falls back to st.altair_chart, which raises the schema error.
    assert set(chart_cache._convert(bad)) == {"altair"}
    with pytest.raises(alt.utils.schemapi.SchemaValidationError):
        bad.to_dict()
    monkeypatch.setattr(chart_cache, "VALIDATE", False)
    assert "datasets" in chart_cache._convert(bad)  # the server's path: no check

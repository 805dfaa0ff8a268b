"""Altair charts converted once per result, not on every rerun.

`st.altair_chart` builds and validates the chart's Vega-Lite spec and serialises its data on
every rerun: 15-25 ms a chart here, about 150 ms of a 200 ms spiral rerun, and under
Streamlit's process-wide altair lock, so thirty students' reruns queue behind each other.
A chart whose data come from a cached result is the same on every rerun: `show_chart`
converts it once (the builder runs only on a miss) and hands the stored spec to
`st.vega_lite_chart`, which is what `st.altair_chart` does after converting.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import altair as alt
import streamlit as st

MAX_CHARTS = 128  # specs kept, all sessions together (each holds its data: KBs to ~100 KB)


class ChartSpecs:
    """A bounded, thread-safe store of converted specs, least recently used dropped first."""

    def __init__(self, max_entries: int = MAX_CHARTS) -> None:
        self.max_entries = max_entries
        self._specs: OrderedDict[Hashable, dict] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, key: Hashable, build: Callable[[], alt.TopLevelMixin]) -> dict:
        with self._lock:
            if key in self._specs:
                self._specs.move_to_end(key)
                return self._specs[key]
        spec = _convert(build())  # outside the lock: another key need not wait for this one
        with self._lock:
            self.builds += 1
            self._specs[key] = spec
            self._specs.move_to_end(key)
            while len(self._specs) > self.max_entries:
                self._specs.popitem(last=False)
        return spec

    def clear(self) -> None:
        with self._lock:
            self._specs.clear()


# Altair checks every spec against the Vega-Lite schema: about 60 % of a conversion (a time
# series: 8.6 -> 3.1 ms), spent under Streamlit's process-wide altair lock. The builders' specs
# do not change shape with the data, and the tests (RESODE_VALIDATE_CHARTS=1, tests/conftest.py)
# convert every page's charts with the check on, so the server skips it.
VALIDATE = os.environ.get("RESODE_VALIDATE_CHARTS", "0") == "1"


class _ForConverter:
    """The chart as Streamlit's converter sees it: only `to_dict()` is called on it."""

    def __init__(self, chart: alt.TopLevelMixin) -> None:
        self._chart = chart

    def to_dict(self) -> dict:
        return self._chart.to_dict(validate=VALIDATE)


def _convert(chart: alt.TopLevelMixin) -> dict:
    """The Vega-Lite spec st.altair_chart would send, its data already in Arrow form."""
    try:
        from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

        return _convert_altair_to_vega_lite_spec(_ForConverter(chart))
    except Exception:  # Streamlit changed its private converter: convert on every rerun
        return {"altair": chart}


@st.cache_resource(show_spinner=False)
def chart_specs() -> ChartSpecs:
    """One store per server process, shared by every session (charts hold no user state)."""
    return ChartSpecs()


def show_chart(
    where: Any, key: tuple, build: Callable[[], alt.TopLevelMixin], **kwargs: Any
) -> None:
    """Draw the chart `build()` returns, converting it only the first time `key` is seen.

    `key` must name everything the chart shows (page, chart, and the settings of the
    cached result it draws); `where` is st or a container; kwargs go to the chart call.
    """
    spec = chart_specs().get(key, build)
    if "altair" in spec:
        where.altair_chart(spec["altair"], **kwargs)
        return
    # Streamlit moves the datasets out of the spec it is given: hand it a copy.
    shown = dict(spec)
    if "datasets" in shown:
        shown["datasets"] = dict(shown["datasets"])
    where.vega_lite_chart(shown, **kwargs)

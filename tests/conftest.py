import json
import math
import os
import statistics
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
# Tests drive pages one by one; the background warm-up would only compete for CPU.
os.environ.setdefault("RESODE_WARMUP", "0")
# As resode_core sets it, but before any test module imports equinox ahead of the core:
# equinox reads it once, and its default (host callbacks) keeps programs from being stored.
os.environ.setdefault("EQX_ON_ERROR", "nan")


@pytest.fixture
def open_page():
    """open_page("pages/x.py") -> AppTest that has run once (JAX pages need a long timeout)."""

    def _open(relative_path: str, timeout: float = 120) -> AppTest:
        at = AppTest.from_file(str(ROOT / relative_path), default_timeout=timeout)
        at.run()
        return at

    return _open


def pytest_collection_modifyitems(items):
    """The 20-session load test last: the hall test (collected first) and it then start far
    apart on the two workers (`one_crowd_at_a_time` makes sure they never overlap)."""
    items.sort(key=lambda item: item.path.name == "test_load.py")


class CompileCounter:
    """Counts compilations: every jit cache miss ends in an XLA backend compile, or in a hit of
    the persistent compilation cache (which the pages switch on) that stands in for one."""

    def __init__(self):
        self.count = 0

    def __call__(self, event: str, duration: float | None = None, **kwargs) -> None:
        if event in (
            "/jax/core/compile/backend_compile_duration",
            "/jax/compilation_cache/cache_hits",
        ):
            self.count += 1


_COUNTER = CompileCounter()
_REGISTERED = False


@pytest.fixture
def compile_counter():
    """A counter of backend compiles; reset it with `.count = 0` before the calls you check."""
    global _REGISTERED
    import jax.monitoring
    import streamlit as st

    from resode_ui import training

    if not _REGISTERED:
        jax.monitoring.register_event_duration_secs_listener(_COUNTER)
        jax.monitoring.register_event_listener(_COUNTER)
        _REGISTERED = True
    # Results cached by earlier tests (or programs the memory guard dropped since) would let
    # a page open without compiling what its later reruns need: start from an empty cache,
    # so that the page's first run compiles its programs, as for a first visitor.
    st.cache_data.clear()
    training.board.clear()
    _COUNTER.count = 0
    return _COUNTER


# ----------------------------------------------------------------------------- run summary
# The browser and load tests record what they measured as user properties: pytest-xdist
# carries those from its workers to the main process, which prints them at the end.
LATENCIES: dict[str, dict[str, list[float]]] = {}
LOAD_REPORT: list[str] = []
LATENCY_FILE = ROOT / "tests" / "e2e" / "screenshots" / "latency.json"  # gitignored


def pytest_runtest_logreport(report):
    for name, value in report.user_properties:
        if name == "latency":
            LATENCIES.update(value)
        elif name == "load_report":
            LOAD_REPORT.append(value)


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (with a handful of moves, p95 is close to the maximum)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def pytest_terminal_summary(terminalreporter):
    if LATENCIES:
        terminalreporter.section("slider → chart latency in Chromium (ms)")
        terminalreporter.write_line(
            f"{'':<24} {'to a new value':^28} {'back to a value seen before':^28}"
            f" {'Play: one frame (Step)':^28}"
        )
        summary = {}
        for page, kinds in LATENCIES.items():
            summary[page] = {}
            line = f"{page:<24}"
            for kind in ("new", "seen", "frame"):
                values = kinds.get(kind) or []
                if not values:
                    line += f" {'-':^28}"
                    continue
                median, p95 = statistics.median(values), _percentile(values, 0.95)
                summary[page][kind] = {"moves": len(values), "median_ms": median, "p95_ms": p95}
                line += f" n {len(values):>2} median {median:6.0f} p95 {p95:6.0f}"
            terminalreporter.write_line(line)
        LATENCY_FILE.parent.mkdir(parents=True, exist_ok=True)
        LATENCY_FILE.write_text(json.dumps(summary, indent=2))
    if LOAD_REPORT:
        terminalreporter.section("load test")
        for line in LOAD_REPORT:
            terminalreporter.write_line(line)

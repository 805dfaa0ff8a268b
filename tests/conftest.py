import os
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

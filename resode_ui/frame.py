"""The shared frame every page calls first: JAX set-up and the sys.path for page files."""

from __future__ import annotations

import streamlit as st

import resode_core as rc
from resode_ui.warmup import start_background_warmup


@st.cache_resource(show_spinner=False)
def _jax_setup() -> str:
    # One persistent compilation cache per server process, shared by all sessions.
    return str(rc.enable_compilation_cache())


def page_frame() -> None:
    """Call at the top of every page (it is idempotent and cheap)."""
    _jax_setup()
    start_background_warmup()


def error_box(message: str) -> None:
    """A user-facing problem: what happened and what to change, never a traceback."""
    st.error(message, icon="⚠️")

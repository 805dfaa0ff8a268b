"""The shared frame every page calls first: JAX set-up, warm-up and memory housekeeping."""

from __future__ import annotations

import ctypes
import threading
import time

import streamlit as st

import resode_core as rc
from resode_ui.warmup import start_background_warmup

TRIM_INTERVAL_S = 5.0
_last_trim = {"at": 0.0}
_trim_lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def _jax_setup() -> str:
    # One persistent compilation cache per server process, shared by all sessions.
    return str(rc.enable_compilation_cache())


@st.cache_resource(show_spinner=False)
def _libc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): nothing to trim
        return None


def release_free_memory() -> None:
    """Hand memory that XLA's compiler freed back to the OS (glibc keeps it otherwise).

    Compiling a diffrax program allocates a few hundred MB that glibc keeps after it is
    freed; on a 690 MB Community Cloud container that decides whether the app survives.
    """
    libc = _libc()
    if libc is None:
        return
    with _trim_lock:
        now = time.monotonic()
        if now - _last_trim["at"] < TRIM_INTERVAL_S:
            return
        _last_trim["at"] = now
    libc.malloc_trim(0)


def page_frame() -> None:
    """Call at the top of every page (it is idempotent and cheap)."""
    _jax_setup()
    release_free_memory()
    start_background_warmup()


def error_box(message: str) -> None:
    """A user-facing problem: what happened and what to change, never a traceback."""
    st.error(message, icon="⚠️")

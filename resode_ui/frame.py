"""The shared frame every page calls first: JAX set-up, warm-up and memory housekeeping."""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
import time

import jax
import streamlit as st

import resode_core as rc
from resode_ui.warmup import start_background_warmup

TRIM_INTERVAL_S = 5.0
# Above this resident size, a run of a page whose programs are not in memory first drops
# all compiled programs (0: never). The server needs about 450 MB with one page's programs
# and every page adds 150-450 MB; Streamlit Community Cloud's smallest containers stop an
# app at 690 MB. Results of settings already seen stay cached, so a dropped program costs
# only the next new setting about a second. On a big machine raise it (e.g. 4000).
MEMORY_LIMIT_MB = float(os.environ.get("RESODE_MEMORY_LIMIT_MB", "500"))
# Pages that have run since compiled programs were last dropped (so may hold some now).
_loaded_pages: set[str] = set()
_loaded_lock = threading.Lock()
_last_trim = {"at": 0.0}
_trim_lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def _jax_setup() -> str:
    # One persistent compilation cache per server process, shared by all sessions.
    return str(rc.enable_compilation_cache())


M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # glibc mallopt parameters


@st.cache_resource(show_spinner=False)
def _libc():
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): nothing to trim
        return None
    # Few arenas, and big blocks straight from mmap: compiler scratch memory goes back
    # to the OS when freed instead of raising the high-water mark of every thread's arena.
    libc.mallopt(M_ARENA_MAX, 2)
    libc.mallopt(M_MMAP_THRESHOLD, 256 * 1024)
    return libc


def release_free_memory(*, lesson: bool = True) -> None:
    """Hand memory that XLA's compiler freed back to the OS (glibc keeps it otherwise).

    Compiling a diffrax program allocates memory that glibc keeps after it is freed;
    on a small container that decides whether the app survives. Past MEMORY_LIMIT_MB, a
    lesson page whose programs are not loaded first drops those of the other pages.
    """
    libc = _libc()
    if libc is None:
        return
    if lesson and _page_not_loaded() and over_memory_limit() and only_script_running():
        drop_compiled_programs(keep_page=_current_page())
        return
    with _trim_lock:
        now = time.monotonic()
        if now - _last_trim["at"] < TRIM_INTERVAL_S:
            return
        _last_trim["at"] = now
    libc.malloc_trim(0)


def drop_compiled_programs(keep_page: str | None = None) -> None:
    """Free every compiled JAX program (results in st.cache_data stay).

    The persistent cache and the stored traced programs make the next use of a dropped
    program cost about a second, not a full trace and compile. `keep_page` is the page
    about to run, which counts as loaded from now on.
    """
    with _loaded_lock:
        _loaded_pages.clear()
        if keep_page is not None:
            _loaded_pages.add(keep_page)
    jax.clear_caches()
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def over_memory_limit() -> bool:
    return bool(MEMORY_LIMIT_MB) and resident_mb() > MEMORY_LIMIT_MB


def resident_mb() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _current_page() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return getattr(ctx, "page_script_hash", None) if ctx else None


def _page_not_loaded() -> bool:
    """True when this run's page has not run since compiled programs were last dropped.

    Decided per page, not per session: thirty students arriving on the page already in
    memory add nothing, while one who opens another page is about to compile its programs.
    """
    page = _current_page()
    if page is None:
        return False
    with _loaded_lock:
        new = page not in _loaded_pages
        _loaded_pages.add(page)
    return new


def only_script_running() -> bool:
    """True if no other session's script (or a warm-up thread) is running right now."""
    busy = [
        t
        for t in threading.enumerate()
        if t is not threading.current_thread()
        and (t.name.startswith("ScriptRunner") or t.name in ("resode-warmup", "resode-ahead"))
    ]
    return not busy


def _hand_over_to_router() -> None:
    """Make a fresh server's first deep link run app.py's router, not the raw pages/ list.

    Until some script has called ``st.navigation``, Streamlit treats a ``pages/`` folder
    next to the main script as an old-style multipage app: the first visitor who opens a
    shared link such as ``/spiral`` would get the bare file list as navigation and none of
    app.py's set-up. Switching that mode off and rerunning once lets app.py take over.

    Decided per run, not by Streamlit's process-wide flag: sessions that start together
    on a fresh server may all begin in the old mode while the first of them switches the
    flag off, and each of them must still rerun.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if _running_in_legacy_multipage_mode():
        PagesManager.uses_pages_directory = False
        st.rerun()


def _running_in_legacy_multipage_mode() -> bool:
    """True when Streamlit's pages/ runner (``_mpa_v1``) started this run.

    The process-wide flag alone misses runs that began in that mode before another
    session switched it off, so the call stack decides; the flag stays as a fallback
    should Streamlit rename its runner.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        return True
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "_mpa_v1" and str(
            frame.f_globals.get("__name__", "")
        ).startswith("streamlit."):
            return True
        frame = frame.f_back
    return False


def prepare_server() -> None:
    """Once per process, idempotent: JAX's caches, malloc settings, the page warm-up."""
    _jax_setup()
    _libc()
    start_background_warmup()


def page_frame(*, lesson: bool = True) -> None:
    """Call at the top of every page (it is idempotent and cheap); app.py passes lesson=False."""
    _hand_over_to_router()
    _jax_setup()
    release_free_memory(lesson=lesson)
    start_background_warmup()


def error_box(message: str) -> None:
    """A user-facing problem: what happened and what to change, never a traceback."""
    st.error(message, icon="⚠️")

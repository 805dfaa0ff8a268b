"""Warm every page once, in hidden server-side sessions, so the first student finds it fast.

A page's first run traces and compiles its JAX functions (seconds). Rendering each page
once in a session with no browser fills the jit caches and `st.cache_data` exactly as a
visitor would, because it runs the real page code with its defaults. It starts with the
first session of the server process and runs in one background thread, one page at a time.

This uses Streamlit's runtime objects (`Runtime`, `AppSession`), which are not a public
API: every step is guarded, and if anything changes the warm-up simply does nothing.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path

import streamlit as st
from streamlit.logger import get_logger

LOG = get_logger("resode.warmup")
PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"
# The headline pages first: a class usually starts with them.
FIRST = ("spiral", "vanishing_gradients", "resnet_euler", "identity_experiment")
PAGE_TIMEOUT_S = 180
# Settings a lesson reaches in one move whose first use compiles or trains for seconds,
# warmed after every page's defaults, as (page, address query).
EXTRA_SETTINGS = (
    ("resnet_vs_node", "width=8"),  # the width slider compiles one gradient per depth
    ("resnet_vs_node", "width=32"),
    ("spiral", "preset=notes-25-vs-300"),  # the notes' 25 vs 300 epochs: trains 300 epochs
)


class _SilentClient:
    """A session client that drops every message but notes when a run finishes."""

    def __init__(self) -> None:
        self.finished = threading.Event()

    def write_forward_msg(self, msg) -> None:
        # A run that ends in st.rerun() is followed by the real one: wait for that. (The
        # first session of a fresh server reruns once to hand over to app.py's router.)
        if (
            msg.WhichOneof("type") == "script_finished"
            and msg.script_finished != msg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
        ):
            self.finished.set()

    @property
    def client_context(self):
        return None


def page_order() -> list[str]:
    names = sorted(p.stem for p in PAGES_DIR.glob("*.py") if p.stem != "home")
    return [n for n in FIRST if n in names] + [n for n in names if n not in FIRST]


def _on_event_loop(runtime, fn, *args, **kwargs):
    """Run fn on the runtime's event loop (its session API is not thread-safe) and wait."""

    async def call():
        return fn(*args, **kwargs)

    loop = runtime._get_async_objs().eventloop
    return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=30)


def warm_page(runtime, page: str, query: str = "") -> float:
    from streamlit.proto.ClientState_pb2 import ClientState

    client = _SilentClient()
    start = time.perf_counter()
    session_id = _on_event_loop(runtime, runtime.connect_session, client=client, user_info={})
    try:
        info = runtime._session_mgr.get_active_session_info(session_id)
        state = ClientState(page_name=page, query_string=query)
        _on_event_loop(runtime, info.session.request_rerun, state)
        if not client.finished.wait(PAGE_TIMEOUT_S):
            LOG.warning("warm-up: page %s did not finish in %d s", page, PAGE_TIMEOUT_S)
    finally:
        _on_event_loop(runtime, runtime.close_session, session_id)
    return time.perf_counter() - start


def _warm_all(runtime) -> None:
    total = time.perf_counter()
    from resode_ui.frame import (
        drop_compiled_programs,
        only_script_running,
        over_memory_limit,
        release_free_memory,
    )

    plan = [(page, "") for page in page_order()] + list(EXTRA_SETTINGS)
    for page, query in plan:
        name = f"{page}?{query}" if query else page
        try:
            seconds = warm_page(runtime, page, query)
            release_free_memory()
            # The page's default results are cached now and its programs are on disk:
            # under the memory limit its compiled programs are worth less than the room.
            if over_memory_limit() and only_script_running():
                drop_compiled_programs()
            LOG.info("warm-up: %s in %.1f s", name, seconds)
        except Exception as error:  # an optimisation only: never break the app
            LOG.warning("warm-up of %s skipped: %r", name, error)
    # What exists now (modules, JAX's and Streamlit's machinery) lives as long as the server:
    # freezing it keeps Python's collector from walking those ~400 000 objects again and again.
    gc.collect()
    gc.freeze()
    LOG.info("warm-up: all pages in %.1f s", time.perf_counter() - total)


def warmup_enabled() -> bool:
    return os.environ.get("RESODE_WARMUP", "1") != "0"


@st.cache_resource(show_spinner=False)
def start_background_warmup() -> bool:
    """Start the warm-up thread once per server process (no-op outside a real server)."""
    if not warmup_enabled():
        return False
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists() or type(Runtime.instance()) is not Runtime:
            return False  # AppTest and bare scripts use a mock runtime
        runtime = Runtime.instance()
    except Exception:
        return False
    threading.Thread(target=_warm_all, args=(runtime,), name="resode-warmup", daemon=True).start()
    return True


_ahead_started: set[str] = set()
_ahead_lock = threading.Lock()


def compile_ahead(key: Hashable, job: Callable[[], object]) -> bool:
    """Run `job` once per process in a background thread; its results are thrown away.

    For the programs a page needs only after a long step (training): `job` calls them on
    stand-in values of the right shapes (the untrained network), so their tracing and
    compiling overlaps the long step on the second core instead of following it. Returns
    whether a thread was started: not for a key seen before, with RESODE_COMPILE_AHEAD=0,
    or over the memory limit.
    """
    if os.environ.get("RESODE_COMPILE_AHEAD", "1") == "0":
        return False
    from resode_ui.frame import over_memory_limit

    # Two compiles at once raise the peak by ~140 MB (measured): not on a full container.
    if over_memory_limit():
        return False
    name = repr(key)
    with _ahead_lock:
        if name in _ahead_started:
            return False
        _ahead_started.add(name)

    def run() -> None:
        try:
            job()
        except Exception as error:  # an optimisation only: the page computes it anyway
            LOG.warning("compile ahead %s skipped: %r", name, error)

    threading.Thread(target=run, name="resode-ahead", daemon=True).start()
    return True

"""The server's start-up hook: `streamlit run app.py` prepares JAX before anyone visits."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import tempfile
import textwrap
import threading

import streamlit as st
from streamlit import config as streamlit_config
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.web.server.app_discovery import discover_asgi_app

from resode_ui import server
from resode_ui.warmup import _SilentClient
from tests.conftest import ROOT


def _enter_and_leave(lifespan) -> None:
    """Start and stop the hook as the server does, on an event loop of its own thread."""

    async def main():
        async with lifespan(None):
            pass

    # Its own thread: an earlier test may leave an event loop running in this one.
    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    thread.join(30)


def test_streamlit_run_finds_the_app_with_its_start_up_hook(monkeypatch):
    # Building an st.App pins Streamlit's process-wide script path: undo it after the test.
    monkeypatch.setattr(streamlit_config, "_main_script_path", streamlit_config._main_script_path)
    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.app_name == "app"
    # Imported as a module (what `streamlit run` does), app.py defines the app and draws nothing.
    spec = importlib.util.spec_from_file_location("resode_app_module", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert isinstance(module.app, st.App)
    assert module.app.script_path == ROOT / "app.py"
    assert module.app._user_lifespan is server.lifespan
    assert not hasattr(module, "PAGES")


def test_the_hook_imports_jax_and_the_pages_modules_in_a_fresh_process():
    # A fresh interpreter: this test process has imported all of it long ago.
    script = textwrap.dedent(
        """
        import asyncio, sys, threading
        from resode_ui.server import lifespan
        heavy = ("jax", "diffrax", "resode_core", "altair", "pandas", "resode_ui.node_charts")
        assert not [m for m in heavy if m in sys.modules], "imported too early"
        async def main():
            async with lifespan(None):
                pass
        asyncio.run(main())
        thread = next(t for t in threading.enumerate() if t.name == "resode-preload")
        thread.join(120)
        assert not thread.is_alive()
        missing = [m for m in heavy + ("resode_ui.live", "resode_ui.fit_store") if m not in sys.modules]
        assert not missing, missing
        import jax
        print("cache:", jax.config.jax_compilation_cache_dir)
        """
    )
    cache = tempfile.mkdtemp(prefix="resode-preload-")
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "RESODE_JAX_CACHE": cache, "RESODE_PRELOAD": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"cache: {cache}" in result.stdout


def _join_preload() -> None:
    for thread in threading.enumerate():
        if thread.name == "resode-preload":
            thread.join(30)


def test_switched_off_by_the_environment(monkeypatch):
    prepared = []
    monkeypatch.setattr(server, "prepare_process", lambda: prepared.append(True))
    monkeypatch.setenv("RESODE_PRELOAD", "0")
    _enter_and_leave(server.lifespan)
    _join_preload()
    assert prepared == []
    monkeypatch.setenv("RESODE_PRELOAD", "1")
    _enter_and_leave(server.lifespan)
    _join_preload()
    assert prepared == [True]


def test_a_failing_preparation_is_logged_not_raised(monkeypatch):
    uncaught, warnings = [], []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)
    monkeypatch.setattr(server.LOG, "warning", lambda *args: warnings.append(args))

    def broken():
        raise RuntimeError("no JAX today")

    monkeypatch.setattr(server, "prepare_process", broken)
    monkeypatch.setenv("RESODE_PRELOAD", "1")
    _enter_and_leave(server.lifespan)
    _join_preload()
    assert uncaught == []
    assert len(warnings) == 1 and "no JAX today" in repr(warnings[0])


def test_the_warm_up_waits_for_the_run_after_a_rerun():
    # A fresh server's first session reruns once to hand over to app.py's router; the warm-up
    # that starts with the server is that session, and must wait for the real run.
    client = _SilentClient()
    early = ForwardMsg()
    early.script_finished = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
    client.write_forward_msg(early)
    assert not client.finished.is_set()
    done = ForwardMsg()
    done.script_finished = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
    client.write_forward_msg(done)
    assert client.finished.is_set()

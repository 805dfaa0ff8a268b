"""Compiling ahead: a page's later programs compile in the background while it trains."""

import json
import os
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

from resode_ui import frame, warmup

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def ahead_on(monkeypatch):
    monkeypatch.setenv("RESODE_COMPILE_AHEAD", "1")
    monkeypatch.setattr(frame, "over_memory_limit", lambda: False)


def test_a_job_runs_once_per_key_in_a_background_thread(ahead_on):
    threads, done = [], threading.Event()

    def job():
        threads.append(threading.current_thread().name)
        done.set()

    key = ("test", uuid.uuid4().hex)
    assert warmup.compile_ahead(key, job)
    assert done.wait(30)
    assert threads == ["resode-ahead"]
    assert not warmup.compile_ahead(key, job)  # seen: nothing new starts
    assert threads == ["resode-ahead"]


def test_a_failing_job_is_logged_not_raised(ahead_on, monkeypatch):
    uncaught = []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)
    finished = threading.Event()

    def job():
        finished.set()
        raise RuntimeError("stand-in shapes no longer fit")

    assert warmup.compile_ahead(("test", uuid.uuid4().hex), job)
    assert finished.wait(30)
    for thread in threading.enumerate():
        if thread.name == "resode-ahead":
            thread.join(30)
    assert uncaught == []


def test_switched_off_by_the_environment_or_a_full_container(monkeypatch):
    ran = []
    monkeypatch.setenv("RESODE_COMPILE_AHEAD", "0")
    assert not warmup.compile_ahead(("test", uuid.uuid4().hex), lambda: ran.append(1))
    monkeypatch.setenv("RESODE_COMPILE_AHEAD", "1")
    monkeypatch.setattr(frame, "over_memory_limit", lambda: True)
    assert not warmup.compile_ahead(("test", uuid.uuid4().hex), lambda: ran.append(1))
    assert ran == []


COLD_SPIRAL = """
import json, os, sys
import jax, jax.monitoring
import streamlit as st
from streamlit.testing.v1 import AppTest
from resode_core import _aot
from resode_ui import warmup
from resode_ui.fit_store import clear_fit_stores

compiles = [0]
jax.monitoring.register_event_duration_secs_listener(
    lambda event, duration, **_: compiles.__setitem__(
        0, compiles[0] + (event == "/jax/core/compile/backend_compile_duration")
    )
)
AppTest.from_file("pages/home.py").run()  # the one-time JAX set-up first: it can't undo this
# Every program compiled from scratch: the counts must not depend on what is on disk.
_aot.set_export_store(None)
jax.config.update("jax_enable_compilation_cache", False)
in_jobs = []


def run_now(key, job):  # synchronously, so that the counts are exact
    before = compiles[0]
    job()
    in_jobs.append(compiles[0] - before)
    return True


totals = {}
# The first run also compiles what a process compiles once (small eager operations): discard it.
for ahead in (False, True, False):
    warmup.compile_ahead = run_now if ahead else (lambda key, job: False)
    jax.clear_caches()
    st.cache_data.clear()
    clear_fit_stores()
    compiles[0] = 0
    at = AppTest.from_file("pages/spiral.py", default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    totals[ahead] = compiles[0]
print(json.dumps({"ahead": totals[True], "plain": totals[False], "in_jobs": sum(in_jobs)}))
"""


def test_spiral_compiles_ahead_exactly_programs_it_uses_after_training():
    """Run in a new process: clearing JAX's caches here would make later tests recompile."""
    result = subprocess.run(
        [sys.executable, "-c", COLD_SPIRAL],
        cwd=ROOT,
        env={**os.environ, "RESODE_JAX_CACHE": tempfile.mkdtemp(prefix="resode-ahead-")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    # The stand-in calls compile the learned and true solves of the fit views and error map...
    assert counts["in_jobs"] >= 3, counts
    # ...and nothing the page would not compile anyway: a stand-in with the wrong shapes or
    # settings would add programs that the page then compiles again with its own.
    assert counts["ahead"] == counts["plain"], counts

"""Compiling ahead: a page's later programs compile in the background while it trains."""

import threading
import uuid

import jax
import pytest
import streamlit as st

from resode_core import _aot
from resode_ui import frame, warmup
from resode_ui.fit_store import clear_fit_stores


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


def _cold_spiral_compiles(open_page, compile_counter, monkeypatch, ahead) -> tuple[int, int]:
    """(compiles of the whole cold page run, of them inside compile-ahead jobs)."""
    in_jobs = []

    def run_now(key, job):  # synchronously, so the counts are exact
        before = compile_counter.count
        job()
        in_jobs.append(compile_counter.count - before)
        return True

    monkeypatch.setattr(warmup, "compile_ahead", run_now if ahead else lambda key, job: False)
    jax.clear_caches()
    st.cache_data.clear()
    clear_fit_stores()
    compile_counter.count = 0
    at = open_page("pages/spiral.py", timeout=300)
    assert not at.exception
    return compile_counter.count, sum(in_jobs)


@pytest.fixture
def no_disk_caches(open_page, monkeypatch):
    """Every program compiled from scratch: the counts must not depend on what is on disk."""
    open_page("pages/home.py")  # the process's one-time JAX set-up first, so it can't undo this
    monkeypatch.setitem(_aot._STORE, "dir", None)
    jax.config.update("jax_enable_compilation_cache", False)
    yield
    jax.config.update("jax_enable_compilation_cache", True)


def test_spiral_compiles_ahead_exactly_programs_it_uses_after_training(
    no_disk_caches, open_page, compile_counter, monkeypatch
):
    total_ahead, in_jobs = _cold_spiral_compiles(open_page, compile_counter, monkeypatch, True)
    total_plain, _ = _cold_spiral_compiles(open_page, compile_counter, monkeypatch, False)
    # The stand-in calls compile the learned and true solves of the fit views and error map.
    assert in_jobs >= 3
    # ...and nothing the page would not compile anyway: a stand-in with the wrong shapes or
    # settings would add programs that the page then compiles again with its own.
    assert total_ahead == total_plain

"""The server's own work: the start-up hook, the warm-up and memory housekeeping."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import types

import pytest
import streamlit as st
from streamlit import config as streamlit_config
from streamlit.web.server.app_discovery import discover_asgi_app

from resode_ui import server, training
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


def _join_prepare() -> None:
    for thread in threading.enumerate():
        if thread.name == "resode-prepare":
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
    assert not hasattr(module, "page")


def test_the_hook_imports_jax_and_every_lesson_in_a_fresh_process():
    # A fresh interpreter: this test process has imported all of it long ago.
    script = textwrap.dedent(
        """
        import asyncio, sys, threading
        from resode_ui.server import LESSONS, lifespan
        heavy = ("jax", "diffrax", "resode_core", "altair", "resode_ui.lessons.spiral")
        assert not [m for m in heavy if m in sys.modules], "imported too early"
        async def main():
            async with lifespan(None):
                pass
        asyncio.run(main())
        thread = next(t for t in threading.enumerate() if t.name == "resode-prepare")
        thread.join(120)
        assert not thread.is_alive()
        lessons = tuple(f"resode_ui.lessons.{name}" for name in LESSONS)
        missing = [m for m in heavy + lessons if m not in sys.modules]
        assert not missing, missing
        import jax
        from resode_ui import training
        print("cache:", jax.config.jax_compilation_cache_dir, "persist:", training.PERSIST)
        """
    )
    cache = tempfile.mkdtemp(prefix="resode-preload-")
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "RESODE_JAX_CACHE": cache, "RESODE_PRELOAD": "1", "RESODE_WARMUP": "0"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"cache: {cache} persist: True" in result.stdout


def test_switched_off_by_the_environment(monkeypatch):
    prepared = []
    monkeypatch.setattr(server, "prepare", lambda: prepared.append(True))
    monkeypatch.setattr(training, "PERSIST", False)
    monkeypatch.setenv("RESODE_PRELOAD", "0")
    _enter_and_leave(server.lifespan)
    _join_prepare()
    assert prepared == []
    monkeypatch.setenv("RESODE_PRELOAD", "1")
    _enter_and_leave(server.lifespan)
    _join_prepare()
    assert prepared == [True]


def test_a_failing_preparation_is_logged_not_raised(monkeypatch):
    warnings = []
    monkeypatch.setattr(server.LOG, "warning", lambda *args: warnings.append(args))
    monkeypatch.setattr(server, "LESSONS", ("no_such_lesson",))
    server.prepare()
    assert len(warnings) == 1 and "no_such_lesson" in repr(warnings[0])


def _fake_lessons(monkeypatch, calls: list, broken: str | None = None):
    """Lesson modules whose warm_up records that it ran, and whether it ran quietly."""
    modules = {}
    for name in ("first", "second", "third"):

        def warm_up(name=name):
            if name == broken:
                raise RuntimeError("no JAX today")
            calls.append((name, training._is_quiet()))

        modules[f"resode_ui.lessons.{name}"] = types.SimpleNamespace(warm_up=warm_up)
    # The first lesson also prepares settings one move away, after every page's defaults,
    # and the third one prepares its first chart before any lesson's defaults.
    modules["resode_ui.lessons.first"].warm_up_more = lambda: calls.append(
        ("first, one move away", training._is_quiet())
    )
    modules["resode_ui.lessons.third"].warm_up_first = lambda: calls.append(
        ("third, first chart", training._is_quiet())
    )
    monkeypatch.setattr(server, "LESSONS", ("first", "second", "third"))
    monkeypatch.setattr(server.importlib, "import_module", modules.__getitem__)
    monkeypatch.setattr(server, "gc", types.SimpleNamespace(collect=lambda: 0, freeze=lambda: None))
    monkeypatch.setattr(server, "trim", lambda force=False: None)


def test_the_warm_up_calls_every_lesson_quietly_and_survives_a_broken_one(monkeypatch):
    calls, drops = [], []
    _fake_lessons(monkeypatch, calls, broken="second")
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: True)
    monkeypatch.setattr(
        server, "drop_programs", lambda keep=None, only_if_idle=False: drops.append(keep)
    )
    server.warm_up()
    # First charts first, then every page's defaults, then what lies one move away.
    assert calls == [
        ("third, first chart", True),
        ("first", True),
        ("third", True),
        ("first, one move away", True),
    ]
    assert drops == [None] * 4  # over the limit: programs dropped after each lesson
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: False)
    server.warm_up()
    assert len(drops) == 4


def test_only_a_page_not_in_memory_drops_the_programs(monkeypatch):
    drops = []

    def record(keep=None, only_if_idle=False):
        drops.append(keep)
        server.MEMORY.loaded = {keep} if keep else set()

    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: True)
    monkeypatch.setattr(server, "drop_programs", record)
    monkeypatch.setattr(server.MEMORY, "loaded", set())

    def visit(page):
        with server.page_run(page):
            pass

    visit("spiral")
    assert drops == ["spiral"]  # the first page: nothing of it is in memory yet
    visit("spiral"), visit("spiral")  # reruns, and a second student on the same page
    assert len(drops) == 1
    visit("solvers")  # another page, over the limit: room is made for it
    assert drops == ["spiral", "solvers"]
    visit("spiral")  # back to the first, whose programs were dropped
    assert len(drops) == 3
    # Never while another run is under way: it may be using the programs.
    with server.page_run("spiral"):
        visit("lotka_volterra")
    assert len(drops) == 3
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: False)
    visit("your_data")
    assert len(drops) == 3  # under the limit nothing is dropped


def test_the_warm_up_waits_for_page_runs_under_way_but_not_forever(monkeypatch):
    calls = []
    _fake_lessons(monkeypatch, calls)
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: False)
    monkeypatch.setattr(server, "VISITOR_WAIT_S", 0.3)
    started = time.monotonic()
    with server.page_run("spiral"):  # a visitor's run that outlasts the wait
        server.warm_up()
    waited = time.monotonic() - started
    assert [name for name, _ in calls] == [
        "third, first chart",
        "first",
        "second",
        "third",
        "first, one move away",
    ]
    assert 1.5 <= waited < 7  # five warm-ups, each waited its 0.3 s for the visitor
    calls.clear()
    started = time.monotonic()
    server.warm_up()  # nobody visiting: no waiting
    assert len(calls) == 5 and time.monotonic() - started < 0.3


def test_replicas_sharing_a_cache_warm_up_in_turn(tmp_path):
    order = []
    inside = threading.Event()

    def first_replica():
        with server.one_warm_up_at_a_time(str(tmp_path)):
            order.append("first starts")
            inside.set()
            time.sleep(0.3)
            order.append("first ends")

    thread = threading.Thread(target=first_replica)
    thread.start()
    inside.wait(5)
    with server.one_warm_up_at_a_time(str(tmp_path)):  # a lock file: works across processes alike
        order.append("second starts")
    thread.join()
    assert order == ["first starts", "first ends", "second starts"]
    assert (tmp_path / "warm-up.lock").exists()


def test_the_warm_up_pauses_while_a_page_runs_within_its_budget(monkeypatch):
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: False)
    with training.quietly(give_way=server.GiveWay(budget_s=0.5)):
        started = time.monotonic()
        training.pause_point(0.3, "a step")  # no page run under way: no pause
        assert time.monotonic() - started < 0.1
        with server.page_run("a visitor's page"):
            started = time.monotonic()
            training.pause_point(0.6, "a step")  # waits, until the budget is spent
            waited = time.monotonic() - started
            training.pause_point()  # the lesson's budget is spent: go on at once
            again = time.monotonic() - started - waited
    assert 0.4 <= waited < 1.5 and again < 0.1
    started = time.monotonic()
    with server.page_run("a visitor's page"):
        training.pause_point()  # outside the warm-up's quietly(give_way): never a pause
    assert time.monotonic() - started < 0.1


def test_programs_are_dropped_only_if_idle_when_asked(monkeypatch):
    cleared = []
    monkeypatch.setattr("jax.clear_caches", lambda: cleared.append(True))
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: False)
    with server.page_run("a visitor's page"):
        assert not server.drop_programs(only_if_idle=True) and not cleared
    assert server.drop_programs(only_if_idle=True) and cleared == [True]


def test_the_warm_up_keeps_ahead_of_the_class(monkeypatch):
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: False)
    monkeypatch.setattr(server.MEMORY, "last_page", None)
    everything = list(server.LESSONS)
    assert server.next_lesson(everything) == server.LESSONS[0]  # nobody here yet
    with server.page_run("vanishing_gradients"):  # a page run records where the class is
        pass
    assert server.next_lesson(everything) == "vanishing_gradients"  # the visitor's own page
    assert server.next_lesson(everything[2:]) == "identity_experiment"  # then the next one
    assert server.next_lesson(["spiral", "recap", "solvers"]) == "solvers"
    monkeypatch.setattr(server.MEMORY, "last_page", "recap")  # no lesson after the last one
    assert server.next_lesson(["spiral", "solvers"]) == "spiral"
    monkeypatch.setattr(server.MEMORY, "last_page", "")  # the Welcome page
    assert server.next_lesson(["solvers", "spiral"]) == "solvers"


def test_the_sidebar_order_is_the_routers():
    from tests.e2e.app_pages import registered_pages

    assert server.SIDEBAR == tuple(p.url_path for p in registered_pages() if not p.default)
    assert set(server.SIDEBAR) == set(server.LESSONS)


class EndOfReadings(Exception):
    pass


def test_the_memory_watch_logs_each_new_peak_with_what_ran(monkeypatch):
    readings = iter([100.0, 110.0, 126.0, 130.0, 151.0, 152.0])

    def resident():
        try:
            return next(readings)
        except StopIteration:
            raise EndOfReadings from None  # ends the watch's loop

    logged = []
    monkeypatch.setattr(server, "resident_mb", resident)
    monkeypatch.setattr(server.LOG, "info", lambda *args: logged.append(args))
    monkeypatch.setattr(server.MEMORY, "warming", "warm_up spiral")
    monkeypatch.setattr(server.MEMORY, "pages_running", {"solvers": 1})
    with pytest.raises(EndOfReadings):
        server.watch_memory(step_mb=25.0, every_s=0.0)
    assert [args[1] for args in logged] == [100.0, 126.0, 151.0]
    assert all(args[2:] == ("warm_up spiral", "solvers") for args in logged)


def test_a_page_run_is_listed_while_under_way(monkeypatch):
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: False)
    with server.page_run("solvers"), server.page_run("solvers"):
        assert server.MEMORY.pages_running["solvers"] == 2
    assert "solvers" not in server.MEMORY.pages_running


def test_the_warm_up_hands_the_gil_over_often(monkeypatch):
    _fake_lessons(monkeypatch, [])
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: False)
    previous = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        server.warm_up()
        assert sys.getswitchinterval() == pytest.approx(server.SWITCH_INTERVAL_S)
    finally:
        sys.setswitchinterval(previous)


def test_the_warm_up_compiles_in_the_background(monkeypatch):
    """Its stored programs compile after visitors' (resode_core.background_compiles)."""
    from resode_core import _aot

    seen = []
    _fake_lessons(monkeypatch, [])
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: False)
    monkeypatch.setattr(server, "LESSONS", ("first",))
    monkeypatch.setattr(
        server.importlib,
        "import_module",
        lambda name: types.SimpleNamespace(
            warm_up=lambda: seen.append(getattr(_aot._THREAD, "background", False))
        ),
    )
    server.warm_up()
    assert seen == [True]
    assert not getattr(_aot._THREAD, "background", False)  # only while it warms up


def test_the_warm_up_makes_room_for_the_next_lesson_before_the_limit(monkeypatch):
    monkeypatch.setattr(server, "resident_mb", lambda: 400.0)
    monkeypatch.setattr(server, "MEMORY_LIMIT_MB", 500.0)
    assert not server.over_limit()
    assert server.over_limit(server.COMPILE_HEADROOM_MB)  # 400 > 500 − 150
    monkeypatch.setattr(server, "MEMORY_LIMIT_MB", 0.0)  # no limit set: never
    assert not server.over_limit(server.COMPILE_HEADROOM_MB)


def test_the_warm_up_makes_room_between_steps_but_not_between_chunks(monkeypatch):
    drops = []
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: headroom_mb > 0)
    monkeypatch.setattr(
        server, "drop_programs", lambda keep=None, only_if_idle=False: drops.append(only_if_idle)
    )
    with training.quietly(give_way=server.GiveWay(budget_s=0.5)):
        training.pause_point()  # after a training chunk: its program runs again next
        assert drops == []
        training.pause_point(0.5, "the second model")  # between two steps of a study
        assert drops == [True]
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: False)
    with training.quietly(give_way=server.GiveWay(budget_s=0.5)):
        training.pause_point(0.5, "the second model")
    assert drops == [True]  # with room to spare, nothing is dropped


def test_with_memory_tight_the_warm_up_waits_for_visitors_beyond_its_budget(monkeypatch):
    waits = []
    monkeypatch.setattr(
        server, "wait_for_visitors", lambda limit_s=None, unless=None: waits.append(limit_s)
    )
    monkeypatch.setattr(server, "drop_programs", lambda keep=None, only_if_idle=False: True)
    give_way = server.GiveWay(budget_s=0.0)  # the lesson's budget is spent
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: False)
    give_way()
    assert waits == []  # room to spare: no more waiting this lesson
    monkeypatch.setattr(server, "over_limit", lambda headroom_mb=0.0: headroom_mb > 0)
    give_way()
    assert waits == [server.TIGHT_WAIT_S]  # tight: a visitor's run goes first


def _page_with_a_section():
    import streamlit as st

    from resode_ui import server, widgets as ui

    @ui.fragment
    def section():
        with server.MEMORY.lock:
            st.write(f"runs {server.MEMORY.running}, pages {sorted(server.MEMORY.pages_running)}")
        st.write(f"dropped {server.drop_programs(only_if_idle=True)}")

    section()


def test_a_section_rerun_counts_as_a_run_of_its_page():
    """A fragment's rerun (a cost-table or extrapolation move) does not pass through app.py's
    page_run; widgets.fragment counts it, so the warm-up waits for it and drops nothing."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page_with_a_section, default_timeout=60).run()
    assert not at.exception
    shown = [m.value for m in at.markdown]
    assert len(shown) == 2 and shown[0].startswith("runs 1, pages [")  # the page's file name
    assert shown[1] == "dropped False"
    assert server.MEMORY.running == 0 and not server.MEMORY.pages_running


def test_ast_parsing_is_one_thread_at_a_time(monkeypatch):
    """Python 3.11's AST constructor shares its recursion depth between threads (a page's
    first parse failed with a SystemError beside the warm-up): the server serialises it."""
    import ast
    import threading

    monkeypatch.setattr(ast, "parse", ast.parse)  # restored after the test
    server.serialise_ast_parsing()
    server.serialise_ast_parsing()  # once only: not wrapped twice
    assert ast.parse.serialised and ast.parse("x = 1").body[0].targets[0].id == "x"
    closure = [c.cell_contents for c in ast.parse.__closure__]
    lock = next(c for c in closure if isinstance(c, type(threading.Lock())))
    assert not any(getattr(c, "serialised", False) for c in closure if callable(c))
    with lock:  # while another thread parses, a second one waits
        parser = threading.Thread(target=ast.parse, args=("y = 2",))
        parser.start()
        parser.join(0.3)
        assert parser.is_alive()
    parser.join(5)
    assert not parser.is_alive()

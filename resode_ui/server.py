"""The server's own work, which no page sees: start-up, warm-up and memory housekeeping.

`streamlit run app.py` finds the `st.App` that app.py defines and calls `lifespan` once the
server is up. A background thread then imports JAX and every lesson, and warms each lesson
by calling its cached functions with its default and preset settings (`warm_up()` in each
`resode_ui/lessons` module), spiral first, so the first students find results computed and
programs compiled. `RESODE_PRELOAD=0` skips the thread, `RESODE_WARMUP=0` the warm-up.

Compiling diffrax programs takes memory that glibc keeps after it is freed; on Streamlit
Community Cloud's 690 MB containers that decides whether the app survives. So freed memory
goes back to the OS after page runs, and within COMPILE_HEADROOM_MB of RESODE_MEMORY_LIMIT_MB
(default 500) a visit to a page whose programs are not in memory first drops every compiled
program (results stay cached; a dropped program comes back from the disk caches in about a
second), as the warm-up does between lessons and between a study's steps.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

LOG = logging.getLogger("resode.server")
if not LOG.handlers:  # the server's own log lines, beside Streamlit's
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    LOG.addHandler(_handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False
# The lessons in the sidebar's order (app.py's navigation; a test keeps the two equal). A
# class goes through the pages in this order, so once a visitor has opened a lesson the
# warm-up goes on from that lesson in this order (`next_lesson`): the next page is ready
# when the class gets there, instead of being computed by its first visitor while the
# warm-up compiles another.
SIDEBAR = (
    "vanishing_gradients",
    "identity_experiment",
    "resnet_euler",
    "solvers",
    "regression_flow",
    "resnet_vs_node",
    "spiral",
    "lotka_volterra",
    "your_data",
    "recap",  # last: its panels are the other lessons' cached defaults
)
HEADLINE = "spiral"
# Warm-up order without visitors: the headline lesson first, then the sidebar's order.
LESSONS = (HEADLINE, *(name for name in SIDEBAR if name != HEADLINE))
MEMORY_LIMIT_MB = float(os.environ.get("RESODE_MEMORY_LIMIT_MB", "500"))
TRIM_INTERVAL_S = 5.0
# What one lesson's warm-up adds at its peak to where it starts. Regression as a flow: +135 MB
# after a drop, but +300 MB with the solvers' programs still loaded (the freed memory of the
# dropped programs is reused). So the warm-up drops between lessons from limit − this on.
COMPILE_HEADROOM_MB = 150.0
VISITOR_WAIT_S = 10.0  # the warm-up gives way to page runs at most this long per lesson
# ... unless memory is within COMPILE_HEADROOM_MB of the limit: then compiling ahead beside a
# visitor's run is what would stop a small container, so each pause waits up to this long.
# (A new width on ResNet vs NODE compiles nine gradients in the visitor's run, ~26 s; the
# warm-up going on with the spiral beside it made the fresh class's peak, 716 MB.)
TIGHT_WAIT_S = 60.0
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # glibc mallopt parameters
# The warm-up's tracing is pure Python, while a visitor's run on a page already compiled makes
# hundreds of short calls that each give the GIL up and wait up to this long to get it back.
# At Python's default of 5 ms, a 0.05 s cost-table move took 1.5-2 s while a lesson traced
# beside it; at 1 ms, at most 0.25 s (measured in-process, 20 moves each).
SWITCH_INTERVAL_S = 0.001


class _Memory:
    """Which pages ran since programs were last dropped, and which runs are under way."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loaded: set[str] = set()
        self.last_page: str | None = None  # the page a visitor opened last
        self.running = 0
        self.pages_running: dict[str, int] = {}  # page -> runs under way (for the log)
        self.warming: str | None = None  # what the warm-up is doing now (for the log)
        self.watching = False  # watch_memory's thread is started
        self.last_trim = 0.0
        try:
            self.libc = ctypes.CDLL("libc.so.6")
        except OSError:  # not glibc (macOS, musl): nothing to trim
            self.libc = None
        else:
            # Few arenas, and big blocks straight from mmap: compiler scratch memory goes back
            # to the OS when freed instead of raising the high-water mark of every arena.
            self.libc.mallopt(M_ARENA_MAX, 2)
            self.libc.mallopt(M_MMAP_THRESHOLD, 256 * 1024)


MEMORY = _Memory()


def _status_mb(field: str) -> float:
    """A memory field of /proc/self/status in MB (0 where there is no /proc)."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def resident_mb() -> float:
    return _status_mb("VmRSS")


def peak_mb() -> float:
    """The process's peak resident memory so far (VmHWM)."""
    return _status_mb("VmHWM")


def trim(*, force: bool = False) -> None:
    """Hand memory that XLA's compiler freed back to the OS (at most every few seconds)."""
    with MEMORY.lock:
        now = time.monotonic()
        if MEMORY.libc is None or (not force and now - MEMORY.last_trim < TRIM_INTERVAL_S):
            return
        MEMORY.last_trim = now
    MEMORY.libc.malloc_trim(0)


def drop_programs(keep: str | None = None, *, only_if_idle: bool = False) -> bool:
    """Free every compiled JAX program (cached results stay); `keep` counts as loaded.

    With `only_if_idle`, only while no page run is under way (the check and the drop hold
    the lock that page runs take to start). Returns whether the programs were dropped.
    """
    import resode_core

    with MEMORY.lock:
        if only_if_idle and MEMORY.running:
            return False
        MEMORY.loaded = {keep} if keep else set()
        resode_core.clear_programs()
    gc.collect()
    trim(force=True)
    return True


def over_limit(headroom_mb: float = 0.0) -> bool:
    """Whether resident memory is past the limit less `headroom_mb` (never without a limit)."""
    return bool(MEMORY_LIMIT_MB) and resident_mb() > MEMORY_LIMIT_MB - headroom_mb


def _run_started(page: str) -> None:
    """Count a run of `page` as under way (the caller holds MEMORY.lock)."""
    MEMORY.running += 1
    MEMORY.pages_running[page] = MEMORY.pages_running.get(page, 0) + 1


def _run_ended(page: str) -> None:
    with MEMORY.lock:
        MEMORY.running -= 1
        MEMORY.pages_running[page] -= 1
        if not MEMORY.pages_running[page]:
            del MEMORY.pages_running[page]
    trim()


@contextlib.contextmanager
def page_run(page: str) -> Iterator[None]:
    """Around one run of a page (app.py): make room first if needed, trim afterwards.

    Decided per page, not per session: thirty students arriving on the page already in
    memory add nothing, while one who opens another page is about to compile or load its
    programs, which needs room (COMPILE_HEADROOM_MB below the limit, as the warm-up's
    lessons). Programs are dropped only when no other run is under way, since it may be
    using them.
    """
    with MEMORY.lock:
        new = page not in MEMORY.loaded
        MEMORY.loaded.add(page)
        MEMORY.last_page = page
        alone = MEMORY.running == 0
        _run_started(page)
    try:
        if new and alone and over_limit(COMPILE_HEADROOM_MB):
            drop_programs(keep=page)
        yield
    finally:
        _run_ended(page)


@contextlib.contextmanager
def fragment_run(page: str) -> Iterator[None]:
    """Around one rerun of a section of a page (`widgets.fragment`), which app.py's
    `page_run` does not see: counted as a run under way, so the warm-up gives way to it
    and drops no programs under it, as for a whole page's run."""
    with MEMORY.lock:
        _run_started(page)
    try:
        yield
    finally:
        _run_ended(page)


def watch_memory(step_mb: float = 25.0, every_s: float = 0.05) -> None:
    """Log every new peak of resident memory (each `step_mb` higher than the last logged)
    with what was running then: the warm-up's step and the pages' runs. Peaks last a fraction
    of a second; this says which work to blame for them."""
    logged = 0.0
    while True:
        resident = resident_mb()
        if resident >= logged + step_mb:
            logged = resident
            with MEMORY.lock:
                pages = ", ".join(sorted(MEMORY.pages_running)) or "none"
                warming = MEMORY.warming or "idle"
            LOG.info(
                "memory: new peak %.0f MB (warm-up: %s; pages running: %s)",
                resident,
                warming,
                pages,
            )
        time.sleep(every_s)


def wait_for_visitors(
    limit_s: float | None = None, unless: Callable[[], bool] | None = None
) -> None:
    """Let page runs under way finish first (their compiles would stack with the warm-up's),
    but not forever (VISITOR_WAIT_S unless `limit_s`): a busy class must not keep the other
    pages cold. Ends at once when `unless()` is true (a run waits for the warm-up)."""
    deadline = time.monotonic() + (VISITOR_WAIT_S if limit_s is None else limit_s)
    while time.monotonic() < deadline:
        if unless is not None and unless():
            return
        with MEMORY.lock:
            if MEMORY.running == 0:
                return
        time.sleep(0.1)


class GiveWay:
    """The warm-up's pauses inside one lesson (`training.pause_point`: after each training
    chunk, between the steps of a study): wait while page runs are under way, at most
    VISITOR_WAIT_S in all for the lesson, or up to TIGHT_WAIT_S at each pause while memory is
    within COMPILE_HEADROOM_MB of the limit. A visitor who opens a page mid-lesson then has
    the cores, and the compiles the warm-up would have started meanwhile do not stack with
    the visitor's.

    Between steps it also makes room as between lessons (`over_limit(COMPILE_HEADROOM_MB)`):
    a lesson's steps each compile programs of their own that pile up (regression flow's
    presets: 725 MB at the end, 543 with these drops; measured standalone). Never after a
    training chunk: the next chunk runs the same program, which would come back from disk
    each time (the spiral's 300 epochs: 0.6 -> 8 s)."""

    def __init__(self, budget_s: float | None = None) -> None:
        self.left_s = VISITOR_WAIT_S if budget_s is None else budget_s

    def __call__(
        self, *, between_steps: bool = False, unless: Callable[[], bool] | None = None
    ) -> None:
        tight = over_limit(COMPILE_HEADROOM_MB)
        if tight:
            wait_for_visitors(TIGHT_WAIT_S, unless)
        elif self.left_s > 0:
            started = time.monotonic()
            wait_for_visitors(self.left_s, unless)
            self.left_s -= time.monotonic() - started
        if between_steps and tight:
            drop_programs(only_if_idle=True)


@contextlib.contextmanager
def one_warm_up_at_a_time(folder: str | None = None) -> Iterator[None]:
    """Replicas sharing the disk caches warm up in turn (a lock file in the JAX cache folder):
    the first compiles and stores, the next ones load what it stored."""
    import jax

    folder = folder or jax.config.jax_compilation_cache_dir  # set by the lessons' import
    try:
        import fcntl
    except ImportError:  # not POSIX: warm up at once
        folder = None
    if not folder:
        yield
        return
    path = os.path.join(folder, "warm-up.lock")
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def warm_up() -> None:
    """Fill every lesson's caches, one lesson at a time: first the first charts that a page
    opened first would compile (`warm_up_first()`, where a lesson has one), then every
    page's defaults (`warm_up()`), then the settings one move away whose first use costs
    seconds (`warm_up_more()`, where a lesson has one)."""
    from resode_ui import training

    # From now on visitors' runs share the GIL with the warm-up's tracing. (Not earlier: while
    # the start-up thread imports the lessons beside a first visitor's page, 1 ms made the
    # fresh server's first spiral fit 0.6 s later, 10.1-10.3 s against 9.6 s.)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    import resode_core

    # Visitors' compiles first: a new width on ResNet vs NODE compiles nine gradients in a row,
    # and each waited for the warm-up's compile started in the gap before it.
    with one_warm_up_at_a_time(), resode_core.background_compiles():
        started = time.perf_counter()
        _warm_every_lesson(training, "warm_up_first", "warm-up, first chart: %s in %.1f s")
        _warm_every_lesson(training, "warm_up", "warm-up: %s in %.1f s")
        LOG.info("warm-up: every page's defaults in %.1f s", time.perf_counter() - started)
        _warm_every_lesson(training, "warm_up_more", "warm-up, one move away: %s in %.1f s")
    # What exists now lives as long as the server: freezing it keeps Python's collector
    # from walking those ~400 000 objects again and again.
    gc.collect()
    gc.freeze()
    LOG.info("warm-up: all lessons in %.1f s", time.perf_counter() - started)


def next_lesson(todo: list[str]) -> str:
    """The lesson to warm next, of those in `todo`: the page a visitor opened last, or the
    first after it in the sidebar's order; without one, the first in LESSONS' order. (On
    the visitor's own page the warm-up mostly waits for the results the visitor's run is
    computing, instead of compiling another page's programs alongside it.)"""
    with MEMORY.lock:
        last = MEMORY.last_page
    if last in SIDEBAR:
        ahead = [name for name in SIDEBAR[SIDEBAR.index(last) :] if name in todo]
        if ahead:
            return ahead[0]
    return todo[0]


def _warm_every_lesson(training, function: str, message: str) -> None:
    todo = list(LESSONS)
    while todo:
        name = next_lesson(todo)
        todo.remove(name)
        began = time.perf_counter()
        try:
            module = importlib.import_module(f"resode_ui.lessons.{name}")
            warm = getattr(module, function, None)
            if warm is None:
                continue
            wait_for_visitors(TIGHT_WAIT_S if over_limit(COMPILE_HEADROOM_MB) else None)
            MEMORY.warming = f"{function} {name}"
            with training.quietly(give_way=GiveWay()):
                warm()
        except Exception as error:  # an optimisation only: never break the app
            LOG.warning("warm-up of %s skipped: %r", name, error)
            continue
        finally:
            MEMORY.warming = None
        # The lesson's results are cached and its programs on disk now: its compiled
        # programs are worth less than the room the next lesson needs to compile in (up to
        # COMPILE_HEADROOM_MB more). A drop must not pull programs from under a visitor's
        # run, so it waits for a moment without one (a visitor's moves leave such moments),
        # rather than being skipped whenever a run is under way.
        if over_limit(COMPILE_HEADROOM_MB):
            wait_for_visitors()
            drop_programs(only_if_idle=True)
        trim(force=True)
        LOG.info(
            message + " (resident %.0f MB, peak so far %.0f MB)",
            name,
            time.perf_counter() - began,
            resident_mb(),
            peak_mb(),
        )


def prepare() -> None:
    """Import every lesson (and with them JAX, diffrax, the caches), then warm them up."""
    try:
        for name in LESSONS:
            importlib.import_module(f"resode_ui.lessons.{name}")
    except Exception as error:  # a head start only: the first visit does it anyway
        LOG.warning("preparing the server at start skipped: %r", error)
        return
    if os.environ.get("RESODE_WARMUP", "1") != "0":
        warm_up()


def serialise_ast_parsing() -> None:
    """Let one thread at a time run `ast.parse`. CPython 3.11 keeps the
    AST constructor's recursion depth in state shared by all threads, so two threads parsing
    at once can fail with "SystemError: AST constructor recursion depth mismatch"
    (python/cpython#106905). Streamlit parses a page's source on its first visit; a fresh
    class met that error once, on the solvers page, while the warm-up ran beside it. It
    applies on every version: whether 3.12 still shares that depth is unchecked."""
    import ast

    if getattr(ast.parse, "serialised", False):  # installed once
        return
    parse, lock = ast.parse, threading.Lock()

    def serialised(*args, **kwargs):
        with lock:
            return parse(*args, **kwargs)

    serialised.serialised = True
    ast.parse = serialised


@contextlib.asynccontextmanager
async def lifespan(app) -> AsyncIterator[None]:
    """st.App's start-up hook: hand the slow preparation to a thread and serve at once."""
    del app
    from resode_ui import streamlit_private, training

    streamlit_private.route_deep_links_through_app()
    serialise_ast_parsing()
    training.PERSIST = True  # a real server: finished fits go to disk
    if os.environ.get("RESODE_PRELOAD", "1") != "0":
        threading.Thread(target=prepare, name="resode-prepare", daemon=True).start()
    with MEMORY.lock:
        watching, MEMORY.watching = MEMORY.watching, True
    if not watching:
        threading.Thread(target=watch_memory, name="resode-memory-watch", daemon=True).start()
    yield

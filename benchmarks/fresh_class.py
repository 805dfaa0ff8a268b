"""fresh-class: the hard case, as the first student of a new server meets it (issue #16).

A new `streamlit run app.py` with empty caches (a new JAX compilation cache and fit folder)
and the warm-up on. As soon as the server answers /_stcore/health, one visitor (one Chromium
context, 1366×768) opens every page in the sidebar's order, by clicking its sidebar link,
while the warm-up runs. On each page it records

  first content  the page's title and text shown and its first chart drawn (the Welcome page
                 has no chart: title and text), from the click
  idle           the page's script finished (`notRunning`, still so 200 ms later), from the click
  fitted spiral  (spiral page) the metric "Epochs run" shown: the default fit is done

and then moves the page's first three enabled sliders (main area first, then the sidebar;
select_sliders count as sliders, they are the same widget) right, left, right with the
keyboard (left, right, left for a slider at its maximum). A move is timed in the page, from
the keydown until the script is idle again (checked twice, 200 ms apart) and every chart is
drawn. The first move requests a value this server has not been asked for by the visitor
("new value"); the second goes back to the default and the third repeats the first ("seen
before"). A thread samples the server's VmRSS every 100 ms; VmHWM is read at the end, once
the warm-up has logged `warm-up: all lessons in X s` (or 10 minutes after the visitor is done).

Nothing here asserts on time: it prints numbers and returns them for the JSON report.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from e2e.app_pages import RegisteredPage, registered_pages  # noqa: E402

VIEWPORT = {"width": 1366, "height": 768}
SLIDERS_PER_PAGE = 3
RIGHT_LEFT_RIGHT = ("ArrowRight", "ArrowLeft", "ArrowRight")
MIRRORED = ("ArrowLeft", "ArrowRight", "ArrowLeft")  # for a slider at its maximum
SAMPLE_S = 0.1
STARTUP_TIMEOUT_S = 120
PAGE_TIMEOUT_MS = 900_000  # a cold lesson under a running warm-up on a busy machine
MOVE_TIMEOUT_MS = 300_000
WARMUP_WAIT_S = 600  # after the visitor is done
SPIRAL_METRIC = "Epochs run"  # shown once the spiral page's default fit is done
LOG_DIR = ROOT / "benchmarks" / "results"  # gitignored
WARMUP_LESSON = re.compile(r"warm-up: (\w+) in ([\d.]+) s")
WARMUP_DONE = re.compile(r"warm-up: all lessons in ([\d.]+) s")

# Runs in the page before Streamlit loads; the benchmark talks to it as `window.__bench`.
# An element counts only when shown and not stale (Streamlit greys out, with data-stale, what
# the running script has not redrawn yet). A Vega chart counts as drawn once its svg or canvas
# has a size and (svg) at least one mark. The websocket is watched to know that a key press
# did send a rerun request and that the server replied, since a quick run can start and end
# between two looks at the app's script-state attribute; every change of that attribute to
# "running" is counted, so that an idle moment only counts if no run began within it.
PROBE = r"""
(() => {
  const SLIDER = '[data-testid="stSlider"] input[type="range"], [data-testid="stSlider"] [role="slider"]';
  const CHART = '[data-testid="stVegaLiteChart"]';
  const ERROR = '[data-testid="stException"], [data-testid="stAlertContentError"]';
  const QUIET = 200;
  const fresh = (el) => !el.closest('[data-stale="true"]');
  const shown = (el) => el.getClientRects().length > 0;
  const current = (selector, root = document) =>
    [...root.querySelectorAll(selector)].filter((el) => fresh(el) && shown(el));
  const state = () =>
    document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state');
  const drawn = (chart) => {
    const view = chart.querySelector('svg.marks, canvas.marks') || chart.querySelector('svg, canvas');
    if (!view) return false;
    const box = view.getBoundingClientRect();
    if (box.width < 1 || box.height < 1) return false;
    return view.tagName.toLowerCase() === 'canvas' || view.querySelector('g.role-mark > *') !== null;
  };
  const allDrawn = () => current(CHART).every(drawn)
    && current('[data-testid="stMain"] [data-testid="stSkeleton"]').length === 0;
  const bench = {runs: 0, lastState: null, page: null, move: null};

  const sockets = new WeakSet();
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (!sockets.has(this)) {
      sockets.add(this);
      this.addEventListener('message', () => {
        if (bench.move && bench.move.requested) bench.move.received = performance.now();
      });
    }
    if (bench.move && bench.move.t0 && !bench.move.requested) bench.move.requested = performance.now();
    return send.call(this, data);
  };
  const observer = new MutationObserver(() => {
    const now = state();
    if (now === 'running' && bench.lastState !== 'running') bench.runs++;
    bench.lastState = now;
  });
  const observe = () => observer.observe(document.documentElement, {subtree: true,
    attributes: true, attributeFilter: ['data-test-script-state']});
  if (document.documentElement) observe(); else document.addEventListener('DOMContentLoaded', observe);

  // Idle: notRunning now and 200 ms later, with no run started in between.
  const idleSince = (watch, ready, now) => {
    if (!ready || state() !== 'notRunning') { watch.candidate = null; return null; }
    if (watch.candidate === null || bench.runs !== watch.runsAtCandidate) {
      watch.candidate = now;
      watch.runsAtCandidate = bench.runs;
      return null;
    }
    return now - watch.candidate >= QUIET ? watch.candidate : null;
  };

  // A page opened at t0 (performance.now(); 0 for a fresh document): what shows when.
  bench.watchPage = (t0, previousTitle, needChart, metric) => {
    const w = {t0, title: null, content: null, idle: null, fitted: null, fittedValue: null,
               error: false, done: false, candidate: null, runsAtCandidate: 0};
    bench.page = w;
    const tick = () => {
      if (bench.page !== w) return;
      const now = performance.now();
      const title = current('[data-testid="stMain"] h1')
        .map((el) => el.innerText.trim()).find((text) => text && text !== previousTitle);
      if (title && w.title === null) w.title = title;
      const text = current('[data-testid="stMain"] [data-testid="stMarkdown"]')
        .some((el) => el.innerText.trim());
      const charts = current(CHART);
      const chart = !needChart || (charts.length > 0 && drawn(charts[0]));
      if (w.content === null && title && text && chart) w.content = now - t0;
      if (metric && w.fitted === null && title) {
        const found = current('[data-testid="stMetric"]').find((el) =>
          el.querySelector('[data-testid="stMetricLabel"]')?.innerText.includes(metric));
        if (found) {
          w.fitted = now - t0;
          w.fittedValue = found.querySelector('[data-testid="stMetricValue"]')?.innerText.trim();
        }
      }
      w.error = current(ERROR).length > 0;
      if (w.idle === null) {
        const since = idleSince(w, Boolean(title) || w.error, now);
        if (since !== null) w.idle = since - t0;
      }
      w.done = w.idle !== null && (w.content !== null || w.error)
        && (!metric || w.fitted !== null || w.error);
      if (!w.done) setTimeout(tick, 25);
    };
    tick();
    return true;
  };

  // Open a page by its sidebar link (false if the link is not shown).
  bench.clickLink = (urlPath, previousTitle, needChart, metric) => {
    const link = [...document.querySelectorAll('[data-testid="stSidebarNavLink"]')]
      .find((a) => new URL(a.href).pathname.replace(/^\/+|\/+$/g, '') === urlPath);
    if (!link || !shown(link)) return false;
    bench.watchPage(performance.now(), previousTitle, needChart, metric);
    link.click();
    return true;
  };

  const enabledSliders = () => {
    const pick = (selector) => {
      const root = document.querySelector(selector);
      return root ? current(SLIDER, root).filter((el) => !el.disabled
        && el.getAttribute('aria-disabled') !== 'true') : [];
    };
    return [...pick('[data-testid="stMain"]'), ...pick('[data-testid="stSidebar"]')];
  };
  const valueOf = (el) => el.value ?? el.getAttribute('aria-valuenow');
  bench.sliders = () => enabledSliders().map((el) => ({
    label: el.getAttribute('aria-label') || '', value: valueOf(el),
    min: el.getAttribute('min') ?? el.getAttribute('aria-valuemin'),
    max: el.getAttribute('max') ?? el.getAttribute('aria-valuemax')}));
  // The armed slider's value (while the script runs, the greyed-out page lists fewer sliders).
  bench.movedValue = () => (bench.move && bench.move.el ? valueOf(bench.move.el) : null);
  bench.idle = () => state() === 'notRunning';
  bench.problems = () => current(ERROR).map((el) => el.innerText.slice(0, 300));

  // Focus slider `index` and arm the clock: the next keydown starts it.
  bench.arm = (index) => {
    const el = enabledSliders()[index];
    if (!el) return null;
    el.focus();
    bench.move = {el, t0: 0, requested: 0, received: 0, end: null, candidate: null,
                  runsAtCandidate: 0};
    return valueOf(el);
  };
  bench.disarm = () => { bench.move = null; };
  document.addEventListener('keydown', () => {
    const m = bench.move;
    if (!m || m.t0) return;
    m.t0 = performance.now();
    const tick = () => {
      if (bench.move !== m) return;
      const now = performance.now();
      const replied = m.requested && m.received > m.requested;
      const since = idleSince(m, replied && allDrawn(), now);
      if (since !== null) m.end = since - m.t0; else setTimeout(tick, 25);
    };
    setTimeout(tick, 25);
  }, true);
  window.__bench = bench;
})();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), interpolated linearly between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class FreshServer:
    """`streamlit run app.py` with new, empty caches and the warm-up on; its output in a log."""

    def __init__(self, port: int, log: Path):
        self.port = port
        self.log = log
        self.cache = Path(tempfile.mkdtemp(prefix="resode-fresh-class-"))
        env = {
            **os.environ,
            "RESODE_JAX_CACHE": str(self.cache / "jax"),
            "RESODE_FIT_DIR": str(self.cache / "fits"),
        }
        env.pop("RESODE_WARMUP", None)  # the default: on
        env.pop("RESODE_PRELOAD", None)
        self.started = time.perf_counter()
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py",
                 "--server.headless", "true", "--browser.gatherUsageStats", "false",
                 "--server.port", str(port), "--server.address", "127.0.0.1",
                 "--server.fileWatcherType", "none"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def clock(self) -> float:
        """Seconds since the server was started."""
        return time.perf_counter() - self.started

    def url(self, page: RegisteredPage) -> str:
        return f"http://127.0.0.1:{self.port}/{page.url_path}"

    def wait_healthy(self) -> float:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/_stcore/health", timeout=1
                ):
                    return self.clock()
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"streamlit did not answer in {STARTUP_TIMEOUT_S} s; see {self.log}")

    def status_mb(self) -> dict[str, float]:
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
        return fields

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        shutil.rmtree(self.cache, ignore_errors=True)


class Sampler(threading.Thread):
    """Every 100 ms: the server's VmRSS, what the visitor is doing, and new warm-up log lines."""

    def __init__(self, server: FreshServer):
        super().__init__(name="fresh-class-sampler", daemon=True)
        self.server = server
        self.activity = "server starting"  # set by the visitor
        self.samples: list[tuple[float, float, str, str]] = []  # (s, MB, visitor, warm-up)
        self.warmup_lessons: dict[str, dict[str, float]] = {}  # name -> took_s, logged_at_s
        self.warmup_total: dict[str, float] | None = None
        self._read = 0
        self._halt = threading.Event()

    def warmup_state(self) -> str:
        if self.warmup_total is not None:
            return "warm-up done"
        if not self.warmup_lessons:
            return "warm-up: imports and the first lesson under way"
        return f"warm-up: after {list(self.warmup_lessons)[-1]}"

    def _scan_log(self, now: float) -> None:
        text = self.server.log.read_text(errors="replace")
        complete = text.rfind("\n") + 1  # a line still being written waits for the next look
        new, self._read = text[self._read : complete], max(self._read, complete)
        for line in new.splitlines():
            if done := WARMUP_DONE.search(line):
                self.warmup_total = {"total_s": float(done[1]), "logged_at_s": now}
            elif lesson := WARMUP_LESSON.search(line):
                self.warmup_lessons[lesson[1]] = {"took_s": float(lesson[2]), "logged_at_s": now}

    def run(self) -> None:
        while not self._halt.is_set() and self.server.proc.poll() is None:
            now = self.server.clock()
            try:
                rss = self.server.status_mb()["VmRSS"]
            except (OSError, KeyError):
                break
            self._scan_log(now)
            self.samples.append((now, rss, self.activity, self.warmup_state()))
            self._halt.wait(SAMPLE_S)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)
        self._scan_log(self.server.clock())


def wait_idle(page, timeout_ms: int = MOVE_TIMEOUT_MS) -> None:
    """The script has finished: idle, and still idle 200 ms later."""
    page.wait_for_function("window.__bench.idle()", timeout=timeout_ms, polling=50)
    page.wait_for_timeout(200)
    page.wait_for_function("window.__bench.idle()", timeout=timeout_ms, polling=50)


def open_page(page, server: FreshServer, target: RegisteredPage, previous: str | None) -> dict:
    """Open `target` (its sidebar link; the address for the first page) and time it."""
    metric = SPIRAL_METRIC if target.name == "spiral" else None
    args = [target.url_path, previous, not target.default, metric]
    opened_at = server.clock()
    how = "sidebar link"
    if previous is None or not page.evaluate("(a) => window.__bench.clickLink(...a)", args):
        how = "address"
        opened_at = server.clock()
        page.goto(server.url(target), timeout=PAGE_TIMEOUT_MS)
        page.evaluate("(a) => window.__bench.watchPage(0, ...a.slice(1))", args)
    result: dict = {"page": target.name, "title": target.title, "opened_by": how}
    result["opened_at_s"] = round(opened_at, 2)
    try:
        page.wait_for_function("window.__bench.page.done", timeout=PAGE_TIMEOUT_MS, polling=100)
    except Exception as error:  # noqa: BLE001 (a benchmark reports, it does not stop)
        result["note"] = f"not done after {PAGE_TIMEOUT_MS / 1000:.0f} s: {type(error).__name__}"
    watched = page.evaluate("window.__bench.page")
    for key, name in (("content", "first_content_s"), ("idle", "idle_s"), ("fitted", "fitted_s")):
        if watched[key] is not None:
            result[name] = round(watched[key] / 1000, 2)
    if metric:
        result["fitted_value"] = watched["fittedValue"]
    result["shown_title"] = watched["title"]
    return result


def move_slider(page, index: int, key: str) -> dict:
    """Press `key` on enabled slider `index`; ms from the keydown until idle and all drawn."""
    wait_idle(page)
    before = page.evaluate("(i) => window.__bench.arm(i)", index)
    if before is None:
        return {"key": key, "ms": None, "note": "slider gone"}
    page.keyboard.press(key)
    page.wait_for_timeout(50)
    after = page.evaluate("window.__bench.movedValue()")
    moved = {"key": key, "before": before, "after": after, "ms": None}
    if after == before:
        page.evaluate("window.__bench.disarm()")
        return {**moved, "note": "the key did not move the slider"}
    try:
        page.wait_for_function(
            "window.__bench.move && window.__bench.move.end !== null",
            timeout=MOVE_TIMEOUT_MS,
            polling=50,
        )
        moved["ms"] = round(page.evaluate("window.__bench.move.end"), 1)
        moved["after"] = page.evaluate("window.__bench.movedValue()")
    except Exception as error:  # noqa: BLE001
        moved["note"] = f"not idle and drawn after {MOVE_TIMEOUT_MS / 1000:.0f} s: {error!r}"[:200]
    page.evaluate("window.__bench.disarm()")
    return moved


def move_sliders(page, sampler: Sampler, name: str) -> list[dict]:
    """The first enabled sliders: right, left, right (mirrored for a slider at its maximum)."""
    moves = []
    for index, slider in enumerate(page.evaluate("window.__bench.sliders()")[:SLIDERS_PER_PAGE]):
        at_max = float(slider["value"]) >= float(slider["max"])
        keys = MIRRORED if at_max else RIGHT_LEFT_RIGHT
        for n, key in enumerate(keys):
            kind = "new value" if n == 0 else "seen before"
            sampler.activity = f"{name}: move {slider['label']!r} {key} ({kind})"
            moved = move_slider(page, index, key)
            moves.append({"slider": slider["label"], "kind": kind, **moved})
    return moves


def visit_every_page(browser, server: FreshServer, sampler: Sampler) -> list[dict]:
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(PROBE)
    page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda exc: script_errors.append(str(exc)[:300]))
    visits, previous = [], None
    try:
        for target in registered_pages():
            sampler.activity = f"open {target.name}"
            visit = open_page(page, server, target, previous)
            previous = visit["shown_title"] or previous
            problems = page.evaluate("window.__bench.problems()")
            visit["moves"] = move_sliders(page, sampler, target.name)
            visit["problems"] = sorted({*problems, *page.evaluate("window.__bench.problems()")})
            visit["browser_errors"], script_errors[:] = list(script_errors), []
            visits.append(visit)
            print(f"fresh-class: {target.name} done ({server.clock():.0f} s)", file=sys.stderr)
    finally:
        sampler.activity = "visitor done"
        context.close()
    return visits


def run(browser) -> dict:
    """The fresh-class scenario, end to end; returns its report."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = LOG_DIR / f"fresh-class-server-{port}.log"
    server = FreshServer(port, log)
    sampler = Sampler(server)
    sampler.start()
    try:
        ready_s = server.wait_healthy()
        visitor_started = server.clock()
        visits = visit_every_page(browser, server, sampler)
        visitor_done = server.clock()
        sampler.activity = "waiting for the warm-up to finish"
        deadline = time.monotonic() + WARMUP_WAIT_S
        while sampler.warmup_total is None and time.monotonic() < deadline:
            if server.proc.poll() is not None:
                break
            time.sleep(1)
        memory = server.status_mb() if server.proc.poll() is None else {}
    finally:
        try:
            sampler.stop()
        finally:
            server.stop()

    moves = [m for v in visits for m in v["moves"] if m["ms"] is not None]
    new = [m["ms"] for m in moves if m["kind"] == "new value"]
    seen = [m["ms"] for m in moves if m["kind"] == "seen before"]
    peak_sample = max(sampler.samples, key=lambda s: s[1], default=None)
    spiral = next((v for v in visits if v["page"] == "spiral"), {})
    return {
        "server_log": str(log.relative_to(ROOT)),
        "server_ready_s": round(ready_s, 2),
        "visitor": {"started_at_s": round(visitor_started, 2), "done_at_s": round(visitor_done, 2)},
        "pages": visits,
        "moves_new_ms": summary(new),
        "moves_seen_ms": summary(seen),
        "spiral_fitted": {
            "after_click_s": spiral.get("fitted_s"),
            "after_server_start_s": (
                round(spiral["opened_at_s"] + spiral["fitted_s"], 2)
                if spiral.get("fitted_s") is not None
                else None
            ),
            "metric": f"{SPIRAL_METRIC} = {spiral.get('fitted_value')}",
        },
        "warmup": {
            "total_s": (sampler.warmup_total or {}).get("total_s"),
            "done_logged_at_s": (sampler.warmup_total or {}).get("logged_at_s"),
            "lessons": sampler.warmup_lessons,
        },
        "memory_mb": {
            "peak_vmhwm": round(memory["VmHWM"], 1) if memory else None,
            "rss_at_end": round(memory["VmRSS"], 1) if memory else None,
            "max_sampled_rss": round(peak_sample[1], 1) if peak_sample else None,
            "max_sampled_rss_at_s": round(peak_sample[0], 2) if peak_sample else None,
            "max_sampled_rss_during": f"{peak_sample[2]}; {peak_sample[3]}"
            if peak_sample
            else None,
            "samples": len(sampler.samples),
        },
        "problems": {
            v["page"]: v["problems"] + v["browser_errors"]
            for v in visits
            if v["problems"] or v["browser_errors"]
        },
    }


def summary(values: list[float]) -> dict:
    p50, p95 = percentile(values, 50), percentile(values, 95)
    return {
        "n": len(values),
        "p50": None if p50 is None else round(p50, 1),
        "p95": None if p95 is None else round(p95, 1),
    }


def _s(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def _ms(moves: list[dict]) -> str:
    return ", ".join("–" if m["ms"] is None else f"{m['ms']:.0f}" for m in moves)


def print_report(r: dict) -> None:
    print(
        "\n== fresh-class: a new server, empty caches, warm-up on; one visitor (Chromium "
        "1366×768) opens every page in the sidebar's order while the warm-up runs"
    )
    print(f"server answered /_stcore/health {r['server_ready_s']:.1f} s after start")
    print(f"{'page':22s} {'first content (s)':>17s} {'idle (s)':>9s}  "
          f"{'moves new (ms)':24s} moves seen (ms)")  # fmt: skip
    for v in r["pages"]:
        new = [m for m in v["moves"] if m["kind"] == "new value"]
        seen = [m for m in v["moves"] if m["kind"] == "seen before"]
        print(f"{v['page']:22s} {_s(v.get('first_content_s')):>17s} {_s(v.get('idle_s')):>9s}  "
              f"{_ms(new) or '(no slider)':24s} {_ms(seen)}")  # fmt: skip
    for kind in ("new", "seen"):
        s = r[f"moves_{kind}_ms"]
        label = "new-value" if kind == "new" else "seen-before"
        print(f"{label:12s} moves: p50 {_s(s['p50'])} ms, p95 {_s(s['p95'])} ms (n = {s['n']})")
    w = r["warmup"]
    print(f"warm-up: all lessons in {_s(w['total_s'])} s (logged {_s(w['done_logged_at_s'])} s "
          f"after server start)" if w["total_s"] is not None
          else f"warm-up: not finished within {WARMUP_WAIT_S} s after the visitor was done")  # fmt: skip
    sp = r["spiral_fitted"]
    print(f"fitted spiral on screen: {_s(sp['after_click_s'])} s after the click "
          f"({_s(sp['after_server_start_s'])} s after server start; {sp['metric']})")  # fmt: skip
    m = r["memory_mb"]
    print(f"\n>>> PEAK SERVER MEMORY (VmHWM): {_s(m['peak_vmhwm'])} MB <<<  (RSS at the end "
          f"{_s(m['rss_at_end'])} MB)")  # fmt: skip
    print(f"max sampled RSS {_s(m['max_sampled_rss'])} MB at {_s(m['max_sampled_rss_at_s'])} s "
          f"after server start, during: {m['max_sampled_rss_during']}")  # fmt: skip
    if r["problems"]:
        print("PAGES WITH AN EXCEPTION OR ERROR:")
        for name, problems in r["problems"].items():
            print(f"  {name}: {problems}")
    else:
        print("no page showed an exception or error box")
    print(f"server log: {r['server_log']}")

"""Every page of the router in a real Chromium: open it, move each slider with the keyboard.

For each slider the test presses an arrow key, waits for the rerun, and checks that a chart
changed and that no exception or error box appeared. A probe injected into the page (wrapped
canvas drawing calls, a MutationObserver and the websocket's messages) times each move from
the keydown to the last chart update of that rerun; the median and 95th percentile per page are printed at the end of the
run. Screenshots of every page go to tests/e2e/screenshots/ (gitignored).
"""

from __future__ import annotations

import json
import statistics

import pytest

from e2e.app_pages import registered_pages
from e2e.conftest import IDLE, streamlit_server

pytestmark = pytest.mark.e2e

PAGES = registered_pages()
OPEN_TIMEOUT_MS = 300_000  # the first visit compiles (cold CI machines: up to minutes)
MOVE_TIMEOUT_MS = 300_000
QUIET_MS = 400  # a rerun counts as finished once the page has been still this long
VIEWPORT = {"width": 1366, "height": 768}  # a common projector
FIRST_SCREEN_PX = 768 - 120  # a chart starts high enough that 120 px of it show unscrolled
# Sliders that legitimately change no output at all (label substrings, per page). None so far.
# (A slider that drives only metrics or a table passes; its move is not in the chart latency.)
NO_CHART_SLIDERS: dict[str, tuple[str, ...]] = {}

# Runs in the page before Streamlit loads. `arm()` snapshots the outputs (charts; metrics and
# tables apart); the keydown that follows starts the clock. Streamlit draws Vega charts and
# tables on canvases, so the probe wraps the 2D context's drawing calls: a canvas drawn on is
# marked dirty with the time of its last draw, and a check soon after hashes the pixels of the
# dirty canvases only. A canvas whose pixels changed counts as a change at its last draw
# (DOM mutations, e.g. metrics, count at the mutation). The last chart change of a rerun is
# its latency. (An earlier probe PNG-encoded every canvas on every mutation and every 50 ms:
# that cost the page more main-thread time than some of the reruns it timed.)
PROBE = r"""
(() => {
  const CHART = '[data-testid="stVegaLiteChart"]';
  const OTHER = '[data-testid="stMetric"], [data-testid="stDataFrame"], [data-testid="stTable"]';
  const STATE = 'data-test-script-state';
  const probe = {armed: false, t0: 0, base: {}, sig: {}, changes: {chart: [], other: []},
                 sawRun: false, runEnd: null, lastMutation: 0, scheduled: false};
  const hash = (text) => {
    let h = 2166136261;
    for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0).toString(16) + ':' + text.length;
  };
  const lastDraw = new WeakMap();  // canvas -> performance.now() of its latest drawing call
  const dirty = new Set();
  const pixels = new WeakMap();  // canvas -> hash of its pixels when last looked at
  const pixelHash = (canvas) => {
    if (!dirty.has(canvas) && pixels.has(canvas)) return pixels.get(canvas);
    let h = 2166136261;
    try {
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      const words = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >> 2);
      for (let i = 0; i < words.length; i++) { h ^= words[i]; h = Math.imul(h, 16777619); }
    } catch (error) { h = -1; }
    const value = (h >>> 0).toString(16) + ':' + canvas.width + 'x' + canvas.height;
    dirty.delete(canvas);
    pixels.set(canvas, value);
    return value;
  };
  const content = (el) => {
    const svg = el.querySelector('svg.marks');
    if (svg) return svg.outerHTML;
    return [...el.querySelectorAll('canvas')].map(pixelHash).join(',') + el.innerText;
  };
  const signature = (selector) => {
    const parts = [...document.querySelectorAll(selector)].map(content);
    return parts.length + '|' + hash(parts.join('\u0000'));
  };
  // When the outputs of one kind last changed: the newest draw of a canvas in it whose
  // pixels changed (a redraw of the same picture is not a change), else now.
  const changedAt = (selector, now) => {
    let at = 0;
    for (const canvas of [...dirty]) {
      if (!canvas.isConnected || !canvas.closest(selector)) continue;
      const before = pixels.get(canvas);
      if (pixelHash(canvas) !== before) at = Math.max(at, lastDraw.get(canvas) || 0);
    }
    return at || now;
  };
  probe.state = () => document.querySelector('[data-testid="stApp"]')?.getAttribute(STATE);
  const check = () => {
    probe.scheduled = false;
    const now = performance.now();
    for (const [kind, selector] of [['chart', CHART], ['other', OTHER]]) {
      const at = changedAt(selector, now);
      const sig = signature(selector);
      if (sig !== probe.sig[kind]) {
        probe.sig[kind] = sig;
        probe.changes[kind].push(at - probe.t0);
      }
    }
    for (const canvas of dirty) if (!canvas.isConnected) dirty.delete(canvas);
  };
  const schedule = () => {
    if (!probe.scheduled) { probe.scheduled = true; setTimeout(check, 0); }
  };
  const context = CanvasRenderingContext2D.prototype;
  for (const name of ['clearRect', 'fillRect', 'strokeRect', 'fill', 'stroke', 'fillText',
                      'strokeText', 'drawImage', 'putImageData']) {
    const draw = context[name];
    context[name] = function (...args) {
      const now = performance.now();
      lastDraw.set(this.canvas, now);
      dirty.add(this.canvas);  // also before arm(): its cached hash is stale from now on
      if (probe.armed && probe.t0) {
        probe.lastMutation = now;
        schedule();
      }
      return draw.apply(this, args);
    };
  }
  // The rerun request and the server's replies, seen on Streamlit's websocket. A quick run
  // can start and finish within one React render, so the app's script-state attribute may
  // never show 'running'; a reply after the request still proves the run happened.
  const sockets = new WeakSet();
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (!sockets.has(this)) {
      sockets.add(this);
      this.addEventListener('message', () => {
        if (probe.armed && probe.requested) {
          probe.received = performance.now();
          probe.lastMutation = probe.received;
        }
      });
    }
    if (probe.armed && probe.t0 && !probe.requested) probe.requested = performance.now();
    return send.call(this, data);
  };
  const observer = new MutationObserver((records) => {
    if (!probe.armed || !probe.t0) return;
    probe.lastMutation = performance.now();
    for (const r of records) {
      if (r.attributeName === STATE && (r.oldValue === 'running' || probe.state() === 'running')) {
        probe.sawRun = true;
      }
    }
    if (probe.sawRun && probe.state() === 'notRunning') {
      probe.runEnd = probe.lastMutation - probe.t0;
    }
    schedule();
  });
  document.addEventListener('keydown', () => {
    if (probe.armed && !probe.t0) {
      probe.t0 = performance.now();
      probe.lastMutation = probe.t0;
    }
  }, true);
  probe.arm = () => {
    Object.assign(probe, {armed: true, t0: 0, changes: {chart: [], other: []}, sawRun: false,
                          runEnd: null, requested: 0, received: 0});
    probe.base = {chart: signature(CHART), other: signature(OTHER)};
    probe.sig = {...probe.base};
  };
  const ran = () => probe.runEnd !== null || (probe.requested && probe.received > probe.requested);
  probe.settled = (quiet) => ran() && probe.state() === 'notRunning'
    && performance.now() - probe.lastMutation > quiet;
  probe.result = () => {
    check();
    probe.armed = false;
    const last = (list) => (list.length ? list[list.length - 1] : null);
    return {chart: signature(CHART) !== probe.base.chart,
            other: signature(OTHER) !== probe.base.other,
            latency: last(probe.changes.chart), otherLatency: last(probe.changes.other),
            run: probe.runEnd ?? (probe.received ? probe.received - probe.t0 : null)};
  };
  window.__probe = probe;
  const start = () => observer.observe(document.documentElement, {subtree: true, childList: true,
    attributes: true, attributeOldValue: true, characterData: true});
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();
"""


# Per chart on the page: its top (page coordinates), the marks drawn with a visible size, and
# the smallest axis-label font. A Vega chart whose scale cannot place its data (a log scale
# with 0 in its domain, all values infinite) still draws its axes, but its marks get zero
# size or NaN coordinates: such a chart "renders no marks".
CHARTS = r"""
() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const scrolled = main ? main.scrollTop : 0;
  return [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map((el) => {
    const items = [...el.querySelectorAll('svg.marks g.role-mark > *')];
    const drawn = items.filter((n) => {
      if ((n.getAttribute('d') || '').includes('NaN')) return false;
      if ((n.getAttribute('transform') || '').includes('NaN')) return false;
      const box = n.getBBox();
      if (/bar|rect|area/.test(n.getAttribute('aria-roledescription') || '')) {
        return box.width > 0.5 && box.height > 0.5;
      }
      return n.tagName === 'text' || box.width > 0.5 || box.height > 0.5;
    }).length;
    const labels = [...el.querySelectorAll('svg.marks g.role-axis-label text')]
      .map((t) => parseFloat(t.getAttribute('font-size') || getComputedStyle(t).fontSize));
    return {top: el.getBoundingClientRect().top + scrolled, items: items.length, drawn,
            smallestLabel: labels.length ? Math.min(...labels) : null};
  });
}
"""


# Streamlit shows a grey skeleton until its chart component has loaded: wait for the first
# chart to be drawn, then (up to ALL_DRAWN_MS) for the others; one still undrawn then counts
# as a chart without marks.
FIRST_DRAWN = "() => document.querySelector('[data-testid=\"stVegaLiteChart\"] svg.marks') !== null"
ALL_DRAWN = (
    "() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
    ".every((c) => c.querySelector('svg.marks'))"
)
ALL_DRAWN_MS = 20_000


def charts_on(page) -> list[dict]:
    """Every chart on the page once the first is drawn and the rest have had time to be."""
    page.wait_for_function(FIRST_DRAWN, timeout=OPEN_TIMEOUT_MS, polling=100)
    try:
        page.wait_for_function(ALL_DRAWN, timeout=ALL_DRAWN_MS, polling=100)
    except Exception:  # noqa: BLE001 (reported below as charts without marks)
        pass
    page.wait_for_timeout(QUIET_MS)
    return page.evaluate(CHARTS)


def page_problems(page) -> list[str]:
    """Exceptions, error boxes and tracebacks shown on the page."""
    problems = [
        f"exception shown: {text[:300]}"
        for text in page.locator('[data-testid="stException"]').all_inner_texts()
    ]
    problems += [
        f"error box shown: {text[:300]}"
        for text in page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
    ]
    body = page.locator('[data-testid="stMain"]').inner_text()
    if "Traceback (most recent call last)" in body:
        problems.append("a traceback is shown")
    return problems


def wait_until_idle(page, timeout_ms: int) -> None:
    # A fresh page starts 'initial', then 'running'; 'notRunning' means the script finished.
    page.wait_for_function(IDLE, timeout=timeout_ms, polling=100)
    page.wait_for_timeout(QUIET_MS)
    page.wait_for_function(IDLE, timeout=timeout_ms, polling=100)


def screenshot(page, path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the window to fit it."""
    height = page.evaluate(
        '() => Math.max(...[...document.querySelectorAll(\'[data-testid="stMain"], '
        '[data-testid="stSidebarContent"]\')].map((e) => e.scrollHeight), 0)'
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(max(height, 600), 16000)})
    page.wait_for_timeout(500)  # let the charts settle at the new size
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(VIEWPORT)
    page.wait_for_timeout(300)


def slider_labels(page) -> list[str]:
    inputs = page.locator('[data-testid="stSlider"] input[type="range"]')
    return [inputs.nth(i).get_attribute("aria-label") or "" for i in range(inputs.count())]


def move_slider(page, label: str, key: str | None = None) -> dict | None:
    """Press an arrow key on the slider `label` (away from its end unless `key` says which);
    None if it is disabled or gone."""
    name = json.dumps(label, ensure_ascii=False)  # a CSS string (labels hold Δ, ₁, quotes)
    thumb = page.locator(f'[data-testid="stSlider"] input[type="range"][aria-label={name}]')
    if thumb.count() == 0 or thumb.first.is_disabled():
        return None
    thumb = thumb.first
    before = thumb.get_attribute("value")
    if key is None:
        key = "ArrowLeft" if float(before) >= float(thumb.get_attribute("max")) else "ArrowRight"
    thumb.focus()
    page.evaluate("window.__probe.arm()")
    page.keyboard.press(key)
    page.wait_for_function(
        f"() => window.__probe.settled({QUIET_MS})", timeout=MOVE_TIMEOUT_MS, polling=50
    )
    result = page.evaluate("window.__probe.result()")
    result.update(label=label, key=key, before=before, after=thumb.get_attribute("value"))
    return result


BACK = {"ArrowLeft": "ArrowRight", "ArrowRight": "ArrowLeft"}
PLAY_STEPS = 4  # frames stepped on a page with Play (the first may replay a training once)


@pytest.mark.parametrize("app_page", PAGES, ids=[p.name for p in PAGES])
def test_page_in_chromium(app_page, browser, server, screenshots, record_property):
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(PROBE)
    page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda exc: script_errors.append(str(exc)))
    try:
        page.goto(f"{server.url}/{app_page.url_path}", timeout=60_000)
        wait_until_idle(page, OPEN_TIMEOUT_MS)
        assert page.locator("h1").count() >= 1, "the page shows no title"
        assert not page_problems(page), page_problems(page)
        if not app_page.default:  # every lesson: the answer on the first screen
            charts = charts_on(page)
            assert charts[0]["top"] <= FIRST_SCREEN_PX, (
                f"first chart starts {charts[0]['top']} px down"
            )
        screenshot(page, screenshots / f"{app_page.name}.png")
        if not app_page.default:  # (the Welcome page draws a graph, no Vega chart)
            charts = charts_on(page)  # all drawn now (the window held the whole page)
            empty = [i + 1 for i, chart in enumerate(charts) if chart["drawn"] == 0]
            assert not empty, f"chart(s) {empty} of {len(charts)} render no marks"

        exempt = NO_CHART_SLIDERS.get(app_page.name, ())
        failures, table_only = [], []
        latencies: dict[str, list[float]] = {"new": [], "seen": []}
        for label in slider_labels(page):
            moved = move_slider(page, label)
            if moved is None:
                continue
            if moved["after"] == moved["before"]:
                failures.append(f"{label!r}: the arrow key did not move the slider")
            if not (moved["chart"] or moved["other"]) and not any(t in label for t in exempt):
                failures.append(f"{label!r}: no chart, metric or table changed after the rerun")
            if moved["chart"] and moved["latency"] is not None:
                latencies["new"].append(moved["latency"])
                # And back: a value this server has computed before, as a class meets it
                # once the teacher (or any student) has been there.
                back = move_slider(page, label, BACK[moved["key"]])
                if back is None or back["after"] != moved["before"]:
                    failures.append(f"{label!r}: the slider did not move back")
                elif back["chart"] and back["latency"] is not None:
                    latencies["seen"].append(back["latency"])
            elif moved["other"]:
                table_only.append(label)
            failures += [f"{label!r}: {problem}" for problem in page_problems(page)]
        # Play: each frame is what Step draws; time Step (keyboard Enter on the button).
        latencies["frame"] = []
        step = page.locator('[data-testid="stButton"] button', has_text="Step")
        for _ in range(PLAY_STEPS if step.count() else 0):
            step.first.focus()
            page.evaluate("window.__probe.arm()")
            page.keyboard.press("Enter")
            page.wait_for_function(
                f"() => window.__probe.settled({QUIET_MS})", timeout=MOVE_TIMEOUT_MS, polling=50
            )
            stepped = page.evaluate("window.__probe.result()")
            if not stepped["chart"]:
                failures.append("Step did not change the animated chart")
            elif stepped["latency"] is not None:
                latencies["frame"].append(stepped["latency"])
            failures += [f"Step: {problem}" for problem in page_problems(page)]
        if latencies["new"] or latencies["frame"]:
            # Printed as a table at the end of the run (tests/conftest.py).
            record_property("latency", {app_page.name: latencies})
        if latencies or table_only:
            screenshot(page, screenshots / f"{app_page.name}-moved.png")
        assert not script_errors, script_errors
        assert not failures, failures
        if latencies["new"]:
            seen = latencies["seen"] or [float("nan")]
            print(
                f"{app_page.name}: {len(latencies['new'])} chart moves to a new value, median "
                f"{statistics.median(latencies['new']):.0f} ms, max {max(latencies['new']):.0f} ms;"
                f" back to a value seen before, median {statistics.median(seen):.0f} ms; "
                f"sliders that change only metrics/tables: {table_only}"
            )
    finally:
        context.close()


def test_navigation_lists_every_registered_page(browser, server):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(server.url, timeout=60_000)
        wait_until_idle(page, OPEN_TIMEOUT_MS)
        links = page.locator('[data-testid="stSidebarNavLink"]')
        hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
        assert len(hrefs) == len(PAGES), hrefs
        for app_page in PAGES:
            if app_page.url_path:
                assert any(h.rstrip("/").endswith("/" + app_page.url_path) for h in hrefs), (
                    app_page.url_path,
                    hrefs,
                )
    finally:
        context.close()


def test_deep_link_on_a_fresh_server_uses_the_router(browser, chromium_ready, tmp_path_factory):
    """A student's first visit after a (cold) start is a shared link to a lesson, not '/'."""
    target = next(p for p in PAGES if not p.default)
    with streamlit_server(tmp_path_factory.mktemp("deeplink")) as fresh:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        try:
            page.goto(f"{fresh.url}/{target.url_path}", timeout=60_000)
            wait_until_idle(page, OPEN_TIMEOUT_MS)
            links = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
            titles = [p.title for p in PAGES]
            shown = [" ".join(text.split()) for text in links]
            assert len(shown) == len(titles), shown
            assert all(title in text for title, text in zip(titles, shown, strict=True)), shown
        finally:
            context.close()


LESSONS = [p for p in PAGES if not p.default]


@pytest.mark.parametrize("app_page", LESSONS, ids=[p.name for p in LESSONS])
def test_presenter_mode_is_a_slide(app_page, browser, server, screenshots):
    """?present=1: the sidebar closed, a chart on the first screen, its labels ≥ 16 px."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/{app_page.url_path}?present=1", timeout=60_000)
        wait_until_idle(page, OPEN_TIMEOUT_MS)
        assert not page_problems(page), page_problems(page)
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert sidebar.get_attribute("data-collapsed") == "true"
        assert sidebar.bounding_box()["x"] + sidebar.bounding_box()["width"] <= 0
        page.screenshot(path=screenshots / f"{app_page.name}-present.png")
        charts = charts_on(page)
        assert charts[0]["top"] <= FIRST_SCREEN_PX, f"first chart starts {charts[0]['top']} px down"
        sizes = [c["smallestLabel"] for c in charts if c["smallestLabel"] is not None]
        assert sizes and min(sizes) >= 16, sizes
    finally:
        context.close()

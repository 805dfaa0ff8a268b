"""The background warm-up, as a deployed server runs it: every lesson warmed, memory bounded.

The other browser tests switch the warm-up off (it would compete for the CPU); this one starts
a server with it on, as `streamlit run app.py` does by default, checks that the warm-up starts
with the server (before any visit: app.py's st.App start-up hook), opens the app once, waits
for the warm-up to finish and reads the server's log.
"""

from __future__ import annotations

import re
import time

from e2e.app_pages import registered_pages
from e2e.conftest import IDLE, streamlit_server
from resode_ui.server import LESSONS

WARMUP_TIMEOUT_S = 900  # every page compiled from an empty disk cache on a slow CI machine
MEMORY_LIMIT_MB = 500  # the app's default RESODE_MEMORY_LIMIT_MB
# Settings a lesson's warm_up() prepares beyond its defaults (one move away, seconds to compute).
EXTRA_SETTINGS = (
    ("resnet_vs_node", "rn_width=8"),
    ("resnet_vs_node", "rn_width=32"),
    ("spiral", "sp_epochs=300"),
)


def test_warm_up_renders_every_page_and_drops_programs_past_the_limit(
    browser, chromium_ready, tmp_path_factory
):
    env = {"RESODE_WARMUP": "1", "RESODE_MEMORY_LIMIT_MB": str(MEMORY_LIMIT_MB)}
    with streamlit_server(tmp_path_factory.mktemp("warmup"), env=env) as server:
        deadline = time.monotonic() + WARMUP_TIMEOUT_S
        # Nobody has visited yet: the server started warming on its own, spiral first.
        while "warm-up: spiral in" not in server.log.read_text(errors="replace"):
            assert server.process.poll() is None, server.log_tail()
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(1)
        context = browser.new_context()
        page = context.new_page()
        try:
            page.goto(server.url, timeout=120_000)
            page.wait_for_function(IDLE, timeout=300_000, polling=200)
            while "warm-up: all lessons in" not in server.log.read_text(errors="replace"):
                assert server.process.poll() is None, server.log_tail()
                assert time.monotonic() < deadline, server.log_tail()
                time.sleep(2)
            log = server.log.read_text(errors="replace")
            warmed = set(re.findall(r"warm-up: (\w+) in [\d.]+ s", log))
            memory = server.memory_kib()
            # A student now opens a page: its default results are ready, nothing is computed.
            started = time.monotonic()
            page.goto(f"{server.url}/spiral", timeout=120_000)
            page.wait_for_function(IDLE, timeout=300_000, polling=200)
            spiral_s = time.monotonic() - started
            errors = page.locator('[data-testid="stException"]').count()
            # The settings warmed beyond the defaults: valid addresses, ready at once.
            extra_s = {}
            for name, query in EXTRA_SETTINGS:
                started = time.monotonic()
                page.goto(f"{server.url}/{name}?{query}", timeout=120_000)
                page.wait_for_function(IDLE, timeout=300_000, polling=200)
                extra_s[f"{name}?{query}"] = round(time.monotonic() - started, 1)
                errors += page.locator('[data-testid="stException"]').count()
        finally:
            context.close()
    lesson_pages = {p.name for p in registered_pages() if not p.default}
    assert set(LESSONS) == lesson_pages  # the warm-up knows every lesson of the router
    assert warmed == lesson_pages, (sorted(lesson_pages - warmed), server.log_tail())
    assert "skipped" not in log, server.log_tail()
    # Warmed settings open without training or compiling anything new.
    assert max(extra_s.values()) < 10, extra_s
    assert errors == 0
    # One page's programs on top of the server, not every page's (which takes about 1.5 GB).
    assert memory["VmRSS"] / 1024 < MEMORY_LIMIT_MB + 500, memory
    print(
        f"\nwarm-up: {len(warmed)} lessons; server RSS after it {memory['VmRSS'] / 1024:.0f} MiB "
        f"(peak {memory['VmHWM'] / 1024:.0f} MiB); spiral opened in {spiral_s:.1f} s afterwards, "
        f"the extra settings in {extra_s} s"
    )
